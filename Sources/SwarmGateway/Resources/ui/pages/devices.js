// Managed gNMI devices (#/devices): #devices-table, one tr[data-device-id=ID] per device with its status and the
// reason of its latest collection result; admins also get a delete button per device and form#device-form.
// Credentials go in through the form and never come back: the API only says whether a device has them.

import { get, post, del, enc } from '../api.js';
import { h, replace, table, badge, field, select, coalesce, reportError, flash, clearFlash } from '../dom.js';
import { num, fmtTime, fmtAgo, hostPort } from '../format.js';

/** gNMI has no single well-known port: the form offers these and assumes none. */
export const PORT_PRESETS = [
  [9339, 'IANA / Cisco IOS XE'], [57400, 'Cisco IOS XR / Nokia'], [6030, 'Arista EOS'], [32767, 'Juniper'], [50051, 'Cisco NX-OS'],
];
const AUTHS = [['password', 'username + password'], ['certificate', 'client certificate'], ['certificate+password', 'client certificate + username/password']];
const TRUSTS = [['system', 'system trust store'], ['ca', 'CA certificate'], ['pinned', 'pinned self-signed certificate']];
const MODES = [['stream', 'stream (one long subscription)'], ['poll', 'poll (ask every poll interval)'], ['once', 'once (reconnect per report)']];
const ENCODINGS = ['json_ietf', 'json', 'proto', 'ascii', 'bytes'];
const SUB_MODES = ['sample', 'on-change', 'target-defined'];
const NO_RESULTS = 'No result yet: waiting for the first report from its agents.';

export function deviceStatus(d) {
  return (d && d.status) || { state: 'pending', at: null, reason: '', errorKind: '' };
}

/** Status reason text for a table cell or fact list: the full reason, then the error kind when there is one. */
export function statusReason(st) {
  const reason = st.reason || (st.at ? '' : NO_RESULTS);
  const kind = st.errorKind ? h('small', { class: 'error-kind', text: String(st.errorKind).replace(/_/g, ' ') }) : null;
  if (!reason && !kind) return '';
  return h('span', null, reason, reason && kind ? ' ' : null, kind);
}

/** Links to the agents that collect from a device. */
export function agentLinks(agents) {
  const list = agents || [];
  if (!list.length) return '—';
  const out = [];
  list.forEach((a, i) => {
    if (i) out.push(', ');
    out.push(h('a', { href: '#/agents/' + enc(a), text: a }));
  });
  return h('span', null, out);
}

/** The device's collected results live in its test: a link to the results page. */
export function resultsLink(d, cls = 'btn small') {
  const id = num(d && d.testId);
  if (id === null) return h('span', { class: 'muted', text: 'no test yet' });
  return h('a', { href: '#/results/' + enc(String(id)), class: cls, dataset: { action: 'device-results' }, text: 'Results' });
}

/** Admin delete button for one device ([data-action=delete-device]), with confirm(). */
export function deviceActions(d, ctx, after) {
  if (!ctx.can('admin')) return null;
  const remove = h('button', {
    type: 'button', class: 'btn small danger', dataset: { action: 'delete-device', deviceId: d.id }, text: 'Delete',
    title: 'Its agents stop collecting; the results collected so far stay with its test',
    onclick: async () => {
      if (!confirm(`Delete device "${d.name}"? Its agents stop collecting from it; the results collected so far stay with its test.`)) return;
      remove.disabled = true;
      try {
        await del('/api/v1/devices/' + enc(String(d.id)));
        flash(`Device "${d.name}" deleted.`, 'ok');
        after('deleted');
      } catch (e) { reportError(e); remove.disabled = false; }
    },
  });
  return h('span', { class: 'actions' }, remove);
}

