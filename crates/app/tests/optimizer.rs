//! Host tests of the admin optimizer and the trading preferences (`cl_app::optimizer`) over
//! the memory store: the grid, chunked runs that resume to the same result as one go, the
//! best-params rule (≥ 10 trades), compare, apply/clear with audit, admin only, and the pro+
//! trading preferences with field errors.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "accounts/helpers.rs"]
mod helpers;

use cl_app::admin::AuditContext;
use cl_app::optimizer::{
    best_of, continue_optimizations, my_tuned_params, reset_my_tuned_params, set_trading_prefs,
    JobInput, OptimizerError, OptimizerService, TradingPrefsError, TradingPrefsInput,
    POINTS_PER_CHUNK,
};
use cl_app::policy::{Access, Limits, Tier};
use cl_app::ports::admin::{AdminStore, AuditFilter};
use cl_app::ports::optimization::{
    JobStatus, JsonText, NewOptimizationRun, OptimizationJobId, OptimizationRunId,
    OptimizationStore, RunScore, StoredOptimizationRun, TradingPrefsStore,
};
use cl_app::ports::{
    CandleStore, NewSymbol, PageRequest, SymbolId, SymbolStore, UserId, UserStore,
};
use cl_domain::backtest::{optimize, OptimizerGrid, SelectionMetric};
use cl_domain::detect::{detect, Mode};
use cl_domain::{Candle, DetectionParams, PatternType, Timeframe};
use helpers::{block_on, TestApp, T0};

const H: i64 = 3_600_000;
const N: i64 = 1_500;
const FROM: i64 = T0 - N * H;

fn ctx() -> AuditContext {
    AuditContext {
        ip: Some("203.0.113.9".into()),
        request_id: "req-opt".into(),
    }
}

/// A deterministic jumpy walk: plenty of imbalances.
fn candles() -> Vec<Candle> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 10_000) as f64 / 10_000.0
    };
    let mut price = 100.0;
    (0..N)
        .map(|i| {
            let open = price;
            let close = (open * (1.0 + (rnd() - 0.5) * 0.04)).max(1.0);
            let high = open.max(close) * (1.0 + rnd() * 0.01);
            let low = open.min(close) * (1.0 - rnd() * 0.01);
            price = close * (1.0 + (rnd() - 0.5) * 0.01);
            Candle::new(FROM + i * H, open, high, low, close, 10.0).unwrap()
        })
        .collect()
}

struct Fixture {
    app: TestApp,
    admin_token: String,
    user: UserId,
    symbol: SymbolId,
}

fn fixture() -> Fixture {
    let app = TestApp::new();
    let admin = app.user("root@example.com", "root");
    block_on(app.store.set_admin(admin, true)).unwrap();
    let admin_token = app
        .full_login("root@example.com")
        .token
        .expose_secret()
        .to_owned();
    let user = app.user("kim@example.com", "kim");
    let symbol = block_on(app.store.add_symbol(&NewSymbol {
        symbol: "BTC/USDT".into(),
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: 0,
        created_at: FROM,
    }))
    .unwrap()
    .id;
    block_on(app.store.upsert_candles(symbol, Timeframe::H1, &candles())).unwrap();
    Fixture {
        app,
        admin_token,
        user,
        symbol,
    }
}

impl Fixture {
    fn admin(&self) -> cl_app::accounts::Authenticated {
        block_on(self.app.svc().authenticate(&self.admin_token)).unwrap()
    }

    fn svc(&self) -> OptimizerService<'_, cl_store_memory::MemoryStore> {
        OptimizerService::new(&self.app.store)
    }

    fn create(&self, input: &JobInput) -> OptimizationJobId {
        block_on(self.svc().create(&self.admin(), &ctx(), input, T0))
            .unwrap()
            .job
            .id
    }

    fn runs(&self, job: OptimizationJobId) -> Vec<StoredOptimizationRun> {
        block_on(self.app.store.best_runs(job, RunScore::TotalProfit, 10_000)).unwrap()
    }

    fn audit_actions(&self) -> Vec<String> {
        let page = PageRequest {
            limit: 100,
            after: None,
        };
        block_on(self.app.store.audit_log(&AuditFilter::default(), page))
            .unwrap()
            .items
            .into_iter()
            .map(|r| r.entry.action)
            .collect()
    }
}

