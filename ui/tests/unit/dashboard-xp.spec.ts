import { describe, expect, it } from 'vitest';
import { niceMax, seriesOf, xpStats } from '@/components/dashboard/xp';

describe('XP per day', () => {
  it("charts each day's total as the server summed it", () => {
    expect(
      seriesOf([
        { day: '2024-03-01', total: 0 },
        { day: '2024-03-02', total: 215 },
      ]),
    ).toEqual([
      { day: '2024-03-01', xp: 0 },
      { day: '2024-03-02', xp: 215 },
    ]);
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
