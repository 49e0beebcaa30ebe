// The analysis panel of a test's results page (#analysis): health per agent with its factors,
// anomalies, level shifts, the forecast (or why there is none) and the ranked likely causes, from
// GET /api/v1/tests/ID/analysis (window 1h, history 28d). Reloaded at most every 30 s.

import { get, enc } from '../api.js';
import { h, replace, badge, coalesce, reportError } from '../dom.js';
import { fmtNum, fmtTime } from '../format.js';

export function analysisPanel(id) {
  const health = h('span', { id: 'analysis-health' });
  const body = h('div', { id: 'analysis-agents' }, h('p', { class: 'muted', text: 'Analysing…' }));
  const el = h('section', { id: 'analysis', class: 'panel' },
    h('h2', null, 'Health and likely causes (last hour against 28 days) ', health), body);

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
    const causes = (a.diagnosis || []).map((c, i) => h('li', { class: 'cause' },
      h('strong', { text: `${i + 1}. ${c.title}` }), ` (${Math.round(c.confidence * 100)}%)`,
      h('ul', null, (c.evidence || []).map((e) => h('li', { text: e })))));
    return h('div', { class: 'analysis-agent', dataset: { agent: a.agent } },
      h('h3', null, a.agent, ' ', badge(a.health.state), ` ${Math.round(a.health.score)}/100`),
      h('ul', null, facts),
      causes.length ? h('div', null, h('p', { text: 'Likely causes:' }), h('ol', { class: 'causes' }, causes))
        : h('p', { class: 'muted', text: 'Likely causes: none found.' }));
  }

  async function load() {
    const a = await get(`/api/v1/tests/${enc(id)}/analysis?window=1h&history=28d`);
    if (!a) return;
    replace(health, badge(a.health.state), ` ${Math.round(a.health.score)}/100`);
    replace(body, (a.agents || []).length ? a.agents.map((x) => agentBlock(x, a.unit))
      : h('p', { class: 'muted', text: 'No agents run this test.' }));
  }

  const refresh = coalesce(load, 30000);
  load().catch(reportError);
  return { el, refresh: () => refresh.trigger(), cancel: () => refresh.cancel() };
}