export function mount(root, ctx) {
  const admin = ctx.can('admin');
  const headers = ['Name', 'Address', 'Auth', 'Agents', 'Status', 'Reason', 'Last result', 'Results'];
  if (admin) headers.push('');
  const { table: tbl, tbody } = table('devices-table', headers);
  const count = h('span', { class: 'muted' });
  const none = h('p', { id: 'devices-empty', class: 'empty', hidden: true },
    'No managed devices yet. ',
    admin ? 'Add a router or switch with the form below, or on the server with ' : 'An admin adds them on this page, or on the server with ',
    h('code', { text: 'streamswarm devices add --name … --address … --port … --agent …' }),
    '. Its agents then collect its gNMI telemetry, and traceroute hops through it show its figures on the results page.');
  const formHolder = h('div', null, h('p', { class: 'muted', text: 'Loading…' }));

  root.append(
    h('div', { class: 'page-head' }, h('h1', { text: 'Devices' }), count),
    h('p', { class: 'muted', text: 'Routers and switches the agents collect gNMI telemetry from: interface rates, errors and discards, queue drops, CPU and memory.' }),
    h('section', { class: 'panel' }, h('div', { class: 'table-scroll' }, tbl), none),
    admin ? h('section', { class: 'panel' }, h('h2', { text: 'Add device' }), formHolder) : null);

  let testIds = new Set();

  async function load() {
    const res = await get('/api/v1/devices');
    if (!ctx.alive()) return;
    const list = (res && res.devices) || [];
    const ok = list.filter((d) => deviceStatus(d).state === 'ok').length;
    count.textContent = list.length ? `${ok} of ${list.length} ok` : '';
    none.hidden = list.length > 0;
    testIds = new Set(list.map((d) => String(d.testId)).filter((x) => x !== 'undefined' && x !== 'null'));
    replace(tbody, list.map(row));
  }

  function row(d) {
    const st = deviceStatus(d);
    return h('tr', { dataset: { deviceId: d.id, state: st.state } },
      h('td', { class: 'name' }, h('a', { href: '#/devices/' + enc(String(d.id)), text: d.name || `device ${d.id}` })),
      h('td', { class: 'mono nowrap', text: hostPort(d.address, d.port) }),
      h('td', { text: d.auth || '—' }),
      h('td', { class: 'agents' }, agentLinks(d.agents)),
      h('td', null, badge(st.state || 'pending')),
      h('td', { class: 'reason' }, statusReason(st)),
      h('td', { class: 'nowrap', title: fmtAgo(st.at), text: st.at ? fmtTime(st.at) : '—' }),
      h('td', null, resultsLink(d)),
      admin ? h('td', { class: 'row-actions' }, deviceActions(d, ctx, () => refresh.trigger())) : null);
  }

  if (admin) {
    get('/api/v1/agents')
      .then((res) => {
        if (!ctx.alive()) return;
        replace(formHolder, deviceForm((res && res.agents) || [], () => refresh.trigger()));
      })
      .catch((e) => {
        if (!ctx.alive()) return;
        replace(formHolder, h('p', { class: 'muted', text: 'Could not load the form.' }));
        reportError(e);
      });
  }

  const refresh = coalesce(load, 1000);
  load().catch(reportError);
  const timer = setInterval(refresh.trigger, 15000); // a status only changes with a result of the device's test

  return {
    refresh: () => load().catch(reportError),
    onLive(type, data) {
      if (type === 'results' && testIds.has(String(data.testId))) refresh.trigger();
    },
    destroy() { refresh.cancel(); clearInterval(timer); },
  };
}

// ---- add form -------------------------------------------------------------------------------

function input(name, type = 'text', attrs = {}) {
  return h('input', { name, type, ...attrs });
}

function pem(name, placeholder) {
  return h('textarea', { name, rows: 4, spellcheck: 'false', autocomplete: 'off', placeholder });
}

