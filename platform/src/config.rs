//! Settings read from the environment (and `.env`), validated in one place.
//!
//! `afterresume validate-env` and `afterresume serve` both call [`Settings::from_env`],
//! which collects *every* problem instead of stopping at the first, so an operator
//! fixes a broken deployment in one pass.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

/// How the process is deployed; development relaxes a few production-only rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Which backend answers LLM calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlmProvider {
    /// Deterministic, offline, no model.
    Local,
    Sidecar,
    Vllm,
}

/// Where artifacts live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactsConfig {
    Fs {
        root: PathBuf,
    },
    S3 {
        endpoint: String,
        bucket: String,
        access_key: String,
        secret_key: String,
        region: String,
    },
}

/// The comma-separated addresses and CIDR blocks of `var`; each bad entry is a problem.
fn ip_nets(r: &mut Reader, var: &str) -> Vec<IpNet> {
    let mut nets = Vec::new();
    for item in r.string(var, "").split(',').map(str::trim) {
        if item.is_empty() {
            continue;
        }
        match IpNet::parse(item) {
            Some(net) => nets.push(net),
            None => r.problems.push(format!(
                "{var} entry {item:?} is neither an IP address nor a CIDR block"
            )),
        }
    }
    nets
}

/// An IP network from `ADMIN_IP_ALLOWLIST` or `TRUSTED_PROXIES` (an address or a CIDR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    /// Whether `ip` falls inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            _ => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Optional SMTP settings (`EMAIL_*`); without a host, mail is logged instead of sent.
#[derive(Debug, Clone, Default)]
pub struct EmailConfig {
    pub host: Option<String>,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
    pub use_tls: bool,
    pub from: String,
}

/// Optional Stripe keys; billing stays off unless all are set.
#[derive(Debug, Clone, Default)]
pub struct StripeConfig {
    pub secret_key: Option<String>,
    pub publishable_key: Option<String>,
    pub webhook_secret: Option<String>,
}

/// The job runner tunables (`JOB_*`, `QUEUE_GROUP_COMMIT`).
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub workers: usize,
    /// Workers that only lease the platform's interactive jobs (reward evaluation), in
    /// addition to `workers`: they start while long jobs hold every other worker.
    pub interactive_workers: usize,
    pub tenant_concurrency: usize,
    /// Queued jobs one workspace may hold through member requests (`POST /api/jobs`, the
    /// AI endpoints, imports); one more answers 429 `quota_exceeded`.
    pub tenant_max_queued: usize,
    pub max_attempts: u32,
    pub visibility_timeout_secs: u64,
    pub backoff_base_ms: u64,
    pub backoff_factor: f64,
    pub shutdown_grace_secs: u64,
    pub retention_days: u64,
    pub group_commit: bool,
}

/// Per-tenant and per-user limits on content.
#[derive(Debug, Clone)]
pub struct Quotas {
    /// Work-log entries one user may create per hour.
    pub entries_per_hour: u32,
    /// Largest attachment, in bytes.
    pub attachment_max_bytes: u64,
    /// Attachment bytes one tenant may store.
    pub tenant_storage_bytes: u64,
    /// Largest import file, in bytes.
    pub import_max_bytes: usize,
    /// Most rows one import may hold.
    pub import_max_rows: usize,
    /// Entries one user may import per 24 hours (0 = unlimited); imports don't count
    /// against `entries_per_hour`, which is about today's logging.
    pub import_rows_per_day: u64,
    /// Attachment uploads one user may have in progress at once.
    pub uploads_per_user: usize,
    /// LLM tokens one tenant may use per calendar month (0 = unlimited).
    pub llm_tokens_per_month: u64,
    /// Tokens each queued or running AI job holds against that quota, so parallel jobs
    /// can't start beyond it.
    pub llm_tokens_reserved_per_job: u64,
}

