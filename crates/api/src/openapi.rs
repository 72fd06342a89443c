//! The OpenAPI 3.1 document, generated from the route table ([`crate::routes::TABLE`]), the
//! parameter declarations ([`crate::params`]) and the DTO schemas below.
//!
//! Hand-rolled rather than derived (utoipa): the worker stays small and `cl-api-types` stays
//! free of schema machinery the frontend would also have to compile. The price is that the DTO
//! schemas are written by hand; every object schema is closed (`additionalProperties: false`,
//! every property required), and the host tests validate real responses of every route against
//! this document, so a DTO and its schema cannot drift apart unnoticed. Enumerations are built
//! from the domain's own lists and serde forms.

use crate::access::Access;
use crate::params::{ParamDoc, ParamKind, FIELD_CODES, MAX_CANDLES, MAX_SYMBOL_LEN};
use crate::routes::{planned_scopes, Data, RouteSpec, TABLE};
use cl_api_types::{ErrorCode, HealthStatus, LoginStatus, Side};
use cl_app::policy::Tier;
use cl_app::ports::{SignalStatus, MAX_EXACT_INT};
use cl_domain::matrix::Bias;
use cl_domain::{Direction, PatternStatus, PatternType, Timeframe};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

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

pub(crate) fn array_of(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

pub(crate) fn nullable(schema: Value) -> Value {
    json!({ "anyOf": [schema, { "type": "null" }] })
}

pub(crate) fn str_enum<'a>(values: impl IntoIterator<Item = &'a str>) -> Value {
    json!({ "type": "string", "enum": values.into_iter().collect::<Vec<_>>() })
}

/// An enum schema from values' serde forms, so the strings cannot drift from the DTOs.
pub(crate) fn wire_enum<T: Serialize>(values: &[T]) -> Value {
    let names: Vec<Value> = values
        .iter()
        .filter_map(|v| serde_json::to_value(v).ok())
        .collect();
    json!({ "type": "string", "enum": names })
}

/// A closed object: every listed property is required, no other is allowed.
pub(crate) fn object(description: &str, props: &[(&str, Value)]) -> Value {
    closed(description, props, &[])
}

