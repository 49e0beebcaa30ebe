// Device detail (#/devices/ID): settings (never credentials), status with its reason, gNMI capabilities and the
// latest figures: CPU, memory, #device-interfaces and #device-queues. A link leads to its results.

import { get, enc } from '../api.js';
import { h, replace, badge, dl, table, coalesce, reportError, empty } from '../dom.js';
import { num, fmtTime, fmtAgo, fmtNum, fmtPct, fmtBytes, fmtBps, hostPort } from '../format.js';
import { deviceStatus, statusReason, agentLinks, resultsLink, deviceActions } from './devices.js';

const TRUST_TEXT = {
  system: 'system trust store',
  ca: 'its own CA certificate',
  pinned: 'pinned self-signed certificate',
};

/** Milliseconds → "10 s" / "500 ms"; 0 or absent → '—'. */
function fmtInterval(v) {
  const n = num(v);
  if (n === null || n === 0) return '—';
  return n < 1000 ? fmtNum(n) + ' ms' : fmtNum(n / 1000) + ' s';
}

const count = (v) => { const n = num(v); return n === null ? '—' : n.toLocaleString(); };

function interfacesTable(list) {
  const { table: tbl, tbody } = table('device-interfaces', ['Interface', 'Oper status', ['Speed', 'num'], ['In', 'num'], ['Out', 'num'],
    ['In util.', 'num'], ['Out util.', 'num'], ['In errors', 'num'], ['Out errors', 'num'], ['In discards', 'num'], ['Out discards', 'num']]);
  replace(tbody, list.map((i) => h('tr', { dataset: { interface: i.name } },
    h('td', { class: 'mono', text: i.name || '' }),
    h('td', null, i.operStatus ? badge(String(i.operStatus).toLowerCase()) : '—'),
    h('td', { class: 'num', text: fmtBps(i.speedBps) }),
    h('td', { class: 'num', text: fmtBps(i.inBps) }),
    h('td', { class: 'num', text: fmtBps(i.outBps) }),
    h('td', { class: 'num', text: fmtPct(i.inUtilisationPercent) }),
    h('td', { class: 'num', text: fmtPct(i.outUtilisationPercent) }),
    h('td', { class: ['num', num(i.inErrors) ? 'bad-count' : ''], text: count(i.inErrors) }),
    h('td', { class: ['num', num(i.outErrors) ? 'bad-count' : ''], text: count(i.outErrors) }),
    h('td', { class: ['num', num(i.inDiscards) ? 'bad-count' : ''], text: count(i.inDiscards) }),
    h('td', { class: ['num', num(i.outDiscards) ? 'bad-count' : ''], text: count(i.outDiscards) }))));
  return tbl;
}

function queuesTable(list) {
  const { table: tbl, tbody } = table('device-queues', ['Interface', 'Queue', ['Transmitted packets', 'num'], ['Dropped packets', 'num']]);
  replace(tbody, list.map((q) => h('tr', null,
    h('td', { class: 'mono', text: q.interface || '' }),
    h('td', { class: 'mono', text: q.queue || '' }),
    h('td', { class: 'num', text: count(q.transmittedPackets) }),
    h('td', { class: ['num', num(q.droppedPackets) ? 'bad-count' : ''], text: count(q.droppedPackets) }))));
  return tbl;
}

function memoryText(l) {
  const used = num(l.memoryUsedBytes);
  const total = num(l.memoryTotalBytes);
  if (used === null && total === null) return '—';
  if (used !== null && total) return `${fmtBytes(used)} of ${fmtBytes(total)} (${fmtPct((used / total) * 100)})`;
  return used !== null ? `${fmtBytes(used)} used` : `${fmtBytes(total)} total`;
}

