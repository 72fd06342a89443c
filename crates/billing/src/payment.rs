//! The payment state machine and [`apply_event`]: one verified event, our records, and the
//! exact writes to perform atomically (product.md §6).
//!
//! ## Status order
//!
//! Each status has a rank; a status changes only to one of strictly higher rank:
//!
//! | rank | status | reached by |
//! |---|---|---|
//! | 0 | `pending` | checkout (renewal rows start here too) |
//! | 1 | `failed`, `expired` | provider says the attempt failed / timed out |
//! | 2 | `completed` | provider says the money arrived (activates) |
//! | 3 | `refunded` | explicit refund (ends the subscription now if it was completed) |
//!
//! So a completed payment is never downgraded except by a refund, `failed` and `expired` never
//! turn into each other, and an event that arrives late (older `updated_at`) can never move a
//! status backwards. `failed`/`expired` are final for the attempt (no activation); the one move
//! out of them is to `completed` (the provider later reports money received, e.g. a second
//! NOWPayments attempt on the same invoice) or `refunded`, so no customer money is ever dropped.
//! Fields that are not the status (`actually_paid`) follow the newest event only.
//!
//! ## NOWPayments mapping
//!
//! `waiting|confirming|confirmed|sending` → stays `pending`, `actually_paid` stored;
//! `partially_paid` → `pending`, flagged, no activation; `finished` → `completed` + activate;
//! `failed` → `failed`; `expired` → `expired`; `refunded` → `refunded`.

use crate::events::{
    BillingEvent, LemonSqueezyEvent, LemonSqueezyEventKind, NowPaymentsEvent, NowPaymentsStatus,
    VariantMatch,
};
use crate::money::{Amount, Currency};
use crate::plan::{Offer, PaymentId, Provider, UserId};
use crate::subscription::{self, ActivationKind, Subscription};

/// `payments.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    /// Created at checkout; nothing final heard yet.
    Pending,
    /// Money received; the subscription was activated or extended.
    Completed,
    /// The attempt failed.
    Failed,
    /// Refunded.
    Refunded,
    /// The attempt timed out.
    Expired,
}

/// A stored status word we do not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown payment status")]
pub struct PaymentStatusError;

impl PaymentStatus {
    /// Every status (the OpenAPI document lists these).
    pub const ALL: [PaymentStatus; 5] = [
        Self::Pending,
        Self::Completed,
        Self::Failed,
        Self::Refunded,
        Self::Expired,
    ];

    /// Parses the stored word.
    ///
    /// # Errors
    /// [`PaymentStatusError`] for anything else.
    pub fn parse(text: &str) -> Result<Self, PaymentStatusError> {
        match text {
            "pending" => Ok(Self::Pending),
            "completed" => Ok(Self::Completed),
            "failed" => Ok(Self::Failed),
            "refunded" => Ok(Self::Refunded),
            "expired" => Ok(Self::Expired),
            _ => Err(PaymentStatusError),
        }
    }

    /// The stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Refunded => "refunded",
            Self::Expired => "expired",
        }
    }

    /// The rank in the status order (see the module docs).
    pub const fn rank(self) -> u8 {
        match self {
            Self::Pending => 0,
            Self::Failed | Self::Expired => 1,
            Self::Completed => 2,
            Self::Refunded => 3,
        }
    }

    /// Whether a payment in this status may move to `next` (strictly forward).
    pub const fn can_become(self, next: PaymentStatus) -> bool {
        next.rank() > self.rank()
    }
}

/// What a NOWPayments status does to our payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NowPaymentsEffect {
    /// Still pending; store `actually_paid`.
    Pending,
    /// Underpaid: flag for review, no activation.
    PartiallyPaid,
    /// Paid: complete and activate.
    Complete,
    /// A final status for the attempt (`failed`, `expired`, `refunded`).
    Terminal(PaymentStatus),
}

