//! A bounded mixed workload through the real binary: a few dozen concurrent clients
//! (owner, admin, member and read-only reader of one workspace, owner and member of a
//! second workspace whose entries have no tags) list, search, filter, get, create and
//! patch entries and read the tag facets, the gamification summary and the status bar
//! for `MIXED_WORKLOAD_SECS` seconds (30 by default).
//!
//! It asserts that no response is a 5xx, that no request failed at the transport
//! level, that every status is one the operation allows, and that every acknowledged
//! write reads back at its last acknowledged version, both while the load runs (a
//! client reads its own writes) and afterwards (each entry, the full list and the tag
//! facets). It is a correctness test, not a benchmark: the rate it prints is
//! informational only.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{spawn_app, App, Session};
use reqwest::Method;
use serde_json::{json, Value};

/// Concurrent clients.
const CLIENTS: usize = 32;
/// Seconds of load unless `MIXED_WORKLOAD_SECS` says otherwise.
const DEFAULT_SECS: u64 = 30;
/// Entries of workspace A that owner and admin clients all edit (contended writes).
const HOT_ENTRIES: usize = 4;
/// Sample problems kept for the failure message.
const MAX_NOTES: usize = 12;

const TAGS: &[&str] = &["rust", "backend", "deploy", "review", "oncall", "docs"];
const WORDS: &[&str] = &[
    "deployed",
    "reviewed",
    "migrated",
    "importer",
    "billing",
    "latency",
    "runbook",
    "dashboard",
    "invoice",
    "cache",
    "search",
    "release",
];
/// Search terms: stems of the words above, and one that matches nothing.
const QUERIES: &[&str] = &[
    "deploying",
    "review",
    "importer",
    "billing",
    "latency",
    "runbook",
    "cache",
    "release",
    "zzzunmatched",
];

/// xorshift64*: deterministic per client, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    OwnerA,
    AdminA,
    MemberA,
    ReaderA,
    OwnerB,
    MemberB,
}

impl Role {
    fn workspace(self) -> usize {
        match self {
            Role::OwnerB | Role::MemberB => 1,
            _ => 0,
        }
    }
    fn writes(self) -> bool {
        self != Role::ReaderA
    }
    /// Owners and admins may edit anyone's entries: they contend on the hot entries.
    fn edits_hot(self) -> bool {
        matches!(self, Role::OwnerA | Role::AdminA)
    }
    /// Workspace B logs entries without tags.
    fn tagless(self) -> bool {
        self.workspace() == 1
    }
}

/// Who each client is: of every 16, 12 in workspace A (3 owner, 3 admin, 4 member, 2
/// read-only) and 4 in workspace B (3 owner, 1 member).
fn role_of(client: usize) -> Role {
    match client % 16 {
        0..=2 => Role::OwnerA,
        3..=5 => Role::AdminA,
        6..=9 => Role::MemberA,
        10..=11 => Role::ReaderA,
        12..=14 => Role::OwnerB,
        _ => Role::MemberB,
    }
}

#[derive(Clone, Copy, Debug)]
enum Op {
    List,
    Search,
    Filter,
    Get,
    CrossGet,
    Create,
    Patch,
    StalePatch,
    HotPatch,
    Tags,
    Summary,
    StatusBar,
}

/// The operations of a role with their weights; writes first (the first round goes
/// through them in this order, so a patch finds an entry and a stale patch a version).
fn mix(role: Role) -> Vec<(Op, usize)> {
    let mut m = Vec::new();
    if role.writes() {
        m.extend([(Op::Create, 10), (Op::Patch, 14), (Op::StalePatch, 3)]);
    }
    if role.edits_hot() {
        m.push((Op::HotPatch, 6));
    }
    if role.workspace() == 1 {
        m.push((Op::CrossGet, 3));
    }
    m.extend([
        (Op::List, 10),
        (Op::Search, 10),
        (Op::Filter, 10),
        (Op::Get, 14),
        (Op::Tags, 8),
        (Op::Summary, 5),
        (Op::StatusBar, 5),
    ]);
    m
}

