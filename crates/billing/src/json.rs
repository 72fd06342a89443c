//! A small, strict JSON reader that keeps number lexemes verbatim, and the two canonical forms
//! that NOWPayments signatures are checked against (product.md §11.20).
//!
//! Why not `serde_json`: the signature covers "numbers kept as sent", which `serde_json` can only
//! do with its `arbitrary_precision` feature, and features unify across the workspace (every other
//! crate would then see numbers differently). One reader here also means the bytes that were
//! verified and the values the events module interprets come from the *same* parse, so there is
//! no parser differential between "what was signed" and "what we act on".
//!
//! Rules (stricter than RFC 8259 where that removes ambiguity):
//! - input must be UTF-8 (no BOM); whitespace is space, tab, LF, CR;
//! - numbers follow the RFC grammar and are kept as their exact text (`1.50`, `1e3`, `-0`);
//! - strings are decoded (escapes, surrogate pairs); a lone surrogate or a raw control character
//!   is an error;
//! - an object with a duplicate key is an error (two readers could disagree on which one wins);
//! - nesting deeper than [`MAX_DEPTH`] containers is an error;
//! - nothing but whitespace may follow the top-level value.
//!
//! Output ([`Value::write_compact`]) is compact: no whitespace; strings re-escaped minimally the
//! way `JSON.stringify` does (`\"`, `\\`, `\b \f \n \r \t`, other controls as `\u00xx`, everything
//! else — `/` and non-ASCII included — verbatim); numbers verbatim.

use std::fmt::Write as _;

/// Maximum nesting of arrays and objects (product.md §11.17: JSON depth ≤ 32).
pub const MAX_DEPTH: usize = 32;

/// UTF-16 surrogate ranges and arithmetic, for decoding `\u` escape pairs.
const HIGH_SURROGATES: std::ops::RangeInclusive<u32> = 0xD800..=0xDBFF;
const LOW_SURROGATES: std::ops::RangeInclusive<u32> = 0xDC00..=0xDFFF;
const SURROGATE_BASE: u32 = 0x1_0000;
const SURROGATE_SHIFT: u32 = 10;
const HEX_DIGITS_IN_ESCAPE: usize = 4;
/// `\u`, which must introduce the low half of a surrogate pair.
const ESCAPE_U: &str = "\\u";
/// Characters below this must be escaped inside JSON strings.
const FIRST_UNESCAPED_CHAR: char = '\u{20}';

/// Why a body is not JSON this reader accepts. Offsets are byte offsets into the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// The input is not valid UTF-8.
    #[error("the body is not valid UTF-8")]
    InvalidUtf8,
    /// The input ended inside a value.
    #[error("unexpected end of the body")]
    UnexpectedEnd,
    /// A byte that cannot start or continue a value here.
    #[error("unexpected character at byte {0}")]
    UnexpectedCharacter(usize),
    /// A number that does not follow the JSON grammar.
    #[error("invalid number at byte {0}")]
    InvalidNumber(usize),
    /// A bad escape, or a lone UTF-16 surrogate.
    #[error("invalid string escape at byte {0}")]
    InvalidEscape(usize),
    /// A raw control character inside a string.
    #[error("unescaped control character at byte {0}")]
    ControlCharacter(usize),
    /// More than [`MAX_DEPTH`] nested arrays/objects.
    #[error("nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The same key twice in one object.
    #[error("duplicate object key")]
    DuplicateKey,
    /// Something other than whitespace after the top-level value.
    #[error("trailing characters at byte {0}")]
    TrailingCharacters(usize),
}

