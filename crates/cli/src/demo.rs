//! `cryptolens demo-sql`: demo data made by the real pipeline, written as D1 SQL.
//!
//! Per symbol, the bench generator's random walk (1m candles, with volatility bursts, gaps and
//! rare holes) starts at a realistic price for that symbol, `days` days before `now`. The
//! candles go through the SAME pipeline as production ([`crate::replay::Replay`], i.e. the
//! app crate's tick over the in-memory store) in steps of 60 candles (one hour, give or take
//! a hole), all symbols per step. The last run's clock is `now` (at most; see the module
//! docs of `replay`). Then everything stored is written as SQL for the schema of
//! `migrations/` (0003_market.sql):
//!
//! - `symbols`: `INSERT OR IGNORE` on the unique symbol;
//! - `candles`: the last [`ONE_MINUTE_DAYS_KEPT`] days of 1m candles and every higher-TF
//!   candle, `INSERT OR IGNORE` on the `(symbol_id, tf, ts)` key;
//! - `patterns`: in id order, `INSERT OR IGNORE` on the `(symbol_id, tf, pattern_type,
//!   direction, detected_at)` key, with their final status and fill;
//! - `signals`: one statement each, inserted unless a signal of that symbol, direction and
//!   `created_at` exists, pointing at its source pattern by key.
//!
//! No id is written: symbols and patterns are found by their keys, so the file loads into a
//! database that already holds rows, and loading it twice inserts nothing new. Multi-row
//! statements hold at most [`MAX_ROWS_PER_STATEMENT`] rows and stay under
//! [`MAX_STATEMENT_BYTES`] (D1 caps a statement at 100 KB; its 100 bound-parameter limit does
//! not apply to literal SQL).

use crate::bench::{generate_walk, BenchError};
use crate::replay::{Progress, Replay, ReplayError, SymbolInput};
use cl_app::ports::{
    join_timeframes, side_str, CandleStore, PatternStore, StoredPattern, StoredSignal,
};
use cl_domain::signal::SignalSettings;
use cl_domain::{Candle, CandleSeries, DetectionParams, Timeframe};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::PathBuf;

/// 1m candles older than this many days before `now` are not written (the rest are).
pub const ONE_MINUTE_DAYS_KEPT: i64 = 3;
/// Rows per multi-row INSERT.
pub const MAX_ROWS_PER_STATEMENT: usize = 500;
/// A statement is closed before it reaches this size (D1's limit is 100 KB).
pub const MAX_STATEMENT_BYTES: usize = 90 * 1024;
/// Candles per scheduled run of the demo: one hour of 1m candles.
pub const CANDLES_PER_RUN: usize = 60;
/// Symbol name length allowed by the schema (`CHECK (length(symbol) BETWEEN 3 AND 20)`).
const SYMBOL_LEN: std::ops::RangeInclusive<usize> = 3..=20;
/// Start price of a symbol not in [`START_PRICES`].
pub const DEFAULT_START_PRICE: f64 = 100.0;
/// Realistic start prices (mid-2024 levels).
pub const START_PRICES: [(&str, f64); 5] = [
    ("BTC/USDT", 67_500.0),
    ("ETH/USDT", 3_750.0),
    ("SOL/USDT", 165.0),
    ("XRP/USDT", 0.52),
    ("BNB/USDT", 600.0),
];
/// Exchange recorded for the demo symbols.
const EXCHANGE: &str = "binance";
const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// Why demo data could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A symbol the schema refuses.
    #[error("symbol {0:?}: must be 3 to 20 characters of A-Z, 0-9, '/', '-', '_' or '.'")]
    Symbol(String),
    /// `--days` × 1440 minutes overflows, or `--now` is before the data could start.
    #[error("--days {days} with --now {now_ms} is out of range")]
    Range {
        /// Days asked for.
        days: usize,
        /// The clock.
        now_ms: i64,
    },
    /// The generator failed.
    #[error(transparent)]
    Generator(#[from] BenchError),
    /// The pipeline failed.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// Reading the store back failed.
    #[error("reading results: {0}")]
    Store(#[from] cl_app::ports::StoreError),
    /// The output file could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// What was written, for the summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DemoSummary {
    /// Symbols.
    pub symbols: usize,
    /// Candle rows (all TFs).
    pub candles: usize,
    /// Pattern rows.
    pub patterns: usize,
    /// Signal rows.
    pub signals: usize,
    /// Statements.
    pub statements: usize,
    /// Bytes.
    pub bytes: usize,
}

fn start_price(symbol: &str) -> f64 {
    START_PRICES
        .iter()
        .find(|(s, _)| *s == symbol)
        .map_or(DEFAULT_START_PRICE, |(_, p)| *p)
}

fn check_symbol(symbol: &str) -> Result<(), DemoError> {
    let ok = SYMBOL_LEN.contains(&symbol.len())
        && symbol
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(DemoError::Symbol(symbol.chars().take(32).collect()))
    }
}

