//! API keys over HTTP (product.md §3, §11.10) and the admin "view as tier" switch (§1).
//!
//! - Management (`/keys`, `/keys/{id}`, `/keys/{id}/ip-rules[/{rule}]`, `/keys/{id}/usage`) is
//!   session-only: the gate ([`crate::access::guard`]) refuses an API key there (`forbidden`)
//!   and checks CSRF + Origin on every write. Creating a key also needs a re-authentication
//!   within 10 minutes, a verified email and the premium tier (`cl_app::api_keys`). Another
//!   user's key id answers 404, like an unknown one.
//! - The key is in the `POST /keys` answer ONCE (`secret`); listings show `cle_<prefix>_…<last4>`.
//! - [`authenticate`] is what the gate calls for `Authorization: Bearer` / `X-API-Key`: the
//!   service's checks (one 401 for every refusal, the reason only in the security log), then
//!   the KV rate limits — 10/s per key (the gate already counted 10/s per client IP,
//!   `crate::client_limit`), and the key's own per-minute,
//!   per-hour and per-day limits — failing closed with 429 + `Retry-After`, then one usage count (hour bucket +
//!   `last_used_at`; a failed count is logged, the request still runs).
//! - [`session_access`] is the session side of the one tier policy: the subscription read with
//!   the session (`GateStore::session_grant`), with the session's view-as.
//! - `POST /admin/view-as {tier|null}` stores the tier on the server session and rotates it.

use crate::access::Caller;
use crate::auth::{AccountDeps, Accounts};
use crate::body::{self, JsonBody};
use crate::context::RequestContext;
use crate::cookies;
use crate::error::{self, reauth_required, ApiError};
use crate::events::{AuthEvent, EventSink};
use crate::http::{Request, Response};
use crate::params::{Extract, IdParams, In, NoParams, ParamDoc, ParamKind};
use crate::routes::{Matched, PathParams, Route};
use cl_api_types::{
    ApiKeyDto, CreateKeyRequest, CreatedApiKeyDto, ErrorCode, FieldError, IpRuleDto, IpRuleRequest,
    KeyUsageDto, Removed, UpdateKeyRequest, UsageBucketDto, ViewAsDto, ViewAsRequest,
};
use cl_app::accounts::{AccountService, AdminError, Authenticated, FieldError as AppFieldError};
use cl_app::api_keys::{
    parse_expiry, parse_limit, parse_scopes, ApiKeyService, CreateKeyError,
    IpRuleRequest as RuleInput, KeyAuthError, KeyAuthenticated, KeyName, KeyRequest,
    ManageKeyError,
};
use cl_app::policy::{Access as TierAccess, Tier};
use cl_app::ports::api_keys::{
    ApiKeyEdit, ApiKeyId, ApiKeyStatus, ApiKeyStore, IpRuleId, KeyLimits, StoredApiKey,
    StoredIpRule, SubscriptionLookup,
};
use cl_app::ports::{AccountStores, Clock, Mailer, PasswordHasher, RateLimitStore, UserId};
use cl_auth::net::parse_client_ip;
use cl_auth::ratelimit::{rules, Decision, Rule};

/// Every port the key routes and the key gate need.
pub trait KeyStores: AccountStores + ApiKeyStore + SubscriptionLookup {}
impl<T: AccountStores + ApiKeyStore + SubscriptionLookup> KeyStores for T {}

/// `Retry-After` when the limiter itself fails (fail closed).
const LIMITER_DOWN_RETRY_SECS: u32 = 60;

/// The routes this module serves.
pub const ROUTES: &[Route] = &[
    Route::Keys,
    Route::KeyCreate,
    Route::Key,
    Route::KeyEdit,
    Route::KeyRevoke,
    Route::KeyIpRules,
    Route::KeyIpRuleAdd,
    Route::KeyIpRuleDelete,
    Route::KeyUsage,
    Route::AdminViewAs,
];

/// Whether this module serves `route`.
pub fn handles(route: Route) -> bool {
    ROUTES.contains(&route)
}

