// fields.js - labelled Clarity form controls, the VCH spec built from them, and the progress
// view of a lifecycle task. Shared by the create wizard and the self-provision page.
import { h } from './api.js';

let seq = 0;

// A text/number input with its label; opts: {path, type, value, placeholder, help, min, max,
// maxlength, required, list}.
export function input(id, label, opts = {}) {
  const el = h('input.clr-input', {
    id, name: id, type: opts.type || 'text', value: opts.value ?? '', placeholder: opts.placeholder,
    'data-path': opts.path, min: opts.min, max: opts.max, maxlength: opts.maxlength,
    required: opts.required, 'aria-describedby': opts.help ? id + '-help' : null,
    autocomplete: 'off', spellcheck: 'false',
  });
  return control(id, label, el, opts.help);
}

export function select(id, label, options, opts = {}) {
  const el = h('select.clr-select', { id, name: id, 'data-path': opts.path,
    'aria-describedby': opts.help ? id + '-help' : null },
  options.map(([v, t]) => h('option', { value: v, selected: String(v) === String(opts.value ?? '') }, t)));
  return control(id, label, h('div.clr-select-wrapper', el), opts.help);
}

export function control(id, label, field, help) {
  return h('div.clr-form-control',
    h('label.clr-control-label', { for: id }, label),
    h('div.clr-control-container',
      h('div.clr-input-wrapper', field),
      help ? h('div.clr-subtext#' + id + '-help', help) : null));
}

// Repeatable volume store rows: datastore path + label. A row given {auto: () => path}
// shows that path and follows it (the VCH's name and datastore may change in other steps)
// until its datastore is edited. Returns the reader of the rows, which brings such rows up
// to date first; an empty list means "no volume store".
export function volumeStores(container, rows, choices) {
  const list = h('div.vic-volume-rows');
  const autos = new Map();
  const add = (ds = '', label = '', auto = null) => {
    const i = list.children.length;
    const n = ++seq;
    const dsIn = choices && choices.length
      ? h('select.clr-select', { id: 'vs-ds-' + n, 'data-path': 'storage.volume_stores.' + i, 'aria-label': 'Volume store ' + (i + 1) + ' datastore' },
        choices.map((c) => h('option', { value: c, selected: ds.split('/')[0] === c }, c)))
      : h('input.clr-input', { id: 'vs-ds-' + n, value: auto ? auto() : ds, placeholder: 'datastore1/volumes/NAME',
        'data-path': 'storage.volume_stores.' + i, 'aria-label': 'Volume store ' + (i + 1) + ' datastore path' });
    if (auto) {
      autos.set(dsIn, auto);
      dsIn.addEventListener('input', () => autos.delete(dsIn));
    }
    const lbIn = h('input.clr-input', { id: 'vs-label-' + n, value: label, placeholder: i === 0 ? 'default' : 'label',
      'aria-label': 'Volume store ' + (i + 1) + ' label' });
    const row = h('div.vic-row.vic-volume-row', dsIn, h('span', ':'), lbIn,
      h('button.btn.btn-sm.btn-link', { type: 'button', 'aria-label': 'Remove volume store ' + (i + 1),
        onclick: () => { autos.delete(dsIn); row.remove(); renumber(); } }, 'Remove'));
    list.append(row);
  };
  const renumber = () => [...list.children].forEach((row, i) => {
    row.firstChild.dataset.path = 'storage.volume_stores.' + i;
  });
  for (const r of rows) add(r.datastore, r.label, r.auto);
  container.append(list, h('button.btn.btn-sm.btn-outline#add-volume-store', { type: 'button', onclick: () => add() }, 'Add volume store'));
  return () => [...list.querySelectorAll('.vic-volume-row')].map((row) => {
    const [ds, , lb] = row.children;
    if (autos.has(ds)) ds.value = autos.get(ds)();
    return { datastore: ds.value.trim(), label: lb.value.trim() };
  }).filter((v) => v.datastore);
}

const int = (v) => {
  const s = String(v ?? '').trim();
  return s === '' ? null : (/^\d+$/.test(s) ? Number(s) : s);
};

