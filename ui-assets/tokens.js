// tokens.js - delegation tokens: issue (with restrictions), copy the link, list, revoke, audit.
import { api, h, clear, alertBox, stateLabel, copyText, fmtTime, showProblems } from './api.js';
import { start, pageTitle } from './shell.js';
import { input, select, control } from './fields.js';

const main = document.getElementById('main');
const form = h('form.clr-form.vic-form#token-form', { novalidate: true });
const issued = h('div#token-issued');
const list = h('div#token-list');
const audit = h('div#token-audit');
const msg = h('div#token-messages');

const csv = (s) => s.split(/[\s,]+/).filter(Boolean);
const num = (s) => (String(s).trim() === '' ? undefined : Number(s));

function buildForm() {
  form.append(
    input('sub', 'Issued to', { path: 'sub', required: true, placeholder: 'alice@example.com', help: 'Who the token is for (its subject).' }),
    select('ttl', 'Valid for', [[3600, '1 hour'], [86400, '1 day'], [604800, '7 days'], [2592000, '30 days']], { path: 'ttl', value: 86400 }),
    h('h4', 'Restrictions'),
    input('r_compute', 'Compute subtree', { path: 'restrictions.compute', placeholder: '(anywhere on the target)' }),
    input('r_image_ds', 'Image datastores', { path: 'restrictions.image_datastores', placeholder: 'datastore1', help: 'Comma separated; empty: any.' }),
    input('r_volume_ds', 'Volume datastores', { path: 'restrictions.volume_datastores', placeholder: 'datastore1' }),
    input('r_networks', 'Networks', { path: 'restrictions.networks', placeholder: '(any)' }),
    input('r_max_vchs', 'VCHs at most', { path: 'restrictions.max_vchs', type: 'number', min: 0, value: 1 }),
    input('r_cpu', 'CPU per VCH (MHz)', { path: 'restrictions.cpu_mhz', type: 'number', min: 1, placeholder: 'no ceiling' }),
    input('r_mem', 'Memory per VCH (MiB)', { path: 'restrictions.memory_mb', type: 'number', min: 1, placeholder: 'no ceiling' }),
    input('r_storage', 'Storage per VCH (GB)', { path: 'restrictions.storage_gb', type: 'number', min: 1, placeholder: 'no ceiling' }),
    input('r_containers', 'Containers per VCH', { path: 'restrictions.containers_per_vch', type: 'number', min: 1, placeholder: 'no ceiling' }),
    input('r_prefix', 'Name prefix', { path: 'restrictions.name_prefix', placeholder: 'team-a-' }),
    input('r_uses', 'Uses', { path: 'restrictions.uses', type: 'number', min: 1, placeholder: 'unlimited' }),
    input('r_depth', 'Delegation depth', { path: 'restrictions.delegation_depth', type: 'number', min: 0, value: 0, help: '0: the holder cannot delegate further.' }),
    control('r_tls', 'TLS required', h('input.clr-checkbox#r_tls', { type: 'checkbox', name: 'r_tls', 'data-path': 'restrictions.tls_required' })),
    h('div.vic-step-nav', h('button.btn.btn-primary#issue-token', { type: 'submit' }, 'Issue token')));
  form.addEventListener('submit', issue);
}

