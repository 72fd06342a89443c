//! Host tests of the notification use case (`cl_app::notify`) on the memory store with a
//! recording sender: the fan-out honours eligibility, the free tier's delay and the daily cap;
//! nothing is sent twice; failures are recorded and an unavailable channel defers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cl_app::notify::{
    NotificationSender, Notifier, NotifyConfig, OutgoingMessage, SendFailure, SignalNotifier,
};
use cl_app::ports::notifications::{DeliveryStatus, NotificationStore};
use cl_app::ports::{
    ApplyOutcome, BillingStore, BillingSubscription, CandleStore, NewPattern, NewSignal, NewSymbol,
    NewUser, PatternStore, Provider, SignalId, SignalStatus, SignalStore, SymbolId, SymbolStore,
    TradeLevels, UserId, UserStore, WebhookWrite,
};
use cl_auth::email::{Email, Username};
use cl_auth::SecretString;
use cl_billing::plan::Plan;
use cl_billing::subscription::{SubscriptionSource, SubscriptionStatus};
use cl_domain::{Candle, Direction, PatternType, Timeframe, Zone};
use cl_store_memory::MemoryStore;
use futures_executor::block_on;
use std::cell::{Cell, RefCell};

/// 2023-11-14T22:13:20Z.
const T0: i64 = 1_700_000_000_000;
const MIN: i64 = 60_000;

#[derive(Default)]
struct Recorder {
    sent: RefCell<Vec<OutgoingMessage>>,
    /// 0 = accept, 1 = fail, 2 = unavailable.
    mode: Cell<u8>,
}

impl NotificationSender for Recorder {
    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendFailure> {
        match self.mode.get() {
            1 => Err(SendFailure::Failed(
                "upstream answered 500 (after 3 tries)".into(),
            )),
            2 => Err(SendFailure::Unavailable("breaker open".into())),
            _ => {
                self.sent.borrow_mut().push(message.clone());
                Ok(())
            }
        }
    }
}

impl Recorder {
    fn topics(&self) -> Vec<String> {
        let mut t: Vec<String> = self.sent.borrow().iter().map(|m| m.topic.clone()).collect();
        t.sort();
        t
    }
}

fn topic(n: u32) -> String {
    format!("cl_{n:016x}")
}

async fn user(s: &MemoryStore, n: u32, verified: bool, plan: Option<Plan>) -> UserId {
    let name = format!("user{n}");
    let id = s
        .create_user(&NewUser {
            email: Email::parse(&format!("{name}@example.com")).unwrap(),
            username: Username::parse(&name).unwrap(),
            password_hash: SecretString::new(String::from("$pbkdf2-sha256$i=10,l=32$salt$hash")),
            ntfy_topic: topic(n),
            created_at: T0,
        })
        .await
        .unwrap()
        .id;
    if verified {
        s.set_verified(id, true).await.unwrap();
    }
    if let Some(plan) = plan {
        let bu = cl_billing::UserId::new(id.0).unwrap();
        let w = WebhookWrite {
            provider: Provider::LemonSqueezy,
            event_key: format!("seed-{n}"),
            received_at: T0,
            outcome: "seeded".into(),
            payment_id: None,
            read_payment: None,
            payment: None,
            subscription_user: Some(bu),
            read_subscription: None,
            subscription: Some(BillingSubscription {
                user_id: bu,
                plan,
                status: SubscriptionStatus::Active,
                starts_at: T0 - 86_400_000,
                expires_at: Some(T0 + 30 * 86_400_000),
                cancelled_at: None,
                provider: Some(SubscriptionSource::LemonSqueezy),
                external_subscription_id: None,
            }),
        };
        assert!(matches!(
            s.apply_webhook(&w).await.unwrap(),
            ApplyOutcome::Applied { .. }
        ));
    }
    id
}

struct World {
    store: MemoryStore,
    btc: SymbolId,
}

fn levels(entry: f64) -> TradeLevels {
    TradeLevels {
        entry,
        stop_loss: entry * 0.99,
        tp1: entry * 1.01,
        tp2: entry * 1.02,
        tp3: entry * 1.03,
        risk: entry * 0.01,
        rr1: 1.0,
        rr2: 2.0,
        rr3: 3.0,
    }
}

