//! Notification settings end to end on the host (product.md §3 `/me/*`, §5): preferences with
//! field-level validation and unknown fields refused, tier symbols with premium-only toggles,
//! topic regeneration, session + CSRF, and the responses against the OpenAPI document.

use crate::keys::subscribe;
use crate::rig::{Browser, Rig};
use crate::schema::validate;
use cl_api::http::Method;
use cl_app::billing::core::plan::Plan;
use cl_app::billing::core::subscription::SubscriptionStatus;
use cl_app::ports::{NewSymbol, SymbolStore};
use serde_json::{json, Value};

fn put(b: &mut Browser<'_>, path: &str, body: Value) -> crate::helpers::Resp {
    let req = b.request(Method::Put, path, Some(body));
    b.send(req)
}

fn add_symbols(rig: &Rig, names: &[&str]) {
    for name in names {
        pollster::block_on(rig.store.add_symbol(&NewSymbol {
            symbol: (*name).to_owned(),
            exchange: "binance".into(),
            is_active: true,
            notify_enabled: true,
            fetch_start_ms: 0,
            created_at: 0,
        }))
        .unwrap();
    }
}

/// The response's `data` matches the route's schema in the served document.
fn conforms(b: &mut Browser<'_>, data: &Value, schema: &str) {
    let doc = b.get("/api/v1/openapi.json").json;
    let errors = validate(
        &doc,
        &json!({ "$ref": format!("#/components/schemas/{schema}") }),
        data,
    );
    assert!(errors.is_empty(), "{schema}: {errors:?}");
}

fn is_topic(t: &str) -> bool {
    t.len() == 19 && t.starts_with("cl_") && t[3..].bytes().all(|c| c.is_ascii_hexdigit())
}

#[test]
fn preferences_read_write_and_validate_field_by_field() {
    let rig = Rig::new();
    let mut b = rig.signed_up("n1@example.com", "nione", "198.51.100.60");
    let r = b.get("/api/v1/me/preferences");
    assert_eq!(r.status, 200, "{}", r.json);
    let d = r.data().clone();
    assert!(is_topic(d["topic"].as_str().unwrap()), "{d}");
    assert_eq!(
        (
            &d["enabled"],
            &d["directions"],
            &d["min_confluence"],
            &d["priority"],
            &d["quiet_start_min"]
        ),
        (
            &json!(true),
            &json!("both"),
            &json!(2),
            &json!(4),
            &Value::Null
        )
    );
    conforms(&mut b, &d, "NotificationPrefs");

    let body = json!({"enabled": false, "directions": "short", "min_confluence": 5, "priority": 2,
        "quiet_start_min": 1380, "quiet_end_min": 360});
    let r = put(&mut b, "/api/v1/me/preferences", body);
    assert_eq!(r.status, 200, "{}", r.json);
    let got = b.get("/api/v1/me/preferences").data().clone();
    assert_eq!(got["directions"], "short");
    assert_eq!(
        (&got["quiet_start_min"], &got["quiet_end_min"]),
        (&json!(1380), &json!(360))
    );
    assert_eq!(got["topic"], d["topic"]);

    // Every bad field is reported at once; nothing is written.
    let r = put(
        &mut b,
        "/api/v1/me/preferences",
        json!({"enabled": true, "directions": "up", "min_confluence": 0, "priority": 9,
            "quiet_start_min": 10, "quiet_end_min": 10}),
    );
    assert_eq!((r.status, r.code()), (400, Some("validation_failed")));
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            ("directions".into(), "invalid_choice".into()),
            ("min_confluence".into(), "out_of_range".into()),
            ("priority".into(), "out_of_range".into()),
            ("quiet_start_min".into(), "out_of_range".into()),
        ]
    );
    let r = put(
        &mut b,
        "/api/v1/me/preferences",
        json!({"enabled": true, "directions": "both", "min_confluence": 2, "priority": 4,
            "quiet_start_min": 10}),
    );
    assert_eq!(r.fields(), [("quiet_end_min".into(), "required".into())]);
    let r = put(
        &mut b,
        "/api/v1/me/preferences",
        json!({"enabled": "yes", "directions": "both", "min_confluence": 2, "priority": 4,
            "is_admin": true}),
    );
    assert_eq!(r.status, 400);
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            ("enabled".into(), "invalid_type".into()),
            ("is_admin".into(), "unknown_field".into()),
        ]
    );
    assert_eq!(
        b.get("/api/v1/me/preferences").data()["directions"],
        "short",
        "unchanged"
    );

    // CSRF is required on writes; no session → 401.
    let mut req = b.request(Method::Put, "/api/v1/me/preferences", Some(json!({})));
    req.headers.set("x-csrf-token", "forged");
    assert_eq!(b.send(req).code(), Some("csrf_failed"));
    let mut anon = rig.browser("198.51.100.61");
    assert_eq!(anon.get("/api/v1/me/preferences").status, 401);
}

