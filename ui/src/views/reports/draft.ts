// Correcting a report's draft: the editable form of its sections and bullets, the body
// of PUT /reports/{id}/draft, and a line diff to compare two versions.
import type { Schemas } from '@/api/types';

export type DraftOut = Schemas['DraftOut'];
export type Author = Schemas['Author'];

export interface BulletForm {
  /** Stable key for the list (bullets move and disappear). */
  key: number;
  text: string;
  citations: string[];
  /** Who wrote the text as saved; a changed text is the user's. */
  by: Author;
  /** The text as saved, to tell an edited bullet. */
  saved: string;
}

export interface SectionForm {
  key: number;
  heading: string;
  bullets: BulletForm[];
}

export interface DraftForm {
  title: string;
  sections: SectionForm[];
}

let nextKey = 1;
const key = () => nextKey++;

export function toForm(d: DraftOut): DraftForm {
  return {
    title: d.title,
    sections: d.sections.map((s) => ({
      key: key(),
      heading: s.heading,
      bullets: s.bullets.map((b) => ({ key: key(), text: b.text, citations: [...b.citations], by: b.by, saved: b.text })),
    })),
  };
}

export function newBullet(): BulletForm {
  return { key: key(), text: '', citations: [], by: 'user', saved: '' };
}

/** Who wrote the bullet's text as it reads now. */
export function authorOf(b: BulletForm): Author {
  return b.text.trim() === b.saved.trim() ? b.by : 'user';
}

export function editBody(form: DraftForm, version: number): Schemas['EditReport'] {
  return {
    version,
    title: form.title,
    sections: form.sections.map((s) => ({
      heading: s.heading,
      bullets: s.bullets.map((b) => ({ text: b.text, citations: b.citations })),
    })),
  };
}

export interface DiffLine {
  op: 'same' | 'added' | 'removed';
  text: string;
}

/** Line diff of `before` → `after` (longest common subsequence; fine for report sizes). */
export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: 'same', text: a[i]! });
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) {
      out.push({ op: 'removed', text: a[i++]! });
    } else {
      out.push({ op: 'added', text: b[j++]! });
    }
  }
  while (i < n) out.push({ op: 'removed', text: a[i++]! });
  while (j < m) out.push({ op: 'added', text: b[j++]! });
  return out;
}
