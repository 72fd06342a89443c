//! Analytics and the admin's stats, subscriptions and settings (product.md §2 `/analytics`,
//! §9).
//!
//! Design:
//! - The `stats` job computes the analytics entries ([`analytics_entries`], pure) from ONE
//!   grouped count query and stores them in the stats cache next to its other entries; a read
//!   is ONE cache lookup ([`StatsService::analytics`]), never a count over the tables.
//! - Entries per scope: `analytics:pro` (the pro tier's symbols), `analytics:premium` (every
//!   symbol) and `analytics:symbol:<NAME>`. The global figures a caller sees are those of
//!   their tier's symbol list, so a pro user's totals never include premium-only symbols.
//! - Who may read: the ONE tier policy ([`crate::policy::Access::require_analytics`] and
//!   `require_symbol`); the admin reads check `is_admin` here again (the HTTP gate is the first
//!   lock).
//! - A settings change writes only the changed keys, with its audit row, in ONE atomic store
//!   write; a refused change writes nothing.

use crate::accounts::Authenticated;
use crate::admin::{AuditContext, InvalidInput};
use crate::global_settings::{GlobalSettings, SettingsPatch};
use crate::jobs::maintenance::StatsEntry;
use crate::policy::{tier_for_symbol, Access, Tier, TierDenied};
use crate::ports::admin::NewAuditEntry;
use crate::ports::stats::{
    AdminCounts, AdminSubscriptionRow, AnalyticsCounts, StatsStore, SubscriptionFilter,
};
use crate::ports::{Clock, Page, PageRequest, SignalStatus, StoreError, SymbolId};
use cl_domain::{Direction, PatternStatus, PatternType, Timeframe};
use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 86_400_000;
/// Largest `expiring_within_days`.
pub const MAX_EXPIRING_DAYS: u32 = 365;

/// The cache key of a tier's global analytics.
pub fn tier_key(tier: Tier) -> String {
    format!("analytics:{}", tier.as_str())
}

/// The cache key of a symbol's analytics.
pub fn symbol_key(name: &str) -> String {
    format!("analytics:symbol:{name}")
}

/// Pattern counts of one group by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountRow {
    /// The group: a type, TF or direction word, or `all`.
    pub key: String,
    /// Every pattern.
    pub total: u64,
    /// Still active.
    pub active: u64,
    /// Filled.
    pub filled: u64,
    /// Invalidated.
    pub invalidated: u64,
    /// Expired.
    pub expired: u64,
}

impl CountRow {
    fn new(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            ..Self::default()
        }
    }

    fn add(&mut self, status: PatternStatus, n: u64) {
        self.total += n;
        match status {
            PatternStatus::Active => self.active += n,
            PatternStatus::Filled => self.filled += n,
            PatternStatus::Invalidated => self.invalidated += n,
            PatternStatus::Expired => self.expired += n,
        }
    }
}

/// Outcome rates over the ended patterns (filled + invalidated + expired); `None` when none
/// has ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    /// Ended patterns.
    pub ended: u64,
    /// filled / ended.
    pub fill: Option<f64>,
    /// expired / ended.
    pub expiry: Option<f64>,
    /// invalidated / ended.
    pub invalidation: Option<f64>,
}

/// A count under a name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCount {
    /// The name.
    pub key: String,
    /// How many.
    pub count: u64,
}

/// One analytics entry of the stats cache (also the `/stats` payload).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Analytics {
    /// `pro`, `premium` (tier-wide) or the symbol.
    pub scope: String,
    /// When the job computed it (`None`: not computed yet).
    pub computed_at: Option<i64>,
    /// Every pattern of the scope.
    pub patterns: CountRow,
    /// By type, every type listed.
    pub by_type: Vec<CountRow>,
    /// By TF, every TF listed.
    pub by_tf: Vec<CountRow>,
    /// By direction, both listed.
    pub by_direction: Vec<CountRow>,
    /// Outcome rates.
    pub rates: Rates,
    /// Every signal of the scope.
    pub signals_total: u64,
    /// Signals by status, every status listed.
    pub signals_by_status: Vec<KeyCount>,
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    // Four decimals: a stable text in the cache and on the wire.
    (whole > 0).then(|| ((part as f64 / whole as f64) * 10_000.0).round() / 10_000.0)
}

