//! The typed client of the same-origin REST API (`/api/v1`, product.md §3).
//!
//! Every response body is an [`Envelope`]; the functions here unwrap it and return the payload
//! or an [`ApiError`]. DTOs come from `cl-api-types`, shared with the worker, so the client and
//! the server agree on the wire format by construction.

use std::fmt;

use cl_api_types::{Envelope, HealthReport};
use gloo_net::http::Request;
use serde::de::DeserializeOwned;

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
            } => {
                write!(f, "{message} (HTTP {status}, {code})")
            }
            Self::MissingData { status } => {
                write!(f, "The API answered HTTP {status} without data.")
            }
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
        },
        None => ApiError::MissingData { status },
    }
}
