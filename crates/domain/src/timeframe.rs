//! Timeframes and their bucket arithmetic (detection.md §1), plus the per-TF constants the
//! spec attaches to each one (expiry §4.7, live dedup threshold §4.3, backtest lookback §8).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

const MINUTE_MS: i64 = 60_000;

/// A timeframe string that is not one of `1m 5m 15m 30m 1h 2h 4h 1d`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown timeframe {0:?} (expected one of 1m, 5m, 15m, 30m, 1h, 2h, 4h, 1d)")]
pub struct TimeframeError(pub String);

/// One of the eight supported timeframes, ordered from shortest to longest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Timeframe {
    /// 1 minute.
    #[serde(rename = "1m")]
    M1,
    /// 5 minutes.
    #[serde(rename = "5m")]
    M5,
    /// 15 minutes.
    #[serde(rename = "15m")]
    M15,
    /// 30 minutes.
    #[serde(rename = "30m")]
    M30,
    /// 1 hour.
    #[serde(rename = "1h")]
    H1,
    /// 2 hours.
    #[serde(rename = "2h")]
    H2,
    /// 4 hours.
    #[serde(rename = "4h")]
    H4,
    /// 1 day.
    #[serde(rename = "1d")]
    D1,
}

impl Timeframe {
    /// All eight, shortest first.
    pub const ALL: [Timeframe; 8] = [
        Timeframe::M1,
        Timeframe::M5,
        Timeframe::M15,
        Timeframe::M30,
        Timeframe::H1,
        Timeframe::H2,
        Timeframe::H4,
        Timeframe::D1,
    ];

    /// The seven that vote, fill the matrix and can be filtered on: 5m..1d.
    pub const VOTING: [Timeframe; 7] = [
        Timeframe::M5,
        Timeframe::M15,
        Timeframe::M30,
        Timeframe::H1,
        Timeframe::H2,
        Timeframe::H4,
        Timeframe::D1,
    ];

    /// The seven aggregated from 1m: every TF above 1m.
    pub const AGGREGATED: [Timeframe; 7] = Self::VOTING;

    /// Parses `1m`, `5m`, … `1d` (exact, case-sensitive).
    ///
    /// # Errors
    /// [`TimeframeError`] for anything else.
    pub fn parse(s: &str) -> Result<Self, TimeframeError> {
        Ok(match s {
            "1m" => Self::M1,
            "5m" => Self::M5,
            "15m" => Self::M15,
            "30m" => Self::M30,
            "1h" => Self::H1,
            "2h" => Self::H2,
            "4h" => Self::H4,
            "1d" => Self::D1,
            other => return Err(TimeframeError(other.chars().take(16).collect())),
        })
    }

    /// The canonical string, e.g. `"15m"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::M1 => "1m",
            Self::M5 => "5m",
            Self::M15 => "15m",
            Self::M30 => "30m",
            Self::H1 => "1h",
            Self::H2 => "2h",
            Self::H4 => "4h",
            Self::D1 => "1d",
        }
    }

    /// Length in minutes.
    pub const fn minutes(self) -> i64 {
        match self {
            Self::M1 => 1,
            Self::M5 => 5,
            Self::M15 => 15,
            Self::M30 => 30,
            Self::H1 => 60,
            Self::H2 => 120,
            Self::H4 => 240,
            Self::D1 => 1440,
        }
    }

    /// Length in milliseconds.
    pub const fn millis(self) -> i64 {
        self.minutes() * MINUTE_MS
    }

    /// Start of the bucket containing `ts`: the greatest multiple of the TF length since the
    /// epoch that is `<= ts` (UTC-midnight aligned for every TF here).
    pub const fn bucket_start(self, ts: i64) -> i64 {
        ts - ts.rem_euclid(self.millis())
    }

    /// Whether this TF votes in confluence and appears in the matrix (5m..1d).
    pub const fn votes(self) -> bool {
        !matches!(self, Self::M1)
    }

    /// How long a pattern of this TF stays active before it expires (detection.md §4.7).
    pub const fn expiry_ms(self) -> i64 {
        let hours = match self {
            Self::M1 => 4,
            Self::M5 => 12,
            Self::M15 => 24,
            Self::M30 => 48,
            Self::H1 => 72,
            Self::H2 => 120,
            Self::H4 => 168,
            Self::D1 => 336,
        };
        hours * 60 * MINUTE_MS
    }

    /// Overlap at or above which a live candidate is dropped against an active pattern
    /// (detection.md §4.3).
    pub const fn live_dedup_threshold(self) -> f64 {
        match self {
            Self::M1 => 0.50,
            Self::M5 => 0.55,
            Self::M15 => 0.60,
            Self::M30 => 0.65,
            Self::H1 => 0.70,
            Self::H2 => 0.75,
            Self::H4 => 0.80,
            Self::D1 => 0.85,
        }
    }

    /// Backtest entry lookback window in candles (detection.md §8); `None` for 1m, which is
    /// not backtested.
    pub const fn backtest_lookback(self) -> Option<usize> {
        match self {
            Self::M1 => None,
            Self::M5 => Some(200),
            Self::M15 => Some(150),
            Self::M30 => Some(120),
            Self::H1 => Some(100),
            Self::H2 => Some(80),
            Self::H4 => Some(60),
            Self::D1 => Some(30),
        }
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Timeframe {
    type Err = TimeframeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_timeframe_round_trips_through_its_string() {
        for tf in Timeframe::ALL {
            assert_eq!(Timeframe::parse(tf.as_str()), Ok(tf));
            assert_eq!(serde_json::to_string(&tf).unwrap(), format!("\"{tf}\""));
        }
    }

    #[test]
    fn unknown_timeframes_are_rejected() {
        for bad in ["", "1M", "3m", "1w", "60m", " 1m"] {
            assert!(Timeframe::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn buckets_align_to_multiples_of_the_length_since_the_epoch() {
        let ts = 1_700_000_123_456; // 2023-11-14T22:15:23.456Z
        assert_eq!(Timeframe::M1.bucket_start(ts), 1_700_000_100_000);
        assert_eq!(Timeframe::M5.bucket_start(ts), 1_700_000_100_000);
        assert_eq!(Timeframe::M30.bucket_start(ts), 1_699_999_200_000);
        assert_eq!(Timeframe::H4.bucket_start(ts), 1_699_992_000_000);
        assert_eq!(Timeframe::D1.bucket_start(ts), 1_699_920_000_000);
        assert_eq!(Timeframe::D1.bucket_start(ts) % 86_400_000, 0);
    }

    #[test]
    fn only_one_minute_does_not_vote() {
        assert!(!Timeframe::M1.votes());
        assert!(Timeframe::VOTING.iter().all(|tf| tf.votes()));
    }

    #[test]
    fn expiry_and_thresholds_follow_the_spec_tables() {
        assert_eq!(Timeframe::M1.expiry_ms(), 4 * 3_600_000);
        assert_eq!(Timeframe::D1.expiry_ms(), 336 * 3_600_000);
        assert_eq!(Timeframe::M30.live_dedup_threshold(), 0.65);
        assert_eq!(Timeframe::H4.backtest_lookback(), Some(60));
    }
}
