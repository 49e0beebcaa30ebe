// Create/edit a test: form#test-form → TestSpec proto3 JSON (spec.js) → POST/PUT /api/v1/tests.

import { get, post, put, enc } from '../api.js';
import { h, field, select, replace, reportError, flash, clearFlash } from '../dom.js';
import { num } from '../format.js';
import {
  KINDS, KIND_OPTIONS, FAMILIES, RECURRENCE, ValidationError,
  buildRequest, specToValues, defaultKindValues,
} from '../spec.js';

const KIND_HELP = {
  icmp: 'ping', udp: 'to a UDP echo responder', tcp: 'connect', dns: 'query', http: 'request a URL',
  traceroute: 'path', mtu: 'path MTU', bandwidth: 'to a bandwidth responder', system: 'host resources',
};

function input(name, type = 'text', attrs = {}) {
  return h('input', { name, type, ...attrs });
}

function checkbox(name, label, checked, attrs = {}) {
  return h('label', { class: 'check' }, h('input', { type: 'checkbox', name, checked: !!checked, ...attrs }), ' ', label);
}

function kindFieldset(kind, vals) {
  const fs = h('fieldset', { class: 'kind-options', dataset: { kind }, hidden: true },
    h('legend', { text: `${kind} options` }));
  const grid = h('div', { class: 'form-grid' });
  for (const f of KIND_OPTIONS[kind]) {
    const name = `${kind}.${f.key}`;
    const v = vals[f.key];
    let el;
    switch (f.type) {
      case 'uint': el = field(f.label, input(name, 'number', { min: 0, step: 1, value: v ?? '' }), f.hint); break;
      case 'text': {
        const attrs = { value: v ?? '', placeholder: f.placeholder || '' };
        let list = null;
        if (f.list) {
          attrs.list = `list-${kind}-${f.key}`;
          list = h('datalist', { id: attrs.list }, f.list.map((x) => h('option', { value: x })));
        }
        el = field(f.label, input(name, 'text', attrs), f.hint);
        if (list) el.appendChild(list);
        break;
      }
      case 'bool': el = checkbox(name, f.label, v); break;
      case 'bytes': el = field(f.label, h('textarea', { name, rows: 2, spellcheck: 'false', value: v ?? '' }), f.hint); break;
      case 'headers': el = field(f.label, h('textarea', { name, rows: 3, spellcheck: 'false', placeholder: 'Accept: text/html', value: v ?? '' }), f.hint); break;
      case 'enum': el = field(f.label, select(name, f.options, v)); break;
      default: continue;
    }
    if (f.type === 'bool' || f.type === 'headers' || f.type === 'bytes') el.classList.add('wide');
    grid.appendChild(el);
  }
  fs.appendChild(grid);
  return fs;
}

export function mount(root, ctx) {
  const editId = ctx.params.id;
  const title = h('h1', { text: editId ? `Edit test #${editId}` : 'New test' });
  const holder = h('div', null, h('p', { class: 'muted', text: 'Loading…' }));
  root.append(h('div', { class: 'page-head' }, h('a', { href: editId ? `#/results/${enc(editId)}` : '#/tests', class: 'back', text: editId ? '← Results' : '← Tests' }), title), holder);

  (async () => {
    const [agentsRes, test, settings] = await Promise.all([
      get('/api/v1/agents'),
      editId ? get('/api/v1/tests/' + enc(editId)) : Promise.resolve(null),
      // the default interval is a setting, readable by admins only (others start at 60 s)
      !editId && ctx.can('admin') ? get('/api/v1/settings').catch(() => null) : Promise.resolve(null),
    ]);
    if (!ctx.alive()) return;
    const agents = ((agentsRes && agentsRes.agents) || []);
    let init;
    if (test) {
      init = specToValues(test.spec || {}, test.agents || []);
      title.textContent = `Edit test #${editId}: ${test.name || (test.spec && test.spec.name) || ''} (revision ${num(test.revision) ?? 1})`;
    } else {
      const options = {};
      for (const k of KINDS) options[k] = defaultKindValues(k);
      const interval = num(settings && settings.settings && settings.settings.defaultTestIntervalSeconds) ?? 60;
      init = { values: { name: '', kinds: [], family: 'any', agents: [], interval: String(interval), recurrence: 'MODE_NONE', options }, keepProbes: [], parentTestId: '' };
    }
    for (const k of KINDS) if (!init.values.options[k]) init.values.options[k] = defaultKindValues(k);
    replace(holder, buildForm(ctx, agents, init, test));
  })().catch((e) => { if (ctx.alive()) { replace(holder, h('p', { class: 'muted', text: 'Could not load the form.' })); reportError(e); } });

  return {};
}

