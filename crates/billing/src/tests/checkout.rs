use serde_json::json;

use super::*;
use crate::checkout::{
    ensure_purchase_allowed, lemonsqueezy_checkout, new_payment, nowpayments_invoice,
    CheckoutConfig, CheckoutConfigError, CheckoutError, CheckoutRequest, CheckoutRequestDto,
    CheckoutSettings, Coin, PaymentMethod,
};
use crate::events::VariantMatch;
use crate::payment::{apply_event, Outcome};
use crate::plan::PriceTable;

fn settings() -> CheckoutSettings {
    CheckoutSettings {
        prices: PriceTable::new(Amount::from_units(999).unwrap()).unwrap(),
        variants: variants(),
        coins: Coin::ALL.to_vec(),
        lemonsqueezy_store_id: "12345".into(),
        success_url: "https://cryptolens.example/billing/success".into(),
        cancel_url: "https://cryptolens.example/billing/cancel".into(),
        ipn_callback_url: "https://cryptolens.example/api/v1/webhooks/nowpayments".into(),
        lemonsqueezy_test_mode: false,
    }
}

fn config() -> CheckoutConfig {
    CheckoutConfig::new(settings()).unwrap()
}

fn dto(
    provider: &str,
    plan: &str,
    cycle: Option<&str>,
    crypto: Option<&str>,
) -> CheckoutRequestDto {
    CheckoutRequestDto {
        provider: provider.into(),
        plan: plan.into(),
        cycle: cycle.map(Into::into),
        crypto: crypto.map(Into::into),
    }
}

fn parse(d: &CheckoutRequestDto) -> Result<CheckoutRequest, CheckoutError> {
    CheckoutRequest::parse(d, &config())
}

#[test]
fn valid_requests_become_typed_offers_and_methods() {
    let r = parse(&dto("lemonsqueezy", "pro", Some("monthly"), None)).unwrap();
    assert_eq!(
        (r.provider(), r.offer()),
        (Provider::LemonSqueezy, Offer::Pro(BillingCycle::Monthly))
    );
    let r = parse(&dto("nowpayments", "lifetime", None, Some("btc"))).unwrap();
    assert_eq!(
        (r.method(), r.offer()),
        (PaymentMethod::NowPayments(Coin::Btc), Offer::Lifetime)
    );
    let r = parse(&dto("nowpayments", "premium", Some("yearly"), Some("DOGE"))).unwrap();
    assert_eq!(r.method(), PaymentMethod::NowPayments(Coin::Doge));
}

#[test]
fn invalid_requests_name_the_offending_field() {
    let cases = [
        (
            dto("stripe", "pro", Some("monthly"), None),
            CheckoutError::Provider,
        ),
        (
            dto("LemonSqueezy", "pro", Some("monthly"), None),
            CheckoutError::Provider,
        ),
        (
            dto("lemonsqueezy", "gold", Some("monthly"), None),
            CheckoutError::Plan,
        ),
        (dto("lemonsqueezy", "pro", None, None), CheckoutError::Cycle),
        (
            dto("lemonsqueezy", "pro", Some("weekly"), None),
            CheckoutError::Cycle,
        ),
        (
            dto("lemonsqueezy", "lifetime", Some("yearly"), None),
            CheckoutError::Cycle,
        ),
        (
            dto("lemonsqueezy", "pro", Some("monthly"), Some("BTC")),
            CheckoutError::CoinNotExpected,
        ),
        (
            dto("nowpayments", "pro", Some("monthly"), None),
            CheckoutError::Coin,
        ),
        (
            dto("nowpayments", "pro", Some("monthly"), Some("XMR")),
            CheckoutError::Coin,
        ),
    ];
    for (d, expected) in cases {
        assert_eq!(parse(&d), Err(expected), "{d:?}");
    }
}

#[test]
fn coins_outside_the_configured_allowlist_are_refused() {
    let config = CheckoutConfig::new(CheckoutSettings {
        coins: vec![Coin::Btc, Coin::Eth],
        ..settings()
    })
    .unwrap();
    let d = dto("nowpayments", "pro", Some("monthly"), Some("LTC"));
    assert_eq!(
        CheckoutRequest::parse(&d, &config),
        Err(CheckoutError::Coin)
    );
}

#[test]
fn unknown_fields_in_the_request_body_are_refused() {
    let body = json!({"provider": "lemonsqueezy", "plan": "pro", "cycle": "monthly", "user_id": 1});
    assert!(serde_json::from_value::<CheckoutRequestDto>(body).is_err());
    let body = json!({"provider": "lemonsqueezy", "plan": "lifetime"});
    assert!(serde_json::from_value::<CheckoutRequestDto>(body).is_ok());
}

#[test]
fn checkout_configuration_requires_https_urls_a_store_and_coins() {
    let http = CheckoutSettings {
        ipn_callback_url: "http://cryptolens.example/ipn".into(),
        ..settings()
    };
    assert_eq!(
        CheckoutConfig::new(http).unwrap_err(),
        CheckoutConfigError::Url {
            name: "ipn_callback_url"
        }
    );
    let bare = CheckoutSettings {
        success_url: "https://".into(),
        ..settings()
    };
    assert!(CheckoutConfig::new(bare).is_err());
    let spaced = CheckoutSettings {
        cancel_url: "https://a.example/x y".into(),
        ..settings()
    };
    assert!(CheckoutConfig::new(spaced).is_err());
    let no_store = CheckoutSettings {
        lemonsqueezy_store_id: String::new(),
        ..settings()
    };
    assert_eq!(
        CheckoutConfig::new(no_store).unwrap_err(),
        CheckoutConfigError::StoreId
    );
    let no_coins = CheckoutSettings {
        coins: vec![],
        ..settings()
    };
    assert_eq!(
        CheckoutConfig::new(no_coins).unwrap_err(),
        CheckoutConfigError::NoCoins
    );
}

