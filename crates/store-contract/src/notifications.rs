//! The notification ports' contract (preferences, topics, per-symbol toggles, the ONE
//! eligibility query, delivery rows), written once over [`NotificationStores`] and run by every
//! adapter.
//!
//! Its own list ([`NotificationCase`], [`run_notification_case`],
//! [`notification_contract_tests!`]). The runner passes a round-trip counter (`None` for the
//! memory store): where it is given, the eligibility query and the due read must each be ONE
//! round trip on a seeded data set with every rule represented.

use cl_app::policy::Tier;
use cl_app::ports::notifications::{
    ChannelKind, DeliveryOutcome, DeliveryStatus, DirectionPref, EligibilityQuery, MinConfluence,
    NewChannelMessage, NewUserNotification, NotificationPrefs, NotificationStore, NotifyPriority,
    NtfyTopic, QuietHours, SymbolNotifyPref, DAY_MS,
};
use cl_app::ports::{
    ApplyOutcome, BillingStore, BillingSubscription, CandleStore, NewPattern, NewSignal, NewSymbol,
    NewUser, PatternId, PatternStore, Provider, SignalId, SignalStatus, SignalStore, StoreError,
    SymbolId, SymbolStore, TradeLevels, UserId, UserStore, WebhookWrite,
};
use cl_auth::email::{Email, Username};
use cl_auth::SecretString;
use cl_billing::plan::Plan;
use cl_billing::subscription::{SubscriptionSource, SubscriptionStatus};
use cl_domain::{Candle, Direction, PatternType, Timeframe, Zone};
use std::fmt::Debug;

/// Every port the notification contract needs (users, subscriptions, symbols and signals are
/// seeded through their own ports).
pub trait NotificationStores:
    NotificationStore
    + UserStore
    + BillingStore
    + SymbolStore
    + SignalStore
    + PatternStore
    + CandleStore
{
}
impl<
        T: NotificationStore
            + UserStore
            + BillingStore
            + SymbolStore
            + SignalStore
            + PatternStore
            + CandleStore,
    > NotificationStores for T
{
}

/// Reads the adapter's round-trip counter (`None`: the adapter has none).
pub type RoundTrips<'a> = &'a dyn Fn() -> Option<u64>;

macro_rules! notification_cases {
    ($($(#[$m:meta])* $variant:ident => $func:ident),+ $(,)?) => {
        /// One case of the notification contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum NotificationCase {
            $($(#[$m])* $variant,)+
        }

        impl NotificationCase {
            /// Every case.
            pub const ALL: &'static [NotificationCase] = &[$(NotificationCase::$variant),+];

            /// The case's function name.
            pub const fn name(self) -> &'static str {
                match self { $(NotificationCase::$variant => stringify!($func),)+ }
            }
        }

        /// Runs one notification case against a fresh store.
        pub async fn run_notification_case<S: NotificationStores>(
            case: NotificationCase,
            s: &S,
            round_trips: RoundTrips<'_>,
        ) {
            match case { $(NotificationCase::$variant => $func(s, round_trips).await,)+ }
        }
    };
}

notification_cases! {
    /// [`notification_prefs_round_trip`].
    PrefsRoundTrip => notification_prefs_round_trip,
    /// [`eligibility_is_one_query_and_follows_every_rule`].
    EligibilityIsOneQuery => eligibility_is_one_query_and_follows_every_rule,
    /// [`deliveries_are_queued_and_finished_once`].
    DeliveriesQueuedAndFinishedOnce => deliveries_are_queued_and_finished_once,
    /// [`channel_messages_are_queued_and_finished_once`].
    ChannelMessagesOnce => channel_messages_are_queued_and_finished_once,
    /// [`notify_contexts_are_one_query`].
    NotifyContextsOneQuery => notify_contexts_are_one_query,
}

/// Expands to one `#[test]` per [`NotificationCase`], each calling `$harness(case)`.
#[macro_export]
macro_rules! notification_contract_tests {
    ($harness:path) => {
        $crate::notification_contract_tests!(@each $harness;
            notifications_prefs_round_trip => PrefsRoundTrip,
            notifications_eligibility_is_one_query => EligibilityIsOneQuery,
            notifications_deliveries_queued_and_finished_once => DeliveriesQueuedAndFinishedOnce,
            notifications_channel_messages_once => ChannelMessagesOnce,
            notifications_contexts_one_query => NotifyContextsOneQuery,
        );

        #[test]
        fn notification_contract_lists_every_case() {
            assert_eq!(
                $crate::notifications::NotificationCase::ALL.len(),
                5,
                "notification_contract_tests! is missing a case"
            );
        }
    };
    (@each $harness:path; $($name:ident => $variant:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $harness($crate::notifications::NotificationCase::$variant);
            }
        )+
    };
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// 2023-11-14T22:13:20Z: minute of the day 1333.
const T0: i64 = 1_700_000_000_000;
const NOW: i64 = T0 + 60_000;
const SIGNAL_MINUTE: i64 = 22 * 60 + 13;

fn ok<T, E: Debug>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error {e:?}"),
    }
}

