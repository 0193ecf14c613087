'use strict';
'require view';
'require fs';
'require ui';

// Status > Traffic maintenance: what `netmon-agent doctor --json` finds,
// each check with its fix, and the history as a CSV file to download
// (`netmon-agent export --hosts`). Agent values go in as text nodes only.

var agent = '/usr/sbin/netmon-agent';

function txt(v) {
	return document.createTextNode(v == null ? '' : String(v));
}

var statusClass = { OK: 'ok', WARN: 'warn', FAIL: 'fail' };

return view.extend({
	load: function() {
		// doctor exits 1 or 2 when it finds something: its JSON is the
		// answer all the same.
		return fs.exec_direct(agent, [ 'doctor', '--json' ], 'json').catch(function(e) {
			return { error: e.message };
		});
	},

	handleExport: function() {
		return fs.exec_direct(agent, [ 'export', '--by', 'day', '--format', 'csv', '--hosts' ]).then(function(csv) {
			var a = E('a', { 'id': 'netmon-export-link', 'download': 'netmon-days.csv',
				'href': URL.createObjectURL(new Blob([ csv ], { type: 'text/csv' })) }, [ txt('netmon-days.csv') ]);
			document.body.appendChild(a);
			a.click();
			return csv;
		}).catch(function(e) {
			ui.addNotification(null, E('p', {}, [ txt(_('netmon-agent export failed: %s').format(e.message)) ]), 'danger');
		});
	},

	render: function(report) {
		var nodes = [ E('h2', {}, [ txt(_('Traffic maintenance')) ]) ];
		if (report.error)
			nodes.push(E('p', { 'class': 'alert-message warning', 'id': 'netmon-error' },
				[ txt(_('netmon-agent doctor did not answer: %s').format(report.error)) ]));
		else
			nodes.push(E('p', {}, [ txt(_('Overall: %s').format(report.status)) ]),
				E('table', { 'class': 'table', 'id': 'netmon-doctor' }, [
					E('tr', { 'class': 'tr table-titles' }, [ _('Check'), _('Status'), _('Detail'), _('Fix') ].map(function(t) {
						return E('th', { 'class': 'th' }, [ txt(t) ]);
					}))
				].concat((report.findings || []).map(function(f) {
					return E('tr', { 'class': 'tr ' + (statusClass[f.status] || ''), 'data-check': f.check }, [
						E('td', { 'class': 'td' }, [ txt(f.check) ]),
						E('td', { 'class': 'td' }, [ txt(f.status) ]),
						E('td', { 'class': 'td' }, [ txt(f.detail) ]),
						E('td', { 'class': 'td' }, [ txt(f.fix || '') ])
					]);
				}))));
		nodes.push(E('h3', {}, [ txt(_('Export')) ]),
			E('p', {}, [ E('button', { 'class': 'btn cbi-button', 'id': 'netmon-export', 'click': ui.createHandlerFn(this, 'handleExport') },
				[ txt(_('Download the daily history (CSV, a column pair per host)')) ]) ]));
		return E('div', {}, nodes);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
