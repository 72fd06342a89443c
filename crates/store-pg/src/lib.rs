//! # cl-store-pg
//!
//! Storage adapter over tokio-postgres (native tests, Hyperdrive in the worker).
//!
//! Design (docs/storage.md):
//! - [`PgStore`] borrows a `tokio_postgres::Client` that someone else connected: the worker
//!   builds it from a Hyperdrive socket in one function it owns; native code and tests use
//!   [`connect`] (feature `native`). The crate never connects by itself otherwise.
//! - Every statement goes through `Client::query_typed`: one unnamed statement per call
//!   (Parse/Bind/Execute in a single round trip), parameters typed explicitly, never a named
//!   prepared statement — the mode Hyperdrive supports with and without caching. The
//!   extended protocol is the only one used on a request connection (mixing in the simple
//!   protocol is what breaks Hyperdrive connections, workers-sdk#13797).
//! - One statement per port call wherever SQL allows (`unnest` batches, CTEs, guarded
//!   inserts), which is atomic by itself; the rest runs in an explicit transaction
//!   ([`PgStore`] serialises its statements so a transaction never interleaves with another
//!   call on the same connection).
//! - A statement counter ([`PgStore::statements`]) lets tests prove round-trip counts (the
//!   matrix is exactly one).
//! - Driver errors become [`StoreError`]s: unique violations → `Conflict` (named key), foreign
//!   keys → `NotFound`, check/not-null → `Invalid`, everything else → `Unavailable`.

mod admin;
mod backtests;
mod cron;
mod exchange_credentials;
mod gate;
mod maintenance;
pub mod metrics;
pub mod migrate;
mod patterns;
mod rows;
mod sql;
mod stats;

mod api_keys;
mod billing;
mod broadcast_delivery;
mod notification_admin;
mod notifications;
mod optimization;
mod portfolio;
mod run_queue;

use cl_app::ports::{
    exact_int, CandleStore, Cursor, HealthProbe, KeyWindow, MatrixCell, MatrixPattern, NewPattern,
    NewSignal, NewSymbol, Page, PageRequest, PatternId, PatternStore, SignalFilter, SignalId,
    SignalStatus, SignalStore, StatusUpdate, StoreError, StoredPattern, StoredPatternKey,
    StoredSignal, StoredSymbol, SymbolId, SymbolStore, TradeLevels,
};
use cl_domain::{Candle, Direction, PatternStatus, PatternType, Timeframe, Zone};
use futures_util::lock::{Mutex, MutexGuard};
use std::cell::Cell;
use std::collections::HashMap;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, ToSql, Type};
use tokio_postgres::{Client, Row};

pub use migrate::{migrate, Migration, MIGRATIONS};
pub use tokio_postgres;

/// One typed parameter of `query_typed`.
type Param<'a> = (&'a (dyn ToSql + Sync), Type);

/// Connects over TCP without TLS (tests, local tools) and drives the connection on the
/// current tokio runtime.
///
/// # Errors
/// [`StoreError::Unavailable`] when the server cannot be reached or refuses the login.
#[cfg(feature = "native")]
pub async fn connect(url: &str) -> Result<Client, StoreError> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(map_err)?;
    tokio::spawn(async move {
        // The connection ends when the Client is dropped; an I/O error surfaces on the
        // Client's next call as well, so nothing is lost by ignoring it here.
        let _ = connection.await;
    });
    Ok(client)
}

/// The Postgres store over a borrowed, already connected client.
pub struct PgStore<'c> {
    client: &'c Client,
    gate: Mutex<()>,
    statements: Cell<u64>,
    /// A transaction was dropped unfinished: roll it back before the next statement.
    needs_rollback: Cell<bool>,
}

impl std::fmt::Debug for PgStore<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("statements", &self.statements.get())
            .finish_non_exhaustive()
    }
}

