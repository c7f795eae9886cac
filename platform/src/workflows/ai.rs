//! The AI workflows: `worklog.analyze`, `skills.extract`, `report.generate` and
//! `resume.refresh`. Each loads what its agent needs, runs the agent through the LLM
//! client (which records an `llm.call` Event per call), checks the result against the
//! stored data, and persists it. Steps are idempotent: re-running one writes the same
//! rows again.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Enqueue, JobKind, JobPayload, Step, StepCtx, Timeline, Workflow};
use crate::agents::{
    self, analysis::WorklogAnalysis, citations, report::ReportGenerate, resume::ResumeRefresh,
    skills::SkillsExtract, Agent,
};
use crate::jobs::runner::JobError;
use crate::llm::{CallContext, LlmError};
use crate::store::worklogs::{self, EntryRow};
use crate::store::{documents, platform, skills, Scope, TenantDb};

/// The kinds of the AI workflows: the jobs that hold LLM tokens while in flight.
pub const KINDS: &[&str] = &[
    JobKind::WorklogAnalyze.as_str(),
    JobKind::SkillsExtract.as_str(),
    JobKind::ReportGenerate.as_str(),
    JobKind::ResumeRefresh.as_str(),
];

fn db_err(e: impl std::fmt::Display) -> JobError {
    JobError::retryable(format!("database: {e}"))
}

fn llm_err(e: LlmError) -> JobError {
    if e.retryable() {
        JobError::retryable(e.to_string())
    } else {
        JobError::fatal(e.to_string())
    }
}

fn call_ctx(ctx: &StepCtx) -> Result<CallContext, JobError> {
    Ok(CallContext {
        scope: Scope::Tenant(ctx.tenant()?),
        job_id: Some(ctx.job.id.to_string()),
        correlation_id: ctx.job.correlation_id.clone(),
        attempt: ctx.job.attempts.max(1),
    })
}

/// Every entry of `author` in `[from, to]` (all days when absent), newest first.
async fn entries_of(
    db: &TenantDb,
    author: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    cap: usize,
) -> Result<Vec<EntryRow>, JobError> {
    worklogs::entries_of(db, author, from, to, cap)
        .await
        .map_err(db_err)
}

/// Every workflow of this module.
pub fn workflows() -> Vec<Workflow> {
    vec![
        Workflow {
            kind: JobKind::WorklogAnalyze.as_str(),
            description:
                "Summarises an entry, suggests tags, detects its outcome, and gives quality hints",
            enqueue: Enqueue::Internal,
            validate: None,
            timeline: Timeline::Steps,
            steps: vec![
                Step::new("analyze", analyze),
                Step::new("store", store_analysis),
            ],
        },
        Workflow {
            kind: JobKind::SkillsExtract.as_str(),
            description:
                "Finds skills with evidence in the work log and merges them into your skills",
            enqueue: Enqueue::Internal,
            validate: None,
            timeline: Timeline::Steps,
            steps: vec![
                Step::new("extract", extract_skills),
                Step::new("merge", merge_skills),
            ],
        },
        Workflow {
            kind: JobKind::ReportGenerate.as_str(),
            description:
                "Writes a status, standup, weekly or custom report whose every bullet cites entries",
            enqueue: Enqueue::Internal,
            validate: None,
            timeline: Timeline::Steps,
            steps: vec![
                Step::new("collect", collect_report),
                Step::new("generate", generate_report),
                Step::new("check_citations", check_report),
                Step::new("render", render_report),
            ],
        },
        Workflow {
            kind: JobKind::ResumeRefresh.as_str(),
            description:
                "Builds your resume (JSON Resume) from your profile, entries and confirmed skills",
            enqueue: Enqueue::Internal,
            validate: None,
            timeline: Timeline::Steps,
            steps: vec![
                Step::new("generate", generate_resume),
                Step::new("store", store_resume),
            ],
        },
    ]
}

// ------------------------------------------------------------------ worklog.analyze

/// The payload of `worklog.analyze`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnalyzePayload {
    pub entry_id: String,
    pub version: u32,
}

impl JobPayload for AnalyzePayload {
    const KIND: JobKind = JobKind::WorklogAnalyze;
}

