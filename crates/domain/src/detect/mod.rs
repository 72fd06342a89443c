//! The three historical detectors (detection.md §2–§3) and how they are run together.
//!
//! Each detector is one pass over a candle slice (the sweep is O(n·w) in its swing window),
//! works on the candles directly or on one precomputed array, and allocates nothing per
//! candidate. Detections come out in the spec's *emission order*: by loop index, and within
//! one index bullish before bearish.
//!
//! In [`Mode::Dedup`] a candidate is rejected when its overlap with a zone already accepted in
//! the same pass, by the same detector and in the same direction, reaches
//! [`DetectionParams::dedup_overlap`]. The accepted zones are kept in an ordered index (see
//! [`AcceptedZones`]), so each check costs O(log a) instead of a scan over all `a` accepted
//! zones, with results identical to that scan.
//!
//! ## Combined order
//! [`detect_all`] runs the selected detectors in the spec's order (imbalance, order_block,
//! liquidity_sweep) and keeps each one's detections apart. When a single list is needed (the
//! CLI's `{"patterns": [...]}`), [`in_emission_order`] concatenates them detector by detector.
//! That is the order in which the live pipeline checks candidates (§4.3: "in that order, each
//! detector's in emission order"), and the only fully specified one: §2 orders a detector's
//! own output but gives no rule between types at one index.

pub mod imbalance;
pub mod liquidity_sweep;
pub mod order_block;

use crate::{Candle, Detection, DetectionParams, Direction, PatternType, Zone};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Historical detection mode (detection.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// No dedup: every candidate that passes its detector's rules is emitted.
    #[default]
    Raw,
    /// Reject candidates overlapping an already accepted zone of the same detector and
    /// direction by at least [`DetectionParams::dedup_overlap`].
    Dedup,
}

/// Runs one detector over `candles`, returning its detections in emission order.
pub fn detect(
    candles: &[Candle],
    pattern_type: PatternType,
    mode: Mode,
    params: &DetectionParams,
) -> Vec<Detection> {
    match pattern_type {
        PatternType::Imbalance => imbalance::detect(candles, mode, params),
        PatternType::OrderBlock => order_block::detect(candles, mode, params),
        PatternType::LiquiditySweep => liquidity_sweep::detect(candles, mode, params),
    }
}

/// The output of one detector in a [`detect_all`] run.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorRun {
    /// Which detector ran.
    pub pattern_type: PatternType,
    /// Its detections, in emission order.
    pub detections: Vec<Detection>,
}

/// Runs the selected detectors in the spec's order (imbalance, order_block, liquidity_sweep),
/// whatever the order or repetitions in `types`, and returns one [`DetectorRun`] per selected
/// type, in that order.
///
/// The live pipeline checks the candidates run by run; [`in_emission_order`] flattens them
/// into the combined order the CLI prints (see the module docs).
pub fn detect_all(
    candles: &[Candle],
    types: &[PatternType],
    mode: Mode,
    params: &DetectionParams,
) -> Vec<DetectorRun> {
    PatternType::ALL
        .iter()
        .filter(|t| types.contains(t))
        .map(|&pattern_type| DetectorRun {
            pattern_type,
            detections: detect(candles, pattern_type, mode, params),
        })
        .collect()
}

/// The combined emission order of a [`detect_all`] result: detector by detector, each in its
/// own emission order.
pub fn in_emission_order(runs: &[DetectorRun]) -> impl Iterator<Item = &Detection> + '_ {
    runs.iter().flat_map(|run| run.detections.iter())
}

/// The accept/reject state of one detector's pass: nothing in raw mode, one
/// [`AcceptedZones`] per direction in dedup mode.
#[derive(Debug)]
pub(crate) struct Gate {
    dedup: bool,
    bullish: AcceptedZones,
    bearish: AcceptedZones,
}

impl Gate {
    pub(crate) fn new(mode: Mode, params: &DetectionParams) -> Self {
        Self {
            dedup: mode == Mode::Dedup,
            bullish: AcceptedZones::new(params.dedup_overlap),
            bearish: AcceptedZones::new(params.dedup_overlap),
        }
    }

