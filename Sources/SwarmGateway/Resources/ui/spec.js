// TestSpec (proto3 JSON) ⇄ test form values. Pure functions, no DOM: the form page reads its inputs
// into a plain object, and this module turns it into the request body (and back, for editing).
// Proto3 JSON reminders: lowerCamelCase names, enum names as strings, int64 as strings, defaults omitted.

export const KINDS = ['icmp', 'udp', 'tcp', 'dns', 'http', 'traceroute', 'mtu', 'bandwidth', 'system'];

/**
 * Every option of every offered probe kind (test_spec.proto). type: uint | text | bool | bytes | headers | enum.
 * `def` is the value a new test starts with in the form.
 */
export const KIND_OPTIONS = {
  icmp: [
    { key: 'packetIntervalMs', label: 'Packet interval (ms)', type: 'uint', hint: 'gap between echo requests' },
  ],
  udp: [
    { key: 'packetsPerSecond', label: 'Packets per second', type: 'uint' },
    { key: 'durationMs', label: 'Duration (ms)', type: 'uint' },
    { key: 'voice', label: 'Voice (20 ms G.711 stream, MOS)', type: 'bool' },
    { key: 'ecn', label: 'ECN codepoint', type: 'enum', numeric: true, options: [['0', '0 Not-ECT'], ['1', '1 ECT(1)'], ['2', '2 ECT(0)'], ['3', '3 CE']] },
  ],
  tcp: [
    { key: 'send', label: 'Send after connect', type: 'bytes', hint: 'text; escapes \\r \\n \\t \\\\ \\xHH' },
    { key: 'expect', label: 'Expect in reply', type: 'bytes', hint: 'text; escapes \\r \\n \\t \\\\ \\xHH' },
  ],
  dns: [
    { key: 'server', label: 'Server', type: 'text', placeholder: 'system resolver' },
    { key: 'recordType', label: 'Record type', type: 'text', placeholder: 'A', list: ['A', 'AAAA', 'CNAME', 'MX', 'NS', 'PTR', 'SOA', 'SRV', 'TXT', 'CAA', 'HTTPS'] },
    { key: 'tcp', label: 'Query over TCP', type: 'bool' },
    { key: 'recursionDesired', label: 'Recursion desired', type: 'bool', def: true },
  ],
  http: [
    { key: 'method', label: 'Method', type: 'enum', options: [['GET', 'GET'], ['HEAD', 'HEAD']] },
    { key: 'followRedirects', label: 'Follow redirects', type: 'bool' },
    { key: 'maxRedirects', label: 'Max redirects', type: 'uint' },
    { key: 'expectSubstring', label: 'Expect substring in body', type: 'text' },
    { key: 'headers', label: 'Request headers', type: 'headers', hint: 'one "Name: value" per line' },
    { key: 'insecureSkipVerify', label: 'Skip TLS certificate verification', type: 'bool' },
  ],
  traceroute: [
    { key: 'mode', label: 'Mode', type: 'enum', options: [['MODE_UDP', 'udp'], ['MODE_ICMP', 'icmp'], ['MODE_TCP_SYN', 'tcp syn']] },
    { key: 'maxHops', label: 'Max hops', type: 'uint' },
    { key: 'probesPerHop', label: 'Probes per hop', type: 'uint' },
    { key: 'resolveNames', label: 'Resolve hop names', type: 'bool' },
  ],
  mtu: [
    { key: 'minBytes', label: 'Min bytes', type: 'uint' },
    { key: 'maxBytes', label: 'Max bytes', type: 'uint' },
  ],
  bandwidth: [
    { key: 'direction', label: 'Direction', type: 'enum', options: [['DIRECTION_DOWNLOAD', 'download'], ['DIRECTION_UPLOAD', 'upload'], ['DIRECTION_BOTH', 'both']] },
    { key: 'streams', label: 'Streams', type: 'uint' },
    { key: 'durationMs', label: 'Duration (ms)', type: 'uint' },
  ],
  system: [
    { key: 'perCore', label: 'Per-core CPU', type: 'bool', hint: 'busy % and frequency of every core' },
    { key: 'perProcessSummary', label: 'Per-process summary', type: 'bool', hint: 'top 5 processes by CPU and by memory' },
  ],
};

