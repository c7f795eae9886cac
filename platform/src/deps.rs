//! What the use cases (`services`) and the workflows work with: the store, the job
//! queue, the Event timeline, the artifact store, the LLM client, the settings and the
//! caches and counters they share. The HTTP edge's own state (token keys, rate limits,
//! open streams) is `state::AppState`, which holds one of these; nothing here knows it.

use std::sync::Arc;

use crate::artifacts::Artifacts;
use crate::config::Settings;
use crate::jobs::queue::Queue;
use crate::jobs::Jobs;
use crate::observability::events::Events;
use crate::slots::{Reservations, Slots};
use crate::store::Store;

/// Users whose principal is cached at once (least recently used go first).
const PRINCIPAL_CACHE_USERS: usize = 10_000;

/// The dependencies of every use case and workflow.
pub struct Deps {
    pub settings: Settings,
    pub store: Arc<Store>,
    /// The active reward configuration (see `ConfigCache` for its staleness bound).
    pub reward_config: crate::store::gamification::ConfigCache,
    /// Request principals by user (see `principals` for the invalidation rules).
    pub principals: crate::principals::PrincipalCache,
    /// Enqueues jobs (and records them on the timeline).
    pub jobs: Jobs,
    /// The Event timeline writer, with live delivery.
    pub events: Events,
    /// Attachments and generated documents (OpenDAL: fs or S3).
    pub artifacts: Artifacts,
    /// The LLM client (sidecar, vLLM or the offline provider).
    pub llm: crate::llm::LlmClient,
    /// Open event streams per user and per workspace.
    pub streams: Arc<Slots>,
    /// Uploads and imports in progress by user (`UPLOADS_PER_USER`, one import at a time).
    pub uploads: Arc<Slots>,
    /// Attachment bytes reserved by uploads in progress, by tenant: the storage quota
    /// holds under concurrent uploads.
    pub storage: Arc<Reservations>,
}

impl Deps {
    pub fn new(settings: Settings, store: Arc<Store>, queue: Queue) -> anyhow::Result<Arc<Self>> {
        let events = Events::new(store.clone());
        let artifacts = Artifacts::from_config(&settings.artifacts)?;
        let llm = crate::llm::LlmClient::new(&settings, events.clone(), store.clone())?;
        Ok(Arc::new(Self {
            reward_config: crate::store::gamification::ConfigCache::new(),
            principals: crate::principals::PrincipalCache::new(
                PRINCIPAL_CACHE_USERS,
                std::time::Duration::from_secs(settings.principal_cache_ttl_secs),
            ),
            events: events.clone(),
            jobs: Jobs::new(queue, events, settings.jobs.max_attempts)
                .with_member_max_queued(settings.jobs.tenant_max_queued),
            artifacts,
            llm,
            settings,
            store,
            streams: Arc::new(Slots::default()),
            uploads: Arc::new(Slots::default()),
            storage: Arc::new(Reservations::default()),
        }))
    }
}