/// The newest acknowledged state of an entry.
#[derive(Clone, Debug)]
struct Acked {
    workspace: usize,
    version: u64,
    content: String,
    tags: Vec<String>,
}

struct Shared {
    /// Every entry some client got a 2xx for, at its highest acknowledged version.
    acked: Mutex<HashMap<String, Acked>>,
    hot: Vec<String>,
}

#[derive(Default)]
struct Stats {
    total: u64,
    kinds: BTreeMap<&'static str, u64>,
    statuses: BTreeMap<u16, u64>,
    server_errors: u64,
    transport_errors: u64,
    unexpected: u64,
    violations: u64,
    notes: Vec<String>,
}

impl Stats {
    fn note(&mut self, what: String) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(what);
        }
    }
    fn merge(&mut self, o: Stats) {
        self.total += o.total;
        for (k, n) in o.kinds {
            *self.kinds.entry(k).or_default() += n;
        }
        for (k, n) in o.statuses {
            *self.statuses.entry(k).or_default() += n;
        }
        self.server_errors += o.server_errors;
        self.transport_errors += o.transport_errors;
        self.unexpected += o.unexpected;
        self.violations += o.violations;
        // 5xx and transport errors first: they are what the test is about.
        for n in o.notes {
            self.note(n);
        }
    }
    fn kind(&self, k: &str) -> u64 {
        self.kinds.get(k).copied().unwrap_or(0)
    }
}

struct Client {
    idx: usize,
    role: Role,
    token: String,
    http: reqwest::Client,
    base: String,
    rng: Rng,
    shared: Arc<Shared>,
    stats: Stats,
    /// This client's own entries: id -> (last acknowledged version, content).
    mine: HashMap<String, (u64, String)>,
    own: Vec<String>,
    /// Entry ids seen in list answers.
    seen: Vec<String>,
    seq: u64,
    today: chrono::NaiveDate,
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 600 {
        format!("{}…", s.chars().take(600).collect::<String>())
    } else {
        s
    }
}

impl Client {
    /// Sends one request and books its outcome; `None` on a transport error.
    async fn req(
        &mut self,
        kind: &'static str,
        method: Method,
        path: &str,
        body: Option<Value>,
        allowed: &[u16],
    ) -> Option<(u16, Value)> {
        self.stats.total += 1;
        *self.stats.kinds.entry(kind).or_default() += 1;
        let mut rb = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = &body {
            rb = rb.json(b);
        }
        let sent = body.as_ref().map(short).unwrap_or_default();
        let text = match rb.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                match r.text().await {
                    Ok(t) => Ok((status, t)),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        let (status, text) = match text {
            Ok(x) => x,
            Err(e) => {
                self.stats.transport_errors += 1;
                self.stats
                    .note(format!("transport [{kind}] {method} {path} {sent}: {e}"));
                return None;
            }
        };
        *self.stats.statuses.entry(status).or_default() += 1;
        let resp: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status >= 500 {
            self.stats.server_errors += 1;
            self.stats.note(format!(
                "5xx [{kind}] {method} {path} {sent} -> {status} {}",
                short(&resp)
            ));
        } else if !allowed.contains(&status) {
            self.stats.unexpected += 1;
            self.stats.note(format!(
                "unexpected [{kind}] {method} {path} {sent} -> {status} {}",
                short(&resp)
            ));
        }
        Some((status, resp))
    }

    fn violation(&mut self, what: String) {
        self.stats.violations += 1;
        self.stats
            .note(format!("violation (client {}): {what}", self.idx));
    }

    fn content(&mut self, what: &str) -> String {
        self.seq += 1;
        let a = *self.rng.pick(WORDS);
        let b = *self.rng.pick(WORDS);
        format!(
            "{a} the {b} {what}: client {} write {} (mw{}x{})",
            self.idx, self.seq, self.idx, self.seq
        )
    }

    fn tags(&mut self) -> Vec<&'static str> {
        if self.role.tagless() {
            return vec![];
        }
        let n = self.rng.below(4);
        let mut t: Vec<&'static str> = Vec::new();
        while t.len() < n {
            let tag = *self.rng.pick(TAGS);
            if !t.contains(&tag) {
                t.push(tag);
            }
        }
        t
    }

