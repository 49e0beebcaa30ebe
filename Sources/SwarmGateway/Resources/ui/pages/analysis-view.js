// The analysis panel of a test's results page (#analysis), also its diagnose view: pick the window
// judged against 28 days (#analysis-window). Health per agent with its factors, anomalies, level
// shifts, the forecast (or why there is none) and the ranked likely causes, and a chart of one
// agent's runs (#analysis-chart) with the baseline band, anomalies as dots, level shifts as
// markers and the forecast with its 95% band. From GET /api/v1/tests/ID/analysis; reloaded at
// most every 30 s.

import { get, enc } from '../api.js';
import { h, replace, badge, coalesce, reportError } from '../dom.js';
import { fmtNum, fmtTime, ms } from '../format.js';
import { drawTimeSeries } from '../charts.js';

const WINDOWS = [['15m', 'last 15 minutes'], ['1h', 'last hour'], ['6h', 'last 6 hours'], ['24h', 'last 24 hours'], ['7d', 'last 7 days']];

export function analysisPanel(id) {
  const health = h('span', { id: 'analysis-health' });
  const windowSelect = h('select', { id: 'analysis-window', 'aria-label': 'Window to diagnose' },
    WINDOWS.map(([v, label]) => h('option', { value: v, text: label, selected: v === '1h' })));
  const agentSelect = h('select', { id: 'analysis-agent', 'aria-label': 'Agent to chart' });
  const canvas = h('canvas', { class: 'chart', 'aria-label': 'Runs against the baseline band, with anomalies, level shifts and forecast' });
  const chartBox = h('div', { id: 'analysis-chart', class: 'chart-box' }, canvas);
  const body = h('div', { id: 'analysis-agents' }, h('p', { class: 'muted', text: 'Analysing…' }));
  const title = h('span', { text: 'Health and likely causes' });
  const el = h('section', { id: 'analysis', class: 'panel' },
    h('h2', null, title, ' ', health),
    h('div', { class: 'toolbar' }, h('label', null, 'Diagnose ', windowSelect, ' against 28 days'), h('label', null, ' Chart ', agentSelect)),
    chartBox, body);
  let last = null;

  function agentBlock(a, unit) {
    const bad = (a.health.factors || []).filter((f) => f.state !== 'healthy');
    const facts = [];
    facts.push(h('li', { text: `${a.windowRuns} runs in the window, ${a.historyRuns} before` }));
    if (a.baseline) facts.push(h('li', { text: `usual now ${fmtNum(a.baseline.median)} ${unit} (${fmtNum(a.baseline.lower)}–${fmtNum(a.baseline.upper)})` }));
    for (const f of bad) facts.push(h('li', { class: 'factor', text: `${f.state}: ${f.name} = ${fmtNum(f.value)} — ${f.detail}` }));
    facts.push(h('li', { class: 'anomalies', text: `${(a.anomalies || []).length} anomalies` }));
    for (const s of a.levelShifts || []) {
      facts.push(h('li', { class: 'level-shift', text: `level shift at ${fmtTime(s.at)}: ${fmtNum(s.before)} → ${fmtNum(s.after)} ${unit}` }));
    }
    if (a.forecastRefusal) facts.push(h('li', { class: 'forecast muted', text: `forecast: none — ${a.forecastRefusal}` }));
    else if ((a.forecast || []).length) {
      const next = a.forecast[0];
      facts.push(h('li', { class: 'forecast', text: `forecast next hour ${fmtNum(next.mean)} ${unit} (95%: ${fmtNum(next.lower)}–${fmtNum(next.upper)})` }));
    }
    if (a.saturation) facts.push(h('li', { class: 'saturation', text: `reaches 100% in ${fmtNum(a.saturation.daysUntil)} days (${fmtTime(a.saturation.at)}) at the current trend (+${fmtNum(a.saturation.slopePerDay)} %/day, now ${fmtNum(a.saturation.level)}%)` }));
    else if (a.saturationRefusal) facts.push(h('li', { class: 'saturation muted', text: a.saturationRefusal }));
    if (a.certificateDaysLeft !== undefined && a.certificateDaysLeft !== null) {
      facts.push(h('li', { class: 'certificate', text: `TLS certificate expires in ${fmtNum(a.certificateDaysLeft)} days (${fmtTime(a.certificateExpiresAt)})` }));
    }
    const causes = (a.diagnosis || []).map((c, i) => h('li', { class: 'cause' },
      h('strong', { text: `${i + 1}. ${c.title}` }), ` (${Math.round(c.confidence * 100)}%)`,
      h('ul', null, (c.evidence || []).map((e) => h('li', { text: e })))));
    return h('div', { class: 'analysis-agent', dataset: { agent: a.agent } },
      h('h3', null, a.agent, ' ', badge(a.health.state), ` ${Math.round(a.health.score)}/100`),
      h('ul', null, facts),
      causes.length ? h('div', null, h('p', { text: 'Likely causes:' }), h('ol', { class: 'causes' }, causes))
        : h('p', { class: 'muted', text: 'Likely causes: none found.' }));
  }

  function drawChart() {
    const a = last && (last.agents || []).find((x) => x.agent === agentSelect.value);
    if (!a) { drawTimeSeries(canvas, { series: [], emptyText: 'No agent to chart' }); return; }
    const unit = last.unit;
    const at = (p) => ms(p.at);
    // As much future as past: a day's forecast would flatten an hour's window.
    const from = ms(last.windowFrom); const to = ms(last.windowTo);
    const horizon = to + Math.max(3600e3, to - from);
    const forecast = (a.forecast || []).filter((f) => at(f) <= horizon);
    const baseline = (a.baselineBand || []).filter((b) => at(b) <= horizon);
    const anomalies = (a.anomalies || []).filter((x) => x.value !== null && x.value !== undefined);
    canvas.dataset.runs = String((a.recent || []).length);
    canvas.dataset.anomalies = String(anomalies.length);
    canvas.dataset.levelShifts = String((a.levelShifts || []).length);
    canvas.dataset.forecast = String(forecast.length);
    canvas.dataset.baseline = String(baseline.length);
    drawTimeSeries(canvas, {
      xMin: from,
      bands: [
        { points: baseline.map((b) => ({ t: at(b), lo: b.lower, hi: b.upper })), label: 'usual (baseline ±3σ)', color: 'rgba(42,157,92,0.16)' },
        { points: forecast.map((f) => ({ t: at(f), lo: f.lower, hi: f.upper })), label: 'forecast 95%', color: 'rgba(163,75,209,0.14)' },
      ],
      series: [
        { points: (a.recent || []).map((p) => ({ t: at(p), v: p.value })), label: `${a.agent} runs`, color: '#2f6fdf' },
        { points: anomalies.map((x) => ({ t: ms(x.startedAt), v: x.value })), label: 'anomaly', color: '#d43f5e', dots: true },
        { points: forecast.map((f) => ({ t: at(f), v: f.mean })), label: 'forecast', color: '#a34bd1', dash: [6, 4] },
      ],
      markers: (a.levelShifts || []).map((s) => ({ t: ms(s.at), label: `shift ${fmtNum(s.before)}→${fmtNum(s.after)}`, color: '#8c6d1f' })),
      yLabel: unit,
      yFormat: (v) => `${fmtNum(v)} ${unit}`,
      emptyText: 'No runs in the window',
    });
  }

  async function load() {
    const w = windowSelect.value;
    const a = await get(`/api/v1/tests/${enc(id)}/analysis?window=${enc(w)}&history=28d`);
    if (!a) return;
    last = a;
    title.textContent = `Health and likely causes (${(WINDOWS.find((x) => x[0] === w) || ['', w])[1]} against 28 days)`;
    replace(health, badge(a.health.state), ` ${Math.round(a.health.score)}/100`);
    const agents = a.agents || [];
    const keep = agents.some((x) => x.agent === agentSelect.value) ? agentSelect.value
      : ((agents.find((x) => x.health.state !== 'healthy') || agents[0] || {}).agent || '');
    replace(agentSelect, agents.map((x) => h('option', { value: x.agent, text: x.agent, selected: x.agent === keep })));
    drawChart();
    replace(body, agents.length ? agents.map((x) => agentBlock(x, a.unit))
      : h('p', { class: 'muted', text: 'No agents run this test.' }));
  }

  const refresh = coalesce(load, 30000);
  windowSelect.addEventListener('change', () => load().catch(reportError));
  agentSelect.addEventListener('change', drawChart);
  load().catch(reportError);
  return { el, refresh: () => refresh.trigger(), cancel: () => refresh.cancel() };
}
