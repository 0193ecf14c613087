'use strict';
'require view';
'require netmon.common as common';
'require form';
'require fs';
'require uci';
'require ui';

// Status > Traffic settings: a LuCI form over /etc/config/netmon. Before
// anything is saved, the whole config as it would be saved goes to
// `netmon-agent config check` as arguments, so it is judged by the very
// readers the daemon uses; the agent's one-line answer is shown and
// nothing is saved when it refuses. Save & Apply commits through LuCI's
// apply, and procd's reload trigger on "netmon" reloads the daemon.
//
// The ACL group luci-app-netmon-settings grants this page: the uci config
// netmon (which holds the mail password and the web token) and the check.
// Whoever holds it may name the program that sends mail, which runs as
// root: grant it to administrators only.

var agent = common.agent, txt = common.txt;

// secrets are options whose values never go on a command line, where ps
// shows them to every user of the router.
var secrets = { agent: { token: true }, mail: { password: true } };

// standIn is what the check gets for a secret: every character but white
// space made an x, so its length and spaces (all the check judges) stay.
function standIn(v) {
	return String(v).replace(/\S/g, 'x');
}

// sectionArgs writes the config as uci holds it now (the form's values
// parsed in) as `config check` arguments: @TYPE or @TYPE=NAME, then
// NAME=VALUE and NAME+=VALUE for list entries; secrets as stand-ins.
function sectionArgs() {
	var args = [];
	uci.sections('netmon').forEach(function(s) {
		args.push('@' + s['.type'] + (s['.anonymous'] ? '' : '=' + s['.name']));
		Object.keys(s).forEach(function(k) {
			if (k.charAt(0) === '.')
				return;
			var secret = (secrets[s['.type']] || {})[k];
			if (Array.isArray(s[k]))
				s[k].forEach(function(v) { args.push(k + '+=' + (secret ? standIn(v) : v)); });
			else
				args.push(k + '=' + (secret ? standIn(s[k]) : s[k]));
		});
	});
	return args;
}

return view.extend({
	load: function() {
		return uci.load('netmon');
	},

	render: function() {
		var m, s, o;

		m = new form.Map('netmon', _('Traffic settings'),
			_('What netmon-agent counts and how. Saving checks the whole configuration with netmon-agent first; Save & Apply reloads the daemon, and totals of kept meters go on.'));

		s = m.section(form.NamedSection, 'main', 'agent', _('Agent'));
		o = s.option(form.Value, 'interval', _('Sampling interval'), _('Seconds, or a duration such as 500ms.'));
		o.placeholder = '30';
		o = s.option(form.Value, 'persist_interval', _('Write to flash every'), _('Seconds; blocks and other changes are written at once.'));
		o.placeholder = '3600';
		o = s.option(form.Value, 'lan', _('LAN interface'));
		o.placeholder = 'br-lan';
		o = s.option(form.Flag, 'hosts', _('Count every LAN host'));
		o.default = '1';
		o.rmempty = false;
		o = s.option(form.Flag, 'ipv6', _('Count IPv6'));
		o.default = '1';
		o.rmempty = false;
		o = s.option(form.ListValue, 'backend', _('Firewall backend'));
		[ 'auto', 'nftables', 'iptables', 'nft', 'legacy' ].forEach(function(b) { o.value(b); });
		o.default = 'auto';
		o = s.option(form.Value, 'period_start', _('Billing day of month'), _('1-31, for monthly quotas.'));
		o.placeholder = '1';

		s = m.section(form.GridSection, 'meter', _('Meters'), _('A meter counts the packets of one firewall chain that match all its fields.'));
		s.addremove = true;
		s.anonymous = false;
		o = s.option(form.ListValue, 'chain', _('Chain'));
		[ 'INPUT', 'FORWARD', 'OUTPUT' ].forEach(function(c) { o.value(c); });
		o.editable = true;
		// The grid shares its width among seven columns; the bootstrap
		// theme's select then showed "FO" for FORWARD.
		o.width = '10em';
		[ [ 'src', _('Source') ], [ 'dst', _('Destination') ], [ 'in', _('In interface') ],
		  [ 'out', _('Out interface') ], [ 'proto', _('Protocol') ], [ 'dport', _('Destination port') ] ].forEach(function(f) {
			o = s.option(form.Value, f[0], f[1]);
			o.editable = true;
		});

		s = m.section(form.GridSection, 'host', _('Named hosts'), _('Names that win over DHCP leases and /etc/ethers.'));
		s.addremove = true;
		s.anonymous = true;
		o = s.option(form.Value, 'mac', _('MAC'));
		o.editable = true;
		o = s.option(form.Value, 'name', _('Name'));
		o.editable = true;

		s = m.section(form.GridSection, 'quota', _('Quotas'), _('How much a host may move per period, and what happens then.'));
		s.addremove = true;
		s.anonymous = false;
		o = s.option(form.Value, 'host', _('Host'), _('A MAC, a name, or * for each host.'));
		o.editable = true;
		o = s.option(form.Value, 'limit', _('Limit'), _('Such as 50G (binary units).'));
		o.editable = true;
		o = s.option(form.ListValue, 'period', _('Period'));
		o.value('month', _('month'));
		o.value('day', _('day'));
		o.editable = true;
		o = s.option(form.ListValue, 'action', _('Action'));
		o.value('block', _('block'));
		o.value('throttle', _('throttle'));
		o.value('warn', _('warn'));
		o.editable = true;
		o = s.option(form.Value, 'rate', _('Throttle rate'), _('Such as 2mbit; for action throttle.'));
		o.editable = true;
		o = s.option(form.DynamicList, 'warn_at', _('Mail at (%)'));
		o.editable = true;

		s = m.section(form.TypedSection, 'mail', _('Mail'), _('Where the report and quota warnings go.'));
		s.addremove = true;
		s.anonymous = true;
		o = s.option(form.DynamicList, 'to', _('Recipients'));
		o = s.option(form.Value, 'from', _('Sender'));
		o = s.option(form.Value, 'msmtp_account', _('msmtp account'));
		o = s.option(form.Value, 'sendmail', _('sendmail program'));
		o = s.option(form.Value, 'server', _('SMTP server'), _('netmon-agent-full only.'));
		o = s.option(form.Value, 'username', _('SMTP user'));
		o = s.option(form.Value, 'password', _('SMTP password'));
		o.password = true;

		this.map = m;
		return m.render();
	},

	// handleSave parses the form into uci, has the agent check the whole
	// result, and only then saves it.
	handleSave: function(ev) {
		var m = this.map;
		return m.parse().then(function() {
			return fs.exec(agent, [ 'config', 'check' ].concat(sectionArgs()));
		}).then(function(res) {
			if (res.code !== 0)
				throw new Error((res.stderr || '').trim().replace(/^netmon-agent: /, '') || _('exit status %d').format(res.code));
			return m.save(null, true);
		}).catch(function(e) {
			ui.addNotification(null, E('p', { 'id': 'netmon-settings-error' }, [ txt(_('Not saved: %s').format(e.message)) ]), 'danger');
			return Promise.reject(e);
		});
	},

	handleSaveApply: function(ev, mode) {
		return this.handleSave(ev).then(function() {
			return ui.changes.apply(mode == '0');
		}, function() {});
	}
});
