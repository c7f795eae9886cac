//! The artifact store (evidence attachments, generated documents) on OpenDAL: the local
//! file system by default (`fs` at `DATA_DIR/artifacts`), any S3-compatible service
//! when the `MINIO_*` variables are set (path-style addressing, so MinIO works).
//!
//! Keys are tenant-prefixed (`t/<tenant>/<kind>/<id>`), built only here from a
//! [`TenantId`], so one tenant's objects can't be addressed through another's records.
//! Uploads are streamed: bytes are hashed, counted and written chunk by chunk and never
//! held whole in memory; an upload that exceeds its limit or fails midway is aborted and
//! its object removed, so no metadata can ever point at a missing or partial object.

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::config::ArtifactsConfig;
use crate::store::TenantId;

/// How many bytes of an upload are inspected to decide its type. Old Office files keep
/// their directory somewhere inside, so the head is generous; it is the only part of an
/// upload ever held in memory at once.
pub const SNIFF_BYTES: usize = 1024 * 1024;
const CHUNK: usize = 256 * 1024;

/// Artifact store failures.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("the upload is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the upload is empty")]
    Empty,
    #[error("{0}")]
    Rejected(String),
    #[error("reading the upload failed: {0}")]
    Client(String),
    #[error("no such object")]
    NotFound,
    #[error("storage: {0}")]
    Storage(String),
}

impl From<opendal::Error> for ArtifactError {
    fn from(e: opendal::Error) -> Self {
        if e.kind() == opendal::ErrorKind::NotFound {
            ArtifactError::NotFound
        } else {
            ArtifactError::Storage(e.to_string())
        }
    }
}

/// Checks, chunk by chunk, that a stream is UTF-8 text without NUL bytes.
#[derive(Default)]
struct TextCheck {
    /// The bytes of a character split across chunks.
    carry: Vec<u8>,
}

impl TextCheck {
    fn feed(&mut self, chunk: &[u8]) -> Result<(), String> {
        if chunk.contains(&0) {
            return Err("the file is not plain text (it contains NUL bytes)".into());
        }
        let mut bytes = std::mem::take(&mut self.carry);
        bytes.extend_from_slice(chunk);
        match std::str::from_utf8(&bytes) {
            Ok(_) => Ok(()),
            // An incomplete character at the end continues in the next chunk.
            Err(e) if e.error_len().is_none() => {
                self.carry = bytes[e.valid_up_to()..].to_vec();
                Ok(())
            }
            Err(_) => Err("the file is not valid UTF-8 text".into()),
        }
    }

    fn finish(&self) -> Result<(), String> {
        if self.carry.is_empty() {
            Ok(())
        } else {
            Err("the file ends in the middle of a UTF-8 character".into())
        }
    }
}

/// A stored object's facts.
#[derive(Debug, Clone)]
pub struct Stored {
    pub size: u64,
    pub sha256: String,
    pub content_type: String,
}

/// The store.
#[derive(Clone)]
pub struct Artifacts {
    op: opendal::Operator,
    backend: &'static str,
}

impl Artifacts {
    /// Builds the operator for the configured backend.
    pub fn from_config(cfg: &ArtifactsConfig) -> anyhow::Result<Self> {
        match cfg {
            ArtifactsConfig::Fs { root } => {
                std::fs::create_dir_all(root).map_err(|e| {
                    anyhow::anyhow!("cannot create artifact directory {}: {e}", root.display())
                })?;
                let root = std::fs::canonicalize(root)?;
                let builder = opendal::services::Fs::default().root(&root.to_string_lossy());
                Ok(Self {
                    op: opendal::Operator::new(builder)?,
                    backend: "fs",
                })
            }
            ArtifactsConfig::S3 {
                endpoint,
                bucket,
                access_key,
                secret_key,
                region,
            } => {
                let builder = opendal::services::S3::default()
                    .endpoint(endpoint)
                    .bucket(bucket)
                    .access_key_id(access_key)
                    .secret_access_key(secret_key)
                    .region(region)
                    .root("/");
                Ok(Self {
                    op: opendal::Operator::new(builder)?,
                    backend: "s3",
                })
            }
        }
    }

