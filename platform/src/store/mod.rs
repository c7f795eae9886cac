//! SurrealDB storage: connection, migrations, and tenant isolation.
//!
//! # Tenant isolation design
//!
//! Global data (users, tenants, memberships, invitations, refresh tokens, auth events)
//! lives in the database `platform` of the namespace `SURREAL_NAMESPACE`. Every tenant
//! gets **its own database** (`t_<tenant uuid without dashes>`) in the same namespace.
//!
//! The isolation is structural:
//! * The only way to reach tenant data is a [`TenantDb`], and the only constructor of a
//!   `TenantDb` is [`Store::tenant`], which takes a [`TenantId`]. Request code obtains a
//!   `TenantId` only from the authenticated principal (see `api::security`), never from
//!   a path or body.
//! * A `TenantDb` wraps one long-lived SDK session that was pointed at its database
//!   exactly once, when it was created, and is never re-pointed: the wrapper exposes
//!   queries but not `use_ns`/`use_db`. Sessions are cached per tenant.
//! * The SDK copies a parent session's namespace *lazily* into a clone (measured:
//!   re-pointing a handle that has clones leaks into them). So the root handle is
//!   pointed at the platform database once, before any clone exists, and never moved
//!   again; every tenant session is a clone of it that then points itself — and is
//!   verified with `session::db()` before it is handed out.
//!
//! `tests/isolation.rs` in this crate runs two tenants' operations interleaved across
//! many tasks (≥ 1,000 operations) and checks that no row ever crosses.
//!
//! Table PERMISSIONS are not used for isolation: they do not apply to the root session.

pub mod documents;
pub mod events;
pub mod gamification;
pub mod migrations;
pub mod platform;
pub mod search;
pub mod skills;
pub mod tenant;
pub mod worklogs;

use std::collections::HashMap;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use surrealdb::engine::any::Any;
use surrealdb::Surreal;
use tokio::sync::Mutex;

pub use tenant::TenantDb;

/// How an embedded surrealkv store is sized, unless `SURREAL_URL` has parameters of its
/// own. Left to itself the engine sizes both from the machine's memory (a 1 GiB memtable
/// and a block cache of half the RAM on a 24 GiB machine), which a single-box product
/// sharing the machine can't afford: writes accumulate in the memtable until it fills.
/// A 16 MiB memtable is flushed to disk early; 32 MiB of cached blocks holds the hot
/// part of a small team's data. (The parameters are read by our patched
/// `surrealdb-kvs-surrealkv`, see vendor/README.md.)
pub const SURREALKV_TUNING: &str =
    "?surrealkv_max_memtable_size=16777216&surrealkv_block_cache_capacity=33554432";

/// Name of the platform database inside the namespace.
pub const PLATFORM_DB: &str = "platform";

/// A storage failure, classified so callers can react to the retryable ones.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An optimistic transaction lost a race; retrying may succeed.
    #[error("transaction conflict: {0}")]
    Conflict(String),
    /// A UNIQUE index rejected the write.
    #[error("unique constraint: {0}")]
    Unique(String),
    /// A `THROW` inside a query (a business rule checked in the transaction).
    #[error("{0}")]
    Thrown(String),
    /// A row did not have the expected shape.
    #[error("decode: {0}")]
    Decode(String),
    #[error("database: {0}")]
    Db(String),
}

impl StoreError {
    /// Sorts an engine error by its kind (walking its causes): a transaction conflict, a
    /// `THROW`, a record that exists. A unique-index violation is the one case decided
    /// by its message: the engine reports it with the kind `Internal`, so only its
    /// wording (`Database index … already contains …`) sets it apart.
    fn classify(e: surrealdb::Error) -> Self {
        let msg = e.to_string();
        if error_chain(&e).any(is_conflict) {
            StoreError::Conflict(msg)
        } else if error_chain(&e).any(surrealdb::Error::is_thrown) {
            StoreError::Thrown(thrown_code(&msg))
        } else if error_chain(&e).any(surrealdb::Error::is_already_exists)
            || error_chain(&e).any(|e| e.message().contains("already contains"))
        {
            StoreError::Unique(msg)
        } else {
            StoreError::Db(msg)
        }
    }

