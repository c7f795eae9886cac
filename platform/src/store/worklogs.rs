//! Work-log entries and their attachments in a tenant database.
//!
//! Listing is keyset-paginated on `sort_key` (`date|id`, so newest day first, then
//! newest id): a cursor names the last row seen, so entries added while someone pages
//! never cause duplicates or gaps among the rows that existed. Every listing is one
//! backward scan of a compound index (see [`Prefix`]) that stops after the page, and
//! the first page's total is counted from index keys (see [`count_sql`]); the plans are
//! pinned by `tests/worklog_store.rs`. A full-text query (`q`) ranks by BM25 relevance
//! over title, content and outcome (the computed `search_text` field; analyzer
//! `worklog_text`: class tokenizer, lower-case, ASCII folding, English snowball
//! stemming) and pages by offset, since relevance has no stable key.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{StoreError, StoreResult, TenantDb, TenantId};

/// An entry as stored.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct EntryRow {
    pub id: String,
    pub author_id: String,
    /// `YYYY-MM-DD`, the day in the author's time zone.
    pub date: NaiveDate,
    pub title: String,
    pub content: String,
    pub tags: Vec<String>,
    pub outcome: Option<String>,
    pub project: Option<String>,
    pub version: u32,
    pub attachment_count: u32,
    pub import_key: Option<String>,
    pub analysis: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Relevance when listed with a full-text query.
    #[serde(default)]
    pub score: Option<f64>,
}

/// A stored entry's current version as the reward rules see it.
impl From<&EntryRow> for crate::gamification::rules::EntryFacts {
    fn from(entry: &EntryRow) -> Self {
        Self {
            entry_id: crate::gamification::rules::EntryId(entry.id.clone()),
            version: entry.version,
            content: entry.content.clone(),
            tag_count: u32::try_from(entry.tags.len()).unwrap_or(u32::MAX),
            attachment_count: entry.attachment_count,
            has_outcome: entry
                .outcome
                .as_deref()
                .is_some_and(|o| !o.trim().is_empty()),
            created_at: entry.created_at,
            // The first version happened when the entry was created; later ones when it
            // was last changed.
            version_at: if entry.version == 1 {
                entry.created_at
            } else {
                entry.updated_at
            },
        }
    }
}

/// A stored entry as an agent sees it.
impl From<&EntryRow> for crate::agents::Entry {
    fn from(r: &EntryRow) -> Self {
        Self {
            id: r.id.clone(),
            date: r.date,
            title: r.title.clone(),
            content: r.content.clone(),
            outcome: r.outcome.clone(),
            tags: r.tags.clone(),
            project: r.project.clone(),
            attachments: r.attachment_count,
        }
    }
}

/// A stored entry as the exporters write it.
impl From<&EntryRow> for crate::worklog::ExportEntry {
    fn from(r: &EntryRow) -> Self {
        Self {
            id: r.id.clone(),
            date: r.date,
            title: r.title.clone(),
            content: r.content.clone(),
            tags: r.tags.clone(),
            outcome: r.outcome.clone(),
            project: r.project.clone(),
            author_id: r.author_id.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: u64::from(r.version),
        }
    }
}

/// The columns every entry read selects (an [`EntryRow`]).
pub(crate) const FIELDS: &str =
    "record::id(id) AS id, author_id, date, title, content, tags, outcome, project, \
version, attachment_count, import_key, analysis, created_at, updated_at";

/// The editable fields of an entry (validated by `crate::worklog`).
#[derive(Debug, Clone)]
pub struct EntryFields {
    pub date: NaiveDate,
    pub title: String,
    pub content: String,
    pub tags: Vec<String>,
    pub outcome: Option<String>,
    pub project: Option<String>,
}

fn fields_json(f: &EntryFields) -> serde_json::Value {
    json!({
        "date": f.date.format("%Y-%m-%d").to_string(),
        "title": f.title,
        "content": f.content,
        "tags": f.tags,
        "outcome": f.outcome,
        "project": f.project,
    })
}

