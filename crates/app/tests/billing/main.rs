//! Host tests of the billing use cases over the memory store: signed webhooks (verify first,
//! replay, mismatch, out-of-order), checkout with a fake provider, the concurrency retry, the
//! subscriptions job.

// Test code: panics carry the context, like assertions do.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use cl_app::billing::{
    BillingConfig, BillingService, Buyer, CheckError, CheckoutFailure, WebhookError,
    WebhookOutcome, WebhookSecrets, UNKNOWN_PAYMENT,
};
use cl_app::ports::{
    ApplyOutcome, BillingStore, CheckoutUrl, NewUser, Page, PageRequest, PaymentId,
    PaymentProvider, PaymentStatus, Provider, ProviderCheckout, ProviderError, StoreError,
    StoredPayment, StoredSubscription, StoredWebhookEvent, UserStore, WarningKey, WebhookWrite,
};
use cl_auth::email::{Email, Username};
use cl_auth::SecretString;
use cl_billing::checkout::{
    CheckoutConfig, CheckoutError, CheckoutRequestDto, CheckoutSettings, Coin, NewPayment,
};
use cl_billing::plan::{PriceTable, VariantTable};
use cl_billing::subscription::SubscriptionStatus;
use cl_billing::{Amount, Outcome, SignatureError, UserId};
use cl_store_memory::MemoryStore;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Sha256, Sha512};
use std::cell::{Cell, RefCell};

const LS_SECRET: &str = "ls-secret-0123456789abcdef";
const NP_SECRET: &str = "np-secret-0123456789abcdef";
const NOW: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z
const DAY: i64 = 86_400_000;
const MONTH: i64 = 30 * DAY;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

fn config() -> BillingConfig {
    let settings = CheckoutSettings {
        prices: PriceTable::new(Amount::from_units(999).unwrap()).unwrap(),
        variants: VariantTable::new("101", "102", "201", "202", "301").unwrap(),
        coins: Coin::ALL.to_vec(),
        lemonsqueezy_store_id: "12345".into(),
        success_url: "https://cryptolens.example/billing/success".into(),
        cancel_url: "https://cryptolens.example/billing/cancel".into(),
        ipn_callback_url: "https://cryptolens.example/api/v1/webhooks/nowpayments".into(),
        lemonsqueezy_test_mode: false,
    };
    BillingConfig {
        secrets: WebhookSecrets {
            lemonsqueezy: SecretString::new(LS_SECRET),
            nowpayments: SecretString::new(NP_SECRET),
        },
        checkout: CheckoutConfig::new(settings).unwrap(),
        test_mode_allowed: false,
    }
}

/// A provider that records requests and answers a fixed URL (or fails).
#[derive(Default)]
struct FakeProvider {
    requests: RefCell<Vec<ProviderCheckout>>,
    fail: Cell<bool>,
    /// The body `nowpayments_payment` answers, and the ids it was asked for.
    status_body: RefCell<Vec<u8>>,
    status_asked: RefCell<Vec<String>>,
}

impl PaymentProvider for FakeProvider {
    async fn create_checkout(
        &self,
        request: &ProviderCheckout,
    ) -> Result<CheckoutUrl, ProviderError> {
        self.requests.borrow_mut().push(request.clone());
        if self.fail.get() {
            Err(ProviderError::Unavailable("timeout".into()))
        } else {
            Ok(CheckoutUrl("https://pay.example/checkout/1".into()))
        }
    }

