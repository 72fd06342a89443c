//! The typed parameter layer (product.md §11.17): path segments, the query string and the
//! few headers a read route uses are parsed ONCE, here, into typed values. Handlers receive
//! only those values and hold no validation.
//!
//! Rules, for every route:
//! - A query name the route does not declare is rejected (`unknown_field`), as is a name given
//!   twice (`duplicate_field`) or bad percent-encoding / UTF-8 (`invalid_encoding`).
//! - Enumerations are allowlists (`invalid_choice`); numbers have ranges (`out_of_range`);
//!   symbols are at most 20 of `A–Z 0–9 / : _ -` and accept `BTC-USDT` for `BTC/USDT`.
//! - Every problem of a request is reported at once, as a field list of one
//!   `validation_failed` error.
//!
//! Each parameter set also declares its [`ParamDoc`]s; the route table and the OpenAPI
//! generator read those, so the documented names are the accepted names.

use crate::error::ApiError;
use crate::http::Request;
use crate::routes::PathParams;
use cl_api_types::{ErrorCode, FieldError};
use cl_app::ports::{parse_side, Cursor, PatternId, SignalId, SignalStatus, MAX_EXACT_INT};
use cl_domain::{Direction, PatternStatus, PatternType, Timeframe};

/// Longest query string accepted.
pub const MAX_QUERY_BYTES: usize = 2048;
/// Longest symbol (product.md §11.17).
pub const MAX_SYMBOL_LEN: usize = 20;
/// Longest opaque cursor accepted.
const MAX_CURSOR_LEN: usize = 64;
/// At most this many field errors are reported.
const MAX_FIELD_ERRORS: usize = 20;
/// Unknown names are echoed truncated to this many characters.
const MAX_ECHOED_NAME: usize = 64;

// ---------------------------------------------------------------------------------------------
// Documentation of parameters (read by the route table and the OpenAPI generator)
// ---------------------------------------------------------------------------------------------

/// Where a parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    /// A `{name}` path segment (always required).
    Path,
    /// A query parameter (always optional).
    Query,
}

/// The value type of a parameter, which fixes both its parser and its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A symbol, `BTC/USDT` or `BTC-USDT`.
    Symbol,
    /// One of the eight timeframes.
    Timeframe,
    /// A pattern type.
    PatternType,
    /// `bullish` or `bearish`.
    Direction,
    /// `long` or `short`.
    Side,
    /// A pattern status (default `active`).
    PatternStatus,
    /// A signal status.
    SignalStatus,
    /// `true` or `false`.
    Bool,
    /// A page size in `1..=max`.
    Limit {
        /// Used when absent.
        default: u32,
        /// The cap.
        max: u32,
    },
    /// A candle count in `1..=2000`, defaulting per timeframe.
    CandleLimit,
    /// A UTC ms timestamp in `0..=2^53`.
    Before,
    /// An opaque keyset cursor from `meta.next_cursor`.
    Cursor,
    /// A row id in `1..=2^53`.
    Id,
    /// A session handle: 32 lowercase hex characters.
    SessionHandle,
    /// One word of a fixed allowlist.
    Choice(&'static [&'static str]),
    /// Free text of at most `max` characters (searches, audit words).
    Text {
        /// The cap.
        max: u32,
    },
}

/// One declared parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamDoc {
    /// Its name.
    pub name: &'static str,
    /// Path or query.
    pub location: In,
    /// Its type.
    pub kind: ParamKind,
    /// What it does (OpenAPI).
    pub description: &'static str,
}

const fn query(name: &'static str, kind: ParamKind, description: &'static str) -> ParamDoc {
    ParamDoc {
        name,
        location: In::Query,
        kind,
        description,
    }
}

const fn path(name: &'static str, kind: ParamKind, description: &'static str) -> ParamDoc {
    ParamDoc {
        name,
        location: In::Path,
        kind,
        description,
    }
}

const SYMBOL_PATH: ParamDoc = path(
    "symbol",
    ParamKind::Symbol,
    "`BASE-QUOTE` or percent-encoded `BASE%2FQUOTE`.",
);
const TF_PATH: ParamDoc = path("tf", ParamKind::Timeframe, "Timeframe.");
const CURSOR: ParamDoc = query(
    "cursor",
    ParamKind::Cursor,
    "Opaque cursor from `meta.next_cursor` of the previous page.",
);

