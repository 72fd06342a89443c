//! The run-queue and admin-operation routes on the host (crate::ops): every response matches
//! the OpenAPI document; a plain user session is refused; a POST only records a queued run;
//! limits; field errors; the import parses, skips bad rows and is idempotent.

use crate::rig::{Rig, PASSWORD};
use cl_app::ports::run_queue::{QueueStatus, QueuedRunId, RunQueueStore};
use cl_app::ports::{NewSymbol, SymbolStore, UserStore};
use serde_json::{json, Value};

#[test]
fn ops_routes_answer_as_the_openapi_document_says() {
    let rig = Rig::new();
    let mut a = rig.signed_up("ops@example.com", "ops", "198.51.100.7");
    let admin = rig.user_id("ops@example.com");
    pollster::block_on(rig.store.set_admin(admin, true)).unwrap();
    assert_eq!(a.login("ops@example.com", PASSWORD).status, 200);
    let mut u = rig.signed_up("ann@example.com", "ann", "198.51.100.8");
    let sym = pollster::block_on(rig.store.add_symbol(&NewSymbol {
        symbol: "BTC/USDT".into(),
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: 1_704_067_200_000,
        created_at: 0,
    }))
    .unwrap()
    .id;

    // A plain session is refused; nothing is queued.
    let r = u.post("/api/v1/scan", json!({"symbol": "BTC/USDT"}));
    assert_eq!(r.status, 403);
    assert_eq!(u.post_empty("/api/v1/admin/crons/stats/run").status, 403);

    rig.advance(1_100);
    let r = a.post("/api/v1/scan", json!({"symbol": "BTC/USDT", "tf": "4h"}));
    assert_eq!(r.status, 202, "{}", r.json);
    let id = r.data()["id"].as_i64().unwrap();
    let run = pollster::block_on(rig.store.queued_run(QueuedRunId(id)))
        .unwrap()
        .unwrap();
    assert_eq!(run.status, QueueStatus::Queued);
    assert_eq!(
        a.post("/api/v1/scan", json!({"symbol": "BTC/USDT"})).status,
        429
    );
    assert_eq!(
        a.post("/api/v1/scan/run", json!({"symbol": "BTC/USDT"}))
            .status,
        202
    );
    rig.advance(1_100);
    assert_eq!(
        a.post("/api/v1/fetch", json!({"symbol": "NOPE/USDT"}))
            .status,
        400
    );
    assert_eq!(
        a.post("/api/v1/fetch", json!({"symbol": "BTC/USDT", "tf": "3m"}))
            .status,
        400
    );
    let r = a.post("/api/v1/fetch", json!({"symbol": "BTC/USDT"}));
    assert_eq!(r.status, 202, "{}", r.json);
    assert_eq!(202, 202);
    rig.advance(1_100);
    assert_eq!(a.get(&format!("/api/v1/runs/{id}")).status, 200);
    assert_eq!(u.get(&format!("/api/v1/runs/{id}")).status, 404);
    assert_eq!(a.get("/api/v1/runs/0").status, 400);

    rig.advance(1_100);
    assert_eq!(a.post_empty("/api/v1/admin/crons/cleanup/run").status, 202);
    assert_eq!(a.post_empty("/api/v1/admin/crons/nope/run").status, 400);
    let path = format!("/api/v1/admin/symbols/{}/historical-fetch", sym.0);
    assert_eq!(a.post(&path, json!({"from_ms": 5})).status, 400);
    assert_eq!(a.post(&path, json!({})).status, 202);
    assert_eq!(
        a.post("/api/v1/admin/symbols/999/historical-fetch", json!({}))
            .status,
        404
    );

    rig.advance(1_100);
    let path = format!("/api/v1/admin/symbols/{}/import", sym.0);
    let csv = "timestamp,open,high,low,close,volume\n1704067200000,10,11,9,10,1\nx,1,1,1,1,1\n";
    let r = a.post(&path, json!({"format": "csv", "data": csv}));
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["imported"], Value::from(1));
    assert_eq!(r.data()["errors"][0]["line"], Value::from(3));
    assert_eq!(
        a.post(&path, json!({"format": "csv", "data": csv})).data()["imported"],
        Value::from(0)
    );
    assert_eq!(
        a.post(&path, json!({"format": "xml", "data": csv})).status,
        400
    );
    assert_eq!(
        a.post(
            "/api/v1/admin/symbols/999/import",
            json!({"format": "csv", "data": csv})
        )
        .status,
        404
    );

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
        .filter(|s| cl_api::ops::handles(s.route))
    {
        assert!(covered.contains(spec.path), "{} never exercised", spec.path);
    }
}
