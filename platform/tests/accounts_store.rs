//! Store-level rules that are hard to reach over HTTP: expired passkeys and the
//! last-owner rule under concurrent demotions (write skew).

use afterresume::identity::tenancy::Role;
use afterresume::store::platform::{self, NewInvitation, NewUser, Signup};
use afterresume::store::Store;
use chrono::{Duration, Utc};

fn signup<'a>(hash: &'a str, email: &'a str) -> Signup<'a> {
    Signup {
        passkey_hash: hash,
        email,
        password_hash: "x",
        display_name: "X",
        timezone: "UTC",
        tenant_name: "T",
    }
}

#[tokio::test]
async fn expired_passkey_has_its_own_code() {
    let store = Store::memory().await.unwrap();
    let db = store.platform();
    platform::create_invitation(
        db,
        &NewInvitation {
            passkey_hash: "h-expired",
            tenant_id: None,
            role: Role::Owner,
            email: None,
            created_by: "test",
            expires_at: Utc::now() - Duration::minutes(1),
        },
    )
    .await
    .unwrap();
    let err = platform::signup(db, &signup("h-expired", "late@example.test"))
        .await
        .unwrap_err();
    assert_eq!(err.thrown(), Some("passkey_expired"));
    assert_eq!(
        afterresume::identity::sessions::signup_error(err).code,
        afterresume::error::ErrorCode::PasskeyExpired
    );
    // Nothing was created.
    assert!(platform::user_by_email(db, "late@example.test")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_demotions_never_leave_a_tenant_without_owner() {
    let store = Store::memory().await.unwrap();
    for round in 0..10 {
        let db = store.platform().clone();
        let a = platform::create_user(
            &db,
            &NewUser {
                email: &format!("a{round}@x.test"),
                password_hash: "x",
                display_name: "A",
                timezone: "UTC",
                is_staff: false,
            },
        )
        .await
        .unwrap();
        let b = platform::create_user(
            &db,
            &NewUser {
                email: &format!("b{round}@x.test"),
                password_hash: "x",
                display_name: "B",
                timezone: "UTC",
                is_staff: false,
            },
        )
        .await
        .unwrap();
        let tid = platform::create_tenant_with_owner(&db, "T", &a)
            .await
            .unwrap();
        db.query(
            "CREATE membership CONTENT { user_id: $uid, tenant_id: $tid, role: 'owner' };",
            serde_json::json!({"uid": b, "tid": tid}),
        )
        .await
        .unwrap();
        let (d1, d2) = (db.clone(), db.clone());
        let h1 = tokio::spawn(async move { platform::set_role(&d1, tid, &a, Role::Member).await });
        let h2 = tokio::spawn(async move { platform::set_role(&d2, tid, &b, Role::Member).await });
        let (r1, r2) = (h1.await.unwrap(), h2.await.unwrap());
        let ok = [&r1, &r2].iter().filter(|r| r.is_ok()).count();
        let last_owner = [&r1, &r2]
            .iter()
            .filter(|r| matches!(r, Err(e) if e.thrown() == Some("last_owner")))
            .count();
        assert_eq!((ok, last_owner), (1, 1), "round {round}: {r1:?} {r2:?}");
        let owners = platform::members_of(&db, tid)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.role == Role::Owner)
            .count();
        assert_eq!(owners, 1, "round {round}");
    }
}