/// The `limit` of a page whose `(default, cap)` is `limits`.
const fn limit_doc(limits: (u32, u32)) -> ParamDoc {
    query(
        "limit",
        ParamKind::Limit {
            default: limits.0,
            max: limits.1,
        },
        "Page size.",
    )
}

/// The candle cap of `/candles` and `/chart`.
pub const MAX_CANDLES: u32 = 2000;
/// `/patterns`: default and cap of `limit`.
pub const PATTERNS_LIMIT: (u32, u32) = (100, 1000);
/// `/signals`: default and cap of `limit`.
pub const SIGNALS_LIMIT: (u32, u32) = (50, 500);

/// The default candle count of a timeframe (product.md §3).
pub const fn default_candle_limit(tf: Timeframe) -> u32 {
    match tf {
        Timeframe::M1 => 500,
        Timeframe::M5 => 400,
        Timeframe::M15 => 300,
        Timeframe::H1 => 250,
        Timeframe::H4 => 200,
        Timeframe::D1 => 150,
        Timeframe::M30 | Timeframe::H2 => 200,
    }
}

// ---------------------------------------------------------------------------------------------
// Typed values
// ---------------------------------------------------------------------------------------------

/// A canonical `BASE/QUOTE` symbol: 3–20 of `A–Z 0–9 / : _ -` with exactly one `/` between a
/// non-empty base and quote. `BTC-USDT` (one `-`, no `/`) is read as `BTC/USDT`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SymbolName(String);

impl SymbolName {
    /// Parses and canonicalises a symbol.
    ///
    /// # Errors
    /// A [`FieldIssue`] naming the broken rule.
    pub fn parse(raw: &str) -> Result<Self, FieldIssue> {
        if raw.is_empty() || raw.len() > MAX_SYMBOL_LEN {
            return Err(FieldIssue::new(
                "invalid_format",
                "must be 3-20 characters, e.g. BTC/USDT or BTC-USDT",
            ));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"/:_-".contains(&b))
        {
            return Err(FieldIssue::new(
                "invalid_format",
                "may contain only A-Z, 0-9 and / : _ -",
            ));
        }
        let canonical = if !raw.contains('/') && raw.matches('-').count() == 1 {
            raw.replacen('-', "/", 1)
        } else {
            raw.to_owned()
        };
        match canonical.split_once('/') {
            Some((base, quote))
                if !base.is_empty() && !quote.is_empty() && !quote.contains('/') =>
            {
                Ok(Self(canonical))
            }
            _ => Err(FieldIssue::new(
                "invalid_format",
                "must be BASE/QUOTE, e.g. BTC/USDT or BTC-USDT",
            )),
        }
    }

    /// The canonical form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A parsed `If-None-Match` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfNoneMatch {
    /// `*`: any current representation.
    Any,
    /// The opaque tags listed (weak and strong alike: RFC 9110 compares weakly here).
    Tags(Vec<String>),
}

impl IfNoneMatch {
    /// Parses the header; malformed members are ignored (they can never match).
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.len() > MAX_QUERY_BYTES {
            return None;
        }
        if raw == "*" {
            return Some(Self::Any);
        }
        let tags: Vec<String> = raw
            .split(',')
            .filter_map(|t| {
                let t = t.trim();
                let t = t.strip_prefix("W/").unwrap_or(t);
                let inner = t.strip_prefix('"')?.strip_suffix('"')?;
                (!inner.contains('"')).then(|| inner.to_owned())
            })
            .collect();
        (!tags.is_empty()).then_some(Self::Tags(tags))
    }

    /// Whether the current entity tag (its opaque part, without quotes) matches.
    pub fn matches(&self, opaque: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags.iter().any(|t| t == opaque),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Field errors
// ---------------------------------------------------------------------------------------------

/// What is wrong with one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    /// Stable code (see [`FIELD_CODES`]).
    pub code: &'static str,
    /// Human-readable text.
    pub message: String,
}

