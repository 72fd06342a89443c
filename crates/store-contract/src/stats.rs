//! The stats port's contract ([`StatsStore`]): grouped analytics counts, the admin counts,
//! the subscription list (filters, keyset pages newest first, owner joined) and the settings
//! write that lands with its audit row. Its own list ([`StatsCase`], [`run_stats_case`],
//! [`stats_contract_tests!`]).

use crate::fixtures::ok;
use cl_app::jobs::maintenance::{MaintenanceStore, StatsEntry};
use cl_app::ports::admin::{AdminStore, AuditFilter, NewAuditEntry};
use cl_app::ports::stats::{StatsStore, SubscriptionFilter};
use cl_app::ports::{
    BillingStore, BillingSubscription, PageRequest, PatternStore, SignalStatus, SignalStore,
    StatusUpdate, StoreError, SymbolId, SymbolStore, UserId, UserStore,
};
use cl_billing::plan::Plan;
use cl_billing::subscription::{SubscriptionSource, SubscriptionStatus};
use cl_domain::{Direction, PatternStatus, PatternType, Timeframe};
use std::fmt::Debug;

/// Every port the stats contract needs.
pub trait StatsStores:
    StatsStore
    + MaintenanceStore
    + AdminStore
    + UserStore
    + SymbolStore
    + PatternStore
    + SignalStore
    + BillingStore
{
}
impl<
        T: StatsStore
            + MaintenanceStore
            + AdminStore
            + UserStore
            + SymbolStore
            + PatternStore
            + SignalStore
            + BillingStore,
    > StatsStores for T
{
}

/// One case of the stats contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsCase {
    /// [`analytics_counts_group_patterns_and_signals`].
    AnalyticsCounts,
    /// [`admin_counts_and_subscription_pages`].
    AdminSubscriptions,
    /// [`settings_land_with_their_audit_row`].
    Settings,
}

impl StatsCase {
    /// Every case.
    pub const ALL: &'static [StatsCase] = &[
        Self::AnalyticsCounts,
        Self::AdminSubscriptions,
        Self::Settings,
    ];

    /// The case's function name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::AnalyticsCounts => "analytics_counts_group_patterns_and_signals",
            Self::AdminSubscriptions => "admin_counts_and_subscription_pages",
            Self::Settings => "settings_land_with_their_audit_row",
        }
    }
}

/// Runs one case against a fresh store.
pub async fn run_stats_case<S: StatsStores>(case: StatsCase, s: &S) {
    match case {
        StatsCase::AnalyticsCounts => analytics_counts_group_patterns_and_signals(s).await,
        StatsCase::AdminSubscriptions => admin_counts_and_subscription_pages(s).await,
        StatsCase::Settings => settings_land_with_their_audit_row(s).await,
    }
}

/// Expands to one `#[test]` per [`StatsCase`], each calling `$harness(case)`.
#[macro_export]
macro_rules! stats_contract_tests {
    ($harness:path) => {
        #[test]
        fn stats_analytics_counts_group_patterns_and_signals() {
            $harness($crate::stats::StatsCase::AnalyticsCounts);
        }
        #[test]
        fn stats_admin_counts_and_subscription_pages() {
            $harness($crate::stats::StatsCase::AdminSubscriptions);
        }
        #[test]
        fn stats_settings_land_with_their_audit_row() {
            $harness($crate::stats::StatsCase::Settings);
        }
    };
}

const T0: i64 = 1_700_000_000_000;
const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;

async fn user<S: StatsStores>(s: &S, n: &str, at: i64) -> UserId {
    crate::fixtures::user(s, n, at).await
}

fn audit(actor: UserId, action: &str, at: i64) -> NewAuditEntry {
    NewAuditEntry {
        actor: Some(actor),
        action: action.into(),
        target: "settings:global".into(),
        details: Some("{\"changed\":[\"signal.min_confluence\"]}".into()),
        ip: None,
        request_id: Some("req-stats-1".into()),
        at,
    }
}