/// Generates the data, runs the pipeline and returns the SQL text.
///
/// # Errors
/// [`DemoError`] for bad arguments (exit 2) or a failed run.
pub fn build(
    symbols: &[String],
    days: usize,
    seed: u64,
    now_ms: i64,
) -> Result<(String, DemoSummary), DemoError> {
    let range = || DemoError::Range { days, now_ms };
    let minutes = days
        .checked_mul(usize::try_from(DAY_MS / MINUTE_MS).map_err(|_| range())?)
        .ok_or_else(range)?;
    let span = i64::try_from(days)
        .ok()
        .and_then(|d| d.checked_mul(DAY_MS))
        .ok_or_else(range)?;
    let start = now_ms
        .checked_sub(span)
        .filter(|s| *s >= 0)
        .ok_or_else(range)?;
    let mut inputs = Vec::with_capacity(symbols.len());
    for (k, symbol) in symbols.iter().enumerate() {
        check_symbol(symbol)?;
        let walk = generate_walk(
            minutes,
            seed.wrapping_add(k as u64),
            start,
            start_price(symbol),
        )?;
        // Holes push the walk past `now`; the data ends before it.
        let kept: Vec<Candle> = walk
            .into_vec()
            .into_iter()
            .filter(|c| c.ts() < now_ms)
            .collect();
        let candles = CandleSeries::new(kept).map_err(BenchError::from)?;
        inputs.push(SymbolInput {
            symbol: symbol.clone(),
            candles,
        });
    }
    let mut replay = Replay::new(
        inputs,
        SignalSettings::default(),
        DetectionParams::default(),
    )?;
    let longest = replay.longest();
    let steps: Vec<(usize, usize)> = (0..longest)
        .step_by(CANDLES_PER_RUN)
        .map(|from| (from, (from + CANDLES_PER_RUN).min(longest)))
        .collect();
    let mut progress = Progress::new("demo-sql", steps.len());
    for (k, step) in steps.iter().enumerate() {
        replay.step(*step)?;
        progress.tick(k + 1);
    }
    progress.finish();
    write_sql(&replay, now_ms)
}

/// Writes `build`'s SQL to `path`.
///
/// # Errors
/// [`DemoError::Write`].
pub fn write_file(path: &std::path::Path, sql: &str) -> Result<(), DemoError> {
    let mut file = std::fs::File::create(path).map_err(|source| DemoError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    file.write_all(sql.as_bytes())
        .and_then(|()| file.flush())
        .map_err(|source| DemoError::Write {
            path: path.to_path_buf(),
            source,
        })
}

/// A SQL string literal.
fn text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A SQL number: the shortest round-trip form, never exponent notation.
fn num(x: f64) -> String {
    format!("{x}")
}

fn opt_num(x: Option<f64>) -> String {
    x.map_or_else(|| "NULL".to_owned(), num)
}

fn opt_int(x: Option<i64>) -> String {
    x.map_or_else(|| "NULL".to_owned(), |v| v.to_string())
}

/// Collects rows into multi-row statements under the row and byte caps.
struct Batcher<'a> {
    out: &'a mut String,
    head: String,
    tail: &'static str,
    body: String,
    rows: usize,
    summary: &'a mut DemoSummary,
}

impl<'a> Batcher<'a> {
    fn new(
        out: &'a mut String,
        summary: &'a mut DemoSummary,
        head: String,
        tail: &'static str,
    ) -> Self {
        Self {
            out,
            head,
            tail,
            body: String::new(),
            rows: 0,
            summary,
        }
    }

