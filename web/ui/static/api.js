// The REST API client: cookie session, CSRF header, readable errors.

const CSRF_KEY = 'backstop.csrf';
const BASE = '/api/v1';

// ApiError carries the API's error code and a message fit for a person.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

const FALLBACK = {
  400: 'The appliance rejected the request as invalid.',
  401: 'Your session has ended. Please log in again.',
  403: 'Your role does not allow this.',
  404: 'Not found.',
  409: 'This conflicts with the current state.',
  429: 'Too many attempts. Please wait a moment and try again.',
  500: 'The appliance hit an internal error. Details are in its log.',
  502: 'The appliance is not answering (bad gateway).',
  503: 'The appliance is not available right now.',
};

function fallbackMessage(status) {
  return FALLBACK[status] || `The appliance answered with HTTP status ${status}.`;
}

export function setCsrf(token) {
  if (token) sessionStorage.setItem(CSRF_KEY, token);
  else sessionStorage.removeItem(CSRF_KEY);
}

// onUnauthorized is called (once per 401) so the app can show the login page.
let unauthorized = () => {};
export function onUnauthorized(fn) { unauthorized = fn; }

// request calls the API and returns the decoded JSON body (null for 204).
// It throws ApiError with the API's error.message on failure.
export async function request(method, path, body, {quiet401 = false} = {}) {
  const headers = {Accept: 'application/json'};
  const init = {method, headers, credentials: 'same-origin', cache: 'no-store'};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD') {
    const csrf = sessionStorage.getItem(CSRF_KEY);
    if (csrf) headers['X-CSRF-Token'] = csrf;
  }
  let res;
  try {
    res = await fetch(BASE + path, init);
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the appliance. Check the network connection and that the service is running.');
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const err = data && data.error ? data.error : {};
    let message = typeof err.message === 'string' && err.message ? err.message : fallbackMessage(res.status);
    if (res.status === 429) {
      const wait = Number(res.headers.get('Retry-After'));
      if (wait > 0 && !/\d/.test(message)) message += ` Try again in ${wait} s.`;
    }
    message = message.charAt(0).toUpperCase() + message.slice(1);
    const e = new ApiError(res.status, err.code || `http_${res.status}`, message);
    if (res.status === 401 && !quiet401) unauthorized(e);
    throw e;
  }
  return data;
}

export const api = {
  get: (path, opts) => request('GET', path, undefined, opts),
  post: (path, body, opts) => request('POST', path, body ?? {}, opts),
  put: (path, body) => request('PUT', path, body),
  patch: (path, body) => request('PATCH', path, body),
  del: (path) => request('DELETE', path),
};

// seg encodes one path segment.
export const seg = (s) => encodeURIComponent(s);

// itemPath encodes each segment of an item name that may contain slashes.
export const itemPath = (name) => name.split('/').map(encodeURIComponent).join('/');

// query builds "?a=b&c=d" from the defined, non-empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// latestEvents pages through /events (oldest first) and keeps the newest
// `keep`, newest first. A cursor object lets repeated calls fetch only what
// is new.
export async function latestEvents(kind, keep, cursor = {after: 0, list: []}) {
  for (let page = 0; page < 50; page++) {
    const batch = await api.get(`/events${query({kind, after: cursor.after || undefined, limit: 1000})}`) || [];
    for (const ev of batch) {
      cursor.list.push(ev);
      if (ev.id > (cursor.after || 0)) cursor.after = ev.id;
    }
    if (cursor.list.length > keep) cursor.list.splice(0, cursor.list.length - keep);
    if (batch.length < 1000) break;
  }
  return {cursor, events: cursor.list.slice().reverse()};
}
