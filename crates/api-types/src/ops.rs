//! Wire types of the on-demand runs (product.md §3 `POST /scan`, `/scan/run`, `/fetch`,
//! `GET /runs/{id}`) and the admin operations on crons and symbols (§9: quick actions,
//! historical fetch, candle import). A queued run is executed by the every-minute dispatch
//! job, never in the request: the POSTs answer 202 with the recorded run, which the caller
//! polls.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `POST /scan`, `/scan/run`, `/fetch`: the symbol (`BTC/USDT`, an active one) and an
/// optional timeframe (`1m` … `1d`), recorded with the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// Canonical symbol.
    pub symbol: String,
    /// Timeframe, optional.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<cl_domain::Timeframe>))]
    pub tf: Option<String>,
}

/// `POST /admin/symbols/{id}/historical-fetch`: the first minute to fetch (UTC ms, from
/// 2017-01-01 to now); default: the symbol's fetch start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HistoricalFetchRequest {
    /// UTC ms.
    #[serde(default)]
    pub from_ms: Option<i64>,
}

/// `POST /admin/symbols/{id}/import`: candle text as the CLI reads it (`csv`: the header
/// `timestamp,open,high,low,close,volume`; `json`: `[[ts, o, h, l, c, v], …]` or
/// `{"candles": […]}`), 1m candles, at most 5 MiB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// `csv` or `json`.
    pub format: String,
    /// The file's text.
    pub data: String,
}

/// One recorded on-demand run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = QueuedRun))]
pub struct QueuedRunDto {
    /// Run id (poll `GET /runs/{id}`).
    pub id: i64,
    /// `scan`, `full_cycle`, `fetch`, `stats`, `cleanup`, `db_health` or `historical_fetch`.
    pub kind: String,
    /// `queued`, `running`, `ok`, `partial` or `failed`.
    pub status: String,
    /// The symbol, when the run is for one.
    pub symbol: Option<String>,
    /// The timeframe asked for.
    pub tf: Option<String>,
    /// `api` or `admin`.
    pub source: String,
    /// Historical fetch: the first minute (UTC ms).
    pub from_ms: Option<i64>,
    /// Resume point: the last fetched 1m open time (historical fetch) or the next symbol id.
    pub cursor: Option<i64>,
    /// 0..=100.
    #[cfg_attr(feature = "openapi", schema(maximum = 100))]
    pub progress: u8,
    /// Queued at, UTC ms.
    pub created_at: i64,
    /// First claimed by the dispatch job, UTC ms.
    pub started_at: Option<i64>,
    /// Ended, UTC ms.
    pub ended_at: Option<i64>,
    /// Why it failed or is partial.
    pub error: Option<String>,
    /// Counters (candles, patterns, signals, …).
    pub counts: Option<BTreeMap<String, u64>>,
    /// The `cron_runs` row a maintenance run wrote (see `/admin/crons/{name}/runs`).
    pub cron_run_id: Option<i64>,
}

/// One skipped import row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportRowError {
    /// 1-based data row (the header is not a row).
    pub row: u64,
    /// 1-based line of the text (CSV), when known.
    pub line: Option<u64>,
    /// Why it was skipped.
    pub reason: String,
}

/// What an import stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ImportResult))]
pub struct ImportResultDto {
    /// Valid rows read.
    pub valid: u64,
    /// Newly stored 1m candles.
    pub imported: u64,
    /// Valid rows already stored (left unchanged).
    pub duplicates: u64,
    /// Rows skipped as invalid.
    pub skipped: u64,
    /// Higher-TF candles written from the imported range.
    pub aggregated: u64,
    /// The skipped rows, at most 100.
    pub errors: Vec<ImportRowError>,
    /// More rows were skipped than listed.
    pub errors_truncated: bool,
    /// Open time of the first valid row.
    pub first_ts: Option<i64>,
    /// Open time of the last valid row.
    pub last_ts: Option<i64>,
}
