'use strict';
'require view';
'require netmon.common as common';
'require fs';
'require ui';

// Status > Traffic history: hours, days or months of all hosts, one host
// or one meter as bars (download and upload, or the meter's bytes), and
// the busiest days. From `netmon-agent report --hours|--days|--months
// --json [--host MAC]` and `report --top --json`; the ACL grants exactly
// these. Agent values go in as text nodes only.

var agent = common.agent, txt = common.txt, bytes = common.bytes;
var svgNS = 'http://www.w3.org/2000/svg';

var views = [ [ '--hours', _('Hours') ], [ '--days', _('Days') ], [ '--months', _('Months') ] ];

function svg(tag, attrs) {
	var el = document.createElementNS(svgNS, tag);
	for (var k in attrs)
		el.setAttribute(k, attrs[k]);
	return el;
}

// label names a row's bucket in the router's time, as the agent wrote
// it (RFC 3339 with the router's offset), whatever the browser's zone; a
// row with imported history (`import nlbwmon`) ends in a star.
function label(row, resolution) {
	var start = String(row.start || ''), star = row.imported ? ' *' : '';
	if (resolution === 'hour')
		return start.substring(11, 13) + ':00' + star;
	if (resolution === 'month')
		return start.substring(0, 7) + star;
	return start.substring(0, 10) + star;
}

// importedNote says which tools' history the starred rows include.
function importedNote(h) {
	var from = (h.rows || []).filter(function(r) { return r.imported; }).map(function(r) { return r.imported; });
	if (!from.length)
		return '';
	return E('p', { 'id': 'netmon-imported', 'class': 'cbi-section-descr' },
		[ txt(_('* with history imported from %s: its periods, without their days.').format(from[0])) ]);
}

function legend(meter) {
	var keys = meter ? [ [ '#6a5acd', _('Meter %s').format(meter) ] ] : [ [ '#2f7ed8', _('Download') ], [ '#e08e0b', _('Upload') ] ];
	return E('p', { 'class': 'netmon-legend' }, keys.map(function(k) {
		return E('span', { 'style': 'margin-right:1em' }, [ E('span', { 'style': 'color:' + k[0] }, [ txt('\u25a0 ') ]), txt(k[1]) ]);
	}));
}

// chart draws one bar pair (download, upload) per row, or one bar of the
// meter's bytes; each bar's title says its value.
function chart(h, meter) {
	var rows = h.rows || [], w = 760, ht = 200, pad = 20;
	var series = meter ? [ function(r) { return (r.meters || {})[meter] || 0; } ]
		: [ function(r) { return r.download_bytes || 0; }, function(r) { return r.upload_bytes || 0; } ];
	var max = 1;
	rows.forEach(function(r) { series.forEach(function(f) { max = Math.max(max, f(r)); }); });
	var root = svg('svg', { 'class': 'netmon-chart', 'width': w, 'height': ht + pad, 'viewBox': '0 0 %d %d'.format(w, ht + pad) });
	// A few rows get bars of a readable width, not the whole chart.
	var slot = Math.min(rows.length ? w / rows.length : w, 48 * series.length);
	rows.forEach(function(r, i) {
		series.forEach(function(f, j) {
			var v = f(r), bh = Math.round(v / max * (ht - 4));
			var bar = svg('rect', {
				'class': meter ? 'meter' : (j ? 'ul' : 'dl'),
				'x': (i * slot + j * slot / series.length + 1).toFixed(1),
				'y': ht - bh, 'width': Math.max(1, slot / series.length - 2).toFixed(1), 'height': bh,
				'fill': meter ? '#6a5acd' : (j ? '#e08e0b' : '#2f7ed8')
			});
			var title = svg('title', {});
			title.appendChild(txt('%s: %s'.format(label(r, h.resolution), bytes(v))));
			bar.appendChild(title);
			root.appendChild(bar);
		});
		if (i % Math.ceil(rows.length / 8 || 1) === 0) {
			var t = svg('text', { 'x': (i * slot + 2).toFixed(1), 'y': ht + pad - 4, 'font-size': 11 });
			t.appendChild(txt(label(r, h.resolution)));
			root.appendChild(t);
		}
	});
	return root;
}

