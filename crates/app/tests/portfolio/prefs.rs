//! The trading preferences where they matter: the prefilled quantity of a trade from a pattern
//! or a signal follows the user's risk per trade (1 % when unset), and a signal's TP3 / R:R
//! follow the user's default R:R (pro+ only; one store read, none without the tier).

use cl_app::policy::Tier;
use cl_app::portfolio::PortfolioService;
use cl_app::ports::optimization::{DefaultRr, RiskPerTradePct, TradingPrefs, TradingPrefsStore};
use cl_app::ports::{NewSignal, SignalId, SignalStore, SymbolId, UserId};
use cl_app::trading_prefs::{effective_prefs, EffectivePrefs};
use cl_domain::{Direction, Timeframe};
use cl_store_memory::MemoryStore;

use super::{access, block_on, pattern, setup, symbol, user, NOW};

/// A short signal: entry 200, SL 204 (R = 4), global R:R 3.
async fn signal(s: &MemoryStore, sym: SymbolId) -> SignalId {
    s.insert_signal(
        &NewSignal {
            symbol: sym,
            direction: Direction::Bearish,
            entry: 200.0,
            stop_loss: 204.0,
            tp1: 196.0,
            tp2: 192.0,
            tp3: 188.0,
            risk_reward: 3.0,
            confluence_score: 4,
            timeframes_aligned: vec![Timeframe::H1, Timeframe::H4],
            pattern_id: None,
            created_at: NOW,
        },
        0,
    )
    .await
    .unwrap()
    .unwrap()
}

async fn set_prefs(s: &MemoryStore, u: UserId, risk: Option<f64>, rr: Option<f64>) {
    let prefs = TradingPrefs {
        risk_per_trade_pct: risk.map(|r| RiskPerTradePct::new(r).unwrap()),
        default_rr: rr.map(|r| DefaultRr::new(r).unwrap()),
    };
    s.set_trading_prefs(u, &prefs).await.unwrap();
}

#[test]
fn prefill_from_a_pattern_uses_the_users_risk_per_trade() {
    block_on(async {
        let s = MemoryStore::new();
        let (alice, p) = setup(&s).await;
        let pat = pattern(&s, symbol(&s).await).await;
        let svc = PortfolioService::new(&s);
        let pro = access(Tier::Pro);
        // Unset: 1 % of 10 000 over R = 5.
        let t = svc
            .create_from_pattern(alice, &pro, p, pat, NOW)
            .await
            .unwrap();
        assert_eq!(t.record.quantity, 20.0);
        // 2 %: twice the quantity; the R:R preference leaves TP at the pattern's TP1.
        set_prefs(&s, alice, Some(2.0), Some(5.0)).await;
        let t = svc
            .create_from_pattern(alice, &pro, p, pat, NOW)
            .await
            .unwrap();
        assert_eq!(t.record.quantity, 40.0, "10 000 × 2 % / 5");
        assert_eq!(t.record.take_profit, Some(110.0));
        assert_eq!(t.record.risk_amount, Some(200.0));
        // Back to the default.
        set_prefs(&s, alice, None, None).await;
        let t = svc
            .create_from_pattern(alice, &pro, p, pat, NOW)
            .await
            .unwrap();
        assert_eq!(t.record.quantity, 20.0);
    });
}

#[test]
fn prefill_from_a_signal_uses_the_users_risk_per_trade() {
    block_on(async {
        let s = MemoryStore::new();
        let (alice, p) = setup(&s).await;
        let bob = user(&s, "bob").await;
        let sig = signal(&s, symbol(&s).await).await;
        set_prefs(&s, alice, Some(0.5), None).await;
        // Bob's preference is not Alice's.
        set_prefs(&s, bob, Some(10.0), None).await;
        let t = PortfolioService::new(&s)
            .create_from_signal(alice, &access(Tier::Premium), p, sig, NOW)
            .await
            .unwrap();
        assert_eq!(t.record.quantity, 12.5, "10 000 × 0.5 % / 4");
        assert_eq!(
            (
                t.record.entry_price,
                t.record.stop_loss,
                t.record.take_profit
            ),
            (200.0, Some(204.0), Some(196.0))
        );
    });
}

#[test]
fn a_signal_shows_the_users_default_rr_from_one_read() {
    block_on(async {
        let s = MemoryStore::new();
        let alice = user(&s, "alice").await;
        let id = signal(&s, symbol(&s).await).await;
        let stored = s.signal(id).await.unwrap().unwrap();
        set_prefs(&s, alice, None, Some(4.5)).await;

        let pro = effective_prefs(&s, Some(alice), &access(Tier::Pro))
            .await
            .unwrap();
        let seen = pro.signal(&stored);
        assert_eq!((seen.tp3, seen.risk_reward), (182.0, 4.5), "200 − 4.5 × 4");
        assert_eq!(
            (seen.entry, seen.stop_loss, seen.tp1, seen.tp2),
            (200.0, 204.0, 196.0, 192.0)
        );
        // Below pro (no risk settings), anonymous, or unset: the stored (global) levels.
        for prefs in [
            effective_prefs(&s, Some(alice), &access(Tier::Free))
                .await
                .unwrap(),
            effective_prefs(&s, None, &access(Tier::Premium))
                .await
                .unwrap(),
        ] {
            assert_eq!(prefs, EffectivePrefs::DEFAULTS);
            assert_eq!(prefs.signal(&stored), stored);
        }
        set_prefs(&s, alice, None, None).await;
        let unset = effective_prefs(&s, Some(alice), &access(Tier::Pro))
            .await
            .unwrap();
        assert_eq!(unset.signal(&stored), stored);
    });
}
