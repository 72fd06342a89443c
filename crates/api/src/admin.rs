//! The admin routes (product.md §9, §12): users (list/search, detail, verify, activate,
//! deactivate, make/revoke admin, set subscription), symbols (list, add, patch), the signal
//! status override (`PATCH /signals/{id}`), the audit log, logs and the error tracker. Thin
//! over `cl_app::admin::AdminService`.
//!
//! Design:
//! - The gate has run: every route here is [`crate::access::Access::Admin`] (admin session;
//!   CSRF + Origin on writes; anonymous → 401, non-admin → 403). The service checks admin
//!   again, the re-auth window for sensitive actions and the self/last-admin rules.
//! - Query parameters are parsed once into typed values ([`UsersQuery`], [`AuditQuery`],
//!   [`LogsQuery`], [`ErrorsQuery`]): unknown or repeated names, bad encoding, enums outside
//!   their allowlist and out-of-range numbers are `validation_failed` with field errors.
//! - Bodies go through [`crate::portfolio::parse`] (media type, size, depth, member JSON
//!   types, unknown members refused), then the DTO's `TryFrom` into the service's typed input.
//! - [`AdminOpError`] → [`ApiError`] in ONE `From` impl.

use crate::access::Caller;
use crate::body::Empty;
use crate::context::RequestContext;
use crate::error::{self, ApiError};
use crate::http::Request;
use crate::http::Response;
use crate::params::{Extract, IdParams, In, ParamDoc, ParamKind};
use crate::portfolio::{parse, Body, Kind};
use crate::routes::{Matched, PathParams, Route};
use cl_api_types::{
    AdminSubscriptionDto, AdminSymbolDto, AdminUserDto, AuditEntryDto, ErrorCode, ErrorGroupDto,
    FieldError, LogEntryDto, SetSubscriptionRequest, SignalStatusDto, SignalStatusRequest,
    SymbolCreateRequest, SymbolPatchRequest,
};
use cl_app::accounts::Authenticated;
use cl_app::admin::{
    AdminOpError, AdminService, AuditContext, FetchStart, InvalidInput, SearchPrefix,
    SubscriptionGrant, SymbolInput,
};
use cl_app::ports::admin::{
    AdminStore, AdminUserRow, AuditFilter, ErrorStatus, LogCategory, LogFilter, LogLevel,
    StoredAuditEntry, StoredError, StoredLogEntry, UserChange,
};
use cl_app::ports::{
    Clock, Cursor, PageRequest, SignalId, SignalStatus, StoredSymbol, SymbolId, SymbolStore,
    UserId, MAX_EXACT_INT,
};

/// The store ports the admin routes need.
pub trait AdminStores: AdminStore + SymbolStore {}
impl<T: AdminStore + SymbolStore> AdminStores for T {}

/// The routes this module serves.
pub const ROUTES: &[Route] = &[
    Route::AdminUsers,
    Route::AdminUser,
    Route::AdminUserVerify,
    Route::AdminUserActivate,
    Route::AdminUserDeactivate,
    Route::AdminUserMakeAdmin,
    Route::AdminUserRevokeAdmin,
    Route::AdminUserSubscription,
    Route::AdminSymbols,
    Route::AdminSymbolCreate,
    Route::AdminSymbolEdit,
    Route::SignalEdit,
    Route::AdminAudit,
    Route::AdminLogs,
    Route::AdminErrors,
    Route::AdminErrorAck,
    Route::AdminErrorResolve,
];

