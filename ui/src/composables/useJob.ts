// Follow a background job until it finishes.
//
//   const { job, status, progress, done, failed, error } = useJob(() => accepted.value?.id);
//
// Transport: GET /api/jobs/{id}/stream (SSE; each `data:` is a JSON JobOut, the stream
// ends once the job is terminal). If the stream endpoint answers 404, fails, or ends
// before a terminal state, it falls back to polling GET /api/jobs/{id} every second.
// Following stops when the job is terminal, the source changes, `stop()` is called,
// or the calling component/effect scope is disposed.
import { computed, getCurrentScope, onScopeDispose, ref, toValue, watch, type MaybeRefOrGetter } from 'vue';
import { api, apiUrl, authFetch } from '@/api/client';
import { apiError, unwrap, type ApiError } from '@/api/errors';
import type { JobOut, JobState } from '@/api/types';
import { readSse } from './sse';

export const TERMINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

export function isTerminal(status: JobState | null | undefined): boolean {
  return status != null && TERMINAL_STATES.includes(status);
}

/** A job id, or anything with one (JobAccepted, JobOut, ReportAccepted...). */
export type JobRef = string | { id: string } | null | undefined;

export interface UseJobOptions {
  /** Polling interval of the fallback, ms (default 1000). */
  pollMs?: number;
  /** Skip the stream and poll (tests, or endpoints known to lack it). */
  pollOnly?: boolean;
  /** Called once with the final job. */
  onFinished?: (job: JobOut) => void;
}

function idOf(ref: JobRef): string | null {
  if (!ref) return null;
  return typeof ref === 'string' ? ref : ref.id;
}

/** Is this SSE payload a JobOut (as opposed to an event record or keep-alive)? */
function asJob(v: unknown): JobOut | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  return typeof o.id === 'string' && typeof o.status === 'string' && Array.isArray(o.steps) ? (v as JobOut) : null;
}

/** A 0..1 progress value if the payload has one (`progress`, `percent`, or `done`/`total`). */
function progressOf(v: unknown): number | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.progress === 'number') return o.progress > 1 ? o.progress / 100 : o.progress;
  if (typeof o.percent === 'number') return o.percent / 100;
  if (typeof o.done === 'number' && typeof o.total === 'number' && o.total > 0) return o.done / o.total;
  return null;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });

export function useJob(source: MaybeRefOrGetter<JobRef>, options: UseJobOptions = {}) {
  const pollMs = options.pollMs ?? 1000;
  const job = ref<JobOut | null>(null);
  const error = ref<ApiError | null>(null);
  /** Explicit progress reported by the server, 0..1. */
  const reported = ref<number | null>(null);
  let controller: AbortController | null = null;

  const status = computed<JobState | null>(() => job.value?.status ?? null);
  const done = computed(() => status.value === 'succeeded');
  const failed = computed(() => status.value === 'failed' || status.value === 'cancelled' || error.value !== null);
  const finished = computed(() => isTerminal(status.value) || error.value !== null);
  /** 0..1, or null while running with nothing to measure (show an indeterminate bar). */
  const progress = computed<number | null>(() => {
    if (status.value === 'succeeded') return 1;
    if (status.value === 'queued') return 0;
    return reported.value;
  });

  function accept(j: JobOut): boolean {
    job.value = j;
    const p = progressOf(j);
    if (p !== null) reported.value = p;
    if (isTerminal(j.status)) {
      options.onFinished?.(j);
      return true;
    }
    return false;
  }

  /** true when the stream delivered a terminal job. */
  async function stream(id: string, signal: AbortSignal): Promise<boolean> {
    const res = await authFetch(
      new Request(apiUrl(`/jobs/${encodeURIComponent(id)}/stream`), {
        headers: { Accept: 'text/event-stream' },
        signal,
      }),
    );
    if (!res.ok || !res.body || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
      await res.body?.cancel().catch(() => {});
      return false;
    }
    for await (const ev of readSse(res.body, signal)) {
      let payload: unknown;
      try {
        payload = JSON.parse(ev.data);
      } catch {
        continue;
      }
      const j = asJob(payload);
      if (j) {
        if (accept(j)) return true;
      } else {
        const p = progressOf((payload as { data?: unknown } | null)?.data ?? payload);
        if (p !== null) reported.value = p;
      }
    }
    return false;
  }

  async function poll(id: string, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const j = unwrap(await api.GET('/jobs/{id}', { params: { path: { id } }, signal }));
      if (signal.aborted || accept(j)) return;
      await sleep(pollMs, signal);
    }
  }

  async function follow(id: string): Promise<void> {
    stop();
    const ctl = new AbortController();
    controller = ctl;
    job.value = null;
    error.value = null;
    reported.value = null;
    try {
      let finishedByStream = false;
      if (!options.pollOnly) {
        finishedByStream = await stream(id, ctl.signal).catch((e: unknown) => {
          if (ctl.signal.aborted) throw e;
          return false; // stream unavailable or broken: poll instead
        });
      }
      if (!finishedByStream && !ctl.signal.aborted) await poll(id, ctl.signal);
    } catch (e) {
      if (!ctl.signal.aborted) error.value = apiError(e);
    }
  }

  function stop(): void {
    controller?.abort();
    controller = null;
  }

  watch(
    () => idOf(toValue(source)),
    (id) => {
      if (id) void follow(id);
      else stop();
    },
    { immediate: true },
  );
  if (getCurrentScope()) onScopeDispose(stop);

  return { job, status, progress, done, failed, finished, error, stop };
}
