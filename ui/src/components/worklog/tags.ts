// Tag normalisation, mirroring the server (platform/src/worklog/tags.rs) so the editor
// shows what will be stored and flags what the server would refuse:
// trim, strip leading '#', lower-case, inner whitespace runs -> '-', drop empties,
// ASCII limited to a-z 0-9 - _ . + # (not leading), ≤ 40 characters, ≤ 20 distinct tags.

export const MAX_TAGS = 20;
export const TAG_MAX_CHARS = 40;

export type TagResult = { ok: true; tag: string | null } | { ok: false; error: string };

/** Invisible formatting characters the server refuses in tags. */
const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180E\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFEFF\uFFA0]/u;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/u;

function isTagChar(c: string): boolean {
  if (c.length === 1 && c.charCodeAt(0) < 128) return /[a-z0-9\-_.+#]/.test(c);
  return !/\s/u.test(c) && !CONTROL.test(c) && !INVISIBLE.test(c);
}

function describe(c: string): string {
  if (c === ' ') return 'a space';
  if (/\s/u.test(c) || CONTROL.test(c) || INVISIBLE.test(c)) {
    return `an invisible character (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
  }
  return `"${c}"`;
}

/** Normalises one raw tag: `{ok, tag: null}` means it was empty and is dropped. */
export function normaliseTag(raw: string): TagResult {
  const stripped = raw.replace(/^[#\s]+/u, '').replace(/\s+$/u, '');
  if (!stripped) return { ok: true, tag: null };
  const tag = stripped.toLowerCase().replace(/\s+/gu, '-');
  const bad = [...tag].find((c) => !isTagChar(c));
  if (bad !== undefined) {
    return {
      ok: false,
      error: `Tag "${tag}" contains ${describe(bad)}, which isn't allowed; tags may use letters, digits, '-', '_', '.', '+' and '#'.`,
    };
  }
  const len = [...tag].length;
  if (len > TAG_MAX_CHARS) {
    return { ok: false, error: `Tag "${[...tag].slice(0, 20).join('')}…" is ${len} characters long; the limit is ${TAG_MAX_CHARS}.` };
  }
  return { ok: true, tag };
}

/** Normalises and de-duplicates (first seen kept) a list; collects every error. */
export function normaliseTags(raw: readonly string[]): { tags: string[]; errors: string[] } {
  const tags: string[] = [];
  const errors: string[] = [];
  for (const r of raw) {
    const res = normaliseTag(r);
    if (!res.ok) errors.push(res.error);
    else if (res.tag !== null && !tags.includes(res.tag)) tags.push(res.tag);
  }
  if (tags.length > MAX_TAGS) {
    errors.push(`An entry can have at most ${MAX_TAGS} tags; this one has ${tags.length}.`);
  }
  return { tags, errors };
}

/** Splits typed/pasted text into raw tags on commas and semicolons (as the server's import does). */
export function splitTagInput(text: string): string[] {
  return text
    .split(/[;,]/)
    .map((t) => t.trim())
    .filter(Boolean);
}
