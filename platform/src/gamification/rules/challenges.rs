//! Weekly challenges: templates, a user's week, progress, completion XP and the sweep.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::calendar::{in_week, week_start};
use super::config::RewardConfig;
use super::error::RulesError;
use super::ledger::{challenge_event_key, XpEvent, XpSource};
use super::state::UserState;

/// What a challenge counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChallengeKind {
    /// Distinct local days in the week with a meaningful entry.
    LogDays,
    /// Attachments added to meaningful entries during the week.
    AttachEvidence,
    /// Meaningful entries that gained an outcome during the week.
    WriteOutcomes,
}

/// A weekly challenge template, part of the reward config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeTemplate {
    /// Stable code; also part of the completion's ledger key.
    pub code: String,
    /// Title shown to the user.
    pub title: String,
    /// What is counted.
    pub kind: ChallengeKind,
    /// Count needed to complete.
    pub goal: u32,
    /// XP granted once on completion.
    pub xp_reward: u32,
}

/// The three templates seeded by migration.
pub fn default_challenge_templates() -> Vec<ChallengeTemplate> {
    let t = |code: &str, title: &str, kind, goal, xp_reward| ChallengeTemplate {
        code: code.to_owned(),
        title: title.to_owned(),
        kind,
        goal,
        xp_reward,
    };
    vec![
        t(
            "log_days",
            "Log 5 days this week",
            ChallengeKind::LogDays,
            5,
            50,
        ),
        t(
            "attach_evidence",
            "Attach evidence 3 times",
            ChallengeKind::AttachEvidence,
            3,
            30,
        ),
        t(
            "write_outcomes",
            "Write 3 outcomes",
            ChallengeKind::WriteOutcomes,
            3,
            30,
        ),
    ]
}

/// One challenge in a user's week, snapshotted from its template when the week opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserChallenge {
    /// Template code.
    pub code: String,
    /// Title.
    pub title: String,
    /// What is counted.
    pub kind: ChallengeKind,
    /// Count needed.
    pub goal: u32,
    /// XP on completion.
    pub xp_reward: u32,
    /// Count so far (may pass the goal).
    pub progress: u32,
    /// When the goal was reached; set once.
    pub completed_at: Option<DateTime<Utc>>,
}

impl UserChallenge {
    /// Whether the goal was reached.
    pub fn is_completed(&self) -> bool {
        self.completed_at.is_some()
    }
}

/// A user's challenges for one local week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeWeek {
    /// Monday of the week.
    pub week_start: NaiveDate,
    /// Config version whose templates were snapshotted.
    pub config_version: u32,
    /// The challenges.
    pub challenges: Vec<UserChallenge>,
}

/// How a challenge ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChallengeResult {
    /// Goal reached during the week.
    Completed,
    /// The week ended first.
    Expired,
}

/// A challenge of a finished week, for the history list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedChallenge {
    /// Monday of its week.
    pub week_start: NaiveDate,
    /// Its final state.
    pub challenge: UserChallenge,
    /// How it ended.
    pub result: ChallengeResult,
}

/// What one evaluation adds to the count-based challenges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChallengeContribution {
    /// Attachments newly credited.
    pub attachments: u32,
    /// Outcomes newly credited.
    pub outcomes: u32,
}

/// Opens a week from the config's current templates, all at zero.
pub fn open_week(config: &RewardConfig, week_start: NaiveDate) -> ChallengeWeek {
    ChallengeWeek {
        week_start,
        config_version: config.version,
        challenges: config
            .challenges
            .iter()
            .map(|t| UserChallenge {
                code: t.code.clone(),
                title: t.title.clone(),
                kind: t.kind,
                goal: t.goal,
                xp_reward: t.xp_reward,
                progress: 0,
                completed_at: None,
            })
            .collect(),
    }
}

/// Turns a finished week into history records.
pub fn close_week(week: &ChallengeWeek) -> Vec<ClosedChallenge> {
    week.challenges
        .iter()
        .map(|c| ClosedChallenge {
            week_start: week.week_start,
            challenge: c.clone(),
            result: if c.is_completed() {
                ChallengeResult::Completed
            } else {
                ChallengeResult::Expired
            },
        })
        .collect()
}

/// A week change: the newly opened week and the closed challenges of the old one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekRoll {
    /// The opened week.
    pub week: ChallengeWeek,
    /// The previous week's challenges, closed.
    pub closed: Vec<ClosedChallenge>,
}

/// Moves to the week starting `target` if the current one is older (or absent).
/// Weeks only move forward, so a late event from a closed week never reopens it.
pub fn roll_week(
    config: &RewardConfig,
    current: Option<&ChallengeWeek>,
    target: NaiveDate,
) -> Option<WeekRoll> {
    match current {
        Some(week) if week.week_start >= target => None,
        Some(week) => Some(WeekRoll {
            week: open_week(config, target),
            closed: close_week(week),
        }),
        None => Some(WeekRoll {
            week: open_week(config, target),
            closed: Vec::new(),
        }),
    }
}

