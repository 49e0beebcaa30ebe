// Report schedules on the Alerts page (they mail through its e-mail channels): #report-schedules-table,
// form#report-schedule-form for operators, each schedule's last delivery and error.

import { get, post, del, enc } from '../api.js';
import { h, replace, table, select, field, reportError, flash } from '../dom.js';
import { fmtTime } from '../format.js';

export function schedulesSection(ctx) {
  const { table: schedulesTable, tbody } = table('report-schedules-table', ['Schedule', 'Report', 'To', 'Last sent', '']);
  const form = h('form', { id: 'report-schedule-form', class: 'inline-form', novalidate: true, hidden: !ctx.can('operator') },
    field('Name', h('input', { name: 'name', type: 'text', required: true, autocomplete: 'off' })),
    field('Scope (swarm, test:ID, agent:NAME)', h('input', { name: 'scope', type: 'text', value: 'swarm', required: true, autocomplete: 'off' })),
    field('Every', select('cadence', ['daily', 'weekly'], 'weekly')),
    field('Paper', select('paper', ['a4', 'letter'], 'a4')),
    field('E-mail channel', h('input', { name: 'channel', type: 'text', required: true, autocomplete: 'off' })),
    h('button', { type: 'submit', class: 'btn primary', text: 'Add schedule' }));
  const el = h('section', { class: 'panel' }, h('h2', { text: 'Scheduled reports' }),
    h('p', { class: 'muted', text: 'After every UTC day (daily) or ISO week (weekly, Monday to Monday) the report of the period just ended is mailed, PDF attached, to the recipients of an e-mail channel.' }),
    h('div', { class: 'table-scroll' }, schedulesTable), form);

  async function load() {
    const { schedules = [] } = await get('/api/v1/report-schedules');
    replace(tbody, schedules.map((s) => h('tr', { dataset: { schedule: s.name } },
      h('td', null, h('b', { text: s.name })),
      h('td', { text: `${s.cadence} ${s.scope} (${s.paper})` }),
      h('td', { text: s.channel }),
      h('td', null, s.lastPeriodEnd ? `period ending ${fmtTime(s.lastPeriodEnd)} (${s.sent} sent)` : 'not yet',
        s.lastError ? h('small', { class: 'error', text: ` last attempt failed: ${s.lastError}` }) : null),
      h('td', null, ctx.can('operator') ? h('button', {
        type: 'button', class: 'btn small danger', dataset: { action: 'delete-schedule' }, text: 'Delete',
        onclick: async () => {
          if (!confirm(`Stop the report schedule "${s.name}"?`)) return;
          try { await del(`/api/v1/report-schedules/${enc(s.id)}`); flash(`Deleted schedule "${s.name}".`, 'ok'); } catch (e) { reportError(e); }
          await load().catch(reportError);
        },
      }) : null))));
  }

  const val = (name) => form.elements.namedItem(name).value.trim();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { name: val('name'), scope: val('scope'), cadence: val('cadence'), paper: val('paper'), channel: val('channel') };
    if (!body.name || !body.channel) { flash('Enter a name and an e-mail channel.'); return; }
    try {
      const s = await post('/api/v1/report-schedules', body);
      flash(`Added ${s.cadence} report schedule "${s.name}" to ${s.channel}.`, 'ok');
      form.reset();
      await load();
    } catch (err) { reportError(err); }
  });
  return { el, load };
}
