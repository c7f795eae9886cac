// Import format guessing from a file name (and, failing that, from the text itself).
import type { Schemas } from '@/api/types';

export type FileFormat = Schemas['FileFormat'];

export const FORMATS: { value: FileFormat; label: string; ext: string; mime: string }[] = [
  { value: 'json', label: 'JSON', ext: 'json', mime: 'application/json' },
  { value: 'csv', label: 'CSV', ext: 'csv', mime: 'text/csv' },
  { value: 'markdown', label: 'Markdown', ext: 'md', mime: 'text/markdown' },
];

const BY_EXT: Record<string, FileFormat> = {
  json: 'json',
  csv: 'csv',
  tsv: 'csv',
  md: 'markdown',
  markdown: 'markdown',
  mdown: 'markdown',
  mkd: 'markdown',
};

/** `log.CSV` -> 'csv'; null when the extension says nothing. */
export function guessFormatFromName(name: string | null | undefined): FileFormat | null {
  if (!name) return null;
  const m = /\.([a-z0-9]+)$/i.exec(name.trim());
  return m ? (BY_EXT[m[1]!.toLowerCase()] ?? null) : null;
}

/** Looks at pasted text: JSON starts with `[`/`{`; Markdown has a heading; CSV has a header with commas. */
export function guessFormatFromText(text: string): FileFormat | null {
  const t = text.replace(/^\uFEFF/, '').trimStart();
  if (!t) return null;
  if (t.startsWith('[') || t.startsWith('{')) return 'json';
  if (/^#{1,6}\s/m.test(t)) return 'markdown';
  const firstLine = t.split(/\r?\n/, 1)[0] ?? '';
  if (/(^|[,;\t])\s*"?content"?\s*([,;\t]|$)/i.test(firstLine)) return 'csv';
  return null;
}

export function guessFormat(name: string | null | undefined, text?: string): FileFormat | null {
  return guessFormatFromName(name) ?? (text !== undefined ? guessFormatFromText(text) : null);
}
