//! Typed provider events, read from bodies whose signature was already verified
//! (product.md §6, §11.20).
//!
//! Both parsers use [`crate::json`], the same strict reader the NOWPayments signature check uses:
//! duplicate keys, bad escapes and over-deep nesting are errors, and amounts are read from the
//! exact number text. Unknown LemonSqueezy event names and unknown NOWPayments statuses become
//! [`BillingEvent::Ignored`] (answer 200, change nothing).
//!
//! Dedup keys ([`EventKey`], stored in `webhook_events.event_key`):
//! - LemonSqueezy: `{event_name}|{data.id}|{data.attributes.updated_at}`;
//! - NOWPayments: `{payment_id}|{payment_status}|{updated_at}`;
//!
//! each part as sent. Every part is validated to a charset without `|`, so the key is injective.

use crate::json::{self, JsonError, Value};
use crate::money::{Amount, Currency};
use crate::plan::{
    external_id, BillingCycle, CatalogError, Offer, PaymentId, Plan, Provider, UserId,
    VariantTable, LIFETIME_CYCLE,
};
use crate::time::parse_rfc3339_ms;
use crate::time::MAX_TIMESTAMP_MS;

/// Prefix of the `payments.external_id` of a LemonSqueezy renewal row: invoice ids and order ids
/// are separate id spaces, and `(provider, external_id)` is unique.
pub const LEMONSQUEEZY_INVOICE_PREFIX: &str = "invoice-";
/// Separator of the parts of a dedup key (never part of a validated component).
const KEY_SEPARATOR: char = '|';
/// Longest name kept from an ignored event (for logs).
const MAX_IGNORED_NAME_LEN: usize = 64;
/// Longest status word kept from a provider object.
const MAX_STATUS_LEN: usize = 32;
/// Digits of the largest millisecond timestamp accepted (2^53 has 16).
const MAX_MS_DIGITS: usize = 16;

/// Why a verified body could not be read as an event (answer 400; nothing is written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Not strict JSON.
    #[error("event body is not valid JSON: {0}")]
    Json(#[from] JsonError),
    /// A required field is absent.
    #[error("event field {field} is missing")]
    Missing {
        /// JSON path of the field.
        field: &'static str,
    },
    /// A field has the wrong type or an unacceptable value (the value is not echoed).
    #[error("event field {field} is invalid")]
    Invalid {
        /// JSON path of the field.
        field: &'static str,
    },
}

/// The dedup identity of one delivery (`webhook_events (provider, event_key)` is unique).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventKey {
    provider: Provider,
    key: String,
}

impl EventKey {
    fn new(provider: Provider, parts: [&str; 3]) -> Self {
        let mut key = String::new();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                key.push(KEY_SEPARATOR);
            }
            key.push_str(part);
        }
        Self { provider, key }
    }

    /// The provider column.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The `event_key` column.
    pub fn as_str(&self) -> &str {
        &self.key
    }
}

/// A provider timestamp: milliseconds for ordering, the text as sent for the dedup key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTime {
    millis: i64,
    raw: String,
}

impl EventTime {
    /// UTC milliseconds.
    pub fn millis(&self) -> i64 {
        self.millis
    }

    /// The value as sent.
    pub fn raw(&self) -> &str {
        &self.raw
    }
}

/// The LemonSqueezy events we act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LemonSqueezyEventKind {
    /// `order_created`: activate when the order is paid.
    OrderCreated,
    /// `subscription_created`: activate when the subscription is active; link its id.
    SubscriptionCreated,
    /// `subscription_payment_success`: the initial invoice (same payment) or a renewal (extend).
    SubscriptionPaymentSuccess,
    /// `subscription_cancelled`: cancelled, valid until expiry.
    SubscriptionCancelled,
    /// `subscription_expired`: expired.
    SubscriptionExpired,
    /// `order_refunded`: payment refunded, subscription ends now.
    OrderRefunded,
}

