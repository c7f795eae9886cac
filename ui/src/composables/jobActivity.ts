// "A job started or ended": JobProgress announces it, and the status bar's job counts
// reload at once instead of at their next 30-second refresh.
const JOBS_EVENT = 'afterresume:jobs-changed';

export function notifyJobsChanged(): void {
  if (typeof window !== 'undefined') window.dispatchEvent(new CustomEvent(JOBS_EVENT));
}

/** Subscribes; returns the unsubscribe function. */
export function onJobsChanged(cb: () => void): () => void {
  if (typeof window === 'undefined') return () => {};
  window.addEventListener(JOBS_EVENT, cb);
  return () => window.removeEventListener(JOBS_EVENT, cb);
}
