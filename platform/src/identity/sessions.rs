//! Login, signup, refresh-token rotation and logout: the session lifecycle.
//!
//! Refresh tokens are opaque, stored as SHA-256, grouped in a *family* per login.
//! Each refresh consumes the presented token and issues the next one in the family.
//! Presenting a token that was already consumed means it was copied: the whole
//! family is revoked and a `refresh_reuse_detected` AuthEvent is written.

use chrono::Utc;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::identity::accounts::{self, Email};
use crate::identity::auditing::{record, AuthEventKind};
use crate::identity::credentials;
use crate::identity::tenancy::Role;
use crate::identity::ClientInfo;
use crate::state::AppState;
use crate::store::platform::{self, new_id, Signup};
use crate::store::{StoreError, TenantId};

/// A freshly issued pair of credentials.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    pub access_token: String,
    pub expires_in: i64,
    /// Plaintext; goes only into the HttpOnly cookie.
    pub refresh_token: String,
    pub user_id: String,
    pub tenant_id: TenantId,
    pub role: Role,
}

/// An access token for login `family` beside its (already stored) refresh token.
fn session(
    state: &AppState,
    user_id: &str,
    tenant_id: TenantId,
    role: Role,
    staff: bool,
    family: &str,
    refresh_token: String,
) -> ApiResult<IssuedSession> {
    let access_token = state
        .jwt
        .issue(user_id, tenant_id, role, staff, family)
        .map_err(ApiError::internal)?;
    Ok(IssuedSession {
        access_token,
        expires_in: state.jwt.ttl_secs(),
        refresh_token,
        user_id: user_id.into(),
        tenant_id,
        role,
    })
}

fn refresh_expiry(state: &AppState) -> chrono::DateTime<Utc> {
    let ttl = i64::try_from(state.settings.refresh_token_ttl_secs).unwrap_or(86_400);
    Utc::now() + chrono::Duration::seconds(ttl)
}

/// A new login: a new family with its first refresh token.
async fn issue(
    state: &AppState,
    user_id: &str,
    tenant_id: TenantId,
    role: Role,
    staff: bool,
) -> ApiResult<IssuedSession> {
    let family = new_id();
    let refresh_token = credentials::new_refresh_token();
    platform::insert_refresh(
        state.store.platform(),
        &credentials::sha256_hex(&refresh_token),
        &family,
        user_id,
        tenant_id,
        refresh_expiry(state),
    )
    .await?;
    session(
        state,
        user_id,
        tenant_id,
        role,
        staff,
        &family,
        refresh_token,
    )
}

/// Ends login `family` of `user_id` (refresh and access tokens) and forgets the cached
/// principal so the next request sees it.
async fn end_family(state: &AppState, user_id: &str, family: &str) -> ApiResult<()> {
    let ended = platform::end_family(
        state.store.platform(),
        user_id,
        family,
        state.settings.ended_session_memory_secs(),
    )
    .await;
    state.principals.forget(user_id);
    Ok(ended?)
}

/// A wrong password for `account` (of `user_id` in `tenant`, when known): audits it as
/// `kind` with `reason`, counts it against the account from this client, and audits a
/// lockout it causes. Login and the password change share it, so guessing through
/// either meets the same limits.
async fn password_failed(
    state: &AppState,
    client: &ClientInfo,
    kind: AuthEventKind,
    (user_id, tenant): (Option<&str>, Option<TenantId>),
    account: &str,
    reason: &str,
) {
    record(
        state,
        kind,
        client,
        user_id,
        tenant,
        Some(account),
        serde_json::json!({ "reason": reason }),
    )
    .await;
    let Some(lockout) = state.limits.password_failed(account, &client.ip) else {
        return;
    };
    let scope = match lockout {
        crate::state::Lockout::AccountFromAddress => "account_from_address",
        crate::state::Lockout::Account => "account",
    };
    tracing::warn!(scope, ip = %client.ip, "password failures reached a limit");
    record(
        state,
        AuthEventKind::LoginLocked,
        client,
        user_id,
        None,
        Some(account),
        serde_json::json!({"scope": scope}),
    )
    .await;
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidCredentials,
        "e-mail or password is incorrect",
    )
}

