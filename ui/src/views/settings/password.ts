// Password change form: validation, the request, time-zone helpers.
import { api } from '@/api/client';
import { unwrap } from '@/api/errors';
import type { Schemas } from '@/api/types';

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 256;

export interface PasswordForm {
  current: string;
  next: string;
  confirm: string;
}
export type PasswordErrors = Partial<Record<keyof PasswordForm, string>>;

export function validatePassword(f: PasswordForm, email?: string): PasswordErrors {
  const e: PasswordErrors = {};
  const n = [...f.next].length;
  if (!f.current) e.current = 'Enter your current password.';
  if (!f.next) e.next = 'Enter a new password.';
  else if (n < PASSWORD_MIN) e.next = `Use at least ${PASSWORD_MIN} characters.`;
  else if (n > PASSWORD_MAX) e.next = `Use at most ${PASSWORD_MAX} characters.`;
  else if (email && f.next.toLowerCase() === email.toLowerCase()) e.next = "Don't use your email address as the password.";
  else if (f.current && f.next === f.current) e.next = 'The new password is the same as the current one.';
  if (!e.next && f.confirm !== f.next) e.confirm = "The passwords don't match.";
  return e;
}

/**
 * POST /me/password. Throws ApiRequestError (`invalid_credentials` = wrong current password).
 * The client doesn't treat that 401 as an expired session (no refresh, no sign-out).
 */
export async function changePassword(body: Schemas['ChangePassword']): Promise<void> {
  unwrap(await api.POST('/me/password', { body }));
}

/** IANA time zones for the select: the browser's list, with `current` (and UTC) guaranteed present. */
export function timeZones(current?: string): string[] {
  let zones: string[] = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = [];
  }
  const set = new Set(zones);
  const extra = ['UTC', current].filter((z): z is string => !!z && !set.has(z));
  return [...extra, ...zones];
}

export function browserTimeZone(): string | null {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone ?? null;
  } catch {
    return null;
  }
}
