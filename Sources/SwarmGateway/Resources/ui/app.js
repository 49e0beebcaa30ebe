// StreamSwarm browser UI: session, hash router and live-update dispatch.
// Pages live in pages/*.js and export mount(root, ctx) → {refresh?, onLive?, destroy?}.

import { get, post, setCsrf, onUnauthorized } from './api.js';
import { startLive, stopLive } from './live.js';
import { h, clear, clearFlash, reportError } from './dom.js';
import { disposeCharts } from './charts.js';
import * as login from './pages/login.js';
import * as dashboard from './pages/dashboard.js';
import * as agents from './pages/agents.js';
import * as agent from './pages/agent.js';
import * as devices from './pages/devices.js';
import * as device from './pages/device.js';
import * as tests from './pages/tests.js';
import * as testForm from './pages/test-form.js';
import * as results from './pages/results.js';
import * as mesh from './pages/mesh.js';
import * as alerts from './pages/alerts.js';
import * as users from './pages/users.js';
import * as tokens from './pages/tokens.js';
import * as settings from './pages/settings.js';
import * as profile from './pages/profile.js';

const RANK = { viewer: 1, operator: 2, admin: 3 };

const session = { user: null, authMethod: '' };
let current = null; // {page, nav, key}
let routeSeq = 0;

/** Route table: hash segments → page module, nav key, params, minimum role. */
function resolve(parts) {
  const [a, b, c] = parts;
  switch (a || 'dashboard') {
    case 'dashboard': return parts.length <= 1 ? { mod: dashboard, nav: 'dashboard' } : null;
    case 'agents': return b === undefined ? { mod: agents, nav: 'agents' } : (c === undefined ? { mod: agent, nav: 'agents', params: { name: b } } : null);
    case 'devices':
      if (b === undefined) return { mod: devices, nav: 'devices' };
      return /^\d+$/.test(b) && c === undefined ? { mod: device, nav: 'devices', params: { id: b } } : null;
    case 'tests':
      if (b === undefined) return { mod: tests, nav: 'tests' };
      if (b === 'new' && c === undefined) return { mod: testForm, nav: 'tests', params: { id: null }, role: 'operator' };
      if (/^\d+$/.test(b) && c === 'edit' && parts.length === 3) return { mod: testForm, nav: 'tests', params: { id: b }, role: 'operator' };
      if (/^\d+$/.test(b) && c === undefined) return { redirect: '#/results/' + b };
      return null;
    case 'results': return /^\d+$/.test(b || '') && c === undefined ? { mod: results, nav: 'tests', params: { id: b } } : null;
    case 'mesh': return { mod: mesh, nav: 'mesh' };
    case 'alerts': return b === undefined ? { mod: alerts, nav: 'alerts' } : null;
    case 'users': return { mod: users, nav: 'users', role: 'admin' };
    case 'tokens': return { mod: tokens, nav: 'tokens', role: 'admin' };
    case 'settings': return { mod: settings, nav: 'settings', role: 'admin' };
    case 'profile': return { mod: profile, nav: 'profile' };
    case 'login': return { mod: login, nav: '' };
    default: return null;
  }
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '').split('?')[0];
  return raw.split('/').filter((x) => x !== '').map((x) => { try { return decodeURIComponent(x); } catch { return x; } });
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function can(role) {
  return !!session.user && (RANK[session.user.role] || 0) >= (RANK[role] || 99);
}

function unmount() {
  const main = document.getElementById('main');
  if (current && current.page && current.page.destroy) {
    try { current.page.destroy(); } catch (e) { reportError(e); }
  }
  current = null;
  disposeCharts(main);
  clear(main);
  return main;
}

function route() {
  const seq = ++routeSeq;
  const parts = parseHash();
  clearFlash(true);
  if (!session.user) {
    if (parts[0] !== 'login') { location.replace('#/login'); return; }
    show({ mod: login, nav: '' }, seq);
    return;
  }
  if (parts[0] === 'login') { location.replace('#/dashboard'); return; }
  const r = resolve(parts);
  if (r && r.redirect) { location.replace(r.redirect); return; }
  if (!r) { showMessage('Page not found', 'There is no page at ' + location.hash + '.', seq); return; }
  if (r.role && !can(r.role)) {
    showMessage('Not allowed', `This page needs the ${r.role} role; you are signed in as ${session.user.role}.`, seq, r.nav);
    return;
  }
  show(r, seq);
}

