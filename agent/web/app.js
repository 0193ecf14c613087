// netmon-agent's page: the host table, meters and blocks, redrawn every
// sampling interval from the JSON API; a host's or meter's history as SVG.
// Everything from the router is set as text, never as markup: host names
// are chosen by the devices themselves.
"use strict";

const $ = (id) => document.getElementById(id);
const tokenKey = "netmon-token";
let interval = 5;
let selected = null; // {kind: "host"|"meter", key, title}
let timer = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

function bytes(n) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(n < 10 ? 2 : 1) : n) + " " + u[i];
}

function rate(bps) {
  const bits = bps * 8;
  if (bits < 1e3) return bits.toFixed(0) + " bit/s";
  if (bits < 1e6) return (bits / 1e3).toFixed(1) + " kbit/s";
  if (bits < 1e9) return (bits / 1e6).toFixed(1) + " Mbit/s";
  return (bits / 1e9).toFixed(2) + " Gbit/s";
}

function when(t) {
  return t ? new Date(t).toLocaleString() : "";
}

async function api(path, body) {
  const headers = {};
  const token = localStorage.getItem(tokenKey);
  if (token) headers["Authorization"] = "Bearer " + token;
  const opts = { headers, cache: "no-store" };
  if (body !== undefined) {
    opts.method = "POST";
    headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch(path, opts);
  const iv = parseFloat(resp.headers.get("X-Netmon-Interval"));
  if (iv > 0) interval = Math.min(Math.max(iv, 1), 60);
  let data = null;
  try { data = await resp.json(); } catch (e) { /* not JSON */ }
  if (!resp.ok) {
    const err = new Error((data && data.error) || resp.status + " " + resp.statusText);
    err.status = resp.status;
    throw err;
  }
  return data;
}

function showError(err) {
  const box = $("error");
  if (!err) { box.hidden = true; return; }
  box.textContent = err.message;
  box.hidden = false;
  if (err.status === 401 || err.status === 403) $("login").hidden = false;
}

function renderHosts(r) {
  const tbody = $("hosts").tBodies[0];
  tbody.replaceChildren();
  for (const h of r.hosts) {
    const name = h.name || h.mac;
    const button = (cls, label, f) => el("button", { class: cls, "data-host": h.mac, onclick: (e) => { e.stopPropagation(); f(); } }, label);
    const actions = [];
    if (h.blocked) actions.push(button("unblock", "Unblock", () => change("/api/unblock", { host: h.mac })));
    else actions.push(button("block", "Block", () => block(h.mac)));
    if (h.throttled) actions.push(button("unthrottle", "Unthrottle", () => change("/api/unthrottle", { host: h.mac })));
    else if (!h.blocked) actions.push(button("throttle", "Throttle", () => throttle(h.mac)));
    const state = h.blocked ? "blocked" : h.throttled ? "throttled" : "";
    const tr = el("tr", { "data-mac": h.mac, class: state, title: h.throttled ? "throttled to " + bits(h.throttle_rate) + " down, " + bits(h.throttle_rate_up) + " up" : "" },
      el("td", {}, name),
      el("td", { class: "addr" }, (h.addresses || []).join(" ")),
      el("td", { class: "n dl-rate" }, rate(h.download_rate)),
      el("td", { class: "n ul-rate" }, rate(h.upload_rate)),
      el("td", { class: "n" }, bytes(h.today_download_bytes + h.today_upload_bytes)),
      el("td", { class: "n" }, bytes(h.month_download_bytes + h.month_upload_bytes)),
      el("td", { class: "n" }, h.quota_percent == null ? "" : h.quota_percent.toFixed(0) + " %"),
      el("td", { class: "n" }, ...(h.mac === "unattributed" ? [] : actions)));
    tr.onclick = () => select({ kind: "host", key: h.mac, title: name });
    tbody.append(tr);
  }
}

function block(mac) {
  change("/api/block", { host: mac, for: $("block-for").value, reason: "blocked from the page" });
}

function throttle(mac) {
  change("/api/throttle", { host: mac, rate: $("throttle-rate").value, for: $("block-for").value, reason: "throttled from the page" });
}

// bits renders a throttle's rate (bits per second) as it is written.
function bits(bps) {
  for (const [unit, size] of [["gbit", 1e9], ["mbit", 1e6], ["kbit", 1e3]]) {
    if (bps >= size) return +(bps / size).toFixed(3) + " " + unit;
  }
  return bps + " bit";
}

function renderMeters(r) {
  const usage = {};
  for (const u of r.usage || []) usage[u.name] = u;
  const tbody = $("meters").tBodies[0];
  tbody.replaceChildren();
  for (const m of r.meters) {
    const u = usage[m.name] || {};
    const tr = el("tr", {},
      el("td", {}, m.name), el("td", {}, m.chain),
      el("td", { class: "n" }, bytes(u.today || 0)),
      el("td", { class: "n" }, bytes(u.month || 0)),
      el("td", { class: "n" }, bytes(m.bytes)),
      el("td", {}, when(m.since)));
    tr.onclick = () => select({ kind: "meter", key: m.name, title: "Meter " + m.name });
    tbody.append(tr);
  }
}

function renderBlocks(r) {
  const tbody = $("blocks").tBodies[0];
  tbody.replaceChildren();
  for (const b of r.blocks) {
    const lift = b.rate
      ? el("button", { class: "unthrottle", onclick: () => change("/api/unthrottle", { host: b.target }) }, "Unthrottle")
      : el("button", { class: "unblock", onclick: () => change("/api/unblock", { host: b.target }) }, "Unblock");
    tbody.append(el("tr", { "data-target": b.target },
      el("td", {}, b.name || b.target),
      el("td", { class: "rate" }, b.rate ? bits(b.rate) + " / " + bits(b.rate_up) : "blocked"),
      el("td", {}, b.until ? when(b.until) : "until lifted"),
      el("td", {}, b.reason || ""),
      el("td", { class: "n" }, lift)));
  }
  if (!r.blocks.length) tbody.append(el("tr", {}, el("td", { colSpan: 5, class: "addr" }, "none")));
}

async function change(path, body) {
  try {
    await api(path, body);
    showError(null);
  } catch (err) {
    showError(err);
  }
  refresh();
}

// chart draws history rows as stacked download/upload bars (or one
// meter's bytes), one bar per slot of the last n hours or days, so a gap is
// a gap.
function chart(box, rows, meter, unit, n) {
  const W = 480, H = 160, pad = 40;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  const now = new Date();
  const first = unit === "hour"
    ? new Date(now.getFullYear(), now.getMonth(), now.getDate(), now.getHours() - n + 1)
    : new Date(now.getFullYear(), now.getMonth(), now.getDate() - n + 1);
  const slotOf = (d) => unit === "hour"
    ? Math.round((d - first) / 3600e3)
    : Math.round((new Date(d.getFullYear(), d.getMonth(), d.getDate()) - first) / 86400e3);
  const slots = Array.from({ length: n }, () => [0, 0]);
  for (const r of rows) {
    const i = slotOf(new Date(r.start));
    if (i < 0 || i >= n) continue;
    const v = meter ? [(r.meters || {})[meter] || 0, 0] : [r.download_bytes, r.upload_bytes];
    slots[i][0] += v[0]; slots[i][1] += v[1];
  }
  const label = (i) => {
    const d = unit === "hour"
      ? new Date(first.getFullYear(), first.getMonth(), first.getDate(), first.getHours() + i)
      : new Date(first.getFullYear(), first.getMonth(), first.getDate() + i);
    return unit === "hour" ? d.getHours() + ":00" : d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  };
  const max = Math.max(1, ...slots.map((s) => s[0] + s[1]));
  const bw = (W - pad) / n;
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.append(e);
    return e;
  };
  add("line", { x1: pad, y1: H - 14, x2: W, y2: H - 14, class: "axis" });
  add("text", { x: 0, y: 10 }, bytes(max));
  slots.forEach(([dl, ul], i) => {
    let y = H - 14;
    for (const [v, cls, what] of [[dl, "dl", meter ? "" : "download "], [ul, "ul", "upload "]]) {
      const h = (v / max) * (H - 30);
      if (h <= 0) continue;
      y -= h;
      const rect = add("rect", { x: pad + i * bw + 1, y, width: Math.max(bw - 2, 1), height: h, class: cls });
      const t = document.createElementNS(ns, "title");
      t.textContent = `${label(i)}: ${what}${bytes(v)}`;
      rect.append(t);
    }
    if (i % Math.ceil(n / 6) === 0) add("text", { x: pad + i * bw, y: H - 2 }, label(i));
  });
  box.replaceChildren(svg);
}

