use serde_json::json;

use super::*;
use crate::events::NowPaymentsStatus;
use crate::payment::{
    apply_event, nowpayments_effect, ApplyError, Decision, MismatchField, NowPaymentsEffect,
    Outcome,
};

fn apply(
    current: &PaymentRecord,
    sub: Option<&Subscription>,
    event: &BillingEvent,
) -> Result<Decision, ApplyError> {
    apply_event(current, sub, event, NOW, false)
}

/// Applies a sequence of events, threading the rows through like the adapter would.
fn run(events: &[BillingEvent]) -> (PaymentRecord, Option<Subscription>, Vec<Outcome>) {
    let mut payment = record(Provider::NowPayments);
    let mut sub: Option<Subscription> = None;
    let mut outcomes = Vec::new();
    for event in events {
        let d = apply(&payment, sub.as_ref(), event).unwrap();
        if let Some(p) = d.payment {
            payment = p;
        }
        if let Some(s) = d.subscription {
            sub = Some(s);
        }
        outcomes.push(d.outcome);
    }
    (payment, sub, outcomes)
}

#[test]
fn the_nowpayments_status_mapping_follows_the_spec() {
    use NowPaymentsEffect as E;
    use NowPaymentsStatus as S;
    for s in [S::Waiting, S::Confirming, S::Confirmed, S::Sending] {
        assert_eq!(nowpayments_effect(s), E::Pending);
    }
    assert_eq!(nowpayments_effect(S::PartiallyPaid), E::PartiallyPaid);
    assert_eq!(nowpayments_effect(S::Finished), E::Complete);
    assert_eq!(
        nowpayments_effect(S::Failed),
        E::Terminal(PaymentStatus::Failed)
    );
    assert_eq!(
        nowpayments_effect(S::Expired),
        E::Terminal(PaymentStatus::Expired)
    );
    assert_eq!(
        nowpayments_effect(S::Refunded),
        E::Terminal(PaymentStatus::Refunded)
    );
}

#[test]
fn payment_status_moves_only_forward_in_the_documented_order() {
    use PaymentStatus as P;
    let all = [P::Pending, P::Completed, P::Failed, P::Refunded, P::Expired];
    let allowed = |from: P, to: P| match from {
        P::Pending => to != P::Pending,
        P::Failed | P::Expired => matches!(to, P::Completed | P::Refunded),
        P::Completed => to == P::Refunded,
        P::Refunded => false,
    };
    for from in all {
        for to in all {
            assert_eq!(from.can_become(to), allowed(from, to), "{from:?} → {to:?}");
        }
        assert_eq!(P::parse(from.as_str()), Ok(from));
    }
}

#[test]
fn waiting_and_confirming_store_actually_paid_and_stay_pending() {
    let (p, sub, outcomes) = run(&[np("waiting", 0.0, 1000), np("confirming", 0.0003, 2000)]);
    assert_eq!(outcomes, vec![Outcome::Pending, Outcome::Pending]);
    assert_eq!(p.status, PaymentStatus::Pending);
    assert_eq!(p.actually_paid, Some(0.0003));
    assert_eq!(p.external_id.as_deref(), Some("5077125051"));
    assert_eq!(p.last_event_at, Some(T0 + 2000));
    assert_eq!(sub, None);
}

#[test]
fn finished_completes_the_payment_and_activates() {
    let (p, sub, outcomes) = run(&[
        np("confirming", 0.0003, 1000),
        np("finished", 0.00045, 2000),
    ]);
    assert_eq!(outcomes.last(), Some(&Outcome::Activated));
    assert_eq!(p.status, PaymentStatus::Completed);
    assert_eq!(p.actually_paid, Some(0.00045));
    let s = sub.unwrap();
    assert_eq!(s.expires_at, Some(NOW + MONTH));
    assert_eq!(s.provider, Some(SubscriptionSource::NowPayments));
}

#[test]
fn partially_paid_flags_the_payment_without_activation() {
    let (p, sub, outcomes) = run(&[np("partially_paid", 0.0001, 1000)]);
    assert_eq!(outcomes, vec![Outcome::PartiallyPaid]);
    assert!(p.flagged);
    assert_eq!(p.status, PaymentStatus::Pending);
    assert_eq!(p.actually_paid, Some(0.0001));
    assert_eq!(sub, None);
}

