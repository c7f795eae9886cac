// Default report periods per kind, and period validation (CreateReport: `from`..`to`,
// at most 366 days apart). Dates are local calendar days as `YYYY-MM-DD`.
import type { Schemas } from '@/api/types';
import { formatDate } from '@/utils/format';

export type ReportKind = Schemas['ReportKindParam'];

/** Every kind with a label and a one-line description (Record: a new kind is a type error). */
export const REPORT_KINDS: Record<ReportKind, { label: string; hint: string }> = {
  standup: { label: 'Stand-up', hint: 'Since your last working day: done, next, blockers.' },
  weekly: { label: 'Weekly', hint: 'This week (last week on Mondays).' },
  status: { label: 'Status', hint: 'The last two weeks, for a status update.' },
  custom: { label: 'Custom', hint: 'Any period, with your own instructions.' },
};

export const MAX_PERIOD_DAYS = 366;

const pad = (n: number) => String(n).padStart(2, '0');

/** Local calendar day of `d` as `YYYY-MM-DD`. */
export function isoDay(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Parses `YYYY-MM-DD` as a local date (midnight), or null. */
export function parseDay(s: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return d.getFullYear() === Number(m[1]) && d.getMonth() === Number(m[2]) - 1 && d.getDate() === Number(m[3]) ? d : null;
}

export function addDays(d: Date, n: number): Date {
  const out = new Date(d.getFullYear(), d.getMonth(), d.getDate());
  out.setDate(out.getDate() + n);
  return out;
}

/** Whole days from `a` to `b` (calendar days, DST-safe). */
export function daysBetween(a: Date, b: Date): number {
  const ua = Date.UTC(a.getFullYear(), a.getMonth(), a.getDate());
  const ub = Date.UTC(b.getFullYear(), b.getMonth(), b.getDate());
  return Math.round((ub - ua) / 86_400_000);
}

/** Monday of the week containing `d`. */
export function mondayOf(d: Date): Date {
  const dow = (d.getDay() + 6) % 7; // Monday = 0
  return addDays(d, -dow);
}

/**
 * The period a report of `kind` covers by default, for `today`:
 * - standup: the previous working day (Friday on Mondays, Friday on weekends) to today;
 * - weekly: Monday of this week to today; on Mondays, all of last week (Mon–Sun);
 * - status: the last 14 days, today included;
 * - custom: the last 30 days, today included.
 */
export function defaultPeriod(kind: ReportKind, today: Date = new Date()): { from: string; to: string } {
  const t = addDays(today, 0);
  switch (kind) {
    case 'standup': {
      const dow = t.getDay(); // 0 Sun .. 6 Sat
      const back = dow === 1 ? 3 : dow === 0 ? 2 : 1;
      return { from: isoDay(addDays(t, -back)), to: isoDay(t) };
    }
    case 'weekly': {
      if (t.getDay() === 1) {
        const lastMonday = addDays(t, -7);
        return { from: isoDay(lastMonday), to: isoDay(addDays(lastMonday, 6)) };
      }
      return { from: isoDay(mondayOf(t)), to: isoDay(t) };
    }
    case 'status':
      return { from: isoDay(addDays(t, -13)), to: isoDay(t) };
    case 'custom':
    default:
      return { from: isoDay(addDays(t, -29)), to: isoDay(t) };
  }
}

/** Field errors for a period (empty object when valid). */
export function validatePeriod(from: string, to: string): { from?: string; to?: string } {
  const errors: { from?: string; to?: string } = {};
  const f = parseDay(from);
  const t = parseDay(to);
  if (!f) errors.from = 'Enter a start date.';
  if (!t) errors.to = 'Enter an end date.';
  if (f && t) {
    const span = daysBetween(f, t);
    if (span < 0) errors.to = 'The end date must be on or after the start date.';
    else if (span > MAX_PERIOD_DAYS) errors.to = `A report covers at most ${MAX_PERIOD_DAYS} days.`;
  }
  return errors;
}

/** A calendar day (`YYYY-MM-DD`, no time zone) for display: the same day in every time zone. */
export function formatDay(s: string | null | undefined): string {
  return formatDate(s);
}