async function select(s) {
  selected = s;
  $("detail").hidden = false;
  $("detail-title").textContent = s.title;
  const q = (res, limit) => `/api/history?resolution=${res}&limit=${limit}&${s.kind}=${encodeURIComponent(s.key)}`;
  const meter = s.kind === "meter" ? s.key : null;
  try {
    const [hours, days, services] = await Promise.all([api(q("hour", 24)), api(q("day", 30)),
      s.kind === "host" ? api("/api/services") : null]);
    chart($("chart-hours"), hours.rows, meter, "hour", 24);
    chart($("chart-days"), days.rows, meter, "day", 30);
    renderServices(services, s.key);
  } catch (err) {
    showError(err);
  }
}

// renderServices shows a host's usage by service, other last; nothing for
// a meter.
function renderServices(r, mac) {
  const table = $("services");
  const host = r && r.hosts.find((h) => h.mac === mac);
  table.hidden = !host;
  const tbody = table.tBodies[0];
  tbody.replaceChildren();
  for (const x of host ? host.services : []) {
    tbody.append(el("tr", { "data-service": x.name },
      el("td", {}, x.name),
      el("td", { class: "n" }, bytes(x.download_bytes)),
      el("td", { class: "n" }, bytes(x.upload_bytes)),
      el("td", { class: "n" }, bytes(x.today_download_bytes + x.today_upload_bytes)),
      el("td", { class: "n" }, bytes(x.month_download_bytes + x.month_upload_bytes))));
  }
}

async function refresh() {
  clearTimeout(timer);
  try {
    const [hosts, meters, blocks] = await Promise.all([api("/api/hosts"), api("/api/meters"), api("/api/blocks")]);
    renderHosts(hosts);
    renderMeters(meters);
    renderBlocks(blocks);
    $("status").textContent = hosts.last_sample ? "last sample " + when(hosts.last_sample) : "no sample yet";
    $("login").hidden = true;
    if (!$("error").dataset.sticky) showError(null);
  } catch (err) {
    showError(err);
  }
  timer = setTimeout(refresh, interval * 1000);
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  localStorage.setItem(tokenKey, $("token").value.trim());
  $("token").value = "";
  refresh();
});

refresh();
