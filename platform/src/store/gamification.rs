//! Reward state in storage: the versioned `RewardConfig` (platform database) and, per
//! tenant, each user's state document, per-entry records, the immutable XP ledger,
//! badge awards, closed challenges and the evaluations made.
//!
//! A user's state is one document with a revision number. Every change is written in one
//! transaction that first checks the revision it was computed from, so two evaluations
//! of the same user can't both apply (the loser recomputes from the new state). Ledger
//! rows are unique on their idempotency key, so no XP can be granted twice.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{Db, StoreError, StoreResult, TenantDb};
use crate::gamification::rules::{
    BadgeAward, ClosedChallenge, EntryRecord, RewardConfig, UserState, XpEvent,
};

fn decode<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> StoreResult<T> {
    serde_json::from_value(v).map_err(|e| StoreError::Decode(e.to_string()))
}

fn encode<T: serde::Serialize>(v: &T) -> StoreResult<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| StoreError::Decode(e.to_string()))
}

// ------------------------------------------------------------------ config (platform)

/// A published reward configuration.
#[derive(Debug, Clone)]
pub struct ConfigRow {
    pub config: RewardConfig,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The newest published configuration; publishes the defaults (version 1) if none.
pub async fn active_config(db: &Db) -> StoreResult<ConfigRow> {
    #[derive(Deserialize)]
    struct Row {
        config: serde_json::Value,
        created_by: Option<String>,
        created_at: DateTime<Utc>,
    }
    let row: Option<Row> = db
        .query(
            "SELECT config, created_by, created_at FROM reward_config ORDER BY version DESC LIMIT 1;",
            json!({}),
        )
        .await?
        .first(0)?;
    match row {
        Some(r) => Ok(ConfigRow {
            config: decode(r.config)?,
            created_by: r.created_by,
            created_at: r.created_at,
        }),
        None => {
            let config = RewardConfig::default();
            publish_config(db, &config, None).await?;
            Ok(ConfigRow {
                config,
                created_by: None,
                created_at: Utc::now(),
            })
        }
    }
}

/// The active configuration, cached: every reward evaluation needs it and it changes
/// only when staff publish a version. [`ConfigCache::forget`] after publishing makes
/// this process see it at once; other processes see it within [`CONFIG_TTL`].
pub struct ConfigCache {
    cached: std::sync::RwLock<Option<(RewardConfig, std::time::Instant)>>,
}

/// How long another process's newly published configuration may go unseen.
pub const CONFIG_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl Default for ConfigCache {
    fn default() -> Self {
        Self::new()
    }
}

impl ConfigCache {
    pub fn new() -> Self {
        Self {
            cached: std::sync::RwLock::new(None),
        }
    }

    /// The active configuration (read from `db` when not cached or older than the TTL).
    pub async fn get(&self, db: &Db) -> StoreResult<RewardConfig> {
        {
            let c = self.cached.read().unwrap_or_else(|p| p.into_inner());
            if let Some((config, at)) = c.as_ref() {
                if at.elapsed() < CONFIG_TTL {
                    return Ok(config.clone());
                }
            }
        }
        let config = active_config(db).await?.config;
        *self.cached.write().unwrap_or_else(|p| p.into_inner()) =
            Some((config.clone(), std::time::Instant::now()));
        Ok(config)
    }

