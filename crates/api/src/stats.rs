//! The analytics read (`GET /stats`, pro+) and the admin's global stats, subscription list
//! and global settings (product.md §2 `/analytics`, §9). Thin over
//! `cl_app::stats::StatsService`.
//!
//! Design:
//! - The gate has run: `/stats` is a read for a session or a key with `read:patterns` (the
//!   closest read scope, docs/decisions.md); who sees what is the ONE tier policy
//!   (`Access::require_analytics`, `require_symbol`) inside the service. The admin routes are
//!   [`crate::access::Access::Admin`] (CSRF + Origin on the PUT); the service checks admin
//!   again.
//! - Query parameters are typed once (`StatsParams`, `AdminSubscriptionsParams`); the PUT body
//!   goes through [`crate::portfolio::parse`] (members typed, unknown ones refused) and then
//!   into the service's [`SettingsPatch`]; range checks live in `cl_app::global_settings` and
//!   come back as field errors, all at once, with nothing written.
//! - [`StatsOpError`] → [`ApiError`] in ONE `From` impl.

use crate::access::Caller;
use crate::context::RequestContext;
use crate::error::{self, ApiError};
use crate::http::{Request, Response};
use crate::params::{AdminSubscriptionsParams, Extract, NoParams, StatsParams};
use crate::portfolio::{parse, Body, Kind};
use crate::routes::{Matched, Route};
use cl_api_types::{
    AdminStatsDto, AnalyticsDto, ErrorCode, FieldError, GlobalSettingsDto, GlobalSettingsRequest,
    KeyCountDto, NotificationCountsDto, PatternCountsDto, RatesDto, SubscriptionCountsDto,
    SubscriptionRowDto, UserCountsDto,
};
use cl_app::admin::AuditContext;
use cl_app::global_settings::SettingsPatch;
use cl_app::jobs::maintenance::RetentionTarget;
use cl_app::ports::stats::{AdminSubscriptionRow, StatsStore};
use cl_app::ports::{Clock, PageRequest};
use cl_app::stats::{
    subscription_filter, Analytics, CountRow, SettingsView, StatsOpError, StatsService,
};

/// The routes this module serves.
pub const ROUTES: &[Route] = &[
    Route::Stats,
    Route::AdminStats,
    Route::AdminSubscriptions,
    Route::AdminSettings,
    Route::AdminSettingsPut,
];

/// Whether `route` is one of [`ROUTES`].
pub fn handles(route: Route) -> bool {
    ROUTES.contains(&route)
}

/// THE mapping of stats failures.
impl From<StatsOpError> for ApiError {
    fn from(e: StatsOpError) -> Self {
        match e {
            StatsOpError::Tier(d) => d.into(),
            StatsOpError::NotAdmin => ApiError::new(ErrorCode::Forbidden),
            StatsOpError::NotFound => ApiError::new(ErrorCode::NotFound),
            StatsOpError::Invalid(fields) => ApiError::new(ErrorCode::ValidationFailed)
                .with_fields(
                    fields
                        .into_iter()
                        .map(|i| FieldError {
                            field: i.field.to_owned(),
                            code: i.code.to_owned(),
                            message: i.message.to_owned(),
                        })
                        .collect(),
                ),
            StatsOpError::Store(s) => s.into(),
        }
    }
}

impl Body for GlobalSettingsRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] = &[
        ("min_confluence", Kind::Int, false),
        ("require_htf", Kind::Bool, false),
        ("cooldown_hours", Kind::Num, false),
        ("default_rr", Kind::Num, false),
        ("min_risk_pct", Kind::Num, false),
        ("min_zone_pct", Kind::Num, false),
        ("global_topic", Kind::Str, false),
        ("global_topic_enabled", Kind::Bool, false),
        ("log_level", Kind::Str, false),
        ("retention_candles_1m_days", Kind::Int, false),
        ("retention_logs_days", Kind::Int, false),
        ("retention_cron_runs_days", Kind::Int, false),
        ("retention_notifications_days", Kind::Int, false),
        ("retention_ended_patterns_days", Kind::Int, false),
        ("retention_resolved_errors_days", Kind::Int, false),
        ("retention_sessions_tokens_days", Kind::Int, false),
        ("retention_api_key_usage_days", Kind::Int, false),
        ("retention_webhook_events_days", Kind::Int, false),
        ("retention_batch_size", Kind::Int, false),
    ];
}

