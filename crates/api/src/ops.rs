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

use crate::access::Caller;
use crate::body::{is_json, json_depth, MAX_JSON_DEPTH};
use crate::context::RequestContext;
use crate::error::{self, ApiError};
use crate::http::{Request, Response};
use crate::params::{Extract, IdParams, In, ParamDoc, ParamKind, SymbolName};
use crate::portfolio::{parse, Body, Kind};
use crate::routes::{Matched, Route};
use cl_api_types::ops::{
    HistoricalFetchRequest, ImportRequest, ImportResultDto, ImportRowError, QueuedRunDto,
    RunRequest,
};
use cl_api_types::{ErrorCode, FieldError};
use cl_app::admin::FetchStart;
use cl_app::candle_import::{import_candles, Format, ImportError};
use cl_app::jobs::maintenance::MaintenanceStore;
use cl_app::ports::admin::{AdminStore, NewAuditEntry};
use cl_app::ports::run_queue::{QueuedRun, QueuedRunId, RunKind, RunQueueStore, RunSource};
use cl_app::ports::{CandleStore, Clock, RateLimitStore, StoredSymbol, SymbolId, SymbolStore};
use cl_app::runs::{enqueue, resolve_symbol, EnqueueError, RunAsk, SymbolRef};
use cl_auth::ratelimit::{Decision, Rule};
use cl_domain::Timeframe;
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

/// `POST /scan` and `/scan/run`: 1 per minute per caller (product.md §11.13).
pub const SCAN_RULE: Rule = Rule {
    scope: "run_scan",
    limit: 1,
    window_secs: 60,
};
/// Full cycles have their own budget.
pub const FULL_CYCLE_RULE: Rule = Rule {
    scope: "run_full_cycle",
    limit: 1,
    window_secs: 60,
};
/// `POST /fetch`: 5 per minute per caller.
pub const FETCH_RULE: Rule = Rule {
    scope: "run_fetch",
    limit: 5,
    window_secs: 60,
};
/// Admin quick actions and historical fetches: 2 per minute per admin.
pub const ADMIN_RUN_RULE: Rule = Rule {
    scope: "admin_run",
    limit: 2,
    window_secs: 60,
};

/// Most candle text accepted by the import (5 MiB).
pub const MAX_IMPORT_DATA: usize = 5 * 1024 * 1024;

impl Body for RunRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] =
        &[("symbol", Kind::Str, true), ("tf", Kind::Str, false)];
}

impl Body for HistoricalFetchRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] = &[("from_ms", Kind::Int, false)];
}

fn field(name: &str, code: &str, message: &str) -> FieldError {
    FieldError {
        field: name.to_owned(),
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

fn invalid(fields: Vec<FieldError>) -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed).with_fields(fields)
}

/// A run request, validated: the canonical symbol and the optional TF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInput {
    /// Canonical symbol.
    pub symbol: SymbolName,
    /// Timeframe.
    pub tf: Option<Timeframe>,
}

impl TryFrom<RunRequest> for RunInput {
    type Error = Vec<FieldError>;

    fn try_from(r: RunRequest) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let symbol = SymbolName::parse(&r.symbol)
            .map_err(|e| errors.push(field("symbol", e.code, &e.message)))
            .ok();
        let tf = match r.tf.as_deref().map(Timeframe::parse) {
            None => None,
            Some(Ok(tf)) => Some(tf),
            Some(Err(_)) => {
                errors.push(field(
                    "tf",
                    "invalid_choice",
                    "must be one of: 1m, 5m, 15m, 30m, 1h, 2h, 4h, 1d",
                ));
                None
            }
        };
        match symbol {
            Some(symbol) if errors.is_empty() => Ok(Self { symbol, tf }),
            _ => Err(errors),
        }
    }
}

/// Who queues a public run: an admin session or an API key (its owner); the rate-limit
/// subject is the key, or the admin.
fn run_caller(caller: &Caller) -> Result<(cl_app::ports::UserId, String), ApiError> {
    match caller {
        Caller::Key { key } => Ok((key.user.id, format!("key:{}", key.key.id.0))),
        Caller::User { auth, .. } if auth.user().is_admin => {
            Ok((auth.user().id, format!("user:{}", auth.user().id.0)))
        }
        Caller::User { .. } => Err(ApiError::new(ErrorCode::Forbidden)
            .with_message("Queuing runs needs an admin session or an API key with the scope.")),
        Caller::Anonymous { .. } => Err(ApiError::new(ErrorCode::Unauthorized)),
    }
}