pub(crate) fn closed(description: &str, props: &[(&str, Value)], optional: &[&str]) -> Value {
    let properties: Map<String, Value> = props
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let required: Vec<&str> = props
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !optional.contains(k))
        .collect();
    json!({
        "type": "object",
        "description": description,
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn envelope(data: Value, meta: &str) -> Value {
    object(
        "Success envelope.",
        &[
            ("success", json!({ "const": true })),
            ("data", data),
            ("error", json!({ "type": "null" })),
            ("meta", schema_ref(meta)),
        ],
    )
}

pub(crate) fn int() -> Value {
    json!({ "type": "integer" })
}

pub(crate) fn num() -> Value {
    json!({ "type": "number" })
}

pub(crate) fn string() -> Value {
    json!({ "type": "string" })
}

pub(crate) fn boolean() -> Value {
    json!({ "type": "boolean" })
}

fn schemas() -> Value {
    let tf = schema_ref("Timeframe");
    let candle_list = array_of(schema_ref("Candle"));
    let s: Vec<(&str, Value)> = vec![
        (
            "Timeframe",
            str_enum(Timeframe::ALL.iter().map(|t| t.as_str())),
        ),
        (
            "PatternType",
            str_enum(PatternType::ALL.iter().map(|t| t.as_str())),
        ),
        (
            "Direction",
            str_enum(Direction::ALL.iter().map(|t| t.as_str())),
        ),
        (
            "PatternStatus",
            str_enum(PatternStatus::ALL.iter().map(|t| t.as_str())),
        ),
        (
            "SignalStatus",
            str_enum(SignalStatus::ALL.iter().map(|t| t.as_str())),
        ),
        ("Side", wire_enum(&[Side::Long, Side::Short])),
        (
            "Bias",
            wire_enum(&[Bias::Bullish, Bias::Bearish, Bias::Neutral]),
        ),
        (
            "ErrorCode",
            str_enum(ErrorCode::ALL.iter().map(|c| c.as_str())),
        ),
        (
            "Meta",
            object(
                "Response metadata.",
                &[("request_id", string()), ("timestamp", int())],
            ),
        ),
        (
            "PageMeta",
            object(
                "Metadata of a keyset page.",
                &[
                    ("request_id", string()),
                    ("timestamp", int()),
                    ("next_cursor", nullable(string())),
                ],
            ),
        ),
        (
            "FieldError",
            object(
                "One invalid field.",
                &[
                    ("field", string()),
                    (
                        "code",
                        json!({
                            "type": "string",
                            "pattern": "^[a-z][a-z0-9_]*$",
                            "description": format!(
                                "Stable code: {}, `required`, `invalid_type`, `too_long`, \
                        `invalid_token`, `invalid_code`, `reauth_required`, or a policy code of the email, username \
                        or password (`email_invalid`, `username_too_short`, `password_too_short`, …).",
                                FIELD_CODES.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                            ),
                        }),
                    ),
                    ("message", string()),
                ],
            ),
        ),
        (
            "ErrorBody",
            closed(
                "A stable error code and a safe message.",
                &[
                    ("code", schema_ref("ErrorCode")),
                    ("message", string()),
                    ("fields", array_of(schema_ref("FieldError"))),
                ],
                &["fields"],
            ),
        ),
        (
            "ErrorEnvelope",
            object(
                "Error envelope.",
                &[
                    ("success", json!({ "const": false })),
                    ("data", json!({ "type": "null" })),
                    ("error", schema_ref("ErrorBody")),
                    ("meta", schema_ref("Meta")),
                ],
            ),
        ),
        (
            "HealthCheck",
            object(
                "One dependency check.",
                &[
                    ("name", string()),
                    ("ok", boolean()),
                    ("critical", boolean()),
                ],
            ),
        ),
        (
            "HealthReport",
            object(
                "Health summary.",
                &[
                    (
                        "status",
                        wire_enum(&[HealthStatus::Ok, HealthStatus::Degraded, HealthStatus::Down]),
                    ),
                    ("checks", array_of(schema_ref("HealthCheck"))),
                ],
            ),
        ),
        ("Liveness", object("Liveness.", &[("live", boolean())])),
        (
            "Symbol",
            object(
                "A tracked market.",
                &[
                    ("symbol", string()),
                    ("exchange", string()),
                    ("active", boolean()),
                ],
            ),
        ),
        (
            "Candle",
            object(
                "One OHLCV candle; `ts` is its open time, UTC ms.",
                &[
                    ("ts", int()),
                    ("open", num()),
                    ("high", num()),
                    ("low", num()),
                    ("close", num()),
                    ("volume", num()),
                ],
            ),
        ),
        (
            "Candles",
            object(
                "Candles oldest first; `has_more` when older ones exist.",
                &[
                    ("symbol", string()),
                    ("tf", tf.clone()),
                    ("candles", candle_list.clone()),
                    ("has_more", boolean()),
                ],
            ),
        ),
        (
            "Chart",
            object(
                "Candles plus the TF's active patterns in view.",
                &[
                    ("symbol", string()),
                    ("tf", tf.clone()),
                    ("candles", candle_list),
                    ("has_more", boolean()),
                    ("patterns", array_of(schema_ref("Pattern"))),
                ],
            ),
        ),
        (
            "Zone",
            object("A price zone.", &[("low", num()), ("high", num())]),
        ),
        (
            "Levels",
            object(
                "Entry, stop, targets and reward ratios.",
                &[
                    ("entry", num()),
                    ("stop_loss", num()),
                    ("tp1", num()),
                    ("tp2", num()),
                    ("tp3", num()),
                    ("risk", num()),
                    ("rr1", num()),
                    ("rr2", num()),
                    ("rr3", num()),
                ],
            ),
        ),
        (
            "Pattern",
            object(
                "A detected pattern.",
                &[
                    ("id", int()),
                    ("symbol", string()),
                    ("tf", tf.clone()),
                    ("type", schema_ref("PatternType")),
                    ("direction", schema_ref("Direction")),
                    ("status", schema_ref("PatternStatus")),
                    ("zone", schema_ref("Zone")),
                    ("swept_level", nullable(num())),
                    ("detected_at", int()),
                    ("expires_at", int()),
                    ("filled_at", nullable(int())),
                    ("fill_pct", num()),
                    ("levels", schema_ref("Levels")),
                    ("created_at", int()),
                ],
            ),
        ),
        (
            "Signal",
            object(
                "A confluence signal.",
                &[
                    ("id", int()),
                    ("symbol", string()),
                    ("direction", schema_ref("Side")),
                    ("status", schema_ref("SignalStatus")),
                    ("entry", num()),
                    ("stop_loss", num()),
                    ("tp1", num()),
                    ("tp2", num()),
                    ("tp3", num()),
                    ("risk_reward", num()),
                    (
                        "confluence_score",
                        json!({ "type": "integer", "minimum": 0, "maximum": 7 }),
                    ),
                    ("timeframes_aligned", array_of(tf.clone())),
                    ("pattern_id", nullable(int())),
                    ("created_at", int()),
                    ("notified_at", nullable(int())),
                ],
            ),
        ),
        (
            "MatrixCell",
            object(
                "The latest active pattern of a symbol and TF, or neutral.",
                &[
                    ("tf", tf.clone()),
                    ("direction", schema_ref("Bias")),
                    ("type", nullable(schema_ref("PatternType"))),
                    ("count", json!({ "type": "integer", "minimum": 0 })),
                    ("zone", nullable(schema_ref("Zone"))),
                    ("pattern_id", nullable(int())),
                    ("detected_at", nullable(int())),
                ],
            ),
        ),
        (
            "MatrixRow",
            object(
                "One active symbol with one cell per column.",
                &[
                    ("symbol", string()),
                    ("cells", array_of(schema_ref("MatrixCell"))),
                ],
            ),
        ),
        (
            "Matrix",
            object(
                "Active symbols × 5m..1d.",
                &[
                    ("timeframes", array_of(tf)),
                    ("rows", array_of(schema_ref("MatrixRow"))),
                ],
            ),
        ),
    ];
    let mut s = s;
    s.extend(auth_schemas());
    s.extend(crate::portfolio::openapi_schemas());
    s.extend(crate::keys::openapi_schemas());
    s.extend(crate::payments::openapi_schemas());
    s.extend(crate::admin::openapi_schemas());
    s.extend(crate::stats::openapi_schemas());
    s.extend(crate::scheduler::openapi_schemas());
    s.extend(crate::ops::openapi_schemas());
    s.extend(crate::notifications::openapi_schemas());
    s.extend(crate::optimizer::openapi_schemas());
    s.extend(crate::notify_admin::openapi_schemas());
    // One line per route family: each family module declares its own DTO schemas.
    Value::Object(s.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

pub(crate) fn strings(names: &[&'static str]) -> Vec<(&'static str, Value)> {
    names.iter().map(|n| (*n, string())).collect()
}

pub(crate) fn opt_uint() -> Value {
    nullable(json!({ "type": "integer", "minimum": 0 }))
}

fn auth_schemas() -> Vec<(&'static str, Value)> {
    let tier = str_enum(Tier::ALL.iter().map(|t| t.as_str()));
    vec![
        (
            "RegisterRequest",
            object(
                "Registration.",
                &strings(&["email", "username", "password"]),
            ),
        ),
        (
            "LoginRequest",
            object("Credentials.", &strings(&["email", "password"])),
        ),
        (
            "CodeRequest",
            object("A TOTP or recovery code.", &strings(&["code"])),
        ),
        (
            "TokenRequest",
            object("A one-time token.", &strings(&["token"])),
        ),
        (
            "EmailRequest",
            object("An email address.", &strings(&["email"])),
        ),
        (
            "ResetPasswordRequest",
            object("Token and new password.", &strings(&["token", "password"])),
        ),
        (
            "ChangePasswordRequest",
            object(
                "Current and new password.",
                &strings(&["current_password", "new_password"]),
            ),
        ),
        (
            "PasswordCodeRequest",
            closed(
                "Password, and a code when 2FA is on (always for disabling it).",
                &[("password", string()), ("code", nullable(string()))],
                &["code"],
            ),
        ),
        (
            "AuthMessage",
            object("A confirmation.", &[("message", string())]),
        ),
        (
            "CsrfToken",
            object("A CSRF token.", &[("csrf_token", string())]),
        ),
        (
            "LoginResult",
            object(
                "Signed in, or a TOTP code is required next.",
                &[
                    (
                        "status",
                        wire_enum(&[LoginStatus::LoggedIn, LoginStatus::TotpRequired]),
                    ),
                    ("csrf_token", string()),
                ],
            ),
        ),
        (
            "User",
            object(
                "The signed-in user.",
                &[
                    ("id", int()),
                    ("email", string()),
                    ("username", string()),
                    ("is_verified", boolean()),
                    ("is_admin", boolean()),
                    ("totp_enabled", boolean()),
                    ("must_change_password", boolean()),
                    ("created_at", int()),
                ],
            ),
        ),
        (
            "Limits",
            object(
                "Effective limits; `null` is unlimited.",
                &[
                    ("symbols", nullable(array_of(string()))),
                    ("pattern_types", array_of(schema_ref("PatternType"))),
                    ("dashboard_recent_signals", int()),
                    ("patterns_history", opt_uint()),
                    ("signals_history", opt_uint()),
                    ("analytics", boolean()),
                    ("risk_settings", boolean()),
                    ("exchange_credentials", boolean()),
                    ("notifications_per_day", opt_uint()),
                    ("notification_delay_ms", int()),
                    ("per_symbol_notifications", boolean()),
                    ("portfolios", opt_uint()),
                    ("new_trades_per_day", opt_uint()),
                    ("backtests_running", opt_uint()),
                    ("backtests_per_day", opt_uint()),
                    ("api_keys", opt_uint()),
                ],
            ),
        ),
        (
            "Me",
            object(
                "User, tier, limits, view-as and CSRF token.",
                &[
                    ("user", schema_ref("User")),
                    ("tier", tier.clone()),
                    ("limits", schema_ref("Limits")),
                    ("viewing_as", nullable(tier)),
                    ("csrf_token", string()),
                ],
            ),
        ),
        (
            "Session",
            object(
                "One of the caller's sessions.",
                &[
                    (
                        "id",
                        json!({ "type": "string", "pattern": "^[0-9a-f]{32}$" }),
                    ),
                    ("current", boolean()),
                    ("stage", str_enum(["full", "pending_2fa"])),
                    ("created_at", int()),
                    ("last_seen_at", int()),
                    ("expires_at", int()),
                    ("ip", nullable(string())),
                    ("user_agent", nullable(string())),
                ],
            ),
        ),
        (
            "Revoked",
            object(
                "Sessions revoked.",
                &[("revoked", json!({ "type": "integer", "minimum": 0 }))],
            ),
        ),
        (
            "TotpSetup",
            object("Shown once.", &strings(&["otpauth_uri", "manual_key"])),
        ),
        (
            "RecoveryCodes",
            object(
                "Shown once; the session was rotated.",
                &[
                    ("recovery_codes", array_of(string())),
                    ("csrf_token", string()),
                ],
            ),
        ),
    ]
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
