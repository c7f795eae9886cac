import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { api, configureAuth } from '@/api/client';
import { apiError, unwrap } from '@/api/errors';
import { retryDelayMs, useAuthStore } from '@/stores/auth';
import { errorBody, json, me, mockFetch, token } from './helpers';

describe('auth store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.unstubAllGlobals();
  });

  it('logs in, keeps the token in memory only, loads /me', async () => {
    const { calls } = mockFetch({
      'POST /api/auth/token': () => json(token(1)),
      'GET /api/me': () => json(me({ role: 'owner' })),
    });
    const setItem = vi.spyOn(Storage.prototype, 'setItem');
    const auth = useAuthStore();
    await auth.login({ email: 'a@x.io', password: 'pw' });
    expect(auth.token).toBe('tok-1');
    expect(auth.me?.email).toBe('a@x.io');
    expect(auth.isAdmin).toBe(true);
    expect(auth.canWrite).toBe(true);
    expect(auth.isStaff).toBe(false);
    expect(calls[1]!.headers.get('Authorization')).toBe('Bearer tok-1');
    expect(setItem).not.toHaveBeenCalled();
  });

  it('surfaces invalid credentials as a human message', async () => {
    mockFetch({ 'POST /api/auth/token': () => errorBody('invalid_credentials', 'bad', 401) });
    const auth = useAuthStore();
    const err = await auth.login({ email: 'a@x.io', password: 'x' }).catch((e: unknown) => apiError(e));
    expect(err).toMatchObject({ code: 'invalid_credentials', message: 'Wrong email or password.' });
    expect(auth.isAuthenticated).toBe(false);
  });

  it('role helpers: read_only cannot write; staff flag from /me', async () => {
    mockFetch({
      'POST /api/auth/token': () => json({ ...token(), role: 'read_only' }),
      'GET /api/me': () => json(me({ role: 'read_only', is_staff: true })),
    });
    const auth = useAuthStore();
    await auth.login({ email: 'a@x.io', password: 'pw' });
    expect(auth.canWrite).toBe(false);
    expect(auth.isAdmin).toBe(false);
    expect(auth.isStaff).toBe(true);
  });

  it('restore() refreshes once with the CSRF header and loads /me', async () => {
    const { calls } = mockFetch({
      'POST /api/auth/token/refresh': () => json(token(2)),
      'GET /api/me': () => json(me()),
    });
    const auth = useAuthStore();
    await Promise.all([auth.restore(), auth.restore()]);
    const refreshes = calls.filter((c) => c.url.endsWith('/auth/token/refresh'));
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0]!.headers.get('X-Requested-With')).toBe('XMLHttpRequest');
    expect(refreshes[0]!.credentials).toBe('same-origin');
    expect(auth.token).toBe('tok-2');
    expect(auth.me?.id).toBe('u1');
  });

  it('restore() without a session leaves the user signed out', async () => {
    mockFetch({ 'POST /api/auth/token/refresh': () => errorBody('refresh_invalid', 'no', 401) });
    const auth = useAuthStore();
    await auth.restore();
    expect(auth.isAuthenticated).toBe(false);
  });

  it('on 401, concurrent requests share one refresh and retry with the new token', async () => {
    const { calls } = mockFetch({
      'POST /api/auth/token/refresh': async () => {
        await new Promise((r) => setTimeout(r, 5));
        return json(token(2));
      },
      'GET /api/me': (req) =>
        req.headers.get('Authorization') === 'Bearer tok-2' ? json(me()) : errorBody('token_expired', 'exp', 401),
    });
    const auth = useAuthStore();
    auth.setToken(token(1) as never);
    const [a, b] = await Promise.all([api.GET('/me'), api.GET('/me')]);
    expect(unwrap(a).id).toBe('u1');
    expect(unwrap(b).id).toBe('u1');
    expect(calls.filter((c) => c.url.endsWith('/auth/token/refresh'))).toHaveLength(1);
    expect(auth.token).toBe('tok-2');
  });

  it('when the refresh fails after a 401, the session is cleared and onExpired runs', async () => {
    const onExpired = vi.fn();
    configureAuth({ onExpired });
    mockFetch({
      'POST /api/auth/token/refresh': () => errorBody('refresh_expired', 'exp', 401),
      'GET /api/me': () => errorBody('token_expired', 'exp', 401),
    });
    const auth = useAuthStore();
    auth.setToken(token(1) as never);
    const res = await api.GET('/me');
    expect(res.response.status).toBe(401);
    expect(onExpired).toHaveBeenCalledTimes(1);
    expect(auth.token).toBeNull();
    configureAuth({ onExpired: () => {} });
  });

  it('a refresh answered 429 waits for Retry-After and tries again, without signing out', async () => {
    const limited = () => {
      const r = errorBody('rate_limited', 'slow down', 429);
      r.headers.set('Retry-After', '0');
      return r;
    };
    const { calls } = mockFetch({ 'POST /api/auth/token/refresh': [limited, limited, () => json(token(3))] });
    const auth = useAuthStore();
    auth.setToken(token(1) as never);
    expect(await auth.refresh()).toBe(true);
    expect(calls.filter((c) => c.url.endsWith('/auth/token/refresh'))).toHaveLength(3);
    expect(auth.token).toBe('tok-3');
  });

  it('a refresh that keeps failing (5xx) gives up but keeps the session; only a 401 clears it', async () => {
    const down = () => {
      const r = errorBody('internal', 'down', 503);
      r.headers.set('Retry-After', '0');
      return r;
    };
    const { calls } = mockFetch({ 'POST /api/auth/token/refresh': down });
    const auth = useAuthStore();
    auth.setToken(token(1) as never);
    expect(await auth.refresh()).toBe(false);
    expect(calls).toHaveLength(4);
    expect(auth.token).toBe('tok-1');
  });

  it('tabs take turns: the refresh runs inside the shared Web Lock when the browser has one', async () => {
    const names: string[] = [];
    vi.stubGlobal('navigator', {
      locks: { request: async (name: string, fn: () => Promise<unknown>) => { names.push(name); return fn(); } },
    });
    mockFetch({ 'POST /api/auth/token/refresh': () => json(token(4)) });
    const auth = useAuthStore();
    expect(await auth.refresh()).toBe(true);
    expect(names).toEqual(['afterresume-refresh']);
    expect(auth.token).toBe('tok-4');
  });

  it('retry delays honour Retry-After, back off without it, and are capped', () => {
    expect(retryDelayMs('2', 1)).toBe(2000);
    expect(retryDelayMs(null, 1)).toBe(1000);
    expect(retryDelayMs(null, 3)).toBe(4000);
    expect(retryDelayMs('3600', 1)).toBe(30000);
    expect(retryDelayMs('soon', 2)).toBe(2000);
  });

  it('a 401 invalid_credentials is an answer: no refresh, no retry, no sign-out', async () => {
    const onExpired = vi.fn();
    configureAuth({ onExpired });
    const { calls } = mockFetch({
      'POST /api/auth/token/refresh': () => json(token(2)),
      'POST /api/me/password': () => errorBody('invalid_credentials', 'wrong', 401),
    });
    const auth = useAuthStore();
    auth.setToken(token(1) as never);
    const res = await api.POST('/me/password', { body: { current_password: 'x', new_password: 'a new password' } });
    expect(res.response.status).toBe(401);
    expect(apiError(res.error, 401).code).toBe('invalid_credentials');
    expect(calls).toHaveLength(1);
    expect(onExpired).not.toHaveBeenCalled();
    expect(auth.token).toBe('tok-1');
    configureAuth({ onExpired: () => {} });
  });

  it('after a refresh, a retried request answering invalid_credentials does not sign out', async () => {
    const onExpired = vi.fn();
    configureAuth({ onExpired });
    mockFetch({
      'POST /api/auth/token/refresh': () => json(token(2)),
      'POST /api/me/password': [() => errorBody('token_expired', 'exp', 401), () => errorBody('invalid_credentials', 'wrong', 401)],
    });
    const auth = useAuthStore();
    auth.setToken(token(1) as never);
    const res = await api.POST('/me/password', { body: { current_password: 'x', new_password: 'a new password' } });
    expect(res.response.status).toBe(401);
    expect(onExpired).not.toHaveBeenCalled();
    expect(auth.token).toBe('tok-2');
    configureAuth({ onExpired: () => {} });
  });

  it('retries a request with a body after refreshing', async () => {
    let seen = '';
    mockFetch({
      'POST /api/auth/token/refresh': () => json(token(2)),
      'PATCH /api/me': async (req) => {
        if (req.headers.get('Authorization') !== 'Bearer tok-2') return errorBody('token_expired', 'exp', 401);
        seen = await req.text();
        return json(me({ display_name: 'B' }));
      },
    });
    const auth = useAuthStore();
    auth.setToken(token(1) as never);
    const res = await api.PATCH('/me', { body: { display_name: 'B' } });
    expect(unwrap(res).display_name).toBe('B');
    expect(JSON.parse(seen)).toEqual({ display_name: 'B' });
  });

  it('logout calls the server with the CSRF header and clears the session', async () => {
    const { calls } = mockFetch({ 'POST /api/auth/logout': () => new Response(null, { status: 204 }) });
    const auth = useAuthStore();
    auth.setToken(token(1) as never);
    await auth.logout();
    expect(calls[0]!.headers.get('X-Requested-With')).toBe('XMLHttpRequest');
    expect(auth.token).toBeNull();
  });
});