async fn hit<L: RateLimitStore>(
    limits: &L,
    rule: &Rule,
    subject: &str,
    now: i64,
) -> Result<(), ApiError> {
    match limits.hit(rule, subject, now).await {
        Ok(Decision::Allowed { .. }) => Ok(()),
        Ok(Decision::Limited { retry_after_secs }) => {
            Err(ApiError::new(ErrorCode::RateLimited).with_retry_after(retry_after_secs))
        }
        // Fail closed: a run costs exchange calls and CPU.
        Err(e) => Err(ApiError::new(ErrorCode::RateLimited)
            .with_retry_after(60)
            .with_cause(format!("rate limiter: {e}"))),
    }
}

/// THE mapping of enqueue failures: the symbol is a field of the request.
impl From<EnqueueError> for ApiError {
    fn from(e: EnqueueError) -> Self {
        match e {
            EnqueueError::UnknownSymbol => {
                invalid(vec![field("symbol", "unknown_symbol", "no such symbol")])
            }
            EnqueueError::InactiveSymbol => invalid(vec![field(
                "symbol",
                "inactive_symbol",
                "the symbol is not active",
            )]),
            EnqueueError::Store(e) => e.into(),
        }
    }
}

fn run_dto(r: QueuedRun, symbol: Option<String>) -> QueuedRunDto {
    QueuedRunDto {
        id: r.id.0,
        kind: r.new.kind.as_str().to_owned(),
        status: r.status.as_str().to_owned(),
        symbol,
        tf: r.new.tf.map(|t| t.as_str().to_owned()),
        source: r.new.source.as_str().to_owned(),
        from_ms: r.new.from_ms,
        cursor: r.cursor,
        progress: r.progress,
        created_at: r.new.created_at,
        started_at: r.started_at,
        ended_at: r.ended_at,
        error: r.error,
        counts: r.counts.map(|c| c.to_map()),
        cron_run_id: r.cron_run.map(|c| c.0),
    }
}

fn audit(
    caller: &Caller,
    ctx: &RequestContext,
    action: &str,
    target: String,
    details: Value,
    now: i64,
) -> Option<NewAuditEntry> {
    let user = caller.user()?;
    Some(NewAuditEntry {
        actor: Some(user.id),
        action: action.to_owned(),
        target,
        details: Some(details.to_string()),
        ip: ctx
            .client_ip
            .as_deref()
            .and_then(|h| cl_auth::net::parse_client_ip(h).ok())
            .map(|ip| ip.to_string()),
        request_id: Some(ctx.request_id.chars().take(64).collect()),
        at: now,
    })
}

/// The quick action of the path: its run kind.
fn action_kind(matched: &Matched) -> Result<(&'static str, RunKind), ApiError> {
    let raw = matched.params.get("name").unwrap_or_default();
    let kind = match raw {
        "scan" => RunKind::Scan,
        "full-cycle" => RunKind::FullCycle,
        "fetch" => RunKind::Fetch,
        "stats" => RunKind::Stats,
        "cleanup" => RunKind::Cleanup,
        "db-health" => RunKind::DbHealth,
        _ => {
            return Err(invalid(vec![field(
                "name",
                "invalid_choice",
                "must be one of: scan, full-cycle, fetch, stats, cleanup, db-health",
            )]))
        }
    };
    let name = ACTIONS
        .iter()
        .copied()
        .find(|a| *a == raw)
        .unwrap_or("scan");
    Ok((name, kind))
}

/// The stores these routes need.
pub trait OpsStores:
    RunQueueStore + SymbolStore + CandleStore + MaintenanceStore + AdminStore
{
}
impl<T: RunQueueStore + SymbolStore + CandleStore + MaintenanceStore + AdminStore> OpsStores for T {}

