//! `/api/gamification/*`: your streak, XP, badges, challenges and quiet mode. Staff's
//! routes over everyone's rewards are in [`super::admin_gamification`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::pagination;
use super::schema::{Day, IdOrEmpty, Limit};
use super::security::Authenticated;
use super::Tag;
use crate::error::ApiResult;
use crate::gamification::rules::{self, ChallengeWeek, UserChallenge};
use crate::services::rewards::{self, LedgerRow};
use crate::state::AppState;

#[derive(Object)]
pub struct StreakOut {
    pub current: u32,
    pub longest: u32,
    /// Freezes held; each bridges one missed day.
    pub freezes: u32,
    pub max_freezes: u32,
    #[oai(nullable)]
    pub last_day: Option<Day>,
    /// `not_started`, `logged_today`, `due_today` (log today to keep it), `bridged`
    /// (missed days covered by freezes), `broken`.
    pub status: String,
    /// Missed days since the last logged day (bridged or broken).
    pub missed_days: u32,
}

#[derive(Object)]
pub struct ChallengeOut {
    pub code: String,
    pub title: String,
    /// `log_days`, `attach_evidence` or `write_outcomes`.
    pub kind: String,
    pub goal: u32,
    pub progress: u32,
    pub xp_reward: u32,
    #[oai(nullable)]
    pub completed_at: Option<DateTime<Utc>>,
    /// 0–100.
    pub percent: u32,
}

impl From<&UserChallenge> for ChallengeOut {
    fn from(c: &UserChallenge) -> Self {
        Self {
            code: c.code.clone(),
            title: c.title.clone(),
            kind: serde_json::to_value(c.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            goal: c.goal,
            progress: c.progress,
            xp_reward: c.xp_reward,
            completed_at: c.completed_at,
            percent: (c.progress.min(c.goal) * 100)
                .checked_div(c.goal)
                .unwrap_or(100),
        }
    }
}

/// Your reward status.
#[derive(Object)]
pub struct GamificationSummary {
    /// When on, the UI hides rewards; everything still counts.
    pub quiet_mode: bool,
    pub total_xp: u64,
    pub level: u32,
    pub xp_into_level: u32,
    pub xp_per_level: u32,
    /// Entry XP earned today (your time zone) and the daily cap it counts against.
    pub today_xp: u32,
    pub daily_xp_cap: u32,
    pub daily_xp_remaining: u32,
    pub streak: StreakOut,
    pub week_start: Day,
    /// Days left in the challenge week, today included.
    pub days_remaining_in_week: u32,
    pub challenges: Vec<ChallengeOut>,
    pub badges_earned: u32,
    pub badges_total: u32,
    /// The rules version in force.
    pub config_version: u32,
}

#[derive(Object)]
pub struct BadgeOut {
    pub code: String,
    pub name: String,
    pub description: String,
    pub earned: bool,
    #[oai(nullable)]
    pub awarded_at: Option<DateTime<Utc>>,
    /// Revoked by staff (then not earned).
    pub revoked: bool,
    pub progress: u32,
    pub target: u32,
    /// What is still needed, e.g. "needs a 30-day streak".
    #[oai(nullable)]
    pub locked_reason: Option<String>,
    pub requirement: serde_json::Value,
}

#[derive(Object)]
pub struct BadgeGroup {
    /// `milestone`, `streak`, `quality` or `level`.
    pub category: String,
    pub badges: Vec<BadgeOut>,
}

#[derive(Object)]
pub struct BadgeBoard {
    pub earned: u32,
    pub total: u32,
    pub groups: Vec<BadgeGroup>,
}

#[derive(Object)]
pub struct ChallengeHistoryItem {
    pub week_start: Day,
    pub challenge: ChallengeOut,
    /// `completed` or `missed`.
    pub result: String,
}

#[derive(Object)]
pub struct ChallengeBoard {
    pub week_start: Day,
    pub days_remaining_in_week: u32,
    pub active: Vec<ChallengeOut>,
    /// Closed weeks, newest first.
    pub history: Vec<ChallengeHistoryItem>,
}

#[derive(Object)]
pub struct LedgerItem {
    pub id: String,
    /// `entry`, `challenge` or `admin_grant`.
    pub rule: String,
    pub amount: u32,
    pub day: Day,
    pub occurred_at: DateTime<Utc>,
    pub config_version: u32,
    /// Where it came from: the entry and version, the challenge, or the staff grant and
    /// its reason.
    pub source: serde_json::Value,
    #[oai(nullable)]
    pub job_id: Option<String>,
}

#[derive(Object)]
pub struct LedgerPage {
    pub items: Vec<LedgerItem>,
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

#[derive(Object)]
pub struct UpdateSettings {
    pub quiet_mode: bool,
}

#[derive(Object)]
pub struct GamificationSettings {
    pub quiet_mode: bool,
}

fn week_of(w: &ChallengeWeek) -> Vec<ChallengeOut> {
    w.challenges.iter().map(Into::into).collect()
}

fn streak_out(v: &rules::StreakView, max_freezes: u32) -> StreakOut {
    let (status, missed) = match v.status {
        rules::StreakStatus::NotStarted => ("not_started", 0),
        rules::StreakStatus::LoggedToday => ("logged_today", 0),
        rules::StreakStatus::DueToday => ("due_today", 0),
        rules::StreakStatus::Bridged { missed_days } => ("bridged", missed_days),
        rules::StreakStatus::Broken { missed_days } => ("broken", missed_days),
    };
    StreakOut {
        current: v.current,
        longest: v.longest,
        freezes: v.freezes,
        max_freezes,
        last_day: v.last_day.map(Day::from),
        status: status.into(),
        missed_days: missed,
    }
}

impl From<rewards::Status> for GamificationSummary {
    fn from(r: rewards::Status) -> Self {
        let (s, config) = (r.summary, r.config);
        Self {
            quiet_mode: r.quiet_mode,
            total_xp: s.total_xp,
            level: s.level.level,
            xp_into_level: s.level.xp_into_level,
            xp_per_level: s.level.xp_per_level,
            today_xp: s.entry_xp_today,
            daily_xp_cap: config.max_daily_xp,
            daily_xp_remaining: s.daily_xp_remaining,
            streak: streak_out(&s.streak, config.max_freezes),
            week_start: s.challenges.week_start.into(),
            days_remaining_in_week: s.days_remaining_in_week,
            challenges: week_of(&s.challenges),
            badges_earned: s.badges_earned,
            badges_total: rules::badge_catalog().len() as u32,
            config_version: config.version,
        }
    }
}

/// The catalog grouped by category, in the order each category first appears.
fn badge_board(badges: Vec<rewards::Badge>) -> BadgeBoard {
    let total = badges.len() as u32;
    let mut earned = 0;
    let mut groups: Vec<BadgeGroup> = Vec::new();
    for rewards::Badge {
        status: b,
        awarded_at,
    } in badges
    {
        let category = serde_json::to_value(b.definition.category)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        earned += u32::from(b.earned);
        let out = BadgeOut {
            awarded_at,
            code: b.definition.code.to_string(),
            name: b.definition.name.into(),
            description: b.definition.description.into(),
            earned: b.earned,
            revoked: b.revoked,
            progress: b.progress,
            target: b.target,
            locked_reason: b.locked_reason,
            requirement: serde_json::to_value(b.definition.requirement).unwrap_or_default(),
        };
        match groups.iter_mut().find(|g| g.category == category) {
            Some(g) => g.badges.push(out),
            None => groups.push(BadgeGroup {
                category,
                badges: vec![out],
            }),
        }
    }
    BadgeBoard {
        earned,
        total,
        groups,
    }
}

impl From<rewards::Challenges> for ChallengeBoard {
    fn from(c: rewards::Challenges) -> Self {
        Self {
            week_start: c.week.week_start.into(),
            days_remaining_in_week: c.days_remaining_in_week,
            active: week_of(&c.week),
            history: c
                .history
                .iter()
                .map(|h| ChallengeHistoryItem {
                    week_start: h.week_start.into(),
                    challenge: (&h.challenge).into(),
                    result: h.result.clone(),
                })
                .collect(),
        }
    }
}

impl From<LedgerRow> for LedgerItem {
    fn from(r: LedgerRow) -> Self {
        Self {
            day: chrono::NaiveDate::parse_from_str(&r.day, "%Y-%m-%d")
                .unwrap_or_default()
                .into(),
            id: r.id,
            rule: r.rule,
            amount: r.amount,
            occurred_at: r.occurred_at,
            config_version: r.config_version,
            source: r.source,
            job_id: r.job_id,
        }
    }
}

pub struct GamificationApi;

#[OpenApi(tag = "Tag::Gamification")]
impl GamificationApi {
    /// Your streak, XP today and in total, level, and this week's challenges.
    #[oai(
        path = "/gamification/summary",
        method = "get",
        operation_id = "gamification_summary"
    )]
    async fn summary(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
    ) -> ApiResult<Json<GamificationSummary>> {
        Ok(Json(rewards::status(&state, &auth.0).await?.into()))
    }

