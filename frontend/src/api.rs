//! The typed client of the same-origin REST API (`/api/v1`, product.md §3).
//!
//! Every response body is an [`Envelope`]; the functions here unwrap it and return the payload
//! or an [`ApiError`]. DTOs come from `cl-api-types`, shared with the worker, so the client and
//! the server agree on the wire format by construction.

pub mod admin;
pub mod auth;
pub mod backtests;
pub mod billing;
pub mod keys;
pub mod me;
pub mod notify;
pub mod notify_admin;
pub mod ops;
pub mod optimizer;
pub mod portfolio;
pub mod stats;

use std::fmt;

use cl_api_types::{
    CandlesDto, ChartDto, Envelope, FieldError, HealthReport, MatrixDto, PatternDto, SignalDto,
    SymbolDto,
};
use gloo_net::http::{Request, RequestBuilder};
use serde::de::DeserializeOwned;
use web_sys::RequestCache;

/// The API's base path; requests are same-origin (the worker serves the app and the API).
const API_BASE: &str = "/api/v1";

/// Why an API call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The request never got an HTTP response (offline, DNS, connection reset, blocked).
    Network(String),
    /// The server answered, but not with a JSON envelope (e.g. a proxy error page).
    Decode {
        /// The HTTP status of the response.
        status: u16,
        /// What the JSON decoder said.
        detail: String,
    },
    /// The server answered with an error envelope.
    Api {
        /// The HTTP status of the response.
        status: u16,
        /// The stable error code, e.g. `service_unavailable`.
        code: String,
        /// The server's human-readable message (never internals).
        message: String,
        /// Field-level errors (`validation_failed`, `reauth_required`), shown next to inputs.
        fields: Vec<FieldError>,
    },
    /// A success envelope arrived without `data`.
    MissingData {
        /// The HTTP status of the response.
        status: u16,
    },
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Network(detail) => write!(f, "The API could not be reached ({detail})."),
            Self::Decode { status, .. } => {
                write!(f, "The API answered HTTP {status} with an unreadable body.")
            }
            Self::Api {
                status,
                code,
                message,
                ..
            } => {
                write!(f, "{message} (HTTP {status}, {code})")
            }
            Self::MissingData { status } => {
                write!(f, "The API answered HTTP {status} without data.")
            }
        }
    }
}

impl ApiError {
    /// The stable error code, when the server sent an error envelope.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The field-level errors (empty unless the server listed some).
    pub fn fields(&self) -> &[FieldError] {
        match self {
            Self::Api { fields, .. } => fields,
            _ => &[],
        }
    }

    /// The caller is not signed in (or the session expired): `401 unauthorized`.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Self::Api { status: 401, code, .. } if code == "unauthorized")
    }

    /// The caller's tier is too low for this page or action.
    pub fn is_tier_required(&self) -> bool {
        self.code() == Some("tier_required")
    }

    /// The server's message alone (no status or code), for inline form errors.
    pub fn message(&self) -> String {
        match self {
            Self::Api { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

/// `GET /api/v1/health`: the overall status and every dependency check.
///
/// The report is returned whenever the body carries one, even with a non-2xx status: a
/// `down` service may answer 503 together with the report that explains why.
///
/// # Errors
/// [`ApiError::Network`] when no response arrives, [`ApiError::Decode`] when the body is not
/// an envelope, [`ApiError::Api`] for an error envelope without a report.
pub async fn health() -> Result<HealthReport, ApiError> {
    let (status, envelope) = get_envelope::<HealthReport>("/health").await?;
    match envelope.data {
        Some(report) => Ok(report),
        None => Err(envelope_error(status, envelope)),
    }
}

/// One keyset page of a list endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// What a conditional `GET /api/v1/matrix` produced.
#[derive(Debug, Clone, PartialEq)]
pub enum MatrixFetch {
    /// 304: the matrix did not change since the tag we sent.
    NotModified,
    /// A fresh matrix and its `ETag` (when the server sent one).
    Fresh {
        /// The matrix.
        matrix: MatrixDto,
        /// The tag to send back in `If-None-Match`.
        etag: Option<String>,
    },
}

/// Filters of `GET /api/v1/patterns` (empty = no filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatternQuery {
    /// Canonical symbol.
    pub symbol: String,
    /// Timeframe wire name.
    pub tf: String,
    /// Pattern type wire name.
    pub pattern_type: String,
    /// `bullish` or `bearish`.
    pub direction: String,
    /// Pattern status wire name.
    pub status: String,
}

/// Filters of `GET /api/v1/signals` (empty = no filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalQuery {
    /// Canonical symbol.
    pub symbol: String,
    /// Signal status wire name.
    pub status: String,
    /// `long` or `short`.
    pub direction: String,
}

/// `GET /api/v1/symbols`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn symbols() -> Result<Vec<SymbolDto>, ApiError> {
    get_data("/symbols").await.map(|(data, _)| data)
}

