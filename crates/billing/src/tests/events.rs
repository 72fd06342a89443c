use serde_json::json;

use super::*;
use crate::events::{
    BillingReason, EventError, LemonSqueezyEventKind, NowPaymentsStatus, PaymentRef, VariantMatch,
};

fn ls_event(event: &BillingEvent) -> &crate::events::LemonSqueezyEvent {
    match event {
        BillingEvent::LemonSqueezy(e) => e,
        other => panic!("not a LemonSqueezy event: {other:?}"),
    }
}

#[test]
fn an_order_created_body_reads_into_a_typed_event() {
    let event = order_created();
    let e = ls_event(&event);
    assert_eq!(e.kind, LemonSqueezyEventKind::OrderCreated);
    assert_eq!(e.object_id, "5001");
    assert_eq!(e.updated_at.millis(), T0 + 1000);
    assert_eq!(e.updated_at.raw(), "2024-01-01T00:00:01.000000Z");
    assert_eq!(e.custom.user_id, user());
    assert_eq!(e.custom.payment_id, pid(42));
    assert_eq!(e.custom.offer, Offer::Pro(BillingCycle::Monthly));
    assert_eq!(e.subtotal.map(Amount::minor), Some(1900));
    assert_eq!(e.total.map(Amount::minor), Some(2261));
    assert_eq!(e.currency, Some(Currency::USD));
    assert_eq!(
        e.variant,
        Some(VariantMatch::Ours(Offer::Pro(BillingCycle::Monthly)))
    );
    assert_eq!(e.status, "paid");
    assert!(!e.test_mode);
    assert_eq!(event.payment_ref(), Some(PaymentRef::Ours(pid(42))));
}

#[test]
fn the_lemonsqueezy_dedup_key_is_event_name_object_id_and_updated_at() {
    let key = order_created().event_key().unwrap();
    assert_eq!(key.provider(), Provider::LemonSqueezy);
    assert_eq!(
        key.as_str(),
        "order_created|5001|2024-01-01T00:00:01.000000Z"
    );
}

#[test]
fn a_replayed_body_gives_the_same_dedup_key_even_reformatted() {
    let raw = ls_raw(
        "order_created",
        "orders",
        "5001",
        order_attrs("paid", 1900, 1000),
        custom(),
    );
    let pretty = serde_json::to_vec_pretty(&serde_json::from_slice::<J>(&raw).unwrap()).unwrap();
    assert_eq!(ls(&raw).event_key(), ls(&raw).event_key());
    assert_eq!(ls(&raw).event_key(), ls(&pretty).event_key());
    let later = ls_raw(
        "order_created",
        "orders",
        "5001",
        order_attrs("paid", 1900, 2000),
        custom(),
    );
    assert_ne!(ls(&raw).event_key(), ls(&later).event_key());
}

#[test]
fn custom_data_may_carry_numbers_instead_of_strings() {
    let custom = json!({"user_id": 7, "plan": "pro", "billing_cycle": "monthly", "payment_id": 42});
    let event = ls(&ls_raw(
        "order_created",
        "orders",
        "5001",
        order_attrs("paid", 1900, 0),
        custom,
    ));
    assert_eq!(ls_event(&event).custom.payment_id, pid(42));
}

#[test]
fn lifetime_custom_data_uses_the_lifetime_cycle() {
    let custom = json!({"user_id": "7", "plan": "lifetime", "billing_cycle": "lifetime", "payment_id": "42"});
    let event = ls(&ls_raw(
        "order_created",
        "orders",
        "5001",
        order_attrs("paid", 1900, 0),
        custom,
    ));
    assert_eq!(ls_event(&event).custom.offer, Offer::Lifetime);
}

#[test]
fn missing_or_invalid_custom_data_is_an_error() {
    let attrs = || order_attrs("paid", 1900, 0);
    let cases = [
        (
            json!(null),
            EventError::Missing {
                field: "meta.custom_data",
            },
        ),
        (
            json!({"user_id": "7", "plan": "pro", "billing_cycle": "monthly"}),
            EventError::Missing {
                field: "meta.custom_data.payment_id",
            },
        ),
        (
            json!({"user_id": "0", "plan": "pro", "billing_cycle": "monthly", "payment_id": "42"}),
            EventError::Invalid {
                field: "meta.custom_data.user_id",
            },
        ),
        (
            json!({"user_id": "7", "plan": "gold", "billing_cycle": "monthly", "payment_id": "42"}),
            EventError::Invalid {
                field: "meta.custom_data.plan",
            },
        ),
        (
            json!({"user_id": "7", "plan": "lifetime", "billing_cycle": "monthly", "payment_id": "42"}),
            EventError::Invalid {
                field: "meta.custom_data.billing_cycle",
            },
        ),
    ];
    for (custom, expected) in cases {
        let raw = ls_raw("order_created", "orders", "5001", attrs(), custom);
        assert_eq!(parse_lemonsqueezy(&raw, &variants()), Err(expected));
    }
}

