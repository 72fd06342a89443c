//! The admin routes end to end on the host (crate::admin): the gate (anonymous 401,
//! non-admin 403, CSRF), re-auth for sensitive actions, sessions ended by deactivation and
//! privilege changes, self-protection, one audit row per write, typed query and body errors.

use crate::rig::{Browser, Rig, PASSWORD};
use cl_api::http::Method;
use cl_app::ports::admin::{AdminStore, AuditFilter, ErrorOccurrence};
use cl_app::ports::{
    NewSignal, NewSymbol, PageRequest, SignalStore, SymbolStore, UserId, UserStore,
};
use cl_domain::{Direction, Timeframe};
use serde_json::{json, Value};

const MINUTE: i64 = 60_000;

fn admin_and_user(rig: &Rig) -> (Browser<'_>, UserId, Browser<'_>, UserId) {
    let mut a = rig.signed_up("boss@example.com", "boss", "198.51.100.1");
    let admin = rig.user_id("boss@example.com");
    pollster::block_on(rig.store.set_admin(admin, true)).unwrap();
    // Log in again so the session is fresh (and carries a recent re-auth).
    assert_eq!(a.login("boss@example.com", PASSWORD).status, 200);
    let u = rig.signed_up("kim@example.com", "kim", "198.51.100.2");
    let user = rig.user_id("kim@example.com");
    (a, admin, u, user)
}

fn audit(rig: &Rig) -> Vec<String> {
    pollster::block_on(rig.store.audit_log(
        &AuditFilter::default(),
        PageRequest {
            limit: 100,
            after: None,
        },
    ))
    .unwrap()
    .items
    .into_iter()
    .map(|r| r.entry.action)
    .collect()
}

fn patch(b: &mut Browser<'_>, path: &str, body: Value) -> crate::helpers::Resp {
    let req = b.request(Method::Patch, path, Some(body));
    b.send(req)
}

/// Every response this rig saw matches the OpenAPI document; returns the routes covered.
fn documented(rig: &Rig) -> std::collections::BTreeSet<&'static str> {
    let doc: Value = serde_json::from_slice(&cl_api::openapi::document_bytes()).unwrap();
    let mut covered = std::collections::BTreeSet::new();
    for (method, route, status, body) in rig.seen.borrow().iter() {
        let op = &doc["paths"][route][method.as_str().to_ascii_lowercase()];
        let response = &op["responses"][status.to_string()];
        assert!(
            response.is_object(),
            "{route} {method:?} {status} undocumented"
        );
        covered.insert(*route);
        if let Some(schema) = response["content"]["application/json"].get("schema") {
            let errors = crate::schema::validate(&doc, schema, body);
            assert!(errors.is_empty(), "{route} ({status}): {errors:#?}\n{body}");
        }
    }
    covered
}

#[test]
fn every_admin_route_answers_as_the_openapi_document_says() {
    let rig = Rig::new();
    let (mut a, _, mut u, user) = admin_and_user(&rig);
    let sym = a.post("/api/v1/admin/symbols", json!({"symbol": "ADA/USDT"}));
    let sid = sym.data()["id"].as_i64().unwrap();
    for (path, body) in [
        (
            format!("/api/v1/admin/symbols/{sid}"),
            json!({"is_active": false}),
        ),
        (
            "/api/v1/signals/999".to_owned(),
            json!({"status": "closed"}),
        ),
    ] {
        patch(&mut a, &path, body);
    }
    a.get("/api/v1/admin/symbols");
    a.get("/api/v1/admin/users?q=k");
    a.get(&format!("/api/v1/admin/users/{}", user.0));
    for action in [
        "verify",
        "activate",
        "make-admin",
        "revoke-admin",
        "deactivate",
    ] {
        a.post_empty(&format!("/api/v1/admin/users/{}/{action}", user.0));
    }
    a.post(
        &format!("/api/v1/admin/users/{}/subscription", user.0),
        json!({"plan": "lifetime"}),
    );
    a.get("/api/v1/admin/audit?limit=2");
    a.get("/api/v1/admin/logs?category=admin");
    a.get("/api/v1/admin/errors");
    a.post_empty("/api/v1/admin/errors/1/ack");
    a.post_empty("/api/v1/admin/errors/1/resolve");
    u.get("/api/v1/admin/audit");
    let covered = documented(&rig);
    for spec in cl_api::routes::TABLE
        .iter()
        .filter(|s| cl_api::admin::handles(s.route))
    {
        assert!(covered.contains(spec.path), "{} never exercised", spec.path);
    }
}

