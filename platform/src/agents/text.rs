//! Text helpers shared by the agents: token estimates, truncation, case- and
//! whitespace-insensitive matching that maps back to the source text, sentence
//! splitting, number extraction, tag normalisation, markdown escaping and pulling a
//! JSON object out of a model's answer.

use serde_json::Value;

/// Characters per token assumed by every budget in this module.
///
/// English prose averages ~4 characters per token on BPE vocabularies; code, numbers
/// (SmolLM2 splits digits one by one) and non-Latin scripts are denser, which is why
/// every budget keeps a margin below the model's context instead of filling it.
pub const CHARS_PER_TOKEN: usize = 4;

/// Estimated token count of `text` (characters / [`CHARS_PER_TOKEN`], rounded up).
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(CHARS_PER_TOKEN)
}

/// Collapses every whitespace run to one space and trims both ends.
pub fn squash_ws(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Cuts `text` to at most `max` characters, at a word boundary where one is near, ending
/// with `…` when cut (the ellipsis counts towards `max`).
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let keep: String = text.chars().take(max - 1).collect();
    // Prefer the last space in the second half so a word isn't cut in the middle, but
    // never throw away more than half of the allowance for it.
    let cut = match keep.rfind(char::is_whitespace) {
        Some(i) if keep[..i].chars().count() >= (max - 1) / 2 => &keep[..i],
        _ => keep.as_str(),
    };
    format!("{}…", cut.trim_end())
}

/// Cuts `text` to at most `max` characters at a whitespace boundary without adding
/// anything, so the result stays a verbatim substring (used for evidence quotes).
pub fn truncate_verbatim(text: &str, max: usize) -> &str {
    if text.chars().count() <= max {
        return text;
    }
    let end = text.char_indices().nth(max).map_or(text.len(), |(i, _)| i);
    let head = &text[..end];
    match head.rfind(char::is_whitespace) {
        Some(i) if i > 0 => head[..i].trim_end(),
        _ => head,
    }
}

/// A lower-cased, whitespace-collapsed view of a text that remembers where each
/// character came from, so a match in the folded view maps back to a source slice.
#[derive(Debug, Clone)]
pub struct Folded {
    /// The folded characters.
    pub chars: Vec<char>,
    /// Byte range in the source of the character each folded character came from.
    spans: Vec<(usize, usize)>,
}

impl Folded {
    /// Folds `text`: lower-case (Unicode), whitespace runs → one space, trimmed, markdown
    /// emphasis markers (`*`, `` ` ``) dropped, typographic quotes and dashes → ASCII.
    pub fn new(text: &str) -> Self {
        let mut chars = Vec::with_capacity(text.len());
        let mut spans = Vec::with_capacity(text.len());
        let mut pending_space: Option<(usize, usize)> = None;
        for (i, c) in text.char_indices() {
            let span = (i, i + c.len_utf8());
            if c.is_whitespace() {
                if !chars.is_empty() && pending_space.is_none() {
                    pending_space = Some(span);
                }
                continue;
            }
            // Models quote without markdown emphasis; dropping it on both sides keeps
            // "**p95** dropped" and "p95 dropped" equal.
            if c == '*' || c == '`' {
                continue;
            }
            if let Some(space) = pending_space.take() {
                chars.push(' ');
                spans.push(space);
            }
            let mapped = match c {
                '\u{2018}' | '\u{2019}' | '\u{02BC}' => Some('\''),
                '\u{201C}' | '\u{201D}' => Some('"'),
                '\u{2010}'..='\u{2015}' => Some('-'),
                _ => None,
            };
            match mapped {
                Some(m) => {
                    chars.push(m);
                    spans.push(span);
                }
                None => {
                    for lc in c.to_lowercase() {
                        chars.push(lc);
                        spans.push(span);
                    }
                }
            }
        }
        Self { chars, spans }
    }

    /// The folded text as a string.
    pub fn as_string(&self) -> String {
        self.chars.iter().collect()
    }

    /// Whether the folded view is empty.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// Source byte range covered by folded characters `start..end` (`end > start`).
    pub fn source_range(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        if start >= end || end > self.spans.len() {
            return None;
        }
        Some((self.spans[start].0, self.spans[end - 1].1))
    }