fn topic(n: u32) -> String {
    format!("cl_{n:016x}")
}

async fn user<S: NotificationStores>(s: &S, n: u32, verified: bool) -> UserId {
    let name = format!("user{n}");
    let new = NewUser {
        email: ok(Email::parse(&format!("{name}@example.com")), "email"),
        username: ok(Username::parse(&name), "username"),
        password_hash: SecretString::new(format!("$pbkdf2-sha256$i=10,l=32$salt{n}$hash")),
        ntfy_topic: topic(n),
        created_at: T0,
    };
    let id = ok(s.create_user(&new).await, "create_user").id;
    if verified {
        ok(s.set_verified(id, true).await, "set_verified");
    }
    id
}

async fn subscribe<S: NotificationStores>(
    s: &S,
    user: UserId,
    plan: Plan,
    status: SubscriptionStatus,
    expires_at: Option<i64>,
) {
    let bu = ok(cl_billing::UserId::new(user.0), "billing user");
    let write = WebhookWrite {
        provider: Provider::LemonSqueezy,
        event_key: format!("notify-seed-{}", user.0),
        received_at: T0,
        outcome: "seeded".to_owned(),
        payment_id: None,
        read_payment: None,
        payment: None,
        subscription_user: Some(bu),
        read_subscription: None,
        subscription: Some(BillingSubscription {
            user_id: bu,
            plan,
            status,
            starts_at: T0 - 40 * DAY_MS,
            expires_at,
            cancelled_at: (status == SubscriptionStatus::Cancelled).then_some(T0 - DAY_MS),
            provider: Some(SubscriptionSource::LemonSqueezy),
            external_subscription_id: None,
        }),
    };
    assert!(matches!(
        ok(s.apply_webhook(&write).await, "seed subscription"),
        ApplyOutcome::Applied { .. }
    ));
}

async fn symbol<S: NotificationStores>(s: &S, name: &str, notify: bool) -> SymbolId {
    let new = NewSymbol {
        symbol: name.to_owned(),
        exchange: "binance".to_owned(),
        is_active: true,
        notify_enabled: notify,
        fetch_start_ms: 1_704_067_200_000,
        created_at: T0,
    };
    ok(s.add_symbol(&new).await, "add_symbol").id
}

async fn signal<S: NotificationStores>(
    s: &S,
    symbol: SymbolId,
    direction: Direction,
    at: i64,
) -> SignalId {
    let new = NewSignal {
        symbol,
        direction,
        entry: 100.0,
        stop_loss: 98.0,
        tp1: 102.0,
        tp2: 104.0,
        tp3: 106.0,
        risk_reward: 3.0,
        confluence_score: 4,
        timeframes_aligned: vec![Timeframe::M15, Timeframe::H1, Timeframe::H4, Timeframe::D1],
        pattern_id: None,
        created_at: at,
    };
    ok(s.insert_signal(&new, 0).await, "insert_signal")
        .unwrap_or_else(|| panic!("signal not stored"))
}

