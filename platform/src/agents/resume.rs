//! `resume.refresh`: a JSON Resume (jsonresume.org schema v1.0.0) built from the
//! profile, confirmed skills and work-log outcomes, with the user's manual edits on top.
//!
//! **What the model writes.** Only `basics.summary` and the wording of the highlights
//! ([`ResumeDraft`]). Each polished highlight names the entry it rewrites; a rewrite
//! that names an entry not offered, is empty, or contains a number its entry doesn't
//! contain is replaced by the deterministic wording, so the model can neither add nor
//! drop a highlight nor change a figure. A summary with a number that isn't in the
//! facts it was given is sent back for repair.
//!
//! **Mapping** ([`generate`]): `basics` ← profile (`location` becomes
//! `{"city": <the profile's location text>}`, unparsed); one `work` item for the
//! workspace (`name` = workspace name, `position` = profile label, `startDate` = first
//! entry's date, no `endDate` = current, `summary` lists the projects by entry count,
//! `highlights` = the polished outcomes); `skills` = one group per category of the
//! confirmed skills (`name` = category label, `keywords` = skill names then their own
//! keywords, `level` only when every skill of the group has the same level); `meta`
//! = `{version: "v1.0.0", lastModified}`. Dates are `YYYY-MM-DD`.
//!
//! **Highlights** are the entries with an outcome, ranked by how measurable the outcome
//! is ([`measurable_score`]), then newest first; at most [`MAX_HIGHLIGHTS`].
//!
//! **Manual edits** ([`merge_manual`]): the manual document is stored separately and
//! applied on top of every freshly generated one, so refreshes never lose it. Rule,
//! field by field: a manual value wins; a manual `null` deletes the field; objects
//! merge recursively; arrays of objects that all have a `name` (work, skills, …) merge
//! item by item matched on the name (case-insensitive): matched items merge
//! recursively, manual order first, then generated items the manual document doesn't
//! mention (so new skills still appear); any other array (highlights, keywords) is
//! replaced whole by the manual one. Top-level `meta` is always the generated one.
//! A generated item is hidden by a manual `{"name": …, "hidden": true}` (it stays
//! hidden on every refresh); an empty manual array hides a whole section, and a manual
//! `null` brings the generated one back.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::agent::{estimate_prompt_tokens, Agent, Budget, Message, CONTEXT_TOKENS};
use super::analysis::measurable_score;
use super::entries::{newest_first, render, Entry, View};
use super::schema;
use super::taxonomy::{canonical, Category};
use super::text::{
    estimate_tokens, fill, parse_json_object, sentence_strs, squash_ws, truncate,
    unsupported_numbers,
};

const SYSTEM_PROMPT: &str = include_str!("../../prompts/resume_refresh.v1.txt");

/// JSON Resume schema the output follows.
pub const JSON_RESUME_SCHEMA: &str =
    "https://raw.githubusercontent.com/jsonresume/resume-schema/v1.0.0/schema.json";
/// `meta.version` of generated documents.
pub const RESUME_VERSION: &str = "v1.0.0";
/// Longest summary, in characters.
pub const SUMMARY_MAX: usize = 600;
/// Longest highlight, in characters.
pub const HIGHLIGHT_MAX: usize = 220;
/// Most highlights.
pub const MAX_HIGHLIGHTS: usize = 8;
/// Most confirmed skills named in the prompt.
pub const MAX_SKILLS_SHOWN: usize = 40;
/// Most projects named in the prompt and the work summary.
pub const MAX_PROJECTS: usize = 8;
/// Skills named in the offline summary.
const SUMMARY_SKILLS: usize = 5;

/// The user's profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Full name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Role or headline ("Senior backend engineer").
    #[serde(default)]
    pub label: Option<String>,
    /// The user's own summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Free-text location ("Berlin, Germany").
    #[serde(default)]
    pub location: Option<String>,
}

/// A skill the user confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmedSkill {
    /// Name.
    pub name: String,
    /// Category id or label (free text is kept as the group name).
    pub category: String,
    /// Level, if any.
    #[serde(default)]
    pub level: Option<String>,
    /// Extra keywords ("indexing", "replication").
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// What `resume.refresh` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResumeInput {
    /// Profile.
    pub profile: Profile,
    /// Workspace (tenant) name, used as the work item's organisation.
    pub workspace_name: String,
    /// Work-log entries.
    pub entries: Vec<Entry>,
    /// Confirmed skills.
    #[serde(default)]
    pub confirmed_skills: Vec<ConfirmedSkill>,
    /// The user's manual edits: a JSON Resume subset.
    #[serde(default)]
    pub manual: Option<Value>,
}

/// A highlight's wording, tied to the entry it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Highlight {
    /// The entry whose outcome it states.
    pub entry_id: String,
    /// The wording.
    pub text: String,
}

/// What the model (or the offline path) writes: the summary and highlight wording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeDraft {
    /// `basics.summary`.
    pub summary: String,
    /// One per highlight candidate, in candidate order.
    pub highlights: Vec<Highlight>,
}

