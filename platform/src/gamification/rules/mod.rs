//! Pure domain rules of the gamification system.
//!
//! No I/O, no clock, no async: every function takes the state it needs and returns the
//! new state plus the events to persist. The platform loads state, calls [`evaluate()`]
//! from the `gamification.reward_evaluate` job, and writes the result back.
//!
//! # Decisions
//!
//! **Streak day.** An entry counts for the local calendar day (the user's IANA timezone)
//! of its *creation time*, never the user-editable entry date, so back-dated entries
//! cannot rebuild a streak. A day counts once it has one meaningful entry. An entry that
//! only becomes meaningful through an edit on a later local day earns XP but does not
//! credit its creation day (otherwise a one-character placeholder could be filled in
//! later to save a streak).
//!
//! **Freezes.** A new user has 0. One freeze is earned each time the current streak
//! reaches a multiple of `freeze_every_days` (7), unless `max_freezes` (3) are already
//! held; a skipped award is not deferred. Missed days are paid day by day: a gap of `k`
//! missed days consumes `k` freezes if that many are held and the run continues (frozen
//! days bridge the run but do not add to `current`). If fewer are held, they are all
//! spent on the gap, the run breaks, and the new day starts a run of 1 with 0 freezes.
//! [`streak_as_of`] shows a later day the same way without writing anything.
//! The streak is replayed from the set of active days on every new day, so evaluations
//! arriving out of order (job retries) give the same result as in order. Replays use the
//! current config, so lowering `max_freezes` can shorten a run that relied on freezes;
//! `longest` never decreases.
//!
//! **Meaningful entry** (checked in this order, first failure reported):
//! trimmed content of at least `min_entry_length` (20) characters; fewer than
//! `max_entries_per_hour` (10) of the user's other entries created in the rolling hour
//! before this entry's creation (so the 11th is rejected; entries exactly one hour older
//! are outside); and not a near duplicate: the normalised text (lower-cased, punctuation
//! turned into spaces, whitespace collapsed) equals, or has word-shingle
//! (`duplicate_shingle_words`, 3) Jaccard similarity of at least
//! `duplicate_threshold_percent` (90) with, another entry created within
//! `duplicate_window_days` (7) *before* it. Only earlier-created entries count (ties by
//! id), so the earlier of two copies stays the original, an entry is never compared with
//! its own versions, and re-judging a later version is stable.
//!
//! **XP and edits.** A version's value is [`compute_xp`] if it is meaningful, else 0. The
//! entry is granted only the positive difference between that value and what the entry
//! already earned ([`xp_owed`]), so an edit never claws XP back and an entry can never earn
//! more than its best version is worth. XP withheld by the cap is not remembered: a later
//! version can earn it on a later day, still within that day's cap.
//!
//! **Daily cap.** Entry XP is capped at `max_daily_xp` (200) per local day of the
//! version's time (`version_at`, not the job's run time, so a retry after midnight charges
//! the same day). Challenge rewards and admin grants are their own ledger rules and do
//! not count towards the cap. Every XP change is an [`XpEvent`], so the ledger always
//! sums to `total_xp`; XP is never negative and never removed.
//!
//! **Challenges.** A week starts Monday 00:00 local. A week snapshots the templates of the
//! config current when it opens; edits apply from the next week. "Log days" counts active
//! streak days in the week; "attach evidence" counts attachments newly credited on
//! meaningful entries (per-entry high-water mark, so delete and re-upload counts once);
//! "write outcomes" counts meaningful entries gaining an outcome (once per entry).
//! Progress is credited to the week of `version_at`; a newer week is opened on the fly,
//! and an event from an already-closed week is not credited. Completion grants
//! `xp_reward` once, with ledger key `challenge:{week}:{code}`.
//!
//! **Badges.** 11 fixed badges ([`badge_catalog`]); streak badges use the longest streak.
//! Awarding is idempotent; a badge revoked by staff is never re-awarded automatically
//! (until [`admin_restore_badge`]). Badges run after challenges in [`evaluate()`], so
//! challenge XP that lifts the level unlocks the level badge in the same evaluation.
//!
//! **Admin.** [`admin_grant_xp`] adds a positive amount with a reason and a request key
//! (ledger key `admin:{key}`), outside the daily cap; it can unlock level badges. There
//! is no negative grant: the ledger only grows.
//!
//! # Integration
//!
//! Load before [`evaluate()`]: the active [`RewardConfig`], the user's [`UserState`], this
//! entry's [`EntryRecord`] (or [`EntryRecord::new`]), the user's other entries created in
//! [`prior_entries_window`] as [`PriorEntry`], and the user's timezone ([`parse_timezone`]).
//! Prior entries come from the entries table, not from what has been evaluated, so the
//! verdict does not depend on job order; include soft-deleted entries so that deleting
//! and re-posting the same text is still a duplicate.
//! Persist, in one transaction: `user`, `record`, the `ledger` events (unique on
//! `idempotency_key`), `badges_awarded` and `challenges_closed`. Evaluations of one user
//! must be serialised (a per-user lock or a version check on `UserState`), since two
//! concurrent evaluations would both start from the same state. An attachment upload must
//! bump the entry version, as idempotency is per (entry id, version).
//! Schedule [`weekly_sweep`] at [`next_week_start_utc`] per user (or hourly for all: it
//! is idempotent). `entry_xp_by_day` may be pruned to the last week with
//! [`UserState::prune_days_before`].

