//! A 120-day calendar simulation for three users in three timezones, checked against
//! expectations computed by hand in the comments.
//!
//! Day `i` is the local date 2025-02-24 (a Monday) + i, so week `w` is days 7w..=7w+6.
//! Before each day's entries the weekly sweep runs at local midnight (a no-op except on
//! Mondays). Defaults apply: base 10 XP, +5/attachment, +3/tag (cap 15), +10 for 200+
//! chars, +15 outcome, daily cap 200, freeze every 7 streak days (max 3), challenges
//! "log 5 days" (+50), "attach evidence 3 times" (+30), "write 3 outcomes" (+30).

use chrono::{Days, NaiveDate};
use chrono_tz::Tz;

use super::test_support::{Harness, Spec};
use super::{
    level_for, streak_as_of, BadgeCode, ChallengeKind, ChallengeResult, NotMeaningful, StreakState,
    StreakStatus, XpRule,
};

const DAYS: u64 = 120;

fn date(i: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 2, 24)
        .and_then(|d| d.checked_add_days(Days::new(i)))
        .expect("simulation date")
}

/// The headline numbers after a day's entries, for checkpoint assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snap {
    current: u32,
    longest: u32,
    freezes: u32,
    total_xp: u64,
}

/// Everything kept about a day, for read-side checks on later days.
struct Day {
    snap: Snap,
    streak: StreakState,
    badges: Vec<BadgeCode>,
}

type Plan = fn(u64) -> Vec<(u32, u32, Spec)>;

/// Runs one user's plan; returns the harness and the state after each day.
fn run(tz: Tz, plan: Plan) -> (Harness, Vec<Day>) {
    let mut h = Harness::new(tz);
    let mut days = Vec::new();
    for i in 0..DAYS {
        h.sweep(h.local(date(i), 0, 0));
        for (hour, minute, spec) in plan(i) {
            h.create(h.local(date(i), hour, minute), spec);
        }
        let s = &h.user.streak;
        days.push(Day {
            snap: Snap {
                current: s.current,
                longest: s.longest,
                freezes: s.freezes,
                total_xp: h.user.total_xp,
            },
            streak: s.clone(),
            badges: badges(&h),
        });
        // Invariants that hold every day for every user.
        assert_eq!(h.ledger_sum(), h.user.total_xp, "ledger sum on day {i}");
        assert!(
            h.user.entry_xp_by_day.values().all(|&xp| xp <= 200),
            "cap on day {i}"
        );
        assert!(s.longest >= s.current);
        assert_eq!(s.freezes, s.freezes_earned_total - s.freezes_used_total);
    }
    (h, days)
}

fn snap(current: u32, longest: u32, freezes: u32, total_xp: u64) -> Snap {
    Snap {
        current,
        longest,
        freezes,
        total_xp,
    }
}

fn badges(h: &Harness) -> Vec<BadgeCode> {
    h.user.badges.iter().copied().collect()
}

fn completed_challenges(h: &Harness, kind: ChallengeKind) -> usize {
    h.closed
        .iter()
        .filter(|c| c.challenge.kind == kind && c.result == ChallengeResult::Completed)
        .count()
}

fn xp_by_rule(h: &Harness, rule: XpRule) -> u64 {
    h.ledger
        .iter()
        .filter(|e| e.rule() == rule)
        .map(|e| u64::from(e.amount))
        .sum()
}

/// New York: plain 10-XP entries. Days 0-29 at 23:55, days 32-40 at 00:05, days 44-119
/// at 23:55 except day 80. Crosses the DST start on day 13 (Sunday 2025-03-09).
fn new_york_plan(i: u64) -> Vec<(u32, u32, Spec)> {
    let seed = format!("ny{i}");
    match i {
        0..=29 | 44..=79 | 81..=119 => vec![(23, 55, Spec::plain(&seed))],
        32..=40 => vec![(0, 5, Spec::plain(&seed))],
        _ => vec![],
    }
}

