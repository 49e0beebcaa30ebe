// Tests list: search, state filter, paging (50 a page), selection + bulk delete, per-row actions.
// Recurring tests carry a "↻ continue" / "↻ new" marker; Next run is nextRunAt in the viewer's local time.

import { get, post, del, enc } from '../api.js';
import { h, append, replace, table, badge, select, coalesce, debounce, reportError, flash } from '../dom.js';
import { num, fmtTime, fmtAgo, fmtDuration, kindsOf, targetOf } from '../format.js';

const PAGE = 50;
const RECURRENCE_MARK = { MODE_CONTINUE: ['↻ continue', 'recurring: the same test runs again every occurrence; results accumulate'],
  MODE_NEW: ['↻ new', 'recurring: each occurrence runs as a new child test'] };
// Kept while the app runs, so coming back from a test keeps the search and page.
const view = { q: '', state: '', offset: 0 };

/** Stop/restart/delete for one test; `after` runs on success. Shared with the results page. */
export async function testAction(action, test, after) {
  const id = test.id;
  const label = `test #${id} "${test.name || (test.spec && test.spec.name) || ''}"`;
  try {
    if (action === 'stop') {
      await post(`/api/v1/tests/${enc(id)}/stop`);
      flash(`Stopped ${label}.`, 'ok');
    } else if (action === 'restart') {
      await post(`/api/v1/tests/${enc(id)}/restart`);
      flash(`Restarted ${label}.`, 'ok');
    } else if (action === 'delete') {
      if (!confirm(`Delete ${label} and all its results? This cannot be undone.`)) return;
      await del(`/api/v1/tests/${enc(id)}`);
      flash(`Deleted ${label}.`, 'ok');
    }
    after(action);
  } catch (e) { reportError(e); }
}