/// Whether `route` is one of [`ROUTES`].
pub fn handles(route: Route) -> bool {
    ROUTES.contains(&route)
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

fn field_error(field: &str, code: &str, message: &str) -> FieldError {
    FieldError {
        field: field.chars().take(64).collect(),
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

impl From<InvalidInput> for ApiError {
    fn from(e: InvalidInput) -> Self {
        ApiError::new(ErrorCode::ValidationFailed)
            .with_fields(vec![field_error(e.field, e.code, e.message)])
    }
}

/// THE mapping of admin failures.
impl From<AdminOpError> for ApiError {
    fn from(e: AdminOpError) -> Self {
        match e {
            AdminOpError::NotAdmin => ApiError::new(ErrorCode::Forbidden),
            AdminOpError::ReauthRequired => error::reauth_required(),
            AdminOpError::NotFound => ApiError::new(ErrorCode::NotFound),
            AdminOpError::SelfTarget => ApiError::new(ErrorCode::Conflict)
                .with_message("You cannot demote or deactivate your own account."),
            AdminOpError::LastAdmin => ApiError::new(ErrorCode::Conflict)
                .with_message("At least one active admin must remain."),
            AdminOpError::SymbolExists => {
                ApiError::new(ErrorCode::Conflict).with_message("This symbol exists already.")
            }
            AdminOpError::Invalid(i) => i.into(),
            AdminOpError::Store(s) => s.into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Query parameters
// ---------------------------------------------------------------------------------------------

const LIMIT: ParamDoc = ParamDoc {
    name: "limit",
    location: In::Query,
    kind: ParamKind::Limit {
        default: 50,
        max: 1000,
    },
    description: "Page size.",
};
const CURSOR: ParamDoc = ParamDoc {
    name: "cursor",
    location: In::Query,
    kind: ParamKind::Cursor,
    description: "Opaque cursor from `meta.next_cursor` of the previous page.",
};
const SINCE: ParamDoc = ParamDoc {
    name: "since",
    location: In::Query,
    kind: ParamKind::Before,
    description: "From this time on (UTC ms, inclusive).",
};
const UNTIL: ParamDoc = ParamDoc {
    name: "until",
    location: In::Query,
    kind: ParamKind::Before,
    description: "Before this time (UTC ms, exclusive).",
};
pub(crate) const LOG_LEVELS: &[&str] = &["debug", "info", "warn", "error"];
pub(crate) const LOG_CATEGORIES: &[&str] = &[
    "fetch",
    "aggregate",
    "scan",
    "signal",
    "notify",
    "system",
    "error",
    "auth",
    "user",
    "trade",
    "payment",
    "backtest",
    "api",
    "admin",
    "csp",
];
pub(crate) const ERROR_STATUSES: &[&str] = &["new", "acknowledged", "resolved", "ignored"];

/// The decoded query of one request, checked against the route's documented names.
struct Query {
    values: Vec<(&'static str, String)>,
    errors: Vec<FieldError>,
}

fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .ok()
        .filter(|s| !s.chars().any(char::is_control))
}

impl Query {
    fn parse(req: &Request, docs: &'static [ParamDoc]) -> Self {
        let mut q = Self {
            values: Vec::new(),
            errors: Vec::new(),
        };
        if req.query.len() > 2048 {
            q.errors.push(field_error(
                "query",
                "out_of_range",
                "the query string is too long",
            ));
            return q;
        }
        for pair in req.query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let Some(name) = percent_decode(name) else {
                q.errors
                    .push(field_error("query", "invalid_encoding", "bad encoding"));
                continue;
            };
            let Some(doc) = docs
                .iter()
                .find(|d| d.location == In::Query && d.name == name)
            else {
                q.errors.push(field_error(
                    &name,
                    "unknown_field",
                    "is not a parameter of this route",
                ));
                continue;
            };
            if q.values.iter().any(|(n, _)| *n == doc.name) {
                q.errors.push(field_error(
                    doc.name,
                    "duplicate_field",
                    "may be given once",
                ));
                continue;
            }
            match percent_decode(value) {
                Some(v) => q.values.push((doc.name, v)),
                None => q.errors.push(field_error(
                    doc.name,
                    "invalid_encoding",
                    "bad percent-encoding or UTF-8",
                )),
            }
        }
        q
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    fn int(&mut self, name: &'static str, min: i64, max: i64) -> Option<i64> {
        let raw = self.get(name)?.to_owned();
        let ok = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
        match raw
            .parse::<i64>()
            .ok()
            .filter(|v| ok && (min..=max).contains(v))
        {
            Some(v) => Some(v),
            None => {
                let msg = format!("must be a whole number between {min} and {max}");
                self.errors.push(FieldError {
                    field: name.to_owned(),
                    code: "out_of_range".to_owned(),
                    message: msg,
                });
                None
            }
        }
    }

    fn choice<T>(&mut self, name: &'static str, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
        let raw = self.get(name)?.to_owned();
        let v = parse(&raw);
        if v.is_none() {
            self.errors.push(field_error(
                name,
                "invalid_choice",
                "is not one of the documented values",
            ));
        }
        v
    }

    fn text(&mut self, name: &'static str, max: usize) -> Option<String> {
        let raw = self.get(name)?.to_owned();
        if raw.is_empty() || raw.chars().count() > max {
            self.errors
                .push(field_error(name, "out_of_range", "has a bad length"));
            return None;
        }
        Some(raw)
    }

    fn page(&mut self) -> PageRequest {
        let limit = self
            .int("limit", 1, 1000)
            .map_or(50, |v| u32::try_from(v).unwrap_or(50));
        let after = self.get("cursor").map(str::to_owned).and_then(|raw| {
            let c = Cursor::decode(&raw)
                .ok()
                .filter(|c| raw.len() <= 64 && c.ts <= MAX_EXACT_INT && c.id <= MAX_EXACT_INT);
            if c.is_none() {
                self.errors.push(field_error(
                    "cursor",
                    "invalid_format",
                    "is not a cursor returned by this API",
                ));
            }
            c
        });
        PageRequest { limit, after }
    }

    fn finish<T>(self, value: T) -> Result<T, ApiError> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(ApiError::new(ErrorCode::ValidationFailed).with_fields(self.errors))
        }
    }
}

/// `GET /admin/users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersQuery {
    /// Email/username prefix.
    pub search: Option<SearchPrefix>,
    /// Page.
    pub page: PageRequest,
}

impl Extract for UsersQuery {
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "q",
            location: In::Query,
            kind: ParamKind::Text { max: 64 },
            description: "Prefix of the email or the username (case-insensitive).",
        },
        LIMIT,
        CURSOR,
    ];

    fn extract(req: &Request, _: &PathParams) -> Result<Self, ApiError> {
        let mut q = Query::parse(req, Self::PARAMS);
        let search = match q.get("q").map(SearchPrefix::parse) {
            None => None,
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                q.errors.push(field_error(e.field, e.code, e.message));
                None
            }
        };
        let page = q.page();
        q.finish(Self { search, page })
    }
}

