//! Whether an entry version is meaningful: long enough, not rate-limited, not a near duplicate.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::config::RewardConfig;
use super::state::{EntryFacts, EntryId};

/// Another entry of the same user, as loaded to judge rate limit and duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorEntry {
    /// Its id (the evaluated entry's own id is ignored if present).
    pub entry_id: EntryId,
    /// Its creation time.
    pub created_at: DateTime<Utc>,
    /// Its current content.
    pub content: String,
}

/// Why an entry version is not meaningful (the first failing check, in this order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotMeaningful {
    /// Trimmed content is shorter than `min_entry_length`.
    TooShort {
        /// Trimmed length in characters.
        length: u32,
        /// Required minimum.
        min: u32,
    },
    /// `max_entries_per_hour` entries were already created in the hour before this one.
    RateLimited {
        /// Entries created in the preceding rolling hour.
        entries_in_last_hour: u32,
        /// Allowed per hour.
        max: u32,
    },
    /// The content nearly repeats an earlier entry.
    NearDuplicate {
        /// The earlier entry it repeats.
        of: EntryId,
        /// Similarity in percent (100 = same normalised text).
        similarity_percent: u32,
    },
}

/// Length in characters of the trimmed content.
pub fn content_length(content: &str) -> u32 {
    u32::try_from(content.trim().chars().count()).unwrap_or(u32::MAX)
}

/// Lower-cases, turns punctuation into spaces and collapses whitespace, so trivial edits
/// ("Fixed bug." vs "fixed  bug") compare equal.
pub fn normalize_text(content: &str) -> String {
    let spaced: String = content
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .flat_map(char::to_lowercase)
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Jaccard similarity, in whole percent rounded down, of the word shingles of two
/// normalised texts; texts shorter than a shingle form a single shingle.
pub fn similarity_percent(a: &str, b: &str, shingle_words: u32) -> u32 {
    if a == b {
        return 100;
    }
    let (sa, sb) = (shingles(a, shingle_words), shingles(b, shingle_words));
    let union = sa.union(&sb).count();
    if union == 0 {
        return 0;
    }
    let inter = sa.intersection(&sb).count();
    u32::try_from(inter * 100 / union).unwrap_or(0)
}

fn shingles(text: &str, shingle_words: u32) -> HashSet<Vec<&str>> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let k = usize::try_from(shingle_words.max(1)).unwrap_or(1);
    if words.is_empty() {
        HashSet::new()
    } else if words.len() < k {
        std::iter::once(words).collect()
    } else {
        words.windows(k).map(<[&str]>::to_vec).collect()
    }
}

/// The creation-time range of prior entries the platform must load for [`is_meaningful_entry`].
pub fn prior_entries_window(
    config: &RewardConfig,
    created_at: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let back = Duration::days(i64::from(config.duplicate_window_days)).max(Duration::hours(1));
    (earlier_by(created_at, back), created_at)
}

