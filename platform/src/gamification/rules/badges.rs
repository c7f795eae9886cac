//! The 11 badges, their machine-readable requirements, and idempotent awarding.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::config::RewardConfig;
use super::error::RulesError;
use super::state::{EntryId, UserState};
use super::xp::level_for;

/// Stable badge code, stored and shown to clients as a snake_case string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum BadgeCode {
    /// First meaningful entry.
    #[serde(rename = "first_entry")]
    FirstEntry,
    /// 7-day streak.
    #[serde(rename = "streak_7")]
    Streak7,
    /// 30-day streak.
    #[serde(rename = "streak_30")]
    Streak30,
    /// 100-day streak.
    #[serde(rename = "streak_100")]
    Streak100,
    /// 10 meaningful entries.
    #[serde(rename = "entries_10")]
    Entries10,
    /// 50 meaningful entries.
    #[serde(rename = "entries_50")]
    Entries50,
    /// 100 meaningful entries.
    #[serde(rename = "entries_100")]
    Entries100,
    /// First attachment on a meaningful entry.
    #[serde(rename = "first_attachment")]
    FirstAttachment,
    /// First outcome on a meaningful entry.
    #[serde(rename = "first_outcome")]
    FirstOutcome,
    /// Level 5.
    #[serde(rename = "level_5")]
    Level5,
    /// Level 10.
    #[serde(rename = "level_10")]
    Level10,
}

impl BadgeCode {
    /// Every badge, in catalogue order.
    pub const ALL: [BadgeCode; 11] = [
        BadgeCode::FirstEntry,
        BadgeCode::Streak7,
        BadgeCode::Streak30,
        BadgeCode::Streak100,
        BadgeCode::Entries10,
        BadgeCode::Entries50,
        BadgeCode::Entries100,
        BadgeCode::FirstAttachment,
        BadgeCode::FirstOutcome,
        BadgeCode::Level5,
        BadgeCode::Level10,
    ];

    /// The stable string code.
    pub fn as_str(self) -> &'static str {
        match self {
            BadgeCode::FirstEntry => "first_entry",
            BadgeCode::Streak7 => "streak_7",
            BadgeCode::Streak30 => "streak_30",
            BadgeCode::Streak100 => "streak_100",
            BadgeCode::Entries10 => "entries_10",
            BadgeCode::Entries50 => "entries_50",
            BadgeCode::Entries100 => "entries_100",
            BadgeCode::FirstAttachment => "first_attachment",
            BadgeCode::FirstOutcome => "first_outcome",
            BadgeCode::Level5 => "level_5",
            BadgeCode::Level10 => "level_10",
        }
    }

    /// The badge's definition.
    pub fn definition(self) -> BadgeDefinition {
        use BadgeCategory::{Level, Milestone, Quality, Streak};
        use BadgeRequirement as R;
        let (name, description, category, requirement) = match self {
            BadgeCode::FirstEntry => (
                "First Entry",
                "Log your first meaningful entry.",
                Milestone,
                R::MeaningfulEntries { count: 1 },
            ),
            BadgeCode::Streak7 => (
                "Week Streak",
                "Log a meaningful entry 7 days in a row.",
                Streak,
                R::StreakDays { days: 7 },
            ),
            BadgeCode::Streak30 => (
                "Month Streak",
                "Log a meaningful entry 30 days in a row.",
                Streak,
                R::StreakDays { days: 30 },
            ),
            BadgeCode::Streak100 => (
                "Hundred-Day Streak",
                "Log a meaningful entry 100 days in a row.",
                Streak,
                R::StreakDays { days: 100 },
            ),
            BadgeCode::Entries10 => (
                "10 Entries",
                "Log 10 meaningful entries.",
                Milestone,
                R::MeaningfulEntries { count: 10 },
            ),
            BadgeCode::Entries50 => (
                "50 Entries",
                "Log 50 meaningful entries.",
                Milestone,
                R::MeaningfulEntries { count: 50 },
            ),
            BadgeCode::Entries100 => (
                "100 Entries",
                "Log 100 meaningful entries.",
                Milestone,
                R::MeaningfulEntries { count: 100 },
            ),
            BadgeCode::FirstAttachment => (
                "First Evidence",
                "Attach evidence to a meaningful entry.",
                Quality,
                R::Attachments { count: 1 },
            ),
            BadgeCode::FirstOutcome => (
                "First Outcome",
                "Record an outcome or impact on a meaningful entry.",
                Quality,
                R::Outcomes { count: 1 },
            ),
            BadgeCode::Level5 => ("Level 5", "Reach level 5.", Level, R::Level { level: 5 }),
            BadgeCode::Level10 => ("Level 10", "Reach level 10.", Level, R::Level { level: 10 }),
        };
        BadgeDefinition {
            code: self,
            name,
            description,
            category,
            requirement,
        }
    }
}