/// A parsed JSON value. Numbers borrow their exact text from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as its exact lexeme (e.g. `"1.50"`).
    Number(&'a str),
    /// A decoded string.
    String(String),
    /// An array, in order.
    Array(Vec<Value<'a>>),
    /// An object's members in the order sent (keys are unique).
    Object(Vec<(String, Value<'a>)>),
}

/// Which objects [`Value::write_compact`] sorts by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrder {
    /// Every object, at every depth (byte order of the UTF-8 keys).
    SortedRecursively,
    /// Only the top-level object; nested objects keep the order sent.
    SortedTopLevel,
    /// No object is sorted.
    AsSent,
}

impl<'a> Value<'a> {
    /// The member `key` of an object (`None` for other values or a missing key).
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follows a path of object keys.
    pub fn pointer(&self, path: &[&str]) -> Option<&Value<'a>> {
        path.iter().try_fold(self, |value, key| value.get(key))
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number's exact text, if this is a number.
    pub fn as_number(&self) -> Option<&'a str> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Appends the compact form of this value to `out`, sorting object keys as `order` says.
    pub fn write_compact(&self, out: &mut String, order: KeyOrder) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(true) => out.push_str("true"),
            Value::Bool(false) => out.push_str("false"),
            Value::Number(n) => out.push_str(n),
            Value::String(s) => write_string(out, s),
            Value::Array(items) => {
                let inner = nested_order(order);
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_compact(out, inner);
                }
                out.push(']');
            }
            Value::Object(members) => {
                let mut refs: Vec<&(String, Value<'a>)> = members.iter().collect();
                if order != KeyOrder::AsSent {
                    refs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                }
                let inner = nested_order(order);
                out.push('{');
                for (i, (key, value)) in refs.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(out, key);
                    out.push(':');
                    value.write_compact(out, inner);
                }
                out.push('}');
            }
        }
    }

    /// The compact form as a new string.
    pub fn to_compact(&self, order: KeyOrder) -> String {
        let mut out = String::new();
        self.write_compact(&mut out, order);
        out
    }
}

/// Ordering for the values nested one level down.
fn nested_order(order: KeyOrder) -> KeyOrder {
    match order {
        KeyOrder::SortedRecursively => KeyOrder::SortedRecursively,
        KeyOrder::SortedTopLevel | KeyOrder::AsSent => KeyOrder::AsSent,
    }
}

/// Writes `s` as a JSON string with the minimal escapes `JSON.stringify` uses.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < FIRST_UNESCAPED_CHAR => {
                // Writing into a String cannot fail.
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Parses a whole body.
///
/// # Errors
/// A [`JsonError`] describing the first problem found.
pub fn parse(raw: &[u8]) -> Result<Value<'_>, JsonError> {
    let text = std::str::from_utf8(raw).map_err(|_| JsonError::InvalidUtf8)?;
    let mut parser = Parser { text, pos: 0 };
    parser.skip_whitespace();
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos < text.len() {
        return Err(JsonError::TrailingCharacters(parser.pos));
    }
    Ok(value)
}

/// The recursively sorted canonical form: compact, every object's keys in byte order.
///
/// # Errors
/// [`JsonError`] when the body is not accepted by [`parse`].
pub fn canonical_sorted(raw: &[u8]) -> Result<String, JsonError> {
    Ok(parse(raw)?.to_compact(KeyOrder::SortedRecursively))
}

