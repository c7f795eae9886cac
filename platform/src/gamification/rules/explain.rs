//! The rules in words, and the numbers the screens show, each from one definition: what
//! an entry earned and why, XP per day split by rule, badge and challenge unlocks not yet
//! shown, and the sentences that say how rewards work. Pure: the service reads the rows.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::badges::BadgeCode;
use super::challenges::UserChallenge;
use super::config::RewardConfig;
use super::ledger::XpRule;
use super::meaningful::NotMeaningful;
use super::state::EntryRecord;
use super::xp::XpBreakdown;

/// One rule in a sentence, by topic (`entry_xp`, `daily_cap`, `meaningful`, `streak`,
/// `freezes`, `imports`, `challenges`, `levels`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleText {
    pub topic: &'static str,
    pub text: String,
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// How rewards work under `config`, in the order a help page reads them.
pub fn rules_text(config: &RewardConfig) -> Vec<RuleText> {
    let c = config;
    let rule = |topic, text: String| RuleText { topic, text };
    vec![
        rule(
            "entry_xp",
            format!(
                "A meaningful entry earns {} XP, plus {} per tag (up to {}), {} per attachment \
                 (up to {}), {} for an entry of at least {} and {} for an outcome. An edit earns \
                 only what it adds; XP is never taken back.",
                c.base_xp,
                c.xp_per_tag,
                c.max_tag_xp,
                c.xp_per_attachment,
                c.max_attachment_xp,
                c.long_entry_bonus,
                plural(c.long_entry_chars, "character", "characters"),
                c.outcome_bonus
            ),
        ),
        rule(
            "daily_cap",
            format!(
                "Entry XP is capped at {} a day, in your time zone. Challenge XP and grants from \
                 staff don't count against the cap.",
                c.max_daily_xp
            ),
        ),
        rule(
            "meaningful",
            format!(
                "An entry is meaningful when it has at least {}, is not beyond {} in an hour, and \
                 doesn't repeat an entry of the last {} ({}% or more the same).",
                plural(c.min_entry_length, "character", "characters"),
                plural(c.max_entries_per_hour, "entry", "entries"),
                plural(c.duplicate_window_days, "day", "days"),
                c.duplicate_threshold_percent
            ),
        ),
        rule(
            "streak",
            "Your streak counts the days on which you write at least one meaningful entry, in \
             your time zone. An entry counts for the day you write it, whatever date it carries: \
             backdating an entry doesn't fill a past day."
                .to_string(),
        ),
        rule(
            "freezes",
            format!(
                "Every {} of streak earn a freeze (you hold at most {}); a freeze covers one \
                 missed day.",
                plural(c.freeze_every_days, "day", "days"),
                c.max_freezes
            ),
        ),
        rule(
            "imports",
            "Imported entries earn no XP and don't count towards streaks, badges or challenges: \
             they record past work, not today's habit."
                .to_string(),
        ),
        rule(
            "challenges",
            "Each week, Monday to Sunday in your time zone, brings new challenges; completing \
             one earns its XP once."
                .to_string(),
        ),
        rule("levels", format!("Every {} XP is a level.", c.xp_per_level)),
    ]
}

/// Where an entry stands with the rewards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryRewardStatus {
    /// Imported: never evaluated.
    Imported,
    /// The current version is not evaluated yet.
    Pending,
    /// Evaluated and earned nothing: not meaningful.
    NotMeaningful,
    /// Earned XP (possibly less than its worth because of the daily cap).
    Earned,
}

/// What an entry earned and why, in numbers and words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryReward {
    pub status: EntryRewardStatus,
    /// XP granted to the entry over all its versions.
    pub xp_earned: u32,
    /// What the current version is worth under the rules in force, part by part.
    pub worth: XpBreakdown,
    /// XP the daily cap held back from the latest evaluated version.
    pub capped: u32,
    /// The day it counted for in the streak, if it did.
    pub streak_day: Option<NaiveDate>,
    /// The headline, e.g. "Earned 41 XP.".
    pub message: String,
    /// Further sentences: the cap, the streak day, a backdated date.
    pub notes: Vec<String>,
}

