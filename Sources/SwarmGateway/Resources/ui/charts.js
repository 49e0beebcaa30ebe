// Canvas charts: time series with an optional min–max "smoke" band, and stacked bars.
// devicePixelRatio aware, redrawn when the canvas is resized, hover tooltip in local time.
// Large inputs are decimated per pixel column (min and max kept) before drawing, so 100,000
// points cost one pass over the data plus ~2 line segments per pixel.

const PALETTE = ['#2f6fdf', '#e0702b', '#2a9d5c', '#a34bd1', '#d43f5e', '#1f9bb0', '#8c6d1f', '#5a5f6b'];
export const palette = (i) => PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];

const FONT = '11px system-ui, -apple-system, "Segoe UI", sans-serif';
const C_TEXT = '#4a5160';
const C_GRID = '#e8ebf0';
const C_AXIS = '#b8bfcb';

const charts = new WeakMap(); // canvas → {opts, kind, ro, tip, cross, hover, raf}

// ---- pure helpers (exported for tests) ----------------------------------------------------

/** Points sorted by t (returns the same array when already sorted). */
export function sortedByTime(points) {
  for (let i = 1; i < points.length; i++) {
    if (points[i].t < points[i - 1].t) return points.slice().sort((a, b) => a.t - b.t);
  }
  return points;
}

/** A gap threshold: 3× the median spacing of (a sample of) the points. */
export function autoGap(points) {
  const n = points.length;
  if (n < 3) return Infinity;
  const stride = Math.max(1, Math.floor(n / 1000));
  const d = [];
  for (let i = stride; i < n; i += stride) {
    const dt = (points[i].t - points[i - stride].t) / stride;
    if (dt > 0) d.push(dt);
  }
  if (!d.length) return Infinity;
  d.sort((a, b) => a - b);
  return d[Math.floor(d.length / 2)] * 3;
}

/**
 * Keep the min and the max point of every pixel column, in time order.
 * Input sorted by t; values null/NaN and time gaps > gapMs become `null` (line breaks).
 */
export function decimateMinMax(points, tMin, tMax, columns, gapMs = Infinity) {
  const out = [];
  if (!points || !points.length || !(columns >= 1) || !(tMax > tMin)) return out;
  const scale = columns / (tMax - tMin);
  let col = NaN; let lo = null; let hi = null; let lastT = null;
  const flush = () => {
    if (lo) {
      if (lo === hi) out.push(lo);
      else if (lo.t <= hi.t) out.push(lo, hi);
      else out.push(hi, lo);
    }
    lo = hi = null;
  };
  const brk = () => { flush(); if (out.length && out[out.length - 1] !== null) out.push(null); col = NaN; };
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    const v = p.v;
    if (v === null || v === undefined || !Number.isFinite(v)) { brk(); lastT = null; continue; }
    if (lastT !== null && p.t - lastT > gapMs) brk();
    lastT = p.t;
    const c = Math.floor((p.t - tMin) * scale);
    if (c !== col) { flush(); col = c; }
    if (!lo || v < lo.v) lo = p;
    if (!hi || v > hi.v) hi = p;
  }
  flush();
  if (out.length && out[out.length - 1] === null) out.pop();
  return out;
}

/** Band decimation: per pixel column the lowest lo and the highest hi. Breaks as `null`. */
export function decimateBand(points, tMin, tMax, columns, gapMs = Infinity) {
  const out = [];
  if (!points || !points.length || !(columns >= 1) || !(tMax > tMin)) return out;
  const scale = columns / (tMax - tMin);
  let col = NaN; let cur = null; let lastT = null;
  const flush = () => { if (cur) out.push(cur); cur = null; };
  const brk = () => { flush(); if (out.length && out[out.length - 1] !== null) out.push(null); col = NaN; };
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (!Number.isFinite(p.lo) || !Number.isFinite(p.hi)) { brk(); lastT = null; continue; }
    if (lastT !== null && p.t - lastT > gapMs) brk();
    lastT = p.t;
    const c = Math.floor((p.t - tMin) * scale);
    if (c !== col) { flush(); col = c; cur = { t: p.t, lo: p.lo, hi: p.hi }; continue; }
    if (p.lo < cur.lo) cur.lo = p.lo;
    if (p.hi > cur.hi) cur.hi = p.hi;
  }
  flush();
  if (out.length && out[out.length - 1] === null) out.pop();
  return out;
}

