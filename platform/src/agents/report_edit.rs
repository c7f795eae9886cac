//! Corrections to a report's draft: what a user's edit must satisfy, who wrote each
//! bullet afterwards, and one section replaced by a regenerated one. Pure; the report
//! service stores the results as versions.

use std::collections::{HashMap, HashSet};

use super::report::{Bullet, Origin, ReportDraft, Section, HEADING_MAX, TITLE_MAX};
use super::text::squash_ws;

/// Longest bullet a user may write, in characters (the model's are shorter).
pub const USER_BULLET_MAX: usize = 1_000;
/// Most sections of an edited report.
pub const MAX_SECTIONS: usize = 12;
/// Most bullets in one section of an edited report.
pub const MAX_SECTION_BULLETS: usize = 30;
/// Most citations on one bullet.
pub const MAX_BULLET_CITATIONS: usize = 10;

/// One thing wrong with an edit, by field path (`sections[1].bullets[0].text`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditIssue {
    pub field: String,
    /// `blank`, `too_long`, `too_many`, `duplicate` or `not_in_period`.
    pub code: &'static str,
    pub message: String,
}

fn issue(field: String, code: &'static str, message: impl Into<String>) -> EditIssue {
    EditIssue {
        field,
        code,
        message: message.into(),
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Everything wrong with `draft` as a user's edit: blank or overlong texts, too many
/// sections, bullets or citations, a citation repeated on a bullet, or one of an entry
/// outside `allowed` (the report author's entries in its period).
pub fn check_edit(draft: &ReportDraft, allowed: &HashSet<&str>) -> Vec<EditIssue> {
    let mut out = Vec::new();
    let title = draft.title.trim();
    if title.is_empty() {
        out.push(issue("title".into(), "blank", "the title is blank"));
    } else if chars(title) > TITLE_MAX {
        out.push(issue(
            "title".into(),
            "too_long",
            format!("at most {TITLE_MAX} characters"),
        ));
    }
    if draft.sections.is_empty() || draft.sections.len() > MAX_SECTIONS {
        out.push(issue(
            "sections".into(),
            "too_many",
            format!("a report has 1 to {MAX_SECTIONS} sections"),
        ));
    }
    for (si, section) in draft.sections.iter().enumerate() {
        let at = format!("sections[{si}]");
        let heading = section.heading.trim();
        if heading.is_empty() {
            out.push(issue(
                format!("{at}.heading"),
                "blank",
                "the heading is blank",
            ));
        } else if chars(heading) > HEADING_MAX {
            out.push(issue(
                format!("{at}.heading"),
                "too_long",
                format!("at most {HEADING_MAX} characters"),
            ));
        }
        if section.bullets.len() > MAX_SECTION_BULLETS {
            out.push(issue(
                format!("{at}.bullets"),
                "too_many",
                format!("at most {MAX_SECTION_BULLETS} bullets in a section"),
            ));
        }
        for (bi, bullet) in section.bullets.iter().enumerate() {
            let at = format!("{at}.bullets[{bi}]");
            let text = bullet.text.trim();
            if text.is_empty() {
                out.push(issue(
                    format!("{at}.text"),
                    "blank",
                    "the bullet is blank; remove it instead",
                ));
            } else if chars(text) > USER_BULLET_MAX {
                out.push(issue(
                    format!("{at}.text"),
                    "too_long",
                    format!("at most {USER_BULLET_MAX} characters"),
                ));
            }
            if bullet.citations.len() > MAX_BULLET_CITATIONS {
                out.push(issue(
                    format!("{at}.citations"),
                    "too_many",
                    format!("at most {MAX_BULLET_CITATIONS} sources on a bullet"),
                ));
            }
            let mut seen = HashSet::new();
            for (ci, id) in bullet.citations.iter().enumerate() {
                let field = format!("{at}.citations[{ci}]");
                if !seen.insert(id.as_str()) {
                    out.push(issue(
                        field,
                        "duplicate",
                        "this source is cited twice on the bullet",
                    ));
                } else if !allowed.contains(id.as_str()) {
                    out.push(issue(
                        field,
                        "not_in_period",
                        "not one of the report author's entries in its period",
                    ));
                }
            }
        }
    }
    out
}

fn normalized(text: &str) -> String {
    squash_ws(text.trim())
}

/// The edit as stored: texts trimmed, and each bullet's author decided by the server: a
/// bullet whose text is one the previous version had keeps that bullet's author (moved,
/// or only its sources changed); any other text is the user's.
pub fn attribute(edited: ReportDraft, previous: &ReportDraft) -> ReportDraft {
    let before: HashMap<String, Origin> = previous
        .sections
        .iter()
        .flat_map(|s| &s.bullets)
        .map(|b| (normalized(&b.text), b.by))
        .collect();
    ReportDraft {
        title: edited.title.trim().to_string(),
        sections: edited
            .sections
            .into_iter()
            .map(|s| Section {
                heading: s.heading.trim().to_string(),
                bullets: s
                    .bullets
                    .into_iter()
                    .map(|b| {
                        let text = normalized(&b.text);
                        let by = before.get(&text).copied().unwrap_or(Origin::User);
                        Bullet {
                            text,
                            citations: b.citations,
                            by,
                        }
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// `current` with section `index`'s bullets replaced by the model's for it in
/// `generated`: the section of the same heading (any case), else the one at the same
/// position. The heading and every other section stay as they are.
pub fn replace_section(
    current: &ReportDraft,
    index: usize,
    generated: &ReportDraft,
) -> Result<ReportDraft, String> {
    let target = current
        .sections
        .get(index)
        .ok_or_else(|| format!("the report has no section {}", index + 1))?;
    let fresh = generated
        .sections
        .iter()
        .find(|s| s.heading.trim().eq_ignore_ascii_case(target.heading.trim()))
        .or_else(|| generated.sections.get(index))
        .ok_or_else(|| format!("the new draft has no section for \"{}\"", target.heading))?;
    let mut out = current.clone();
    out.sections[index].bullets = fresh
        .bullets
        .iter()
        .cloned()
        .map(|b| Bullet {
            by: Origin::Model,
            ..b
        })
        .collect();
    Ok(out)
}

/// Bullets whose text the user wrote.
pub fn user_bullets(draft: &ReportDraft) -> usize {
    draft
        .sections
        .iter()
        .flat_map(|s| &s.bullets)
        .filter(|b| b.by == Origin::User)
        .count()
}

/// The entries cited anywhere in `draft`, in first-appearance order (the order of the
/// rendered `[n]`).
pub fn cited(draft: &ReportDraft) -> Vec<String> {
    let mut seen = HashSet::new();
    draft
        .sections
        .iter()
        .flat_map(|s| s.bullets.iter().flat_map(|b| b.citations.iter()))
        .filter(|id| seen.insert(id.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(text: &str, ids: &[&str], by: Origin) -> Bullet {
        Bullet {
            text: text.into(),
            citations: ids.iter().map(|s| s.to_string()).collect(),
            by,
        }
    }

    fn draft(sections: Vec<(&str, Vec<Bullet>)>) -> ReportDraft {
        ReportDraft {
            title: "Status".into(),
            sections: sections
                .into_iter()
                .map(|(h, bullets)| Section {
                    heading: h.into(),
                    bullets,
                })
                .collect(),
        }
    }

    #[test]
    fn an_edit_keeps_the_models_authorship_only_for_text_it_wrote() {
        let before = draft(vec![(
            "Highlights",
            vec![
                b("Shipped the export", &["a"], Origin::Model),
                b("Fixed CI", &["b"], Origin::Model),
            ],
        )]);
        let edited = draft(vec![
            (
                " Highlights ",
                vec![
                    // Same text, another source: still the model's words.
                    b("  Shipped   the export ", &["b"], Origin::User),
                    b("Fixed the flaky CI job", &["b"], Origin::Model),
                ],
            ),
            ("Next", vec![b("Plan Q1", &[], Origin::Model)]),
        ]);
        let out = attribute(edited, &before);
        let by: Vec<(&str, Origin)> = out
            .sections
            .iter()
            .flat_map(|s| &s.bullets)
            .map(|b| (b.text.as_str(), b.by))
            .collect();
        assert_eq!(
            by,
            [
                ("Shipped the export", Origin::Model),
                ("Fixed the flaky CI job", Origin::User),
                ("Plan Q1", Origin::User)
            ]
        );
        assert_eq!(out.sections[0].heading, "Highlights");
        assert_eq!(user_bullets(&out), 2);
        assert_eq!(cited(&out), ["b"]);
    }

    #[test]
    fn an_edit_is_checked_field_by_field() {
        let allowed: HashSet<&str> = ["a", "b"].into();
        let mut d = draft(vec![(
            "",
            vec![
                b(" ", &[], Origin::User),
                b("ok", &["a", "a", "zz"], Origin::User),
                b(&"x".repeat(USER_BULLET_MAX + 1), &[], Origin::User),
            ],
        )]);
        d.title = "  ".into();
        let fields: Vec<String> = check_edit(&d, &allowed)
            .into_iter()
            .map(|i| i.field)
            .collect();
        assert_eq!(
            fields,
            [
                "title",
                "sections[0].heading",
                "sections[0].bullets[0].text",
                "sections[0].bullets[1].citations[1]",
                "sections[0].bullets[1].citations[2]",
                "sections[0].bullets[2].text"
            ]
        );
        let fine = draft(vec![(
            "Highlights",
            vec![b("ok", &["a", "b"], Origin::User)],
        )]);
        assert!(check_edit(&fine, &allowed).is_empty());
        assert_eq!(check_edit(&draft(vec![]), &allowed)[0].field, "sections");
    }

    #[test]
    fn regenerating_a_section_replaces_only_its_bullets() {
        let current = draft(vec![
            ("Highlights", vec![b("Mine", &["a"], Origin::User)]),
            ("Risks", vec![b("Old risk", &["b"], Origin::Model)]),
        ]);
        let generated = draft(vec![
            (
                "highlights",
                vec![b("New highlight", &["a"], Origin::Model)],
            ),
            ("Risks", vec![b("New risk", &["b"], Origin::Model)]),
        ]);
        let out = replace_section(&current, 0, &generated).expect("replaced");
        assert_eq!(out.sections[0].heading, "Highlights");
        assert_eq!(out.sections[0].bullets[0].text, "New highlight");
        assert_eq!(out.sections[0].bullets[0].by, Origin::Model);
        assert_eq!(out.sections[1], current.sections[1]);
        assert!(replace_section(&current, 5, &generated).is_err());
        // A renamed heading falls back to the same position.
        let mut renamed = current.clone();
        renamed.sections[1].heading = "What could go wrong".into();
        let out = replace_section(&renamed, 1, &generated).expect("replaced");
        assert_eq!(out.sections[1].bullets[0].text, "New risk");
    }
}