impl FieldIssue {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Every field error code this layer emits (documented in OpenAPI).
pub const FIELD_CODES: [&str; 6] = [
    "unknown_field",
    "duplicate_field",
    "invalid_encoding",
    "invalid_format",
    "invalid_choice",
    "out_of_range",
];

/// Collects the field errors of one request.
#[derive(Debug, Default)]
struct Fields(Vec<FieldError>);

impl Fields {
    fn push(&mut self, field: &str, issue: FieldIssue) {
        if self.0.len() < MAX_FIELD_ERRORS {
            self.0.push(FieldError {
                field: field.chars().take(MAX_ECHOED_NAME).collect(),
                code: issue.code.to_owned(),
                message: issue.message,
            });
        }
    }

    /// Keeps the value, or records the issue under `field`.
    fn check<T>(&mut self, field: &str, r: Result<T, FieldIssue>) -> Option<T> {
        r.map_err(|issue| self.push(field, issue)).ok()
    }

    fn into_error(self) -> ApiError {
        ApiError::new(ErrorCode::ValidationFailed).with_fields(self.0)
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match value {
            Some(v) if self.0.is_empty() => Ok(v),
            _ => Err(self.into_error()),
        }
    }
}

/// The decoded query values a route declared, each at most once.
#[derive(Debug, Default)]
struct Query(Vec<(&'static str, String)>);

impl Query {
    fn parse(raw: &str, docs: &'static [ParamDoc], fields: &mut Fields) -> Self {
        let mut out = Self::default();
        if raw.len() > MAX_QUERY_BYTES {
            fields.push(
                "query",
                FieldIssue::new("out_of_range", "the query string is too long"),
            );
            return out;
        }
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let Ok(name) = percent_decode(name, true) else {
                fields.push("query", FieldIssue::new("invalid_encoding", "bad encoding"));
                continue;
            };
            let Some(doc) = docs
                .iter()
                .find(|d| d.location == In::Query && d.name == name)
            else {
                fields.push(
                    &name,
                    FieldIssue::new("unknown_field", "is not a parameter of this route"),
                );
                continue;
            };
            if out.0.iter().any(|(n, _)| *n == doc.name) {
                fields.push(
                    doc.name,
                    FieldIssue::new("duplicate_field", "may be given once"),
                );
                continue;
            }
            match percent_decode(value, true) {
                Ok(v) => out.0.push((doc.name, v)),
                Err(issue) => fields.push(doc.name, issue),
            }
        }
        out
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A page's `limit` (the default of `limits` when absent, capped by its max) and `cursor`;
    /// `None` when either is bad (both issues are in `fields`).
    fn page(&self, fields: &mut Fields, limits: (u32, u32)) -> Option<(u32, Option<Cursor>)> {
        let limit = self.opt(fields, "limit", |raw| parse_limit(raw, limits.1));
        let cursor = self.opt(fields, "cursor", parse_cursor);
        Some((limit?.unwrap_or(limits.0), cursor?))
    }

    /// Parses an optional value; `Ok(None)` when absent.
    fn opt<T>(
        &self,
        fields: &mut Fields,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, FieldIssue>,
    ) -> Option<Option<T>> {
        match self.get(name) {
            None => Some(None),
            Some(raw) => fields.check(name, parse(raw)).map(Some),
        }
    }
}

/// Decodes `%XX` escapes (and `+` as a space in queries) into UTF-8.
fn percent_decode(raw: &str, plus_is_space: bool) -> Result<String, FieldIssue> {
    let bad = || FieldIssue::new("invalid_encoding", "bad percent-encoding or UTF-8");
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    let s = String::from_utf8(out).map_err(|_| bad())?;
    if s.chars().any(char::is_control) {
        return Err(bad());
    }
    Ok(s)
}

fn path_value(params: &PathParams, fields: &mut Fields, name: &'static str) -> Option<String> {
    let raw = params.get(name).unwrap_or_default();
    fields.check(name, percent_decode(raw, false))
}

// ---------------------------------------------------------------------------------------------
// Scalar parsers
// ---------------------------------------------------------------------------------------------

fn choice<T: Copy>(
    raw: &str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<T, FieldIssue> {
    all.iter()
        .copied()
        .find(|v| name(*v) == raw)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
            FieldIssue::new(
                "invalid_choice",
                format!("must be one of: {}", names.join(", ")),
            )
        })
}

fn parse_tf(raw: &str) -> Result<Timeframe, FieldIssue> {
    choice(raw, &Timeframe::ALL, Timeframe::as_str)
}

fn parse_pattern_type(raw: &str) -> Result<PatternType, FieldIssue> {
    choice(raw, PatternType::ALL, PatternType::as_str)
}

fn parse_direction(raw: &str) -> Result<Direction, FieldIssue> {
    choice(raw, Direction::ALL, Direction::as_str)
}

fn parse_signal_side(raw: &str) -> Result<Direction, FieldIssue> {
    parse_side(raw).map_err(|_| FieldIssue::new("invalid_choice", "must be one of: long, short"))
}

fn parse_pattern_status(raw: &str) -> Result<PatternStatus, FieldIssue> {
    choice(raw, PatternStatus::ALL, PatternStatus::as_str)
}

fn parse_signal_status(raw: &str) -> Result<SignalStatus, FieldIssue> {
    choice(raw, &SignalStatus::ALL, SignalStatus::as_str)
}

fn parse_bool(raw: &str) -> Result<bool, FieldIssue> {
    match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(FieldIssue::new("invalid_choice", "must be true or false")),
    }
}

/// A decimal integer in `min..=max` (digits only: no sign, spaces or exponent).
fn parse_int(raw: &str, min: i64, max: i64) -> Result<i64, FieldIssue> {
    let range = || FieldIssue::new("out_of_range", format!("must be between {min} and {max}"));
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldIssue::new("invalid_format", "must be a whole number"));
    }
    let v: i64 = raw.parse().map_err(|_| range())?;
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(range())
    }
}

