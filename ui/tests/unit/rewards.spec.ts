import { describe, expect, it } from 'vitest';
import { badgeProgress, badgeStateText, categoryLabel, orderGroups, sortBadges, type BadgeOut } from '@/components/rewards/badges';
import { challengePercent, daysRemaining, daysRemainingText, historyByWeek, weekEnd, type ChallengeOut } from '@/components/rewards/challenges';
import { extractionSummary } from '@/components/ai/skills';

const badge = (o: Partial<BadgeOut>): BadgeOut => ({
  code: 'b', name: 'B', description: '', earned: false, revoked: false, progress: 0, target: 10, requirement: {}, ...o,
});

describe('badges', () => {
  it('sorts earned (newest first) before locked (closest first), stable otherwise', () => {
    const list = [
      badge({ code: 'l-far', progress: 1, target: 100 }),
      badge({ code: 'e-old', earned: true, awarded_at: '2026-01-01T00:00:00Z' }),
      badge({ code: 'l-near', progress: 9, target: 10 }),
      badge({ code: 'e-new', earned: true, awarded_at: '2026-02-01T00:00:00Z' }),
      badge({ code: 'l-far2', progress: 1, target: 100 }),
    ];
    expect(sortBadges(list).map((b) => b.code)).toEqual(['e-new', 'e-old', 'l-near', 'l-far', 'l-far2']);
  });
  it('orders groups by category and drops empty ones', () => {
    const groups = orderGroups([
      { category: 'level', badges: [badge({})] },
      { category: 'zeta', badges: [badge({})] },
      { category: 'streak', badges: [badge({})] },
      { category: 'quality', badges: [] },
      { category: 'milestone', badges: [badge({})] },
    ]);
    expect(groups.map((g) => g.category)).toEqual(['milestone', 'streak', 'level', 'zeta']);
    expect(categoryLabel('milestone')).toBe('Milestones');
    expect(categoryLabel('new_kind')).toBe('New kind');
  });
  it('states progress and state in words', () => {
    expect(badgeProgress(badge({ progress: 5, target: 10 }))).toBe(0.5);
    expect(badgeProgress(badge({ progress: 50, target: 10 }))).toBe(1);
    expect(badgeProgress(badge({ target: 0 }))).toBe(0);
    expect(badgeProgress(badge({ earned: true }))).toBe(1);
    expect(badgeStateText(badge({ earned: true }))).toBe('Earned');
    expect(badgeStateText(badge({ revoked: true }))).toBe('Revoked');
    expect(badgeStateText(badge({}))).toBe('Locked');
  });
});

describe('challenges', () => {
  it('computes days remaining in the week, today included', () => {
    expect(daysRemaining('2026-11-16', new Date(2026, 10, 16, 8))).toBe(7); // Monday
    expect(daysRemaining('2026-11-16', new Date(2026, 10, 18, 23))).toBe(5); // Wednesday
    expect(daysRemaining('2026-11-16', new Date(2026, 10, 22, 23, 59))).toBe(1); // Sunday
    expect(daysRemaining('2026-11-16', new Date(2026, 10, 23))).toBe(0); // over
    expect(daysRemaining('2026-11-16', new Date(2026, 10, 10))).toBe(7); // not started
    expect(daysRemaining('garbage')).toBe(0);
    expect(daysRemaining('2026-10-19', new Date(2026, 9, 25, 12))).toBe(1); // DST week
  });
  it('words it', () => {
    expect(daysRemainingText(3)).toBe('3 days left this week');
    expect(daysRemainingText(1)).toBe('Last day of the week');
    expect(daysRemainingText(0)).toBe('This week is over');
    expect(weekEnd('2026-11-16')).toBe('2026-11-22');
    expect(weekEnd('2026-12-28')).toBe('2027-01-03');
  });
  it('clamps percent and groups history by week, newest first', () => {
    const c = (o: Partial<ChallengeOut>): ChallengeOut => ({ code: 'c', title: 'C', kind: 'log_days', goal: 5, progress: 2, xp_reward: 50, percent: 40, ...o });
    expect(challengePercent(c({ percent: 140 }))).toBe(100);
    const h = historyByWeek([
      { week_start: '2026-11-02', challenge: c({ code: 'a' }), result: 'missed' },
      { week_start: '2026-11-09', challenge: c({ code: 'b' }), result: 'completed' },
      { week_start: '2026-11-02', challenge: c({ code: 'c' }), result: 'completed' },
    ]);
    expect(h.map((w) => [w.weekStart, w.items.map((i) => i.challenge.code)])).toEqual([
      ['2026-11-09', ['b']],
      ['2026-11-02', ['a', 'c']],
    ]);
  });
});

describe('extractionSummary', () => {
  it('reports what a skills.extract job found', () => {
    expect(extractionSummary({ skills_found: 8, created: 8, updated: 0, evidence: 24 })).toBe('Found 8 skills (8 new) with 24 pieces of evidence.');
    expect(extractionSummary({ skills_found: 1, created: 0, updated: 1, evidence: 1 })).toBe('Found 1 skill (1 updated) with 1 piece of evidence.');
    expect(extractionSummary({ skills_found: 0 })).toBe('No skills found in that period.');
    expect(extractionSummary(null)).toBe('Extraction finished.');
  });
});
