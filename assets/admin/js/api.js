// The admin API: the envelope unwrapped, errors as ApiError with the
// server's Chinese message, the token kept for this browser tab only.

const TOKEN = 'st.token';
const ADMIN = 'st.admin';

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || '请求失败，请稍后重试');
    this.status = status;
    this.code = code || 'NETWORK';
    this.retryAfter = retryAfter;
  }

  /** The field a VALIDATION_FAILED message names ("title：…" → "title"). */
  get field() {
    const m = /^([A-Za-z][\w.[\]]*)：/.exec(this.message);
    return m ? m[1] : null;
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN); },
  get admin() {
    try { return JSON.parse(sessionStorage.getItem(ADMIN) || 'null'); } catch { return null; }
  },
  save(token, admin) {
    sessionStorage.setItem(TOKEN, token);
    sessionStorage.setItem(ADMIN, JSON.stringify(admin));
  },
  clear() {
    sessionStorage.removeItem(TOKEN);
    sessionStorage.removeItem(ADMIN);
  },
};

let onSignedOut = () => {};

/** Called with a message when the server no longer takes the token. */
export function whenSignedOut(fn) { onSignedOut = fn; }

/**
 * `api('GET', '/api/admin/stats?period=today')` → the envelope's data;
 * `null` for `304 Not Modified` (a conditional or "since" request that
 * found nothing new). `extra` adds request headers.
 */
export async function api(method, path, body, extra = {}) {
  const headers = { Accept: 'application/json', ...extra };
  const token = session.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'NETWORK', '网络连接失败，请检查网络后重试');
  }
  if (res.status === 304) return null;
  let json = null;
  try { json = await res.json(); } catch { json = null; }
  if (res.ok && json) return json.data;
  const err = new ApiError(
    res.status,
    json && json.error,
    json && json.message,
    res.headers.get('Retry-After'),
  );
  const signedOut = res.status === 401
    || (res.status === 403 && ['ADMIN_DISABLED', 'TOKEN_KIND_MISMATCH'].includes(err.code));
  if (signedOut && token && !path.startsWith('/api/admin/auth/')) {
    session.clear();
    onSignedOut(err.message);
  }
  throw err;
}
