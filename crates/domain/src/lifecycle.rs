//! Stored patterns and their lifecycle in the live pipeline (detection.md §4): the rescan
//! window (§4.2), the live dedup against active patterns (§4.3), new patterns (§4.4), status
//! and fill updates against the last close (§4.5) and expiry (§4.7).
//!
//! # Status rules and their mirrors (§4.5)
//! With `p` the run's last close and `size = zone_high − zone_low`:
//!
//! | type | direction | filled (100%, `filled_at = now`) | active | else |
//! |---|---|---|---|---|
//! | imbalance, order_block | bullish | `p ≤ zone_low` | `p ≤ zone_high`: fill = `(zone_high − p)/size·100` | active 0% |
//! | imbalance, order_block | bearish | `p ≥ zone_high` | `p ≥ zone_low`: fill = `(p − zone_low)/size·100` | active 0% |
//! | liquidity_sweep | bullish | `p > zone_high + 2·size` | otherwise, 50% | `p < zone_low − size`: invalidated 0% |
//! | liquidity_sweep | bearish | `p < zone_low − 2·size` | otherwise, 50% | `p > zone_high + size`: invalidated 0% |
//!
//! A bullish gap or block waits below price and fills as price falls into it; a bearish one
//! waits above and fills as price rises into it, so the mirror swaps `low`/`high` and the
//! comparison. A bullish sweep expects a rise: it fails when price falls a zone size below
//! the zone and completes when price rises two sizes above it; the bearish sweep mirrors that.
//!
//! Only `active` patterns are updated or expired: `filled`, `invalidated` and `expired` are
//! terminal, and [`Pattern::apply_price`] / [`Pattern::expire`] leave them untouched.

use serde::Serialize;

use crate::levels::TradingLevels;
use crate::{Detection, Direction, PatternStatus, PatternType, Timeframe, Zone};

/// §4.2: at least this many candles are rescanned per TF.
pub const RESCAN_MIN_CANDLES: usize = 50;

/// §4.2: 1m candles of context added to the new ones before converting to the TF.
pub const RESCAN_CONTEXT_1M: usize = 50;

/// §4.2: extra TF candles added on top of the converted count.
pub const RESCAN_MARGIN: usize = 10;

/// Fill percentage of a pattern that price went through.
pub const FULL_FILL_PCT: f64 = 100.0;

/// Fill percentage reported for an active liquidity sweep (§4.5).
pub const SWEEP_ACTIVE_FILL_PCT: f64 = 50.0;

/// A sweep is invalidated when price goes this many zone sizes against it (§4.5).
pub const SWEEP_INVALIDATION_SIZES: f64 = 1.0;

/// A sweep is filled when price goes this many zone sizes in its favour (§4.5).
pub const SWEEP_FILL_SIZES: f64 = 2.0;

/// Number of TF candles to load for detection in a run that stored `new_1m` new 1m candles
/// (§4.2): `max(50, floor((new_1m + 50) / tf_minutes) + 10)`.
pub fn rescan_window(tf: Timeframe, new_1m: usize) -> usize {
    // `minutes()` is a positive constant for every TF.
    let minutes = usize::try_from(tf.minutes()).unwrap_or(1).max(1);
    let converted = new_1m.saturating_add(RESCAN_CONTEXT_1M) / minutes;
    converted
        .saturating_add(RESCAN_MARGIN)
        .max(RESCAN_MIN_CANDLES)
}

/// The unique key of a stored pattern (§4.4, fixed to include the direction).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PatternKey {
    /// Canonical symbol, e.g. `BTC/USDT`.
    pub symbol: String,
    /// Timeframe.
    pub timeframe: Timeframe,
    /// Pattern type.
    pub pattern_type: PatternType,
    /// Direction.
    pub direction: Direction,
    /// Detection time, UTC ms.
    pub detected_at: i64,
}

/// A pattern about to be stored (§4.4): everything but the id the store assigns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewPattern {
    /// Canonical symbol, e.g. `BTC/USDT`.
    pub symbol: String,
    /// Timeframe it was detected on.
    pub timeframe: Timeframe,
    /// Pattern type.
    pub pattern_type: PatternType,
    /// Direction.
    pub direction: Direction,
    /// The zone.
    pub zone: Zone,
    /// For sweeps, the swept swing price.
    pub swept_level: Option<f64>,
    /// Detection time (candle open time), UTC ms.
    pub detected_at: i64,
    /// `detected_at` + the TF's expiry (§4.7).
    pub expires_at: i64,
    /// Always `active` for a new pattern.
    pub status: PatternStatus,
    /// Always 0 for a new pattern.
    pub fill_pct: f64,
    /// Always `None` for a new pattern.
    pub filled_at: Option<i64>,
    /// Trading levels (§5).
    pub levels: TradingLevels,
}

