//! The OpenAPI 3.1 document, generated from the route table ([`crate::routes::TABLE`]), the
//! parameter declarations ([`crate::params`]) and the DTOs themselves.
//!
//! The component schemas are derived (`utoipa::ToSchema`, behind `cl-api-types`' `openapi`
//! feature, which only this crate turns on: the frontend never compiles utoipa), so a DTO
//! field cannot be added, renamed or retyped without the document following it. One pass
//! ([`conventions`]) keeps the document's rules on top of the derive: every response object is
//! closed (`additionalProperties: false`) with every member serde writes required (`null` for
//! `None`, in the 3.1 `type: [.., "null"]` form); request bodies are closed by their
//! `deny_unknown_fields`. String-typed members whose allowlist lives in the app or API layer
//! (tiers, plans, metrics, job names, …) get their `enum` from those lists ([`refinements`]).
//! Only the envelope is built here, as it wraps every DTO. The host tests validate real
//! responses of every route against this document; docs/decisions.md has the size figures.

use crate::access::Access;
use crate::params::{ParamDoc, ParamKind, FIELD_CODES, MAX_CANDLES, MAX_SYMBOL_LEN};
use crate::routes::{planned_scopes, Data, RouteSpec, TABLE};
use cl_api_types::{ErrorCode, Side};
use cl_app::billing::core::payment::PaymentStatus;
use cl_app::billing::core::plan::{BillingCycle, Offer, Provider};
use cl_app::policy::Tier;
use cl_app::ports::admin::LogLevel;
use cl_app::ports::notifications::DirectionPref;
use cl_app::ports::optimization::JobStatus;
use cl_app::ports::run_queue::{QueueStatus, RunKind};
use cl_app::ports::{SessionStage, SignalStatus, MAX_EXACT_INT};
use cl_domain::{Direction, PatternStatus, PatternType, Timeframe};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;
use utoipa::openapi::{schema::Schema, RefOr};
use utoipa::ToSchema;

/// The document as JSON bytes (built once per isolate).
pub fn document_bytes() -> Vec<u8> {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES
        .get_or_init(|| serde_json::to_vec(&document()).unwrap_or_default())
        .clone()
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for spec in TABLE {
        let item = paths
            .entry(spec.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(spec.method.as_str().to_ascii_lowercase(), operation(spec));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "CryptoLens Edge API",
            "version": "1",
            "description": info_description(),
        },
        "servers": [{ "url": "/" }],
        "paths": paths,
        "components": { "schemas": schemas() },
    })
}

fn info_description() -> String {
    let mut text = String::from(
        "Every response but this document uses the envelope `{success, data, error, meta}` \
and carries `X-Request-ID`. Lists page by keyset: pass `meta.next_cursor` back as `cursor`; \
it is `null` on the last page. Unknown query parameters are rejected. Error codes and their \
statuses:\n\n| code | status |\n|---|---|\n",
    );
    for code in ErrorCode::ALL {
        text.push_str(&format!("| `{}` | {} |\n", code.as_str(), code.status()));
    }
    text
}

fn operation(spec: &RouteSpec) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), json!(format!("{:?}", spec.route)));
    op.insert("summary".into(), json!(spec.summary));
    if !spec.description.is_empty() {
        op.insert("description".into(), json!(spec.description));
    }
    op.insert("x-access".into(), json!(access_name(spec.access)));
    let scopes: Vec<&str> = planned_scopes(spec.route)
        .iter()
        .map(|s| s.as_str())
        .collect();
    if !scopes.is_empty() {
        op.insert("x-scopes".into(), json!(scopes));
    }
    if !spec.params.is_empty() {
        op.insert(
            "parameters".into(),
            Value::Array(spec.params.iter().map(parameter).collect()),
        );
    }
    if let Some(body) = spec.body {
        op.insert(
            "requestBody".into(),
            json!({
                "required": true,
                "content": { "application/json": { "schema": schema_ref(body) } },
            }),
        );
    }
    op.insert("responses".into(), responses(spec));
    Value::Object(op)
}

fn access_name(access: Access) -> &'static str {
    match access {
        Access::Public => "public",
        Access::Session => "session",
        Access::ApiKey(_) => "session or api key",
        Access::Admin => "admin",
        Access::Signature => "provider signature",
    }
}

