//! The catalogue: ids, plans, cycles, what a payment buys ([`Offer`]), tiers, providers, the
//! price table and the LemonSqueezy variant table (product.md §1, §6).

use std::fmt;

use serde::Serialize;

use crate::money::Amount;
use crate::time::DAY_MS;

/// Largest id the stores keep exactly (2^53, product.md §10).
pub const MAX_ID: i64 = 1 << 53;
/// Days added by a monthly payment.
pub const MONTHLY_DAYS: i64 = 30;
/// Days added by a yearly payment.
pub const YEARLY_DAYS: i64 = 365;
/// Pro monthly price in whole dollars.
pub const PRO_MONTHLY_USD: i64 = 19;
/// Pro yearly price in whole dollars.
pub const PRO_YEARLY_USD: i64 = 190;
/// Premium monthly price in whole dollars.
pub const PREMIUM_MONTHLY_USD: i64 = 49;
/// Premium yearly price in whole dollars.
pub const PREMIUM_YEARLY_USD: i64 = 490;
/// Longest provider-side id accepted (variant ids, order ids, payment ids).
pub const MAX_EXTERNAL_ID_LEN: usize = 64;

/// An id that is not in `1..=2^53`, or a catalogue word that is not on its allowlist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// An id outside `1..=2^53` or not a plain decimal integer.
    #[error("{what} is not an id in 1..=2^53")]
    InvalidId {
        /// Which id.
        what: &'static str,
    },
    /// A word outside its allowlist (the value is not echoed).
    #[error("unknown {what}")]
    Unknown {
        /// Which field.
        what: &'static str,
    },
    /// A plan and cycle that do not go together (lifetime with a cycle, pro without one).
    #[error("plan and billing cycle do not match")]
    PlanCycle,
    /// A provider-side id that is empty, too long or has characters outside `A–Z a–z 0–9 _ - .`.
    #[error("invalid provider id")]
    InvalidExternalId,
    /// A configured price of zero.
    #[error("a configured price is zero")]
    ZeroPrice,
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub struct $name(i64);

        impl $name {
            /// Wraps an id in `1..=2^53`.
            ///
            /// # Errors
            /// [`CatalogError::InvalidId`] otherwise.
            pub fn new(id: i64) -> Result<Self, CatalogError> {
                if (1..=MAX_ID).contains(&id) {
                    Ok(Self(id))
                } else {
                    Err(CatalogError::InvalidId { what: $what })
                }
            }

            /// Parses a plain decimal id (`"42"`; no sign, no leading zeros, no spaces).
            ///
            /// # Errors
            /// [`CatalogError::InvalidId`] otherwise.
            pub fn parse(text: &str) -> Result<Self, CatalogError> {
                let plain = !text.is_empty()
                    && text.len() <= MAX_ID_DIGITS
                    && text.bytes().all(|b| b.is_ascii_digit())
                    && !text.starts_with('0');
                if !plain {
                    return Err(CatalogError::InvalidId { what: $what });
                }
                text.parse::<i64>()
                    .map_err(|_| CatalogError::InvalidId { what: $what })
                    .and_then(Self::new)
            }

            /// The raw id.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

/// Digits of 2^53.
const MAX_ID_DIGITS: usize = 16;

id_type!(
    /// Our user id.
    UserId,
    "user id"
);
id_type!(
    /// Our payment id (`payments.id`; the `order_id`/`payment_id` we hand to providers).
    PaymentId,
    "payment id"
);
id_type!(
    /// Our subscription id (`subscriptions.id`).
    SubscriptionId,
    "subscription id"
);

/// Checks a provider-side id (`A–Z a–z 0–9 _ - .`, 1..=64 chars) and returns it owned.
///
/// # Errors
/// [`CatalogError::InvalidExternalId`] otherwise.
pub fn external_id(text: &str) -> Result<String, CatalogError> {
    let ok = !text.is_empty()
        && text.len() <= MAX_EXTERNAL_ID_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(CatalogError::InvalidExternalId)
    }
}

/// A payment provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// LemonSqueezy (cards, subscriptions).
    LemonSqueezy,
    /// NOWPayments (crypto invoices).
    NowPayments,
}

