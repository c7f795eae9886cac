//! Skills: extraction from the work log (a job), review, merge. A skill is its user's
//! alone: another user's skill is not found, whatever their role ([`own_skill`]).

use chrono::NaiveDate;

use super::ai::{start, valid_id};
use crate::agents::taxonomy::normalize_skill_name;
use crate::deps::Deps;
use crate::error::{ApiError, ApiResult};
use crate::identity::Principal;
use crate::jobs::queue::Enqueued;
use crate::store::{skills, worklogs, TenantDb};
use crate::workflows::ai::SkillsPayload;
use crate::worklog::DateRange;

pub use crate::store::skills::{SkillRow, SkillSort};

/// Starts finding skills with evidence in `p`'s entries of `[from, to]` (all days when
/// absent). New findings merge into their skills; reviews and renames stay.
pub async fn extract(state: &Deps, p: &Principal, range: DateRange) -> ApiResult<Enqueued> {
    let db = p.tenant_db(state).await?;
    let payload = SkillsPayload {
        user_id: p.user_id.clone(),
        from: range.from(),
        to: range.to(),
    };
    start(state, p, &db, &payload, None).await
}

/// `p`'s skills with review status `status` (any but `rejected` when absent) and
/// category `category` (any when absent or empty), in `sort` order.
pub async fn list(
    state: &Deps,
    p: &Principal,
    status: Option<&str>,
    category: Option<&str>,
    sort: SkillSort,
) -> ApiResult<Vec<SkillRow>> {
    let db = p.tenant_db(state).await?;
    let category = category.filter(|c| !c.is_empty());
    let mut rows = skills::list(&db, &p.user_id, status, category, sort).await?;
    if status.is_none() {
        rows.retain(|s| s.status != "rejected");
    }
    Ok(rows)
}

/// A piece of evidence for a skill, with the entry it quotes as it is now.
pub struct Evidence {
    pub entry_id: String,
    pub quote: String,
    /// The entry's title and day; `None` when it was deleted since.
    pub entry: Option<(String, NaiveDate)>,
}

/// Skill `id` of `p` with its evidence.
pub async fn get(state: &Deps, p: &Principal, id: &str) -> ApiResult<(SkillRow, Vec<Evidence>)> {
    let db = p.tenant_db(state).await?;
    let s = own_skill(&db, p, id).await?;
    let mut evidence = Vec::new();
    for e in skills::evidence(&db, &s.id).await? {
        let entry = worklogs::get(&db, &e.entry_id).await?;
        evidence.push(Evidence {
            entry_id: e.entry_id,
            quote: e.quote,
            entry: entry.map(|x| (x.title, x.date)),
        });
    }
    Ok((s, evidence))
}

/// What a review changes in a skill; `None` leaves a field as it is.
pub struct SkillChange<'a> {
    /// A new name (blank: unchanged); the old name stays one of the skill's keys.
    pub name: Option<&'a str>,
    /// `suggested`, `confirmed` or `rejected`.
    pub status: Option<&'a str>,
    pub category: Option<&'a str>,
}

/// Renames, reviews or recategorises skill `id` of `p`.
pub async fn update(
    state: &Deps,
    p: &Principal,
    id: &str,
    change: SkillChange<'_>,
) -> ApiResult<SkillRow> {
    let db = p.tenant_db(state).await?;
    let s = own_skill(&db, p, id).await?;
    let name = change.name.map(str::trim).filter(|n| !n.is_empty());
    let key = name.map(normalize_skill_name);
    skills::update(
        &db,
        &s.id,
        name.zip(key.as_deref()),
        change.status,
        change.category.map(str::trim),
    )
    .await?
    .ok_or_else(|| ApiError::not_found("skill"))
}

/// Merges `p`'s skills `ids` into their skill `into`: evidence moves, names become
/// aliases (so later extractions find the merged skill), the others disappear. `name`
/// (unless blank) renames the remaining skill.
pub async fn merge(
    state: &Deps,
    p: &Principal,
    into: &str,
    ids: &[&str],
    name: Option<&str>,
) -> ApiResult<SkillRow> {
    let db = p.tenant_db(state).await?;
    let target = own_skill(&db, p, into).await?;
    let mut sources = Vec::new();
    for id in ids {
        if *id == target.id {
            continue;
        }
        sources.push(own_skill(&db, p, id).await?.id);
    }
    if sources.is_empty() {
        return Err(ApiError::validation(
            "name at least one other skill to merge",
        ));
    }
    skills::merge(&db, &target.id, &sources).await?;
    if let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) {
        let key = normalize_skill_name(name);
        skills::update(&db, &target.id, Some((name, &key)), None, None).await?;
    }
    skills::get(&db, &target.id)
        .await?
        .ok_or_else(|| ApiError::not_found("skill"))
}

/// Deletes skill `id` of `p` and its evidence (a later extraction may find it again;
/// rejecting it keeps it out).
pub async fn delete(state: &Deps, p: &Principal, id: &str) -> ApiResult<()> {
    let db = p.tenant_db(state).await?;
    let s = own_skill(&db, p, id).await?;
    skills::delete(&db, &s.id).await?;
    Ok(())
}

/// Skill `id` if it is `p`'s: the one rule of who may see or change a skill.
async fn own_skill(db: &TenantDb, p: &Principal, id: &str) -> ApiResult<SkillRow> {
    valid_id(id, "skill")?;
    skills::get(db, id)
        .await?
        .filter(|s| s.user_id == p.user_id)
        .ok_or_else(|| ApiError::not_found("skill"))
}
