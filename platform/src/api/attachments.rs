//! `/api/worklogs/{id}/attachments`, `/api/artifacts`: the evidence files attached to
//! an entry.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem::Body;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::download::{AttachmentTypes, File};
use super::me::NoContent;
use super::multipart::MultipartUpload;
use super::schema::Id;
use super::security::{Authenticated, Writer};
use super::Tag;
use crate::error::ApiResult;
use crate::services::attachments::{self, AttachmentRow};
use crate::state::AppState;
use crate::worklog;

/// An evidence file attached to an entry.
#[derive(Object)]
pub struct AttachmentOut {
    pub id: String,
    pub entry_id: String,
    pub author_id: String,
    pub filename: String,
    /// Decided from the file's bytes, not from what the client said.
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    pub download_url: String,
}

impl From<AttachmentRow> for AttachmentOut {
    fn from(a: AttachmentRow) -> Self {
        Self {
            download_url: format!("/api/artifacts/{}/download", a.id),
            id: a.id,
            entry_id: a.entry_id,
            author_id: a.author_id,
            filename: a.filename,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
            created_at: a.created_at,
        }
    }
}

#[derive(Object)]
pub struct AttachmentList {
    pub items: Vec<AttachmentOut>,
}

#[derive(ApiResponse)]
pub enum CreatedAttachment {
    /// Stored.
    #[oai(status = 201)]
    Created(Json<AttachmentOut>),
}

pub struct AttachmentsApi;

#[OpenApi(tag = "Tag::Worklogs")]
impl AttachmentsApi {
    /// Attach an evidence file (multipart field `file`). The type is decided from the
    /// bytes: images, PDF, plain text and Markdown, office documents. Queues the reward
    /// evaluation of the entry's new version.
    #[oai(
        path = "/worklogs/:id/attachments",
        method = "post",
        operation_id = "attachment_upload"
    )]
    async fn upload(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The entry's id.
        id: Path<Id>,
        body: MultipartUpload,
    ) -> ApiResult<CreatedAttachment> {
        let upload = attachments::begin(&state, &auth.0, &id).await?;
        let mut body = body;
        let field = body.file().await?;
        let name = field.file_name().map(str::to_string);
        let read = Box::pin(field.into_async_read());
        let stored = match upload.store(name.as_deref(), read).await {
            Ok(stored) => stored,
            Err(e) => {
                body.drain().await;
                return Err(e);
            }
        };
        if let Err(e) = body.end().await {
            upload.discard(stored).await;
            return Err(e);
        }
        let attachment = upload.record(stored).await?;
        Ok(CreatedAttachment::Created(Json(attachment.into())))
    }

    /// An entry's attachments.
    #[oai(
        path = "/worklogs/:id/attachments",
        method = "get",
        operation_id = "attachment_list"
    )]
    async fn attachments(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The entry's id.
        id: Path<Id>,
    ) -> ApiResult<Json<AttachmentList>> {
        let rows = attachments::of_entry(&state, &auth.0, &id).await?;
        Ok(Json(AttachmentList {
            items: rows.into_iter().map(Into::into).collect(),
        }))
    }

    /// Download a file (as an attachment, with its stored type).
    #[oai(
        path = "/artifacts/:id/download",
        method = "get",
        operation_id = "artifact_download"
    )]
    async fn download(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The attachment's id (from its `download_url`).
        id: Path<Id>,
    ) -> ApiResult<File<AttachmentTypes>> {
        let attachments::Download {
            attachment: a,
            body,
        } = attachments::download(&state, &auth.0, &id).await?;
        // Text is served with its charset so browsers don't guess one.
        let content_type = if a.content_type.starts_with("text/") {
            format!("{}; charset=utf-8", a.content_type)
        } else {
            a.content_type
        };
        Ok(File::new(
            Body::from_bytes_stream(body),
            &content_type,
            worklog::content_disposition(&a.filename),
        ))
    }

    /// Delete a file.
    #[oai(
        path = "/artifacts/:id",
        method = "delete",
        operation_id = "artifact_delete"
    )]
    async fn delete_artifact(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The attachment's id (from its `download_url`).
        id: Path<Id>,
    ) -> ApiResult<NoContent> {
        attachments::delete(&state, &auth.0, &id).await?;
        Ok(NoContent::Done)
    }
}