/// Every runtime setting of the platform.
#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub secret_key: String,
    pub host: String,
    pub port: u16,
    pub data_dir: PathBuf,
    /// The built web UI (`ui/dist`), served at `/` when it holds an `index.html`.
    pub ui_dir: PathBuf,
    pub surreal_url: String,
    pub surreal_namespace: String,
    pub queue_path: PathBuf,
    pub artifacts: ArtifactsConfig,
    pub service_secret: String,
    pub require_service_token: bool,
    pub csrf_trusted_origins: Vec<String>,
    pub admin_ip_allowlist: Vec<IpNet>,
    /// Peers whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, CIDRs).
    pub trusted_proxies: Vec<IpNet>,
    pub maintenance_mode: bool,
    pub disable_sharing: bool,
    pub skip_service_auth: bool,
    pub llm_provider: LlmProvider,
    pub llm_sidecar_url: String,
    pub llm_vllm_endpoint: Option<String>,
    pub llm_model_name: String,
    /// The embeddings model requested from the sidecar or vLLM.
    pub llm_embedding_model: String,
    /// Longest an LLM call may take.
    pub llm_timeout_secs: u64,
    pub email: EmailConfig,
    pub stripe: StripeConfig,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// How long after a rotation a refresh token may be presented again and get the same
    /// successor (concurrent tabs) instead of counting as reuse; 0 turns it off.
    pub refresh_reuse_grace_secs: u64,
    pub auth_rate_limit_per_minute: u32,
    /// Failed password checks one address may make on one account per minute (the
    /// account as a whole takes `ACCOUNT_FAILURE_CEILING` times as many).
    pub auth_failures_per_minute: u32,
    /// Session refreshes per login (page loads and tabs of one session) per minute.
    pub refresh_rate_limit_per_minute: u32,
    pub api_rate_limit_per_minute: u32,
    pub max_body_bytes: usize,
    /// Open `GET /api/jobs/{id}/events` streams allowed per user and per workspace, and
    /// the longest one stream stays open.
    pub event_streams_per_user: usize,
    pub event_streams_per_tenant: usize,
    pub event_stream_max_secs: u64,
    /// How long a request body may pause between two reads before the request is
    /// refused with 408 (a slow-drip body holds a connection and a buffer).
    pub body_read_timeout_secs: u64,
    /// How long a cached request principal (user, memberships, time zone) is trusted
    /// before it is read again; bounds what another process's change may lag here.
    pub principal_cache_ttl_secs: u64,
    /// Row text of work-log first pages kept in memory (0: no cache); only ever used
    /// with an embedded store, which no other process writes.
    pub worklog_page_cache_bytes: u64,
    /// Memory of all tenants' in-memory search indexes (embedded store only).
    pub search_index_bytes: u64,
    pub jobs: JobSettings,
    pub quotas: Quotas,
    /// Optional separate address serving `/metrics` without authentication.
    pub metrics_bind: Option<String>,
}

/// Source of raw variables: the process environment in production, a map in tests.
pub trait VarSource {
    fn get(&self, key: &str) -> Option<String>;
}

/// Reads `std::env` (after `.env` was loaded by the caller).
pub struct ProcessEnv;

impl VarSource for ProcessEnv {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.trim().is_empty())
    }
}

impl VarSource for BTreeMap<String, String> {
    fn get(&self, key: &str) -> Option<String> {
        BTreeMap::get(self, key)
            .cloned()
            .filter(|v| !v.trim().is_empty())
    }
}

