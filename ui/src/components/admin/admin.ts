// Pure helpers for the workspace (tenant) and platform admin pages. Unit-tested in
// tests/unit/admin.spec.ts.
import type { AuthEventKind, InvitationStatus, JobOut, JobState, Role } from '@/api/types';

export const ROLE_LABELS: Record<Role, string> = {
  owner: 'Owner',
  admin: 'Admin',
  member: 'Member',
  read_only: 'Read-only',
};
export const ROLES = Object.keys(ROLE_LABELS) as Role[];

/**
 * Roles `actor` may hand out (invitations, role changes): owners any; admins anything
 * but owner (the server enforces the same; this just keeps the choice honest).
 */
export function assignableRoles(actor: Role | null | undefined): Role[] {
  if (actor === 'owner') return [...ROLES];
  if (actor === 'admin') return ROLES.filter((r) => r !== 'owner');
  return [];
}

/** Whether `actor` may change or remove a member whose role is `target`. */
export function canManageMember(actor: Role | null | undefined, target: Role): boolean {
  if (actor === 'owner') return true;
  return actor === 'admin' && target !== 'owner';
}

export const INVITATION_STATUS_LABELS: Record<InvitationStatus, string> = {
  pending: 'Pending',
  used: 'Used',
  expired: 'Expired',
  revoked: 'Revoked',
};

/** Pill class for a status-like value. */
export function pillClass(status: InvitationStatus | JobState | 'ok' | 'down' | 'disabled' | 'active'): string {
  switch (status) {
    case 'succeeded':
    case 'ok':
    case 'active':
    case 'pending':
      return 'adm-pill adm-pill-ok';
    case 'failed':
    case 'down':
    case 'disabled':
    case 'revoked':
      return 'adm-pill adm-pill-bad';
    case 'running':
    case 'queued':
    case 'expired':
      return 'adm-pill adm-pill-warn';
    default:
      return 'adm-pill';
  }
}

/** The sign-up link for a passkey (`origin` = `location.origin`). */
export function signupLink(origin: string, passkey: string): string {
  return `${origin.replace(/\/+$/, '')}/signup?passkey=${encodeURIComponent(passkey)}`;
}

/** Hours until expiry for an invitation form: integer 1..720, or an error message. */
export function parseExpiryHours(raw: string | number | null | undefined): { hours?: number; error?: string } {
  if (raw === null || raw === undefined || String(raw).trim() === '') return {};
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 720) return { error: 'Enter a whole number of hours from 1 to 720.' };
  return { hours: n };
}

/** A very loose e-mail check for optional e-mail fields ('' is fine). */
export function emailError(raw: string): string | undefined {
  const v = raw.trim();
  if (!v) return undefined;
  if (v.length > 254) return 'At most 254 characters.';
  return /^[^\s@]+@[^\s@]+$/.test(v) ? undefined : 'Enter a valid email address.';
}

export const JOB_STATES: JobState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

/** Staff may put failed (dead-lettered) and cancelled jobs back in the queue. */
export function isRetryable(job: Pick<JobOut, 'status' | 'dead_letter'>): boolean {
  return job.status === 'failed' || job.status === 'cancelled' || job.dead_letter;
}

export function isTerminal(status: JobState): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}

/** Replace the item with the same id (keeps order); returns a new array. */
export function replaceById<T extends { id: string }>(items: T[], next: T): T[] {
  return items.map((i) => (i.id === next.id ? next : i));
}

export const AUTH_EVENT_LABELS: Record<AuthEventKind, string> = {
  login_succeeded: 'Login succeeded',
  login_failed: 'Login failed',
  login_locked: 'Login locked after failures',
  refresh: 'Session refreshed',
  refresh_reuse_detected: 'Refresh token reuse detected',
  logout: 'Logout',
  signup: 'Sign-up',
  invite_created: 'Invitation created',
  invite_used: 'Invitation used',
  invite_revoked: 'Invitation revoked',
  permission_denied: 'Permission denied',
  role_changed: 'Role changed',
  member_removed: 'Member removed',
  password_changed: 'Password changed',
  password_change_failed: 'Password change failed',
  user_disabled: 'User disabled',
  user_enabled: 'User enabled',
  xp_granted: 'XP granted',
  badge_revoked: 'Badge revoked',
  reward_config_changed: 'Reward rules changed',
};
export const AUTH_EVENT_KINDS = Object.keys(AUTH_EVENT_LABELS) as AuthEventKind[];

export function authEventLabel(kind: string): string {
  return (AUTH_EVENT_LABELS as Record<string, string>)[kind] ?? kind;
}

/** `datetime-local` input value ('2024-05-01T10:00') -> RFC 3339 (UTC), or undefined. */
export function localToIso(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Compact JSON for a table cell (`{}`/null -> ''). */
/** `detail` with every user id that `people` knows replaced by the person's name. */
export function withNames(detail: unknown, people: Record<string, string>): unknown {
  if (typeof detail === 'string') return people[detail] ?? detail;
  if (Array.isArray(detail)) return detail.map((d) => withNames(d, people));
  if (detail && typeof detail === 'object') {
    return Object.fromEntries(Object.entries(detail).map(([k, v]) => [k, withNames(v, people)]));
  }
  return detail;
}

export function compactJson(v: unknown, max = 160): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object' && Object.keys(v as object).length === 0) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export interface MetricSample {
  name: string;
  labels: string;
  value: number;
}

/** Parse the Prometheus text format (samples only; comments and bad lines skipped). */
export function parsePrometheus(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (Number.isNaN(value)) continue;
    out.push({ name: m[1]!, labels: m[2] ?? '', value });
  }
  return out;
}

/**
 * Sum of a metric's samples over all label sets. `name` matches with or without the
 * registry prefix (`afterresume_http_requests_total` for `http_requests_total`).
 */
export function metricTotal(samples: MetricSample[], name: string): number | null {
  const hits = samples.filter((s) => s.name === name || s.name.endsWith(`_${name}`));
  return hits.length ? hits.reduce((a, s) => a + s.value, 0) : null;
}

/** Human duration for seconds. */
export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—';
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}
