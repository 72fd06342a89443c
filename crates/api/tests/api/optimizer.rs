//! The optimizer and trading-preference routes end to end on the host: every route answered
//! and checked against the OpenAPI document, admin only, field errors, apply/clear/reset.

use crate::keys::subscribe;
use crate::rig::{Browser, Rig};
use crate::schema::validate;
use cl_api::http::Method;
use cl_app::billing::core::plan::Plan;
use cl_app::billing::core::subscription::SubscriptionStatus;
use cl_app::ports::{CandleStore, NewSymbol, SymbolStore, UserStore};
use cl_domain::{Candle, Timeframe};
use serde_json::{json, Value};

const H: i64 = 3_600_000;
const PASSWORD: &str = "Correct7Horse";

fn put(b: &mut Browser<'_>, path: &str, body: Value) -> crate::helpers::Resp {
    let req = b.request(Method::Put, path, Some(body));
    b.send(req)
}

/// The response's `data` matches the named schema of the OpenAPI document.
fn conforms(_: &mut Browser<'_>, data: &Value, schema: &str) {
    let doc: Value = serde_json::from_slice(&cl_api::openapi::document_bytes()).unwrap();
    let errors = validate(
        &doc,
        &json!({ "$ref": format!("#/components/schemas/{schema}") }),
        data,
    );
    assert!(errors.is_empty(), "{schema}: {errors:?}\n{data}");
}

/// 1500 hourly candles of a jumpy walk ending an hour before `now`; returns `[from, to)`.
fn seed(rig: &Rig) -> (i64, i64) {
    let sym = pollster::block_on(rig.store.add_symbol(&NewSymbol {
        symbol: "OPT/USDT".into(),
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: 0,
        created_at: 0,
    }))
    .unwrap()
    .id;
    let n = 1_500;
    let start = (rig.now() / H) * H - (n + 1) * H;
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 10_000) as f64 / 10_000.0
    };
    let mut price = 100.0;
    let candles: Vec<Candle> = (0..n)
        .map(|i| {
            let open = price;
            let close = open * (1.0 + (rnd() - 0.5) * 0.04);
            let high = open.max(close) * (1.0 + rnd() * 0.01);
            let low = open.min(close) * (1.0 - rnd() * 0.01);
            price = close * (1.0 + (rnd() - 0.5) * 0.01);
            Candle::new(start + i * H, open, high, low, close, 1.0).unwrap()
        })
        .collect();
    pollster::block_on(rig.store.upsert_candles(sym, Timeframe::H1, &candles)).unwrap();
    (start, start + n * H)
}

#[test]
fn every_optimizer_route_answers_as_the_openapi_document_says() {
    let rig = Rig::new();
    let (from, to) = seed(&rig);
    let mut admin = rig.signed_up("opt@example.com", "optboss", "198.51.100.80");
    pollster::block_on(rig.store.set_admin(rig.user_id("opt@example.com"), true)).unwrap();
    assert_eq!(admin.login("opt@example.com", PASSWORD).status, 200);
    let mut kim = rig.signed_up("okim@example.com", "okim", "198.51.100.81");
    let kim_id = rig.user_id("okim@example.com").0;
    subscribe(
        &rig,
        "okim@example.com",
        Plan::Pro,
        SubscriptionStatus::Active,
        Some(rig.now() + 30 * 86_400_000),
    );
    const JOBS: &str = "/api/v1/admin/optimizer/jobs";
    let body = json!({"symbols": ["OPT/USDT"], "tfs": ["1h"], "pattern_types": ["imbalance"],
        "from": from, "to": to});

    // Admin only.
    assert_eq!(kim.get(JOBS).status, 403);
    assert_eq!(kim.post(JOBS, body.clone()).status, 403);
    // Field errors, nothing written.
    let r = admin.post(
        JOBS,
        json!({"symbols": [], "tfs": ["1m"], "pattern_types": ["x"],
        "from": to, "to": from}),
    );
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(admin.get(JOBS).data().as_array().unwrap().is_empty());

    rig.advance(1_000); // the 10/s per-IP API limit
    let r = admin.post(JOBS, body);
    assert_eq!(r.status, 202, "{}", r.json);
    let job = r.data().clone();
    conforms(&mut admin, &job, "OptimizerJob");
    let id = job["id"].as_i64().unwrap();
    pollster::block_on(cl_app::optimizer::continue_optimizations(
        &rig.store,
        10,
        rig.now(),
    ))
    .unwrap();

    rig.advance(1_000); // the 10/s per-IP API limit
    let r = admin.get(&format!("{JOBS}/{id}?metric=sharpe"));
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["job"]["status"], "done");
    let detail = r.data().clone();
    conforms(&mut admin, &detail, "OptimizerJobDetail");
    assert_eq!(admin.get(&format!("{JOBS}/{id}?metric=x")).status, 400);
    assert_eq!(admin.get(&format!("{JOBS}/{id}?other=1")).status, 400);
    rig.advance(1_000); // the 10/s per-IP API limit
    let r = admin.get(&format!("{JOBS}?limit=5"));
    assert_eq!(r.status, 200);
    for j in r.data().as_array().unwrap() {
        conforms(&mut admin, j, "OptimizerJob");
    }
    let r = admin.get(&format!("{JOBS}/{id}/compare/{id}"));
    assert_eq!(r.status, 200, "{}", r.json);
    for c in r.data().as_array().unwrap() {
        conforms(&mut admin, c, "OptimizerComparison");
    }
    assert_eq!(admin.get(&format!("{JOBS}/{id}/compare/0")).status, 400);

    rig.advance(1_000); // the 10/s per-IP API limit
    let r = admin.post(
        &format!("{JOBS}/{id}/apply"),
        json!({"user_id": kim_id, "metric": "total_profit"}),
    );
    assert_eq!(r.status, 200, "{}", r.json);
    conforms(&mut admin, r.data(), "OptimizerApplied");
    let r = kim.get("/api/v1/me/preferences/trading");
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["tuned"].as_array().unwrap().len(), 1);
    let d = r.data().clone();
    conforms(&mut kim, &d, "TradingPrefs");
    rig.advance(1_000); // the 10/s per-IP API limit
    let r = admin.delete(&format!("/api/v1/admin/optimizer/users/{kim_id}/params"));
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["symbols"], 1);

    let r = put(
        &mut kim,
        "/api/v1/me/preferences/trading",
        json!({"risk_per_trade_pct": 0.05, "default_rr": 3}),
    );
    assert_eq!(r.status, 400, "{}", r.json);
    assert_eq!(
        r.fields(),
        vec![("risk_per_trade_pct".to_owned(), "out_of_range".to_owned())]
    );
    rig.advance(1_000); // the 10/s per-IP API limit
    let r = put(
        &mut kim,
        "/api/v1/me/preferences/trading",
        json!({"risk_per_trade_pct": 2, "default_rr": 3}),
    );
    assert_eq!(r.status, 200, "{}", r.json);
    let d = r.data().clone();
    conforms(&mut kim, &d, "TradingPrefs");
    let r = kim.delete("/api/v1/me/preferences/tuned");
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["risk_per_trade_pct"], 2.0);
}
