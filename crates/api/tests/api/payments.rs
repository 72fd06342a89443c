//! The payment routes on the host over the memory store: checkout (verified users only,
//! validation, provider body), history and IDOR, signed webhooks (no session or CSRF; wrong
//! or missing signature → 401 and nothing written; replay; tampered amount; oversized body),
//! the NOWPayments status check, `/me/subscription`, and every response against the OpenAPI
//! document.

use crate::helpers::Resp;
use crate::rig::{Browser, Rig, APP_URL, PASSWORD};
use cl_api::auth::Accounts;
use cl_api::context::RequestContext;
use cl_api::http::{Headers, Method, Request};
use cl_api::payments::{billing_config, Payments};
use cl_api::{finalize, handle_api_with};
use cl_app::billing::core::signature::{lemonsqueezy_signature, nowpayments_signature};
use cl_app::billing::BillingConfig;
use cl_app::ports::{
    BillingStore, CheckoutUrl, PaymentProvider, Provider, ProviderCheckout, ProviderError,
};
use cl_auth::SecretString;
use serde_json::{json, Value};
use std::cell::RefCell;

/// Records checkout bodies; answers a fixed URL and a scripted NOWPayments record.
#[derive(Default)]
struct FakeProvider {
    checkouts: RefCell<Vec<Value>>,
    status: RefCell<Vec<u8>>,
}

impl PaymentProvider for FakeProvider {
    async fn create_checkout(
        &self,
        request: &ProviderCheckout,
    ) -> Result<CheckoutUrl, ProviderError> {
        let body = match request {
            ProviderCheckout::LemonSqueezy(b) => serde_json::to_value(b).unwrap(),
            ProviderCheckout::NowPayments(b) => serde_json::to_value(b).unwrap(),
        };
        self.checkouts.borrow_mut().push(body);
        Ok(CheckoutUrl("https://pay.example/c/1".into()))
    }

    async fn nowpayments_payment(&self, _: &str) -> Result<Vec<u8>, ProviderError> {
        Ok(self.status.borrow().clone())
    }
}

fn config(rig: &Rig) -> BillingConfig {
    let vars = [
        ("LEMONSQUEEZY_STORE_ID", "12345"),
        (
            "LEMONSQUEEZY_VARIANTS",
            "pro_monthly:101, pro_yearly:102, premium_monthly:201, premium_yearly:202, lifetime:301",
        ),
        ("LIFETIME_PRICE_USD", "999"),
        ("PAYMENT_COINS", "BTC,ETH"),
    ];
    billing_config(&rig.app.config, |k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap()
}

struct Pay<'r> {
    rig: &'r Rig,
    provider: FakeProvider,
    config: BillingConfig,
    wired: bool,
}

impl<'r> Pay<'r> {
    fn new(rig: &'r Rig) -> Self {
        Self {
            rig,
            provider: FakeProvider::default(),
            config: config(rig),
            wired: true,
        }
    }