/** "Nice" axis ticks covering [min, max] with about `count` steps. */
export function niceTicks(min, max, count = 5) {
  if (!Number.isFinite(min) || !Number.isFinite(max)) { min = 0; max = 1; }
  if (max < min) [min, max] = [max, min];
  if (max === min) { const d = Math.abs(max) * 0.1 || 1; min -= min >= 0 && min - d < 0 ? min : d; max += d; }
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  const ticks = [];
  for (let i = 0, v = lo; v <= hi + step * 1e-6 && i < 100; i++, v = lo + i * step) ticks.push(Number((Math.round(v / step) * step).toPrecision(12)));
  return { lo, hi: hi > lo ? hi : lo + step, step, ticks };
}

const SEC = 1000; const MIN = 60 * SEC; const HOUR = 60 * MIN; const DAY = 24 * HOUR;
const TIME_STEPS = [1, 2, 5, 10, 15, 30].map((x) => x * SEC)
  .concat([1, 2, 5, 10, 15, 30].map((x) => x * MIN), [1, 2, 3, 6, 12].map((x) => x * HOUR), [1, 2, 7, 14, 30, 91, 182, 365].map((x) => x * DAY));

/** Time ticks aligned to the viewer's local clock: [{t, label}]. */
export function timeTicks(t0, t1, maxTicks) {
  const span = t1 - t0;
  if (!(span > 0) || !(maxTicks >= 1)) return [];
  const step = TIME_STEPS.find((s) => span / s <= maxTicks) || TIME_STEPS[TIME_STEPS.length - 1];
  const ticks = [];
  if (step >= DAY) {
    const days = Math.round(step / DAY);
    const d = new Date(t0);
    d.setHours(0, 0, 0, 0);
    while (d.getTime() < t0) d.setDate(d.getDate() + 1);
    for (let guard = 0; d.getTime() <= t1 && guard < 1000; guard++) {
      ticks.push({ t: d.getTime(), label: dateLabel(d) });
      d.setDate(d.getDate() + days);
    }
    return ticks;
  }
  const tz = -new Date(t0).getTimezoneOffset() * MIN;
  let t = Math.ceil((t0 + tz) / step) * step - tz;
  for (let guard = 0; t <= t1 && guard < 1000; guard++, t += step) {
    const d = new Date(t);
    let label;
    if (step < MIN) label = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    else if (d.getHours() === 0 && d.getMinutes() === 0) label = dateLabel(d);
    else label = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    ticks.push({ t, label });
  }
  return ticks;
}

function dateLabel(d) {
  return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

function defaultFormat(v) {
  if (!Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e6) return (v / 1e6).toFixed(1).replace(/\.0$/, '') + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(1).replace(/\.0$/, '') + 'k';
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1).replace(/\.0$/, '');
  if (a >= 1) return v.toFixed(2).replace(/0$/, '').replace(/\.0?$/, '');
  return String(Number(v.toPrecision(2)));
}

function withAlpha(color, a) {
  const m = /^#([0-9a-f]{6})$/i.exec(color || '');
  if (!m) return color;
  const n = parseInt(m[1], 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

/** Index of the point nearest to t in a sorted array. */
function nearest(points, t) {
  let lo = 0; let hi = points.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].t < t) lo = mid + 1; else hi = mid;
  }
  if (lo > 0 && Math.abs(points[lo - 1].t - t) <= Math.abs(points[lo].t - t)) return lo - 1;
  return lo;
}

// ---- canvas plumbing ---------------------------------------------------------------------

