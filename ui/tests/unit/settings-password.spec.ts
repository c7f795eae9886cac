import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { configureAuth } from '@/api/client';
import { useAuthStore } from '@/stores/auth';
import { changePassword, timeZones, validatePassword } from '@/views/settings/password';
import { errorBody, json, mockFetch, token } from './helpers';

describe('password form validation', () => {
  const ok = { current: 'old password', next: 'a new password', confirm: 'a new password' };
  it('accepts a good change', () => expect(validatePassword(ok, 'a@x.io')).toEqual({}));
  it('needs the current password, 10+ characters, a match', () => {
    expect(validatePassword({ ...ok, current: '' }).current).toBeTruthy();
    expect(validatePassword({ ...ok, next: 'short', confirm: 'short' }).next).toMatch(/10/);
    expect(validatePassword({ ...ok, confirm: 'other' }).confirm).toBeTruthy();
    expect(validatePassword({ ...ok, next: 'A@X.IO.....', confirm: 'A@X.IO.....' }, 'a@x.io.....').next).toMatch(/email/);
  });
});

describe('changePassword', () => {
  const body = { current_password: 'old password', new_password: 'a new password' };
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.unstubAllGlobals();
  });
  afterEach(() => configureAuth({ onExpired: () => {} }));

  it('a wrong current password is reported without refreshing (no sign-out)', async () => {
    const onExpired = vi.fn();
    configureAuth({ onExpired });
    const { calls } = mockFetch({
      'POST /api/me/password': () => errorBody('invalid_credentials', 'current password is incorrect', 401),
      'POST /api/auth/token/refresh': () => json(token(2)),
    });
    const auth = useAuthStore();
    auth.setToken(token(1) as never);
    await expect(changePassword(body)).rejects.toMatchObject({ info: { code: 'invalid_credentials' } });
    expect(calls.map((c) => new URL(c.url).pathname)).toEqual(['/api/me/password']);
    expect(onExpired).not.toHaveBeenCalled();
    expect(auth.token).toBe('tok-1');
  });

  it('an expired token is refreshed once and the change retried', async () => {
    const { calls } = mockFetch({
      'POST /api/me/password': [() => errorBody('token_expired', 'expired', 401), () => new Response(null, { status: 204 })],
      'POST /api/auth/token/refresh': () => json(token(2)),
    });
    const auth = useAuthStore();
    auth.setToken(token(1) as never);
    await changePassword(body);
    const posts = calls.filter((c) => c.url.endsWith('/me/password'));
    expect(posts.map((c) => c.headers.get('Authorization'))).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    expect(calls.filter((c) => c.url.endsWith('/auth/token/refresh'))).toHaveLength(1);
  });
});

describe('timeZones', () => {
  it('always contains the current zone and UTC', () => {
    const z = timeZones('Mars/Olympus');
    expect(z).toContain('Mars/Olympus');
    expect(z).toContain('UTC');
    expect(z.length).toBeGreaterThan(2);
  });
});