impl Provider {
    /// Every provider (the OpenAPI document lists these).
    pub const ALL: [Provider; 2] = [Self::LemonSqueezy, Self::NowPayments];

    /// Parses `lemonsqueezy` / `nowpayments` (exact).
    ///
    /// # Errors
    /// [`CatalogError::Unknown`] otherwise.
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        match text {
            "lemonsqueezy" => Ok(Self::LemonSqueezy),
            "nowpayments" => Ok(Self::NowPayments),
            _ => Err(CatalogError::Unknown { what: "provider" }),
        }
    }

    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LemonSqueezy => "lemonsqueezy",
            Self::NowPayments => "nowpayments",
        }
    }
}

/// A subscription plan (`subscriptions.plan`, `payments.plan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// Pro.
    Pro,
    /// Premium.
    Premium,
    /// Premium without expiry (product.md §6, fixed).
    Lifetime,
}

impl Plan {
    /// Parses `pro` / `premium` / `lifetime` (exact).
    ///
    /// # Errors
    /// [`CatalogError::Unknown`] otherwise.
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        match text {
            "pro" => Ok(Self::Pro),
            "premium" => Ok(Self::Premium),
            "lifetime" => Ok(Self::Lifetime),
            _ => Err(CatalogError::Unknown { what: "plan" }),
        }
    }

    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pro => "pro",
            Self::Premium => "premium",
            Self::Lifetime => "lifetime",
        }
    }

    /// The tier this plan grants while valid: lifetime is premium (product.md §1, fixed).
    pub const fn tier(self) -> Tier {
        match self {
            Self::Pro => Tier::Pro,
            Self::Premium | Self::Lifetime => Tier::Premium,
        }
    }
}

/// A recurring billing period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BillingCycle {
    /// +30 days.
    Monthly,
    /// +365 days.
    Yearly,
}

impl BillingCycle {
    /// Every cycle (the OpenAPI document lists these).
    pub const ALL: [BillingCycle; 2] = [Self::Monthly, Self::Yearly];

    /// Parses `monthly` / `yearly` (exact).
    ///
    /// # Errors
    /// [`CatalogError::Unknown`] otherwise.
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        match text {
            "monthly" => Ok(Self::Monthly),
            "yearly" => Ok(Self::Yearly),
            _ => Err(CatalogError::Unknown {
                what: "billing cycle",
            }),
        }
    }

    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Monthly => "monthly",
            Self::Yearly => "yearly",
        }
    }

    /// The period in milliseconds.
    pub const fn period_ms(self) -> i64 {
        match self {
            Self::Monthly => MONTHLY_DAYS * DAY_MS,
            Self::Yearly => YEARLY_DAYS * DAY_MS,
        }
    }
}

/// What one payment buys: a paid plan for one cycle, or lifetime. Invalid pairs
/// (lifetime + cycle, pro without one) cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Offer {
    /// Pro for one cycle.
    Pro(BillingCycle),
    /// Premium for one cycle.
    Premium(BillingCycle),
    /// Lifetime (premium, no expiry).
    Lifetime,
}

/// The stored `cycle` of a lifetime payment (`payments.cycle`).
pub const LIFETIME_CYCLE: &str = "lifetime";

impl Offer {
    /// Every offer, for tables and tests.
    pub const ALL: [Offer; 5] = [
        Offer::Pro(BillingCycle::Monthly),
        Offer::Pro(BillingCycle::Yearly),
        Offer::Premium(BillingCycle::Monthly),
        Offer::Premium(BillingCycle::Yearly),
        Offer::Lifetime,
    ];

    /// Builds an offer from a plan and an optional cycle.
    ///
    /// # Errors
    /// [`CatalogError::PlanCycle`] for lifetime with a cycle or pro/premium without one.
    pub fn new(plan: Plan, cycle: Option<BillingCycle>) -> Result<Self, CatalogError> {
        match (plan, cycle) {
            (Plan::Pro, Some(c)) => Ok(Self::Pro(c)),
            (Plan::Premium, Some(c)) => Ok(Self::Premium(c)),
            (Plan::Lifetime, None) => Ok(Self::Lifetime),
            _ => Err(CatalogError::PlanCycle),
        }
    }

