use serde_json::json;

use super::*;
use crate::payment::{apply_event, renewal_record, ApplyError, MismatchField, Outcome};
use crate::subscription::GRACE_MS;

fn apply(
    current: &PaymentRecord,
    sub: Option<&Subscription>,
    event: &BillingEvent,
) -> Result<crate::payment::Decision, ApplyError> {
    apply_event(current, sub, event, NOW, false)
}

fn mismatch(field: MismatchField) -> Result<crate::payment::Decision, ApplyError> {
    Err(ApplyError::Mismatch { field })
}

/// The record and subscription after the checkout's order was applied.
fn after_order() -> (PaymentRecord, Subscription) {
    let d = apply(&record(Provider::LemonSqueezy), None, &order_created()).unwrap();
    (d.payment.unwrap(), d.subscription.unwrap())
}

#[test]
fn a_paid_order_completes_the_payment_and_activates_for_thirty_days() {
    let d = apply(&record(Provider::LemonSqueezy), None, &order_created()).unwrap();
    assert_eq!(d.outcome, Outcome::Activated);
    let p = d.payment.unwrap();
    assert_eq!(p.status, PaymentStatus::Completed);
    assert_eq!(p.external_id.as_deref(), Some("5001"));
    assert_eq!(p.completed_at, Some(NOW));
    assert_eq!(p.last_event_at, Some(T0 + 1000));
    let s = d.subscription.unwrap();
    assert_eq!((s.plan, s.status), (Plan::Pro, SubscriptionStatus::Active));
    assert_eq!(s.expires_at, Some(NOW + MONTH));
    assert_eq!(s.provider, Some(SubscriptionSource::LemonSqueezy));
}

#[test]
fn a_pending_order_changes_no_status() {
    let event = ls(&ls_raw(
        "order_created",
        "orders",
        "5001",
        order_attrs("pending", 1900, 0),
        custom(),
    ));
    let d = apply(&record(Provider::LemonSqueezy), None, &event).unwrap();
    assert_eq!(d.outcome, Outcome::Pending);
    assert_eq!(d.payment.unwrap().status, PaymentStatus::Pending);
    assert_eq!(d.subscription, None);
}

#[test]
fn a_replayed_order_after_completion_does_not_extend_again() {
    let (paid, sub) = after_order();
    let d = apply(&paid, Some(&sub), &order_created()).unwrap();
    assert_eq!(d.outcome, Outcome::NoChange);
    assert_eq!(d.payment, None);
    assert_eq!(d.subscription, None);
}

#[test]
fn subscription_created_after_the_order_links_the_subscription_without_extending() {
    let (paid, sub) = after_order();
    let event = ls(&ls_raw(
        "subscription_created",
        "subscriptions",
        "9001",
        subscription_attrs("active", 2000),
        custom(),
    ));
    let d = apply(&paid, Some(&sub), &event).unwrap();
    assert_eq!(d.outcome, Outcome::SubscriptionLinked);
    let s = d.subscription.unwrap();
    assert_eq!(s.external_subscription_id.as_deref(), Some("9001"));
    assert_eq!(s.expires_at, sub.expires_at);
}

#[test]
fn subscription_created_first_activates_and_the_order_then_changes_nothing_twice() {
    let event = ls(&ls_raw(
        "subscription_created",
        "subscriptions",
        "9001",
        subscription_attrs("active", 500),
        custom(),
    ));
    let d = apply(&record(Provider::LemonSqueezy), None, &event).unwrap();
    assert_eq!(d.outcome, Outcome::Activated);
    let (paid, sub) = (d.payment.unwrap(), d.subscription.unwrap());
    assert_eq!(sub.external_subscription_id.as_deref(), Some("9001"));
    let d = apply(&paid, Some(&sub), &order_created()).unwrap();
    assert_eq!(d.outcome, Outcome::NoChange);
    assert_eq!(d.subscription, None);
    assert_eq!(d.payment.unwrap().external_id.as_deref(), Some("5001"));
}