impl LemonSqueezyEventKind {
    /// From `meta.event_name` (`None` for names we ignore).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "order_created" => Self::OrderCreated,
            "subscription_created" => Self::SubscriptionCreated,
            "subscription_payment_success" => Self::SubscriptionPaymentSuccess,
            "subscription_cancelled" => Self::SubscriptionCancelled,
            "subscription_expired" => Self::SubscriptionExpired,
            "order_refunded" => Self::OrderRefunded,
            _ => return None,
        })
    }

    /// The event name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OrderCreated => "order_created",
            Self::SubscriptionCreated => "subscription_created",
            Self::SubscriptionPaymentSuccess => "subscription_payment_success",
            Self::SubscriptionCancelled => "subscription_cancelled",
            Self::SubscriptionExpired => "subscription_expired",
            Self::OrderRefunded => "order_refunded",
        }
    }

    /// The JSON:API `data.type` this event carries.
    const fn object_type(self) -> &'static str {
        match self {
            Self::OrderCreated | Self::OrderRefunded => "orders",
            Self::SubscriptionCreated | Self::SubscriptionCancelled | Self::SubscriptionExpired => {
                "subscriptions"
            }
            Self::SubscriptionPaymentSuccess => "subscription-invoices",
        }
    }
}

/// `meta.custom_data`, as our checkout sent it (product.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomData {
    /// Our user.
    pub user_id: UserId,
    /// Plan and cycle (`billing_cycle` is `monthly|yearly|lifetime`).
    pub offer: Offer,
    /// Our payment created at checkout.
    pub payment_id: PaymentId,
}

/// The product variant named in the event, against our variant table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariantMatch {
    /// One of our variants, selling this offer.
    Ours(Offer),
    /// A variant that is not in our table.
    Foreign,
}

/// Why a subscription invoice was issued (`billing_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillingReason {
    /// The first payment (same money as the order).
    Initial,
    /// A renewal: a new payment that extends the subscription.
    Renewal,
    /// A mid-cycle change (proration).
    Updated,
}

/// A LemonSqueezy event we act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LemonSqueezyEvent {
    /// Which event.
    pub kind: LemonSqueezyEventKind,
    /// `data.id`: order, subscription or invoice id.
    pub object_id: String,
    /// `data.attributes.updated_at`.
    pub updated_at: EventTime,
    /// `meta.custom_data`.
    pub custom: CustomData,
    /// `meta.test_mode` or `data.attributes.test_mode`.
    pub test_mode: bool,
    /// `data.attributes.status` (`paid`, `active`, …), lower-case.
    pub status: String,
    /// Orders and invoices: `subtotal` (price before tax and discounts), in cents.
    pub subtotal: Option<Amount>,
    /// Orders and invoices: `total` (what was charged, tax included), in cents.
    pub total: Option<Amount>,
    /// Orders and invoices: `currency`.
    pub currency: Option<Currency>,
    /// Orders (`first_order_item.variant_id`) and subscriptions (`variant_id`).
    pub variant: Option<VariantMatch>,
    /// Subscriptions (`data.id`) and invoices (`subscription_id`).
    pub subscription_id: Option<String>,
    /// Invoices: `billing_reason`.
    pub billing_reason: Option<BillingReason>,
}

impl LemonSqueezyEvent {
    /// The `payments.external_id` of the row a renewal creates: `invoice-{data.id}`.
    pub fn renewal_external_id(&self) -> String {
        format!("{LEMONSQUEEZY_INVOICE_PREFIX}{}", self.object_id)
    }

    /// Whether this event is a new payment for an existing subscription (not the checkout's).
    pub fn is_renewal(&self) -> bool {
        self.kind == LemonSqueezyEventKind::SubscriptionPaymentSuccess
            && !matches!(self.billing_reason, Some(BillingReason::Initial))
    }
}

/// A NOWPayments `payment_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NowPaymentsStatus {
    /// Waiting for the customer to send coins.
    Waiting,
    /// Seen on chain, not yet confirmed.
    Confirming,
    /// Confirmed on chain.
    Confirmed,
    /// Being sent to our wallet.
    Sending,
    /// Less than the invoice was paid.
    PartiallyPaid,
    /// Paid in full and settled.
    Finished,
    /// Failed.
    Failed,
    /// Refunded to the customer.
    Refunded,
    /// Not paid in time.
    Expired,
}

