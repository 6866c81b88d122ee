// api.js - the JSON API client every page uses, plus small DOM helpers.
// Admin pages use the session cookie and send X-CSRF-Token on state-changing requests;
// the self-provision page passes a Bearer token instead.

let csrf = sessionStorage.getItem('vic.csrf') || '';

export class ApiError extends Error {
  constructor(status, message, problems) {
    super(message);
    this.status = status;
    this.problems = problems || [];
  }
}

export async function api(method, path, body, opts = {}) {
  const headers = { 'X-Requested-With': 'XMLHttpRequest', Accept: 'application/json' };
  if (opts.bearer) headers.Authorization = 'Bearer ' + opts.bearer;
  else if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const r = await fetch(path, { method, headers, body: payload, credentials: 'same-origin',
    cache: 'no-store' });
  const type = r.headers.get('Content-Type') || '';
  let data = null;
  if (type.startsWith('application/json')) data = await r.json().catch(() => null);
  else data = await r.text();
  if (!r.ok) {
    const msg = (data && data.message) || (typeof data === 'string' && data) || r.statusText;
    if (r.status === 401 && !opts.bearer && !opts.noRedirect) toLogin();
    throw new ApiError(r.status, msg, data && data.problems);
  }
  return data;
}

export function setCsrf(token) {
  csrf = token || '';
  if (csrf) sessionStorage.setItem('vic.csrf', csrf);
  else sessionStorage.removeItem('vic.csrf');
}

export function toLogin() {
  const next = location.pathname + location.search;
  location.assign('/login?next=' + encodeURIComponent(next));
}

// Makes sure a session exists (else goes to /login) and refreshes its CSRF token.
export async function requireSession() {
  const s = await api('GET', '/container/session');
  if (s.csrf_token) setCsrf(s.csrf_token);
  return s;
}

export const vchPath = (id) => '/container/target/local/vch/' + encodeURIComponent(id);

// h('div.class#id', {attrs}, ...children): builds elements without parsing HTML.
export function h(spec, attrs, ...children) {
  const m = spec.match(/^([a-z0-9-]+)?((?:[.#][^.#]+)*)$/i);
  const node = document.createElement(m[1] || 'div');
  for (const part of (m[2] || '').match(/[.#][^.#]+/g) || []) {
    if (part[0] === '.') node.classList.add(part.slice(1));
    else node.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'value') node.value = v;
    else if (k === 'checked') node.checked = !!v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export function alertBox(kind, text, ...extra) {
  return h('div.alert.alert-' + kind, { role: kind === 'danger' ? 'alert' : 'status' },
    h('div.alert-items', h('div.alert-item.static', h('span.alert-text', text, ...extra))));
}

export function stateLabel(state) {
  const s = String(state || 'unknown').toLowerCase();
  const kind = /running|poweredon|started|succeeded|^ok|active|up/.test(s) ? 'success'
    : /fail|error|exited|revoked|expired/.test(s) ? 'danger'
      : /creat|start|stopp|delet|pending/.test(s) ? 'warning' : 'info';
  return h('span.label.label-' + kind, String(state || 'unknown'));
}

export function fmtTime(t) {
  if (t === undefined || t === null || t === '' || t === 0) return '—';
  const d = typeof t === 'number' ? new Date(t < 1e12 ? t * 1000 : t) : new Date(t);
  if (isNaN(d.getTime()) || d.getFullYear() < 1971) return '—';
  return d.toLocaleString();
}

export async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = h('textarea', { 'aria-hidden': 'true' }, text);
    ta.classList.add('offscreen');
    document.body.append(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
  if (button) {
    const old = button.textContent;
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = old; }, 1500);
  }
}

// A Clarity modal; resolves with the value passed to close(), or null on cancel/Escape.
export function modal(title, body, buttons) {
  return new Promise((resolve) => {
    const prev = document.activeElement;
    let backdrop;
    const close = (v) => {
      wrap.remove();
      backdrop.remove();
      document.removeEventListener('keydown', onKey);
      if (prev && prev.focus) prev.focus();
      resolve(v);
    };
    const onKey = (e) => { if (e.key === 'Escape') close(null); };
    const footer = h('div.modal-footer');
    const wrap = h('div.modal', { role: 'dialog', 'aria-modal': 'true', 'aria-label': title },
      h('div.modal-dialog', h('div.modal-content',
        h('div.modal-header', h('h3.modal-title', title),
          h('button.close', { type: 'button', 'aria-label': 'Close', onclick: () => close(null) }, '×')),
        h('div.modal-body', body), footer)));
    for (const b of buttons(close)) footer.append(b);
    backdrop = h('div.modal-backdrop', { 'aria-hidden': 'true' });
    document.body.append(wrap, backdrop);
    document.addEventListener('keydown', onKey);
    const first = wrap.querySelector('input, select, .modal-footer .btn-primary, .modal-footer .btn-danger, .modal-footer button');
    if (first) first.focus();
  });
}

// Shows "path: reason" problems next to the fields whose data-path prefixes them; returns
// those that matched no field.
export function showProblems(form, problems) {
  for (const e of form.querySelectorAll('.vic-problem')) e.remove();
  for (const e of form.querySelectorAll('.clr-error')) e.classList.remove('clr-error');
  const fields = [...form.querySelectorAll('[data-path]')]
    .sort((a, b) => b.dataset.path.length - a.dataset.path.length);
  const rest = [];
  for (const p of problems || []) {
    const i = p.indexOf(': ');
    const path = i > 0 ? p.slice(0, i) : '';
    const reason = i > 0 ? p.slice(i + 2) : p;
    const norm = path.replace(/\[\d+\]/g, (m) => '.' + m.slice(1, -1));
    const field = fields.find((f) => f.dataset.path.split(' ').some((fp) =>
      norm === fp || norm.startsWith(fp + '.') || norm.startsWith(fp + '[')));
    if (!field) { rest.push(p); continue; }
    const ctl = field.closest('.clr-form-control') || field.parentElement;
    ctl.classList.add('clr-error');
    const msg = h('div.clr-subtext.vic-problem', { role: 'alert' }, reason);
    (field.closest('.clr-control-container') || ctl).append(msg);
    field.setAttribute('aria-invalid', 'true');
  }
  return rest;
}
