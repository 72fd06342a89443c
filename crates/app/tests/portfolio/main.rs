//! Host tests of the portfolio use cases over the memory store: typed validation with field
//! errors, tier quotas, the trade state machine, PnL and the balance kept in step with every
//! close / edit / delete, IDOR, prefill from a pattern, close at market, tags, journal, stats.

// Test code: panics carry the context, like assertions do.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use cl_app::policy::{Access, Limits, Tier};
use cl_app::portfolio::{
    stats, ExitInput, JournalInput, NotesInput, PortfolioDraft, PortfolioError, PortfolioInput,
    PortfolioService, TagInput, TradeDraft, TradeInput,
};
use cl_app::ports::{
    quota, CandleStore, NewPattern, NewSymbol, NewUser, PatternId, PatternStore, PortfolioId,
    StoredTrade, SymbolId, SymbolStore, TradeLevels, TradeStatus, UserId, UserStore,
};
use cl_auth::email::{Email, Username};
use cl_auth::SecretString;
use cl_domain::{Candle, Direction, PatternType, Timeframe, Zone};
use cl_store_memory::MemoryStore;

mod prefs;

const NOW: i64 = 1_704_067_200_000 + 10 * 3_600_000; // 2024-01-01T10:00Z
const DAY: i64 = 86_400_000;

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

async fn user(s: &MemoryStore, n: &str) -> UserId {
    let new = NewUser {
        email: Email::parse(&format!("{n}@example.com")).unwrap(),
        username: Username::parse(n).unwrap(),
        password_hash: SecretString::new("$pbkdf2-sha256$i=10,l=32$c2FsdA$aGFzaA"),
        ntfy_topic: format!("cl_topic_{n}"),
        created_at: NOW,
    };
    s.create_user(&new).await.unwrap().id
}

fn pf(name: &str, balance: f64) -> PortfolioInput {
    PortfolioInput {
        name: name.into(),
        description: None,
        initial_balance: balance,
        currency: Some("USDT".into()),
    }
}

fn long(entry: f64, qty: f64, sl: Option<f64>, tp: Option<f64>) -> TradeInput {
    TradeInput {
        symbol: "BTC/USDT".into(),
        direction: "long".into(),
        entry_price: entry,
        quantity: qty,
        stop_loss: sl,
        take_profit: tp,
        entry_time: Some(NOW),
        status: Some("open".into()),
        ..TradeInput::default()
    }
}

fn exit(price: f64, fees: Option<f64>) -> ExitInput {
    ExitInput {
        exit_price: price,
        exit_time: Some(NOW + 60_000),
        fees,
        ..ExitInput::default()
    }
}

