import { describe, expect, it } from 'vitest';
import { activityText, clock, currentActivity, failureText, typicalSeconds } from '@/components/jobText';

const ev = (kind: string, data: Record<string, unknown> = {}) => ({ kind, data });

describe('job progress in the user\'s words', () => {
  it('names each AI step, never the step or job kind', () => {
    expect(activityText('report.generate', ev('job.step_started', { step: 'collect' }))).toBe("Gathering the period's entries");
    expect(activityText('report.generate', ev('job.step_started', { step: 'check_citations' }))).toBe('Checking citations');
    expect(activityText('resume.refresh', ev('job.step_started', { step: 'generate' }))).toBe('Writing your resume');
    expect(activityText('skills.extract', ev('job.step_started', { step: 'merge' }))).toBe('Adding what was found to your skills');
    expect(activityText('some.new_kind', ev('job.step_started', { step: 'frobnicate' }))).toBe('Working');
  });

  it('a retry is "Trying again"; a first start is "Starting"', () => {
    expect(activityText('k', ev('job.started', { attempt: 2 }))).toBe('Trying again');
    expect(activityText('k', ev('job.started', { attempt: 1 }))).toBe('Starting');
    expect(activityText('k', ev('job.retried'))).toBe('Trying again');
    expect(activityText('k', ev('job.step_failed', { retryable: true }))).toBe("That didn't work; trying again");
    expect(activityText('k', ev('job.step_failed', { retryable: false }))).toBeNull();
  });

  it('batches are parts; token counts and LLM calls change nothing', () => {
    expect(activityText('skills.extract', ev('job.progress', { batch: 2, of: 9 }))).toBe('Reading your entries: part 2 of 9');
    expect(activityText('skills.extract', ev('job.progress', { batch: 3, of: 9, skipped: true }))).toContain('left out');
    expect(activityText('k', ev('job.progress', { generated_tokens: 120 }))).toBeNull();
    expect(activityText('k', ev('llm.call'))).toBeNull();
    expect(
      currentActivity('report.generate', [
        ev('job.step_started', { step: 'generate' }),
        ev('job.progress', { generated_tokens: 40 }),
        ev('llm.call'),
      ]),
    ).toBe('Writing the report');
    expect(currentActivity('k', [])).toBeNull();
  });

  it('failures say what the user can do', () => {
    expect(failureText({ status: 'failed', error: 'LLM token quota exceeded for this month' })).toContain('AI allowance');
    expect(failureText({ status: 'failed', error: 'no entries in the period' })).toContain('Log a few entries');
    expect(failureText({ status: 'failed', error: 'llm unavailable: connect refused' })).toContain('Try again in a minute');
    expect(failureText({ status: 'failed', error: 'the summary mentions 2022, 12, 31… 999999' })).toBe(
      "It didn't work this time. Try again; if it fails again, tell your admin.",
    );
    expect(failureText({ status: 'cancelled', error: null })).toContain('Cancelled');
  });

  it('times: m:ss, and the median of finished runs', () => {
    expect(clock(7)).toBe('0:07');
    expect(clock(125.4)).toBe('2:05');
    const run = (s: number) => ({ started_at: '2026-01-01T00:00:00Z', finished_at: new Date(Date.parse('2026-01-01T00:00:00Z') + s * 1000).toISOString() });
    expect(typicalSeconds([run(10), run(30), run(20)])).toBe(20);
    expect(typicalSeconds([run(10), run(20)])).toBe(15);
    expect(typicalSeconds([{ started_at: null, finished_at: null }])).toBeNull();
  });
});
