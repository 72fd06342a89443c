//! The read endpoints against the in-memory store: happy paths, field-level validation,
//! unknown parameters, keyset pagination, 404/405 and the matrix ETag.

use crate::helpers::*;
use cl_api::http::Method;
use cl_app::ports::{NewPattern, PatternStore, SymbolStore, TradeLevels};
use cl_domain::{Direction, PatternType, Timeframe, Zone};
use serde_json::Value;
use std::collections::BTreeSet;

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect()
}

fn assert_invalid(r: &Resp, expected: &[(&str, &str)]) {
    assert_eq!(r.status, 400, "{}", r.json);
    assert_eq!(r.code(), Some("validation_failed"));
    let got: BTreeSet<(String, String)> = r.fields().into_iter().collect();
    let want: BTreeSet<(String, String)> = expected
        .iter()
        .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
        .collect();
    assert_eq!(got, want, "{}", r.json);
}

/// Follows `next_cursor` from `first` to the last page; returns every page's ids.
fn walk(app: &TestApp, first: &str) -> Vec<Vec<i64>> {
    let mut pages = Vec::new();
    let mut url = first.to_owned();
    loop {
        let r = get(app, &url);
        assert_eq!(r.status, 200, "{}", r.json);
        assert!(r.json["meta"].get("next_cursor").is_some(), "paged meta");
        pages.push(ids(r.data()));
        match r.next_cursor() {
            Some(c) => url = format!("{first}&cursor={c}"),
            None => break,
        }
        assert!(pages.len() < 50, "pagination does not terminate");
    }
    pages
}

// ---------------------------------------------------------------------------------------------
// Symbols
// ---------------------------------------------------------------------------------------------

#[test]
fn symbols_list_all_or_filter_by_activity() {
    let (app, _) = seeded();
    let names = |r: &Resp| -> Vec<String> {
        r.data()
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["symbol"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = get(&app, "/api/v1/symbols");
    assert_eq!(all.status, 200);
    assert_eq!(names(&all), ["BTC/USDT", "ETH/USDT", "DOGE/USDT"]);
    assert_eq!(
        all.data()[0],
        serde_json::json!({"symbol": "BTC/USDT", "exchange": "binance", "active": true})
    );
    assert!(all.json["meta"].get("next_cursor").is_none());
    assert_eq!(
        names(&get(&app, "/api/v1/symbols?active=true")),
        ["BTC/USDT", "ETH/USDT"]
    );
    assert_eq!(
        names(&get(&app, "/api/v1/symbols?active=false")),
        ["DOGE/USDT"]
    );
}

#[test]
fn symbols_reject_bad_values_and_unknown_parameters() {
    let app = empty_app();
    assert_invalid(
        &get(&app, "/api/v1/symbols?active=yes"),
        &[("active", "invalid_choice")],
    );
    assert_invalid(
        &get(&app, "/api/v1/symbols?tier=premium&is_admin=1"),
        &[("tier", "unknown_field"), ("is_admin", "unknown_field")],
    );
    assert_invalid(
        &get(&app, "/api/v1/symbols?active=true&active=false"),
        &[("active", "duplicate_field")],
    );
    assert_invalid(
        &get(&app, "/api/v1/symbols?active=%ff"),
        &[("active", "invalid_encoding")],
    );
}

// ---------------------------------------------------------------------------------------------
// Candles and chart
// ---------------------------------------------------------------------------------------------

#[test]
fn candles_default_to_the_tf_limit_oldest_first_with_has_more() {
    let (app, _) = seeded();
    let r = get(&app, "/api/v1/candles/BTC-USDT/1h");
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.route, "/api/v1/candles/{symbol}/{tf}");
    let d = r.data();
    assert_eq!(d["symbol"], "BTC/USDT");
    assert_eq!(d["tf"], "1h");
    assert_eq!(d["has_more"], true);
    let candles = d["candles"].as_array().unwrap();
    assert_eq!(candles.len(), 250);
    assert_eq!(candles[249]["ts"], T0 + (CANDLES - 1) * H);
    assert_eq!(candles[0]["ts"], T0 + (CANDLES - 250) * H);
    assert!(candles
        .windows(2)
        .all(|w| w[0]["ts"].as_i64() < w[1]["ts"].as_i64()));
    let keys: BTreeSet<&str> = candles[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["ts", "open", "high", "low", "close", "volume"])
    );
    let m1 = get(&app, "/api/v1/candles/BTC-USDT/1m");
    assert_eq!(m1.data()["candles"].as_array().unwrap().len(), 500);
}

