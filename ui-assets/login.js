// login.js - opens a session and goes back where the user was headed.
import { api, setCsrf, clear, alertBox } from './api.js';

const form = document.getElementById('login-form');
const errBox = document.getElementById('login-error');

function nextUrl() {
  const n = new URLSearchParams(location.search).get('next') || '/';
  // only same-site paths: never an absolute or protocol-relative URL
  return /^\/(?![/\\])/.test(n) ? n : '/';
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const btn = document.getElementById('login-submit');
  btn.disabled = true;
  clear(errBox);
  try {
    const s = await api('POST', '/container/login', {
      username: form.username.value.trim(),
      password: form.password.value,
    }, { noRedirect: true });
    setCsrf(s.csrf_token);
    location.assign(nextUrl());
  } catch (err) {
    clear(errBox, alertBox('danger', err.status === 401 ? 'Wrong user name or password.' : err.message));
    form.password.select();
  } finally {
    btn.disabled = false;
  }
});
document.getElementById('password').focus();