fn codes(e: PortfolioError) -> Vec<(&'static str, &'static str)> {
    match e {
        PortfolioError::Invalid(f) => f.iter().map(|f| (f.field, f.code)).collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

fn close_to(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

async fn balance(s: &MemoryStore, user: UserId, p: PortfolioId) -> f64 {
    PortfolioService::new(s)
        .portfolio(user, p)
        .await
        .unwrap()
        .current_balance
}

/// The ETH/USDT symbol.
async fn symbol(s: &MemoryStore) -> SymbolId {
    s.add_symbol(&NewSymbol {
        symbol: "ETH/USDT".into(),
        exchange: "binance".into(),
        is_active: true,
        notify_enabled: true,
        fetch_start_ms: 0,
        created_at: NOW,
    })
    .await
    .unwrap()
    .id
}

/// A bullish pattern: entry 100, SL 95 (R = 5).
async fn pattern(s: &MemoryStore, sym: SymbolId) -> PatternId {
    s.insert_pattern(&NewPattern {
        symbol: sym,
        tf: Timeframe::H1,
        pattern_type: PatternType::OrderBlock,
        direction: Direction::Bullish,
        zone: Zone::new(95.0, 100.0).unwrap(),
        swept_level: None,
        detected_at: NOW - DAY,
        expires_at: NOW + DAY,
        levels: TradeLevels {
            entry: 100.0,
            stop_loss: 95.0,
            tp1: 110.0,
            tp2: 115.0,
            tp3: 120.0,
            risk: 5.0,
            rr1: 2.0,
            rr2: 3.0,
            rr3: 4.0,
        },
        created_at: NOW,
    })
    .await
    .unwrap()
    .unwrap()
}

async fn setup(s: &MemoryStore) -> (UserId, PortfolioId) {
    let alice = user(s, "alice").await;
    let svc = PortfolioService::new(s);
    let p = svc
        .create_portfolio(alice, &access(Tier::Premium), &pf("Main", 10_000.0), NOW)
        .await
        .unwrap();
    (alice, p.id)
}

#[test]
fn inputs_are_converted_once_with_every_bad_field_reported() {
    let bad = PortfolioInput {
        name: "x".repeat(51),
        description: Some("d".repeat(2001)),
        initial_balance: 0.0,
        currency: Some("GBP".into()),
    };
    let c = codes(PortfolioDraft::try_from(&bad).unwrap_err());
    assert_eq!(
        c,
        [
            ("name", "too_long"),
            ("description", "too_long"),
            ("initial_balance", "balance_out_of_range"),
            ("currency", "invalid_choice")
        ]
    );
    assert!(PortfolioDraft::try_from(&pf("ok", 1e12)).is_ok());
    assert!(PortfolioDraft::try_from(&pf("ok", 1e12 * 1.01)).is_err());

    // Long: SL < entry < TP.
    assert!(TradeDraft::try_from(&long(100.0, 1.0, Some(95.0), Some(110.0))).is_ok());
    let c = codes(TradeDraft::try_from(&long(100.0, 1.0, Some(101.0), Some(99.0))).unwrap_err());
    assert_eq!(
        c,
        [
            ("stop_loss", "stop_loss_wrong_side"),
            ("take_profit", "take_profit_wrong_side")
        ]
    );
    // Short mirrored.
    let short = TradeInput {
        direction: "short".into(),
        ..long(100.0, 1.0, Some(105.0), Some(90.0))
    };
    assert!(TradeDraft::try_from(&short).is_ok());
    let short_bad = TradeInput {
        direction: "short".into(),
        ..long(100.0, 1.0, Some(95.0), None)
    };
    assert_eq!(
        codes(TradeDraft::try_from(&short_bad).unwrap_err()),
        [("stop_loss", "stop_loss_wrong_side")]
    );
    // Ranges, enums, notes.
    let broken = TradeInput {
        direction: "up".into(),
        entry_price: f64::NAN,
        quantity: 1e12 + 1.0,
        fees: Some(-1.0),
        tf: Some("3m".into()),
        setup_notes: Some("n".repeat(2001)),
        ..long(1e9 + 1.0, 1.0, None, None)
    };
    let c = codes(TradeDraft::try_from(&broken).unwrap_err());
    for expected in [
        ("direction", "invalid_choice"),
        ("tf", "invalid_choice"),
        ("entry_price", "price_out_of_range"),
        ("quantity", "quantity_out_of_range"),
        ("fees", "fees_out_of_range"),
        ("setup_notes", "too_long"),
    ] {
        assert!(c.contains(&expected), "{expected:?} missing in {c:?}");
    }
    assert!(TradeDraft::try_from(&long(1e9, 1e12, None, None)).is_ok());
    assert!(TradeDraft::try_from(&long(0.0, 1.0, None, None)).is_err());
}

#[test]
fn tiers_bound_portfolios_and_trades_per_utc_day() {
    block_on(async {
        let s = MemoryStore::new();
        let alice = user(&s, "alice").await;
        let svc = PortfolioService::new(&s);
        let free = svc
            .create_portfolio(alice, &access(Tier::Free), &pf("A", 100.0), NOW)
            .await;
        assert_eq!(free, Err(PortfolioError::TierRequired));
        let pro = access(Tier::Pro);
        let p = svc
            .create_portfolio(alice, &pro, &pf("A", 100.0), NOW)
            .await
            .unwrap();
        let second = svc
            .create_portfolio(alice, &pro, &pf("B", 100.0), NOW)
            .await;
        assert_eq!(second, Err(PortfolioError::LimitReached(quota::PORTFOLIOS)));

        for i in 0..5 {
            svc.create_trade(alice, &pro, p.id, &long(100.0, 1.0, None, None), NOW + i)
                .await
                .unwrap();
        }
        let sixth = svc
            .create_trade(alice, &pro, p.id, &long(100.0, 1.0, None, None), NOW + 10)
            .await;
        assert_eq!(
            sixth,
            Err(PortfolioError::LimitReached(quota::TRADES_PER_DAY))
        );
        // Deleting does not give the quota back: it counts trades created today.
        // The next UTC day starts a new count.
        let tomorrow = NOW - NOW % DAY + DAY;
        assert!(svc
            .create_trade(alice, &pro, p.id, &long(100.0, 1.0, None, None), tomorrow)
            .await
            .is_ok());
        // Premium: up to 20 portfolios, no daily cap.
        let prem = access(Tier::Premium);
        for i in 0..19 {
            svc.create_portfolio(alice, &prem, &pf(&format!("P{i}"), 1.0), NOW)
                .await
                .unwrap();
        }
        let over = svc
            .create_portfolio(alice, &prem, &pf("P20", 1.0), NOW)
            .await;
        assert_eq!(over, Err(PortfolioError::LimitReached(quota::PORTFOLIOS)));
    });
}

#[test]
fn closing_computes_pnl_and_moves_the_balance_and_edits_and_deletes_keep_it_consistent() {
    block_on(async {
        let s = MemoryStore::new();
        let (alice, p) = setup(&s).await;
        let svc = PortfolioService::new(&s);
        let prem = access(Tier::Premium);
        let t = svc
            .create_trade(
                alice,
                &prem,
                p,
                &long(100.0, 2.0, Some(95.0), Some(120.0)),
                NOW,
            )
            .await
            .unwrap();
        assert_eq!(t.record.risk_amount, Some(10.0));
        assert_eq!(t.record.risk_percent, Some(0.1));
        let closed = svc
            .close_trade(alice, t.id, &exit(110.0, Some(1.5)), NOW)
            .await
            .unwrap();
        assert_eq!(closed.record.status, TradeStatus::Closed);
        assert!(close_to(closed.record.pnl_amount.unwrap(), 18.5));
        assert!(close_to(closed.record.pnl_percent.unwrap(), 9.25));
        assert!(close_to(closed.record.pnl_r.unwrap(), 1.85));
        assert!(close_to(balance(&s, alice, p).await, 10_018.5));

        // Edit the closed trade's exit: PnL recomputed, balance follows.
        let edited = svc
            .edit_closed_trade(alice, t.id, &exit(90.0, Some(0.0)), NOW)
            .await
            .unwrap();
        assert!(close_to(edited.record.pnl_amount.unwrap(), -20.0));
        assert!(close_to(balance(&s, alice, p).await, 9_980.0));

        // A short closed too; then delete the first: only the short's PnL remains.
        let short = TradeInput {
            direction: "short".into(),
            ..long(100.0, 1.0, Some(110.0), None)
        };
        let t2 = svc
            .create_trade(alice, &prem, p, &short, NOW)
            .await
            .unwrap();
        svc.close_trade(alice, t2.id, &exit(80.0, None), NOW)
            .await
            .unwrap();
        assert!(close_to(balance(&s, alice, p).await, 10_000.0));
        svc.delete_trade(alice, t.id, NOW).await.unwrap();
        assert!(close_to(balance(&s, alice, p).await, 10_020.0));
        svc.delete_trade(alice, t2.id, NOW).await.unwrap();
        assert!(close_to(balance(&s, alice, p).await, 10_000.0));
    });
}

#[test]
fn the_state_machine_allows_only_its_moves() {
    block_on(async {
        let s = MemoryStore::new();
        let (alice, p) = setup(&s).await;
        let svc = PortfolioService::new(&s);
        let prem = access(Tier::Premium);
        let pending = TradeInput {
            status: None,
            ..long(100.0, 1.0, None, None)
        };
        let t = svc
            .create_trade(alice, &prem, p, &pending, NOW)
            .await
            .unwrap();
        assert_eq!(t.record.status, TradeStatus::Pending);
        let r = svc.close_trade(alice, t.id, &exit(110.0, None), NOW).await;
        assert_eq!(r.unwrap_err(), PortfolioError::WrongState("pending"));
        let opened = svc.open_trade(alice, t.id, None, NOW).await.unwrap();
        assert_eq!(opened.record.status, TradeStatus::Open);
        assert_eq!(
            svc.cancel_trade(alice, t.id, NOW).await.unwrap_err(),
            PortfolioError::WrongState("open")
        );
        // Exit before entry refused.
        let early = ExitInput {
            exit_time: Some(NOW - 1),
            ..exit(110.0, None)
        };
        let c = codes(svc.close_trade(alice, t.id, &early, NOW).await.unwrap_err());
        assert_eq!(c, [("exit_time", "exit_before_entry")]);
        svc.close_trade(alice, t.id, &exit(110.0, None), NOW)
            .await
            .unwrap();
        // Closed: only notes and exit/fees edits.
        let full = svc
            .edit_trade(alice, t.id, &long(100.0, 5.0, None, None), NOW)
            .await;
        assert_eq!(full.unwrap_err(), PortfolioError::WrongState("closed"));
        let notes = NotesInput {
            lessons: Some("patience".into()),
            ..NotesInput::default()
        };
        let n = svc.edit_notes(alice, t.id, &notes, NOW).await.unwrap();
        assert_eq!(n.record.lessons.as_deref(), Some("patience"));
        assert_eq!(n.record.status, TradeStatus::Closed);

        let t3 = svc
            .create_trade(alice, &prem, p, &pending, NOW)
            .await
            .unwrap();
        let c = svc.cancel_trade(alice, t3.id, NOW).await.unwrap();
        assert_eq!(c.record.status, TradeStatus::Cancelled);
        assert_eq!(
            svc.open_trade(alice, t3.id, None, NOW).await.unwrap_err(),
            PortfolioError::WrongState("cancelled")
        );
        assert!(svc.edit_notes(alice, t3.id, &notes, NOW).await.is_ok());
    });
}

#[test]
fn another_users_objects_are_not_found() {
    block_on(async {
        let s = MemoryStore::new();
        let (alice, p) = setup(&s).await;
        let bob = user(&s, "bob").await;
        let svc = PortfolioService::new(&s);
        let prem = access(Tier::Premium);
        let t = svc
            .create_trade(alice, &prem, p, &long(100.0, 1.0, None, None), NOW)
            .await
            .unwrap();
        let tag = svc
            .create_tag(
                alice,
                &TagInput {
                    name: "breakout".into(),
                    color: None,
                    description: None,
                },
                NOW,
            )
            .await
            .unwrap();
        let j = svc
            .add_journal_entry(
                alice,
                t.id,
                &JournalInput {
                    entry_type: "pre_trade".into(),
                    content: "plan".into(),
                    mood: Some("neutral".into()),
                    screenshots: vec![],
                },
                NOW,
            )
            .await
            .unwrap();
        let nf = |what| PortfolioError::NotFound(what);
        assert_eq!(svc.portfolio(bob, p).await.unwrap_err(), nf("portfolio"));
        assert_eq!(svc.trades(bob, p).await.unwrap_err(), nf("portfolio"));
        assert_eq!(svc.stats(bob, p).await.unwrap_err(), nf("portfolio"));
        assert_eq!(
            svc.edit_portfolio(bob, p, "mine", None, true, NOW)
                .await
                .unwrap_err(),
            nf("portfolio")
        );
        assert_eq!(
            svc.delete_portfolio(bob, p).await.unwrap_err(),
            nf("portfolio")
        );
        assert_eq!(
            svc.create_trade(bob, &prem, p, &long(1.0, 1.0, None, None), NOW)
                .await
                .unwrap_err(),
            nf("portfolio")
        );
        assert_eq!(svc.trade(bob, t.id).await.unwrap_err(), nf("trade"));
        assert_eq!(
            svc.close_trade(bob, t.id, &exit(110.0, None), NOW)
                .await
                .unwrap_err(),
            nf("trade")
        );
        assert_eq!(
            svc.delete_trade(bob, t.id, NOW).await.unwrap_err(),
            nf("trade")
        );
        assert_eq!(svc.journal(bob, t.id).await.unwrap_err(), nf("trade"));
        assert_eq!(
            svc.delete_journal_entry(bob, j.id).await.unwrap_err(),
            nf("journal entry")
        );
        assert_eq!(svc.delete_tag(bob, tag.id).await.unwrap_err(), nf("tag"));
        // Bob cannot put Alice's tag on his own trade either.
        let bp = svc
            .create_portfolio(bob, &prem, &pf("Bob", 500.0), NOW)
            .await
            .unwrap();
        let bt = svc
            .create_trade(bob, &prem, bp.id, &long(1.0, 1.0, None, None), NOW)
            .await
            .unwrap();
        assert_eq!(
            svc.set_trade_tags(bob, bt.id, &[tag.id]).await.unwrap_err(),
            nf("tag")
        );
        assert!(svc.tags(bob).await.unwrap().is_empty());
        // Alice's things are untouched.
        assert_eq!(
            svc.trade(alice, t.id).await.unwrap().record.status,
            TradeStatus::Open
        );
        assert_eq!(svc.journal(alice, t.id).await.unwrap().len(), 1);
    });
}

#[test]
fn tags_are_unique_per_user_and_journals_are_capped() {
    block_on(async {
        let s = MemoryStore::new();
        let (alice, p) = setup(&s).await;
        let bob = user(&s, "bob").await;
        let svc = PortfolioService::new(&s);
        let tag = |n: &str, c: Option<&str>| TagInput {
            name: n.into(),
            color: c.map(str::to_owned),
            description: None,
        };
        svc.create_tag(alice, &tag("fomo", Some("#FF0000")), NOW)
            .await
            .unwrap();
        assert_eq!(
            svc.create_tag(alice, &tag("fomo", None), NOW)
                .await
                .unwrap_err(),
            PortfolioError::TagNameTaken
        );
        assert!(
            svc.create_tag(bob, &tag("fomo", None), NOW).await.is_ok(),
            "per user"
        );
        let c = codes(
            svc.create_tag(alice, &tag("x", Some("red")), NOW)
                .await
                .unwrap_err(),
        );
        assert_eq!(c, [("color", "invalid_color")]);

        let t = svc
            .create_trade(
                alice,
                &access(Tier::Premium),
                p,
                &long(100.0, 1.0, None, None),
                NOW,
            )
            .await
            .unwrap();
        let entry = JournalInput {
            entry_type: "during".into(),
            content: "holding".into(),
            mood: Some("fomo".into()),
            screenshots: vec!["https://img.example/1.png".into()],
        };
        for _ in 0..50 {
            svc.add_journal_entry(alice, t.id, &entry, NOW)
                .await
                .unwrap();
        }
        assert_eq!(
            svc.add_journal_entry(alice, t.id, &entry, NOW)
                .await
                .unwrap_err(),
            PortfolioError::LimitReached(quota::JOURNAL)
        );
        let bad = JournalInput {
            entry_type: "after".into(),
            mood: Some("sad".into()),
            screenshots: vec!["http://insecure.example/x.png".into()],
            ..entry.clone()
        };
        let c = codes(
            svc.add_journal_entry(alice, t.id, &bad, NOW)
                .await
                .unwrap_err(),
        );
        assert_eq!(
            c,
            [
                ("entry_type", "invalid_choice"),
                ("mood", "invalid_choice"),
                ("screenshots", "invalid_link")
            ]
        );
    });
}

#[test]
fn a_pattern_prefills_a_pending_trade_with_the_risk_sized_quantity() {
    block_on(async {
        let s = MemoryStore::new();
        let (alice, p) = setup(&s).await;
        let sym = symbol(&s).await;
        let pattern = pattern(&s, sym).await;
        let svc = PortfolioService::new(&s);
        let t = svc
            .create_from_pattern(alice, &access(Tier::Premium), p, pattern, NOW)
            .await
            .unwrap();
        let r = &t.record;
        assert_eq!(r.status, TradeStatus::Pending);
        assert_eq!(r.symbol, "ETH/USDT");
        assert_eq!(
            (r.entry_price, r.stop_loss, r.take_profit),
            (100.0, Some(95.0), Some(110.0))
        );
        assert_eq!(r.quantity, 20.0, "10 000 × 1% / 5");
        assert_eq!(r.side, cl_domain::levels::trade::Side::Long);
        assert_eq!(
            (r.tf, r.pattern_type, r.pattern_id),
            (
                Some(Timeframe::H1),
                Some(PatternType::OrderBlock),
                Some(pattern)
            )
        );

        // Close at market: the last 1m close.
        let open = svc.open_trade(alice, t.id, Some(NOW), NOW).await.unwrap();
        assert_eq!(
            svc.close_at_market(alice, open.id, NOW + 120_000)
                .await
                .unwrap_err(),
            PortfolioError::NoMarketPrice("ETH/USDT".into())
        );
        let candles = [
            Candle::new(NOW, 100.0, 101.0, 99.0, 100.5, 1.0).unwrap(),
            Candle::new(NOW + 60_000, 100.5, 106.0, 100.0, 105.0, 1.0).unwrap(),
        ];
        s.upsert_candles(sym, Timeframe::M1, &candles)
            .await
            .unwrap();
        let closed = svc
            .close_at_market(alice, open.id, NOW + 120_000)
            .await
            .unwrap();
        assert_eq!(closed.record.exit_price, Some(105.0));
        assert!(close_to(closed.record.pnl_amount.unwrap(), 100.0));
    });
}

#[test]
fn stats_cover_win_rate_profit_factor_drawdown_and_breakdowns() {
    block_on(async {
        let s = MemoryStore::new();
        let (alice, p) = setup(&s).await;
        let svc = PortfolioService::new(&s);
        let prem = access(Tier::Premium);
        let tag = svc
            .create_tag(
                alice,
                &TagInput {
                    name: "a+".into(),
                    color: None,
                    description: None,
                },
                NOW,
            )
            .await
            .unwrap();
        // +100, −300, +50 in exit order.
        let mut ids = Vec::new();
        for (i, exit_price) in [110.0, 70.0, 105.0].into_iter().enumerate() {
            let input = TradeInput {
                pattern_type: Some(if i == 1 { "imbalance" } else { "order_block" }.into()),
                ..long(100.0, 10.0, Some(90.0), None)
            };
            let t = svc
                .create_trade(alice, &prem, p, &input, NOW)
                .await
                .unwrap();
            let e = ExitInput {
                exit_time: Some(NOW + 1_000 * (i as i64 + 1)),
                ..exit(exit_price, None)
            };
            svc.close_trade(alice, t.id, &e, NOW).await.unwrap();
            ids.push(t.id);
        }
        svc.set_trade_tags(alice, ids[0], &[tag.id]).await.unwrap();
        // An open trade does not count.
        svc.create_trade(alice, &prem, p, &long(100.0, 1.0, None, None), NOW)
            .await
            .unwrap();
        let st = svc.stats(alice, p).await.unwrap();
        assert_eq!((st.overall.count, st.overall.wins), (3, 2));
        assert!(close_to(st.overall.win_rate.unwrap(), 200.0 / 3.0));
        assert!(close_to(st.overall.total_pnl, -150.0));
        assert!(close_to(st.avg_pnl.unwrap(), -50.0));
        assert!(close_to(st.avg_r.unwrap(), (1.0 - 3.0 + 0.5) / 3.0));
        assert!(close_to(st.profit_factor.unwrap(), 150.0 / 300.0));
        assert!(close_to(st.max_drawdown, 300.0));
        assert!(close_to(st.max_drawdown_pct, 300.0 / 10_100.0 * 100.0));
        assert_eq!(st.best.unwrap().0, ids[0]);
        assert_eq!(st.worst.unwrap().0, ids[1]);
        assert_eq!(st.by_pattern_type["order_block"].count, 2);
        assert_eq!(st.by_pattern_type["imbalance"].wins, 0);
        assert_eq!(st.by_direction["long"].count, 3);
        assert_eq!(st.by_tag[&tag.id].count, 1);
        let curve: Vec<f64> = st.equity_curve.iter().map(|e| e.equity).collect();
        assert_eq!(curve, [10_000.0, 10_100.0, 9_800.0, 9_850.0]);
        let p_row = svc.portfolio(alice, p).await.unwrap();
        assert!(close_to(p_row.current_balance, 9_850.0));
        // Pure function: no trades → empty stats with the starting point.
        let empty: Vec<StoredTrade> = Vec::new();
        let e = stats(&p_row, &empty, &[]);
        assert_eq!(e.overall.count, 0);
        assert_eq!(e.profit_factor, None);
        assert_eq!(e.equity_curve.len(), 1);
    });
}

#[test]
fn numbers_with_more_than_eight_decimals_are_refused_per_field() {
    assert_eq!(cl_app::portfolio::decimals(0.1), 1);
    assert_eq!(cl_app::portfolio::decimals(1e-8), 8);
    assert_eq!(cl_app::portfolio::decimals(100.0), 0);
    let mut t = long(100.123_456_78, 0.000_000_01, Some(90.0), None);
    assert!(TradeDraft::try_from(&t).is_ok());
    t.entry_price = 100.123_456_789;
    t.fees = Some(0.000_000_001);
    let Err(PortfolioError::Invalid(fields)) = TradeDraft::try_from(&t) else {
        panic!("accepted")
    };
    let got: Vec<(&str, &str)> = fields.iter().map(|f| (f.field, f.code)).collect();
    assert!(
        got.contains(&("entry_price", "too_many_decimals")),
        "{got:?}"
    );
    assert!(got.contains(&("fees", "too_many_decimals")), "{got:?}");
}

#[test]
fn a_pattern_with_full_precision_levels_prefills_rounded_to_eight_decimals() {
    block_on(async {
        let s = MemoryStore::new();
        let (alice, p) = setup(&s).await;
        let sym = s
            .add_symbol(&NewSymbol {
                symbol: "SOL/USDT".into(),
                exchange: "binance".into(),
                is_active: true,
                notify_enabled: true,
                fetch_start_ms: 0,
                created_at: NOW,
            })
            .await
            .unwrap();
        // Detected levels carry every bit of the f64 (the demo data's do).
        let pattern = s
            .insert_pattern(&NewPattern {
                symbol: sym.id,
                tf: Timeframe::H1,
                pattern_type: PatternType::Imbalance,
                direction: Direction::Bullish,
                zone: Zone::new(93.123_456_789_123, 94.912_027_745_657_82).unwrap(),
                swept_level: None,
                detected_at: NOW - DAY,
                expires_at: NOW + DAY,
                levels: TradeLevels {
                    entry: 94.912_027_745_657_82,
                    stop_loss: 93.123_456_789_123,
                    tp1: 97.987_654_321_098_76,
                    tp2: 99.0,
                    tp3: 100.0,
                    risk: 1.788_570_956_534_82,
                    rr1: 1.7,
                    rr2: 2.3,
                    rr3: 2.9,
                },
                created_at: NOW,
            })
            .await
            .unwrap()
            .unwrap();
        let t = PortfolioService::new(&s)
            .create_from_pattern(alice, &access(Tier::Premium), p, pattern, NOW)
            .await
            .unwrap();
        let r = &t.record;
        assert_eq!(
            (r.entry_price, r.stop_loss, r.take_profit),
            (94.912_027_75, Some(93.123_456_79), Some(97.987_654_32))
        );
        assert!(
            cl_app::portfolio::decimals(r.quantity) <= 8,
            "{}",
            r.quantity
        );
        assert!(r.quantity > 0.0);
    });
}
