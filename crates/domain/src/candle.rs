//! Validated OHLCV candles and strictly ordered candle series (detection.md §1).

use serde::{Deserialize, Serialize};

/// Why a single candle was rejected.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum CandleError {
    /// A price is NaN, infinite, zero or negative.
    #[error("{field} must be a finite positive number, got {value}")]
    BadPrice {
        /// Which price field.
        field: &'static str,
        /// The offending value.
        value: f64,
    },
    /// Volume is NaN, infinite or negative.
    #[error("volume must be a finite non-negative number, got {0}")]
    BadVolume(f64),
    /// `low > min(open, close)`.
    #[error("low {low} is above min(open, close) {body_low}")]
    LowAboveBody {
        /// The low.
        low: f64,
        /// min(open, close).
        body_low: f64,
    },
    /// `high < max(open, close)`.
    #[error("high {high} is below max(open, close) {body_high}")]
    HighBelowBody {
        /// The high.
        high: f64,
        /// max(open, close).
        body_high: f64,
    },
    /// A negative timestamp (before 1970) is never a real candle here.
    #[error("timestamp {0} is negative")]
    BadTimestamp(i64),
}

/// One validated OHLCV candle. `ts` is the candle's OPEN time in UTC milliseconds.
///
/// Invariants (checked by [`Candle::new`]): finite positive prices, finite non-negative
/// volume, `low <= min(open, close)` and `high >= max(open, close)`, `ts >= 0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Candle {
    ts: i64,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
}

impl Candle {
    /// Validates and builds a candle.
    ///
    /// # Errors
    /// A [`CandleError`] naming the first rule that fails.
    pub fn new(
        ts: i64,
        open: f64,
        high: f64,
        low: f64,
        close: f64,
        volume: f64,
    ) -> Result<Self, CandleError> {
        if ts < 0 {
            return Err(CandleError::BadTimestamp(ts));
        }
        for (field, value) in [
            ("open", open),
            ("high", high),
            ("low", low),
            ("close", close),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(CandleError::BadPrice { field, value });
            }
        }
        if !(volume.is_finite() && volume >= 0.0) {
            return Err(CandleError::BadVolume(volume));
        }
        let body_low = open.min(close);
        let body_high = open.max(close);
        if low > body_low {
            return Err(CandleError::LowAboveBody { low, body_low });
        }
        if high < body_high {
            return Err(CandleError::HighBelowBody { high, body_high });
        }
        Ok(Self {
            ts,
            open,
            high,
            low,
            close,
            volume,
        })
    }

    /// Open time, UTC ms.
    #[inline]
    pub fn ts(&self) -> i64 {
        self.ts
    }
    /// Open price.
    #[inline]
    pub fn open(&self) -> f64 {
        self.open
    }
    /// High price.
    #[inline]
    pub fn high(&self) -> f64 {
        self.high
    }
    /// Low price.
    #[inline]
    pub fn low(&self) -> f64 {
        self.low
    }
    /// Close price.
    #[inline]
    pub fn close(&self) -> f64 {
        self.close
    }
    /// Volume.
    #[inline]
    pub fn volume(&self) -> f64 {
        self.volume
    }
    /// `close - open`: positive is a bullish candle, negative bearish, zero a doji.
    #[inline]
    pub fn body(&self) -> f64 {
        self.close - self.open
    }
    /// The row form used by the CLI and the API: `[ts, open, high, low, close, volume]`.
    pub fn to_row(&self) -> (i64, f64, f64, f64, f64, f64) {
        (
            self.ts,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
        )
    }
}

impl<'de> Deserialize<'de> for Candle {
    /// Deserializes from the row form `[ts, open, high, low, close, volume]`, validating.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (ts, o, h, l, c, v) = <(i64, f64, f64, f64, f64, f64)>::deserialize(d)?;
        Candle::new(ts, o, h, l, c, v).map_err(serde::de::Error::custom)
    }
}

/// Why a series of candles was rejected; names the 0-based row.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum SeriesError {
    /// Row `row` is not a valid candle.
    #[error("row {row}: {source}")]
    BadCandle {
        /// 0-based row index.
        row: usize,
        /// What was wrong with it.
        source: CandleError,
    },
    /// Row `row` does not come strictly after the previous row.
    #[error("row {row}: timestamp {ts} is not after the previous row's {prev}")]
    NotIncreasing {
        /// 0-based row index.
        row: usize,
        /// This row's timestamp.
        ts: i64,
        /// The previous row's timestamp.
        prev: i64,
    },
}

/// Candles with strictly increasing timestamps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CandleSeries {
    candles: Vec<Candle>,
}

