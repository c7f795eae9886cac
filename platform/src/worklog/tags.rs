//! Tag normalisation.
//!
//! A tag is normalised by: trimming; stripping any leading `#` (so `#rust`, `# rust` and
//! `rust` are the same tag); lower-casing (Unicode-aware); collapsing each run of inner
//! whitespace into one `-` (`Machine  Learning` → `machine-learning`). Tags that are empty
//! after that (`""`, `"#"`) are dropped silently: they carry nothing.
//!
//! Allowed characters after normalisation:
//! - ASCII: `a-z`, `0-9`, `-`, `_`, `.`, `+`, and `#` (not leading, e.g. `c#`, `f#`).
//! - Non-ASCII: any character except whitespace, control characters and invisible
//!   formatting characters (zero-width spaces, bidi overrides, BOM, soft hyphen).
//!
//! ASCII is strict because that is where markup and separators live: a tag can never
//! contain `,`, `;`, spaces or quotes, so the CSV (`;`-joined) and Markdown (`#tag`
//! tokens) exports can list tags without escaping. Non-ASCII is permissive because
//! classifying Unicode categories needs tables std doesn't ship; being strict there would
//! reject real words (Devanagari viramas, for one, are neither letters nor digits).
//!
//! After de-duplication (first-seen order kept) an entry has at most [`MAX_TAGS`] tags,
//! each at most [`TAG_MAX_CHARS`] characters (counted after normalisation).

use std::collections::HashSet;

use super::error::{codes, group_thousands, FieldError};

/// Most distinct tags one entry may carry.
pub const MAX_TAGS: usize = 20;
/// Longest tag, in characters, after normalisation.
pub const TAG_MAX_CHARS: usize = 40;

/// Normalises one raw tag; `Ok(None)` means it was empty and should be dropped.
pub fn normalise_tag(raw: &str) -> Result<Option<String>, FieldError> {
    // Strip '#' and whitespace together so "# #rust" can't leave a leading '#' behind,
    // which would make normalisation non-idempotent.
    let stripped = raw
        .trim_start_matches(|c: char| c == '#' || c.is_whitespace())
        .trim_end();
    if stripped.is_empty() {
        return Ok(None);
    }

    let mut tag = String::with_capacity(stripped.len());
    let mut in_whitespace = false;
    for c in stripped.to_lowercase().chars() {
        if c.is_whitespace() {
            if !in_whitespace {
                tag.push('-');
                in_whitespace = true;
            }
        } else {
            in_whitespace = false;
            tag.push(c);
        }
    }

    if let Some(bad) = tag.chars().find(|&c| !is_tag_char(c)) {
        return Err(FieldError::new(
            "tags",
            codes::TAG_INVALID,
            format!(
                "Tag \"{}\" contains {}, which isn't allowed; tags may use letters, digits, \
                 '-', '_', '.', '+' and '#'.",
                printable(&tag),
                describe_char(bad)
            ),
        ));
    }

    let len = tag.chars().count();
    if len > TAG_MAX_CHARS {
        return Err(FieldError::new(
            "tags",
            codes::TAG_TOO_LONG,
            format!(
                "Tag \"{}…\" is {} characters long; the limit is {}.",
                tag.chars().take(20).collect::<String>(),
                group_thousands(len),
                TAG_MAX_CHARS
            ),
        ));
    }
    Ok(Some(tag))
}

/// Normalises and de-duplicates a tag list, collecting every error.
pub fn normalise_tags<S: AsRef<str>>(raw: &[S]) -> Result<Vec<String>, Vec<FieldError>> {
    let mut tags = Vec::new();
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    for item in raw {
        match normalise_tag(item.as_ref()) {
            Ok(Some(tag)) => {
                if seen.insert(tag.clone()) {
                    tags.push(tag);
                }
            }
            Ok(None) => {}
            // A pasted list of thousands of bad tags shouldn't produce a megabyte of
            // errors; the first few tell the user what to fix.
            Err(e) if errors.len() < MAX_TAGS => errors.push(e),
            Err(_) => {}
        }
    }
    if tags.len() > MAX_TAGS {
        errors.push(FieldError::new(
            "tags",
            codes::TOO_MANY_TAGS,
            format!(
                "An entry can have at most {MAX_TAGS} tags; this one has {} after removing \
                 duplicates.",
                group_thousands(tags.len())
            ),
        ));
    }
    if errors.is_empty() {
        Ok(tags)
    } else {
        Err(errors)
    }
}

/// Splits a tag list written in one text field (CSV cell, JSON string) on `;` and `,`.
pub fn split_tag_list(field: &str) -> Vec<String> {
    field
        .split([';', ','])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether `c` may appear in a normalised tag (see the module docs).
fn is_tag_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | '+' | '#')
    } else {
        !c.is_whitespace() && !c.is_control() && !is_invisible_format(c)
    }
}

/// Invisible formatting characters that let two different tags (or filenames) look
/// identical, or reorder displayed text (the "Trojan source" bidi trick).
pub(super) fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                  // soft hyphen
        | '\u{034F}'                // combining grapheme joiner
        | '\u{061C}'                // Arabic letter mark
        | '\u{115F}' | '\u{1160}'   // Hangul fillers
        | '\u{17B4}' | '\u{17B5}'
        | '\u{180E}'                // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}'   // zero-width space/joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}'   // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}'   // word joiner, invisible operators, bidi isolates
        | '\u{3164}'                // Hangul filler
        | '\u{FE00}'..='\u{FE0F}'   // variation selectors
        | '\u{FEFF}'                // BOM / zero-width no-break space
        | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}'   // interlinear annotation
        | '\u{E0000}'..='\u{E007F}' // tag characters
    )
}

