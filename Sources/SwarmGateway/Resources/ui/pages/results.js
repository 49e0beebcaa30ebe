// Test results (#/results/ID): summary header, range/agent/kind filters, charts per probe kind,
// newest raw results, CSV/JSON export, and the child tests of a "new"-mode recurring parent (#children).
// Traceroute tests also show the managed devices along the path (#managed-path, GET /results/path over the same range).
// Refreshes (≤ 1/s) when the stream reports new results.

import { get, enc } from '../api.js';
import { h, append, replace, badge, dl, select, table, coalesce, reportError, empty } from '../dom.js';
import { num, ms, fmtNum, fmtTime, fmtAgo, kindsOf, targetOf, LATENCY_KINDS } from '../format.js';
import { testAction } from './tests.js';
import { analysisPanel } from './analysis-view.js';
import { reportButton } from '../reports.js';
import { latencyCharts, lossJitterCharts, LOSS_KINDS, valueChart, httpChart, tracerouteViews, managedPathView, systemCharts, rawTable, agentColors } from './results-views.js';

const RANGES = [['1h', 3600e3], ['6h', 6 * 3600e3], ['24h', 24 * 3600e3], ['7d', 7 * 24 * 3600e3], ['all', null]];
const CHILDREN_LIMIT = 50;
const PATH_REUSE_MS = 10000; // the path correlation reads many results: refetched at most every 10 s per range

/** Default range: the smallest of 1h/6h/24h/7d covering the test's life so far (now − createdAt); 7d when older. */
export function autoRange(createdAt, now = Date.now()) {
  const born = ms(createdAt);
  const age = born === null ? Infinity : now - born;
  for (const [key, span] of RANGES) if (span !== null && age <= span) return key;
  return '7d';
}

