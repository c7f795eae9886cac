//! The work-log repository against the real embedded database: full-text ranking with
//! stemming, facets, keyset pagination, optimistic updates, attachments and import keys.

use afterresume::store::worklogs::{self as repo, Cursor, EntryFields, ListFilter, UpdateError};
use afterresume::store::{Store, TenantDb, TenantId};
use chrono::NaiveDate;

fn fields(
    date: &str,
    title: &str,
    content: &str,
    tags: &[&str],
    project: Option<&str>,
) -> EntryFields {
    EntryFields {
        date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
        title: title.into(),
        content: content.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        outcome: None,
        project: project.map(str::to_string),
    }
}

async fn db() -> TenantDb {
    let store = Store::memory().await.unwrap();
    store.tenant(TenantId(uuid::Uuid::now_v7())).await.unwrap()
}

async fn put(db: &TenantDb, f: EntryFields) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    repo::create(db, &id, "author-1", &f, None)
        .await
        .unwrap()
        .unwrap();
    id
}

#[tokio::test]
async fn full_text_search_ranks_and_stems() {
    let db = db().await;
    let runbook = put(
        &db,
        fields(
            "2026-11-03",
            "Deployment runbook",
            "Wrote the runbook for on-call engineers",
            &["docs"],
            None,
        ),
    )
    .await;
    put(
        &db,
        fields(
            "2026-11-01",
            "Billing",
            "Deployed the billing service to production",
            &["deploy"],
            None,
        ),
    )
    .await;
    put(
        &db,
        fields(
            "2026-11-02",
            "Reviews",
            "Reviewed pull requests about caching",
            &[],
            None,
        ),
    )
    .await;
    let q = |s: &str| ListFilter {
        q: Some(s.into()),
        ..ListFilter::default()
    };
    let rows = repo::list(&db, &q("deploying"), None, 10).await.unwrap();
    assert_eq!(rows.len(), 2, "stemming matches deployed/deployment");
    // A word in 2 of 3 entries has no BM25 weight (its idf is clamped at 0), so these two
    // tie on score and the newer day comes first.
    assert_eq!(rows[0].id, runbook, "{rows:?}");
    assert!(rows.iter().all(|r| r.score.is_some()));
    let rows = repo::list(&db, &q("runbook"), None, 10).await.unwrap();
    assert_eq!(rows[0].id, runbook);
    assert_eq!(repo::count(&db, &q("caching")).await.unwrap(), 1);
    assert_eq!(repo::count(&db, &q("nothing-like-this")).await.unwrap(), 0);
}

#[tokio::test]
async fn facets_filters_and_keyset_pages() {
    let db = db().await;
    for i in 0..25 {
        let tags: &[&str] = if i % 2 == 0 {
            &["rust", "api"]
        } else {
            &["rust"]
        };
        put(
            &db,
            fields(
                &format!("2026-10-{:02}", 1 + i % 5),
                &format!("t{i}"),
                &format!("entry {i}"),
                tags,
                (i % 3 == 0).then_some("Core"),
            ),
        )
        .await;
    }
    let tags = repo::tag_facets(&db).await.unwrap();
    assert_eq!((tags[0].value.as_str(), tags[0].count), ("rust", 25));
    assert_eq!((tags[1].value.as_str(), tags[1].count), ("api", 13));
    let projects = repo::project_facets(&db).await.unwrap();
    assert_eq!((projects[0].value.as_str(), projects[0].count), ("Core", 9));
    let f = ListFilter {
        tag: Some("api".into()),
        ..ListFilter::default()
    };
    assert_eq!(repo::count(&db, &f).await.unwrap(), 13);
    // Keyset pages cover everything once, in (date desc, id desc) order.
    let all = ListFilter::default();
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = repo::list(&db, &all, cursor.as_ref(), 4).await.unwrap();
        if page.is_empty() {
            break;
        }
        cursor = page.last().map(|r| Cursor::After {
            date: r.date.to_string(),
            id: r.id.clone(),
            total: None,
        });
        seen.extend(page.into_iter().map(|r| (r.date.to_string(), r.id)));
    }
    assert_eq!(seen.len(), 25);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted);
    let offset = Cursor::Offset {
        skip: 7,
        total: None,
    };
    assert_eq!(Cursor::decode(&offset.encode()), Some(offset));
    assert_eq!(Cursor::decode("k.2026-13-01.x"), None);
}

