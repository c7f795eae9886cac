//! Generated documents: reports and resumes (tenant databases), and the share links
//! that expose one of them publicly (platform database, so a token alone finds its
//! tenant; only the token's SHA-256 is stored).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{Db, StoreResult, TenantDb, TenantId};

/// A report as stored.
#[derive(Debug, Clone, Deserialize)]
pub struct ReportRow {
    pub id: String,
    pub author_id: String,
    pub kind: String,
    pub period_from: String,
    pub period_to: String,
    pub audience: Option<String>,
    pub instructions: Option<String>,
    /// `pending`, `ready` or `failed`.
    pub status: String,
    pub title: Option<String>,
    pub markdown: Option<String>,
    pub citations: Vec<String>,
    pub citation_report: Option<serde_json::Value>,
    pub job_id: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The current draft (sections of bullets), once written; reports finished before
    /// drafts were kept have none.
    #[serde(default)]
    pub draft: Option<serde_json::Value>,
    /// The current version (0 until written).
    #[serde(default)]
    pub version: u32,
    /// The last edit by a person, and who made it.
    #[serde(default)]
    pub edited_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub edited_by: Option<String>,
}

const REPORT_FIELDS: &str = "record::id(id) AS id, author_id, kind, period_from, period_to, audience, \
instructions, status, title, markdown, citations, citation_report, job_id, error, created_at, updated_at, \
draft, version, edited_at, edited_by";

/// What a new report asks for.
#[derive(Debug, Clone)]
pub struct NewReport<'a> {
    pub id: &'a str,
    pub author_id: &'a str,
    pub kind: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub audience: Option<&'a str>,
    pub instructions: Option<&'a str>,
}

/// Records a pending report.
pub async fn create_report(db: &TenantDb, r: &NewReport<'_>) -> StoreResult<ReportRow> {
    let sql = format!(
        "CREATE type::record('report', $id) CONTENT {{
            author_id: $author, kind: $kind, period_from: $from, period_to: $to,
            audience: $audience, instructions: $instructions, status: 'pending', citations: []
         }} RETURN {REPORT_FIELDS};"
    );
    let row = db
        .query(
            &sql,
            json!({"id": r.id, "author": r.author_id, "kind": r.kind, "from": r.from, "to": r.to,
                   "audience": r.audience, "instructions": r.instructions}),
        )
        .await?
        .first(0)?;
    row.ok_or_else(|| super::StoreError::Decode("CREATE returned no row".into()))
}

/// Links the job that writes the report.
pub async fn set_report_job(db: &TenantDb, id: &str, job_id: &str) -> StoreResult<()> {
    db.query(
        "UPDATE type::record('report', $id) SET job_id = $job;",
        json!({"id": id, "job": job_id}),
    )
    .await?;
    Ok(())
}

/// A new version of a report: its draft and rendering, and who made it.
pub struct NewVersion<'a> {
    pub draft: &'a serde_json::Value,
    pub title: &'a str,
    pub markdown: &'a str,
    pub citations: &'a [String],
    /// `model` or `user`.
    pub by: &'a str,
    /// The person, for a user's version.
    pub user_id: Option<&'a str>,
    /// What changed, in words ("Generated", "Edited", "Restored version 2").
    pub note: &'a str,
    /// Write only if the report is still at this version (an edit based on it).
    pub expected: Option<u32>,
    /// The citation check of a generated version (kept otherwise).
    pub citation_report: Option<&'a serde_json::Value>,
}

/// Why a version was not written.
#[derive(Debug)]
pub enum VersionError {
    /// The report is gone.
    Missing,
    /// It moved past `expected`: someone saved in between.
    Stale {
        current: u32,
    },
    Store(super::StoreError),
}

impl From<super::StoreError> for VersionError {
    fn from(e: super::StoreError) -> Self {
        VersionError::Store(e)
    }
}

