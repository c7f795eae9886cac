//! `/api/healthz` (liveness) and `/api/readyz` (dependencies).

use std::sync::Arc;
use std::time::{Duration, Instant};

use poem::web::Data;
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::Tag;
use crate::state::{AppState, Probe};

#[derive(Object)]
pub struct Health {
    /// Always `ok` while the process serves requests.
    pub status: String,
}

#[derive(Object)]
pub struct ComponentCheck {
    /// `database`, `queue`, `storage` or `llm`; staff also see what was probed.
    pub name: String,
    pub ok: bool,
    /// Whether a failure makes the whole service unready. The LLM is not critical: the
    /// work log works without it, and AI jobs wait and retry.
    pub critical: bool,
    pub latency_ms: f64,
    /// Why it failed (staff see the error itself, everyone else `unavailable`).
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

    /// Readiness: each dependency is checked (at most every few seconds; callers in
    /// between get the last result). Staff (with a bearer token) see what was probed and
    /// why it failed; everyone else sees only which component is down.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&Arc<AppState>>, req: &Request) -> ReadyResult {
        let probes = probe(&state).await;
        let staff = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .and_then(|t| state.jwt.verify(t).ok())
            .is_some_and(|c| c.staff);
        let checks: Vec<ComponentCheck> = probes.iter().map(|p| p.shown(staff)).collect();
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

impl Probe {
    /// The check as a caller sees it: staff get the probed target and the failure;
    /// everyone else gets the component's name and `unavailable`.
    fn shown(&self, staff: bool) -> ComponentCheck {
        ComponentCheck {
            name: if staff {
                format!("{} ({})", self.name, self.target)
            } else {
                self.name.to_string()
            },
            ok: self.ok,
            critical: self.critical,
            latency_ms: self.latency_ms,
            error: match (&self.error, staff) {
                (Some(e), true) => Some(e.clone()),
                (Some(_), false) => Some("unavailable".into()),
                (None, _) => None,
            },
        }
    }
}

/// How long one probe's result answers later calls: the storage probe writes an object,
/// and an anonymous caller must not be able to make it do so on every request.
const PROBE_TTL: Duration = Duration::from_secs(5);

/// The dependencies' state, probed at most once per [`PROBE_TTL`]; concurrent callers
/// wait for the one probe in flight.
async fn probe(state: &AppState) -> Arc<Vec<Probe>> {
    let mut last = state.readiness.lock().await;
    if let Some((at, probes)) = last.as_ref() {
        if at.elapsed() < PROBE_TTL {
            return probes.clone();
        }
    }
    let timed = |name, target: String, critical, started: Instant, r: Result<(), String>| Probe {
        name,
        target,
        ok: r.is_ok(),
        critical,
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        error: r.err(),
    };
    let started = Instant::now();
    let db = state.store.ping().await.map_err(|e| e.to_string());
    let mut probes = vec![timed("database", "surrealdb".into(), true, started, db)];
    let started = Instant::now();
    let queue = state.jobs.queue().ping().map_err(|e| e.to_string());
    probes.push(timed("queue", "sled".into(), true, started, queue));
    let started = Instant::now();
    let storage = state.artifacts.ping().await.map_err(|e| e.to_string());
    let backend = state.artifacts.backend().to_string();
    probes.push(timed("storage", backend, true, started, storage));
    let started = Instant::now();
    let llm = state.llm.ping().await;
    let target = match &llm {
        Ok(what) => what.to_string(),
        Err(_) => state.llm.provider_name().to_string(),
    };
    let llm = llm.map(|_| ()).map_err(|e| e.to_string());
    // The LLM is not critical: the work log works without it, and AI jobs wait and retry.
    probes.push(timed("llm", target, false, started, llm));
    let probes = Arc::new(probes);
    *last = Some((Instant::now(), probes.clone()));
    probes
}