fn parameter(p: &ParamDoc) -> Value {
    let location = match p.location {
        crate::params::In::Path => "path",
        crate::params::In::Query => "query",
    };
    json!({
        "name": p.name,
        "in": location,
        "required": location == "path",
        "description": p.description,
        "schema": param_schema(p.kind),
    })
}

fn param_schema(kind: ParamKind) -> Value {
    match kind {
        ParamKind::Symbol => json!({
            "type": "string",
            "minLength": 3,
            "maxLength": MAX_SYMBOL_LEN,
            "pattern": "^[A-Z0-9:_-]+[/-][A-Z0-9:_/-]+$",
            "examples": ["BTC-USDT", "BTC/USDT"],
        }),
        ParamKind::Timeframe => str_enum(Timeframe::ALL.iter().map(|t| t.as_str())),
        ParamKind::PatternType => str_enum(PatternType::ALL.iter().map(|t| t.as_str())),
        ParamKind::Direction => str_enum(Direction::ALL.iter().map(|t| t.as_str())),
        ParamKind::Side => wire_enum(&[Side::Long, Side::Short]),
        ParamKind::PatternStatus => {
            let mut s = str_enum(PatternStatus::ALL.iter().map(|t| t.as_str()));
            s["default"] = json!(PatternStatus::Active.as_str());
            s
        }
        ParamKind::SignalStatus => str_enum(SignalStatus::ALL.iter().map(|s| s.as_str())),
        ParamKind::Bool => json!({ "type": "boolean" }),
        ParamKind::Limit { default, max } => {
            json!({ "type": "integer", "minimum": 1, "maximum": max, "default": default })
        }
        ParamKind::CandleLimit => {
            json!({ "type": "integer", "minimum": 1, "maximum": MAX_CANDLES })
        }
        ParamKind::Before => json!({ "type": "integer", "minimum": 0, "maximum": MAX_EXACT_INT }),
        ParamKind::Cursor => json!({ "type": "string", "minLength": 3, "maxLength": 64 }),
        ParamKind::Id => json!({ "type": "integer", "minimum": 1, "maximum": MAX_EXACT_INT }),
        ParamKind::SessionHandle => json!({ "type": "string", "pattern": "^[0-9a-f]{32}$" }),
        ParamKind::Choice(values) => str_enum(values.iter().copied()),
        ParamKind::Text { max } => json!({ "type": "string", "minLength": 1, "maxLength": max }),
    }
}

fn responses(spec: &RouteSpec) -> Value {
    let mut r = Map::new();
    let success = match spec.data {
        Data::Document => json!({
            "description": "The OpenAPI document.",
            "content": { "application/json": { "schema": { "type": "object" } } },
        }),
        Data::One(name) => ok_response(envelope(schema_ref(name), "Meta")),
        Data::List(name) => ok_response(envelope(array_of(schema_ref(name)), "Meta")),
        Data::Page(name) => ok_response(envelope(array_of(schema_ref(name)), "PageMeta")),
        Data::Nothing => json!({ "description": "Accepted; no body." }),
        Data::Text => json!({
            "description": "Prometheus text exposition format 0.0.4.",
            "content": { "text/plain": { "schema": { "type": "string" } } },
        }),
    };
    r.insert(spec.ok_status.to_string(), success);
    if spec.conditional {
        if let Some(Value::Object(ok)) = r.get_mut("200") {
            ok.insert("headers".into(), cache_headers());
        }
        r.insert(
            "304".into(),
            json!({
                "description": "`If-None-Match` names the current tag: no body.",
                "headers": cache_headers(),
            }),
        );
    }
    // 401 everywhere: a credential in the query string, or an API key header, is refused on
    // every route.
    // 429 everywhere too: a request carrying an API key is counted against the key's and the
    // IP's limits before the route decides anything, whatever the route.
    let mut statuses = vec![400, 401, 405, 429, 500, 503];
    statuses.extend_from_slice(spec.errors);
    // Session and admin routes refuse a key-authenticated request with 403, and admin routes a
    // non-admin session.
    if matches!(spec.access, Access::Admin | Access::Session) {
        statuses.push(403);
    }
    if spec.may_be_missing {
        statuses.push(404);
    }
    statuses.sort_unstable();
    statuses.dedup();
    for status in statuses {
        let codes: Vec<String> = ErrorCode::ALL
            .iter()
            .filter(|c| c.status() == status)
            .map(|c| format!("`{}`", c.as_str()))
            .collect();
        let description = format!("Error envelope; code {}.", codes.join(" or "));
        let schema = if status == 503 && spec.health {
            json!({ "oneOf": [envelope(schema_ref("HealthReport"), "Meta"), schema_ref("ErrorEnvelope")] })
        } else {
            schema_ref("ErrorEnvelope")
        };
        r.insert(
            status.to_string(),
            json!({
                "description": description,
                "content": { "application/json": { "schema": schema } },
            }),
        );
    }
    Value::Object(r)
}

