//! Skills: extraction from the work log (a job), review, merge.

use super::schema::{DateText, Day, Id};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};

use super::me::NoContent;
use super::security::{Authenticated, Writer};
use super::text::Text;
use super::Tag;
use crate::error::ApiResult;
use crate::services::skills::{self as service, SkillChange, SkillRow, SkillSort};
use crate::state::AppState;

use super::ai::{accepted, day, Accepted};

// ------------------------------------------------------------------ skills

/// One piece of evidence for a skill.
#[derive(Object)]
pub struct EvidenceOut {
    pub entry_id: String,
    pub quote: String,
    /// The entry's title and day (absent if the entry was deleted since).
    #[oai(nullable)]
    pub entry_title: Option<String>,
    #[oai(nullable)]
    pub entry_date: Option<Day>,
}

/// A skill found in your work log.
#[derive(Object)]
pub struct SkillOut {
    pub id: String,
    pub name: String,
    pub category: String,
    #[oai(nullable)]
    pub level: Option<String>,
    /// 0–1.
    pub confidence: f64,
    /// `suggested` (found, not reviewed), `confirmed` or `rejected`. Extractions never
    /// change it.
    pub status: String,
    pub evidence_count: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Only on `GET /api/skills/{id}`.
    #[oai(nullable)]
    pub evidence: Option<Vec<EvidenceOut>>,
}

impl From<SkillRow> for SkillOut {
    fn from(s: SkillRow) -> Self {
        Self {
            id: s.id,
            name: s.name,
            category: s.category,
            level: s.level,
            confidence: s.confidence,
            status: s.status,
            evidence_count: s.evidence_count,
            created_at: s.created_at,
            updated_at: s.updated_at,
            evidence: None,
        }
    }
}

#[derive(Object)]
pub struct SkillList {
    pub items: Vec<SkillOut>,
}

#[derive(Object)]
pub struct ExtractSkills {
    /// First day of entries to read, `YYYY-MM-DD` (default: all).
    #[oai(nullable)]
    pub from: Option<DateText>,
    /// Last day, `YYYY-MM-DD`.
    #[oai(nullable)]
    pub to: Option<DateText>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SkillStatus {
    Suggested,
    Confirmed,
    Rejected,
}

impl SkillStatus {
    fn as_str(self) -> &'static str {
        match self {
            SkillStatus::Suggested => "suggested",
            SkillStatus::Confirmed => "confirmed",
            SkillStatus::Rejected => "rejected",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SkillSortParam {
    Evidence,
    Confidence,
    Name,
}

#[derive(Object)]
pub struct UpdateSkill {
    #[oai(validator(min_length = 1, max_length = 100))]
    #[oai(nullable)]
    pub name: Option<Text>,
    // Not declared nullable: on an enum `$ref` that becomes an `allOf` wrapper, which
    // client generators reject. `null` is accepted all the same.
    pub status: Option<SkillStatus>,
    #[oai(validator(min_length = 1, max_length = 60))]
    #[oai(nullable)]
    pub category: Option<Text>,
}

#[derive(Object)]
pub struct MergeSkills {
    /// The skill that remains.
    pub into: Text,
    /// Skills folded into it (their evidence moves, they disappear).
    #[oai(validator(min_items = 1, max_items = 50))]
    pub ids: Vec<Text>,
    /// Optionally rename the remaining skill.
    #[oai(validator(min_length = 1, max_length = 100))]
    #[oai(nullable)]
    pub name: Option<Text>,
}

impl From<SkillSortParam> for SkillSort {
    fn from(s: SkillSortParam) -> Self {
        match s {
            SkillSortParam::Evidence => SkillSort::Evidence,
            SkillSortParam::Confidence => SkillSort::Confidence,
            SkillSortParam::Name => SkillSort::Name,
        }
    }
}

impl From<service::Evidence> for EvidenceOut {
    fn from(e: service::Evidence) -> Self {
        Self {
            entry_date: e.entry.as_ref().map(|x| Day::from(x.1)),
            entry_title: e.entry.map(|x| x.0),
            entry_id: e.entry_id,
            quote: e.quote,
        }
    }
}

pub struct SkillsApi;

#[OpenApi]
impl SkillsApi {
    /// Find skills with evidence in your work log (all of it, or a period). New findings
    /// merge into your skills; your confirmations, rejections and renames stay.
    #[oai(
        path = "/skills/extract",
        method = "post",
        operation_id = "skills_extract",
        tag = "Tag::Skills"
    )]
    async fn extract(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        body: Json<ExtractSkills>,
    ) -> ApiResult<Accepted> {
        let from = day("from", body.0.from.map(|d| d.0.into_string()))?;
        let to = day("to", body.0.to.map(|d| d.0.into_string()))?;
        let range = crate::worklog::DateRange::new(from, to)?;
        accepted(&state, service::extract(&state, &auth.0, range).await?)
    }