export const FAMILIES = [['any', 'ADDRESS_FAMILY_ANY'], ['ipv4', 'ADDRESS_FAMILY_IPV4'], ['ipv6', 'ADDRESS_FAMILY_IPV6']];
export const RECURRENCE = [['MODE_NONE', 'none'], ['MODE_CONTINUE', 'continue (same test, results accumulate)'], ['MODE_NEW', 'new (a child test per occurrence)']];

export class ValidationError extends Error {}

// ---- bytes ---------------------------------------------------------------------------------

/** Text with escapes (\r \n \t \\ \xHH) → bytes → base64 (proto3 JSON `bytes`). */
export function textToBase64(text) {
  const bytes = [];
  const utf8 = new TextEncoder();
  let i = 0;
  let plain = '';
  const flushPlain = () => { if (plain) { bytes.push(...utf8.encode(plain)); plain = ''; } };
  while (i < text.length) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      const n = text[i + 1];
      const simple = { r: 13, n: 10, t: 9, '\\': 92, 0: 0 }[n];
      if (simple !== undefined) { flushPlain(); bytes.push(simple); i += 2; continue; }
      if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
        flushPlain(); bytes.push(parseInt(text.slice(i + 2, i + 4), 16)); i += 4; continue;
      }
    }
    plain += c;
    i++;
  }
  flushPlain();
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** base64 → text with the same escapes for bytes that are not printable UTF-8. */
export function base64ToText(b64) {
  if (!b64) return '';
  let bin;
  try { bin = atob(b64); } catch { return ''; }
  const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  let text;
  try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch { text = null; }
  if (text === null) return Array.from(bytes, (b) => '\\x' + b.toString(16).padStart(2, '0')).join('');
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0);
    if (ch === '\\') out += '\\\\';
    else if (code === 13) out += '\\r';
    else if (code === 10) out += '\\n';
    else if (code === 9) out += '\\t';
    else if (code < 32 || code === 127) out += '\\x' + code.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out;
}

// ---- headers -------------------------------------------------------------------------------

export function parseHeaders(text) {
  const map = {};
  for (const raw of String(text || '').split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const i = line.indexOf(':');
    if (i <= 0) throw new ValidationError(`HTTP header line "${line}" needs the form "Name: value".`);
    map[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return map;
}

export function formatHeaders(map) {
  return Object.entries(map || {}).map(([k, v]) => `${k}: ${v}`).join('\n');
}

// ---- time ----------------------------------------------------------------------------------

/** datetime-local value (viewer's zone) → unix nanoseconds as a decimal string; '' when empty. */
export function localInputToNanos(value) {
  if (!value) return '';
  const d = new Date(value); // "YYYY-MM-DDTHH:mm[:ss]" without offset is local time
  const t = d.getTime();
  if (!Number.isFinite(t)) throw new ValidationError(`"${value}" is not a valid date and time.`);
  return (BigInt(t) * 1000000n).toString();
}

/** unix nanoseconds (int64 string or number) → datetime-local value in the viewer's zone. */
export function nanosToLocalInput(ns) {
  if (ns === undefined || ns === null || ns === '' || String(ns) === '0') return '';
  let t;
  try { t = Number(BigInt(String(ns)) / 1000000n); } catch { return ''; }
  return dateToLocalInput(new Date(t));
}

export function dateToLocalInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  let s = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  if (d.getSeconds()) s += ':' + p(d.getSeconds());
  return s;
}

// ---- numbers -------------------------------------------------------------------------------

function uint(value, label, { max } = {}) {
  const s = String(value ?? '').trim();
  if (s === '') return undefined;
  if (!/^\d+$/.test(s)) throw new ValidationError(`${label} must be a whole number of at least 0.`);
  const n = Number(s);
  if (n > (max ?? 4294967295)) throw new ValidationError(`${label} must be at most ${max ?? 4294967295}.`);
  return n;
}

/** Seconds (decimals allowed) → milliseconds. */
function secondsToMs(value, label) {
  const s = String(value ?? '').trim();
  if (s === '') return undefined;
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0) throw new ValidationError(`${label} must be a number of seconds, at least 0.`);
  const msv = Math.round(n * 1000);
  if (msv > 4294967295) throw new ValidationError(`${label} is too large.`);
  return msv;
}