export function mount(root, ctx) {
  const op = ctx.can('operator');
  const selected = new Set();

  const search = h('input', { id: 'test-search', name: 'q', type: 'search', placeholder: 'Search name or target', value: view.q, autocomplete: 'off' });
  const stateSel = select('state', [['', 'all states'], ['active', 'active'], ['cancelled', 'cancelled']], view.state, { id: 'test-state' });
  const prev = h('button', { type: 'button', id: 'prev-page', class: 'btn small', text: '‹ Prev' });
  const next = h('button', { type: 'button', id: 'next-page', class: 'btn small', text: 'Next ›' });
  const pageInfo = h('span', { id: 'page-info', class: 'muted' });
  const bulk = op ? h('button', { type: 'button', id: 'bulk-delete', class: 'btn small danger', text: 'Delete selected', disabled: true }) : null;
  const selectAll = op ? h('input', { type: 'checkbox', id: 'select-all', title: 'Select all on this page', 'aria-label': 'Select all on this page' }) : null;

  const headers = [];
  if (op) headers.push(selectAll);
  headers.push(['ID', 'num'], 'Name', 'Kinds', 'Target', 'Agents', 'Phase', ['Rev', 'num'], 'Next run', ['Results', 'num'], '');
  const { table: tbl, tbody } = table('tests-table', headers);
  const none = h('p', { class: 'empty', hidden: true });

  root.append(
    h('div', { class: 'page-head' }, h('h1', { text: 'Tests' }),
      op ? h('a', { id: 'new-test', href: '#/tests/new', class: 'btn primary', text: '+ New test' }) : null),
    h('div', { class: 'toolbar' }, search, stateSel, bulk, h('span', { class: 'spacer' }), pageInfo, prev, next),
    h('section', { class: 'panel' }, h('div', { class: 'table-scroll' }, tbl), none));

  let rows = [];
  let loadSeq = 0;

  async function load() {
    const seq = ++loadSeq;
    const res = await get('/api/v1/tests', { q: view.q.trim(), state: view.state, limit: PAGE, offset: view.offset });
    if (!ctx.alive() || seq !== loadSeq) return;
    const list = (res && res.tests) || [];
    const total = num(res && res.total) ?? list.length;
    if (!list.length && view.offset > 0 && total > 0) { // the page emptied (deletes): step back
      view.offset = Math.max(0, Math.floor((total - 1) / PAGE) * PAGE);
      return load();
    }
    const ids = new Set(list.map((t) => String(t.id)));
    for (const id of [...selected]) if (!ids.has(id)) selected.delete(id);
    rows = list;
    replace(tbody, list.map(row));
    pageInfo.textContent = total ? `${view.offset + 1}–${view.offset + list.length} of ${total}` : '0 tests';
    prev.disabled = view.offset === 0;
    next.disabled = view.offset + list.length >= total;
    none.hidden = list.length > 0;
    none.textContent = view.q || view.state ? 'No tests match.' : 'No tests yet.';
    syncSelection();
  }

  function row(t) {
    const id = String(t.id);
    const spec = t.spec || {};
    const active = (t.state || 'active') === 'active';
    const progress = t.progress || {};
    const check = op ? h('input', {
      type: 'checkbox', class: 'select-test', value: id, checked: selected.has(id), 'aria-label': 'Select test ' + id,
      onchange: (e) => { if (e.target.checked) selected.add(id); else selected.delete(id); syncSelection(); },
    }) : null;
    const actions = h('span', { class: 'actions' },
      h('a', { href: '#/results/' + enc(id), class: 'btn small', dataset: { action: 'results' }, text: 'Results' }));
    if (op) {
      append(actions, [
        h('button', { type: 'button', class: 'btn small', dataset: { action: 'edit' }, text: 'Edit', onclick: () => ctx.navigate(`#/tests/${enc(id)}/edit`) }),
        h('button', { type: 'button', class: 'btn small', dataset: { action: 'restart' }, text: 'Restart', title: 'Run again now', onclick: () => testAction('restart', t, () => refresh.trigger()) }),
        active ? h('button', { type: 'button', class: 'btn small warn', dataset: { action: 'stop' }, text: 'Stop', onclick: () => testAction('stop', t, () => refresh.trigger()) }) : null,
        h('button', { type: 'button', class: 'btn small danger', dataset: { action: 'delete' }, text: 'Delete', onclick: () => testAction('delete', t, () => refresh.trigger()) })]);
    }
    const phase = t.phase || (active ? 'scheduled' : 'cancelled');
    const mode = spec.recurrence && spec.recurrence.mode;
    const mark = RECURRENCE_MARK[mode];
    const every = num(spec.recurrence && spec.recurrence.intervalMs);
    const next = t.nextRunAt ? fmtTime(t.nextRunAt) : '—';
    return h('tr', { dataset: { testId: id }, class: active ? '' : 'inactive' },
      op ? h('td', { class: 'check' }, check) : null,
      h('td', { class: 'num', text: id }),
      h('td', { class: 'name' }, h('a', { href: '#/results/' + enc(id), text: t.name || spec.name || '(unnamed)' }),
        mark ? [' ', h('span', { class: 'badge recurrence', dataset: { recurrence: mode === 'MODE_NEW' ? 'new' : 'continue' },
          title: mark[1] + (every ? ` (every ${fmtDuration(Math.round(every / 1000))})` : ''), text: mark[0] })] : null,
        t.parentId ? h('small', { class: 'muted', text: ` occurrence ${num(t.occurrence) ?? ''} of #${t.parentId}` }) : null),
      h('td', { text: kindsOf(spec).join(', ') || '—' }),
      h('td', { class: 'target', text: targetOf(spec) }),
      h('td', { class: 'agents', text: (t.agents || []).join(', ') || '—' }),
      h('td', null, badge(phase)),
      h('td', { class: 'num', text: String(num(t.revision) ?? 1) }),
      h('td', { class: 'nowrap next-run', title: t.nextRunAt ? fmtAgo(t.nextRunAt) : 'no run planned', text: next }),
      h('td', { class: 'num', title: progress.lastResultAt ? 'last ' + fmtTime(progress.lastResultAt) : 'no results yet', text: String(num(progress.results) ?? 0) }),
      h('td', { class: 'row-actions' }, actions));
  }

  function syncSelection() {
    if (!op) return;
    bulk.disabled = selected.size === 0;
    bulk.textContent = selected.size ? `Delete selected (${selected.size})` : 'Delete selected';
    const boxes = tbody.querySelectorAll('input.select-test');
    const n = [...boxes].filter((b) => b.checked).length;
    selectAll.checked = boxes.length > 0 && n === boxes.length;
    selectAll.indeterminate = n > 0 && n < boxes.length;
  }

  if (op) {
    selectAll.addEventListener('change', () => {
      for (const b of tbody.querySelectorAll('input.select-test')) {
        b.checked = selectAll.checked;
        if (b.checked) selected.add(b.value); else selected.delete(b.value);
      }
      syncSelection();
    });
    bulk.addEventListener('click', async () => {
      const ids = [...selected].map(Number);
      if (!ids.length) return;
      if (!confirm(`Delete ${ids.length} test${ids.length === 1 ? '' : 's'} and all their results? This cannot be undone.`)) return;
      bulk.disabled = true;
      try {
        const res = await post('/api/v1/tests/bulk-delete', { ids });
        selected.clear();
        flash(`Deleted ${num(res && res.deleted) ?? ids.length} test(s).`, 'ok');
        await load();
      } catch (e) { reportError(e); syncSelection(); }
    });
  }

  const onSearch = debounce(() => { view.q = search.value; view.offset = 0; load().catch(reportError); }, 300);
  search.addEventListener('input', onSearch);
  search.addEventListener('keydown', (e) => { if (e.key === 'Enter') { onSearch.cancel(); view.q = search.value; view.offset = 0; load().catch(reportError); } });
  stateSel.addEventListener('change', () => { view.state = stateSel.value; view.offset = 0; load().catch(reportError); });
  prev.addEventListener('click', () => { view.offset = Math.max(0, view.offset - PAGE); load().catch(reportError); });
  next.addEventListener('click', () => { view.offset += PAGE; load().catch(reportError); });

  const refresh = coalesce(load, 1000);
  const slow = coalesce(load, 5000);
  load().catch(reportError);

  return {
    refresh: () => load().catch(reportError),
    onLive(type, data) {
      if (type === 'test') refresh.trigger();
      else if (type === 'results' && rows.some((t) => String(t.id) === String(data.testId))) slow.trigger();
    },
    destroy() { refresh.cancel(); slow.cancel(); onSearch.cancel(); },
  };
}
