// The dashboard: plain JavaScript (no build step) against the REST API with the session cookie.
// Views follow the URL hash (#cluster, #streams, #stream/ID, #services, #policy[/SCOPE], #import,
// #join, #troubleshoot[/NODE], #audit, #upgrade, #accounts). The cluster and the streams arrive every
// second from /api/v1/events (server-sent events); their tables are updated in place, so a button
// under the pointer survives a refresh. Controls the user's role cannot use are hidden; the
// server's 403 is what counts, and its message is shown if one gets through.
// The served files are fixed (node/http/routes/ui.ts): this one file holds every view, in sections.
'use strict';

// ---- pure helpers: no DOM, no clock (time comes in as an argument) ------------------------------

const hourMs = 3_600_000;

/** The placement policy's fields, in the order the API documents them, with what each does. */
const policyFields = [
  { name: 'strategy', kind: 'choice', choices: ['spread', 'binpack'], what: 'spread: the emptiest node first; binpack: fill a node before the next' },
  { name: 'groups', kind: 'groups', what: 'only nodes in these groups (any: no restriction)' },
  { name: 'cpuCeilPct', kind: 'number', what: 'no stream goes where it would push cpu above this %' },
  { name: 'memCeilPct', kind: 'number', what: 'no stream goes where it would push memory above this %' },
  { name: 'maxStreamsPerNode', kind: 'number', what: 'at most this many streams on a node (0: no limit)' },
  { name: 'stickiness', kind: 'number', what: 'a running stream moves only for this much more headroom (0-1)' },
  { name: 'rebalanceMovesPerMin', kind: 'number', what: 'moves the rebalancer may make per minute' },
  { name: 'hotStandby', kind: 'boolean', what: 'a second worker runs the stream too, ready to take over' },
];

/** Every policy field's effective value and the label of the level it comes from: the last of
 *  `levels` (built-in first, then cluster, service, stream) that sets it. */
function resolvePolicyLevels(levels) {
  const out = {};
  for (const { name } of policyFields) {
    out[name] = { value: undefined, from: null };
    for (const level of levels) {
      const value = level.values?.[name];
      if (value !== undefined) out[name] = { value, from: level.label };
    }
  }
  return out;
}

function policyValueText(value) {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.length === 0 ? 'any' : value.join(', ');
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

/** An editor input's text as a policy value: undefined inherits; throws saying what is wrong. */
function parsePolicyInput(field, raw) {
  const value = raw.trim();
  if (value === '') return undefined;
  if (field.kind === 'choice') return value;
  if (field.kind === 'boolean') return value === 'true';
  if (field.kind === 'groups') return value.toLowerCase() === 'any' ? [] : value.split(/[\s,]+/).filter((g) => g !== '');
  const number = Number(value);
  if (!Number.isFinite(number)) throw new Error(`${field.name} must be a number, not "${value}"`);
  return number;
}

/** A dry run's answer (POST /api/v1/placement/plan) as lines an operator reads. */
function planText(plan, nameOf) {
  const name = (id) => (id === null || id === undefined ? '-' : nameOf(id));
  const lines = plan.moves.map((m) => `${m.streamId}: ${m.kind} ${name(m.from)} -> ${name(m.to)} (${m.why})`);
  if (lines.length === 0) lines.push('Nothing would move.');
  if (plan.unplaced > 0) lines.push(`${plan.unplaced} stream(s) would have no node.`);
  return lines.join('\n');
}

/** A word for a shell: as is when it is plainly safe, single-quoted otherwise. */
function shellWord(value) {
  return /^[A-Za-z0-9._/:=@%+-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

/** The exact `ottmesh join` a new server runs; `program` is how ottmesh is invoked there. */
function joinCommand({ program, token, dataDir, name, host }) {
  const words = [program, 'join', token, '--data-dir', shellWord(dataDir)];
  if (name !== '') words.push('--name', shellWord(name));
  words.push('--host', host === '' ? "<the new server's address>" : shellWord(host));
  return words.join(' ');
}

function durationText(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, '0')} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor(s / 3600) % 24} h`;
}

function rateText(bytesPerS) {
  if (!Number.isFinite(bytesPerS)) return '';
  const bits = bytesPerS * 8;
  if (bits >= 1e9) return `${(bits / 1e9).toFixed(1)} Gb/s`;
  if (bits >= 1e6) return `${(bits / 1e6).toFixed(1)} Mb/s`;
  return `${Math.round(bits / 1e3)} kb/s`;
}

const pctText = (value) => (Number.isFinite(value) ? `${value.toFixed(0)} %` : '');
const text = (value) => (value === null || value === undefined ? '' : String(value));

// ---- DOM and API helpers -----------------------------------------------------------------------

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** An element with properties (`on*` are listeners, `dataset` is merged) and children. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false).map((c) => (c instanceof Node ? c : String(c))));
  return node;
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** One API call with the session cookie; the JSON answer, or an ApiError with the server's
 *  message. A 401 (session over) shows the login. */
async function api(method, path, body, contentType) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['content-type'] = contentType ?? 'application/json';
    init.body = contentType === undefined ? JSON.stringify(body) : body;
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, `this node did not answer (${err.message}): is it up?`);
  }
  if (res.status === 401 && path !== '/api/v1/login') {
    showLogin();
    throw new ApiError(401, 'the session ended: log in again');
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    const message = data?.message ?? `HTTP ${res.status}`;
    throw new ApiError(res.status, res.status === 403 ? `not allowed for ${session.role}: ${message}` : message);
  }
  return data;
}

/** `?a=1&b=2` from the non-empty values of `params`. */
function query(params) {
  const q = new window.URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== '' && value !== undefined && value !== null) q.set(key, String(value));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

let flashTimer = null;

/** A short message at the top of the page (errors stay until the next one). */
function flash(message, isError = false) {
  const box = $('#flash');
  box.textContent = message;
  box.className = isError ? 'error' : '';
  box.hidden = false;
  clearTimeout(flashTimer);
  if (!isError) flashTimer = setTimeout(() => (box.hidden = true), 5000);
}

$('#flash').addEventListener('click', () => ($('#flash').hidden = true));

/** Runs an action: `button` is disabled meanwhile; a failure is shown in `out` (or the banner). */
async function attempt(action, { button = null, out = null } = {}) {
  if (button !== null) button.disabled = true;
  try {
    return await action();
  } catch (err) {
    if (out !== null) {
      out.textContent = err.message;
      out.hidden = false;
    } else {
      flash(err.message, true);
    }
    return undefined;
  } finally {
    if (button !== null) button.disabled = false;
  }
}

/**
 * Keeps one <tr> per item in `tbody` (keyed by `key(item)`) and updates its cells in place.
 * A column's `cell(item, td)` returns a string or a node (replacing the cell's content when it
 * differs), or undefined when the column manages its cell itself (controls built once).
 * `empty` is shown in one cell when there are no items; `decorate(tr, item)` sets row attributes.
 */
function syncRows(tbody, items, { key, columns, empty = '', decorate = null }) {
  const existing = new Map([...tbody.rows].map((tr) => [tr.dataset.key, tr]));
  if (items.length === 0 && empty !== '') {
    tbody.replaceChildren(el('tr', { className: 'empty', dataset: { key: '' } }, el('td', { colSpan: columns.length }, empty)));
    return;
  }
  items.forEach((item, index) => {
    const k = String(key(item));
    let tr = existing.get(k);
    if (tr === undefined) tr = el('tr', { dataset: { key: k } }, columns.map((c) => el('td', { className: c.className ?? '', dataset: { label: c.label } })));
    existing.delete(k);
    tr.item = item;
    decorate?.(tr, item);
    columns.forEach((c, i) => fillCell(tr.cells[i], c.cell(item, tr.cells[i])));
    if (tbody.rows[index] !== tr) tbody.insertBefore(tr, tbody.rows[index] ?? null);
  });
  for (const tr of existing.values()) tr.remove();
}

function fillCell(td, value) {
  if (value === undefined) return;
  if (value instanceof Node) {
    if (td.childNodes.length !== 1 || !td.firstChild.isEqualNode(value)) td.replaceChildren(value);
  } else if (td.children.length > 0 || td.textContent !== text(value)) {
    td.textContent = text(value);
  }
}

/** A cell's controls, built once (`build(td)`), then brought up to date (`update(td, item)`). */
function controls(td, item, build, update) {
  if (td.firstChild === null) td.append(build(td));
  update(td, item);
  return undefined;
}

function badge(label, className = '') {
  return el('span', { className: `badge ${className}` }, label);
}

function statusSpan(status) {
  return el('span', { className: `status-${status}` }, status);
}

/** A confirmation panel in `box`: what will happen (`details`: a string or node), then the
 *  action's button and Cancel. `run` may throw: its message stays in the panel. */
function confirmIn(box, { title, details, confirmLabel, danger = false, run }) {
  const out = el('p', { className: 'error', hidden: true });
  const yes = el('button', { type: 'button', className: `confirm-yes${danger ? ' danger' : ''}` }, confirmLabel);
  yes.addEventListener('click', async () => {
    const ok = await attempt(async () => {
      await run();
      return true;
    }, { button: yes, out });
    if (ok === true) box.hidden = true;
  });
  box.className = `confirm${danger ? ' danger' : ''}`;
  box.replaceChildren(
    el('h3', {}, title),
    typeof details === 'string' ? el('pre', {}, details) : details,
    el('p', {}, yes, ' ', el('button', { type: 'button', className: 'confirm-no', onclick: () => (box.hidden = true) }, 'Cancel')),
    out,
  );
  box.hidden = false;
  box.scrollIntoView({ block: 'nearest' });
}

/** Fills every `select.node-select` with the nodes, keeping each one's choice. */
function fillNodeSelects() {
  const nodes = live.cluster?.nodes ?? [];
  for (const select of $$('select.node-select')) {
    const chosen = select.value;
    const wanted = nodes.map((n) => `${n.id}=${n.name}`).join('|');
    if (select.dataset.filled === wanted) continue;
    select.replaceChildren(...nodes.map((n) => el('option', { value: n.id }, `${n.name} (${n.state})`)));
    select.dataset.filled = wanted;
    if (nodes.some((n) => n.id === chosen)) select.value = chosen;
  }
}

let servicesCache = [];

async function loadServices() {
  servicesCache = await api('GET', '/api/v1/services');
  for (const select of $$('select.service-select')) {
    const chosen = select.value;
    select.replaceChildren(el('option', { value: '' }, '(none)'), ...servicesCache.map((s) => el('option', { value: s.id }, `${s.name} (${s.id})`)));
    select.value = servicesCache.some((s) => s.id === chosen) ? chosen : '';
  }
  return servicesCache;
}

/** PATCH /api/v1/streams/:id with just what changes (the rest stays as it is). */
function patchStream(config, change) {
  return api('PATCH', `/api/v1/streams/${encodeURIComponent(config.id)}`, change);
}

/** PATCH /api/v1/services/:id with just what changes. */
function patchService(service, change) {
  return api('PATCH', `/api/v1/services/${encodeURIComponent(service.id)}`, change);
}

// ---- session and roles -------------------------------------------------------------------------

const roleRank = { 'read-only': 0, operator: 1, admin: 2 };
const roles = Object.keys(roleRank);
const session = { user: '', role: 'read-only', via: '' };

/** Whether the user's role allows what needs `role` (an unknown role counts as read-only). */
function can(role) {
  return (roleRank[session.role] ?? 0) >= roleRank[role];
}

function applySession(me) {
  Object.assign(session, me);
  document.body.className = `role-${Object.hasOwn(roleRank, me.role) ? me.role : 'read-only'}`;
  $('#whoami').textContent = `${me.user} (${me.role})`;
  $('#whoami').hidden = false;
}

function showLogin() {
  stopTimers();
  events?.close();
  $('#nav').hidden = true;
  $('#live').hidden = true;
  $('#whoami').hidden = true;
  for (const view of $$('.view')) view.hidden = true;
  $('#login').hidden = false;
}

$('#login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  try {
    const me = await api('POST', '/api/v1/login', { username: form.get('username'), password: form.get('password') });
    $('#login-error').textContent = '';
    e.target.elements.password.value = '';
    // After a session ended mid-use, start afresh: controls were built for the previous role.
    if (started) {
      location.reload();
      return;
    }
    applySession(me);
    start();
  } catch (err) {
    $('#login-error').textContent = err.message;
  }
});

$('#logout').addEventListener('click', async () => {
  try {
    await api('POST', '/api/v1/logout');
  } catch (err) {
    // The cookie is cleared all the same; the message says whether the session still works elsewhere.
    window.alert(err.message);
  }
  location.hash = '';
  location.reload();
});

// ---- views and the router ----------------------------------------------------------------------

/** name -> {enter(arg), leave(), live()}: live() runs on every snapshot while the view shows. */
const views = {};
let current = { name: '', arg: '' };
const timers = new Set();

/** A timer that runs while the current view shows (stopped when the view is left). */
function every(ms, fn) {
  const id = setInterval(fn, ms);
  timers.add(id);
  return id;
}

function stopTimers() {
  for (const id of timers) clearInterval(id);
  timers.clear();
}

function route() {
  const [head, ...rest] = (location.hash.slice(1) || 'cluster').split('/');
  const name = Object.hasOwn(views, head) ? head : 'cluster';
  const arg = decodeURIComponent(rest.join('/'));
  if (current.name !== '') {
    stopTimers();
    views[current.name].leave?.();
  }
  current = { name, arg };
  $('#login').hidden = true;
  $('#nav').hidden = false;
  for (const view of $$('.view')) view.hidden = view.id !== name;
  for (const a of $$('#nav a')) a.classList.toggle('current', a.getAttribute('href') === `#${name === 'stream' ? 'streams' : name}`);
  views[name].enter?.(arg);
  if (live.cluster !== null) views[name].live?.();
}

