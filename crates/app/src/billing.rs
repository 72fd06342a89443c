//! Billing use cases (product.md §6): provider webhooks, checkout, the subscriptions job, and
//! the user's payment history.
//!
//! Design:
//! - Every rule lives in `cl-billing` (pure); this module sequences it over the ports:
//!   verify the signature FIRST on the raw bytes, parse the same bytes, read the payment and the
//!   subscription, `apply_event`, then [`BillingStore::apply_webhook`] writes the event row, the
//!   payment and the subscription atomically.
//! - Optimistic concurrency: the write carries the rows the decision was computed from; when the
//!   store reports them changed ([`ApplyOutcome::Stale`]) the event is read and decided again,
//!   at most [`MAX_APPLY_ATTEMPTS`] times. Two events of one purchase racing therefore extend the
//!   subscription once.
//! - [`WebhookOutcome`] / [`WebhookError`] are what the HTTP layer maps (docs/billing.md §1):
//!   413 / 401 / 400 / 200 / 503.

/// The pure billing core, re-exported so adapters (the HTTP layer, the worker's provider
/// clients) read its types without their own dependency on `cl-billing`.
pub use cl_billing as core;

use cl_auth::SecretString;
use cl_billing::checkout::{
    ensure_purchase_allowed, lemonsqueezy_checkout, new_payment, nowpayments_invoice,
    CheckoutConfig, CheckoutError, CheckoutRequest, CheckoutRequestDto, PaymentMethod,
};
use cl_billing::events::PaymentRef;
use cl_billing::payment::renewal_record;
use cl_billing::subscription::due_expiry_warning;
use cl_billing::time::DAY_MS;
use cl_billing::{
    apply_event, parse_lemonsqueezy, parse_nowpayments, verify_lemonsqueezy, verify_nowpayments,
    ApplyError, BillingEvent, EventError, Outcome, PaymentId, PaymentRecord, Provider,
    SignatureError, UserId,
};

use crate::ports::{
    ApplyOutcome, BillingStore, CheckoutUrl, Page, PageRequest, PaymentProvider, ProviderCheckout,
    ProviderError, StoreError, StoredPayment, StoredSubscription, SubscriptionId, WebhookWrite,
};

/// How often one event is read and decided again when its rows changed in between.
pub const MAX_APPLY_ATTEMPTS: usize = 3;

/// Expiry warnings look this far ahead (the earliest threshold, 7 days).
pub const WARNING_HORIZON_MS: i64 = 7 * DAY_MS;

/// The stored outcome of an event naming a payment we do not have.
pub const UNKNOWN_PAYMENT: &str = "unknown_payment";

/// The webhook signing secrets (from config; a blank secret refuses every webhook).
#[derive(Debug, Clone)]
pub struct WebhookSecrets {
    /// LemonSqueezy signing secret (`X-Signature`).
    pub lemonsqueezy: SecretString,
    /// NOWPayments IPN secret (`x-nowpayments-sig`).
    pub nowpayments: SecretString,
}

/// Everything the billing use cases need from config.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// Webhook secrets.
    pub secrets: WebhookSecrets,
    /// Prices, variants, coins, URLs.
    pub checkout: CheckoutConfig,
    /// Whether LemonSqueezy test-mode events are applied (`false` in production).
    pub test_mode_allowed: bool,
}

/// What a verified webhook amounted to. Every variant answers 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Applied in one transaction (log at info: outcome, payment id).
    Applied {
        /// What happened.
        outcome: Outcome,
        /// The payment concerned.
        payment_id: Option<PaymentId>,
    },
    /// An event kind we do not act on: nothing stored.
    Ignored,
    /// Already recorded: nothing written.
    Replay,
    /// Verified but refused (cross-check mismatch, unknown payment): the event row is stored
    /// with `outcome` so retries dedup; nothing else written. Log at **error**.
    Rejected {
        /// The stored outcome (`mismatch_<field>`, `unknown_payment`, `not_a_renewal`).
        outcome: String,
        /// The payment named, when it exists.
        payment_id: Option<PaymentId>,
    },
}

/// Why a webhook was not processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Body over the cap (413).
    #[error("webhook body too large")]
    TooLarge,
    /// Signature missing, malformed, wrong, or secret not configured (401; log at warn).
    #[error("webhook signature refused: {0}")]
    Signature(SignatureError),
    /// Verified but unreadable, or missing our custom data (400; log at error).
    #[error("webhook event unreadable: {0}")]
    Event(EventError),
    /// The store failed (503: the provider retries).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The rows kept changing under the event (503: the provider retries).
    #[error("webhook rows kept changing; retry")]
    Busy,
}