    fn push(&mut self, row: &str) {
        let size = self.head.len() + self.body.len() + row.len() + self.tail.len() + 2;
        if self.rows == MAX_ROWS_PER_STATEMENT || (self.rows > 0 && size > MAX_STATEMENT_BYTES) {
            self.flush();
        }
        if self.rows > 0 {
            self.body.push_str(",\n");
        }
        self.body.push_str(row);
        self.rows += 1;
    }

    fn flush(&mut self) {
        if self.rows == 0 {
            return;
        }
        self.out.push_str(&self.head);
        self.out.push_str(&self.body);
        self.out.push_str(self.tail);
        self.out.push_str(";\n");
        self.summary.statements += 1;
        self.body.clear();
        self.rows = 0;
    }
}

impl Drop for Batcher<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

fn write_sql(replay: &Replay, now_ms: i64) -> Result<(String, DemoSummary), DemoError> {
    use futures_executor::block_on as block;
    let store = replay.store();
    let mut summary = DemoSummary::default();
    let mut sql = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        sql,
        "-- CryptoLens Edge demo data, made by `cryptolens demo-sql` with the live pipeline.\n\
         -- Apply after migrations/*.sql. Idempotent: rows are matched by their natural keys."
    );

    let symbols: Vec<_> = replay.symbols().cloned().collect();
    summary.symbols = symbols.len();
    let mut last_1m = Vec::with_capacity(symbols.len());
    for s in &symbols {
        let last = block(store.last_candle_ts(s.id, Timeframe::M1))?;
        last_1m.push(last);
    }
    {
        let head = "INSERT OR IGNORE INTO symbols (symbol, exchange, is_active, notify_enabled, \
                    fetch_start_date, last_1m_ts, created_at) VALUES\n"
            .to_owned();
        let mut b = Batcher::new(&mut sql, &mut summary, head, "");
        for (s, last) in symbols.iter().zip(&last_1m) {
            b.push(&format!(
                "({}, {}, 1, 1, {}, {}, {})",
                text(&s.symbol),
                text(EXCHANGE),
                s.fetch_start_ms,
                opt_int(*last),
                s.created_at
            ));
        }
    }

    let cutoff = now_ms.saturating_sub(ONE_MINUTE_DAYS_KEPT * DAY_MS);
    for s in &symbols {
        for tf in Timeframe::ALL {
            let from = if tf == Timeframe::M1 {
                cutoff
            } else {
                i64::MIN
            };
            let candles = block(store.candles_in_range(s.id, tf, from, i64::MAX, u32::MAX))?;
            summary.candles += candles.len();
            let head = format!(
                "INSERT OR IGNORE INTO candles (symbol_id, tf, ts, open, high, low, close, volume)\n\
                 SELECT (SELECT id FROM symbols WHERE symbol = {}), {}, column1, column2, column3, \
                 column4, column5, column6 FROM (VALUES\n",
                text(&s.symbol),
                text(tf.as_str())
            );
            let mut b = Batcher::new(&mut sql, &mut summary, head, ")");
            for c in candles {
                b.push(&format!(
                    "({}, {}, {}, {}, {}, {})",
                    c.ts(),
                    num(c.open()),
                    num(c.high()),
                    num(c.low()),
                    num(c.close()),
                    num(c.volume())
                ));
            }
        }
    }

    let patterns = replay.patterns()?;
    summary.patterns = patterns.len();
    {
        let head = "INSERT OR IGNORE INTO patterns (symbol_id, tf, pattern_type, direction, \
                    zone_low, zone_high, swept_level, detected_at, expires_at, status, filled_at, \
                    fill_pct, entry, stop_loss, tp1, tp2, tp3, risk, rr1, rr2, rr3, created_at)\n\
                    SELECT (SELECT id FROM symbols WHERE symbol = column1), column2, column3, \
                    column4, column5, column6, column7, column8, column9, column10, column11, \
                    column12, column13, column14, column15, column16, column17, column18, \
                    column19, column20, column21, column22 FROM (VALUES\n"
            .to_owned();
        let mut b = Batcher::new(&mut sql, &mut summary, head, ")");
        for p in &patterns {
            b.push(&pattern_row(p, replay.name_of(p.symbol)));
        }
    }

    let signals = replay.signals()?;
    summary.signals = signals.len();
    for s in &signals {
        let source = match s.pattern_id {
            Some(id) => block(store.pattern(id))?,
            None => None,
        };
        sql.push_str(&signal_statement(
            s,
            replay.name_of(s.symbol),
            source.as_ref(),
        ));
        summary.statements += 1;
    }
    summary.bytes = sql.len();
    Ok((sql, summary))
}

