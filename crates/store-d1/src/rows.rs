//! Private row structs, shaped like the objects D1 returns (column name → JS value, every
//! number an f64), each converted once to app/domain types with `TryFrom`. A row that does
//! not translate is [`StoreError::Corrupt`].

use crate::values::{read_flag, read_int, read_opt_int};
use cl_app::ports::{
    parse_side, split_timeframes, MatrixCell, MatrixPattern, PatternId, SignalId, SignalStatus,
    StoreError, StoredPattern, StoredPatternKey, StoredSignal, StoredSymbol, SymbolId, TradeLevels,
};
use cl_domain::{Candle, Direction, PatternStatus, PatternType, Timeframe, Zone};
use serde::Deserialize;

fn parse<T, E: std::fmt::Display>(
    r: Result<T, E>,
    table: &'static str,
    id: Option<i64>,
) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::corrupt(table, id, e))
}

#[derive(Debug, Deserialize)]
pub(crate) struct SymbolRow {
    id: f64,
    symbol: String,
    exchange: String,
    is_active: f64,
    notify_enabled: f64,
    fetch_start_date: f64,
    created_at: f64,
}

impl TryFrom<SymbolRow> for StoredSymbol {
    type Error = StoreError;

    fn try_from(r: SymbolRow) -> Result<Self, StoreError> {
        const T: &str = "symbols";
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        Ok(StoredSymbol {
            id: SymbolId(id),
            symbol: r.symbol,
            exchange: r.exchange,
            is_active: read_flag(T, at, "is_active", r.is_active)?,
            notify_enabled: read_flag(T, at, "notify_enabled", r.notify_enabled)?,
            fetch_start_ms: read_int(T, at, "fetch_start_date", r.fetch_start_date)?,
            created_at: read_int(T, at, "created_at", r.created_at)?,
        })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CandleRow {
    ts: f64,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
}

impl TryFrom<CandleRow> for Candle {
    type Error = StoreError;

    fn try_from(r: CandleRow) -> Result<Self, StoreError> {
        const T: &str = "candles";
        let ts = read_int(T, None, "ts", r.ts)?;
        parse(
            Candle::new(ts, r.open, r.high, r.low, r.close, r.volume),
            T,
            Some(ts),
        )
    }
}

/// A candle tagged with the position of its series (`sql::LAST_CANDLES_MANY`).
#[derive(Debug, Deserialize)]
pub(crate) struct SeriesCandleRow {
    pub(crate) k: f64,
    ts: f64,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
}

impl TryFrom<SeriesCandleRow> for (usize, Candle) {
    type Error = StoreError;

    fn try_from(r: SeriesCandleRow) -> Result<Self, StoreError> {
        let k = read_int("candles", None, "k", r.k)?;
        let k = usize::try_from(k)
            .map_err(|_| StoreError::corrupt("candles", None, "negative series index"))?;
        let candle = Candle::try_from(CandleRow {
            ts: r.ts,
            open: r.open,
            high: r.high,
            low: r.low,
            close: r.close,
            volume: r.volume,
        })?;
        Ok((k, candle))
    }
}

/// A single nullable integer (`max(ts) AS ts`).
#[derive(Debug, Deserialize)]
pub(crate) struct TsRow {
    pub(crate) ts: Option<f64>,
}

/// A returned id (`RETURNING id`).
#[derive(Debug, Deserialize)]
pub(crate) struct IdRow {
    pub(crate) id: f64,
}

/// `SELECT EXISTS (…) AS found`.
#[derive(Debug, Deserialize)]
pub(crate) struct FoundRow {
    pub(crate) found: f64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PatternRow {
    id: f64,
    symbol_id: f64,
    tf: String,
    pattern_type: String,
    direction: String,
    zone_low: f64,
    zone_high: f64,
    swept_level: Option<f64>,
    detected_at: f64,
    expires_at: f64,
    status: String,
    filled_at: Option<f64>,
    fill_pct: f64,
    entry: f64,
    stop_loss: f64,
    tp1: f64,
    tp2: f64,
    tp3: f64,
    risk: f64,
    rr1: f64,
    rr2: f64,
    rr3: f64,
    created_at: f64,
}

impl TryFrom<PatternRow> for StoredPattern {
    type Error = StoreError;

    fn try_from(r: PatternRow) -> Result<Self, StoreError> {
        const T: &str = "patterns";
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        Ok(StoredPattern {
            id: PatternId(id),
            symbol: SymbolId(read_int(T, at, "symbol_id", r.symbol_id)?),
            tf: parse(Timeframe::parse(&r.tf), T, at)?,
            pattern_type: parse(PatternType::parse(&r.pattern_type), T, at)?,
            direction: parse(Direction::parse(&r.direction), T, at)?,
            zone: parse(Zone::new(r.zone_low, r.zone_high), T, at)?,
            swept_level: r.swept_level,
            detected_at: read_int(T, at, "detected_at", r.detected_at)?,
            expires_at: read_int(T, at, "expires_at", r.expires_at)?,
            status: parse(PatternStatus::parse(&r.status), T, at)?,
            filled_at: read_opt_int(T, at, "filled_at", r.filled_at)?,
            fill_pct: r.fill_pct,
            levels: TradeLevels {
                entry: r.entry,
                stop_loss: r.stop_loss,
                tp1: r.tp1,
                tp2: r.tp2,
                tp3: r.tp3,
                risk: r.risk,
                rr1: r.rr1,
                rr2: r.rr2,
                rr3: r.rr3,
            },
            created_at: read_int(T, at, "created_at", r.created_at)?,
        })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct KeyRow {
    tf: String,
    pattern_type: String,
    direction: String,
    detected_at: f64,
}

impl TryFrom<KeyRow> for StoredPatternKey {
    type Error = StoreError;

    fn try_from(r: KeyRow) -> Result<Self, StoreError> {
        const T: &str = "patterns";
        Ok(StoredPatternKey {
            tf: parse(Timeframe::parse(&r.tf), T, None)?,
            pattern_type: parse(PatternType::parse(&r.pattern_type), T, None)?,
            direction: parse(Direction::parse(&r.direction), T, None)?,
            detected_at: read_int(T, None, "detected_at", r.detected_at)?,
        })
    }
}

/// A row `RETURNING` from the batch pattern insert: the new id and its key.
#[derive(Debug, Deserialize)]
pub(crate) struct InsertedRow {
    id: f64,
    symbol_id: f64,
    tf: String,
    pattern_type: String,
    direction: String,
    detected_at: f64,
}

impl InsertedRow {
    /// The symbol, the key and the new id.
    pub(crate) fn into_parts(self) -> Result<(SymbolId, StoredPatternKey, PatternId), StoreError> {
        const T: &str = "patterns";
        let id = read_int(T, None, "id", self.id)?;
        let symbol = read_int(T, Some(id), "symbol_id", self.symbol_id)?;
        let key = KeyRow {
            tf: self.tf,
            pattern_type: self.pattern_type,
            direction: self.direction,
            detected_at: self.detected_at,
        };
        Ok((
            SymbolId(symbol),
            StoredPatternKey::try_from(key)?,
            PatternId(id),
        ))
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct MatrixRow {
    symbol_id: f64,
    symbol: String,
    tf: String,
    pattern_id: Option<f64>,
    pattern_type: Option<String>,
    direction: Option<String>,
    zone_low: Option<f64>,
    zone_high: Option<f64>,
    detected_at: Option<f64>,
    active_count: f64,
}

impl TryFrom<MatrixRow> for MatrixCell {
    type Error = StoreError;

    fn try_from(r: MatrixRow) -> Result<Self, StoreError> {
        const T: &str = "patterns";
        let symbol = SymbolId(read_int("symbols", None, "id", r.symbol_id)?);
        let tf = parse(Timeframe::parse(&r.tf), T, None)?;
        let count = read_int(T, None, "active_count", r.active_count)?;
        let latest = match r.pattern_id {
            None => None,
            Some(id) => {
                let id = read_int(T, None, "id", id)?;
                let at = Some(id);
                let missing = || StoreError::corrupt(T, at, "matrix cell with a partial pattern");
                Some(MatrixPattern {
                    id: PatternId(id),
                    pattern_type: parse(
                        PatternType::parse(r.pattern_type.as_deref().ok_or_else(missing)?),
                        T,
                        at,
                    )?,
                    direction: parse(
                        Direction::parse(r.direction.as_deref().ok_or_else(missing)?),
                        T,
                        at,
                    )?,
                    zone: parse(
                        Zone::new(
                            r.zone_low.ok_or_else(missing)?,
                            r.zone_high.ok_or_else(missing)?,
                        ),
                        T,
                        at,
                    )?,
                    detected_at: read_int(
                        T,
                        at,
                        "detected_at",
                        r.detected_at.ok_or_else(missing)?,
                    )?,
                })
            }
        };
        Ok(MatrixCell {
            symbol,
            symbol_name: r.symbol,
            tf,
            latest,
            active_count: parse(u32::try_from(count), T, None)?,
        })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignalRow {
    id: f64,
    symbol_id: f64,
    direction: String,
    entry: f64,
    stop_loss: f64,
    tp1: f64,
    tp2: f64,
    tp3: f64,
    risk_reward: f64,
    confluence_score: f64,
    timeframes_aligned: String,
    pattern_id: Option<f64>,
    status: String,
    created_at: f64,
    notified_at: Option<f64>,
}

impl TryFrom<SignalRow> for StoredSignal {
    type Error = StoreError;

    fn try_from(r: SignalRow) -> Result<Self, StoreError> {
        const T: &str = "signals";
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        let score = read_int(T, at, "confluence_score", r.confluence_score)?;
        Ok(StoredSignal {
            id: SignalId(id),
            symbol: SymbolId(read_int(T, at, "symbol_id", r.symbol_id)?),
            direction: parse(parse_side(&r.direction), T, at)?,
            entry: r.entry,
            stop_loss: r.stop_loss,
            tp1: r.tp1,
            tp2: r.tp2,
            tp3: r.tp3,
            risk_reward: r.risk_reward,
            confluence_score: parse(u8::try_from(score), T, at)?,
            timeframes_aligned: parse(split_timeframes(&r.timeframes_aligned), T, at)?,
            pattern_id: read_opt_int(T, at, "pattern_id", r.pattern_id)?.map(PatternId),
            status: parse(SignalStatus::parse(&r.status), T, at)?,
            created_at: read_int(T, at, "created_at", r.created_at)?,
            notified_at: read_opt_int(T, at, "notified_at", r.notified_at)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbol_row() -> SymbolRow {
        SymbolRow {
            id: 3.0,
            symbol: "BTC/USDT".into(),
            exchange: "binance".into(),
            is_active: 1.0,
            notify_enabled: 0.0,
            fetch_start_date: 9_007_199_254_740_992.0,
            created_at: 2_147_483_655.0,
        }
    }

    #[test]
    fn a_symbol_row_converts_with_exact_large_integers() {
        let s = StoredSymbol::try_from(symbol_row()).unwrap();
        assert_eq!(s.id, SymbolId(3));
        assert!(s.is_active && !s.notify_enabled);
        assert_eq!(s.fetch_start_ms, 1 << 53);
        assert_eq!(s.created_at, (1 << 31) + 7);
    }

    #[test]
    fn a_row_with_a_fractional_time_is_corrupt_and_names_its_id() {
        let mut r = symbol_row();
        r.created_at = 1.5;
        assert!(matches!(
            StoredSymbol::try_from(r),
            Err(StoreError::Corrupt {
                table: "symbols",
                id: Some(3),
                ..
            })
        ));
    }

    #[test]
    fn an_empty_matrix_cell_has_no_pattern() {
        let r = MatrixRow {
            symbol_id: 1.0,
            symbol: "BTC/USDT".into(),
            tf: "4h".into(),
            pattern_id: None,
            pattern_type: None,
            direction: None,
            zone_low: None,
            zone_high: None,
            detected_at: None,
            active_count: 0.0,
        };
        let cell = MatrixCell::try_from(r).unwrap();
        assert_eq!(
            (cell.tf, cell.latest, cell.active_count),
            (Timeframe::H4, None, 0)
        );
    }

    #[test]
    fn a_matrix_cell_with_a_partial_pattern_is_corrupt() {
        let r = MatrixRow {
            symbol_id: 1.0,
            symbol: "BTC/USDT".into(),
            tf: "4h".into(),
            pattern_id: Some(9.0),
            pattern_type: Some("imbalance".into()),
            direction: None,
            zone_low: Some(1.0),
            zone_high: Some(2.0),
            detected_at: Some(5.0),
            active_count: 1.0,
        };
        assert!(matches!(
            MatrixCell::try_from(r),
            Err(StoreError::Corrupt { id: Some(9), .. })
        ));
    }

    #[test]
    fn a_signal_row_with_an_unknown_side_is_corrupt() {
        let r = SignalRow {
            id: 1.0,
            symbol_id: 1.0,
            direction: "bullish".into(),
            entry: 1.0,
            stop_loss: 1.0,
            tp1: 1.0,
            tp2: 1.0,
            tp3: 1.0,
            risk_reward: 1.0,
            confluence_score: 3.0,
            timeframes_aligned: "5m,1h".into(),
            pattern_id: None,
            status: "pending".into(),
            created_at: 1.0,
            notified_at: None,
        };
        assert!(matches!(
            StoredSignal::try_from(r),
            Err(StoreError::Corrupt {
                table: "signals",
                ..
            })
        ));
    }
}