    /// Sends through the whole HTTP layer with the payment deps, like the worker does.
    fn send(&self, req: Request, cookie_jar: Option<&mut Browser<'_>>) -> Resp {
        let rig = self.rig;
        let ctx = RequestContext::new(
            None,
            || "req-pay".to_owned(),
            rig.now(),
            Some("198.51.100.9"),
        );
        let payments = Payments {
            gateway: &self.provider,
            config: &self.config,
        };
        let accounts = Accounts {
            store: &rig.store,
            mailer: &rig.mailer,
            hasher: &rig.hasher,
            clock: &rig.clock,
            limits: &rig.limits,
            keys: &rig.keys,
            account_pepper: &rig.pepper,
            events: &rig.events,
            payments: self.wired.then_some(&payments),
            portfolio: None,
        };
        let handled = pollster::block_on(handle_api_with(&rig.app, &accounts, &req, &ctx));
        let route = handled.route;
        let resp = finalize(handled.response, &ctx, true);
        let json: Value = if resp.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&resp.body).unwrap()
        };
        conforms(req.method, route, resp.status, &json);
        if let (Some(b), Some(set)) = (cookie_jar, resp.headers.get("set-cookie")) {
            let value = set
                .strip_prefix("__Host-cl_session=")
                .and_then(|v| v.split(';').next())
                .unwrap();
            b.cookie = (!value.is_empty()).then(|| value.to_owned());
        }
        Resp {
            status: resp.status,
            json,
            headers: resp.headers,
            body: resp.body,
            route,
        }
    }

    fn as_user(
        &self,
        b: &mut Browser<'_>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Resp {
        let req = b.request(method, path, body);
        self.send(req, Some(b))
    }

    fn webhook(&self, path: &str, raw: &[u8], headers: &[(&str, String)]) -> Resp {
        let mut h = Headers::new();
        h.set("content-type", "application/json");
        for (k, v) in headers {
            h.set(k, v.clone());
        }
        let req = Request {
            method: Method::Post,
            path: path.to_owned(),
            query: String::new(),
            headers: h,
            body: raw.to_vec(),
        };
        self.send(req, None)
    }

    fn ls(&self, raw: &[u8]) -> Resp {
        let sig = lemonsqueezy_signature(&self.config.secrets.lemonsqueezy, raw).unwrap();
        self.webhook(
            "/api/v1/webhooks/lemonsqueezy",
            raw,
            &[("x-signature", sig)],
        )
    }

    fn np(&self, raw: &[u8]) -> Resp {
        let sig = nowpayments_signature(&self.config.secrets.nowpayments, raw).unwrap();
        self.webhook(
            "/api/v1/webhooks/nowpayments",
            raw,
            &[("x-nowpayments-sig", sig)],
        )
    }
}

/// Every response matches the OpenAPI document: status documented, body valid.
fn conforms(method: Method, route: &str, status: u16, body: &Value) {
    let doc: Value = serde_json::from_slice(&cl_api::openapi::document_bytes()).unwrap();
    let op = &doc["paths"][route][method.as_str().to_ascii_lowercase()];
    let response = &op["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{method:?} {route} {status} undocumented"
    );
    let schema = &response["content"]["application/json"]["schema"];
    let errors = crate::schema::validate(&doc, schema, body);
    assert!(errors.is_empty(), "{route} ({status}): {errors:#?}\n{body}");
}

fn checkout(pay: &Pay<'_>, b: &mut Browser<'_>, body: Value) -> Resp {
    pay.as_user(b, Method::Post, "/api/v1/payments/checkout", Some(body))
}

fn order(user: i64, payment: i64, subtotal: i64, updated: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "meta": {"event_name": "order_created", "test_mode": false, "custom_data": {
            "user_id": user.to_string(), "plan": "pro", "billing_cycle": "monthly",
            "payment_id": payment.to_string()}},
        "data": {"type": "orders", "id": "9001", "attributes": {
            "status": "paid", "subtotal": subtotal, "total": subtotal, "currency": "USD",
            "first_order_item": {"variant_id": 101}, "updated_at": updated}},
    }))
    .unwrap()
}

fn subscription(pay: &Pay<'_>, b: &mut Browser<'_>) -> Value {
    let r = pay.as_user(b, Method::Get, "/api/v1/me/subscription", None);
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["data"].clone()
}