/// The DTO as the service's patch (a plain move; the service validates).
fn patch(r: GlobalSettingsRequest) -> SettingsPatch {
    SettingsPatch {
        min_confluence: r.min_confluence,
        require_htf: r.require_htf,
        cooldown_hours: r.cooldown_hours,
        default_rr: r.default_rr,
        min_risk_pct: r.min_risk_pct,
        min_zone_pct: r.min_zone_pct,
        global_topic: r.global_topic,
        global_topic_enabled: r.global_topic_enabled,
        log_level: r.log_level,
        retention: [
            r.retention_candles_1m_days,
            r.retention_logs_days,
            r.retention_cron_runs_days,
            r.retention_notifications_days,
            r.retention_ended_patterns_days,
            r.retention_resolved_errors_days,
            r.retention_sessions_tokens_days,
            r.retention_api_key_usage_days,
            r.retention_webhook_events_days,
        ],
        batch_size: r.retention_batch_size,
    }
}

fn counts_dto(r: CountRow) -> PatternCountsDto {
    PatternCountsDto {
        key: r.key,
        total: r.total,
        active: r.active,
        filled: r.filled,
        invalidated: r.invalidated,
        expired: r.expired,
    }
}

fn analytics_dto(a: Analytics) -> AnalyticsDto {
    AnalyticsDto {
        scope: a.scope,
        computed_at: a.computed_at,
        patterns: counts_dto(a.patterns),
        by_type: a.by_type.into_iter().map(counts_dto).collect(),
        by_tf: a.by_tf.into_iter().map(counts_dto).collect(),
        by_direction: a.by_direction.into_iter().map(counts_dto).collect(),
        rates: RatesDto {
            ended: a.rates.ended,
            fill: a.rates.fill,
            expiry: a.rates.expiry,
            invalidation: a.rates.invalidation,
        },
        signals_total: a.signals_total,
        signals_by_status: a
            .signals_by_status
            .into_iter()
            .map(|k| KeyCountDto {
                key: k.key,
                count: k.count,
            })
            .collect(),
    }
}

fn settings_dto(v: SettingsView) -> GlobalSettingsDto {
    let s = &v.settings;
    let sig = s.signal();
    let days = |t: RetentionTarget| s.retention(t).map(i64::from);
    GlobalSettingsDto {
        min_confluence: i64::try_from(sig.min_confluence).unwrap_or(0),
        require_htf: sig.require_htf,
        cooldown_hours: sig.cooldown_hours,
        default_rr: sig.default_rr,
        min_risk_pct: sig.min_risk_pct,
        min_zone_pct: s.min_zone_pct(),
        global_topic: s.global_topic().map(|t| t.as_str().to_owned()),
        global_topic_enabled: s.global_topic_enabled(),
        log_level: s.log_level().as_str().to_owned(),
        retention_candles_1m_days: days(RetentionTarget::Candles1m),
        retention_logs_days: days(RetentionTarget::Logs),
        retention_cron_runs_days: days(RetentionTarget::CronRuns),
        retention_notifications_days: days(RetentionTarget::Notifications),
        retention_ended_patterns_days: days(RetentionTarget::EndedPatterns),
        retention_resolved_errors_days: days(RetentionTarget::ResolvedErrors),
        retention_sessions_tokens_days: days(RetentionTarget::SessionsTokens),
        retention_api_key_usage_days: days(RetentionTarget::ApiKeyUsage),
        retention_webhook_events_days: days(RetentionTarget::WebhookEvents),
        retention_batch_size: i64::from(s.batch_size()),
        updated_at: v.updated_at,
    }
}