impl NewPattern {
    /// A new `active` pattern with fill 0% and `expires_at = detected_at + expiry(tf)`.
    pub fn from_detection(
        symbol: &str,
        timeframe: Timeframe,
        detection: &Detection,
        levels: TradingLevels,
    ) -> Self {
        Self {
            symbol: symbol.to_owned(),
            timeframe,
            pattern_type: detection.pattern_type,
            direction: detection.direction,
            zone: detection.zone,
            swept_level: detection.swept_level,
            detected_at: detection.detected_at,
            expires_at: detection.detected_at.saturating_add(timeframe.expiry_ms()),
            status: PatternStatus::Active,
            fill_pct: 0.0,
            filled_at: None,
            levels,
        }
    }

    /// The unique key of this pattern.
    pub fn key(&self) -> PatternKey {
        PatternKey {
            symbol: self.symbol.clone(),
            timeframe: self.timeframe,
            pattern_type: self.pattern_type,
            direction: self.direction,
            detected_at: self.detected_at,
        }
    }

    /// The stored pattern once the store has assigned `id`.
    pub fn with_id(self, id: i64) -> Pattern {
        Pattern {
            id,
            symbol: self.symbol,
            timeframe: self.timeframe,
            pattern_type: self.pattern_type,
            direction: self.direction,
            zone: self.zone,
            swept_level: self.swept_level,
            detected_at: self.detected_at,
            expires_at: self.expires_at,
            status: self.status,
            fill_pct: self.fill_pct,
            filled_at: self.filled_at,
            levels: self.levels,
        }
    }
}

/// A stored pattern.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pattern {
    /// Store id; ids follow the storing order.
    pub id: i64,
    /// Canonical symbol, e.g. `BTC/USDT`.
    pub symbol: String,
    /// Timeframe it was detected on.
    pub timeframe: Timeframe,
    /// Pattern type.
    pub pattern_type: PatternType,
    /// Direction.
    pub direction: Direction,
    /// The zone.
    pub zone: Zone,
    /// For sweeps, the swept swing price.
    pub swept_level: Option<f64>,
    /// Detection time (candle open time), UTC ms.
    pub detected_at: i64,
    /// When it expires if still active (§4.7), UTC ms.
    pub expires_at: i64,
    /// Lifecycle status.
    pub status: PatternStatus,
    /// Fill percentage in `[0, 100]`.
    pub fill_pct: f64,
    /// When it was filled, UTC ms.
    pub filled_at: Option<i64>,
    /// Trading levels (§5).
    pub levels: TradingLevels,
}

/// The result of checking a pattern against a price (§4.5), before it is applied.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evaluation {
    /// The new status: `active`, `filled` or `invalidated`.
    pub status: PatternStatus,
    /// The new fill percentage in `[0, 100]`.
    pub fill_pct: f64,
}

impl Evaluation {
    const fn active(fill_pct: f64) -> Self {
        Self {
            status: PatternStatus::Active,
            fill_pct,
        }
    }
    const FILLED: Self = Self {
        status: PatternStatus::Filled,
        fill_pct: FULL_FILL_PCT,
    };
    const INVALIDATED: Self = Self {
        status: PatternStatus::Invalidated,
        fill_pct: 0.0,
    };
}