function msToSeconds(v) {
  if (v === undefined || v === null || v === '') return '';
  const n = Number(v);
  return Number.isFinite(n) ? String(n / 1000) : '';
}

function setIf(obj, key, value) {
  if (value === undefined || value === null || value === '' || value === false) return;
  obj[key] = value;
}

// ---- form values → request -----------------------------------------------------------------

/**
 * values: {name, kinds[], host, port, url, family, peer, agents[], mesh, interval, count, timeout, start, end,
 *   randomStartOffset, packetSize, dscp, sourceAddress, interface, recurrence, recurrenceInterval,
 *   options: {icmp: {packetIntervalMs: '200'}, ...}}   (all strings/booleans as read from inputs)
 * extra: {keepProbes: [Probe], parentTestId} — preserved from the edited spec.
 * Returns {spec, agents, mesh}; throws ValidationError.
 */
export function buildRequest(values, extra = {}) {
  const name = String(values.name || '').trim();
  if (!name) throw new ValidationError('Give the test a name.');
  const kinds = (values.kinds || []).filter((k) => KINDS.includes(k));
  if (!kinds.length && !(extra.keepProbes || []).length) throw new ValidationError('Tick at least one probe kind.');
  const agents = values.agents || [];
  if (!agents.length) throw new ValidationError('Choose at least one agent to run the test.');
  const mesh = !!values.mesh;
  if (mesh && agents.length < 2) throw new ValidationError('A mesh needs at least two agents.');

  const probes = kinds.map((kind) => ({ kind: 'PROBE_KIND_' + kind.toUpperCase(), [kind]: probeOptions(kind, (values.options || {})[kind] || {}) }));
  for (const p of extra.keepProbes || []) probes.push(p);

  const spec = { name, probes };

  const target = {};
  setIf(target, 'host', String(values.host || '').trim());
  setIf(target, 'port', uint(values.port, 'Port', { max: 65535 }));
  const fam = FAMILIES.find(([short, full]) => values.family === short || values.family === full);
  if (fam && fam[1] !== 'ADDRESS_FAMILY_ANY') target.family = fam[1];
  setIf(target, 'url', String(values.url || '').trim());
  if (!mesh) setIf(target, 'agentName', String(values.peer || '').trim());
  if (kinds.includes('http') && !target.url) throw new ValidationError('An http probe needs a URL.');
  if (Object.keys(target).length) spec.target = target;

  const schedule = {};
  setIf(schedule, 'intervalMs', secondsToMs(values.interval, 'Interval'));
  setIf(schedule, 'count', uint(values.count, 'Count'));
  setIf(schedule, 'timeoutMs', secondsToMs(values.timeout, 'Timeout'));
  setIf(schedule, 'startUnixNanos', localInputToNanos(values.start));
  setIf(schedule, 'endUnixNanos', localInputToNanos(values.end));
  if (schedule.startUnixNanos && schedule.endUnixNanos && BigInt(schedule.endUnixNanos) <= BigInt(schedule.startUnixNanos)) {
    throw new ValidationError('The end must be after the start.');
  }
  setIf(schedule, 'randomStartOffset', !!values.randomStartOffset);
  if (Object.keys(schedule).length) spec.schedule = schedule;

  const options = {};
  setIf(options, 'packetSize', uint(values.packetSize, 'Packet size'));
  setIf(options, 'dscp', uint(values.dscp, 'DSCP', { max: 63 }));
  setIf(options, 'sourceAddress', String(values.sourceAddress || '').trim());
  setIf(options, 'interface', String(values.interface || '').trim());
  if (Object.keys(options).length) spec.options = options;

  const mode = RECURRENCE.some(([m]) => m === values.recurrence) ? values.recurrence : 'MODE_NONE';
  const recurrence = {};
  if (mode !== 'MODE_NONE') {
    recurrence.mode = mode;
    const minutes = String(values.recurrenceInterval ?? '').trim();
    const n = Number(minutes);
    if (minutes === '' || !Number.isFinite(n) || n <= 0) throw new ValidationError('A recurring test needs a recurrence interval in minutes (more than 0).');
    recurrence.intervalMs = Math.round(n * 60000);
    if (recurrence.intervalMs > 4294967295) throw new ValidationError('The recurrence interval is too large.');
  }
  if (extra.parentTestId && String(extra.parentTestId) !== '0') recurrence.parentTestId = String(extra.parentTestId);
  if (Object.keys(recurrence).length) spec.recurrence = recurrence;

  return { spec, agents, mesh };
}