/// `GET /admin/audit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Filters.
    pub filter: AuditFilter,
    /// Page.
    pub page: PageRequest,
}

impl Extract for AuditQuery {
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "actor",
            location: In::Query,
            kind: ParamKind::Id,
            description: "Only this admin's actions.",
        },
        ParamDoc {
            name: "action",
            location: In::Query,
            kind: ParamKind::Text { max: 64 },
            description: "Only this action, e.g. `user.deactivate`.",
        },
        ParamDoc {
            name: "target",
            location: In::Query,
            kind: ParamKind::Text { max: 64 },
            description: "Only this target, e.g. `user:42`.",
        },
        SINCE,
        UNTIL,
        LIMIT,
        CURSOR,
    ];

    fn extract(req: &Request, _: &PathParams) -> Result<Self, ApiError> {
        let mut q = Query::parse(req, Self::PARAMS);
        let filter = AuditFilter {
            actor: q.int("actor", 1, MAX_EXACT_INT).map(UserId),
            action: q.text("action", 64),
            target: q.text("target", 64),
            since: q.int("since", 0, MAX_EXACT_INT),
            until: q.int("until", 0, MAX_EXACT_INT),
        };
        let page = q.page();
        q.finish(Self { filter, page })
    }
}

/// `GET /admin/logs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsQuery {
    /// Filters.
    pub filter: LogFilter,
    /// Page.
    pub page: PageRequest,
}

