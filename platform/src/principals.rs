//! Who is behind an access token: the user, their memberships and time zone, cached.
//!
//! Every authenticated request needs the user's current state (disabled? staff? still a
//! member, and with which role? which time zone?). Reading it from the platform
//! database costs round trips that used to dominate a cheap request, so it is cached
//! per user:
//!
//! * **Exact in this process.** Every change that affects a principal (disable, role
//!   change, removal, password change, logout, refresh reuse, profile update) calls
//!   [`PrincipalCache::forget`] after its write. A load that was in flight while a
//!   `forget` happened is not cached (an epoch counter detects it), so a stale read
//!   can't be put back after the invalidation.
//! * **Bounded staleness across processes.** Another process writing to the same
//!   database (the CLI, or other nodes on a shared SurrealDB server) can't reach this
//!   cache, so every entry is reloaded once it is older than the TTL
//!   (`PRINCIPAL_CACHE_TTL_SECS`, default 5 s).
//! * **Bounded size.** At most `capacity` users are kept (least recently used go).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::identity::tenancy::Role;
use crate::store::{platform, Db, StoreResult, TenantId};

/// A user as the request guards see them.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user_id: String,
    pub email: String,
    pub is_staff: bool,
    pub disabled: bool,
    pub timezone: chrono_tz::Tz,
    /// Tenant id → role, for every tenant the user belongs to.
    pub memberships: Vec<(TenantId, Role)>,
    /// Logins ended within the last access-token lifetime (logout, password change,
    /// refresh reuse, removal): their access tokens are refused. A handful at most.
    pub ended_sessions: Vec<String>,
}

impl Identity {
    /// Whether login `sid` was ended (its access tokens no longer count).
    pub fn session_ended(&self, sid: &str) -> bool {
        self.ended_sessions.iter().any(|s| s == sid)
    }

    /// The user's role in `tenant_id`, if they are a member.
    pub fn role_in(&self, tenant_id: TenantId) -> Option<Role> {
        self.memberships
            .iter()
            .find(|(t, _)| *t == tenant_id)
            .map(|(_, r)| *r)
    }
}

#[derive(Clone)]
struct Cached {
    identity: Arc<Identity>,
    loaded: Instant,
}

/// The per-process cache of [`Identity`] by user id.
pub struct PrincipalCache {
    cache: quick_cache::sync::Cache<String, Cached>,
    /// Bumped by every invalidation; a load started before a bump is not stored.
    epoch: AtomicU64,
    ttl: Duration,
}

impl PrincipalCache {
    /// A cache of at most `capacity` users whose entries live `ttl` (zero: no caching).
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            cache: quick_cache::sync::Cache::new(capacity.max(1)),
            epoch: AtomicU64::new(0),
            ttl,
        }
    }

    /// The user `user_id` (`None` if no such user), from the cache when fresh.
    pub async fn get(&self, db: &Db, user_id: &str) -> StoreResult<Option<Arc<Identity>>> {
        if let Some(c) = self.cache.get(user_id) {
            if c.loaded.elapsed() < self.ttl {
                return Ok(Some(c.identity));
            }
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let Some((user, memberships)) = platform::user_with_memberships(db, user_id).await? else {
            return Ok(None);
        };
        let identity = Arc::new(Identity {
            timezone: user.timezone.parse().unwrap_or(chrono_tz::UTC),
            user_id: user.id,
            email: user.email,
            is_staff: user.is_staff,
            disabled: user.disabled,
            ended_sessions: user.ended_sessions,
            memberships: memberships
                .into_iter()
                .map(|m| (m.tenant_id, m.role))
                .collect(),
        });
        // Only a load that no invalidation overtook may be remembered.
        if !self.ttl.is_zero() && self.epoch.load(Ordering::Acquire) == epoch {
            self.cache.insert(
                user_id.to_string(),
                Cached {
                    identity: identity.clone(),
                    loaded: Instant::now(),
                },
            );
        }
        Ok(Some(identity))
    }

    /// Drops what is known of `user_id`: call after any write that changes who they are
    /// or what they may do.
    pub fn forget(&self, user_id: &str) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.cache.remove(user_id);
    }

    /// Drops everything (a change that affects many users at once).
    pub fn forget_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.cache.clear();
    }

    /// Users cached right now.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}
