//! Test harness: boots the real `afterresume` binary on embedded surrealkv in a temp dir.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// This test package's directory (`tests/`). Read at run time (cargo sets it for every
/// test process): the compile-time value names the clone that built the binary, which
/// is stale when one `CARGO_TARGET_DIR` serves several clones.
pub fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

pub const SECRET: &str = "e2e-secret-key-0123456789abcdef0123456789";
pub const STAFF_EMAIL: &str = "staff@example.test";
pub const PASSWORD: &str = "correct horse battery";

/// Path of a workspace binary next to this test's executable.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe path");
    // target/debug/deps/<test> -> target/debug/<name>
    let dir = exe.parent().and_then(|p| p.parent()).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running server plus its data directory (removed on drop).
pub struct App {
    pub base: String,
    pub port: u16,
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    pub env: Vec<(String, String)>,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A logged-in user.
#[derive(Clone, Debug)]
pub struct Session {
    pub token: String,
    pub user_id: String,
    pub tenant_id: String,
    pub email: String,
    /// The `ar_refresh` cookie value.
    pub refresh: String,
}

/// What a request returned.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    /// Asserts an error response with `status` and the error `code`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "{}",
            self.body
        );
    }
    /// Asserts a refusal of bad input with the status that belongs to its code: 400 for
    /// a request that disagrees with the API document, 422 for one that breaks a rule.
    pub fn assert_refused(&self, what: &str) {
        let pair = (self.status.as_u16(), self.code());
        assert!(
            matches!(
                pair,
                (400, "bad_request" | "invalid_json" | "invalid_parameter")
                    | (422, "validation_failed")
            ),
            "{what}: {pair:?} {}",
            self.body
        );
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    pub fn refresh_cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| {
                let v = c.strip_prefix("ar_refresh=")?;
                Some(v.split(';').next().unwrap_or("").to_string())
            })
    }
}

pub fn base_env(dir: &std::path::Path) -> Vec<(String, String)> {
    vec![
        ("SECRET_KEY".into(), SECRET.into()),
        ("ENVIRONMENT".into(), "development".into()),
        ("DATA_DIR".into(), dir.display().to_string()),
        ("RUST_LOG".into(), "warn".into()),
        ("AUTH_RATE_LIMIT_PER_MINUTE".into(), "10000".into()),
        ("API_RATE_LIMIT_PER_MINUTE".into(), "100000".into()),
    ]
}