/// Creates an entry with id `id`. With an `import_key` already present, nothing is
/// created and `None` is returned (imports don't duplicate).
pub async fn create(
    db: &TenantDb,
    id: &str,
    author_id: &str,
    f: &EntryFields,
    import_key: Option<&str>,
) -> StoreResult<Option<EntryRow>> {
    let mut vars = fields_json(f);
    vars["id"] = json!(id);
    vars["author"] = json!(author_id);
    vars["import_key"] = json!(import_key);
    let sql = format!(
        "CREATE type::record('worklog', $id) CONTENT {{
            author_id: $author, date: $date, title: $title, content: $content, tags: $tags,
            outcome: $outcome, project: $project, version: 1, attachment_count: 0,
            import_key: $import_key
         }} RETURN {FIELDS};"
    );
    let written = db.query(&sql, vars).await;
    db.worklog_changed(Some(&[id]));
    match written {
        Ok(mut rows) => rows.first(0),
        Err(StoreError::Unique(_)) if import_key.is_some() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates many entries in one transaction (imports). Each item is (id, fields,
/// import key). Fails as a whole if any import key already exists; the caller then falls
/// back to [`create`] row by row.
pub async fn create_many(
    db: &TenantDb,
    author_id: &str,
    items: &[(String, EntryFields, String)],
) -> StoreResult<usize> {
    let rows: Vec<serde_json::Value> = items
        .iter()
        .map(|(id, f, key)| {
            let mut row = fields_json(f);
            row["author_id"] = json!(author_id);
            row["import_key"] = json!(key);
            row["version"] = json!(1);
            row["attachment_count"] = json!(0);
            json!({"id": id, "row": row})
        })
        .collect();
    let written = db
        .query(
            "BEGIN TRANSACTION;
         FOR $r IN $rows { CREATE type::record('worklog', $r.id) CONTENT $r.row; };
         COMMIT TRANSACTION;",
            json!({"rows": rows}),
        )
        .await;
    let ids: Vec<&str> = items.iter().map(|(id, _, _)| id.as_str()).collect();
    db.worklog_changed(Some(&ids));
    written?;
    Ok(items.len())
}

/// One entry.
pub async fn get(db: &TenantDb, id: &str) -> StoreResult<Option<EntryRow>> {
    let sql = format!("SELECT {FIELDS} FROM type::record('worklog', $id);");
    db.query(&sql, json!({"id": id})).await?.first(0)
}

/// Why an update didn't happen.
#[derive(Debug)]
pub enum UpdateError {
    NotFound,
    /// The entry is at another version (optimistic concurrency).
    Stale {
        current: u32,
    },
    Store(StoreError),
}

impl From<StoreError> for UpdateError {
    fn from(e: StoreError) -> Self {
        UpdateError::Store(e)
    }
}

/// Replaces the editable fields if the entry is at `expected_version`; bumps the version.
pub async fn update(
    db: &TenantDb,
    id: &str,
    expected_version: u32,
    f: &EntryFields,
) -> Result<EntryRow, UpdateError> {
    let mut vars = fields_json(f);
    vars["id"] = json!(id);
    vars["expected"] = json!(expected_version);
    let sql = format!(
        "BEGIN TRANSACTION;
         LET $row = (SELECT version FROM type::record('worklog', $id))[0];
         IF $row = NONE {{ THROW 'AR:not_found'; }};
         IF $row.version != $expected {{ THROW 'AR:stale_' + <string> $row.version; }};
         UPDATE type::record('worklog', $id) SET date = $date, title = $title, content = $content,
             tags = $tags, outcome = $outcome, project = $project, version += 1,
             updated_at = time::now(), analysis = NONE
           RETURN {FIELDS};
         COMMIT TRANSACTION;"
    );
    let written = db.query(&sql, vars).await;
    db.worklog_changed(Some(&[id]));
    match written {
        Ok(mut rows) => rows
            .last::<EntryRow>()?
            .into_iter()
            .next()
            .ok_or(UpdateError::NotFound),
        Err(StoreError::Thrown(code)) if code == "not_found" => Err(UpdateError::NotFound),
        Err(StoreError::Thrown(code)) if code.starts_with("stale_") => Err(UpdateError::Stale {
            current: code.trim_start_matches("stale_").parse().unwrap_or(0),
        }),
        Err(e) => Err(UpdateError::Store(e)),
    }
}

/// Deletes an entry and its attachment rows; returns the storage keys of the
/// attachments (for the caller to remove from the artifact store) or `None` if the entry
/// did not exist.
pub async fn delete(db: &TenantDb, id: &str) -> StoreResult<Option<Vec<String>>> {
    let rows = db
        .query(
            "BEGIN TRANSACTION;
             LET $gone = (DELETE type::record('worklog', $id) RETURN BEFORE);
             LET $keys = (DELETE attachment WHERE entry_id = $id RETURN BEFORE).storage_key;
             RETURN IF array::len($gone) = 0 { NONE } ELSE { { keys: $keys } };
             COMMIT TRANSACTION;",
            json!({"id": id}),
        )
        .await;
    db.worklog_changed(Some(&[id]));
    let mut rows = rows?;
    #[derive(Deserialize)]
    struct Deleted {
        keys: Vec<String>,
    }
    Ok(rows.last::<Deleted>()?.into_iter().next().map(|d| d.keys))
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub tag: Option<String>,
    pub project: Option<String>,
    pub author_id: Option<String>,
    /// Full-text query over title, content and outcome.
    pub q: Option<String>,
}

/// Where a page starts, and the total counted on the first page (carried so paging
/// doesn't recount; it can lag entries added meanwhile).
#[derive(Debug, Clone, PartialEq)]
pub enum Cursor {
    /// After this `(date, id)` in `sort_key DESC` (`date|id`) order.
    After {
        date: String,
        id: String,
        total: Option<u64>,
    },
    /// Skip this many rows (relevance order).
    Offset { skip: u64, total: Option<u64> },
}

impl Cursor {
    /// The opaque text form handed to clients.
    pub fn encode(&self) -> String {
        let tail = |t: &Option<u64>| t.map(|t| format!(".{t}")).unwrap_or_default();
        match self {
            Cursor::After { date, id, total } => format!("k.{date}.{id}{}", tail(total)),
            Cursor::Offset { skip, total } => format!("o.{skip}{}", tail(total)),
        }
    }

    /// What [`Cursor::decode`] takes (the empty string too: the first page), as the API
    /// document states it.
    pub const PATTERN: &'static str = "^((k\\.[0-9]{4}-[0-9]{2}-[0-9]{2}\\.[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|o\\.[0-9]{1,19})(\\.[0-9]{1,19})?)?$";

    /// Parses a cursor from [`Cursor::encode`]; `None` if it does not match
    /// [`Cursor::PATTERN`]. The date is only a sort position, so any `NNNN-NN-NN` is one.
    pub fn decode(s: &str) -> Option<Self> {
        // 1–19 digits: every such number fits a u64 (and no sign or space sneaks in).
        let number = |t: &str| -> Option<u64> {
            let digits = (1..=19).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit());
            digits.then(|| t.parse().ok()).flatten()
        };
        let total = |t: Option<&str>| -> Option<Option<u64>> {
            match t {
                None => Some(None),
                Some(t) => number(t).map(Some),
            }
        };
        if let Some(rest) = s.strip_prefix("k.") {
            let mut parts = rest.splitn(3, '.');
            let date = parts.next()?;
            let id = parts.next()?;
            let shape = date.len() == 10
                && date.bytes().enumerate().all(|(i, b)| match i {
                    4 | 7 => b == b'-',
                    _ => b.is_ascii_digit(),
                });
            if !shape || !super::platform::is_id(id) {
                return None;
            }
            return Some(Cursor::After {
                date: date.to_string(),
                id: id.to_string(),
                total: total(parts.next())?,
            });
        }
        let rest = s.strip_prefix("o.")?;
        let mut parts = rest.splitn(2, '.');
        Some(Cursor::Offset {
            skip: number(parts.next()?)?,
            total: total(parts.next())?,
        })
    }

    /// Ranked rows to skip: the offset of an offset cursor, 0 for none (or a keyset one).
    fn skip(cursor: Option<&Cursor>) -> u64 {
        match cursor {
            Some(Cursor::Offset { skip, .. }) => *skip,
            _ => 0,
        }
    }

    fn total(&self) -> Option<u64> {
        match self {
            Cursor::After { total, .. } | Cursor::Offset { total, .. } => *total,
        }
    }
}

/// The conditions of `f` (none for an unfiltered list) and their variables.
///
/// An empty filter must produce no `WHERE` at all: SurrealDB answers
/// `SELECT count() ... GROUP ALL` from the table's key count only without one (`WHERE
/// true` scans every row, ~30× slower at 20,000 entries).
fn where_clause(f: &ListFilter) -> (Vec<String>, serde_json::Value) {
    let mut conds: Vec<String> = Vec::new();
    if f.from.is_some() {
        conds.push("date >= $from".into());
    }
    if f.to.is_some() {
        conds.push("date <= $to".into());
    }
    if f.tag.is_some() {
        conds.push("tags CONTAINS $tag".into());
    }
    if f.project.is_some() {
        conds.push("project = $project".into());
    }
    if f.author_id.is_some() {
        conds.push("author_id = $author".into());
    }
    if f.q.is_some() {
        // One index over title (twice, so title words weigh double), content and outcome.
        // Ties in score (a word in most entries of a small log has no BM25 weight) fall
        // back to newest first. Three separate indexes OR-ed together re-check every
        // match and were ~2× slower.
        conds.push("search_text @0@ $q".into());
    }
    let day = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    (
        conds,
        json!({
            "from": day(f.from), "to": day(f.to), "tag": f.tag, "project": f.project,
            "author": f.author_id, "q": f.q,
        }),
    )
}

fn where_sql(conds: &[String]) -> String {
    if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    }
}

