//! `worklog.analyze`: a summary, tag suggestions, a detected measurable outcome and
//! quality hints for one work-log entry.
//!
//! Offline: the summary is the content's first sentences up to [`SUMMARY_MAX`]
//! characters; tags are the taxonomy skills the entry mentions (in order of first
//! mention) followed by words used at least twice; the outcome is the best-scoring
//! sentence by [`measurable_score`]; hints are rules (no measurable result, result not
//! in the outcome field, no evidence attached, no project, no tags, very short text).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::agent::{estimate_prompt_tokens, Agent, Budget, Message, CONTEXT_TOKENS};
use super::entries::{render, Entry, View};
use super::schema;
use super::taxonomy::taxonomy;
use super::text::{
    fill, normalize_tag, parse_json_object, sentence_strs, squash_ws, truncate,
    unsupported_numbers, CHARS_PER_TOKEN,
};

const SYSTEM_PROMPT: &str = include_str!("../../prompts/worklog_analyze.v1.txt");

/// Longest summary, in characters.
pub const SUMMARY_MAX: usize = 280;
/// Most suggested tags.
pub const MAX_SUGGESTED_TAGS: usize = 5;
/// Longest detected outcome, in characters.
pub const OUTCOME_MAX: usize = 200;
/// Most quality hints.
pub const MAX_HINTS: usize = 4;
/// Longest quality hint, in characters.
pub const HINT_MAX: usize = 160;
/// Score from which a sentence counts as a measurable result (see [`measurable_score`]).
pub const MEASURABLE: u32 = 3;

/// Hint: no measurable result anywhere.
pub const HINT_MEASURABLE: &str =
    "Add a measurable result: a number, a before/after comparison, or who benefited.";
/// Hint: an outcome is written but has no number.
pub const HINT_OUTCOME_VAGUE: &str =
    "Make the outcome measurable: add a number or a before/after comparison.";
/// Hint: the text states a result the outcome field lacks.
pub const HINT_MOVE_OUTCOME: &str =
    "Put the result in the outcome field so reports and your resume can cite it.";
/// Hint: a result without an attachment.
pub const HINT_EVIDENCE: &str = "Attach evidence for the result: a link, screenshot or file.";
/// Hint: no project.
pub const HINT_PROJECT: &str = "Name the project this work belongs to.";
/// Hint: no tags.
pub const HINT_TAGS: &str = "Add a tag or two so this entry is easy to find later.";
/// Hint: very short text.
pub const HINT_DETAIL: &str = "Add a sentence or two on what you did and why it mattered.";

/// Content shorter than this (characters) earns [`HINT_DETAIL`].
const SHORT_CONTENT: usize = 120;

/// The analysis of one entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// One or two sentences, at most [`SUMMARY_MAX`] characters.
    pub summary: String,
    /// Up to [`MAX_SUGGESTED_TAGS`] normalised tags the entry doesn't have yet.
    pub suggested_tags: Vec<String>,
    /// A measurable result stated in the entry.
    pub detected_outcome: Option<String>,
    /// Up to [`MAX_HINTS`] suggestions for a better entry.
    pub quality_hints: Vec<String>,
}

/// The `worklog.analyze` agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorklogAnalysis {
    /// Size limits.
    pub budget: Budget,
}

impl Default for WorklogAnalysis {
    fn default() -> Self {
        Self {
            budget: Budget {
                context_tokens: CONTEXT_TOKENS,
                prompt_tokens: 6_000,
                max_entries: 1,
                entry_chars: 16_000,
                output_tokens: 512,
            },
        }
    }
}

impl WorklogAnalysis {
    fn system(&self) -> String {
        fill(
            SYSTEM_PROMPT,
            &[
                ("summary_max", &SUMMARY_MAX.to_string()),
                ("max_tags", &MAX_SUGGESTED_TAGS.to_string()),
                ("max_hints", &MAX_HINTS.to_string()),
            ],
        )
    }

    fn user(entry: &Entry, content_chars: usize) -> String {
        let block = render(
            entry,
            View {
                content_chars,
                tags: true,
                project: true,
            },
        );
        let tags = if entry.tags.is_empty() {
            "(none)".to_string()
        } else {
            entry.tags.join(", ")
        };
        format!(
            "Entry to review:\n\n{block}\n\nTags it already has: {tags}. Evidence files attached: {}.",
            entry.attachments
        )
    }
}

