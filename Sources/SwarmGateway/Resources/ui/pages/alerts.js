// Alerts: open alerts and history (#alerts-table, acknowledge), rules (#alert-rules-table,
// form#alert-rule-form for operators), silences (#silences-table, form#silence-form) and
// notification channels (#alert-channels-table, form#alert-channel-form for admins), and the
// report schedules that mail through them (./report-schedules.js).

import { get, post, del, enc } from '../api.js';
import { h, replace, table, select, field, reportError, flash } from '../dom.js';
import { fmtTime } from '../format.js';
import { schedulesSection } from './report-schedules.js';

const METRICS = ['latency', 'loss', 'jitter', 'failure', 'baseline_deviation', 'mos', 'health_score'];

export function alertLine(a, ctx, reload) {
  const ack = a.acknowledgedBy ? h('span', { class: 'muted', text: `acknowledged by ${a.acknowledgedBy}` })
    : (ctx.can('operator') ? h('button', {
      type: 'button', class: 'btn small', dataset: { action: 'ack' }, text: 'Acknowledge',
      onclick: async () => {
        try { await post(`/api/v1/alerts/${enc(a.id)}/ack`); flash(`Alert ${a.id} acknowledged.`, 'ok'); } catch (e) { reportError(e); }
        await reload();
      },
    }) : null);
  return { ack, state: a.open ? h('span', { class: 'badge ' + (a.severity === 'critical' ? 'failing' : 'degraded'), text: `${a.severity}` }) : h('span', { class: 'badge healthy', text: 'cleared' }) };
}