return view.extend({
	load: function() {
		return Promise.all([
			fs.exec_direct(agent, [ 'hosts', '--json' ], 'json').catch(function() { return { hosts: [] }; }),
			fs.exec_direct(agent, [ 'report', '--json' ], 'json').catch(function() { return { meters: [] }; })
		]);
	},

	// args is the report command for the chosen view and subject. A
	// meter's bars come from the all-hosts rows, which carry every meter:
	// the ACL then needs no pattern that a free-form name could stretch
	// over more options.
	args: function(view) {
		var s = this.subject.value, a = [ 'report', view, '--json' ];
		if (s.indexOf('host:') === 0)
			a.push('--host', s.substring(5));
		return a;
	},

	// show draws view of the chosen subject. Only the newest request
	// draws: an older answer arriving late would show the wrong chart.
	show: function(view) {
		var self = this, subject = this.subject.value, seq = this.seq = (this.seq || 0) + 1;
		var meter = subject.indexOf('meter:') === 0 ? subject.substring(6) : null;
		this.view = view;
		return fs.exec_direct(agent, this.args(view), 'json').then(function(h) {
			if (seq !== self.seq)
				return;
			var total = (h.rows || []).reduce(function(n, r) {
				return n + (meter ? ((r.meters || {})[meter] || 0) : (r.download_bytes || 0) + (r.upload_bytes || 0));
			}, 0);
			self.box.replaceChildren(
				E('p', { 'id': 'netmon-total', 'data-bytes': total, 'data-rows': (h.rows || []).length, 'data-view': view, 'data-subject': subject },
					[ txt(_('In all: %s.').format(bytes(total))) ]),
				legend(meter),
				chart(h, meter),
				importedNote(h));
		}).catch(function(e) {
			if (seq === self.seq)
				self.box.replaceChildren(E('p', { 'class': 'alert-message warning' }, [ txt(_('netmon-agent did not answer: %s').format(e.message)) ]));
		});
	},

	top: function() {
		var self = this;
		return fs.exec_direct(agent, [ 'report', '--top', '--json' ], 'json').then(function(h) {
			var rows = (h.rows || []).map(function(r, i) {
				return E('tr', { 'class': 'tr' }, [
					E('td', { 'class': 'td' }, [ txt(i + 1) ]),
					E('td', { 'class': 'td' }, [ txt(label(r, 'day')) ]),
					E('td', { 'class': 'td' }, [ txt(bytes(r.download_bytes)) ]),
					E('td', { 'class': 'td' }, [ txt(bytes(r.upload_bytes)) ])
				]);
			});
			self.topBox.replaceChildren(E('table', { 'class': 'table', 'id': 'netmon-top' }, [
				E('tr', { 'class': 'tr table-titles' }, [ _('Rank'), _('Day'), _('Download'), _('Upload') ].map(function(t) {
					return E('th', { 'class': 'th' }, [ txt(t) ]);
				}))
			].concat(rows)));
		}).catch(function() {});
	},

	render: function(data) {
		var self = this, hosts = (data[0] && data[0].hosts) || [], meters = (data[1] && data[1].meters) || [];
		var options = [ E('option', { 'value': 'all' }, [ txt(_('All hosts')) ]) ];
		hosts.forEach(function(h) {
			// By MAC only: the ACL grants --host as a MAC pattern.
			if (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(h.mac))
				options.push(E('option', { 'value': 'host:' + h.mac }, [ txt(_('Host %s').format(h.name ? h.name + ' (' + h.mac + ')' : h.mac)) ]));
		});
		meters.forEach(function(m) {
			options.push(E('option', { 'value': 'meter:' + m.name }, [ txt(_('Meter %s').format(m.name)) ]));
		});
		this.subject = E('select', { 'id': 'netmon-subject', 'change': function() { self.show(self.view); } }, options);
		this.box = E('div', { 'id': 'netmon-history' });
		this.topBox = E('div', { 'id': 'netmon-busiest' });
		var buttons = views.map(function(v) {
			return E('button', { 'class': 'btn cbi-button', 'data-view': v[0], 'click': ui.createHandlerFn(self, 'show', v[0]) }, [ txt(v[1]) ]);
		});
		this.show('--hours');
		this.top();
		return E('div', {}, [
			E('h2', {}, [ txt(_('Traffic history')) ]),
			E('div', { 'class': 'cbi-section-descr' }, [ this.subject, ' ' ].concat(buttons)),
			this.box,
			E('h3', {}, [ txt(_('Busiest days of all hosts')) ]),
			this.topBox
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
