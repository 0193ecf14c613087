'use strict';
'require view';
'require fs';
'require poll';
'require ui';

// Status > Traffic meters: netmon-agent's meters and hosts, with Block and
// Unblock per host. Everything comes from the agent's --json output
// through rpcd, and only the commands the ACL grants are run
// (/usr/share/rpcd/acl.d/luci-app-netmon.json): report and hosts to read,
// block and unblock to write.
//
// Every value from the agent goes into the page as a text node (txt):
// host names are chosen by the devices on the LAN, and LuCI's E() takes a
// plain string child as markup.

var agent = '/usr/sbin/netmon-agent';

// How long a block from this page lasts; 3650d is "until unblocked" (the
// agent's longest block).
var durations = [
	[ '1h', _('1 hour') ], [ '2h', _('2 hours') ], [ '1d', _('1 day') ],
	[ '7d', _('7 days') ], [ '3650d', _('until unblocked') ]
];

function txt(v) {
	return document.createTextNode(v == null ? '' : String(v));
}

// bytes rounds below 1 KiB too, where LuCI's %m would print every digit.
function bytes(n) {
	n = +n || 0;
	return n < 1024 ? '%d B'.format(Math.round(n)) : '%1024.2mB'.format(n);
}

function rate(n) {
	return _('%s/s').format(bytes(n));
}

function when(t) {
	return t ? new Date(t).toLocaleString() : '-';
}

function cell(title, value) {
	return E('td', { 'class': 'td', 'data-title': title }, [ (value instanceof Node) ? value : txt(value) ]);
}

function table(id, headers, rows, empty) {
	var t = E('table', { 'class': 'table', 'id': id }, [
		E('tr', { 'class': 'tr table-titles' }, headers.map(function(h) {
			return E('th', { 'class': 'th' }, [ txt(h) ]);
		}))
	]);
	if (!rows.length)
		t.appendChild(E('tr', { 'class': 'tr placeholder' }, [
			E('td', { 'class': 'td', 'colspan': headers.length }, [ E('em', {}, [ txt(empty) ]) ])
		]));
	rows.forEach(function(r) { t.appendChild(r); });
	return t;
}

function usageOf(report, name) {
	return (report.usage || []).filter(function(u) { return u.name === name; })[0] || {};
}

function meterRows(report) {
	var h = [ _('Meter'), _('Today'), _('This month'), _('Total'), _('Since') ];
	return (report.meters || []).map(function(m) {
		var u = usageOf(report, m.name);
		return E('tr', { 'class': 'tr', 'data-meter': m.name }, [
			cell(h[0], m.name), cell(h[1], bytes(u.today)), cell(h[2], bytes(u.month)),
			cell(h[3], bytes(m.bytes)), cell(h[4], when(m.since))
		]);
	});
}

