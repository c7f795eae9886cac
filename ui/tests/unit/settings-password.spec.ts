import { describe, expect, it, vi } from 'vitest';
import { changePassword, timeZones, validatePassword } from '@/views/settings/password';
import { errorBody, mockFetch } from './helpers';

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
  it('a wrong current password is reported without refreshing (no sign-out)', async () => {
    mockFetch({ 'POST /api/me/password': () => errorBody('invalid_credentials', 'current password is incorrect', 401) });
    const refresh = vi.fn(async () => true);
    await expect(changePassword(body, { getToken: () => 't', refresh })).rejects.toMatchObject({ info: { code: 'invalid_credentials' } });
    expect(refresh).not.toHaveBeenCalled();
  });
  it('an expired token is refreshed once and the change retried', async () => {
    const { calls } = mockFetch({
      'POST /api/me/password': [() => errorBody('token_expired', 'expired', 401), () => new Response(null, { status: 204 })],
    });
    let token = 'old';
    const refresh = vi.fn(async () => {
      token = 'new';
      return true;
    });
    await changePassword(body, { getToken: () => token, refresh });
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(calls.map((c) => c.headers.get('Authorization'))).toEqual(['Bearer old', 'Bearer new']);
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