    async fn nowpayments_payment(&self, payment_id: &str) -> Result<Vec<u8>, ProviderError> {
        self.status_asked.borrow_mut().push(payment_id.to_owned());
        if self.fail.get() {
            return Err(ProviderError::Unavailable("timeout".into()));
        }
        Ok(self.status_body.borrow().clone())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn ls_sign(raw: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(LS_SECRET.as_bytes()).unwrap();
    mac.update(raw);
    hex(&mac.finalize().into_bytes())
}

/// serde_json writes objects with sorted keys and no whitespace: the recursively sorted
/// canonical form NOWPayments signs.
fn np_sign(raw: &[u8]) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(NP_SECRET.as_bytes()).unwrap();
    mac.update(raw);
    hex(&mac.finalize().into_bytes())
}

fn ls_time(offset_ms: i64) -> String {
    let secs = offset_ms / 1000;
    let ms = offset_ms % 1000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    format!("2024-01-01T{h:02}:{m:02}:{s:02}.{ms:03}000Z")
}

fn custom(user: UserId, payment: PaymentId) -> Value {
    json!({"user_id": user.to_string(), "plan": "pro", "billing_cycle": "monthly",
           "payment_id": payment.to_string()})
}

fn ls_raw(event: &str, data_type: &str, id: &str, attributes: Value, custom: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "meta": {"event_name": event, "custom_data": custom, "test_mode": false},
        "data": {"type": data_type, "id": id, "attributes": attributes},
    }))
    .unwrap()
}

fn order(user: UserId, payment: PaymentId, subtotal: i64, updated: i64) -> Vec<u8> {
    ls_raw(
        "order_created",
        "orders",
        "5001",
        json!({"store_id": 12345, "status": "paid", "currency": "USD", "subtotal": subtotal,
               "tax": 0, "total": subtotal, "first_order_item": {"variant_id": 101, "price": subtotal},
               "created_at": ls_time(0), "updated_at": ls_time(updated), "test_mode": false}),
        custom(user, payment),
    )
}

fn subscription_created(user: UserId, payment: PaymentId, updated: i64) -> Vec<u8> {
    ls_raw(
        "subscription_created",
        "subscriptions",
        "9001",
        json!({"status": "active", "variant_id": 101, "order_id": 5001, "renews_at": ls_time(0),
               "updated_at": ls_time(updated), "test_mode": false}),
        custom(user, payment),
    )
}

fn renewal(user: UserId, payment: PaymentId, invoice: &str, updated: i64) -> Vec<u8> {
    ls_raw(
        "subscription_payment_success",
        "subscription-invoices",
        invoice,
        json!({"subscription_id": 9001, "billing_reason": "renewal", "status": "paid",
               "currency": "USD", "subtotal": 1900, "total": 1900, "updated_at": ls_time(updated),
               "test_mode": false}),
        custom(user, payment),
    )
}

fn np_raw(payment: PaymentId, status: &str, paid: f64, updated: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "payment_id": 5_077_125_051_u64, "payment_status": status, "pay_address": "bc1qexample",
        "price_amount": 19, "price_currency": "usd", "pay_amount": 0.00045, "pay_currency": "btc",
        "actually_paid": paid, "order_id": payment.to_string(), "updated_at": NOW + updated,
    }))
    .unwrap()
}

struct World {
    store: MemoryStore,
    provider: FakeProvider,
    config: BillingConfig,
}

impl World {
    fn new() -> Self {
        Self {
            store: MemoryStore::new(),
            provider: FakeProvider::default(),
            config: config(),
        }
    }