fn pattern_row(p: &StoredPattern, symbol: &str) -> String {
    let l = &p.levels;
    format!(
        "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        text(symbol),
        text(p.tf.as_str()),
        text(p.pattern_type.as_str()),
        text(p.direction.as_str()),
        num(p.zone.low()),
        num(p.zone.high()),
        opt_num(p.swept_level),
        p.detected_at,
        p.expires_at,
        text(p.status.as_str()),
        opt_int(p.filled_at),
        num(p.fill_pct),
        num(l.entry),
        num(l.stop_loss),
        num(l.tp1),
        num(l.tp2),
        num(l.tp3),
        num(l.risk),
        num(l.rr1),
        num(l.rr2),
        num(l.rr3),
        p.created_at
    )
}

fn signal_statement(s: &StoredSignal, symbol: &str, source: Option<&StoredPattern>) -> String {
    let pattern = source.map_or_else(
        || "NULL".to_owned(),
        |p| {
            format!(
                "(SELECT p.id FROM patterns p WHERE p.symbol_id = s.id AND p.tf = {} AND \
                 p.pattern_type = {} AND p.direction = {} AND p.detected_at = {})",
                text(p.tf.as_str()),
                text(p.pattern_type.as_str()),
                text(p.direction.as_str()),
                p.detected_at
            )
        },
    );
    let side = text(side_str(s.direction));
    format!(
        "INSERT INTO signals (symbol_id, direction, entry, stop_loss, tp1, tp2, tp3, risk_reward, \
         confluence_score, timeframes_aligned, pattern_id, status, created_at)\n\
         SELECT s.id, {side}, {}, {}, {}, {}, {}, {}, {}, {}, {pattern}, {}, {}\n\
         FROM symbols s WHERE s.symbol = {} AND NOT EXISTS (SELECT 1 FROM signals g WHERE \
         g.symbol_id = s.id AND g.direction = {side} AND g.created_at = {});\n",
        num(s.entry),
        num(s.stop_loss),
        num(s.tp1),
        num(s.tp2),
        num(s.tp3),
        num(s.risk_reward),
        s.confluence_score,
        text(&join_timeframes(&s.timeframes_aligned)),
        text(s.status.as_str()),
        s.created_at,
        text(symbol),
        s.created_at,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted_and_numbers_never_use_exponents() {
        assert_eq!(text("O'Neil"), "'O''Neil'");
        assert_eq!(num(0.000_000_1), "0.0000001");
        assert_eq!(num(65_000.0), "65000");
        assert_eq!(opt_num(None), "NULL");
    }

    #[test]
    fn statements_respect_the_row_and_byte_caps() {
        let mut out = String::new();
        let mut summary = DemoSummary::default();
        {
            let mut b = Batcher::new(&mut out, &mut summary, "INSERT x VALUES\n".into(), "");
            for _ in 0..1_234 {
                b.push("(1)");
            }
        }
        assert_eq!(summary.statements, 3);
        let mut out = String::new();
        let mut summary = DemoSummary::default();
        let big = format!("('{}')", "a".repeat(1_000));
        {
            let mut b = Batcher::new(&mut out, &mut summary, "INSERT x VALUES\n".into(), "");
            for _ in 0..300 {
                b.push(&big);
            }
        }
        assert!(out.split(";\n").all(|s| s.len() < MAX_STATEMENT_BYTES));
        assert!(summary.statements >= 4);
    }

    #[test]
    fn symbols_outside_the_schema_are_refused() {
        assert!(check_symbol("BTC/USDT").is_ok());
        assert!(check_symbol("X").is_err());
        assert!(check_symbol("BTC'; DROP").is_err());
    }
}
