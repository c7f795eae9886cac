//! Daily streaks with freezes, replayed from the set of active local days.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::config::RewardConfig;

/// A user's streak: the active days it is built from and the numbers replayed from them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreakState {
    /// Local days with at least one meaningful entry (by creation day).
    pub active_days: BTreeSet<NaiveDate>,
    /// Active days in the current run (frozen days bridge the run but don't add to it).
    pub current: u32,
    /// Longest run ever; never decreases.
    pub longest: u32,
    /// Freezes held now.
    pub freezes: u32,
    /// The latest active day.
    pub last_day: Option<NaiveDate>,
    /// Freezes ever earned; `freezes == freezes_earned_total - freezes_used_total`.
    pub freezes_earned_total: u32,
    /// Freezes ever spent on missed days, including those spent on a gap that still broke.
    pub freezes_used_total: u32,
}

/// The numbers a replay of active days produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreakReplay {
    /// Active days in the current run.
    pub current: u32,
    /// Longest run in the replayed days.
    pub longest: u32,
    /// Freezes held after the last active day.
    pub freezes: u32,
    /// The latest active day.
    pub last_day: Option<NaiveDate>,
    /// Freezes earned over the replay.
    pub freezes_earned_total: u32,
    /// Freezes spent over the replay.
    pub freezes_used_total: u32,
}

/// Replays the streak rules over sorted active days, starting with no freezes.
///
/// Day by day: an active day right after the previous one extends the run; each missed day
/// in between consumes one freeze while any remain; if they run out before the gap ends the
/// run breaks, the freezes spent on that gap are gone, and the new day starts a run of 1.
/// Whenever the run reaches a multiple of `freeze_every_days`, one freeze is earned unless
/// `max_freezes` are already held (it is not deferred).
pub fn replay_streak(config: &RewardConfig, days: &BTreeSet<NaiveDate>) -> StreakReplay {
    let mut r = StreakReplay::default();
    let every = config.freeze_every_days.max(1);
    for &day in days {
        match r.last_day {
            None => r.current = 1,
            Some(last) => {
                let missed = u32::try_from((day - last).num_days() - 1).unwrap_or(u32::MAX);
                if missed <= r.freezes {
                    r.freezes -= missed;
                    r.freezes_used_total = r.freezes_used_total.saturating_add(missed);
                    r.current = r.current.saturating_add(1);
                } else {
                    r.freezes_used_total = r.freezes_used_total.saturating_add(r.freezes);
                    r.freezes = 0;
                    r.current = 1;
                }
            }
        }
        if r.current.is_multiple_of(every) && r.freezes < config.max_freezes {
            r.freezes += 1;
            r.freezes_earned_total = r.freezes_earned_total.saturating_add(1);
        }
        r.longest = r.longest.max(r.current);
        r.last_day = Some(day);
    }
    r
}

/// What recording an active day did to the streak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreakUpdate {
    /// The streak after the day was recorded.
    pub state: StreakState,
    /// Whether the day was new (false when it was already active).
    pub day_added: bool,
    /// Freezes spent because of this day (0 when the day arrived out of order and refunded some).
    pub freezes_used: u32,
    /// Freezes earned because of this day.
    pub freezes_earned: u32,
}

/// Records that `day` (local) had a meaningful entry and replays the streak.
///
/// Replaying makes the result independent of the order entries are evaluated in: a
/// delayed job for yesterday's entry fills yesterday in instead of breaking the run.
pub fn update_streak(config: &RewardConfig, streak: &StreakState, day: NaiveDate) -> StreakUpdate {
    if streak.active_days.contains(&day) {
        return StreakUpdate {
            state: streak.clone(),
            day_added: false,
            freezes_used: 0,
            freezes_earned: 0,
        };
    }
    let mut active_days = streak.active_days.clone();
    active_days.insert(day);
    let r = replay_streak(config, &active_days);
    let state = StreakState {
        active_days,
        current: r.current,
        // A config change can shorten a replayed run; the record already shown stays.
        longest: r.longest.max(streak.longest),
        freezes: r.freezes,
        last_day: r.last_day,
        freezes_earned_total: r.freezes_earned_total,
        freezes_used_total: r.freezes_used_total,
    };
    StreakUpdate {
        freezes_used: state
            .freezes_used_total
            .saturating_sub(streak.freezes_used_total),
        freezes_earned: state
            .freezes_earned_total
            .saturating_sub(streak.freezes_earned_total),
        state,
        day_added: true,
    }
}