#[test]
fn the_gate_refuses_anonymous_non_admin_and_csrf_less_callers() {
    let rig = Rig::new();
    let (mut a, _, mut u, user) = admin_and_user(&rig);
    let mut anon = rig.browser("198.51.100.9");
    assert_eq!(anon.get("/api/v1/admin/users").status, 401);
    let r = u.get("/api/v1/admin/users");
    assert_eq!((r.status, r.code()), (403, Some("forbidden")));
    let r = u.post_empty(&format!("/api/v1/admin/users/{}/verify", user.0));
    assert_eq!(r.status, 403);
    let r = patch(&mut u, "/api/v1/signals/1", json!({"status": "cancelled"}));
    assert_eq!((r.status, r.code()), (403, Some("forbidden")));

    let mut req = a.request(
        Method::Post,
        &format!("/api/v1/admin/users/{}/verify", user.0),
        None,
    );
    req.headers.remove("x-csrf-token");
    let r = a.send(req);
    assert_eq!((r.status, r.code()), (403, Some("csrf_failed")));
    assert!(audit(&rig).is_empty(), "refused requests write nothing");
    documented(&rig);
}

#[test]
fn users_list_pages_and_searches_with_the_subscription_summary() {
    let rig = Rig::new();
    let (mut a, _, _, user) = admin_and_user(&rig);
    let r = a.post(
        &format!("/api/v1/admin/users/{}/subscription", user.0),
        json!({"plan": "pro", "days": 30}),
    );
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["subscription"]["plan"], "pro");

    let r = a.get("/api/v1/admin/users?limit=1");
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    assert_eq!(r.data()[0]["username"], "kim", "newest first");
    assert_eq!(r.data()[0]["subscription"]["status"], "active");
    assert!(r.data()[0].get("password_hash").is_none());
    let next = r.json["meta"]["next_cursor"].as_str().unwrap().to_owned();
    let r = a.get(&format!("/api/v1/admin/users?limit=1&cursor={next}"));
    assert_eq!(r.data()[0]["username"], "boss");
    assert!(r.json["meta"]["next_cursor"].is_null());

    let r = a.get("/api/v1/admin/users?q=KI");
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    let r = a.get(&format!("/api/v1/admin/users/{}", user.0));
    assert_eq!(r.data()["email"], "kim@example.com");
    assert_eq!(a.get("/api/v1/admin/users/999999").status, 404);

    let r = a.get("/api/v1/admin/users?q=&limit=0&sort=email");
    assert_eq!(r.status, 400);
    let fields: Vec<String> = r.fields().into_iter().map(|(f, _)| f).collect();
    assert!(fields.contains(&"sort".to_owned()) && fields.contains(&"limit".to_owned()));
    let r = a.post(
        &format!("/api/v1/admin/users/{}/subscription", user.0),
        json!({"plan": "pro", "days": 30, "is_admin": true}),
    );
    assert_eq!(r.status, 400, "unknown members are refused");
    let r = a.post(
        &format!("/api/v1/admin/users/{}/subscription", user.0),
        json!({"plan": "gold"}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(audit(&rig), ["user.set_subscription"]);
    documented(&rig);
}

#[test]
fn deactivation_needs_reauth_and_ends_the_users_sessions() {
    let rig = Rig::new();
    let (mut a, _, mut u, user) = admin_and_user(&rig);
    rig.advance(11 * MINUTE);
    let path = format!("/api/v1/admin/users/{}/deactivate", user.0);
    let r = a.post_empty(&path);
    assert_eq!(r.status, 403);
    assert_eq!(
        r.fields(),
        vec![("session".into(), "reauth_required".into())]
    );
    assert_eq!(u.get("/api/v1/auth/me").status, 200, "nothing changed");
    assert_eq!(
        a.post("/api/v1/auth/reauth", json!({"password": PASSWORD}))
            .status,
        200
    );
    let r = a.post_empty(&path);
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["is_active"], false);
    assert_eq!(u.get("/api/v1/auth/me").status, 401, "old cookie is dead");
    let r = a.post_empty(&format!("/api/v1/admin/users/{}/activate", user.0));
    assert_eq!(r.data()["is_active"], true);
    assert_eq!(audit(&rig), ["user.activate", "user.deactivate"]);
    documented(&rig);
}

#[test]
fn privilege_changes_end_sessions_and_admins_cannot_lock_themselves_out() {
    let rig = Rig::new();
    let (mut a, admin, mut u, user) = admin_and_user(&rig);
    let r = a.post_empty(&format!("/api/v1/admin/users/{}/make-admin", user.0));
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["is_admin"], true);
    assert_eq!(u.get("/api/v1/auth/me").status, 401, "the old id is gone");
    for action in ["revoke-admin", "deactivate"] {
        let r = a.post_empty(&format!("/api/v1/admin/users/{}/{action}", admin.0));
        assert_eq!((r.status, r.code()), (409, Some("conflict")), "{action}");
    }
    let r = a.post_empty(&format!("/api/v1/admin/users/{}/revoke-admin", user.0));
    assert_eq!(r.data()["is_admin"], false);
    assert_eq!(
        a.post_empty("/api/v1/admin/users/999999/verify").status,
        404
    );
    assert_eq!(audit(&rig), ["user.revoke_admin", "user.make_admin"]);
    documented(&rig);
}