function setup(canvas) {
  let s = charts.get(canvas);
  if (s) return s;
  s = { opts: null, render: null, hover: null, raf: 0, ro: null, tip: null, cross: null };
  const wrap = canvas.parentElement;
  if (wrap) {
    wrap.classList.add('chart-wrap');
    s.cross = document.createElement('div');
    s.cross.className = 'chart-cross';
    s.cross.hidden = true;
    s.tip = document.createElement('div');
    s.tip.className = 'chart-tip';
    s.tip.hidden = true;
    wrap.appendChild(s.cross);
    wrap.appendChild(s.tip);
  }
  if (typeof ResizeObserver === 'function') {
    let lastW = -1; let lastH = -1;
    s.ro = new ResizeObserver(() => {
      const w = canvas.clientWidth; const hh = canvas.clientHeight;
      if (w === lastW && hh === lastH) return;
      lastW = w; lastH = hh;
      cancelAnimationFrame(s.raf);
      s.raf = requestAnimationFrame(() => { if (s.render) s.render(); });
    });
    s.ro.observe(canvas);
  }
  canvas.addEventListener('mousemove', (e) => { if (s.hover) s.hover(e); });
  canvas.addEventListener('mouseleave', () => hideTip(s));
  charts.set(canvas, s);
  return s;
}

/** Stop observing the charts under `root` (called when a page is left). */
export function disposeCharts(root) {
  if (!root) return;
  for (const c of root.querySelectorAll('canvas')) {
    const s = charts.get(c);
    if (s) {
      if (s.ro) s.ro.disconnect();
      cancelAnimationFrame(s.raf);
      charts.delete(c);
    }
  }
}

function prep(canvas) {
  const w = canvas.clientWidth; const hh = canvas.clientHeight;
  if (!w || !hh) return null; // not laid out (hidden): the resize observer draws it later
  const dpr = window.devicePixelRatio || 1;
  const pw = Math.round(w * dpr); const ph = Math.round(hh * dpr);
  if (canvas.width !== pw) canvas.width = pw;
  if (canvas.height !== ph) canvas.height = ph;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, hh);
  ctx.font = FONT;
  return { ctx, w, h: hh };
}

function hideTip(s) {
  if (s.tip) s.tip.hidden = true;
  if (s.cross) s.cross.hidden = true;
}

function showTip(canvas, s, x, plot, title, rows) {
  if (!s.tip) return;
  const tip = s.tip;
  while (tip.firstChild) tip.removeChild(tip.firstChild);
  const head = document.createElement('div');
  head.className = 'tip-time';
  head.textContent = title;
  tip.appendChild(head);
  for (const r of rows) {
    const row = document.createElement('div');
    row.className = 'tip-row';
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.backgroundColor = r.color || C_TEXT;
    const label = document.createElement('span');
    label.className = 'tip-label';
    label.textContent = r.label;
    const val = document.createElement('span');
    val.className = 'tip-value';
    val.textContent = r.value;
    row.append(sw, label, val);
    tip.appendChild(row);
  }
  tip.hidden = false;
  const left = canvas.offsetLeft; const top = canvas.offsetTop;
  const tw = tip.offsetWidth;
  let tx = left + x + 14;
  if (tx + tw > left + canvas.clientWidth) tx = left + x - tw - 14;
  tip.style.left = Math.max(0, tx) + 'px';
  tip.style.top = (top + plot.t + 4) + 'px';
  if (s.cross) {
    s.cross.hidden = false;
    s.cross.style.left = (left + x) + 'px';
    s.cross.style.top = (top + plot.t) + 'px';
    s.cross.style.height = plot.h + 'px';
  }
}

function drawEmpty(ctx, w, h, text) {
  ctx.fillStyle = '#9aa1ad';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(text || 'No data', w / 2, h / 2);
}

function drawLegend(ctx, items, x0, xMax, y) {
  let x = x0;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  for (const it of items) {
    if (!it.label) continue;
    const tw = ctx.measureText(it.label).width;
    if (x + tw + 16 > xMax) break;
    ctx.fillStyle = it.color;
    ctx.fillRect(x, y - 4, 10, 8);
    ctx.fillStyle = C_TEXT;
    ctx.fillText(it.label, x + 13, y);
    x += tw + 26;
  }
}