/// Counts come grouped by (symbol, tf, type, direction, status) and (symbol, status).
pub async fn analytics_counts_group_patterns_and_signals<S: StatsStores>(s: &S) {
    let empty = ok(s.analytics_counts().await, "empty");
    assert!(empty.patterns.is_empty() && empty.signals.is_empty());
    let btc = crate::symbol(s, "BTC/USDT").await;
    let ids = ok(
        s.insert_patterns(&[
            crate::pattern(
                btc,
                Timeframe::H1,
                PatternType::Imbalance,
                Direction::Bullish,
                T0,
            ),
            crate::pattern(
                btc,
                Timeframe::H1,
                PatternType::Imbalance,
                Direction::Bullish,
                T0 + MIN,
            ),
            crate::pattern(
                btc,
                Timeframe::H1,
                PatternType::Imbalance,
                Direction::Bullish,
                T0 + 2 * MIN,
            ),
            crate::pattern(
                btc,
                Timeframe::H4,
                PatternType::OrderBlock,
                Direction::Bearish,
                T0,
            ),
        ])
        .await,
        "patterns",
    );
    let first = ids[0].expect("new");
    ok(
        s.update_statuses(&[StatusUpdate {
            id: first,
            status: PatternStatus::Filled,
            fill_pct: 100.0,
            filled_at: Some(T0 + 5 * MIN),
        }])
        .await,
        "fill",
    );
    ok(
        s.insert_signal(&crate::signal(btc, Direction::Bullish, T0), 0)
            .await,
        "signal 1",
    );
    ok(
        s.insert_signal(&crate::signal(btc, Direction::Bearish, T0 + MIN), 0)
            .await,
        "signal 2",
    );

    let c = ok(s.analytics_counts().await, "counts");
    let mut p: Vec<(Timeframe, PatternType, Direction, PatternStatus, u64)> = c
        .patterns
        .iter()
        .map(|r| {
            assert_eq!(r.symbol, btc);
            (r.tf, r.pattern_type, r.direction, r.status, r.count)
        })
        .collect();
    p.sort_by_key(|r| (r.0, r.1.as_str(), r.3.as_str()));
    assert_eq!(
        p,
        vec![
            (
                Timeframe::H1,
                PatternType::Imbalance,
                Direction::Bullish,
                PatternStatus::Active,
                2
            ),
            (
                Timeframe::H1,
                PatternType::Imbalance,
                Direction::Bullish,
                PatternStatus::Filled,
                1
            ),
            (
                Timeframe::H4,
                PatternType::OrderBlock,
                Direction::Bearish,
                PatternStatus::Active,
                1
            ),
        ]
    );
    let sig: Vec<(SymbolId, SignalStatus, u64)> = c
        .signals
        .iter()
        .map(|r| (r.symbol, r.status, r.count))
        .collect();
    assert_eq!(sig, vec![(btc, SignalStatus::Pending, 2)]);

    // The cache read is by key.
    let entry = StatsEntry {
        key: "analytics:symbol:BTC/USDT".into(),
        data: "{\"scope\":\"BTC/USDT\"}".into(),
        computed_at: T0,
    };
    ok(s.put_stats(std::slice::from_ref(&entry)).await, "put_stats");
    let read = ok(s.cached_stats("analytics:symbol:BTC/USDT").await, "read").expect("entry");
    // Postgres `jsonb` normalizes the spacing.
    assert_eq!(read.data.replace(' ', ""), entry.data);
    assert_eq!((read.key, read.computed_at), (entry.key, entry.computed_at));
    assert_eq!(ok(s.cached_stats("analytics:nope").await, "absent"), None);
}

