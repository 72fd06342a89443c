//! The ONE policy deciding a user's effective tier and limits (product.md §1).
//!
//! - A subscription is **valid** by the ONE rule of `cl_billing::subscription::access_end`:
//!   `active` or `expired` with no expiry or `now <= expires_at + 3 days` (grace); `cancelled`
//!   until `expires_at`, without grace, and never without an expiry (a refunded lifetime);
//!   `suspended` never. `lifetime` subscriptions have no expiry.
//! - Tier = the plan of a valid subscription (`lifetime` = premium), else free.
//! - Admins have no limits; an admin may "view as" free/pro/premium, which applies that tier's
//!   limits to the admin's own session while admin pages stay reachable. `view_as` on a
//!   non-admin session is ignored.
//! - The limits table of §1 is data ([`Limits::for_tier`]), read by every route that enforces a
//!   limit; nothing else in the code base compares tiers.
//!
//! Pure functions of their inputs (`now` included), unit-tested below.

use cl_domain::PatternType;
use std::fmt;

use cl_domain::UnknownVariant;

/// Grace after `expires_at` during which an `active`/`expired` subscription stays valid.
pub const GRACE_MS: i64 = cl_billing::subscription::GRACE_MS;

/// A user tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// No valid subscription.
    Free,
    /// Pro plan.
    Pro,
    /// Premium or lifetime plan.
    Premium,
}

impl Tier {
    /// Every tier, lowest first.
    pub const ALL: [Tier; 3] = [Self::Free, Self::Pro, Self::Premium];

    /// The stored / API string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Pro => "pro",
            Self::Premium => "premium",
        }
    }

    /// Parses the stored string.
    ///
    /// # Errors
    /// [`UnknownVariant`] for anything else.
    pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownVariant {
                kind: "tier",
                value: s.chars().take(32).collect(),
            })
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A purchasable plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Plan {
    /// Pro, monthly or yearly.
    Pro,
    /// Premium, monthly or yearly.
    Premium,
    /// Premium without expiry.
    Lifetime,
}

impl Plan {
    /// The tier the plan grants (`lifetime` = premium).
    pub const fn tier(self) -> Tier {
        match self {
            Self::Pro => Tier::Pro,
            Self::Premium | Self::Lifetime => Tier::Premium,
        }
    }
}

/// Status of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionStatus {
    /// Paid and running.
    Active,
    /// Past its expiry (still valid within the grace).
    Expired,
    /// Cancelled by the user: valid until `expires_at`, no grace.
    Cancelled,
    /// Suspended by an admin: never valid.
    Suspended,
}

/// The subscription fields the policy reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription {
    /// Plan.
    pub plan: Plan,
    /// Status.
    pub status: SubscriptionStatus,
    /// UTC ms of expiry; `None` = no expiry (lifetime).
    pub expires_at: Option<i64>,
}

impl Subscription {
    /// Whether the subscription grants its plan at `now` (rules in the module docs).
    pub fn is_valid(&self, now: i64) -> bool {
        use cl_billing::subscription::{access_end, SubscriptionStatus as Billing};
        let status = match self.status {
            SubscriptionStatus::Active => Billing::Active,
            SubscriptionStatus::Expired => Billing::Expired,
            SubscriptionStatus::Cancelled => Billing::Cancelled,
            SubscriptionStatus::Suspended => Billing::Suspended,
        };
        access_end(status, self.expires_at).covers(now)
    }
}

/// The tier a user's subscription grants at `now`: its plan's tier when valid, else free.
pub fn subscription_tier(subscription: Option<&Subscription>, now: i64) -> Tier {
    match subscription {
        Some(s) if s.is_valid(now) => s.plan.tier(),
        _ => Tier::Free,
    }
}

/// What a request may do: the tier shown, the limits applied and whether admin pages open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// The tier shown to the user (an admin: the view-as tier, else premium).
    pub tier: Tier,
    /// The limits to enforce.
    pub limits: Limits,
    /// The user is an admin (admin pages stay reachable while viewing as another tier).
    pub is_admin: bool,
    /// The view-as tier in effect (admins only), shown as a banner.
    pub viewing_as: Option<Tier>,
}

