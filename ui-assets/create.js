// create.js - the create-VCH wizard: seven steps, server-side validation shown at the
// fields, then the task's progress from its event stream.
import { api, h, clear, alertBox, showProblems, vchPath, copyText } from './api.js';
import { start, pageTitle } from './shell.js';
import { input, select, control, volumeStores, buildSpec, commandLine, progressView, dockerEnv } from './fields.js';

const main = document.getElementById('main');

const STEPS = [
  ['general', 'General', ['name', 'debug', 'syslog_addr']],
  ['compute', 'Compute capacity', ['compute', 'endpoint']],
  ['storage', 'Storage capacity', ['storage']],
  ['networks', 'Networks', ['network']],
  ['security', 'Security', ['auth']],
  ['registry', 'Registry access', ['registry']],
  ['summary', 'Summary', []],
];

const form = h('form.clr-form.vic-form#wizard-form', { novalidate: true });
const sections = {};
const stepButtons = {};
const formMsg = h('div#wizard-messages');
let current = 0;
let getVolumes = () => [];

function section(key, title, intro, ...content) {
  const s = h('section.vic-step#step-' + key, { 'aria-labelledby': 'h-' + key, hidden: true },
    h('h3#h-' + key, title), intro ? h('p.vic-muted', intro) : null, ...content);
  sections[key] = s;
  form.append(s);
  return s;
}

function values() {
  const f = form.elements;
  return {
    name: f.name.value, debug: f.debug.value, syslog: f.syslog.value.trim(),
    computeResource: f.compute_resource.value.trim(), cpu: f.cpu.value, memory: f.memory.value,
    imageStore: f.image_store.value.trim(), baseImageSize: f.base_image_size.value,
    volumeStores: getVolumes(),
    bridgeNetwork: f.bridge_network.value.trim(), bridgeRange: f.bridge_range.value.trim(),
    publicNetwork: f.public_network.value.trim(),
    noTls: f.tls.value === 'none', cname: f.cname.value.trim(), org: f.org.value.trim(),
    insecure: f.insecure.value,
  };
}

