//! The broadcast delivery port's contract (migration 0012): the audience query by tier, a due
//! schedule started once as one broadcast (never after a cancel), recipients written once per
//! (broadcast, topic), deliveries claimed by one caller and finished once, a broadcast done once
//! with counts from its rows. Its own list ([`BroadcastDeliveryCase`],
//! [`run_broadcast_delivery_case`], [`broadcast_delivery_contract_tests!`]).

use cl_app::jobs::maintenance::{MaintenanceStore, RetentionTarget};
use cl_app::policy::Tier;
use cl_app::ports::broadcast_delivery::{
    BroadcastDeliveryStore, BroadcastState, DeliveryResult, Recipient,
};
use cl_app::ports::notification_admin::{
    Audience, NewBroadcast, NewSchedule, NoticeBody, NoticeContent, NoticeTags, NoticeTitle,
    NotificationAdminStore,
};
use cl_app::ports::notifications::{NotificationPrefs, NotificationStore, NotifyPriority};
use cl_app::ports::{
    ApplyOutcome, BillingStore, BillingSubscription, NewUser, Provider, SignalId, StoreError,
    UserId, UserStore, WebhookWrite,
};
use cl_auth::email::{Email, Username};
use cl_auth::SecretString;
use cl_billing::plan::Plan;
use cl_billing::subscription::{SubscriptionSource, SubscriptionStatus};
use std::fmt::Debug;

/// Every port the contract needs.
pub trait BroadcastDeliveryStores:
    BroadcastDeliveryStore
    + NotificationAdminStore
    + NotificationStore
    + UserStore
    + BillingStore
    + crate::Store
    + MaintenanceStore
{
}
impl<
        T: BroadcastDeliveryStore
            + NotificationAdminStore
            + NotificationStore
            + UserStore
            + BillingStore
            + crate::Store
            + MaintenanceStore,
    > BroadcastDeliveryStores for T
{
}

/// One case of the broadcast delivery contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastDeliveryCase {
    /// [`audience_by_tier`].
    AudienceByTier,
    /// [`deliveries_are_claimed_and_finished_once`].
    DeliveriesOnce,
    /// [`a_due_schedule_starts_one_broadcast`].
    ScheduleStartsOnce,
    /// [`a_signal_gets_one_global_broadcast`].
    SignalOnce,
    /// [`finished_deliveries_are_purged_by_age`].
    Purge,
}

impl BroadcastDeliveryCase {
    /// Every case.
    pub const ALL: &'static [BroadcastDeliveryCase] = &[
        Self::AudienceByTier,
        Self::DeliveriesOnce,
        Self::ScheduleStartsOnce,
        Self::SignalOnce,
        Self::Purge,
    ];

    /// The case's function name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::AudienceByTier => "audience_by_tier",
            Self::DeliveriesOnce => "deliveries_are_claimed_and_finished_once",
            Self::ScheduleStartsOnce => "a_due_schedule_starts_one_broadcast",
            Self::SignalOnce => "a_signal_gets_one_global_broadcast",
            Self::Purge => "finished_deliveries_are_purged_by_age",
        }
    }
}

/// Runs one case against a fresh store.
pub async fn run_broadcast_delivery_case<S: BroadcastDeliveryStores>(
    case: BroadcastDeliveryCase,
    s: &S,
) {
    match case {
        BroadcastDeliveryCase::AudienceByTier => audience_by_tier(s).await,
        BroadcastDeliveryCase::DeliveriesOnce => deliveries_are_claimed_and_finished_once(s).await,
        BroadcastDeliveryCase::ScheduleStartsOnce => a_due_schedule_starts_one_broadcast(s).await,
        BroadcastDeliveryCase::SignalOnce => a_signal_gets_one_global_broadcast(s).await,
        BroadcastDeliveryCase::Purge => finished_deliveries_are_purged_by_age(s).await,
    }
}

/// Expands to one `#[test]` per [`BroadcastDeliveryCase`], each calling `$harness(case)`.
#[macro_export]
macro_rules! broadcast_delivery_contract_tests {
    ($harness:path) => {
        #[test]
        fn audience_by_tier() {
            $harness($crate::broadcast_delivery::BroadcastDeliveryCase::AudienceByTier);
        }
        #[test]
        fn deliveries_are_claimed_and_finished_once() {
            $harness($crate::broadcast_delivery::BroadcastDeliveryCase::DeliveriesOnce);
        }
        #[test]
        fn a_due_schedule_starts_one_broadcast() {
            $harness($crate::broadcast_delivery::BroadcastDeliveryCase::ScheduleStartsOnce);
        }
        #[test]
        fn a_signal_gets_one_global_broadcast() {
            $harness($crate::broadcast_delivery::BroadcastDeliveryCase::SignalOnce);
        }
        #[test]
        fn finished_deliveries_are_purged_by_age() {
            $harness($crate::broadcast_delivery::BroadcastDeliveryCase::Purge);
        }
    };
}