#[test]
fn new_york_streak_with_bridged_and_unbridged_gaps_across_dst() {
    let (h, days) = run(chrono_tz::America::New_York, new_york_plan);
    let s: Vec<&Snap> = days.iter().map(|d| &d.snap).collect();

    // Days 0-6: runs 1..7, a freeze at 7. XP 7*10 + "log 5 days" on day 4 (+50) = 120.
    assert_eq!(*s[6], snap(7, 7, 1, 120));
    // Days 0-29: run 30; freezes at 7, 14, 21 (the one at 28 would exceed 3).
    // XP 30*10 + weeks 0-3 each completed "log 5 days" (4*50) = 500, level 6.
    assert_eq!(*s[29], snap(30, 30, 3, 500));
    assert_eq!(level_for(&h.config, s[29].total_xp), 6);
    // Read on day 31, nothing logged on days 30-31: day 30 is paid by a freeze.
    let saved = streak_as_of(&days[31].streak, date(31));
    assert_eq!(saved.status, StreakStatus::Bridged { missed_days: 1 });
    assert_eq!((saved.current, saved.freezes), (30, 2));
    // Day 32 at 00:05 local: 2 missed days (30, 31) use 2 freezes; run 31. In UTC the
    // previous entry (day 29 23:55 EDT = day 30 03:55Z) is only one day earlier, so a
    // UTC-based day would have used one freeze: this pins the local-day rule.
    assert_eq!(*s[32], snap(31, 31, 1, 510));
    // Days 33-40: run 39; a freeze at run 35 (day 36). Week 4 (28,29,32,33,34) completed
    // on day 34, week 5 on day 39: XP 39*10 + 6*50 = 690.
    assert_eq!(*s[40], snap(39, 39, 2, 690));
    // Read on day 43 (41, 42 missed): both freezes pay; on day 44 a third day is missed.
    let v43 = streak_as_of(&days[43].streak, date(43));
    assert_eq!(
        (v43.status, v43.current, v43.freezes),
        (StreakStatus::Bridged { missed_days: 2 }, 39, 0)
    );
    let v44 = streak_as_of(&days[43].streak, date(44));
    assert_eq!(
        (v44.status, v44.current),
        (StreakStatus::Broken { missed_days: 3 }, 0)
    );
    // Day 44: 3 missed days, 2 freezes: both are spent, the run restarts at 1.
    assert_eq!(*s[44], snap(1, 39, 0, 700));
    // Days 44-79: run 36; freezes at runs 7, 14, 21 -> 3 (28 and 35 capped).
    assert_eq!((s[79].current, s[79].freezes), (36, 3));
    // Day 81: day 80 is bridged (freezes 3 -> 2), run 37; a freeze back at run 42 (day 86).
    assert_eq!((s[81].current, s[81].freezes), (37, 2));
    assert_eq!((s[86].current, s[86].freezes), (42, 3));

    // Final: run 36 + 39 = 75 active days. Entries 30 + 9 + 75 = 114 -> 1140 XP.
    // "Log 5 days" completed in weeks 0-16 (week 4 with exactly 5 days, week 6 with
    // 44-48 = 5, week 11 with 6); week 17 has only day 119 -> 17*50 = 850. Total 1990.
    assert_eq!(*s[119], snap(75, 75, 3, 1990));
    assert_eq!(h.user.streak.freezes_earned_total, 8);
    assert_eq!(h.user.streak.freezes_used_total, 5);
    assert_eq!(h.user.meaningful_entries, 114);
    assert_eq!(xp_by_rule(&h, XpRule::Entry), 1140);
    assert_eq!(xp_by_rule(&h, XpRule::Challenge), 850);
    assert_eq!(level_for(&h.config, h.user.total_xp), 20);
    assert_eq!(completed_challenges(&h, ChallengeKind::LogDays), 17);
    assert_eq!(completed_challenges(&h, ChallengeKind::AttachEvidence), 0);
    // The sweep on day 119 closed weeks 0-16: 17 weeks of 3 challenges.
    assert_eq!(h.closed.len(), 51);
    assert_eq!(
        badges(&h),
        vec![
            BadgeCode::FirstEntry,
            BadgeCode::Streak7,
            BadgeCode::Streak30,
            BadgeCode::Entries10,
            BadgeCode::Entries50,
            BadgeCode::Entries100,
            BadgeCode::Level5,
            BadgeCode::Level10,
        ]
    );
    // Each badge was awarded exactly once over 114 evaluations.
    assert_eq!(h.badge_awards.len(), 8);
}

