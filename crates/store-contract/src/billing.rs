//! The billing ports' contract (payments, subscriptions, webhook events, expiry warnings),
//! written once over [`BillingStores`] and run by every adapter.
//!
//! Its own list ([`BillingCase`], [`run_billing_case`], [`billing_contract_tests!`]) like the
//! account contract, so an adapter without billing ports still compiles the others.
//!
//! Pinned here: a replayed event writes nothing; a status never moves backwards, whatever the
//! caller asks; a write computed from rows that changed in between writes nothing (stale); a
//! failure in the middle of the unit (a subscription for a missing user) rolls back the event
//! row and the payment; payments are scoped by owner.

use crate::fixtures::ok;
use cl_app::ports::{
    ApplyOutcome, BillingStore, BillingSubscription, PageRequest, PaymentId, PaymentRecord,
    PaymentStatus, Provider, StoreError, UserStore, WarningKey, WebhookWrite,
};
use cl_billing::checkout::NewPayment;
use cl_billing::plan::{BillingCycle, Offer, Plan};
use cl_billing::subscription::{SubscriptionSource, SubscriptionStatus};
use cl_billing::{Amount, Currency, UserId};
use std::fmt::Debug;

/// Every port the billing contract needs (users are created through [`UserStore`]).
pub trait BillingStores: BillingStore + UserStore {}
impl<T: BillingStore + UserStore> BillingStores for T {}

contract_cases! {
    "billing", BillingCase, run_billing_case, BillingStores;
    /// [`payments_round_trip_scoped_by_owner`].
    PaymentsRoundTripScopedByOwner => payments_round_trip_scoped_by_owner,
    /// [`webhook_writes_event_payment_and_subscription`].
    WebhookWritesEventPaymentAndSubscription => webhook_writes_event_payment_and_subscription,
    /// [`replayed_webhook_writes_nothing`].
    ReplayedWebhookWritesNothing => replayed_webhook_writes_nothing,
    /// [`status_never_moves_backwards`].
    StatusNeverMovesBackwards => status_never_moves_backwards,
    /// [`stale_reads_write_nothing`].
    StaleReadsWriteNothing => stale_reads_write_nothing,
    /// [`failing_step_rolls_back_the_whole_event`].
    FailingStepRollsBackTheWholeEvent => failing_step_rolls_back_the_whole_event,
    /// [`renewal_rows_are_inserted_once`].
    RenewalRowsAreInsertedOnce => renewal_rows_are_inserted_once,
    /// [`rejected_event_is_recorded_alone`].
    RejectedEventIsRecordedAlone => rejected_event_is_recorded_alone,
    /// [`expiry_and_warnings`].
    ExpiryAndWarnings => expiry_and_warnings,
    /// [`large_timestamps_round_trip_exactly`].
    LargeTimestampsRoundTripExactly => large_timestamps_round_trip_exactly,
}

/// Runs every billing case, each on its own fresh store from `fresh`; returns how many ran.
pub async fn run_all_billing<S, F, Fut>(mut fresh: F) -> usize
where
    S: BillingStores,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    for case in BillingCase::ALL {
        let s = fresh().await;
        run_billing_case(*case, &s).await;
    }
    BillingCase::ALL.len()
}

/// Expands to one `#[test]` per [`BillingCase`], each calling `$harness(case)`.
#[macro_export]
macro_rules! billing_contract_tests {
    ($harness:path) => {
        $crate::billing_contract_tests!(@each $harness;
            billing_payments_round_trip_scoped_by_owner => PaymentsRoundTripScopedByOwner,
            billing_webhook_writes_event_payment_and_subscription => WebhookWritesEventPaymentAndSubscription,
            billing_replayed_webhook_writes_nothing => ReplayedWebhookWritesNothing,
            billing_status_never_moves_backwards => StatusNeverMovesBackwards,
            billing_stale_reads_write_nothing => StaleReadsWriteNothing,
            billing_failing_step_rolls_back_the_whole_event => FailingStepRollsBackTheWholeEvent,
            billing_renewal_rows_are_inserted_once => RenewalRowsAreInsertedOnce,
            billing_rejected_event_is_recorded_alone => RejectedEventIsRecordedAlone,
            billing_expiry_and_warnings => ExpiryAndWarnings,
            billing_large_timestamps_round_trip_exactly => LargeTimestampsRoundTripExactly,
        );

        #[test]
        fn billing_contract_lists_every_case() {
            assert_eq!(
                $crate::billing::BillingCase::ALL.len(),
                10,
                "billing_contract_tests! is missing a case"
            );
        }
    };
    (@each $harness:path; $($name:ident => $variant:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $harness($crate::billing::BillingCase::$variant);
            }
        )+
    };
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const T0: i64 = 1_700_000_000_000;
const DAY: i64 = 86_400_000;