async fn world() -> World {
    let store = MemoryStore::new();
    let btc = store
        .add_symbol(&NewSymbol {
            symbol: "BTC/USDT".into(),
            exchange: "binance".into(),
            is_active: true,
            notify_enabled: true,
            fetch_start_ms: 0,
            created_at: T0,
        })
        .await
        .unwrap()
        .id;
    let candle = Candle::new(T0 - MIN, 36_400.0, 36_600.0, 36_300.0, 36_500.0, 1.0).unwrap();
    store
        .upsert_candles(btc, Timeframe::M1, &[candle])
        .await
        .unwrap();
    World { store, btc }
}

async fn signal(w: &World, ty: PatternType, direction: Direction, at: i64) -> SignalId {
    let pattern = w
        .store
        .insert_pattern(&NewPattern {
            symbol: w.btc,
            tf: Timeframe::H1,
            pattern_type: ty,
            direction,
            zone: Zone::new(35_900.0, 36_000.0).unwrap(),
            swept_level: None,
            detected_at: at - 3_600_000,
            expires_at: at + 86_400_000,
            levels: levels(36_000.0),
            created_at: at,
        })
        .await
        .unwrap()
        .unwrap();
    w.store
        .insert_signal(
            &NewSignal {
                symbol: w.btc,
                direction,
                entry: 36_000.0,
                stop_loss: 35_640.0,
                tp1: 36_360.0,
                tp2: 36_720.0,
                tp3: 37_080.0,
                risk_reward: 3.0,
                confluence_score: 4,
                timeframes_aligned: vec![
                    Timeframe::M15,
                    Timeframe::H1,
                    Timeframe::H4,
                    Timeframe::D1,
                ],
                pattern_id: Some(pattern),
                created_at: at,
            },
            0,
        )
        .await
        .unwrap()
        .unwrap()
}

#[test]
fn eligible_users_get_one_formatted_message_and_free_waits_ten_minutes() {
    block_on(async {
        let w = world().await;
        let premium = user(&w.store, 1, true, Some(Plan::Premium)).await;
        let _pro = user(&w.store, 2, true, Some(Plan::Pro)).await;
        let free = user(&w.store, 3, true, None).await;
        let _unverified = user(&w.store, 4, false, Some(Plan::Premium)).await;
        let sig = signal(&w, PatternType::Imbalance, Direction::Bullish, T0).await;
        let rec = Recorder::default();
        let n = Notifier::new(&w.store, &rec, NotifyConfig::default());

        let report = n.notify(&[sig], T0).await;
        assert_eq!(report.queued, 3, "{report:?}");
        assert_eq!(report.sent, 2);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(rec.topics(), [topic(1), topic(2)]);
        let m = rec.sent.borrow()[0].clone();
        assert_eq!(m.title, "🟢 LONG BTC/USDT FVG 1h");
        assert_eq!(m.tags, ["long", "BTC", "FVG"]);
        assert_eq!(m.priority, 4);
        assert_eq!(
            m.body,
            "Time: 14/11/2023 22:13 UTC\n\
             Price: 36,500.00\n\
             Entry: 36,000.00 (-1.37% vs price)\n\
             Stop loss: 35,640.00\n\
             TP1: 36,360.00 (+1.00%)\n\
             TP2: 36,720.00 (+2.00%)\n\
             TP3: 37,080.00 (+3.00%)\n\
             R:R 1:3.00\n\
             Confluence: 4/7 (15m, 1h, 4h, 1d)"
        );
        let stored = w.store.signal(sig).await.unwrap().unwrap();
        assert_eq!(stored.status, SignalStatus::Notified);
        assert_eq!(stored.notified_at, Some(T0));

        // A double trigger (same signal again, same minute): nothing new.
        let again = n.notify(&[sig], T0).await;
        assert_eq!((again.queued, again.sent), (0, 0));
        // Nine minutes later the free user still waits; at ten the message goes out, once.
        assert_eq!(n.notify(&[], T0 + 9 * MIN).await.sent, 0);
        let later = n.notify(&[], T0 + 10 * MIN).await;
        assert_eq!(later.sent, 1);
        assert_eq!(n.notify(&[], T0 + 11 * MIN).await.sent, 0);
        assert_eq!(rec.sent.borrow().len(), 3);
        assert_eq!(rec.sent.borrow()[2].topic, topic(3));
        let rows = w.store.notifications_of_signal(sig).await.unwrap();
        assert!(rows.iter().all(|r| r.status == DeliveryStatus::Sent));
        assert_eq!(
            rows.iter().find(|r| r.user == free).unwrap().sent_at,
            Some(T0 + 10 * MIN)
        );
        assert_eq!(w.store.sent_since(premium, T0).await.unwrap(), 1);
    });
}

