//! The matrix cache in KV (`matrix:v1`, 60 s expiry = the matrix TTL of product.md §3): the
//! adapter of `cl_app::jobs::matrix_cache::MatrixCache`. It only moves the app's cache text in
//! and out; KV's own expiry decides freshness (KV is eventually consistent across locations,
//! which the 60 s staleness budget already allows). Failures read as a miss and are logged.

use cl_app::jobs::matrix_cache::{CachedMatrix, MatrixCache};
use worker::kv::KvStore;

/// The KV key.
pub const MATRIX_KEY: &str = "matrix:v1";
/// KV's minimum expiry, which is also the matrix TTL.
const TTL_SECS: u64 = 60;

/// The cache over the KV binding (none: every read misses).
pub struct KvMatrixCache {
    kv: Option<KvStore>,
}

impl KvMatrixCache {
    /// Wraps the binding.
    pub fn new(kv: Option<KvStore>) -> Self {
        Self { kv }
    }
}

fn warn(what: &str, e: &worker::kv::KvError) {
    worker::console_warn!(
        "{}",
        serde_json::json!({"level": "warn", "event": "matrix_cache_failed", "op": what, "error": e.to_string()})
    );
}

impl MatrixCache for KvMatrixCache {
    async fn get(&self, _now_ms: i64) -> Option<CachedMatrix> {
        let kv = self.kv.as_ref()?;
        match kv.get(MATRIX_KEY).text().await {
            Ok(text) => CachedMatrix::from_text(&text?),
            Err(e) => {
                warn("get", &e);
                None
            }
        }
    }

    async fn put(&self, matrix: &CachedMatrix, _now_ms: i64) {
        let Some(kv) = self.kv.as_ref() else {
            return;
        };
        let put = match kv.put(MATRIX_KEY, matrix.to_text()) {
            Ok(put) => put.expiration_ttl(TTL_SECS).execute().await,
            Err(e) => Err(e),
        };
        if let Err(e) = put {
            warn("put", &e);
        }
    }
}