    /// The code of a `THROW "AR:<code>"`, if this is a thrown business error.
    pub fn thrown(&self) -> Option<&str> {
        match self {
            StoreError::Thrown(t) => Some(t),
            _ => None,
        }
    }
}

/// An error and the causes it carries, outermost first.
fn error_chain(e: &surrealdb::Error) -> impl Iterator<Item = &surrealdb::Error> {
    std::iter::successors(Some(e), |e| e.cause())
}

fn is_conflict(e: &surrealdb::Error) -> bool {
    use surrealdb::types::{ErrorDetails, QueryError};
    matches!(
        e.details(),
        ErrorDetails::Query(Some(QueryError::TransactionConflict))
    )
}

fn is_not_executed(e: &surrealdb::Error) -> bool {
    use surrealdb::types::{ErrorDetails, QueryError};
    matches!(
        e.details(),
        ErrorDetails::Query(Some(QueryError::NotExecuted))
    )
}

/// The code of a business rule checked inside a transaction, thrown as
/// `THROW "AR:<code>"` (the engine's message wraps the thrown text).
fn thrown_code(msg: &str) -> String {
    msg.split("AR:")
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
        .collect()
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A database session that runs queries with JSON variables and returns JSON rows.
///
/// Deliberately has no way to change its namespace or database.
#[derive(Clone)]
pub struct Db {
    session: Surreal<Any>,
}

/// The rows of one multi-statement query, decodable with serde.
pub struct Rows {
    results: surrealdb::IndexedResults,
}

impl Rows {
    /// Rows of statement `index` as `Vec<T>`.
    pub fn take<T: DeserializeOwned>(&mut self, index: usize) -> StoreResult<Vec<T>> {
        let value: surrealdb::types::Value = self
            .results
            .take(index)
            .map_err(|e| StoreError::Decode(e.to_string()))?;
        let json = value.into_json_value();
        let json = match json {
            serde_json::Value::Array(_) => json,
            serde_json::Value::Null => serde_json::Value::Array(vec![]),
            other => serde_json::Value::Array(vec![other]),
        };
        serde_json::from_value(json).map_err(|e| StoreError::Decode(e.to_string()))
    }

    /// The first row of statement `index`, if any.
    pub fn first<T: DeserializeOwned>(&mut self, index: usize) -> StoreResult<Option<T>> {
        Ok(self.take::<T>(index)?.into_iter().next())
    }

    /// The rows of the last statement that returned something (after `BEGIN … COMMIT`,
    /// whose closing statement yields nothing).
    pub fn last<T: DeserializeOwned>(&mut self) -> StoreResult<Vec<T>> {
        for i in (0..self.results.num_statements()).rev() {
            let value: surrealdb::types::Value = self
                .results
                .take(i)
                .map_err(|e| StoreError::Decode(e.to_string()))?;
            if !matches!(value, surrealdb::types::Value::None) {
                let json = match value.into_json_value() {
                    a @ serde_json::Value::Array(_) => a,
                    serde_json::Value::Null => serde_json::Value::Array(vec![]),
                    other => serde_json::Value::Array(vec![other]),
                };
                return serde_json::from_value(json).map_err(|e| StoreError::Decode(e.to_string()));
            }
        }
        Ok(Vec::new())
    }
}

/// Queries slower than this are logged at `warn` (every query at `debug`, target
/// `afterresume::store::query`), so a query that grows with the data shows up in the
/// logs before it shows up as a slow page.
const SLOW_QUERY: std::time::Duration = std::time::Duration::from_millis(250);

fn log_timing(sql: &str, elapsed: std::time::Duration) {
    // One line per query: the first statement, whitespace collapsed.
    let text = || sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let ms = elapsed.as_secs_f64() * 1000.0;
    if elapsed >= SLOW_QUERY {
        tracing::warn!(target: "afterresume::store::query", ms, sql = %text(), "slow query");
    } else if tracing::enabled!(target: "afterresume::store::query", tracing::Level::DEBUG) {
        tracing::debug!(target: "afterresume::store::query", ms, sql = %text(), "query");
    }
}

/// Removes `null` members from objects, recursively (array elements are kept).
fn strip_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(strip_nulls).collect())
        }
        other => other,
    }
}

