//! `afterresume` binary entry point.

use clap::Parser;

#[tokio::main]
async fn main() {
    let _ = dotenvy::dotenv();
    afterresume::observability::init_logging();
    let cli = afterresume::cli::Cli::parse();
    let code = match afterresume::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
