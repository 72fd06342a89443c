//! The error tracker's intake (product.md §12): every 5xx answer becomes one occurrence in
//! `error_logs`, grouped by fingerprint (`cl_app::admin::request_error`: status class, route
//! template and the class of the internal cause — never the cause's details, a header or a
//! body).
//!
//! Only the D1 store records here: on the Postgres backend a 5xx is most often the database
//! itself failing, and a second connection per failed request would pile onto it; the access
//! log line keeps the failure there. A failure to record is logged and never changes the
//! response.

use crate::bindings;
use cl_api::config::StorageBackend;
use cl_api::context::RequestContext;
use cl_app::ports::admin::AdminStore;
use worker::Env;

/// Records one failed request (status ≥ 500).
pub(crate) async fn record(
    env: &Env,
    storage: StorageBackend,
    ctx: &RequestContext,
    route: &str,
    status: u16,
    cause: Option<&str>,
    now: i64,
) {
    if status < 500 || storage != StorageBackend::D1 {
        return;
    }
    let Ok(db) = env.d1(bindings::DB) else {
        return;
    };
    let occurrence = cl_app::admin::request_error(route, status, cause, &ctx.request_id, now);
    if let Err(e) = cl_store_d1::D1Store::new(db)
        .record_error(&occurrence)
        .await
    {
        tracing::warn!(target: "error_tracker", error = %e, "error occurrence not recorded");
    }
}
