//! The AI features: `/api/skills`, `/api/reports`, `/api/resume`, share links
//! (`/api/share-links`, public `/api/share/{token}`), and `/api/status/bar`.
//! Everything AI runs as a job: the endpoints that start work answer 202 with the job.

use super::download::{File, ReportTypes, ResumeTypes};
use super::schema::{AnyObject, DateText, Day, Id, IdOrEmpty, Limit};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Html, Json};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::jobs::JobAccepted;
use super::me::NoContent;
use super::security::{Authenticated, Principal, Writer};
use super::text::Text;
use super::Tag;
use crate::agents;
use crate::documents::{self as docs, CssMode, ReportMeta};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::jobs::queue::{EnqueueOptions, QueueError};
use crate::state::AppState;
use crate::store::{documents as store, platform, skills, worklogs, TenantDb, TenantId};

/// Where the SPA and share pages load the document stylesheet from.
pub const DOCUMENT_CSS_PATH: &str = "/assets/documents.css";

// ------------------------------------------------------------------ helpers

/// Refuses AI work when the tenant's monthly LLM tokens are used up. Otherwise returns
/// how many AI jobs the tenant may have in flight: each holds
/// `LLM_TOKENS_RESERVED_PER_JOB` of what is left, so parallel jobs can't all start on
/// the same remainder (`None`: no quota).
async fn ensure_llm_quota(state: &AppState, db: &TenantDb) -> ApiResult<Option<usize>> {
    let q = &state.settings.quotas;
    let quota = q.llm_tokens_per_month;
    if quota == 0 {
        return Ok(None);
    }
    let (used, _) = crate::llm::usage_this_month(db).await?;
    if used >= quota {
        return Err(llm_quota_error(format!(
            "your workspace has used its {quota} LLM tokens for this month"
        )));
    }
    let left = quota - used;
    Ok(match q.llm_tokens_reserved_per_job {
        0 => None,
        per_job => Some(usize::try_from(left.div_ceil(per_job)).unwrap_or(usize::MAX)),
    })
}

fn llm_quota_error(message: String) -> ApiError {
    let mut e = ApiError::new(ErrorCode::QuotaExceeded, message);
    e.retry_after = Some(3600);
    e
}

/// Enqueues an AI job for `p` and answers with it.
async fn start_job(
    state: &AppState,
    p: &Principal,
    kind: &str,
    payload: serde_json::Value,
    key: Option<String>,
    in_flight: Option<usize>,
) -> ApiResult<JobAccepted> {
    let mut opts: EnqueueOptions = state.jobs.member_options();
    opts.max_active_of = in_flight.map(|cap| (crate::workflows::ai::KINDS, cap));
    opts.idempotency_key = key;
    opts.created_by = Some(p.user_id.clone());
    // AI work is slower than bookkeeping: a generous per-attempt timeout.
    opts.timeout = std::time::Duration::from_secs(state.settings.llm_timeout_secs * 6);
    let outcome = state
        .jobs
        .enqueue(&p.tenant_id(), kind, payload, opts)
        .await
        .map_err(|e| match e {
            QueueError::TooManyActive(n) => llm_quota_error(format!(
                "your workspace's {n} AI jobs in flight hold the rest of this month's LLM tokens; wait for them to finish"
            )),
            e => ApiError::from(e),
        })?;
    JobAccepted::from_outcome(state, outcome)
}

fn day(name: &str, v: Option<String>) -> ApiResult<Option<NaiveDate>> {
    match v {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ApiError::validation(format!("{name} must be a date like 2026-11-22"))),
    }
}

fn valid_id(id: &str, what: &str) -> ApiResult<()> {
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(ApiError::not_found(what));
    }
    Ok(())
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// Accepted: the job runs in the background; follow `url` or `events_url`.
    #[oai(status = 202)]
    Accepted(Json<JobAccepted>),
}

fn file<M>(bytes: Vec<u8>, content_type: &str, name: &str) -> File<M> {
    File::new(
        bytes,
        content_type,
        crate::worklog::content_disposition(name),
    )
}

fn doc_error(e: docs::DocError) -> ApiError {
    match e {
        docs::DocError::TooLong { .. } => ApiError::new(ErrorCode::PayloadTooLarge, e.to_string()),
        other => ApiError::internal(other),
    }
}

// ------------------------------------------------------------------ skills

/// One piece of evidence for a skill.
#[derive(Object)]
pub struct EvidenceOut {
    pub entry_id: String,
    pub quote: String,
    /// The entry's title and day (absent if the entry was deleted since).
    #[oai(nullable)]
    pub entry_title: Option<String>,
    #[oai(nullable)]
    pub entry_date: Option<Day>,
}

/// A skill found in your work log.
#[derive(Object)]
pub struct SkillOut {
    pub id: String,
    pub name: String,
    pub category: String,
    #[oai(nullable)]
    pub level: Option<String>,
    /// 0–1.
    pub confidence: f64,
    /// `suggested` (found, not reviewed), `confirmed` or `rejected`. Extractions never
    /// change it.
    pub status: String,
    pub evidence_count: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Only on `GET /api/skills/{id}`.
    #[oai(nullable)]
    pub evidence: Option<Vec<EvidenceOut>>,
}

impl From<skills::SkillRow> for SkillOut {
    fn from(s: skills::SkillRow) -> Self {
        Self {
            id: s.id,
            name: s.name,
            category: s.category,
            level: s.level,
            confidence: s.confidence,
            status: s.status,
            evidence_count: s.evidence_count,
            created_at: s.created_at,
            updated_at: s.updated_at,
            evidence: None,
        }
    }
}

