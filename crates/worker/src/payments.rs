//! The payment providers over HTTP ([`cl_app::ports::PaymentProvider`]): LemonSqueezy hosted
//! checkouts and NOWPayments invoices and payment status (product.md §6).
//!
//! - **Calls**: `POST {LEMONSQUEEZY_API_URL}/v1/checkouts` (JSON:API, `Authorization: Bearer`),
//!   answer `data.attributes.url`; `POST {NOWPAYMENTS_API_URL}/v1/invoice` (`x-api-key`),
//!   answer `invoice_url`; `GET {NOWPAYMENTS_API_URL}/v1/payment/{id}` (`x-api-key`), answer the
//!   raw payment record, which `cl_billing::parse_nowpayments` reads like an IPN.
//! - **Configuration** ([`PaymentApiConfig::new`]): base URLs through `cl_outbound::BaseUrl`
//!   (https only in production; loopback http in development, for `tests/fakes/*.mjs`); the API
//!   keys are [`SecretString`]s that go into one header and nowhere else (`OutboundRequest`'s
//!   `Debug` redacts `authorization` and `x-api-key`).
//! - **Resilience**: each provider is a `cl_outbound::Upstream` (own circuit breaker, named
//!   `lemonsqueezy` / `nowpayments`) with [`PAYMENTS_RETRY`]: 2 tries, 500 ms apart, 5xx /
//!   timeout / transport only; a 4xx is the provider refusing us and is never retried. A
//!   retried checkout can at worst create a second, unused hosted page for the same pending
//!   payment (activation is keyed on our payment id), so retrying a POST is safe here.
//! - **Answers** are checked before use: the redirect URL must be an absolute `https://` URL
//!   without spaces or control characters, else [`ProviderError::Rejected`]. Errors carry the
//!   status or transport failure, never a key or the provider's body.

use cl_app::ports::{CheckoutUrl, PaymentProvider, ProviderCheckout, ProviderError};
use cl_auth::SecretString;
use cl_outbound::ports::{
    BreakerStore, Clock, HttpTransport, Method, OutboundRequest, OutboundResponse, Sleeper,
};
use cl_outbound::retry::RetryPolicy;
use cl_outbound::upstream::{CallError, Upstream};
use cl_outbound::url::{BaseUrl, Scheme};
use std::fmt;

/// LemonSqueezy's API when `LEMONSQUEEZY_API_URL` is unset.
pub const LEMONSQUEEZY_DEFAULT_URL: &str = "https://api.lemonsqueezy.com";
/// NOWPayments' API when `NOWPAYMENTS_API_URL` is unset.
pub const NOWPAYMENTS_DEFAULT_URL: &str = "https://api.nowpayments.io";
/// Time allowed for one try.
pub const DEFAULT_PAYMENT_TIMEOUT_MS: u64 = 8_000;
/// Longest provider payment id put into a URL path.
const MAX_PAYMENT_ID_LEN: usize = 64;
/// Longest redirect URL accepted from a provider.
const MAX_REDIRECT_URL_LEN: usize = 2_048;
/// JSON:API media type (LemonSqueezy).
const JSON_API: &str = "application/vnd.api+json";

/// Retries of a provider call: a second try after 500 ms for 5xx, timeouts and transport
/// failures; a `Retry-After` over 1 s gives up (the customer is waiting).
pub const PAYMENTS_RETRY: RetryPolicy = RetryPolicy {
    max_tries: 2,
    base_backoff_ms: 500,
    max_backoff_ms: 500,
    max_retry_after_ms: 1_000,
};

/// Why the provider configuration is unusable (names, never values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentApiConfigError {
    /// A base URL is malformed or not https (loopback http only in development).
    Url(&'static str),
    /// An API key is empty.
    MissingKey(&'static str),
}

impl fmt::Display for PaymentApiConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(name) => write!(
                f,
                "{name} must be an https URL (loopback http only in development)"
            ),
            Self::MissingKey(name) => write!(f, "{name} is empty"),
        }
    }
}

impl std::error::Error for PaymentApiConfigError {}

/// One provider's API: base URL and key.
#[derive(Clone)]
struct Api {
    base: BaseUrl,
    key: SecretString,
}

/// Where and how to reach both providers.
#[derive(Clone)]
pub struct PaymentApiConfig {
    lemonsqueezy: Api,
    nowpayments: Api,
    timeout_ms: u64,
}

