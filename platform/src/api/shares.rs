//! Share links (`/api/share-links`) and the public `/api/share/{token}` page.

use super::schema::Id;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Html, Json};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::me::NoContent;
use super::security::{Authenticated, Writer};
use super::Tag;
use crate::error::ApiResult;
use crate::services::shares::{self as service, Expiry, NewLink, Rendering, ShareRow, Shared};
use crate::state::AppState;

use super::ai::DOCUMENT_CSS_PATH;

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
    /// When the link stops working (checked when the link is made).
    pub(super) fn expiry(&self) -> Expiry {
        Expiry {
            at: self.expires_at,
            in_hours: self.expires_in_hours,
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

impl From<ShareRow> for ShareOut {
    fn from(s: ShareRow) -> Self {
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

/// The answer for a new link (its token shown this once).
pub(super) fn created(new: NewLink) -> ShareCreated {
    ShareCreated::Created(Json(CreatedShare {
        url: format!("/api/share/{}", new.token),
        token: new.token,
        link: new.link.into(),
    }))
}

pub struct SharesApi;

#[OpenApi]
impl SharesApi {
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
        let rows = service::list(&state, &auth.0).await?;
        Ok(Json(ShareList {
            items: rows.into_iter().map(Into::into).collect(),
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
        service::revoke(&state, &auth.0, &id).await?;
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
        let rendering = match format.0.unwrap_or(ShareFormat::Html) {
            ShareFormat::Html => Rendering::Page {
                stylesheet: DOCUMENT_CSS_PATH,
            },
            ShareFormat::Json => Rendering::Data,
        };
        Ok(match service::open(&state, &token, rendering).await? {
            Shared::Page(html) => SharedResponse::Html(Html(html)),
            Shared::Data(d) => SharedResponse::Json(Json(SharedDocument {
                kind: d.kind.into(),
                title: d.title,
                markdown: d.markdown,
                resume: d.resume,
                expires_at: d.expires_at,
                views: d.views,
            })),
        })
    }
}