impl Access {
    /// Whether the user's effective tier is at least `required` (for `tier_required`).
    pub fn has_tier(&self, required: Tier) -> bool {
        self.tier >= required
    }
}

/// A read the caller's tier does not include; `required` is the lowest tier that does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("tier {required} required")]
pub struct TierDenied {
    /// The lowest tier with access.
    pub required: Tier,
}

/// The lowest tier that sees a symbol (BTC/USDT: free; the pro list: pro; others: premium).
pub fn tier_for_symbol(symbol: &str) -> Tier {
    Tier::ALL
        .into_iter()
        .find(|t| Limits::for_tier(*t).symbols.allows(symbol))
        .unwrap_or(Tier::Premium)
}

/// The lowest tier that sees a pattern type.
pub fn tier_for_pattern_type(ty: PatternType) -> Tier {
    Tier::ALL
        .into_iter()
        .find(|t| Limits::for_tier(*t).allows_pattern_type(ty))
        .unwrap_or(Tier::Premium)
}

/// Which history list a read is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryList {
    /// The patterns list and the chart's patterns.
    Patterns,
    /// The signals list.
    Signals,
}

impl Access {
    /// Whether the symbol (`BASE/QUOTE`) is visible.
    pub fn sees_symbol(&self, symbol: &str) -> bool {
        self.limits.symbols.allows(symbol)
    }

    /// Whether the pattern type is visible.
    pub fn sees_pattern_type(&self, ty: PatternType) -> bool {
        self.limits.allows_pattern_type(ty)
    }

    /// The symbol, or the tier that would show it.
    ///
    /// # Errors
    /// [`TierDenied`].
    pub fn require_symbol(&self, symbol: &str) -> Result<(), TierDenied> {
        if self.sees_symbol(symbol) {
            Ok(())
        } else {
            Err(TierDenied {
                required: tier_for_symbol(symbol),
            })
        }
    }

    /// The pattern type, or the tier that would show it.
    ///
    /// # Errors
    /// [`TierDenied`].
    pub fn require_pattern_type(&self, ty: PatternType) -> Result<(), TierDenied> {
        if self.sees_pattern_type(ty) {
            Ok(())
        } else {
            Err(TierDenied {
                required: tier_for_pattern_type(ty),
            })
        }
    }

    /// The analytics page and `/stats` (pro and premium).
    ///
    /// # Errors
    /// [`TierDenied`] (pro) when the tier has no analytics.
    pub fn require_analytics(&self) -> Result<(), TierDenied> {
        if self.limits.analytics {
            Ok(())
        } else {
            Err(TierDenied {
                required: Tier::Pro,
            })
        }
    }

    /// How many of the newest rows of a history list are visible: `None` = all.
    ///
    /// # Errors
    /// [`TierDenied`] (pro) when the tier has no such list.
    pub fn history_cap(&self, list: HistoryList) -> Result<Option<u32>, TierDenied> {
        let h = match list {
            HistoryList::Patterns => self.limits.patterns_history,
            HistoryList::Signals => self.limits.signals_history,
        };
        match h {
            HistoryAccess::None => Err(TierDenied {
                required: Tier::Pro,
            }),
            HistoryAccess::Newest(n) => Ok(Some(n)),
            HistoryAccess::Unlimited => Ok(None),
        }
    }
}

/// The single decision: a user's effective access at `now`.
pub fn effective_access(
    is_admin: bool,
    view_as: Option<Tier>,
    subscription: Option<&Subscription>,
    now: i64,
) -> Access {
    if is_admin {
        return match view_as {
            Some(tier) => Access {
                tier,
                limits: Limits::for_tier(tier),
                is_admin: true,
                viewing_as: Some(tier),
            },
            None => Access {
                tier: Tier::Premium,
                limits: Limits::ADMIN,
                is_admin: true,
                viewing_as: None,
            },
        };
    }
    let tier = subscription_tier(subscription, now);
    Access {
        tier,
        limits: Limits::for_tier(tier),
        is_admin: false,
        viewing_as: None,
    }
}