/// Renders a tag for an error message, dropping characters that wouldn't display.
fn printable(tag: &str) -> String {
    tag.chars()
        .filter(|&c| !c.is_control() && !is_invisible_format(c))
        .take(TAG_MAX_CHARS)
        .collect()
}

/// Names a rejected character so the user can find it ("'!'" or "U+200B").
pub(super) fn describe_char(c: char) -> String {
    if c.is_control() || is_invisible_format(c) || c.is_whitespace() {
        format!("the invisible character U+{:04X}", u32::from(c))
    } else {
        format!("'{c}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(raw: &str) -> Option<String> {
        match normalise_tag(raw) {
            Ok(tag) => tag,
            Err(e) => panic!("{raw:?} rejected: {e}"),
        }
    }

    fn code_of(raw: &str) -> &'static str {
        match normalise_tag(raw) {
            Ok(tag) => panic!("{raw:?} accepted as {tag:?}"),
            Err(e) => e.code,
        }
    }

    #[test]
    fn trims_strips_hash_lowercases_and_collapses_whitespace() {
        assert_eq!(norm("  Rust "), Some("rust".into()));
        assert_eq!(norm("#Rust"), Some("rust".into()));
        assert_eq!(norm("## rust"), Some("rust".into()));
        assert_eq!(norm("# #rust"), Some("rust".into()));
        assert_eq!(norm("Machine \t Learning"), Some("machine-learning".into()));
        assert_eq!(norm("C#"), Some("c#".into()));
        assert_eq!(norm("#C++"), Some("c++".into()));
        assert_eq!(norm(".NET"), Some(".net".into()));
        assert_eq!(norm("node_js"), Some("node_js".into()));
    }

    #[test]
    fn keeps_unicode_letters_and_lowercases_them() {
        assert_eq!(norm("Ünïcödé"), Some("ünïcödé".into()));
        assert_eq!(norm("日本語"), Some("日本語".into()));
        assert_eq!(norm("हिन्दी"), Some("हिन्दी".into()));
        assert_eq!(norm("ΣΟΦΙΑ"), Some("σοφια".into()));
    }

    #[test]
    fn empty_tags_are_dropped() {
        assert_eq!(norm(""), None);
        assert_eq!(norm("   "), None);
        assert_eq!(norm("#"), None);
        assert_eq!(norm("## "), None);
    }

    #[test]
    fn rejects_punctuation_controls_and_invisible_characters() {
        for raw in [
            "foo!",
            "a,b",
            "a;b",
            "a\"b",
            "a'b",
            "<b>",
            "a/b",
            "a\u{200B}b",
            "a\u{202E}b",
            "a\u{0}b",
        ] {
            assert_eq!(code_of(raw), codes::TAG_INVALID, "{raw:?}");
        }
    }

    #[test]
    fn tag_of_40_chars_is_accepted_and_41_rejected() {
        let forty = "a".repeat(40);
        assert_eq!(norm(&forty), Some(forty.clone()));
        assert_eq!(code_of(&"a".repeat(41)), codes::TAG_TOO_LONG);
        // Counted in characters, not bytes: 40 two-byte letters fit.
        assert_eq!(norm(&"é".repeat(40)).map(|t| t.chars().count()), Some(40));
        assert_eq!(code_of(&"é".repeat(41)), codes::TAG_TOO_LONG);
        // The leading '#' doesn't count.
        assert_eq!(norm(&format!("#{forty}")), Some(forty));
    }

    #[test]
    fn dedupes_preserving_first_seen_order() {
        let tags = normalise_tags(&["Rust", "go", "#rust", "GO", "sql"]).unwrap();
        assert_eq!(tags, ["rust", "go", "sql"]);
    }

    #[test]
    fn twenty_tags_accepted_twenty_one_rejected_after_dedupe() {
        let twenty: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
        assert_eq!(normalise_tags(&twenty).unwrap().len(), 20);

        let mut with_dupes = twenty.clone();
        with_dupes.extend(twenty.iter().map(|t| t.to_uppercase()));
        assert_eq!(normalise_tags(&with_dupes).unwrap().len(), 20);

        let mut twenty_one = twenty;
        twenty_one.push("t20".into());
        let errors = normalise_tags(&twenty_one).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code, codes::TOO_MANY_TAGS);
        assert!(errors[0].message.contains("21"), "{}", errors[0].message);
    }

    #[test]
    fn collects_every_bad_tag() {
        let errors = normalise_tags(&["ok", "bad!", &"x".repeat(41)]).unwrap_err();
        let got: Vec<_> = errors.iter().map(|e| e.code).collect();
        assert_eq!(got, [codes::TAG_INVALID, codes::TAG_TOO_LONG]);
    }

    #[test]
    fn splits_lists_on_semicolons_and_commas() {
        assert_eq!(
            split_tag_list(" rust; go ,sql;;, "),
            ["rust", "go", "sql"].map(String::from)
        );
        assert_eq!(split_tag_list("machine learning"), ["machine learning"]);
    }

    #[test]
    fn normalisation_is_idempotent_on_samples() {
        for raw in [
            "İstanbul",
            "ẞtraße",
            "KELVIN\u{212A}",
            "ΟΔΟΣ",
            "#C#",
            "a  b",
        ] {
            let once = norm(raw).unwrap();
            assert_eq!(norm(&once).as_deref(), Some(once.as_str()), "{raw:?}");
        }
    }
}
