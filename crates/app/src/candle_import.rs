//! Candle import text (the one parser of `cryptolens import` AND the admin import route):
//! CSV with the header `timestamp,open,high,low,close,volume`, or JSON as an array of
//! `[ts, o, h, l, c, v]` rows or an object whose `candles` key holds them.
//!
//! Every row is validated with the candle rules of detection.md §1 (`Candle::new`: finite
//! positive prices, `low ≤ min(open, close)`, `high ≥ max(open, close)`, non-negative volume)
//! plus strictly increasing timestamps. A bad row is REPORTED (1-based data row, its text line
//! for CSV, the reason) and skipped; it never fails the import. Only a text that is neither
//! shape is an error.

use cl_domain::Candle;
use serde_json::Value;

/// The text's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Header line plus comma-separated rows.
    Csv,
    /// A JSON array of rows (or `{"candles": [...]}`).
    Json,
}

impl Format {
    /// `csv` / `json`.
    ///
    /// # Errors
    /// [`ShapeError`] for anything else.
    pub fn parse(s: &str) -> Result<Self, ShapeError> {
        match s {
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            _ => Err(ShapeError("format must be csv or json".into())),
        }
    }

    /// What the text looks like: JSON when it starts with `[` or `{`.
    pub fn sniff(text: &str) -> Self {
        let t = text.trim_start();
        if t.starts_with('[') || t.starts_with('{') {
            Self::Json
        } else {
            Self::Csv
        }
    }
}

/// The text is neither the CSV nor the JSON shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShapeError(pub String);

/// One raw row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    /// 1-based line of the text (CSV only).
    pub line: Option<usize>,
    /// The values as text.
    pub values: Vec<String>,
}

/// One skipped row.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    /// 1-based data row.
    pub row: usize,
    /// 1-based text line (CSV).
    pub line: Option<usize>,
    /// Why.
    pub reason: String,
}

/// The raw rows of `text` read as `format`.
///
/// # Errors
/// [`ShapeError`] when the text is not that shape.
pub fn raw_rows(text: &str, format: Format) -> Result<Vec<RawRow>, ShapeError> {
    match format {
        Format::Json => json_rows(text),
        Format::Csv => csv_rows(text),
    }
}

fn json_rows(text: &str) -> Result<Vec<RawRow>, ShapeError> {
    let doc: Value =
        serde_json::from_str(text.trim_start()).map_err(|e| ShapeError(format!("JSON: {e}")))?;
    let rows = match doc {
        Value::Array(rows) => rows,
        Value::Object(mut o) => match o.remove("candles") {
            Some(Value::Array(rows)) => rows,
            _ => return Err(ShapeError("no \"candles\" array".into())),
        },
        _ => return Err(ShapeError("not an array or object".into())),
    };
    Ok(rows
        .into_iter()
        .map(|r| RawRow {
            line: None,
            values: match r {
                Value::Array(vals) => vals
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                    .collect(),
                _ => Vec::new(),
            },
        })
        .collect())
}

fn csv_rows(text: &str) -> Result<Vec<RawRow>, ShapeError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let header = lines
        .next()
        .map(|(_, l)| l.replace(' ', ""))
        .unwrap_or_default();
    if header != "timestamp,open,high,low,close,volume" {
        return Err(ShapeError(format!(
            "expected the header timestamp,open,high,low,close,volume, found {:?}",
            header.chars().take(80).collect::<String>()
        )));
    }
    Ok(lines
        .map(|(i, l)| RawRow {
            line: Some(i + 1),
            values: l.split(',').map(|f| f.trim().to_owned()).collect(),
        })
        .collect())
}

/// Validates rows: the good candles (strictly increasing) and the skipped rows.
pub fn validate(rows: &[RawRow]) -> (Vec<Candle>, Vec<BadRow>) {
    let mut good: Vec<Candle> = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in rows.iter().enumerate() {
        let r = &raw.values;
        let mut fail = |reason: String| {
            bad.push(BadRow {
                row: i + 1,
                line: raw.line,
                reason,
            });
        };
        if r.len() != 6 {
            fail(format!("expected 6 values, found {}", r.len()));
            continue;
        }
        let Ok(ts) = r[0].parse::<i64>() else {
            fail(format!(
                "timestamp {:?} is not an integer",
                r[0].chars().take(40).collect::<String>()
            ));
            continue;
        };
        let nums: Option<Vec<f64>> = r[1..].iter().map(|v| v.parse::<f64>().ok()).collect();
        let Some(n) = nums else {
            fail("a price or the volume is not a number".into());
            continue;
        };
        match Candle::new(ts, n[0], n[1], n[2], n[3], n[4]) {
            Err(e) => fail(e.to_string()),
            Ok(c) => {
                if good.last().is_some_and(|p| p.ts() >= c.ts()) {
                    fail(format!("timestamp {ts} is not after the previous row"));
                } else {
                    good.push(c);
                }
            }
        }
    }
    (good, bad)
}

/// Most skipped rows listed in an [`ImportOutcome`].
pub const MAX_LISTED_ERRORS: usize = 100;
/// Candles per `upsert_candles` call (each call is atomic on its own).
const CHUNK: usize = 500;

