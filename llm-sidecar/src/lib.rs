//! `llm-sidecar`: AfterResume's OpenAI-compatible inference server.
//!
//! Routes and the serving policy are in [`api`]; backends in [`backend`]; the
//! continuous-batching engine in [`scheduler`]; the numeric core in the
//! `llm-sidecar-kernels` crate.

pub mod api;
pub mod auth;
pub mod backend;
pub mod config;
pub mod connections;
pub mod embeddings;
pub mod error;
pub mod grammar;
pub mod metrics;
pub mod models;
pub mod openai;
pub mod scheduler;
pub mod template;
pub mod text;
pub mod tokenizer;

use api::AppState;
use config::Settings;
use models::Registry;
use std::sync::{Arc, Mutex};

/// Builds the shared state (no models loaded yet).
pub fn state(settings: Settings) -> anyhow::Result<Arc<AppState>> {
    settings.validate().map_err(anyhow::Error::msg)?;
    let auth_secret = settings.auth_secret().map_err(anyhow::Error::msg)?;
    let admin_secret = settings.admin_auth_secret().map_err(anyhow::Error::msg)?;
    if settings
        .admin_secret
        .as_deref()
        .is_some_and(|s| !s.is_empty())
        && admin_secret == auth_secret
    {
        tracing::warn!(
            "LLM_ADMIN_SECRET equals the service secret: service tokens still open /admin/*"
        );
    }
    let vllm = match settings.vllm_url() {
        Some(url) => Some(backend::vllm::Vllm::new(
            url,
            settings.vllm_api_key.clone(),
        )?),
        None => None,
    };
    Ok(Arc::new(AppState {
        registry: Registry::new(&settings),
        settings,
        vllm,
        auth_secret,
        admin_secret,
        failed_loads: Mutex::new(Vec::new()),
        startup_pending: Mutex::new(Vec::new()),
        connections: Arc::new(connections::Connections::default()),
    }))
}

/// Loads the start-up models one after another (in the background: /readyz answers
/// 503 meanwhile). Which ones: `--load`, else the manifest's `autoload` entries.
pub fn load_startup_models(state: &Arc<AppState>) -> anyhow::Result<()> {
    let manifest = state.registry.manifest()?;
    let names: Vec<String> = match state.settings.load.as_deref().map(str::trim) {
        Some("none") | Some("") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        None => manifest
            .models
            .iter()
            .filter(|m| m.autoload)
            .map(|m| m.name.clone())
            .collect(),
    };
    let mut specs: Vec<models::ModelSpec> = Vec::new();
    for name in names {
        if specs.iter().any(|s| s.name == name) {
            continue;
        }
        match manifest.get(&name) {
            Some(s) => specs.push(s.clone()),
            None => anyhow::bail!(
                "model `{name}` (LLM_LOAD_MODELS) is not in {}",
                state.settings.manifest_path().display()
            ),
        }
    }
    // A configuration that can't be served is an error at start, not a model that
    // quietly fails to load later.
    let max = state.registry.max_loaded_models();
    if specs.len() > max {
        anyhow::bail!(
            "{} models are to load at start-up ({}), more than LLM_MAX_LOADED_MODELS={max}",
            specs.len(),
            specs
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    // Mark them as pending now, so /readyz is 503 from the first request on.
    if let Ok(mut p) = state.startup_pending.lock() {
        p.extend(specs.iter().map(|s| s.name.clone()));
    }
    let st = state.clone();
    let handle = std::thread::Builder::new().name("model-loader".into()).spawn(move || {
        for spec in specs {
            if let Err(e) = st.registry.load(&spec) {
                tracing::error!(model = %spec.name, error = %format!("{e:#}"), "start-up model failed to load");
                if let Ok(mut f) = st.failed_loads.lock() {
                    f.push((spec.name.clone(), format!("{e:#}")));
                }
            }
            if let Ok(mut p) = st.startup_pending.lock() {
                p.retain(|n| n != &spec.name);
            }
        }
    })?;
    drop(handle);
    Ok(())
}
