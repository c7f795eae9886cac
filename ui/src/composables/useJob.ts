// Follow a background job until it finishes.
//
//   const { job, status, progress, message, events, done, failed, error } = useJob(() => accepted.value);
//
// Transport:
// 1. GET /api/jobs/{id} once, for the initial JobOut.
// 2. GET /api/jobs/{id}/events (operation `job_events`), read with `authFetch` (EventSource
//    can't send the Authorization header): server-sent events whose `event:` is the event
//    kind and whose `data:` is a JSON EventOut. The server replays the job's stored events,
//    then sends live ones, and ends the stream after the job succeeds, fails or is cancelled.
//    `job.progress` events give `message` and, sometimes, `data.percent`; events that change
//    the job's state make a (debounced) GET /api/jobs/{id} so `job` stays exact.
// 3. When the stream ends, breaks, or isn't there (non-2xx), GET /api/jobs/{id} again and,
//    if the job isn't terminal yet, poll it every second.
// Following stops when the job is terminal, the source changes, `stop()` is called, or the
// calling component/effect scope is disposed (the stream's fetch is aborted).
import { computed, getCurrentScope, onScopeDispose, ref, shallowRef, toValue, watch, type MaybeRefOrGetter } from 'vue';
import { api, apiUrl, authFetch } from '@/api/client';
import { apiError, unwrap, type ApiError } from '@/api/errors';
import type { EventOut, JobOut, JobState } from '@/api/types';
import { readSse } from './sse';

export const TERMINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

export function isTerminal(status: JobState | null | undefined): boolean {
  return status != null && TERMINAL_STATES.includes(status);
}

/** Event kinds after which the JobOut has changed: refetch it. */
export const STATE_EVENT_KINDS: ReadonlySet<string> = new Set([
  'job.started',
  'job.step_started',
  'job.step_finished',
  'job.step_skipped',
  'job.step_failed',
  'job.retried',
  'job.succeeded',
  'job.failed',
  'job.cancel_requested',
  'job.cancelled',
  'job.released',
  'job.lease_expired',
]);

/** Event kinds whose `message` is shown as the job's current activity. */
const MESSAGE_EVENT_KINDS: ReadonlySet<string> = new Set([
  'job.progress',
  'job.step_started',
  'job.step_finished',
  'job.step_skipped',
  'job.step_failed',
]);

/** A job id, or anything with one (JobAccepted, JobOut, ReportAccepted...). */
export type JobRef = string | { id: string } | null | undefined;

export interface UseJobOptions {
  /** Polling interval of the fallback, ms (default 1000). */
  pollMs?: number;
  /** Skip the event stream and poll (tests, or endpoints known to lack it). */
  pollOnly?: boolean;
  /** Debounce of the refetch after state-changing events, ms (default 250). */
  refetchMs?: number;
  /** How many recent events `events` keeps (default 50). */
  maxEvents?: number;
  /** Called once with the final job. */
  onFinished?: (job: JobOut) => void;
}

function idOf(ref: JobRef): string | null {
  if (!ref) return null;
  return typeof ref === 'string' ? ref : ref.id;
}

/** The EventOut of an SSE message (its `kind` defaults to the message's `event:` type), or null. */
function asEvent(v: unknown, type: string): EventOut | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.id !== 'string') return null;
  const kind = typeof o.kind === 'string' && o.kind ? o.kind : type;
  return { ...(v as EventOut), kind, message: typeof o.message === 'string' ? o.message : '' };
}

/** `data.percent` (0..100) of a progress event, clamped, or null. */
function percentOf(data: unknown): number | null {
  if (typeof data !== 'object' || data === null) return null;
  const p = (data as Record<string, unknown>).percent;
  return typeof p === 'number' && Number.isFinite(p) ? Math.min(100, Math.max(0, p)) : null;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });

