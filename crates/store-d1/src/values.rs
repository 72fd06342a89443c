//! Values across the D1 boundary, where every number is a JS `number` (an f64).
//!
//! - Writing: an `i64` (id, ms timestamp) is bound as an f64 `JsValue` only after
//!   [`exact_int`] checked `|v| <= 2^53` (D1's `Integer` binding is an `i32`, and BigInt is
//!   not supported); floats are checked finite; booleans are bound as 0/1. SQLite's INTEGER
//!   column affinity stores an integral f64 as an INTEGER.
//! - Reading: numbers arrive as f64 and are converted back with a check that they are
//!   integral and within 2^53 ([`read_int`]); anything else is [`StoreError::Corrupt`].
//!
//! The checks are pure (host-tested); only the `JsValue` constructors need wasm32.

use cl_app::ports::{exact_int, finite, StoreError, MAX_EXACT_INT};
use worker::wasm_bindgen::JsValue;

/// The f64 that carries `v` exactly, after checking `|v| <= 2^53`.
pub(crate) fn int_f64(what: &'static str, v: i64) -> Result<f64, StoreError> {
    // Exact: every integer up to 2^53 in magnitude is an f64.
    exact_int(what, v).map(|v| v as f64)
}

/// Binds an integer (see [`int_f64`]).
pub(crate) fn int(what: &'static str, v: i64) -> Result<JsValue, StoreError> {
    int_f64(what, v).map(JsValue::from_f64)
}

/// Binds an optional integer (NULL for `None`).
pub(crate) fn opt_int(what: &'static str, v: Option<i64>) -> Result<JsValue, StoreError> {
    v.map_or(Ok(JsValue::NULL), |v| int(what, v))
}

/// Binds a finite float.
pub(crate) fn real(what: &'static str, v: f64) -> Result<JsValue, StoreError> {
    finite(what, v).map(JsValue::from_f64)
}

/// Binds an optional finite float (NULL for `None`).
pub(crate) fn opt_real(what: &'static str, v: Option<f64>) -> Result<JsValue, StoreError> {
    v.map_or(Ok(JsValue::NULL), |v| real(what, v))
}

/// Binds a small unsigned count (limits).
pub(crate) fn count(v: u32) -> JsValue {
    JsValue::from_f64(f64::from(v))
}

/// Binds a boolean as 0/1 (the columns are `INTEGER CHECK (x IN (0, 1))`).
pub(crate) fn flag(v: bool) -> JsValue {
    JsValue::from_f64(if v { 1.0 } else { 0.0 })
}

/// Binds text.
pub(crate) fn text(v: &str) -> JsValue {
    JsValue::from_str(v)
}

/// Binds optional text (NULL for `None`).
pub(crate) fn opt_text(v: Option<&str>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from_str)
}

/// A finite float as a JSON number for a `json_each` row set: Rust's shortest round-trip
/// form (`1.5`, `1e-7`), which SQLite's JSON parser reads back to the same f64.
pub(crate) fn json_real(what: &'static str, v: f64) -> Result<String, StoreError> {
    finite(what, v).map(|v| format!("{v:?}"))
}

/// An optional finite float as a JSON number or `null`.
pub(crate) fn json_opt_real(what: &'static str, v: Option<f64>) -> Result<String, StoreError> {
    v.map_or(Ok("null".to_owned()), |v| json_real(what, v))
}

/// An integer within 2^53 as a JSON number.
pub(crate) fn json_int(what: &'static str, v: i64) -> Result<String, StoreError> {
    exact_int(what, v).map(|v| v.to_string())
}

/// An optional integer within 2^53 as a JSON number or `null`.
pub(crate) fn json_opt_int(what: &'static str, v: Option<i64>) -> Result<String, StoreError> {
    v.map_or(Ok("null".to_owned()), |v| json_int(what, v))
}

/// A code word (timeframe, pattern type, direction, status: ASCII letters and digits) as a
/// JSON string; anything needing escapes is refused rather than escaped.
pub(crate) fn json_word(what: &'static str, v: &str) -> Result<String, StoreError> {
    if v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(format!("\"{v}\""))
    } else {
        Err(StoreError::Invalid(format!("{what} is not a code word")))
    }
}

