//! Evidence files on entries: uploads within the workspace's storage quota, downloads,
//! deletes.
//!
//! An upload is a short conversation between the API (which reads the multipart body)
//! and [`Upload`]: [`begin`] checks the entry, the caller's rights and slots and reserves
//! storage before a byte is read; [`Upload::store`] streams the file to the artifact
//! store, deciding its type from the first bytes; [`Upload::record`] records it on the
//! entry and queues the reward evaluation of the entry's new version. An object that
//! nothing records is deleted again ([`Upload::discard`], and `record` on failure).

use std::sync::{Arc, Mutex};

use crate::artifacts::{ArtifactError, Artifacts, Stored};
use crate::deps::Deps;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::identity::Principal;
use crate::slots::{Reservation, Slot};
use crate::store::worklogs::{self as repo, NewAttachment};
use crate::store::TenantDb;
use crate::worklog;

pub use crate::store::worklogs::AttachmentRow;

use super::worklogs::entry_in;

/// A file of the caller's workspace, by attachment id (404 otherwise).
async fn attachment_in(db: &TenantDb, id: &str) -> ApiResult<AttachmentRow> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ApiError::not_found("file"));
    }
    repo::attachment(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("file"))
}

/// An entry's attachments.
pub async fn of_entry(state: &Deps, p: &Principal, id: &str) -> ApiResult<Vec<AttachmentRow>> {
    let db = p.tenant_db(state).await?;
    let entry = entry_in(&db, id).await?;
    Ok(repo::attachments_of(&db, &entry.id).await?)
}

/// A file to send: its row and its bytes as a stream.
pub struct Download {
    pub attachment: AttachmentRow,
    pub body: futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>,
}

/// A file of the caller's workspace, to download.
pub async fn download(state: &Deps, p: &Principal, id: &str) -> ApiResult<Download> {
    let db = p.tenant_db(state).await?;
    let attachment = attachment_in(&db, id).await?;
    let body = state.artifacts.get_stream(&attachment.storage_key).await?;
    Ok(Download { attachment, body })
}

/// Deletes a file: its author's, or any as admin or owner.
pub async fn delete(state: &Deps, p: &Principal, id: &str) -> ApiResult<()> {
    let db = p.tenant_db(state).await?;
    let a = attachment_in(&db, id).await?;
    p.may_change(&a.author_id, "members can delete only their own files")?;
    if let Some(gone) = repo::remove_attachment(&db, &a.id).await? {
        if let Err(e) = state.artifacts.delete(&gone.storage_key).await {
            tracing::warn!(error = %e, key = gone.storage_key, "attachment object not removed");
        }
    }
    Ok(())
}

/// An upload in progress: it holds the caller's upload slot and the storage it may use.
pub struct Upload<'a> {
    state: &'a Deps,
    principal: &'a Principal,
    db: TenantDb,
    entry_id: String,
    /// This workspace's turn: reading the storage used and recording an attachment take
    /// it, so a reader sees either the reservation or the recorded bytes.
    turn: Arc<tokio::sync::Mutex<()>>,
    reserved: Reservation,
    _slot: Slot,
    attachment_id: String,
    key: String,
}

/// A file the artifact store holds for an [`Upload`], not yet on its entry.
pub struct StoredFile {
    filename: String,
    stored: Stored,
}

