//! The one place that opens a Postgres connection through Hyperdrive.

use crate::bindings;
use tokio_postgres::{Client, Connection};
use worker::{postgres_tls::PassthroughTls, Env, SecureTransport, Socket};

/// Why a Postgres round trip failed (kept coarse: the cause is logged, never returned).
#[derive(Debug)]
pub struct PgError(pub String);

/// Opens a connection through the Hyperdrive binding. The caller drives the returned
/// [`Connection`] alongside its work and drops the [`Client`] when done, so the connection
/// closes gracefully: a socket reset at the end of the request crashes local Hyperdrive
/// emulation, and wastes pooled connections in production.
///
/// # Errors
/// [`PgError`] when the binding is missing or the connection fails.
pub async fn open(env: &Env) -> Result<(Client, Connection<Socket, Socket>), PgError> {
    let hd = env
        .hyperdrive(bindings::HYPERDRIVE)
        .map_err(|e| PgError(e.to_string()))?;
    let config: tokio_postgres::Config = hd
        .connection_string()
        .parse()
        .map_err(|e| PgError(format!("{e}")))?;
    let socket = Socket::builder()
        .secure_transport(SecureTransport::StartTls)
        .connect(hd.host(), hd.port())
        .map_err(|e| PgError(e.to_string()))?;
    config
        .connect_raw(socket, PassthroughTls)
        .await
        .map_err(|e| PgError(format!("{e}")))
}

/// Connects, runs `SELECT 1`, and closes gracefully.
///
/// # Errors
/// [`PgError`] when any step fails.
pub async fn ping(env: &Env) -> Result<(), PgError> {
    let (client, connection) = open(env).await?;
    let work = async move {
        // simple_query: Hyperdrive without caching supports no prepared statements.
        let result = client.simple_query("SELECT 1").await;
        drop(client);
        result
    };
    let (result, conn_result) = futures_util::future::join(work, connection).await;
    result.map_err(|e| PgError(format!("{e}")))?;
    conn_result.map_err(|e| PgError(format!("{e}")))
}
