//! The one place where the domain's pattern and signal values meet the ports' rows.
//!
//! The domain names symbols by their canonical string and ids by plain `i64`; the rows use
//! [`SymbolId`] / [`PatternId`] and the stored shapes. Every conversion the use cases need is
//! here, so a field added on either side shows up as one compile error in one file.

use crate::ports::{NewPattern, NewSignal, PatternId, StoredPattern, SymbolId, TradeLevels};
use cl_domain::levels::TradingLevels;
use cl_domain::lifecycle::{NewPattern as DomainNewPattern, Pattern};
use cl_domain::signal::NewSignal as DomainNewSignal;

/// Stored trade levels → the domain's.
pub fn levels_to_domain(l: &TradeLevels) -> TradingLevels {
    TradingLevels {
        entry: l.entry,
        stop_loss: l.stop_loss,
        tp1: l.tp1,
        tp2: l.tp2,
        tp3: l.tp3,
        risk: l.risk,
        rr1: l.rr1,
        rr2: l.rr2,
        rr3: l.rr3,
    }
}

/// The domain's trade levels → the stored ones.
pub fn levels_to_row(l: &TradingLevels) -> TradeLevels {
    TradeLevels {
        entry: l.entry,
        stop_loss: l.stop_loss,
        tp1: l.tp1,
        tp2: l.tp2,
        tp3: l.tp3,
        risk: l.risk,
        rr1: l.rr1,
        rr2: l.rr2,
        rr3: l.rr3,
    }
}

/// A stored pattern as the domain sees it, named by its symbol's canonical string.
pub fn pattern_to_domain(row: &StoredPattern, symbol: &str) -> Pattern {
    Pattern {
        id: row.id.0,
        symbol: symbol.to_owned(),
        timeframe: row.tf,
        pattern_type: row.pattern_type,
        direction: row.direction,
        zone: row.zone,
        swept_level: row.swept_level,
        detected_at: row.detected_at,
        expires_at: row.expires_at,
        status: row.status,
        fill_pct: row.fill_pct,
        filled_at: row.filled_at,
        levels: levels_to_domain(&row.levels),
    }
}

/// A domain pattern about to be stored → the row to insert, created at `created_at` (the run's
/// now). Status, fill and `filled_at` are not part of the insert: a new row is always `active`
/// at 0% (detection.md §4.4), exactly what the domain's new pattern holds.
pub fn new_pattern_to_row(p: &DomainNewPattern, symbol: SymbolId, created_at: i64) -> NewPattern {
    NewPattern {
        symbol,
        tf: p.timeframe,
        pattern_type: p.pattern_type,
        direction: p.direction,
        zone: p.zone,
        swept_level: p.swept_level,
        detected_at: p.detected_at,
        expires_at: p.expires_at,
        levels: levels_to_row(&p.levels),
        created_at,
    }
}

/// A domain signal → the row to insert. The confluence score is at most 7 in the domain; a
/// larger value (impossible) saturates and the store's validation rejects it.
pub fn new_signal_to_row(s: &DomainNewSignal, symbol: SymbolId) -> NewSignal {
    NewSignal {
        symbol,
        direction: s.direction,
        entry: s.levels.entry,
        stop_loss: s.levels.stop_loss,
        tp1: s.levels.tp1,
        tp2: s.levels.tp2,
        tp3: s.levels.tp3,
        risk_reward: s.levels.risk_reward,
        confluence_score: u8::try_from(s.confluence_score).unwrap_or(u8::MAX),
        timeframes_aligned: s.timeframes_aligned.clone(),
        pattern_id: Some(PatternId(s.pattern_id)),
        created_at: s.created_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cl_domain::{Direction, PatternStatus, PatternType, Timeframe, Zone};

    fn levels() -> TradeLevels {
        TradeLevels {
            entry: 1.0,
            stop_loss: 2.0,
            tp1: 3.0,
            tp2: 4.0,
            tp3: 5.0,
            risk: 6.0,
            rr1: 7.0,
            rr2: 8.0,
            rr3: 9.0,
        }
    }

    #[test]
    fn levels_round_trip_field_by_field() {
        assert_eq!(levels_to_row(&levels_to_domain(&levels())), levels());
    }

    #[test]
    fn a_stored_pattern_keeps_every_field_in_the_domain() {
        let zone = Zone::new(10.0, 11.0).unwrap();
        let row = StoredPattern {
            id: PatternId(4),
            symbol: SymbolId(2),
            tf: Timeframe::H4,
            pattern_type: PatternType::OrderBlock,
            direction: Direction::Bearish,
            zone,
            swept_level: Some(10.5),
            detected_at: 100,
            expires_at: 200,
            status: PatternStatus::Filled,
            filled_at: Some(150),
            fill_pct: 100.0,
            levels: levels(),
            created_at: 120,
        };
        let p = pattern_to_domain(&row, "ETH/USDT");
        assert_eq!(
            (
                p.id,
                p.symbol.as_str(),
                p.timeframe,
                p.pattern_type,
                p.direction
            ),
            (
                4,
                "ETH/USDT",
                Timeframe::H4,
                PatternType::OrderBlock,
                Direction::Bearish
            )
        );
        assert_eq!((p.zone, p.swept_level), (zone, Some(10.5)));
        assert_eq!((p.detected_at, p.expires_at), (100, 200));
        assert_eq!(
            (p.status, p.filled_at, p.fill_pct),
            (PatternStatus::Filled, Some(150), 100.0)
        );
        assert_eq!(levels_to_row(&p.levels), levels());
    }
}
