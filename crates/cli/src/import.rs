//! `cryptolens import --symbol S --file F [--tf 1m]`: a candle backfill as SQL.
//!
//! Reads CSV (`timestamp,open,high,low,close,volume` header) or JSON (an array of
//! `[ts, o, h, l, c, v]` rows, or an object whose `candles` key holds them), validates every row
//! with the candle rules of detection.md §1 (finite positive prices, `low ≤ min(open, close)`,
//! `high ≥ max(open, close)`, non-negative volume, strictly increasing timestamps), REPORTS each
//! bad row on stderr (1-based data row and reason) and SKIPS it, then prints idempotent SQL for
//! D1 and Postgres alike: multi-row `INSERT … ON CONFLICT (symbol_id, tf, ts) DO NOTHING`
//! statements of at most 500 rows, the symbol resolved by name in SQL. Loading the output twice
//! adds nothing. Unlike `detect`/`aggregate` (which refuse a file with any bad row), a backfill
//! keeps the good rows.

use cl_domain::{Candle, Timeframe};
use std::io::Write;

/// Rows per INSERT statement.
const ROWS_PER_STATEMENT: usize = 500;

/// Why the import could not run.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Bad arguments.
    #[error("import: {0}\nusage: cryptolens import --symbol BASE/QUOTE --file FILE [--tf 1m]")]
    Usage(String),
    /// The file could not be read.
    #[error("import: cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is neither the CSV nor the JSON shape.
    #[error("import: {0}")]
    Shape(String),
    /// Output failed.
    #[error("import: cannot write output: {0}")]
    Write(#[from] std::io::Error),
}

/// The parsed arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportArgs {
    /// Canonical symbol (`BTC/USDT`).
    pub symbol: String,
    /// The candle file.
    pub file: String,
    /// The series (default 1m).
    pub tf: Timeframe,
}

/// Parses `--symbol S --file F [--tf T]`.
///
/// # Errors
/// [`ImportError::Usage`].
pub fn parse_args(args: &[String]) -> Result<ImportArgs, ImportError> {
    let (mut symbol, mut file, mut tf) = (None, None, Timeframe::M1);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| ImportError::Usage(format!("{flag} needs a value")))?;
        match flag.as_str() {
            "--symbol" => symbol = Some(canonical_symbol(value)?),
            "--file" => file = Some(value.clone()),
            "--tf" => {
                tf = Timeframe::parse(value)
                    .map_err(|_| ImportError::Usage(format!("unknown timeframe {value:?}")))?;
            }
            other => return Err(ImportError::Usage(format!("unknown option {other:?}"))),
        }
    }
    Ok(ImportArgs {
        symbol: symbol.ok_or_else(|| ImportError::Usage("--symbol is required".into()))?,
        file: file.ok_or_else(|| ImportError::Usage("--file is required".into()))?,
        tf,
    })
}

/// `BASE/QUOTE` (or `BASE-QUOTE`), upper-case letters and digits, 2..=10 each.
fn canonical_symbol(raw: &str) -> Result<String, ImportError> {
    let s = raw.trim().to_ascii_uppercase().replace('-', "/");
    let ok = s.split_once('/').is_some_and(|(b, q)| {
        [b, q]
            .iter()
            .all(|p| (2..=10).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_alphanumeric()))
    });
    if ok {
        Ok(s)
    } else {
        Err(ImportError::Usage(format!(
            "symbol {raw:?} is not BASE/QUOTE"
        )))
    }
}

use cl_app::candle_import::{raw_rows as parse_rows, Format};
pub use cl_app::candle_import::{validate, RawRow};

/// The raw rows of a file: JSON if it starts with `[` or `{`, else CSV with the header (the
/// one parser shared with the admin import route, `cl_app::candle_import`).
///
/// # Errors
/// [`ImportError::Shape`].
fn raw_rows(text: &str) -> Result<Vec<RawRow>, ImportError> {
    parse_rows(text, Format::sniff(text)).map_err(|e| ImportError::Shape(e.0))
}