/// Every variable this program reads, for `validate-env --print-status`.
pub const VARIABLES: &[(&str, bool)] = &[
    ("SECRET_KEY", true),
    ("ENVIRONMENT", false),
    ("HOST", false),
    ("PORT", false),
    ("DATA_DIR", false),
    ("UI_DIR", false),
    ("SURREAL_URL", false),
    ("SURREAL_NAMESPACE", false),
    ("QUEUE_PATH", false),
    ("ARTIFACTS_URL", false),
    ("MINIO_ENDPOINT", false),
    ("MINIO_ACCESS_KEY", true),
    ("MINIO_SECRET_KEY", true),
    ("MINIO_BUCKET", false),
    ("MINIO_REGION", false),
    ("SERVICE_TO_SERVICE_SECRET", true),
    ("REQUIRE_SERVICE_TOKEN", false),
    ("CSRF_TRUSTED_ORIGINS", false),
    ("ADMIN_IP_ALLOWLIST", false),
    ("TRUST_PROXY_HEADERS", false),
    ("TRUSTED_PROXIES", false),
    ("MAINTENANCE_MODE", false),
    ("DISABLE_SHARING", false),
    ("SKIP_SERVICE_AUTH", false),
    ("LLM_PROVIDER", false),
    ("LLM_SIDECAR_URL", false),
    ("LLM_VLLM_ENDPOINT", false),
    ("LLM_MODEL_NAME", false),
    ("LLM_EMBEDDING_MODEL", false),
    ("LLM_TIMEOUT_SECS", false),
    ("EMAIL_HOST", false),
    ("EMAIL_PORT", false),
    ("EMAIL_HOST_USER", false),
    ("EMAIL_HOST_PASSWORD", true),
    ("EMAIL_USE_TLS", false),
    ("EMAIL_FROM", false),
    ("STRIPE_SECRET_KEY", true),
    ("STRIPE_PUBLISHABLE_KEY", false),
    ("STRIPE_WEBHOOK_SECRET", true),
    ("ACCESS_TOKEN_TTL_SECS", false),
    ("REFRESH_TOKEN_TTL_SECS", false),
    ("REFRESH_REUSE_GRACE_SECS", false),
    ("AUTH_RATE_LIMIT_PER_MINUTE", false),
    ("AUTH_FAILURES_PER_MINUTE", false),
    ("REFRESH_RATE_LIMIT_PER_MINUTE", false),
    ("API_RATE_LIMIT_PER_MINUTE", false),
    ("MAX_BODY_BYTES", false),
    ("BODY_READ_TIMEOUT_SECS", false),
    ("EVENT_STREAMS_PER_USER", false),
    ("EVENT_STREAMS_PER_TENANT", false),
    ("EVENT_STREAM_MAX_SECS", false),
    ("PRINCIPAL_CACHE_TTL_SECS", false),
    ("WORKLOG_PAGE_CACHE_BYTES", false),
    ("SEARCH_INDEX_BYTES", false),
    ("JOB_WORKERS", false),
    ("JOB_TENANT_CONCURRENCY", false),
    ("JOB_INTERACTIVE_WORKERS", false),
    ("JOB_TENANT_MAX_QUEUED", false),
    ("JOB_MAX_ATTEMPTS", false),
    ("JOB_VISIBILITY_TIMEOUT_SECS", false),
    ("JOB_BACKOFF_BASE_MS", false),
    ("JOB_BACKOFF_FACTOR", false),
    ("JOB_SHUTDOWN_GRACE_SECS", false),
    ("JOB_RETENTION_DAYS", false),
    ("QUEUE_GROUP_COMMIT", false),
    ("METRICS_BIND", false),
    ("WORKLOG_ENTRIES_PER_HOUR", false),
    ("ATTACHMENT_MAX_BYTES", false),
    ("TENANT_STORAGE_QUOTA_BYTES", false),
    ("IMPORT_MAX_BYTES", false),
    ("IMPORT_MAX_ROWS", false),
    ("IMPORT_ROWS_PER_DAY", false),
    ("UPLOADS_PER_USER", false),
    ("LLM_TOKENS_RESERVED_PER_JOB", false),
    ("LLM_TOKENS_PER_MONTH", false),
];

/// The minimum `SECRET_KEY` length outside development.
pub const MIN_SECRET_LEN: usize = 32;

struct Reader<'a> {
    src: &'a dyn VarSource,
    problems: Vec<String>,
}

