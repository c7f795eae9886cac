//! Authentication and authorization audit trail (`AuthEvent`).

use poem_openapi::Enum;

use crate::deps::Deps;
use crate::identity::ClientInfo;
use crate::store::platform::{self, NewAuthEvent};
use crate::store::TenantId;

/// Every auth decision of note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AuthEventKind {
    LoginSucceeded,
    LoginFailed,
    /// Failed password checks reached a limit: for one account from one address
    /// (further attempts from there wait), or for the account as a whole.
    LoginLocked,
    Refresh,
    RefreshReuseDetected,
    Logout,
    Signup,
    InviteCreated,
    InviteUsed,
    InviteRevoked,
    PermissionDenied,
    RoleChanged,
    MemberRemoved,
    PasswordChanged,
    /// `POST /api/me/password` with a wrong current password.
    PasswordChangeFailed,
    UserDisabled,
    UserEnabled,
    /// Staff granted XP by hand.
    XpGranted,
    /// Staff revoked a badge.
    BadgeRevoked,
    /// Staff published new reward rules.
    RewardConfigChanged,
}

impl AuthEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LoginLocked => "login_locked",
            Self::Refresh => "refresh",
            Self::RefreshReuseDetected => "refresh_reuse_detected",
            Self::Logout => "logout",
            Self::Signup => "signup",
            Self::InviteCreated => "invite_created",
            Self::InviteUsed => "invite_used",
            Self::InviteRevoked => "invite_revoked",
            Self::PermissionDenied => "permission_denied",
            Self::RoleChanged => "role_changed",
            Self::MemberRemoved => "member_removed",
            Self::PasswordChanged => "password_changed",
            Self::PasswordChangeFailed => "password_change_failed",
            Self::UserDisabled => "user_disabled",
            Self::UserEnabled => "user_enabled",
            Self::XpGranted => "xp_granted",
            Self::BadgeRevoked => "badge_revoked",
            Self::RewardConfigChanged => "reward_config_changed",
        }
    }
}

/// Writes an audit record. An audit failure is logged, never surfaced: the decision it
/// records has already been made.
pub async fn record(
    state: &Deps,
    kind: AuthEventKind,
    client: &ClientInfo,
    user_id: Option<&str>,
    tenant_id: Option<TenantId>,
    email: Option<&str>,
    detail: serde_json::Value,
) {
    let event = NewAuthEvent {
        kind: kind.as_str().to_string(),
        user_id: user_id.map(str::to_string),
        tenant_id,
        email: email.map(str::to_string),
        ip: Some(client.ip.clone()),
        user_agent: client.user_agent.clone(),
        correlation_id: Some(client.correlation_id.clone()).filter(|c| !c.is_empty()),
        detail,
    };
    tracing::info!(
        kind = kind.as_str(),
        user_id,
        tenant_id = tenant_id.map(tracing::field::display),
        "auth event"
    );
    if let Err(e) = platform::insert_auth_event(state.store.platform(), &event).await {
        tracing::error!(error = %e, kind = kind.as_str(), "failed to write auth event");
    }
}