async fn user<S: BillingStores>(s: &S, n: &str) -> UserId {
    let id = crate::fixtures::user(s, n, T0).await;
    ok(UserId::new(id.0), "user id")
}

fn ghost() -> UserId {
    ok(UserId::new(9_000_000), "ghost id")
}

fn pending(user: UserId, at: i64) -> NewPayment {
    NewPayment {
        user_id: user,
        provider: Provider::LemonSqueezy,
        offer: ok(Offer::new(Plan::Pro, Some(BillingCycle::Monthly)), "offer"),
        amount: ok(Amount::from_units(19), "amount"),
        currency: Currency::USD,
        crypto_currency: None,
        status: PaymentStatus::Pending,
        created_at: at,
    }
}

async fn stored<S: BillingStores>(s: &S, id: PaymentId) -> PaymentRecord {
    ok(s.payment_by_id(id).await, "payment_by_id")
        .unwrap_or_else(|| panic!("payment {id} missing"))
        .record
}

fn completed(p: &PaymentRecord, order: &str, at: i64) -> PaymentRecord {
    PaymentRecord {
        status: PaymentStatus::Completed,
        external_id: Some(order.to_owned()),
        completed_at: Some(at),
        last_event_at: Some(at),
        ..p.clone()
    }
}

fn active(user: UserId, expires_at: Option<i64>) -> BillingSubscription {
    BillingSubscription {
        user_id: user,
        plan: Plan::Pro,
        status: SubscriptionStatus::Active,
        starts_at: T0,
        expires_at,
        cancelled_at: None,
        provider: Some(SubscriptionSource::LemonSqueezy),
        external_subscription_id: None,
    }
}

fn event(key: &str, outcome: &str) -> WebhookWrite {
    WebhookWrite {
        provider: Provider::LemonSqueezy,
        event_key: key.to_owned(),
        received_at: T0 + 1_000,
        outcome: outcome.to_owned(),
        payment_id: None,
        read_payment: None,
        payment: None,
        subscription_user: None,
        read_subscription: None,
        subscription: None,
    }
}

/// The write of a completing event: payment pending → completed, subscription created.
fn activation(read: &PaymentRecord, key: &str) -> WebhookWrite {
    WebhookWrite {
        payment_id: read.id,
        read_payment: Some(read.clone()),
        payment: Some(completed(read, "5001", T0 + 1_000)),
        subscription_user: Some(read.user_id),
        read_subscription: None,
        subscription: Some(active(read.user_id, Some(T0 + 30 * DAY))),
        ..event(key, "activated")
    }
}