impl Reader<'_> {
    fn string(&self, key: &str, default: &str) -> String {
        self.src.get(key).unwrap_or_else(|| default.to_string())
    }

    fn bool(&mut self, key: &str) -> bool {
        match self.src.get(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => false,
            Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => true,
            Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => false,
            Some(v) => {
                self.problems
                    .push(format!("{key}={v:?} is not a boolean: use true or false"));
                false
            }
        }
    }

    fn number<T>(&mut self, key: &str, default: T, min: T) -> T
    where
        T: std::str::FromStr + Copy + PartialOrd + std::fmt::Display,
    {
        match self.src.get(key) {
            None => default,
            Some(v) => match v.trim().parse::<T>() {
                Ok(n) if n >= min => n,
                _ => {
                    self.problems.push(format!(
                        "{key}={v:?} must be a whole number of at least {min}"
                    ));
                    default
                }
            },
        }
    }

    fn url(&mut self, key: &str, value: &str, schemes: &[&str]) {
        match url::Url::parse(value) {
            Ok(u) if schemes.contains(&u.scheme()) => {}
            Ok(u) => self.problems.push(format!(
                "{key}={value:?} uses scheme {:?}; expected one of {}",
                u.scheme(),
                schemes.join(", ")
            )),
            Err(e) => self
                .problems
                .push(format!("{key}={value:?} is not a valid URL ({e})")),
        }
    }
}

impl Settings {
    /// How long an ended login must be remembered so its access tokens are refused: the
    /// longest an access token lives, plus the verifier's clock leeway and a margin.
    pub fn ended_session_memory_secs(&self) -> u64 {
        self.access_token_ttl_secs + 60
    }

    /// Reads and validates the process environment.
    pub fn from_env() -> Result<Self, Vec<String>> {
        Self::from_source(&ProcessEnv)
    }

    /// Reads and validates any variable source; returns every problem found.
    pub fn from_source(src: &dyn VarSource) -> Result<Self, Vec<String>> {
        let mut r = Reader {
            src,
            problems: Vec::new(),
        };

        let environment = match r
            .string("ENVIRONMENT", "production")
            .to_ascii_lowercase()
            .as_str()
        {
            "development" | "dev" => Environment::Development,
            "production" | "prod" => Environment::Production,
            other => {
                r.problems.push(format!(
                    "ENVIRONMENT={other:?} is unknown: use development or production"
                ));
                Environment::Production
            }
        };

        let secret_key = r.src.get("SECRET_KEY").unwrap_or_default();
        if secret_key.is_empty() {
            r.problems.push(
                "SECRET_KEY is missing: set it to a random value of at least 32 bytes \
                 (for example `openssl rand -hex 32`)"
                    .into(),
            );
        } else if secret_key.len() < MIN_SECRET_LEN && environment == Environment::Production {
            r.problems.push(format!(
                "SECRET_KEY is {} bytes; production needs at least {MIN_SECRET_LEN} \
                 (or set ENVIRONMENT=development)",
                secret_key.len()
            ));
        }

        let host = r.string("HOST", "127.0.0.1");
        if host.parse::<IpAddr>().is_err() && host != "localhost" {
            r.problems
                .push(format!("HOST={host:?} is not an IP address"));
        }
        let port = r.number("PORT", 8000u16, 0);
        let data_dir = PathBuf::from(r.string("DATA_DIR", "data"));
        let ui_dir = PathBuf::from(r.string("UI_DIR", "ui/dist"));
        let surreal_url = r.string(
            "SURREAL_URL",
            &format!("surrealkv://{}/db", data_dir.display()),
        );
        if !["mem://", "surrealkv://", "ws://", "wss://"]
            .iter()
            .any(|p| surreal_url.starts_with(p))
        {
            r.problems.push(format!(
                "SURREAL_URL={surreal_url:?} is not supported: use surrealkv://PATH, mem:// or ws://HOST:PORT"
            ));
        }
        let surreal_namespace = r.string("SURREAL_NAMESPACE", "afterresume");
        if surreal_namespace.is_empty()
            || !surreal_namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            r.problems.push(format!(
                "SURREAL_NAMESPACE={surreal_namespace:?} may only hold letters, digits and _"
            ));
        }
        let queue_path =
            PathBuf::from(r.string("QUEUE_PATH", &format!("{}/queue", data_dir.display())));