impl Extract for LogsQuery {
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "level",
            location: In::Query,
            kind: ParamKind::Choice(LOG_LEVELS),
            description: "Only this level.",
        },
        ParamDoc {
            name: "category",
            location: In::Query,
            kind: ParamKind::Choice(LOG_CATEGORIES),
            description: "Only this category.",
        },
        ParamDoc {
            name: "symbol",
            location: In::Query,
            kind: ParamKind::Symbol,
            description: "Only rows about this symbol (`BTC-USDT` or `BTC%2FUSDT`).",
        },
        SINCE,
        UNTIL,
        LIMIT,
        CURSOR,
    ];

    fn extract(req: &Request, _: &PathParams) -> Result<Self, ApiError> {
        let mut q = Query::parse(req, Self::PARAMS);
        let symbol = match q.get("symbol").map(crate::params::SymbolName::parse) {
            None => None,
            Some(Ok(s)) => Some(s.as_str().to_owned()),
            Some(Err(e)) => {
                q.errors.push(FieldError {
                    field: "symbol".to_owned(),
                    code: e.code.to_owned(),
                    message: e.message,
                });
                None
            }
        };
        let filter = LogFilter {
            level: q.choice("level", |s| LogLevel::parse(s).ok()),
            category: q.choice("category", |s| LogCategory::parse(s).ok()),
            since: q.int("since", 0, MAX_EXACT_INT),
            until: q.int("until", 0, MAX_EXACT_INT),
            symbol,
        };
        let page = q.page();
        q.finish(Self { filter, page })
    }
}

/// `GET /admin/errors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorsQuery {
    /// Only this status.
    pub status: Option<ErrorStatus>,
    /// Page.
    pub page: PageRequest,
}

impl Extract for ErrorsQuery {
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "status",
            location: In::Query,
            kind: ParamKind::Choice(ERROR_STATUSES),
            description: "Only this triage status.",
        },
        LIMIT,
        CURSOR,
    ];

    fn extract(req: &Request, _: &PathParams) -> Result<Self, ApiError> {
        let mut q = Query::parse(req, Self::PARAMS);
        let status = q.choice("status", |s| ErrorStatus::parse(s).ok());
        let page = q.page();
        q.finish(Self { status, page })
    }
}

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

impl Body for SetSubscriptionRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] =
        &[("plan", Kind::Str, true), ("days", Kind::Int, false)];
}
impl Body for SymbolCreateRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] = &[
        ("symbol", Kind::Str, true),
        ("is_active", Kind::Bool, false),
        ("notify_enabled", Kind::Bool, false),
        ("fetch_start_ms", Kind::Int, false),
    ];
}
impl Body for SymbolPatchRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] = &[
        ("is_active", Kind::Bool, false),
        ("notify_enabled", Kind::Bool, false),
        ("fetch_start_ms", Kind::Int, false),
    ];
}
impl Body for SignalStatusRequest {
    const MEMBERS: &'static [(&'static str, Kind, bool)] = &[("status", Kind::Str, true)];
}

fn signal_status(raw: &str) -> Result<SignalStatus, InvalidInput> {
    SignalStatus::ALL
        .iter()
        .copied()
        .find(|s| s.as_str() == raw)
        .ok_or(InvalidInput {
            field: "status",
            code: "invalid_choice",
            message: "must be one of: pending, notified, triggered, closed, expired, cancelled",
        })
}

// ---------------------------------------------------------------------------------------------
// DTOs out
// ---------------------------------------------------------------------------------------------

