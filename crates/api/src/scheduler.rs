//! The scheduler routes (product.md §3, §9): `GET /scheduler/status` (every job with its
//! switch and last run), `POST /scheduler/jobs/{name}/toggle` (switch a job; 2/min per admin)
//! and `GET /admin/crons/{name}/runs` (a job's newest runs).
//!
//! Access: the status and toggle routes are declared `ApiKey(&[Scope::AdminScheduler])` (an
//! admin session with CSRF on the toggle, or a key with the admin-only scope); this module
//! additionally requires the caller to BE an admin, so a plain user session is refused with
//! `forbidden`. The history route is `Admin`. Job names come from a fixed allowlist; anything
//! else is a `validation_failed` on `name`, never a store lookup.
//!
//! Every toggle writes an audit row (`cron.toggle`, target `cron:<name>`, the new state)
//! before the switch moves. The history is keyset-paginated (`limit` + opaque `cursor`,
//! newest first by start then id; `meta.next_cursor` null on the last page).

use crate::access::Caller;
use crate::context::RequestContext;
use crate::error::{self, ApiError};
use crate::http::{Request, Response};
use crate::params::{In, ParamDoc, ParamKind};
use crate::routes::{Matched, Route};
use cl_api_types::scheduler::{CronRunDto, SchedulerJobDto, SchedulerStatusDto};
use cl_api_types::{ErrorCode, FieldError};
use cl_app::cron::{CronJob, CronRun, CronStore};
use cl_app::ports::admin::{AdminStore, NewAuditEntry};
use cl_app::ports::run_queue::RunQueueStore;
use cl_app::ports::{Clock, Cursor, RateLimitStore, MAX_EXACT_INT};
use cl_auth::ratelimit::{Decision, Rule};

/// The seeded jobs (migrations/0007_seed.sql), in schedule order.
pub const JOBS: &[&str] = &[
    "pipeline",
    "dispatch",
    "stats",
    "gaps",
    "db-health",
    "cleanup",
    "subscriptions",
];

/// Toggles: 2 per minute per admin (product.md §3).
pub const TOGGLE_RULE: Rule = Rule {
    scope: "scheduler_toggle",
    limit: 2,
    window_secs: 60,
};

/// Run history page size: default and cap.
pub const RUNS_LIMIT: (u32, u32) = (20, 100);

/// The `{name}` path parameter.
pub const NAME_PARAM: ParamDoc = ParamDoc {
    name: "name",
    location: In::Path,
    kind: ParamKind::Choice(JOBS),
    description: "The job's name.",
};

/// The parameters of `/scheduler/jobs/{name}/toggle`.
pub const TOGGLE_PARAMS: &[ParamDoc] = &[NAME_PARAM];

/// The parameters of `/admin/crons/{name}/runs`.
pub const RUNS_PARAMS: &[ParamDoc] = &[
    NAME_PARAM,
    ParamDoc {
        name: "limit",
        location: In::Query,
        kind: ParamKind::Limit {
            default: RUNS_LIMIT.0,
            max: RUNS_LIMIT.1,
        },
        description: "How many runs (newest first).",
    },
    ParamDoc {
        name: "cursor",
        location: In::Query,
        kind: ParamKind::Cursor,
        description: "Opaque cursor from `meta.next_cursor` of the previous page.",
    },
];

const ROUTES: [Route; 3] = [
    Route::SchedulerStatus,
    Route::SchedulerToggle,
    Route::AdminCronRuns,
];

/// Whether this module serves `route`.
pub fn handles(route: Route) -> bool {
    ROUTES.contains(&route)
}

fn invalid(field: &str, code: &str, message: &str) -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed).with_fields(vec![FieldError {
        field: field.to_owned(),
        code: code.to_owned(),
        message: message.to_owned(),
    }])
}

/// The job name of the path, from the allowlist.
fn job_name(matched: &Matched) -> Result<&'static str, ApiError> {
    let raw = matched.params.get("name").unwrap_or_default();
    JOBS.iter()
        .copied()
        .find(|j| *j == raw)
        .ok_or_else(|| invalid("name", "invalid_value", "not a scheduled job"))
}

/// The query: only `limit` and `cursor` (when `paged`), each at most once; `limit` within
/// 1..=cap, `cursor` as handed out in `meta.next_cursor`.
fn page(req: &Request, paged: bool) -> Result<(u32, Option<Cursor>), ApiError> {
    let (mut limit, mut cursor) = (None, None);
    for pair in req.query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "limit" if paged => {
                if limit.is_some() {
                    return Err(invalid("limit", "duplicate", "given more than once"));
                }
                let n: u32 = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=RUNS_LIMIT.1).contains(n))
                    .ok_or_else(|| invalid("limit", "out_of_range", "must be 1..=100"))?;
                limit = Some(n);
            }
            "cursor" if paged => {
                if cursor.is_some() {
                    return Err(invalid("cursor", "duplicate", "given more than once"));
                }
                let c = Cursor::decode(value)
                    .ok()
                    .filter(|c| value.len() <= 64 && c.ts <= MAX_EXACT_INT && c.id <= MAX_EXACT_INT)
                    .ok_or_else(|| {
                        invalid(
                            "cursor",
                            "invalid_format",
                            "is not a cursor returned by this API",
                        )
                    })?;
                cursor = Some(c);
            }
            _ => return Err(invalid(key, "unknown_field", "unknown query parameter")),
        }
    }
    Ok((limit.unwrap_or(RUNS_LIMIT.0), cursor))
}

