//! The caller's own account: profile, and the status bar's read model (a password
//! change is `identity::sessions::change_password`: it shares the login's limits).

use chrono::Utc;

use crate::deps::Deps;
use crate::error::{ApiError, ApiResult};
use crate::gamification::rules;
use crate::identity::accounts;
use crate::identity::Principal;
use crate::store::platform;

pub use crate::store::platform::{TenantRow, UserRow};

/// The caller's user and the workspace they are in.
pub struct Profile {
    pub user: UserRow,
    pub tenant: TenantRow,
}

async fn profile_of(state: &Deps, p: &Principal, user: UserRow) -> ApiResult<Profile> {
    let tenant = platform::tenant_by_id(state.store.platform(), p.tenant)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    Ok(Profile { user, tenant })
}

pub async fn profile(state: &Deps, p: &Principal) -> ApiResult<Profile> {
    let user = platform::user_by_id(state.store.platform(), &p.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    profile_of(state, p, user).await
}

/// Changes the caller's display name or time zone (a read-only member may too: it is
/// their own profile). Each is checked by the account rules first.
pub async fn update_profile(
    state: &Deps,
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

/// The first-run checklist: what the caller has done of the first steps. `invited` is
/// `None` for roles that can't invite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Onboarding {
    pub first_entry: bool,
    pub outcome: bool,
    pub evidence: bool,
    pub invited: Option<bool>,
    pub first_report: bool,
}

pub async fn onboarding(state: &Deps, p: &Principal) -> ApiResult<Onboarding> {
    let db = p.tenant_db(state).await?;
    let firsts = crate::store::worklogs::firsts(&db, &p.user_id).await?;
    let invited = if p.role.can_manage_members() {
        Some(platform::has_invited(state.store.platform(), p.tenant, &p.user_id).await?)
    } else {
        None
    };
    Ok(Onboarding {
        first_entry: firsts.entry,
        outcome: firsts.outcome,
        evidence: firsts.evidence,
        invited,
        first_report: firsts.report,
    })
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

pub async fn status_bar(state: &Deps, p: &Principal) -> ApiResult<StatusBar> {
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