/// How the streak looks on a given local day, before any entry of that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StreakStatus {
    /// No meaningful entry yet, ever.
    NotStarted,
    /// Today already counts.
    LoggedToday,
    /// Yesterday counted; an entry today extends the run.
    DueToday,
    /// Some days were missed and freezes cover them; an entry today extends the run.
    Bridged {
        /// Missed days, each consuming one freeze.
        missed_days: u32,
    },
    /// More days were missed than freezes held; the next entry starts a new run.
    Broken {
        /// Missed days.
        missed_days: u32,
    },
}

/// The streak as a reader sees it on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreakView {
    /// Current run (0 when broken).
    pub current: u32,
    /// Longest run ever.
    pub longest: u32,
    /// Freezes left once the missed days so far are paid for.
    pub freezes: u32,
    /// The latest active day.
    pub last_day: Option<NaiveDate>,
    /// Where today stands.
    pub status: StreakStatus,
}

/// The streak as of local day `today`, without writing anything: missed days so far are
/// charged against freezes exactly as the next replay will charge them.
pub fn streak_as_of(streak: &StreakState, today: NaiveDate) -> StreakView {
    let view = |current, freezes, status| StreakView {
        current,
        longest: streak.longest,
        freezes,
        last_day: streak.last_day,
        status,
    };
    let Some(last) = streak.last_day else {
        return view(0, streak.freezes, StreakStatus::NotStarted);
    };
    // Today itself isn't missed yet: the user can still log before local midnight.
    let missed = u32::try_from((today - last).num_days() - 1).unwrap_or(0);
    if today <= last {
        view(streak.current, streak.freezes, StreakStatus::LoggedToday)
    } else if missed == 0 {
        view(streak.current, streak.freezes, StreakStatus::DueToday)
    } else if missed <= streak.freezes {
        view(
            streak.current,
            streak.freezes - missed,
            StreakStatus::Bridged {
                missed_days: missed,
            },
        )
    } else {
        view(
            0,
            0,
            StreakStatus::Broken {
                missed_days: missed,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Days;

    fn d(n: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, 1)
            .and_then(|s| s.checked_add_days(Days::new(n)))
            .expect("test date")
    }

    fn days(list: impl IntoIterator<Item = u64>) -> BTreeSet<NaiveDate> {
        list.into_iter().map(d).collect()
    }

    fn build(config: &RewardConfig, list: impl IntoIterator<Item = u64>) -> StreakState {
        list.into_iter().fold(StreakState::default(), |s, n| {
            update_streak(config, &s, d(n)).state
        })
    }

    #[test]
    fn a_new_user_starts_with_no_streak_and_no_freezes() {
        let s = StreakState::default();
        assert_eq!((s.current, s.longest, s.freezes), (0, 0, 0));
        assert_eq!(streak_as_of(&s, d(0)).status, StreakStatus::NotStarted);
    }

    #[test]
    fn consecutive_days_extend_and_a_freeze_is_earned_at_day_7() {
        let c = RewardConfig::default();
        let six = build(&c, 0..6);
        assert_eq!((six.current, six.freezes), (6, 0));
        let u = update_streak(&c, &six, d(6));
        assert_eq!(
            (u.state.current, u.state.longest, u.state.freezes),
            (7, 7, 1)
        );
        assert_eq!(
            (u.freezes_earned, u.freezes_used, u.day_added),
            (1, 0, true)
        );
    }

    #[test]
    fn freezes_are_capped_at_max_freezes() {
        let c = RewardConfig::default();
        // Earned at 7, 14, 21; at 28 three are held, so none is added.
        let s = build(&c, 0..21);
        assert_eq!((s.current, s.freezes), (21, 3));
        let s = build(&c, 0..28);
        assert_eq!((s.current, s.freezes, s.freezes_earned_total), (28, 3, 3));
    }

    #[test]
    fn one_missed_day_is_bridged_by_a_freeze() {
        let c = RewardConfig::default();
        let s = build(&c, 0..7); // 7 days, one freeze
        let u = update_streak(&c, &s, d(8)); // day 7 missed
        assert_eq!((u.state.current, u.state.freezes), (8, 0));
        assert_eq!(u.freezes_used, 1);
    }

    #[test]
    fn a_gap_longer_than_the_freezes_resets_and_burns_them() {
        let c = RewardConfig::default();
        let s = build(&c, 0..14); // two freezes
        let u = update_streak(&c, &s, d(17)); // days 14, 15, 16 missed
        assert_eq!(
            (u.state.current, u.state.longest, u.state.freezes),
            (1, 14, 0)
        );
        assert_eq!(u.freezes_used, 2);
        assert_eq!(
            u.state.freezes,
            u.state.freezes_earned_total - u.state.freezes_used_total
        );
    }

    #[test]
    fn a_gap_equal_to_the_freezes_is_bridged_and_empties_them() {
        let c = RewardConfig::default();
        let s = build(&c, 0..21); // three freezes
        let u = update_streak(&c, &s, d(24)); // 21, 22, 23 missed
        assert_eq!((u.state.current, u.state.freezes), (22, 0));
    }

    #[test]
    fn without_freezes_a_single_missed_day_resets() {
        let c = RewardConfig::default();
        let s = build(&c, [0, 1, 2, 4]);
        assert_eq!((s.current, s.longest, s.freezes), (1, 3, 0));
    }

    #[test]
    fn the_same_day_twice_changes_nothing() {
        let c = RewardConfig::default();
        let s = build(&c, 0..3);
        let u = update_streak(&c, &s, d(2));
        assert_eq!(u.state, s);
        assert!(!u.day_added);
    }

    #[test]
    fn out_of_order_days_give_the_same_streak() {
        let c = RewardConfig::default();
        let in_order = build(&c, 0..10);
        let shuffled = build(&c, [3, 0, 9, 1, 2, 8, 4, 7, 5, 6]);
        assert_eq!(in_order, shuffled);
        assert_eq!((in_order.current, in_order.freezes), (10, 1));
    }

    #[test]
    fn a_late_day_filling_a_bridged_gap_refunds_the_freeze() {
        let c = RewardConfig::default();
        let bridged = build(&c, [0, 1, 2, 3, 4, 5, 6, 8]);
        assert_eq!((bridged.current, bridged.freezes), (8, 0));
        let u = update_streak(&c, &bridged, d(7));
        assert_eq!((u.state.current, u.state.freezes), (9, 1));
        assert_eq!(u.freezes_used, 0);
    }

    #[test]
    fn longest_never_drops_when_the_config_becomes_stricter() {
        let generous = RewardConfig::default();
        let s = build(&generous, [0, 1, 2, 3, 4, 5, 6, 8, 9]);
        assert_eq!((s.current, s.longest), (9, 9));
        let strict = RewardConfig {
            max_freezes: 0,
            ..RewardConfig::default()
        };
        let u = update_streak(&strict, &s, d(10));
        assert_eq!((u.state.current, u.state.longest), (3, 9));
    }

    #[test]
    fn replay_matches_hand_counts() {
        let c = RewardConfig::default();
        let r = replay_streak(&c, &days(0..30));
        assert_eq!(
            (r.current, r.longest, r.freezes, r.freezes_earned_total),
            (30, 30, 3, 3)
        );
        assert_eq!(replay_streak(&c, &BTreeSet::new()), StreakReplay::default());
    }

    #[test]
    fn streak_as_of_charges_missed_days_without_writing() {
        let c = RewardConfig::default();
        let s = build(&c, 0..14); // current 14, two freezes, last day d(13)
        let at = |n| streak_as_of(&s, d(n));
        assert_eq!(at(13).status, StreakStatus::LoggedToday);
        assert_eq!(
            (at(14).status, at(14).current, at(14).freezes),
            (StreakStatus::DueToday, 14, 2)
        );
        assert_eq!(
            (at(15).status, at(15).current, at(15).freezes),
            (StreakStatus::Bridged { missed_days: 1 }, 14, 1)
        );
        assert_eq!(
            (at(16).status, at(16).current, at(16).freezes),
            (StreakStatus::Bridged { missed_days: 2 }, 14, 0)
        );
        assert_eq!(
            (at(17).status, at(17).current, at(17).freezes),
            (StreakStatus::Broken { missed_days: 3 }, 0, 0)
        );
        assert_eq!(at(17).longest, 14);
        // What a reader saw on day 16 is what an entry on day 16 then produces.
        let logged = update_streak(&c, &s, d(16)).state;
        assert_eq!((logged.current, logged.freezes), (15, 0));
    }
}