#[test]
fn checkout_creates_a_pending_payment_and_a_signed_order_activates_it_once() {
    let rig = Rig::new();
    let pay = Pay::new(&rig);
    let mut alice = rig.signed_up("alice@example.com", "alice", "203.0.113.1");
    let r = checkout(
        &pay,
        &mut alice,
        json!({"provider": "lemonsqueezy", "plan": "pro", "cycle": "monthly"}),
    );
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["data"]["url"], "https://pay.example/c/1");
    let id = r.json["data"]["payment_id"].as_i64().unwrap();
    let sent = pay.provider.checkouts.borrow()[0].clone();
    let custom = &sent["data"]["attributes"]["checkout_data"]["custom"];
    assert_eq!(custom["payment_id"], id.to_string());
    assert_eq!(custom["plan"], "pro");
    assert_eq!(
        sent["data"]["relationships"]["variant"]["data"]["id"],
        "101"
    );
    assert_eq!(
        sent["data"]["attributes"]["product_options"]["redirect_url"],
        format!("{APP_URL}/settings/billing")
    );
    // Pending in the history and the detail.
    let list = pay.as_user(&mut alice, Method::Get, "/api/v1/payments", None);
    assert_eq!(list.status, 200);
    assert_eq!(list.json["data"][0]["status"], "pending");
    assert_eq!(list.json["data"][0]["amount"], 19.0);
    assert!(list.json["meta"]["next_cursor"].is_null());
    assert_eq!(subscription(&pay, &mut alice)["tier"], "free");

    // The signed webhook: no cookie, no CSRF token, no Origin.
    let user = rig.user_id("alice@example.com").0;
    let raw = order(user, id, 1900, "2023-11-14T22:13:21.000000Z");
    let r = pay.ls(&raw);
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["data"]["received"], true);
    let detail = pay.as_user(
        &mut alice,
        Method::Get,
        &format!("/api/v1/payments/{id}"),
        None,
    );
    assert_eq!(detail.json["data"]["status"], "completed");
    let sub = subscription(&pay, &mut alice);
    assert_eq!(sub["tier"], "pro");
    assert_eq!(sub["status"], "active");
    let expiry = sub["expires_at"].as_i64().unwrap();
    assert_eq!(expiry, rig.now() + 30 * 86_400_000);
    assert_eq!(
        sub["access_until"].as_i64().unwrap(),
        expiry + 3 * 86_400_000
    );

    // A replay (even re-indented) changes nothing.
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&raw).unwrap()).unwrap();
    assert_eq!(pay.ls(&raw).status, 200);
    assert_eq!(pay.ls(&pretty).status, 200);
    assert_eq!(
        subscription(&pay, &mut alice)["expires_at"].as_i64(),
        Some(expiry)
    );
    assert_eq!(rig.events.named("billing_event_replay"), 2);
}

#[test]
fn webhooks_refuse_bad_signatures_tampered_amounts_and_oversized_bodies() {
    let rig = Rig::new();
    let pay = Pay::new(&rig);
    let mut alice = rig.signed_up("alice@example.com", "alice", "203.0.113.1");
    let r = checkout(
        &pay,
        &mut alice,
        json!({"provider": "lemonsqueezy", "plan": "pro", "cycle": "monthly"}),
    );
    let id = r.json["data"]["payment_id"].as_i64().unwrap();
    let user = rig.user_id("alice@example.com").0;
    let raw = order(user, id, 1900, "2023-11-14T22:13:21.000000Z");
    let path = "/api/v1/webhooks/lemonsqueezy";

    // Wrong secret, missing header, malformed header, one byte changed: 401, nothing written.
    let wrong = lemonsqueezy_signature(&SecretString::new("not-the-secret"), &raw).unwrap();
    assert_eq!(
        pay.webhook(path, &raw, &[("x-signature", wrong)]).status,
        401
    );
    assert_eq!(pay.webhook(path, &raw, &[]).status, 401);
    assert_eq!(
        pay.webhook(path, &raw, &[("x-signature", "zz".into())])
            .status,
        401
    );
    let good = lemonsqueezy_signature(&pay.config.secrets.lemonsqueezy, &raw).unwrap();
    let mut flipped = raw.clone();
    flipped[20] ^= 1;
    assert_eq!(
        pay.webhook(path, &flipped, &[("x-signature", good)]).status,
        401
    );
    // The other provider's header does not count.
    let np_sig = nowpayments_signature(&pay.config.secrets.nowpayments, &raw).unwrap();
    assert_eq!(
        pay.webhook(path, &raw, &[("x-nowpayments-sig", np_sig)])
            .status,
        401
    );
    assert_eq!(rig.events.named("webhook_refused"), 5);
    let key = "order_created|9001|2023-11-14T22:13:21.000000Z";
    assert!(
        pollster::block_on(rig.store.webhook_event(Provider::LemonSqueezy, key))
            .unwrap()
            .is_none()
    );

    // Tampered amount (signed, but not our price): rejected, logged, nothing activated.
    let tampered = order(user, id, 100, "2023-11-14T22:13:21.000000Z");
    let r = pay.ls(&tampered);
    assert_eq!(r.status, 200);
    assert_eq!(rig.events.named("billing_event_rejected"), 1);
    assert_eq!(subscription(&pay, &mut alice)["tier"], "free");
    let detail = pay.as_user(
        &mut alice,
        Method::Get,
        &format!("/api/v1/payments/{id}"),
        None,
    );
    assert_eq!(detail.json["data"]["status"], "pending");

    // Oversized: 413 before anything is verified.
    let big = vec![b' '; 256 * 1024 + 1];
    let sig = lemonsqueezy_signature(&pay.config.secrets.lemonsqueezy, &big).unwrap();
    assert_eq!(pay.webhook(path, &big, &[("x-signature", sig)]).status, 413);
    let r = pay.webhook(path, b"{}", &[("content-length", "999999999".into())]);
    assert_eq!(r.status, 413);
}