/// Password login. Unknown e-mail and wrong password answer identically, after the
/// same argon2 work.
pub async fn login(
    state: &AppState,
    client: &ClientInfo,
    email: &str,
    password: &str,
) -> ApiResult<IssuedSession> {
    let email_norm = email.trim().to_lowercase();
    // The client IP's budget was checked by the request gate, before the body; here
    // only failures count (see `RateLimits::password_attempt`).
    if let Err(e) = state.limits.password_attempt(&email_norm, &client.ip) {
        record(
            state,
            AuthEventKind::LoginFailed,
            client,
            None,
            None,
            Some(&email_norm),
            serde_json::json!({"reason": "locked"}),
        )
        .await;
        return Err(e);
    }
    let db = state.store.platform();
    let user = match Email::parse(&email_norm) {
        Ok(e) => platform::user_by_email(db, e.as_str()).await?,
        Err(_) => None,
    };
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| state.dummy_hash.clone());
    let ok = accounts::verify_password_async(password.to_string(), hash).await;
    let user = match (user, ok) {
        (Some(u), true) => u,
        (u, _) => {
            let reason = if u.is_some() {
                "bad_password"
            } else {
                "unknown_email"
            };
            let user_id = u.as_ref().map(|u| u.id.as_str());
            password_failed(
                state,
                client,
                AuthEventKind::LoginFailed,
                (user_id, None),
                &email_norm,
                reason,
            )
            .await;
            return Err(invalid_credentials());
        }
    };
    state.limits.password_ok(&email_norm, &client.ip);
    if user.disabled {
        record(
            state,
            AuthEventKind::LoginFailed,
            client,
            Some(&user.id),
            None,
            Some(&email_norm),
            serde_json::json!({"reason": "disabled"}),
        )
        .await;
        return Err(ApiError::new(
            ErrorCode::AccountDisabled,
            "this account is disabled",
        ));
    }
    let membership = platform::membership_for(db, &user.id, None)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Forbidden, "this account belongs to no tenant"))?;
    let session = issue(
        state,
        &user.id,
        membership.tenant_id,
        membership.role,
        user.is_staff,
    )
    .await?;
    record(
        state,
        AuthEventKind::LoginSucceeded,
        client,
        Some(&user.id),
        Some(membership.tenant_id),
        Some(&user.email),
        serde_json::json!({}),
    )
    .await;
    Ok(session)
}

/// Rotates a refresh token.
///
/// Each token is good for one rotation. Presenting a used token again is reuse (it was
/// copied), which ends the whole login, with one exception: within
/// `REFRESH_REUSE_GRACE_SECS` of the rotation, while its successor is still unused, the
/// same successor is handed out again. That is what two browser tabs refreshing at once
/// look like; they end up sharing one login instead of being logged out. The successor
/// is derived from the presented token (see `JwtKeys::successor_of`), so the store
/// keeps no plaintext for this.
pub async fn refresh(
    state: &AppState,
    client: &ClientInfo,
    presented: &str,
) -> ApiResult<IssuedSession> {
    let result = rotate(state, client, presented).await;
    if let Err(e) = &result {
        if matches!(
            e.code,
            ErrorCode::RefreshInvalid | ErrorCode::RefreshExpired | ErrorCode::RefreshReused
        ) {
            state.limits.refresh_refused(&client.ip);
        }
    }
    result
}

