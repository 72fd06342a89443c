//! The optimizer port's contract: jobs queued with their grid, status moves forward only
//! (guarded in the write), progress saved while running; runs inserted once per parameter set
//! and listed best-first; the next active job; trading preferences and optimizer-tuned params
//! applied and cleared per user. Its own list ([`OptimizationCase`], [`run_optimization_case`],
//! [`optimization_contract_tests!`]).

use crate::fixtures::ok;
use cl_app::ports::optimization::{
    DefaultRr, JobProgress, JobStatus, JsonText, NewOptimizationJob, NewOptimizationRun,
    OptimizationJobId, OptimizationStore, RiskPerTradePct, RunScore, TradingPrefs,
    TradingPrefsStore, TunedParams,
};
use cl_app::ports::{NewSymbol, StoreError, SymbolId, SymbolStore, UserId, UserStore};
use cl_domain::{PatternType, Timeframe};
use std::fmt::Debug;

/// Every port the contract needs.
pub trait OptimizationStores:
    OptimizationStore + TradingPrefsStore + UserStore + SymbolStore
{
}
impl<T: OptimizationStore + TradingPrefsStore + UserStore + SymbolStore> OptimizationStores for T {}

/// One case of the optimizer contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimizationCase {
    /// [`optimization_jobs_move_forward_only`].
    JobsMoveForwardOnly,
    /// [`optimization_runs_are_idempotent_and_ranked`].
    RunsIdempotentAndRanked,
    /// [`trading_prefs_and_tuned_params_per_user`].
    TradingPrefsAndTunedParams,
}

impl OptimizationCase {
    /// Every case.
    pub const ALL: &'static [OptimizationCase] = &[
        Self::JobsMoveForwardOnly,
        Self::RunsIdempotentAndRanked,
        Self::TradingPrefsAndTunedParams,
    ];

    /// The case's function name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::JobsMoveForwardOnly => "optimization_jobs_move_forward_only",
            Self::RunsIdempotentAndRanked => "optimization_runs_are_idempotent_and_ranked",
            Self::TradingPrefsAndTunedParams => "trading_prefs_and_tuned_params_per_user",
        }
    }
}

/// Runs one case against a fresh store.
pub async fn run_optimization_case<S: OptimizationStores>(case: OptimizationCase, s: &S) {
    match case {
        OptimizationCase::JobsMoveForwardOnly => optimization_jobs_move_forward_only(s).await,
        OptimizationCase::RunsIdempotentAndRanked => {
            optimization_runs_are_idempotent_and_ranked(s).await;
        }
        OptimizationCase::TradingPrefsAndTunedParams => {
            trading_prefs_and_tuned_params_per_user(s).await;
        }
    }
}

/// Expands to one `#[test]` per [`OptimizationCase`], each calling `$harness(case)`.
#[macro_export]
macro_rules! optimization_contract_tests {
    ($harness:path) => {
        #[test]
        fn optimization_jobs_move_forward_only() {
            $harness($crate::optimization::OptimizationCase::JobsMoveForwardOnly);
        }
        #[test]
        fn optimization_runs_are_idempotent_and_ranked() {
            $harness($crate::optimization::OptimizationCase::RunsIdempotentAndRanked);
        }
        #[test]
        fn trading_prefs_and_tuned_params_per_user() {
            $harness($crate::optimization::OptimizationCase::TradingPrefsAndTunedParams);
        }
    };
}

const T0: i64 = 1_704_067_200_000;

fn json(s: &str) -> JsonText {
    ok(JsonText::parse(s), "json")
}

async fn admin<S: OptimizationStores>(s: &S) -> UserId {
    crate::fixtures::user(s, "opt", T0).await
}

async fn symbol<S: OptimizationStores>(s: &S) -> SymbolId {
    let new = NewSymbol {
        symbol: "BTC/USDT".into(),
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: 0,
        created_at: T0,
    };
    ok(s.add_symbol(&new).await, "symbol").id
}