/// An open transaction holding the store's gate; finish it with [`Tx::commit`] or
/// [`Tx::rollback`]. Dropped unfinished, it is rolled back before the store's next statement.
struct Tx<'s, 'c> {
    store: &'s PgStore<'c>,
    _guard: MutexGuard<'s, ()>,
    done: bool,
}

impl Tx<'_, '_> {
    async fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
        self.store.raw(sql, params).await
    }

    async fn commit(mut self) -> Result<(), StoreError> {
        self.done = true;
        match self.store.raw("COMMIT", &[]).await {
            Ok(_) => Ok(()),
            Err(e) => {
                self.store.needs_rollback.set(true);
                Err(e)
            }
        }
    }

    async fn rollback(mut self) {
        self.done = true;
        if self.store.raw("ROLLBACK", &[]).await.is_err() {
            self.store.needs_rollback.set(true);
        }
    }
}

impl Drop for Tx<'_, '_> {
    fn drop(&mut self) {
        if !self.done {
            self.store.needs_rollback.set(true);
        }
    }
}

impl<'c> PgStore<'c> {
    /// Wraps a connected client. The schema must be migrated ([`migrate`]).
    pub fn new(client: &'c Client) -> Self {
        Self {
            client,
            gate: Mutex::new(()),
            statements: Cell::new(0),
            needs_rollback: Cell::new(false),
        }
    }

    /// How many statements this store has sent (round trips), for tests and metrics.
    pub fn statements(&self) -> u64 {
        self.statements.get()
    }

    async fn raw(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
        self.statements.set(self.statements.get() + 1);
        self.client.query_typed(sql, params).await.map_err(map_err)
    }

    async fn lock(&self) -> Result<MutexGuard<'_, ()>, StoreError> {
        let guard = self.gate.lock().await;
        if self.needs_rollback.get() {
            self.raw("ROLLBACK", &[]).await?;
            self.needs_rollback.set(false);
        }
        Ok(guard)
    }

    /// One statement, outside any transaction (atomic by itself).
    async fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
        let _guard = self.lock().await?;
        self.raw(sql, params).await
    }

    async fn begin(&self) -> Result<Tx<'_, 'c>, StoreError> {
        let guard = self.lock().await?;
        self.raw("BEGIN", &[]).await?;
        Ok(Tx {
            store: self,
            _guard: guard,
            done: false,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Errors and row decoding
// ---------------------------------------------------------------------------------------------

/// Maps a driver error onto [`StoreError`].
pub(crate) fn map_err(e: tokio_postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error() else {
        return StoreError::Unavailable(e.to_string());
    };
    let constraint = db.constraint().unwrap_or("");
    let code = db.code();
    if *code == SqlState::UNIQUE_VIOLATION {
        StoreError::Conflict(unique_key(constraint))
    } else if *code == SqlState::FOREIGN_KEY_VIOLATION {
        StoreError::NotFound(referenced(constraint))
    } else if *code == SqlState::CHECK_VIOLATION
        || *code == SqlState::NOT_NULL_VIOLATION
        || *code == SqlState::NUMERIC_VALUE_OUT_OF_RANGE
    {
        StoreError::Invalid(format!("{constraint}: {}", db.message()))
    } else {
        StoreError::Unavailable(format!("{}: {}", code.code(), db.message()))
    }
}

/// The stable name of a unique key, from its index name in the migrations.
fn unique_key(constraint: &str) -> &'static str {
    match constraint {
        "symbols_symbol_uq" => "symbols.symbol",
        "patterns_key_uq" => "patterns.key",
        "users_email_uq" => "users.email",
        "users_username_lower_uq" => "users.username",
        "users_ntfy_topic_uq" => "users.ntfy_topic",
        "auth_tokens_hash_uq" => "auth_tokens.token_hash",
        "api_keys_prefix_uq" => "api_keys.prefix",
        "api_keys_hmac_uq" => "api_keys.key_hmac",
        "tags_user_name_uq" => "tags.name",
        "user_notifications_uq" => "user_notifications.key",
        "known_gaps_uq" => "known_gaps.key",
        "candles_pkey" => "candles.key",
        _ => "unique key",
    }
}

/// What a foreign key points at, from its default constraint name `<table>_<col>_fkey`.
fn referenced(constraint: &str) -> &'static str {
    if constraint.contains("_symbol_id_") {
        "symbol"
    } else if constraint.contains("_pattern_id_") {
        "pattern"
    } else if constraint.contains("_signal_id_") {
        "signal"
    } else if constraint.contains("_user_id_") {
        "user"
    } else {
        "referenced row"
    }
}

fn get<'r, T: FromSql<'r>>(row: &'r Row, idx: usize, table: &'static str) -> Result<T, StoreError> {
    row.try_get(idx)
        .map_err(|e| StoreError::corrupt(table, row.try_get::<_, i64>(0).ok(), e))
}

fn parse<T, E: std::fmt::Display>(
    r: Result<T, E>,
    table: &'static str,
    id: Option<i64>,
) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::corrupt(table, id, e))
}