        let artifacts = Self::read_artifacts(&mut r, &data_dir);

        let service_secret = r
            .src
            .get("SERVICE_TO_SERVICE_SECRET")
            .unwrap_or_else(|| secret_key.clone());
        let require_service_token = r.bool("REQUIRE_SERVICE_TOKEN");

        let csrf_trusted_origins: Vec<String> = r
            .string("CSRF_TRUSTED_ORIGINS", "")
            .split(',')
            .map(|s| s.trim().trim_end_matches('/').to_string())
            .filter(|s| !s.is_empty())
            .collect();
        for origin in &csrf_trusted_origins {
            r.url("CSRF_TRUSTED_ORIGINS", origin, &["http", "https"]);
        }

        let admin_ip_allowlist = ip_nets(&mut r, "ADMIN_IP_ALLOWLIST");
        let mut trusted_proxies = ip_nets(&mut r, "TRUSTED_PROXIES");
        // The boolean this replaced trusted every peer's header; it now means "behind a
        // proxy on this machine", the one safe reading of it.
        if r.bool("TRUST_PROXY_HEADERS") && trusted_proxies.is_empty() {
            trusted_proxies = ["127.0.0.0/8", "::1/128"]
                .iter()
                .filter_map(|n| IpNet::parse(n))
                .collect();
        }
        let maintenance_mode = r.bool("MAINTENANCE_MODE");
        let disable_sharing = r.bool("DISABLE_SHARING");
        let skip_service_auth = r.bool("SKIP_SERVICE_AUTH");

        let llm_provider = match r
            .string("LLM_PROVIDER", "local")
            .to_ascii_lowercase()
            .as_str()
        {
            "local" | "fake" => LlmProvider::Local,
            "sidecar" => LlmProvider::Sidecar,
            "vllm" => LlmProvider::Vllm,
            other => {
                r.problems.push(format!(
                    "LLM_PROVIDER={other:?} is unknown: use local, sidecar or vllm"
                ));
                LlmProvider::Local
            }
        };
        let llm_sidecar_url = r.string("LLM_SIDECAR_URL", "http://127.0.0.1:8081");
        r.url(
            "LLM_SIDECAR_URL",
            &llm_sidecar_url.clone(),
            &["http", "https"],
        );
        let llm_vllm_endpoint = r.src.get("LLM_VLLM_ENDPOINT");
        if let Some(ep) = &llm_vllm_endpoint {
            r.url("LLM_VLLM_ENDPOINT", &ep.clone(), &["http", "https"]);
        } else if llm_provider == LlmProvider::Vllm {
            r.problems.push(
                "LLM_PROVIDER=vllm needs LLM_VLLM_ENDPOINT (e.g. http://vllm:8000/v1)".into(),
            );
        }
        let llm_model_name = r.string("LLM_MODEL_NAME", "smollm2-135m-instruct");
        let llm_embedding_model = r.string("LLM_EMBEDDING_MODEL", "all-minilm-l6-v2");
        let llm_timeout_secs = r.number("LLM_TIMEOUT_SECS", 120u64, 1);

        let email = EmailConfig {
            host: r.src.get("EMAIL_HOST"),
            port: r.number("EMAIL_PORT", 587u16, 1),
            user: r.src.get("EMAIL_HOST_USER"),
            password: r.src.get("EMAIL_HOST_PASSWORD"),
            use_tls: r.src.get("EMAIL_USE_TLS").is_none() || r.bool("EMAIL_USE_TLS"),
            from: r.string("EMAIL_FROM", "AfterResume <no-reply@localhost>"),
        };
        if email.user.is_some() != email.password.is_some() {
            r.problems
                .push("EMAIL_HOST_USER and EMAIL_HOST_PASSWORD must be set together".into());
        }