fn parse_limit(raw: &str, max: u32) -> Result<u32, FieldIssue> {
    parse_int(raw, 1, i64::from(max)).map(|v| u32::try_from(v).unwrap_or(max))
}

fn parse_before(raw: &str) -> Result<i64, FieldIssue> {
    parse_int(raw, 0, MAX_EXACT_INT)
}

fn parse_id(raw: &str) -> Result<i64, FieldIssue> {
    parse_int(raw, 1, MAX_EXACT_INT)
}

fn parse_cursor(raw: &str) -> Result<Cursor, FieldIssue> {
    let bad = || FieldIssue::new("invalid_format", "is not a cursor returned by this API");
    if raw.len() > MAX_CURSOR_LEN {
        return Err(bad());
    }
    let c = Cursor::decode(raw).map_err(|_| bad())?;
    if c.ts > MAX_EXACT_INT || c.id > MAX_EXACT_INT {
        return Err(bad());
    }
    Ok(c)
}

fn parse_symbol(raw: &str) -> Result<SymbolName, FieldIssue> {
    SymbolName::parse(raw)
}

// ---------------------------------------------------------------------------------------------
// Per-route parameter sets
// ---------------------------------------------------------------------------------------------

/// Parameters parsed from a request into typed values.
pub trait Extract: Sized {
    /// The parameters this set accepts; anything else in the query is rejected.
    const PARAMS: &'static [ParamDoc];

    /// Parses the request.
    ///
    /// # Errors
    /// `validation_failed` listing every bad field.
    fn extract(req: &Request, path: &PathParams) -> Result<Self, ApiError>;
}

/// The one optional query parameter `name` of a route that has no other (anything else in the
/// query is rejected).
fn only_opt<T>(
    req: &Request,
    docs: &'static [ParamDoc],
    name: &'static str,
    parse: impl FnOnce(&str) -> Result<T, FieldIssue>,
) -> Result<Option<T>, ApiError> {
    let mut f = Fields::default();
    let q = Query::parse(&req.query, docs, &mut f);
    let value = q.opt(&mut f, name, parse);
    f.finish(value)
}

/// Routes without parameters (any query parameter is rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoParams;

impl Extract for NoParams {
    const PARAMS: &'static [ParamDoc] = &[];

    fn extract(req: &Request, _: &PathParams) -> Result<Self, ApiError> {
        let mut fields = Fields::default();
        Query::parse(&req.query, Self::PARAMS, &mut fields);
        fields.finish(Some(Self))
    }
}

/// `GET /symbols?active=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolsParams {
    /// `Some(true)`: active only; `Some(false)`: inactive only; `None`: all.
    pub active: Option<bool>,
}

impl Extract for SymbolsParams {
    const PARAMS: &'static [ParamDoc] = &[query(
        "active",
        ParamKind::Bool,
        "`true`: only active symbols; `false`: only inactive ones; absent: all.",
    )];

    fn extract(req: &Request, _: &PathParams) -> Result<Self, ApiError> {
        let active = only_opt(req, Self::PARAMS, "active", parse_bool)?;
        Ok(Self { active })
    }
}