impl WebhookError {
    /// The HTTP status to answer.
    pub const fn http_status(&self) -> u16 {
        match self {
            Self::TooLarge => 413,
            Self::Signature(_) => 401,
            Self::Event(_) => 400,
            Self::Store(_) | Self::Busy => 503,
        }
    }
}

/// The buyer of a checkout, as the HTTP layer knows them from the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buyer {
    /// The user.
    pub id: UserId,
    /// Their email (prefilled at LemonSqueezy).
    pub email: Option<String>,
    /// Only verified users may buy (product.md §1).
    pub verified: bool,
}

/// A started checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutStarted {
    /// Our pending payment.
    pub payment_id: PaymentId,
    /// Where to send the customer.
    pub url: CheckoutUrl,
}

/// Why a checkout was not started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckoutFailure {
    /// The user's email is not verified (403).
    #[error("verify your email before buying")]
    Unverified,
    /// An invalid request field, or a purchase that is not allowed (400 / 409).
    #[error(transparent)]
    Refused(#[from] CheckoutError),
    /// The store failed (503).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The provider failed (502); the pending payment stays, unused.
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// What `POST /payments/{id}/check` did.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusCheck {
    /// The payment after the check.
    pub payment: StoredPayment,
    /// Whether the provider was asked (only NOWPayments payments with a provider payment id
    /// can be: LemonSqueezy reports by webhook only, and an invoice nobody started paying has
    /// no payment id yet).
    pub asked: bool,
    /// What applying the provider's answer amounted to, when asked.
    pub outcome: Option<WebhookOutcome>,
}

/// Why a status check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// Not the caller's payment, or no such payment (404).
    #[error("payment not found")]
    NotFound,
    /// The provider failed (502).
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The provider answered something that is not a payment record (502).
    #[error("provider answer unreadable: {0}")]
    Unreadable(EventError),
    /// The store failed, or the rows kept changing (503).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The rows kept changing under the event (503).
    #[error("payment rows kept changing; retry")]
    Busy,
}

/// A warning the subscriptions job must send (newly recorded, so sent once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryNotice {
    /// Recipient.
    pub user_id: UserId,
    /// The subscription.
    pub subscription_id: SubscriptionId,
    /// Its expiry.
    pub expires_at: i64,
    /// 7, 3 or 1.
    pub days_before: i64,
}

/// What one run of the subscriptions job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionsReport {
    /// Subscriptions marked `expired`.
    pub expired: u64,
    /// Warnings to send now.
    pub warnings: Vec<ExpiryNotice>,
}

/// The billing use cases over a store and a payment provider.
#[derive(Debug)]
pub struct BillingService<'a, S, P> {
    store: &'a S,
    provider: &'a P,
    config: &'a BillingConfig,
}

enum Loaded {
    /// The payment row to decide on, and the stored row it came from (`None`: a renewal row
    /// not stored yet).
    Found(Box<(PaymentRecord, Option<PaymentRecord>)>),
    /// Refused before a decision: the stored outcome and the payment named, if it exists.
    Refused(String, Option<PaymentId>),
}

impl<'a, S: BillingStore, P: PaymentProvider> BillingService<'a, S, P> {
    /// Borrows the ports and the config.
    pub fn new(store: &'a S, provider: &'a P, config: &'a BillingConfig) -> Self {
        Self {
            store,
            provider,
            config,
        }
    }

    /// Handles one provider webhook: verify the signature of `raw` FIRST, parse the same
    /// bytes, decide with `cl_billing::apply_event`, persist atomically.
    ///
    /// # Errors
    /// [`WebhookError`] (see [`WebhookError::http_status`]).
    pub async fn handle_webhook(
        &self,
        provider: Provider,
        raw: &[u8],
        signature_header: Option<&str>,
        now: i64,
    ) -> Result<WebhookOutcome, WebhookError> {
        let secrets = &self.config.secrets;
        let verified = match provider {
            Provider::LemonSqueezy => {
                verify_lemonsqueezy(&secrets.lemonsqueezy, raw, signature_header)
            }
            Provider::NowPayments => {
                verify_nowpayments(&secrets.nowpayments, raw, signature_header)
            }
        };
        verified.map_err(|e| match e {
            SignatureError::TooLarge { .. } => WebhookError::TooLarge,
            other => WebhookError::Signature(other),
        })?;
        let event = match provider {
            Provider::LemonSqueezy => parse_lemonsqueezy(raw, self.config.checkout.variants()),
            Provider::NowPayments => parse_nowpayments(raw),
        }
        .map_err(WebhookError::Event)?;
        self.apply(&event, now).await
    }

