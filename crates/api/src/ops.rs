//! On-demand runs and admin operations (product.md §3 `POST /scan`, `/scan/run`, `/fetch`,
//! `GET /runs/{id}`; §9 crons quick actions, symbols historical fetch and candle import).
//!
//! Design:
//! - The POSTs only RECORD a run (`cl_app::runs`, a `run_queue` row, `queued`) and answer 202
//!   with it; the every-minute dispatch job executes it. Nothing runs ad hoc in a request.
//! - Access: the table declares `ApiKey(write:scan | write:fetch)` for the public triggers;
//!   this module additionally refuses a plain user SESSION (`forbidden`): a browser needs an
//!   admin session, a client needs a (premium) key with the scope. `GET /runs/{id}` answers
//!   the run to the user who queued it or to an admin session; anyone else gets 404.
//! - Rate limits per caller (key id, or user id for a session) in the KV limiter, counted
//!   after validation so a typo does not spend the budget: scan and full cycle 1/min, fetch
//!   5/min, admin quick actions and historical fetches 2/min per admin.
//! - The import reads its own body (`application/json`, ≤ [`MAX_IMPORT_BODY`]): the only
//!   route above the 64 KiB JSON cap. The candle text is parsed and validated by the SAME
//!   code as `cryptolens import` (`cl_app::candle_import`).

use crate::error::ApiError;
use crate::openapi::{array_of, boolean, closed, int, nullable, object, str_enum, string};
use crate::params::{In, ParamDoc, ParamKind};
use crate::routes::Route;
use cl_api_types::ErrorCode;
use serde_json::Value;

/// The quick actions of `POST /admin/crons/{name}/run`.
pub const ACTIONS: &[&str] = &[
    "scan",
    "full-cycle",
    "fetch",
    "stats",
    "cleanup",
    "db-health",
];

/// Largest import body: 5 MiB of candle text plus the JSON envelope around it.
pub const MAX_IMPORT_BODY: usize = 5 * 1024 * 1024 + 64 * 1024;

/// The `{name}` parameter of `/admin/crons/{name}/run`.
pub const ACTION_PARAMS: &[ParamDoc] = &[ParamDoc {
    name: "name",
    location: In::Path,
    kind: ParamKind::Choice(ACTIONS),
    description: "The job or quick action.",
}];

/// OpenAPI note of `POST /scan`.
pub const SCAN_NOTE: &str = "Queues a detection-only run of an active symbol over its stored \
candles (all timeframes; `tf` is recorded). An admin session (CSRF) or an API key with \
`write:scan`; a non-admin session gets 403. 1 per minute per caller. 202 with the run; the \
dispatch job runs it within a minute; poll `GET /runs/{id}`.";
/// OpenAPI note of `POST /scan/run`.
pub const FULL_CYCLE_NOTE: &str = "Queues a full cycle of an active symbol (fetch, aggregate, \
detect, signals, notify). An admin session (CSRF) or an API key with `write:scan`; a \
non-admin session gets 403. 1 per minute per caller. 202 with the run.";
/// OpenAPI note of `POST /fetch`.
pub const FETCH_NOTE: &str = "Queues a fetch of an active symbol's new 1m candles (stored \
and aggregated, no detection). An admin session (CSRF) or an API key with `write:fetch`; a \
non-admin session gets 403. 5 per minute per caller. 202 with the run.";
/// OpenAPI note of `GET /runs/{id}`.
pub const STATUS_NOTE: &str = "The run, for the user who queued it or an admin session; \
anyone else gets 404.";
/// OpenAPI note of `POST /admin/crons/{name}/run`.
pub const RUN_NOW_NOTE: &str = "Queues a run now: `scan`, `full-cycle` and `fetch` cover \
every active symbol (resumed across dispatch ticks); `stats`, `cleanup` and `db-health` run \
the job (its own `cron_runs` row, trigger `manual`). No body. 2 per minute per admin. \
Audited. 202 with the run.";
/// OpenAPI note of `POST /admin/symbols/{id}/historical-fetch`.
pub const HISTORICAL_NOTE: &str = "Queues a chunked, resumable fetch of the symbol's 1m \
history from `from_ms` (default: its fetch start) up to now; the dispatch job continues it a \
few pages per minute (cursor and progress in the run). 2 per minute per admin. Audited.";
/// OpenAPI note of `POST /admin/symbols/{id}/import`.
pub const IMPORT_NOTE: &str = "Imports 1m candles (`format` csv or json, the `cryptolens \
import` shapes) into the symbol: rows validated as detection.md §1, bad rows skipped and \
listed with their row and line (at most 100), stored idempotently, the higher timeframes \
re-aggregated over the range. Body up to 5 MiB of data (413 above). Audited.";

