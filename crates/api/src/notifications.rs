//! Notification settings over HTTP (product.md §3 `/me/*`, §5): the ntfy topic and
//! preferences, the tier's symbols with per-symbol toggles (premium), and topic regeneration.
//!
//! - Session only: the gate refuses API keys and checks CSRF + Origin on every write.
//! - Bodies are typed members (`crate::portfolio::parse`: unknown fields, wrong JSON types and
//!   missing members → `validation_failed` with field errors), then converted ONCE into the
//!   port's value types ([`NotificationPrefs`]) with field-level errors; handlers validate
//!   nothing themselves.
//! - The rules (tier symbols, premium-only toggles, topic format and collisions) live in
//!   `cl_app::notify`; this module maps their errors: `tier_required` (403, naming premium),
//!   an unknown or out-of-tier symbol → 404.

use crate::access::Caller;
use crate::auth::Accounts;
use crate::context::RequestContext;
use crate::error::{self, ApiError};
use crate::http::{Request, Response};
use crate::params::{Extract, NoParams};
use crate::portfolio::{parse, Body, Kind};
use crate::routes::{Matched, Route};
use cl_api_types::{
    ErrorCode, FieldError, NotificationPrefsDto, NotificationPrefsRequest, SymbolNotifyDto,
    SymbolNotifyRequest, TopicDto,
};
use cl_app::notify::{
    my_symbols, queue_test_message, regenerate_topic, set_my_symbol, SymbolNotifyError,
    TestSendError, TopicError,
};
use cl_app::policy::Tier;
use cl_app::ports::notifications::{
    DirectionPref, MinConfluence, NotificationPrefs, NotificationStore, NotifyPriority, PrefError,
    QuietHours,
};
use cl_app::ports::{Clock, RateLimitStore, SymbolStore, UserId};
use cl_auth::ratelimit::{rules, Decision};

/// The ports these routes need beyond the account bundle's.
pub trait NotifyStores: NotificationStore + SymbolStore {}
impl<T: NotificationStore + SymbolStore> NotifyStores for T {}

/// The routes this module serves.
pub const ROUTES: &[Route] = &[
    Route::MyPreferences,
    Route::MyPreferencesPut,
    Route::MySymbols,
    Route::MySymbolsPut,
    Route::MyTopicRegenerate,
    Route::MyNotificationTest,
];

/// Whether this module serves `route`.
pub fn handles(route: Route) -> bool {
    ROUTES.contains(&route)
}

impl Body for NotificationPrefsRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] = &[
        ("enabled", Kind::Bool, true),
        ("directions", Kind::Str, true),
        ("min_confluence", Kind::Int, true),
        ("priority", Kind::Int, true),
        ("quiet_start_min", Kind::Int, false),
        ("quiet_end_min", Kind::Int, false),
    ];
}

impl Body for SymbolNotifyRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] =
        &[("symbol", Kind::Str, true), ("notify", Kind::Bool, true)];
}

fn field(name: &str, e: PrefError) -> FieldError {
    let code = match e {
        PrefError::Topic => "invalid_topic",
        PrefError::Directions => "invalid_choice",
        PrefError::MinConfluence | PrefError::Priority | PrefError::QuietHours => "out_of_range",
    };
    FieldError {
        field: name.to_owned(),
        code: code.to_owned(),
        message: e.to_string(),
    }
}

/// The validated preferences of a `PUT /me/preferences` body.
struct Prefs(NotificationPrefs);

impl TryFrom<NotificationPrefsRequest> for Prefs {
    type Error = Vec<FieldError>;

    fn try_from(r: NotificationPrefsRequest) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let directions = DirectionPref::parse(&r.directions)
            .map_err(|e| errors.push(field("directions", e)))
            .ok();
        let min_confluence = MinConfluence::new(r.min_confluence)
            .map_err(|e| errors.push(field("min_confluence", e)))
            .ok();
        let priority = NotifyPriority::new(r.priority)
            .map_err(|e| errors.push(field("priority", e)))
            .ok();
        let quiet = match (r.quiet_start_min, r.quiet_end_min) {
            (None, None) => Some(None),
            (Some(start), Some(end)) => QuietHours::new(start, end)
                .map(Some)
                .map_err(|e| errors.push(field("quiet_start_min", e)))
                .ok(),
            (start, _) => {
                let name = if start.is_none() {
                    "quiet_start_min"
                } else {
                    "quiet_end_min"
                };
                errors.push(FieldError {
                    field: name.to_owned(),
                    code: "required".to_owned(),
                    message: "Quiet hours need both a start and an end (or neither).".to_owned(),
                });
                None
            }
        };
        match (directions, min_confluence, priority, quiet) {
            (Some(directions), Some(min_confluence), Some(priority), Some(quiet))
                if errors.is_empty() =>
            {
                Ok(Self(NotificationPrefs {
                    enabled: r.enabled,
                    directions,
                    min_confluence,
                    priority,
                    quiet,
                }))
            }
            _ => Err(errors),
        }
    }
}

