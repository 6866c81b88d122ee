// vch.js - one VCH: its summary, and its containers (refreshed) with details, logs and actions.
import { api, h, clear, alertBox, stateLabel, copyText, vchPath, fmtTime } from './api.js';
import { start, pageTitle } from './shell.js';
import { dockerEnv } from './fields.js';

const main = document.getElementById('main');
const id = decodeURIComponent(location.pathname.replace(/^\/vch\//, ''));
const base = vchPath(id);
const summary = h('div#vch-summary');
const containers = h('div#containers');
const drawer = h('div#container-view');
const msg = h('div#vch-messages');
let selected = null;

const kv = (pairs) => h('dl.vic-kv', pairs.filter(Boolean).map(([k, v]) => [h('dt', k), h('dd', v ?? '—')]));

async function loadSummary() {
  const v = await api('GET', base);
  const rt = v.runtime || {};
  const comps = rt.components || {};
  const env = rt.docker_host ? dockerEnv(v.name, rt.docker_host, v.auth && v.auth.no_tls, rt.docker_env) : '';
  clear(summary, h('div.vic-grid',
    h('div.card', h('div.card-header', 'Summary'), h('div.card-block', kv([
      ['State', stateLabel(rt.state || rt.power_state)], ['Power', rt.power_state],
      ['Docker endpoint', rt.docker_host ? h('div.vic-endpoint', h('code.vic-mono#docker-host', rt.docker_host),
        h('button.btn.btn-sm.btn-link', { type: 'button', onclick: (e) => copyText(env, e.currentTarget) }, 'Copy env')) : '—'],
      ['Admin portal', rt.admin_portal ? h('a#admin-portal', { href: rt.admin_portal, target: '_blank', rel: 'noopener' }, rt.admin_portal) : '—'],
      ['Address', rt.address], ['Version', rt.version || v.version], ['Upgrade', rt.upgrade_status],
      ['Containers', String(rt.containers ?? '—')], ['Created by', rt.created_by], ['Resource pool', rt.pool],
    ]))),
    h('div.card', h('div.card-header', 'Components'), h('div.card-block', Object.keys(comps).length
      ? kv(Object.entries(comps).map(([k, c]) => [k, stateLabel(typeof c === 'object' ? (c.state || c.status || JSON.stringify(c)) : c)]))
      : h('p.vic-muted', 'No component status reported.'))),
    h('div.card', h('div.card-header', 'Configuration'), h('div.card-block', kv([
      ['Image stores', ((v.storage || {}).image_stores || []).join(', ')],
      ['Volume stores', ((v.storage || {}).volume_stores || []).map((s) => s.datastore + ':' + (s.label || '')).join(', ') || 'None'],
      ['Bridge range', ((v.network || {}).bridge || {}).ip_range],
      ['TLS', v.auth && v.auth.no_tls ? 'off' : 'on'], ['Debug', String(v.debug ?? 0)],
    ])))));
  return v;
}

/* A published port as a link to it (the VCH's address and host port), or its text. */
function portLinks(c) {
  const ports = c.ports || [];
  if (!ports.length) return '—';
  return h('span', ports.map((p, i) => [i ? ', ' : '',
    h('a', { href: 'http://' + p.host_ip + ':' + p.host_port + '/', target: '_blank', rel: 'noopener' },
      p.host_ip + ':' + p.host_port + '→' + p.container_port + '/' + (p.protocol || 'tcp'))]).flat());
}

function mountsText(c) {
  const m = c.mounts || [];
  return m.length ? m.map((x) => x.volume + ' → ' + x.target + (x.mode === 'ro' ? ' (read-only)' : '')).join('\n') : '—';
}

function containerRow(c) {
  const row = h('tr', { 'data-container': c.name || c.id, class: selected === c.id ? 'selected' : null },
    h('td', h('button.btn.btn-link.btn-sm', { type: 'button', onclick: () => openContainer(c.id) }, c.name || c.id)),
    h('td.vic-mono', String(c.id).slice(0, 12)),
    h('td', c.image || '—'),
    h('td', stateLabel(c.state)),
    h('td', c.running ? '—' : String(c.exit_code ?? '—')),
    h('td', portLinks(c)),
    h('td', fmtTime(c.started_at)));
  return row;
}

async function loadContainers() {
  try {
    const r = await api('GET', base + '/containers');
    const list = r.containers || [];
    clear(containers, list.length
      ? h('table.table.table-compact#container-table',
        h('thead', h('tr', ['Name', 'ID', 'Image', 'State', 'Exit code', 'Ports', 'Started'].map((t) => h('th', t)))),
        h('tbody', list.map(containerRow)))
      : h('div.vic-empty', 'No containers. Run one with docker against the endpoint above.'));
  } catch (e) {
    clear(containers, alertBox(e.status === 404 ? 'info' : 'danger', e.status === 404
      ? 'Per-container insight is not available from this server yet.' : 'Cannot list containers: ' + e.message));
    return false;
  }
  return true;
}

async function action(cid, what) {
  try {
    if (what === 'remove') await api('DELETE', base + '/containers/' + encodeURIComponent(cid));
    else await api('POST', base + '/containers/' + encodeURIComponent(cid) + '/' + what);
    clear(msg, alertBox('success', 'Container ' + what + ': done.'));
    if (what === 'remove') { selected = null; clear(drawer); } else openContainer(cid);
    loadContainers();
  } catch (e) {
    clear(msg, alertBox('danger', 'Container ' + what + ' failed: ' + e.message));
  }
}

// Live CPU and memory of the open container: two samples give the CPU share, drawn as a
// small chart of the last minute (canvas, no library).
let statsTimer = null;
function statsView(cid) {
  if (statsTimer) clearInterval(statsTimer);
  const label = h('div.vic-mono#container-stats', 'Measuring…');
  const canvas = h('canvas#cpu-chart', { width: 480, height: 80, 'aria-label': 'CPU use over the last minute' });
  const points = [];
  let prev = null;
  const draw = () => {
    const g = canvas.getContext('2d');
    if (!g) return;
    g.clearRect(0, 0, canvas.width, canvas.height);
    g.strokeStyle = '#0072a3';
    g.lineWidth = 2;
    g.beginPath();
    const max = Math.max(100, ...points);
    points.forEach((v, i) => {
      const x = (i / 29) * (canvas.width - 2) + 1;
      const y = canvas.height - 2 - (v / max) * (canvas.height - 4);
      if (i) g.lineTo(x, y); else g.moveTo(x, y);
    });
    g.stroke();
  };
  const sample = async () => {
    if (selected !== cid) { clearInterval(statsTimer); return; }
    let st;
    try {
      st = await api('GET', base + '/containers/' + encodeURIComponent(cid) + '/stats');
    } catch (e) {
      label.textContent = 'CPU and memory unavailable: ' + e.message;
      return;
    }
    const mem = st.memory_bytes ? (st.memory_bytes / 1048576).toFixed(1) + ' MB' : 'not accounted';
    const lim = st.memory_limit_bytes ? ' of ' + (st.memory_limit_bytes / 1048576).toFixed(0) + ' MB' : '';
    let cpu = '—';
    if (prev && st.time_ns > prev.time_ns && st.running) {
      const share = (100 * (st.cpu_ns - prev.cpu_ns)) / (st.time_ns - prev.time_ns);
      cpu = Math.max(0, share).toFixed(1) + ' %';
      points.push(Math.max(0, share));
      if (points.length > 30) points.shift();
      draw();
    }
    label.textContent = st.running ? `CPU ${cpu} (of one CPU)   memory ${mem}${lim}` : 'Not running';
    prev = st;
  };
  sample();
  statsTimer = setInterval(sample, 2000);
  return h('div', label, canvas);
}

async function openContainer(cid) {
  selected = cid;
  let c;
  try {
    c = await api('GET', base + '/containers/' + encodeURIComponent(cid));
  } catch (e) {
    clear(drawer, alertBox('danger', 'Container ' + cid + ': ' + e.message));
    return;
  }
  const cfg = c.config || {};
  const logs = h('pre.vic-pre#container-logs', 'Loading logs…');
  clear(drawer, h('div.vic-drawer',
    h('div.vic-page-head', h('h3', c.name || c.id),
      h('div.vic-page-actions',
        h('button.btn.btn-sm.btn-outline', { type: 'button', disabled: !!c.running, onclick: () => action(cid, 'start') }, 'Start'),
        h('button.btn.btn-sm.btn-outline', { type: 'button', disabled: !c.running, onclick: () => action(cid, 'stop') }, 'Stop'),
        h('button.btn.btn-sm.btn-danger-outline', { type: 'button', onclick: () => action(cid, 'remove') }, 'Remove'),
        h('button.btn.btn-sm.btn-link', { type: 'button', onclick: () => { selected = null; clear(drawer); } }, 'Close'))),
    h('div.vic-grid',
      kv([['ID', h('span.vic-mono', c.id)], ['Image', c.image], ['State', stateLabel(c.state)],
        ['Exit code', String(c.exit_code ?? '—')], ['Started', fmtTime(c.started_at)], ['Finished', fmtTime(c.finished_at)]]),
      kv([['Command', [].concat(cfg.cmd || []).join(' ')], ['Working dir', cfg.workdir],
        ['Environment', h('span.vic-mono', [].concat(cfg.env || []).join('\n'))],
        ['Ports', portLinks(c)], ['Volumes', h('span.vic-mono', mountsText(c))]])),
    h('h4', 'CPU and memory'), statsView(cid),
    h('h4', 'Logs (last 200 lines)'), logs));
  try {
    const text = await api('GET', base + '/containers/' + encodeURIComponent(cid) + '/logs?tail=200');
    logs.textContent = text || '(no output)';
  } catch (e) {
    logs.textContent = 'Logs unavailable: ' + e.message;
  }
}

start('list').then(async () => {
  const logBtn = h('button.btn.btn-sm.btn-outline', { type: 'button' }, 'Creation log');
  const logBox = h('div');
  logBtn.addEventListener('click', async () => {
    try { clear(logBox, h('pre.vic-pre#vch-log', await api('GET', base + '/log'))); } catch (e) { clear(logBox, alertBox('danger', e.message)); }
  });
  clear(main, pageTitle(id.replace(/^vm:/, ''), logBtn, h('a.btn.btn-sm.btn-outline', { href: '/' }, 'All VCHs')),
    msg, summary, logBox, h('h3', 'Containers'), containers, drawer);
  try {
    await loadSummary();
  } catch (e) {
    clear(summary, alertBox('danger', 'Cannot load ' + id + ': ' + e.message));
    return;
  }
  if (await loadContainers()) setInterval(loadContainers, 4000);
  setInterval(() => loadSummary().catch(() => {}), 15000);
}).catch(() => {});