/// `GET /candles/{symbol}/{tf}` and `GET /chart/{symbol}/{tf}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandlesParams {
    /// The series' symbol.
    pub symbol: SymbolName,
    /// The series' timeframe.
    pub tf: Timeframe,
    /// How many candles (the TF's default when absent).
    pub limit: u32,
    /// Only candles opened strictly before this UTC ms.
    pub before: Option<i64>,
}

impl Extract for CandlesParams {
    const PARAMS: &'static [ParamDoc] = &[
        SYMBOL_PATH,
        TF_PATH,
        query(
            "limit",
            ParamKind::CandleLimit,
            "How many candles, 1-2000; default per TF.",
        ),
        query(
            "before",
            ParamKind::Before,
            "Only candles opened strictly before this UTC ms (page backwards).",
        ),
    ];

    fn extract(req: &Request, path: &PathParams) -> Result<Self, ApiError> {
        let mut f = Fields::default();
        let q = Query::parse(&req.query, Self::PARAMS, &mut f);
        let symbol = path_value(path, &mut f, "symbol")
            .and_then(|raw| f.check("symbol", parse_symbol(&raw)));
        let tf = path_value(path, &mut f, "tf").and_then(|raw| f.check("tf", parse_tf(&raw)));
        let limit = q.opt(&mut f, "limit", |raw| parse_limit(raw, MAX_CANDLES));
        let before = q.opt(&mut f, "before", parse_before);
        let value = match (symbol, tf, limit, before) {
            (Some(symbol), Some(tf), Some(limit), Some(before)) => Some(Self {
                limit: limit.unwrap_or(default_candle_limit(tf)),
                symbol,
                tf,
                before,
            }),
            _ => None,
        };
        f.finish(value)
    }
}

/// `GET /patterns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternsParams {
    /// Only this symbol.
    pub symbol: Option<SymbolName>,
    /// Only this timeframe.
    pub tf: Option<Timeframe>,
    /// Only this type.
    pub pattern_type: Option<PatternType>,
    /// Only this direction.
    pub direction: Option<Direction>,
    /// Only this status (default `active`).
    pub status: PatternStatus,
    /// Page size.
    pub limit: u32,
    /// Rows after this position.
    pub cursor: Option<Cursor>,
}

impl Extract for PatternsParams {
    const PARAMS: &'static [ParamDoc] = &[
        query("symbol", ParamKind::Symbol, "Only this symbol."),
        query("tf", ParamKind::Timeframe, "Only this timeframe."),
        query("type", ParamKind::PatternType, "Only this pattern type."),
        query("direction", ParamKind::Direction, "Only this direction."),
        query(
            "status",
            ParamKind::PatternStatus,
            "Only this status (default `active`).",
        ),
        limit_doc(PATTERNS_LIMIT),
        CURSOR,
    ];

    fn extract(req: &Request, _: &PathParams) -> Result<Self, ApiError> {
        let mut f = Fields::default();
        let q = Query::parse(&req.query, Self::PARAMS, &mut f);
        let symbol = q.opt(&mut f, "symbol", parse_symbol);
        let tf = q.opt(&mut f, "tf", parse_tf);
        let pattern_type = q.opt(&mut f, "type", parse_pattern_type);
        let direction = q.opt(&mut f, "direction", parse_direction);
        let status = q.opt(&mut f, "status", parse_pattern_status);
        let page = q.page(&mut f, PATTERNS_LIMIT);
        let value = match (symbol, tf, pattern_type, direction, status, page) {
            (
                Some(symbol),
                Some(tf),
                Some(pattern_type),
                Some(direction),
                Some(status),
                Some((limit, cursor)),
            ) => Some(Self {
                symbol,
                tf,
                pattern_type,
                direction,
                status: status.unwrap_or(PatternStatus::Active),
                limit,
                cursor,
            }),
            _ => None,
        };
        f.finish(value)
    }
}

/// `GET /signals`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalsParams {
    /// Only this symbol.
    pub symbol: Option<SymbolName>,
    /// Only this status.
    pub status: Option<SignalStatus>,
    /// Only this side (`long` = bullish).
    pub direction: Option<Direction>,
    /// Page size.
    pub limit: u32,
    /// Rows after this position.
    pub cursor: Option<Cursor>,
}

