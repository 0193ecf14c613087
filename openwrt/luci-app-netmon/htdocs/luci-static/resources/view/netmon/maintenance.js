'use strict';
'require view';
'require netmon.common as common';
'require fs';
'require request';
'require ui';

// Status > Traffic maintenance: what `netmon-agent doctor --json` finds,
// each check with its fix, the history as a CSV file to download
// (`netmon-agent export --hosts`), a portable backup of the database (`db
// backup --portable -`) and its restore: the file goes up through cgi-io's upload to one
// path in /tmp, and `db restore --remove` swaps it in under the running
// daemon once it is verified whole. When nlbwmon's database is on the
// router (`import nlbwmon --list` finds its periods), the page offers to
// import its history. Agent values go in as text nodes only.

var agent = common.agent, txt = common.txt;

// Where an uploaded backup waits; the ACL lets a write login write only
// this file and restore only from it.
var restorePath = '/tmp/netmon-restore.db';

var statusClass = { OK: 'ok', WARN: 'warn', FAIL: 'fail' };

// download offers blob as a file name, through a link with id.
function download(id, name, blob) {
	var old = document.getElementById(id + '-link');
	if (old)
		old.remove();
	var a = E('a', { 'id': id + '-link', 'download': name, 'href': URL.createObjectURL(blob) }, [ txt(name) ]);
	document.body.appendChild(a);
	a.click();
}