fn count(rows: &[Row]) -> u64 {
    u64::try_from(rows.len()).unwrap_or(u64::MAX)
}

fn symbol_row(row: &Row) -> Result<StoredSymbol, StoreError> {
    const T: &str = "symbols";
    Ok(StoredSymbol {
        id: SymbolId(get(row, 0, T)?),
        symbol: get(row, 1, T)?,
        exchange: get(row, 2, T)?,
        is_active: get(row, 3, T)?,
        notify_enabled: get(row, 4, T)?,
        fetch_start_ms: get(row, 5, T)?,
        created_at: get(row, 6, T)?,
    })
}

fn candle_row(row: &Row) -> Result<Candle, StoreError> {
    const T: &str = "candles";
    let ts: i64 = get(row, 0, T)?;
    parse(
        Candle::new(
            ts,
            get(row, 1, T)?,
            get(row, 2, T)?,
            get(row, 3, T)?,
            get(row, 4, T)?,
            get(row, 5, T)?,
        ),
        T,
        Some(ts),
    )
}

fn pattern_row(row: &Row) -> Result<StoredPattern, StoreError> {
    const T: &str = "patterns";
    let id: i64 = get(row, 0, T)?;
    let tf: &str = get(row, 2, T)?;
    let ty: &str = get(row, 3, T)?;
    let dir: &str = get(row, 4, T)?;
    let status: &str = get(row, 10, T)?;
    Ok(StoredPattern {
        id: PatternId(id),
        symbol: SymbolId(get(row, 1, T)?),
        tf: parse(Timeframe::parse(tf), T, Some(id))?,
        pattern_type: parse(PatternType::parse(ty), T, Some(id))?,
        direction: parse(Direction::parse(dir), T, Some(id))?,
        zone: parse(Zone::new(get(row, 5, T)?, get(row, 6, T)?), T, Some(id))?,
        swept_level: get(row, 7, T)?,
        detected_at: get(row, 8, T)?,
        expires_at: get(row, 9, T)?,
        status: parse(PatternStatus::parse(status), T, Some(id))?,
        filled_at: get(row, 11, T)?,
        fill_pct: get(row, 12, T)?,
        levels: TradeLevels {
            entry: get(row, 13, T)?,
            stop_loss: get(row, 14, T)?,
            tp1: get(row, 15, T)?,
            tp2: get(row, 16, T)?,
            tp3: get(row, 17, T)?,
            risk: get(row, 18, T)?,
            rr1: get(row, 19, T)?,
            rr2: get(row, 20, T)?,
            rr3: get(row, 21, T)?,
        },
        created_at: get(row, 22, T)?,
    })
}