    fn date(&mut self, max_back: u64) -> chrono::NaiveDate {
        self.today - chrono::Days::new(2 + self.rng.below(max_back as usize) as u64)
    }

    /// Books an acknowledged write; two writes acknowledged at the same version of one
    /// entry are a lost update.
    fn ack(&mut self, body: &Value, what: &str) -> Option<(String, u64)> {
        let (Some(id), Some(version), Some(content)) = (
            body["id"].as_str(),
            body["version"].as_u64(),
            body["content"].as_str(),
        ) else {
            self.violation(format!("{what} answer lacks id/version/content: {body}"));
            return None;
        };
        let tags = body["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let new = Acked {
            workspace: self.role.workspace(),
            version,
            content: content.to_string(),
            tags,
        };
        let clash = {
            let mut acked = self.shared.acked.lock().unwrap();
            match acked.get_mut(id) {
                None => {
                    acked.insert(id.to_string(), new);
                    false
                }
                Some(old) if old.version == version => true,
                Some(old) => {
                    if version > old.version {
                        *old = new;
                    }
                    false
                }
            }
        };
        if clash {
            self.violation(format!(
                "lost update: a second {what} of {id} was acknowledged at version {version}"
            ));
        }
        Some((id.to_string(), version))
    }

    fn remember(&mut self, items: &Value) {
        for e in items.as_array().into_iter().flatten() {
            if let Some(id) = e["id"].as_str() {
                if self.seen.len() < 256 {
                    self.seen.push(id.to_string());
                } else {
                    let i = self.rng.below(self.seen.len());
                    self.seen[i] = id.to_string();
                }
            }
        }
    }

    async fn run(mut self, deadline: Instant) -> Stats {
        let mix = mix(self.role);
        let weight: usize = mix.iter().map(|(_, w)| w).sum();
        // One round of every operation first, however short the run: no kind of work
        // is left out. Then a weighted pseudo-random pick until the deadline.
        let mut round = mix.iter().map(|(o, _)| *o);
        loop {
            let op = match round.next() {
                Some(op) => op,
                None if Instant::now() >= deadline => break,
                None => {
                    let mut r = self.rng.below(weight);
                    let mut op = mix[0].0;
                    for (o, w) in &mix {
                        if r < *w {
                            op = *o;
                            break;
                        }
                        r -= w;
                    }
                    op
                }
            };
            match op {
                Op::List => self.list().await,
                Op::Search => self.search().await,
                Op::Filter => self.filter().await,
                Op::Get => self.get().await,
                Op::CrossGet => self.cross_get().await,
                Op::Create => self.create().await,
                Op::Patch => self.patch().await,
                Op::StalePatch => self.stale_patch().await,
                Op::HotPatch => self.hot_patch().await,
                Op::Tags => self.tag_facets().await,
                Op::Summary => {
                    self.req(
                        "summary",
                        Method::GET,
                        "/api/gamification/summary",
                        None,
                        &[200],
                    )
                    .await;
                }
                Op::StatusBar => {
                    self.req("status_bar", Method::GET, "/api/status/bar", None, &[200])
                        .await;
                }
            }
        }
        self.stats
    }

    async fn list(&mut self) {
        let limit = *self.rng.pick(&[10, 20, 50]);
        let path = format!("/api/worklogs?limit={limit}");
        if let Some((200, b)) = self.req("list", Method::GET, &path, None, &[200]).await {
            self.remember(&b["items"]);
        }
    }

    async fn search(&mut self) {
        let q = *self.rng.pick(QUERIES);
        let path = format!("/api/worklogs?q={q}&limit=20");
        if let Some((200, b)) = self.req("search", Method::GET, &path, None, &[200]).await {
            if q == "zzzunmatched" && b["items"].as_array().is_some_and(|a| !a.is_empty()) {
                self.violation(format!("{path} found entries: {}", short(&b)));
            }
            self.remember(&b["items"]);
        }
    }

