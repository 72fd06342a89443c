//! The live pipeline tick (detection.md §4) end to end over the in-memory store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

use cl_app::pipeline::{run_symbol_tick, SignalOutcome};
use cl_app::ports::{
    CandleStore, NewPattern, PageRequest, PatternStore, SignalFilter, SignalStore, StoredPattern,
    TradeLevels,
};
use cl_domain::detect::{detect, Mode};
use cl_domain::signal::SignalSettings;
use cl_domain::{DetectionParams, Direction, PatternStatus, PatternType, Timeframe, Zone};
use helpers::*;

/// Only the imbalance detector: the scenarios below are written candle by candle for it.
fn imbalance_only() -> DetectionParams {
    DetectionParams {
        ob_min_candles: usize::MAX,
        sweep_min_candles: usize::MAX,
        ..DetectionParams::default()
    }
}

fn bullish_gaps(store: &cl_store_memory::MemoryStore) -> Vec<StoredPattern> {
    all_patterns(store)
        .into_iter()
        .filter(|p| {
            p.tf == Timeframe::M1
                && p.pattern_type == PatternType::Imbalance
                && p.direction == Direction::Bullish
        })
        .collect()
}

/// A bullish gap A at minute 2 (zone [100, 101]); a bullish gap B at minute 7 (zone
/// [100.4, 100.8]) that overlaps A fully, while price stays above 100; then price closes at
/// 99.6 (fills A) and 99.7.
fn blocked_then_freed() -> Vec<cl_domain::Candle> {
    vec![
        c(0, 99.5, 100.0, 99.0, 99.8),
        c(1, 99.8, 101.5, 99.7, 101.2),
        c(2, 101.2, 102.0, 101.0, 101.8),
        c(3, 101.8, 101.9, 101.3, 101.4),
        c(4, 101.4, 101.5, 100.2, 100.3),
        c(5, 100.3, 100.4, 100.1, 100.35),
        c(6, 100.35, 101.0, 100.3, 100.9),
        c(7, 100.9, 101.4, 100.8, 101.3),
        c(8, 101.3, 101.35, 99.5, 99.6),
        c(9, 99.6, 99.8, 99.4, 99.7),
    ]
}

#[test]
fn a_tick_stores_and_aggregates_and_a_repeat_changes_nothing() {
    // Arrange
    let (store, sym) = memory();
    let candles = walk(600, 1, false);
    // Act
    let first = run(&store, &sym, &candles, &DetectionParams::default());
    let again = run(&store, &sym, &candles, &DetectionParams::default());
    // Assert
    assert_eq!(first.new_1m, 600);
    assert!(!first.patterns_saved.is_empty());
    assert_eq!(all_candles(&store, sym.id, Timeframe::M1).len(), 600);
    // 606 minutes (6 holes) from midnight, now = the last + 1 min: 121 closed 5m buckets.
    assert_eq!(all_candles(&store, sym.id, Timeframe::M5).len(), 121);
    assert_eq!(all_candles(&store, sym.id, Timeframe::H1).len(), 10);
    assert!(
        all_candles(&store, sym.id, Timeframe::D1).is_empty(),
        "the day is open"
    );
    assert_eq!((again.new_1m, again.aggregated), (0, 0));
    // The repeat may store candidates that a pattern filled by the first tick had blocked
    // (see below), but never a key twice.
    let mut keys: Vec<_> = all_patterns(&store)
        .iter()
        .map(|p| (p.tf, p.pattern_type, p.direction, p.detected_at))
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n);
}

#[test]
fn a_pattern_suppressed_by_an_active_overlap_appears_once_the_blocker_is_filled() {
    let (store, sym) = memory();
    let candles = blocked_then_freed();
    let params = imbalance_only();
    // Minute by minute up to minute 8: A is stored at minute 2; B (minute 7) is suppressed by
    // the active A; at minute 8 price closes below A, which fills at the END of that tick.
    for k in 0..=8 {
        run(&store, &sym, &candles[k..=k], &params);
    }
    let gaps = bullish_gaps(&store);
    assert_eq!(gaps.len(), 1, "only A: {gaps:?}");
    assert_eq!(gaps[0].detected_at, T0 + 2 * MIN);
    assert_eq!(gaps[0].status, PatternStatus::Filled);
    // Minute 9: A is no longer active, so B, still in the rescan window, is stored. A is
    // re-detected first but its key exists, so it is not stored and does not block B.
    let r = run(&store, &sym, &candles[9..=9], &params);
    let gaps = bullish_gaps(&store);
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    assert_eq!(gaps[1].detected_at, T0 + 7 * MIN);
    assert_eq!(gaps[1].zone, Zone::new(100.4, 100.8).unwrap());
    assert!(r.patterns_saved.contains(&gaps[1].id));
    assert_eq!(
        gaps[1].status,
        PatternStatus::Filled,
        "99.7 is below its low"
    );
}

