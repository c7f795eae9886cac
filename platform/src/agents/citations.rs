//! Citation checking for report drafts.
//!
//! **Rule.** A citation is valid when it names an allowed entry (one the report was
//! generated from, that still exists) dated inside the report's period `[from, to]`;
//! repeated citations of one entry in a bullet count once. Invalid citations are
//! removed and listed in the [`CitationReport`]. A bullet left without a valid
//! citation is **dropped** — except in a risk section ("Blockers", "Risks", any heading
//! containing "blocker" or "risk"), where it is **kept, marked
//! [`UNVERIFIED`], and counted as flagged**: silently losing a warning is worse than
//! showing one the reader is told to verify, while an unbacked claim of progress is
//! simply removed. Sections are kept even when they end up empty (their headings are
//! part of the report's shape).

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::report::ReportDraft;

/// Appended to a kept risk bullet that has no valid citation.
pub const UNVERIFIED: &str = "(unverified)";

/// Why a citation was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CitationIssue {
    /// Not an entry the report may cite.
    UnknownEntry,
    /// The entry is dated outside the report's period.
    OutsidePeriod {
        /// The entry's date.
        date: NaiveDate,
    },
    /// The bullet already cites this entry.
    Duplicate,
}

/// One removed citation, addressed by its position in the draft that was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedCitation {
    /// Index of the section in the checked draft.
    pub section: usize,
    /// Index of the bullet within that section, in the checked draft.
    pub bullet: usize,
    /// The cited id.
    pub entry_id: String,
    /// Why it went.
    pub reason: CitationIssue,
}

/// What [`check_citations`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitationReport {
    /// Every removed citation.
    pub removed: Vec<RemovedCitation>,
    /// Bullets dropped for lack of a valid citation.
    pub dropped_bullets: usize,
    /// Risk bullets kept without a valid citation and marked [`UNVERIFIED`].
    pub flagged: usize,
}

impl CitationReport {
    /// Whether the draft passed unchanged.
    pub fn is_clean(&self) -> bool {
        self.removed.is_empty() && self.dropped_bullets == 0 && self.flagged == 0
    }
}

/// Whether a section holds risks, where uncited bullets are flagged instead of dropped.
pub fn is_risk_section(heading: &str) -> bool {
    let h = heading.to_lowercase();
    h.contains("blocker") || h.contains("risk")
}