fn invalid(fields: Vec<FieldError>) -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed).with_fields(fields)
}

fn prefs_dto(topic: &str, p: &NotificationPrefs) -> NotificationPrefsDto {
    NotificationPrefsDto {
        topic: topic.to_owned(),
        enabled: p.enabled,
        directions: p.directions.as_str().to_owned(),
        min_confluence: p.min_confluence.get(),
        priority: p.priority.get(),
        quiet_start_min: p.quiet.map(QuietHours::start),
        quiet_end_min: p.quiet.map(QuietHours::end),
    }
}

fn symbol_error(e: SymbolNotifyError) -> ApiError {
    match e {
        SymbolNotifyError::TierRequired => crate::keys::tier_required(Tier::Premium),
        SymbolNotifyError::UnknownSymbol => ApiError::new(ErrorCode::NotFound),
        SymbolNotifyError::Store(e) => e.into(),
    }
}

fn topic_error(e: TopicError) -> ApiError {
    match e {
        TopicError::Random => ApiError::internal("no randomness for a topic"),
        TopicError::NotFound => ApiError::new(ErrorCode::Unauthorized),
        TopicError::Store(e) => e.into(),
    }
}

async fn settings_dto<S: NotifyStores>(
    store: &S,
    user: UserId,
) -> Result<NotificationPrefsDto, ApiError> {
    let settings = store
        .notification_settings(user)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))?;
    Ok(prefs_dto(settings.topic.as_str(), &settings.prefs))
}

/// Serves one of [`ROUTES`] after the gate (session, CSRF on writes).
///
/// # Errors
/// The mapped errors of the use cases, bodies and parameters.
pub(crate) async fn serve<S, M, H, C, L, E>(
    acc: &Accounts<'_, S, M, H, C, L, E>,
    matched: &Matched,
    caller: &Caller,
    req: &Request,
    ctx: &RequestContext,
) -> Result<Response, ApiError>
where
    S: NotifyStores,
    C: Clock,
    L: RateLimitStore,
{
    let Caller::User { auth, access, .. } = caller else {
        return Err(ApiError::new(ErrorCode::Unauthorized));
    };
    let user = auth.user().id;
    let store = acc.store;
    NoParams::extract(req, &matched.params)?;
    let symbols = |list: Vec<cl_app::notify::SymbolNotifyView>| -> Vec<SymbolNotifyDto> {
        list.into_iter()
            .map(|s| SymbolNotifyDto {
                symbol: s.symbol,
                notify: s.notify,
                symbol_enabled: s.symbol_enabled,
                editable: access.limits.per_symbol_notifications,
            })
            .collect()
    };
    match matched.spec.route {
        Route::MyPreferences => error::ok(ctx, 200, settings_dto(store, user).await?),
        Route::MyPreferencesPut => {
            let Prefs(prefs) =
                Prefs::try_from(parse::<NotificationPrefsRequest>(req)?).map_err(invalid)?;
            store.set_notification_prefs(user, &prefs).await?;
            error::ok(ctx, 200, settings_dto(store, user).await?)
        }
        Route::MySymbols => {
            let list = my_symbols(store, user, access).await?;
            error::ok(ctx, 200, symbols(list))
        }
        Route::MySymbolsPut => {
            let body = parse::<SymbolNotifyRequest>(req)?;
            set_my_symbol(
                store,
                user,
                access,
                &body.symbol,
                body.notify,
                acc.clock.now_ms(),
            )
            .await
            .map_err(symbol_error)?;
            let list = my_symbols(store, user, access).await?;
            error::ok(ctx, 200, symbols(list))
        }
        Route::MyTopicRegenerate => {
            let topic = regenerate_topic(store, user).await.map_err(topic_error)?;
            error::ok(
                ctx,
                200,
                TopicDto {
                    topic: topic.as_str().to_owned(),
                },
            )
        }
        Route::MyNotificationTest => {
            crate::body::json::<crate::body::Empty>(req)?;
            let now = acc.clock.now_ms();
            // 5 per hour per user; the limiter failing closes the door (429).
            match acc
                .limits
                .hit(&rules::TEST_NOTIFICATION, &format!("u{}", user.0), now)
                .await
            {
                Ok(Decision::Allowed { .. }) => {}
                Ok(Decision::Limited { retry_after_secs }) => {
                    return Err(
                        ApiError::new(ErrorCode::RateLimited).with_retry_after(retry_after_secs)
                    );
                }
                Err(_) => {
                    return Err(ApiError::new(ErrorCode::RateLimited).with_retry_after(60));
                }
            }
            let topic = queue_test_message(store, user, auth.user().is_verified, now)
                .await
                .map_err(|e| match e {
                    TestSendError::Unverified => ApiError::new(ErrorCode::EmailUnverified),
                    TestSendError::NotFound => ApiError::new(ErrorCode::Unauthorized),
                    TestSendError::Store(e) => e.into(),
                })?;
            error::ok(ctx, 202, TopicDto { topic })
        }
        _ => Err(ApiError::new(ErrorCode::NotFound)),
    }
}
