// Badge board helpers: group order and labels, badge order, status text.
import type { Schemas } from '@/api/types';

export type BadgeBoard = Schemas['BadgeBoard'];
export type BadgeGroup = Schemas['BadgeGroup'];
export type BadgeOut = Schemas['BadgeOut'];

/** Known categories in display order; unknown ones follow, alphabetically. */
export const CATEGORY_ORDER = ['milestone', 'streak', 'quality', 'level'] as const;

const CATEGORY_LABELS: Record<string, string> = {
  milestone: 'Milestones',
  streak: 'Streaks',
  quality: 'Quality',
  level: 'Levels',
};

export function categoryLabel(category: string): string {
  if (CATEGORY_LABELS[category]) return CATEGORY_LABELS[category];
  const s = category.replace(/[_-]+/g, ' ').trim();
  return s ? s.charAt(0).toUpperCase() + s.slice(1) : 'Other';
}

/** 0..1 towards a locked badge (1 when earned). */
export function badgeProgress(b: BadgeOut): number {
  if (b.earned) return 1;
  if (!b.target) return 0;
  return Math.min(1, Math.max(0, b.progress / b.target));
}

/**
 * Earned first (most recent award first), then locked ones closest to done first;
 * ties keep the server's order (its order is the natural ladder: 10, 50, 100 entries).
 */
export function sortBadges(badges: readonly BadgeOut[]): BadgeOut[] {
  return badges
    .map((b, i) => ({ b, i }))
    .sort((x, y) => {
      if (x.b.earned !== y.b.earned) return x.b.earned ? -1 : 1;
      if (x.b.earned) {
        const ax = x.b.awarded_at ?? '';
        const ay = y.b.awarded_at ?? '';
        if (ax !== ay) return ay.localeCompare(ax);
      } else {
        const d = badgeProgress(y.b) - badgeProgress(x.b);
        if (d !== 0) return d;
      }
      return x.i - y.i;
    })
    .map((x) => x.b);
}

/** Groups in display order, each with its badges sorted; empty groups dropped. */
export function orderGroups(groups: readonly BadgeGroup[]): BadgeGroup[] {
  const rank = (c: string) => {
    const i = (CATEGORY_ORDER as readonly string[]).indexOf(c);
    return i < 0 ? CATEGORY_ORDER.length : i;
  };
  return groups
    .filter((g) => g.badges.length > 0)
    .slice()
    .sort((a, b) => rank(a.category) - rank(b.category) || a.category.localeCompare(b.category))
    .map((g) => ({ ...g, badges: sortBadges(g.badges) }));
}

/** Text that conveys the badge's state (never colour alone). */
export function badgeStateText(b: BadgeOut): string {
  if (b.earned) return 'Earned';
  if (b.revoked) return 'Revoked';
  return 'Locked';
}
