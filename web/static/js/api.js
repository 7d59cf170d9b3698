// The console's one door to the server: keyhaven's own API and the
// built-in identity service, on this origin. The token lives in this
// tab's sessionStorage (never a cookie) and goes out as X-Auth-Token, so
// no other site can make the browser send it.

const KEY = 'keyhaven.session';

/** An answer the console shows as the server's own message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let current = null;

/** The signed-in session ({token, user, project, admin}) or null. */
export function session() {
  if (current === null) {
    try {
      current = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    } catch {
      current = null;
    }
  }
  return current;
}

function remember(s) {
  current = s;
  if (s === null) {
    sessionStorage.removeItem(KEY);
  } else {
    sessionStorage.setItem(KEY, JSON.stringify(s));
  }
}

/** Forgets the session in this tab (the token itself is revoked by signOut). */
export function forget() {
  remember(null);
}

// messageOf picks the message out of an error body in whichever format
// answered: problem details (keyhaven's API), Keystone's, Nova's or KPS's.
function messageOf(status, statusText, body) {
  if (body && typeof body === 'object') {
    if (typeof body.detail === 'string' && body.detail !== '') return body.detail;
    if (body.error && typeof body.error.message === 'string') return body.error.message;
    if (typeof body.error_msg === 'string') return body.error_msg;
    for (const v of Object.values(body)) {
      if (v && typeof v === 'object' && typeof v.message === 'string') return v.message;
    }
  }
  return `The server answered ${status}${statusText ? ' ' + statusText : ''}.`;
}

/**
 * Sends one request; resolves to {status, body, headers} for a 2xx and
 * throws ApiError with the server's message otherwise.
 */
export async function call(method, path, {body, token, headers = {}} = {}) {
  const h = {Accept: 'application/json', ...headers};
  const t = token ?? session()?.token;
  if (t) h['X-Auth-Token'] = t;
  const init = {method, headers: h, credentials: 'omit', cache: 'no-store', redirect: 'error'};
  if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'The server could not be reached.');
  }
  let parsed = null;
  const text = await res.text();
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!res.ok) {
    // The session's token stopped working (expired, revoked elsewhere):
    // the console goes back to the sign-in, showing the server's message.
    if (res.status === 401 && token === undefined && session()) document.dispatchEvent(new Event('keyhaven:unauthenticated'));
    throw new ApiError(res.status, messageOf(res.status, res.statusText, parsed));
  }
  return {status: res.status, body: parsed, headers: res.headers};
}

/** A path under keyhaven's own API with the given query parameters. */
export function apiPath(path, query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
  }
  const s = q.toString();
  return '/keyhaven/v1' + path + (s ? '?' + s : '');
}

/** The API path of one key pair (names may hold spaces, @ and dots). */
export function keyPairPath(name, rest = '', query = {}) {
  return apiPath('/keypairs/' + encodeURIComponent(name) + rest, query);
}

function sessionOf(token, tok) {
  const roles = (tok.roles || []).map((r) => r.name);
  return {
    token,
    user: {id: tok.user?.id || '', name: tok.user?.name || ''},
    project: {id: tok.project?.id || '', name: tok.project?.name || ''},
    admin: roles.includes('admin'),
  };
}

/** Signs in with the built-in identity's password method. */
export async function signInPassword(user, password, project, domain) {
  const d = {name: domain || 'Default'};
  const res = await call('POST', '/identity/v3/auth/tokens', {
    token: '',
    body: {
      auth: {
        identity: {methods: ['password'], password: {user: {name: user, domain: d, password}}},
        scope: {project: {name: project, domain: d}},
      },
    },
  });
  const token = res.headers.get('X-Subject-Token');
  if (!token || !res.body?.token) throw new ApiError(res.status, 'The identity service answered without a token.');
  remember(sessionOf(token, res.body.token));
  return session();
}

/**
 * Signs in with a token someone already has: the built-in identity says
 * whose it is; a token it does not know (a remote Keystone's) is tried on
 * the API itself.
 */
export async function signInToken(token) {
  try {
    const res = await call('GET', '/identity/v3/auth/tokens', {token, headers: {'X-Subject-Token': token}});
    if (res.body?.token) {
      remember(sessionOf(token, res.body.token));
      return session();
    }
  } catch (e) {
    if (e.status === 401) throw e;
  }
  await call('GET', apiPath('/keypairs', {limit: 1}), {token});
  let admin = false;
  try {
    await call('GET', apiPath('/audit', {limit: 1}), {token});
    admin = true;
  } catch {
    admin = false;
  }
  remember({token, user: {id: '', name: 'token user'}, project: {id: '', name: ''}, admin});
  return session();
}

/**
 * Revokes the token and forgets it. The session is forgotten even when the
 * revocation fails, and the failure is reported.
 */
export async function signOut() {
  const s = session();
  forget();
  if (!s) return;
  try {
    await call('DELETE', '/identity/v3/auth/tokens', {token: s.token, headers: {'X-Subject-Token': s.token}});
  } catch (e) {
    // No built-in identity here (static tokens, a remote Keystone): the
    // token cannot be revoked from the console, and the user must know.
    if (e.status === 404) throw new ApiError(404, 'Signed out here, but this token is not the built-in identity\'s, so it was not revoked: it works until it expires or is withdrawn where it was issued.');
    throw e;
  }
}
