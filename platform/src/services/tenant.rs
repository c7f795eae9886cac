//! The caller's workspace: its name, its members and their roles, invitations (the
//! workspace's, and staff's invitations to found a new one), and the audit log.

use chrono::Utc;

use crate::deps::Deps;
use crate::error::{ApiError, ApiResult};
use crate::identity::auditing::{record, AuthEventKind};
use crate::identity::credentials;
use crate::identity::tenancy::Role;
use crate::identity::{ClientInfo, Principal};
use crate::store::platform::{self, NewInvitation};
use crate::store::TenantId;

pub use crate::store::platform::{
    AuthEventFilter, AuthEventRow, InvitationRow, MemberRow, TenantRow,
};

/// A workspace and how many members it has.
pub struct Workspace {
    pub tenant: TenantRow,
    pub member_count: u32,
}

async fn with_members(state: &Deps, tenant: TenantRow) -> ApiResult<Workspace> {
    let members = platform::members_of(state.store.platform(), tenant.id).await?;
    Ok(Workspace {
        tenant,
        member_count: members.len() as u32,
    })
}

/// The caller's workspace.
pub async fn workspace(state: &Deps, p: &Principal) -> ApiResult<Workspace> {
    let t = platform::tenant_by_id(state.store.platform(), p.tenant)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    with_members(state, t).await
}

/// Renames the caller's workspace to `name` (already trimmed, not blank).
pub async fn rename(state: &Deps, p: &Principal, name: &str) -> ApiResult<Workspace> {
    let t = platform::rename_tenant(state.store.platform(), p.tenant, name)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    with_members(state, t).await
}

/// The members of the caller's workspace, oldest first.
pub async fn members(state: &Deps, p: &Principal) -> ApiResult<Vec<MemberRow>> {
    Ok(platform::members_of(state.store.platform(), p.tenant).await?)
}

/// Gives member `user_id` the role `role`. Only an owner touches an owner's role or
/// makes someone owner; the last owner keeps theirs. Audited.
pub async fn change_role(
    state: &Deps,
    p: &Principal,
    client: &ClientInfo,
    user_id: &str,
    role: Role,
) -> ApiResult<MemberRow> {
    let db = state.store.platform();
    let tid = p.tenant;
    let current = platform::membership_for(db, user_id, Some(tid))
        .await?
        .ok_or_else(|| ApiError::not_found("member"))?;
    if !p.role.may_assign(current.role) || !p.role.may_assign(role) {
        return Err(ApiError::forbidden(
            "only an owner can change an owner's role or make someone owner",
        ));
    }
    let changed = platform::set_role(db, tid, user_id, role).await;
    state.principals.forget(user_id);
    changed?.ok_or_else(|| ApiError::not_found("member"))?;
    record(
        state,
        AuthEventKind::RoleChanged,
        client,
        Some(&p.user_id),
        Some(tid),
        None,
        serde_json::json!({"target_user_id": user_id, "from": current.role, "to": role}),
    )
    .await;
    platform::members_of(db, tid)
        .await?
        .into_iter()
        .find(|m| m.user_id == user_id)
        .ok_or_else(|| ApiError::not_found("member"))
}

/// Removes member `user_id` (only owners remove owners; never the last owner); their
/// logins into the workspace end. Audited.
pub async fn remove_member(
    state: &Deps,
    p: &Principal,
    client: &ClientInfo,
    user_id: &str,
) -> ApiResult<()> {
    let db = state.store.platform();
    let tid = p.tenant;
    let current = platform::membership_for(db, user_id, Some(tid))
        .await?
        .ok_or_else(|| ApiError::not_found("member"))?;
    if !p.role.may_assign(current.role) {
        return Err(ApiError::forbidden("only an owner can remove an owner"));
    }
    let removed =
        platform::remove_member(db, tid, user_id, state.settings.ended_session_memory_secs()).await;
    state.principals.forget(user_id);
    if !removed? {
        return Err(ApiError::not_found("member"));
    }
    record(
        state,
        AuthEventKind::MemberRemoved,
        client,
        Some(&p.user_id),
        Some(tid),
        None,
        serde_json::json!({"target_user_id": user_id, "role": current.role}),
    )
    .await;
    Ok(())
}

