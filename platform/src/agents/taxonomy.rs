//! The bundled skills taxonomy (`data/skills_taxonomy.json`) and the dictionary matcher
//! the offline answers use.
//!
//! Each skill has a canonical `name`, a [`Category`], `aliases` (case-insensitive
//! surface forms matched on word boundaries), optional `guarded` forms and optional
//! `implies` (skills that using this one shows, e.g. Terraform → Infrastructure as code).
//!
//! **Ambiguous words.** A surface form that is also an ordinary word or a single letter
//! ("Go", "R", "C", "Swift", "Spark", "interview") is never a plain alias. It is a
//! guarded form: it may require the exact case (`"Go"`, not the verb "go"), and a list
//! of context phrases of which one must occur in the same sentence ("in go", "go
//! service", "goroutines"). A guarded form touching a hyphen never matches, which
//! rules out "go-live", "C-level" and "R-squared". The canonical name itself is a plain
//! alias unless a guarded form spells it.
//!
//! **Word boundaries.** A match must not continue into a letter, digit or `_`, must not
//! be followed by `+`/`#` ("C" in "C++"), and `.`/`&` between two alphanumerics join
//! words ("js" in "Node.js", "R" in "R&D", "net" in "ASP.NET" don't match). At each
//! position the longest alias wins and matches don't overlap ("Spark SQL" is Apache
//! Spark, not SQL).
//!
//! Loading checks that no name, alias or guarded form (case-folded) and no
//! [`name_key`] belongs to two skills, and that every implied skill exists.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::text::{fold, Folded};

/// The taxonomy shipped with the platform.
const BUNDLED: &str = include_str!("../../data/skills_taxonomy.json");

/// Skill category; the ids are the taxonomy's and the skills schema's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Programming and markup languages.
    Languages,
    /// Frameworks, libraries and platforms.
    Frameworks,
    /// Databases and data modelling.
    Databases,
    /// APIs, messaging and system architecture.
    Architecture,
    /// Cloud, infrastructure, CI/CD and observability.
    CloudDevops,
    /// Data engineering, analytics and ML.
    DataMl,
    /// Security and compliance.
    Security,
    /// Testing and quality.
    Testing,
    /// Design and product.
    DesignProduct,
    /// Engineering practices and tools.
    Practices,
    /// Leadership and collaboration.
    SoftSkills,
    /// Anything else.
    Other,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 12] = [
        Category::Languages,
        Category::Frameworks,
        Category::Databases,
        Category::Architecture,
        Category::CloudDevops,
        Category::DataMl,
        Category::Security,
        Category::Testing,
        Category::DesignProduct,
        Category::Practices,
        Category::SoftSkills,
        Category::Other,
    ];

    /// The id used in JSON (`cloud_devops`).
    pub fn id(self) -> &'static str {
        match self {
            Category::Languages => "languages",
            Category::Frameworks => "frameworks",
            Category::Databases => "databases",
            Category::Architecture => "architecture",
            Category::CloudDevops => "cloud_devops",
            Category::DataMl => "data_ml",
            Category::Security => "security",
            Category::Testing => "testing",
            Category::DesignProduct => "design_product",
            Category::Practices => "practices",
            Category::SoftSkills => "soft_skills",
            Category::Other => "other",
        }
    }

    /// Human label (resume skill groups, prompts).
    pub fn label(self) -> &'static str {
        match self {
            Category::Languages => "Languages",
            Category::Frameworks => "Frameworks & platforms",
            Category::Databases => "Databases",
            Category::Architecture => "APIs & architecture",
            Category::CloudDevops => "Cloud & DevOps",
            Category::DataMl => "Data & ML",
            Category::Security => "Security",
            Category::Testing => "Testing",
            Category::DesignProduct => "Design & product",
            Category::Practices => "Engineering practices & tools",
            Category::SoftSkills => "Leadership & collaboration",
            Category::Other => "Other",
        }
    }

    /// Category from an id or a label, case-insensitively.
    pub fn parse(text: &str) -> Option<Self> {
        let wanted = text.trim().to_lowercase();
        Self::ALL
            .into_iter()
            .find(|c| c.id() == wanted || c.label().to_lowercase() == wanted)
    }
}

