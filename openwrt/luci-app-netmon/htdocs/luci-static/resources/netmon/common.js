'use strict';
'require baseclass';

// What the netmon views share, as luci-app-statistics' views share
// statistics/rrdtool.js: the agent's path, values from the agent as text,
// byte counts as people read them.
return baseclass.extend({
	agent: '/usr/sbin/netmon-agent',

	// txt makes a value from the agent a text node, never markup: a device
	// may name itself <svg/onload=...>, and it shows as those characters.
	txt: function(v) {
		return document.createTextNode(v == null ? '' : String(v));
	},

	// bytes writes a byte count in binary units.
	bytes: function(n) {
		n = +n || 0;
		return n < 1024 ? '%d B'.format(Math.round(n)) : '%1024.2mB'.format(n);
	}
});
