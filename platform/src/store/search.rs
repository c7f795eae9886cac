//! Full-text search of a tenant's work log from an in-memory inverted index.
//!
//! SurrealDB 3.3's full-text scan reads and scores every record that matches before it
//! can rank them (no top-k), and its BM25 clamps the weight of a word found in more
//! than half of the entries to zero. A word in 35,000 of 50,000 entries cost ~0.6 s
//! and ranked nothing. So, when this process is the database's only writer (an
//! embedded engine; see `Store::pages`), searches are answered from postings kept in
//! memory: a few arrays of (entry, term frequency) per term, scored in one pass.
//!
//! * **Same words.** Texts are split by SurrealDB itself, with the analyzer of the
//!   full-text index (`search::analyze('worklog_text', …)`: class tokenizer,
//!   lower-case, ASCII folding, English snowball stemming), so a query finds what the
//!   database's own index would.
//! * **Same answers, ranked.** A query matches the entries that hold every one of its
//!   terms (as `@@` does), where a term of three or more characters also matches the
//!   words it begins (`postgres` finds "PostgreSQL": the analyzer makes them `postgr`
//!   and `postgresql`), so a search finds what is typed before the word is finished.
//!   The database's index, used until this one is built, matches whole words only. They are ranked by BM25 (k1 = 1.2, b = 0.75, term frequency
//!   lower-bounded as 1 + ln tf, as SurrealDB does) with Lucene's always-positive
//!   inverse document frequency, ln(1 + (N − n + 0.5)/(n + 0.5)), so common words
//!   still rank; ties go to the newest entry.
//! * **Never stale.** The index is built from the database in the background on a
//!   tenant's first search (~0.1 ms an entry); until it is ready, searches are answered
//!   by the database's own full-text index, as without this module. Every write of
//!   `store::worklogs` names the entries it changed
//!   ([`SearchIndex::changed`]); the next search reads just those entries again before
//!   it answers. The database stays the only source of truth.
//! * **Bounded.** Indexes of all tenants share a budget (`SEARCH_INDEX_BYTES`, default
//!   [`SEARCH_INDEX_BYTES`]); the least recently searched go first and are built
//!   again when next needed.

use std::borrow::Cow;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::json;

use super::worklogs::ListFilter;
use super::{StoreResult, TenantDb, TenantId};

/// Default memory budget of all tenants' search indexes.
pub const SEARCH_INDEX_BYTES: u64 = 64 * 1024 * 1024;

const K1: f64 = 1.2;
const B: f64 = 0.75;

/// A term's postings: (slot, term frequency), slots ascending; borrowed from the index,
/// or merged for a prefix.
type Postings<'a> = Cow<'a, [(u32, u16)]>;

/// Entries read per query while building an index.
const BUILD_BATCH: usize = 2000;

/// One indexed entry.
#[derive(Debug, Clone)]
struct Doc {
    id: String,
    /// `sort_key` (`date|id`): ties rank newest first, and the date filters use it.
    sort_key: String,
    author: String,
    project: Option<String>,
    tags: Vec<String>,
    /// Terms (dictionary indexes) with their frequency.
    terms: Vec<(u32, u16)>,
    len: u32,
    live: bool,
}

/// A tenant's postings.
#[derive(Default)]
struct TenantIndex {
    docs: Vec<Doc>,
    slots: HashMap<String, u32>,
    /// Ordered, so that the terms a query term is a prefix of are one range.
    dictionary: BTreeMap<String, u32>,
    /// Per term: (slot, term frequency), slots ascending (new documents get new slots).
    postings: Vec<Vec<(u32, u16)>>,
    live: u32,
    total_len: u64,
    dead: u32,
    built: bool,
    /// Rough heap bytes held, for the shared budget.
    bytes: u64,
}

impl TenantIndex {
    fn term(&mut self, t: &str) -> u32 {
        if let Some(i) = self.dictionary.get(t) {
            return *i;
        }
        let i = self.postings.len() as u32;
        self.dictionary.insert(t.to_string(), i);
        self.postings.push(Vec::new());
        self.bytes += t.len() as u64 + 48;
        i
    }

    fn remove(&mut self, id: &str) {
        if let Some(slot) = self.slots.remove(id) {
            let d = &mut self.docs[slot as usize];
            if d.live {
                d.live = false;
                self.live -= 1;
                self.dead += 1;
                self.total_len -= u64::from(d.len);
            }
        }
    }