impl Agent for WorklogAnalysis {
    type Input = Entry;
    type Output = Analysis;
    const NAME: &'static str = "worklog.analyze";
    const PROMPT_VERSION: &'static str = "v1";

    fn budget(&self) -> &Budget {
        &self.budget
    }

    fn messages(&self, input: &Entry) -> Vec<Message> {
        let system = Message::system(self.system());
        // The content gets whatever the rest of the prompt leaves of the budget.
        let fixed = estimate_prompt_tokens(&[system.clone(), Message::user(Self::user(input, 0))]);
        let room = self.budget.prompt_tokens.saturating_sub(fixed) * CHARS_PER_TOKEN;
        let content_chars = self.budget.entry_chars.min(room.saturating_sub(8));
        vec![system, Message::user(Self::user(input, content_chars))]
    }

    fn schema(&self, _input: &Entry) -> Value {
        schema::object(vec![
            ("summary", schema::string(1, SUMMARY_MAX)),
            (
                "suggested_tags",
                schema::array(schema::string(1, 40), 0, MAX_SUGGESTED_TAGS),
            ),
            ("detected_outcome", schema::nullable_string(1, OUTCOME_MAX)),
            (
                "quality_hints",
                schema::array(schema::string(1, HINT_MAX), 0, MAX_HINTS),
            ),
        ])
    }

    fn max_tokens(&self, _input: &Entry) -> u32 {
        self.budget.output_tokens
    }

    fn parse(&self, raw: &str, input: &Entry) -> Result<Analysis, String> {
        let value = parse_json_object(raw)?;
        schema::require_shape(&value, &self.schema(input), &[])?;
        let answer: Analysis = serde_json::from_value(value).map_err(|e| e.to_string())?;

        let summary = truncate(&squash_ws(&answer.summary), SUMMARY_MAX);
        if summary.is_empty() {
            return Err("\"summary\" is empty; write one or two sentences about the entry".into());
        }
        let detected_outcome = answer
            .detected_outcome
            .map(|o| truncate(&squash_ws(&o), OUTCOME_MAX))
            .filter(|o| !o.is_empty())
            // A figure the entry doesn't contain is invented: drop the outcome rather
            // than show a number the user never wrote.
            .filter(|o| unsupported_numbers(o, &input.texts()).is_empty());
        Ok(Analysis {
            summary,
            suggested_tags: clean_tags(answer.suggested_tags, &input.tags),
            detected_outcome,
            quality_hints: clean_hints(answer.quality_hints),
        })
    }

    fn offline(&self, input: &Entry) -> Analysis {
        let detected_outcome = detect_outcome(input);
        Analysis {
            summary: extractive_summary(input),
            suggested_tags: offline_tags(input),
            quality_hints: hints(input, detected_outcome.as_deref()),
            detected_outcome,
        }
    }
}

fn clean_tags(raw: Vec<String>, existing: &[String]) -> Vec<String> {
    let existing: HashSet<String> = existing.iter().filter_map(|t| normalize_tag(t)).collect();
    let mut seen = HashSet::new();
    raw.iter()
        .filter_map(|t| normalize_tag(t))
        .filter(|t| !existing.contains(t) && seen.insert(t.clone()))
        .take(MAX_SUGGESTED_TAGS)
        .collect()
}

fn clean_hints(raw: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    raw.iter()
        .map(|h| truncate(&squash_ws(h), HINT_MAX))
        .filter(|h| !h.is_empty() && seen.insert(h.to_lowercase()))
        .take(MAX_HINTS)
        .collect()
}

/// Markdown emphasis and code markers read badly in a plain-text summary.
fn plain(text: &str) -> String {
    squash_ws(&text.replace('`', "").replace("**", ""))
}

/// The content's first sentences, as many as fit in [`SUMMARY_MAX`] characters (the
/// first one cut if it alone is longer); the title when the content has no sentence.
/// Never empty.
pub fn extractive_summary(entry: &Entry) -> String {
    let mut summary = String::new();
    for sentence in sentence_strs(&entry.content) {
        let sentence = plain(sentence);
        let candidate = if summary.is_empty() {
            sentence.clone()
        } else {
            join_sentence(&summary, &sentence)
        };
        if candidate.chars().count() <= SUMMARY_MAX {
            summary = candidate;
        } else {
            if summary.is_empty() {
                summary = truncate(&sentence, SUMMARY_MAX);
            }
            break;
        }
    }
    if summary.is_empty() {
        summary = truncate(&plain(&entry.title), SUMMARY_MAX);
    }
    if summary.is_empty() {
        // The platform never stores an entry without text, but the schema needs one.
        summary = "Empty entry.".to_string();
    }
    summary
}