/// Runs `afterresume <args>` with `env`; returns (exit code, stdout, stderr).
pub fn cli(env: &[(String, String)], args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin("afterresume"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("run afterresume");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Boots a server with a staff user already created. `extra` overrides env.
pub async fn spawn_app(extra: &[(&str, &str)]) -> App {
    let dir = tempfile::tempdir().unwrap();
    let mut env = base_env(dir.path());
    for (k, v) in extra {
        env.retain(|(ek, _)| ek != k);
        env.push((k.to_string(), v.to_string()));
    }
    let (code, out, err) = cli(
        &env,
        &[
            "admin",
            "create-staff",
            "--email",
            STAFF_EMAIL,
            "--password",
            PASSWORD,
            "--name",
            "Staff",
        ],
    );
    assert_eq!(code, 0, "create-staff failed: {out} {err}");
    let (child, port) = start_server(&env);
    let app = App {
        base: format!("http://127.0.0.1:{port}"),
        port,
        child,
        dir,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
        env,
    };
    app.wait_healthy().await;
    app
}

/// Starts `afterresume serve` on a free port.
fn start_server(env: &[(String, String)]) -> (Child, u16) {
    let port = free_port();
    let child = Command::new(bin("afterresume"))
        .args(["serve", "--port", &port.to_string()])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn afterresume serve");
    (child, port)
}

impl App {
    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self
                .http
                .get(format!("{}/api/healthz", self.base))
                .send()
                .await
            {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "server did not become healthy");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills the server with SIGKILL (no shutdown code runs) and waits for it to die.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the server with SIGTERM (graceful shutdown) and waits for it to exit.
    pub fn terminate(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().ok().and_then(|s| s.code())
    }

    /// Starts the server again on the same data directory (on a new port).
    pub async fn restart(&mut self) {
        let (child, port) = start_server(&self.env);
        self.child = child;
        self.port = port;
        self.base = format!("http://127.0.0.1:{port}");
        self.wait_healthy().await;
    }

    /// Sends a request; `token` as Bearer, `body` as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::read(req.send().await.expect("request")).await
    }

    pub async fn read(r: reqwest::Response) -> Resp {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Resp {
        self.post(
            "/api/auth/token",
            None,
            json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn session_from(&self, r: &Resp, email: &str) -> Session {
        assert!(
            r.status.is_success(),
            "login/signup failed: {} {}",
            r.status,
            r.body
        );
        Session {
            token: r.body["access_token"].as_str().unwrap().to_string(),
            user_id: r.body["user_id"].as_str().unwrap().to_string(),
            tenant_id: r.body["tenant_id"].as_str().unwrap().to_string(),
            email: email.to_string(),
            refresh: r.refresh_cookie().expect("refresh cookie"),
        }
    }

    pub async fn staff(&self) -> Session {
        let r = self.login(STAFF_EMAIL, PASSWORD).await;
        self.session_from(&r, STAFF_EMAIL).await
    }

    /// A passkey from staff that creates a new tenant.
    pub async fn tenant_passkey(&self) -> String {
        let staff = self.staff().await;
        let r = self
            .post("/api/admin/invitations", Some(&staff.token), json!({}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["passkey"].as_str().unwrap().to_string()
    }

    pub async fn signup(&self, passkey: &str, email: &str) -> Resp {
        self.post(
            "/api/auth/signup",
            None,
            json!({"passkey": passkey, "email": email, "password": PASSWORD, "display_name": email.split('@').next().unwrap()}),
        )
        .await
    }

    /// A new tenant with its owner logged in.
    pub async fn new_owner(&self, email: &str) -> Session {
        let pk = self.tenant_passkey().await;
        let r = self.signup(&pk, email).await;
        assert_eq!(r.status, 201, "{}", r.body);
        self.session_from(&r, email).await
    }

    /// Invites `email` into `inviter`'s tenant with `role` and signs them up.
    pub async fn add_member(&self, inviter: &Session, email: &str, role: &str) -> Session {
        let r = self
            .post(
                "/api/invitations",
                Some(&inviter.token),
                json!({"role": role}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let pk = r.body["passkey"].as_str().unwrap().to_string();
        let r = self.signup(&pk, email).await;
        assert_eq!(r.status, 201, "{}", r.body);
        self.session_from(&r, email).await
    }

    /// Creates a work-log entry as `s`; its id.
    pub async fn new_entry(&self, s: &Session, content: &str) -> String {
        let r = self
            .post("/api/worklogs", Some(&s.token), json!({"content": content}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// POST to a cookie endpoint with a same-origin Origin and the CSRF header.
    pub async fn cookie_post(&self, path: &str, refresh: &str) -> Resp {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", format!("ar_refresh={refresh}"))
            .header("origin", self.base.clone())
            .header("x-requested-with", "afterresume")
            .send()
            .await
            .unwrap();
        Self::read(r).await
    }

    /// The staff-visible audit kinds for a user, newest first.
    pub async fn audit_kinds(&self, user_id: &str) -> Vec<String> {
        let staff = self.staff().await;
        let r = self
            .get(
                &format!("/api/admin/audit?user_id={user_id}&limit=200"),
                &staff.token,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    }
}

/// A real S3 server (moto, installed by `scripts/tools.sh`) on a free port, with a bucket.
pub struct S3Server {
    pub endpoint: String,
    pub bucket: String,
    child: Child,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// Starts `moto_server` and creates `bucket`.
    pub async fn start(bucket: &str) -> S3Server {
        let root = package_dir().join("..");
        let exe = root.join(".venv-tools/bin/moto_server");
        assert!(
            exe.exists(),
            "{} is missing: run scripts/tools.sh",
            exe.display()
        );
        let port = free_port();
        let child = Command::new(exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let server = S3Server {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: bucket.to_string(),
            child,
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http
                .put(format!("{}/{bucket}", server.endpoint))
                .send()
                .await
            {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "moto did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    /// The keys in the bucket.
    pub async fn keys(&self) -> Vec<String> {
        let body = reqwest::get(format!("{}/{}?list-type=2", self.endpoint, self.bucket))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        body.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }

    /// Environment for `afterresume` to use this server for artifacts.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("MINIO_ENDPOINT".into(), self.endpoint.clone()),
            ("MINIO_ACCESS_KEY".into(), "test".into()),
            ("MINIO_SECRET_KEY".into(), "test".into()),
            ("MINIO_BUCKET".into(), self.bucket.clone()),
        ]
    }
}

/// The real `llm-sidecar` binary on a free port, serving the repository's models
/// (installed by `scripts/models.sh`) with the same service secret as [`spawn_app`].
pub struct SidecarServer {
    pub url: String,
    child: Child,
    _cwd: tempfile::TempDir,
}

impl Drop for SidecarServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SidecarServer {
    /// Starts the sidecar and waits until its models are loaded (`/readyz`).
    pub async fn start() -> SidecarServer {
        let models = package_dir().join("../models");
        assert!(
            models.join("models.toml").exists(),
            "{} has no models.toml",
            models.display()
        );
        let cwd = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(bin("llm-sidecar"))
            // A scratch working directory: no developer .env is picked up.
            .current_dir(cwd.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("LLM_MODELS_DIR", &models)
            .env("SERVICE_TO_SERVICE_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start llm-sidecar");
        let server = SidecarServer {
            url: format!("http://127.0.0.1:{port}"),
            child,
            _cwd: cwd,
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if let Ok(r) = http.get(format!("{}/readyz", server.url)).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "llm-sidecar did not become ready (are the weights in models/? run scripts/models.sh)"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        server
    }
}

/// Waits up to `limit` for the job at `job_url` to succeed and returns it; panics when
/// it fails, is cancelled or takes longer.
pub async fn job_finished(app: &App, token: &str, job_url: &str, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let r = app.get(job_url, token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        match r.body["status"].as_str() {
            Some("succeeded") => return r.body,
            Some("failed") | Some("cancelled") => panic!("job ended badly: {}", r.body),
            _ => {}
        }
        assert!(Instant::now() < deadline, "job never finished: {}", r.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// POSTs to an endpoint that starts a job; asserts the `202` and returns the body.
pub async fn start_job(app: &App, token: &str, path: &str, body: Value) -> Value {
    let r = app.post(path, Some(token), body).await;
    assert_eq!(r.status, 202, "{path}: {}", r.body);
    r.body
}
