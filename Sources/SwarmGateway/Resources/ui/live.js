// Live updates: one EventSource on /api/v1/stream while signed in.
// The browser reconnects by itself after a dropped connection; when the server refuses the stream
// (EventSource gives up: readyState CLOSED) we retry with backoff. A reconnect after an outage is
// reported as a `resync`, since events may have been missed.

const EVENTS = ['agent', 'test', 'results', 'resync'];

let source = null;
let handler = () => {};
let stateHandler = () => {};
let retryTimer = 0;
let retryDelay = 1000;
let everOpen = false;
let lost = false;

export function startLive(onEvent, onState) {
  handler = onEvent;
  stateHandler = onState;
  everOpen = false;
  open();
}

export function stopLive() {
  clearTimeout(retryTimer);
  retryTimer = 0;
  if (source) source.close();
  source = null;
  stateHandler('reconnecting');
}

function open() {
  clearTimeout(retryTimer);
  retryTimer = 0;
  if (source) source.close();
  stateHandler('reconnecting');
  const es = new EventSource('/api/v1/stream');
  source = es;
  es.addEventListener('open', () => {
    if (source !== es) return;
    retryDelay = 1000;
    stateHandler('live');
    if (everOpen && lost) dispatch('resync', {});
    everOpen = true;
    lost = false;
  });
  es.addEventListener('error', () => {
    if (source !== es) return;
    lost = true;
    stateHandler('reconnecting');
    if (es.readyState === EventSource.CLOSED) {
      // The server answered with an error status (or wrong type): the browser will not retry.
      es.close();
      stateHandler('closed');
      if (source !== es) return; // the state handler stopped the stream (signed out)
      retryTimer = setTimeout(() => { if (source === es) open(); }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    }
  });
  for (const name of EVENTS) {
    es.addEventListener(name, (e) => {
      if (source !== es) return;
      let data = {};
      try { data = e.data ? JSON.parse(e.data) : {}; } catch { data = {}; }
      dispatch(name, data);
    });
  }
}

function dispatch(name, data) {
  try { handler(name, data || {}); } catch (err) { /* a page's handler must not kill the stream */ setTimeout(() => { throw err; }); }
}
