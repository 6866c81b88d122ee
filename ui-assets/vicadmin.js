// The VCH admin portal (served by vicadmin on the VCH's address, port 2378): a dashboard of
// the appliance's health, each component's log (followed live) and a support bundle.
const $ = (sel) => document.querySelector(sel);
let source = null;

function text(el, value) { el.textContent = value == null ? '' : String(value); }

function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) { const td = document.createElement('td'); text(td, c); tr.append(td); }
  return tr;
}

function uptime(s) {
  if (!s) return '—';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h} h ${m} min` : m ? `${m} min` : `${s} s`;
}

function fact(dl, term, value) {
  const dt = document.createElement('dt'); text(dt, term);
  const dd = document.createElement('dd'); text(dd, value);
  dl.append(dt, dd);
}

async function call(method, path, body) {
  const r = await fetch(path, {
    method, credentials: 'same-origin',
    // X-Requested-With: a 401 then carries no Basic challenge, so no browser dialog
    headers: body ? { 'Content-Type': 'application/json', 'X-Requested-With': 'fetch' } : { 'X-Requested-With': 'fetch' },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!r.ok) {
    let msg = r.statusText;
    try { msg = (await r.json()).message || msg; } catch { /* not JSON */ }
    if (r.status === 401 && path !== '/api/login') showLogin();
    throw new Error(msg);
  }
  return r.headers.get('Content-Type')?.startsWith('application/json') ? r.json() : r.text();
}

function showLogin() {
  $('#dashboard').hidden = true;
  $('#logout').hidden = true;
  $('#login-view').hidden = false;
}

async function loadDashboard() {
  const d = await call('GET', '/api/dashboard');
  $('#login-view').hidden = true;
  $('#dashboard').hidden = false;
  $('#logout').hidden = false;
  text($('#vch-name'), d.name + ' (' + d.version + ')');
  const w = $('#warnings');
  w.replaceChildren();
  for (const msg of d.warnings || []) {
    const div = document.createElement('div');
    div.className = 'alert alert-warning';
    div.setAttribute('role', 'alert');
    text(div, msg);
    w.append(div);
  }
  const tbody = $('#components tbody');
  tbody.replaceChildren();
  for (const [name, c] of Object.entries(d.components || {})) {
    const tr = row([name, c.state, c.pid || '—', uptime(c.uptime_s), c.restarts]);
    tr.dataset.component = name;
    tbody.append(tr);
  }
  const dl = $('#facts');
  dl.replaceChildren();
  fact(dl, 'Docker endpoint', d.docker.address + (d.docker.answers ? ' (answering)' : ' (not answering)'));
  const img = d.storage && d.storage.images;
  if (img) fact(dl, 'Image datastore', `${img.free_mb} MB free of ${img.capacity_mb} MB`);
  if (d.pool) {
    const lim = (v, u) => (v < 0 ? 'unlimited' : v + ' ' + u);
    fact(dl, 'Resource pool', d.pool.path);
    fact(dl, 'CPU limit', lim(d.pool.cpu.limit_mhz, 'MHz') + ' — ' + d.pool.cpu.enforcement);
    fact(dl, 'Memory limit', lim(d.pool.memory.limit_mb, 'MB') + ' — ' + d.pool.memory.enforcement);
  }
  const counts = Object.entries(d.containers || {}).map(([s, n]) => `${n} ${s}`).join(', ');
  fact(dl, 'Containers', counts || 'none');
  for (const r of d.registries || []) fact(dl, 'Registry ' + r.registry, r.reachable ? 'reachable' : 'unreachable');
}

async function showLog() {
  if (source) { source.close(); source = null; }
  const comp = $('#log-component').value;
  text($('#log'), await call('GET', '/api/logs/' + encodeURIComponent(comp) + '?tail=200'));
}

function follow() {
  if (source) source.close();
  const comp = $('#log-component').value;
  const pre = $('#log');
  text(pre, '');
  source = new EventSource('/api/logs/' + encodeURIComponent(comp) + '/follow');
  source.addEventListener('log', (m) => {
    pre.textContent += m.data + '\n';
    pre.scrollTop = pre.scrollHeight;
  });
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('#login-error');
  err.replaceChildren();
  try {
    await call('POST', '/api/login', { username: $('#username').value, password: $('#password').value });
    await loadDashboard();
    await showLog();
  } catch (e) {
    const div = document.createElement('div');
    div.className = 'alert alert-danger';
    div.setAttribute('role', 'alert');
    text(div, e.message);
    err.append(div);
  }
});
$('#logout').addEventListener('click', async () => { await call('POST', '/api/logout').catch(() => {}); showLogin(); });
$('#log-component').addEventListener('change', () => showLog().catch(() => {}));
$('#follow').addEventListener('click', follow);

loadDashboard().then(showLog).then(() => setInterval(() => loadDashboard().catch(() => {}), 5000)).catch(() => {});
