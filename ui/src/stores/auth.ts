// Session state. The access token lives only here, in memory (never localStorage);
// the refresh token is an HttpOnly cookie the browser sends to /api/auth/*.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { api, configureAuth, CSRF_HEADERS } from '@/api/client';
import { unwrap } from '@/api/errors';
import type { LoginRequest, Me, Role, SignupRequest, TokenResponse } from '@/api/types';

/** The Web Lock tabs take turns with to rotate the shared refresh cookie. */
const REFRESH_LOCK = 'afterresume-refresh';
/** Tries of one refresh before giving up on a server that keeps refusing or failing. */
const REFRESH_ATTEMPTS = 4;
/** The longest wait between tries, whatever `Retry-After` says. */
const MAX_RETRY_WAIT_MS = 30_000;

/** `ok`: a new token; `denied`: the session is gone (sign out); `failed`: try later. */
type RefreshOutcome = 'ok' | 'denied' | 'failed';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** How long to wait before try `attempt` + 1: `Retry-After` seconds, else 1 s, 2 s, 4 s. */
export function retryDelayMs(retryAfter: string | null, attempt: number): number {
  const secs = Number(retryAfter);
  const ms = retryAfter !== null && Number.isFinite(secs) && secs >= 0 ? secs * 1000 : 1000 * 2 ** (attempt - 1);
  return Math.min(ms, MAX_RETRY_WAIT_MS);
}

export const useAuthStore = defineStore('auth', () => {
  const token = ref<string | null>(null);
  /** Role/ids from the last token answer; `me` is authoritative once loaded. */
  const session = ref<Omit<TokenResponse, 'access_token'> | null>(null);
  const me = ref<Me | null>(null);

  const isAuthenticated = computed(() => token.value !== null);
  const role = computed<Role | null>(() => me.value?.role ?? session.value?.role ?? null);
  /** Everyone but `read_only` members may create and edit. */
  const canWrite = computed(() => role.value !== null && role.value !== 'read_only');
  /** Workspace owners and admins (tenant settings, members, invitations). */
  const isAdmin = computed(() => role.value === 'owner' || role.value === 'admin');
  /** Platform staff (the /admin pages). */
  const isStaff = computed(() => me.value?.is_staff === true);

  function setToken(t: TokenResponse): void {
    const { access_token, ...rest } = t;
    token.value = access_token;
    session.value = rest;
  }

  /** Forget the session locally (no server call). */
  function clear(): void {
    token.value = null;
    session.value = null;
    me.value = null;
  }

  let inflight: Promise<boolean> | null = null;
  /**
   * Rotate the refresh cookie for a new access token. Concurrent callers share one
   * request, and tabs take turns (a Web Lock), so reloads in several tabs rotate one
   * cookie after another instead of racing. A 429 or a server/network failure is
   * waited out and retried (honouring `Retry-After`); only a refusal of the session
   * itself (401) signs the user out. Resolves false when no new token came.
   */
  function refresh(): Promise<boolean> {
    inflight ??= (async () => {
      try {
        const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
        const outcome = locks ? await locks.request(REFRESH_LOCK, rotate) : await rotate();
        if (outcome === 'denied') clear();
        return outcome === 'ok';
      } finally {
        inflight = null;
      }
    })();
    return inflight;
  }

  async function rotate(): Promise<RefreshOutcome> {
    for (let attempt = 1; ; attempt++) {
      let status = 0;
      let retryAfter: string | null = null;
      try {
        const res = await api.POST('/auth/token/refresh', {
          headers: CSRF_HEADERS,
          credentials: 'same-origin',
        });
        if (res.data) {
          setToken(res.data);
          return 'ok';
        }
        status = res.response.status;
        retryAfter = res.response.headers.get('Retry-After');
      } catch {
        /* the network: status 0, worth another try */
      }
      const transient = status === 0 || status === 429 || status >= 500;
      if (!transient) return 'denied';
      if (attempt >= REFRESH_ATTEMPTS) return 'failed';
      await sleep(retryDelayMs(retryAfter, attempt));
    }
  }

  async function loadMe(): Promise<Me> {
    me.value = unwrap(await api.GET('/me'));
    return me.value;
  }

  /** Throws `ApiRequestError` (use `apiError(e)` to show it). */
  async function login(body: LoginRequest): Promise<void> {
    setToken(unwrap(await api.POST('/auth/token', { body })));
    await loadMe();
  }

  /** Throws `ApiRequestError`. On success the user is signed in. */
  async function signup(body: SignupRequest): Promise<void> {
    setToken(unwrap(await api.POST('/auth/signup', { body })));
    await loadMe();
  }

  async function logout(): Promise<void> {
    try {
      await api.POST('/auth/logout', { headers: CSRF_HEADERS, credentials: 'same-origin' });
    } catch {
      /* signing out locally is what matters */
    } finally {
      clear();
    }
  }

  let restoring: Promise<void> | null = null;
  /**
   * On app start: try one refresh to restore the session from the cookie.
   * Idempotent; the router guard awaits it before the first navigation.
   */
  function restore(): Promise<void> {
    restoring ??= (async () => {
      if (token.value) return;
      if (await refresh()) {
        try {
          await loadMe();
        } catch {
          /* keep the token; pages show their own errors */
        }
      }
    })();
    return restoring;
  }

  return {
    token,
    session,
    me,
    isAuthenticated,
    role,
    canWrite,
    isAdmin,
    isStaff,
    setToken,
    clear,
    refresh,
    loadMe,
    login,
    signup,
    logout,
    restore,
  };
});

configureAuth({
  getToken: () => useAuthStore().token,
  refresh: () => useAuthStore().refresh(),
});
