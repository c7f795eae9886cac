// Entry form model and client-side validation, mirroring the server's limits
// (platform/src/worklog/entry.rs). Lengths count characters (code points), like the server.
import type { Schemas } from '@/api/types';
import { formatDate } from '@/utils/format';
import { normaliseTags } from './tags';

export const CONTENT_MAX_CHARS = 20_000;
export const TITLE_MAX_CHARS = 200;
export const OUTCOME_MAX_CHARS = 5_000;
export const PROJECT_MAX_CHARS = 100;

export type Entry = Schemas['Entry'];

export interface EntryForm {
  date: string;
  title: string;
  content: string;
  tags: string[];
  outcome: string;
  project: string;
}

export type EntryErrors = Partial<Record<keyof EntryForm, string>>;

export const chars = (s: string) => [...s].length;

/** Today's calendar day (YYYY-MM-DD) in an IANA time zone (falls back to the browser's). */
export function todayIn(timeZone: string | null | undefined, now = new Date()): string {
  const fmt = (tz?: string) => {
    const parts = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(now);
    const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
    return `${get('year')}-${get('month')}-${get('day')}`;
  };
  try {
    return fmt(timeZone || undefined);
  } catch {
    return fmt(undefined);
  }
}

/** Adds days to a YYYY-MM-DD day. */
export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

export function emptyForm(today: string): EntryForm {
  return { date: today, title: '', content: '', tags: [], outcome: '', project: '' };
}

export function formFromEntry(e: Entry): EntryForm {
  return {
    date: e.date,
    title: e.title,
    content: e.content,
    tags: [...e.tags],
    outcome: e.outcome ?? '',
    project: e.project ?? '',
  };
}

/** Field errors the server would answer with; empty object = valid. `today` enables the "at most a day ahead" check. */
export function validateEntry(f: EntryForm, today?: string): EntryErrors {
  const errors: EntryErrors = {};
  if (!/^\d{4}-\d{2}-\d{2}$/.test(f.date) || Number.isNaN(Date.parse(`${f.date}T00:00:00Z`))) {
    errors.date = 'Give a date as YYYY-MM-DD.';
  } else if (f.date < '1970-01-01') {
    errors.date = 'The date is too far in the past.';
  } else if (today && f.date > addDays(today, 1)) {
    errors.date = 'The date can be at most one day ahead.';
  }
  const content = f.content.trim();
  if (!content) errors.content = 'Write what you did.';
  else if (chars(content) > CONTENT_MAX_CHARS) {
    errors.content = `The content is ${chars(content).toLocaleString()} characters long; the limit is ${CONTENT_MAX_CHARS.toLocaleString()}.`;
  }
  const title = f.title.trim();
  if (/[\n\r]/.test(title)) errors.title = 'The title must be a single line.';
  else if (chars(title) > TITLE_MAX_CHARS) errors.title = `The title can be at most ${TITLE_MAX_CHARS} characters.`;
  if (chars(f.outcome.trim()) > OUTCOME_MAX_CHARS) errors.outcome = `The outcome can be at most ${OUTCOME_MAX_CHARS.toLocaleString()} characters.`;
  const project = f.project.trim();
  if (/[\n\r]/.test(project)) errors.project = 'The project must be a single line.';
  else if (chars(project) > PROJECT_MAX_CHARS) errors.project = `The project name can be at most ${PROJECT_MAX_CHARS} characters.`;
  const tags = normaliseTags(f.tags);
  if (tags.errors.length) errors.tags = tags.errors.join(' ');
  return errors;
}

/** The POST body. Empty optional fields are left out (server defaults apply). */
export function createBody(f: EntryForm): Schemas['CreateEntry'] {
  const body: Schemas['CreateEntry'] = { date: f.date, content: f.content, tags: normaliseTags(f.tags).tags };
  if (f.title.trim()) body.title = f.title.trim();
  if (f.outcome.trim()) body.outcome = f.outcome;
  if (f.project.trim()) body.project = f.project.trim();
  return body;
}

/** The PATCH body: only changed fields, plus `version`. An empty string clears title/outcome/project. */
export function patchBody(f: EntryForm, original: Entry): Schemas['UpdateEntry'] {
  const body: Schemas['UpdateEntry'] = { version: original.version };
  const o = formFromEntry(original);
  if (f.date !== o.date) body.date = f.date;
  if (f.title.trim() !== o.title) body.title = f.title.trim();
  if (f.content !== o.content) body.content = f.content;
  const tags = normaliseTags(f.tags).tags;
  if (tags.join('\u0000') !== o.tags.join('\u0000')) body.tags = tags;
  if (f.outcome !== o.outcome) body.outcome = f.outcome;
  if (f.project.trim() !== o.project) body.project = f.project.trim();
  return body;
}

export function isDirty(f: EntryForm, original: Entry | null, blank: EntryForm): boolean {
  const base = original ? formFromEntry(original) : blank;
  return JSON.stringify(f) !== JSON.stringify(base);
}

/** A calendar day (`YYYY-MM-DD`) for display, `dateStyle: 'medium'` by default (see `formatDate`). */
export function formatDay(day: string | null | undefined, opts: Intl.DateTimeFormatOptions = { dateStyle: 'medium' }): string {
  return formatDate(day, opts);
}