/// The NOWPayments mapping of product.md §6.
pub const fn nowpayments_effect(status: NowPaymentsStatus) -> NowPaymentsEffect {
    match status {
        NowPaymentsStatus::Waiting
        | NowPaymentsStatus::Confirming
        | NowPaymentsStatus::Confirmed
        | NowPaymentsStatus::Sending => NowPaymentsEffect::Pending,
        NowPaymentsStatus::PartiallyPaid => NowPaymentsEffect::PartiallyPaid,
        NowPaymentsStatus::Finished => NowPaymentsEffect::Complete,
        NowPaymentsStatus::Failed => NowPaymentsEffect::Terminal(PaymentStatus::Failed),
        NowPaymentsStatus::Expired => NowPaymentsEffect::Terminal(PaymentStatus::Expired),
        NowPaymentsStatus::Refunded => NowPaymentsEffect::Terminal(PaymentStatus::Refunded),
    }
}

/// Our payment row, as far as event handling needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentRecord {
    /// Our id (`None`: a renewal row not stored yet; insert it).
    pub id: Option<PaymentId>,
    /// The buyer.
    pub user_id: UserId,
    /// The provider.
    pub provider: Provider,
    /// The provider's id: LemonSqueezy order or invoice id, NOWPayments payment id.
    pub external_id: Option<String>,
    /// What was bought.
    pub offer: Offer,
    /// The price charged, exactly.
    pub amount: Amount,
    /// Its currency (USD).
    pub currency: Currency,
    /// NOWPayments: the coin chosen at checkout.
    pub crypto_currency: Option<String>,
    /// NOWPayments: coins received so far.
    pub actually_paid: Option<f64>,
    /// Status.
    pub status: PaymentStatus,
    /// Needs a human (partially paid, paid twice, paid while lifetime or suspended).
    pub flagged: bool,
    /// When it became completed.
    pub completed_at: Option<i64>,
    /// The provider `updated_at` of the newest event applied (orders non-status fields). The
    /// `payments` table needs a column for it (`provider_updated_at INTEGER`).
    pub last_event_at: Option<i64>,
}

/// Which value disagreed with our record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MismatchField {
    /// The event's provider is not the payment's.
    Provider,
    /// The event names another payment of ours.
    PaymentId,
    /// The provider-side id differs from the one stored.
    ExternalId,
    /// The user in the custom data, or the subscription's owner.
    User,
    /// Plan or cycle in the custom data.
    Plan,
    /// The product variant sells something else (or is not ours).
    Variant,
    /// The amount.
    Amount,
    /// The currency.
    Currency,
}

impl MismatchField {
    /// A short name for logs and the stored outcome.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::PaymentId => "payment_id",
            Self::ExternalId => "external_id",
            Self::User => "user",
            Self::Plan => "plan",
            Self::Variant => "variant",
            Self::Amount => "amount",
            Self::Currency => "currency",
        }
    }
}

/// Why an event was rejected. Nothing of it may be applied; log it (product.md §6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The event disagrees with our record.
    #[error("event does not match our record: {}", field.as_str())]
    Mismatch {
        /// The first field that disagreed.
        field: MismatchField,
    },
    /// A renewal record was requested for an event that is not a renewal.
    #[error("event is not a LemonSqueezy renewal")]
    NotARenewal,
}

impl ApplyError {
    /// The `webhook_events.outcome` to store for a rejected event: `mismatch_<field>` or
    /// `not_a_renewal`.
    pub fn stored_outcome(&self) -> String {
        match self {
            Self::Mismatch { field } => format!("mismatch_{}", field.as_str()),
            Self::NotARenewal => "not_a_renewal".to_owned(),
        }
    }
}

fn mismatch(field: MismatchField) -> ApplyError {
    ApplyError::Mismatch { field }
}

