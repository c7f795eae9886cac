//! Staff over every user: the list, and disabling or re-enabling an account.

use crate::deps::Deps;
use crate::error::{ApiError, ApiResult};
use crate::identity::auditing::{record, AuthEventKind};
use crate::identity::{ClientInfo, Principal};
use crate::store::platform;

pub use crate::store::platform::UserRow;

/// Users, newest first, whose e-mail or name contains `q`: at most `limit` after
/// `cursor`.
pub async fn list(
    state: &Deps,
    q: Option<&str>,
    cursor: Option<&str>,
    limit: u32,
) -> ApiResult<Vec<UserRow>> {
    Ok(platform::list_users(state.store.platform(), q, cursor, limit).await?)
}

/// Disables user `id` (they can no longer log in, refresh, or use an access token, and
/// their logins end) or enables them again. Nobody disables themselves. Audited.
pub async fn set_disabled(
    state: &Deps,
    p: &Principal,
    client: &ClientInfo,
    id: &str,
    disabled: bool,
) -> ApiResult<UserRow> {
    if disabled && id == p.user_id {
        return Err(ApiError::validation("you cannot disable yourself"));
    }
    let db = state.store.platform();
    platform::user_by_id(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let changed = platform::set_disabled(db, id, disabled).await;
    state.principals.forget(id);
    changed?;
    if disabled {
        platform::end_user_sessions(db, id, state.settings.ended_session_memory_secs()).await?;
    }
    let kind = if disabled {
        AuthEventKind::UserDisabled
    } else {
        AuthEventKind::UserEnabled
    };
    record(
        state,
        kind,
        client,
        Some(&p.user_id),
        None,
        None,
        serde_json::json!({"target_user_id": id}),
    )
    .await;
    platform::user_by_id(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
}