/// The facts about one entry that [`explain_entry`] reads.
pub struct EntryRewardFacts<'a> {
    pub imported: bool,
    /// The date the entry carries.
    pub date: NaiveDate,
    /// The local day it was written.
    pub written_on: NaiveDate,
    pub version: u32,
    pub record: Option<&'a EntryRecord>,
    pub worth: XpBreakdown,
}

fn not_meaningful_text(why: &NotMeaningful) -> String {
    match why {
        NotMeaningful::TooShort { length, min } => format!(
            "Too short to earn XP: {} of the {} an entry needs.",
            plural(*length, "character", "characters"),
            min
        ),
        NotMeaningful::RateLimited {
            entries_in_last_hour,
            max,
        } => format!(
            "Earned nothing: {} had been logged in the hour before it (at most {} an hour count).",
            plural(*entries_in_last_hour, "entry", "entries"),
            max
        ),
        NotMeaningful::NearDuplicate {
            similarity_percent, ..
        } => {
            format!("Earned nothing: it repeats an earlier entry ({similarity_percent}% the same).")
        }
    }
}

/// Explains an entry's reward: imported, pending, not meaningful (and why), or earned
/// (with what the cap held back and the streak day it counted for).
pub fn explain_entry(config: &RewardConfig, f: &EntryRewardFacts<'_>) -> EntryReward {
    let mut out = EntryReward {
        status: EntryRewardStatus::Pending,
        xp_earned: f.record.map_or(0, |r| r.xp_earned),
        worth: f.worth,
        capped: 0,
        streak_day: f.record.and_then(|r| r.streak_day),
        message: String::new(),
        notes: Vec::new(),
    };
    if f.imported {
        out.status = EntryRewardStatus::Imported;
        out.message = "Imported entries earn no XP and don't count towards streaks, badges or \
                       challenges: they record past work, not today's habit."
            .into();
        return out;
    }
    let record = match f.record {
        Some(r) if r.evaluated_versions.contains(&f.version) => r,
        _ => {
            out.message = "Its rewards are being worked out; they show here in a moment.".into();
            return out;
        }
    };
    out.capped = record.capped;
    match (&record.not_meaningful, record.xp_earned) {
        (Some(why), 0) => {
            out.status = EntryRewardStatus::NotMeaningful;
            out.message = not_meaningful_text(why);
        }
        (why, earned) => {
            out.status = EntryRewardStatus::Earned;
            out.message = format!("Earned {earned} XP.");
            if let Some(why) = why {
                out.notes.push(format!(
                    "That was an earlier version; this one earns nothing more. {}",
                    not_meaningful_text(why)
                ));
            }
        }
    }
    if record.capped > 0 {
        out.notes.push(format!(
            "{} XP more were held back: entry XP is capped at {} a day.",
            record.capped, config.max_daily_xp
        ));
    }
    match record.streak_day {
        Some(day) if day == f.date => out
            .notes
            .push(format!("It counts for your streak on {day}.")),
        Some(day) => out.notes.push(format!(
            "It counts for your streak on {day}, the day you wrote it, not on its date {}: \
             backdating an entry doesn't fill a past day.",
            f.date
        )),
        None if out.status == EntryRewardStatus::Earned && f.written_on != f.date => {
            out.notes.push(format!(
                "Its date is {}, but streaks count the day an entry is written.",
                f.date
            ));
        }
        None => {}
    }
    out
}

/// XP credited on one local day, by rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct DayXp {
    pub day: NaiveDate,
    /// Entry XP: the kind held to the daily cap.
    pub entry: u32,
    pub challenge: u32,
    pub grant: u32,
    pub total: u32,
}