mod admin;
mod badges;
mod calendar;
mod challenges;
mod config;
mod error;
mod evaluate;
mod explain;
mod ledger;
mod meaningful;
mod state;
mod streak;
mod summary;
mod xp;

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod sim_tests;
#[cfg(test)]
mod test_support;

pub use admin::{
    admin_grant_xp, admin_restore_badge, admin_revoke_badge, AdminGrant, AdminGrantOutcome,
};
pub use badges::{
    award_badges, badge_board, badge_catalog, BadgeAward, BadgeCategory, BadgeCode,
    BadgeDefinition, BadgeRequirement, BadgeStatus,
};
pub use calendar::{
    days_remaining_in_week, local_day, local_midnight_utc, monday_of, next_week_start_utc,
    parse_timezone, week_start, week_start_utc,
};
pub use challenges::{
    close_week, current_challenges, default_challenge_templates, open_week, roll_week,
    update_challenges, weekly_sweep, ChallengeContribution, ChallengeKind, ChallengeResult,
    ChallengeTemplate, ChallengeUpdate, ChallengeWeek, ClosedChallenge, SweepOutcome,
    UserChallenge, WeekRoll,
};
pub use config::{ConfigError, RewardConfig, MAX_XP_VALUE};
pub use error::RulesError;
pub use evaluate::{evaluate, Evaluation, EvaluationStatus};
pub use explain::{
    explain_entry, rules_text, unseen_unlocks, xp_by_day, DayXp, EntryReward, EntryRewardFacts,
    EntryRewardStatus, RuleText, Unlock,
};
pub use ledger::{
    admin_event_key, challenge_event_key, entry_event_key, ledger_total, XpEvent, XpRule, XpSource,
};
pub use meaningful::{
    content_length, is_meaningful_entry, normalize_text, prior_entries_window, similarity_percent,
    NotMeaningful, PriorEntry,
};
pub use state::{EntryFacts, EntryId, EntryRecord, UserState};
pub use streak::{
    replay_streak, streak_as_of, update_streak, StreakReplay, StreakState, StreakStatus,
    StreakUpdate, StreakView,
};
pub use summary::{summary, Summary};
pub use xp::{
    apply_daily_cap, compute_xp, level_for, progress_to_next_level, xp_owed, CappedGrant,
    LevelProgress, XpBreakdown,
};