#[test]
fn the_initial_invoice_does_not_extend_a_second_time() {
    let (paid, sub) = after_order();
    let event = ls(&ls_raw(
        "subscription_payment_success",
        "subscription-invoices",
        "7000",
        invoice_attrs("initial", 1900, 3000),
        custom(),
    ));
    let d = apply(&paid, Some(&sub), &event).unwrap();
    assert_eq!(d.outcome, Outcome::SubscriptionLinked);
    assert_eq!(d.subscription.unwrap().expires_at, sub.expires_at);
}

#[test]
fn a_renewal_creates_a_new_payment_and_extends_from_the_current_expiry() {
    let (paid, _) = after_order();
    let sub = active_sub(Plan::Pro, Some(NOW + 2 * DAY_MS), Some("9001"));
    let event = ls(&ls_raw(
        "subscription_payment_success",
        "subscription-invoices",
        "7001",
        invoice_attrs("renewal", 1900, 4000),
        custom(),
    ));
    let fresh = renewal_record(&paid, &event).unwrap();
    assert_eq!(fresh.id, None);
    assert_eq!(fresh.external_id.as_deref(), Some("invoice-7001"));
    let d = apply(&fresh, Some(&sub), &event).unwrap();
    assert_eq!(d.outcome, Outcome::Extended);
    let p = d.payment.unwrap();
    assert_eq!((p.id, p.status), (None, PaymentStatus::Completed));
    assert_eq!(
        d.subscription.unwrap().expires_at,
        Some(NOW + 2 * DAY_MS + MONTH)
    );
    // The same renewal delivered again finds its row completed: no second extension.
    let d2 = apply(
        &PaymentRecord {
            id: Some(pid(43)),
            ..p
        },
        Some(&sub),
        &event,
    )
    .unwrap();
    assert_eq!(d2.outcome, Outcome::NoChange);
    assert_eq!(d2.subscription, None);
}

#[test]
fn a_renewal_record_is_only_made_from_the_payment_its_custom_data_names() {
    let (paid, _) = after_order();
    let renewal = ls(&ls_raw(
        "subscription_payment_success",
        "subscription-invoices",
        "7001",
        invoice_attrs("renewal", 1900, 0),
        custom(),
    ));
    let other = PaymentRecord {
        id: Some(pid(41)),
        ..paid.clone()
    };
    assert_eq!(
        renewal_record(&other, &renewal),
        Err(ApplyError::Mismatch {
            field: MismatchField::PaymentId
        })
    );
    assert_eq!(
        renewal_record(&paid, &order_created()),
        Err(ApplyError::NotARenewal)
    );
}

#[test]
fn a_tampered_amount_is_a_mismatch() {
    let event = ls(&ls_raw(
        "order_created",
        "orders",
        "5001",
        order_attrs("paid", 100, 0),
        custom(),
    ));
    assert_eq!(
        apply(&record(Provider::LemonSqueezy), None, &event),
        mismatch(MismatchField::Amount)
    );
}

#[test]
fn rejected_events_have_a_stored_outcome_naming_the_field() {
    let err = ApplyError::Mismatch {
        field: MismatchField::Amount,
    };
    assert_eq!(err.stored_outcome(), "mismatch_amount");
    assert_eq!(err.to_string(), "event does not match our record: amount");
    assert_eq!(ApplyError::NotARenewal.stored_outcome(), "not_a_renewal");
}

#[test]
fn another_currency_is_a_mismatch() {
    let mut attrs = order_attrs("paid", 1900, 0);
    attrs["currency"] = json!("EUR");
    let event = ls(&ls_raw("order_created", "orders", "5001", attrs, custom()));
    assert_eq!(
        apply(&record(Provider::LemonSqueezy), None, &event),
        mismatch(MismatchField::Currency)
    );
}

