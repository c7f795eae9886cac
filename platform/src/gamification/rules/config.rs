//! The versioned reward configuration: every threshold the rules use lives here.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::challenges::{default_challenge_templates, ChallengeKind, ChallengeTemplate};

/// Upper bound for any single XP number, so sums of them can never overflow `u32`.
pub const MAX_XP_VALUE: u32 = 100_000;

/// Reward rules as staff edit them; each edit is stored as a new `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RewardConfig {
    /// Version recorded on every ledger event and evaluation that used this config.
    pub version: u32,
    /// Minimum trimmed content length, in characters, for a meaningful entry.
    pub min_entry_length: u32,
    /// Entries allowed in any rolling hour; the next one is not meaningful.
    pub max_entries_per_hour: u32,
    /// Entry XP grantable per local day (challenge and admin XP are outside it).
    pub max_daily_xp: u32,
    /// XP for any meaningful entry.
    pub base_xp: u32,
    /// XP per attachment.
    pub xp_per_attachment: u32,
    /// Cap on attachment XP for one entry.
    pub max_attachment_xp: u32,
    /// XP per tag.
    pub xp_per_tag: u32,
    /// Cap on tag XP for one entry.
    pub max_tag_xp: u32,
    /// Content length, in characters, from which the long-entry bonus applies.
    pub long_entry_chars: u32,
    /// Bonus for a long entry.
    pub long_entry_bonus: u32,
    /// Bonus for an entry with an outcome/impact.
    pub outcome_bonus: u32,
    /// XP per level: level = 1 + total_xp / xp_per_level.
    pub xp_per_level: u32,
    /// Most streak freezes a user can hold.
    pub max_freezes: u32,
    /// A freeze is earned each time the current streak reaches a multiple of this.
    pub freeze_every_days: u32,
    /// Word-shingle Jaccard similarity, in percent, from which an entry is a near duplicate.
    pub duplicate_threshold_percent: u32,
    /// How many days back near duplicates are looked for.
    pub duplicate_window_days: u32,
    /// Words per shingle when comparing entries.
    pub duplicate_shingle_words: u32,
    /// Weekly challenge templates; a week snapshots them when it opens.
    pub challenges: Vec<ChallengeTemplate>,
}

impl Default for RewardConfig {
    fn default() -> Self {
        Self {
            version: 1,
            min_entry_length: 20,
            max_entries_per_hour: 10,
            max_daily_xp: 200,
            base_xp: 10,
            xp_per_attachment: 5,
            max_attachment_xp: 15,
            xp_per_tag: 3,
            max_tag_xp: 15,
            long_entry_chars: 200,
            long_entry_bonus: 10,
            outcome_bonus: 15,
            xp_per_level: 100,
            max_freezes: 3,
            freeze_every_days: 7,
            duplicate_threshold_percent: 90,
            duplicate_window_days: 7,
            duplicate_shingle_words: 3,
            challenges: default_challenge_templates(),
        }
    }
}

/// One reason a config is rejected; the message is meant for the staff member editing it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// Versions start at 1.
    #[error("version must be at least 1")]
    ZeroVersion,
    /// A field is below its minimum.
    #[error("{field} must be at least {min}, got {value}")]
    TooSmall {
        /// Field name.
        field: &'static str,
        /// Smallest accepted value.
        min: u32,
        /// Value given.
        value: u32,
    },
    /// A field is above its maximum.
    #[error("{field} must be at most {max}, got {value}")]
    TooLarge {
        /// Field name.
        field: &'static str,
        /// Largest accepted value.
        max: u32,
        /// Value given.
        value: u32,
    },
    /// A per-entry cap that is below the worth of one item makes the item pointless.
    #[error("{cap_field} ({cap}) is below {unit_field} ({unit}); one item could never earn its full value")]
    CapBelowUnit {
        /// Cap field name.
        cap_field: &'static str,
        /// Cap value.
        cap: u32,
        /// Per-item field name.
        unit_field: &'static str,
        /// Per-item value.
        unit: u32,
    },
    /// The long-entry bonus would apply to every meaningful entry.
    #[error("long_entry_chars ({long}) must exceed min_entry_length ({min})")]
    LongEntryNotLonger {
        /// long_entry_chars.
        long: u32,
        /// min_entry_length.
        min: u32,
    },
    /// A single best entry must fit in a day's cap.
    #[error("max_daily_xp ({cap}) is below the most one entry can earn ({entry_max})")]
    DailyCapBelowEntryMax {
        /// max_daily_xp.
        cap: u32,
        /// The most XP one entry can be worth under this config.
        entry_max: u32,
    },
    /// Challenge template codes must be non-empty and unique.
    #[error("challenge template #{index} has an empty code")]
    EmptyChallengeCode {
        /// Position in the list.
        index: usize,
    },
    /// Two templates share a code, so their ledger keys would collide.
    #[error("challenge code {0:?} is used twice")]
    DuplicateChallengeCode(String),
    /// Users need a title to read.
    #[error("challenge {0:?} has an empty title")]
    EmptyChallengeTitle(String),
    /// A challenge's goal is out of range for its kind.
    #[error("challenge {code:?} goal must be between 1 and {max}, got {goal}")]
    ChallengeGoal {
        /// Template code.
        code: String,
        /// Goal given.
        goal: u32,
        /// Largest sensible goal for the kind.
        max: u32,
    },
    /// A challenge reward above the XP bound.
    #[error("challenge {code:?} xp_reward must be at most {max}, got {xp}")]
    ChallengeReward {
        /// Template code.
        code: String,
        /// Reward given.
        xp: u32,
        /// Largest accepted reward.
        max: u32,
    },
}

