//! The maintenance port's contract ([`MaintenanceStore`]: stats cache, gap scan, known gaps,
//! flagged candles, rewrites, retention purges), written once and run by every adapter.
//!
//! Its own list ([`MaintenanceCase`], [`run_maintenance_case`],
//! [`maintenance_contract_tests!`]) so adapters add it without touching the core list.

use crate::{candle, ok, pattern, signal, symbol, Store, MIN, T0};
use cl_app::cron::{RunFinish, RunStatus, RunTrigger};
use cl_app::jobs::maintenance::{
    CandleKey, MaintenanceStore, MinuteGap, NewKnownGap, RetentionTarget, StatsEntry,
};
use cl_app::ports::{StatusUpdate, StoreError, SymbolId};
use cl_domain::{Direction, PatternStatus, PatternType, Timeframe};

/// Every port the maintenance contract needs.
pub trait MaintenanceStores: Store + MaintenanceStore {}
impl<T: Store + MaintenanceStore> MaintenanceStores for T {}

macro_rules! maintenance_cases {
    ($($(#[$m:meta])* $variant:ident => $func:ident),+ $(,)?) => {
        /// One case of the maintenance contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum MaintenanceCase {
            $($(#[$m])* $variant,)+
        }

        impl MaintenanceCase {
            /// Every case.
            pub const ALL: &'static [MaintenanceCase] = &[$(MaintenanceCase::$variant),+];

            /// The case's function name.
            pub const fn name(self) -> &'static str {
                match self { $(MaintenanceCase::$variant => stringify!($func),)+ }
            }
        }

        /// Runs one maintenance case against a fresh store.
        pub async fn run_maintenance_case<S: MaintenanceStores>(case: MaintenanceCase, s: &S) {
            match case { $(MaintenanceCase::$variant => $func(s).await,)+ }
        }
    };
}

maintenance_cases! {
    /// [`stats_are_counted_and_overwritten_by_key`].
    StatsAreCountedAndOverwrittenByKey => stats_are_counted_and_overwritten_by_key,
    /// [`minute_gaps_skip_verified_known_gaps`].
    MinuteGapsSkipVerifiedKnownGaps => minute_gaps_skip_verified_known_gaps,
    /// [`flagged_candles_are_deleted_and_rewritten`].
    FlaggedCandlesAreDeletedAndRewritten => flagged_candles_are_deleted_and_rewritten,
    /// [`purges_delete_by_age_in_batches`].
    PurgesDeleteByAgeInBatches => purges_delete_by_age_in_batches,
}

/// Expands to one `#[test]` per [`MaintenanceCase`], each calling `$harness(case)`.
#[macro_export]
macro_rules! maintenance_contract_tests {
    ($harness:path) => {
        $crate::maintenance_contract_tests!(@each $harness;
            maintenance_stats_are_counted_and_overwritten_by_key => StatsAreCountedAndOverwrittenByKey,
            maintenance_minute_gaps_skip_verified_known_gaps => MinuteGapsSkipVerifiedKnownGaps,
            maintenance_flagged_candles_are_deleted_and_rewritten => FlaggedCandlesAreDeletedAndRewritten,
            maintenance_purges_delete_by_age_in_batches => PurgesDeleteByAgeInBatches,
        );

        #[test]
        fn maintenance_contract_lists_every_case() {
            assert_eq!(
                $crate::maintenance::MaintenanceCase::ALL.len(),
                4,
                "maintenance_contract_tests! is missing a case"
            );
        }
    };
    (@each $harness:path; $($name:ident => $variant:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $harness($crate::maintenance::MaintenanceCase::$variant);
            }
        )+
    };
}

/// Per-symbol figures come from one query; `put_stats` overwrites by key.
pub async fn stats_are_counted_and_overwritten_by_key<S: MaintenanceStores>(s: &S) {
    let btc = symbol(s, "BTC/USDT").await;
    let eth = symbol(s, "ETH/USDT").await;
    ok(
        s.upsert_candles(
            btc,
            Timeframe::M1,
            &[candle(T0, 100.0), candle(T0 + MIN, 100.0)],
        )
        .await,
        "candles",
    );
    let ids = ok(
        s.insert_patterns(&[
            pattern(
                btc,
                Timeframe::H1,
                PatternType::Imbalance,
                Direction::Bullish,
                T0,
            ),
            pattern(
                btc,
                Timeframe::H4,
                PatternType::Imbalance,
                Direction::Bearish,
                T0 - 10 * MIN,
            ),
        ])
        .await,
        "patterns",
    );
    let first = ids[0].unwrap_or_else(|| panic!("stored"));
    ok(
        s.update_statuses(&[StatusUpdate {
            id: first,
            status: PatternStatus::Expired,
            fill_pct: 0.0,
            filled_at: None,
        }])
        .await,
        "expire one",
    );
    ok(
        s.insert_signal(&signal(btc, Direction::Bullish, T0), 1)
            .await,
        "signal",
    );
    // Pattern created_at = detected_at + 1 min: T0 + MIN and T0 − 9 min.
    let rows = ok(s.symbol_stats(T0).await, "stats");
    assert_eq!(
        rows.iter()
            .map(|r| (r.symbol, r.name.as_str()))
            .collect::<Vec<_>>(),
        [(btc, "BTC/USDT"), (eth, "ETH/USDT")]
    );
    let b = &rows[0];
    assert_eq!(
        (
            b.active_patterns,
            b.patterns_since,
            b.signals_since,
            b.last_1m_ts
        ),
        (1, 1, 1, Some(T0 + MIN))
    );
    let e = &rows[1];
    assert_eq!(
        (
            e.active_patterns,
            e.patterns_since,
            e.signals_since,
            e.last_1m_ts
        ),
        (0, 0, 0, None)
    );

    let entry = |data: &str, at: i64| StatsEntry {
        key: "global".into(),
        data: data.into(),
        computed_at: at,
    };
    ok(s.put_stats(&[entry("{\"symbols\":1}", 1)]).await, "put");
    ok(
        s.put_stats(&[entry("{\"symbols\":2}", 2)]).await,
        "overwrite",
    );
    let got = ok(s.stats_entry("global").await, "read").unwrap_or_else(|| panic!("stored"));
    assert_eq!(
        (got.computed_at, got.data.replace(' ', "")),
        (2, "{\"symbols\":2}".into())
    );
    assert_eq!(ok(s.stats_entry("nope").await, "missing"), None);
    assert!(matches!(
        s.put_stats(&[entry("[1]", 3)]).await,
        Err(StoreError::Invalid(_))
    ));
}

/// Missing 1m ranges come from one query, edges included; verified-empty known gaps are left
/// out, and recording one twice adds nothing.
pub async fn minute_gaps_skip_verified_known_gaps<S: MaintenanceStores>(s: &S) {
    let id = symbol(s, "BTC/USDT").await;
    let at = |m: i64| T0 + m * MIN;
    let stored: Vec<_> = [2, 3, 6, 7, 11]
        .iter()
        .map(|m| candle(at(*m), 100.0))
        .collect();
    ok(
        s.upsert_candles(id, Timeframe::M1, &stored).await,
        "candles",
    );
    let gap = |a: i64, b: i64| MinuteGap {
        start: at(a),
        end: at(b),
    };
    let gaps = ok(s.minute_gaps(id, at(0), at(12), 10).await, "scan");
    assert_eq!(gaps, [gap(0, 1), gap(4, 5), gap(8, 10)]);
    assert_eq!(
        ok(s.minute_gaps(id, at(0), at(12), 2).await, "limit"),
        [gap(0, 1), gap(4, 5)]
    );
    assert_eq!(
        ok(s.minute_gaps(id, at(2), at(4), 10).await, "none"),
        Vec::<MinuteGap>::new()
    );
    let known = |g: MinuteGap, verified: bool| NewKnownGap {
        symbol: id,
        tf: Timeframe::M1,
        gap: g,
        reason: "exchange_empty".into(),
        verified_empty: verified,
        created_at: T0,
    };
    assert_eq!(
        ok(
            s.record_known_gaps(&[known(gap(4, 5), true), known(gap(0, 1), false)])
                .await,
            "record"
        ),
        2
    );
    assert_eq!(
        ok(
            s.record_known_gaps(&[known(gap(4, 5), true)]).await,
            "again"
        ),
        0
    );
    assert_eq!(
        ok(s.minute_gaps(id, at(0), at(12), 10).await, "rescan"),
        [gap(0, 1), gap(8, 10)]
    );
    assert!(matches!(
        s.minute_gaps(id, at(12), at(0), 10).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.record_known_gaps(&[NewKnownGap {
            symbol: SymbolId(id.0 + 999),
            ..known(gap(8, 10), true)
        }])
        .await,
        Err(StoreError::NotFound(_))
    ));
}

/// Off-grid buckets are flagged; deleting and rewriting touch only the given keys.
pub async fn flagged_candles_are_deleted_and_rewritten<S: MaintenanceStores>(s: &S) {
    let id = symbol(s, "BTC/USDT").await;
    let h = Timeframe::H1.millis();
    let base = T0 - T0.rem_euclid(h);
    ok(
        s.upsert_candles(
            id,
            Timeframe::H1,
            &[candle(base, 100.0), candle(base + h + MIN, 100.0)],
        )
        .await,
        "candles",
    );
    let bad = CandleKey {
        symbol: id,
        tf: Timeframe::H1,
        ts: base + h + MIN,
    };
    assert_eq!(ok(s.flagged_candles(10).await, "flagged"), [bad]);
    assert_eq!(ok(s.delete_candles(&[bad, bad]).await, "delete"), 1);
    assert!(ok(s.flagged_candles(10).await, "none").is_empty());
    assert_eq!(
        ok(
            s.rewrite_candles(id, Timeframe::H1, &[candle(base, 200.0)])
                .await,
            "rewrite"
        ),
        1
    );
    let rows = ok(s.last_candles(id, Timeframe::H1, 5).await, "read");
    assert_eq!(rows.len(), 1);
    assert!((rows[0].open() - 200.0).abs() < 1e-9, "overwritten");
    assert!(matches!(
        s.rewrite_candles(SymbolId(id.0 + 999), Timeframe::H1, &[candle(base, 1.0)])
            .await,
        Err(StoreError::NotFound(_))
    ));
}

/// Purges delete rows strictly older than the cutoff, at most one batch per call; they keep
/// higher TFs, active patterns and running runs.
pub async fn purges_delete_by_age_in_batches<S: MaintenanceStores>(s: &S) {
    let id = symbol(s, "BTC/USDT").await;
    let cut = T0 + 5 * MIN;
    let ones: Vec<_> = (0..7).map(|m| candle(T0 + m * MIN, 100.0)).collect();
    ok(s.upsert_candles(id, Timeframe::M1, &ones).await, "1m");
    ok(
        s.upsert_candles(
            id,
            Timeframe::M5,
            &[candle(T0 - T0.rem_euclid(300_000), 100.0)],
        )
        .await,
        "5m",
    );
    assert_eq!(
        ok(s.purge(RetentionTarget::Candles1m, cut, 3).await, "b1"),
        3
    );
    assert_eq!(
        ok(s.purge(RetentionTarget::Candles1m, cut, 3).await, "b2"),
        2
    );
    assert_eq!(
        ok(s.purge(RetentionTarget::Candles1m, cut, 3).await, "b3"),
        0
    );
    assert_eq!(
        ok(s.last_candles(id, Timeframe::M1, 10).await, "left").len(),
        2
    );
    assert_eq!(
        ok(s.last_candles(id, Timeframe::M5, 10).await, "5m kept").len(),
        1
    );

    let ids = ok(
        s.insert_patterns(&[
            pattern(
                id,
                Timeframe::H1,
                PatternType::Imbalance,
                Direction::Bullish,
                T0,
            ),
            pattern(
                id,
                Timeframe::H1,
                PatternType::Imbalance,
                Direction::Bearish,
                T0,
            ),
            pattern(
                id,
                Timeframe::H1,
                PatternType::OrderBlock,
                Direction::Bullish,
                cut,
            ),
        ])
        .await,
        "patterns",
    );
    let ids: Vec<_> = ids.into_iter().flatten().collect();
    let ended = |i: usize| StatusUpdate {
        id: ids[i],
        status: PatternStatus::Filled,
        fill_pct: 100.0,
        filled_at: Some(T0 + MIN),
    };
    ok(s.update_statuses(&[ended(1), ended(2)]).await, "end two");
    assert_eq!(
        ok(
            s.purge(RetentionTarget::EndedPatterns, cut, 10).await,
            "patterns"
        ),
        1
    );
    assert!(ok(s.pattern(ids[0]).await, "active kept").is_some());
    assert!(ok(s.pattern(ids[1]).await, "ended old").is_none());
    assert!(ok(s.pattern(ids[2]).await, "ended new kept").is_some());

    let old = ok(s.start_run("stats", RunTrigger::Cron, T0).await, "run");
    ok(
        s.finish_run(
            old,
            &RunFinish {
                ended_at: T0 + 1,
                status: RunStatus::Ok,
                error: None,
                counts: Default::default(),
            },
        )
        .await,
        "finish",
    );
    ok(
        s.start_run("stats", RunTrigger::Cron, T0 + 1).await,
        "running",
    );
    ok(s.start_run("stats", RunTrigger::Cron, cut).await, "new");
    assert_eq!(
        ok(s.purge(RetentionTarget::CronRuns, cut, 10).await, "runs"),
        1
    );
    assert_eq!(ok(s.list_runs("stats", 10).await, "left").len(), 2);
    assert!(matches!(
        s.purge(RetentionTarget::Logs, cut, 0).await,
        Err(StoreError::Invalid(_))
    ));
    for target in RetentionTarget::PURGED {
        ok(s.purge(target, cut, 10).await, target.name());
    }
}
