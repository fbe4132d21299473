/* The Gatehouse dashboard: asks GET /stats every two seconds and draws it. Every figure is put
 * in as text (never as markup), since route names, client keys and errors come from outside.
 * When the gateway wants admin.token, the browser asked for it before this script could load
 * (HTTP Basic, the token as the password) and sends it again with each request below: the
 * script never sees it. URLs are built on location.origin, since fetch() refuses one that
 * carries credentials, as the page's own address may. A change (lifting a ban) carries
 * X-Gatehouse-Dashboard, which another site's page cannot send without the listener's leave. */
'use strict';

const REFRESH_MS = 2000;
const HISTORY = 150; /* points on the chart: five minutes at one every two seconds */
const points = []; /* {req, ref}: the rates of each refresh, oldest first */
let timer = null;

const $ = (id) => document.getElementById(id);

function adminFetch(path, options) {
  const headers = { 'X-Gatehouse-Dashboard': '1' };
  return fetch(new URL(path, location.origin), { cache: 'no-store', headers, ...options });
}

function signedOut() {
  showError('the admin token was refused (changed by a reload?): open the page again to sign in');
  $('state').textContent = 'signed out';
  $('state').className = 'badge warn';
}

function fmtRate(x) {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function fmtMs(ms) {
  if (ms >= 1000) return (ms / 1000).toFixed(2) + ' s';
  if (ms >= 10) return ms.toFixed(0) + ' ms';
  return ms.toFixed(2) + ' ms';
}

function fmtCount(n) {
  return Number(n).toLocaleString('en-US');
}

function fmtAge(s) {
  if (s === null || s === undefined) return 'never';
  if (s < 120) return s.toFixed(0) + ' s ago';
  if (s < 7200) return (s / 60).toFixed(0) + ' min ago';
  return (s / 3600).toFixed(1) + ' h ago';
}

function fmtDuration(s) {
  if (s < 120) return Math.max(0, s).toFixed(0) + ' s';
  if (s < 7200) return (s / 60).toFixed(0) + ' min';
  return (s / 3600).toFixed(1) + ' h';
}

/* A table cell: text, and a class (num, ok, warn, bad...). */
function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function fill(id, rows, columns, emptyText) {
  const body = $(id).tBodies[0];
  const fresh = document.createElement('tbody');
  for (const row of rows) {
    const tr = document.createElement('tr');
    for (const c of columns(row)) tr.appendChild(c);
    fresh.appendChild(tr);
  }
  if (!rows.length) {
    const tr = document.createElement('tr');
    const td = cell(emptyText, 'empty');
    td.colSpan = $(id).tHead.rows[0].cells.length;
    tr.appendChild(td);
    fresh.appendChild(tr);
  }
  body.replaceWith(fresh);
}

async function lift(key, button) {
  if (!confirm('Lift the ban on ' + key + '?')) return;
  button.disabled = true;
  try {
    const r = await adminFetch('/bans/' + encodeURIComponent(key), { method: 'DELETE' });
    if (r.status === 401) signedOut();
    else if (!r.ok) showError('lifting ' + key + ': HTTP ' + r.status);
  } catch (e) {
    showError('lifting ' + key + ': ' + e.message);
  }
  refresh();
}

function liftButton(key) {
  const td = document.createElement('td');
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = 'lift';
  b.addEventListener('click', () => lift(key, b));
  td.appendChild(b);
  return td;
}

function healthClass(e) {
  if (e.health === 'down') return 'bad';
  if (e.ejected) return 'warn';
  return e.health === 'up' ? 'ok' : '';
}

function drawChart() {
  const svg = $('chart');
  const ns = 'http://www.w3.org/2000/svg';
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  if (points.length < 2) return;
  const top = Math.max(1, ...points.map((p) => Math.max(p.req, p.ref)));
  const x = (i) => (i * 600) / (HISTORY - 1);
  const y = (v) => 78 - (v / top) * 74;
  const off = HISTORY - points.length;
  for (const [field, cls] of [['req', 'requests'], ['ref', 'refusals']]) {
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('class', cls);
    line.setAttribute('points', points.map((p, i) => x(i + off) + ',' + y(p[field])).join(' '));
    svg.appendChild(line);
  }
}

function render(s) {
  $('state').textContent = s.draining ? 'draining' : s.ready ? 'ready' : 'not ready';
  $('state').className = 'badge ' + (s.draining ? 'warn' : s.ready ? 'ok' : 'bad');
  $('version').textContent = 'v' + s.version + ' · pid ' + s.pid + ' · up ' + fmtDuration(s.uptime_s) +
    ' · config ' + s.config_hash.slice(0, 12);
  $('updated').textContent = 'updated ' + new Date(s.now * 1000).toLocaleTimeString([], { hour12: false }) +
    ' · rates over ' + s.window_s.toFixed(0) + ' s';
  $('requests-rate').textContent = fmtRate(s.requests.per_second);
  $('requests-total').textContent = fmtCount(s.requests.total) + ' total';
  $('refusals-rate').textContent = fmtRate(s.refusals.per_second);
  $('refusals-rate').className = 'big' + (s.refusals.per_second > 0 ? ' bad' : '');
  $('refusals-total').textContent = fmtCount(s.refusals.total) + ' total';
  for (const q of ['p50', 'p90', 'p99', 'p999'])
    $(q).textContent = s.latency_ms.count ? fmtMs(s.latency_ms[q]) : '–';
  points.push({ req: s.requests.per_second, ref: s.refusals.per_second });
  if (points.length > HISTORY) points.shift();
  drawChart();
  const reasons = s.refusals.by_reason.slice().sort((a, b) => b.per_second - a.per_second || b.total - a.total);
  fill('refusals', reasons, (r) => [cell(r.reason), cell(String(r.status)),
    cell(fmtRate(r.per_second), 'num' + (r.per_second > 0 ? ' bad' : '')), cell(fmtCount(r.total), 'num')],
    'no refusal since start');
  fill('bans', s.bans, (b) => [cell(b.key), cell(b.detector || ''), cell(b.reason || '', 'wrap'),
    cell(b.until ? fmtDuration(b.until - s.now) : '', 'num'), liftButton(b.key)], 'no active ban');
  fill('routes', s.top_routes, (r) => [cell(r.route), cell(fmtCount(r.requests), 'num'),
    cell(fmtCount(r.client_errors), 'num'), cell(fmtCount(r.server_errors), 'num' + (r.server_errors ? ' bad' : ''))],
    'no request yet');
  fill('clients', s.top_clients, (c) => [cell(c.client), cell(fmtCount(c.requests), 'num'),
    cell(fmtCount(c.refused), 'num' + (c.refused ? ' warn' : ''))], 'no request yet');
  const endpoints = [];
  for (const u of s.upstreams)
    for (const e of u.endpoints) endpoints.push({ u, e });
  fill('upstreams', endpoints, ({ u, e }) => [cell(u.name), cell(e.endpoint),
    cell(e.health + (e.ejected ? ', ejected' : '') + (u.health_checks ? '' : ' (not checked)'), healthClass(e)),
    cell(String(e.in_flight), 'num')], 'no upstream');
  fill('certificates', s.certificates, (c) => [cell(c.listener), cell(c.certificate),
    cell(c.days_left.toFixed(1), 'num ' + (c.days_left < 7 ? 'bad' : c.days_left < 21 ? 'warn' : 'ok'))],
    'no TLS listener');
  fill('jwks', s.jwks, (k) => [cell(k.provider), cell(String(k.keys), 'num' + (k.keys ? '' : ' bad')),
    cell(fmtAge(k.age_s), 'num' + (k.last_error ? ' warn' : '')), cell(k.last_error || '', 'wrap bad')],
    'no remote key set');
}

function showError(text) {
  $('error').hidden = !text;
  $('error').textContent = text || '';
}

async function refresh() {
  clearTimeout(timer);
  try {
    const r = await adminFetch('/stats');
    if (r.status === 401) {
      signedOut();
      return; /* no polling: the browser has no good token to send */
    }
    if (!r.ok) throw new Error('HTTP ' + r.status);
    render(await r.json());
    showError('');
  } catch (e) {
    showError('cannot read /stats: ' + e.message);
    $('state').textContent = 'unreachable';
    $('state').className = 'badge bad';
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

document.addEventListener('DOMContentLoaded', refresh);