fn user_dto(u: AdminUserRow) -> AdminUserDto {
    AdminUserDto {
        id: u.id.0,
        email: u.email.as_str().to_owned(),
        username: u.username.as_str().to_owned(),
        is_active: u.is_active,
        is_verified: u.is_verified,
        is_admin: u.is_admin,
        totp_enabled: u.totp_enabled,
        created_at: u.created_at,
        last_login_at: u.last_login_at,
        subscription: u.subscription.map(|s| AdminSubscriptionDto {
            plan: s.plan.as_str().to_owned(),
            status: s.status.as_str().to_owned(),
            expires_at: s.expires_at,
        }),
    }
}

fn symbol_dto(s: StoredSymbol) -> AdminSymbolDto {
    AdminSymbolDto {
        id: s.id.0,
        symbol: s.symbol,
        exchange: s.exchange,
        is_active: s.is_active,
        notify_enabled: s.notify_enabled,
        fetch_start_ms: s.fetch_start_ms,
        created_at: s.created_at,
    }
}

fn audit_dto(r: StoredAuditEntry) -> AuditEntryDto {
    let e = r.entry;
    AuditEntryDto {
        id: r.id,
        actor_id: e.actor.map(|a| a.0),
        action: e.action,
        target: e.target,
        details: e.details,
        ip: e.ip,
        request_id: e.request_id,
        at: e.at,
    }
}

fn log_dto(r: StoredLogEntry) -> LogEntryDto {
    let e = r.entry;
    LogEntryDto {
        id: r.id,
        ts: e.ts,
        category: e.category.as_str().to_owned(),
        level: e.level.as_str().to_owned(),
        message: e.message,
        symbol: e.symbol,
        tf: e.tf,
        request_id: e.request_id,
    }
}

fn error_dto(g: StoredError) -> ErrorGroupDto {
    ErrorGroupDto {
        id: g.id,
        fingerprint: g.fingerprint,
        kind: g.kind,
        source: g.source,
        message: g.message,
        first_seen: g.first_seen,
        last_seen: g.last_seen,
        occurrences: g.occurrences,
        status: g.status.as_str().to_owned(),
        sample_request_id: g.sample_request_id,
    }
}

// ---------------------------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------------------------

fn admin(caller: &Caller) -> Result<&Authenticated, ApiError> {
    caller
        .auth()
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))
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

fn fetch_start(ms: Option<i64>, now: i64) -> Result<Option<FetchStart>, InvalidInput> {
    ms.map(|ms| FetchStart::new(ms, now)).transpose()
}