impl Extract for SignalsParams {
    const PARAMS: &'static [ParamDoc] = &[
        query("symbol", ParamKind::Symbol, "Only this symbol."),
        query("status", ParamKind::SignalStatus, "Only this status."),
        query("direction", ParamKind::Side, "Only this side."),
        limit_doc(SIGNALS_LIMIT),
        CURSOR,
    ];

    fn extract(req: &Request, _: &PathParams) -> Result<Self, ApiError> {
        let mut f = Fields::default();
        let q = Query::parse(&req.query, Self::PARAMS, &mut f);
        let symbol = q.opt(&mut f, "symbol", parse_symbol);
        let status = q.opt(&mut f, "status", parse_signal_status);
        let direction = q.opt(&mut f, "direction", parse_signal_side);
        let page = q.page(&mut f, SIGNALS_LIMIT);
        let value = match (symbol, status, direction, page) {
            (Some(symbol), Some(status), Some(direction), Some((limit, cursor))) => Some(Self {
                symbol,
                status,
                direction,
                limit,
                cursor,
            }),
            _ => None,
        };
        f.finish(value)
    }
}

/// `GET /patterns/{id}` and `GET /signals/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdParams {
    /// The id, `1..=2^53`.
    pub id: i64,
}

impl IdParams {
    /// As a pattern id.
    pub fn pattern(self) -> PatternId {
        PatternId(self.id)
    }

    /// As a signal id.
    pub fn signal(self) -> SignalId {
        SignalId(self.id)
    }
}

impl Extract for IdParams {
    const PARAMS: &'static [ParamDoc] = &[path("id", ParamKind::Id, "The id.")];

    fn extract(req: &Request, path: &PathParams) -> Result<Self, ApiError> {
        let mut f = Fields::default();
        Query::parse(&req.query, Self::PARAMS, &mut f);
        let id = path_value(path, &mut f, "id").and_then(|raw| f.check("id", parse_id(&raw)));
        f.finish(id.map(|id| Self { id }))
    }
}

/// `DELETE /auth/sessions/{id}`: a session handle. Anything that is not 32 lowercase hex
/// characters names no session of the caller, so it answers `not_found` like a foreign one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionIdParams {
    /// The handle.
    pub handle: String,
}

impl Extract for SessionIdParams {
    const PARAMS: &'static [ParamDoc] = &[path(
        "id",
        ParamKind::SessionHandle,
        "The session handle from `GET /auth/sessions`.",
    )];

    fn extract(req: &Request, path: &PathParams) -> Result<Self, ApiError> {
        let mut f = Fields::default();
        Query::parse(&req.query, Self::PARAMS, &mut f);
        f.finish(Some(()))?;
        match path.get("id") {
            Some(h)
                if h.len() == 32 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
            {
                Ok(Self {
                    handle: h.to_owned(),
                })
            }
            _ => Err(ApiError::new(ErrorCode::NotFound)),
        }
    }
}

/// `GET /matrix`: no query parameters; the conditional header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixParams {
    /// `If-None-Match`, when present and well-formed.
    pub if_none_match: Option<IfNoneMatch>,
}

impl Extract for MatrixParams {
    const PARAMS: &'static [ParamDoc] = &[];

    fn extract(req: &Request, _: &PathParams) -> Result<Self, ApiError> {
        let mut f = Fields::default();
        Query::parse(&req.query, Self::PARAMS, &mut f);
        let if_none_match = req
            .headers
            .get("if-none-match")
            .and_then(IfNoneMatch::parse);
        f.finish(Some(Self { if_none_match }))
    }
}

/// `/portfolios/{id}/trades`: default and cap of `limit`.
pub const TRADES_LIMIT: (u32, u32) = (50, 500);
/// The trade states a list may filter on.
pub const TRADE_STATUSES: &[&str] = &["pending", "open", "closed", "cancelled"];

/// `GET /portfolios/{id}/trades`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradesParams {
    /// The portfolio.
    pub id: i64,
    /// Only this state (one of [`TRADE_STATUSES`]).
    pub status: Option<&'static str>,
    /// Only this symbol.
    pub symbol: Option<SymbolName>,
    /// Only this side.
    pub direction: Option<Direction>,
    /// Page size.
    pub limit: u32,
    /// Rows after this position.
    pub cursor: Option<Cursor>,
}

