// The dashboard: plain JavaScript against the REST API with the session cookie. Views follow
// the URL hash; the cluster and the streams refresh from /api/v1/events (server-sent events).
'use strict';

const $ = (selector) => document.querySelector(selector);
const text = (value) => (value === null || value === undefined ? '' : String(value));

async function api(method, path, body, contentType) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['content-type'] = contentType ?? 'application/json';
    init.body = contentType === undefined ? JSON.stringify(body) : body;
  }
  const res = await fetch(path, init);
  if (res.status === 401 && path !== '/api/v1/login') {
    showLogin();
    throw new Error('logged out');
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new Error(data?.message ?? `HTTP ${res.status}`);
  return data;
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement('td');
    if (cell instanceof Node) td.append(cell);
    else td.textContent = text(cell);
    tr.append(td);
  }
  return tr;
}

function button(label, onClick) {
  const b = document.createElement('button');
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}

function span(value, className) {
  const s = document.createElement('span');
  s.textContent = value;
  s.className = className;
  return s;
}

// ---- views ------------------------------------------------------------------------------------

function showLogin() {
  $('#nav').hidden = true;
  for (const view of document.querySelectorAll('.view')) view.hidden = true;
  $('#login').hidden = false;
}

function showView() {
  const name = (location.hash || '#cluster').slice(1);
  $('#login').hidden = true;
  $('#nav').hidden = false;
  for (const view of document.querySelectorAll('.view')) view.hidden = view.id !== name;
}

let nodeNames = {};

function renderCluster(cluster) {
  nodeNames = Object.fromEntries(cluster.nodes.map((n) => [n.id, n.name]));
  $('#cluster-summary').textContent = `term ${cluster.term}, leader ${cluster.leader?.name ?? 'none'}`;
  const body = $('#nodes tbody');
  body.replaceChildren(...cluster.nodes.map((n) => row([
    n.name, n.role, span(n.state + (n.enabled ? '' : ', disabled') + (n.draining ? ', draining' : ''), `state-${n.state}`),
    `${n.cpuPct.toFixed(1)} %`, `${n.memPct.toFixed(1)} %`, chart(n.id), n.streams, n.groups.join(', '),
    actions(n),
  ])));
}

function actions(n) {
  const box = document.createElement('span');
  const act = (action) => () => api('POST', `/api/v1/nodes/${n.id}/${action}`).catch((err) => alert(err.message));
  box.append(
    n.enabled && !n.draining ? button('Drain', act('drain')) : button('Enable', act('enable')),
    ' ',
    n.enabled ? button('Disable', act('disable')) : '',
    ' ',
    button('Log', async () => {
      $('#node-log-title').hidden = false;
      $('#node-log').hidden = false;
      $('#node-log-title').textContent = `${n.name}: last log lines`;
      try {
        $('#node-log').textContent = (await api('GET', `/api/v1/nodes/${n.id}/log`)).lines.join('\n');
      } catch (err) {
        $('#node-log').textContent = err.message;
      }
    }),
  );
  return box;
}

function renderStreams(streams) {
  const body = $('#stream-table tbody');
  body.replaceChildren(...streams.map((s) => row([
    s.id, s.name, span(s.status, `status-${s.status}`), nodeNames[s.nodeId] ?? text(s.nodeId),
    s.bitrateKbps === null ? '' : `${Math.round(s.bitrateKbps)} kb/s`, s.restarts, s.source ?? '',
    button('Open', () => openStream(s)),
  ])));
}

let player = null;

