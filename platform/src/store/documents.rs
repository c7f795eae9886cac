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
}

const REPORT_FIELDS: &str = "record::id(id) AS id, author_id, kind, period_from, period_to, audience, \
instructions, status, title, markdown, citations, citation_report, job_id, error, created_at, updated_at";

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

/// Stores the finished report.
pub async fn finish_report(
    db: &TenantDb,
    id: &str,
    title: &str,
    markdown: &str,
    citations: &[String],
    citation_report: serde_json::Value,
) -> StoreResult<bool> {
    let rows: Vec<serde_json::Value> = db
        .query(
            "UPDATE type::record('report', $id) SET status = 'ready', title = $title, markdown = $md,
                 citations = $citations, citation_report = $report, error = NONE, updated_at = time::now()
             RETURN record::id(id) AS id;",
            json!({"id": id, "title": title, "md": markdown, "citations": citations, "report": citation_report}),
        )
        .await?
        .take(0)?;
    Ok(!rows.is_empty())
}

/// Marks a report failed with a reason.
pub async fn fail_report(db: &TenantDb, id: &str, error: &str) -> StoreResult<()> {
    db.query(
        "UPDATE type::record('report', $id) SET status = 'failed', error = $error, updated_at = time::now();",
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

/// Deletes a report.
pub async fn delete_report(db: &TenantDb, id: &str) -> StoreResult<bool> {
    let rows: Vec<serde_json::Value> = db
        .query(
            "DELETE type::record('report', $id) RETURN BEFORE;",
            json!({"id": id}),
        )
        .await?
        .take(0)?;
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
