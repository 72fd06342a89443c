//! The payment routes (product.md §6, §11.20): checkout, payment history, server-side status
//! checks, the caller's subscription, and the two provider webhooks. Thin over
//! `cl_app::billing::BillingService`.
//!
//! Design:
//! - **Webhooks** (`POST /webhooks/lemonsqueezy`, `/webhooks/nowpayments`) are
//!   [`Access::Signature`](crate::access::Access::Signature): no session, no CSRF. The handler
//!   refuses a declared or actual body over [`MAX_WEBHOOK_BODY`] (413), then hands the RAW bytes
//!   and the signature header to `BillingService::handle_webhook`, which verifies (constant
//!   time, secret required) BEFORE parsing, dedups by event id and applies payment +
//!   subscription in one atomic store call. Nothing about the body or the header is logged.
//! - **Checkout / check / history** need a full session (checkout and check also CSRF via the
//!   gate); a checkout needs a verified email (`email_unverified`) and is limited to 10/h per
//!   user (the limiter lives with the account deps, see `auth.rs`).
//! - The provider is reached through [`PaymentGateway`], an object-safe view of
//!   `cl_app::ports::PaymentProvider`, so the account bundle carries one optional
//!   [`Payments`] reference instead of another type parameter. Without it (no valid payment
//!   configuration) these routes answer 503 and a provider's retry delivers the event later.
//! - Every error maps in ONE place per error type ([`checkout_error`], [`webhook_error`],
//!   [`check_error`]); provider and store details go to the log cause, never the body.

use crate::access::Caller;
use crate::body::{self, JsonBody};
use crate::config::{Config, Environment};
use crate::context::RequestContext;
use crate::error::{self, ApiError};
use crate::events::EventSink;
use crate::http::{Request, Response};
use crate::params::{Extract, IdParams, NoParams, PaymentsParams};
use crate::routes::{PathParams, Route};
use cl_api_types::{
    CheckoutRequest, CheckoutStarted, ErrorCode, FieldError, PaymentCheck, PaymentDto,
    SubscriptionDto, WebhookAck,
};
use cl_app::billing::core::checkout::{
    CheckoutConfig, CheckoutError, CheckoutRequestDto, CheckoutSettings, Coin,
};
use cl_app::billing::core::plan::{PriceTable, VariantTable};
use cl_app::billing::core::signature::MAX_WEBHOOK_BODY_BYTES;
use cl_app::billing::core::subscription::{AccessEnd, Subscription};
use cl_app::billing::core::{Amount, EventError, PaymentId, Provider, UserId as BillingUserId};
use cl_app::billing::{
    BillingConfig, BillingService, Buyer, CheckError, CheckoutFailure, WebhookError,
    WebhookOutcome, WebhookSecrets,
};
use cl_app::ports::{
    BillingStore, CheckoutUrl, PageRequest, PaymentProvider, ProviderCheckout, ProviderError,
    StoredPayment,
};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// The largest webhook body accepted (product.md §11.17: 256 KiB).
pub const MAX_WEBHOOK_BODY: usize = MAX_WEBHOOK_BODY_BYTES;
/// LemonSqueezy's signature header.
pub const LEMONSQUEEZY_SIGNATURE_HEADER: &str = "x-signature";
/// NOWPayments' signature header.
pub const NOWPAYMENTS_SIGNATURE_HEADER: &str = "x-nowpayments-sig";

/// The routes this module serves.
pub const ROUTES: &[Route] = &[
    Route::PaymentCheckout,
    Route::Payments,
    Route::Payment,
    Route::PaymentCheck,
    Route::MySubscription,
    Route::WebhookLemonSqueezy,
    Route::WebhookNowPayments,
];

/// Whether `route` is one of [`ROUTES`].
pub fn handles(route: Route) -> bool {
    ROUTES.contains(&route)
}

// ---------------------------------------------------------------------------------------------
// The provider, object-safe
// ---------------------------------------------------------------------------------------------

