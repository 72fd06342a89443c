//! The first-row read every aggregate repeated (`rows(…)` then the first item): one
//! [`D1Store::opt_row`], the analogue of store-pg's `PgStore::opt`.

use crate::D1Store;
use cl_app::ports::StoreError;
use serde::de::DeserializeOwned;
use worker::D1PreparedStatement;

impl D1Store {
    /// Runs one statement and converts its rows (each must translate); the first, `None` when
    /// it returned none.
    pub(crate) async fn opt_row<R, T>(
        &self,
        table: &'static str,
        stmt: D1PreparedStatement,
        missing: &'static str,
    ) -> Result<Option<T>, StoreError>
    where
        R: DeserializeOwned,
        T: TryFrom<R, Error = StoreError>,
    {
        Ok(self
            .rows::<R, T>(table, stmt, missing)
            .await?
            .into_iter()
            .next())
    }
}
