//! A client for Binance-compatible spot klines (`GET {base}/api/v3/klines`, 1m only).
//!
//! Rows are validated into domain [`Candle`]s here, once, at the edge: a row that is not a
//! valid candle is skipped with its index and reason ([`BadRow`]) and never fails the page; a
//! body that is not a JSON array of rows fails the page ([`ExchangeError::Malformed`]).
//!
//! ## Pagination ([`ExchangeClient::fetch_since`])
//! - The first request starts at the last stored candle + 1 minute, or (first run) at
//!   `fetch_start_ms` rounded up to a minute. `endTime` is the millisecond before the current,
//!   still-open minute, and rows at or after it are dropped: the open candle is never returned.
//! - Pages ask for [`MAX_LIMIT`] rows. A full page continues from its last open time + 1 minute;
//!   a short (or empty) page means the exchange has nothing more yet, and the fetch is
//!   `complete`. `max_pages` bounds one run; the next run resumes from what was stored.
//!
//! ## Confirmed gaps
//! Binance answers `startTime=S` with the klines whose open time is `≥ S`, oldest first, with no
//! holes of its own. So inside one page:
//! - between two consecutive rows that were both valid, open times `a` and `b` with
//!   `b − a > 1 min`, the minutes `a + 1 min ..= b − 1 min` are confirmed empty;
//! - before the first row, when it is valid, the minutes `startTime ..= first − 1 min` are
//!   confirmed empty, except on a symbol's very first fetch (no stored candle), where that range
//!   is just the time before the listing and is not recorded.
//!
//! A skipped row breaks the chain (it may have hidden a real candle), and nothing after the last
//! row is ever recorded: the latest minutes may simply not be published yet. Ranges are
//! inclusive open times of the first and last missing minute.

use crate::ports::{BreakerStore, Clock, HttpTransport, Method, OutboundRequest, Sleeper};
use crate::retry::RetryPolicy;
use crate::upstream::{CallError, Upstream};
use crate::url::BaseUrl;
use cl_domain::Candle;
use serde_json::Value;

/// One minute in ms: the only interval fetched.
pub const MINUTE_MS: i64 = 60_000;
/// The most rows Binance returns per request.
pub const MAX_LIMIT: u16 = 1_000;
/// The klines endpoint.
pub const KLINES_PATH: &str = "/api/v3/klines";
/// The interval parameter.
pub const INTERVAL: &str = "1m";
/// Default time limit of one request.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// A body larger than this is refused unparsed (a full page is about 150 KiB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Fields a kline row must have: open time, open, high, low, close, volume.
pub const MIN_ROW_FIELDS: usize = 6;
/// Longest exchange symbol accepted (`BTCUSDT` form).
pub const MAX_SYMBOL_LEN: usize = 20;
/// How much of a malformed body's parse error is kept.
const MAX_REASON_LEN: usize = 200;

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// The symbol is not `BASE/QUOTE` (or `BASEQUOTE`) in `[A-Z0-9]`.
    #[error("invalid symbol {0:?}")]
    InvalidSymbol(String),
    /// A limit outside `1..=1000`, a negative start or an end before the start.
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// The upstream call failed (after retries, or at once when the breaker is open).
    #[error(transparent)]
    Call(#[from] CallError),
    /// The body is not a JSON array of rows.
    #[error("malformed klines body: {0}")]
    Malformed(String),
}

impl ExchangeError {
    /// True when the run should stop calling the exchange for every symbol, not just this one.
    pub fn stops_upstream(&self) -> bool {
        matches!(self, Self::Call(e) if e.stops_upstream())
    }
}

/// A row that was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// 1-based page of the fetch (always 1 for [`ExchangeClient::fetch_klines`]).
    pub page: u32,
    /// 0-based row index within the page.
    pub index: usize,
    /// Its open time, when it could be read.
    pub open_ms: Option<i64>,
    /// Why it was skipped.
    pub reason: String,
}

/// An inclusive range of minute open times the exchange confirmed empty.
pub type Gap = (i64, i64);

