// The workspace's tags and projects with counts (filters and autocomplete).
import { ref } from 'vue';
import { api } from '@/api/client';
import { unwrap } from '@/api/errors';
import type { Schemas } from '@/api/types';

export type Facet = Schemas['FacetCount'];

export function useFacets() {
  const tags = ref<Facet[]>([]);
  const projects = ref<Facet[]>([]);
  const loaded = ref(false);

  /** Best effort: facets only help, so failures leave the lists empty. */
  async function load(): Promise<void> {
    const [t, p] = await Promise.allSettled([
      api.GET('/worklogs/tags').then(unwrap),
      api.GET('/worklogs/projects').then(unwrap),
    ]);
    if (t.status === 'fulfilled') tags.value = t.value.items;
    if (p.status === 'fulfilled') projects.value = p.value.items;
    loaded.value = true;
  }

  return { tags, projects, loaded, load };
}