async fn analyze(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let p: AnalyzePayload = ctx.payload()?;
    let db = ctx.tenant_db().await?;
    let Some(entry) = worklogs::get(&db, &p.entry_id).await.map_err(db_err)? else {
        return Ok(json!({"skipped": "the entry was deleted"}));
    };
    if entry.version != p.version {
        return Ok(json!({"skipped": format!("the entry is now at version {}", entry.version)}));
    }
    let analysis = ctx
        .state
        .llm
        .run_agent(
            &call_ctx(&ctx)?,
            &WorklogAnalysis::default(),
            &agents::Entry::from(&entry),
        )
        .await
        .map_err(llm_err)?;
    Ok(
        json!({"analysis": analysis, "prompt_version": WorklogAnalysis::PROMPT_VERSION,
              "provider": ctx.state.llm.provider_name()}),
    )
}

async fn store_analysis(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let p: AnalyzePayload = ctx.payload()?;
    let out = ctx.output("analyze").cloned().unwrap_or(json!({}));
    if out.get("skipped").is_some() {
        return Ok(out);
    }
    let mut analysis = out["analysis"].clone();
    analysis["version"] = json!(p.version);
    analysis["job_id"] = json!(ctx.job.id.to_string());
    analysis["analyzed_at"] = json!(Utc::now().to_rfc3339());
    analysis["provider"] = out["provider"].clone();
    let db = ctx.tenant_db().await?;
    let stored = worklogs::set_analysis(&db, &p.entry_id, p.version, analysis)
        .await
        .map_err(db_err)?;
    Ok(json!({"entry_id": p.entry_id, "stored": stored}))
}

// ------------------------------------------------------------------ skills.extract

/// The payload of `skills.extract`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SkillsPayload {
    pub user_id: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl JobPayload for SkillsPayload {
    const KIND: JobKind = JobKind::SkillsExtract;
}

/// Entries read per extraction (the newest); older ones were covered by earlier runs.
const SKILLS_MAX_ENTRIES: usize = 600;