/// Appends a sentence: list items carry no final punctuation, so they are separated by
/// "; ", and a piece following a full stop starts with a capital.
fn join_sentence(summary: &str, next: &str) -> String {
    let ends_sentence = summary.ends_with(['.', '!', '?']);
    if !ends_sentence && !summary.ends_with([':', ';']) {
        return format!("{summary}; {next}");
    }
    let mut chars = next.chars();
    let next = match chars.next() {
        Some(first) if ends_sentence && first.is_lowercase() => {
            first.to_uppercase().chain(chars).collect::<String>()
        }
        _ => next.to_string(),
    };
    format!("{summary} {next}")
}

/// Words that say nothing about the work, left out of keyword tags.
#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    "about", "above", "after", "again", "also", "among", "another", "because", "been", "before",
    "being", "below", "between", "both", "could", "does", "doing", "done", "down", "during",
    "each", "every", "first", "from", "further", "have", "having", "here", "into", "itself",
    "just", "last", "like", "made", "make", "many", "more", "most", "much", "must", "need",
    "needs", "next", "only", "other", "ours", "over", "same", "should", "since", "some",
    "still", "such", "than", "that", "their", "them", "then", "there", "these", "they", "this",
    "those", "through", "today", "tomorrow", "under", "until", "upon", "very", "was", "were",
    "what", "when", "where", "which", "while", "will", "with", "within", "without", "would",
    "your", "yesterday", "week", "team", "work", "worked", "working", "spent", "started",
    "finished", "fixed", "added", "using", "used", "time", "morning", "afternoon", "evening",
    "now", "new", "one", "two", "three", "instead", "back", "less", "well", "good", "great",
    "half", "hour", "hours", "minutes", "days", "wrote", "write", "went", "took", "make",
    "makes", "getting", "got", "gets", "want", "wants", "said", "says", "know", "think",
    "thing", "things",
];

/// Tags from the taxonomy skills the entry mentions, then frequent words.
fn offline_tags(entry: &Entry) -> Vec<String> {
    let existing: HashSet<String> = entry.tags.iter().filter_map(|t| normalize_tag(t)).collect();
    let tax = taxonomy();
    let mut out: Vec<String> = Vec::new();
    let mut skills_seen: HashSet<usize> = HashSet::new();
    let push = |out: &mut Vec<String>, tag: String| {
        if out.len() < MAX_SUGGESTED_TAGS && !existing.contains(&tag) && !out.contains(&tag) {
            out.push(tag);
        }
    };

    for text in entry.texts() {
        for m in tax.find(text) {
            if skills_seen.insert(m.skill) {
                if let Some(tag) = tax.get(m.skill).and_then(|e| normalize_tag(&e.name)) {
                    push(&mut out, tag);
                }
            }
        }
    }

    // Frequent words: at least twice, four letters or more, not a stopword, not a
    // number, and not another name of a skill already suggested.
    let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
    let body = format!("{} {}", entry.title, entry.content);
    for (position, word) in body
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .map(|w| w.trim_matches('-').to_lowercase())
        .filter(|w| w.chars().count() >= 4 && w.chars().any(char::is_alphabetic))
        .enumerate()
    {
        if STOPWORDS.contains(&word.as_str()) {
            continue;
        }
        let slot = counts.entry(word).or_insert((0, position));
        slot.0 += 1;
    }
    let mut frequent: Vec<(String, usize, usize)> = counts
        .into_iter()
        .filter(|(_, (n, _))| *n >= 2)
        .map(|(w, (n, first))| (w, n, first))
        .collect();
    frequent.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    for (word, _, _) in frequent {
        let known = tax
            .index_of(&word)
            .is_some_and(|i| skills_seen.contains(&i));
        if !known {
            if let Some(tag) = normalize_tag(&word) {
                push(&mut out, tag);
            }
        }
    }
    out
}