#[test]
fn a_pattern_suppressed_by_an_active_overlap_appears_once_the_blocker_expires() {
    let (store, sym) = memory();
    let candles = &blocked_then_freed()[..8];
    let params = imbalance_only();
    for k in 0..8 {
        run(&store, &sym, &candles[k..=k], &params);
    }
    assert_eq!(bullish_gaps(&store).len(), 1, "B is suppressed by A");
    let a_expires = T0 + 2 * MIN + Timeframe::M1.expiry_ms();
    // At exactly expires_at A is still active (expiry needs expires_at < now).
    run_at(&store, &sym, &[], a_expires, &params);
    assert_eq!(bullish_gaps(&store).len(), 1);
    // One ms later: the dedup (step 3) still sees A active; expiry (step 7) ends it.
    let r = run_at(&store, &sym, &[], a_expires + 1, &params);
    assert!(r.expired >= 1);
    let gaps = bullish_gaps(&store);
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].status, PatternStatus::Expired);
    // The next tick stores B.
    run_at(&store, &sym, &[], a_expires + 2, &params);
    let gaps = bullish_gaps(&store);
    assert_eq!(gaps.len(), 2);
    assert_eq!(gaps[1].detected_at, T0 + 7 * MIN);
    assert_eq!(gaps[1].status, PatternStatus::Active);
}

#[test]
fn catch_up_and_minute_runs_store_exactly_the_same_candles_on_every_tf() {
    // Aggregation is incremental and never emits the bucket containing now; both replays end
    // at the same now, so every TF holds the same candles, holes included.
    let candles = walk(3_000, 7, false);
    let (one, s1) = memory();
    run(&one, &s1, &candles, &DetectionParams::default());
    let (many, s2) = memory();
    for k in 0..candles.len() {
        run(&many, &s2, &candles[k..=k], &DetectionParams::default());
    }
    for tf in Timeframe::ALL {
        let a = all_candles(&one, s1.id, tf);
        assert_eq!(a, all_candles(&many, s2.id, tf), "{tf}");
        assert!(tf == Timeframe::D1 || !a.is_empty(), "{tf}");
    }
}