/** One editable subscription row; returns {el, read()}. */
function subscriptionRow(onRemove) {
  const path = input('sub.path', 'text', { placeholder: '/interfaces/interface/state/counters', autocomplete: 'off', spellcheck: 'false', 'aria-label': 'Subscription path' });
  const mode = select('sub.mode', SUB_MODES, 'sample', { 'aria-label': 'Subscription mode' });
  const sample = input('sub.sample', 'number', { min: 0.1, step: 'any', placeholder: '10', 'aria-label': 'Sample interval (s)' });
  const heartbeat = input('sub.heartbeat', 'number', { min: 0, step: 'any', placeholder: '0', 'aria-label': 'Heartbeat interval (s)' });
  const suppress = input('sub.suppress', 'checkbox');
  const el = h('div', { class: 'sub-row' },
    field('Path', path),
    field('Mode', mode),
    field('Sample interval (s)', sample),
    field('Heartbeat (s)', heartbeat),
    h('label', { class: 'check' }, suppress, ' suppress redundant'),
    h('button', { type: 'button', class: 'btn small', text: 'Remove', onclick: () => { el.remove(); onRemove(); } }));
  const sync = () => { sample.disabled = mode.value !== 'sample'; };
  mode.addEventListener('change', sync);
  sync();
  return {
    el,
    read() {
      return { path: path.value.trim(), mode: mode.value, sample: mode.value === 'sample' ? sample.value.trim() : '', heartbeat: heartbeat.value.trim(), suppress: suppress.checked };
    },
  };
}

class FormError extends Error {}

/** Seconds typed in a field → whole milliseconds; '' → undefined (the server default). */
function secondsToMs(text, label, min) {
  if (text === '') return undefined;
  const n = num(text);
  if (n === null || n < min) throw new FormError(`${label} must be a number of seconds, at least ${min}.`);
  return Math.round(n * 1000);
}

/** Form values → the POST /devices body: only the fields the API knows, empty optional ones left out. */
export function deviceBody(v) {
  const name = v.name.trim();
  const address = v.address.trim();
  if (!name) throw new FormError('Give the device a name.');
  if (!address) throw new FormError('Enter the management address the agents dial.');
  const port = num(v.port.trim());
  if (port === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new FormError('Enter the gNMI port (1–65535). It differs by vendor: 9339 IANA / Cisco IOS XE, 57400 Cisco IOS XR / Nokia, 6030 Arista EOS, 32767 Juniper, 50051 Cisco NX-OS.');
  }
  const body = { name, address, port };
  const extra = v.interfaceAddresses.split(/[\s,]+/).filter(Boolean);
  if (extra.length) body.interfaceAddresses = extra;

  body.auth = v.auth;
  const withPassword = v.auth !== 'certificate';
  const withCert = v.auth !== 'password';
  if (withPassword) {
    if (!v.username.trim()) throw new FormError(`Authentication "${v.auth}" needs a username.`);
    if (!v.password) throw new FormError(`Authentication "${v.auth}" needs a password.`);
    body.username = v.username.trim();
    body.password = v.password;
  } else if (v.username.trim()) {
    body.username = v.username.trim();
  }
  if (withCert) {
    if (!v.clientCertificatePem.trim() || !v.clientKeyPem.trim()) throw new FormError(`Authentication "${v.auth}" needs a client certificate and its private key (PEM).`);
    body.clientCertificatePem = v.clientCertificatePem.trim() + '\n';
    body.clientKeyPem = v.clientKeyPem.trim() + '\n';
  }

  if (v.trust === 'ca') {
    if (!v.caCertificatePem.trim()) throw new FormError('Paste the CA certificate (PEM) that signed the device certificate, or choose the system trust store.');
    body.caCertificatePem = v.caCertificatePem.trim() + '\n';
  } else if (v.trust === 'pinned') {
    if (!v.pinnedCertificatePem.trim()) throw new FormError('Paste the self-signed device certificate (PEM) to trust, or choose another trust.');
    body.pinnedCertificatePem = v.pinnedCertificatePem.trim() + '\n';
  }
  if (v.serverName.trim()) body.serverName = v.serverName.trim();

  const subs = [];
  for (const s of v.subscriptions) {
    if (!s.path) continue;
    const sub = { path: s.path, mode: s.mode };
    const sample = secondsToMs(s.sample, `Sample interval of ${s.path}`, 0.1);
    if (sample !== undefined) sub.sampleIntervalMs = sample;
    const heartbeat = secondsToMs(s.heartbeat, `Heartbeat of ${s.path}`, 0);
    if (heartbeat !== undefined) sub.heartbeatIntervalMs = heartbeat;
    if (s.suppress) sub.suppressRedundant = true;
    subs.push(sub);
  }
  if (subs.length) body.subscriptions = subs;

  body.mode = v.mode;
  body.encoding = v.encoding;
  if (v.mode === 'poll') {
    const poll = secondsToMs(v.pollInterval.trim(), 'Poll interval', 0.1);
    if (poll !== undefined) body.pollIntervalMs = poll;
  }
  const report = secondsToMs(v.reportInterval.trim(), 'Report interval', 1);
  if (report !== undefined) body.reportIntervalMs = report;

  if (!v.agents.length) throw new FormError('Choose at least one agent to collect from the device.');
  body.agents = v.agents;
  return body;
}