    /// Badges earned (with dates) and locked (with what they need), by category.
    #[oai(
        path = "/gamification/badges",
        method = "get",
        operation_id = "gamification_badges"
    )]
    async fn badges(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
    ) -> ApiResult<Json<BadgeBoard>> {
        Ok(Json(badge_board(rewards::badges(&state, &auth.0).await?)))
    }

    /// This week's challenges with progress, and the closed weeks.
    #[oai(
        path = "/gamification/challenges",
        method = "get",
        operation_id = "gamification_challenges"
    )]
    async fn challenges(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
    ) -> ApiResult<Json<ChallengeBoard>> {
        Ok(Json(rewards::challenges(&state, &auth.0).await?.into()))
    }

    /// Your XP ledger: every grant with where it came from, newest first.
    #[oai(
        path = "/gamification/ledger",
        method = "get",
        operation_id = "gamification_ledger"
    )]
    async fn ledger(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The `next_cursor` of the previous page; omit for the first page.
        cursor: Query<Option<IdOrEmpty>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
    ) -> ApiResult<Json<LedgerPage>> {
        let (limit, cursor) =
            pagination::page(limit.0.map(Limit::into_inner), cursor.0.map(|c| c.0))?;
        let rows = rewards::ledger(&state, &auth.0, cursor.as_deref(), limit + 1).await?;
        let (rows, next_cursor) = pagination::split(rows, limit, |r| r.id.clone());
        Ok(Json(LedgerPage {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// Quiet mode: hide rewards in the UI (they still count).
    #[oai(
        path = "/gamification/settings",
        method = "patch",
        operation_id = "gamification_settings"
    )]
    async fn settings(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        body: Json<UpdateSettings>,
    ) -> ApiResult<Json<GamificationSettings>> {
        rewards::set_quiet(&state, &auth.0, body.quiet_mode).await?;
        Ok(Json(GamificationSettings {
            quiet_mode: body.quiet_mode,
        }))
    }
}