async function openStream(s) {
  $('#detail').hidden = false;
  $('#detail-title').textContent = `${s.name} (${s.id}) at ${location.origin}${s.url}`;
  const video = $('#preview');
  if (player !== null) player.destroy();
  if (window.Hls && Hls.isSupported()) {
    player = new Hls();
    player.loadSource(s.url);
    player.attachMedia(video);
  } else {
    video.src = s.url;
  }
  video.play().catch(() => {});
  $('#probe-result').hidden = true;
  $('#probe').onclick = async () => {
    $('#probe-result').hidden = false;
    $('#probe-result').textContent = 'probing (a few seconds)...';
    try {
      const source = s.config.sources[0];
      const r = await api('POST', '/api/v1/probe', { url: source.url, userAgent: source.userAgent, referrer: source.referrer, ...(s.nodeId ? { nodeId: s.nodeId } : {}) });
      $('#probe-result').textContent = `${r.ok ? 'OK' : 'FAILED'} in ${r.ms} ms on ${nodeNames[r.nodeId] ?? r.nodeId}\n${(r.ok ? r.streams : r.lines).join('\n')}`;
    } catch (err) {
      $('#probe-result').textContent = err.message;
    }
  };
  try {
    const why = await api('GET', `/api/v1/placement/explain?stream=${encodeURIComponent(s.id)}`);
    $('#explain tbody').replaceChildren(...why.nodes.map((n) => row([
      n.name + (n.nodeId === why.nodeId ? ' (chosen)' : ''), n.feasible ? 'fits' : n.reason?.message ?? '', n.score === null ? '' : n.score.toFixed(3),
    ])));
  } catch (err) {
    $('#explain tbody').replaceChildren(row([err.message]));
  }
  try {
    const log = await api('GET', `/api/v1/streams/${encodeURIComponent(s.id)}/log`);
    $('#log').textContent = log.lines.join('\n') || '(no output yet)';
  } catch (err) {
    $('#log').textContent = err.message;
  }
}

// ---- charts: each node's last hour, refreshed every 10 s ----------------------------------------

const histories = {};
let historyFetchedAt = 0;

async function refreshHistories(ids) {
  if (Date.now() - historyFetchedAt < 10_000) return;
  historyFetchedAt = Date.now();
  for (const id of ids) {
    try {
      histories[id] = (await api('GET', `/api/v1/nodes/${id}/history`)).samples;
    } catch {
      // shown empty until the next refresh
    }
  }
}

/** An inline SVG: cpu (blue) and memory (grey) over the samples, 0-100 %. */
function chart(id) {
  const samples = histories[id] ?? [];
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 120 30');
  svg.setAttribute('width', '120');
  svg.setAttribute('height', '30');
  for (const [field, color] of [['memPct', '#a7aaad'], ['cpuPct', '#2271b1']]) {
    if (samples.length < 2) continue;
    const points = samples.map((s, i) => `${(i / (samples.length - 1)) * 120},${30 - (s[field] / 100) * 30}`).join(' ');
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', points);
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', color);
    svg.append(line);
  }
  return svg;
}

// ---- live updates -----------------------------------------------------------------------------

let events = null;

function listen() {
  if (events !== null) events.close();
  events = new EventSource('/api/v1/events');
  events.addEventListener('snapshot', (e) => {
    const data = JSON.parse(e.data);
    renderCluster(data.cluster);
    void refreshHistories(data.cluster.nodes.map((n) => n.id));
    renderStreams(data.streams);
  });
  events.addEventListener('error', () => {
    // The browser reconnects by itself; a 401 means the session ended.
    fetch('/api/v1/me', { credentials: 'same-origin' }).then((r) => { if (r.status === 401) { events.close(); showLogin(); } });
  });
}

// ---- forms ------------------------------------------------------------------------------------

$('#login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  try {
    await api('POST', '/api/v1/login', { username: form.get('username'), password: form.get('password') });
    $('#login-error').textContent = '';
    start();
  } catch (err) {
    $('#login-error').textContent = err.message;
  }
});

$('#logout').addEventListener('click', async () => {
  await api('POST', '/api/v1/logout').catch(() => {});
  events?.close();
  showLogin();
});

$('#stream-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  try {
    await api('POST', '/api/v1/streams', {
      id: form.get('id'), name: form.get('name'), sources: [{ url: form.get('url') }], profile: 'copy',
      policy: form.get('hotStandby') ? { hotStandby: true } : {},
    });
    $('#stream-error').textContent = '';
    e.target.reset();
  } catch (err) {
    $('#stream-error').textContent = err.message;
  }
});