#[tokio::test]
async fn updates_are_optimistic_and_attachments_bump_versions() {
    let db = db().await;
    let id = put(&db, fields("2026-11-01", "a", "first", &[], None)).await;
    let row = repo::update(&db, &id, 1, &fields("2026-11-01", "a", "second", &[], None))
        .await
        .unwrap();
    assert_eq!(row.version, 2);
    match repo::update(&db, &id, 1, &fields("2026-11-01", "a", "third", &[], None)).await {
        Err(UpdateError::Stale { current }) => assert_eq!(current, 2),
        other => panic!("expected a stale version, got {other:?}"),
    }
    assert!(matches!(
        repo::update(
            &db,
            &uuid::Uuid::now_v7().to_string(),
            1,
            &fields("2026-11-01", "a", "x", &[], None)
        )
        .await,
        Err(UpdateError::NotFound)
    ));
    let att = repo::NewAttachment {
        id: &uuid::Uuid::now_v7().to_string(),
        entry_id: &id,
        author_id: "author-1",
        filename: "a.png",
        content_type: "image/png",
        size: 1234,
        sha256: "00",
        storage_key: "t/x/attachments/a",
    };
    let (a, entry) = repo::add_attachment(&db, &att).await.unwrap().unwrap();
    assert_eq!((entry.version, entry.attachment_count), (3, 1));
    assert_eq!(repo::storage_used(&db).await.unwrap(), 1234);
    assert_eq!(repo::attachments_of(&db, &id).await.unwrap().len(), 1);
    let gone = repo::remove_attachment(&db, &a.id).await.unwrap().unwrap();
    assert_eq!(gone.storage_key, "t/x/attachments/a");
    assert_eq!(
        repo::get(&db, &id).await.unwrap().unwrap().attachment_count,
        0
    );
    assert_eq!(repo::storage_used(&db).await.unwrap(), 0);
    let (_, _) = repo::add_attachment(&db, &att).await.unwrap().unwrap();
    let keys = repo::delete(&db, &id).await.unwrap().unwrap();
    assert_eq!(keys, vec!["t/x/attachments/a".to_string()]);
    assert!(repo::delete(&db, &id).await.unwrap().is_none());
    assert!(repo::attachments_of(&db, &id).await.unwrap().is_empty());
}

#[tokio::test]
async fn import_keys_prevent_duplicates() {
    let db = db().await;
    let f = fields("2026-11-01", "a", "imported", &[], None);
    let id = uuid::Uuid::now_v7().to_string();
    assert!(repo::create(&db, &id, "u", &f, Some("key-1"))
        .await
        .unwrap()
        .is_some());
    let id2 = uuid::Uuid::now_v7().to_string();
    assert!(repo::create(&db, &id2, "u", &f, Some("key-1"))
        .await
        .unwrap()
        .is_none());
    let found = repo::existing_import_keys(&db, "v", &["key-1".into(), "key-2".into()], &[])
        .await
        .unwrap();
    assert_eq!(found, vec!["key-1".to_string()]);
    // A bare (unscoped) key counts only for the author who stored it.
    let legacy = ["key-1".to_string()];
    let mine = repo::existing_import_keys(&db, "u", &[], &legacy)
        .await
        .unwrap();
    assert_eq!(mine, vec!["key-1".to_string()]);
    let theirs = repo::existing_import_keys(&db, "v", &[], &legacy)
        .await
        .unwrap();
    assert!(theirs.is_empty());
}

// Pages with totals carried by the cursor, over days shared by many entries, with
// combined filters and the single full-text index (`search_text`).
fn entry(day: u32, title: &str, content: &str, tag: &str) -> EntryFields {
    EntryFields {
        date: NaiveDate::from_ymd_opt(2026, 3, day).unwrap(),
        title: title.to_string(),
        content: content.to_string(),
        tags: vec![tag.to_string()],
        outcome: None,
        project: Some(if day.is_multiple_of(2) { "even" } else { "odd" }.to_string()),
    }
}

async fn walk_pages(db: &TenantDb, f: &ListFilter, limit: u32) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut first_total = None;
    loop {
        let page = repo::page(db, f, cursor.as_ref(), limit, true)
            .await
            .unwrap();
        assert!(page.rows.len() <= limit as usize);
        let total = page.total.expect("a total on every page");
        // The first page's count is carried, not recounted.
        assert_eq!(*first_total.get_or_insert(total), total);
        seen.extend(page.rows.iter().map(|r| (r.date.to_string(), r.id.clone())));
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        first_total,
        Some(seen.len() as u64),
        "total matches the rows walked"
    );
    seen
}