export function mount(root, ctx) {
  const id = ctx.params.id;
  const op = ctx.can('operator');
  // range: null until the test is loaded; follows the test's age until the user picks one (rangeChosen).
  const state = { agent: '', kind: '', test: null, views: [], viewKind: null, range: null, rangeChosen: false };

  const title = h('h1', { text: `Test #${id}` });
  const phase = h('span');
  const parentLink = h('span', { id: 'parent-link', class: 'muted', hidden: true });
  const headActions = h('span', { class: 'head-actions' });
  const count = h('span', { id: 'results-count', class: 'stat-inline', text: '…' });
  const meta = h('div');

  const rangeButtons = RANGES.map(([key]) => h('button', {
    type: 'button', class: 'btn small', dataset: { range: key }, text: key,
    onclick: () => { state.range = key; state.rangeChosen = true; syncRange(); reloadData(); },
  }));
  const agentSel = select('agent', [['', 'all agents']], '', { id: 'agent-filter' });
  const kindSel = select('kind', [], '', { id: 'kind-filter' });
  const kindLabel = h('label', { class: 'inline', hidden: true }, 'probe ', kindSel);
  const csv = h('a', { id: 'export-csv', class: 'btn small', href: `/api/v1/results?test=${enc(id)}&format=csv`, download: `test-${id}-results.csv`, text: 'Export CSV' });
  const json = h('a', { id: 'export-json', class: 'btn small', href: `/api/v1/results?test=${enc(id)}&format=json`, download: `test-${id}-results.json`, text: 'Export JSON' });
  const charts = h('div', { class: 'charts' });
  // What the charts were made from: raw results, or the 1-minute / 1-hour rollups kept longer.
  const resolutionNote = h('span', { id: 'series-resolution', class: 'muted', hidden: true });
  const RESOLUTION_TEXT = { raw: 'raw results', minute: '1-minute rollups', hour: '1-hour rollups' };
  const raw = rawTable();
  const { table: childTable, tbody: childBody } = table('children-table', [['ID', 'num'], 'Name', ['Occurrence', 'num'], 'Phase', 'Created', ['Results', 'num'], '']);
  const childNote = h('p', { class: 'muted' });
  const childrenSection = h('section', { id: 'children', class: 'panel', hidden: true },
    h('h2', { text: 'Occurrences (child tests)' }), childNote, h('div', { class: 'table-scroll' }, childTable));

  const analysis = analysisPanel(id);
  // The report covers the chosen range ("all": since the test was created).
  const pdf = reportButton(`test:${id}`, () => {
    const span = (RANGES.find(([k]) => k === state.range) || RANGES[2])[1];
    const born = state.test ? ms(state.test.createdAt) : null;
    return span ?? Math.max(60e3, Date.now() - (born ?? Date.now() - 24 * 3600e3));
  });
  root.append(
    h('div', { class: 'page-head' }, h('a', { href: '#/tests', class: 'back', text: '← Tests' }), title, phase, parentLink, headActions),
    h('section', { class: 'panel summary' }, h('div', { class: 'summary-count' }, h('span', { class: 'muted', text: 'results ' }), count), meta),
    h('div', { class: 'toolbar' }, h('span', { id: 'range-buttons', class: 'btn-group', role: 'group', 'aria-label': 'Time range' }, rangeButtons),
      h('label', { class: 'inline' }, 'agent ', agentSel), kindLabel, resolutionNote, h('span', { class: 'spacer' }), csv, json, pdf),
    childrenSection,
    charts,
    analysis.el,
    h('section', { class: 'panel' }, h('h2', { text: 'Newest results' }), raw.el));

  function syncRange() {
    for (const b of rangeButtons) {
      const on = b.dataset.range === state.range;
      b.classList.toggle('active', on);
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
    }
  }
  syncRange();
  agentSel.addEventListener('change', () => { state.agent = agentSel.value; reloadData(); });
  kindSel.addEventListener('change', () => { state.kind = kindSel.value; reloadData(); });

  // ---- header ----
  function renderTest(t) {
    state.test = t;
    const spec = t.spec || {};
    const name = t.name || spec.name || `Test #${id}`;
    title.textContent = `${name}`;
    title.title = `test #${id}`;
    const ph = t.phase || (t.state === 'cancelled' ? 'cancelled' : 'scheduled');
    replace(phase, badge(ph, 'phase'));
    if (!state.rangeChosen) { state.range = autoRange(t.createdAt); syncRange(); }
    if (t.parentId) {
      replace(parentLink, `occurrence ${num(t.occurrence) ?? '?'} of `,
        h('a', { href: '#/results/' + enc(String(t.parentId)), dataset: { parent: t.parentId }, text: `test #${t.parentId}` }));
      parentLink.hidden = false;
    } else {
      replace(parentLink);
      parentLink.hidden = true;
    }
    const progress = t.progress || {};
    count.textContent = String(num(progress.results) ?? 0);
    const kinds = kindsOf(spec);
    const rec = (spec.recurrence && spec.recurrence.mode) || 'MODE_NONE';
    replace(meta, dl([
      ['ID', String(t.id ?? id)],
      ['Revision', String(num(t.revision) ?? 1)],
      ['State', t.state || 'active'],
      ['Kinds', kinds.join(', ') || '—'],
      ['Target', targetOf(spec)],
      ['Agents', (t.agents || []).join(', ') || '—'],
      ['Recurrence', rec === 'MODE_NONE' ? 'none' : rec.replace('MODE_', '').toLowerCase()],
      ['Next run', t.nextRunAt ? `${fmtTime(t.nextRunAt)} (${fmtAgo(t.nextRunAt)})` : '—'],
      ['Last result', progress.lastResultAt ? `${fmtTime(progress.lastResultAt)} (${fmtAgo(progress.lastResultAt)})` : '—'],
      ['Created', fmtTime(t.createdAt)],
      ['Updated', fmtTime(t.updatedAt)],
    ], 'facts wide'));

    // filters follow the test's agents and kinds
    const agents = t.agents || [];
    const agentOpts = [['', 'all agents'], ...agents.map((a) => [a, a])];
    if (agentSel.options.length !== agentOpts.length || agents.some((a, i) => agentSel.options[i + 1].value !== a)) {
      replace(agentSel, agentOpts.map(([v, l]) => h('option', { value: v, text: l, selected: v === state.agent })));
    }
    if (!kinds.includes(state.kind)) state.kind = kinds.find((k) => k !== 'system') || kinds[0] || '';
    if (kindSel.options.length !== kinds.length || kinds.some((k, i) => kindSel.options[i].value !== k)) {
      replace(kindSel, kinds.map((k) => h('option', { value: k, text: k, selected: k === state.kind })));
    }
    kindSel.value = state.kind;
    kindLabel.hidden = kinds.length < 2;

    replace(headActions);
    if (op) {
      const after = (action) => { if (action === 'delete') ctx.navigate('#/tests'); else refresh.trigger(); };
      append(headActions, [
        h('a', { class: 'btn small', href: `#/tests/${enc(id)}/edit`, dataset: { action: 'edit' }, text: 'Edit' }),
        h('button', { type: 'button', class: 'btn small', dataset: { action: 'restart' }, text: 'Restart', onclick: () => testAction('restart', t, after) }),
        t.state !== 'cancelled' ? h('button', { type: 'button', class: 'btn small warn', dataset: { action: 'stop' }, text: 'Stop', onclick: () => testAction('stop', t, after) }) : null,
        h('button', { type: 'button', class: 'btn small danger', dataset: { action: 'delete' }, text: 'Delete', onclick: () => testAction('delete', t, after) })]);
    }
  }

  /** #children: the child tests of a "new"-mode recurring parent (newest first). */
  let childSeq = 0;
  async function renderChildren(t) {
    const seq = ++childSeq;
    const rec = t.spec && t.spec.recurrence && t.spec.recurrence.mode;
    if (rec !== 'MODE_NEW') {
      childrenSection.hidden = true;
      replace(childBody);
      return;
    }
    const res = await get('/api/v1/tests', { parent: id, limit: CHILDREN_LIMIT });
    if (!ctx.alive() || seq !== childSeq) return;
    const kids = (res && res.tests) || [];
    const total = num(res && res.total) ?? kids.length;
    childrenSection.hidden = false;
    childNote.textContent = !kids.length ? 'No occurrences yet: each occurrence becomes a child test here.'
      : total > kids.length ? `Newest ${kids.length} of ${total}.` : `${total} occurrence${total === 1 ? '' : 's'}.`;
    replace(childBody, kids.map((k) => {
      const kid = String(k.id);
      const progress = k.progress || {};
      return h('tr', { dataset: { testId: kid } },
        h('td', { class: 'num', text: kid }),
        h('td', { class: 'name' }, h('a', { href: '#/results/' + enc(kid), text: k.name || (k.spec && k.spec.name) || '(unnamed)' })),
        h('td', { class: 'num', text: String(num(k.occurrence) ?? '') }),
        h('td', null, badge(k.phase || (k.state === 'cancelled' ? 'cancelled' : 'scheduled'))),
        h('td', { class: 'nowrap', text: fmtTime(k.createdAt) }),
        h('td', { class: 'num', text: String(num(progress.results) ?? 0) }),
        h('td', null, h('a', { href: '#/results/' + enc(kid), class: 'btn small', text: 'Results' })));
    }));
  }

  // ---- data ----
  function ensureViews(kind) {
    if (state.viewKind === kind) return;
    state.viewKind = kind;
    const views = [];
    if (LATENCY_KINDS.has(kind)) {
      views.push(latencyCharts(kind));
      if (LOSS_KINDS.has(kind)) views.push(lossJitterCharts());
      if (kind === 'http') views.push(httpChart());
    } else if (kind === 'system') {
      views.push(systemCharts());
    } else if (kind) {
      views.push(valueChart(kind));
      if (LOSS_KINDS.has(kind)) views.push(lossJitterCharts());
      if (kind === 'traceroute') views.push(tracerouteViews(), managedPathView());
    }
    state.views = views;
    replace(charts, views.length ? views.map((v) => v.el) : h('section', { class: 'panel' }, empty('This test has no probes to chart.')));
  }

  /**
   * GET /results/path for the traceroute views, over the page's range ("all": since the test was created).
   * A failure is shown in the section, not flashed: it resolves to {error}.
   */
  let pathCache = null; // {key, at, value}
  function loadPath(from, to) {
    const t = state.test;
    const since = from || (t && t.createdAt) || '';
    const key = `${state.agent}|${state.range}`;
    const now = Date.now();
    if (pathCache && pathCache.key === key && now - pathCache.at < PATH_REUSE_MS && !pathCache.value.error) return Promise.resolve(pathCache.value);
    return get('/api/v1/results/path', { test: id, agent: state.agent, from: since, to })
      .then((value) => value || { hops: [] }, (e) => ({ error: e && e.message ? e.message : String(e) }))
      .then((value) => { pathCache = { key, at: now, value }; return value; });
  }

  let dataSeq = 0;
  async function loadData() {
    const t = state.test;
    if (!t) return;
    const seq = ++dataSeq;
    const kind = state.kind;
    if (!state.range) state.range = autoRange(t.createdAt);
    const span = (RANGES.find(([k]) => k === state.range) || RANGES[2])[1];
    const now = Date.now();
    const from = span ? new Date(now - span).toISOString() : '';
    const needSeries = kind && kind !== 'system';
    const limit = kind === 'system' ? 3000 : 1000; // system charts come from raw results (24 h at 30 s ≈ 2,900)
    const [series, rawRes, path] = await Promise.all([
      needSeries ? get('/api/v1/results/series', { test: id, agent: state.agent, kind, from, points: 1000 }) : Promise.resolve(null),
      get('/api/v1/results', { test: id, agent: state.agent, from, limit, order: 'desc' }),
      kind === 'traceroute' ? loadPath(from, new Date(now).toISOString()) : Promise.resolve(null),
    ]);
    if (!ctx.alive() || seq !== dataSeq) return;
    const rawList = (rawRes && rawRes.results) || [];
    let xMin = span ? now - span : null;
    let xMax = now;
    if (!span) {
      xMin = ms(series && series.from);
      const last = rawList.length ? ms(rawList[rawList.length - 1].startedAt) : null;
      if (xMin === null || (last !== null && last < xMin)) xMin = last;
      if (xMin !== null && xMin >= xMax) xMin = null;
    }
    const bucket = num(series && series.bucketSeconds);
    resolutionNote.hidden = !series;
    if (series) {
      resolutionNote.textContent = `charts from ${RESOLUTION_TEXT[series.resolution] || series.resolution}, ${fmtNum(bucket)} s per point`;
    }
    const data = {
      series: (series && series.series) || [],
      raw: rawList,
      xMin: xMin ?? undefined,
      xMax,
      gapMs: bucket ? bucket * 1000 * 2.5 : undefined,
      color: agentColors(t.agents),
      path,
    };
    ensureViews(kind);
    for (const v of state.views) v.update(data);
    raw.update(data);
  }

  async function load() {
    const t = await get('/api/v1/tests/' + enc(id));
    if (!ctx.alive()) return;
    renderTest(t);
    renderChildren(t).catch(reportError);
    await loadData();
  }

  function reloadData() { loadData().catch(reportError); }

  const refresh = coalesce(load, 1000);
  const refreshChildren = coalesce(() => (state.test ? renderChildren(state.test) : Promise.resolve()), 1000);
  load().catch(reportError);

  return {
    refresh: () => load().catch(reportError),
    onLive(type, data) {
      if (type === 'results' && String(data.testId) === String(id)) { refresh.trigger(); analysis.refresh(); }
      else if (type === 'test' && String(data.id) !== String(id)) {
        // a child appeared, changed phase or went away (the event does not say whose child it is)
        if (!childrenSection.hidden) refreshChildren.trigger();
      } else if (type === 'test' && String(data.id) === String(id)) {
        if (data.state === 'deleted') {
          replace(charts, h('section', { class: 'panel' }, empty('This test has been deleted.')));
          state.test = null;
          state.viewKind = null;
          replace(headActions);
        } else refresh.trigger();
      }
    },
    destroy() { refresh.cancel(); refreshChildren.cancel(); analysis.cancel(); },
  };
}