/// The §4.5 rule for an active pattern of this type, direction and zone at price `p`.
///
/// A NaN price matches no comparison and leaves gaps and blocks active at 0%, sweeps at 50%.
pub fn evaluate(
    pattern_type: PatternType,
    direction: Direction,
    zone: &Zone,
    p: f64,
) -> Evaluation {
    let (low, high, size) = (zone.low(), zone.high(), zone.size());
    match (pattern_type, direction) {
        (PatternType::Imbalance | PatternType::OrderBlock, Direction::Bullish) => {
            if p <= low {
                Evaluation::FILLED
            } else if p <= high {
                // low < p ≤ high, so size > 0 and the ratio lies in [0, 1).
                Evaluation::active(((high - p) / size * FULL_FILL_PCT).clamp(0.0, FULL_FILL_PCT))
            } else {
                Evaluation::active(0.0)
            }
        }
        (PatternType::Imbalance | PatternType::OrderBlock, Direction::Bearish) => {
            if p >= high {
                Evaluation::FILLED
            } else if p >= low {
                Evaluation::active(((p - low) / size * FULL_FILL_PCT).clamp(0.0, FULL_FILL_PCT))
            } else {
                Evaluation::active(0.0)
            }
        }
        (PatternType::LiquiditySweep, Direction::Bullish) => {
            if p < low - SWEEP_INVALIDATION_SIZES * size {
                Evaluation::INVALIDATED
            } else if p > high + SWEEP_FILL_SIZES * size {
                Evaluation::FILLED
            } else {
                Evaluation::active(SWEEP_ACTIVE_FILL_PCT)
            }
        }
        (PatternType::LiquiditySweep, Direction::Bearish) => {
            if p > high + SWEEP_INVALIDATION_SIZES * size {
                Evaluation::INVALIDATED
            } else if p < low - SWEEP_FILL_SIZES * size {
                Evaluation::FILLED
            } else {
                Evaluation::active(SWEEP_ACTIVE_FILL_PCT)
            }
        }
    }
}

impl Pattern {
    /// The unique key of this pattern.
    pub fn key(&self) -> PatternKey {
        PatternKey {
            symbol: self.symbol.clone(),
            timeframe: self.timeframe,
            pattern_type: self.pattern_type,
            direction: self.direction,
            detected_at: self.detected_at,
        }
    }

    /// Whether the status is `active`.
    pub fn is_active(&self) -> bool {
        self.status == PatternStatus::Active
    }

    /// The order "most recent" uses in votes, the matrix and signal sources (§6, §7): greater
    /// `detected_at` first, ties broken by the higher id.
    pub fn recency(&self) -> (i64, i64) {
        (self.detected_at, self.id)
    }

    /// Applies §4.5 against the last close `p` at time `now`. Only an `active` pattern changes;
    /// it becomes `filled` (100%, `filled_at = now`), `invalidated` (0%) or stays active with a
    /// new fill. Returns whether the status or fill changed.
    pub fn apply_price(&mut self, p: f64, now: i64) -> bool {
        if !self.is_active() {
            return false;
        }
        let e = evaluate(self.pattern_type, self.direction, &self.zone, p);
        let changed = e.status != self.status || e.fill_pct != self.fill_pct;
        self.status = e.status;
        self.fill_pct = e.fill_pct;
        if e.status == PatternStatus::Filled {
            self.filled_at = Some(now);
        }
        changed
    }

    /// Whether an active pattern is past its expiry at `now` (§4.7: `expires_at < now`).
    pub fn is_expired_at(&self, now: i64) -> bool {
        self.is_active() && self.expires_at < now
    }

    /// Marks an active pattern with `expires_at < now` as `expired`, keeping its fill.
    /// Returns whether it expired.
    pub fn expire(&mut self, now: i64) -> bool {
        let expired = self.is_expired_at(now);
        if expired {
            self.status = PatternStatus::Expired;
        }
        expired
    }
}

/// The most recent (greatest `(detected_at, id)`) pattern among `patterns` matching `keep`.
pub(crate) fn latest<'a>(
    patterns: impl IntoIterator<Item = &'a Pattern>,
    mut keep: impl FnMut(&Pattern) -> bool,
) -> Option<&'a Pattern> {
    patterns
        .into_iter()
        .filter(|p| keep(p))
        .max_by_key(|p| p.recency())
}

/// One candidate for the live dedup (§4.3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DedupCandidate<'a> {
    /// Canonical symbol.
    pub symbol: &'a str,
    /// Timeframe.
    pub timeframe: Timeframe,
    /// Pattern type.
    pub pattern_type: PatternType,
    /// Direction.
    pub direction: Direction,
    /// The candidate's zone.
    pub zone: &'a Zone,
}

