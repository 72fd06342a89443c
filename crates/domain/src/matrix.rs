//! The pattern matrix (detection.md §7): for each active symbol and each TF from 5m to 1d, the
//! direction of the active pattern with the greatest `detected_at` (ties: the higher id), else
//! neutral, plus the cell's type, active count and zone.
//!
//! The stores compute this in one query; [`build_matrix`] is the reference implementation that
//! the in-memory store uses and the store tests compare against.

use serde::{Deserialize, Serialize};

use crate::lifecycle::{latest, Pattern};
use crate::{Direction, PatternType, Timeframe, Zone};

/// A direction or neutral: a matrix cell or a confluence with no majority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Bias {
    /// Bullish.
    Bullish,
    /// Bearish.
    Bearish,
    /// No pattern, or a tie.
    Neutral,
}

impl Bias {
    /// The direction, `None` when neutral.
    pub const fn direction(self) -> Option<Direction> {
        match self {
            Self::Bullish => Some(Direction::Bullish),
            Self::Bearish => Some(Direction::Bearish),
            Self::Neutral => None,
        }
    }
}

impl From<Direction> for Bias {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Bullish => Self::Bullish,
            Direction::Bearish => Self::Bearish,
        }
    }
}

/// One matrix cell: a symbol on one TF.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatrixCell {
    /// The TF (5m..1d).
    pub timeframe: Timeframe,
    /// Direction of the latest active pattern, or neutral.
    pub direction: Bias,
    /// Type of the latest active pattern.
    pub pattern_type: Option<PatternType>,
    /// Id of the latest active pattern.
    pub pattern_id: Option<i64>,
    /// Zone of the latest active pattern.
    pub zone: Option<Zone>,
    /// Number of active patterns of this symbol and TF (any type and direction).
    pub active_count: usize,
}

/// One matrix row: a symbol with its seven cells, 5m first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatrixRow {
    /// Canonical symbol.
    pub symbol: String,
    /// One cell per TF of [`Timeframe::VOTING`], in that order.
    pub cells: Vec<MatrixCell>,
}

/// The matrix for `symbols` (rows in the given order) from `patterns`. Non-active patterns,
/// 1m patterns and patterns of symbols not listed are ignored; a listed symbol without active
/// patterns gets a row of neutral cells.
pub fn build_matrix<S: AsRef<str>>(symbols: &[S], patterns: &[Pattern]) -> Vec<MatrixRow> {
    symbols
        .iter()
        .map(|symbol| {
            let symbol = symbol.as_ref();
            let cells = Timeframe::VOTING
                .iter()
                .map(|&tf| {
                    let in_cell =
                        |p: &Pattern| p.is_active() && p.timeframe == tf && p.symbol == symbol;
                    let top = latest(patterns, in_cell);
                    MatrixCell {
                        timeframe: tf,
                        direction: top.map_or(Bias::Neutral, |p| p.direction.into()),
                        pattern_type: top.map(|p| p.pattern_type),
                        pattern_id: top.map(|p| p.id),
                        zone: top.map(|p| p.zone),
                        active_count: patterns.iter().filter(|p| in_cell(p)).count(),
                    }
                })
                .collect();
            MatrixRow {
                symbol: symbol.to_owned(),
                cells,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::tests::pattern;
    use crate::PatternStatus;
    use Direction::{Bearish, Bullish};
    use PatternType::{Imbalance, LiquiditySweep, OrderBlock};
    use Timeframe::{D1, H1, M1, M5};

    fn cell<'a>(rows: &'a [MatrixRow], symbol: &str, tf: Timeframe) -> &'a MatrixCell {
        rows.iter()
            .find(|r| r.symbol == symbol)
            .and_then(|r| r.cells.iter().find(|c| c.timeframe == tf))
            .unwrap()
    }

    #[test]
    fn a_symbol_without_patterns_is_neutral_on_all_seven_tfs() {
        let rows = build_matrix(&["BTC/USDT"], &[]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].cells.len(), 7);
        let tfs: Vec<_> = rows[0].cells.iter().map(|c| c.timeframe).collect();
        assert_eq!(tfs, Timeframe::VOTING);
        assert!(rows[0].cells.iter().all(|c| c.direction == Bias::Neutral
            && c.active_count == 0
            && c.zone.is_none()
            && c.pattern_type.is_none()));
    }

    #[test]
    fn the_latest_active_pattern_sets_the_cell_and_all_active_ones_are_counted() {
        let mut filled = pattern(9, H1, Imbalance, Bullish, 1.0, 2.0, 9_000);
        filled.status = PatternStatus::Filled;
        let ps = [
            pattern(1, H1, Imbalance, Bullish, 100.0, 110.0, 1_000),
            pattern(2, H1, OrderBlock, Bearish, 120.0, 125.0, 3_000),
            pattern(3, H1, LiquiditySweep, Bullish, 90.0, 95.0, 2_000),
            filled,
        ];
        let rows = build_matrix(&["BTC/USDT"], &ps);
        let c = cell(&rows, "BTC/USDT", H1);
        assert_eq!(c.direction, Bias::Bearish);
        assert_eq!(c.pattern_type, Some(OrderBlock));
        assert_eq!(c.pattern_id, Some(2));
        assert_eq!(c.zone, Some(Zone::new(120.0, 125.0).unwrap()));
        assert_eq!(c.active_count, 3);
    }

    #[test]
    fn a_tie_in_detected_at_goes_to_the_higher_id() {
        let ps = [
            pattern(5, D1, Imbalance, Bullish, 100.0, 110.0, 1_000),
            pattern(6, D1, Imbalance, Bearish, 100.0, 110.0, 1_000),
            pattern(4, D1, OrderBlock, Bullish, 100.0, 110.0, 1_000),
        ];
        let rows = build_matrix(&["BTC/USDT"], &ps);
        let c = cell(&rows, "BTC/USDT", D1);
        assert_eq!((c.direction, c.pattern_id), (Bias::Bearish, Some(6)));
    }

    #[test]
    fn one_minute_and_unlisted_symbols_stay_out_of_the_matrix() {
        let mut eth = pattern(2, M5, Imbalance, Bearish, 100.0, 110.0, 1_000);
        eth.symbol = "ETH/USDT".into();
        let ps = [
            pattern(1, M1, Imbalance, Bullish, 100.0, 110.0, 1_000),
            eth.clone(),
        ];
        let rows = build_matrix(&["BTC/USDT"], &ps);
        assert_eq!(rows.len(), 1);
        assert!(rows[0].cells.iter().all(|c| c.direction == Bias::Neutral));
        let both = build_matrix(&["ETH/USDT", "BTC/USDT"], &ps);
        assert_eq!(both[0].symbol, "ETH/USDT");
        assert_eq!(cell(&both, "ETH/USDT", M5).direction, Bias::Bearish);
        assert_eq!(cell(&both, "BTC/USDT", M5).direction, Bias::Neutral);
    }

    #[test]
    fn bias_serializes_in_lower_case() {
        assert_eq!(
            serde_json::to_string(&Bias::Neutral).unwrap(),
            "\"neutral\""
        );
        assert_eq!(Bias::from(Bullish).direction(), Some(Bullish));
    }
}