/// A countable allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    /// At most this many (0 = not available).
    Limited(u32),
    /// No limit.
    Unlimited,
}

impl Quota {
    /// Whether one more is allowed when `used` are already consumed.
    pub fn allows_another(self, used: u32) -> bool {
        match self {
            Self::Limited(max) => used < max,
            Self::Unlimited => true,
        }
    }

    /// Whether the feature is available at all.
    pub fn is_available(self) -> bool {
        self != Self::Limited(0)
    }
}

/// Which symbols a tier sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolAccess {
    /// Only these canonical symbols.
    Only(&'static [&'static str]),
    /// Every active symbol.
    All,
}

impl SymbolAccess {
    /// Whether the canonical symbol (`BASE/QUOTE`) is visible.
    pub fn allows(self, symbol: &str) -> bool {
        match self {
            Self::Only(list) => list.contains(&symbol),
            Self::All => true,
        }
    }
}

/// How much of a history list a tier sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryAccess {
    /// Not available (upgrade prompt).
    None,
    /// The newest N rows.
    Newest(u32),
    /// Everything.
    Unlimited,
}

/// Free symbols.
pub const FREE_SYMBOLS: &[&str] = &["BTC/USDT"];
/// Pro symbols (a fixed list).
pub const PRO_SYMBOLS: &[&str] = &["BTC/USDT", "ETH/USDT", "XRP/USDT", "BNB/USDT", "SOL/USDT"];

/// Abuse caps that apply to every tier (product.md §7).
pub const MAX_PORTFOLIOS: u32 = 20;
/// Trades per portfolio, every tier.
pub const MAX_TRADES_PER_PORTFOLIO: u32 = 10_000;
/// Journal entries per trade, every tier.
pub const MAX_JOURNAL_ENTRIES_PER_TRADE: u32 = 50;
/// Tags per user, every tier.
pub const MAX_TAGS: u32 = 100;

/// The limits of product.md §1, one row per tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Visible symbols.
    pub symbols: SymbolAccess,
    /// Pattern types in matrix, lists, charts and notifications.
    pub pattern_types: &'static [PatternType],
    /// Recent signals on the dashboard.
    pub dashboard_recent_signals: u32,
    /// Patterns list and charts.
    pub patterns_history: HistoryAccess,
    /// Signals list.
    pub signals_history: HistoryAccess,
    /// Analytics page.
    pub analytics: bool,
    /// Risk settings (risk per trade, default R:R).
    pub risk_settings: bool,
    /// Exchange credentials.
    pub exchange_credentials: bool,
    /// Notifications per UTC day.
    pub notifications_per_day: Quota,
    /// Delay of notifications after the signal, ms.
    pub notification_delay_ms: i64,
    /// Per-symbol notification toggles.
    pub per_symbol_notifications: bool,
    /// Portfolios (abuse cap [`MAX_PORTFOLIOS`] included).
    pub portfolios: Quota,
    /// New trades per UTC day.
    pub new_trades_per_day: Quota,
    /// Backtests running at once.
    pub backtests_running: Quota,
    /// Backtests started per UTC day.
    pub backtests_per_day: Quota,
    /// Active REST API keys.
    pub api_keys: Quota,
}

const ONLY_IMBALANCE: &[PatternType] = &[PatternType::Imbalance];
const ALL_TYPES: &[PatternType] = &[
    PatternType::Imbalance,
    PatternType::OrderBlock,
    PatternType::LiquiditySweep,
];

impl Limits {
    /// Free.
    pub const FREE: Limits = Limits {
        symbols: SymbolAccess::Only(FREE_SYMBOLS),
        pattern_types: ONLY_IMBALANCE,
        dashboard_recent_signals: 1,
        patterns_history: HistoryAccess::None,
        signals_history: HistoryAccess::None,
        analytics: false,
        risk_settings: false,
        exchange_credentials: false,
        notifications_per_day: Quota::Limited(1),
        notification_delay_ms: 10 * 60 * 1000,
        per_symbol_notifications: false,
        portfolios: Quota::Limited(0),
        new_trades_per_day: Quota::Limited(0),
        backtests_running: Quota::Limited(0),
        backtests_per_day: Quota::Limited(0),
        api_keys: Quota::Limited(0),
    };