impl Extract for TradesParams {
    const PARAMS: &'static [ParamDoc] = &[
        path("id", ParamKind::Id, "The portfolio id."),
        query(
            "status",
            ParamKind::Choice(TRADE_STATUSES),
            "Only this state.",
        ),
        query("symbol", ParamKind::Symbol, "Only this symbol."),
        query("direction", ParamKind::Side, "Only this side."),
        limit_doc(TRADES_LIMIT),
        CURSOR,
    ];

    fn extract(req: &Request, path: &PathParams) -> Result<Self, ApiError> {
        let mut f = Fields::default();
        let q = Query::parse(&req.query, Self::PARAMS, &mut f);
        let id = path_value(path, &mut f, "id").and_then(|raw| f.check("id", parse_id(&raw)));
        let status = q.opt(&mut f, "status", |raw| choice(raw, TRADE_STATUSES, |s| s));
        let symbol = q.opt(&mut f, "symbol", parse_symbol);
        let direction = q.opt(&mut f, "direction", parse_signal_side);
        let page = q.page(&mut f, TRADES_LIMIT);
        let value = match (id, status, symbol, direction, page) {
            (Some(id), Some(status), Some(symbol), Some(direction), Some((limit, cursor))) => {
                Some(Self {
                    id,
                    status,
                    symbol,
                    direction,
                    limit,
                    cursor,
                })
            }
            _ => None,
        };
        f.finish(value)
    }
}

/// `GET /payments`: default and cap of `limit`.
pub const PAYMENTS_LIMIT: (u32, u32) = (20, 100);

/// `GET /payments`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentsParams {
    /// Page size.
    pub limit: u32,
    /// Rows after this position.
    pub cursor: Option<Cursor>,
}

impl Extract for PaymentsParams {
    const PARAMS: &'static [ParamDoc] = &[limit_doc(PAYMENTS_LIMIT), CURSOR];

    fn extract(req: &Request, _: &PathParams) -> Result<Self, ApiError> {
        let mut f = Fields::default();
        let q = Query::parse(&req.query, Self::PARAMS, &mut f);
        let page = q.page(&mut f, PAYMENTS_LIMIT);
        f.finish(page.map(|(limit, cursor)| Self { limit, cursor }))
    }
}

/// `GET /stats?symbol=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsParams {
    /// One symbol's analytics; `None`: the caller's tier-wide analytics.
    pub symbol: Option<SymbolName>,
}

impl Extract for StatsParams {
    const PARAMS: &'static [ParamDoc] = &[query(
        "symbol",
        ParamKind::Symbol,
        "One symbol (`BASE-QUOTE` or `BASE%2FQUOTE`); absent: every symbol of your tier.",
    )];

    fn extract(req: &Request, _: &PathParams) -> Result<Self, ApiError> {
        let symbol = only_opt(req, Self::PARAMS, "symbol", parse_symbol)?;
        Ok(Self { symbol })
    }
}

/// `GET /admin/subscriptions`: default and cap of `limit`.
pub const ADMIN_SUBSCRIPTIONS_LIMIT: (u32, u32) = (50, 500);
/// The `plan` filter's words.
pub const PLAN_WORDS: &[&str] = &["pro", "premium", "lifetime"];
/// The `status` filter's words.
pub const SUBSCRIPTION_STATUS_WORDS: &[&str] = &["active", "expired", "cancelled", "suspended"];

/// `GET /admin/subscriptions?plan&status&expiring_within_days&limit&cursor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminSubscriptionsParams {
    /// Only this plan (one of [`PLAN_WORDS`]).
    pub plan: Option<&'static str>,
    /// Only this status (one of [`SUBSCRIPTION_STATUS_WORDS`]).
    pub status: Option<&'static str>,
    /// Only subscriptions expiring from now to now + this many days (1..=365).
    pub expiring_within_days: Option<u32>,
    /// Page size.
    pub limit: u32,
    /// Rows after this position.
    pub cursor: Option<Cursor>,
}

fn word(raw: &str, all: &'static [&'static str]) -> Result<&'static str, FieldIssue> {
    choice(raw, all, |w| w)
}