/// The caller must be an admin (a session or an admin's key holding `admin:scheduler`).
fn admin_id(caller: &Caller) -> Result<i64, ApiError> {
    match caller.user() {
        Some(u) if u.is_admin && u.is_active => Ok(u.id.0),
        Some(_) => Err(ApiError::new(ErrorCode::Forbidden)),
        None => Err(ApiError::new(ErrorCode::Unauthorized)),
    }
}

fn run_dto(r: CronRun) -> CronRunDto {
    CronRunDto {
        id: r.id.0,
        job: r.job,
        trigger: r.trigger.as_str().to_owned(),
        status: r.status.as_str().to_owned(),
        started_at: r.started_at,
        ended_at: r.ended_at,
        duration_ms: r.duration_ms,
        error: r.error,
        counts: r.counts.map(|c| c.to_map()),
    }
}

async fn job_dto<S: CronStore>(store: &S, job: CronJob) -> Result<SchedulerJobDto, ApiError> {
    let last = store.list_runs(&job.name, 1).await?.into_iter().next();
    Ok(SchedulerJobDto {
        name: job.name,
        schedule: job.schedule,
        enabled: job.enabled,
        last_run: last.map(run_dto),
    })
}

/// Serves the scheduler routes.
///
/// # Errors
/// `forbidden` for a non-admin; `validation_failed` for an unknown job or a bad query;
/// `rate_limited` over 2 toggles a minute; store failures.
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
    S: CronStore + RunQueueStore + AdminStore,
    C: Clock,
    L: RateLimitStore,
{
    let admin = admin_id(caller)?;
    match matched.spec.route {
        Route::SchedulerStatus => {
            page(req, false)?;
            let mut jobs = Vec::with_capacity(JOBS.len());
            for name in JOBS {
                if let Some(job) = store.cron_job(name).await? {
                    jobs.push(job_dto(store, job).await?);
                }
            }
            error::ok(ctx, 200, SchedulerStatusDto { jobs })
        }
        Route::SchedulerToggle => {
            page(req, false)?;
            let name = job_name(matched)?;
            let now = clock.now_ms();
            // Counted after validation, so a typo does not spend the admin's budget.
            match limits
                .hit(&TOGGLE_RULE, &format!("admin:{admin}"), now)
                .await
            {
                Ok(Decision::Allowed { .. }) => {}
                Ok(Decision::Limited { retry_after_secs }) => {
                    return Err(
                        ApiError::new(ErrorCode::RateLimited).with_retry_after(retry_after_secs)
                    );
                }
                Err(e) => {
                    return Err(ApiError::new(ErrorCode::RateLimited)
                        .with_retry_after(60)
                        .with_cause(format!("rate limiter: {e}")));
                }
            }
            let job = store
                .cron_job(name)
                .await?
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
            // The audit row first: a switch never moves without its row.
            store
                .append_audit(&NewAuditEntry {
                    actor: caller.user().map(|u| u.id),
                    action: "cron.toggle".to_owned(),
                    target: format!("cron:{name}"),
                    details: Some(serde_json::json!({ "enabled": !job.enabled }).to_string()),
                    ip: ctx
                        .client_ip
                        .as_deref()
                        .and_then(|h| cl_auth::net::parse_client_ip(h).ok())
                        .map(|ip| ip.to_string()),
                    request_id: Some(ctx.request_id.chars().take(64).collect()),
                    at: now,
                })
                .await?;
            store.set_job_enabled(name, !job.enabled, now).await?;
            let job = store
                .cron_job(name)
                .await?
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
            error::ok(ctx, 200, job_dto(store, job).await?)
        }
        Route::AdminCronRuns => {
            let (n, cursor) = page(req, true)?;
            let name = job_name(matched)?;
            let mut runs = store.cron_runs_page(name, cursor, n + 1).await?;
            let more = runs.len() > n as usize;
            runs.truncate(n as usize);
            let next = more.then(|| runs.last()).flatten().map(|r| {
                Cursor {
                    ts: r.started_at,
                    id: r.id.0,
                }
                .encode()
            });
            let items: Vec<CronRunDto> = runs.into_iter().map(run_dto).collect();
            error::ok_page(ctx, items, next)
        }
        _ => Err(ApiError::new(ErrorCode::NotFound)),
    }
}
