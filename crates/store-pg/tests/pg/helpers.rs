//! Fresh, migrated schemas on the test database.

use cl_store_pg::tokio_postgres::Client;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};

/// `DATABASE_URL`, or `None` when `CL_SKIP_PG=1` asks to skip. Panics otherwise, so the
/// Postgres tests can never pass silently without a database.
pub fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CL_SKIP_PG").as_deref() == Ok("1") => None,
        _ => panic!(
            "DATABASE_URL is not set: run `export $(scripts/pg.sh start)` \
             (sets DATABASE_URL), or set CL_SKIP_PG=1 to skip the Postgres tests explicitly"
        ),
    }
}

/// Runs `f` on a current-thread tokio runtime.
pub fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A client whose `search_path` is a new, empty schema (not yet migrated). `None` = skip.
pub async fn fresh_client() -> Option<Client> {
    let url = database_url()?;
    let client = cl_store_pg::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL: {e}"));
    let schema = format!(
        "cl_t_{}_{}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    // Test-only DDL on a generated identifier; the stores themselves never format SQL.
    client
        .batch_execute(&format!(
            "CREATE SCHEMA {schema}; SET search_path TO {schema}"
        ))
        .await
        .expect("create test schema");
    Some(client)
}

/// A fresh schema with every migration applied. `None` = skip.
pub async fn migrated_client() -> Option<Client> {
    let client = fresh_client().await?;
    cl_store_pg::migrate(&client).await.expect("migrate");
    Some(client)
}
