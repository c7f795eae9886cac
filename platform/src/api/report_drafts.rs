//! Correcting a report the model wrote: its draft (every section and bullet, who wrote
//! each, what each cites), edits checked against the period's entries, versions to
//! compare and restore, and regenerating one section or the whole report.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};

use super::reports::{ReportOut, ReportStarted};
use super::schema::{Between, Documented, Id};

/// A version number: 1 for the first.
type VersionNumber = Documented<u32, Between<1, { u32::MAX }>>;
use super::security::{Authenticated, Writer};
use super::Tag;
use crate::agents::report::{Bullet, Origin, ReportDraft, Section};
use crate::error::ApiResult;
use crate::services::reports::{self as service, VersionDoc, VersionRow};
use crate::state::AppState;

/// Who wrote a bullet's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum Author {
    /// The model's draft.
    Model,
    /// A person's correction.
    User,
}

impl From<Origin> for Author {
    fn from(o: Origin) -> Self {
        match o {
            Origin::Model => Author::Model,
            Origin::User => Author::User,
        }
    }
}

#[derive(Object)]
pub struct DraftBullet {
    /// The claim (inline Markdown where a person wrote it).
    pub text: String,
    /// Ids of the entries it cites.
    pub citations: Vec<String>,
    pub by: Author,
}

#[derive(Object)]
pub struct DraftSection {
    pub heading: String,
    pub bullets: Vec<DraftBullet>,
}

/// A report's text as sections of bullets.
#[derive(Object)]
pub struct DraftOut {
    pub title: String,
    pub sections: Vec<DraftSection>,
    /// Bullets whose text a person wrote.
    pub user_bullets: u32,
}

