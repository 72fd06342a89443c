//! End-to-end tests of the `cryptolens` binary.

// A test binary: failing loudly is the point (clippy.toml only exempts #[test] fns).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod backtest;
mod demo_sql;
mod helpers;
mod import;
mod replay;

use helpers::{cryptolens, fixture, keys};
use serde_json::json;

/// 2023-11-14T00:00:00Z, the fixtures' first minute.
const T0: i64 = 1_699_920_000_000;
const MIN: i64 = 60_000;

fn k(i: u64, t: &str, d: &str) -> (u64, String, String) {
    (i, t.to_owned(), d.to_owned())
}

#[test]
fn detect_prints_every_pattern_detector_by_detector_in_emission_order() {
    // Act
    let run = cryptolens(&["detect", "--candles", &fixture("patterns.csv")]);
    // Assert
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(
        keys(&v),
        vec![
            k(22, "imbalance", "bullish"),
            k(23, "order_block", "bearish"),
            k(24, "order_block", "bullish"),
            k(15, "liquidity_sweep", "bullish"),
            k(15, "liquidity_sweep", "bearish"),
            k(23, "liquidity_sweep", "bearish"),
        ]
    );
    assert_eq!(
        v["patterns"][0],
        json!({"index": 22, "detected_at": T0 + 22 * MIN, "type": "imbalance",
               "direction": "bullish", "zone_low": 100.1, "zone_high": 100.4,
               "swept_level": null})
    );
    assert_eq!(
        v["patterns"][3],
        json!({"index": 15, "detected_at": T0 + 15 * MIN, "type": "liquidity_sweep",
               "direction": "bullish", "zone_low": 99.5, "zone_high": 99.9,
               "swept_level": 99.9})
    );
    assert_eq!(v["patterns"][2]["zone_low"], json!(100.4));
    assert_eq!(v["patterns"][2]["zone_high"], json!(100.9));
}

#[test]
fn csv_bare_json_and_object_json_give_the_same_output() {
    let csv = cryptolens(&["detect", "--candles", &fixture("patterns.csv")]);
    let bare = cryptolens(&["detect", "--candles", &fixture("patterns.json")]);
    let obj = cryptolens(&["detect", "--candles", &fixture("patterns_object.json")]);
    assert_eq!(csv.code, 0);
    assert_eq!(csv.stdout, bare.stdout);
    assert_eq!(csv.stdout, obj.stdout);
}

#[test]
fn types_select_detectors_and_keep_the_spec_order() {
    let run = cryptolens(&[
        "detect",
        "--candles",
        &fixture("patterns.csv"),
        "--types",
        "liquidity_sweep,imbalance",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let types: Vec<String> = keys(&run.json()).into_iter().map(|(_, t, _)| t).collect();
    assert_eq!(
        types,
        vec![
            "imbalance",
            "liquidity_sweep",
            "liquidity_sweep",
            "liquidity_sweep"
        ]
    );
}

#[test]
fn min_zone_pct_raises_the_size_test() {
    // At 0.5% only the bearish order block survives, and only by falling through: its
    // newest block (row 22, 0.398%) is too small, the older row 21 ([100, 100.5]) is 0.5%.
    let run = cryptolens(&[
        "detect",
        "--candles",
        &fixture("patterns.csv"),
        "--min-zone-pct",
        "0.5",
    ]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.json(),
        json!({"patterns": [{"index": 23, "detected_at": T0 + 23 * MIN,
            "type": "order_block", "direction": "bearish", "zone_low": 100.0,
            "zone_high": 100.5, "swept_level": null}]})
    );
    let loose = cryptolens(&[
        "detect",
        "--candles",
        &fixture("patterns.csv"),
        "--min-zone-pct=0.3",
    ]);
    // 0.3% keeps the zones of 0.398% and 0.402% and more, drops the 0.2997% gap.
    assert!(!keys(&loose.json()).contains(&k(22, "imbalance", "bullish")));
}

#[test]
fn dedup_output_is_a_subset_of_raw() {
    let raw = cryptolens(&["detect", "--candles", &fixture("patterns.csv")]);
    let dedup = cryptolens(&["detect", "--candles", &fixture("patterns.csv"), "--dedup"]);
    assert_eq!(dedup.code, 0);
    let raw = raw.json()["patterns"].as_array().unwrap().clone();
    for p in dedup.json()["patterns"].as_array().unwrap() {
        assert!(raw.contains(p), "{p}");
    }
}

#[test]
fn aggregate_prints_each_timeframe_in_the_order_asked() {
    // Arrange: minutes 3..14 with minute 7 missing; now is 30 s into minute 15.
    let now = (T0 + 15 * MIN + 30_000).to_string();
    // Act
    let run = cryptolens(&[
        "aggregate",
        "--candles",
        &fixture("minutes.csv"),
        "--to",
        "15m,5m,30m",
        "--now",
        &now,
    ]);
    // Assert
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("{\"15m\":"), "{}", run.stdout);
    assert_eq!(
        run.json(),
        json!({
            "15m": [[T0, 100.0, 102.75, 99.75, 102.0, 95.0]],
            "5m": [
                [T0, 100.0, 101.25, 99.75, 100.5, 7.0],
                [T0 + 5 * MIN, 100.5, 101.75, 100.25, 101.5, 28.0],
                [T0 + 10 * MIN, 101.5, 102.75, 100.75, 102.0, 60.0]
            ],
            "30m": []
        })
    );
}

#[test]
fn a_bad_csv_row_is_named_and_exits_2() {
    let run = cryptolens(&["detect", "--candles", &fixture("bad_row.csv")]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr
            .contains("data row 3 (1-based, header excluded; line 4)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("high 100.5 is below"), "{}", run.stderr);
}

#[test]
fn a_bad_json_row_is_named_and_exits_2() {
    let run = cryptolens(&[
        "aggregate",
        "--candles",
        &fixture("bad_order.json"),
        "--now",
        "0",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("data row 3 (1-based)") && run.stderr.contains("not after"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_file_exits_2() {
    let run = cryptolens(&["detect", "--candles", &fixture("no_such_file.csv")]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot read"), "{}", run.stderr);
}

#[test]
fn help_lists_every_command() {
    for args in [&["--help"][..], &["help"], &["-h"]] {
        let run = cryptolens(args);
        assert_eq!(run.code, 0);
        for cmd in [
            "detect",
            "aggregate",
            "bench",
            "backtest",
            "replay",
            "demo-sql",
            "bench-replay",
        ] {
            assert!(run.stdout.contains(cmd), "{cmd} missing from help");
        }
        assert!(!run.stdout.contains("(coming)"));
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["detect"],
        &["detect", "--candles", "x", "--types", "fvg"],
        &["aggregate", "--candles", "x"],
        &["bench", "--candles", "zero"],
    ] {
        let run = cryptolens(args);
        assert_eq!(run.code, 2, "{args:?}");
        assert!(
            run.stderr.starts_with("error: "),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn bench_reports_json_for_every_stage() {
    let run = cryptolens(&[
        "bench",
        "--candles",
        "3000",
        "--runs",
        "1",
        "--seed",
        "9",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["candles"], json!(3000));
    assert_eq!(v["seed"], json!(9));
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 16);
    assert!(results
        .iter()
        .all(|r| r["candles_per_sec"].as_f64().is_some_and(|x| x > 0.0)));
}

#[test]
fn bench_prints_a_table_by_default() {
    let run = cryptolens(&["bench", "--candles", "2000", "--runs", "1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("candles/s"));
    assert!(run.stdout.contains("order_block"));
}