#[test]
fn unknown_lemonsqueezy_event_names_are_ignored_not_rejected() {
    let raw = ls_raw(
        "license_key_created",
        "license-keys",
        "1",
        json!({}),
        json!(null),
    );
    let event = ls(&raw);
    assert!(matches!(&event, BillingEvent::Ignored(i) if i.name == "license_key_created"));
    assert_eq!(event.event_key(), None);
    assert_eq!(event.payment_ref(), None);
}

#[test]
fn a_data_type_that_does_not_fit_the_event_is_rejected() {
    let raw = ls_raw(
        "order_created",
        "subscriptions",
        "5001",
        order_attrs("paid", 1900, 0),
        custom(),
    );
    assert_eq!(
        parse_lemonsqueezy(&raw, &variants()),
        Err(EventError::Invalid { field: "data.type" })
    );
}

#[test]
fn a_bad_updated_at_or_object_id_is_rejected() {
    let mut attrs = order_attrs("paid", 1900, 0);
    attrs["updated_at"] = json!("yesterday");
    let raw = ls_raw("order_created", "orders", "5001", attrs, custom());
    assert_eq!(
        parse_lemonsqueezy(&raw, &variants()),
        Err(EventError::Invalid {
            field: "data.attributes.updated_at"
        })
    );
    let raw = ls_raw(
        "order_created",
        "orders",
        "50|01",
        order_attrs("paid", 1900, 0),
        custom(),
    );
    assert_eq!(
        parse_lemonsqueezy(&raw, &variants()),
        Err(EventError::Invalid { field: "data.id" })
    );
}

#[test]
fn a_foreign_variant_is_reported_as_foreign() {
    let mut attrs = order_attrs("paid", 1900, 0);
    attrs["first_order_item"]["variant_id"] = json!(999);
    let event = ls(&ls_raw("order_created", "orders", "5001", attrs, custom()));
    assert_eq!(ls_event(&event).variant, Some(VariantMatch::Foreign));
}

#[test]
fn test_mode_is_read_from_meta_or_attributes() {
    let mut attrs = order_attrs("paid", 1900, 0);
    attrs["test_mode"] = json!(true);
    let event = ls(&ls_raw("order_created", "orders", "5001", attrs, custom()));
    assert!(ls_event(&event).test_mode);
}

#[test]
fn a_renewal_invoice_refers_to_a_new_row_by_invoice_id() {
    let raw = ls_raw(
        "subscription_payment_success",
        "subscription-invoices",
        "7001",
        invoice_attrs("renewal", 1900, 0),
        custom(),
    );
    let event = ls(&raw);
    let e = ls_event(&event);
    assert_eq!(e.billing_reason, Some(BillingReason::Renewal));
    assert_eq!(e.subscription_id.as_deref(), Some("9001"));
    assert!(e.is_renewal());
    assert_eq!(
        event.payment_ref(),
        Some(PaymentRef::Renewal {
            original: pid(42),
            external_id: "invoice-7001".into()
        })
    );
    let initial = ls(&ls_raw(
        "subscription_payment_success",
        "subscription-invoices",
        "7000",
        invoice_attrs("initial", 1900, 0),
        custom(),
    ));
    assert_eq!(initial.payment_ref(), Some(PaymentRef::Ours(pid(42))));
}

#[test]
fn duplicate_keys_in_a_verified_body_are_rejected() {
    let raw = br#"{"meta":{"event_name":"order_created","event_name":"order_refunded"}}"#;
    assert!(matches!(
        parse_lemonsqueezy(raw, &variants()),
        Err(EventError::Json(_))
    ));
}

