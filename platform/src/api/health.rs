//! `/api/healthz` (liveness) and `/api/readyz` (dependencies).

use std::sync::Arc;
use std::time::Instant;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::Tag;
use crate::state::AppState;

#[derive(Object)]
pub struct Health {
    /// Always `ok` while the process serves requests.
    pub status: String,
}

#[derive(Object)]
pub struct ComponentCheck {
    pub name: String,
    pub ok: bool,
    /// Whether a failure makes the whole service unready. The LLM is not critical: the
    /// work log works without it, and AI jobs wait and retry.
    pub critical: bool,
    pub latency_ms: f64,
    #[oai(nullable)]
    pub error: Option<String>,
}

#[derive(Object)]
pub struct Readiness {
    /// `ok` or `unavailable`.
    pub status: String,
    pub checks: Vec<ComponentCheck>,
}

#[derive(ApiResponse)]
pub enum ReadyResult {
    /// Every component answered.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// At least one component failed.
    #[oai(status = 503)]
    NotReady(Json<Readiness>),
}

pub struct HealthApi;

#[OpenApi(tag = "Tag::Health")]
impl HealthApi {
    /// Liveness: the process is up.
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> Json<Health> {
        Json(Health {
            status: "ok".into(),
        })
    }

    /// Readiness: each dependency is checked.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&Arc<AppState>>) -> ReadyResult {
        let started = Instant::now();
        let db = state.store.ping().await;
        let mut checks = vec![ComponentCheck {
            name: "database".into(),
            ok: db.is_ok(),
            critical: true,
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            error: db.err().map(|e| e.to_string()),
        }];
        let started = Instant::now();
        let queue = state.jobs.queue().ping();
        checks.push(ComponentCheck {
            name: "queue".into(),
            ok: queue.is_ok(),
            critical: true,
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            error: queue.err().map(|e| e.to_string()),
        });
        let started = Instant::now();
        let storage = state.artifacts.ping().await;
        checks.push(ComponentCheck {
            name: format!("storage ({})", state.artifacts.backend()),
            ok: storage.is_ok(),
            critical: true,
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            error: storage.err().map(|e| e.to_string()),
        });
        let started = Instant::now();
        let llm = state.llm.ping().await;
        checks.push(ComponentCheck {
            name: match &llm {
                Ok(what) => format!("llm: {what}"),
                Err(_) => format!("llm: {}", state.llm.provider_name()),
            },
            ok: llm.is_ok(),
            critical: false,
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            error: llm.err().map(|e| e.to_string()),
        });
        let ok = checks.iter().all(|c| c.ok || !c.critical);
        let body = Readiness {
            status: if ok { "ok" } else { "unavailable" }.into(),
            checks,
        };
        if ok {
            ReadyResult::Ready(Json(body))
        } else {
            ReadyResult::NotReady(Json(body))
        }
    }
}