window.addEventListener('hashchange', () => {
  if (!$('#nav').hidden) route();
});

// ---- live data: one snapshot of the cluster and the streams a second ----------------------------

const live = { cluster: null, streams: [], servedBy: null };
let events = null;

function nodeName(id) {
  return live.cluster?.nodes.find((n) => n.id === id)?.name ?? id;
}

/** `message` with every node id this page knows replaced by the node's name (the API's
 *  placement messages name nodes by their id). */
function withNodeNames(message) {
  let out = message;
  for (const n of live.cluster?.nodes ?? []) out = out.replaceAll(n.id, n.name);
  return out;
}

/** A node id that names no current node (a removed one), shortened for a table cell. */
function shortId(value) {
  return /^12D3Koo\w{30,}$/.test(value) ? `${value.slice(0, 10)}…${value.slice(-6)}` : value;
}

function setLive(on) {
  const dot = $('#live');
  dot.hidden = false;
  dot.classList.toggle('off', !on);
  dot.textContent = on ? 'live' : 'reconnecting';
}

function listen() {
  events?.close();
  events = new EventSource('/api/v1/events');
  events.addEventListener('open', () => setLive(true));
  events.addEventListener('snapshot', (e) => {
    const data = JSON.parse(e.data);
    live.cluster = data.cluster;
    live.streams = data.streams;
    setLive(true);
    fillNodeSelects();
    views[current.name]?.live?.();
  });
  events.addEventListener('error', () => {
    // The browser reconnects by itself; a 401 means the session ended.
    setLive(false);
    fetch('/api/v1/me', { credentials: 'same-origin' }).then((r) => {
      if (r.status === 401) showLogin();
    }, () => setLive(false));
  });
}

// ---- cluster: nodes with role, health, load charts; worker operations -------------------------

const histories = new Map();
let historiesAtMs = 0;
/** The node charts' refresh: the server samples every 10 s. */
const historyRefreshMs = 10_000;

async function refreshHistories() {
  const nodes = live.cluster?.nodes ?? [];
  historiesAtMs = Date.now();
  await Promise.all(nodes.map(async (n) => {
    try {
      histories.set(n.id, (await api('GET', `/api/v1/nodes/${encodeURIComponent(n.id)}/history`)).samples);
    } catch (err) {
      histories.set(n.id, { error: err.message });
    }
  }));
  views.cluster.live();
}

const svgNs = 'http://www.w3.org/2000/svg';

/** A sparkline of the last hour: one line per series, x by time (newest at the right edge; the
 *  width spans the samples there are, at most an hour), y from 0 to `maxValue`. */