impl NowPaymentsStatus {
    /// Parses a status word (`None` for words we do not know).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "waiting" => Self::Waiting,
            "confirming" => Self::Confirming,
            "confirmed" => Self::Confirmed,
            "sending" => Self::Sending,
            "partially_paid" => Self::PartiallyPaid,
            "finished" => Self::Finished,
            "failed" => Self::Failed,
            "refunded" => Self::Refunded,
            "expired" => Self::Expired,
            _ => return None,
        })
    }

    /// The status word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Confirming => "confirming",
            Self::Confirmed => "confirmed",
            Self::Sending => "sending",
            Self::PartiallyPaid => "partially_paid",
            Self::Finished => "finished",
            Self::Failed => "failed",
            Self::Refunded => "refunded",
            Self::Expired => "expired",
        }
    }
}

/// A NOWPayments IPN.
#[derive(Debug, Clone, PartialEq)]
pub struct NowPaymentsEvent {
    /// NOWPayments' `payment_id` (one attempt; an invoice may see several).
    pub payment_id: String,
    /// `payment_status`.
    pub status: NowPaymentsStatus,
    /// `order_id`: our payment id.
    pub order_id: PaymentId,
    /// `price_amount`, exactly.
    pub price_amount: Amount,
    /// `price_currency`.
    pub price_currency: Currency,
    /// `pay_currency` (the coin), lower-case, if sent.
    pub pay_currency: Option<String>,
    /// `actually_paid`, in the coin, if sent.
    pub actually_paid: Option<f64>,
    /// `updated_at` (ms number or RFC 3339 string).
    pub updated_at: EventTime,
}

/// An event that is well-formed but not one we act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredEvent {
    /// Who sent it.
    pub provider: Provider,
    /// Its name or status, reduced to `a–z 0–9 _ - .` and 64 characters (safe to log).
    pub name: String,
}

/// One verified provider event.
#[derive(Debug, Clone, PartialEq)]
pub enum BillingEvent {
    /// From LemonSqueezy.
    LemonSqueezy(LemonSqueezyEvent),
    /// From NOWPayments.
    NowPayments(NowPaymentsEvent),
    /// Not one we act on.
    Ignored(IgnoredEvent),
}

/// Which payment row an event concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentRef {
    /// Our payment (from custom data or `order_id`).
    Ours(PaymentId),
    /// A LemonSqueezy renewal: the row `(lemonsqueezy, external_id)` if it exists, else a new
    /// row made by [`crate::payment::renewal_record`] from `original`.
    Renewal {
        /// The checkout payment of the subscription.
        original: PaymentId,
        /// `invoice-{invoice id}` (see [`LEMONSQUEEZY_INVOICE_PREFIX`]).
        external_id: String,
    },
}

impl BillingEvent {
    /// The provider that sent it.
    pub fn provider(&self) -> Provider {
        match self {
            Self::LemonSqueezy(_) => Provider::LemonSqueezy,
            Self::NowPayments(_) => Provider::NowPayments,
            Self::Ignored(e) => e.provider,
        }
    }

    /// The dedup key (`None` for ignored events, which write nothing).
    pub fn event_key(&self) -> Option<EventKey> {
        match self {
            Self::LemonSqueezy(e) => Some(EventKey::new(
                Provider::LemonSqueezy,
                [e.kind.as_str(), &e.object_id, e.updated_at.raw()],
            )),
            Self::NowPayments(e) => Some(EventKey::new(
                Provider::NowPayments,
                [&e.payment_id, e.status.as_str(), e.updated_at.raw()],
            )),
            Self::Ignored(_) => None,
        }
    }

    /// The payment row the adapter must load (`None` for ignored events).
    pub fn payment_ref(&self) -> Option<PaymentRef> {
        match self {
            Self::LemonSqueezy(e) if e.is_renewal() => Some(PaymentRef::Renewal {
                original: e.custom.payment_id,
                external_id: e.renewal_external_id(),
            }),
            Self::LemonSqueezy(e) => Some(PaymentRef::Ours(e.custom.payment_id)),
            Self::NowPayments(e) => Some(PaymentRef::Ours(e.order_id)),
            Self::Ignored(_) => None,
        }
    }

