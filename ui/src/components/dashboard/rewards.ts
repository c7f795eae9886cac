// "Rewards may have changed" signal. Saving an entry or an attachment queues a reward
// evaluation on the server, so XP shows up a moment later: `notifyRewardsChanged()`
// fires the `ar:rewards-changed` window event now and again after the evaluation has
// likely run; widgets (dashboard, status bar) listen with `onRewardsChanged(cb)`.
export const REWARDS_EVENT = 'ar:rewards-changed';
const DELAYS_MS = [0, 2_000, 6_000];

export function notifyRewardsChanged(delays: readonly number[] = DELAYS_MS): void {
  if (typeof window === 'undefined') return;
  for (const d of delays) {
    setTimeout(() => window.dispatchEvent(new CustomEvent(REWARDS_EVENT)), d);
  }
}

/** Subscribes; returns the unsubscribe function. */
export function onRewardsChanged(cb: () => void): () => void {
  if (typeof window === 'undefined') return () => {};
  window.addEventListener(REWARDS_EVENT, cb);
  return () => window.removeEventListener(REWARDS_EVENT, cb);
}