#[test]
fn another_user_plan_or_payment_in_custom_data_is_a_mismatch() {
    let cases = [
        (
            json!({"user_id": "8", "plan": "pro", "billing_cycle": "monthly", "payment_id": "42"}),
            MismatchField::User,
        ),
        (
            json!({"user_id": "7", "plan": "premium", "billing_cycle": "monthly", "payment_id": "42"}),
            MismatchField::Plan,
        ),
        (
            json!({"user_id": "7", "plan": "pro", "billing_cycle": "yearly", "payment_id": "42"}),
            MismatchField::Plan,
        ),
        (
            json!({"user_id": "7", "plan": "pro", "billing_cycle": "monthly", "payment_id": "43"}),
            MismatchField::PaymentId,
        ),
    ];
    for (custom, field) in cases {
        let event = ls(&ls_raw(
            "order_created",
            "orders",
            "5001",
            order_attrs("paid", 1900, 0),
            custom,
        ));
        assert_eq!(
            apply(&record(Provider::LemonSqueezy), None, &event),
            mismatch(field)
        );
    }
}

#[test]
fn a_variant_selling_another_offer_or_not_ours_is_a_mismatch() {
    for variant in [json!(201), json!(999)] {
        let mut attrs = order_attrs("paid", 1900, 0);
        attrs["first_order_item"]["variant_id"] = variant;
        let event = ls(&ls_raw("order_created", "orders", "5001", attrs, custom()));
        assert_eq!(
            apply(&record(Provider::LemonSqueezy), None, &event),
            mismatch(MismatchField::Variant)
        );
    }
}

#[test]
fn a_subscription_row_of_another_user_is_a_mismatch() {
    let other = Subscription {
        user_id: UserId::new(8).unwrap(),
        ..active_sub(Plan::Pro, Some(NOW), None)
    };
    assert_eq!(
        apply(
            &record(Provider::LemonSqueezy),
            Some(&other),
            &order_created()
        ),
        mismatch(MismatchField::User)
    );
}

#[test]
fn an_order_with_another_order_id_than_stored_is_a_mismatch() {
    let stored = PaymentRecord {
        external_id: Some("4999".into()),
        ..record(Provider::LemonSqueezy)
    };
    assert_eq!(
        apply(&stored, None, &order_created()),
        mismatch(MismatchField::ExternalId)
    );
}

#[test]
fn a_lemonsqueezy_event_against_a_nowpayments_record_is_a_mismatch() {
    assert_eq!(
        apply(&record(Provider::NowPayments), None, &order_created()),
        mismatch(MismatchField::Provider)
    );
}

#[test]
fn test_mode_events_are_ignored_in_production_and_applied_when_allowed() {
    let mut attrs = order_attrs("paid", 1900, 0);
    attrs["test_mode"] = json!(true);
    let event = ls(&ls_raw("order_created", "orders", "5001", attrs, custom()));
    let prod = apply_event(&record(Provider::LemonSqueezy), None, &event, NOW, false).unwrap();
    assert_eq!(prod.outcome, Outcome::IgnoredTestMode);
    assert_eq!((prod.payment, prod.subscription), (None, None));
    let dev = apply_event(&record(Provider::LemonSqueezy), None, &event, NOW, true).unwrap();
    assert_eq!(dev.outcome, Outcome::Activated);
}

#[test]
fn subscription_cancelled_keeps_access_until_expiry_without_grace() {
    let (paid, _) = after_order();
    let sub = active_sub(Plan::Pro, Some(NOW + 5 * DAY_MS), Some("9001"));
    let event = ls(&ls_raw(
        "subscription_cancelled",
        "subscriptions",
        "9001",
        subscription_attrs("cancelled", 5000),
        custom(),
    ));
    let d = apply(&paid, Some(&sub), &event).unwrap();
    assert_eq!(d.outcome, Outcome::SubscriptionCancelled);
    assert_eq!(d.payment, None);
    let s = d.subscription.unwrap();
    assert_eq!(s.status, SubscriptionStatus::Cancelled);
    assert_eq!(s.cancelled_at, Some(NOW));
    assert!(s.is_valid(NOW + 5 * DAY_MS));
    assert!(!s.is_valid(NOW + 5 * DAY_MS + 1));
}

