//! XP value of an entry version, the daily cap, and levels.

use serde::{Deserialize, Serialize};

use super::config::RewardConfig;
use super::meaningful::content_length;
use super::state::EntryFacts;

/// What one entry version is worth, component by component (before the daily cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct XpBreakdown {
    /// Base XP for any meaningful entry.
    pub base: u32,
    /// Attachment XP after its per-entry cap.
    pub attachments: u32,
    /// Tag XP after its per-entry cap.
    pub tags: u32,
    /// Long-entry bonus.
    pub long_entry: u32,
    /// Outcome/impact bonus.
    pub outcome: u32,
    /// Sum of the components.
    pub total: u32,
}

/// Computes the XP an entry version is worth, ignoring meaningfulness and the daily cap.
pub fn compute_xp(config: &RewardConfig, entry: &EntryFacts) -> XpBreakdown {
    let attachments = entry
        .attachment_count
        .saturating_mul(config.xp_per_attachment)
        .min(config.max_attachment_xp);
    let tags = entry
        .tag_count
        .saturating_mul(config.xp_per_tag)
        .min(config.max_tag_xp);
    let long_entry = if content_length(&entry.content) >= config.long_entry_chars {
        config.long_entry_bonus
    } else {
        0
    };
    let outcome = if entry.has_outcome {
        config.outcome_bonus
    } else {
        0
    };
    let base = config.base_xp;
    let total = base
        .saturating_add(attachments)
        .saturating_add(tags)
        .saturating_add(long_entry)
        .saturating_add(outcome);
    XpBreakdown {
        base,
        attachments,
        tags,
        long_entry,
        outcome,
        total,
    }
}

/// XP still owed to an entry: the positive difference between its value now and what it
/// already earned. Never negative, so an edit can't claw XP back.
pub fn xp_owed(value: u32, already_earned: u32) -> u32 {
    value.saturating_sub(already_earned)
}

/// The outcome of holding a requested grant against the daily cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CappedGrant {
    /// XP asked for.
    pub requested: u32,
    /// XP that fits under the cap and is granted.
    pub granted: u32,
    /// XP refused because of the cap (requested - granted).
    pub capped: u32,
}

/// Grants what fits between what was already granted that day and `max_daily_xp`.
pub fn apply_daily_cap(
    config: &RewardConfig,
    already_granted_today: u32,
    requested: u32,
) -> CappedGrant {
    let room = config.max_daily_xp.saturating_sub(already_granted_today);
    let granted = requested.min(room);
    CappedGrant {
        requested,
        granted,
        capped: requested - granted,
    }
}

/// Level for a total: 1 + total_xp / xp_per_level.
pub fn level_for(config: &RewardConfig, total_xp: u64) -> u32 {
    let per = u64::from(config.xp_per_level.max(1));
    u32::try_from(total_xp / per)
        .unwrap_or(u32::MAX)
        .saturating_add(1)
}

/// Where a user stands within their level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelProgress {
    /// Current level.
    pub level: u32,
    /// XP earned since the current level began.
    pub xp_into_level: u32,
    /// XP a level spans.
    pub xp_per_level: u32,
    /// XP still needed for the next level.
    pub xp_to_next_level: u32,
}

