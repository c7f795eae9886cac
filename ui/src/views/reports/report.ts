// Report list/detail helpers.
import type { Schemas } from '@/api/types';
import { REPORT_KINDS } from '@/components/ai/period';
import { formatDay as formatDate } from '@/components/ai/period';

export type ReportOut = Schemas['ReportOut'];
export type ReportFormat = Schemas['ReportFormat'];

export const REPORT_FORMAT_LABELS: Record<ReportFormat, string> = { md: 'Markdown', html: 'HTML', pdf: 'PDF' };

export const REPORT_STATUS_TEXT: Record<string, string> = { pending: 'Writing…', ready: 'Ready', failed: 'Failed' };

export function kindLabel(kind: string): string {
  return (REPORT_KINDS as Record<string, { label: string }>)[kind]?.label ?? kind;
}

export function periodText(r: Pick<ReportOut, 'from' | 'to'>): string {
  return r.from === r.to ? formatDate(r.from) : `${formatDate(r.from)} – ${formatDate(r.to)}`;
}

export function reportTitle(r: ReportOut): string {
  return r.title || `${kindLabel(r.kind)} report, ${periodText(r)}`;
}

/** Drops a leading `# <title>` line (the page shows the title itself). */
export function stripTitle(markdown: string, title?: string | null): string {
  const m = /^\s*#[ \t]+(.+?)[ \t]*#*[ \t]*(?:\r?\n|$)/.exec(markdown);
  if (!m) return markdown;
  if (title && (m[1] ?? '').replace(/\\(.)/g, '$1').trim() !== title.trim()) return markdown;
  return markdown.slice(m[0].length).replace(/^\s*\n/, '');
}