/// One skill of the taxonomy, as written in the data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyEntry {
    /// Canonical display name ("PostgreSQL").
    pub name: String,
    /// Category.
    pub category: Category,
    /// Case-insensitive surface forms matched on word boundaries.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Ambiguous surface forms that need case and/or context to count.
    #[serde(default)]
    pub guarded: Vec<GuardedForm>,
    /// Canonical names of skills this one demonstrates too.
    #[serde(default)]
    pub implies: Vec<String>,
}

/// An ambiguous surface form and what it needs to count as the skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardedForm {
    /// The form as written ("Go").
    pub form: String,
    /// Whether the text must spell it with exactly this case.
    #[serde(default)]
    pub case_sensitive: bool,
    /// Phrases of which one must occur in the same sentence; empty = none needed.
    #[serde(default)]
    pub context: Vec<String>,
}

/// Why a taxonomy file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxonomyError {
    /// Not JSON, or not the expected shape.
    #[error("the taxonomy is not a valid JSON list of skills: {0}")]
    Json(String),
    /// A skill without a usable name.
    #[error("skill #{0} has an empty name")]
    EmptyName(usize),
    /// A form without any letter or digit can't be matched on word boundaries.
    #[error("{skill}: \"{form}\" has no letter or digit")]
    Unmatchable {
        /// The skill.
        skill: String,
        /// The offending form.
        form: String,
    },
    /// One surface form (or name key) claimed by two skills.
    #[error("\"{form}\" would name both {first} and {second}")]
    Ambiguous {
        /// The folded form or key.
        form: String,
        /// The skill that claimed it first.
        first: String,
        /// The skill that claimed it again.
        second: String,
    },
    /// `implies` names a skill that isn't in the taxonomy (or the skill itself).
    #[error("{skill} implies \"{implied}\", which is not another skill of the taxonomy")]
    UnknownImplied {
        /// The skill with the bad `implies`.
        skill: String,
        /// The name it implies.
        implied: String,
    },
}

/// Where a skill was found in a text: skill index and source byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkillMatch {
    /// Index into [`Taxonomy::entries`].
    pub skill: usize,
    /// Byte offset of the match in the searched text.
    pub start: usize,
    /// Byte offset just past the match.
    pub end: usize,
}

#[derive(Debug, Clone)]
struct Guard {
    form: String,
    case_sensitive: bool,
    context: Vec<Vec<char>>,
}

#[derive(Debug, Clone)]
struct Pattern {
    chars: Vec<char>,
    /// Characters before the first alphanumeric run (1 for ".net").
    lead: usize,
    skill: usize,
    guard: Option<Guard>,
}

/// A loaded, validated taxonomy with its lookup indexes and matcher.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    entries: Vec<TaxonomyEntry>,
    by_form: HashMap<String, usize>,
    by_key: HashMap<String, usize>,
    /// Patterns indexed by their first alphanumeric run, so matching a text costs one
    /// hash lookup per word instead of one scan per alias.
    patterns: HashMap<String, Vec<Pattern>>,
    implied: Vec<Vec<usize>>,
}

/// The bundled taxonomy, parsed once.
///
/// Panics only if the file shipped in the binary is invalid, which
/// `taxonomy::tests::bundled_taxonomy_loads` rules out at test time.
pub fn taxonomy() -> &'static Taxonomy {
    static TAXONOMY: OnceLock<Taxonomy> = OnceLock::new();
    TAXONOMY.get_or_init(|| match Taxonomy::from_json(BUNDLED) {
        Ok(t) => t,
        Err(e) => panic!("data/skills_taxonomy.json (bundled) is invalid: {e}"),
    })
}

/// The bundled taxonomy's skill for a name or alias ("psql" → PostgreSQL).
pub fn canonical(name: &str) -> Option<&'static TaxonomyEntry> {
    taxonomy().canonical(name)
}