impl RewardConfig {
    /// The most XP one entry version can be worth under this config.
    pub fn max_entry_xp(&self) -> u32 {
        self.base_xp
            .saturating_add(self.max_attachment_xp)
            .saturating_add(self.max_tag_xp)
            .saturating_add(self.long_entry_bonus)
            .saturating_add(self.outcome_bonus)
    }

    /// Ok when the config is usable, else its first problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.problems().into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }

    /// Every problem with the config, so an edit form can show them all at once.
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut out = Vec::new();
        if self.version == 0 {
            out.push(ConfigError::ZeroVersion);
        }
        let ranges: [(&'static str, u32, u32, u32); 16] = [
            ("min_entry_length", self.min_entry_length, 1, 10_000),
            ("max_entries_per_hour", self.max_entries_per_hour, 1, 1_000),
            ("max_daily_xp", self.max_daily_xp, 1, MAX_XP_VALUE),
            ("base_xp", self.base_xp, 0, MAX_XP_VALUE),
            ("xp_per_attachment", self.xp_per_attachment, 0, MAX_XP_VALUE),
            ("max_attachment_xp", self.max_attachment_xp, 0, MAX_XP_VALUE),
            ("xp_per_tag", self.xp_per_tag, 0, MAX_XP_VALUE),
            ("max_tag_xp", self.max_tag_xp, 0, MAX_XP_VALUE),
            ("long_entry_bonus", self.long_entry_bonus, 0, MAX_XP_VALUE),
            ("outcome_bonus", self.outcome_bonus, 0, MAX_XP_VALUE),
            ("xp_per_level", self.xp_per_level, 1, MAX_XP_VALUE),
            ("max_freezes", self.max_freezes, 0, 30),
            ("freeze_every_days", self.freeze_every_days, 1, 365),
            (
                "duplicate_threshold_percent",
                self.duplicate_threshold_percent,
                1,
                100,
            ),
            ("duplicate_window_days", self.duplicate_window_days, 1, 365),
            (
                "duplicate_shingle_words",
                self.duplicate_shingle_words,
                1,
                10,
            ),
        ];
        for (field, value, min, max) in ranges {
            if value < min {
                out.push(ConfigError::TooSmall { field, min, value });
            } else if value > max {
                out.push(ConfigError::TooLarge { field, max, value });
            }
        }
        let caps = [
            (
                "max_attachment_xp",
                self.max_attachment_xp,
                "xp_per_attachment",
                self.xp_per_attachment,
            ),
            ("max_tag_xp", self.max_tag_xp, "xp_per_tag", self.xp_per_tag),
        ];
        for (cap_field, cap, unit_field, unit) in caps {
            if cap < unit {
                out.push(ConfigError::CapBelowUnit {
                    cap_field,
                    cap,
                    unit_field,
                    unit,
                });
            }
        }
        if self.long_entry_chars <= self.min_entry_length {
            out.push(ConfigError::LongEntryNotLonger {
                long: self.long_entry_chars,
                min: self.min_entry_length,
            });
        }
        if self.max_daily_xp < self.max_entry_xp() {
            out.push(ConfigError::DailyCapBelowEntryMax {
                cap: self.max_daily_xp,
                entry_max: self.max_entry_xp(),
            });
        }
        out.extend(self.challenge_problems());
        out
    }

