// Skill helpers: labels, confidence, the result of an extraction job.
import type { Schemas } from '@/api/types';

export type SkillOut = Schemas['SkillOut'];
export type SkillStatus = Schemas['SkillStatus'];
export type SkillSort = Schemas['SkillSortParam'];

export const SKILL_STATUS_TEXT: Record<SkillStatus, string> = {
  suggested: 'Suggested',
  confirmed: 'Confirmed',
  rejected: 'Rejected',
};

export const SKILL_SORT_TEXT: Record<SkillSort, string> = {
  evidence: 'Most evidence',
  confidence: 'Highest confidence',
  name: 'Name (A–Z)',
};

export function statusText(status: string): string {
  return (SKILL_STATUS_TEXT as Record<string, string>)[status] ?? status;
}

/** `architecture` -> `Architecture`, `cloud_devops` -> `Cloud devops`. */
export function categoryText(category: string | null | undefined): string {
  if (!category) return 'Uncategorised';
  const s = category.replace(/[_-]+/g, ' ').trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function confidenceText(c: number | null | undefined): string {
  if (c == null || Number.isNaN(c)) return '—';
  return `${Math.round(Math.min(1, Math.max(0, c)) * 100)}%`;
}

/** Human summary of a `skills.extract` job result (`{skills_found, created, updated, evidence}`). */
export function extractionSummary(result: unknown): string {
  const r = (typeof result === 'object' && result !== null ? result : {}) as Record<string, unknown>;
  const num = (k: string) => (typeof r[k] === 'number' ? (r[k] as number) : null);
  const found = num('skills_found');
  if (found === null) return 'Extraction finished.';
  if (found === 0) return 'No skills found in that period.';
  const parts = [`Found ${found} skill${found === 1 ? '' : 's'}`];
  const created = num('created');
  const updated = num('updated');
  const detail = [created ? `${created} new` : null, updated ? `${updated} updated` : null].filter(Boolean);
  if (detail.length) parts.push(`(${detail.join(', ')})`);
  const evidence = num('evidence');
  if (evidence) parts.push(`with ${evidence} piece${evidence === 1 ? '' : 's'} of evidence`);
  return `${parts.join(' ')}.`;
}

/** Validates a skill name (UpdateSkill.name: 1–100 characters). */
export function validateSkillName(name: string): string | null {
  const n = name.trim();
  if (!n) return 'Enter a name.';
  if (n.length > 100) return 'At most 100 characters.';
  return null;
}

/** Validates a category (UpdateSkill.category: 1–60 characters). */
export function validateCategory(category: string): string | null {
  const c = category.trim();
  if (!c) return 'Enter a category.';
  if (c.length > 60) return 'At most 60 characters.';
  return null;
}