#[derive(Object)]
pub struct SkillList {
    pub items: Vec<SkillOut>,
}

#[derive(Object)]
pub struct ExtractSkills {
    /// First day of entries to read, `YYYY-MM-DD` (default: all).
    #[oai(nullable)]
    pub from: Option<DateText>,
    /// Last day, `YYYY-MM-DD`.
    #[oai(nullable)]
    pub to: Option<DateText>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SkillStatus {
    Suggested,
    Confirmed,
    Rejected,
}

impl SkillStatus {
    fn as_str(self) -> &'static str {
        match self {
            SkillStatus::Suggested => "suggested",
            SkillStatus::Confirmed => "confirmed",
            SkillStatus::Rejected => "rejected",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SkillSortParam {
    Evidence,
    Confidence,
    Name,
}

#[derive(Object)]
pub struct UpdateSkill {
    #[oai(validator(min_length = 1, max_length = 100))]
    #[oai(nullable)]
    pub name: Option<Text>,
    // Not declared nullable: on an enum `$ref` that becomes an `allOf` wrapper, which
    // client generators reject. `null` is accepted all the same.
    pub status: Option<SkillStatus>,
    #[oai(validator(min_length = 1, max_length = 60))]
    #[oai(nullable)]
    pub category: Option<Text>,
}

#[derive(Object)]
pub struct MergeSkills {
    /// The skill that remains.
    pub into: Text,
    /// Skills folded into it (their evidence moves, they disappear).
    #[oai(validator(min_items = 1, max_items = 50))]
    pub ids: Vec<Text>,
    /// Optionally rename the remaining skill.
    #[oai(validator(min_length = 1, max_length = 100))]
    #[oai(nullable)]
    pub name: Option<Text>,
}

async fn own_skill(db: &TenantDb, p: &Principal, id: &str) -> ApiResult<skills::SkillRow> {
    valid_id(id, "skill")?;
    skills::get(db, id)
        .await?
        .filter(|s| s.user_id == p.user_id)
        .ok_or_else(|| ApiError::not_found("skill"))
}

// ------------------------------------------------------------------ reports

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ReportKindParam {
    Status,
    Standup,
    Weekly,
    Custom,
}

impl ReportKindParam {
    fn agent(self) -> agents::report::ReportKind {
        match self {
            ReportKindParam::Status => agents::report::ReportKind::Status,
            ReportKindParam::Standup => agents::report::ReportKind::Standup,
            ReportKindParam::Weekly => agents::report::ReportKind::Weekly,
            ReportKindParam::Custom => agents::report::ReportKind::Custom,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            ReportKindParam::Status => "status",
            ReportKindParam::Standup => "standup",
            ReportKindParam::Weekly => "weekly",
            ReportKindParam::Custom => "custom",
        }
    }
}

#[derive(Object)]
pub struct CreateReport {
    pub kind: ReportKindParam,
    /// First day, `YYYY-MM-DD`.
    pub from: DateText,
    /// Last day, `YYYY-MM-DD` (at most 366 days after `from`).
    pub to: DateText,
    /// Who reads it ("my manager", "the team").
    #[oai(validator(max_length = 200))]
    #[oai(nullable)]
    pub audience: Option<Text>,
    /// Extra instructions for the writer.
    #[oai(validator(max_length = 2000))]
    #[oai(nullable)]
    pub instructions: Option<Text>,
}

/// A cited entry.
#[derive(Object)]
pub struct Citation {
    /// The `[n]` that cites it in the report's markdown.
    pub number: u32,
    pub entry_id: String,
    #[oai(nullable)]
    pub title: Option<String>,
    #[oai(nullable)]
    pub date: Option<Day>,
    /// The entry still exists.
    pub exists: bool,
}

#[derive(Object)]
pub struct ReportOut {
    pub id: String,
    pub author_id: String,
    pub kind: String,
    pub from: Day,
    pub to: Day,
    #[oai(nullable)]
    pub audience: Option<String>,
    #[oai(nullable)]
    pub instructions: Option<String>,
    /// `pending`, `ready` or `failed`.
    pub status: String,
    #[oai(nullable)]
    pub title: Option<String>,
    /// Markdown; every bullet cites entries (`[1]` with a Sources list).
    #[oai(nullable)]
    pub markdown: Option<String>,
    /// Only on `GET /api/reports/{id}`: the cited entries.
    #[oai(nullable)]
    pub citations: Option<Vec<Citation>>,
    /// What citation checking removed or flagged.
    #[oai(nullable)]
    pub citation_report: Option<serde_json::Value>,
    #[oai(nullable)]
    pub error: Option<String>,
    #[oai(nullable)]
    pub job_id: Option<String>,
    #[oai(nullable)]
    pub job_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<store::ReportRow> for ReportOut {
    fn from(r: store::ReportRow) -> Self {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        Self {
            from: d(&r.period_from).into(),
            to: d(&r.period_to).into(),
            job_url: r.job_id.as_ref().map(|j| format!("/api/jobs/{j}")),
            id: r.id,
            author_id: r.author_id,
            kind: r.kind,
            audience: r.audience,
            instructions: r.instructions,
            status: r.status,
            title: r.title,
            markdown: r.markdown,
            citations: None,
            citation_report: r.citation_report,
            error: r.error,
            job_id: r.job_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Object)]
pub struct ReportAccepted {
    pub report: ReportOut,
    pub job: JobAccepted,
}

#[derive(ApiResponse)]
pub enum ReportStarted {
    /// Accepted: the report is written by the job; poll the report or follow the job.
    #[oai(status = 202)]
    Accepted(Json<ReportAccepted>),
}

#[derive(Object)]
pub struct ReportPage {
    pub items: Vec<ReportOut>,
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ReportFormat {
    Md,
    Html,
    Pdf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ResumeFormat {
    Md,
    Html,
    Pdf,
    Docx,
    Json,
}

async fn report_of(db: &TenantDb, id: &str) -> ApiResult<store::ReportRow> {
    valid_id(id, "report")?;
    store::report(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("report"))
}

/// Owners, admins and the document's author may share or delete a document.
fn may_manage(p: &Principal, author: &str) -> ApiResult<()> {
    if p.role.can_manage_members() || p.user_id == author {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only its author, admins and owners can do that",
        ))
    }
}

async fn author_name(state: &AppState, user_id: &str) -> String {
    platform::user_by_id(state.store.platform(), user_id)
        .await
        .ok()
        .flatten()
        .map(|u| u.display_name)
        .unwrap_or_default()
}

fn report_meta(r: &store::ReportRow, author: String) -> ReportMeta {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
    ReportMeta {
        author,
        period: (d(&r.period_from), d(&r.period_to)),
        generated_at: r.updated_at,
        kind: match r.kind.as_str() {
            "standup" => docs::ReportKind::Standup,
            "weekly" => docs::ReportKind::Weekly,
            "custom" => docs::ReportKind::Custom,
            _ => docs::ReportKind::Status,
        },
    }
}

// ------------------------------------------------------------------ resume

#[derive(Object)]
pub struct ResumeOut {
    /// The resume as a JSON Resume document (jsonresume.org), your edits applied.
    #[oai(nullable)]
    pub resume: Option<serde_json::Value>,
    /// Your manual edits, kept across refreshes.
    #[oai(nullable)]
    pub manual: Option<serde_json::Value>,
    #[oai(nullable)]
    pub refreshed_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub updated_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub job_id: Option<String>,
}

impl ResumeOut {
    fn new(doc: serde_json::Value, row: store::ResumeRow) -> Self {
        Self {
            resume: Some(doc),
            manual: row.manual,
            refreshed_at: row.refreshed_at,
            updated_at: Some(row.updated_at),
            job_id: row.job_id,
        }
    }
}

async fn resume_doc(
    db: &TenantDb,
    user_id: &str,
) -> ApiResult<Option<(serde_json::Value, store::ResumeRow)>> {
    Ok(store::resume(db, user_id).await?.map(|row| {
        let generated = row
            .generated
            .clone()
            .unwrap_or_else(|| serde_json::json!({}));
        let merged = match &row.manual {
            Some(m) => agents::resume::merge_manual(generated, m),
            None => generated,
        };
        (merged, row)
    }))
}

// ------------------------------------------------------------------ share links

#[derive(Object)]
pub struct CreateShare {
    /// Hours until the link stops working (1–8,760; default 168 = a week).
    #[oai(validator(minimum(value = "1"), maximum(value = "8760")))]
    #[oai(nullable)]
    pub expires_in_hours: Option<u32>,
    /// Or an exact moment (in the future, within a year); wins over `expires_in_hours`.
    #[oai(nullable)]
    pub expires_at: Option<DateTime<Utc>>,
}

impl CreateShare {
    fn expiry(&self) -> ApiResult<DateTime<Utc>> {
        let now = Utc::now();
        match self.expires_at {
            Some(t) if t <= now => Err(ApiError::validation("expires_at must be in the future")),
            Some(t) if t > now + Duration::days(366) => {
                Err(ApiError::validation("expires_at must be within a year"))
            }
            Some(t) => Ok(t),
            None => Ok(now + Duration::hours(i64::from(self.expires_in_hours.unwrap_or(168)))),
        }
    }
}

#[derive(Object)]
pub struct ShareOut {
    pub id: String,
    /// `report` or `resume`.
    pub kind: String,
    pub doc_id: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[oai(nullable)]
    pub revoked_at: Option<DateTime<Utc>>,
    pub views: u64,
    #[oai(nullable)]
    pub last_viewed_at: Option<DateTime<Utc>>,
    /// `active`, `expired` or `revoked`.
    pub status: String,
}

impl From<store::ShareRow> for ShareOut {
    fn from(s: store::ShareRow) -> Self {
        let status = if s.revoked_at.is_some() {
            "revoked"
        } else if s.expires_at <= Utc::now() {
            "expired"
        } else {
            "active"
        };
        Self {
            id: s.id,
            kind: s.kind,
            doc_id: s.doc_id,
            created_by: s.created_by,
            created_at: s.created_at,
            expires_at: s.expires_at,
            revoked_at: s.revoked_at,
            views: s.views,
            last_viewed_at: s.last_viewed_at,
            status: status.into(),
        }
    }
}

/// A new link with its token (shown this once).
#[derive(Object)]
pub struct CreatedShare {
    #[oai(flatten)]
    pub link: ShareOut,
    pub token: String,
    /// The public page: `/api/share/{token}` (HTML; `?format=json` for JSON).
    pub url: String,
}

#[derive(ApiResponse)]
pub enum ShareCreated {
    /// Created; the token is in the body and will not be shown again.
    #[oai(status = 201)]
    Created(Json<CreatedShare>),
}

#[derive(Object)]
pub struct ShareList {
    pub items: Vec<ShareOut>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ShareFormat {
    Html,
    Json,
}

/// A shared document, as JSON.
#[derive(Object)]
pub struct SharedDocument {
    pub kind: String,
    pub title: String,
    /// Markdown (reports).
    #[oai(nullable)]
    pub markdown: Option<String>,
    /// JSON Resume (resumes).
    #[oai(nullable)]
    pub resume: Option<serde_json::Value>,
    pub expires_at: DateTime<Utc>,
    pub views: u64,
}

/// The shared document as a page, or as JSON with `format=json`.
pub enum SharedResponse {
    Html(Html<String>),
    Json(Json<SharedDocument>),
}

// Written by hand: the derive gives each variant its own "200" entry, which makes
// `openapi.json` repeat a key (JSON parsers keep one and generated clients lose the
// other). One 200 response with two media types is what the endpoint really does.
impl poem_openapi::ApiResponse for SharedResponse {
    fn meta() -> poem_openapi::registry::MetaResponses {
        use poem_openapi::payload::Payload;
        use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses};
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The shared document: an HTML page, or JSON with `format=json`.",
                status: Some(200),
                status_range: None,
                content: vec![
                    MetaMediaType {
                        content_type: Html::<String>::CONTENT_TYPE,
                        schema: Html::<String>::schema_ref(),
                    },
                    MetaMediaType {
                        content_type: Json::<SharedDocument>::CONTENT_TYPE,
                        schema: Json::<SharedDocument>::schema_ref(),
                    },
                ],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        use poem_openapi::payload::Payload;
        <Html<String> as Payload>::register(registry);
        <Json<SharedDocument> as Payload>::register(registry);
    }
}

impl poem::IntoResponse for SharedResponse {
    fn into_response(self) -> poem::Response {
        match self {
            SharedResponse::Html(h) => h.into_response(),
            SharedResponse::Json(j) => j.into_response(),
        }
    }
}

async fn create_share(
    state: &AppState,
    p: &Principal,
    kind: &str,
    doc_id: &str,
    expires_at: DateTime<Utc>,
) -> ApiResult<ShareCreated> {
    if state.settings.disable_sharing {
        return Err(ApiError::forbidden("sharing is disabled on this server"));
    }
    let token = crate::auth::new_share_token();
    let id = platform::new_id();
    let row = store::create_share(
        state.store.platform(),
        &store::NewShare {
            id: &id,
            token_hash: &crate::auth::sha256_hex(&token),
            tenant_id: &p.tenant_id(),
            kind,
            doc_id,
            created_by: &p.user_id,
            expires_at,
        },
    )
    .await?;
    Ok(ShareCreated::Created(Json(CreatedShare {
        url: format!("/api/share/{token}"),
        token,
        link: row.into(),
    })))
}

// ------------------------------------------------------------------ status bar

/// What the SPA's status bar shows.
#[derive(Object)]
pub struct StatusBar {
    /// Your workspace's jobs.
    pub jobs_running: u64,
    pub jobs_queued: u64,
    /// LLM tokens used this month by the workspace, and its monthly quota (0 = none).
    pub tokens_used: u64,
    pub token_quota: u64,
    pub llm_calls: u64,
    pub llm_provider: String,
    pub streak: u32,
    pub today_xp: u32,
    pub daily_xp_cap: u32,
    pub level: u32,
    pub quiet_mode: bool,
    /// The prepaid balance, when billing is on (it isn't on this server).
    #[oai(nullable)]
    pub balance: Option<f64>,
}

pub struct AiApi;

#[OpenApi]
impl AiApi {
    /// Analyse an entry: a short summary, suggested tags, the detected outcome, and hints
    /// to make it better. The result lands on the entry's `analysis`.
    #[oai(
        path = "/worklogs/:id/analyze",
        method = "post",
        operation_id = "worklog_analyze",
        tag = "Tag::Worklogs"
    )]
    async fn analyze(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The entry's id.
        id: Path<Id>,
    ) -> ApiResult<Accepted> {
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        valid_id(&id, "entry")?;
        let entry = worklogs::get(&db, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("entry"))?;
        // The analysis is written onto the entry: the same right as editing it.
        p.may_edit_content_of(&entry.author_id)?;
        let in_flight = ensure_llm_quota(&state, &db).await?;
        let payload = serde_json::json!({"entry_id": entry.id, "version": entry.version});
        let key = Some(format!("analyze:{}:v{}", entry.id, entry.version));
        Ok(Accepted::Accepted(Json(
            start_job(&state, p, "worklog.analyze", payload, key, in_flight).await?,
        )))
    }

    /// Find skills with evidence in your work log (all of it, or a period). New findings
    /// merge into your skills; your confirmations, rejections and renames stay.
    #[oai(
        path = "/skills/extract",
        method = "post",
        operation_id = "skills_extract",
        tag = "Tag::Skills"
    )]
    async fn extract(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        body: Json<ExtractSkills>,
    ) -> ApiResult<Accepted> {
        let p = &auth.0;
        let from = day("from", body.0.from.map(|d| d.0.into_string()))?;
        let to = day("to", body.0.to.map(|d| d.0.into_string()))?;
        if let (Some(a), Some(b)) = (from, to) {
            if a > b {
                return Err(ApiError::validation("from must not be after to"));
            }
        }
        let db = p.tenant_db(&state).await?;
        let in_flight = ensure_llm_quota(&state, &db).await?;
        let payload = serde_json::json!({"user_id": p.user_id, "from": from, "to": to});
        Ok(Accepted::Accepted(Json(
            start_job(&state, p, "skills.extract", payload, None, in_flight).await?,
        )))
    }