    /// The provider's `updated_at`, in ms (`None` for ignored events).
    pub fn updated_at_ms(&self) -> Option<i64> {
        match self {
            Self::LemonSqueezy(e) => Some(e.updated_at.millis()),
            Self::NowPayments(e) => Some(e.updated_at.millis()),
            Self::Ignored(_) => None,
        }
    }
}

fn sanitized_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
        .take(MAX_IGNORED_NAME_LEN)
        .collect()
}

fn require<'v, 'a>(
    root: &'v Value<'a>,
    path: &[&str],
    field: &'static str,
) -> Result<&'v Value<'a>, EventError> {
    match root.pointer(path) {
        Some(v) if !v.is_null() => Ok(v),
        _ => Err(EventError::Missing { field }),
    }
}

fn optional<'v, 'a>(root: &'v Value<'a>, path: &[&str]) -> Option<&'v Value<'a>> {
    root.pointer(path).filter(|v| !v.is_null())
}

fn string_field(value: &Value<'_>, field: &'static str) -> Result<String, EventError> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or(EventError::Invalid { field })
}

/// A string, or a number's text (ids are sent either way).
fn text_of<'v>(value: &'v Value<'_>, field: &'static str) -> Result<&'v str, EventError> {
    value
        .as_str()
        .or_else(|| value.as_number())
        .ok_or(EventError::Invalid { field })
}

fn ext_id(value: &Value<'_>, field: &'static str) -> Result<String, EventError> {
    external_id(text_of(value, field)?).map_err(|_| EventError::Invalid { field })
}

fn catalog<T>(result: Result<T, CatalogError>, field: &'static str) -> Result<T, EventError> {
    result.map_err(|_| EventError::Invalid { field })
}

fn cents_field(value: &Value<'_>, field: &'static str) -> Result<Amount, EventError> {
    let text = value.as_number().ok_or(EventError::Invalid { field })?;
    let cents: i64 = text.parse().map_err(|_| EventError::Invalid { field })?;
    Amount::from_minor(cents).map_err(|_| EventError::Invalid { field })
}

fn status_field(value: &Value<'_>, field: &'static str) -> Result<String, EventError> {
    let text = value.as_str().ok_or(EventError::Invalid { field })?;
    let ok = !text.is_empty()
        && text.len() <= MAX_STATUS_LEN
        && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if ok {
        Ok(text.to_owned())
    } else {
        Err(EventError::Invalid { field })
    }
}

fn rfc3339_time(value: &Value<'_>, field: &'static str) -> Result<EventTime, EventError> {
    let raw = value.as_str().ok_or(EventError::Invalid { field })?;
    let millis = parse_rfc3339_ms(raw).map_err(|_| EventError::Invalid { field })?;
    Ok(EventTime {
        millis,
        raw: raw.to_owned(),
    })
}

/// NOWPayments sends `updated_at` as integer milliseconds; an RFC 3339 string is accepted too.
fn ms_or_rfc3339_time(value: &Value<'_>, field: &'static str) -> Result<EventTime, EventError> {
    if let Some(text) = value.as_number() {
        let plain = !text.is_empty()
            && text.len() <= MAX_MS_DIGITS
            && text.bytes().all(|b| b.is_ascii_digit());
        let millis: i64 = if plain {
            text.parse().map_err(|_| EventError::Invalid { field })?
        } else {
            return Err(EventError::Invalid { field });
        };
        if millis > MAX_TIMESTAMP_MS {
            return Err(EventError::Invalid { field });
        }
        return Ok(EventTime {
            millis,
            raw: text.to_owned(),
        });
    }
    rfc3339_time(value, field)
}

fn custom_data(root: &Value<'_>) -> Result<CustomData, EventError> {
    const USER: &str = "meta.custom_data.user_id";
    const PLAN: &str = "meta.custom_data.plan";
    const CYCLE: &str = "meta.custom_data.billing_cycle";
    const PAYMENT: &str = "meta.custom_data.payment_id";
    let custom = require(root, &["meta", "custom_data"], "meta.custom_data")?;
    let user_id = catalog(
        UserId::parse(text_of(require(custom, &["user_id"], USER)?, USER)?),
        USER,
    )?;
    let payment_id = catalog(
        PaymentId::parse(text_of(
            require(custom, &["payment_id"], PAYMENT)?,
            PAYMENT,
        )?),
        PAYMENT,
    )?;
    let plan = catalog(
        Plan::parse(text_of(require(custom, &["plan"], PLAN)?, PLAN)?),
        PLAN,
    )?;
    let cycle_text = text_of(require(custom, &["billing_cycle"], CYCLE)?, CYCLE)?;
    let cycle = if cycle_text == LIFETIME_CYCLE {
        None
    } else {
        Some(catalog(BillingCycle::parse(cycle_text), CYCLE)?)
    };
    let offer = catalog(Offer::new(plan, cycle), CYCLE)?;
    Ok(CustomData {
        user_id,
        offer,
        payment_id,
    })
}

