// Settings (admin): form#settings-form, one input per key the server reports.

import { get, put } from '../api.js';
import { h, replace, field, reportError, flash } from '../dom.js';

const KNOWN = {
  sessionIdleMinutes: ['Session idle timeout (minutes)', 'signed-in browsers are signed out after this long without a request'],
  loginAttemptsPerMinute: ['Sign-in attempts per minute', 'per client, before further attempts get 429'],
  defaultTestIntervalSeconds: ['Default test interval (seconds)', 'used when a test gives no interval'],
  retentionRawDays: ['Keep raw results (days)', 'older results are kept only as 1-minute and 1-hour rollups'],
  retentionMinuteDays: ['Keep 1-minute rollups (days)', 'at least as long as raw results'],
  retentionHourDays: ['Keep 1-hour rollups (days)', 'at least as long as 1-minute rollups'],
};

export function mount(root, ctx) {
  const form = h('form', { id: 'settings-form', class: 'settings-form', novalidate: true }, h('p', { class: 'muted', text: 'Loading…' }));
  root.append(h('div', { class: 'page-head' }, h('h1', { text: 'Settings' })), h('section', { class: 'panel' }, form));
  let current = {};

  function render(settings) {
    current = { ...settings };
    const keys = Object.keys(KNOWN).filter((k) => k in settings).concat(Object.keys(settings).filter((k) => !(k in KNOWN)));
    for (const k of Object.keys(KNOWN)) if (!keys.includes(k)) keys.push(k); // absent known keys still editable
    replace(form,
      keys.map((k) => {
        const [label, hint] = KNOWN[k] || [k, ''];
        const v = settings[k];
        if (typeof v === 'boolean') return h('label', { class: 'check' }, h('input', { type: 'checkbox', name: k, checked: v }), ' ', label);
        if (typeof v === 'string') return field(label, h('input', { type: 'text', name: k, value: v }), hint);
        return field(label, h('input', { type: 'number', name: k, step: 1, min: 0, value: v === undefined || v === null ? '' : String(v) }), hint);
      }),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn primary', text: 'Save settings' })));
  }

  async function load() {
    const res = await get('/api/v1/settings');
    if (!ctx.alive()) return;
    render((res && res.settings) || {});
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {};
    for (const el of form.querySelectorAll('input[name]')) {
      const k = el.name;
      if (el.type === 'checkbox') body[k] = el.checked;
      else if (el.type === 'number') {
        if (el.value.trim() === '') { if (k in current) { flash(`Enter a value for ${(KNOWN[k] || [k])[0]}.`); return; } continue; }
        const n = Number(el.value);
        if (!Number.isFinite(n)) { flash(`${(KNOWN[k] || [k])[0]} must be a number.`); return; }
        body[k] = n;
      } else body[k] = el.value;
    }
    try {
      const res = await put('/api/v1/settings', { settings: body });
      render((res && res.settings) || body);
      flash('Settings saved.', 'ok');
    } catch (err) { reportError(err); }
  });

  load().catch(reportError);
  return { refresh: () => load().catch(reportError) };
}