/// Writes the next version of a report and makes it the current one, in one
/// transaction; the report becomes `ready`. Returns the new version's number.
pub async fn save_version(
    db: &TenantDb,
    id: &str,
    v: &NewVersion<'_>,
) -> Result<u32, VersionError> {
    let sql = "BEGIN TRANSACTION;
         LET $r = (SELECT version FROM type::record('report', $id))[0];
         IF $r = NONE { THROW 'AR:report_missing'; };
         LET $cur = $r.version ?? 0;
         IF $expected != NONE AND $expected != $cur { THROW 'AR:stale_' + <string> $cur; };
         LET $next = $cur + 1;
         CREATE report_version CONTENT {
             report_id: $id, version: $next, draft: $draft, title: $title, markdown: $md,
             by: $by, user_id: $user, note: $note
         };
         UPDATE type::record('report', $id) SET status = 'ready', error = NONE, draft = $draft,
             version = $next, title = $title, markdown = $md, citations = $citations,
             citation_report = IF $creport != NONE { $creport } ELSE { citation_report },
             edited_at = IF $by = 'user' { time::now() } ELSE { edited_at },
             edited_by = IF $by = 'user' { $user } ELSE { edited_by },
             updated_at = time::now();
         RETURN $next;
         COMMIT TRANSACTION;";
    let res = db
        .query(
            sql,
            json!({"id": id, "expected": v.expected, "draft": v.draft, "title": v.title,
                   "md": v.markdown, "citations": v.citations, "by": v.by, "user": v.user_id,
                   "note": v.note, "creport": v.citation_report}),
        )
        .await;
    match res {
        Ok(mut rows) => Ok(rows.last::<u32>()?.into_iter().next().unwrap_or_default()),
        Err(super::StoreError::Thrown(code)) if code == "report_missing" => {
            Err(VersionError::Missing)
        }
        Err(super::StoreError::Thrown(code)) if code.starts_with("stale_") => {
            Err(VersionError::Stale {
                current: code["stale_".len()..].parse().unwrap_or_default(),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// One version of a report, as listed.
#[derive(Debug, Clone, Deserialize)]
pub struct VersionRow {
    pub version: u32,
    pub by: String,
    pub user_id: Option<String>,
    pub note: String,
    pub created_at: DateTime<Utc>,
}

/// A report's versions, newest first.
pub async fn versions(db: &TenantDb, report_id: &str) -> StoreResult<Vec<VersionRow>> {
    db.query(
        "SELECT version, by, user_id, note, created_at FROM report_version
         WHERE report_id = $id ORDER BY version DESC LIMIT 500;",
        json!({"id": report_id}),
    )
    .await?
    .take(0)
}

/// One version of a report with its draft and rendering.
#[derive(Debug, Clone, Deserialize)]
pub struct VersionDoc {
    #[serde(flatten)]
    pub meta: VersionRow,
    pub title: String,
    pub markdown: String,
    pub draft: serde_json::Value,
}

pub async fn version(db: &TenantDb, report_id: &str, n: u32) -> StoreResult<Option<VersionDoc>> {
    db.query(
        "SELECT version, by, user_id, note, created_at, title, markdown, draft FROM report_version
         WHERE report_id = $id AND version = $n LIMIT 1;",
        json!({"id": report_id, "n": n}),
    )
    .await?
    .first(0)
}

/// Marks a report that is not written yet failed, with a reason. A written one stays
/// readable: a failed regeneration is the job's failure, not the report's.
pub async fn fail_report(db: &TenantDb, id: &str, error: &str) -> StoreResult<()> {
    db.query(
        "UPDATE type::record('report', $id) SET status = 'failed', error = $error, updated_at = time::now()
         WHERE status != 'ready';",
        json!({"id": id, "error": error}),
    )
    .await?;
    Ok(())
}

/// One report.
pub async fn report(db: &TenantDb, id: &str) -> StoreResult<Option<ReportRow>> {
    let sql = format!("SELECT {REPORT_FIELDS} FROM type::record('report', $id);");
    db.query(&sql, json!({"id": id})).await?.first(0)
}

/// Reports newest first (all of the tenant's, or one author's).
pub async fn reports(
    db: &TenantDb,
    author: Option<&str>,
    cursor: Option<&str>,
    limit: u32,
) -> StoreResult<Vec<ReportRow>> {
    let sql = format!(
        "SELECT {REPORT_FIELDS} FROM report WHERE ($author = NONE OR author_id = $author)
         AND ($cursor = NONE OR id < type::record('report', $cursor)) ORDER BY id DESC LIMIT $limit;"
    );
    db.query(
        &sql,
        json!({"author": author, "cursor": cursor, "limit": limit}),
    )
    .await?
    .take(0)
}

/// Deletes a report and its versions.
pub async fn delete_report(db: &TenantDb, id: &str) -> StoreResult<bool> {
    let rows: Vec<serde_json::Value> = db
        .query(
            "BEGIN TRANSACTION;
             DELETE report_version WHERE report_id = $id;
             LET $gone = (DELETE type::record('report', $id) RETURN BEFORE);
             RETURN $gone;
             COMMIT TRANSACTION;",
            json!({"id": id}),
        )
        .await?
        .last()?;
    Ok(!rows.is_empty())
}

// ------------------------------------------------------------------ resume

/// A user's resume: the generated JSON Resume and their manual edits, kept apart so a
/// refresh never loses an edit.
#[derive(Debug, Clone, Deserialize)]
pub struct ResumeRow {
    pub user_id: String,
    pub generated: Option<serde_json::Value>,
    pub manual: Option<serde_json::Value>,
    pub job_id: Option<String>,
    pub refreshed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// The user's resume, if any.
pub async fn resume(db: &TenantDb, user_id: &str) -> StoreResult<Option<ResumeRow>> {
    db.query(
        "SELECT record::id(id) AS user_id, generated, manual, job_id, refreshed_at, updated_at FROM type::record('resume', $id);",
        json!({"id": user_id}),
    )
    .await?
    .first(0)
}

/// Stores a freshly generated resume (manual edits untouched).
pub async fn set_generated(
    db: &TenantDb,
    user_id: &str,
    generated: &serde_json::Value,
    job_id: &str,
) -> StoreResult<()> {
    db.query_retrying(
        "UPSERT type::record('resume', $id) SET generated = $doc, job_id = $job, refreshed_at = time::now(), updated_at = time::now();",
        json!({"id": user_id, "doc": generated, "job": job_id}),
    )
    .await?;
    Ok(())
}

/// Stores the user's manual edits.
pub async fn set_manual(
    db: &TenantDb,
    user_id: &str,
    manual: &serde_json::Value,
) -> StoreResult<()> {
    db.query_retrying(
        "UPSERT type::record('resume', $id) SET manual = $manual, updated_at = time::now();",
        json!({"id": user_id, "manual": manual}),
    )
    .await?;
    Ok(())
}

// ------------------------------------------------------------------ share links (platform)

/// A share link as stored.
#[derive(Debug, Clone, Deserialize)]
pub struct ShareRow {
    pub id: String,
    pub tenant_id: TenantId,
    /// `report` or `resume`.
    pub kind: String,
    /// The report id, or the user id for a resume.
    pub doc_id: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub views: u64,
    pub last_viewed_at: Option<DateTime<Utc>>,
}

const SHARE_FIELDS: &str =
    "record::id(id) AS id, tenant_id, kind, doc_id, created_by, created_at, \
expires_at, revoked_at, views, last_viewed_at";

/// A new share link (its token is stored only as `token_hash`).
pub struct NewShare<'a> {
    pub id: &'a str,
    pub token_hash: &'a str,
    pub tenant_id: TenantId,
    pub kind: &'a str,
    pub doc_id: &'a str,
    pub created_by: &'a str,
    pub expires_at: DateTime<Utc>,
}

/// Records a share link.
pub async fn create_share(db: &Db, s: &NewShare<'_>) -> StoreResult<ShareRow> {
    let sql = format!(
        "CREATE type::record('share_link', $id) CONTENT {{
            token_hash: $hash, tenant_id: $tenant, kind: $kind, doc_id: $doc, created_by: $by,
            expires_at: <datetime> $expires, views: 0
         }} RETURN {SHARE_FIELDS};"
    );
    let row = db
        .query(
            &sql,
            json!({"id": s.id, "hash": s.token_hash, "tenant": s.tenant_id, "kind": s.kind,
                   "doc": s.doc_id, "by": s.created_by, "expires": s.expires_at.to_rfc3339()}),
        )
        .await?
        .first(0)?;
    row.ok_or_else(|| super::StoreError::Decode("CREATE returned no row".into()))
}

/// The live link with this token hash (not revoked, not expired), counting the view.
/// `now` is the caller's clock (the service passes the current time; tests pass any).
pub async fn open_share(
    db: &Db,
    token_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<ShareRow>> {
    let sql = format!(
        "UPDATE share_link SET views += 1, last_viewed_at = <datetime> $now
         WHERE token_hash = $hash AND revoked_at = NONE AND expires_at > <datetime> $now
         RETURN {SHARE_FIELDS};"
    );
    db.query_retrying(&sql, json!({"hash": token_hash, "now": now.to_rfc3339()}))
        .await?
        .first(0)
}

/// One link of a tenant.
pub async fn share(db: &Db, tenant_id: TenantId, id: &str) -> StoreResult<Option<ShareRow>> {
    let sql = format!(
        "SELECT {SHARE_FIELDS} FROM type::record('share_link', $id) WHERE tenant_id = $tenant;"
    );
    db.query(&sql, json!({"id": id, "tenant": tenant_id}))
        .await?
        .first(0)
}

/// A tenant's links (optionally of one document), newest first.
pub async fn shares(
    db: &Db,
    tenant_id: TenantId,
    doc: Option<(&str, &str)>,
) -> StoreResult<Vec<ShareRow>> {
    let sql = format!(
        "SELECT {SHARE_FIELDS} FROM share_link WHERE tenant_id = $tenant
         AND ($kind = NONE OR (kind = $kind AND doc_id = $doc)) ORDER BY id DESC LIMIT 200;"
    );
    db.query(
        &sql,
        json!({"tenant": tenant_id, "kind": doc.map(|d| d.0), "doc": doc.map(|d| d.1)}),
    )
    .await?
    .take(0)
}

/// Revokes a link.
pub async fn revoke_share(db: &Db, tenant_id: TenantId, id: &str) -> StoreResult<Option<ShareRow>> {
    let sql = format!(
        "UPDATE type::record('share_link', $id) SET revoked_at = time::now()
         WHERE tenant_id = $tenant AND revoked_at = NONE RETURN {SHARE_FIELDS};"
    );
    db.query(&sql, json!({"id": id, "tenant": tenant_id}))
        .await?
        .first(0)
}