    /// Pro.
    pub const PRO: Limits = Limits {
        symbols: SymbolAccess::Only(PRO_SYMBOLS),
        pattern_types: ALL_TYPES,
        dashboard_recent_signals: 10,
        patterns_history: HistoryAccess::Newest(100),
        signals_history: HistoryAccess::Newest(50),
        analytics: true,
        risk_settings: true,
        exchange_credentials: true,
        notifications_per_day: Quota::Limited(20),
        notification_delay_ms: 0,
        per_symbol_notifications: false,
        portfolios: Quota::Limited(1),
        new_trades_per_day: Quota::Limited(5),
        backtests_running: Quota::Limited(0),
        backtests_per_day: Quota::Limited(0),
        api_keys: Quota::Limited(0),
    };

    /// Premium (and lifetime).
    pub const PREMIUM: Limits = Limits {
        symbols: SymbolAccess::All,
        pattern_types: ALL_TYPES,
        dashboard_recent_signals: 10,
        patterns_history: HistoryAccess::Unlimited,
        signals_history: HistoryAccess::Unlimited,
        analytics: true,
        risk_settings: true,
        exchange_credentials: true,
        notifications_per_day: Quota::Unlimited,
        notification_delay_ms: 0,
        per_symbol_notifications: true,
        portfolios: Quota::Limited(MAX_PORTFOLIOS),
        new_trades_per_day: Quota::Unlimited,
        backtests_running: Quota::Limited(1),
        backtests_per_day: Quota::Limited(20),
        api_keys: Quota::Limited(10),
    };

    /// An admin not viewing as a tier: no limits except the abuse caps every tier has.
    pub const ADMIN: Limits = Limits {
        backtests_running: Quota::Unlimited,
        backtests_per_day: Quota::Unlimited,
        api_keys: Quota::Unlimited,
        ..Self::PREMIUM
    };

    /// The row of a tier.
    pub const fn for_tier(tier: Tier) -> Limits {
        match tier {
            Tier::Free => Self::FREE,
            Tier::Pro => Self::PRO,
            Tier::Premium => Self::PREMIUM,
        }
    }

    /// Whether a pattern type is visible.
    pub fn allows_pattern_type(&self, ty: PatternType) -> bool {
        self.pattern_types.contains(&ty)
    }
}

#[cfg(test)]
mod tests {
    const DAY_MS: i64 = 24 * 60 * 60 * 1000;
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn sub(plan: Plan, status: SubscriptionStatus, expires_at: Option<i64>) -> Subscription {
        Subscription {
            plan,
            status,
            expires_at,
        }
    }

    #[test]
    fn analytics_need_pro_and_an_admin_viewing_as_free_loses_them() {
        let free = effective_access(false, None, None, NOW);
        assert_eq!(
            free.require_analytics(),
            Err(TierDenied {
                required: Tier::Pro
            })
        );
        let pro_sub = sub(Plan::Pro, SubscriptionStatus::Active, None);
        assert!(effective_access(false, None, Some(&pro_sub), NOW)
            .require_analytics()
            .is_ok());
        assert!(effective_access(true, None, None, NOW)
            .require_analytics()
            .is_ok());
        assert!(effective_access(true, Some(Tier::Free), None, NOW)
            .require_analytics()
            .is_err());
    }

    #[test]
    fn no_subscription_means_free() {
        assert_eq!(subscription_tier(None, NOW), Tier::Free);
    }

    #[test]
    fn an_active_subscription_grants_its_plan_until_three_days_after_expiry() {
        let s = sub(Plan::Pro, SubscriptionStatus::Active, Some(NOW));
        assert_eq!(subscription_tier(Some(&s), NOW), Tier::Pro);
        assert_eq!(subscription_tier(Some(&s), NOW + GRACE_MS), Tier::Pro);
        assert_eq!(subscription_tier(Some(&s), NOW + GRACE_MS + 1), Tier::Free);
    }