/// A skill name's comparison key: case-folded, only letters, digits, `+` and `#` kept,
/// a `js` suffix dropped ("Vue.js", "VueJS", "vue" → `vue`). Not resolved to a
/// canonical name; see [`normalize_skill_name`].
pub fn name_key(name: &str) -> String {
    let key: String = fold(name)
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '+' | '#'))
        .collect();
    match key.strip_suffix("js") {
        Some(stem) if stem.chars().count() >= 2 => stem.to_string(),
        _ => key,
    }
}

/// The key two skill names are merged on: the canonical name's key when the bundled
/// taxonomy knows the name or one of its aliases, else [`name_key`] of the name
/// ("Postgres", "psql" and "PostgreSQL" → `postgresql`).
pub fn normalize_skill_name(name: &str) -> String {
    match canonical(name) {
        Some(entry) => name_key(&entry.name),
        None => name_key(name),
    }
}

impl Taxonomy {
    /// Parses and validates a taxonomy file (see the module docs for the rules).
    pub fn from_json(json: &str) -> Result<Self, TaxonomyError> {
        let entries: Vec<TaxonomyEntry> =
            serde_json::from_str(json).map_err(|e| TaxonomyError::Json(e.to_string()))?;
        Self::from_entries(entries)
    }

    /// Builds the indexes over already-parsed entries, validating them.
    pub fn from_entries(entries: Vec<TaxonomyEntry>) -> Result<Self, TaxonomyError> {
        let mut by_form: HashMap<String, usize> = HashMap::new();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        let mut patterns: HashMap<String, Vec<Pattern>> = HashMap::new();

        for (index, entry) in entries.iter().enumerate() {
            if entry.name.trim().is_empty() {
                return Err(TaxonomyError::EmptyName(index));
            }
            let guarded_folds: Vec<String> = entry.guarded.iter().map(|g| fold(&g.form)).collect();
            let mut plain: Vec<&str> = Vec::new();
            if !guarded_folds.contains(&fold(&entry.name)) {
                plain.push(&entry.name);
            }
            plain.extend(entry.aliases.iter().map(String::as_str));

            let all_forms = plain
                .iter()
                .copied()
                .chain(entry.guarded.iter().map(|g| g.form.as_str()))
                .chain(std::iter::once(entry.name.as_str()));
            for form in all_forms {
                let folded = fold(form);
                if !folded.chars().any(char::is_alphanumeric) {
                    return Err(TaxonomyError::Unmatchable {
                        skill: entry.name.clone(),
                        form: form.to_string(),
                    });
                }
                claim(&mut by_form, folded, index, &entries)?;
                claim(&mut by_key, name_key(form), index, &entries)?;
            }

            for form in plain {
                let (key, pattern) = pattern(form, index, None);
                patterns.entry(key).or_default().push(pattern);
            }
            for g in &entry.guarded {
                let guard = Guard {
                    form: g.form.clone(),
                    case_sensitive: g.case_sensitive,
                    context: g.context.iter().map(|c| Folded::new(c).chars).collect(),
                };
                let (key, pattern) = pattern(&g.form, index, Some(guard));
                patterns.entry(key).or_default().push(pattern);
            }
        }

        let mut implied = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let mut targets = Vec::new();
            for name in &entry.implies {
                match by_form.get(&fold(name)) {
                    Some(&t) if t != index && fold(&entries[t].name) == fold(name) => {
                        targets.push(t)
                    }
                    _ => {
                        return Err(TaxonomyError::UnknownImplied {
                            skill: entry.name.clone(),
                            implied: name.clone(),
                        })
                    }
                }
            }
            implied.push(targets);
        }