#[test]
fn symbols_and_the_signal_override_are_audited() {
    let rig = Rig::new();
    let (mut a, _, _, _) = admin_and_user(&rig);
    let r = a.post("/api/v1/admin/symbols", json!({"symbol": "SOL-USDT"}));
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.data()["symbol"], "SOL/USDT");
    assert_eq!(r.data()["fetch_start_ms"], 1_704_067_200_000_i64);
    let id = r.data()["id"].as_i64().unwrap();
    let r = a.post("/api/v1/admin/symbols", json!({"symbol": "SOL/USDT"}));
    assert_eq!(r.status, 409);
    let r = a.post("/api/v1/admin/symbols", json!({"symbol": "sol/usdt;drop"}));
    assert_eq!(r.status, 400);
    let r = patch(
        &mut a,
        &format!("/api/v1/admin/symbols/{id}"),
        json!({"notify_enabled": false}),
    );
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["notify_enabled"], false);
    assert_eq!(r.data()["is_active"], true);
    let r = patch(&mut a, &format!("/api/v1/admin/symbols/{id}"), json!({}));
    assert_eq!(r.status, 400, "an empty patch");
    let r = a.get("/api/v1/admin/symbols");
    assert_eq!(r.data().as_array().unwrap().len(), 1);

    let sym = pollster::block_on(rig.store.add_symbol(&NewSymbol {
        symbol: "ETH/USDT".into(),
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: 1_704_067_200_000,
        created_at: rig.now(),
    }))
    .unwrap();
    let signal = pollster::block_on(rig.store.insert_signal(
        &NewSignal {
            symbol: sym.id,
            direction: Direction::Bullish,
            entry: 10.0,
            stop_loss: 9.0,
            tp1: 11.0,
            tp2: 12.0,
            tp3: 13.0,
            risk_reward: 1.0,
            confluence_score: 3,
            timeframes_aligned: vec![Timeframe::H1],
            pattern_id: None,
            created_at: rig.now(),
        },
        0,
    ))
    .unwrap()
    .unwrap();
    let path = format!("/api/v1/signals/{}", signal.0);
    let r = patch(&mut a, &path, json!({"status": "bogus"}));
    assert_eq!(r.status, 400);
    let r = patch(&mut a, &path, json!({"status": "cancelled"}));
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["status"], "cancelled");
    assert_eq!(
        patch(
            &mut a,
            "/api/v1/signals/999999",
            json!({"status": "closed"})
        )
        .status,
        404
    );
    assert_eq!(
        audit(&rig),
        ["signal.set_status", "symbol.update", "symbol.add"]
    );
    let r = a.get("/api/v1/admin/audit?action=signal.set_status");
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    assert_eq!(r.data()[0]["target"], format!("signal:{}", signal.0));
    assert_eq!(a.get("/api/v1/admin/audit?actor=0").status, 400);
    documented(&rig);
}

#[test]
fn the_error_tracker_lists_groups_and_triages_them() {
    let rig = Rig::new();
    let (mut a, _, _, _) = admin_and_user(&rig);
    for req in ["r1", "r2", "r3"] {
        pollster::block_on(rig.store.record_error(&ErrorOccurrence {
            fingerprint: "ab".repeat(32),
            kind: "internal_error".into(),
            source: "/api/v1/matrix".into(),
            message: "store unavailable".into(),
            request_id: Some(req.into()),
            at: rig.now(),
        }))
        .unwrap();
    }
    let r = a.get("/api/v1/admin/errors");
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    assert_eq!(r.data()[0]["occurrences"], 3);
    let id = r.data()[0]["id"].as_i64().unwrap();
    let r = a.post_empty(&format!("/api/v1/admin/errors/{id}/ack"));
    assert_eq!(r.data()["status"], "acknowledged");
    let r = a.post_empty(&format!("/api/v1/admin/errors/{id}/resolve"));
    assert_eq!(r.data()["status"], "resolved");
    let r = a.get("/api/v1/admin/errors?status=new");
    assert!(r.data().as_array().unwrap().is_empty());
    assert_eq!(a.get("/api/v1/admin/errors?status=bogus").status, 400);
    assert_eq!(a.post_empty("/api/v1/admin/errors/999/ack").status, 404);
    assert_eq!(audit(&rig), ["error.resolve", "error.acknowledge"]);
    let r = a.get("/api/v1/admin/logs?level=error&category=api");
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(a.get("/api/v1/admin/logs?level=loud").status, 400);
    documented(&rig);
}