/// A JSON Resume document (the subset this module writes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonResume {
    /// Schema URL.
    #[serde(rename = "$schema")]
    pub schema: String,
    /// Basics.
    pub basics: Basics,
    /// Work.
    pub work: Vec<Work>,
    /// Skill groups.
    pub skills: Vec<SkillGroup>,
    /// Meta.
    pub meta: Meta,
}

/// `basics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basics {
    /// Name.
    pub name: String,
    /// Headline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Email.
    pub email: String,
    /// Summary.
    pub summary: String,
    /// Location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// `basics.location`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The profile's location text.
    pub city: String,
}

/// One `work` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Work {
    /// Organisation.
    pub name: String,
    /// Role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// `YYYY-MM-DD`.
    pub start_date: String,
    /// `YYYY-MM-DD`; absent while current.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    /// Projects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Achievements.
    pub highlights: Vec<String>,
}

/// One `skills` item (a category).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillGroup {
    /// Category label.
    pub name: String,
    /// Shared level, if all skills have the same one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// Skill names, then their keywords.
    pub keywords: Vec<String>,
}

/// `meta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// Document version.
    pub version: String,
    /// ISO date-time of generation.
    pub last_modified: String,
}

/// The `resume.refresh` agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeRefresh {
    /// Size limits (`max_entries` caps the highlight candidates shown).
    pub budget: Budget,
}

impl Default for ResumeRefresh {
    fn default() -> Self {
        Self {
            budget: Budget {
                context_tokens: CONTEXT_TOKENS,
                prompt_tokens: 3_500,
                max_entries: MAX_HIGHLIGHTS,
                entry_chars: 300,
                output_tokens: 1_200,
            },
        }
    }
}

/// Entries with an outcome, the most measurable outcome first (so measurable ones, at
/// least [`MEASURABLE`](super::analysis::MEASURABLE), come before the rest), then newest; at most [`MAX_HIGHLIGHTS`].
pub fn highlight_candidates(entries: &[Entry]) -> Vec<&Entry> {
    let mut with_outcome: Vec<(u32, &Entry)> = newest_first(entries)
        .into_iter()
        .filter_map(|e| {
            let outcome = e.outcome_text()?;
            let score = sentence_strs(outcome)
                .iter()
                .map(|s| measurable_score(s))
                .max()
                .unwrap_or(0);
            Some((score, e))
        })
        .collect();
    // Stable: newest-first order is kept among equal scores.
    with_outcome.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
    with_outcome
        .into_iter()
        .take(MAX_HIGHLIGHTS)
        .map(|(_, e)| e)
        .collect()
}

fn plain(text: &str) -> String {
    squash_ws(&text.replace('`', "").replace("**", ""))
}

/// The deterministic wording of an entry's highlight: its outcome, prefixed with the
/// title when the outcome alone is too terse to stand on a resume (under six words).
pub fn offline_highlight(entry: &Entry) -> String {
    let outcome = plain(entry.outcome_text().unwrap_or(""));
    let text = if outcome.split_whitespace().count() < 6 {
        format!("{}: {outcome}", plain(&entry.title))
    } else {
        outcome
    };
    truncate(&text, HIGHLIGHT_MAX)
}

fn level_rank(level: Option<&str>) -> u8 {
    match level.map(|l| l.trim().to_lowercase()).as_deref() {
        Some("expert") | Some("master") => 4,
        Some("advanced") => 3,
        Some("intermediate") => 2,
        Some("beginner") | Some("novice") => 1,
        _ => 0,
    }
}

/// Projects by entry count (ties by name), at most [`MAX_PROJECTS`].
fn projects(entries: &[Entry]) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for e in newest_first(entries) {
        if let Some(p) = e
            .project
            .as_deref()
            .map(squash_ws)
            .filter(|p| !p.is_empty())
        {
            *counts.entry(p).or_default() += 1;
        }
    }
    let mut list: Vec<(String, usize)> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list.truncate(MAX_PROJECTS);
    list
}

fn month(d: NaiveDate) -> String {
    d.format("%B %Y").to_string()
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The offline summary: the user's own summary when there is one; otherwise role, top
/// confirmed skills (by level, then as given) and what the work log covers.
pub fn offline_summary(input: &ResumeInput) -> String {
    if let Some(own) = input
        .profile
        .summary
        .as_deref()
        .map(squash_ws)
        .filter(|s| !s.is_empty())
    {
        return truncate(&own, SUMMARY_MAX);
    }
    let role = input
        .profile
        .label
        .as_deref()
        .map(squash_ws)
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "Professional".to_string());
    let mut skills: Vec<&ConfirmedSkill> = input.confirmed_skills.iter().collect();
    skills.sort_by_key(|s| std::cmp::Reverse(level_rank(s.level.as_deref())));
    let top: Vec<String> = skills
        .iter()
        .map(|s| squash_ws(&s.name))
        .filter(|n| !n.is_empty())
        .take(SUMMARY_SKILLS)
        .collect();
    let mut summary = if top.is_empty() {
        format!("{role}.")
    } else {
        format!("{role} with hands-on experience in {}.", join_and(&top))
    };
    let entries = newest_first(&input.entries);
    if let (Some(last), Some(first)) = (entries.first(), entries.last()) {
        let n = entries.len();
        let mut s = format!(
            " Work log of {n} {} from {} to {}",
            if n == 1 { "entry" } else { "entries" },
            month(first.date),
            month(last.date)
        );
        let p = projects(&input.entries).len();
        if p > 0 {
            s.push_str(&format!(
                " across {p} {}",
                if p == 1 { "project" } else { "projects" }
            ));
        }
        let outcomes = entries
            .iter()
            .filter(|e| e.outcome_text().is_some())
            .count();
        if outcomes > 0 {
            s.push_str(&format!(", {outcomes} with a recorded outcome"));
        }
        s.push('.');
        summary.push_str(&s);
    }
    truncate(&summary, SUMMARY_MAX)
}

