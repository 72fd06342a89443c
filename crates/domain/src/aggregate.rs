//! Aggregating finer candles (normally 1m) into a higher timeframe (detection.md §1).
//!
//! Rules, as the spec states them:
//! - a bucket starts at a multiple of the TF length since the epoch ([`Timeframe::bucket_start`]);
//! - open = first, high = max, low = min, close = last, volume = sum; the candle's `ts` is the
//!   bucket start;
//! - empty buckets are dropped and holes inside a bucket are ignored;
//! - the first, partial bucket is kept;
//! - the bucket containing `now` is not emitted yet.
//!
//! Incremental use: the caller passes the start of the last bucket it has already stored
//! (`after_bucket`), and only later buckets are produced, so a stored candle is never rewritten.
//! [`source_range`] tells which source timestamps can contribute, so a store can load just
//! those rows.
//!
//! One decision the spec leaves implicit: a bucket that starts *after* the bucket of `now`
//! (source candles from the future, e.g. clock skew) is not emitted either. Such a bucket is as
//! incomplete as the current one, and emitting it would force a later rewrite, which the
//! incremental rule forbids.
//!
//! The input only needs each source candle to lie inside one target bucket, so 5m candles
//! aggregate into 15m exactly like 1m candles do (aggregation is associative at a fixed `now`,
//! up to the order in which volumes are summed).

use crate::{Candle, CandleSeries, Timeframe};
use std::ops::Range;

/// Aggregates `source` into `tf` buckets, oldest first.
///
/// Emits every non-empty bucket that starts after `after_bucket` (the start of the last bucket
/// already stored, if any) and before the bucket containing `now_ms`. The result has strictly
/// increasing timestamps, each a multiple of `tf`'s length.
///
/// Cost: two binary searches plus one pass over the source rows in [`source_range`].
///
/// Volumes are summed in `f64`; a sum that would overflow saturates at `f64::MAX` rather than
/// becoming infinite (an invalid candle volume).
pub fn aggregate(
    source: &CandleSeries,
    tf: Timeframe,
    now_ms: i64,
    after_bucket: Option<i64>,
) -> Vec<Candle> {
    let rows = source.as_slice();
    let range = source_range(tf, now_ms, after_bucket);
    let first = rows.partition_point(|c| c.ts() < range.start);
    let end = rows.partition_point(|c| c.ts() < range.end);
    let rows = rows.get(first..end).unwrap_or_default();

    let mut out = Vec::new();
    let mut iter = rows.iter();
    let Some(head) = iter.next() else {
        return out;
    };
    let mut acc = Bucket::start(tf, head);
    for c in iter {
        // Input is increasing, so comparing with the bucket's end replaces a division.
        if c.ts() < acc.end {
            acc.push(c);
        } else {
            acc.emit_into(&mut out);
            acc = Bucket::start(tf, c);
        }
    }
    acc.emit_into(&mut out);
    out
}

/// The source timestamps `[start, end)` that can contribute to new `tf` buckets: from the end of
/// `after_bucket`'s bucket (or 0) up to the start of the bucket containing `now_ms`.
///
/// A store can load just these 1m rows before calling [`aggregate`]. The range is empty when
/// nothing new can be emitted.
pub fn source_range(tf: Timeframe, now_ms: i64, after_bucket: Option<i64>) -> Range<i64> {
    let start = after_bucket.map_or(0, |b| tf.bucket_start(b).saturating_add(tf.millis()));
    let end = tf.bucket_start(now_ms);
    start..end.max(start)
}

/// A bucket being filled.
struct Bucket {
    ts: i64,
    /// First timestamp of the next bucket.
    end: i64,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
}

impl Bucket {
    fn start(tf: Timeframe, c: &Candle) -> Self {
        let ts = tf.bucket_start(c.ts());
        Self {
            ts,
            end: ts.saturating_add(tf.millis()),
            open: c.open(),
            high: c.high(),
            low: c.low(),
            close: c.close(),
            volume: c.volume(),
        }
    }

    #[inline]
    fn push(&mut self, c: &Candle) {
        self.high = self.high.max(c.high());
        self.low = self.low.min(c.low());
        self.close = c.close();
        self.volume += c.volume();
    }

