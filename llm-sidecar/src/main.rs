//! `llm-sidecar` binary: settings, logging, thread pool, then the server.

use clap::Parser;
use llm_sidecar::config::{Cli, Command, ModelsCommand, Settings};
use llm_sidecar::connections::WatchedAcceptor;
use llm_sidecar::models::{resolve_file, sha256_file, Manifest};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::Server;
use std::process::ExitCode;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let pretty = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("pretty"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if pretty {
        builder.init();
    } else {
        builder.json().init();
    }
}

/// Resolves on ctrl-c (and SIGTERM on unix).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let state = llm_sidecar::state(settings.clone())?;
    let acceptor = WatchedAcceptor::new(
        TcpListener::bind((settings.host.clone(), settings.port))
            .into_acceptor()
            .await?,
        state.connections.clone(),
    );
    for addr in acceptor.local_addr() {
        if let Some(addr) = addr.as_socket_addr() {
            tracing::info!(%addr, threads = rayon::current_num_threads(), "llm-sidecar listening");
        }
    }
    llm_sidecar::load_startup_models(&state)?;
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(
            llm_sidecar::api::app(state),
            shutdown_signal(),
            Some(Duration::from_secs(10)),
        )
        .await?;
    Ok(())
}

fn models_command(settings: &Settings, cmd: &ModelsCommand) -> anyhow::Result<bool> {
    let manifest = Manifest::read(&settings.manifest_path())?;
    let mut ok = true;
    for m in &manifest.models {
        let Some(file) = &m.file else {
            println!(
                "{:<28} {:<6} (no file)",
                m.name,
                format!("{:?}", m.backend).to_lowercase()
            );
            continue;
        };
        let path = resolve_file(&settings.models_dir, file)?;
        let state = match (cmd, path.is_file(), &m.sha256) {
            (_, false, _) => {
                ok = false;
                "missing (run scripts/models.sh)".to_string()
            }
            (ModelsCommand::List, true, _) => "present".to_string(),
            (ModelsCommand::Verify, true, None) => "present (no sha256 to check)".to_string(),
            (ModelsCommand::Verify, true, Some(want)) => {
                let got = sha256_file(&path)?;
                if got.eq_ignore_ascii_case(want) {
                    "sha256 ok".to_string()
                } else {
                    ok = false;
                    format!("sha256 MISMATCH: {got}")
                }
            }
        };
        println!("{:<28} {}  {state}", m.name, path.display());
    }
    Ok(ok)
}

fn main() -> ExitCode {
    // Like the platform: a .env in the working directory supplies unset variables.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    init_tracing();
    // reqwest's rustls needs a process-wide crypto provider when several are linked.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

    let settings = cli.settings;
    if let Some(Command::Models { command }) = &cli.command {
        return match models_command(&settings, command) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    if let Err(e) = settings.validate() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    // The global pool serves candle (embeddings); each chat model has its own.
    let threads = settings.compute_threads();
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("compute-{i}"))
        .build_global()
    {
        eprintln!("error: thread pool: {e}");
        return ExitCode::FAILURE;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(serve(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "llm-sidecar failed");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