/// `403 tier_required`, naming the tier needed in `fields[0].code` (`pro` or `premium`).
pub fn tier_required(tier: Tier) -> ApiError {
    ApiError::new(ErrorCode::TierRequired)
        .with_message(format!("This needs the {tier} plan."))
        .with_fields(vec![FieldError {
            field: "tier".into(),
            code: tier.as_str().into(),
            message: format!("Upgrade to {tier} to use this."),
        }])
}

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

impl JsonBody for CreateKeyRequest {
    const FIELDS: &'static [(&'static str, bool)] =
        &[("name", true), ("scopes", true), ("expires_at", false)];
}

impl JsonBody for UpdateKeyRequest {
    const FIELDS: &'static [(&'static str, bool)] = &[
        ("name", false),
        ("scopes", false),
        ("expires_at", false),
        ("per_min", false),
        ("per_hour", false),
        ("per_day", false),
    ];
}

impl JsonBody for IpRuleRequest {
    const FIELDS: &'static [(&'static str, bool)] = &[("action", true), ("cidr", true)];
}

impl JsonBody for ViewAsRequest {
    const FIELDS: &'static [(&'static str, bool)] = &[("tier", false)];
}

fn wire(e: AppFieldError) -> FieldError {
    FieldError {
        field: e.field.into(),
        code: e.code.into(),
        message: e.message,
    }
}

fn invalid(errors: Vec<AppFieldError>) -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed).with_fields(errors.into_iter().map(wire).collect())
}

fn collect<T>(r: Result<T, AppFieldError>, errors: &mut Vec<AppFieldError>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

fn key_request(dto: CreateKeyRequest, now: i64) -> Result<KeyRequest, ApiError> {
    let mut errors = Vec::new();
    let name = collect(KeyName::parse(&dto.name), &mut errors);
    let scopes = collect(parse_scopes(&dto.scopes), &mut errors);
    let expires_at = collect(
        parse_expiry(dto.expires_at.as_deref().unwrap_or(""), now),
        &mut errors,
    );
    match (name, scopes, expires_at) {
        (Some(name), Some(scopes), Some(expires_at)) if errors.is_empty() => Ok(KeyRequest {
            name,
            scopes,
            expires_at,
        }),
        _ => Err(invalid(errors)),
    }
}

fn key_edit(dto: UpdateKeyRequest, current: KeyLimits, now: i64) -> Result<ApiKeyEdit, ApiError> {
    let mut errors = Vec::new();
    let name = dto
        .name
        .map(|n| collect(KeyName::parse(&n), &mut errors).map(|n| n.as_str().to_owned()));
    let scopes = dto.scopes.map(|s| collect(parse_scopes(&s), &mut errors));
    let expires_at = dto
        .expires_at
        .map(|e| collect(parse_expiry(&e, now), &mut errors));
    let per_min = dto
        .per_min
        .map(|v| collect(parse_limit("per_min", &v), &mut errors));
    let per_hour = dto
        .per_hour
        .map(|v| collect(parse_limit("per_hour", &v), &mut errors));
    let per_day = dto
        .per_day
        .map(|v| collect(parse_limit("per_day", &v), &mut errors));
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let limits = if per_min.is_some() || per_hour.is_some() || per_day.is_some() {
        Some(KeyLimits {
            per_min: per_min.flatten().unwrap_or(current.per_min),
            per_hour: per_hour.flatten().unwrap_or(current.per_hour),
            per_day: per_day.flatten().unwrap_or(current.per_day),
        })
    } else {
        None
    };
    Ok(ApiKeyEdit {
        name: name.flatten(),
        scopes: scopes.flatten(),
        expires_at: expires_at.map(Option::flatten),
        limits,
    })
}

/// `DELETE /keys/{id}/ip-rules/{rule}`: two ids, no query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRuleParams {
    /// The key.
    pub id: i64,
    /// The rule.
    pub rule: i64,
}

