//! The admin optimizer over HTTP (product.md §8, §9) and the user's trading preferences
//! (`/me/preferences/trading`, `/me/preferences/tuned`; product.md §2 `/settings/trading`).
//!
//! Design:
//! - The gate has run: the `/admin/optimizer/*` routes are [`crate::access::Access::Admin`]
//!   (admin session, CSRF + Origin on writes; non-admin 403), the `/me/*` routes are session
//!   only. `cl_app::optimizer` checks admin again and writes the audit rows.
//! - Bodies are typed members ([`crate::portfolio::parse`]: unknown fields, wrong JSON types
//!   and missing members → `validation_failed`), then converted once into the use cases'
//!   inputs; every rule (ranges, decimals, allowlists, tier) lives in `cl_app`.
//! - The grid is detection.md's ([`cl_domain::backtest::OptimizerGrid::default`]); the HTTP
//!   API does not take another.
//! - Query and path values (`metric`, `{id}`, `{other}`) are parsed here once; anything else is
//!   `validation_failed` with field errors.

use crate::access::Caller;
use crate::context::RequestContext;
use crate::error::{self, ApiError};
use crate::http::{Request, Response};
use crate::params::{Extract, In, NoParams, ParamDoc, ParamKind, PaymentsParams};
use crate::portfolio::{parse, Body, Kind};
use crate::routes::{Matched, PathParams, Route};
use cl_api_types::{
    ErrorCode, FieldError, OptimizerAppliedDto, OptimizerApplyRequest, OptimizerComparisonDto,
    OptimizerJobDetailDto, OptimizerJobDto, OptimizerJobRequest, OptimizerRunDto, TradingPrefsDto,
    TradingPrefsRequest, TunedEntryDto, TunedParamsDto,
};
use cl_app::accounts::Authenticated;
use cl_app::admin::AuditContext;
use cl_app::optimizer::{
    metric_str, my_tuned_params, parse_metric, reset_my_tuned_params, set_trading_prefs, JobInput,
    JobScope, JobView, OptimizerError, OptimizerService, TradingPrefsError, TradingPrefsInput,
    TunedView,
};
use cl_app::policy::{Access as TierAccess, Tier};
use cl_app::ports::admin::AdminStore;
use cl_app::ports::optimization::{
    DefaultRr, OptimizationJobId, OptimizationStore, RiskPerTradePct, StoredOptimizationRun,
    TradingPrefs, TradingPrefsStore,
};
use cl_app::ports::{Clock, Cursor, SymbolStore, UserId, UserStore, MAX_EXACT_INT};
use cl_domain::backtest::SelectionMetric;

/// The store ports these routes need.
pub trait OptimizerStores:
    OptimizationStore + TradingPrefsStore + SymbolStore + UserStore + AdminStore
{
}
impl<T: OptimizationStore + TradingPrefsStore + SymbolStore + UserStore + AdminStore>
    OptimizerStores for T
{
}

/// The routes this module serves.
pub const ROUTES: &[Route] = &[
    Route::OptimizerJobs,
    Route::OptimizerJobCreate,
    Route::OptimizerJob,
    Route::OptimizerCompare,
    Route::OptimizerApply,
    Route::OptimizerClear,
    Route::MyTradingPrefs,
    Route::MyTradingPrefsPut,
    Route::MyTunedParamsReset,
];

/// Whether this module serves `route`.
pub fn handles(route: Route) -> bool {
    ROUTES.contains(&route)
}

/// Rows of the results table in a job's detail.
const RESULTS_SHOWN: u32 = 100;

pub(crate) const METRICS: &[&str] = &["total_profit", "win_rate", "sharpe"];

impl Body for OptimizerJobRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] = &[
        ("symbols", Kind::StrList, true),
        ("tfs", Kind::StrList, true),
        ("pattern_types", Kind::StrList, true),
        ("from", Kind::Int, true),
        ("to", Kind::Int, true),
        ("slippage_pct", Kind::Num, false),
    ];
}

