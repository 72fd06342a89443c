//! Host tests of the chunked user backtests over the memory store: the chunked run equals one
//! domain run over the whole range, progress and status move chunk by chunk, quotas (1
//! running, 20 per UTC day), premium only, validation with field errors, owner scoping.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use cl_app::backtests::{
    continue_backtests, results, BacktestError, BacktestInput, BacktestService, RunParams,
    CHUNK_CANDLES,
};
use cl_app::policy::{Access, Limits, Tier};
use cl_app::ports::backtests::{BacktestStatus, BacktestStore};
use cl_app::ports::{CandleStore, NewSymbol, NewUser, SymbolStore, UserId, UserStore};
use cl_auth::email::{Email, Username};
use cl_auth::SecretString;
use cl_domain::backtest::{run_backtest, BacktestParams};
use cl_domain::detect::{detect, Mode};
use cl_domain::{Candle, DetectionParams, PatternType, Timeframe};
use cl_store_memory::MemoryStore;

const H: i64 = 3_600_000;
const T0: i64 = 1_704_067_200_000;
const N: i64 = 5_000;
const NOW: i64 = T0 + (N + 10) * H;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

fn access(tier: Tier) -> Access {
    Access {
        tier,
        limits: Limits::for_tier(tier),
        is_admin: false,
        viewing_as: None,
    }
}

/// A deterministic jumpy walk: plenty of imbalances and sweeps.
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
            Candle::new(T0 + i * H, open, high, low, close, 10.0).unwrap()
        })
        .collect()
}

async fn setup(s: &MemoryStore) -> (UserId, UserId) {
    let mut ids = Vec::new();
    for n in ["alice", "bob"] {
        let new = NewUser {
            email: Email::parse(&format!("{n}@example.com")).unwrap(),
            username: Username::parse(n).unwrap(),
            password_hash: SecretString::new("$pbkdf2-sha256$i=10,l=32$c2FsdA$aGFzaA"),
            ntfy_topic: format!("cl_topic_{n}"),
            created_at: T0,
        };
        ids.push(s.create_user(&new).await.unwrap().id);
    }
    let sym = s
        .add_symbol(&NewSymbol {
            symbol: "BTC/USDT".into(),
            exchange: "binance".into(),
            is_active: true,
            notify_enabled: true,
            fetch_start_ms: 0,
            created_at: T0,
        })
        .await
        .unwrap();
    s.upsert_candles(sym.id, Timeframe::H1, &candles())
        .await
        .unwrap();
    (ids[0], ids[1])
}

fn input() -> BacktestInput {
    BacktestInput {
        symbol: "BTC/USDT".into(),
        tf: "1h".into(),
        from: T0,
        to: T0 + N * H,
        pattern_type: "imbalance".into(),
        rr: Some(2.5),
        sl_buffer_pct: Some(10.0),
        slippage_pct: Some(0.1),
        name: Some("walk".into()),
    }
}

#[test]
fn the_chunked_run_equals_one_run_over_the_whole_range() {
    block_on(async {
        let s = MemoryStore::new();
        let (alice, _) = setup(&s).await;
        let svc = BacktestService::new(&s);
        let bt = svc
            .create(alice, &access(Tier::Premium), &input(), NOW)
            .await
            .unwrap();
        assert_eq!(bt.status, BacktestStatus::Queued);
        // One chunk: running, partial progress, cursor moved by a chunk.
        assert_eq!(continue_backtests(&s, 1, NOW).await.unwrap(), 1);
        let v = svc.view(alice, bt.id).await.unwrap();
        assert_eq!(v.backtest.status, BacktestStatus::Running);
        assert_eq!(v.backtest.cursor, Some(T0 + CHUNK_CANDLES * H));
        assert!(
            (v.backtest.progress - 40.0).abs() < 1e-9,
            "{}",
            v.backtest.progress
        );
        // The rest, then nothing is left to run.
        assert_eq!(continue_backtests(&s, 10, NOW).await.unwrap(), 2);
        assert_eq!(continue_backtests(&s, 10, NOW).await.unwrap(), 0);
        let v = svc.view(alice, bt.id).await.unwrap();
        assert_eq!(v.backtest.status, BacktestStatus::Done);
        assert_eq!(v.backtest.progress, 100.0);
        assert!(v.backtest.stats.is_some());

        let all = candles();
        let params = BacktestParams {
            rr: 2.5,
            sl_buffer_pct: 10.0,
            slippage_pct: 0.1,
        };
        let dets = detect(
            &all,
            PatternType::Imbalance,
            Mode::Raw,
            &DetectionParams::default(),
        );
        let whole = run_backtest(Timeframe::H1, &all, &dets, &params).unwrap();
        assert!(whole.trades.len() > 20, "{} trades", whole.trades.len());
        let mut want: Vec<(i64, i64, u64)> = whole
            .trades
            .iter()
            .map(|t| (t.detected_at, t.entry_time, t.entry_price.to_bits()))
            .collect();
        want.sort_unstable();
        let mut got: Vec<(i64, i64, u64)> = v
            .trades
            .iter()
            .map(|t| (t.detected_at, t.entry_time, t.entry_price.to_bits()))
            .collect();
        got.sort_unstable();
        assert_eq!(got, want);
        assert_eq!(v.stats.total, whole.stats.total);
        assert_eq!(v.stats.wins, whole.stats.wins);
        assert_eq!(v.stats.losses, whole.stats.losses);
        assert!((v.stats.total_profit_pct - whole.stats.total_profit_pct).abs() < 1e-6);
        assert!((v.stats.max_drawdown_pct - whole.stats.max_drawdown_pct).abs() < 1e-6);
        let (again, curve) = results(&v.trades, Timeframe::H1, PatternType::Imbalance);
        assert_eq!(again, v.stats);
        assert_eq!(curve.len(), v.equity_curve.len());
        assert_eq!(
            RunParams::from_json(&v.backtest.new.params).unwrap().params,
            params
        );
    });
}