impl ResumeRefresh {
    fn system(&self) -> String {
        fill(
            SYSTEM_PROMPT,
            &[
                ("summary_max", &SUMMARY_MAX.to_string()),
                ("highlight_max", &HIGHLIGHT_MAX.to_string()),
            ],
        )
    }

    fn facts(input: &ResumeInput) -> String {
        let p = &input.profile;
        let line = |label: &str, value: Option<&str>, max: usize| -> String {
            value
                .map(squash_ws)
                .filter(|v| !v.is_empty())
                .map(|v| format!("{label}: {}\n", truncate(&v, max)))
                .unwrap_or_default()
        };
        let mut facts = String::new();
        facts.push_str(&line("Name", Some(&p.name), 100));
        facts.push_str(&line("Role", p.label.as_deref(), 100));
        facts.push_str(&line("Location", p.location.as_deref(), 100));
        facts.push_str(&line(
            "Their own summary (keep its facts)",
            p.summary.as_deref(),
            SUMMARY_MAX,
        ));
        facts.push_str(&line("Workspace", Some(&input.workspace_name), 100));
        let entries = newest_first(&input.entries);
        if let (Some(last), Some(first)) = (entries.first(), entries.last()) {
            let outcomes = entries
                .iter()
                .filter(|e| e.outcome_text().is_some())
                .count();
            facts.push_str(&format!(
                "Work log: {} entries from {} to {}, {outcomes} with a recorded outcome.\n",
                entries.len(),
                month(first.date),
                month(last.date)
            ));
        }
        let projects: Vec<String> = projects(&input.entries)
            .into_iter()
            .map(|(name, n)| format!("{} ({n} entries)", truncate(&name, 60)))
            .collect();
        if !projects.is_empty() {
            // The count is stated so a summary that mentions it is grounded.
            facts.push_str(&format!(
                "Projects ({}): {}.\n",
                projects.len(),
                projects.join(", ")
            ));
        }
        let skills: Vec<String> = input
            .confirmed_skills
            .iter()
            .take(MAX_SKILLS_SHOWN)
            .map(|s| {
                let name = truncate(&squash_ws(&s.name), 60);
                match s.level.as_deref().map(squash_ws).filter(|l| !l.is_empty()) {
                    Some(level) => format!("{name} ({})", truncate(&level, 20)),
                    None => name,
                }
            })
            .collect();
        if !skills.is_empty() {
            facts.push_str(&format!("Confirmed skills: {}.\n", skills.join(", ")));
        }
        facts
    }

    /// Shown highlight candidates and the messages.
    fn build<'a>(&self, input: &'a ResumeInput) -> (Vec<&'a Entry>, Vec<Message>) {
        let system = Message::system(self.system());
        let facts = Self::facts(input);
        let scaffold = Self::user(&facts, "");
        let fixed = estimate_prompt_tokens(&[system.clone(), Message::user(scaffold)]);
        let mut allowance = self.budget.prompt_tokens.saturating_sub(fixed);
        let view = View {
            content_chars: self.budget.entry_chars,
            tags: false,
            project: true,
        };
        let mut shown = Vec::new();
        let mut blocks = Vec::new();
        for entry in highlight_candidates(&input.entries)
            .into_iter()
            .take(self.budget.max_entries)
        {
            let block = render(entry, view);
            let cost = estimate_tokens(&block) + 1;
            if cost > allowance {
                break;
            }
            allowance -= cost;
            shown.push(entry);
            blocks.push(block);
        }
        let user = Self::user(&facts, &blocks.join("\n\n"));
        (shown, vec![system, Message::user(user)])
    }

    fn user(facts: &str, achievements: &str) -> String {
        let achievements = if achievements.is_empty() {
            "(none: return an empty \"highlights\" list)".to_string()
        } else {
            achievements.to_string()
        };
        format!(
            "Facts:\n{facts}\nAchievements to polish (one highlight each):\n\n{achievements}\n\nWrite the summary and the highlights."
        )
    }
}

impl Agent for ResumeRefresh {
    type Input = ResumeInput;
    type Output = ResumeDraft;
    const NAME: &'static str = "resume.refresh";
    const PROMPT_VERSION: &'static str = "v1";

    fn budget(&self) -> &Budget {
        &self.budget
    }

    fn messages(&self, input: &ResumeInput) -> Vec<Message> {
        self.build(input).1
    }