impl fmt::Display for BadgeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BadgeCode {
    type Err = RulesError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BadgeCode::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| RulesError::UnknownBadge(s.to_owned()))
    }
}

/// Badge grouping for the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadgeCategory {
    /// Entry counts.
    Milestone,
    /// Streak lengths.
    Streak,
    /// Evidence and outcomes.
    Quality,
    /// Levels.
    Level,
}

/// What a badge needs, machine-readable so a UI can render "locked: needs ...".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BadgeRequirement {
    /// At least this many meaningful entries.
    MeaningfulEntries {
        /// Entries needed.
        count: u32,
    },
    /// A streak (the longest ever) of at least this many days.
    StreakDays {
        /// Days needed.
        days: u32,
    },
    /// At least this many attachments on meaningful entries.
    Attachments {
        /// Attachments needed.
        count: u32,
    },
    /// At least this many meaningful entries with an outcome.
    Outcomes {
        /// Outcomes needed.
        count: u32,
    },
    /// At least this level.
    Level {
        /// Level needed.
        level: u32,
    },
}

impl BadgeRequirement {
    /// The number the user's progress is measured against.
    pub fn target(self) -> u32 {
        match self {
            BadgeRequirement::MeaningfulEntries { count }
            | BadgeRequirement::Attachments { count }
            | BadgeRequirement::Outcomes { count } => count,
            BadgeRequirement::StreakDays { days } => days,
            BadgeRequirement::Level { level } => level,
        }
    }

    /// The user's current number for this requirement.
    pub fn progress(self, config: &RewardConfig, user: &UserState) -> u32 {
        match self {
            BadgeRequirement::MeaningfulEntries { .. } => user.meaningful_entries,
            // Longest, not current: a streak once reached stays reached.
            BadgeRequirement::StreakDays { .. } => user.streak.longest,
            BadgeRequirement::Attachments { .. } => user.attachments,
            BadgeRequirement::Outcomes { .. } => user.outcomes,
            BadgeRequirement::Level { .. } => level_for(config, user.total_xp),
        }
    }

    /// Whether the user meets it.
    pub fn is_met(self, config: &RewardConfig, user: &UserState) -> bool {
        self.progress(config, user) >= self.target()
    }

    /// Human wording of what is needed, e.g. "needs a 30-day streak".
    pub fn describe(self) -> String {
        let plural = |n: u32, one: &str, many: &str| {
            if n == 1 {
                format!("{n} {one}")
            } else {
                format!("{n} {many}")
            }
        };
        match self {
            BadgeRequirement::MeaningfulEntries { count } => format!(
                "needs {}",
                plural(count, "meaningful entry", "meaningful entries")
            ),
            BadgeRequirement::StreakDays { days } => format!("needs a {days}-day streak"),
            BadgeRequirement::Attachments { count } => {
                format!("needs {}", plural(count, "attachment", "attachments"))
            }
            BadgeRequirement::Outcomes { count } => {
                format!("needs {}", plural(count, "outcome", "outcomes"))
            }
            BadgeRequirement::Level { level } => format!("needs level {level}"),
        }
    }

    /// What is still needed from `progress`, e.g. "needs 5 more meaningful entries", so
    /// that the words agree with the progress bar beside them.
    pub fn still_needs(self, progress: u32) -> String {
        let left = self.target().saturating_sub(progress);
        let more = |one: &str, many: &str| {
            let noun = if left == 1 { one } else { many };
            format!("needs {left} more {noun}")
        };
        match self {
            BadgeRequirement::MeaningfulEntries { .. } => {
                more("meaningful entry", "meaningful entries")
            }
            BadgeRequirement::StreakDays { days } => {
                let best = if progress == 1 { "day" } else { "days" };
                format!("needs a {days}-day streak (your longest is {progress} {best})")
            }
            BadgeRequirement::Attachments { .. } => more("attachment", "attachments"),
            BadgeRequirement::Outcomes { .. } => more("outcome", "outcomes"),
            BadgeRequirement::Level { level } => {
                format!("needs level {level} (you are level {progress})")
            }
        }
    }
}

