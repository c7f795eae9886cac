//! `/api/tenant`, `/api/invitations`: the caller's workspace, members, invitations, audit.

use super::schema::{Between, Documented, IdOrEmpty, Limit};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::client::ClientInfo;
use super::me::NoContent;
use super::pagination;
use super::security::RoleName;
use super::security::{Authenticated, TenantAdmin};
use super::text::Text;
use super::Tag;
use crate::error::{ApiError, ApiResult};
use crate::identity::auditing::AuthEventKind;
use crate::identity::tenancy::Role;
use crate::identity::TenantId;
use crate::services::tenant::{
    self as workspace, AuthEventFilter, AuthEventRow, InvitationRow, MemberRow,
};
use crate::state::AppState;

/// A workspace, with your `role` in it.
// Field docs on `$ref` types (`role`) would be emitted as `allOf` wrappers, which
// client generators reject, so they are said on the object.
#[derive(Object)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub role: RoleName,
    pub member_count: u32,
}

#[derive(Object)]
pub struct UpdateTenant {
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: Text,
}

#[derive(Object)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    pub role: RoleName,
    pub disabled: bool,
    pub joined_at: DateTime<Utc>,
}

impl From<MemberRow> for Member {
    fn from(m: MemberRow) -> Self {
        Self {
            user_id: m.user_id,
            email: m.email,
            display_name: m.display_name,
            role: m.role.into(),
            disabled: m.disabled,
            joined_at: m.created_at,
        }
    }
}

#[derive(Object)]
pub struct MemberList {
    pub items: Vec<Member>,
}

#[derive(Object)]
pub struct UpdateMember {
    pub role: RoleName,
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Used,
    Expired,
    Revoked,
}

#[derive(Object)]
pub struct Invitation {
    pub id: String,
    /// `null` for a staff invitation that creates a new workspace.
    #[oai(nullable)]
    pub tenant_id: Option<String>,
    pub role: RoleName,
    #[oai(nullable)]
    pub email: Option<String>,
    pub status: InvitationStatus,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[oai(nullable)]
    pub used_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub used_by: Option<String>,
}

impl From<InvitationRow> for Invitation {
    fn from(r: InvitationRow) -> Self {
        let status = if r.used_at.is_some() {
            InvitationStatus::Used
        } else if r.revoked_at.is_some() {
            InvitationStatus::Revoked
        } else if r.expires_at < Utc::now() {
            InvitationStatus::Expired
        } else {
            InvitationStatus::Pending
        };
        Self {
            id: r.id,
            tenant_id: r.tenant_id.map(|t| t.to_string()),
            role: r.role.into(),
            email: r.email,
            status,
            created_by: r.created_by,
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
            used_by: r.used_by,
        }
    }
}

/// A new invitation, with its passkey (shown this once, never again).
#[derive(Object)]
pub struct CreatedInvitation {
    #[oai(flatten)]
    pub invitation: Invitation,
    pub passkey: String,
}

impl From<workspace::CreatedInvitation> for CreatedInvitation {
    fn from(c: workspace::CreatedInvitation) -> Self {
        Self {
            invitation: c.invitation.into(),
            passkey: c.passkey,
        }
    }
}

