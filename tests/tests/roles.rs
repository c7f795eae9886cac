//! The role matrix and tenant isolation, over HTTP against the real binary.

mod common;

use std::collections::HashSet;

use common::{spawn_app, App, Resp, Session};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Who is calling, for the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Owner,
    Admin,
    Member,
    ReadOnly,
    /// Platform staff, acting in their own (staff) workspace where they are owner.
    Staff,
    /// The owner of another tenant, acting in their own tenant.
    OtherOwner,
}

const EVERYONE: [Who; 6] = [
    Who::Owner,
    Who::Admin,
    Who::Member,
    Who::ReadOnly,
    Who::Staff,
    Who::OtherOwner,
];

/// Owner A with an admin, a member and a read-only member; owner B; staff.
struct World {
    app: App,
    owner: Session,
    admin: Session,
    member: Session,
    read_only: Session,
    other_owner: Session,
    staff: Session,
}

impl World {
    async fn new() -> World {
        let app = spawn_app(&[]).await;
        let owner = app.new_owner("owner-a@example.test").await;
        let admin = app
            .add_member(&owner, "admin-a@example.test", "admin")
            .await;
        let member = app
            .add_member(&owner, "member-a@example.test", "member")
            .await;
        let read_only = app
            .add_member(&owner, "reader-a@example.test", "read_only")
            .await;
        let other_owner = app.new_owner("owner-b@example.test").await;
        let staff = app.staff().await;
        World {
            app,
            owner,
            admin,
            member,
            read_only,
            other_owner,
            staff,
        }
    }

    fn session(&self, who: Who) -> &Session {
        match who {
            Who::Owner => &self.owner,
            Who::Admin => &self.admin,
            Who::Member => &self.member,
            Who::ReadOnly => &self.read_only,
            Who::Staff => &self.staff,
            Who::OtherOwner => &self.other_owner,
        }
    }
}

/// The status each caller must get; tenant-manager roles are owner, admin, and the
/// owners of their own workspaces (staff, other-tenant owner).
fn manager_only(who: Who, ok: u16) -> u16 {
    match who {
        Who::Member | Who::ReadOnly => 403,
        _ => ok,
    }
}

fn staff_only(who: Who, ok: u16) -> u16 {
    if who == Who::Staff {
        ok
    } else {
        403
    }
}

struct Case {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    expect: fn(Who) -> u16,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            method: Method::GET,
            path: "/api/me",
            body: None,
            expect: |_| 200,
        },
        Case {
            method: Method::PATCH,
            path: "/api/me",
            body: Some(json!({"display_name": "Renamed"})),
            expect: |_| 200,
        },
        Case {
            method: Method::GET,
            path: "/api/tenant",
            body: None,
            expect: |_| 200,
        },
        Case {
            method: Method::PATCH,
            path: "/api/tenant",
            body: Some(json!({"name": "Renamed workspace"})),
            expect: |w| manager_only(w, 200),
        },
        Case {
            method: Method::GET,
            path: "/api/tenant/members",
            body: None,
            expect: |_| 200,
        },
        Case {
            method: Method::POST,
            path: "/api/invitations",
            body: Some(json!({"role": "member"})),
            expect: |w| manager_only(w, 201),
        },
        Case {
            method: Method::GET,
            path: "/api/invitations",
            body: None,
            expect: |w| manager_only(w, 200),
        },
        Case {
            method: Method::GET,
            path: "/api/tenant/audit",
            body: None,
            expect: |w| manager_only(w, 200),
        },
        Case {
            method: Method::GET,
            path: "/api/admin/users",
            body: None,
            expect: |w| staff_only(w, 200),
        },
        Case {
            method: Method::GET,
            path: "/api/admin/audit",
            body: None,
            expect: |w| staff_only(w, 200),
        },
        Case {
            method: Method::POST,
            path: "/api/admin/invitations",
            body: Some(json!({})),
            expect: |w| staff_only(w, 201),
        },
    ]
}