        Ok(Self {
            entries,
            by_form,
            by_key,
            patterns,
            implied,
        })
    }

    /// All skills, in file order.
    pub fn entries(&self) -> &[TaxonomyEntry] {
        &self.entries
    }

    /// The skill at `index` (an index from [`SkillMatch::skill`]).
    pub fn get(&self, index: usize) -> Option<&TaxonomyEntry> {
        self.entries.get(index)
    }

    /// Indexes of the skills that `index` implies.
    pub fn implied(&self, index: usize) -> &[usize] {
        self.implied.get(index).map_or(&[], Vec::as_slice)
    }

    /// The skill a name refers to: exact (case-folded) name, alias or guarded form
    /// first, then the punctuation-insensitive [`name_key`] ("Vue JS" → Vue.js).
    /// Guarded forms resolve here because a skill *name* isn't running prose.
    pub fn canonical(&self, name: &str) -> Option<&TaxonomyEntry> {
        let folded = fold(name);
        if folded.is_empty() {
            return None;
        }
        self.by_form
            .get(&folded)
            .or_else(|| self.by_key.get(&name_key(name)))
            .map(|&i| &self.entries[i])
    }

    /// Index of a skill by canonical name or alias.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        let entry = self.canonical(name)?;
        self.entries.iter().position(|e| std::ptr::eq(e, entry))
    }

    /// The skills mentioned in `text`, leftmost-longest and non-overlapping. Context
    /// phrases of guarded forms are looked for in `text` itself, so pass one sentence.
    pub fn find(&self, text: &str) -> Vec<SkillMatch> {
        let folded = Folded::new(text);
        let chars = &folded.chars;
        let n = chars.len();
        let mut out = Vec::new();
        let mut i = 0;
        while i < n {
            if !chars[i].is_alphanumeric() || (i > 0 && chars[i - 1].is_alphanumeric()) {
                i += 1;
                continue;
            }
            let run_end = (i..n).find(|&k| !chars[k].is_alphanumeric()).unwrap_or(n);
            let key: String = chars[i..run_end].iter().collect();
            let mut best: Option<(usize, usize, usize)> = None;
            for p in self.patterns.get(&key).map_or(&[][..], Vec::as_slice) {
                let Some(start) = i.checked_sub(p.lead) else {
                    continue;
                };
                let end = start + p.chars.len();
                if end > n
                    || chars[start..end] != p.chars[..]
                    || !boundary_before(chars, start)
                    || !boundary_after(chars, end)
                {
                    continue;
                }
                if let Some(guard) = &p.guard {
                    if !guard.allows(&folded, text, start, end) {
                        continue;
                    }
                }
                if best.is_none_or(|(s, e, _)| end - start > e - s) {
                    best = Some((start, end, p.skill));
                }
            }
            match best {
                Some((start, end, skill)) => {
                    if let Some((s, e)) = folded.source_range(start, end) {
                        out.push(SkillMatch {
                            skill,
                            start: s,
                            end: e,
                        });
                    }
                    i = end.max(i + 1);
                }
                None => i = run_end,
            }
        }
        out
    }
}

fn claim(
    map: &mut HashMap<String, usize>,
    form: String,
    index: usize,
    entries: &[TaxonomyEntry],
) -> Result<(), TaxonomyError> {
    match map.get(&form) {
        Some(&other) if other != index => Err(TaxonomyError::Ambiguous {
            form,
            first: entries[other].name.clone(),
            second: entries[index].name.clone(),
        }),
        _ => {
            map.insert(form, index);
            Ok(())
        }
    }
}

