// Agent detail (#/agents/NAME): state, every host fact, the latest load snapshot, its tests.

import { get, enc } from '../api.js';
import { h, replace, badge, dl, coalesce, reportError, empty } from '../dom.js';
import { reportButton } from '../reports.js';
import { num, fmtTime, fmtAgo, fmtNanos, fmtPct, fmtNum, fmtBytes } from '../format.js';
import { agentActions, agentState } from './agents.js';

const HOST_FIELDS = [
  ['hostname', 'Hostname'], ['osName', 'OS'], ['osVersion', 'OS version'], ['kernel', 'Kernel'], ['arch', 'Architecture'],
  ['cpuCount', 'CPUs', (v) => fmtNum(v)], ['memoryBytes', 'Memory', fmtBytes], ['bootTimeUnixNanos', 'Booted', fmtNanos],
  ['responderAddress', 'Responder address'], ['responderUdpPort', 'Responder UDP port'], ['responderBandwidthPort', 'Responder bandwidth port'],
];

const LOAD_FIELDS = [
  ['cpuPercent', 'CPU', fmtPct], ['load1', 'Load 1', fmtNum], ['memoryUsedBytes', 'Memory used', fmtBytes],
  ['spoolDepth', 'Spool depth', fmtNum], ['spoolOldestUnixNanos', 'Oldest spooled', fmtNanos],
  ['testsRunning', 'Tests running', fmtNum], ['batchesInFlight', 'Batches in flight', fmtNum],
];

/** All known fields (proto3 JSON omits zero values, shown as 0/—) and then any unknown ones as they are. */
function facts(obj, fields, zeroNumeric) {
  const o = obj || {};
  const pairs = fields.map(([k, label, f]) => {
    let v = o[k];
    if ((v === undefined || v === null) && zeroNumeric.has(k)) v = 0;
    return [label, v === undefined || v === null || v === '' ? '—' : (f ? f(v) : String(v))];
  });
  const known = new Set(fields.map(([k]) => k));
  for (const [k, v] of Object.entries(o)) {
    if (known.has(k)) continue;
    pairs.push([k, typeof v === 'object' ? JSON.stringify(v) : String(v)]);
  }
  return pairs;
}

export function mount(root, ctx) {
  const name = ctx.params.name;
  const title = h('h1', { text: name });
  const state = h('span');
  const actions = h('span', { class: 'head-actions' });
  const summary = h('div');
  const host = h('div');
  const load = h('div');
  const testsBox = h('div');
  root.append(
    h('div', { class: 'page-head' }, h('a', { href: '#/agents', class: 'back', text: '← Agents' }), title, state, actions,
      reportButton(`agent:${name}`, () => 24 * 3600e3, 'PDF report of this agent\u2019s tests, last 24 hours')),
    h('div', { class: 'cols' },
      h('section', { class: 'panel' }, h('h2', { text: 'Agent' }), summary),
      h('section', { class: 'panel' }, h('h2', { text: 'Load (last heartbeat)' }), load)),
    h('section', { class: 'panel' }, h('h2', { text: 'Host facts' }), host),
    h('section', { class: 'panel' }, h('h2', { text: 'Tests' }), testsBox));

  async function loadAgent() {
    const a = await get('/api/v1/agents/' + enc(name));
    if (!ctx.alive()) return;
    const st = agentState(a);
    replace(state, badge(st));
    replace(actions, agentActions(a, ctx, (what) => { if (what === 'deleted') ctx.navigate('#/agents'); else refresh.trigger(); }));
    replace(summary, dl([
      ['Name', a.name],
      ['State', badge(st)],
      ['Version', a.version || '—'],
      ['First seen', fmtTime(a.firstSeen)],
      ['Last seen', a.lastSeen ? `${fmtTime(a.lastSeen)} (${fmtAgo(a.lastSeen)})` : '—'],
      ['Went offline', fmtTime(a.wentOfflineAt)],
      ['Spool depth', String(num(a.spoolDepth) ?? 0)],
      ['Revoked', a.revoked ? `yes, ${fmtTime(a.revokedAt)}` : 'no'],
    ]));
    replace(host, a.host ? dl(facts(a.host, HOST_FIELDS, new Set(['cpuCount', 'memoryBytes', 'responderUdpPort', 'responderBandwidthPort']))) : empty('No host facts reported yet.'));
    replace(load, a.load ? dl(facts(a.load, LOAD_FIELDS, new Set(['cpuPercent', 'load1', 'memoryUsedBytes', 'spoolDepth', 'testsRunning', 'batchesInFlight']))) : empty('No heartbeat yet.'));
    const ids = a.tests || [];
    replace(testsBox, ids.length
      ? h('ul', { class: 'inline-list' }, ids.map((id) => h('li', null, h('a', { href: '#/results/' + enc(String(id)), text: 'test #' + id }))))
      : empty('No tests assigned.'));
  }

  const refresh = coalesce(loadAgent, 1000);
  loadAgent().catch(reportError);
  const timer = setInterval(refresh.trigger, 15000);

  return {
    refresh: () => loadAgent().catch(reportError),
    onLive(type, data) {
      if (type !== 'agent' || (data.name && data.name !== name)) return;
      if (data.state === 'deleted') {
        refresh.cancel();
        clearInterval(timer);
        replace(state, badge('deleted'));
        replace(actions);
        replace(summary, empty('This agent has been deleted.'));
        return;
      }
      refresh.trigger();
    },
    destroy() { refresh.cancel(); clearInterval(timer); },
  };
}