    async fn filter(&mut self) {
        let tag = *self.rng.pick(TAGS);
        let to = self.date(40);
        let from = to - chrono::Days::new(self.rng.below(20) as u64);
        let (path, by_tag, by_date) = match self.rng.below(3) {
            0 => (format!("/api/worklogs?tag={tag}&limit=50"), true, false),
            1 => (
                format!("/api/worklogs?from={from}&to={to}&limit=50"),
                false,
                true,
            ),
            _ => (
                format!("/api/worklogs?tag={tag}&from={from}&to={to}&limit=50"),
                true,
                true,
            ),
        };
        let Some((200, b)) = self.req("filter", Method::GET, &path, None, &[200]).await else {
            return;
        };
        let items = b["items"].as_array().cloned().unwrap_or_default();
        if by_tag && self.role.tagless() && !items.is_empty() {
            self.violation(format!("{path} matched tag-less entries: {}", short(&b)));
        }
        for e in &items {
            let has_tag = e["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == tag));
            let date = e["date"]
                .as_str()
                .and_then(|d| d.parse::<chrono::NaiveDate>().ok());
            let in_range = date.is_some_and(|d| from <= d && d <= to);
            if (by_tag && !has_tag) || (by_date && !in_range) {
                self.violation(format!("{path} returned a non-matching entry: {e}"));
                break;
            }
        }
        self.remember(&b["items"]);
    }

    async fn get(&mut self) {
        if !self.own.is_empty() && self.rng.chance(70) {
            // Read-your-writes: this client alone writes its entries.
            let id = self.rng.pick(&self.own).clone();
            let (v, c) = self.mine[&id].clone();
            let path = format!("/api/worklogs/{id}");
            if let Some((200, b)) = self.req("get", Method::GET, &path, None, &[200]).await {
                if b["version"].as_u64() != Some(v) || b["content"].as_str() != Some(&c) {
                    self.violation(format!(
                        "GET {path} after an acknowledged write at version {v} ({c:?}) read {} {:?}",
                        b["version"], b["content"]
                    ));
                }
            }
            return;
        }
        let hot = self.role.workspace() == 0 && (self.seen.is_empty() || self.rng.chance(40));
        let id = if hot {
            self.rng.pick(&self.shared.hot).clone()
        } else if let Some(id) = self.seen.get(self.rng.below(self.seen.len().max(1))) {
            id.clone()
        } else {
            return self.list().await;
        };
        // Versions never go back: at least what was acknowledged before the read.
        let floor = self
            .shared
            .acked
            .lock()
            .unwrap()
            .get(&id)
            .map(|a| a.version)
            .unwrap_or(0);
        let path = format!("/api/worklogs/{id}");
        if let Some((200, b)) = self.req("get", Method::GET, &path, None, &[200]).await {
            if b["version"].as_u64().unwrap_or(0) < floor {
                self.violation(format!(
                    "GET {path} read version {} after version {floor} was acknowledged",
                    b["version"]
                ));
            }
        }
    }

    /// Workspace B asks for a workspace A entry: not found, never a leak or an error.
    async fn cross_get(&mut self) {
        let id = self.rng.pick(&self.shared.hot).clone();
        let path = format!("/api/worklogs/{id}");
        self.req("cross_get", Method::GET, &path, None, &[404])
            .await;
    }

    async fn create(&mut self) {
        let content = self.content("created");
        let tags = self.tags();
        let date = self.date(60);
        let body = json!({"date": date.to_string(), "content": content, "tags": tags});
        if let Some((201, b)) = self
            .req("create", Method::POST, "/api/worklogs", Some(body), &[201])
            .await
        {
            if let Some((id, v)) = self.ack(&b, "create") {
                if v != 1 || b["content"].as_str() != Some(&content) {
                    self.violation(format!("create answered {}", short(&b)));
                }
                self.mine.insert(id.clone(), (v, content));
                self.own.push(id);
            }
        }
    }

    async fn patch(&mut self) {
        if self.own.is_empty() {
            return self.create().await;
        }
        let id = self.rng.pick(&self.own).clone();
        let (v, _) = self.mine[&id].clone();
        let content = self.content("edited");
        let mut body = json!({"version": v, "content": content});
        if self.rng.chance(50) {
            body["tags"] = json!(self.tags());
        }
        if self.rng.chance(20) {
            body["date"] = json!(self.date(60).to_string());
        }
        let path = format!("/api/worklogs/{id}");
        if let Some((200, b)) = self
            .req("patch", Method::PATCH, &path, Some(body), &[200])
            .await
        {
            if let Some((_, nv)) = self.ack(&b, "patch") {
                if nv != v + 1 || b["content"].as_str() != Some(&content) {
                    self.violation(format!(
                        "PATCH {path} at version {v} answered {}",
                        short(&b)
                    ));
                }
                self.mine.insert(id, (nv, content));
            }
        }
    }

    /// A write at a version that is no longer current must be refused (409).
    async fn stale_patch(&mut self) {
        let stale: Vec<String> = self
            .own
            .iter()
            .filter(|id| self.mine[*id].0 >= 2)
            .cloned()
            .collect();
        if stale.is_empty() {
            return self.patch().await;
        }
        let id = self.rng.pick(&stale).clone();
        let v = self.mine[&id].0 - 1 - self.rng.below(self.mine[&id].0 as usize - 1) as u64;
        let content = self.content("stale write");
        let path = format!("/api/worklogs/{id}");
        let body = json!({"version": v, "content": content});
        if let Some((200, b)) = self
            .req("stale_patch", Method::PATCH, &path, Some(body), &[409])
            .await
        {
            // Already counted as unexpected; keep the bookkeeping true to the server.
            if let Some((_, nv)) = self.ack(&b, "stale patch") {
                self.mine.insert(id, (nv, content));
            }
        }
    }

    /// Owners and admins all edit the same few entries: read, then write at that version;
    /// 409 when someone else won the race.
    async fn hot_patch(&mut self) {
        let id = self.rng.pick(&self.shared.hot).clone();
        let path = format!("/api/worklogs/{id}");
        let Some((200, cur)) = self.req("get", Method::GET, &path, None, &[200]).await else {
            return;
        };
        let Some(v) = cur["version"].as_u64() else {
            return self.violation(format!("GET {path} has no version: {}", short(&cur)));
        };
        let content = self.content("hot edit");
        let mut body = json!({"version": v, "content": content});
        if self.rng.chance(30) {
            body["tags"] = json!(self.tags());
        }
        if let Some((200, b)) = self
            .req("hot_patch", Method::PATCH, &path, Some(body), &[200, 409])
            .await
        {
            if let Some((_, nv)) = self.ack(&b, "hot patch") {
                if nv != v + 1 || b["content"].as_str() != Some(&content) {
                    self.violation(format!(
                        "PATCH {path} at version {v} answered {}",
                        short(&b)
                    ));
                }
            }
        }
    }

    async fn tag_facets(&mut self) {
        let Some((200, b)) = self
            .req("tags", Method::GET, "/api/worklogs/tags", None, &[200])
            .await
        else {
            return;
        };
        let items = b["items"].as_array().cloned().unwrap_or_default();
        if self.role.tagless() && !items.is_empty() {
            self.violation(format!("tag facets of a tag-less workspace: {}", short(&b)));
        }
        if items.iter().any(|f| {
            !f["value"].as_str().is_some_and(|v| TAGS.contains(&v))
                || f["count"].as_u64().unwrap_or(0) == 0
        }) {
            self.violation(format!("odd tag facets: {}", short(&b)));
        }
    }
}

fn load_secs() -> u64 {
    match std::env::var("MIXED_WORKLOAD_SECS") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("MIXED_WORKLOAD_SECS={v:?} is not a number of seconds")),
        Err(_) => DEFAULT_SECS,
    }
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every entry of a workspace through the paged list: id -> (version, content, tags).
async fn whole_log(app: &App, s: &Session) -> (HashMap<String, Value>, u64) {
    let mut all = HashMap::new();
    let mut cursor = String::new();
    let mut total = None;
    loop {
        let r = app
            .get(&format!("/api/worklogs?limit=200{cursor}"), &s.token)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        total.get_or_insert(r.body["total"].as_u64().unwrap_or(0));
        for e in r.body["items"].as_array().unwrap() {
            let id = e["id"].as_str().unwrap().to_string();
            assert!(
                all.insert(id.clone(), e.clone()).is_none(),
                "{id} listed twice"
            );
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={}", url_escape(c)),
            None => break,
        }
    }
    (all, total.unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_workload_has_no_server_errors_and_no_lost_writes() {
    let app = spawn_app(&[
        ("AUTH_RATE_LIMIT_PER_MINUTE", "100000"),
        ("API_RATE_LIMIT_PER_MINUTE", "1000000"),
        ("WORKLOG_ENTRIES_PER_HOUR", "0"),
    ])
    .await;
    let owner_a = app.new_owner("mw-owner-a@example.test").await;
    let admin_a = app
        .add_member(&owner_a, "mw-admin-a@example.test", "admin")
        .await;
    let member_a = app
        .add_member(&owner_a, "mw-member-a@example.test", "member")
        .await;
    let reader_a = app
        .add_member(&owner_a, "mw-reader-a@example.test", "read_only")
        .await;
    let owner_b = app.new_owner("mw-owner-b@example.test").await;
    let member_b = app
        .add_member(&owner_b, "mw-member-b@example.test", "member")
        .await;
    assert_ne!(owner_a.tenant_id, owner_b.tenant_id);

    // Seed: the contended entries of workspace A, and tag-less entries in B.
    let today = chrono::Utc::now().date_naive();
    let mut acked = HashMap::new();
    let mut hot = Vec::new();
    for i in 0..HOT_ENTRIES {
        let content = format!("Hot entry {i}: deployed the release runbook");
        let r = app
            .post(
                "/api/worklogs",
                Some(&owner_a.token),
                json!({"date": (today - chrono::Days::new(3 + i as u64)).to_string(),
                       "content": content, "tags": [TAGS[i % TAGS.len()]]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let id = r.body["id"].as_str().unwrap().to_string();
        acked.insert(
            id.clone(),
            Acked {
                workspace: 0,
                version: 1,
                content,
                tags: vec![TAGS[i % TAGS.len()].to_string()],
            },
        );
        hot.push(id);
    }
    for i in 0..3 {
        let content = format!("Tag-less seed {i}: reviewed the billing cache");
        let r = app
            .post(
                "/api/worklogs",
                Some(&owner_b.token),
                json!({"date": (today - chrono::Days::new(2 + i)).to_string(),
                       "content": content, "tags": []}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        acked.insert(
            r.body["id"].as_str().unwrap().to_string(),
            Acked {
                workspace: 1,
                version: 1,
                content,
                tags: vec![],
            },
        );
    }
    let shared = Arc::new(Shared {
        acked: Mutex::new(acked),
        hot,
    });

    let secs = load_secs();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for idx in 0..CLIENTS {
        let role = role_of(idx);
        let session = match role {
            Role::OwnerA => &owner_a,
            Role::AdminA => &admin_a,
            Role::MemberA => &member_a,
            Role::ReaderA => &reader_a,
            Role::OwnerB => &owner_b,
            Role::MemberB => &member_b,
        };
        let client = Client {
            idx,
            role,
            token: session.token.clone(),
            http: app.http.clone(),
            base: app.base.clone(),
            rng: Rng::new(idx as u64 + 1),
            shared: shared.clone(),
            stats: Stats::default(),
            mine: HashMap::new(),
            own: Vec::new(),
            seen: Vec::new(),
            seq: 0,
            today,
        };
        tasks.push(tokio::spawn(client.run(deadline)));
    }
    let mut stats = Stats::default();
    for t in futures::future::join_all(tasks).await {
        stats.merge(t.expect("client task panicked"));
    }
    let elapsed = started.elapsed().as_secs_f64();

    let kinds: Vec<String> = stats
        .kinds
        .iter()
        .map(|(k, n)| format!("{k}={n}"))
        .collect();
    let statuses: Vec<String> = stats
        .statuses
        .iter()
        .map(|(k, n)| format!("{k}={n}"))
        .collect();
    println!(
        "mixed workload: {} clients, {} requests in {elapsed:.1}s ({:.0} req/s); {}; statuses {}; 5xx={} transport_errors={} unexpected={} violations={}",
        CLIENTS,
        stats.total,
        stats.total as f64 / elapsed.max(0.001),
        kinds.join(" "),
        statuses.join(" "),
        stats.server_errors,
        stats.transport_errors,
        stats.unexpected,
        stats.violations,
    );
    let notes = stats.notes.join("\n  ");
    assert_eq!(
        stats.server_errors, 0,
        "responses >= 500 under load:\n  {notes}"
    );
    assert_eq!(
        stats.transport_errors, 0,
        "requests failed at the transport level:\n  {notes}"
    );
    assert_eq!(stats.unexpected, 0, "unexpected statuses:\n  {notes}");
    assert_eq!(
        stats.violations, 0,
        "consistency violations under load:\n  {notes}"
    );
    // Not vacuous: every kind of work happened.
    for k in [
        "list",
        "search",
        "filter",
        "get",
        "cross_get",
        "create",
        "patch",
        "stale_patch",
        "hot_patch",
        "tags",
        "summary",
        "status_bar",
    ] {
        assert!(stats.kind(k) > 0, "no {k} requests were made");
    }
    assert!(
        *stats.statuses.get(&201).unwrap_or(&0) > 0,
        "no creates succeeded"
    );

    // Every acknowledged write reads back at its last acknowledged version.
    let acked = shared.acked.lock().unwrap().clone();
    let owners = [&owner_a, &owner_b];
    let mut lost = Vec::new();
    let mut patched = 0;
    for (id, a) in &acked {
        if a.version > 1 {
            patched += 1;
        }
        let r = app
            .get(&format!("/api/worklogs/{id}"), &owners[a.workspace].token)
            .await;
        if r.status != 200
            || r.body["version"].as_u64() != Some(a.version)
            || r.body["content"].as_str() != Some(&a.content)
        {
            lost.push(format!(
                "{id}: acknowledged version {} {:?}, read {} {}",
                a.version,
                a.content,
                r.status,
                short(&r.body)
            ));
        }
    }
    assert!(patched > 0, "no entry was acknowledged past version 1");
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged entries do not read back at their last version:\n  {}",
        lost.len(),
        acked.len(),
        lost.iter()
            .take(MAX_NOTES)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n  ")
    );

    // The list and the tag facets agree with the acknowledged state of each workspace.
    for (ws, owner) in owners.iter().enumerate() {
        let mine: HashMap<&String, &Acked> =
            acked.iter().filter(|(_, a)| a.workspace == ws).collect();
        let (listed, total) = whole_log(&app, owner).await;
        assert_eq!(
            (listed.len(), total as usize),
            (mine.len(), mine.len()),
            "workspace {ws}: listed entries / total vs acknowledged entries"
        );
        for (id, a) in &mine {
            let e = listed
                .get(*id)
                .unwrap_or_else(|| panic!("workspace {ws}: {id} is missing from the list"));
            assert_eq!(
                (e["version"].as_u64(), e["content"].as_str()),
                (Some(a.version), Some(a.content.as_str())),
                "workspace {ws}: {id} is listed at a stale version"
            );
        }
        let mut expected: BTreeMap<String, u64> = BTreeMap::new();
        for a in mine.values() {
            for t in &a.tags {
                *expected.entry(t.clone()).or_default() += 1;
            }
        }
        let r = app.get("/api/worklogs/tags", &owner.token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let facets: BTreeMap<String, u64> = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["value"].as_str().unwrap().to_string(),
                    f["count"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(facets, expected, "workspace {ws}: tag facets");
        if ws == 1 {
            assert!(facets.is_empty(), "workspace B has only tag-less entries");
        }
    }
    println!(
        "mixed workload: verified {} acknowledged entries ({patched} patched) in {:.1}s total",
        acked.len(),
        started.elapsed().as_secs_f64()
    );
}