impl From<ReportDraft> for DraftOut {
    fn from(d: ReportDraft) -> Self {
        Self {
            user_bullets: crate::agents::report_edit::user_bullets(&d) as u32,
            title: d.title,
            sections: d
                .sections
                .into_iter()
                .map(|s| DraftSection {
                    heading: s.heading,
                    bullets: s
                        .bullets
                        .into_iter()
                        .map(|b| DraftBullet {
                            text: b.text,
                            citations: b.citations,
                            by: b.by.into(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

#[derive(Object)]
pub struct EditBullet {
    /// 1–1,000 characters; inline Markdown (emphasis, code) is kept.
    #[oai(validator(max_length = 4000))]
    pub text: String,
    /// Ids of the author's entries in the report's period (at most 10).
    #[oai(validator(max_items = 10))]
    pub citations: Vec<String>,
}

#[derive(Object)]
pub struct EditSection {
    #[oai(validator(max_length = 400))]
    pub heading: String,
    #[oai(validator(max_items = 30))]
    pub bullets: Vec<EditBullet>,
}

/// The report as it should now read, and the version the edit was made on.
#[derive(Object)]
pub struct EditReport {
    /// The `version` you read; if someone saved a newer one since, the answer is 409.
    #[oai(validator(minimum(value = "0"), maximum(value = "4294967295")))]
    pub version: u32,
    #[oai(validator(max_length = 400))]
    pub title: String,
    /// 1–12 sections.
    #[oai(validator(max_items = 12))]
    pub sections: Vec<EditSection>,
}

impl EditReport {
    fn draft(self) -> ReportDraft {
        ReportDraft {
            title: self.title,
            sections: self
                .sections
                .into_iter()
                .map(|s| Section {
                    heading: s.heading,
                    bullets: s
                        .bullets
                        .into_iter()
                        .map(|b| Bullet {
                            text: b.text,
                            citations: b.citations,
                            by: Origin::User,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

#[derive(Object)]
pub struct VersionOut {
    pub version: u32,
    /// `model` (generated or regenerated) or `user` (edited or restored).
    pub by: String,
    /// The person who made a `user` version.
    #[oai(nullable)]
    pub user_id: Option<String>,
    /// What changed: "Generated", "Edited", "Regenerated “Risks”", "Restored version 2".
    pub note: String,
    pub created_at: DateTime<Utc>,
}

impl From<VersionRow> for VersionOut {
    fn from(v: VersionRow) -> Self {
        Self {
            version: v.version,
            by: v.by,
            user_id: v.user_id,
            note: v.note,
            created_at: v.created_at,
        }
    }
}

#[derive(Object)]
pub struct VersionList {
    /// Newest first.
    pub items: Vec<VersionOut>,
}

/// One version in full, to compare with another or restore.
#[derive(Object)]
pub struct VersionDetail {
    #[oai(flatten)]
    pub meta: VersionOut,
    pub title: String,
    pub markdown: String,
    #[oai(nullable)]
    pub draft: Option<DraftOut>,
}

impl From<VersionDoc> for VersionDetail {
    fn from(v: VersionDoc) -> Self {
        Self {
            draft: serde_json::from_value::<ReportDraft>(v.draft)
                .ok()
                .map(Into::into),
            title: v.title,
            markdown: v.markdown,
            meta: v.meta.into(),
        }
    }
}

#[derive(Object)]
pub struct Regenerate {
    /// The section to write again (0-based, in the draft's order, so below its number
    /// of sections: 422 otherwise); omit for the whole report. Either way the result is a new version; the others are kept.
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "11")))]
    pub section: Option<u32>,
}

pub struct ReportDraftsApi;

#[OpenApi(tag = "Tag::Reports")]
impl ReportDraftsApi {
    /// Correct a report: send every section and bullet as they should read, with the
    /// entries each bullet cites (the author's, in the period). Bullets whose text is
    /// unchanged keep the model as their writer; the rest are yours. Saved as a new
    /// version; downloads and share links show it at once. The report's author, admins
    /// and owners may edit.
    #[oai(
        path = "/reports/:id/draft",
        method = "put",
        operation_id = "report_edit"
    )]
    async fn edit(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The report's id.
        id: Path<Id>,
        body: Json<EditReport>,
    ) -> ApiResult<Json<ReportOut>> {
        let version = body.version;
        let r = service::edit(&state, &auth.0, &id, version, body.0.draft()).await?;
        Ok(Json(ReportOut::with_draft(r)))
    }

    /// A report's versions, newest first: generated, edited, regenerated, restored.
    #[oai(
        path = "/reports/:id/versions",
        method = "get",
        operation_id = "report_versions"
    )]
    async fn versions(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The report's id.
        id: Path<Id>,
    ) -> ApiResult<Json<VersionList>> {
        let items = service::versions(&state, &auth.0, &id).await?;
        Ok(Json(VersionList {
            items: items.into_iter().map(Into::into).collect(),
        }))
    }

    /// One version of a report: its title, Markdown and draft.
    #[oai(
        path = "/reports/:id/versions/:n",
        method = "get",
        operation_id = "report_version"
    )]
    async fn version(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The report's id.
        id: Path<Id>,
        /// The version's number.
        n: Path<VersionNumber>,
    ) -> ApiResult<Json<VersionDetail>> {
        Ok(Json(
            service::version(&state, &auth.0, &id, n.0.into_inner())
                .await?
                .into(),
        ))
    }

    /// Make an earlier version the current one again (saved as a new version).
    #[oai(
        path = "/reports/:id/versions/:n/restore",
        method = "post",
        operation_id = "report_restore"
    )]
    async fn restore(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The report's id.
        id: Path<Id>,
        /// The version to restore.
        n: Path<VersionNumber>,
    ) -> ApiResult<Json<ReportOut>> {
        let r = service::restore(&state, &auth.0, &id, n.0.into_inner()).await?;
        Ok(Json(ReportOut::with_draft(r)))
    }

    /// Have the model write the report again, or one section of it (your edits in the
    /// other sections stay). A `report.generate` job; the result is a new version.
    #[oai(
        path = "/reports/:id/regenerate",
        method = "post",
        operation_id = "report_regenerate"
    )]
    async fn regenerate(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The report's id.
        id: Path<Id>,
        body: Json<Regenerate>,
    ) -> ApiResult<ReportStarted> {
        let section = body.section.map(|s| s as usize);
        let (row, outcome) = service::regenerate(&state, &auth.0, &id, section).await?;
        super::reports::started(&state, row, outcome)
    }
}
