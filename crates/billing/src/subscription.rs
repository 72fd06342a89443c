//! The one policy for subscription validity and the effective tier (product.md §1), and the
//! pure state changes of §6: activation/extension, cancellation, expiry, refund, expiry warnings.
//!
//! Validity (`now` in UTC ms, bounds inclusive):
//!
//! | status | valid while |
//! |---|---|
//! | `active`, `expired` | no expiry, or `now ≤ expires_at + 3 days` (grace) |
//! | `cancelled` | `now ≤ expires_at` (no grace; without an expiry: never, fail closed) |
//! | `suspended` | never |
//!
//! Tier = the plan's tier while valid (lifetime → premium), else free; no subscription → free.

use crate::plan::{Offer, Plan, Provider, SubscriptionId, Tier, UserId};
use crate::time::{DAY_MS, MAX_TIMESTAMP_MS};

/// Days of grace after `expires_at` for `active` and `expired` subscriptions.
pub const GRACE_DAYS: i64 = 3;
/// The grace period in milliseconds.
pub const GRACE_MS: i64 = GRACE_DAYS * DAY_MS;
/// Days before `expires_at` at which a warning is due, most urgent last.
pub const EXPIRY_WARNING_DAYS: [i64; 3] = [7, 3, 1];

/// An unknown stored status or provider word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown subscription {what}")]
pub struct SubscriptionParseError {
    what: &'static str,
}

/// `subscriptions.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionStatus {
    /// Paid and running (or renewing).
    Active,
    /// Ended by the provider or the expiry job; valid through the grace period.
    Expired,
    /// Cancelled by the user or a refund; valid until `expires_at`, no grace.
    Cancelled,
    /// Suspended by an admin; never valid.
    Suspended,
}

impl SubscriptionStatus {
    /// Parses the stored word.
    ///
    /// # Errors
    /// [`SubscriptionParseError`] for anything else.
    pub fn parse(text: &str) -> Result<Self, SubscriptionParseError> {
        match text {
            "active" => Ok(Self::Active),
            "expired" => Ok(Self::Expired),
            "cancelled" => Ok(Self::Cancelled),
            "suspended" => Ok(Self::Suspended),
            _ => Err(SubscriptionParseError { what: "status" }),
        }
    }

    /// The stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
            Self::Suspended => "suspended",
        }
    }
}

/// `subscriptions.provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionSource {
    /// Bought through LemonSqueezy.
    LemonSqueezy,
    /// Bought through NOWPayments.
    NowPayments,
    /// Granted by an admin.
    Admin,
}

impl SubscriptionSource {
    /// Parses the stored word.
    ///
    /// # Errors
    /// [`SubscriptionParseError`] for anything else.
    pub fn parse(text: &str) -> Result<Self, SubscriptionParseError> {
        match text {
            "lemonsqueezy" => Ok(Self::LemonSqueezy),
            "nowpayments" => Ok(Self::NowPayments),
            "admin" => Ok(Self::Admin),
            _ => Err(SubscriptionParseError { what: "provider" }),
        }
    }

    /// The stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LemonSqueezy => "lemonsqueezy",
            Self::NowPayments => "nowpayments",
            Self::Admin => "admin",
        }
    }
}

impl From<Provider> for SubscriptionSource {
    fn from(provider: Provider) -> Self {
        match provider {
            Provider::LemonSqueezy => Self::LemonSqueezy,
            Provider::NowPayments => Self::NowPayments,
        }
    }
}

/// A user's subscription row (one per user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Owner.
    pub user_id: UserId,
    /// Plan.
    pub plan: Plan,
    /// Status.
    pub status: SubscriptionStatus,
    /// Start of the current run of validity.
    pub starts_at: i64,
    /// End of the paid period (`None`: no expiry, i.e. lifetime).
    pub expires_at: Option<i64>,
    /// When it was cancelled.
    pub cancelled_at: Option<i64>,
    /// Where it came from.
    pub provider: Option<SubscriptionSource>,
    /// The provider's subscription id (LemonSqueezy), used to match later subscription events.
    pub external_subscription_id: Option<String>,
}