/// A SurrealQL string literal of `s`. Used only where the planner needs a value at
/// plan time (the key-only counts below): a bound parameter makes it count by reading
/// every matching record instead.
fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The index a keyset listing reads, chosen from the filter: each is a compound index
/// whose first column the filter pins and whose second is `sort_key` (`date|id`), so a
/// page is one backward index scan from the cursor (or the range's end) that stops
/// after `LIMIT` rows.
///
/// The `listed` column (always `true`) exists for this: SurrealDB 3.3 reads a plain
/// index range in batches of 1,000 entries (and fetches each record) whatever the
/// `LIMIT`, while a compound access with a pinned prefix stops at the limit — 51
/// records instead of 1,000 for a first page.
enum Prefix<'a> {
    All,
    Tag(&'a str),
    Author(&'a str),
    Project(&'a str),
}

impl Prefix<'_> {
    /// The pinned column, first as a bound parameter, then as a literal.
    fn conds(&self) -> (&'static str, String) {
        match self {
            Prefix::All => ("listed = true", "listed = true".into()),
            Prefix::Tag(t) => (
                "tags CONTAINS $tag",
                format!("tags CONTAINS {}", literal(t)),
            ),
            Prefix::Author(a) => ("author_id = $author", format!("author_id = {}", literal(a))),
            Prefix::Project(p) => ("project = $project", format!("project = {}", literal(p))),
        }
    }
}

/// The index prefix for `f` and the filters left over (checked on each row the scan
/// yields; only combinations of tag, author and project have any).
fn prefix_of(f: &ListFilter) -> (Prefix<'_>, Vec<&'static str>) {
    let mut rest = Vec::new();
    let prefix = if let Some(t) = &f.tag {
        Prefix::Tag(t)
    } else if let Some(a) = &f.author_id {
        Prefix::Author(a)
    } else if let Some(p) = &f.project {
        Prefix::Project(p)
    } else {
        Prefix::All
    };
    if f.tag.is_some() {
        if f.author_id.is_some() {
            rest.push("author_id = $author");
        }
        if f.project.is_some() {
            rest.push("project = $project");
        }
    } else if f.author_id.is_some() && f.project.is_some() {
        rest.push("project = $project");
    }
    (prefix, rest)
}

/// `sort_key` of the first day after `d`: `date <= d` is `sort_key < next_day(d)`.
fn next_day(d: NaiveDate) -> String {
    d.succ_opt()
        .map(|n| n.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "9999-12-32".into())
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The exclusive upper bound of a keyset page: the cursor's row, or the day after `to`,
/// whichever is lower.
fn upper_bound(f: &ListFilter, cursor: Option<&Cursor>) -> Option<String> {
    let after = match cursor {
        Some(Cursor::After { date, id, .. }) => Some(format!("{date}|{id}")),
        _ => None,
    };
    match (after, f.to.map(next_day)) {
        (Some(a), Some(t)) => Some(a.min(t)),
        (a, t) => a.or(t),
    }
}

/// One keyset page of `f` after `cursor` (`limit` rows at most): SQL and variables.
/// The lower date bound (`from`) is not in the query: the scan runs newest first, so it
/// is applied by cutting the rows off at the first one before `from` ([`cut_before`]),
/// which keeps the scan a single bounded index access.
fn list_sql(f: &ListFilter, cursor: Option<&Cursor>, limit: u32) -> (String, serde_json::Value) {
    let (prefix, rest) = prefix_of(f);
    let mut conds = vec![prefix.conds().0.to_string()];
    let upper = upper_bound(f, cursor);
    if upper.is_some() {
        conds.push("sort_key < $upper".into());
    }
    conds.extend(rest.iter().map(|c| c.to_string()));
    let sql = format!(
        "SELECT {FIELDS} FROM worklog WHERE {} ORDER BY sort_key DESC LIMIT $limit;",
        conds.join(" AND ")
    );
    let vars = json!({
        "tag": f.tag, "author": f.author_id, "project": f.project,
        "upper": upper, "limit": limit,
    });
    (sql, vars)
}

/// Drops the rows before `f.from` (rows come newest first, so they are a suffix).
/// Returns whether any were dropped (then no page follows).
fn cut_before(f: &ListFilter, rows: &mut Vec<EntryRow>) -> bool {
    let Some(from) = f.from else {
        return false;
    };
    match rows.iter().position(|r| r.date < from) {
        Some(i) => {
            rows.truncate(i);
            true
        }
        None => false,
    }
}

/// The statements a first page of `f` runs (the page, then its counts), with their
/// variables: for tests that pin the query plans with `EXPLAIN`.
pub fn first_page_statements(f: &ListFilter, limit: u32) -> Vec<(String, serde_json::Value)> {
    let (page, vars) = list_sql(f, None, limit);
    let (counts, _, count_vars) = count_sql(f);
    let mut out = vec![(page, vars)];
    out.extend(
        counts
            .split_inclusive(';')
            .map(|c| (c.trim().to_string(), count_vars.clone())),
    );
    out
}

/// One page of entries matching `f` (`limit` rows at most).
pub async fn list(
    db: &TenantDb,
    f: &ListFilter,
    cursor: Option<&Cursor>,
    limit: u32,
) -> StoreResult<Vec<EntryRow>> {
    if f.q.is_some() {
        return Ok(search(db, f, Cursor::skip(cursor), limit).await?.0);
    }
    if f.from.is_some() && f.to.is_some() && f.from > f.to {
        return Ok(Vec::new());
    }
    let (sql, vars) = list_sql(f, cursor, limit);
    let mut rows: Vec<EntryRow> = db.query(&sql, vars).await?.take(0)?;
    cut_before(f, &mut rows);
    Ok(rows)
}

/// A ranked page of the matches of `f.q` (best first; ties newest first) and how many
/// entries match in all: from the in-memory index when this process is the database's
/// only writer (`store::search`), else from the database's full-text index.
///
/// One full-text scan gives both: the scan reads every matching record to score it, so
/// ranking and counting in separate queries read them all twice (~1/3 of a search's
/// time). Only id, day and score of each match are kept; the page's rows are read after.
async fn search(
    db: &TenantDb,
    f: &ListFilter,
    skip: u64,
    limit: u32,
) -> StoreResult<(Vec<EntryRow>, u64)> {
    if let Some(index) = db.search_index() {
        let terms = super::search::analyze(db, f.q.as_deref().unwrap_or_default()).await?;
        if let Some(ranked) = index
            .search(db, &terms, f, skip as usize, limit as usize)
            .await?
        {
            return ranked_page(db, ranked).await;
        }
    }
    let (conds, mut vars) = where_clause(f);
    vars["limit"] = json!(limit);
    vars["offset"] = json!(skip);
    let sql = format!(
        "LET $hits = (SELECT id, date, search::score(0) AS score FROM worklog {});
         LET $top = (SELECT id, score FROM $hits ORDER BY score DESC, date DESC, id DESC
                     LIMIT $limit START $offset);
         RETURN array::len($hits);
         SELECT record::id(id) AS id, score FROM $top;
         SELECT {FIELDS} FROM $top.id;",
        where_sql(&conds)
    );
    #[derive(Deserialize)]
    struct Hit {
        id: String,
        score: f64,
    }
    let mut res = db.query(&sql, vars).await?;
    let total: Vec<u64> = res.take(2)?;
    let hits: Vec<Hit> = res.take(3)?;
    let mut rows: std::collections::HashMap<String, EntryRow> = res
        .take::<EntryRow>(4)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    // In ranking order; a match deleted between the statements is skipped.
    let page = hits
        .into_iter()
        .filter_map(|h| {
            rows.remove(&h.id).map(|mut r| {
                r.score = Some(h.score);
                r
            })
        })
        .collect();
    Ok((page, total.first().copied().unwrap_or(0)))
}

/// The rows of an in-memory ranking, in its order.
async fn ranked_page(
    db: &TenantDb,
    ranked: super::search::Ranked,
) -> StoreResult<(Vec<EntryRow>, u64)> {
    let ids: Vec<&str> = ranked.hits.iter().map(|(id, _)| id.as_str()).collect();
    let sql = format!("SELECT {FIELDS} FROM $ids.map(|$i| type::record('worklog', $i));");
    let mut rows: std::collections::HashMap<String, EntryRow> = db
        .query(&sql, json!({ "ids": ids }))
        .await?
        .take::<EntryRow>(0)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let page = ranked
        .hits
        .into_iter()
        .filter_map(|(id, score)| {
            rows.remove(&id).map(|mut r| {
                r.score = Some(score);
                r
            })
        })
        .collect();
    Ok((page, ranked.total))
}

/// Every entry of `author` in `[from, to]` (all days when absent), newest first, at most
/// `cap` of them, read a page at a time.
pub async fn entries_of(
    db: &TenantDb,
    author: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    cap: usize,
) -> StoreResult<Vec<EntryRow>> {
    let filter = ListFilter {
        from,
        to,
        author_id: Some(author.to_string()),
        ..ListFilter::default()
    };
    let mut out = Vec::new();
    let mut cursor = None;
    while out.len() < cap {
        let page = page(db, &filter, cursor.as_ref(), 500, false).await?;
        out.extend(page.rows);
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    out.truncate(cap);
    Ok(out)
}

/// Builds the tenant's in-memory search index now if this store keeps one (searches
/// would otherwise start it and use the database's index until it is ready).
pub async fn warm_search(db: &TenantDb) -> StoreResult<()> {
    match db.search_index() {
        Some(index) => index.ready(db).await,
        None => Ok(()),
    }
}

/// Statements counting the entries that match `f`, and how to combine them: the total
/// is the first count minus the second, if there is one.
///
/// Each count is answered without reading a record: with no filter from the
/// `worklog_count` COUNT index (tenant migration 9); with one of tag, author or project
/// and the date bounds, from the keys of that filter's listing index, as the entries
/// before the day after `to` minus those before `from`. The values are written as
/// literals there, because the planner only counts keys when it can see them. Other
/// combinations (and search) count by reading the matches.
fn count_sql(f: &ListFilter) -> (String, bool, serde_json::Value) {
    let (prefix, rest) = prefix_of(f);
    let no_filter = matches!(prefix, Prefix::All) && f.from.is_none() && f.to.is_none();
    if f.q.is_some() || !rest.is_empty() {
        let (conds, vars) = where_clause(f);
        return (
            format!(
                "SELECT count() AS n FROM worklog {} GROUP ALL;",
                where_sql(&conds)
            ),
            false,
            vars,
        );
    }
    if no_filter {
        return (
            "SELECT count() AS n FROM worklog GROUP ALL;".into(),
            false,
            json!({}),
        );
    }
    let pinned = prefix.conds().1;
    let below = |bound: Option<String>| match bound {
        Some(b) => format!(
            "SELECT count() AS n FROM worklog WHERE {pinned} AND sort_key < {} GROUP ALL;",
            literal(&b)
        ),
        None => format!("SELECT count() AS n FROM worklog WHERE {pinned} GROUP ALL;"),
    };
    let mut sql = below(f.to.map(next_day));
    let minus = f.from.is_some();
    if let Some(from) = f.from {
        sql.push_str(&below(Some(day(from))));
    }
    (sql, minus, json!({}))
}

#[derive(Deserialize)]
struct Count {
    n: u64,
}

/// Reads the total from the statements of [`count_sql`], starting at statement `first`.
fn read_count(res: &mut super::Rows, first: usize, minus: bool) -> StoreResult<u64> {
    let n = |res: &mut super::Rows, i| -> StoreResult<u64> {
        Ok(res.first::<Count>(i)?.map(|c| c.n).unwrap_or(0))
    };
    let total = n(res, first)?;
    Ok(if minus {
        total.saturating_sub(n(res, first + 1)?)
    } else {
        total
    })
}

/// How many entries match `f`.
pub async fn count(db: &TenantDb, f: &ListFilter) -> StoreResult<u64> {
    if f.from.is_some() && f.to.is_some() && f.from > f.to {
        return Ok(0);
    }
    let (sql, minus, vars) = count_sql(f);
    let mut res = db.query(&sql, vars).await?;
    read_count(&mut res, 0, minus)
}

/// First pages of listings (no cursor, no search), per tenant and filter, each with the
/// tenant's change count it was read at. Every write of this module counts a change
/// after it commits, so a page read before a change is never served after it. Kept
/// only for an embedded store, whose only writer is this process (`Store::pages`).
/// Bounded by the text of the rows held (`WORKLOG_PAGE_CACHE_BYTES`, default
/// [`PAGE_CACHE_BYTES`]).
pub struct PageCache {
    pages: quick_cache::sync::Cache<(TenantId, String), CachedPage, PageWeight>,
    enabled: bool,
}

/// Most row text [`PageCache`] holds by default.
pub const PAGE_CACHE_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Clone)]
struct CachedPage {
    generation: u64,
    page: std::sync::Arc<Page>,
}

#[derive(Clone)]
struct PageWeight;

impl quick_cache::Weighter<(TenantId, String), CachedPage> for PageWeight {
    fn weight(&self, _key: &(TenantId, String), v: &CachedPage) -> u64 {
        v.page
            .rows
            .iter()
            .map(|r| (r.content.len() + r.title.len() + 256) as u64)
            .sum::<u64>()
            .max(1)
    }
}

impl PageCache {
    /// A cache of at most `bytes` of row text (0: off).
    pub fn new(bytes: u64) -> Self {
        Self {
            pages: quick_cache::sync::Cache::with_weighter(1024, bytes.max(1), PageWeight),
            enabled: bytes > 0,
        }
    }
}

/// A page of a listing: its rows, where the next one starts, and the total.
#[derive(Debug, Clone)]
pub struct Page {
    pub rows: Vec<EntryRow>,
    pub next: Option<Cursor>,
    /// Entries matching the filter (counted on the first page unless `count` is false).
    pub total: Option<u64>,
}

/// One page of entries matching `f` and the cursor of the next. With `count`, the total
/// is counted on the first page and carried by the cursors after it. A first page of a
/// listing (no cursor, no search, at most 200 rows) comes from the [`PageCache`] when
/// nothing changed since it was read.
pub async fn page(
    db: &TenantDb,
    f: &ListFilter,
    cursor: Option<&Cursor>,
    limit: u32,
    count_total: bool,
) -> StoreResult<Page> {
    let cacheable = cursor.is_none() && f.q.is_none() && limit <= 200;
    let cached = db.pages().filter(|(c, _)| cacheable && c.enabled);
    let key = cached.map(|_| (db.tenant(), format!("{f:?}|{limit}|{count_total}")));
    if let (Some((cache, generation)), Some(key)) = (cached, &key) {
        if let Some(hit) = cache.pages.get(key) {
            if hit.generation == generation {
                return Ok(hit.page.as_ref().clone());
            }
        }
    }
    let page = read_page(db, f, cursor, limit, count_total).await?;
    if let (Some((cache, generation)), Some(key)) = (cached, key) {
        // The change count read *before* the query: a change committed meanwhile has
        // counted past it, so this page is never served after that change.
        cache.pages.insert(
            key,
            CachedPage {
                generation,
                page: std::sync::Arc::new(page.clone()),
            },
        );
    }
    Ok(page)
}

async fn read_page(
    db: &TenantDb,
    f: &ListFilter,
    cursor: Option<&Cursor>,
    limit: u32,
    count_total: bool,
) -> StoreResult<Page> {
    let mut ended = false;
    let (mut rows, total) = if f.q.is_some() {
        let (rows, n) = search(db, f, Cursor::skip(cursor), limit + 1).await?;
        let carried = cursor.and_then(Cursor::total);
        (rows, carried.or(count_total.then_some(n)))
    } else if f.from.is_some() && f.to.is_some() && f.from > f.to {
        (Vec::new(), count_total.then_some(0))
    } else {
        let (mut sql, vars) = list_sql(f, cursor, limit + 1);
        let carried = cursor.and_then(Cursor::total);
        let counting = carried.is_none() && count_total;
        let mut minus = false;
        let mut vars = vars;
        if counting {
            // The page and its total in one round trip.
            let (count, m, count_vars) = count_sql(f);
            sql.push_str(&count);
            minus = m;
            if let (Some(v), Some(extra)) = (vars.as_object_mut(), count_vars.as_object()) {
                for (k, x) in extra {
                    v.entry(k.clone()).or_insert_with(|| x.clone());
                }
            }
        }
        let mut res = db.query(&sql, vars).await?;
        let mut rows: Vec<EntryRow> = res.take(0)?;
        ended = cut_before(f, &mut rows);
        let total = match carried {
            Some(t) => Some(t),
            None if counting => Some(read_count(&mut res, 1, minus)?),
            None => None,
        };
        (rows, total)
    };
    let more = !ended && rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if !more {
        None
    } else if f.q.is_some() {
        Some(Cursor::Offset {
            skip: Cursor::skip(cursor) + u64::from(limit),
            total,
        })
    } else {
        rows.last().map(|r| Cursor::After {
            date: r.date.to_string(),
            id: r.id.clone(),
            total,
        })
    };
    Ok(Page { rows, next, total })
}

/// A value with how many entries carry it.
#[derive(Debug, Clone, Deserialize)]
pub struct Facet {
    #[serde(rename = "name")]
    pub value: String,
    pub count: u64,
}

/// Tags with their entry counts, most used first.
pub async fn tag_facets(db: &TenantDb) -> StoreResult<Vec<Facet>> {
    // `SPLIT` keeps an entry without tags as one row whose `tags` is the empty array
    // itself, so those rows are left out before splitting.
    db.query(
        "SELECT name, count FROM (
            SELECT tags AS name, count() AS count FROM (
                SELECT tags FROM worklog WHERE array::len(tags) > 0 SPLIT tags
            ) GROUP BY name
         ) WHERE name != NONE ORDER BY count DESC, name ASC;",
        json!({}),
    )
    .await?
    .take(0)
}

