//! `GET /api/v1/metrics`: the Prometheus text of [`cl_app::metrics`], from the store's one
//! snapshot query, every isolate's flushed request counters and the breaker states.
//! Admin-only (the route table says so; the gate has already run).

use crate::error::ApiError;
use crate::health::DependencyProbes;
use crate::http::Response;
use cl_app::metrics::{render, MetricsStore, RequestMetrics};

/// The exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders the metrics.
///
/// # Errors
/// The store's failure (→ 503 through the one error mapping).
pub async fn serve<S: MetricsStore, P: DependencyProbes>(
    store: &S,
    probes: &P,
) -> Result<Response, ApiError> {
    let stored = store.metrics_snapshot().await?;
    let mut requests = RequestMetrics::default();
    for isolate in probes.request_metrics().await {
        requests.merge(&isolate);
    }
    let breakers = probes.breakers().await;
    let text = render(&requests, &stored, &breakers);
    let mut resp = Response::empty(200);
    resp.headers.set("content-type", CONTENT_TYPE);
    resp.body = text.into_bytes();
    Ok(resp)
}