/// Admin counts in one row; the subscription list filters and pages newest first.
pub async fn admin_counts_and_subscription_pages<S: StatsStores>(s: &S) {
    let a = user(s, "alice", T0).await;
    let b = user(s, "bob", T0 + DAY).await;
    let c = user(s, "carol", T0 + 2 * DAY).await;
    let d = user(s, "dave", T0 + 10 * DAY).await;
    ok(s.set_admin(a, true).await, "admin");
    let now = T0 + 10 * DAY;
    let grant =
        |u: UserId, plan: Plan, status: SubscriptionStatus, exp: Option<i64>| BillingSubscription {
            user_id: cl_billing::UserId::new(u.0).expect("uid"),
            plan,
            status,
            starts_at: T0,
            expires_at: exp,
            cancelled_at: None,
            provider: Some(SubscriptionSource::Admin),
            external_subscription_id: None,
        };
    let act = |at| NewAuditEntry {
        target: "user:1".into(),
        ..audit(a, "user.set_subscription", at)
    };
    // Created at T0+1, +2, +3 (the list's order).
    let subs = [
        (
            b,
            Plan::Pro,
            SubscriptionStatus::Active,
            Some(now + 2 * DAY),
        ),
        (
            c,
            Plan::Premium,
            SubscriptionStatus::Active,
            Some(now + 30 * DAY),
        ),
        (d, Plan::Lifetime, SubscriptionStatus::Active, None),
    ];
    for (i, (u, plan, status, exp)) in subs.into_iter().enumerate() {
        let at = T0 + 1 + i64::try_from(i).expect("small");
        ok(
            s.set_subscription(&grant(u, plan, status, exp), at, &act(at))
                .await,
            "grant",
        );
    }

    let counts = ok(
        s.admin_counts(now, now - 7 * DAY, now + 7 * DAY).await,
        "counts",
    );
    assert_eq!(counts.users, 4);
    assert_eq!(counts.admins, 1);
    assert_eq!(counts.users_active, 4);
    assert_eq!(
        counts.users_new, 1,
        "only dave was created within the window"
    );
    assert_eq!(counts.active_by_plan, [1, 1, 1]);
    assert_eq!(counts.by_status, [3, 0, 0, 0]);
    assert_eq!(counts.expiring, 1);
    assert_eq!(counts.notifications, [0, 0, 0, 0]);
    assert_eq!(counts.errors_new, 0);

    let all = SubscriptionFilter::default();
    let p1 = ok(
        s.admin_subscriptions(
            &all,
            PageRequest {
                limit: 2,
                after: None,
            },
        )
        .await,
        "page 1",
    );
    let names: Vec<&str> = p1.items.iter().map(|r| r.username.as_str()).collect();
    assert_eq!(names, ["dave", "carol"]);
    assert_eq!(p1.items[0].expires_at, None);
    assert_eq!(p1.items[0].plan, Plan::Lifetime);
    assert_eq!(p1.items[1].email, "carol@example.com");
    assert_eq!(p1.items[1].provider.as_deref(), Some("admin"));
    let p2 = ok(
        s.admin_subscriptions(
            &all,
            PageRequest {
                limit: 2,
                after: p1.next,
            },
        )
        .await,
        "page 2",
    );
    assert_eq!(p2.items.len(), 1);
    assert_eq!(p2.items[0].user_id, b);
    assert_eq!(p2.next, None);

    let pro = SubscriptionFilter {
        plan: Some(Plan::Pro),
        ..all
    };
    let only = ok(
        s.admin_subscriptions(
            &pro,
            PageRequest {
                limit: 10,
                after: None,
            },
        )
        .await,
        "pro",
    );
    assert_eq!(only.items.len(), 1);
    let expiring = SubscriptionFilter {
        expiring: Some((now, now + 7 * DAY)),
        ..all
    };
    let soon = ok(
        s.admin_subscriptions(
            &expiring,
            PageRequest {
                limit: 10,
                after: None,
            },
        )
        .await,
        "expiring",
    );
    let users: Vec<UserId> = soon.items.iter().map(|r| r.user_id).collect();
    assert_eq!(users, [b]);
    let cancelled = SubscriptionFilter {
        status: Some(SubscriptionStatus::Cancelled),
        ..all
    };
    assert!(ok(
        s.admin_subscriptions(
            &cancelled,
            PageRequest {
                limit: 10,
                after: None
            }
        )
        .await,
        "cancelled"
    )
    .items
    .is_empty());
}

async fn audits<S: StatsStores>(s: &S) -> Vec<cl_app::ports::admin::StoredAuditEntry> {
    ok(
        s.audit_log(
            &AuditFilter::default(),
            PageRequest {
                limit: 100,
                after: None,
            },
        )
        .await,
        "audit",
    )
    .items
}

/// A settings write replaces the keys and appends its audit row; a refused one writes nothing.
pub async fn settings_land_with_their_audit_row<S: StatsStores>(s: &S) {
    let a = user(s, "root", T0).await;
    let before = audits(s).await.len();
    let values = vec![
        ("signal.min_confluence".to_owned(), "4".to_owned()),
        ("notify.global_topic".to_owned(), "\"cl-all\"".to_owned()),
        ("retention.logs_days".to_owned(), "null".to_owned()),
    ];
    ok(
        s.put_settings(&values, a, T0 + 5, &audit(a, "settings.update", T0 + 5))
            .await,
        "put",
    );
    let rows = ok(s.settings().await, "settings");
    for (k, v) in &values {
        let row = rows.iter().find(|r| &r.key == k).expect("written key");
        let same = row.value == *v || row.value.replace(' ', "") == v.replace(' ', "");
        assert!(same, "{k}: {} != {v}", row.value);
        assert_eq!(row.updated_at, T0 + 5);
    }
    let log = audits(s).await;
    assert_eq!(log.len(), before + 1);
    assert_eq!(log[0].entry.action, "settings.update");
    assert_eq!(log[0].entry.actor, Some(a));

    // A bad key refuses the whole write.
    let bad = vec![
        ("signal.min_confluence".to_owned(), "5".to_owned()),
        ("Bad Key".to_owned(), "1".to_owned()),
    ];
    assert!(matches!(
        s.put_settings(&bad, a, T0 + 6, &audit(a, "settings.update", T0 + 6))
            .await,
        Err(StoreError::Invalid(_))
    ));
    let rows = ok(s.settings().await, "settings again");
    let mc = rows
        .iter()
        .find(|r| r.key == "signal.min_confluence")
        .expect("row");
    assert_eq!(mc.value, "4");
    assert_eq!(audits(s).await.len(), before + 1);
}
