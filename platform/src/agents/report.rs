//! `report.generate`: status, standup, weekly or custom reports whose every bullet cites
//! the entries it came from, and their markdown rendering.
//!
//! Sections per kind: standup — Yesterday / Today / Blockers; status — Highlights /
//! Progress / Risks / Next; weekly — Summary / Shipped / Impact / Next week; custom —
//! chosen by the model (1 to [`MAX_CUSTOM_SECTIONS`]). For fixed kinds the schema makes
//! the headings an enum and [`ReportGenerate::parse`] returns them in order, all present.
//!
//! Only entries dated inside `[from, to]` are shown and citable; the newest that fit
//! the budget are shown (see [`entries`](super::entries)). Parsing removes citations of
//! anything else through [`check_citations`] (its rule: uncited bullets are dropped,
//! except in Blockers/Risks where they are kept and marked "(unverified)").
//!
//! Offline: bullets are the entries themselves — "title: outcome", or "title — first
//! sentence" — and single sentences for blockers and next steps, grouped by cue words:
//! outcomes → Highlights/Impact, "blocked", "waiting on", "risk"… → Blockers/Risks,
//! "next", "will", "plan to"… → Today/Next, "shipped", "deployed", "rolled"… → Shipped,
//! and per-project summaries for weekly reports. Every bullet cites its entry.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::agent::{estimate_prompt_tokens, Agent, Budget, Message, CONTEXT_TOKENS};
use super::citations::check_citations;
use super::entries::{select, Entry, Selection, View};
use super::schema;
use super::text::{fill, md_inline, parse_json_object, sentence_strs, squash_ws, truncate};

const SYSTEM_PROMPT: &str = include_str!("../../prompts/report_generate.v1.txt");

/// Longest title, in characters.
pub const TITLE_MAX: usize = 120;
/// Longest section heading, in characters.
pub const HEADING_MAX: usize = 60;
/// Longest bullet, in characters.
pub const BULLET_MAX: usize = 300;
/// Most bullets per section.
pub const MAX_BULLETS: usize = 8;
/// Most citations per bullet.
pub const MAX_CITATIONS: usize = 5;
/// Most sections of a custom report.
pub const MAX_CUSTOM_SECTIONS: usize = 6;
/// Longest audience description passed to the model, in characters.
pub const AUDIENCE_MAX: usize = 200;
/// Longest user instructions passed to the model, in characters.
pub const INSTRUCTIONS_MAX: usize = 1_000;
/// Longest offline bullet, in characters.
const OFFLINE_BULLET_MAX: usize = 240;

/// The kind of report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportKind {
    /// Highlights / Progress / Risks / Next.
    Status,
    /// Yesterday / Today / Blockers.
    Standup,
    /// Summary / Shipped / Impact / Next week.
    Weekly,
    /// Sections chosen by the model.
    Custom,
}

impl ReportKind {
    /// Human-readable name shown in the report header.
    pub fn label(self) -> &'static str {
        match self {
            ReportKind::Status => "Status report",
            ReportKind::Standup => "Standup",
            ReportKind::Weekly => "Weekly report",
            ReportKind::Custom => "Report",
        }
    }

    /// Stable lowercase identifier (the serde form, and what the store keeps).
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Status => "status",
            ReportKind::Standup => "standup",
            ReportKind::Weekly => "weekly",
            ReportKind::Custom => "custom",
        }
    }

    /// The kind named [`ReportKind::as_str`]; `None` for any other text.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Status, Self::Standup, Self::Weekly, Self::Custom]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// The fixed section headings, in order; empty for custom reports.
    pub fn headings(self) -> &'static [&'static str] {
        match self {
            ReportKind::Standup => &["Yesterday", "Today", "Blockers"],
            ReportKind::Status => &["Highlights", "Progress", "Risks", "Next"],
            ReportKind::Weekly => &["Summary", "Shipped", "Impact", "Next week"],
            ReportKind::Custom => &[],
        }
    }

    fn description(self) -> &'static str {
        match self {
            ReportKind::Standup => "a short daily standup update",
            ReportKind::Status => "a status report",
            ReportKind::Weekly => "a weekly report",
            ReportKind::Custom => "a report",
        }
    }
}

/// What a section of a fixed kind is for (told to the model).
fn heading_purpose(heading: &str) -> &'static str {
    match heading {
        "Yesterday" => "what was done on the previous working days",
        "Today" => "what is planned or in progress now, from the entries' next steps",
        "Blockers" => "what is blocked or waiting on someone",
        "Highlights" => "the most important results, measurable ones first",
        "Progress" => "other work done",
        "Risks" => "problems, delays or dependencies that could hurt the plan",
        "Next" | "Next week" => "next steps the entries mention",
        "Summary" => "two or three bullets on the main themes of the period",
        "Shipped" => "what was released, deployed, merged or delivered",
        "Impact" => "measurable results and who benefited",
        _ => "",
    }
}

/// What `report.generate` reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportInput {
    /// Kind of report.
    pub kind: ReportKind,
    /// First day of the period.
    pub from: NaiveDate,
    /// Last day of the period (inclusive).
    pub to: NaiveDate,
    /// Who will read it ("my manager", "the payments team").
    #[serde(default)]
    pub audience: Option<String>,
    /// Extra instructions from the user.
    #[serde(default)]
    pub instructions: Option<String>,
    /// Candidate entries; those outside `[from, to]` are ignored.
    pub entries: Vec<Entry>,
}

