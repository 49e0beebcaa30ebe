// Dashboard: agent/test counts, swarm health, open alerts, 24-hour latency/loss overview, recent events.

import { get } from '../api.js';
import { h, replace, badge, coalesce, reportError } from '../dom.js';
import { num, ms, fmtTime, fmtAgo, fmtNum } from '../format.js';
import { drawTimeSeries } from '../charts.js';
import { alertLine } from './alerts.js';
import { reportButton } from '../reports.js';

export function mount(root, ctx) {
  const agentsOnline = h('div', { id: 'stat-agents-online', class: 'stat-value', text: '…' });
  const testsActive = h('div', { id: 'stat-tests-active', class: 'stat-value', text: '…' });
  const testsTotal = h('div', { id: 'stat-tests-total', class: 'stat-sub' });
  const swarmHealth = h('div', { id: 'stat-swarm-health', class: 'stat-value', text: '…' });
  const swarmWorst = h('div', { id: 'stat-swarm-worst', class: 'stat-sub' });
  const canvas = h('canvas', { class: 'chart tall', 'aria-label': 'Latency and loss, last 24 hours' });
  const chartBox = h('div', { id: 'overview-chart', class: 'chart-box' }, canvas);
  const openAlerts = h('ul', { id: 'open-alerts', class: 'events' });
  const noAlerts = h('p', { id: 'no-open-alerts', class: 'empty', text: 'No open alerts.', hidden: true });
  const events = h('ul', { id: 'events-list', class: 'events' });
  const noEvents = h('p', { class: 'empty', text: 'No events yet.', hidden: true });

  root.append(
    h('div', { class: 'page-head' }, h('h1', { text: 'Dashboard' }),
      reportButton('swarm', () => 24 * 3600e3, 'PDF report of the whole swarm, last 24 hours')),
    h('div', { class: 'stats' },
      h('a', { class: 'stat', href: '#/agents' }, h('div', { class: 'stat-label', text: 'Agents online' }), agentsOnline),
      h('a', { class: 'stat', href: '#/tests' }, h('div', { class: 'stat-label', text: 'Active tests' }), testsActive, testsTotal),
      h('div', { class: 'stat' }, h('div', { class: 'stat-label', text: 'Swarm health (last hour)' }), swarmHealth, swarmWorst)),
    h('section', { class: 'panel' }, h('h2', null, 'Open alerts ', h('a', { href: '#/alerts', class: 'small', text: 'rules, silences, history' })), openAlerts, noAlerts),
    h('section', { class: 'panel' }, h('h2', { text: 'Latency and loss, last 24 hours (icmp, udp, tcp)' }), chartBox),
    h('section', { class: 'panel' }, h('h2', { text: 'Recent events' }), events, noEvents));

  async function load() {
    const o = await get('/api/v1/overview');
    if (!ctx.alive()) return;
    agentsOnline.textContent = `${num(o.agentsOnline) ?? 0} / ${num(o.agentsTotal) ?? 0}`;
    testsActive.textContent = String(num(o.testsActive) ?? 0);
    testsTotal.textContent = `of ${num(o.testsTotal) ?? 0} tests`;
    drawOverview(canvas, o.latency || []);
    renderEvents(events, o.events || []);
    noEvents.hidden = !!(o.events && o.events.length);
  }

  // Health analyses every active test: loaded apart from the counts, at most once a minute.
  async function loadHealth() {
    const r = await get('/api/v1/analysis/swarm');
    if (!ctx.alive() || !r) return;
    replace(swarmHealth, badge(r.health.state), ` ${Math.round(r.health.score)}`);
    const tests = r.tests || [];
    const worst = tests.find((t) => t.state !== 'healthy');
    replace(swarmWorst, worst
      ? h('a', { href: `#/results/${worst.test}`, text: `worst: ${worst.name} (${worst.worstFactor || worst.state})` })
      : `${tests.length} active test${tests.length === 1 ? '' : 's'}, all healthy`);
  }

  async function loadAlerts() {
    const r = await get('/api/v1/alerts', { open: 'true', limit: 50 });
    if (!ctx.alive() || !r) return;
    const list = r.alerts || [];
    noAlerts.hidden = list.length > 0;
    replace(openAlerts, list.map((a) => {
      const { ack, state } = alertLine(a, ctx, () => loadAlerts().catch(reportError));
      return h('li', { class: 'event alert', dataset: { alert: a.id, severity: a.severity } },
        state, ' ', h('time', { class: 'event-time', datetime: a.raisedAt, title: fmtAgo(a.raisedAt), text: fmtTime(a.raisedAt) }), ' ',
        a.test ? h('a', { href: `#/results/${a.test}`, class: 'event-message', text: a.message }) : h('span', { class: 'event-message', text: a.message }),
        ' ', ack);
    }));
  }

  const refresh = coalesce(load, 1000);
  load().catch(reportError);
  loadHealth().catch(reportError);
  loadAlerts().catch(reportError);
  const alertsTimer = setInterval(() => loadAlerts().catch(reportError), 15000);
  const healthTimer = setInterval(() => loadHealth().catch(reportError), 60000);
  const timer = setInterval(refresh.trigger, 60000);

  return {
    refresh: () => load().catch(reportError),
    onLive(type) { if (type === 'agent' || type === 'test') refresh.trigger(); },
    destroy() { refresh.cancel(); clearInterval(timer); clearInterval(healthTimer); clearInterval(alertsTimer); },
  };
}