#[test]
fn the_pending_payment_is_priced_from_the_table_in_usd() {
    let cfg = config();
    let cases = [
        (dto("lemonsqueezy", "pro", Some("monthly"), None), 1900),
        (dto("lemonsqueezy", "pro", Some("yearly"), None), 19_000),
        (dto("lemonsqueezy", "premium", Some("monthly"), None), 4900),
        (
            dto("nowpayments", "premium", Some("yearly"), Some("eth")),
            49_000,
        ),
        (dto("nowpayments", "lifetime", None, Some("usdt")), 99_900),
    ];
    for (d, cents) in cases {
        let p = new_payment(user(), &parse(&d).unwrap(), &cfg, NOW);
        assert_eq!(p.amount.minor(), cents, "{d:?}");
        assert_eq!(p.currency, Currency::USD);
        assert_eq!(p.status, PaymentStatus::Pending);
    }
}

#[test]
fn a_valid_lifetime_or_a_suspension_blocks_a_new_purchase() {
    assert_eq!(ensure_purchase_allowed(None, NOW), Ok(()));
    let lifetime = active_sub(Plan::Lifetime, None, None);
    assert_eq!(
        ensure_purchase_allowed(Some(&lifetime), NOW),
        Err(CheckoutError::AlreadyLifetime)
    );
    let mut suspended = active_sub(Plan::Pro, Some(NOW + DAY_MS), None);
    suspended.status = SubscriptionStatus::Suspended;
    assert_eq!(
        ensure_purchase_allowed(Some(&suspended), NOW),
        Err(CheckoutError::Suspended)
    );
    let pro = active_sub(Plan::Pro, Some(NOW + DAY_MS), None);
    assert_eq!(ensure_purchase_allowed(Some(&pro), NOW), Ok(()));
}

#[test]
fn the_lemonsqueezy_checkout_body_carries_variant_store_and_custom_data() {
    let cfg = config();
    let p = new_payment(
        user(),
        &parse(&dto("lemonsqueezy", "premium", Some("yearly"), None)).unwrap(),
        &cfg,
        NOW,
    );
    let body = serde_json::to_value(lemonsqueezy_checkout(
        &cfg,
        pid(42),
        &p,
        Some("a@b.example"),
    ))
    .unwrap();
    assert_eq!(
        body,
        json!({"data": {
            "type": "checkouts",
            "attributes": {
                "checkout_data": {"email": "a@b.example", "custom": {
                    "user_id": "7", "plan": "premium", "billing_cycle": "yearly", "payment_id": "42"}},
                "product_options": {"redirect_url": "https://cryptolens.example/billing/success"},
                "test_mode": false
            },
            "relationships": {
                "store": {"data": {"type": "stores", "id": "12345"}},
                "variant": {"data": {"type": "variants", "id": "202"}}
            }
        }})
    );
}

#[test]
fn the_custom_data_we_send_is_exactly_what_the_webhook_reader_accepts() {
    let cfg = config();
    for d in [
        dto("lemonsqueezy", "pro", Some("monthly"), None),
        dto("lemonsqueezy", "lifetime", None, None),
    ] {
        let p = new_payment(user(), &parse(&d).unwrap(), &cfg, NOW);
        let body = serde_json::to_value(lemonsqueezy_checkout(&cfg, pid(42), &p, None)).unwrap();
        let custom = body["data"]["attributes"]["checkout_data"]["custom"].clone();
        let variant: i64 = body["data"]["relationships"]["variant"]["data"]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let mut attrs = order_attrs("paid", p.amount.minor(), 0);
        attrs["first_order_item"]["variant_id"] = json!(variant);
        let event = ls(&ls_raw("order_created", "orders", "5001", attrs, custom));
        let BillingEvent::LemonSqueezy(e) = &event else {
            panic!("not LemonSqueezy")
        };
        assert_eq!(e.custom.offer, p.offer);
        assert_eq!(e.variant, Some(VariantMatch::Ours(p.offer)));
        let d = apply_event(&p.clone().into_record(pid(42)), None, &event, NOW, false).unwrap();
        assert_eq!(d.outcome, Outcome::Activated);
    }
}

#[test]
fn the_nowpayments_invoice_uses_usd_our_order_id_and_the_ipn_url() {
    let cfg = config();
    let p = new_payment(
        user(),
        &parse(&dto("nowpayments", "pro", Some("monthly"), Some("USDT"))).unwrap(),
        &cfg,
        NOW,
    );
    let body = serde_json::to_value(nowpayments_invoice(&cfg, pid(42), &p).unwrap()).unwrap();
    assert_eq!(
        body,
        json!({
            "price_amount": 19.0, "price_currency": "usd", "pay_currency": "usdt", "order_id": "42",
            "order_description": "CryptoLens Edge pro monthly",
            "ipn_callback_url": "https://cryptolens.example/api/v1/webhooks/nowpayments",
            "success_url": "https://cryptolens.example/billing/success",
            "cancel_url": "https://cryptolens.example/billing/cancel"
        })
    );
    let ls_payment = new_payment(
        user(),
        &parse(&dto("lemonsqueezy", "pro", Some("monthly"), None)).unwrap(),
        &cfg,
        NOW,
    );
    assert!(nowpayments_invoice(&cfg, pid(42), &ls_payment).is_none());
}