#[derive(Object)]
pub struct InvitationPage {
    pub items: Vec<Invitation>,
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// An invitation to your workspace; `role` is the role the invitee gets.
// No doc on `role` itself: see `Tenant`.
#[derive(Object)]
pub struct CreateInvitation {
    pub role: RoleName,
    /// Optional: who the invitation is for (informational).
    #[oai(validator(max_length = 254))]
    #[oai(nullable)]
    pub email: Option<Text>,
    /// Hours until the passkey expires (1–720, default 72).
    #[oai(nullable)]
    pub expires_in_hours: Option<Documented<u32, Between<1, 720>>>,
}

#[derive(ApiResponse)]
pub enum CreatedInvitationResult {
    /// Created; the passkey is in the body and will not be shown again.
    #[oai(status = 201)]
    Created(Json<CreatedInvitation>),
}

#[derive(Object)]
pub struct AuthEvent {
    pub id: String,
    pub kind: String,
    #[oai(nullable)]
    pub user_id: Option<String>,
    #[oai(nullable)]
    pub tenant_id: Option<String>,
    #[oai(nullable)]
    pub email: Option<String>,
    #[oai(nullable)]
    pub ip: Option<String>,
    #[oai(nullable)]
    pub user_agent: Option<String>,
    #[oai(nullable)]
    pub correlation_id: Option<String>,
    pub detail: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<AuthEventRow> for AuthEvent {
    fn from(r: AuthEventRow) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            user_id: r.user_id,
            tenant_id: r.tenant_id.map(|t| t.to_string()),
            email: r.email,
            ip: r.ip,
            user_agent: r.user_agent,
            correlation_id: r.correlation_id,
            detail: r.detail,
            created_at: r.created_at,
        }
    }
}

#[derive(Object)]
pub struct AuthEventPage {
    pub items: Vec<AuthEvent>,
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// The audit log's filters, as both audit endpoints take them.
pub struct AuditQuery {
    pub kind: Query<Option<AuthEventKind>>,
    pub exclude_kind: Query<Option<Vec<AuthEventKind>>>,
    pub user_id: Query<Option<uuid::Uuid>>,
    pub since: Query<Option<DateTime<Utc>>>,
    pub until: Query<Option<DateTime<Utc>>>,
    pub cursor: Query<Option<IdOrEmpty>>,
    pub limit: Query<Option<Limit>>,
}

/// Shared by the tenant and staff audit endpoints.
pub async fn audit_page(
    state: &AppState,
    tenant_id: Option<TenantId>,
    q: AuditQuery,
) -> ApiResult<AuthEventPage> {
    let (limit, cursor) =
        pagination::page(q.limit.0.map(Limit::into_inner), q.cursor.0.map(|c| c.0))?;
    let filter = AuthEventFilter {
        tenant_id,
        kind: q.kind.0.map(|k| k.as_str().to_string()),
        exclude_kinds: q
            .exclude_kind
            .0
            .unwrap_or_default()
            .iter()
            .map(|k| k.as_str().to_string())
            .collect(),
        user_id: q.user_id.0.map(|u| u.to_string()),
        since: q.since.0,
        until: q.until.0,
        cursor,
        limit: limit + 1,
    };
    let rows = workspace::audit_events(state, &filter).await?;
    let (rows, next_cursor) = pagination::split(rows, limit, |r| r.id.clone());
    Ok(AuthEventPage {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    })
}

impl Tenant {
    fn of(w: workspace::Workspace, role: Role) -> Self {
        Self {
            id: w.tenant.id.to_string(),
            name: w.tenant.name,
            created_at: w.tenant.created_at,
            role: role.into(),
            member_count: w.member_count,
        }
    }
}

pub struct TenantApi;

#[OpenApi(tag = "Tag::Tenant")]
impl TenantApi {
    /// Your workspace.
    #[oai(path = "/tenant", method = "get", operation_id = "tenant_get")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
    ) -> ApiResult<Json<Tenant>> {
        let w = workspace::workspace(&state, &auth.0).await?;
        Ok(Json(Tenant::of(w, auth.0.role)))
    }

