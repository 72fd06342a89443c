//! Reading candle files: CSV with a `timestamp,open,high,low,close,volume` header, or JSON
//! (a bare array of `[ts, o, h, l, c, v]` rows, or an object whose `candles` key holds them).
//!
//! This lives in the CLI rather than the domain so that the domain does not depend on
//! serde_json; the domain only validates values ([`Candle::new`]) and order.
//!
//! Rows are numbered from 1, counting data rows only (not the CSV header or blank lines);
//! CSV errors also give the file line. Validation is streaming: JSON rows are checked as they
//! are read, so a bad row is reported without building a whole document tree.

use cl_domain::{Candle, CandleError, CandleSeries, SeriesError};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::path::Path;

/// The CSV header, in order.
const HEADER: [&str; FIELDS] = ["timestamp", "open", "high", "low", "close", "volume"];
/// Values per row.
const FIELDS: usize = 6;

/// Why a candle file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Read(#[source] std::io::Error),
    /// The file holds no rows at all.
    #[error("the file is empty")]
    Empty,
    /// The CSV header is not the expected one.
    #[error("line 1: expected the header timestamp,open,high,low,close,volume, found {0:?}")]
    BadHeader(String),
    /// A CSV data row is invalid.
    #[error("data row {row} (1-based, header excluded; line {line}): {reason}")]
    CsvRow {
        /// 1-based data row.
        row: usize,
        /// 1-based file line.
        line: usize,
        /// What is wrong.
        reason: RowError,
    },
    /// A JSON row is invalid.
    #[error("data row {row} (1-based) of the candle array: {reason}")]
    JsonRow {
        /// 1-based row in the array.
        row: usize,
        /// What is wrong.
        reason: RowError,
    },
    /// The JSON object has no `candles` key.
    #[error("the JSON object has no \"candles\" key")]
    NoCandlesKey,
    /// The rows are out of order (already caught per row; kept for completeness).
    #[error(transparent)]
    Series(#[from] SeriesError),
    /// Malformed JSON, or JSON of the wrong shape.
    #[error("invalid JSON: {0}")]
    Json(#[source] serde_json::Error),
}

/// What is wrong with one row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowError {
    /// Not exactly six values.
    #[error("expected 6 values (timestamp, open, high, low, close, volume), found {0}")]
    FieldCount(usize),
    /// The timestamp is not an integer.
    #[error("timestamp {0:?} is not an integer number of milliseconds")]
    BadTimestamp(String),
    /// A price or the volume is not a number.
    #[error("{field} {text:?} is not a number")]
    NotANumber {
        /// The column.
        field: &'static str,
        /// The value as written (truncated).
        text: String,
    },
    /// The row is not an array (JSON).
    #[error("expected an array [ts, open, high, low, close, volume], found {0}")]
    NotAnArray(&'static str),
    /// The values break a candle rule.
    #[error(transparent)]
    Candle(#[from] CandleError),
    /// The timestamp does not come after the previous row's.
    #[error("timestamp {ts} is not after the previous row's {prev}")]
    NotIncreasing {
        /// This row's timestamp.
        ts: i64,
        /// The previous row's.
        prev: i64,
    },
}

/// Reads and validates the candle file at `path`.
///
/// # Errors
/// [`InputError`] when the file cannot be read or any row is invalid.
pub fn load(path: &Path) -> Result<CandleSeries, InputError> {
    let text = std::fs::read_to_string(path).map_err(InputError::Read)?;
    parse(&text)
}

/// Parses candle text, detecting CSV or JSON from its first non-blank character.
///
/// # Errors
/// [`InputError`] naming the first bad row.
pub fn parse(text: &str) -> Result<CandleSeries, InputError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match text.trim_start().chars().next() {
        None => Err(InputError::Empty),
        Some('[' | '{') => parse_json(text),
        Some(_) => parse_csv(text),
    }
}

/// Builds validated, strictly increasing candles one row at a time.
#[derive(Default)]
struct Builder {
    candles: Vec<Candle>,
}

impl Builder {
    fn push(&mut self, r: [f64; FIELDS - 1], ts: i64) -> Result<(), RowError> {
        let candle = Candle::new(ts, r[0], r[1], r[2], r[3], r[4])?;
        if let Some(prev) = self.candles.last().map(Candle::ts) {
            if ts <= prev {
                return Err(RowError::NotIncreasing { ts, prev });
            }
        }
        self.candles.push(candle);
        Ok(())
    }

    fn finish(self) -> Result<CandleSeries, InputError> {
        // The order was checked row by row (to name the row), so this cannot fail.
        Ok(CandleSeries::new(self.candles)?)
    }
}

fn parse_csv(text: &str) -> Result<CandleSeries, InputError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(k, l)| (k + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(InputError::Empty);
    };
    let names: Vec<String> = header
        .split(',')
        .map(|f| f.trim().to_ascii_lowercase())
        .collect();
    if names != HEADER {
        return Err(InputError::BadHeader(header.chars().take(80).collect()));
    }
    let mut out = Builder::default();
    for (row, (line, text)) in lines.enumerate().map(|(k, l)| (k + 1, l)) {
        csv_row(text)
            .and_then(|(ts, values)| out.push(values, ts))
            .map_err(|reason| InputError::CsvRow { row, line, reason })?;
    }
    out.finish()
}

