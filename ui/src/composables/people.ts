// Names of the workspace's members, so pages show who wrote an entry or a report
// instead of a user id. Loaded once per session (GET /tenant/members answers any member)
// and shared by every page; `you` for the signed-in user.
import { ref } from 'vue';
import { api } from '@/api/client';
import { unwrap } from '@/api/errors';
import { useAuthStore } from '@/stores/auth';

const names = ref<Record<string, string>>({});
let loading: Promise<void> | null = null;
let loadedFor: string | null = null;

/** Loads the names once for the signed-in user's workspace; errors leave ids shown. */
function load(tenant: string | undefined): Promise<void> {
  if (!tenant || (loadedFor === tenant && loading)) return loading ?? Promise.resolve();
  loadedFor = tenant;
  loading = (async () => {
    try {
      const members = unwrap(await api.GET('/tenant/members')).items;
      names.value = Object.fromEntries(members.map((m) => [m.user_id, m.display_name]));
    } catch {
      loading = null;
      loadedFor = null;
    }
  })();
  return loading;
}

export function usePeople() {
  const auth = useAuthStore();
  void load(auth.me?.tenant_id ?? auth.session?.tenant_id);
  /** "you", the member's name, or "a former member" for someone no longer listed. */
  function nameOf(userId: string | null | undefined): string {
    if (!userId) return 'someone';
    if (userId === auth.me?.id) return 'you';
    return names.value[userId] ?? 'a former member';
  }
  return { names, nameOf };
}