function drawOverview(canvas, buckets) {
  const avg = []; const band = []; const loss = [];
  for (const b of buckets) {
    const t = ms(b.t);
    if (t === null) continue;
    const a = num(b.avgUs); const lo = num(b.minUs); const hi = num(b.maxUs); const l = num(b.lossPercent);
    avg.push({ t, v: a === null ? null : a / 1000 });
    if (lo !== null && hi !== null) band.push({ t, lo: lo / 1000, hi: hi / 1000 });
    loss.push({ t, v: l });
  }
  const now = Date.now();
  drawTimeSeries(canvas, {
    xMin: now - 24 * 3600e3,
    xMax: now,
    gapMs: 2.5 * 3600e3,
    band: { points: band, label: 'min–max' },
    series: [
      { points: avg, label: 'avg latency', color: '#2f6fdf' },
      { points: loss, label: 'loss', color: '#d43f5e', axis: 'y2', dash: [4, 3] },
    ],
    yLabel: 'ms',
    yFormat: (v) => fmtNum(v) + ' ms',
    y2Label: 'loss %',
    y2Format: (v) => fmtNum(v) + '%',
    y2MaxAtLeast: 1,
    emptyText: 'No measurements in the last 24 hours',
  });
}

const SUBJECT_LINK = [
  [/^agent\./, (s) => '#/agents/' + encodeURIComponent(s)],
  [/^test\.(?!deleted)/, (s) => (/^\d+$/.test(s) ? '#/results/' + s : null)],
];

function renderEvents(list, events) {
  replace(list, events.map((e) => {
    const kind = String(e.kind || '');
    const subject = e.subject === undefined || e.subject === null ? '' : String(e.subject);
    let link = null;
    for (const [re, f] of SUBJECT_LINK) if (re.test(kind) && subject) { link = f(subject); break; }
    return h('li', { class: 'event', dataset: { kind } },
      h('time', { class: 'event-time', datetime: e.at || '', title: fmtAgo(e.at), text: fmtTime(e.at) }),
      h('span', { class: 'event-kind ' + kind.split('.')[0], text: kind }),
      link ? h('a', { class: 'event-subject', href: link, text: subject }) : (subject ? h('span', { class: 'event-subject', text: subject }) : null),
      h('span', { class: 'event-message', text: e.message || '' }));
  }));
}
