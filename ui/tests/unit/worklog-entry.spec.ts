import { describe, expect, it } from 'vitest';
import { addDays, createBody, emptyForm, patchBody, todayIn, validateEntry, type Entry } from '@/components/worklog/entry';

const entry = (over: Partial<Entry> = {}): Entry => ({
  id: 'e1',
  author_id: 'u1',
  date: '2024-03-01',
  title: 'Title',
  content: 'Body',
  tags: ['rust'],
  version: 3,
  attachment_count: 0,
  created_at: '2024-03-01T00:00:00Z',
  updated_at: '2024-03-01T00:00:00Z',
  ...over,
});

describe('entry validation', () => {
  it('requires content, 1–20,000 characters', () => {
    expect(validateEntry({ ...emptyForm('2024-03-01'), content: '  ' }).content).toBeTruthy();
    expect(validateEntry({ ...emptyForm('2024-03-01'), content: 'x'.repeat(20_000) }).content).toBeUndefined();
    expect(validateEntry({ ...emptyForm('2024-03-01'), content: 'x'.repeat(20_001) }).content).toMatch(/20,000|20000/);
  });
  it('checks the date, at most a day ahead of today', () => {
    const base = { ...emptyForm('2024-03-01'), content: 'x' };
    expect(validateEntry({ ...base, date: '2024-03-02' }, '2024-03-01').date).toBeUndefined();
    expect(validateEntry({ ...base, date: '2024-03-03' }, '2024-03-01').date).toBeTruthy();
    expect(validateEntry({ ...base, date: 'nope' }).date).toBeTruthy();
  });
  it('reports tag problems', () => {
    expect(validateEntry({ ...emptyForm('2024-03-01'), content: 'x', tags: ['a/b'] }).tags).toBeTruthy();
  });
});

describe('request bodies', () => {
  it('create leaves empty optional fields out and normalises tags', () => {
    expect(createBody({ date: '2024-03-01', title: ' ', content: 'c', tags: ['Rust', 'rust'], outcome: '', project: '' })).toEqual({
      date: '2024-03-01',
      content: 'c',
      tags: ['rust'],
    });
  });
  it('patch sends the version and only what changed; empty clears', () => {
    const e = entry({ outcome: 'Shipped', project: 'api' });
    const form = { date: '2024-03-01', title: 'Title', content: 'Body', tags: ['rust'], outcome: '', project: 'api' };
    expect(patchBody(form, e)).toEqual({ version: 3, outcome: '' });
    expect(patchBody({ ...form, outcome: 'Shipped', tags: ['RUST', 'go'] }, e)).toEqual({ version: 3, tags: ['rust', 'go'] });
  });
});

describe('dates', () => {
  it('today in a time zone', () => {
    const now = new Date('2024-03-01T23:30:00Z');
    expect(todayIn('UTC', now)).toBe('2024-03-01');
    expect(todayIn('Asia/Tokyo', now)).toBe('2024-03-02');
    expect(todayIn('America/Los_Angeles', now)).toBe('2024-03-01');
    expect(todayIn('Not/AZone', now)).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
  it('adds days across months', () => {
    expect(addDays('2024-02-28', 2)).toBe('2024-03-01');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
  });
});

describe('formatDay', () => {
  it('shows the calendar day itself, whatever the local zone', async () => {
    const { formatDay } = await import('@/components/worklog/entry');
    expect(formatDay('2024-03-01', { year: 'numeric', month: '2-digit', day: '2-digit' })).toMatch(/01/);
    expect(formatDay('2024-03-01', { day: 'numeric' })).toBe('1');
    expect(formatDay(null)).toBe('—');
  });
});