/// Result of updating a week's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeUpdate {
    /// The week after the update.
    pub week: ChallengeWeek,
    /// Challenges completed by this update.
    pub completed: Vec<UserChallenge>,
    /// Their XP events (outside the daily cap).
    pub events: Vec<XpEvent>,
}

/// Adds a contribution, recounts logged days from the active days, and completes
/// challenges whose goal is reached; a completed challenge never completes again.
pub fn update_challenges(
    config: &RewardConfig,
    week: &ChallengeWeek,
    active_days: &BTreeSet<NaiveDate>,
    contribution: ChallengeContribution,
    day: NaiveDate,
    at: DateTime<Utc>,
) -> ChallengeUpdate {
    // Recounting rather than incrementing keeps "log X days" right when entries arrive
    // out of order or two entries fall on one day.
    let logged_days = active_days
        .iter()
        .filter(|d| in_week(week.week_start, **d))
        .count();
    let logged_days = u32::try_from(logged_days).unwrap_or(u32::MAX);
    let mut next = week.clone();
    let mut completed = Vec::new();
    let mut events = Vec::new();
    for c in &mut next.challenges {
        c.progress = match c.kind {
            ChallengeKind::LogDays => logged_days,
            ChallengeKind::AttachEvidence => c.progress.saturating_add(contribution.attachments),
            ChallengeKind::WriteOutcomes => c.progress.saturating_add(contribution.outcomes),
        };
        if c.completed_at.is_none() && c.progress >= c.goal {
            c.completed_at = Some(at);
            completed.push(c.clone());
            if c.xp_reward > 0 {
                events.push(XpEvent {
                    idempotency_key: challenge_event_key(week.week_start, &c.code),
                    amount: c.xp_reward,
                    day,
                    occurred_at: at,
                    config_version: config.version,
                    source: XpSource::Challenge {
                        code: c.code.clone(),
                        week_start: week.week_start,
                    },
                });
            }
        }
    }
    ChallengeUpdate {
        week: next,
        completed,
        events,
    }
}

/// What the weekly sweep did for one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepOutcome {
    /// The user after the sweep.
    pub user: UserState,
    /// History records for the closed week (empty when nothing changed).
    pub closed: Vec<ClosedChallenge>,
    /// Monday of the week opened, if one was.
    pub opened: Option<NaiveDate>,
}