fn signal_row(row: &Row) -> Result<StoredSignal, StoreError> {
    const T: &str = "signals";
    let id: i64 = get(row, 0, T)?;
    let side: &str = get(row, 2, T)?;
    let score: i64 = get(row, 9, T)?;
    let tfs: &str = get(row, 10, T)?;
    let status: &str = get(row, 12, T)?;
    Ok(StoredSignal {
        id: SignalId(id),
        symbol: SymbolId(get(row, 1, T)?),
        direction: parse(cl_app::ports::parse_side(side), T, Some(id))?,
        entry: get(row, 3, T)?,
        stop_loss: get(row, 4, T)?,
        tp1: get(row, 5, T)?,
        tp2: get(row, 6, T)?,
        tp3: get(row, 7, T)?,
        risk_reward: get(row, 8, T)?,
        confluence_score: parse(u8::try_from(score), T, Some(id))?,
        timeframes_aligned: parse(cl_app::ports::split_timeframes(tfs), T, Some(id))?,
        pattern_id: get::<Option<i64>>(row, 11, T)?.map(PatternId),
        status: parse(SignalStatus::parse(status), T, Some(id))?,
        created_at: get(row, 13, T)?,
        notified_at: get(row, 14, T)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

impl SymbolStore for PgStore<'_> {
    async fn add_symbol(&self, new: &NewSymbol) -> Result<StoredSymbol, StoreError> {
        new.validate()?;
        let rows = self
            .query(
                sql::INSERT_SYMBOL,
                &[
                    (&new.symbol, Type::TEXT),
                    (&new.exchange, Type::TEXT),
                    (&new.is_active, Type::BOOL),
                    (&new.notify_enabled, Type::BOOL),
                    (&new.fetch_start_ms, Type::INT8),
                    (&new.created_at, Type::INT8),
                ],
            )
            .await?;
        rows.first()
            .map(symbol_row)
            .unwrap_or(Err(StoreError::Unavailable(
                "insert returned no row".into(),
            )))
    }

    async fn symbol_by_name(&self, symbol: &str) -> Result<Option<StoredSymbol>, StoreError> {
        let rows = self
            .query(sql::SYMBOL_BY_NAME, &[(&symbol, Type::TEXT)])
            .await?;
        rows.first().map(symbol_row).transpose()
    }

    async fn list_symbols(&self, active_only: bool) -> Result<Vec<StoredSymbol>, StoreError> {
        let rows = self
            .query(sql::LIST_SYMBOLS, &[(&active_only, Type::BOOL)])
            .await?;
        rows.iter().map(symbol_row).collect()
    }

    async fn set_symbol_active(&self, id: SymbolId, active: bool) -> Result<(), StoreError> {
        let rows = self
            .query(
                sql::SET_SYMBOL_ACTIVE,
                &[(&id.0, Type::INT8), (&active, Type::BOOL)],
            )
            .await?;
        if rows.is_empty() {
            Err(StoreError::NotFound("symbol"))
        } else {
            Ok(())
        }
    }
}

impl CandleStore for PgStore<'_> {
    async fn upsert_candles(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        candles: &[Candle],
    ) -> Result<u64, StoreError> {
        if candles.is_empty() {
            return Ok(0);
        }
        let mut ts = Vec::with_capacity(candles.len());
        let (mut o, mut h, mut l, mut c, mut v) = (
            Vec::with_capacity(candles.len()),
            Vec::with_capacity(candles.len()),
            Vec::with_capacity(candles.len()),
            Vec::with_capacity(candles.len()),
            Vec::with_capacity(candles.len()),
        );
        for k in candles {
            ts.push(exact_int("candle ts", k.ts())?);
            o.push(k.open());
            h.push(k.high());
            l.push(k.low());
            c.push(k.close());
            v.push(k.volume());
        }
        let tf = tf.as_str();
        let rows = self
            .query(
                sql::UPSERT_CANDLES,
                &[
                    (&symbol.0, Type::INT8),
                    (&tf, Type::TEXT),
                    (&ts, Type::INT8_ARRAY),
                    (&o, Type::FLOAT8_ARRAY),
                    (&h, Type::FLOAT8_ARRAY),
                    (&l, Type::FLOAT8_ARRAY),
                    (&c, Type::FLOAT8_ARRAY),
                    (&v, Type::FLOAT8_ARRAY),
                ],
            )
            .await?;
        let inserted: i64 = match rows.first() {
            Some(row) => get(row, 0, "candles")?,
            None => 0,
        };
        Ok(u64::try_from(inserted).unwrap_or(0))
    }

    async fn last_candles(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        n: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        let (tf, n) = (tf.as_str(), i64::from(n));
        let rows = self
            .query(
                sql::LAST_CANDLES,
                &[(&symbol.0, Type::INT8), (&tf, Type::TEXT), (&n, Type::INT8)],
            )
            .await?;
        rows.iter().map(candle_row).collect()
    }

    async fn last_candles_many(
        &self,
        symbol: SymbolId,
        wants: &[(Timeframe, u32)],
    ) -> Result<Vec<Vec<Candle>>, StoreError> {
        cl_app::ports::check_series_per_read(wants.len())?;
        let mut out: Vec<Vec<Candle>> = vec![Vec::new(); wants.len()];
        if wants.is_empty() {
            return Ok(out);
        }
        let tfs: Vec<&str> = wants.iter().map(|(tf, _)| tf.as_str()).collect();
        let ns: Vec<i64> = wants.iter().map(|&(_, n)| i64::from(n)).collect();
        let rows = self
            .query(
                sql::LAST_CANDLES_MANY,
                &[
                    (&symbol.0, Type::INT8),
                    (&tfs, Type::TEXT_ARRAY),
                    (&ns, Type::INT8_ARRAY),
                ],
            )
            .await?;
        for row in &rows {
            let k: i64 = get(row, 6, "candles")?;
            let slot = usize::try_from(k - 1)
                .ok()
                .and_then(|i| out.get_mut(i))
                .ok_or_else(|| StoreError::corrupt("candles", None, "series index out of range"))?;
            slot.push(candle_row(row)?);
        }
        Ok(out)
    }

    async fn last_candle_ts(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
    ) -> Result<Option<i64>, StoreError> {
        let tf = tf.as_str();
        let rows = self
            .query(
                sql::LAST_CANDLE_TS,
                &[(&symbol.0, Type::INT8), (&tf, Type::TEXT)],
            )
            .await?;
        match rows.first() {
            Some(row) => get(row, 0, "candles"),
            None => Ok(None),
        }
    }

    async fn candles_in_range(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        from: i64,
        to: i64,
        limit: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        let (tf, limit) = (tf.as_str(), i64::from(limit));
        let rows = self
            .query(
                sql::CANDLES_IN_RANGE,
                &[
                    (&symbol.0, Type::INT8),
                    (&tf, Type::TEXT),
                    (&from, Type::INT8),
                    (&to, Type::INT8),
                    (&limit, Type::INT8),
                ],
            )
            .await?;
        rows.iter().map(candle_row).collect()
    }

    async fn candles_before(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        before: i64,
        limit: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        let (tf, limit) = (tf.as_str(), i64::from(limit));
        let rows = self
            .query(
                sql::CANDLES_BEFORE,
                &[
                    (&symbol.0, Type::INT8),
                    (&tf, Type::TEXT),
                    (&before, Type::INT8),
                    (&limit, Type::INT8),
                ],
            )
            .await?;
        rows.iter().map(candle_row).collect()
    }
}

impl PatternStore for PgStore<'_> {
    async fn insert_pattern(&self, new: &NewPattern) -> Result<Option<PatternId>, StoreError> {
        Ok(self
            .insert_patterns(std::slice::from_ref(new))
            .await?
            .into_iter()
            .next()
            .flatten())
    }

    async fn insert_patterns(
        &self,
        new: &[NewPattern],
    ) -> Result<Vec<Option<PatternId>>, StoreError> {
        if new.is_empty() {
            return Ok(Vec::new());
        }
        for p in new {
            p.validate()?;
        }
        // ONE statement (atomic by itself), whatever the number of patterns.
        let col = |f: fn(&NewPattern) -> f64| new.iter().map(f).collect::<Vec<f64>>();
        let sym: Vec<i64> = new.iter().map(|p| p.symbol.0).collect();
        let tf: Vec<&str> = new.iter().map(|p| p.tf.as_str()).collect();
        let ty: Vec<&str> = new.iter().map(|p| p.pattern_type.as_str()).collect();
        let dir: Vec<&str> = new.iter().map(|p| p.direction.as_str()).collect();
        let swept: Vec<Option<f64>> = new.iter().map(|p| p.swept_level).collect();
        let detected: Vec<i64> = new.iter().map(|p| p.detected_at).collect();
        let expires: Vec<i64> = new.iter().map(|p| p.expires_at).collect();
        let created: Vec<i64> = new.iter().map(|p| p.created_at).collect();
        let (zl, zh) = (col(|p| p.zone.low()), col(|p| p.zone.high()));
        let (entry, sl) = (col(|p| p.levels.entry), col(|p| p.levels.stop_loss));
        let (tp1, tp2, tp3) = (
            col(|p| p.levels.tp1),
            col(|p| p.levels.tp2),
            col(|p| p.levels.tp3),
        );
        let (risk, rr1, rr2, rr3) = (
            col(|p| p.levels.risk),
            col(|p| p.levels.rr1),
            col(|p| p.levels.rr2),
            col(|p| p.levels.rr3),
        );
        let rows = self
            .query(
                sql::INSERT_PATTERNS,
                &[
                    (&sym, Type::INT8_ARRAY),
                    (&tf, Type::TEXT_ARRAY),
                    (&ty, Type::TEXT_ARRAY),
                    (&dir, Type::TEXT_ARRAY),
                    (&zl, Type::FLOAT8_ARRAY),
                    (&zh, Type::FLOAT8_ARRAY),
                    (&swept, Type::FLOAT8_ARRAY),
                    (&detected, Type::INT8_ARRAY),
                    (&expires, Type::INT8_ARRAY),
                    (&entry, Type::FLOAT8_ARRAY),
                    (&sl, Type::FLOAT8_ARRAY),
                    (&tp1, Type::FLOAT8_ARRAY),
                    (&tp2, Type::FLOAT8_ARRAY),
                    (&tp3, Type::FLOAT8_ARRAY),
                    (&risk, Type::FLOAT8_ARRAY),
                    (&rr1, Type::FLOAT8_ARRAY),
                    (&rr2, Type::FLOAT8_ARRAY),
                    (&rr3, Type::FLOAT8_ARRAY),
                    (&created, Type::INT8_ARRAY),
                ],
            )
            .await?;
        const T: &str = "patterns";
        let mut ids: HashMap<(i64, StoredPatternKey), PatternId> = HashMap::new();
        for row in &rows {
            let (tf, ty, dir): (&str, &str, &str) =
                (get(row, 2, T)?, get(row, 3, T)?, get(row, 4, T)?);
            let key = StoredPatternKey {
                tf: parse(Timeframe::parse(tf), T, None)?,
                pattern_type: parse(PatternType::parse(ty), T, None)?,
                direction: parse(Direction::parse(dir), T, None)?,
                detected_at: get(row, 5, T)?,
            };
            ids.insert((get(row, 1, T)?, key), PatternId(get(row, 0, T)?));
        }
        // The first input of a new key gets its id; a key that existed or came earlier in
        // the batch gets `None`, as `insert_pattern` one at a time would.
        Ok(new
            .iter()
            .map(|p| {
                let key = StoredPatternKey {
                    tf: p.tf,
                    pattern_type: p.pattern_type,
                    direction: p.direction,
                    detected_at: p.detected_at,
                };
                ids.remove(&(p.symbol.0, key))
            })
            .collect())
    }

    async fn pattern(&self, id: PatternId) -> Result<Option<StoredPattern>, StoreError> {
        let rows = self
            .query(sql::PATTERN_BY_ID, &[(&id.0, Type::INT8)])
            .await?;
        rows.first().map(pattern_row).transpose()
    }

    async fn active_patterns(
        &self,
        symbol: SymbolId,
        tf: Option<Timeframe>,
    ) -> Result<Vec<StoredPattern>, StoreError> {
        let tf = tf.map(Timeframe::as_str);
        let rows = self
            .query(
                sql::ACTIVE_PATTERNS,
                &[(&symbol.0, Type::INT8), (&tf, Type::TEXT)],
            )
            .await?;
        rows.iter().map(pattern_row).collect()
    }

    async fn update_statuses(&self, updates: &[StatusUpdate]) -> Result<u64, StoreError> {
        if updates.is_empty() {
            return Ok(0);
        }
        StatusUpdate::validate_batch(updates)?;
        let ids: Vec<i64> = updates.iter().map(|u| u.id.0).collect();
        let statuses: Vec<&str> = updates.iter().map(|u| u.status.as_str()).collect();
        let fills: Vec<f64> = updates.iter().map(|u| u.fill_pct).collect();
        let filled_at: Vec<Option<i64>> = updates.iter().map(|u| u.filled_at).collect();
        let rows = self
            .query(
                sql::UPDATE_STATUSES,
                &[
                    (&ids, Type::INT8_ARRAY),
                    (&statuses, Type::TEXT_ARRAY),
                    (&fills, Type::FLOAT8_ARRAY),
                    (&filled_at, Type::INT8_ARRAY),
                ],
            )
            .await?;
        Ok(count(&rows))
    }

    async fn expire_patterns(&self, symbol: SymbolId, now: i64) -> Result<u64, StoreError> {
        let rows = self
            .query(
                sql::EXPIRE_PATTERNS,
                &[(&symbol.0, Type::INT8), (&now, Type::INT8)],
            )
            .await?;
        Ok(count(&rows))
    }

    async fn pattern_keys(
        &self,
        symbol: SymbolId,
        windows: &[KeyWindow],
    ) -> Result<Vec<StoredPatternKey>, StoreError> {
        const T: &str = "patterns";
        if windows.is_empty() {
            return Ok(Vec::new());
        }
        let tfs: Vec<&str> = windows.iter().map(|w| w.tf.as_str()).collect();
        let from: Vec<i64> = windows
            .iter()
            .map(|w| exact_int("window start", w.from))
            .collect::<Result<_, _>>()?;
        let rows = self
            .query(
                sql::PATTERN_KEYS,
                &[
                    (&symbol.0, Type::INT8),
                    (&tfs, Type::TEXT_ARRAY),
                    (&from, Type::INT8_ARRAY),
                ],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let (tf, ty, dir): (&str, &str, &str) =
                    (get(row, 0, T)?, get(row, 1, T)?, get(row, 2, T)?);
                Ok(StoredPatternKey {
                    tf: parse(Timeframe::parse(tf), T, None)?,
                    pattern_type: parse(PatternType::parse(ty), T, None)?,
                    direction: parse(Direction::parse(dir), T, None)?,
                    detected_at: get(row, 3, T)?,
                })
            })
            .collect()
    }

    async fn list_patterns(
        &self,
        filter: &cl_app::ports::PatternFilter,
        page: PageRequest,
    ) -> Result<Page<StoredPattern>, StoreError> {
        self.list_patterns_page(filter, page).await
    }

    async fn matrix(&self) -> Result<Vec<MatrixCell>, StoreError> {
        const T: &str = "patterns";
        let rows = self.query(sql::MATRIX, &[]).await?;
        let mut cells = Vec::with_capacity(rows.len());
        for row in &rows {
            let symbol = SymbolId(get(row, 0, T)?);
            let tf: &str = get(row, 2, T)?;
            let tf = parse(Timeframe::parse(tf), T, None)?;
            let active_count: i64 = get(row, 9, T)?;
            let latest = match get::<Option<i64>>(row, 3, T)? {
                None => None,
                Some(id) => {
                    let ty: &str = get(row, 4, T)?;
                    let dir: &str = get(row, 5, T)?;
                    Some(MatrixPattern {
                        id: PatternId(id),
                        pattern_type: parse(PatternType::parse(ty), T, Some(id))?,
                        direction: parse(Direction::parse(dir), T, Some(id))?,
                        zone: parse(Zone::new(get(row, 6, T)?, get(row, 7, T)?), T, Some(id))?,
                        detected_at: get(row, 8, T)?,
                    })
                }
            };
            cells.push(MatrixCell {
                symbol,
                symbol_name: get(row, 1, T)?,
                tf,
                latest,
                active_count: parse(u32::try_from(active_count), T, None)?,
            });
        }
        Ok(cells)
    }
}