    /// Position of the first occurrence of `needle` (already folded) in this view.
    pub fn find(&self, needle: &[char]) -> Option<usize> {
        self.find_from(needle, 0)
    }

    /// Position of the first occurrence of `needle` at or after `from`.
    pub fn find_from(&self, needle: &[char], from: usize) -> Option<usize> {
        if needle.is_empty() || needle.len() > self.chars.len() || from > self.chars.len() {
            return None;
        }
        let first = needle[0];
        (from..=self.chars.len() - needle.len())
            .find(|&i| self.chars[i] == first && self.chars[i..i + needle.len()] == *needle)
    }
}

/// Folds `text` the way [`Folded::new`] does and returns the string.
pub fn fold(text: &str) -> String {
    Folded::new(text).as_string()
}

/// Where a case- and whitespace-insensitive `needle` occurs in `haystack`, as the byte
/// range of the verbatim source text it matched.
pub fn find_normalized(haystack: &str, needle: &str) -> Option<(usize, usize)> {
    let needle: Vec<char> = Folded::new(needle).chars;
    let folded = Folded::new(haystack);
    let start = folded.find(&needle)?;
    folded.source_range(start, start + needle.len())
}

/// Whether `needle` occurs in `haystack`, ignoring case, whitespace runs and emphasis.
pub fn contains_normalized(haystack: &str, needle: &str) -> bool {
    find_normalized(haystack, needle).is_some()
}

/// Common abbreviations whose trailing period doesn't end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "etc", "vs", "approx", "incl", "mr", "mrs", "ms", "dr", "no", "fig", "cf",
];

/// Sentences of `text` as trimmed byte ranges: split at newlines and at `.`, `!`, `?`
/// followed by whitespace (not after a known abbreviation); leading markdown list,
/// heading and quote markers are skipped so every range is verbatim prose.
pub fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (line_start, line) in lines_with_offsets(text) {
        let body_offset = line.len() - strip_line_marker(line).len();
        let body = &line[body_offset..];
        let base = line_start + body_offset;
        let mut start = 0;
        let chars: Vec<(usize, char)> = body.char_indices().collect();
        for (k, &(i, c)) in chars.iter().enumerate() {
            if !matches!(c, '.' | '!' | '?') {
                continue;
            }
            let next = chars.get(k + 1).map(|&(_, n)| n);
            if !next.is_some_and(char::is_whitespace) {
                continue;
            }
            if c == '.' && ends_with_abbreviation(&body[start..i]) {
                continue;
            }
            push_trimmed(&mut out, text, base + start, base + i + c.len_utf8());
            start = i + c.len_utf8();
        }
        push_trimmed(&mut out, text, base + start, base + body.len());
    }
    out
}

/// The sentences of `text` as string slices (see [`sentences`]).
pub fn sentence_strs(text: &str) -> Vec<&str> {
    sentences(text)
        .into_iter()
        .map(|(s, e)| &text[s..e])
        .collect()
}

fn lines_with_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    text.split('\n').map(move |line| {
        let start = offset;
        offset += line.len() + 1;
        (start, line.strip_suffix('\r').unwrap_or(line))
    })
}

/// Skips leading whitespace and one markdown block marker (`#`s, `-`, `*`, `+`, `>`,
/// `1.`/`1)`, optionally followed by a `[ ]`/`[x]` checkbox).
fn strip_line_marker(line: &str) -> &str {
    let mut rest = line.trim_start();
    if rest.starts_with('#') {
        rest = rest.trim_start_matches('#');
    } else if let Some(r) = rest
        .strip_prefix("- ")
        .or_else(|| rest.strip_prefix("* "))
        .or_else(|| rest.strip_prefix("+ "))
        .or_else(|| rest.strip_prefix("> "))
    {
        rest = r;
    } else {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 && digits <= 3 {
            let after = &rest[digits..];
            if let Some(r) = after
                .strip_prefix(". ")
                .or_else(|| after.strip_prefix(") "))
            {
                rest = r;
            }
        }
    }
    rest = rest.trim_start();
    for checkbox in ["[ ] ", "[x] ", "[X] "] {
        if let Some(r) = rest.strip_prefix(checkbox) {
            rest = r.trim_start();
        }
    }
    rest
}

