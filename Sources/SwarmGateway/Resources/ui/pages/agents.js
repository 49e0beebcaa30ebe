// Agents list: #agents-table, one tr[data-agent=NAME] per agent; admin revoke/delete.

import { get, post, del, enc } from '../api.js';
import { h, replace, table, badge, coalesce, reportError, flash } from '../dom.js';
import { num, fmtTime, fmtAgo, fmtPct, fmtNum } from '../format.js';

export function agentState(a) {
  return a.state || (a.revoked ? 'revoked' : a.online ? 'online' : 'offline');
}

/** Admin buttons for one agent: [data-action=revoke] and [data-action=delete-agent], with confirm(). */
export function agentActions(a, ctx, after) {
  if (!ctx.can('admin')) return null;
  const name = a.name;
  const revoke = h('button', {
    type: 'button', class: 'btn small warn', dataset: { action: 'revoke', agent: name }, text: 'Revoke',
    disabled: !!a.revoked || agentState(a) === 'revoked',
    title: 'Close its session and refuse its certificate from now on',
    onclick: async () => {
      if (!confirm(`Revoke agent "${name}"? Its session is closed and it cannot reconnect.`)) return;
      revoke.disabled = true;
      try {
        await post(`/api/v1/agents/${enc(name)}/revoke`);
        flash(`Agent "${name}" revoked.`, 'ok');
        after('revoked');
      } catch (e) { reportError(e); revoke.disabled = false; }
    },
  });
  const remove = h('button', {
    type: 'button', class: 'btn small danger', dataset: { action: 'delete-agent', agent: name }, text: 'Delete',
    title: 'Forget this agent (it must be offline)',
    onclick: async () => {
      if (!confirm(`Delete agent "${name}"? This cannot be undone.`)) return;
      remove.disabled = true;
      try {
        await del(`/api/v1/agents/${enc(name)}`);
        flash(`Agent "${name}" deleted.`, 'ok');
        after('deleted');
      } catch (e) { reportError(e); remove.disabled = false; }
    },
  });
  return h('span', { class: 'actions' }, revoke, remove);
}

export function osText(host) {
  if (!host) return '—';
  const os = [host.osName, host.osVersion].filter(Boolean).join(' ');
  const k = [host.kernel, host.arch].filter(Boolean).join(' ');
  return [os, k].filter(Boolean).join(' / ') || '—';
}

export function mount(root, ctx) {
  const admin = ctx.can('admin');
  const headers = ['Name', 'State', 'Version', 'Last seen', ['CPU', 'num'], ['Load 1', 'num'], ['Spool', 'num'], 'OS / kernel', ['Tests', 'num']];
  if (admin) headers.push('');
  const { table: tbl, tbody } = table('agents-table', headers);
  const count = h('span', { class: 'muted' });
  const none = h('p', { class: 'empty', text: 'No agents have connected yet.', hidden: true });
  root.append(
    h('div', { class: 'page-head' }, h('h1', { text: 'Agents' }), count),
    h('section', { class: 'panel' }, h('div', { class: 'table-scroll' }, tbl), none));

  async function load() {
    const res = await get('/api/v1/agents');
    if (!ctx.alive()) return;
    const list = (res && res.agents) || [];
    serverVersion = (res && res.serverVersion) || '';
    const online = list.filter((a) => agentState(a) === 'online').length;
    count.textContent = `${online} of ${list.length} online`;
    none.hidden = list.length > 0;
    replace(tbody, list.map((a) => row(a)));
  }

  function row(a) {
    const st = agentState(a);
    const hasLoad = !!a.load;
    const load1 = a.load || {};
    const spool = num(a.spoolDepth) ?? num(load1.spoolDepth);
    return h('tr', { dataset: { agent: a.name }, class: st },
      h('td', null, h('a', { href: '#/agents/' + enc(a.name), text: a.name })),
      h('td', null, badge(st)),
      h('td', null, a.version || '—', a.versionDrift ? h('span', { class: 'badge degraded version-drift', title: `the server runs ${serverVersion}: upgrade this agent`, text: ' drift' }) : null),
      h('td', { class: 'nowrap', title: fmtAgo(a.lastSeen), text: fmtTime(a.lastSeen) }),
      h('td', { class: 'num', text: hasLoad ? fmtPct(load1.cpuPercent ?? 0) : '—' }),
      h('td', { class: 'num', text: hasLoad ? fmtNum(load1.load1 ?? 0) : '—' }),
      h('td', { class: 'num', text: spool === null ? '—' : String(spool) }),
      h('td', { text: osText(a.host) }),
      h('td', { class: 'num', text: String((a.tests || []).length) }),
      admin ? h('td', { class: 'row-actions' }, agentActions(a, ctx, () => refresh.trigger())) : null);
  }

  let serverVersion = '';
  const refresh = coalesce(load, 1000);
  load().catch(reportError);
  const timer = setInterval(refresh.trigger, 15000); // heartbeats carry load but send no event

  return {
    refresh: () => load().catch(reportError),
    onLive(type) { if (type === 'agent') refresh.trigger(); },
    destroy() { refresh.cancel(); clearInterval(timer); },
  };
}