/// Level and progress towards the next one, for progress bars.
pub fn progress_to_next_level(config: &RewardConfig, total_xp: u64) -> LevelProgress {
    let per = config.xp_per_level.max(1);
    // The remainder is below `per`, a u32, so the conversion can't fail.
    let into = u32::try_from(total_xp % u64::from(per)).unwrap_or(0);
    LevelProgress {
        level: level_for(config, total_xp),
        xp_into_level: into,
        xp_per_level: per,
        xp_to_next_level: per - into,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn entry(len: usize, tags: u32, attachments: u32, outcome: bool) -> EntryFacts {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        EntryFacts {
            entry_id: "e".into(),
            version: 1,
            content: "x".repeat(len),
            tag_count: tags,
            attachment_count: attachments,
            has_outcome: outcome,
            created_at: at,
            version_at: at,
        }
    }

    #[test]
    fn plain_entry_is_worth_base_xp() {
        let c = RewardConfig::default();
        let xp = compute_xp(&c, &entry(50, 0, 0, false));
        assert_eq!(
            xp,
            XpBreakdown {
                base: 10,
                total: 10,
                ..XpBreakdown::default()
            }
        );
    }

    #[test]
    fn attachment_xp_is_5_each_capped_at_15() {
        let c = RewardConfig::default();
        let by_count: Vec<u32> = (0..=5)
            .map(|n| compute_xp(&c, &entry(50, 0, n, false)).attachments)
            .collect();
        assert_eq!(by_count, vec![0, 5, 10, 15, 15, 15]);
        assert_eq!(compute_xp(&c, &entry(50, 0, 4, false)).total, 25);
    }

    #[test]
    fn tag_xp_is_3_each_capped_at_15() {
        let c = RewardConfig::default();
        let by_count: Vec<u32> = (0..=7)
            .map(|n| compute_xp(&c, &entry(50, n, 0, false)).tags)
            .collect();
        assert_eq!(by_count, vec![0, 3, 6, 9, 12, 15, 15, 15]);
    }

    #[test]
    fn long_entry_bonus_starts_at_exactly_200_characters() {
        let c = RewardConfig::default();
        assert_eq!(compute_xp(&c, &entry(199, 0, 0, false)).long_entry, 0);
        assert_eq!(compute_xp(&c, &entry(200, 0, 0, false)).long_entry, 10);
        assert_eq!(compute_xp(&c, &entry(200, 0, 0, false)).total, 20);
    }

    #[test]
    fn long_entry_counts_characters_not_bytes_and_ignores_surrounding_space() {
        let c = RewardConfig::default();
        // 200 two-byte characters is 400 bytes but still exactly 200 characters.
        let mut e = entry(0, 0, 0, false);
        e.content = format!("   {}   ", "é".repeat(200));
        assert_eq!(compute_xp(&c, &e).long_entry, 10);
        e.content = format!("   {}   ", "é".repeat(199));
        assert_eq!(compute_xp(&c, &e).long_entry, 0);
    }

    #[test]
    fn outcome_bonus_is_15() {
        let c = RewardConfig::default();
        assert_eq!(compute_xp(&c, &entry(50, 0, 0, true)).outcome, 15);
        assert_eq!(compute_xp(&c, &entry(50, 0, 0, true)).total, 25);
    }

    #[test]
    fn best_entry_is_worth_the_configured_maximum() {
        let c = RewardConfig::default();
        assert_eq!(
            compute_xp(&c, &entry(500, 9, 9, true)).total,
            c.max_entry_xp()
        );
        assert_eq!(c.max_entry_xp(), 65);
    }

    #[test]
    fn daily_cap_grants_only_what_fits() {
        let c = RewardConfig::default();
        // 190 already granted today; an entry worth 25 gets 10.
        assert_eq!(
            apply_daily_cap(&c, 190, 25),
            CappedGrant {
                requested: 25,
                granted: 10,
                capped: 15
            }
        );
        assert_eq!(
            apply_daily_cap(&c, 175, 25),
            CappedGrant {
                requested: 25,
                granted: 25,
                capped: 0
            }
        );
        assert_eq!(
            apply_daily_cap(&c, 200, 25),
            CappedGrant {
                requested: 25,
                granted: 0,
                capped: 25
            }
        );
        // Already above the cap (e.g. the cap was lowered today): nothing, no underflow.
        assert_eq!(
            apply_daily_cap(&c, 260, 5),
            CappedGrant {
                requested: 5,
                granted: 0,
                capped: 5
            }
        );
    }

    #[test]
    fn owed_xp_is_the_positive_difference() {
        assert_eq!(xp_owed(25, 10), 15);
        assert_eq!(xp_owed(10, 25), 0);
        assert_eq!(xp_owed(10, 10), 0);
    }

    #[test]
    fn level_goes_from_4_to_5_at_400_xp() {
        let c = RewardConfig::default();
        assert_eq!(level_for(&c, 0), 1);
        assert_eq!(level_for(&c, 99), 1);
        assert_eq!(level_for(&c, 100), 2);
        assert_eq!(level_for(&c, 399), 4);
        assert_eq!(level_for(&c, 400), 5);
        assert_eq!(level_for(&c, u64::MAX), u32::MAX);
    }

    #[test]
    fn progress_to_next_level_reports_remaining_xp() {
        let c = RewardConfig::default();
        let p = progress_to_next_level(&c, 437);
        assert_eq!(
            p,
            LevelProgress {
                level: 5,
                xp_into_level: 37,
                xp_per_level: 100,
                xp_to_next_level: 63
            }
        );
        let p = progress_to_next_level(&c, 400);
        assert_eq!((p.level, p.xp_into_level, p.xp_to_next_level), (5, 0, 100));
    }
}
