//! Share links (`/api/share-links`) and the public `/api/share/{token}` page.

use super::schema::Id;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Html, Json};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::me::NoContent;
use super::security::{Authenticated, Principal, Writer};
use super::Tag;
use crate::documents::{self as docs, CssMode};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{documents as store, platform, TenantId};

use super::ai::{valid_id, DOCUMENT_CSS_PATH};
use super::reports::{author_name, report_meta};
use super::resume::resume_doc;

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
    pub(super) fn expiry(&self) -> ApiResult<DateTime<Utc>> {
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

pub(super) async fn create_share(
    state: &AppState,
    p: &Principal,
    kind: &str,
    doc_id: &str,
    expires_at: DateTime<Utc>,
) -> ApiResult<ShareCreated> {
    if state.settings.disable_sharing {
        return Err(ApiError::forbidden("sharing is disabled on this server"));
    }
    let token = crate::identity::credentials::new_share_token();
    let id = platform::new_id();
    let row = store::create_share(
        state.store.platform(),
        &store::NewShare {
            id: &id,
            token_hash: &crate::identity::credentials::sha256_hex(&token),
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
        p.may_manage(&link.created_by)?;
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
        let link = store::open_share(
            state.store.platform(),
            &crate::identity::credentials::sha256_hex(&token),
        )
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
}