/// Serves one admin route (the gate has run; `handles(route)` is true).
///
/// # Errors
/// The route's mapped errors.
pub async fn serve<S: AdminStores, C: Clock>(
    store: &S,
    clock: &C,
    matched: &Matched,
    caller: &Caller,
    req: &Request,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    let path = &matched.params;
    let auth = admin(caller)?;
    let svc = &AdminService::new(store, clock);
    let audit = &audit_context(ctx);
    let id = || -> Result<i64, ApiError> { Ok(IdParams::extract(req, path)?.id) };
    let no_body = || crate::body::json::<Empty>(req).map(|_| ());
    let change = |c: UserChange| async move {
        let user = UserId(id()?);
        no_body()?;
        let row = svc.change_user(auth, audit, user, c).await?;
        error::ok(ctx, 200, user_dto(row))
    };
    match matched.spec.route {
        Route::AdminUsers => {
            let q = UsersQuery::extract(req, path)?;
            let page = svc.users(auth, q.search.as_ref(), q.page).await?;
            let next = page.next.map(|c| c.encode());
            let items: Vec<AdminUserDto> = page.items.into_iter().map(user_dto).collect();
            error::ok_page(ctx, items, next)
        }
        Route::AdminUser => {
            let row = svc.user(auth, UserId(id()?)).await?;
            error::ok(ctx, 200, user_dto(row))
        }
        Route::AdminUserVerify => change(UserChange::Verified(true)).await,
        Route::AdminUserActivate => change(UserChange::Active(true)).await,
        Route::AdminUserDeactivate => change(UserChange::Active(false)).await,
        Route::AdminUserMakeAdmin => change(UserChange::Admin(true)).await,
        Route::AdminUserRevokeAdmin => change(UserChange::Admin(false)).await,
        Route::AdminUserSubscription => {
            let user = UserId(id()?);
            let body: SetSubscriptionRequest = parse(req)?;
            let grant = SubscriptionGrant::new(&body.plan, body.days)?;
            let row = svc.set_subscription(auth, audit, user, grant).await?;
            error::ok(ctx, 200, user_dto(row))
        }
        Route::AdminSymbols => {
            crate::params::NoParams::extract(req, path)?;
            let list: Vec<AdminSymbolDto> = svc
                .symbols(auth)
                .await?
                .into_iter()
                .map(symbol_dto)
                .collect();
            error::ok(ctx, 200, list)
        }
        Route::AdminSymbolCreate => {
            crate::params::NoParams::extract(req, path)?;
            let body: SymbolCreateRequest = parse(req)?;
            let input = SymbolInput::new(
                &body.symbol,
                body.is_active,
                body.notify_enabled,
                fetch_start(body.fetch_start_ms, clock.now_ms())?,
            )?;
            let row = svc.add_symbol(auth, audit, &input).await?;
            error::ok(ctx, 201, symbol_dto(row))
        }
        Route::AdminSymbolEdit => {
            let symbol = SymbolId(id()?);
            let body: SymbolPatchRequest = parse(req)?;
            let start = fetch_start(body.fetch_start_ms, clock.now_ms())?;
            let row = svc
                .update_symbol(
                    auth,
                    audit,
                    symbol,
                    body.is_active,
                    body.notify_enabled,
                    start,
                )
                .await?;
            error::ok(ctx, 200, symbol_dto(row))
        }
        Route::SignalEdit => {
            let signal = SignalId(id()?);
            let body: SignalStatusRequest = parse(req)?;
            let status = signal_status(&body.status)?;
            let row = svc.set_signal_status(auth, audit, signal, status).await?;
            error::ok(
                ctx,
                200,
                SignalStatusDto {
                    id: row.id.0,
                    status: row.status.as_str().to_owned(),
                },
            )
        }
        Route::AdminAudit => {
            let q = AuditQuery::extract(req, path)?;
            let page = svc.audit(auth, &q.filter, q.page).await?;
            let next = page.next.map(|c| c.encode());
            let items: Vec<AuditEntryDto> = page.items.into_iter().map(audit_dto).collect();
            error::ok_page(ctx, items, next)
        }
        Route::AdminLogs => {
            let q = LogsQuery::extract(req, path)?;
            let page = svc.logs(auth, &q.filter, q.page).await?;
            let next = page.next.map(|c| c.encode());
            let items: Vec<LogEntryDto> = page.items.into_iter().map(log_dto).collect();
            error::ok_page(ctx, items, next)
        }
        Route::AdminErrors => {
            let q = ErrorsQuery::extract(req, path)?;
            let page = svc.errors(auth, q.status, q.page).await?;
            let next = page.next.map(|c| c.encode());
            let items: Vec<ErrorGroupDto> = page.items.into_iter().map(error_dto).collect();
            error::ok_page(ctx, items, next)
        }
        Route::AdminErrorAck | Route::AdminErrorResolve => {
            let group = id()?;
            no_body()?;
            let status = if matched.spec.route == Route::AdminErrorAck {
                ErrorStatus::Acknowledged
            } else {
                ErrorStatus::Resolved
            };
            let row = svc.set_error_status(auth, audit, group, status).await?;
            error::ok(ctx, 200, error_dto(row))
        }
        _ => Err(ApiError::new(ErrorCode::NotFound)),
    }
}

// ---------------------------------------------------------------------------------------------
// OpenAPI
// ---------------------------------------------------------------------------------------------
