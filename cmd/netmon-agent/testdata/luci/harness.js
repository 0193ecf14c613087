// A stand-in for the parts of LuCI that our views use, written from LuCI's
// documented behaviour so that the views, their ACL and the agent's JSON
// can be tested together in a browser without a router:
//  - E(tag, attrs, children) as LuCI's dom.create: a string child is set as
//    innerHTML (markup!), array items that are not nodes become text nodes;
//  - String.prototype.format with %s %d %f %h %q %m and %%;
//  - the modules view, fs (exec_direct through /cgi-bin/cgi-exec, exec
//    through ubus file exec, which the test serves and checks against the
//    ACL), request (post, for cgi-upload), poll, ui, and uci and form for
//    the settings page (uci through the test's stand-in for rpcd's uci);
//  - a loader for modules of our own (resources/netmon/common.js, with
//    baseclass), as LuCI's require loads them.
(function() {
	'use strict';

	function esc(s, table) {
		if (s == null || typeof s === 'object' || typeof s === 'function')
			return '';
		s = String(s);
		for (var i = 0; i < table.length; i += 2)
			s = s.replace(table[i], table[i + 1]);
		return s;
	}
	var htmlEsc = [/&/g, '&#38;', /"/g, '&#34;', /'/g, '&#39;', /</g, '&#60;', />/g, '&#62;'];
	var quotEsc = [/"/g, '&#34;', /'/g, '&#39;'];

	String.prototype.format = function() {
		var args = arguments, n = 0;
		return this.replace(/%(0|\x20)?(-)?(\d+)?(\.\d+)?([%sdfhqm])/g, function(all, pad, left, width, prec, type) {
			if (type === '%')
				return '%';
			var v = args[n++], out;
			switch (type) {
			case 's': out = String(v); break;
			case 'd': out = Math.floor(+v || 0).toFixed(0); break;
			case 'f': out = prec ? (+v || 0).toFixed(+prec.substring(1)) : String(+v || 0); break;
			case 'h': out = esc(v, htmlEsc); break;
			case 'q': out = esc(v, quotEsc); break;
			case 'm':
				var mf = width ? +width : 1000, pr = prec ? +prec.substring(1) : 2;
				var units = [' ', ' K', ' M', ' G', ' T', ' P', ' E'], i = 0, val = +v || 0;
				for (; i < units.length && val > mf; i++)
					val /= mf;
				return i ? val.toFixed(pr) + units[i] + (mf == 1024 ? 'i' : '') : val + ' ';
			}
			while (width && out.length < +width)
				out = left ? out + ' ' : (pad || ' ') + out;
			return out;
		});
	};

	window._ = function(s) { return s; };

	function append(node, children) {
		if (Array.isArray(children))
			children.forEach(function(c) {
				if (c instanceof Node)
					node.appendChild(c);
				else if (c != null)
					node.appendChild(document.createTextNode('' + c));
			});
		else if (typeof children === 'function')
			append(node, children(node));
		else if (children instanceof Node)
			node.appendChild(children);
		else if (children != null)
			node.innerHTML = '' + children; // as LuCI does: a plain string is markup
	}

	window.E = function(tag, attrs, children) {
		if (Array.isArray(attrs) || attrs instanceof Node || typeof attrs !== 'object') {
			children = attrs;
			attrs = null;
		}
		var el = document.createElement(tag);
		for (var k in (attrs || {})) {
			var v = attrs[k];
			if (v == null)
				continue;
			if (typeof v === 'function')
				el.addEventListener(k, v);
			else if (typeof v === 'object')
				el.setAttribute(k, JSON.stringify(v));
			else
				el.setAttribute(k, v);
		}
		append(el, children);
		return el;
	};

	window.L = {
		env: { cgi_base: '/cgi-bin' },
		bind: function(fn, self) {
			var args = Array.prototype.slice.call(arguments, 2);
			return function() { return fn.apply(self, args.concat(Array.prototype.slice.call(arguments))); };
		},
		resolveDefault: function(p, d) { return Promise.resolve(p).catch(function() { return d; }); }
	};

	// Every exec the views make, for the test to compare with the ACL.
	window.harnessCalls = [];
	window.harnessPollers = [];

	var modules = {
		view: { extend: function(proto) { return proto; } },
		fs: {
			// exec is rpcd's ubus file exec: {code, stdout, stderr}.
			exec: function(command, params) {
				window.harnessCalls.push([command].concat(params || []));
				return fetch('/ubus/file/exec', {
					method: 'POST',
					body: JSON.stringify({ sessionid: window.harnessSession, command: command, params: params || [] })
				}).then(function(r) {
					return r.json().then(function(body) {
						if (!r.ok)
							throw new Error(body.error);
						return body;
					});
				});
			},
			exec_direct: function(command, params, type) {
				window.harnessCalls.push([command].concat(params || []));
				return fetch('/cgi-bin/cgi-exec', {
					method: 'POST',
					body: JSON.stringify({ sessionid: window.harnessSession, command: command, params: params || [] })
				}).then(function(r) {
					if (r.ok && type === 'blob')
						return r.blob();
					return r.text().then(function(body) {
						if (!r.ok)
							throw new Error(body.trim());
						return type === 'json' ? JSON.parse(body) : body;
					});
				});
			}
		},
		// request.post as LuCI.request's: a LuCI.response, whose json()
		// parses the body there and then.
		request: {
			post: function(url, data) {
				return fetch(url, { method: 'POST', body: data }).then(function(r) {
					return r.text().then(function(body) {
						return {
							ok: r.ok, status: r.status, statusText: r.statusText, responseText: body,
							text: function() { return body; },
							json: function() { return JSON.parse(body); }
						};
					});
				});
			}
		},
		poll: { add: function(fn) { window.harnessPollers.push(fn); } },
		ui: {
			addNotification: function(title, body, cls) {
				document.getElementById('notifications').appendChild(E('div', { 'class': 'alert-message ' + (cls || '') }, [body]));
			},
			createHandlerFn: function(self, fn) {
				var args = Array.prototype.slice.call(arguments, 2);
				if (typeof fn === 'string')
					fn = self[fn];
				return function(ev) {
					var btn = ev && ev.currentTarget;
					if (btn)
						btn.disabled = true;
					return Promise.resolve(fn.apply(self, args.concat([ev]))).finally(function() {
						if (btn)
							btn.disabled = false;
					});
				};
			},
			// changes.apply commits what uci.save staged; the harness then
			// does what procd's reload trigger does.
			changes: {
				apply: function() {
					return post('/ubus/uci/apply', {}).then(function() {
						modules.ui.addNotification(null, E('p', { 'id': 'harness-applied' }, [ 'Configuration has been applied.' ]), 'info');
					}, function(e) {
						modules.ui.addNotification(null, E('p', {}, [ 'Apply failed: ' + e.message ]), 'danger');
					});
				}
			}
		}
	};

	// post sends a JSON request to the harness's stand-in for ubus.
	function post(path, body) {
		body.sessionid = window.harnessSession;
		return fetch(path, { method: 'POST', body: JSON.stringify(body) }).then(function(r) {
			return r.json().then(function(data) {
				if (!r.ok)
					throw new Error(data.error || r.statusText);
				return data;
			});
		});
	}

	// uci as LuCI's: load fetches a config's sections, get, set, unset,
	// add and remove change the copy here, sections merges them, save
	// stages the result (uci save), and ui.changes.apply commits it.
	var uciData = {};
	var uci = {
		load: function(conf) {
			return post('/ubus/uci/get', { config: conf }).then(function(r) {
				uciData[conf] = r.values;
			});
		},
		sections: function(conf, type) {
			var all = uciData[conf] || {};
			return Object.keys(all).map(function(k) { return all[k]; }).filter(function(s) {
				return type == null || s['.type'] === type;
			}).sort(function(a, b) { return a['.index'] - b['.index']; });
		},
		get: function(conf, sid, opt) {
			var sec = (uciData[conf] || {})[sid];
			return sec == null ? null : opt == null ? sec : sec[opt];
		},
		set: function(conf, sid, opt, val) {
			var sec = (uciData[conf] || {})[sid];
			if (!sec)
				return;
			if (val == null || val === '' || (Array.isArray(val) && !val.length))
				delete sec[opt];
			else
				sec[opt] = val;
		},
		unset: function(conf, sid, opt) { uci.set(conf, sid, opt, null); },
		add: function(conf, type, name) {
			var all = uciData[conf] = uciData[conf] || {}, n = 0;
			for (var k in all)
				n = Math.max(n, all[k]['.index'] + 1);
			var sid = name || 'cfg' + ('00000' + n.toString(16)).slice(-6);
			all[sid] = { '.type': type, '.name': sid, '.anonymous': !name, '.index': n };
			return sid;
		},
		remove: function(conf, sid) { delete (uciData[conf] || {})[sid]; },
		save: function() {
			return Promise.all(Object.keys(uciData).map(function(conf) {
				return post('/ubus/uci/save', { config: conf, values: uciData[conf] });
			}));
		}
	};

	// form: the parts of LuCI's form.js the settings view uses. Inputs get
	// LuCI's ids (widget.cbid.CONFIG.SECTION.OPTION); parse() writes the
	// form's values into uci, save() stages them.
	function Option(cls, section, name, title, descr) {
		this.cls = cls; this.section = section; this.option = name; this.title = title; this.description = descr;
		this.rmempty = true; this.keylist = []; this.vallist = [];
	}
	Option.prototype.value = function(key, label) { this.keylist.push(key); this.vallist.push(label || key); };
	Option.prototype.id = function(sid) { return 'widget.cbid.' + this.section.map.config + '.' + sid + '.' + this.option; };
	Option.prototype.cfgvalue = function(sid) { return uci.get(this.section.map.config, sid, this.option); };
	Option.prototype.renderWidget = function(sid) {
		var v = this.cfgvalue(sid), id = this.id(sid), self = this;
		switch (this.cls) {
		case 'Flag':
			var box = E('input', { 'type': 'checkbox', 'id': id });
			box.checked = (v == null ? this.default : v) === '1';
			return box;
		case 'ListValue':
			var sel = E('select', { 'id': id }, this.keylist.map(function(k, i) {
				return E('option', { 'value': k }, [ self.vallist[i] ]);
			}));
			sel.value = v == null ? (this.default || this.keylist[0]) : v;
			return sel;
		case 'DynamicList':
			// LuCI draws one entry per value; here one field, entries
			// separated by spaces.
			return E('input', { 'type': 'text', 'id': id, 'value': [].concat(v || []).join(' ') });
		}
		return E('input', { 'type': this.password ? 'password' : 'text', 'id': id, 'value': v == null ? '' : v, 'placeholder': this.placeholder || null });
	};
	Option.prototype.formvalue = function(sid) {
		var el = document.getElementById(this.id(sid));
		if (!el)
			return this.cfgvalue(sid);
		if (this.cls === 'Flag')
			return el.checked ? '1' : '0';
		if (this.cls === 'DynamicList')
			return el.value.split(/\s+/).filter(function(x) { return x !== ''; });
		return el.value.trim();
	};
	Option.prototype.parse = function(sid) {
		var v = this.formvalue(sid), conf = this.section.map.config;
		if (this.cls === 'Flag' && this.rmempty && v === (this.default || '0'))
			uci.unset(conf, sid, this.option);
		else if (this.cls === 'ListValue' && this.rmempty && v === this.default)
			uci.unset(conf, sid, this.option);
		else
			uci.set(conf, sid, this.option, v);
	};

	function Section(cls, map, args) {
		this.cls = cls; this.map = map; this.options = [];
		if (cls === 'NamedSection') {
			this.section = args[0]; this.sectiontype = args[1]; this.title = args[2]; this.description = args[3];
		} else {
			this.sectiontype = args[0]; this.title = args[1]; this.description = args[2];
		}
	}
	Section.prototype.option = function(cls, name, title, descr) {
		var o = new Option(cls.kind, this, name, title, descr);
		this.options.push(o);
		return o;
	};
	Section.prototype.sids = function() {
		if (this.cls === 'NamedSection')
			return uci.get(this.map.config, this.section) ? [ this.section ] : [];
		return uci.sections(this.map.config, this.sectiontype).map(function(s) { return s['.name']; });
	};
	Section.prototype.render = function() {
		var self = this, conf = this.map.config, nodes = [ E('h3', {}, [ this.title ]) ];
		if (this.description)
			nodes.push(E('div', { 'class': 'cbi-section-descr' }, [ this.description ]));
		this.sids().forEach(function(sid) {
			var row = E('div', { 'class': 'cbi-section-node', 'id': 'cbi-' + conf + '-' + sid }, [
				self.anonymous ? null : E('h4', {}, [ sid ])
			].concat(self.options.map(function(o) {
				return E('div', { 'class': 'cbi-value', 'data-name': o.option }, [
					E('label', { 'class': 'cbi-value-title', 'for': o.id(sid) }, [ o.title ]), o.renderWidget(sid) ]);
			})));
			if (self.addremove)
				row.appendChild(E('button', { 'class': 'cbi-button cbi-button-remove', 'click': function() { self.map.change(function() { uci.remove(conf, sid); }); } }, [ 'Delete' ]));
			nodes.push(row);
		});
		if (this.addremove) {
			var name = this.anonymous ? null : E('input', { 'type': 'text', 'class': 'cbi-section-create-name' });
			nodes.push(E('div', { 'class': 'cbi-section-create' }, [ name, E('button', { 'class': 'cbi-button cbi-button-add', 'click': function() {
				if (name && !/^[A-Za-z0-9_-]+$/.test(name.value))
					return;
				self.map.change(function() { uci.add(conf, self.sectiontype, name ? name.value : null); });
			} }, [ 'Add' ]) ]));
		}
		return E('div', { 'class': 'cbi-section', 'id': 'cbi-' + conf + '-' + this.sectiontype }, nodes);
	};
	Section.prototype.parse = function() {
		var self = this;
		this.sids().forEach(function(sid) { self.options.forEach(function(o) { o.parse(sid); }); });
	};

	function FormMap(config, title, descr) { this.config = config; this.title = title; this.description = descr; this.sections = []; }
	FormMap.prototype.section = function(cls) {
		var s = new Section(cls.kind, this, Array.prototype.slice.call(arguments, 1));
		this.sections.push(s);
		return s;
	};
	FormMap.prototype.draw = function() {
		return E('div', { 'class': 'cbi-map', 'id': 'cbi-' + this.config }, [
			E('h2', {}, [ this.title ]), E('div', { 'class': 'cbi-map-descr' }, [ this.description ])
		].concat(this.sections.map(function(s) { return s.render(); })));
	};
	FormMap.prototype.render = function() {
		var self = this;
		return uci.load(this.config).then(function() { return self.node = self.draw(); });
	};
	// change keeps what was typed, changes the sections and redraws, as
	// LuCI's add and remove buttons do.
	FormMap.prototype.change = function(f) {
		this.sections.forEach(function(s) { s.parse(); });
		f();
		var fresh = this.draw();
		this.node.replaceWith(fresh);
		this.node = fresh;
	};
	FormMap.prototype.parse = function() {
		try {
			this.sections.forEach(function(s) { s.parse(); });
			return Promise.resolve();
		} catch (e) {
			return Promise.reject(e);
		}
	};
	FormMap.prototype.save = function() {
		var self = this;
		return this.parse().then(uci.save);
	};

	var form = { Map: FormMap };
	[ 'NamedSection', 'TypedSection', 'GridSection', 'Value', 'ListValue', 'Flag', 'DynamicList' ].forEach(function(k) {
		form[k] = { kind: k };
	});
	modules.uci = uci;
	modules.form = form;

	// baseclass.extend makes a class whose instances have proto's members,
	// as LuCI's Class.extend does for what our module uses.
	modules.baseclass = { extend: function(proto) {
		var C = function() {};
		C.prototype = proto;
		C.isHarnessClass = true;
		return C;
	} };

	// compile runs a module's or a view's source as LuCI's loader does: each
	// 'require NAME' or 'require NAME as LOCAL' line names a module the
	// function body gets (as LOCAL, or the name's last part); a module that
	// is not built into the harness is fetched from /resources/ (dots are
	// directories) and must yield a class, which is instantiated once.
	function compile(src) {
		var deps = [], re = /^'require ([\w.]+)(?: as (\w+))?';$/mg, m;
		while ((m = re.exec(src)))
			deps.push({ name: m[1], local: m[2] || m[1].split('.').pop() });
		return Promise.all(deps.map(function(d) { return load(d.name); })).then(function(instances) {
			return Function.apply(null, deps.map(function(d) { return d.local; }).concat([src])).apply(null, instances);
		});
	}

	function load(name) {
		if (modules[name])
			return Promise.resolve(modules[name]);
		if (name.indexOf('.') < 0)
			return Promise.reject(new Error('the harness has no module ' + name));
		return fetch('/resources/' + name.replace(/\./g, '/') + '.js').then(function(r) {
			if (!r.ok)
				throw new Error('no module ' + name + ' (HTTP ' + r.status + ')');
			return r.text();
		}).then(compile).then(function(cls) {
			if (typeof cls !== 'function' || !cls.isHarnessClass)
				throw new TypeError('"' + name + '" factory yields invalid constructor');
			return (modules[name] = new cls());
		});
	}

	// harnessRun loads a view as LuCI's loader does and renders it.
	window.harnessRun = function(url, session) {
		window.harnessSession = session;
		L.env.sessionid = session;
		return fetch(url).then(function(r) { return r.text(); }).then(compile).then(function(view) {
			return Promise.resolve(view.load()).then(function(data) {
				return view.render(data);
			}).then(function(node) {
				document.getElementById('view').appendChild(node);
				// LuCI's footer, where a view keeps its save handlers.
				if (typeof view.handleSaveApply === 'function')
					document.getElementById('view').appendChild(E('div', { 'class': 'cbi-page-actions' }, [
						E('button', { 'class': 'cbi-button cbi-button-apply', 'click': modules.ui.createHandlerFn(view, 'handleSaveApply') }, [ 'Save & Apply' ]),
						E('button', { 'class': 'cbi-button cbi-button-save', 'click': modules.ui.createHandlerFn(view, 'handleSave') }, [ 'Save' ])
					]));
				window.harnessView = view;
				return true;
			});
		});
	};

	window.harnessPoll = function() {
		return Promise.all(window.harnessPollers.map(function(fn) { return fn(); })).then(function() { return true; });
	};
})();
