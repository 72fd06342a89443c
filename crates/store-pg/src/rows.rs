//! Reading rows and keyset pages: the steps every aggregate repeats after a statement, written
//! once so each port method is just its SQL, its typed parameters and its row decoder.
//!
//! - [`PgStore::all`] / [`PgStore::opt`]: one statement, every row (or the first) decoded.
//! - [`returned`]: the row a `RETURNING` statement must answer; none is `Unavailable` (the
//!   server broke the statement's contract), never `NotFound`.
//! - [`PgStore::guarded_update`]: a conditional `UPDATE … WHERE id = $1 AND <guard>` that
//!   answers in the same statement whether it changed the row and whether the row exists.
//! - [`named`]: one column by name, a bad value `Corrupt` (with the row's `id` when it has one).
//! - [`Keyset`]: the bind values of a newest-first `(ts, id) < ($ts, $id)` page fetching
//!   `limit + 1` rows; `page_of` then cuts the extra row into the next cursor.

use crate::{Param, PgStore};
use cl_app::ports::{PageRequest, StoreError};
use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

/// A list's row limit as a bind value; 0 is `Invalid`.
pub(crate) fn limit_of(limit: u32) -> Result<i64, StoreError> {
    if limit == 0 {
        return Err(StoreError::Invalid("limit 0".into()));
    }
    Ok(i64::from(limit))
}

/// One column by name; a value that does not decode is `Corrupt` in `table`.
pub(crate) fn named<'r, V: FromSql<'r>>(
    row: &'r Row,
    table: &'static str,
    col: &str,
) -> Result<V, StoreError> {
    row.try_get(col)
        .map_err(|e| StoreError::corrupt(table, row.try_get::<_, i64>("id").ok(), e))
}

impl PgStore<'_> {
    /// Every row of one statement, each decoded by `f`.
    pub(crate) async fn all<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        f: impl Fn(&Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        self.query(sql, params).await?.iter().map(f).collect()
    }

    /// The first row of one statement decoded by `f`, `None` when there is none.
    pub(crate) async fn opt<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        f: impl Fn(&Row) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        self.query(sql, params).await?.first().map(f).transpose()
    }

    /// Runs `update` (an `UPDATE table … WHERE id = $1 AND <guard>`) and answers, in the same
    /// statement, whether it changed the row; `NotFound(what)` when no row `id = $1` exists.
    pub(crate) async fn guarded_update(
        &self,
        update: &str,
        table: &'static str,
        what: &'static str,
        params: &[Param<'_>],
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "WITH up AS ({update} RETURNING id) SELECT (SELECT count(*) FROM up) AS changed, \
             EXISTS (SELECT 1 FROM {table} WHERE id = $1) AS found"
        );
        let rows = self.query(&sql, params).await?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Unavailable("no answer".into()))?;
        let changed: i64 = named(row, table, "changed")?;
        let found: bool = named(row, table, "found")?;
        if !found {
            return Err(StoreError::NotFound(what));
        }
        Ok(changed > 0)
    }
}

/// The first row decoded by `f`; no row is [`StoreError::Unavailable`] with `what` (for
/// statements that always answer one row).
pub(crate) fn returned<T>(
    rows: &[Row],
    f: impl Fn(&Row) -> Result<T, StoreError>,
    what: &str,
) -> Result<T, StoreError> {
    rows.first()
        .map(f)
        .unwrap_or_else(|| Err(StoreError::Unavailable(what.into())))
}

/// The bind values of a newest-first keyset page: `ts`/`id` are NULL on the first page, and
/// `fetch` is one more than the page so the extra row proves a next page.
pub(crate) struct Keyset {
    pub(crate) ts: Option<i64>,
    pub(crate) id: Option<i64>,
    pub(crate) fetch: i64,
}

impl Keyset {
    pub(crate) fn of(page: PageRequest) -> Self {
        Self {
            ts: page.after.map(|c| c.ts),
            id: page.after.map(|c| c.id),
            fetch: i64::from(page.limit) + 1,
        }
    }
}
