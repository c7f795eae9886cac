// Weekly challenge helpers: week bounds, days remaining, result text.
import type { Schemas } from '@/api/types';
import { addDays, daysBetween, isoDay, parseDay } from '@/components/ai/period';

export type ChallengeBoard = Schemas['ChallengeBoard'];
export type ChallengeOut = Schemas['ChallengeOut'];
export type ChallengeHistoryItem = Schemas['ChallengeHistoryItem'];

/** Last day (Sunday) of the challenge week starting `weekStart` (`YYYY-MM-DD`). */
export function weekEnd(weekStart: string): string | null {
  const d = parseDay(weekStart);
  return d ? isoDay(addDays(d, 6)) : null;
}

/**
 * Days left in the week starting `weekStart`, today included (7 on its first day,
 * 1 on its last, 0 once it is over). The server's `days_remaining_in_week` uses your
 * time zone and wins when present; this is the fallback and the rule it follows.
 */
export function daysRemaining(weekStart: string, today: Date = new Date()): number {
  const start = parseDay(weekStart);
  if (!start) return 0;
  const elapsed = daysBetween(start, today);
  if (elapsed < 0) return 7;
  return Math.max(0, 7 - elapsed);
}

export function daysRemainingText(days: number): string {
  if (days <= 0) return 'This week is over';
  if (days === 1) return 'Last day of the week';
  return `${days} days left this week`;
}

export function challengePercent(c: ChallengeOut): number {
  if (typeof c.percent === 'number') return Math.min(100, Math.max(0, c.percent));
  return c.goal ? Math.min(100, Math.round((c.progress / c.goal) * 100)) : 0;
}

export function isCompleted(c: ChallengeOut): boolean {
  return !!c.completed_at || (c.goal > 0 && c.progress >= c.goal);
}

export const RESULT_TEXT: Record<string, string> = {
  completed: 'Completed',
  missed: 'Missed',
  expired: 'Expired',
};

/** History grouped by week, newest week first. */
export function historyByWeek(history: readonly ChallengeHistoryItem[]): { weekStart: string; items: ChallengeHistoryItem[] }[] {
  const map = new Map<string, ChallengeHistoryItem[]>();
  for (const h of history) {
    const list = map.get(h.week_start) ?? [];
    list.push(h);
    map.set(h.week_start, list);
  }
  return [...map.entries()]
    .sort((a, b) => b[0].localeCompare(a[0]))
    .map(([weekStart, items]) => ({ weekStart, items }));
}
