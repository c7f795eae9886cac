// Cursor pagination for list endpoints answering `{ items, next_cursor?, ... }`
// (EntryPage, JobPage, ReportPage...). Pass a loader that fetches one page:
//
//   const pager = useCursorPager((cursor) =>
//     api.GET('/worklogs', { params: { query: { cursor, limit: 20, q: q.value } } }).then(unwrap));
//   onMounted(pager.reset);          // first page
//   <Pager :pager="pager" />          // "Load more" button / infinite scroll
//
// Call `reset()` whenever filters change.
import { ref, shallowRef } from 'vue';
import { apiError, type ApiError } from '@/api/errors';

export interface CursorPage<T> {
  items: T[];
  next_cursor?: string | null;
  total?: number;
}

export function useCursorPager<T>(load: (cursor: string | undefined) => Promise<CursorPage<T>>) {
  const items = shallowRef<T[]>([]);
  const total = ref<number | null>(null);
  const nextCursor = ref<string | null>(null);
  const loading = ref(false);
  const loaded = ref(false);
  const error = ref<ApiError | null>(null);
  let generation = 0;

  async function fetchPage(cursor: string | undefined, append: boolean): Promise<void> {
    const gen = ++generation;
    loading.value = true;
    error.value = null;
    try {
      const page = await load(cursor);
      if (gen !== generation) return; // superseded by a reset
      items.value = append ? [...items.value, ...page.items] : page.items;
      nextCursor.value = page.next_cursor ?? null;
      total.value = page.total ?? null;
      loaded.value = true;
    } catch (e) {
      if (gen === generation) error.value = apiError(e);
    } finally {
      if (gen === generation) loading.value = false;
    }
  }

  /** Drop what is loaded and fetch the first page. */
  function reset(): Promise<void> {
    nextCursor.value = null;
    return fetchPage(undefined, false);
  }

  /** Fetch the next page, if there is one and nothing is loading. */
  function more(): Promise<void> {
    if (loading.value || !nextCursor.value) return Promise.resolve();
    return fetchPage(nextCursor.value, true);
  }

  /** Retry whatever failed last. */
  function retry(): Promise<void> {
    return loaded.value && nextCursor.value ? more() : reset();
  }

  return { items, total, nextCursor, loading, loaded, error, reset, more, retry };
}

export type CursorPager<T = unknown> = ReturnType<typeof useCursorPager<T>>;