/// A boxed local future (the worker's futures are `!Send`).
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// `PaymentProvider` as a trait object.
pub trait PaymentGateway {
    /// See `PaymentProvider::create_checkout`.
    fn checkout<'a>(
        &'a self,
        request: &'a ProviderCheckout,
    ) -> LocalFuture<'a, Result<CheckoutUrl, ProviderError>>;

    /// See `PaymentProvider::nowpayments_payment`.
    fn nowpayments<'a>(
        &'a self,
        payment_id: &'a str,
    ) -> LocalFuture<'a, Result<Vec<u8>, ProviderError>>;
}

impl<P: PaymentProvider> PaymentGateway for P {
    fn checkout<'a>(
        &'a self,
        request: &'a ProviderCheckout,
    ) -> LocalFuture<'a, Result<CheckoutUrl, ProviderError>> {
        Box::pin(self.create_checkout(request))
    }

    fn nowpayments<'a>(
        &'a self,
        payment_id: &'a str,
    ) -> LocalFuture<'a, Result<Vec<u8>, ProviderError>> {
        Box::pin(self.nowpayments_payment(payment_id))
    }
}

/// A [`PaymentGateway`] reference, usable where a `PaymentProvider` is expected.
struct Gateway<'a>(&'a dyn PaymentGateway);

impl PaymentProvider for Gateway<'_> {
    async fn create_checkout(
        &self,
        request: &ProviderCheckout,
    ) -> Result<CheckoutUrl, ProviderError> {
        self.0.checkout(request).await
    }

    async fn nowpayments_payment(&self, payment_id: &str) -> Result<Vec<u8>, ProviderError> {
        self.0.nowpayments(payment_id).await
    }
}

/// What the payment routes need besides the store: the provider and the billing config.
pub struct Payments<'a> {
    /// LemonSqueezy / NOWPayments.
    pub gateway: &'a dyn PaymentGateway,
    /// Secrets, prices, variants, coins, URLs.
    pub config: &'a BillingConfig,
}

impl std::fmt::Debug for Payments<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payments").finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// Config names of the checkout settings (vars, not secrets).
pub mod keys {
    /// LemonSqueezy store id.
    pub const LEMONSQUEEZY_STORE_ID: &str = "LEMONSQUEEZY_STORE_ID";
    /// `pro_monthly:ID,pro_yearly:ID,premium_monthly:ID,premium_yearly:ID,lifetime:ID`.
    pub const LEMONSQUEEZY_VARIANTS: &str = "LEMONSQUEEZY_VARIANTS";
    /// The lifetime price in USD (e.g. `999` or `999.00`).
    pub const LIFETIME_PRICE_USD: &str = "LIFETIME_PRICE_USD";
    /// Comma-separated coins offered through NOWPayments (default: all five).
    pub const PAYMENT_COINS: &str = "PAYMENT_COINS";
    /// `true` to create LemonSqueezy checkouts in test mode (ignored in production).
    pub const LEMONSQUEEZY_TEST_MODE: &str = "LEMONSQUEEZY_TEST_MODE";
}

/// Why the payment configuration is unusable (names, never values).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentsConfigError {
    /// A setting is missing.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A setting is malformed.
    #[error("{0} is invalid")]
    Invalid(&'static str),
}

fn variants(raw: &str) -> Result<VariantTable, PaymentsConfigError> {
    let bad = PaymentsConfigError::Invalid(keys::LEMONSQUEEZY_VARIANTS);
    let mut ids: [Option<&str>; 5] = [None; 5];
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, id) = pair.split_once(':').ok_or_else(|| bad.clone())?;
        let slot = match name.trim() {
            "pro_monthly" => 0,
            "pro_yearly" => 1,
            "premium_monthly" => 2,
            "premium_yearly" => 3,
            "lifetime" => 4,
            _ => return Err(bad),
        };
        if let Some(cell) = ids.get_mut(slot) {
            *cell = Some(id.trim());
        }
    }
    match ids {
        [Some(a), Some(b), Some(c), Some(d), Some(e)] => {
            VariantTable::new(a, b, c, d, e).map_err(|_| bad)
        }
        _ => Err(bad),
    }
}