/// [`refresh`] before its refusals are counted against the client's address.
async fn rotate(
    state: &AppState,
    client: &ClientInfo,
    presented: &str,
) -> ApiResult<IssuedSession> {
    let db = state.store.platform();
    let invalid = || {
        ApiError::new(
            ErrorCode::RefreshInvalid,
            "refresh token is invalid; log in again",
        )
    };
    let hash = credentials::sha256_hex(presented);
    let row = platform::refresh_by_hash(db, &hash)
        .await?
        .ok_or_else(invalid)?;
    if row.revoked_at.is_some() {
        return Err(invalid());
    }
    if row.expires_at < Utc::now() {
        return Err(ApiError::new(
            ErrorCode::RefreshExpired,
            "session expired; log in again",
        ));
    }
    state.limits.refresh_session(&row.family)?;
    let successor = state.jwt.successor_of(presented);
    let successor_hash = credentials::sha256_hex(&successor);
    let rotated = row.used_at.is_none()
        && platform::rotate_refresh(
            db,
            &row,
            &platform::Successor {
                hash: &successor_hash,
                expires_at: refresh_expiry(state),
            },
        )
        .await?;
    let mut shared = false;
    if !rotated {
        // Used before, or a concurrent request rotated it a moment ago: read it again
        // for the time it was used.
        let row = platform::refresh_by_hash(db, &hash)
            .await?
            .ok_or_else(invalid)?;
        if !within_grace(state, &row, &successor_hash).await? {
            end_family(state, &row.user_id, &row.family).await?;
            record(
                state,
                AuthEventKind::RefreshReuseDetected,
                client,
                Some(&row.user_id),
                Some(row.tenant_id),
                None,
                serde_json::json!({"family": row.family}),
            )
            .await;
            return Err(ApiError::new(
                ErrorCode::RefreshReused,
                "refresh token was already used; all sessions of this login were revoked",
            ));
        }
        shared = true;
    }
    let user = platform::user_by_id(db, &row.user_id)
        .await?
        .ok_or_else(invalid)?;
    if user.disabled {
        end_family(state, &row.user_id, &row.family).await?;
        return Err(ApiError::new(
            ErrorCode::AccountDisabled,
            "this account is disabled",
        ));
    }
    let membership = platform::membership_for(db, &user.id, Some(row.tenant_id))
        .await?
        .ok_or_else(invalid)?;
    let issued = session(
        state,
        &user.id,
        row.tenant_id,
        membership.role,
        user.is_staff,
        &row.family,
        successor,
    )?;
    record(
        state,
        AuthEventKind::Refresh,
        client,
        Some(&user.id),
        Some(row.tenant_id),
        None,
        serde_json::json!({"family": row.family, "shared_successor": shared}),
    )
    .await;
    Ok(issued)
}

/// Whether a used token `row` may hand out its successor again: it was used within the
/// grace window and the successor (`successor_hash`) is still unused and unrevoked.
async fn within_grace(
    state: &AppState,
    row: &platform::RefreshRow,
    successor_hash: &str,
) -> ApiResult<bool> {
    let grace = chrono::Duration::seconds(
        i64::try_from(state.settings.refresh_reuse_grace_secs).unwrap_or(0),
    );
    let (Some(used_at), None) = (row.used_at, row.revoked_at) else {
        return Ok(false);
    };
    if grace.is_zero() || Utc::now() - used_at > grace {
        return Ok(false);
    }
    let next = platform::refresh_by_hash(state.store.platform(), successor_hash).await?;
    Ok(
        matches!(next, Some(n) if n.family == row.family && n.used_at.is_none() && n.revoked_at.is_none()),
    )
}

/// Ends the presented token's login: its refresh tokens and its access tokens. Unknown tokens are fine: logout is idempotent.
pub async fn logout(
    state: &AppState,
    client: &ClientInfo,
    presented: Option<&str>,
) -> ApiResult<()> {
    let db = state.store.platform();
    if let Some(tok) = presented {
        if let Some(row) = platform::refresh_by_hash(db, &credentials::sha256_hex(tok)).await? {
            end_family(state, &row.user_id, &row.family).await?;
            record(
                state,
                AuthEventKind::Logout,
                client,
                Some(&row.user_id),
                Some(row.tenant_id),
                None,
                serde_json::json!({}),
            )
            .await;
        }
    }
    Ok(())
}

/// Fields of a signup request, already shape-checked by the API layer.
pub struct SignupInput {
    pub passkey: String,
    pub email: String,
    pub password: String,
    pub display_name: String,
    pub timezone: Option<String>,
    pub tenant_name: Option<String>,
}