/// Projects with their entry counts, most used first.
pub async fn project_facets(db: &TenantDb) -> StoreResult<Vec<Facet>> {
    db.query(
        "SELECT name, count FROM (
            SELECT project AS name, count() AS count FROM worklog WHERE project != NONE GROUP BY name
         ) ORDER BY count DESC, name ASC;",
        json!({}),
    )
    .await?
    .take(0)
}

/// When `author_id`'s `n`-th most recent entry was created (the hourly creation quota:
/// if that is within the hour, the quota is used up until an hour after it).
///
/// Reads at most `n` index entries however long the log is: the newest-first scan of
/// `(author_id, created_at)` stops at the `n`-th. Counting "entries since an hour ago"
/// instead read every entry of the author, because the planner only narrows an index
/// range by a literal or `LET` value, not by a `<datetime>` cast of a parameter.
pub async fn nth_newest_created(
    db: &TenantDb,
    author_id: &str,
    n: u32,
) -> StoreResult<Option<DateTime<Utc>>> {
    #[derive(Deserialize)]
    struct Row {
        created_at: DateTime<Utc>,
    }
    Ok(db
        .query(
            "SELECT created_at FROM worklog WHERE author_id = $author AND import_key = NONE
             ORDER BY created_at DESC LIMIT 1 START $skip;",
            json!({"author": author_id, "skip": n.saturating_sub(1)}),
        )
        .await?
        .first::<Row>(0)?
        .map(|r| r.created_at))
}