export function mount(root, ctx) {
  const { table: alertsTable, tbody: alertsBody } = table('alerts-table', ['State', 'Raised', 'Cleared', 'Alert', '']);
  const { table: rulesTable, tbody: rulesBody } = table('alert-rules-table', ['Rule', 'Condition', 'Channels', '']);
  const { table: silencesTable, tbody: silencesBody } = table('silences-table', ['Matches', 'Until', 'Reason', 'By', '']);
  const { table: channelsTable, tbody: channelsBody } = table('alert-channels-table', ['Channel', 'Kind', 'Where', '']);

  const ruleForm = h('form', { id: 'alert-rule-form', class: 'inline-form', novalidate: true, hidden: !ctx.can('operator') },
    field('Name', h('input', { name: 'name', type: 'text', required: true, autocomplete: 'off' })),
    field('Metric', select('metric', METRICS, 'latency')),
    field('Is bad when', select('comparison', ['above', 'below'], 'above')),
    field('Raise at', h('input', { name: 'raise', type: 'number', step: 'any', required: true })),
    field('Clear at', h('input', { name: 'clear', type: 'number', step: 'any', required: true })),
    field('n', h('input', { name: 'n', type: 'number', min: 1, max: 100, value: 3 })),
    field('of m', h('input', { name: 'm', type: 'number', min: 1, max: 100, value: 5 })),
    field('Test id (empty: all)', h('input', { name: 'test', type: 'number', min: 1 })),
    field('Agent (empty: all)', h('input', { name: 'agent', type: 'text', autocomplete: 'off' })),
    field('Severity', select('severity', ['warning', 'critical'], 'warning')),
    field('Channels (comma-separated)', h('input', { name: 'channels', type: 'text', autocomplete: 'off' })),
    h('button', { type: 'submit', class: 'btn primary', text: 'Add rule' }));
  const silenceForm = h('form', { id: 'silence-form', class: 'inline-form', novalidate: true, hidden: !ctx.can('operator') },
    field('Rule (empty: all)', h('input', { name: 'rule', type: 'text', autocomplete: 'off' })),
    field('Test id', h('input', { name: 'test', type: 'number', min: 1 })),
    field('Agent', h('input', { name: 'agent', type: 'text', autocomplete: 'off' })),
    field('For', h('input', { name: 'duration', type: 'text', value: '2h', required: true })),
    field('Reason', h('input', { name: 'reason', type: 'text', required: true })),
    h('button', { type: 'submit', class: 'btn primary', text: 'Silence' }));
  const channelForm = h('form', { id: 'alert-channel-form', class: 'inline-form', novalidate: true, hidden: !ctx.can('admin') },
    field('Name', h('input', { name: 'name', type: 'text', required: true, autocomplete: 'off' })),
    field('Kind', select('kind', ['webhook', 'email'], 'webhook')),
    field('URL (https://… or smtp://host:port)', h('input', { name: 'url', type: 'text', required: true, autocomplete: 'off' })),
    field('Webhook secret (16+ bytes)', h('input', { name: 'secret', type: 'password', autocomplete: 'new-password' })),
    field('E-mail from', h('input', { name: 'sender', type: 'text', autocomplete: 'off' })),
    field('E-mail to (comma-separated)', h('input', { name: 'recipients', type: 'text', autocomplete: 'off' })),
    h('button', { type: 'submit', class: 'btn primary', text: 'Add channel' }));

  const schedules = schedulesSection(ctx);
  root.append(
    h('div', { class: 'page-head' }, h('h1', { text: 'Alerts' })),
    h('section', { class: 'panel' }, h('h2', { text: 'Alerts, newest first' }), h('div', { class: 'table-scroll' }, alertsTable)),
    h('section', { class: 'panel' }, h('h2', { text: 'Rules' }),
      h('p', { class: 'muted', text: 'A rule raises when n of the last m values are bad and clears when n of the last m are good again (past the clear level), so an alert fires once and clears once.' }),
      h('div', { class: 'table-scroll' }, rulesTable), ruleForm),
    h('section', { class: 'panel' }, h('h2', { text: 'Silences' }),
      h('p', { class: 'muted', text: 'Matching alerts still raise and clear; nobody is notified until the silence ends.' }),
      h('div', { class: 'table-scroll' }, silencesTable), silenceForm),
    h('section', { class: 'panel' }, h('h2', { text: 'Notification channels' }), h('div', { class: 'table-scroll' }, channelsTable), channelForm),
    schedules.el);

  async function load() {
    schedules.load().catch(reportError);
    const [alerts, rules, silences, channels] = await Promise.all([
      get('/api/v1/alerts', { limit: 200 }), get('/api/v1/alert-rules'), get('/api/v1/silences'), get('/api/v1/alert-channels')]);
    if (!ctx.alive()) return;
    replace(alertsBody, (alerts.alerts || []).map((a) => {
      const { ack, state } = alertLine(a, ctx, load);
      return h('tr', { dataset: { alert: a.id, open: a.open ? 'true' : 'false' } },
        h('td', null, state, a.silenced ? h('small', { class: 'muted', text: ' silenced' }) : null),
        h('td', { text: fmtTime(a.raisedAt) }), h('td', { text: a.clearedAt ? fmtTime(a.clearedAt) : '—' }),
        h('td', null, a.test ? h('a', { href: `#/results/${a.test}`, text: a.message }) : a.message),
        h('td', null, ack));
    }));
    replace(rulesBody, (rules.rules || []).map((r) => h('tr', { dataset: { rule: r.name } },
      h('td', null, h('b', { text: r.name }), ` ${r.severity}`),
      h('td', { text: r.summary }), h('td', { text: (r.channels || []).join(', ') || '—' }),
      h('td', null, ctx.can('operator') ? h('button', {
        type: 'button', class: 'btn small danger', dataset: { action: 'delete-rule' }, text: 'Delete',
        onclick: async () => {
          if (!confirm(`Delete rule "${r.name}"? Its alerts stay as history.`)) return;
          try { await del(`/api/v1/alert-rules/${enc(r.id)}`); flash(`Deleted rule "${r.name}".`, 'ok'); } catch (e) { reportError(e); }
          await load().catch(reportError);
        },
      }) : null))));
    replace(silencesBody, (silences.silences || []).map((s) => h('tr', { dataset: { silence: s.id } },
      h('td', { text: [s.rule && `rule ${s.rule}`, s.test && `test ${s.test}`, s.agent && `agent ${s.agent}`].filter(Boolean).join(', ') || 'every alert' }),
      h('td', { text: fmtTime(s.until) }), h('td', { text: s.reason }), h('td', { text: s.createdBy }),
      h('td', null, ctx.can('operator') ? h('button', {
        type: 'button', class: 'btn small', dataset: { action: 'end-silence' }, text: 'End',
        onclick: async () => {
          try { await del(`/api/v1/silences/${enc(s.id)}`); flash('Silence ended.', 'ok'); } catch (e) { reportError(e); }
          await load().catch(reportError);
        },
      }) : null))));
    replace(channelsBody, (channels.channels || []).map((c) => h('tr', { dataset: { channel: c.name } },
      h('td', null, h('b', { text: c.name })), h('td', { text: c.kind }),
      h('td', { text: c.kind === 'email' ? `${c.url} from ${c.sender} to ${(c.recipients || []).join(', ')}` : `${c.url}${c.hasSecret ? ' (signed)' : ''}` }),
      h('td', null, ctx.can('admin') ? h('button', {
        type: 'button', class: 'btn small danger', dataset: { action: 'delete-channel' }, text: 'Delete',
        onclick: async () => {
          if (!confirm(`Delete channel "${c.name}"?`)) return;
          try { await del(`/api/v1/alert-channels/${enc(c.id)}`); flash(`Deleted channel "${c.name}".`, 'ok'); } catch (e) { reportError(e); }
          await load().catch(reportError);
        },
      }) : null))));
  }

  const val = (form, name) => form.elements.namedItem(name).value.trim();
  const list = (text) => text.split(',').map((x) => x.trim()).filter(Boolean);
  const optionalInt = (text) => (text === '' ? undefined : Number(text));

  ruleForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {
      name: val(ruleForm, 'name'), metric: val(ruleForm, 'metric'), comparison: val(ruleForm, 'comparison'),
      raise: Number(val(ruleForm, 'raise')), clear: Number(val(ruleForm, 'clear')),
      n: Number(val(ruleForm, 'n') || 3), m: Number(val(ruleForm, 'm') || 5),
      test: optionalInt(val(ruleForm, 'test')), agent: val(ruleForm, 'agent') || undefined,
      severity: val(ruleForm, 'severity'), channels: list(val(ruleForm, 'channels')),
    };
    if (!body.name || val(ruleForm, 'raise') === '' || val(ruleForm, 'clear') === '') { flash('Enter a name, a raise level and a clear level.'); return; }
    try {
      const r = await post('/api/v1/alert-rules', body);
      flash(`Added rule "${r.name}": ${r.summary}.`, 'ok');
      ruleForm.reset();
      await load();
    } catch (err) { reportError(err); }
  });
  silenceForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {
      rule: val(silenceForm, 'rule') || undefined, test: optionalInt(val(silenceForm, 'test')),
      agent: val(silenceForm, 'agent') || undefined, duration: val(silenceForm, 'duration'), reason: val(silenceForm, 'reason'),
    };
    if (!body.reason) { flash('Give a reason for the silence.'); return; }
    try {
      const s = await post('/api/v1/silences', body);
      flash(`Silenced until ${fmtTime(s.until)}.`, 'ok');
      silenceForm.reset();
      await load();
    } catch (err) { reportError(err); }
  });
  channelForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {
      name: val(channelForm, 'name'), kind: val(channelForm, 'kind'), url: val(channelForm, 'url'),
      secret: channelForm.elements.namedItem('secret').value || undefined,
      sender: val(channelForm, 'sender') || undefined, recipients: list(val(channelForm, 'recipients')),
    };
    try {
      const c = await post('/api/v1/alert-channels', body);
      flash(`Added ${c.kind} channel "${c.name}".`, 'ok');
      channelForm.reset();
      await load();
    } catch (err) { reportError(err); }
  });

  load().catch(reportError);
  const timer = setInterval(() => load().catch(reportError), 15000);
  return { refresh: () => load().catch(reportError), destroy() { clearInterval(timer); } };
}