/// Serves the routes of this module (the gate has run; `handles(route)` is true).
///
/// # Errors
/// The route's mapped errors.
pub async fn serve<S, C, L>(
    store: &S,
    clock: &C,
    limits: &L,
    matched: &Matched,
    caller: &Caller,
    req: &Request,
    ctx: &RequestContext,
) -> Result<Response, ApiError>
where
    S: OpsStores,
    C: Clock,
    L: RateLimitStore,
{
    let route = matched.spec.route;
    match route {
        Route::RunScan | Route::RunFullCycle | Route::RunFetch => {
            let (user, subject) = run_caller(caller)?;
            let input: RunInput = RunInput::try_from(parse::<RunRequest>(req)?).map_err(invalid)?;
            let (kind, rule) = match route {
                Route::RunScan => (RunKind::Scan, SCAN_RULE),
                Route::RunFullCycle => (RunKind::FullCycle, FULL_CYCLE_RULE),
                _ => (RunKind::Fetch, FETCH_RULE),
            };
            // Validated first (nothing written, budget kept), then counted, then queued.
            let symbol = resolve_symbol(
                store,
                &SymbolRef::ActiveName(input.symbol.as_str().to_owned()),
            )
            .await?
            .ok_or_else(|| ApiError::from(EnqueueError::UnknownSymbol))?;
            let now = clock.now_ms();
            hit(limits, &rule, &subject, now).await?;
            let ask = RunAsk {
                kind,
                symbol: SymbolRef::Id(symbol.id),
                tf: input.tf,
                from_ms: None,
                requested_by: user,
                source: RunSource::Api,
            };
            let (run, _) = enqueue(store, &ask, None, now).await?;
            error::ok(ctx, 202, run_dto(run, Some(symbol.symbol)))
        }
        Route::RunStatus => {
            let id = IdParams::extract(req, &matched.params)?.id;
            let run = store
                .queued_run(QueuedRunId(id))
                .await?
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
            let admin_session = caller.auth().is_some_and(|a| a.user().is_admin);
            let owner = caller
                .user()
                .is_some_and(|u| run.new.requested_by == Some(u.id));
            if !(admin_session || owner) {
                return Err(ApiError::new(ErrorCode::NotFound));
            }
            let symbol = symbol_name(store, run.new.symbol).await?;
            error::ok(ctx, 200, run_dto(run, symbol))
        }
        Route::AdminCronRunNow => {
            let (name, kind) = action_kind(matched)?;
            parse::<Empty>(req)?;
            let admin = caller
                .user()
                .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))?;
            let now = clock.now_ms();
            hit(
                limits,
                &ADMIN_RUN_RULE,
                &format!("admin:{}", admin.id.0),
                now,
            )
            .await?;
            let ask = RunAsk {
                kind,
                symbol: SymbolRef::None,
                tf: None,
                from_ms: None,
                requested_by: admin.id,
                source: RunSource::Admin,
            };
            let entry = audit(
                caller,
                ctx,
                "cron.run_now",
                format!("cron:{name}"),
                serde_json::json!({ "kind": kind.as_str() }),
                now,
            );
            let (run, _) = enqueue(store, &ask, entry, now).await?;
            error::ok(ctx, 202, run_dto(run, None))
        }
        Route::AdminSymbolHistoricalFetch => {
            let id = IdParams::extract(req, &matched.params)?.id;
            let body = parse::<HistoricalFetchRequest>(req)?;
            let now = clock.now_ms();
            let from = body
                .from_ms
                .map(|ms| FetchStart::new(ms, now))
                .transpose()
                .map_err(|e| invalid(vec![field("from_ms", e.code, e.message)]))?;
            let symbol = symbol_or_404(store, id).await?;
            let admin = caller
                .user()
                .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))?;
            hit(
                limits,
                &ADMIN_RUN_RULE,
                &format!("admin:{}", admin.id.0),
                now,
            )
            .await?;
            let from_ms = from.map_or(symbol.fetch_start_ms, FetchStart::ms);
            let ask = RunAsk {
                kind: RunKind::HistoricalFetch,
                symbol: SymbolRef::Id(symbol.id),
                tf: Some(Timeframe::M1),
                from_ms: Some(from_ms),
                requested_by: admin.id,
                source: RunSource::Admin,
            };
            let entry = audit(
                caller,
                ctx,
                "symbol.historical_fetch",
                format!("symbol:{}", symbol.symbol),
                serde_json::json!({ "from_ms": from_ms }),
                now,
            );
            let (run, _) = enqueue(store, &ask, entry, now).await?;
            error::ok(ctx, 202, run_dto(run, Some(symbol.symbol)))
        }
        Route::AdminSymbolImport => {
            let id = IdParams::extract(req, &matched.params)?.id;
            let body = import_body(req)?;
            let format = Format::parse(&body.format).map_err(|_| {
                invalid(vec![field(
                    "format",
                    "invalid_choice",
                    "must be csv or json",
                )])
            })?;
            if body.data.len() > MAX_IMPORT_DATA {
                return Err(ApiError::new(ErrorCode::PayloadTooLarge));
            }
            let symbol = symbol_or_404(store, id).await?;
            let now = clock.now_ms();
            let outcome = import_candles(store, symbol.id, &body.data, format, now)
                .await
                .map_err(|e| match e {
                    ImportError::Shape(e) => invalid(vec![field("data", "invalid_format", &e.0)]),
                    ImportError::Store(e) => e.into(),
                })?;
            if let Some(entry) = audit(
                caller,
                ctx,
                "symbol.import",
                format!("symbol:{}", symbol.symbol),
                serde_json::json!({
                    "format": body.format,
                    "valid": outcome.valid,
                    "imported": outcome.imported,
                    "skipped": outcome.skipped,
                }),
                now,
            ) {
                store.append_audit(&entry).await?;
            }
            let dto = ImportResultDto {
                valid: outcome.valid,
                imported: outcome.imported,
                duplicates: outcome.valid.saturating_sub(outcome.imported),
                skipped: outcome.skipped,
                aggregated: outcome.aggregated,
                errors_truncated: outcome.skipped > outcome.errors.len() as u64,
                errors: outcome
                    .errors
                    .into_iter()
                    .map(|b| ImportRowError {
                        row: b.row as u64,
                        line: b.line.map(|l| l as u64),
                        reason: b.reason,
                    })
                    .collect(),
                first_ts: outcome.first_ts,
                last_ts: outcome.last_ts,
            };
            error::ok(ctx, 200, dto)
        }
        _ => Err(ApiError::new(ErrorCode::NotFound)),
    }
}