    /// `fs` or `s3`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// The key of an object of `tenant`.
    pub fn key(tenant: TenantId, kind: &str, id: &str) -> String {
        format!("t/{}/{kind}/{id}", tenant.0.simple())
    }

    /// Streams `reader` into `key`. `accept` sees the first bytes (up to
    /// [`SNIFF_BYTES`]) and returns the content type to store, or rejects the upload
    /// before anything is written. More than `limit` bytes abort the upload.
    pub async fn put_stream<R, F>(
        &self,
        key: &str,
        mut reader: R,
        limit: u64,
        accept: F,
    ) -> Result<Stored, ArtifactError>
    where
        R: AsyncRead + Unpin + Send,
        F: FnOnce(&[u8]) -> Result<String, String>,
    {
        // Sniff first: nothing is written for a rejected upload.
        let mut head = vec![0u8; SNIFF_BYTES];
        let mut filled = 0;
        while filled < head.len() {
            let n = reader
                .read(&mut head[filled..])
                .await
                .map_err(|e| ArtifactError::Client(e.to_string()))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        head.truncate(filled);
        if head.is_empty() {
            return Err(ArtifactError::Empty);
        }
        if head.len() as u64 > limit {
            return Err(ArtifactError::TooLarge { limit });
        }
        let content_type = accept(&head).map_err(ArtifactError::Rejected)?;
        // The head decided "text"; the rest must be text too.
        let mut text = content_type.starts_with("text/").then(TextCheck::default);
        if let Some(t) = text.as_mut() {
            t.feed(&head).map_err(ArtifactError::Rejected)?;
        }
        let mut writer = self
            .op
            .writer_with(key)
            .content_type(&content_type)
            .chunk(8 * 1024 * 1024)
            .await?;
        let result = async {
            let mut hasher = Sha256::new();
            let mut size = head.len() as u64;
            hasher.update(&head);
            writer.write(head).await?;
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = reader
                    .read(&mut buf)
                    .await
                    .map_err(|e| ArtifactError::Client(e.to_string()))?;
                if n == 0 {
                    break;
                }
                size += n as u64;
                if size > limit {
                    return Err(ArtifactError::TooLarge { limit });
                }
                if let Some(t) = text.as_mut() {
                    t.feed(&buf[..n]).map_err(ArtifactError::Rejected)?;
                }
                hasher.update(&buf[..n]);
                writer.write(buf[..n].to_vec()).await?;
            }
            if let Some(t) = text.as_ref() {
                t.finish().map_err(ArtifactError::Rejected)?;
            }
            writer.close().await?;
            Ok(Stored {
                size,
                sha256: hex::encode(hasher.finalize()),
                content_type: content_type.clone(),
            })
        }
        .await;
        if result.is_err() {
            // Best effort: abort the multipart upload (s3) and remove anything written.
            let _ = writer.abort().await;
            let _ = self.op.delete(key).await;
        }
        result
    }

    /// The object's bytes as a stream.
    pub async fn get_stream(
        &self,
        key: &str,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>, ArtifactError> {
        let reader = self.op.reader_with(key).chunk(CHUNK).await?;
        let stream = reader.into_bytes_stream(..).await?;
        Ok(stream.boxed())
    }

    /// Removes an object; a missing one is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), ArtifactError> {
        match self.op.delete(key).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether an object exists.
    pub async fn exists(&self, key: &str) -> Result<bool, ArtifactError> {
        Ok(self.op.exists(key).await?)
    }

    /// Readiness: writes, reads back and removes a small probe object.
    pub async fn ping(&self) -> Result<(), ArtifactError> {
        let key = format!("health/probe-{}", uuid::Uuid::new_v4().simple());
        self.op.write(&key, b"ok".to_vec()).await?;
        let back = self.op.read(&key).await?.to_vec();
        self.op.delete(&key).await?;
        if back != b"ok" {
            return Err(ArtifactError::Storage(
                "probe object read back wrong".into(),
            ));
        }
        Ok(())
    }
}