/// The last instant of access a subscription gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessEnd {
    /// Valid with no end (lifetime).
    Never,
    /// Valid up to and including this instant (grace included where it applies).
    At(i64),
    /// Never valid (suspended, or cancelled without an expiry).
    NoAccess,
}

/// When access ends for a subscription in `status` expiring at `expires_at`: THE validity rule
/// (the module docs' table), also read by `cl_app::policy` for the effective tier.
pub fn access_end(status: SubscriptionStatus, expires_at: Option<i64>) -> AccessEnd {
    match (status, expires_at) {
        (SubscriptionStatus::Suspended, _) | (SubscriptionStatus::Cancelled, None) => {
            AccessEnd::NoAccess
        }
        (SubscriptionStatus::Active | SubscriptionStatus::Expired, None) => AccessEnd::Never,
        (SubscriptionStatus::Active | SubscriptionStatus::Expired, Some(at)) => {
            AccessEnd::At(at.saturating_add(GRACE_MS))
        }
        (SubscriptionStatus::Cancelled, Some(at)) => AccessEnd::At(at),
    }
}

impl AccessEnd {
    /// Whether access still holds at `now`.
    pub fn covers(self, now: i64) -> bool {
        match self {
            Self::Never => true,
            Self::At(end) => now <= end,
            Self::NoAccess => false,
        }
    }
}

impl Subscription {
    /// When access ends, by the table in the module docs ([`access_end`]).
    pub fn access_end(&self) -> AccessEnd {
        access_end(self.status, self.expires_at)
    }

    /// Whether the subscription is valid at `now`.
    pub fn is_valid(&self, now: i64) -> bool {
        self.access_end().covers(now)
    }

    /// The tier it grants at `now`.
    pub fn tier(&self, now: i64) -> Tier {
        if self.is_valid(now) {
            self.plan.tier()
        } else {
            Tier::Free
        }
    }

    /// Whether it is a valid lifetime subscription at `now`.
    pub fn is_valid_lifetime(&self, now: i64) -> bool {
        self.plan == Plan::Lifetime && self.expires_at.is_none() && self.is_valid(now)
    }
}

/// The effective tier of a user at `now`: their subscription's, or free without one.
pub fn effective_tier(subscription: Option<&Subscription>, now: i64) -> Tier {
    subscription.map_or(Tier::Free, |s| s.tier(now))
}

/// What an activation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivationKind {
    /// A new run of validity: expiry = now + period (or none for lifetime).
    Activated,
    /// The valid subscription was extended: expiry = current expiry + period.
    Extended,
    /// A valid lifetime subscription already covers everything; nothing changed.
    AlreadyLifetime,
    /// The subscription is suspended; a payment does not lift that. Nothing changed.
    Suspended,
}

/// The result of [`activate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    /// What happened.
    pub kind: ActivationKind,
    /// The new row (`None` when nothing changed).
    pub subscription: Option<Subscription>,
}

/// Applies a completed payment for `offer` (product.md §6): expiry = now + period, or the
/// current valid expiry + period when one exists; plan set to the purchased plan; lifetime sets
/// no expiry; status `active`. A valid lifetime or a suspended subscription is left unchanged.
pub fn activate(
    current: Option<&Subscription>,
    user_id: UserId,
    offer: Offer,
    provider: Provider,
    external_subscription_id: Option<&str>,
    now: i64,
) -> Activation {
    let unchanged = |kind| Activation {
        kind,
        subscription: None,
    };
    if let Some(sub) = current {
        if sub.status == SubscriptionStatus::Suspended {
            return unchanged(ActivationKind::Suspended);
        }
        if sub.is_valid_lifetime(now) {
            return unchanged(ActivationKind::AlreadyLifetime);
        }
    }
    let valid = current.filter(|s| s.is_valid(now));
    let (kind, starts_at, base) = match valid {
        Some(sub) => (ActivationKind::Extended, sub.starts_at, sub.expires_at),
        None => (ActivationKind::Activated, now, None),
    };
    let expires_at = offer.period_ms().map(|period| {
        base.unwrap_or(now)
            .saturating_add(period)
            .min(MAX_TIMESTAMP_MS)
    });
    Activation {
        kind,
        subscription: Some(Subscription {
            user_id,
            plan: offer.plan(),
            status: SubscriptionStatus::Active,
            starts_at,
            expires_at,
            cancelled_at: None,
            provider: Some(provider.into()),
            external_subscription_id: external_subscription_id.map(str::to_owned),
        }),
    }
}