fn prefs() -> NotificationPrefs {
    NotificationPrefs::default()
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// Defaults, replacement and read-back of preferences; topics are unique; per-symbol toggles
/// upsert; unknown users and symbols are typed `NotFound`.
pub async fn notification_prefs_round_trip<S: NotificationStores>(s: &S, _rt: RoundTrips<'_>) {
    let a = user(s, 1, true).await;
    let b = user(s, 2, true).await;
    let got = ok(s.notification_settings(a).await, "settings").unwrap_or_else(|| panic!("a"));
    assert_eq!(got.topic.as_str(), topic(1));
    assert_eq!(got.prefs, NotificationPrefs::default());
    assert_eq!(
        ok(s.notification_settings(UserId(9_000_000)).await, "ghost"),
        None
    );

    let custom = NotificationPrefs {
        enabled: false,
        directions: DirectionPref::Short,
        min_confluence: ok(MinConfluence::new(5), "min"),
        priority: ok(NotifyPriority::new(2), "prio"),
        quiet: Some(ok(QuietHours::new(1380, 360), "quiet")),
    };
    ok(s.set_notification_prefs(a, &custom).await, "set prefs");
    let got = ok(s.notification_settings(a).await, "settings").unwrap_or_else(|| panic!("a"));
    assert_eq!(got.prefs, custom);
    let other = ok(s.notification_settings(b).await, "b").unwrap_or_else(|| panic!("b"));
    assert_eq!(other.prefs, NotificationPrefs::default(), "b untouched");
    assert_eq!(
        s.set_notification_prefs(UserId(9_000_000), &custom).await,
        Err(StoreError::NotFound("user"))
    );

    let fresh = ok(NtfyTopic::parse("cl_00000000000000ff"), "topic");
    ok(s.set_topic(a, &fresh).await, "set topic");
    let got = ok(s.notification_settings(a).await, "settings").unwrap_or_else(|| panic!("a"));
    assert_eq!(got.topic, fresh);
    assert_eq!(
        s.set_topic(b, &fresh).await,
        Err(StoreError::Conflict("users.ntfy_topic"))
    );
    assert_eq!(
        s.set_topic(
            UserId(9_000_000),
            &ok(NtfyTopic::parse("cl_00000000000000fe"), "t")
        )
        .await,
        Err(StoreError::NotFound("user"))
    );

    let btc = symbol(s, "BTC/USDT", true).await;
    let eth = symbol(s, "ETH/USDT", true).await;
    assert!(ok(s.symbol_prefs(a).await, "none yet").is_empty());
    ok(s.set_symbol_notify(a, eth, false, T0).await, "eth off");
    ok(s.set_symbol_notify(a, btc, false, T0).await, "btc off");
    ok(
        s.set_symbol_notify(a, btc, true, T0 + 1).await,
        "btc on again",
    );
    assert_eq!(
        ok(s.symbol_prefs(a).await, "prefs"),
        vec![
            SymbolNotifyPref {
                symbol: btc,
                notify: true
            },
            SymbolNotifyPref {
                symbol: eth,
                notify: false
            },
        ]
    );
    assert!(ok(s.symbol_prefs(b).await, "b prefs").is_empty());
    assert_eq!(
        s.set_symbol_notify(a, SymbolId(9_000_000), true, T0).await,
        Err(StoreError::NotFound("symbol"))
    );
    assert_eq!(
        s.set_symbol_notify(UserId(9_000_000), btc, true, T0).await,
        Err(StoreError::NotFound("user"))
    );
}

/// The seeded population: one user per rule, each named by what it proves.
struct Population {
    premium: UserId,
    pro: UserId,
    free: UserId,
    admin: UserId,
    pro_in_grace: UserId,
    wrapped_quiet_elsewhere: UserId,
    free_at_cap: UserId,
    muted_eth: UserId,
    muted_btc: UserId,
}

async fn seed_population<S: NotificationStores>(s: &S, btc: SymbolId, eth: SymbolId) -> Population {
    use SubscriptionStatus as St;
    let premium = user(s, 10, true).await;
    subscribe(
        s,
        premium,
        Plan::Premium,
        St::Active,
        Some(NOW + 10 * DAY_MS),
    )
    .await;
    let pro = user(s, 11, true).await;
    subscribe(s, pro, Plan::Pro, St::Active, Some(NOW + 10 * DAY_MS)).await;
    let free = user(s, 12, true).await;
    let admin = user(s, 13, true).await;
    ok(s.set_admin(admin, true).await, "admin");
    let pro_in_grace = user(s, 14, true).await;
    subscribe(
        s,
        pro_in_grace,
        Plan::Pro,
        St::Expired,
        Some(NOW - 2 * DAY_MS),
    )
    .await;
    let wrapped_quiet_elsewhere = user(s, 15, true).await;
    subscribe(s, wrapped_quiet_elsewhere, Plan::Lifetime, St::Active, None).await;
    let p = NotificationPrefs {
        quiet: Some(ok(QuietHours::new(1380, 360), "quiet")),
        ..prefs()
    };
    ok(
        s.set_notification_prefs(wrapped_quiet_elsewhere, &p).await,
        "prefs",
    );
    let free_at_cap = user(s, 16, true).await;
    let muted_eth = user(s, 17, true).await;
    subscribe(s, muted_eth, Plan::Premium, St::Active, Some(NOW + DAY_MS)).await;
    ok(
        s.set_symbol_notify(muted_eth, eth, false, T0).await,
        "mute eth",
    );
    ok(
        s.set_symbol_notify(muted_eth, btc, true, T0).await,
        "btc stays on",
    );

    // Excluded whatever the signal:
    let unverified = user(s, 20, false).await;
    subscribe(s, unverified, Plan::Premium, St::Active, None).await;
    let inactive = user(s, 21, true).await;
    subscribe(s, inactive, Plan::Premium, St::Active, None).await;
    ok(s.set_active(inactive, false).await, "deactivate");
    let off = user(s, 22, true).await;
    subscribe(s, off, Plan::Premium, St::Active, None).await;
    let p = NotificationPrefs {
        enabled: false,
        ..prefs()
    };
    ok(s.set_notification_prefs(off, &p).await, "off");
    let shorts_only = user(s, 23, true).await;
    subscribe(s, shorts_only, Plan::Premium, St::Active, None).await;
    let p = NotificationPrefs {
        directions: DirectionPref::Short,
        ..prefs()
    };
    ok(s.set_notification_prefs(shorts_only, &p).await, "shorts");
    let picky = user(s, 24, true).await;
    subscribe(s, picky, Plan::Premium, St::Active, None).await;
    let p = NotificationPrefs {
        min_confluence: ok(MinConfluence::new(5), "min"),
        ..prefs()
    };
    ok(s.set_notification_prefs(picky, &p).await, "picky");
    let asleep = user(s, 25, true).await;
    subscribe(s, asleep, Plan::Premium, St::Active, None).await;
    // 22:00–23:00 UTC holds the signal minute 22:13.
    let p = NotificationPrefs {
        quiet: Some(ok(QuietHours::new(1320, 1380), "q")),
        ..prefs()
    };
    ok(s.set_notification_prefs(asleep, &p).await, "asleep");
    let asleep_wrapped = user(s, 26, true).await;
    subscribe(s, asleep_wrapped, Plan::Premium, St::Active, None).await;
    // 22:10–02:00 wraps midnight and holds 22:13.
    let p = NotificationPrefs {
        quiet: Some(ok(QuietHours::new(1330, 120), "q")),
        ..prefs()
    };
    ok(
        s.set_notification_prefs(asleep_wrapped, &p).await,
        "asleep wrapped",
    );
    let muted_btc = user(s, 27, true).await;
    subscribe(s, muted_btc, Plan::Premium, St::Active, None).await;
    ok(
        s.set_symbol_notify(muted_btc, btc, false, T0).await,
        "mute btc",
    );
    // Subscriptions that grant nothing premium: suspended, cancelled past expiry, expired past
    // the grace: these users are free (they get imbalance signals on BTC only).
    let suspended = user(s, 28, true).await;
    subscribe(
        s,
        suspended,
        Plan::Premium,
        St::Suspended,
        Some(NOW + DAY_MS),
    )
    .await;
    let cancelled_over = user(s, 29, true).await;
    subscribe(
        s,
        cancelled_over,
        Plan::Premium,
        St::Cancelled,
        Some(NOW - 1),
    )
    .await;
    let lapsed = user(s, 30, true).await;
    subscribe(
        s,
        lapsed,
        Plan::Premium,
        St::Expired,
        Some(NOW - 4 * DAY_MS),
    )
    .await;
    let _ = (
        unverified,
        inactive,
        off,
        shorts_only,
        picky,
        asleep,
        asleep_wrapped,
    );
    let _ = (suspended, cancelled_over, lapsed);
    Population {
        premium,
        pro,
        free,
        admin,
        pro_in_grace,
        wrapped_quiet_elsewhere,
        free_at_cap,
        muted_eth,
        muted_btc,
    }
}

fn ids(users: &[cl_app::ports::notifications::EligibleUser]) -> Vec<UserId> {
    users.iter().map(|u| u.user).collect()
}

/// The eligibility query of §5 on a population with one user per rule: active, verified,
/// subscription validity (grace, cancelled, suspended, lifetime, admin), tier coverage of the
/// symbol and pattern type, notifications on, symbol notify (global and per user), directions,
/// min confluence, quiet hours (plain and wrapping midnight), and the daily cap. ONE round trip.
pub async fn eligibility_is_one_query_and_follows_every_rule<S: NotificationStores>(
    s: &S,
    rt: RoundTrips<'_>,
) {
    let btc = symbol(s, "BTC/USDT", true).await;
    let eth = symbol(s, "ETH/USDT", true).await;
    let doge = symbol(s, "DOGE/USDT", true).await;
    let muted = symbol(s, "MUTE/USDT", false).await;
    let p = seed_population(s, btc, eth).await;

    // The free user at the cap: one successful send today.
    let earlier = signal(s, btc, Direction::Bearish, T0 - 3_600_000).await;
    let row = NewUserNotification {
        user: p.free_at_cap,
        signal: earlier,
        deliver_at: T0 - 3_600_000,
        created_at: T0 - 3_600_000,
    };
    assert_eq!(ok(s.queue_notifications(&[row]).await, "queue"), 1);
    let due = ok(s.due_notifications(NOW, 10).await, "due");
    assert_eq!(due.len(), 1);
    let sent = DeliveryOutcome::Sent { at: T0 - 3_000_000 };
    assert!(ok(s.finish_notification(due[0].id, &sent).await, "finish"));

    let long_btc = signal(s, btc, Direction::Bullish, T0).await;
    let _ = long_btc;
    let q = |sym: SymbolId, name: &str, ty: PatternType| {
        EligibilityQuery::for_signal(sym, name, Some(ty), Direction::Bullish, 4, T0, NOW)
    };
    assert_eq!(
        i64::from(q(btc, "BTC/USDT", PatternType::Imbalance).signal_minute),
        SIGNAL_MINUTE
    );

    let before = rt();
    let got = ok(
        s.eligible_users(&q(btc, "BTC/USDT", PatternType::OrderBlock))
            .await,
        "eligible OB",
    );
    if let (Some(a), Some(b)) = (before, rt()) {
        assert_eq!(b - a, 1, "the eligibility query is ONE round trip");
    }
    // Order blocks: paid tiers only (free users, and those whose subscription grants nothing,
    // are out).
    let mut want = vec![
        p.premium,
        p.pro,
        p.admin,
        p.pro_in_grace,
        p.wrapped_quiet_elsewhere,
        p.muted_eth,
    ];
    want.sort();
    assert_eq!(ids(&got), want, "order block on BTC");
    let tier_of = |u: UserId| got.iter().find(|e| e.user == u).map(|e| e.tier);
    assert_eq!(tier_of(p.premium), Some(Tier::Premium));
    assert_eq!(tier_of(p.pro), Some(Tier::Pro));
    assert_eq!(tier_of(p.admin), Some(Tier::Premium));
    assert_eq!(tier_of(p.pro_in_grace), Some(Tier::Pro));
    assert_eq!(tier_of(p.wrapped_quiet_elsewhere), Some(Tier::Premium));
    let premium_row = got
        .iter()
        .find(|e| e.user == p.premium)
        .unwrap_or_else(|| panic!("p"));
    assert_eq!(premium_row.topic.as_str(), topic(10));
    assert_eq!(premium_row.priority, NotifyPriority::default());
    assert_eq!(premium_row.sent_today, 0);

    // Imbalance on BTC: free users too, except the one at its cap (1/day) — and the users
    // whose subscription lapsed count as free.
    let got = ok(
        s.eligible_users(&q(btc, "BTC/USDT", PatternType::Imbalance))
            .await,
        "eligible FVG",
    );
    let got_ids = ids(&got);
    assert!(got_ids.contains(&p.free), "free user gets imbalance");
    assert!(
        !got_ids.contains(&p.free_at_cap),
        "free user at the cap does not"
    );
    assert_eq!(
        got_ids.len(),
        want.len() + 4,
        "free + suspended + cancelled + lapsed: {got_ids:?}"
    );
    assert!(got
        .iter()
        .filter(|e| !want.contains(&e.user))
        .all(|e| e.tier == Tier::Free));

    // ETH: pro covers it; free does not; the user who muted ETH is out.
    let got = ids(&ok(
        s.eligible_users(&q(eth, "ETH/USDT", PatternType::Imbalance))
            .await,
        "eligible ETH",
    ));
    let mut want_eth = vec![
        p.premium,
        p.pro,
        p.admin,
        p.pro_in_grace,
        p.wrapped_quiet_elsewhere,
        p.muted_btc,
    ];
    want_eth.sort();
    assert_eq!(got, want_eth, "ETH");

    // DOGE: premium only.
    let got = ids(&ok(
        s.eligible_users(&q(doge, "DOGE/USDT", PatternType::LiquiditySweep))
            .await,
        "eligible DOGE",
    ));
    let mut want_doge = vec![
        p.premium,
        p.admin,
        p.wrapped_quiet_elsewhere,
        p.muted_eth,
        p.muted_btc,
    ];
    want_doge.sort();
    assert_eq!(got, want_doge, "DOGE");

    // A symbol with notifications off globally: nobody.
    let got = ok(
        s.eligible_users(&q(muted, "MUTE/USDT", PatternType::Imbalance))
            .await,
        "muted symbol",
    );
    assert!(got.is_empty(), "muted symbol: {:?}", ids(&got));

    // Higher confluence and a short: the picky and short-only users join, others leave.
    let mut hi = q(doge, "DOGE/USDT", PatternType::Imbalance);
    hi.direction = Direction::Bearish;
    hi.confluence = 6;
    let got = ok(s.eligible_users(&hi).await, "short, confluence 6");
    assert_eq!(
        got.len(),
        want_doge.len() + 2,
        "shorts-only and picky join: {:?}",
        ids(&got)
    );

    // Quiet hours end exclusive: at 23:00 the 22:00–23:00 sleeper is awake, the 23:00–06:00
    // one asleep.
    let mut late = q(doge, "DOGE/USDT", PatternType::Imbalance);
    late.signal_minute = 23 * 60;
    let got = ids(&ok(s.eligible_users(&late).await, "23:00"));
    assert!(
        !got.contains(&p.wrapped_quiet_elsewhere),
        "23:00 is quiet for 23:00–06:00"
    );
    assert_eq!(
        got.len(),
        want_doge.len(),
        "sleeper in, wrapped sleeper out: {got:?}"
    );

    // Issue #7: every query above in ONE statement gives the same lists, in query order.
    let batch = vec![
        q(btc, "BTC/USDT", PatternType::OrderBlock),
        q(btc, "BTC/USDT", PatternType::Imbalance),
        q(eth, "ETH/USDT", PatternType::Imbalance),
        q(doge, "DOGE/USDT", PatternType::LiquiditySweep),
        q(muted, "MUTE/USDT", PatternType::Imbalance),
        hi.clone(),
        late.clone(),
    ];
    let mut one_by_one = Vec::new();
    for one in &batch {
        one_by_one.push(
            ok(s.eligible_users(one).await, "one")
                .iter()
                .map(|e| e.user)
                .collect::<Vec<_>>(),
        );
    }
    let before = rt();
    let many = ok(s.eligible_users_many(&batch).await, "many");
    if let (Some(a), Some(b)) = (before, rt()) {
        assert_eq!(
            b - a,
            1,
            "the eligibility of many signals is ONE round trip"
        );
    }
    assert_eq!(
        many.iter().map(|l| ids(l)).collect::<Vec<_>>(),
        one_by_one,
        "many = one by one"
    );
    assert_eq!(
        many[0],
        ok(s.eligible_users(&batch[0]).await, "first"),
        "same rows"
    );
    assert!(ok(s.eligible_users_many(&[]).await, "none").is_empty());
    let mut other_now = batch.clone();
    other_now[3].now += 1;
    assert!(matches!(
        s.eligible_users_many(&other_now).await,
        Err(StoreError::Invalid(_))
    ));

    assert!(matches!(
        s.eligible_users(&EligibilityQuery {
            now: i64::MAX,
            ..late
        })
        .await,
        Err(StoreError::Invalid(_))
    ));
}

/// Issue #7: the context of a message (signal, source pattern type and TF, symbol name, last
/// 1m close) for many signals in ONE statement; signals without pattern are left out.
pub async fn notify_contexts_are_one_query<S: NotificationStores>(s: &S, rt: RoundTrips<'_>) {
    let btc = symbol(s, "BTC/USDT", true).await;
    let eth = symbol(s, "ETH/USDT", true).await;
    let pattern = |sym: SymbolId, tf: Timeframe, ty: PatternType| NewPattern {
        symbol: sym,
        tf,
        pattern_type: ty,
        direction: Direction::Bullish,
        zone: ok(Zone::new(99.0, 100.0), "zone"),
        swept_level: None,
        detected_at: T0 - 3_600_000,
        expires_at: T0 + DAY_MS,
        levels: TradeLevels::default(),
        created_at: T0,
    };
    let pb = ok(
        s.insert_pattern(&pattern(btc, Timeframe::H1, PatternType::OrderBlock))
            .await,
        "pb",
    )
    .unwrap_or_else(|| panic!("pattern"));
    let pe = ok(
        s.insert_pattern(&pattern(eth, Timeframe::M15, PatternType::Imbalance))
            .await,
        "pe",
    )
    .unwrap_or_else(|| panic!("pattern"));
    let candle =
        |ts: i64, close: f64| ok(Candle::new(ts, close, close, close, close, 1.0), "candle");
    ok(
        s.upsert_candles(
            btc,
            Timeframe::M1,
            &[candle(T0 - 120_000, 101.5), candle(T0 - 60_000, 0.1 + 0.2)],
        )
        .await,
        "candles",
    );
    ok(
        s.upsert_candles(btc, Timeframe::M5, &[candle(T0, 7.0)])
            .await,
        "5m",
    );
    let with = |sym: SymbolId, p: Option<PatternId>, at: i64| NewSignal {
        symbol: sym,
        direction: Direction::Bullish,
        entry: 100.0,
        stop_loss: 98.0,
        tp1: 102.0,
        tp2: 104.0,
        tp3: 106.0,
        risk_reward: 3.0,
        confluence_score: 5,
        timeframes_aligned: vec![Timeframe::H1, Timeframe::H4],
        pattern_id: p,
        created_at: at,
    };
    let sb = ok(s.insert_signal(&with(btc, Some(pb), T0), 0).await, "sb")
        .unwrap_or_else(|| panic!("sb"));
    let se = ok(s.insert_signal(&with(eth, Some(pe), T0), 0).await, "se")
        .unwrap_or_else(|| panic!("se"));
    let bare = ok(s.insert_signal(&with(btc, None, T0 + 1), 0).await, "bare")
        .unwrap_or_else(|| panic!("bare"));

    let before = rt();
    let got = ok(
        s.notify_contexts(&[se, bare, sb, SignalId(9_999_999)])
            .await,
        "contexts",
    );
    if let (Some(a), Some(b)) = (before, rt()) {
        assert_eq!(b - a, 1, "the contexts are ONE round trip");
    }
    assert_eq!(got.len(), 2, "the bare and the unknown signal are left out");
    assert_eq!(
        got[0].signal,
        ok(s.signal(sb).await, "sb").unwrap_or_else(|| panic!("sb"))
    );
    assert_eq!(
        (
            got[0].symbol.as_str(),
            got[0].pattern_type,
            got[0].pattern_tf,
            got[0].last_close
        ),
        (
            "BTC/USDT",
            PatternType::OrderBlock,
            Timeframe::H1,
            Some(0.1 + 0.2)
        ),
        "the newest 1m close, not another TF's"
    );
    assert_eq!(
        (
            got[1].signal.id,
            got[1].symbol.as_str(),
            got[1].pattern_type,
            got[1].pattern_tf,
            got[1].last_close
        ),
        (se, "ETH/USDT", PatternType::Imbalance, Timeframe::M15, None),
    );
    assert!(ok(s.notify_contexts(&[]).await, "none").is_empty());
}

/// Rows are inserted once per (user, signal); due reads honour `deliver_at`; a claim is a
/// lease; finishing is `queued → final` once; the signal turns `notified` once; daily counts.
pub async fn deliveries_are_queued_and_finished_once<S: NotificationStores>(
    s: &S,
    rt: RoundTrips<'_>,
) {
    let btc = symbol(s, "BTC/USDT", true).await;
    let a = user(s, 1, true).await;
    let b = user(s, 2, true).await;
    let sig = signal(s, btc, Direction::Bullish, T0).await;
    let rows = [
        NewUserNotification {
            user: a,
            signal: sig,
            deliver_at: T0,
            created_at: T0,
        },
        NewUserNotification {
            user: b,
            signal: sig,
            deliver_at: T0 + 600_000,
            created_at: T0,
        },
    ];
    assert_eq!(ok(s.queue_notifications(&rows).await, "queue"), 2);
    assert_eq!(
        ok(s.queue_notifications(&rows).await, "queue again"),
        0,
        "never twice"
    );
    assert_eq!(ok(s.queue_notifications(&[]).await, "empty"), 0);
    let ghost = NewUserNotification {
        signal: SignalId(9_000_000),
        ..rows[0]
    };
    assert_eq!(
        s.queue_notifications(&[ghost]).await,
        Err(StoreError::NotFound("signal"))
    );
    let ghost = NewUserNotification {
        user: UserId(9_000_000),
        ..rows[0]
    };
    assert_eq!(
        s.queue_notifications(&[ghost]).await,
        Err(StoreError::NotFound("user"))
    );

    let before = rt();
    let due = ok(s.due_notifications(T0 + 1, 10).await, "due");
    if let (Some(x), Some(y)) = (before, rt()) {
        assert_eq!(y - x, 1, "the due read is ONE round trip");
    }
    assert_eq!(due.len(), 1, "only a is due before the delay");
    let d = &due[0];
    assert_eq!((d.user, d.signal), (a, sig));
    assert_eq!(d.signal_status, SignalStatus::Pending);
    assert_eq!(d.topic.as_str(), topic(1));
    assert_eq!(d.tier, Tier::Free);
    assert!(d.enabled);
    assert_eq!(d.sent_today, 0);
    assert_eq!(
        ok(s.due_notifications(T0 + 600_000, 10).await, "due later").len(),
        2
    );
    assert_eq!(
        ok(s.due_notifications(T0 + 600_000, 1).await, "limit").len(),
        1
    );
    assert!(matches!(
        s.due_notifications(T0, 0).await,
        Err(StoreError::Invalid(_))
    ));

    // Claim: a lease until T0 + 30 s; a second claim in the meantime gets nothing.
    let claimed = ok(
        s.claim_notifications(&[d.id], T0 + 1, T0 + 30_000).await,
        "claim",
    );
    assert_eq!(claimed, vec![d.id]);
    let again = ok(
        s.claim_notifications(&[d.id], T0 + 2, T0 + 30_000).await,
        "claim twice",
    );
    assert!(again.is_empty(), "a claimed row is not claimed twice");
    assert!(ok(s.due_notifications(T0 + 10_000, 10).await, "leased").is_empty());
    // The lease runs out (the sender died): due again.
    assert_eq!(
        ok(s.due_notifications(T0 + 30_000, 10).await, "lease over").len(),
        1
    );
    assert!(ok(s.claim_notifications(&[], T0, T0 + 1).await, "none").is_empty());

    assert!(ok(
        s.finish_notification(d.id, &DeliveryOutcome::Sent { at: T0 + 5 })
            .await,
        "sent"
    ));
    assert!(
        !ok(
            s.finish_notification(
                d.id,
                &DeliveryOutcome::Failed {
                    at: T0 + 6,
                    error: "x".into()
                }
            )
            .await,
            "again"
        ),
        "a finished row stays finished"
    );
    assert!(ok(s.mark_signal_notified(sig, T0 + 5).await, "notified"));
    assert!(!ok(
        s.mark_signal_notified(sig, T0 + 7).await,
        "notified twice"
    ));
    let stored = ok(s.signal(sig).await, "signal").unwrap_or_else(|| panic!("signal"));
    assert_eq!(
        (stored.status, stored.notified_at),
        (SignalStatus::Notified, Some(T0 + 5))
    );

    let b_row = ok(s.due_notifications(T0 + 600_000, 10).await, "b due");
    assert_eq!(b_row.len(), 1);
    assert_eq!(b_row[0].signal_status, SignalStatus::Notified);
    let failed = DeliveryOutcome::Failed {
        at: T0 + 600_001,
        error: "é".repeat(600),
    };
    assert!(ok(
        s.finish_notification(b_row[0].id, &failed).await,
        "failed"
    ));

    let rows = ok(s.notifications_of_signal(sig).await, "rows");
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].user, rows[0].status), (a, DeliveryStatus::Sent));
    assert_eq!(rows[0].sent_at, Some(T0 + 5));
    assert_eq!(rows[0].attempts, 1);
    assert_eq!((rows[1].user, rows[1].status), (b, DeliveryStatus::Failed));
    assert_eq!(rows[1].sent_at, None);
    assert_eq!(
        rows[1].error.as_deref().map(|e| e.chars().count()),
        Some(500)
    );

    assert_eq!(ok(s.sent_since(a, T0).await, "sent a"), 1);
    assert_eq!(ok(s.sent_since(a, T0 + 6).await, "after"), 0);
    assert_eq!(ok(s.sent_since(b, T0).await, "failed is not sent"), 0);
    let next = ok(s.due_notifications(T0 + DAY_MS, 10).await, "nothing queued");
    assert!(next.is_empty());

    // The due read reports the recipient's current sends today for the cap re-check.
    let sig2 = signal(s, btc, Direction::Bearish, T0 + 1_000).await;
    let row = NewUserNotification {
        user: a,
        signal: sig2,
        deliver_at: T0 + 1_000,
        created_at: T0,
    };
    ok(s.queue_notifications(&[row]).await, "queue 2");
    let due = ok(s.due_notifications(T0 + 2_000, 10).await, "due 2");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].sent_today, 1);
    let skip = DeliveryOutcome::Skipped {
        at: T0 + 2_000,
        reason: "daily cap".into(),
    };
    assert!(ok(s.finish_notification(due[0].id, &skip).await, "skip"));
}