#[tokio::test]
async fn keyset_pages_filters_and_ranked_search() {
    let db = db().await;
    // 60 entries over 6 days: 10 share each day, so pages split inside a day.
    let mut items = Vec::new();
    for i in 0..60u32 {
        let day = 1 + i % 6;
        let (title, content) = match i {
            7 => ("Kubernetes upgrade", "moved the cluster to the new version"),
            8 => ("Weekly sync", "talked about kubernetes briefly"),
            9 => ("Deploying the billing service", "smooth"),
            _ => (
                "Routine work",
                "reviewed pull requests and answered questions",
            ),
        };
        let tag = if i % 3 == 0 { "review" } else { "ops" };
        items.push((
            uuid::Uuid::now_v7().to_string(),
            entry(day, title, content, tag),
            format!("key-{i}"),
        ));
    }
    repo::create_many(&db, "author-1", &items).await.unwrap();

    let all = ListFilter::default();
    let seen = walk_pages(&db, &all, 7).await;
    assert_eq!(seen.len(), 60);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(
        seen, sorted,
        "newest day first, then id descending, no repeats"
    );

    let filtered = ListFilter {
        tag: Some("review".into()),
        project: Some("even".into()),
        ..ListFilter::default()
    };
    let seen = walk_pages(&db, &filtered, 3).await;
    let expected = (0..60u32)
        .filter(|i| i % 3 == 0 && (1 + i % 6) % 2 == 0)
        .count();
    assert_eq!(seen.len(), expected);

    let search = |q: &str| ListFilter {
        q: Some(q.to_string()),
        ..ListFilter::default()
    };
    let page = repo::page(&db, &search("kubernetes"), None, 10, true)
        .await
        .unwrap();
    let titles: Vec<&str> = page.rows.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(
        titles,
        ["Kubernetes upgrade", "Weekly sync"],
        "title match ranks first"
    );
    assert_eq!(page.total, Some(2));
    // Stemming: "deployed" finds "Deploying".
    let page = repo::page(&db, &search("deployed"), None, 10, true)
        .await
        .unwrap();
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.rows[0].title, "Deploying the billing service");
    // Ranked pages by offset cover every match once.
    let seen = walk_pages(&db, &search("routine"), 10).await;
    assert_eq!(seen.len(), 57);
    let mut ids: Vec<_> = seen.iter().map(|s| s.1.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 57);

    // Editing an entry recomputes its search text (and the search index reads it again).
    let (id, f, _) = &items[8];
    let edited = EntryFields {
        content: "nothing about clusters".into(),
        ..f.clone()
    };
    repo::update(&db, id, 1, &edited).await.unwrap();
    let page = repo::page(&db, &search("kubernetes"), None, 10, true)
        .await
        .unwrap();
    assert_eq!(page.rows.len(), 1);
}

#[tokio::test]
async fn nth_newest_created_reads_the_authors_own_entries_newest_first() {
    let db = db().await;
    let mut created = Vec::new();
    for i in 0..5 {
        let id = put(
            &db,
            fields("2026-11-01", "", &format!("entry {i}"), &[], None),
        )
        .await;
        created.push(repo::get(&db, &id).await.unwrap().unwrap().created_at);
    }
    // Another author's entries are not counted.
    repo::create(
        &db,
        &uuid::Uuid::now_v7().to_string(),
        "author-2",
        &fields("2026-11-01", "", "someone else", &[], None),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        repo::nth_newest_created(&db, "author-1", 1).await.unwrap(),
        Some(created[4])
    );
    assert_eq!(
        repo::nth_newest_created(&db, "author-1", 3).await.unwrap(),
        Some(created[2])
    );
    assert_eq!(
        repo::nth_newest_created(&db, "author-1", 5).await.unwrap(),
        Some(created[0])
    );
    assert_eq!(
        repo::nth_newest_created(&db, "author-1", 6).await.unwrap(),
        None
    );
    assert_eq!(
        repo::nth_newest_created(&db, "nobody", 1).await.unwrap(),
        None
    );
}