fn csv_row(line: &str) -> Result<(i64, [f64; FIELDS - 1]), RowError> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let [ts, rest @ ..] = fields.as_slice() else {
        return Err(RowError::FieldCount(0));
    };
    if fields.len() != FIELDS {
        return Err(RowError::FieldCount(fields.len()));
    }
    let ts = ts
        .parse::<i64>()
        .map_err(|_| RowError::BadTimestamp(truncate(ts)))?;
    let mut values = [0.0; FIELDS - 1];
    for ((slot, text), field) in values.iter_mut().zip(rest).zip(&HEADER[1..]) {
        *slot = text.parse().map_err(|_| RowError::NotANumber {
            field,
            text: truncate(text),
        })?;
    }
    Ok((ts, values))
}

fn parse_json(text: &str) -> Result<CandleSeries, InputError> {
    let mut failure = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let result = Document {
        failure: &mut failure,
    }
    .deserialize(&mut de)
    .and_then(|candles| de.end().map(|()| candles));
    // A bad row aborts the parse through serde; the typed reason was stashed first.
    if let Some((row, reason)) = failure {
        return Err(InputError::JsonRow { row, reason });
    }
    match result {
        Ok(Some(b)) => b.finish(),
        Ok(None) => Err(InputError::NoCandlesKey),
        Err(e) => Err(InputError::Json(e)),
    }
}

/// The top-level value: the rows themselves, or an object with a `candles` key.
struct Document<'f> {
    failure: &'f mut Option<(usize, RowError)>,
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = Option<Builder>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = Option<Builder>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of candle rows or an object with a \"candles\" array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Rows {
            failure: self.failure,
        }
        .visit_seq(seq)
        .map(Some)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "candles" {
                if found.is_some() {
                    return Err(de::Error::duplicate_field("candles"));
                }
                found = Some(map.next_value_seed(Rows {
                    failure: &mut *self.failure,
                })?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The array of rows, validated as it streams.
struct Rows<'f> {
    failure: &'f mut Option<(usize, RowError)>,
}

impl<'de> DeserializeSeed<'de> for Rows<'_> {
    type Value = Builder;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Rows<'_> {
    type Value = Builder;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of [ts, open, high, low, close, volume] rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Builder::default();
        let mut row = 0;
        while let Some(value) = seq.next_element::<Value>()? {
            row += 1;
            if let Err(reason) = json_row(&value).and_then(|(ts, v)| out.push(v, ts)) {
                let message = reason.to_string();
                *self.failure = Some((row, reason));
                return Err(de::Error::custom(message));
            }
        }
        Ok(out)
    }
}

