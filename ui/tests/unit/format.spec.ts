import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDay as entryFormatDay } from '@/components/worklog/entry';
import { formatDay as periodFormatDay } from '@/components/ai/period';
import { formatDate } from '@/utils/format';

// The expected strings are built from local-calendar Dates (`new Date(y, m, d)`), which are
// right in every zone, so the assertions hold whatever TZ the test runs in. Each block is run
// west of UTC, east of UTC and in UTC.
const ZONES = ['America/Los_Angeles', 'Pacific/Kiritimati', 'UTC'];

for (const zone of ZONES) {
  describe(`formatDate in ${zone}`, () => {
    const saved = process.env.TZ;
    beforeAll(() => {
      process.env.TZ = zone;
    });
    afterAll(() => {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    });

    it('runs in the zone (guard: the test would be meaningless otherwise)', () => {
      const offset = new Date(2024, 2, 1).getTimezoneOffset();
      if (zone === 'America/Los_Angeles') expect(offset).toBeGreaterThan(0);
      else if (zone === 'UTC') expect(offset).toBe(0);
      else expect(offset).toBeLessThan(0);
    });

    it('shows a calendar day as that day, not the day before/after', () => {
      expect(formatDate('2024-03-01')).toBe(new Date(2024, 2, 1).toLocaleDateString());
      expect(formatDate('2024-03-01', { day: 'numeric' })).toBe('1');
      expect(formatDate('2024-12-31', { year: 'numeric' })).toBe(new Date(2024, 11, 31).toLocaleDateString(undefined, { year: 'numeric' }));
      expect(formatDate('2024-02-29', { dateStyle: 'medium' })).toBe(new Date(2024, 1, 29).toLocaleDateString(undefined, { dateStyle: 'medium' }));
    });

    it('timestamps are shown as their local date', () => {
      const iso = '2024-03-01T12:00:00Z';
      expect(formatDate(iso)).toBe(new Date(iso).toLocaleDateString());
    });

    it('returns invalid input unchanged, and a dash for nothing', () => {
      expect(formatDate('2024-02-30')).toBe('2024-02-30');
      expect(formatDate('not a date')).toBe('not a date');
      expect(formatDate(null)).toBe('—');
      expect(formatDate('')).toBe('—');
    });

    it('formatDay helpers are the same function', () => {
      expect(periodFormatDay('2026-11-15')).toBe(new Date(2026, 10, 15).toLocaleDateString());
      expect(entryFormatDay('2026-11-15')).toBe(new Date(2026, 10, 15).toLocaleDateString(undefined, { dateStyle: 'medium' }));
      expect(entryFormatDay('2024-03-01', { day: 'numeric' })).toBe('1');
      expect(periodFormatDay(undefined)).toBe('—');
    });
  });
}
