// Formatting of API values for display. Proto3 JSON omits defaults and sends 64-bit ints as strings,
// so every reader here accepts undefined/null/string.

/** Number from a proto3 JSON / API value (int64 strings included); null when absent or not a number. */
export function num(x) {
  if (x === undefined || x === null || x === '') return null;
  const n = typeof x === 'number' ? x : Number(x);
  return Number.isFinite(n) ? n : null;
}

/** Milliseconds since the epoch from an ISO string; null when absent or invalid. */
export function ms(iso) {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
}

/** Local date+time for an API (UTC ISO) time. */
export function fmtTime(iso) {
  const t = ms(iso);
  return t === null ? '—' : new Date(t).toLocaleString();
}

/** Local time for unix nanoseconds given as a proto3 int64 string. */
export function fmtNanos(ns) {
  const t = nanosToMs(ns);
  return t === null ? '—' : new Date(t).toLocaleString();
}

export function nanosToMs(ns) {
  if (ns === undefined || ns === null || ns === '' || ns === '0' || ns === 0) return null;
  try { return Number(BigInt(String(ns)) / 1000000n); } catch { return null; }
}

export function fmtAgo(iso) {
  const t = ms(iso);
  if (t === null) return '';
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 0) return 'in ' + fmtDuration(-s);
  if (s < 5) return 'just now';
  return fmtDuration(s) + ' ago';
}

export function fmtDuration(s) {
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.round(s / 60) + ' min';
  if (s < 86400) return (s / 3600).toFixed(s < 36000 ? 1 : 0) + ' h';
  return (s / 86400).toFixed(1) + ' d';
}

/** Compact number: 3 significant digits for small values, no trailing noise. */
export function fmtNum(v) {
  const n = num(v);
  if (n === null) return '—';
  const a = Math.abs(n);
  if (a === 0) return '0';
  if (a >= 1000) return Math.round(n).toLocaleString();
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return trim(n.toFixed(1));
  if (a >= 1) return trim(n.toFixed(2));
  return trim(n.toPrecision(2));
}

function trim(s) {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** Microseconds → "12.3 ms". */
export function fmtUs(us) {
  const n = num(us);
  return n === null ? '—' : fmtNum(n / 1000) + ' ms';
}

export function fmtPct(p) {
  const n = num(p);
  return n === null ? '—' : fmtNum(n) + '%';
}

export function fmtBytes(b) {
  const n = num(b);
  if (n === null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n; let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return fmtNum(v) + ' ' + units[i];
}

/** Bits per second, SI units: 80000000 → "80 Mbit/s". */
export function fmtBps(b) {
  const n = num(b);
  if (n === null) return '—';
  const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'];
  let v = n; let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return fmtNum(v) + ' ' + units[i];
}

/** "host:port", with IPv6 literals in brackets. */
export function hostPort(host, port) {
  const p = num(port);
  if (!host) return p === null ? '—' : ':' + p;
  if (p === null) return host;
  return host.includes(':') ? `[${host}]:${p}` : `${host}:${p}`;
}

/** Kinds whose headline value is a time in µs. */
export const LATENCY_KINDS = new Set(['icmp', 'udp', 'tcp', 'dns', 'http']);

/** Headline value of a measurement, per the contract. */
export function fmtValue(kind, v) {
  const n = num(v);
  if (n === null) return '—';
  if (LATENCY_KINDS.has(kind)) return fmtUs(n);
  switch (kind) {
    case 'system': return fmtPct(n);
    case 'mtu': return fmtNum(n) + ' B';
    case 'bandwidth': return fmtNum(n) + ' Mbit/s';
    case 'traceroute': return fmtNum(n) + ' hops';
    default: return fmtNum(n);
  }
}

/** "PROBE_KIND_ICMP" → "icmp". */
export function kindName(k) {
  return String(k || '').replace(/^PROBE_KIND_/, '').toLowerCase();
}

export function kindsOf(spec) {
  return ((spec && spec.probes) || []).map((p) => kindName(p.kind)).filter((k) => k && k !== 'unspecified');
}

export function targetOf(spec) {
  const t = (spec && spec.target) || {};
  if (t.url) return t.url;
  const host = t.host || '';
  const port = num(t.port);
  const hp = host ? (port ? (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`) : host) : '';
  if (t.agentName) return hp ? `${hp} (agent ${t.agentName})` : `agent ${t.agentName}`;
  return hp || '—';
}

/** The kind's result message of a measurement (the API puts it in `result`; tolerate a oneof wrapper too). */
export function resultBody(m) {
  const r = (m && m.result) || {};
  if (m && m.kind && r[m.kind] && typeof r[m.kind] === 'object') return r[m.kind];
  return r;
}
