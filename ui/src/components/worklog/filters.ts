// Work-log list filters <-> URL query <-> API query. The URL is the source of truth so
// reload and back/forward restore the list.
import type { LocationQuery, LocationQueryRaw } from 'vue-router';

export interface WorklogFilters {
  from: string;
  to: string;
  tag: string;
  project: string;
  q: string;
}

export const FILTER_KEYS = ['from', 'to', 'tag', 'project', 'q'] as const;

export function emptyFilters(): WorklogFilters {
  return { from: '', to: '', tag: '', project: '', q: '' };
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

function first(v: LocationQuery[string] | undefined): string {
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' ? s : '';
}

/** Reads filters from a route query; unknown keys and malformed dates are ignored. */
export function filtersFromQuery(query: LocationQuery): WorklogFilters {
  const f = emptyFilters();
  for (const k of FILTER_KEYS) f[k] = first(query[k]).trim();
  if (f.from && !DATE_RE.test(f.from)) f.from = '';
  if (f.to && !DATE_RE.test(f.to)) f.to = '';
  return f;
}

/** The route query for filters: empty values are left out (clean URLs). */
export function filtersToQuery(f: WorklogFilters): LocationQueryRaw {
  const q: LocationQueryRaw = {};
  for (const k of FILTER_KEYS) {
    const v = f[k].trim();
    if (v) q[k] = v;
  }
  return q;
}

/** The API query (GET /worklogs, /worklogs/export): only the set filters. */
export function filtersToApi(f: WorklogFilters): Partial<WorklogFilters> {
  return filtersToQuery(f) as Partial<WorklogFilters>;
}

export function sameFilters(a: WorklogFilters, b: WorklogFilters): boolean {
  return FILTER_KEYS.every((k) => a[k].trim() === b[k].trim());
}

export function hasFilters(f: WorklogFilters): boolean {
  return FILTER_KEYS.some((k) => f[k].trim() !== '');
}

/** A from/to pair the other way round is an error worth showing before asking the server. */
export function dateRangeError(f: WorklogFilters): string | null {
  return f.from && f.to && f.from > f.to ? 'The start date is after the end date.' : null;
}