    /// Applies an already verified and parsed event (also the path of a server-side status
    /// check turned into a [`BillingEvent`]).
    ///
    /// # Errors
    /// [`WebhookError::Store`], [`WebhookError::Busy`].
    pub async fn apply(
        &self,
        event: &BillingEvent,
        now: i64,
    ) -> Result<WebhookOutcome, WebhookError> {
        let (Some(key), Some(payment_ref)) = (event.event_key(), event.payment_ref()) else {
            return Ok(WebhookOutcome::Ignored);
        };
        for _ in 0..MAX_APPLY_ATTEMPTS {
            let mut write = WebhookWrite {
                provider: key.provider(),
                event_key: key.as_str().to_owned(),
                received_at: now,
                outcome: String::new(),
                payment_id: None,
                read_payment: None,
                payment: None,
                subscription_user: None,
                read_subscription: None,
                subscription: None,
            };
            let (current, read) = match self.load(&payment_ref, event).await? {
                Loaded::Found(found) => *found,
                Loaded::Refused(outcome, payment_id) => {
                    write.outcome = outcome.clone();
                    write.payment_id = payment_id;
                    return self.rejected(&write, outcome, payment_id).await;
                }
            };
            write.payment_id = current.id;
            let sub = self.store.subscription_of(current.user_id).await?;
            let sub = sub.map(|s| s.subscription);
            match apply_event(
                &current,
                sub.as_ref(),
                event,
                now,
                self.config.test_mode_allowed,
            ) {
                Err(e) => {
                    let outcome = e.stored_outcome();
                    write.outcome = outcome.clone();
                    // A refused event is recorded alone; guard the payment so a concurrent
                    // change re-decides.
                    write.read_payment = read;
                    match self.store.apply_webhook(&write).await? {
                        ApplyOutcome::Stale => continue,
                        ApplyOutcome::Replay => return Ok(WebhookOutcome::Replay),
                        ApplyOutcome::Applied { .. } => {
                            return Ok(WebhookOutcome::Rejected {
                                outcome,
                                payment_id: current.id,
                            })
                        }
                    }
                }
                Ok(decision) => {
                    write.outcome = decision.outcome.as_str().to_owned();
                    write.read_payment = read;
                    write.payment = decision.payment;
                    write.subscription_user = Some(current.user_id);
                    write.read_subscription = sub;
                    write.subscription = decision.subscription;
                    match self.store.apply_webhook(&write).await? {
                        ApplyOutcome::Stale => continue,
                        ApplyOutcome::Replay => return Ok(WebhookOutcome::Replay),
                        ApplyOutcome::Applied { payment_id } => {
                            return Ok(WebhookOutcome::Applied {
                                outcome: decision.outcome,
                                payment_id,
                            })
                        }
                    }
                }
            }
        }
        Err(WebhookError::Busy)
    }

    async fn rejected(
        &self,
        write: &WebhookWrite,
        outcome: String,
        payment_id: Option<PaymentId>,
    ) -> Result<WebhookOutcome, WebhookError> {
        match self.store.apply_webhook(write).await? {
            ApplyOutcome::Replay => Ok(WebhookOutcome::Replay),
            ApplyOutcome::Applied { .. } | ApplyOutcome::Stale => Ok(WebhookOutcome::Rejected {
                outcome,
                payment_id,
            }),
        }
    }

    async fn load(
        &self,
        payment_ref: &PaymentRef,
        event: &BillingEvent,
    ) -> Result<Loaded, StoreError> {
        match payment_ref {
            PaymentRef::Ours(id) => Ok(match self.store.payment_by_id(*id).await? {
                Some(p) => Loaded::Found(Box::new((p.record.clone(), Some(p.record)))),
                None => Loaded::Refused(UNKNOWN_PAYMENT.to_owned(), None),
            }),
            PaymentRef::Renewal {
                original,
                external_id,
            } => {
                let provider = event.provider();
                if let Some(p) = self
                    .store
                    .payment_by_external_id(provider, external_id)
                    .await?
                {
                    return Ok(Loaded::Found(Box::new((p.record.clone(), Some(p.record)))));
                }
                let Some(orig) = self.store.payment_by_id(*original).await? else {
                    return Ok(Loaded::Refused(UNKNOWN_PAYMENT.to_owned(), None));
                };
                Ok(match renewal_record(&orig.record, event) {
                    Ok(rec) => Loaded::Found(Box::new((rec, None))),
                    Err(e) => Loaded::Refused(refusal(&e), Some(orig.id)),
                })
            }
        }
    }