/// One parsed page.
#[derive(Debug, Clone, PartialEq)]
pub struct KlinePage {
    /// Valid candles, strictly increasing, inside the requested range.
    pub candles: Vec<Candle>,
    /// Rows skipped, with reasons.
    pub skipped: Vec<BadRow>,
    /// Rows in the body, valid or not.
    pub rows: usize,
    /// The latest open time read from any row inside the requested range.
    pub last_open_ms: Option<i64>,
    /// Confirmed-empty ranges, the leading one (from `startTime`) included.
    pub gaps: Vec<Gap>,
}

/// What [`ExchangeClient::fetch_since`] got.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchOutcome {
    /// Valid closed candles, strictly increasing.
    pub candles: Vec<Candle>,
    /// Rows skipped, with reasons (log them).
    pub skipped: Vec<BadRow>,
    /// Ranges confirmed empty (for `known_gaps`).
    pub confirmed_gaps: Vec<Gap>,
    /// Requests that returned a page.
    pub pages: u32,
    /// True when the exchange has nothing more before the open minute; false when `max_pages`
    /// ran out, a page could not be advanced past, or an error interrupted the fetch.
    pub complete: bool,
    /// The error that stopped a fetch after at least one page (the pages before it are kept).
    pub interrupted: Option<ExchangeError>,
}

/// Exchange settings, read once from config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeConfig {
    /// Where `/api/v3/klines` lives.
    pub base_url: BaseUrl,
    /// Time limit of one request.
    pub timeout_ms: u64,
    /// Retries per request.
    pub retry: RetryPolicy,
    /// The breaker's name (its KV key suffix).
    pub upstream: String,
}

impl ExchangeConfig {
    /// Defaults: 10 s timeout, [`RetryPolicy::EXCHANGE`], breaker `"exchange"`.
    pub fn new(base_url: BaseUrl) -> Self {
        Self {
            base_url,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            retry: RetryPolicy::EXCHANGE,
            upstream: "exchange".to_owned(),
        }
    }
}

/// `BTC/USDT` → `BTCUSDT`.
///
/// # Errors
/// [`ExchangeError::InvalidSymbol`] unless the symbol is `[A-Z0-9]+` with at most one `/`
/// between two non-empty parts, at most [`MAX_SYMBOL_LEN`] characters without it.
pub fn exchange_symbol(symbol: &str) -> Result<String, ExchangeError> {
    let invalid =
        || ExchangeError::InvalidSymbol(symbol.chars().take(MAX_SYMBOL_LEN * 2).collect());
    let compact: String = match symbol.split_once('/') {
        Some((base, quote)) if !base.is_empty() && !quote.is_empty() => format!("{base}{quote}"),
        Some(_) => return Err(invalid()),
        None => symbol.to_owned(),
    };
    let ok = !compact.is_empty()
        && compact.len() <= MAX_SYMBOL_LEN
        && compact
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(compact)
    } else {
        Err(invalid())
    }
}

/// The minute containing `ms`.
pub fn floor_minute(ms: i64) -> i64 {
    ms.div_euclid(MINUTE_MS).saturating_mul(MINUTE_MS)
}

/// The first minute starting at or after `ms`.
pub fn ceil_minute(ms: i64) -> i64 {
    let floor = floor_minute(ms);
    if floor == ms {
        ms
    } else {
        floor.saturating_add(MINUTE_MS)
    }
}

