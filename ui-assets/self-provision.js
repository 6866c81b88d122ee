// self-provision.js - the token holder's page. The token comes from the URL fragment
// (#token=...), is dropped from the address bar at once, and is only ever sent as an
// Authorization: Bearer header.
import { api, h, clear, alertBox, stateLabel, showProblems, fmtTime, copyText } from './api.js';
import { header } from './shell.js';
import { input, select, buildSpec, dockerEnv } from './fields.js';

const main = document.getElementById('main');
const frag = new URLSearchParams(location.hash.slice(1));
let token = frag.get('token') || sessionStorage.getItem('vic.sp.token') || '';
if (frag.get('token')) {
  sessionStorage.setItem('vic.sp.token', token);
  history.replaceState(null, '', location.pathname);
}
const call = (m, p, b) => api(m, p, b, { bearer: token });

const limitsBox = h('div#limits');
const form = h('form.clr-form.vic-form#sp-form', { novalidate: true });
const formMsg = h('div#sp-messages');
const vchList = h('div#sp-vchs');
let poll = null;

const kv = (pairs) => h('dl.vic-kv', pairs.map(([k, v]) => [h('dt', k), h('dd', v ?? '—')]));
const ceiling = (v, unit) => (v === undefined || v === null || v < 0 ? 'no ceiling' : v + (unit ? ' ' + unit : ''));

function renderLimits(l) {
  const r = l.restrictions || {};
  const c = l.choices || {};
  clear(limitsBox, h('div.card', h('div.card-header', 'What this token allows'), h('div.card-block', h('div.vic-grid',
    kv([['Issued to', l.sub], ['Expires', fmtTime(l.expires_at)],
      ['Uses', l.uses ? (l.uses.consumed + ' used of ' + (l.uses.allowed ?? 'unlimited')) : '—'],
      ['VCHs', l.vchs ? (l.vchs.count + ' of ' + (l.vchs.max ?? 'unlimited')) : '—'],
      ['Name prefix', r.name_prefix || '(any name)'], ['TLS required', r.tls_required ? 'yes' : 'no']]),
    kv([['Image datastores', (c.image_datastores || []).join(', ') || 'none'],
      ['Volume datastores', (c.volume_datastores || []).join(', ') || 'none'],
      ['Networks', (c.networks || []).join(', ') || 'none'],
      ['CPU', ceiling(r.cpu_mhz, 'MHz')], ['Memory', ceiling(r.memory_mb, 'MiB')],
      ['Storage', ceiling(r.storage_gb, 'GB')], ['Containers per VCH', ceiling(r.containers_per_vch)]])))));
}

function buildForm(l) {
  const r = l.restrictions || {};
  const c = l.choices || {};
  const opts = (list) => (list || []).map((x) => [x, x]);
  form.append(
    input('name', 'VCH name', { path: 'name', value: (r.name_prefix || '') + 'vch', maxlength: 80, required: true,
      help: r.name_prefix ? 'Must start with ' + r.name_prefix : 'Up to 80 characters.' }),
    select('image_store', 'Image datastore', opts(c.image_datastores), { path: 'storage.image_stores' }),
    select('volume_ds', 'Volume store datastore', [['', 'Default (a store of its own)'], ...opts(c.volume_datastores), ['-', 'No volume store']], { path: 'storage.volume_stores' }),
    (c.networks || []).length ? select('public_network', 'Public network', [['', '(default)'], ...opts(c.networks)], { path: 'network.public' }) : null,
    input('cpu', 'CPU limit (MHz)', { path: 'compute.cpu', type: 'number', min: 1, placeholder: r.cpu_mhz > 0 ? 'at most ' + r.cpu_mhz : 'Unlimited' }),
    input('memory', 'Memory limit (MiB)', { path: 'compute.memory', type: 'number', min: 1, placeholder: r.memory_mb > 0 ? 'at most ' + r.memory_mb : 'Unlimited' }),
    h('div.vic-step-nav', h('button.btn.btn-primary#sp-create', { type: 'submit' }, 'Create VCH')));
  form.addEventListener('submit', submit);
}