/// Seeds `n` entries over a year with three tags, two authors and two projects.
async fn seeded(n: u32) -> (TenantDb, Vec<(String, EntryFields, String)>) {
    let db = db().await;
    let mut items = Vec::new();
    for i in 0..n {
        let date = NaiveDate::from_ymd_opt(2026, 1 + i % 12, 1 + (i * 7) % 28).unwrap();
        items.push((
            uuid::Uuid::now_v7().to_string(),
            EntryFields {
                date,
                title: format!("entry {i}"),
                content: "routine work on the platform".into(),
                tags: vec![["a", "b", "c"][(i % 3) as usize].to_string(), "all".into()],
                outcome: None,
                project: (i % 4 == 0).then(|| "apollo".to_string()),
            },
            format!("seed-{i}"),
        ));
    }
    for (author, half) in [("author-1", 0), ("author-2", 1)] {
        let mine: Vec<_> = items.iter().skip(half).step_by(2).cloned().collect();
        repo::create_many(&db, author, &mine).await.unwrap();
    }
    (db, items)
}

fn filters() -> Vec<(&'static str, ListFilter)> {
    let d = |s: &str| Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
    vec![
        ("all", ListFilter::default()),
        (
            "tag",
            ListFilter {
                tag: Some("b".into()),
                ..Default::default()
            },
        ),
        (
            "date range",
            ListFilter {
                from: d("2026-03-01"),
                to: d("2026-09-30"),
                ..Default::default()
            },
        ),
        (
            "from only",
            ListFilter {
                from: d("2026-10-15"),
                ..Default::default()
            },
        ),
        (
            "to only",
            ListFilter {
                to: d("2026-02-10"),
                ..Default::default()
            },
        ),
        (
            "tag + date range",
            ListFilter {
                tag: Some("a".into()),
                from: d("2026-03-01"),
                to: d("2026-09-30"),
                ..Default::default()
            },
        ),
        (
            "author",
            ListFilter {
                author_id: Some("author-2".into()),
                ..Default::default()
            },
        ),
        (
            "project + from",
            ListFilter {
                project: Some("apollo".into()),
                from: d("2026-06-01"),
                ..Default::default()
            },
        ),
        (
            "tag + author",
            ListFilter {
                tag: Some("c".into()),
                author_id: Some("author-1".into()),
                ..Default::default()
            },
        ),
        (
            "empty range",
            ListFilter {
                from: d("2026-05-02"),
                to: d("2026-05-01"),
                ..Default::default()
            },
        ),
    ]
}

fn matches(f: &ListFilter, i: usize, item: &(String, EntryFields, String)) -> bool {
    let e = &item.1;
    let author = if i.is_multiple_of(2) {
        "author-1"
    } else {
        "author-2"
    };
    f.from.is_none_or(|d| e.date >= d)
        && f.to.is_none_or(|d| e.date <= d)
        && f.tag.as_ref().is_none_or(|t| e.tags.contains(t))
        && f.project
            .as_ref()
            .is_none_or(|p| e.project.as_ref() == Some(p))
        && f.author_id.as_ref().is_none_or(|a| a == author)
}

#[tokio::test]
async fn keyset_pages_under_every_filter_match_a_full_scan() {
    let (db, items) = seeded(240).await;
    for (name, f) in filters() {
        let mut expected: Vec<(String, String)> = items
            .iter()
            .enumerate()
            .filter(|(i, it)| matches(&f, *i, it))
            .map(|(_, it)| (it.1.date.format("%Y-%m-%d").to_string(), it.0.clone()))
            .collect();
        expected.sort_by(|a, b| b.cmp(a));
        for limit in [1, 7, 50] {
            let seen = walk_pages(&db, &f, limit).await;
            assert_eq!(seen, expected, "{name}, pages of {limit}");
        }
        assert_eq!(
            repo::count(&db, &f).await.unwrap(),
            expected.len() as u64,
            "{name}"
        );
    }
}

