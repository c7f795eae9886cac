//! `/api/admin/gamification/*` (staff): engagement metrics, manual grants and revokes,
//! and the reward rules. Listed in the document with the member routes of
//! [`super::gamification`], under the same tag.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::client::ClientInfo;
use super::schema::{AnyObject, Between, Day, Documented};
use super::security::Staff;
use super::text::Text;
use super::Tag;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::gamification::rules::BadgeCode;
use crate::identity::TenantId;
use crate::services::rewards::{self, ConfigRow};
use crate::state::AppState;

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

impl From<rewards::Metrics> for GamificationMetrics {
    fn from(m: rewards::Metrics) -> Self {
        Self {
            days: m
                .days
                .into_iter()
                .map(|(day, active_users, xp)| DayMetric {
                    day: day.into(),
                    active_users,
                    xp,
                })
                .collect(),
            weekly_active_users: m.weekly_active_users,
            users_with_rewards: m.users_with_rewards,
            streak_distribution: m
                .streak_distribution
                .into_iter()
                .map(|(bucket, users)| BucketCount {
                    bucket: bucket.into(),
                    users,
                })
                .collect(),
            badges_awarded: m
                .badges_awarded
                .into_iter()
                .map(|(code, count)| CodeCount { code, count })
                .collect(),
            total_xp: m.total_xp,
        }
    }
}

impl From<rewards::Granted> for GrantResult {
    fn from(g: rewards::Granted) -> Self {
        Self {
            total_xp: g.total_xp,
            level: g.level,
            granted: g.granted,
            badges_awarded: g.badges_awarded,
            applied: g.applied,
        }
    }
}

impl From<&ConfigRow> for ConfigVersion {
    fn from(c: &ConfigRow) -> Self {
        Self {
            version: c.config.version,
            config: serde_json::to_value(&c.config).unwrap_or_default(),
            created_by: c.created_by.clone(),
            created_at: c.created_at,
        }
    }
}

pub struct AdminGamificationApi;

#[OpenApi(tag = "Tag::Gamification")]
impl AdminGamificationApi {
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
        Ok(Json(rewards::metrics(&state, days).await?.into()))
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
        let grant = rewards::Grant {
            tenant_id: tenant_id(&b.tenant_id)?,
            user_id: b.user_id.into_string(),
            amount: b.amount,
            reason: b.reason.into_string(),
            idempotency_key: b.idempotency_key.map(Text::into_string),
        };
        let granted = rewards::grant_xp(&state, &auth.0, &client, grant).await?;
        Ok(Json(granted.into()))
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
        let badge: BadgeCode = b
            .badge
            .parse()
            .map_err(|_| ApiError::validation(format!("unknown badge {:?}", &*b.badge)))?;
        let revoke = rewards::Revoke {
            tenant_id: tenant_id(&b.tenant_id)?,
            user_id: b.user_id.into_string(),
            badge,
            reason: b.reason.into_string(),
        };
        let held = rewards::revoke_badge(&state, &auth.0, &client, revoke).await?;
        Ok(Json(RevokeResult {
            badge: badge.to_string(),
            badges: held.iter().map(ToString::to_string).collect(),
        }))
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
        let c = rewards::configs(&state).await?;
        Ok(Json(ConfigList {
            active: (&c.active).into(),
            history: c.history.iter().map(Into::into).collect(),
        }))
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
        let body = body.0.into_inner();
        let published = rewards::publish_config(&state, &auth.0, &client, body).await?;
        Ok(Json((&published).into()))
    }
}

/// A staff request's target workspace.
fn tenant_id(text: &str) -> ApiResult<TenantId> {
    text.parse()
        .map_err(|_| ApiError::new(ErrorCode::InvalidParameter, "tenant_id is not a valid id"))
}
