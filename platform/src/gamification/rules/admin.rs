//! Staff actions: manual XP grants and badge revocation/restoration.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::badges::{award_badges, BadgeAward, BadgeCode};
use super::calendar::local_day;
use super::config::{RewardConfig, MAX_XP_VALUE};
use super::error::RulesError;
use super::ledger::{admin_event_key, apply_event, XpEvent, XpSource};
use super::state::UserState;

/// A manual XP grant request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminGrant {
    /// XP to add (1..=MAX_XP_VALUE); XP is never removed.
    pub amount: u32,
    /// Why, recorded on the ledger.
    pub reason: String,
    /// The staff member granting it.
    pub granted_by: String,
    /// The request's idempotency key; storage must reject a repeated ledger key.
    pub idempotency_key: String,
}

/// The result of a manual grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminGrantOutcome {
    /// The user afterwards.
    pub user: UserState,
    /// The ledger event to append.
    pub event: XpEvent,
    /// Level badges the grant unlocked.
    pub badges_awarded: Vec<BadgeAward>,
}

/// Grants XP by hand; outside the daily cap, and it can unlock level badges.
pub fn admin_grant_xp(
    config: &RewardConfig,
    user: &UserState,
    grant: &AdminGrant,
    tz: Tz,
    at: DateTime<Utc>,
) -> Result<AdminGrantOutcome, RulesError> {
    config.validate()?;
    if grant.amount == 0 || grant.amount > MAX_XP_VALUE {
        return Err(RulesError::GrantAmount {
            amount: grant.amount,
            max: MAX_XP_VALUE,
        });
    }
    if grant.reason.trim().is_empty() {
        return Err(RulesError::MissingReason);
    }
    if grant.idempotency_key.trim().is_empty() {
        return Err(RulesError::MissingIdempotencyKey);
    }
    let event = XpEvent {
        idempotency_key: admin_event_key(grant.idempotency_key.trim()),
        amount: grant.amount,
        day: local_day(tz, at),
        occurred_at: at,
        config_version: config.version,
        source: XpSource::AdminGrant {
            reason: grant.reason.trim().to_owned(),
            granted_by: grant.granted_by.clone(),
        },
    };
    let mut next = user.clone();
    apply_event(&mut next, &event);
    let badges_awarded = award_badges(config, &next)
        .into_iter()
        .map(|code| {
            next.badges.insert(code);
            BadgeAward {
                code,
                awarded_at: at,
                entry_id: None,
                entry_version: None,
                config_version: config.version,
            }
        })
        .collect();
    Ok(AdminGrantOutcome {
        user: next,
        event,
        badges_awarded,
    })
}

/// Revokes a held badge; it stays revoked (never re-awarded automatically) until
/// [`admin_restore_badge`].
pub fn admin_revoke_badge(user: &UserState, code: BadgeCode) -> Result<UserState, RulesError> {
    if !user.badges.contains(&code) {
        return Err(RulesError::BadgeNotHeld(code));
    }
    let mut next = user.clone();
    next.badges.remove(&code);
    next.revoked_badges.insert(code);
    Ok(next)
}

/// Lifts a revocation and awards the badge again if the user still qualifies.
pub fn admin_restore_badge(
    config: &RewardConfig,
    user: &UserState,
    code: BadgeCode,
    at: DateTime<Utc>,
) -> (UserState, Option<BadgeAward>) {
    let mut next = user.clone();
    next.revoked_badges.remove(&code);
    let award = award_badges(config, &next)
        .into_iter()
        .find(|c| *c == code)
        .map(|code| {
            next.badges.insert(code);
            BadgeAward {
                code,
                awarded_at: at,
                entry_id: None,
                entry_version: None,
                config_version: config.version,
            }
        });
    (next, award)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0)
            .single()
            .expect("time")
    }

    fn grant(amount: u32) -> AdminGrant {
        AdminGrant {
            amount,
            reason: "conference talk".into(),
            granted_by: "staff-1".into(),
            idempotency_key: "req-9".into(),
        }
    }

    #[test]
    fn grant_adds_xp_outside_the_daily_cap_and_unlocks_level_badges() {
        let c = RewardConfig::default();
        let mut user = UserState {
            total_xp: 390,
            ..UserState::default()
        };
        let day = local_day(Tz::UTC, now());
        user.entry_xp_by_day.insert(day, 200);
        let out = admin_grant_xp(&c, &user, &grant(10), Tz::UTC, now()).expect("valid grant");
        assert_eq!(out.user.total_xp, 400);
        assert_eq!(out.user.entry_xp_on(day), 200);
        assert_eq!(out.event.idempotency_key, "admin:req-9");
        assert_eq!(
            out.badges_awarded
                .iter()
                .map(|b| b.code)
                .collect::<Vec<_>>(),
            vec![BadgeCode::Level5]
        );
        assert!(out.user.badges.contains(&BadgeCode::Level5));
    }

    #[test]
    fn grant_rejects_zero_missing_reason_and_missing_key() {
        let c = RewardConfig::default();
        let user = UserState::default();
        assert!(matches!(
            admin_grant_xp(&c, &user, &grant(0), Tz::UTC, now()),
            Err(RulesError::GrantAmount { .. })
        ));
        let no_reason = AdminGrant {
            reason: " ".into(),
            ..grant(5)
        };
        assert_eq!(
            admin_grant_xp(&c, &user, &no_reason, Tz::UTC, now()),
            Err(RulesError::MissingReason)
        );
        let no_key = AdminGrant {
            idempotency_key: String::new(),
            ..grant(5)
        };
        assert_eq!(
            admin_grant_xp(&c, &user, &no_key, Tz::UTC, now()),
            Err(RulesError::MissingIdempotencyKey)
        );
    }

    #[test]
    fn revoked_badge_stays_revoked_until_restored() {
        let c = RewardConfig::default();
        let mut user = UserState {
            meaningful_entries: 3,
            ..UserState::default()
        };
        user.badges.insert(BadgeCode::FirstEntry);
        assert_eq!(
            admin_revoke_badge(&user, BadgeCode::Level5),
            Err(RulesError::BadgeNotHeld(BadgeCode::Level5))
        );
        let revoked = admin_revoke_badge(&user, BadgeCode::FirstEntry).expect("held");
        assert!(!revoked.badges.contains(&BadgeCode::FirstEntry));
        assert!(award_badges(&c, &revoked).is_empty());
        let (restored, award) = admin_restore_badge(&c, &revoked, BadgeCode::FirstEntry, now());
        assert_eq!(award.map(|a| a.code), Some(BadgeCode::FirstEntry));
        assert!(restored.badges.contains(&BadgeCode::FirstEntry));
        assert!(restored.revoked_badges.is_empty());
    }
}
