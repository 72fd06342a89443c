//! Translation between `worker` types and the plain HTTP values of `cl-api`.

use crate::bindings;
use cl_api::context::RequestContext;
use cl_api::http::{Headers, Method, Request as PlainRequest, Response as PlainResponse};
use cl_api_types::spa::SpaApp;
use worker::{Env, Request, Response, Result};

/// Bodies larger than this are refused before they are read (product.md §11.17); routes with
/// larger caps (webhooks, imports) raise it explicitly.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Signed provider webhooks may carry up to 256 KiB (product.md §11.17); their handler
/// enforces the cap again before verifying.
const MAX_WEBHOOK_BODY_BYTES: usize = 256 * 1024;

/// A fresh 128-bit request id from the platform's CSPRNG.
pub fn fresh_request_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // Not security-relevant: an id only correlates logs.
        return format!("{:x}", worker::Date::now().as_millis());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The request's method as sent. `worker::Request::method` maps every method it does not know
/// (`QUERY`, `PROPFIND`, …) to `GET`, which would serve them as reads; the raw string does not.
pub fn raw_method(req: &Request) -> Method {
    Method::parse(&req.inner().method())
}

/// Reads a `worker::Request` into a plain request. Oversized bodies are not read; the API
/// layer answers 413 for them.
pub async fn from_worker(mut req: Request) -> Result<PlainRequest> {
    let url = req.url()?;
    let headers: Headers = req.headers().entries().collect();
    let method = raw_method(&req);
    let declared = headers
        .get("content-length")
        .and_then(|v| v.parse::<usize>().ok());
    let body = match method {
        Method::Get | Method::Head | Method::Options => Vec::new(),
        _ if declared.is_some_and(|n| n > body_cap(url.path())) => Vec::new(),
        _ => req.bytes().await.unwrap_or_default(),
    };
    Ok(PlainRequest {
        method,
        path: url.path().to_owned(),
        query: url.query().unwrap_or_default().to_owned(),
        headers,
        body,
    })
}

fn body_cap(path: &str) -> usize {
    if path.starts_with("/api/v1/webhooks/") {
        MAX_WEBHOOK_BODY_BYTES
    } else if path.starts_with("/api/v1/admin/symbols/") && path.ends_with("/import") {
        // The candle import (5 MiB of text in a JSON envelope); its handler checks again.
        cl_api::ops::MAX_IMPORT_BODY
    } else {
        MAX_BODY_BYTES
    }
}

/// Builds a `worker::Response` from a plain one.
pub fn to_worker(resp: PlainResponse) -> Result<Response> {
    let headers = worker::Headers::new();
    for (name, value) in resp.headers.iter() {
        headers.append(name, value)?;
    }
    Ok(Response::builder()
        .with_status(resp.status)
        .with_headers(headers)
        .fixed(resp.body))
}

/// The HTML page of the app that owns a navigation to `path`, when that is not the user app
/// (whose `index.html` is the SPA fallback). The frontend is four wasm apps
/// (docs/decisions.md, "frontend split"); a path whose last segment has a file extension
/// stays a file lookup.
fn app_page(path: &str) -> Option<&'static str> {
    if path.rsplit('/').next().unwrap_or_default().contains('.') {
        return None;
    }
    match SpaApp::for_path(path) {
        SpaApp::User => None,
        app => Some(app.page()),
    }
}

/// Serves a file of the built frontend (SPA fallback is configured in wrangler.toml) and
/// adds the same security headers as the API. The fetched response's headers are
/// immutable, so the response is rebuilt around the same (streamed) body.
///
/// Navigations into the account, trading or admin app get that app's page (`account.html`,
/// `trading.html`, `admin.html`); every other extension-less path falls back to `index.html`
/// (the user app) through the SPA setting.
pub async fn serve_asset(env: &Env, req: Request, ctx: &RequestContext) -> Result<Response> {
    let assets = env.assets(bindings::ASSETS)?;
    let mut url = req.url()?;
    let fetched = if let Some(page) = app_page(url.path()) {
        url.set_path(page);
        url.set_query(None);
        let mut init = worker::RequestInit::new();
        init.with_method(req.method())
            .with_headers(req.headers().clone());
        let page = Request::new_with_init(url.as_str(), &init)?;
        assets.fetch_request(page).await?
    } else {
        assets.fetch_request(req).await?
    };
    let status = fetched.status_code();
    let mut plain: Headers = fetched.headers().entries().collect();
    cl_api::headers::apply_security_headers(&mut plain);
    plain.set("x-request-id", ctx.request_id.clone());
    let headers = worker::Headers::new();
    for (name, value) in plain.iter() {
        headers.append(name, value)?;
    }
    let (_, body) = fetched.into_parts();
    Ok(Response::builder()
        .with_status(status)
        .with_headers(headers)
        .body(body))
}
