//! `afterresume serve`: open the store and the queue, start the job runner, and serve
//! HTTP until SIGINT/SIGTERM; then drain the runner gracefully.

use std::sync::Arc;
use std::time::Duration;

use poem::listener::TcpListener;

use crate::config::Settings;
use crate::jobs::queue::{Queue, QueueConfig};
use crate::jobs::runner::{self, RunnerConfig};
use crate::jobs::schedule::Scheduler;
use crate::state::AppState;
use crate::store::Store;
use crate::workflows::{Engine, Registry};

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown requested");
}

/// Runs the server.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let store = Store::open_with(
        &settings.surreal_url,
        &settings.surreal_namespace,
        settings.worklog_page_cache_bytes,
        settings.search_index_bytes,
    )
    .await?;
    let queue = Queue::open(
        &settings.queue_path,
        QueueConfig::from_settings(&settings.jobs),
    )?;
    let scheduler = Scheduler::new(queue.clone())?;
    let now = crate::jobs::queue::now_ms();
    for spec in crate::workflows::schedules() {
        scheduler.ensure(&spec, now)?;
    }
    let addr = format!("{}:{}", settings.host, settings.port);
    let runner_config = RunnerConfig::from_settings(&settings.jobs);
    let metrics_bind = settings.metrics_bind.clone();
    let state = AppState::new(settings, store, queue.clone()).await?;
    if state.settings.maintenance_mode {
        tracing::warn!("MAINTENANCE_MODE is on: only health checks and staff are served");
    }
    // Rate-limit keys of clients that went quiet are dropped, so a client rotating its
    // address (or e-mail) cannot grow the limiters' maps without bound.
    let limits = Arc::downgrade(&state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            match limits.upgrade() {
                Some(state) => state.limits.prune(),
                None => break,
            }
        }
    });
    let engine = Arc::new(Engine::new(Registry::builtin(), state.deps.clone()));
    let runner = runner::start(
        queue.clone(),
        engine,
        state.events.clone(),
        Some(scheduler),
        runner_config,
    );
    if let Some(bind) = metrics_bind {
        let q = queue.clone();
        tokio::spawn(async move {
            tracing::info!(%bind, "metrics on http://{bind}/metrics");
            if let Err(e) = poem::Server::new(TcpListener::bind(bind))
                .run(crate::api::system::metrics_endpoint(q))
                .await
            {
                tracing::error!(error = %e, "metrics listener failed");
            }
        });
    }
    let app = crate::api::app(state);
    tracing::info!(%addr, "listening on http://{addr}");
    let served = poem::Server::new(TcpListener::bind(addr))
        .run_with_graceful_shutdown(app, shutdown_signal(), Some(Duration::from_secs(10)))
        .await;
    runner.shutdown().await;
    served?;
    Ok(())
}