function sparkline(samples, series, maxValue, label) {
  const width = 140;
  const height = 28;
  const svg = document.createElementNS(svgNs, 'svg');
  for (const [k, v] of Object.entries({ viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label })) svg.setAttribute(k, String(v));
  const title = document.createElementNS(svgNs, 'title');
  title.textContent = label;
  svg.append(title);
  if (samples.length < 2) return svg;
  const endMs = samples.at(-1).atMs;
  const shown = samples.filter((s) => s.atMs >= endMs - hourMs);
  const spanMs = Math.max(1, endMs - shown[0].atMs);
  for (const { field, color } of series) {
    const points = shown.map((s) => {
      const x = width - ((endMs - s.atMs) / spanMs) * width;
      const y = height - 1 - (Math.min(s[field], maxValue) / maxValue) * (height - 2);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    const line = document.createElementNS(svgNs, 'polyline');
    line.setAttribute('points', points.join(' '));
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', color);
    svg.append(line);
  }
  return svg;
}

function chartsOf(node) {
  const samples = histories.get(node.id);
  if (samples === undefined) return 'loading';
  if (!Array.isArray(samples)) return samples.error;
  const last = samples.at(-1);
  const netPeak = Math.max(1, ...samples.map((s) => Math.max(s.netRxBytesPerS, s.netTxBytesPerS)));
  const minutes = samples.length < 2 ? 0 : Math.min(60, Math.round((last.atMs - samples[0].atMs) / 60_000));
  return el('div', { className: 'charts' },
    sparkline(samples, [{ field: 'memPct', color: '#a7aaad' }, { field: 'cpuPct', color: '#2271b1' }], 100, `${node.name}: cpu and memory over ${minutes} min`),
    sparkline(samples, [{ field: 'netRxBytesPerS', color: '#00a32a' }, { field: 'netTxBytesPerS', color: '#d63638' }], netPeak, `${node.name}: network over ${minutes} min, peak ${rateText(netPeak)}`),
    el('small', { className: 'hint' }, samples.length < 2 ? 'no samples yet' : `last ${minutes < 1 ? 'minute' : `${minutes} min`}, net peak ${rateText(netPeak)}`),
  );
}

const nodeChanges = {
  drain: { change: { draining: true }, label: 'Drain', says: 'keeps its streams until each has started elsewhere (make-before-break), then gets no new work' },
  disable: { change: { enabled: false }, label: 'Disable', says: 'stays a member but gets no work: its streams move at once' },
  enable: { change: { enabled: true, draining: false }, label: 'Enable', says: 'takes work again (placement may move streams to it)' },
  remove: { change: { enabled: false }, label: 'Remove', says: 'leaves the cluster: its streams move at once and it can no longer connect; to come back it needs a new join token' },
};

/** A worker operation: first the dry run of what would move, then the change on confirmation. */
async function nodeOperation(node, action) {
  const op = nodeChanges[action];
  const box = $('#node-confirm');
  let plan;
  try {
    plan = withNodeNames(planText(await api('POST', '/api/v1/placement/plan', { nodes: { [node.id]: op.change } }), nodeName));
  } catch (err) {
    plan = `The dry run failed: ${err.message}`;
  }
  confirmIn(box, {
    title: `${op.label} ${node.name}?`,
    details: el('div', {}, el('p', {}, `${node.name} ${op.says}. What would move:`), el('pre', { className: 'plan' }, plan)),
    confirmLabel: `${op.label} ${node.name}`,
    danger: action === 'remove' || action === 'disable',
    run: async () => {
      if (action === 'remove') {
        await api('DELETE', `/api/v1/nodes/${encodeURIComponent(node.id)}`);
        flash(`${node.name} is being removed`);
      } else {
        await api('POST', `/api/v1/nodes/${encodeURIComponent(node.id)}/${action}`);
        flash(`${node.name}: ${action} done`);
      }
    },
  });
}

function nodeActions(td) {
  const button = (action, label, needs, className = '') => el('button', {
    type: 'button', className, dataset: { action, needs },
    onclick: () => attempt(() => nodeOperation(td.parentElement.item, action)),
  }, label);
  return el('span', { className: 'actions' },
    button('drain', 'Drain', 'operator'), button('enable', 'Enable', 'operator'), button('disable', 'Disable', 'operator'),
    button('remove', 'Remove', 'admin', 'danger'),
    el('button', { type: 'button', dataset: { action: 'log' }, onclick: () => (location.hash = `#troubleshoot/${encodeURIComponent(td.parentElement.item.id)}`) }, 'Log'),
  );
}

/** A commit as people quote it: 7 hex digits (and "-dirty" when it was). */
function shortCommit(commit) {
  return commit.replace(/^([0-9a-f]{7})[0-9a-f]+/, '$1');
}

/** A build as `version (commit)`; "-" when the node has not said yet (null). */
function buildText(version, commit) {
  if (version === null || version === undefined) return '-';
  return commit === null || commit === undefined ? version : `${version} (${shortCommit(commit)})`;
}

/** Whether node `n` runs another build than `leader` (both known): a rollout under way or
 *  stopped half-way, or a node installed with another version. */
function buildDiffers(n, leader) {
  return leader !== null && leader.version !== null && n.version !== null && (n.version !== leader.version || n.commit !== leader.commit);
}

function nodeVersionCell(n, leader) {
  const shown = buildText(n.version, n.commit);
  if (!buildDiffers(n, leader)) return el('span', { title: n.commit ?? '' }, shown);
  return el('span', { className: 'version-differs', title: `the leader runs ${buildText(leader.version, leader.commit)}` }, shown);
}

const nodeColumns = [
  { label: 'Node', cell: (n) => el('span', {}, n.name, n.id === live.cluster.leader?.id ? badge('leader', 'leader') : '', n.id === live.servedBy ? badge('this page') : '') },
  { label: 'Role', cell: (n) => n.role },
  { label: 'Health', cell: (n) => el('span', {}, el('span', { className: `state-${n.state}` }, n.state), n.enabled ? '' : badge('disabled', 'warn'), n.draining ? badge('draining', 'warn') : '') },
  { label: 'CPU', className: 'num', cell: (n) => pctText(n.cpuPct) },
  { label: 'Memory', className: 'num', cell: (n) => pctText(n.memPct) },
  { label: 'Network', className: 'num', cell: (n) => {
    const last = Array.isArray(histories.get(n.id)) ? histories.get(n.id).at(-1) : undefined;
    return last === undefined ? '' : `in ${rateText(last.netRxBytesPerS)}, out ${rateText(last.netTxBytesPerS)}`;
  } },
  { label: 'Streams', className: 'num', cell: (n) => n.streams },
  { label: 'Groups', cell: (n) => n.groups.join(', ') },
  { label: 'Version', cell: (n) => nodeVersionCell(n, live.cluster.nodes.find((x) => x.id === live.cluster.leader?.id) ?? null) },
  { label: 'Last hour', cell: (n, td) => {
    const samples = histories.get(n.id);
    const version = `${historiesAtMs}:${Array.isArray(samples) ? samples.length : 'x'}`;
    if (td.dataset.version === version) return undefined;
    td.dataset.version = version;
    td.replaceChildren(chartsOf(n));
    return undefined;
  } },
  { label: '', cell: (n, td) => controls(td, n, nodeActions, (cell, node) => {
    const show = { drain: node.enabled && !node.draining, enable: !node.enabled || node.draining, disable: node.enabled, remove: true, log: true };
    for (const b of $$('button', cell)) b.hidden = !show[b.dataset.action];
  }) },
];

views.cluster = {
  enter() {
    $('#node-confirm').hidden = true;
    if (live.cluster !== null) void refreshHistories();
    every(historyRefreshMs, () => void refreshHistories());
  },
  live() {
    const c = live.cluster;
    if (histories.size === 0 && Date.now() - historiesAtMs > historyRefreshMs) void refreshHistories();
    const alive = c.nodes.filter((n) => n.state === 'alive').length;
    const streams = live.streams;
    const running = streams.filter((s) => s.status === 'running').length;
    const card = (value, label, id) => el('div', { className: 'card', dataset: { card: id } }, el('b', {}, value), el('span', {}, label));
    const cards = [
      card(c.leader?.name ?? 'none', 'leader (main server)', 'leader'),
      card(String(c.term), 'term', 'term'),
      card(`${alive} / ${c.nodes.length}`, 'nodes alive', 'nodes'),
      card(`${running} / ${streams.length}`, 'streams running', 'streams'),
    ];
    const box = $('#cluster-cards');
    if (!box.firstChild || box.textContent !== cards.map((x) => x.textContent).join('')) box.replaceChildren(...cards);
    syncRows($('#nodes tbody'), c.nodes, { key: (n) => n.id, columns: nodeColumns, decorate: (tr, n) => (tr.dataset.name = n.name) });
  },
};

// ---- streams: the live list ----------------------------------------------------------------------

/** How long a running stream has run on its current worker (StreamView.sinceMs). */
function uptimeText(s, nowMs) {
  return s.status === 'running' && typeof s.sinceMs === 'number' ? durationText(nowMs - s.sinceMs) : '';
}

function streamStatus(s) {
  return s.config?.enabled === false ? 'stopped' : s.status;
}

const streamColumns = [
  { label: 'Stream', cell: (s) => el('a', { href: `#stream/${encodeURIComponent(s.id)}` }, s.name, ' ', el('small', {}, `(${s.id})`)) },
  { label: 'Status', cell: (s) => statusSpan(streamStatus(s)) },
  { label: 'Worker', cell: (s) => (s.nodeId === null ? '' : nodeName(s.nodeId) + (s.standbyNodeId === null ? '' : ` (next: ${nodeName(s.standbyNodeId)})`)) },
  { label: 'Uptime', className: 'num', cell: (s) => uptimeText(s, Date.now()) },
  { label: 'Bitrate', className: 'num', cell: (s) => (s.bitrateKbps === null ? '' : `${Math.round(s.bitrateKbps)} kb/s`) },
  { label: 'Restarts', className: 'num', cell: (s) => s.restarts },
  { label: 'Source in use', className: 'wrap', cell: (s) => s.source ?? '' },
];

views.streams = {
  enter() {
    void attempt(loadServices);
  },
  live() {
    const streams = live.streams;
    const filter = $('#stream-filter').value.trim().toLowerCase();
    const shown = filter === '' ? streams : streams.filter((s) => [s.id, s.name, streamStatus(s), s.nodeId === null ? '' : nodeName(s.nodeId)].join(' ').toLowerCase().includes(filter));
    const count = (status) => streams.filter((s) => streamStatus(s) === status).length;
    $('#stream-counts').textContent = `${streams.length} in all: ${count('running')} running, ${count('starting')} starting, ${count('failed')} failed, ${count('unplaced')} unplaced, ${count('stopped')} stopped`;
    syncRows($('#stream-table tbody'), shown, { key: (s) => s.id, columns: streamColumns, empty: streams.length === 0 ? 'No streams yet: add one below, or import an M3U playlist.' : 'No stream matches the filter.' });
  },
};

$('#stream-filter').addEventListener('input', () => views.streams.live());

$('#stream-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const button = $('button[type=submit]', e.target);
  await attempt(async () => {
    const created = await api('POST', '/api/v1/streams', {
      id: form.get('id'), name: form.get('name'), sources: [{ url: form.get('url') }], profile: 'copy',
      serviceId: form.get('serviceId') || null, policy: form.get('hotStandby') ? { hotStandby: true } : {},
    });
    $('#stream-error').textContent = '';
    e.target.reset();
    flash(`Added ${created.name} (${created.id}): placement picks its worker within seconds`);
  }, { button, out: $('#stream-error') });
});

// ---- one stream: preview, facts, why this node, policy, probe, ffmpeg log -------------------------

let player = null;
let shownStream = null;
/** How often the followed logs are read again. */
const logRefreshMs = 3_000;

function stopPlayer() {
  if (player !== null) player.destroy();
  player = null;
  const video = $('#preview');
  video.removeAttribute('src');
  video.load();
}

/** hls.js on the stable URL; it recovers from network and media errors as a player would. */
function startPlayer(url) {
  stopPlayer();
  const video = $('#preview');
  if (window.Hls && Hls.isSupported()) {
    player = new Hls();
    player.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal || player === null) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) player.recoverMediaError();
      else setTimeout(() => player?.startLoad(), 1000);
    });
    player.loadSource(url);
    player.attachMedia(video);
  } else {
    video.src = url;
  }
  video.play().catch((err) => console.info(`the preview did not start by itself (${err.message}): press play`));
}

function fact(label, value) {
  return [el('dt', {}, label), el('dd', {}, value)];
}

function renderStreamFacts(s) {
  const c = s.config;
  const profile = c.profile === 'copy' ? 'copy (no transcoding)' : `${c.profile.height}p at ${c.profile.videoKbps} kb/s`;
  const facts = [
    ...fact('Status', statusSpan(streamStatus(s))),
    ...fact('Worker', s.nodeId === null ? 'none' : nodeName(s.nodeId)),
    ...fact(s.standbyNodeId === null ? 'Standby' : 'Next / standby', s.standbyNodeId === null ? 'none' : nodeName(s.standbyNodeId)),
    ...fact('Uptime', uptimeText(s, Date.now()) || '-'),
    ...fact('Bitrate', s.bitrateKbps === null ? '-' : `${Math.round(s.bitrateKbps)} kb/s`),
    ...fact('Restarts', String(s.restarts)),
    ...fact('Source in use', s.source ?? '-'),
    ...fact('Sources', c.sources.map((x) => x.url).join(' | ')),
    ...fact('Service', c.serviceId ?? '(none)'),
    ...fact('Profile', profile),
    ...fact('Epoch', s.epoch === null ? '-' : String(s.epoch)),
  ];
  const box = $('#detail-facts');
  const wanted = facts.map((f) => f.textContent).join('\n');
  if (box.dataset.shown !== wanted) {
    box.replaceChildren(...facts);
    box.dataset.shown = wanted;
  }
  $('#stream-toggle').textContent = c.enabled ? 'Stop (disable)' : 'Start (enable)';
  const serviceSelect = $('#stream-service');
  if (document.activeElement !== serviceSelect) serviceSelect.value = c.serviceId ?? '';
}

async function loadExplain(s) {
  const body = $('#explain tbody');
  try {
    const why = await api('GET', `/api/v1/placement/explain?stream=${encodeURIComponent(s.id)}`);
    syncRows(body, why.nodes, {
      key: (n) => n.nodeId,
      columns: [
        { label: 'Node', cell: (n) => `${n.name}${n.nodeId === why.nodeId ? ' (chosen)' : ''}${n.nodeId === why.standbyNodeId ? ' (standby)' : ''}` },
        { label: 'Verdict', cell: (n) => (n.feasible ? 'fits' : withNodeNames(n.reason?.message ?? 'does not fit')) },
        { label: 'Score', className: 'num', cell: (n) => (n.score === null ? '' : n.score.toFixed(3)) },
      ],
      empty: 'No node in the cluster.',
    });
  } catch (err) {
    body.replaceChildren(el('tr', {}, el('td', { colSpan: 3 }, err.message)));
  }
}

/** The policy levels a stream runs under: built-in, cluster, its service, its own. */
async function policyLevelsOf(streamConfig) {
  const [global, services] = await Promise.all([api('GET', '/api/v1/policy'), loadServices()]);
  const levels = [{ label: 'built-in', values: global.defaults }, { label: 'cluster', values: global.policy }];
  if (streamConfig !== null && streamConfig.serviceId !== null) {
    const service = services.find((x) => x.id === streamConfig.serviceId);
    levels.push({ label: `service ${streamConfig.serviceId}`, values: service?.policy ?? {} });
  }
  if (streamConfig !== null) levels.push({ label: `stream ${streamConfig.id}`, values: streamConfig.policy });
  return levels;
}

