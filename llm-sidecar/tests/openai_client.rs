//! The official `openai` Python package against the real binary, unchanged: models,
//! chat, streaming, structured output (incl. `parse` with a pydantic model),
//! completions, embeddings (its default base64 encoding) and error types.
//! Needs `scripts/models.sh` (which installs the package into .venv-tools).

mod common;

use common::{require_models, venv_python, Opts, Sidecar};
use std::process::Command;

#[tokio::test]
async fn the_official_openai_client_works_unchanged() {
    require_models();
    let py = venv_python();
    let sc = Sidecar::start(Opts::default()).await;
    let script = common::repo_root().join("llm-sidecar/tests/support/openai_client_check.py");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(py)
            .arg(script)
            .arg(&sc.url)
            .arg(common::token())
            .output()
            .map(|o| (o, sc))
    })
    .await
    .unwrap()
    .expect("run the openai client check");
    let (out, sc) = out;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("ok"),
        "openai client check failed:\n{stdout}\n{stderr}\nsidecar log:\n{}",
        sc.proc.log()
    );
}