function setNav(key) {
  for (const a of document.querySelectorAll('a[data-nav]')) a.classList.toggle('active', a.dataset.nav === key);
}

function show(r, seq) {
  const main = unmount();
  setNav(r.nav);
  const ctx = {
    user: session.user,
    authMethod: session.authMethod,
    params: r.params || {},
    can,
    navigate,
    signedIn,
    alive: () => seq === routeSeq,
  };
  let page = null;
  try {
    page = r.mod.mount(main, ctx) || {};
  } catch (e) {
    reportError(e);
    page = {};
  }
  current = { page, nav: r.nav };
}

function showMessage(title, text, seq, nav = '') {
  const main = unmount();
  setNav(nav);
  main.appendChild(h('section', { class: 'panel' }, h('h1', { text: title }), h('p', { text }), h('p', null, h('a', { href: '#/dashboard', text: 'Go to the dashboard' }))));
  current = { page: {}, nav };
}

// ---- session -----------------------------------------------------------------------------

function renderHeader() {
  const bar = document.getElementById('topbar');
  const u = session.user;
  bar.hidden = !u;
  const info = document.getElementById('user-info');
  clear(info);
  if (u) info.append(h('a', { href: '#/profile', class: 'user-name', text: u.username }), ' ', h('span', { class: 'badge role ' + u.role, text: u.role }));
  for (const a of document.querySelectorAll('#nav a[data-role]')) a.hidden = !can(a.dataset.role);
}

function setLiveState(state) {
  const el = document.getElementById('live-status');
  const live = state === 'live';
  el.textContent = live ? 'live' : 'reconnecting';
  el.classList.toggle('on', live);
  if (state === 'closed' && session.user) {
    // The server refused the stream: find out whether the session is still there. The server answers
    // 200 {"user":null} when signed out (an older one: 401, handled by onUnauthorized) → login.
    get('/api/v1/auth/me')
      .then((me) => { if (session.user && !(me && me.user)) signedOut('Your session has ended. Sign in again.'); })
      .catch(() => {});
  }
}

function onLive(type, data) {
  if (!current || !current.page) return;
  const page = current.page;
  if (type === 'resync') {
    if (page.refresh) page.refresh(); // forms have no refresh: a resync must not throw away what is typed
    return;
  }
  if (page.onLive) page.onLive(type, data);
}

/** Called by the login page and at start-up with the /auth/me or login answer. */
function signedIn(answer, go) {
  if (!answer || !answer.user) { signedOut(''); return; } // {"user":null}: not signed in
  session.user = answer.user;
  session.authMethod = answer.authMethod || 'session';
  setCsrf(answer.csrfToken);
  renderHeader();
  stopLive();
  startLive(onLive, setLiveState);
  if (go) navigate(go);
}

function signedOut(note) {
  const was = !!session.user;
  session.user = null;
  setCsrf('');
  stopLive();
  renderHeader();
  if (note) sessionStorage.setItem('ss.loginNote', note);
  if (was || parseHash()[0] !== 'login') {
    if (parseHash()[0] === 'login') route(); else location.replace('#/login');
  }
}

onUnauthorized(() => {
  if (session.user) signedOut('Your session has ended. Sign in again.');
});

async function logout() {
  try { await post('/api/v1/auth/logout'); } catch (e) { if (e.status !== 401) reportError(e); }
  signedOut('');
}

async function start() {
  document.getElementById('logout').addEventListener('click', logout);
  window.addEventListener('hashchange', route);
  try {
    const me = await get('/api/v1/auth/me');
    if (me && me.user) signedIn(me); // signed out: 200 {"user":null,"authMethod":"none"} (or 401 from an older server)
  } catch (e) {
    if (e.status !== 401) reportError(e);
  }
  route();
}

start();
