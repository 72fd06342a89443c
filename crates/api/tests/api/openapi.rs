//! The OpenAPI document: it lists every route of the table, and real responses of every route
//! validate against it (success and error envelopes alike).

use crate::helpers::*;
use crate::schema::validate;
use cl_api::http::Method;
use cl_api::params::In;
use cl_api::routes::{Route, TABLE};
use cl_api_types::ErrorCode;
use serde_json::Value;
use std::collections::BTreeSet;

fn document(app: &TestApp) -> Value {
    let r = get(app, "/api/v1/openapi.json");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers.get("content-type"),
        Some("application/json; charset=utf-8")
    );
    r.json
}

#[test]
fn the_document_is_served_and_lists_every_route_with_its_parameters() {
    let doc = document(&empty_app());
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = 0;
    for spec in TABLE {
        let op = &doc["paths"][spec.path][spec.method.as_str().to_ascii_lowercase()];
        assert!(
            op.is_object(),
            "{} {} missing",
            spec.method.as_str(),
            spec.path
        );
        documented += 1;
        let params: BTreeSet<(String, String)> = op["parameters"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        (
                            p["name"].as_str().unwrap().to_owned(),
                            p["in"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let declared: BTreeSet<(String, String)> = spec
            .params
            .iter()
            .map(|p| {
                let at = if p.location == In::Path {
                    "path"
                } else {
                    "query"
                };
                (p.name.to_owned(), at.to_owned())
            })
            .collect();
        assert_eq!(params, declared, "{}", spec.path);
        // Every `{name}` of the template is a documented path parameter.
        for seg in spec.path.split('/').filter(|s| s.starts_with('{')) {
            let name = seg.trim_matches(|c| c == '{' || c == '}');
            assert!(
                declared.contains(&(name.to_owned(), "path".to_owned())),
                "{name}"
            );
        }
        let ok = spec.ok_status.to_string();
        for status in [ok.as_str(), "400", "401", "405", "500", "503"] {
            assert!(
                op["responses"][status].is_object(),
                "{} {status}",
                spec.path
            );
        }
        if spec.may_be_missing {
            assert!(op["responses"]["404"].is_object(), "{}", spec.path);
        }
    }
    let operations: usize = paths
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(
        operations, documented,
        "the document lists a route the table lacks"
    );
    for route in [
        Route::Health,
        Route::HealthLive,
        Route::HealthReady,
        Route::OpenApi,
    ] {
        assert!(paths.contains_key(route.template()));
    }
    let codes: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(codes, all);
    assert!(doc["paths"]["/api/v1/matrix"]["get"]["responses"]["304"].is_object());
}

/// Validates one response against the document's schema for its route and status.
fn check(doc: &Value, app: &TestApp, method: Method, url: &str, status: u16) {
    let r = send(app, with_method(url, method));
    assert_eq!(r.status, status, "{url}: {}", r.json);
    let op = &doc["paths"][r.route][method.as_str().to_ascii_lowercase()];
    let response = &op["responses"][status.to_string()];
    assert!(response.is_object(), "{url}: status {status} undocumented");
    let Some(schema) = response["content"]["application/json"].get("schema") else {
        assert!(r.body.is_empty(), "{url}: undocumented body");
        return;
    };
    let errors = validate(doc, schema, &r.json);
    assert!(
        errors.is_empty(),
        "{url} ({status}): {errors:#?}\n{}",
        r.json
    );
}

#[test]
fn real_responses_of_every_route_match_the_document() {
    let (app, seed) = seeded();
    let doc = document(&app);
    let get = Method::Get;
    let pattern = seed.patterns[2].0;
    let signal = seed.signals[0];
    let cases: Vec<(String, u16)> = vec![
        ("/api/v1/health".into(), 200),
        ("/api/v1/health?x=1".into(), 400),
        ("/api/v1/health/live".into(), 200),
        ("/api/v1/health/ready".into(), 200),
        ("/api/v1/openapi.json".into(), 200),
        ("/api/v1/openapi.json?v=2".into(), 400),
        ("/api/v1/symbols".into(), 200),
        ("/api/v1/symbols?active=maybe".into(), 400),
        ("/api/v1/candles/BTC-USDT/1h?limit=3".into(), 200),
        ("/api/v1/candles/BTC-USDT/1w".into(), 400),
        ("/api/v1/candles/XRP-USDT/1h".into(), 404),
        ("/api/v1/chart/BTC-USDT/1h?limit=3".into(), 200),
        ("/api/v1/chart/BTC-USDT/1h?limit=-3".into(), 400),
        ("/api/v1/chart/XRP-USDT/1h".into(), 404),
        ("/api/v1/patterns?limit=2".into(), 200),
        ("/api/v1/patterns".into(), 200),
        ("/api/v1/patterns?cursor=nope".into(), 400),
        ("/api/v1/patterns?status=expired".into(), 200),
        (format!("/api/v1/patterns/{pattern}"), 200),
        ("/api/v1/patterns/77777".into(), 404),
        ("/api/v1/patterns/x".into(), 400),
        ("/api/v1/signals?limit=2".into(), 200),
        ("/api/v1/signals".into(), 200),
        ("/api/v1/signals?direction=up".into(), 400),
        (format!("/api/v1/signals/{signal}"), 200),
        ("/api/v1/signals/77777".into(), 404),
        ("/api/v1/matrix".into(), 200),
        ("/api/v1/matrix?x".into(), 400),
        // Admins only, so without account dependencies it is 503; the 401/403/200 answers
        // are checked in `metrics.rs`.
        ("/api/v1/metrics".into(), 503),
    ];
    let mut covered = BTreeSet::new();
    for (url, status) in &cases {
        check(&doc, &app, get, url, *status);
        covered.insert(send(&app, cl_api::http::Request::get(url)).route);
    }
    for (url, method) in [
        ("/api/v1/matrix", Method::Post),
        ("/api/v1/patterns/1", Method::Delete),
    ] {
        let r = send(&app, with_method(url, method));
        assert_eq!(r.status, 405);
        let schema = serde_json::json!({"$ref": "#/components/schemas/ErrorEnvelope"});
        assert!(validate(&doc, &schema, &r.json).is_empty());
    }
    // The account routes are checked against the document in `auth.rs`.
    for spec in TABLE.iter().filter(|s| !s.route.needs_accounts()) {
        assert!(
            covered.contains(spec.path),
            "{} has no response check",
            spec.path
        );
    }
    // The health 503 body and the 304 of the matrix are documented too.
    let down = app_with(
        dev_config(&[]),
        Probes {
            d1: false,
            kv: true,
            pg: None,
        },
        cl_store_memory::MemoryStore::new(),
    );
    check(&doc, &down, get, "/api/v1/health/ready", 503);
    let etag = send(&app, cl_api::http::Request::get("/api/v1/matrix"))
        .headers
        .get("etag")
        .unwrap()
        .to_owned();
    let r = send(&app, with_header("/api/v1/matrix", "if-none-match", &etag));
    assert_eq!(r.status, 304);
    assert!(doc["paths"]["/api/v1/matrix"]["get"]["responses"]["304"]
        .get("content")
        .is_none());
}

/// A value with every member of `schema` present: the non-null branch of nullable members
/// (`nulls` false) or `null` for them (`nulls` true).
fn sample(doc: &Value, schema: &Value, nulls: bool) -> Value {
    use serde_json::json;
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap(),
        None => schema,
    };
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let null = options.iter().any(|o| o["type"] == "null");
            if null && nulls {
                return Value::Null;
            }
            let other = options.iter().find(|o| o["type"] != "null").unwrap();
            return sample(doc, other, nulls);
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if nulls && types.contains(&"null") {
        return Value::Null;
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    let min = &schema["minimum"];
    match types.iter().find(|t| **t != "null").copied() {
        Some("string") => json!("x"),
        Some("integer") => json!(min.as_i64().unwrap_or(1)),
        Some("number") => json!(min.as_f64().unwrap_or(1.5)),
        Some("boolean") => json!(true),
        Some("array") => json!([sample(doc, &schema["items"], nulls)]),
        Some("object") => match schema.get("properties").and_then(Value::as_object) {
            Some(props) => Value::Object(
                props
                    .iter()
                    .map(|(k, s)| (k.clone(), sample(doc, s, nulls)))
                    .collect(),
            ),
            None => json!({ "k": sample(doc, &schema["additionalProperties"], nulls) }),
        },
        other => panic!("no sample for {other:?} in {schema}"),
    }
}

/// A DTO filled from its schema round-trips through serde member for member, and what serde
/// writes validates against the schema, with every nullable member set and with every one
/// `null`: a member added, renamed or skipped without the document following fails here.
fn round_trip<T>(doc: &Value)
where
    T: serde::Serialize + serde::de::DeserializeOwned + utoipa::ToSchema,
{
    let name = T::name();
    let reference = serde_json::json!({ "$ref": format!("#/components/schemas/{name}") });
    let schema = &doc["components"]["schemas"][name.as_ref()];
    assert!(schema.is_object(), "{name} is not in the document");
    let documented: BTreeSet<&String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().collect())
        .unwrap_or_default();
    for nulls in [false, true] {
        let input = sample(doc, &reference, nulls);
        let dto: T = serde_json::from_value(input.clone())
            .unwrap_or_else(|e| panic!("{name}: {e}\n{input}"));
        let written = serde_json::to_value(&dto).unwrap();
        if !nulls {
            let members: BTreeSet<&String> = written.as_object().unwrap().keys().collect();
            assert_eq!(
                members, documented,
                "{name}: serde and the document disagree"
            );
        }
        let errors = validate(doc, &reference, &written);
        assert!(
            errors.is_empty(),
            "{name} (nulls: {nulls}): {errors:#?}\n{written}"
        );
    }
}

#[test]
#[rustfmt::skip]
fn every_dto_round_trips_through_its_derived_schema() {
    use cl_api_types::ops::*;
    use cl_api_types::scheduler::*;
    use cl_api_types::*;
    let doc = document(&empty_app());
    macro_rules! check_all {
        ($($t:ty),+ $(,)?) => { $( round_trip::<$t>(&doc); )+ };
    }
    check_all!(
        Meta, ErrorBody, FieldError, HealthReport, Liveness, SymbolDto, CandlesDto, ChartDto,
        PatternDto, SignalDto, MatrixDto, RegisterRequest, LoginRequest, CodeRequest,
        TokenRequest, EmailRequest, ResetPasswordRequest, ChangePasswordRequest,
        PasswordCodeRequest, AuthMessage, LoginResult, CsrfToken, Me, SessionDto, Revoked,
        TotpSetupDto, RecoveryCodesDto, ApiKeyDto, CreatedApiKeyDto, CreateKeyRequest,
        UpdateKeyRequest, IpRuleRequest, IpRuleDto, KeyUsageDto, ViewAsRequest, ViewAsDto,
        CheckoutRequest, CheckoutStarted, PaymentDto, PaymentCheck, SubscriptionDto, WebhookAck,
        PortfolioCreateRequest, PortfolioPatchRequest, PortfolioDto, PortfolioStatsDto,
        TradeCreateRequest, TradePatchRequest, TradeOpenRequest, TradeCloseRequest,
        TradeFromSourceRequest, TradeDto, TagRequest, TagPatchRequest, TagDto,
        TradeTagsRequest, TradeTagsDto, JournalRequest, JournalPatchRequest, JournalEntryDto,
        Removed, ExchangeCredentialRequest, ExchangeCredentialDto, CredentialsDeleted,
        BacktestRequest, BacktestDto, BacktestDetailDto, NotificationPrefsDto,
        NotificationPrefsRequest, SymbolNotifyDto, SymbolNotifyRequest, TopicDto, AdminUserDto,
        SetSubscriptionRequest, AdminSymbolDto, SymbolCreateRequest, SymbolPatchRequest,
        SignalStatusRequest, SignalStatusDto, AuditEntryDto, LogEntryDto, ErrorGroupDto,
        AdminStatsDto, AnalyticsDto, SubscriptionRowDto, GlobalSettingsDto,
        GlobalSettingsRequest, SchedulerStatusDto, SchedulerJobDto, CronRunDto, RunRequest,
        HistoricalFetchRequest, ImportRequest, QueuedRunDto, ImportResultDto,
        NoticeTemplateDto, NoticeTemplateRequest, BroadcastRequest, ScheduleRequest,
        AudienceCountDto, BroadcastDto, ScheduleDto, AdminTestRequest, AdminTestDto,
        cl_api::notify_admin::AudienceRequest, OptimizerJobRequest, OptimizerJobDto,
        OptimizerJobDetailDto, OptimizerComparisonDto, OptimizerApplyRequest,
        OptimizerAppliedDto, TradingPrefsDto, TradingPrefsRequest,
    );
}