#[test]
fn candles_page_backwards_with_before_until_has_more_is_false() {
    let (app, _) = seeded();
    let mut seen = Vec::new();
    let mut before: Option<i64> = None;
    loop {
        let url = match before {
            Some(b) => format!("/api/v1/candles/BTC%2FUSDT/1h?limit=250&before={b}"),
            None => "/api/v1/candles/BTC%2FUSDT/1h?limit=250".to_owned(),
        };
        let r = get(&app, &url);
        assert_eq!(r.status, 200, "{}", r.json);
        let page: Vec<i64> = r.data()["candles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["ts"].as_i64().unwrap())
            .collect();
        seen.splice(0..0, page.iter().copied());
        if r.data()["has_more"] == false {
            break;
        }
        before = page.first().copied();
    }
    let want: Vec<i64> = (0..CANDLES).map(|i| T0 + i * H).collect();
    assert_eq!(seen, want);
    let all = get(&app, "/api/v1/candles/BTC-USDT/1h?limit=2000");
    assert_eq!(all.data()["has_more"], false);
    assert_eq!(all.data()["candles"].as_array().unwrap().len(), 600);
}

#[test]
fn candles_validate_every_field_at_once() {
    let (app, _) = seeded();
    assert_invalid(
        &get(
            &app,
            "/api/v1/candles/BTC-USDT/2w?limit=0&before=-5&sort=asc",
        ),
        &[
            ("tf", "invalid_choice"),
            ("limit", "out_of_range"),
            ("before", "invalid_format"),
            ("sort", "unknown_field"),
        ],
    );
    assert_invalid(
        &get(&app, "/api/v1/candles/btc-usdt/1h?limit=2001"),
        &[("symbol", "invalid_format"), ("limit", "out_of_range")],
    );
    assert_invalid(
        &get(&app, "/api/v1/candles/BTC-USDT/1h?limit=ten"),
        &[("limit", "invalid_format")],
    );
    assert_invalid(
        &get(&app, "/api/v1/candles/BTC%zzUSDT/1h"),
        &[("symbol", "invalid_encoding")],
    );
    assert_invalid(
        &get(&app, "/api/v1/candles/ABCDEFGHIJK-LMNOPQRSTU/1h"),
        &[("symbol", "invalid_format")],
    );
    assert_invalid(
        &get(&app, "/api/v1/candles/BTC-USDT/1h?before=9007199254740993"),
        &[("before", "out_of_range")],
    );
}

#[test]
fn candles_of_an_unknown_symbol_are_404_and_an_empty_series_is_an_empty_page() {
    let (app, _) = seeded();
    let r = get(&app, "/api/v1/candles/XRP-USDT/1h");
    assert_eq!((r.status, r.code()), (404, Some("not_found")));
    let r = get(&app, "/api/v1/candles/ETH-USDT/1d");
    assert_eq!(r.status, 200);
    assert_eq!(r.data()["candles"], serde_json::json!([]));
    assert_eq!(r.data()["has_more"], false);
}

#[test]
fn the_chart_shows_the_tfs_active_patterns_in_view() {
    let (app, seed) = seeded();
    let r = get(&app, "/api/v1/chart/BTC-USDT/1h");
    assert_eq!(r.status, 200, "{}", r.json);
    let d = r.data();
    assert_eq!(d["candles"].as_array().unwrap().len(), 250);
    assert_eq!(d["has_more"], true);
    // BTC 1h active: #0 (10h), #1 (20h), #2 (20h), #3 (300h), #4 (590h); #5 is filled and
    // #6 is 4h. Newest first, ties by id desc.
    let p = &seed.patterns;
    assert_eq!(
        ids(&d["patterns"]),
        [p[4].0, p[3].0, p[2].0, p[1].0, p[0].0]
    );
    let first = &d["patterns"][0];
    assert_eq!(first["symbol"], "BTC/USDT");
    assert_eq!(first["tf"], "1h");
    assert_eq!(first["type"], "imbalance");
    assert_eq!(first["status"], "active");
    assert_eq!(
        first["zone"],
        serde_json::json!({"low": 100.0, "high": 102.5})
    );
    // An earlier view ends at 249h: patterns detected later are not in it.
    let r = get(
        &app,
        &format!(
            "/api/v1/chart/BTC-USDT/1h?limit=100&before={}",
            T0 + 250 * H
        ),
    );
    assert_eq!(ids(&r.data()["patterns"]), [p[2].0, p[1].0, p[0].0]);
    // No candles, no view, no patterns.
    let r = get(&app, "/api/v1/chart/BTC-USDT/4h");
    assert_eq!(r.data()["patterns"], serde_json::json!([]));
    assert_eq!(get(&app, "/api/v1/chart/XRP-USDT/1h").status, 404);
    assert_invalid(
        &get(&app, "/api/v1/chart/BTC-USDT/1h?cursor=a.b"),
        &[("cursor", "unknown_field")],
    );
}

// ---------------------------------------------------------------------------------------------
// Patterns
// ---------------------------------------------------------------------------------------------

#[test]
fn patterns_list_active_ones_newest_first_in_stable_keyset_pages() {
    let (app, seed) = seeded();
    let p = &seed.patterns;
    let all = get(&app, "/api/v1/patterns");
    assert_eq!(all.status, 200);
    assert_eq!(all.json["meta"]["next_cursor"], Value::Null);
    // detected_at desc, id desc: 590h, 300h, 50h (#8, #7), 40h, 20h (#2, #1), 10h, 5h.
    let expected = vec![
        p[4].0, p[3].0, p[8].0, p[7].0, p[6].0, p[2].0, p[1].0, p[0].0, p[9].0,
    ];
    assert_eq!(ids(all.data()), expected);
    assert!(!ids(all.data()).contains(&seed.filled.0));
    for limit in [1, 2, 3, 4, 9] {
        let pages = walk(&app, &format!("/api/v1/patterns?limit={limit}"));
        assert!(pages.iter().all(|pg| pg.len() <= limit));
        assert_eq!(pages.concat(), expected, "limit {limit}");
        assert!(!pages.last().unwrap().is_empty());
    }
}

#[test]
fn patterns_filter_by_symbol_tf_type_and_direction() {
    let (app, seed) = seeded();
    let p = &seed.patterns;
    let r = get(&app, "/api/v1/patterns?symbol=ETH-USDT");
    assert_eq!(ids(r.data()), [p[8].0, p[7].0, p[9].0]);
    let r = get(
        &app,
        "/api/v1/patterns?symbol=BTC/USDT&tf=1h&type=imbalance",
    );
    assert_eq!(ids(r.data()), [p[4].0, p[3].0, p[0].0]);
    let r = get(&app, "/api/v1/patterns?direction=bearish&status=active");
    assert_eq!(ids(r.data()), [p[3].0, p[8].0, p[6].0, p[1].0, p[9].0]);
    let r = get(&app, "/api/v1/patterns?symbol=XRP-USDT");
    assert_eq!((r.status, r.data().clone()), (200, serde_json::json!([])));
    assert_eq!(r.json["meta"]["next_cursor"], Value::Null);
}

#[test]
fn patterns_validate_filters_limit_and_cursor() {
    let (app, _) = seeded();
    assert_invalid(
        &get(
            &app,
            "/api/v1/patterns?tf=3h&type=fvg&direction=long&status=open&limit=1001&cursor=zz&user_id=1",
        ),
        &[
            ("tf", "invalid_choice"),
            ("type", "invalid_choice"),
            ("direction", "invalid_choice"),
            ("status", "invalid_choice"),
            ("limit", "out_of_range"),
            ("cursor", "invalid_format"),
            ("user_id", "unknown_field"),
        ],
    );
    for bad in [
        "",
        "1",
        "-1.2",
        "1.2.3",
        "18c1b2f6a80.z",
        "ffffffffffffffff.1",
    ] {
        assert_invalid(
            &get(&app, &format!("/api/v1/patterns?cursor={bad}")),
            &[("cursor", "invalid_format")],
        );
    }
    assert_invalid(
        &get(&app, "/api/v1/patterns?symbol="),
        &[("symbol", "invalid_format")],
    );
}

#[test]
fn patterns_of_every_status_are_listed_with_the_same_filters() {
    let (app, seed) = seeded();
    let r = get(&app, "/api/v1/patterns?status=filled");
    assert_eq!(r.status, 200);
    assert_eq!(ids(r.data()), [seed.filled.0]);
    assert_eq!(r.data()[0]["status"], "filled");
    let r = get(
        &app,
        "/api/v1/patterns?status=filled&symbol=BTC-USDT&tf=1h&type=order_block",
    );
    assert_eq!(ids(r.data()), [seed.filled.0]);
    for none in [
        "/api/v1/patterns?status=filled&direction=bearish",
        "/api/v1/patterns?status=filled&symbol=ETH-USDT",
        "/api/v1/patterns?status=expired",
        "/api/v1/patterns?status=invalidated",
    ] {
        let r = get(&app, none);
        assert_eq!(
            (r.status, r.data().clone()),
            (200, serde_json::json!([])),
            "{none}"
        );
        assert_eq!(r.json["meta"]["next_cursor"], Value::Null);
    }
}

#[test]
fn one_pattern_by_id_or_404() {
    let (app, seed) = seeded();
    let r = get(&app, &format!("/api/v1/patterns/{}", seed.filled.0));
    assert_eq!(r.status, 200);
    let d = r.data();
    assert_eq!(d["status"], "filled");
    assert_eq!(d["fill_pct"], 100.0);
    assert_eq!(d["filled_at"], T0 + 101 * H);
    assert_eq!(d["levels"]["entry"], 101.0);
    assert_eq!(d["swept_level"], Value::Null);
    let sweep = get(&app, &format!("/api/v1/patterns/{}", seed.patterns[2].0));
    assert_eq!(sweep.data()["swept_level"], 98.5);
    assert_eq!(sweep.data()["type"], "liquidity_sweep");
    let r = get(&app, "/api/v1/patterns/999");
    assert_eq!((r.status, r.code()), (404, Some("not_found")));
    for bad in ["abc", "0", "-1", "1.5", "9007199254740993"] {
        let r = get(&app, &format!("/api/v1/patterns/{bad}"));
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.fields().len(), 1);
        assert_eq!(r.fields()[0].0, "id");
    }
    assert_invalid(
        &get(&app, "/api/v1/patterns/1?verbose=1"),
        &[("verbose", "unknown_field")],
    );
}

