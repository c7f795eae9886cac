//! Share links: an unguessable public link to a report or a resume, valid until it
//! expires or is revoked; and opening one (no caller: the token is the credential).

use chrono::{DateTime, Duration, Utc};

use super::reports::{author_name, report_meta};
use super::resume::merged_resume;
use crate::deps::Deps;
use crate::documents::{self as docs, CssMode};
use crate::error::{ApiError, ApiResult};
use crate::identity::credentials::{new_share_token, sha256_hex};
use crate::identity::Principal;
use crate::store::{documents as store, platform};

pub use crate::store::documents::ShareRow;

use super::ai::valid_id;

/// A new link with its token (which is stored only as a hash, so this is its one
/// showing).
pub struct NewLink {
    pub link: ShareRow,
    pub token: String,
}

/// When a new link stops working: at an exact moment (in the future, within a year),
/// or some hours from now (a week when neither is given).
#[derive(Debug, Clone, Copy, Default)]
pub struct Expiry {
    pub at: Option<DateTime<Utc>>,
    pub in_hours: Option<u32>,
}

impl Expiry {
    fn moment(self) -> ApiResult<DateTime<Utc>> {
        let now = Utc::now();
        match self.at {
            Some(t) if t <= now => Err(ApiError::validation("expires_at must be in the future")),
            Some(t) if t > now + Duration::days(366) => {
                Err(ApiError::validation("expires_at must be within a year"))
            }
            Some(t) => Ok(t),
            None => Ok(now + Duration::hours(i64::from(self.in_hours.unwrap_or(168)))),
        }
    }
}

/// Shares document `doc_id` of `kind` (`report` or `resume`) until `expiry`. The
/// caller has checked that `p` may share it.
pub(super) async fn create(
    state: &Deps,
    p: &Principal,
    kind: &str,
    doc_id: &str,
    expiry: Expiry,
) -> ApiResult<NewLink> {
    let expires_at = expiry.moment()?;
    if state.settings.disable_sharing {
        return Err(ApiError::forbidden("sharing is disabled on this server"));
    }
    let token = new_share_token();
    let id = platform::new_id();
    let link = store::create_share(
        state.store.platform(),
        &store::NewShare {
            id: &id,
            token_hash: &sha256_hex(&token),
            tenant_id: p.tenant,
            kind,
            doc_id,
            created_by: &p.user_id,
            expires_at,
        },
    )
    .await?;
    Ok(NewLink { link, token })
}

/// The workspace's links that `p` may manage (admins and owners: all; members: their
/// own), newest first.
pub async fn list(state: &Deps, p: &Principal) -> ApiResult<Vec<ShareRow>> {
    let rows = store::shares(state.store.platform(), p.tenant, None).await?;
    Ok(rows
        .into_iter()
        .filter(|s| p.may_manage(&s.created_by).is_ok())
        .collect())
}

/// Revokes link `id`: it opens nothing from now on.
pub async fn revoke(state: &Deps, p: &Principal, id: &str) -> ApiResult<()> {
    valid_id(id, "share link")?;
    let db = state.store.platform();
    let link = store::share(db, p.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("share link"))?;
    p.may_manage(&link.created_by)?;
    store::revoke_share(db, p.tenant, &link.id).await?;
    Ok(())
}

/// How a shared document is wanted.
#[derive(Debug, Clone, Copy)]
pub enum Rendering<'a> {
    /// An HTML page that links the document stylesheet served at this path.
    Page { stylesheet: &'a str },
    /// The document's data.
    Data,
}

/// A shared document, opened.
pub enum Shared {
    /// The HTML page.
    Page(String),
    Data(SharedData),
}

/// A shared document's data.
pub struct SharedData {
    /// `report` or `resume`.
    pub kind: &'static str,
    pub title: String,
    /// Markdown (reports).
    pub markdown: Option<String>,
    /// JSON Resume (resumes).
    pub resume: Option<serde_json::Value>,
    pub expires_at: DateTime<Utc>,
    pub views: u64,
}

/// Opens the document behind a share token, counting the view. Expired, revoked and
/// unknown links, links to documents gone or not finished, and every link while sharing
/// is disabled are all the same not found: a token holder learns nothing more.
pub async fn open(state: &Deps, token: &str, rendering: Rendering<'_>) -> ApiResult<Shared> {
    let gone = || ApiError::not_found("shared document");
    if state.settings.disable_sharing || token.len() < 16 || token.len() > 128 {
        return Err(gone());
    }
    let link = store::open_share(state.store.platform(), &sha256_hex(token), Utc::now())
        .await?
        .ok_or_else(gone)?;
    let db = state.store.tenant(link.tenant_id).await?;
    let data = |kind, title, markdown, resume| {
        Shared::Data(SharedData {
            kind,
            title,
            markdown,
            resume,
            expires_at: link.expires_at,
            views: link.views,
        })
    };
    if link.kind == "report" {
        let r = store::report(&db, &link.doc_id).await?.ok_or_else(gone)?;
        let (Some(title), Some(md)) = (r.title.clone(), r.markdown.clone()) else {
            return Err(gone());
        };
        return Ok(match rendering {
            Rendering::Data => data("report", title, Some(md), None),
            Rendering::Page { stylesheet } => {
                let meta = report_meta(&r, author_name(state, &r.author_id).await);
                let html = docs::report_html(&title, &md, &meta, CssMode::Linked(stylesheet));
                Shared::Page(html)
            }
        });
    }
    let (doc, row) = merged_resume(&db, &link.doc_id).await?.ok_or_else(gone)?;
    Ok(match rendering {
        Rendering::Data => {
            let title = doc["basics"]["name"]
                .as_str()
                .unwrap_or("Resume")
                .to_string();
            data("resume", title, None, Some(doc))
        }
        Rendering::Page { stylesheet } => Shared::Page(docs::resume_shared_html(
            &doc,
            CssMode::Linked(stylesheet),
            row.updated_at,
        )),
    })
}