    fn service(&self) -> BillingService<'_, MemoryStore, FakeProvider> {
        BillingService::new(&self.store, &self.provider, &self.config)
    }

    async fn user(&self, n: &str) -> Buyer {
        let new = NewUser {
            email: Email::parse(&format!("{n}@example.com")).unwrap(),
            username: Username::parse(n).unwrap(),
            password_hash: SecretString::new("$pbkdf2-sha256$i=10,l=32$c2FsdA$aGFzaA"),
            ntfy_topic: format!("cl_topic_{n}"),
            created_at: NOW,
        };
        let id = self.store.create_user(&new).await.unwrap().id;
        Buyer {
            id: UserId::new(id.0).unwrap(),
            email: Some(format!("{n}@example.com")),
            verified: true,
        }
    }

    async fn checkout(&self, buyer: &Buyer, provider: &str, crypto: Option<&str>) -> PaymentId {
        let dto = CheckoutRequestDto {
            provider: provider.into(),
            plan: "pro".into(),
            cycle: Some("monthly".into()),
            crypto: crypto.map(str::to_owned),
        };
        self.service()
            .checkout(buyer, &dto, NOW)
            .await
            .unwrap()
            .payment_id
    }

    async fn ls(&self, raw: &[u8], now: i64) -> Result<WebhookOutcome, WebhookError> {
        let sig = ls_sign(raw);
        self.service()
            .handle_webhook(Provider::LemonSqueezy, raw, Some(&sig), now)
            .await
    }

    async fn np(&self, raw: &[u8], now: i64) -> Result<WebhookOutcome, WebhookError> {
        let sig = np_sign(raw);
        self.service()
            .handle_webhook(Provider::NowPayments, raw, Some(&sig), now)
            .await
    }

    async fn payment(&self, id: PaymentId) -> StoredPayment {
        self.store.payment_by_id(id).await.unwrap().unwrap()
    }

    async fn expiry(&self, user: UserId) -> Option<i64> {
        self.store
            .subscription_of(user)
            .await
            .unwrap()
            .unwrap()
            .subscription
            .expires_at
    }
}

fn applied(outcome: Outcome, id: PaymentId) -> WebhookOutcome {
    WebhookOutcome::Applied {
        outcome,
        payment_id: Some(id),
    }
}

#[test]
fn checkout_stores_a_pending_payment_and_sends_our_id_to_the_provider() {
    block_on(async {
        let w = World::new();
        let alice = w.user("alice").await;
        let id = w.checkout(&alice, "lemonsqueezy", None).await;
        let p = w.payment(id).await;
        assert_eq!(p.record.status, PaymentStatus::Pending);
        assert_eq!(p.record.user_id, alice.id);
        {
            let requests = w.provider.requests.borrow();
            let ProviderCheckout::LemonSqueezy(body) = &requests[0] else {
                panic!("expected a LemonSqueezy checkout");
            };
            assert_eq!(
                body.data.attributes.checkout_data.custom.payment_id,
                id.to_string()
            );
            assert_eq!(body.data.relationships.variant.data.id, "101");
        }

        let np = w.checkout(&alice, "nowpayments", Some("btc")).await;
        let requests = w.provider.requests.borrow();
        let ProviderCheckout::NowPayments(invoice) = &requests[1] else {
            panic!("expected a NOWPayments invoice");
        };
        assert_eq!(invoice.order_id, np.to_string());
        assert_eq!(invoice.pay_currency, "btc");
    });
}

#[test]
fn checkout_refuses_unverified_users_invalid_requests_and_lifetime_holders() {
    block_on(async {
        let w = World::new();
        let mut alice = w.user("alice").await;
        let dto = |plan: &str, cycle: Option<&str>| CheckoutRequestDto {
            provider: "lemonsqueezy".into(),
            plan: plan.into(),
            cycle: cycle.map(str::to_owned),
            crypto: None,
        };
        alice.verified = false;
        let r = w
            .service()
            .checkout(&alice, &dto("pro", Some("monthly")), NOW)
            .await;
        assert_eq!(r, Err(CheckoutFailure::Unverified));
        alice.verified = true;
        let r = w.service().checkout(&alice, &dto("pro", None), NOW).await;
        assert_eq!(r, Err(CheckoutFailure::Refused(CheckoutError::Cycle)));
        assert!(w.provider.requests.borrow().is_empty());

        // Buy lifetime, then any further purchase is refused.
        let life = w
            .service()
            .checkout(&alice, &dto("lifetime", None), NOW)
            .await
            .unwrap();
        let raw = ls_raw(
            "order_created",
            "orders",
            "5002",
            json!({"store_id": 12345, "status": "paid", "currency": "USD", "subtotal": 99900,
                   "tax": 0, "total": 99900, "first_order_item": {"variant_id": 301, "price": 99900},
                   "created_at": ls_time(0), "updated_at": ls_time(10), "test_mode": false}),
            json!({"user_id": alice.id.to_string(), "plan": "lifetime", "billing_cycle": "lifetime",
                   "payment_id": life.payment_id.to_string()}),
        );
        assert_eq!(
            w.ls(&raw, NOW).await,
            Ok(applied(Outcome::Activated, life.payment_id))
        );
        let r = w
            .service()
            .checkout(&alice, &dto("premium", Some("yearly")), NOW)
            .await;
        assert_eq!(
            r,
            Err(CheckoutFailure::Refused(CheckoutError::AlreadyLifetime))
        );
    });
}