/// Parses a klines body for a request of open times `start_ms ..= end_ms`.
///
/// # Errors
/// [`ExchangeError::Malformed`] when the body is too large or not a JSON array; bad rows are
/// skipped instead (see [`KlinePage::skipped`]).
pub fn parse_klines(body: &[u8], start_ms: i64, end_ms: i64) -> Result<KlinePage, ExchangeError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ExchangeError::Malformed(format!(
            "body of {} bytes exceeds {MAX_BODY_BYTES}",
            body.len()
        )));
    }
    let rows: Vec<Value> = serde_json::from_slice(body).map_err(|e| {
        ExchangeError::Malformed(e.to_string().chars().take(MAX_REASON_LEN).collect())
    })?;
    let mut page = KlinePage {
        candles: Vec::with_capacity(rows.len()),
        skipped: Vec::new(),
        rows: rows.len(),
        last_open_ms: None,
        gaps: Vec::new(),
    };
    // The open time of the last valid row, or the minute before `startTime`; `None` after a
    // skipped row, which breaks the chain of confirmation.
    let mut anchor = Some(start_ms.saturating_sub(MINUTE_MS));
    for (index, row) in rows.iter().enumerate() {
        let open_ms = row.get(0).and_then(integer);
        if let Some(ts) = open_ms.filter(|ts| (start_ms..=end_ms).contains(ts)) {
            page.last_open_ms = Some(page.last_open_ms.map_or(ts, |l| l.max(ts)));
        }
        let previous = page.candles.last().map(Candle::ts);
        match parse_row(row, start_ms, end_ms, previous) {
            Ok(candle) => {
                if let Some(a) = anchor.filter(|a| candle.ts().saturating_sub(*a) > MINUTE_MS) {
                    page.gaps.push((a + MINUTE_MS, candle.ts() - MINUTE_MS));
                }
                anchor = Some(candle.ts());
                page.candles.push(candle);
            }
            Err(reason) => {
                anchor = None;
                page.skipped.push(BadRow {
                    page: 1,
                    index,
                    open_ms,
                    reason,
                });
            }
        }
    }
    Ok(page)
}

fn parse_row(
    row: &Value,
    start_ms: i64,
    end_ms: i64,
    previous: Option<i64>,
) -> Result<Candle, String> {
    let fields = row.as_array().ok_or("row is not an array")?;
    if fields.len() < MIN_ROW_FIELDS {
        return Err(format!(
            "row has {} fields, expected at least {MIN_ROW_FIELDS}",
            fields.len()
        ));
    }
    let ts = fields
        .first()
        .and_then(integer)
        .ok_or("open time is not an integer")?;
    if ts.rem_euclid(MINUTE_MS) != 0 {
        return Err(format!("open time {ts} is not on a minute boundary"));
    }
    if !(start_ms..=end_ms).contains(&ts) {
        return Err(format!("open time {ts} is outside {start_ms}..={end_ms}"));
    }
    if let Some(prev) = previous.filter(|prev| ts <= *prev) {
        return Err(format!(
            "open time {ts} is not after the previous row's {prev}"
        ));
    }
    let mut values = [0.0_f64; MIN_ROW_FIELDS - 1];
    let names = ["open", "high", "low", "close", "volume"];
    for ((slot, name), field) in values.iter_mut().zip(names).zip(fields.iter().skip(1)) {
        *slot = decimal(field).ok_or_else(|| format!("{name} is not a number"))?;
    }
    let [open, high, low, close, volume] = values;
    Candle::new(ts, open, high, low, close, volume).map_err(|e| e.to_string())
}

