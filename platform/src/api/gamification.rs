//! `/api/gamification/*` (your streak, XP, badges, challenges, quiet mode) and
//! `/api/admin/gamification/*` (staff: metrics, manual grants and revokes, the rules).

use super::schema::{AnyObject, Between, Day, Documented, IdOrEmpty, Limit};
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::client::ClientInfo;
use super::pagination;
use super::security::{Authenticated, Staff};
use super::text::Text;
use super::Tag;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::gamification::rules::{self, BadgeCode, ChallengeWeek, RewardConfig, UserChallenge};
use crate::identity::auditing::{record, AuthEventKind};
use crate::state::AppState;
use crate::store::gamification::{self as repo, Change, WriteError};
use crate::store::{platform, TenantDb, TenantId};

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

#[derive(Object)]
pub struct DayMetric {
    pub day: Day,
    pub active_users: u64,
    pub xp: u64,
}

#[derive(Object)]
pub struct BucketCount {
    /// e.g. `0`, `1-6`, `7-29`, `30-99`, `100+` (current streak days).
    pub bucket: String,
    pub users: u64,
}

#[derive(Object)]
pub struct CodeCount {
    pub code: String,
    pub count: u64,
}

/// Engagement across every workspace.
#[derive(Object)]
pub struct GamificationMetrics {
    pub days: Vec<DayMetric>,
    /// Users who earned XP in the last 7 days.
    pub weekly_active_users: u64,
    pub users_with_rewards: u64,
    pub streak_distribution: Vec<BucketCount>,
    pub badges_awarded: Vec<CodeCount>,
    pub total_xp: u64,
}

#[derive(Object)]
pub struct GrantXp {
    pub tenant_id: Text,
    pub user_id: Text,
    /// 1–10,000 XP.
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub amount: u32,
    #[oai(validator(min_length = 3, max_length = 500))]
    pub reason: Text,
    /// Repeating a key grants once.
    #[oai(validator(min_length = 1, max_length = 100))]
    #[oai(nullable)]
    pub idempotency_key: Option<Text>,
}

#[derive(Object)]
pub struct GrantResult {
    pub total_xp: u64,
    pub level: u32,
    pub granted: u32,
    pub badges_awarded: Vec<String>,
    /// `false` when the idempotency key had been used: nothing new was granted.
    pub applied: bool,
}

#[derive(Object)]
pub struct RevokeBadge {
    pub tenant_id: Text,
    pub user_id: Text,
    /// A badge code, e.g. `streak_7`.
    pub badge: Text,
    #[oai(validator(min_length = 3, max_length = 500))]
    pub reason: Text,
}

#[derive(Object)]
pub struct RevokeResult {
    pub badge: String,
    pub badges: Vec<String>,
}

#[derive(Object)]
pub struct ConfigVersion {
    pub version: u32,
    pub config: serde_json::Value,
    #[oai(nullable)]
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Object)]
pub struct ConfigList {
    pub active: ConfigVersion,
    pub history: Vec<ConfigVersion>,
}

fn tz_of(timezone: &str) -> chrono_tz::Tz {
    rules::parse_timezone(timezone).unwrap_or(chrono_tz::UTC)
}