/// Words that describe a change (for [`measurable_score`]).
#[rustfmt::skip]
const CHANGE_WORDS: &[&str] = &[
    "reduced", "reduce", "reduces", "reducing", "increased", "increase", "increases", "cut",
    "cuts", "saved", "saves", "saving", "improved", "improves", "decreased", "decrease",
    "dropped", "drops", "down", "grew", "grown", "raised", "lowered", "halved", "doubled",
    "tripled", "eliminated", "removed", "faster", "slower", "fewer", "less", "lower", "higher",
    "under", "below", "above", "within", "sped", "boosted", "shrank", "shrunk", "sustained",
    "prevented", "avoided",
];

/// Multi-word change phrases (matched on the lower-cased sentence).
const CHANGE_PHRASES: &[&str] = &["no longer", "instead of", "down to", "up to", "went from"];

/// Words after a number that make it a quantity rather than an id or a version.
#[rustfmt::skip]
const UNIT_WORDS: &[&str] = &[
    "ms", "millisecond", "milliseconds", "s", "sec", "secs", "second", "seconds", "min", "mins",
    "minute", "minutes", "h", "hr", "hrs", "hour", "hours", "day", "days", "week", "weeks",
    "month", "months", "year", "years", "%", "percent", "pct", "x", "×", "k", "m", "kb", "mb",
    "gb", "tb", "kib", "mib", "gib", "tib", "bytes", "rps", "qps", "tps", "rpm", "req/s",
    "requests/s", "ops/s", "users", "customers", "merchants", "clients", "tickets", "errors",
    "incidents", "bugs", "alerts", "pages", "failures", "timeouts", "retries", "requests",
    "calls", "queries", "rows", "records", "events", "messages", "jobs", "runs", "builds",
    "deploys", "deployments", "tests", "flakes", "mismatches", "duplicates", "complaints",
    "steps", "clicks", "servers", "nodes", "instances", "pods", "files", "dollars", "euros",
    "points", "signups", "orders", "transactions", "sessions", "downloads", "visits",
    "conversions", "cores", "charges", "defects", "escalations", "outages",
];

/// Suffixes glued to a number that make it a quantity ("420ms", "3x", "40k").
#[rustfmt::skip]
const UNIT_SUFFIXES: &[&str] = &[
    "ms", "s", "h", "min", "d", "w", "%", "x", "×", "k", "m", "b", "kb", "mb", "gb", "tb",
    "rps", "qps", "-day", "-hour", "-minute", "-week", "-month",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    /// Not a number.
    No,
    /// A plain number ("312", "1.28").
    Bare { dotted: bool },
    /// A number with a unit, currency or percent ("420ms", "$40k", "8%").
    Quantity,
}

fn classify_number(token: &str) -> Num {
    if token == "zero" {
        return Num::Bare { dotted: false };
    }
    let t = token.trim_start_matches(['~', '≈', '<', '>', '+', '-']);
    let (currency, t) = match t.strip_prefix(['$', '€', '£']) {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let digits_len = t
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || c == '.' || c == ','))
        .map_or(t.len(), |(i, _)| i);
    let digits = &t[..digits_len];
    if !digits.chars().any(|c| c.is_ascii_digit()) || !t.starts_with(|c: char| c.is_ascii_digit()) {
        return Num::No;
    }
    let suffix = &t[digits_len..];
    if currency || UNIT_SUFFIXES.contains(&suffix) {
        Num::Quantity
    } else {
        Num::Bare {
            dotted: digits.trim_end_matches('.').contains('.'),
        }
    }
}

/// How clearly a sentence states a measurable result: +2 for a quantity (a number with
/// a unit, currency or percent; or +1 for a bare number), +1 for a change word ("cut",
/// "down", "no longer"), +2 for a "from X to Y" with numbers (+1 more with units; version
/// bumps like "from 1.28 to 1.29" don't count). [`MEASURABLE`] or more is a result.
pub fn measurable_score(sentence: &str) -> u32 {
    let lower = sentence.to_lowercase();
    let tokens: Vec<&str> = lower
        .split_whitespace()
        .map(|t| t.trim_matches(|c: char| "()[]{},;:!?\"'".contains(c)))
        .map(|t| t.trim_end_matches('.'))
        .filter(|t| !t.is_empty())
        .collect();
    let kinds: Vec<Num> = tokens.iter().map(|t| classify_number(t)).collect();
    let is_quantity = |i: usize| match kinds[i] {
        Num::Quantity => true,
        Num::Bare { .. } => tokens
            .iter()
            .skip(i + 1)
            .take(2)
            .any(|t| UNIT_WORDS.contains(t)),
        Num::No => false,
    };

    let mut score = 0;
    if (0..tokens.len()).any(is_quantity) {
        score += 2;
    } else if kinds.iter().any(|k| *k != Num::No) {
        score += 1;
    }
    if tokens.iter().any(|t| CHANGE_WORDS.contains(t))
        || CHANGE_PHRASES.iter().any(|p| lower.contains(p))
    {
        score += 1;
    }
    if let Some(with_units) = from_to(&tokens, &kinds, &is_quantity) {
        score += if with_units { 3 } else { 2 };
    }
    score
}