/// The plans of every first-page statement: the page is one index scan that stops at
/// its LIMIT, and each total is counted from index keys, never by reading records.
#[tokio::test]
async fn listing_plans_read_only_the_page_and_count_keys() {
    let (db, _) = seeded(240).await;
    for (name, f) in filters() {
        if name == "tag + author" || name == "empty range" {
            // A leftover filter is checked per row, and an empty range runs nothing.
            continue;
        }
        let statements = repo::first_page_statements(&f, 51);
        for (i, (sql, vars)) in statements.iter().enumerate() {
            let explain = format!("EXPLAIN ANALYZE FORMAT TEXT {}", sql.trim_end_matches(';'));
            let plan: Vec<serde_json::Value> = db
                .query(&explain, vars.clone())
                .await
                .unwrap()
                .take(0)
                .unwrap();
            let plan = plan
                .iter()
                .map(|l| l.as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                !plan.contains("TableScan") && !plan.contains("BitmapResolve"),
                "{name} #{i}:\n{plan}"
            );
            if i == 0 {
                let index = match f {
                    ListFilter { tag: Some(_), .. } => "worklog_tag_list",
                    ListFilter {
                        author_id: Some(_), ..
                    } => "worklog_author_list",
                    ListFilter {
                        project: Some(_), ..
                    } => "worklog_project_list",
                    _ => "worklog_list",
                };
                assert!(plan.contains(&format!("index: {index}")), "{name}:\n{plan}");
                let scan = plan
                    .lines()
                    .find(|l| l.contains("IndexScan"))
                    .unwrap_or_default();
                let rows: u64 = scan
                    .split("{rows: ")
                    .nth(1)
                    .and_then(|r| r.split(',').next())
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(u64::MAX);
                assert!(
                    scan.contains("limit: $limit") && rows <= 51,
                    "{name}: the scan stops at the page\n{plan}"
                );
            } else {
                assert!(
                    plan.contains("CountScan"),
                    "{name} count #{i} counts keys:\n{plan}"
                );
            }
        }
    }
}

/// First pages are cached for an embedded store and every write of the repository
/// makes them stale at once: a page read after a write always shows it.
#[tokio::test]
async fn cached_first_pages_follow_every_write() {
    let db = db().await;
    let titles = |p: &repo::Page| p.rows.iter().map(|r| r.title.clone()).collect::<Vec<_>>();
    let all = ListFilter::default();
    let first = || repo::page(&db, &all, None, 10, true);
    let a = put(
        &db,
        fields("2026-11-01", "a", "first entry here", &["x"], None),
    )
    .await;
    assert_eq!(titles(&first().await.unwrap()), ["a"]);
    // A write that bypasses the repository isn't seen: the page comes from the cache.
    db.query(
        "UPDATE type::record('worklog', $id) SET title = 'changed behind its back';",
        serde_json::json!({"id": a}),
    )
    .await
    .unwrap();
    assert_eq!(
        titles(&first().await.unwrap()),
        ["a"],
        "served from the cache"
    );
    // Every repository write is.
    let b = put(
        &db,
        fields("2026-11-02", "b", "second entry here", &[], None),
    )
    .await;
    let p = first().await.unwrap();
    assert_eq!(
        (titles(&p), p.total),
        (
            vec!["b".to_string(), "changed behind its back".to_string()],
            Some(2)
        )
    );
    let row = repo::update(&db, &b, 1, &fields("2026-11-02", "b2", "edited", &[], None))
        .await
        .unwrap();
    assert_eq!(titles(&first().await.unwrap())[0], "b2");
    repo::set_analysis(&db, &b, row.version, serde_json::json!({"summary": "s"}))
        .await
        .unwrap();
    assert!(first().await.unwrap().rows[0].analysis.is_some());
    repo::delete(&db, &b).await.unwrap();
    let p = first().await.unwrap();
    assert_eq!((p.rows.len(), p.total), (1, Some(1)));
    // Filters and limits are cached apart.
    let tagged = ListFilter {
        tag: Some("x".into()),
        ..Default::default()
    };
    assert_eq!(
        repo::page(&db, &tagged, None, 5, true)
            .await
            .unwrap()
            .rows
            .len(),
        1
    );
    assert_eq!(
        repo::page(
            &db,
            &ListFilter {
                tag: Some("y".into()),
                ..Default::default()
            },
            None,
            5,
            true
        )
        .await
        .unwrap()
        .rows
        .len(),
        0
    );
}