/// Whether `candidate` is dropped by the live dedup (§4.3): its overlap with some ACTIVE
/// pattern in `stored` of the same symbol, TF, type and direction is at least the TF's
/// threshold. Patterns of other symbols, TFs, types or directions, and non-active ones, are
/// ignored.
pub fn is_live_duplicate(candidate: &DedupCandidate<'_>, stored: &[Pattern]) -> bool {
    let threshold = candidate.timeframe.live_dedup_threshold();
    stored.iter().any(|p| {
        p.is_active()
            && p.symbol == candidate.symbol
            && p.timeframe == candidate.timeframe
            && p.pattern_type == candidate.pattern_type
            && p.direction == candidate.direction
            && p.zone.overlap(candidate.zone) >= threshold
    })
}

/// The live dedup and insert-if-absent of §4.3–§4.4 for one symbol and TF, as a pure function.
///
/// `candidates` are the raw detections in checking order (imbalance, order_block,
/// liquidity_sweep, each in emission order); `active` are the stored patterns at the start of
/// the run (non-active ones and other symbols/TFs are ignored); `exists` answers whether a key
/// is already stored (any status). Returns the detections to store, in storing order.
///
/// A candidate that survives the dedup but whose key already exists is not stored, so it does
/// not count against later candidates; every candidate that is stored does (fixed).
pub fn select_new<'d>(
    symbol: &str,
    timeframe: Timeframe,
    candidates: &'d [Detection],
    active: &[Pattern],
    mut exists: impl FnMut(&PatternKey) -> bool,
) -> Vec<&'d Detection> {
    let threshold = timeframe.live_dedup_threshold();
    let mut stored: Vec<&'d Detection> = Vec::new();
    for d in candidates {
        let candidate = DedupCandidate {
            symbol,
            timeframe,
            pattern_type: d.pattern_type,
            direction: d.direction,
            zone: &d.zone,
        };
        if is_live_duplicate(&candidate, active) {
            continue;
        }
        let dup_of_this_run = stored.iter().any(|s| {
            s.pattern_type == d.pattern_type
                && s.direction == d.direction
                && s.zone.overlap(&d.zone) >= threshold
        });
        if dup_of_this_run {
            continue;
        }
        let key = PatternKey {
            symbol: symbol.to_owned(),
            timeframe,
            pattern_type: d.pattern_type,
            direction: d.direction,
            detected_at: d.detected_at,
        };
        let same_key_this_run = stored.iter().any(|s| {
            s.pattern_type == d.pattern_type
                && s.direction == d.direction
                && s.detected_at == d.detected_at
        });
        if same_key_this_run || exists(&key) {
            continue;
        }
        stored.push(d);
    }
    stored
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::levels::{trading_levels, LevelInputs};
    use proptest::prelude::*;

    const HOUR: i64 = 3_600_000;

    pub(crate) fn zone(low: f64, high: f64) -> Zone {
        Zone::new(low, high).unwrap()
    }

    pub(crate) fn detection(
        detected_at: i64,
        pattern_type: PatternType,
        direction: Direction,
        low: f64,
        high: f64,
    ) -> Detection {
        Detection {
            index: 0,
            detected_at,
            pattern_type,
            direction,
            zone: zone(low, high),
            swept_level: None,
        }
    }

    /// An active pattern for tests.
    pub(crate) fn pattern(
        id: i64,
        tf: Timeframe,
        pattern_type: PatternType,
        direction: Direction,
        low: f64,
        high: f64,
        detected_at: i64,
    ) -> Pattern {
        let d = detection(detected_at, pattern_type, direction, low, high);
        let inputs = LevelInputs {
            atr: 0.0,
            swing_high: None,
            swing_low: None,
        };
        let levels = trading_levels(pattern_type, direction, &d.zone, &inputs);
        NewPattern::from_detection("BTC/USDT", tf, &d, levels).with_id(id)
    }

    fn gap(direction: Direction) -> Pattern {
        pattern(
            1,
            Timeframe::H1,
            PatternType::Imbalance,
            direction,
            100.0,
            110.0,
            0,
        )
    }

    fn sweep(direction: Direction) -> Pattern {
        pattern(
            1,
            Timeframe::H1,
            PatternType::LiquiditySweep,
            direction,
            100.0,
            110.0,
            0,
        )
    }

    #[test]
    fn the_rescan_window_is_at_least_fifty_candles() {
        assert_eq!(rescan_window(Timeframe::H1, 0), 50);
        assert_eq!(rescan_window(Timeframe::D1, 100_000), 79);
    }

    #[test]
    fn the_rescan_window_converts_new_minutes_plus_fifty_into_the_tf() {
        // 1m: 100 + 50 + 10 = 160. 5m: floor(150 / 5) + 10 = 40 → 50. 5m with 1000 new:
        // floor(1050 / 5) + 10 = 220. 15m with 1000: floor(1050 / 15) + 10 = 80.
        assert_eq!(rescan_window(Timeframe::M1, 100), 160);
        assert_eq!(rescan_window(Timeframe::M5, 100), 50);
        assert_eq!(rescan_window(Timeframe::M5, 1_000), 220);
        assert_eq!(rescan_window(Timeframe::M15, 1_000), 80);
        // floor: 1049 / 15 = 69.93 → 69 + 10.
        assert_eq!(rescan_window(Timeframe::M15, 999), 79);
    }

    #[test]
    fn a_new_pattern_is_active_unfilled_and_expires_after_its_tf_expiry() {
        let p = pattern(
            7,
            Timeframe::M5,
            PatternType::Imbalance,
            Direction::Bullish,
            1.0,
            2.0,
            1_000,
        );
        assert_eq!(p.id, 7);
        assert_eq!(p.status, PatternStatus::Active);
        assert_eq!(p.fill_pct, 0.0);
        assert_eq!(p.filled_at, None);
        assert_eq!(p.expires_at, 1_000 + 12 * HOUR);
    }

    #[test]
    fn a_bullish_gap_is_filled_when_price_reaches_exactly_its_low() {
        let mut p = gap(Direction::Bullish);
        assert!(p.apply_price(100.0, 5));
        assert_eq!(
            (p.status, p.fill_pct, p.filled_at),
            (PatternStatus::Filled, 100.0, Some(5))
        );
    }

    #[test]
    fn a_bullish_gap_fills_partially_from_the_top() {
        let mut p = gap(Direction::Bullish);
        p.apply_price(107.5, 5);
        assert_eq!(
            (p.status, p.fill_pct, p.filled_at),
            (PatternStatus::Active, 25.0, None)
        );
        // Exactly at the high: 0% but inside the zone.
        p.apply_price(110.0, 6);
        assert_eq!((p.status, p.fill_pct), (PatternStatus::Active, 0.0));
        p.apply_price(100.5, 7);
        assert_eq!(p.fill_pct, 95.0);
    }

    #[test]
    fn a_bullish_gap_above_price_stays_active_at_zero_and_fill_can_recede() {
        let mut p = gap(Direction::Bullish);
        p.apply_price(105.0, 5);
        assert_eq!(p.fill_pct, 50.0);
        assert!(p.apply_price(120.0, 6));
        assert_eq!((p.status, p.fill_pct), (PatternStatus::Active, 0.0));
    }

    #[test]
    fn a_bearish_gap_mirrors_the_bullish_one() {
        let mut p = gap(Direction::Bearish);
        p.apply_price(95.0, 1);
        assert_eq!((p.status, p.fill_pct), (PatternStatus::Active, 0.0));
        p.apply_price(100.0, 2);
        assert_eq!((p.status, p.fill_pct), (PatternStatus::Active, 0.0));
        p.apply_price(102.5, 3);
        assert_eq!((p.status, p.fill_pct), (PatternStatus::Active, 25.0));
        p.apply_price(110.0, 4);
        assert_eq!(
            (p.status, p.fill_pct, p.filled_at),
            (PatternStatus::Filled, 100.0, Some(4))
        );
    }

    #[test]
    fn order_blocks_follow_the_same_fill_rule_as_gaps() {
        let mut bull = pattern(
            1,
            Timeframe::H4,
            PatternType::OrderBlock,
            Direction::Bullish,
            100.0,
            110.0,
            0,
        );
        bull.apply_price(102.0, 1);
        assert_eq!((bull.status, bull.fill_pct), (PatternStatus::Active, 80.0));
        bull.apply_price(99.0, 2);
        assert_eq!(bull.status, PatternStatus::Filled);
        let mut bear = pattern(
            2,
            Timeframe::H4,
            PatternType::OrderBlock,
            Direction::Bearish,
            100.0,
            110.0,
            0,
        );
        bear.apply_price(108.0, 1);
        assert_eq!((bear.status, bear.fill_pct), (PatternStatus::Active, 80.0));
        bear.apply_price(111.0, 2);
        assert_eq!(bear.status, PatternStatus::Filled);
    }

    #[test]
    fn a_bullish_sweep_is_invalidated_only_strictly_below_low_minus_size() {
        // zone [100, 110], size 10: invalidation below 90, fill above 130.
        let mut p = sweep(Direction::Bullish);
        p.apply_price(90.0, 1);
        assert_eq!((p.status, p.fill_pct), (PatternStatus::Active, 50.0));
        p.apply_price(89.99, 2);
        assert_eq!(
            (p.status, p.fill_pct, p.filled_at),
            (PatternStatus::Invalidated, 0.0, None)
        );
    }

    #[test]
    fn a_bullish_sweep_is_filled_only_strictly_above_high_plus_two_sizes() {
        let mut p = sweep(Direction::Bullish);
        p.apply_price(130.0, 1);
        assert_eq!((p.status, p.fill_pct), (PatternStatus::Active, 50.0));
        p.apply_price(130.01, 2);
        assert_eq!(
            (p.status, p.fill_pct, p.filled_at),
            (PatternStatus::Filled, 100.0, Some(2))
        );
    }

    #[test]
    fn a_bearish_sweep_mirrors_the_thresholds() {
        // Invalidated above 110 + 10 = 120; filled below 100 − 20 = 80.
        let mut p = sweep(Direction::Bearish);
        p.apply_price(120.0, 1);
        assert_eq!(p.status, PatternStatus::Active);
        p.apply_price(80.0, 1);
        assert_eq!((p.status, p.fill_pct), (PatternStatus::Active, 50.0));
        let mut filled = p.clone();
        filled.apply_price(79.99, 2);
        assert_eq!(
            (filled.status, filled.filled_at),
            (PatternStatus::Filled, Some(2))
        );
        p.apply_price(120.01, 3);
        assert_eq!((p.status, p.fill_pct), (PatternStatus::Invalidated, 0.0));
    }

    #[test]
    fn a_terminal_pattern_is_never_updated_again() {
        let mut p = gap(Direction::Bullish);
        p.apply_price(90.0, 5);
        assert!(!p.apply_price(120.0, 6));
        assert_eq!(
            (p.status, p.fill_pct, p.filled_at),
            (PatternStatus::Filled, 100.0, Some(5))
        );
        assert!(!p.expire(i64::MAX));
        assert_eq!(p.status, PatternStatus::Filled);
    }

    #[test]
    fn a_pattern_expires_only_after_expires_at() {
        let mut p = gap(Direction::Bullish);
        p.apply_price(105.0, 1);
        let at = p.expires_at;
        assert!(!p.expire(at));
        assert_eq!(p.status, PatternStatus::Active);
        assert!(p.expire(at + 1));
        assert_eq!((p.status, p.fill_pct), (PatternStatus::Expired, 50.0));
    }

    #[test]
    fn the_live_dedup_drops_a_candidate_at_exactly_the_tf_threshold() {
        // 1h threshold 0.70: [100, 110] vs [103, 113] overlaps 7/10 = 0.70 → dropped;
        // [104, 114] overlaps 0.60 → kept.
        let active = [gap(Direction::Bullish)];
        let z70 = zone(103.0, 113.0);
        let z60 = zone(104.0, 114.0);
        let c = |z| DedupCandidate {
            symbol: "BTC/USDT",
            timeframe: Timeframe::H1,
            pattern_type: PatternType::Imbalance,
            direction: Direction::Bullish,
            zone: z,
        };
        assert!(is_live_duplicate(&c(&z70), &active));
        assert!(!is_live_duplicate(&c(&z60), &active));
    }

    #[test]
    fn the_live_dedup_ignores_other_keys_and_inactive_patterns() {
        let z = zone(100.0, 110.0);
        let base = DedupCandidate {
            symbol: "BTC/USDT",
            timeframe: Timeframe::H1,
            pattern_type: PatternType::Imbalance,
            direction: Direction::Bullish,
            zone: &z,
        };
        let mut filled = gap(Direction::Bullish);
        filled.apply_price(90.0, 1);
        let mut other_symbol = gap(Direction::Bullish);
        other_symbol.symbol = "ETH/USDT".into();
        let others = [
            filled,
            other_symbol,
            gap(Direction::Bearish),
            sweep(Direction::Bullish),
            pattern(
                9,
                Timeframe::H4,
                PatternType::Imbalance,
                Direction::Bullish,
                100.0,
                110.0,
                0,
            ),
        ];
        assert!(!is_live_duplicate(&base, &others));
    }

    #[test]
    fn patterns_stored_earlier_in_the_run_count_for_the_dedup() {
        // No active pattern at the start; the second candidate overlaps the first fully.
        let cands = [
            detection(1, PatternType::Imbalance, Direction::Bullish, 100.0, 110.0),
            detection(2, PatternType::Imbalance, Direction::Bullish, 101.0, 109.0),
            detection(3, PatternType::Imbalance, Direction::Bearish, 101.0, 109.0),
            detection(4, PatternType::OrderBlock, Direction::Bullish, 101.0, 109.0),
        ];
        let kept = select_new("BTC/USDT", Timeframe::H1, &cands, &[], |_| false);
        let ts: Vec<_> = kept.iter().map(|d| d.detected_at).collect();
        assert_eq!(ts, [1, 3, 4]);
    }

    #[test]
    fn an_existing_key_is_not_stored_and_does_not_block_later_candidates() {
        let cands = [
            detection(1, PatternType::Imbalance, Direction::Bullish, 100.0, 110.0),
            detection(2, PatternType::Imbalance, Direction::Bullish, 101.0, 109.0),
        ];
        let kept = select_new("BTC/USDT", Timeframe::H1, &cands, &[], |k| {
            k.detected_at == 1
        });
        let ts: Vec<_> = kept.iter().map(|d| d.detected_at).collect();
        assert_eq!(ts, [2]);
    }

    #[test]
    fn the_same_key_twice_in_one_run_is_stored_once() {
        // Same detected_at, type and direction, disjoint zones (no overlap).
        let cands = [
            detection(1, PatternType::Imbalance, Direction::Bullish, 100.0, 110.0),
            detection(1, PatternType::Imbalance, Direction::Bullish, 200.0, 210.0),
        ];
        let kept = select_new("BTC/USDT", Timeframe::H1, &cands, &[], |_| false);
        assert_eq!(kept.len(), 1);
    }

    #[test]
    fn select_new_drops_candidates_overlapping_active_stored_patterns() {
        let cands = [
            detection(5, PatternType::Imbalance, Direction::Bullish, 103.0, 113.0),
            detection(6, PatternType::Imbalance, Direction::Bullish, 104.0, 114.0),
        ];
        let kept = select_new(
            "BTC/USDT",
            Timeframe::H1,
            &cands,
            &[gap(Direction::Bullish)],
            |_| false,
        );
        let ts: Vec<_> = kept.iter().map(|d| d.detected_at).collect();
        assert_eq!(ts, [6]);
    }

    fn any_type() -> impl Strategy<Value = PatternType> {
        prop_oneof![
            Just(PatternType::Imbalance),
            Just(PatternType::OrderBlock),
            Just(PatternType::LiquiditySweep)
        ]
    }

    fn any_direction() -> impl Strategy<Value = Direction> {
        prop_oneof![Just(Direction::Bullish), Just(Direction::Bearish)]
    }

    proptest! {
        #[test]
        fn fill_is_always_between_zero_and_a_hundred(
            t in any_type(),
            d in any_direction(),
            low in 0.001f64..1e6,
            width in 0.0f64..1e5,
            p in 0.0f64..2e6,
        ) {
            let e = evaluate(t, d, &zone(low, low + width), p);
            prop_assert!((0.0..=100.0).contains(&e.fill_pct));
            prop_assert!(e.status != PatternStatus::Expired);
        }

        #[test]
        fn a_terminal_status_never_returns_to_active(
            t in any_type(),
            d in any_direction(),
            low in 1.0f64..1e4,
            width in 0.01f64..1e3,
            prices in proptest::collection::vec(0.0f64..3e4, 1..20),
            now in 0i64..(1 << 50),
        ) {
            let mut p = pattern(1, Timeframe::M5, t, d, low, low + width, 0);
            let mut terminal: Option<(PatternStatus, f64, Option<i64>)> = None;
            for (i, price) in prices.iter().enumerate() {
                p.apply_price(*price, i as i64);
                if i % 3 == 2 {
                    p.expire(now);
                }
                if let Some(t) = terminal {
                    prop_assert_eq!(t, (p.status, p.fill_pct, p.filled_at));
                } else if !p.is_active() {
                    terminal = Some((p.status, p.fill_pct, p.filled_at));
                }
            }
        }
    }
}