/// Kolkata: one "rich" entry a day (1 attachment + outcome = 30 XP), alternating
/// 00:10 (even days) and 23:50 (odd days) so consecutive local days are two UTC days
/// apart or the same UTC day. Day 10 has 8 rich entries (daily cap), day 20 has 12
/// plain entries in 55 minutes (rate limit). Logs days 0-99 and 105-119.
fn kolkata_plan(i: u64) -> Vec<(u32, u32, Spec)> {
    let rich = |k: u64| {
        Spec::plain(&format!("in{i}k{k}"))
            .with_attachments(1)
            .with_outcome()
    };
    let (hour, minute) = if i.is_multiple_of(2) {
        (0, 10)
    } else {
        (23, 50)
    };
    match i {
        10 => (0..8).map(|k| (0, 10 + 5 * k as u32, rich(k))).collect(),
        20 => (0..12)
            .map(|k| {
                let minutes = 10 + 5 * k as u32;
                (
                    minutes / 60,
                    minutes % 60,
                    Spec::plain(&format!("in{i}k{k}")),
                )
            })
            .collect(),
        0..=99 | 105..=119 => vec![(hour, minute, rich(0))],
        _ => vec![],
    }
}

#[test]
fn kolkata_hits_the_cap_the_rate_limit_a_100_day_streak_and_all_11_badges() {
    let (h, days) = run(chrono_tz::Asia::Kolkata, kolkata_plan);
    let s: Vec<&Snap> = days.iter().map(|d| &d.snap).collect();

    // Day 10: eight 30-XP entries. Six fit (180), the seventh gets 20, the eighth 0.
    assert_eq!(h.user.entry_xp_on(date(10)), 200);
    let day10: Vec<u32> = h
        .ledger
        .iter()
        .filter(|e| e.rule() == XpRule::Entry && e.day == date(10))
        .map(|e| e.amount)
        .collect();
    assert_eq!(day10, vec![30, 30, 30, 30, 30, 30, 20]);
    // Day 20: the previous entry (day 19, 23:50) is 20 min before 00:10. Entries at
    // 00:10..00:55 see at most 9 others in their hour; 01:00 sees 10 (00:10-00:55) and
    // 01:05 sees 11, so exactly the last two are rate-limited: 10 * 10 XP.
    assert_eq!(h.user.entry_xp_on(date(20)), 100);
    let reasons: Vec<&NotMeaningful> = h.rejections.iter().map(|(_, r)| r).collect();
    assert_eq!(
        reasons,
        vec![
            &NotMeaningful::RateLimited {
                entries_in_last_hour: 10,
                max: 10
            },
            &NotMeaningful::RateLimited {
                entries_in_last_hour: 11,
                max: 10
            },
        ]
    );

    // Days 0-99: a 100-day run; three freezes by day 20, capped after.
    assert_eq!((s[99].current, s[99].longest, s[99].freezes), (100, 100, 3));
    // Days 100-104 missed: 5 > 3 freezes, all burnt; day 105 restarts at 1.
    assert_eq!(
        (s[105].current, s[105].longest, s[105].freezes),
        (1, 100, 0)
    );
    // Days 105-119: run 15, freezes at runs 7 (day 111) and 14 (day 118).
    assert_eq!(
        (s[119].current, s[119].longest, s[119].freezes),
        (15, 100, 2)
    );
    assert_eq!(
        (
            h.user.streak.freezes_earned_total,
            h.user.streak.freezes_used_total
        ),
        (5, 3)
    );

    // Entries: 113 single-entry days + 8 (day 10) + 10 meaningful (day 20) = 131.
    // Attachments and outcomes: 113 + 8 = 121 (day 20's entries are plain).
    assert_eq!(
        (
            h.user.meaningful_entries,
            h.user.attachments,
            h.user.outcomes
        ),
        (131, 121, 121)
    );
    // Entry XP: 113*30 + 200 + 100 = 3690.
    assert_eq!(xp_by_rule(&h, XpRule::Entry), 3690);
    // All three challenges complete in weeks 0-13, 15 and 16 (week 14 has only days
    // 98-99, week 17 only day 119): 16 weeks * (50 + 30 + 30) = 1760.
    for kind in [
        ChallengeKind::LogDays,
        ChallengeKind::AttachEvidence,
        ChallengeKind::WriteOutcomes,
    ] {
        assert_eq!(completed_challenges(&h, kind), 16, "{kind:?}");
    }
    assert_eq!(xp_by_rule(&h, XpRule::Challenge), 1760);
    assert_eq!(h.user.total_xp, 5450);
    assert_eq!(level_for(&h.config, h.user.total_xp), 55);
    assert_eq!(badges(&h), BadgeCode::ALL.to_vec());
    assert_eq!(h.badge_awards.len(), 11);
}