fn row_dto(r: AdminSubscriptionRow) -> SubscriptionRowDto {
    SubscriptionRowDto {
        id: r.id,
        user_id: r.user_id.0,
        email: r.email,
        username: r.username,
        plan: r.plan.as_str().to_owned(),
        status: r.status.as_str().to_owned(),
        starts_at: r.starts_at,
        expires_at: r.expires_at,
        provider: r.provider,
        created_at: r.created_at,
    }
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

/// Serves one route of [`ROUTES`] (the gate has run).
///
/// # Errors
/// The route's mapped errors.
pub async fn serve<S: StatsStore, C: Clock>(
    store: &S,
    clock: &C,
    matched: &Matched,
    caller: &Caller,
    req: &Request,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    let path = &matched.params;
    let svc = StatsService::new(store, clock);
    let admin = || {
        caller
            .auth()
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))
    };
    match matched.spec.route {
        Route::Stats => {
            let p = StatsParams::extract(req, path)?;
            let access = caller
                .tier_access()
                .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))?;
            let a = svc
                .analytics(access, p.symbol.as_ref().map(|s| s.as_str()))
                .await?;
            error::ok(ctx, 200, analytics_dto(a))
        }
        Route::AdminStats => {
            NoParams::extract(req, path)?;
            let s = svc.admin_stats(admin()?).await?;
            let c = s.counts;
            error::ok(
                ctx,
                200,
                AdminStatsDto {
                    users: UserCountsDto {
                        total: c.users,
                        active: c.users_active,
                        verified: c.users_verified,
                        admins: c.admins,
                        totp_enabled: c.users_totp,
                        new_in_window: c.users_new,
                    },
                    subscriptions: SubscriptionCountsDto {
                        active_pro: c.active_by_plan[0],
                        active_premium: c.active_by_plan[1],
                        active_lifetime: c.active_by_plan[2],
                        active: c.by_status[0],
                        expired: c.by_status[1],
                        cancelled: c.by_status[2],
                        suspended: c.by_status[3],
                        expiring_in_window: c.expiring,
                    },
                    notifications: NotificationCountsDto {
                        queued: c.notifications[0],
                        sent: c.notifications[1],
                        failed: c.notifications[2],
                        skipped: c.notifications[3],
                    },
                    errors_new: c.errors_new,
                    window_days: s.window_days,
                    analytics: analytics_dto(s.analytics),
                },
            )
        }
        Route::AdminSubscriptions => {
            let p = AdminSubscriptionsParams::extract(req, path)?;
            let filter = subscription_filter(p.plan, p.status)?;
            let page = PageRequest {
                limit: p.limit,
                after: p.cursor,
            };
            let rows = svc
                .subscriptions(admin()?, filter, p.expiring_within_days, page)
                .await?;
            let next = rows.next.map(|c| c.encode());
            let items: Vec<SubscriptionRowDto> = rows.items.into_iter().map(row_dto).collect();
            error::ok_page(ctx, items, next)
        }
        Route::AdminSettings => {
            NoParams::extract(req, path)?;
            let v = svc.settings(admin()?).await?;
            error::ok(ctx, 200, settings_dto(v))
        }
        Route::AdminSettingsPut => {
            NoParams::extract(req, path)?;
            let body: GlobalSettingsRequest = parse(req)?;
            let v = svc
                .update_settings(admin()?, &audit_context(ctx), &patch(body))
                .await?;
            error::ok(ctx, 200, settings_dto(v))
        }
        _ => Err(ApiError::new(ErrorCode::NotFound)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cl_app::global_settings::retention_field;
    use serde_json::Value;

    #[test]
    fn a_job_entry_reads_back_as_the_wire_type() {
        let entries = cl_app::stats::analytics_entries(
            &[(cl_app::ports::SymbolId(1), "BTC/USDT".into())],
            &cl_app::ports::stats::AnalyticsCounts::default(),
            7,
        );
        let a: Analytics = serde_json::from_str(&entries[0].data).unwrap();
        let wire = serde_json::to_value(analytics_dto(a)).unwrap();
        let back: AnalyticsDto = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(back.computed_at, Some(7));
        assert_eq!(back.by_tf.len(), 8);
        assert_eq!(back.signals_by_status.len(), 6);
        // The cache text and the wire agree member for member.
        let cached: Value = serde_json::from_str(&entries[0].data).unwrap();
        assert_eq!(cached, wire);
    }

    #[test]
    fn every_settings_member_is_typed_and_every_field_error_names_a_member() {
        let members: Vec<&str> = GlobalSettingsRequest::MEMBERS.iter().map(|m| m.0).collect();
        for t in RetentionTarget::ALL {
            assert!(members.contains(&retention_field(t)));
        }
        let mut p = SettingsPatch {
            min_confluence: Some(0),
            cooldown_hours: Some(-1.0),
            default_rr: Some(99.0),
            min_risk_pct: Some(11.0),
            min_zone_pct: Some(-1.0),
            global_topic: Some(Some("a b".into())),
            log_level: Some("x".into()),
            batch_size: Some(0),
            ..SettingsPatch::default()
        };
        p.retention = [Some(Some(0)); 9];
        let errs = cl_app::global_settings::GlobalSettings::default()
            .apply(&p)
            .unwrap_err();
        for e in errs {
            assert!(members.contains(&e.field), "{}", e.field);
        }
    }
}