/// A badge as seeded by migration and listed by `GET /api/gamification/badges`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BadgeDefinition {
    /// Stable code.
    pub code: BadgeCode,
    /// Display name.
    pub name: &'static str,
    /// One-sentence description.
    pub description: &'static str,
    /// UI grouping.
    pub category: BadgeCategory,
    /// What earns it.
    pub requirement: BadgeRequirement,
}

/// All 11 badge definitions.
pub fn badge_catalog() -> Vec<BadgeDefinition> {
    BadgeCode::ALL
        .into_iter()
        .map(BadgeCode::definition)
        .collect()
}

/// A badge award to persist, with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadgeAward {
    /// The badge.
    pub code: BadgeCode,
    /// When it was earned (the triggering event's time).
    pub awarded_at: DateTime<Utc>,
    /// The entry whose evaluation earned it, if any.
    pub entry_id: Option<EntryId>,
    /// That entry's version.
    pub entry_version: Option<u32>,
    /// Config version of the evaluation.
    pub config_version: u32,
}

/// Badges the user now qualifies for and does not hold; held and revoked badges are
/// never returned, so calling it again after applying its result returns nothing.
pub fn award_badges(config: &RewardConfig, user: &UserState) -> Vec<BadgeCode> {
    BadgeCode::ALL
        .into_iter()
        .filter(|c| !user.badges.contains(c) && !user.revoked_badges.contains(c))
        .filter(|c| c.definition().requirement.is_met(config, user))
        .collect()
}

/// One badge as the badges screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadgeStatus {
    /// The definition.
    pub definition: BadgeDefinition,
    /// Held now.
    pub earned: bool,
    /// Revoked by staff.
    pub revoked: bool,
    /// Current number towards the requirement, capped at the target.
    pub progress: u32,
    /// The requirement's target.
    pub target: u32,
    /// What is still needed while not held, counted from `progress`.
    pub locked_reason: Option<String>,
}

