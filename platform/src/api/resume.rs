//! The resume: generated from skills and the work log (a job), edited by hand, exported, shared.

use super::download::{File, ResumeTypes};
use super::schema::AnyObject;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};

use super::security::{Authenticated, Writer};
use super::Tag;
use crate::agents;
use crate::documents::{self as docs, CssMode};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;
use crate::store::{documents as store, TenantDb};

use super::ai::{doc_error, ensure_llm_quota, file, start_job, Accepted};
use super::shares::{create_share, CreateShare, ShareCreated};

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

pub(super) async fn resume_doc(
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ResumeFormat {
    Md,
    Html,
    Pdf,
    Docx,
    Json,
}

pub struct ResumeApi;

#[OpenApi]
impl ResumeApi {
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
        let body = body.0.into_inner();
        if !body.is_object() {
            return Err(ApiError::validation(
                "the body must be a JSON object (a JSON Resume fragment)",
            ));
        }
        if serde_json::to_vec(&body).map(|b| b.len()).unwrap_or(0) > 256 * 1024 {
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
            Some(m) => agents::resume::merge_manual(m, &body),
            None => body,
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
}