#[test]
fn a_provider_failure_is_reported_and_leaves_the_payment_pending() {
    block_on(async {
        let w = World::new();
        let alice = w.user("alice").await;
        w.provider.fail.set(true);
        let dto = CheckoutRequestDto {
            provider: "lemonsqueezy".into(),
            plan: "pro".into(),
            cycle: Some("monthly".into()),
            crypto: None,
        };
        let r = w.service().checkout(&alice, &dto, NOW).await;
        assert!(matches!(
            r,
            Err(CheckoutFailure::Provider(ProviderError::Unavailable(_)))
        ));
        let page = w
            .store
            .payments_of(
                alice.id,
                PageRequest {
                    limit: 10,
                    after: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].record.status, PaymentStatus::Pending);
    });
}

#[test]
fn a_signed_order_activates_once_and_replays_write_nothing() {
    block_on(async {
        let w = World::new();
        let alice = w.user("alice").await;
        let id = w.checkout(&alice, "lemonsqueezy", None).await;
        let raw = order(alice.id, id, 1900, 1000);
        assert_eq!(w.ls(&raw, NOW).await, Ok(applied(Outcome::Activated, id)));
        assert_eq!(w.payment(id).await.record.status, PaymentStatus::Completed);
        assert_eq!(w.expiry(alice.id).await, Some(NOW + MONTH));

        // The same delivery again, and re-indented: a replay, nothing extended.
        assert_eq!(w.ls(&raw, NOW + 5).await, Ok(WebhookOutcome::Replay));
        let pretty =
            serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&raw).unwrap()).unwrap();
        assert_eq!(w.ls(&pretty, NOW + 6).await, Ok(WebhookOutcome::Replay));
        assert_eq!(w.expiry(alice.id).await, Some(NOW + MONTH));

        // The subscription event of the same purchase links, without a second extension.
        let sub = subscription_created(alice.id, id, 2000);
        assert_eq!(
            w.ls(&sub, NOW).await,
            Ok(applied(Outcome::SubscriptionLinked, id))
        );
        assert_eq!(w.expiry(alice.id).await, Some(NOW + MONTH));
    });
}