export function useJob(source: MaybeRefOrGetter<JobRef>, options: UseJobOptions = {}) {
  const pollMs = options.pollMs ?? 1000;
  const refetchMs = options.refetchMs ?? 250;
  const maxEvents = options.maxEvents ?? 50;

  const job = ref<JobOut | null>(null);
  const error = ref<ApiError | null>(null);
  /** Last `data.percent` seen (0..100), or null. */
  const percent = ref<number | null>(null);
  /** The latest progress or step message ("batch 2 of 5…"), or null. */
  const message = ref<string | null>(null);
  /** The job's most recent events, oldest first (at most `maxEvents`). */
  const events = shallowRef<EventOut[]>([]);

  const status = computed<JobState | null>(() => job.value?.status ?? null);
  const done = computed(() => status.value === 'succeeded');
  const failed = computed(() => status.value === 'failed' || status.value === 'cancelled' || error.value !== null);
  const finished = computed(() => isTerminal(status.value) || error.value !== null);
  /** 0..1, or null while there is nothing to measure (show an indeterminate bar). */
  const progress = computed<number | null>(() => {
    if (status.value === 'succeeded') return 1;
    return percent.value === null ? null : percent.value / 100;
  });

  /** The run in progress: its abort controller and its refetch bookkeeping. */
  interface Run {
    ctl: AbortController;
    id: string;
    /** Sequence number of the last GET sent / accepted (out-of-order answers are dropped). */
    sent: number;
    accepted: number;
    timer: ReturnType<typeof setTimeout> | null;
  }
  let run: Run | null = null;

  /** Takes a fetched job; true (and following stops) when it is terminal. */
  function accept(r: Run, j: JobOut, seq: number): boolean {
    if (r !== run || r.ctl.signal.aborted) return true; // stopped or superseded: stop here too
    if (seq < r.accepted) return false; // an older answer arriving late
    r.accepted = seq;
    job.value = j;
    if (isTerminal(j.status)) {
      stop();
      options.onFinished?.(j);
      return true;
    }
    return false;
  }

  /** GET /jobs/{id}; true when the job is terminal. Throws on API errors. */
  async function refetch(r: Run): Promise<boolean> {
    const seq = ++r.sent;
    const j = unwrap(await api.GET('/jobs/{id}', { params: { path: { id: r.id } }, signal: r.ctl.signal }));
    return accept(r, j, seq);
  }

  function scheduleRefetch(r: Run): void {
    if (r.timer !== null) return;
    r.timer = setTimeout(() => {
      r.timer = null;
      if (r.ctl.signal.aborted) return;
      // A failed refetch mid-stream is not fatal: the stream goes on, and its end refetches.
      refetch(r).catch(() => {});
    }, refetchMs);
  }

  function onEvent(r: Run, e: EventOut): void {
    events.value = [...events.value, e].slice(-maxEvents);
    if (e.kind === 'job.started' || e.kind === 'job.retried') percent.value = null; // a new attempt
    if (e.kind === 'job.progress') {
      const p = percentOf(e.data);
      if (p !== null) percent.value = p;
    }
    if (MESSAGE_EVENT_KINDS.has(e.kind) && e.message) message.value = e.message;
    if (STATE_EVENT_KINDS.has(e.kind)) scheduleRefetch(r);
  }

  /** Reads the event stream until it ends; returns at once if it isn't available (non-2xx...). */
  async function stream(r: Run): Promise<void> {
    const res = await authFetch(
      new Request(apiUrl(`/jobs/${encodeURIComponent(r.id)}/events`), {
        headers: { Accept: 'text/event-stream' },
        signal: r.ctl.signal,
      }),
    );
    if (!res.ok || !res.body || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
      await res.body?.cancel().catch(() => {});
      return;
    }
    for await (const ev of readSse(res.body, r.ctl.signal)) {
      let payload: unknown;
      try {
        payload = JSON.parse(ev.data);
      } catch {
        continue;
      }
      const e = asEvent(payload, ev.event);
      if (e) onEvent(r, e);
    }
  }

  async function poll(r: Run): Promise<void> {
    while (!r.ctl.signal.aborted) {
      await sleep(pollMs, r.ctl.signal);
      if (r.ctl.signal.aborted || (await refetch(r))) return;
    }
  }

  async function follow(id: string): Promise<void> {
    stop();
    const r: Run = { ctl: new AbortController(), id, sent: 0, accepted: 0, timer: null };
    run = r;
    job.value = null;
    error.value = null;
    percent.value = null;
    message.value = null;
    events.value = [];
    try {
      if (await refetch(r)) return;
      if (!options.pollOnly) {
        await stream(r).catch((e: unknown) => {
          if (r.ctl.signal.aborted) throw e;
          // stream unavailable or broken: refetch and poll instead
        });
        if (r.ctl.signal.aborted) return;
        if (r.timer !== null) clearTimeout(r.timer);
        r.timer = null;
        if (await refetch(r)) return;
      }
      await poll(r);
    } catch (e) {
      if (!r.ctl.signal.aborted && r === run) {
        error.value = apiError(e);
        stop();
      }
    }
  }

  function stop(): void {
    if (!run) return;
    if (run.timer !== null) clearTimeout(run.timer);
    run.timer = null;
    run.ctl.abort();
    run = null;
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

  return { job, status, progress, percent, message, events, done, failed, finished, error, stop };
}
