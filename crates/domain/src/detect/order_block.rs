//! Order block (detection.md §3): the last opposite candle before an impulse candle whose
//! body is much larger than the recent average body.
//!
//! ## The rolling average
//! `avg[i]` is the mean of `|close − open|` over the `w` candles ending at i, defined for
//! i ≥ w − 1. Its reference value, the "direct mean", is the window summed oldest first and
//! divided by `w`, then compared as `|body[i]| > factor × avg[i]` (strict).
//!
//! To keep each step O(1) the window sum is a running, compensated (Neumaier) sum that is
//! recomputed directly every `w` steps (O(1) amortised), so its error stays within a few ulps
//! of the window's size. That is far too little to flip the comparison unless `|body[i]|`
//! and `factor × avg` are nearly equal; in that case, or when the window sum is tiny, the
//! direct mean is recomputed and decides. The verdict is therefore always the one the direct
//! mean gives, ties at the strict boundary included.

use super::{detection, Gate, Mode};
use crate::{Candle, Detection, DetectionParams, Direction, PatternType, Zone};

/// The block candle is never row 0 (the predecessor's loop bound, kept as is).
const FIRST_BLOCK_ROW: usize = 1;

/// Relative gap between `|body|` and the threshold under which the direct mean decides. The
/// running sum is accurate to ~1e-15 relative, so this leaves a wide margin.
const NEAR_TIE: f64 = 1e-9;

/// Finds order blocks in `candles`, in emission order.
///
/// For each impulse candle i (from [`DetectionParams::ob_first_row`], once the average over
/// [`DetectionParams::ob_avg_window`] candles is defined and non-zero, with
/// `|body[i]| > ob_impulse_factor × avg[i]`), the candles j = i−1, i−2, … (up to
/// [`DetectionParams::ob_lookback`] back, j ≥ 1) are tried newest first: a bullish impulse
/// looks for a bearish candle, a bearish impulse for a bullish one. The first whose body zone
/// passes the size test (and the dedup, in dedup mode) is the block; a candidate that fails
/// falls through to the next older one. `index` is the impulse row.
///
/// Fewer than [`DetectionParams::ob_min_candles`] candles give nothing.
pub fn detect(candles: &[Candle], mode: Mode, params: &DetectionParams) -> Vec<Detection> {
    let mut out = Vec::new();
    let w = params.ob_avg_window;
    if candles.len() < params.ob_min_candles || w == 0 {
        return out;
    }
    let mut gate = Gate::new(mode, params);
    let mut avg = RollingAbsBody::new(w);
    for (i, c) in candles.iter().enumerate() {
        avg.push(candles, i);
        if i < params.ob_first_row || !avg.is_full(i) {
            continue;
        }
        let body = c.body();
        if !avg.is_impulse(candles, i, body.abs(), params.ob_impulse_factor) {
            continue;
        }
        let (direction, block_is_opposite): (Direction, fn(f64) -> bool) = if body > 0.0 {
            (Direction::Bullish, |b| b < 0.0)
        } else {
            (Direction::Bearish, |b| b > 0.0)
        };
        let blocks = (1..=params.ob_lookback)
            .map_while(|back| i.checked_sub(back))
            .take_while(|&j| j >= FIRST_BLOCK_ROW);
        for j in blocks {
            let Some(block) = candles.get(j) else { break };
            if !block_is_opposite(block.body()) {
                continue;
            }
            let Ok(zone) = Zone::new(
                block.open().min(block.close()),
                block.open().max(block.close()),
            ) else {
                continue;
            };
            if zone.passes_size(params.min_zone_pct) && gate.admit(direction, zone) {
                out.extend(detection(
                    candles,
                    i,
                    PatternType::OrderBlock,
                    direction,
                    zone,
                    None,
                ));
                break;
            }
        }
    }
    out
}

/// The running sum of `|body|` over the last `w` candles (see the module docs).
struct RollingAbsBody {
    w: usize,
    sum: f64,
    comp: f64,
    /// Non-zero bodies in the window: the mean is exactly 0 iff this is 0.
    nonzero: usize,
}

impl RollingAbsBody {
    fn new(w: usize) -> Self {
        Self {
            w,
            sum: 0.0,
            comp: 0.0,
            nonzero: 0,
        }
    }