#[test]
fn the_signature_is_checked_before_anything_is_read_or_written() {
    block_on(async {
        let w = World::new();
        let alice = w.user("alice").await;
        let id = w.checkout(&alice, "lemonsqueezy", None).await;
        let raw = order(alice.id, id, 1900, 1000);
        let svc = w.service();
        let wrong = ls_sign(b"something else");
        let r = svc
            .handle_webhook(Provider::LemonSqueezy, &raw, Some(&wrong), NOW)
            .await;
        assert_eq!(r, Err(WebhookError::Signature(SignatureError::Mismatch)));
        assert_eq!(r.unwrap_err().http_status(), 401);
        let r = svc
            .handle_webhook(Provider::LemonSqueezy, &raw, None, NOW)
            .await;
        assert!(matches!(
            r,
            Err(WebhookError::Signature(SignatureError::Missing))
        ));
        // The NOWPayments secret does not sign LemonSqueezy bodies.
        let np_sig = np_sign(&raw);
        let r = svc
            .handle_webhook(Provider::LemonSqueezy, &raw, Some(&np_sig), NOW)
            .await;
        assert!(matches!(r, Err(WebhookError::Signature(_))));
        let huge = vec![b' '; 300 * 1024];
        let r = svc
            .handle_webhook(Provider::LemonSqueezy, &huge, Some(&ls_sign(&huge)), NOW)
            .await;
        assert_eq!(r, Err(WebhookError::TooLarge));
        assert_eq!(WebhookError::TooLarge.http_status(), 413);
        // Signed but not an event of ours: 400.
        let junk = br#"{"meta":{}}"#;
        let r = w.ls(junk, NOW).await;
        assert!(matches!(r, Err(WebhookError::Event(_))));
        assert_eq!(r.unwrap_err().http_status(), 400);
        assert_eq!(w.payment(id).await.record.status, PaymentStatus::Pending);
        assert!(w.store.subscription_of(alice.id).await.unwrap().is_none());
    });
}

#[test]
fn a_mismatch_is_stored_alone_answers_200_and_dedups_its_retries() {
    block_on(async {
        let w = World::new();
        let alice = w.user("alice").await;
        let id = w.checkout(&alice, "lemonsqueezy", None).await;
        let raw = order(alice.id, id, 1000, 1000);
        assert_eq!(
            w.ls(&raw, NOW).await,
            Ok(WebhookOutcome::Rejected {
                outcome: "mismatch_amount".into(),
                payment_id: Some(id)
            })
        );
        assert_eq!(w.payment(id).await.record.status, PaymentStatus::Pending);
        assert!(w.store.subscription_of(alice.id).await.unwrap().is_none());
        assert_eq!(w.ls(&raw, NOW).await, Ok(WebhookOutcome::Replay));

        // Another user's payment id in the custom data: a mismatch, not an activation.
        let bob = w.user("bob").await;
        let stolen = order(bob.id, id, 1900, 1001);
        assert!(matches!(
            w.ls(&stolen, NOW).await,
            Ok(WebhookOutcome::Rejected { .. })
        ));
        assert!(w.store.subscription_of(bob.id).await.unwrap().is_none());

        // An unknown payment id.
        let ghost = order(alice.id, PaymentId::new(999).unwrap(), 1900, 1002);
        assert_eq!(
            w.ls(&ghost, NOW).await,
            Ok(WebhookOutcome::Rejected {
                outcome: UNKNOWN_PAYMENT.into(),
                payment_id: None
            })
        );
    });
}

#[test]
fn nowpayments_out_of_order_events_never_move_the_status_back() {
    block_on(async {
        let w = World::new();
        let alice = w.user("alice").await;
        let id = w.checkout(&alice, "nowpayments", Some("BTC")).await;
        let finished = np_raw(id, "finished", 0.00045, 5_000);
        assert_eq!(
            w.np(&finished, NOW).await,
            Ok(applied(Outcome::Activated, id))
        );
        // An older "confirming" arriving late.
        let late = np_raw(id, "confirming", 0.0001, 1_000);
        let r = w.np(&late, NOW + 1).await.unwrap();
        assert!(
            matches!(r, WebhookOutcome::Applied { outcome, .. } if outcome != Outcome::Activated)
        );
        let p = w.payment(id).await;
        assert_eq!(p.record.status, PaymentStatus::Completed);
        assert_eq!(p.record.actually_paid, Some(0.00045));
        assert_eq!(w.expiry(alice.id).await, Some(NOW + MONTH));
        // A newer "failed" cannot undo the completion either.
        let failed = np_raw(id, "failed", 0.0, 9_000);
        w.np(&failed, NOW + 2).await.unwrap();
        assert_eq!(w.payment(id).await.record.status, PaymentStatus::Completed);
        // A bad NOWPayments signature.
        let r = w
            .service()
            .handle_webhook(Provider::NowPayments, &finished, Some(&np_sign(b"x")), NOW)
            .await;
        assert_eq!(r, Err(WebhookError::Signature(SignatureError::Mismatch)));
    });
}