/// Reads a verified LemonSqueezy webhook body. `variants` resolves the variant id to an offer.
///
/// # Errors
/// [`EventError`] when the body is not strict JSON or a field the event needs is missing or
/// invalid. An unknown `meta.event_name` is not an error: it gives [`BillingEvent::Ignored`].
pub fn parse_lemonsqueezy(raw: &[u8], variants: &VariantTable) -> Result<BillingEvent, EventError> {
    let root = json::parse(raw)?;
    let name = require(&root, &["meta", "event_name"], "meta.event_name")?
        .as_str()
        .ok_or(EventError::Invalid {
            field: "meta.event_name",
        })?;
    let Some(kind) = LemonSqueezyEventKind::from_name(name) else {
        return Ok(BillingEvent::Ignored(IgnoredEvent {
            provider: Provider::LemonSqueezy,
            name: sanitized_name(name),
        }));
    };
    let data_type = string_field(require(&root, &["data", "type"], "data.type")?, "data.type")?;
    if data_type != kind.object_type() {
        return Err(EventError::Invalid { field: "data.type" });
    }
    let object_id = ext_id(require(&root, &["data", "id"], "data.id")?, "data.id")?;
    let attributes = require(&root, &["data", "attributes"], "data.attributes")?;
    let updated_at = rfc3339_time(
        require(attributes, &["updated_at"], "data.attributes.updated_at")?,
        "data.attributes.updated_at",
    )?;
    let custom = custom_data(&root)?;
    let flag = |value: Option<&Value<'_>>, field| match value {
        None => Ok(false),
        Some(v) => v.as_bool().ok_or(EventError::Invalid { field }),
    };
    let test_mode = flag(optional(&root, &["meta", "test_mode"]), "meta.test_mode")?
        | flag(
            optional(attributes, &["test_mode"]),
            "data.attributes.test_mode",
        )?;
    let status = status_field(
        require(attributes, &["status"], "data.attributes.status")?,
        "data.attributes.status",
    )?;

    let mut event = LemonSqueezyEvent {
        kind,
        object_id,
        updated_at,
        custom,
        test_mode,
        status,
        subtotal: None,
        total: None,
        currency: None,
        variant: None,
        subscription_id: None,
        billing_reason: None,
    };
    let has_money = matches!(
        kind,
        LemonSqueezyEventKind::OrderCreated
            | LemonSqueezyEventKind::OrderRefunded
            | LemonSqueezyEventKind::SubscriptionPaymentSuccess
    );
    if has_money {
        event.subtotal = Some(cents_field(
            require(attributes, &["subtotal"], "data.attributes.subtotal")?,
            "data.attributes.subtotal",
        )?);
        event.total = Some(cents_field(
            require(attributes, &["total"], "data.attributes.total")?,
            "data.attributes.total",
        )?);
        let currency = text_of(
            require(attributes, &["currency"], "data.attributes.currency")?,
            "data.attributes.currency",
        )?;
        event.currency = Some(Currency::parse(currency).map_err(|_| EventError::Invalid {
            field: "data.attributes.currency",
        })?);
    }
    let variant_path: Option<(&[&str], &'static str)> = match kind {
        LemonSqueezyEventKind::OrderCreated | LemonSqueezyEventKind::OrderRefunded => Some((
            &["first_order_item", "variant_id"],
            "data.attributes.first_order_item.variant_id",
        )),
        LemonSqueezyEventKind::SubscriptionCreated
        | LemonSqueezyEventKind::SubscriptionCancelled
        | LemonSqueezyEventKind::SubscriptionExpired => {
            Some((&["variant_id"], "data.attributes.variant_id"))
        }
        LemonSqueezyEventKind::SubscriptionPaymentSuccess => None,
    };
    if let Some((path, field)) = variant_path {
        let id = ext_id(require(attributes, path, field)?, field)?;
        event.variant = Some(match variants.offer(&id) {
            Some(offer) => VariantMatch::Ours(offer),
            None => VariantMatch::Foreign,
        });
    }
    match kind {
        LemonSqueezyEventKind::SubscriptionCreated
        | LemonSqueezyEventKind::SubscriptionCancelled
        | LemonSqueezyEventKind::SubscriptionExpired => {
            event.subscription_id = Some(event.object_id.clone());
        }
        LemonSqueezyEventKind::SubscriptionPaymentSuccess => {
            const SUB: &str = "data.attributes.subscription_id";
            event.subscription_id = Some(ext_id(
                require(attributes, &["subscription_id"], SUB)?,
                SUB,
            )?);
            const REASON: &str = "data.attributes.billing_reason";
            let reason = require(attributes, &["billing_reason"], REASON)?
                .as_str()
                .ok_or(EventError::Invalid { field: REASON })?;
            event.billing_reason = Some(match reason {
                "initial" => BillingReason::Initial,
                "renewal" => BillingReason::Renewal,
                "updated" => BillingReason::Updated,
                _ => return Err(EventError::Invalid { field: REASON }),
            });
        }
        LemonSqueezyEventKind::OrderCreated | LemonSqueezyEventKind::OrderRefunded => {}
    }
    Ok(BillingEvent::LemonSqueezy(event))
}