    /// Whether a size-passing candidate is accepted; in dedup mode an accepted one is recorded.
    #[inline]
    pub(crate) fn admit(&mut self, direction: Direction, zone: Zone) -> bool {
        if !self.dedup {
            return true;
        }
        let zones = match direction {
            Direction::Bullish => &mut self.bullish,
            Direction::Bearish => &mut self.bearish,
        };
        zones.try_accept(zone)
    }
}

/// Zones accepted so far in one dedup pass, for one detector and direction, indexed so that
/// "does any accepted zone overlap this candidate by at least the threshold?" costs
/// O(log a + k), k being the few accepted zones that intersect the candidate.
///
/// Why this is exact: with a threshold in (0, 1], two accepted zones of positive size never
/// contain one another (containment is an overlap of exactly 1, so the later one would have
/// been rejected), and a zero-size zone overlaps nothing (overlap 0). The positive-size
/// accepted zones therefore form a *proper* family: sorted by low, they are also sorted by
/// high, and the ones intersecting a candidate `[l, h]` are one contiguous run around `l`.
/// Only comparisons decide the run (no arithmetic), and each member is checked with
/// [`Zone::overlap`], so the verdict equals a scan over all accepted zones.
/// A threshold above 1 rejects nothing, one at or below 0 rejects everything once any zone is
/// accepted, and NaN rejects nothing (`overlap >= NaN` is false).
#[derive(Debug)]
pub(crate) struct AcceptedZones {
    threshold: f64,
    /// Positive-size accepted zones: low → high.
    by_low: BTreeMap<Price, f64>,
    /// How many zones were accepted in all (for thresholds ≤ 0).
    accepted: usize,
}

impl AcceptedZones {
    pub(crate) fn new(threshold: f64) -> Self {
        Self {
            threshold,
            by_low: BTreeMap::new(),
            accepted: 0,
        }
    }

    /// Accepts and records `zone` unless an accepted zone overlaps it by at least the
    /// threshold.
    pub(crate) fn try_accept(&mut self, zone: Zone) -> bool {
        if self.rejects(zone) {
            return false;
        }
        self.accepted += 1;
        if zone.size() > 0.0 && self.threshold > 0.0 && self.threshold <= 1.0 {
            self.by_low.insert(Price(zone.low()), zone.high());
        }
        true
    }

    fn rejects(&self, zone: Zone) -> bool {
        let t = self.threshold;
        if t.is_nan() || t > 1.0 {
            return false;
        }
        if t <= 0.0 {
            return self.accepted > 0;
        }
        if zone.size() <= 0.0 {
            return false;
        }
        let (l, h) = (zone.low(), zone.high());
        let overlaps = |(&Price(low), &high): (&Price, &f64)| {
            Zone::new(low, high).is_ok_and(|z| z.overlap(&zone) >= t)
        };
        // Zones starting below l, newest low first: they intersect while their high is above l
        // (highs are sorted like lows, so the first one that does not ends the run).
        let below = self
            .by_low
            .range(..Price(l))
            .rev()
            .take_while(|(_, &high)| high > l);
        // Zones starting in [l, h) all intersect the candidate.
        let inside = self.by_low.range(Price(l)..Price(h));
        below.chain(inside).any(overlaps)
    }
}

/// A finite price ordered by `f64::total_cmp`, as a map key.
#[derive(Debug, Clone, Copy)]
struct Price(f64);

