//! The backtest port's contract: quotas counted with the insert, owner scoping, chunks saved
//! with their trades in one compare-and-set on the cursor (a stale cursor writes nothing),
//! the active list, and the delete cascading to the trades. Its own list ([`BacktestCase`],
//! [`run_backtest_case`], [`backtest_contract_tests!`]).

use crate::fixtures::ok;
use cl_app::backtests::RunParams;
use cl_app::ports::backtests::{
    quota, BacktestQuota, BacktestStatus, BacktestStore, BacktestTradeRow, ChunkUpdate, NewBacktest,
};
use cl_app::ports::{NewSymbol, StoreError, SymbolId, SymbolStore, UserId, UserStore};
use cl_domain::backtest::{BacktestParams, Outcome};
use cl_domain::{PatternType, Timeframe};
use std::fmt::Debug;

/// Every port the backtest contract needs.
pub trait BacktestStores: BacktestStore + UserStore + SymbolStore {}
impl<T: BacktestStore + UserStore + SymbolStore> BacktestStores for T {}

/// One case of the backtest contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BacktestCase {
    /// [`backtests_count_quotas_at_insert`].
    QuotasAtInsert,
    /// [`backtest_chunks_are_compare_and_set`].
    ChunksAreCompareAndSet,
    /// [`backtests_are_scoped_and_deleted`].
    ScopedAndDeleted,
}

impl BacktestCase {
    /// Every case.
    pub const ALL: &'static [BacktestCase] = &[
        Self::QuotasAtInsert,
        Self::ChunksAreCompareAndSet,
        Self::ScopedAndDeleted,
    ];

    /// The case's function name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::QuotasAtInsert => "backtests_count_quotas_at_insert",
            Self::ChunksAreCompareAndSet => "backtest_chunks_are_compare_and_set",
            Self::ScopedAndDeleted => "backtests_are_scoped_and_deleted",
        }
    }
}

/// Runs one case against a fresh store.
pub async fn run_backtest_case<S: BacktestStores>(case: BacktestCase, s: &S) {
    match case {
        BacktestCase::QuotasAtInsert => backtests_count_quotas_at_insert(s).await,
        BacktestCase::ChunksAreCompareAndSet => backtest_chunks_are_compare_and_set(s).await,
        BacktestCase::ScopedAndDeleted => backtests_are_scoped_and_deleted(s).await,
    }
}

/// Expands to one `#[test]` per [`BacktestCase`], each calling `$harness(case)`.
#[macro_export]
macro_rules! backtest_contract_tests {
    ($harness:path) => {
        #[test]
        fn backtests_count_quotas_at_insert() {
            $harness($crate::backtests::BacktestCase::QuotasAtInsert);
        }
        #[test]
        fn backtest_chunks_are_compare_and_set() {
            $harness($crate::backtests::BacktestCase::ChunksAreCompareAndSet);
        }
        #[test]
        fn backtests_are_scoped_and_deleted() {
            $harness($crate::backtests::BacktestCase::ScopedAndDeleted);
        }
    };
}

const T0: i64 = 1_704_067_200_000;
const H: i64 = 3_600_000;

async fn user<S: BacktestStores>(s: &S, n: &str) -> UserId {
    crate::fixtures::user(s, n, T0).await
}