/// Builds the billing configuration from the typed config (webhook secrets, app URL,
/// environment) and the checkout vars read through `lookup`.
///
/// # Errors
/// [`PaymentsConfigError`] naming the first unusable setting.
pub fn billing_config(
    config: &Config,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<BillingConfig, PaymentsConfigError> {
    let get = |name: &'static str| {
        lookup(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or(PaymentsConfigError::Missing(name))
    };
    let secrets = &config.secrets;
    let lemonsqueezy =
        secrets
            .lemonsqueezy_webhook_secret
            .clone()
            .ok_or(PaymentsConfigError::Missing(
                crate::config::keys::LEMONSQUEEZY_WEBHOOK_SECRET,
            ))?;
    let nowpayments =
        secrets
            .nowpayments_ipn_secret
            .clone()
            .ok_or(PaymentsConfigError::Missing(
                crate::config::keys::NOWPAYMENTS_IPN_SECRET,
            ))?;
    let lifetime = Amount::parse_decimal(&get(keys::LIFETIME_PRICE_USD)?)
        .ok()
        .and_then(|a| PriceTable::new(a).ok())
        .ok_or(PaymentsConfigError::Invalid(keys::LIFETIME_PRICE_USD))?;
    let coins = match lookup(keys::PAYMENT_COINS).filter(|v| !v.trim().is_empty()) {
        None => Coin::ALL.to_vec(),
        Some(list) => list
            .split(',')
            .map(|c| Coin::parse(c.trim()).ok_or(PaymentsConfigError::Invalid(keys::PAYMENT_COINS)))
            .collect::<Result<Vec<_>, _>>()?,
    };
    let production = config.environment == Environment::Production;
    let base = config.app_url.trim_end_matches('/');
    let settings = CheckoutSettings {
        prices: lifetime,
        variants: variants(&get(keys::LEMONSQUEEZY_VARIANTS)?)?,
        coins,
        lemonsqueezy_store_id: get(keys::LEMONSQUEEZY_STORE_ID)?,
        success_url: format!("{base}/settings/billing"),
        cancel_url: format!("{base}/upgrade"),
        ipn_callback_url: format!("{base}/api/v1/webhooks/nowpayments"),
        lemonsqueezy_test_mode: !production
            && lookup(keys::LEMONSQUEEZY_TEST_MODE).is_some_and(|v| v.trim() == "true"),
    };
    let checkout = CheckoutConfig::new(settings)
        .map_err(|_| PaymentsConfigError::Invalid(crate::config::keys::APP_URL))?;
    Ok(BillingConfig {
        secrets: WebhookSecrets {
            lemonsqueezy,
            nowpayments,
        },
        checkout,
        // Test-mode events are ignored in production (product.md §6).
        test_mode_allowed: !production,
    })
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

impl JsonBody for CheckoutRequest {
    const FIELDS: &'static [(&'static str, bool)] = &[
        ("provider", true),
        ("plan", true),
        ("cycle", false),
        ("crypto", false),
    ];
}

/// One payment request as the handlers see it.
#[derive(Debug)]
pub struct PayCall<'r> {
    /// The request.
    pub req: &'r Request,
    /// Path parameters.
    pub path: &'r PathParams,
    /// Request context (`now_ms`, request id).
    pub ctx: &'r RequestContext,
    /// Who called (the gate has run).
    pub caller: &'r Caller,
}

fn billing_user(
    caller: &Caller,
) -> Result<(BillingUserId, &cl_app::accounts::Authenticated), ApiError> {
    let auth = caller
        .auth()
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))?;
    let id = BillingUserId::new(auth.user().id.0)
        .map_err(|_| ApiError::internal("user id out of the billing range"))?;
    Ok((id, auth))
}

fn deps<'p, 'a>(payments: Option<&'p Payments<'a>>) -> Result<&'p Payments<'a>, ApiError> {
    payments.ok_or_else(|| {
        ApiError::new(ErrorCode::ServiceUnavailable).with_cause("payments are not configured")
    })
}

