//! Test helpers: start the real `llm-sidecar` binary (and llama.cpp's server as the
//! vLLM stand-in) on free ports, and talk to them over HTTP with service tokens.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const SECRET: &str = "test-service-secret";
pub const CHAT_MODEL: &str = "smollm2-135m-instruct";
pub const EMBED_MODEL: &str = "all-minilm-l6-v2";

/// The repository root. `CARGO_MANIFEST_DIR` is read at run time (cargo sets it for
/// every test process): the compile-time value names the clone that built the binary,
/// which is stale when one `CARGO_TARGET_DIR` serves several clones.
pub fn repo_root() -> PathBuf {
    Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("..")
}

pub fn models_dir() -> PathBuf {
    repo_root().join("models")
}

/// Fails with the fix when the weights or tools aren't installed.
pub fn require_models() {
    for f in [
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "all-minilm-l6-v2/model.safetensors",
    ] {
        assert!(
            models_dir().join(f).is_file(),
            "models/{f} is missing: run scripts/models.sh first"
        );
    }
}

pub fn venv_python() -> PathBuf {
    let py = repo_root().join(".venv-tools/bin/python");
    assert!(
        py.is_file(),
        ".venv-tools/bin/python is missing: run scripts/models.sh first"
    );
    py
}

pub fn gguf_path() -> PathBuf {
    models_dir().join("SmolLM2-135M-Instruct.Q4_1.gguf")
}

pub fn token() -> String {
    token_for(SECRET)
}

/// A fresh token signed with `secret`.
pub fn token_for(secret: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    llm_sidecar::auth::sign(secret, now)
}

/// A child process killed on drop, its output kept for failure messages.
pub struct Proc {
    child: Child,
    pub log: Arc<Mutex<String>>,
}

impl Proc {
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn drain(
    child: &mut Child,
    log: &Arc<Mutex<String>>,
    found: Option<std::sync::mpsc::Sender<String>>,
) {
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let log2 = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            log2.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
    let log = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(tx) = &found {
                if line.contains("llm-sidecar listening") {
                    let _ = tx.send(line.clone());
                }
            }
            log.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
}

/// A running sidecar.
pub struct Sidecar {
    pub proc: Proc,
    pub url: String,
    pub http: reqwest::Client,
    _cwd: tempfile::TempDir,
}

/// Options for [`Sidecar::start`].
pub struct Opts<'a> {
    pub env: Vec<(&'a str, String)>,
    /// Wait for /readyz (false: only for the listener).
    pub wait_ready: bool,
}

impl Default for Opts<'_> {
    fn default() -> Self {
        Self {
            env: Vec::new(),
            wait_ready: true,
        }
    }
}

impl Sidecar {
    /// Starts the binary on a free port with the repository's models directory and
    /// service-token auth (secret [`SECRET`]), plus `opts.env`.
    pub async fn start(opts: Opts<'_>) -> Sidecar {
        let cwd = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_llm-sidecar"));
        // A scratch working directory: no developer .env is picked up.
        cmd.current_dir(cwd.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("LLM_MODELS_DIR", models_dir())
            .env("SERVICE_TO_SERVICE_SECRET", SECRET)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start llm-sidecar");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        drain(&mut child, &log, Some(tx));
        let proc = Proc { child, log };
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("llm-sidecar did not start:\n{}", proc.log()));
        let v: Value = serde_json::from_str(&line).unwrap();
        let addr = v["fields"]["addr"].as_str().unwrap().to_string();
        let sc = Sidecar {
            proc,
            url: format!("http://{addr}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(300))
                .build()
                .unwrap(),
            _cwd: cwd,
        };
        if opts.wait_ready {
            sc.wait_ready().await;
        }
        sc
    }

    pub async fn wait_ready(&self) {
        let t0 = Instant::now();
        loop {
            if let Ok(r) = self.http.get(format!("{}/readyz", self.url)).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(
                t0.elapsed() < Duration::from_secs(180),
                "llm-sidecar not ready:\n{}",
                self.proc.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.url))
            .header("x-service-token", token())
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.url))
            .header("x-service-token", token())
    }

    /// POSTs JSON; returns status, headers and JSON body.
    pub async fn post_json(
        &self,
        path: &str,
        body: &Value,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let r = self.post(path).json(body).send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let v =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        (status, headers, v)
    }

    /// GET (`body` None) or POST JSON with the given token (None: no header); returns
    /// status and JSON body.
    pub async fn call_with(
        &self,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.url);
        let mut req = match body {
            Some(b) => self.http.post(url).json(b),
            None => self.http.get(url),
        };
        if let Some(t) = token {
            req = req.header("x-service-token", t);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let v =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        (status, v)
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let r = self.get(path).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    /// A streamed request's `data:` payloads, `[DONE]` included.
    pub async fn stream(
        &self,
        path: &str,
        body: &Value,
    ) -> (u16, reqwest::header::HeaderMap, Vec<String>) {
        let r = self.post(path).json(body).send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let events = text
            .split("\n\n")
            .filter_map(|e| e.trim().strip_prefix("data: ").map(str::to_string))
            .collect();
        (status, headers, events)
    }

    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

/// The value of a metric line `name{labels} value` whose labels contain `filter`.
pub fn metric(text: &str, name: &str, filter: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(filter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Concatenated `delta.content` (chat) or `text` (completions) of stream events.
pub fn stream_text(events: &[String]) -> String {
    events
        .iter()
        .filter(|e| *e != "[DONE]")
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|v| {
            let c = &v["choices"][0];
            c["delta"]["content"]
                .as_str()
                .or_else(|| c["text"].as_str())
                .map(str::to_string)
        })
        .collect()
}

/// llama.cpp's OpenAI-compatible server (PyPI xllamacpp) serving the same GGUF as
/// `alias`, standing in for vLLM.
pub struct LlamaCpp {
    pub proc: Proc,
    pub url: String,
}

impl LlamaCpp {
    pub async fn start(alias: &str, threads: usize, parallel: usize) -> LlamaCpp {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut child = Command::new(venv_python())
            .arg(repo_root().join("llm-sidecar/tests/support/xllamacpp_server.py"))
            .args(["--model", gguf_path().to_str().unwrap()])
            .args(["--port", &port.to_string(), "--alias", alias])
            .args([
                "--threads",
                &threads.to_string(),
                "--parallel",
                &parallel.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start xllamacpp (run scripts/models.sh)");
        let log = Arc::new(Mutex::new(String::new()));
        drain(&mut child, &log, None);
        let lc = LlamaCpp {
            proc: Proc { child, log },
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let t0 = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{}/health", lc.url)).send().await {
                if r.status() == 200 {
                    break;
                }
            }
            assert!(
                t0.elapsed() < Duration::from_secs(120),
                "xllamacpp did not start:\n{}",
                lc.proc.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        lc
    }
}
