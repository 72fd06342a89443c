//! The Postgres migration runner: applies `migrations/postgres/*.sql` (embedded at compile
//! time) in order, each in its own transaction together with its `schema_migrations` row, so
//! a run is idempotent and a failed migration leaves no trace.
//!
//! It uses the simple query protocol (a migration file holds many statements), so run it on
//! its own connection — from the CLI, a deploy step or a test — not on a Hyperdrive
//! connection that also serves requests (docs/storage.md).

use crate::map_err;
use cl_app::ports::StoreError;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Client;

/// One embedded migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Sortable version, the file's `NNNN` prefix.
    pub version: &'static str,
    /// The file's name after the prefix.
    pub name: &'static str,
    /// The SQL.
    pub sql: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!(
                "../../../migrations/postgres/",
                $version,
                "_",
                $name,
                ".sql"
            )),
        }
    };
}

/// Every Postgres migration, in order. The D1 files in `migrations/` mirror them one to one.
pub const MIGRATIONS: &[Migration] = &[
    migration!("0001", "core"),
    migration!("0002", "billing"),
    migration!("0003", "market"),
    migration!("0004", "trading"),
    migration!("0005", "notifications"),
    migration!("0006", "ops"),
    migration!("0007", "seed"),
    migration!("0008", "billing_updated_at"),
    migration!("0009", "cron_lease"),
    migration!("0010", "pattern_list"),
    migration!("0011", "run_queue"),
    migration!("0012", "broadcast_deliveries"),
    migration!("0013", "signal_broadcasts"),
];

/// Serialises concurrent runners (any constant unique to this project).
const LOCK_KEY: i64 = 0x636c_5f6d_6967; // "cl_mig"

/// Applies the migrations not applied yet, in order; returns the versions it applied.
///
/// # Errors
/// [`StoreError::Unavailable`] when a statement fails (that migration is rolled back; the
/// ones before it stay applied).
pub async fn migrate(client: &Client) -> Result<Vec<&'static str>, StoreError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    TEXT PRIMARY KEY,
                 name       TEXT NOT NULL,
                 applied_at BIGINT NOT NULL
             )",
        )
        .await
        .map_err(map_err)?;
    let lock: [(&(dyn ToSql + Sync), Type); 1] = [(&LOCK_KEY, Type::INT8)];
    client
        .query_typed("SELECT pg_advisory_lock($1)", &lock)
        .await
        .map_err(map_err)?;
    let result = apply_pending(client).await;
    let unlock = client
        .query_typed("SELECT pg_advisory_unlock($1)", &lock)
        .await
        .map_err(map_err);
    let applied = result?;
    unlock?;
    Ok(applied)
}

async fn apply_pending(client: &Client) -> Result<Vec<&'static str>, StoreError> {
    let rows = client
        .query_typed("SELECT version FROM schema_migrations", &[])
        .await
        .map_err(map_err)?;
    let mut done = Vec::with_capacity(rows.len());
    for row in &rows {
        let v: String = row
            .try_get(0)
            .map_err(|e| StoreError::corrupt("schema_migrations", None, e))?;
        done.push(v);
    }
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        if done.iter().any(|v| v == m.version) {
            continue;
        }
        client.batch_execute("BEGIN").await.map_err(map_err)?;
        let step = async {
            client.batch_execute(m.sql).await.map_err(|e| {
                StoreError::Unavailable(format!("migration {}_{}: {e}", m.version, m.name))
            })?;
            client
                .query_typed(
                    "INSERT INTO schema_migrations (version, name, applied_at)
                     VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
                    &[(&m.version, Type::TEXT), (&m.name, Type::TEXT)],
                )
                .await
                .map_err(map_err)?;
            Ok::<(), StoreError>(())
        }
        .await;
        match step {
            Ok(()) => client.batch_execute("COMMIT").await.map_err(map_err)?,
            Err(e) => {
                // Best effort: the error that matters is the migration's.
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(e);
            }
        }
        applied.push(m.version);
    }
    Ok(applied)
}
