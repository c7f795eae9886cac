//! The reward system: [`rules`] holds the pure domain (XP,
//! streaks with freezes, badges, weekly challenges, the ledger); storage lives in
//! `store::gamification` and the jobs in `workflows::rewards`.

pub mod rules;