fn cache_headers() -> Value {
    json!({
        "ETag": {
            "description": "Weak tag: SHA-256 (128 bits, hex) of the `data` member.",
            "schema": { "type": "string", "pattern": "^W/\"[0-9a-f]{32}\"$" },
        },
        "Cache-Control": {
            "schema": { "type": "string", "const": crate::handlers::MATRIX_CACHE_CONTROL },
        },
    })
}

fn ok_response(schema: Value) -> Value {
    json!({
        "description": "Success envelope.",
        "content": { "application/json": { "schema": schema } },
    })
}

// ---------------------------------------------------------------------------------------------
// Schema helpers
// ---------------------------------------------------------------------------------------------

pub(crate) fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn array_of(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

fn str_enum<'a>(values: impl IntoIterator<Item = &'a str>) -> Value {
    json!({ "type": "string", "enum": values.into_iter().collect::<Vec<_>>() })
}

/// An enum schema from values' serde forms, so the strings cannot drift from the DTOs.
fn wire_enum<T: Serialize>(values: &[T]) -> Value {
    let names: Vec<Value> = values
        .iter()
        .filter_map(|v| serde_json::to_value(v).ok())
        .collect();
    json!({ "type": "string", "enum": names })
}

fn envelope(data: Value, meta: &str) -> Value {
    json!({
        "type": "object",
        "description": "Success envelope.",
        "properties": {
            "success": { "const": true },
            "data": data,
            "error": { "type": "null" },
            "meta": schema_ref(meta),
        },
        "required": ["success", "data", "error", "meta"],
        "additionalProperties": false,
    })
}

// ---------------------------------------------------------------------------------------------
// Component schemas: derived from the DTOs
// ---------------------------------------------------------------------------------------------

type Derived = Vec<(String, RefOr<Schema>)>;

/// Adds `T`'s schema and, recursively, every schema it references.
fn add<T: ToSchema>(out: &mut Derived) {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
}