#[test]
fn a_renewal_inserts_its_own_payment_and_extends_from_the_current_expiry() {
    block_on(async {
        let w = World::new();
        let alice = w.user("alice").await;
        let id = w.checkout(&alice, "lemonsqueezy", None).await;
        w.ls(&order(alice.id, id, 1900, 1000), NOW).await.unwrap();
        w.ls(&subscription_created(alice.id, id, 2000), NOW)
            .await
            .unwrap();
        let raw = renewal(alice.id, id, "7001", 4000);
        let r = w.ls(&raw, NOW + 29 * DAY).await.unwrap();
        let WebhookOutcome::Applied {
            outcome: Outcome::Extended,
            payment_id: Some(new_id),
        } = r
        else {
            panic!("renewal not applied: {r:?}");
        };
        assert_ne!(new_id, id);
        assert_eq!(w.expiry(alice.id).await, Some(NOW + 2 * MONTH));
        let row = w
            .store
            .payment_by_external_id(Provider::LemonSqueezy, "invoice-7001")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (row.id, row.record.status),
            (new_id, PaymentStatus::Completed)
        );
        // Replayed: nothing more.
        assert_eq!(w.ls(&raw, NOW + 29 * DAY).await, Ok(WebhookOutcome::Replay));
        assert_eq!(w.expiry(alice.id).await, Some(NOW + 2 * MONTH));
    });
}

/// A store whose first `apply_webhook` is preceded by a competing write (another event of
/// the same purchase committing first), so the service's first attempt is stale.
struct Racing<'a> {
    inner: &'a MemoryStore,
    competitor: RefCell<Option<WebhookWrite>>,
}

impl BillingStore for Racing<'_> {
    async fn create_payment(&self, new: &NewPayment) -> Result<PaymentId, StoreError> {
        self.inner.create_payment(new).await
    }
    async fn payment_by_id(&self, id: PaymentId) -> Result<Option<StoredPayment>, StoreError> {
        self.inner.payment_by_id(id).await
    }
    async fn payment_by_external_id(
        &self,
        provider: Provider,
        external_id: &str,
    ) -> Result<Option<StoredPayment>, StoreError> {
        self.inner
            .payment_by_external_id(provider, external_id)
            .await
    }
    async fn payment(
        &self,
        id: PaymentId,
        user: UserId,
    ) -> Result<Option<StoredPayment>, StoreError> {
        self.inner.payment(id, user).await
    }
    async fn payments_of(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<StoredPayment>, StoreError> {
        self.inner.payments_of(user, page).await
    }
    async fn subscription_of(
        &self,
        user: UserId,
    ) -> Result<Option<StoredSubscription>, StoreError> {
        self.inner.subscription_of(user).await
    }
    async fn apply_webhook(&self, write: &WebhookWrite) -> Result<ApplyOutcome, StoreError> {
        let competitor = self.competitor.borrow_mut().take();
        if let Some(c) = competitor {
            assert!(matches!(
                self.inner.apply_webhook(&c).await?,
                ApplyOutcome::Applied { .. }
            ));
        }
        self.inner.apply_webhook(write).await
    }
    async fn webhook_event(
        &self,
        provider: Provider,
        key: &str,
    ) -> Result<Option<StoredWebhookEvent>, StoreError> {
        self.inner.webhook_event(provider, key).await
    }
    async fn expire_subscriptions(&self, now: i64) -> Result<u64, StoreError> {
        self.inner.expire_subscriptions(now).await
    }
    async fn subscriptions_expiring(
        &self,
        now: i64,
        within: i64,
    ) -> Result<Vec<StoredSubscription>, StoreError> {
        self.inner.subscriptions_expiring(now, within).await
    }
    async fn record_expiry_warnings(
        &self,
        send: &WarningKey,
        record: &[WarningKey],
        at: i64,
    ) -> Result<bool, StoreError> {
        self.inner.record_expiry_warnings(send, record, at).await
    }
}