return view.extend({
	load: function() {
		return Promise.all([
			fs.exec_direct(agent, [ 'report', '--json' ], 'json').catch(function(e) {
				return { error: e.message };
			}),
			fs.exec_direct(agent, [ 'hosts', '--json' ], 'json').catch(function(e) {
				return { error: e.message };
			})
		]);
	},

	handleBlock: function(mac) {
		var reason = this.blockReason.value.trim() || _('blocked from LuCI');
		var args = [ 'block', mac, '--for', this.blockFor.value, '--reason', reason ];
		return this.run(args, _('Blocked %s.').format(mac));
	},

	handleUnblock: function(mac) {
		return this.run([ 'unblock', mac ], _('Unblocked %s.').format(mac));
	},

	// run runs a command that changes something, says how it went, and
	// redraws from the agent's answer. fs.exec, not exec_direct: cgi-exec
	// drops the exit status, and a refused block must not read as done.
	run: function(args, done) {
		var self = this;
		return fs.exec(agent, args).then(function(res) {
			if (res.code !== 0)
				throw new Error((res.stderr || '').trim() || _('exit status %d').format(res.code));
			ui.addNotification(null, E('p', {}, [ txt(done) ]), 'info');
		}).catch(function(e) {
			ui.addNotification(null, E('p', {}, [ txt(_('netmon-agent %s failed: %s').format(args[0], e.message)) ]), 'danger');
		}).then(function() {
			return self.refresh();
		});
	},

	hostRows: function(hosts) {
		var self = this;
		var h = [ _('Host'), _('MAC'), _('Addresses'), _('Download'), _('Upload'), _('Today'), _('This month'), _('Quota'), '' ];
		hosts = (hosts || []).slice().sort(function(a, b) {
			return (b.download_rate + b.upload_rate) - (a.download_rate + a.upload_rate);
		});
		return hosts.map(function(x) {
			var action = '';
			if (x.mac !== 'unattributed')
				action = x.blocked
					? E('button', { 'class': 'btn cbi-button cbi-button-positive unblock',
						'click': ui.createHandlerFn(self, 'handleUnblock', x.mac) }, [ txt(_('Unblock')) ])
					: E('button', { 'class': 'btn cbi-button cbi-button-negative block',
						'click': ui.createHandlerFn(self, 'handleBlock', x.mac) }, [ txt(_('Block')) ]);
			return E('tr', { 'class': 'tr' + (x.blocked ? ' blocked' : ''), 'data-mac': x.mac }, [
				cell(h[0], x.blocked ? _('%s (blocked)').format(x.name || '-') : (x.name || '-')),
				cell(h[1], x.mac),
				cell(h[2], (x.addresses || []).join(', ')),
				cell(h[3], rate(x.download_rate)),
				cell(h[4], rate(x.upload_rate)),
				cell(h[5], bytes((x.today_download_bytes || 0) + (x.today_upload_bytes || 0))),
				cell(h[6], bytes((x.month_download_bytes || 0) + (x.month_upload_bytes || 0))),
				cell(h[7], x.quota_percent == null ? '-' : '%.1f%%'.format(x.quota_percent)),
				cell(h[8], action)
			]);
		});
	},

	draw: function(data) {
		var report = data[0] || {}, hosts = data[1] || {};
		var nodes = [ E('h2', {}, [ txt(_('Traffic meters')) ]) ];
		if (report.error) {
			nodes.push(E('div', { 'class': 'alert-message warning', 'id': 'netmon-error' },
				[ txt(_('netmon-agent did not answer: %s').format(report.error)) ]));
		}
		else {
			nodes.push(E('div', { 'class': 'cbi-map-descr' }, [
				txt(_('Totals since each meter first counted; last sample %s (from the %s).').format(when(report.last_sample), report.source))
			]));
			nodes.push(table('netmon-meters', [ _('Meter'), _('Today'), _('This month'), _('Total'), _('Since') ],
				meterRows(report), _('No meters configured in /etc/config/netmon.')));
		}
		nodes.push(E('h3', {}, [ txt(_('Hosts')) ]));
		if (hosts.error)
			nodes.push(E('p', { 'id': 'netmon-hosts-error' }, [ txt(_('No host table: %s').format(hosts.error)) ]));
		else
			nodes.push(E('div', { 'class': 'cbi-section-descr' }, [
				txt(_('Block for')), ' ', this.blockFor, ' ', txt(_('Reason')), ' ', this.blockReason
			]), table('netmon-hosts', [ _('Host'), _('MAC'), _('Addresses'), _('Download'), _('Upload'), _('Today'), _('This month'), _('Quota'), '' ],
				this.hostRows(hosts.hosts), _('No hosts seen yet.')));
		return E('div', { 'id': 'netmon' }, nodes);
	},

	refresh: function() {
		var self = this;
		return this.load().then(function(data) {
			self.root.replaceChild(self.draw(data), self.root.firstChild);
		});
	},

	render: function(data) {
		// The block controls live across redraws, so a choice is not lost
		// at the next refresh.
		this.blockFor = E('select', { 'id': 'netmon-block-for' }, durations.map(function(d) {
			return E('option', { 'value': d[0] }, [ txt(d[1]) ]);
		}));
		this.blockFor.value = '2h';
		this.blockReason = E('input', { 'id': 'netmon-block-reason', 'type': 'text', 'maxlength': 200, 'placeholder': _('blocked from LuCI') });
		this.root = E('div', {}, [ this.draw(data) ]);
		poll.add(L.bind(this.refresh, this), 30);
		return this.root;
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