impl Body for OptimizerApplyRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] =
        &[("user_id", Kind::Int, true), ("metric", Kind::Str, true)];
}

impl Body for TradingPrefsRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] = &[
        ("risk_per_trade_pct", Kind::Num, false),
        ("default_rr", Kind::Num, false),
    ];
}

fn job_input(r: OptimizerJobRequest) -> JobInput {
    {
        JobInput {
            symbols: r.symbols,
            tfs: r.tfs,
            pattern_types: r.pattern_types,
            from: r.from,
            to: r.to,
            slippage_pct: r.slippage_pct,
            ..JobInput::default()
        }
    }
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

fn app_fields(list: Vec<cl_app::accounts::FieldError>) -> Vec<FieldError> {
    list.into_iter()
        .map(|e| FieldError {
            field: e.field.to_owned(),
            code: e.code.to_owned(),
            message: e.message,
        })
        .collect()
}

impl From<OptimizerError> for ApiError {
    fn from(e: OptimizerError) -> Self {
        match e {
            OptimizerError::Invalid(f) => invalid(app_fields(f)),
            OptimizerError::NotAdmin => ApiError::new(ErrorCode::Forbidden),
            OptimizerError::NotFound(_) => ApiError::new(ErrorCode::NotFound),
            OptimizerError::NothingToApply => ApiError::new(ErrorCode::Conflict)
                .with_message("No run of this job has 10 trades or more for this metric."),
            OptimizerError::Store(s) => s.into(),
        }
    }
}

fn trading_error(e: TradingPrefsError) -> ApiError {
    match e {
        TradingPrefsError::TierRequired => crate::keys::tier_required(Tier::Pro),
        TradingPrefsError::Invalid(f) => invalid(app_fields(f)),
        TradingPrefsError::Store(s) => s.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

const METRIC: ParamDoc = ParamDoc {
    name: "metric",
    location: In::Query,
    kind: ParamKind::Choice(METRICS),
    description: "Ranking metric (default `total_profit`); best params need ≥ 10 trades.",
};
const ID: ParamDoc = ParamDoc {
    name: "id",
    location: In::Path,
    kind: ParamKind::Id,
    description: "The job id.",
};
const OTHER: ParamDoc = ParamDoc {
    name: "other",
    location: In::Path,
    kind: ParamKind::Id,
    description: "The job to compare with.",
};
const USER: ParamDoc = ParamDoc {
    name: "id",
    location: In::Path,
    kind: ParamKind::Id,
    description: "The user id.",
};

fn path_id(path: &PathParams, name: &'static str, errors: &mut Vec<FieldError>) -> i64 {
    let raw = path.get(name).unwrap_or_default();
    match raw.parse::<i64>() {
        Ok(v) if raw.bytes().all(|b| b.is_ascii_digit()) && (1..=MAX_EXACT_INT).contains(&v) => v,
        _ => {
            errors.push(field(name, "out_of_range", "must be an id (1 to 2^53)"));
            0
        }
    }
}

/// `?metric=` only; anything else (unknown, repeated, bad value) is a field error.
fn metric_query(req: &Request, errors: &mut Vec<FieldError>) -> SelectionMetric {
    let mut metric = None;
    for pair in req.query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name != "metric" {
            let shown: String = name.chars().take(64).collect();
            errors.push(field(
                &shown,
                "unknown_field",
                "is not a parameter of this route",
            ));
        } else if metric.is_some() {
            errors.push(field("metric", "duplicate_field", "may be given once"));
        } else {
            match parse_metric(value) {
                Some(m) => metric = Some(m),
                None => errors.push(field(
                    "metric",
                    "invalid_choice",
                    "total_profit, win_rate or sharpe",
                )),
            }
        }
    }
    metric.unwrap_or(SelectionMetric::TotalProfit)
}

/// `GET /admin/optimizer/jobs/{id}`.
pub struct JobParams {
    id: OptimizationJobId,
    metric: SelectionMetric,
}

impl Extract for JobParams {
    const PARAMS: &'static [ParamDoc] = &[ID, METRIC];

    fn extract(req: &Request, path: &PathParams) -> Result<Self, ApiError> {
        let mut e = Vec::new();
        let id = path_id(path, "id", &mut e);
        let metric = metric_query(req, &mut e);
        if e.is_empty() {
            Ok(Self {
                id: OptimizationJobId(id),
                metric,
            })
        } else {
            Err(invalid(e))
        }
    }
}

/// `GET /admin/optimizer/jobs/{id}/compare/{other}`.
pub struct CompareParams {
    a: OptimizationJobId,
    b: OptimizationJobId,
    metric: SelectionMetric,
}

impl Extract for CompareParams {
    const PARAMS: &'static [ParamDoc] = &[ID, OTHER, METRIC];

    fn extract(req: &Request, path: &PathParams) -> Result<Self, ApiError> {
        let mut e = Vec::new();
        let a = path_id(path, "id", &mut e);
        let b = path_id(path, "other", &mut e);
        let metric = metric_query(req, &mut e);
        if e.is_empty() {
            Ok(Self {
                a: OptimizationJobId(a),
                b: OptimizationJobId(b),
                metric,
            })
        } else {
            Err(invalid(e))
        }
    }
}

fn no_query_id(req: &Request, path: &PathParams) -> Result<i64, ApiError> {
    let mut e = Vec::new();
    if !req.query.is_empty() {
        e.push(field("query", "unknown_field", "this route takes no query"));
    }
    let id = path_id(path, "id", &mut e);
    if e.is_empty() {
        Ok(id)
    } else {
        Err(invalid(e))
    }
}

/// `{id}` of a job (apply), no query.
pub struct JobPath(i64);

impl Extract for JobPath {
    const PARAMS: &'static [ParamDoc] = &[ID];

    fn extract(req: &Request, path: &PathParams) -> Result<Self, ApiError> {
        no_query_id(req, path).map(Self)
    }
}

/// `{id}` of a user (clear), no query.
pub struct UserPath(i64);

impl Extract for UserPath {
    const PARAMS: &'static [ParamDoc] = &[USER];

    fn extract(req: &Request, path: &PathParams) -> Result<Self, ApiError> {
        no_query_id(req, path).map(Self)
    }
}

// ---------------------------------------------------------------------------------------------
// DTOs
// ---------------------------------------------------------------------------------------------

fn job_dto(v: &JobView) -> OptimizerJobDto {
    let s: &JobScope = &v.scope;
    OptimizerJobDto {
        id: v.job.id.0,
        status: v.job.status.as_str().to_owned(),
        progress: v.job.progress,
        symbols: s.symbols.iter().map(|(_, n)| n.clone()).collect(),
        tfs: s.tfs.iter().map(|t| t.as_str().to_owned()).collect(),
        pattern_types: s
            .pattern_types
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect(),
        from: s.from,
        to: s.to,
        slippage_pct: s.slippage_pct,
        rr: v.grid.rr.clone(),
        sl_buffer_pct: v.grid.sl_buffer_pct.clone(),
        expiry_multiplier: v.grid.expiry_multiplier.clone(),
        total_runs: u32::try_from(v.total_runs()).unwrap_or(u32::MAX),
        error: v.job.error.clone(),
        created_at: v.job.new.created_at,
        started_at: v.job.started_at,
        finished_at: v.job.finished_at,
    }
}

fn run_dto(scope: &JobScope, r: &StoredOptimizationRun) -> OptimizerRunDto {
    OptimizerRunDto {
        id: r.id.0,
        symbol: scope
            .symbol_name(r.new.symbol)
            .map_or_else(|| format!("#{}", r.new.symbol.0), str::to_owned),
        tf: r.new.tf.as_str().to_owned(),
        pattern_type: r.new.pattern_type.as_str().to_owned(),
        rr: r.new.rr,
        sl_buffer_pct: r.new.sl_buffer_pct,
        expiry_multiplier: r.new.expiry_mult,
        trade_count: r.new.trade_count,
        total_profit_pct: r.new.total_profit_pct,
        win_rate: r.new.win_rate,
        sharpe: r.new.sharpe,
    }
}

fn tuned_dto(t: TunedView) -> TunedParamsDto {
    TunedParamsDto {
        symbol: t.symbol,
        job_id: t.doc.job_id,
        metric: metric_str(t.doc.metric).to_owned(),
        run_id: t.run.map(|r| r.0),
        updated_at: t.updated_at,
        entries: t
            .doc
            .entries
            .into_iter()
            .map(|e| TunedEntryDto {
                pattern_type: e.pattern_type.as_str().to_owned(),
                tf: e.tf.as_str().to_owned(),
                rr: e.rr,
                sl_buffer_pct: e.sl_buffer_pct,
                expiry_multiplier: e.expiry_multiplier,
                run_id: e.run_id,
                trade_count: e.trade_count,
            })
            .collect(),
    }
}

async fn trading_dto<S: OptimizerStores>(
    store: &S,
    user: UserId,
    access: &TierAccess,
) -> Result<TradingPrefsDto, ApiError> {
    let prefs: TradingPrefs = store
        .trading_prefs(user)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))?;
    let tuned = my_tuned_params(store, user).await?;
    Ok(TradingPrefsDto {
        risk_per_trade_pct: prefs.risk_per_trade_pct.map(RiskPerTradePct::get),
        default_rr: prefs.default_rr.map(DefaultRr::get),
        default_risk_per_trade_pct: RiskPerTradePct::DEFAULT,
        default_default_rr: DefaultRr::DEFAULT,
        editable: access.limits.risk_settings,
        tuned: tuned.into_iter().map(tuned_dto).collect(),
    })
}