async fn no_event<S: BillingStores>(s: &S, key: &str) {
    let e = ok(
        s.webhook_event(Provider::LemonSqueezy, key).await,
        "webhook_event",
    );
    assert!(e.is_none(), "event {key} must not be recorded: {e:?}");
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// A checkout payment round-trips; another user cannot read it; history pages newest first;
/// a payment for a missing user is refused.
pub async fn payments_round_trip_scoped_by_owner<S: BillingStores>(s: &S) {
    let (a, b) = (user(s, "alice").await, user(s, "bob").await);
    let p1 = ok(s.create_payment(&pending(a, T0)).await, "create");
    let p2 = ok(s.create_payment(&pending(a, T0 + 10)).await, "create");
    let p3 = ok(s.create_payment(&pending(a, T0 + 10)).await, "create");
    ok(s.create_payment(&pending(b, T0 + 5)).await, "create b");
    let row = ok(s.payment(p1, a).await, "payment").expect("own payment");
    assert_eq!(row.record, pending(a, T0).into_record(p1));
    assert_eq!(row.created_at, T0);
    assert!(ok(s.payment(p1, b).await, "payment").is_none(), "IDOR");

    let first = ok(
        s.payments_of(
            a,
            PageRequest {
                limit: 2,
                after: None,
            },
        )
        .await,
        "page 1",
    );
    let ids: Vec<PaymentId> = first.items.iter().map(|p| p.id).collect();
    assert_eq!(ids, [p3, p2], "newest first, ties by id descending");
    let second = ok(
        s.payments_of(
            a,
            PageRequest {
                limit: 2,
                after: first.next,
            },
        )
        .await,
        "page 2",
    );
    assert_eq!(second.items.iter().map(|p| p.id).collect::<Vec<_>>(), [p1]);
    assert!(second.next.is_none());
    assert!(matches!(
        s.payments_of(
            a,
            PageRequest {
                limit: 0,
                after: None
            }
        )
        .await,
        Err(StoreError::Invalid(_))
    ));

    let missing = s.create_payment(&pending(ghost(), T0)).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

/// One event: the event row, the payment and the new subscription are all written.
pub async fn webhook_writes_event_payment_and_subscription<S: BillingStores>(s: &S) {
    let a = user(s, "alice").await;
    let id = ok(s.create_payment(&pending(a, T0)).await, "create");
    let read = stored(s, id).await;
    let out = ok(s.apply_webhook(&activation(&read, "k1")).await, "apply");
    assert_eq!(
        out,
        ApplyOutcome::Applied {
            payment_id: Some(id)
        }
    );
    assert_eq!(stored(s, id).await, completed(&read, "5001", T0 + 1_000));
    let sub = ok(s.subscription_of(a).await, "sub").expect("subscription");
    assert_eq!(sub.subscription, active(a, Some(T0 + 30 * DAY)));
    let ev = ok(s.webhook_event(Provider::LemonSqueezy, "k1").await, "event").expect("event");
    assert_eq!(
        (ev.outcome.as_str(), ev.payment_id),
        ("activated", Some(id))
    );

    // A later event updates the subscription in place (same id).
    let read_sub = sub.subscription.clone();
    let extended = active(a, Some(T0 + 60 * DAY));
    let w = WebhookWrite {
        payment_id: Some(id),
        read_payment: Some(stored(s, id).await),
        subscription_user: Some(a),
        read_subscription: Some(read_sub),
        subscription: Some(extended.clone()),
        ..event("k2", "extended")
    };
    assert!(matches!(
        ok(s.apply_webhook(&w).await, "apply 2"),
        ApplyOutcome::Applied { .. }
    ));
    let again = ok(s.subscription_of(a).await, "sub").expect("subscription");
    assert_eq!((again.id, again.subscription), (sub.id, extended));
}

/// The same `(provider, event_key)` again, whatever it would write: nothing is written.
pub async fn replayed_webhook_writes_nothing<S: BillingStores>(s: &S) {
    let a = user(s, "alice").await;
    let id = ok(s.create_payment(&pending(a, T0)).await, "create");
    let read = stored(s, id).await;
    ok(s.apply_webhook(&activation(&read, "k1")).await, "apply");
    let after = stored(s, id).await;
    let sub = ok(s.subscription_of(a).await, "sub");

    // Replays computed from the current rows (so no stale guard trips first).
    let replay = WebhookWrite {
        payment_id: Some(id),
        read_payment: Some(after.clone()),
        payment: Some(PaymentRecord {
            flagged: true,
            ..after.clone()
        }),
        subscription_user: Some(a),
        read_subscription: sub.clone().map(|s| s.subscription),
        subscription: Some(active(a, Some(T0 + 90 * DAY))),
        ..event("k1", "extended")
    };
    assert_eq!(
        ok(s.apply_webhook(&replay).await, "replay"),
        ApplyOutcome::Replay
    );
    assert_eq!(stored(s, id).await, after);
    assert_eq!(ok(s.subscription_of(a).await, "sub"), sub);
    let ev = ok(s.webhook_event(Provider::LemonSqueezy, "k1").await, "event").expect("event");
    assert_eq!(ev.outcome, "activated", "the first outcome stays");
    // The same key from the other provider is a different event.
    let other = WebhookWrite {
        provider: Provider::NowPayments,
        ..event("k1", "ignored_test_mode")
    };
    assert!(matches!(
        ok(s.apply_webhook(&other).await, "np"),
        ApplyOutcome::Applied { .. }
    ));
}

/// An out-of-order event never moves a status backwards: a write computed from the old
/// status is stale, and one asking for a lower rank is refused; nothing is written.
pub async fn status_never_moves_backwards<S: BillingStores>(s: &S) {
    let a = user(s, "alice").await;
    let id = ok(s.create_payment(&pending(a, T0)).await, "create");
    let read = stored(s, id).await;
    ok(s.apply_webhook(&activation(&read, "k1")).await, "complete");
    let done = stored(s, id).await;

    // A late "pending" event decided on the pending row it read before the completion.
    let late = WebhookWrite {
        payment_id: Some(id),
        read_payment: Some(read.clone()),
        payment: Some(PaymentRecord {
            actually_paid: Some(0.5),
            ..read.clone()
        }),
        ..event("k-late", "pending")
    };
    assert_eq!(
        ok(s.apply_webhook(&late).await, "late"),
        ApplyOutcome::Stale
    );
    assert_eq!(stored(s, id).await, done);
    no_event(s, "k-late").await;

    // Asked explicitly to go from completed back to pending / failed: refused.
    for status in [
        PaymentStatus::Pending,
        PaymentStatus::Failed,
        PaymentStatus::Expired,
    ] {
        let back = WebhookWrite {
            payment_id: Some(id),
            read_payment: Some(done.clone()),
            payment: Some(PaymentRecord {
                status,
                ..done.clone()
            }),
            ..event("k-back", "failed")
        };
        let r = s.apply_webhook(&back).await;
        assert!(
            matches!(r, Err(StoreError::Invalid(_))),
            "{status:?}: {r:?}"
        );
        assert_eq!(stored(s, id).await, done);
        no_event(s, "k-back").await;
    }

    // Forward (refund) is allowed; failed and expired never swap.
    let refund = WebhookWrite {
        payment_id: Some(id),
        read_payment: Some(done.clone()),
        payment: Some(PaymentRecord {
            status: PaymentStatus::Refunded,
            ..done.clone()
        }),
        ..event("k-refund", "refunded")
    };
    assert!(matches!(
        ok(s.apply_webhook(&refund).await, "refund"),
        ApplyOutcome::Applied { .. }
    ));
    assert_eq!(stored(s, id).await.status, PaymentStatus::Refunded);

    let id2 = ok(s.create_payment(&pending(a, T0)).await, "create 2");
    let p2 = stored(s, id2).await;
    let failed = PaymentRecord {
        status: PaymentStatus::Failed,
        ..p2.clone()
    };
    let w = WebhookWrite {
        payment_id: Some(id2),
        read_payment: Some(p2.clone()),
        payment: Some(failed.clone()),
        ..event("k-fail", "failed")
    };
    ok(s.apply_webhook(&w).await, "fail");
    let swap = WebhookWrite {
        payment_id: Some(id2),
        read_payment: Some(failed.clone()),
        payment: Some(PaymentRecord {
            status: PaymentStatus::Expired,
            ..failed.clone()
        }),
        ..event("k-exp", "expired")
    };
    assert!(matches!(
        s.apply_webhook(&swap).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(stored(s, id2).await, failed);
}

/// A decision computed from a subscription that changed since (or appeared since) writes
/// nothing, the event row included.
pub async fn stale_reads_write_nothing<S: BillingStores>(s: &S) {
    let a = user(s, "alice").await;
    let id1 = ok(s.create_payment(&pending(a, T0)).await, "create 1");
    let id2 = ok(s.create_payment(&pending(a, T0)).await, "create 2");
    let (r1, r2) = (stored(s, id1).await, stored(s, id2).await);
    // Both decided while the user had no subscription; the first one wins.
    let w1 = activation(&r1, "k1");
    let w2 = activation(&r2, "k2");
    ok(s.apply_webhook(&w1).await, "first");
    assert_eq!(
        ok(s.apply_webhook(&w2).await, "second"),
        ApplyOutcome::Stale
    );
    assert_eq!(stored(s, id2).await, r2, "payment 2 untouched");
    no_event(s, "k2").await;

    // A decision on an older subscription state is stale too.
    let sub = ok(s.subscription_of(a).await, "sub")
        .expect("sub")
        .subscription;
    let w3 = WebhookWrite {
        read_subscription: Some(active(a, Some(T0 + DAY))),
        subscription: Some(active(a, Some(T0 + 31 * DAY))),
        ..activation(&r2, "k3")
    };
    assert_eq!(ok(s.apply_webhook(&w3).await, "third"), ApplyOutcome::Stale);
    let now = ok(s.subscription_of(a).await, "sub")
        .expect("sub")
        .subscription;
    assert_eq!(now, sub);
    no_event(s, "k3").await;
}

/// A step failing in the middle (the subscription refers to a user that does not exist)
/// rolls back the event row and the payment write.
pub async fn failing_step_rolls_back_the_whole_event<S: BillingStores>(s: &S) {
    let a = user(s, "alice").await;
    let id = ok(s.create_payment(&pending(a, T0)).await, "create");
    let read = stored(s, id).await;
    let nobody = ghost();
    let w = WebhookWrite {
        subscription_user: Some(nobody),
        read_subscription: None,
        subscription: Some(active(nobody, Some(T0 + DAY))),
        ..activation(&read, "k-broken")
    };
    let r = s.apply_webhook(&w).await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    assert_eq!(stored(s, id).await, read, "payment rolled back");
    assert!(ok(s.subscription_of(nobody).await, "sub").is_none());
    no_event(s, "k-broken").await;
    // The same event, fixed, applies afterwards: nothing of the failed attempt remained.
    let fixed = activation(&read, "k-broken");
    assert!(matches!(
        ok(s.apply_webhook(&fixed).await, "fixed"),
        ApplyOutcome::Applied { .. }
    ));
}

/// A renewal row is inserted with its event (the event points at the new row); a second,
/// different event inserting the same `(provider, external_id)` is stale.
pub async fn renewal_rows_are_inserted_once<S: BillingStores>(s: &S) {
    let a = user(s, "alice").await;
    let id = ok(s.create_payment(&pending(a, T0)).await, "create");
    let original = stored(s, id).await;
    let renewal = PaymentRecord {
        id: None,
        external_id: Some("invoice-77".into()),
        status: PaymentStatus::Completed,
        completed_at: Some(T0 + DAY),
        last_event_at: Some(T0 + DAY),
        ..original.clone()
    };
    let w = WebhookWrite {
        payment_id: Some(id),
        payment: Some(renewal.clone()),
        ..event("renew-1", "extended")
    };
    let ApplyOutcome::Applied {
        payment_id: Some(new_id),
    } = ok(s.apply_webhook(&w).await, "renewal")
    else {
        panic!("renewal not applied");
    };
    assert_ne!(new_id, id);
    let row = ok(
        s.payment_by_external_id(Provider::LemonSqueezy, "invoice-77")
            .await,
        "ext",
    )
    .expect("renewal row");
    assert_eq!(row.id, new_id);
    assert_eq!(
        row.record,
        PaymentRecord {
            id: Some(new_id),
            ..renewal.clone()
        }
    );
    let ev = ok(
        s.webhook_event(Provider::LemonSqueezy, "renew-1").await,
        "ev",
    )
    .expect("ev");
    assert_eq!(ev.payment_id, Some(new_id));

    let dup = WebhookWrite {
        payment_id: Some(id),
        payment: Some(renewal),
        ..event("renew-2", "extended")
    };
    assert_eq!(ok(s.apply_webhook(&dup).await, "dup"), ApplyOutcome::Stale);
    no_event(s, "renew-2").await;
    assert!(ok(
        s.payment_by_external_id(Provider::NowPayments, "invoice-77")
            .await,
        "np"
    )
    .is_none());
}

/// A refused event (mismatch) is stored alone, so its retries dedup.
pub async fn rejected_event_is_recorded_alone<S: BillingStores>(s: &S) {
    let a = user(s, "alice").await;
    let id = ok(s.create_payment(&pending(a, T0)).await, "create");
    let read = stored(s, id).await;
    let w = WebhookWrite {
        payment_id: Some(id),
        read_payment: Some(read.clone()),
        ..event("k-mm", "mismatch_amount")
    };
    assert_eq!(
        ok(s.apply_webhook(&w).await, "mismatch"),
        ApplyOutcome::Applied {
            payment_id: Some(id)
        }
    );
    assert_eq!(stored(s, id).await, read);
    assert!(ok(s.subscription_of(a).await, "sub").is_none());
    assert_eq!(ok(s.apply_webhook(&w).await, "retry"), ApplyOutcome::Replay);
    let unknown = event("k-unknown", "unknown_payment");
    assert_eq!(
        ok(s.apply_webhook(&unknown).await, "unknown"),
        ApplyOutcome::Applied { payment_id: None }
    );
}

/// The subscriptions job's queries: lapsed `active` rows become `expired` (cancelled ones
/// stay), the expiring window, and warnings recorded once.
pub async fn expiry_and_warnings<S: BillingStores>(s: &S) {
    let (a, b, c) = (
        user(s, "alice").await,
        user(s, "bob").await,
        user(s, "carol").await,
    );
    let now = T0 + 10 * DAY;
    let set = |u: UserId, sub: BillingSubscription, key: &str| WebhookWrite {
        subscription_user: Some(u),
        subscription: Some(sub),
        ..event(key, "activated")
    };
    ok(
        s.apply_webhook(&set(a, active(a, Some(now - 1)), "a"))
            .await,
        "a",
    );
    let cancelled = BillingSubscription {
        status: SubscriptionStatus::Cancelled,
        cancelled_at: Some(T0),
        ..active(b, Some(now + 2 * DAY))
    };
    ok(s.apply_webhook(&set(b, cancelled.clone(), "b")).await, "b");
    ok(
        s.apply_webhook(&set(c, active(c, Some(now + 8 * DAY)), "c"))
            .await,
        "c",
    );

    assert_eq!(ok(s.expire_subscriptions(now).await, "expire"), 1);
    let sa = ok(s.subscription_of(a).await, "a").expect("a");
    assert_eq!(sa.subscription.status, SubscriptionStatus::Expired);
    assert_eq!(ok(s.expire_subscriptions(now).await, "again"), 0);

    let soon = ok(s.subscriptions_expiring(now, 7 * DAY).await, "expiring");
    assert_eq!(
        soon.len(),
        1,
        "only bob's cancelled subscription is within 7 days"
    );
    let sb = &soon[0];
    assert_eq!(sb.subscription, cancelled);

    let key = |days| WarningKey {
        subscription_id: sb.id,
        expires_at: now + 2 * DAY,
        days_before: days,
    };
    let fresh = ok(
        s.record_expiry_warnings(&key(3), &[key(3), key(7)], now)
            .await,
        "warn",
    );
    assert!(fresh, "first 3-day warning is new");
    let again = ok(
        s.record_expiry_warnings(&key(3), &[key(3), key(7)], now + 1)
            .await,
        "warn",
    );
    assert!(!again, "recorded once");
    let seven = ok(
        s.record_expiry_warnings(&key(7), &[key(7)], now + 2).await,
        "warn 7",
    );
    assert!(!seven, "the 7-day key was recorded with the 3-day one");
    let one = ok(
        s.record_expiry_warnings(&key(1), &[key(1), key(3), key(7)], now + 3)
            .await,
        "1",
    );
    assert!(one);
    let bad = WarningKey {
        subscription_id: ok(cl_app::ports::SubscriptionId::new(8_000_000), "id"),
        ..key(1)
    };
    let r = s.record_expiry_warnings(&bad, &[bad], now).await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
}

/// Times above 2^31 and up to 2^53 round-trip exactly on every billing row (payment, event,
/// subscription, warning); a time beyond 2^53 is refused before anything is written.
pub async fn large_timestamps_round_trip_exactly<S: BillingStores>(s: &S) {
    const MAX: i64 = cl_app::ports::MAX_EXACT_INT;
    let (t31, t32) = ((1_i64 << 31) + 7, (1_i64 << 32) + 1);
    let a = user(s, "alice").await;
    let id = ok(s.create_payment(&pending(a, MAX - 1)).await, "create");
    let row = ok(s.payment_by_id(id).await, "payment").expect("payment");
    assert_eq!((row.created_at, row.updated_at), (MAX - 1, MAX - 1));
    let read = row.record;
    let sub = BillingSubscription {
        starts_at: t31,
        expires_at: Some(MAX),
        cancelled_at: Some(t32),
        ..active(a, None)
    };
    let w = WebhookWrite {
        received_at: MAX,
        payment_id: Some(id),
        read_payment: Some(read.clone()),
        payment: Some(PaymentRecord {
            completed_at: Some(t32),
            last_event_at: Some(MAX - 3),
            ..completed(&read, "9001", t31)
        }),
        subscription_user: Some(a),
        read_subscription: None,
        subscription: Some(sub.clone()),
        ..event("big", "activated")
    };
    assert!(matches!(
        ok(s.apply_webhook(&w).await, "apply"),
        ApplyOutcome::Applied { .. }
    ));
    let p = ok(s.payment_by_id(id).await, "payment").expect("payment");
    assert_eq!(
        (p.record.completed_at, p.record.last_event_at, p.updated_at),
        (Some(t32), Some(MAX - 3), MAX)
    );
    let stored = ok(s.subscription_of(a).await, "sub").expect("sub");
    assert_eq!(stored.subscription, sub);
    assert_eq!((stored.created_at, stored.updated_at), (MAX, MAX));
    let ev = ok(
        s.webhook_event(Provider::LemonSqueezy, "big").await,
        "event",
    )
    .expect("event");
    assert_eq!(ev.received_at, MAX);
    // The expiring window and warnings at 2^53.
    let soon = ok(s.subscriptions_expiring(MAX - DAY, DAY).await, "expiring");
    assert_eq!(soon.iter().map(|x| x.id).collect::<Vec<_>>(), [stored.id]);
    let key = WarningKey {
        subscription_id: stored.id,
        expires_at: MAX,
        days_before: 1,
    };
    assert!(ok(
        s.record_expiry_warnings(&key, &[key], t32).await,
        "warn"
    ));
    assert!(!ok(
        s.record_expiry_warnings(&key, &[key], MAX).await,
        "warn again"
    ));

    // Beyond 2^53: refused, nothing written (no event row, payment and subscription unchanged).
    let beyond = WebhookWrite {
        received_at: MAX + 1,
        payment_id: Some(id),
        read_payment: Some(p.record.clone()),
        payment: Some(PaymentRecord {
            flagged: true,
            ..p.record.clone()
        }),
        ..event("beyond", "extended")
    };
    let r = s.apply_webhook(&beyond).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    no_event(s, "beyond").await;
    let later = WebhookWrite {
        subscription_user: Some(a),
        read_subscription: Some(sub.clone()),
        subscription: Some(BillingSubscription {
            expires_at: Some(MAX + 1),
            ..sub.clone()
        }),
        ..event("beyond-2", "extended")
    };
    let r = s.apply_webhook(&later).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    no_event(s, "beyond-2").await;
    assert_eq!(ok(s.payment_by_id(id).await, "payment"), Some(p));
    assert_eq!(ok(s.subscription_of(a).await, "sub"), Some(stored));
    let r = s.create_payment(&pending(a, MAX + 1)).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    let r = s.expire_subscriptions(MAX + 1).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
}
