//! `/api/admin/*`: platform staff only (and `ADMIN_IP_ALLOWLIST`).

use super::schema::{Between, Documented, IdOrEmpty, Limit};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::client::ClientInfo;
use super::pagination;
use super::security::Staff;
use super::tenant::{audit_page, AuditQuery, AuthEventPage, CreatedInvitationResult};
use super::text::Text;
use super::Tag;
use crate::error::ApiResult;
use crate::identity::auditing::AuthEventKind;
use crate::identity::TenantId;
use crate::services::tenant as workspace;
use crate::services::users::{self, UserRow};
use crate::state::AppState;

#[derive(Object)]
pub struct AdminUser {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub timezone: String,
    pub is_staff: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<UserRow> for AdminUser {
    fn from(u: UserRow) -> Self {
        Self {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            timezone: u.timezone,
            is_staff: u.is_staff,
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

#[derive(Object)]
pub struct AdminUserPage {
    pub items: Vec<AdminUser>,
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

#[derive(Object)]
pub struct CreateTenantInvitation {
    #[oai(validator(max_length = 254))]
    #[oai(nullable)]
    pub email: Option<Text>,
    /// Hours until the passkey expires (1–720, default 72).
    #[oai(nullable)]
    pub expires_in_hours: Option<Documented<u32, Between<1, 720>>>,
}

pub struct AdminApi;

#[OpenApi(prefix_path = "/admin", tag = "Tag::Admin")]
impl AdminApi {
    /// Invite someone to create a new workspace (they become its owner).
    #[oai(
        path = "/invitations",
        method = "post",
        operation_id = "admin_invitation_create"
    )]
    async fn invite(
        &self,
        state: Data<&Arc<AppState>>,
        client: ClientInfo,
        auth: Staff,
        body: Json<CreateTenantInvitation>,
    ) -> ApiResult<CreatedInvitationResult> {
        let (email, hours) = (body.email.as_deref(), body.expires_in_hours);
        let hours = hours.map(Documented::into_inner);
        let created = workspace::invite_founder(&state, &auth.0, &client, email, hours).await?;
        Ok(CreatedInvitationResult::Created(Json(created.into())))
    }

    /// All users, newest first; `q` matches e-mail or name.
    #[oai(path = "/users", method = "get", operation_id = "admin_users")]
    async fn users(
        &self,
        state: Data<&Arc<AppState>>,
        _auth: Staff,
        /// Matches e-mail or display name (case-insensitive substring).
        q: Query<Option<String>>,
        /// The `next_cursor` of the previous page; omit for the first page.
        cursor: Query<Option<IdOrEmpty>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
    ) -> ApiResult<Json<AdminUserPage>> {
        let (limit, cursor) =
            pagination::page(limit.0.map(Limit::into_inner), cursor.0.map(|c| c.0))?;
        let q = q.0.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let rows = users::list(&state, q.as_deref(), cursor.as_deref(), limit + 1).await?;
        let (rows, next_cursor) = pagination::split(rows, limit, |r| r.id.clone());
        Ok(Json(AdminUserPage {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// Disable a user: they can no longer log in, refresh, or use an access token.
    #[oai(
        path = "/users/:id/disable",
        method = "post",
        operation_id = "admin_user_disable"
    )]
    async fn disable(
        &self,
        state: Data<&Arc<AppState>>,
        client: ClientInfo,
        auth: Staff,
        /// The user's id.
        id: Path<uuid::Uuid>,
    ) -> ApiResult<Json<AdminUser>> {
        let user = users::set_disabled(&state, &auth.0, &client, &id.0.to_string(), true).await?;
        Ok(Json(user.into()))
    }

    /// Re-enable a disabled user.
    #[oai(
        path = "/users/:id/enable",
        method = "post",
        operation_id = "admin_user_enable"
    )]
    async fn enable(
        &self,
        state: Data<&Arc<AppState>>,
        client: ClientInfo,
        auth: Staff,
        /// The user's id.
        id: Path<uuid::Uuid>,
    ) -> ApiResult<Json<AdminUser>> {
        let user = users::set_disabled(&state, &auth.0, &client, &id.0.to_string(), false).await?;
        Ok(Json(user.into()))
    }

    /// The authentication audit log of every tenant, newest first.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/audit", method = "get", operation_id = "admin_audit")]
    async fn audit(
        &self,
        state: Data<&Arc<AppState>>,
        _auth: Staff,
        /// Only this workspace's events (a tenant id).
        tenant_id: Query<Option<uuid::Uuid>>,
        /// Only events of this kind.
        kind: Query<Option<AuthEventKind>>,
        /// Leave out events of these kinds (repeat the parameter), e.g. `refresh`: one
        /// is recorded each time a page load renews a session.
        exclude_kind: Query<Option<Vec<AuthEventKind>>>,
        /// Only events of this user.
        user_id: Query<Option<uuid::Uuid>>,
        /// Only events at or after this moment (RFC 3339).
        since: Query<Option<DateTime<Utc>>>,
        /// Only events before this moment (RFC 3339).
        until: Query<Option<DateTime<Utc>>>,
        /// The `next_cursor` of the previous page; omit for the first page.
        cursor: Query<Option<IdOrEmpty>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
    ) -> ApiResult<Json<AuthEventPage>> {
        let q = AuditQuery {
            kind,
            exclude_kind,
            user_id,
            since,
            until,
            cursor,
            limit,
        };
        Ok(Json(
            audit_page(&state, tenant_id.0.map(TenantId), q).await?,
        ))
    }
}