/// An empty body (or `{}`).
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

impl Body for Empty {
    const MEMBERS: &'static [(&'static str, Kind, bool)] = &[];
}

async fn symbol_or_404<S: SymbolStore>(store: &S, id: i64) -> Result<StoredSymbol, ApiError> {
    match resolve_symbol(store, &SymbolRef::Id(SymbolId(id))).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) | Err(EnqueueError::UnknownSymbol | EnqueueError::InactiveSymbol) => {
            Err(ApiError::new(ErrorCode::NotFound))
        }
        Err(EnqueueError::Store(e)) => Err(e.into()),
    }
}

async fn symbol_name<S: SymbolStore>(
    store: &S,
    id: Option<SymbolId>,
) -> Result<Option<String>, ApiError> {
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(cl_app::runs::symbol_by_id(store, id)
        .await?
        .map(|s| s.symbol))
}

/// The import's own body layer: the one route above the 64 KiB JSON cap. Same order as
/// `crate::body`: media type (415) → size (413, declared or actual) → UTF-8 and JSON
/// (`malformed_json`) → depth → exactly the members `format` and `data`, both strings.
fn import_body(req: &Request) -> Result<ImportRequest, ApiError> {
    if !is_json(req) {
        return Err(ApiError::new(ErrorCode::UnsupportedMediaType));
    }
    let declared = req
        .headers
        .get("content-length")
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_IMPORT_BODY) || req.body.len() > MAX_IMPORT_BODY {
        return Err(ApiError::new(ErrorCode::PayloadTooLarge));
    }
    let text = std::str::from_utf8(&req.body).map_err(|_| {
        ApiError::new(ErrorCode::MalformedJson).with_message("The request body is not UTF-8.")
    })?;
    if json_depth(text) > MAX_JSON_DEPTH {
        return Err(ApiError::new(ErrorCode::MalformedJson)
            .with_message("The request body is nested too deeply."));
    }
    let value: Value =
        serde_json::from_str(text).map_err(|_| ApiError::new(ErrorCode::MalformedJson))?;
    let Value::Object(members) = value else {
        return Err(invalid(vec![field(
            "(body)",
            "invalid_type",
            "The body must be a JSON object.",
        )]));
    };
    let mut errors = Vec::new();
    for name in members.keys() {
        if name != "format" && name != "data" {
            errors.push(field(
                &name.chars().take(64).collect::<String>(),
                "unknown_field",
                "This field is not accepted.",
            ));
        }
    }
    let mut string = |name: &str| match members.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        None | Some(Value::Null) => {
            errors.push(field(name, "required", "This field is required."));
            None
        }
        Some(_) => {
            errors.push(field(name, "invalid_type", "This field must be a string."));
            None
        }
    };
    let format = string("format");
    let data = string("data");
    match (format, data) {
        (Some(format), Some(data)) if errors.is_empty() => Ok(ImportRequest { format, data }),
        _ => Err(invalid(errors)),
    }
}
