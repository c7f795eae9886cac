import { describe, expect, it } from 'vitest';
import { daysBetween, defaultPeriod, formatDay, parseDay, validatePeriod } from '@/components/ai/period';
import { stripTitle } from '@/views/reports/report';

// Local dates: 2026-11-18 is a Wednesday.
const wed = new Date(2026, 10, 18, 15, 30);
const mon = new Date(2026, 10, 16, 9);
const sun = new Date(2026, 10, 22, 9);

describe('defaultPeriod', () => {
  it('standup: the previous working day to today', () => {
    expect(defaultPeriod('standup', wed)).toEqual({ from: '2026-11-17', to: '2026-11-18' });
    expect(defaultPeriod('standup', mon)).toEqual({ from: '2026-11-13', to: '2026-11-16' }); // Friday
    expect(defaultPeriod('standup', sun)).toEqual({ from: '2026-11-20', to: '2026-11-22' }); // Friday
  });
  it('weekly: Monday of this week to today, last week on Mondays', () => {
    expect(defaultPeriod('weekly', wed)).toEqual({ from: '2026-11-16', to: '2026-11-18' });
    expect(defaultPeriod('weekly', sun)).toEqual({ from: '2026-11-16', to: '2026-11-22' });
    expect(defaultPeriod('weekly', mon)).toEqual({ from: '2026-11-09', to: '2026-11-15' });
  });
  it('status: last 14 days; custom: last 30 days (today included)', () => {
    expect(defaultPeriod('status', wed)).toEqual({ from: '2026-11-05', to: '2026-11-18' });
    expect(defaultPeriod('custom', wed)).toEqual({ from: '2026-10-20', to: '2026-11-18' });
  });
  it('crosses month and year boundaries', () => {
    expect(defaultPeriod('standup', new Date(2027, 0, 1))).toEqual({ from: '2026-12-31', to: '2027-01-01' });
    expect(defaultPeriod('status', new Date(2026, 2, 3))).toEqual({ from: '2026-02-18', to: '2026-03-03' });
  });
  it('every default is a valid period', () => {
    for (const k of ['standup', 'weekly', 'status', 'custom'] as const) {
      const p = defaultPeriod(k, wed);
      expect(validatePeriod(p.from, p.to)).toEqual({});
    }
  });
});

describe('validatePeriod', () => {
  it('requires both dates', () => {
    expect(validatePeriod('', '2026-01-01')).toEqual({ from: 'Enter a start date.' });
    expect(validatePeriod('2026-01-01', 'nope')).toEqual({ to: 'Enter an end date.' });
  });
  it('rejects an inverted or too long period', () => {
    expect(validatePeriod('2026-01-02', '2026-01-01').to).toMatch(/on or after/);
    expect(validatePeriod('2025-01-01', '2026-01-03').to).toMatch(/366/);
    expect(validatePeriod('2025-01-01', '2026-01-02')).toEqual({}); // 366 days
    
  });
});

describe('dates', () => {
  it('parses only real calendar days', () => {
    expect(parseDay('2026-02-30')).toBeNull();
    expect(parseDay('2026-02-28')?.getDate()).toBe(28);
  });
  it('counts calendar days across DST', () => {
    expect(daysBetween(new Date(2026, 2, 28), new Date(2026, 2, 30))).toBe(2);
    expect(daysBetween(new Date(2026, 9, 24), new Date(2026, 9, 26))).toBe(2);
  });
  it('formats a day without shifting it', () => {
    expect(formatDay('2026-11-15')).toBe(new Date(2026, 10, 15).toLocaleDateString());
    expect(formatDay(undefined)).toBe('—');
  });
});

describe('stripTitle', () => {
  it('drops the leading H1 that repeats the title', () => {
    expect(stripTitle('# Weekly report\n\n## Summary\n', 'Weekly report')).toBe('## Summary\n');
    expect(stripTitle('# Other\n\ntext', 'Weekly report')).toBe('# Other\n\ntext');
    expect(stripTitle('no heading', 'x')).toBe('no heading');
    expect(stripTitle('# A \\*b\\*\nrest', 'A *b*')).toBe('rest');
  });
});