    #[test]
    fn an_expired_subscription_is_still_valid_within_the_grace() {
        let s = sub(
            Plan::Premium,
            SubscriptionStatus::Expired,
            Some(NOW - DAY_MS),
        );
        assert_eq!(subscription_tier(Some(&s), NOW), Tier::Premium);
        let old = sub(
            Plan::Premium,
            SubscriptionStatus::Expired,
            Some(NOW - 4 * DAY_MS),
        );
        assert_eq!(subscription_tier(Some(&old), NOW), Tier::Free);
    }

    #[test]
    fn a_cancelled_subscription_stays_valid_until_expiry_without_grace() {
        let s = sub(Plan::Pro, SubscriptionStatus::Cancelled, Some(NOW));
        assert_eq!(subscription_tier(Some(&s), NOW - 1), Tier::Pro);
        assert_eq!(subscription_tier(Some(&s), NOW), Tier::Pro);
        assert_eq!(subscription_tier(Some(&s), NOW + 1), Tier::Free);
    }

    #[test]
    fn a_cancelled_subscription_without_expiry_grants_nothing_like_billing_says() {
        // A refunded lifetime: billing's rule, which the policy reads, ends access at once.
        let s = sub(Plan::Lifetime, SubscriptionStatus::Cancelled, None);
        assert_eq!(subscription_tier(Some(&s), NOW), Tier::Free);
        let s = sub(Plan::Pro, SubscriptionStatus::Expired, None);
        assert_eq!(subscription_tier(Some(&s), NOW), Tier::Pro);
    }

    #[test]
    fn a_suspended_subscription_is_never_valid() {
        let s = sub(Plan::Lifetime, SubscriptionStatus::Suspended, None);
        assert_eq!(subscription_tier(Some(&s), NOW), Tier::Free);
        let s = sub(
            Plan::Premium,
            SubscriptionStatus::Suspended,
            Some(NOW + DAY_MS),
        );
        assert_eq!(subscription_tier(Some(&s), NOW), Tier::Free);
    }

    #[test]
    fn lifetime_is_premium_forever() {
        let s = sub(Plan::Lifetime, SubscriptionStatus::Active, None);
        assert_eq!(subscription_tier(Some(&s), NOW), Tier::Premium);
        assert_eq!(subscription_tier(Some(&s), i64::MAX), Tier::Premium);
    }

    #[test]
    fn a_subscription_without_expiry_does_not_overflow_or_end() {
        let s = sub(Plan::Pro, SubscriptionStatus::Active, Some(i64::MAX));
        assert_eq!(subscription_tier(Some(&s), i64::MAX), Tier::Pro);
    }

    #[test]
    fn admins_have_no_limits_unless_viewing_as_a_tier() {
        let a = effective_access(true, None, None, NOW);
        assert!(a.is_admin);
        assert_eq!(a.limits, Limits::ADMIN);
        assert_eq!(a.limits.api_keys, Quota::Unlimited);
        assert_eq!(a.viewing_as, None);

        let free = effective_access(true, Some(Tier::Free), None, NOW);
        assert_eq!(free.tier, Tier::Free);
        assert_eq!(free.limits, Limits::FREE);
        assert!(free.is_admin, "admin pages stay reachable while viewing as");
        assert_eq!(free.viewing_as, Some(Tier::Free));
    }

    #[test]
    fn view_as_is_ignored_for_non_admins() {
        let a = effective_access(false, Some(Tier::Premium), None, NOW);
        assert_eq!(a.tier, Tier::Free);
        assert_eq!(a.limits, Limits::FREE);
        assert_eq!(a.viewing_as, None);
    }

    #[test]
    fn users_get_the_limits_of_their_subscription_tier() {
        let s = sub(Plan::Pro, SubscriptionStatus::Active, Some(NOW + DAY_MS));
        let a = effective_access(false, None, Some(&s), NOW);
        assert_eq!(a.tier, Tier::Pro);
        assert!(a.has_tier(Tier::Pro));
        assert!(!a.has_tier(Tier::Premium));
        assert_eq!(a.limits, Limits::PRO);
    }