async fn extract_skills(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let p: SkillsPayload = ctx.payload()?;
    let db = ctx.tenant_db().await?;
    let rows = entries_of(&db, &p.user_id, p.from, p.to, SKILLS_MAX_ENTRIES).await?;
    let entries: Vec<agents::Entry> = rows.iter().map(agents::Entry::from).collect();
    let known: Vec<String> = skills::list(&db, &p.user_id, None, None, skills::SkillSort::Name)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|s| s.name)
        .collect();
    let agent = SkillsExtract::default();
    let mut findings = Vec::new();
    let batches = agent.batches(&entries);
    let total = batches.len();
    let mut skipped: Vec<serde_json::Value> = Vec::new();
    for (i, batch) in batches.into_iter().enumerate() {
        if ctx.cancel.is_cancelled() {
            return Err(JobError::fatal("cancelled"));
        }
        let input = agents::skills::SkillsInput {
            entries: batch,
            known_skills: known.clone(),
        };
        let (message, mut data) = match ctx
            .state
            .llm
            .run_agent(&call_ctx(&ctx)?, &agent, &input)
            .await
        {
            Ok(out) => {
                findings.extend(out.skills);
                (format!("read batch {} of {total}", i + 1), json!({}))
            }
            // One unusable answer (after its repair round) shouldn't throw away what
            // the other batches found: the batch is skipped, visibly. Transport errors
            // and quota stops still fail the step.
            Err(LlmError::InvalidOutput(problem)) => {
                let entry_ids: Vec<&str> = input.entries.iter().map(|e| e.id.as_str()).collect();
                skipped.push(json!({"batch": i + 1, "entries": entry_ids, "problem": problem}));
                (
                    format!(
                        "skipped batch {} of {total}: the model's answer was unusable",
                        i + 1
                    ),
                    json!({"skipped": true, "problem": problem}),
                )
            }
            Err(e) => return Err(llm_err(e)),
        };
        data["batch"] = json!(i + 1);
        data["of"] = json!(total);
        data["percent"] = json!((i + 1) * 100 / total.max(1));
        ctx.event(
            crate::observability::events::kind::JOB_PROGRESS,
            message,
            data,
        )
        .await;
    }
    if total > 0 && skipped.len() == total {
        let problem = skipped[0]["problem"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        return Err(JobError::fatal(format!(
            "the model's answer was invalid for every batch: {problem}"
        )));
    }
    let merged = agents::skills::merge_findings(findings);
    Ok(json!({"entries": entries.len(), "findings": merged, "skipped_batches": skipped}))
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Cosine similarity above which two skill names are the same skill.
const SAME_SKILL: f32 = 0.9;

async fn merge_skills(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let p: SkillsPayload = ctx.payload()?;
    let db = ctx.tenant_db().await?;
    let out = ctx.output("extract").cloned().unwrap_or(json!({}));
    let findings: Vec<agents::skills::SkillFinding> =
        serde_json::from_value(out["findings"].clone()).unwrap_or_default();
    let existing = skills::list(&db, &p.user_id, None, None, skills::SkillSort::Name)
        .await
        .map_err(db_err)?;
    // Names first: the same normalised name (aliases resolved) is the same skill.
    let mut by_key: HashMap<String, String> = HashMap::new();
    for s in &existing {
        for k in &s.keys {
            by_key.insert(k.clone(), s.id.clone());
        }
    }
    let keyed: Vec<(String, &agents::skills::SkillFinding)> = findings
        .iter()
        .map(|f| (agents::taxonomy::normalize_skill_name(&f.name), f))
        .collect();
    let unmatched: Vec<&(String, &agents::skills::SkillFinding)> = keyed
        .iter()
        .filter(|(k, _)| !by_key.contains_key(k))
        .collect();
    // Then embeddings, when a model serves them: "Postgres" vs "PostgreSQL database".
    let mut near: HashMap<String, String> = HashMap::new();
    let mut method = "names";
    if !unmatched.is_empty() && !existing.is_empty() && ctx.state.llm.has_model() {
        let mut texts: Vec<String> = existing.iter().map(|s| s.name.clone()).collect();
        texts.extend(unmatched.iter().map(|(_, f)| f.name.clone()));
        match ctx.state.llm.embeddings(&call_ctx(&ctx)?, &texts).await {
            Ok(vectors) if vectors.len() == texts.len() => {
                method = "names+embeddings";
                let (old, new) = vectors.split_at(existing.len());
                for ((key, _), v) in unmatched.iter().zip(new) {
                    let best = old
                        .iter()
                        .enumerate()
                        .map(|(i, o)| (i, cosine(v, o)))
                        .max_by(|a, b| a.1.total_cmp(&b.1));
                    if let Some((i, score)) = best {
                        if score >= SAME_SKILL {
                            near.insert(key.clone(), existing[i].id.clone());
                        }
                    }
                }
            }
            // Embeddings are an improvement, not a requirement.
            Ok(_) | Err(_) => {}
        }
    }
    let (mut created, mut updated, mut evidence) = (0u32, 0u32, 0usize);
    for (key, f) in &keyed {
        let target = by_key.get(key).or_else(|| near.get(key)).cloned();
        let finding = skills::Finding {
            key: key.clone(),
            name: agents::taxonomy::canonical(&f.name)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| f.name.clone()),
            category: f.category.id().to_string(),
            level: f.level.map(|l| l.id().to_string()),
            confidence: f64::from(f.confidence),
            evidence: f
                .evidence
                .iter()
                .map(|e| (e.entry_id.clone(), e.quote.clone()))
                .collect(),
        };
        evidence += finding.evidence.len();
        // A stable id per (user, key): re-running this step finds the same skill.
        let new_id = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_OID,
            format!("{}:{key}", p.user_id).as_bytes(),
        )
        .to_string();
        let id = skills::upsert_finding(&db, &p.user_id, target.as_deref(), &new_id, &finding)
            .await
            .map_err(db_err)?;
        if target.is_some() {
            updated += 1;
        } else {
            created += 1;
            by_key.insert(key.clone(), id);
        }
    }
    Ok(
        json!({"skills_found": keyed.len(), "created": created, "updated": updated,
              "evidence": evidence, "near_duplicates_by": method,
              "skipped_batches": out["skipped_batches"].as_array().map_or(0, Vec::len)}),
    )
}

// ------------------------------------------------------------------ report.generate

/// The payload of `report.generate`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportPayload {
    pub report_id: String,
    pub author_id: String,
    pub kind: agents::report::ReportKind,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub audience: Option<String>,
    pub instructions: Option<String>,
    /// Regenerate only this section (0-based) of the current draft; the others, and
    /// every edit in them, stay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<usize>,
}

impl JobPayload for ReportPayload {
    const KIND: JobKind = JobKind::ReportGenerate;
}

