//! What the AI endpoints share (skills, reports, resume, share links, the entry
//! analysis): the answers they give and the parsing of their dates. Everything AI runs as
//! a job: the endpoints that start work answer 202 with the job. The use cases are in
//! [`crate::services`] (the LLM quota and the enqueueing in [`crate::services::ai`]).

use super::download::File;

use chrono::NaiveDate;
use poem_openapi::payload::Json;
use poem_openapi::ApiResponse;

use super::jobs::JobAccepted;
use crate::error::{ApiError, ApiResult};
use crate::jobs::queue::Enqueued;
use crate::services::ai::Rendered;
use crate::state::AppState;

/// Where the SPA and share pages load the document stylesheet from.
pub const DOCUMENT_CSS_PATH: &str = "/assets/documents.css";

/// The 202 for a job a service started.
pub(super) fn accepted(state: &AppState, outcome: Enqueued) -> ApiResult<Accepted> {
    Ok(Accepted::Accepted(Json(JobAccepted::from_outcome(
        state, outcome,
    )?)))
}

pub(super) fn day(name: &str, v: Option<String>) -> ApiResult<Option<NaiveDate>> {
    match v {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ApiError::validation(format!("{name} must be a date like 2026-11-22"))),
    }
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// Accepted: the job runs in the background; follow `url` or `events_url`.
    #[oai(status = 202)]
    Accepted(Json<JobAccepted>),
}

/// A rendered document as a download (its name in `Content-Disposition`).
pub(super) fn file<M>(r: Rendered) -> File<M> {
    File::new(
        r.bytes,
        r.content_type,
        crate::worklog::content_disposition(&r.file_name),
    )
}