#[test]
fn checkout_needs_a_verified_email_valid_fields_and_csrf() {
    let rig = Rig::new();
    let pay = Pay::new(&rig);
    // Registered and logged in, never verified.
    let mut carol = rig.browser("203.0.113.3");
    let r = carol.post(
        "/api/v1/auth/register",
        json!({"email": "carol@example.com", "username": "carol", "password": PASSWORD}),
    );
    assert_eq!(r.status, 202);
    assert_eq!(carol.login("carol@example.com", PASSWORD).status, 200);
    let r = checkout(
        &pay,
        &mut carol,
        json!({"provider": "lemonsqueezy", "plan": "pro", "cycle": "monthly"}),
    );
    assert_eq!(r.status, 403, "{}", r.json);
    assert_eq!(r.json["error"]["code"], "email_unverified");

    let mut alice = rig.signed_up("alice@example.com", "alice", "203.0.113.1");
    for (body, field) in [
        (
            json!({"provider": "paypal", "plan": "pro", "cycle": "monthly"}),
            "provider",
        ),
        (
            json!({"provider": "lemonsqueezy", "plan": "gold", "cycle": "monthly"}),
            "plan",
        ),
        (json!({"provider": "lemonsqueezy", "plan": "pro"}), "cycle"),
        (
            json!({"provider": "lemonsqueezy", "plan": "lifetime", "cycle": "monthly"}),
            "cycle",
        ),
        (
            json!({"provider": "lemonsqueezy", "plan": "pro", "cycle": "monthly", "crypto": "BTC"}),
            "crypto",
        ),
        (
            json!({"provider": "nowpayments", "plan": "pro", "cycle": "monthly", "crypto": "DOGE"}),
            "crypto",
        ),
        (
            json!({"provider": "nowpayments", "plan": "pro", "cycle": "monthly"}),
            "crypto",
        ),
        (
            json!({"provider": "lemonsqueezy", "plan": "pro", "cycle": "monthly", "user_id": "1"}),
            "user_id",
        ),
    ] {
        let r = checkout(&pay, &mut alice, body.clone());
        assert_eq!(r.status, 400, "{body}: {}", r.json);
        assert!(
            r.fields().iter().any(|(f, _)| f == field),
            "{body}: {:?}",
            r.fields()
        );
    }
    assert!(pay.provider.checkouts.borrow().is_empty());
    let list = pay.as_user(&mut alice, Method::Get, "/api/v1/payments", None);
    assert_eq!(list.json["data"], json!([]));

    // Without the CSRF token: 403, nothing created.
    alice.csrf = None;
    let r = checkout(
        &pay,
        &mut alice,
        json!({"provider": "lemonsqueezy", "plan": "pro", "cycle": "monthly"}),
    );
    assert_eq!(r.json["error"]["code"], "csrf_failed");
    assert!(pay.provider.checkouts.borrow().is_empty());
}

