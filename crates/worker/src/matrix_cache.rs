//! The matrix cache in KV (`matrix:v1`, 60 s expiry = the matrix TTL of product.md §3): the
//! adapter of `cl_app::jobs::matrix_cache::MatrixCache`. It only moves the app's cache text in
//! and out; KV's own expiry decides freshness (KV is eventually consistent across locations,
//! which the 60 s staleness budget already allows). Failures read as a miss and are logged.
//!
//! Each isolate also keeps the last matrix it read or wrote in memory for [`MEMORY_MS`]
//! (never past the copy's own 60 s), so a busy isolate reads KV at most once per interval
//! instead of once per request: the copy can be that much older than KV's, well inside the
//! budget. Only the unfiltered market data is kept; who may see what is still decided per
//! request.

use cl_app::jobs::matrix_cache::{CachedMatrix, MatrixCache, MATRIX_TTL_MS};
use std::cell::RefCell;
use worker::kv::KvStore;

/// How long an isolate serves its in-memory copy before it reads KV again (ms).
pub const MEMORY_MS: i64 = 5_000;

thread_local! {
    /// The last matrix seen by this isolate and when it was read from (or written to) KV.
    static MEMORY: RefCell<Option<(i64, CachedMatrix)>> = const { RefCell::new(None) };
}

/// The in-memory copy when it is fresh enough at `now_ms`.
fn remembered(now_ms: i64) -> Option<CachedMatrix> {
    MEMORY.with(|m| {
        let m = m.borrow();
        let (read_at, matrix) = m.as_ref()?;
        let age = now_ms.saturating_sub(*read_at);
        let fresh = (0..MEMORY_MS).contains(&age)
            && now_ms.saturating_sub(matrix.computed_at) < MATRIX_TTL_MS;
        fresh.then(|| matrix.clone())
    })
}

fn remember(now_ms: i64, matrix: &CachedMatrix) {
    MEMORY.with(|m| *m.borrow_mut() = Some((now_ms, matrix.clone())));
}

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
    async fn get(&self, now_ms: i64) -> Option<CachedMatrix> {
        if let Some(hit) = remembered(now_ms) {
            return Some(hit);
        }
        let kv = self.kv.as_ref()?;
        match kv.get(MATRIX_KEY).text().await {
            Ok(text) => {
                let matrix = CachedMatrix::from_text(&text?)?;
                remember(now_ms, &matrix);
                Some(matrix)
            }
            Err(e) => {
                warn("get", &e);
                None
            }
        }
    }

    async fn put(&self, matrix: &CachedMatrix, now_ms: i64) {
        let Some(kv) = self.kv.as_ref() else {
            return;
        };
        remember(now_ms, matrix);
        let put = match kv.put(MATRIX_KEY, matrix.to_text()) {
            Ok(put) => put.expiration_ttl(TTL_SECS).execute().await,
            Err(e) => Err(e),
        };
        if let Err(e) = put {
            warn("put", &e);
        }
    }
}
