// XP per day for the dashboard chart (summed by the server: GET /gamification/days).
import type { Schemas } from '@/api/types';

export type XpDayOut = Schemas['XpDay'];

export interface DayXp {
  day: string; // YYYY-MM-DD
  xp: number;
}

/** The chart's series: each day's total XP, as the server summed it from the ledger. */
export function seriesOf(days: readonly Pick<XpDayOut, 'day' | 'total'>[]): DayXp[] {
  return days.map((d) => ({ day: d.day, xp: d.total }));
}

export interface XpStats {
  total: number;
  activeDays: number;
  best: DayXp | null;
  average: number;
}

export function xpStats(series: readonly DayXp[]): XpStats {
  let total = 0;
  let activeDays = 0;
  let best: DayXp | null = null;
  for (const d of series) {
    total += d.xp;
    if (d.xp > 0) activeDays++;
    if (d.xp > 0 && (!best || d.xp > best.xp)) best = d;
  }
  return { total, activeDays, best, average: series.length ? total / series.length : 0 };
}

/** A "nice" axis maximum ≥ max (1, 2, 5 × 10^n). */
export function niceMax(max: number): number {
  if (max <= 0) return 10;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}