async function loadStreamPolicy(s) {
  const body = $('#stream-policy tbody');
  try {
    const effective = resolvePolicyLevels(await policyLevelsOf(s.config));
    body.replaceChildren(...policyFields.map((f) => el('tr', { dataset: { field: f.name, key: f.name } },
      el('td', { title: f.what, dataset: { label: 'Field' } }, f.name),
      el('td', { dataset: { label: 'Value' } }, policyValueText(effective[f.name].value)),
      el('td', { className: 'from', dataset: { label: 'From' } }, effective[f.name].from))));
  } catch (err) {
    body.replaceChildren(el('tr', {}, el('td', { colSpan: 3 }, err.message)));
  }
}

async function loadStreamLog(s) {
  const pre = $('#log');
  try {
    const log = await api('GET', `/api/v1/streams/${encodeURIComponent(s.id)}/log`);
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent = log.lines.join('\n') || `(ffmpeg on ${nodeName(log.nodeId)} wrote nothing yet)`;
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  } catch (err) {
    pre.textContent = err.message;
  }
}

views.stream = {
  async enter(id) {
    shownStream = null;
    $('#stream-confirm').hidden = true;
    $('#probe-result').hidden = true;
    $('#detail-facts').dataset.shown = '';
    const visit = current;
    let s = live.streams.find((x) => x.id === id);
    if (s === undefined) {
      s = await attempt(() => api('GET', `/api/v1/streams/${encodeURIComponent(id)}`), { out: $('#log') });
      if (current !== visit) return; // left meanwhile
      if (s === undefined) {
        $('#detail-title').textContent = `No stream ${id}`;
        return;
      }
    }
    shownStream = s;
    $('#detail-title').textContent = `${s.name} (${s.id})`;
    $('#detail-url').textContent = `${location.origin}${s.url}`;
    $('#detail-url').href = s.url;
    $('#stream-policy-edit').href = `#policy/stream:${encodeURIComponent(s.id)}`;
    const sources = $('#probe-form select[name=source]');
    sources.replaceChildren(...s.config.sources.map((src, i) => el('option', { value: String(i) }, src.url)));
    fillNodeSelects();
    if (s.nodeId !== null) $('#probe-form select[name=nodeId]').value = s.nodeId;
    renderStreamFacts(s);
    startPlayer(s.url);
    void loadExplain(s);
    void loadStreamPolicy(s);
    void loadStreamLog(s);
    every(logRefreshMs, () => {
      if ($('#log-follow').checked && shownStream !== null) void loadStreamLog(shownStream);
    });
  },
  leave() {
    stopPlayer();
    shownStream = null;
  },
  live() {
    if (shownStream === null) return;
    const s = live.streams.find((x) => x.id === shownStream.id);
    if (s === undefined) {
      $('#detail-title').textContent = `${shownStream.name} (${shownStream.id}): deleted`;
      return;
    }
    const moved = s.nodeId !== shownStream.nodeId || s.standbyNodeId !== shownStream.standbyNodeId;
    const changed = JSON.stringify(s.config) !== JSON.stringify(shownStream.config);
    shownStream = s;
    renderStreamFacts(s);
    if (moved || changed) void loadExplain(s);
    if (changed) void loadStreamPolicy(s);
  },
};

$('#stream-toggle').addEventListener('click', (e) => attempt(async () => {
  const s = shownStream;
  await patchStream(s.config, { enabled: !s.config.enabled });
  flash(`${s.id} ${s.config.enabled ? 'stopped' : 'started'}`);
}, { button: e.target }));

$('#stream-service').addEventListener('change', (e) => attempt(async () => {
  const s = shownStream;
  await patchStream(s.config, { serviceId: e.target.value || null });
  flash(`${s.id} is now in ${e.target.value === '' ? 'no service' : `service ${e.target.value}`}`);
}));

$('#stream-delete').addEventListener('click', () => {
  const s = shownStream;
  confirmIn($('#stream-confirm'), {
    title: `Delete ${s.name} (${s.id})?`,
    details: `Its worker stops it and ${location.origin}${s.url} stops answering. Players lose the channel.`,
    confirmLabel: `Delete ${s.id}`,
    danger: true,
    run: async () => {
      await api('DELETE', `/api/v1/streams/${encodeURIComponent(s.id)}`);
      flash(`${s.id} deleted`);
      location.hash = '#streams';
    },
  });
});

/** POST /api/v1/probe and its answer as text in `out`. */
async function probe(body, out, button) {
  out.hidden = false;
  out.textContent = `probing from ${nodeName(body.nodeId)} (a few seconds)...`;
  await attempt(async () => {
    const r = await api('POST', '/api/v1/probe', body);
    out.textContent = `${r.ok ? 'OK' : 'FAILED'} in ${Math.round(r.ms)} ms on ${nodeName(r.nodeId)}\n${(r.ok ? r.streams : r.lines).join('\n')}`;
  }, { button, out });
}

$('#probe-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const source = shownStream.config.sources[Number(form.get('source'))];
  void probe({ url: source.url, userAgent: source.userAgent, referrer: source.referrer, nodeId: form.get('nodeId') }, $('#probe-result'), $('#probe'));
});

// ---- services, node groups and priorities -------------------------------------------------------

function policySummary(policy) {
  const set = Object.entries(policy ?? {}).filter(([, v]) => v !== undefined);
  return set.length === 0 ? 'inherits all' : set.map(([k, v]) => `${k}=${policyValueText(v)}`).join(', ');
}

function hlsSummary(hls) {
  return `${hls.segmentS} s x ${hls.windowSegments}, ${hls.mode}${hls.signingSecret ? ', signed URLs' : ''}`;
}

function editService(s) {
  const form = $('#service-form');
  form.dataset.editing = s.id;
  form.elements.id.value = s.id;
  form.elements.id.readOnly = true;
  form.elements.name.value = s.name;
  form.elements.segmentS.value = s.hls.segmentS;
  form.elements.windowSegments.value = s.hls.windowSegments;
  form.elements.mode.value = s.hls.mode;
  form.elements.epgUrls.value = (s.epgUrls ?? []).join('\n');
  $('#service-editor-title').textContent = `Edit service ${s.id}`;
  $('#service-editor').open = true;
  $('#service-editor').scrollIntoView({ block: 'nearest' });
}

$('#service-new').addEventListener('click', () => {
  const form = $('#service-form');
  delete form.dataset.editing;
  form.elements.id.readOnly = false;
  $('#service-editor-title').textContent = 'Add a service';
});

$('#service-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.target;
  const values = new FormData(form);
  const hls = {};
  if (values.get('segmentS') !== '') hls.segmentS = Number(values.get('segmentS'));
  if (values.get('windowSegments') !== '') hls.windowSegments = Number(values.get('windowSegments'));
  if (values.get('mode') !== '') hls.mode = values.get('mode');
  const epgUrls = String(values.get('epgUrls') ?? '').split(/\s+/).filter((u) => u !== '');
  await attempt(async () => {
    const editing = form.dataset.editing;
    if (editing === undefined) await api('POST', '/api/v1/services', { id: values.get('id'), name: values.get('name'), hls, epgUrls });
    else await patchService(servicesCache.find((x) => x.id === editing), { name: values.get('name'), hls, epgUrls });
    $('#service-error').textContent = '';
    flash(`Service ${values.get('id')} saved`);
    form.reset();
    $('#service-new').click();
    await loadServicesPage();
  }, { button: $('button[type=submit]', form), out: $('#service-error') });
});

function renderServices(services) {
  syncRows($('#service-table tbody'), services, {
    key: (s) => s.id,
    empty: 'No services: streams in none use the cluster-wide policy and HLS settings.',
    columns: [
      { label: 'Service', cell: (s) => `${s.name} (${s.id})` },
      { label: 'Policy overrides', cell: (s) => policySummary(s.policy) },
      { label: 'HLS', cell: (s) => hlsSummary(s.hls) },
      { label: 'Streams', cell: (s) => (s.streams.length === 0 ? 'none' : s.streams.join(', ')) },
      { label: '', cell: (s, td) => controls(td, s, () => el('span', { className: 'actions' },
        el('a', { href: `#policy/service:${encodeURIComponent(s.id)}` }, 'Policy'),
        el('button', { type: 'button', dataset: { needs: 'operator' }, onclick: () => editService(td.parentElement.item) }, 'Edit'),
        el('button', { type: 'button', className: 'danger', dataset: { needs: 'operator' }, onclick: () => deleteService(td.parentElement.item) }, 'Delete'),
      ), () => {}) },
    ],
  });
}

function deleteService(s) {
  confirmIn($('#service-confirm'), {
    title: `Delete service ${s.id}?`,
    details: s.streams.length > 0 ? `It still has streams (${s.streams.join(', ')}): move them to another service first, or the cluster refuses.` : 'It has no streams.',
    confirmLabel: `Delete ${s.id}`,
    danger: true,
    run: async () => {
      await api('DELETE', `/api/v1/services/${encodeURIComponent(s.id)}`);
      flash(`Service ${s.id} deleted`);
      await loadServicesPage();
    },
  });
}

function renderGroups(groups) {
  syncRows($('#groups tbody'), groups, {
    key: (g) => g.name,
    empty: 'No groups yet.',
    columns: [
      { label: 'Group', cell: (g) => g.name },
      { label: 'Priority', cell: (g, td) => controls(td, g, () => el('input', { type: 'number', name: 'priority', required: true, disabled: !can('operator'), 'aria-label': `priority of ${g.name}` }), (cell, group) => {
        const input = $('input', cell);
        if (document.activeElement !== input) input.value = String(group.priority);
      }) },
      { label: 'Nodes', cell: (g) => (g.nodes.length === 0 ? 'none' : g.nodes.map(nodeName).join(', ')) },
      { label: '', cell: (g, td) => controls(td, g, () => el('span', { className: 'actions', dataset: { needs: 'operator' } },
        el('button', { type: 'button', onclick: (e) => attempt(async () => {
          const group = td.parentElement.item;
          await api('PUT', `/api/v1/groups/${encodeURIComponent(group.name)}`, { priority: Number($('input', td.parentElement).value) });
          flash(`Group ${group.name} saved`);
          await loadServicesPage();
        }, { button: e.target, out: $('#groups-error') }) }, 'Save'),
        el('button', { type: 'button', className: 'danger', onclick: (e) => attempt(async () => {
          await api('DELETE', `/api/v1/groups/${encodeURIComponent(td.parentElement.item.name)}`);
          await loadServicesPage();
        }, { button: e.target, out: $('#groups-error') }) }, 'Delete'),
      ), () => {}) },
    ],
  });
}