fn log(events: &dyn EventSink, ctx: &RequestContext, level: &str, event: &str, fields: Value) {
    let mut line = serde_json::json!({
        "ts": ctx.now_ms,
        "level": level,
        "category": "billing",
        "event": event,
        "request_id": ctx.request_id,
    });
    if let (Some(obj), Value::Object(extra)) = (line.as_object_mut(), fields) {
        obj.extend(extra);
    }
    events.emit(&line.to_string());
}

/// Serves one payment route (the gate has run; `handles(route)` is true).
///
/// # Errors
/// The route's mapped errors.
pub async fn serve<S: BillingStore>(
    store: &S,
    payments: Option<&Payments<'_>>,
    events: &dyn EventSink,
    route: Route,
    call: &PayCall<'_>,
) -> Result<Response, ApiError> {
    let (req, path, ctx) = (call.req, call.path, call.ctx);
    let now = ctx.now_ms;
    match route {
        Route::WebhookLemonSqueezy => {
            webhook(store, payments, events, Provider::LemonSqueezy, call).await
        }
        Route::WebhookNowPayments => {
            webhook(store, payments, events, Provider::NowPayments, call).await
        }
        Route::PaymentCheckout => {
            NoParams::extract(req, path)?;
            let (user, auth) = billing_user(call.caller)?;
            let body: CheckoutRequest = body::json(req)?;
            let p = deps(payments)?;
            let gateway = Gateway(p.gateway);
            let svc = BillingService::new(store, &gateway, p.config);
            let buyer = Buyer {
                id: user,
                email: Some(auth.user().email.as_str().to_owned()),
                verified: auth.user().is_verified,
            };
            let dto = CheckoutRequestDto {
                provider: body.provider,
                plan: body.plan,
                cycle: body.cycle,
                crypto: body.crypto,
            };
            let started = svc
                .checkout(&buyer, &dto, now)
                .await
                .map_err(checkout_error)?;
            log(
                events,
                ctx,
                "info",
                "checkout_started",
                serde_json::json!({"user_id": user.get(), "payment_id": started.payment_id.get()}),
            );
            error::ok(
                ctx,
                201,
                CheckoutStarted {
                    payment_id: started.payment_id.get(),
                    url: started.url.0,
                },
            )
        }
        Route::Payments => {
            let params = PaymentsParams::extract(req, path)?;
            let (user, _) = billing_user(call.caller)?;
            let page = store
                .payments_of(
                    user,
                    PageRequest {
                        limit: params.limit,
                        after: params.cursor,
                    },
                )
                .await?;
            let items: Vec<PaymentDto> = page.items.iter().map(payment_dto).collect();
            error::ok_page(ctx, items, page.next.map(|c| c.encode()))
        }
        Route::Payment => {
            let id = payment_id(IdParams::extract(req, path)?)?;
            let (user, _) = billing_user(call.caller)?;
            let found = store
                .payment(id, user)
                .await?
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
            error::ok(ctx, 200, payment_dto(&found))
        }
        Route::PaymentCheck => {
            let id = payment_id(IdParams::extract(req, path)?)?;
            body::json::<body::Empty>(req)?;
            let (user, _) = billing_user(call.caller)?;
            let p = deps(payments)?;
            let gateway = Gateway(p.gateway);
            let svc = BillingService::new(store, &gateway, p.config);
            let check = svc
                .check_payment(user, id, now)
                .await
                .map_err(check_error)?;
            if let Some(outcome) = &check.outcome {
                log_outcome(events, ctx, Provider::NowPayments, outcome, "status_check");
            }
            error::ok(
                ctx,
                200,
                PaymentCheck {
                    payment: payment_dto(&check.payment),
                    checked: check.asked,
                },
            )
        }
        Route::MySubscription => {
            NoParams::extract(req, path)?;
            let (user, _) = billing_user(call.caller)?;
            let sub = store.subscription_of(user).await?;
            error::ok(
                ctx,
                200,
                subscription_dto(sub.map(|s| s.subscription).as_ref(), now),
            )
        }
        _ => Err(ApiError::new(ErrorCode::NotFound)),
    }
}