    /// Slides the window to end at row i.
    #[inline]
    fn push(&mut self, candles: &[Candle], i: usize) {
        let Some(entering) = candles.get(i).map(|c| c.body().abs()) else {
            return;
        };
        self.add(entering);
        self.nonzero += usize::from(entering != 0.0);
        if let Some(leaving) = i.checked_sub(self.w).and_then(|k| candles.get(k)) {
            let leaving = leaving.body().abs();
            self.add(-leaving);
            self.nonzero -= usize::from(leaving != 0.0);
        }
        // Recompute once per window length so rounding never accumulates.
        if (i + 1).is_multiple_of(self.w) {
            self.sum = Self::direct_sum(candles, i, self.w);
            self.comp = 0.0;
        }
    }

    /// Neumaier's compensated addition.
    #[inline]
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        self.comp += if self.sum.abs() >= x.abs() {
            (self.sum - t) + x
        } else {
            (x - t) + self.sum
        };
        self.sum = t;
    }

    /// Whether the window ending at i is complete, i.e. `avg[i]` is defined.
    #[inline]
    fn is_full(&self, i: usize) -> bool {
        i + 1 >= self.w
    }

    /// `|body[i]| > factor × avg[i]` as the direct mean decides it; false when avg is 0.
    #[inline]
    fn is_impulse(&self, candles: &[Candle], i: usize, abs_body: f64, factor: f64) -> bool {
        if self.nonzero == 0 {
            return false;
        }
        let w = self.w as f64;
        let fast = (self.sum + self.comp) / w;
        let threshold = factor * fast;
        let clear = (abs_body - threshold).abs() > NEAR_TIE * abs_body.max(threshold);
        if clear && fast > f64::MIN_POSITIVE {
            return abs_body > threshold;
        }
        let direct = Self::direct_sum(candles, i, self.w) / w;
        direct != 0.0 && abs_body > factor * direct
    }

    /// The window ending at i summed oldest first: the reference the spec's mean means.
    fn direct_sum(candles: &[Candle], i: usize, w: usize) -> f64 {
        let from = (i + 1).saturating_sub(w);
        candles
            .get(from..=i)
            .unwrap_or_default()
            .iter()
            .map(|c| c.body().abs())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testutil::{candles, summary, walk, Ohlc};
    use proptest::prelude::*;

    /// `n` alternating small candles around 100 with |body| = 0.5: avg 0.5 once 20 are in.
    fn calm(n: usize) -> Vec<Ohlc> {
        (0..n)
            .map(|k| {
                if k % 2 == 0 {
                    (100.0, 100.5, 100.0, 100.5)
                } else {
                    (100.5, 100.5, 100.0, 100.0)
                }
            })
            .collect()
    }

    fn p() -> DetectionParams {
        DetectionParams::default()
    }

    #[test]
    fn a_bullish_impulse_marks_the_newest_bearish_candle_before_it() {
        // Arrange: 20 calm candles (19 is bearish), then a big bullish candle at 20.
        let mut rows = calm(20);
        rows.push((100.0, 103.0, 100.0, 103.0));
        let c = candles(&rows);
        // Act
        let d = detect(&c, Mode::Raw, &p());
        // Assert: avg[20] = (19·0.5 + 3)/20 = 0.625; 3 > 0.9375. Block 19 = [100, 100.5].
        assert_eq!(summary(&d), vec![(20, Direction::Bullish, 100.0, 100.5)]);
        assert_eq!(d[0].detected_at, 20 * 60_000);
    }

    #[test]
    fn a_bearish_impulse_marks_a_bullish_candle() {
        let mut rows = calm(21); // 20 is bullish
        rows.push((100.5, 100.5, 97.0, 97.0));
        let d = detect(&candles(&rows), Mode::Raw, &p());
        assert_eq!(summary(&d), vec![(21, Direction::Bearish, 100.0, 100.5)]);
    }

    #[test]
    fn a_too_small_newest_candidate_falls_through_to_an_older_one() {
        // Arrange: 19 is bearish but tiny (0.05%), 18 is a doji, 17 is bearish and big enough.
        let mut rows = calm(17);
        rows.push((100.5, 100.5, 100.0, 100.0)); // 17: bearish [100, 100.5]
        rows.push((100.0, 100.0, 100.0, 100.0)); // 18: doji
        rows.push((100.05, 100.05, 100.0, 100.0)); // 19: bearish, 0.05%
        rows.push((100.0, 104.0, 100.0, 104.0)); // 20: impulse
                                                 // Act
        let d = detect(&candles(&rows), Mode::Raw, &p());
        // Assert
        assert_eq!(summary(&d), vec![(20, Direction::Bullish, 100.0, 100.5)]);
    }

    #[test]
    fn a_candidate_rejected_by_dedup_falls_through_to_an_older_one() {
        // Arrange: impulse at 20 takes block 19 = [100, 100.5]. At 24 the newest bearish
        // candle 23 is the same zone (dedup rejects it); 22 is bearish [101, 101.5] and wins.
        let mut rows = calm(20);
        rows.push((100.0, 104.0, 100.0, 104.0)); // 20: impulse
        rows.push((101.5, 101.5, 101.0, 101.0)); // 21: bearish [101, 101.5]
        rows.push((101.5, 101.5, 101.0, 101.0)); // 22: bearish [101, 101.5]
        rows.push((100.5, 100.5, 100.0, 100.0)); // 23: bearish [100, 100.5]
        rows.push((100.0, 106.0, 100.0, 106.0)); // 24: impulse
        let c = candles(&rows);
        // Act
        let raw = detect(&c, Mode::Raw, &p());
        let dedup = detect(&c, Mode::Dedup, &p());
        // Assert
        assert_eq!(
            summary(&raw),
            vec![
                (20, Direction::Bullish, 100.0, 100.5),
                (24, Direction::Bullish, 100.0, 100.5)
            ]
        );
        assert_eq!(
            summary(&dedup),
            vec![
                (20, Direction::Bullish, 100.0, 100.5),
                (24, Direction::Bullish, 101.0, 101.5)
            ]
        );
    }

    #[test]
    fn no_opposite_candle_in_three_rows_gives_no_block() {
        let mut rows = calm(17);
        for _ in 0..3 {
            rows.push((100.0, 100.5, 100.0, 100.5)); // bullish
        }
        rows.push((100.0, 104.0, 100.0, 104.0));
        assert!(detect(&candles(&rows), Mode::Raw, &p()).is_empty());
    }

    #[test]
    fn the_block_is_searched_at_most_three_rows_back() {
        let mut rows = calm(16); // 15 is bearish
        for _ in 0..4 {
            rows.push((100.0, 100.5, 100.0, 100.5)); // 16..19 bullish
        }
        rows.push((100.0, 104.0, 100.0, 104.0));
        assert!(detect(&candles(&rows), Mode::Raw, &p()).is_empty());
    }

    #[test]
    fn the_impulse_test_is_strict_at_exactly_one_and_a_half_times_the_average() {
        // Arrange: window 3 over exact binary values. The window for row 5 holds bodies
        // 0.5, 0.25 and x; x = 1.5 · (0.75 + x) / 3 exactly at x = 0.75.
        let params = DetectionParams {
            ob_avg_window: 3,
            min_zone_pct: 0.1,
            ..p()
        };
        let rows = |x: f64| {
            vec![
                (100.5, 100.5, 100.0, 100.0),         // 0
                (100.5, 100.5, 100.0, 100.0),         // 1
                (100.0, 100.25, 100.0, 100.25),       // 2: |body| 0.25 (bullish)
                (100.5, 100.5, 100.0, 100.0),         // 3: bearish, |body| 0.5
                (100.0, 100.25, 100.0, 100.25),       // 4: |body| 0.25
                (100.0, 100.0 + x, 100.0, 100.0 + x), // 5: impulse candidate
            ]
        };
        // Window for 5 is rows 3..=5: 0.5 + 0.25 + x.
        assert!(detect(&candles(&rows(0.75)), Mode::Raw, &params).is_empty());
        let just_over = 0.75 + 2f64.powi(-40);
        let d = detect(&candles(&rows(just_over)), Mode::Raw, &params);
        assert_eq!(summary(&d), vec![(5, Direction::Bullish, 100.0, 100.5)]);
    }

    #[test]
    fn the_average_is_undefined_before_row_19() {
        // Arrange: an impulse at row 18 with an ideal block at 17.
        let mut rows = calm(18);
        rows.push((100.0, 104.0, 100.0, 104.0));
        rows.push((104.0, 104.0, 104.0, 104.0));
        // Act / Assert
        assert!(detect(&candles(&rows), Mode::Raw, &p()).is_empty());
    }

    #[test]
    fn an_all_doji_window_has_average_zero_and_is_skipped() {
        // 19 dojis then a big candle: avg = 4/20 = 0.2 > 0, so it is an impulse...
        let mut rows: Vec<_> = (0..19).map(|_| (100.0, 100.0, 100.0, 100.0)).collect();
        rows.push((100.0, 104.0, 100.0, 104.0));
        // ...but no opposite candle exists (dojis are neither), so nothing.
        assert!(detect(&candles(&rows), Mode::Raw, &p()).is_empty());
        // And a doji impulse over an all-doji window (avg 0) is skipped, not a division.
        let rows: Vec<_> = (0..25).map(|_| (100.0, 100.0, 100.0, 100.0)).collect();
        assert!(detect(&candles(&rows), Mode::Raw, &p()).is_empty());
    }

    #[test]
    fn the_block_is_never_row_zero() {
        // Window 1 makes avg defined from row 0; impulse at 3 would reach back to j = 0.
        let params = DetectionParams {
            ob_avg_window: 1,
            ob_impulse_factor: 0.5,
            min_zone_pct: 0.1,
            ..p()
        };
        let rows = [
            (100.5, 100.5, 100.0, 100.0), // 0: bearish, not eligible
            (100.0, 100.5, 100.0, 100.5), // 1: bullish
            (100.0, 100.5, 100.0, 100.5), // 2: bullish
            (100.0, 104.0, 100.0, 104.0), // 3: bullish impulse
            (104.0, 104.0, 104.0, 104.0), // 4
        ];
        assert!(detect(&candles(&rows), Mode::Raw, &params).is_empty());
    }

    #[test]
    fn fewer_than_five_candles_give_nothing() {
        let params = DetectionParams {
            ob_avg_window: 1,
            ob_impulse_factor: 0.5,
            min_zone_pct: 0.1,
            ..p()
        };
        let rows = [
            (100.0, 100.5, 100.0, 100.5),
            (100.5, 100.5, 100.0, 100.0),
            (100.0, 100.5, 100.0, 100.5),
            (100.0, 104.0, 100.0, 104.0),
        ];
        assert!(detect(&candles(&rows), Mode::Raw, &params).is_empty());
        let mut five = rows.to_vec();
        five.push((104.0, 104.0, 104.0, 104.0));
        assert_eq!(detect(&candles(&five), Mode::Raw, &params).len(), 1);
    }

    /// The spec's algorithm written directly: O(n·w) mean, plain loops.
    fn reference(c: &[Candle], params: &DetectionParams) -> Vec<(usize, Direction, f64, f64)> {
        let w = params.ob_avg_window;
        let mut out = Vec::new();
        for i in params.ob_first_row..c.len() {
            if i + 1 < w {
                continue;
            }
            let avg = c[i + 1 - w..=i].iter().map(|k| k.body().abs()).sum::<f64>() / w as f64;
            if avg == 0.0 || c[i].body().abs() <= params.ob_impulse_factor * avg {
                continue;
            }
            let bull = c[i].body() > 0.0;
            for back in 1..=params.ob_lookback {
                let Some(j) = i.checked_sub(back).filter(|&j| j >= 1) else {
                    break;
                };
                let b = c[j].body();
                if (bull && b < 0.0) || (!bull && b > 0.0) {
                    let z = Zone::new(c[j].open().min(c[j].close()), c[j].open().max(c[j].close()))
                        .unwrap();
                    if z.passes_size(params.min_zone_pct) {
                        let dir = if bull {
                            Direction::Bullish
                        } else {
                            Direction::Bearish
                        };
                        out.push((i, dir, z.low(), z.high()));
                        break;
                    }
                }
            }
        }
        out
    }

    proptest! {
        #[test]
        fn raw_detection_matches_the_direct_definition(seed in any::<u64>(), n in 0usize..600) {
            let c = walk(n, seed);
            let params = DetectionParams { min_zone_pct: 0.05, ..p() };
            prop_assert_eq!(summary(&detect(&c, Mode::Raw, &params)), reference(&c, &params));
        }

        #[test]
        fn quantised_bodies_with_many_ties_match_the_direct_definition(
            bodies in prop::collection::vec(-4i8..=4, 0..300),
        ) {
            // Bodies in quarters: many windows hit |body| = 1.5·avg exactly.
            let rows: Vec<_> = bodies
                .iter()
                .map(|&b| {
                    let o = 100.0;
                    let c = o + f64::from(b) / 4.0;
                    (o, o.max(c), o.min(c), c)
                })
                .collect();
            let c = candles(&rows);
            let params = DetectionParams { min_zone_pct: 0.1, ..p() };
            prop_assert_eq!(summary(&detect(&c, Mode::Raw, &params)), reference(&c, &params));
        }
    }
}