fn job(by: Option<UserId>, at: i64) -> NewOptimizationJob {
    NewOptimizationJob {
        grid: json(r#"{"rr": [1.5, 2, 3], "sl_buffer_pct": [5, 10], "tp": ["fixed"]}"#),
        scope: json(r#"{"symbols": ["BTC/USDT"], "tfs": ["1h", "4h"]}"#),
        created_by: by,
        created_at: at,
    }
}

/// Create queued with the grid and scope (compared as JSON values); `NotFound("user")` for an
/// unknown admin; status moves only forward (queued → running → failed; a finished job is never
/// revived; queued → cancelled), `started_at`/`finished_at`/`error` stamped; progress and
/// cursor saved only while running; newest first; unknown job `NotFound`.
pub async fn optimization_jobs_move_forward_only<S: OptimizationStores>(s: &S) {
    let root = admin(s).await;
    let a = ok(s.create_job(&job(Some(root), T0)).await, "a");
    assert_eq!(a.new, job(Some(root), T0), "grid and scope round-trip");
    assert_eq!(
        (a.status, a.progress, a.cursor.clone(), a.started_at),
        (JobStatus::Queued, 0.0, None, None)
    );
    let b = ok(s.create_job(&job(None, T0 + 1)).await, "b");
    assert_eq!(
        s.create_job(&job(Some(UserId(root.0 + 999)), T0))
            .await
            .map(|j| j.id),
        Err(StoreError::NotFound("user"))
    );
    let ids: Vec<_> = ok(s.jobs(None, 10).await, "jobs")
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(ids, vec![b.id, a.id], "newest first");
    let first = ok(s.jobs(None, 1).await, "one");
    assert_eq!(first.iter().map(|j| j.id).collect::<Vec<_>>(), vec![b.id]);
    let next: Vec<_> = ok(s.jobs(Some((b.new.created_at, b.id)), 5).await, "page 2")
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(next, vec![a.id], "keyset: strictly after the cursor");
    assert!(ok(s.jobs(Some((a.new.created_at, a.id)), 5).await, "end").is_empty());
    assert!(matches!(s.jobs(None, 0).await, Err(StoreError::Invalid(_))));
    assert_eq!(
        ok(s.next_active_job().await, "next").map(|j| j.id),
        Some(a.id),
        "oldest active first"
    );

    let step = JobProgress {
        progress: 25.0,
        cursor: Some(json(r#"{"next": 3}"#)),
    };
    assert_eq!(
        s.save_job_progress(a.id, &step).await,
        Ok(false),
        "not running yet"
    );
    assert_eq!(
        s.set_job_status(a.id, JobStatus::Done, None, T0 + 5).await,
        Ok(false),
        "queued cannot jump to done"
    );
    assert_eq!(
        s.set_job_status(a.id, JobStatus::Running, None, T0 + 10)
            .await,
        Ok(true)
    );
    assert_eq!(
        s.set_job_status(a.id, JobStatus::Running, None, T0 + 11)
            .await,
        Ok(false)
    );
    assert_eq!(s.save_job_progress(a.id, &step).await, Ok(true));
    assert!(matches!(
        s.save_job_progress(
            a.id,
            &JobProgress {
                progress: 150.0,
                cursor: None
            }
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    let got = ok(s.job(a.id).await, "read").expect("stored");
    assert_eq!(
        (got.status, got.progress, got.cursor, got.started_at),
        (JobStatus::Running, 25.0, step.cursor.clone(), Some(T0 + 10))
    );
    assert_eq!(
        s.set_job_status(a.id, JobStatus::Failed, Some("grid too large"), T0 + 20)
            .await,
        Ok(true)
    );
    for to in [JobStatus::Running, JobStatus::Done, JobStatus::Queued] {
        assert_eq!(
            s.set_job_status(a.id, to, None, T0 + 30).await,
            Ok(false),
            "a failed job stays failed ({to:?})"
        );
    }
    assert_eq!(s.save_job_progress(a.id, &step).await, Ok(false));
    let got = ok(s.job(a.id).await, "reread").expect("stored");
    assert_eq!(
        (
            got.status,
            got.error.as_deref(),
            got.started_at,
            got.finished_at
        ),
        (
            JobStatus::Failed,
            Some("grid too large"),
            Some(T0 + 10),
            Some(T0 + 20)
        )
    );

    assert_eq!(
        s.set_job_status(b.id, JobStatus::Cancelled, None, T0 + 40)
            .await,
        Ok(true)
    );
    let got = ok(s.job(b.id).await, "b").expect("stored");
    assert_eq!(
        (got.status, got.started_at, got.finished_at),
        (JobStatus::Cancelled, None, Some(T0 + 40))
    );
    assert_eq!(
        ok(s.next_active_job().await, "none active").map(|j| j.id),
        None,
        "failed and cancelled jobs are not active"
    );
    let missing = OptimizationJobId(b.id.0 + 999);
    assert_eq!(ok(s.job(missing).await, "missing"), None);
    assert_eq!(
        s.set_job_status(missing, JobStatus::Running, None, T0)
            .await,
        Err(StoreError::NotFound("optimization job"))
    );
    assert_eq!(
        s.save_job_progress(missing, &step).await,
        Err(StoreError::NotFound("optimization job"))
    );
}

fn run(
    job: OptimizationJobId,
    sym: SymbolId,
    tf: Timeframe,
    key: &str,
    profit: Option<f64>,
    sharpe: Option<f64>,
) -> NewOptimizationRun {
    NewOptimizationRun {
        job,
        symbol: sym,
        tf,
        pattern_type: PatternType::OrderBlock,
        params: json(&format!(r#"{{"rr": 2.5, "key": "{key}"}}"#)),
        params_key: key.to_owned(),
        rr: 2.5,
        sl_buffer_pct: 10.0,
        tp_method: "fixed_rr".into(),
        entry_method: "zone_edge".into(),
        min_zone_pct: 0.1,
        overlap: 0.5,
        expiry_mult: 1.0,
        metrics: Some(json(r#"{"max_dd": 3.25, "trades": [1, 2]}"#)),
        total_profit_pct: profit,
        win_rate: Some(0.5),
        sharpe,
        trade_count: 12,
        created_at: T0,
    }
}

/// One run per `(job, symbol, tf, type, params key)`: the second insert is `None` and changes
/// nothing; another tf or job is a new run; unknown job/symbol `NotFound`; non-finite numbers
/// `Invalid`; best-first by the chosen score, runs without it last, ties by id, `limit`.
pub async fn optimization_runs_are_idempotent_and_ranked<S: OptimizationStores>(s: &S) {
    let sym = symbol(s).await;
    let j = ok(s.create_job(&job(None, T0)).await, "job").id;
    let other = ok(s.create_job(&job(None, T0 + 1)).await, "other").id;
    use Timeframe::{H1, H4};
    let plan = [
        run(j, sym, H1, "a", Some(5.0), Some(1.0)),
        run(j, sym, H1, "b", Some(12.5), None),
        run(j, sym, H1, "c", None, Some(2.0)),
        run(j, sym, H4, "a", Some(12.5), Some(0.5)),
    ];
    let mut ids = Vec::new();
    for r in &plan {
        ids.push(ok(s.insert_run(r).await, "insert").expect("new"));
    }
    let mut again = plan[0].clone();
    again.total_profit_pct = Some(99.0);
    assert_eq!(
        ok(s.insert_run(&again).await, "again"),
        None,
        "same key: no-op"
    );
    assert!(ok(
        s.insert_run(&run(other, sym, H1, "a", Some(1.0), None))
            .await,
        "other job"
    )
    .is_some());
    assert_eq!(
        s.insert_run(&run(
            OptimizationJobId(other.0 + 999),
            sym,
            H1,
            "z",
            None,
            None
        ))
        .await,
        Err(StoreError::NotFound("optimization job"))
    );
    assert_eq!(
        s.insert_run(&run(j, SymbolId(sym.0 + 999), H1, "z", None, None))
            .await,
        Err(StoreError::NotFound("symbol"))
    );
    assert!(matches!(
        s.insert_run(&run(j, sym, H1, "n", Some(f64::NAN), None))
            .await,
        Err(StoreError::Invalid(_))
    ));

    let best = ok(s.best_runs(j, RunScore::TotalProfit, 10).await, "profit");
    let order: Vec<_> = best.iter().map(|r| r.id).collect();
    assert_eq!(
        order,
        vec![ids[1], ids[3], ids[0], ids[2]],
        "desc, ties by id, missing last"
    );
    assert_eq!(
        best[2].new, plan[0],
        "every field round-trips, the first insert kept"
    );
    let order: Vec<_> = ok(s.best_runs(j, RunScore::Sharpe, 3).await, "sharpe")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(order, vec![ids[2], ids[0], ids[3]]);
    assert_eq!(
        ok(s.best_runs(other, RunScore::WinRate, 10).await, "other").len(),
        1
    );
    assert!(matches!(
        s.best_runs(j, RunScore::WinRate, 0).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn user<S: OptimizationStores>(s: &S, name: &str) -> UserId {
    crate::fixtures::user(s, name, T0).await
}

/// Trading prefs default to `None` and round-trip (unknown user: `None` / `NotFound`); tuned
/// params upsert per (user, symbol) recording the run, stay per user, and clear only the
/// caller's rows; unknown user/symbol/run `NotFound` with nothing written.
pub async fn trading_prefs_and_tuned_params_per_user<S: OptimizationStores>(s: &S) {
    let alice = user(s, "alice").await;
    let bob = user(s, "bob").await;
    let ghost = UserId(bob.0 + 999);
    assert_eq!(
        ok(s.trading_prefs(alice).await, "prefs"),
        Some(TradingPrefs::default())
    );
    assert_eq!(ok(s.trading_prefs(ghost).await, "ghost"), None);
    let prefs = TradingPrefs {
        risk_per_trade_pct: Some(ok(RiskPerTradePct::new(1.25), "risk")),
        default_rr: Some(ok(DefaultRr::new(2.5), "rr")),
    };
    ok(s.set_trading_prefs(alice, &prefs).await, "set");
    assert_eq!(ok(s.trading_prefs(alice).await, "read"), Some(prefs));
    assert_eq!(
        ok(s.trading_prefs(bob).await, "bob untouched"),
        Some(TradingPrefs::default())
    );
    let reset = TradingPrefs {
        risk_per_trade_pct: None,
        ..prefs
    };
    ok(s.set_trading_prefs(alice, &reset).await, "reset one");
    assert_eq!(ok(s.trading_prefs(alice).await, "reread"), Some(reset));
    assert_eq!(
        s.set_trading_prefs(ghost, &prefs).await,
        Err(StoreError::NotFound("user"))
    );

    let sym = symbol(s).await;
    let j = ok(s.create_job(&job(None, T0)).await, "job").id;
    let r1 = ok(
        s.insert_run(&run(j, sym, Timeframe::H1, "a", Some(3.0), None))
            .await,
        "run",
    )
    .expect("new");
    let tuned = |run, rr: f64, at| TunedParams {
        symbol: sym,
        params: json(&format!(
            r#"{{"entries": [{{"pattern_type": "order_block", "tf": "1h", "rr": {rr}}}]}}"#
        )),
        run: Some(run),
        updated_at: at,
    };
    assert!(ok(s.tuned_params(alice).await, "none yet").is_empty());
    ok(
        s.apply_tuned_params(alice, &[tuned(r1, 2.0, T0)]).await,
        "apply",
    );
    ok(
        s.apply_tuned_params(bob, &[tuned(r1, 4.0, T0)]).await,
        "apply bob",
    );
    ok(
        s.apply_tuned_params(alice, &[tuned(r1, 3.0, T0 + 5)]).await,
        "apply again replaces",
    );
    assert_eq!(
        ok(s.tuned_params(alice).await, "alice"),
        vec![tuned(r1, 3.0, T0 + 5)]
    );
    for (who, bad, err) in [
        (ghost, tuned(r1, 1.0, T0), "user"),
        (
            alice,
            TunedParams {
                symbol: SymbolId(sym.0 + 999),
                ..tuned(r1, 1.0, T0)
            },
            "symbol",
        ),
        (
            alice,
            tuned(
                cl_app::ports::optimization::OptimizationRunId(r1.0 + 999),
                1.0,
                T0,
            ),
            "optimization run",
        ),
    ] {
        assert_eq!(
            s.apply_tuned_params(who, &[bad]).await,
            Err(StoreError::NotFound(err))
        );
    }
    assert_eq!(
        ok(s.tuned_params(alice).await, "unchanged"),
        vec![tuned(r1, 3.0, T0 + 5)]
    );
    assert_eq!(ok(s.clear_tuned_params(alice, T0 + 9).await, "clear"), 1);
    assert!(ok(s.tuned_params(alice).await, "cleared").is_empty());
    assert_eq!(ok(s.clear_tuned_params(alice, T0 + 9).await, "again"), 0);
    assert_eq!(
        ok(s.tuned_params(bob).await, "bob kept").len(),
        1,
        "clearing is per user"
    );
}