fn audit_context(ctx: &RequestContext) -> AuditContext {
    AuditContext {
        ip: ctx
            .client_ip
            .as_deref()
            .and_then(|h| cl_auth::net::parse_client_ip(h).ok())
            .map(|ip| ip.to_string()),
        request_id: ctx.request_id.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------------------------

async fn serve_admin<S: OptimizerStores>(
    store: &S,
    now: i64,
    auth: &Authenticated,
    matched: &Matched,
    req: &Request,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    let svc = OptimizerService::new(store);
    let path = &matched.params;
    let audit = &audit_context(ctx);
    match matched.spec.route {
        Route::OptimizerJobs => {
            let p = PaymentsParams::extract(req, path)?;
            let before = p.cursor.map(|c| (c.ts, OptimizationJobId(c.id)));
            let jobs = svc.jobs(auth, before, p.limit).await?;
            let next = (jobs.len() == p.limit as usize)
                .then(|| jobs.last())
                .flatten()
                .map(|j| {
                    Cursor {
                        ts: j.job.new.created_at,
                        id: j.job.id.0,
                    }
                    .encode()
                });
            let items: Vec<OptimizerJobDto> = jobs.iter().map(job_dto).collect();
            error::ok_page(ctx, items, next)
        }
        Route::OptimizerJobCreate => {
            NoParams::extract(req, path)?;
            let body: OptimizerJobRequest = parse(req)?;
            let view = svc.create(auth, audit, &job_input(body), now).await?;
            error::ok(ctx, 202, job_dto(&view))
        }
        Route::OptimizerJob => {
            let p = JobParams::extract(req, path)?;
            let view = svc.job(auth, p.id).await?;
            let results = svc.results(auth, p.id, p.metric, RESULTS_SHOWN).await?;
            let best = svc.best(auth, p.id, p.metric).await?;
            let dto = OptimizerJobDetailDto {
                job: job_dto(&view),
                metric: metric_str(p.metric).to_owned(),
                results: results.iter().map(|r| run_dto(&view.scope, r)).collect(),
                best: best.iter().map(|r| run_dto(&view.scope, r)).collect(),
            };
            error::ok(ctx, 200, dto)
        }
        Route::OptimizerCompare => {
            let p = CompareParams::extract(req, path)?;
            let a = svc.job(auth, p.a).await?;
            let b = svc.job(auth, p.b).await?;
            let rows = svc.compare(auth, p.a, p.b, p.metric).await?;
            let name = |id| {
                a.scope
                    .symbol_name(id)
                    .or_else(|| b.scope.symbol_name(id))
                    .map_or_else(|| format!("#{}", id.0), str::to_owned)
            };
            let items: Vec<OptimizerComparisonDto> = rows
                .into_iter()
                .map(|c| OptimizerComparisonDto {
                    symbol: name(c.symbol),
                    tf: c.tf.as_str().to_owned(),
                    pattern_type: c.pattern_type.as_str().to_owned(),
                    a: c.a.as_ref().map(|r| run_dto(&a.scope, r)),
                    b: c.b.as_ref().map(|r| run_dto(&b.scope, r)),
                })
                .collect();
            error::ok(ctx, 200, items)
        }
        Route::OptimizerApply => {
            let JobPath(id) = JobPath::extract(req, path)?;
            let body: OptimizerApplyRequest = parse(req)?;
            let mut e = Vec::new();
            let metric = parse_metric(&body.metric);
            if metric.is_none() {
                e.push(field(
                    "metric",
                    "invalid_choice",
                    "total_profit, win_rate or sharpe",
                ));
            }
            if !(1..=MAX_EXACT_INT).contains(&body.user_id) {
                e.push(field(
                    "user_id",
                    "out_of_range",
                    "must be an id (1 to 2^53)",
                ));
            }
            let Some(metric) = metric.filter(|_| e.is_empty()) else {
                return Err(invalid(e));
            };
            let user = UserId(body.user_id);
            let tuned = svc
                .apply(auth, audit, OptimizationJobId(id), metric, user, now)
                .await?;
            error::ok(
                ctx,
                200,
                OptimizerAppliedDto {
                    user_id: user.0,
                    symbols: tuned.len() as u64,
                },
            )
        }
        Route::OptimizerClear => {
            let UserPath(id) = UserPath::extract(req, path)?;
            crate::body::json::<crate::body::Empty>(req)?;
            let n = svc.clear(auth, audit, UserId(id), now).await?;
            error::ok(
                ctx,
                200,
                OptimizerAppliedDto {
                    user_id: id,
                    symbols: n,
                },
            )
        }
        _ => Err(ApiError::new(ErrorCode::NotFound)),
    }
}

/// Serves one of [`ROUTES`] after the gate.
///
/// # Errors
/// The mapped errors of the use cases, bodies and parameters.
pub(crate) async fn serve<S: OptimizerStores, C: Clock>(
    store: &S,
    clock: &C,
    matched: &Matched,
    caller: &Caller,
    req: &Request,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    let Caller::User { auth, access, .. } = caller else {
        return Err(ApiError::new(ErrorCode::Unauthorized));
    };
    let now = clock.now_ms();
    let user = auth.user().id;
    match matched.spec.route {
        Route::MyTradingPrefs => {
            NoParams::extract(req, &matched.params)?;
            error::ok(ctx, 200, trading_dto(store, user, access).await?)
        }
        Route::MyTradingPrefsPut => {
            NoParams::extract(req, &matched.params)?;
            let body: TradingPrefsRequest = parse(req)?;
            let input = TradingPrefsInput {
                risk_per_trade_pct: body.risk_per_trade_pct,
                default_rr: body.default_rr,
            };
            set_trading_prefs(store, user, access, input)
                .await
                .map_err(trading_error)?;
            error::ok(ctx, 200, trading_dto(store, user, access).await?)
        }
        Route::MyTunedParamsReset => {
            NoParams::extract(req, &matched.params)?;
            reset_my_tuned_params(store, user, now).await?;
            error::ok(ctx, 200, trading_dto(store, user, access).await?)
        }
        _ => serve_admin(store, now, auth, matched, req, ctx).await,
    }
}