fn input() -> JobInput {
    JobInput {
        symbols: vec!["BTC/USDT".into()],
        tfs: vec!["1h".into()],
        pattern_types: vec!["imbalance".into(), "order_block".into()],
        from: FROM,
        to: T0,
        ..JobInput::default()
    }
}

#[test]
fn the_default_grid_is_detection_md_and_a_job_covers_every_combo() {
    let g = OptimizerGrid::default();
    assert_eq!(g.points().len(), 5 * 7 * 3);
    assert_eq!(g.rr, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(
        g.sl_buffer_pct,
        vec![3.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    );
    assert_eq!(g.expiry_multiplier, vec![0.5, 1.0, 2.0]);
    let f = fixture();
    let v = block_on(f.svc().create(&f.admin(), &ctx(), &input(), T0)).unwrap();
    assert_eq!(v.total_runs(), 2 * 105);
    assert_eq!(v.job.status, JobStatus::Queued);
    assert_eq!(f.audit_actions(), vec!["optimizer.create".to_owned()]);
}

#[test]
fn chunks_resume_to_the_same_runs_as_one_go_and_match_the_domain() {
    let f = fixture();
    let chunked = f.create(&input());
    // One chunk: running, a cursor, progress = 35 / 210.
    assert_eq!(
        block_on(continue_optimizations(&f.app.store, 1, T0)).unwrap(),
        1
    );
    let job = block_on(f.app.store.job(chunked)).unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Running);
    let expected = POINTS_PER_CHUNK as f64 / 210.0 * 100.0;
    assert!((job.progress - expected).abs() < 1e-9, "{}", job.progress);
    assert_eq!(f.runs(chunked).len(), POINTS_PER_CHUNK);
    // Replaying the same chunk (a crashed invocation) stores nothing twice.
    let mut stale = job.clone();
    stale.cursor = None;
    block_on(cl_app::optimizer::run_chunk(&f.app.store, &stale, T0)).unwrap();
    assert_eq!(f.runs(chunked).len(), POINTS_PER_CHUNK);
    // Tick by tick to the end.
    let mut ticks = 1;
    while block_on(f.app.store.job(chunked)).unwrap().unwrap().status != JobStatus::Done {
        assert_eq!(
            block_on(continue_optimizations(&f.app.store, 1, T0)).unwrap(),
            1
        );
        ticks += 1;
        assert!(ticks < 50, "never finished");
    }
    let done = block_on(f.app.store.job(chunked)).unwrap().unwrap();
    assert_eq!(done.progress, 100.0);
    // `stale` went back to the start, so a few chunks ran again; at least 210/35 = 6.
    assert!(ticks >= 6);
    assert_eq!(
        block_on(continue_optimizations(&f.app.store, 5, T0)).unwrap(),
        0
    );

    // The same job in one go.
    let one_go = f.create(&input());
    block_on(continue_optimizations(&f.app.store, 100, T0)).unwrap();
    let key = |r: &StoredOptimizationRun| {
        (
            r.new.pattern_type,
            r.new.params_key.clone(),
            r.new.trade_count,
            r.new.total_profit_pct.map(f64::to_bits),
            r.new.metrics.clone(),
        )
    };
    let mut a: Vec<_> = f.runs(chunked).iter().map(key).collect();
    let mut b: Vec<_> = f.runs(one_go).iter().map(key).collect();
    a.sort_by(|x, y| x.1.cmp(&y.1).then(x.0.cmp(&y.0)));
    b.sort_by(|x, y| x.1.cmp(&y.1).then(x.0.cmp(&y.0)));
    assert_eq!(a.len(), 210);
    assert_eq!(a, b, "chunked == one go");

    // Every stored run is the domain optimizer's result for its grid point.
    let all = candles();
    let dets = detect(
        &all,
        PatternType::Imbalance,
        Mode::Raw,
        &DetectionParams::default(),
    );
    let domain = optimize(
        "BTC/USDT",
        PatternType::Imbalance,
        Timeframe::H1,
        &all,
        &dets,
        &OptimizerGrid::default(),
        0.0,
    )
    .unwrap();
    let stored = f.runs(one_go);
    for d in &domain {
        let r = stored
            .iter()
            .find(|r| {
                r.new.pattern_type == PatternType::Imbalance
                    && r.new.rr == d.point.rr
                    && r.new.sl_buffer_pct == d.point.sl_buffer_pct
                    && r.new.expiry_mult == d.point.expiry_multiplier
            })
            .expect("run of every point");
        assert_eq!(r.new.trade_count as usize, d.stats.total);
        assert_eq!(r.new.total_profit_pct, Some(d.stats.total_profit_pct));
        assert_eq!(r.new.sharpe, d.stats.sharpe);
    }
    assert!(
        domain.iter().any(|d| d.stats.total >= 10),
        "the fixture has eligible runs"
    );
}

fn run(id: i64, tf: Timeframe, trades: u32, profit: f64) -> StoredOptimizationRun {
    StoredOptimizationRun {
        id: OptimizationRunId(id),
        new: NewOptimizationRun {
            job: OptimizationJobId(1),
            symbol: SymbolId(1),
            tf,
            pattern_type: PatternType::Imbalance,
            params: JsonText::new(serde_json::json!({})),
            params_key: format!("k{id}"),
            rr: id as f64,
            sl_buffer_pct: 10.0,
            tp_method: "rr_multiple".into(),
            entry_method: "zone_edge".into(),
            min_zone_pct: 0.15,
            overlap: 0.7,
            expiry_mult: 1.0,
            metrics: None,
            total_profit_pct: Some(profit),
            win_rate: Some(50.0),
            sharpe: None,
            trade_count: trades,
            created_at: T0,
        },
    }
}

#[test]
fn best_params_need_ten_trades_and_are_per_symbol_type_tf() {
    let runs = vec![
        run(1, Timeframe::H1, 9, 500.0), // the highest profit, but 9 trades: excluded
        run(2, Timeframe::H1, 10, 20.0),
        run(3, Timeframe::H1, 40, 30.0),
        run(4, Timeframe::H4, 12, -5.0),
        run(5, Timeframe::D1, 3, 90.0), // no eligible run on 1d
    ];
    let best = best_of(&runs, SelectionMetric::TotalProfit);
    let ids: Vec<i64> = best.iter().map(|r| r.id.0).collect();
    assert_eq!(ids, vec![3, 4]);
    // Sharpe: no run has one, so nothing is eligible.
    assert!(best_of(&runs, SelectionMetric::Sharpe).is_empty());
    // Ties on the metric keep more trades.
    let tie = vec![
        run(7, Timeframe::H1, 10, 30.0),
        run(8, Timeframe::H1, 20, 30.0),
    ];
    let ids: Vec<i64> = best_of(&tie, SelectionMetric::TotalProfit)
        .iter()
        .map(|r| r.id.0)
        .collect();
    assert_eq!(ids, vec![8]);
}

#[test]
fn apply_writes_the_best_params_to_a_user_and_clear_removes_them() {
    let f = fixture();
    let job = f.create(&input());
    block_on(continue_optimizations(&f.app.store, 100, T0)).unwrap();
    let admin = f.admin();
    let svc = f.svc();
    let best = block_on(svc.best(&admin, job, SelectionMetric::TotalProfit)).unwrap();
    assert!(!best.is_empty() && best.iter().all(|r| r.new.trade_count >= 10));
    let applied = block_on(svc.apply(
        &admin,
        &ctx(),
        job,
        SelectionMetric::TotalProfit,
        f.user,
        T0,
    ))
    .unwrap();
    assert_eq!(applied.len(), 1, "one row per symbol");
    let mine = block_on(my_tuned_params(&f.app.store, f.user)).unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].symbol, "BTC/USDT");
    assert_eq!(mine[0].doc.entries.len(), best.len());
    assert_eq!(mine[0].doc.job_id, job.0);
    let top = best
        .iter()
        .max_by(|a, b| {
            a.new
                .total_profit_pct
                .unwrap()
                .total_cmp(&b.new.total_profit_pct.unwrap())
        })
        .unwrap();
    assert_eq!(mine[0].run, Some(top.id), "the source run is recorded");
    // Compare with itself: every key has both sides, equal.
    let cmp = block_on(svc.compare(&admin, job, job, SelectionMetric::TotalProfit)).unwrap();
    assert_eq!(cmp.len(), best.len());
    assert!(cmp.iter().all(|c| c.a.is_some() && c.a == c.b));
    // Clear (admin) and reset (the user) empty it.
    assert_eq!(block_on(svc.clear(&admin, &ctx(), f.user, T0)).unwrap(), 1);
    assert!(block_on(my_tuned_params(&f.app.store, f.user))
        .unwrap()
        .is_empty());
    block_on(svc.apply(&admin, &ctx(), job, SelectionMetric::WinRate, f.user, T0)).unwrap();
    assert_eq!(
        block_on(reset_my_tuned_params(&f.app.store, f.user, T0)).unwrap(),
        1
    );
    assert!(block_on(my_tuned_params(&f.app.store, f.user))
        .unwrap()
        .is_empty());
    let actions = f.audit_actions();
    for a in ["optimizer.create", "optimizer.apply", "optimizer.clear"] {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
    // Unknown user or job: NotFound, nothing written.
    assert_eq!(
        block_on(svc.apply(
            &admin,
            &ctx(),
            job,
            SelectionMetric::TotalProfit,
            UserId(9_999),
            T0
        )),
        Err(OptimizerError::NotFound("user"))
    );
    assert_eq!(
        block_on(svc.job(&admin, OptimizationJobId(9_999))).map(|v| v.job.id),
        Err(OptimizerError::NotFound("optimization job"))
    );
}

