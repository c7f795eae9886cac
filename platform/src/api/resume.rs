//! The resume: generated from skills and the work log (a job), edited by hand, exported, shared.

use super::download::{File, ResumeTypes};
use super::schema::AnyObject;
use std::sync::Arc;

use crate::documents::ResumeTemplate;
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};

use super::security::{Authenticated, Writer};
use super::Tag;
use crate::error::ApiResult;
use crate::services::resume::{self as service, ExportFormat, ResumeRow};
use crate::state::AppState;

use super::ai::{accepted, file, Accepted};
use super::shares::{created, CreateShare, ShareCreated};

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
    fn new(doc: serde_json::Value, row: ResumeRow) -> Self {
        Self {
            resume: Some(doc),
            manual: row.manual,
            refreshed_at: row.refreshed_at,
            updated_at: Some(row.updated_at),
            job_id: row.job_id,
        }
    }
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

impl From<ResumeFormat> for ExportFormat {
    fn from(f: ResumeFormat) -> Self {
        match f {
            ResumeFormat::Md => ExportFormat::Md,
            ResumeFormat::Html => ExportFormat::Html,
            ResumeFormat::Pdf => ExportFormat::Pdf,
            ResumeFormat::Docx => ExportFormat::Docx,
            ResumeFormat::Json => ExportFormat::Json,
        }
    }
}

/// A resume's print template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ResumeTemplateParam {
    Classic,
    Compact,
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
        accepted(&state, service::refresh(&state, &auth.0).await?)
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
        Ok(Json(match service::get(&state, &auth.0).await? {
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
        let (doc, row) = service::edit(&state, &auth.0, body.0.into_inner()).await?;
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
        /// The print template: `classic` (default, everything) or `compact` (one page:
        /// three highlights per role, skills on one line). JSON is always the whole
        /// resume.
        template: Query<Option<ResumeTemplateParam>>,
    ) -> ApiResult<File<ResumeTypes>> {
        let format = format.0.unwrap_or(ResumeFormat::Pdf).into();
        let template = match template.0.unwrap_or(ResumeTemplateParam::Classic) {
            ResumeTemplateParam::Classic => ResumeTemplate::Classic,
            ResumeTemplateParam::Compact => ResumeTemplate::Compact,
        };
        Ok(file(
            service::export(&state, &auth.0, format, template).await?,
        ))
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
        let expiry = body.expiry();
        Ok(created(service::share(&state, &auth.0, expiry).await?))
    }
}