/// Who wrote a bullet's text: the model, or the user correcting its draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    #[default]
    Model,
    User,
}

impl Origin {
    pub fn is_model(&self) -> bool {
        *self == Origin::Model
    }
}

/// One bullet with the entries it is based on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bullet {
    /// The claim.
    pub text: String,
    /// Ids of the entries it came from.
    pub citations: Vec<String>,
    /// Who wrote the text. Absent means the model: its drafts serialize exactly as the
    /// answer schema describes them, and drafts stored before editing existed read back.
    #[serde(default, skip_serializing_if = "Origin::is_model")]
    pub by: Origin,
}

/// One section of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// Heading.
    pub heading: String,
    /// Bullets, possibly none.
    pub bullets: Vec<Bullet>,
}

/// A report before rendering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportDraft {
    /// Title.
    pub title: String,
    /// Sections, in order.
    pub sections: Vec<Section>,
}

impl ReportDraft {
    /// Number of bullets over all sections.
    pub fn bullet_count(&self) -> usize {
        self.sections.iter().map(|s| s.bullets.len()).sum()
    }
}

/// The `report.generate` agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportGenerate {
    /// Size limits.
    pub budget: Budget,
}

impl Default for ReportGenerate {
    fn default() -> Self {
        // Reports need breadth more than depth: many entries, each cut short.
        Self {
            budget: Budget {
                context_tokens: CONTEXT_TOKENS,
                prompt_tokens: 5_500,
                max_entries: 60,
                entry_chars: 500,
                output_tokens: 1_800,
            },
        }
    }
}

/// The entries of `input` dated inside its period.
pub fn entries_in_period(input: &ReportInput) -> Vec<Entry> {
    input
        .entries
        .iter()
        .filter(|e| e.date >= input.from && e.date <= input.to)
        .cloned()
        .collect()
}

fn period(from: NaiveDate, to: NaiveDate) -> String {
    if from == to {
        from.format("%Y-%m-%d").to_string()
    } else {
        format!("{} to {}", from.format("%Y-%m-%d"), to.format("%Y-%m-%d"))
    }
}

/// The title used when the model gives none, and offline.
pub fn default_title(input: &ReportInput) -> String {
    match input.kind {
        ReportKind::Standup => format!("Standup, {}", input.to.format("%Y-%m-%d")),
        kind => format!("{}, {}", kind.label(), period(input.from, input.to)),
    }
}

impl ReportGenerate {
    fn view(&self) -> View {
        View {
            content_chars: self.budget.entry_chars,
            tags: false,
            project: true,
        }
    }

    fn system(&self, kind: ReportKind) -> String {
        let sections_rule = if kind == ReportKind::Custom {
            format!(
                "Choose 1 to {MAX_CUSTOM_SECTIONS} sections with short headings (at most {HEADING_MAX} characters) that suit the request."
            )
        } else {
            let parts: Vec<String> = kind
                .headings()
                .iter()
                .map(|h| format!("\"{h}\" ({})", heading_purpose(h)))
                .collect();
            format!(
                "Write exactly these sections, in this order: {}.",
                parts.join(", ")
            )
        };
        let risk_rule = match kind {
            ReportKind::Standup => "Put problems, things that are blocked or waiting, and risks only in \"Blockers\".",
            ReportKind::Status => "Put problems, things that are blocked or waiting, and risks only in \"Risks\".",
            ReportKind::Weekly => "Mention problems only where they explain a result or next week's plan.",
            ReportKind::Custom => "If there are problems, blockers or risks, put them in a section whose heading contains \"Risks\" or \"Blockers\".",
        };
        fill(
            SYSTEM_PROMPT,
            &[
                ("kind_description", kind.description()),
                ("sections_rule", &sections_rule),
                ("risk_rule", risk_rule),
                ("max_bullets", &MAX_BULLETS.to_string()),
                ("max_citations", &MAX_CITATIONS.to_string()),
                ("title_max", &TITLE_MAX.to_string()),
            ],
        )
    }

    fn user(input: &ReportInput, entries: &str, shown: usize, omitted: usize) -> String {
        let mut text = format!(
            "Report period: {} (inclusive).\n",
            period(input.from, input.to)
        );
        if let Some(audience) = input
            .audience
            .as_deref()
            .map(squash_ws)
            .filter(|a| !a.is_empty())
        {
            text.push_str(&format!(
                "Audience: {}.\n",
                truncate(&audience, AUDIENCE_MAX)
            ));
        }
        if let Some(instr) = input
            .instructions
            .as_deref()
            .map(squash_ws)
            .filter(|i| !i.is_empty())
        {
            text.push_str(&format!(
                "Instructions from the user (follow them unless they conflict with the rules): {}\n",
                truncate(&instr, INSTRUCTIONS_MAX)
            ));
        }
        let omitted_note = if omitted > 0 {
            format!(" ({omitted} older entries of the period are not shown)")
        } else {
            String::new()
        };
        text.push_str(&format!(
            "\nEntries in the period, {shown} shown{omitted_note}:\n\n{entries}\n\nWrite the report."
        ));
        text
    }