function drawTimeAxis(ctx, plot, x0, x1) {
  const ticks = timeTicks(x0, x1, Math.max(2, Math.floor(plot.w / 90)));
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const tk of ticks) {
    const x = plot.l + ((tk.t - x0) / (x1 - x0)) * plot.w;
    ctx.strokeStyle = C_GRID;
    ctx.beginPath(); ctx.moveTo(Math.round(x) + 0.5, plot.t); ctx.lineTo(Math.round(x) + 0.5, plot.t + plot.h); ctx.stroke();
    ctx.fillStyle = C_TEXT;
    ctx.fillText(tk.label, x, plot.t + plot.h + 5);
  }
}

function drawValueAxis(ctx, plot, scale, fmt, side) {
  ctx.textBaseline = 'middle';
  ctx.textAlign = side === 'left' ? 'right' : 'left';
  for (const v of scale.ticks) {
    const y = plot.t + plot.h - ((v - scale.lo) / (scale.hi - scale.lo)) * plot.h;
    if (side === 'left') {
      ctx.strokeStyle = C_GRID;
      ctx.beginPath(); ctx.moveTo(plot.l, Math.round(y) + 0.5); ctx.lineTo(plot.l + plot.w, Math.round(y) + 0.5); ctx.stroke();
    }
    ctx.fillStyle = C_TEXT;
    ctx.fillText(fmt(v), side === 'left' ? plot.l - 6 : plot.l + plot.w + 6, y);
  }
}

function drawFrame(ctx, plot) {
  ctx.strokeStyle = C_AXIS;
  ctx.beginPath();
  ctx.moveTo(plot.l + 0.5, plot.t);
  ctx.lineTo(plot.l + 0.5, plot.t + plot.h + 0.5);
  ctx.lineTo(plot.l + plot.w, plot.t + plot.h + 0.5);
  ctx.stroke();
}

function scaleFor(values, opts) {
  let min = Infinity; let max = -Infinity;
  for (const v of values) { if (v < min) min = v; if (v > max) max = v; }
  if (min === Infinity) { min = 0; max = 1; }
  if (opts.min !== undefined && opts.min !== null) min = opts.min;
  else if (min >= 0 && opts.zero !== false) min = 0;
  if (opts.max !== undefined && opts.max !== null) max = opts.max;
  if (opts.maxAtLeast !== undefined && max < opts.maxAtLeast) max = opts.maxAtLeast;
  if (max > min && opts.max === undefined) max += (max - min) * 0.05;
  return niceTicks(min, max, opts.ticks || 5);
}

// ---- time series -------------------------------------------------------------------------

/**
 * drawTimeSeries(canvas, {
 *   series: [{points: [{t: ms, v}], color, label, axis: 'y'|'y2', width, dash}],
 *   band: {points: [{t, lo, hi}], color, label}  (or bands: [...]),
 *   series with dots: true are drawn as points only (anomalies),
 *   markers: [{t, label, color}]  vertical lines at events (level shifts),
 *   yLabel, yFormat, y2Label, y2Format, xMin, xMax, yMin, yMax, yMaxAtLeast, gapMs, emptyText })
 */
export function drawTimeSeries(canvas, opts) {
  const s = setup(canvas);
  const o = { ...opts };
  o.series = (opts.series || []).map((x, i) => ({ ...x, color: x.color || palette(i), points: sortedByTime(x.points || []) }));
  o.bands = (opts.bands || (opts.band ? [opts.band] : [])).map((b, i) => ({ ...b, color: b.color || withAlpha(palette(i), 0.18), points: sortedByTime(b.points || []) }));
  s.opts = o;
  s.render = () => renderSeries(canvas, s);
  s.render();
}