/** Which groups each node is in, and its weight: inputs, saved per node (PATCH /api/v1/nodes/:id). */
function renderNodeGroups(nodes) {
  syncRows($('#node-groups tbody'), nodes, {
    key: (n) => n.id,
    columns: [
      { label: 'Node', cell: (n) => n.name },
      { label: 'Groups', cell: (n, td) => controls(td, n, () => el('input', { name: 'groups', disabled: !can('operator'), 'aria-label': `groups of ${n.name}` }), (cell, node) => {
        if (document.activeElement !== cell.firstChild) cell.firstChild.value = node.groups.join(', ');
      }) },
      { label: 'Weight', cell: (n, td) => controls(td, n, () => el('input', { name: 'weight', type: 'number', step: 'any', min: '0', disabled: !can('operator'), 'aria-label': `weight of ${n.name}` }), (cell, node) => {
        if (document.activeElement !== cell.firstChild) cell.firstChild.value = String(node.weight);
      }) },
      { label: '', cell: (n, td) => controls(td, n, () => el('button', { type: 'button', dataset: { needs: 'operator' }, onclick: (e) => attempt(async () => {
        const tr = td.parentElement;
        const groups = $('input[name=groups]', tr).value.split(/[\s,]+/).filter((g) => g !== '');
        await api('PATCH', `/api/v1/nodes/${encodeURIComponent(tr.item.id)}`, { groups, weight: Number($('input[name=weight]', tr).value) });
        flash(`${tr.item.name} saved`);
        await loadServicesPage();
      }, { button: e.target, out: $('#groups-error') }) }, 'Save'), () => {}) },
    ],
  });
}

async function loadServicesPage() {
  await attempt(async () => {
    const [services, groups, cluster] = await Promise.all([loadServices(), api('GET', '/api/v1/groups'), api('GET', '/api/v1/cluster')]);
    renderServices(services);
    renderGroups(groups);
    renderNodeGroups(cluster.nodes);
  }, { out: $('#groups-error') });
}

views.services = {
  enter() {
    $('#service-confirm').hidden = true;
    void loadServicesPage();
  },
};

$('#group-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  await attempt(async () => {
    await api('PUT', `/api/v1/groups/${encodeURIComponent(form.get('name'))}`, { priority: Number(form.get('priority')) });
    flash(`Group ${form.get('name')} saved`);
    e.target.reset();
    await loadServicesPage();
  }, { button: $('button', e.target), out: $('#groups-error') });
});

// ---- policy: global -> service -> stream, with what each level inherits -------------------------

/** What the policy page shows: its levels (the last one is edited) and how to save it. */
let policyPage = null;

function policyInput(field, value) {
  const attrs = { name: field.name, 'aria-label': `${field.name} at this level`, disabled: !can('operator') };
  if (field.kind === 'choice' || field.kind === 'boolean') {
    const choices = field.kind === 'boolean' ? [['true', 'yes'], ['false', 'no']] : field.choices.map((c) => [c, c]);
    const select = el('select', attrs, el('option', { value: '' }, 'inherit'), choices.map(([v, label]) => el('option', { value: v }, label)));
    select.value = value === undefined ? '' : String(value);
    return select;
  }
  const input = el('input', { ...attrs, placeholder: 'inherit', ...(field.kind === 'number' ? { type: 'number', step: 'any' } : {}) });
  input.value = value === undefined ? '' : field.kind === 'groups' ? policyValueText(value) : String(value);
  return input;
}

/** The edited level's values from the inputs; throws the first field's problem. */
function editedPolicy() {
  const policy = {};
  for (const field of policyFields) {
    const value = parsePolicyInput(field, $(`#policy-table tr[data-field="${field.name}"] td.editing :is(input, select)`).value);
    if (value !== undefined) policy[field.name] = value;
  }
  return policy;
}

/** The effective and from columns, again from the inputs (what saving would give). */
function refreshEffective() {
  let edited;
  try {
    edited = editedPolicy();
  } catch (err) {
    $('#policy-result').textContent = err.message;
    return;
  }
  const levels = [...policyPage.levels.slice(0, -1), { ...policyPage.levels.at(-1), values: edited }];
  const effective = resolvePolicyLevels(levels);
  for (const field of policyFields) {
    const tr = $(`#policy-table tr[data-field="${field.name}"]`);
    $('td.effective', tr).textContent = policyValueText(effective[field.name].value);
    $('td.from', tr).textContent = effective[field.name].from;
  }
}

function renderPolicyTable() {
  const { levels } = policyPage;
  const edited = levels.length - 1;
  $('#policy-table thead').replaceChildren(el('tr', {}, el('th', {}, 'Field'), levels.map((l) => el('th', {}, l.label)), el('th', {}, 'Effective'), el('th', {}, 'From')));
  $('#policy-table tbody').replaceChildren(...policyFields.map((field) => el('tr', { dataset: { field: field.name, key: field.name } },
    el('td', { title: field.what, dataset: { label: 'Field' } }, el('span', {}, el('b', {}, field.name), el('br'), el('small', { className: 'hint' }, field.what))),
    levels.map((level, i) => (i === edited
      ? el('td', { className: 'editing', dataset: { label: level.label } }, policyInput(field, level.values[field.name]))
      : el('td', { dataset: { label: level.label } }, level.values[field.name] === undefined ? '-' : policyValueText(level.values[field.name])))),
    el('td', { className: 'effective', dataset: { label: 'Effective' } }),
    el('td', { className: 'from', dataset: { label: 'From' } }),
  )));
  refreshEffective();
  $('#policy-plan').disabled = policyPage.scope !== 'cluster';
  $('#policy-plan').title = policyPage.scope === 'cluster' ? '' : 'The dry run (POST /api/v1/placement/plan) takes a cluster-wide policy or node changes only';
}

async function loadPolicyPage(scope) {
  $('#policy-result').textContent = '';
  await attempt(async () => {
    const [global, services, streams] = await Promise.all([api('GET', '/api/v1/policy'), loadServices(), api('GET', '/api/v1/streams')]);
    const select = $('#policy-scope');
    select.replaceChildren(
      el('option', { value: 'cluster' }, 'Cluster-wide'),
      el('optgroup', { label: 'Services' }, services.map((s) => el('option', { value: `service:${s.id}` }, `Service ${s.name} (${s.id})`))),
      el('optgroup', { label: 'Streams' }, streams.map((s) => el('option', { value: `stream:${s.id}` }, `Stream ${s.name} (${s.id})`))),
    );
    const [kind, id] = scope.includes(':') ? scope.split(':') : ['cluster', ''];
    const base = [{ label: 'built-in', values: global.defaults }, { label: 'cluster', values: global.policy }];
    if (kind === 'service') {
      const service = services.find((s) => s.id === id);
      if (service === undefined) throw new Error(`no service ${id}`);
      policyPage = { scope, levels: [...base, { label: `service ${id}`, values: service.policy }], save: (policy) => patchService(service, { policy }) };
    } else if (kind === 'stream') {
      const stream = streams.find((s) => s.id === id);
      if (stream === undefined) throw new Error(`no stream ${id}`);
      policyPage = { scope, levels: await policyLevelsOf(stream.config), save: (policy) => patchStream(stream.config, { policy }) };
    } else {
      policyPage = { scope: 'cluster', levels: base, save: (policy) => api('PUT', '/api/v1/policy', { policy }) };
    }
    select.value = policyPage.scope;
    renderPolicyTable();
  }, { out: $('#policy-result') });
}

views.policy = {
  enter(arg) {
    void loadPolicyPage(arg || 'cluster');
  },
};

$('#policy-scope').addEventListener('change', (e) => {
  location.hash = e.target.value === 'cluster' ? '#policy' : `#policy/${e.target.value}`;
});
$('#policy-table').addEventListener('input', () => refreshEffective());

$('#policy-plan').addEventListener('click', (e) => attempt(async () => {
  const plan = await api('POST', '/api/v1/placement/plan', { policy: editedPolicy() });
  $('#policy-result').textContent = withNodeNames(planText(plan, nodeName));
}, { button: e.target, out: $('#policy-result') }));

$('#policy-save').addEventListener('click', (e) => attempt(async () => {
  await policyPage.save(editedPolicy());
  await loadPolicyPage(policyPage.scope);
  $('#policy-result').textContent = 'Saved.';
}, { button: e.target, out: $('#policy-result') }));

// ---- M3U import ----------------------------------------------------------------------------------

$('#m3u-file').addEventListener('change', (e) => {
  const file = e.target.files[0];
  if (file === undefined) return;
  const reader = new window.FileReader();
  reader.onload = () => ($('#m3u').value = String(reader.result));
  reader.onerror = () => flash(`could not read ${file.name}: ${reader.error?.message ?? 'unknown error'}`, true);
  reader.readAsText(file);
});

async function importM3u(dryRun, button) {
  const out = $('#m3u-result');
  await attempt(async () => {
    const q = query({ dryRun, service: $('#m3u-service').value, enabled: $('#m3u-stopped').checked ? 'false' : '' });
    const result = await api('POST', `/api/v1/import/m3u${q}`, $('#m3u').value, 'audio/x-mpegurl');
    const created = result.created.map((id) => el('li', {}, dryRun ? id : el('a', { href: `#stream/${encodeURIComponent(id)}` }, id)));
    const skipped = result.skipped.map((s) => el('li', {}, `line ${s.line} ${s.title}: ${s.reason}`));
    out.replaceChildren(
      el('p', {}, `${dryRun ? 'Would create' : 'Created'} ${result.created.length}, skipped ${result.skipped.length}.`),
      created.length > 0 ? el('h3', {}, dryRun ? 'Would create' : 'Created') : '', created.length > 0 ? el('ul', { className: 'created' }, created) : '',
      skipped.length > 0 ? el('h3', {}, 'Skipped') : '', skipped.length > 0 ? el('ul', { className: 'skipped' }, skipped) : '',
    );
    if (!dryRun) flash(`Imported ${result.created.length} stream(s)`);
  }, { button, out });
}

$('#m3u-preview').addEventListener('click', (e) => importM3u(true, e.target));
$('#m3u-import').addEventListener('click', (e) => importM3u(false, e.target));
views.import = { enter: () => void attempt(loadServices) };

// ---- join tokens: the exact command for a new server ----------------------------------------------

let createdJoinToken = null;
const defaultDataDir = '/var/lib/ottmesh';

/** install.sh's options from the token form (docs/install.md): the name, address and data
 *  directory asked for. */
function installLineArgs({ name, host, dataDir }) {
  const words = [];
  if (name !== '') words.push('--name', shellWord(name));
  if (host !== '') words.push('--host', shellWord(host));
  if (dataDir !== defaultDataDir) words.push('--data-dir', shellWord(dataDir));
  return words.length === 0 ? '' : ` ${words.join(' ')}`;
}