async function importM3u(dryRun) {
  try {
    const result = await api('POST', `/api/v1/import/m3u?dryRun=${dryRun}`, $('#m3u').value, 'audio/x-mpegurl');
    const list = (items) => items.map((i) => `<li>${escapeHtml(i)}</li>`).join('');
    $('#m3u-result').innerHTML = `<p>${dryRun ? 'Would create' : 'Created'} ${result.created.length}, skipped ${result.skipped.length}.</p>` +
      `<ul>${list(result.created)}</ul><ul>${list(result.skipped.map((s) => `line ${s.line} ${s.title}: ${s.reason}`))}</ul>`;
  } catch (err) {
    $('#m3u-result').textContent = err.message;
  }
}

function escapeHtml(value) {
  return text(value).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

$('#m3u-preview').addEventListener('click', () => importM3u(true));
$('#m3u-import').addEventListener('click', () => importM3u(false));

$('#token-create').addEventListener('click', async () => {
  try {
    const t = await api('POST', '/api/v1/join-tokens', {});
    $('#join-command').textContent = `ottmesh join ${t.token} --data-dir /var/lib/ottmesh --host <this server's address>\n\n(valid until ${t.expiresAt}, ${t.uses} use)`;
  } catch (err) {
    $('#join-command').textContent = err.message;
  }
});

async function loadPolicy() {
  try {
    const [policy, services, groups] = await Promise.all([api('GET', '/api/v1/policy'), api('GET', '/api/v1/services'), api('GET', '/api/v1/groups')]);
    $('#policy-json').value = JSON.stringify(policy.policy, null, 2);
    $('#services tbody').replaceChildren(...services.map((s) => row([s.id, s.name, JSON.stringify(s.policy), `${s.hls.segmentS} s x ${s.hls.windowSegments}, ${s.hls.mode}`, s.streams.join(', ')])));
    $('#groups tbody').replaceChildren(...groups.map((g) => row([g.name, g.priority, g.nodes.map((id) => nodeNames[id] ?? id).join(', ')])));
  } catch (err) {
    $('#policy-result').textContent = err.message;
  }
}

function policyFromEditor() {
  try {
    return JSON.parse($('#policy-json').value || '{}');
  } catch (err) {
    throw new Error(`the policy is not valid JSON: ${err.message}`, { cause: err });
  }
}

$('#policy-plan').addEventListener('click', async () => {
  try {
    const plan = await api('POST', '/api/v1/placement/plan', { policy: policyFromEditor() });
    $('#policy-result').textContent = plan.moves.length === 0 ? 'Nothing would move.' :
      plan.moves.map((m) => `${m.streamId}: ${m.kind} ${nodeNames[m.from] ?? m.from ?? '-'} -> ${nodeNames[m.to] ?? m.to ?? '-'} (${m.why})`).join('\n') +
      (plan.unplaced > 0 ? `\n${plan.unplaced} stream(s) would have no node` : '');
  } catch (err) {
    $('#policy-result').textContent = err.message;
  }
});

$('#policy-save').addEventListener('click', async () => {
  try {
    await api('PUT', '/api/v1/policy', { policy: policyFromEditor() });
    $('#policy-result').textContent = 'Saved.';
  } catch (err) {
    $('#policy-result').textContent = err.message;
  }
});

$('#group-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  try {
    await api('PUT', `/api/v1/groups/${encodeURIComponent(form.get('name'))}`, { priority: Number(form.get('priority')) });
    await loadPolicy();
  } catch (err) {
    $('#policy-result').textContent = err.message;
  }
});

window.addEventListener('hashchange', () => {
  showView();
  if (location.hash === '#policy') void loadPolicy();
});

async function start() {
  showView();
  listen();
  if (location.hash === '#policy') void loadPolicy();
}

fetch('/api/v1/me', { credentials: 'same-origin' }).then((r) => (r.ok ? start() : showLogin()), showLogin);
