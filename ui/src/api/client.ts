// The one API client. Typed from the OpenAPI spec (src/api/schema.d.ts):
//
//   import { api } from '@/api/client';
//   import { unwrap } from '@/api/errors';
//   const page = unwrap(await api.GET('/worklogs', { params: { query: { limit: 20 } } }));
//
// Every request goes through `authFetch`, which adds the bearer token and, on a 401,
// refreshes the session once (one shared in-flight refresh for all callers) and retries.
// If the refresh fails, `onExpired` runs (the router sends the user to /login?next=...).
// A 401 `invalid_credentials` (e.g. a wrong current password on POST /me/password) is an
// answer, not an expired session: it is returned as is, with no refresh and no sign-out.
import createClient from 'openapi-fetch';
import type { paths } from './schema';

/** The server prefix of every spec path (`servers[0].url` of openapi.json). */
export const API_PREFIX = '/api';

/** Header the server requires on cookie-authenticated calls (refresh, logout). */
export const CSRF_HEADERS = { 'X-Requested-With': 'XMLHttpRequest' } as const;

export interface AuthHooks {
  /** The current access token, or null. */
  getToken(): string | null;
  /** Refresh the session; resolves true when a new token is in place. Must share in-flight calls. */
  refresh(): Promise<boolean>;
  /** The session is gone (refresh failed after a 401). */
  onExpired(): void;
}

const hooks: AuthHooks = {
  getToken: () => null,
  refresh: async () => false,
  onExpired: () => {},
};

/** Wire the client to the session. Called by the auth store and the router. */
export function configureAuth(h: Partial<AuthHooks>): void {
  Object.assign(hooks, h);
}

function origin(): string {
  return typeof window !== 'undefined' && window.location ? window.location.origin : 'http://localhost';
}

/** Absolute URL of an API path: `apiUrl('/jobs/1/events')` -> `https://host/api/jobs/1/events`. */
export function apiUrl(path: string): string {
  if (/^https?:\/\//.test(path)) return path;
  const p = path.startsWith(API_PREFIX + '/') ? path : API_PREFIX + path;
  return origin() + p;
}

/** Auth endpoints never trigger the refresh-and-retry dance. */
function isAuthEndpoint(url: string): boolean {
  return new URL(url, origin()).pathname.startsWith(`${API_PREFIX}/auth/`);
}

/** A 401 whose error code says the request's credentials (not the session) were wrong. */
async function isCredentialsAnswer(response: Response): Promise<boolean> {
  if (response.status !== 401) return false;
  if (!(response.headers.get('content-type') ?? '').includes('json')) return false;
  try {
    const body = (await response.clone().json()) as { error?: { code?: unknown } } | null;
    return body?.error?.code === 'invalid_credentials';
  } catch {
    return false;
  }
}

function withToken(request: Request): Request {
  const token = hooks.getToken();
  if (token && !request.headers.has('Authorization')) {
    request.headers.set('Authorization', `Bearer ${token}`);
  }
  return request;
}

/**
 * `fetch` with the session: bearer token, one refresh + retry on 401 (not on a 401
 * `invalid_credentials`, which is returned as is).
 * Use it directly for what openapi-fetch can't type (SSE streams, downloads):
 * `authFetch(new Request(apiUrl('/jobs/1/events')))`.
 */
export async function authFetch(request: Request): Promise<Response> {
  const skipRetry = isAuthEndpoint(request.url);
  const retry = skipRetry ? null : request.clone();
  const hadToken = hooks.getToken() !== null;
  const response = await globalThis.fetch(withToken(request));
  if (response.status !== 401 || !retry || (await isCredentialsAnswer(response))) return response;

  const refreshed = await hooks.refresh();
  if (!refreshed) {
    if (hadToken) hooks.onExpired();
    return response;
  }
  retry.headers.delete('Authorization');
  const second = await globalThis.fetch(withToken(retry));
  if (second.status === 401 && !(await isCredentialsAnswer(second))) hooks.onExpired();
  return second;
}

export const api = createClient<paths>({
  baseUrl: origin() + API_PREFIX,
  credentials: 'same-origin',
  fetch: authFetch,
});