    fn add(&mut self, row: Row) {
        self.remove(&row.id);
        let mut freq: HashMap<u32, u16> = HashMap::new();
        for t in &row.terms {
            let i = self.term(t);
            let f = freq.entry(i).or_insert(0);
            *f = f.saturating_add(1);
        }
        let slot = self.docs.len() as u32;
        let mut terms: Vec<(u32, u16)> = freq.into_iter().collect();
        terms.sort_unstable();
        for (t, f) in &terms {
            self.postings[*t as usize].push((slot, *f));
        }
        self.bytes += (terms.len() * 12 + row.id.len() * 2 + 128) as u64;
        let len = row.terms.len() as u32;
        self.docs.push(Doc {
            sort_key: format!("{}|{}", row.date, row.id),
            id: row.id.clone(),
            author: row.author_id,
            project: row.project,
            tags: row.tags,
            terms,
            len,
            live: true,
        });
        self.slots.insert(row.id, slot);
        self.live += 1;
        self.total_len += u64::from(len);
    }

    /// Rebuilds the postings without removed documents once they are a quarter.
    fn compact_if_needed(&mut self) {
        if self.dead < 1024 || self.dead * 4 < self.live {
            return;
        }
        let docs: Vec<Doc> = std::mem::take(&mut self.docs)
            .into_iter()
            .filter(|d| d.live)
            .collect();
        for p in &mut self.postings {
            p.clear();
        }
        self.slots.clear();
        for (slot, d) in docs.iter().enumerate() {
            for (t, f) in &d.terms {
                self.postings[*t as usize].push((slot as u32, *f));
            }
            self.slots.insert(d.id.clone(), slot as u32);
        }
        self.docs = docs;
        self.dead = 0;
    }

    fn matches(
        &self,
        d: &Doc,
        f: &ListFilter,
        from: &Option<String>,
        below: &Option<String>,
    ) -> bool {
        d.live
            && from
                .as_ref()
                .is_none_or(|x| d.sort_key.as_str() >= x.as_str())
            && below
                .as_ref()
                .is_none_or(|x| d.sort_key.as_str() < x.as_str())
            && f.tag.as_ref().is_none_or(|t| d.tags.contains(t))
            && f.author_id.as_ref().is_none_or(|a| d.author == *a)
            && f.project
                .as_ref()
                .is_none_or(|p| d.project.as_ref() == Some(p))
    }

    /// The entries holding every term of `query`, best first from `skip`, `limit` at
    /// most, and how many there are in all.
    /// Shortest query term that also matches the words it begins.
    const PREFIX_MIN: usize = 3;

    /// The postings of `t`: of that term alone, or, for a term of [`Self::PREFIX_MIN`]
    /// characters or more, merged with those of every term it begins (frequencies
    /// added per entry). `None` when no term matches.
    fn postings_of(&self, t: &str) -> Option<Postings<'_>> {
        if t.chars().count() < Self::PREFIX_MIN {
            let i = self.dictionary.get(t)?;
            return Some(Cow::Borrowed(&self.postings[*i as usize]));
        }
        let mut matched = self
            .dictionary
            .range::<str, _>((std::ops::Bound::Included(t), std::ops::Bound::Unbounded))
            .take_while(|(term, _)| term.starts_with(t))
            .map(|(_, i)| &self.postings[*i as usize]);
        let first = matched.next()?;
        let Some(second) = matched.next() else {
            return Some(Cow::Borrowed(first));
        };
        let mut merged: BTreeMap<u32, u16> = BTreeMap::new();
        for list in [first, second].into_iter().chain(matched) {
            for &(slot, tf) in list {
                let f = merged.entry(slot).or_insert(0);
                *f = f.saturating_add(tf);
            }
        }
        Some(Cow::Owned(merged.into_iter().collect()))
    }

    fn search(&self, query: &[String], f: &ListFilter, skip: usize, limit: usize) -> Ranked {
        let mut lists: Vec<(f64, Postings<'_>)> = Vec::new();
        let n = f64::from(self.live.max(1));
        let mut seen = HashSet::new();
        for t in query {
            if !seen.insert(t) {
                continue;
            }
            let Some(list) = self.postings_of(t) else {
                return Ranked::default();
            };
            let df = list
                .iter()
                .filter(|(s, _)| self.docs[*s as usize].live)
                .count() as f64;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            lists.push((idf, list));
        }
        if lists.is_empty() {
            return Ranked::default();
        }
        // The rarest term drives; the others are looked up by binary search.
        lists.sort_by_key(|(_, l)| l.len());
        let avg_len = self.total_len as f64 / n;
        let from = f.from.map(|d| d.format("%Y-%m-%d").to_string());
        let below =
            f.to.and_then(|d| d.succ_opt())
                .map(|d| d.format("%Y-%m-%d").to_string());
        let want = skip + limit;
        let mut top: BinaryHeap<std::cmp::Reverse<Hit>> = BinaryHeap::with_capacity(want + 1);
        let mut total = 0u64;
        let bm25 = |tf: u16, len: u32, idf: f64| {
            let tf = 1.0 + f64::from(tf).ln();
            let norm = 1.0 - B + B * f64::from(len) / avg_len.max(1.0);
            idf * (K1 + 1.0) * tf / (tf + K1 * norm)
        };
        'docs: for &(slot, tf) in lists[0].1.iter() {
            let d = &self.docs[slot as usize];
            if !self.matches(d, f, &from, &below) {
                continue;
            }
            let mut score = bm25(tf, d.len, lists[0].0);
            for (idf, list) in &lists[1..] {
                match list.binary_search_by_key(&slot, |(s, _)| *s) {
                    Ok(i) => score += bm25(list[i].1, d.len, *idf),
                    Err(_) => continue 'docs,
                }
            }
            total += 1;
            if want == 0 {
                continue;
            }
            let hit = Hit {
                score,
                slot,
                key: &d.sort_key,
            };
            if top.len() < want {
                top.push(std::cmp::Reverse(hit));
            } else if top.peek().is_some_and(|w| hit > w.0) {
                top.pop();
                top.push(std::cmp::Reverse(hit));
            }
        }
        let mut hits: Vec<Hit> = top.into_iter().map(|r| r.0).collect();
        hits.sort_by(|a, b| b.cmp(a));
        Ranked {
            hits: hits
                .into_iter()
                .skip(skip)
                .map(|h| (self.docs[h.slot as usize].id.clone(), h.score))
                .collect(),
            total,
        }
    }
}

