import { describe, expect, it } from 'vitest';
import { bucketXpByDay, dayRange, niceMax, reachedStart, xpStats } from '@/components/dashboard/xp';

describe('XP per day', () => {
  it('covers the last N days, oldest first, today included', () => {
    const r = dayRange('2024-03-02', 3);
    expect(r).toEqual(['2024-02-29', '2024-03-01', '2024-03-02']);
    expect(dayRange('2024-03-02', 30)).toHaveLength(30);
  });
  it('sums grants per day, zero-fills, ignores days outside the window', () => {
    const s = bucketXpByDay(
      [
        { day: '2024-03-02', amount: 10 },
        { day: '2024-03-02', amount: 5 },
        { day: '2024-02-29', amount: 7 },
        { day: '2024-02-01', amount: 100 }, // too old
        { day: '2024-03-03', amount: 100 }, // future
      ],
      '2024-03-02',
      3,
    );
    expect(s).toEqual([
      { day: '2024-02-29', xp: 7 },
      { day: '2024-03-01', xp: 0 },
      { day: '2024-03-02', xp: 15 },
    ]);
  });
  it('knows when a newest-first page reached the start of the window', () => {
    expect(reachedStart([{ day: '2024-03-02' }, { day: '2024-02-01' }], '2024-02-02')).toBe(true);
    expect(reachedStart([{ day: '2024-03-02' }], '2024-02-02')).toBe(false);
    expect(reachedStart([], '2024-02-02')).toBe(false);
  });
  it('summarises the series', () => {
    const st = xpStats([
      { day: 'a', xp: 0 },
      { day: 'b', xp: 20 },
      { day: 'c', xp: 10 },
    ]);
    expect(st).toEqual({ total: 30, activeDays: 2, best: { day: 'b', xp: 20 }, average: 10 });
    expect(xpStats([]).best).toBeNull();
  });
  it('rounds the axis up to a nice number', () => {
    expect(niceMax(0)).toBe(10);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(13)).toBe(20);
    expect(niceMax(45)).toBe(50);
    expect(niceMax(120)).toBe(200);
  });
});