/// Entries a report reads at most.
const REPORT_MAX_ENTRIES: usize = 500;

/// Marks the report failed when this failure ends the job.
async fn report_failed(ctx: &StepCtx, e: JobError) -> JobError {
    if !e.retryable || ctx.job.attempts >= ctx.job.max_attempts {
        if let (Ok(p), Ok(db)) = (ctx.payload::<ReportPayload>(), ctx.tenant_db().await) {
            let _ = documents::fail_report(&db, &p.report_id, &e.message).await;
        }
    }
    e
}

async fn report_entries(ctx: &StepCtx, p: &ReportPayload) -> Result<Vec<EntryRow>, JobError> {
    let db = ctx.tenant_db().await?;
    entries_of(
        &db,
        &p.author_id,
        Some(p.from),
        Some(p.to),
        REPORT_MAX_ENTRIES,
    )
    .await
}

async fn collect_report(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let p: ReportPayload = ctx.payload()?;
    let rows = match report_entries(&ctx, &p).await {
        Ok(r) => r,
        Err(e) => return Err(report_failed(&ctx, e).await),
    };
    Ok(json!({"entries": rows.len(), "from": p.from, "to": p.to}))
}

async fn generate_report(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let p: ReportPayload = ctx.payload()?;
    let result = async {
        let rows = report_entries(&ctx, &p).await?;
        let input = agents::report::ReportInput {
            kind: p.kind,
            from: p.from,
            to: p.to,
            audience: p.audience.clone(),
            instructions: p.instructions.clone(),
            entries: rows.iter().map(agents::Entry::from).collect(),
        };
        ctx.state
            .llm
            .run_agent(&call_ctx(&ctx)?, &ReportGenerate::default(), &input)
            .await
            .map_err(llm_err)
    }
    .await;
    match result {
        Ok(draft) => Ok(json!({"draft": draft})),
        Err(e) => Err(report_failed(&ctx, e).await),
    }
}

async fn check_report(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let p: ReportPayload = ctx.payload()?;
    let draft: agents::report::ReportDraft = match ctx
        .output("generate")
        .and_then(|o| serde_json::from_value(o["draft"].clone()).ok())
    {
        Some(d) => d,
        None => return Err(JobError::fatal("the generate step left no draft")),
    };
    // Checked against the entries as they are now (the tenant's, in the period).
    let rows = match report_entries(&ctx, &p).await {
        Ok(r) => r,
        Err(e) => return Err(report_failed(&ctx, e).await),
    };
    let allowed: HashMap<String, NaiveDate> = rows.iter().map(|r| (r.id.clone(), r.date)).collect();
    let (draft, report) = citations::check_citations(draft, &allowed, p.from, p.to);
    Ok(json!({"draft": draft, "citation_report": report}))
}

async fn render_report(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let p: ReportPayload = ctx.payload()?;
    let checked = ctx.output("check_citations").cloned().unwrap_or(json!({}));
    let draft: agents::report::ReportDraft = serde_json::from_value(checked["draft"].clone())
        .map_err(|e| JobError::fatal(format!("the checked draft is unreadable: {e}")))?;
    let db = ctx.tenant_db().await?;
    let rows = report_entries(&ctx, &p).await?;
    let lookup: HashMap<&str, (String, NaiveDate)> = rows
        .iter()
        .map(|r| (r.id.as_str(), (r.title.clone(), r.date)))
        .collect();
    // A new version: the whole new draft, or the current one with one section replaced.
    let current = documents::report(&db, &p.report_id).await.map_err(db_err)?;
    let Some(current) = current else {
        return Err(JobError::fatal("the report was deleted"));
    };
    let previous: Option<agents::report::ReportDraft> = current
        .draft
        .as_ref()
        .and_then(|d| serde_json::from_value(d.clone()).ok());
    let (draft, note) = match (p.section, previous) {
        (Some(index), Some(previous)) => {
            let heading = previous.sections.get(index).map(|s| s.heading.clone());
            let draft = agents::report_edit::replace_section(&previous, index, &draft)
                .map_err(JobError::fatal)?;
            (
                draft,
                format!("Regenerated “{}”", heading.unwrap_or_default()),
            )
        }
        (Some(_), None) => {
            return Err(JobError::fatal(
                "the report has no draft to regenerate a section of",
            ))
        }
        (None, _) if current.version > 0 => (draft, "Regenerated".to_string()),
        (None, _) => (draft, "Generated".to_string()),
    };
    let markdown = agents::report::render_markdown(&draft, &|id: &str| lookup.get(id).cloned());
    // In first-appearance order, which is how `render_markdown` numbers them: the n-th
    // stored citation is the text's `[n]`.
    let cited = agents::report_edit::cited(&draft);
    let stored = serde_json::to_value(&draft).map_err(|e| JobError::fatal(e.to_string()))?;
    let report = checked["citation_report"].clone();
    documents::save_version(
        &db,
        &p.report_id,
        &documents::NewVersion {
            draft: &stored,
            title: &draft.title,
            markdown: &markdown,
            citations: &cited,
            by: "model",
            user_id: None,
            note: &note,
            expected: None,
            citation_report: Some(&report),
        },
    )
    .await
    .map_err(|e| match e {
        documents::VersionError::Missing => JobError::fatal("the report was deleted"),
        documents::VersionError::Stale { .. } => {
            JobError::retryable("the report changed; retrying")
        }
        documents::VersionError::Store(e) => db_err(e),
    })?;
    Ok(json!({"report_id": p.report_id, "citations": cited.len(),
              "bullets": draft.sections.iter().map(|s| s.bullets.len()).sum::<usize>()}))
}