fn payment_id(p: IdParams) -> Result<PaymentId, ApiError> {
    // Ids are 1..=2^53 already; anything else names no payment.
    PaymentId::new(p.id).map_err(|_| ApiError::new(ErrorCode::NotFound))
}

async fn webhook<S: BillingStore>(
    store: &S,
    payments: Option<&Payments<'_>>,
    events: &dyn EventSink,
    provider: Provider,
    call: &PayCall<'_>,
) -> Result<Response, ApiError> {
    let (req, ctx) = (call.req, call.ctx);
    // The size cap first: a declared length over it, or a body over it, is never read further.
    let declared = req
        .headers
        .get("content-length")
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_WEBHOOK_BODY) || req.body.len() > MAX_WEBHOOK_BODY {
        log(
            events,
            ctx,
            "warn",
            "webhook_too_large",
            serde_json::json!({"provider": provider.as_str()}),
        );
        return Err(ApiError::new(ErrorCode::PayloadTooLarge));
    }
    let p = deps(payments)?;
    let header = match provider {
        Provider::LemonSqueezy => LEMONSQUEEZY_SIGNATURE_HEADER,
        Provider::NowPayments => NOWPAYMENTS_SIGNATURE_HEADER,
    };
    let signature = req.headers.get(header);
    let gateway = Gateway(p.gateway);
    let svc = BillingService::new(store, &gateway, p.config);
    match svc
        .handle_webhook(provider, &req.body, signature, ctx.now_ms)
        .await
    {
        Ok(outcome) => {
            log_outcome(events, ctx, provider, &outcome, "webhook");
            error::ok(ctx, 200, WebhookAck { received: true })
        }
        Err(e) => {
            let (level, event) = match &e {
                WebhookError::Signature(_) | WebhookError::TooLarge => ("warn", "webhook_refused"),
                _ => ("error", "webhook_failed"),
            };
            // The error names the check that failed, never the header or body.
            log(
                events,
                ctx,
                level,
                event,
                serde_json::json!({"provider": provider.as_str(), "reason": e.to_string()}),
            );
            Err(webhook_error(e))
        }
    }
}

fn log_outcome(
    events: &dyn EventSink,
    ctx: &RequestContext,
    provider: Provider,
    outcome: &WebhookOutcome,
    source: &str,
) {
    let (level, event, what, payment) = match outcome {
        WebhookOutcome::Applied {
            outcome,
            payment_id,
        } => (
            "info",
            "billing_event_applied",
            outcome.as_str().to_owned(),
            *payment_id,
        ),
        WebhookOutcome::Ignored => ("info", "billing_event_ignored", "ignored".into(), None),
        WebhookOutcome::Replay => ("info", "billing_event_replay", "replay".into(), None),
        // A mismatch is what a human acts on (product.md §6: rejected and logged).
        WebhookOutcome::Rejected {
            outcome,
            payment_id,
        } => (
            "error",
            "billing_event_rejected",
            outcome.clone(),
            *payment_id,
        ),
    };
    log(
        events,
        ctx,
        level,
        event,
        serde_json::json!({
            "provider": provider.as_str(),
            "source": source,
            "outcome": what,
            "payment_id": payment.map(PaymentId::get),
        }),
    );
}

// ---------------------------------------------------------------------------------------------
// Error mapping (one place per error type)
// ---------------------------------------------------------------------------------------------

fn field(name: &str, code: &str, message: String) -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed).with_fields(vec![FieldError {
        field: name.to_owned(),
        code: code.to_owned(),
        message,
    }])
}