// The vic-machine-server VCH model from the wizard's values.
export function buildSpec(v) {
  const spec = { name: v.name.trim() };
  if (v.debug !== undefined && v.debug !== '') spec.debug = Number(v.debug);
  if (v.syslog) spec.syslog_addr = v.syslog.trim();
  const compute = {};
  if (int(v.cpu) !== null) compute.cpu = { limit: int(v.cpu) };
  if (int(v.memory) !== null) compute.memory = { limit: int(v.memory) };
  if (v.computeResource) compute.resource = { name: v.computeResource.trim() };
  if (Object.keys(compute).length) spec.compute = compute;
  const storage = {};
  if (v.imageStore) storage.image_stores = [v.imageStore.trim()];
  // absent: the target's default store; an empty list: none
  if (v.volumeStores) {
    storage.volume_stores = v.volumeStores.map((s) => (s.label ? s : { datastore: s.datastore }));
  }
  if (int(v.baseImageSize) !== null) storage.base_image_size = int(v.baseImageSize);
  if (Object.keys(storage).length) spec.storage = storage;
  const network = {};
  if (v.bridgeRange || v.bridgeNetwork) {
    network.bridge = {};
    if (v.bridgeRange) network.bridge.ip_range = v.bridgeRange.trim();
    if (v.bridgeNetwork) network.bridge.port_group = { name: v.bridgeNetwork.trim() };
  }
  if (v.publicNetwork) network.public = { port_group: { name: v.publicNetwork.trim() } };
  if (Object.keys(network).length) spec.network = network;
  if (v.noTls) spec.auth = { no_tls: true };
  else if (v.cname || v.org) {
    const gen = {};
    if (v.cname) gen.cname = v.cname.trim();
    if (v.org) gen.organization = v.org.trim();
    spec.auth = { server: { generate: gen } };
  }
  const insecure = (v.insecure || '').split(/[\s,]+/).filter(Boolean);
  if (insecure.length) spec.registry = { insecure };
  return spec;
}

const shq = (s) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : "'" + String(s).replace(/'/g, "'\\''") + "'");

// The equivalent vic-machine command line.
export function commandLine(v) {
  const a = ['vic-machine', 'create', '--target', 'local', '--name', v.name.trim()];
  const add = (flag, val) => { if (val !== undefined && val !== null && String(val).trim() !== '') a.push(flag, String(val).trim()); };
  add('--compute-resource', v.computeResource);
  add('--image-store', v.imageStore);
  for (const s of v.volumeStores || []) a.push('--volume-store', s.datastore + (s.label ? ':' + s.label : ''));
  if (v.volumeStores && !v.volumeStores.length) a.push('--no-volume-store');
  add('--bridge-network', v.bridgeNetwork);
  add('--bridge-network-range', v.bridgeRange);
  add('--public-network', v.publicNetwork);
  add('--cpu', v.cpu);
  add('--memory', v.memory);
  if (v.noTls) a.push('--no-tls');
  else { add('--tls-cname', v.cname); add('--organization', v.org); }
  for (const r of (v.insecure || '').split(/[\s,]+/).filter(Boolean)) a.push('--insecure-registry', r);
  if (v.debug && v.debug !== '0') a.push('--debug', String(v.debug));
  add('--syslog-address', v.syslog);
  return a.map(shq).join(' ');
}

export const CREATE_STEPS = ['validate', 'certificates', 'resource_pool', 'appliance_image',
  'appliance_vm', 'volume_stores', 'power_on', 'endpoint', 'docker_api'];

// A step-by-step progress list; returns {update(ev), list}.
export function progressView() {
  const list = h('ol.vic-progress#progress', { 'aria-live': 'polite' });
  const rows = new Map();
  const update = (ev) => {
    let row = rows.get(ev.step);
    if (!row) {
      row = h('li', { 'data-step': ev.step }, h('span'), h('b', ev.step), h('span.msg'));
      rows.set(ev.step, row);
      list.append(row);
    }
    row.firstChild.className = 'st-' + ev.status;
    row.dataset.status = ev.status;
    if (ev.message) row.lastChild.textContent = ev.message;
  };
  return { list, update };
}

export function dockerEnv(name, dockerHost, noTls, exact) {
  // the server's own lines (runtime.docker_env) name the real certificate directory
  if (exact) return String(exact).trim().split('\n').map((l) => 'export ' + l).join('\n');
  const host = String(dockerHost || '');
  const lines = ['export DOCKER_HOST=' + (host.startsWith('tcp://') ? host : 'tcp://' + host)];
  if (!noTls) lines.push('export DOCKER_TLS_VERIFY=1', 'export DOCKER_CERT_PATH=$VIC_HOME/vch/' + name);
  return lines.join('\n');
}