/// What applying an event amounted to (stored as `webhook_events.outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Payment completed; a new run of validity started.
    Activated,
    /// Payment completed; the valid subscription was extended.
    Extended,
    /// Payment completed but the user already holds a valid lifetime subscription (flagged).
    AlreadyLifetime,
    /// Payment completed but the subscription is suspended (flagged).
    SubscriptionSuspended,
    /// Still pending (progress stored).
    Pending,
    /// Underpaid (flagged, no activation).
    PartiallyPaid,
    /// A second attempt was paid for an already paid order (flagged).
    DuplicatePayment,
    /// Payment failed.
    Failed,
    /// Payment expired.
    Expired,
    /// Payment refunded (subscription ended now if the payment had been completed).
    Refunded,
    /// The provider subscription id was recorded on our subscription.
    SubscriptionLinked,
    /// Subscription cancelled (valid until expiry).
    SubscriptionCancelled,
    /// Subscription expired.
    SubscriptionExpired,
    /// A subscription event for a provider subscription that is not the user's current one.
    NotCurrentSubscription,
    /// Nothing to change (a repeat in another form, or a status already passed).
    NoChange,
    /// Older than what was already applied; nothing changed.
    Stale,
    /// A test-mode event while test mode is not allowed (production).
    IgnoredTestMode,
    /// An event kind we do not act on.
    Ignored,
}

impl Outcome {
    /// The stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Activated => "activated",
            Self::Extended => "extended",
            Self::AlreadyLifetime => "already_lifetime",
            Self::SubscriptionSuspended => "subscription_suspended",
            Self::Pending => "pending",
            Self::PartiallyPaid => "partially_paid",
            Self::DuplicatePayment => "duplicate_payment",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::Refunded => "refunded",
            Self::SubscriptionLinked => "subscription_linked",
            Self::SubscriptionCancelled => "subscription_cancelled",
            Self::SubscriptionExpired => "subscription_expired",
            Self::NotCurrentSubscription => "not_current_subscription",
            Self::NoChange => "no_change",
            Self::Stale => "stale",
            Self::IgnoredTestMode => "ignored_test_mode",
            Self::Ignored => "ignored",
        }
    }
}

/// The writes for one event, to run in ONE transaction/batch together with the
/// `webhook_events` insert of [`BillingEvent::event_key`] (see docs/billing.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The payment row's new state (`None`: unchanged). Insert it when `id` is `None`.
    pub payment: Option<PaymentRecord>,
    /// The user's subscription row's new state, upserted by user (`None`: unchanged).
    pub subscription: Option<Subscription>,
    /// What happened.
    pub outcome: Outcome,
}

impl Decision {
    fn nothing(outcome: Outcome) -> Self {
        Self {
            payment: None,
            subscription: None,
            outcome,
        }
    }
}

/// A new, unsaved payment row for a LemonSqueezy renewal invoice, copied from the checkout
/// payment `original` (same user, offer, price), pending, `external_id` = `invoice-{id}`. Use it
/// as `current` for [`apply_event`] when no row `(lemonsqueezy, invoice id)` exists yet.
///
/// # Errors
/// [`ApplyError::NotARenewal`] when the event is not a renewal; [`ApplyError::Mismatch`] when
/// its custom data names another payment or `original` is not a stored LemonSqueezy payment.
pub fn renewal_record(
    original: &PaymentRecord,
    event: &BillingEvent,
) -> Result<PaymentRecord, ApplyError> {
    let BillingEvent::LemonSqueezy(e) = event else {
        return Err(ApplyError::NotARenewal);
    };
    if !e.is_renewal() {
        return Err(ApplyError::NotARenewal);
    }
    if original.provider != Provider::LemonSqueezy {
        return Err(mismatch(MismatchField::Provider));
    }
    if original.id != Some(e.custom.payment_id) {
        return Err(mismatch(MismatchField::PaymentId));
    }
    Ok(PaymentRecord {
        id: None,
        external_id: Some(e.renewal_external_id()),
        crypto_currency: None,
        actually_paid: None,
        status: PaymentStatus::Pending,
        flagged: false,
        completed_at: None,
        last_event_at: None,
        ..original.clone()
    })
}