impl Extract for AdminSubscriptionsParams {
    const PARAMS: &'static [ParamDoc] = &[
        query("plan", ParamKind::Choice(PLAN_WORDS), "Only this plan."),
        query(
            "status",
            ParamKind::Choice(SUBSCRIPTION_STATUS_WORDS),
            "Only this status.",
        ),
        query(
            "expiring_within_days",
            ParamKind::Limit {
                default: 7,
                max: 365,
            },
            "Only subscriptions expiring between now and now + N days (lifetime never).",
        ),
        limit_doc(ADMIN_SUBSCRIPTIONS_LIMIT),
        CURSOR,
    ];

    fn extract(req: &Request, _: &PathParams) -> Result<Self, ApiError> {
        let mut f = Fields::default();
        let q = Query::parse(&req.query, Self::PARAMS, &mut f);
        let plan = q.opt(&mut f, "plan", |r| word(r, PLAN_WORDS));
        let status = q.opt(&mut f, "status", |r| word(r, SUBSCRIPTION_STATUS_WORDS));
        let days = q.opt(&mut f, "expiring_within_days", |r| parse_limit(r, 365));
        let page = q.page(&mut f, ADMIN_SUBSCRIPTIONS_LIMIT);
        let value = match (plan, status, days, page) {
            (Some(plan), Some(status), Some(expiring_within_days), Some((limit, cursor))) => {
                Some(Self {
                    plan,
                    status,
                    expiring_within_days,
                    limit,
                    cursor,
                })
            }
            _ => None,
        };
        f.finish(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_accept_dash_and_slash_forms_and_canonicalise() {
        assert_eq!(SymbolName::parse("BTC-USDT").unwrap().as_str(), "BTC/USDT");
        assert_eq!(SymbolName::parse("BTC/USDT").unwrap().as_str(), "BTC/USDT");
        assert_eq!(
            SymbolName::parse("1000PEPE/USDT").unwrap().as_str(),
            "1000PEPE/USDT"
        );
        assert_eq!(
            SymbolName::parse("BTC-X/USDT").unwrap().as_str(),
            "BTC-X/USDT"
        );
    }

    #[test]
    fn bad_symbols_are_refused() {
        for bad in [
            "",
            "btc-usdt",
            "BTC",
            "BTC-ETH-USDT",
            "BTC//USDT",
            "/USDT",
            "BTC/",
            "BTC/USDT/X",
            "BTC USDT",
            "ABCDEFGHIJ/KLMNOPQRST",
            "BTC/ÜSDT",
        ] {
            assert!(SymbolName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn percent_decoding_rejects_bad_escapes_utf8_and_controls() {
        assert_eq!(percent_decode("BTC%2FUSDT", false).unwrap(), "BTC/USDT");
        assert_eq!(percent_decode("a+b", true).unwrap(), "a b");
        assert_eq!(percent_decode("a+b", false).unwrap(), "a+b");
        for bad in ["%", "%2", "%zz", "%ff", "%0a"] {
            assert!(percent_decode(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn integers_are_digits_within_range() {
        assert_eq!(parse_int("5", 1, 10), Ok(5));
        assert_eq!(parse_int("0", 1, 10).unwrap_err().code, "out_of_range");
        assert_eq!(parse_int("11", 1, 10).unwrap_err().code, "out_of_range");
        assert_eq!(
            parse_int("99999999999999999999", 1, 10).unwrap_err().code,
            "out_of_range"
        );
        for bad in ["", "-1", "+1", "1e3", " 1", "0x1", "1.0"] {
            assert_eq!(parse_int(bad, 0, 10).unwrap_err().code, "invalid_format");
        }
    }

    #[test]
    fn if_none_match_compares_weakly_and_ignores_garbage() {
        let h = IfNoneMatch::parse(r#"W/"abc", "def""#).unwrap();
        assert!(h.matches("abc"));
        assert!(h.matches("def"));
        assert!(!h.matches("ab"));
        assert!(IfNoneMatch::parse("*").unwrap().matches("anything"));
        assert_eq!(IfNoneMatch::parse("abc"), None);
        assert_eq!(IfNoneMatch::parse(""), None);
    }

    #[test]
    fn candle_defaults_follow_the_spec() {
        let expected = [500, 400, 300, 200, 250, 200, 200, 150];
        for (tf, want) in Timeframe::ALL.iter().zip(expected) {
            assert_eq!(default_candle_limit(*tf), want, "{tf}");
        }
    }
}
