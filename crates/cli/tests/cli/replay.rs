//! `cryptolens replay`: the pipeline over fixture history.

use crate::helpers::{cryptolens, fixture, Run};
use serde_json::Value;

const MIN: i64 = 60_000;

fn two_symbols(extra: &[&str]) -> Run {
    let btc = format!("BTC/USDT={}", fixture("replay_btc.csv"));
    let eth = format!("ETH/USDT={}", fixture("replay_eth.json"));
    let steps = fixture("replay_steps.json");
    let settings = fixture("replay_settings.json");
    let mut args = vec![
        "replay",
        "--candles",
        &btc,
        "--candles",
        &eth,
        "--steps",
        &steps,
        "--settings",
        &settings,
    ];
    args.extend_from_slice(extra);
    cryptolens(&args)
}

fn candle_ts(path: &str) -> Vec<i64> {
    let text = std::fs::read_to_string(fixture(path)).unwrap();
    if path.ends_with(".csv") {
        text.lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect()
    } else {
        let v: Value = serde_json::from_str(&text).unwrap();
        v["candles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[0].as_i64().unwrap())
            .collect()
    }
}

#[test]
fn without_steps_each_symbol_is_fed_everything_in_one_run() {
    // Arrange
    let btc = format!("BTC/USDT={}", fixture("replay_btc.csv"));
    let ts = candle_ts("replay_btc.csv");
    // Act
    let run = cryptolens(&["replay", "--candles", &btc]);
    // Assert
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["symbols"], serde_json::json!(["BTC/USDT"]));
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1);
    let n = ts.len() as i64;
    let last = *ts.last().unwrap();
    assert_eq!(steps[0][0], 0);
    assert_eq!(steps[0][1], n);
    assert_eq!(
        steps[0][2],
        last + MIN,
        "the clock is the last fed candle + 60 s"
    );
    assert_eq!(steps[0][3], n, "every candle is new");
    let patterns = v["patterns"].as_array().unwrap();
    assert_eq!(steps[0][4], patterns.len() as i64);
    // Ordered by id, with the documented fields.
    let ids: Vec<i64> = patterns.iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    for key in [
        "id",
        "symbol",
        "timeframe",
        "pattern_type",
        "direction",
        "zone_low",
        "zone_high",
        "detected_at",
        "expires_at",
        "status",
        "fill_percentage",
        "filled_at",
        "entry",
        "stop_loss",
        "take_profit_1",
        "take_profit_2",
        "take_profit_3",
        "risk",
        "risk_reward_1",
        "risk_reward_2",
        "risk_reward_3",
    ] {
        assert!(patterns[0].get(key).is_some(), "{key}");
    }
    assert_eq!(patterns[0].as_object().unwrap().len(), 21);
    // The matrix has the seven voting TFs, shortest first (checked on the raw text: the
    // parsed map sorts its keys).
    let row = v["matrix"]["BTC/USDT"].as_object().unwrap();
    assert_eq!(row.len(), 7);
    let matrix = &run.stdout[run.stdout.find("\"matrix\"").unwrap()..];
    let at: Vec<usize> = ["5m", "15m", "30m", "1h", "2h", "4h", "1d"]
        .iter()
        .map(|tf| matrix.find(&format!("\"{tf}\":")).unwrap())
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{matrix}");
    assert!(row
        .values()
        .all(|d| ["bullish", "bearish", "neutral"].contains(&d.as_str().unwrap())));
}