/// The SQL for `candles` of `symbol`/`tf` (empty when there are none).
pub fn sql(symbol: &str, tf: Timeframe, candles: &[Candle]) -> String {
    let mut out = String::new();
    for chunk in candles.chunks(ROWS_PER_STATEMENT) {
        out.push_str(
            "INSERT INTO candles (symbol_id, tf, ts, open, high, low, close, volume) VALUES\n",
        );
        let rows: Vec<String> = chunk
            .iter()
            .map(|c| {
                format!(
                    "((SELECT id FROM symbols WHERE symbol = '{symbol}'), '{}', {}, {:?}, {:?}, {:?}, {:?}, {:?})",
                    tf.as_str(),
                    c.ts(),
                    c.open(),
                    c.high(),
                    c.low(),
                    c.close(),
                    c.volume()
                )
            })
            .collect();
        out.push_str(&rows.join(",\n"));
        out.push_str("\nON CONFLICT (symbol_id, tf, ts) DO NOTHING;\n");
    }
    out
}

/// Runs the command: SQL on `out`, one line per skipped row and a summary on `err`.
///
/// # Errors
/// [`ImportError`].
pub fn run(args: &[String], out: &mut impl Write, err: &mut impl Write) -> Result<(), ImportError> {
    let a = parse_args(args)?;
    let text = std::fs::read_to_string(&a.file).map_err(|source| ImportError::Read {
        path: a.file.clone(),
        source,
    })?;
    let rows = raw_rows(&text)?;
    let (good, bad) = validate(&rows);
    for b in &bad {
        writeln!(err, "skipped data row {}: {}", b.row, b.reason)?;
    }
    writeln!(
        err,
        "import {} {}: {} valid rows, {} skipped",
        a.symbol,
        a.tf.as_str(),
        good.len(),
        bad.len()
    )?;
    out.write_all(sql(&a.symbol, a.tf, &good).as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rows(text: &str) -> Vec<RawRow> {
        raw_rows(text).unwrap()
    }

    #[test]
    fn bad_rows_are_reported_and_skipped() {
        let csv = "timestamp,open,high,low,close,volume\n\
                   60000,10,11,9,10.5,1\n\
                   120000,10,9,9,10,1\n\
                   60000,10,11,9,10,1\n\
                   180000,abc,11,9,10,1\n\
                   240000,10,11,9,10,-1\n\
                   300000,10,11,9,10\n\
                   360000,10,11,9,10,2\n";
        let (good, bad) = validate(&rows(csv));
        assert_eq!(
            good.iter().map(Candle::ts).collect::<Vec<_>>(),
            [60_000, 360_000]
        );
        assert_eq!(
            bad.iter().map(|b| b.row).collect::<Vec<_>>(),
            [2, 3, 4, 5, 6]
        );
        assert!(bad[1].reason.contains("not after"));
    }

    #[test]
    fn json_shapes_and_sql() {
        let (good, bad) = validate(&rows("{\"candles\": [[60000, \"1\", 2, 0.5, 1.5, 0]]}"));
        assert!(bad.is_empty());
        let sql = sql("BTC/USDT", Timeframe::M1, &good);
        assert!(sql.contains("(SELECT id FROM symbols WHERE symbol = 'BTC/USDT'), '1m', 60000, 1.0, 2.0, 0.5, 1.5, 0.0)"));
        assert!(sql.ends_with("ON CONFLICT (symbol_id, tf, ts) DO NOTHING;\n"));
        assert!(raw_rows("ts,o\n1,2").is_err());
        assert_eq!(canonical_symbol("btc-usdt").unwrap(), "BTC/USDT");
        assert!(canonical_symbol("BTC/USDT'; DROP").is_err());
        assert!(parse_args(&["--symbol".into(), "BTC/USDT".into()]).is_err());
    }
}