function buildForm(ctx, agents, init, test) {
  const v = init.values;
  const editing = !!test;
  const usable = agents.filter((a) => !(a.revoked || a.state === 'revoked') || v.agents.includes(a.name));
  const agentNames = usable.map((a) => a.name);
  for (const n of v.agents) if (!agentNames.includes(n)) agentNames.push(n);

  // --- what ---
  const kindBoxes = h('div', { class: 'kinds' }, KINDS.map((k) => h('label', { class: 'check kind' },
    h('input', { type: 'checkbox', name: 'kind', value: k, checked: v.kinds.includes(k) }), ' ', h('b', { text: k }), ' ', h('small', { class: 'muted', text: KIND_HELP[k] }))));
  const kept = init.keepProbes.length
    ? h('p', { class: 'note', text: `Also kept unchanged: ${init.keepProbes.map((p) => String(p.kind || '').replace(/^PROBE_KIND_/, '').toLowerCase()).join(', ')} (not editable here).` })
    : null;

  // --- where ---
  const peerSel = select('peer', [['', '(none)'], ...agentNames.map((n) => [n, n])], v.peer);
  if (v.peer && !agentNames.includes(v.peer)) peerSel.appendChild(h('option', { value: v.peer, text: v.peer, selected: true }));
  const targetSet = h('fieldset', null, h('legend', { text: 'Target' }), h('div', { class: 'form-grid' },
    field('Host', input('host', 'text', { value: v.host || '', placeholder: 'name or address', autocomplete: 'off' }), 'empty for system'),
    field('Port', input('port', 'number', { min: 0, max: 65535, step: 1, value: v.port || '' })),
    field('URL', input('url', 'text', { value: v.url || '', placeholder: 'https://example.net/', autocomplete: 'off' }), 'http probes'),
    field('Address family', select('family', FAMILIES.map(([short]) => [short, short]), v.family || 'any')),
    field('Mesh peer agent', peerSel, "measure to this agent's responder")));

  const agentBoxes = h('div', { class: 'agent-choices' }, agentNames.length
    ? agentNames.map((n) => {
      const a = agents.find((x) => x.name === n);
      const st = a ? (a.state || (a.online ? 'online' : 'offline')) : 'unknown';
      return h('label', { class: 'check agent-choice' }, h('input', { type: 'checkbox', name: 'agent', value: n, checked: v.agents.includes(n) }), ' ', n, ' ', h('span', { class: 'badge ' + st, text: st }));
    })
    : h('p', { class: 'muted', text: 'No agents are known yet.' }));
  const meshBox = h('input', { type: 'checkbox', name: 'mesh', checked: false, disabled: editing });
  const agentSet = h('fieldset', null, h('legend', { text: 'Agents' }), agentBoxes,
    h('label', { class: 'check' }, meshBox, ' Mesh: one test per ordered pair of the chosen agents (each measures to the other\'s responder)'),
    editing ? h('small', { class: 'hint', text: 'Mesh applies when creating tests.' }) : null);

  // --- when ---
  const schedSet = h('fieldset', null, h('legend', { text: 'Schedule' }), h('div', { class: 'form-grid' },
    field('Interval (s)', input('interval', 'number', { min: 0, step: 'any', value: v.interval ?? '' }), '0 = run once'),
    field('Count', input('count', 'number', { min: 0, step: 1, value: v.count || '' }), 'packets/attempts per run'),
    field('Timeout (s)', input('timeout', 'number', { min: 0, step: 'any', value: v.timeout || '' }), 'per run'),
    field('Start', input('start', 'datetime-local', { value: v.start || '', step: 1 }), 'your local time; empty = now'),
    field('End', input('end', 'datetime-local', { value: v.end || '', step: 1 }), 'empty = no end'),
    checkbox('randomStartOffset', 'Random start offset (spread first runs over one interval)', v.randomStartOffset)));

  const optSet = h('fieldset', null, h('legend', { text: 'Common options' }), h('div', { class: 'form-grid' },
    field('Packet size (bytes)', input('packetSize', 'number', { min: 0, step: 1, value: v.packetSize || '' })),
    field('DSCP (0–63)', input('dscp', 'number', { min: 0, max: 63, step: 1, value: v.dscp || '' })),
    field('Source address', input('sourceAddress', 'text', { value: v.sourceAddress || '', autocomplete: 'off' })),
    field('Interface', input('interface', 'text', { value: v.interface || '', autocomplete: 'off' }))));

  const kindSets = KINDS.map((k) => kindFieldset(k, v.options[k] || defaultKindValues(k)));

  const recSel = select('recurrence', RECURRENCE, v.recurrence || 'MODE_NONE');
  const recInterval = input('recurrenceInterval', 'number', { min: 0, step: 'any', value: v.recurrenceInterval || '' });
  const recSet = h('fieldset', null, h('legend', { text: 'Recurrence' }), h('div', { class: 'form-grid' },
    field('Recurrence', recSel),
    field('Every (minutes)', recInterval, 'a recurring test needs a start and end (the window) or interval 0')));

  const submit = h('button', { type: 'submit', class: 'btn primary', text: editing ? 'Save new revision' : 'Create test' });
  const form = h('form', { id: 'test-form', class: 'test-form', novalidate: true },
    h('fieldset', null, h('legend', { text: 'Test' }),
      field('Name', input('name', 'text', { value: v.name || '', required: true, autocomplete: 'off', maxlength: 200 })),
      h('div', { class: 'label', text: 'Probe kinds' }), kindBoxes, kept),
    targetSet, agentSet, schedSet, optSet, ...kindSets, recSet,
    h('div', { class: 'form-actions' }, submit, h('a', { href: editing ? `#/results/${enc(test.id)}` : '#/tests', class: 'btn', text: 'Cancel' })));

  const syncKinds = () => {
    const ticked = new Set([...form.querySelectorAll('input[name=kind]')].filter((c) => c.checked).map((c) => c.value));
    for (const fs of kindSets) {
      const on = ticked.has(fs.dataset.kind);
      fs.hidden = !on;
      fs.disabled = !on;
    }
  };
  const syncMesh = () => { peerSel.disabled = meshBox.checked; };
  const syncRec = () => { recInterval.disabled = recSel.value === 'MODE_NONE'; };
  form.addEventListener('change', (e) => {
    const n = e.target && e.target.name;
    if (n === 'kind') syncKinds();
    if (n === 'mesh') syncMesh();
    if (n === 'recurrence') syncRec();
  });
  syncKinds(); syncMesh(); syncRec();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFlash();
    let req;
    try {
      req = buildRequest(readForm(form), { keepProbes: init.keepProbes, parentTestId: init.parentTestId });
    } catch (err) {
      flash(err instanceof ValidationError ? err.message : String(err && err.message ? err.message : err), 'error');
      return;
    }
    submit.disabled = true;
    try {
      let id;
      if (editing) {
        const t = await put('/api/v1/tests/' + enc(test.id), { spec: req.spec, agents: req.agents });
        id = t && t.id !== undefined ? t.id : test.id;
      } else {
        const body = { spec: req.spec, agents: req.agents };
        if (req.mesh) body.mesh = true;
        const res = await post('/api/v1/tests', body);
        const first = res && Array.isArray(res.tests) ? res.tests[0] : res;
        id = first && first.id;
        if (res && Array.isArray(res.tests) && res.tests.length > 1) flash(`Created ${res.tests.length} mesh tests.`, 'ok');
      }
      if (!ctx.alive()) return;
      ctx.navigate(id !== undefined && id !== null ? `#/results/${enc(String(id))}` : '#/tests');
    } catch (err) {
      reportError(err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** Plain values from the form, in the shape spec.buildRequest expects. */
function readForm(form) {
  const val = (name) => { const el = form.elements.namedItem(name); return el && 'value' in el ? el.value : ''; };
  const checked = (name) => { const el = form.elements.namedItem(name); return !!(el && el.checked); };
  const all = (name) => [...form.querySelectorAll(`input[name="${name}"]`)].filter((c) => c.checked).map((c) => c.value);
  const kinds = all('kind');
  const options = {};
  for (const k of kinds) {
    options[k] = {};
    for (const f of KIND_OPTIONS[k]) {
      const name = `${k}.${f.key}`;
      options[k][f.key] = f.type === 'bool' ? checked(name) : val(name);
    }
  }
  return {
    name: val('name'), kinds, host: val('host'), port: val('port'), url: val('url'), family: val('family'), peer: val('peer'),
    agents: all('agent'), mesh: checked('mesh'),
    interval: val('interval'), count: val('count'), timeout: val('timeout'), start: val('start'), end: val('end'),
    randomStartOffset: checked('randomStartOffset'),
    packetSize: val('packetSize'), dscp: val('dscp'), sourceAddress: val('sourceAddress'), interface: val('interface'),
    recurrence: val('recurrence'), recurrenceInterval: val('recurrenceInterval'),
    options,
  };
}