/// Which of `keys` already exist (imports skip them).
/// Which of `keys` (author-scoped import keys) are stored, and which of `legacy` (bare
/// content keys of entries imported before keys were scoped) `author` stored.
pub async fn existing_import_keys(
    db: &TenantDb,
    author: &str,
    keys: &[String],
    legacy: &[String],
) -> StoreResult<Vec<String>> {
    // Two statements, each an index lookup (an OR would scan the table).
    let mut rows = db
        .query(
            "SELECT VALUE import_key FROM worklog WHERE import_key IN $keys;
             SELECT VALUE import_key FROM worklog WHERE import_key IN $legacy AND author_id = $author;",
            json!({"keys": keys, "legacy": legacy, "author": author}),
        )
        .await?;
    let mut found: Vec<String> = rows.take(0)?;
    found.extend(rows.take::<String>(1)?);
    Ok(found)
}

/// Entries `author` imported since `since`.
pub async fn imported_since(db: &TenantDb, author: &str, since: DateTime<Utc>) -> StoreResult<u64> {
    #[derive(Deserialize)]
    struct Row {
        n: u64,
    }
    Ok(db
        .query(
            "SELECT count() AS n FROM worklog WHERE author_id = $author AND created_at > <datetime>$since AND import_key != NONE GROUP ALL;",
            json!({"author": author, "since": since.to_rfc3339()}),
        )
        .await?
        .first::<Row>(0)?
        .map_or(0, |r| r.n))
}