/// Closes the user's finished week into history and opens the current one; running it
/// again in the same week changes nothing. Weeks with no open challenges are skipped.
pub fn weekly_sweep(
    config: &RewardConfig,
    user: &UserState,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<SweepOutcome, RulesError> {
    config.validate()?;
    let mut next = user.clone();
    let target = week_start(tz, now);
    match roll_week(config, user.week.as_ref(), target) {
        None => Ok(SweepOutcome {
            user: next,
            closed: Vec::new(),
            opened: None,
        }),
        Some(roll) => {
            next.week = Some(roll.week);
            Ok(SweepOutcome {
                user: next,
                closed: roll.closed,
                opened: Some(target),
            })
        }
    }
}

/// The week's challenges as of `now`: the stored week if current, else a fresh one, so
/// a read before the sweep ran never shows last week's progress as this week's.
pub fn current_challenges(
    config: &RewardConfig,
    user: &UserState,
    tz: Tz,
    now: DateTime<Utc>,
) -> ChallengeWeek {
    let target = week_start(tz, now);
    match &user.week {
        Some(week) if week.week_start == target => week.clone(),
        _ => open_week(config, target),
    }
}

#[cfg(test)]
mod tests {
    use super::super::calendar::add_days;
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::America::New_York;

    fn monday() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, 3).expect("date")
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0)
            .single()
            .expect("time")
    }

    fn find(week: &ChallengeWeek, kind: ChallengeKind) -> &UserChallenge {
        week.challenges
            .iter()
            .find(|c| c.kind == kind)
            .expect("challenge present")
    }

    #[test]
    fn attach_challenge_completes_exactly_at_goal_and_pays_once() {
        let c = RewardConfig::default();
        let days = BTreeSet::new();
        let one = ChallengeContribution {
            attachments: 1,
            outcomes: 0,
        };
        let mut week = open_week(&c, monday());
        for expected_progress in 1..=2 {
            let u = update_challenges(&c, &week, &days, one, monday(), at());
            assert!(u.completed.is_empty() && u.events.is_empty());
            week = u.week;
            assert_eq!(
                find(&week, ChallengeKind::AttachEvidence).progress,
                expected_progress
            );
        }
        let u = update_challenges(&c, &week, &days, one, monday(), at());
        assert_eq!(u.completed.len(), 1);
        assert_eq!(u.events.len(), 1);
        assert_eq!(u.events[0].amount, 30);
        assert_eq!(
            u.events[0].idempotency_key,
            "challenge:2025-03-03:attach_evidence"
        );
        let u2 = update_challenges(&c, &u.week, &days, one, monday(), at());
        assert!(u2.completed.is_empty() && u2.events.is_empty());
        assert_eq!(find(&u2.week, ChallengeKind::AttachEvidence).progress, 4);
    }

    #[test]
    fn log_days_counts_distinct_days_in_the_week_only() {
        let c = RewardConfig::default();
        let week = open_week(&c, monday());
        // Sunday before, four days inside, next Monday: only the four count.
        let mut days: BTreeSet<NaiveDate> = [0u64, 1, 2, 3]
            .into_iter()
            .map(|n| add_days(monday(), n))
            .collect();
        days.insert(add_days(monday(), 7));
        days.insert(NaiveDate::from_ymd_opt(2025, 3, 2).expect("date"));
        let u = update_challenges(
            &c,
            &week,
            &days,
            ChallengeContribution::default(),
            monday(),
            at(),
        );
        assert_eq!(find(&u.week, ChallengeKind::LogDays).progress, 4);
        assert!(u.completed.is_empty());
        days.insert(add_days(monday(), 6));
        let u = update_challenges(
            &c,
            &u.week,
            &days,
            ChallengeContribution::default(),
            monday(),
            at(),
        );
        assert_eq!(find(&u.week, ChallengeKind::LogDays).progress, 5);
        assert_eq!(u.events.iter().map(|e| e.amount).sum::<u32>(), 50);
    }

    #[test]
    fn roll_week_only_moves_forward() {
        let c = RewardConfig::default();
        let week = open_week(&c, monday());
        assert!(roll_week(&c, Some(&week), monday()).is_none());
        assert!(roll_week(
            &c,
            Some(&week),
            add_days(monday(), 0).pred_opt().expect("date")
        )
        .is_none());
        let next = roll_week(&c, Some(&week), add_days(monday(), 7)).expect("rolled");
        assert_eq!(next.week.week_start, add_days(monday(), 7));
        assert_eq!(next.closed.len(), 3);
        assert!(next
            .closed
            .iter()
            .all(|h| h.result == ChallengeResult::Expired));
    }

    #[test]
    fn weekly_sweep_closes_once_at_monday_midnight_local() {
        let c = RewardConfig::default();
        let mut user = UserState::default();
        let mut week = open_week(&c, monday());
        week.challenges[0].completed_at = Some(at());
        week.challenges[0].progress = 5;
        user.week = Some(week);
        // Sunday 2025-03-09 23:59 EDT is 03:59 UTC Monday; still the old week locally.
        let sunday_late = Utc
            .with_ymd_and_hms(2025, 3, 10, 3, 59, 0)
            .single()
            .expect("time");
        let out = weekly_sweep(&c, &user, New_York, sunday_late).expect("valid");
        assert_eq!((out.opened, out.closed.len()), (None, 0));
        let monday_midnight = Utc
            .with_ymd_and_hms(2025, 3, 10, 4, 0, 0)
            .single()
            .expect("time");
        let out = weekly_sweep(&c, &user, New_York, monday_midnight).expect("valid");
        assert_eq!(out.opened, Some(add_days(monday(), 7)));
        assert_eq!(
            out.closed
                .iter()
                .filter(|h| h.result == ChallengeResult::Completed)
                .count(),
            1
        );
        assert_eq!(
            out.closed
                .iter()
                .filter(|h| h.result == ChallengeResult::Expired)
                .count(),
            2
        );
        let again = weekly_sweep(&c, &out.user, New_York, monday_midnight).expect("valid");
        assert_eq!((again.opened, again.closed.len()), (None, 0));
        assert_eq!(again.user, out.user);
    }

    #[test]
    fn template_edits_apply_from_the_next_week() {
        let mut c = RewardConfig::default();
        let week = open_week(&c, monday());
        c.version = 2;
        c.challenges[0].goal = 3;
        let u = update_challenges(
            &c,
            &week,
            &BTreeSet::new(),
            ChallengeContribution::default(),
            monday(),
            at(),
        );
        assert_eq!(find(&u.week, ChallengeKind::LogDays).goal, 5);
        assert_eq!(open_week(&c, add_days(monday(), 7)).challenges[0].goal, 3);
    }

    #[test]
    fn current_challenges_never_shows_a_stale_week() {
        let c = RewardConfig::default();
        let mut user = UserState::default();
        let mut old = open_week(&c, monday());
        old.challenges[0].progress = 4;
        user.week = Some(old);
        let next_week = Utc
            .with_ymd_and_hms(2025, 3, 12, 12, 0, 0)
            .single()
            .expect("time");
        let shown = current_challenges(&c, &user, New_York, next_week);
        assert_eq!(shown.week_start, add_days(monday(), 7));
        assert!(shown.challenges.iter().all(|ch| ch.progress == 0));
    }
}
