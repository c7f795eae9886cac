import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { effectScope, nextTick } from 'vue';
import JobProgress from '@/components/JobProgress.vue';
import { useJob } from '@/composables/useJob';
import { useAuthStore } from '@/stores/auth';
import { errorBody, json, mockFetch, token } from './helpers';

const job = (status: string, over: Record<string, unknown> = {}) => ({
  id: 'j1', tenant_id: 't1', kind: 'k', status, attempts: 1, max_attempts: 3, priority: 5, payload: {},
  created_at: 'x', updated_at: 'x', run_at: 'x', dead_letter: false, cancel_requested: false, steps: [],
  url: '/api/jobs/j1', events_url: '/api/jobs/j1/events', ...over,
});

let seq = 0;
/** One SSE message as the server writes it: `event:` = kind, `id:`, `data:` = EventOut JSON. */
function sse(kind: string, message = '', data: unknown = {}): string {
  const id = String(++seq).padStart(6, '0');
  const ev = { id, kind, job_id: 'j1', correlation_id: 'c1', message, data, created_at: '2024-03-01T00:00:00Z' };
  return `event: ${kind}\nid: ${id}\ndata: ${JSON.stringify(ev)}\n\n`;
}

/** A text/event-stream body the test writes to as it goes. */
function liveStream() {
  let ctrl!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => { ctrl = c; } });
  const enc = new TextEncoder();
  return {
    response: () => new Response(body, { headers: { 'Content-Type': 'text/event-stream' } }),
    send: (text: string) => ctrl.enqueue(enc.encode(text)),
    close: () => ctrl.close(),
    fail: () => ctrl.error(new TypeError('network error')),
  };
}

const sseResponse = (text: string) => new Response(text, { headers: { 'Content-Type': 'text/event-stream' } });

async function until(cond: () => boolean) {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  await nextTick();
  if (!cond()) throw new Error('timed out waiting for a condition');
}
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const path = (r: Request) => new URL(r.url).pathname;