/// Reads a verified NOWPayments IPN body.
///
/// # Errors
/// [`EventError`] when the body is not strict JSON or a required field is missing or invalid.
/// An unknown `payment_status` is not an error: it gives [`BillingEvent::Ignored`].
pub fn parse_nowpayments(raw: &[u8]) -> Result<BillingEvent, EventError> {
    let root = json::parse(raw)?;
    let status_text = require(&root, &["payment_status"], "payment_status")?
        .as_str()
        .ok_or(EventError::Invalid {
            field: "payment_status",
        })?;
    let Some(status) = NowPaymentsStatus::from_name(status_text) else {
        return Ok(BillingEvent::Ignored(IgnoredEvent {
            provider: Provider::NowPayments,
            name: sanitized_name(status_text),
        }));
    };
    let payment_id = ext_id(require(&root, &["payment_id"], "payment_id")?, "payment_id")?;
    let order_id = catalog(
        PaymentId::parse(text_of(
            require(&root, &["order_id"], "order_id")?,
            "order_id",
        )?),
        "order_id",
    )?;
    let price_text = text_of(
        require(&root, &["price_amount"], "price_amount")?,
        "price_amount",
    )?;
    let price_amount = Amount::parse_decimal(price_text).map_err(|_| EventError::Invalid {
        field: "price_amount",
    })?;
    let price_currency = Currency::parse(text_of(
        require(&root, &["price_currency"], "price_currency")?,
        "price_currency",
    )?)
    .map_err(|_| EventError::Invalid {
        field: "price_currency",
    })?;
    let pay_currency = optional(&root, &["pay_currency"])
        .map(|v| {
            let text = v.as_str().ok_or(EventError::Invalid {
                field: "pay_currency",
            })?;
            external_id(text)
                .map(|s| s.to_ascii_lowercase())
                .map_err(|_| EventError::Invalid {
                    field: "pay_currency",
                })
        })
        .transpose()?;
    let actually_paid = optional(&root, &["actually_paid"])
        .map(|v| {
            let text = text_of(v, "actually_paid")?;
            match text.parse::<f64>() {
                Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
                _ => Err(EventError::Invalid {
                    field: "actually_paid",
                }),
            }
        })
        .transpose()?;
    let updated_at =
        ms_or_rfc3339_time(require(&root, &["updated_at"], "updated_at")?, "updated_at")?;
    Ok(BillingEvent::NowPayments(NowPaymentsEvent {
        payment_id,
        status,
        order_id,
        price_amount,
        price_currency,
        pay_currency,
        actually_paid,
        updated_at,
    }))
}