// ------------------------------------------------------------------ resume.refresh

/// The payload of `resume.refresh`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResumePayload {
    pub user_id: String,
}

impl JobPayload for ResumePayload {
    const KIND: JobKind = JobKind::ResumeRefresh;
}

/// Entries a resume reads at most (the newest).
const RESUME_MAX_ENTRIES: usize = 400;

async fn generate_resume(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let p: ResumePayload = ctx.payload()?;
    let db = ctx.tenant_db().await?;
    let platform_db = ctx.state.store.platform();
    let user = platform::user_by_id(platform_db, &p.user_id)
        .await
        .map_err(db_err)?
        .ok_or_else(|| JobError::fatal("the user no longer exists"))?;
    let workspace = platform::tenant_by_id(platform_db, ctx.tenant()?)
        .await
        .map_err(db_err)?
        .map(|t| t.name)
        .unwrap_or_default();
    let rows = entries_of(&db, &p.user_id, None, None, RESUME_MAX_ENTRIES).await?;
    let confirmed = skills::list(
        &db,
        &p.user_id,
        Some("confirmed"),
        None,
        skills::SkillSort::Evidence,
    )
    .await
    .map_err(db_err)?;
    let manual = documents::resume(&db, &p.user_id)
        .await
        .map_err(db_err)?
        .and_then(|r| r.manual);
    let input = agents::resume::ResumeInput {
        profile: agents::resume::Profile {
            name: user.display_name.clone(),
            email: user.email.clone(),
            label: None,
            summary: None,
            location: None,
        },
        workspace_name: workspace,
        entries: rows.iter().map(agents::Entry::from).collect(),
        confirmed_skills: confirmed
            .iter()
            .map(|s| agents::resume::ConfirmedSkill {
                name: s.name.clone(),
                category: s.category.clone(),
                level: s.level.clone(),
                keywords: Vec::new(),
            })
            .collect(),
        manual,
    };
    let draft = ctx
        .state
        .llm
        .run_agent(&call_ctx(&ctx)?, &ResumeRefresh::default(), &input)
        .await
        .map_err(llm_err)?;
    // Stored without the manual edits: they are merged in on every read, so that
    // dropping an edit (`null`) brings back what the generator wrote.
    let generated = serde_json::to_value(agents::resume::generate(&input, &draft, Utc::now()))
        .map_err(|e| JobError::fatal(e.to_string()))?;
    Ok(json!({"resume": generated, "entries": rows.len(), "confirmed_skills": confirmed.len()}))
}

async fn store_resume(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let p: ResumePayload = ctx.payload()?;
    let out = ctx.output("generate").cloned().unwrap_or(json!({}));
    let db = ctx.tenant_db().await?;
    documents::set_generated(&db, &p.user_id, &out["resume"], &ctx.job.id.to_string())
        .await
        .map_err(db_err)?;
    Ok(
        json!({"user_id": p.user_id, "entries": out["entries"], "confirmed_skills": out["confirmed_skills"]}),
    )
}
