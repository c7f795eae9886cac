//! Property tests: invariants that must hold for any sequence of creates, edits,
//! duplicate deliveries and sweeps.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::test_support::{Harness, Spec};
use super::{EntryFacts, EntryId, EvaluationStatus, XpRule};

#[derive(Debug, Clone)]
struct Attrs {
    seed: u8,
    len: usize,
    tags: u32,
    attachments: u32,
    outcome: bool,
}

impl Attrs {
    /// Content built from seed-specific words, so equal seeds give near duplicates.
    fn spec(&self) -> Spec {
        let mut content = String::new();
        let mut j = 0;
        while content.chars().count() < self.len {
            content.push_str(&format!("s{}w{} ", self.seed, j));
            j += 1;
        }
        content.truncate(self.len);
        Spec {
            content,
            tags: self.tags,
            attachments: self.attachments,
            outcome: self.outcome,
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Create {
        gap_minutes: i64,
        attrs: Attrs,
    },
    Edit {
        pick: usize,
        gap_minutes: i64,
        attrs: Attrs,
    },
    Redeliver {
        pick: usize,
    },
    Sweep {
        gap_minutes: i64,
    },
}

fn attrs() -> impl Strategy<Value = Attrs> {
    (0u8..12, 5usize..320, 0u32..8, 0u32..5, any::<bool>()).prop_map(
        |(seed, len, tags, attachments, outcome)| Attrs {
            seed,
            len,
            tags,
            attachments,
            outcome,
        },
    )
}

fn op() -> impl Strategy<Value = Op> {
    // Mostly short gaps so the rate limit and the daily cap are reached, sometimes days.
    let gap = prop_oneof![4 => 0i64..30, 2 => 30i64..600, 1 => 600i64..4_000];
    prop_oneof![
        5 => (gap.clone(), attrs()).prop_map(|(gap_minutes, attrs)| Op::Create { gap_minutes, attrs }),
        3 => (any::<usize>(), gap.clone(), attrs()).prop_map(|(pick, gap_minutes, attrs)| Op::Edit { pick, gap_minutes, attrs }),
        2 => any::<usize>().prop_map(|pick| Op::Redeliver { pick }),
        1 => gap.prop_map(|gap_minutes| Op::Sweep { gap_minutes }),
    ]
}

fn zone() -> impl Strategy<Value = Tz> {
    prop_oneof![
        Just(Tz::UTC),
        Just(chrono_tz::America::New_York),
        Just(chrono_tz::Asia::Kolkata),
        Just(chrono_tz::Pacific::Auckland),
    ]
}

fn start() -> DateTime<Utc> {
    // A week before the New York DST start, so some runs cross it.
    Utc.with_ymd_and_hms(2025, 3, 2, 12, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

fn check_invariants(h: &Harness) -> Result<(), TestCaseError> {
    let cap = h.config.max_daily_xp;
    prop_assert_eq!(
        h.ledger_sum(),
        h.user.total_xp,
        "ledger sum equals total XP"
    );
    let mut entry_xp_per_day: BTreeMap<NaiveDate, u32> = BTreeMap::new();
    for e in h.ledger.iter().filter(|e| e.rule() == XpRule::Entry) {
        *entry_xp_per_day.entry(e.day).or_insert(0) += e.amount;
    }
    for (day, xp) in &h.user.entry_xp_by_day {
        prop_assert!(*xp <= cap, "day {} has {} XP, over the cap", day, xp);
        prop_assert_eq!(entry_xp_per_day.get(day).copied().unwrap_or(0), *xp);
    }
    let s = &h.user.streak;
    prop_assert!(s.longest >= s.current);
    prop_assert!(s.freezes <= h.config.max_freezes);
    prop_assert_eq!(s.freezes, s.freezes_earned_total - s.freezes_used_total);
    let earned: u64 = h.records.values().map(|r| u64::from(r.xp_earned)).sum();
    prop_assert_eq!(
        earned,
        h.ledger
            .iter()
            .filter(|e| e.rule() == XpRule::Entry)
            .map(|e| u64::from(e.amount))
            .sum::<u64>()
    );
    for r in h.records.values() {
        prop_assert!(r.xp_earned <= h.config.max_entry_xp());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn invariants_hold_for_any_history(tz in zone(), ops in prop::collection::vec(op(), 1..60)) {
        let mut h = Harness::new(tz);
        let mut now = start();
        let mut ids: Vec<EntryId> = Vec::new();
        for op in ops {
            let before = h.user.clone();
            match op {
                Op::Create { gap_minutes, attrs } => {
                    now += Duration::minutes(gap_minutes);
                    let out = h.create(now, attrs.spec());
                    ids.push(out.entry_id);
                }
                Op::Edit { pick, gap_minutes, attrs } => {
                    if ids.is_empty() { continue; }
                    now += Duration::minutes(gap_minutes);
                    let id = ids[pick % ids.len()].clone();
                    h.edit(&id, now, attrs.spec());
                    // Editing never reduces total XP, however the entry changed.
                    prop_assert!(h.user.total_xp >= before.total_xp);
                }
                Op::Redeliver { pick } => {
                    if ids.is_empty() { continue; }
                    let id = &ids[pick % ids.len()];
                    let facts: EntryFacts = h.latest[id].clone();
                    let ledger_len = h.ledger.len();
                    let out = h.evaluate(facts);
                    // A duplicate delivery of an evaluated version changes nothing.
                    prop_assert_eq!(out.status, EvaluationStatus::AlreadyApplied);
                    prop_assert_eq!(&h.user, &before);
                    prop_assert_eq!(h.ledger.len(), ledger_len);
                }
                Op::Sweep { gap_minutes } => {
                    now += Duration::minutes(gap_minutes);
                    h.sweep(now);
                    prop_assert_eq!(h.user.total_xp, before.total_xp);
                }
            }
            prop_assert!(h.user.total_xp >= before.total_xp);
            check_invariants(&h)?;
        }
    }

    #[test]
    fn streak_does_not_depend_on_evaluation_order(
        tz in zone(),
        entries in prop::collection::vec((0i64..40, 0i64..1_440, attrs()), 1..30),
        shuffle_seed in any::<u64>(),
    ) {
        let facts: Vec<EntryFacts> = entries
            .iter()
            .enumerate()
            .map(|(i, (day, minute, a))| {
                let at = start() + Duration::days(*day) + Duration::minutes(*minute);
                let spec = a.spec();
                EntryFacts {
                    entry_id: EntryId(format!("p{i:03}")),
                    version: 1,
                    content: spec.content,
                    tag_count: spec.tags,
                    attachment_count: spec.attachments,
                    has_outcome: spec.outcome,
                    created_at: at,
                    version_at: at,
                }
            })
            .collect();
        let mut shuffled = facts.clone();
        // A deterministic Fisher-Yates from the seed, to avoid another dependency.
        let mut x = shuffle_seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let j = usize::try_from(x % (i as u64 + 1)).unwrap_or(0);
            shuffled.swap(i, j);
        }
        let run = |order: &[EntryFacts]| {
            let mut h = Harness::new(tz);
            // Like the platform's entries table, every entry exists before its job runs.
            for f in &facts {
                h.latest.insert(f.entry_id.clone(), f.clone());
            }
            for f in order {
                h.evaluate(f.clone());
            }
            h
        };
        let (a, b) = (run(&facts), run(&shuffled));
        prop_assert_eq!(&a.user.streak, &b.user.streak);
        prop_assert_eq!(a.user.meaningful_entries, b.user.meaningful_entries);
        prop_assert_eq!(&a.user.entry_xp_by_day, &b.user.entry_xp_by_day);
    }

    #[test]
    fn grants_never_exceed_the_cap_for_any_starting_point(
        already in 0u32..=260,
        value_parts in (0u32..10, 0u32..10, any::<bool>(), 0usize..400),
    ) {
        let (tags, attachments, outcome, len) = value_parts;
        let mut h = Harness::new(Tz::UTC);
        let at = start();
        let day = at.date_naive();
        h.user.entry_xp_by_day.insert(day, already);
        h.user.total_xp = u64::from(already);
        let spec = Attrs { seed: 1, len: len.max(20), tags, attachments, outcome }.spec();
        let out = h.create(at, spec);
        prop_assert!(h.user.entry_xp_on(day) <= h.config.max_daily_xp.max(already));
        prop_assert_eq!(out.xp_granted + out.xp_capped, out.entry_value);
        prop_assert_eq!(out.xp_granted, out.entry_value.min(h.config.max_daily_xp.saturating_sub(already)));
    }
}
