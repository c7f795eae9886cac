//! The caller's resume: generated from skills and the work log (a job), edited by hand,
//! exported, shared. A resume is its user's alone: every use case here acts on `p`'s.

use serde_json::Value;

use super::ai::{start, Rendered};
use super::shares::{Expiry, NewLink};
use crate::agents;
use crate::deps::Deps;
use crate::documents::{self as docs, CssMode};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::identity::Principal;
use crate::jobs::queue::Enqueued;
use crate::store::{documents as store, TenantDb};
use crate::workflows::ai::ResumePayload;
use crate::worklog;

pub use crate::store::documents::ResumeRow;

/// The top-level sections of a JSON Resume: the only keys an edit may have.
const SECTIONS: &[&str] = &[
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

/// The most an edit may weigh, serialized.
const MAX_EDIT_BYTES: usize = 256 * 1024;

/// Starts rebuilding `p`'s resume from their profile, entries and confirmed skills
/// (their manual edits are kept).
pub async fn refresh(state: &Deps, p: &Principal) -> ApiResult<Enqueued> {
    let db = p.tenant_db(state).await?;
    let payload = ResumePayload {
        user_id: p.user_id.clone(),
    };
    start(state, p, &db, &payload, None).await
}

/// `p`'s resume (JSON Resume, their edits applied) and its row; `None` before the first
/// refresh.
pub async fn get(state: &Deps, p: &Principal) -> ApiResult<Option<(Value, ResumeRow)>> {
    let db = p.tenant_db(state).await?;
    merged_resume(&db, &p.user_id).await
}

/// Merges `fragment` (a JSON Resume fragment: an object of top-level sections, `null`
/// removing a section's edit) into `p`'s earlier edits, which win over generated values
/// on every refresh; returns the resume as it is now.
pub async fn edit(state: &Deps, p: &Principal, fragment: Value) -> ApiResult<(Value, ResumeRow)> {
    let Some(sections) = fragment.as_object() else {
        return Err(ApiError::validation(
            "the body must be a JSON object (a JSON Resume fragment)",
        ));
    };
    if serde_json::to_vec(&fragment).map(|b| b.len()).unwrap_or(0) > MAX_EDIT_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            "resume edits are limited to 256 KiB",
        ));
    }
    if let Some(bad) = sections.keys().find(|k| !SECTIONS.contains(&k.as_str())) {
        return Err(ApiError::validation(format!(
            "{bad:?} is not a JSON Resume section"
        )));
    }
    let db = p.tenant_db(state).await?;
    let current = store::resume(&db, &p.user_id).await?.and_then(|r| r.manual);
    let manual = match current {
        Some(m) => agents::resume::merge_edits(m, &fragment),
        None => fragment,
    };
    store::set_manual(&db, &p.user_id, &manual).await?;
    merged_resume(&db, &p.user_id)
        .await?
        .ok_or_else(|| ApiError::internal("resume vanished"))
}

/// The formats a resume is exported in.
#[derive(Debug, Clone, Copy)]
pub enum ExportFormat {
    Md,
    Html,
    Pdf,
    Docx,
    Json,
}

/// `p`'s resume rendered for download in a print template (JSON is always the whole
/// resume).
pub async fn export(
    state: &Deps,
    p: &Principal,
    format: ExportFormat,
    template: docs::ResumeTemplate,
) -> ApiResult<Rendered> {
    let db = p.tenant_db(state).await?;
    let (whole, _) = merged_resume(&db, &p.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("resume (run POST /api/resume/refresh first)"))?;
    let doc = match format {
        ExportFormat::Json => whole.clone(),
        _ => docs::apply_template(&whole, template),
    };
    // `resume-dana-reyes-2026-12-01.pdf`: whose, and as of which day (the owner's).
    let name = doc["basics"]["name"].as_str().unwrap_or_default();
    let today = super::worklogs::today_for(p).to_string();
    let rendered = |bytes, content_type, extension: &str| {
        let file_name = worklog::document_filename(&["resume", name, &today], extension);
        Rendered::new(bytes, content_type, file_name)
    };
    Ok(match format {
        ExportFormat::Md => rendered(
            docs::resume_markdown(&doc).into_bytes(),
            "text/markdown; charset=utf-8",
            "md",
        ),
        ExportFormat::Html => rendered(
            docs::resume_html_as(&whole, CssMode::Embedded, template).into_bytes(),
            "text/html; charset=utf-8",
            "html",
        ),
        ExportFormat::Pdf => rendered(docs::resume_pdf(&doc)?, "application/pdf", "pdf"),
        ExportFormat::Docx => rendered(docs::resume_docx(&doc)?, docs::DOCX_MIME, "docx"),
        ExportFormat::Json => rendered(
            serde_json::to_vec_pretty(&doc).map_err(ApiError::internal)?,
            "application/json",
            "json",
        ),
    })
}

/// Shares `p`'s resume until `expiry` (once there is one).
pub async fn share(state: &Deps, p: &Principal, expiry: Expiry) -> ApiResult<NewLink> {
    let db = p.tenant_db(state).await?;
    if merged_resume(&db, &p.user_id).await?.is_none() {
        return Err(ApiError::conflict("refresh your resume before sharing it"));
    }
    super::shares::create(state, p, "resume", &p.user_id, expiry).await
}

/// The resume of `user_id` as shown: the generated one with their edits merged in.
pub(super) async fn merged_resume(
    db: &TenantDb,
    user_id: &str,
) -> ApiResult<Option<(Value, ResumeRow)>> {
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