/// Every DTO a route names as its data or body (the schemas they reference come along).
#[rustfmt::skip]
fn derived() -> Derived {
    use cl_api_types::*;
    let mut out = Derived::new();
    macro_rules! collect {
        ($($t:ty),+ $(,)?) => { $( add::<$t>(&mut out); )+ };
    }
    collect!(
        // Envelope parts and health.
        Meta, ErrorBody, ErrorCode, HealthReport, Liveness,
        // Market data.
        SymbolDto, CandlesDto, ChartDto, PatternDto, SignalDto, MatrixDto,
        // Accounts and sessions.
        RegisterRequest, LoginRequest, CodeRequest, TokenRequest, EmailRequest,
        ResetPasswordRequest, ChangePasswordRequest, PasswordCodeRequest, AuthMessage,
        LoginResult, CsrfToken, Me, SessionDto, Revoked, TotpSetupDto, RecoveryCodesDto,
        // API keys and view-as.
        ApiKeyDto, CreatedApiKeyDto, CreateKeyRequest, UpdateKeyRequest, IpRuleRequest,
        IpRuleDto, KeyUsageDto, ViewAsRequest, ViewAsDto,
        // Payments.
        CheckoutRequest, CheckoutStarted, PaymentDto, PaymentCheck, SubscriptionDto, WebhookAck,
        // Portfolio, trades, journal, credentials, backtests.
        PortfolioCreateRequest, PortfolioPatchRequest, PortfolioDto, PortfolioStatsDto,
        TradeCreateRequest, TradePatchRequest, TradeOpenRequest, TradeCloseRequest,
        TradeFromSourceRequest, TradeDto, TagRequest, TagPatchRequest, TagDto, TradeTagsRequest,
        TradeTagsDto, JournalRequest, JournalPatchRequest, JournalEntryDto, Removed,
        ExchangeCredentialRequest, ExchangeCredentialDto, CredentialsDeleted, BacktestRequest,
        BacktestDto, BacktestDetailDto,
        // Notification preferences.
        NotificationPrefsDto, NotificationPrefsRequest, SymbolNotifyDto, SymbolNotifyRequest,
        TopicDto,
        // Admin.
        AdminUserDto, SetSubscriptionRequest, AdminSymbolDto, SymbolCreateRequest,
        SymbolPatchRequest, SignalStatusRequest, SignalStatusDto, AuditEntryDto, LogEntryDto,
        ErrorGroupDto, AdminStatsDto, AnalyticsDto, SubscriptionRowDto, GlobalSettingsDto,
        GlobalSettingsRequest,
        // Scheduler and on-demand runs.
        cl_api_types::scheduler::SchedulerStatusDto,
        cl_api_types::scheduler::SchedulerJobDto,
        cl_api_types::scheduler::CronRunDto,
        cl_api_types::ops::RunRequest,
        cl_api_types::ops::HistoricalFetchRequest,
        cl_api_types::ops::ImportRequest,
        cl_api_types::ops::QueuedRunDto,
        cl_api_types::ops::ImportResultDto,
        // Admin notifications.
        NoticeTemplateDto, NoticeTemplateRequest, BroadcastRequest, ScheduleRequest,
        AudienceCountDto, BroadcastDto, ScheduleDto, AdminTestRequest, AdminTestDto,
        crate::notify_admin::AudienceRequest, crate::notify_admin::Deleted,
        // Optimizer and trading preferences.
        OptimizerJobRequest, OptimizerJobDto, OptimizerJobDetailDto, OptimizerComparisonDto,
        OptimizerApplyRequest, OptimizerAppliedDto, TradingPrefsDto, TradingPrefsRequest,
    );
    out
}

/// The component schemas: the derived ones under our conventions, the envelope's `Meta` in
/// its two shapes, the error envelope, and the allowlists of string-typed fields.
fn schemas() -> Map<String, Value> {
    let mut s = Map::new();
    for (name, schema) in derived() {
        let mut value = serde_json::to_value(schema).unwrap_or(Value::Null);
        conventions(&mut value);
        s.insert(name, value);
    }
    // `Meta.next_cursor` is skipped unless the route pages: plain `Meta` has no such member,
    // `PageMeta` always has it (`null` on the last page).
    // (The pass above made it required, as it is nullable.)
    if let Some(page) = s.get("Meta").cloned() {
        let mut plain = page.clone();
        if let Some(Value::Object(props)) = plain.get_mut("properties") {
            props.remove("next_cursor");
        }
        if let Some(Value::Array(required)) = plain.get_mut("required") {
            required.retain(|r| r != "next_cursor");
        }
        s.insert("Meta".into(), plain);
        s.insert("PageMeta".into(), page);
    }
    if let Some(code) = s
        .get_mut("FieldError")
        .and_then(|e| e.pointer_mut("/properties/code"))
    {
        code["description"] = json!(format!(
            "Stable code: {}, `required`, `invalid_type`, `too_long`, `invalid_token`, \
`invalid_code`, `reauth_required`, or a policy code of the email, username or password \
(`email_invalid`, `username_too_short`, `password_too_short`, …).",
            FIELD_CODES.map(|c| format!("`{c}`")).join(", ")
        ));
    }
    s.insert(
        "ErrorEnvelope".into(),
        json!({
            "type": "object",
            "description": "Error envelope.",
            "properties": {
                "success": { "const": false },
                "data": { "type": "null" },
                "error": schema_ref("ErrorBody"),
                "meta": schema_ref("Meta"),
            },
            "required": ["success", "data", "error", "meta"],
            "additionalProperties": false,
        }),
    );
    refine(&mut s);
    s
}

