//! The immutable XP ledger: every XP change is one event with its provenance.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::state::{EntryId, UserState};

/// Which rule produced an XP event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XpRule {
    /// An entry version's XP; the only rule held to the daily cap.
    Entry,
    /// A completed weekly challenge.
    Challenge,
    /// A manual grant by staff.
    AdminGrant,
}

/// Where an XP event came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum XpSource {
    /// An entry version.
    Entry {
        /// The entry.
        entry_id: EntryId,
        /// The version evaluated.
        entry_version: u32,
        /// What the version was worth.
        value: u32,
        /// What the entry had earned before this version.
        previously_earned: u32,
        /// XP held back by the daily cap.
        capped: u32,
    },
    /// A completed weekly challenge.
    Challenge {
        /// Template code.
        code: String,
        /// Monday of the challenge's week.
        week_start: NaiveDate,
    },
    /// A manual grant.
    AdminGrant {
        /// Why staff granted it.
        reason: String,
        /// Who granted it.
        granted_by: String,
    },
}

/// One XP ledger event; the ledger sums to the user's total XP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XpEvent {
    /// Unique per user; storage should reject a second event with the same key.
    pub idempotency_key: String,
    /// XP granted (never negative: XP is not clawed back).
    pub amount: u32,
    /// The user's local day it counts for.
    pub day: NaiveDate,
    /// When the triggering event happened.
    pub occurred_at: DateTime<Utc>,
    /// Config version that produced it.
    pub config_version: u32,
    /// Provenance.
    pub source: XpSource,
}

impl XpEvent {
    /// The rule that produced it.
    pub fn rule(&self) -> XpRule {
        match self.source {
            XpSource::Entry { .. } => XpRule::Entry,
            XpSource::Challenge { .. } => XpRule::Challenge,
            XpSource::AdminGrant { .. } => XpRule::AdminGrant,
        }
    }
}

/// Ledger key of an entry version's grant.
pub fn entry_event_key(entry_id: &EntryId, version: u32) -> String {
    format!("entry:{entry_id}:v{version}")
}

/// Ledger key of a challenge completion.
pub fn challenge_event_key(week_start: NaiveDate, code: &str) -> String {
    format!("challenge:{week_start}:{code}")
}

/// Ledger key of a manual grant, from the caller's request key.
pub fn admin_event_key(request_key: &str) -> String {
    format!("admin:{request_key}")
}

/// Sum of a ledger's amounts.
pub fn ledger_total<'a>(events: impl IntoIterator<Item = &'a XpEvent>) -> u64 {
    events.into_iter().map(|e| u64::from(e.amount)).sum()
}

/// Adds an event to the user's totals; all XP goes through here so the ledger and the
/// total cannot drift apart.
pub(super) fn apply_event(user: &mut UserState, event: &XpEvent) {
    user.total_xp = user.total_xp.saturating_add(u64::from(event.amount));
    if event.rule() == XpRule::Entry {
        let day = user.entry_xp_by_day.entry(event.day).or_insert(0);
        *day = day.saturating_add(event.amount);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(amount: u32, source: XpSource) -> XpEvent {
        XpEvent {
            idempotency_key: "k".into(),
            amount,
            day: NaiveDate::from_ymd_opt(2025, 3, 3).expect("date"),
            occurred_at: DateTime::<Utc>::UNIX_EPOCH,
            config_version: 1,
            source,
        }
    }

    #[test]
    fn only_entry_xp_counts_towards_the_days_capped_total() {
        let mut user = UserState::default();
        let entry = event(
            25,
            XpSource::Entry {
                entry_id: "e".into(),
                entry_version: 1,
                value: 25,
                previously_earned: 0,
                capped: 0,
            },
        );
        let challenge = event(
            50,
            XpSource::Challenge {
                code: "log_days".into(),
                week_start: entry.day,
            },
        );
        let admin = event(
            7,
            XpSource::AdminGrant {
                reason: "bug bounty".into(),
                granted_by: "staff1".into(),
            },
        );
        for e in [&entry, &challenge, &admin] {
            apply_event(&mut user, e);
        }
        assert_eq!(user.total_xp, 82);
        assert_eq!(ledger_total([&entry, &challenge, &admin]), 82);
        assert_eq!(user.entry_xp_on(entry.day), 25);
    }

    #[test]
    fn keys_and_json_are_stable() {
        assert_eq!(entry_event_key(&"abc".into(), 3), "entry:abc:v3");
        let week = NaiveDate::from_ymd_opt(2025, 3, 3).expect("date");
        assert_eq!(
            challenge_event_key(week, "log_days_5"),
            "challenge:2025-03-03:log_days_5"
        );
        assert_eq!(admin_event_key("req-1"), "admin:req-1");
        let e = event(
            50,
            XpSource::Challenge {
                code: "log_days_5".into(),
                week_start: week,
            },
        );
        let json = serde_json::to_value(&e).expect("serialize");
        assert_eq!(json["source"]["rule"], "challenge");
        assert_eq!(json["source"]["week_start"], "2025-03-03");
        let back: XpEvent = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, e);
        assert_eq!(back.rule(), XpRule::Challenge);
    }
}