    /// Shown entries and messages (shared by messages, schema, parse and offline).
    fn build<'a>(
        &self,
        input: &ReportInput,
        period_entries: &'a [Entry],
    ) -> (Selection<'a>, Vec<Message>) {
        let system = Message::system(self.system(input.kind));
        let scaffold = Self::user(input, "", period_entries.len(), period_entries.len());
        let fixed = estimate_prompt_tokens(&[system.clone(), Message::user(scaffold)]);
        let allowance = self.budget.prompt_tokens.saturating_sub(fixed);
        let selection = select(
            period_entries,
            allowance,
            self.budget.max_entries,
            self.view(),
        );
        let user = Self::user(
            input,
            &selection.text,
            selection.entries.len(),
            selection.omitted,
        );
        (selection, vec![system, Message::user(user)])
    }
}

impl Agent for ReportGenerate {
    type Input = ReportInput;
    type Output = ReportDraft;
    const NAME: &'static str = "report.generate";
    const PROMPT_VERSION: &'static str = "v1";

    fn budget(&self) -> &Budget {
        &self.budget
    }

    fn messages(&self, input: &ReportInput) -> Vec<Message> {
        let period_entries = entries_in_period(input);
        self.build(input, &period_entries).1
    }

    fn schema(&self, input: &ReportInput) -> Value {
        let period_entries = entries_in_period(input);
        let (selection, _) = self.build(input, &period_entries);
        let ids = selection.ids();
        let (citation, max_bullets) = if ids.is_empty() {
            (schema::string(1, 100), 0)
        } else {
            (schema::string_enum(&ids), MAX_BULLETS)
        };
        let bullet = schema::object(vec![
            ("text", schema::string(1, BULLET_MAX)),
            ("citations", schema::array(citation, 1, MAX_CITATIONS)),
        ]);
        let headings = input.kind.headings();
        let (heading, min_sections, max_sections) = if headings.is_empty() {
            (schema::string(1, HEADING_MAX), 1, MAX_CUSTOM_SECTIONS)
        } else {
            (
                schema::string_enum(headings),
                headings.len(),
                headings.len(),
            )
        };
        let section = schema::object(vec![
            ("heading", heading),
            ("bullets", schema::array(bullet, 0, max_bullets)),
        ]);
        schema::object(vec![
            ("title", schema::string(1, TITLE_MAX)),
            (
                "sections",
                schema::array(section, min_sections, max_sections),
            ),
        ])
    }

    fn max_tokens(&self, input: &ReportInput) -> u32 {
        let period_entries = entries_in_period(input);
        let shown = self.build(input, &period_entries).0.entries.len() as u32;
        (300 + 60 * shown).min(self.budget.output_tokens)
    }

    fn parse(&self, raw: &str, input: &ReportInput) -> Result<ReportDraft, String> {
        let value = parse_json_object(raw)?;
        schema::require_shape(&value, &self.schema(input), &["citations"])?;
        let answer: ReportDraft = serde_json::from_value(value).map_err(|e| e.to_string())?;
        let period_entries = entries_in_period(input);
        let (selection, _) = self.build(input, &period_entries);
        let shown_ids = selection.ids();

        let proposed = answer.bullet_count();
        if proposed == 0 && !selection.entries.is_empty() {
            return Err(format!(
                "the report has no bullets although {} entries were shown; write bullets that cite them",
                selection.entries.len()
            ));
        }
        let title = truncate(&squash_ws(&answer.title), TITLE_MAX);
        let draft = ReportDraft {
            title: if title.is_empty() {
                default_title(input)
            } else {
                title
            },
            sections: arrange_sections(input.kind, answer.sections, &shown_ids),
        };
        let (mut draft, report) = check_citations(draft, &selection.dates(), input.from, input.to);
        for section in &mut draft.sections {
            section.bullets.truncate(MAX_BULLETS);
            for bullet in &mut section.bullets {
                bullet.citations.truncate(MAX_CITATIONS);
            }
        }
        let cited = draft
            .sections
            .iter()
            .flat_map(|s| &s.bullets)
            .any(|b| !b.citations.is_empty());
        if proposed > 0 && !cited {
            return Err(format!(
                "no bullet cites an entry that was shown ({} citations removed); cite ids from the <entry> tags: {}",
                report.removed.len(),
                truncate(&shown_ids.join(", "), 200)
            ));
        }
        Ok(draft)
    }

    fn offline(&self, input: &ReportInput) -> ReportDraft {
        let period_entries = entries_in_period(input);
        let (selection, _) = self.build(input, &period_entries);
        offline_draft(input, &selection.entries)
    }

    fn without_model(&self, input: &ReportInput) -> Option<ReportDraft> {
        let period_entries = entries_in_period(input);
        let (selection, _) = self.build(input, &period_entries);
        selection
            .entries
            .is_empty()
            .then(|| offline_draft(input, &[]))
    }
}

/// Cleans bullets and puts sections in the kind's order (all headings present), or for
/// custom reports merges sections with the same heading.
fn arrange_sections(
    kind: ReportKind,
    sections: Vec<Section>,
    shown_ids: &[String],
) -> Vec<Section> {
    let mut out: Vec<Section> = match kind.headings() {
        [] => Vec::new(),
        fixed => fixed
            .iter()
            .map(|h| Section {
                heading: (*h).to_string(),
                bullets: Vec::new(),
            })
            .collect(),
    };
    for section in sections {
        let heading = truncate(&squash_ws(&section.heading), HEADING_MAX);
        let heading = if heading.is_empty() {
            "Notes".to_string()
        } else {
            heading
        };
        let bullets: Vec<Bullet> = section
            .bullets
            .into_iter()
            .filter_map(|b| clean_bullet(b, shown_ids))
            .collect();
        let existing = out
            .iter()
            .position(|s| s.heading.to_lowercase() == heading.to_lowercase());
        match existing {
            Some(i) => out[i].bullets.extend(bullets),
            // Fixed kinds can't get here (the schema made the heading an enum).
            None if kind == ReportKind::Custom && out.len() < MAX_CUSTOM_SECTIONS => {
                out.push(Section { heading, bullets })
            }
            None => {}
        }
    }
    out
}