/// Our conventions on a derived schema. A struct with `deny_unknown_fields` is a request body:
/// utoipa already closes it, and its `Option`/`default` members are optional, as serde reads
/// them. Any other object is a response: serde writes every member (`None` as `null`), so the
/// nullable members are required too and nothing else is allowed. A response member that
/// serde may skip (`skip_serializing_if`) must therefore not be nullable in its schema
/// (`value_type`), as `ErrorBody.fields`; `Meta.next_cursor` is split in [`schemas`].
fn conventions(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if let (Some(Value::Object(props)), None) =
                (map.get("properties"), map.get("additionalProperties"))
            {
                let before: Vec<Value> = match map.get("required") {
                    Some(Value::Array(r)) => r.clone(),
                    _ => Vec::new(),
                };
                let required: Vec<Value> = props
                    .iter()
                    .filter(|(k, v)| before.contains(&json!(k)) || is_nullable(v))
                    .map(|(k, _)| json!(k))
                    .collect();
                map.insert("required".into(), Value::Array(required));
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(conventions);
        }
        Value::Array(items) => items.iter_mut().for_each(conventions),
        _ => {}
    }
}

fn is_nullable(schema: &Value) -> bool {
    let null = json!("null");
    match schema.get("type") {
        Some(Value::Array(types)) if types.contains(&null) => return true,
        _ => {}
    }
    ["oneOf", "anyOf"].iter().any(|k| {
        schema
            .get(*k)
            .and_then(Value::as_array)
            .is_some_and(|opts| opts.iter().any(|o| o.get("type") == Some(&null)))
    })
}

/// String-typed DTO members whose allowlist lives in the app or API layer: the enum comes from
/// the list the server validates against or writes from, never retyped here.
fn refinements() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    let tiers: Vec<&'static str> = Tier::ALL.iter().map(|t| t.as_str()).collect();
    let plans = crate::params::PLAN_WORDS.to_vec();
    let sub_status = crate::params::SUBSCRIPTION_STATUS_WORDS.to_vec();
    let metrics = crate::optimizer::METRICS.to_vec();
    let audiences = crate::notify_admin::AUDIENCES.to_vec();
    let stored = crate::notify_admin::STORED_AUDIENCES.to_vec();
    let providers: Vec<&'static str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
    let cycles: Vec<&'static str> = BillingCycle::ALL.iter().map(|c| c.as_str()).collect();
    let directions: Vec<&'static str> = DirectionPref::ALL.iter().map(|d| d.as_str()).collect();
    let levels: Vec<&'static str> = LogLevel::ALL.iter().map(|l| l.as_str()).collect();
    vec![
        ("Me", "tier", tiers.clone()),
        ("Me", "viewing_as", tiers.clone()),
        ("ViewAs", "viewing_as", tiers.clone()),
        ("Subscription", "tier", tiers),
        ("Subscription", "plan", plans.clone()),
        ("Subscription", "status", sub_status.clone()),
        ("SubscriptionRow", "plan", plans.clone()),
        ("SubscriptionRow", "status", sub_status.clone()),
        ("AdminSubscription", "plan", plans.clone()),
        ("AdminSubscription", "status", sub_status),
        ("SetSubscriptionRequest", "plan", plans.clone()),
        ("CheckoutRequest", "plan", plans.clone()),
        ("Payment", "plan", plans),
        ("CheckoutRequest", "provider", providers.clone()),
        ("CheckoutRequest", "cycle", cycles),
        ("Payment", "provider", providers),
        ("Payment", "cycle", payment_cycles()),
        (
            "Payment",
            "status",
            PaymentStatus::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "Session",
            "stage",
            SessionStage::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "QueuedRun",
            "kind",
            RunKind::ALL.iter().map(|k| k.as_str()).collect(),
        ),
        (
            "QueuedRun",
            "status",
            QueueStatus::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        ("NotificationPrefs", "directions", directions.clone()),
        ("NotificationPrefsRequest", "directions", directions),
        ("GlobalSettings", "log_level", levels.clone()),
        ("GlobalSettingsRequest", "log_level", levels),
        (
            "SignalStatusRequest",
            "status",
            SignalStatus::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "OptimizerJob",
            "status",
            JobStatus::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        ("OptimizerApplyRequest", "metric", metrics.clone()),
        ("OptimizerJobDetail", "metric", metrics.clone()),
        ("TunedParams", "metric", metrics),
        ("SchedulerJob", "name", crate::scheduler::JOBS.to_vec()),
        ("AudienceRequest", "audience", audiences.clone()),
        ("BroadcastRequest", "audience", audiences.clone()),
        ("ScheduleRequest", "audience", audiences),
        ("Broadcast", "audience", stored.clone()),
        ("Schedule", "audience", stored),
        ("LogEntry", "level", crate::admin::LOG_LEVELS.to_vec()),
        (
            "LogEntry",
            "category",
            crate::admin::LOG_CATEGORIES.to_vec(),
        ),
        (
            "ErrorGroup",
            "status",
            crate::admin::ERROR_STATUSES.to_vec(),
        ),
    ]
}

/// The cycles a payment row carries: every offer's (`monthly`, `yearly`, `lifetime`), once.
fn payment_cycles() -> Vec<&'static str> {
    let mut cycles: Vec<&'static str> = Vec::new();
    for offer in Offer::ALL {
        if !cycles.contains(&offer.cycle_str()) {
            cycles.push(offer.cycle_str());
        }
    }
    cycles
}