        let stripe = StripeConfig {
            secret_key: r.src.get("STRIPE_SECRET_KEY"),
            publishable_key: r.src.get("STRIPE_PUBLISHABLE_KEY"),
            webhook_secret: r.src.get("STRIPE_WEBHOOK_SECRET"),
        };
        if stripe.secret_key.is_some() && stripe.webhook_secret.is_none() {
            r.problems.push(
                "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not: top-ups could never be credited"
                    .into(),
            );
        }

        let access_token_ttl_secs = r.number("ACCESS_TOKEN_TTL_SECS", 900u64, 30);
        let refresh_token_ttl_secs = r.number("REFRESH_TOKEN_TTL_SECS", 14 * 86_400u64, 60);
        let refresh_reuse_grace_secs = r.number("REFRESH_REUSE_GRACE_SECS", 10u64, 0);
        if refresh_reuse_grace_secs > 60 {
            r.problems.push(format!(
                "REFRESH_REUSE_GRACE_SECS={refresh_reuse_grace_secs} must be at most 60: a copied refresh token is honoured that long"
            ));
        }
        let auth_rate_limit_per_minute = r.number("AUTH_RATE_LIMIT_PER_MINUTE", 10u32, 1);
        let auth_failures_per_minute =
            r.number("AUTH_FAILURES_PER_MINUTE", auth_rate_limit_per_minute, 1);
        let refresh_rate_limit_per_minute = r.number("REFRESH_RATE_LIMIT_PER_MINUTE", 120u32, 1);
        let api_rate_limit_per_minute = r.number("API_RATE_LIMIT_PER_MINUTE", 600u32, 1);
        let max_body_bytes = r.number("MAX_BODY_BYTES", 1_048_576usize, 1024);
        let body_read_timeout_secs = r.number("BODY_READ_TIMEOUT_SECS", 30u64, 1);
        let event_streams_per_user = r.number("EVENT_STREAMS_PER_USER", 8usize, 1);
        let event_streams_per_tenant = r.number("EVENT_STREAMS_PER_TENANT", 64usize, 1);
        let event_stream_max_secs = r.number("EVENT_STREAM_MAX_SECS", 3600u64, 1);
        let principal_cache_ttl_secs = r.number("PRINCIPAL_CACHE_TTL_SECS", 5u64, 0);
        let worklog_page_cache_bytes = r.number(
            "WORKLOG_PAGE_CACHE_BYTES",
            crate::store::worklogs::PAGE_CACHE_BYTES,
            0,
        );
        let search_index_bytes = r.number(
            "SEARCH_INDEX_BYTES",
            crate::store::search::SEARCH_INDEX_BYTES,
            1024 * 1024,
        );