#[test]
fn symbols_follow_the_tier_and_only_premium_edits_them() {
    let rig = Rig::new();
    add_symbols(&rig, &["BTC/USDT", "ETH/USDT", "DOGE/USDT"]);
    let mut b = rig.signed_up("n2@example.com", "nitwo", "198.51.100.62");
    let r = b.get("/api/v1/me/symbols");
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.data(),
        &json!([{"symbol": "BTC/USDT", "notify": true, "symbol_enabled": true, "editable": false}])
    );
    let r = put(
        &mut b,
        "/api/v1/me/symbols",
        json!({"symbol": "BTC/USDT", "notify": false}),
    );
    assert_eq!((r.status, r.code()), (403, Some("tier_required")));
    assert_eq!(r.fields(), [("tier".into(), "premium".into())]);

    subscribe(
        &rig,
        "n2@example.com",
        Plan::Premium,
        SubscriptionStatus::Active,
        Some(rig.now() + 86_400_000),
    );
    let r = put(
        &mut b,
        "/api/v1/me/symbols",
        json!({"symbol": "DOGE/USDT", "notify": false}),
    );
    assert_eq!(r.status, 200, "{}", r.json);
    let list = r.data().as_array().unwrap().clone();
    assert_eq!(list.len(), 3);
    let doge = list.iter().find(|s| s["symbol"] == "DOGE/USDT").unwrap();
    assert_eq!(
        (&doge["notify"], &doge["editable"]),
        (&json!(false), &json!(true))
    );
    for item in &list {
        conforms(&mut b, item, "SymbolNotify");
    }
    let r = put(
        &mut b,
        "/api/v1/me/symbols",
        json!({"symbol": "NOPE/USDT", "notify": false}),
    );
    assert_eq!(r.status, 404);
    let r = put(&mut b, "/api/v1/me/symbols", json!({"symbol": "BTC/USDT"}));
    assert_eq!(r.fields(), [("notify".into(), "required".into())]);
}

#[test]
fn the_topic_can_be_regenerated() {
    let rig = Rig::new();
    let mut b = rig.signed_up("n3@example.com", "nithree", "198.51.100.63");
    let before = b.get("/api/v1/me/preferences").data()["topic"].clone();
    let r = b.post_empty("/api/v1/me/topic/regenerate");
    assert_eq!(r.status, 200, "{}", r.json);
    let topic = r.data()["topic"].clone();
    assert!(is_topic(topic.as_str().unwrap()));
    assert_ne!(topic, before);
    assert_eq!(b.get("/api/v1/me/preferences").data()["topic"], topic);
    conforms(&mut b, &r.data().clone(), "Topic");
}

#[test]
fn a_test_send_is_queued_for_verified_users_five_times_an_hour() {
    let rig = Rig::new();
    let mut b = rig.signed_up("n4@example.com", "nifour", "198.51.100.64");
    for _ in 0..5 {
        let r = b.post_empty("/api/v1/me/notifications/test");
        assert_eq!(r.status, 202, "{}", r.json);
        assert!(is_topic(r.data()["topic"].as_str().unwrap()));
    }
    let r = b.post_empty("/api/v1/me/notifications/test");
    assert_eq!((r.status, r.code()), (429, Some("rate_limited")));
    assert!(r.headers.get("retry-after").is_some());
    let queued = pollster::block_on(
        cl_app::ports::notifications::NotificationStore::due_channel(&rig.store, rig.now(), 50),
    )
    .unwrap();
    assert_eq!(queued.len(), 5);

    // An unverified user gets 403 email_unverified, and nothing is queued.
    let mut u = rig.browser("198.51.100.65");
    let r = u.post(
        "/api/v1/auth/register",
        json!({"email": "n5@example.com", "username": "nifive", "password": crate::rig::PASSWORD}),
    );
    assert_eq!(r.status, 202);
    let r = u.login("n5@example.com", crate::rig::PASSWORD);
    assert_eq!(r.status, 200, "{}", r.json);
    let r = u.post_empty("/api/v1/me/notifications/test");
    assert_eq!((r.status, r.code()), (403, Some("email_unverified")));
}
