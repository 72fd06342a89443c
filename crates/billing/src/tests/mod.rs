//! Cross-module tests: events, `apply_event`, checkout, and the canonicaliser properties.
//! Bodies are built with `serde_json::json!`, an independent writer, and read by our parser.

mod apply_lemonsqueezy;
mod apply_nowpayments;
mod canonical_props;
mod checkout;
mod events;

use serde_json::{json, Value as J};

use crate::events::{parse_lemonsqueezy, parse_nowpayments, BillingEvent};
use crate::money::{Amount, Currency};
use crate::payment::{PaymentRecord, PaymentStatus};
use crate::plan::{BillingCycle, Offer, PaymentId, Plan, Provider, UserId, VariantTable};
use crate::subscription::{Subscription, SubscriptionSource, SubscriptionStatus};
use crate::time::DAY_MS;

/// 2024-01-01T00:00:00Z.
pub(crate) const T0: i64 = 1_704_067_200_000;
pub(crate) const NOW: i64 = T0 + DAY_MS;
pub(crate) const MONTH: i64 = 30 * DAY_MS;

pub(crate) fn variants() -> VariantTable {
    VariantTable::new("101", "102", "201", "202", "301").unwrap()
}

pub(crate) fn user() -> UserId {
    UserId::new(7).unwrap()
}

pub(crate) fn pid(id: i64) -> PaymentId {
    PaymentId::new(id).unwrap()
}

pub(crate) fn custom() -> J {
    json!({"user_id": "7", "plan": "pro", "billing_cycle": "monthly", "payment_id": "42"})
}

/// An RFC 3339 string `offset_ms` after T0, with microseconds like LemonSqueezy sends.
pub(crate) fn ls_time(offset_ms: i64) -> String {
    let secs = offset_ms / 1000;
    let ms = offset_ms % 1000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    assert!(h < 24, "fixture times stay within the first day");
    format!("2024-01-01T{h:02}:{m:02}:{s:02}.{ms:03}000Z")
}

pub(crate) fn ls_raw(event: &str, data_type: &str, id: &str, attributes: J, custom: J) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "meta": {"event_name": event, "custom_data": custom, "test_mode": false, "webhook_id": "w-1"},
        "data": {"type": data_type, "id": id, "attributes": attributes},
    }))
    .unwrap()
}

pub(crate) fn ls(raw: &[u8]) -> BillingEvent {
    parse_lemonsqueezy(raw, &variants()).unwrap()
}

pub(crate) fn order_attrs(status: &str, subtotal: i64, updated: i64) -> J {
    json!({
        "store_id": 1, "status": status, "currency": "USD", "subtotal": subtotal, "tax": 361,
        "total": subtotal + 361, "first_order_item": {"variant_id": 101, "price": subtotal},
        "created_at": ls_time(0), "updated_at": ls_time(updated), "test_mode": false
    })
}

pub(crate) fn order_created() -> BillingEvent {
    ls(&ls_raw(
        "order_created",
        "orders",
        "5001",
        order_attrs("paid", 1900, 1000),
        custom(),
    ))
}

pub(crate) fn subscription_attrs(status: &str, updated: i64) -> J {
    json!({"status": status, "variant_id": 101, "order_id": 5001, "renews_at": ls_time(0),
           "updated_at": ls_time(updated), "test_mode": false})
}

pub(crate) fn invoice_attrs(reason: &str, subtotal: i64, updated: i64) -> J {
    json!({"subscription_id": 9001, "billing_reason": reason, "status": "paid", "currency": "USD",
           "subtotal": subtotal, "total": subtotal, "updated_at": ls_time(updated), "test_mode": false})
}

pub(crate) fn np_raw(
    status: &str,
    payment_id: J,
    price: J,
    actually_paid: J,
    updated: J,
) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "payment_id": payment_id, "payment_status": status, "pay_address": "bc1qexample",
        "price_amount": price, "price_currency": "usd", "pay_amount": 0.00045, "pay_currency": "btc",
        "actually_paid": actually_paid, "order_id": "42", "order_description": "CryptoLens Edge pro monthly",
        "outcome_amount": 0.00044, "outcome_currency": "btc", "updated_at": updated,
        "fee": {"currency": "btc", "depositFee": 0, "withdrawalFee": 0, "serviceFee": 0}
    }))
    .unwrap()
}

pub(crate) fn np(status: &str, actually_paid: f64, updated: i64) -> BillingEvent {
    parse_nowpayments(&np_raw(
        status,
        json!(5_077_125_051_u64),
        json!(19),
        json!(actually_paid),
        json!(T0 + updated),
    ))
    .unwrap()
}

pub(crate) fn record(provider: Provider) -> PaymentRecord {
    PaymentRecord {
        id: Some(pid(42)),
        user_id: user(),
        provider,
        external_id: None,
        offer: Offer::Pro(BillingCycle::Monthly),
        amount: Amount::from_units(19).unwrap(),
        currency: Currency::USD,
        crypto_currency: (provider == Provider::NowPayments).then(|| "btc".to_owned()),
        actually_paid: None,
        status: PaymentStatus::Pending,
        flagged: false,
        completed_at: None,
        last_event_at: None,
    }
}

pub(crate) fn active_sub(plan: Plan, expires_at: Option<i64>, link: Option<&str>) -> Subscription {
    Subscription {
        user_id: user(),
        plan,
        status: SubscriptionStatus::Active,
        starts_at: T0 - MONTH,
        expires_at,
        cancelled_at: None,
        provider: Some(SubscriptionSource::LemonSqueezy),
        external_subscription_id: link.map(str::to_owned),
    }
}
