// shell.js - the header every admin page shares (vSphere Client look), and the session check.
import { api, h, clear, requireSession, setCsrf, alertBox } from './api.js';

const NAV = [
  ['/', 'Virtual Container Hosts', 'list'],
  ['/create', 'New VCH', 'create'],
  ['/tokens', 'Tokens', 'tokens'],
];

export function header(active, user) {
  const hdr = document.getElementById('app-header');
  const nav = h('nav.header-nav', { 'aria-label': 'Main' },
    NAV.map(([href, text, key]) => h('a.nav-link' + (key === active ? '.active' : ''),
      { href, 'aria-current': key === active ? 'page' : null }, h('span.nav-text', text))));
  const right = h('div.header-actions');
  if (user) {
    right.append(h('span.vic-user', { title: 'Signed in' }, user),
      h('button.btn.btn-sm.btn-outline-inverse#logout', {
        type: 'button',
        onclick: async () => {
          try { await api('POST', '/container/logout'); } catch { /* gone already */ }
          setCsrf('');
          location.assign('/login');
        },
      }, 'Log out'));
  }
  clear(hdr,
    h('div.branding', h('a', { href: '/' },
      h('img.vic-logo', { src: '/ui/logo.svg', alt: '' }),
      h('span.title', 'vSphere Integrated Containers'))),
    user ? nav : null, right);
}

// Shows the shell and returns the session, or sends the browser to /login.
export async function start(active) {
  header(active, null);
  try {
    const s = await requireSession();
    header(active, s.user);
    return s;
  } catch (e) {
    if (e.status !== 401) {
      clear(document.getElementById('main'), alertBox('danger', 'Cannot reach the server: ' + e.message));
    }
    throw e;
  }
}

export function pageTitle(text, ...actions) {
  return h('div.vic-page-head', h('h2', text), h('div.vic-page-actions', actions));
}
