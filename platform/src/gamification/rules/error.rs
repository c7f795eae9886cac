//! Errors the rules can return; every other outcome is a value, not an error.

use thiserror::Error;

use super::badges::BadgeCode;
use super::config::ConfigError;
use super::state::EntryId;

/// Why a rules call refused its input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RulesError {
    /// The reward config failed [`super::RewardConfig::validate`].
    #[error("invalid reward config: {0}")]
    InvalidConfig(#[from] ConfigError),
    /// The timezone name is not a known IANA zone.
    #[error("unknown timezone {0:?}")]
    UnknownTimezone(String),
    /// Entry versions start at 1 so that "no version yet" is never a valid key.
    #[error("entry {entry_id} has version 0; versions start at 1")]
    ZeroVersion {
        /// The entry concerned.
        entry_id: EntryId,
    },
    /// A version cannot come into existence before its entry was created.
    #[error("entry {entry_id} version {version} is dated before the entry was created")]
    VersionBeforeCreation {
        /// The entry concerned.
        entry_id: EntryId,
        /// The offending version.
        version: u32,
    },
    /// The per-entry record loaded from storage belongs to another entry.
    #[error("entry record belongs to {record} but the entry is {entry}")]
    RecordMismatch {
        /// Entry id found on the record.
        record: EntryId,
        /// Entry id of the facts being evaluated.
        entry: EntryId,
    },
    /// A manual grant must be positive and bounded.
    #[error("admin grant amount must be between 1 and {max}, got {amount}")]
    GrantAmount {
        /// The requested amount.
        amount: u32,
        /// The largest allowed grant.
        max: u32,
    },
    /// A manual grant without a reason leaves the ledger unexplained.
    #[error("admin grant needs a non-empty reason")]
    MissingReason,
    /// Without a key a retried grant request would pay twice.
    #[error("admin grant needs a non-empty idempotency key")]
    MissingIdempotencyKey,
    /// Revoking a badge the user does not hold is a caller mistake worth surfacing.
    #[error("badge {0} is not held by this user")]
    BadgeNotHeld(BadgeCode),
    /// A badge code string did not match any badge.
    #[error("unknown badge code {0:?}")]
    UnknownBadge(String),
}
