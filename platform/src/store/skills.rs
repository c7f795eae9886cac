//! Skills and their evidence, per user, in a tenant database.
//!
//! A skill is identified by its normalised keys (`keys`: the canonical name plus every
//! name it was known by — renames and merges add keys), so a later extraction that finds
//! "Postgres" lands on the skill the user renamed from "PostgreSQL". A skill's `status`
//! (`suggested`, `confirmed`, `rejected`) is the user's and is never changed by an
//! extraction. Evidence rows are unique per (skill, entry).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{StoreResult, TenantDb};

/// A skill as stored.
#[derive(Debug, Clone, Deserialize)]
pub struct SkillRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub category: String,
    pub level: Option<String>,
    pub confidence: f64,
    pub status: String,
    pub keys: Vec<String>,
    pub evidence_count: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const FIELDS: &str =
    "record::id(id) AS id, user_id, name, category, level, confidence, status, keys, \
evidence_count, created_at, updated_at";

/// One piece of evidence.
#[derive(Debug, Clone, Deserialize)]
pub struct EvidenceRow {
    pub entry_id: String,
    pub quote: String,
    pub created_at: DateTime<Utc>,
}

/// Sort orders of the skill list.
#[derive(Debug, Clone, Copy)]
pub enum SkillSort {
    Evidence,
    Confidence,
    Name,
}

/// A user's skills.
pub async fn list(
    db: &TenantDb,
    user_id: &str,
    status: Option<&str>,
    category: Option<&str>,
    sort: SkillSort,
) -> StoreResult<Vec<SkillRow>> {
    let order = match sort {
        SkillSort::Evidence => "evidence_count DESC, confidence DESC, name ASC",
        SkillSort::Confidence => "confidence DESC, evidence_count DESC, name ASC",
        SkillSort::Name => "name ASC",
    };
    let sql = format!(
        "SELECT {FIELDS} FROM skill WHERE user_id = $uid AND ($status = NONE OR status = $status)
         AND ($category = NONE OR category = $category) ORDER BY {order};"
    );
    db.query(
        &sql,
        json!({"uid": user_id, "status": status, "category": category}),
    )
    .await?
    .take(0)
}

/// One skill.
pub async fn get(db: &TenantDb, id: &str) -> StoreResult<Option<SkillRow>> {
    let sql = format!("SELECT {FIELDS} FROM type::record('skill', $id);");
    db.query(&sql, json!({"id": id})).await?.first(0)
}

/// A skill's evidence, newest first.
pub async fn evidence(db: &TenantDb, skill_id: &str) -> StoreResult<Vec<EvidenceRow>> {
    db.query(
        "SELECT entry_id, quote, created_at FROM skill_evidence WHERE skill_id = $id ORDER BY created_at DESC;",
        json!({"id": skill_id}),
    )
    .await?
    .take(0)
}

/// What an extraction found for one skill.
#[derive(Debug, Clone)]
pub struct Finding {
    pub key: String,
    pub name: String,
    pub category: String,
    pub level: Option<String>,
    pub confidence: f64,
    pub evidence: Vec<(String, String)>,
}

/// Merges a finding into the user's skill with `skill_id` (or creates one with
/// `new_id`): evidence is added once per entry, confidence and level only rise, and
/// the user's name, category and status are kept. Returns the skill id.
pub async fn upsert_finding(
    db: &TenantDb,
    user_id: &str,
    existing: Option<&str>,
    new_id: &str,
    f: &Finding,
) -> StoreResult<String> {
    let evidence: Vec<serde_json::Value> = f
        .evidence
        .iter()
        .map(|(entry, quote)| json!({"entry": entry, "quote": quote}))
        .collect();
    let id = existing.unwrap_or(new_id);
    db.query_retrying(
        "BEGIN TRANSACTION;
         IF $existing = NONE {
             CREATE type::record('skill', $id) CONTENT {
                 user_id: $uid, name: $name, category: $category, level: $level,
                 confidence: $confidence, status: 'suggested', keys: [$key], evidence_count: 0
             };
         } ELSE {
             UPDATE type::record('skill', $id) SET
                 confidence = math::max([confidence, $confidence]),
                 level = IF $level != NONE AND (level = NONE OR array::find_index(['beginner','intermediate','advanced','expert'], $level) > array::find_index(['beginner','intermediate','advanced','expert'], level)) { $level } ELSE { level },
                 keys = array::union(keys, [$key]),
                 updated_at = time::now();
         };
         FOR $e IN $evidence {
             UPSERT type::record('skill_evidence', [$id, $e.entry]) SET skill_id = $id, entry_id = $e.entry, quote = $e.quote;
         };
         UPDATE type::record('skill', $id) SET evidence_count = (SELECT count() AS n FROM skill_evidence WHERE skill_id = $id GROUP ALL)[0].n ?? 0;
         COMMIT TRANSACTION;",
        json!({"existing": existing, "id": id, "uid": user_id, "name": f.name, "category": f.category,
               "level": f.level, "confidence": f.confidence, "key": f.key, "evidence": evidence}),
    )
    .await?;
    Ok(id.to_string())
}

/// Changes what the user may change; `None` leaves a field as it is.
pub async fn update(
    db: &TenantDb,
    id: &str,
    name: Option<(&str, &str)>,
    status: Option<&str>,
    category: Option<&str>,
) -> StoreResult<Option<SkillRow>> {
    let sql = format!(
        "UPDATE type::record('skill', $id) SET
             name = $name ?? name,
             keys = IF $key != NONE {{ array::union(keys, [$key]) }} ELSE {{ keys }},
             status = $status ?? status,
             category = $category ?? category,
             updated_at = time::now()
         RETURN {FIELDS};"
    );
    db.query(
        &sql,
        json!({"id": id, "name": name.map(|n| n.0), "key": name.map(|n| n.1),
               "status": status, "category": category}),
    )
    .await?
    .first(0)
}

/// Moves the evidence and keys of `sources` into `target` and deletes the sources.
pub async fn merge(db: &TenantDb, target: &str, sources: &[String]) -> StoreResult<()> {
    db.query_retrying(
        "BEGIN TRANSACTION;
         FOR $s IN $sources {
             LET $src = (SELECT keys FROM type::record('skill', $s))[0];
             UPDATE type::record('skill', $target) SET keys = array::union(keys, $src.keys ?? []);
             FOR $e IN (SELECT entry_id, quote FROM skill_evidence WHERE skill_id = $s) {
                 UPSERT type::record('skill_evidence', [$target, $e.entry_id]) SET skill_id = $target, entry_id = $e.entry_id, quote = $e.quote;
             };
             DELETE skill_evidence WHERE skill_id = $s;
             DELETE type::record('skill', $s);
         };
         UPDATE type::record('skill', $target) SET
             evidence_count = (SELECT count() AS n FROM skill_evidence WHERE skill_id = $target GROUP ALL)[0].n ?? 0,
             updated_at = time::now();
         COMMIT TRANSACTION;",
        json!({"target": target, "sources": sources}),
    )
    .await?;
    Ok(())
}

/// Deletes a skill and its evidence.
pub async fn delete(db: &TenantDb, id: &str) -> StoreResult<bool> {
    let rows: Vec<serde_json::Value> = db
        .query(
            "BEGIN TRANSACTION;
             DELETE skill_evidence WHERE skill_id = $id;
             LET $gone = (DELETE type::record('skill', $id) RETURN BEFORE);
             RETURN array::len($gone) > 0;
             COMMIT TRANSACTION;",
            json!({"id": id}),
        )
        .await?
        .last()?;
    Ok(rows.first().and_then(|v| v.as_bool()).unwrap_or(false))
}