#[test]
fn payments_are_owner_scoped_and_nowpayments_status_checks_apply_like_ipns() {
    let rig = Rig::new();
    let pay = Pay::new(&rig);
    let mut alice = rig.signed_up("alice@example.com", "alice", "203.0.113.1");
    let mut bob = rig.signed_up("bob@example.com", "bob", "203.0.113.2");
    let r = checkout(
        &pay,
        &mut alice,
        json!({"provider": "nowpayments", "plan": "premium", "cycle": "yearly", "crypto": "btc"}),
    );
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["data"]["payment_id"].as_i64().unwrap();
    let invoice = pay.provider.checkouts.borrow()[0].clone();
    assert_eq!(invoice["order_id"], id.to_string());
    assert_eq!(invoice["pay_currency"], "btc");
    assert_eq!(
        invoice["ipn_callback_url"],
        format!("{APP_URL}/api/v1/webhooks/nowpayments")
    );

    // Bob sees none of it.
    for (method, path) in [
        (Method::Get, format!("/api/v1/payments/{id}")),
        (Method::Post, format!("/api/v1/payments/{id}/check")),
    ] {
        let r = pay.as_user(&mut bob, method, &path, None);
        assert_eq!(r.status, 404, "{path}");
    }
    let list = pay.as_user(&mut bob, Method::Get, "/api/v1/payments", None);
    assert_eq!(list.json["data"], json!([]));

    // Nothing to ask before the first IPN names the attempt.
    let r = pay.as_user(
        &mut alice,
        Method::Post,
        &format!("/api/v1/payments/{id}/check"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["data"]["checked"], false);

    // An IPN (keys in any order; signed over the key-sorted form) names the attempt.
    let ipn = |status: &str, updated: i64| {
        format!(
            r#"{{"payment_status":"{status}","payment_id":5077125051,"order_id":"{id}","price_amount":490,"price_currency":"usd","pay_currency":"btc","actually_paid":0.01,"updated_at":{updated}}}"#
        )
        .into_bytes()
    };
    assert_eq!(pay.np(&ipn("confirming", 1_000)).status, 200);
    // The provider now says finished: the check applies it.
    *pay.provider.status.borrow_mut() = ipn("finished", 2_000);
    let r = pay.as_user(
        &mut alice,
        Method::Post,
        &format!("/api/v1/payments/{id}/check"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["data"]["checked"], true);
    assert_eq!(r.json["data"]["payment"]["status"], "completed");
    let sub = subscription(&pay, &mut alice);
    assert_eq!(sub["tier"], "premium");
    assert_eq!(
        sub["expires_at"].as_i64(),
        Some(rig.now() + 365 * 86_400_000)
    );
    // The late IPN of the same state is a replay; an older one cannot move it back.
    assert_eq!(pay.np(&ipn("finished", 2_000)).status, 200);
    assert_eq!(pay.np(&ipn("waiting", 500)).status, 200);
    let r = pay.as_user(
        &mut alice,
        Method::Get,
        &format!("/api/v1/payments/{id}"),
        None,
    );
    assert_eq!(r.json["data"]["status"], "completed");
    assert_eq!(
        subscription(&pay, &mut alice)["expires_at"].as_i64(),
        Some(rig.now() + 365 * 86_400_000)
    );
}

#[test]
fn without_payment_configuration_the_routes_answer_503() {
    let rig = Rig::new();
    let mut pay = Pay::new(&rig);
    pay.wired = false;
    let mut alice = rig.signed_up("alice@example.com", "alice", "203.0.113.1");
    let r = checkout(
        &pay,
        &mut alice,
        json!({"provider": "lemonsqueezy", "plan": "pro", "cycle": "monthly"}),
    );
    assert_eq!(r.status, 503);
    assert_eq!(pay.ls(b"{}").status, 503);
    // Reads that need no provider still work.
    assert_eq!(
        pay.as_user(&mut alice, Method::Get, "/api/v1/payments", None)
            .status,
        200
    );
}

#[test]
fn checkout_is_limited_to_ten_per_hour_per_user() {
    let rig = Rig::new();
    let pay = Pay::new(&rig);
    let mut alice = rig.signed_up("alice@example.com", "alice", "203.0.113.1");
    let body = json!({"provider": "lemonsqueezy", "plan": "pro", "cycle": "monthly"});
    for _ in 0..10 {
        assert_eq!(checkout(&pay, &mut alice, body.clone()).status, 201);
    }
    let r = checkout(&pay, &mut alice, body.clone());
    assert_eq!(r.status, 429, "{}", r.json);
    assert!(r.headers.get("retry-after").is_some());
    assert_eq!(pay.provider.checkouts.borrow().len(), 10);
    // Another user is not affected.
    let mut bob = rig.signed_up("bob@example.com", "bob", "203.0.113.2");
    assert_eq!(checkout(&pay, &mut bob, body).status, 201);
}