    /// Your skills (rejected ones only when asked for by `status`).
    #[oai(
        path = "/skills",
        method = "get",
        operation_id = "skills_list",
        tag = "Tag::Skills"
    )]
    async fn skills(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// Only skills with this review status.
        status: Query<Option<SkillStatus>>,
        /// Only skills of this category, e.g. `language`.
        category: Query<Option<String>>,
        /// `evidence` (default), `confidence` or `name`.
        sort: Query<Option<SkillSortParam>>,
    ) -> ApiResult<Json<SkillList>> {
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let sort = match sort.0.unwrap_or(SkillSortParam::Evidence) {
            SkillSortParam::Evidence => skills::SkillSort::Evidence,
            SkillSortParam::Confidence => skills::SkillSort::Confidence,
            SkillSortParam::Name => skills::SkillSort::Name,
        };
        let mut rows = skills::list(
            &db,
            &p.user_id,
            status.0.map(SkillStatus::as_str),
            category.0.as_deref().filter(|c| !c.is_empty()),
            sort,
        )
        .await?;
        if status.0.is_none() {
            rows.retain(|s| s.status != "rejected");
        }
        Ok(Json(SkillList {
            items: rows.into_iter().map(Into::into).collect(),
        }))
    }

    /// One skill with its evidence (the entries that show it, with quotes).
    #[oai(
        path = "/skills/:id",
        method = "get",
        operation_id = "skills_get",
        tag = "Tag::Skills"
    )]
    async fn skill(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The skill's id.
        id: Path<Id>,
    ) -> ApiResult<Json<SkillOut>> {
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let s = own_skill(&db, p, &id).await?;
        let mut evidence = Vec::new();
        for e in skills::evidence(&db, &s.id).await? {
            let entry = worklogs::get(&db, &e.entry_id).await?;
            evidence.push(EvidenceOut {
                entry_title: entry.as_ref().map(|x| x.title.clone()),
                entry_date: entry
                    .as_ref()
                    .and_then(|x| NaiveDate::parse_from_str(&x.date, "%Y-%m-%d").ok())
                    .map(Day::from),
                entry_id: e.entry_id,
                quote: e.quote,
            });
        }
        let mut out: SkillOut = s.into();
        out.evidence = Some(evidence);
        Ok(Json(out))
    }

    /// Rename, confirm, reject or recategorise a skill.
    #[oai(
        path = "/skills/:id",
        method = "patch",
        operation_id = "skills_update",
        tag = "Tag::Skills"
    )]
    async fn update_skill(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The skill's id.
        id: Path<Id>,
        body: Json<UpdateSkill>,
    ) -> ApiResult<Json<SkillOut>> {
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let s = own_skill(&db, p, &id).await?;
        let b = body.0;
        let name = b
            .name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        let key = name.as_deref().map(agents::taxonomy::normalize_skill_name);
        let row = skills::update(
            &db,
            &s.id,
            name.as_deref().zip(key.as_deref()),
            b.status.map(SkillStatus::as_str),
            b.category.as_deref().map(str::trim),
        )
        .await?
        .ok_or_else(|| ApiError::not_found("skill"))?;
        Ok(Json(row.into()))
    }

    /// Merge skills into one: evidence moves, names become aliases (so later extractions
    /// find the merged skill), the others disappear.
    #[oai(
        path = "/skills/merge",
        method = "post",
        operation_id = "skills_merge",
        tag = "Tag::Skills"
    )]
    async fn merge(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        body: Json<MergeSkills>,
    ) -> ApiResult<Json<SkillOut>> {
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let b = body.0;
        let target = own_skill(&db, p, &b.into).await?;
        let mut sources = Vec::new();
        for id in &b.ids {
            if **id == *target.id {
                continue;
            }
            sources.push(own_skill(&db, p, id).await?.id);
        }
        if sources.is_empty() {
            return Err(ApiError::validation(
                "name at least one other skill to merge",
            ));
        }
        skills::merge(&db, &target.id, &sources).await?;
        if let Some(name) = b
            .name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
        {
            let key = agents::taxonomy::normalize_skill_name(&name);
            skills::update(&db, &target.id, Some((&name, &key)), None, None).await?;
        }
        let row = skills::get(&db, &target.id)
            .await?
            .ok_or_else(|| ApiError::not_found("skill"))?;
        Ok(Json(row.into()))
    }

    /// Delete a skill and its evidence (a later extraction may find it again; reject it
    /// to keep it out).
    #[oai(
        path = "/skills/:id",
        method = "delete",
        operation_id = "skills_delete",
        tag = "Tag::Skills"
    )]
    async fn delete_skill(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The skill's id.
        id: Path<Id>,
    ) -> ApiResult<NoContent> {
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let s = own_skill(&db, p, &id).await?;
        skills::delete(&db, &s.id).await?;
        Ok(NoContent::Done)
    }

    /// Write a report from your entries in a period; every bullet cites its entries and
    /// citations are checked (ids outside the period or workspace are removed, bullets
    /// left without a citation dropped).
    #[oai(
        path = "/reports",
        method = "post",
        operation_id = "report_create",
        tag = "Tag::Reports"
    )]
    async fn create_report(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        body: Json<CreateReport>,
    ) -> ApiResult<ReportStarted> {
        let p = &auth.0;
        let b = body.0;
        let from = day("from", Some(b.from.0.into_string()))?
            .ok_or_else(|| ApiError::validation("from is required"))?;
        let to = day("to", Some(b.to.0.into_string()))?
            .ok_or_else(|| ApiError::validation("to is required"))?;
        if from > to {
            return Err(ApiError::validation("from must not be after to"));
        }
        if (to - from).num_days() > 366 {
            return Err(ApiError::validation("a report covers at most 366 days"));
        }
        let db = p.tenant_db(&state).await?;
        let in_flight = ensure_llm_quota(&state, &db).await?;
        let id = platform::new_id();
        let (from_s, to_s) = (from.to_string(), to.to_string());
        let audience = b
            .audience
            .map(Text::into_string)
            .filter(|s| !s.trim().is_empty());
        let instructions = b
            .instructions
            .map(Text::into_string)
            .filter(|s| !s.trim().is_empty());
        let row = store::create_report(
            &db,
            &store::NewReport {
                id: &id,
                author_id: &p.user_id,
                kind: b.kind.as_str(),
                from: &from_s,
                to: &to_s,
                audience: audience.as_deref(),
                instructions: instructions.as_deref(),
            },
        )
        .await?;
        let payload = serde_json::json!({
            "report_id": id, "author_id": p.user_id, "kind": b.kind.agent(),
            "from": from, "to": to, "audience": audience, "instructions": instructions,
        });
        let job = start_job(
            &state,
            p,
            "report.generate",
            payload,
            Some(format!("report:{id}")),
            in_flight,
        )
        .await?;
        store::set_report_job(&db, &id, &job.id).await?;
        let mut report: ReportOut = row.into();
        report.job_url = Some(job.url.clone());
        report.job_id = Some(job.id.clone());
        Ok(ReportStarted::Accepted(Json(ReportAccepted {
            report,
            job,
        })))
    }

    /// Your workspace's reports, newest first (`mine=true` for your own).
    #[oai(
        path = "/reports",
        method = "get",
        operation_id = "report_list",
        tag = "Tag::Reports"
    )]
    async fn reports(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// Only your own reports (default: every report you may see).
        mine: Query<Option<bool>>,
        /// The `next_cursor` of the previous page; omit for the first page.
        cursor: Query<Option<IdOrEmpty>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
    ) -> ApiResult<Json<ReportPage>> {
        let p = &auth.0;
        let (limit, cursor) =
            super::pagination::page(limit.0.map(Limit::into_inner), cursor.0.map(|c| c.0))?;
        let db = p.tenant_db(&state).await?;
        let author = mine.0.unwrap_or(false).then_some(p.user_id.as_str());
        let rows = store::reports(&db, author, cursor.as_deref(), limit + 1).await?;
        let (rows, next_cursor) = super::pagination::split(rows, limit, |r| r.id.clone());
        Ok(Json(ReportPage {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// One report: its Markdown, the cited entries (titles and days), and its job.
    #[oai(
        path = "/reports/:id",
        method = "get",
        operation_id = "report_get",
        tag = "Tag::Reports"
    )]
    async fn report(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The report's id.
        id: Path<Id>,
    ) -> ApiResult<Json<ReportOut>> {
        let db = auth.0.tenant_db(&state).await?;
        let r = report_of(&db, &id).await?;
        let mut citations = Vec::new();
        for (i, e) in r.citations.iter().enumerate() {
            let entry = worklogs::get(&db, e).await?;
            citations.push(Citation {
                number: u32::try_from(i + 1).unwrap_or(u32::MAX),
                entry_id: e.clone(),
                exists: entry.is_some(),
                title: entry.as_ref().map(|x| x.title.clone()),
                date: entry
                    .as_ref()
                    .and_then(|x| NaiveDate::parse_from_str(&x.date, "%Y-%m-%d").ok())
                    .map(Day::from),
            });
        }
        let mut out: ReportOut = r.into();
        out.citations = Some(citations);
        Ok(Json(out))
    }

    /// Delete a report (its share links stop working).
    #[oai(
        path = "/reports/:id",
        method = "delete",
        operation_id = "report_delete",
        tag = "Tag::Reports"
    )]
    async fn delete_report(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The report's id.
        id: Path<Id>,
    ) -> ApiResult<NoContent> {
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let r = report_of(&db, &id).await?;
        may_manage(p, &r.author_id)?;
        store::delete_report(&db, &r.id).await?;
        Ok(NoContent::Done)
    }

    /// Download a report as Markdown, HTML (standalone, print-ready) or PDF.
    #[oai(
        path = "/reports/:id/export",
        method = "get",
        operation_id = "report_export",
        tag = "Tag::Reports"
    )]
    async fn export_report(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The report's id.
        id: Path<Id>,
        /// `md` (default), `html` or `pdf`.
        format: Query<Option<ReportFormat>>,
    ) -> ApiResult<File<ReportTypes>> {
        let db = auth.0.tenant_db(&state).await?;
        let r = report_of(&db, &id).await?;
        let (Some(title), Some(md)) = (r.title.clone(), r.markdown.clone()) else {
            return Err(ApiError::conflict(format!(
                "the report is {}; nothing to export yet",
                r.status
            )));
        };
        let meta = report_meta(&r, author_name(&state, &r.author_id).await);
        let base = format!("report-{}", r.period_to);
        Ok(match format.0.unwrap_or(ReportFormat::Md) {
            ReportFormat::Md => file(
                docs::report_markdown(&title, &md, &meta).into_bytes(),
                "text/markdown; charset=utf-8",
                &format!("{base}.md"),
            ),
            ReportFormat::Html => file(
                docs::report_html(&title, &md, &meta, CssMode::Embedded).into_bytes(),
                "text/html; charset=utf-8",
                &format!("{base}.html"),
            ),
            ReportFormat::Pdf => file(
                docs::report_pdf(&title, &md, &meta).map_err(doc_error)?,
                "application/pdf",
                &format!("{base}.pdf"),
            ),
        })
    }

    /// Share a report: an unguessable public link, valid until it expires or is revoked.
    #[oai(
        path = "/reports/:id/share",
        method = "post",
        operation_id = "report_share",
        tag = "Tag::Reports"
    )]
    async fn share_report(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The report's id.
        id: Path<Id>,
        body: Json<CreateShare>,
    ) -> ApiResult<ShareCreated> {
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let r = report_of(&db, &id).await?;
        may_manage(p, &r.author_id)?;
        if r.status != "ready" {
            return Err(ApiError::conflict("only a finished report can be shared"));
        }
        create_share(&state, p, "report", &r.id, body.expiry()?).await
    }

    /// Rebuild your resume from your profile, entries and confirmed skills. Your manual
    /// edits are kept.
    #[oai(
        path = "/resume/refresh",
        method = "post",
        operation_id = "resume_refresh",
        tag = "Tag::Resume"
    )]
    async fn refresh(&self, state: Data<&Arc<AppState>>, auth: Writer) -> ApiResult<Accepted> {
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let in_flight = ensure_llm_quota(&state, &db).await?;
        let payload = serde_json::json!({"user_id": p.user_id});
        Ok(Accepted::Accepted(Json(
            start_job(&state, p, "resume.refresh", payload, None, in_flight).await?,
        )))
    }

    /// Your resume (JSON Resume), with your edits applied.
    #[oai(
        path = "/resume",
        method = "get",
        operation_id = "resume_get",
        tag = "Tag::Resume"
    )]
    async fn resume(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
    ) -> ApiResult<Json<ResumeOut>> {
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        Ok(Json(match resume_doc(&db, &p.user_id).await? {
            None => ResumeOut {
                resume: None,
                manual: None,
                refreshed_at: None,
                updated_at: None,
                job_id: None,
            },
            Some((doc, row)) => ResumeOut::new(doc, row),
        }))
    }

    /// Edit your resume: the body is a JSON Resume fragment (e.g. `{"basics":
    /// {"label": "Staff Engineer"}}`); it is merged into your earlier edits and wins
    /// over generated values on every refresh. `null` removes a field.
    #[oai(
        path = "/resume",
        method = "patch",
        operation_id = "resume_update",
        tag = "Tag::Resume"
    )]
    async fn edit_resume(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// A JSON Resume fragment: an object of top-level sections (`basics`, `work`,
        /// ...); `null` removes a section's manual edit.
        body: Json<AnyObject>,
    ) -> ApiResult<Json<ResumeOut>> {
        let p = &auth.0;
        let body = Json(body.0.into_inner());
        if !body.0.is_object() {
            return Err(ApiError::validation(
                "the body must be a JSON object (a JSON Resume fragment)",
            ));
        }
        if serde_json::to_vec(&body.0).map(|b| b.len()).unwrap_or(0) > 256 * 1024 {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                "resume edits are limited to 256 KiB",
            ));
        }
        const TOP: &[&str] = &[
            "basics",
            "work",
            "volunteer",
            "education",
            "awards",
            "certificates",
            "publications",
            "skills",
            "languages",
            "interests",
            "references",
            "projects",
        ];
        if let Some(bad) = body
            .0
            .as_object()
            .and_then(|o| o.keys().find(|k| !TOP.contains(&k.as_str())))
        {
            return Err(ApiError::validation(format!(
                "{bad:?} is not a JSON Resume section"
            )));
        }
        let db = p.tenant_db(&state).await?;
        let current = store::resume(&db, &p.user_id).await?.and_then(|r| r.manual);
        let manual = match current {
            Some(m) => agents::resume::merge_manual(m, &body.0),
            None => body.0,
        };
        store::set_manual(&db, &p.user_id, &manual).await?;
        let (doc, row) = resume_doc(&db, &p.user_id)
            .await?
            .ok_or_else(|| ApiError::internal("resume vanished"))?;
        Ok(Json(ResumeOut::new(doc, row)))
    }

    /// Download your resume: Markdown, HTML, PDF, DOCX or JSON Resume.
    #[oai(
        path = "/resume/export",
        method = "get",
        operation_id = "resume_export",
        tag = "Tag::Resume"
    )]
    async fn export_resume(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// `pdf` (default), `md`, `html`, `docx` or `json`.
        format: Query<Option<ResumeFormat>>,
    ) -> ApiResult<File<ResumeTypes>> {
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let (doc, _) = resume_doc(&db, &p.user_id)
            .await?
            .ok_or_else(|| ApiError::not_found("resume (run POST /api/resume/refresh first)"))?;
        Ok(match format.0.unwrap_or(ResumeFormat::Pdf) {
            ResumeFormat::Md => file(
                docs::resume_markdown(&doc).into_bytes(),
                "text/markdown; charset=utf-8",
                "resume.md",
            ),
            ResumeFormat::Html => file(
                docs::resume_html(&doc, CssMode::Embedded).into_bytes(),
                "text/html; charset=utf-8",
                "resume.html",
            ),
            ResumeFormat::Pdf => file(
                docs::resume_pdf(&doc).map_err(doc_error)?,
                "application/pdf",
                "resume.pdf",
            ),
            ResumeFormat::Docx => file(
                docs::resume_docx(&doc).map_err(doc_error)?,
                docs::DOCX_MIME,
                "resume.docx",
            ),
            ResumeFormat::Json => file(
                serde_json::to_vec_pretty(&doc).map_err(ApiError::internal)?,
                "application/json",
                "resume.json",
            ),
        })
    }

    /// Share your resume: an unguessable public link.
    #[oai(
        path = "/resume/share",
        method = "post",
        operation_id = "resume_share",
        tag = "Tag::Resume"
    )]
    async fn share_resume(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        body: Json<CreateShare>,
    ) -> ApiResult<ShareCreated> {
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        if resume_doc(&db, &p.user_id).await?.is_none() {
            return Err(ApiError::conflict("refresh your resume before sharing it"));
        }
        create_share(&state, p, "resume", &p.user_id, body.expiry()?).await
    }

    /// Your workspace's share links (admins and owners see all, members their own).
    #[oai(
        path = "/share-links",
        method = "get",
        operation_id = "share_list",
        tag = "Tag::Reports"
    )]
    async fn shares(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
    ) -> ApiResult<Json<ShareList>> {
        let p = &auth.0;
        let rows = store::shares(state.store.platform(), &p.tenant_id(), None).await?;
        Ok(Json(ShareList {
            items: rows
                .into_iter()
                .filter(|s| p.role.can_manage_members() || s.created_by == p.user_id)
                .map(Into::into)
                .collect(),
        }))
    }

    /// Revoke a share link: it answers 404 from now on.
    #[oai(
        path = "/share-links/:id",
        method = "delete",
        operation_id = "share_revoke",
        tag = "Tag::Reports"
    )]
    async fn revoke(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The share link's id.
        id: Path<Id>,
    ) -> ApiResult<NoContent> {
        let p = &auth.0;
        valid_id(&id, "share link")?;
        let db = state.store.platform();
        let link = store::share(db, &p.tenant_id(), &id)
            .await?
            .ok_or_else(|| ApiError::not_found("share link"))?;
        may_manage(p, &link.created_by)?;
        store::revoke_share(db, &p.tenant_id(), &link.id).await?;
        Ok(NoContent::Done)
    }

    /// A shared report or resume (public, no authentication). Expired, revoked and
    /// unknown links — and every link while sharing is disabled — answer 404. Each view
    /// is counted.
    #[oai(
        path = "/share/:token",
        method = "get",
        operation_id = "share_view",
        tag = "Tag::Reports"
    )]
    async fn view(
        &self,
        state: Data<&Arc<AppState>>,
        /// The share token from the link.
        token: Path<String>,
        /// `html` (default) or `json`.
        format: Query<Option<ShareFormat>>,
    ) -> ApiResult<SharedResponse> {
        let gone = || ApiError::not_found("shared document");
        if state.settings.disable_sharing || token.len() < 16 || token.len() > 128 {
            return Err(gone());
        }
        let link = store::open_share(state.store.platform(), &crate::auth::sha256_hex(&token))
            .await?
            .ok_or_else(gone)?;
        let tenant = uuid::Uuid::parse_str(&link.tenant_id).map_err(|_| gone())?;
        let db = state.store.tenant(TenantId(tenant)).await?;
        let json = format.0 == Some(ShareFormat::Json);
        match link.kind.as_str() {
            "report" => {
                let r = store::report(&db, &link.doc_id).await?.ok_or_else(gone)?;
                let (Some(title), Some(md)) = (r.title.clone(), r.markdown.clone()) else {
                    return Err(gone());
                };
                if json {
                    return Ok(SharedResponse::Json(Json(SharedDocument {
                        kind: "report".into(),
                        title,
                        markdown: Some(md),
                        resume: None,
                        expires_at: link.expires_at,
                        views: link.views,
                    })));
                }
                let meta = report_meta(&r, author_name(&state, &r.author_id).await);
                Ok(SharedResponse::Html(Html(docs::report_html(
                    &title,
                    &md,
                    &meta,
                    CssMode::Linked(DOCUMENT_CSS_PATH),
                ))))
            }
            _ => {
                let (doc, _) = resume_doc(&db, &link.doc_id).await?.ok_or_else(gone)?;
                if json {
                    let title = doc["basics"]["name"]
                        .as_str()
                        .unwrap_or("Resume")
                        .to_string();
                    return Ok(SharedResponse::Json(Json(SharedDocument {
                        kind: "resume".into(),
                        title,
                        markdown: None,
                        resume: Some(doc),
                        expires_at: link.expires_at,
                        views: link.views,
                    })));
                }
                Ok(SharedResponse::Html(Html(docs::resume_html(
                    &doc,
                    CssMode::Linked(DOCUMENT_CSS_PATH),
                ))))
            }
        }
    }

    /// The status bar: your workspace's jobs, LLM tokens this month, your streak and XP.
    #[oai(
        path = "/status/bar",
        method = "get",
        operation_id = "status_bar",
        tag = "Tag::Account"
    )]
    async fn status_bar(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
    ) -> ApiResult<Json<StatusBar>> {
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let (queued, running) = state.jobs.queue().active_counts(&p.tenant_id());
        let (tokens, calls) = crate::llm::usage_this_month(&db).await?;
        let g = crate::store::gamification::user(&db, &p.user_id).await?;
        let config = state.reward_config.get(state.store.platform()).await?;
        let s = crate::gamification::rules::summary(&config, &g.state, p.timezone, Utc::now());
        Ok(Json(StatusBar {
            jobs_running: running,
            jobs_queued: queued,
            tokens_used: tokens,
            token_quota: state.settings.quotas.llm_tokens_per_month,
            llm_calls: calls,
            llm_provider: state.llm.provider_name().into(),
            streak: s.streak.current,
            today_xp: s.entry_xp_today,
            daily_xp_cap: config.max_daily_xp,
            level: s.level.level,
            quiet_mode: g.quiet_mode,
            balance: None,
        }))
    }
}