    fn emit_into(&self, out: &mut Vec<Candle>) {
        // Built from valid candles, the bucket is valid (low <= every open/close <= high);
        // only the volume sum can leave the valid range, so it saturates first.
        let volume = self.volume.min(f64::MAX);
        if let Ok(c) = Candle::new(self.ts, self.open, self.high, self.low, self.close, volume) {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: i64 = 60_000;
    /// 2023-11-14T00:00:00Z, a day boundary.
    const DAY0: i64 = 1_699_920_000_000;

    fn c(ts: i64, o: f64, h: f64, l: f64, cl: f64, v: f64) -> Candle {
        Candle::new(ts, o, h, l, cl, v).unwrap()
    }

    fn series(candles: Vec<Candle>) -> CandleSeries {
        CandleSeries::new(candles).unwrap()
    }

    /// Ten 1m candles from DAY0 with distinct, easy values.
    fn ten_minutes() -> CandleSeries {
        series(
            (0..10)
                .map(|k| {
                    let p = 100.0 + k as f64;
                    c(DAY0 + k * MIN, p, p + 2.0, p - 1.0, p + 1.0, 1.0 + k as f64)
                })
                .collect(),
        )
    }

    #[test]
    fn a_bucket_takes_first_open_max_high_min_low_last_close_and_summed_volume() {
        // Arrange
        let s = ten_minutes();
        // Act
        let out = aggregate(&s, Timeframe::M5, DAY0 + 10 * MIN, None);
        // Assert
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].to_row(), (DAY0, 100.0, 106.0, 99.0, 105.0, 15.0));
        assert_eq!(
            out[1].to_row(),
            (DAY0 + 5 * MIN, 105.0, 111.0, 104.0, 110.0, 40.0)
        );
    }

    #[test]
    fn the_bucket_containing_now_is_not_emitted() {
        let s = ten_minutes();
        // now falls inside the second bucket, even at its very first millisecond.
        for now in [DAY0 + 5 * MIN, DAY0 + 7 * MIN, DAY0 + 10 * MIN - 1] {
            let out = aggregate(&s, Timeframe::M5, now, None);
            assert_eq!(out.len(), 1, "now = {now}");
            assert_eq!(out[0].ts(), DAY0);
        }
    }

    #[test]
    fn buckets_after_the_one_containing_now_are_not_emitted_either() {
        let s = ten_minutes();
        let out = aggregate(&s, Timeframe::M5, DAY0 + 2 * MIN, None);
        assert!(out.is_empty());
    }