const T0: i64 = 1_704_067_200_000;
const MIN: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

fn ok<T, E: Debug>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error {e:?}"),
    }
}

fn topic(n: u32) -> String {
    format!("cl_{n:016x}")
}

async fn user<S: BroadcastDeliveryStores>(s: &S, n: u32, verified: bool) -> UserId {
    let name = format!("bcast{n}");
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

async fn subscribe<S: BroadcastDeliveryStores>(s: &S, user: UserId, plan: Plan) {
    let bu = ok(cl_billing::UserId::new(user.0), "billing user");
    let write = WebhookWrite {
        provider: Provider::LemonSqueezy,
        event_key: format!("bcast-seed-{}", user.0),
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
            status: SubscriptionStatus::Active,
            starts_at: T0 - DAY_MS,
            expires_at: Some(T0 + 30 * DAY_MS),
            cancelled_at: None,
            provider: Some(SubscriptionSource::LemonSqueezy),
            external_subscription_id: None,
        }),
    };
    assert!(matches!(
        ok(s.apply_webhook(&write).await, "seed subscription"),
        ApplyOutcome::Applied { .. }
    ));
}

fn content(title: &str) -> NoticeContent {
    NoticeContent {
        title: ok(NoticeTitle::parse(title), "title"),
        body: ok(NoticeBody::parse("Hello {app}"), "body"),
        priority: ok(NotifyPriority::new(3), "priority"),
        tags: ok(NoticeTags::parse("bell"), "tags"),
    }
}

fn topics(list: &[Recipient]) -> Vec<String> {
    list.iter().map(|r| r.topic.clone()).collect()
}

/// Active, verified users with notifications on, by id; a tier keeps only its users.
pub async fn audience_by_tier<S: BroadcastDeliveryStores>(s: &S) {
    let premium = user(s, 1, true).await;
    subscribe(s, premium, Plan::Premium).await;
    let pro = user(s, 2, true).await;
    subscribe(s, pro, Plan::Pro).await;
    let free = user(s, 3, true).await;
    let _unverified = user(s, 4, false).await;
    let off = user(s, 5, true).await;
    let prefs = NotificationPrefs {
        enabled: false,
        ..NotificationPrefs::default()
    };
    ok(s.set_notification_prefs(off, &prefs).await, "prefs off");
    let now = T0 + MIN;
    let all = ok(s.audience_users(None, now).await, "all");
    assert_eq!(topics(&all), [topic(1), topic(2), topic(3)]);
    assert_eq!(all[0].user, Some(premium));
    let t = |tier| async move { topics(&ok(s.audience_users(Some(tier), now).await, "tier")) };
    assert_eq!(t(Tier::Premium).await, [topic(1)]);
    assert_eq!(t(Tier::Pro).await, [topic(2)]);
    assert_eq!(t(Tier::Free).await, [topic(3)]);
    // After the paid period (and its 3-day grace) the premium user counts as free.
    let later = T0 + 40 * DAY_MS;
    let free_later = topics(&ok(
        s.audience_users(Some(Tier::Free), later).await,
        "later",
    ));
    assert_eq!(free_later, [topic(1), topic(2), topic(3)]);
    let _ = free;
}