function probeOptions(kind, vals) {
  const out = {};
  for (const f of KIND_OPTIONS[kind]) {
    const v = vals[f.key];
    const label = `${kind} ${f.label.toLowerCase()}`;
    switch (f.type) {
      case 'uint': setIf(out, f.key, uint(v, label)); break;
      case 'text': setIf(out, f.key, String(v ?? '').trim()); break;
      case 'bool': setIf(out, f.key, !!v); break;
      case 'bytes': if (v) out[f.key] = textToBase64(String(v)); break;
      case 'headers': { const m = parseHeaders(v); if (Object.keys(m).length) out[f.key] = m; break; }
      case 'enum': {
        const ok = f.options.find(([val]) => String(val) === String(v));
        if (ok) out[f.key] = f.numeric ? Number(ok[0]) : ok[0];
        if (f.numeric && out[f.key] === 0) delete out[f.key];
        break;
      }
      default: break;
    }
  }
  return out;
}

// ---- spec → form values (editing) ----------------------------------------------------------

/** Form values for an existing test; proto3 JSON defaults are absent, so everything has a fallback. */
export function specToValues(spec, agents) {
  const s = spec || {};
  const t = s.target || {};
  const sch = s.schedule || {};
  const o = s.options || {};
  const r = s.recurrence || {};
  const kinds = [];
  const options = {};
  const keepProbes = [];
  for (const p of s.probes || []) {
    const kind = String(p.kind || '').replace(/^PROBE_KIND_/, '').toLowerCase();
    if (!KINDS.includes(kind)) { keepProbes.push(p); continue; } // e.g. gnmi: kept as it is
    kinds.push(kind);
    options[kind] = probeValues(kind, p[kind] || {});
  }
  const fam = FAMILIES.find(([, full]) => full === t.family);
  return {
    values: {
      name: s.name || '',
      kinds,
      host: t.host || '',
      port: t.port ? String(t.port) : '',
      url: t.url || '',
      family: fam ? fam[0] : 'any',
      peer: t.agentName || '',
      agents: agents || [],
      mesh: false,
      interval: msToSeconds(sch.intervalMs ?? 0),
      count: sch.count ? String(sch.count) : '',
      timeout: sch.timeoutMs ? msToSeconds(sch.timeoutMs) : '',
      start: nanosToLocalInput(sch.startUnixNanos),
      end: nanosToLocalInput(sch.endUnixNanos),
      randomStartOffset: !!sch.randomStartOffset,
      packetSize: o.packetSize ? String(o.packetSize) : '',
      dscp: o.dscp ? String(o.dscp) : '',
      sourceAddress: o.sourceAddress || '',
      interface: o.interface || '',
      recurrence: RECURRENCE.some(([m]) => m === r.mode) ? r.mode : 'MODE_NONE',
      recurrenceInterval: r.intervalMs ? String(Number(r.intervalMs) / 60000) : '',
      options,
    },
    keepProbes,
    parentTestId: r.parentTestId || '',
  };
}

function probeValues(kind, opts) {
  const out = {};
  for (const f of KIND_OPTIONS[kind]) {
    const v = opts[f.key];
    switch (f.type) {
      case 'uint': out[f.key] = v === undefined || v === null ? '' : String(v); break;
      case 'text': out[f.key] = v || ''; break;
      case 'bool': out[f.key] = !!v; break;
      case 'bytes': out[f.key] = base64ToText(v || ''); break;
      case 'headers': out[f.key] = formatHeaders(v); break;
      case 'enum': out[f.key] = v === undefined || v === null ? String(f.options[0][0]) : String(v); break;
      default: break;
    }
  }
  return out;
}

/** Defaults for a new test's per-kind options. */
export function defaultKindValues(kind) {
  const out = {};
  for (const f of KIND_OPTIONS[kind]) {
    if (f.type === 'bool') out[f.key] = !!f.def;
    else if (f.type === 'enum') out[f.key] = String(f.options[0][0]);
    else out[f.key] = f.def ?? '';
  }
  return out;
}
