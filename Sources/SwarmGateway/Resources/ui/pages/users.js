// Users (admin): #users-table with role select, disable toggle, password reset and delete; form#user-form.

import { get, post, patch, del, enc } from '../api.js';
import { h, replace, table, select, field, reportError, flash } from '../dom.js';
import { fmtTime } from '../format.js';

const ROLES = ['viewer', 'operator', 'admin'];

export function mount(root, ctx) {
  const me = ctx.user.username;
  const { table: tbl, tbody } = table('users-table', ['Username', 'Role', 'Status', 'Created', 'Last sign-in', '']);
  const form = h('form', { id: 'user-form', class: 'inline-form', novalidate: true },
    field('Username', h('input', { name: 'username', type: 'text', required: true, autocomplete: 'off', autocapitalize: 'none' })),
    field('Password', h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' })),
    field('Role', select('role', ROLES, 'viewer')),
    h('button', { type: 'submit', class: 'btn primary', text: 'Create user' }));

  root.append(
    h('div', { class: 'page-head' }, h('h1', { text: 'Users' })),
    h('section', { class: 'panel' }, h('div', { class: 'table-scroll' }, tbl)),
    h('section', { class: 'panel' }, h('h2', { text: 'New user' }), form));

  async function load() {
    const res = await get('/api/v1/users');
    if (!ctx.alive()) return;
    replace(tbody, ((res && res.users) || []).map(row));
  }

  async function change(u, body, what) {
    try {
      await patch('/api/v1/users/' + enc(u.username), body);
      flash(`${what} for "${u.username}".`, 'ok');
    } catch (e) { reportError(e); }
    await load().catch(reportError);
  }

  function row(u) {
    const self = u.username === me;
    const roleSel = select('role', ROLES, u.role, { dataset: { action: 'role' }, disabled: self, 'aria-label': 'Role of ' + u.username, title: self ? 'You cannot change your own role' : '' });
    roleSel.addEventListener('change', () => change(u, { role: roleSel.value }, `Role set to ${roleSel.value}`));
    const disable = h('button', {
      type: 'button', class: 'btn small' + (u.disabled ? '' : ' warn'), dataset: { action: 'disable' }, disabled: self,
      text: u.disabled ? 'Enable' : 'Disable',
      onclick: () => change(u, { disabled: !u.disabled }, u.disabled ? 'Enabled' : 'Disabled'),
    });
    const pwInput = h('input', { type: 'password', name: 'password', autocomplete: 'new-password', placeholder: 'new password', required: true, 'aria-label': 'New password for ' + u.username });
    const pwForm = h('form', { class: 'pw-form', hidden: true, novalidate: true },
      h('input', { type: 'text', name: 'username', autocomplete: 'username', value: u.username, hidden: true, readonly: true, tabindex: -1 }), pwInput, h('button', { type: 'submit', class: 'btn small', text: 'Set' }));
    pwForm.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!pwInput.value) { flash('Enter the new password.'); return; }
      change(u, { password: pwInput.value }, 'Password changed');
    });
    const pwButton = h('button', { type: 'button', class: 'btn small', dataset: { action: 'set-password' }, text: 'Password…', onclick: () => { pwForm.hidden = !pwForm.hidden; if (!pwForm.hidden) pwInput.focus(); } });
    const remove = h('button', {
      type: 'button', class: 'btn small danger', dataset: { action: 'delete-user' }, disabled: self, text: 'Delete',
      onclick: async () => {
        if (!confirm(`Delete user "${u.username}"?`)) return;
        try { await del('/api/v1/users/' + enc(u.username)); flash(`Deleted user "${u.username}".`, 'ok'); } catch (e) { reportError(e); }
        await load().catch(reportError);
      },
    });
    return h('tr', { dataset: { username: u.username }, class: u.disabled ? 'inactive' : '' },
      h('td', null, h('b', { text: u.username }), self ? h('small', { class: 'muted', text: ' (you)' }) : null),
      h('td', null, roleSel),
      h('td', null, h('span', { class: 'badge ' + (u.disabled ? 'disabled' : 'enabled'), text: u.disabled ? 'disabled' : 'enabled' })),
      h('td', { text: fmtTime(u.createdAt) }),
      h('td', { text: fmtTime(u.lastLoginAt) }),
      h('td', null, h('span', { class: 'actions' }, disable, pwButton, remove), pwForm));
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const username = form.elements.namedItem('username').value.trim();
    const password = form.elements.namedItem('password').value;
    const role = form.elements.namedItem('role').value;
    if (!username || !password) { flash('Enter a username and a password.'); return; }
    try {
      await post('/api/v1/users', { username, password, role });
      flash(`Created user "${username}" (${role}).`, 'ok');
      form.reset();
      await load();
    } catch (err) { reportError(err); }
  });

  load().catch(reportError);
  return { refresh: () => load().catch(reportError) };
}