/// Channel messages (test sends): queued, due from their creation time with the priority of
/// the topic's user (3 for a topic nobody owns), finished once; bad topics are refused.
pub async fn channel_messages_are_queued_and_finished_once<S: NotificationStores>(
    s: &S,
    rt: RoundTrips<'_>,
) {
    let owner = user(s, 1, true).await;
    let p = NotificationPrefs {
        priority: ok(NotifyPriority::new(5), "prio"),
        ..prefs()
    };
    ok(s.set_notification_prefs(owner, &p).await, "prefs");
    let new = |topic: &str, at: i64| NewChannelMessage {
        kind: ChannelKind::Test,
        topic: topic.to_owned(),
        title: "CryptoLens test ✓".to_owned(),
        created_at: at,
    };
    let a = ok(s.queue_channel(&new(&topic(1), T0)).await, "queue a");
    let b = ok(
        s.queue_channel(&new("cryptolens_all", T0 + 60_000)).await,
        "queue b",
    );
    assert!(a < b);
    let before = rt();
    let due = ok(s.due_channel(T0, 10).await, "due");
    if let (Some(x), Some(y)) = (before, rt()) {
        assert_eq!(y - x, 1, "the channel due read is ONE round trip");
    }
    assert_eq!(due.len(), 1);
    let m = &due[0];
    assert_eq!(
        (m.id, m.kind, m.topic.as_str()),
        (a, ChannelKind::Test, topic(1).as_str())
    );
    assert_eq!((m.title.as_str(), m.created_at), ("CryptoLens test ✓", T0));
    assert_eq!(m.priority.get(), 5, "the owner's priority");
    let both = ok(s.due_channel(T0 + 60_000, 10).await, "both");
    assert_eq!(both.len(), 2);
    assert_eq!(both[1].priority.get(), 3, "no owner");
    assert_eq!(ok(s.due_channel(T0 + 60_000, 1).await, "limit").len(), 1);
    assert!(matches!(
        s.due_channel(T0, 0).await,
        Err(StoreError::Invalid(_))
    ));

    assert!(ok(
        s.finish_channel(a, &DeliveryOutcome::Sent { at: T0 + 5 })
            .await,
        "sent"
    ));
    assert!(!ok(
        s.finish_channel(a, &DeliveryOutcome::Sent { at: T0 + 6 })
            .await,
        "twice"
    ));
    let failed = DeliveryOutcome::Failed {
        at: T0 + 60_001,
        error: "500".into(),
    };
    assert!(ok(s.finish_channel(b, &failed).await, "failed"));
    assert!(ok(s.due_channel(T0 + 600_000, 10).await, "none left").is_empty());

    assert!(matches!(
        s.queue_channel(&new("bad topic!", T0)).await,
        Err(StoreError::Invalid(_))
    ));
}
