//! # cl-domain: the pure detection core of CryptoLens Edge
//!
//! Everything traders rely on (see `shared/spec/detection.md`) lives here, with no I/O, no
//! clock and no `worker` dependency, so the same code runs natively (CLI, tests, benches), in
//! the Cloudflare worker, and in the browser (charts).
//!
//! Design:
//! - Values are newtypes with private fields, built by `new`/`parse` that return typed errors
//!   ([`Candle`], [`Timeframe`], [`Zone`]); once built they are valid, so the algorithms below
//!   never re-check them.
//! - "Now" is always a parameter (an `i64` of UTC milliseconds); nothing reads a clock.
//! - Every threshold lives in [`DetectionParams`] (and the signal settings), with the spec's
//!   defaults; algorithms take them by reference.

pub mod aggregate;
pub mod backtest;
pub mod candle;
pub mod detect;
pub mod levels;
pub mod lifecycle;
pub mod matrix;
pub mod params;
pub mod pattern;
pub mod signal;
pub mod timeframe;

pub use candle::{Candle, CandleError, CandleSeries, SeriesError};
pub use params::DetectionParams;
pub use pattern::{
    Detection, Direction, PatternStatus, PatternType, UnknownVariant, Zone, ZoneError,
};
pub use timeframe::{Timeframe, TimeframeError};
