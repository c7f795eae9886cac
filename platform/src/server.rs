//! `afterresume serve`: open the store and serve HTTP until SIGINT/SIGTERM.

use std::time::Duration;

use poem::listener::TcpListener;

use crate::config::Settings;
use crate::state::AppState;
use crate::store::Store;

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
    let store = Store::open(&settings.surreal_url, &settings.surreal_namespace).await?;
    let addr = format!("{}:{}", settings.host, settings.port);
    let state = AppState::new(settings, store).await?;
    if state.settings.maintenance_mode {
        tracing::warn!("MAINTENANCE_MODE is on: only health checks and staff are served");
    }
    let app = crate::api::app(state);
    tracing::info!(%addr, "listening on http://{addr}");
    poem::Server::new(TcpListener::bind(addr))
        .run_with_graceful_shutdown(app, shutdown_signal(), Some(Duration::from_secs(10)))
        .await?;
    Ok(())
}