/// Stores the result of `worklog.analyze` on the entry version it analysed.
pub async fn set_analysis(
    db: &TenantDb,
    id: &str,
    version: u32,
    analysis: serde_json::Value,
) -> StoreResult<bool> {
    let rows = db
        .query(
            "UPDATE type::record('worklog', $id) SET analysis = $analysis WHERE version = $version RETURN record::id(id) AS id;",
            json!({"id": id, "version": version, "analysis": analysis}),
        )
        .await;
    db.worklog_changed(Some(&[]));
    let rows: Vec<serde_json::Value> = rows?.take(0)?;
    Ok(!rows.is_empty())
}

// ------------------------------------------------------------------ attachments

/// An evidence attachment as stored.
#[derive(Debug, Clone, Deserialize)]
pub struct AttachmentRow {
    pub id: String,
    pub entry_id: String,
    pub author_id: String,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub storage_key: String,
    pub created_at: DateTime<Utc>,
}

const ATTACHMENT_FIELDS: &str = "record::id(id) AS id, entry_id, author_id, filename, content_type, size, sha256, storage_key, created_at";

/// A stored object to record as an attachment.
#[derive(Debug, Clone)]
pub struct NewAttachment<'a> {
    pub id: &'a str,
    pub entry_id: &'a str,
    pub author_id: &'a str,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size: u64,
    pub sha256: &'a str,
    pub storage_key: &'a str,
}