fn pattern(form: &str, skill: usize, guard: Option<Guard>) -> (String, Pattern) {
    let chars = Folded::new(form).chars;
    let lead = chars.iter().take_while(|c| !c.is_alphanumeric()).count();
    let key: String = chars[lead..]
        .iter()
        .take_while(|c| c.is_alphanumeric())
        .collect();
    (
        key,
        Pattern {
            chars,
            lead,
            skill,
            guard,
        },
    )
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `.` and `&` glue two alphanumerics into one word ("node.js", "r&d").
fn is_joiner(c: char) -> bool {
    c == '.' || c == '&'
}

fn boundary_before(chars: &[char], start: usize) -> bool {
    if start == 0 {
        return true;
    }
    let prev = chars[start - 1];
    if is_word(prev) {
        return false;
    }
    !(is_joiner(prev) && start >= 2 && chars[start - 2].is_alphanumeric())
}

fn boundary_after(chars: &[char], end: usize) -> bool {
    let Some(&next) = chars.get(end) else {
        return true;
    };
    if is_word(next) || next == '+' || next == '#' {
        return false;
    }
    !(is_joiner(next) && chars.get(end + 1).is_some_and(|c| c.is_alphanumeric()))
}

impl Guard {
    fn allows(&self, folded: &Folded, source: &str, start: usize, end: usize) -> bool {
        let chars = &folded.chars;
        // "go-live", "C-level", "R-squared": a hyphenated compound is another word.
        if (start > 0 && chars[start - 1] == '-') || chars.get(end) == Some(&'-') {
            return false;
        }
        if self.case_sensitive {
            let exact = folded
                .source_range(start, end)
                .is_some_and(|(s, e)| source[s..e] == self.form);
            if !exact {
                return false;
            }
        }
        self.context.is_empty() || self.context.iter().any(|phrase| has_phrase(folded, phrase))
    }
}

fn has_phrase(folded: &Folded, phrase: &[char]) -> bool {
    let mut from = 0;
    while let Some(pos) = folded.find_from(phrase, from) {
        if boundary_before(&folded.chars, pos) && boundary_after(&folded.chars, pos + phrase.len())
        {
            return true;
        }
        from = pos + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        let t = taxonomy();
        t.find(text)
            .into_iter()
            .filter_map(|m| t.get(m.skill).map(|e| e.name.clone()))
            .collect()
    }

    fn finds(text: &str, skill: &str) -> bool {
        names(text).iter().any(|n| n == skill)
    }

    #[test]
    fn bundled_taxonomy_loads() {
        let t = Taxonomy::from_json(BUNDLED).expect("bundled taxonomy must load");
        assert!(
            t.entries().len() >= 250,
            "only {} skills",
            t.entries().len()
        );
        for category in Category::ALL {
            if category != Category::Other {
                assert!(
                    t.entries()
                        .iter()
                        .filter(|e| e.category == category)
                        .count()
                        >= 5,
                    "{category:?} has fewer than 5 skills"
                );
            }
        }
        let soft: Vec<&str> = t
            .entries()
            .iter()
            .filter(|e| e.category == Category::SoftSkills)
            .map(|e| e.name.as_str())
            .collect();
        for needed in [
            "Leadership",
            "Mentoring",
            "Communication",
            "Stakeholder management",
            "Incident response",
            "Hiring",
        ] {
            assert!(soft.contains(&needed), "missing soft skill {needed}");
        }
    }

    #[test]
    fn no_form_belongs_to_two_skills() {
        // Recomputed independently of the loader's own check.
        let t = taxonomy();
        let mut seen: HashMap<String, &str> = HashMap::new();
        for e in t.entries() {
            let forms = std::iter::once(e.name.clone())
                .chain(e.aliases.iter().cloned())
                .chain(e.guarded.iter().map(|g| g.form.clone()));
            let mut own = std::collections::HashSet::new();
            for form in forms {
                let f = fold(&form);
                if !own.insert(f.clone()) {
                    continue;
                }
                if let Some(other) = seen.insert(f.clone(), &e.name) {
                    panic!("\"{f}\" names both {other} and {}", e.name);
                }
            }
        }
    }

    #[test]
    fn loader_rejects_ambiguous_and_broken_files() {
        let two = r#"[{"name":"A","category":"languages","aliases":["x"]},
                      {"name":"B","category":"languages","aliases":["X"]}]"#;
        assert!(matches!(
            Taxonomy::from_json(two),
            Err(TaxonomyError::Ambiguous { .. })
        ));
        let keys = r#"[{"name":"Vue.js","category":"frameworks"},
                       {"name":"Vue","category":"frameworks"}]"#;
        assert!(matches!(
            Taxonomy::from_json(keys),
            Err(TaxonomyError::Ambiguous { .. })
        ));
        let implied = r#"[{"name":"A","category":"languages","implies":["Nope"]}]"#;
        assert!(matches!(
            Taxonomy::from_json(implied),
            Err(TaxonomyError::UnknownImplied { .. })
        ));
        let bad_cat = r#"[{"name":"A","category":"cooking"}]"#;
        assert!(matches!(
            Taxonomy::from_json(bad_cat),
            Err(TaxonomyError::Json(_))
        ));
        let unknown_field = r#"[{"name":"A","category":"languages","alias":["a"]}]"#;
        assert!(Taxonomy::from_json(unknown_field).is_err());
        assert!(matches!(
            Taxonomy::from_json(r#"[{"name":"  ","category":"languages"}]"#),
            Err(TaxonomyError::EmptyName(0))
        ));
        assert!(matches!(
            Taxonomy::from_json(r#"[{"name":"A","category":"languages","aliases":["--"]}]"#),
            Err(TaxonomyError::Unmatchable { .. })
        ));
    }

    #[test]
    fn aliases_resolve_to_canonical_names() {
        for (alias, name) in [
            ("Postgres", "PostgreSQL"),
            ("psql", "PostgreSQL"),
            ("POSTGRESQL", "PostgreSQL"),
            ("k8s", "Kubernetes"),
            ("golang", "Go"),
            ("Go", "Go"),
            ("VueJS", "Vue.js"),
            ("vue js", "Vue.js"),
            ("nodejs", "Node.js"),
            ("c#", "C#"),
            ("C++", "C++"),
            ("c", "C"),
            ("ci/cd", "CI/CD"),
            ("sklearn", "scikit-learn"),
        ] {
            assert_eq!(
                canonical(alias).map(|e| e.name.as_str()),
                Some(name),
                "{alias}"
            );
        }
        assert!(canonical("underwater basket weaving").is_none());
        assert!(canonical("  ").is_none());
    }

    #[test]
    fn normalized_names_merge_near_duplicates() {
        assert_eq!(
            normalize_skill_name("Postgres"),
            normalize_skill_name("PostgreSQL")
        );
        assert_eq!(normalize_skill_name("psql"), "postgresql");
        assert_eq!(
            normalize_skill_name("React.js"),
            normalize_skill_name("react")
        );
        assert_eq!(
            normalize_skill_name("Stakeholder-Management"),
            normalize_skill_name("stakeholder management")
        );
        // Unknown names still merge on punctuation, case and a js suffix.
        assert_eq!(normalize_skill_name("Foo.JS"), normalize_skill_name("foo"));
        assert_eq!(normalize_skill_name("Basket  weaving!"), "basketweaving");
        // ...but the languages that differ by a symbol stay apart.
        assert_ne!(normalize_skill_name("C"), normalize_skill_name("C++"));
        assert_ne!(normalize_skill_name("C"), normalize_skill_name("C#"));
        assert_ne!(
            normalize_skill_name("Java"),
            normalize_skill_name("JavaScript")
        );
    }

    #[test]
    fn go_needs_capital_context_and_no_hyphen() {
        assert!(!finds("Go live on Monday for the payment service.", "Go"));
        assert!(!finds("Let's go with a 5% rollout.", "Go"));
        assert!(!finds("Prepared the go-live checklist.", "Go"));
        assert!(!finds("Go through the backlog before planning.", "Go"));
        assert!(finds("Rewrote the ingestion worker in Go.", "Go"));
        assert!(finds("Wrote a small Go service for webhooks.", "Go"));
        assert!(finds("Spawned goroutines per partition.", "Go"));
        assert!(finds("Bumped go.mod to 1.22", "Go"));
        assert!(finds("We use Golang for tooling", "Go"));
    }

    #[test]
    fn single_letter_languages_need_context() {
        assert!(!finds("The R&D budget was approved.", "R"));
        assert!(!finds("Plan B, or plan C if that fails.", "C"));
        assert!(!finds("Met with the C-level team.", "C"));
        assert!(!finds("R-squared of the model was 0.8.", "R"));
        assert!(finds(
            "Wrote an R script with dplyr for the churn analysis.",
            "R"
        ));
        assert!(finds(
            "Ported the parser to C and fixed a malloc leak.",
            "C"
        ));
        let got = names("Bindings for C# and C++ are done.");
        assert!(got.contains(&"C#".to_string()) && got.contains(&"C++".to_string()));
        assert!(!got.contains(&"C".to_string()), "{got:?}");
    }

    #[test]
    fn rust_and_other_common_words() {
        assert!(finds("Rewrote the service in Rust.", "Rust"));
        assert!(finds("ported it to rust, one crate per module", "Rust"));
        assert!(!finds("Found rust on the server rack door.", "Rust"));
        assert!(!finds("We need to react to alerts faster.", "React"));
        assert!(finds("Split the React components into hooks.", "React"));
        assert!(!finds("Spring planning starts next week.", "Spring Boot"));
        assert!(finds(
            "Moved the Spring beans to constructor injection.",
            "Spring Boot"
        ));
        assert!(!finds(
            "The idea sparked a Spark of interest.",
            "Apache Spark"
        ));
        assert!(finds(
            "Tuned the Spark executors for the nightly job.",
            "Apache Spark"
        ));
        assert!(!finds("Our interns excel at writing docs.", "Excel"));
        assert!(!finds("Swift response from the vendor.", "Swift"));
        assert!(finds("Rewrote the iOS widget in Swift.", "Swift"));
        assert!(!finds("Paired with Ruby on the migration.", "Ruby"));
        assert!(finds(
            "Upgraded the Ruby on Rails app to 7.1.",
            "Ruby on Rails"
        ));
        assert!(!finds("Took the helm of the project.", "Helm"));
        assert!(finds("Raised the memory limit in the Helm chart.", "Helm"));
    }

    #[test]
    fn interviews_count_as_hiring_only_with_hiring_context() {
        assert!(!finds(
            "Ran five user interviews about onboarding.",
            "Hiring"
        ));
        assert!(finds("Interviewed a candidate for the SRE role.", "Hiring"));
        assert!(!finds("Cut the first release candidate for 2.0.", "Hiring"));
    }

    #[test]
    fn word_boundaries_and_joiners() {
        assert!(finds(
            "Moved cron to a Postgres-backed queue.",
            "PostgreSQL"
        ));
        let got = names("Node.js service on ASP.NET and Java, not JavaScript.");
        assert!(got.contains(&"Node.js".to_string()), "{got:?}");
        assert!(got.contains(&"ASP.NET".to_string()), "{got:?}");
        assert!(!got.contains(&".NET".to_string()), "{got:?}");
        assert_eq!(
            got.iter().filter(|n| *n == "JavaScript").count(),
            1,
            "js in Node.js must not count: {got:?}"
        );
        assert!(!finds("Postgresql2 is not a word", "PostgreSQL"));
        assert!(finds("Migrated to .NET 8 last week.", ".NET"));
    }

    #[test]
    fn longest_match_wins_and_matches_dont_overlap() {
        let got = names("Ported the Spark SQL job; added dbt tests.");
        assert_eq!(got, vec!["Apache Spark", "Data quality"]);
        let m = taxonomy().find("Docker Compose works");
        assert_eq!(m.len(), 1);
        assert_eq!(
            &"Docker Compose works"[m[0].start..m[0].end],
            "Docker Compose"
        );
    }

    #[test]
    fn matches_map_back_to_source_text() {
        let text = "We ran  **EXPLAIN\nANALYZE** twice";
        let m = taxonomy().find(text);
        assert_eq!(m.len(), 1);
        assert_eq!(&text[m[0].start..m[0].end], "EXPLAIN\nANALYZE");
    }

    #[test]
    fn implications_point_at_real_skills() {
        let t = taxonomy();
        let terraform = t.index_of("Terraform").unwrap();
        let implied: Vec<&str> = t
            .implied(terraform)
            .iter()
            .filter_map(|&i| t.get(i).map(|e| e.name.as_str()))
            .collect();
        assert_eq!(implied, vec!["Infrastructure as code"]);
    }

    #[test]
    fn categories_parse_from_ids_and_labels() {
        assert_eq!(Category::parse("cloud_devops"), Some(Category::CloudDevops));
        assert_eq!(
            Category::parse("Cloud & DevOps"),
            Some(Category::CloudDevops)
        );
        assert_eq!(Category::parse("cooking"), None);
        for c in Category::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.id()));
        }
    }
}