/// Applies one verified event to our payment `current` and the user's subscription `sub`, and
/// returns the exact writes (product.md §6). Pure: the caller loads `current` by
/// [`BillingEvent::payment_ref`], runs the returned writes and the event record atomically, and
/// re-runs this if the rows changed in between.
///
/// Order of checks: provider; test mode (`test_mode_allowed` is false in production → the
/// event is ignored); that the event names `current`; user, plan/cycle, variant, amount and
/// currency against `current`; then the state change.
///
/// # Errors
/// [`ApplyError::Mismatch`] naming the first field that disagrees; nothing may be written
/// but the event record and a log line.
pub fn apply_event(
    current: &PaymentRecord,
    sub: Option<&Subscription>,
    event: &BillingEvent,
    now: i64,
    test_mode_allowed: bool,
) -> Result<Decision, ApplyError> {
    match event {
        BillingEvent::Ignored(_) => Ok(Decision::nothing(Outcome::Ignored)),
        BillingEvent::LemonSqueezy(e) => {
            if e.test_mode && !test_mode_allowed {
                return Ok(Decision::nothing(Outcome::IgnoredTestMode));
            }
            apply_lemonsqueezy(current, sub, e, now)
        }
        BillingEvent::NowPayments(e) => apply_nowpayments(current, sub, e, now),
    }
}

fn check_owner(current: &PaymentRecord, sub: Option<&Subscription>) -> Result<(), ApplyError> {
    match sub {
        Some(s) if s.user_id != current.user_id => Err(mismatch(MismatchField::User)),
        _ => Ok(()),
    }
}

fn lemonsqueezy_cross_checks(
    current: &PaymentRecord,
    e: &LemonSqueezyEvent,
) -> Result<(), ApplyError> {
    if current.provider != Provider::LemonSqueezy {
        return Err(mismatch(MismatchField::Provider));
    }
    if e.is_renewal() {
        // The renewal row is found (or made) by its invoice id.
        if current.external_id.as_deref() != Some(e.renewal_external_id().as_str()) {
            return Err(mismatch(MismatchField::ExternalId));
        }
    } else if current.id != Some(e.custom.payment_id) {
        return Err(mismatch(MismatchField::PaymentId));
    }
    let is_order = matches!(
        e.kind,
        LemonSqueezyEventKind::OrderCreated | LemonSqueezyEventKind::OrderRefunded
    );
    if is_order {
        if let Some(stored) = &current.external_id {
            if stored != &e.object_id {
                return Err(mismatch(MismatchField::ExternalId));
            }
        }
    }
    if e.custom.user_id != current.user_id {
        return Err(mismatch(MismatchField::User));
    }
    if e.custom.offer != current.offer {
        return Err(mismatch(MismatchField::Plan));
    }
    match &e.variant {
        Some(VariantMatch::Ours(offer)) if *offer != current.offer => {
            return Err(mismatch(MismatchField::Variant));
        }
        Some(VariantMatch::Foreign) => return Err(mismatch(MismatchField::Variant)),
        _ => {}
    }
    // `subtotal` is the price before tax and discounts: what our price table sets.
    if let Some(subtotal) = e.subtotal {
        if subtotal != current.amount {
            return Err(mismatch(MismatchField::Amount));
        }
    }
    if let Some(currency) = e.currency {
        if currency != current.currency {
            return Err(mismatch(MismatchField::Currency));
        }
    }
    Ok(())
}