async function submit(e) {
  e.preventDefault();
  const f = form.elements;
  const ds = f.volume_ds.value;
  const v = {
    name: f.name.value, imageStore: f.image_store.value, cpu: f.cpu.value, memory: f.memory.value,
    // A holder names a datastore only; the server gives the store a folder of its own. Left at
    // the default, the server chooses (the VCH's own folder where the token allows it).
    volumeStores: ds === '' ? undefined : ds === '-' ? [] : [{ datastore: ds, label: 'default' }],
    publicNetwork: f.public_network ? f.public_network.value : '',
  };
  const btn = document.getElementById('sp-create');
  btn.disabled = true;
  clear(formMsg);
  try {
    const r = await call('POST', '/container/self-provision', buildSpec(v));
    showProblems(form, []);
    clear(formMsg, alertBox('info', 'Creating ' + (r.name || v.name) + '… its state shows below.'));
    loadVchs();
  } catch (ex) {
    const rest = showProblems(form, ex.problems && ex.problems.length ? ex.problems : [ex.message]);
    clear(formMsg, alertBox('danger', ex.message, rest.length > 1 ? h('ul', rest.map((p) => h('li', p))) : null));
  } finally {
    btn.disabled = false;
  }
}

async function remove(v) {
  try {
    await call('DELETE', '/container/self-provision/vchs/' + encodeURIComponent(v.id));
    clear(formMsg, alertBox('info', 'Deleting ' + v.name + '…'));
    loadVchs();
  } catch (e) {
    clear(formMsg, alertBox('danger', e.message));
  }
}

async function loadVchs() {
  try {
    const r = await call('GET', '/container/self-provision/vchs');
    const vchs = r.vchs || [];
    clear(vchList, vchs.length ? h('table.table.table-compact#sp-vch-table',
      h('thead', h('tr', ['Name', 'State', 'Docker endpoint', 'Created', 'Actions'].map((t) => h('th', t)))),
      h('tbody', vchs.map((v) => {
        const rt = v.runtime || {};
        const env = rt.docker_host ? dockerEnv(v.name, rt.docker_host, false, rt.docker_env) : '';
        return h('tr', { 'data-vch': v.name }, h('td', v.name), h('td', stateLabel(rt.state || v.state || 'requested')),
          h('td', rt.docker_host ? h('div.vic-endpoint', h('code.vic-mono', rt.docker_host),
            h('button.btn.btn-sm.btn-link', { type: 'button', onclick: (e) => copyText(env, e.currentTarget) }, 'Copy env')) : '—'),
          h('td', fmtTime(v.created || v.created_at)),
          h('td', h('button.btn.btn-sm.btn-danger-outline', { type: 'button', onclick: () => remove(v) }, 'Delete')));
      })))
      : h('div.vic-empty', 'You have no VCH yet.'));
  } catch (e) {
    clear(vchList, alertBox('danger', e.message));
  }
}

async function init() {
  header(null, null);
  if (!token) {
    clear(main, alertBox('warning', 'This page needs the link you were given (it ends with #token=...).'));
    return;
  }
  let l;
  try {
    l = await call('GET', '/container/self-provision/limits');
  } catch (e) {
    sessionStorage.removeItem('vic.sp.token');
    clear(main, alertBox('danger', 'This token cannot be used: ' + e.message));
    return;
  }
  renderLimits(l);
  buildForm(l);
  clear(main, h('div.vic-page-head', h('h2', 'Request a Virtual Container Host')), limitsBox,
    h('div.card', h('div.card-header', 'New VCH'), h('div.card-block', formMsg, form)),
    h('h3', 'Your VCHs'), vchList);
  loadVchs();
  poll = setInterval(loadVchs, 3000);
}
init();
window.addEventListener('pagehide', () => clearInterval(poll));