/// `at - by`, clamped at the earliest representable instant instead of panicking.
fn earlier_by(at: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    at.checked_sub_signed(by)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Ordering of entries by creation, ties broken by id, so "earlier" is always defined.
fn created_before(prior: &PriorEntry, entry: &EntryFacts) -> bool {
    prior.entry_id != entry.entry_id
        && (prior.created_at, &prior.entry_id) < (entry.created_at, &entry.entry_id)
}

/// Judges one entry version against the user's other entries.
///
/// Only entries created before this one count, so the earlier of two copies is the
/// original, and re-judging a later version of an entry gives a stable answer for the
/// rate limit. Entries created later than this one may be passed and are ignored.
pub fn is_meaningful_entry(
    config: &RewardConfig,
    entry: &EntryFacts,
    prior: &[PriorEntry],
) -> Result<(), NotMeaningful> {
    let length = content_length(&entry.content);
    if length < config.min_entry_length {
        return Err(NotMeaningful::TooShort {
            length,
            min: config.min_entry_length,
        });
    }

    let hour_ago = earlier_by(entry.created_at, Duration::hours(1));
    let in_last_hour = prior
        .iter()
        .filter(|p| created_before(p, entry) && p.created_at > hour_ago)
        .count();
    let in_last_hour = u32::try_from(in_last_hour).unwrap_or(u32::MAX);
    if in_last_hour >= config.max_entries_per_hour {
        return Err(NotMeaningful::RateLimited {
            entries_in_last_hour: in_last_hour,
            max: config.max_entries_per_hour,
        });
    }

    let window_start = earlier_by(
        entry.created_at,
        Duration::days(i64::from(config.duplicate_window_days)),
    );
    let normalized = normalize_text(&entry.content);
    let best = prior
        .iter()
        .filter(|p| created_before(p, entry) && p.created_at >= window_start)
        .map(|p| {
            let sim = similarity_percent(
                &normalized,
                &normalize_text(&p.content),
                config.duplicate_shingle_words,
            );
            (sim, p)
        })
        .filter(|(sim, _)| *sim >= config.duplicate_threshold_percent)
        // Report the closest match; among equals the earliest, for a deterministic answer.
        .max_by(|(sa, pa), (sb, pb)| {
            sa.cmp(sb)
                .then((pb.created_at, &pb.entry_id).cmp(&(pa.created_at, &pa.entry_id)))
        });
    match best {
        Some((similarity_percent, p)) => Err(NotMeaningful::NearDuplicate {
            of: p.entry_id.clone(),
            similarity_percent,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 3, h, m, 0)
            .single()
            .expect("valid time")
    }

    fn facts(id: &str, content: &str, created_at: DateTime<Utc>) -> EntryFacts {
        EntryFacts {
            entry_id: id.into(),
            version: 1,
            content: content.into(),
            tag_count: 0,
            attachment_count: 0,
            has_outcome: false,
            created_at,
            version_at: created_at,
        }
    }

    fn prior(id: &str, content: &str, created_at: DateTime<Utc>) -> PriorEntry {
        PriorEntry {
            entry_id: id.into(),
            created_at,
            content: content.into(),
        }
    }

    /// Distinct texts that share no shingles, so only the rate limit can reject them.
    fn unique_text(n: u32) -> String {
        format!("note{n} alpha{n} beta{n} gamma{n} delta{n}")
    }

    #[test]
    fn nineteen_characters_is_too_short_and_twenty_is_enough() {
        let c = RewardConfig::default();
        let e19 = facts("e", &"a".repeat(19), at(9, 0));
        let e20 = facts("e", &"a".repeat(20), at(9, 0));
        assert_eq!(
            is_meaningful_entry(&c, &e19, &[]),
            Err(NotMeaningful::TooShort {
                length: 19,
                min: 20
            })
        );
        assert_eq!(is_meaningful_entry(&c, &e20, &[]), Ok(()));
    }

    #[test]
    fn length_ignores_surrounding_whitespace() {
        let c = RewardConfig::default();
        let padded = facts("e", &format!("   {}\n\n", "a".repeat(19)), at(9, 0));
        assert!(matches!(
            is_meaningful_entry(&c, &padded, &[]),
            Err(NotMeaningful::TooShort { length: 19, .. })
        ));
    }

    #[test]
    fn tenth_entry_in_an_hour_is_meaningful_and_eleventh_is_not() {
        let c = RewardConfig::default();
        // Entries at 09:00, 09:05, ..., 09:45 (ten of them).
        let earlier: Vec<PriorEntry> = (0..10)
            .map(|i| prior(&format!("p{i}"), &unique_text(i), at(9, i * 5)))
            .collect();
        let tenth = facts("p9", &unique_text(9), at(9, 45));
        assert_eq!(is_meaningful_entry(&c, &tenth, &earlier), Ok(()));
        let eleventh = facts("n", &unique_text(100), at(9, 50));
        assert_eq!(
            is_meaningful_entry(&c, &eleventh, &earlier),
            Err(NotMeaningful::RateLimited {
                entries_in_last_hour: 10,
                max: 10
            })
        );
    }

    #[test]
    fn rate_limit_hour_is_rolling_and_excludes_exactly_one_hour_ago() {
        let c = RewardConfig::default();
        let earlier: Vec<PriorEntry> = (0..10)
            .map(|i| prior(&format!("p{i}"), &unique_text(i), at(9, i * 5)))
            .collect();
        // At 10:00 the 09:00 entry is exactly an hour old and drops out of the window.
        let at_ten = facts("n", &unique_text(100), at(10, 0));
        assert_eq!(is_meaningful_entry(&c, &at_ten, &earlier), Ok(()));
        let at_ten_to = facts("n", &unique_text(100), at(9, 59));
        assert!(matches!(
            is_meaningful_entry(&c, &at_ten_to, &earlier),
            Err(NotMeaningful::RateLimited { .. })
        ));
    }

    #[test]
    fn later_created_entries_and_the_entry_itself_do_not_count() {
        let c = RewardConfig::default();
        let mut others: Vec<PriorEntry> = (0..10)
            .map(|i| prior(&format!("p{i}"), &unique_text(i), at(9, 30 + i)))
            .collect();
        others.push(prior("e", "its own earlier content here", at(9, 0)));
        // Editing the 09:00 entry later: the ten entries after it don't rate-limit it.
        let mut edit = facts("e", &unique_text(500), at(9, 0));
        edit.version = 2;
        edit.version_at = at(9, 50);
        assert_eq!(is_meaningful_entry(&c, &edit, &others), Ok(()));
    }

    #[test]
    fn normalisation_ignores_case_punctuation_and_spacing() {
        assert_eq!(
            normalize_text("  Fixed the LOGIN bug!!\n\n(finally) "),
            "fixed the login bug finally"
        );
        assert_eq!(normalize_text("Déployé: l'API"), "déployé l api");
    }

    #[test]
    fn exact_copy_after_normalisation_is_a_duplicate() {
        let c = RewardConfig::default();
        let first = prior("a", "Fixed the login bug for the mobile app.", at(8, 0));
        let copy = facts("b", "fixed THE login bug, for the mobile app", at(9, 0));
        assert_eq!(
            is_meaningful_entry(&c, &copy, &[first]),
            Err(NotMeaningful::NearDuplicate {
                of: "a".into(),
                similarity_percent: 100
            })
        );
    }

    #[test]
    fn near_duplicate_threshold_is_inclusive() {
        // 22 words vs the same with one word appended: 20 of 21 three-word shingles are
        // shared, 20*100/21 = 95%. One substituted word in the middle shares 17 of 23: 73%.
        let base: Vec<String> = (0..22).map(|i| format!("w{i}")).collect();
        let a = base.join(" ");
        let appended = format!("{a} extra");
        let mut changed = base.clone();
        changed[10] = "other".into();
        let changed = changed.join(" ");
        assert_eq!(similarity_percent(&a, &appended, 3), 95);
        assert_eq!(similarity_percent(&a, &changed, 3), 73);

        let mut c = RewardConfig {
            duplicate_threshold_percent: 95,
            ..RewardConfig::default()
        };
        let p = [prior("a", &a, at(8, 0))];
        assert!(is_meaningful_entry(&c, &facts("b", &appended, at(9, 0)), &p).is_err());
        c.duplicate_threshold_percent = 96;
        assert_eq!(
            is_meaningful_entry(&c, &facts("b", &appended, at(9, 0)), &p),
            Ok(())
        );
        c.duplicate_threshold_percent = 90;
        assert_eq!(
            is_meaningful_entry(&c, &facts("b", &changed, at(9, 0)), &p),
            Ok(())
        );
    }

    #[test]
    fn duplicates_outside_the_window_are_allowed() {
        let c = RewardConfig::default();
        let text = "Weekly sync with the platform team about the roadmap";
        let old = prior(
            "a",
            text,
            at(9, 0) - Duration::days(7) - Duration::seconds(1),
        );
        let edge = prior("a", text, at(9, 0) - Duration::days(7));
        let e = facts("b", text, at(9, 0));
        assert_eq!(is_meaningful_entry(&c, &e, &[old]), Ok(()));
        assert!(is_meaningful_entry(&c, &e, &[edge]).is_err());
    }

    #[test]
    fn the_earlier_copy_is_the_original() {
        let c = RewardConfig::default();
        let text = "Reviewed the quarterly security audit findings";
        // Editing the original must not become a duplicate of its later copy.
        let later_copy = prior("b", text, at(9, 0));
        let mut original = facts("a", text, at(8, 0));
        original.version = 3;
        original.version_at = at(10, 0);
        assert_eq!(is_meaningful_entry(&c, &original, &[later_copy]), Ok(()));
    }

    #[test]
    fn short_texts_form_one_shingle() {
        assert_eq!(similarity_percent("ab cd", "ab cd", 3), 100);
        assert_eq!(similarity_percent("ab cd", "ab ce", 3), 0);
        assert_eq!(similarity_percent("", "ab", 3), 0);
    }

    #[test]
    fn prior_window_covers_at_least_an_hour() {
        let c = RewardConfig::default();
        let (from, to) = prior_entries_window(&c, at(9, 0));
        assert_eq!((from, to), (at(9, 0) - Duration::days(7), at(9, 0)));
    }
}
