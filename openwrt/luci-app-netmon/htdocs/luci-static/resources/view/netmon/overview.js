'use strict';
'require view';
'require netmon.common as common';
'require fs';
'require poll';
'require ui';

// Status > Traffic meters: netmon-agent's meters and hosts, with Block,
// Throttle and their lifting per host. Everything comes from the agent's
// --json output through rpcd, and only the commands the ACL grants are run
// (/usr/share/rpcd/acl.d/luci-app-netmon.json): report and hosts to read,
// block, unblock, throttle and unthrottle to write.
//
// Every value from the agent goes into the page as a text node (txt):
// host names are chosen by the devices on the LAN, and LuCI's E() takes a
// plain string child as markup.

var agent = common.agent, txt = common.txt, bytes = common.bytes;

// How long a block or throttle from this page lasts; 3650d is "until
// lifted" (the agent's longest).
var durations = [
	[ '1h', _('1 hour') ], [ '2h', _('2 hours') ], [ '1d', _('1 day') ],
	[ '7d', _('7 days') ], [ '3650d', _('until lifted') ]
];

// The rates a throttle from this page can have, as the agent reads them.
var rates = [
	[ '512kbit', _('512 kbit/s') ], [ '1mbit', _('1 Mbit/s') ], [ '2mbit', _('2 Mbit/s') ],
	[ '5mbit', _('5 Mbit/s') ], [ '10mbit', _('10 Mbit/s') ]
];

// bytes rounds below 1 KiB too, where LuCI's %m would print every digit.

// bits writes a throttle's rate (bits per second) as the agent reads it.
function bits(n) {
	if (n >= 1e9) return '%sgbit'.format(+(n / 1e9).toFixed(3));
	if (n >= 1e6) return '%smbit'.format(+(n / 1e6).toFixed(3));
	if (n >= 1e3) return '%skbit'.format(+(n / 1e3).toFixed(3));
	return '%dbit'.format(n);
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

// serviceRows are all hosts' services together, other last.
function serviceRows(services) {
	var h = [ _('Service'), _('Today'), _('This month'), _('Total') ];
	return (services.all || []).map(function(x) {
		return E('tr', { 'class': 'tr', 'data-service': x.name }, [
			cell(h[0], x.name),
			cell(h[1], bytes(x.today_download_bytes + x.today_upload_bytes)),
			cell(h[2], bytes(x.month_download_bytes + x.month_upload_bytes)),
			cell(h[3], bytes(x.download_bytes + x.upload_bytes))
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
			}),
			fs.exec_direct(agent, [ 'hosts', '--services', '--json' ], 'json').catch(function(e) {
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

	handleThrottle: function(mac) {
		var reason = this.blockReason.value.trim() || _('throttled from LuCI');
		var args = [ 'throttle', mac, this.throttleRate.value, '--for', this.blockFor.value, '--reason', reason ];
		return this.run(args, _('Throttled %s.').format(mac));
	},

	handleUnthrottle: function(mac) {
		return this.run([ 'unthrottle', mac ], _('Unthrottled %s.').format(mac));
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
		var button = function(cls, label, handler, mac) {
			return E('button', { 'class': 'btn cbi-button ' + cls, 'click': ui.createHandlerFn(self, handler, mac) }, [ txt(label) ]);
		};
		return hosts.map(function(x) {
			var actions = [], name = x.name || '-';
			if (x.mac !== 'unattributed') {
				actions.push(x.blocked
					? button('cbi-button-positive unblock', _('Unblock'), 'handleUnblock', x.mac)
					: button('cbi-button-negative block', _('Block'), 'handleBlock', x.mac));
				if (x.throttled)
					actions.push(txt(' '), button('cbi-button-positive unthrottle', _('Unthrottle'), 'handleUnthrottle', x.mac));
				else if (!x.blocked)
					actions.push(txt(' '), button('cbi-button-neutral throttle', _('Throttle'), 'handleThrottle', x.mac));
			}
			if (x.blocked)
				name = _('%s (blocked)').format(name);
			else if (x.throttled)
				name = _('%s (throttled to %s down, %s up)').format(name, bits(x.throttle_rate), bits(x.throttle_rate_up));
			return E('tr', { 'class': 'tr' + (x.blocked ? ' blocked' : x.throttled ? ' throttled' : ''), 'data-mac': x.mac }, [
				cell(h[0], name),
				cell(h[1], x.mac),
				cell(h[2], (x.addresses || []).join(', ')),
				cell(h[3], rate(x.download_rate)),
				cell(h[4], rate(x.upload_rate)),
				cell(h[5], bytes((x.today_download_bytes || 0) + (x.today_upload_bytes || 0))),
				cell(h[6], bytes((x.month_download_bytes || 0) + (x.month_upload_bytes || 0))),
				cell(h[7], x.quota_percent == null ? '-' : '%.1f%%'.format(x.quota_percent)),
				cell(h[8], E('div', {}, actions))
			]);
		});
	},

	draw: function(data) {
		var report = data[0] || {}, hosts = data[1] || {}, services = data[2] || {};
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
				txt(_('Block or throttle for')), ' ', this.blockFor, ' ', txt(_('Throttle to')), ' ', this.throttleRate, ' ',
				txt(_('Reason')), ' ', this.blockReason
			]), table('netmon-hosts', [ _('Host'), _('MAC'), _('Addresses'), _('Download'), _('Upload'), _('Today'), _('This month'), _('Quota'), '' ],
				this.hostRows(hosts.hosts), _('No hosts seen yet.')));
		if (!services.error)
			nodes.push(E('h3', {}, [ txt(_('By service')) ]),
				table('netmon-services', [ _('Service'), _('Today'), _('This month'), _('Total') ],
					serviceRows(services), _('No hosts seen yet.')));
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
		this.throttleRate = E('select', { 'id': 'netmon-throttle-rate' }, rates.map(function(r) {
			return E('option', { 'value': r[0] }, [ txt(r[1]) ]);
		}));
		this.throttleRate.value = '2mbit';
		this.blockReason = E('input', { 'id': 'netmon-block-reason', 'type': 'text', 'maxlength': 200, 'placeholder': _('blocked from LuCI') });
		this.root = E('div', {}, [ this.draw(data) ]);
		poll.add(L.bind(this.refresh, this), 30);
		return this.root;
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
