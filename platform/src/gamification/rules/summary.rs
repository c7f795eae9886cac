//! Read-side view for the summary endpoint and the status bar; writes nothing.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::calendar::{days_remaining_in_week, local_day};
use super::challenges::{current_challenges, ChallengeWeek};
use super::config::RewardConfig;
use super::state::UserState;
use super::streak::{streak_as_of, StreakView};
use super::xp::{progress_to_next_level, LevelProgress};

/// What `GET /api/gamification/summary` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Total XP.
    pub total_xp: u64,
    /// Level and progress to the next one.
    pub level: LevelProgress,
    /// Entry XP granted today (the capped kind).
    pub entry_xp_today: u32,
    /// Entry XP still grantable today.
    pub daily_xp_remaining: u32,
    /// Streak as of today.
    pub streak: StreakView,
    /// This week's challenges.
    pub challenges: ChallengeWeek,
    /// Local days left in the week, today included.
    pub days_remaining_in_week: u32,
    /// Badges held.
    pub badges_earned: u32,
}

/// Builds the summary as of `now` in the user's timezone.
pub fn summary(config: &RewardConfig, user: &UserState, tz: Tz, now: DateTime<Utc>) -> Summary {
    let today = local_day(tz, now);
    let entry_xp_today = user.entry_xp_on(today);
    Summary {
        total_xp: user.total_xp,
        level: progress_to_next_level(config, user.total_xp),
        entry_xp_today,
        daily_xp_remaining: config.max_daily_xp.saturating_sub(entry_xp_today),
        streak: streak_as_of(&user.streak, today),
        challenges: current_challenges(config, user, tz, now),
        days_remaining_in_week: days_remaining_in_week(tz, now),
        badges_earned: u32::try_from(user.badges.len()).unwrap_or(u32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    #[test]
    fn summary_reports_todays_capped_xp_and_days_left() {
        let c = RewardConfig::default();
        let mut user = UserState {
            total_xp: 437,
            ..UserState::default()
        };
        let thursday = NaiveDate::from_ymd_opt(2025, 3, 6).expect("date");
        user.entry_xp_by_day.insert(thursday, 150);
        user.entry_xp_by_day
            .insert(thursday.pred_opt().expect("date"), 200);
        let now = Utc
            .with_ymd_and_hms(2025, 3, 6, 15, 0, 0)
            .single()
            .expect("time");
        let s = summary(&c, &user, Tz::UTC, now);
        assert_eq!((s.entry_xp_today, s.daily_xp_remaining), (150, 50));
        assert_eq!((s.level.level, s.level.xp_to_next_level), (5, 63));
        assert_eq!(s.days_remaining_in_week, 4);
        assert_eq!(
            s.challenges.week_start,
            NaiveDate::from_ymd_opt(2025, 3, 3).expect("date")
        );
        assert_eq!(s.challenges.challenges.len(), 3);
    }
}