describe('useJob', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.unstubAllGlobals();
  });

  it('fetches the job, then follows GET /jobs/{id}/events: message, percent, events, refetch on state changes', async () => {
    let current = job('running');
    const live = liveStream();
    const { calls } = mockFetch({
      'GET /api/jobs/j1': () => json(current),
      'GET /api/jobs/j1/events': () => live.response(),
    });
    useAuthStore().setToken(token(1) as never);
    const onFinished = vi.fn();
    const scope = effectScope();
    const j = scope.run(() => useJob({ id: 'j1' }, { refetchMs: 5, onFinished }))!;

    await until(() => j.status.value === 'running');
    expect(j.progress.value).toBeNull(); // nothing measured yet: indeterminate

    live.send(sse('job.started', 'started') + sse('job.progress', 'batch 2 of 5', { batch: 2, of: 5, percent: 40 }));
    await until(() => j.progress.value === 0.4);
    expect(j.percent.value).toBe(40);
    expect(j.message.value).toBe('batch 2 of 5');
    expect(j.events.value.map((e) => e.kind)).toEqual(['job.started', 'job.progress']);

    // A progress event without a percent keeps the last one; keep-alive comments are ignored.
    live.send(': keep-alive\n\n' + sse('job.progress', 'skills agent is writing: 120 tokens so far', { generated_tokens: 120 }));
    await until(() => j.message.value === 'skills agent is writing: 120 tokens so far');
    expect(j.progress.value).toBe(0.4);

    // A step event refetches the job (debounced) so `job` stays exact.
    current = job('running', { steps: [{ name: 'extract' }] });
    live.send(sse('job.step_finished', 'step extract finished'));
    await until(() => (j.job.value?.steps.length ?? 0) === 1);
    expect(j.message.value).toBe('step extract finished');

    current = job('succeeded', { result: { skills: 3 } });
    live.send(sse('job.succeeded', 'done'));
    live.close();
    await until(() => j.done.value);
    expect(j.progress.value).toBe(1);
    expect(j.failed.value).toBe(false);
    expect(onFinished).toHaveBeenCalledTimes(1);
    expect(onFinished.mock.calls[0]![0]).toMatchObject({ status: 'succeeded', result: { skills: 3 } });

    const stream = calls.filter((c) => path(c) === '/api/jobs/j1/events');
    expect(stream).toHaveLength(1);
    expect(stream[0]!.headers.get('Authorization')).toBe('Bearer tok-1');
    expect(stream[0]!.headers.get('Accept')).toBe('text/event-stream');
    expect(calls.some((c) => path(c).endsWith('/stream'))).toBe(false);
    scope.stop();
  });

  it('debounces refetches over a burst of replayed events, then polls when the stream ends early', async () => {
    const states = ['running', 'running', 'running', 'succeeded'];
    let gets = 0;
    const { calls } = mockFetch({
      'GET /api/jobs/j1': () => json(job(states[Math.min(gets++, states.length - 1)]!)),
      'GET /api/jobs/j1/events': () =>
        sseResponse(
          sse('job.queued') + sse('job.started') + sse('job.step_started', 'step a') + sse('job.step_finished', 'step a done') +
            sse('llm.call', 'chat') + sse('job.step_started', 'step b'),
        ),
    });
    const scope = effectScope();
    const j = scope.run(() => useJob('j1', { refetchMs: 200, pollMs: 1 }))!;
    await until(() => j.done.value);
    // initial + after the stream ended + polls; the burst's debounced refetch was folded into
    // the end-of-stream one (the stream ended within the debounce).
    expect(calls.filter((c) => path(c) === '/api/jobs/j1')).toHaveLength(4);
    expect(j.events.value).toHaveLength(6);
    expect(j.message.value).toBe('step b');
    scope.stop();
  });

  it('falls back to polling when the events endpoint answers 404', async () => {
    const { calls } = mockFetch({
      'GET /api/jobs/j1/events': () => errorBody('not_found', 'nope', 404),
      'GET /api/jobs/j1': [() => json(job('queued')), () => json(job('running')), () => json(job('failed', { error: 'boom' }))],
    });
    const scope = effectScope();
    const j = scope.run(() => useJob({ id: 'j1' }, { pollMs: 1 }))!;
    await until(() => j.finished.value);
    expect(j.status.value).toBe('failed');
    expect(j.failed.value).toBe(true);
    expect(j.job.value?.error).toBe('boom');
    expect(calls.filter((c) => path(c) === '/api/jobs/j1')).toHaveLength(3);
    scope.stop();
  });

  it('falls back to polling when the stream breaks', async () => {
    const live = liveStream();
    let current = job('running');
    mockFetch({
      'GET /api/jobs/j1': () => json(current),
      'GET /api/jobs/j1/events': () => live.response(),
    });
    const scope = effectScope();
    const j = scope.run(() => useJob('j1', { pollMs: 1 }))!;
    await until(() => j.status.value === 'running');
    live.send(sse('job.progress', 'half', { percent: 50 }));
    await until(() => j.percent.value === 50);
    current = job('cancelled');
    live.fail(); // the connection drops
    await until(() => j.finished.value);
    expect(j.status.value).toBe('cancelled');
    expect(j.error.value).toBeNull();
    scope.stop();
  });

  it('does not open the stream for a job that is already finished', async () => {
    const { calls } = mockFetch({ 'GET /api/jobs/j1': () => json(job('succeeded')) });
    const scope = effectScope();
    const j = scope.run(() => useJob('j1'))!;
    await until(() => j.done.value);
    await wait(20);
    expect(calls.map(path)).toEqual(['/api/jobs/j1']);
    scope.stop();
  });

  it('reports an error when the job cannot be loaded', async () => {
    mockFetch({ 'GET /api/jobs/j1': () => errorBody('not_found', 'no such job', 404) });
    const scope = effectScope();
    const j = scope.run(() => useJob('j1'))!;
    await until(() => j.finished.value);
    expect(j.failed.value).toBe(true);
    expect(j.error.value?.code).toBe('not_found');
    scope.stop();
  });

  it('aborts the stream and stops polling when the scope is disposed', async () => {
    const live = liveStream();
    const { calls } = mockFetch({
      'GET /api/jobs/j1': () => json(job('running')),
      'GET /api/jobs/j1/events': () => live.response(),
    });
    const scope = effectScope();
    const j = scope.run(() => useJob('j1', { pollMs: 1 }))!;
    await until(() => calls.some((c) => path(c) === '/api/jobs/j1/events'));
    const streamReq = calls.find((c) => path(c) === '/api/jobs/j1/events')!;
    expect(streamReq.signal.aborted).toBe(false);
    scope.stop();
    expect(streamReq.signal.aborted).toBe(true);
    const n = calls.length;
    live.close();
    await wait(30);
    expect(calls.length).toBe(n);
    expect(j.error.value).toBeNull();
  });

  it('keeps only the most recent events', async () => {
    const live = liveStream();
    mockFetch({ 'GET /api/jobs/j1': () => json(job('running')), 'GET /api/jobs/j1/events': () => live.response() });
    const scope = effectScope();
    const j = scope.run(() => useJob('j1', { maxEvents: 3 }))!;
    await until(() => j.status.value === 'running');
    live.send([1, 2, 3, 4, 5].map((i) => sse('llm.call', `call ${i}`)).join(''));
    await until(() => j.events.value.at(-1)?.message === 'call 5');
    expect(j.events.value.map((e) => e.message)).toEqual(['call 3', 'call 4', 'call 5']);
    scope.stop();
  });
});

