// Sign-in page: form#login-form, errors in #login-error.

import { post } from '../api.js';
import { h } from '../dom.js';

export function mount(root, ctx) {
  const error = h('p', { id: 'login-error', class: 'login-error', role: 'alert' });
  const note = sessionStorage.getItem('ss.loginNote');
  sessionStorage.removeItem('ss.loginNote');
  const user = h('input', { name: 'username', type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const button = h('button', { type: 'submit', class: 'btn primary', text: 'Sign in' });
  const form = h('form', { id: 'login-form', class: 'login-form', novalidate: true },
    h('h1', { text: 'StreamSwarm' }),
    note ? h('p', { id: 'login-note', class: 'note', text: note }) : null,
    h('label', { class: 'field' }, h('span', { class: 'label', text: 'Username' }), user),
    h('label', { class: 'field' }, h('span', { class: 'label', text: 'Password' }), pass),
    button,
    error);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    if (!user.value.trim() || !pass.value) { error.textContent = 'Enter your username and password.'; return; }
    button.disabled = true;
    try {
      const answer = await post('/api/v1/auth/login', { username: user.value.trim(), password: pass.value }, { auth: false });
      if (!ctx.alive()) return;
      pass.value = '';
      ctx.signedIn(answer, '#/dashboard');
    } catch (err) {
      if (!ctx.alive()) return;
      error.textContent = err.message || 'Sign-in failed.';
      pass.select();
    } finally {
      button.disabled = false;
    }
  });

  root.appendChild(h('div', { class: 'login-page' }, form));
  user.focus();
  return {};
}