fn json_row(value: &Value) -> Result<(i64, [f64; FIELDS - 1]), RowError> {
    let cells = value.as_array().ok_or(RowError::NotAnArray(kind(value)))?;
    let [ts, rest @ ..] = cells.as_slice() else {
        return Err(RowError::FieldCount(0));
    };
    if cells.len() != FIELDS {
        return Err(RowError::FieldCount(cells.len()));
    }
    let ts = ts
        .as_i64()
        .ok_or_else(|| RowError::BadTimestamp(truncate(&ts.to_string())))?;
    let mut values = [0.0; FIELDS - 1];
    for ((slot, cell), field) in values.iter_mut().zip(rest).zip(&HEADER[1..]) {
        *slot = cell.as_f64().ok_or_else(|| RowError::NotANumber {
            field,
            text: truncate(&cell.to_string()),
        })?;
    }
    Ok((ts, values))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Echoed file content is capped so one huge cell cannot flood the terminal.
fn truncate(s: &str) -> String {
    const MAX_ECHO: usize = 40;
    s.chars().take(MAX_ECHO).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "timestamp,open,high,low,close,volume\n\
                       0,10,12,9,11,5\n\
                       60000,11,13,10,12,6\n";

    #[test]
    fn csv_with_a_header_parses() {
        let s = parse(CSV).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            s.as_slice()[1].to_row(),
            (60_000, 11.0, 13.0, 10.0, 12.0, 6.0)
        );
    }

    #[test]
    fn csv_tolerates_crlf_spaces_a_bom_and_blank_lines() {
        let text = "\u{feff}Timestamp, Open,High,Low,Close,Volume\r\n\r\n0, 10,12,9,11,5\r\n\n";
        assert_eq!(parse(text).unwrap().len(), 1);
    }

    #[test]
    fn a_bad_csv_row_is_named_by_data_row_and_line() {
        let text = "timestamp,open,high,low,close,volume\n0,10,12,9,11,5\n\n60000,11,10,10,12,6\n";
        let err = parse(text).unwrap_err();
        assert!(matches!(
            err,
            InputError::CsvRow {
                row: 2,
                line: 4,
                reason: RowError::Candle(CandleError::HighBelowBody { .. })
            }
        ));
        assert!(err.to_string().starts_with("data row 2 (1-based"), "{err}");
    }

    #[test]
    fn csv_rows_with_wrong_arity_or_text_are_rejected() {
        let head = "timestamp,open,high,low,close,volume\n";
        let cases = [
            ("0,10,12,9,11\n", RowError::FieldCount(5)),
            ("x,10,12,9,11,5\n", RowError::BadTimestamp("x".into())),
            (
                "0,10,abc,9,11,5\n",
                RowError::NotANumber {
                    field: "high",
                    text: "abc".into(),
                },
            ),
        ];
        for (row, want) in cases {
            let err = parse(&format!("{head}{row}")).unwrap_err();
            assert!(
                matches!(&err, InputError::CsvRow { row: 1, reason, .. } if *reason == want),
                "{err}"
            );
        }
    }

    #[test]
    fn a_wrong_header_is_rejected() {
        assert!(matches!(
            parse("ts,o,h,l,c,v\n0,1,1,1,1,1\n"),
            Err(InputError::BadHeader(_))
        ));
    }

    #[test]
    fn json_rows_parse_bare_or_under_candles() {
        let bare = "[[0,10,12,9,11,5],[60000,11,13,10,12,6]]";
        let obj = r#"{"symbol":"BTCUSDT","meta":{"x":[1,2]},"candles":[[0,10,12,9,11,5],[60000,11,13,10,12,6]]}"#;
        assert_eq!(parse(bare).unwrap(), parse(obj).unwrap());
        assert_eq!(parse(bare).unwrap(), parse(CSV).unwrap());
    }

    #[test]
    fn a_bad_json_row_is_named() {
        let cases = [
            ("[[0,10,12,9,11,5],[0,10,12,9,11,5]]", 2),
            ("[[0,10,12,9,11,5],[60000,10,12,9,11]]", 2),
            ("[[0.5,10,12,9,11,5]]", 1),
            ("[[0,10,12,9,11,5],{\"a\":1}]", 2),
            (
                "{\"candles\":[[0,10,12,9,11,5],[60000,\"1\",12,9,11,5]]}",
                2,
            ),
            ("[[0,-10,12,9,11,5]]", 1),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err();
            assert!(
                matches!(err, InputError::JsonRow { row, .. } if row == want),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn json_without_candles_or_malformed_is_an_error() {
        assert!(matches!(parse("{\"x\":1}"), Err(InputError::NoCandlesKey)));
        assert!(matches!(parse("[[0,1,1,1,1,1]"), Err(InputError::Json(_))));
        assert!(matches!(parse("[] x"), Err(InputError::Json(_))));
        assert!(matches!(parse("   "), Err(InputError::Empty)));
    }

    #[test]
    fn an_empty_array_is_an_empty_series() {
        assert!(parse("[]").unwrap().is_empty());
        assert!(parse("timestamp,open,high,low,close,volume\n")
            .unwrap()
            .is_empty());
    }
}