/// A new invitation and its passkey (shown this once: only its hash is stored).
pub struct CreatedInvitation {
    pub invitation: InvitationRow,
    pub passkey: String,
}

/// What an invitation is for: `role` in the caller's workspace, or the owner of a new
/// one (staff).
pub struct Invite<'a> {
    pub role: Role,
    /// Who it is for (informational).
    pub email: Option<&'a str>,
    /// 1–720, 72 when `None`.
    pub expires_in_hours: Option<u32>,
}

/// Invites someone into the caller's workspace; only an owner invites an owner.
pub async fn invite_member(
    state: &Deps,
    p: &Principal,
    client: &ClientInfo,
    invite: Invite<'_>,
) -> ApiResult<CreatedInvitation> {
    if !p.role.may_assign(invite.role) {
        return Err(ApiError::forbidden(
            "only an owner can invite another owner",
        ));
    }
    create_invitation(state, client, p, Some(p.tenant), invite).await
}

/// Invites someone to create a new workspace, which they will own (staff).
pub async fn invite_founder(
    state: &Deps,
    p: &Principal,
    client: &ClientInfo,
    email: Option<&str>,
    expires_in_hours: Option<u32>,
) -> ApiResult<CreatedInvitation> {
    let invite = Invite {
        role: Role::Owner,
        email,
        expires_in_hours,
    };
    create_invitation(state, client, p, None, invite).await
}

async fn create_invitation(
    state: &Deps,
    client: &ClientInfo,
    p: &Principal,
    tenant_id: Option<TenantId>,
    invite: Invite<'_>,
) -> ApiResult<CreatedInvitation> {
    let hours = invite.expires_in_hours.unwrap_or(72);
    if !(1..=720).contains(&hours) {
        return Err(ApiError::validation(
            "expires_in_hours must be between 1 and 720",
        ));
    }
    let email = invite
        .email
        .map(crate::identity::accounts::Email::parse)
        .transpose()?;
    let passkey = credentials::new_passkey();
    let role = invite.role;
    let row = platform::create_invitation(
        state.store.platform(),
        &NewInvitation {
            passkey_hash: &credentials::sha256_hex(&passkey),
            tenant_id,
            role,
            email: email.as_ref().map(|e| e.as_str()),
            created_by: &p.user_id,
            expires_at: Utc::now() + chrono::Duration::hours(i64::from(hours)),
        },
    )
    .await?;
    record(state, AuthEventKind::InviteCreated, client, Some(&p.user_id), tenant_id, None,
        serde_json::json!({"invitation_id": row.id, "role": role, "new_tenant": tenant_id.is_none()})).await;
    Ok(CreatedInvitation {
        invitation: row,
        passkey,
    })
}

/// The caller's workspace's invitations, newest first: at most `limit` after `cursor`.
pub async fn invitations(
    state: &Deps,
    p: &Principal,
    cursor: Option<&str>,
    limit: u32,
) -> ApiResult<Vec<InvitationRow>> {
    let tid = p.tenant;
    Ok(platform::invitations_of(state.store.platform(), Some(tid), cursor, limit).await?)
}

/// Revokes an unused invitation of the caller's workspace. Audited.
pub async fn revoke_invitation(
    state: &Deps,
    p: &Principal,
    client: &ClientInfo,
    id: &str,
) -> ApiResult<()> {
    let tid = p.tenant;
    let row = platform::revoke_invitation(state.store.platform(), Some(tid), id)
        .await?
        .ok_or_else(|| ApiError::not_found("invitation"))?;
    if row.used_at.is_some() {
        return Err(ApiError::conflict("this invitation was already used"));
    }
    record(
        state,
        AuthEventKind::InviteRevoked,
        client,
        Some(&p.user_id),
        Some(tid),
        None,
        serde_json::json!({"invitation_id": row.id}),
    )
    .await;
    Ok(())
}

/// Audit events matching `filter`, newest first. The caller scopes it: a workspace's
/// admins see their `tenant_id` only; staff may see every tenant's.
pub async fn audit_events(state: &Deps, filter: &AuthEventFilter) -> ApiResult<Vec<AuthEventRow>> {
    Ok(platform::list_auth_events(state.store.platform(), filter).await?)
}
