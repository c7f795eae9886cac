import { describe, expect, it } from 'vitest';
import { challengeProblems, challengesBody, challengesOf, changedKeys, RULE_GROUPS, ruleProblems, valuesOf } from '@/components/admin/rewardRules';

const defaults = {
  version: 3,
  min_entry_length: 20, max_entries_per_hour: 10, max_daily_xp: 200, base_xp: 10,
  xp_per_attachment: 5, max_attachment_xp: 15, xp_per_tag: 3, max_tag_xp: 15,
  long_entry_chars: 200, long_entry_bonus: 10, outcome_bonus: 15, xp_per_level: 100,
  max_freezes: 3, freeze_every_days: 7, duplicate_threshold_percent: 90,
  duplicate_window_days: 7, duplicate_shingle_words: 3, challenges: [],
};

describe('reward rules form', () => {
  it('covers every numeric rule of the config, and the shipped rules pass', () => {
    const keys = RULE_GROUPS.flatMap((g) => g.fields.map((f) => f.key)).sort();
    const numeric = Object.entries(defaults).filter(([k, v]) => typeof v === 'number' && k !== 'version').map(([k]) => k).sort();
    expect(keys).toEqual(numeric);
    expect(ruleProblems(valuesOf(defaults))).toEqual({});
  });

  it('checks bounds and whole numbers as the server does', () => {
    const v = valuesOf(defaults);
    expect(ruleProblems({ ...v, min_entry_length: 0 }).min_entry_length).toBe('At least 1.');
    expect(ruleProblems({ ...v, duplicate_threshold_percent: 101 }).duplicate_threshold_percent).toBe('At most 100.');
    expect(ruleProblems({ ...v, base_xp: 2.5 }).base_xp).toBe('Enter a whole number.');
    expect(ruleProblems({ ...v, base_xp: Number.NaN }).base_xp).toBe('Enter a whole number.');
  });

  it('checks the rules between fields', () => {
    const v = valuesOf(defaults);
    expect(ruleProblems({ ...v, max_tag_xp: 2 }).max_tag_xp).toBe('Not below the XP per tag.');
    expect(ruleProblems({ ...v, max_attachment_xp: 4 }).max_attachment_xp).toBe('Not below the XP per attachment.');
    expect(ruleProblems({ ...v, long_entry_chars: 20 }).long_entry_chars).toBe('Longer than the shortest meaningful entry.');
    // One entry can earn 10 + 15 + 15 + 10 + 15 = 65: the daily cap may not be lower.
    expect(ruleProblems({ ...v, max_daily_xp: 64 }).max_daily_xp).toBe("At least one full entry's XP (65).");
    expect(ruleProblems({ ...v, max_daily_xp: 65 })).toEqual({});
  });

  it('lists what changed', () => {
    const v = valuesOf(defaults);
    expect(changedKeys(v, { ...v })).toEqual([]);
    expect(changedKeys(v, { ...v, base_xp: 12, max_freezes: 2 })).toEqual(['base_xp', 'max_freezes']);
  });
});


describe('weekly challenges', () => {
  const config = { challenges: [{ code: 'log_5_days', title: 'Log 5 days', kind: 'log_days', goal: 5, xp_reward: 50 }] };
  it('reads and writes the templates', () => {
    const list = challengesOf(config);
    expect(list[0]!.published).toBe(true);
    expect(challengesBody(list)).toEqual(config.challenges);
  });
  it('checks them as the server does', () => {
    const list = challengesOf(config);
    list[0]!.goal = 8;
    list.push({ code: 'log_5_days', title: ' ', kind: 'write_outcomes', goal: 2, xp_reward: -1, published: false });
    expect(challengeProblems(list)).toEqual({
      '0.goal': 'Between 1 and 7.',
      '1.code': 'Another challenge has this code.',
      '1.title': 'Enter a title.',
      '1.xp_reward': 'Between 0 and 100,000.',
    });
  });
});