/// Recipients once per topic; `queued → sending` once; a claim hides rows from a second
/// claim; a finish happens once; a retried row comes back; `done` once with the counts.
pub async fn deliveries_are_claimed_and_finished_once<S: BroadcastDeliveryStores>(s: &S) {
    let u = user(s, 7, true).await;
    let b = ok(
        s.create_broadcast(&NewBroadcast {
            audience: Audience::All,
            template: None,
            content: content("Maintenance"),
            created_by: Some(u),
            created_at: T0,
        })
        .await,
        "create_broadcast",
    )
    .id;
    let open = ok(s.open_broadcasts(10).await, "open");
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].id, open[0].state), (b, BroadcastState::Queued));
    assert_eq!(open[0].content.title.as_str(), "Maintenance");
    let recipients = vec![
        Recipient {
            user: Some(u),
            topic: topic(7),
        },
        Recipient {
            user: None,
            topic: "global-topic".into(),
        },
        Recipient {
            user: None,
            topic: "extra_1".into(),
        },
    ];
    assert_eq!(ok(s.queue_deliveries(b, &recipients, T0).await, "queue"), 3);
    assert_eq!(ok(s.queue_deliveries(b, &recipients, T0).await, "again"), 0);
    let bad = [Recipient {
        user: None,
        topic: "bad topic".into(),
    }];
    assert!(matches!(
        s.queue_deliveries(b, &bad, T0).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(ok(s.mark_sending(b).await, "mark_sending"));
    assert!(!ok(s.mark_sending(b).await, "mark_sending twice"));
    assert_eq!(
        ok(s.open_broadcasts(10).await, "open")[0].state,
        BroadcastState::Sending
    );

    let now = T0 + MIN;
    let until = now + 2 * MIN;
    let first = ok(s.claim_deliveries(b, now, until, 2).await, "claim 2");
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|d| d.attempts == 1));
    let second = ok(s.claim_deliveries(b, now, until, 10).await, "claim rest");
    assert_eq!(second.len(), 1, "leased rows are not claimed twice");
    assert!(ok(s.claim_deliveries(b, now, until, 10).await, "none").is_empty());

    assert!(ok(
        s.finish_delivery(first[0].id, &DeliveryResult::Sent, now)
            .await,
        "sent"
    ));
    assert!(!ok(
        s.finish_delivery(first[0].id, &DeliveryResult::Sent, now)
            .await,
        "once"
    ));
    let failed = DeliveryResult::Failed("HTTP 400".into());
    assert!(ok(
        s.finish_delivery(first[1].id, &failed, now).await,
        "failed"
    ));
    let retry = DeliveryResult::Retry("breaker open".into());
    assert!(ok(
        s.finish_delivery(second[0].id, &retry, now).await,
        "retry"
    ));
    assert!(!ok(s.finish_broadcast(b).await, "a row is still queued"));

    // The retried row is free again at once (its lease was released).
    let again = ok(s.claim_deliveries(b, now, until, 10).await, "claim retry");
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (second[0].id, 2));
    assert!(ok(
        s.finish_delivery(again[0].id, &DeliveryResult::Sent, now)
            .await,
        "sent 2"
    ));
    assert!(ok(s.finish_broadcast(b).await, "done"));
    assert!(!ok(s.finish_broadcast(b).await, "done once"));
    assert!(ok(s.open_broadcasts(10).await, "open").is_empty());
    let sums = ok(s.broadcast_summaries(10).await, "summaries");
    assert_eq!(sums.len(), 1);
    let x = &sums[0];
    assert_eq!(
        (x.id, x.state, x.recipients, x.sent, x.failed),
        (b, BroadcastState::Done, 3, 2, 1)
    );
    assert_eq!(
        (x.title.as_str(), x.audience.as_str()),
        ("Maintenance", "all")
    );
    assert_eq!(x.signal, None, "an admin broadcast names no signal");
}

/// Claimed at its time once; never when cancelled or at another `send_at`; the broadcast
/// carries the schedule's content and id.
pub async fn a_due_schedule_starts_one_broadcast<S: BroadcastDeliveryStores>(s: &S) {
    let new = |at| NewSchedule {
        send_at: at,
        audience: Audience::Pro,
        template: None,
        content: content("Digest"),
        created_by: None,
        created_at: T0,
    };
    let a = ok(s.create_schedule(&new(T0 + 5 * MIN)).await, "schedule a").id;
    let c = ok(s.create_schedule(&new(T0 + 5 * MIN)).await, "schedule c").id;
    assert!(ok(s.cancel_schedule(c).await, "cancel c"));
    let now = T0 + 6 * MIN;
    assert_eq!(
        ok(s.start_schedule(a, T0 + 4 * MIN, now).await, "wrong time"),
        None
    );
    assert_eq!(
        ok(
            s.start_schedule(a, T0 + 5 * MIN, T0 + 4 * MIN).await,
            "not due"
        ),
        None
    );
    let b = ok(s.start_schedule(a, T0 + 5 * MIN, now).await, "start");
    assert!(b.is_some());
    assert_eq!(
        ok(s.start_schedule(a, T0 + 5 * MIN, now).await, "twice"),
        None
    );
    assert_eq!(
        ok(s.start_schedule(c, T0 + 5 * MIN, now).await, "cancelled"),
        None
    );
    assert!(!ok(s.cancel_schedule(a).await, "cancel after start"));
    let open = ok(s.open_broadcasts(10).await, "open");
    assert_eq!(open.len(), 1);
    assert_eq!(Some(open[0].id), b);
    assert_eq!(open[0].schedule, Some(a));
    assert_eq!(open[0].audience, Audience::Pro);
    assert_eq!(open[0].content.title.as_str(), "Digest");
    assert!(ok(s.due_schedules(now, 10).await, "due").is_empty());
}