#[test]
fn a_concurrent_change_makes_the_service_decide_again_and_extend_once() {
    block_on(async {
        let w = World::new();
        let alice = w.user("alice").await;
        let id = w.checkout(&alice, "lemonsqueezy", None).await;
        // The competitor: `subscription_created` of the same purchase, already decided on
        // the pending row (it completes the payment and activates).
        let read = w.payment(id).await.record;
        let competitor = WebhookWrite {
            provider: Provider::LemonSqueezy,
            event_key: "subscription_created|9001|x".into(),
            received_at: NOW,
            outcome: "activated".into(),
            payment_id: Some(id),
            read_payment: Some(read.clone()),
            payment: Some(cl_app::ports::PaymentRecord {
                status: PaymentStatus::Completed,
                completed_at: Some(NOW),
                ..read.clone()
            }),
            subscription_user: Some(alice.id),
            read_subscription: None,
            subscription: Some(cl_app::ports::BillingSubscription {
                user_id: alice.id,
                plan: cl_billing::Plan::Pro,
                status: SubscriptionStatus::Active,
                starts_at: NOW,
                expires_at: Some(NOW + MONTH),
                cancelled_at: None,
                provider: Some(cl_billing::subscription::SubscriptionSource::LemonSqueezy),
                external_subscription_id: Some("9001".into()),
            }),
        };
        let racing = Racing {
            inner: &w.store,
            competitor: RefCell::new(Some(competitor)),
        };
        let svc = BillingService::new(&racing, &w.provider, &w.config);
        let raw = order(alice.id, id, 1900, 1000);
        let sig = ls_sign(&raw);
        let r = svc
            .handle_webhook(Provider::LemonSqueezy, &raw, Some(&sig), NOW)
            .await
            .unwrap();
        // Re-decided on the completed row: no second extension.
        assert!(
            matches!(r, WebhookOutcome::Applied { outcome, .. } if outcome != Outcome::Activated && outcome != Outcome::Extended),
            "{r:?}"
        );
        assert_eq!(w.expiry(alice.id).await, Some(NOW + MONTH));
    });
}

#[test]
fn the_subscriptions_job_expires_lapsed_rows_and_warns_once_per_threshold() {
    block_on(async {
        let w = World::new();
        let alice = w.user("alice").await;
        let id = w.checkout(&alice, "lemonsqueezy", None).await;
        w.ls(&order(alice.id, id, 1900, 1000), NOW).await.unwrap();
        let expires = NOW + MONTH;
        let svc = w.service();

        let early = svc.subscriptions_job(expires - 10 * DAY).await.unwrap();
        assert_eq!((early.expired, early.warnings.len()), (0, 0));
        let seven = svc.subscriptions_job(expires - 6 * DAY).await.unwrap();
        assert_eq!(seven.warnings.len(), 1);
        assert_eq!(seven.warnings[0].days_before, 7);
        assert_eq!(seven.warnings[0].user_id, alice.id);
        let again = svc.subscriptions_job(expires - 6 * DAY + 1).await.unwrap();
        assert!(again.warnings.is_empty(), "sent once");
        // Missed the 3-day run: the 1-day warning is sent, never the 3-day one after it.
        let one = svc.subscriptions_job(expires - DAY / 2).await.unwrap();
        assert_eq!(
            one.warnings
                .iter()
                .map(|n| n.days_before)
                .collect::<Vec<_>>(),
            [1]
        );
        let after = svc.subscriptions_job(expires - DAY / 4).await.unwrap();
        assert!(after.warnings.is_empty());

        let lapsed = svc.subscriptions_job(expires + 1).await.unwrap();
        assert_eq!(lapsed.expired, 1);
        let sub = w.store.subscription_of(alice.id).await.unwrap().unwrap();
        assert_eq!(sub.subscription.status, SubscriptionStatus::Expired);
        assert!(
            sub.subscription.is_valid(expires + DAY),
            "grace still applies"
        );
    });
}

