//! CORS (product.md §11.16): an exact-origin allowlist from `CORS_ORIGINS`, never `*`,
//! credentials never allowed, `Vary: Origin` on every API response. Other origins get no
//! `Access-Control-Allow-Origin` at all.

use crate::config::Config;
use crate::http::{Headers, Request, Response};

/// Request headers a cross-origin caller may send.
pub const ALLOW_HEADERS: &str = "content-type, x-request-id, authorization, x-api-key";
/// How long a preflight answer may be cached, seconds.
pub const MAX_AGE_SECS: u32 = 600;

/// The allowed origin of this request, if its `Origin` is on the list (exact match).
pub fn allowed_origin<'a>(config: &Config, req: &'a Request) -> Option<&'a str> {
    let origin = req.headers.get("origin")?;
    config
        .cors_origins
        .iter()
        .any(|o| o != "*" && o == origin)
        .then_some(origin)
}

/// Adds `Vary: Origin` and, for an allowed origin, `Access-Control-Allow-Origin`.
pub fn apply(config: &Config, req: &Request, headers: &mut Headers) {
    append_vary(headers, "Origin");
    headers.remove("access-control-allow-origin");
    headers.remove("access-control-allow-credentials");
    if let Some(origin) = allowed_origin(config, req) {
        headers.set("access-control-allow-origin", origin);
    }
}

/// Answers an `OPTIONS` preflight for a route that allows `methods`.
pub fn preflight(config: &Config, req: &Request, methods: &str) -> Response {
    let mut resp = Response::empty(204);
    apply(config, req, &mut resp.headers);
    if allowed_origin(config, req).is_some() {
        resp.headers.set("access-control-allow-methods", methods);
        resp.headers
            .set("access-control-allow-headers", ALLOW_HEADERS);
        resp.headers
            .set("access-control-max-age", MAX_AGE_SECS.to_string());
    }
    resp
}

fn append_vary(headers: &mut Headers, value: &str) {
    let merged = match headers.get("vary") {
        Some(v) if v.split(',').any(|p| p.trim().eq_ignore_ascii_case(value)) => v.to_owned(),
        Some(v) if !v.is_empty() => format!("{v}, {value}"),
        _ => value.to_owned(),
    };
    headers.set("vary", merged);
}