#[tokio::test]
async fn role_matrix_gives_exact_statuses() {
    let w = World::new().await;
    let mut failures = Vec::new();
    for case in cases() {
        for who in EVERYONE {
            let s = w.session(who);
            let r = w
                .app
                .call(
                    case.method.clone(),
                    case.path,
                    Some(&s.token),
                    case.body.clone(),
                )
                .await;
            let expected = (case.expect)(who);
            if r.status.as_u16() != expected {
                failures.push(format!(
                    "{who:?} {} {}: expected {expected}, got {} {}",
                    case.method, case.path, r.status, r.body
                ));
                continue;
            }
            if expected == 403 && r.code() != "forbidden" {
                failures.push(format!(
                    "{who:?} {} {}: 403 with code {:?}, expected \"forbidden\"",
                    case.method,
                    case.path,
                    r.code()
                ));
            }
            // Successful tenant reads name the caller's own tenant.
            if r.status == StatusCode::OK
                && case.method == Method::GET
                && case.path == "/api/tenant"
                && r.body["id"] != s.tenant_id.as_str()
            {
                failures.push(format!(
                    "{who:?} GET /api/tenant named tenant {} not {}",
                    r.body["id"], s.tenant_id
                ));
            }
            if r.status == StatusCode::OK
                && case.path == "/api/me"
                && (r.body["id"] != s.user_id.as_str()
                    || r.body["tenant_id"] != s.tenant_id.as_str())
            {
                failures.push(format!(
                    "{who:?} {} /api/me answered for {}",
                    case.method, r.body
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "role matrix mismatches:\n{}",
        failures.join("\n")
    );

    // The roles the server reports match the invitations.
    for (who, role) in [
        (Who::Owner, "owner"),
        (Who::Admin, "admin"),
        (Who::Member, "member"),
        (Who::ReadOnly, "read_only"),
        (Who::OtherOwner, "owner"),
    ] {
        let r = w.app.get("/api/me", &w.session(who).token).await;
        assert_eq!(r.body["role"], role, "{who:?}: {}", r.body);
    }
    // Staff is owner of its own workspace, and the only one flagged is_staff.
    let r = w.app.get("/api/me", &w.staff.token).await;
    assert_eq!(
        (r.body["is_staff"].as_bool(), r.body["role"].as_str()),
        (Some(true), Some("owner")),
        "{}",
        r.body
    );
    let r = w.app.get("/api/me", &w.owner.token).await;
    assert_eq!(r.body["is_staff"], false);
}

#[tokio::test]
async fn missing_or_garbage_token_is_401() {
    let app = spawn_app(&[]).await;
    for case in cases() {
        let r = app
            .call(case.method.clone(), case.path, None, case.body.clone())
            .await;
        assert_eq!(
            r.status, 401,
            "no token {} {}: {}",
            case.method, case.path, r.body
        );
        assert_eq!(
            r.code(),
            "unauthorized",
            "no token {} {}: {}",
            case.method,
            case.path,
            r.body
        );

        let r = app
            .call(
                case.method.clone(),
                case.path,
                Some("garbage.token.value"),
                case.body.clone(),
            )
            .await;
        assert_eq!(
            r.status, 401,
            "garbage token {} {}: {}",
            case.method, case.path, r.body
        );
        assert_eq!(
            r.code(),
            "token_invalid",
            "garbage token {} {}: {}",
            case.method,
            case.path,
            r.body
        );
    }
}

async fn patch_role(app: &App, actor: &Session, target_user: &str, role: &str) -> Resp {
    app.call(
        Method::PATCH,
        &format!("/api/tenant/members/{target_user}"),
        Some(&actor.token),
        Some(json!({"role": role})),
    )
    .await
}

async fn remove(app: &App, actor: &Session, target_user: &str) -> Resp {
    app.call(
        Method::DELETE,
        &format!("/api/tenant/members/{target_user}"),
        Some(&actor.token),
        None,
    )
    .await
}

async fn member_roles(app: &App, s: &Session) -> Vec<(String, String)> {
    let r = app.get("/api/tenant/members", &s.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut v: Vec<(String, String)> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().to_string(),
                m["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn role_of(roles: &[(String, String)], user: &str) -> Option<String> {
    roles
        .iter()
        .find(|(u, _)| u == user)
        .map(|(_, r)| r.clone())
}

#[tokio::test]
async fn owner_and_admin_rules() {
    let app = spawn_app(&[]).await;
    let owner = app.new_owner("owner@example.test").await;
    let admin = app.add_member(&owner, "admin@example.test", "admin").await;
    let member = app
        .add_member(&owner, "member@example.test", "member")
        .await;

    // Only an owner may invite an owner.
    let r = app
        .post(
            "/api/invitations",
            Some(&admin.token),
            json!({"role": "owner"}),
        )
        .await;
    r.assert_error(403, "forbidden");
    let r = app
        .post(
            "/api/invitations",
            Some(&admin.token),
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(r.status, 201, "admin may invite an admin: {}", r.body);
    assert_eq!(r.body["role"], "admin");
    let r = app
        .post(
            "/api/invitations",
            Some(&owner.token),
            json!({"role": "owner"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (r.body["role"].as_str(), r.body["tenant_id"].as_str()),
        (Some("owner"), Some(owner.tenant_id.as_str()))
    );

    // An admin can't touch an owner nor make anyone owner.
    let r = patch_role(&app, &admin, &owner.user_id, "member").await;
    r.assert_error(403, "forbidden");
    let r = patch_role(&app, &admin, &member.user_id, "owner").await;
    r.assert_error(403, "forbidden");
    let r = remove(&app, &admin, &owner.user_id).await;
    r.assert_error(403, "forbidden");
    // A member can't change roles at all.
    let r = patch_role(&app, &member, &admin.user_id, "read_only").await;
    r.assert_error(403, "forbidden");
    let roles = member_roles(&app, &owner).await;
    assert_eq!(role_of(&roles, &owner.user_id).as_deref(), Some("owner"));
    assert_eq!(role_of(&roles, &member.user_id).as_deref(), Some("member"));
    assert_eq!(role_of(&roles, &admin.user_id).as_deref(), Some("admin"));

    // The last owner can neither be demoted nor removed.
    let r = patch_role(&app, &owner, &owner.user_id, "admin").await;
    r.assert_error(409, "last_owner");
    let r = remove(&app, &owner, &owner.user_id).await;
    r.assert_error(409, "last_owner");
    assert_eq!(
        role_of(&member_roles(&app, &owner).await, &owner.user_id).as_deref(),
        Some("owner")
    );

    // With a second owner, demoting one works.
    let owner2 = app.add_member(&owner, "owner2@example.test", "owner").await;
    let r = patch_role(&app, &owner2, &owner.user_id, "admin").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["user_id"].as_str(), r.body["role"].as_str()),
        (Some(owner.user_id.as_str()), Some("admin"))
    );
    // ...and the remaining owner is now the last one.
    let r = patch_role(&app, &owner2, &owner2.user_id, "member").await;
    r.assert_error(409, "last_owner");
    // The demoted owner (now admin, same token) can no longer touch the owner.
    let r = patch_role(&app, &owner, &owner2.user_id, "admin").await;
    r.assert_error(403, "forbidden");
    let r = app.get("/api/me", &owner.token).await;
    assert_eq!(r.body["role"], "admin", "{}", r.body);

    // role_changed is audited for the actor.
    let kinds = app.audit_kinds(&owner2.user_id).await;
    assert!(
        kinds.iter().any(|k| k == "role_changed"),
        "no role_changed for owner2: {kinds:?}"
    );
}

#[tokio::test]
async fn role_changes_and_removal_take_effect_immediately() {
    let app = spawn_app(&[]).await;
    let owner = app.new_owner("owner@example.test").await;
    let member = app
        .add_member(&owner, "member@example.test", "member")
        .await;
    let leaver = app
        .add_member(&owner, "leaver@example.test", "read_only")
        .await;

    // The member is refused, and the refusal is audited.
    let r = app.get("/api/invitations", &member.token).await;
    r.assert_error(403, "forbidden");
    let kinds = app.audit_kinds(&member.user_id).await;
    assert!(
        kinds.iter().any(|k| k == "permission_denied"),
        "no permission_denied for member: {kinds:?}"
    );

    // Promote; the same (old) access token now has admin powers.
    let r = patch_role(&app, &owner, &member.user_id, "admin").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["role"], "admin");
    let r = app.get("/api/invitations", &member.token).await;
    assert_eq!(r.status, 200, "promoted member with old token: {}", r.body);
    assert!(r.body["items"].is_array(), "{}", r.body);
    let r = app.get("/api/me", &member.token).await;
    assert_eq!(r.body["role"], "admin", "{}", r.body);

    // role_changed is recorded (actor = owner), also in the tenant audit with the target.
    let kinds = app.audit_kinds(&owner.user_id).await;
    assert!(
        kinds.iter().any(|k| k == "role_changed"),
        "no role_changed for owner: {kinds:?}"
    );
    let r = app
        .get("/api/tenant/audit?kind=role_changed", &owner.token)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    assert!(
        items.iter().any(|e| e["kind"] == "role_changed"
            && e["detail"]["target_user_id"] == member.user_id.as_str()
            && e["detail"]["to"] == "admin"),
        "tenant audit lacks the role change: {}",
        r.body
    );

    // Remove a member: their unexpired access token stops working at once.
    let r = app.get("/api/me", &leaver.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = remove(&app, &owner, &leaver.user_id).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = app.get("/api/me", &leaver.token).await;
    assert_eq!(r.status, 401, "removed member's old token: {}", r.body);
    assert_eq!(r.code(), "token_invalid", "{}", r.body);
    let roles = member_roles(&app, &owner).await;
    assert_eq!(
        role_of(&roles, &leaver.user_id),
        None,
        "removed member still listed: {roles:?}"
    );
}

/// Two workspaces with an owner and a member each, staff, and an open invitation of A's.
struct TwoWorkspaces {
    app: App,
    a: Session,
    a_member: Session,
    b: Session,
    b_member: Session,
    staff: Session,
    inv_id: String,
    passkey: String,
}

async fn two_workspaces() -> TwoWorkspaces {
    let app = spawn_app(&[]).await;
    let a = app.new_owner("owner-a@example.test").await;
    let a_member = app.add_member(&a, "member-a@example.test", "member").await;
    let b = app.new_owner("owner-b@example.test").await;
    let b_member = app.add_member(&b, "member-b@example.test", "member").await;
    let staff = app.staff().await;

    let r = app
        .post(
            "/api/invitations",
            Some(&a.token),
            json!({"role": "member"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let inv_id = r.body["id"].as_str().unwrap().to_string();
    let passkey = r.body["passkey"].as_str().unwrap().to_string();
    TwoWorkspaces {
        app,
        a,
        a_member,
        b,
        b_member,
        staff,
        inv_id,
        passkey,
    }
}

#[tokio::test]
async fn other_workspaces_and_staff_reach_none_of_a_workspaces_records() {
    let TwoWorkspaces {
        app,
        a,
        a_member,
        b,
        staff,
        inv_id,
        ..
    } = two_workspaces().await;
    // B (owner of B) and staff (owner of the staff workspace) reach nothing of A's.
    for actor in [&b, &staff] {
        let r = patch_role(&app, actor, &a_member.user_id, "read_only").await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (404, "not_found"),
            "{} PATCH A's member: {}",
            actor.email,
            r.body
        );
        let r = remove(&app, actor, &a_member.user_id).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (404, "not_found"),
            "{} DELETE A's member: {}",
            actor.email,
            r.body
        );
        let r = app
            .call(
                Method::DELETE,
                &format!("/api/invitations/{inv_id}"),
                Some(&actor.token),
                None,
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (404, "not_found"),
            "{} DELETE A's invitation: {}",
            actor.email,
            r.body
        );
    }
    // ...and nothing changed in A.
    let roles = member_roles(&app, &a).await;
    assert_eq!(
        role_of(&roles, &a_member.user_id).as_deref(),
        Some("member"),
        "{roles:?}"
    );
    let r = app.get("/api/invitations", &a.token).await;
    let inv = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == inv_id.as_str())
        .cloned();
    assert_eq!(
        inv.as_ref().map(|i| i["status"].clone()),
        Some(json!("pending")),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn another_workspaces_lists_never_show_its_users_invitations_or_events() {
    let TwoWorkspaces {
        app,
        a,
        a_member,
        b,
        b_member,
        ..
    } = two_workspaces().await;
    // B's lists never show A's users, invitations or events.
    let a_users: HashSet<String> = [a.user_id.clone(), a_member.user_id.clone()].into();
    let b_roles = member_roles(&app, &b).await;
    let b_users: HashSet<String> = b_roles.iter().map(|(u, _)| u.clone()).collect();
    assert_eq!(
        b_users,
        HashSet::from([b.user_id.clone(), b_member.user_id.clone()])
    );
    assert!(b_users.is_disjoint(&a_users));
    let r = app.get("/api/invitations", &b.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for i in r.body["items"].as_array().unwrap() {
        assert_eq!(
            i["tenant_id"],
            b.tenant_id.as_str(),
            "B sees a foreign invitation: {i}"
        );
    }
    let r = app.get("/api/tenant/audit?limit=100", &b.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let events = r.body["items"].as_array().unwrap();
    assert!(!events.is_empty(), "B's audit should have B's own events");
    for e in events {
        assert_ne!(
            e["tenant_id"],
            a.tenant_id.as_str(),
            "B's audit shows A's event: {e}"
        );
        assert_eq!(
            e["tenant_id"],
            b.tenant_id.as_str(),
            "B's audit shows a foreign event: {e}"
        );
        assert!(
            e["user_id"].as_str().is_none_or(|u| !a_users.contains(u)),
            "B's audit names A's user: {e}"
        );
    }
    // Filtering B's audit by A's user finds nothing.
    let r = app
        .get(
            &format!("/api/tenant/audit?user_id={}", a.user_id),
            &b.token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(0),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn a_revoked_invitation_is_refused_at_signup() {
    let TwoWorkspaces {
        app,
        a,
        inv_id,
        passkey,
        ..
    } = two_workspaces().await;
    // A revokes its own invitation; the passkey is then refused.
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/invitations/{inv_id}"),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = app.signup(&passkey, "late@example.test").await;
    r.assert_error(410, "passkey_revoked");
    let r = app.get("/api/invitations", &a.token).await;
    let inv = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == inv_id.as_str())
        .cloned();
    assert_eq!(
        inv.map(|i| i["status"].clone()),
        Some(json!("revoked")),
        "{}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_never_cross_tenants() {
    let app = spawn_app(&[]).await;
    let a = app.new_owner("owner-a@example.test").await;
    let a2 = app.add_member(&a, "member-a@example.test", "member").await;
    let b = app.new_owner("owner-b@example.test").await;
    let b2 = app
        .add_member(&b, "member-b@example.test", "read_only")
        .await;
    let members_a: HashSet<String> = [a.user_id.clone(), a2.user_id.clone()].into();
    let members_b: HashSet<String> = [b.user_id.clone(), b2.user_id.clone()].into();

    // (session, its tenant's members), interleaved A, B, A, B...
    let callers = [
        (a.clone(), members_a.clone()),
        (b.clone(), members_b.clone()),
        (a2.clone(), members_a),
        (b2.clone(), members_b),
    ];
    let base = app.base.clone();
    let http = app.http.clone();
    let mut tasks = Vec::new();
    for i in 0..400usize {
        let (s, members) = callers[i % callers.len()].clone();
        let path = ["/api/me", "/api/tenant", "/api/tenant/members"][(i / callers.len()) % 3];
        let (base, http) = (base.clone(), http.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .get(format!("{base}{path}"))
                .bearer_auth(&s.token)
                .send()
                .await
                .expect("request");
            let r = App::read(r).await;
            if r.status != 200 {
                return Err(format!("{path} for {}: {} {}", s.email, r.status, r.body));
            }
            let crossed = match path {
                "/api/me" => {
                    r.body["tenant_id"] != s.tenant_id.as_str()
                        || r.body["id"] != s.user_id.as_str()
                }
                "/api/tenant" => {
                    r.body["id"] != s.tenant_id.as_str() || r.body["member_count"] != 2
                }
                _ => {
                    let got: HashSet<String> = r.body["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|m| m["user_id"].as_str().unwrap().to_string())
                        .collect();
                    got != members
                }
            };
            Ok(crossed)
        }));
    }
    let results = futures::future::join_all(tasks).await;
    assert_eq!(results.len(), 400);
    let mut crossings = 0;
    let mut errors = Vec::new();
    for r in results {
        match r.expect("task panicked") {
            Ok(true) => crossings += 1,
            Ok(false) => {}
            Err(e) => errors.push(e),
        }
    }
    assert!(
        errors.is_empty(),
        "{} requests failed, e.g. {:?}",
        errors.len(),
        errors.first()
    );
    assert_eq!(crossings, 0, "answers crossed tenants");
}
