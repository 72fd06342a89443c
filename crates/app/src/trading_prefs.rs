//! What a user's trading preferences drive (product.md §7 and §8, detection.md §6).
//!
//! Design:
//! - The stored preferences (`users.risk_per_trade`, `users.default_rr`, written through
//!   `/me/preferences/trading`) are read ONCE per request with [`effective_prefs`] and resolved
//!   into [`EffectivePrefs`] under one tier rule: they count while the caller's tier has risk
//!   settings (pro+, `Limits::risk_settings`, the tier that may edit them); below that, or
//!   unset, the defaults apply. A caller without that tier costs no store read.
//! - Risk per trade % → the quantity of a trade prefilled from a pattern or a signal
//!   (`balance × risk% / |entry − SL|`, default 1 %). The prefilled take-profit is the source's
//!   TP1 (product.md §7), so the default R:R does not change it.
//! - Default R:R → a signal as that user sees it: detection.md §6 makes signals with "settings
//!   per user, with global defaults" and TP3 = `default_rr`·R, risk_reward = `default_rr`. The
//!   stored row holds the global levels; [`EffectivePrefs::signal`] re-targets TP3 and the R:R
//!   from the stored entry and stop (R = |entry − stop|, the stop already floored). TP1, TP2,
//!   entry and stop are not preference-driven. Unset → the stored row (the global setting).
//! - Optimizer-tuned params (per symbol, type and TF: rr, SL buffer, expiry multiplier) are
//!   backtest parameters (detection.md §8): they prefill the backtest form (product.md §8) and
//!   change no signal.

use cl_domain::Direction;

use crate::policy::Access;
use crate::ports::optimization::{RiskPerTradePct, TradingPrefs, TradingPrefsStore};
use crate::ports::{StoreError, StoredSignal, UserId};

/// The preferences that apply to one caller, after the tier rule and the defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EffectivePrefs {
    risk_per_trade_pct: f64,
    default_rr: Option<f64>,
}

impl Default for EffectivePrefs {
    fn default() -> Self {
        Self::DEFAULTS
    }
}

impl EffectivePrefs {
    /// No preference: 1 % risk, the signals' stored (global) R:R.
    pub const DEFAULTS: Self = Self {
        risk_per_trade_pct: RiskPerTradePct::DEFAULT,
        default_rr: None,
    };

    /// The stored preferences (`None`: unknown user) as they apply under `access`: only a tier
    /// with risk settings uses them.
    pub fn resolve(stored: Option<TradingPrefs>, access: &Access) -> Self {
        match stored {
            Some(p) if access.limits.risk_settings => Self {
                risk_per_trade_pct: p
                    .risk_per_trade_pct
                    .map_or(RiskPerTradePct::DEFAULT, RiskPerTradePct::get),
                default_rr: p.default_rr.map(|r| r.get()),
            },
            _ => Self::DEFAULTS,
        }
    }

    /// Risk per trade, % of the balance.
    pub const fn risk_per_trade_pct(&self) -> f64 {
        self.risk_per_trade_pct
    }

    /// The user's own default R:R (`None`: the global one the signals were made with).
    pub const fn default_rr(&self) -> Option<f64> {
        self.default_rr
    }

    /// `s` as this user sees it: TP3 = entry ± `default_rr`·R and risk_reward = `default_rr`
    /// (R = |entry − stop|); unchanged without a preference.
    pub fn signal(&self, s: &StoredSignal) -> StoredSignal {
        let mut out = s.clone();
        if let Some(rr) = self.default_rr {
            let sign = match s.direction {
                Direction::Bullish => 1.0,
                Direction::Bearish => -1.0,
            };
            let risk = (s.entry - s.stop_loss).abs();
            out.tp3 = s.entry + sign * rr * risk;
            out.risk_reward = rr;
        }
        out
    }
}

/// The caller's effective preferences: ONE store read, and none when the tier has no risk
/// settings or there is no user (anonymous reads).
///
/// # Errors
/// The store's `Unavailable` / `Corrupt`.
pub async fn effective_prefs<S: TradingPrefsStore>(
    store: &S,
    user: Option<UserId>,
    access: &Access,
) -> Result<EffectivePrefs, StoreError> {
    match user {
        Some(user) if access.limits.risk_settings => Ok(EffectivePrefs::resolve(
            store.trading_prefs(user).await?,
            access,
        )),
        _ => Ok(EffectivePrefs::DEFAULTS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Limits, Tier};
    use crate::ports::optimization::DefaultRr;
    use crate::ports::{SignalId, SignalStatus, SymbolId};

    fn access(tier: Tier) -> Access {
        Access {
            tier,
            limits: Limits::for_tier(tier),
            is_admin: false,
            viewing_as: None,
        }
    }

    fn stored(risk: f64, rr: f64) -> Option<TradingPrefs> {
        Some(TradingPrefs {
            risk_per_trade_pct: RiskPerTradePct::new(risk).ok(),
            default_rr: DefaultRr::new(rr).ok(),
        })
    }

    fn signal(direction: Direction, entry: f64, stop: f64) -> StoredSignal {
        StoredSignal {
            id: SignalId(1),
            symbol: SymbolId(1),
            direction,
            entry,
            stop_loss: stop,
            tp1: 0.0,
            tp2: 0.0,
            tp3: 0.0,
            risk_reward: 3.0,
            confluence_score: 4,
            timeframes_aligned: Vec::new(),
            pattern_id: None,
            status: SignalStatus::Pending,
            created_at: 0,
            notified_at: None,
        }
    }

    #[test]
    fn stored_values_count_only_with_risk_settings() {
        let pro = EffectivePrefs::resolve(stored(2.0, 4.5), &access(Tier::Pro));
        assert_eq!(
            (pro.risk_per_trade_pct(), pro.default_rr()),
            (2.0, Some(4.5))
        );
        let free = EffectivePrefs::resolve(stored(2.0, 4.5), &access(Tier::Free));
        assert_eq!(free, EffectivePrefs::DEFAULTS);
        let unset = EffectivePrefs::resolve(Some(TradingPrefs::default()), &access(Tier::Premium));
        assert_eq!(
            (unset.risk_per_trade_pct(), unset.default_rr()),
            (1.0, None)
        );
        assert_eq!(
            EffectivePrefs::resolve(None, &access(Tier::Premium)),
            EffectivePrefs::DEFAULTS
        );
    }

    #[test]
    fn default_rr_retargets_tp3_and_the_ratio_only() {
        let p = EffectivePrefs::resolve(stored(1.0, 4.5), &access(Tier::Pro));
        let mut long = signal(Direction::Bullish, 100.0, 98.0);
        long.tp1 = 102.0;
        long.tp2 = 104.0;
        let seen = p.signal(&long);
        assert_eq!((seen.tp3, seen.risk_reward), (109.0, 4.5));
        assert_eq!(
            (seen.entry, seen.stop_loss, seen.tp1, seen.tp2),
            (100.0, 98.0, 102.0, 104.0)
        );
        let short = p.signal(&signal(Direction::Bearish, 100.0, 102.0));
        assert_eq!((short.tp3, short.risk_reward), (91.0, 4.5));
        // No preference: the stored (global) levels.
        assert_eq!(EffectivePrefs::DEFAULTS.signal(&long), long);
    }
}
