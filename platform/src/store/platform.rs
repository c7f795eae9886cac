//! Repositories over the platform (global) database.
//!
//! Record keys are UUIDv7 strings: time-ordered, so `ORDER BY id DESC` is newest first
//! and an id is a stable pagination cursor.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{Db, StoreError, StoreResult, TenantId};
use crate::identity::tenancy::Role;

pub use crate::ids::{is_id, new_id, ID_PATTERN};

#[derive(Debug, Clone, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub display_name: String,
    pub timezone: String,
    pub is_staff: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Logins (refresh-token families) ended within the last access-token lifetime: their
    /// access tokens are refused although unexpired (see [`END_SESSIONS`]).
    #[serde(default)]
    pub ended_sessions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TenantRow {
    pub id: TenantId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MembershipRow {
    pub user_id: String,
    pub tenant_id: TenantId,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// A member with the user's profile, for member lists.
#[derive(Debug, Clone, Deserialize)]
pub struct MemberRow {
    pub user_id: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub email: String,
    pub display_name: String,
    pub disabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InvitationRow {
    pub id: String,
    pub tenant_id: Option<TenantId>,
    pub role: Role,
    pub email: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub used_by: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RefreshRow {
    pub id: String,
    pub family: String,
    pub user_id: String,
    pub tenant_id: TenantId,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthEventRow {
    pub id: String,
    pub kind: String,
    pub user_id: Option<String>,
    pub tenant_id: Option<String>,
    pub email: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub correlation_id: Option<String>,
    pub detail: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

const USER_FIELDS: &str = "record::id(id) AS id, email, password_hash, display_name, timezone, is_staff, disabled, created_at, updated_at, (ended_sessions ?? []).family AS ended_sessions";

/// Revokes the refresh tokens `$cond` selects (a statement fragment over `refresh_token`)
/// and remembers their families on user `$uid` for `$keep` (a duration: the longest an
/// access token lives), so access tokens of those logins stop working now rather than
/// at expiry. Older entries are dropped as new ones come, which keeps the list as short
/// as the number of logins a user ends in one access-token lifetime.
const END_SESSIONS: &str = "LET $ended = array::distinct((UPDATE refresh_token SET revoked_at = time::now() WHERE {cond} AND revoked_at = NONE RETURN family).family);
     IF array::len($ended) > 0 {
         UPDATE type::record('user', $uid) SET ended_sessions = array::concat(
             array::filter(ended_sessions ?? [], |$s| $s.at > time::now() - <duration>$keep),
             array::map($ended, |$f| { family: $f, at: time::now() }));
     };";

/// SurrealQL for [`Role::may_assign`]: whether role `actor` may grant role `target` (both
/// expressions). Kept beside the Rust rule so the two can't drift (see the test below).
fn may_grant(actor: &str, target: &str) -> String {
    format!("({actor} = 'owner' OR ({actor} = 'admin' AND {target} != 'owner'))")
}

fn end_sessions(cond: &str) -> String {
    END_SESSIONS.replace("{cond}", cond)
}

/// `$keep` for [`END_SESSIONS`]: how long an ended login must be remembered.
fn keep(secs: u64) -> String {
    format!("{secs}s")
}
const INVITE_FIELDS: &str = "record::id(id) AS id, tenant_id, role, email, created_by, created_at, expires_at, used_at, used_by, revoked_at";

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

// ---------------------------------------------------------------- users

pub async fn user_by_email(db: &Db, email: &str) -> StoreResult<Option<UserRow>> {
    let sql = format!("SELECT {USER_FIELDS} FROM user WHERE email = $email LIMIT 1;");
    db.query(&sql, json!({"email": email})).await?.first(0)
}

pub async fn user_by_id(db: &Db, id: &str) -> StoreResult<Option<UserRow>> {
    let sql = format!("SELECT {USER_FIELDS} FROM type::record('user', $id);");
    db.query(&sql, json!({"id": id})).await?.first(0)
}

/// Fields of a new user.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub display_name: &'a str,
    pub timezone: &'a str,
    pub is_staff: bool,
}

/// Creates a user outside any tenant (the staff bootstrap); `Unique` if the e-mail exists.
pub async fn create_user(db: &Db, u: &NewUser<'_>) -> StoreResult<String> {
    let id = new_id();
    db.query(
        "CREATE type::record('user', $id) CONTENT { email: $email, password_hash: $ph, display_name: $name, timezone: $tz, is_staff: $staff };",
        json!({"id": id, "email": u.email, "ph": u.password_hash, "name": u.display_name, "tz": u.timezone, "staff": u.is_staff}),
    )
    .await?;
    Ok(id)
}

pub async fn update_profile(
    db: &Db,
    id: &str,
    name: Option<&str>,
    tz: Option<&str>,
) -> StoreResult<Option<UserRow>> {
    let sql = format!(
        "UPDATE type::record('user', $id) SET display_name = $name ?? display_name, timezone = $tz ?? timezone, updated_at = time::now();
         SELECT {USER_FIELDS} FROM type::record('user', $id);"
    );
    db.query(&sql, json!({"id": id, "name": name, "tz": tz}))
        .await?
        .first(1)
}

pub async fn set_password(db: &Db, id: &str, hash: &str) -> StoreResult<()> {
    db.query(
        "UPDATE type::record('user', $id) SET password_hash = $ph, updated_at = time::now();",
        json!({"id": id, "ph": hash}),
    )
    .await
    .map(|_| ())
}

pub async fn set_disabled(db: &Db, id: &str, disabled: bool) -> StoreResult<()> {
    db.query(
        "UPDATE type::record('user', $id) SET disabled = $d, updated_at = time::now();",
        json!({"id": id, "d": disabled}),
    )
    .await
    .map(|_| ())
}

/// Users, newest first, after `cursor` (an id), for the staff console.
pub async fn list_users(
    db: &Db,
    q: Option<&str>,
    cursor: Option<&str>,
    limit: u32,
) -> StoreResult<Vec<UserRow>> {
    let sql = format!(
        "SELECT {USER_FIELDS} FROM user
         WHERE ($cursor = NONE OR id < type::record('user', $cursor))
           AND ($q = NONE OR string::contains(email, $q) OR string::contains(string::lowercase(display_name), $q))
         ORDER BY id DESC LIMIT $limit;"
    );
    db.query(
        &sql,
        json!({"cursor": cursor, "q": q.map(str::to_lowercase), "limit": limit}),
    )
    .await?
    .take(0)
}

// ---------------------------------------------------------------- tenants and memberships

pub async fn tenant_by_id(db: &Db, id: TenantId) -> StoreResult<Option<TenantRow>> {
    db.query(
        "SELECT record::id(id) AS id, name, created_at FROM type::record('tenant', $id);",
        json!({"id": id}),
    )
    .await?
    .first(0)
}

/// Every tenant id (platform jobs that visit each tenant).
pub async fn list_tenant_ids(db: &Db) -> StoreResult<Vec<TenantId>> {
    db.query("SELECT VALUE record::id(id) FROM tenant;", json!({}))
        .await?
        .take(0)
}

pub async fn rename_tenant(db: &Db, id: TenantId, name: &str) -> StoreResult<Option<TenantRow>> {
    db.query(
        "UPDATE type::record('tenant', $id) SET name = $name, updated_at = time::now();
         SELECT record::id(id) AS id, name, created_at FROM type::record('tenant', $id);",
        json!({"id": id, "name": name}),
    )
    .await?
    .first(1)
}

/// Creates a tenant owned by `owner_id` (CLI bootstrap for staff users).
pub async fn create_tenant_with_owner(
    db: &Db,
    name: &str,
    owner_id: &str,
) -> StoreResult<TenantId> {
    let tid = TenantId(uuid::Uuid::now_v7());
    db.query(
        "BEGIN TRANSACTION;
         CREATE type::record('tenant', $tid) CONTENT { name: $name };
         CREATE membership CONTENT { user_id: $uid, tenant_id: $tid, role: 'owner' };
         COMMIT TRANSACTION;",
        json!({"tid": tid, "name": name, "uid": owner_id}),
    )
    .await?;
    Ok(tid)
}

/// A user with every membership they hold, in one round trip (the request principal).
pub async fn user_with_memberships(
    db: &Db,
    user_id: &str,
) -> StoreResult<Option<(UserRow, Vec<MembershipRow>)>> {
    let sql = format!(
        "SELECT {USER_FIELDS} FROM type::record('user', $id);
         SELECT user_id, tenant_id, role, created_at FROM membership WHERE user_id = $id;"
    );
    let mut rows = db.query(&sql, json!({"id": user_id})).await?;
    let Some(user) = rows.first::<UserRow>(0)? else {
        return Ok(None);
    };
    Ok(Some((user, rows.take(1)?)))
}

/// The user's membership: in `tenant_id` if given, else their first (oldest) one.
pub async fn membership_for(
    db: &Db,
    user_id: &str,
    tenant_id: Option<TenantId>,
) -> StoreResult<Option<MembershipRow>> {
    db.query(
        "SELECT user_id, tenant_id, role, created_at FROM membership
         WHERE user_id = $uid AND ($tid = NONE OR tenant_id = $tid) ORDER BY created_at ASC LIMIT 1;",
        json!({"uid": user_id, "tid": tenant_id}),
    )
    .await?
    .first(0)
}

pub async fn members_of(db: &Db, tenant_id: TenantId) -> StoreResult<Vec<MemberRow>> {
    db.query(
        "SELECT user_id, role, created_at, u.email AS email, u.display_name AS display_name, u.disabled AS disabled
         FROM (SELECT *, type::record('user', user_id) AS u FROM membership WHERE tenant_id = $tid)
         ORDER BY created_at ASC;",
        json!({"tid": tenant_id}),
    )
    .await?
    .take(0)
}

/// Changes a member's role. Refuses (THROW `AR:last_owner`) to leave a tenant without an
/// owner. Touching the tenant row makes two concurrent demotions conflict instead of
/// both passing the owner count (write skew).
pub async fn set_role(
    db: &Db,
    tenant_id: TenantId,
    user_id: &str,
    role: Role,
) -> StoreResult<Option<MembershipRow>> {
    let sql = format!(
            "BEGIN TRANSACTION;
             UPDATE type::record('tenant', $tid) SET updated_at = time::now();
             LET $m = (SELECT * FROM membership WHERE tenant_id = $tid AND user_id = $uid LIMIT 1)[0];
             IF $m = NONE {{ THROW 'AR:not_found' }};
             LET $owners = count(SELECT * FROM membership WHERE tenant_id = $tid AND role = 'owner');
             IF $m.role = 'owner' AND $role != 'owner' AND $owners <= 1 {{ THROW 'AR:last_owner' }};
             UPDATE membership SET role = $role WHERE tenant_id = $tid AND user_id = $uid;
             UPDATE invitation SET revoked_at = time::now()
                 WHERE tenant_id = $tid AND created_by = $uid AND used_at = NONE AND revoked_at = NONE
                   AND !{MAY_GRANT};
             SELECT user_id, tenant_id, role, created_at FROM membership WHERE tenant_id = $tid AND user_id = $uid;
             COMMIT TRANSACTION;",
            MAY_GRANT = may_grant("$role", "role"),
        );
    let mut rows = db
        .query_retrying(
            &sql,
            json!({"tid": tenant_id, "uid": user_id, "role": role.as_str()}),
        )
        .await;
    match rows {
        Ok(ref mut r) => Ok(r.last::<MembershipRow>()?.into_iter().next()),
        Err(StoreError::Thrown(code)) if code == "not_found" => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes a member (same last-owner rule): their logins into the tenant end and the
/// unused invitations they created there are revoked (a removed admin must not come
/// back through an invitation minted beforehand). Returns false when no such member.
/// `remember_secs`: see [`END_SESSIONS`].
pub async fn remove_member(
    db: &Db,
    tenant_id: TenantId,
    user_id: &str,
    remember_secs: u64,
) -> StoreResult<bool> {
    let sql = format!(
            "BEGIN TRANSACTION;
             UPDATE type::record('tenant', $tid) SET updated_at = time::now();
             LET $m = (SELECT * FROM membership WHERE tenant_id = $tid AND user_id = $uid LIMIT 1)[0];
             IF $m = NONE {{ THROW 'AR:not_found' }};
             LET $owners = count(SELECT * FROM membership WHERE tenant_id = $tid AND role = 'owner');
             IF $m.role = 'owner' AND $owners <= 1 {{ THROW 'AR:last_owner' }};
             DELETE membership WHERE tenant_id = $tid AND user_id = $uid;
             {end}
             UPDATE invitation SET revoked_at = time::now() WHERE tenant_id = $tid AND created_by = $uid AND used_at = NONE AND revoked_at = NONE;
             COMMIT TRANSACTION;",
            end = end_sessions("user_id = $uid AND tenant_id = $tid"),
        );
    let res = db
        .query_retrying(
            &sql,
            json!({"tid": tenant_id, "uid": user_id, "keep": keep(remember_secs)}),
        )
        .await;
    match res {
        Ok(_) => Ok(true),
        Err(StoreError::Thrown(code)) if code == "not_found" => Ok(false),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- invitations

/// Whether `user_id` has invited anyone into `tenant_id` (used or not).
pub async fn has_invited(db: &Db, tenant_id: TenantId, user_id: &str) -> StoreResult<bool> {
    db.query(
        "RETURN count(SELECT id FROM invitation WHERE tenant_id = $tid AND created_by = $uid LIMIT 1) > 0;",
        json!({"tid": tenant_id, "uid": user_id}),
    )
    .await?
    .first(0)
    .map(|b: Option<bool>| b.unwrap_or(false))
}

/// Fields of a new invitation.
pub struct NewInvitation<'a> {
    pub passkey_hash: &'a str,
    pub tenant_id: Option<TenantId>,
    pub role: Role,
    pub email: Option<&'a str>,
    pub created_by: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub async fn create_invitation(db: &Db, inv: &NewInvitation<'_>) -> StoreResult<InvitationRow> {
    let id = new_id();
    let sql = format!(
        "CREATE type::record('invitation', $id) CONTENT {{ passkey_hash: $ph, tenant_id: $tid, role: $role, email: $email, created_by: $by, expires_at: <datetime>$exp }};
         SELECT {INVITE_FIELDS} FROM type::record('invitation', $id);"
    );
    db.query(
        &sql,
        json!({"id": id, "ph": inv.passkey_hash, "tid": inv.tenant_id, "role": inv.role.as_str(), "email": inv.email, "by": inv.created_by, "exp": ts(inv.expires_at)}),
    )
    .await?
    .first(1)?
    .ok_or_else(|| StoreError::Db("invitation vanished after create".into()))
}

pub async fn invitations_of(
    db: &Db,
    tenant_id: Option<TenantId>,
    cursor: Option<&str>,
    limit: u32,
) -> StoreResult<Vec<InvitationRow>> {
    let sql = format!(
        "SELECT {INVITE_FIELDS} FROM invitation
         WHERE tenant_id = $tid AND ($cursor = NONE OR id < type::record('invitation', $cursor))
         ORDER BY id DESC LIMIT $limit;"
    );
    db.query(
        &sql,
        json!({"tid": tenant_id, "cursor": cursor, "limit": limit}),
    )
    .await?
    .take(0)
}

pub async fn invitation_by_hash(db: &Db, hash: &str) -> StoreResult<Option<InvitationRow>> {
    let sql = format!("SELECT {INVITE_FIELDS} FROM invitation WHERE passkey_hash = $h LIMIT 1;");
    db.query(&sql, json!({"h": hash})).await?.first(0)
}

/// Revokes an unused invitation of `tenant_id`. `None` when it is not that tenant's.
pub async fn revoke_invitation(
    db: &Db,
    tenant_id: Option<TenantId>,
    id: &str,
) -> StoreResult<Option<InvitationRow>> {
    let sql = format!(
        "UPDATE invitation SET revoked_at = time::now() WHERE id = type::record('invitation', $id) AND tenant_id = $tid AND used_at = NONE AND revoked_at = NONE;
         SELECT {INVITE_FIELDS} FROM invitation WHERE id = type::record('invitation', $id) AND tenant_id = $tid;"
    );
    db.query(&sql, json!({"id": id, "tid": tenant_id}))
        .await?
        .first(1)
}

/// What a successful signup created.
#[derive(Debug, Clone, Deserialize)]
pub struct SignupOutcome {
    pub user_id: String,
    pub tenant_id: TenantId,
    pub role: Role,
}

/// `created_by` of invitations the operator makes with the CLI (`afterresume admin
/// invite`): trusted as they are, there being no user whose rights could change.
pub const OPERATOR: &str = "cli";

/// Fields of a signup.
pub struct Signup<'a> {
    pub passkey_hash: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub display_name: &'a str,
    pub timezone: &'a str,
    pub tenant_name: &'a str,
}

/// Claims the invitation and creates the user (and, for a new-tenant invite, the
/// tenant) in one transaction. Thrown codes: `passkey_unknown|used|revoked|expired`,
/// `email_taken`. A concurrent claim of the same passkey conflicts on the invitation
/// row, so exactly one signup wins.
pub async fn signup(db: &Db, s: &Signup<'_>) -> StoreResult<SignupOutcome> {
    let uid = new_id();
    let new_tid = new_id();
    // The invitation is only as good as its creator is now: still enabled and, unless
    // staff, still allowed to grant its role in its tenant (revocation at removal and
    // demotion covers the common path; this covers every other one, e.g. a disabled
    // creator or a change made by another process).
    let sql = format!(
            "BEGIN TRANSACTION;
             LET $inv = (SELECT * FROM invitation WHERE passkey_hash = $ph LIMIT 1)[0];
             IF $inv = NONE {{ THROW 'AR:passkey_unknown' }};
             IF $inv.used_at != NONE {{ THROW 'AR:passkey_used' }};
             IF $inv.revoked_at != NONE {{ THROW 'AR:passkey_revoked' }};
             IF $inv.expires_at < time::now() {{ THROW 'AR:passkey_expired' }};
             IF $inv.email != NONE AND $inv.email != $email {{ THROW 'AR:passkey_email' }};
             LET $creator = (SELECT is_staff, disabled FROM type::record('user', $inv.created_by))[0];
             LET $granted_by = (SELECT VALUE role FROM membership WHERE tenant_id = $inv.tenant_id AND user_id = $inv.created_by LIMIT 1)[0];
             IF $inv.created_by != $operator AND ($creator = NONE OR $creator.disabled OR !($creator.is_staff OR ($inv.tenant_id != NONE AND {may}))) {{ THROW 'AR:passkey_creator' }};
             IF (SELECT * FROM user WHERE email = $email LIMIT 1)[0] != NONE {{ THROW 'AR:email_taken' }};
             UPDATE $inv.id SET used_at = time::now(), used_by = $uid;
             LET $tid = $inv.tenant_id ?? $new_tid;
             IF $inv.tenant_id = NONE {{ CREATE type::record('tenant', $new_tid) CONTENT {{ name: $tname }} }};
             CREATE type::record('user', $uid) CONTENT {{ email: $email, password_hash: $ph2, display_name: $name, timezone: $tz }};
             CREATE membership CONTENT {{ user_id: $uid, tenant_id: $tid, role: $inv.role }};
             RETURN {{ user_id: $uid, tenant_id: $tid, role: $inv.role }};
             COMMIT TRANSACTION;",
            may = may_grant("$granted_by", "$inv.role"),
        );
    let mut rows = db
        .query_retrying(
            &sql,
            json!({"operator": OPERATOR, "ph": s.passkey_hash, "email": s.email, "uid": uid, "new_tid": new_tid, "tname": s.tenant_name,
                   "ph2": s.password_hash, "name": s.display_name, "tz": s.timezone}),
        )
        .await?;
    rows.last::<SignupOutcome>()?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Db("signup returned nothing".into()))
}

// ---------------------------------------------------------------- refresh tokens

pub async fn insert_refresh(
    db: &Db,
    hash: &str,
    family: &str,
    user_id: &str,
    tenant_id: TenantId,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    db.query(
        "CREATE type::record('refresh_token', $id) CONTENT { token_hash: $h, family: $f, user_id: $uid, tenant_id: $tid, expires_at: <datetime>$exp };",
        json!({"id": new_id(), "h": hash, "f": family, "uid": user_id, "tid": tenant_id, "exp": ts(expires_at)}),
    )
    .await
    .map(|_| ())
}

pub async fn refresh_by_hash(db: &Db, hash: &str) -> StoreResult<Option<RefreshRow>> {
    db.query(
        "SELECT record::id(id) AS id, family, user_id, tenant_id, expires_at, used_at, revoked_at FROM refresh_token WHERE token_hash = $h LIMIT 1;",
        json!({"h": hash}),
    )
    .await?
    .first(0)
}

/// A refresh token's successor: what [`rotate_refresh`] creates.
pub struct Successor<'a> {
    pub hash: &'a str,
    pub expires_at: DateTime<Utc>,
}

/// Marks refresh token `row` used and creates its successor in the same family, in one
/// transaction, only if `row` still is unused and unrevoked. Returns false when another
/// request got there first (its successor then exists: both were written together).
///
/// A conflict is retried rather than read as "another request won": the winner's commit
/// may not be visible yet to a read that starts right after the conflict, which would
/// then see the token unused and take the concurrent tab for a replayed copy. A retried
/// transaction either sees the winner's write (false) or wins itself.
pub async fn rotate_refresh(db: &Db, row: &RefreshRow, next: &Successor<'_>) -> StoreResult<bool> {
    let mut rows = db
        .query_retrying(
            "BEGIN TRANSACTION;
             LET $used = UPDATE type::record('refresh_token', $id) SET used_at = time::now()
                 WHERE used_at = NONE AND revoked_at = NONE RETURN AFTER;
             IF array::len($used) = 1 {
                 CREATE type::record('refresh_token', $nid) CONTENT { token_hash: $h, family: $f, user_id: $uid, tenant_id: $tid, expires_at: <datetime>$exp };
             };
             RETURN array::len($used) = 1;
             COMMIT TRANSACTION;",
            json!({"id": row.id, "nid": new_id(), "h": next.hash, "f": row.family, "uid": row.user_id,
                   "tid": row.tenant_id, "exp": ts(next.expires_at)}),
        )
        .await?;
    Ok(rows.last::<bool>()?.into_iter().next().unwrap_or(false))
}

/// Ends one login of `user_id`: its refresh tokens are revoked and its access tokens
/// refused from now on. `remember_secs`: see [`END_SESSIONS`].
pub async fn end_family(
    db: &Db,
    user_id: &str,
    family: &str,
    remember_secs: u64,
) -> StoreResult<()> {
    db.query_retrying(
        &end_sessions("family = $f"),
        json!({"f": family, "uid": user_id, "keep": keep(remember_secs)}),
    )
    .await
    .map(|_| ())
}

/// Ends every login of `user_id` (password change, disable).
pub async fn end_user_sessions(db: &Db, user_id: &str, remember_secs: u64) -> StoreResult<()> {
    db.query_retrying(
        &end_sessions("user_id = $uid"),
        json!({"uid": user_id, "keep": keep(remember_secs)}),
    )
    .await
    .map(|_| ())
}

// ---------------------------------------------------------------- auth events

/// Fields of an audit record.
#[derive(Debug, Default, Clone)]
pub struct NewAuthEvent {
    pub kind: String,
    pub user_id: Option<String>,
    pub tenant_id: Option<TenantId>,
    pub email: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub correlation_id: Option<String>,
    pub detail: serde_json::Value,
}

pub async fn insert_auth_event(db: &Db, e: &NewAuthEvent) -> StoreResult<()> {
    let detail = if e.detail.is_object() {
        e.detail.clone()
    } else {
        json!({})
    };
    db.query(
        "CREATE type::record('auth_event', $id) CONTENT { kind: $kind, user_id: $uid, tenant_id: $tid, email: $email, ip: $ip, user_agent: $ua, correlation_id: $cid, detail: $detail };",
        json!({"id": new_id(), "kind": e.kind, "uid": e.user_id, "tid": e.tenant_id, "email": e.email, "ip": e.ip,
               "ua": e.user_agent, "cid": e.correlation_id, "detail": detail}),
    )
    .await
    .map(|_| ())
}

/// Filters for the audit log.
#[derive(Debug, Default, Clone)]
pub struct AuthEventFilter {
    /// `None` = all tenants (staff only).
    pub tenant_id: Option<TenantId>,
    pub kind: Option<String>,
    /// Kinds left out.
    pub exclude_kinds: Vec<String>,
    pub user_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    pub limit: u32,
}

pub async fn list_auth_events(db: &Db, f: &AuthEventFilter) -> StoreResult<Vec<AuthEventRow>> {
    db.query(
        "SELECT record::id(id) AS id, kind, user_id, tenant_id, email, ip, user_agent, correlation_id, detail, created_at
         FROM auth_event
         WHERE ($tid = NONE OR tenant_id = $tid)
           AND ($kind = NONE OR kind = $kind)
           AND kind NOTINSIDE $exclude
           AND ($uid = NONE OR user_id = $uid)
           AND ($since = NONE OR created_at >= <datetime>$since)
           AND ($until = NONE OR created_at < <datetime>$until)
           AND ($cursor = NONE OR id < type::record('auth_event', $cursor))
         ORDER BY id DESC LIMIT $limit;",
        json!({"tid": f.tenant_id, "kind": f.kind, "exclude": f.exclude_kinds, "uid": f.user_id, "since": f.since.map(ts), "until": f.until.map(ts),
               "cursor": f.cursor, "limit": f.limit}),
    )
    .await?
    .take(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn the_surrealql_grant_rule_is_the_rust_one() {
        let store = Store::memory().await.unwrap();
        let sql = format!("RETURN {};", may_grant("$actor", "$target"));
        let roles = [Role::Owner, Role::Admin, Role::Member, Role::ReadOnly];
        for actor in roles {
            for target in roles {
                let mut rows = store
                    .platform()
                    .query(
                        &sql,
                        json!({"actor": actor.as_str(), "target": target.as_str()}),
                    )
                    .await
                    .unwrap();
                let got: Option<bool> = rows.first(0).unwrap();
                assert_eq!(
                    got,
                    Some(actor.may_assign(target)),
                    "{actor:?} → {target:?}"
                );
            }
        }
    }

    async fn user(db: &Db, email: &str) -> String {
        create_user(
            db,
            &NewUser {
                email,
                password_hash: "x",
                display_name: "U",
                timezone: "UTC",
                is_staff: false,
            },
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn rotation_happens_once_and_ended_logins_are_remembered_briefly() {
        let store = Store::memory().await.unwrap();
        let db = store.platform();
        let uid = user(db, "a@example.test").await;
        let exp = Utc::now() + chrono::Duration::hours(1);
        for (hash, family) in [("h1", "f1"), ("h2", "f2")] {
            insert_refresh(db, hash, family, &uid, TenantId(uuid::Uuid::now_v7()), exp)
                .await
                .unwrap();
        }
        let row = refresh_by_hash(db, "h1").await.unwrap().unwrap();
        let next = Successor {
            hash: "h1-next",
            expires_at: exp,
        };
        assert!(rotate_refresh(db, &row, &next).await.unwrap());
        assert!(!rotate_refresh(db, &row, &next).await.unwrap(), "once only");
        let successor = refresh_by_hash(db, "h1-next").await.unwrap().unwrap();
        assert_eq!(successor.family, "f1");
        assert!(successor.used_at.is_none());

        end_family(db, &uid, "f1", 900).await.unwrap();
        let u = user_by_id(db, &uid).await.unwrap().unwrap();
        assert_eq!(u.ended_sessions, vec!["f1".to_string()]);
        assert!(refresh_by_hash(db, "h1-next")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some());
        assert!(refresh_by_hash(db, "h2")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none());
        // Ending an already ended login adds nothing.
        end_family(db, &uid, "f1", 900).await.unwrap();
        let u = user_by_id(db, &uid).await.unwrap().unwrap();
        assert_eq!(u.ended_sessions, vec!["f1".to_string()]);
        // Entries older than the memory go when the next one comes.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        end_user_sessions(db, &uid, 1).await.unwrap();
        let u = user_by_id(db, &uid).await.unwrap().unwrap();
        assert_eq!(u.ended_sessions, vec!["f2".to_string()]);
    }
}