        let jobs = JobSettings {
            workers: r.number("JOB_WORKERS", 4usize, 1),
            interactive_workers: r.number("JOB_INTERACTIVE_WORKERS", 1usize, 0),
            tenant_concurrency: r.number("JOB_TENANT_CONCURRENCY", 2usize, 1),
            tenant_max_queued: r.number("JOB_TENANT_MAX_QUEUED", 1000usize, 1),
            max_attempts: r.number("JOB_MAX_ATTEMPTS", 3u32, 1),
            visibility_timeout_secs: r.number("JOB_VISIBILITY_TIMEOUT_SECS", 60u64, 1),
            backoff_base_ms: r.number("JOB_BACKOFF_BASE_MS", 2000u64, 1),
            backoff_factor: match r.src.get("JOB_BACKOFF_FACTOR") {
                None => 4.0,
                Some(v) => match v.trim().parse::<f64>() {
                    Ok(f) if (1.0..=100.0).contains(&f) => f,
                    _ => {
                        r.problems.push(format!(
                            "JOB_BACKOFF_FACTOR={v:?} must be a number between 1 and 100"
                        ));
                        4.0
                    }
                },
            },
            shutdown_grace_secs: r.number("JOB_SHUTDOWN_GRACE_SECS", 30u64, 0),
            retention_days: r.number("JOB_RETENTION_DAYS", 30u64, 1),
            group_commit: r.src.get("QUEUE_GROUP_COMMIT").is_none() || r.bool("QUEUE_GROUP_COMMIT"),
        };
        let quotas = Quotas {
            entries_per_hour: r.number("WORKLOG_ENTRIES_PER_HOUR", 60u32, 0),
            attachment_max_bytes: r.number("ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024u64, 1024),
            tenant_storage_bytes: r.number("TENANT_STORAGE_QUOTA_BYTES", 1024 * 1024 * 1024u64, 0),
            import_max_bytes: r.number("IMPORT_MAX_BYTES", 5 * 1024 * 1024usize, 1024),
            import_max_rows: r.number("IMPORT_MAX_ROWS", 5000usize, 1),
            import_rows_per_day: r.number("IMPORT_ROWS_PER_DAY", 20_000u64, 0),
            uploads_per_user: r.number("UPLOADS_PER_USER", 2usize, 1),
            llm_tokens_reserved_per_job: r.number("LLM_TOKENS_RESERVED_PER_JOB", 8192u64, 0),
            llm_tokens_per_month: r.number("LLM_TOKENS_PER_MONTH", 2_000_000u64, 0),
        };
        let metrics_bind = r.src.get("METRICS_BIND");
        if let Some(b) = &metrics_bind {
            if b.parse::<std::net::SocketAddr>().is_err() {
                r.problems.push(format!(
                    "METRICS_BIND={b:?} is not an address:port (e.g. 127.0.0.1:9100)"
                ));
            }
        }

        if !r.problems.is_empty() {
            return Err(r.problems);
        }
        Ok(Self {
            environment,
            secret_key,
            host,
            port,
            data_dir,
            ui_dir,
            surreal_url,
            surreal_namespace,
            queue_path,
            artifacts,
            service_secret,
            require_service_token,
            csrf_trusted_origins,
            admin_ip_allowlist,
            trusted_proxies,
            maintenance_mode,
            disable_sharing,
            skip_service_auth,
            llm_provider,
            llm_sidecar_url,
            llm_vllm_endpoint,
            llm_model_name,
            llm_embedding_model,
            llm_timeout_secs,
            email,
            stripe,
            access_token_ttl_secs,
            refresh_token_ttl_secs,
            refresh_reuse_grace_secs,
            auth_rate_limit_per_minute,
            auth_failures_per_minute,
            refresh_rate_limit_per_minute,
            api_rate_limit_per_minute,
            max_body_bytes,
            body_read_timeout_secs,
            event_streams_per_user,
            event_streams_per_tenant,
            event_stream_max_secs,
            principal_cache_ttl_secs,
            worklog_page_cache_bytes,
            search_index_bytes,
            jobs,
            quotas,
            metrics_bind,
        })
    }