    /// Your skills (rejected ones only when asked for by `status`).
    #[oai(
        path = "/skills",
        method = "get",
        operation_id = "skills_list",
        tag = "Tag::Skills"
    )]
    async fn skills(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// Only skills with this review status.
        status: Query<Option<SkillStatus>>,
        /// Only skills of this category, e.g. `language`.
        category: Query<Option<String>>,
        /// `evidence` (default), `confidence` or `name`.
        sort: Query<Option<SkillSortParam>>,
    ) -> ApiResult<Json<SkillList>> {
        let sort = sort.0.unwrap_or(SkillSortParam::Evidence).into();
        let status = status.0.map(SkillStatus::as_str);
        let rows = service::list(&state, &auth.0, status, category.0.as_deref(), sort).await?;
        Ok(Json(SkillList {
            items: rows.into_iter().map(Into::into).collect(),
        }))
    }

    /// One skill with its evidence (the entries that show it, with quotes).
    #[oai(
        path = "/skills/:id",
        method = "get",
        operation_id = "skills_get",
        tag = "Tag::Skills"
    )]
    async fn skill(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The skill's id.
        id: Path<Id>,
    ) -> ApiResult<Json<SkillOut>> {
        let (s, evidence) = service::get(&state, &auth.0, &id).await?;
        let mut out: SkillOut = s.into();
        out.evidence = Some(evidence.into_iter().map(Into::into).collect());
        Ok(Json(out))
    }

    /// Rename, confirm, reject or recategorise a skill.
    #[oai(
        path = "/skills/:id",
        method = "patch",
        operation_id = "skills_update",
        tag = "Tag::Skills"
    )]
    async fn update_skill(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The skill's id.
        id: Path<Id>,
        body: Json<UpdateSkill>,
    ) -> ApiResult<Json<SkillOut>> {
        let change = SkillChange {
            name: body.name.as_deref(),
            status: body.status.map(SkillStatus::as_str),
            category: body.category.as_deref(),
        };
        Ok(Json(
            service::update(&state, &auth.0, &id, change).await?.into(),
        ))
    }

    /// Merge skills into one: evidence moves, names become aliases (so later extractions
    /// find the merged skill), the others disappear.
    #[oai(
        path = "/skills/merge",
        method = "post",
        operation_id = "skills_merge",
        tag = "Tag::Skills"
    )]
    async fn merge(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        body: Json<MergeSkills>,
    ) -> ApiResult<Json<SkillOut>> {
        let b = &body.0;
        let ids: Vec<&str> = b.ids.iter().map(|id| &**id).collect();
        let name = b.name.as_deref();
        Ok(Json(
            service::merge(&state, &auth.0, &b.into, &ids, name)
                .await?
                .into(),
        ))
    }

    /// Delete a skill and its evidence (a later extraction may find it again; reject it
    /// to keep it out).
    #[oai(
        path = "/skills/:id",
        method = "delete",
        operation_id = "skills_delete",
        tag = "Tag::Skills"
    )]
    async fn delete_skill(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The skill's id.
        id: Path<Id>,
    ) -> ApiResult<NoContent> {
        service::delete(&state, &auth.0, &id).await?;
        Ok(NoContent::Done)
    }
}