impl CandleSeries {
    /// Builds a series from validated candles, checking the order.
    ///
    /// # Errors
    /// [`SeriesError::NotIncreasing`] naming the first out-of-order row.
    pub fn new(candles: Vec<Candle>) -> Result<Self, SeriesError> {
        for (row, pair) in candles.windows(2).enumerate() {
            if pair[1].ts <= pair[0].ts {
                return Err(SeriesError::NotIncreasing {
                    row: row + 1,
                    ts: pair[1].ts,
                    prev: pair[0].ts,
                });
            }
        }
        Ok(Self { candles })
    }

    /// Validates raw rows `(ts, open, high, low, close, volume)` into a series.
    ///
    /// # Errors
    /// The first bad row, as a [`SeriesError`].
    pub fn from_rows<I>(rows: I) -> Result<Self, SeriesError>
    where
        I: IntoIterator<Item = (i64, f64, f64, f64, f64, f64)>,
    {
        let mut candles = Vec::new();
        for (row, (ts, o, h, l, c, v)) in rows.into_iter().enumerate() {
            let candle = Candle::new(ts, o, h, l, c, v)
                .map_err(|source| SeriesError::BadCandle { row, source })?;
            if let Some(prev) = candles.last().map(Candle::ts) {
                if ts <= prev {
                    return Err(SeriesError::NotIncreasing { row, ts, prev });
                }
            }
            candles.push(candle);
        }
        Ok(Self { candles })
    }

    /// The candles, oldest first.
    pub fn as_slice(&self) -> &[Candle] {
        &self.candles
    }

    /// Consumes the series.
    pub fn into_vec(self) -> Vec<Candle> {
        self.candles
    }

    /// Number of candles.
    pub fn len(&self) -> usize {
        self.candles.len()
    }

    /// True when there are no candles.
    pub fn is_empty(&self) -> bool {
        self.candles.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_candle_is_accepted() {
        let c = Candle::new(60_000, 10.0, 12.0, 9.0, 11.0, 5.0).unwrap();
        assert_eq!(c.body(), 1.0);
        assert_eq!(c.to_row(), (60_000, 10.0, 12.0, 9.0, 11.0, 5.0));
    }

    #[test]
    fn a_doji_with_equal_extremes_is_accepted() {
        assert!(Candle::new(0, 10.0, 10.0, 10.0, 10.0, 0.0).is_ok());
    }

    #[test]
    fn low_above_the_body_is_rejected() {
        let err = Candle::new(0, 10.0, 12.0, 10.5, 11.0, 1.0).unwrap_err();
        assert!(matches!(err, CandleError::LowAboveBody { .. }));
    }

    #[test]
    fn high_below_the_body_is_rejected() {
        let err = Candle::new(0, 10.0, 10.5, 9.0, 11.0, 1.0).unwrap_err();
        assert!(matches!(err, CandleError::HighBelowBody { .. }));
    }

    #[test]
    fn non_finite_zero_and_negative_prices_are_rejected() {
        for bad in [f64::NAN, f64::INFINITY, 0.0, -1.0] {
            let err = Candle::new(0, bad, 12.0, 9.0, 11.0, 1.0).unwrap_err();
            assert!(
                matches!(err, CandleError::BadPrice { field: "open", .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn negative_or_nan_volume_is_rejected() {
        assert!(matches!(
            Candle::new(0, 10.0, 12.0, 9.0, 11.0, -0.1),
            Err(CandleError::BadVolume(_))
        ));
        assert!(matches!(
            Candle::new(0, 10.0, 12.0, 9.0, 11.0, f64::NAN),
            Err(CandleError::BadVolume(_))
        ));
    }

    #[test]
    fn a_series_names_the_row_that_breaks_the_order() {
        let rows = vec![
            (0, 1.0, 1.0, 1.0, 1.0, 0.0),
            (60_000, 1.0, 1.0, 1.0, 1.0, 0.0),
            (60_000, 1.0, 1.0, 1.0, 1.0, 0.0),
        ];
        let err = CandleSeries::from_rows(rows).unwrap_err();
        assert_eq!(
            err,
            SeriesError::NotIncreasing {
                row: 2,
                ts: 60_000,
                prev: 60_000
            }
        );
        assert_eq!(
            err.to_string(),
            "row 2: timestamp 60000 is not after the previous row's 60000"
        );
    }

    #[test]
    fn a_series_names_the_row_of_a_bad_candle() {
        let rows = vec![
            (0, 1.0, 1.0, 1.0, 1.0, 0.0),
            (60_000, 1.0, 0.5, 1.0, 1.0, 0.0),
        ];
        let err = CandleSeries::from_rows(rows).unwrap_err();
        assert!(matches!(err, SeriesError::BadCandle { row: 1, .. }));
    }

    #[test]
    fn a_candle_deserializes_from_its_row_form_and_validates() {
        let c: Candle = serde_json::from_str("[0, 10, 12, 9, 11, 5]").unwrap();
        assert_eq!(c.close(), 11.0);
        assert!(serde_json::from_str::<Candle>("[0, 10, 9, 9, 11, 5]").is_err());
    }
}