/// `GET /api/v1/matrix`, conditional on `etag` (`If-None-Match`). The browser cache is
/// bypassed so the 304 reaches us instead of being turned into a cached 200.
///
/// # Errors
/// Any [`ApiError`].
pub async fn matrix(etag: Option<&str>) -> Result<MatrixFetch, ApiError> {
    let mut request = builder("/matrix").cache(RequestCache::NoStore);
    if let Some(tag) = etag {
        request = request.header("If-None-Match", tag);
    }
    let response = request
        .send()
        .await
        .map_err(|err| ApiError::Network(err.to_string()))?;
    if response.status() == 304 {
        return Ok(MatrixFetch::NotModified);
    }
    let etag = response.headers().get("etag");
    let (matrix, _) = decode::<MatrixDto>(response).await?;
    Ok(MatrixFetch::Fresh { matrix, etag })
}

/// `GET /api/v1/chart/{symbol}/{tf}?before&limit`.
///
/// # Errors
/// Any [`ApiError`] (`not_found` for an unknown symbol).
pub async fn chart(symbol: &str, tf: &str, before: Option<i64>) -> Result<ChartDto, ApiError> {
    let path = format!(
        "/chart/{}/{}{}",
        encode(&crate::format::symbol_to_url(symbol)),
        encode(tf),
        query_string(&[("before", before.map(|b| b.to_string()))])
    );
    get_data(&path).await.map(|(data, _)| data)
}

/// `GET /api/v1/candles/{symbol}/{tf}?before` (older candles for the chart).
///
/// # Errors
/// Any [`ApiError`].
pub async fn candles(symbol: &str, tf: &str, before: Option<i64>) -> Result<CandlesDto, ApiError> {
    let path = format!(
        "/candles/{}/{}{}",
        encode(&crate::format::symbol_to_url(symbol)),
        encode(tf),
        query_string(&[("before", before.map(|b| b.to_string()))])
    );
    get_data(&path).await.map(|(data, _)| data)
}

/// `GET /api/v1/patterns?…&limit&cursor`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn patterns(
    q: &PatternQuery,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<PatternDto>, ApiError> {
    let path = format!(
        "/patterns{}",
        query_string(&[
            (
                "symbol",
                non_empty(&crate::format::symbol_to_url(&q.symbol))
            ),
            ("tf", non_empty(&q.tf)),
            ("type", non_empty(&q.pattern_type)),
            ("direction", non_empty(&q.direction)),
            ("status", non_empty(&q.status)),
            ("limit", Some(limit.to_string())),
            ("cursor", cursor.map(str::to_owned)),
        ])
    );
    get_page(&path).await
}

/// `GET /api/v1/patterns/{id}`.
///
/// # Errors
/// Any [`ApiError`] (`not_found` for an unknown id).
pub async fn pattern(id: i64) -> Result<PatternDto, ApiError> {
    get_data(&format!("/patterns/{id}")).await.map(|(d, _)| d)
}