impl Db {
    /// Runs `sql` with the variables of the JSON object `vars`; fails on the first
    /// statement error.
    pub async fn query(&self, sql: &str, vars: serde_json::Value) -> StoreResult<Rows> {
        // JSON null binds as SurrealQL NULL, which `option<T>` fields reject; an absent
        // value is NONE. So null object members are dropped, at every depth (rows built
        // from JSON objects carry their optional fields nested).
        let vars = strip_nulls(vars);
        let started = std::time::Instant::now();
        let mut results = self
            .session
            .query(sql)
            .bind(vars)
            .await
            .map_err(StoreError::classify)?;
        log_timing(sql, started.elapsed());
        let errors = results.take_errors();
        if !errors.is_empty() {
            // In a failed transaction every statement reports "not executed"; the
            // informative error is the THROW (or conflict) that caused it.
            let mut errors: Vec<(usize, surrealdb::Error)> = errors.into_iter().collect();
            errors.sort_by_key(|(i, _)| *i);
            let best = errors
                .iter()
                .position(|(_, e)| error_chain(e).any(|e| e.is_thrown() || is_conflict(e)))
                .or_else(|| {
                    errors
                        .iter()
                        .position(|(_, e)| !error_chain(e).any(is_not_executed))
                })
                .unwrap_or(0);
            return Err(StoreError::classify(errors.swap_remove(best).1));
        }
        Ok(Rows { results })
    }

    /// Runs `sql`, retrying on transaction conflicts (with a little jitter).
    pub async fn query_retrying(&self, sql: &str, vars: serde_json::Value) -> StoreResult<Rows> {
        let mut attempt = 0u32;
        loop {
            match self.query(sql, vars.clone()).await {
                Err(StoreError::Conflict(_)) if attempt < 8 => {
                    attempt += 1;
                    let jitter = rand::random::<u64>() % (5 * u64::from(attempt) + 1);
                    tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
                }
                other => return other,
            }
        }
    }

    async fn current_db(&self) -> StoreResult<(Option<String>, Option<String>)> {
        let mut rows = self
            .query(
                "RETURN [session::ns(), session::db()];",
                serde_json::json!({}),
            )
            .await?;
        let pair: Vec<Option<String>> = rows.take(0)?;
        Ok((
            pair.first().cloned().flatten(),
            pair.get(1).cloned().flatten(),
        ))
    }
}

/// Identifies a tenant. Obtainable by request code only from an authenticated principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TenantId(pub uuid::Uuid);

impl TenantId {
    /// The name of this tenant's database.
    pub fn database(&self) -> String {
        format!("t_{}", self.0.simple())
    }
}

impl std::str::FromStr for TenantId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s).map(TenantId)
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Whose data something is: one workspace's, or the platform's own (system jobs and
/// their Events). Jobs and Events store it as text: `system` or the tenant's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    System,
    Tenant(TenantId),
}

impl Scope {
    /// How the system scope is stored.
    pub const SYSTEM: &'static str = "system";

    /// Reads a stored scope (`None` for text that is neither).
    pub fn parse(s: &str) -> Option<Self> {
        if s == Self::SYSTEM {
            return Some(Scope::System);
        }
        uuid::Uuid::parse_str(s)
            .ok()
            .map(|id| Scope::Tenant(TenantId(id)))
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::System => f.write_str(Self::SYSTEM),
            Scope::Tenant(t) => t.fmt(f),
        }
    }
}

/// The storage root: platform database plus a cache of tenant sessions.
pub struct Store {
    root: Surreal<Any>,
    platform: Db,
    namespace: String,
    tenants: Mutex<HashMap<TenantId, TenantDb>>,
    /// Work-log first pages and search indexes, when this process is the store's only
    /// writer (an embedded engine: surrealkv locks its directory, `mem://` is private),
    /// so every change is seen here and invalidates exactly. A SurrealDB server may
    /// have other writers: no caches.
    caches: Option<tenant::StoreCaches>,
}

impl Store {
    /// Connects, points the root session at the platform database and applies
    /// platform migrations.
    pub async fn open(url: &str, namespace: &str) -> anyhow::Result<Arc<Self>> {
        Self::open_with(
            url,
            namespace,
            worklogs::PAGE_CACHE_BYTES,
            search::SEARCH_INDEX_BYTES,
        )
        .await
    }