fn apply_lemonsqueezy(
    current: &PaymentRecord,
    sub: Option<&Subscription>,
    e: &LemonSqueezyEvent,
    now: i64,
) -> Result<Decision, ApplyError> {
    lemonsqueezy_cross_checks(current, e)?;
    check_owner(current, sub)?;
    let time = e.updated_at.millis();
    match e.kind {
        LemonSqueezyEventKind::OrderCreated => {
            let target = match e.status.as_str() {
                "paid" => Some(PaymentStatus::Completed),
                "failed" => Some(PaymentStatus::Failed),
                "refunded" => Some(PaymentStatus::Refunded),
                _ => None,
            };
            let mut base = current.clone();
            if base.external_id.is_none() {
                base.external_id = Some(e.object_id.clone());
            }
            Ok(transition(current, base, sub, target, time, None, now))
        }
        LemonSqueezyEventKind::SubscriptionCreated => {
            let target = (e.status == "active").then_some(PaymentStatus::Completed);
            let link = e.subscription_id.as_deref();
            Ok(transition(
                current,
                current.clone(),
                sub,
                target,
                time,
                link,
                now,
            ))
        }
        LemonSqueezyEventKind::SubscriptionPaymentSuccess => {
            let target = (e.status == "paid").then_some(PaymentStatus::Completed);
            // Initial invoice: `current` is the checkout payment (same money as the order), so
            // it completes at most once. Renewal: `current` is the invoice's own row.
            let link = e.subscription_id.as_deref();
            Ok(transition(
                current,
                current.clone(),
                sub,
                target,
                time,
                link,
                now,
            ))
        }
        LemonSqueezyEventKind::SubscriptionCancelled
        | LemonSqueezyEventKind::SubscriptionExpired => {
            let Some(s) = sub else {
                return Ok(Decision::nothing(Outcome::NotCurrentSubscription));
            };
            let linked = e.subscription_id.is_some()
                && s.external_subscription_id.as_deref() == e.subscription_id.as_deref();
            if !linked {
                return Ok(Decision::nothing(Outcome::NotCurrentSubscription));
            }
            let (next, outcome) = if e.kind == LemonSqueezyEventKind::SubscriptionCancelled {
                (subscription::cancel(s, now), Outcome::SubscriptionCancelled)
            } else {
                (subscription::expire(s), Outcome::SubscriptionExpired)
            };
            if next == *s {
                return Ok(Decision::nothing(Outcome::NoChange));
            }
            Ok(Decision {
                payment: None,
                subscription: Some(next),
                outcome,
            })
        }
        LemonSqueezyEventKind::OrderRefunded => Ok(transition(
            current,
            current.clone(),
            sub,
            Some(PaymentStatus::Refunded),
            time,
            None,
            now,
        )),
    }
}

/// Moves `base` (a copy of `current` with event data applied) to `target` when that is
/// forward, with the subscription side effects; otherwise records only the data.
fn transition(
    current: &PaymentRecord,
    mut next: PaymentRecord,
    sub: Option<&Subscription>,
    target: Option<PaymentStatus>,
    event_time: i64,
    link: Option<&str>,
    now: i64,
) -> Decision {
    let stale = current.last_event_at.is_some_and(|last| event_time < last);
    next.last_event_at = Some(
        current
            .last_event_at
            .map_or(event_time, |l| l.max(event_time)),
    );
    let mut subscription_write = None;
    let outcome = match target {
        Some(t) if current.status.can_become(t) => {
            next.status = t;
            match t {
                PaymentStatus::Completed => {
                    next.completed_at = Some(now);
                    let activation = subscription::activate(
                        sub,
                        current.user_id,
                        current.offer,
                        current.provider,
                        link,
                        now,
                    );
                    subscription_write = activation.subscription;
                    match activation.kind {
                        ActivationKind::Activated => Outcome::Activated,
                        ActivationKind::Extended => Outcome::Extended,
                        ActivationKind::AlreadyLifetime => {
                            next.flagged = true;
                            Outcome::AlreadyLifetime
                        }
                        ActivationKind::Suspended => {
                            next.flagged = true;
                            Outcome::SubscriptionSuspended
                        }
                    }
                }
                PaymentStatus::Refunded => {
                    if current.status == PaymentStatus::Completed {
                        subscription_write = sub.map(|s| subscription::end_now(s, now));
                    }
                    Outcome::Refunded
                }
                PaymentStatus::Failed => Outcome::Failed,
                PaymentStatus::Expired => Outcome::Expired,
                PaymentStatus::Pending => Outcome::Pending,
            }
        }
        _ => {
            let linked = link.and_then(|id| link_subscription(current, sub, id, now));
            match linked {
                Some(s) => {
                    subscription_write = Some(s);
                    Outcome::SubscriptionLinked
                }
                None if stale => Outcome::Stale,
                None if current.status == PaymentStatus::Pending && target.is_none() => {
                    Outcome::Pending
                }
                None => Outcome::NoChange,
            }
        }
    };
    Decision {
        payment: (next != *current).then_some(next),
        subscription: subscription_write,
        outcome,
    }
}