fn ends_with_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("")
        .to_lowercase();
    ABBREVIATIONS.contains(&word.as_str())
        || (word.chars().count() == 1 && word.chars().all(char::is_alphabetic))
}

fn push_trimmed(out: &mut Vec<(usize, usize)>, text: &str, start: usize, end: usize) {
    let slice = &text[start..end];
    let lead = slice.len() - slice.trim_start().len();
    let trimmed = slice.trim();
    if !trimmed.is_empty() {
        out.push((start + lead, start + lead + trimmed.len()));
    }
}

/// The numbers written in `text`, normalised (thousands separators removed, trailing
/// zeros after a decimal point kept as written), in order of appearance.
///
/// Used to check that a model's rewording didn't invent or change a figure: "cut p95
/// from 420 ms to 90 ms" yields `["95", "420", "90"]`.
pub fn numbers(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut num = String::new();
        while i < chars.len() {
            let c = chars[i];
            let next_is_digit = chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if c.is_ascii_digit() {
                num.push(c);
            } else if c == '.' && next_is_digit {
                num.push('.');
            } else if c == ',' && next_is_digit && is_thousands_group(&chars[i + 1..]) {
                // "1,200" is one number; "3,4" (a list) isn't a thousands group.
            } else {
                break;
            }
            i += 1;
        }
        out.push(num);
    }
    out
}

fn is_thousands_group(rest: &[char]) -> bool {
    rest.len() >= 3
        && rest[..3].iter().all(char::is_ascii_digit)
        && !rest.get(3).is_some_and(char::is_ascii_digit)
}

/// Numbers in `candidate` that don't occur anywhere in `sources` (see [`numbers`]).
pub fn unsupported_numbers(candidate: &str, sources: &[&str]) -> Vec<String> {
    let known: Vec<String> = sources.iter().flat_map(|s| numbers(s)).collect();
    let mut missing: Vec<String> = numbers(candidate)
        .into_iter()
        .filter(|n| !known.contains(n))
        .collect();
    missing.dedup();
    missing
}

/// Longest tag the platform accepts, in characters (platform `worklog::tags`).
pub const TAG_MAX_CHARS: usize = 40;

/// Normalises a tag the way the platform's work-log tags are normalised (lower-case,
/// no leading `#`, whitespace runs → `-`); characters the platform rejects become `-`
/// so a skill like "CI/CD" still yields a usable tag ("ci-cd"). `None` when nothing
/// usable is left or it is longer than [`TAG_MAX_CHARS`].
pub fn normalize_tag(raw: &str) -> Option<String> {
    let stripped = raw
        .trim_start_matches(|c: char| c == '#' || c.is_whitespace())
        .trim_end();
    let mut tag = String::with_capacity(stripped.len());
    for c in stripped.to_lowercase().chars() {
        let ok = c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || matches!(c, '_' | '.' | '+' | '#')
            || (!c.is_ascii() && !c.is_whitespace() && !c.is_control());
        let c = if ok { c } else { '-' };
        if c == '-' && (tag.is_empty() || tag.ends_with('-')) {
            continue;
        }
        tag.push(c);
    }
    let tag = tag.trim_end_matches('-').to_string();
    if tag.is_empty() || tag.chars().count() > TAG_MAX_CHARS {
        None
    } else {
        Some(tag)
    }
}

