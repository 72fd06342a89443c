//! Payments and subscriptions (product.md §6): checkout, payment history, status checks, the
//! caller's subscription, and the webhook acknowledgement.

use serde::{Deserialize, Serialize};

/// `POST /payments/checkout`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// `lemonsqueezy` or `nowpayments`.
    pub provider: String,
    /// `pro`, `premium` or `lifetime`.
    pub plan: String,
    /// `monthly` or `yearly` for pro and premium; absent for lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle: Option<String>,
    /// A coin (`BTC ETH USDT LTC DOGE`, as configured) for NOWPayments; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crypto: Option<String>,
}

/// A started checkout: send the customer to `url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckoutStarted {
    /// Our pending payment (for `/payments/{id}`).
    pub payment_id: i64,
    /// The provider's hosted payment page (https).
    pub url: String,
}

/// One of the caller's payments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Payment))]
pub struct PaymentDto {
    /// Our id.
    pub id: i64,
    /// `lemonsqueezy` or `nowpayments`.
    pub provider: String,
    /// `pro`, `premium` or `lifetime`.
    pub plan: String,
    /// `monthly`, `yearly` or `lifetime`.
    pub cycle: String,
    /// Price charged, in `currency` units (e.g. 19.0).
    pub amount: f64,
    /// `USD`.
    pub currency: String,
    /// NOWPayments: the coin (lower case).
    pub crypto_currency: Option<String>,
    /// NOWPayments: coins received so far.
    pub actually_paid: Option<f64>,
    /// `pending`, `completed`, `failed`, `refunded` or `expired`.
    pub status: String,
    /// Needs a human (underpaid, paid twice…); support will be in touch.
    pub flagged: bool,
    /// UTC ms.
    pub created_at: i64,
    /// UTC ms, once completed.
    pub completed_at: Option<i64>,
}

/// `POST /payments/{id}/check`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentCheck {
    /// The payment after the check.
    pub payment: PaymentDto,
    /// Whether the provider was asked (NOWPayments payments with a provider payment id only).
    pub checked: bool,
}

/// `GET /me/subscription`: the caller's plan as the tier policy sees it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Subscription))]
pub struct SubscriptionDto {
    /// The tier it gives now: `free`, `pro` or `premium`.
    pub tier: String,
    /// `pro`, `premium` or `lifetime`; null without a subscription.
    pub plan: Option<String>,
    /// `active`, `cancelled`, `expired` or `suspended`; null without a subscription.
    pub status: Option<String>,
    /// Whether it currently gives its plan's tier.
    pub valid: bool,
    /// UTC ms.
    pub starts_at: Option<i64>,
    /// UTC ms; null for lifetime (and without a subscription).
    pub expires_at: Option<i64>,
    /// Access ends at this UTC ms: `expires_at` + 3 days of grace for active/expired,
    /// `expires_at` for cancelled; null when it never ends or there is nothing to end.
    pub access_until: Option<i64>,
    /// Whether `now` is past `expires_at` but within the grace period.
    pub in_grace: bool,
    /// UTC ms, when cancelled.
    pub cancelled_at: Option<i64>,
    /// `lemonsqueezy` or `nowpayments`, when paid through a provider.
    pub provider: Option<String>,
}

/// The answer to a provider webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookAck {
    /// Always true: the event was verified and handled (applied, ignored or a replay).
    pub received: bool,
}
