// XP-per-day bucketing for the dashboard chart.
import type { Schemas } from '@/api/types';
import { addDays } from '@/components/worklog/entry';

export type LedgerItem = Schemas['LedgerItem'];

export interface DayXp {
  day: string; // YYYY-MM-DD
  xp: number;
}

/** The `days` calendar days ending with `today` (inclusive), oldest first. */
export function dayRange(today: string, days: number): string[] {
  const out: string[] = [];
  for (let i = days - 1; i >= 0; i--) out.push(addDays(today, -i));
  return out;
}

/** Sums ledger grants per `day` over the window; days without XP are 0, items outside are ignored. */
export function bucketXpByDay(items: readonly Pick<LedgerItem, 'day' | 'amount'>[], today: string, days = 30): DayXp[] {
  const range = dayRange(today, days);
  const sums = new Map<string, number>(range.map((d) => [d, 0]));
  for (const it of items) {
    const cur = sums.get(it.day);
    if (cur !== undefined) sums.set(it.day, cur + it.amount);
  }
  return range.map((day) => ({ day, xp: sums.get(day) ?? 0 }));
}

/** True when a newest-first ledger page reaches before the window (no need to fetch more). */
export function reachedStart(items: readonly Pick<LedgerItem, 'day'>[], firstDay: string): boolean {
  const last = items[items.length - 1];
  return last !== undefined && last.day < firstDay;
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
