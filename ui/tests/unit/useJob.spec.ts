import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { effectScope, nextTick } from 'vue';
import { useJob } from '@/composables/useJob';
import { errorBody, json, mockFetch } from './helpers';

const job = (status: string, over: Record<string, unknown> = {}) => ({
  id: 'j1', tenant_id: 't1', kind: 'k', status, attempts: 1, max_attempts: 3, priority: 5, payload: {},
  created_at: 'x', updated_at: 'x', run_at: 'x', dead_letter: false, cancel_requested: false, steps: [],
  url: '/api/jobs/j1', events_url: '/api/jobs/j1/events', ...over,
});

async function until(cond: () => boolean) {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  await nextTick();
}

describe('useJob', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.unstubAllGlobals();
  });

  it('follows the SSE stream to a terminal state', async () => {
    const body = `data: ${JSON.stringify(job('running'))}\n\n: ping\n\ndata: ${JSON.stringify(job('succeeded'))}\n\n`;
    mockFetch({
      'GET /api/jobs/j1/stream': () => new Response(body, { headers: { 'Content-Type': 'text/event-stream' } }),
    });
    const scope = effectScope();
    const j = scope.run(() => useJob('j1'))!;
    await until(() => j.done.value);
    expect(j.status.value).toBe('succeeded');
    expect(j.progress.value).toBe(1);
    expect(j.failed.value).toBe(false);
    scope.stop();
  });

  it('falls back to polling when the stream endpoint is missing', async () => {
    const { calls } = mockFetch({
      'GET /api/jobs/j1/stream': () => errorBody('not_found', 'nope', 404),
      'GET /api/jobs/j1': [() => json(job('running')), () => json(job('failed', { error: 'boom' }))],
    });
    const scope = effectScope();
    const j = scope.run(() => useJob({ id: 'j1' }, { pollMs: 1 }))!;
    await until(() => j.finished.value);
    expect(j.status.value).toBe('failed');
    expect(j.failed.value).toBe(true);
    expect(j.job.value?.error).toBe('boom');
    expect(calls.filter((c) => new URL(c.url).pathname === '/api/jobs/j1')).toHaveLength(2);
    scope.stop();
  });
});