/// Checkout failures → API errors.
pub fn checkout_error(e: CheckoutFailure) -> ApiError {
    match e {
        CheckoutFailure::Unverified => ApiError::new(ErrorCode::EmailUnverified),
        CheckoutFailure::Refused(c) => {
            let message = c.to_string();
            match c {
                CheckoutError::Provider => field("provider", "invalid_choice", message),
                CheckoutError::Plan => field("plan", "invalid_choice", message),
                CheckoutError::Cycle => field("cycle", "invalid_choice", message),
                CheckoutError::Coin | CheckoutError::CoinNotExpected => {
                    field("crypto", "invalid_choice", message)
                }
                CheckoutError::AlreadyLifetime | CheckoutError::Suspended => {
                    ApiError::new(ErrorCode::Conflict).with_message(message)
                }
            }
        }
        CheckoutFailure::Store(s) => s.into(),
        CheckoutFailure::Provider(p) => ApiError::new(ErrorCode::ServiceUnavailable)
            .with_message("The payment provider is unavailable. Try again shortly.")
            .with_cause(p.to_string()),
    }
}

/// Webhook failures → API errors (413 / 401 / 400 / 503).
pub fn webhook_error(e: WebhookError) -> ApiError {
    match e {
        WebhookError::TooLarge => ApiError::new(ErrorCode::PayloadTooLarge),
        WebhookError::Signature(s) => {
            ApiError::new(ErrorCode::Unauthorized).with_cause(format!("webhook signature: {s}"))
        }
        WebhookError::Event(EventError::Json(j)) => {
            ApiError::new(ErrorCode::MalformedJson).with_cause(j.to_string())
        }
        WebhookError::Event(ev) => {
            ApiError::new(ErrorCode::ValidationFailed).with_cause(ev.to_string())
        }
        WebhookError::Store(s) => s.into(),
        WebhookError::Busy => {
            ApiError::new(ErrorCode::ServiceUnavailable).with_cause("webhook rows kept changing")
        }
    }
}

/// Status-check failures → API errors.
pub fn check_error(e: CheckError) -> ApiError {
    match e {
        CheckError::NotFound => ApiError::new(ErrorCode::NotFound),
        CheckError::Store(s) => s.into(),
        other => ApiError::new(ErrorCode::ServiceUnavailable)
            .with_message("The payment provider is unavailable. Try again shortly.")
            .with_cause(other.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// DTOs
// ---------------------------------------------------------------------------------------------

fn payment_dto(p: &StoredPayment) -> PaymentDto {
    let r = &p.record;
    PaymentDto {
        id: p.id.get(),
        provider: r.provider.as_str().to_owned(),
        plan: r.offer.plan().as_str().to_owned(),
        cycle: r.offer.cycle_str().to_owned(),
        amount: r.amount.as_f64_units(),
        currency: r.currency.as_str().to_owned(),
        crypto_currency: r.crypto_currency.clone(),
        actually_paid: r.actually_paid,
        status: r.status.as_str().to_owned(),
        flagged: r.flagged,
        created_at: p.created_at,
        completed_at: r.completed_at,
    }
}

/// The caller's subscription as the tier policy sees it at `now`.
pub fn subscription_dto(sub: Option<&Subscription>, now: i64) -> SubscriptionDto {
    let Some(s) = sub else {
        return SubscriptionDto {
            tier: "free".into(),
            plan: None,
            status: None,
            valid: false,
            starts_at: None,
            expires_at: None,
            access_until: None,
            in_grace: false,
            cancelled_at: None,
            provider: None,
        };
    };
    let access_until = match s.access_end() {
        AccessEnd::At(t) => Some(t),
        AccessEnd::Never | AccessEnd::NoAccess => None,
    };
    let valid = s.is_valid(now);
    SubscriptionDto {
        tier: s.tier(now).as_str().to_owned(),
        plan: Some(s.plan.as_str().to_owned()),
        status: Some(s.status.as_str().to_owned()),
        valid,
        starts_at: Some(s.starts_at),
        expires_at: s.expires_at,
        access_until,
        in_grace: valid && s.expires_at.is_some_and(|e| now > e),
        cancelled_at: s.cancelled_at,
        provider: s.provider.map(|p| p.as_str().to_owned()),
    }
}

// ---------------------------------------------------------------------------------------------
// OpenAPI
// ---------------------------------------------------------------------------------------------