/// A candidate: higher score first, then the newer entry.
#[derive(Debug, Clone, Copy)]
struct Hit<'a> {
    score: f64,
    slot: u32,
    key: &'a str,
}

impl PartialEq for Hit<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == std::cmp::Ordering::Equal
    }
}
impl Eq for Hit<'_> {}
impl PartialOrd for Hit<'_> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Hit<'_> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.score
            .total_cmp(&o.score)
            .then_with(|| self.key.cmp(o.key))
    }
}

/// A ranked page: entry ids with their scores, best first, and the number of matches.
#[derive(Debug, Default, Clone)]
pub struct Ranked {
    pub hits: Vec<(String, f64)>,
    pub total: u64,
}

#[derive(Deserialize)]
struct Row {
    id: String,
    date: String,
    author_id: String,
    project: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    terms: Vec<String>,
}

/// One tenant's index and the entries changed since it last read them. The changes
/// have their own lock so a write records them before it answers, even while a
/// search holds the index.
#[derive(Default)]
struct Slot {
    /// Searches share it; reading changed entries in takes it alone.
    index: tokio::sync::RwLock<TenantIndex>,
    pending: Mutex<HashSet<String>>,
    last_used: std::sync::atomic::AtomicU64,
    /// A build is under way (at most one per tenant).
    building: std::sync::atomic::AtomicBool,
}

impl Slot {
    fn take_pending(&self) -> Vec<String> {
        let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        p.drain().collect()
    }
}

/// The indexes of every tenant of one store.
pub struct SearchIndex {
    tenants: Mutex<HashMap<TenantId, Arc<Slot>>>,
    budget: u64,
    clock: std::sync::atomic::AtomicU64,
}

const ROW_SQL: &str = "record::id(id) AS id, date, author_id, project, tags, \
    search::analyze('worklog_text', search_text) AS terms";

impl SearchIndex {
    /// Indexes sharing a budget of `bytes`.
    pub fn new(bytes: u64) -> Self {
        Self {
            tenants: Mutex::new(HashMap::new()),
            budget: bytes.max(1),
            clock: Default::default(),
        }
    }

    fn tenant(&self, t: TenantId) -> Arc<Slot> {
        let mut m = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(t).or_default().clone()
    }