    fn schema(&self, input: &ResumeInput) -> Value {
        let (shown, _) = self.build(input);
        let ids: Vec<&str> = shown.iter().map(|e| e.id.as_str()).collect();
        let entry_id = if ids.is_empty() {
            schema::string(1, 100)
        } else {
            schema::string_enum(&ids)
        };
        let highlight = schema::object(vec![
            ("entry_id", entry_id),
            ("text", schema::string(1, HIGHLIGHT_MAX)),
        ]);
        schema::object(vec![
            ("summary", schema::string(1, SUMMARY_MAX)),
            ("highlights", schema::array(highlight, 0, ids.len())),
        ])
    }

    fn max_tokens(&self, input: &ResumeInput) -> u32 {
        let shown = self.build(input).0.len() as u32;
        (250 + 90 * shown).min(self.budget.output_tokens)
    }

    fn parse(&self, raw: &str, input: &ResumeInput) -> Result<ResumeDraft, String> {
        let value = parse_json_object(raw)?;
        schema::require_shape(&value, &self.schema(input), &["entry_id"])?;
        let answer: ResumeDraft = serde_json::from_value(value).map_err(|e| e.to_string())?;
        let (shown, _) = self.build(input);

        let summary = squash_ws(&answer.summary);
        if summary.is_empty() {
            return Err("\"summary\" is empty; write two or three sentences".into());
        }
        // Numbers may come from the facts or the shown entries' own text — not from ids
        // or dates in the <entry> tags, which would let almost any number through.
        let facts = Self::facts(input);
        let mut sources: Vec<&str> = vec![facts.as_str()];
        sources.extend(shown.iter().flat_map(|e| e.texts()));
        let invented = unsupported_numbers(&summary, &sources);
        if !invented.is_empty() {
            return Err(format!(
                "the summary mentions {}, which the facts don't contain; use only numbers given in the facts",
                invented.join(", ")
            ));
        }

        let mut polished: HashMap<&str, String> = HashMap::new();
        for h in &answer.highlights {
            let Some(entry) = shown.iter().find(|e| e.id == h.entry_id) else {
                continue;
            };
            let text = squash_ws(&h.text);
            let text = text
                .trim_start_matches(|c: char| matches!(c, '-' | '*' | '•') || c.is_whitespace())
                .to_string();
            let grounded = unsupported_numbers(&text, &entry.texts()).is_empty();
            if !text.is_empty() && grounded {
                polished
                    .entry(entry.id.as_str())
                    .or_insert_with(|| truncate(&text, HIGHLIGHT_MAX));
            }
        }
        Ok(ResumeDraft {
            summary: truncate(&summary, SUMMARY_MAX),
            highlights: shown
                .iter()
                .map(|e| Highlight {
                    entry_id: e.id.clone(),
                    text: polished
                        .remove(e.id.as_str())
                        .unwrap_or_else(|| offline_highlight(e)),
                })
                .collect(),
        })
    }

    fn offline(&self, input: &ResumeInput) -> ResumeDraft {
        let (shown, _) = self.build(input);
        ResumeDraft {
            summary: offline_summary(input),
            highlights: shown
                .iter()
                .map(|e| Highlight {
                    entry_id: e.id.clone(),
                    text: offline_highlight(e),
                })
                .collect(),
        }
    }

    fn without_model(&self, input: &ResumeInput) -> Option<ResumeDraft> {
        // Nothing to summarise or polish: the deterministic text is as good.
        (input.entries.is_empty() && input.confirmed_skills.is_empty()).then(|| self.offline(input))
    }
}

/// Skill groups by category, in [`Category`] display order, then free-text categories
/// alphabetically (see the module docs for keywords and level). A skill with an empty
/// category takes its taxonomy category, or "Other".
fn skill_groups(skills: &[ConfirmedSkill]) -> Vec<SkillGroup> {
    let mut groups: Vec<(String, Vec<&ConfirmedSkill>)> = Vec::new();
    for skill in skills {
        if squash_ws(&skill.name).is_empty() {
            continue;
        }
        let label = if skill.category.trim().is_empty() {
            canonical(&skill.name)
                .map_or(Category::Other, |e| e.category)
                .label()
                .to_string()
        } else {
            Category::parse(&skill.category)
                .map_or_else(|| squash_ws(&skill.category), |c| c.label().to_string())
        };
        match groups.iter_mut().find(|g| g.0 == label) {
            Some(g) => g.1.push(skill),
            None => groups.push((label, vec![skill])),
        }
    }
    let rank = |label: &str| {
        Category::parse(label)
            .and_then(|c| Category::ALL.iter().position(|x| *x == c))
            .unwrap_or(usize::MAX)
    };
    groups.sort_by(|a, b| rank(&a.0).cmp(&rank(&b.0)).then_with(|| a.0.cmp(&b.0)));
    groups
        .into_iter()
        .map(|(name, skills)| {
            let mut seen = HashSet::new();
            let mut keywords = Vec::new();
            let names = skills.iter().map(|s| squash_ws(&s.name));
            let extra = skills
                .iter()
                .flat_map(|s| s.keywords.iter().map(|k| squash_ws(k)));
            for k in names.chain(extra) {
                if !k.is_empty() && seen.insert(k.to_lowercase()) {
                    keywords.push(k);
                }
            }
            let levels: HashSet<String> = skills
                .iter()
                .map(|s| {
                    s.level
                        .as_deref()
                        .map(squash_ws)
                        .unwrap_or_default()
                        .to_lowercase()
                })
                .collect();
            let level = match levels.into_iter().collect::<Vec<_>>().as_slice() {
                [one] if !one.is_empty() => Some(one.clone()),
                _ => None,
            };
            SkillGroup {
                name,
                level,
                keywords,
            }
        })
        .collect()
}

