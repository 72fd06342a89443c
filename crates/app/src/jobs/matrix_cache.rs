//! The matrix cache (product.md §3 `/matrix`, §4 pipeline step "refresh matrix cache"): the
//! pipeline stores the UNFILTERED matrix at the end of a run, and `GET /matrix` serves it
//! while it is fresh (≤ [`MATRIX_TTL_MS`]), else reads the store (one query) and refills the
//! cache. Per-caller tier filtering happens after reading, in the handler, so one cached copy
//! serves every tier.
//!
//! [`MatrixCache`] is the port: the worker keeps the text of [`CachedMatrix::to_text`] in KV
//! with a 60 s expiry; host tests use [`MemoryMatrixCache`]. The text format is versioned and
//! exact (f64 written in Rust's shortest round-trip form), so a cached read equals a store read.

use crate::ports::{MatrixCell, MatrixPattern, PatternId, PatternStore, StoreError, SymbolId};
use cl_domain::{Direction, PatternType, Timeframe, Zone};
use std::cell::RefCell;

/// How long a cached matrix may be served (ms).
pub const MATRIX_TTL_MS: i64 = 60_000;
const VERSION: &str = "matrix/v1";

/// A matrix as computed at `computed_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedMatrix {
    /// The store's matrix, unfiltered.
    pub cells: Vec<MatrixCell>,
    /// When it was read (UTC ms).
    pub computed_at: i64,
}

impl CachedMatrix {
    /// The cache text: a header line, then one tab-separated line per cell.
    pub fn to_text(&self) -> String {
        let mut out = format!("{VERSION}\t{}\n", self.computed_at);
        for c in &self.cells {
            let name = c.symbol_name.replace(['\t', '\n'], " ");
            out.push_str(&format!(
                "{}\t{name}\t{}\t{}",
                c.symbol.0,
                c.tf.as_str(),
                c.active_count
            ));
            if let Some(l) = c.latest {
                out.push_str(&format!(
                    "\t{}\t{}\t{}\t{}\t{}\t{}",
                    l.id.0,
                    l.pattern_type.as_str(),
                    l.direction.as_str(),
                    l.zone.low(),
                    l.zone.high(),
                    l.detected_at
                ));
            }
            out.push('\n');
        }
        out
    }

    /// Reads a cache text; `None` for anything malformed or of another version (the caller
    /// then reads the store).
    pub fn from_text(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        let (version, at) = lines.next()?.split_once('\t')?;
        if version != VERSION {
            return None;
        }
        let computed_at = at.parse().ok()?;
        let mut cells = Vec::new();
        for line in lines {
            let f: Vec<&str> = line.split('\t').collect();
            let latest = match f.len() {
                4 => None,
                10 => Some(MatrixPattern {
                    id: PatternId(f[4].parse().ok()?),
                    pattern_type: PatternType::parse(f[5]).ok()?,
                    direction: Direction::parse(f[6]).ok()?,
                    zone: Zone::new(f[7].parse().ok()?, f[8].parse().ok()?).ok()?,
                    detected_at: f[9].parse().ok()?,
                }),
                _ => return None,
            };
            cells.push(MatrixCell {
                symbol: SymbolId(f[0].parse().ok()?),
                symbol_name: f[1].to_owned(),
                tf: Timeframe::parse(f[2]).ok()?,
                active_count: f[3].parse().ok()?,
                latest,
            });
        }
        Some(Self { cells, computed_at })
    }
}

/// Where the matrix is cached.
#[allow(async_fn_in_trait)]
pub trait MatrixCache {
    /// The cached matrix if one was stored less than [`MATRIX_TTL_MS`] before `now_ms` (an
    /// adapter may enforce the expiry itself, e.g. by a KV TTL); cache failures read as a miss.
    async fn get(&self, now_ms: i64) -> Option<CachedMatrix>;

    /// Stores the matrix; failures are ignored (the next read falls back to the store).
    async fn put(&self, matrix: &CachedMatrix, now_ms: i64);
}

/// No cache: every read goes to the store.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMatrixCache;