const ROUTES: [Route; 7] = [
    Route::RunScan,
    Route::RunFullCycle,
    Route::RunFetch,
    Route::RunStatus,
    Route::AdminCronRunNow,
    Route::AdminSymbolHistoricalFetch,
    Route::AdminSymbolImport,
];

/// Whether this module serves `route`.
pub fn handles(route: Route) -> bool {
    ROUTES.contains(&route)
}

/// Serves the routes of this module (not wired to the stores yet).
///
/// # Errors
/// `service_unavailable` for now.
pub fn serve_unwired() -> Result<crate::http::Response, ApiError> {
    Err(ApiError::new(ErrorCode::ServiceUnavailable))
}

/// The component schemas of these routes (OpenAPI).
pub(crate) fn openapi_schemas() -> Vec<(&'static str, Value)> {
    let kinds = [
        "scan",
        "full_cycle",
        "fetch",
        "stats",
        "cleanup",
        "db_health",
        "historical_fetch",
    ];
    let counts = serde_json::json!({
        "type": "object",
        "additionalProperties": {"type": "integer", "minimum": 0}
    });
    vec![
        (
            "RunRequest",
            closed(
                "A symbol (an active one) and an optional timeframe.",
                &[("symbol", string()), ("tf", crate::openapi::schema_ref("Timeframe"))],
                &["tf"],
            ),
        ),
        (
            "HistoricalFetchRequest",
            closed(
                "The first minute to fetch (UTC ms); default: the symbol's fetch start.",
                &[("from_ms", int())],
                &["from_ms"],
            ),
        ),
        (
            "ImportRequest",
            closed(
                "Candle text as `cryptolens import` reads it.",
                &[("format", str_enum(["csv", "json"])), ("data", string())],
                &[],
            ),
        ),
        (
            "QueuedRun",
            object(
                "A recorded on-demand run.",
                &[
                    ("id", int()),
                    ("kind", str_enum(kinds)),
                    (
                        "status",
                        str_enum(["queued", "running", "ok", "partial", "failed"]),
                    ),
                    ("symbol", nullable(string())),
                    ("tf", nullable(string())),
                    ("source", str_enum(["api", "admin"])),
                    ("from_ms", nullable(int())),
                    ("cursor", nullable(int())),
                    (
                        "progress",
                        serde_json::json!({"type": "integer", "minimum": 0, "maximum": 100}),
                    ),
                    ("created_at", int()),
                    ("started_at", nullable(int())),
                    ("ended_at", nullable(int())),
                    ("error", nullable(string())),
                    ("counts", nullable(counts)),
                    ("cron_run_id", nullable(int())),
                ],
            ),
        ),
        (
            "ImportRowError",
            object(
                "A skipped import row.",
                &[
                    ("row", int()),
                    ("line", nullable(int())),
                    ("reason", string()),
                ],
            ),
        ),
        (
            "ImportResult",
            object(
                "What an import stored.",
                &[
                    ("valid", int()),
                    ("imported", int()),
                    ("duplicates", int()),
                    ("skipped", int()),
                    ("aggregated", int()),
                    (
                        "errors",
                        array_of(crate::openapi::schema_ref("ImportRowError")),
                    ),
                    ("errors_truncated", boolean()),
                    ("first_ts", nullable(int())),
                    ("last_ts", nullable(int())),
                ],
            ),
        ),
    ]
}