impl fmt::Debug for PaymentApiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentApiConfig")
            .field("lemonsqueezy", &self.lemonsqueezy.base.as_str())
            .field("nowpayments", &self.nowpayments.base.as_str())
            .field("keys", &"[REDACTED]")
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

fn api(
    url: Option<&str>,
    default: &str,
    url_name: &'static str,
    key: Option<SecretString>,
    key_name: &'static str,
    production: bool,
) -> Result<Api, PaymentApiConfigError> {
    let scheme = if production {
        Scheme::HttpsOnly
    } else {
        Scheme::AllowInsecureLoopback
    };
    let raw = url
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or(default);
    let base = BaseUrl::parse(raw, scheme).map_err(|_| PaymentApiConfigError::Url(url_name))?;
    let key = key
        .filter(|k| !k.expose_secret().trim().is_empty())
        .ok_or(PaymentApiConfigError::MissingKey(key_name))?;
    Ok(Api { base, key })
}

impl PaymentApiConfig {
    /// Checks the base URLs (defaults: the providers' public APIs) and the keys.
    ///
    /// # Errors
    /// A [`PaymentApiConfigError`] naming the setting.
    pub fn new(
        lemonsqueezy_url: Option<&str>,
        lemonsqueezy_key: Option<SecretString>,
        nowpayments_url: Option<&str>,
        nowpayments_key: Option<SecretString>,
        production: bool,
    ) -> Result<Self, PaymentApiConfigError> {
        Ok(Self {
            lemonsqueezy: api(
                lemonsqueezy_url,
                LEMONSQUEEZY_DEFAULT_URL,
                "LEMONSQUEEZY_API_URL",
                lemonsqueezy_key,
                "LEMONSQUEEZY_API_KEY",
                production,
            )?,
            nowpayments: api(
                nowpayments_url,
                NOWPAYMENTS_DEFAULT_URL,
                "NOWPAYMENTS_API_URL",
                nowpayments_key,
                "NOWPAYMENTS_API_KEY",
                production,
            )?,
            timeout_ms: DEFAULT_PAYMENT_TIMEOUT_MS,
        })
    }

    /// The same with another per-try time limit.
    #[must_use]
    pub fn with_timeout_ms(mut self, timeout_ms: u64) -> Self {
        self.timeout_ms = timeout_ms;
        self
    }
}

/// Both providers over one transport, each behind its own breaker.
pub struct HttpPaymentProvider<T, S, C, B> {
    config: PaymentApiConfig,
    lemonsqueezy: Upstream<T, S, C, B>,
    nowpayments: Upstream<T, S, C, B>,
}

impl<T, S, C, B> fmt::Debug for HttpPaymentProvider<T, S, C, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpPaymentProvider")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<T, S, C, B> HttpPaymentProvider<T, S, C, B>
where
    T: HttpTransport + Clone,
    S: Sleeper + Clone,
    C: Clock + Clone,
    B: BreakerStore + Clone,
{
    /// The provider client (the ports are cloned into each upstream: pass references or
    /// `Copy` adapters).
    pub fn new(config: PaymentApiConfig, transport: T, sleeper: S, clock: C, store: B) -> Self {
        let upstream = |name: &str| {
            Upstream::new(
                name,
                PAYMENTS_RETRY,
                transport.clone(),
                sleeper.clone(),
                clock.clone(),
                store.clone(),
            )
        };
        Self {
            lemonsqueezy: upstream("lemonsqueezy"),
            nowpayments: upstream("nowpayments"),
            config,
        }
    }
}

fn provider_error(e: CallError) -> ProviderError {
    match e {
        // The provider refused the request itself: retrying cannot help.
        CallError::Status { status, .. } if (400..500).contains(&status) && status != 429 => {
            ProviderError::Rejected(format!("provider answered {status}"))
        }
        CallError::Status { status, tries, .. } => {
            ProviderError::Unavailable(format!("provider answered {status} after {tries} tries"))
        }
        other => ProviderError::Unavailable(other.to_string()),
    }
}

/// An absolute https URL without spaces or control characters.
fn redirect_url(raw: Option<&str>) -> Result<CheckoutUrl, ProviderError> {
    let bad = || ProviderError::Rejected("the provider answered no usable checkout URL".into());
    let url = raw.ok_or_else(bad)?;
    let host = url.strip_prefix("https://").ok_or_else(bad)?;
    let ok = url.len() <= MAX_REDIRECT_URL_LEN
        && !host.is_empty()
        && !host.starts_with('/')
        && url.chars().all(|c| c.is_ascii_graphic());
    if ok {
        Ok(CheckoutUrl(url.to_owned()))
    } else {
        Err(bad())
    }
}