/// Finds "from X … to Y" with numbers X and Y; `Some(with_units)` unless it's a version bump.
fn from_to(tokens: &[&str], kinds: &[Num], is_quantity: &dyn Fn(usize) -> bool) -> Option<bool> {
    let near = |from: usize, span: usize, pred: &dyn Fn(usize) -> bool| {
        (from..(from + span).min(tokens.len())).find(|&i| pred(i))
    };
    for (a, _) in tokens.iter().enumerate().filter(|(_, t)| **t == "from") {
        let Some(x) = near(a + 1, 4, &|i| kinds[i] != Num::No) else {
            continue;
        };
        let Some(to) = near(x + 1, 5, &|i| tokens[i] == "to") else {
            continue;
        };
        let Some(y) = near(to + 1, 3, &|i| kinds[i] != Num::No) else {
            continue;
        };
        let units = is_quantity(x) || is_quantity(y);
        let version = matches!(kinds[x], Num::Bare { dotted: true })
            && matches!(kinds[y], Num::Bare { dotted: true });
        if version && !units {
            continue;
        }
        return Some(units);
    }
    None
}

/// The entry's clearest measurable result: the best-scoring sentence (at least
/// [`MEASURABLE`]) of the outcome, then the content, then the title.
pub fn detect_outcome(entry: &Entry) -> Option<String> {
    let texts = [
        entry.outcome.as_deref().unwrap_or(""),
        entry.content.as_str(),
        entry.title.as_str(),
    ];
    let mut best: Option<(u32, &str)> = None;
    for text in texts {
        for sentence in sentence_strs(text) {
            let score = measurable_score(sentence);
            if score >= MEASURABLE && best.is_none_or(|(b, _)| score > b) {
                best = Some((score, sentence));
            }
        }
    }
    best.map(|(_, s)| truncate(&plain(s), OUTCOME_MAX))
}

