// A stand-in for the parts of LuCI that our views use, written from LuCI's
// documented behaviour so that the views, their ACL and the agent's JSON
// can be tested together in a browser without a router:
//  - E(tag, attrs, children) as LuCI's dom.create: a string child is set as
//    innerHTML (markup!), array items that are not nodes become text nodes;
//  - String.prototype.format with %s %d %f %h %q %m and %%;
//  - the modules view, fs (exec_direct through /cgi-bin/cgi-exec, exec
//    through ubus file exec, which the test serves and checks against the
//    ACL), request (post, for cgi-upload), poll and ui.
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
			}
		}
	};

	// harnessRun loads a view as LuCI's loader does: the 'require' lines name
	// the modules the function body gets, and it returns the view.
	window.harnessRun = function(url, session) {
		window.harnessSession = session;
		L.env.sessionid = session;
		return fetch(url).then(function(r) { return r.text(); }).then(function(src) {
			var names = [], re = /^'require ([\w.]+)';$/mg, m;
			while ((m = re.exec(src)))
				names.push(m[1]);
			var view = Function.apply(null, names.concat([src])).apply(null, names.map(function(n) {
				if (!modules[n])
					throw new Error('the harness has no module ' + n);
				return modules[n];
			}));
			return Promise.resolve(view.load()).then(function(data) {
				return view.render(data);
			}).then(function(node) {
				document.getElementById('view').appendChild(node);
				window.harnessView = view;
				return true;
			});
		});
	};

	window.harnessPoll = function() {
		return Promise.all(window.harnessPollers.map(function(fn) { return fn(); })).then(function() { return true; });
	};
})();