function buildForm() {
  section('general', 'General', 'Name the VCH and choose how much it logs.',
    input('name', 'VCH name', { path: 'name', value: 'virtual-container-host', maxlength: 80, required: true,
      help: 'Up to 80 characters; becomes the appliance VM and resource pool name.' }),
    select('debug', 'Debug level', [[0, '0 - off'], [1, '1 - verbose'], [2, '2 - more verbose'], [3, '3 - keep the appliance for debugging']],
      { path: 'debug', value: 0 }),
    input('syslog', 'Syslog server', { path: 'syslog_addr', placeholder: 'udp://syslog.example.com:514',
      help: 'Optional: where the appliance sends its logs.' }));
  section('compute', 'Compute capacity', 'Limits of the VCH resource pool; leave empty for unlimited.',
    input('compute_resource', 'Compute resource', { path: 'compute.resource', placeholder: '(the target root)',
      help: 'Resource pool or cluster path the VCH pool is created in.' }),
    input('cpu', 'CPU limit (MHz)', { path: 'compute.cpu', type: 'number', min: 1, placeholder: 'Unlimited' }),
    input('memory', 'Memory limit (MiB)', { path: 'compute.memory', type: 'number', min: 1, placeholder: 'Unlimited' }));
  const vsBox = h('div.clr-control-container');
  section('storage', 'Storage capacity', 'Where images and container disks live, and the volume stores docker volumes use.',
    input('image_store', 'Image datastore', { path: 'storage.image_stores', value: 'datastore1', required: true }),
    input('base_image_size', 'Container base image size (GB)', { path: 'storage.base_image_size', type: 'number', min: 1, placeholder: '8' }),
    h('div.clr-form-control', h('span.clr-control-label', 'Volume stores'), vsBox));
  // the engine's default: label default, in the VCH's own folder on its datastore
  const defaultStore = () => {
    const f = form.elements;
    const ds = (f.image_store.value.trim() || 'datastore1').replace(/^ds:\/\//, '').split('/')[0];
    return ds + '/' + (f.name.value.trim() || 'virtual-container-host') + '/volumes/default';
  };
  getVolumes = volumeStores(vsBox, [{ auto: defaultStore, label: 'default' }]);
  vsBox.append(h('div.clr-subtext#volume-stores-help',
    'The default store lies in the VCH\'s own folder and is deleted with the VCH; docker volume create and -v NAME:/path use it. ' +
    'Remove it for none, or give other stores (DATASTORE/PATH, label).'));
  section('networks', 'Networks', 'The bridge network connects containers to each other; the public network reaches the outside.',
    input('bridge_network', 'Bridge network', { path: 'network.bridge.port_group', placeholder: '(private to this VCH)' }),
    input('bridge_range', 'Bridge network range', { path: 'network.bridge.ip_range', placeholder: '172.16.0.0/12',
      help: 'CIDR range for container bridge addresses; empty: 172.16.0.0/12, or a free range if another VCH holds it.' }),
    input('public_network', 'Public network', { path: 'network.public', placeholder: '(the host network)' }));
  const warn = alertBox('warning', 'Without TLS anyone who can reach the VCH controls its Docker API. Use it only on a trusted, isolated network.');
  warn.hidden = true;
  const tlsRadio = (value, label, checked) => h('div.clr-radio-wrapper',
    h('input.clr-radio', { type: 'radio', name: 'tls', id: 'tls-' + value, value, checked,
      onchange: () => { warn.hidden = form.elements.tls.value !== 'none'; form.elements.cname.disabled = form.elements.org.disabled = !warn.hidden; } }),
    h('label.clr-control-label', { for: 'tls-' + value }, label));
  section('security', 'Security', 'The Docker API is served over TLS with a certificate generated for the VCH.',
    h('fieldset.clr-form-control', { 'data-path': 'auth' }, h('legend.clr-control-label', 'Docker API access'),
      h('div.clr-control-container', tlsRadio('generate', 'TLS with a generated certificate', true),
        tlsRadio('none', 'No TLS (insecure)', false))),
    warn,
    input('cname', 'Certificate common name', { path: 'auth.server.generate.cname', placeholder: '(the VCH address)' }),
    input('org', 'Organization', { path: 'auth.server.generate.organization', placeholder: '(the VCH name)' }));
  section('registry', 'Registry access', 'Registries the VCH may pull from without verifying TLS.',
    control('insecure', 'Insecure registries',
      h('textarea.clr-textarea#insecure', { name: 'insecure', rows: 4, 'data-path': 'registry', placeholder: 'registry.example.com:5000\n(one per line)' }),
      'host[:port] per line'));
  section('summary', 'Summary', 'Check the settings. Finish creates the VCH.', h('div#summary'));
}

function renderSummary() {
  const v = values();
  const spec = buildSpec(v);
  const rows = [
    ['Name', v.name], ['Debug level', v.debug], ['Syslog', v.syslog || '—'],
    ['Compute resource', v.computeResource || '(target root)'],
    ['CPU limit', v.cpu ? v.cpu + ' MHz' : 'Unlimited'], ['Memory limit', v.memory ? v.memory + ' MiB' : 'Unlimited'],
    ['Image datastore', v.imageStore], ['Volume stores', v.volumeStores.map((s) => s.datastore + (s.label ? ':' + s.label : '')).join(', ') || 'None'],
    ['Bridge network', (v.bridgeNetwork || '(private)') + ', range ' + (v.bridgeRange || '172.16.0.0/12 (or free)')],
    ['Public network', v.publicNetwork || '(host network)'],
    ['Security', v.noTls ? 'No TLS' : 'TLS, generated certificate' + (v.cname ? ', CN ' + v.cname : '') + (v.org ? ', O ' + v.org : '')],
    ['Insecure registries', v.insecure.split(/[\s,]+/).filter(Boolean).join(', ') || 'None'],
  ];
  const cmd = commandLine(v);
  clear(document.getElementById('summary'),
    h('table.table.table-compact.vic-summary-table', h('tbody', rows.map(([k, val]) => h('tr', h('th.left', k), h('td.left', String(val)))))),
    h('h4', 'Equivalent command line'),
    h('pre.vic-pre#cmdline', cmd),
    h('button.btn.btn-sm.btn-outline', { type: 'button', onclick: (e) => copyText(cmd, e.currentTarget) }, 'Copy command'),
    h('details', h('summary', 'Request body (JSON)'), h('pre.vic-pre#spec-json', JSON.stringify(spec, null, 2))));
}

function go(i) {
  current = i;
  STEPS.forEach(([key], j) => {
    sections[key].hidden = j !== i;
    stepButtons[key].setAttribute('aria-current', j === i ? 'step' : 'false');
  });
  if (STEPS[i][0] === 'summary') renderSummary();
  if (STEPS[i][0] === 'storage') getVolumes(); // the default store follows the name
  back.disabled = i === 0;
  next.hidden = i === STEPS.length - 1;
  finish.hidden = i !== STEPS.length - 1;
  const first = sections[STEPS[i][0]].querySelector('input:not([type=radio]), select, textarea');
  if (first) first.focus();
}

function stepOf(problem) {
  const path = problem.split(':')[0];
  const i = STEPS.findIndex(([, , prefixes]) => prefixes.some((p) => path === p || path.startsWith(p + '.') || path.startsWith(p + '[')));
  return i < 0 ? STEPS.length - 1 : i;
}

const back = h('button.btn.btn-outline#wizard-back', { type: 'button', onclick: () => go(current - 1) }, 'Back');
const next = h('button.btn.btn-primary#wizard-next', { type: 'button', onclick: () => go(current + 1) }, 'Next');
const finish = h('button.btn.btn-success#wizard-finish', { type: 'button', onclick: submit }, 'Finish');

async function submit() {
  finish.disabled = true;
  clear(formMsg);
  for (const b of Object.values(stepButtons)) b.classList.remove('has-error');
  const v = values();
  let r;
  try {
    r = await api('POST', '/container/target/local/vch', buildSpec(v));
  } catch (e) {
    finish.disabled = false;
    const problems = e.problems && e.problems.length ? e.problems : [e.message];
    const rest = showProblems(form, problems);
    const steps = [...new Set(problems.map(stepOf))];
    for (const i of steps) stepButtons[STEPS[i][0]].classList.add('has-error');
    clear(formMsg, alertBox('danger', e.message, rest.length && rest.join('; ') !== e.message ? h('ul', rest.map((p) => h('li', p))) : null));
    if (steps.length) go(Math.min(...steps));
    const bad = form.querySelector('[aria-invalid=true]:not([hidden])');
    if (bad && !bad.closest('[hidden]')) bad.focus();
    return;
  }
  showProgress(v, r);
}

function showProgress(v, r) {
  const { list, update } = progressView();
  const status = h('div#create-status', alertBox('info', 'Creating ' + v.name + '…'));
  const result = h('div#create-result');
  clear(main, pageTitle('Creating ' + v.name, h('a.btn.btn-sm.btn-outline', { href: '/' }, 'Back to the list')),
    status, list, result);
  const url = r.events || '/container/tasks/' + encodeURIComponent(r.task_id || (r.task && r.task.id)) + '/events';
  const es = new EventSource(url);
  let failed = null;
  es.addEventListener('progress', (m) => {
    const ev = JSON.parse(m.data);
    update(ev);
    if (ev.status === 'failed' && !failed) failed = ev;
  });
  es.addEventListener('end', async (m) => {
    es.close();
    const end = JSON.parse(m.data);
    if (end.state === 'succeeded') {
      let host = '';
      let exact = '';
      let id = r.id;
      try {
        const vch = await api('GET', vchPath(r.id));
        host = vch.runtime && vch.runtime.docker_host;
        exact = vch.runtime && vch.runtime.docker_env;
        id = vch.id || r.id;
      } catch { /* shown without the endpoint */ }
      const env = dockerEnv(v.name, host, v.noTls, exact);
      clear(status, alertBox('success', v.name + ' is ready.'));
      clear(result, h('h4', 'Point docker at it'), h('pre.vic-pre#docker-env', env),
        h('div.vic-row',
          h('button.btn.btn-sm.btn-outline', { type: 'button', onclick: (e) => copyText(env, e.currentTarget) }, 'Copy'),
          h('a.btn.btn-sm.btn-primary#open-vch', { href: '/vch/' + encodeURIComponent(id) }, 'Open ' + v.name)));
    } else {
      const f = failed || {};
      clear(status, alertBox('danger', 'Creating ' + v.name + ' failed' + (f.step ? ' at step ' + f.step : '') + ': ' + (f.message || end.message || end.error || 'see the log')));
    }
  });
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) clear(status, alertBox('warning', 'Lost the progress stream; check the VCH list.'));
  };
}

start('create').then(() => {
  buildForm();
  const nav = h('ol.vic-steps', { 'aria-label': 'Wizard steps' },
    STEPS.map(([key, title], i) => h('li', stepButtons[key] = h('button', { type: 'button', id: 'nav-' + key, onclick: () => go(i) }, (i + 1) + '. ' + title))));
  clear(main, pageTitle('New Virtual Container Host'),
    h('div.vic-wizard', nav, h('div.vic-step-body', formMsg, h('div.vic-step-content', form),
      h('div.vic-step-nav', h('a.btn.btn-link', { href: '/' }, 'Cancel'), back, next, finish))));
  form.addEventListener('submit', (e) => e.preventDefault());
  go(0);
}).catch(() => {});