/// The provider's reference form: compact, top-level keys in byte order, nested objects in the
/// order sent (what a one-level `ksort` followed by `json_encode` produces).
///
/// # Errors
/// [`JsonError`] when the body is not accepted by [`parse`].
pub fn canonical_reference(raw: &[u8]) -> Result<String, JsonError> {
    Ok(parse(raw)?.to_compact(KeyOrder::SortedTopLevel))
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect_byte(&mut self, byte: u8) -> Result<(), JsonError> {
        match self.peek() {
            Some(b) if b == byte => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(JsonError::UnexpectedCharacter(self.pos)),
            None => Err(JsonError::UnexpectedEnd),
        }
    }

    fn slice(&self, start: usize, end: usize) -> Result<&'a str, JsonError> {
        self.text
            .get(start..end)
            .ok_or(JsonError::UnexpectedCharacter(start))
    }

    /// One value; `depth` is the number of containers around it.
    fn value(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        match self.peek() {
            None => Err(JsonError::UnexpectedEnd),
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => Ok(Value::Number(self.number()?)),
            Some(_) => Err(JsonError::UnexpectedCharacter(self.pos)),
        }
    }

    fn literal(&mut self, word: &str, value: Value<'a>) -> Result<Value<'a>, JsonError> {
        let end = self.pos + word.len();
        match self.text.get(self.pos..end) {
            Some(found) if found == word => {
                self.pos = end;
                Ok(value)
            }
            Some(_) => Err(JsonError::UnexpectedCharacter(self.pos)),
            None if word.starts_with(self.text.get(self.pos..).unwrap_or_default()) => {
                Err(JsonError::UnexpectedEnd)
            }
            None => Err(JsonError::UnexpectedCharacter(self.pos)),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, returned verbatim.
    fn number(&mut self) -> Result<&'a str, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(JsonError::InvalidNumber(start)),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(JsonError::InvalidNumber(start));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(JsonError::InvalidNumber(start));
            }
        }
        self.slice(start, self.pos)
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let start = self.pos;
        let end = start + HEX_DIGITS_IN_ESCAPE;
        let digits = self.text.get(start..end).ok_or(JsonError::UnexpectedEnd)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(JsonError::InvalidEscape(start));
        }
        self.pos = end;
        u32::from_str_radix(digits, 16).map_err(|_| JsonError::InvalidEscape(start))
    }

    /// A string starting at the opening quote.
    fn string(&mut self) -> Result<String, JsonError> {
        self.expect_byte(b'"')?;
        let mut out = String::new();
        let mut run_start = self.pos;
        loop {
            let Some(byte) = self.peek() else {
                return Err(JsonError::UnexpectedEnd);
            };
            match byte {
                b'"' => {
                    out.push_str(self.slice(run_start, self.pos)?);
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(self.slice(run_start, self.pos)?);
                    let escape_at = self.pos;
                    self.pos += 1;
                    let Some(kind) = self.peek() else {
                        return Err(JsonError::UnexpectedEnd);
                    };
                    self.pos += 1;
                    match kind {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{08}'),
                        b'f' => out.push('\u{0C}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape(escape_at)?),
                        _ => return Err(JsonError::InvalidEscape(escape_at)),
                    }
                    run_start = self.pos;
                }
                0x00..=0x1F => return Err(JsonError::ControlCharacter(self.pos)),
                _ => self.pos += 1,
            }
        }
    }

    /// The character of a `\uXXXX` escape (after the `u`), joining a surrogate pair.
    fn unicode_escape(&mut self, escape_at: usize) -> Result<char, JsonError> {
        let first = self.hex4()?;
        let code = if HIGH_SURROGATES.contains(&first) {
            if self.text.get(self.pos..self.pos + ESCAPE_U.len()) != Some(ESCAPE_U) {
                return Err(JsonError::InvalidEscape(escape_at));
            }
            self.pos += ESCAPE_U.len();
            let second = self.hex4()?;
            if !LOW_SURROGATES.contains(&second) {
                return Err(JsonError::InvalidEscape(escape_at));
            }
            SURROGATE_BASE
                + ((first - HIGH_SURROGATES.start()) << SURROGATE_SHIFT)
                + (second - LOW_SURROGATES.start())
        } else if LOW_SURROGATES.contains(&first) {
            return Err(JsonError::InvalidEscape(escape_at));
        } else {
            first
        };
        char::from_u32(code).ok_or(JsonError::InvalidEscape(escape_at))
    }

    fn array(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.expect_byte(b'[')?;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_whitespace();
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                Some(_) => return Err(JsonError::UnexpectedCharacter(self.pos)),
                None => return Err(JsonError::UnexpectedEnd),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.expect_byte(b'{')?;
        let mut members: Vec<(String, Value<'a>)> = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return match self.peek() {
                    None => Err(JsonError::UnexpectedEnd),
                    Some(_) => Err(JsonError::UnexpectedCharacter(self.pos)),
                };
            }
            let key = self.string()?;
            self.skip_whitespace();
            self.expect_byte(b':')?;
            self.skip_whitespace();
            let value = self.value(depth)?;
            members.push((key, value));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => return Err(JsonError::UnexpectedCharacter(self.pos)),
                None => return Err(JsonError::UnexpectedEnd),
            }
        }
        let mut keys: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        if keys.windows(2).any(|pair| pair.first() == pair.get(1)) {
            return Err(JsonError::DuplicateKey);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(raw: &str) -> String {
        canonical_sorted(raw.as_bytes()).unwrap()
    }

    #[test]
    fn whitespace_is_removed_and_keys_are_sorted_by_bytes() {
        let raw = "{ \"b\" : 1 ,\n\t\"a\":true, \"B\": null }";
        assert_eq!(sorted(raw), r#"{"B":null,"a":true,"b":1}"#);
    }

    #[test]
    fn number_lexemes_are_kept_exactly_as_sent() {
        let raw = r#"{"a":1.50,"b":1e3,"c":-0,"d":1E+2,"e":0.000001,"f":12345678901234567890123}"#;
        assert_eq!(sorted(raw), raw);
    }

    #[test]
    fn malformed_numbers_are_rejected() {
        for bad in [
            "01", "1.", ".5", "-", "1e", "1e+", "+1", "0x10", "1.e3", "--1",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn escapes_are_decoded_and_re_escaped_minimally() {
        let raw = r#"["\u00e9\u0041\/\"\\\b\f\n\r\t\u0001\ud83d\ude00"]"#;
        assert_eq!(sorted(raw), "[\"éA/\\\"\\\\\\b\\f\\n\\r\\t\\u0001😀\"]");
    }

    #[test]
    fn lone_surrogates_and_bad_escapes_are_rejected() {
        for bad in [
            r#""\ud83d""#,
            r#""\ude00""#,
            r#""\ud83d\u0041""#,
            r#""\x""#,
            r#""\u12""#,
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn raw_control_characters_in_strings_are_rejected() {
        assert_eq!(parse(b"\"a\x01\""), Err(JsonError::ControlCharacter(2)));
    }

    #[test]
    fn duplicate_keys_are_rejected_at_any_depth() {
        assert_eq!(parse(br#"{"a":1,"a":2}"#), Err(JsonError::DuplicateKey));
        assert_eq!(
            parse(br#"{"x":{"a":1,"b":2,"a":3}}"#),
            Err(JsonError::DuplicateKey)
        );
    }

    #[test]
    fn thirty_two_levels_parse_and_thirty_three_do_not() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(deep.as_bytes()), Err(JsonError::TooDeep));
        let deep_objects = format!(
            "{}1{}",
            r#"{"a":"#.repeat(MAX_DEPTH + 1),
            "}".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(parse(deep_objects.as_bytes()), Err(JsonError::TooDeep));
    }

    #[test]
    fn trailing_garbage_invalid_utf8_and_truncation_are_rejected() {
        assert_eq!(parse(b"{} x"), Err(JsonError::TrailingCharacters(3)));
        assert_eq!(parse(b"\"\xff\""), Err(JsonError::InvalidUtf8));
        assert_eq!(parse(b"{\"a\":tru"), Err(JsonError::UnexpectedEnd));
        assert_eq!(parse(b""), Err(JsonError::UnexpectedEnd));
        assert!(parse("\u{feff}{}".as_bytes()).is_err());
    }

    #[test]
    fn the_reference_form_sorts_only_the_top_level_object() {
        let raw = r#"{"z":{"b":1,"a":[{"d":0,"c":0}]},"a":2}"#;
        assert_eq!(
            canonical_reference(raw.as_bytes()).unwrap(),
            r#"{"a":2,"z":{"b":1,"a":[{"d":0,"c":0}]}}"#
        );
        assert_eq!(sorted(raw), r#"{"a":2,"z":{"a":[{"c":0,"d":0}],"b":1}}"#);
    }

    #[test]
    fn accessors_follow_paths_and_types() {
        let value = parse(br#"{"meta":{"name":"x","n":7,"t":false,"z":null}}"#).unwrap();
        assert_eq!(
            value.pointer(&["meta", "name"]).and_then(Value::as_str),
            Some("x")
        );
        assert_eq!(
            value.pointer(&["meta", "n"]).and_then(Value::as_number),
            Some("7")
        );
        assert_eq!(
            value.pointer(&["meta", "t"]).and_then(Value::as_bool),
            Some(false)
        );
        assert!(value.pointer(&["meta", "z"]).is_some_and(Value::is_null));
        assert!(value.pointer(&["meta", "missing"]).is_none());
        assert!(value.pointer(&["meta", "name", "deeper"]).is_none());
    }
}