// ---------------------------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------------------------

#[test]
fn signals_list_newest_first_with_ties_by_id_in_stable_pages() {
    let (app, seed) = seeded();
    let s = &seed.signals;
    // created_at: s0 1h, s1 2h, s2 2h, s3 3h, s4 4h, s5 4h, s6 5h.
    let expected = vec![s[6], s[5], s[4], s[3], s[2], s[1], s[0]];
    let all = get(&app, "/api/v1/signals");
    assert_eq!(all.status, 200);
    assert_eq!(ids(all.data()), expected);
    assert_eq!(all.json["meta"]["next_cursor"], Value::Null);
    for limit in [1, 2, 3, 7] {
        let pages = walk(&app, &format!("/api/v1/signals?limit={limit}"));
        assert_eq!(pages.concat(), expected, "limit {limit}");
    }
    let first = &all.data()[6];
    assert_eq!(first["symbol"], "BTC/USDT");
    assert_eq!(first["direction"], "long");
    assert_eq!(first["status"], "pending");
    assert_eq!(first["pattern_id"], seed.patterns[0].0);
    assert_eq!(
        first["timeframes_aligned"],
        serde_json::json!(["5m", "1h", "4h"])
    );
    assert_eq!(first["notified_at"], Value::Null);
}

#[test]
fn signals_filter_by_symbol_side_and_status() {
    let (app, seed) = seeded();
    let s = &seed.signals;
    let r = get(&app, "/api/v1/signals?symbol=ETH-USDT&direction=short");
    assert_eq!(ids(r.data()), [s[6], s[1]]);
    let r = get(
        &app,
        "/api/v1/signals?direction=long&status=pending&limit=2",
    );
    assert_eq!(ids(r.data()), [s[5], s[4]]);
    assert!(r.next_cursor().is_some());
    assert_eq!(
        get(&app, "/api/v1/signals?status=closed").data(),
        &serde_json::json!([])
    );
    let r = get(&app, "/api/v1/signals?symbol=XRP-USDT");
    assert_eq!((r.status, r.data().clone()), (200, serde_json::json!([])));
}