#[test]
fn each_step_runs_every_symbol_in_argument_order() {
    let run = two_symbols(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["symbols"], serde_json::json!(["BTC/USDT", "ETH/USDT"]));
    let steps = v["steps"].as_array().unwrap();
    let btc = candle_ts("replay_btc.csv");
    let eth = candle_ts("replay_eth.json");
    assert_eq!(steps.len(), 12 * 2, "12 steps × 2 symbols");
    for (k, pair) in steps.chunks(2).enumerate() {
        let (from, to) = (k * 60, k * 60 + 60);
        for (row, ts) in pair.iter().zip([&btc, &eth]) {
            assert_eq!(
                (row[0].as_u64(), row[1].as_u64()),
                (Some(from as u64), Some(to as u64))
            );
            let end = to.min(ts.len());
            assert_eq!(row[2], ts[end - 1] + MIN, "step {k}");
            assert_eq!(row[3], (end - from.min(end)) as u64, "new_1m of step {k}");
        }
    }
    // ETH has 600 candles: its last two runs feed nothing and keep its clock.
    assert_eq!(steps[21][3], 0);
    assert_eq!(steps[23][2], steps[19][2]);
    // Totals agree with the lists.
    let signals = v["signals"].as_array().unwrap();
    let generated: i64 = steps.iter().map(|r| r[5].as_i64().unwrap()).sum();
    assert_eq!(generated, signals.len() as i64);
    assert!(!signals.is_empty(), "the fixture settings make signals");
    let s = &signals[0];
    assert!(["long", "short"].contains(&s["direction"].as_str().unwrap()));
    assert_eq!(s["status"], "pending");
    assert_eq!(s["pattern"].as_object().unwrap().len(), 7);
    assert!(s["timeframes_aligned"].as_array().unwrap().len() >= 2);
    let saved: i64 = steps.iter().map(|r| r[4].as_i64().unwrap()).sum();
    assert_eq!(saved, v["patterns"].as_array().unwrap().len() as i64);
}

#[test]
fn the_same_input_twice_prints_byte_identical_json() {
    let a = two_symbols(&[]);
    let b = two_symbols(&[]);
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn the_cooldown_from_the_settings_file_spaces_signals() {
    // Signals of one symbol and direction are at least cooldown_hours (1 h) apart.
    let v = two_symbols(&[]).json();
    let signals = v["signals"].as_array().unwrap();
    for a in signals {
        for b in signals {
            if a["id"] != b["id"] && a["symbol"] == b["symbol"] && a["direction"] == b["direction"]
            {
                let gap =
                    (a["created_at"].as_i64().unwrap() - b["created_at"].as_i64().unwrap()).abs();
                assert!(gap >= 60 * MIN, "{a} {b}");
            }
        }
    }
}

#[test]
fn bad_replay_input_is_a_clear_error_with_exit_2() {
    let btc = format!("BTC/USDT={}", fixture("replay_btc.csv"));
    let bad_row = format!("BTC/USDT={}", fixture("bad_row.csv"));
    let missing = format!("BTC/USDT={}", fixture("nope.csv"));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--settings".into(), fixture("replay_settings_unknown.json")],
            "unknown field `cooldown`",
        ),
        (
            vec!["--settings".into(), fixture("replay_settings_range.json")],
            "min_confluence must be between 1 and 7",
        ),
        (
            vec!["--steps".into(), fixture("replay_steps_bad.json")],
            "expected a JSON array of [from, to] index pairs",
        ),
        (
            vec!["--steps".into(), fixture("replay_settings.json")],
            "expected a JSON array",
        ),
        (
            vec!["--steps".into(), fixture("no_such_steps.json")],
            "cannot read",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["replay".to_owned(), "--candles".into(), btc.clone()];
        args.extend(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = cryptolens(&args);
        assert_eq!(run.code, 2, "{args:?}");
        assert!(run.stdout.is_empty());
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
    }
    for (args, want) in [
        (vec!["replay", "--candles", bad_row.as_str()], "data row"),
        (vec!["replay", "--candles", missing.as_str()], "cannot read"),
        (
            vec!["replay", "--candles", "BTC/USDT"],
            "expected SYMBOL=FILE",
        ),
        (vec!["replay"], "--candles is required"),
    ] {
        let run = cryptolens(&args);
        assert_eq!(run.code, 2, "{args:?}");
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn a_step_beyond_the_candles_or_reversed_is_refused() {
    let dir = std::env::temp_dir().join(format!("cl-replay-steps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let btc = format!("BTC/USDT={}", fixture("replay_btc.csv"));
    for (steps, want) in [
        ("[[0, 721]]", "beyond the longest candle list (720 candles)"),
        ("[[5, 4]]", "from is after to"),
        ("[[0, 0]]", "to must be at least 1"),
        ("[]", "the steps array is empty"),
        ("[[0, -1]]", "expected a JSON array"),
    ] {
        let path = dir.join("steps.json");
        std::fs::write(&path, steps).unwrap();
        let path = path.to_string_lossy().into_owned();
        let run = cryptolens(&["replay", "--candles", &btc, "--steps", &path]);
        assert_eq!(run.code, 2, "{steps}");
        assert!(run.stderr.contains(want), "{steps}: {}", run.stderr);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