/// Where they must agree on patterns, and why. An imbalance at row i depends only on rows i−2
/// and i, so the minute runs see every imbalance in the run that brings row i (any rescan
/// window holds i−2), and the catch-up run sees them all at once. The live dedup compares a
/// candidate with the ACTIVE patterns (minute runs) or with those stored earlier in the run
/// (catch-up): the same set exactly when no pattern ends in between. So with non-decreasing
/// closes (nothing fills) within 4 hours (nothing expires), both store the same patterns:
/// same keys, zones, expiry, final status and fill.
///
/// They legitimately differ otherwise: (1) an ended pattern stops blocking in the minute runs
/// (see the next test); (2) order blocks and sweeps depend on up to ~50 earlier candles, which
/// a short rescan window may cut (a catch-up run scans all history); (3) trading levels use
/// the ATR and swings of the window loaded when the pattern was stored; (4) status is applied
/// at every close in minute runs but only at the last close in a catch-up run; (5) ids follow
/// the storing order (TF by TF per run); (6) a catch-up run makes at most one signal.
#[test]
fn catch_up_and_minute_runs_agree_on_patterns_when_no_pattern_ends() {
    let params = imbalance_only();
    let candles = walk(200, 3, true);
    let (one, s1) = memory();
    run(&one, &s1, &candles, &params);
    let (many, s2) = memory();
    for k in 0..candles.len() {
        run(&many, &s2, &candles[k..=k], &params);
    }
    let view = |store| {
        let mut v: Vec<_> = all_patterns(store)
            .into_iter()
            .map(|p| {
                (
                    p.tf,
                    p.pattern_type,
                    p.direction,
                    p.detected_at,
                    p.zone.low().to_bits(),
                    p.zone.high().to_bits(),
                    p.expires_at,
                    p.status,
                    p.fill_pct.to_bits(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let (a, b) = (view(&one), view(&many));
    assert_eq!(a, b);
    assert!(a.iter().all(|p| p.7 == PatternStatus::Active));
    assert!(
        a.iter().any(|p| p.0 == Timeframe::M5),
        "higher TFs take part"
    );
    // The dedup did drop overlapping gaps, so the agreement covers it.
    let raw = detect(&candles, PatternType::Imbalance, Mode::Raw, &params).len();
    let stored_1m = a.iter().filter(|p| p.0 == Timeframe::M1).count();
    assert!(raw > stored_1m, "raw {raw}, stored {stored_1m}");
}

#[test]
fn catch_up_keeps_a_pattern_suppressed_that_minute_runs_store_after_a_fill() {
    // The same candles: in ONE run, A is stored first and blocks B (both active in the run);
    // minute by minute, A fills before B would be checked again.
    let candles = blocked_then_freed();
    let params = imbalance_only();
    let (one, s1) = memory();
    run(&one, &s1, &candles, &params);
    let (many, s2) = memory();
    for k in 0..candles.len() {
        run(&many, &s2, &candles[k..=k], &params);
    }
    assert_eq!(bullish_gaps(&one).len(), 1);
    assert_eq!(bullish_gaps(&many).len(), 2);
}

/// Three bullish patterns (5m, 1h, 4h) far below price: confluence 3 with 4h agreeing.
fn seed_confluence(store: &cl_store_memory::MemoryStore, sym: cl_app::ports::SymbolId) {
    let new = |tf: Timeframe| NewPattern {
        symbol: sym,
        tf,
        pattern_type: PatternType::Imbalance,
        direction: Direction::Bullish,
        zone: Zone::new(90.0, 95.0).unwrap(),
        swept_level: None,
        detected_at: T0,
        expires_at: T0 + tf.expiry_ms(),
        levels: TradeLevels::default(),
        created_at: T0,
    };
    let rows = [new(Timeframe::M5), new(Timeframe::H1), new(Timeframe::H4)];
    block_on(store.insert_patterns(&rows)).unwrap();
}

#[test]
fn the_cooldown_blocks_a_second_signal_within_four_hours() {
    let (store, sym) = memory();
    seed_confluence(&store, sym.id);
    let params = DetectionParams::default();
    let start = T0 + 10 * MIN;
    let first = run_at(
        &store,
        &sym,
        &[c(9, 100.0, 100.5, 99.5, 100.0)],
        start,
        &params,
    );
    let SignalOutcome::Created(id) = first.signal else {
        panic!("a signal: {:?}", first.signal);
    };
    assert_eq!(first.to_notify, vec![id]);
    let signal = block_on(store.signal(id)).unwrap().unwrap();
    assert_eq!(
        (signal.direction, signal.confluence_score),
        (Direction::Bullish, 3)
    );
    assert_eq!(signal.created_at, start);

    let within = run_at(&store, &sym, &[], start + 4 * HOUR - 1, &params);
    assert_eq!(within.signal, SignalOutcome::Cooldown);
    assert!(within.to_notify.is_empty());

    let after = run_at(&store, &sym, &[], start + 4 * HOUR, &params);
    assert!(
        matches!(after.signal, SignalOutcome::Created(_)),
        "{:?}",
        after.signal
    );
    let page = block_on(store.list_signals(
        &SignalFilter::default(),
        PageRequest {
            limit: 10,
            after: None,
        },
    ))
    .unwrap();
    assert_eq!(page.items.len(), 2);
}

#[test]
fn the_port_calls_per_tick_do_not_grow_with_the_number_of_patterns() {
    // Arrange: 400 active patterns that never fill or expire during the run.
    let (store, sym) = store_with_symbol(Counting::new(cl_store_memory::MemoryStore::new()));
    let many: Vec<NewPattern> = (0..400)
        .map(|k| NewPattern {
            symbol: sym.id,
            tf: Timeframe::ALL[k % Timeframe::ALL.len()],
            pattern_type: PatternType::Imbalance,
            direction: Direction::Bullish,
            zone: Zone::new(10.0 + k as f64 * 0.01, 10.5 + k as f64 * 0.01).unwrap(),
            swept_level: None,
            detected_at: T0 - (k as i64 + 1) * MIN,
            expires_at: T0 + 1_000 * HOUR,
            levels: TradeLevels::default(),
            created_at: T0,
        })
        .collect();
    block_on(store.insert_patterns(&many)).unwrap();
    let candles = walk(1_500, 5, false);
    store.take();
    // Act + Assert: the catch-up run, then minute runs, each within the budget.
    let mut worst = 0;
    run(&store, &sym, &candles[..1_000], &DetectionParams::default());
    worst = worst.max(store.take());
    for k in 1_000..candles.len() {
        run(&store, &sym, &candles[k..=k], &DetectionParams::default());
        worst = worst.max(store.take());
    }
    assert!(worst <= 15, "{worst} port calls in one tick");
    let active = block_on(store.active_patterns(sym.id, None)).unwrap().len();
    assert!(active >= 400, "{active}");
}

#[test]
fn a_first_tick_with_one_candle_makes_three_port_calls() {
    // upsert 1m + one load of all 8 windows + active patterns; no bucket closes, nothing is detected,
    // nothing changes, no signal: no other call.
    let (store, sym) = store_with_symbol(Counting::new(cl_store_memory::MemoryStore::new()));
    store.take();
    let r = run(
        &store,
        &sym,
        &[c(0, 1.0, 1.1, 0.9, 1.0)],
        &DetectionParams::default(),
    );
    assert_eq!(store.take(), 3, "{r:?}");
}

#[test]
fn a_tick_error_names_the_symbol_and_the_failing_step() {
    let store = cl_store_memory::MemoryStore::new();
    let ghost = cl_app::ports::StoredSymbol {
        id: cl_app::ports::SymbolId(99),
        symbol: "GHOST/USDT".into(),
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: T0,
        created_at: T0,
    };
    let err = block_on(run_symbol_tick(
        &store,
        &ghost,
        &[c(0, 1.0, 1.0, 1.0, 1.0)],
        T0 + MIN,
        &SignalSettings::default(),
        &DetectionParams::default(),
    ))
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("GHOST/USDT") && text.contains("storing new 1m candles"),
        "{text}"
    );
    // Nothing was stored for it.
    assert!(block_on(store.last_candles(ghost.id, Timeframe::M1, 10))
        .unwrap()
        .is_empty());
}
