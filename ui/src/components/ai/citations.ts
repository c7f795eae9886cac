// Report citations. A report's Markdown cites entries as reference links `[1]`, whose
// definitions point at the Sources list: `[1]: #sources "Title (2025-01-06)"`. The
// report's `citations` (number, entry id, title, date, exists) carry the marker number
// they belong to; reports written before citations were numbered stored them by id, so
// a marker is matched by number and label together, then by label (`<title> (<date>)`,
// as the server writes it), then by number alone. `linkCitations` rewrites the definitions to point at `/worklogs/<id>`
// (router links, see CitedMarkdown.vue) and drops the Markdown "Sources" section, which
// the page renders itself as a linked list.
import type { Schemas } from '@/api/types';

export type Citation = Schemas['Citation'];

export interface NumberedCitation {
  /** The marker number, `[n]`. */
  n: number;
  /** The label the report shows for it. */
  label: string;
  /** The matching entry, or null when it could not be identified. */
  citation: Citation | null;
}

const DEF_RE = /^\[(\d+)\]:[ \t]*#sources[ \t]+"((?:[^"\\]|\\.)*)"[ \t]*$/gm;

function squash(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** The label the server gives a cited entry. */
export function citationLabel(c: Citation): string {
  if (!c.exists || !c.title) return `entry ${c.entry_id} (no longer available)`;
  return c.date ? `${squash(c.title)} (${c.date})` : squash(c.title);
}

/** Parses the reference definitions of a report and matches them with its citations. */
export function numberCitations(markdown: string, citations: readonly Citation[] | null | undefined): NumberedCitation[] {
  const pool = [...(citations ?? [])];
  const out: NumberedCitation[] = [];
  for (const m of markdown.matchAll(DEF_RE)) {
    const n = Number(m[1]);
    const label = (m[2] ?? '').replace(/\\(["\\])/g, '$1');
    let i = pool.findIndex((c) => c.number === n && citationLabel(c) === label);
    if (i < 0) i = pool.findIndex((c) => citationLabel(c) === label);
    if (i < 0) i = pool.findIndex((c) => c.number === n);
    if (i < 0) i = pool.findIndex((c) => label.includes(c.entry_id));
    const citation = i >= 0 ? (pool.splice(i, 1)[0] ?? null) : null;
    out.push({ n, label, citation });
  }
  return out.sort((a, b) => a.n - b.n);
}

/** Citations that no marker refers to (shown after the numbered ones). */
export function unnumberedCitations(numbered: readonly NumberedCitation[], citations: readonly Citation[] | null | undefined): Citation[] {
  const used = new Set(numbered.map((x) => x.citation?.entry_id).filter(Boolean));
  return (citations ?? []).filter((c) => !used.has(c.entry_id));
}

/** The SPA route of a work-log entry. */
export function entryPath(entryId: string): string {
  return `/worklogs/${encodeURIComponent(entryId)}`;
}

/** In-page anchor of citation `n` in the rendered list. */
export function citeAnchor(n: number): string {
  return `cite-${n}`;
}

/**
 * Rewrites the definitions of `markdown` so `[n]` links to the cited entry (or to the
 * in-page list item when the entry is unknown or deleted), and removes the "Sources"
 * section. Without definitions the Markdown is returned unchanged.
 */
export function linkCitations(markdown: string, numbered: readonly NumberedCitation[]): string {
  if (!numbered.length) return markdown;
  const byN = new Map(numbered.map((x) => [x.n, x]));
  let out = markdown.replace(DEF_RE, (whole, num: string, rawLabel: string) => {
    const x = byN.get(Number(num));
    if (!x) return whole;
    const target = x.citation?.exists ? entryPath(x.citation.entry_id) : `#${citeAnchor(x.n)}`;
    return `[${num}]: ${target} "${rawLabel}"`;
  });
  // Drop "## Sources" up to the first definition (or the next heading / end).
  out = out.replace(/^#{1,6}[ \t]+Sources[ \t]*\n[\s\S]*?(?=^\[\d+\]:|^#{1,6}[ \t]|(?![\s\S]))/m, '');
  return out;
}

/** What a click on a link inside rendered Markdown should do. */
export type LinkAction = { kind: 'route'; to: string } | { kind: 'anchor'; id: string } | { kind: 'default' };

export function linkAction(href: string | null | undefined): LinkAction {
  if (!href) return { kind: 'default' };
  if (href.startsWith('#') && href.length > 1) return { kind: 'anchor', id: decodeURIComponent(href.slice(1)) };
  if (href.startsWith('/') && !href.startsWith('//') && !href.startsWith('/api/')) return { kind: 'route', to: href };
  return { kind: 'default' };
}
