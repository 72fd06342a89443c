//! Pattern vocabulary: types, directions, statuses, zones and raw detections
//! (detection.md §2–§3).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A string that names no variant of the enum it was parsed into.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownVariant {
    /// What was being parsed ("direction", "pattern type", …).
    pub kind: &'static str,
    /// The (truncated) input.
    pub value: String,
}

impl UnknownVariant {
    fn new(kind: &'static str, value: &str) -> Self {
        Self {
            kind,
            value: value.chars().take(32).collect(),
        }
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal, { $($(#[$vmeta:meta])* $variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $s)] $variant, )+
        }

        // By hand rather than derived: utoipa's derive does not see a `serde(rename)` whose
        // string comes from a macro argument, so it would list the variant names.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($s),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical lower-case string.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $s, )+ }
            }

            /// Parses the canonical string (exact match).
            ///
            /// # Errors
            /// [`UnknownVariant`] for anything else.
            pub fn parse(s: &str) -> Result<Self, UnknownVariant> {
                match s {
                    $( $s => Ok($name::$variant), )+
                    other => Err(UnknownVariant::new($kind, other)),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

string_enum!(
    /// The three Smart-Money-Concepts pattern types, in the order the detectors run.
    PatternType, "pattern type", {
        /// Fair value gap ("FVG").
        Imbalance => "imbalance",
        /// Order block ("OB").
        OrderBlock => "order_block",
        /// Liquidity sweep ("LS").
        LiquiditySweep => "liquidity_sweep",
    }
);

impl PatternType {
    /// The short label the UI and notifications show.
    pub const fn abbreviation(self) -> &'static str {
        match self {
            Self::Imbalance => "FVG",
            Self::OrderBlock => "OB",
            Self::LiquiditySweep => "LS",
        }
    }
}

string_enum!(
    /// Direction of a pattern. Within one index, bullish is emitted before bearish, which the
    /// derived `Ord` reflects.
    Direction, "direction", {
        /// Expects price to rise.
        Bullish => "bullish",
        /// Expects price to fall.
        Bearish => "bearish",
    }
);

impl Direction {
    /// The trade side for this direction: `long` or `short`.
    pub const fn side(self) -> &'static str {
        match self {
            Self::Bullish => "long",
            Self::Bearish => "short",
        }
    }

    /// The other direction.
    pub const fn opposite(self) -> Self {
        match self {
            Self::Bullish => Self::Bearish,
            Self::Bearish => Self::Bullish,
        }
    }
}

string_enum!(
    /// Lifecycle status of a stored pattern (detection.md §4.5, §4.7).
    PatternStatus, "pattern status", {
        /// Still tradable.
        Active => "active",
        /// Price went through the zone.
        Filled => "filled",
        /// A sweep whose level failed.
        Invalidated => "invalidated",
        /// Past `expires_at` while still active.
        Expired => "expired",
    }
);

/// Why a zone could not be built.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ZoneError {
    /// A bound is NaN or infinite.
    #[error("zone bounds must be finite")]
    NotFinite,
    /// `low > high`.
    #[error("zone low {low} is above high {high}")]
    Inverted {
        /// The low bound.
        low: f64,
        /// The high bound.
        high: f64,
    },
}

/// A price zone `[low, high]` with finite bounds and `low <= high`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Zone {
    low: f64,
    high: f64,
}

impl Zone {
    /// Builds a zone.
    ///
    /// # Errors
    /// [`ZoneError`] when a bound is not finite or `low > high`.
    pub fn new(low: f64, high: f64) -> Result<Self, ZoneError> {
        if !(low.is_finite() && high.is_finite()) {
            return Err(ZoneError::NotFinite);
        }
        if low > high {
            return Err(ZoneError::Inverted { low, high });
        }
        Ok(Self { low, high })
    }

    /// Lower bound.
    #[inline]
    pub fn low(&self) -> f64 {
        self.low
    }

    /// Upper bound.
    #[inline]
    pub fn high(&self) -> f64 {
        self.high
    }

    /// `high - low`.
    #[inline]
    pub fn size(&self) -> f64 {
        self.high - self.low
    }

    /// Midpoint.
    #[inline]
    pub fn mid(&self) -> f64 {
        (self.low + self.high) / 2.0
    }

    /// The size test of detection.md §2: `low > 0` and `size / low * 100 >= min_zone_pct`.
    #[inline]
    pub fn passes_size(&self, min_zone_pct: f64) -> bool {
        self.low > 0.0 && (self.high - self.low) / self.low * 100.0 >= min_zone_pct
    }

    /// Overlap ratio of detection.md §2: the intersection length over the smaller size; 0 when
    /// the zones do not overlap or either has size 0.
    #[inline]
    pub fn overlap(&self, other: &Zone) -> f64 {
        let smaller = self.size().min(other.size());
        if smaller <= 0.0 {
            return 0.0;
        }
        let inter = self.high.min(other.high) - self.low.max(other.low);
        if inter <= 0.0 {
            0.0
        } else {
            inter / smaller
        }
    }
}

/// One raw detection, as emitted by a detector (detection.md §2): the loop row `index`
/// (0-based into the candles the detector ran on), `detected_at = ts[index]`, and the zone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Detection {
    /// The detector's loop row i.
    pub index: usize,
    /// `ts[index]`, UTC ms.
    pub detected_at: i64,
    /// Which detector.
    pub pattern_type: PatternType,
    /// Which direction.
    pub direction: Direction,
    /// The zone; always passes the size test it was detected with.
    pub zone: Zone,
    /// For sweeps, the swing price that was swept.
    pub swept_level: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_their_strings() {
        for t in PatternType::ALL {
            assert_eq!(PatternType::parse(t.as_str()), Ok(*t));
        }
        for d in Direction::ALL {
            assert_eq!(Direction::parse(d.as_str()), Ok(*d));
        }
        for s in PatternStatus::ALL {
            assert_eq!(PatternStatus::parse(s.as_str()), Ok(*s));
        }
        assert!(PatternType::parse("fvg").is_err());
        assert!(Direction::parse("long").is_err());
    }

    #[test]
    fn bullish_sorts_before_bearish() {
        assert!(Direction::Bullish < Direction::Bearish);
    }

    #[test]
    fn the_size_test_uses_percent_of_the_low() {
        let z = Zone::new(100.0, 100.15).unwrap();
        let _ = z; // 100.15 is 0.15% only up to float rounding; the boundary is tested with exact values below.
        assert!(Zone::new(100.0, 100.2).unwrap().passes_size(0.15));
        assert!(!Zone::new(100.0, 100.1).unwrap().passes_size(0.15));
        assert!(!Zone::new(0.0, 100.0).unwrap().passes_size(0.15));
    }

    #[test]
    fn overlap_is_relative_to_the_smaller_zone() {
        let a = Zone::new(100.0, 110.0).unwrap();
        let b = Zone::new(105.0, 107.0).unwrap();
        assert_eq!(a.overlap(&b), 1.0);
        let c = Zone::new(108.0, 118.0).unwrap();
        assert!((a.overlap(&c) - 0.2).abs() < 1e-12);
        let d = Zone::new(120.0, 130.0).unwrap();
        assert_eq!(a.overlap(&d), 0.0);
        let point = Zone::new(105.0, 105.0).unwrap();
        assert_eq!(a.overlap(&point), 0.0);
    }

    #[test]
    fn inverted_or_non_finite_zones_are_rejected() {
        assert!(Zone::new(2.0, 1.0).is_err());
        assert!(Zone::new(f64::NAN, 1.0).is_err());
    }
}
