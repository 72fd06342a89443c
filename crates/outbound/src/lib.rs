//! Outbound HTTP for CryptoLens Edge, transport-agnostic and pure-async.
//!
//! - [`ports`]: what this crate needs from its host: [`HttpTransport`], [`Sleeper`], [`Clock`]
//!   and a [`BreakerStore`] (KV in the worker). No `worker` types, no `Send` bounds; the crate
//!   compiles for `wasm32-unknown-unknown` and is tested on the host with fakes.
//! - [`retry`]: the pure retry decision (transport errors, 5xx, 429 with `Retry-After`; 418
//!   and other 4xx never retried).
//! - [`breaker`]: the per-upstream circuit breaker (5 failures → open 30 s → one half-open
//!   probe), persisted on state changes only.
//! - [`upstream`]: a transport wrapped in both.
//! - [`exchange`]: the Binance-compatible 1m kline client, with pagination, row validation
//!   into domain candles and confirmed-gap detection.
//! - [`ntfy`]: the ntfy publisher.
//! - [`url`]: https-only base URLs (plain http only to loopback, when allowed).
//!
//! See docs/outbound.md for the rules, KV's limits, and how the worker adapter implements the
//! ports.

pub mod breaker;
pub mod exchange;
pub mod ntfy;
pub mod ports;
pub mod retry;
#[cfg(test)]
mod testkit;
pub mod upstream;
pub mod url;

pub use breaker::{Breaker, BreakerOpen, BreakerRecord, BreakerState};
pub use exchange::{
    BadRow, ExchangeClient, ExchangeConfig, ExchangeError, FetchOutcome, Gap, KlinePage,
};
pub use ntfy::{NtfyClient, NtfyConfig, NtfyError, NtfyFailure, NtfyMessage, SendOutcome};
pub use ports::{
    BreakerStore, BreakerStoreError, Clock, HttpTransport, MemoryBreakerStore, Method,
    OutboundRequest, OutboundResponse, Sleeper, TransportError,
};
pub use retry::RetryPolicy;
pub use upstream::{CallError, Upstream};
pub use url::{BaseUrl, Scheme, UrlError};