    /// From the stored `plan` and `cycle` columns (`cycle` is `monthly|yearly|lifetime`).
    ///
    /// # Errors
    /// [`CatalogError`] for unknown words or a mismatched pair.
    pub fn from_stored(plan: &str, cycle: &str) -> Result<Self, CatalogError> {
        let plan = Plan::parse(plan)?;
        let cycle = if cycle == LIFETIME_CYCLE {
            None
        } else {
            Some(BillingCycle::parse(cycle)?)
        };
        Self::new(plan, cycle)
    }

    /// The plan.
    pub const fn plan(self) -> Plan {
        match self {
            Self::Pro(_) => Plan::Pro,
            Self::Premium(_) => Plan::Premium,
            Self::Lifetime => Plan::Lifetime,
        }
    }

    /// The cycle (`None` for lifetime).
    pub const fn cycle(self) -> Option<BillingCycle> {
        match self {
            Self::Pro(c) | Self::Premium(c) => Some(c),
            Self::Lifetime => None,
        }
    }

    /// The stored `cycle` column: `monthly`, `yearly` or `lifetime`.
    pub const fn cycle_str(self) -> &'static str {
        match self.cycle() {
            Some(c) => c.as_str(),
            None => LIFETIME_CYCLE,
        }
    }

    /// The period this offer adds (`None`: no expiry).
    pub const fn period_ms(self) -> Option<i64> {
        match self.cycle() {
            Some(c) => Some(c.period_ms()),
            None => None,
        }
    }
}

/// The feature tier a user gets (product.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// No valid subscription.
    Free,
    /// Pro.
    Pro,
    /// Premium (also lifetime).
    Premium,
}

impl Tier {
    /// `free` / `pro` / `premium`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Pro => "pro",
            Self::Premium => "premium",
        }
    }
}

/// Prices in USD: fixed for pro and premium (product.md §1), lifetime from config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceTable {
    lifetime: Amount,
}

impl PriceTable {
    /// A table with the configured lifetime price (in cents).
    ///
    /// # Errors
    /// [`CatalogError::ZeroPrice`] when the lifetime price is zero.
    pub fn new(lifetime: Amount) -> Result<Self, CatalogError> {
        if lifetime.minor() == 0 {
            return Err(CatalogError::ZeroPrice);
        }
        Ok(Self { lifetime })
    }

    /// The USD price of an offer.
    pub fn price(&self, offer: Offer) -> Amount {
        match offer {
            Offer::Pro(BillingCycle::Monthly) => Amount::from_const_units(PRO_MONTHLY_USD),
            Offer::Pro(BillingCycle::Yearly) => Amount::from_const_units(PRO_YEARLY_USD),
            Offer::Premium(BillingCycle::Monthly) => Amount::from_const_units(PREMIUM_MONTHLY_USD),
            Offer::Premium(BillingCycle::Yearly) => Amount::from_const_units(PREMIUM_YEARLY_USD),
            Offer::Lifetime => self.lifetime,
        }
    }
}

/// LemonSqueezy variant ids per offer (config; product.md §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantTable {
    pro_monthly: String,
    pro_yearly: String,
    premium_monthly: String,
    premium_yearly: String,
    lifetime: String,
}

/// A variant table with a missing, malformed or repeated id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the LemonSqueezy variant table needs five distinct valid ids")]
pub struct VariantTableError;

