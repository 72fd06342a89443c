//! `/backtests` (product.md §8, §3): premium users queue a backtest (202), poll its progress
//! and results, list and delete their own. Thin over `cl_app::backtests::BacktestService`.
//!
//! Design: the gate has run (session + CSRF, or an API key with `write:backtest`); the tier
//! and quotas (1 running, 20 per UTC day) are the one policy's, applied by the service and
//! counted by the store with the insert. POST runs the FIRST chunk in the request (2000
//! candles at most: a bounded cost); the scheduled job continues longer runs with
//! `cl_app::backtests::continue_backtests`. Another user's id → 404.

use crate::access::Caller;
use crate::context::RequestContext;
use crate::error::{self, ApiError};
use crate::http::{Request, Response};
use crate::params::{Extract, IdParams, NoParams};
use crate::portfolio::{parse, tier_access};
use crate::routes::{PathParams, Route};
use cl_api_types::{
    BacktestDetailDto, BacktestDto, BacktestRequest, BacktestStatsDto, BacktestTradeDto,
    EquityPointDto, ErrorCode, FieldError, Removed,
};
use cl_app::backtests::{outcome_str, BacktestError, BacktestInput, BacktestService, RunParams};
use cl_app::ports::backtests::{BacktestId, BacktestStore, StoredBacktest};
use cl_app::ports::{CandleStore, SymbolStore};

/// The routes this module serves.
pub const ROUTES: &[Route] = &[
    Route::Backtests,
    Route::BacktestCreate,
    Route::Backtest,
    Route::BacktestDelete,
];

/// Whether `route` is one of [`ROUTES`].
pub fn handles(route: Route) -> bool {
    ROUTES.contains(&route)
}

impl From<BacktestError> for ApiError {
    fn from(e: BacktestError) -> Self {
        match e {
            BacktestError::Invalid(fields) => ApiError::new(ErrorCode::ValidationFailed)
                .with_fields(
                    fields
                        .into_iter()
                        .map(|f| FieldError {
                            field: f.field.to_owned(),
                            code: f.code.to_owned(),
                            message: f.message,
                        })
                        .collect(),
                ),
            BacktestError::TierRequired => ApiError::new(ErrorCode::TierRequired)
                .with_message("Backtests need the premium tier (required: premium)."),
            BacktestError::LimitReached(q) => ApiError::new(ErrorCode::QuotaExceeded)
                .with_message(format!("Your plan's quota is used up ({q}).")),
            BacktestError::NotFound(_) => ApiError::new(ErrorCode::NotFound),
            BacktestError::Store(s) => ApiError::from(s),
        }
    }
}

fn dto(b: &StoredBacktest) -> BacktestDto {
    let run = RunParams::from_json(&b.new.params);
    BacktestDto {
        id: b.id.0,
        name: b.new.name.clone(),
        tf: b.new.tf.as_str().to_owned(),
        pattern_type: b.new.pattern_type.as_str().to_owned(),
        status: b.status.as_str().to_owned(),
        progress: b.progress,
        error: b.error.clone(),
        from: run.map_or(0, |r| r.from),
        to: run.map_or(0, |r| r.to),
        rr: run.map_or(0.0, |r| r.params.rr),
        sl_buffer_pct: run.map_or(0.0, |r| r.params.sl_buffer_pct),
        slippage_pct: run.map_or(0.0, |r| r.params.slippage_pct),
        created_at: b.new.created_at,
        finished_at: b.finished_at,
    }
}

fn finite(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

/// Serves one of [`ROUTES`].
///
/// # Errors
/// The mapped [`BacktestError`]s and the body/parameter errors.
pub async fn serve<S>(
    store: &S,
    route: Route,
    path: &PathParams,
    who: &Caller,
    req: &Request,
    ctx: &RequestContext,
) -> Result<Response, ApiError>
where
    S: BacktestStore + SymbolStore + CandleStore,
{
    let now = ctx.now_ms;
    let access = tier_access(who)?;
    let user = who
        .user()
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))?
        .id;
    let svc = BacktestService::new(store);
    match route {
        Route::Backtests => {
            NoParams::extract(req, path)?;
            let list = svc.list(user).await?;
            error::ok(ctx, 200, list.iter().map(dto).collect::<Vec<_>>())
        }
        Route::BacktestCreate => {
            NoParams::extract(req, path)?;
            let r = parse::<BacktestRequest>(req)?;
            let input = BacktestInput {
                symbol: r.symbol,
                tf: r.tf,
                from: r.from,
                to: r.to,
                pattern_type: r.pattern_type,
                rr: r.rr,
                sl_buffer_pct: r.sl_buffer_pct,
                slippage_pct: r.slippage_pct,
                name: r.name,
            };
            let bt = svc.create(user, &access, &input, now).await?;
            // The first chunk in the request; a failure here leaves it to the job.
            let _ = svc.run_chunk(&bt, now).await;
            let latest = store.backtest(user, bt.id).await?.unwrap_or(bt);
            error::ok(ctx, 202, dto(&latest))
        }
        Route::Backtest => {
            let id = BacktestId(IdParams::extract(req, path)?.id);
            let v = svc.view(user, id).await?;
            let s = &v.stats;
            let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
            error::ok(
                ctx,
                200,
                BacktestDetailDto {
                    backtest: dto(&v.backtest),
                    stats: BacktestStatsDto {
                        total: count(s.total),
                        wins: count(s.wins),
                        losses: count(s.losses),
                        inconclusive: count(s.inconclusive),
                        win_rate: finite(s.win_rate),
                        win_rate_excluding_inconclusive: finite(s.win_rate_excluding_inconclusive),
                        avg_rr: finite(s.avg_rr),
                        total_profit_pct: finite(s.total_profit_pct),
                        max_drawdown_pct: finite(s.max_drawdown_pct),
                        avg_duration_candles: finite(s.avg_duration_candles),
                    },
                    trades: v
                        .trades
                        .iter()
                        .map(|t| BacktestTradeDto {
                            direction: if t.long { "long" } else { "short" }.to_owned(),
                            detected_at: t.detected_at,
                            entry_time: t.entry_time,
                            entry_price: t.entry_price,
                            exit_time: t.exit_time,
                            exit_price: t.exit_price,
                            outcome: outcome_str(t.outcome).to_owned(),
                            r: t.r,
                        })
                        .collect(),
                    equity_curve: v
                        .equity_curve
                        .iter()
                        .map(|p| EquityPointDto {
                            at: p.ts,
                            equity: finite(p.cumulative_profit_pct),
                        })
                        .collect(),
                },
            )
        }
        Route::BacktestDelete => {
            let id = IdParams::extract(req, path)?.id;
            parse::<crate::body::Empty>(req)?;
            svc.delete(user, BacktestId(id)).await?;
            error::ok(ctx, 200, Removed { id })
        }
        _ => Err(ApiError::new(ErrorCode::NotFound)),
    }
}