#[test]
fn a_nowpayments_ipn_reads_into_a_typed_event() {
    let event = np("confirming", 0.0002, 5000);
    let BillingEvent::NowPayments(e) = &event else {
        panic!("not NOWPayments")
    };
    assert_eq!(e.status, NowPaymentsStatus::Confirming);
    assert_eq!(e.payment_id, "5077125051");
    assert_eq!(e.order_id, pid(42));
    assert_eq!(e.price_amount.minor(), 1900);
    assert_eq!(e.price_currency, Currency::USD);
    assert_eq!(e.pay_currency.as_deref(), Some("btc"));
    assert_eq!(e.actually_paid, Some(0.0002));
    assert_eq!(e.updated_at.millis(), T0 + 5000);
    assert_eq!(event.payment_ref(), Some(PaymentRef::Ours(pid(42))));
}

#[test]
fn the_nowpayments_dedup_key_is_payment_id_status_and_updated_at() {
    let key = np("finished", 0.00045, 5000).event_key().unwrap();
    assert_eq!(key.provider(), Provider::NowPayments);
    assert_eq!(key.as_str(), format!("5077125051|finished|{}", T0 + 5000));
    // The same delivery replayed, with the id sent as a string, keys the same.
    let as_string = parse_nowpayments(&np_raw(
        "finished",
        json!("5077125051"),
        json!(19),
        json!(0.00045),
        json!(T0 + 5000),
    ))
    .unwrap();
    assert_eq!(as_string.event_key(), Some(key));
}

#[test]
fn nowpayments_price_amounts_are_read_exactly() {
    for (price, cents) in [
        (json!(19), 1900),
        (json!(19.5), 1950),
        (json!("19.00"), 1900),
    ] {
        let event =
            parse_nowpayments(&np_raw("waiting", json!(1), price, json!(0), json!(T0))).unwrap();
        let BillingEvent::NowPayments(e) = event else {
            panic!("not NOWPayments")
        };
        assert_eq!(e.price_amount.minor(), cents);
    }
    let sub_cent = np_raw("waiting", json!(1), json!(19.001), json!(0), json!(T0));
    assert_eq!(
        parse_nowpayments(&sub_cent),
        Err(EventError::Invalid {
            field: "price_amount"
        })
    );
}

#[test]
fn nowpayments_updated_at_may_be_an_rfc3339_string() {
    let raw = np_raw(
        "waiting",
        json!(1),
        json!(19),
        json!(0),
        json!("2024-01-01T00:00:05.000Z"),
    );
    assert_eq!(
        parse_nowpayments(&raw).unwrap().updated_at_ms(),
        Some(T0 + 5000)
    );
    let bad = np_raw("waiting", json!(1), json!(19), json!(0), json!(1.5));
    assert_eq!(
        parse_nowpayments(&bad),
        Err(EventError::Invalid {
            field: "updated_at"
        })
    );
}

#[test]
fn unknown_nowpayments_statuses_are_ignored() {
    let raw = np_raw("on_hold", json!(1), json!(19), json!(0), json!(T0));
    assert!(matches!(parse_nowpayments(&raw), Ok(BillingEvent::Ignored(i)) if i.name == "on_hold"));
}

#[test]
fn a_nowpayments_ipn_without_order_id_or_updated_at_is_rejected() {
    let mut body: J =
        serde_json::from_slice(&np_raw("waiting", json!(1), json!(19), json!(0), json!(T0)))
            .unwrap();
    body.as_object_mut().unwrap().remove("order_id");
    assert_eq!(
        parse_nowpayments(&serde_json::to_vec(&body).unwrap()),
        Err(EventError::Missing { field: "order_id" })
    );
    body["order_id"] = json!("42");
    body.as_object_mut().unwrap().remove("updated_at");
    assert_eq!(
        parse_nowpayments(&serde_json::to_vec(&body).unwrap()),
        Err(EventError::Missing {
            field: "updated_at"
        })
    );
}

#[test]
fn negative_or_infinite_actually_paid_is_rejected() {
    let raw = br#"{"payment_id":1,"payment_status":"waiting","order_id":"42","price_amount":19,"price_currency":"usd","actually_paid":1e999,"updated_at":1}"#;
    assert_eq!(
        parse_nowpayments(raw),
        Err(EventError::Invalid {
            field: "actually_paid"
        })
    );
    let raw = br#"{"payment_id":1,"payment_status":"waiting","order_id":"42","price_amount":19,"price_currency":"usd","actually_paid":-1,"updated_at":1}"#;
    assert_eq!(
        parse_nowpayments(raw),
        Err(EventError::Invalid {
            field: "actually_paid"
        })
    );
}
