// The reward rules in sentences (GET /gamification/rules), fetched once per page load and
// shared: every screen that shows a number says the rule behind it in the server's words,
// so the text always quotes the rules in force.
import { ref, type Ref } from 'vue';
import { api } from '@/api/client';
import { unwrap } from '@/api/errors';

export type RuleTopic = 'entry_xp' | 'daily_cap' | 'meaningful' | 'streak' | 'freezes' | 'imports' | 'challenges' | 'levels';

let pending: Promise<Record<string, string>> | null = null;

function fetchRules(): Promise<Record<string, string>> {
  pending ??= api
    .GET('/gamification/rules')
    .then(unwrap)
    .then((r) => Object.fromEntries(r.items.map((i) => [i.topic, i.text])))
    .catch(() => {
      pending = null; // try again next time
      return {};
    });
  return pending;
}

/** The rules by topic; empty until loaded (and if they can't be). */
export function useRewardRules(): Ref<Partial<Record<RuleTopic, string>>> {
  const rules = ref<Partial<Record<RuleTopic, string>>>({});
  void fetchRules().then((r) => (rules.value = r));
  return rules;
}
