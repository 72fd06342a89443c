//! The metrics snapshot: active patterns by type, signals by status and each job's last
//! finished run, counted alike by every adapter (one query on the SQL stores).

use crate::{ok, pattern, signal, symbol, Store, MIN, T0};
use cl_app::cron::{RunCounts, RunFinish, RunStatus, RunTrigger};
use cl_app::ports::StatusUpdate;
use cl_domain::{Direction, PatternStatus, PatternType, Timeframe};

/// Counts follow the stored state: ended patterns, running runs and jobs that never ran are
/// left out; the latest finished run wins.
pub async fn metrics_snapshot_counts_the_stored_state<S: Store>(s: &S) {
    let empty = ok(s.metrics_snapshot().await, "empty snapshot");
    assert!(empty.active_patterns.is_empty() && empty.signals.is_empty() && empty.cron.is_empty());

    let btc = symbol(s, "BTC/USDT").await;
    let mut ids = Vec::new();
    for (i, (tf, ty)) in [
        (Timeframe::M5, PatternType::Imbalance),
        (Timeframe::H1, PatternType::Imbalance),
        (Timeframe::H4, PatternType::Imbalance),
        (Timeframe::H1, PatternType::OrderBlock),
    ]
    .into_iter()
    .enumerate()
    {
        let at = T0 + i as i64 * MIN;
        let id = ok(
            s.insert_pattern(&pattern(btc, tf, ty, Direction::Bullish, at))
                .await,
            "insert pattern",
        );
        ids.push(id.expect("new pattern"));
    }
    ok(
        s.update_statuses(&[StatusUpdate {
            id: ids[0],
            status: PatternStatus::Filled,
            fill_pct: 100.0,
            filled_at: Some(T0 + 10 * MIN),
        }])
        .await,
        "fill one",
    );
    ok(
        s.insert_signal(&signal(btc, Direction::Bullish, T0), 0)
            .await,
        "signal 1",
    );
    ok(
        s.insert_signal(&signal(btc, Direction::Bearish, T0 + MIN), 0)
            .await,
        "signal 2",
    );

    let finish = |ended_at: i64, status: RunStatus| RunFinish {
        ended_at,
        status,
        error: None,
        counts: RunCounts::default(),
    };
    let first = ok(
        s.start_run("pipeline", RunTrigger::Cron, T0).await,
        "start 1",
    );
    ok(
        s.finish_run(first, &finish(T0 + 800, RunStatus::Ok)).await,
        "finish 1",
    );
    let second = ok(
        s.start_run("pipeline", RunTrigger::Cron, T0 + MIN).await,
        "start 2",
    );
    ok(
        s.finish_run(second, &finish(T0 + MIN + 120, RunStatus::Failed))
            .await,
        "finish 2",
    );
    let stats = ok(
        s.start_run("stats", RunTrigger::Cron, T0).await,
        "start stats",
    );
    ok(
        s.finish_run(stats, &finish(T0 + 50, RunStatus::Partial))
            .await,
        "finish stats",
    );
    // Still running: not a finished run.
    ok(
        s.start_run("stats", RunTrigger::Cron, T0 + 5 * MIN).await,
        "start stats 2",
    );

    let m = ok(s.metrics_snapshot().await, "snapshot");
    assert_eq!(m.active_patterns.get("imbalance"), Some(&2), "{m:?}");
    assert_eq!(m.active_patterns.get("order_block"), Some(&1), "{m:?}");
    assert_eq!(m.active_patterns.len(), 2, "{m:?}");
    assert_eq!(m.signals.get("pending"), Some(&2), "{m:?}");
    let runs: Vec<(&str, i64, bool)> = m
        .cron
        .iter()
        .map(|r| (r.job.as_str(), r.duration_ms, r.success))
        .collect();
    assert_eq!(
        runs,
        [("pipeline", 120, false), ("stats", 50, true)],
        "{m:?}"
    );
}