fn json_of(resp: &OutboundResponse) -> Result<serde_json::Value, ProviderError> {
    serde_json::from_slice(&resp.body)
        .map_err(|_| ProviderError::Rejected("the provider answered no JSON".into()))
}

fn encode_error(e: &serde_json::Error) -> ProviderError {
    ProviderError::Rejected(format!("encode: {e}"))
}

impl<T, S, C, B> PaymentProvider for HttpPaymentProvider<T, S, C, B>
where
    T: HttpTransport,
    S: Sleeper,
    C: Clock,
    B: BreakerStore,
{
    async fn create_checkout(
        &self,
        request: &ProviderCheckout,
    ) -> Result<CheckoutUrl, ProviderError> {
        let timeout_ms = self.config.timeout_ms;
        match request {
            ProviderCheckout::LemonSqueezy(body) => {
                let api = &self.config.lemonsqueezy;
                let req = OutboundRequest {
                    method: Method::Post,
                    url: api.base.join("/v1/checkouts"),
                    headers: vec![
                        ("accept".into(), JSON_API.into()),
                        ("content-type".into(), JSON_API.into()),
                        (
                            "authorization".into(),
                            format!("Bearer {}", api.key.expose_secret()),
                        ),
                    ],
                    body: serde_json::to_vec(body).map_err(|e| encode_error(&e))?,
                    timeout_ms,
                };
                let resp = self.lemonsqueezy.send(req).await.map_err(provider_error)?;
                let json = json_of(&resp)?;
                redirect_url(
                    json.pointer("/data/attributes/url")
                        .and_then(|v| v.as_str()),
                )
            }
            ProviderCheckout::NowPayments(body) => {
                let api = &self.config.nowpayments;
                let req = OutboundRequest {
                    method: Method::Post,
                    url: api.base.join("/v1/invoice"),
                    headers: vec![
                        ("content-type".into(), "application/json".into()),
                        ("x-api-key".into(), api.key.expose_secret().to_owned()),
                    ],
                    body: serde_json::to_vec(body).map_err(|e| encode_error(&e))?,
                    timeout_ms,
                };
                let resp = self.nowpayments.send(req).await.map_err(provider_error)?;
                let json = json_of(&resp)?;
                redirect_url(json.get("invoice_url").and_then(|v| v.as_str()))
            }
        }
    }

    async fn nowpayments_payment(&self, payment_id: &str) -> Result<Vec<u8>, ProviderError> {
        // Our stored id came from a verified IPN, but it still goes into a URL path: digits and
        // letters only.
        let id_ok = !payment_id.is_empty()
            && payment_id.len() <= MAX_PAYMENT_ID_LEN
            && payment_id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !id_ok {
            return Err(ProviderError::Rejected("unusable payment id".into()));
        }
        let api = &self.config.nowpayments;
        let req = OutboundRequest {
            method: Method::Get,
            url: api.base.join(&format!("/v1/payment/{payment_id}")),
            headers: vec![("x-api-key".into(), api.key.expose_secret().to_owned())],
            body: Vec::new(),
            timeout_ms: self.config.timeout_ms,
        };
        let resp = self.nowpayments.send(req).await.map_err(provider_error)?;
        Ok(resp.body)
    }
}

// ---------------------------------------------------------------------------------------------
// Worker wiring
// ---------------------------------------------------------------------------------------------

/// Breaker records in KV, shareable between the two upstreams.
#[derive(Clone)]
pub struct SharedKvBreakers(std::rc::Rc<crate::adapters::KvBreakerStore>);

impl BreakerStore for SharedKvBreakers {
    async fn get(
        &self,
        upstream: &str,
    ) -> Result<Option<String>, cl_outbound::ports::BreakerStoreError> {
        self.0.get(upstream).await
    }

    async fn put(
        &self,
        upstream: &str,
        record: &str,
    ) -> Result<(), cl_outbound::ports::BreakerStoreError> {
        self.0.put(upstream, record).await
    }
}

/// The worker's provider: `fetch`, `setTimeout`, the wall clock, KV breakers.
pub type WorkerProvider = HttpPaymentProvider<
    crate::fetch_transport::FetchTransport,
    crate::adapters::DelaySleeper,
    crate::adapters::RunClock,
    SharedKvBreakers,
