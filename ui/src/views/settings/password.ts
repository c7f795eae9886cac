// Password change. Not sent through the shared client: a wrong current password is a
// 401 `invalid_credentials`, and the client's refresh-and-retry on 401 would then end the
// session (sign the user out) for a typo. Here only an expired token is refreshed.
import { apiUrl } from '@/api/client';
import { apiError, ApiRequestError } from '@/api/errors';
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

export interface PasswordDeps {
  getToken(): string | null;
  refresh(): Promise<boolean>;
}

async function readJson(res: Response): Promise<unknown> {
  try {
    return await res.clone().json();
  } catch {
    return undefined;
  }
}

function codeOf(body: unknown): string | undefined {
  return (body as { error?: { code?: string } } | undefined)?.error?.code;
}

/** POST /me/password. Throws ApiRequestError (`invalid_credentials` = wrong current password). */
export async function changePassword(body: Schemas['ChangePassword'], deps: PasswordDeps): Promise<void> {
  const send = () => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    const token = deps.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    return globalThis.fetch(new Request(apiUrl('/me/password'), { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin' }));
  };
  let res = await send();
  if (res.status === 401) {
    const first = await readJson(res);
    if (codeOf(first) !== 'invalid_credentials' && (await deps.refresh())) res = await send();
  }
  if (!res.ok) throw new ApiRequestError(apiError(await readJson(res), res.status));
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