fn path_id(path: &PathParams, name: &'static str) -> Option<i64> {
    path.get(name)
        .filter(|raw| raw.len() <= 16 && raw.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|raw| raw.parse::<i64>().ok())
        .filter(|v| (1..=cl_app::ports::MAX_EXACT_INT).contains(v))
}

impl Extract for KeyRuleParams {
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "id",
            location: In::Path,
            kind: ParamKind::Id,
            description: "The key id.",
        },
        ParamDoc {
            name: "rule",
            location: In::Path,
            kind: ParamKind::Id,
            description: "The rule id.",
        },
    ];

    fn extract(req: &Request, path: &PathParams) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        if !req.query.is_empty() {
            errors.push(FieldError {
                field: "(query)".into(),
                code: "unknown_field".into(),
                message: "This route takes no query parameters.".into(),
            });
        }
        let id = path_id(path, "id");
        let rule = path_id(path, "rule");
        for (name, v) in [("id", id), ("rule", rule)] {
            if v.is_none() {
                errors.push(FieldError {
                    field: name.into(),
                    code: "invalid_format".into(),
                    message: "An id from 1 to 2^53.".into(),
                });
            }
        }
        match (id, rule) {
            (Some(id), Some(rule)) if errors.is_empty() => Ok(Self { id, rule }),
            _ => Err(ApiError::new(ErrorCode::ValidationFailed).with_fields(errors)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

impl From<CreateKeyError> for ApiError {
    fn from(e: CreateKeyError) -> Self {
        match e {
            CreateKeyError::TierRequired(t) => tier_required(t),
            CreateKeyError::EmailUnverified => ApiError::new(ErrorCode::EmailUnverified),
            CreateKeyError::ReauthRequired => reauth_required(),
            CreateKeyError::AdminScope => admin_scope(),
            CreateKeyError::QuotaExceeded => ApiError::new(ErrorCode::QuotaExceeded)
                .with_message("You have the maximum number of active API keys."),
            CreateKeyError::Store(s) => s.into(),
            CreateKeyError::Token(t) => ApiError::internal(t.to_string()),
        }
    }
}

impl From<ManageKeyError> for ApiError {
    fn from(e: ManageKeyError) -> Self {
        match e {
            ManageKeyError::NotFound => ApiError::new(ErrorCode::NotFound),
            ManageKeyError::AdminScope => admin_scope(),
            ManageKeyError::QuotaExceeded => ApiError::new(ErrorCode::QuotaExceeded)
                .with_message("This key has the maximum number of IP rules."),
            ManageKeyError::Store(s) => s.into(),
        }
    }
}

fn admin_scope() -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed).with_fields(vec![FieldError {
        field: "scopes".into(),
        code: "not_allowed".into(),
        message: "Admin scopes are for admin accounts only.".into(),
    }])
}

// ---------------------------------------------------------------------------------------------
// DTOs
// ---------------------------------------------------------------------------------------------

fn key_dto(k: &StoredApiKey, now: i64) -> ApiKeyDto {
    let status = match k.status {
        ApiKeyStatus::Active if !k.is_usable(now) => "expired",
        s => s.as_str(),
    };
    ApiKeyDto {
        id: k.id.0,
        name: k.name.clone(),
        display: format!("cle_{}_…{}", k.prefix, k.last4),
        scopes: k.scopes.names().into_iter().map(str::to_owned).collect(),
        status: status.to_owned(),
        created_at: k.created_at,
        expires_at: k.expires_at,
        last_used_at: k.last_used_at,
        revoked_at: k.revoked_at,
        per_min: k.limits.per_min,
        per_hour: k.limits.per_hour,
        per_day: k.limits.per_day,
    }
}

fn rule_dto(r: &StoredIpRule) -> IpRuleDto {
    IpRuleDto {
        id: r.id.0,
        action: r.action.as_str().to_owned(),
        cidr: r.cidr.clone(),
        created_at: r.created_at,
    }
}

// ---------------------------------------------------------------------------------------------
// The gate's side: keys and the session's tier
// ---------------------------------------------------------------------------------------------

