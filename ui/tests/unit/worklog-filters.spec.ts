import { describe, expect, it } from 'vitest';
import {
  dateRangeError,
  emptyFilters,
  filtersFromQuery,
  filtersToApi,
  filtersToQuery,
  hasFilters,
  sameFilters,
} from '@/components/worklog/filters';

describe('work-log filters <-> URL query', () => {
  it('reads the filters from the query, ignoring unknown keys and bad dates', () => {
    const f = filtersFromQuery({ from: '2024-01-01', to: 'yesterday', tag: 'rust', project: ['api', 'web'], q: ' deploy ', other: 'x' });
    expect(f).toEqual({ from: '2024-01-01', to: '', tag: 'rust', project: 'api', q: 'deploy' });
  });
  it('an empty query is no filters', () => {
    expect(filtersFromQuery({})).toEqual(emptyFilters());
    expect(hasFilters(filtersFromQuery({}))).toBe(false);
  });
  it('writes only the set filters', () => {
    expect(filtersToQuery({ ...emptyFilters(), tag: 'rust', q: '  ' })).toEqual({ tag: 'rust' });
    expect(filtersToQuery(emptyFilters())).toEqual({});
  });
  it('round-trips', () => {
    const f = { from: '2024-01-01', to: '2024-02-01', tag: 'c#', project: 'My project', q: 'deployed the api' };
    expect(filtersFromQuery(filtersToQuery(f) as Record<string, string>)).toEqual(f);
    expect(filtersToApi(f)).toEqual(f);
  });
  it('compares filters ignoring surrounding spaces', () => {
    expect(sameFilters({ ...emptyFilters(), q: 'a ' }, { ...emptyFilters(), q: 'a' })).toBe(true);
    expect(sameFilters({ ...emptyFilters(), q: 'a' }, { ...emptyFilters(), q: 'b' })).toBe(false);
  });
  it('flags a reversed date range', () => {
    expect(dateRangeError({ ...emptyFilters(), from: '2024-02-01', to: '2024-01-01' })).toMatch(/after/);
    expect(dateRangeError({ ...emptyFilters(), from: '2024-01-01', to: '2024-01-01' })).toBeNull();
  });
});