>;

/// The payment dependencies of one request, owned (see [`WorkerPayments::deps`]).
pub struct WorkerPayments {
    config: cl_app::billing::BillingConfig,
    provider: WorkerProvider,
}

impl WorkerPayments {
    /// Reads the checkout settings, provider URLs and keys; `None` (logged by name, never by
    /// value) when anything is missing or invalid, so the payment routes answer 503.
    pub fn from_env(env: &worker::Env, config: &cl_api::config::Config) -> Option<Self> {
        let lookup = |name: &str| crate::bindings::lookup(env, name);
        let production = config.environment == cl_api::config::Environment::Production;
        let problem = |what: String| {
            worker::console_warn!(
                "{}",
                serde_json::json!({"level": "warn", "event": "payments_unconfigured", "problem": what})
            );
        };
        let billing = match cl_api::payments::billing_config(config, lookup) {
            Ok(b) => b,
            Err(e) => {
                problem(e.to_string());
                return None;
            }
        };
        let api = match PaymentApiConfig::new(
            lookup("LEMONSQUEEZY_API_URL").as_deref(),
            config.secrets.lemonsqueezy_api_key.clone(),
            lookup("NOWPAYMENTS_API_URL").as_deref(),
            config.secrets.nowpayments_api_key.clone(),
            production,
        ) {
            Ok(a) => a,
            Err(e) => {
                problem(e.to_string());
                return None;
            }
        };
        let kv = match env.kv(crate::bindings::KV) {
            Ok(kv) => kv,
            Err(e) => {
                problem(format!("kv binding: {e}"));
                return None;
            }
        };
        let breakers = SharedKvBreakers(std::rc::Rc::new(crate::adapters::KvBreakerStore::new(kv)));
        let provider = HttpPaymentProvider::new(
            api,
            crate::fetch_transport::FetchTransport,
            crate::adapters::DelaySleeper,
            crate::adapters::RunClock::starting_at(crate::adapters::wall_ms()),
            breakers,
        );
        Some(Self {
            config: billing,
            provider,
        })
    }

