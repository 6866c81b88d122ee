// list.js - the VCH list: endpoints, state, and delete / certificate actions.
import { api, h, clear, alertBox, stateLabel, copyText, modal, vchPath, fmtTime } from './api.js';
import { start, pageTitle } from './shell.js';

const main = document.getElementById('main');
const msg = h('div#list-messages');
const body = h('div#vch-table');

export function dockerHostLine(host) {
  return host ? 'export DOCKER_HOST=tcp://' + String(host).replace(/^tcp:\/\//, '') : '';
}

function endpointCell(v) {
  if (!v.docker_host) return h('span.vic-muted', '—');
  const line = dockerHostLine(v.docker_host);
  return h('div.vic-endpoint', h('code.vic-mono', v.docker_host),
    h('button.btn.btn-sm.btn-link', {
      type: 'button', title: line, 'aria-label': 'Copy ' + line,
      onclick: (e) => copyText(line, e.currentTarget),
    }, 'Copy'));
}

async function downloadCert(v, btn) {
  btn.disabled = true;
  try {
    const pem = await api('GET', vchPath(v.id) + '/certificate');
    const a = h('a', { href: URL.createObjectURL(new Blob([pem], { type: 'application/x-pem-file' })),
      download: v.name + '-ca.pem' });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    clear(msg, alertBox('danger', 'Certificate of ' + v.name + ': ' + e.message));
  } finally {
    btn.disabled = false;
  }
}

async function confirmDelete(v) {
  const radio = (name, value, label, checked) => h('div.clr-radio-wrapper',
    h('input.clr-radio', { type: 'radio', name, value, id: name + '-' + value, checked }),
    h('label.clr-control-label', { for: name + '-' + value }, label));
  const err = h('div');
  const form = h('form.clr-form', { id: 'delete-form' },
    h('p', 'Delete the VCH ', h('b', v.name), ' (its appliance VM and resource pool)? It has ',
      h('b#delete-count', String(v.containers ?? 0) + (v.containers === 1 ? ' container' : ' containers')), '.'),
    h('fieldset.clr-form-control', h('legend.clr-control-label', 'Containers'),
      radio('containers', 'off', 'Only if no container is running', true),
      radio('containers', 'all', 'Delete running containers too', false)),
    h('fieldset.clr-form-control', h('legend.clr-control-label', 'Volume stores'),
      radio('volume_stores', 'none', 'Keep the volume stores and their volumes', true),
      radio('volume_stores', 'all', 'Delete the volume stores and every volume in them', false)),
    err);
  await modal('Delete ' + v.name, form, (close) => [
    h('button.btn.btn-outline', { type: 'button', onclick: () => close(null) }, 'Cancel'),
    h('button.btn.btn-danger#delete-confirm', {
      type: 'button',
      onclick: async (e) => {
        const button = e.currentTarget; // gone from the event once it has been dispatched
        button.disabled = true;
        const spec = { containers: form.containers.value, volume_stores: form.volume_stores.value };
        try {
          await api('DELETE', vchPath(v.id), spec);
          close(true);
          clear(msg, alertBox('info', 'Deleting ' + v.name + '…'));
          waitGone(v);
        } catch (ex) {
          clear(err, alertBox('danger', ex.message));
          button.disabled = false;
        }
      },
    }, 'Delete'),
  ]);
}

async function waitGone(v) {
  for (let i = 0; i < 120; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const list = await load();
    if (list && !list.some((x) => x.id === v.id)) {
      clear(msg, alertBox('success', v.name + ' was deleted.'));
      return;
    }
  }
}

function row(v) {
  const certBtn = h('button.btn.btn-sm.btn-outline', { type: 'button', onclick: (e) => downloadCert(v, e.currentTarget) }, 'Certificate');
  return h('tr', { 'data-vch': v.name },
    h('td', h('a', { href: '/vch/' + encodeURIComponent(v.id) }, v.name)),
    h('td', stateLabel(v.state || v.power_state)),
    h('td', endpointCell(v)),
    h('td', v.version || '—'),
    h('td', String(v.containers ?? '—')),
    h('td', v.created_by || '—'),
    h('td', fmtTime(v.created)),
    h('td',
      h('a.btn.btn-sm.btn-outline', { href: '/vch/' + encodeURIComponent(v.id) }, 'Open'),
      certBtn,
      h('button.btn.btn-sm.btn-danger-outline', { type: 'button', onclick: () => confirmDelete(v), 'aria-label': 'Delete ' + v.name }, 'Delete')));
}

async function load() {
  try {
    const r = await api('GET', '/container/target/local/vch');
    const vchs = r.vchs || [];
    if (!vchs.length) {
      clear(body, h('div.vic-empty', 'No Virtual Container Host yet. ',
        h('a', { href: '/create' }, 'Create one'), '.'));
      return vchs;
    }
    clear(body, h('table.table.table-compact#vchs',
      h('thead', h('tr', ['Name', 'State', 'Docker endpoint', 'Version', 'Containers', 'Created by', 'Created', 'Actions'].map((t) => h('th', t)))),
      h('tbody', vchs.map(row))));
    return vchs;
  } catch (e) {
    if (e.status !== 401) clear(body, alertBox('danger', 'Cannot list VCHs: ' + e.message));
    return null;
  }
}

start('list').then(async () => {
  clear(main, pageTitle('Virtual Container Hosts',
    h('button.btn.btn-sm.btn-outline', { type: 'button', onclick: load }, 'Refresh'),
    h('a.btn.btn-sm.btn-primary', { href: '/create' }, 'New VCH')), msg, body);
  await load();
  setInterval(() => { if (!document.querySelector('.modal')) load(); }, 10000);
}).catch(() => {});
