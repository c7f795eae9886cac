//! `/api/me`: the caller's own profile and password.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::client::ClientInfo;
use super::security::RoleName;
use super::security::{Authenticated, Principal};
use super::text::Text;
use super::Tag;
use crate::error::ApiResult;
use crate::services::me::{self, Profile};
use crate::state::AppState;

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
    pub role: RoleName,
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

fn me_of(p: &Principal, Profile { user, tenant }: Profile) -> Me {
    Me {
        id: user.id,
        email: user.email,
        display_name: user.display_name,
        timezone: user.timezone,
        is_staff: user.is_staff,
        tenant_id: tenant.id.to_string(),
        tenant_name: tenant.name,
        role: p.role.into(),
        created_at: user.created_at,
    }
}

pub struct MeApi;

#[OpenApi(tag = "Tag::Account")]
impl MeApi {
    /// Your profile, workspace and role.
    #[oai(path = "/me", method = "get", operation_id = "me_get")]
    async fn get(&self, state: Data<&Arc<AppState>>, auth: Authenticated) -> ApiResult<Json<Me>> {
        let profile = me::profile(&state, &auth.0).await?;
        Ok(Json(me_of(&auth.0, profile)))
    }

    /// Change your display name or time zone (read-only members may too: it is their own profile).
    #[oai(path = "/me", method = "patch", operation_id = "me_update")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        body: Json<UpdateMe>,
    ) -> ApiResult<Json<Me>> {
        let name = body.display_name.as_deref();
        let profile = me::update_profile(&state, &auth.0, name, body.timezone.as_deref()).await?;
        Ok(Json(me_of(&auth.0, profile)))
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
        let (current, new) = (&body.current_password, &body.new_password);
        crate::identity::sessions::change_password(&state, &auth.0, &client, current, new).await?;
        Ok(NoContent::Done)
    }

    /// Your first steps (the dashboard's checklist for new users): which you have done.
    #[oai(
        path = "/me/onboarding",
        method = "get",
        operation_id = "me_onboarding"
    )]
    async fn onboarding(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
    ) -> ApiResult<Json<Onboarding>> {
        let o = me::onboarding(&state, &auth.0).await?;
        Ok(Json(Onboarding {
            first_entry: o.first_entry,
            outcome: o.outcome,
            evidence: o.evidence,
            invited: o.invited,
            first_report: o.first_report,
        }))
    }

    /// The status bar: your workspace's jobs, LLM tokens this month, your streak and XP.
    #[oai(path = "/status/bar", method = "get", operation_id = "status_bar")]
    async fn status_bar(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
    ) -> ApiResult<Json<StatusBar>> {
        let s = me::status_bar(&state, &auth.0).await?;
        Ok(Json(StatusBar {
            jobs_running: s.jobs_running,
            jobs_queued: s.jobs_queued,
            tokens_used: s.tokens_used,
            token_quota: s.token_quota,
            llm_calls: s.llm_calls,
            llm_provider: s.llm_provider,
            streak: s.streak,
            today_xp: s.today_xp,
            daily_xp_cap: s.daily_xp_cap,
            level: s.level,
            quiet_mode: s.quiet_mode,
            balance: None,
        }))
    }
}

/// The first steps of a new user, each done or not.
#[derive(Object)]
pub struct Onboarding {
    /// Logged a work-log entry.
    pub first_entry: bool,
    /// Wrote an outcome on an entry.
    pub outcome: bool,
    /// Attached a file to an entry.
    pub evidence: bool,
    /// Invited someone into the workspace; `null` for roles that can't invite.
    #[oai(nullable)]
    pub invited: Option<bool>,
    /// Generated a report.
    pub first_report: bool,
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