    /// Starts a checkout: validates the request, refuses purchases that are not allowed,
    /// stores a pending payment and asks the provider for the hosted page.
    ///
    /// # Errors
    /// [`CheckoutFailure`].
    pub async fn checkout(
        &self,
        buyer: &Buyer,
        request: &CheckoutRequestDto,
        now: i64,
    ) -> Result<CheckoutStarted, CheckoutFailure> {
        if !buyer.verified {
            return Err(CheckoutFailure::Unverified);
        }
        let config = &self.config.checkout;
        let request = CheckoutRequest::parse(request, config)?;
        let sub = self.store.subscription_of(buyer.id).await?;
        ensure_purchase_allowed(sub.as_ref().map(|s| &s.subscription), now)?;
        let pending = new_payment(buyer.id, &request, config, now);
        let payment_id = self.store.create_payment(&pending).await?;
        let body =
            match request.method() {
                PaymentMethod::LemonSqueezy => ProviderCheckout::LemonSqueezy(
                    lemonsqueezy_checkout(config, payment_id, &pending, buyer.email.as_deref()),
                ),
                PaymentMethod::NowPayments(_) => {
                    match nowpayments_invoice(config, payment_id, &pending) {
                        Some(body) => ProviderCheckout::NowPayments(body),
                        None => {
                            return Err(CheckoutFailure::Provider(ProviderError::Rejected(
                                "no coin for a NOWPayments invoice".into(),
                            )))
                        }
                    }
                }
            };
        let url = self.provider.create_checkout(&body).await?;
        Ok(CheckoutStarted { payment_id, url })
    }

    /// A server-side status check of the caller's payment (product.md §6): asks NOWPayments
    /// for the payment's current record and applies it through the same path as a verified
    /// webhook ([`Self::apply`]: dedup key, cross-checks, forward-only status, one atomic
    /// write), so a check and the IPN of the same state dedup against each other.
    ///
    /// # Errors
    /// [`CheckError`].
    pub async fn check_payment(
        &self,
        user: UserId,
        id: PaymentId,
        now: i64,
    ) -> Result<StatusCheck, CheckError> {
        let payment = self
            .store
            .payment(id, user)
            .await?
            .ok_or(CheckError::NotFound)?;
        let external = match (&payment.record.provider, &payment.record.external_id) {
            (Provider::NowPayments, Some(ext)) => ext.clone(),
            _ => {
                return Ok(StatusCheck {
                    payment,
                    asked: false,
                    outcome: None,
                })
            }
        };
        let raw = self.provider.nowpayments_payment(&external).await?;
        let event = parse_nowpayments(&raw).map_err(CheckError::Unreadable)?;
        let outcome = self.apply(&event, now).await.map_err(|e| match e {
            WebhookError::Store(s) => CheckError::Store(s),
            WebhookError::Event(e) => CheckError::Unreadable(e),
            WebhookError::Busy | WebhookError::TooLarge | WebhookError::Signature(_) => {
                CheckError::Busy
            }
        })?;
        let payment = self
            .store
            .payment(id, user)
            .await?
            .ok_or(CheckError::NotFound)?;
        Ok(StatusCheck {
            payment,
            asked: true,
            outcome: Some(outcome),
        })
    }

    /// The user's payments, newest first.
    ///
    /// # Errors
    /// `StoreError`.
    pub async fn payment_history(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<StoredPayment>, StoreError> {
        self.store.payments_of(user, page).await
    }

    /// One payment of the user (another user's → `NotFound`).
    ///
    /// # Errors
    /// `StoreError::NotFound("payment")`, or the store's error.
    pub async fn payment(&self, user: UserId, id: PaymentId) -> Result<StoredPayment, StoreError> {
        self.store
            .payment(id, user)
            .await?
            .ok_or(StoreError::NotFound("payment"))
    }

    /// The user's subscription row, if any.
    ///
    /// # Errors
    /// `StoreError`.
    pub async fn subscription(
        &self,
        user: UserId,
    ) -> Result<Option<StoredSubscription>, StoreError> {
        self.store.subscription_of(user).await
    }

    /// The `subscriptions` cron job: marks lapsed `active` subscriptions `expired`, then
    /// records the expiry warnings due now and returns those to send (each exactly once).
    ///
    /// # Errors
    /// `StoreError` (the job retries on its next run; recorded warnings are not repeated).
    pub async fn subscriptions_job(&self, now: i64) -> Result<SubscriptionsReport, StoreError> {
        let expired = self.store.expire_subscriptions(now).await?;
        let mut warnings = Vec::new();
        for row in self
            .store
            .subscriptions_expiring(now, WARNING_HORIZON_MS)
            .await?
        {
            let Some(due) = due_expiry_warning(row.id, &row.subscription, now) else {
                continue;
            };
            if self
                .store
                .record_expiry_warnings(&due.send, &due.record, now)
                .await?
            {
                warnings.push(ExpiryNotice {
                    user_id: row.subscription.user_id,
                    subscription_id: row.id,
                    expires_at: due.send.expires_at,
                    days_before: due.send.days_before,
                });
            }
        }
        Ok(SubscriptionsReport { expired, warnings })
    }
}

fn refusal(e: &ApplyError) -> String {
    e.stored_outcome()
}