/// Earned and available badges with progress, for the badges screen.
pub fn badge_board(config: &RewardConfig, user: &UserState) -> Vec<BadgeStatus> {
    badge_catalog()
        .into_iter()
        .map(|definition| {
            let earned = user.badges.contains(&definition.code);
            let target = definition.requirement.target();
            let progress = definition.requirement.progress(config, user).min(target);
            BadgeStatus {
                definition,
                earned,
                revoked: user.revoked_badges.contains(&definition.code),
                progress,
                target,
                locked_reason: (!earned).then(|| definition.requirement.still_needs(progress)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_11_badges_with_unique_stable_codes() {
        let catalog = badge_catalog();
        assert_eq!(catalog.len(), 11);
        let codes: std::collections::BTreeSet<&str> =
            catalog.iter().map(|b| b.code.as_str()).collect();
        assert_eq!(codes.len(), 11);
        for b in &catalog {
            assert_eq!(b.code.as_str().parse::<BadgeCode>(), Ok(b.code));
            assert_eq!(
                serde_json::to_value(b.code).ok(),
                Some(serde_json::Value::from(b.code.as_str()))
            );
            assert!(!b.name.is_empty() && !b.description.is_empty());
        }
        assert_eq!(
            "nope".parse::<BadgeCode>(),
            Err(RulesError::UnknownBadge("nope".into()))
        );
    }

    #[test]
    fn definitions_carry_category_and_requirement() {
        let d = BadgeCode::Streak30.definition();
        assert_eq!(d.category, BadgeCategory::Streak);
        assert_eq!(d.requirement, BadgeRequirement::StreakDays { days: 30 });
        assert_eq!(d.requirement.describe(), "needs a 30-day streak");
        assert_eq!(
            BadgeCode::FirstEntry.definition().requirement.describe(),
            "needs 1 meaningful entry"
        );
        assert_eq!(
            BadgeCode::Entries50.definition().requirement.describe(),
            "needs 50 meaningful entries"
        );
        assert_eq!(
            BadgeCode::Level10.definition().category,
            BadgeCategory::Level
        );
        assert_eq!(
            BadgeCode::FirstAttachment.definition().category,
            BadgeCategory::Quality
        );
        let json = serde_json::to_value(d).expect("serialize");
        assert_eq!(json["code"], "streak_30");
        assert_eq!(json["category"], "streak");
        assert_eq!(json["requirement"]["kind"], "streak_days");
        assert_eq!(json["requirement"]["days"], 30);
    }

    #[test]
    fn awarding_is_idempotent() {
        let c = RewardConfig::default();
        let mut user = UserState {
            meaningful_entries: 10,
            attachments: 1,
            total_xp: 400,
            ..UserState::default()
        };
        let first = award_badges(&c, &user);
        assert_eq!(
            first,
            vec![
                BadgeCode::FirstEntry,
                BadgeCode::Entries10,
                BadgeCode::FirstAttachment,
                BadgeCode::Level5
            ]
        );
        user.badges.extend(first);
        assert_eq!(award_badges(&c, &user), Vec::<BadgeCode>::new());
    }

    #[test]
    fn thresholds_are_inclusive_and_use_the_longest_streak() {
        let c = RewardConfig::default();
        let mut user = UserState {
            total_xp: 899,
            ..UserState::default()
        };
        user.streak.longest = 29;
        user.streak.current = 2;
        assert!(!award_badges(&c, &user).contains(&BadgeCode::Streak30));
        assert!(!award_badges(&c, &user).contains(&BadgeCode::Level10));
        user.streak.longest = 30;
        user.total_xp = 900;
        let got = award_badges(&c, &user);
        assert!(got.contains(&BadgeCode::Streak30) && got.contains(&BadgeCode::Streak7));
        assert!(got.contains(&BadgeCode::Level10));
        assert!(!got.contains(&BadgeCode::Streak100));
    }

    #[test]
    fn revoked_badges_are_not_re_awarded() {
        let c = RewardConfig::default();
        let mut user = UserState {
            meaningful_entries: 1,
            ..UserState::default()
        };
        user.revoked_badges.insert(BadgeCode::FirstEntry);
        assert!(award_badges(&c, &user).is_empty());
    }

    #[test]
    fn badge_board_shows_progress_and_lock_reasons() {
        let c = RewardConfig::default();
        let mut user = UserState {
            meaningful_entries: 12,
            ..UserState::default()
        };
        user.badges.insert(BadgeCode::FirstEntry);
        let board = badge_board(&c, &user);
        let first = &board[0];
        assert!(first.earned && first.locked_reason.is_none());
        let fifty = board
            .iter()
            .find(|b| b.definition.code == BadgeCode::Entries50)
            .expect("present");
        assert_eq!(
            (fifty.progress, fifty.target, fifty.earned),
            (12, 50, false)
        );
        assert_eq!(
            fifty.locked_reason.as_deref(),
            Some("needs 38 more meaningful entries")
        );
        let level5 = board
            .iter()
            .find(|b| b.definition.code == BadgeCode::Level5)
            .expect("present");
        assert_eq!((level5.progress, level5.target), (1, 5));
        assert_eq!(
            level5.locked_reason.as_deref(),
            Some("needs level 5 (you are level 1)")
        );
    }

    #[test]
    fn what_a_badge_still_needs_counts_down_from_the_progress() {
        let entries = BadgeRequirement::MeaningfulEntries { count: 10 };
        assert_eq!(entries.still_needs(5), "needs 5 more meaningful entries");
        assert_eq!(entries.still_needs(9), "needs 1 more meaningful entry");
        let streak = BadgeRequirement::StreakDays { days: 7 };
        assert_eq!(
            streak.still_needs(1),
            "needs a 7-day streak (your longest is 1 day)"
        );
        assert_eq!(
            BadgeRequirement::Attachments { count: 3 }.still_needs(1),
            "needs 2 more attachments"
        );
        assert_eq!(
            BadgeRequirement::Outcomes { count: 1 }.still_needs(0),
            "needs 1 more outcome"
        );
    }
}