impl PartialEq for Price {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Price {}
impl PartialOrd for Price {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Price {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Builds the detection record for loop row `index`.
#[inline]
pub(crate) fn detection(
    candles: &[Candle],
    index: usize,
    pattern_type: PatternType,
    direction: Direction,
    zone: Zone,
    swept_level: Option<f64>,
) -> Option<Detection> {
    Some(Detection {
        index,
        detected_at: candles.get(index)?.ts(),
        pattern_type,
        direction,
        zone,
        swept_level,
    })
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Helpers shared by the detector tests.
    use crate::{Candle, Detection, Direction};

    /// (open, high, low, close).
    pub type Ohlc = (f64, f64, f64, f64);

    /// One candle per minute from t = 0 with the given (open, high, low, close).
    pub fn candles(ohlc: &[Ohlc]) -> Vec<Candle> {
        ohlc.iter()
            .enumerate()
            .map(|(k, &(o, h, l, c))| Candle::new(k as i64 * 60_000, o, h, l, c, 1.0).unwrap())
            .collect()
    }

    /// A flat candle at price p with a tiny range: never a pattern by itself.
    pub fn flat(p: f64) -> Ohlc {
        (p, p, p, p)
    }

    /// (index, direction, low, high) of each detection.
    pub fn summary(d: &[Detection]) -> Vec<(usize, Direction, f64, f64)> {
        d.iter()
            .map(|d| (d.index, d.direction, d.zone.low(), d.zone.high()))
            .collect()
    }

    /// A deterministic random walk of n candles (splitmix64), with varied bodies and ranges.
    pub fn walk(n: usize, seed: u64) -> Vec<Candle> {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut price = 100.0_f64;
        (0..n)
            .map(|k| {
                let open = price * (1.0 + (next() - 0.5) * 0.004);
                let vol = if next() < 0.1 { 0.03 } else { 0.006 };
                price = (open * (1.0 + (next() - 0.5) * vol)).max(1.0);
                let high = open.max(price) * (1.0 + next() * 0.002);
                let low = open.min(price) * (1.0 - next() * 0.002);
                Candle::new(k as i64 * 60_000, open, high, low, price, 1.0).unwrap()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::walk;
    use super::*;
    use proptest::prelude::*;

    fn z(l: f64, h: f64) -> Zone {
        Zone::new(l, h).unwrap()
    }

    /// The spec's dedup as a plain scan, to check the index against.
    fn naive(threshold: f64, zones: &[Zone]) -> Vec<bool> {
        let mut accepted: Vec<Zone> = Vec::new();
        zones
            .iter()
            .map(|c| {
                let ok = !accepted.iter().any(|a| a.overlap(c) >= threshold);
                if ok {
                    accepted.push(*c);
                }
                ok
            })
            .collect()
    }

    fn indexed(threshold: f64, zones: &[Zone]) -> Vec<bool> {
        let mut set = AcceptedZones::new(threshold);
        zones.iter().map(|c| set.try_accept(*c)).collect()
    }

    #[test]
    fn dedup_rejects_at_the_threshold_and_accepts_just_below() {
        // Arrange: overlap of [100,110] and [103,113] is 7/10 = 0.7 exactly.
        let mut set = AcceptedZones::new(0.7);
        // Act / Assert
        assert!(set.try_accept(z(100.0, 110.0)));
        assert!(!set.try_accept(z(103.0, 113.0)));
        // [104, 114]: 6/10 = 0.6 < 0.7.
        assert!(set.try_accept(z(104.0, 114.0)));
    }

    #[test]
    fn dedup_rejects_a_zone_inside_or_around_an_accepted_one() {
        let mut set = AcceptedZones::new(0.7);
        assert!(set.try_accept(z(100.0, 110.0)));
        assert!(!set.try_accept(z(102.0, 103.0)));
        assert!(!set.try_accept(z(90.0, 200.0)));
        assert!(set.try_accept(z(110.0, 120.0)));
    }

    #[test]
    fn extreme_thresholds_behave_like_the_plain_rule() {
        let zones = [z(1.0, 2.0), z(5.0, 6.0), z(1.0, 2.0)];
        assert_eq!(indexed(0.0, &zones), vec![true, false, false]);
        assert_eq!(indexed(1.5, &zones), vec![true, true, true]);
        assert_eq!(indexed(f64::NAN, &zones), vec![true, true, true]);
        assert_eq!(indexed(1.0, &zones), vec![true, true, false]);
    }

    #[test]
    fn detect_all_runs_the_selected_types_in_spec_order() {
        let candles = walk(2_000, 7);
        let params = DetectionParams::default();
        let types = [
            PatternType::LiquiditySweep,
            PatternType::Imbalance,
            PatternType::LiquiditySweep,
        ];
        let runs = detect_all(&candles, &types, Mode::Raw, &params);
        let order: Vec<PatternType> = runs.iter().map(|r| r.pattern_type).collect();
        assert_eq!(
            order,
            vec![PatternType::Imbalance, PatternType::LiquiditySweep]
        );
        let flat: Vec<&Detection> = in_emission_order(&runs).collect();
        assert_eq!(
            flat.len(),
            runs[0].detections.len() + runs[1].detections.len()
        );
        assert!(flat
            .iter()
            .zip(runs[0].detections.iter().chain(&runs[1].detections))
            .all(|(a, b)| *a == b));
    }

    fn arb_zones() -> impl Strategy<Value = Vec<Zone>> {
        prop::collection::vec((0u32..200, 0u32..40), 0..120).prop_map(|v| {
            v.into_iter()
                .map(|(l, s)| z(1.0 + f64::from(l) / 4.0, 1.0 + f64::from(l + s) / 4.0))
                .collect()
        })
    }

    fn key(d: &Detection) -> (usize, Direction) {
        (d.index, d.direction)
    }

    proptest! {
        #[test]
        fn the_dedup_index_matches_a_plain_scan(
            zones in arb_zones(),
            t in prop::sample::select(vec![0.0, 0.1, 0.5, 0.7, 0.95, 1.0, 1.2]),
        ) {
            prop_assert_eq!(indexed(t, &zones), naive(t, &zones));
        }

        #[test]
        fn every_zone_is_ordered_and_passes_the_size_test(
            seed in any::<u64>(), n in 0usize..400, pct in 0.05f64..0.6, dedup in any::<bool>(),
        ) {
            let candles = walk(n, seed);
            let params = DetectionParams { min_zone_pct: pct, ..DetectionParams::default() };
            let mode = if dedup { Mode::Dedup } else { Mode::Raw };
            for run in detect_all(&candles, PatternType::ALL, mode, &params) {
                for d in &run.detections {
                    prop_assert!(d.zone.low() < d.zone.high());
                    prop_assert!(d.zone.passes_size(pct));
                    prop_assert_eq!(d.detected_at, candles[d.index].ts());
                    prop_assert_eq!(d.pattern_type, run.pattern_type);
                    prop_assert_eq!(
                        d.swept_level.is_some(),
                        d.pattern_type == PatternType::LiquiditySweep
                    );
                }
                // Emission order: by index, bullish before bearish within one index.
                prop_assert!(run.detections.windows(2).all(|w| key(&w[0]) < key(&w[1])));
            }
        }

        /// Imbalance and sweep: every dedup detection is a raw one. Order block: an impulse
        /// whose newest block the dedup rejects can fall through to an older block, so only
        /// (index, direction) is a subset there, and the zone is one raw would have tried.
        #[test]
        fn dedup_detections_are_a_subset_of_raw(seed in any::<u64>(), n in 0usize..400) {
            let candles = walk(n, seed);
            let params = DetectionParams { min_zone_pct: 0.1, ..DetectionParams::default() };
            for t in PatternType::ALL {
                let raw = detect(&candles, *t, Mode::Raw, &params);
                let dedup = detect(&candles, *t, Mode::Dedup, &params);
                prop_assert!(dedup.len() <= raw.len());
                for d in &dedup {
                    if *t == PatternType::OrderBlock {
                        prop_assert!(raw.iter().any(|r| key(r) == key(d)), "{:?} not in raw", d);
                        let lookback = params.ob_lookback;
                        let from_block = (1..=lookback).filter_map(|back| d.index.checked_sub(back))
                            .any(|j| {
                                let c = &candles[j];
                                c.open().min(c.close()) == d.zone.low()
                                    && c.open().max(c.close()) == d.zone.high()
                            });
                        prop_assert!(from_block, "{:?} is not a block candle's body", d);
                    } else {
                        prop_assert!(raw.contains(d), "{:?} not in raw", d);
                    }
                }
            }
        }

        #[test]
        fn detection_is_deterministic(seed in any::<u64>(), n in 0usize..300) {
            let candles = walk(n, seed);
            let params = DetectionParams::default();
            for mode in [Mode::Raw, Mode::Dedup] {
                let a = detect_all(&candles, PatternType::ALL, mode, &params);
                let b = detect_all(&candles, PatternType::ALL, mode, &params);
                prop_assert_eq!(a, b);
            }
        }
    }
}