/// Escapes text for use inside one markdown line (a bullet or a heading): whitespace is
/// collapsed, characters that would open links, HTML or code (`\ [ ] < > ` `) are
/// backslash-escaped, and a leading block marker is escaped so it stays literal.
pub fn md_inline(text: &str) -> String {
    let squashed = squash_ws(text);
    let mut out = String::with_capacity(squashed.len() + 8);
    for (i, c) in squashed.chars().enumerate() {
        let leading_marker = i == 0 && matches!(c, '#' | '-' | '+' | '*' | '>' | '=' | '|');
        if matches!(c, '\\' | '[' | ']' | '<' | '>' | '`') || leading_marker {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Parses the JSON object in a model's answer, tolerating a markdown code fence or
/// prose around it (non-constrained backends add them); the error says what to fix.
pub fn parse_json_object(raw: &str) -> Result<Value, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("the answer was empty; reply with one JSON object".to_string());
    }
    let unfenced = strip_code_fence(trimmed);
    let direct = serde_json::from_str::<Value>(unfenced);
    let value = match direct {
        Ok(v) => v,
        Err(first_error) => {
            // Prose around the object: try the outermost braces before giving up.
            let candidate = match (unfenced.find('{'), unfenced.rfind('}')) {
                (Some(s), Some(e)) if e > s => serde_json::from_str::<Value>(&unfenced[s..=e]).ok(),
                _ => None,
            };
            match candidate {
                Some(v) => v,
                None => {
                    return Err(format!(
                        "the answer is not valid JSON ({first_error}); reply with one complete \
                         JSON object and nothing else"
                    ))
                }
            }
        }
    };
    if value.is_object() {
        Ok(value)
    } else {
        Err(format!(
            "the answer must be a JSON object, not {}",
            json_type_name(&value)
        ))
    }
}

fn strip_code_fence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    // Skip the info string ("json") on the fence line.
    let body = rest.split_once('\n').map_or("", |(_, b)| b);
    body.trim_end().strip_suffix("```").unwrap_or(body).trim()
}

/// JSON type name of a value, as JSON Schema spells it.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Replaces `{{key}}` placeholders in a prompt template.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (key, value) in values {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    out
}