    fn read_artifacts(r: &mut Reader<'_>, data_dir: &std::path::Path) -> ArtifactsConfig {
        let minio_endpoint = r.src.get("MINIO_ENDPOINT");
        if let Some(endpoint) = minio_endpoint {
            r.url("MINIO_ENDPOINT", &endpoint, &["http", "https"]);
            let mut need = |k: &str| {
                r.src.get(k).unwrap_or_else(|| {
                    r.problems
                        .push(format!("MINIO_ENDPOINT is set but {k} is missing"));
                    String::new()
                })
            };
            let access_key = need("MINIO_ACCESS_KEY");
            let secret_key = need("MINIO_SECRET_KEY");
            let bucket = need("MINIO_BUCKET");
            return ArtifactsConfig::S3 {
                endpoint,
                bucket,
                access_key,
                secret_key,
                region: r.string("MINIO_REGION", "us-east-1"),
            };
        }
        match r.src.get("ARTIFACTS_URL") {
            None => ArtifactsConfig::Fs {
                root: data_dir.join("artifacts"),
            },
            Some(u) => {
                if let Some(path) = u.strip_prefix("fs://") {
                    ArtifactsConfig::Fs {
                        root: PathBuf::from(path),
                    }
                } else if u.starts_with("s3://") {
                    r.problems.push(format!(
                        "ARTIFACTS_URL={u:?}: for S3 set MINIO_ENDPOINT, MINIO_ACCESS_KEY, MINIO_SECRET_KEY and MINIO_BUCKET"
                    ));
                    ArtifactsConfig::Fs {
                        root: data_dir.join("artifacts"),
                    }
                } else {
                    r.problems
                        .push(format!("ARTIFACTS_URL={u:?} must start with fs://"));
                    ArtifactsConfig::Fs {
                        root: data_dir.join("artifacts"),
                    }
                }
            }
        }
    }

    /// Whether cookies get the `Secure` flag and HSTS is sent.
    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    /// A human-readable status table for `validate-env --print-status` (secrets masked).
    pub fn status_lines(src: &dyn VarSource) -> Vec<String> {
        VARIABLES
            .iter()
            .map(|(key, secret)| match src.get(key) {
                None => format!("{key:<28} (unset, default)"),
                Some(_) if *secret => format!("{key:<28} set (hidden)"),
                Some(v) => format!("{key:<28} {v}"),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn missing_secret_is_reported() {
        let problems = Settings::from_source(&env(&[])).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("SECRET_KEY is missing")),
            "{problems:?}"
        );
    }

    #[test]
    fn short_secret_fails_in_production_only() {
        let short = [("SECRET_KEY", "short")];
        assert!(Settings::from_source(&env(&short)).is_err());
        let dev = [("SECRET_KEY", "short"), ("ENVIRONMENT", "development")];
        assert!(Settings::from_source(&env(&dev)).is_ok());
    }

    #[test]
    fn every_problem_is_collected() {
        let bad = [
            ("PORT", "http"),
            ("SURREAL_URL", "postgres://x"),
            ("MINIO_ENDPOINT", "http://127.0.0.1:9000"),
            ("LLM_PROVIDER", "openai"),
            ("MAINTENANCE_MODE", "maybe"),
            ("ADMIN_IP_ALLOWLIST", "10.0.0.0/40"),
        ];
        let problems = Settings::from_source(&env(&bad)).unwrap_err();
        for needle in [
            "SECRET_KEY",
            "PORT",
            "SURREAL_URL",
            "MINIO_ACCESS_KEY",
            "MINIO_BUCKET",
            "LLM_PROVIDER",
            "MAINTENANCE_MODE",
            "ADMIN_IP_ALLOWLIST",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(needle)),
                "{needle} not in {problems:?}"
            );
        }
    }

    #[test]
    fn defaults_follow_data_dir() {
        let s = Settings::from_source(&env(&[
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("DATA_DIR", "/srv/ar"),
        ]))
        .unwrap();
        assert_eq!(s.surreal_url, "surrealkv:///srv/ar/db");
        assert_eq!(s.queue_path, PathBuf::from("/srv/ar/queue"));
        assert_eq!(
            s.artifacts,
            ArtifactsConfig::Fs {
                root: PathBuf::from("/srv/ar/artifacts")
            }
        );
        assert_eq!(s.service_secret, "0123456789abcdef0123456789abcdef");
        assert_eq!((s.host.as_str(), s.port), ("127.0.0.1", 8000));
    }

    #[test]
    fn cidr_matching() {
        let net = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        let one = IpNet::parse("127.0.0.1").unwrap();
        assert!(one.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(IpNet::parse("::1")
            .unwrap()
            .contains("::1".parse().unwrap()));
        assert!(IpNet::parse("nonsense").is_none());
    }
}
