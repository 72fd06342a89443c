//! The ports this crate consumes: an HTTP transport, a sleeper, a clock and a small key-value
//! store for breaker state. The worker implements them over `worker::Fetch`, `setTimeout`,
//! `Date.now()` and KV; tests implement them over memory (and, in the end-to-end suite, a tiny
//! blocking client over `std::net`).
//!
//! Native `async fn` in traits with **no `Send` bound**: the worker's JS-backed futures are
//! `!Send` and every implementation runs on one thread. Each port is also implemented for `&P`,
//! so a caller can lend a fake to a client and inspect it afterwards.

use std::fmt;

/// An HTTP method this crate sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One HTTP request, fully built: the transport adds nothing but what its platform requires.
///
/// `Debug` redacts credential headers and omits the body, so a transport or test that logs a
/// request with `{:?}` can never leak an API key, a bearer token or a payload with secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// The method.
    pub method: Method,
    /// Absolute URL, query string included.
    pub url: String,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body (empty for `GET`).
    pub body: Vec<u8>,
    /// The whole exchange (connect, send, response head and body) must finish within this many
    /// milliseconds, or the transport answers [`TransportError::Timeout`].
    pub timeout_ms: u64,
}

/// Header names whose values never appear in `Debug` output.
const REDACTED_HEADERS: [&str; 5] = [
    "authorization",
    "x-api-key",
    "cookie",
    "x-mbx-apikey",
    "proxy-authorization",
];

impl std::fmt::Debug for OutboundRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let shown = if REDACTED_HEADERS.iter().any(|r| n.eq_ignore_ascii_case(r)) {
                    "[REDACTED]"
                } else {
                    v.as_str()
                };
                (n.as_str(), shown)
            })
            .collect();
        f.debug_struct("OutboundRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// One HTTP response, body read in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundResponse {
    /// The status code.
    pub status: u16,
    /// Header names and values as received.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl OutboundResponse {
    /// The first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a transport produced no response. The text is for logs only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The request's `timeout_ms` passed before the response was complete.
    #[error("timed out")]
    Timeout,
    /// No connection could be made (DNS, refused, TLS).
    #[error("connect failed: {0}")]
    Connect(String),
    /// Anything else (connection reset, unreadable response).
    #[error("transport failed: {0}")]
    Other(String),
}

/// Sends HTTP requests.
#[allow(async_fn_in_trait)]
pub trait HttpTransport {
    /// Sends `req` and reads the whole response. Any status is a response, not an error.
    ///
    /// # Errors
    /// A [`TransportError`] when no complete response arrived within `req.timeout_ms`.
    async fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, TransportError>;
}

/// Waits. Tests record the requested waits instead of waiting.
#[allow(async_fn_in_trait)]
pub trait Sleeper {
    /// Resolves after about `ms` milliseconds.
    async fn sleep(&self, ms: u64);
}

/// The current time.
pub trait Clock {
    /// UTC milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// Why the breaker store failed. The breaker is advisory, so these never fail a call; they are
/// counted (see `Breaker::store_errors`) for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("breaker store failed: {0}")]
pub struct BreakerStoreError(pub String);

/// Holds one small serialized breaker record per upstream name (KV in the worker).
#[allow(async_fn_in_trait)]
pub trait BreakerStore {
    /// The record stored for `upstream`, if any.
    ///
    /// # Errors
    /// [`BreakerStoreError`] when the store cannot be read.
    async fn get(&self, upstream: &str) -> Result<Option<String>, BreakerStoreError>;

    /// Replaces the record for `upstream`.
    ///
    /// # Errors
    /// [`BreakerStoreError`] when the store cannot be written.
    async fn put(&self, upstream: &str, record: &str) -> Result<(), BreakerStoreError>;
}

impl<P: HttpTransport + ?Sized> HttpTransport for &P {
    async fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, TransportError> {
        (**self).send(req).await
    }
}

impl<P: Sleeper + ?Sized> Sleeper for &P {
    async fn sleep(&self, ms: u64) {
        (**self).sleep(ms).await;
    }
}

impl<P: Clock + ?Sized> Clock for &P {
    fn now_ms(&self) -> i64 {
        (**self).now_ms()
    }
}

impl<P: BreakerStore + ?Sized> BreakerStore for &P {
    async fn get(&self, upstream: &str) -> Result<Option<String>, BreakerStoreError> {
        (**self).get(upstream).await
    }

    async fn put(&self, upstream: &str, record: &str) -> Result<(), BreakerStoreError> {
        (**self).put(upstream, record).await
    }
}

/// A [`BreakerStore`] in memory: for tests, the CLI and local development.
#[derive(Debug, Default)]
pub struct MemoryBreakerStore {
    records: std::cell::RefCell<std::collections::BTreeMap<String, String>>,
    writes: std::cell::Cell<usize>,
}

impl MemoryBreakerStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many times [`BreakerStore::put`] was called.
    pub fn writes(&self) -> usize {
        self.writes.get()
    }

    /// The raw record for `upstream`.
    pub fn raw(&self, upstream: &str) -> Option<String> {
        self.records.borrow().get(upstream).cloned()
    }

    /// Sets the raw record for `upstream` (without counting a write).
    pub fn set_raw(&self, upstream: &str, record: &str) {
        self.records
            .borrow_mut()
            .insert(upstream.to_owned(), record.to_owned());
    }
}

impl BreakerStore for MemoryBreakerStore {
    async fn get(&self, upstream: &str) -> Result<Option<String>, BreakerStoreError> {
        Ok(self.raw(upstream))
    }

    async fn put(&self, upstream: &str, record: &str) -> Result<(), BreakerStoreError> {
        self.writes.set(self.writes.get() + 1);
        self.set_raw(upstream, record);
        Ok(())
    }
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_output_redacts_credentials_and_omits_the_body() {
        let req = OutboundRequest {
            method: Method::Post,
            url: "https://mail.example/send".into(),
            headers: vec![
                ("Authorization".into(), "Bearer sk_live_supersecret".into()),
                ("X-API-Key".into(), "key-123456".into()),
                ("Content-Type".into(), "application/json".into()),
            ],
            body: br#"{"token":"reset-token-abc"}"#.to_vec(),
            timeout_ms: 10_000,
        };
        let shown = format!("{req:?}");
        assert!(!shown.contains("supersecret"), "{shown}");
        assert!(!shown.contains("key-123456"), "{shown}");
        assert!(!shown.contains("reset-token-abc"), "{shown}");
        assert!(shown.contains("application/json"));
        assert!(shown.contains("[REDACTED]"));
    }
}