/// Applies [`refinements`]; returns the targets that name no derived member (a test keeps
/// this empty, so a renamed field cannot silently lose its allowlist).
fn refine(schemas: &mut Map<String, Value>) -> Vec<String> {
    let mut missing = Vec::new();
    for (schema, member, values) in refinements() {
        let pointer = format!("/{schema}/properties/{member}");
        let Some(target) = schemas
            .get_mut(schema)
            .and_then(|s| s.pointer_mut(&format!("/properties/{member}")))
        else {
            missing.push(pointer);
            continue;
        };
        let target = match target.get_mut("items") {
            Some(items) => items,
            None => target,
        };
        let mut allowed: Vec<Value> = values.iter().map(|v| json!(v)).collect();
        if is_nullable(target) {
            allowed.push(Value::Null);
        }
        target["enum"] = Value::Array(allowed);
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| *c != '"').collect();
            assert!(
                doc["components"]["schemas"].get(&name).is_some(),
                "dangling $ref {name}"
            );
        }
    }

    #[test]
    fn every_refinement_names_a_derived_member() {
        let mut s = schemas();
        assert_eq!(refine(&mut s), Vec::<String>::new());
        assert_eq!(
            s["Me"]["properties"]["tier"]["enum"],
            json!(["free", "pro", "premium"])
        );
    }

    /// The enum a refinement gave one member (without the `null` of a nullable one).
    fn member_enum(s: &Map<String, Value>, schema: &str, member: &str) -> Vec<String> {
        let target = &s[schema]["properties"][member];
        let target = target.get("items").unwrap_or(target);
        target["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema}.{member} has no enum"))
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }

    /// Each list added for issue #8 is exactly what the server's parser accepts: every listed
    /// value parses back to itself, and a value outside the list is refused.
    #[test]
    fn new_allowlists_are_what_the_parsers_accept() {
        let mut s = schemas();
        assert_eq!(refine(&mut s), Vec::<String>::new());
        type Check = fn(&str) -> Option<String>;
        let cases: [(&str, &str, Check); 12] = [
            ("CheckoutRequest", "provider", |v| {
                Provider::parse(v).ok().map(|p| p.as_str().to_owned())
            }),
            ("Payment", "provider", |v| {
                Provider::parse(v).ok().map(|p| p.as_str().to_owned())
            }),
            ("CheckoutRequest", "cycle", |v| {
                BillingCycle::parse(v).ok().map(|c| c.as_str().to_owned())
            }),
            ("Payment", "cycle", |v| {
                Offer::ALL
                    .iter()
                    .find(|o| o.cycle_str() == v)
                    .map(|o| o.cycle_str().to_owned())
            }),
            ("Payment", "status", |v| {
                PaymentStatus::parse(v).ok().map(|p| p.as_str().to_owned())
            }),
            ("Session", "stage", |v| {
                SessionStage::parse(v).ok().map(|p| p.as_str().to_owned())
            }),
            ("QueuedRun", "kind", |v| {
                RunKind::parse(v).ok().map(|p| p.as_str().to_owned())
            }),
            ("QueuedRun", "status", |v| {
                QueueStatus::parse(v).ok().map(|p| p.as_str().to_owned())
            }),
            ("NotificationPrefs", "directions", |v| {
                DirectionPref::parse(v).ok().map(|p| p.as_str().to_owned())
            }),
            ("NotificationPrefsRequest", "directions", |v| {
                DirectionPref::parse(v).ok().map(|p| p.as_str().to_owned())
            }),
            ("GlobalSettings", "log_level", |v| {
                LogLevel::parse(v).ok().map(|p| p.as_str().to_owned())
            }),
            ("GlobalSettingsRequest", "log_level", |v| {
                LogLevel::parse(v).ok().map(|p| p.as_str().to_owned())
            }),
        ];
        for (schema, member, parse) in cases {
            let values = member_enum(&s, schema, member);
            assert!(!values.is_empty(), "{schema}.{member}");
            for v in &values {
                assert_eq!(parse(v).as_deref(), Some(v.as_str()), "{schema}.{member}");
            }
            for outside in ["", "other", "FULL", "Monthly"] {
                if !values.iter().any(|v| v == outside) {
                    assert_eq!(parse(outside), None, "{schema}.{member} {outside:?}");
                }
            }
        }
        // The parsers' own errors for an unlisted value.
        assert!(matches!(
            Provider::parse("stripe"),
            Err(cl_app::billing::core::plan::CatalogError::Unknown { what: "provider" })
        ));
        assert!(PaymentStatus::parse("paid").is_err());
        assert_eq!(
            SessionStage::parse("half").unwrap_err().kind,
            "session stage"
        );
        assert_eq!(
            DirectionPref::parse("up"),
            Err(cl_app::ports::notifications::PrefError::Directions)
        );
        assert_eq!(
            member_enum(&s, "Payment", "cycle"),
            ["monthly", "yearly", "lifetime"]
        );
    }

    /// The enum of a derived schema, as a set.
    fn listed(s: &Map<String, Value>, name: &str) -> std::collections::BTreeSet<String> {
        s[name]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    /// The serde forms of values, as a set.
    fn forms<T: Serialize>(values: &[T]) -> std::collections::BTreeSet<String> {
        values
            .iter()
            .map(|v| {
                serde_json::to_value(v)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn derived_enums_are_the_serde_forms_of_the_domain_lists() {
        use cl_domain::matrix::Bias;
        let s = schemas();
        assert_eq!(listed(&s, "Timeframe"), forms(&Timeframe::ALL));
        assert_eq!(listed(&s, "PatternType"), forms(PatternType::ALL));
        assert_eq!(listed(&s, "Direction"), forms(Direction::ALL));
        assert_eq!(listed(&s, "PatternStatus"), forms(PatternStatus::ALL));
        let statuses: Vec<&str> = SignalStatus::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(listed(&s, "SignalStatus"), forms(&statuses));
        assert_eq!(
            listed(&s, "Bias"),
            forms(&[Bias::Bullish, Bias::Bearish, Bias::Neutral])
        );
        assert_eq!(listed(&s, "Side"), forms(&[Side::Long, Side::Short]));
        assert_eq!(listed(&s, "ErrorCode"), forms(&ErrorCode::ALL));
    }

    #[test]
    fn responses_are_closed_and_require_their_nullable_members() {
        let s = schemas();
        let pattern = &s["Pattern"];
        assert_eq!(pattern["additionalProperties"], json!(false));
        let required = pattern["required"].as_array().unwrap();
        assert!(required.contains(&json!("filled_at")));
        assert_eq!(
            required.len(),
            pattern["properties"].as_object().unwrap().len()
        );
        // A request keeps its optional members optional.
        let checkout = &s["CheckoutRequest"];
        assert_eq!(checkout["additionalProperties"], json!(false));
        assert!(!checkout["required"]
            .as_array()
            .unwrap()
            .contains(&json!("cycle")));
        // Serde skips these when absent: optional, never `null`.
        assert!(!s["ErrorBody"]["required"]
            .as_array()
            .unwrap()
            .contains(&json!("fields")));
        assert!(s["Meta"]["properties"].get("next_cursor").is_none());
        assert!(s["PageMeta"]["required"]
            .as_array()
            .unwrap()
            .contains(&json!("next_cursor")));
    }

    #[test]
    fn the_document_lists_every_error_code() {
        let doc = document();
        let codes = doc["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(codes, ErrorCode::ALL.len());
        let info = doc["info"]["description"].as_str().unwrap();
        for code in ErrorCode::ALL {
            assert!(info.contains(code.as_str()), "{}", code.as_str());
        }
    }
}