/// Invite-only signup: claims the passkey and creates the account atomically.
pub async fn signup(
    state: &AppState,
    client: &ClientInfo,
    input: SignupInput,
) -> ApiResult<IssuedSession> {
    let email = Email::parse(&input.email)?;
    state.limits.auth_account(email.as_str())?;
    let display_name = accounts::parse_display_name(&input.display_name)?;
    let timezone = match &input.timezone {
        Some(tz) => accounts::parse_timezone(tz)?,
        None => "UTC".into(),
    };
    accounts::validate_password(&input.password, &email)?;
    let tenant_name = match input.tenant_name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() && n.chars().count() <= 100 => n.to_string(),
        Some(n) if !n.is_empty() => {
            return Err(ApiError::validation(
                "tenant_name must be at most 100 characters",
            ))
        }
        _ => format!("{display_name}'s workspace"),
    };
    let passkey_hash = credentials::sha256_hex(input.passkey.trim());
    let password_hash = accounts::hash_password_async(input.password.clone()).await?;
    let outcome = platform::signup(
        state.store.platform(),
        &Signup {
            passkey_hash: &passkey_hash,
            email: email.as_str(),
            password_hash: &password_hash,
            display_name: &display_name,
            timezone: &timezone,
            tenant_name: &tenant_name,
        },
    )
    .await
    .map_err(signup_error)?;
    // Define the new tenant's schema before any traffic reaches it: concurrent first
    // writes into a table that does not exist yet fail with transaction conflicts.
    state.store.tenant(outcome.tenant_id).await?;
    record(
        state,
        AuthEventKind::Signup,
        client,
        Some(&outcome.user_id),
        Some(outcome.tenant_id),
        Some(email.as_str()),
        serde_json::json!({"role": outcome.role}),
    )
    .await;
    record(
        state,
        AuthEventKind::InviteUsed,
        client,
        Some(&outcome.user_id),
        Some(outcome.tenant_id),
        Some(email.as_str()),
        serde_json::json!({}),
    )
    .await;
    issue(
        state,
        &outcome.user_id,
        outcome.tenant_id,
        outcome.role,
        false,
    )
    .await
}

/// Changes the caller's password after checking the current one, and ends every login
/// they have (each refresh token is revoked). Both outcomes are audited.
pub async fn change_password(
    state: &AppState,
    p: &crate::identity::Principal,
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
        password_failed(
            state,
            client,
            AuthEventKind::PasswordChangeFailed,
            (Some(&user.id), Some(p.tenant)),
            &user.email,
            "bad_current_password",
        )
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
        Some(p.tenant),
        Some(&user.email),
        serde_json::json!({}),
    )
    .await;
    Ok(())
}

/// The refusal for each code the signup transaction throws (an invitation that no longer
/// holds, an e-mail in use), and for the races it can lose.
pub fn signup_error(e: StoreError) -> ApiError {
    match e.thrown() {
        Some("passkey_unknown") => ApiError::new(
            ErrorCode::PasskeyUnknown,
            "this invitation passkey does not exist",
        ),
        Some("passkey_used") => ApiError::new(
            ErrorCode::PasskeyUsed,
            "this invitation passkey was already used",
        ),
        Some("passkey_revoked") => {
            ApiError::new(ErrorCode::PasskeyRevoked, "this invitation was revoked")
        }
        Some("passkey_creator") => ApiError::new(
            ErrorCode::PasskeyRevoked,
            "this invitation no longer holds: whoever created it may no longer grant its role",
        ),
        Some("passkey_email") => ApiError::new(
            ErrorCode::PasskeyEmailMismatch,
            "this invitation is for another e-mail address; sign up with the address it was sent to",
        ),
        Some("passkey_expired") => {
            ApiError::new(ErrorCode::PasskeyExpired, "this invitation has expired")
        }
        Some("email_taken") => ApiError::new(
            ErrorCode::EmailTaken,
            "an account with this e-mail already exists",
        ),
        _ => match e {
            StoreError::Unique(_) => ApiError::new(
                ErrorCode::EmailTaken,
                "an account with this e-mail already exists",
            ),
            // Lost the race for the passkey to a concurrent signup.
            StoreError::Conflict(_) => ApiError::new(
                ErrorCode::PasskeyUsed,
                "this invitation passkey was already used",
            ),
            other => ApiError::internal(other),
        },
    }
}