/// Trims a bullet, moves inline `[id]`/`(id)` mentions of shown entries into its
/// citations, and drops it when no text is left.
fn clean_bullet(bullet: Bullet, shown_ids: &[String]) -> Option<Bullet> {
    let mut text = squash_ws(&bullet.text);
    let mut citations: Vec<String> = Vec::new();
    for id in shown_ids {
        for (open, close) in [("[", "]"), ("(", ")")] {
            let marker = format!("{open}{id}{close}");
            if text.contains(&marker) {
                text = text.replace(&marker, "");
                citations.push(id.clone());
            }
        }
    }
    let text = squash_ws(&text);
    let text = text
        .trim_start_matches(|c: char| matches!(c, '-' | '*' | '•') || c.is_whitespace())
        .to_string();
    let text = truncate(&text, BULLET_MAX);
    if text.is_empty() {
        return None;
    }
    let mut all = bullet.citations;
    all.extend(citations);
    let mut seen = std::collections::HashSet::new();
    all.retain(|c| seen.insert(c.clone()));
    Some(Bullet {
        text,
        citations: all,
        by: Origin::Model,
    })
}

#[rustfmt::skip]
const BLOCKER_CUES: &[&str] = &[
    "blocked", "blocker", "blocking", "waiting on", "waiting for", "stuck", "can't", "cannot",
    "unable to", "depends on", "dependency", "risk", "at risk", "delayed", "slipping",
    "concerned", "concern", "out until", "no access", "pending approval", "on hold",
];
#[rustfmt::skip]
const NEXT_CUES: &[&str] = &[
    "next", "tomorrow", "todo", "to do", "will", "plan to", "planning to", "going to",
    "follow-up", "follow up", "action item", "action items", "remaining", "still need",
    "needs to", "by end of", "by the end of",
];
#[rustfmt::skip]
const SHIP_CUES: &[&str] = &[
    "shipped", "released", "deployed", "launched", "merged", "rolled", "rolled out",
    "went live", "in production", "to production", "delivered", "applied to", "live",
];

