//! Share links against the clock, without waiting for it: opening takes the time as an
//! argument, so a link can be opened just before and just after its expiry.

use afterresume::store::documents::{create_share, open_share, NewShare};
use afterresume::store::Store;
use chrono::{Duration, Utc};

#[tokio::test]
async fn a_link_opens_until_its_expiry_and_counts_each_view() {
    let store = Store::memory().await.unwrap();
    let db = store.platform();
    let now = Utc::now();
    let expires_at = now + Duration::seconds(2);
    create_share(
        db,
        &NewShare {
            id: "0190b0b0-0000-7000-8000-000000000001",
            token_hash: "hash-of-the-token",
            tenant_id: "0190b0b0-0000-7000-8000-0000000000aa".parse().unwrap(),
            kind: "report",
            doc_id: "0190b0b0-0000-7000-8000-0000000000bb",
            created_by: "0190b0b0-0000-7000-8000-0000000000cc",
            expires_at,
        },
    )
    .await
    .unwrap();

    let open = |at| open_share(db, "hash-of-the-token", at);
    let first = open(now).await.unwrap().expect("open before its expiry");
    assert_eq!(first.views, 1);
    let last = open(expires_at - Duration::milliseconds(1)).await.unwrap();
    assert_eq!(
        last.map(|l| l.views),
        Some(2),
        "open a moment before it expires"
    );
    assert!(
        open(expires_at).await.unwrap().is_none(),
        "gone at its expiry"
    );
    assert!(
        open(expires_at + Duration::days(1))
            .await
            .unwrap()
            .is_none(),
        "and after it"
    );
    // An unknown token is never found, whatever the time.
    assert!(open_share(db, "another-hash", now).await.unwrap().is_none());
}