#[test]
fn a_non_admin_cannot_use_the_optimizer_and_bad_input_writes_nothing() {
    let f = fixture();
    let kim = f.app.auth(&f.app.full_login("kim@example.com"));
    assert_eq!(
        block_on(f.svc().create(&kim, &ctx(), &input(), T0)).map(|v| v.job.id),
        Err(OptimizerError::NotAdmin)
    );
    let bad = JobInput {
        symbols: vec!["NOPE/USDT".into()],
        tfs: vec!["1m".into()],
        pattern_types: vec![],
        rr: Some(vec![0.1]),
        expiry_multiplier: Some(vec![0.0]),
        slippage_pct: Some(f64::NAN),
        ..input()
    };
    let Err(OptimizerError::Invalid(fields)) =
        block_on(f.svc().create(&f.admin(), &ctx(), &bad, T0))
    else {
        panic!("invalid");
    };
    let names: Vec<_> = fields.iter().map(|e| e.field).collect();
    for n in [
        "symbols",
        "tfs",
        "pattern_types",
        "rr",
        "expiry_multiplier",
        "slippage_pct",
    ] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    assert!(block_on(f.app.store.jobs(None, 10)).unwrap().is_empty());
    assert!(f.audit_actions().is_empty());
    let _ = f.symbol;
}