fn event<S, M, H, C, L, E>(
    acc: &Accounts<'_, S, M, H, C, L, E>,
    ctx: &RequestContext,
    route: &str,
    level: &'static str,
    name: &'static str,
    user: Option<UserId>,
    reason: Option<&'static str>,
) where
    S: KeyStores,
    M: Mailer,
    H: PasswordHasher,
    C: Clock,
    L: RateLimitStore,
    E: EventSink,
{
    acc.emit(&AuthEvent {
        ts: ctx.now_ms,
        level,
        category: "auth",
        event: name,
        request_id: &ctx.request_id,
        route,
        user_id: user.map(|u| u.0),
        reason,
    });
}

/// Authenticates a presented key, applies the per-key and per-IP limits and counts the use.
///
/// # Errors
/// `unauthorized` (any refusal), `rate_limited` with `Retry-After`, store failures.
pub(crate) async fn authenticate<S, M, H, C, L, E>(
    acc: &Accounts<'_, S, M, H, C, L, E>,
    presented: &str,
    ctx: &RequestContext,
    route: &str,
) -> Result<KeyAuthenticated, ApiError>
where
    S: KeyStores,
    M: Mailer,
    H: PasswordHasher,
    C: Clock,
    L: RateLimitStore,
    E: EventSink,
{
    let ip = ctx
        .client_ip
        .as_deref()
        .and_then(|h| parse_client_ip(h).ok());
    let svc = ApiKeyService::new(acc.store, acc.clock, acc.account_pepper);
    let key = match svc.authenticate(presented, ip).await {
        Ok(k) => k,
        Err(KeyAuthError::Invalid(reason)) => {
            event(acc, ctx, route, "warn", "key_denied", None, Some(reason));
            return Err(ApiError::new(ErrorCode::Unauthorized));
        }
        Err(KeyAuthError::Store(e)) => return Err(e.into()),
    };
    let user = Some(key.user.id);
    let key_subject = format!("k{}", key.key.id.0);
    // The key's own limits (owner-adjustable), same scopes as the defaults of §11.10.
    let own = |base: Rule, limit: u32| Rule { limit, ..base };
    let l = key.key.limits;
    let now = acc.clock.now_ms();
    for (rule, subject) in [
        (rules::API_PER_KEY, key_subject.as_str()),
        (
            own(rules::API_KEY_DEFAULT_PER_MINUTE, l.per_min),
            key_subject.as_str(),
        ),
        (
            own(rules::API_KEY_DEFAULT_PER_HOUR, l.per_hour),
            key_subject.as_str(),
        ),
        (
            own(rules::API_KEY_DEFAULT_PER_DAY, l.per_day),
            key_subject.as_str(),
        ),
    ] {
        match acc.limits.hit(&rule, subject, now).await {
            Ok(Decision::Allowed { .. }) => {}
            Ok(Decision::Limited { retry_after_secs }) => {
                event(
                    acc,
                    ctx,
                    route,
                    "warn",
                    "rate_limited",
                    user,
                    Some(rule.scope),
                );
                return Err(
                    ApiError::new(ErrorCode::RateLimited).with_retry_after(retry_after_secs)
                );
            }
            Err(e) => {
                event(
                    acc,
                    ctx,
                    route,
                    "error",
                    "rate_limiter_failed",
                    user,
                    Some(rule.scope),
                );
                return Err(ApiError::new(ErrorCode::RateLimited)
                    .with_retry_after(LIMITER_DOWN_RETRY_SECS)
                    .with_cause(format!("rate limiter ({}): {e}", rule.scope)));
            }
        }
    }
    if svc.record_use(key.key.id).await.is_err() {
        event(acc, ctx, route, "error", "key_usage_failed", user, None);
    }
    event(acc, ctx, route, "info", "key_authenticated", user, None);
    Ok(key)
}

