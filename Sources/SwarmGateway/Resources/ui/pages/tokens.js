// API tokens (admin): #tokens-table with revoke buttons; form#token-form; the one-time secret in #token-secret.

import { get, post, del, enc } from '../api.js';
import { h, replace, table, select, field, reportError, flash } from '../dom.js';
import { num, fmtTime } from '../format.js';

const ROLES = ['viewer', 'operator', 'admin'];

export function mount(root, ctx) {
  const { table: tbl, tbody } = table('tokens-table', ['Name', 'Prefix', 'Role', 'Owner', 'Created', 'Last used', 'Expires', '']);
  const none = h('p', { class: 'empty', text: 'No API tokens.', hidden: true });
  const form = h('form', { id: 'token-form', class: 'inline-form', novalidate: true },
    field('Name', h('input', { name: 'name', type: 'text', required: true, autocomplete: 'off', placeholder: 'e.g. grafana export' })),
    field('Role', select('role', ROLES, 'viewer')),
    field('Expires in (days)', h('input', { name: 'expiresInDays', type: 'number', min: 1, step: 1, placeholder: 'never' })),
    h('button', { type: 'submit', class: 'btn primary', text: 'Create token' }));
  const secretBox = h('div', { id: 'token-secret-box', class: 'secret-box', hidden: true });

  root.append(
    h('div', { class: 'page-head' }, h('h1', { text: 'API tokens' })),
    h('p', { class: 'muted', text: 'Scripts send a token as "Authorization: Bearer ssw_…".' }),
    h('section', { class: 'panel' }, h('div', { class: 'table-scroll' }, tbl), none),
    h('section', { class: 'panel' }, h('h2', { text: 'New token' }), form, secretBox));

  async function load() {
    const res = await get('/api/v1/tokens');
    if (!ctx.alive()) return;
    const list = (res && res.tokens) || [];
    none.hidden = list.length > 0;
    replace(tbody, list.map(row));
  }

  function row(t) {
    const expired = t.expiresAt && Date.parse(t.expiresAt) < Date.now();
    return h('tr', { dataset: { tokenId: t.id }, class: expired ? 'inactive' : '' },
      h('td', null, h('b', { text: t.name || '' })),
      h('td', { class: 'mono', text: (t.prefix || '') + '…' }),
      h('td', { text: t.role || '' }),
      h('td', { text: t.owner || '' }),
      h('td', { text: fmtTime(t.createdAt) }),
      h('td', { text: t.lastUsedAt ? fmtTime(t.lastUsedAt) : 'never' }),
      h('td', { text: t.expiresAt ? fmtTime(t.expiresAt) + (expired ? ' (expired)' : '') : 'never' }),
      h('td', null, h('button', {
        type: 'button', class: 'btn small danger', dataset: { action: 'revoke-token' }, text: 'Revoke',
        onclick: async () => {
          if (!confirm(`Revoke token "${t.name}"? Scripts using it stop working at once.`)) return;
          try { await del('/api/v1/tokens/' + enc(String(t.id))); flash(`Revoked token "${t.name}".`, 'ok'); } catch (e) { reportError(e); }
          await load().catch(reportError);
        },
      })));
  }

  function showSecret(token, secret) {
    const code = h('code', { id: 'token-secret', class: 'secret', text: secret });
    const copy = h('button', {
      type: 'button', class: 'btn small', text: 'Copy',
      onclick: async () => {
        try { await navigator.clipboard.writeText(secret); copy.textContent = 'Copied'; } catch {
          const r = document.createRange(); r.selectNodeContents(code);
          const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(r);
          copy.textContent = 'Selected: press Ctrl+C';
        }
      },
    });
    replace(secretBox,
      h('p', null, h('b', { text: `Token "${(token && token.name) || ''}" created.` }), ' Copy the secret now: it will not be shown again.'),
      h('div', { class: 'secret-row' }, code, copy),
      h('button', { type: 'button', class: 'btn small', text: 'Done', onclick: () => { replace(secretBox); secretBox.hidden = true; } }));
    secretBox.hidden = false;
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = form.elements.namedItem('name').value.trim();
    const role = form.elements.namedItem('role').value;
    const daysText = form.elements.namedItem('expiresInDays').value.trim();
    if (!name) { flash('Give the token a name.'); return; }
    const body = { name, role };
    if (daysText) {
      const days = num(daysText);
      if (days === null || days < 1 || !Number.isInteger(days)) { flash('Expires in (days) must be a whole number of at least 1, or empty for never.'); return; }
      body.expiresInDays = days;
    }
    try {
      const res = await post('/api/v1/tokens', body);
      form.reset();
      showSecret(res && res.token, (res && res.secret) || '');
      await load();
    } catch (err) { reportError(err); }
  });

  load().catch(reportError);
  return { refresh: () => load().catch(reportError) };
}
