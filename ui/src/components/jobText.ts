// What a background job is doing, in the user's words: the progress line under a job's
// bar is made from its events here, never from job kinds, step names, token counts or
// raw errors (those stay on the staff timeline).
import type { EventOut, JobOut } from '@/api/types';

/** Each AI workflow's steps, as the user would say them. */
const STEPS: Record<string, Record<string, string>> = {
  'worklog.analyze': { analyze: 'Reading the entry', store: 'Saving what was found' },
  'skills.extract': { extract: 'Reading your entries', merge: 'Adding what was found to your skills' },
  'report.generate': {
    collect: "Gathering the period's entries",
    generate: 'Writing the report',
    check_citations: 'Checking citations',
    render: 'Formatting the report',
  },
  'resume.refresh': { generate: 'Writing your resume', store: 'Saving your resume' },
};

type Data = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The activity one event announces, or null when it changes nothing the user sees. */
export function activityText(jobKind: string, e: Pick<EventOut, 'kind' | 'data'>): string | null {
  const d = (e.data && typeof e.data === 'object' ? e.data : {}) as Data;
  switch (e.kind) {
    case 'job.queued':
      return 'Waiting for a free worker';
    case 'job.started':
      return (num(d.attempt) ?? 1) > 1 ? 'Trying again' : 'Starting';
    case 'job.retried':
      return 'Trying again';
    case 'job.step_started':
    case 'job.step_skipped':
      return STEPS[jobKind]?.[String(d.step ?? '')] ?? 'Working';
    case 'job.step_failed':
      return d.retryable === true ? "That didn't work; trying again" : null;
    case 'job.progress': {
      const [part, of] = [num(d.batch), num(d.of)];
      if (part !== null && of !== null) {
        return d.skipped === true
          ? `Reading your entries: part ${part} of ${of} (one part could not be read and was left out)`
          : `Reading your entries: part ${part} of ${of}`;
      }
      // The model's own progress (text streaming in): the step's line already says it.
      return null;
    }
    default:
      return null;
  }
}

/** The latest activity of `events` (oldest first), or null. */
export function currentActivity(jobKind: string, events: readonly Pick<EventOut, 'kind' | 'data'>[]): string | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const t = activityText(jobKind, events[i]!);
    if (t) return t;
  }
  return null;
}

/** What a failed job means for the user and what they can do about it. */
export function failureText(job: Pick<JobOut, 'error' | 'status'> | null): string {
  if (job?.status === 'cancelled') return 'Cancelled. Start it again whenever you like.';
  const e = (job?.error ?? '').toLowerCase();
  if (/quota|allowance|tokens per month|limit/.test(e)) {
    return "Your workspace has used this month's AI allowance. An owner or admin can raise it; otherwise it renews next month.";
  }
  if (/no entries|nothing to|no confirmed|empty/.test(e)) {
    return 'There is not enough in your work log for this yet. Log a few entries (or pick a longer period) and try again.';
  }
  if (/unavailable|timed out|timeout|connect|stream broke/.test(e)) {
    return "The writing service didn't answer. Try again in a minute; if it keeps happening, tell your admin.";
  }
  return "It didn't work this time. Try again; if it fails again, tell your admin.";
}

/** `m:ss` of a duration in seconds. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The median run time (seconds) of finished jobs, or null with fewer than one. */
export function typicalSeconds(jobs: readonly Pick<JobOut, 'started_at' | 'finished_at'>[]): number | null {
  const secs = jobs
    .map((j) => (j.started_at && j.finished_at ? (Date.parse(j.finished_at) - Date.parse(j.started_at)) / 1000 : NaN))
    .filter((s) => Number.isFinite(s) && s >= 0)
    .sort((a, b) => a - b);
  if (!secs.length) return null;
  const mid = Math.floor(secs.length / 2);
  return secs.length % 2 ? secs[mid]! : (secs[mid - 1]! + secs[mid]!) / 2;
}
