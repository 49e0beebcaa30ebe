// Profile: who is signed in, and form#password-form to change the password.

import { post } from '../api.js';
import { h, dl, field, badge, flash, reportError, clearFlash } from '../dom.js';

export function mount(root, ctx) {
  const u = ctx.user;
  const current = h('input', { name: 'currentPassword', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { name: 'newPassword', type: 'password', autocomplete: 'new-password', required: true });
  const again = h('input', { name: 'confirmPassword', type: 'password', autocomplete: 'new-password', required: true });
  const form = h('form', { id: 'password-form', class: 'narrow-form', novalidate: true },
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: u.username, hidden: true, readonly: true, tabindex: -1 }),
    field('Current password', current),
    field('New password', next),
    field('New password again', again),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn primary', text: 'Change password' })));

  root.append(
    h('div', { class: 'page-head' }, h('h1', { text: 'Profile' })),
    h('section', { class: 'panel' }, dl([
      ['Username', h('span', { id: 'profile-username', text: u.username })],
      ['Role', badge(u.role, 'role')],
      ['Signed in with', ctx.authMethod === 'token' ? 'API token' : 'password (browser session)'],
    ])),
    h('section', { class: 'panel' }, h('h2', { text: 'Change password' }), form));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFlash();
    if (!current.value || !next.value) { flash('Enter your current and your new password.'); return; }
    if (next.value !== again.value) { flash('The new passwords do not match.'); return; }
    try {
      await post('/api/v1/auth/password', { currentPassword: current.value, newPassword: next.value });
      form.reset();
      flash('Password changed.', 'ok');
    } catch (err) { reportError(err); }
  });
  return {};
}