impl MatrixCache for NoMatrixCache {
    async fn get(&self, _now_ms: i64) -> Option<CachedMatrix> {
        None
    }

    async fn put(&self, _matrix: &CachedMatrix, _now_ms: i64) {}
}

/// An in-memory cache (host tests, replays): stores the text, expires by `now_ms`.
#[derive(Debug, Default)]
pub struct MemoryMatrixCache {
    slot: RefCell<Option<(String, i64)>>,
}

impl MatrixCache for MemoryMatrixCache {
    async fn get(&self, now_ms: i64) -> Option<CachedMatrix> {
        let slot = self.slot.borrow();
        let (text, put_at) = slot.as_ref()?;
        if now_ms.saturating_sub(*put_at) >= MATRIX_TTL_MS || now_ms < *put_at {
            return None;
        }
        CachedMatrix::from_text(text)
    }

    async fn put(&self, matrix: &CachedMatrix, now_ms: i64) {
        self.slot.replace(Some((matrix.to_text(), now_ms)));
    }
}

/// The matrix for a read at `now_ms`: the cached copy while fresh, else ONE store query whose
/// result refills the cache. Unfiltered: the caller applies the tier.
///
/// # Errors
/// The store's error on a miss.
pub async fn matrix_cells<S, C>(
    store: &S,
    cache: &C,
    now_ms: i64,
) -> Result<Vec<MatrixCell>, StoreError>
where
    S: PatternStore,
    C: MatrixCache,
{
    if let Some(hit) = cache.get(now_ms).await {
        return Ok(hit.cells);
    }
    refresh_matrix(store, cache, now_ms).await
}

/// Reads the matrix from the store and caches it (the pipeline's last step).
///
/// # Errors
/// The store's error; nothing is cached then.
pub async fn refresh_matrix<S, C>(
    store: &S,
    cache: &C,
    now_ms: i64,
) -> Result<Vec<MatrixCell>, StoreError>
where
    S: PatternStore,
    C: MatrixCache,
{
    let cells = store.matrix().await?;
    let matrix = CachedMatrix {
        cells,
        computed_at: now_ms,
    };
    cache.put(&matrix, now_ms).await;
    Ok(matrix.cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(id: i64, tf: Timeframe, latest: bool) -> MatrixCell {
        MatrixCell {
            symbol: SymbolId(id),
            symbol_name: format!("S{id}/USDT"),
            tf,
            active_count: u32::from(latest) * 3,
            latest: latest.then(|| MatrixPattern {
                id: PatternId(77),
                pattern_type: PatternType::OrderBlock,
                direction: Direction::Bearish,
                zone: Zone::new(0.1 + 0.2, 1.0 / 3.0).unwrap_or_else(|_| unreachable!()),
                detected_at: 1_717_000_000_000,
            }),
        }
    }

    #[test]
    fn the_text_round_trips_exactly_and_rejects_garbage() {
        let m = CachedMatrix {
            cells: vec![cell(1, Timeframe::M5, true), cell(2, Timeframe::D1, false)],
            computed_at: 42,
        };
        assert_eq!(CachedMatrix::from_text(&m.to_text()), Some(m));
        assert_eq!(CachedMatrix::from_text("matrix/v0\t1\n"), None);
        assert_eq!(CachedMatrix::from_text("matrix/v1\t1\n1\tX\t5m\n"), None);
        assert_eq!(CachedMatrix::from_text(""), None);
    }

    #[test]
    fn the_memory_cache_expires_after_the_ttl() {
        futures_executor::block_on(async {
            let c = MemoryMatrixCache::default();
            let m = CachedMatrix {
                cells: vec![cell(1, Timeframe::H1, true)],
                computed_at: 1_000,
            };
            c.put(&m, 1_000).await;
            assert_eq!(c.get(1_000 + MATRIX_TTL_MS - 1).await, Some(m));
            assert_eq!(c.get(1_000 + MATRIX_TTL_MS).await, None);
            assert_eq!(c.get(999).await, None);
        });
    }
}