/// Records an attachment and bumps the entry's version and attachment count, in one
/// transaction. `None` if the entry no longer exists.
pub async fn add_attachment(
    db: &TenantDb,
    a: &NewAttachment<'_>,
) -> StoreResult<Option<(AttachmentRow, EntryRow)>> {
    let sql = format!(
        "BEGIN TRANSACTION;
         IF (SELECT VALUE id FROM type::record('worklog', $entry)) = [] {{ THROW 'AR:not_found'; }};
         LET $att = (CREATE type::record('attachment', $id) CONTENT {{
             entry_id: $entry, author_id: $author, filename: $filename, content_type: $ct,
             size: $size, sha256: $sha, storage_key: $key }} RETURN {ATTACHMENT_FIELDS})[0];
         LET $entry_row = (UPDATE type::record('worklog', $entry) SET version += 1,
             attachment_count += 1, updated_at = time::now() RETURN {FIELDS})[0];
         RETURN {{ attachment: $att, entry: $entry_row }};
         COMMIT TRANSACTION;"
    );
    // Concurrent uploads to one entry all bump its version: a conflict is retried, the
    // attachment's object being written already.
    let res = db
        .query_retrying(
            &sql,
            json!({"id": a.id, "entry": a.entry_id, "author": a.author_id, "filename": a.filename,
                   "ct": a.content_type, "size": a.size, "sha": a.sha256, "key": a.storage_key}),
        )
        .await;
    db.worklog_changed(Some(&[]));
    #[derive(Deserialize)]
    struct Added {
        attachment: AttachmentRow,
        entry: EntryRow,
    }
    match res {
        Ok(mut rows) => Ok(rows
            .last::<Added>()?
            .into_iter()
            .next()
            .map(|a| (a.attachment, a.entry))),
        Err(StoreError::Thrown(code)) if code == "not_found" => Ok(None),
        Err(e) => Err(e),
    }
}

/// The attachments of an entry, oldest first.
pub async fn attachments_of(db: &TenantDb, entry_id: &str) -> StoreResult<Vec<AttachmentRow>> {
    let sql = format!(
        "SELECT {ATTACHMENT_FIELDS} FROM attachment WHERE entry_id = $entry ORDER BY id ASC;"
    );
    db.query(&sql, json!({"entry": entry_id})).await?.take(0)
}