function renderJoinCommands() {
  if (createdJoinToken === null) return;
  const form = $('#token-form').elements;
  const values = { token: createdJoinToken.token, dataDir: form.dataDir.value.trim() || defaultDataDir, name: form.name.value.trim(), host: form.host.value.trim() };
  $('#join-command').textContent = joinCommand({ ...values, program: 'ottmesh' });
  $('#install-command').textContent = `./scripts/setup.sh && ${joinCommand({ ...values, program: 'bin/ottmesh' })}`;
  // A node older than the one-line install answers without installCommand.
  $('#install-line').textContent = createdJoinToken.installCommand === undefined
    ? '(this node does not serve the installer: upgrade it)'
    : `${createdJoinToken.installCommand}${installLineArgs(values)}`;
  const groups = createdJoinToken.groups.length === 0 ? '' : `, into groups ${createdJoinToken.groups.join(', ')}`;
  $('#join-token-facts').textContent = `Token ${createdJoinToken.id}: valid until ${new Date(createdJoinToken.expiresAt).toLocaleString()}, for ${createdJoinToken.uses} server(s)${groups}. It is shown only now.`;
}

/** A join token with the token form's validity, uses and groups; its commands are shown. */
async function createJoinToken() {
  const form = new FormData($('#token-form'));
  const groups = String(form.get('groups')).split(/[\s,]+/).filter((g) => g !== '');
  createdJoinToken = await api('POST', '/api/v1/join-tokens', { ttlS: Number(form.get('ttlS')), uses: Number(form.get('uses')), groups });
  $('#token-error').textContent = '';
  $('#install-line-error').textContent = '';
  $('#join-output').hidden = false;
  renderJoinCommands();
}

$('#token-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  await attempt(createJoinToken, { button: $('#token-create'), out: $('#token-error') });
});
$('#token-form').addEventListener('input', renderJoinCommands);
$('#install-line-create').addEventListener('click', async (e) => {
  await attempt(async () => {
    await createJoinToken();
    $('#install-line').scrollIntoView({ block: 'nearest' });
  }, { button: e.target, out: $('#install-line-error') });
});

// ---- install over SSH: probe, confirm the host key, follow the job (docs/install-ssh.md) ----------

/** How often a running install's progress is read again. */
const installRefreshMs = 1_000;
/** The job shown under the form (followed until it ends), and its refresh timer. */
let shownInstall = { id: null, timer: null };

function installFinished(job) {
  return job.state === 'succeeded' || job.state === 'failed';
}

function clockText(iso) {
  return new Date(iso).toLocaleTimeString([], { hour12: false });
}

function renderInstallJob(job) {
  $('#ssh-job').hidden = false;
  $('#ssh-job-host').textContent = `${job.user}@${job.host}${job.port === 22 ? '' : `:${job.port}`}`;
  const state = $('#ssh-job-state');
  state.textContent = job.state;
  state.className = job.state === 'succeeded' ? 'status-running' : job.state === 'failed' ? 'status-failed' : 'status-starting';
  const pre = $('#ssh-progress');
  const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  const dropped = job.progressDropped > 0 ? [`(${job.progressDropped} earlier lines not kept)`] : [];
  pre.textContent = [...dropped, ...job.progress.map((p) => `${clockText(p.at)}  ${p.line}`)].join('\n');
  if (atEnd) pre.scrollTop = pre.scrollHeight;
  const result = $('#ssh-result');
  if (job.state === 'succeeded') {
    result.className = '';
    result.replaceChildren(`Node ${job.nodeId === null ? job.name : nodeName(job.nodeId)} joined the cluster: `, el('a', { href: '#cluster' }, 'see it on the Cluster page'), '.');
  } else if (job.state === 'failed') {
    result.className = 'error';
    result.textContent = `Failed (${job.error.kind}): ${job.error.message}`;
  } else {
    result.className = 'hint';
    result.textContent = 'Running: this page follows it.';
  }
}

async function refreshInstall() {
  const id = shownInstall.id;
  if (id === null) return;
  try {
    const job = await api('GET', `/api/v1/installs/${encodeURIComponent(id)}`);
    if (shownInstall.id !== id) return;
    renderInstallJob(job);
    if (installFinished(job)) {
      stopInstallTimer();
      void loadInstallJobs();
    }
  } catch (err) {
    $('#ssh-result').className = 'error';
    $('#ssh-result').textContent = err.message;
    if (err.status === 404) stopInstallTimer();
  }
}

function stopInstallTimer() {
  if (shownInstall.timer === null) return;
  clearInterval(shownInstall.timer);
  timers.delete(shownInstall.timer);
  shownInstall.timer = null;
}

/** Shows job `id` under the form and follows it every second until it ends. */
function followInstall(id) {
  stopInstallTimer();
  if (shownInstall.id !== id) $('#ssh-progress').textContent = '';
  shownInstall = { id, timer: every(installRefreshMs, refreshInstall) };
  void refreshInstall();
}

function renderInstallJobs(jobs) {
  syncRows($('#install-jobs tbody'), jobs, {
    key: (j) => j.id,
    empty: 'No installs from this node since it started.',
    columns: [
      { label: 'Server', cell: (j) => `${j.user}@${j.host}${j.port === 22 ? '' : `:${j.port}`}` },
      { label: 'Node', cell: (j) => (j.nodeId !== null ? nodeName(j.nodeId) : j.name ?? '(its host name)') },
      { label: 'State', cell: (j) => el('span', { className: j.state === 'succeeded' ? 'status-running' : j.state === 'failed' ? 'status-failed' : 'status-starting' }, j.state === 'failed' ? `failed (${j.error.kind})` : j.state) },
      { label: 'Started', cell: (j) => `${new Date(j.createdAt).toLocaleString()} by ${j.startedBy}` },
      { label: '', cell: (j, td) => controls(td, j, () => el('button', { type: 'button', className: 'link', onclick: () => followInstall(td.parentElement.item.id) }, 'Show'), () => undefined) },
    ],
  });
}

/** The last list read, rendered again as snapshots name new nodes. */
let installJobs = [];

async function loadInstallJobs() {
  try {
    installJobs = (await api('GET', '/api/v1/installs')).jobs;
    renderInstallJobs(installJobs);
  } catch (err) {
    $('#ssh-error').textContent = err.message;
  }
}

/** The install body from the SSH form, for the server probed (host and port as probed). */
function sshInstallBody(target, hostKeyFingerprint) {
  const form = new FormData($('#ssh-form'));
  const value = (name) => String(form.get(name) ?? '').trim();
  const body = { host: target.host, port: target.port, user: value('user'), privateKey: String(form.get('privateKey')), hostKeyFingerprint };
  const optional = { passphrase: String(form.get('passphrase') ?? ''), name: value('name'), nodeUrl: value('nodeUrl'), nodeHost: value('nodeHost'), dataDir: value('dataDir'), binDir: value('binDir'), serviceUser: value('serviceUser') };
  for (const [key, v] of Object.entries(optional)) if (v !== '') body[key] = v;
  const groups = value('groups').split(/[\s,]+/).filter((g) => g !== '');
  if (groups.length > 0) body.groups = groups;
  return body;
}

$('#ssh-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const elements = e.target.elements;
  $('#ssh-error').textContent = '';
  $('#ssh-confirm').hidden = true;
  await attempt(async () => {
    const target = { host: elements.host.value.trim(), port: Number(elements.port.value) };
    const probe = await api('POST', '/api/v1/installs/probe', target);
    const details = el('div', {},
      el('p', {}, `${probe.host}:${probe.port} presents this ${probe.algorithm} host key:`),
      el('pre', { id: 'ssh-fingerprint', className: 'command' }, probe.hostKeyFingerprint),
      el('p', { className: 'hint' }, 'Compare it with the server\'s own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub there, or what ssh showed you on your first login). ' +
        'If it differs, do not go on: someone may be in between, or the server was reinstalled.'));
    confirmIn($('#ssh-confirm'), {
      title: `Install ottmesh on ${probe.host}?`, details, confirmLabel: 'Confirm and install',
      run: async () => {
        const job = await api('POST', '/api/v1/installs', sshInstallBody(target, probe.hostKeyFingerprint));
        // The key went to this node for this install only: it does not stay in the page.
        elements.privateKey.value = '';
        elements.passphrase.value = '';
        $('#ssh-key-file').value = '';
        renderInstallJob(job);
        followInstall(job.id);
        void loadInstallJobs();
      },
    });
  }, { button: $('#ssh-connect'), out: $('#ssh-error') });
});

$('#ssh-key-file').addEventListener('change', (e) => {
  const file = e.target.files[0];
  if (file === undefined) return;
  const reader = new window.FileReader();
  reader.onload = () => ($('#ssh-form').elements.privateKey.value = String(reader.result));
  reader.onerror = () => flash(`could not read ${file.name}: ${reader.error?.message ?? 'unknown error'}`, true);
  reader.readAsText(file);
});

views.join = {
  enter() {
    $('#ssh-node-url').placeholder = location.origin;
    void loadInstallJobs();
    // Back on the page: keep following the job shown (the view's timers stop when it is left).
    if (shownInstall.id !== null) followInstall(shownInstall.id);
  },
  live() {
    renderInstallJobs(installJobs);
  },
};

// ---- troubleshooting: node log, probe from a chosen node --------------------------------------------

async function loadNodeLog() {
  const id = $('#node-log-node').value;
  const pre = $('#node-log');
  if (id === '') return;
  try {
    const log = await api('GET', `/api/v1/nodes/${encodeURIComponent(id)}/log`);
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent = log.lines.join('\n') || '(nothing logged yet)';
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  } catch (err) {
    pre.textContent = err.message;
  }
}

views.troubleshoot = {
  enter(nodeId) {
    fillNodeSelects();
    if (nodeId !== '') $('#node-log-node').value = nodeId;
    $('#node-log').textContent = '';
    void loadNodeLog();
    every(logRefreshMs, () => {
      if ($('#node-log-follow').checked) void loadNodeLog();
    });
  },
  live() {
    // Opened before the first snapshot filled the node list: choose the node named in the URL.
    const select = $('#node-log-node');
    if (current.arg !== '' && select.value !== current.arg && live.cluster.nodes.some((n) => n.id === current.arg)) {
      select.value = current.arg;
      void loadNodeLog();
    }
  },
};

$('#node-log-node').addEventListener('change', () => {
  location.hash = `#troubleshoot/${encodeURIComponent($('#node-log-node').value)}`;
});

$('#probe-any-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  void probe({ url: form.get('url'), userAgent: form.get('userAgent') || null, referrer: form.get('referrer') || null, nodeId: form.get('nodeId') },
    $('#probe-any-result'), $('button', e.target));
});

// ---- audit log ----------------------------------------------------------------------------------

/** How often the audit page reads the log again while "live" is on. */
const auditRefreshMs = 3_000;

function isoOf(localValue) {
  return localValue === '' ? '' : new Date(localValue).toISOString();
}

/** The action filter matches exactly (a command's name, e.g. CreateStream): it offers every
 *  action seen so far. */
