// The first-run checklist: the steps, in order, from GET /me/onboarding.
import type { Schemas } from '@/api/types';

export type Onboarding = Schemas['Onboarding'];

export interface FirstStep {
  key: string;
  label: string;
  hint: string;
  to: string;
  done: boolean;
}

/** The steps that apply to this user (inviting only for those who may invite). */
export function firstSteps(o: Onboarding, latestEntryId?: string): FirstStep[] {
  const entry = latestEntryId ? `/worklogs/${latestEntryId}` : '/worklogs/new';
  const steps: FirstStep[] = [
    { key: 'entry', label: 'Log your first entry', hint: 'A few lines about something you did today.', to: '/worklogs/new', done: o.first_entry },
    { key: 'outcome', label: 'Add an outcome', hint: 'What changed because of it? Outcomes make reports and resumes stronger.', to: entry, done: o.outcome },
    { key: 'evidence', label: 'Attach evidence', hint: 'A screenshot, a document or numbers, on an entry.', to: entry, done: o.evidence },
  ];
  if (o.invited !== null && o.invited !== undefined) {
    steps.push({ key: 'invite', label: 'Invite a teammate', hint: 'Log work together in this workspace.', to: '/tenant', done: o.invited });
  }
  steps.push({ key: 'report', label: 'Generate your first report', hint: 'A status report written from your entries, with citations.', to: '/reports', done: o.first_report });
  return steps;
}

/** Whether the browser's zone differs from the profile's and the user hasn't answered for it. */
export function zoneToConfirm(browser: string | null, profile: string | undefined, answered: string | null): string | null {
  if (!browser || !profile || browser === profile || answered === browser) return null;
  return browser;
}