/// `GET /api/v1/signals?…&limit&cursor`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn signals(
    q: &SignalQuery,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<SignalDto>, ApiError> {
    let path = format!(
        "/signals{}",
        query_string(&[
            (
                "symbol",
                non_empty(&crate::format::symbol_to_url(&q.symbol))
            ),
            ("status", non_empty(&q.status)),
            ("direction", non_empty(&q.direction)),
            ("limit", Some(limit.to_string())),
            ("cursor", cursor.map(str::to_owned)),
        ])
    );
    get_page(&path).await
}

/// `GET /api/v1/signals/{id}`.
///
/// # Errors
/// Any [`ApiError`] (`not_found` for an unknown id).
pub async fn signal(id: i64) -> Result<SignalDto, ApiError> {
    get_data(&format!("/signals/{id}")).await.map(|(d, _)| d)
}

/// `GET /api/v1/openapi.json`: the raw OpenAPI document (not an envelope).
///
/// # Errors
/// [`ApiError::Network`], or [`ApiError::Decode`] for a non-2xx or non-JSON answer.
pub async fn openapi() -> Result<serde_json::Value, ApiError> {
    let response = builder("/openapi.json")
        .send()
        .await
        .map_err(|err| ApiError::Network(err.to_string()))?;
    let status = response.status();
    if !response.ok() {
        return Err(ApiError::Decode {
            status,
            detail: String::from("not a 2xx answer"),
        });
    }
    response
        .json::<serde_json::Value>()
        .await
        .map_err(|err| ApiError::Decode {
            status,
            detail: err.to_string(),
        })
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// `?a=1&b=2` from the present pairs (values percent-encoded), or `""`.
pub fn query_string(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn builder(path: &str) -> RequestBuilder {
    Request::get(&format!("{API_BASE}{path}")).header("Accept", "application/json")
}

/// `GET` and unwrap `data` (2xx) or the error envelope.
pub(crate) async fn get_data<T: DeserializeOwned>(
    path: &str,
) -> Result<(T, cl_api_types::Meta), ApiError> {
    let response = builder(path)
        .send()
        .await
        .map_err(|err| ApiError::Network(err.to_string()))?;
    decode(response).await
}

pub(crate) async fn decode<T: DeserializeOwned>(
    response: gloo_net::http::Response,
) -> Result<(T, cl_api_types::Meta), ApiError> {
    let status = response.status();
    let envelope = response
        .json::<Envelope<T>>()
        .await
        .map_err(|err| ApiError::Decode {
            status,
            detail: err.to_string(),
        })?;
    if (200..300).contains(&status) {
        if let Some(data) = envelope.data {
            return Ok((data, envelope.meta));
        }
    }
    Err(envelope_error(status, envelope))
}

pub(crate) async fn get_page<T: DeserializeOwned>(path: &str) -> Result<Page<T>, ApiError> {
    let (items, meta) = get_data::<Vec<T>>(path).await?;
    Ok(Page {
        items,
        next_cursor: meta.next_cursor.flatten(),
    })
}

/// Sends a same-origin `GET {API_BASE}{path}` and decodes the envelope (any HTTP status).
async fn get_envelope<T: DeserializeOwned>(path: &str) -> Result<(u16, Envelope<T>), ApiError> {
    let url = format!("{API_BASE}{path}");
    let response = Request::get(&url)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|err| ApiError::Network(err.to_string()))?;
    let status = response.status();
    let envelope = response
        .json::<Envelope<T>>()
        .await
        .map_err(|err| ApiError::Decode {
            status,
            detail: err.to_string(),
        })?;
    Ok((status, envelope))
}

/// The error to report for an envelope that carried no usable `data`.
fn envelope_error<T>(status: u16, envelope: Envelope<T>) -> ApiError {
    match envelope.error {
        Some(body) => ApiError::Api {
            status,
            code: body.code,
            message: body.message,
            fields: body.fields.unwrap_or_default(),
        },
        None => ApiError::MissingData { status },
    }
}
