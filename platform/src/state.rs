//! Process-wide state shared by every request.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::config::Settings;
pub use crate::deps::Deps;
use crate::error::{ApiError, RatePolicy};
use crate::identity::credentials::JwtKeys;
use crate::jobs::queue::Queue;
pub use crate::slots::{Reservation, Reservations, Slot, Slots};
use crate::store::Store;
use crate::workflows::Registry;

type Keyed = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// One keyed limiter and the policy it enforces (named in 429 responses).
struct Limiter {
    keyed: Keyed,
    policy: RatePolicy,
}

impl Limiter {
    fn per_minute(name: &'static str, n: u32) -> Self {
        Self {
            keyed: RateLimiter::keyed(per_minute(n)),
            policy: RatePolicy {
                name,
                quota: n.max(1),
                window_secs: 60,
            },
        }
    }
}

/// Rate limiters (GCRA from `governor`), keyed by IP, account or user.
pub struct RateLimits {
    auth_ip: Limiter,
    auth_account: Limiter,
    api_user: Limiter,
    /// Refreshes per login (refresh-token family): reloads and tabs of one session.
    refresh_family: Limiter,
    /// Refused refresh tokens per client address: what guessing or replaying tokens
    /// runs into, while valid refreshes never count against an address.
    refresh_failures: Failures,
    refresh_failure_limit: u32,
    /// Failed password checks per (account, client address) and per account.
    failures_pair: Failures,
    failures_account: Failures,
    /// Failures after which one address must wait before trying an account again.
    pair_limit: u32,
    /// Failures after which every attempt on the account waits (the ceiling against
    /// guessing spread over many addresses).
    account_limit: u32,
}

/// How many times the per-address failure limit the whole account may take.
pub const ACCOUNT_FAILURE_CEILING: u32 = 10;
/// The window failures are counted in.
const FAILURE_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// Failed password checks per key in fixed windows of [`FAILURE_WINDOW`].
#[derive(Default)]
struct Failures {
    counts: std::sync::Mutex<std::collections::HashMap<String, (u32, std::time::Instant)>>,
}

impl Failures {
    /// Failures of `key` in its current window, and the seconds until the window ends.
    fn current(&self, key: &str) -> (u32, u64) {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        match counts.get(key) {
            Some((n, start)) if start.elapsed() < FAILURE_WINDOW => {
                (*n, (FAILURE_WINDOW - start.elapsed()).as_secs() + 1)
            }
            _ => (0, 0),
        }
    }

    /// Counts one failure; the new count.
    fn add(&self, key: &str) -> u32 {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        let entry = counts.entry(key.to_string()).or_insert((0, now));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, now);
        }
        entry.0 += 1;
        entry.0
    }

    fn clear(&self, key: &str) {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    fn prune(&self) {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (_, start)| start.elapsed() < FAILURE_WINDOW);
    }

    fn len(&self) -> usize {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// A limit that a failed password check just reached (for the audit log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lockout {
    /// This address must wait before trying this account again.
    AccountFromAddress,
    /// Every attempt on this account waits.
    Account,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

fn lockout_error(name: &'static str, quota: u32, wait: u64) -> ApiError {
    ApiError::rate_limited(
        RatePolicy {
            name,
            quota,
            window_secs: FAILURE_WINDOW.as_secs() as u32,
        },
        wait,
    )
}

fn check(limiter: &Limiter, key: &str) -> Result<(), ApiError> {
    limiter
        .keyed
        .check_key(&key.to_string())
        .map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::rate_limited(limiter.policy, wait.as_secs() + 1)
        })
}

impl RateLimits {
    pub fn new(
        auth_per_minute: u32,
        api_per_minute: u32,
        failures_per_minute: u32,
        refresh_per_minute: u32,
    ) -> Self {
        Self {
            auth_ip: Limiter::per_minute("auth-ip", auth_per_minute),
            auth_account: Limiter::per_minute("auth-account", auth_per_minute),
            api_user: Limiter::per_minute("api-user", api_per_minute),
            refresh_family: Limiter::per_minute("refresh-session", refresh_per_minute),
            refresh_failures: Failures::default(),
            refresh_failure_limit: auth_per_minute.max(1),
            failures_pair: Failures::default(),
            failures_account: Failures::default(),
            pair_limit: failures_per_minute.max(1),
            account_limit: failures_per_minute
                .max(1)
                .saturating_mul(ACCOUNT_FAILURE_CEILING),
        }
    }

