//! Who may call what: security-scheme extractors that double as role guards.
//!
//! A handler's signature says who may call it: `auth: Authenticated` (any member of a
//! tenant), `Writer` (member and above), `TenantAdmin` (admin, owner), `TenantOwner`,
//! `Staff`. All of them are the same `bearerAuth` scheme in the OpenAPI document; the
//! guard runs in the checker, before the handler body. The principal is rebuilt from
//! the user's current state on every request (through `principals`, which every change
//! to a user or membership invalidates), so disabling a user, removing a member or
//! changing a role takes effect immediately, not when the 15-minute token expires; so
//! does ending a login (logout, password change): the token's `sid` is checked against
//! the user's recently ended logins, loaded with the principal.

use std::sync::Arc;

use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::identity::auditing::{self, AuthEventKind};
use crate::identity::tenancy::Role;
use crate::identity::TenantId;
use crate::state::AppState;

use super::client::ClientInfo;
pub use crate::identity::Principal;

fn state_of(req: &Request) -> ApiResult<Arc<AppState>> {
    req.data::<Arc<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("AppState missing"))
}

async fn authenticate(req: &Request, bearer: &Bearer) -> ApiResult<Principal> {
    let state = state_of(req)?;
    let claims = state.jwt.verify(&bearer.token)?;
    let tenant = uuid::Uuid::parse_str(&claims.tid)
        .map(TenantId)
        .map_err(|_| ApiError::new(ErrorCode::TokenInvalid, "access token is invalid"))?;
    let user = state
        .principals
        .get(state.store.platform(), &claims.sub)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid, "access token is invalid"))?;
    if user.disabled {
        return Err(ApiError::new(
            ErrorCode::AccountDisabled,
            "this account is disabled",
        ));
    }
    if claims
        .sid
        .as_deref()
        .is_some_and(|sid| user.session_ended(sid))
    {
        return Err(ApiError::new(
            ErrorCode::TokenInvalid,
            "this login was ended (logout, password change or a revoked session); log in again",
        ));
    }
    let role = user.role_in(tenant).ok_or_else(|| {
        ApiError::new(
            ErrorCode::TokenInvalid,
            "you are no longer a member of this tenant",
        )
    })?;
    state.limits.api(&user.user_id)?;
    Ok(Principal {
        user_id: user.user_id.clone(),
        tenant,
        role,
        is_staff: user.is_staff,
        email: user.email.clone(),
        timezone: user.timezone,
    })
}

/// Records the refusal and answers 403.
async fn deny(req: &Request, p: &Principal, needed: &str) -> ApiError {
    if let Ok(state) = state_of(req) {
        let client = ClientInfo::from_request_parts(req, &state.settings);
        auditing::record(
            &state,
            AuthEventKind::PermissionDenied,
            &client,
            Some(&p.user_id),
            Some(p.tenant),
            Some(&p.email),
            serde_json::json!({"method": req.method().as_str(), "path": req.uri().path(), "needed": needed, "role": p.role}),
        )
        .await;
    }
    ApiError::forbidden(format!("this action needs the {needed} role"))
}

async fn require(
    req: &Request,
    bearer: Bearer,
    ok: fn(&Principal) -> bool,
    needed: &str,
) -> poem::Result<Principal> {
    let p = authenticate(req, &bearer).await?;
    if ok(&p) {
        Ok(p)
    } else {
        Err(deny(req, &p, needed).await.into())
    }
}

async fn check_any(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    require(req, bearer, |_| true, "any").await
}
async fn check_writer(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    require(req, bearer, |p| p.role.can_write(), "member").await
}
async fn check_admin(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    require(req, bearer, |p| p.role.can_manage_members(), "admin").await
}
async fn check_owner(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    require(req, bearer, |p| p.role == Role::Owner, "owner").await
}
async fn check_staff(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    require(req, bearer, |p| p.is_staff, "staff").await
}

// The API's spelling of the domain's `Role`, which knows nothing of the document (its
// doc comment below is the schema's description).
/// A member's role in a tenant, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename = "Role", rename_all = "snake_case")]
pub enum RoleName {
    Owner,
    Admin,
    Member,
    ReadOnly,
}

impl From<Role> for RoleName {
    fn from(r: Role) -> Self {
        match r {
            Role::Owner => RoleName::Owner,
            Role::Admin => RoleName::Admin,
            Role::Member => RoleName::Member,
            Role::ReadOnly => RoleName::ReadOnly,
        }
    }
}

impl From<RoleName> for Role {
    fn from(r: RoleName) -> Self {
        match r {
            RoleName::Owner => Role::Owner,
            RoleName::Admin => Role::Admin,
            RoleName::Member => Role::Member,
            RoleName::ReadOnly => Role::ReadOnly,
        }
    }
}

/// Any member of a tenant, read_only included.
#[derive(SecurityScheme)]
#[oai(
    rename = "bearerAuth",
    ty = "bearer",
    bearer_format = "JWT",
    checker = "check_any"
)]
pub struct Authenticated(pub Principal);

/// Member, admin or owner: may write content.
#[derive(SecurityScheme)]
#[oai(
    rename = "bearerAuth",
    ty = "bearer",
    bearer_format = "JWT",
    checker = "check_writer"
)]
pub struct Writer(pub Principal);

/// Admin or owner: manages members and invitations.
#[derive(SecurityScheme)]
#[oai(
    rename = "bearerAuth",
    ty = "bearer",
    bearer_format = "JWT",
    checker = "check_admin"
)]
pub struct TenantAdmin(pub Principal);

/// Owner only: billing and tenant deletion.
#[derive(SecurityScheme)]
#[oai(
    rename = "bearerAuth",
    ty = "bearer",
    bearer_format = "JWT",
    checker = "check_owner"
)]
pub struct TenantOwner(pub Principal);

/// Platform staff (`is_staff`).
#[derive(SecurityScheme)]
#[oai(
    rename = "bearerAuth",
    ty = "bearer",
    bearer_format = "JWT",
    checker = "check_staff"
)]
pub struct Staff(pub Principal);