/// Auckland: 35-XP entries (250+ chars, 6 tags capped at 15), alternating 00:01 (even
/// days) and 23:59 (odd days). Crosses the DST end on day 41 (Sunday 2025-04-06).
fn auckland_plan(i: u64) -> Vec<(u32, u32, Spec)> {
    let seed = format!("nz{i}");
    let entry = Spec::plain(&seed).long(&seed, 250).with_tags(6);
    let (hour, minute) = if i.is_multiple_of(2) {
        (0, 1)
    } else {
        (23, 59)
    };
    let week_day = i % 7;
    let logs = match i {
        0..=20 | 24..=30 | 32..=34 | 36..=45 => true,
        // Weeks 7-15: Monday to Thursday only.
        49..=111 => week_day <= 3,
        // Week 16: Monday to Friday, then day 119 (Monday of week 17).
        112..=116 | 119 => true,
        _ => false,
    };
    if logs {
        vec![(hour, minute, entry)]
    } else {
        vec![]
    }
}

#[test]
fn auckland_freezes_bridge_exactly_then_run_out_and_a_challenge_completes_at_goal() {
    let (h, days) = run(chrono_tz::Pacific::Auckland, auckland_plan);
    let s: Vec<&Snap> = days.iter().map(|d| &d.snap).collect();

    // Days 0-20: run 21, freezes at 7, 14, 21. XP 21*35 + weeks 0-2 "log 5 days" = 885.
    assert_eq!(*s[20], snap(21, 21, 3, 885));
    // Days 21-23 missed: exactly 3 freezes pay for them; day 24 continues at 22.
    assert_eq!(*s[24], snap(22, 22, 0, 920));
    // Days 24-30: run 28 on day 30 earns a freeze.
    assert_eq!((s[30].current, s[30].freezes), (28, 1));
    // Day 31 missed, bridged by that freeze; day 32 is run 29, no streak_30 yet.
    assert_eq!((s[32].current, s[32].freezes), (29, 0));
    assert!(!days[32].badges.contains(&BadgeCode::Streak30));
    // Day 33: run 30 -> streak_30. XP: 30 entries * 35 + weeks 0, 1, 2 and week 4
    // (28, 29, 30, 32, 33: fifth day today) = 1050 + 200.
    assert_eq!(*s[33], snap(30, 30, 0, 1250));
    assert!(days[33].badges.contains(&BadgeCode::Streak30));
    // Day 35 missed with no freeze: day 36 restarts at 1 (the run reached 31 on day 34).
    assert_eq!((s[36].current, s[36].longest, s[36].freezes), (1, 31, 0));
    // Days 36-45 (across the DST change): run 10, a freeze at 7 (day 42).
    assert_eq!((s[45].current, s[45].freezes), (10, 1));
    // Days 46-48 missed, one freeze: spent, run restarts on day 49.
    assert_eq!((s[49].current, s[49].freezes), (1, 0));
    // Weeks 7-15 log Mon-Thu: the run goes 1..4 and breaks every weekend.
    assert_eq!(s[52].current, 4);
    assert_eq!(s[56].current, 1);

    // Week 16 (days 112-118) logs Mon-Fri: "log 5 days" reaches its goal on Friday (116).
    assert_eq!(s[116].total_xp - s[115].total_xp, 35 + 50);
    assert_eq!(s[115].total_xp - s[114].total_xp, 35);

    // Final: 21 + 7 + 3 + 10 + 9*4 + 5 + 1 = 83 entries * 35 = 2905. "Log 5 days" done
    // in weeks 0, 1, 2, 4, 5 and 16 (weeks 3 and 6-15 have 4 days) = 6 * 50 = 300.
    assert_eq!(*s[119], snap(1, 31, 0, 3205));
    assert_eq!(h.user.meaningful_entries, 83);
    assert_eq!(xp_by_rule(&h, XpRule::Entry), 2905);
    assert_eq!(completed_challenges(&h, ChallengeKind::LogDays), 6);
    assert_eq!(level_for(&h.config, h.user.total_xp), 33);
    assert_eq!(
        (
            h.user.streak.freezes_earned_total,
            h.user.streak.freezes_used_total
        ),
        (5, 5)
    );
    assert_eq!(
        badges(&h),
        vec![
            BadgeCode::FirstEntry,
            BadgeCode::Streak7,
            BadgeCode::Streak30,
            BadgeCode::Entries10,
            BadgeCode::Entries50,
            BadgeCode::Level5,
            BadgeCode::Level10,
        ]
    );
}