#[test]
fn signals_validate_their_parameters() {
    let (app, _) = seeded();
    assert_invalid(
        &get(
            &app,
            "/api/v1/signals?direction=bullish&status=done&limit=501&cursor=%2F&symbol=BTC-ETH-USDT&tf=1h",
        ),
        &[
            ("direction", "invalid_choice"),
            ("status", "invalid_choice"),
            ("limit", "out_of_range"),
            ("cursor", "invalid_format"),
            ("symbol", "invalid_format"),
            ("tf", "unknown_field"),
        ],
    );
}

#[test]
fn one_signal_by_id_or_404() {
    let (app, seed) = seeded();
    let r = get(&app, &format!("/api/v1/signals/{}", seed.signals[1]));
    assert_eq!(r.status, 200);
    assert_eq!(r.data()["symbol"], "ETH/USDT");
    assert_eq!(r.data()["direction"], "short");
    assert_eq!(get(&app, "/api/v1/signals/4242").status, 404);
    assert_invalid(&get(&app, "/api/v1/signals/x"), &[("id", "invalid_format")]);
}

// ---------------------------------------------------------------------------------------------
// Matrix
// ---------------------------------------------------------------------------------------------

#[test]
fn the_matrix_has_one_row_per_active_symbol_and_a_cell_per_voting_tf() {
    let (app, seed) = seeded();
    let r = get(&app, "/api/v1/matrix");
    assert_eq!(r.status, 200, "{}", r.json);
    let d = r.data();
    assert_eq!(
        d["timeframes"],
        serde_json::json!(["5m", "15m", "30m", "1h", "2h", "4h", "1d"])
    );
    let rows = d["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["symbol"], "BTC/USDT");
    assert_eq!(rows[1]["symbol"], "ETH/USDT");
    let btc_1h = &rows[0]["cells"][3];
    assert_eq!(btc_1h["tf"], "1h");
    assert_eq!(btc_1h["direction"], "bullish");
    assert_eq!(btc_1h["type"], "imbalance");
    assert_eq!(btc_1h["count"], 5);
    assert_eq!(btc_1h["pattern_id"], seed.patterns[4].0);
    assert_eq!(
        btc_1h["zone"],
        serde_json::json!({"low": 100.0, "high": 102.5})
    );
    // ETH 1h: two patterns detected at the same time; the higher id wins.
    assert_eq!(rows[1]["cells"][3]["pattern_id"], seed.patterns[8].0);
    assert_eq!(rows[1]["cells"][3]["direction"], "bearish");
    let neutral = &rows[0]["cells"][0];
    assert_eq!(
        neutral,
        &serde_json::json!({"tf": "5m", "direction": "neutral", "type": null, "count": 0,
            "zone": null, "pattern_id": null, "detected_at": null})
    );
    assert_eq!(
        r.headers.get("cache-control"),
        Some("private, max-age=0, must-revalidate")
    );
}

#[test]
fn the_matrix_etag_revalidates_to_304_without_a_body_and_changes_with_the_data() {
    let (app, seed) = seeded();
    let first = get(&app, "/api/v1/matrix");
    let etag = first.headers.get("etag").unwrap().to_owned();
    assert!(
        etag.starts_with("W/\"") && etag.len() == 2 + 2 + 32,
        "{etag}"
    );
    // Same data → same tag, even though meta (request id, time) may differ.
    assert_eq!(
        get(&app, "/api/v1/matrix").headers.get("etag"),
        Some(etag.as_str())
    );

    let r = send(&app, with_header("/api/v1/matrix", "If-None-Match", &etag));
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.headers.get("etag"), Some(etag.as_str()));
    assert_eq!(r.headers.get("content-type"), None);
    assert!(r.headers.get("x-request-id").is_some());
    let strong = etag.trim_start_matches("W/");
    for header in [strong.to_owned(), format!("\"x\", {etag}"), "*".to_owned()] {
        let r = send(
            &app,
            with_header("/api/v1/matrix", "if-none-match", &header),
        );
        assert_eq!(r.status, 304, "{header}");
    }
    for header in ["\"other\"", "garbage", ""] {
        let r = send(&app, with_header("/api/v1/matrix", "if-none-match", header));
        assert_eq!(r.status, 200, "{header}");
    }

    // New data → new tag; the old one no longer matches.
    pollster::block_on(app.store.insert_pattern(&NewPattern {
        symbol: seed.eth,
        tf: Timeframe::D1,
        pattern_type: PatternType::OrderBlock,
        direction: Direction::Bullish,
        zone: Zone::new(1.0, 2.0).unwrap(),
        swept_level: None,
        detected_at: T0,
        expires_at: T0 + 1000 * H,
        levels: TradeLevels::default(),
        created_at: T0,
    }))
    .unwrap();
    let r = send(&app, with_header("/api/v1/matrix", "If-None-Match", &etag));
    assert_eq!(r.status, 200);
    assert_ne!(r.headers.get("etag"), Some(etag.as_str()));
    pollster::block_on(app.store.set_symbol_active(seed.btc, false)).unwrap();
    assert_eq!(
        get(&app, "/api/v1/matrix").data()["rows"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn the_matrix_accepts_no_parameters_and_head_has_no_body() {
    let (app, _) = seeded();
    assert_invalid(
        &get(&app, "/api/v1/matrix?symbol=BTC-USDT"),
        &[("symbol", "unknown_field")],
    );
    let r = send(&app, with_method("/api/v1/matrix", Method::Head));
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert!(r.headers.get("etag").is_some());
}

// ---------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------

#[test]
fn read_routes_answer_405_to_other_methods_and_404_to_unknown_paths() {
    let (app, _) = seeded();
    for (method, path) in [
        (Method::Post, "/api/v1/patterns"),
        (Method::Delete, "/api/v1/patterns/1"),
        (Method::Patch, "/api/v1/signals"),
        (Method::Put, "/api/v1/matrix"),
        (Method::Post, "/api/v1/candles/BTC-USDT/1h"),
        (Method::Other, "/api/v1/openapi.json"),
    ] {
        let r = send(&app, with_method(path, method));
        assert_eq!(
            (r.status, r.code()),
            (405, Some("method_not_allowed")),
            "{path}"
        );
        assert_eq!(r.headers.get("allow"), Some("GET, HEAD"));
    }
    for path in [
        "/api/v1/patterns/1/extra",
        "/api/v1/candles/BTC-USDT",
        "/api/v1/chart",
        "/api/v1/signal/1",
    ] {
        let r = get(&app, path);
        assert_eq!((r.status, r.code()), (404, Some("not_found")), "{path}");
    }
}

#[test]
fn store_outages_are_503_without_internals() {
    // An empty store has no symbols; the memory store never fails, so this checks the mapping
    // through ApiError directly.
    let err: cl_api::error::ApiError =
        cl_app::ports::StoreError::Unavailable("D1_ERROR: network at 10.0.0.1".into()).into();
    let resp = err.into_response(&ctx());
    assert_eq!(resp.status, 503);
    assert!(!String::from_utf8(resp.body).unwrap().contains("D1_ERROR"));
    let err: cl_api::error::ApiError =
        cl_app::ports::StoreError::corrupt("patterns", Some(1), "bad tf").into();
    assert_eq!(err.code(), cl_api_types::ErrorCode::InternalError);
    // Any store call reaching an unknown symbol.
    assert_eq!(get(&empty_app(), "/api/v1/candles/BTC-USDT/1h").status, 404);
}