async fn symbol<S: BacktestStores>(s: &S) -> SymbolId {
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

fn run() -> RunParams {
    RunParams {
        params: BacktestParams {
            rr: 2.5,
            sl_buffer_pct: 10.0,
            slippage_pct: 0.25,
        },
        from: T0,
        to: T0 + 1_000 * H,
    }
}

fn new(user: UserId, sym: SymbolId, at: i64) -> NewBacktest {
    NewBacktest {
        user_id: user,
        name: Some("walk".into()),
        symbol: sym,
        tf: Timeframe::H1,
        pattern_type: PatternType::OrderBlock,
        params: run().to_json(),
        cursor: T0,
        created_at: at,
    }
}

const ONE_RUNNING: BacktestQuota = BacktestQuota {
    max_running: Some(1),
    max_per_day: Some(2),
    day_start: T0,
};

fn trade(i: i64, outcome: Outcome) -> BacktestTradeRow {
    BacktestTradeRow {
        long: i % 2 == 0,
        detected_at: T0 + i * H,
        entry_time: T0 + (i + 1) * H,
        entry_price: 100.0 + i as f64 / 8.0,
        exit_time: Some(T0 + (i + 5) * H),
        exit_price: (outcome != Outcome::Inconclusive).then_some(110.5),
        outcome,
        r: match outcome {
            Outcome::Win => 2.5,
            Outcome::Loss => -1.0,
            Outcome::Inconclusive => 0.0,
        },
    }
}

fn update(status: BacktestStatus, progress: f64, cursor: Option<i64>, now: i64) -> ChunkUpdate {
    ChunkUpdate {
        status,
        progress,
        cursor,
        stats: (status == BacktestStatus::Done).then(|| "{\"total\":3}".to_owned()),
        error: None,
        now,
    }
}

/// At most one queued/running per user and N created per UTC day, counted with the insert;
/// a finished run frees the running slot; unknown users and symbols are refused.
pub async fn backtests_count_quotas_at_insert<S: BacktestStores>(s: &S) {
    let (a, b) = (user(s, "alice").await, user(s, "bob").await);
    let sym = symbol(s).await;
    let first = ok(
        s.create_backtest(&new(a, sym, T0), ONE_RUNNING).await,
        "first",
    );
    assert_eq!(
        (first.status, first.progress, first.cursor),
        (BacktestStatus::Queued, 0.0, Some(T0))
    );
    assert_eq!(
        NewBacktest {
            params: String::new(),
            ..first.new.clone()
        },
        NewBacktest {
            params: String::new(),
            ..new(a, sym, T0)
        }
    );
    assert_eq!(
        RunParams::from_json(&first.new.params).map(|r| r.params),
        Some(run().params)
    );
    let second = s.create_backtest(&new(a, sym, T0 + 1), ONE_RUNNING).await;
    assert_eq!(
        second.map(|b| b.id),
        Err(StoreError::Conflict(quota::RUNNING))
    );
    ok(
        s.create_backtest(&new(b, sym, T0 + 1), ONE_RUNNING).await,
        "bob's own",
    );
    let done = update(BacktestStatus::Done, 100.0, None, T0 + 2);
    ok(s.save_chunk(first.id, T0, &done, &[]).await, "finish");
    ok(
        s.create_backtest(&new(a, sym, T0 + 3), ONE_RUNNING).await,
        "second of the day",
    );
    let f = ok(s.active_backtests(10).await, "active");
    let last = f.iter().find(|x| x.new.user_id == a).map(|x| x.id);
    let done = update(BacktestStatus::Failed, 10.0, None, T0 + 4);
    ok(
        s.save_chunk(last.unwrap_or(first.id), T0, &done, &[]).await,
        "fail it",
    );
    let third = s.create_backtest(&new(a, sym, T0 + 5), ONE_RUNNING).await;
    assert_eq!(
        third.map(|b| b.id),
        Err(StoreError::Conflict(quota::PER_DAY))
    );
    let next_day = BacktestQuota {
        day_start: T0 + 24 * H,
        ..ONE_RUNNING
    };
    ok(
        s.create_backtest(&new(a, sym, T0 + 24 * H), next_day).await,
        "next day",
    );
    assert!(matches!(
        s.create_backtest(&new(UserId(a.0 + 999), sym, T0), ONE_RUNNING)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.create_backtest(
            &new(b, SymbolId(sym.0 + 999), T0),
            BacktestQuota {
                max_running: None,
                max_per_day: None,
                day_start: T0,
            }
        )
        .await,
        Err(StoreError::NotFound(_))
    ));
}

/// A chunk stores its trades and the row's progress in one write, only from the cursor it
/// read; a stale cursor (or a finished run) writes nothing.
pub async fn backtest_chunks_are_compare_and_set<S: BacktestStores>(s: &S) {
    let a = user(s, "alice").await;
    let sym = symbol(s).await;
    let bt = ok(
        s.create_backtest(&new(a, sym, T0), ONE_RUNNING).await,
        "create",
    );
    let chunk1 = [trade(1, Outcome::Win), trade(2, Outcome::Loss)];
    let next = T0 + 400 * H;
    let up = update(BacktestStatus::Running, 40.0, Some(next), T0 + 10);
    ok(s.save_chunk(bt.id, T0, &up, &chunk1).await, "chunk 1");
    let stale = s
        .save_chunk(bt.id, T0, &up, &[trade(3, Outcome::Win)])
        .await;
    assert_eq!(stale, Err(StoreError::Conflict(quota::CURSOR_MOVED)));
    let row = ok(s.backtest(a, bt.id).await, "read").unwrap_or_else(|| panic!("gone"));
    assert_eq!(
        (
            row.status,
            row.progress,
            row.cursor,
            row.started_at,
            row.finished_at
        ),
        (
            BacktestStatus::Running,
            40.0,
            Some(next),
            Some(T0 + 10),
            None
        )
    );
    let end = update(BacktestStatus::Done, 100.0, None, T0 + 20);
    ok(
        s.save_chunk(bt.id, next, &end, &[trade(3, Outcome::Inconclusive)])
            .await,
        "last chunk",
    );
    let row = ok(s.backtest(a, bt.id).await, "read").unwrap_or_else(|| panic!("gone"));
    assert_eq!(
        (
            row.status,
            row.progress,
            row.cursor,
            row.started_at,
            row.finished_at
        ),
        (
            BacktestStatus::Done,
            100.0,
            None,
            Some(T0 + 10),
            Some(T0 + 20)
        )
    );
    assert!(row.stats.as_deref().is_some_and(|t| t.contains("total")));
    let again = s
        .save_chunk(bt.id, next, &end, &[trade(4, Outcome::Win)])
        .await;
    assert_eq!(again, Err(StoreError::Conflict(quota::CURSOR_MOVED)));
    let trades = ok(s.backtest_trades(a, bt.id).await, "trades");
    assert_eq!(
        trades,
        vec![
            trade(1, Outcome::Win),
            trade(2, Outcome::Loss),
            trade(3, Outcome::Inconclusive)
        ]
    );
    assert_eq!(
        s.save_chunk(
            cl_app::ports::backtests::BacktestId(bt.id.0 + 99),
            T0,
            &up,
            &[]
        )
        .await,
        Err(StoreError::NotFound("backtest"))
    );
}

/// Another user's backtest is absent (read, trades, delete); the list is the owner's, newest
/// first; the active list holds queued and running runs of everyone, oldest first; delete
/// removes the trades too.
pub async fn backtests_are_scoped_and_deleted<S: BacktestStores>(s: &S) {
    let (a, b) = (user(s, "alice").await, user(s, "bob").await);
    let sym = symbol(s).await;
    let free = BacktestQuota {
        max_running: None,
        max_per_day: None,
        day_start: T0,
    };
    let x = ok(s.create_backtest(&new(a, sym, T0 + 1), free).await, "x");
    let y = ok(s.create_backtest(&new(a, sym, T0 + 2), free).await, "y");
    let z = ok(s.create_backtest(&new(b, sym, T0 + 3), free).await, "z");
    let up = update(BacktestStatus::Running, 10.0, Some(T0 + H), T0 + 5);
    ok(
        s.save_chunk(x.id, T0, &up, &[trade(1, Outcome::Win)]).await,
        "chunk",
    );
    assert_eq!(ok(s.backtest(b, x.id).await, "foreign"), None);
    assert_eq!(
        s.backtest_trades(b, x.id).await.map(|t| t.len()),
        Err(StoreError::NotFound("backtest"))
    );
    assert_eq!(
        s.delete_backtest(b, x.id).await,
        Err(StoreError::NotFound("backtest"))
    );
    let mine: Vec<_> = ok(s.backtests_of(a).await, "mine")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(mine, vec![y.id, x.id]);
    let active: Vec<_> = ok(s.active_backtests(10).await, "active")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(active, vec![x.id, y.id, z.id]);
    assert_eq!(ok(s.active_backtests(1).await, "one").len(), 1);
    ok(s.delete_backtest(a, x.id).await, "delete");
    assert_eq!(ok(s.backtest(a, x.id).await, "gone"), None);
    assert_eq!(
        s.backtest_trades(a, x.id).await.map(|t| t.len()),
        Err(StoreError::NotFound("backtest"))
    );
}