async function issue(e) {
  e.preventDefault();
  const f = form.elements;
  const r = { target: 'local' };
  const lists = { image_datastores: f.r_image_ds, volume_datastores: f.r_volume_ds, networks: f.r_networks };
  for (const [k, el] of Object.entries(lists)) if (csv(el.value).length) r[k] = csv(el.value);
  const nums = { max_vchs: f.r_max_vchs, cpu_mhz: f.r_cpu, memory_mb: f.r_mem, storage_gb: f.r_storage,
    containers_per_vch: f.r_containers, uses: f.r_uses, delegation_depth: f.r_depth };
  for (const [k, el] of Object.entries(nums)) if (num(el.value) !== undefined) r[k] = num(el.value);
  if (f.r_compute.value.trim()) r.compute = f.r_compute.value.trim();
  if (f.r_prefix.value.trim()) r.name_prefix = f.r_prefix.value.trim();
  if (f.r_tls.checked) r.tls_required = true;
  clear(issued);
  showProblems(form, []);
  try {
    const t = await api('POST', '/container/tokens', { sub: f.sub.value.trim(), ttl: Number(f.ttl.value), restrictions: r });
    clear(issued, alertBox('success', 'Token issued to ' + f.sub.value.trim() + '. Give the holder this link (it is shown once):'),
      h('div.vic-row', h('input.clr-input.vic-mono#token-link', { readonly: true, value: t.link, 'aria-label': 'Token link', size: 80 }),
        h('button.btn.btn-sm.btn-primary#copy-link', { type: 'button', onclick: (ev) => copyText(t.link, ev.currentTarget) }, 'Copy link')));
    loadList();
  } catch (ex) {
    const rest = showProblems(form, ex.problems && ex.problems.length ? ex.problems : [ex.message]);
    clear(issued, alertBox('danger', ex.message, rest.length > 1 ? h('ul', rest.map((p) => h('li', p))) : null));
  }
}

async function showAudit(jti) {
  try {
    const r = await api('GET', '/container/tokens/' + encodeURIComponent(jti) + '/audit');
    clear(audit, h('h3', 'Audit log of ' + jti), h('table.table.table-compact#audit-table',
      h('thead', h('tr', ['When', 'Event', 'Token', 'Actor', 'From', 'Detail'].map((t) => h('th', t)))),
      h('tbody', (r.events || []).map((ev) => h('tr', h('td', fmtTime(ev.at)), h('td', ev.event),
        h('td.vic-mono', String(ev.jti || '').slice(0, 12)), h('td', ev.actor || '—'), h('td', ev.remote || '—'), h('td.left', ev.detail || ''))))));
  } catch (e) {
    clear(audit, alertBox('danger', e.message));
  }
}

async function revoke(t) {
  try {
    await api('DELETE', '/container/tokens/' + encodeURIComponent(t.jti));
    clear(msg, alertBox('success', 'Token ' + t.jti + ' and its descendants are revoked.'));
    loadList();
  } catch (e) {
    clear(msg, alertBox('danger', e.message));
  }
}

async function loadList() {
  try {
    const r = await api('GET', '/container/tokens');
    const tokens = r.tokens || [];
    clear(list, tokens.length ? h('table.table.table-compact#tokens-table',
      h('thead', h('tr', ['Subject', 'ID', 'State', 'Issued', 'Expires', 'Uses', 'Parent', 'Actions'].map((t) => h('th', t)))),
      h('tbody', tokens.map((t) => h('tr', { 'data-jti': t.jti },
        h('td', t.sub), h('td.vic-mono', t.jti), h('td', stateLabel(t.state)), h('td', fmtTime(t.iat)), h('td', fmtTime(t.exp)),
        h('td', (t.uses ? t.uses.consumed : 0) + ' / ' + (t.uses && t.uses.allowed !== null ? t.uses.allowed : '∞')),
        h('td.vic-mono', t.parent || '—'),
        h('td', h('button.btn.btn-sm.btn-outline', { type: 'button', onclick: () => showAudit(t.jti) }, 'Audit'),
          h('button.btn.btn-sm.btn-danger-outline', { type: 'button', disabled: t.state !== 'active', onclick: () => revoke(t) }, 'Revoke'))))))
      : h('div.vic-empty', 'No tokens issued yet.'));
  } catch (e) {
    clear(list, alertBox('danger', e.message));
  }
}

start('tokens').then(() => {
  buildForm();
  clear(main, pageTitle('Delegation tokens'), msg,
    h('div.vic-grid', h('div.card', h('div.card-header', 'Issue a token'), h('div.card-block', form, issued))),
    h('h3', 'Issued tokens'), list, audit);
  loadList();
}).catch(() => {});