/// Neutralises `<entry`/`</entry` inside user text so an entry can't fake the block
/// delimiters the prompts use (the model would see a new entry with a forged id).
pub fn neutralize_delimiters(text: &str) -> String {
    let lower = text.to_lowercase();
    if !lower.contains("<entry") && !lower.contains("</entry") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(pos) = rest.find('<') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let after_lower = after.to_lowercase();
        if after_lower.starts_with("entry") || after_lower.starts_with("/entry") {
            out.push_str("< ");
        } else {
            out.push('<');
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn estimate_rounds_up() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abc"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens("ééééé"), 2, "counts characters, not bytes");
    }

    #[test]
    fn truncate_cuts_at_a_word_and_marks_it() {
        assert_eq!(truncate("short", 10), "short");
        let cut = truncate("the quick brown fox jumps", 12);
        assert_eq!(cut, "the quick…");
        assert!(cut.chars().count() <= 12);
        assert_eq!(truncate("abcdefghijkl", 5), "abcd…");
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn truncate_verbatim_stays_a_substring() {
        let s = "Ran EXPLAIN ANALYZE on the merchant listing query";
        let t = truncate_verbatim(s, 20);
        assert!(s.contains(t));
        assert_eq!(t, "Ran EXPLAIN ANALYZE");
    }

    #[test]
    fn folding_ignores_case_whitespace_emphasis_and_typography() {
        assert_eq!(fold("  Hello\n\n  **World**  "), "hello world");
        assert_eq!(
            fold("it\u{2019}s \u{201C}done\u{201D} \u{2014} ok"),
            "it's \"done\" - ok"
        );
        assert!(contains_normalized(
            "Ran EXPLAIN   ANALYZE\non the query",
            "explain analyze on THE"
        ));
        assert!(!contains_normalized("abc", "abd"));
        assert!(!contains_normalized("abc", ""));
    }

    #[test]
    fn find_normalized_maps_back_to_verbatim_source() {
        let text = "Added a **composite   index** on\n(merchant_id)";
        let (s, e) = find_normalized(text, "composite index on (merchant_id)").unwrap();
        assert_eq!(&text[s..e], "composite   index** on\n(merchant_id)");
        let text = "ÄRGER über Straße";
        let (s, e) = find_normalized(text, "über straße").unwrap();
        assert_eq!(&text[s..e], "über Straße");
    }

    #[test]
    fn sentences_split_on_terminators_and_lines_but_not_abbreviations_or_decimals() {
        let text =
            "First one. Second, e.g. with 1.5 ms! Third?\n- list item\n## Heading\n\n3. numbered";
        let got = sentence_strs(text);
        assert_eq!(
            got,
            vec![
                "First one.",
                "Second, e.g. with 1.5 ms!",
                "Third?",
                "list item",
                "Heading",
                "numbered"
            ]
        );
        assert!(sentence_strs("Node.js and v1.2.3 stay whole").len() == 1);
    }

    #[test]
    fn numbers_are_extracted_and_normalised() {
        assert_eq!(
            numbers("p95 down from 420 ms to 90 ms; 1,200 rows; 1.2M; 3,4"),
            vec!["95", "420", "90", "1200", "1.2", "3", "4"]
        );
        assert_eq!(
            unsupported_numbers("cut from 420 to 9 ms", &["from 420 ms to 90 ms"]),
            vec!["9"]
        );
    }

    #[test]
    fn tags_follow_platform_rules() {
        assert_eq!(
            normalize_tag("#Machine  Learning").as_deref(),
            Some("machine-learning")
        );
        assert_eq!(normalize_tag("CI/CD").as_deref(), Some("ci-cd"));
        assert_eq!(normalize_tag("C#").as_deref(), Some("c#"));
        assert_eq!(normalize_tag("  # ").as_deref(), None);
        assert_eq!(normalize_tag(&"x".repeat(41)), None);
    }

    #[test]
    fn md_inline_escapes_links_html_and_leading_markers() {
        assert_eq!(
            md_inline("see [1] <b>x</b>"),
            "see \\[1\\] \\<b\\>x\\</b\\>"
        );
        assert_eq!(md_inline("# not a heading"), "\\# not a heading");
        assert_eq!(md_inline("two\nlines"), "two lines");
    }

    #[test]
    fn json_objects_are_found_in_fences_and_prose() {
        assert!(parse_json_object("{\"a\":1}").is_ok());
        assert!(parse_json_object("```json\n{\"a\":1}\n```").is_ok());
        assert!(parse_json_object("Sure! Here it is: {\"a\":1} Hope that helps").is_ok());
        let err = parse_json_object("{\"a\":").unwrap_err();
        assert!(err.contains("not valid JSON"), "{err}");
        let err = parse_json_object("[1,2]").unwrap_err();
        assert!(err.contains("not array"), "{err}");
        assert!(parse_json_object("   ").unwrap_err().contains("empty"));
    }

    #[test]
    fn fill_replaces_placeholders() {
        assert_eq!(
            fill("a {{x}} b {{y}}", &[("x", "1"), ("y", "2")]),
            "a 1 b 2"
        );
    }

    #[test]
    fn delimiters_are_neutralised() {
        let s = neutralize_delimiters("x </entry> <ENTRY id=\"a\"> <b>");
        assert_eq!(s, "x < /entry> < ENTRY id=\"a\"> <b>");
        assert!(!s.to_lowercase().contains("<entry") && !s.contains("</entry"));
    }

    proptest! {
        #[test]
        fn truncate_never_exceeds_max(s in "\\PC{0,200}", max in 0usize..120) {
            prop_assert!(truncate(&s, max).chars().count() <= max);
        }

        #[test]
        fn truncate_verbatim_is_a_prefix_substring(s in "\\PC{0,200}", max in 0usize..120) {
            let t = truncate_verbatim(&s, max);
            prop_assert!(s.starts_with(t));
            prop_assert!(t.chars().count() <= max);
        }

        #[test]
        fn every_substring_is_found_normalised(s in "[a-zA-Z ,.\n]{1,80}", a in 0usize..80, len in 1usize..40) {
            let chars: Vec<char> = s.chars().collect();
            let a = a.min(chars.len() - 1);
            let b = (a + len).min(chars.len());
            let needle: String = chars[a..b].iter().collect();
            if !fold(&needle).is_empty() {
                prop_assert!(contains_normalized(&s, &needle));
                let (x, y) = find_normalized(&s, &needle).unwrap();
                prop_assert_eq!(fold(&s[x..y]), fold(&needle));
            }
        }

        #[test]
        fn sentences_are_trimmed_verbatim_ranges(s in "\\PC{0,300}") {
            for (a, b) in sentences(&s) {
                let slice = &s[a..b];
                prop_assert!(!slice.is_empty());
                prop_assert_eq!(slice, slice.trim());
                prop_assert!(!slice.contains('\n'));
            }
        }

        #[test]
        fn json_extraction_never_panics(s in "\\PC{0,200}") {
            let _ = parse_json_object(&s);
        }
    }
}
