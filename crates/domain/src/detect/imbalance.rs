//! Imbalance, or fair value gap (detection.md §3): a gap between candle i−2 and candle i that
//! the middle candle did not fill.

use super::{detection, Gate, Mode};
use crate::{Candle, Detection, DetectionParams, Direction, PatternType, Zone};

/// Candle i is compared with candle i − SPAN; the one in between is ignored.
const SPAN: usize = 2;

/// Finds imbalances in `candles`, in emission order.
///
/// For each i from 2: bullish when `high[i−2] < low[i]` (zone `[high[i−2], low[i]]`), bearish
/// when `low[i−2] > high[i]` (zone `[high[i], low[i−2]]`). The zone must pass the size test and,
/// in dedup mode, the dedup. Fewer than [`DetectionParams::imbalance_min_candles`] candles give
/// nothing.
pub fn detect(candles: &[Candle], mode: Mode, params: &DetectionParams) -> Vec<Detection> {
    let mut out = Vec::new();
    if candles.len() < params.imbalance_min_candles {
        return out;
    }
    let mut gate = Gate::new(mode, params);
    for (k, pair) in candles.windows(SPAN + 1).enumerate() {
        let (before, now) = (&pair[0], &pair[SPAN]);
        let i = k + SPAN;
        // At most one of the two holds: a bullish gap puts low[i] above high[i−2].
        let candidates = [
            (
                Direction::Bullish,
                before.high() < now.low(),
                before.high(),
                now.low(),
            ),
            (
                Direction::Bearish,
                before.low() > now.high(),
                now.high(),
                before.low(),
            ),
        ];
        for (direction, gap, low, high) in candidates {
            if !gap {
                continue;
            }
            let Ok(zone) = Zone::new(low, high) else {
                continue;
            };
            if zone.passes_size(params.min_zone_pct) && gate.admit(direction, zone) {
                out.extend(detection(
                    candles,
                    i,
                    PatternType::Imbalance,
                    direction,
                    zone,
                    None,
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testutil::{candles, flat, summary};

    #[test]
    fn a_bullish_gap_ignores_the_middle_candle() {
        // Arrange: high[0] = 101 < low[2] = 103; the middle candle spans both.
        let c = candles(&[
            (100.0, 101.0, 99.0, 100.5),
            (100.5, 110.0, 95.0, 104.0),
            (104.0, 106.0, 103.0, 105.0),
        ]);
        // Act
        let d = detect(&c, Mode::Raw, &DetectionParams::default());
        // Assert
        assert_eq!(summary(&d), vec![(2, Direction::Bullish, 101.0, 103.0)]);
        assert_eq!(d[0].detected_at, 2 * 60_000);
        assert_eq!(d[0].swept_level, None);
    }

    #[test]
    fn a_bearish_gap_has_zone_from_high_i_to_low_i_minus_2() {
        let c = candles(&[
            (100.0, 101.0, 99.0, 100.5),
            flat(98.0),
            (97.0, 97.5, 96.0, 96.5),
        ]);
        let d = detect(&c, Mode::Raw, &DetectionParams::default());
        assert_eq!(summary(&d), vec![(2, Direction::Bearish, 97.5, 99.0)]);
    }

    #[test]
    fn touching_candles_are_no_gap() {
        let c = candles(&[
            (100.0, 101.0, 99.0, 100.5),
            flat(101.0),
            (101.0, 102.0, 101.0, 102.0),
        ]);
        assert!(detect(&c, Mode::Raw, &DetectionParams::default()).is_empty());
    }

    #[test]
    fn a_gap_below_the_minimum_size_is_skipped() {
        // 100 → 100.1 is 0.1% < 0.15%; 100 → 100.2 is 0.2%.
        let small = candles(&[
            (99.0, 100.0, 99.0, 100.0),
            flat(100.0),
            (100.1, 100.5, 100.1, 100.5),
        ]);
        let big = candles(&[
            (99.0, 100.0, 99.0, 100.0),
            flat(100.0),
            (100.2, 100.5, 100.2, 100.5),
        ]);
        let p = DetectionParams::default();
        assert!(detect(&small, Mode::Raw, &p).is_empty());
        assert_eq!(detect(&big, Mode::Raw, &p).len(), 1);
        let loose = DetectionParams {
            min_zone_pct: 0.05,
            ..p
        };
        assert_eq!(detect(&small, Mode::Raw, &loose).len(), 1);
    }

    #[test]
    fn fewer_than_three_candles_give_nothing() {
        let c = candles(&[(100.0, 101.0, 99.0, 100.5), (104.0, 106.0, 103.0, 105.0)]);
        assert!(detect(&c, Mode::Raw, &DetectionParams::default()).is_empty());
        assert!(detect(&[], Mode::Dedup, &DetectionParams::default()).is_empty());
    }

    #[test]
    fn dedup_drops_a_gap_overlapping_an_accepted_one_of_the_same_direction() {
        // Arrange: two bullish gaps [101,103] (i=2) and [101.5,103] (i=3): overlap 1.5/1.5.
        let c = candles(&[
            (100.0, 101.0, 99.0, 100.5),
            (100.5, 101.5, 100.5, 101.5),
            (104.0, 106.0, 103.0, 105.0),
            (105.0, 106.0, 103.0, 105.0),
        ]);
        let p = DetectionParams::default();
        // Act
        let raw = detect(&c, Mode::Raw, &p);
        let dedup = detect(&c, Mode::Dedup, &p);
        // Assert
        assert_eq!(raw.len(), 2);
        assert_eq!(summary(&dedup), vec![(2, Direction::Bullish, 101.0, 103.0)]);
    }
}
