//! The analytics read and the admin stats, subscription and settings routes on the host
//! (crate::stats): every response matches the OpenAPI document; free → `tier_required`; a
//! non-admin is refused; settings validation writes nothing; a change is audited once.

use crate::keys::subscribe;
use crate::rig::{Rig, PASSWORD};
use cl_api::http::Method;
use cl_app::billing::core::plan::Plan;
use cl_app::billing::core::subscription::SubscriptionStatus;
use cl_app::jobs::maintenance::MaintenanceStore;
use cl_app::ports::admin::{AdminStore, AuditFilter};
use cl_app::ports::{PageRequest, SymbolId, UserStore};
use serde_json::{json, Value};

#[test]
fn stats_routes_answer_as_the_openapi_document_says() {
    let rig = Rig::new();
    let mut a = rig.signed_up("boss@example.com", "boss", "198.51.100.70");
    pollster::block_on(rig.store.set_admin(rig.user_id("boss@example.com"), true)).unwrap();
    assert_eq!(a.login("boss@example.com", PASSWORD).status, 200);
    let mut free = rig.signed_up("free@example.com", "free", "198.51.100.71");
    let mut pro = rig.signed_up("pro@example.com", "pro", "198.51.100.72");
    subscribe(
        &rig,
        "pro@example.com",
        Plan::Pro,
        SubscriptionStatus::Active,
        None,
    );
    assert_eq!(pro.login("pro@example.com", PASSWORD).status, 200);

    // Before the stats job: zeros and no time.
    let r = pro.get("/api/v1/stats");
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["computed_at"], Value::Null);
    let entries = cl_app::stats::analytics_entries(
        &[(SymbolId(1), "BTC/USDT".into())],
        &cl_app::ports::stats::AnalyticsCounts::default(),
        rig.now(),
    );
    pollster::block_on(rig.store.put_stats(&entries)).unwrap();
    let r = pro.get("/api/v1/stats?symbol=BTC-USDT");
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["scope"], "BTC/USDT");
    assert_eq!(pro.get("/api/v1/stats?symbol=DOGE-USDT").status, 403);
    assert_eq!(pro.get("/api/v1/stats?symbol=x").status, 400);
    rig.advance(1_100);
    let r = free.get("/api/v1/stats");
    assert_eq!(r.status, 403);
    assert_eq!(r.json["error"]["code"], "tier_required");
    assert_eq!(free.get("/api/v1/admin/stats").status, 403);

    rig.advance(1_100);
    let r = a.get("/api/v1/admin/stats");
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["users"]["total"], Value::from(3));
    let r = a.get("/api/v1/admin/subscriptions?limit=1");
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()[0]["email"], "pro@example.com");
    assert_eq!(a.get("/api/v1/admin/subscriptions?plan=gold").status, 400);
    assert_eq!(a.get("/api/v1/admin/settings").status, 200);

    rig.advance(1_100);
    let put = |b: &mut crate::rig::Browser<'_>, body: Value| {
        let req = b.request(Method::Put, "/api/v1/admin/settings", Some(body));
        b.send(req)
    };
    let r = put(&mut a, json!({"min_confluence": 0, "log_level": "loud"}));
    assert_eq!(r.status, 400);
    assert_eq!(r.json["error"]["fields"].as_array().unwrap().len(), 2);
    let r = put(
        &mut a,
        json!({"min_confluence": 5, "retention_logs_days": null}),
    );
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["min_confluence"], Value::from(5));
    assert_eq!(r.data()["retention_logs_days"], Value::Null);
    let audit = pollster::block_on(rig.store.audit_log(
        &AuditFilter::default(),
        PageRequest {
            limit: 10,
            after: None,
        },
    ))
    .unwrap();
    assert_eq!(audit.items.len(), 1);
    assert_eq!(audit.items[0].entry.action, "settings.update");
    rig.advance(1_100);
    assert_eq!(put(&mut pro, json!({"min_confluence": 4})).status, 403);

    let doc: Value = serde_json::from_slice(&cl_api::openapi::document_bytes()).unwrap();
    let mut covered = std::collections::BTreeSet::new();
    for (method, route, status, body) in rig.seen.borrow().iter() {
        let op = &doc["paths"][route][method.as_str().to_ascii_lowercase()];
        let response = &op["responses"][status.to_string()];
        assert!(response.is_object(), "{route} {status} undocumented");
        covered.insert(*route);
        if let Some(schema) = response["content"]["application/json"].get("schema") {
            let errors = crate::schema::validate(&doc, schema, body);
            assert!(errors.is_empty(), "{route} ({status}): {errors:#?}\n{body}");
        }
    }
    for spec in cl_api::routes::TABLE
        .iter()
        .filter(|s| cl_api::stats::handles(s.route))
    {
        assert!(covered.contains(spec.path), "{} never exercised", spec.path);
    }
}
