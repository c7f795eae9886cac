//! Settings: command-line flags, each with an environment variable (`.env` is read
//! first, as the platform does). Flags win over the environment.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// OpenAI-compatible inference server for AfterResume.
#[derive(Debug, Parser)]
#[command(name = "llm-sidecar", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Model files.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List the models of the manifest and whether their files are present.
    List,
    /// Check every present model file against its sha256 in the manifest.
    Verify,
}

/// How `backend = "candle"` models of the manifest are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendMode {
    /// As the manifest says.
    Manifest,
    /// Every model by the deterministic fake backend; no weights are read. For tests
    /// of the platform.
    Fake,
}

#[derive(Debug, Clone, Parser)]
pub struct Settings {
    /// Address to bind.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to bind (0 picks a free port).
    #[arg(long, env = "PORT", default_value_t = 8081)]
    pub port: u16,
    /// Directory of the model files.
    #[arg(long, env = "LLM_MODELS_DIR", default_value = "models")]
    pub models_dir: PathBuf,
    /// Model manifest (default: `<models-dir>/models.toml`).
    #[arg(long, env = "LLM_MODELS_MANIFEST")]
    pub manifest: Option<PathBuf>,
    /// Models to load at start-up, comma-separated, or `none` (default: the manifest's
    /// `autoload` entries).
    #[arg(long, env = "LLM_LOAD_MODELS")]
    pub load: Option<String>,
    /// `manifest` or `fake` (serve every model with the deterministic fake backend).
    #[arg(long, env = "LLM_SIDECAR_BACKEND", value_enum, default_value_t = BackendMode::Manifest)]
    pub backend: BackendMode,
    /// Base URL of an OpenAI-compatible server (vLLM) to fall back to.
    #[arg(long, env = "LLM_VLLM_ENDPOINT")]
    pub vllm_endpoint: Option<String>,
    /// Bearer token for the vLLM server, if it requires one.
    #[arg(long, env = "LLM_VLLM_API_KEY", hide_env_values = true)]
    pub vllm_api_key: Option<String>,
    /// Compute threads (default: every core).
    #[arg(long, env = "LLM_THREADS")]
    pub threads: Option<usize>,
    /// Sequences decoded together in one batch, per model.
    #[arg(long, env = "LLM_MAX_BATCH", default_value_t = 8)]
    pub max_batch: usize,
    /// Requests that may wait for a batch slot, per model; beyond it requests fall back
    /// to vLLM or get 503 with Retry-After.
    #[arg(long, env = "LLM_QUEUE_CAPACITY", default_value_t = 32)]
    pub queue_capacity: usize,
    /// Prompt tokens processed per step (chunked prefill keeps other streams flowing).
    #[arg(long, env = "LLM_PREFILL_CHUNK", default_value_t = 256)]
    pub prefill_chunk: usize,
    /// Deadline of a request in seconds; a request may ask for less with the
    /// `X-Request-Timeout` header.
    #[arg(long, env = "LLM_REQUEST_TIMEOUT_SECS", default_value_t = 300.0)]
    pub request_timeout_secs: f64,
    /// `max_tokens` when a request gives none.
    #[arg(long, env = "LLM_DEFAULT_MAX_TOKENS", default_value_t = 1024)]
    pub default_max_tokens: u32,
    /// Check each model file's sha256 against the manifest before loading it. A file
    /// named by a load request (a model outside the manifest, or a `file` override)
    /// must then be pinned by a sha256, or the load is refused.
    #[arg(long, env = "LLM_VERIFY_SHA256", default_value_t = true, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub verify_sha256: bool,
    /// Largest `context_length` a model may have (manifest or load request). It sizes
    /// how far each sequence's KV cache may grow, so it bounds the memory one admin
    /// request can commit the sidecar to.
    #[arg(long, env = "LLM_MAX_CONTEXT_LENGTH", default_value_t = 32768)]
    pub max_context_length: usize,
    /// Most models loaded at once, counting those being loaded; a load beyond it is
    /// refused (409) until one is unloaded. Reloading a loaded model doesn't count.
    #[arg(long, env = "LLM_MAX_LOADED_MODELS", default_value_t = 4)]
    pub max_loaded_models: usize,
    /// HMAC secret of X-Service-Token (falls back to SECRET_KEY).
    #[arg(long, env = "SERVICE_TO_SERVICE_SECRET", hide_env_values = true)]
    pub service_secret: Option<String>,
    #[arg(long, env = "SECRET_KEY", hide_env_values = true, hide = true)]
    pub secret_key: Option<String>,
    /// HMAC secret of X-Service-Token on /admin/* (falls back to the service secret).
    /// When set, service tokens no longer open the admin routes, and the admin routes
    /// stay closed even with SKIP_SERVICE_AUTH.
    #[arg(long, env = "LLM_ADMIN_SECRET", hide_env_values = true)]
    pub admin_secret: Option<String>,
    /// Accept requests without X-Service-Token.
    #[arg(long, env = "SKIP_SERVICE_AUTH", default_value_t = false, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub skip_service_auth: bool,
}