#[test]
fn payment_history_is_scoped_to_its_owner() {
    block_on(async {
        let w = World::new();
        let alice = w.user("alice").await;
        let bob = w.user("bob").await;
        let id = w.checkout(&alice, "lemonsqueezy", None).await;
        let svc = w.service();
        assert_eq!(svc.payment(alice.id, id).await.unwrap().id, id);
        assert_eq!(
            svc.payment(bob.id, id).await,
            Err(StoreError::NotFound("payment"))
        );
        let page = svc
            .payment_history(
                bob.id,
                PageRequest {
                    limit: 10,
                    after: None,
                },
            )
            .await
            .unwrap();
        assert!(page.items.is_empty());
    });
}

#[test]
fn a_status_check_applies_the_providers_record_through_the_webhook_path() {
    block_on(async {
        let w = World::new();
        let alice = w.user("alice").await;
        let bob = w.user("bob").await;
        let id = w.checkout(&alice, "nowpayments", Some("BTC")).await;
        // No provider payment id yet: nothing to ask, the stored state is answered.
        let check = w.service().check_payment(alice.id, id, NOW).await.unwrap();
        assert!(!check.asked);
        assert!(w.provider.status_asked.borrow().is_empty());
        // The first IPN names the attempt.
        w.np(&np_raw(id, "waiting", 0.0, 1_000), NOW).await.unwrap();
        // Another user's payment is not found, and the provider is not asked.
        assert_eq!(
            w.service().check_payment(bob.id, id, NOW).await,
            Err(CheckError::NotFound)
        );
        assert!(w.provider.status_asked.borrow().is_empty());
        // The provider says finished: the plan activates once.
        *w.provider.status_body.borrow_mut() = np_raw(id, "finished", 0.00045, 5_000);
        let check = w.service().check_payment(alice.id, id, NOW).await.unwrap();
        assert!(check.asked);
        assert_eq!(check.outcome, Some(applied(Outcome::Activated, id)));
        assert_eq!(check.payment.record.status, PaymentStatus::Completed);
        assert_eq!(
            *w.provider.status_asked.borrow(),
            vec!["5077125051".to_owned()]
        );
        assert_eq!(w.expiry(alice.id).await, Some(NOW + MONTH));
        // The IPN of the same state afterwards is a replay (same dedup key).
        assert_eq!(
            w.np(&np_raw(id, "finished", 0.00045, 5_000), NOW).await,
            Ok(WebhookOutcome::Replay)
        );
        // A tampered amount from the provider is refused, and nothing changes.
        let mut v: Value = serde_json::from_slice(&np_raw(id, "refunded", 0.0, 9_000)).unwrap();
        v["price_amount"] = json!(1);
        *w.provider.status_body.borrow_mut() = serde_json::to_vec(&v).unwrap();
        let check = w.service().check_payment(alice.id, id, NOW).await.unwrap();
        assert!(matches!(
            check.outcome,
            Some(WebhookOutcome::Rejected { ref outcome, .. }) if outcome == "mismatch_amount"
        ));
        assert_eq!(check.payment.record.status, PaymentStatus::Completed);
        // Unreadable answers and provider failures are errors, not writes.
        *w.provider.status_body.borrow_mut() = b"<html>".to_vec();
        assert!(matches!(
            w.service().check_payment(alice.id, id, NOW).await,
            Err(CheckError::Unreadable(_))
        ));
        w.provider.fail.set(true);
        assert!(matches!(
            w.service().check_payment(alice.id, id, NOW).await,
            Err(CheckError::Provider(_))
        ));
    });
}
