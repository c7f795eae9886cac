//! `/api/me`: the caller's own profile and password.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::client::ClientInfo;
use super::security::{Authenticated, Principal};
use super::text::Text;
use super::Tag;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::identity::accounts::{self, Email};
use crate::identity::auditing::{record, AuthEventKind};
use crate::identity::tenancy::Role;
use crate::state::AppState;
use crate::store::platform::{self, UserRow};

/// The caller's profile and workspace.
#[derive(Object)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub timezone: String,
    pub is_staff: bool,
    pub tenant_id: String,
    pub tenant_name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

#[derive(Object)]
pub struct UpdateMe {
    /// 1–100 characters, not only white space.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"\S"))]
    #[oai(nullable)]
    pub display_name: Option<Text>,
    #[oai(validator(max_length = 64))]
    #[oai(nullable)]
    pub timezone: Option<Text>,
}

#[derive(Object)]
pub struct ChangePassword {
    #[oai(validator(max_length = 256))]
    pub current_password: Text,
    #[oai(validator(max_length = 256))]
    pub new_password: Text,
}

#[derive(ApiResponse)]
pub enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

async fn me_of(state: &AppState, p: &Principal, user: UserRow) -> ApiResult<Me> {
    let tenant = platform::tenant_by_id(state.store.platform(), &p.tenant_id())
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    Ok(Me {
        id: user.id,
        email: user.email,
        display_name: user.display_name,
        timezone: user.timezone,
        is_staff: user.is_staff,
        tenant_id: tenant.id,
        tenant_name: tenant.name,
        role: p.role,
        created_at: user.created_at,
    })
}

pub struct MeApi;

#[OpenApi(tag = "Tag::Account")]
impl MeApi {
    /// Your profile, workspace and role.
    #[oai(path = "/me", method = "get", operation_id = "me_get")]
    async fn get(&self, state: Data<&Arc<AppState>>, auth: Authenticated) -> ApiResult<Json<Me>> {
        let user = platform::user_by_id(state.store.platform(), &auth.0.user_id)
            .await?
            .ok_or_else(|| ApiError::not_found("user"))?;
        Ok(Json(me_of(&state, &auth.0, user).await?))
    }

    /// Change your display name or time zone (read-only members may too: it is their own profile).
    #[oai(path = "/me", method = "patch", operation_id = "me_update")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        body: Json<UpdateMe>,
    ) -> ApiResult<Json<Me>> {
        let name = body
            .display_name
            .as_deref()
            .map(accounts::parse_display_name)
            .transpose()?;
        let tz = body
            .timezone
            .as_deref()
            .map(accounts::parse_timezone)
            .transpose()?;
        let user = platform::update_profile(
            state.store.platform(),
            &auth.0.user_id,
            name.as_deref(),
            tz.as_deref(),
        )
        .await;
        state.principals.forget(&auth.0.user_id);
        let user = user?.ok_or_else(|| ApiError::not_found("user"))?;
        Ok(Json(me_of(&state, &auth.0, user).await?))
    }

    /// Change your password. Every refresh token you hold is revoked (log out everywhere).
    #[oai(
        path = "/me/password",
        method = "post",
        operation_id = "me_change_password"
    )]
    async fn change_password(
        &self,
        state: Data<&Arc<AppState>>,
        client: ClientInfo,
        auth: Authenticated,
        body: Json<ChangePassword>,
    ) -> ApiResult<NoContent> {
        let db = state.store.platform();
        let user = platform::user_by_id(db, &auth.0.user_id)
            .await?
            .ok_or_else(|| ApiError::not_found("user"))?;
        // Guessing the current password with a stolen access token meets the same
        // failure limits as guessing it at login.
        state.limits.password_attempt(&user.email, &client.ip)?;
        if !accounts::verify_password_async(
            body.current_password.to_string(),
            user.password_hash.clone(),
        )
        .await
        {
            record(
                &state,
                AuthEventKind::PasswordChangeFailed,
                &client,
                Some(&user.id),
                Some(&auth.0.tenant_id()),
                Some(&user.email),
                serde_json::json!({"reason": "bad_current_password"}),
            )
            .await;
            crate::identity::sessions::password_failed(
                &state,
                &client,
                Some(&user.id),
                &user.email,
            )
            .await;
            return Err(ApiError::new(
                ErrorCode::InvalidCredentials,
                "current password is incorrect",
            ));
        }
        state.limits.password_ok(&user.email, &client.ip);
        accounts::validate_password(&body.new_password, &Email::parse(&user.email)?)?;
        let hash = accounts::hash_password_async(body.new_password.to_string()).await?;
        platform::set_password(db, &user.id, &hash).await?;
        platform::end_user_sessions(db, &user.id, state.settings.ended_session_memory_secs())
            .await?;
        state.principals.forget(&user.id);
        record(
            &state,
            AuthEventKind::PasswordChanged,
            &client,
            Some(&user.id),
            Some(&auth.0.tenant_id()),
            Some(&user.email),
            serde_json::json!({}),
        )
        .await;
        Ok(NoContent::Done)
    }

    /// The status bar: your workspace's jobs, LLM tokens this month, your streak and XP.
    #[oai(path = "/status/bar", method = "get", operation_id = "status_bar")]
    async fn status_bar(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
    ) -> ApiResult<Json<StatusBar>> {
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let (queued, running) = state.jobs.queue().active_counts(&p.tenant_id());
        let (tokens, calls) = crate::llm::usage_this_month(&db).await?;
        let g = crate::store::gamification::user(&db, &p.user_id).await?;
        let config = state.reward_config.get(state.store.platform()).await?;
        let s = crate::gamification::rules::summary(&config, &g.state, p.timezone, Utc::now());
        Ok(Json(StatusBar {
            jobs_running: running,
            jobs_queued: queued,
            tokens_used: tokens,
            token_quota: state.settings.quotas.llm_tokens_per_month,
            llm_calls: calls,
            llm_provider: state.llm.provider_name().into(),
            streak: s.streak.current,
            today_xp: s.entry_xp_today,
            daily_xp_cap: config.max_daily_xp,
            level: s.level.level,
            quiet_mode: g.quiet_mode,
            balance: None,
        }))
    }
}

/// What the SPA's status bar shows.
#[derive(Object)]
pub struct StatusBar {
    /// Your workspace's jobs.
    pub jobs_running: u64,
    pub jobs_queued: u64,
    /// LLM tokens used this month by the workspace, and its monthly quota (0 = none).
    pub tokens_used: u64,
    pub token_quota: u64,
    pub llm_calls: u64,
    pub llm_provider: String,
    pub streak: u32,
    pub today_xp: u32,
    pub daily_xp_cap: u32,
    pub level: u32,
    pub quiet_mode: bool,
    /// The prepaid balance, when billing is on (it isn't on this server).
    #[oai(nullable)]
    pub balance: Option<f64>,
}