    /// The borrowed bundle the HTTP layer takes.
    pub fn deps(&self) -> cl_api::payments::Payments<'_> {
        cl_api::payments::Payments {
            gateway: &self.provider,
            config: &self.config,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use cl_outbound::ports::{BreakerStoreError, TransportError};
    use serde_json::json;
    use std::cell::{Cell, RefCell};
    use std::collections::{BTreeMap, VecDeque};
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    fn run<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("the scripted ports never wait"),
        }
    }

    /// Scripted transport, recording sleeper, fixed clock, memory breaker store.
    #[derive(Default)]
    struct Ports {
        answers: RefCell<VecDeque<Result<OutboundResponse, TransportError>>>,
        seen: RefCell<Vec<OutboundRequest>>,
        sleeps: RefCell<Vec<u64>>,
        breakers: RefCell<BTreeMap<String, String>>,
        now: Cell<i64>,
    }

    impl HttpTransport for Ports {
        async fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, TransportError> {
            self.seen.borrow_mut().push(req);
            self.answers
                .borrow_mut()
                .pop_front()
                .unwrap_or(Err(TransportError::Other("script exhausted".into())))
        }
    }
    impl Sleeper for Ports {
        async fn sleep(&self, ms: u64) {
            self.sleeps.borrow_mut().push(ms);
        }
    }
    impl Clock for Ports {
        fn now_ms(&self) -> i64 {
            self.now.get()
        }
    }
    impl BreakerStore for Ports {
        async fn get(&self, upstream: &str) -> Result<Option<String>, BreakerStoreError> {
            Ok(self.breakers.borrow().get(upstream).cloned())
        }
        async fn put(&self, upstream: &str, record: &str) -> Result<(), BreakerStoreError> {
            self.breakers
                .borrow_mut()
                .insert(upstream.into(), record.into());
            Ok(())
        }
    }

    const LS_KEY: &str = "ls_live_key_0123456789abcdef";
    const NP_KEY: &str = "np_live_key_0123456789abcdef";

    fn reply(status: u16, body: serde_json::Value) -> Result<OutboundResponse, TransportError> {
        Ok(OutboundResponse {
            status,
            headers: vec![],
            body: serde_json::to_vec(&body).unwrap(),
        })
    }

    fn client(p: &Ports) -> HttpPaymentProvider<&Ports, &Ports, &Ports, &Ports> {
        let config = PaymentApiConfig::new(
            Some("https://ls.example/"),
            Some(SecretString::new(LS_KEY)),
            Some("https://np.example/api"),
            Some(SecretString::new(NP_KEY)),
            true,
        )
        .unwrap();
        HttpPaymentProvider::new(config, p, p, p, p)
    }

    fn ls_body() -> ProviderCheckout {
        use cl_app::billing::core::checkout::{
            lemonsqueezy_checkout, nowpayments_invoice, CheckoutConfig, CheckoutRequest,
            CheckoutRequestDto, CheckoutSettings, Coin,
        };
        use cl_app::billing::core::plan::{PriceTable, VariantTable};
        use cl_app::billing::core::{Amount, PaymentId, UserId};
        let _ = nowpayments_invoice;
        let config = CheckoutConfig::new(CheckoutSettings {
            prices: PriceTable::new(Amount::from_units(999).unwrap()).unwrap(),
            variants: VariantTable::new("101", "102", "201", "202", "301").unwrap(),
            coins: Coin::ALL.to_vec(),
            lemonsqueezy_store_id: "12345".into(),
            success_url: "https://app.example/settings/billing".into(),
            cancel_url: "https://app.example/upgrade".into(),
            ipn_callback_url: "https://app.example/api/v1/webhooks/nowpayments".into(),
            lemonsqueezy_test_mode: false,
        })
        .unwrap();
        let dto = CheckoutRequestDto {
            provider: "lemonsqueezy".into(),
            plan: "pro".into(),
            cycle: Some("monthly".into()),
            crypto: None,
        };
        let request = CheckoutRequest::parse(&dto, &config).unwrap();
        let payment = cl_app::billing::core::checkout::new_payment(
            UserId::new(7).unwrap(),
            &request,
            &config,
            0,
        );
        ProviderCheckout::LemonSqueezy(lemonsqueezy_checkout(
            &config,
            PaymentId::new(42).unwrap(),
            &payment,
            None,
        ))
    }

    fn np_body() -> ProviderCheckout {
        use cl_app::billing::core::checkout::NowPaymentsInvoiceBody;
        use cl_app::billing::core::Amount;
        ProviderCheckout::NowPayments(NowPaymentsInvoiceBody {
            price_amount: Amount::from_units(19).unwrap(),
            price_currency: "usd".into(),
            pay_currency: "btc".into(),
            order_id: "42".into(),
            order_description: "CryptoLens Edge pro monthly".into(),
            ipn_callback_url: "https://app.example/api/v1/webhooks/nowpayments".into(),
            success_url: "https://app.example/settings/billing".into(),
            cancel_url: "https://app.example/upgrade".into(),
        })
    }

    #[test]
    fn a_lemonsqueezy_checkout_posts_json_api_with_the_bearer_key_and_returns_the_url() {
        let p = Ports::default();
        p.answers.borrow_mut().push_back(reply(
            201,
            json!({"data": {"type": "checkouts", "id": "c1",
                "attributes": {"url": "https://shop.lemonsqueezy.com/checkout/custom/c1?signature=x"}}}),
        ));
        let url = run(client(&p).create_checkout(&ls_body())).unwrap();
        assert_eq!(
            url.0,
            "https://shop.lemonsqueezy.com/checkout/custom/c1?signature=x"
        );
        let seen = p.seen.borrow();
        let req = &seen[0];
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.url, "https://ls.example/v1/checkouts");
        assert!(req
            .headers
            .contains(&("authorization".into(), format!("Bearer {LS_KEY}"))));
        assert!(req
            .headers
            .contains(&("content-type".into(), JSON_API.into())));
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["data"]["type"], "checkouts");
        assert!(
            !format!("{req:?}").contains(LS_KEY),
            "Debug must redact the key"
        );
    }

    #[test]
    fn a_nowpayments_invoice_posts_json_with_the_api_key_and_returns_the_invoice_url() {
        let p = Ports::default();
        p.answers.borrow_mut().push_back(reply(
            200,
            json!({"id": "4522625843", "order_id": "42",
                "invoice_url": "https://nowpayments.io/payment/?iid=4522625843"}),
        ));
        let url = run(client(&p).create_checkout(&np_body())).unwrap();
        assert_eq!(url.0, "https://nowpayments.io/payment/?iid=4522625843");
        let seen = p.seen.borrow();
        assert_eq!(seen[0].url, "https://np.example/api/v1/invoice");
        assert!(seen[0]
            .headers
            .contains(&("x-api-key".into(), NP_KEY.into())));
        let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
        assert_eq!(body["order_id"], "42");
        assert_eq!(body["price_currency"], "usd");
        assert!(!format!("{:?}", seen[0]).contains(NP_KEY));
    }

    #[test]
    fn the_payment_status_is_fetched_by_id_and_returned_raw() {
        let p = Ports::default();
        let record = json!({"payment_id": 5077125051_u64, "payment_status": "finished"});
        p.answers.borrow_mut().push_back(reply(200, record.clone()));
        let raw = run(client(&p).nowpayments_payment("5077125051")).unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&raw).unwrap(),
            record
        );
        let seen = p.seen.borrow();
        assert_eq!(seen[0].method, Method::Get);
        assert_eq!(seen[0].url, "https://np.example/api/v1/payment/5077125051");
        drop(seen);
        // An id that is not alphanumeric never reaches a URL.
        assert!(matches!(
            run(client(&p).nowpayments_payment("../admin")),
            Err(ProviderError::Rejected(_))
        ));
        assert_eq!(p.seen.borrow().len(), 1);
    }

    #[test]
    fn a_5xx_is_retried_once_and_a_4xx_is_refused_without_retry() {
        let p = Ports::default();
        p.answers
            .borrow_mut()
            .extend([reply(502, json!({})), reply(503, json!({}))]);
        let err = run(client(&p).create_checkout(&np_body())).unwrap_err();
        assert!(matches!(err, ProviderError::Unavailable(_)), "{err:?}");
        assert_eq!(p.seen.borrow().len(), 2);
        assert_eq!(*p.sleeps.borrow(), vec![500]);

        let p = Ports::default();
        p.answers
            .borrow_mut()
            .push_back(reply(401, json!({"message": "bad key"})));
        let err = run(client(&p).create_checkout(&ls_body())).unwrap_err();
        assert_eq!(err, ProviderError::Rejected("provider answered 401".into()));
        assert_eq!(p.seen.borrow().len(), 1);
        assert!(!err.to_string().contains("bad key"));
    }

    #[test]
    fn an_answer_without_an_https_url_is_refused() {
        for body in [
            json!({"invoice_url": "http://nowpayments.io/x"}),
            json!({"invoice_url": "javascript:alert(1)"}),
            json!({"invoice_url": "https://"}),
            json!({"invoice_url": "https://a b"}),
            json!({"id": "1"}),
        ] {
            let p = Ports::default();
            p.answers.borrow_mut().push_back(reply(200, body.clone()));
            assert!(
                matches!(
                    run(client(&p).create_checkout(&np_body())),
                    Err(ProviderError::Rejected(_))
                ),
                "{body}"
            );
        }
        let p = Ports::default();
        p.answers.borrow_mut().push_back(Ok(OutboundResponse {
            status: 200,
            headers: vec![],
            body: b"<html>".to_vec(),
        }));
        assert!(run(client(&p).create_checkout(&ls_body())).is_err());
    }

    #[test]
    fn the_configuration_checks_urls_and_keys_and_never_prints_keys() {
        let key = || Some(SecretString::new("k-0123456789"));
        assert!(PaymentApiConfig::new(None, key(), None, key(), true).is_ok());
        assert_eq!(
            PaymentApiConfig::new(Some("http://127.0.0.1:9000"), key(), None, key(), true)
                .unwrap_err(),
            PaymentApiConfigError::Url("LEMONSQUEEZY_API_URL")
        );
        assert!(
            PaymentApiConfig::new(Some("http://127.0.0.1:9000"), key(), None, key(), false).is_ok()
        );
        assert_eq!(
            PaymentApiConfig::new(None, key(), Some("http://np.example"), key(), false)
                .unwrap_err(),
            PaymentApiConfigError::Url("NOWPAYMENTS_API_URL")
        );
        assert_eq!(
            PaymentApiConfig::new(None, key(), None, Some(SecretString::new(" ")), true)
                .unwrap_err(),
            PaymentApiConfigError::MissingKey("NOWPAYMENTS_API_KEY")
        );
        let c = PaymentApiConfig::new(None, key(), None, key(), true).unwrap();
        assert!(!format!("{c:?}").contains("k-0123456789"));
    }
}
