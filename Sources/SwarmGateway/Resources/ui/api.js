// API client: same-origin JSON fetches with the CSRF header on every non-GET request.
// Errors become ApiError with the server's {"error":{"message"}} text; a 401 also calls the
// unauthorized handler (the app shows the login page).

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

let csrfToken = '';
let unauthorized = () => {};

export function setCsrf(token) { csrfToken = token || ''; }
export function onUnauthorized(fn) { unauthorized = fn; }

/** Query string from an object; skips undefined, null and ''. */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

/**
 * request('POST', '/api/v1/tests', body) → parsed JSON (null for 204).
 * opts.auth === false: a 401 is just an error (login form), not a sign-out.
 */
export async function request(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'Cannot reach the server (' + (e && e.message ? e.message : 'network error') + '). Check the connection and try again.');
  }
  if (!res.ok) {
    let message = '';
    try {
      const text = await res.text();
      try {
        const j = JSON.parse(text);
        message = (j && j.error && j.error.message) || '';
      } catch { message = text.slice(0, 300); }
    } catch { /* body unreadable */ }
    if (!message) message = `Request failed: ${res.status} ${res.statusText || ''}`.trim();
    if (res.status === 401 && opts.auth !== false) unauthorized();
    throw new ApiError(res.status, message);
  }
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  if (type.includes('json')) return res.json();
  return res.text();
}

export const get = (path, params) => request('GET', path + qs(params));
export const post = (path, body, opts) => request('POST', path, body === undefined ? {} : body, opts);
export const put = (path, body) => request('PUT', path, body);
export const patch = (path, body) => request('PATCH', path, body);
export const del = (path) => request('DELETE', path);

export const enc = encodeURIComponent;
