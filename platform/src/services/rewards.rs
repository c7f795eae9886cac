//! Rewards: a member's own streak, XP, badges, challenges, ledger and quiet mode, and
//! what staff do to them (engagement metrics, manual grants and revokes, the rules).
//!
//! Every change of a user's reward state is a read-compute-write through
//! [`repo::apply_with_retry`], the same loop the reward workflows use: it lives next to
//! the store's revision-checked write, which the workflows may call and services too.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};

use crate::deps::Deps;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::gamification::rules::{
    self, BadgeCode, BadgeStatus, ChallengeWeek, RewardConfig, Summary, UserChallenge,
};
use crate::identity::auditing::{record, AuthEventKind};
use crate::identity::{ClientInfo, Principal};
use crate::store::gamification::{self as repo, Attempt, Change};
use crate::store::{platform, StoreError, TenantDb, TenantId};

pub use crate::store::gamification::{ConfigRow, LedgerRow};

/// What `apply_with_retry` giving up means to a caller.
fn kept_changing() -> ApiError {
    ApiError::conflict("the user's rewards kept changing; retry")
}

async fn user_tz(state: &Deps, user_id: &str) -> ApiResult<chrono_tz::Tz> {
    let user = platform::user_by_id(state.store.platform(), user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(rules::parse_timezone(&user.timezone).unwrap_or(chrono_tz::UTC))
}

async fn config(state: &Deps) -> ApiResult<RewardConfig> {
    Ok(state.reward_config.get(state.store.platform()).await?)
}

/// A member's reward status as of now, with the rules it was computed by.
pub struct Status {
    pub quiet_mode: bool,
    pub summary: Summary,
    pub config: RewardConfig,
}

pub async fn status(state: &Deps, p: &Principal) -> ApiResult<Status> {
    let db = p.tenant_db(state).await?;
    let row = repo::user(&db, &p.user_id).await?;
    let config = config(state).await?;
    let tz = user_tz(state, &p.user_id).await?;
    Ok(Status {
        quiet_mode: row.quiet_mode,
        summary: rules::summary(&config, &row.state, tz, Utc::now()),
        config,
    })
}

/// One badge of the catalog for a member: where they stand, and when it was awarded
/// (unless revoked since).
pub struct Badge {
    pub status: BadgeStatus,
    pub awarded_at: Option<DateTime<Utc>>,
}

/// The whole badge catalog, in its order, for the caller.
pub async fn badges(state: &Deps, p: &Principal) -> ApiResult<Vec<Badge>> {
    let db = p.tenant_db(state).await?;
    let row = repo::user(&db, &p.user_id).await?;
    let config = config(state).await?;
    let awards: BTreeMap<String, repo::BadgeRow> = repo::badges(&db, &p.user_id)
        .await?
        .into_iter()
        .map(|b| (b.code.clone(), b))
        .collect();
    Ok(rules::badge_board(&config, &row.state)
        .into_iter()
        .map(|status| Badge {
            awarded_at: awards
                .get(&status.definition.code.to_string())
                .filter(|a| a.revoked_at.is_none())
                .map(|a| a.awarded_at),
            status,
        })
        .collect())
}

/// A challenge of a closed week and how it ended (`completed` or `missed`).
pub struct PastChallenge {
    pub week_start: NaiveDate,
    pub challenge: UserChallenge,
    pub result: String,
}

/// The current week's challenges and the closed weeks'.
pub struct Challenges {
    pub week: ChallengeWeek,
    pub days_remaining_in_week: u32,
    /// Newest first.
    pub history: Vec<PastChallenge>,
}

pub async fn challenges(state: &Deps, p: &Principal) -> ApiResult<Challenges> {
    let db = p.tenant_db(state).await?;
    let row = repo::user(&db, &p.user_id).await?;
    let config = config(state).await?;
    let tz = user_tz(state, &p.user_id).await?;
    let now = Utc::now();
    let week = rules::current_challenges(&config, &row.state, tz, now);
    let history = repo::challenge_history(&db, &p.user_id, 200)
        .await?
        .into_iter()
        .filter_map(|h| {
            Some(PastChallenge {
                challenge: serde_json::from_value(h.challenge).ok()?,
                week_start: NaiveDate::parse_from_str(&h.week_start, "%Y-%m-%d").ok()?,
                result: h.result.as_str().unwrap_or("missed").to_string(),
            })
        })
        .collect();
    Ok(Challenges {
        week,
        days_remaining_in_week: rules::days_remaining_in_week(tz, now),
        history,
    })
}

/// The caller's XP ledger, newest first: at most `limit` rows after `cursor`.
pub async fn ledger(
    state: &Deps,
    p: &Principal,
    cursor: Option<&str>,
    limit: u32,
) -> ApiResult<Vec<LedgerRow>> {
    let db = p.tenant_db(state).await?;
    Ok(repo::ledger(&db, &p.user_id, cursor, limit).await?)
}

/// Quiet mode on or off. A read-only member may still choose what *they* see.
pub async fn set_quiet(state: &Deps, p: &Principal, quiet: bool) -> ApiResult<()> {
    let db = p.tenant_db(state).await?;
    Ok(repo::set_quiet(&db, &p.user_id, quiet).await?)
}

/// How rewards work under the rules in force (their version), topic by topic.
pub async fn rules_text(state: &Deps) -> ApiResult<(u32, Vec<rules::RuleText>)> {
    let config = config(state).await?;
    Ok((config.version, rules::rules_text(&config)))
}

/// The caller's XP per local day over the last `days` days (today last), by rule: the
/// chart, "today" and the ledger are all these sums.
pub async fn xp_days(state: &Deps, p: &Principal, days: u32) -> ApiResult<Vec<rules::DayXp>> {
    let db = p.tenant_db(state).await?;
    let tz = user_tz(state, &p.user_id).await?;
    let today = rules::local_day(tz, Utc::now());
    let from = today - chrono::Days::new(u64::from(days.saturating_sub(1)));
    let rows = repo::xp_by_day(&db, &p.user_id, &from.to_string()).await?;
    let events = rows.into_iter().filter_map(|r| {
        let day = NaiveDate::parse_from_str(&r.day, "%Y-%m-%d").ok()?;
        let rule: rules::XpRule = serde_json::from_value(serde_json::Value::String(r.rule)).ok()?;
        Some((day, rule, u32::try_from(r.xp).unwrap_or(u32::MAX)))
    });
    Ok(rules::xp_by_day(events, from, today))
}

/// What an entry the caller may read earned and why, judged by its author's rules and
/// days.
pub async fn entry_reward(
    state: &Deps,
    p: &Principal,
    entry_id: &str,
) -> ApiResult<rules::EntryReward> {
    let entry = super::worklogs::entry(state, p, entry_id).await?;
    let db = p.tenant_db(state).await?;
    let record = repo::entry_record(&db, &entry.id).await?;
    let config = config(state).await?;
    let tz = user_tz(state, &entry.author_id).await?;
    let worth = rules::compute_xp(&config, &rules::EntryFacts::from(&entry));
    Ok(rules::explain_entry(
        &config,
        &rules::EntryRewardFacts {
            imported: entry.import_key.is_some(),
            date: entry.date,
            written_on: rules::local_day(tz, entry.created_at),
            version: entry.version,
            record: record.as_ref(),
            worth,
        },
    ))
}

/// How many unlocks one look shows at most.
const UNLOCKS_SHOWN: usize = 10;

/// Badges earned and challenges completed since the caller last saw them, newest first;
/// none in quiet mode.
pub async fn unlocks(state: &Deps, p: &Principal) -> ApiResult<Vec<rules::Unlock>> {
    let db = p.tenant_db(state).await?;
    let row = repo::user(&db, &p.user_id).await?;
    if row.quiet_mode {
        return Ok(Vec::new());
    }
    let seen = repo::rewards_seen_at(&db, &p.user_id).await?;
    let badges: Vec<(BadgeCode, DateTime<Utc>)> = repo::badges(&db, &p.user_id)
        .await?
        .into_iter()
        .filter(|b| b.revoked_at.is_none())
        .filter_map(|b| Some((b.code.parse().ok()?, b.awarded_at)))
        .collect();
    // The open week's challenges; a closed week's were shown while it was open, or are
    // in the challenge history.
    let challenges = row.state.week.map(|w| w.challenges).unwrap_or_default();
    Ok(rules::unseen_unlocks(
        &badges,
        &challenges,
        seen,
        UNLOCKS_SHOWN,
    ))
}

/// Marks the caller's unlocks up to `until` as seen.
pub async fn mark_unlocks_seen(state: &Deps, p: &Principal, until: DateTime<Utc>) -> ApiResult<()> {
    let db = p.tenant_db(state).await?;
    Ok(repo::mark_rewards_seen(&db, &p.user_id, until).await?)
}

// ------------------------------------------------------------------ staff

/// Engagement across every workspace.
pub struct Metrics {
    /// (day, active users, XP), oldest first.
    pub days: Vec<(NaiveDate, u64, u64)>,
    pub weekly_active_users: u64,
    pub users_with_rewards: u64,
    /// (bucket of current streak days, users), in [`STREAK_BUCKETS`] order.
    pub streak_distribution: Vec<(&'static str, u64)>,
    /// (badge code, awards), by code.
    pub badges_awarded: Vec<(String, u64)>,
    pub total_xp: u64,
}

/// The buckets of the streak distribution.
pub const STREAK_BUCKETS: [&str; 5] = ["0", "1-6", "7-29", "30-99", "100+"];

/// Engagement over the last `days` days (the caller checks the range).
pub async fn metrics(state: &Deps, days: u32) -> ApiResult<Metrics> {
    let since = (Utc::now() - chrono::Duration::days(i64::from(days)))
        .format("%Y-%m-%d")
        .to_string();
    let week_ago = (Utc::now() - chrono::Duration::days(7))
        .format("%Y-%m-%d")
        .to_string();
    let mut per_day: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut buckets: BTreeMap<&'static str, u64> = STREAK_BUCKETS.map(|b| (b, 0)).into();
    let mut badges: BTreeMap<String, u64> = BTreeMap::new();
    let (mut weekly, mut users, mut total_xp) = (0u64, 0u64, 0u64);
    let platform_db = state.store.platform();
    for tenant in platform::list_tenant_ids(platform_db).await? {
        let db = state.store.tenant(tenant).await?;
        for d in repo::daily_activity(&db, &since).await? {
            let e = per_day.entry(d.day).or_default();
            e.0 += d.users;
            e.1 += d.xp;
        }
        let mut weekly_users = BTreeSet::new();
        for id in repo::user_ids(&db).await? {
            let row = repo::user(&db, &id).await?;
            users += 1;
            total_xp += row.state.total_xp;
            let bucket = match row.state.streak.current {
                0 => "0",
                1..=6 => "1-6",
                7..=29 => "7-29",
                30..=99 => "30-99",
                _ => "100+",
            };
            *buckets.entry(bucket).or_default() += 1;
            if row
                .state
                .entry_xp_by_day
                .keys()
                .any(|d| d.format("%Y-%m-%d").to_string() >= week_ago)
            {
                weekly_users.insert(id);
            }
        }
        weekly += weekly_users.len() as u64;
        for (code, n) in repo::badge_counts(&db).await? {
            *badges.entry(code).or_default() += n;
        }
    }
    Ok(Metrics {
        days: per_day
            .into_iter()
            .filter_map(|(d, (u, xp))| {
                Some((NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()?, u, xp))
            })
            .collect(),
        weekly_active_users: weekly,
        users_with_rewards: users,
        streak_distribution: STREAK_BUCKETS
            .into_iter()
            .map(|b| (b, buckets.get(b).copied().unwrap_or(0)))
            .collect(),
        badges_awarded: badges.into_iter().collect(),
        total_xp,
    })
}

/// The tenant database of a staff target, checking the user is a member of it.
async fn member_db(state: &Deps, tenant_id: TenantId, user_id: &str) -> ApiResult<TenantDb> {
    platform::membership_for(state.store.platform(), user_id, Some(tenant_id))
        .await?
        .ok_or_else(|| ApiError::not_found("member of that workspace"))?;
    Ok(state.store.tenant(tenant_id).await?)
}

/// XP granted by hand to a member of a workspace.
pub struct Grant {
    pub tenant_id: TenantId,
    pub user_id: String,
    pub amount: u32,
    pub reason: String,
    /// Repeating a key grants once; a fresh key when `None`.
    pub idempotency_key: Option<String>,
}

/// What a grant left the user with.
pub struct Granted {
    pub total_xp: u64,
    pub level: u32,
    pub granted: u32,
    pub badges_awarded: Vec<String>,
    /// `false` when the idempotency key had been used: nothing new was granted.
    pub applied: bool,
}

/// Grants XP by hand, with a reason: audited, and shown in the user's ledger.
pub async fn grant_xp(
    state: &Deps,
    p: &Principal,
    client: &ClientInfo,
    g: Grant,
) -> ApiResult<Granted> {
    let db = member_db(state, g.tenant_id, &g.user_id).await?;
    let config = config(state).await?;
    let tz = user_tz(state, &g.user_id).await?;
    let key = g
        .idempotency_key
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let grant = rules::AdminGrant {
        amount: g.amount,
        reason: g.reason.clone(),
        granted_by: p.user_id.clone(),
        idempotency_key: key.clone(),
    };
    let (db, config, grant, user_id) = (&db, &config, &grant, g.user_id.as_str());
    let granted = repo::apply_with_retry(move |_| async move {
        let row = repo::user(db, user_id).await?;
        let out = rules::admin_grant_xp(config, &row.state, grant, tz, Utc::now())
            .map_err(|e| ApiError::validation(e.to_string()))?;
        let change = Change {
            user_id,
            rev: row.rev,
            state: Some(&out.user),
            ledger: std::slice::from_ref(&out.event),
            badges: &out.badges_awarded,
            ..Change::default()
        };
        match repo::try_write(db, &change).await {
            Ok(Attempt::Done(_)) => Ok(Attempt::Done(Granted {
                total_xp: out.user.total_xp,
                level: rules::level_for(config, out.user.total_xp),
                granted: grant.amount,
                badges_awarded: out
                    .badges_awarded
                    .iter()
                    .map(|a| a.code.to_string())
                    .collect(),
                applied: true,
            })),
            Ok(Attempt::Stale) => Ok(Attempt::Stale),
            // The ledger is unique per key: this grant was made before.
            Err(StoreError::Unique(_)) => {
                let row = repo::user(db, user_id).await?;
                Ok(Attempt::Done(Granted {
                    total_xp: row.state.total_xp,
                    level: rules::level_for(config, row.state.total_xp),
                    granted: 0,
                    badges_awarded: vec![],
                    applied: false,
                }))
            }
            Err(e) => Err(ApiError::from(e)),
        }
    })
    .await?
    .ok_or_else(kept_changing)?;
    if granted.applied {
        record(
            state,
            AuthEventKind::XpGranted,
            client,
            Some(&p.user_id),
            Some(g.tenant_id),
            Some(&p.email),
            serde_json::json!({"user_id": &g.user_id, "amount": g.amount, "reason": &g.reason, "key": key}),
        )
        .await;
    }
    Ok(granted)
}

/// A badge taken back from a member of a workspace.
pub struct Revoke {
    pub tenant_id: TenantId,
    pub user_id: String,
    pub badge: BadgeCode,
    pub reason: String,
}

/// Revokes a badge, with a reason: audited, and not re-awarded automatically. Returns
/// the badges the user still holds.
pub async fn revoke_badge(
    state: &Deps,
    p: &Principal,
    client: &ClientInfo,
    r: Revoke,
) -> ApiResult<Vec<BadgeCode>> {
    let db = member_db(state, r.tenant_id, &r.user_id).await?;
    let revoked = [(r.badge.to_string(), p.user_id.clone(), r.reason.clone())];
    let (db, revoked, user_id, code) = (&db, &revoked, r.user_id.as_str(), r.badge);
    let held = repo::apply_with_retry(move |_| async move {
        let row = repo::user(db, user_id).await?;
        let next = rules::admin_revoke_badge(&row.state, code)
            .map_err(|e| ApiError::new(ErrorCode::Conflict, e.to_string()))?;
        let change = Change {
            user_id,
            rev: row.rev,
            state: Some(&next),
            revoked,
            ..Change::default()
        };
        Ok::<_, ApiError>(match repo::try_write(db, &change).await? {
            Attempt::Done(_) => Attempt::Done(next.badges),
            Attempt::Stale => Attempt::Stale,
        })
    })
    .await?
    .ok_or_else(kept_changing)?;
    record(
        state,
        AuthEventKind::BadgeRevoked,
        client,
        Some(&p.user_id),
        Some(r.tenant_id),
        Some(&p.email),
        serde_json::json!({"user_id": &r.user_id, "badge": code.to_string(), "reason": &r.reason}),
    )
    .await;
    Ok(held.into_iter().collect())
}

/// The reward rules in force and every version, newest first.
pub struct Configs {
    pub active: ConfigRow,
    pub history: Vec<ConfigRow>,
}

pub async fn configs(state: &Deps) -> ApiResult<Configs> {
    let db = state.store.platform();
    // Publishes the defaults when none was published yet.
    repo::active_config(db).await?;
    let history = repo::config_history(db).await?;
    let active = history
        .first()
        .cloned()
        .ok_or_else(|| ApiError::internal("no reward config"))?;
    Ok(Configs { active, history })
}

/// Publishes `body`, a whole reward config (its `version` ignored), as the next
/// version; evaluations from now on apply it.
pub async fn publish_config(
    state: &Deps,
    p: &Principal,
    client: &ClientInfo,
    body: serde_json::Value,
) -> ApiResult<ConfigRow> {
    let db = state.store.platform();
    let current = repo::active_config(db).await?.config;
    let mut config: RewardConfig = serde_json::from_value(body)
        .map_err(|e| ApiError::validation(format!("invalid reward config: {e}")))?;
    config.version = current.version + 1;
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(ApiError::validation(
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ));
    }
    let published = repo::publish_config(db, &config, Some(&p.user_id)).await;
    state.reward_config.forget();
    if !published? {
        return Err(ApiError::conflict(
            "someone published a new version at the same time; reload and retry",
        ));
    }
    record(
        state,
        AuthEventKind::RewardConfigChanged,
        client,
        Some(&p.user_id),
        None,
        Some(&p.email),
        serde_json::json!({"version": config.version}),
    )
    .await;
    Ok(ConfigRow {
        config,
        created_by: Some(p.user_id.clone()),
        created_at: Utc::now(),
    })
}