/// An integer given as a JSON integer or a string of digits.
fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A decimal given as a JSON string (Binance's form) or number.
fn decimal(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The kline client.
#[derive(Debug)]
pub struct ExchangeClient<T, S, C, B> {
    upstream: Upstream<T, S, C, B>,
    config: ExchangeConfig,
}

impl<T, S, C, B> ExchangeClient<T, S, C, B>
where
    T: HttpTransport,
    S: Sleeper,
    C: Clock,
    B: BreakerStore,
{
    /// A client over the given ports.
    pub fn new(config: ExchangeConfig, transport: T, sleeper: S, clock: C, store: B) -> Self {
        let upstream = Upstream::new(
            config.upstream.clone(),
            config.retry,
            transport,
            sleeper,
            clock,
            store,
        );
        Self { upstream, config }
    }

    /// The upstream (breaker state for logs).
    pub fn upstream(&self) -> &Upstream<T, S, C, B> {
        &self.upstream
    }

    /// Fetches one page of 1m klines with open times from `start_ms` (to `end_ms`, inclusive,
    /// when given).
    ///
    /// # Errors
    /// [`ExchangeError::InvalidSymbol`] / [`ExchangeError::InvalidRequest`] for bad arguments
    /// (nothing is sent), [`ExchangeError::Call`] when the exchange gave no 2xx,
    /// [`ExchangeError::Malformed`] for a body that is not an array of rows.
    pub async fn fetch_klines(
        &self,
        symbol: &str,
        start_ms: i64,
        end_ms: Option<i64>,
        limit: u16,
    ) -> Result<KlinePage, ExchangeError> {
        let symbol = exchange_symbol(symbol)?;
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ExchangeError::InvalidRequest("limit must be 1..=1000"));
        }
        if start_ms < 0 {
            return Err(ExchangeError::InvalidRequest("start must not be negative"));
        }
        if end_ms.is_some_and(|end| end < start_ms) {
            return Err(ExchangeError::InvalidRequest("end is before start"));
        }
        let mut url = format!(
            "{}?symbol={symbol}&interval={INTERVAL}&startTime={start_ms}&limit={limit}",
            self.config.base_url.join(KLINES_PATH)
        );
        if let Some(end) = end_ms {
            url.push_str(&format!("&endTime={end}"));
        }
        let request = OutboundRequest {
            method: Method::Get,
            url,
            headers: vec![("accept".to_owned(), "application/json".to_owned())],
            body: Vec::new(),
            timeout_ms: self.config.timeout_ms,
        };
        let response = self.upstream.send(request).await?;
        parse_klines(&response.body, start_ms, end_ms.unwrap_or(i64::MAX))
    }

    /// Fetches every closed 1m candle after `last_stored_ts` (or from `fetch_start_ms` on a
    /// symbol's first run) up to the minute before `now_ms`, in at most `max_pages` requests.
    /// See the module docs for the pagination and gap rules.
    ///
    /// # Errors
    /// An [`ExchangeError`] when the arguments are invalid or the first page fails; a later
    /// failure is reported in [`FetchOutcome::interrupted`] with the pages before it kept.
    pub async fn fetch_since(
        &self,
        symbol: &str,
        last_stored_ts: Option<i64>,
        fetch_start_ms: i64,
        now_ms: i64,
        max_pages: u32,
    ) -> Result<FetchOutcome, ExchangeError> {
        exchange_symbol(symbol)?;
        let open_minute = floor_minute(now_ms);
        let end = open_minute.saturating_sub(1);
        let first_start = match last_stored_ts {
            Some(ts) => floor_minute(ts).saturating_add(MINUTE_MS),
            None => ceil_minute(fetch_start_ms.max(0)),
        };
        let mut out = FetchOutcome {
            candles: Vec::new(),
            skipped: Vec::new(),
            confirmed_gaps: Vec::new(),
            pages: 0,
            complete: false,
            interrupted: None,
        };
        let mut start = first_start;
        while start < open_minute {
            if out.pages >= max_pages {
                return Ok(out);
            }
            let page = match self.fetch_klines(symbol, start, Some(end), MAX_LIMIT).await {
                Ok(page) => page,
                Err(e) if out.pages == 0 => return Err(e),
                Err(e) => {
                    out.interrupted = Some(e);
                    return Ok(out);
                }
            };
            out.pages += 1;
            let pre_listing = last_stored_ts.is_none() && start == first_start;
            out.confirmed_gaps.extend(
                page.gaps
                    .iter()
                    .filter(|(from, _)| !(pre_listing && *from == start)),
            );
            out.skipped
                .extend(page.skipped.into_iter().map(|row| BadRow {
                    page: out.pages,
                    ..row
                }));
            out.candles.extend(page.candles);
            let full = page.rows >= usize::from(MAX_LIMIT);
            match page.last_open_ms {
                Some(last) if full => start = last.saturating_add(MINUTE_MS),
                // A full page with no readable open time: cannot advance safely.
                None if full => return Ok(out),
                _ => break,
            }
        }
        out.complete = true;
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
