//! The facts and per-user/per-entry state that evaluation reads and returns.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::badges::BadgeCode;
use super::challenges::ChallengeWeek;
use super::meaningful::NotMeaningful;
use super::streak::StreakState;

/// Opaque work-log entry id (the platform's UUID as text).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntryId(pub String);

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for EntryId {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<String> for EntryId {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// What the rules need to know about one version of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryFacts {
    /// The entry.
    pub entry_id: EntryId,
    /// Monotonic version, starting at 1; an attachment upload must bump it too.
    pub version: u32,
    /// The entry's main text as the user wrote it (length and duplicates are judged on it).
    pub content: String,
    /// Number of tags on this version.
    pub tag_count: u32,
    /// Number of evidence attachments on this version.
    pub attachment_count: u32,
    /// Whether this version has a non-empty outcome/impact.
    pub has_outcome: bool,
    /// When the entry was first created (server time, never the user-chosen date).
    pub created_at: DateTime<Utc>,
    /// When this version came to be: creation for v1, the edit or upload time after.
    pub version_at: DateTime<Utc>,
}

/// What the rules remember about one entry across its versions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EntryRecord {
    /// The entry this record belongs to.
    pub entry_id: EntryId,
    /// XP already granted to this entry over all its versions (after caps).
    pub xp_earned: u32,
    /// Versions already evaluated; re-evaluating one of them changes nothing.
    pub evaluated_versions: BTreeSet<u32>,
    /// Whether the entry has been counted as a meaningful entry.
    pub counted_meaningful: bool,
    /// Highest attachment count already credited to badges and challenges.
    pub attachments_counted: u32,
    /// Whether the entry's outcome has been credited to badges and challenges.
    pub outcome_counted: bool,
    /// The local day this entry contributed to the streak, if it did.
    pub streak_day: Option<NaiveDate>,
    /// Why the latest evaluated version was not meaningful, if it was not; kept so that
    /// the entry can say why it earned nothing without judging it again.
    #[serde(default)]
    pub not_meaningful: Option<NotMeaningful>,
    /// XP the daily cap held back from the latest evaluated version.
    #[serde(default)]
    pub capped: u32,
}

impl EntryRecord {
    /// A fresh record for an entry never evaluated before.
    pub fn new(entry_id: EntryId) -> Self {
        Self {
            entry_id,
            ..Self::default()
        }
    }
}

/// Everything the rules keep per user (one row or document per user in storage).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UserState {
    /// Sum of every XP ledger event for this user.
    pub total_xp: u64,
    /// Entry XP granted per local day; only entry XP counts against the daily cap.
    pub entry_xp_by_day: BTreeMap<NaiveDate, u32>,
    /// Streak, freezes and the days that built them.
    pub streak: StreakState,
    /// Entries that were meaningful at least once.
    pub meaningful_entries: u32,
    /// Attachments credited on meaningful entries (high-water mark per entry).
    pub attachments: u32,
    /// Meaningful entries that carry an outcome.
    pub outcomes: u32,
    /// Badges currently held.
    pub badges: BTreeSet<BadgeCode>,
    /// Badges revoked by staff; never re-awarded automatically.
    pub revoked_badges: BTreeSet<BadgeCode>,
    /// The open challenge week, if one has been opened.
    pub week: Option<ChallengeWeek>,
}

impl UserState {
    /// Entry XP already granted on a local day.
    pub fn entry_xp_on(&self, day: NaiveDate) -> u32 {
        self.entry_xp_by_day.get(&day).copied().unwrap_or(0)
    }

    /// Drops per-day XP older than `keep_from`; keep at least the last week so late
    /// evaluations still see the cap they were subject to.
    pub fn prune_days_before(&mut self, keep_from: NaiveDate) {
        self.entry_xp_by_day = self.entry_xp_by_day.split_off(&keep_from);
    }
}
