//! The one place that opens a Postgres connection through Hyperdrive.

use crate::bindings;
use worker::{postgres_tls::PassthroughTls, Env, SecureTransport, Socket};

/// Why a Postgres round trip failed (kept coarse: the cause is logged, never returned).
#[derive(Debug)]
pub struct PgError(pub String);

/// Connects, runs `SELECT 1`, and closes gracefully. Closing matters: a socket reset at the
/// end of the request crashes local Hyperdrive emulation, and wastes pooled connections in
/// production.
pub async fn ping(env: &Env) -> Result<(), PgError> {
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
    let (client, connection) = config
        .connect_raw(socket, PassthroughTls)
        .await
        .map_err(|e| PgError(format!("{e}")))?;
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