/// The in-memory search index (used with an embedded store) finds exactly what the
/// database's own full-text index matches for whole words, and more for a word's
/// beginning; ranks common words with non-zero scores; and follows every write.
#[tokio::test]
async fn in_memory_search_matches_the_full_text_index_and_follows_writes() {
    let db = db().await;
    let words = [
        "deployed", "billing", "service", "caching", "latency", "database", "review",
    ];
    let mut items = Vec::new();
    for i in 0..300u32 {
        let pick = |k: u32| words[((i * 7 + k * 3) % words.len() as u32) as usize];
        let content = format!(
            "{} the {} and {} {}",
            pick(0),
            pick(1),
            pick(2),
            "notes ".repeat((i % 5) as usize)
        );
        items.push((
            uuid::Uuid::now_v7().to_string(),
            fields("2026-05-01", &format!("t{i}"), &content, &["x"], None),
            format!("s{i}"),
        ));
    }
    repo::create_many(&db, "author-1", &items).await.unwrap();
    let search = |q: &str| ListFilter {
        q: Some(q.into()),
        ..Default::default()
    };
    // The first search starts the index's build and is answered by the database.
    let first = repo::page(&db, &search("review"), None, 500, true)
        .await
        .unwrap();
    assert!(
        first.total.is_some_and(|n| n > 0),
        "answered while building"
    );
    repo::warm_search(&db).await.unwrap();
    for q in [
        // In 4 of 5 entries: the database's BM25 scores it 0, the index must not.
        "notes",
        "deploying",
        "billing service",
        "caching latency database",
        "review",
        "unknownword",
        "DEPLOYED, billing!",
    ] {
        let mut full: Vec<String> = db
            .query(
                "SELECT VALUE record::id(id) FROM worklog WHERE search_text @0@ $q;",
                serde_json::json!({"q": q}),
            )
            .await
            .unwrap()
            .take(0)
            .unwrap();
        full.sort();
        let page = repo::page(&db, &search(q), None, 500, true).await.unwrap();
        let mut ours: Vec<String> = page.rows.iter().map(|r| r.id.clone()).collect();
        ours.sort();
        assert_eq!(ours, full, "{q}: same matches as the full-text index");
        assert_eq!(page.total, Some(full.len() as u64), "{q}");
        if !full.is_empty() {
            assert!(
                page.rows.iter().all(|r| r.score.is_some_and(|s| s > 0.0)),
                "{q}: every match scores"
            );
            let scores: Vec<f64> = page.rows.iter().filter_map(|r| r.score).collect();
            assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{q}: best first");
        }
    }
    // A word's beginning finds the word, where the database's index finds nothing.
    let pg = put(
        &db,
        fields("2026-05-02", "pg", "Tuned PostgreSQL", &[], None),
    )
    .await;
    let page = repo::page(&db, &search("postgres"), None, 10, true)
        .await
        .unwrap();
    assert_eq!(
        page.rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [pg.as_str()]
    );
    let whole: Vec<String> = db
        .query(
            "SELECT VALUE record::id(id) FROM worklog WHERE search_text @0@ 'postgres';",
            serde_json::json!({}),
        )
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert!(whole.is_empty(), "{whole:?}");
    repo::delete(&db, &pg).await.unwrap();
    // Shorter entries with the same words rank higher (length normalisation).
    let short = put(&db, fields("2026-05-02", "s", "zebra", &[], None)).await;
    put(
        &db,
        fields(
            "2026-05-02",
            "l",
            &format!("zebra {}", "filler words here ".repeat(20)),
            &[],
            None,
        ),
    )
    .await;
    let page = repo::page(&db, &search("zebra"), None, 10, true)
        .await
        .unwrap();
    assert_eq!(page.rows[0].id, short);
    // It follows writes: an edit re-indexes, a delete removes, an import adds.
    repo::update(
        &db,
        &short,
        1,
        &fields("2026-05-02", "s", "giraffe", &[], None),
    )
    .await
    .unwrap();
    assert_eq!(
        repo::page(&db, &search("zebra"), None, 10, true)
            .await
            .unwrap()
            .total,
        Some(1)
    );
    assert_eq!(
        repo::page(&db, &search("giraffe"), None, 10, true)
            .await
            .unwrap()
            .total,
        Some(1)
    );
    repo::delete(&db, &short).await.unwrap();
    assert_eq!(
        repo::page(&db, &search("giraffe"), None, 10, true)
            .await
            .unwrap()
            .total,
        Some(0)
    );
    let more = vec![(
        uuid::Uuid::now_v7().to_string(),
        fields("2026-05-03", "g", "giraffe again", &[], None),
        "g1".to_string(),
    )];
    repo::create_many(&db, "author-2", &more).await.unwrap();
    let page = repo::page(&db, &search("giraffe"), None, 10, true)
        .await
        .unwrap();
    assert_eq!(
        (page.total, page.rows[0].id.clone()),
        (Some(1), more[0].0.clone())
    );
    // Filters apply to the matches.
    let f = ListFilter {
        q: Some("giraffe".into()),
        author_id: Some("author-1".into()),
        ..Default::default()
    };
    assert_eq!(
        repo::page(&db, &f, None, 10, true).await.unwrap().total,
        Some(0)
    );
}