    /// Auth endpoints, per client IP: decided by the request gate before the body is read.
    pub fn auth_ip(&self, ip: &str) -> Result<(), ApiError> {
        check(&self.auth_ip, &crate::identity::limit_key(ip))
    }

    /// Forgets keys whose budget is full again, so that addresses and accounts seen
    /// once do not stay in memory (run periodically by the server).
    pub fn prune(&self) {
        for l in [
            &self.auth_ip,
            &self.auth_account,
            &self.api_user,
            &self.refresh_family,
        ] {
            l.keyed.retain_recent();
            l.keyed.shrink_to_fit();
        }
        self.failures_pair.prune();
        self.failures_account.prune();
        self.refresh_failures.prune();
    }

    /// Keys currently held by all limiters.
    pub fn keys(&self) -> usize {
        [&self.auth_ip, &self.auth_account, &self.api_user]
            .iter()
            .map(|l| l.keyed.len())
            .sum::<usize>()
            + self.failures_pair.len()
            + self.failures_account.len()
    }

    /// Before a password is checked: refused while this address has used up its failures
    /// on this account, or the account its ceiling. Failures, not attempts, count, so
    /// someone who knows an e-mail cannot keep its owner out: from any other address a
    /// correct password still goes through until the account-wide ceiling.
    pub fn password_attempt(&self, account: &str, ip: &str) -> Result<(), ApiError> {
        let pair = format!("{account} {}", crate::identity::limit_key(ip));
        let (n, wait) = self.failures_pair.current(&pair);
        if n >= self.pair_limit {
            return Err(lockout_error("auth-failures", self.pair_limit, wait));
        }
        let (n, wait) = self.failures_account.current(account);
        if n >= self.account_limit {
            return Err(lockout_error(
                "auth-account-failures",
                self.account_limit,
                wait,
            ));
        }
        Ok(())
    }

    /// A wrong password: counted; returns the limit this failure reached, if any.
    pub fn password_failed(&self, account: &str, ip: &str) -> Option<Lockout> {
        let pair = format!("{account} {}", crate::identity::limit_key(ip));
        let on_pair = self.failures_pair.add(&pair);
        let on_account = self.failures_account.add(account);
        if on_account == self.account_limit {
            Some(Lockout::Account)
        } else if on_pair == self.pair_limit {
            Some(Lockout::AccountFromAddress)
        } else {
            None
        }
    }

    /// A correct password: this address starts afresh on this account.
    pub fn password_ok(&self, account: &str, ip: &str) {
        let pair = format!("{account} {}", crate::identity::limit_key(ip));
        self.failures_pair.clear(&pair);
    }

    /// Auth endpoints, per account (e-mail), once the body has named it.
    pub fn auth_account(&self, account: &str) -> Result<(), ApiError> {
        check(&self.auth_account, account)
    }

    /// Authenticated API calls, per user.
    pub fn api(&self, user_id: &str) -> Result<(), ApiError> {
        check(&self.api_user, user_id)
    }

    /// A refresh from `ip`, before its token is looked at: refused only while the
    /// address has presented too many invalid tokens (see [`Self::refresh_refused`]).
    /// Many people behind one address refreshing valid sessions never meet this.
    pub fn refresh_ip(&self, ip: &str) -> Result<(), ApiError> {
        let (n, wait) = self
            .refresh_failures
            .current(&crate::identity::limit_key(ip));
        if n >= self.refresh_failure_limit {
            return Err(lockout_error(
                "refresh-failures-ip",
                self.refresh_failure_limit,
                wait,
            ));
        }
        Ok(())
    }

    /// `ip` presented a refresh token that was refused (unknown, revoked, expired or
    /// reused).
    pub fn refresh_refused(&self, ip: &str) {
        self.refresh_failures.add(&crate::identity::limit_key(ip));
    }