const auditActions = new Set(['Login', 'LoginFailed', 'CreateStream', 'UpdateStream', 'DeleteStream', 'SetNodeAdmin', 'SetNodeEnabled', 'RemoveNode', 'CreateJoinToken', 'UpdatePolicy']);

function rememberAuditActions(entries) {
  const before = auditActions.size;
  for (const e of entries) auditActions.add(e.action);
  const list = $('#audit-actions');
  if (list.childElementCount === 0 || auditActions.size !== before) list.replaceChildren(...[...auditActions].sort().map((a) => el('option', { value: a })));
}

async function loadAudit() {
  const form = new FormData($('#audit-form'));
  const out = $('#audit-error');
  try {
    const q = query({ user: form.get('user'), action: form.get('action'), target: form.get('target'), q: form.get('q'), since: isoOf(form.get('since')), until: isoOf(form.get('until')), limit: form.get('limit') });
    const answer = await api('GET', `/api/v1/audit${q}`);
    out.textContent = '';
    $('#audit-total').textContent = `${answer.entries.length} of ${answer.total} shown, newest first`;
    rememberAuditActions(answer.entries);
    syncRows($('#audit-table tbody'), answer.entries, {
      key: (a) => a.id,
      empty: 'No entry matches.',
      decorate: (tr, a) => (tr.dataset.action = a.action),
      columns: [
        { label: 'When', className: 'num', cell: (a) => new Date(a.atMs ?? a.at).toLocaleString() },
        { label: 'Who', cell: (a) => `${a.user} (${a.role ?? 'no role'}, ${a.via === 'token' && a.tokenId ? `token ${a.tokenId}` : a.via})` },
        { label: 'Action', cell: (a) => a.action },
        { label: 'Target', cell: (a) => el('button', { type: 'button', className: 'link', title: `only entries about ${a.target}`, dataset: { target: a.target } }, shortId(nodeName(a.target))) },
        { label: 'What', className: 'wrap', cell: (a) => withNodeNames(a.summary).replace(/12D3Koo\w{30,}/g, shortId) },
      ],
    });
  } catch (err) {
    out.textContent = err.status === 404 ? `this node has no audit log yet (${err.message})` : err.message;
  }
}

views.audit = {
  enter() {
    void loadAudit();
    every(auditRefreshMs, () => {
      if ($('#audit-live').checked) void loadAudit();
    });
  },
};

// A target in the table filters by it (the filter takes the exact target, e.g. a node's id).
$('#audit-table').addEventListener('click', (e) => {
  const target = e.target.closest('button[data-target]');
  if (target === null) return;
  $('#audit-form').elements.target.value = target.dataset.target;
  void loadAudit();
});

$('#audit-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void loadAudit();
});

// ---- rolling upgrade (admins): upload an executable, plan, start, follow (docs/upgrade.md) --------

/** How often the rollout is read again while it runs, and while this node restarts in it. */
const upgradeRefreshMs = 1_000;
/** Whether the page follows the rollout (it runs, or this node went away during it). */
let followingUpgrade = false;
/** One GET /api/v1/upgrade at a time: a node that restarts can answer late. */
let upgradeLoading = false;

