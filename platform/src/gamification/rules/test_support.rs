//! In-memory stand-in for the platform's storage, used by the simulation and property tests.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::{
    evaluate, weekly_sweep, BadgeAward, ClosedChallenge, EntryFacts, EntryId, EntryRecord,
    Evaluation, EvaluationStatus, NotMeaningful, PriorEntry, RewardConfig, UserState, XpEvent,
};

/// Attributes of an entry version as a test writes them.
#[derive(Debug, Clone)]
pub struct Spec {
    pub content: String,
    pub tags: u32,
    pub attachments: u32,
    pub outcome: bool,
}

impl Spec {
    /// A plain entry (base XP only) whose words are unique to `seed`.
    pub fn plain(seed: &str) -> Self {
        Self {
            content: format!("log {seed} alpha-{seed} beta-{seed} gamma-{seed}"),
            tags: 0,
            attachments: 0,
            outcome: false,
        }
    }

    pub fn with_attachments(mut self, n: u32) -> Self {
        self.attachments = n;
        self
    }

    pub fn with_outcome(mut self) -> Self {
        self.outcome = true;
        self
    }

    pub fn with_tags(mut self, n: u32) -> Self {
        self.tags = n;
        self
    }

    /// Pads the content with words unique to `seed` to at least `chars` characters.
    pub fn long(mut self, seed: &str, chars: usize) -> Self {
        let mut i = 0;
        while self.content.chars().count() < chars {
            self.content.push_str(&format!(" w{i}-{seed}"));
            i += 1;
        }
        self
    }
}

/// One user with everything the platform would store for them.
pub struct Harness {
    pub config: RewardConfig,
    pub tz: Tz,
    pub user: UserState,
    pub records: BTreeMap<EntryId, EntryRecord>,
    pub latest: BTreeMap<EntryId, EntryFacts>,
    pub ledger: Vec<XpEvent>,
    pub ledger_keys: BTreeSet<String>,
    pub badge_awards: Vec<BadgeAward>,
    pub closed: Vec<ClosedChallenge>,
    pub rejections: Vec<(EntryId, NotMeaningful)>,
    next_id: u32,
}

impl Harness {
    pub fn new(tz: Tz) -> Self {
        Self {
            config: RewardConfig::default(),
            tz,
            user: UserState::default(),
            records: BTreeMap::new(),
            latest: BTreeMap::new(),
            ledger: Vec::new(),
            ledger_keys: BTreeSet::new(),
            badge_awards: Vec::new(),
            closed: Vec::new(),
            rejections: Vec::new(),
            next_id: 0,
        }
    }

    /// The UTC instant of a local wall-clock time (earliest if ambiguous).
    pub fn local(&self, day: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
        let time = NaiveTime::from_hms_opt(h, m, 0).expect("valid wall time");
        self.tz
            .from_local_datetime(&day.and_time(time))
            .earliest()
            .expect("local time exists")
            .with_timezone(&Utc)
    }

    fn prior(&self) -> Vec<PriorEntry> {
        self.latest
            .values()
            .map(|f| PriorEntry {
                entry_id: f.entry_id.clone(),
                created_at: f.created_at,
                content: f.content.clone(),
            })
            .collect()
    }

    /// Evaluates a version and persists the result the way the platform would.
    pub fn evaluate(&mut self, facts: EntryFacts) -> Evaluation {
        let record = self
            .records
            .get(&facts.entry_id)
            .cloned()
            .unwrap_or_else(|| EntryRecord::new(facts.entry_id.clone()));
        let prior = self.prior();
        let out = evaluate(&self.config, &self.user, &record, &facts, &prior, self.tz)
            .expect("valid input");
        if out.status == EvaluationStatus::Applied {
            if let Err(reason) = &out.meaningful {
                self.rejections
                    .push((facts.entry_id.clone(), reason.clone()));
            }
            for e in &out.ledger {
                assert!(
                    self.ledger_keys.insert(e.idempotency_key.clone()),
                    "ledger key reused: {}",
                    e.idempotency_key
                );
            }
            self.ledger.extend(out.ledger.iter().cloned());
            self.badge_awards.extend(out.badges_awarded.iter().cloned());
            self.closed.extend(out.challenges_closed.iter().cloned());
            self.user = out.user.clone();
            self.records
                .insert(facts.entry_id.clone(), out.record.clone());
            let keep_newest = self
                .latest
                .get(&facts.entry_id)
                .is_none_or(|l| l.version <= facts.version);
            if keep_newest {
                self.latest.insert(facts.entry_id.clone(), facts);
            }
        } else {
            assert!(out.ledger.is_empty());
            assert_eq!(out.user, self.user);
        }
        out
    }

    /// Creates a new entry (version 1) at `at`.
    pub fn create(&mut self, at: DateTime<Utc>, spec: Spec) -> Evaluation {
        self.next_id += 1;
        let facts = EntryFacts {
            entry_id: EntryId(format!("e{:05}", self.next_id)),
            version: 1,
            content: spec.content,
            tag_count: spec.tags,
            attachment_count: spec.attachments,
            has_outcome: spec.outcome,
            created_at: at,
            version_at: at,
        };
        self.evaluate(facts)
    }

    /// Edits an entry: the next version, made at `at`.
    pub fn edit(&mut self, id: &EntryId, at: DateTime<Utc>, spec: Spec) -> Evaluation {
        let previous = self.latest.get(id).expect("entry exists").clone();
        let facts = EntryFacts {
            version: previous.version + 1,
            content: spec.content,
            tag_count: spec.tags,
            attachment_count: spec.attachments,
            has_outcome: spec.outcome,
            version_at: at,
            ..previous
        };
        self.evaluate(facts)
    }

    /// Runs the weekly sweep at `now`.
    pub fn sweep(&mut self, now: DateTime<Utc>) {
        let out = weekly_sweep(&self.config, &self.user, self.tz, now).expect("valid config");
        self.user = out.user;
        self.closed.extend(out.closed);
    }

    /// Sum of the ledger.
    pub fn ledger_sum(&self) -> u64 {
        self.ledger.iter().map(|e| u64::from(e.amount)).sum()
    }
}
