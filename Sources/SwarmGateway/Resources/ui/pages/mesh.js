// Mesh matrix (#/mesh): latest measurement per ordered pair of agents, rows = from, columns = to.

import { get, enc } from '../api.js';
import { h, replace, select, coalesce, reportError, empty } from '../dom.js';
import { num, fmtNum, fmtTime, fmtAgo } from '../format.js';

const view = { kind: 'udp', window: '900' };

/** The server's defaults, used until the first answer brings the configured ones (Settings page). */
const DEFAULT_THRESHOLDS = { warnLatencyMs: 50, badLatencyMs: 150, badLossPercent: 5 };

/** good / warn / bad from loss % and latency (µs) and status, against the configured thresholds. */
export function cellClass(cell, t = DEFAULT_THRESHOLDS) {
  if (!cell) return 'none';
  const loss = num(cell.lossPercent);
  const v = num(cell.value);
  if ((cell.status && cell.status !== 'ok') || v === null) return loss !== null && loss < 100 && v !== null ? 'warn' : 'bad';
  if ((loss !== null && loss >= t.badLossPercent) || v >= t.badLatencyMs * 1000) return 'bad';
  if ((loss !== null && loss > 0) || v >= t.warnLatencyMs * 1000) return 'warn';
  return 'good';
}

function legendParts(t) {
  return [
    h('span', { class: 'cell-key good', text: 'good' }), ` loss 0 and < ${fmtNum(t.warnLatencyMs)} ms  `,
    h('span', { class: 'cell-key warn', text: 'warn' }), ` some loss or ≥ ${fmtNum(t.warnLatencyMs)} ms  `,
    h('span', { class: 'cell-key bad', text: 'bad' }), ` loss ≥ ${fmtNum(t.badLossPercent)} %, ≥ ${fmtNum(t.badLatencyMs)} ms or failing  `,
    h('span', { class: 'cell-key none', text: '–' }), ' no measurement',
  ];
}

export function mount(root, ctx) {
  const kindSel = select('kind', [['udp', 'udp'], ['icmp', 'icmp'], ['tcp', 'tcp']], view.kind, { id: 'mesh-kind' });
  const winSel = select('window', [['300', 'last 5 min'], ['900', 'last 15 min'], ['3600', 'last hour'], ['21600', 'last 6 hours'], ['86400', 'last 24 hours']], view.window, { id: 'mesh-window' });
  const tbl = h('table', { id: 'mesh-matrix', class: 'matrix' });
  const none = empty('No agents yet.');
  none.hidden = true;
  const legend = h('p', { class: 'legend', id: 'mesh-legend' }, legendParts(DEFAULT_THRESHOLDS));
  root.append(
    h('div', { class: 'page-head' }, h('h1', { text: 'Mesh' }),
      ctx.can('operator') ? h('a', { class: 'btn', href: '#/tests/new', text: '+ New mesh test' }) : null),
    h('div', { class: 'toolbar' }, h('label', { class: 'inline' }, 'probe ', kindSel), h('label', { class: 'inline' }, 'window ', winSel)),
    h('section', { class: 'panel' }, h('p', { class: 'muted', text: 'Rows: from agent. Columns: to agent. Latest value in the window and its loss.' }),
      h('div', { class: 'table-scroll' }, tbl), none, legend));

  let seq = 0;
  async function load() {
    const my = ++seq;
    const res = await get('/api/v1/mesh', { kind: view.kind, window: view.window });
    if (!ctx.alive() || my !== seq) return;
    const agents = (res && res.agents) || [];
    const thresholds = (res && res.thresholds) || DEFAULT_THRESHOLDS;
    replace(legend, legendParts(thresholds));
    const cells = new Map();
    for (const c of (res && res.cells) || []) cells.set(c.from + '\u0000' + c.to, c);
    none.hidden = agents.length > 0;
    const head = h('thead', null, h('tr', null, h('th', { class: 'corner', text: 'from \\ to' }), agents.map((a) => h('th', { scope: 'col', class: 'to', text: a }))));
    const body = h('tbody', null, agents.map((from) => h('tr', { dataset: { from } },
      h('th', { scope: 'row', text: from }),
      agents.map((to) => {
        if (from === to) return h('td', { class: 'diag', dataset: { from, to } });
        const c = cells.get(from + '\u0000' + to);
        if (!c) return h('td', { class: 'none', dataset: { from, to }, text: '–' });
        const v = num(c.value); const loss = num(c.lossPercent);
        const valueText = v === null ? (c.status || 'no value') : fmtNum(v / 1000) + ' ms';
        const lossText = loss === null ? '' : fmtNum(loss) + '%';
        const inner = [h('span', { class: 'cell-value', text: valueText }), lossText ? h('span', { class: 'cell-loss', text: lossText }) : null];
        return h('td', { class: cellClass(c, thresholds), dataset: { from, to }, title: `${from} → ${to} · ${c.kind || view.kind} · ${c.status || ''} · ${fmtTime(c.at)} (${fmtAgo(c.at)})` },
          c.testId !== undefined && c.testId !== null ? h('a', { href: '#/results/' + enc(String(c.testId)) }, inner) : inner);
      }))));
    replace(tbl, head, body);
  }

  kindSel.addEventListener('change', () => { view.kind = kindSel.value; load().catch(reportError); });
  winSel.addEventListener('change', () => { view.window = winSel.value; load().catch(reportError); });
  const refresh = coalesce(load, 5000);
  const timer = setInterval(refresh.trigger, 30000);
  load().catch(reportError);
  return {
    refresh: () => load().catch(reportError),
    onLive(type) { if (type === 'results' || type === 'agent') refresh.trigger(); },
    destroy() { refresh.cancel(); clearInterval(timer); },
  };
}