#[test]
fn premium_only_one_running_twenty_a_day_and_owner_scoped() {
    block_on(async {
        let s = MemoryStore::new();
        let (alice, bob) = setup(&s).await;
        let svc = BacktestService::new(&s);
        let err = svc
            .create(alice, &access(Tier::Pro), &input(), NOW)
            .await
            .unwrap_err();
        assert_eq!(err, BacktestError::TierRequired);
        let premium = access(Tier::Premium);
        let bt = svc.create(alice, &premium, &input(), NOW).await.unwrap();
        let err = svc
            .create(alice, &premium, &input(), NOW)
            .await
            .unwrap_err();
        assert!(matches!(err, BacktestError::LimitReached(q) if q.ends_with("running")));
        assert!(matches!(
            svc.view(bob, bt.id).await,
            Err(BacktestError::NotFound(_))
        ));
        assert!(matches!(
            svc.delete(bob, bt.id).await,
            Err(BacktestError::NotFound(_))
        ));
        assert!(svc.list(bob).await.unwrap().is_empty());
        // Finish each run before the next; the 21st of the UTC day is refused.
        continue_backtests(&s, 100, NOW).await.unwrap();
        for _ in 1..20 {
            svc.create(alice, &premium, &input(), NOW).await.unwrap();
            continue_backtests(&s, 100, NOW).await.unwrap();
        }
        let err = svc
            .create(alice, &premium, &input(), NOW)
            .await
            .unwrap_err();
        assert!(matches!(err, BacktestError::LimitReached(q) if q.ends_with("per_day")));
        assert_eq!(svc.list(alice).await.unwrap().len(), 20);
        svc.delete(alice, bt.id).await.unwrap();
        assert!(s.backtest(alice, bt.id).await.unwrap().is_none());
    });
}

#[test]
fn bad_requests_get_field_errors_and_store_nothing() {
    block_on(async {
        let s = MemoryStore::new();
        let (alice, _) = setup(&s).await;
        let svc = BacktestService::new(&s);
        let bad = BacktestInput {
            tf: "1m".into(),
            rr: Some(11.0),
            sl_buffer_pct: Some(f64::NAN),
            slippage_pct: Some(0.123_456_789),
            pattern_type: "head_and_shoulders".into(),
            ..input()
        };
        let Err(BacktestError::Invalid(fields)) =
            svc.create(alice, &access(Tier::Premium), &bad, NOW).await
        else {
            panic!("accepted")
        };
        let mut got: Vec<(&str, &str)> = fields.iter().map(|f| (f.field, f.code)).collect();
        got.sort_unstable();
        assert_eq!(
            got,
            vec![
                ("pattern_type", "invalid_choice"),
                ("rr", "out_of_range"),
                ("sl_buffer_pct", "out_of_range"),
                ("slippage_pct", "too_many_decimals"),
                ("tf", "invalid_choice"),
            ]
        );
        for (from, to) in [(T0 + H, T0), (T0, NOW + H), (T0 - 800 * 24 * H, T0)] {
            let r = svc
                .create(
                    alice,
                    &access(Tier::Premium),
                    &BacktestInput {
                        from,
                        to,
                        ..input()
                    },
                    NOW,
                )
                .await;
            assert!(matches!(r, Err(BacktestError::Invalid(_))), "{from} {to}");
        }
        let empty = BacktestInput {
            from: T0 - 100 * H,
            to: T0,
            ..input()
        };
        let Err(BacktestError::Invalid(f)) =
            svc.create(alice, &access(Tier::Premium), &empty, NOW).await
        else {
            panic!("accepted")
        };
        assert_eq!(f[0].code, "no_candles");
        assert!(svc.list(alice).await.unwrap().is_empty());
    });
}
