// Retry a failed/cancelled job as staff and follow it (polling GET /system/jobs/{id},
// which works across tenants) until it settles, reporting each new state.
import { onBeforeUnmount } from 'vue';
import { api } from '@/api/client';
import { unwrap } from '@/api/errors';
import type { JobOut } from '@/api/types';
import { isTerminal } from './admin';

export function useJobRetry(onUpdate: (job: JobOut) => void, intervalMs = 1000, maxPolls = 120) {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let alive = true;
  onBeforeUnmount(() => {
    alive = false;
    timers.forEach(clearTimeout);
  });

  function follow(id: string, left = maxPolls) {
    if (!alive || left <= 0) return;
    const t = setTimeout(async () => {
      timers.delete(t);
      try {
        const job = unwrap(await api.GET('/system/jobs/{id}', { params: { path: { id } } }));
        if (!alive) return;
        onUpdate(job);
        if (!isTerminal(job.status)) follow(id, left - 1);
      } catch {
        follow(id, left - 1);
      }
    }, intervalMs);
    timers.add(t);
  }

  /** POST retry; resolves with the re-queued job (throws ApiRequestError). */
  async function retry(id: string): Promise<JobOut> {
    const job = unwrap(await api.POST('/system/jobs/{id}/retry', { params: { path: { id } } }));
    onUpdate(job);
    if (!isTerminal(job.status)) follow(id);
    return job;
  }

  return { retry, follow };
}