/// Records the provider subscription id on the subscription this completed payment activated.
fn link_subscription(
    current: &PaymentRecord,
    sub: Option<&Subscription>,
    external_subscription_id: &str,
    now: i64,
) -> Option<Subscription> {
    let s = sub?;
    let ours = current.status == PaymentStatus::Completed
        && s.plan == current.offer.plan()
        && s.is_valid(now)
        && s.external_subscription_id.as_deref() != Some(external_subscription_id);
    ours.then(|| Subscription {
        external_subscription_id: Some(external_subscription_id.to_owned()),
        ..s.clone()
    })
}

fn apply_nowpayments(
    current: &PaymentRecord,
    sub: Option<&Subscription>,
    e: &NowPaymentsEvent,
    now: i64,
) -> Result<Decision, ApplyError> {
    if current.provider != Provider::NowPayments {
        return Err(mismatch(MismatchField::Provider));
    }
    if current.id != Some(e.order_id) {
        return Err(mismatch(MismatchField::PaymentId));
    }
    if e.price_amount != current.amount {
        return Err(mismatch(MismatchField::Amount));
    }
    if e.price_currency != current.currency {
        return Err(mismatch(MismatchField::Currency));
    }
    check_owner(current, sub)?;
    let time = e.updated_at.millis();
    let stale = current.last_event_at.is_some_and(|last| time < last);
    let effect = nowpayments_effect(e.status);
    let same_attempt = current
        .external_id
        .as_deref()
        .is_none_or(|id| id == e.payment_id);

    let mut base = current.clone();
    if !same_attempt {
        // Another attempt on the same invoice (order_id). While pending, the newest attempt
        // becomes ours; afterwards only money matters.
        match (current.status, effect) {
            (PaymentStatus::Pending, _) => {}
            (PaymentStatus::Completed | PaymentStatus::Refunded, NowPaymentsEffect::Complete) => {
                base.flagged = true;
                return Ok(Decision {
                    payment: (base != *current).then_some(base),
                    subscription: None,
                    outcome: Outcome::DuplicatePayment,
                });
            }
            (PaymentStatus::Failed | PaymentStatus::Expired, NowPaymentsEffect::Complete) => {}
            _ => return Ok(Decision::nothing(Outcome::Stale)),
        }
    }
    base.external_id = Some(e.payment_id.clone());
    if !stale {
        if let Some(paid) = e.actually_paid {
            base.actually_paid = Some(paid);
        }
    }
    let target = match effect {
        NowPaymentsEffect::Pending => None,
        NowPaymentsEffect::PartiallyPaid => {
            if current.status == PaymentStatus::Pending && !stale {
                base.flagged = true;
                base.last_event_at = Some(current.last_event_at.map_or(time, |l| l.max(time)));
                return Ok(Decision {
                    payment: (base != *current).then_some(base),
                    subscription: None,
                    outcome: Outcome::PartiallyPaid,
                });
            }
            None
        }
        NowPaymentsEffect::Complete => Some(PaymentStatus::Completed),
        NowPaymentsEffect::Terminal(status) => Some(status),
    };
    Ok(transition(current, base, sub, target, time, None, now))
}