fn access(tier: Tier) -> Access {
    Access {
        tier,
        limits: Limits::for_tier(tier),
        is_admin: false,
        viewing_as: None,
    }
}

#[test]
fn trading_prefs_are_pro_and_validated() {
    let f = fixture();
    let set = |tier, risk, rr| {
        block_on(set_trading_prefs(
            &f.app.store,
            f.user,
            &access(tier),
            TradingPrefsInput {
                risk_per_trade_pct: risk,
                default_rr: rr,
            },
        ))
    };
    assert_eq!(
        set(Tier::Free, Some(1.0), Some(2.0)),
        Err(TradingPrefsError::TierRequired)
    );
    let Err(TradingPrefsError::Invalid(fields)) = set(Tier::Pro, Some(11.0), Some(2.345)) else {
        panic!("invalid");
    };
    let got: Vec<_> = fields.iter().map(|e| (e.field, e.code)).collect();
    assert_eq!(
        got,
        vec![
            ("risk_per_trade_pct", "out_of_range"),
            ("default_rr", "too_many_decimals")
        ]
    );
    let stored = block_on(f.app.store.trading_prefs(f.user))
        .unwrap()
        .unwrap();
    assert_eq!(stored, Default::default(), "nothing written");
    let prefs = set(Tier::Premium, Some(1.5), Some(2.5)).unwrap();
    assert_eq!(
        block_on(f.app.store.trading_prefs(f.user)).unwrap(),
        Some(prefs)
    );
    assert!(set(Tier::Pro, None, None).is_ok(), "reset to defaults");
    assert_eq!(
        block_on(f.app.store.trading_prefs(f.user)).unwrap(),
        Some(Default::default())
    );
    let _ = block_on(f.app.store.user(f.user)).unwrap();
}
