//! The caller's own account: profile, password, and the status bar's read model.

use chrono::Utc;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::gamification::rules;
use crate::identity::accounts::{self, Email};
use crate::identity::auditing::{record, AuthEventKind};
use crate::identity::{ClientInfo, Principal};
use crate::state::AppState;
use crate::store::platform;

pub use crate::store::platform::{TenantRow, UserRow};

/// The caller's user and the workspace they are in.
pub struct Profile {
    pub user: UserRow,
    pub tenant: TenantRow,
}

async fn profile_of(state: &AppState, p: &Principal, user: UserRow) -> ApiResult<Profile> {
    let tenant = platform::tenant_by_id(state.store.platform(), &p.tenant_id())
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    Ok(Profile { user, tenant })
}

pub async fn profile(state: &AppState, p: &Principal) -> ApiResult<Profile> {
    let user = platform::user_by_id(state.store.platform(), &p.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    profile_of(state, p, user).await
}

/// Changes the caller's display name or time zone (a read-only member may too: it is
/// their own profile). Each is checked by the account rules first.
pub async fn update_profile(
    state: &AppState,
    p: &Principal,
    display_name: Option<&str>,
    timezone: Option<&str>,
) -> ApiResult<Profile> {
    let name = display_name.map(accounts::parse_display_name).transpose()?;
    let tz = timezone.map(accounts::parse_timezone).transpose()?;
    let user = platform::update_profile(
        state.store.platform(),
        &p.user_id,
        name.as_deref(),
        tz.as_deref(),
    )
    .await;
    state.principals.forget(&p.user_id);
    let user = user?.ok_or_else(|| ApiError::not_found("user"))?;
    profile_of(state, p, user).await
}

/// Changes the caller's password after checking the current one, and ends every login
/// they have (each refresh token is revoked). Both outcomes are audited.
pub async fn change_password(
    state: &AppState,
    p: &Principal,
    client: &ClientInfo,
    current: &str,
    new: &str,
) -> ApiResult<()> {
    let db = state.store.platform();
    let user = platform::user_by_id(db, &p.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    // Guessing the current password with a stolen access token meets the same
    // failure limits as guessing it at login.
    state.limits.password_attempt(&user.email, &client.ip)?;
    if !accounts::verify_password_async(current.to_string(), user.password_hash.clone()).await {
        record(
            state,
            AuthEventKind::PasswordChangeFailed,
            client,
            Some(&user.id),
            Some(&p.tenant_id()),
            Some(&user.email),
            serde_json::json!({"reason": "bad_current_password"}),
        )
        .await;
        crate::identity::sessions::password_failed(state, client, Some(&user.id), &user.email)
            .await;
        return Err(ApiError::new(
            ErrorCode::InvalidCredentials,
            "current password is incorrect",
        ));
    }
    state.limits.password_ok(&user.email, &client.ip);
    accounts::validate_password(new, &Email::parse(&user.email)?)?;
    let hash = accounts::hash_password_async(new.to_string()).await?;
    platform::set_password(db, &user.id, &hash).await?;
    platform::end_user_sessions(db, &user.id, state.settings.ended_session_memory_secs()).await?;
    state.principals.forget(&user.id);
    record(
        state,
        AuthEventKind::PasswordChanged,
        client,
        Some(&user.id),
        Some(&p.tenant_id()),
        Some(&user.email),
        serde_json::json!({}),
    )
    .await;
    Ok(())
}

/// What the status bar shows: the workspace's jobs and LLM use, the caller's rewards.
pub struct StatusBar {
    pub jobs_running: u64,
    pub jobs_queued: u64,
    pub tokens_used: u64,
    /// The workspace's monthly LLM token quota (0 = none).
    pub token_quota: u64,
    pub llm_calls: u64,
    pub llm_provider: String,
    pub streak: u32,
    pub today_xp: u32,
    pub daily_xp_cap: u32,
    pub level: u32,
    pub quiet_mode: bool,
}

pub async fn status_bar(state: &AppState, p: &Principal) -> ApiResult<StatusBar> {
    let db = p.tenant_db(state).await?;
    let (queued, running) = state.jobs.queue().active_counts(&p.tenant_id());
    let (tokens, calls) = crate::llm::usage_this_month(&db).await?;
    let g = crate::store::gamification::user(&db, &p.user_id).await?;
    let config = state.reward_config.get(state.store.platform()).await?;
    let s = rules::summary(&config, &g.state, p.timezone, Utc::now());
    Ok(StatusBar {
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
    })
}