    /// Entries of tenant `t` were written: the next search reads them again. (A tenant
    /// without an index yet has nothing to hear: its first search reads everything.)
    pub fn changed<'a>(&self, t: TenantId, ids: impl IntoIterator<Item = &'a str>) {
        let slot = {
            let m = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
            m.get(&t).cloned()
        };
        if let Some(slot) = slot {
            let mut pending = slot.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.extend(ids.into_iter().map(str::to_string));
        }
    }

    /// Every entry of the tenant was (or may have been) written: build again.
    pub fn forget(&self, t: TenantId) {
        self.tenants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&t);
    }

    /// The ranked matches of `query` (already analysed terms) under `f`, or `None`
    /// while the tenant's index is still being built (this call starts the build).
    pub async fn search(
        &self,
        db: &TenantDb,
        query: &[String],
        f: &ListFilter,
        skip: usize,
        limit: usize,
    ) -> StoreResult<Option<Ranked>> {
        let slot = self.tenant(db.tenant());
        let changed = !slot
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty();
        if changed {
            let mut index = slot.index.write().await;
            if index.built {
                let ids = slot.take_pending();
                if !ids.is_empty() {
                    refresh(db, &mut index, &ids).await?;
                }
                index.compact_if_needed();
            }
        }
        let index = slot.index.read().await;
        if !index.built {
            if !slot.building.swap(true, Ordering::AcqRel) {
                let (db, slot) = (db.clone(), slot.clone());
                tokio::spawn(async move {
                    if let Err(e) = build_into(&db, &slot).await {
                        tracing::warn!(tenant = %db.tenant(), error = %e, "search index build failed");
                    }
                });
            }
            return Ok(None);
        }
        slot.last_used.store(
            self.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        let ranked = index.search(query, f, skip, limit);
        drop(index);
        self.evict();
        Ok(Some(ranked))
    }

    /// Builds the tenant's index now unless it is built, and returns once it is ready
    /// (for warming it up ahead of the first search, and for tests).
    pub async fn ready(&self, db: &TenantDb) -> StoreResult<()> {
        let slot = self.tenant(db.tenant());
        loop {
            if slot.index.read().await.built {
                return Ok(());
            }
            if !slot.building.swap(true, Ordering::AcqRel) {
                return build_into(db, &slot).await;
            }
            // Someone else's build: wait for it.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Drops the least recently used indexes while over budget (not the newest).
    fn evict(&self) {
        let mut m = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let sizes: Vec<(TenantId, u64, u64)> = m
                .iter()
                .filter_map(|(t, s)| {
                    let at = s.last_used.load(Ordering::Relaxed);
                    s.index.try_read().ok().map(|i| (*t, i.bytes, at))
                })
                .collect();
            let total: u64 = sizes.iter().map(|s| s.1).sum();
            if total <= self.budget || sizes.len() <= 1 {
                return;
            }
            let Some(oldest) = sizes.iter().min_by_key(|s| s.2).map(|s| s.0) else {
                return;
            };
            m.remove(&oldest);
        }
    }
}

/// Reads every entry into a fresh index without holding the slot's lock (searches go
/// on meanwhile, from the database), then installs it.
async fn build_into(db: &TenantDb, slot: &Slot) -> StoreResult<()> {
    // Changes recorded before this point are in what the build reads; those recorded
    // while it runs stay pending and are read again by the next search.
    slot.take_pending();
    let built = build(db).await;
    let out = match built {
        Ok(fresh) => {
            *slot.index.write().await = fresh;
            Ok(())
        }
        Err(e) => Err(e),
    };
    slot.building.store(false, Ordering::Release);
    out
}

async fn build(db: &TenantDb) -> StoreResult<TenantIndex> {
    let mut index = TenantIndex::default();
    let mut after = String::new();
    loop {
        // Keyset batches on the record id, so building a large log doesn't hold one
        // huge result.
        let from = if after.is_empty() {
            ""
        } else {
            "WHERE id > type::record('worklog', $after)"
        };
        let sql = format!("SELECT {ROW_SQL} FROM worklog {from} ORDER BY id LIMIT {BUILD_BATCH};");
        let rows: Vec<Row> = db.query(&sql, json!({"after": after})).await?.take(0)?;
        let n = rows.len();
        for r in rows {
            after = r.id.clone();
            index.add(r);
        }
        if n < BUILD_BATCH {
            break;
        }
    }
    index.built = true;
    Ok(index)
}

async fn refresh(db: &TenantDb, index: &mut TenantIndex, ids: &[String]) -> StoreResult<()> {
    for chunk in ids.chunks(BUILD_BATCH) {
        let sql = format!("SELECT {ROW_SQL} FROM $ids.map(|$i| type::record('worklog', $i));");
        let rows: Vec<Row> = db.query(&sql, json!({"ids": chunk})).await?.take(0)?;
        let found: HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let gone: Vec<String> = chunk
            .iter()
            .filter(|id| !found.contains(id.as_str()))
            .cloned()
            .collect();
        for id in gone {
            index.remove(&id);
        }
        for r in rows {
            index.add(r);
        }
    }
    Ok(())
}

/// The terms of a query, split as the index splits entries.
pub async fn analyze(db: &TenantDb, q: &str) -> StoreResult<Vec<String>> {
    // The statement's value is the array of terms: `take` yields it as rows.
    db.query(
        "RETURN search::analyze('worklog_text', $q);",
        json!({ "q": q }),
    )
    .await?
    .take(0)
}