/// Applies the citation rule (see the module docs) to `draft`.
pub fn check_citations(
    draft: ReportDraft,
    allowed: &HashMap<String, NaiveDate>,
    from: NaiveDate,
    to: NaiveDate,
) -> (ReportDraft, CitationReport) {
    let mut report = CitationReport::default();
    let mut out = ReportDraft {
        title: draft.title,
        sections: Vec::with_capacity(draft.sections.len()),
    };
    for (si, mut section) in draft.sections.into_iter().enumerate() {
        let risk = is_risk_section(&section.heading);
        let bullets = std::mem::take(&mut section.bullets);
        for (bi, mut bullet) in bullets.into_iter().enumerate() {
            let mut seen = HashSet::new();
            let mut valid = Vec::new();
            for id in bullet.citations {
                let reason = match allowed.get(&id) {
                    None => Some(CitationIssue::UnknownEntry),
                    Some(&date) if date < from || date > to => {
                        Some(CitationIssue::OutsidePeriod { date })
                    }
                    Some(_) if !seen.insert(id.clone()) => Some(CitationIssue::Duplicate),
                    Some(_) => None,
                };
                match reason {
                    Some(reason) => report.removed.push(RemovedCitation {
                        section: si,
                        bullet: bi,
                        entry_id: id,
                        reason,
                    }),
                    None => valid.push(id),
                }
            }
            bullet.citations = valid;
            if !bullet.citations.is_empty() {
                section.bullets.push(bullet);
            } else if risk {
                if !bullet.text.ends_with(UNVERIFIED) {
                    bullet.text = format!("{} {UNVERIFIED}", bullet.text.trim_end());
                }
                report.flagged += 1;
                section.bullets.push(bullet);
            } else {
                report.dropped_bullets += 1;
            }
        }
        out.sections.push(section);
    }
    (out, report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::report::{Bullet, Section};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn bullet(text: &str, ids: &[&str]) -> Bullet {
        Bullet {
            text: text.into(),
            citations: ids.iter().map(|s| s.to_string()).collect(),
            by: crate::agents::report::Origin::Model,
        }
    }

    fn allowed() -> HashMap<String, NaiveDate> {
        [
            ("a", "2025-01-06"),
            ("b", "2025-01-08"),
            ("old", "2024-12-20"),
            ("late", "2025-01-20"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), d(v)))
        .collect()
    }

    fn draft() -> ReportDraft {
        ReportDraft {
            title: "Week".into(),
            sections: vec![
                Section {
                    heading: "Shipped".into(),
                    bullets: vec![
                        bullet("valid", &["a", "b"]),
                        bullet("mixed", &["a", "ghost", "a", "old"]),
                        bullet("all invalid", &["ghost", "old", "late"]),
                        bullet("never cited", &[]),
                    ],
                },
                Section {
                    heading: "Risks".into(),
                    bullets: vec![
                        bullet("vendor may slip", &["ghost"]),
                        bullet("backed", &["b"]),
                    ],
                },
            ],
        }
    }

    #[test]
    fn removes_unknown_out_of_period_and_duplicate_citations() {
        let (out, report) = check_citations(draft(), &allowed(), d("2025-01-06"), d("2025-01-12"));
        let shipped = &out.sections[0].bullets;
        assert_eq!(shipped.len(), 2);
        assert_eq!(shipped[0].citations, vec!["a", "b"]);
        assert_eq!(shipped[1].text, "mixed");
        assert_eq!(shipped[1].citations, vec!["a"]);
        let reasons: Vec<(usize, usize, &str, &CitationIssue)> = report
            .removed
            .iter()
            .map(|r| (r.section, r.bullet, r.entry_id.as_str(), &r.reason))
            .collect();
        assert!(reasons.contains(&(0, 1, "ghost", &CitationIssue::UnknownEntry)));
        assert!(reasons.contains(&(0, 1, "a", &CitationIssue::Duplicate)));
        assert!(reasons.contains(&(
            0,
            1,
            "old",
            &CitationIssue::OutsidePeriod {
                date: d("2024-12-20")
            }
        )));
        assert!(reasons.contains(&(
            0,
            2,
            "late",
            &CitationIssue::OutsidePeriod {
                date: d("2025-01-20")
            }
        )));
    }

    #[test]
    fn uncited_bullets_are_dropped_except_risks_which_are_flagged() {
        let (out, report) = check_citations(draft(), &allowed(), d("2025-01-06"), d("2025-01-12"));
        assert_eq!(
            report.dropped_bullets, 2,
            "all-invalid and never-cited bullets"
        );
        assert_eq!(report.flagged, 1);
        let risks = &out.sections[1].bullets;
        assert_eq!(risks[0].text, "vendor may slip (unverified)");
        assert!(risks[0].citations.is_empty());
        assert_eq!(risks[1].text, "backed");
        assert_eq!(out.sections.len(), 2, "sections are kept");
    }

    #[test]
    fn period_bounds_are_inclusive() {
        let (out, report) = check_citations(draft(), &allowed(), d("2025-01-08"), d("2025-01-08"));
        // Only "valid" keeps a citation (b, dated on the single day of the period).
        assert_eq!(out.sections[0].bullets.len(), 1);
        assert_eq!(out.sections[0].bullets[0].citations, vec!["b"]);
        assert_eq!(report.dropped_bullets, 3);
        assert!(report
            .removed
            .iter()
            .any(|r| r.entry_id == "a" && matches!(r.reason, CitationIssue::OutsidePeriod { .. })));
    }

    #[test]
    fn checking_twice_changes_nothing_more() {
        let (once, _) = check_citations(draft(), &allowed(), d("2025-01-06"), d("2025-01-12"));
        let (twice, report) =
            check_citations(once.clone(), &allowed(), d("2025-01-06"), d("2025-01-12"));
        assert_eq!(once, twice);
        assert!(report.removed.is_empty());
        assert_eq!(report.dropped_bullets, 0);
        assert_eq!(report.flagged, 1, "still unverified");
        assert!(!report.is_clean());
    }

    #[test]
    fn risk_headings() {
        assert!(is_risk_section("Blockers"));
        assert!(is_risk_section("Risks & dependencies"));
        assert!(!is_risk_section("Shipped"));
    }
}