/// The session's effective access: its user's subscription (read with the session by
/// `AccountService::authenticate`, no further store read) and view-as (the one policy).
///
/// # Errors
/// None today; kept fallible for the gate's signature.
pub(crate) async fn session_access<S, M, H, C, L, E>(
    acc: &Accounts<'_, S, M, H, C, L, E>,
    auth: &Authenticated,
) -> Result<TierAccess, ApiError>
where
    S: KeyStores,
    C: Clock,
{
    Ok(auth.tier_access(acc.clock.now_ms()))
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

fn session(caller: &Caller) -> Result<(&Authenticated, &TierAccess), ApiError> {
    match caller {
        Caller::User { auth, access, .. } => Ok((auth, access)),
        _ => Err(ApiError::new(ErrorCode::Unauthorized)),
    }
}

/// Serves one of [`ROUTES`] after the gate.
///
/// # Errors
/// The mapped errors of the key use cases, bodies and parameters.
pub(crate) async fn serve<S, M, H, C, L, E>(
    acc: &Accounts<'_, S, M, H, C, L, E>,
    matched: &Matched,
    caller: &Caller,
    req: &Request,
    ctx: &RequestContext,
) -> Result<Response, ApiError>
where
    S: KeyStores,
    M: Mailer,
    H: PasswordHasher,
    C: Clock,
    L: RateLimitStore,
    E: EventSink,
{
    let (auth, access) = session(caller)?;
    let user = auth.user();
    let path = &matched.params;
    let route = matched.spec.path;
    let now = acc.clock.now_ms();
    let svc = ApiKeyService::new(acc.store, acc.clock, acc.account_pepper);
    let key_id =
        || -> Result<ApiKeyId, ApiError> { Ok(ApiKeyId(IdParams::extract(req, path)?.id)) };
    match matched.spec.route {
        Route::Keys => {
            NoParams::extract(req, path)?;
            let list = svc.list(user.id).await?;
            let dto: Vec<ApiKeyDto> = list.iter().map(|k| key_dto(k, now)).collect();
            error::ok(ctx, 200, dto)
        }
        Route::KeyCreate => {
            NoParams::extract(req, path)?;
            let dto = body::json::<CreateKeyRequest>(req)?;
            let input = key_request(dto, now)?;
            let created = svc.create(auth, access, &input).await.inspect_err(|_| {
                event(
                    acc,
                    ctx,
                    route,
                    "warn",
                    "key_create_failed",
                    Some(user.id),
                    None,
                )
            })?;
            event(acc, ctx, route, "info", "key_created", Some(user.id), None);
            error::ok(
                ctx,
                201,
                CreatedApiKeyDto {
                    key: key_dto(&created.key, now),
                    secret: created.secret.expose_secret().to_owned(),
                },
            )
        }
        Route::Key => {
            let key = svc.get(user.id, key_id()?).await?;
            error::ok(ctx, 200, key_dto(&key, now))
        }
        Route::KeyEdit => {
            let id = key_id()?;
            let dto = body::json::<UpdateKeyRequest>(req)?;
            let current = svc.get(user.id, id).await?;
            let edit = key_edit(dto, current.limits, now)?;
            let key = svc.edit(user, id, &edit).await?;
            event(acc, ctx, route, "info", "key_updated", Some(user.id), None);
            error::ok(ctx, 200, key_dto(&key, now))
        }
        Route::KeyRevoke => {
            let id = key_id()?;
            body::json::<body::Empty>(req)?;
            svc.revoke(user.id, id).await?;
            event(acc, ctx, route, "info", "key_revoked", Some(user.id), None);
            error::ok(ctx, 200, Removed { id: id.0 })
        }
        Route::KeyIpRules => {
            let rules = svc.ip_rules(user.id, key_id()?).await?;
            let dto: Vec<IpRuleDto> = rules.iter().map(rule_dto).collect();
            error::ok(ctx, 200, dto)
        }
        Route::KeyIpRuleAdd => {
            let id = key_id()?;
            let dto = body::json::<IpRuleRequest>(req)?;
            let input = RuleInput::parse(&dto.action, &dto.cidr).map_err(invalid)?;
            let rule = svc.add_ip_rule(user.id, id, &input).await?;
            event(
                acc,
                ctx,
                route,
                "info",
                "key_ip_rule_added",
                Some(user.id),
                None,
            );
            error::ok(ctx, 201, rule_dto(&rule))
        }
        Route::KeyIpRuleDelete => {
            let p = KeyRuleParams::extract(req, path)?;
            body::json::<body::Empty>(req)?;
            svc.delete_ip_rule(user.id, ApiKeyId(p.id), IpRuleId(p.rule))
                .await?;
            event(
                acc,
                ctx,
                route,
                "info",
                "key_ip_rule_deleted",
                Some(user.id),
                None,
            );
            error::ok(ctx, 200, Removed { id: p.rule })
        }
        Route::KeyUsage => {
            let id = key_id()?;
            let key = svc.get(user.id, id).await?;
            let hours = svc.usage(user.id, id).await?;
            error::ok(
                ctx,
                200,
                KeyUsageDto {
                    last_used_at: key.last_used_at,
                    hours: hours
                        .iter()
                        .map(|h| UsageBucketDto {
                            hour_start: h.hour_start,
                            requests: h.count,
                        })
                        .collect(),
                },
            )
        }
        Route::AdminViewAs => view_as(acc, auth, req, path, ctx, route).await,
        _ => Err(ApiError::new(ErrorCode::NotFound)),
    }
}

async fn view_as<S, M, H, C, L, E>(
    acc: &Accounts<'_, S, M, H, C, L, E>,
    auth: &Authenticated,
    req: &Request,
    path: &PathParams,
    ctx: &RequestContext,
    route: &str,
) -> Result<Response, ApiError>
where
    S: KeyStores,
    M: Mailer,
    H: PasswordHasher,
    C: Clock,
    L: RateLimitStore,
    E: EventSink,
{
    NoParams::extract(req, path)?;
    let dto = body::json::<ViewAsRequest>(req)?;
    let tier = match dto.tier.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => Some(Tier::parse(t).map_err(|_| {
            ApiError::new(ErrorCode::ValidationFailed).with_fields(vec![FieldError {
                field: "tier".into(),
                code: "invalid_choice".into(),
                message: "`free`, `pro`, `premium` or null.".into(),
            }])
        })?),
    };
    let svc = AccountService::new(acc.store, acc.mailer, acc.hasher, acc.clock, acc.keys);
    let issued = svc.set_view_as(auth, tier).await.map_err(|e| match e {
        AdminError::NotAdmin => ApiError::new(ErrorCode::Forbidden),
        other => ApiError::from(other),
    })?;
    event(
        acc,
        ctx,
        route,
        "info",
        "admin_view_as",
        Some(auth.user().id),
        Some(tier.map_or("none", Tier::as_str)),
    );
    let mut resp = error::ok(
        ctx,
        200,
        ViewAsDto {
            viewing_as: tier.map(|t| t.as_str().to_owned()),
            csrf_token: issued.csrf_token.expose_secret().to_owned(),
        },
    )?;
    cookies::set_session(
        &mut resp.headers,
        issued.token.expose_secret(),
        cookies::max_age(issued.expires_at, acc.clock.now_ms()),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn tier_required_names_the_tier() {
        let resp = tier_required(Tier::Premium).into_response(&RequestContext::new(
            None,
            || "r".into(),
            1,
            None,
        ));
        assert_eq!(resp.status, 403);
        let v: Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(v["error"]["code"], "tier_required");
        assert_eq!(v["error"]["fields"][0]["code"], "premium");
    }

    #[test]
    fn a_create_request_is_validated_field_by_field() {
        let bad = CreateKeyRequest {
            name: " ".into(),
            scopes: "read:nope".into(),
            expires_at: Some("5".into()),
        };
        let err = key_request(bad, 10).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        let ok = CreateKeyRequest {
            name: "bot".into(),
            scopes: "all".into(),
            expires_at: None,
        };
        let req = key_request(ok, 10).unwrap();
        assert_eq!(req.name.as_str(), "bot");
        assert!(!req.scopes.has_admin_scope());
    }
}