/// The global-topic broadcast of a signal: inserted once per signal (a second call → `None`,
/// nothing added), an unknown signal → `NotFound`; it is an ordinary open broadcast to the
/// topic, listed with the others.
pub async fn a_signal_gets_one_global_broadcast<S: BroadcastDeliveryStores>(s: &S) {
    let btc = ok(
        s.add_symbol(&crate::new_symbol("BTC/USDT", true)).await,
        "symbol",
    )
    .id;
    let sig = ok(
        s.insert_signal(&crate::signal(btc, cl_domain::Direction::Bullish, T0), 0)
            .await,
        "signal",
    )
    .expect("inserted");
    let new = NewBroadcast {
        audience: Audience::Topics("cryptolens-all".into()),
        template: None,
        content: content("🟢 LONG BTC/USDT FVG 1h"),
        created_by: None,
        created_at: T0,
    };
    let first = ok(s.queue_signal_broadcast(sig, &new).await, "queue");
    assert!(first.is_some());
    assert_eq!(
        ok(s.queue_signal_broadcast(sig, &new).await, "again"),
        None,
        "once per signal"
    );
    assert!(matches!(
        s.queue_signal_broadcast(SignalId(sig.0 + 999), &new).await,
        Err(StoreError::NotFound(_))
    ));
    let open = ok(s.open_broadcasts(10).await, "open");
    assert_eq!(open.len(), 1);
    assert_eq!(Some(open[0].id), first);
    assert_eq!(open[0].audience.topics(), Some("cryptolens-all"));
    assert_eq!(open[0].content.title.as_str(), "🟢 LONG BTC/USDT FVG 1h");
    let list = ok(s.broadcast_summaries(10).await, "list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].signal, Some(sig), "the list names the signal");
}

/// Retention: sent and failed rows finished before the cutoff go; queued rows stay whatever
/// their age; a row finished after the cutoff stays.
pub async fn finished_deliveries_are_purged_by_age<S: BroadcastDeliveryStores>(s: &S) {
    let b = ok(
        s.create_broadcast(&NewBroadcast {
            audience: Audience::All,
            template: None,
            content: content("Old"),
            created_by: None,
            created_at: T0,
        })
        .await,
        "broadcast",
    )
    .id;
    let to = |t: &str| Recipient {
        user: None,
        topic: t.into(),
    };
    let all = [to("a"), to("b"), to("c"), to("d")];
    assert_eq!(ok(s.queue_deliveries(b, &all, T0).await, "queue"), 4);
    let rows = ok(s.claim_deliveries(b, T0, T0 + MIN, 3).await, "claim");
    assert_eq!(rows.len(), 3);
    let cut = T0 + 10 * DAY_MS;
    ok(
        s.finish_delivery(rows[0].id, &DeliveryResult::Sent, T0)
            .await,
        "sent",
    );
    let failed = DeliveryResult::Failed("HTTP 400".into());
    ok(
        s.finish_delivery(rows[1].id, &failed, T0 + 1).await,
        "failed",
    );
    ok(
        s.finish_delivery(rows[2].id, &DeliveryResult::Sent, cut)
            .await,
        "sent at the cut",
    );
    assert_eq!(
        ok(
            s.purge(RetentionTarget::BroadcastDeliveries, cut, 1).await,
            "batch"
        ),
        1
    );
    assert_eq!(
        ok(
            s.purge(RetentionTarget::BroadcastDeliveries, cut, 10).await,
            "rest"
        ),
        1
    );
    assert_eq!(
        ok(
            s.purge(RetentionTarget::BroadcastDeliveries, cut, 10).await,
            "again"
        ),
        0
    );
    let left = ok(s.broadcast_summaries(10).await, "left");
    assert_eq!(
        (left[0].recipients, left[0].sent),
        (2, 1),
        "queued + the newer one"
    );
}