function bytesText(bytes) {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} kB`;
}

/** An executable (`{sha256, version, commit, bytes}`) as one line. */
function exeText(exe) {
  return `${buildText(exe.version, exe.commit)}, ${bytesText(exe.bytes)}, sha256 ${exe.sha256.slice(0, 12)}…`;
}

function clockOfMs(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

/** A step's start and end (or how long it has run so far). */
function stepTimesText(step, nowMs) {
  if (step.startedAtMs === null) return '';
  const end = step.endedAtMs ?? nowMs;
  return `${clockOfMs(step.startedAtMs)}${step.endedAtMs === null ? '' : ` - ${clockOfMs(step.endedAtMs)}`} (${durationText(end - step.startedAtMs)})`;
}

const phaseBadgeClass = { pending: '', draining: 'warn', upgrading: 'warn', 'waiting-health': 'warn', done: 'ok', failed: 'bad' };

function phaseBadge(step) {
  return el('span', {}, badge(step.phase, phaseBadgeClass[step.phase] ?? ''), step.upgrade ? '' : ' skipped: it runs the target already');
}

const stepFromTo = (s) => `${buildText(s.from.version, s.from.commit)} → ${buildText(s.to.version, s.to.commit)}`;

/** The executables this node can roll out, in the select (the uploaded one first); the choice
 *  is kept. None: the request goes without sha256 and the API says what is missing. */
function renderUpgradeTargets(status) {
  const select = $('#upgrade-target');
  const choices = [];
  if (status.uploaded !== null) choices.push({ exe: status.uploaded, label: `uploaded: ${exeText(status.uploaded)}` });
  if (status.running !== null && status.running.sha256 !== status.uploaded?.sha256) choices.push({ exe: status.running, label: `the one this node runs: ${exeText(status.running)}` });
  const wanted = choices.map((c) => c.exe.sha256).join('|');
  if (select.dataset.filled === wanted) return;
  const chosen = select.value;
  select.replaceChildren(...(choices.length === 0
    ? [el('option', { value: '' }, '(none: upload an executable first)')]
    : choices.map((c) => el('option', { value: c.exe.sha256 }, c.label))));
  select.dataset.filled = wanted;
  if (choices.some((c) => c.exe.sha256 === chosen)) select.value = chosen;
}

function renderRollout(rollout) {
  const status = $('#upgrade-status');
  if (rollout === null) {
    status.replaceChildren(el('small', {}, 'none from this node yet'));
    $('#upgrade-rollout-facts').textContent = '';
    $('#upgrade-message').textContent = '';
  } else {
    const statusClass = { running: 'status-starting', done: 'status-running', failed: 'status-failed' }[rollout.status];
    status.replaceChildren(el('span', { className: statusClass, dataset: { status: rollout.status } }, rollout.status));
    const ended = rollout.endedAtMs === null ? '' : `, ended ${new Date(rollout.endedAtMs).toLocaleString()}`;
    $('#upgrade-rollout-facts').textContent = `To ${exeText(rollout.target)}; coordinated by ${rollout.coordinatorName}, started by ${rollout.startedBy ?? 'the node itself'} ${new Date(rollout.startedAtMs).toLocaleString()}${ended}; ${rollout.healthTimeoutS} s for each node to be healthy again.`;
    const message = $('#upgrade-message');
    message.textContent = rollout.message ?? '';
    message.className = rollout.status === 'failed' ? 'error' : '';
  }
  const nowMs = Date.now();
  syncRows($('#upgrade-steps tbody'), rollout?.steps ?? [], {
    key: (s) => s.nodeId,
    empty: 'No rollout from this node yet.',
    decorate: (tr, s) => (tr.dataset.phase = s.phase),
    columns: [
      { label: 'Node', cell: (s) => s.name },
      { label: 'Phase', cell: (s) => phaseBadge(s) },
      { label: 'From → to', cell: (s) => stepFromTo(s) },
      { label: 'Message', className: 'wrap', cell: (s) => s.message ?? '' },
      { label: 'Times', className: 'num', cell: (s) => stepTimesText(s, nowMs) },
    ],
  });
}

/** Reads the rollout and the executables; while a rollout runs the page keeps reading, and a
 *  node that does not answer then is restarting in it (the coordinator is upgraded last). */
async function loadUpgrade() {
  if (upgradeLoading) return;
  upgradeLoading = true;
  try {
    const status = await api('GET', '/api/v1/upgrade');
    $('#upgrade-restarting').hidden = true;
    $('#upgrade-executables').dataset.loaded = 'yes';
    $('#upgrade-running').textContent = status.running === null ? 'none: it runs from the sources (bin/ottmesh), which a rollout does not replace' : exeText(status.running);
    $('#upgrade-uploaded').textContent = status.uploaded === null ? 'none' : exeText(status.uploaded);
    renderUpgradeTargets(status);
    renderRollout(status.rollout);
    followingUpgrade = status.rollout?.status === 'running';
  } catch (err) {
    if (followingUpgrade && err.status !== 401 && err.status !== 403) $('#upgrade-restarting').hidden = false;
    else $('#upgrade-error').textContent = err.message;
  } finally {
    upgradeLoading = false;
  }
}

/** The POST /api/v1/upgrade body for the executable chosen (none: the API names what is missing). */
function upgradeBody(dryRun) {
  const sha256 = $('#upgrade-target').value;
  return { ...(sha256 === '' ? {} : { sha256 }), ...(dryRun ? { dryRun: true } : {}) };
}

function renderPlan(rollout) {
  $('#upgrade-plan-result').hidden = false;
  syncRows($('#upgrade-plan-steps tbody'), rollout.steps, {
    key: (s) => s.nodeId,
    empty: 'No node to upgrade.',
    columns: [
      { label: 'Node', cell: (s) => s.name },
      { label: 'From → to', cell: (s) => stepFromTo(s) },
      { label: 'Phase', cell: (s) => phaseBadge(s) },
    ],
  });
}

function clearUpgradeOutput() {
  $('#upgrade-error').textContent = '';
  $('#upgrade-plan-result').hidden = true;
  $('#upgrade-confirm').hidden = true;
}

$('#upgrade-plan').addEventListener('click', (e) => attempt(async () => {
  clearUpgradeOutput();
  renderPlan((await api('POST', '/api/v1/upgrade', upgradeBody(true))).rollout);
}, { button: e.target, out: $('#upgrade-error') }));

// Start: the plan first (a refusal ends it there), then the rollout on confirmation, followed.
$('#upgrade-start').addEventListener('click', (e) => attempt(async () => {
  clearUpgradeOutput();
  const body = upgradeBody(false);
  const planned = (await api('POST', '/api/v1/upgrade', upgradeBody(true))).rollout;
  const order = planned.steps.map((s, i) => `${i + 1}. ${s.name}: ${s.upgrade ? stepFromTo(s) : 'skipped, it runs the target already'}`).join('\n');
  confirmIn($('#upgrade-confirm'), {
    title: `Upgrade every node to ${buildText(planned.target.version, planned.target.commit)}?`,
    details: el('div', {},
      el('p', {}, 'One node at a time, in this order; each is drained, restarted on the new executable and checked healthy before the next. A failed step stops the rollout.'),
      el('pre', { className: 'plan' }, order)),
    confirmLabel: 'Start upgrade',
    danger: true,
    run: async () => {
      const { rollout } = await api('POST', '/api/v1/upgrade', body);
      followingUpgrade = true;
      renderRollout(rollout);
      flash(`Rollout ${rollout.id} started`);
    },
  });
}, { button: e.target, out: $('#upgrade-error') }));

/** PUT /api/v1/upgrade/executable with XMLHttpRequest, which reports the upload's progress
 *  (fetch does not): resolves with the stored executable, rejects with the server's message. */
function uploadExecutable(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new window.XMLHttpRequest();
    xhr.open('PUT', '/api/v1/upgrade/executable');
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size));
    xhr.addEventListener('load', () => {
      let data;
      try {
        data = JSON.parse(xhr.responseText);
      } catch (err) {
        data = { message: `HTTP ${xhr.status}, an answer that is not JSON (${err.message})` };
      }
      if (xhr.status === 201) return resolve(data);
      if (xhr.status === 401) showLogin();
      return reject(new ApiError(xhr.status, data?.message ?? `HTTP ${xhr.status}`));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'the upload broke off: is this node up?')));
    xhr.send(file);
  });
}

$('#upgrade-upload-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const file = $('#upgrade-file').files[0];
  if (file === undefined) return;
  const progress = $('#upgrade-progress');
  const status = $('#upgrade-upload-status');
  $('#upgrade-upload-error').textContent = '';
  progress.value = 0;
  progress.hidden = false;
  status.textContent = `uploading ${file.name}…`;
  void attempt(async () => {
    try {
      const exe = await uploadExecutable(file, (loaded, total) => {
        progress.value = total > 0 ? loaded / total : 0;
        status.textContent = loaded < total ? `uploading ${file.name}: ${bytesText(loaded)} of ${bytesText(total)}…` : 'uploaded: the node checks that it is an ottmesh executable…';
      });
      status.textContent = `Uploaded ${exeText(exe)}`;
      $('#upgrade-target').dataset.filled = '';
      $('#upgrade-file').value = '';
      await loadUpgrade();
      $('#upgrade-target').value = exe.sha256;
    } catch (err) {
      status.textContent = '';
      throw err;
    } finally {
      progress.hidden = true;
    }
  }, { button: $('#upgrade-upload'), out: $('#upgrade-upload-error') });
});

views.upgrade = {
  enter() {
    clearUpgradeOutput();
    void loadUpgrade();
    every(upgradeRefreshMs, () => {
      if (followingUpgrade) void loadUpgrade();
    });
  },
};

// ---- accounts: users and API tokens (admins) -------------------------------------------------------

const listOf = (answer, field) => (Array.isArray(answer) ? answer : answer?.[field] ?? []);

function roleSelect(value, onChange) {
  const select = el('select', { onchange: onChange }, roles.map((r) => el('option', { value: r }, r)));
  select.value = value;
  return select;
}

function renderUsers(users) {
  syncRows($('#users tbody'), users, {
    key: (u) => u.name,
    decorate: (tr, u) => (tr.dataset.name = u.name),
    columns: [
      { label: 'User', cell: (u) => el('span', {}, u.name, u.name === session.user ? badge('you') : '') },
      { label: 'Role', cell: (u, td) => controls(td, u, () => roleSelect(u.role, (e) => attempt(async () => {
        const user = td.parentElement.item;
        await api('PATCH', `/api/v1/users/${encodeURIComponent(user.name)}`, { role: e.target.value });
        flash(`${user.name} is now ${e.target.value}`);
        await loadAccounts();
      }, { out: $('#accounts-error') })), (cell, user) => {
        if (document.activeElement !== cell.firstChild) cell.firstChild.value = user.role;
      }) },
      { label: '', cell: (u, td) => controls(td, u, () => {
        const password = el('input', { type: 'password', placeholder: 'new password', autocomplete: 'new-password', 'aria-label': `new password for ${u.name}` });
        return el('span', { className: 'actions' }, password,
          el('button', { type: 'button', onclick: (e) => attempt(async () => {
            const user = td.parentElement.item;
            await api('PATCH', `/api/v1/users/${encodeURIComponent(user.name)}`, { password: password.value });
            password.value = '';
            flash(`password of ${user.name} changed`);
          }, { button: e.target, out: $('#accounts-error') }) }, 'Set password'),
          u.name === session.user ? '' : el('button', { type: 'button', className: 'danger', onclick: () => {
            const user = td.parentElement.item;
            confirmIn($('#account-confirm'), {
              title: `Delete user ${user.name}?`, details: 'Their sessions end at their next request.', confirmLabel: `Delete ${user.name}`, danger: true,
              run: async () => {
                await api('DELETE', `/api/v1/users/${encodeURIComponent(user.name)}`);
                await loadAccounts();
              },
            });
          } }, 'Delete'));
      }, () => {}) },
    ],
  });
}

function renderApiTokens(tokens) {
  syncRows($('#api-tokens tbody'), tokens, {
    key: (t) => t.id,
    empty: 'No API tokens.',
    columns: [
      { label: 'Token', cell: (t) => `${t.name || '(unnamed)'}: ${t.id}${t.user ? `, of ${t.user}` : ''}${t.createdAt ? `, made ${new Date(t.createdAt).toLocaleString()}` : ''}` },
      { label: 'Role', cell: (t) => t.role },
      { label: '', cell: (t, td) => controls(td, t, () => el('button', { type: 'button', className: 'danger', onclick: () => {
        const token = td.parentElement.item;
        confirmIn($('#account-confirm'), {
          title: `Revoke API token ${token.name || token.id}?`, details: 'Whatever uses it is refused from then on.', confirmLabel: 'Revoke', danger: true,
          run: async () => {
            await api('DELETE', `/api/v1/api-tokens/${encodeURIComponent(token.id)}`);
            await loadAccounts();
          },
        });
      } }, 'Revoke'), () => {}) },
    ],
  });
}

async function loadAccounts() {
  await attempt(async () => {
    const [users, tokens] = await Promise.all([api('GET', '/api/v1/users'), api('GET', '/api/v1/api-tokens')]);
    renderUsers(listOf(users, 'users'));
    renderApiTokens(listOf(tokens, 'tokens'));
    $('#accounts-error').textContent = '';
  }, { out: $('#accounts-error') });
}

for (const select of $$('select.role-select')) select.replaceChildren(...roles.map((r) => el('option', { value: r }, r)));

// ---- viewer lines ------------------------------------------------------------------------------

/** The get.php URL a player loads for `line` (its password is not known here: a placeholder). */
function linePlaylistUrl(line) {
  return `${location.origin}/get.php?username=${encodeURIComponent(line.username)}&password=<password>&type=m3u_plus&output=ts`;
}

function renderLines(lines) {
  syncRows($('#line-table tbody'), lines, {
    key: (l) => l.username,
    empty: 'No viewer lines yet.',
    columns: [
      { label: 'Line', cell: (l) => l.username },
      { label: 'Connections', className: 'num', cell: (l) => `at most ${l.maxConnections}` },
      { label: 'Expires', cell: (l) => (l.expiresAt === null ? 'never' : new Date(l.expiresAt).toLocaleDateString()) },
      { label: 'State', cell: (l) => (!l.enabled ? 'disabled' : l.expiresAt !== null && Date.parse(l.expiresAt) <= Date.now() ? 'expired' : 'active') },
      { label: 'Player playlist', cell: (l) => el('code', {}, linePlaylistUrl(l)) },
      { label: '', cell: (l, td) => controls(td, l, () => el('span', { className: 'actions', dataset: { needs: 'operator' } },
        el('button', { type: 'button', dataset: { role: 'toggle' }, onclick: () => attempt(async () => {
          const line = td.parentElement.item;
          await api('PATCH', `/api/v1/lines/${encodeURIComponent(line.username)}`, { enabled: !line.enabled });
          await loadLines();
        }, { out: $('#lines-error') }) }),
        el('button', { type: 'button', className: 'danger', onclick: () => {
          const line = td.parentElement.item;
          confirmIn($('#line-confirm'), {
            title: `Delete line ${line.username}?`, details: 'Players using it are refused from then on.', confirmLabel: 'Delete', danger: true,
            run: async () => {
              await api('DELETE', `/api/v1/lines/${encodeURIComponent(line.username)}`);
              await loadLines();
            },
          });
        } }, 'Delete')), (cell, l) => {
        $('[data-role=toggle]', cell).textContent = l.enabled ? 'Disable' : 'Enable';
      }) },
    ],
  });
}

async function loadLines() {
  await attempt(async () => {
    renderLines(await api('GET', '/api/v1/lines'));
    $('#lines-error').textContent = '';
  }, { out: $('#lines-error') });
}

views.lines = {
  enter() {
    $('#line-confirm').hidden = true;
    void loadLines();
  },
};

$('#line-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  await attempt(async () => {
    const expires = form.get('expiresAt');
    await api('POST', '/api/v1/lines', {
      username: form.get('username'), password: form.get('password'), maxConnections: Number(form.get('maxConnections')),
      expiresAt: expires === '' ? null : new Date(`${expires}T23:59:59Z`).toISOString(),
    });
    flash(`Line ${form.get('username')} added`);
    e.target.reset();
    await loadLines();
  }, { button: $('button', e.target), out: $('#lines-error') });
});

views.accounts = {
  enter() {
    $('#account-confirm').hidden = true;
    $('#api-token-created').hidden = true;
    void loadAccounts();
  },
};

$('#user-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  await attempt(async () => {
    await api('POST', '/api/v1/users', { name: form.get('name'), password: form.get('password'), role: form.get('role') });
    flash(`User ${form.get('name')} added`);
    e.target.reset();
    await loadAccounts();
  }, { button: $('button', e.target), out: $('#accounts-error') });
});

$('#api-token-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  await attempt(async () => {
    const body = { role: form.get('role') };
    if (form.get('name') !== '') body.name = form.get('name');
    const created = await api('POST', '/api/v1/api-tokens', body);
    $('#api-token-value').textContent = created.token;
    $('#api-token-created').hidden = false;
    e.target.reset();
    await loadAccounts();
  }, { button: $('button', e.target), out: $('#accounts-error') });
});

// Copy buttons (data-copy names the element whose text they copy). The clipboard needs a secure
// origin (https or localhost); elsewhere the text is selected for Ctrl+C.
document.addEventListener('click', async (e) => {
  const button = e.target.closest('button[data-copy]');
  if (button === null) return;
  const source = $(button.dataset.copy);
  try {
    await window.navigator.clipboard.writeText(source.textContent);
    flash('Copied');
  } catch (err) {
    const range = document.createRange();
    range.selectNodeContents(source);
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
    flash(`Selected (${err.message}): press Ctrl+C to copy`);
  }
});

// ---- start ----------------------------------------------------------------------------------------

/** Whether the views were shown once (then a new login reloads the page). */
let started = false;

async function start() {
  started = true;
  listen();
  route();
  try {
    live.servedBy = (await api('GET', '/api/v1/health')).nodeId;
  } catch (err) {
    console.info(`which node serves this page is unknown: ${err.message}`);
  }
}

fetch('/api/v1/me', { credentials: 'same-origin' }).then(async (r) => {
  if (!r.ok) return showLogin();
  applySession(await r.json());
  return start();
}, showLogin);