return view.extend({
	load: function() {
		// doctor exits 1 or 2 when it finds something: its JSON is the
		// answer all the same. No nlbwmon database: no import offered.
		return Promise.all([
			fs.exec_direct(agent, [ 'doctor', '--json' ], 'json').catch(function(e) {
				return { error: e.message };
			}),
			fs.exec_direct(agent, [ 'import', 'nlbwmon', '--list', '--json' ], 'json').catch(function() {
				return [];
			})
		]);
	},

	// handleImport files nlbwmon's periods into the history and says what
	// became of them; the agent skips what it counted itself and what an
	// earlier import filed.
	handleImport: function() {
		return fs.exec(agent, [ 'import', 'nlbwmon', '--json' ]).then(function(res) {
			if (res.code !== 0)
				throw new Error((res.stderr || '').trim() || _('exit status %d').format(res.code));
			var periods = JSON.parse(res.stdout).periods || [], n = {};
			periods.forEach(function(p) { n[p.status] = (n[p.status] || 0) + 1; });
			var said = Object.keys(n).sort().map(function(s) { return '%d %s'.format(n[s], s); }).join(', ');
			ui.addNotification(null, E('p', { 'id': 'netmon-imported' }, [ txt(_('nlbwmon\'s periods: %s.').format(said)) ]), 'info');
		}).catch(function(e) {
			ui.addNotification(null, E('p', {}, [ txt(_('Import failed: %s').format(e.message)) ]), 'danger');
		});
	},

	handleExport: function() {
		return fs.exec_direct(agent, [ 'export', '--by', 'day', '--format', 'csv', '--hosts' ]).then(function(csv) {
			download('netmon-export', 'netmon-days.csv', new Blob([ csv ], { type: 'text/csv' }));
		}).catch(function(e) {
			ui.addNotification(null, E('p', {}, [ txt(_('netmon-agent export failed: %s').format(e.message)) ]), 'danger');
		});
	},

	// handleBackup downloads `db backup --portable -`: a backup any router
	// restores, whatever its byte order (the download is for keeping, or
	// for the next router), that `netmon-agent db restore FILE` and the
	// restore below take back.
	handleBackup: function() {
		return fs.exec_direct(agent, [ 'db', 'backup', '--portable', '-' ], 'blob').then(function(blob) {
			if (!blob.size)
				throw new Error(_('the backup is empty'));
			download('netmon-backup', 'netmon-backup.db', blob);
		}).catch(function(e) {
			ui.addNotification(null, E('p', {}, [ txt(_('netmon-agent backup failed: %s').format(e.message)) ]), 'danger');
		});
	},

	// handleRestore uploads the chosen backup as ui.uploadFile does, then
	// restores it; the agent refuses a file that is not a whole database
	// and replaces nothing then.
	handleRestore: function() {
		var self = this, file = this.restoreFile.files[0];
		if (!file) {
			ui.addNotification(null, E('p', {}, [ txt(_('Choose a backup file first.')) ]), 'danger');
			return Promise.resolve();
		}
		var data = new FormData();
		data.append('sessionid', L.env.sessionid);
		data.append('filename', restorePath);
		data.append('filedata', file);
		return request.post(L.env.cgi_base + '/cgi-upload', data, { timeout: 0 }).then(function(res) {
			var reply = res.json();
			if (!res.ok || reply.failure)
				throw new Error(reply.message || res.statusText);
			return fs.exec(agent, [ 'db', 'restore', '--remove', restorePath ]);
		}).then(function(res) {
			if (res.code !== 0)
				throw new Error((res.stderr || '').trim() || _('exit status %d').format(res.code));
			ui.addNotification(null, E('p', { 'id': 'netmon-restored' }, [ txt(_('Restored the database from %s.').format(file.name)) ]), 'info');
			return self.load().then(function(data) {
				self.root.replaceChild(self.draw(data), self.root.firstChild);
			});
		}).catch(function(e) {
			ui.addNotification(null, E('p', {}, [ txt(_('Restore failed: %s').format(e.message)) ]), 'danger');
		});
	},

	render: function(data) {
		// The file chooser lives across redraws.
		this.restoreFile = E('input', { 'type': 'file', 'id': 'netmon-restore-file', 'accept': '.db,.gz,application/octet-stream' });
		this.root = E('div', {}, [ this.draw(data) ]);
		return this.root;
	},

	// drawImport offers nlbwmon's periods, when there are any.
	drawImport: function(periods) {
		if (!Array.isArray(periods) || !periods.length)
			return [];
		return [ E('h3', {}, [ txt(_('Import nlbwmon\'s history')) ]),
			E('p', { 'class': 'cbi-section-descr', 'id': 'netmon-nlbwmon' }, [ txt(_('nlbwmon\'s database holds %d periods, from %s to %s. Importing adds them to the hosts\' totals and the monthly history, marked as imported (nlbwmon has no days); what netmon-agent counted itself is left as it is, and importing twice changes nothing.')
				.format(periods.length, periods[0].start, periods[periods.length - 1].end)) ]),
			E('p', {}, [ E('button', { 'class': 'btn cbi-button cbi-button-action', 'id': 'netmon-import', 'click': ui.createHandlerFn(this, 'handleImport') },
				[ txt(_('Import from nlbwmon')) ]) ]) ];
	},

	draw: function(data) {
		var report = data[0];
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
		nodes.push(E('h3', {}, [ txt(_('Export and backup')) ]),
			E('p', {}, [ E('button', { 'class': 'btn cbi-button', 'id': 'netmon-export', 'click': ui.createHandlerFn(this, 'handleExport') },
				[ txt(_('Download the daily history (CSV, a column pair per host)')) ]) ]),
			E('p', {}, [ E('button', { 'class': 'btn cbi-button', 'id': 'netmon-backup', 'click': ui.createHandlerFn(this, 'handleBackup') },
				[ txt(_('Download a backup of the database')) ]) ]),
			E('h3', {}, [ txt(_('Restore a backup')) ]),
			E('p', { 'class': 'cbi-section-descr' }, [ txt(_('The database goes back to the backup; what the firewall counted since it was taken is still in its counters and is added at the next sample. The replaced database is kept on the router as *.before-restore.')) ]),
			E('p', {}, [ this.restoreFile, txt(' '),
				E('button', { 'class': 'btn cbi-button cbi-button-action', 'id': 'netmon-restore', 'click': ui.createHandlerFn(this, 'handleRestore') },
					[ txt(_('Upload and restore')) ]) ]));
		return E('div', {}, nodes.concat(this.drawImport(data[1])));
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