#[test]
fn tier_rules_and_the_daily_cap_apply() {
    block_on(async {
        let w = world().await;
        let _premium = user(&w.store, 1, true, Some(Plan::Premium)).await;
        let free = user(&w.store, 3, true, None).await;
        let rec = Recorder::default();
        let n = Notifier::new(&w.store, &rec, NotifyConfig::default());
        // Order blocks are not for free users.
        let ob = signal(&w, PatternType::OrderBlock, Direction::Bullish, T0).await;
        let r = n.notify(&[ob], T0 + 20 * MIN).await;
        assert_eq!((r.queued, r.sent), (1, 1));
        assert_eq!(rec.topics(), [topic(1)]);
        // The free user's one message of the day...
        let a = signal(&w, PatternType::Imbalance, Direction::Bearish, T0 + MIN).await;
        n.notify(&[a], T0 + MIN).await;
        n.notify(&[], T0 + 11 * MIN).await;
        assert_eq!(w.store.sent_since(free, T0).await.unwrap(), 1);
        // ...then the cap: not even queued.
        let b = signal(
            &w,
            PatternType::Imbalance,
            Direction::Bullish,
            T0 + 12 * MIN,
        )
        .await;
        n.notify(&[b], T0 + 12 * MIN).await;
        let rows = w.store.notifications_of_signal(b).await.unwrap();
        assert!(
            rows.iter().all(|r| r.user != free),
            "free user at cap queued: {rows:?}"
        );
    });
}

#[test]
fn the_cap_is_rechecked_at_send_time() {
    block_on(async {
        let w = world().await;
        let free = user(&w.store, 3, true, None).await;
        let rec = Recorder::default();
        let n = Notifier::new(&w.store, &rec, NotifyConfig::default());
        // Two signals a minute apart: both queued for the free user (0 sent so far)...
        let a = signal(&w, PatternType::Imbalance, Direction::Bullish, T0).await;
        let b = signal(&w, PatternType::Imbalance, Direction::Bearish, T0 + MIN).await;
        let r = n.notify(&[a, b], T0 + MIN).await;
        assert_eq!(r.queued, 2);
        // ...but only one is sent: the second is skipped by the re-check.
        let r = n.notify(&[], T0 + 11 * MIN).await;
        assert_eq!((r.sent, r.skipped), (1, 1), "{r:?}");
        let rows = w.store.notifications_of_signal(b).await.unwrap();
        assert_eq!(rows[0].status, DeliveryStatus::Skipped);
        assert_eq!(rows[0].error.as_deref(), Some("daily cap reached"));
        assert_eq!(w.store.sent_since(free, T0).await.unwrap(), 1);
    });
}

#[test]
fn failures_are_recorded_and_an_unavailable_channel_defers() {
    block_on(async {
        let w = world().await;
        user(&w.store, 1, true, Some(Plan::Premium)).await;
        user(&w.store, 2, true, Some(Plan::Pro)).await;
        let rec = Recorder::default();
        let n = Notifier::new(&w.store, &rec, NotifyConfig::default());
        rec.mode.set(1);
        let a = signal(&w, PatternType::Imbalance, Direction::Bullish, T0).await;
        let r = n.notify(&[a], T0).await;
        assert_eq!((r.queued, r.failed, r.sent), (2, 2, 0));
        let rows = w.store.notifications_of_signal(a).await.unwrap();
        assert!(rows.iter().all(|r| r.status == DeliveryStatus::Failed));
        assert!(rows[0].error.as_deref().unwrap().contains("500"));
        assert_eq!(
            w.store.signal(a).await.unwrap().unwrap().status,
            SignalStatus::Pending
        );

        // The breaker is open: the first row is deferred and the batch stops; both stay queued.
        rec.mode.set(2);
        let b = signal(&w, PatternType::Imbalance, Direction::Bearish, T0 + MIN).await;
        let r = n.notify(&[b], T0 + MIN).await;
        assert_eq!(
            (r.queued, r.deferred, r.sent, r.failed),
            (2, 2, 0, 0),
            "{r:?}"
        );
        assert!(!r.errors.is_empty());
        let rows = w.store.notifications_of_signal(b).await.unwrap();
        assert!(rows.iter().all(|r| r.status == DeliveryStatus::Queued));
        // Healthy again: sent once the claim lease (5 min) has passed.
        rec.mode.set(0);
        assert_eq!(n.notify(&[], T0 + 2 * MIN).await.sent, 0);
        assert_eq!(n.notify(&[], T0 + 6 * MIN).await.sent, 2);
        assert_eq!(n.notify(&[], T0 + 7 * MIN).await.sent, 0);
    });
}