/// Converts a number read from D1 back to an integer: it must be integral and within 2^53.
pub(crate) fn read_int(
    table: &'static str,
    id: Option<i64>,
    what: &'static str,
    v: f64,
) -> Result<i64, StoreError> {
    // 2^53 is an f64 exactly; the comparison below is exact.
    let limit = MAX_EXACT_INT as f64;
    if v.is_finite() && v.fract() == 0.0 && v.abs() <= limit {
        // Exact: integral and within ±2^53.
        Ok(v as i64)
    } else {
        Err(StoreError::corrupt(
            table,
            id,
            format!("{what} {v} is not an integer within 2^53"),
        ))
    }
}

/// [`read_int`] for a nullable column.
pub(crate) fn read_opt_int(
    table: &'static str,
    id: Option<i64>,
    what: &'static str,
    v: Option<f64>,
) -> Result<Option<i64>, StoreError> {
    v.map(|v| read_int(table, id, what, v)).transpose()
}

/// Converts a stored 0/1 back to a boolean.
pub(crate) fn read_flag(
    table: &'static str,
    id: Option<i64>,
    what: &'static str,
    v: f64,
) -> Result<bool, StoreError> {
    match read_int(table, id, what, v)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(StoreError::corrupt(
            table,
            id,
            format!("{what} {other} is not 0/1"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_are_valid_json_numbers_and_words() {
        assert_eq!(json_real("x", 1.0).unwrap(), "1.0");
        assert_eq!(json_real("x", 1.5e-7).unwrap(), "1.5e-7");
        assert_eq!(json_real("x", 1e20).unwrap(), "1e20");
        assert_eq!(json_real("x", 0.1 + 0.2).unwrap(), "0.30000000000000004");
        assert!(json_real("x", f64::NAN).is_err());
        assert!(json_real("x", f64::INFINITY).is_err());
        assert_eq!(json_opt_real("x", None).unwrap(), "null");
        assert_eq!(json_int("x", -5).unwrap(), "-5");
        assert!(json_int("x", MAX_EXACT_INT + 1).is_err());
        assert_eq!(json_opt_int("x", None).unwrap(), "null");
        assert_eq!(json_word("tf", "15m").unwrap(), "\"15m\"");
        assert_eq!(json_word("type", "order_block").unwrap(), "\"order_block\"");
        assert!(json_word("tf", "a\"b").is_err());
    }

    #[test]
    fn integers_up_to_2_pow_53_cross_as_exact_floats() {
        for v in [
            0,
            1,
            -1,
            (1 << 31) + 7,
            (1 << 32) + 1,
            MAX_EXACT_INT - 1,
            MAX_EXACT_INT,
            -MAX_EXACT_INT,
        ] {
            let f = int_f64("v", v);
            assert_eq!(f.map(|f| f as i64), Ok(v));
            assert_eq!(read_int("t", None, "v", v as f64), Ok(v));
        }
    }

    #[test]
    fn integers_beyond_2_pow_53_are_refused_before_binding() {
        for v in [MAX_EXACT_INT + 1, -MAX_EXACT_INT - 1, i64::MAX, i64::MIN] {
            assert!(
                matches!(int_f64("ts", v), Err(StoreError::Invalid(_))),
                "{v}"
            );
        }
    }

    #[test]
    fn non_integral_or_oversized_numbers_read_back_are_corrupt() {
        for v in [0.5, f64::NAN, f64::INFINITY, 2f64.powi(53) * 2.0, -1e300] {
            assert!(
                matches!(
                    read_int("candles", Some(3), "ts", v),
                    Err(StoreError::Corrupt {
                        table: "candles",
                        id: Some(3),
                        ..
                    })
                ),
                "{v}"
            );
        }
        assert_eq!(read_opt_int("t", None, "v", None), Ok(None));
        assert_eq!(read_opt_int("t", None, "v", Some(7.0)), Ok(Some(7)));
    }

    #[test]
    fn flags_are_0_or_1() {
        assert_eq!(read_flag("t", None, "f", 0.0), Ok(false));
        assert_eq!(read_flag("t", None, "f", 1.0), Ok(true));
        assert!(read_flag("t", None, "f", 2.0).is_err());
        assert!(read_flag("t", None, "f", 0.5).is_err());
    }
}