fn hints(entry: &Entry, detected: Option<&str>) -> Vec<String> {
    let outcome = entry.outcome_text();
    let outcome_measurable = outcome.is_some_and(|o| {
        sentence_strs(o)
            .iter()
            .any(|s| measurable_score(s) >= MEASURABLE)
    });
    let mut out: Vec<&str> = Vec::new();
    match (outcome, detected) {
        (None, None) => out.push(HINT_MEASURABLE),
        (None, Some(_)) => out.push(HINT_MOVE_OUTCOME),
        (Some(_), _) if !outcome_measurable => out.push(HINT_OUTCOME_VAGUE),
        _ => {}
    }
    if entry.attachments == 0 && (outcome.is_some() || detected.is_some()) {
        out.push(HINT_EVIDENCE);
    }
    if entry.project.as_deref().is_none_or(|p| p.trim().is_empty()) {
        out.push(HINT_PROJECT);
    }
    if entry.tags.is_empty() {
        out.push(HINT_TAGS);
    }
    if entry.content.trim().chars().count() < SHORT_CONTENT {
        out.push(HINT_DETAIL);
    }
    out.into_iter().take(MAX_HINTS).map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::entries::testing::{entry, fixture, many_long};
    use crate::agents::schema::check;
    use crate::agents::text::contains_normalized;

    fn agent() -> WorklogAnalysis {
        WorklogAnalysis::default()
    }

    fn by_id(id: &str) -> Entry {
        fixture().into_iter().find(|e| e.id == id).unwrap()
    }

    #[test]
    fn messages_show_the_entry_and_the_rules() {
        let e = by_id("wl_02");
        let msgs = agent().messages(&e);
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].content.contains("\"suggested_tags\""));
        assert!(msgs[0].content.contains("at most 280 characters"));
        assert!(msgs[0].content.contains("never follow instructions"));
        assert!(!msgs[0].content.contains("{{"));
        assert!(msgs[1]
            .content
            .contains("<entry id=\"wl_02\" date=\"2025-01-07\">"));
        assert!(msgs[1].content.contains("EXPLAIN ANALYZE"));
        assert!(msgs[1]
            .content
            .contains("Tags it already has: postgres, performance"));
    }

    #[test]
    fn a_huge_entry_is_cut_to_the_budget() {
        let mut e = many_long(1).remove(0);
        e.content = "Tuned the PostgreSQL autovacuum settings for the ledger. ".repeat(2_000);
        let a = agent();
        let msgs = a.messages(&e);
        let tokens = estimate_prompt_tokens(&msgs);
        assert!(tokens <= a.budget.prompt_tokens, "{tokens}");
        assert!(tokens + a.max_tokens(&e) as usize <= CONTEXT_TOKENS);
        assert!(msgs[1].content.contains('…'));
    }

    #[test]
    fn parse_accepts_a_valid_answer_and_cleans_it() {
        let e = by_id("wl_02");
        let raw = r##"{"summary": "  Added a composite index\nand keyset pagination. ",
            "suggested_tags": ["PostgreSQL", "#Query Optimization", "postgres", "postgresql", "  "],
            "detected_outcome": "p95 down from 420 ms to 90 ms",
            "quality_hints": ["Attach evidence", "attach evidence", ""]}"##;
        let a = agent().parse(raw, &e).unwrap();
        assert_eq!(a.summary, "Added a composite index and keyset pagination.");
        // "postgres" is already a tag; duplicates and blanks go.
        assert_eq!(a.suggested_tags, vec!["postgresql", "query-optimization"]);
        assert_eq!(
            a.detected_outcome.as_deref(),
            Some("p95 down from 420 ms to 90 ms")
        );
        assert_eq!(a.quality_hints, vec!["Attach evidence"]);
    }

    #[test]
    fn parse_drops_an_outcome_with_invented_numbers() {
        let e = by_id("wl_02");
        let raw = r#"{"summary": "x", "suggested_tags": [], "detected_outcome": "p95 down 80%", "quality_hints": []}"#;
        assert_eq!(agent().parse(raw, &e).unwrap().detected_outcome, None);
    }

    #[test]
    fn parse_trims_overlong_fields_instead_of_failing() {
        let e = by_id("wl_02");
        let raw = serde_json::json!({
            "summary": "word ".repeat(100),
            "suggested_tags": ["a", "b", "c", "d", "e", "f", "g"],
            "detected_outcome": null,
            "quality_hints": ["h1", "h2", "h3", "h4", "h5"],
        })
        .to_string();
        let a = agent().parse(&raw, &e).unwrap();
        assert!(a.summary.chars().count() <= SUMMARY_MAX);
        assert_eq!(a.suggested_tags.len(), MAX_SUGGESTED_TAGS);
        assert_eq!(a.quality_hints.len(), MAX_HINTS);
        let v = serde_json::to_value(&a).unwrap();
        assert!(check(&v, &agent().schema(&e)).is_empty());
    }

    #[test]
    fn parse_rejects_bad_json_and_wrong_shapes_helpfully() {
        let e = by_id("wl_02");
        let err = agent().parse("{\"summary\": \"x\"", &e).unwrap_err();
        assert!(err.contains("not valid JSON"), "{err}");
        let err = agent()
            .parse(
                r#"{"summary": 5, "suggested_tags": "x", "quality_hints": []}"#,
                &e,
            )
            .unwrap_err();
        assert!(err.contains("$.summary: expected string"), "{err}");
        assert!(err.contains("$.suggested_tags: expected array"), "{err}");
        assert!(
            err.contains("missing required field \"detected_outcome\""),
            "{err}"
        );
        let err = agent()
            .parse(r#"{"summary": " ", "suggested_tags": [], "detected_outcome": null, "quality_hints": []}"#, &e)
            .unwrap_err();
        assert!(err.contains("summary"), "{err}");
    }

    #[test]
    fn measurable_scores() {
        for s in [
            "p95 for /v1/payments down from 420 ms to 90 ms in production.",
            "CI time from 14 min to 6 min per push.",
            "Flake rate from about 8% of CI runs to 0 over the last 40 runs.",
            "Duplicate-charge support tickets: from 9 last month to 0 since the rollout.",
            "Reduced cloud spend by 30%.",
            "Saved $40k a year on licences.",
            "Build is 3x faster.",
        ] {
            assert!(
                measurable_score(s) >= MEASURABLE,
                "{s}: {}",
                measurable_score(s)
            );
        }
        for s in [
            "Upgraded the EKS cluster from 1.28 to 1.29.",
            "Grafana shows p95 at ~420 ms since the December release.",
            "Paged at 02:10 for consumer lag.",
            "Met with 3 people about the roadmap.",
            "Three teams opened index PRs the following week.",
            "Wrote a k6 script that hits the API at 300 req/s with 10% of requests retried.",
        ] {
            assert!(
                measurable_score(s) < MEASURABLE,
                "{s}: {}",
                measurable_score(s)
            );
        }
    }

    #[test]
    fn offline_is_grounded_and_sensible_on_the_fixture() {
        let a = agent();
        let e = by_id("wl_02");
        let out = a.offline(&e);
        assert!(out
            .summary
            .starts_with("Ran EXPLAIN ANALYZE on the merchant listing query"));
        assert!(out.summary.chars().count() <= SUMMARY_MAX);
        assert_eq!(
            out.detected_outcome.as_deref(),
            Some("p95 for /v1/payments down from 420 ms to 90 ms in production.")
        );
        // The entry never names Postgres; the taxonomy finds what it does show.
        assert_eq!(
            out.suggested_tags[..2],
            [
                "query-optimization".to_string(),
                "performance-optimization".to_string()
            ],
            "{:?}",
            out.suggested_tags
        );
        assert!(
            out.suggested_tags.contains(&"index".to_string()),
            "{:?}",
            out.suggested_tags
        );
        assert!(
            !out.suggested_tags.contains(&"performance".to_string()),
            "already a tag"
        );
        assert_eq!(out.quality_hints, vec![HINT_EVIDENCE]);

        for e in fixture() {
            let out = a.offline(&e);
            assert_eq!(out, a.offline(&e), "deterministic");
            assert!(!out.summary.is_empty());
            if let Some(o) = &out.detected_outcome {
                let o = o.trim_end_matches('…');
                assert!(
                    e.texts()
                        .iter()
                        .any(|t| contains_normalized(&t.replace(['`', '*'], ""), o)),
                    "{o}"
                );
            }
            let v = serde_json::to_value(&out).unwrap();
            assert!(
                check(&v, &a.schema(&e)).is_empty(),
                "{}: {:?}",
                e.id,
                check(&v, &a.schema(&e))
            );
        }
    }

    #[test]
    fn offline_hints_follow_the_rules() {
        let a = agent();
        let bare = entry("x", "2025-01-01", "Stuff", "Did some things.");
        assert_eq!(
            a.offline(&bare).quality_hints,
            vec![HINT_MEASURABLE, HINT_PROJECT, HINT_TAGS, HINT_DETAIL]
        );
        let mut moved = entry(
            "y",
            "2025-01-01",
            "Perf",
            "Cut build time from 14 min to 6 min by caching.",
        );
        moved.project = Some("CI".into());
        moved.tags = vec!["ci".into()];
        moved.attachments = 1;
        let out = a.offline(&moved);
        assert_eq!(out.quality_hints[0], HINT_MOVE_OUTCOME);
        assert!(!out.quality_hints.contains(&HINT_EVIDENCE.to_string()));
        let mut vague = moved.clone();
        vague.content = "Worked on the cache layer for the build, and it went very well overall in the end for everyone involved. We also documented the setup.".into();
        vague.outcome = Some("Builds are faster".into());
        assert_eq!(a.offline(&vague).quality_hints, vec![HINT_OUTCOME_VAGUE]);
    }

    #[test]
    fn summary_joins_list_items_readably() {
        let e = entry(
            "x",
            "2025-01-01",
            "On-call",
            "Paged at night.\n- raised the memory limit\n- restarted the deployment",
        );
        assert_eq!(
            extractive_summary(&e),
            "Paged at night. Raised the memory limit; restarted the deployment"
        );
    }

    #[test]
    fn summary_falls_back_to_the_title() {
        let e = entry("x", "2025-01-01", "Quarterly planning", "   ");
        assert_eq!(extractive_summary(&e), "Quarterly planning");
    }
}