impl VariantTable {
    /// Builds the table; ids must be valid provider ids and all different.
    ///
    /// # Errors
    /// [`VariantTableError`] otherwise.
    pub fn new(
        pro_monthly: &str,
        pro_yearly: &str,
        premium_monthly: &str,
        premium_yearly: &str,
        lifetime: &str,
    ) -> Result<Self, VariantTableError> {
        let ids = [
            pro_monthly,
            pro_yearly,
            premium_monthly,
            premium_yearly,
            lifetime,
        ];
        for id in ids {
            external_id(id).map_err(|_| VariantTableError)?;
        }
        let mut sorted = ids;
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w.first() == w.get(1)) {
            return Err(VariantTableError);
        }
        Ok(Self {
            pro_monthly: pro_monthly.to_owned(),
            pro_yearly: pro_yearly.to_owned(),
            premium_monthly: premium_monthly.to_owned(),
            premium_yearly: premium_yearly.to_owned(),
            lifetime: lifetime.to_owned(),
        })
    }

    /// The variant id that sells `offer`.
    pub fn variant(&self, offer: Offer) -> &str {
        match offer {
            Offer::Pro(BillingCycle::Monthly) => &self.pro_monthly,
            Offer::Pro(BillingCycle::Yearly) => &self.pro_yearly,
            Offer::Premium(BillingCycle::Monthly) => &self.premium_monthly,
            Offer::Premium(BillingCycle::Yearly) => &self.premium_yearly,
            Offer::Lifetime => &self.lifetime,
        }
    }

    /// The offer a variant id sells, if it is one of ours.
    pub fn offer(&self, variant_id: &str) -> Option<Offer> {
        Offer::ALL
            .into_iter()
            .find(|offer| self.variant(*offer) == variant_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_one_to_two_pow_53_only() {
        assert!(UserId::new(1).is_ok());
        assert!(UserId::new(MAX_ID).is_ok());
        assert!(UserId::new(0).is_err());
        assert!(UserId::new(MAX_ID + 1).is_err());
        assert_eq!(PaymentId::parse("42").map(PaymentId::get), Ok(42));
        for bad in ["", "0", "042", "-1", "+1", "1.0", " 1", "99999999999999999"] {
            assert!(PaymentId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn offers_pair_plans_with_cycles_exactly() {
        assert_eq!(
            Offer::new(Plan::Pro, Some(BillingCycle::Yearly)),
            Ok(Offer::Pro(BillingCycle::Yearly))
        );
        assert_eq!(Offer::new(Plan::Lifetime, None), Ok(Offer::Lifetime));
        assert_eq!(
            Offer::new(Plan::Lifetime, Some(BillingCycle::Monthly)),
            Err(CatalogError::PlanCycle)
        );
        assert_eq!(
            Offer::new(Plan::Premium, None),
            Err(CatalogError::PlanCycle)
        );
        for offer in Offer::ALL {
            assert_eq!(
                Offer::from_stored(offer.plan().as_str(), offer.cycle_str()),
                Ok(offer)
            );
        }
    }

    #[test]
    fn prices_follow_the_spec_table() {
        let table = PriceTable::new(Amount::from_units(999).unwrap()).unwrap();
        let cents = |o| table.price(o).minor();
        assert_eq!(cents(Offer::Pro(BillingCycle::Monthly)), 1900);
        assert_eq!(cents(Offer::Pro(BillingCycle::Yearly)), 19_000);
        assert_eq!(cents(Offer::Premium(BillingCycle::Monthly)), 4900);
        assert_eq!(cents(Offer::Premium(BillingCycle::Yearly)), 49_000);
        assert_eq!(cents(Offer::Lifetime), 99_900);
        assert!(PriceTable::new(Amount::from_minor(0).unwrap()).is_err());
    }

    #[test]
    fn lifetime_grants_premium_and_has_no_period() {
        assert_eq!(Plan::Lifetime.tier(), Tier::Premium);
        assert_eq!(Plan::Pro.tier(), Tier::Pro);
        assert_eq!(Offer::Lifetime.period_ms(), None);
        assert_eq!(
            Offer::Pro(BillingCycle::Monthly).period_ms(),
            Some(30 * DAY_MS)
        );
        assert_eq!(
            Offer::Premium(BillingCycle::Yearly).period_ms(),
            Some(365 * DAY_MS)
        );
    }

    #[test]
    fn the_variant_table_maps_both_ways_and_refuses_repeats() {
        let table = VariantTable::new("1", "2", "3", "4", "5").unwrap();
        for offer in Offer::ALL {
            assert_eq!(table.offer(table.variant(offer)), Some(offer));
        }
        assert_eq!(table.offer("6"), None);
        assert!(VariantTable::new("1", "1", "3", "4", "5").is_err());
        assert!(VariantTable::new("1", "2", "3", "4", "").is_err());
        assert!(VariantTable::new("1", "2", "3", "4", "a b").is_err());
    }
}