impl Analytics {
    /// An empty entry (every group listed with zeros).
    pub fn empty(scope: &str) -> Self {
        Self {
            scope: scope.to_owned(),
            computed_at: None,
            patterns: CountRow::new("all"),
            by_type: PatternType::ALL
                .iter()
                .map(|t| CountRow::new(t.as_str()))
                .collect(),
            by_tf: Timeframe::ALL
                .iter()
                .map(|t| CountRow::new(t.as_str()))
                .collect(),
            by_direction: Direction::ALL
                .iter()
                .map(|d| CountRow::new(d.as_str()))
                .collect(),
            rates: Rates::default(),
            signals_total: 0,
            signals_by_status: SignalStatus::ALL
                .iter()
                .map(|s| KeyCount {
                    key: s.as_str().to_owned(),
                    count: 0,
                })
                .collect(),
        }
    }

    fn add_pattern(
        &mut self,
        ty: PatternType,
        tf: Timeframe,
        dir: Direction,
        status: PatternStatus,
        n: u64,
    ) {
        self.patterns.add(status, n);
        for (rows, key) in [
            (&mut self.by_type, ty.as_str()),
            (&mut self.by_tf, tf.as_str()),
            (&mut self.by_direction, dir.as_str()),
        ] {
            if let Some(r) = rows.iter_mut().find(|r| r.key == key) {
                r.add(status, n);
            }
        }
    }

    fn add_signal(&mut self, status: SignalStatus, n: u64) {
        self.signals_total += n;
        if let Some(r) = self
            .signals_by_status
            .iter_mut()
            .find(|r| r.key == status.as_str())
        {
            r.count += n;
        }
    }

    fn finish(mut self, now: i64) -> Self {
        let p = &self.patterns;
        let ended = p.filled + p.invalidated + p.expired;
        self.rates = Rates {
            ended,
            fill: rate(p.filled, ended),
            expiry: rate(p.expired, ended),
            invalidation: rate(p.invalidated, ended),
        };
        self.computed_at = Some(now);
        self
    }
}

/// The analytics entries for these symbols (id, name) and counts at `now` (pure): one per
/// symbol and one per paying tier over that tier's symbols.
pub fn analytics_entries(
    symbols: &[(SymbolId, String)],
    counts: &AnalyticsCounts,
    now: i64,
) -> Vec<StatsEntry> {
    let tiers = [Tier::Pro, Tier::Premium];
    let mut per_tier: Vec<Analytics> = tiers.iter().map(|t| Analytics::empty(t.as_str())).collect();
    let mut per_symbol: Vec<Analytics> = symbols
        .iter()
        .map(|(_, name)| Analytics::empty(name))
        .collect();
    let find = |id: SymbolId| symbols.iter().position(|(s, _)| *s == id);
    // Which tier entries a symbol's counts go into (a pro symbol counts for premium too).
    let visible: Vec<Vec<usize>> = symbols
        .iter()
        .map(|(_, name)| {
            let lowest = tier_for_symbol(name);
            (0..tiers.len()).filter(|i| tiers[*i] >= lowest).collect()
        })
        .collect();
    for c in &counts.patterns {
        let Some(i) = find(c.symbol) else { continue };
        per_symbol[i].add_pattern(c.pattern_type, c.tf, c.direction, c.status, c.count);
        for t in &visible[i] {
            per_tier[*t].add_pattern(c.pattern_type, c.tf, c.direction, c.status, c.count);
        }
    }
    for c in &counts.signals {
        let Some(i) = find(c.symbol) else { continue };
        per_symbol[i].add_signal(c.status, c.count);
        for t in &visible[i] {
            per_tier[*t].add_signal(c.status, c.count);
        }
    }
    let entry = |key: String, a: Analytics| {
        let a = a.finish(now);
        serde_json::to_string(&a).ok().map(|data| StatsEntry {
            key,
            data,
            computed_at: now,
        })
    };
    let mut out: Vec<StatsEntry> = tiers
        .iter()
        .zip(per_tier)
        .filter_map(|(t, a)| entry(tier_key(*t), a))
        .collect();
    out.extend(
        symbols
            .iter()
            .zip(per_symbol)
            .filter_map(|((_, name), a)| entry(symbol_key(name), a)),
    );
    out
}

// ---------------------------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------------------------