#[test]
fn an_older_event_after_a_newer_one_never_moves_status_backwards() {
    let (p, sub, outcomes) = run(&[
        np("finished", 0.00045, 5000),
        np("waiting", 0.0, 1000),
        np("confirming", 0.0002, 2000),
    ]);
    assert_eq!(
        outcomes,
        vec![Outcome::Activated, Outcome::Stale, Outcome::Stale]
    );
    assert_eq!(p.status, PaymentStatus::Completed);
    assert_eq!(p.actually_paid, Some(0.00045));
    assert_eq!(p.last_event_at, Some(T0 + 5000));
    assert_eq!(sub.unwrap().expires_at, Some(NOW + MONTH));
}

#[test]
fn an_older_progress_event_does_not_overwrite_newer_progress() {
    let (p, _, _) = run(&[np("confirming", 0.0004, 5000), np("waiting", 0.0001, 1000)]);
    assert_eq!(p.actually_paid, Some(0.0004));
    assert_eq!(p.status, PaymentStatus::Pending);
}

#[test]
fn a_completed_payment_is_never_downgraded_by_failed_or_expired() {
    for late in ["failed", "expired"] {
        let (p, sub, outcomes) = run(&[np("finished", 0.00045, 1000), np(late, 0.0, 9000)]);
        assert_eq!(outcomes[1], Outcome::NoChange, "{late}");
        assert_eq!(p.status, PaymentStatus::Completed);
        assert!(sub.unwrap().is_valid(NOW));
    }
}

#[test]
fn failed_and_expired_are_final_for_the_attempt_without_activation() {
    for status in ["failed", "expired"] {
        let (p, sub, _) = run(&[np(status, 0.0, 1000), np("waiting", 0.0, 2000)]);
        assert_eq!(p.status.as_str(), status);
        assert_eq!(sub, None);
    }
    let (p, _, _) = run(&[np("failed", 0.0, 1000), np("expired", 0.0, 2000)]);
    assert_eq!(p.status, PaymentStatus::Failed);
}

#[test]
fn money_reported_after_expiry_still_completes_and_activates() {
    let (p, sub, outcomes) = run(&[np("expired", 0.0, 1000), np("finished", 0.00045, 2000)]);
    assert_eq!(outcomes[1], Outcome::Activated);
    assert_eq!(p.status, PaymentStatus::Completed);
    assert!(sub.is_some());
}

#[test]
fn a_refund_after_completion_refunds_and_ends_the_subscription_now() {
    let (p, sub, outcomes) = run(&[np("finished", 0.00045, 1000), np("refunded", 0.00045, 2000)]);
    assert_eq!(outcomes[1], Outcome::Refunded);
    assert_eq!(p.status, PaymentStatus::Refunded);
    let s = sub.unwrap();
    assert_eq!(s.expires_at, Some(NOW));
    assert!(!s.is_valid(NOW + 1));
}

#[test]
fn a_refunded_payment_stays_refunded() {
    let (p, _, outcomes) = run(&[np("refunded", 0.0, 1000), np("finished", 0.00045, 2000)]);
    assert_eq!(p.status, PaymentStatus::Refunded);
    assert_eq!(outcomes[1], Outcome::NoChange);
}

#[test]
fn a_replayed_finished_does_not_extend_twice() {
    let (_, sub, outcomes) = run(&[np("finished", 0.00045, 1000), np("finished", 0.00045, 1000)]);
    assert_eq!(outcomes, vec![Outcome::Activated, Outcome::NoChange]);
    assert_eq!(sub.unwrap().expires_at, Some(NOW + MONTH));
}

#[test]
fn a_tampered_price_currency_or_order_is_a_mismatch() {
    let current = record(Provider::NowPayments);
    let cases = [
        (
            np_raw("finished", json!(1), json!(1.9), json!(0), json!(T0)),
            MismatchField::Amount,
        ),
        (
            np_raw("finished", json!(1), json!(190), json!(0), json!(T0)),
            MismatchField::Amount,
        ),
    ];
    for (raw, field) in cases {
        let event = parse_nowpayments(&raw).unwrap();
        assert_eq!(
            apply(&current, None, &event),
            Err(ApplyError::Mismatch { field })
        );
    }
    let mut body: J = serde_json::from_slice(&np_raw(
        "finished",
        json!(1),
        json!(19),
        json!(0),
        json!(T0),
    ))
    .unwrap();
    body["price_currency"] = json!("eur");
    let event = parse_nowpayments(&serde_json::to_vec(&body).unwrap()).unwrap();
    assert_eq!(
        apply(&current, None, &event),
        Err(ApplyError::Mismatch {
            field: MismatchField::Currency
        })
    );
    body["price_currency"] = json!("usd");
    body["order_id"] = json!("43");
    let event = parse_nowpayments(&serde_json::to_vec(&body).unwrap()).unwrap();
    assert_eq!(
        apply(&current, None, &event),
        Err(ApplyError::Mismatch {
            field: MismatchField::PaymentId
        })
    );
    assert_eq!(
        apply(
            &record(Provider::LemonSqueezy),
            None,
            &np("finished", 0.1, 0)
        ),
        Err(ApplyError::Mismatch {
            field: MismatchField::Provider
        })
    );
}