    #[test]
    fn a_hole_inside_a_bucket_is_ignored() {
        // Arrange: minutes 0, 1, 3 and 4 of one bucket; minute 2 is missing.
        let s = series(vec![
            c(DAY0, 10.0, 11.0, 9.0, 10.5, 1.0),
            c(DAY0 + MIN, 10.5, 12.0, 10.0, 11.0, 1.0),
            c(DAY0 + 3 * MIN, 11.0, 11.5, 8.0, 9.0, 1.0),
            c(DAY0 + 4 * MIN, 9.0, 9.5, 8.5, 9.2, 1.0),
        ]);
        // Act
        let out = aggregate(&s, Timeframe::M5, DAY0 + 5 * MIN, None);
        // Assert
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].to_row(), (DAY0, 10.0, 12.0, 8.0, 9.2, 4.0));
    }

    #[test]
    fn empty_buckets_are_dropped() {
        let s = series(vec![
            c(DAY0, 10.0, 11.0, 9.0, 10.5, 1.0),
            c(DAY0 + 20 * MIN, 10.5, 12.0, 10.0, 11.0, 2.0),
        ]);
        let out = aggregate(&s, Timeframe::M5, DAY0 + 60 * MIN, None);
        let ts: Vec<i64> = out.iter().map(Candle::ts).collect();
        assert_eq!(ts, vec![DAY0, DAY0 + 20 * MIN]);
    }

    #[test]
    fn the_first_partial_bucket_is_kept() {
        // Data starts at 00:13, inside the 00:00 15m bucket.
        let s = series(vec![
            c(DAY0 + 13 * MIN, 10.0, 11.0, 9.0, 10.5, 1.0),
            c(DAY0 + 14 * MIN, 10.5, 12.0, 10.0, 11.0, 2.0),
            c(DAY0 + 15 * MIN, 11.0, 11.0, 10.0, 10.0, 3.0),
        ]);
        let out = aggregate(&s, Timeframe::M15, DAY0 + 30 * MIN, None);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].to_row(), (DAY0, 10.0, 12.0, 9.0, 11.0, 3.0));
        assert_eq!(out[1].ts(), DAY0 + 15 * MIN);
    }

    #[test]
    fn daily_buckets_align_to_utc_midnight() {
        let s = series(vec![
            c(DAY0 - MIN, 10.0, 11.0, 9.0, 10.5, 1.0),
            c(DAY0, 10.5, 12.0, 10.0, 11.0, 2.0),
        ]);
        let out = aggregate(&s, Timeframe::D1, DAY0 + 86_400_000, None);
        let ts: Vec<i64> = out.iter().map(Candle::ts).collect();
        assert_eq!(ts, vec![DAY0 - 86_400_000, DAY0]);
    }

    #[test]
    fn incremental_aggregation_starts_after_the_last_stored_bucket() {
        let s = ten_minutes();
        let out = aggregate(&s, Timeframe::M5, DAY0 + 10 * MIN, Some(DAY0));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].ts(), DAY0 + 5 * MIN);
        assert!(aggregate(&s, Timeframe::M5, DAY0 + 10 * MIN, Some(DAY0 + 5 * MIN)).is_empty());
    }

    #[test]
    fn an_empty_source_gives_no_candles() {
        let s = CandleSeries::default();
        assert!(aggregate(&s, Timeframe::H1, DAY0, None).is_empty());
    }

    #[test]
    fn the_source_range_spans_new_buckets_only() {
        assert_eq!(
            source_range(Timeframe::M5, DAY0 + 7 * MIN, Some(DAY0 - 5 * MIN)),
            DAY0..DAY0 + 5 * MIN
        );
        assert_eq!(
            source_range(Timeframe::M5, DAY0 + 7 * MIN, None),
            0..DAY0 + 5 * MIN
        );
        let stale = source_range(Timeframe::M5, DAY0, Some(DAY0 + 5 * MIN));
        assert!(stale.is_empty());
    }

    #[test]
    fn an_overflowing_volume_saturates_instead_of_dropping_the_bucket() {
        let s = series(vec![
            c(DAY0, 10.0, 11.0, 9.0, 10.5, f64::MAX),
            c(DAY0 + MIN, 10.5, 12.0, 10.0, 11.0, f64::MAX),
        ]);
        let out = aggregate(&s, Timeframe::M5, DAY0 + 5 * MIN, None);
        assert_eq!(out[0].volume(), f64::MAX);
    }

    /// A random 1m series: minute offsets with holes, prices from a walk, integer volumes so
    /// that sums are exact whatever the grouping.
    fn arb_series() -> impl Strategy<Value = CandleSeries> {
        prop::collection::vec((1i64..4, -3i32..=3, 0u8..4, 0u8..4, 0u8..20), 0..400).prop_map(
            |steps| {
                let mut ts = DAY0 - 37 * MIN;
                let mut price = 1000.0_f64;
                let mut out = Vec::new();
                for (gap, mv, up, down, vol) in steps {
                    ts += gap * MIN;
                    let open = price;
                    price = (price + f64::from(mv)).max(1.0);
                    let high = open.max(price) + f64::from(up);
                    let low = (open.min(price) - f64::from(down)).max(0.5);
                    out.push(Candle::new(ts, open, high, low, price, f64::from(vol)).unwrap());
                }
                CandleSeries::new(out).unwrap()
            },
        )
    }

    proptest! {
        #[test]
        fn aggregation_is_associative_at_the_same_now(s in arb_series(), now_off in 0i64..700) {
            let now = DAY0 + now_off * MIN;
            let via5 = series(aggregate(&s, Timeframe::M5, now, None));
            let two_step = aggregate(&via5, Timeframe::M15, now, None);
            let one_step = aggregate(&s, Timeframe::M15, now, None);
            prop_assert_eq!(two_step, one_step);
        }

        #[test]
        fn hourly_via_thirty_minutes_equals_hourly_direct(s in arb_series(), now_off in 0i64..700) {
            let now = DAY0 + now_off * MIN;
            let via30 = series(aggregate(&s, Timeframe::M30, now, None));
            prop_assert_eq!(
                aggregate(&via30, Timeframe::H1, now, None),
                aggregate(&s, Timeframe::H1, now, None)
            );
        }

        #[test]
        fn incremental_runs_equal_one_shot(
            s in arb_series(),
            cuts in prop::collection::vec(0i64..700, 0..6),
            tf_idx in 0usize..7,
        ) {
            // Arrange: a sequence of runs at increasing "now", each resuming after the last
            // stored bucket, and a final run at the latest now.
            let tf = Timeframe::AGGREGATED[tf_idx];
            let mut nows: Vec<i64> = cuts.iter().map(|m| DAY0 + m * MIN).collect();
            nows.sort_unstable();
            let last_now = DAY0 + 700 * MIN;
            nows.push(last_now);
            // Act
            let mut stored: Vec<Candle> = Vec::new();
            for now in nows {
                let after = stored.last().map(Candle::ts);
                stored.extend(aggregate(&s, tf, now, after));
            }
            // Assert
            prop_assert_eq!(stored, aggregate(&s, tf, last_now, None));
        }

        #[test]
        fn output_is_aligned_increasing_and_before_the_bucket_of_now(
            s in arb_series(), now_off in 0i64..700, tf_idx in 0usize..7,
        ) {
            let tf = Timeframe::AGGREGATED[tf_idx];
            let now = DAY0 + now_off * MIN;
            let out = aggregate(&s, tf, now, None);
            prop_assert!(out.windows(2).all(|w| w[0].ts() < w[1].ts()));
            for c in &out {
                prop_assert_eq!(c.ts() % tf.millis(), 0);
                prop_assert!(c.ts() < tf.bucket_start(now));
            }
            // Every source candle before the bucket of now lands in exactly one output bucket.
            let total: f64 = out.iter().map(Candle::volume).sum();
            let expected: f64 = s
                .as_slice()
                .iter()
                .filter(|c| c.ts() < tf.bucket_start(now))
                .map(Candle::volume)
                .sum();
            prop_assert_eq!(total, expected);
        }
    }
}