/// What a stats operation can fail with (one enum, mapped once by the API).
#[derive(Debug, thiserror::Error)]
pub enum StatsOpError {
    /// The caller's tier has no analytics, or not this symbol (→ `tier_required`).
    #[error(transparent)]
    Tier(#[from] TierDenied),
    /// Not an admin (→ `forbidden`).
    #[error("not an admin")]
    NotAdmin,
    /// No entry for this symbol (→ `not_found`).
    #[error("not found")]
    NotFound,
    /// Bad input fields (→ `validation_failed`, every field listed).
    #[error("invalid settings")]
    Invalid(Vec<InvalidInput>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The subscription list filter from its query words.
///
/// # Errors
/// `Invalid` naming `plan` or `status`.
pub fn subscription_filter(
    plan: Option<&str>,
    status: Option<&str>,
) -> Result<SubscriptionFilter, StatsOpError> {
    let mut errors = Vec::new();
    let plan = plan.and_then(|w| {
        cl_billing::plan::Plan::parse(w)
            .map_err(|_| {
                errors.push(InvalidInput {
                    field: "plan",
                    code: "invalid_choice",
                    message: "must be one of: pro, premium, lifetime",
                });
            })
            .ok()
    });
    let status = status.and_then(|w| {
        cl_billing::subscription::SubscriptionStatus::parse(w)
            .map_err(|_| {
                errors.push(InvalidInput {
                    field: "status",
                    code: "invalid_choice",
                    message: "must be one of: active, expired, cancelled, suspended",
                });
            })
            .ok()
    });
    if errors.is_empty() {
        Ok(SubscriptionFilter {
            plan,
            status,
            expiring: None,
        })
    } else {
        Err(StatsOpError::Invalid(errors))
    }
}

/// The admin's global stats.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminStats {
    /// Table counts.
    pub counts: AdminCounts,
    /// The premium-wide analytics (every symbol), from the cache.
    pub analytics: Analytics,
    /// The window of `counts.expiring` / `users_new`, in days.
    pub window_days: u32,
}

/// The settings and when they last changed.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsView {
    /// The typed settings.
    pub settings: GlobalSettings,
    /// The newest `updated_at` of the rows (`None`: never written since the seed).
    pub updated_at: Option<i64>,
}

/// The stats use cases over a store and a clock.
pub struct StatsService<'a, S, C> {
    store: &'a S,
    clock: &'a C,
}

/// The window of the admin stats' "new users" and "expiring" figures.
pub const ADMIN_WINDOW_DAYS: u32 = 7;

impl<'a, S: StatsStore, C: Clock> StatsService<'a, S, C> {
    /// A service over these ports.
    pub fn new(store: &'a S, clock: &'a C) -> Self {
        Self { store, clock }
    }

    fn admin(auth: &Authenticated) -> Result<(), StatsOpError> {
        if auth.user().is_admin {
            Ok(())
        } else {
            Err(StatsOpError::NotAdmin)
        }
    }

    async fn entry(&self, key: &str) -> Result<Option<Analytics>, StatsOpError> {
        let Some(e) = self.store.cached_stats(key).await? else {
            return Ok(None);
        };
        serde_json::from_str(&e.data)
            .map(Some)
            .map_err(|_| StoreError::corrupt("stats_cache", None, "analytics entry").into())
    }

    /// The analytics the caller may see: their tier's global entry, or one symbol's.
    ///
    /// # Errors
    /// `Tier` (free, or a symbol above the tier); `NotFound` (no entry for the symbol);
    /// store failures.
    pub async fn analytics(
        &self,
        access: &Access,
        symbol: Option<&str>,
    ) -> Result<Analytics, StatsOpError> {
        access.require_analytics()?;
        match symbol {
            Some(name) => {
                access.require_symbol(name)?;
                self.entry(&symbol_key(name))
                    .await?
                    .ok_or(StatsOpError::NotFound)
            }
            None => {
                // Admins (no view-as) and premium read the premium-wide entry.
                let tier = if access.tier >= Tier::Premium {
                    Tier::Premium
                } else {
                    Tier::Pro
                };
                Ok(self
                    .entry(&tier_key(tier))
                    .await?
                    .unwrap_or_else(|| Analytics::empty(tier.as_str())))
            }
        }
    }

    /// The admin's global stats.
    ///
    /// # Errors
    /// `NotAdmin`; store failures.
    pub async fn admin_stats(&self, auth: &Authenticated) -> Result<AdminStats, StatsOpError> {
        Self::admin(auth)?;
        let now = self.clock.now_ms();
        let window = i64::from(ADMIN_WINDOW_DAYS) * DAY_MS;
        let counts = self
            .store
            .admin_counts(now, now - window, now + window)
            .await?;
        let analytics = self
            .entry(&tier_key(Tier::Premium))
            .await?
            .unwrap_or_else(|| Analytics::empty(Tier::Premium.as_str()));
        Ok(AdminStats {
            counts,
            analytics,
            window_days: ADMIN_WINDOW_DAYS,
        })
    }