impl SignalStore for PgStore<'_> {
    async fn insert_signal(
        &self,
        new: &NewSignal,
        cooldown_ms: i64,
    ) -> Result<Option<SignalId>, StoreError> {
        new.validate(cooldown_ms)?;
        let side = cl_app::ports::side_str(new.direction);
        let score = i64::from(new.confluence_score);
        let tfs = cl_app::ports::join_timeframes(&new.timeframes_aligned);
        let pattern = new.pattern_id.map(|p| p.0);
        let rows = self
            .query(
                sql::INSERT_SIGNAL,
                &[
                    (&new.symbol.0, Type::INT8),
                    (&side, Type::TEXT),
                    (&new.entry, Type::FLOAT8),
                    (&new.stop_loss, Type::FLOAT8),
                    (&new.tp1, Type::FLOAT8),
                    (&new.tp2, Type::FLOAT8),
                    (&new.tp3, Type::FLOAT8),
                    (&new.risk_reward, Type::FLOAT8),
                    (&score, Type::INT8),
                    (&tfs, Type::TEXT),
                    (&pattern, Type::INT8),
                    (&new.created_at, Type::INT8),
                    (&cooldown_ms, Type::INT8),
                ],
            )
            .await?;
        rows.first()
            .map(|row| get::<i64>(row, 0, "signals").map(SignalId))
            .transpose()
    }

    async fn signal(&self, id: SignalId) -> Result<Option<StoredSignal>, StoreError> {
        let rows = self
            .query(sql::SIGNAL_BY_ID, &[(&id.0, Type::INT8)])
            .await?;
        rows.first().map(signal_row).transpose()
    }

    async fn last_signal_at(
        &self,
        symbol: SymbolId,
        direction: Direction,
    ) -> Result<Option<i64>, StoreError> {
        let side = cl_app::ports::side_str(direction);
        let rows = self
            .query(
                sql::LAST_SIGNAL_AT,
                &[(&symbol.0, Type::INT8), (&side, Type::TEXT)],
            )
            .await?;
        match rows.first() {
            Some(row) => get(row, 0, "signals"),
            None => Ok(None),
        }
    }

    async fn list_signals(
        &self,
        filter: &SignalFilter,
        page: PageRequest,
    ) -> Result<Page<StoredSignal>, StoreError> {
        page.validate()?;
        let symbol = filter.symbol.map(|s| s.0);
        let side = filter.direction.map(cl_app::ports::side_str);
        let status = filter.status.map(SignalStatus::as_str);
        let after_ts = page.after.map(|c| c.ts);
        let after_id = page.after.map(|c| c.id);
        let fetch = i64::from(page.limit) + 1;
        let rows = self
            .query(
                sql::LIST_SIGNALS,
                &[
                    (&symbol, Type::INT8),
                    (&side, Type::TEXT),
                    (&status, Type::TEXT),
                    (&after_ts, Type::INT8),
                    (&after_id, Type::INT8),
                    (&fetch, Type::INT8),
                ],
            )
            .await?;
        let mut items = rows.iter().map(signal_row).collect::<Result<Vec<_>, _>>()?;
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|s| Cursor {
                ts: s.created_at,
                id: s.id.0,
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }
}

impl HealthProbe for PgStore<'_> {
    async fn ping(&self) -> Result<(), StoreError> {
        self.query("SELECT 1", &[]).await.map(|_| ())
    }
}

mod accounts;
