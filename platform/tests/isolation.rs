//! Tenant isolation under concurrency: two tenants' operations interleaved across many
//! tasks through the real store (embedded surrealkv on disk, and mem://) must never see
//! each other's rows. See the design notes in `store/mod.rs`.

use std::sync::Arc;

use afterresume::store::events::EventFilter;
use afterresume::store::tenant::{append_event, get_event, list_events};
use afterresume::store::{Store, TenantId};

const TASKS: usize = 32;
const OPS_PER_TASK: usize = 40; // 32 × 40 = 1,280 operations, each a write and a read

async fn run_interleaved(store: Arc<Store>) {
    let a = TenantId(uuid::Uuid::now_v7());
    let b = TenantId(uuid::Uuid::now_v7());
    // Schemas first, as signup does (first writes into a missing table conflict).
    store.tenant(a).await.unwrap();
    store.tenant(b).await.unwrap();

    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = store.clone();
        // Even tasks work for A, odd for B; each task also re-fetches its handle from the
        // cache every operation, so handle lookup is exercised concurrently too.
        let me = if task % 2 == 0 { a } else { b };
        let other = if me == a { b } else { a };
        handles.push(tokio::spawn(async move {
            let mut crossings = 0usize;
            let mut mine = Vec::new();
            for op in 0..OPS_PER_TASK {
                let db = store.tenant(me).await.unwrap();
                let id = append_event(
                    &db,
                    "test.op",
                    None,
                    None,
                    &format!("{me}:{task}:{op}"),
                    serde_json::json!({"tenant": me.to_string()}),
                )
                .await
                .unwrap()
                .id;
                mine.push(id.clone());
                // Read back through a freshly looked-up handle.
                let row = get_event(&store.tenant(me).await.unwrap(), &id)
                    .await
                    .unwrap();
                match row {
                    Some(r)
                        if r.tenant_id == me.to_string()
                            && r.message.starts_with(&me.to_string()) => {}
                    other => {
                        eprintln!("own read wrong: {other:?}");
                        crossings += 1
                    }
                }
                // The other tenant must not see this row by id.
                if let Some(r) = get_event(&store.tenant(other).await.unwrap(), &id)
                    .await
                    .unwrap()
                {
                    eprintln!("other tenant sees {r:?}");
                    crossings += 1;
                }
                // Listing shows only own rows.
                let filter = EventFilter {
                    limit: 20,
                    ..Default::default()
                };
                let page = list_events(&db, &filter).await.unwrap();
                crossings += page
                    .iter()
                    .filter(|r| {
                        r.tenant_id != me.to_string() || !r.message.starts_with(&me.to_string())
                    })
                    .count();
                tokio::task::yield_now().await;
            }
            (me, mine, crossings)
        }));
    }
    let mut total_crossings = 0;
    let (mut count_a, mut count_b) = (0, 0);
    for h in handles {
        let (t, mine, crossings) = h.await.unwrap();
        total_crossings += crossings;
        if t == a {
            count_a += mine.len();
        } else {
            count_b += mine.len();
        }
    }
    assert_eq!(total_crossings, 0, "rows crossed tenants");
    assert_eq!(count_a + count_b, TASKS * OPS_PER_TASK);
    const { assert!(TASKS * OPS_PER_TASK >= 1_000) };

    // Totals per tenant database are exactly what that tenant wrote.
    for (t, n) in [(a, count_a), (b, count_b)] {
        let db = store.tenant(t).await.unwrap();
        let mut rows = db
            .query(
                "SELECT count() AS n FROM event GROUP ALL;",
                serde_json::json!({}),
            )
            .await
            .unwrap();
        let got: Vec<serde_json::Value> = rows.take(0).unwrap();
        assert_eq!(got[0]["n"].as_u64().unwrap() as usize, n, "tenant {t}");
        let mut rows = db
            .query(
                "SELECT count() AS n FROM event WHERE tenant_id != $t GROUP ALL;",
                serde_json::json!({"t": t.to_string()}),
            )
            .await
            .unwrap();
        let foreign: Vec<serde_json::Value> = rows.take(0).unwrap();
        let foreign_n = foreign.first().and_then(|v| v["n"].as_u64()).unwrap_or(0);
        assert_eq!(foreign_n, 0, "foreign rows in {t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_tenants_interleaved_on_surrealkv() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        &format!("surrealkv://{}/db", dir.path().display()),
        "afterresume",
    )
    .await
    .unwrap();
    run_interleaved(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_tenants_interleaved_in_memory() {
    run_interleaved(Store::memory().await.unwrap()).await;
}

#[tokio::test]
async fn platform_session_is_not_moved_by_tenant_sessions() {
    let store = Store::memory().await.unwrap();
    for _ in 0..20 {
        store.tenant(TenantId(uuid::Uuid::now_v7())).await.unwrap();
    }
    let mut rows = store
        .platform()
        .query(
            "RETURN [session::ns(), session::db()];",
            serde_json::json!({}),
        )
        .await
        .unwrap();
    let v: Vec<Option<String>> = rows.take(0).unwrap();
    assert_eq!(
        v,
        vec![
            Some("afterresume".to_string()),
            Some("platform".to_string())
        ]
    );
}

#[tokio::test]
async fn migrations_run_once_and_reopen_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("surrealkv://{}/db", dir.path().display());
    {
        let store = Store::open(&url, "afterresume").await.unwrap();
        let t = TenantId(uuid::Uuid::now_v7());
        let db = store.tenant(t).await.unwrap();
        append_event(&db, "x", None, None, "kept", serde_json::json!({}))
            .await
            .unwrap();
    }
    // Give the engine a moment to release its lock after the last handle dropped.
    let store = loop {
        match Store::open(&url, "afterresume").await {
            Ok(s) => break s,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    };
    let mut rows = store
        .platform()
        .query("SELECT version FROM migration;", serde_json::json!({}))
        .await
        .unwrap();
    let versions: Vec<serde_json::Value> = rows.take(0).unwrap();
    assert_eq!(
        versions.len(),
        afterresume::store::migrations::PLATFORM.len(),
        "each migration recorded once"
    );
}