    /// [`Store::open`] with a page cache of `page_cache_bytes` and search indexes of
    /// `search_index_bytes` in all (0: none; searches use the database's index).
    pub async fn open_with(
        url: &str,
        namespace: &str,
        page_cache_bytes: u64,
        search_index_bytes: u64,
    ) -> anyhow::Result<Arc<Self>> {
        let mut url = url.to_string();
        if let Some(path) = url.strip_prefix("surrealkv://") {
            let path = path.split('?').next().unwrap_or(path).to_string();
            std::fs::create_dir_all(&path)
                .map_err(|e| anyhow::anyhow!("cannot create database directory {path}: {e}"))?;
            if !url.contains('?') {
                url.push_str(SURREALKV_TUNING);
            }
        }
        let url = url.as_str();
        let root = surrealdb::engine::any::connect(url).await.map_err(|e| {
            let e = e.to_string();
            let url = url.split('?').next().unwrap_or(url);
            // The embedded engine allows one process per directory.
            if e.contains("already locked") {
                anyhow::anyhow!(
                    "the database at {url} is in use by another process (a running \
                     `afterresume serve`?). Stop that process first, or, while the server \
                     runs, use the staff API (/api/admin/*) instead of this command"
                )
            } else {
                anyhow::anyhow!("cannot open database at {url}: {e}")
            }
        })?;
        // Pointed once, before any clone exists; never re-pointed (see module docs).
        root.use_ns(namespace).use_db(PLATFORM_DB).await?;
        let platform = Db {
            session: root.clone(),
        };
        let store = Arc::new(Self {
            root,
            platform,
            namespace: namespace.to_string(),
            tenants: Mutex::new(HashMap::new()),
            caches: (url.starts_with("surrealkv://") || url.starts_with("mem://")).then(|| {
                tenant::StoreCaches {
                    pages: Arc::new(worklogs::PageCache::new(page_cache_bytes)),
                    search: (search_index_bytes > 0)
                        .then(|| Arc::new(search::SearchIndex::new(search_index_bytes))),
                }
            }),
        });
        migrations::apply(&store.platform, migrations::PLATFORM).await?;
        Ok(store)
    }

    /// An in-memory store (tests).
    pub async fn memory() -> anyhow::Result<Arc<Self>> {
        Self::open("mem://", "afterresume").await
    }

    /// The platform (global) database.
    pub fn platform(&self) -> &Db {
        &self.platform
    }

    /// The session of one tenant's database, created, verified and migrated on first use.
    pub async fn tenant(&self, id: TenantId) -> StoreResult<TenantDb> {
        let mut map = self.tenants.lock().await;
        if let Some(db) = map.get(&id) {
            return Ok(db.clone());
        }
        let session = self.root.clone();
        session
            .use_ns(self.namespace.clone())
            .use_db(id.database())
            .await
            .map_err(StoreError::classify)?;
        let db = Db { session };
        let (ns, dbname) = db.current_db().await?;
        if ns.as_deref() != Some(self.namespace.as_str())
            || dbname.as_deref() != Some(id.database().as_str())
        {
            return Err(StoreError::Db(format!(
                "tenant session for {id} points at {ns:?}/{dbname:?}; refusing to use it"
            )));
        }
        migrations::apply(&db, migrations::TENANT)
            .await
            .map_err(|e| StoreError::Db(e.to_string()))?;
        let tenant = TenantDb::new(id, db, self.caches.clone());
        map.insert(id, tenant.clone());
        Ok(tenant)
    }

    /// Drops a tenant's database and its cached session (tenant deletion).
    pub async fn remove_tenant(&self, id: TenantId) -> StoreResult<()> {
        self.tenants.lock().await.remove(&id);
        let sql = format!("REMOVE DATABASE IF EXISTS {};", id.database());
        self.platform.query(&sql, serde_json::json!({})).await?;
        Ok(())
    }

    /// Readiness probe: a trivial query on the platform database.
    pub async fn ping(&self) -> StoreResult<()> {
        self.platform
            .query("RETURN 1;", serde_json::json!({}))
            .await
            .map(|_| ())
    }
}