/// Whether `lower` contains `phrase` as whole words.
fn has_cue(lower: &str, cues: &[&str]) -> bool {
    cues.iter().any(|cue| {
        lower.match_indices(cue).any(|(i, m)| {
            let before = lower[..i].chars().next_back();
            let after = lower[i + m.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
    })
}

fn plain(text: &str) -> String {
    squash_ws(&text.replace('`', "").replace("**", ""))
}

/// An entry's title, or its date when it has none (the platform always derives one,
/// but an empty bullet would be invalid).
fn entry_label(entry: &Entry) -> String {
    let title = plain(&entry.title);
    if title.is_empty() {
        format!("Entry of {}", entry.date.format("%Y-%m-%d"))
    } else {
        title
    }
}

/// "title: outcome", or "title — first sentence" when there is no outcome.
fn entry_bullet(entry: &Entry) -> Bullet {
    let title = entry_label(entry);
    let text = match entry.outcome_text() {
        Some(outcome) => format!("{title}: {}", plain(outcome)),
        None => match sentence_strs(&entry.content).first() {
            Some(first) if !plain(first).eq_ignore_ascii_case(&title) => {
                format!("{title} — {}", plain(first))
            }
            _ => title,
        },
    };
    Bullet {
        text: truncate(&text, OFFLINE_BULLET_MAX),
        citations: vec![entry.id.clone()],
        by: Origin::Model,
    }
}

/// The first sentence of each entry (content, then outcome) with one of `cues`.
fn cue_bullets(entries: &[&Entry], cues: &[&str]) -> Vec<Bullet> {
    entries
        .iter()
        .filter_map(|e| {
            let sentence = sentence_strs(&e.content)
                .into_iter()
                .chain(e.outcome_text().map(sentence_strs).unwrap_or_default())
                .find(|s| has_cue(&s.to_lowercase(), cues))?;
            Some(Bullet {
                text: truncate(&plain(sentence), OFFLINE_BULLET_MAX),
                citations: vec![e.id.clone()],
                by: Origin::Model,
            })
        })
        .collect()
}

/// At most [`MAX_BULLETS`], keeping the newest (bullets are in chronological order).
fn newest(mut bullets: Vec<Bullet>) -> Vec<Bullet> {
    if bullets.len() > MAX_BULLETS {
        bullets.drain(..bullets.len() - MAX_BULLETS);
    }
    bullets
}

fn section(heading: &str, bullets: Vec<Bullet>) -> Section {
    Section {
        heading: heading.to_string(),
        bullets: newest(bullets),
    }
}

/// The offline report over `entries` (shown entries of the period, oldest first).
fn offline_draft(input: &ReportInput, entries: &[&Entry]) -> ReportDraft {
    let with_outcome: Vec<&Entry> = entries
        .iter()
        .copied()
        .filter(|e| e.outcome_text().is_some())
        .collect();
    let without_outcome: Vec<&Entry> = entries
        .iter()
        .copied()
        .filter(|e| e.outcome_text().is_none())
        .collect();
    let blockers = cue_bullets(entries, BLOCKER_CUES);
    let next = cue_bullets(entries, NEXT_CUES);
    let bullets = |list: &[&Entry]| list.iter().map(|e| entry_bullet(e)).collect::<Vec<_>>();

    let sections = match input.kind {
        ReportKind::Standup => {
            let before: Vec<&Entry> = entries
                .iter()
                .copied()
                .filter(|e| e.date < input.to)
                .collect();
            let today: Vec<&Entry> = entries
                .iter()
                .copied()
                .filter(|e| e.date >= input.to)
                .collect();
            let mut today_bullets = bullets(&today);
            // Next steps from the latest day that has entries.
            let latest = entries.iter().map(|e| e.date).max();
            let latest_entries: Vec<&Entry> = entries
                .iter()
                .copied()
                .filter(|e| Some(e.date) == latest)
                .collect();
            for b in cue_bullets(&latest_entries, NEXT_CUES) {
                if !today_bullets
                    .iter()
                    .any(|t| t.citations == b.citations && t.text == b.text)
                {
                    today_bullets.push(b);
                }
            }
            vec![
                section("Yesterday", bullets(&before)),
                section("Today", today_bullets),
                section("Blockers", blockers),
            ]
        }
        ReportKind::Status => vec![
            section("Highlights", bullets(&with_outcome)),
            section("Progress", bullets(&without_outcome)),
            section("Risks", blockers),
            section("Next", next),
        ],
        ReportKind::Weekly => {
            let shipped: Vec<&Entry> = entries
                .iter()
                .copied()
                .filter(|e| {
                    let lower = format!("{} {}", e.title, e.content).to_lowercase();
                    has_cue(&lower, SHIP_CUES)
                })
                .collect();
            let impact: Vec<Bullet> = with_outcome
                .iter()
                .filter_map(|e| {
                    Some(Bullet {
                        text: truncate(&plain(e.outcome_text()?), OFFLINE_BULLET_MAX),
                        citations: vec![e.id.clone()],
                        by: Origin::Model,
                    })
                })
                .collect();
            vec![
                section("Summary", project_summaries(entries)),
                section("Shipped", bullets(&shipped)),
                section("Impact", impact),
                section("Next week", next),
            ]
        }
        ReportKind::Custom => {
            let mut sections = vec![
                section("Highlights", bullets(&with_outcome)),
                section("Work", bullets(&without_outcome)),
                section("Blockers", blockers),
            ];
            sections.retain(|s| !s.bullets.is_empty());
            if sections.is_empty() {
                sections.push(section("Summary", Vec::new()));
            }
            sections
        }
    };
    ReportDraft {
        title: default_title(input),
        sections,
    }
}

/// One bullet per project (entries without one grouped as "Other work"): the titles of
/// its newest entries, citing exactly those. Largest projects first.
fn project_summaries(entries: &[&Entry]) -> Vec<Bullet> {
    let mut groups: Vec<(String, Vec<&Entry>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for e in entries {
        let name = e
            .project
            .as_deref()
            .map(squash_ws)
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "Other work".to_string());
        let slot = *index.entry(name.clone()).or_insert_with(|| {
            groups.push((name, Vec::new()));
            groups.len() - 1
        });
        groups[slot].1.push(e);
    }
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    groups
        .into_iter()
        .take(MAX_BULLETS)
        .map(|(name, list)| {
            let cited: Vec<&Entry> = list
                .iter()
                .rev()
                .take(MAX_CITATIONS)
                .rev()
                .copied()
                .collect();
            let titles: Vec<String> = cited.iter().map(|e| entry_label(e)).collect();
            Bullet {
                text: truncate(&format!("{name}: {}", titles.join("; ")), BULLET_MAX),
                citations: cited.iter().map(|e| e.id.clone()).collect(),
                by: Origin::Model,
            }
        })
        .collect()
}

/// A bullet the user wrote, as inline Markdown: their emphasis and code spans are kept,
/// while what could change the document's structure is escaped (a leading block marker,
/// brackets that would read as links or citations, angle brackets, backslashes). One
/// line: whitespace is squashed.
fn user_inline(text: &str) -> String {
    let squashed = squash_ws(text);
    let mut out = String::with_capacity(squashed.len() + 8);
    // "* x" and "1. x" at the start would open a list inside the bullet.
    let digits = squashed.chars().take_while(char::is_ascii_digit).count();
    let ordered = digits > 0
        && squashed[digits..].starts_with(['.', ')'])
        && squashed[digits + 1..].starts_with(' ');
    for (i, c) in squashed.chars().enumerate() {
        let leading_marker = i == 0
            && (matches!(c, '#' | '-' | '+' | '>' | '=' | '|')
                || (c == '*' && squashed[1..].starts_with(' ')));
        if matches!(c, '\\' | '[' | ']' | '<' | '>') || leading_marker || (ordered && i == digits) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Renders a draft as markdown. Citations become reference links `[1]`, numbered by
/// first appearance and pointing at the "Sources" section, whose list gives each
/// entry's title and date from `lookup` (an id it doesn't know is shown as such). The
/// model's text is escaped whole; the user's keeps its inline Markdown.
pub fn render_markdown(
    draft: &ReportDraft,
    lookup: &dyn Fn(&str) -> Option<(String, NaiveDate)>,
) -> String {
    let mut numbers: HashMap<&str, usize> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    let mut out = format!("# {}\n", md_inline(&draft.title));
    for section in &draft.sections {
        out.push_str(&format!("\n## {}\n\n", md_inline(&section.heading)));
        if section.bullets.is_empty() {
            out.push_str("_Nothing to report._\n");
            continue;
        }
        for bullet in &section.bullets {
            let refs: Vec<String> = bullet
                .citations
                .iter()
                .map(|id| {
                    let n = *numbers.entry(id.as_str()).or_insert_with(|| {
                        order.push(id.as_str());
                        order.len()
                    });
                    format!("[{n}]")
                })
                .collect();
            let text = match bullet.by {
                Origin::Model => md_inline(&bullet.text),
                Origin::User => user_inline(&bullet.text),
            };
            let mut line = format!("- {text}");
            if !refs.is_empty() {
                line.push(' ');
                line.push_str(&refs.join(" "));
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    if !order.is_empty() {
        out.push_str("\n## Sources\n\n");
        let mut definitions = String::new();
        for (i, id) in order.iter().enumerate() {
            let n = i + 1;
            let label = match lookup(id) {
                Some((title, date)) => {
                    format!("{} ({})", squash_ws(&title), date.format("%Y-%m-%d"))
                }
                None => format!("entry {id} (no longer available)"),
            };
            out.push_str(&format!("{n}. {}\n", md_inline(&label)));
            let title_attr = label.replace('\\', "\\\\").replace('"', "\\\"");
            definitions.push_str(&format!("[{n}]: #sources \"{title_attr}\"\n"));
        }
        out.push('\n');
        out.push_str(&definitions);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::entries::testing::{entry, fixture, many_long};
    use crate::agents::schema::check;
    use serde_json::json;

    fn agent() -> ReportGenerate {
        ReportGenerate::default()
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn input(kind: ReportKind, from: &str, to: &str) -> ReportInput {
        ReportInput {
            kind,
            from: d(from),
            to: d(to),
            audience: Some("my manager".into()),
            instructions: Some("Keep it short.".into()),
            entries: fixture(),
        }
    }

    fn week() -> ReportInput {
        // Mon 2025-01-20 .. Fri 2025-01-24: wl_11 .. wl_15.
        input(ReportKind::Status, "2025-01-20", "2025-01-24")
    }

    #[test]
    fn messages_show_period_entries_sections_and_user_text() {
        let msgs = agent().messages(&week());
        let system = &msgs[0].content;
        assert!(system.contains("a status report"));
        assert!(system.contains("\"Highlights\" (the most important results"));
        assert!(system.contains("\"Risks\""));
        assert!(system.contains("ids (from the <entry> tags)"));
        assert!(!system.contains("{{"));
        let user = &msgs[1].content;
        assert!(user.contains("Report period: 2025-01-20 to 2025-01-24"));
        assert!(user.contains("Audience: my manager."));
        assert!(user.contains("Keep it short."));
        for id in ["wl_11", "wl_12", "wl_13", "wl_14", "wl_15"] {
            assert!(user.contains(&format!("<entry id=\"{id}\"")), "{id}");
        }
        assert!(
            !user.contains("wl_10") && !user.contains("wl_16"),
            "outside the period"
        );
    }

    #[test]
    fn five_hundred_long_entries_fit_the_budget() {
        let a = agent();
        let inp = ReportInput {
            kind: ReportKind::Weekly,
            from: d("2024-01-01"),
            to: d("2025-12-31"),
            audience: None,
            instructions: Some("x".repeat(50_000)),
            entries: many_long(500),
        };
        let msgs = a.messages(&inp);
        let tokens = estimate_prompt_tokens(&msgs);
        assert!(tokens <= a.budget.prompt_tokens, "{tokens}");
        assert!(tokens + a.max_tokens(&inp) as usize <= CONTEXT_TOKENS);
        assert!(msgs[1]
            .content
            .contains("older entries of the period are not shown"));
        assert!(msgs[1].content.contains("e0499"));
    }

    #[test]
    fn schema_has_kind_headings_and_shown_ids() {
        let s = agent().schema(&week());
        let section = &s["properties"]["sections"];
        assert_eq!(section["minItems"], json!(4));
        assert_eq!(
            section["items"]["properties"]["heading"]["enum"],
            json!(["Highlights", "Progress", "Risks", "Next"])
        );
        let ids = &section["items"]["properties"]["bullets"]["items"]["properties"]["citations"]
            ["items"]["enum"];
        assert_eq!(ids, &json!(["wl_11", "wl_12", "wl_13", "wl_14", "wl_15"]));
        let custom = agent().schema(&input(ReportKind::Custom, "2025-01-20", "2025-01-24"));
        assert_eq!(
            custom["properties"]["sections"]["items"]["properties"]["heading"]["type"],
            json!("string")
        );
    }

    #[test]
    fn parse_accepts_orders_and_grounds_a_valid_answer() {
        let raw = json!({"title": "Status: week 4", "sections": [
            {"heading": "Next", "bullets": [{"text": "Security review of the Lua script", "citations": ["wl_13"]}]},
            {"heading": "Highlights", "bullets": [
                {"text": "- Rate limiter per merchant: 0 timeouts [wl_12]", "citations": []},
                {"text": "CI from 14 to 6 min", "citations": ["wl_13", "wl_13", "wl_02", "wl_404"]}]},
            {"heading": "Progress", "bullets": [{"text": "Invented work", "citations": ["wl_404"]}]},
            {"heading": "Risks", "bullets": [{"text": "AppSec out until Monday", "citations": ["wl_02"]}]}
        ]})
        .to_string();
        let out = agent().parse(&raw, &week()).unwrap();
        assert_eq!(out.title, "Status: week 4");
        let headings: Vec<&str> = out.sections.iter().map(|s| s.heading.as_str()).collect();
        assert_eq!(headings, vec!["Highlights", "Progress", "Risks", "Next"]);
        let hl = &out.sections[0].bullets;
        assert_eq!(hl[0].text, "Rate limiter per merchant: 0 timeouts");
        assert_eq!(hl[0].citations, vec!["wl_12"]);
        // wl_02 is outside the period, wl_404 doesn't exist, the duplicate goes.
        assert_eq!(hl[1].citations, vec!["wl_13"]);
        assert!(
            out.sections[1].bullets.is_empty(),
            "uncited progress is dropped"
        );
        assert_eq!(
            out.sections[2].bullets[0].text,
            "AppSec out until Monday (unverified)"
        );
        assert_eq!(out.sections[3].bullets[0].citations, vec!["wl_13"]);
    }

    #[test]
    fn parse_rejects_bad_shapes_and_all_invented_reports() {
        let inp = week();
        let err = agent()
            .parse("{\"title\": \"x\", \"sections\": [", &inp)
            .unwrap_err();
        assert!(err.contains("not valid JSON"), "{err}");
        let err = agent()
            .parse(
                r#"{"title": "x", "sections": [{"heading": "Vibes", "bullets": []}]}"#,
                &inp,
            )
            .unwrap_err();
        assert!(err.contains("\"Vibes\" is not one of"), "{err}");
        let err = agent()
            .parse(r#"{"title": "x", "sections": [{"heading": "Progress", "bullets": [{"text": "x", "citations": "wl_11"}]}]}"#, &inp)
            .unwrap_err();
        assert!(err.contains("citations: expected array"), "{err}");
        let invented = json!({"title": "x", "sections": [
            {"heading": "Progress", "bullets": [{"text": "Did things", "citations": ["wl_01"]}]}]})
        .to_string();
        let err = agent().parse(&invented, &inp).unwrap_err();
        assert!(
            err.contains("no bullet cites an entry that was shown"),
            "{err}"
        );
        assert!(err.contains("wl_11"), "{err}");
        let empty = json!({"title": "x", "sections": []}).to_string();
        let err = agent().parse(&empty, &inp).unwrap_err();
        assert!(err.contains("no bullets"), "{err}");
    }

    #[test]
    fn parse_output_satisfies_the_schema_even_from_an_overlong_answer() {
        let inp = input(ReportKind::Custom, "2025-01-20", "2025-01-24");
        let bullets: Vec<Value> = (0..12)
            .map(|i| json!({"text": format!("{i} {}", "long text ".repeat(50)), "citations": ["wl_11", "wl_12", "wl_13", "wl_14", "wl_15", "wl_11"]}))
            .collect();
        let sections: Vec<Value> = (0..9)
            .map(|i| json!({"heading": format!("Section {i} {}", "h".repeat(80)), "bullets": bullets}))
            .collect();
        let raw = json!({"title": "t".repeat(300), "sections": sections}).to_string();
        let out = agent().parse(&raw, &inp).unwrap();
        let v = serde_json::to_value(&out).unwrap();
        assert!(
            check(&v, &agent().schema(&inp)).is_empty(),
            "{:?}",
            check(&v, &agent().schema(&inp))
        );
    }

    #[test]
    fn offline_reports_are_grounded_deterministic_and_valid() {
        let a = agent();
        let entries = fixture();
        for kind in [
            ReportKind::Standup,
            ReportKind::Status,
            ReportKind::Weekly,
            ReportKind::Custom,
        ] {
            for (from, to) in [
                ("2025-01-20", "2025-01-24"),
                ("2025-01-06", "2025-02-18"),
                ("2025-01-22", "2025-01-22"),
            ] {
                let inp = input(kind, from, to);
                let out = a.offline(&inp);
                assert_eq!(out, a.offline(&inp));
                assert!(out.bullet_count() > 0, "{kind:?} {from}");
                for b in out.sections.iter().flat_map(|s| &s.bullets) {
                    assert!(!b.citations.is_empty(), "{b:?}");
                    for id in &b.citations {
                        let e = entries.iter().find(|e| &e.id == id).expect("input id");
                        assert!(e.date >= inp.from && e.date <= inp.to);
                    }
                }
                let v = serde_json::to_value(&out).unwrap();
                let problems = check(&v, &a.schema(&inp));
                assert!(problems.is_empty(), "{kind:?} {from}: {problems:?}");
                let (checked, report) =
                    check_citations(out.clone(), &selection_dates(&inp), inp.from, inp.to);
                assert!(report.is_clean(), "{report:?}");
                assert_eq!(checked, out);
            }
        }
    }

    fn selection_dates(inp: &ReportInput) -> HashMap<String, NaiveDate> {
        inp.entries.iter().map(|e| (e.id.clone(), e.date)).collect()
    }

    #[test]
    fn offline_sections_follow_the_heuristics() {
        let out = agent().offline(&week());
        let get = |h: &str| out.sections.iter().find(|s| s.heading == h).unwrap();
        let highlights: Vec<&str> = get("Highlights")
            .bullets
            .iter()
            .map(|b| b.citations[0].as_str())
            .collect();
        assert_eq!(highlights, vec!["wl_12", "wl_13"]);
        assert!(get("Highlights").bullets[1]
            .text
            .contains("CI time from 14 min to 6 min"));
        let progress: Vec<&str> = get("Progress")
            .bullets
            .iter()
            .map(|b| b.citations[0].as_str())
            .collect();
        assert_eq!(progress, vec!["wl_11", "wl_14", "wl_15"]);
        let risks = &get("Risks").bullets;
        assert_eq!(risks.len(), 1);
        assert_eq!(risks[0].citations, vec!["wl_13"]);
        assert!(risks[0].text.contains("blocked"));

        let standup = agent().offline(&input(ReportKind::Standup, "2025-01-21", "2025-01-22"));
        let get = |h: &str| standup.sections.iter().find(|s| s.heading == h).unwrap();
        assert_eq!(get("Yesterday").bullets[0].citations, vec!["wl_12"]);
        assert_eq!(get("Today").bullets[0].citations, vec!["wl_13"]);
        assert_eq!(get("Blockers").bullets[0].citations, vec!["wl_13"]);

        let weekly = agent().offline(&input(ReportKind::Weekly, "2025-02-03", "2025-02-07"));
        let summary = &weekly.sections[0].bullets;
        assert!(
            summary[0].text.starts_with("Other work:")
                || summary[0].text.starts_with("Ledger:")
                || summary[0].text.starts_with("Platform:")
                || summary[0].text.starts_with("Payments API:")
                || summary[0].text.starts_with("Reconciliation:")
        );
        let shipped: Vec<&str> = weekly.sections[1]
            .bullets
            .iter()
            .map(|b| b.citations[0].as_str())
            .collect();
        assert!(shipped.contains(&"wl_19"), "{shipped:?}");
    }

    #[test]
    fn no_entries_means_no_model_and_an_empty_report() {
        let inp = input(ReportKind::Standup, "2030-01-01", "2030-01-02");
        let out = agent().without_model(&inp).unwrap();
        assert_eq!(out.title, "Standup, 2030-01-02");
        assert_eq!(out.sections.len(), 3);
        assert_eq!(out.bullet_count(), 0);
        assert!(agent().without_model(&week()).is_none());
    }

    #[test]
    fn markdown_has_reference_links_and_sources() {
        let draft = ReportDraft {
            title: "Week [4]".into(),
            sections: vec![
                Section {
                    heading: "Highlights".into(),
                    bullets: vec![
                        Bullet {
                            text: "Cut p95 <fast>".into(),
                            citations: vec!["b".into(), "a".into()],
                            by: Origin::Model,
                        },
                        Bullet {
                            text: "Again".into(),
                            citations: vec!["a".into(), "gone".into()],
                            by: Origin::Model,
                        },
                    ],
                },
                Section {
                    heading: "Risks".into(),
                    bullets: vec![],
                },
            ],
        };
        let lookup = |id: &str| -> Option<(String, NaiveDate)> {
            match id {
                "a" => Some(("Index work".into(), d("2025-01-07"))),
                "b" => Some(("Say \"hi\"".into(), d("2025-01-06"))),
                _ => None,
            }
        };
        let md = render_markdown(&draft, &lookup);
        assert!(md.starts_with("# Week \\[4\\]\n"));
        assert!(md.contains("- Cut p95 \\<fast\\> [1] [2]\n"));
        assert!(md.contains("- Again [2] [3]\n"));
        assert!(md.contains("## Risks\n\n_Nothing to report._\n"));
        assert!(md.contains("## Sources\n\n1. Say \"hi\" (2025-01-06)\n2. Index work (2025-01-07)\n3. entry gone (no longer available)\n"));
        assert!(md.contains("[1]: #sources \"Say \\\"hi\\\" (2025-01-06)\"\n"));
        assert!(md.contains("[2]: #sources \"Index work (2025-01-07)\"\n"));
    }

    #[test]
    fn bullets_pull_inline_ids_into_citations() {
        let b = clean_bullet(
            Bullet {
                text: "  * Did X (a1) and Y [b2] [zz]".into(),
                citations: vec!["c3".into()],
                by: Origin::Model,
            },
            &["a1".to_string(), "b2".to_string()],
        )
        .unwrap();
        assert_eq!(b.text, "Did X and Y [zz]");
        assert_eq!(b.citations, vec!["c3", "a1", "b2"]);
        assert!(clean_bullet(
            Bullet {
                text: " - ".into(),
                citations: vec![],
                by: Origin::Model,
            },
            &[]
        )
        .is_none());
    }

    #[test]
    fn cues_match_whole_words() {
        assert!(has_cue("we are blocked on review", BLOCKER_CUES));
        assert!(!has_cue("unblocked the deploy", BLOCKER_CUES));
        assert!(has_cue("she will take over", NEXT_CUES));
        assert!(!has_cue("goodwill", NEXT_CUES));
        let e = entry("x", "2025-01-01", "Title", "Title");
        assert_eq!(entry_bullet(&e).text, "Title");
    }
}