/// The user cancelled: status `cancelled`, valid until `expires_at` without grace. A suspended
/// subscription stays suspended.
pub fn cancel(sub: &Subscription, now: i64) -> Subscription {
    let mut next = sub.clone();
    if sub.status != SubscriptionStatus::Suspended {
        next.status = SubscriptionStatus::Cancelled;
        next.cancelled_at = Some(sub.cancelled_at.unwrap_or(now));
    }
    next
}

/// The provider ended it: an `active` subscription becomes `expired` (valid through the grace
/// period). `cancelled` stays cancelled (no grace is added) and `suspended` stays suspended.
pub fn expire(sub: &Subscription) -> Subscription {
    let mut next = sub.clone();
    if sub.status == SubscriptionStatus::Active {
        next.status = SubscriptionStatus::Expired;
    }
    next
}

/// A refund ends access now: `expires_at = min(expires_at, now)` and status `cancelled` (no
/// grace), so the subscription is invalid from `now + 1 ms`. Suspended stays suspended.
pub fn end_now(sub: &Subscription, now: i64) -> Subscription {
    let mut next = sub.clone();
    next.expires_at = Some(sub.expires_at.map_or(now, |at| at.min(now)));
    if sub.status != SubscriptionStatus::Suspended {
        next.status = SubscriptionStatus::Cancelled;
        next.cancelled_at = Some(now);
    }
    next
}

/// The identity of one expiry warning (`expiry_warnings` is unique on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WarningKey {
    /// The subscription.
    pub subscription_id: SubscriptionId,
    /// The expiry warned about (a new expiry starts a new series).
    pub expires_at: i64,
    /// 7, 3 or 1.
    pub days_before: i64,
}

/// The warning due now, and every key to record with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueWarning {
    /// The most urgent threshold passed: send this one.
    pub send: WarningKey,
    /// `send` and every less urgent threshold also passed. Insert all of them in one batch
    /// (`ON CONFLICT DO NOTHING`); send the message only if `send` was newly inserted. A missed
    /// 7-day warning is thus never sent after the 3-day one.
    pub record: Vec<WarningKey>,
}

