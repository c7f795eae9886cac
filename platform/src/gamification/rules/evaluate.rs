//! `gamification.reward_evaluate` as one pure function over loaded state.

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::badges::{award_badges, BadgeAward};
use super::calendar::{local_day, week_start};
use super::challenges::{
    roll_week, update_challenges, ChallengeContribution, ClosedChallenge, UserChallenge,
};
use super::config::RewardConfig;
use super::error::RulesError;
use super::ledger::{apply_event, entry_event_key, XpEvent, XpSource};
use super::meaningful::{is_meaningful_entry, NotMeaningful, PriorEntry};
use super::state::{EntryFacts, EntryId, EntryRecord, UserState};
use super::streak::update_streak;
use super::xp::{apply_daily_cap, compute_xp, xp_owed, XpBreakdown};

/// Whether an evaluation changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationStatus {
    /// First evaluation of this (entry, version): results must be persisted.
    Applied,
    /// This (entry, version) was evaluated before: nothing to persist.
    AlreadyApplied,
}

/// Everything one evaluation decided; persist `user`, `record`, `ledger`,
/// `badges_awarded` and `challenges_closed` together, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Applied, or a no-op repeat.
    pub status: EvaluationStatus,
    /// The entry evaluated.
    pub entry_id: EntryId,
    /// The version evaluated.
    pub entry_version: u32,
    /// Config version used.
    pub config_version: u32,
    /// Meaningful, or why not (recomputed, for information only, on a repeat).
    pub meaningful: Result<(), NotMeaningful>,
    /// What the version's attributes are worth (before meaningfulness and the cap).
    pub xp: XpBreakdown,
    /// The version's value: `xp.total` if meaningful, else 0.
    pub entry_value: u32,
    /// What the entry had earned before this version.
    pub previously_earned: u32,
    /// Entry XP granted now.
    pub xp_granted: u32,
    /// Entry XP held back by the daily cap.
    pub xp_capped: u32,
    /// Local day credited to the streak by this evaluation, if any.
    pub streak_day: Option<NaiveDate>,
    /// Freezes spent because of this evaluation.
    pub freezes_used: u32,
    /// Freezes earned because of this evaluation.
    pub freezes_earned: u32,
    /// Badges newly awarded.
    pub badges_awarded: Vec<BadgeAward>,
    /// Challenges completed.
    pub challenges_completed: Vec<UserChallenge>,
    /// Challenges of a previous week closed because this event opened a new week.
    pub challenges_closed: Vec<ClosedChallenge>,
    /// XP events to append (entry grant first, then challenge rewards).
    pub ledger: Vec<XpEvent>,
    /// The user's state afterwards.
    pub user: UserState,
    /// The entry's record afterwards.
    pub record: EntryRecord,
}

fn check_input(record: &EntryRecord, entry: &EntryFacts) -> Result<(), RulesError> {
    if record.entry_id != entry.entry_id {
        return Err(RulesError::RecordMismatch {
            record: record.entry_id.clone(),
            entry: entry.entry_id.clone(),
        });
    }
    if entry.version == 0 {
        return Err(RulesError::ZeroVersion {
            entry_id: entry.entry_id.clone(),
        });
    }
    if entry.version_at < entry.created_at {
        return Err(RulesError::VersionBeforeCreation {
            entry_id: entry.entry_id.clone(),
            version: entry.version,
        });
    }
    Ok(())
}