/// Starts an upload to entry `id`: the entry must be the caller's to change, they may
/// have `UPLOADS_PER_USER` uploads in progress, and the workspace must have storage left.
pub async fn begin<'a>(state: &'a Deps, p: &'a Principal, id: &str) -> ApiResult<Upload<'a>> {
    let db = p.tenant_db(state).await?;
    let entry = entry_in(&db, id).await?;
    p.may_edit_content_of(&entry.author_id)?;
    let q = &state.settings.quotas;
    let slot = state
        .uploads
        .acquire(
            &[(format!("user {}", p.user_id), q.uploads_per_user)],
            "uploads in progress",
        )
        .map_err(|m| ApiError::new(ErrorCode::RateLimited, m))?;
    // Reserved before a byte is written, and held until the attachment row counts in
    // `used`: concurrent uploads share the room instead of each seeing all of it.
    let tenant = p.tenant_id();
    let turn = state.storage.turn(&tenant);
    let reserved = {
        let _turn = turn.lock().await;
        let used = repo::storage_used(&db).await?;
        let room = q.tenant_storage_bytes.saturating_sub(used);
        state.storage.reserve(&tenant, room, q.attachment_max_bytes)
    };
    let Some(reserved) = reserved else {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "your workspace has used its {} bytes of storage (uploads in progress included); delete attachments to make room",
                q.tenant_storage_bytes
            ),
        ));
    };
    let attachment_id = crate::store::platform::new_id();
    let key = Artifacts::key(p.tenant, "attachments", &attachment_id);
    Ok(Upload {
        state,
        principal: p,
        db,
        entry_id: entry.id,
        turn,
        reserved,
        _slot: slot,
        attachment_id,
        key,
    })
}

impl Upload<'_> {
    /// Streams the file to the artifact store within the reserved room, its type decided
    /// from its first bytes and `file_name` (made safe here).
    pub async fn store(
        &self,
        file_name: Option<&str>,
        body: impl tokio::io::AsyncRead + Unpin + Send,
    ) -> ApiResult<StoredFile> {
        let q = &self.state.settings.quotas;
        let limit = self.reserved.amount();
        let filename = worklog::safe_filename(file_name.unwrap_or("attachment"));
        let sniff_name = filename.clone();
        let sniffed = Arc::new(Mutex::new(None));
        let sniffed_out = sniffed.clone();
        let stored = self
            .state
            .artifacts
            .put_stream(&self.key, body, limit, move |head| {
                let s = worklog::sniff(head, &sniff_name).map_err(|r| r.reason)?;
                let mime = s.mime.to_string();
                if let Ok(mut slot) = sniffed_out.lock() {
                    *slot = Some(s);
                }
                Ok(mime)
            })
            .await
            .map_err(|e| match e {
                ArtifactError::TooLarge { .. } if limit < q.attachment_max_bytes => ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!(
                        "the file would exceed your workspace's {} bytes of storage",
                        q.tenant_storage_bytes
                    ),
                ),
                e => e.into(),
            })?;
        let filename = match sniffed.lock().ok().and_then(|s| *s) {
            Some(s) => worklog::download_filename(&filename, &s),
            None => filename,
        };
        Ok(StoredFile { filename, stored })
    }

    /// Deletes a stored file that will not be recorded (the request turned out malformed).
    pub async fn discard(self, _file: StoredFile) {
        let _ = self.state.artifacts.delete(&self.key).await;
    }

    /// Records the file on its entry and queues the reward evaluation of the entry's new
    /// version. If the entry went away meanwhile, the object is deleted and the answer is
    /// 404: nothing may point at it, so it must not outlive this upload.
    pub async fn record(self, file: StoredFile) -> ApiResult<AttachmentRow> {
        let p = self.principal;
        let new = NewAttachment {
            id: &self.attachment_id,
            entry_id: &self.entry_id,
            author_id: &p.user_id,
            filename: &file.filename,
            content_type: &file.stored.content_type,
            size: file.stored.size,
            sha256: &file.stored.sha256,
            storage_key: &self.key,
        };
        let added = {
            let _turn = self.turn.lock().await;
            repo::add_attachment(&self.db, &new).await
        };
        let (attachment, entry) = match added {
            Ok(Some(added)) => added,
            other => {
                let _ = self.state.artifacts.delete(&self.key).await;
                return Err(match other {
                    Err(e) => e.into(),
                    _ => ApiError::not_found("entry"),
                });
            }
        };
        drop(self.reserved);
        super::worklogs::queue_reward(self.state, p, &entry).await;
        Ok(attachment)
    }
}