function renderSeries(canvas, s) {
  const o = s.opts;
  const g = prep(canvas);
  s.hover = null;
  hideTip(s);
  if (!g) return;
  const { ctx, w, h } = g;
  const hasY2 = o.series.some((x) => x.axis === 'y2' && x.points.length);
  const plot = { l: 56, t: 22, r: hasY2 ? 52 : 14, b: 22 };
  plot.w = w - plot.l - plot.r;
  plot.h = h - plot.t - plot.b;
  if (plot.w < 20 || plot.h < 20) return;

  // x range
  let x0 = Number.isFinite(o.xMin) ? o.xMin : Infinity;
  let x1 = Number.isFinite(o.xMax) ? o.xMax : -Infinity;
  let any = false;
  for (const sr of [...o.series, ...o.bands]) {
    if (!sr.points.length) continue;
    any = true;
    if (!Number.isFinite(o.xMin)) x0 = Math.min(x0, sr.points[0].t);
    if (!Number.isFinite(o.xMax)) x1 = Math.max(x1, sr.points[sr.points.length - 1].t);
  }
  if (!any || !Number.isFinite(x0) || !Number.isFinite(x1)) { drawEmpty(ctx, w, h, o.emptyText); return; }
  if (x1 <= x0) { x0 -= MIN; x1 += MIN; }
  const cols = Math.max(1, Math.floor(plot.w));

  const dSeries = o.series.map((sr) => decimateMinMax(sr.points, x0, x1, cols, o.gapMs ?? autoGap(sr.points)));
  const dBands = o.bands.map((b) => decimateBand(b.points, x0, x1, cols, o.gapMs ?? autoGap(b.points)));

  // y ranges from the decimated data (min/max survive decimation)
  const yVals = []; const y2Vals = [];
  o.series.forEach((sr, i) => { const into = sr.axis === 'y2' ? y2Vals : yVals; for (const p of dSeries[i]) if (p) into.push(p.v); });
  for (const db of dBands) for (const p of db) if (p) { yVals.push(p.lo, p.hi); }
  const yS = scaleFor(yVals, { min: o.yMin, max: o.yMax, maxAtLeast: o.yMaxAtLeast });
  const y2S = hasY2 ? scaleFor(y2Vals, { min: o.y2Min, max: o.y2Max, maxAtLeast: o.y2MaxAtLeast }) : null;
  const fmtY = o.yFormat || defaultFormat;
  const fmtY2 = o.y2Format || defaultFormat;

  const X = (t) => plot.l + ((t - x0) / (x1 - x0)) * plot.w;
  const Y = (v, sc) => plot.t + plot.h - ((v - sc.lo) / (sc.hi - sc.lo)) * plot.h;

  drawValueAxis(ctx, plot, yS, fmtY, 'left');
  if (y2S) drawValueAxis(ctx, plot, y2S, fmtY2, 'right');
  drawTimeAxis(ctx, plot, x0, x1);
  drawFrame(ctx, plot);

  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.l, plot.t - 1, plot.w + 1, plot.h + 2);
  ctx.clip();

  // bands: one path per band, a closed sub-path per unbroken run
  o.bands.forEach((b, i) => {
    const pts = dBands[i];
    ctx.beginPath();
    let run = [];
    const closeRun = () => {
      if (!run.length) return;
      const half = run.length === 1 ? 1 : 0;
      ctx.moveTo(X(run[0].t) - half, Y(run[0].hi, yS));
      for (const p of run) ctx.lineTo(X(p.t), Y(p.hi, yS));
      if (half) ctx.lineTo(X(run[0].t) + half, Y(run[0].hi, yS));
      if (half) ctx.lineTo(X(run[0].t) + half, Y(run[0].lo, yS));
      for (let k = run.length - 1; k >= 0; k--) ctx.lineTo(X(run[k].t) - (half && k === 0 ? half : 0), Y(run[k].lo, yS));
      ctx.closePath();
      run = [];
    };
    for (const p of pts) { if (p === null) closeRun(); else run.push(p); }
    closeRun();
    ctx.fillStyle = b.color;
    ctx.fill();
  });

  // lines
  o.series.forEach((sr, i) => {
    const sc = sr.axis === 'y2' ? y2S : yS;
    const pts = dSeries[i];
    if (sr.dots) {
      ctx.fillStyle = sr.color;
      for (const p of pts) { if (p) { ctx.beginPath(); ctx.arc(X(p.t), Y(p.v, sc), 3.5, 0, Math.PI * 2); ctx.fill(); } }
      return;
    }
    ctx.strokeStyle = sr.color;
    ctx.fillStyle = sr.color;
    ctx.lineWidth = sr.width || 1.5;
    ctx.setLineDash(sr.dash || []);
    ctx.beginPath();
    let runLen = 0; let prev = null;
    const dots = [];
    for (const p of pts) {
      if (p === null) { if (runLen === 1) dots.push(prev); runLen = 0; continue; }
      const x = X(p.t); const y = Y(p.v, sc);
      if (runLen === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      runLen++; prev = p;
    }
    if (runLen === 1) dots.push(prev);
    ctx.stroke();
    ctx.setLineDash([]);
    for (const p of dots) { ctx.beginPath(); ctx.arc(X(p.t), Y(p.v, sc), 2, 0, Math.PI * 2); ctx.fill(); }
  });
  // markers: a dashed vertical line and its label at the top
  for (const m of o.markers || []) {
    if (!(m.t >= x0 && m.t <= x1)) continue;
    const x = X(m.t);
    ctx.strokeStyle = m.color || '#8c6d1f';
    ctx.setLineDash([5, 3]);
    ctx.beginPath(); ctx.moveTo(x, plot.t); ctx.lineTo(x, plot.t + plot.h); ctx.stroke();
    ctx.setLineDash([]);
    if (m.label) {
      ctx.fillStyle = m.color || '#8c6d1f';
      ctx.font = FONT;
      ctx.textAlign = x > plot.l + plot.w - 80 ? 'right' : 'left';
      ctx.textBaseline = 'top';
      ctx.fillText(m.label, x + (ctx.textAlign === 'left' ? 3 : -3), plot.t + 2);
    }
  }
  ctx.restore();
  ctx.lineWidth = 1;

  // labels and legend
  ctx.fillStyle = C_TEXT;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  if (o.yLabel) ctx.fillText(o.yLabel, 4, 10);
  if (o.y2Label && y2S) { ctx.textAlign = 'right'; ctx.fillText(o.y2Label, w - 4, 10); }
  const legendItems = o.series.map((sr) => ({ label: sr.label, color: sr.color }))
    .concat(o.bands.filter((b) => b.label && b.legend !== false).map((b) => ({ label: b.label, color: b.color })));
  drawLegend(ctx, legendItems, plot.l + (o.yLabel ? Math.min(120, ctx.measureText(o.yLabel).width + 10) : 0), w - (o.y2Label ? 80 : 8), 10);

  // hover
  const pxTime = (x1 - x0) / plot.w;
  s.hover = (e) => {
    const x = e.offsetX;
    if (x < plot.l || x > plot.l + plot.w || e.offsetY < plot.t || e.offsetY > plot.t + plot.h) { hideTip(s); return; }
    const t = x0 + (x - plot.l) * pxTime;
    const tol = pxTime * 12;
    const rows = [];
    let tShow = null;
    o.series.forEach((sr) => {
      const k = nearest(sr.points, t);
      if (k < 0) return;
      const p = sr.points[k];
      if (Math.abs(p.t - t) > tol || p.v === null || p.v === undefined) return;
      if (tShow === null) tShow = p.t;
      rows.push({ color: sr.color, label: sr.label || o.yLabel || '', value: (sr.axis === 'y2' ? fmtY2 : fmtY)(p.v) });
    });
    o.bands.forEach((b) => {
      const k = nearest(b.points, t);
      if (k < 0) return;
      const p = b.points[k];
      if (Math.abs(p.t - t) > tol) return;
      if (tShow === null) tShow = p.t;
      rows.push({ color: b.color, label: b.label || 'range', value: `${fmtY(p.lo)} – ${fmtY(p.hi)}` });
    });
    if (!rows.length) { hideTip(s); return; }
    showTip(canvas, s, X(tShow), plot, new Date(tShow).toLocaleString(), rows);
  };
}