/// What [`import_candles`] stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportOutcome {
    /// Valid rows.
    pub valid: u64,
    /// Newly stored 1m candles.
    pub imported: u64,
    /// Skipped rows, counted.
    pub skipped: u64,
    /// The first [`MAX_LISTED_ERRORS`] skipped rows.
    pub errors: Vec<BadRow>,
    /// Higher-TF buckets rewritten.
    pub aggregated: u64,
    /// First valid open time.
    pub first_ts: Option<i64>,
    /// Last valid open time.
    pub last_ts: Option<i64>,
}

/// Why an import failed as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The text is not the declared shape (nothing stored).
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// The store failed (chunks before it are stored; a re-run is idempotent).
    #[error(transparent)]
    Store(#[from] crate::ports::StoreError),
}

/// The import use case (admin route): parse `text` as `format`, validate, store the 1m
/// candles idempotently (`upsert_candles`: an existing candle is never rewritten), then
/// rebuild the stored higher-TF buckets of the imported range from the 1m candles.
///
/// # Errors
/// [`ImportError`].
pub async fn import_candles<S>(
    store: &S,
    symbol: crate::ports::SymbolId,
    text: &str,
    format: Format,
    now_ms: i64,
) -> Result<ImportOutcome, ImportError>
where
    S: crate::ports::CandleStore + crate::jobs::maintenance::MaintenanceStore,
{
    let rows = raw_rows(text, format)?;
    let (good, bad) = validate(&rows);
    let mut out = ImportOutcome {
        valid: u64::try_from(good.len()).unwrap_or(u64::MAX),
        skipped: u64::try_from(bad.len()).unwrap_or(u64::MAX),
        first_ts: good.first().map(Candle::ts),
        last_ts: good.last().map(Candle::ts),
        ..ImportOutcome::default()
    };
    out.errors = bad.into_iter().take(MAX_LISTED_ERRORS).collect();
    for chunk in good.chunks(CHUNK) {
        out.imported += store
            .upsert_candles(symbol, cl_domain::Timeframe::M1, chunk)
            .await?;
    }
    if let (Some(first), Some(last)) = (out.first_ts, out.last_ts) {
        out.aggregated = aggregate_range(store, symbol, first, last, now_ms).await?;
    }
    Ok(out)
}

const DAY_MS: i64 = 86_400_000;

/// Brings every higher TF in line with the stored 1m candles of `first..=last` (imported or
/// backfilled minutes): the buckets touching the range are rebuilt from ONE read of the 1m
/// candles of their days; a bucket at or before the TF's newest stored one is rewritten, a
/// newer one inserted (never the bucket containing `now_ms`). Returns the buckets written.
///
/// # Errors
/// A [`crate::ports::StoreError`] from the reads or writes.
pub async fn aggregate_range<S>(
    store: &S,
    symbol: crate::ports::SymbolId,
    first: i64,
    last: i64,
    now_ms: i64,
) -> Result<u64, crate::ports::StoreError>
where
    S: crate::ports::CandleStore + crate::jobs::maintenance::MaintenanceStore,
{
    use cl_domain::{CandleSeries, Timeframe};
    let from = first - first.rem_euclid(DAY_MS);
    let to = (last - last.rem_euclid(DAY_MS) + DAY_MS).min(now_ms - now_ms.rem_euclid(60_000));
    if to <= from {
        return Ok(0);
    }
    let limit = u32::try_from((to - from) / 60_000 + 1).unwrap_or(u32::MAX);
    let rows = store
        .candles_in_range(symbol, Timeframe::M1, from, to, limit)
        .await?;
    let Ok(series) = CandleSeries::new(rows) else {
        return Ok(0);
    };
    let mut written = 0;
    for tf in Timeframe::ALL.into_iter().filter(|tf| *tf != Timeframe::M1) {
        let lo = tf.bucket_start(first);
        let hi = tf.bucket_start(last);
        let buckets: Vec<Candle> = cl_domain::aggregate::aggregate(&series, tf, now_ms, None)
            .into_iter()
            .filter(|c| c.ts() >= lo && c.ts() <= hi)
            .collect();
        if buckets.is_empty() {
            continue;
        }
        let newest = store.last_candle_ts(symbol, tf).await?;
        let split = newest.map_or(0, |n| buckets.partition_point(|c| c.ts() <= n));
        let (old, new) = buckets.split_at(split);
        if !old.is_empty() {
            written += store.rewrite_candles(symbol, tf, old).await?;
        }
        if !new.is_empty() {
            written += store.upsert_candles(symbol, tf, new).await?;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bad_rows_carry_their_row_and_line() {
        let csv = "timestamp,open,high,low,close,volume\n\
                   60000,10,11,9,10.5,1\n\
                   \n\
                   120000,10,9,9,10,1\n\
                   180000,10,11,9,10,2\n";
        let rows = raw_rows(csv, Format::Csv).unwrap();
        let (good, bad) = validate(&rows);
        assert_eq!(good.len(), 2);
        assert_eq!((bad[0].row, bad[0].line), (2, Some(4)));
        assert!(raw_rows("[1", Format::Json).is_err());
        assert!(raw_rows("ts,o\n1,2", Format::Csv).is_err());
        assert_eq!(Format::sniff(" [[1]]"), Format::Json);
        assert!(Format::parse("xml").is_err());
    }
}
