// Results page views: chart sections per probe kind, the traceroute hop table, path changes and managed devices along the path,
// and the raw results table. Each builder returns {el, update(data)} so canvases survive refreshes.

import { enc } from '../api.js';
import { h, replace, table, badge, empty } from '../dom.js';
import { num, ms, fmtTime, fmtNum, fmtPct, fmtUs, fmtValue, fmtBps, resultBody } from '../format.js';
import { drawTimeSeries, drawStackedBars, palette } from '../charts.js';

const msFmt = (v) => fmtNum(v) + ' ms';

function chartPanel(title, id, extraClass) {
  const canvas = h('canvas', { id, class: ['chart', extraClass] });
  const box = h('div', { class: 'chart-box' }, canvas);
  return { el: h('section', { class: 'panel' }, h('h2', { text: title }), box), canvas };
}

/** Colour per agent, stable in the order of the test's agents. */
export function agentColors(agents) {
  const m = new Map();
  (agents || []).forEach((a, i) => m.set(a, palette(i)));
  return (a) => { if (!m.has(a)) m.set(a, palette(m.size)); return m.get(a); };
}

function withAlpha(hex, a) {
  const n = parseInt(String(hex).slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

// ---- series charts (server-side downsampled) -----------------------------------------------

/** The headline figure of each kind whose value is a time (contract: value = headline figure). */
export const HEADLINE_TITLES = {
  icmp: 'ICMP round-trip time',
  udp: 'UDP round-trip time',
  tcp: 'TCP connect time',
  dns: 'DNS query time',
  http: 'HTTP total time',
};

/** Kinds whose results carry loss and jitter figures; the others get no loss/jitter charts. */
export const LOSS_KINDS = new Set(['icmp', 'udp', 'traceroute']);

/** Headline time: smoke band (min–max spread) + average (icmp, udp, tcp, dns, http). */
export function latencyCharts(kind) {
  const title = HEADLINE_TITLES[kind] || 'Latency';
  const lat = chartPanel(`${title}: average with min–max spread`, 'chart-latency', 'tall');
  return {
    el: lat.el,
    update({ series, xMin, xMax, gapMs, color }) {
      const bands = []; const avgs = [];
      for (const s of series) {
        const c = color(s.agent);
        const band = []; const avg = [];
        for (const p of s.points || []) {
          const t = ms(p.t);
          if (t === null) continue;
          const lo = num(p.low) ?? num(p.min); const hi = num(p.high) ?? num(p.max);
          if (lo !== null && hi !== null) band.push({ t, lo: lo / 1000, hi: hi / 1000 });
          const a = num(p.avg);
          avg.push({ t, v: a === null ? null : a / 1000 });
        }
        bands.push({ points: band, color: withAlpha(c, 0.2), label: `${s.agent} min–max`, legend: false });
        avgs.push({ points: avg, color: c, label: s.agent });
      }
      drawTimeSeries(lat.canvas, { xMin, xMax, gapMs, bands, series: avgs, yLabel: 'ms', yFormat: msFmt, emptyText: 'No results in this range' });
    },
  };
}

/** Loss % and jitter side by side (only for LOSS_KINDS). */
export function lossJitterCharts() {
  const loss = chartPanel('Loss', 'chart-loss');
  const jit = chartPanel('Jitter', 'chart-jitter');
  return {
    el: h('div', { class: 'cols' }, loss.el, jit.el),
    update({ series, xMin, xMax, gapMs, color }) {
      const losses = []; const jitters = [];
      for (const s of series) {
        const c = color(s.agent);
        const lossP = []; const jitter = [];
        for (const p of s.points || []) {
          const t = ms(p.t);
          if (t === null) continue;
          lossP.push({ t, v: num(p.lossPercent) });
          const j = num(p.jitterUs);
          jitter.push({ t, v: j === null ? null : j / 1000 });
        }
        losses.push({ points: lossP, color: c, label: s.agent });
        jitters.push({ points: jitter, color: c, label: s.agent });
      }
      const base = { xMin, xMax, gapMs };
      drawTimeSeries(loss.canvas, { ...base, series: losses, yLabel: '%', yFormat: (v) => fmtNum(v) + '%', yMaxAtLeast: 1, emptyText: 'No loss data in this range' });
      drawTimeSeries(jit.canvas, { ...base, series: jitters, yLabel: 'ms', yFormat: msFmt, emptyText: 'No jitter data in this range' });
    },
  };
}

const VALUE_TITLES = {
  traceroute: ['Hop count', 'hops', (v) => fmtNum(v) + ' hops', 1],
  mtu: ['Path MTU', 'bytes', (v) => fmtNum(v) + ' B', 1],
  bandwidth: ['Bandwidth', 'Mbit/s', (v) => fmtNum(v) + ' Mbit/s', 1],
};

/** Headline value over time (avg line, min–max band) for traceroute, mtu, bandwidth. */
export function valueChart(kind) {
  const [title, unit, fmt] = VALUE_TITLES[kind] || ['Value', '', fmtNum];
  const c = chartPanel(title, 'chart-value', 'tall');
  return {
    el: c.el,
    update({ series, xMin, xMax, gapMs, color }) {
      const bands = []; const lines = [];
      for (const s of series) {
        const band = []; const line = [];
        for (const p of s.points || []) {
          const t = ms(p.t);
          if (t === null) continue;
          const lo = num(p.min); const hi = num(p.max);
          if (lo !== null && hi !== null && hi > lo) band.push({ t, lo, hi });
          line.push({ t, v: num(p.avg) });
        }
        bands.push({ points: band, color: withAlpha(color(s.agent), 0.2), label: `${s.agent} min–max`, legend: false });
        lines.push({ points: line, color: color(s.agent), label: s.agent });
      }
      drawTimeSeries(c.canvas, { xMin, xMax, gapMs, bands, series: lines, yLabel: unit, yFormat: fmt, emptyText: 'No results in this range' });
    },
  };
}

// ---- raw-result views ----------------------------------------------------------------------

const PHASES = [
  ['dnsUs', 'dns', '#8fb3f0'], ['connectUs', 'connect', '#2f6fdf'], ['tlsUs', 'tls', '#a34bd1'],
  ['firstByteUs', 'first byte', '#e0702b'], ['transferUs', 'transfer', '#2a9d5c'],
];

/** HTTP phases of the latest ≤200 results, stacked. */
export function httpChart() {
  const c = chartPanel('HTTP phases (latest 200 requests)', 'chart-http', 'tall');
  return {
    el: c.el,
    update({ raw }) {
      const rows = raw.filter((m) => m.kind === 'http').slice(0, 200).reverse();
      const bars = rows.map((m) => {
        const ph = resultBody(m).phases || {};
        const code = num(resultBody(m).statusCode);
        return {
          t: ms(m.startedAt) ?? 0,
          label: `${m.agent || ''}${code ? ' · HTTP ' + code : ''}${m.status && m.status !== 'ok' ? ' · ' + m.status : ''}`,
          values: PHASES.map(([k]) => { const v = num(ph[k]); return v === null ? NaN : v / 1000; }),
        };
      });
      drawStackedBars(c.canvas, { bars, keys: PHASES.map(([, label, color]) => ({ label, color })), yLabel: 'ms', yFormat: msFmt, emptyText: 'No http results in this range' });
    },
  };
}

function avg(xs) {
  const v = (xs || []).map(num).filter((x) => x !== null && x >= 0);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

/** Hop table of the latest traceroute and the list of path changes. */
export function tracerouteViews() {
  const { table: hopTable, tbody: hopBody } = table('hop-table', [['TTL', 'num'], 'Address', 'Name', ['RTT avg', 'num'], ['Loss', 'num'], ['MTU', 'num']]);
  const caption = h('p', { class: 'muted' });
  const noHops = empty('No traceroute results in this range.');
  const { table: chTable, tbody: chBody } = table('path-changes', ['Time', 'Agent', 'Previous path', 'New path', ['Hops', 'num'], 'Reached']);
  const noChanges = empty('No path changes in this range.');
  return {
    el: h('div', { class: 'cols' },
      h('section', { class: 'panel' }, h('h2', { text: 'Latest path' }), caption, h('div', { class: 'table-scroll' }, hopTable), noHops),
      h('section', { class: 'panel' }, h('h2', { text: 'Path changes' }), h('div', { class: 'table-scroll' }, chTable), noChanges)),
    update({ raw }) {
      const runs = raw.filter((m) => m.kind === 'traceroute');
      const latest = runs.find((m) => (resultBody(m).hops || []).length) || runs[0];
      if (latest) {
        const r = resultBody(latest);
        caption.textContent = `${latest.agent || ''} at ${fmtTime(latest.startedAt)} to ${r.destination || '?'}${r.mode ? ' (' + r.mode + ')' : ''}: ${r.reached ? 'reached' : 'not reached'}`;
        replace(hopBody, (r.hops || []).map((hop) => h('tr', null,
          h('td', { class: 'num', text: String(num(hop.ttl) ?? '') }),
          h('td', { class: 'mono', text: hop.address || '*' }),
          h('td', { text: hop.name || '' }),
          h('td', { class: 'num', text: fmtUs(avg(hop.rttsUs)) }),
          h('td', { class: 'num', text: fmtPct(num(hop.lossPercent) ?? 0) }),
          h('td', { class: 'num', text: hop.mtu ? String(hop.mtu) : '' }))));
      } else {
        caption.textContent = '';
        replace(hopBody);
      }
      noHops.hidden = !!latest;

      const changes = pathChanges(runs);
      replace(chBody, changes.map((c) => h('tr', { class: 'changed', dataset: { agent: c.agent } },
        h('td', { text: fmtTime(c.at) }),
        h('td', { text: c.agent }),
        h('td', { class: 'mono', text: c.from }),
        h('td', { class: 'mono', text: c.to }),
        h('td', { class: 'num', text: String(c.hops) }),
        h('td', { text: c.reached ? 'yes' : 'no' }))));
      noChanges.hidden = changes.length > 0;
    },
  };
}

const growth = (v) => { const n = num(v); return n === null ? '—' : n.toLocaleString(); };

/** "8.1% (81 Mbit/s)": the highest utilisation in the window with the highest rate beside it. */
function utilText(pct, bps) {
  const p = num(pct); const b = num(bps);
  if (p === null && b === null) return '—';
  if (p === null) return fmtBps(b);
  return b === null ? fmtPct(p) : `${fmtPct(p)} (${fmtBps(b)})`;
}

/** Per-interface maxima and counter growth of one device in the window (a nested table). */
function pathInterfaces(list) {
  if (!list.length) return h('span', { class: 'muted', text: 'no interface figures' });
  const { table: tbl, tbody } = table(null, ['Interface', 'Oper', ['In max', 'num'], ['Out max', 'num'],
    ['In err', 'num'], ['Out err', 'num'], ['In disc', 'num'], ['Out disc', 'num']], 'grid compact');
  const bad = (v) => ['num', num(v) ? 'bad-count' : ''];
  replace(tbody, list.map((i) => h('tr', null,
    h('td', { class: 'mono', text: i.name || '' }),
    h('td', null, i.operStatus ? badge(String(i.operStatus).toLowerCase()) : '—'),
    h('td', { class: 'num nowrap', text: utilText(i.inUtilisationMaxPercent, i.inBpsMax) }),
    h('td', { class: 'num nowrap', text: utilText(i.outUtilisationMaxPercent, i.outBpsMax) }),
    h('td', { class: bad(i.inErrors), text: growth(i.inErrors) }),
    h('td', { class: bad(i.outErrors), text: growth(i.outErrors) }),
    h('td', { class: bad(i.inDiscards), text: growth(i.inDiscards) }),
    h('td', { class: bad(i.outDiscards), text: growth(i.outDiscards) }))));
  return tbl;
}

/**
 * #managed-path: "Managed infrastructure along the path" from GET /results/path (data.path: the answer, or
 * {error} when the call failed). Hops whose address belongs to a device show its figures in the window.
 */
export function managedPathView() {
  const { table: tbl, tbody } = table('path-devices', [['TTL', 'num'], 'Address', ['Seen', 'num'], 'Device', 'Status',
    ['CPU avg / max', 'num'], ['Memory', 'num'], ['Queue drops', 'num'], 'Interfaces (max utilisation, counter growth)']);
  const caption = h('p', { class: 'muted' });
  const error = h('p', { class: 'section-error', hidden: true });
  const none = empty('No traceroute hops in this range.');
  const unmanaged = h('p', { class: 'muted', hidden: true }, 'None of these hops is a managed device. Add routers and switches (with their interface addresses) on the ',
    h('a', { href: '#/devices', text: 'Devices' }), ' page to see their figures here.');
  const scroll = h('div', { class: 'table-scroll' }, tbl);
  return {
    el: h('section', { id: 'managed-path', class: 'panel' }, h('h2', { text: 'Managed infrastructure along the path' }), caption, error, scroll, none, unmanaged),
    update({ path }) {
      if (!path) return;
      if (path.error) {
        error.textContent = 'Could not correlate the path with the managed devices: ' + path.error;
        error.hidden = false;
        caption.textContent = '';
        replace(tbody);
        scroll.hidden = true;
        none.hidden = true;
        unmanaged.hidden = true;
        return;
      }
      error.hidden = true;
      const hops = path.hops || [];
      const runs = num(path.runs) ?? 0;
      caption.textContent = `${runs} traceroute run${runs === 1 ? '' : 's'} from ${fmtTime(path.from)} to ${fmtTime(path.to)}; figures are for the same window.`;
      scroll.hidden = hops.length === 0;
      none.hidden = hops.length > 0;
      unmanaged.hidden = !hops.length || hops.some((x) => x.device);
      replace(tbody, hops.map((hop) => {
        const cells = [
          h('td', { class: 'num', text: String(num(hop.ttl) ?? '') }),
          h('td', { class: 'mono', text: hop.address || '*' }),
          h('td', { class: 'num', text: String(num(hop.seen) ?? 0) }),
        ];
        const d = hop.device;
        if (!d) {
          cells.push(h('td', { class: 'not-managed', colspan: 6, text: 'not managed' }));
          return h('tr', { class: 'unmanaged' }, cells);
        }
        cells.push(h('td', { class: 'name' }, h('a', { href: '#/devices/' + enc(String(d.id)), dataset: { deviceId: d.id }, text: d.name || `device ${d.id}` })));
        const f = hop.figures;
        if (!f) {
          cells.push(h('td', { class: 'muted', colspan: 5, text: 'no figures in this window' }));
          return h('tr', { class: 'managed' }, cells);
        }
        const samples = num(f.samples) ?? 0;
        cells.push(
          h('td', null, badge(f.status || 'pending'), ' ', h('small', { class: 'muted', text: `${samples} sample${samples === 1 ? '' : 's'}` }),
            f.reason ? h('div', { class: 'reason-text', text: f.reason }) : null),
          h('td', { class: 'num nowrap', text: num(f.cpuAveragePercent) === null && num(f.cpuMaxPercent) === null ? '—' : `${fmtPct(f.cpuAveragePercent)} / ${fmtPct(f.cpuMaxPercent)}` }),
          h('td', { class: 'num', text: fmtPct(f.memoryUsedPercent) }),
          h('td', { class: ['num', num(f.queueDrops) ? 'bad-count' : ''], text: growth(f.queueDrops) }),
          h('td', { class: 'nested' }, pathInterfaces(f.interfaces || [])));
        return h('tr', { class: 'managed' }, cells);
      }));
    },
  };
}

/**
 * Results (newest first, any agents) → changes, newest first: a result whose pathFingerprint differs from
 * the previous result of the same agent. Results without a fingerprint (failed runs) are skipped.
 */
export function pathChanges(runsNewestFirst) {
  const prevByAgent = new Map();
  const out = [];
  for (let i = runsNewestFirst.length - 1; i >= 0; i--) {
    const m = runsNewestFirst[i];
    const r = resultBody(m);
    const fp = r.pathFingerprint || '';
    if (!fp) continue;
    const agent = m.agent || '';
    const prev = prevByAgent.get(agent);
    if (prev !== undefined && prev !== fp) {
      out.push({ at: m.startedAt, agent, from: prev, to: fp, hops: (r.hops || []).length, reached: !!r.reached });
    }
    prevByAgent.set(agent, fp);
  }
  return out.reverse();
}

/** CPU %, memory used and load from raw system results. */
export function systemCharts() {
  const cpu = h('canvas', { id: 'chart-system-cpu', class: 'chart' });
  const mem = h('canvas', { id: 'chart-system-memory', class: 'chart' });
  const load = h('canvas', { id: 'chart-system-load', class: 'chart' });
  const el = h('section', { class: 'panel' }, h('h2', { text: 'System' }),
    h('div', { id: 'chart-system', class: 'system-charts' },
      h('div', null, h('h3', { text: 'CPU' }), h('div', { class: 'chart-box' }, cpu)),
      h('div', null, h('h3', { text: 'Memory used' }), h('div', { class: 'chart-box' }, mem)),
      h('div', null, h('h3', { text: 'Load average' }), h('div', { class: 'chart-box' }, load))));
  // Newest per-process summary (the test's "Per-process summary" option), one row per agent and process.
  const { table: procTable, tbody: procBody } = table('system-processes', ['Agent', 'List', 'PID', 'Process', ['CPU', 'num'], ['Resident', 'num']]);
  const procNone = empty('No per-process summary: turn on "Per-process summary" in the test to see the top processes.');
  el.append(h('h3', { text: 'Top processes (newest run)' }), h('div', { class: 'table-scroll' }, procTable), procNone);
  return {
    el,
    update({ raw, xMin, xMax, color }) {
      const newest = new Map();
      for (const m of raw) if (m.kind === 'system' && !newest.has(m.agent)) newest.set(m.agent, resultBody(m));
      const procRows = [];
      for (const [agent, r] of newest) {
        for (const [list, rows] of [['CPU', r.topByCpu || []], ['memory', r.topByMemory || []]]) {
          for (const p of rows) {
            procRows.push(h('tr', { class: 'process' },
              h('td', { text: agent || '' }), h('td', { text: list }), h('td', { text: String(p.pid ?? '') }),
              h('td', { text: p.name || '' }),
              h('td', { class: 'num', text: num(p.cpuPercent) === null ? '—' : fmtNum(num(p.cpuPercent)) + '%' }),
              h('td', { class: 'num', text: fmtNum((num(p.residentBytes) ?? 0) / 1048576) + ' MiB' })));
          }
        }
      }
      replace(procBody, procRows);
      procNone.hidden = procRows.length > 0;
      const byAgent = new Map();
      for (let i = raw.length - 1; i >= 0; i--) {
        const m = raw[i];
        if (m.kind !== 'system') continue;
        const t = ms(m.startedAt);
        if (t === null) continue;
        if (!byAgent.has(m.agent)) byAgent.set(m.agent, []);
        byAgent.get(m.agent).push({ t, r: resultBody(m), ok: m.status === 'ok' || !m.status });
      }
      const cpuS = []; const memS = []; const loadS = [];
      const single = byAgent.size <= 1;
      for (const [agent, rows] of byAgent) {
        const c = color(agent);
        const ok = rows.filter((x) => x.ok);
        cpuS.push({ label: agent, color: c, points: ok.map(({ t, r }) => ({ t, v: num(r.cpuPercent) })) });
        memS.push({ label: agent, color: c, points: ok.map(({ t, r }) => ({ t, v: (num(r.memoryUsedBytes) ?? 0) / 1073741824 })) });
        loadS.push({ label: single ? 'load 1' : agent, color: c, points: ok.map(({ t, r }) => ({ t, v: num(r.load1) ?? 0 })) });
        if (single) {
          loadS.push({ label: 'load 5', color: '#e0702b', dash: [4, 3], points: ok.map(({ t, r }) => ({ t, v: num(r.load5) ?? 0 })) });
          loadS.push({ label: 'load 15', color: '#2a9d5c', dash: [1, 3], points: ok.map(({ t, r }) => ({ t, v: num(r.load15) ?? 0 })) });
        }
      }
      const base = { xMin, xMax, emptyText: 'No system results in this range' };
      drawTimeSeries(cpu, { ...base, series: cpuS, yLabel: '%', yFormat: (v) => fmtNum(v) + '%', yMaxAtLeast: 1 });
      drawTimeSeries(mem, { ...base, series: memS, yLabel: 'GiB', yFormat: (v) => fmtNum(v) + ' GiB' });
      drawTimeSeries(load, { ...base, series: loadS, yLabel: 'load', yFormat: fmtNum });
    },
  };
}

/** Newest 100 raw results; a click on a row shows its full result message. */
export function rawTable() {
  const { table: tbl, tbody } = table('results-table', ['Time', 'Agent', 'Kind', 'Status', ['Value', 'num'], ['Duration', 'num'], 'Reason']);
  const none = empty('No results in this range.');
  return {
    el: h('div', null, h('div', { class: 'table-scroll' }, tbl), none),
    update({ raw }) {
      const rows = raw.slice(0, 100);
      replace(tbody, rows.map((m) => {
        const tr = h('tr', { class: ['result', m.status && m.status !== 'ok' ? 'not-ok' : ''], dataset: { sequence: m.sequence, agent: m.agent }, title: 'Click for the full result' },
          h('td', { class: 'nowrap', text: fmtTime(m.startedAt) }),
          h('td', { text: m.agent || '' }),
          h('td', { text: m.kind || '' }),
          h('td', null, badge(m.status || 'ok')),
          h('td', { class: 'num', text: fmtValue(m.kind, m.value) }),
          h('td', { class: 'num', text: num(m.durationMs) === null ? '—' : fmtNum(num(m.durationMs)) + ' ms' }),
          h('td', { class: 'reason', text: m.reason || '' }));
        tr.addEventListener('click', () => {
          const next = tr.nextElementSibling;
          if (next && next.classList.contains('detail')) { next.remove(); return; }
          tr.after(h('tr', { class: 'detail' }, h('td', { colspan: 7 }, h('pre', { class: 'json', text: JSON.stringify(m.result || {}, null, 2) }))));
        });
        return tr;
      }));
      none.hidden = rows.length > 0;
    },
  };
}