export function mount(root, ctx) {
  const id = ctx.params.id;
  const title = h('h1', { text: `Device #${id}` });
  const state = h('span');
  const actions = h('span', { class: 'head-actions' });
  const settings = h('div');
  const status = h('div');
  const subs = h('div');
  const caps = h('div');
  const latest = h('div');
  root.append(
    h('div', { class: 'page-head' }, h('a', { href: '#/devices', class: 'back', text: '← Devices' }), title, state, actions),
    h('div', { class: 'cols' },
      h('section', { class: 'panel' }, h('h2', { text: 'Device' }), settings),
      h('section', { class: 'panel' }, h('h2', { text: 'Status' }), status)),
    h('section', { class: 'panel' }, h('h2', { text: 'Latest figures' }), latest),
    h('div', { class: 'cols' },
      h('section', { class: 'panel' }, h('h2', { text: 'Subscriptions' }), subs),
      h('section', { class: 'panel' }, h('h2', { text: 'Capabilities' }), caps)));

  let testId = null;
  let gone = false;

  async function load() {
    if (gone) return;
    let d;
    try {
      d = await get('/api/v1/devices/' + enc(id));
    } catch (e) {
      if (e && e.status === 404 && ctx.alive()) { showGone(e.message); return; }
      throw e;
    }
    if (!ctx.alive()) return;
    testId = num(d.testId);
    const st = deviceStatus(d);
    title.textContent = d.name || `Device #${id}`;
    title.title = `device #${d.id ?? id}`;
    replace(state, badge(st.state || 'pending'));
    replace(actions, resultsLink(d), deviceActions(d, ctx, () => ctx.navigate('#/devices')));

    const extra = d.interfaceAddresses || [];
    replace(settings, dl([
      ['ID', String(d.id ?? id)],
      ['Name', d.name],
      ['Address', h('span', { class: 'mono', text: hostPort(d.address, d.port) })],
      ['Interface addresses', extra.length ? h('span', { class: 'mono', text: extra.join(', ') }) : '—'],
      ['Authentication', d.auth],
      ['Username', d.username],
      ['Credentials', d.hasCredentials ? 'sealed' : 'none'],
      ['Trust', TRUST_TEXT[d.trust] || d.trust],
      ['Server name', d.serverName],
      ['Mode', d.mode],
      ['Encoding', d.encoding],
      ['Poll interval', d.mode === 'poll' ? fmtInterval(d.pollIntervalMs) : `${fmtInterval(d.pollIntervalMs)} (poll mode only)`],
      ['Report interval', fmtInterval(d.reportIntervalMs)],
      ['Agents', agentLinks(d.agents)],
      ['Test', testId === null ? '—' : h('a', { href: '#/results/' + enc(String(testId)), text: `test #${testId}` })],
      ['Added', fmtTime(d.createdAt)],
    ]));

    const reason = statusReason(st);
    replace(status, dl([
      ['State', badge(st.state || 'pending')],
      ['Last result', st.at ? `${fmtTime(st.at)} (${fmtAgo(st.at)})` : '—'],
      ['Reason', reason ? h('span', { class: 'reason' }, reason) : '—'],
    ]));

    const list = d.subscriptions || [];
    if (list.length) {
      const { table: tbl, tbody } = table('device-subscriptions', ['Path', 'Mode', ['Sample', 'num'], ['Heartbeat', 'num'], 'Suppress redundant']);
      replace(tbody, list.map((s) => h('tr', null,
        h('td', { class: 'mono path', text: s.path || '' }),
        h('td', { text: s.mode || '' }),
        h('td', { class: 'num', text: fmtInterval(s.sampleIntervalMs) }),
        h('td', { class: 'num', text: fmtInterval(s.heartbeatIntervalMs) }),
        h('td', { text: s.suppressRedundant ? 'yes' : 'no' }))));
      replace(subs, h('div', { class: 'table-scroll' }, tbl));
    } else {
      replace(subs, empty('No subscriptions.'));
    }

    const c = d.capabilities;
    if (c) {
      const models = [...(c.models || [])].sort((a, b) => String(a.name).localeCompare(String(b.name)));
      const { table: mt, tbody: mb } = table('device-models', ['Model', 'Organization', 'Version']);
      replace(mb, models.map((m) => h('tr', null,
        h('td', { class: 'mono', text: m.name || '' }), h('td', { text: m.organization || '' }), h('td', { text: m.version || '' }))));
      replace(caps,
        dl([['gNMI version', c.version], ['Encodings', (c.encodings || []).join(', ')], ['Models', String(models.length)]]),
        models.length ? h('div', { class: 'table-scroll scroll-box' }, mt) : null);
    } else {
      replace(caps, empty('Not known yet: the agents report them after the first successful connection.'));
    }

    const l = d.latest;
    if (l) {
      const ifs = l.interfaces || [];
      const qs = l.queues || [];
      replace(latest,
        dl([
          ['Reported', l.deviceTimestamp ? `${fmtTime(l.deviceTimestamp)} (${fmtAgo(l.deviceTimestamp)}, device clock)` : '—'],
          ['CPU', fmtPct(l.cpuPercent)],
          ['Memory', memoryText(l)],
        ]),
        h('h3', { text: 'Interfaces' }),
        ifs.length ? h('div', { class: 'table-scroll' }, interfacesTable(ifs)) : empty('No interface figures.'),
        h('h3', { text: 'Output queues' }),
        qs.length ? h('div', { class: 'table-scroll' }, queuesTable(qs)) : empty('No queue figures.'));
    } else {
      replace(latest, empty(st.state === 'ok' || !st.at ? 'No figures yet.' : 'No successful collection yet: see the status reason.'));
    }
  }

  function showGone(message) {
    gone = true;
    refresh.cancel();
    clearInterval(timer);
    replace(state, badge('deleted'));
    replace(actions);
    replace(settings, empty(message || 'This device does not exist (it may have been deleted).'));
    for (const el of [status, subs, caps, latest]) replace(el);
  }

  const refresh = coalesce(load, 1000);
  load().catch(reportError);
  const timer = setInterval(refresh.trigger, 15000);

  return {
    refresh: () => load().catch(reportError),
    onLive(type, data) {
      if (type === 'results' && testId !== null && String(data.testId) === String(testId)) refresh.trigger();
    },
    destroy() { refresh.cancel(); clearInterval(timer); },
  };
}