/// The expiry warning due at `now` (product.md §6): for `active` and `cancelled` subscriptions
/// with an expiry, threshold `d` is passed when `expires_at − d days ≤ now < expires_at`.
pub fn due_expiry_warning(
    subscription_id: SubscriptionId,
    sub: &Subscription,
    now: i64,
) -> Option<DueWarning> {
    if !matches!(
        sub.status,
        SubscriptionStatus::Active | SubscriptionStatus::Cancelled
    ) {
        return None;
    }
    let expires_at = sub.expires_at?;
    if now >= expires_at {
        return None;
    }
    let record: Vec<WarningKey> = EXPIRY_WARNING_DAYS
        .iter()
        .filter(|days| now >= expires_at.saturating_sub(**days * DAY_MS))
        .map(|days| WarningKey {
            subscription_id,
            expires_at,
            days_before: *days,
        })
        .collect();
    let send = *record.iter().min_by_key(|k| k.days_before)?;
    Some(DueWarning { send, record })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::BillingCycle;

    const NOW: i64 = 1_700_000_000_000;
    const MONTH: i64 = 30 * DAY_MS;

    fn user() -> UserId {
        UserId::new(7).unwrap()
    }

    fn sub(plan: Plan, status: SubscriptionStatus, expires_at: Option<i64>) -> Subscription {
        Subscription {
            user_id: user(),
            plan,
            status,
            starts_at: NOW - MONTH,
            expires_at,
            cancelled_at: None,
            provider: Some(SubscriptionSource::LemonSqueezy),
            external_subscription_id: Some("sub_1".into()),
        }
    }

    #[test]
    fn an_active_subscription_is_valid_through_exactly_three_days_of_grace() {
        let s = sub(Plan::Pro, SubscriptionStatus::Active, Some(NOW));
        assert!(s.is_valid(NOW));
        assert!(s.is_valid(NOW + GRACE_MS));
        assert!(!s.is_valid(NOW + GRACE_MS + 1));
        assert_eq!(s.tier(NOW + GRACE_MS), Tier::Pro);
        assert_eq!(s.tier(NOW + GRACE_MS + 1), Tier::Free);
    }

    #[test]
    fn an_expired_subscription_keeps_the_same_grace() {
        let s = sub(Plan::Premium, SubscriptionStatus::Expired, Some(NOW));
        assert_eq!(s.tier(NOW + GRACE_MS), Tier::Premium);
        assert_eq!(s.tier(NOW + GRACE_MS + 1), Tier::Free);
    }

    #[test]
    fn a_cancelled_subscription_is_valid_until_expires_at_without_grace() {
        let s = sub(Plan::Premium, SubscriptionStatus::Cancelled, Some(NOW));
        assert!(s.is_valid(NOW - 1));
        assert!(s.is_valid(NOW));
        assert!(!s.is_valid(NOW + 1));
    }

    #[test]
    fn a_cancelled_subscription_without_expiry_is_never_valid() {
        let s = sub(Plan::Lifetime, SubscriptionStatus::Cancelled, None);
        assert_eq!(s.access_end(), AccessEnd::NoAccess);
        assert_eq!(s.tier(NOW), Tier::Free);
    }

    #[test]
    fn a_suspended_subscription_is_never_valid() {
        for expires in [None, Some(NOW + MONTH)] {
            let s = sub(Plan::Premium, SubscriptionStatus::Suspended, expires);
            assert!(!s.is_valid(NOW));
            assert_eq!(effective_tier(Some(&s), NOW), Tier::Free);
        }
    }

    #[test]
    fn lifetime_is_premium_with_no_expiry() {
        let s = sub(Plan::Lifetime, SubscriptionStatus::Active, None);
        assert_eq!(s.access_end(), AccessEnd::Never);
        assert_eq!(effective_tier(Some(&s), i64::MAX), Tier::Premium);
    }

    #[test]
    fn no_subscription_means_free() {
        assert_eq!(effective_tier(None, NOW), Tier::Free);
    }

    #[test]
    fn a_first_activation_expires_one_period_from_now() {
        let a = activate(
            None,
            user(),
            Offer::Pro(BillingCycle::Monthly),
            Provider::NowPayments,
            None,
            NOW,
        );
        assert_eq!(a.kind, ActivationKind::Activated);
        let s = a.subscription.unwrap();
        assert_eq!(s.expires_at, Some(NOW + MONTH));
        assert_eq!(s.starts_at, NOW);
        assert_eq!(s.status, SubscriptionStatus::Active);
        assert_eq!(s.provider, Some(SubscriptionSource::NowPayments));
    }

    #[test]
    fn a_renewal_extends_from_the_current_expiry_not_from_now() {
        let current = sub(
            Plan::Pro,
            SubscriptionStatus::Active,
            Some(NOW + 5 * DAY_MS),
        );
        let a = activate(
            Some(&current),
            user(),
            Offer::Pro(BillingCycle::Yearly),
            Provider::LemonSqueezy,
            Some("sub_1"),
            NOW,
        );
        assert_eq!(a.kind, ActivationKind::Extended);
        let s = a.subscription.unwrap();
        assert_eq!(s.expires_at, Some(NOW + 5 * DAY_MS + 365 * DAY_MS));
        assert_eq!(s.starts_at, current.starts_at);
    }

    #[test]
    fn a_renewal_paid_during_grace_extends_from_the_old_expiry() {
        let current = sub(Plan::Pro, SubscriptionStatus::Expired, Some(NOW - DAY_MS));
        let s = activate(
            Some(&current),
            user(),
            Offer::Pro(BillingCycle::Monthly),
            Provider::LemonSqueezy,
            None,
            NOW,
        )
        .subscription
        .unwrap();
        assert_eq!(s.expires_at, Some(NOW - DAY_MS + MONTH));
        assert_eq!(s.status, SubscriptionStatus::Active);
    }

    #[test]
    fn an_invalid_subscription_restarts_from_now() {
        let lapsed = sub(
            Plan::Pro,
            SubscriptionStatus::Expired,
            Some(NOW - GRACE_MS - 1),
        );
        let a = activate(
            Some(&lapsed),
            user(),
            Offer::Premium(BillingCycle::Monthly),
            Provider::LemonSqueezy,
            None,
            NOW,
        );
        assert_eq!(a.kind, ActivationKind::Activated);
        let s = a.subscription.unwrap();
        assert_eq!(s.expires_at, Some(NOW + MONTH));
        assert_eq!(s.plan, Plan::Premium);
        let cancelled_past = sub(Plan::Pro, SubscriptionStatus::Cancelled, Some(NOW - 1));
        let s = activate(
            Some(&cancelled_past),
            user(),
            Offer::Pro(BillingCycle::Monthly),
            Provider::LemonSqueezy,
            None,
            NOW,
        )
        .subscription
        .unwrap();
        assert_eq!(s.expires_at, Some(NOW + MONTH));
        assert_eq!(s.cancelled_at, None);
    }

    #[test]
    fn buying_lifetime_sets_no_expiry_and_lifetime_is_not_overwritten() {
        let current = sub(Plan::Pro, SubscriptionStatus::Active, Some(NOW + DAY_MS));
        let s = activate(
            Some(&current),
            user(),
            Offer::Lifetime,
            Provider::NowPayments,
            None,
            NOW,
        )
        .subscription
        .unwrap();
        assert_eq!((s.plan, s.expires_at), (Plan::Lifetime, None));
        let again = activate(
            Some(&s),
            user(),
            Offer::Pro(BillingCycle::Monthly),
            Provider::LemonSqueezy,
            None,
            NOW,
        );
        assert_eq!(again.kind, ActivationKind::AlreadyLifetime);
        assert_eq!(again.subscription, None);
    }

    #[test]
    fn a_payment_does_not_lift_a_suspension() {
        let suspended = sub(Plan::Pro, SubscriptionStatus::Suspended, Some(NOW + DAY_MS));
        let a = activate(
            Some(&suspended),
            user(),
            Offer::Pro(BillingCycle::Monthly),
            Provider::LemonSqueezy,
            None,
            NOW,
        );
        assert_eq!(a.kind, ActivationKind::Suspended);
        assert_eq!(a.subscription, None);
    }

    #[test]
    fn cancelling_keeps_access_until_expiry_and_removes_grace() {
        let s = cancel(
            &sub(Plan::Pro, SubscriptionStatus::Active, Some(NOW + DAY_MS)),
            NOW,
        );
        assert_eq!(s.status, SubscriptionStatus::Cancelled);
        assert_eq!(s.cancelled_at, Some(NOW));
        assert!(s.is_valid(NOW + DAY_MS));
        assert!(!s.is_valid(NOW + DAY_MS + 1));
    }

    #[test]
    fn expiring_an_active_subscription_keeps_grace_but_a_cancelled_one_gains_none() {
        let e = expire(&sub(Plan::Pro, SubscriptionStatus::Active, Some(NOW)));
        assert_eq!(e.status, SubscriptionStatus::Expired);
        assert!(e.is_valid(NOW + GRACE_MS));
        let c = expire(&sub(Plan::Pro, SubscriptionStatus::Cancelled, Some(NOW)));
        assert_eq!(c.status, SubscriptionStatus::Cancelled);
        assert!(!c.is_valid(NOW + 1));
    }

    #[test]
    fn a_refund_ends_access_now_even_for_lifetime() {
        for s in [
            sub(Plan::Pro, SubscriptionStatus::Active, Some(NOW + MONTH)),
            sub(Plan::Lifetime, SubscriptionStatus::Active, None),
        ] {
            let ended = end_now(&s, NOW);
            assert_eq!(ended.expires_at, Some(NOW));
            assert!(ended.is_valid(NOW));
            assert!(!ended.is_valid(NOW + 1));
        }
    }

    #[test]
    fn expiry_warnings_are_due_at_seven_three_and_one_days() {
        let id = SubscriptionId::new(3).unwrap();
        let expires = NOW + 10 * DAY_MS;
        let s = sub(Plan::Pro, SubscriptionStatus::Active, Some(expires));
        assert_eq!(due_expiry_warning(id, &s, expires - 7 * DAY_MS - 1), None);
        let seven = due_expiry_warning(id, &s, expires - 7 * DAY_MS).unwrap();
        assert_eq!(seven.send.days_before, 7);
        assert_eq!(seven.record.len(), 1);
        let three = due_expiry_warning(id, &s, expires - 3 * DAY_MS).unwrap();
        assert_eq!(three.send.days_before, 3);
        let one = due_expiry_warning(id, &s, expires - DAY_MS + 1).unwrap();
        assert_eq!(
            one.send,
            WarningKey {
                subscription_id: id,
                expires_at: expires,
                days_before: 1
            }
        );
        assert_eq!(one.record.len(), 3);
        assert_eq!(due_expiry_warning(id, &s, expires), None);
    }

    #[test]
    fn a_late_run_sends_only_the_most_urgent_warning_and_records_the_rest() {
        let id = SubscriptionId::new(3).unwrap();
        let expires = NOW + 2 * DAY_MS;
        let s = sub(Plan::Pro, SubscriptionStatus::Active, Some(expires));
        let due = due_expiry_warning(id, &s, NOW).unwrap();
        assert_eq!(due.send.days_before, 3);
        let days: Vec<i64> = due.record.iter().map(|k| k.days_before).collect();
        assert_eq!(days, vec![7, 3]);
    }

    #[test]
    fn warnings_are_keyed_by_expiry_so_an_extension_starts_a_new_series() {
        let id = SubscriptionId::new(3).unwrap();
        let s1 = sub(Plan::Pro, SubscriptionStatus::Active, Some(NOW + DAY_MS));
        let s2 = sub(
            Plan::Pro,
            SubscriptionStatus::Active,
            Some(NOW + DAY_MS + MONTH),
        );
        let k1 = due_expiry_warning(id, &s1, NOW).unwrap().send;
        let k2 = due_expiry_warning(id, &s2, NOW + MONTH).unwrap().send;
        assert_ne!(k1, k2);
        assert_eq!(k1.days_before, k2.days_before);
    }

    #[test]
    fn lifetime_expired_and_suspended_subscriptions_get_no_warning() {
        let id = SubscriptionId::new(3).unwrap();
        for s in [
            sub(Plan::Lifetime, SubscriptionStatus::Active, None),
            sub(Plan::Pro, SubscriptionStatus::Expired, Some(NOW + DAY_MS)),
            sub(Plan::Pro, SubscriptionStatus::Suspended, Some(NOW + DAY_MS)),
        ] {
            assert_eq!(due_expiry_warning(id, &s, NOW), None);
        }
    }

    #[test]
    fn stored_words_round_trip() {
        for s in [
            SubscriptionStatus::Active,
            SubscriptionStatus::Expired,
            SubscriptionStatus::Cancelled,
            SubscriptionStatus::Suspended,
        ] {
            assert_eq!(SubscriptionStatus::parse(s.as_str()), Ok(s));
        }
        for p in [
            SubscriptionSource::LemonSqueezy,
            SubscriptionSource::NowPayments,
            SubscriptionSource::Admin,
        ] {
            assert_eq!(SubscriptionSource::parse(p.as_str()), Ok(p));
        }
        assert!(SubscriptionStatus::parse("ACTIVE").is_err());
    }
}