/// The generated document (before manual edits) from the input and a draft.
pub fn generate(input: &ResumeInput, draft: &ResumeDraft, now: DateTime<Utc>) -> JsonResume {
    let profile = &input.profile;
    let nonempty = |s: Option<&str>| s.map(squash_ws).filter(|s| !s.is_empty());
    let entries = newest_first(&input.entries);
    let work = match entries.last() {
        None => Vec::new(),
        Some(first) => {
            let projects: Vec<String> = projects(&input.entries)
                .into_iter()
                .map(|(p, _)| p)
                .collect();
            vec![Work {
                name: squash_ws(&input.workspace_name),
                position: nonempty(profile.label.as_deref()),
                start_date: first.date.format("%Y-%m-%d").to_string(),
                end_date: None,
                summary: (!projects.is_empty())
                    .then(|| format!("Projects: {}.", projects.join(", "))),
                highlights: draft
                    .highlights
                    .iter()
                    .map(|h| squash_ws(&h.text))
                    .filter(|t| !t.is_empty())
                    .collect(),
            }]
        }
    };
    JsonResume {
        schema: JSON_RESUME_SCHEMA.to_string(),
        basics: Basics {
            name: squash_ws(&profile.name),
            label: nonempty(profile.label.as_deref()),
            email: profile.email.trim().to_string(),
            summary: squash_ws(&draft.summary),
            location: nonempty(profile.location.as_deref()).map(|city| Location { city }),
        },
        work,
        skills: skill_groups(&input.confirmed_skills),
        meta: Meta {
            version: RESUME_VERSION.to_string(),
            last_modified: now.format("%Y-%m-%dT%H:%M:%S").to_string(),
        },
    }
}

/// The final document: [`generate`], then the input's manual edits via [`merge_manual`].
pub fn build_resume(input: &ResumeInput, draft: &ResumeDraft, now: DateTime<Utc>) -> Value {
    let generated = match serde_json::to_value(generate(input, draft, now)) {
        Ok(v) => v,
        // Serialising plain structs of strings can't fail; keep the signature total.
        Err(_) => Value::Object(Map::new()),
    };
    match &input.manual {
        Some(manual) => merge_manual(generated, manual),
        None => generated,
    }
}

fn is_hidden(item: &Value) -> bool {
    item.get("hidden") == Some(&Value::Bool(true))
}

/// Applies manual edits to a generated document (the rule is in the module docs), with
/// hidden items left out. A manual value that isn't an object is ignored.
pub fn merge_manual(generated: Value, manual: &Value) -> Value {
    let mut doc = merge_edits(generated, manual);
    if let Value::Object(sections) = &mut doc {
        for section in sections.values_mut() {
            if let Value::Array(items) = section {
                items.retain(|item| !is_hidden(item));
            }
        }
    }
    doc
}

/// Merges a new edit into the stored edits by the same rule, keeping hidden markers.
pub fn merge_edits(generated: Value, manual: &Value) -> Value {
    let (Value::Object(mut out), Value::Object(edits)) = (generated.clone(), manual) else {
        return generated;
    };
    for (key, edit) in edits {
        if key == "meta" {
            continue;
        }
        match merge_value(out.remove(key), edit) {
            Some(v) => {
                out.insert(key.clone(), v);
            }
            None => {
                out.remove(key);
            }
        }
    }
    Value::Object(out)
}

fn merge_value(generated: Option<Value>, manual: &Value) -> Option<Value> {
    match (generated, manual) {
        (_, Value::Null) => None,
        (Some(Value::Object(mut g)), Value::Object(m)) => {
            for (k, v) in m {
                match merge_value(g.remove(k), v) {
                    Some(x) => {
                        g.insert(k.clone(), x);
                    }
                    None => {
                        g.remove(k);
                    }
                }
            }
            Some(Value::Object(g))
        }
        (Some(Value::Array(g)), Value::Array(m)) if is_named_list(m) => Some(merge_named(g, m)),
        (_, other) => Some(strip_nulls(other)),
    }
}

fn item_name(v: &Value) -> Option<String> {
    v.get("name")
        .and_then(Value::as_str)
        .map(|n| squash_ws(n).to_lowercase())
        .filter(|n| !n.is_empty())
}

fn is_named_list(items: &[Value]) -> bool {
    !items.is_empty()
        && items
            .iter()
            .all(|v| v.is_object() && item_name(v).is_some())
}