function deviceForm(agents, created) {
  const usable = agents.filter((a) => !(a.revoked || a.state === 'revoked'));

  // --- device ---
  const port = input('port', 'number', { min: 1, max: 65535, step: 1, required: true, placeholder: 'required', autocomplete: 'off' });
  const presets = h('div', { class: 'port-presets' },
    h('span', { class: 'hint', text: 'gNMI ports differ by vendor and none is assumed:' }),
    PORT_PRESETS.map(([p, vendor]) => h('button', {
      type: 'button', class: 'btn small', dataset: { port: p }, text: `${p} ${vendor}`,
      title: `Set the port to ${p}`, onclick: () => { port.value = String(p); port.focus(); },
    })));
  const deviceSet = h('fieldset', null, h('legend', { text: 'Device' }), h('div', { class: 'form-grid' },
    field('Name', input('name', 'text', { required: true, autocomplete: 'off', maxlength: 100, placeholder: 'e.g. core-r1' })),
    field('Address', input('address', 'text', { required: true, autocomplete: 'off', spellcheck: 'false', placeholder: '192.0.2.1 or r1.example.net' }), 'management address the agents dial'),
    field('Port', port),
    h('div', { class: 'wide' }, presets),
    h('div', { class: 'wide' }, field('Interface addresses', input('interfaceAddresses', 'text', { autocomplete: 'off', spellcheck: 'false', placeholder: '10.0.0.1, 10.0.1.1' }),
      'other addresses of the device, comma or space separated: traceroute hops through them are matched to it'))));

  // --- authentication ---
  const authSel = select('auth', AUTHS, 'password');
  const userField = field('Username', input('username', 'text', { autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' }));
  const passField = field('Password', input('password', 'password', { autocomplete: 'new-password' }));
  const certField = field('Client certificate (PEM)', pem('clientCertificatePem', '-----BEGIN CERTIFICATE-----'));
  const keyField = field('Client private key (PEM)', pem('clientKeyPem', '-----BEGIN PRIVATE KEY-----'));
  certField.classList.add('wide');
  keyField.classList.add('wide');
  const authSet = h('fieldset', null, h('legend', { text: 'Authentication' }),
    h('p', { class: 'hint', text: "The password and the private key are sealed with the server's device key and never shown again." }),
    h('div', { class: 'form-grid' }, field('Authentication', authSel), userField, passField, certField, keyField));

  // --- server certificate ---
  const trustSel = select('trust', TRUSTS, 'system');
  const caField = field('CA certificate (PEM)', pem('caCertificatePem', '-----BEGIN CERTIFICATE-----'), 'the CA (or CAs) that signed the device certificate');
  const pinField = field('Pinned certificate: trust exactly this self-signed certificate (instead of a CA)', pem('pinnedCertificatePem', '-----BEGIN CERTIFICATE-----'),
    "the device's own certificate; the server logs this as an operator choice");
  caField.classList.add('wide');
  pinField.classList.add('wide');
  const trustSet = h('fieldset', null, h('legend', { text: 'Device certificate (TLS)' }), h('div', { class: 'form-grid' },
    field('Trust', trustSel),
    field('Server name', input('serverName', 'text', { autocomplete: 'off', spellcheck: 'false' }), 'name to verify the device certificate against (optional)'),
    caField, pinField));

  // --- subscriptions ---
  const subRows = [];
  const subBox = h('div', { class: 'sub-rows' });
  const subNote = h('p', { class: 'note', text: 'No paths: the server subscribes to the OpenConfig default set (interface counters, oper-status and port speed, CPU, memory and output queues).' });
  const syncSubs = () => { subNote.hidden = subRows.length > 0; };
  const addSub = () => {
    const r = subscriptionRow(() => { subRows.splice(subRows.indexOf(r), 1); syncSubs(); });
    subRows.push(r);
    subBox.appendChild(r.el);
    syncSubs();
  };
  const subSet = h('fieldset', null, h('legend', { text: 'Subscriptions' }), subNote, subBox,
    h('button', { type: 'button', class: 'btn small', dataset: { action: 'add-subscription' }, text: '+ Add path', onclick: addSub }));

  // --- collection ---
  const modeSel = select('mode', MODES, 'stream');
  const pollInput = input('pollInterval', 'number', { min: 0.1, step: 'any', placeholder: '10' });
  const collectSet = h('fieldset', null, h('legend', { text: 'Collection' }), h('div', { class: 'form-grid' },
    field('Mode', modeSel),
    field('Encoding', select('encoding', ENCODINGS, 'json_ietf')),
    field('Poll interval (s)', pollInput, 'poll mode; default 10'),
    field('Report interval (s)', input('reportInterval', 'number', { min: 1, step: 'any', placeholder: '10' }), 'one stored result per interval; default 10')));

  // --- agents ---
  const agentBoxes = h('div', { class: 'agent-choices' }, usable.length
    ? usable.map((a) => {
      const st = a.state || (a.online ? 'online' : 'offline');
      return h('label', { class: 'check agent-choice' }, h('input', { type: 'checkbox', name: 'agent', value: a.name }), ' ', a.name, ' ', badge(st));
    })
    : h('p', { class: 'muted', text: 'No agents are known yet: a device needs an agent that connects to it.' }));
  const agentSet = h('fieldset', null, h('legend', { text: 'Agents' }), agentBoxes,
    h('small', { class: 'hint', text: 'The agents that dial the device and collect from it.' }));

  const submit = h('button', { type: 'submit', class: 'btn primary', text: 'Add device' });
  const form = h('form', { id: 'device-form', class: 'device-form', novalidate: true, autocomplete: 'off' },
    deviceSet, authSet, trustSet, subSet, collectSet, agentSet, h('div', { class: 'form-actions' }, submit));

  const syncAuth = () => {
    const a = authSel.value;
    const pw = a !== 'certificate';
    const cert = a !== 'password';
    passField.hidden = !pw;
    certField.hidden = !cert;
    keyField.hidden = !cert;
  };
  const syncTrust = () => {
    caField.hidden = trustSel.value !== 'ca';
    pinField.hidden = trustSel.value !== 'pinned';
  };
  const syncMode = () => { pollInput.disabled = modeSel.value !== 'poll'; };
  const syncAll = () => { syncAuth(); syncTrust(); syncMode(); syncSubs(); };
  authSel.addEventListener('change', syncAuth);
  trustSel.addEventListener('change', syncTrust);
  modeSel.addEventListener('change', syncMode);
  syncAll();

  const val = (name) => { const el = form.elements.namedItem(name); return el && 'value' in el ? el.value : ''; };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFlash();
    let body;
    try {
      body = deviceBody({
        name: val('name'), address: val('address'), port: val('port'), interfaceAddresses: val('interfaceAddresses'),
        auth: val('auth'), username: val('username'), password: val('password'),
        clientCertificatePem: val('clientCertificatePem'), clientKeyPem: val('clientKeyPem'),
        trust: val('trust'), caCertificatePem: val('caCertificatePem'), pinnedCertificatePem: val('pinnedCertificatePem'), serverName: val('serverName'),
        subscriptions: subRows.map((r) => r.read()),
        mode: val('mode'), encoding: val('encoding'), pollInterval: val('pollInterval'), reportInterval: val('reportInterval'),
        agents: [...form.querySelectorAll('input[name="agent"]')].filter((c) => c.checked).map((c) => c.value),
      });
    } catch (err) {
      flash(err instanceof FormError ? err.message : String(err && err.message ? err.message : err), 'error');
      return;
    }
    submit.disabled = true;
    try {
      const d = await post('/api/v1/devices', body);
      flash(`Added device "${(d && d.name) || body.name}": its agents start collecting.`, 'ok');
      form.reset();
      subRows.splice(0);
      replace(subBox);
      syncAll();
      created(d);
    } catch (err) {
      reportError(err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