    /// Drops the cached configuration (after publishing a new one).
    pub fn forget(&self) {
        *self.cached.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Stores `config` under its version; an existing version is left unchanged.
pub async fn publish_config(
    db: &Db,
    config: &RewardConfig,
    created_by: Option<&str>,
) -> StoreResult<bool> {
    let res = db
        .query(
            "CREATE type::record('reward_config', $version) CONTENT { version: $version, config: $config, created_by: $by };",
            json!({"version": config.version, "config": encode(config)?, "by": created_by}),
        )
        .await;
    match res {
        Ok(_) => Ok(true),
        Err(StoreError::Unique(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Every published version, newest first.
pub async fn config_history(db: &Db) -> StoreResult<Vec<ConfigRow>> {
    #[derive(Deserialize)]
    struct Row {
        config: serde_json::Value,
        created_by: Option<String>,
        created_at: DateTime<Utc>,
    }
    let rows: Vec<Row> = db
        .query(
            "SELECT config, created_by, created_at FROM reward_config ORDER BY version DESC;",
            json!({}),
        )
        .await?
        .take(0)?;
    rows.into_iter()
        .map(|r| {
            Ok(ConfigRow {
                config: decode(r.config)?,
                created_by: r.created_by,
                created_at: r.created_at,
            })
        })
        .collect()
}

// ------------------------------------------------------------------ user state (tenant)

/// A user's reward state with its revision.
#[derive(Debug, Clone, Default)]
pub struct UserRow {
    pub state: UserState,
    /// 0 for a user never evaluated.
    pub rev: u64,
    pub quiet_mode: bool,
}

/// A `gamification_user` record as stored (`SELECT state, rev, quiet_mode`).
#[derive(Deserialize)]
struct StoredUser {
    state: Option<serde_json::Value>,
    rev: Option<u64>,
    quiet_mode: Option<bool>,
}

impl UserRow {
    /// The row of a stored record, or a fresh default for a user without one.
    fn from_stored(row: Option<StoredUser>) -> StoreResult<Self> {
        Ok(match row {
            None => UserRow::default(),
            Some(r) => UserRow {
                state: match r.state {
                    Some(s) if !s.is_null() => decode(s)?,
                    _ => UserState::default(),
                },
                rev: r.rev.unwrap_or(0),
                quiet_mode: r.quiet_mode.unwrap_or(false),
            },
        })
    }
}

/// The user's state (a fresh default if they have none yet).
pub async fn user(db: &TenantDb, user_id: &str) -> StoreResult<UserRow> {
    let row: Option<StoredUser> = db
        .query(
            "SELECT state, rev, quiet_mode FROM type::record('gamification_user', $id);",
            json!({"id": user_id}),
        )
        .await?
        .first(0)?;
    UserRow::from_stored(row)
}

/// Everything a batch of one author's reward evaluations reads, in one round trip: the
/// entries, the author's state, what each entry earned so far, and the author's newest
/// `prior` entries created up to the newest of the batch (newest first).
pub struct EvaluationInputs {
    pub entries: Vec<super::worklogs::EntryRow>,
    pub user: UserRow,
    pub records: std::collections::HashMap<String, EntryRecord>,
    pub prior: Vec<PriorRow>,
}

/// One of the author's earlier entries, for the rate limit and near-duplicate checks.
#[derive(Debug, Clone, Deserialize)]
pub struct PriorRow {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub content: String,
}

pub async fn evaluation_inputs(
    db: &TenantDb,
    entry_ids: &[String],
    author_id: &str,
    prior: usize,
) -> StoreResult<EvaluationInputs> {
    #[derive(Deserialize)]
    struct Record {
        id: String,
        record: Option<serde_json::Value>,
    }
    // `$to` is a LET value, so the planner bounds the (author_id, created_at) index
    // range with it and the scan stops after `$limit` rows.
    let sql = format!(
        "LET $es = (SELECT {} FROM $ids.map(|$i| type::record('worklog', $i)));
         LET $to = array::max($es.created_at);
         RETURN $es;
         SELECT state, rev, quiet_mode FROM type::record('gamification_user', $author);
         SELECT record::id(id) AS id, record FROM $ids.map(|$i| type::record('gamification_entry', $i));
         SELECT record::id(id) AS id, created_at, content FROM worklog
             WHERE author_id = $author AND created_at <= $to
             ORDER BY created_at DESC LIMIT $limit;",
        super::worklogs::FIELDS
    );
    let mut rows = db
        .query(
            &sql,
            json!({"ids": entry_ids, "author": author_id, "limit": prior}),
        )
        .await?;
    let entries = rows.take(2)?;
    let user = UserRow::from_stored(rows.first::<StoredUser>(3)?)?;
    let mut records = std::collections::HashMap::new();
    for r in rows.take::<Record>(4)? {
        if let Some(v) = r.record.filter(|v| !v.is_null()) {
            records.insert(r.id, decode(v)?);
        }
    }
    Ok(EvaluationInputs {
        entries,
        user,
        records,
        prior: rows.take(5)?,
    })
}

/// Ids of users with reward state in this tenant.
pub async fn user_ids(db: &TenantDb) -> StoreResult<Vec<String>> {
    db.query(
        "SELECT VALUE record::id(id) FROM gamification_user;",
        json!({}),
    )
    .await?
    .take(0)
}

/// Turns quiet mode on or off. Unlocks earned until now count as seen either way: none
/// is shown while rewards are hidden, and none piles up to greet the user when they
/// come back.
pub async fn set_quiet(db: &TenantDb, user_id: &str, quiet: bool) -> StoreResult<()> {
    db.query_retrying(
        "UPSERT type::record('gamification_user', $id) SET quiet_mode = $quiet,
             rewards_seen_at = time::now(), updated_at = time::now();",
        json!({"id": user_id, "quiet": quiet}),
    )
    .await?;
    Ok(())
}

/// Until when the user has seen their unlocks (`None`: never marked).
pub async fn rewards_seen_at(db: &TenantDb, user_id: &str) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(db
        .query(
            "SELECT VALUE rewards_seen_at FROM type::record('gamification_user', $id);",
            json!({"id": user_id}),
        )
        .await?
        .first::<Option<DateTime<Utc>>>(0)?
        .flatten())
}

/// Marks unlocks up to `until` as seen; the mark never moves back.
pub async fn mark_rewards_seen(
    db: &TenantDb,
    user_id: &str,
    until: DateTime<Utc>,
) -> StoreResult<()> {
    db.query_retrying(
        "UPSERT type::record('gamification_user', $id) SET
             rewards_seen_at = IF rewards_seen_at = NONE OR rewards_seen_at < <datetime>$until
                 THEN <datetime>$until ELSE rewards_seen_at END,
             updated_at = time::now();",
        json!({"id": user_id, "until": until.to_rfc3339()}),
    )
    .await?;
    Ok(())
}

/// One user's XP per (local day, rule) since `since` (`YYYY-MM-DD`).
#[derive(Debug, Clone, Deserialize)]
pub struct DayRuleXp {
    pub day: String,
    pub rule: String,
    pub xp: u64,
}

pub async fn xp_by_day(db: &TenantDb, user_id: &str, since: &str) -> StoreResult<Vec<DayRuleXp>> {
    db.query(
        "SELECT day, rule, math::sum(amount) AS xp FROM xp_event
         WHERE user_id = $uid AND day >= $since GROUP BY day, rule;",
        json!({"uid": user_id, "since": since}),
    )
    .await?
    .take(0)
}

/// What an entry has earned so far (a fresh record if never evaluated).
pub async fn entry_record(db: &TenantDb, entry_id: &str) -> StoreResult<Option<EntryRecord>> {
    let v: Option<serde_json::Value> = db
        .query(
            "SELECT VALUE record FROM type::record('gamification_entry', $id);",
            json!({"id": entry_id}),
        )
        .await?
        .first(0)?;
    v.filter(|v| !v.is_null()).map(decode).transpose()
}

/// Why a write did not happen.
#[derive(Debug)]
pub enum WriteError {
    /// The user's state changed since it was read: recompute and try again.
    Conflict,
    Store(StoreError),
}

impl From<StoreError> for WriteError {
    fn from(e: StoreError) -> Self {
        WriteError::Store(e)
    }
}

/// Everything one change writes.
#[derive(Debug, Default)]
pub struct Change<'a> {
    pub user_id: &'a str,
    /// The revision the new state was computed from.
    pub rev: u64,
    pub state: Option<&'a UserState>,
    pub entry: Option<(&'a str, &'a EntryRecord)>,
    pub ledger: &'a [XpEvent],
    pub badges: &'a [BadgeAward],
    /// Badges to mark revoked: (code, by, reason).
    pub revoked: &'a [(String, String, String)],
    pub closed: &'a [ClosedChallenge],
    /// An evaluation to record: `{"id": "<entry>_v<n>", "row": {...}}`.
    pub evaluation: Option<serde_json::Value>,
    pub job_id: Option<&'a str>,
    /// More entry evaluations written by the same change (a batch of one user's
    /// evaluations), each with its own records; `state` is the state after all of them.
    pub more: Vec<Part<'a>>,
}

/// One entry evaluation's writes inside a batched [`Change`].
#[derive(Debug)]
pub struct Part<'a> {
    pub entry: (&'a str, &'a EntryRecord),
    pub ledger: &'a [XpEvent],
    pub badges: &'a [BadgeAward],
    pub closed: &'a [ClosedChallenge],
    pub evaluation: serde_json::Value,
    pub job_id: &'a str,
}

fn ledger_rows(
    user_id: &str,
    events: &[XpEvent],
    job_id: Option<&str>,
) -> StoreResult<Vec<serde_json::Value>> {
    events
        .iter()
        .map(|e| {
            Ok(json!({
                "id": super::platform::new_id(),
                "row": {
                    "user_id": user_id,
                    "idempotency_key": e.idempotency_key,
                    "amount": e.amount,
                    "day": e.day.format("%Y-%m-%d").to_string(),
                    "occurred_at": e.occurred_at.to_rfc3339(),
                    "config_version": e.config_version,
                    "rule": serde_json::to_value(e.rule()).map_err(|e| StoreError::Decode(e.to_string()))?,
                    "source": encode(&e.source)?,
                    "job_id": job_id,
                }
            }))
        })
        .collect()
}

fn badge_rows(user_id: &str, badges: &[BadgeAward]) -> Vec<serde_json::Value> {
    badges
        .iter()
        .map(|b| {
            json!({
                "id": format!("{}_{}", user_id, b.code),
                "row": {
                    "user_id": user_id,
                    "code": b.code.to_string(),
                    "awarded_at": b.awarded_at.to_rfc3339(),
                    "entry_id": b.entry_id.as_ref().map(|e| e.0.clone()),
                    "entry_version": b.entry_version,
                    "config_version": b.config_version,
                }
            })
        })
        .collect()
}

fn closed_rows(user_id: &str, closed: &[ClosedChallenge]) -> StoreResult<Vec<serde_json::Value>> {
    closed
        .iter()
        .map(|cc| {
            Ok(json!({
                "id": format!("{}_{}_{}", user_id, cc.week_start.format("%Y%m%d"), cc.challenge.code),
                "row": {
                    "user_id": user_id,
                    "week_start": cc.week_start.format("%Y-%m-%d").to_string(),
                    "challenge": encode(&cc.challenge)?,
                    "result": encode(&cc.result)?,
                }
            }))
        })
        .collect()
}

/// Writes a change atomically, if the user's state is still at `rev`.
pub async fn write(db: &TenantDb, c: &Change<'_>) -> Result<u64, WriteError> {
    let mut ledger = ledger_rows(c.user_id, c.ledger, c.job_id)?;
    let mut badges = badge_rows(c.user_id, c.badges);
    let mut closed = closed_rows(c.user_id, c.closed)?;
    let mut entries: Vec<serde_json::Value> = c
        .entry
        .map(|(id, r)| Ok::<_, StoreError>(json!({"id": id, "record": encode(r)?})))
        .transpose()?
        .into_iter()
        .collect();
    let mut evaluations: Vec<serde_json::Value> = c.evaluation.iter().cloned().collect();
    for p in &c.more {
        ledger.extend(ledger_rows(c.user_id, p.ledger, Some(p.job_id))?);
        badges.extend(badge_rows(c.user_id, p.badges));
        closed.extend(closed_rows(c.user_id, p.closed)?);
        entries.push(json!({"id": p.entry.0, "record": encode(p.entry.1)?}));
        evaluations.push(p.evaluation.clone());
    }
    let revoked: Vec<serde_json::Value> = c
        .revoked
        .iter()
        .map(|(code, by, reason)| json!({"id": format!("{}_{code}", c.user_id), "by": by, "reason": reason}))
        .collect();
    let state = c.state.map(encode).transpose()?;
    let sql = "BEGIN TRANSACTION;
         LET $cur = (SELECT VALUE rev FROM type::record('gamification_user', $uid))[0] ?? 0;
         IF $cur != $rev { THROW 'AR:rev_conflict'; };
         IF $state != NONE {
             UPSERT type::record('gamification_user', $uid) SET state = $state, rev = $cur + 1, updated_at = time::now();
         };
         FOR $en IN $entries {
             UPSERT type::record('gamification_entry', $en.id) SET record = $en.record, user_id = $uid;
         };
         FOR $e IN $ledger {
             CREATE type::record('xp_event', $e.id) SET user_id = $e.row.user_id,
                 idempotency_key = $e.row.idempotency_key, amount = $e.row.amount, day = $e.row.day,
                 occurred_at = <datetime> $e.row.occurred_at, config_version = $e.row.config_version,
                 rule = $e.row.rule, source = $e.row.source, job_id = $e.row.job_id;
         };
         FOR $b IN $badges {
             UPSERT type::record('badge_award', $b.id) SET user_id = $b.row.user_id, code = $b.row.code,
                 awarded_at = <datetime> $b.row.awarded_at, entry_id = $b.row.entry_id,
                 entry_version = $b.row.entry_version, config_version = $b.row.config_version,
                 revoked_at = NONE, revoked_by = NONE, revoke_reason = NONE;
         };
         FOR $r IN $revoked {
             UPDATE type::record('badge_award', $r.id) SET revoked_at = time::now(), revoked_by = $r.by, revoke_reason = $r.reason;
         };
         FOR $c IN $closed { UPSERT type::record('challenge_history', $c.id) CONTENT $c.row; };
         FOR $ev IN $evaluations {
             UPSERT type::record('reward_evaluation', $ev.id) CONTENT $ev.row;
         };
         RETURN IF $state != NONE { $cur + 1 } ELSE { $cur };
         COMMIT TRANSACTION;";
    let res = db
        .query(
            sql,
            json!({"uid": c.user_id, "rev": c.rev, "state": state, "entries": entries,
                   "ledger": ledger, "badges": badges, "revoked": revoked, "closed": closed,
                   "evaluations": evaluations}),
        )
        .await;
    match res {
        Ok(mut rows) => Ok(rows.last::<u64>()?.into_iter().next().unwrap_or(c.rev)),
        Err(StoreError::Thrown(code)) if code == "rev_conflict" => Err(WriteError::Conflict),
        Err(StoreError::Conflict(_)) => Err(WriteError::Conflict),
        Err(e) => Err(WriteError::Store(e)),
    }
}

/// How many times one read-compute-write of a user's state is tried before giving up.
pub const WRITE_TRIES: u32 = 5;

/// How one try of a read-compute-write of a user's state ended (see [`apply_with_retry`]).
#[derive(Debug)]
pub enum Attempt<T> {
    /// Finished: written, or nothing needed writing.
    Done(T),
    /// The state changed after it was read, so nothing was written: read it again.
    Stale,
}

/// [`write`], with a lost race as [`Attempt::Stale`] and the new revision otherwise.
pub async fn try_write(db: &TenantDb, c: &Change<'_>) -> StoreResult<Attempt<u64>> {
    match write(db, c).await {
        Ok(rev) => Ok(Attempt::Done(rev)),
        Err(WriteError::Conflict) => Ok(Attempt::Stale),
        Err(WriteError::Store(e)) => Err(e),
    }
}

/// Runs `attempt` (read the user's state, compute the change, [`try_write`] it) until
/// a try finishes, at most [`WRITE_TRIES`] times; `attempt` is given the try's number,
/// from 0. Every change of a user's state goes through here: each write checks the
/// revision its state was computed from, so a try that lost to a concurrent change
/// starts over from the state that won rather than overwrite it. `None` when every try
/// lost; the caller says what that means to its own caller.
pub async fn apply_with_retry<T, E, Fut>(
    mut attempt: impl FnMut(u32) -> Fut,
) -> Result<Option<T>, E>
where
    Fut: std::future::Future<Output = Result<Attempt<T>, E>>,
{
    for n in 0..WRITE_TRIES {
        if let Attempt::Done(done) = attempt(n).await? {
            return Ok(Some(done));
        }
    }
    Ok(None)
}

// ------------------------------------------------------------------ reads for the API

/// A ledger row.
#[derive(Debug, Clone, Deserialize)]
pub struct LedgerRow {
    pub id: String,
    pub user_id: String,
    pub idempotency_key: String,
    pub amount: u32,
    pub day: String,
    pub occurred_at: DateTime<Utc>,
    pub config_version: u32,
    pub rule: String,
    pub source: serde_json::Value,
    pub job_id: Option<String>,
}

/// A user's XP ledger, newest first.
pub async fn ledger(
    db: &TenantDb,
    user_id: &str,
    cursor: Option<&str>,
    limit: u32,
) -> StoreResult<Vec<LedgerRow>> {
    db.query(
        "SELECT record::id(id) AS id, user_id, idempotency_key, amount, day, occurred_at, config_version, rule, source, job_id
         FROM xp_event WHERE user_id = $uid AND ($cursor = NONE OR id < type::record('xp_event', $cursor))
         ORDER BY id DESC LIMIT $limit;",
        json!({"uid": user_id, "cursor": cursor, "limit": limit}),
    )
    .await?
    .take(0)
}

/// A badge award row.
#[derive(Debug, Clone, Deserialize)]
pub struct BadgeRow {
    pub user_id: String,
    pub code: String,
    pub awarded_at: DateTime<Utc>,
    pub entry_id: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: Option<String>,
}

/// A user's badge awards (revoked ones included).
pub async fn badges(db: &TenantDb, user_id: &str) -> StoreResult<Vec<BadgeRow>> {
    db.query(
        "SELECT user_id, code, awarded_at, entry_id, revoked_at, revoke_reason FROM badge_award WHERE user_id = $uid ORDER BY awarded_at ASC;",
        json!({"uid": user_id}),
    )
    .await?
    .take(0)
}

/// A closed challenge row.
#[derive(Debug, Clone, Deserialize)]
pub struct ChallengeRow {
    pub week_start: String,
    pub challenge: serde_json::Value,
    pub result: serde_json::Value,
}

/// A user's closed challenges, newest week first.
pub async fn challenge_history(
    db: &TenantDb,
    user_id: &str,
    limit: u32,
) -> StoreResult<Vec<ChallengeRow>> {
    db.query(
        "SELECT week_start, challenge, result FROM challenge_history WHERE user_id = $uid ORDER BY week_start DESC LIMIT $limit;",
        json!({"uid": user_id, "limit": limit}),
    )
    .await?
    .take(0)
}

/// Per-day engagement of a tenant since `since` (`YYYY-MM-DD`): (day, active users,
/// XP granted).
#[derive(Debug, Clone, Deserialize)]
pub struct DayActivity {
    pub day: String,
    pub users: u64,
    pub xp: u64,
}

/// Daily active users and XP granted since `since`.
pub async fn daily_activity(db: &TenantDb, since: &str) -> StoreResult<Vec<DayActivity>> {
    db.query(
        "SELECT day, array::len(array::distinct(users)) AS users, xp FROM (
            SELECT day, array::group(user_id) AS users, math::sum(amount) AS xp FROM xp_event
            WHERE day >= $since GROUP BY day
         ) ORDER BY day ASC;",
        json!({"since": since}),
    )
    .await?
    .take(0)
}

/// Badges awarded (not revoked) by code.
pub async fn badge_counts(db: &TenantDb) -> StoreResult<Vec<(String, u64)>> {
    #[derive(Deserialize)]
    struct Row {
        code: String,
        n: u64,
    }
    let rows: Vec<Row> = db
        .query(
            "SELECT code, count() AS n FROM badge_award WHERE revoked_at = NONE GROUP BY code;",
            json!({}),
        )
        .await?
        .take(0)?;
    Ok(rows.into_iter().map(|r| (r.code, r.n)).collect())
}