fn merge_named(generated: Vec<Value>, manual: &[Value]) -> Value {
    let mut remaining: Vec<Option<Value>> = generated.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(manual.len() + remaining.len());
    for edit in manual {
        let name = item_name(edit);
        let matched = remaining
            .iter_mut()
            .find(|g| g.as_ref().is_some_and(|g| item_name(g) == name))
            .and_then(Option::take);
        // `{"name": …, "hidden": true}` hides the item of that name: it takes the item's
        // place as a marker (so the stored edits keep hiding it on every refresh), and
        // [`merge_manual`] leaves markers out of the final document.
        if is_hidden(edit) {
            out.push(edit.clone());
            continue;
        }
        if let Some(v) = merge_value(matched, edit) {
            out.push(v);
        }
    }
    out.extend(remaining.into_iter().flatten());
    Value::Array(out)
}

/// A manual value without its `null` fields (deleting what doesn't exist is a no-op).
fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::entries::testing::{fixture, many_long};
    use crate::agents::schema::check;
    use serde_json::json;

    fn agent() -> ResumeRefresh {
        ResumeRefresh::default()
    }

    fn skills() -> Vec<ConfirmedSkill> {
        let s =
            |name: &str, category: &str, level: Option<&str>, keywords: &[&str]| ConfirmedSkill {
                name: name.into(),
                category: category.into(),
                level: level.map(String::from),
                keywords: keywords.iter().map(|k| k.to_string()).collect(),
            };
        vec![
            s("Kafka", "architecture", Some("intermediate"), &[]),
            s(
                "PostgreSQL",
                "databases",
                Some("advanced"),
                &["indexing", "postgresql"],
            ),
            s("Rust", "languages", Some("advanced"), &[]),
            s("Redis", "databases", Some("advanced"), &[]),
            s("Mentoring", "Leadership & collaboration", None, &[]),
            s("Payments domain", "Domain knowledge", None, &[]),
        ]
    }

    fn input() -> ResumeInput {
        ResumeInput {
            profile: Profile {
                name: "Priya Raman".into(),
                email: "priya@example.com".into(),
                label: Some("Senior backend engineer".into()),
                summary: None,
                location: Some("Berlin, Germany".into()),
            },
            workspace_name: "Ledgerly".into(),
            entries: fixture(),
            confirmed_skills: skills(),
            manual: None,
        }
    }

    fn now() -> DateTime<Utc> {
        "2025-02-20T10:30:00Z".parse().unwrap()
    }

    #[test]
    fn candidates_are_measurable_outcomes_first() {
        let inp = input();
        let c = highlight_candidates(&inp.entries);
        assert_eq!(c.len(), MAX_HIGHLIGHTS);
        let ids: Vec<&str> = c.iter().map(|e| e.id.as_str()).collect();
        // The most measurable outcome (a before/after with units) first; wl_27's outcome
        // has no number, so it only gets in if there's room (there isn't).
        assert_eq!(ids[0], "wl_02");
        assert!(!ids.contains(&"wl_27"), "{ids:?}");
        assert!(ids.contains(&"wl_24") && ids.contains(&"wl_13"), "{ids:?}");
    }

    #[test]
    fn messages_carry_facts_and_achievements_within_budget() {
        let a = agent();
        let msgs = a.messages(&input());
        assert!(!msgs[0].content.contains("{{"));
        assert!(msgs[0].content.contains("keeps every number"));
        let user = &msgs[1].content;
        assert!(user.contains("Role: Senior backend engineer"));
        assert!(user.contains(
            "Work log: 30 entries from January 2025 to February 2025, 11 with a recorded outcome."
        ));
        assert!(user.contains("Projects (4): Payments API (14 entries)"));
        assert!(user.contains("Confirmed skills: Kafka (intermediate), PostgreSQL (advanced)"));
        assert!(user.contains("<entry id=\"wl_24\""));
        assert!(estimate_prompt_tokens(&msgs) <= a.budget.prompt_tokens);

        let mut big = input();
        big.entries = many_long(500);
        big.profile.summary = Some("s ".repeat(10_000));
        let msgs = a.messages(&big);
        let tokens = estimate_prompt_tokens(&msgs);
        assert!(tokens <= a.budget.prompt_tokens, "{tokens}");
        assert!(tokens + a.max_tokens(&big) as usize <= CONTEXT_TOKENS);
    }

    #[test]
    fn parse_keeps_grounded_polish_and_falls_back_otherwise() {
        let inp = input();
        let raw = json!({
            "summary": "Senior backend engineer who cut payment latency and built reconciliation pipelines.",
            "highlights": [
                {"entry_id": "wl_02", "text": "- Cut /v1/payments p95 latency from 420 ms to 90 ms"},
                {"entry_id": "wl_24", "text": "Eliminated flaky tests: flake rate from 8% to 0% (was 15%)"},
                {"entry_id": "wl_99", "text": "Invented"},
                {"entry_id": "wl_13", "text": "   "}
            ]
        })
        .to_string();
        let out = agent().parse(&raw, &inp).unwrap();
        let shown = agent().build(&inp).0;
        assert_eq!(out.highlights.len(), shown.len());
        let get = |id: &str| {
            out.highlights
                .iter()
                .find(|h| h.entry_id == id)
                .unwrap()
                .text
                .clone()
        };
        assert_eq!(
            get("wl_02"),
            "Cut /v1/payments p95 latency from 420 ms to 90 ms"
        );
        // 15 isn't in wl_24: the deterministic wording is used instead.
        assert_eq!(
            get("wl_24"),
            offline_highlight(shown.iter().find(|e| e.id == "wl_24").unwrap())
        );
        // Blank wording: the deterministic text (the outcome itself).
        assert_eq!(get("wl_13"), "CI time from 14 min to 6 min per push.");
        assert!(!out.highlights.iter().any(|h| h.entry_id == "wl_99"));
        let v = serde_json::to_value(&out).unwrap();
        assert!(check(&v, &agent().schema(&inp)).is_empty());
    }

    #[test]
    fn parse_rejects_invented_numbers_in_the_summary_and_bad_shapes() {
        let inp = input();
        let raw = json!({"summary": "Engineer with 12 years of experience.", "highlights": []})
            .to_string();
        let err = agent().parse(&raw, &inp).unwrap_err();
        assert!(err.contains("mentions 12"), "{err}");
        let raw =
            json!({"summary": "Engineer with 30 work-log entries.", "highlights": []}).to_string();
        assert!(agent().parse(&raw, &inp).is_ok(), "30 is in the facts");
        let err = agent().parse(r#"{"summary": ["x"]}"#, &inp).unwrap_err();
        assert!(err.contains("$.summary: expected string"), "{err}");
        assert!(
            err.contains("missing required field \"highlights\""),
            "{err}"
        );
        let err = agent().parse("", &inp).unwrap_err();
        assert!(err.contains("empty"), "{err}");
    }

    #[test]
    fn offline_draft_is_grounded_and_valid() {
        let a = agent();
        let inp = input();
        let d = a.offline(&inp);
        assert_eq!(d, a.offline(&inp));
        assert_eq!(
            d.summary,
            "Senior backend engineer with hands-on experience in PostgreSQL, Rust, Redis, Kafka and Mentoring. Work log of 30 entries from January 2025 to February 2025 across 4 projects, 11 with a recorded outcome."
        );
        for h in &d.highlights {
            let e = inp.entries.iter().find(|e| e.id == h.entry_id).unwrap();
            assert!(
                unsupported_numbers(&h.text, &e.texts()).is_empty(),
                "{}",
                h.text
            );
        }
        let v = serde_json::to_value(&d).unwrap();
        assert!(check(&v, &a.schema(&inp)).is_empty());
        let mut own = inp.clone();
        own.profile.summary = Some("  I build payment systems.  ".into());
        assert_eq!(a.offline(&own).summary, "I build payment systems.");
    }

    /// Keys the JSON Resume v1.0.0 schema allows, per object.
    fn allowed_keys(path: &str) -> &'static [&'static str] {
        match path {
            "" => &[
                "$schema",
                "basics",
                "work",
                "volunteer",
                "education",
                "awards",
                "certificates",
                "publications",
                "skills",
                "languages",
                "interests",
                "references",
                "projects",
                "meta",
            ],
            "basics" => &[
                "name", "label", "image", "email", "phone", "url", "summary", "location",
                "profiles",
            ],
            "basics.location" => &["address", "postalCode", "city", "countryCode", "region"],
            "work[]" => &[
                "name",
                "location",
                "description",
                "position",
                "url",
                "startDate",
                "endDate",
                "summary",
                "highlights",
            ],
            "skills[]" => &["name", "level", "keywords"],
            "meta" => &["canonical", "version", "lastModified"],
            other => panic!("unexpected object at {other}"),
        }
    }

    fn assert_json_resume_keys(v: &Value, path: &str) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    assert!(
                        allowed_keys(path).contains(&k.as_str()),
                        "{path}.{k} is not a JSON Resume field"
                    );
                    let sub = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    assert_json_resume_keys(child, &sub);
                }
            }
            Value::Array(items) => {
                for item in items {
                    if item.is_object() {
                        assert_json_resume_keys(item, &format!("{path}[]"));
                    }
                }
            }
            _ => {}
        }
    }

    fn is_date(s: &str) -> bool {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() && s.len() == 10
    }

    #[test]
    fn generated_document_uses_exactly_json_resume_fields() {
        let inp = input();
        let draft = agent().offline(&inp);
        let doc = build_resume(&inp, &draft, now());
        assert_json_resume_keys(&doc, "");
        assert_eq!(doc["$schema"], json!(JSON_RESUME_SCHEMA));
        assert_eq!(doc["basics"]["name"], json!("Priya Raman"));
        assert_eq!(
            doc["basics"]["location"],
            json!({"city": "Berlin, Germany"})
        );
        let work = &doc["work"][0];
        assert_eq!(work["name"], json!("Ledgerly"));
        assert_eq!(work["position"], json!("Senior backend engineer"));
        assert!(is_date(work["startDate"].as_str().unwrap()));
        assert_eq!(work["startDate"], json!("2025-01-06"));
        assert!(work.get("endDate").is_none());
        assert_eq!(
            work["summary"],
            json!("Projects: Payments API, Reconciliation, Ledger, Platform.")
        );
        assert_eq!(work["highlights"].as_array().unwrap().len(), MAX_HIGHLIGHTS);
        assert_eq!(
            doc["meta"],
            json!({"version": "v1.0.0", "lastModified": "2025-02-20T10:30:00"})
        );
        let groups: Vec<&str> = doc["skills"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            groups,
            vec![
                "Languages",
                "Databases",
                "APIs & architecture",
                "Leadership & collaboration",
                "Domain knowledge"
            ]
        );
        let db = &doc["skills"][1];
        assert_eq!(db["keywords"], json!(["PostgreSQL", "Redis", "indexing"]));
        assert_eq!(db["level"], json!("advanced"));
        assert!(doc["skills"][3].get("level").is_none());
    }

    #[test]
    fn empty_inputs_make_a_minimal_valid_document() {
        let mut inp = input();
        inp.entries.clear();
        inp.confirmed_skills.clear();
        inp.profile.label = None;
        inp.profile.location = None;
        let draft = agent().without_model(&inp).unwrap();
        assert_eq!(draft.summary, "Professional.");
        let doc = build_resume(&inp, &draft, now());
        assert_json_resume_keys(&doc, "");
        assert_eq!(doc["work"], json!([]));
        assert_eq!(doc["skills"], json!([]));
        assert!(doc["basics"].get("label").is_none());
    }

    #[test]
    fn manual_edits_survive_a_refresh() {
        let mut inp = input();
        inp.manual = Some(json!({
            "basics": {"summary": "My own words.", "phone": "+49 30 1234", "location": null},
            "work": [{"name": "ledgerly", "position": "Staff engineer", "highlights": ["Hand-written highlight"]},
                     {"name": "Old Co", "position": "Engineer", "startDate": "2019-01-01", "endDate": "2022-12-31", "highlights": [], "summary": null}],
            "skills": [{"name": "Databases", "keywords": ["PostgreSQL"]}],
            "meta": {"version": "v9"},
            "education": [{"institution": "TU Berlin", "area": "CS"}]
        }));
        let draft = agent().offline(&inp);
        let first = build_resume(&inp, &draft, now());
        // A later refresh with more data: the manual document is applied again.
        inp.entries.push(crate::agents::entries::testing::entry(
            "wl_31",
            "2025-02-19",
            "New",
            "New work with Terraform.",
        ));
        let later = "2025-03-01T09:00:00Z".parse().unwrap();
        let second = build_resume(&inp, &agent().offline(&inp), later);
        for doc in [&first, &second] {
            assert_eq!(doc["basics"]["summary"], json!("My own words."));
            assert_eq!(doc["basics"]["phone"], json!("+49 30 1234"));
            assert!(doc["basics"].get("location").is_none(), "null deletes");
            assert_eq!(
                doc["basics"]["name"],
                json!("Priya Raman"),
                "untouched fields stay generated"
            );
            let work = doc["work"].as_array().unwrap();
            assert_eq!(work.len(), 2);
            assert_eq!(work[0]["name"], json!("ledgerly"));
            assert_eq!(work[0]["position"], json!("Staff engineer"));
            assert_eq!(work[0]["highlights"], json!(["Hand-written highlight"]));
            assert_eq!(
                work[0]["startDate"],
                json!("2025-01-06"),
                "generated field kept"
            );
            assert_eq!(work[1]["name"], json!("Old Co"));
            assert!(work[1].get("summary").is_none());
            let skills = doc["skills"].as_array().unwrap();
            assert_eq!(skills[0]["name"], json!("Databases"));
            assert_eq!(skills[0]["keywords"], json!(["PostgreSQL"]));
            assert_eq!(
                skills[0]["level"],
                json!("advanced"),
                "generated level kept"
            );
            assert_eq!(
                skills.len(),
                5,
                "generated groups the manual doesn't mention are appended"
            );
            assert_eq!(
                doc["meta"]["version"],
                json!("v1.0.0"),
                "meta stays generated"
            );
            assert_eq!(doc["education"][0]["institution"], json!("TU Berlin"));
        }
        assert_eq!(second["meta"]["lastModified"], json!("2025-03-01T09:00:00"));
    }

    #[test]
    fn a_hidden_named_item_is_left_out_and_the_rest_keep_the_manual_order() {
        let g = json!({"work": [{"name": "Acme", "position": "Dev"}, {"name": "Initech"}, {"name": "Globex"}]});
        let m = json!({"work": [{"name": "Globex", "position": "Lead"}, {"name": "acme", "hidden": true}]});
        assert_eq!(
            merge_manual(g.clone(), &m),
            json!({"work": [{"name": "Globex", "position": "Lead"}, {"name": "Initech"}]})
        );
        // Stored edits keep the marker, so a later edit doesn't bring the item back.
        let stored = merge_edits(m, &json!({"work": [{"name": "Globex", "position": "CTO"}]}));
        assert_eq!(
            merge_manual(g, &stored)["work"],
            json!([{"name": "Globex", "position": "CTO"}, {"name": "Initech"}])
        );
    }

    #[test]
    fn merge_ignores_a_non_object_manual_document() {
        let g = json!({"a": 1});
        assert_eq!(merge_manual(g.clone(), &json!(["x"])), g);
        assert_eq!(merge_manual(g.clone(), &json!({"a": null})), json!({}));
        assert_eq!(
            merge_manual(g, &json!({"b": {"c": null, "d": 2}})),
            json!({"a": 1, "b": {"d": 2}})
        );
    }
}
