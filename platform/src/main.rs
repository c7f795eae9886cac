//! `afterresume` binary entry point.

use clap::Parser;

fn main() {
    // Both ring and aws-lc-rs are in the tree, so rustls can't pick a provider itself.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let _ = dotenvy::dotenv();
    let cli = afterresume::cli::Cli::parse();
    afterresume::observability::init_logging(matches!(
        cli.command,
        afterresume::cli::Command::Serve { .. }
    ));
    // Request handlers that stream uploads through OpenDAL build deep futures; the
    // default 2 MiB worker stacks are too small for them in unoptimised builds.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 * 1024 * 1024)
        .build();
    // Borrowed, not moved: dropping the runtime here would cancel its tasks on threads
    // without a runtime, and the embedded store they hold would log that it could not
    // close cleanly. `exit` ends the process with the runtime still in place.
    let code = match &runtime {
        Ok(rt) => match rt.block_on(afterresume::cli::run(cli)) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                1
            }
        },
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            1
        }
    };
    std::process::exit(code);
}