/// Evaluates one entry version: meaningfulness, XP with caps, streak, challenges, badges
/// and ledger events. Idempotent per (entry id, version).
///
/// `prior_entries` are the user's other entries created in
/// [`super::prior_entries_window`]; `record` is this entry's record (or
/// [`EntryRecord::new`] for a new entry). Badges run after challenges so that challenge
/// XP which lifts the level is seen by the level badges in the same evaluation.
pub fn evaluate(
    config: &RewardConfig,
    user: &UserState,
    record: &EntryRecord,
    entry: &EntryFacts,
    prior_entries: &[PriorEntry],
    tz: Tz,
) -> Result<Evaluation, RulesError> {
    config.validate()?;
    check_input(record, entry)?;

    let meaningful = is_meaningful_entry(config, entry, prior_entries);
    let xp = compute_xp(config, entry);
    let entry_value = if meaningful.is_ok() { xp.total } else { 0 };
    let mut out = Evaluation {
        status: EvaluationStatus::AlreadyApplied,
        entry_id: entry.entry_id.clone(),
        entry_version: entry.version,
        config_version: config.version,
        meaningful,
        xp,
        entry_value,
        previously_earned: record.xp_earned,
        xp_granted: 0,
        xp_capped: 0,
        streak_day: None,
        freezes_used: 0,
        freezes_earned: 0,
        badges_awarded: Vec::new(),
        challenges_completed: Vec::new(),
        challenges_closed: Vec::new(),
        ledger: Vec::new(),
        user: user.clone(),
        record: record.clone(),
    };
    if record.evaluated_versions.contains(&entry.version) {
        return Ok(out);
    }
    out.status = EvaluationStatus::Applied;
    out.record.evaluated_versions.insert(entry.version);

    let created_day = local_day(tz, entry.created_at);
    let event_day = local_day(tz, entry.version_at);

    // XP: only what this version adds over what the entry already earned, within the cap
    // of the day the version happened.
    let owed = xp_owed(entry_value, record.xp_earned);
    let grant = apply_daily_cap(config, out.user.entry_xp_on(event_day), owed);
    out.xp_granted = grant.granted;
    out.xp_capped = grant.capped;
    out.record.not_meaningful = out.meaningful.clone().err();
    out.record.capped = grant.capped;
    if grant.granted > 0 {
        let event = XpEvent {
            idempotency_key: entry_event_key(&entry.entry_id, entry.version),
            amount: grant.granted,
            day: event_day,
            occurred_at: entry.version_at,
            config_version: config.version,
            source: XpSource::Entry {
                entry_id: entry.entry_id.clone(),
                entry_version: entry.version,
                value: entry_value,
                previously_earned: record.xp_earned,
                capped: grant.capped,
            },
        };
        apply_event(&mut out.user, &event);
        out.record.xp_earned = out.record.xp_earned.saturating_add(grant.granted);
        out.ledger.push(event);
    }

    // Counters and streak: only meaningful versions count, and each entry counts once
    // (attachments by high-water mark).
    let mut contribution = ChallengeContribution::default();
    if out.meaningful.is_ok() {
        let rec = &mut out.record;
        let u = &mut out.user;
        if !rec.counted_meaningful {
            rec.counted_meaningful = true;
            u.meaningful_entries = u.meaningful_entries.saturating_add(1);
        }
        if entry.attachment_count > rec.attachments_counted {
            contribution.attachments = entry.attachment_count - rec.attachments_counted;
            rec.attachments_counted = entry.attachment_count;
            u.attachments = u.attachments.saturating_add(contribution.attachments);
        }
        if entry.has_outcome && !rec.outcome_counted {
            rec.outcome_counted = true;
            contribution.outcomes = 1;
            u.outcomes = u.outcomes.saturating_add(1);
        }
        // An entry made meaningful on a later day does not rebuild that past day.
        if rec.streak_day.is_none() && created_day == event_day {
            let update = update_streak(config, &u.streak, created_day);
            rec.streak_day = Some(created_day);
            u.streak = update.state;
            out.streak_day = Some(created_day);
            out.freezes_used = update.freezes_used;
            out.freezes_earned = update.freezes_earned;
        }
    }

    // Challenges: move to the event's week if it is newer, and credit only that week.
    let event_week = week_start(tz, entry.version_at);
    if let Some(roll) = roll_week(config, out.user.week.as_ref(), event_week) {
        out.user.week = Some(roll.week);
        out.challenges_closed = roll.closed;
    }
    if let Some(week) = out
        .user
        .week
        .as_ref()
        .filter(|w| w.week_start == event_week)
    {
        let update = update_challenges(
            config,
            week,
            &out.user.streak.active_days,
            contribution,
            event_day,
            entry.version_at,
        );
        for event in &update.events {
            apply_event(&mut out.user, event);
        }
        out.user.week = Some(update.week);
        out.challenges_completed = update.completed;
        out.ledger.extend(update.events);
    }

    for code in award_badges(config, &out.user) {
        out.user.badges.insert(code);
        out.badges_awarded.push(BadgeAward {
            code,
            awarded_at: entry.version_at,
            entry_id: Some(entry.entry_id.clone()),
            entry_version: Some(entry.version),
            config_version: config.version,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{Harness, Spec};
    use super::super::{BadgeCode, ChallengeKind, StreakStatus};
    use super::*;
    use chrono::{DateTime, Duration, Utc};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    fn utc_harness() -> (Harness, NaiveDate) {
        // 2025-03-03 is a Monday.
        (Harness::new(Tz::UTC), day(2025, 3, 3))
    }

    #[test]
    fn a_plain_first_entry_grants_base_xp_streak_and_first_entry_badge() {
        let (mut h, monday) = utc_harness();
        let out = h.create(h.local(monday, 9, 0), Spec::plain("a"));
        assert_eq!(out.status, EvaluationStatus::Applied);
        assert_eq!(out.meaningful, Ok(()));
        assert_eq!((out.xp_granted, out.xp_capped), (10, 0));
        assert_eq!(out.streak_day, Some(monday));
        assert_eq!(h.user.streak.current, 1);
        assert_eq!(
            out.badges_awarded
                .iter()
                .map(|b| b.code)
                .collect::<Vec<_>>(),
            vec![BadgeCode::FirstEntry]
        );
        assert_eq!(out.ledger.len(), 1);
        assert_eq!(out.ledger[0].idempotency_key, "entry:e00001:v1");
        assert_eq!(out.ledger[0].config_version, 1);
        assert_eq!(h.user.total_xp, 10);
    }

    #[test]
    fn the_grant_that_crosses_the_daily_cap_is_cut_to_what_fits() {
        let (mut h, monday) = utc_harness();
        h.user.total_xp = 190;
        h.user.entry_xp_by_day.insert(monday, 190);
        let out = h.create(h.local(monday, 9, 0), Spec::plain("a").with_outcome());
        assert_eq!(out.entry_value, 25);
        assert_eq!((out.xp_granted, out.xp_capped), (10, 15));
        assert_eq!(h.user.entry_xp_on(monday), 200);
        assert_eq!(h.user.total_xp, 200);
        assert_eq!(h.records[&out.entry_id].xp_earned, 10);
        let next = h.create(h.local(monday, 9, 5), Spec::plain("b"));
        assert_eq!((next.xp_granted, next.xp_capped), (0, 10));
        assert!(next.ledger.is_empty());
        // The cap is per local day: the next day starts fresh.
        let tuesday = h.create(h.local(monday + Duration::days(1), 0, 1), Spec::plain("c"));
        assert_eq!(tuesday.xp_granted, 10);
    }

    #[test]
    fn evaluating_the_same_version_twice_changes_nothing() {
        let (mut h, monday) = utc_harness();
        let first = h.create(h.local(monday, 9, 0), Spec::plain("a").with_attachments(1));
        let before = h.user.clone();
        let facts = h.latest[&first.entry_id].clone();
        let again = h.evaluate(facts);
        assert_eq!(again.status, EvaluationStatus::AlreadyApplied);
        assert!(again.ledger.is_empty() && again.badges_awarded.is_empty());
        assert_eq!((again.xp_granted, again.streak_day), (0, None));
        assert_eq!(h.user, before);
        assert_eq!(again.record, h.records[&first.entry_id]);
    }

    #[test]
    fn edits_grant_only_the_positive_difference_and_never_claw_back() {
        let (mut h, monday) = utc_harness();
        let t = |m: i64| h.local(monday, 9, 0) + Duration::minutes(m);
        let (t1, t2, t3, t4) = (t(0), t(10), t(20), t(30));
        let v1 = h.create(t1, Spec::plain("a"));
        let id = v1.entry_id.clone();
        assert_eq!(v1.xp_granted, 10);
        let v2 = h.edit(&id, t2, Spec::plain("a").with_outcome().with_attachments(2));
        assert_eq!(
            (v2.entry_value, v2.previously_earned, v2.xp_granted),
            (35, 10, 25)
        );
        // Edited down to something not meaningful: nothing granted, nothing taken.
        let v3 = h.edit(
            &id,
            t3,
            Spec {
                content: "too short".into(),
                tags: 0,
                attachments: 0,
                outcome: false,
            },
        );
        assert!(matches!(v3.meaningful, Err(NotMeaningful::TooShort { .. })));
        assert_eq!((v3.entry_value, v3.xp_granted), (0, 0));
        assert!(v3.ledger.is_empty());
        assert_eq!(h.user.total_xp, 35);
        // Restored: it already earned 35, so nothing more.
        let v4 = h.edit(&id, t4, Spec::plain("a").with_outcome().with_attachments(2));
        assert_eq!(v4.xp_granted, 0);
        assert_eq!(h.user.total_xp, 35);
        // Counted once: one meaningful entry, two attachments, one outcome.
        assert_eq!(
            (
                h.user.meaningful_entries,
                h.user.attachments,
                h.user.outcomes
            ),
            (1, 2, 1)
        );
    }

    #[test]
    fn xp_withheld_by_the_cap_can_be_earned_by_a_later_version_on_a_later_day() {
        let (mut h, monday) = utc_harness();
        h.user.total_xp = 190;
        h.user.entry_xp_by_day.insert(monday, 190);
        let v1 = h.create(h.local(monday, 9, 0), Spec::plain("a").with_outcome());
        assert_eq!(v1.xp_granted, 10);
        let v2 = h.edit(
            &v1.entry_id,
            h.local(monday + Duration::days(1), 8, 0),
            Spec::plain("a").with_outcome(),
        );
        assert_eq!((v2.previously_earned, v2.xp_granted), (10, 15));
        assert_eq!(v2.ledger[0].day, monday + Duration::days(1));
        assert_eq!(h.records[&v1.entry_id].xp_earned, 25);
    }

    #[test]
    fn a_not_meaningful_entry_earns_nothing_and_counts_nothing() {
        let (mut h, monday) = utc_harness();
        let out = h.create(
            h.local(monday, 9, 0),
            Spec {
                content: "a".repeat(19),
                tags: 5,
                attachments: 3,
                outcome: true,
            },
        );
        assert_eq!(
            out.meaningful,
            Err(NotMeaningful::TooShort {
                length: 19,
                min: 20
            })
        );
        assert_eq!(out.xp.total, 10 + 15 + 15 + 15);
        assert_eq!(
            (out.entry_value, out.xp_granted, out.streak_day),
            (0, 0, None)
        );
        assert_eq!(h.user.total_xp, 0);
        assert_eq!(
            (
                h.user.meaningful_entries,
                h.user.attachments,
                h.user.outcomes
            ),
            (0, 0, 0)
        );
        assert!(h.user.badges.is_empty());
        assert_eq!(h.user.streak.current, 0);
    }

    #[test]
    fn an_entry_made_meaningful_on_a_later_day_earns_xp_but_not_its_streak_day() {
        let (mut h, monday) = utc_harness();
        let stub = h.create(
            h.local(monday, 23, 0),
            Spec {
                content: "wip".into(),
                tags: 0,
                attachments: 0,
                outcome: false,
            },
        );
        let filled = h.edit(
            &stub.entry_id,
            h.local(monday + Duration::days(1), 9, 0),
            Spec::plain("late"),
        );
        assert_eq!(filled.xp_granted, 10);
        assert_eq!(filled.streak_day, None);
        assert!(h.user.streak.active_days.is_empty());
        // The same edit before local midnight does count.
        let stub2 = h.create(
            h.local(monday + Duration::days(2), 9, 0),
            Spec {
                content: "wip2".into(),
                tags: 0,
                attachments: 0,
                outcome: false,
            },
        );
        let filled2 = h.edit(
            &stub2.entry_id,
            h.local(monday + Duration::days(2), 23, 59),
            Spec::plain("same-day"),
        );
        assert_eq!(filled2.streak_day, Some(monday + Duration::days(2)));
    }

    #[test]
    fn the_eleventh_entry_in_an_hour_is_rate_limited_through_evaluate() {
        let (mut h, monday) = utc_harness();
        for i in 0..10 {
            let out = h.create(h.local(monday, 9, i * 5), Spec::plain(&format!("n{i}")));
            assert_eq!(out.meaningful, Ok(()), "entry {i}");
        }
        let eleventh = h.create(h.local(monday, 9, 50), Spec::plain("n10"));
        assert_eq!(
            eleventh.meaningful,
            Err(NotMeaningful::RateLimited {
                entries_in_last_hour: 10,
                max: 10
            })
        );
        assert_eq!(h.user.total_xp, 100);
        assert!(h.user.badges.contains(&BadgeCode::Entries10));
    }

    #[test]
    fn a_near_duplicate_earns_nothing() {
        let (mut h, monday) = utc_harness();
        h.create(h.local(monday, 9, 0), Spec::plain("a"));
        let copy = h.create(h.local(monday, 10, 0), Spec::plain("a"));
        assert!(matches!(
            copy.meaningful,
            Err(NotMeaningful::NearDuplicate {
                similarity_percent: 100,
                ..
            })
        ));
        assert_eq!(copy.xp_granted, 0);
        assert_eq!(h.user.meaningful_entries, 1);
    }

    #[test]
    fn challenge_completes_exactly_at_goal_via_attachments_and_pays_once() {
        let (mut h, monday) = utc_harness();
        let a = h.create(h.local(monday, 9, 0), Spec::plain("a").with_attachments(1));
        assert!(a.challenges_completed.is_empty());
        // An attachment upload is a new version with one more attachment.
        let up = h.edit(
            &a.entry_id,
            h.local(monday, 9, 30),
            Spec::plain("a").with_attachments(2),
        );
        assert!(up.challenges_completed.is_empty());
        let c = h.create(h.local(monday, 10, 0), Spec::plain("c").with_attachments(1));
        assert_eq!(c.challenges_completed.len(), 1);
        assert_eq!(
            c.challenges_completed[0].kind,
            ChallengeKind::AttachEvidence
        );
        let challenge_events: Vec<_> = c
            .ledger
            .iter()
            .filter(|e| e.rule() == super::super::XpRule::Challenge)
            .collect();
        assert_eq!(challenge_events.len(), 1);
        assert_eq!(challenge_events[0].amount, 30);
        let d = h.create(h.local(monday, 11, 0), Spec::plain("d").with_attachments(3));
        assert!(d.challenges_completed.is_empty());
        let week = h.user.week.as_ref().expect("week open");
        let attach = week
            .challenges
            .iter()
            .find(|ch| ch.kind == ChallengeKind::AttachEvidence)
            .expect("present");
        assert_eq!(attach.progress, 6);
        // Entry XP: a 10+5=15, upload +5, c 15, d 10+15=25 = 60; challenge 30.
        assert_eq!(h.user.total_xp, 90);
        assert_eq!(h.ledger_sum(), 90);
    }

    #[test]
    fn challenge_xp_does_not_count_towards_the_daily_cap() {
        let (mut h, monday) = utc_harness();
        h.user.total_xp = 195;
        h.user.entry_xp_by_day.insert(monday, 195);
        for (i, minute) in [0u32, 10, 20].into_iter().enumerate() {
            h.create(
                h.local(monday, 9, minute),
                Spec::plain(&format!("o{i}")).with_outcome(),
            );
        }
        // 5 entry XP fit under the cap; the outcome challenge still pays its 30.
        assert_eq!(h.user.entry_xp_on(monday), 200);
        assert_eq!(h.user.total_xp, 195 + 5 + 30);
        assert_eq!(h.ledger_sum(), 35);
    }

    #[test]
    fn challenge_xp_that_lifts_the_level_awards_the_level_badge_in_the_same_evaluation() {
        let (mut h, monday) = utc_harness();
        h.user.total_xp = 350;
        h.user.week = Some(super::super::open_week(&h.config, monday));
        for d in 0..4 {
            h.user.streak.active_days.insert(monday + Duration::days(d));
        }
        // Fifth day: 10 entry XP + 50 for "log 5 days" = 410, level 5.
        let out = h.create(
            h.local(monday + Duration::days(4), 9, 0),
            Spec::plain("fifth"),
        );
        assert_eq!(out.challenges_completed.len(), 1);
        assert_eq!(h.user.total_xp, 410);
        assert!(out
            .badges_awarded
            .iter()
            .any(|b| b.code == BadgeCode::Level5));
    }

    #[test]
    fn out_of_order_evaluations_end_in_the_same_state() {
        let build = |order: &[usize]| {
            let (mut h, monday) = utc_harness();
            let facts: Vec<EntryFacts> = (0..4)
                .map(|i| {
                    let at: DateTime<Utc> = h.local(monday + Duration::days(i as i64), 23, 50);
                    EntryFacts {
                        entry_id: EntryId(format!("x{i}")),
                        version: 1,
                        content: Spec::plain(&format!("x{i}")).content,
                        tag_count: 0,
                        attachment_count: 0,
                        has_outcome: false,
                        created_at: at,
                        version_at: at,
                    }
                })
                .collect();
            for &i in order {
                h.evaluate(facts[i].clone());
            }
            h.user
        };
        let in_order = build(&[0, 1, 2, 3]);
        let shuffled = build(&[1, 3, 0, 2]);
        assert_eq!(in_order.streak, shuffled.streak);
        assert_eq!(in_order.streak.current, 4);
        assert_eq!(in_order.total_xp, shuffled.total_xp);
    }

    #[test]
    fn a_late_event_from_a_closed_week_is_not_credited_to_the_new_week() {
        let (mut h, monday) = utc_harness();
        let next_monday = monday + Duration::days(7);
        h.sweep(h.local(next_monday, 0, 0));
        assert_eq!(
            h.user.week.as_ref().map(|w| w.week_start),
            Some(next_monday)
        );
        // Created Sunday 23:59, evaluated after the sweep: XP and streak yes, challenge no.
        let out = h.create(
            h.local(monday + Duration::days(6), 23, 59),
            Spec::plain("late").with_attachments(1),
        );
        assert_eq!(out.xp_granted, 15);
        assert_eq!(out.streak_day, Some(monday + Duration::days(6)));
        let week = h.user.week.as_ref().expect("week");
        assert_eq!(week.week_start, next_monday);
        assert!(week.challenges.iter().all(|c| c.progress == 0));
    }

    #[test]
    fn a_reader_on_a_later_day_sees_the_streak_bridged_then_broken() {
        let (mut h, monday) = utc_harness();
        for d in 0..7 {
            h.create(
                h.local(monday + Duration::days(d), 12, 0),
                Spec::plain(&format!("d{d}")),
            );
        }
        let s = super::super::summary(
            &h.config,
            &h.user,
            h.tz,
            h.local(monday + Duration::days(8), 12, 0),
        );
        assert_eq!(s.streak.status, StreakStatus::Bridged { missed_days: 1 });
        assert_eq!((s.streak.current, s.streak.freezes), (7, 0));
        let s = super::super::summary(
            &h.config,
            &h.user,
            h.tz,
            h.local(monday + Duration::days(9), 12, 0),
        );
        assert_eq!(s.streak.status, StreakStatus::Broken { missed_days: 2 });
        assert_eq!(s.streak.current, 0);
        // Seven entries (70) plus "log 5 days" (50): 120 XP is level 2.
        assert_eq!(s.total_xp, 70 + 50);
        assert_eq!(s.level.level, 2);
    }

    #[test]
    fn bad_input_is_rejected() {
        let c = RewardConfig::default();
        let user = UserState::default();
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let facts = EntryFacts {
            entry_id: "a".into(),
            version: 1,
            content: "x".repeat(30),
            tag_count: 0,
            attachment_count: 0,
            has_outcome: false,
            created_at: at,
            version_at: at,
        };
        let wrong = EntryRecord::new("b".into());
        assert!(matches!(
            evaluate(&c, &user, &wrong, &facts, &[], Tz::UTC),
            Err(RulesError::RecordMismatch { .. })
        ));
        let rec = EntryRecord::new("a".into());
        let v0 = EntryFacts {
            version: 0,
            ..facts.clone()
        };
        assert!(matches!(
            evaluate(&c, &user, &rec, &v0, &[], Tz::UTC),
            Err(RulesError::ZeroVersion { .. })
        ));
        let early = EntryFacts {
            version_at: at - Duration::seconds(1),
            ..facts.clone()
        };
        assert!(matches!(
            evaluate(&c, &user, &rec, &early, &[], Tz::UTC),
            Err(RulesError::VersionBeforeCreation { .. })
        ));
        let bad = RewardConfig {
            xp_per_level: 0,
            ..RewardConfig::default()
        };
        assert!(matches!(
            evaluate(&bad, &user, &rec, &facts, &[], Tz::UTC),
            Err(RulesError::InvalidConfig(_))
        ));
    }

    #[test]
    fn state_and_evaluation_round_trip_through_json() {
        let (mut h, monday) = utc_harness();
        let out = h.create(
            h.local(monday, 9, 0),
            Spec::plain("a").with_outcome().with_attachments(1),
        );
        let json = serde_json::to_string(&out).expect("serialize");
        let back: Evaluation = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, out);
        let user_json = serde_json::to_value(&h.user).expect("serialize");
        assert_eq!(user_json["entry_xp_by_day"]["2025-03-03"], 30);
        assert_eq!(user_json["badges"][0], "first_entry");
        let user: UserState = serde_json::from_value(user_json).expect("deserialize");
        assert_eq!(user, h.user);
    }
}
