// The reward rules as a form: each number with its label, bounds and the server's
// cross-field rules (checked again on publish), so staff edit values, not JSON.

export interface RuleField {
  key: string;
  label: string;
  min: number;
  max: number;
  unit?: string;
}

const MAX_XP = 100_000;

/** Every numeric rule, grouped as the form shows them; bounds as the server checks them. */
export const RULE_GROUPS: { title: string; fields: RuleField[] }[] = [
  {
    title: 'What counts as an entry',
    fields: [
      { key: 'min_entry_length', label: 'Shortest meaningful entry', min: 1, max: 10_000, unit: 'characters' },
      { key: 'max_entries_per_hour', label: 'Entries that count per hour', min: 1, max: 1_000 },
      { key: 'duplicate_threshold_percent', label: 'Near-duplicate from', min: 1, max: 100, unit: '% similar' },
      { key: 'duplicate_window_days', label: 'Look for duplicates over', min: 1, max: 365, unit: 'days' },
      { key: 'duplicate_shingle_words', label: 'Words compared at a time', min: 1, max: 10 },
    ],
  },
  {
    title: 'XP per entry',
    fields: [
      { key: 'base_xp', label: 'Any meaningful entry', min: 0, max: MAX_XP, unit: 'XP' },
      { key: 'xp_per_attachment', label: 'Per attachment', min: 0, max: MAX_XP, unit: 'XP' },
      { key: 'max_attachment_xp', label: 'Attachments at most', min: 0, max: MAX_XP, unit: 'XP' },
      { key: 'xp_per_tag', label: 'Per tag', min: 0, max: MAX_XP, unit: 'XP' },
      { key: 'max_tag_xp', label: 'Tags at most', min: 0, max: MAX_XP, unit: 'XP' },
      { key: 'long_entry_chars', label: 'Long entry from', min: 1, max: 1_000_000, unit: 'characters' },
      { key: 'long_entry_bonus', label: 'Long-entry bonus', min: 0, max: MAX_XP, unit: 'XP' },
      { key: 'outcome_bonus', label: 'Outcome bonus', min: 0, max: MAX_XP, unit: 'XP' },
      { key: 'max_daily_xp', label: 'Entry XP per day at most', min: 1, max: MAX_XP, unit: 'XP' },
    ],
  },
  {
    title: 'Levels and streaks',
    fields: [
      { key: 'xp_per_level', label: 'XP per level', min: 1, max: MAX_XP, unit: 'XP' },
      { key: 'max_freezes', label: 'Streak freezes held at most', min: 0, max: 30 },
      { key: 'freeze_every_days', label: 'A freeze earned every', min: 1, max: 365, unit: 'streak days' },
    ],
  },
];

export type RuleValues = Record<string, number>;

/** Problems by field key (empty when the rules can be published). */
export function ruleProblems(v: RuleValues): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of RULE_GROUPS.flatMap((g) => g.fields)) {
    const x = v[f.key];
    if (typeof x !== 'number' || !Number.isInteger(x)) out[f.key] = 'Enter a whole number.';
    else if (x < f.min) out[f.key] = `At least ${f.min.toLocaleString()}.`;
    else if (x > f.max) out[f.key] = `At most ${f.max.toLocaleString()}.`;
  }
  const n = (k: string) => v[k] ?? 0;
  if (!out.max_attachment_xp && n('max_attachment_xp') < n('xp_per_attachment')) out.max_attachment_xp = 'Not below the XP per attachment.';
  if (!out.max_tag_xp && n('max_tag_xp') < n('xp_per_tag')) out.max_tag_xp = 'Not below the XP per tag.';
  if (!out.long_entry_chars && n('long_entry_chars') <= n('min_entry_length')) out.long_entry_chars = 'Longer than the shortest meaningful entry.';
  const entryMax = n('base_xp') + n('max_attachment_xp') + n('max_tag_xp') + n('long_entry_bonus') + n('outcome_bonus');
  if (!out.max_daily_xp && n('max_daily_xp') < entryMax) out.max_daily_xp = `At least one full entry's XP (${entryMax.toLocaleString()}).`;
  return out;
}

/** The numeric rules of a config, for the form. */
export function valuesOf(config: Record<string, unknown>): RuleValues {
  const out: RuleValues = {};
  for (const f of RULE_GROUPS.flatMap((g) => g.fields)) out[f.key] = Number(config[f.key] ?? 0);
  return out;
}

/** Keys whose value differs from `before`. */
export function changedKeys(before: RuleValues, after: RuleValues): string[] {
  return Object.keys(after).filter((k) => before[k] !== after[k]);
}

// ---- Weekly challenges ------------------------------------------------------------------

export type ChallengeKind = 'log_days' | 'attach_evidence' | 'write_outcomes';

export const CHALLENGE_KINDS: { value: ChallengeKind; label: string; max: number }[] = [
  // A week has seven days, so "log 8 days" could never complete.
  { value: 'log_days', label: 'Days with an entry', max: 7 },
  { value: 'attach_evidence', label: 'Files attached', max: 1_000 },
  { value: 'write_outcomes', label: 'Outcomes written', max: 1_000 },
];

export interface ChallengeForm {
  code: string;
  title: string;
  kind: ChallengeKind;
  goal: number;
  xp_reward: number;
  /** Published already: its code is the key of past completions, so it stays. */
  published: boolean;
}

/** The challenge templates of a config, for the form. */
export function challengesOf(config: Record<string, unknown>): ChallengeForm[] {
  const list = Array.isArray(config.challenges) ? config.challenges : [];
  return list.map((c: Record<string, unknown>) => ({
    code: String(c.code ?? ''),
    title: String(c.title ?? ''),
    kind: (c.kind as ChallengeKind) ?? 'log_days',
    goal: Number(c.goal ?? 1),
    xp_reward: Number(c.xp_reward ?? 0),
    published: true,
  }));
}

/** The templates as the config stores them. */
export function challengesBody(list: readonly ChallengeForm[]): Record<string, unknown>[] {
  return list.map(({ code, title, kind, goal, xp_reward }) => ({ code: code.trim(), title: title.trim(), kind, goal, xp_reward }));
}

/** Problems by `index.field`, as the server checks them. */
export function challengeProblems(list: readonly ChallengeForm[]): Record<string, string> {
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  list.forEach((c, i) => {
    const code = c.code.trim();
    if (!code) out[`${i}.code`] = 'Enter a code, e.g. log_5_days.';
    else if (seen.has(code)) out[`${i}.code`] = 'Another challenge has this code.';
    seen.add(code);
    if (!c.title.trim()) out[`${i}.title`] = 'Enter a title.';
    const max = CHALLENGE_KINDS.find((k) => k.value === c.kind)?.max ?? 1_000;
    if (!Number.isInteger(c.goal) || c.goal < 1 || c.goal > max) out[`${i}.goal`] = `Between 1 and ${max.toLocaleString()}.`;
    if (!Number.isInteger(c.xp_reward) || c.xp_reward < 0 || c.xp_reward > MAX_XP) out[`${i}.xp_reward`] = `Between 0 and ${MAX_XP.toLocaleString()}.`;
  });
  return out;
}