    /// A refresh of login `family`: page loads and tabs of one session share this.
    pub fn refresh_session(&self, family: &str) -> Result<(), ApiError> {
        check(&self.refresh_family, family)
    }
}

/// Everything a handler may need: the use cases' dependencies ([`Deps`], reached
/// through `Deref`, so `state.store` reads as before) and what only the HTTP edge uses.
pub struct AppState {
    /// The dependencies of the services and the workflows.
    pub deps: Arc<Deps>,
    pub jwt: JwtKeys,
    pub limits: RateLimits,
    /// The workflows this server runs, by job kind (which kinds `POST /api/jobs` takes).
    pub workflows: Registry,
    /// A real argon2 hash checked when the e-mail is unknown, so a failed login takes
    /// the same time whether or not the account exists.
    pub dummy_hash: String,
    /// The last readiness probe and when it ran (see `api::health`).
    pub readiness: tokio::sync::Mutex<Option<(std::time::Instant, Arc<Vec<Probe>>)>>,
}

impl std::ops::Deref for AppState {
    type Target = Deps;

    fn deref(&self) -> &Deps {
        &self.deps
    }
}

/// One dependency's answer to a readiness probe.
#[derive(Debug, Clone)]
pub struct Probe {
    /// `database`, `queue`, `storage`, `llm`.
    pub name: &'static str,
    /// What exactly was probed (a backend, a model, a URL): staff only.
    pub target: String,
    pub ok: bool,
    pub critical: bool,
    pub latency_ms: f64,
    /// The failure, verbatim: staff only.
    pub error: Option<String>,
}

impl AppState {
    pub async fn new(
        settings: Settings,
        store: Arc<Store>,
        queue: Queue,
    ) -> anyhow::Result<Arc<Self>> {
        let dummy_hash =
            crate::identity::accounts::hash_password_async("dummy password for timing".into())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Arc::new(Self {
            jwt: JwtKeys::new(&settings.secret_key, settings.access_token_ttl_secs),
            limits: RateLimits::new(
                settings.auth_rate_limit_per_minute,
                settings.api_rate_limit_per_minute,
                settings.auth_failures_per_minute,
                settings.refresh_rate_limit_per_minute,
            ),
            workflows: Registry::builtin(),
            dummy_hash,
            readiness: tokio::sync::Mutex::new(None),
            deps: Deps::new(settings, store, queue)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_forgets_clients_whose_budget_is_back() {
        // 60,000 per minute: a key's budget is whole again a millisecond after its use.
        let limits = RateLimits::new(60_000, 60_000, 60_000, 60_000);
        for i in 0..100 {
            limits.auth_ip(&format!("192.0.2.{i}")).unwrap();
            limits
                .auth_account(&format!("user{i}@example.test"))
                .unwrap();
        }
        assert_eq!(limits.keys(), 200);
        std::thread::sleep(std::time::Duration::from_millis(20));
        limits.prune();
        assert_eq!(limits.keys(), 0);
    }

    #[test]
    fn failures_lock_one_address_first_and_the_account_at_its_ceiling() {
        let limits = RateLimits::new(600, 600, 3, 600);
        let account = "victim@example.test";
        for _ in 0..2 {
            limits.password_attempt(account, "192.0.2.1").unwrap();
            assert_eq!(limits.password_failed(account, "192.0.2.1"), None);
        }
        assert_eq!(
            limits.password_failed(account, "192.0.2.1"),
            Some(Lockout::AccountFromAddress)
        );
        assert!(limits.password_attempt(account, "192.0.2.1").is_err());
        // The owner elsewhere is not locked out.
        limits.password_attempt(account, "198.51.100.1").unwrap();
        // Spread over many addresses the account reaches its ceiling (3 x 10).
        let mut reached = None;
        for i in 0..27 {
            reached = limits.password_failed(account, &format!("203.0.113.{i}"));
        }
        assert_eq!(reached, Some(Lockout::Account));
        assert!(limits.password_attempt(account, "198.51.100.1").is_err());
    }
}