    fn challenge_problems(&self) -> Vec<ConfigError> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for (index, template) in self.challenges.iter().enumerate() {
            let code = template.code.trim();
            if code.is_empty() {
                out.push(ConfigError::EmptyChallengeCode { index });
                continue;
            }
            if !seen.insert(code) {
                out.push(ConfigError::DuplicateChallengeCode(code.to_owned()));
            }
            if template.title.trim().is_empty() {
                out.push(ConfigError::EmptyChallengeTitle(code.to_owned()));
            }
            // A week has 7 days, so "log 8 days" could never complete.
            let max_goal = match template.kind {
                ChallengeKind::LogDays => 7,
                ChallengeKind::AttachEvidence | ChallengeKind::WriteOutcomes => 1_000,
            };
            if template.goal == 0 || template.goal > max_goal {
                out.push(ConfigError::ChallengeGoal {
                    code: code.to_owned(),
                    goal: template.goal,
                    max: max_goal,
                });
            }
            if template.xp_reward > MAX_XP_VALUE {
                out.push(ConfigError::ChallengeReward {
                    code: code.to_owned(),
                    xp: template.xp_reward,
                    max: MAX_XP_VALUE,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_version_1_with_the_specified_numbers_and_valid() {
        let c = RewardConfig::default();
        assert_eq!(c.version, 1);
        assert_eq!(c.min_entry_length, 20);
        assert_eq!(c.max_entries_per_hour, 10);
        assert_eq!(c.max_daily_xp, 200);
        assert_eq!((c.base_xp, c.xp_per_attachment, c.xp_per_tag), (10, 5, 3));
        assert_eq!(
            (c.long_entry_chars, c.long_entry_bonus, c.outcome_bonus),
            (200, 10, 15)
        );
        assert_eq!(c.max_freezes, 3);
        assert_eq!(c.xp_per_level, 100);
        assert_eq!(c.challenges.len(), 3);
        assert_eq!(c.max_entry_xp(), 10 + 15 + 15 + 10 + 15);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn nonsensical_values_are_reported_with_field_names() {
        let c = RewardConfig {
            version: 0,
            xp_per_level: 0,
            max_tag_xp: 2,
            long_entry_chars: 20,
            max_daily_xp: 50,
            ..RewardConfig::default()
        };
        let problems = c.problems();
        assert!(problems.contains(&ConfigError::ZeroVersion));
        assert!(problems.contains(&ConfigError::TooSmall {
            field: "xp_per_level",
            min: 1,
            value: 0
        }));
        assert!(problems.contains(&ConfigError::CapBelowUnit {
            cap_field: "max_tag_xp",
            cap: 2,
            unit_field: "xp_per_tag",
            unit: 3
        }));
        assert!(problems.contains(&ConfigError::LongEntryNotLonger { long: 20, min: 20 }));
        assert!(problems.contains(&ConfigError::DailyCapBelowEntryMax {
            cap: 50,
            entry_max: 52
        }));
        assert_eq!(c.validate(), Err(ConfigError::ZeroVersion));
        assert_eq!(
            ConfigError::TooSmall {
                field: "xp_per_level",
                min: 1,
                value: 0
            }
            .to_string(),
            "xp_per_level must be at least 1, got 0"
        );
    }

    #[test]
    fn challenge_templates_are_checked() {
        let mut c = RewardConfig::default();
        c.challenges[1].code = c.challenges[0].code.clone();
        c.challenges[0].goal = 8;
        c.challenges[2].title = "  ".into();
        let problems = c.problems();
        let code0 = c.challenges[0].code.clone();
        assert!(problems.contains(&ConfigError::DuplicateChallengeCode(code0.clone())));
        assert!(problems.contains(&ConfigError::ChallengeGoal {
            code: code0,
            goal: 8,
            max: 7
        }));
        assert!(problems.contains(&ConfigError::EmptyChallengeTitle(
            c.challenges[2].code.clone()
        )));
    }

    #[test]
    fn missing_fields_deserialize_to_defaults_so_old_stored_configs_still_load() {
        let c: RewardConfig =
            serde_json::from_str(r#"{"version": 4, "max_daily_xp": 300}"#).expect("parse");
        assert_eq!(c.version, 4);
        assert_eq!(c.max_daily_xp, 300);
        assert_eq!(c.min_entry_length, 20);
        let back: RewardConfig =
            serde_json::from_str(&serde_json::to_string(&c).expect("ser")).expect("de");
        assert_eq!(back, c);
    }
}