async fn user_tz(state: &AppState, user_id: &str) -> ApiResult<chrono_tz::Tz> {
    let user = platform::user_by_id(state.store.platform(), user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(tz_of(&user.timezone))
}

async fn config(state: &AppState) -> ApiResult<RewardConfig> {
    Ok(state.reward_config.get(state.store.platform()).await?)
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

/// The tenant database of a staff target, checking the user is a member of it.
async fn member_db(state: &AppState, tenant_id: &str, user_id: &str) -> ApiResult<TenantDb> {
    let uuid = uuid::Uuid::parse_str(tenant_id)
        .map_err(|_| ApiError::new(ErrorCode::InvalidParameter, "tenant_id is not a valid id"))?;
    platform::membership_for(state.store.platform(), user_id, Some(tenant_id))
        .await?
        .ok_or_else(|| ApiError::not_found("member of that workspace"))?;
    Ok(state.store.tenant(TenantId(uuid)).await?)
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
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let row = repo::user(&db, &p.user_id).await?;
        let config = config(&state).await?;
        let tz = user_tz(&state, &p.user_id).await?;
        let s = rules::summary(&config, &row.state, tz, Utc::now());
        Ok(Json(GamificationSummary {
            quiet_mode: row.quiet_mode,
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
        }))
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
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let row = repo::user(&db, &p.user_id).await?;
        let config = config(&state).await?;
        let awards: BTreeMap<String, repo::BadgeRow> = repo::badges(&db, &p.user_id)
            .await?
            .into_iter()
            .map(|b| (b.code.clone(), b))
            .collect();
        let mut groups: Vec<BadgeGroup> = Vec::new();
        let board = rules::badge_board(&config, &row.state);
        let total = board.len() as u32;
        let mut earned = 0;
        for b in board {
            let code = b.definition.code.to_string();
            let category = serde_json::to_value(b.definition.category)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            earned += u32::from(b.earned);
            let out = BadgeOut {
                awarded_at: awards
                    .get(&code)
                    .filter(|a| a.revoked_at.is_none())
                    .map(|a| a.awarded_at),
                code,
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
        Ok(Json(BadgeBoard {
            earned,
            total,
            groups,
        }))
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
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let row = repo::user(&db, &p.user_id).await?;
        let config = config(&state).await?;
        let tz = user_tz(&state, &p.user_id).await?;
        let now = Utc::now();
        let week = rules::current_challenges(&config, &row.state, tz, now);
        let history = repo::challenge_history(&db, &p.user_id, 200)
            .await?
            .into_iter()
            .filter_map(|h| {
                let c: UserChallenge = serde_json::from_value(h.challenge).ok()?;
                Some(ChallengeHistoryItem {
                    week_start: NaiveDate::parse_from_str(&h.week_start, "%Y-%m-%d")
                        .ok()?
                        .into(),
                    challenge: (&c).into(),
                    result: h.result.as_str().unwrap_or("missed").to_string(),
                })
            })
            .collect();
        Ok(Json(ChallengeBoard {
            week_start: week.week_start.into(),
            days_remaining_in_week: rules::days_remaining_in_week(tz, now),
            active: week_of(&week),
            history,
        }))
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
        let p = &auth.0;
        let (limit, cursor) =
            pagination::page(limit.0.map(Limit::into_inner), cursor.0.map(|c| c.0))?;
        let db = p.tenant_db(&state).await?;
        let rows = repo::ledger(&db, &p.user_id, cursor.as_deref(), limit + 1).await?;
        let (rows, next_cursor) = pagination::split(rows, limit, |r| r.id.clone());
        Ok(Json(LedgerPage {
            items: rows
                .into_iter()
                .map(|r| LedgerItem {
                    day: NaiveDate::parse_from_str(&r.day, "%Y-%m-%d")
                        .unwrap_or_default()
                        .into(),
                    id: r.id,
                    rule: r.rule,
                    amount: r.amount,
                    occurred_at: r.occurred_at,
                    config_version: r.config_version,
                    source: r.source,
                    job_id: r.job_id,
                })
                .collect(),
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
        // A read-only member may still choose what *they* see.
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        repo::set_quiet(&db, &p.user_id, body.quiet_mode).await?;
        Ok(Json(GamificationSettings {
            quiet_mode: body.quiet_mode,
        }))
    }

    /// Engagement across workspaces: daily active loggers and XP, weekly actives, the
    /// streak distribution and badges awarded.
    #[oai(
        path = "/admin/gamification/metrics",
        method = "get",
        operation_id = "admin_gamification_metrics"
    )]
    async fn metrics(
        &self,
        state: Data<&Arc<AppState>>,
        _auth: Staff,
        /// Days of history (1–365, default 30).
        days: Query<Option<Documented<u32, Between<1, 365>>>>,
    ) -> ApiResult<Json<GamificationMetrics>> {
        let days = days.0.map_or(30, Documented::into_inner);
        if !(1..=365).contains(&days) {
            return Err(ApiError::validation("days must be between 1 and 365"));
        }
        let since = (Utc::now() - chrono::Duration::days(i64::from(days)))
            .format("%Y-%m-%d")
            .to_string();
        let week_ago = (Utc::now() - chrono::Duration::days(7))
            .format("%Y-%m-%d")
            .to_string();
        let mut per_day: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut buckets: BTreeMap<&'static str, u64> =
            [("0", 0), ("1-6", 0), ("7-29", 0), ("30-99", 0), ("100+", 0)].into();
        let mut badges: BTreeMap<String, u64> = BTreeMap::new();
        let (mut weekly, mut users, mut total_xp) = (0u64, 0u64, 0u64);
        let platform_db = state.store.platform();
        for tenant in platform::list_tenant_ids(platform_db).await? {
            let Ok(uuid) = uuid::Uuid::parse_str(&tenant) else {
                continue;
            };
            let db = state.store.tenant(TenantId(uuid)).await?;
            for d in repo::daily_activity(&db, &since).await? {
                let e = per_day.entry(d.day).or_default();
                e.0 += d.users;
                e.1 += d.xp;
            }
            let mut weekly_users = std::collections::BTreeSet::new();
            for id in repo::user_ids(&db).await? {
                let row = repo::user(&db, &id).await?;
                users += 1;
                total_xp += row.state.total_xp;
                let current = row.state.streak.current;
                let bucket = match current {
                    0 => "0",
                    1..=6 => "1-6",
                    7..=29 => "7-29",
                    30..=99 => "30-99",
                    _ => "100+",
                };
                *buckets.entry(bucket).or_default() += 1;
                if row
                    .state
                    .entry_xp_by_day
                    .keys()
                    .any(|d| d.format("%Y-%m-%d").to_string() >= week_ago)
                {
                    weekly_users.insert(id);
                }
            }
            weekly += weekly_users.len() as u64;
            for (code, n) in repo::badge_counts(&db).await? {
                *badges.entry(code).or_default() += n;
            }
        }
        Ok(Json(GamificationMetrics {
            days: per_day
                .into_iter()
                .filter_map(|(d, (u, xp))| {
                    Some(DayMetric {
                        day: NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()?.into(),
                        active_users: u,
                        xp,
                    })
                })
                .collect(),
            weekly_active_users: weekly,
            users_with_rewards: users,
            streak_distribution: ["0", "1-6", "7-29", "30-99", "100+"]
                .into_iter()
                .map(|b| BucketCount {
                    bucket: b.into(),
                    users: buckets.get(b).copied().unwrap_or(0),
                })
                .collect(),
            badges_awarded: badges
                .into_iter()
                .map(|(code, count)| CodeCount { code, count })
                .collect(),
            total_xp,
        }))
    }

    /// Grant XP to a user by hand, with a reason. Audited, and shown in their ledger.
    #[oai(
        path = "/admin/gamification/grant",
        method = "post",
        operation_id = "admin_gamification_grant"
    )]
    async fn grant(
        &self,
        state: Data<&Arc<AppState>>,
        client: ClientInfo,
        auth: Staff,
        body: Json<GrantXp>,
    ) -> ApiResult<Json<GrantResult>> {
        let b = body.0;
        let db = member_db(&state, &b.tenant_id, &b.user_id).await?;
        let config = config(&state).await?;
        let tz = user_tz(&state, &b.user_id).await?;
        let key = b
            .idempotency_key
            .map(Text::into_string)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let grant = rules::AdminGrant {
            amount: b.amount,
            reason: b.reason.to_string(),
            granted_by: auth.0.user_id.clone(),
            idempotency_key: key.clone(),
        };
        for _ in 0..5 {
            let row = repo::user(&db, &b.user_id).await?;
            let out = rules::admin_grant_xp(&config, &row.state, &grant, tz, Utc::now())
                .map_err(|e| ApiError::validation(e.to_string()))?;
            let change = Change {
                user_id: &b.user_id,
                rev: row.rev,
                state: Some(&out.user),
                ledger: std::slice::from_ref(&out.event),
                badges: &out.badges_awarded,
                ..Change::default()
            };
            match repo::write(&db, &change).await {
                Ok(_) => {
                    record(
                        &state,
                        AuthEventKind::XpGranted,
                        &client,
                        Some(&auth.0.user_id),
                        Some(&b.tenant_id),
                        Some(&auth.0.email),
                        serde_json::json!({"user_id": &*b.user_id, "amount": b.amount, "reason": &*b.reason, "key": key}),
                    )
                    .await;
                    return Ok(Json(GrantResult {
                        total_xp: out.user.total_xp,
                        level: rules::level_for(&config, out.user.total_xp),
                        granted: b.amount,
                        badges_awarded: out
                            .badges_awarded
                            .iter()
                            .map(|a| a.code.to_string())
                            .collect(),
                        applied: true,
                    }));
                }
                Err(WriteError::Conflict) => continue,
                // The ledger is unique per key: this grant was made before.
                Err(WriteError::Store(crate::store::StoreError::Unique(_))) => {
                    let row = repo::user(&db, &b.user_id).await?;
                    return Ok(Json(GrantResult {
                        total_xp: row.state.total_xp,
                        level: rules::level_for(&config, row.state.total_xp),
                        granted: 0,
                        badges_awarded: vec![],
                        applied: false,
                    }));
                }
                Err(WriteError::Store(e)) => return Err(e.into()),
            }
        }
        Err(ApiError::conflict(
            "the user's rewards kept changing; retry",
        ))
    }

    /// Revoke a badge from a user, with a reason. Audited; it is not re-awarded
    /// automatically.
    #[oai(
        path = "/admin/gamification/revoke",
        method = "post",
        operation_id = "admin_gamification_revoke"
    )]
    async fn revoke(
        &self,
        state: Data<&Arc<AppState>>,
        client: ClientInfo,
        auth: Staff,
        body: Json<RevokeBadge>,
    ) -> ApiResult<Json<RevokeResult>> {
        let b = body.0;
        let code: BadgeCode = b
            .badge
            .parse()
            .map_err(|_| ApiError::validation(format!("unknown badge {:?}", &*b.badge)))?;
        let db = member_db(&state, &b.tenant_id, &b.user_id).await?;
        for _ in 0..5 {
            let row = repo::user(&db, &b.user_id).await?;
            let next = rules::admin_revoke_badge(&row.state, code)
                .map_err(|e| ApiError::new(ErrorCode::Conflict, e.to_string()))?;
            let revoked = [(
                code.to_string(),
                auth.0.user_id.clone(),
                b.reason.to_string(),
            )];
            let change = Change {
                user_id: &b.user_id,
                rev: row.rev,
                state: Some(&next),
                revoked: &revoked,
                ..Change::default()
            };
            match repo::write(&db, &change).await {
                Ok(_) => {
                    record(
                        &state,
                        AuthEventKind::BadgeRevoked,
                        &client,
                        Some(&auth.0.user_id),
                        Some(&b.tenant_id),
                        Some(&auth.0.email),
                        serde_json::json!({"user_id": &*b.user_id, "badge": code.to_string(), "reason": &*b.reason}),
                    )
                    .await;
                    return Ok(Json(RevokeResult {
                        badge: code.to_string(),
                        badges: next.badges.iter().map(ToString::to_string).collect(),
                    }));
                }
                Err(WriteError::Conflict) => continue,
                Err(WriteError::Store(e)) => return Err(e.into()),
            }
        }
        Err(ApiError::conflict(
            "the user's rewards kept changing; retry",
        ))
    }

    /// The reward rules in force and every earlier version.
    #[oai(
        path = "/admin/gamification/config",
        method = "get",
        operation_id = "admin_gamification_config"
    )]
    async fn get_config(
        &self,
        state: Data<&Arc<AppState>>,
        _auth: Staff,
    ) -> ApiResult<Json<ConfigList>> {
        let db = state.store.platform();
        repo::active_config(db).await?;
        let history: Vec<ConfigVersion> = repo::config_history(db)
            .await?
            .into_iter()
            .map(|c| ConfigVersion {
                version: c.config.version,
                config: serde_json::to_value(&c.config).unwrap_or_default(),
                created_by: c.created_by,
                created_at: c.created_at,
            })
            .collect();
        let active = history
            .first()
            .map(|c| ConfigVersion {
                version: c.version,
                config: c.config.clone(),
                created_by: c.created_by.clone(),
                created_at: c.created_at,
            })
            .ok_or_else(|| ApiError::internal("no reward config"))?;
        Ok(Json(ConfigList { active, history }))
    }

    /// Publish new reward rules: the body is a full config (as in `GET`, `version`
    /// ignored); it becomes the next version and applies to evaluations from now on.
    #[oai(
        path = "/admin/gamification/config",
        method = "put",
        operation_id = "admin_gamification_config_publish"
    )]
    async fn put_config(
        &self,
        state: Data<&Arc<AppState>>,
        client: ClientInfo,
        auth: Staff,
        /// A whole reward config, as `GET` returns it.
        body: Json<AnyObject>,
    ) -> ApiResult<Json<ConfigVersion>> {
        let db = state.store.platform();
        let current = repo::active_config(db).await?.config;
        let mut config: RewardConfig = serde_json::from_value(body.0.into_inner())
            .map_err(|e| ApiError::validation(format!("invalid reward config: {e}")))?;
        config.version = current.version + 1;
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(ApiError::validation(
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
        }
        let published = repo::publish_config(db, &config, Some(&auth.0.user_id)).await;
        state.reward_config.forget();
        if !published? {
            return Err(ApiError::conflict(
                "someone published a new version at the same time; reload and retry",
            ));
        }
        record(
            &state,
            AuthEventKind::RewardConfigChanged,
            &client,
            Some(&auth.0.user_id),
            None,
            Some(&auth.0.email),
            serde_json::json!({"version": config.version}),
        )
        .await;
        Ok(Json(ConfigVersion {
            version: config.version,
            config: serde_json::to_value(&config).unwrap_or_default(),
            created_by: Some(auth.0.user_id.clone()),
            created_at: Utc::now(),
        }))
    }
}
