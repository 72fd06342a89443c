//! `cryptolens backtest`: raw detections of one type → the domain backtester.

use crate::helpers::{cryptolens, fixture};

#[test]
fn backtest_prints_stats_and_trades_for_the_candles_as_given() {
    // The fixture's 1m rows are taken as 5m candles: the TF only picks the window (200).
    let file = fixture("replay_btc.csv");
    let run = cryptolens(&[
        "backtest",
        "--candles",
        &file,
        "--type",
        "imbalance",
        "--tf",
        "5m",
        "--rr",
        "1.5",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["timeframe"], "5m");
    assert_eq!(v["window"], 200);
    assert_eq!(v["params"]["rr"], 1.5);
    assert_eq!(v["params"]["sl_buffer_pct"], 10.0);
    let stats = &v["stats"];
    let trades = v["trades"].as_array().unwrap();
    assert_eq!(stats["total"].as_u64().unwrap() as usize, trades.len());
    assert!(!trades.is_empty());
    assert!(trades.iter().all(|t| t["pattern_type"] == "imbalance"));
    assert_eq!(
        stats["wins"].as_u64().unwrap()
            + stats["losses"].as_u64().unwrap()
            + stats["inconclusive"].as_u64().unwrap(),
        stats["total"].as_u64().unwrap()
    );
}

#[test]
fn backtest_defaults_to_1h() {
    let file = fixture("replay_btc.csv");
    let run = cryptolens(&["backtest", "--candles", &file, "--type", "order_block"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(
        (v["timeframe"].as_str(), v["window"].as_u64()),
        (Some("1h"), Some(100))
    );
}

#[test]
fn backtest_refuses_1m_and_out_of_range_parameters_with_exit_2() {
    let file = fixture("replay_btc.csv");
    for (extra, want) in [
        (&["--tf", "1m"][..], "cannot be backtested"),
        (&["--rr", "20"], "rr must be between 0.5 and 10"),
        (&["--sl-buffer-pct", "-1"], "sl_buffer_pct"),
        (&["--slippage-pct", "6"], "slippage_pct"),
    ] {
        let mut args = vec!["backtest", "--candles", &file, "--type", "imbalance"];
        args.extend_from_slice(extra);
        let run = cryptolens(&args);
        assert_eq!(run.code, 2, "{extra:?}");
        assert!(run.stderr.contains(want), "{extra:?}: {}", run.stderr);
    }
}
