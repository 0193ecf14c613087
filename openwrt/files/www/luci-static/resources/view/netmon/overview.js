'use strict';
'require view';
'require fs';
'require poll';

// Status > Traffic meters: netmon-agent's meters and, where the agent
// meters hosts, its host table. Everything comes from the agent's own
// --json output through rpcd (see /usr/share/rpcd/acl.d/luci-app-netmon.json).

var agent = '/usr/sbin/netmon-agent';

function human(n) {
	var units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
	if (n < 1024)
		return n + ' B';
	var i = -1;
	do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
	return n.toFixed(2) + ' ' + units[i];
}

function when(t) {
	return t ? new Date(t).toLocaleString() : '-';
}

function meterRows(report) {
	return (report.meters || []).map(function(m) {
		return [
			m.name,
			m.chain,
			human(m.bytes),
			String(m.packets),
			when(m.since),
			m.last_reset ? when(m.last_reset.time) + ' ' + m.last_reset.cause : '-'
		];
	});
}

function hostRows(hosts) {
	return (hosts || []).map(function(h) {
		return [
			h.name || '-',
			h.mac,
			(h.addresses || []).join(', '),
			human(h.download_rate || 0) + '/s',
			human(h.upload_rate || 0) + '/s',
			human(h.download_bytes || 0),
			human(h.upload_bytes || 0),
			h.blocked ? _('blocked') : ''
		];
	});
}

function table(id, headers, rows, empty) {
	var t = E('table', { 'class': 'table', 'id': id }, [
		E('tr', { 'class': 'tr table-titles' }, headers.map(function(h) {
			return E('th', { 'class': 'th' }, h);
		}))
	]);
	if (!rows.length)
		t.appendChild(E('tr', { 'class': 'tr placeholder' }, [
			E('td', { 'class': 'td', 'colspan': headers.length }, E('em', {}, empty))
		]));
	rows.forEach(function(r) {
		t.appendChild(E('tr', { 'class': 'tr' }, r.map(function(c) {
			return E('td', { 'class': 'td' }, c);
		})));
	});
	return t;
}

function load() {
	return Promise.all([
		fs.exec_direct(agent, ['report', '--json'], 'json').catch(function(e) {
			return { error: e.message };
		}),
		// Per-host accounting may not be in this build yet: then no host table.
		fs.exec_direct(agent, ['hosts', '--json'], 'json').catch(function() {
			return null;
		})
	]);
}

function render(data) {
	var report = data[0] || {};
	var hosts = Array.isArray(data[1]) ? data[1] : (data[1] && data[1].hosts);
	var nodes = [
		E('h2', {}, _('Traffic meters')),
		E('div', { 'class': 'cbi-map-descr' }, report.error ? _('netmon-agent did not answer: ') + report.error
			: _('Totals since each meter first counted; last sample ') + when(report.last_sample) + ' (' + report.source + ').'),
		table('netmon-meters',
			[_('Meter'), _('Chain'), _('Total'), _('Packets'), _('Since'), _('Last reset')],
			meterRows(report), _('No meters configured in /etc/config/netmon.'))
	];
	if (Array.isArray(hosts))
		nodes.push(E('h3', {}, _('Hosts')), table('netmon-hosts',
			[_('Name'), _('MAC'), _('Addresses'), _('Download'), _('Upload'), _('Downloaded'), _('Uploaded'), ''],
			hostRows(hosts), _('No hosts seen yet.')));
	return E('div', { 'id': 'netmon' }, nodes);
}

return view.extend({
	load: load,

	render: function(data) {
		var root = E('div', {}, render(data));
		poll.add(function() {
			return load().then(function(d) {
				root.replaceChild(render(d), root.firstChild);
			});
		}, 30);
		return root;
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