// ---- stacked bars ------------------------------------------------------------------------

/**
 * drawStackedBars(canvas, {
 *   bars: [{t: ms, values: [n, ...], label?}],   // oldest first; one bar each, evenly spaced
 *   keys: [{label, color}],                        // one per stacked value
 *   yLabel, yFormat, emptyText })
 */
export function drawStackedBars(canvas, opts) {
  const s = setup(canvas);
  s.opts = { ...opts, keys: (opts.keys || []).map((k, i) => ({ ...k, color: k.color || palette(i) })) };
  s.render = () => renderBars(canvas, s);
  s.render();
}

function renderBars(canvas, s) {
  const o = s.opts;
  const g = prep(canvas);
  s.hover = null;
  hideTip(s);
  if (!g) return;
  const { ctx, w, h } = g;
  const bars = o.bars || [];
  if (!bars.length) { drawEmpty(ctx, w, h, o.emptyText); return; }
  const plot = { l: 56, t: 22, r: 14, b: 22 };
  plot.w = w - plot.l - plot.r;
  plot.h = h - plot.t - plot.b;
  if (plot.w < 20 || plot.h < 20) return;
  const totals = bars.map((b) => (b.values || []).reduce((a, v) => a + (Number.isFinite(v) && v > 0 ? v : 0), 0));
  const yS = scaleFor(totals, {});
  const fmtY = o.yFormat || defaultFormat;
  drawValueAxis(ctx, plot, yS, fmtY, 'left');
  drawFrame(ctx, plot);
  const bw = plot.w / bars.length;
  const gap = bw > 4 ? 1 : 0;
  const Y = (v) => plot.t + plot.h - ((v - yS.lo) / (yS.hi - yS.lo)) * plot.h;
  bars.forEach((b, i) => {
    let acc = 0;
    const x = plot.l + i * bw;
    (b.values || []).forEach((v, k) => {
      if (!Number.isFinite(v) || v <= 0) return;
      const y0 = Y(acc); const y1 = Y(acc + v);
      ctx.fillStyle = (o.keys[k] && o.keys[k].color) || palette(k);
      ctx.fillRect(x + gap, y1, Math.max(1, bw - gap * 2), Math.max(0.5, y0 - y1));
      acc += v;
    });
  });
  // time labels under a few bars
  const every = Math.max(1, Math.ceil(bars.length / Math.max(1, Math.floor(plot.w / 110))));
  ctx.fillStyle = C_TEXT;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (let i = 0; i < bars.length; i += every) {
    const d = new Date(bars[i].t);
    ctx.fillText(d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }), plot.l + (i + 0.5) * bw, plot.t + plot.h + 5);
  }
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  if (o.yLabel) ctx.fillText(o.yLabel, 4, 10);
  drawLegend(ctx, o.keys, plot.l + (o.yLabel ? Math.min(120, ctx.measureText(o.yLabel).width + 10) : 0), w - 8, 10);

  s.hover = (e) => {
    const x = e.offsetX;
    if (x < plot.l || x >= plot.l + plot.w || e.offsetY < plot.t || e.offsetY > plot.t + plot.h) { hideTip(s); return; }
    const i = Math.min(bars.length - 1, Math.floor((x - plot.l) / bw));
    const b = bars[i];
    const rows = o.keys.map((k, j) => ({ color: k.color, label: k.label, value: Number.isFinite(b.values[j]) ? fmtY(b.values[j]) : '—' }));
    rows.push({ color: 'transparent', label: 'total', value: fmtY(totals[i]) });
    const title = new Date(b.t).toLocaleString() + (b.label ? ' · ' + b.label : '');
    showTip(canvas, s, plot.l + (i + 0.5) * bw, plot, title, rows);
  };
}