#[test]
fn subscription_expired_marks_the_subscription_expired_with_grace() {
    let (paid, _) = after_order();
    let sub = active_sub(Plan::Pro, Some(NOW), Some("9001"));
    let event = ls(&ls_raw(
        "subscription_expired",
        "subscriptions",
        "9001",
        subscription_attrs("expired", 5000),
        custom(),
    ));
    let s = apply(&paid, Some(&sub), &event)
        .unwrap()
        .subscription
        .unwrap();
    assert_eq!(s.status, SubscriptionStatus::Expired);
    assert!(s.is_valid(NOW + GRACE_MS));
}

#[test]
fn subscription_events_for_a_provider_subscription_that_is_not_current_change_nothing() {
    let (paid, _) = after_order();
    for link in [None, Some("8000")] {
        let sub = active_sub(Plan::Pro, Some(NOW + DAY_MS), link);
        let event = ls(&ls_raw(
            "subscription_cancelled",
            "subscriptions",
            "9001",
            subscription_attrs("cancelled", 0),
            custom(),
        ));
        let d = apply(&paid, Some(&sub), &event).unwrap();
        assert_eq!(d.outcome, Outcome::NotCurrentSubscription);
        assert_eq!(d.subscription, None);
    }
}

#[test]
fn a_refunded_order_refunds_the_payment_and_ends_the_subscription_now() {
    let (paid, sub) = after_order();
    let event = ls(&ls_raw(
        "order_refunded",
        "orders",
        "5001",
        order_attrs("refunded", 1900, 9000),
        custom(),
    ));
    let d = apply(&paid, Some(&sub), &event).unwrap();
    assert_eq!(d.outcome, Outcome::Refunded);
    assert_eq!(d.payment.unwrap().status, PaymentStatus::Refunded);
    let s = d.subscription.unwrap();
    assert_eq!(s.expires_at, Some(NOW));
    assert!(!s.is_valid(NOW + 1));
}

#[test]
fn a_refund_of_a_payment_that_never_completed_leaves_the_subscription_alone() {
    let sub = active_sub(Plan::Pro, Some(NOW + MONTH), None);
    let event = ls(&ls_raw(
        "order_refunded",
        "orders",
        "5001",
        order_attrs("refunded", 1900, 9000),
        custom(),
    ));
    let d = apply(&record(Provider::LemonSqueezy), Some(&sub), &event).unwrap();
    assert_eq!(d.outcome, Outcome::Refunded);
    assert_eq!(d.subscription, None);
}

#[test]
fn an_order_created_arriving_after_the_refund_never_reverts_it() {
    let (paid, sub) = after_order();
    let refund = ls(&ls_raw(
        "order_refunded",
        "orders",
        "5001",
        order_attrs("refunded", 1900, 9000),
        custom(),
    ));
    let d = apply(&paid, Some(&sub), &refund).unwrap();
    let (refunded, ended) = (d.payment.unwrap(), d.subscription.unwrap());
    let d = apply(&refunded, Some(&ended), &order_created()).unwrap();
    assert_eq!(d.outcome, Outcome::Stale);
    assert_eq!((d.payment, d.subscription), (None, None));
}

#[test]
fn buying_while_a_valid_lifetime_runs_completes_the_payment_flagged_without_change() {
    let lifetime = active_sub(Plan::Lifetime, None, None);
    let d = apply(
        &record(Provider::LemonSqueezy),
        Some(&lifetime),
        &order_created(),
    )
    .unwrap();
    assert_eq!(d.outcome, Outcome::AlreadyLifetime);
    let p = d.payment.unwrap();
    assert!(p.flagged);
    assert_eq!(p.status, PaymentStatus::Completed);
    assert_eq!(d.subscription, None);
}

#[test]
fn ignored_events_change_nothing() {
    let raw = ls_raw(
        "license_key_created",
        "license-keys",
        "1",
        json!({}),
        json!(null),
    );
    let d = apply(&record(Provider::LemonSqueezy), None, &ls(&raw)).unwrap();
    assert_eq!(d.outcome, Outcome::Ignored);
    assert_eq!((d.payment, d.subscription), (None, None));
}