#[test]
fn the_global_topic_gets_one_recorded_broadcast_per_signal() {
    use cl_app::notify_admin::{send_broadcasts, BroadcastBudget};
    use cl_app::ports::broadcast_delivery::{BroadcastDeliveryStore, BroadcastState};
    block_on(async {
        let w = world().await;
        let rec = Recorder::default();
        let config = NotifyConfig {
            global_topic: Some("cryptolens_all".into()),
            ..NotifyConfig::default()
        };
        let n = Notifier::new(&w.store, &rec, config);
        let a = signal(&w, PatternType::LiquiditySweep, Direction::Bearish, T0).await;
        let r = n.notify(&[a], T0).await;
        assert_eq!((r.global_queued, r.queued), (1, 0));
        assert!(rec.sent.borrow().is_empty(), "queued, not sent inline");
        assert_eq!(
            n.notify(&[a], T0 + MIN).await.global_queued,
            0,
            "once per signal"
        );

        // Sent by the dispatch step with the global priority; a failing ntfy is retried on
        // later ticks and fails for good after 3 tries, recorded on the row.
        rec.mode.set(1);
        for k in 1..=3 {
            let d = send_broadcasts(&w.store, &rec, BroadcastBudget::default(), T0 + k * MIN).await;
            assert_eq!(d.failed, u32::from(k == 3), "try {k}");
        }
        let row = &w.store.broadcast_summaries(10).await.unwrap()[0];
        assert_eq!(
            (row.state, row.recipients, row.sent, row.failed),
            (BroadcastState::Done, 1, 0, 1)
        );
        assert_eq!(row.title, "🔴 SHORT BTC/USDT LS 1h");

        // Another signal goes out at the first try.
        rec.mode.set(0);
        let b = signal(&w, PatternType::Imbalance, Direction::Bullish, T0 + 5 * MIN).await;
        assert_eq!(n.notify(&[b], T0 + 5 * MIN).await.global_queued, 1);
        let d = send_broadcasts(&w.store, &rec, BroadcastBudget::default(), T0 + 6 * MIN).await;
        assert_eq!(d.sent, 1);
        let m = rec.sent.borrow()[0].clone();
        assert_eq!(m.topic, "cryptolens_all");
        assert_eq!(m.title, "🟢 LONG BTC/USDT FVG 1h");
        assert_eq!(m.priority, 3);
    });
}

#[test]
fn the_empty_notifier_does_nothing() {
    block_on(async {
        let r = ().notify(&[SignalId(1)], T0).await;
        assert_eq!(r, cl_app::notify::NotifyReport::default());
    });
}

#[test]
fn a_test_message_is_queued_and_sent_by_the_next_run() {
    block_on(async {
        let w = world().await;
        let verified = user(&w.store, 1, true, None).await;
        let unverified = user(&w.store, 2, false, None).await;
        let rec = Recorder::default();
        let n = Notifier::new(&w.store, &rec, NotifyConfig::default());
        assert_eq!(
            cl_app::notify::queue_test_message(&w.store, unverified, false, T0).await,
            Err(cl_app::notify::TestSendError::Unverified)
        );
        let topic_sent = cl_app::notify::queue_test_message(&w.store, verified, true, T0)
            .await
            .unwrap();
        assert_eq!(topic_sent, topic(1));
        assert!(
            rec.sent.borrow().is_empty(),
            "queued, not sent by the request"
        );
        let r = n.notify(&[], T0 + MIN).await;
        assert_eq!(r.channel_sent, 1, "{r:?}");
        let m = rec.sent.borrow()[0].clone();
        assert_eq!((m.topic.as_str(), m.priority), (topic(1).as_str(), 4));
        assert_eq!(m.title, "🔔 CryptoLens Edge test");
        assert!(m.body.contains("14/11/2023 22:13 UTC"), "{}", m.body);
        assert_eq!(
            n.notify(&[], T0 + 2 * MIN).await.channel_sent,
            0,
            "sent once"
        );
    });
}
