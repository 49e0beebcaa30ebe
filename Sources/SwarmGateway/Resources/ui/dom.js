// DOM helpers: build elements with textContent only (data is never parsed as HTML),
// the #flash message area, and small shared widgets (badges, tables, definition lists).

const PROPS = new Set(['value', 'checked', 'selected', 'disabled', 'multiple', 'indeterminate', 'readOnly', 'required']);

/**
 * h('tr', {class: 'x', dataset: {agent: name}, onclick: fn}, 'text', child, [more])
 * Strings become text nodes. Keys starting with "on" become event listeners (never attributes).
 * There is deliberately no way to set innerHTML or a style attribute.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'dataset') for (const [dk, dv] of Object.entries(v)) { if (dv !== undefined && dv !== null) el.dataset[dk] = String(dv); }
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value' && tag === 'input') el.setAttribute('value', String(v)); // default value too (form.reset)
      else if (k === 'checked') { el.defaultChecked = !!v; el.checked = !!v; }
      else if (k === 'selected') { el.defaultSelected = !!v; el.selected = !!v; }
      else if (PROPS.has(k)) el[k] = v;
      else if (k === 'style') throw new Error('inline styles are not allowed (CSP)');
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

// ---- flash -------------------------------------------------------------------------------

let flashTimer = 0;

/** Show a message in #flash. kind: 'error' (stays until dismissed or the route changes) or 'ok'. */
export function flash(message, kind = 'error') {
  const el = document.getElementById('flash');
  if (!el) return;
  clearTimeout(flashTimer);
  el.className = 'flash ' + kind;
  replace(el,
    h('span', { class: 'flash-text', text: message }),
    h('button', { type: 'button', class: 'flash-close', title: 'Dismiss', 'aria-label': 'Dismiss', onclick: () => clearFlash() }, '×'));
  el.hidden = false;
  if (kind !== 'error') flashTimer = setTimeout(clearFlash, 5000);
}

/** Hide #flash; with onlyErrors, a success message is left to time out (it survives a route change). */
export function clearFlash(onlyErrors = false) {
  const el = document.getElementById('flash');
  if (!el) return;
  if (onlyErrors === true && !el.classList.contains('error')) return;
  clearTimeout(flashTimer);
  el.hidden = true;
  el.className = 'flash';
  clear(el);
}

/** Report a failed API call. 401 is handled by the router (login page), so it is not flashed. */
export function reportError(err) {
  if (err && err.status === 401) return;
  flash(err && err.message ? err.message : String(err), 'error');
}

// ---- widgets -------------------------------------------------------------------------------

export function badge(value, extraClass) {
  const v = String(value || 'unknown');
  return h('span', { class: ['badge', v.replace(/[^a-z0-9_-]/gi, '_'), extraClass] , text: v });
}

/** A table with a header row; returns {table, tbody}. headers: strings, [text, class] or nodes. */
export function table(id, headers, cls = 'grid') {
  const th = (x) => {
    if (x instanceof Node) return h('th', null, x);
    if (Array.isArray(x)) return h('th', { class: x[1], text: x[0] }); // [text, class]
    return h('th', { text: x });
  };
  const thead = h('thead', null, h('tr', null, headers.map(th)));
  const tbody = h('tbody');
  const tableEl = h('table', { id, class: cls }, thead, tbody);
  return { table: tableEl, tbody };
}

/** Definition list from [label, value] pairs; values may be nodes or text. */
export function dl(pairs, cls = 'facts') {
  const el = h('dl', { class: cls });
  for (const [k, v] of pairs) {
    el.appendChild(h('dt', { text: k }));
    el.appendChild(v instanceof Node ? h('dd', null, v) : h('dd', { text: v === undefined || v === null || v === '' ? '—' : String(v) }));
  }
  return el;
}

export function section(title, ...children) {
  return h('section', { class: 'panel' }, title ? h('h2', { text: title }) : null, ...children);
}

export function empty(text) {
  return h('p', { class: 'empty', text });
}

export function field(label, input, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'label', text: label }), input, hint ? h('small', { class: 'hint', text: hint }) : null);
}

export function select(name, options, value, attrs = {}) {
  const el = h('select', { name, ...attrs });
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    el.appendChild(h('option', { value: String(v), text: label, selected: String(v) === String(value) }));
  }
  return el;
}

/** Runs fn at most once per `delay` ms, never concurrently; a trigger during a run queues one more. */
export function coalesce(fn, delay) {
  let timer = 0; let running = false; let again = false; let dead = false;
  async function run() {
    timer = 0;
    if (dead) return;
    if (running) { again = true; return; }
    running = true;
    try { await fn(); } catch (e) { reportError(e); } finally {
      running = false;
      if (again && !dead) { again = false; trigger(); }
    }
  }
  function trigger() { if (!timer && !dead) timer = setTimeout(run, delay); }
  return { trigger, cancel() { dead = true; clearTimeout(timer); } };
}

export function debounce(fn, delay) {
  let timer = 0;
  const d = (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), delay); };
  d.cancel = () => clearTimeout(timer);
  return d;
}