/// Sums ledger amounts `(day, rule, amount)` per day over `from..=to`, oldest first; days
/// without XP are zeros and amounts outside the range are ignored. The dashboard's chart,
/// its "today" and the ledger all add up because they are all these sums.
pub fn xp_by_day(
    events: impl IntoIterator<Item = (NaiveDate, XpRule, u32)>,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<DayXp> {
    let mut days: Vec<DayXp> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|day| DayXp {
            day,
            ..DayXp::default()
        })
        .collect();
    for (day, rule, amount) in events {
        let Ok(i) = usize::try_from((day - from).num_days()) else {
            continue;
        };
        let Some(d) = days.get_mut(i) else { continue };
        let slot = match rule {
            XpRule::Entry => &mut d.entry,
            XpRule::Challenge => &mut d.challenge,
            XpRule::AdminGrant => &mut d.grant,
        };
        *slot = slot.saturating_add(amount);
        d.total = d.total.saturating_add(amount);
    }
    days
}

/// A badge earned or a challenge completed, to be shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unlock {
    /// `badge` or `challenge`.
    pub kind: &'static str,
    pub code: String,
    pub title: String,
    /// XP it brought (challenges; 0 for badges).
    pub xp: u32,
    pub at: DateTime<Utc>,
}

/// Unlocks after `seen_until`, newest first, at most `limit`: the held badges `(code,
/// awarded_at)` and the completed challenges.
pub fn unseen_unlocks(
    badges: &[(BadgeCode, DateTime<Utc>)],
    challenges: &[UserChallenge],
    seen_until: Option<DateTime<Utc>>,
    limit: usize,
) -> Vec<Unlock> {
    let new = |at: &DateTime<Utc>| seen_until.is_none_or(|s| *at > s);
    let mut out: Vec<Unlock> = badges
        .iter()
        .filter(|(_, at)| new(at))
        .map(|(code, at)| Unlock {
            kind: "badge",
            code: code.to_string(),
            title: code.definition().name.to_string(),
            xp: 0,
            at: *at,
        })
        .chain(challenges.iter().filter_map(|c| {
            let at = c.completed_at.filter(new)?;
            Some(Unlock {
                kind: "challenge",
                code: c.code.clone(),
                title: c.title.clone(),
                xp: c.xp_reward,
                at,
            })
        }))
        .collect();
    out.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.code.cmp(&b.code)));
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gamification::rules::state::EntryId;
    use crate::gamification::rules::ChallengeKind;
    use chrono::TimeZone;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).expect("date")
    }

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0)
            .single()
            .expect("time")
    }

    fn evaluated(xp: u32, streak_day: Option<NaiveDate>) -> EntryRecord {
        EntryRecord {
            xp_earned: xp,
            evaluated_versions: [1].into(),
            streak_day,
            ..EntryRecord::new(EntryId("e".into()))
        }
    }

    fn facts(record: Option<&EntryRecord>, date: NaiveDate) -> EntryRewardFacts<'_> {
        EntryRewardFacts {
            imported: false,
            date,
            written_on: day(7),
            version: 1,
            record,
            worth: XpBreakdown::default(),
        }
    }

    #[test]
    fn the_rules_text_quotes_the_config_in_force() {
        let c = RewardConfig {
            max_daily_xp: 150,
            freeze_every_days: 7,
            ..RewardConfig::default()
        };
        let text = rules_text(&c);
        let of = |t: &str| text.iter().find(|r| r.topic == t).expect(t).text.clone();
        assert!(of("daily_cap").starts_with("Entry XP is capped at 150 a day"));
        assert!(of("freezes").starts_with("Every 7 days of streak earn a freeze"));
        assert!(of("streak").contains("backdating an entry doesn't fill a past day"));
        assert_eq!(text.len(), 8);
    }

    #[test]
    fn an_imported_entry_says_why_it_earned_nothing() {
        let c = RewardConfig::default();
        let mut f = facts(None, day(1));
        f.imported = true;
        let r = explain_entry(&c, &f);
        assert_eq!((r.status, r.xp_earned), (EntryRewardStatus::Imported, 0));
        assert!(r.message.starts_with("Imported entries earn no XP"));
    }

    #[test]
    fn an_unevaluated_version_is_pending() {
        let c = RewardConfig::default();
        let r = explain_entry(&c, &facts(None, day(7)));
        assert_eq!(r.status, EntryRewardStatus::Pending);
        let mut old = evaluated(10, None);
        old.evaluated_versions = [1].into();
        let mut f = facts(Some(&old), day(7));
        f.version = 2;
        assert_eq!(explain_entry(&c, &f).status, EntryRewardStatus::Pending);
    }

    #[test]
    fn a_short_entry_says_how_short() {
        let c = RewardConfig::default();
        let mut rec = evaluated(0, None);
        rec.not_meaningful = Some(NotMeaningful::TooShort { length: 5, min: 20 });
        let r = explain_entry(&c, &facts(Some(&rec), day(7)));
        assert_eq!(r.status, EntryRewardStatus::NotMeaningful);
        assert_eq!(
            r.message,
            "Too short to earn XP: 5 characters of the 20 an entry needs."
        );
    }

    #[test]
    fn a_backdated_entry_says_which_day_its_streak_counted() {
        let c = RewardConfig::default();
        let mut rec = evaluated(41, Some(day(7)));
        rec.capped = 9;
        let r = explain_entry(&c, &facts(Some(&rec), day(2)));
        assert_eq!(
            (r.status, r.message.as_str()),
            (EntryRewardStatus::Earned, "Earned 41 XP.")
        );
        assert_eq!(r.notes.len(), 2);
        assert!(r.notes[0].starts_with("9 XP more were held back"));
        assert!(
            r.notes[1].contains("on 2026-12-07, the day you wrote it, not on its date 2026-12-02")
        );
        let same_day = explain_entry(&c, &facts(Some(&rec), day(7)));
        assert_eq!(
            same_day.notes[1],
            "It counts for your streak on 2026-12-07."
        );
    }

    #[test]
    fn xp_by_day_splits_rules_and_fills_empty_days() {
        let events = [
            (day(1), XpRule::Entry, 185),
            (day(1), XpRule::Challenge, 30),
            (day(3), XpRule::AdminGrant, 5),
            (day(9), XpRule::Entry, 50),
            (
                NaiveDate::from_ymd_opt(2026, 11, 30).expect("date"),
                XpRule::Entry,
                7,
            ),
        ];
        let days = xp_by_day(events, day(1), day(3));
        assert_eq!(days.len(), 3);
        assert_eq!(
            (days[0].entry, days[0].challenge, days[0].total),
            (185, 30, 215)
        );
        assert_eq!(days[1].total, 0);
        assert_eq!((days[2].grant, days[2].total), (5, 5));
    }

    #[test]
    fn unlocks_after_the_last_seen_time_newest_first() {
        let badges = [
            (BadgeCode::FirstEntry, at(1, 9)),
            (BadgeCode::Level5, at(3, 9)),
        ];
        let challenge = UserChallenge {
            code: "log_3_days".into(),
            title: "Log 3 days".into(),
            kind: ChallengeKind::LogDays,
            goal: 3,
            xp_reward: 30,
            progress: 3,
            completed_at: Some(at(2, 9)),
        };
        let open = UserChallenge {
            completed_at: None,
            code: "attach".into(),
            ..challenge.clone()
        };
        let all = unseen_unlocks(&badges, &[challenge.clone(), open], None, 10);
        let codes: Vec<&str> = all.iter().map(|u| u.code.as_str()).collect();
        assert_eq!(codes, ["level_5", "log_3_days", "first_entry"]);
        assert_eq!((all[1].kind, all[1].xp), ("challenge", 30));
        let since = unseen_unlocks(&badges, &[challenge], Some(at(2, 9)), 10);
        assert_eq!(since.len(), 1);
        assert_eq!(since[0].code, "level_5");
        assert_eq!(unseen_unlocks(&badges, &[], None, 1).len(), 1);
    }
}