    /// Rename your workspace (admin or owner).
    #[oai(path = "/tenant", method = "patch", operation_id = "tenant_update")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAdmin,
        body: Json<UpdateTenant>,
    ) -> ApiResult<Json<Tenant>> {
        let name = body.name.trim();
        if name.is_empty() {
            return Err(ApiError::validation("name must not be blank"));
        }
        let w = workspace::rename(&state, &auth.0, name).await?;
        Ok(Json(Tenant::of(w, auth.0.role)))
    }

    /// Members of your workspace.
    #[oai(
        path = "/tenant/members",
        method = "get",
        operation_id = "tenant_members"
    )]
    async fn members(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
    ) -> ApiResult<Json<MemberList>> {
        let rows = workspace::members(&state, &auth.0).await?;
        Ok(Json(MemberList {
            items: rows.into_iter().map(Into::into).collect(),
        }))
    }

    /// Change a member's role (admin or owner). Admins can't touch owners or make
    /// owners; the last owner can't be demoted.
    #[oai(
        path = "/tenant/members/:user_id",
        method = "patch",
        operation_id = "tenant_member_update"
    )]
    async fn update_member(
        &self,
        state: Data<&Arc<AppState>>,
        client: ClientInfo,
        auth: TenantAdmin,
        /// The member's user id.
        user_id: Path<uuid::Uuid>,
        body: Json<UpdateMember>,
    ) -> ApiResult<Json<Member>> {
        let uid = user_id.0.to_string();
        let m = workspace::change_role(&state, &auth.0, &client, &uid, body.role.into()).await?;
        Ok(Json(m.into()))
    }

    /// Remove a member (admin or owner; only owners remove owners; never the last owner).
    #[oai(
        path = "/tenant/members/:user_id",
        method = "delete",
        operation_id = "tenant_member_remove"
    )]
    async fn remove_member(
        &self,
        state: Data<&Arc<AppState>>,
        client: ClientInfo,
        auth: TenantAdmin,
        /// The member's user id.
        user_id: Path<uuid::Uuid>,
    ) -> ApiResult<NoContent> {
        let uid = user_id.0.to_string();
        workspace::remove_member(&state, &auth.0, &client, &uid).await?;
        Ok(NoContent::Done)
    }

    /// Invite someone into your workspace (admin or owner). The passkey is returned once.
    #[oai(
        path = "/invitations",
        method = "post",
        operation_id = "invitation_create"
    )]
    async fn create_invitation(
        &self,
        state: Data<&Arc<AppState>>,
        client: ClientInfo,
        auth: TenantAdmin,
        body: Json<CreateInvitation>,
    ) -> ApiResult<CreatedInvitationResult> {
        let invite = workspace::Invite {
            role: body.role.into(),
            email: body.email.as_deref(),
            expires_in_hours: body.expires_in_hours.map(Documented::into_inner),
        };
        let created = workspace::invite_member(&state, &auth.0, &client, invite).await?;
        Ok(CreatedInvitationResult::Created(Json(created.into())))
    }

    /// Your workspace's invitations, newest first (admin or owner).
    #[oai(
        path = "/invitations",
        method = "get",
        operation_id = "invitation_list"
    )]
    async fn list_invitations(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAdmin,
        /// The `next_cursor` of the previous page; omit for the first page.
        cursor: Query<Option<IdOrEmpty>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
    ) -> ApiResult<Json<InvitationPage>> {
        let (limit, cursor) =
            pagination::page(limit.0.map(Limit::into_inner), cursor.0.map(|c| c.0))?;
        let rows = workspace::invitations(&state, &auth.0, cursor.as_deref(), limit + 1).await?;
        let (rows, next_cursor) = pagination::split(rows, limit, |r| r.id.clone());
        Ok(Json(InvitationPage {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// Revoke an unused invitation (admin or owner).
    #[oai(
        path = "/invitations/:id",
        method = "delete",
        operation_id = "invitation_revoke"
    )]
    async fn revoke_invitation(
        &self,
        state: Data<&Arc<AppState>>,
        client: ClientInfo,
        auth: TenantAdmin,
        /// The invitation's id.
        id: Path<uuid::Uuid>,
    ) -> ApiResult<NoContent> {
        workspace::revoke_invitation(&state, &auth.0, &client, &id.0.to_string()).await?;
        Ok(NoContent::Done)
    }

    /// Your workspace's authentication audit log (admin or owner), newest first.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/tenant/audit", method = "get", operation_id = "tenant_audit")]
    async fn audit(
        &self,
        state: Data<&Arc<AppState>>,
        auth: TenantAdmin,
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
        Ok(Json(audit_page(&state, Some(auth.0.tenant), q).await?))
    }
}