    /// Subscriptions, newest first; `expiring_within_days` keeps rows expiring from now to
    /// `now + days`.
    ///
    /// # Errors
    /// `NotAdmin`; store failures.
    pub async fn subscriptions(
        &self,
        auth: &Authenticated,
        mut filter: SubscriptionFilter,
        expiring_within_days: Option<u32>,
        page: PageRequest,
    ) -> Result<Page<AdminSubscriptionRow>, StatsOpError> {
        Self::admin(auth)?;
        if let Some(days) = expiring_within_days {
            let now = self.clock.now_ms();
            let days = i64::from(days.min(MAX_EXPIRING_DAYS));
            filter.expiring = Some((now, now + days * DAY_MS));
        }
        Ok(self.store.admin_subscriptions(&filter, page).await?)
    }

    /// The global settings.
    ///
    /// # Errors
    /// `NotAdmin`; store failures.
    pub async fn settings(&self, auth: &Authenticated) -> Result<SettingsView, StatsOpError> {
        Self::admin(auth)?;
        let rows = self.store.settings().await?;
        Ok(SettingsView {
            settings: GlobalSettings::from_rows(&rows),
            updated_at: rows.iter().map(|r| r.updated_at).filter(|t| *t > 0).max(),
        })
    }

    /// Applies a change: validates every field, then writes the changed keys and the audit
    /// row (`settings.update`, details = the changed keys) atomically. No change, no write.
    ///
    /// # Errors
    /// `NotAdmin`; `Invalid` (nothing written); store failures.
    pub async fn update_settings(
        &self,
        auth: &Authenticated,
        ctx: &AuditContext,
        patch: &SettingsPatch,
    ) -> Result<SettingsView, StatsOpError> {
        let before = self.settings(auth).await?;
        let after = before
            .settings
            .apply(patch)
            .map_err(StatsOpError::Invalid)?;
        let changed = after.changed(&before.settings);
        if changed.is_empty() {
            return Ok(before);
        }
        let now = self.clock.now_ms();
        let names: Vec<&str> = changed.iter().map(|(k, _)| k.as_str()).collect();
        let details = serde_json::json!({ "changed": names }).to_string();
        let audit = NewAuditEntry {
            actor: Some(auth.user().id),
            action: "settings.update".to_owned(),
            target: "settings:global".to_owned(),
            details: Some(details),
            ip: ctx.ip.clone().map(|ip| ip.chars().take(64).collect()),
            request_id: Some(ctx.request_id.chars().take(64).collect()),
            at: now,
        };
        self.store
            .put_settings(&changed, auth.user().id, now, &audit)
            .await?;
        Ok(SettingsView {
            settings: after,
            updated_at: Some(now),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::stats::{PatternCount, SignalCount};

    fn pc(sym: i64, ty: PatternType, status: PatternStatus, n: u64) -> PatternCount {
        PatternCount {
            symbol: SymbolId(sym),
            tf: Timeframe::H1,
            pattern_type: ty,
            direction: Direction::Bullish,
            status,
            count: n,
        }
    }

    #[test]
    fn tier_entries_only_hold_their_tiers_symbols() {
        let symbols = vec![
            (SymbolId(1), "BTC/USDT".to_owned()),
            (SymbolId(2), "ZZZ/USDT".to_owned()),
        ];
        let counts = AnalyticsCounts {
            patterns: vec![
                pc(1, PatternType::Imbalance, PatternStatus::Filled, 3),
                pc(1, PatternType::Imbalance, PatternStatus::Expired, 1),
                pc(2, PatternType::OrderBlock, PatternStatus::Active, 5),
                pc(9, PatternType::OrderBlock, PatternStatus::Active, 7),
            ],
            signals: vec![SignalCount {
                symbol: SymbolId(2),
                status: SignalStatus::Closed,
                count: 2,
            }],
        };
        let entries = analytics_entries(&symbols, &counts, 42);
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "analytics:pro",
                "analytics:premium",
                "analytics:symbol:BTC/USDT",
                "analytics:symbol:ZZZ/USDT"
            ]
        );
        let read = |i: usize| serde_json::from_str::<Analytics>(&entries[i].data).unwrap();
        let pro = read(0);
        assert_eq!(pro.patterns.total, 4);
        assert_eq!(pro.signals_total, 0);
        assert_eq!(pro.rates.fill, Some(0.75));
        assert_eq!(pro.rates.expiry, Some(0.25));
        assert_eq!(pro.rates.invalidation, Some(0.0));
        let premium = read(1);
        assert_eq!(premium.patterns.total, 9);
        assert_eq!(premium.patterns.active, 5);
        assert_eq!(premium.signals_total, 2);
        let ob = premium
            .by_type
            .iter()
            .find(|r| r.key == "order_block")
            .unwrap();
        assert_eq!(ob.total, 5);
        assert_eq!(premium.by_tf.len(), 8);
        let zzz = read(3);
        assert_eq!(zzz.rates.fill, None);
        assert_eq!(zzz.computed_at, Some(42));
    }
}