impl Settings {
    pub fn manifest_path(&self) -> PathBuf {
        self.manifest
            .clone()
            .unwrap_or_else(|| self.models_dir.join("models.toml"))
    }

    /// The secret service tokens are checked with; `None` only with SKIP_SERVICE_AUTH.
    pub fn auth_secret(&self) -> Result<Option<String>, String> {
        if self.skip_service_auth {
            return Ok(None);
        }
        let secret = self
            .service_secret
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| self.secret_key.clone().filter(|s| !s.is_empty()));
        match secret {
            Some(s) => Ok(Some(s)),
            None => Err(
                "set SERVICE_TO_SERVICE_SECRET (or SECRET_KEY) so callers can be \
                         authenticated, or SKIP_SERVICE_AUTH=true to accept any caller"
                    .into(),
            ),
        }
    }

    /// The secret tokens on /admin/* are checked with: LLM_ADMIN_SECRET, else the
    /// service secret; `None` only with SKIP_SERVICE_AUTH and no LLM_ADMIN_SECRET. An
    /// admin secret set explicitly is enforced even under SKIP_SERVICE_AUTH: skipping
    /// service auth is a development convenience, and silently ignoring a secret the
    /// operator configured would leave model loading open without anyone noticing.
    pub fn admin_auth_secret(&self) -> Result<Option<String>, String> {
        match self.admin_secret.clone().filter(|s| !s.is_empty()) {
            Some(s) => Ok(Some(s)),
            None => self.auth_secret(),
        }
    }

    /// Compute threads: `--threads`, else every core.
    pub fn compute_threads(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// The vLLM base URL without a trailing slash (an empty value means none).
    pub fn vllm_url(&self) -> Option<&str> {
        self.vllm_endpoint
            .as_deref()
            .map(|u| u.trim().trim_end_matches('/'))
            .filter(|u| !u.is_empty())
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.request_timeout_secs.clamp(0.001, 86_400.0))
    }

    /// Checks values clap can't.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_batch == 0 {
            return Err("LLM_MAX_BATCH must be at least 1".into());
        }
        if self.queue_capacity == 0 {
            return Err("LLM_QUEUE_CAPACITY must be at least 1".into());
        }
        if self.prefill_chunk == 0 {
            return Err("LLM_PREFILL_CHUNK must be at least 1".into());
        }
        if self.threads == Some(0) {
            return Err("LLM_THREADS must be at least 1".into());
        }
        if self.max_context_length == 0 {
            return Err("LLM_MAX_CONTEXT_LENGTH must be at least 1".into());
        }
        if self.max_loaded_models == 0 {
            return Err("LLM_MAX_LOADED_MODELS must be at least 1".into());
        }
        if self.request_timeout_secs.is_nan() || self.request_timeout_secs <= 0.0 {
            return Err("LLM_REQUEST_TIMEOUT_SECS must be positive".into());
        }
        if let Some(url) = self.vllm_url() {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!(
                    "LLM_VLLM_ENDPOINT `{url}` must start with http:// or https://"
                ));
            }
        }
        self.auth_secret()?;
        self.admin_auth_secret().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &[&str]) -> Settings {
        Settings::parse_from(std::iter::once("llm-sidecar").chain(args.iter().copied()))
    }

    #[test]
    fn the_admin_secret_falls_back_to_the_service_secret() {
        let s = settings(&["--service-secret", "svc"]);
        assert_eq!(s.admin_auth_secret().unwrap().as_deref(), Some("svc"));
        let s = settings(&["--service-secret", "svc", "--admin-secret", "adm"]);
        assert_eq!(s.auth_secret().unwrap().as_deref(), Some("svc"));
        assert_eq!(s.admin_auth_secret().unwrap().as_deref(), Some("adm"));
        // An empty value is unset, as for the service secret.
        let s = settings(&["--service-secret", "svc", "--admin-secret", ""]);
        assert_eq!(s.admin_auth_secret().unwrap().as_deref(), Some("svc"));
        // SKIP_SERVICE_AUTH opens the service routes, not an admin secret's routes.
        let s = settings(&["--skip-service-auth", "true", "--admin-secret", "adm"]);
        assert_eq!(s.auth_secret().unwrap(), None);
        assert_eq!(s.admin_auth_secret().unwrap().as_deref(), Some("adm"));
        let s = settings(&["--skip-service-auth", "true"]);
        assert_eq!(s.admin_auth_secret().unwrap(), None);
    }

    #[test]
    fn the_limits_must_be_positive() {
        let ok = ["--service-secret", "svc"];
        assert!(settings(&ok).validate().is_ok());
        assert_eq!(
            (
                settings(&ok).max_context_length,
                settings(&ok).max_loaded_models
            ),
            (32768, 4)
        );
        let s = settings(&["--service-secret", "svc", "--max-context-length", "0"]);
        assert!(s.validate().unwrap_err().contains("LLM_MAX_CONTEXT_LENGTH"));
        let s = settings(&["--service-secret", "svc", "--max-loaded-models", "0"]);
        assert!(s.validate().unwrap_err().contains("LLM_MAX_LOADED_MODELS"));
    }
}
