//! The numbers behind rewards, explained: the rules in sentences, XP per day by rule,
//! what an entry earned and why, and the unlocks to announce once. Every screen that
//! shows a reward number takes it from here or from [`super::gamification`], which
//! compute them from the same ledger and rules.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::me::NoContent;
use super::schema::{Between, Day, Documented, Id};
use super::security::Authenticated;
use super::Tag;
use crate::error::{ApiError, ApiResult};
use crate::gamification::rules;
use crate::services::rewards;
use crate::state::AppState;

/// One rule in a sentence.
#[derive(Object)]
pub struct RuleTextOut {
    /// `entry_xp`, `daily_cap`, `meaningful`, `streak`, `freezes`, `imports`,
    /// `challenges` or `levels`.
    pub topic: String,
    pub text: String,
}

/// How rewards work under the rules in force.
#[derive(Object)]
pub struct RewardRulesText {
    pub config_version: u32,
    pub items: Vec<RuleTextOut>,
}

/// XP credited on one day of yours, by rule; `total` is their sum.
#[derive(Object)]
pub struct XpDay {
    pub day: Day,
    /// Entry XP, the kind held to the daily cap (the summary's `today_xp` for today).
    pub entry: u32,
    pub challenge: u32,
    /// Granted by staff.
    pub grant: u32,
    pub total: u32,
}

#[derive(Object)]
pub struct XpDays {
    /// Oldest first; today last.
    pub items: Vec<XpDay>,
}

/// A badge earned or a challenge completed that you have not been shown yet.
#[derive(Object)]
pub struct UnlockOut {
    /// `badge` or `challenge`.
    pub kind: String,
    pub code: String,
    pub title: String,
    /// XP it brought (0 for a badge).
    pub xp: u32,
    pub at: DateTime<Utc>,
}

#[derive(Object)]
pub struct UnlockList {
    /// Newest first, at most 10; empty in quiet mode.
    pub items: Vec<UnlockOut>,
}

#[derive(Object)]
pub struct UnlocksSeen {
    /// The `at` of the newest unlock shown; those up to it are not listed again.
    pub until: DateTime<Utc>,
}

impl From<rules::Unlock> for UnlockOut {
    fn from(u: rules::Unlock) -> Self {
        Self {
            kind: u.kind.into(),
            code: u.code,
            title: u.title,
            xp: u.xp,
            at: u.at,
        }
    }
}

impl From<rules::DayXp> for XpDay {
    fn from(d: rules::DayXp) -> Self {
        Self {
            day: d.day.into(),
            entry: d.entry,
            challenge: d.challenge,
            grant: d.grant,
            total: d.total,
        }
    }
}

/// What an entry version is worth, part by part.
#[derive(Object)]
pub struct XpWorth {
    pub base: u32,
    pub tags: u32,
    pub attachments: u32,
    pub long_entry: u32,
    pub outcome: u32,
    pub total: u32,
}

/// An entry's reward in numbers and words.
#[derive(Object)]
pub struct EntryReward {
    /// `imported`, `pending`, `not_meaningful` or `earned`.
    pub status: String,
    /// XP granted to the entry over all its versions.
    pub xp_earned: u32,
    /// What the current version is worth under the rules in force.
    pub worth: XpWorth,
    /// XP the daily cap held back from the latest evaluated version.
    pub capped: u32,
    /// The day it counted for in your streak (the day it was written), if it did.
    #[oai(nullable)]
    pub streak_day: Option<Day>,
    /// The headline, e.g. "Earned 41 XP.".
    pub message: String,
    /// Further sentences: the cap, the streak day, a backdated date.
    pub notes: Vec<String>,
}

impl From<rules::EntryReward> for EntryReward {
    fn from(r: rules::EntryReward) -> Self {
        let w = r.worth;
        Self {
            status: serde_json::to_value(r.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            xp_earned: r.xp_earned,
            worth: XpWorth {
                base: w.base,
                tags: w.tags,
                attachments: w.attachments,
                long_entry: w.long_entry,
                outcome: w.outcome,
                total: w.total,
            },
            capped: r.capped,
            streak_day: r.streak_day.map(Day::from),
            message: r.message,
            notes: r.notes,
        }
    }
}

pub struct RewardNumbersApi;

#[OpenApi]
impl RewardNumbersApi {
    /// How rewards work, in sentences quoting the rules in force: what an entry earns,
    /// the daily cap, what counts as meaningful, streaks and freezes, imports, challenges
    /// and levels.
    #[oai(
        path = "/gamification/rules",
        method = "get",
        operation_id = "gamification_rules",
        tag = "Tag::Gamification"
    )]
    async fn rules(
        &self,
        state: Data<&Arc<AppState>>,
        _auth: Authenticated,
    ) -> ApiResult<Json<RewardRulesText>> {
        let (config_version, items) = rewards::rules_text(&state).await?;
        Ok(Json(RewardRulesText {
            config_version,
            items: items
                .into_iter()
                .map(|r| RuleTextOut {
                    topic: r.topic.into(),
                    text: r.text,
                })
                .collect(),
        }))
    }

    /// Your XP per day (your time zone) over the last `days` days, today last, split by
    /// rule. The summary's `today_xp` is today's `entry`, and the ledger's rows of a day
    /// add up to its `total`.
    #[oai(
        path = "/gamification/days",
        method = "get",
        operation_id = "gamification_days",
        tag = "Tag::Gamification"
    )]
    async fn days(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// Days to cover, 1–366 (default 30).
        days: Query<Option<Documented<u32, Between<1, 366>>>>,
    ) -> ApiResult<Json<XpDays>> {
        let days = days.0.map_or(30, Documented::into_inner);
        if !(1..=366).contains(&days) {
            return Err(ApiError::validation("days must be between 1 and 366"));
        }
        let items = rewards::xp_days(&state, &auth.0, days).await?;
        Ok(Json(XpDays {
            items: items.into_iter().map(Into::into).collect(),
        }))
    }

    /// Badges earned and challenges completed since you last marked them seen, newest
    /// first, to be shown once. Empty in quiet mode.
    #[oai(
        path = "/gamification/unlocks",
        method = "get",
        operation_id = "gamification_unlocks",
        tag = "Tag::Gamification"
    )]
    async fn unlocks(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
    ) -> ApiResult<Json<UnlockList>> {
        let items = rewards::unlocks(&state, &auth.0).await?;
        Ok(Json(UnlockList {
            items: items.into_iter().map(Into::into).collect(),
        }))
    }

    /// Marks your unlocks up to `until` as shown; they are not listed again.
    #[oai(
        path = "/gamification/unlocks/seen",
        method = "post",
        operation_id = "gamification_unlocks_seen",
        tag = "Tag::Gamification"
    )]
    async fn unlocks_seen(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        body: Json<UnlocksSeen>,
    ) -> ApiResult<NoContent> {
        rewards::mark_unlocks_seen(&state, &auth.0, body.until).await?;
        Ok(NoContent::Done)
    }

    /// What an entry earned and why, by its author's rules and days: imported (no XP),
    /// pending, not meaningful (too short, too many in an hour, a repeat) or earned, what
    /// its current version is worth part by part, what the daily cap held back, and the
    /// streak day it counted for.
    #[oai(
        path = "/worklogs/:id/reward",
        method = "get",
        operation_id = "worklog_reward",
        tag = "Tag::Worklogs"
    )]
    async fn reward(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The entry's id.
        id: Path<Id>,
    ) -> ApiResult<Json<EntryReward>> {
        Ok(Json(
            rewards::entry_reward(&state, &auth.0, &id).await?.into(),
        ))
    }
}