    #[test]
    fn the_limits_table_matches_product_section_one() {
        let free = Limits::for_tier(Tier::Free);
        assert!(free.symbols.allows("BTC/USDT") && !free.symbols.allows("ETH/USDT"));
        assert!(free.allows_pattern_type(PatternType::Imbalance));
        assert!(!free.allows_pattern_type(PatternType::OrderBlock));
        assert_eq!(free.dashboard_recent_signals, 1);
        assert_eq!(free.patterns_history, HistoryAccess::None);
        assert_eq!(free.notifications_per_day, Quota::Limited(1));
        assert_eq!(free.notification_delay_ms, 600_000);
        assert!(!free.portfolios.is_available());

        let pro = Limits::for_tier(Tier::Pro);
        for s in ["BTC/USDT", "ETH/USDT", "XRP/USDT", "BNB/USDT", "SOL/USDT"] {
            assert!(pro.symbols.allows(s));
        }
        assert!(!pro.symbols.allows("DOGE/USDT"));
        assert_eq!(pro.pattern_types.len(), 3);
        assert_eq!(pro.patterns_history, HistoryAccess::Newest(100));
        assert_eq!(pro.signals_history, HistoryAccess::Newest(50));
        assert_eq!(pro.notifications_per_day, Quota::Limited(20));
        assert_eq!(pro.notification_delay_ms, 0);
        assert_eq!(pro.portfolios, Quota::Limited(1));
        assert_eq!(pro.new_trades_per_day, Quota::Limited(5));
        assert!(!pro.backtests_per_day.is_available() && !pro.api_keys.is_available());
        assert!(pro.analytics && pro.exchange_credentials && !pro.per_symbol_notifications);

        let premium = Limits::for_tier(Tier::Premium);
        assert!(premium.symbols.allows("DOGE/USDT"));
        assert_eq!(premium.notifications_per_day, Quota::Unlimited);
        assert!(premium.per_symbol_notifications);
        assert_eq!(premium.backtests_running, Quota::Limited(1));
        assert_eq!(premium.backtests_per_day, Quota::Limited(20));
        assert_eq!(premium.api_keys, Quota::Limited(10));
        assert_eq!(premium.portfolios, Quota::Limited(MAX_PORTFOLIOS));
    }

    #[test]
    fn quotas_count_up_to_their_maximum() {
        assert!(Quota::Limited(5).allows_another(4));
        assert!(!Quota::Limited(5).allows_another(5));
        assert!(!Quota::Limited(0).allows_another(0));
        assert!(Quota::Unlimited.allows_another(u32::MAX));
    }

    #[test]
    fn reads_name_the_lowest_tier_that_would_allow_them() {
        let free = effective_access(false, None, None, NOW);
        assert!(free.require_symbol("BTC/USDT").is_ok());
        assert_eq!(
            free.require_symbol("ETH/USDT"),
            Err(TierDenied {
                required: Tier::Pro
            })
        );
        assert_eq!(
            free.require_symbol("DOGE/USDT"),
            Err(TierDenied {
                required: Tier::Premium
            })
        );
        assert_eq!(
            free.require_pattern_type(PatternType::OrderBlock),
            Err(TierDenied {
                required: Tier::Pro
            })
        );
        assert_eq!(
            free.history_cap(HistoryList::Patterns),
            Err(TierDenied {
                required: Tier::Pro
            })
        );
        let pro = effective_access(true, Some(Tier::Pro), None, NOW);
        assert_eq!(pro.history_cap(HistoryList::Patterns), Ok(Some(100)));
        assert_eq!(pro.history_cap(HistoryList::Signals), Ok(Some(50)));
        assert_eq!(
            pro.require_symbol("DOGE/USDT"),
            Err(TierDenied {
                required: Tier::Premium
            })
        );
        let admin = effective_access(true, None, None, NOW);
        assert_eq!(admin.history_cap(HistoryList::Signals), Ok(None));
        assert!(admin.sees_symbol("ANY/USDT"));
    }

    #[test]
    fn tiers_round_trip_and_order() {
        for t in Tier::ALL {
            assert_eq!(Tier::parse(t.as_str()), Ok(t));
        }
        assert!(Tier::parse("admin").is_err());
        assert!(Tier::Free < Tier::Pro && Tier::Pro < Tier::Premium);
    }
}