#[test]
fn a_second_paid_attempt_on_a_completed_order_is_flagged_as_duplicate() {
    let (paid, sub, _) = run(&[np("finished", 0.00045, 1000)]);
    let second = parse_nowpayments(&np_raw(
        "finished",
        json!(6_000_000_000_u64),
        json!(19),
        json!(0.00045),
        json!(T0 + 3000),
    ))
    .unwrap();
    let d = apply(&paid, sub.as_ref(), &second).unwrap();
    assert_eq!(d.outcome, Outcome::DuplicatePayment);
    let p = d.payment.unwrap();
    assert!(p.flagged);
    assert_eq!(p.external_id.as_deref(), Some("5077125051"));
    assert_eq!(d.subscription, None);
}

#[test]
fn while_pending_a_newer_attempt_on_the_same_invoice_becomes_ours() {
    let first = np("waiting", 0.0, 1000);
    let second = parse_nowpayments(&np_raw(
        "finished",
        json!(6_000_000_000_u64),
        json!(19),
        json!(0.00045),
        json!(T0 + 3000),
    ))
    .unwrap();
    let (p, sub, outcomes) = run(&[first, second]);
    assert_eq!(outcomes[1], Outcome::Activated);
    assert_eq!(p.external_id.as_deref(), Some("6000000000"));
    assert!(sub.is_some());
}

#[test]
fn other_attempts_that_did_not_pay_are_stale_once_the_order_is_settled() {
    let (paid, sub, _) = run(&[np("finished", 0.00045, 1000)]);
    let other = parse_nowpayments(&np_raw(
        "expired",
        json!(6_000_000_000_u64),
        json!(19),
        json!(0),
        json!(T0 + 3000),
    ))
    .unwrap();
    let d = apply(&paid, sub.as_ref(), &other).unwrap();
    assert_eq!(d.outcome, Outcome::Stale);
    assert_eq!((d.payment, d.subscription), (None, None));
}

#[test]
fn a_lifetime_crypto_payment_sets_no_expiry() {
    let mut current = record(Provider::NowPayments);
    current.offer = Offer::Lifetime;
    current.amount = Amount::from_units(999).unwrap();
    let raw = np_raw("finished", json!(1), json!(999), json!(0.01), json!(T0));
    let d = apply(
        &current,
        Some(&active_sub(Plan::Pro, Some(NOW + DAY_MS), None)),
        &parse_nowpayments(&raw).unwrap(),
    )
    .unwrap();
    let s = d.subscription.unwrap();
    assert_eq!((s.plan, s.expires_at), (Plan::Lifetime, None));
    assert_eq!(
        crate::subscription::effective_tier(Some(&s), NOW + 100 * 365 * DAY_MS),
        crate::plan::Tier::Premium
    );
}

#[test]
fn a_payment_for_a_suspended_subscription_is_completed_but_flagged() {
    let mut suspended = active_sub(Plan::Pro, Some(NOW + DAY_MS), None);
    suspended.status = SubscriptionStatus::Suspended;
    let d = apply(
        &record(Provider::NowPayments),
        Some(&suspended),
        &np("finished", 0.00045, 0),
    )
    .unwrap();
    assert_eq!(d.outcome, Outcome::SubscriptionSuspended);
    assert!(d.payment.unwrap().flagged);
    assert_eq!(d.subscription, None);
}

#[test]
fn outcomes_have_distinct_stored_words() {
    let all = [
        Outcome::Activated,
        Outcome::Extended,
        Outcome::AlreadyLifetime,
        Outcome::SubscriptionSuspended,
        Outcome::Pending,
        Outcome::PartiallyPaid,
        Outcome::DuplicatePayment,
        Outcome::Failed,
        Outcome::Expired,
        Outcome::Refunded,
        Outcome::SubscriptionLinked,
        Outcome::SubscriptionCancelled,
        Outcome::SubscriptionExpired,
        Outcome::NotCurrentSubscription,
        Outcome::NoChange,
        Outcome::Stale,
        Outcome::IgnoredTestMode,
        Outcome::Ignored,
    ];
    let mut words: Vec<&str> = all.iter().map(|o| o.as_str()).collect();
    words.sort_unstable();
    words.dedup();
    assert_eq!(words.len(), all.len());
}