/// One attachment.
pub async fn attachment(db: &TenantDb, id: &str) -> StoreResult<Option<AttachmentRow>> {
    let sql = format!("SELECT {ATTACHMENT_FIELDS} FROM type::record('attachment', $id);");
    db.query(&sql, json!({"id": id})).await?.first(0)
}

/// Removes an attachment row and decrements its entry's count (the entry version is not
/// bumped: removing evidence never earns rewards). Returns the removed row.
pub async fn remove_attachment(db: &TenantDb, id: &str) -> StoreResult<Option<AttachmentRow>> {
    let sql = "BEGIN TRANSACTION;
         LET $gone = (DELETE type::record('attachment', $id) RETURN BEFORE)[0];
         IF $gone != NONE {
             UPDATE type::record('worklog', $gone.entry_id) SET attachment_count -= 1, updated_at = time::now();
         };
         RETURN IF $gone = NONE { NONE } ELSE { {
             id: record::id($gone.id), entry_id: $gone.entry_id, author_id: $gone.author_id,
             filename: $gone.filename, content_type: $gone.content_type, size: $gone.size,
             sha256: $gone.sha256, storage_key: $gone.storage_key, created_at: $gone.created_at
         } };
         COMMIT TRANSACTION;";
    let gone = db.query(sql, json!({"id": id})).await;
    db.worklog_changed(Some(&[]));
    gone?.last::<AttachmentRow>().map(|v| v.into_iter().next())
}

/// Bytes of attachments the tenant stores (the storage quota).
pub async fn storage_used(db: &TenantDb) -> StoreResult<u64> {
    #[derive(Deserialize)]
    struct N {
        n: Option<u64>,
    }
    Ok(db
        .query(
            "SELECT math::sum(size) AS n FROM attachment GROUP ALL;",
            json!({}),
        )
        .await?
        .first::<N>(0)?
        .and_then(|n| n.n)
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn cursors_round_trip_with_and_without_a_total() {
        let id = "0192f0c4-7a1e-7c3b-9d2e-1f2a3b4c5d6e".to_string();
        for c in [
            Cursor::After {
                date: "2026-03-01".into(),
                id: id.clone(),
                total: None,
            },
            Cursor::After {
                date: "2026-03-01".into(),
                id,
                total: Some(1234),
            },
            Cursor::Offset {
                skip: 40,
                total: None,
            },
            Cursor::Offset {
                skip: 40,
                total: Some(7),
            },
        ] {
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
    }

    const MALFORMED: &[&str] = &[
        "k.",
        "k.2026-3-01.0192f0c4-7a1e-7c3b-9d2e-1f2a3b4c5d6e",
        "k.2026-03-01.not-a-uuid",
        "k.2026-03-01.0192f0c47a1e7c3b9d2e1f2a3b4c5d6e",
        "k.2026-03-01.{0192f0c4-7a1e-7c3b-9d2e-1f2a3b4c5d6e}",
        "k.2026-03-01.0192f0c4-7a1e-7c3b-9d2e-1f2a3b4c5d6e.x",
        "k.2026-03-01.0192f0c4-7a1e-7c3b-9d2e-1f2a3b4c5d6e.",
        "o.",
        "o.-1",
        "o.+1",
        "o. 1",
        "o.12345678901234567890",
        "o.5.many",
        "o.5.6.7",
        "x.5",
    ];

    /// Accepted although no page hands them out: the date is only a sort position.
    const ODD_BUT_WELL_FORMED: &[&str] = &[
        "k.2026-13-01.0192f0c4-7a1e-7c3b-9d2e-1f2a3b4c5d6e",
        "k.0000-00-00.0192F0C4-7A1E-7C3B-9D2E-1F2A3B4C5D6E.0",
        "o.9999999999999999999.0",
    ];

    #[test]
    fn malformed_cursors_are_refused() {
        for bad in MALFORMED {
            assert_eq!(Cursor::decode(bad), None, "{bad:?}");
        }
        for odd in ODD_BUT_WELL_FORMED {
            assert!(Cursor::decode(odd).is_some(), "{odd:?}");
        }
    }

    /// The API document's pattern says exactly what `decode` takes (the empty string is
    /// the first page, which the handler answers before decoding).
    #[test]
    fn the_documented_pattern_matches_decode() {
        let pattern = regex::Regex::new(Cursor::PATTERN).unwrap();
        assert!(pattern.is_match(""));
        for good in ODD_BUT_WELL_FORMED
            .iter()
            .chain(["o.0", "k.2026-03-01.0192f0c4-7a1e-7c3b-9d2e-1f2a3b4c5d6e"].iter())
        {
            assert!(pattern.is_match(good), "{good:?}");
        }
        for bad in MALFORMED {
            assert!(!pattern.is_match(bad), "{bad:?}");
        }
    }
}

/// What an author has done in a workspace so far (the first-run checklist): each is
/// whether at least one exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Firsts {
    pub entry: bool,
    pub outcome: bool,
    pub evidence: bool,
    pub report: bool,
}

pub async fn firsts(db: &TenantDb, author_id: &str) -> StoreResult<Firsts> {
    db.query(
        "RETURN {
            entry: count(SELECT id FROM worklog WHERE author_id = $a LIMIT 1) > 0,
            outcome: count(SELECT id FROM worklog WHERE author_id = $a AND outcome != NONE AND outcome != '' LIMIT 1) > 0,
            evidence: count(SELECT id FROM attachment WHERE author_id = $a LIMIT 1) > 0,
            report: count(SELECT id FROM report WHERE author_id = $a LIMIT 1) > 0
        };",
        json!({"a": author_id}),
    )
    .await?
    .first(0)
    .map(Option::unwrap_or_default)
}