describe('JobProgress', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.unstubAllGlobals();
  });

  it("says what the job does in the user's words, with a determinate bar once a percent is known", async () => {
    const live = liveStream();
    let current = job('running', { kind: 'skills.extract', started_at: new Date().toISOString() });
    mockFetch({ 'GET /api/jobs/j1': () => json(current), 'GET /api/jobs/j1/events': () => live.response() });
    const w = mount(JobProgress, { props: { job: 'j1', label: 'Extracting skills' } });
    await until(() => w.text().includes('Working…'));
    const bar = () => w.get('[role="progressbar"]');
    expect(bar().classes()).toContain('progress-indeterminate');
    expect(bar().attributes('aria-valuenow')).toBeUndefined();

    live.send(sse('job.step_started', 'extract started', { step: 'extract', index: 1, of: 2 }));
    await until(() => w.text().includes('Reading your entries'));
    expect(w.text()).not.toContain('extract started');
    expect(w.text()).toMatch(/0:0\d elapsed/);
    live.send(sse('job.progress', 'read batch 2 of 5', { batch: 2, of: 5, percent: 40 }));
    await until(() => w.text().includes('Reading your entries: part 2 of 5'));
    // The model's token count is not news to the user: the line stays.
    live.send(sse('job.progress', 'skills agent is writing: 120 tokens so far', { generated_tokens: 120 }));
    await new Promise((r) => setTimeout(r, 20));
    expect(w.text()).toContain('Reading your entries: part 2 of 5');
    expect(w.text()).not.toContain('tokens');
    expect(bar().classes()).not.toContain('progress-indeterminate');
    expect(bar().attributes('aria-valuenow')).toBe('40');
    expect(w.text()).toContain('Working… 40%');

    current = job('succeeded');
    live.send(sse('job.succeeded', 'done'));
    live.close();
    await until(() => w.emitted('finished') !== undefined);
    expect(w.text()).toContain('Done.');
    expect(w.text()).not.toContain('part 2 of 5');
    w.unmount();
  });

  it('a failure says what to do; the raw error is folded away under technical details', async () => {
    mockFetch({
      'GET /api/jobs/j1': () => json(job('failed', { kind: 'report.generate', error: 'step generate: the summary mentions 2022, 12, 31… 999999' })),
      'GET /api/jobs/j1/events': () => new Response('', { headers: { 'Content-Type': 'text/event-stream' } }),
    });
    const w = mount(JobProgress, { props: { job: 'j1' } });
    await until(() => w.emitted('failed') !== undefined);
    expect(w.get('.job-error').text()).toBe("It didn't work this time. Try again; if it fails again, tell your admin.");
    expect(w.get('details summary').text()).toBe('Technical details');
    expect(w.find('button').exists()).toBe(false);
    w.unmount();
  });
});
