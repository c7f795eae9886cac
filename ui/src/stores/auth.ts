// Session state. The access token lives only here, in memory (never localStorage);
// the refresh token is an HttpOnly cookie the browser sends to /api/auth/*.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { api, configureAuth, CSRF_HEADERS } from '@/api/client';
import { unwrap } from '@/api/errors';
import type { LoginRequest, Me, Role, SignupRequest, TokenResponse } from '@/api/types';

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
   * request. Resolves false (and clears the session) when there is no valid session.
   */
  function refresh(): Promise<boolean> {
    inflight ??= (async () => {
      try {
        const res = await api.POST('/auth/token/refresh', {
          headers: CSRF_HEADERS,
          credentials: 'same-origin',
        });
        if (!res.data) {
          clear();
          return false;
        }
        setToken(res.data);
        return true;
      } catch {
        clear();
        return false;
      } finally {
        inflight = null;
      }
    })();
    return inflight;
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
