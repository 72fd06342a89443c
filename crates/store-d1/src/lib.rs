//! # cl-store-d1
//!
//! Storage adapter over Cloudflare D1 (wasm32 only): implements every port of
//! `cl_app::ports` over a [`worker::D1Database`] — the market ports here, the account ports
//! (users, sessions, one-time tokens, recovery codes, lockout) in `accounts.rs` — and only
//! translates: rows into domain types, D1 errors into [`StoreError`]s.
//!
//! Design (docs/storage.md, "D1 integer handling"):
//! - **Numbers.** D1 carries every number as a JS f64 (its `Integer` binding is an `i32`, and
//!   BigInt is not supported). Each `i64` (ids, ms timestamps) is bound as an f64 after
//!   checking `|v| <= 2^53` (`cl_app::ports::exact_int`, else `Invalid` and nothing is sent),
//!   and each number read back is checked integral and within 2^53 (else `Corrupt`).
//!   Booleans are 0/1, floats must be finite.
//! - **Rows.** Private `Deserialize` structs shaped like D1's row objects, converted with
//!   `TryFrom` (`rows.rs`). Select lists use unique column aliases.
//! - **Atomicity.** Every port call is ONE statement or ONE `batch()` (D1 runs a batch as one
//!   transaction, rolled back as a whole when a statement fails): candle upserts (chunked to
//!   at most 100 bound parameters per statement, D1's limit), pattern batches and status
//!   batches. The signal insert and its cooldown guard are one `INSERT … SELECT … WHERE NOT
//!   EXISTS` statement; the matrix is one statement.
//! - **Counters.** [`D1Store::round_trips`] (calls to D1; a batch is one) and
//!   [`D1Store::statements`] (SQL statements sent) let tests prove round-trip counts.
//! - **Errors.** `UNIQUE` → `Conflict` (stable key names, as the Postgres adapter), `FOREIGN
//!   KEY` → `NotFound` (the referenced row), `CHECK`/`NOT NULL`/type → `Invalid` (without
//!   driver text), anything else → `Unavailable` (driver text, for logs only).
//!
//! The crate compiles natively (it is a workspace member) but every `worker` call needs
//! workerd; it is tested there by `tests/d1-contract` (the contract suite of
//! `cl-store-contract`), and its pure helpers by host unit tests.

mod accounts;
mod admin;
mod api_keys;
mod backtests;
mod billing;
mod broadcast_delivery;
mod cron;
mod errors;
mod exchange_credentials;
mod gate;
mod maintenance;
mod metrics;
mod notification_admin;
mod notifications;
mod optimization;
mod patterns;
mod portfolio;
mod read;
mod rows;
mod run_queue;
mod sql;
mod stats;
mod values;

use cl_app::ports::{
    join_timeframes, side_str, CandleStore, Cursor, HealthProbe, KeyWindow, MatrixCell, NewPattern,
    NewSignal, NewSymbol, Page, PageRequest, PatternId, PatternStore, SignalFilter, SignalId,
    SignalStatus, SignalStore, StatusUpdate, StoreError, StoredPattern, StoredPatternKey,
    StoredSignal, StoredSymbol, SymbolId, SymbolStore,
};
use cl_domain::{Candle, Direction, Timeframe};
use errors::{classify, driver_text};
use rows::{
    CandleRow, FoundRow, IdRow, InsertedRow, KeyRow, MatrixRow, PatternRow, SeriesCandleRow,
    SignalRow, SymbolRow, TsRow,
};
use serde::de::DeserializeOwned;
use std::cell::Cell;
use std::collections::HashMap;
use values::{
    count, flag, int, json_int, json_opt_int, json_opt_real, json_real, json_word, opt_int,
    opt_real, opt_text, read_int, read_opt_int, real, text,
};
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

/// What a failed foreign key refers to in most statements.
const SYMBOL: &str = "symbol";

/// The D1 store over a `D1Database` binding (the schema must be migrated: `migrations/`).
#[derive(Debug)]
pub struct D1Store {
    db: D1Database,
    round_trips: Cell<u64>,
    statements: Cell<u64>,
}

impl D1Store {
    /// Wraps a D1 binding (e.g. `env.d1("DB")?`).
    pub fn new(db: D1Database) -> Self {
        Self {
            db,
            round_trips: Cell::new(0),
            statements: Cell::new(0),
        }
    }

    /// How many times this store has called D1 (a `batch()` counts once), for tests and
    /// metrics.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.get()
    }

    /// How many SQL statements this store has sent (every statement of a batch counts).
    pub fn statements(&self) -> u64 {
        self.statements.get()
    }

    fn count_call(&self, statements: usize) {
        self.round_trips
            .set(self.round_trips.get().saturating_add(1));
        let n = u64::try_from(statements).unwrap_or(u64::MAX);
        self.statements.set(self.statements.get().saturating_add(n));
    }

    /// Prepares a statement and binds its parameters (no I/O).
    fn stmt(&self, sql: &str, params: &[JsValue]) -> Result<D1PreparedStatement, StoreError> {
        let stmt = self.db.prepare(sql);
        if params.is_empty() {
            return Ok(stmt);
        }
        stmt.bind(params)
            .map_err(|e| StoreError::Unavailable(format!("d1 bind: {}", driver_text(&e))))
    }

    /// Runs one statement and returns its result. `missing` names what a failed foreign key
    /// refers to.
    async fn exec(
        &self,
        stmt: D1PreparedStatement,
        missing: &'static str,
    ) -> Result<D1Result, StoreError> {
        self.count_call(1);
        stmt.all()
            .await
            .map_err(|e| classify(&driver_text(&e), missing))
    }

    /// Runs statements as one `batch()`: one round trip, one transaction.
    async fn batch(
        &self,
        stmts: Vec<D1PreparedStatement>,
        missing: &'static str,
    ) -> Result<Vec<D1Result>, StoreError> {
        if stmts.is_empty() {
            return Ok(Vec::new());
        }
        self.count_call(stmts.len());
        self.db
            .batch(stmts)
            .await
            .map_err(|e| classify(&driver_text(&e), missing))
    }

    /// Runs one statement and converts its rows.
    async fn rows<R, T>(
        &self,
        table: &'static str,
        stmt: D1PreparedStatement,
        missing: &'static str,
    ) -> Result<Vec<T>, StoreError>
    where
        R: DeserializeOwned,
        T: TryFrom<R, Error = StoreError>,
    {
        let res = self.exec(stmt, missing).await?;
        decode::<R>(table, &res)?
            .into_iter()
            .map(T::try_from)
            .collect()
    }

    /// Runs one statement that reads a single nullable integer (`… AS ts`).
    async fn opt_ts(
        &self,
        table: &'static str,
        stmt: D1PreparedStatement,
    ) -> Result<Option<i64>, StoreError> {
        let res = self.exec(stmt, SYMBOL).await?;
        let ts = decode::<TsRow>(table, &res)?
            .into_iter()
            .next()
            .and_then(|r| r.ts);
        read_opt_int(table, None, "ts", ts)
    }

    /// Names the missing row after a signal insert failed on a foreign key.
    async fn missing_signal_ref(&self, new: &NewSignal) -> Result<&'static str, StoreError> {
        if new.pattern_id.is_none() {
            return Ok(SYMBOL);
        }
        let stmt = self.stmt(sql::SYMBOL_EXISTS, &[int("symbol id", new.symbol.0)?])?;
        let res = self.exec(stmt, SYMBOL).await?;
        let found = decode::<FoundRow>("symbols", &res)?
            .first()
            .is_some_and(|r| r.found != 0.0);
        Ok(if found { "pattern" } else { SYMBOL })
    }
}

/// The rows of a result.
fn decode<R: DeserializeOwned>(table: &'static str, res: &D1Result) -> Result<Vec<R>, StoreError> {
    res.results::<R>()
        .map_err(|e| StoreError::corrupt(table, None, driver_text(&e)))
}

/// The rows changed by a statement (`meta.changes`).
fn changes(res: &D1Result) -> Result<u64, StoreError> {
    let meta = res
        .meta()
        .map_err(|e| StoreError::Unavailable(format!("d1 meta: {}", driver_text(&e))))?;
    let n = meta
        .and_then(|m| m.changes)
        .ok_or_else(|| StoreError::Unavailable("d1 result without meta.changes".to_string()))?;
    Ok(u64::try_from(n).unwrap_or(u64::MAX))
}

/// The id a `RETURNING id` statement gave back, if any.
fn returned_id(table: &'static str, res: &D1Result) -> Result<Option<i64>, StoreError> {
    decode::<IdRow>(table, res)?
        .first()
        .map(|r| read_int(table, None, "id", r.id))
        .transpose()
}

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

impl SymbolStore for D1Store {
    async fn add_symbol(&self, new: &NewSymbol) -> Result<StoredSymbol, StoreError> {
        new.validate()?;
        let stmt = self.stmt(
            sql::INSERT_SYMBOL,
            &[
                text(&new.symbol),
                text(&new.exchange),
                flag(new.is_active),
                flag(new.notify_enabled),
                int("fetch_start_ms", new.fetch_start_ms)?,
                int("created_at", new.created_at)?,
            ],
        )?;
        self.rows::<SymbolRow, StoredSymbol>("symbols", stmt, SYMBOL)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Unavailable("symbol insert returned no row".into()))
    }

    async fn symbol_by_name(&self, symbol: &str) -> Result<Option<StoredSymbol>, StoreError> {
        let stmt = self.stmt(sql::SYMBOL_BY_NAME, &[text(symbol)])?;
        Ok(self
            .rows::<SymbolRow, StoredSymbol>("symbols", stmt, SYMBOL)
            .await?
            .into_iter()
            .next())
    }

    async fn list_symbols(&self, active_only: bool) -> Result<Vec<StoredSymbol>, StoreError> {
        let stmt = self.stmt(sql::LIST_SYMBOLS, &[flag(active_only)])?;
        self.rows::<SymbolRow, StoredSymbol>("symbols", stmt, SYMBOL)
            .await
    }

    async fn set_symbol_active(&self, id: SymbolId, active: bool) -> Result<(), StoreError> {
        let stmt = self.stmt(
            sql::SET_SYMBOL_ACTIVE,
            &[int("symbol id", id.0)?, flag(active)],
        )?;
        let res = self.exec(stmt, SYMBOL).await?;
        if changes(&res)? == 0 {
            Err(StoreError::NotFound(SYMBOL))
        } else {
            Ok(())
        }
    }
}

impl CandleStore for D1Store {
    async fn upsert_candles(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        candles: &[Candle],
    ) -> Result<u64, StoreError> {
        if candles.is_empty() {
            return Ok(0);
        }
        let sym = int("symbol id", symbol.0)?;
        // Every value is checked before anything is sent: a bad one writes nothing. One
        // statement per `JSON_ROWS` candles, all in one batch (one transaction).
        let mut stmts = Vec::with_capacity(candles.len().div_ceil(sql::JSON_ROWS));
        for chunk in candles.chunks(sql::JSON_ROWS) {
            let mut rows = Vec::with_capacity(chunk.len());
            for c in chunk {
                rows.push(format!(
                    "[{},{},{},{},{},{}]",
                    json_int("candle ts", c.ts())?,
                    json_real("open", c.open())?,
                    json_real("high", c.high())?,
                    json_real("low", c.low())?,
                    json_real("close", c.close())?,
                    json_real("volume", c.volume())?,
                ));
            }
            let json = format!("[{}]", rows.join(","));
            stmts.push(self.stmt(
                sql::UPSERT_CANDLES,
                &[sym.clone(), text(tf.as_str()), text(&json)],
            )?);
        }
        let results = self.batch(stmts, SYMBOL).await?;
        results
            .iter()
            .try_fold(0u64, |sum, r| Ok(sum + changes(r)?))
    }

    async fn last_candles(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        n: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        let stmt = self.stmt(
            sql::LAST_CANDLES,
            &[int("symbol id", symbol.0)?, text(tf.as_str()), count(n)],
        )?;
        self.rows::<CandleRow, Candle>("candles", stmt, SYMBOL)
            .await
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
        let pairs: Vec<String> = wants
            .iter()
            .map(|&(tf, n)| format!("[\"{}\",{n}]", tf.as_str()))
            .collect();
        let json = format!("[{}]", pairs.join(","));
        let stmt = self.stmt(
            sql::LAST_CANDLES_MANY,
            &[int("symbol id", symbol.0)?, text(&json)],
        )?;
        let rows = self
            .rows::<SeriesCandleRow, (usize, Candle)>("candles", stmt, SYMBOL)
            .await?;
        for (k, candle) in rows {
            out.get_mut(k)
                .ok_or_else(|| StoreError::corrupt("candles", None, "series index out of range"))?
                .push(candle);
        }
        Ok(out)
    }

    async fn last_candle_ts(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
    ) -> Result<Option<i64>, StoreError> {
        let stmt = self.stmt(
            sql::LAST_CANDLE_TS,
            &[int("symbol id", symbol.0)?, text(tf.as_str())],
        )?;
        self.opt_ts("candles", stmt).await
    }

    async fn candles_in_range(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        from: i64,
        to: i64,
        limit: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        let stmt = self.stmt(
            sql::CANDLES_IN_RANGE,
            &[
                int("symbol id", symbol.0)?,
                text(tf.as_str()),
                int("from", from)?,
                int("to", to)?,
                count(limit),
            ],
        )?;
        self.rows::<CandleRow, Candle>("candles", stmt, SYMBOL)
            .await
    }

    async fn candles_before(
        &self,
        symbol: SymbolId,
        tf: Timeframe,
        before: i64,
        limit: u32,
    ) -> Result<Vec<Candle>, StoreError> {
        let stmt = self.stmt(
            sql::CANDLES_BEFORE,
            &[
                int("symbol id", symbol.0)?,
                text(tf.as_str()),
                int("before", before)?,
                count(limit),
            ],
        )?;
        self.rows::<CandleRow, Candle>("candles", stmt, SYMBOL)
            .await
    }
}

impl D1Store {
    fn insert_pattern_stmt(&self, p: &NewPattern) -> Result<D1PreparedStatement, StoreError> {
        let l = &p.levels;
        self.stmt(
            sql::INSERT_PATTERN,
            &[
                int("symbol id", p.symbol.0)?,
                text(p.tf.as_str()),
                text(p.pattern_type.as_str()),
                text(p.direction.as_str()),
                real("zone_low", p.zone.low())?,
                real("zone_high", p.zone.high())?,
                opt_real("swept_level", p.swept_level)?,
                int("detected_at", p.detected_at)?,
                int("expires_at", p.expires_at)?,
                real("entry", l.entry)?,
                real("stop_loss", l.stop_loss)?,
                real("tp1", l.tp1)?,
                real("tp2", l.tp2)?,
                real("tp3", l.tp3)?,
                real("risk", l.risk)?,
                real("rr1", l.rr1)?,
                real("rr2", l.rr2)?,
                real("rr3", l.rr3)?,
                int("created_at", p.created_at)?,
            ],
        )
    }
}

/// One row of [`sql::INSERT_PATTERNS`]'s JSON parameter, in its column order.
fn pattern_json(p: &NewPattern) -> Result<String, StoreError> {
    let l = &p.levels;
    let fields = [
        json_int("symbol id", p.symbol.0)?,
        json_word("tf", p.tf.as_str())?,
        json_word("pattern_type", p.pattern_type.as_str())?,
        json_word("direction", p.direction.as_str())?,
        json_real("zone_low", p.zone.low())?,
        json_real("zone_high", p.zone.high())?,
        json_opt_real("swept_level", p.swept_level)?,
        json_int("detected_at", p.detected_at)?,
        json_int("expires_at", p.expires_at)?,
        json_real("entry", l.entry)?,
        json_real("stop_loss", l.stop_loss)?,
        json_real("tp1", l.tp1)?,
        json_real("tp2", l.tp2)?,
        json_real("tp3", l.tp3)?,
        json_real("risk", l.risk)?,
        json_real("rr1", l.rr1)?,
        json_real("rr2", l.rr2)?,
        json_real("rr3", l.rr3)?,
        json_int("created_at", p.created_at)?,
    ];
    Ok(format!("[{}]", fields.join(",")))
}

impl PatternStore for D1Store {
    async fn insert_pattern(&self, new: &NewPattern) -> Result<Option<PatternId>, StoreError> {
        new.validate()?;
        let res = self.exec(self.insert_pattern_stmt(new)?, SYMBOL).await?;
        Ok(returned_id("patterns", &res)?.map(PatternId))
    }

    async fn insert_patterns(
        &self,
        new: &[NewPattern],
    ) -> Result<Vec<Option<PatternId>>, StoreError> {
        if new.is_empty() {
            return Ok(Vec::new());
        }
        let mut stmts = Vec::with_capacity(new.len().div_ceil(sql::JSON_ROWS));
        for chunk in new.chunks(sql::JSON_ROWS) {
            let mut rows = Vec::with_capacity(chunk.len());
            for p in chunk {
                p.validate()?;
                rows.push(pattern_json(p)?);
            }
            let json = format!("[{}]", rows.join(","));
            stmts.push(self.stmt(sql::INSERT_PATTERNS, &[text(&json)])?);
        }
        // One round trip and one transaction; the rows back carry their keys.
        let mut ids: HashMap<StoredPatternKey, Vec<(SymbolId, PatternId)>> = HashMap::new();
        for res in self.batch(stmts, SYMBOL).await? {
            for row in decode::<InsertedRow>("patterns", &res)? {
                let (symbol, key, id) = row.into_parts()?;
                ids.entry(key).or_default().push((symbol, id));
            }
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
                let list = ids.get_mut(&key)?;
                let at = list.iter().position(|(s, _)| *s == p.symbol)?;
                Some(list.swap_remove(at).1)
            })
            .collect())
    }

    async fn pattern(&self, id: PatternId) -> Result<Option<StoredPattern>, StoreError> {
        let stmt = self.stmt(sql::PATTERN_BY_ID, &[int("pattern id", id.0)?])?;
        Ok(self
            .rows::<PatternRow, StoredPattern>("patterns", stmt, SYMBOL)
            .await?
            .into_iter()
            .next())
    }

    async fn active_patterns(
        &self,
        symbol: SymbolId,
        tf: Option<Timeframe>,
    ) -> Result<Vec<StoredPattern>, StoreError> {
        let stmt = self.stmt(
            sql::ACTIVE_PATTERNS,
            &[
                int("symbol id", symbol.0)?,
                opt_text(tf.map(Timeframe::as_str)),
            ],
        )?;
        self.rows::<PatternRow, StoredPattern>("patterns", stmt, SYMBOL)
            .await
    }

    async fn update_statuses(&self, updates: &[StatusUpdate]) -> Result<u64, StoreError> {
        StatusUpdate::validate_batch(updates)?;
        if updates.is_empty() {
            return Ok(0);
        }
        // ONE statement for every change (ids are unique: checked above).
        let mut rows = Vec::with_capacity(updates.len());
        for u in updates {
            rows.push(format!(
                "[{},{},{},{}]",
                json_int("pattern id", u.id.0)?,
                json_word("status", u.status.as_str())?,
                json_real("fill_pct", u.fill_pct)?,
                json_opt_int("filled_at", u.filled_at)?,
            ));
        }
        let json = format!("[{}]", rows.join(","));
        let stmt = self.stmt(sql::UPDATE_STATUSES, &[text(&json)])?;
        changes(&self.exec(stmt, SYMBOL).await?)
    }

    async fn expire_patterns(&self, symbol: SymbolId, now: i64) -> Result<u64, StoreError> {
        let stmt = self.stmt(
            sql::EXPIRE_PATTERNS,
            &[int("symbol id", symbol.0)?, int("now", now)?],
        )?;
        changes(&self.exec(stmt, SYMBOL).await?)
    }

    async fn pattern_keys(
        &self,
        symbol: SymbolId,
        windows: &[KeyWindow],
    ) -> Result<Vec<StoredPatternKey>, StoreError> {
        if windows.is_empty() {
            return Ok(Vec::new());
        }
        let sym = int("symbol id", symbol.0)?;
        let mut stmts = Vec::new();
        for chunk in windows.chunks(sql::KEY_WINDOWS_PER_STATEMENT) {
            let mut params =
                Vec::with_capacity(sql::KEY_SHARED_PARAMS + chunk.len() * sql::KEY_WINDOW_PARAMS);
            params.push(sym.clone());
            for w in chunk {
                params.push(text(w.tf.as_str()));
                params.push(int("window start", w.from)?);
            }
            stmts.push(self.stmt(&sql::pattern_keys(chunk.len()), &params)?);
        }
        // One round trip whatever the number of chunks.
        let mut keys = Vec::new();
        for res in self.batch(stmts, SYMBOL).await? {
            for row in decode::<KeyRow>("patterns", &res)? {
                keys.push(StoredPatternKey::try_from(row)?);
            }
        }
        Ok(keys)
    }

    async fn list_patterns(
        &self,
        filter: &cl_app::ports::PatternFilter,
        page: PageRequest,
    ) -> Result<Page<StoredPattern>, StoreError> {
        self.list_patterns_page(filter, page).await
    }

    async fn matrix(&self) -> Result<Vec<MatrixCell>, StoreError> {
        let stmt = self.stmt(sql::MATRIX, &[])?;
        self.rows::<MatrixRow, MatrixCell>("patterns", stmt, SYMBOL)
            .await
    }
}

impl SignalStore for D1Store {
    async fn insert_signal(
        &self,
        new: &NewSignal,
        cooldown_ms: i64,
    ) -> Result<Option<SignalId>, StoreError> {
        new.validate(cooldown_ms)?;
        let stmt = self.stmt(
            sql::INSERT_SIGNAL,
            &[
                int("symbol id", new.symbol.0)?,
                text(side_str(new.direction)),
                real("entry", new.entry)?,
                real("stop_loss", new.stop_loss)?,
                real("tp1", new.tp1)?,
                real("tp2", new.tp2)?,
                real("tp3", new.tp3)?,
                real("risk_reward", new.risk_reward)?,
                count(u32::from(new.confluence_score)),
                text(&join_timeframes(&new.timeframes_aligned)),
                opt_int("pattern id", new.pattern_id.map(|p| p.0))?,
                int("created_at", new.created_at)?,
                int("cooldown_ms", cooldown_ms)?,
            ],
        )?;
        match self.exec(stmt, SYMBOL).await {
            Ok(res) => Ok(returned_id("signals", &res)?.map(SignalId)),
            Err(StoreError::NotFound(_)) => {
                Err(StoreError::NotFound(self.missing_signal_ref(new).await?))
            }
            Err(e) => Err(e),
        }
    }

    async fn signal(&self, id: SignalId) -> Result<Option<StoredSignal>, StoreError> {
        let stmt = self.stmt(sql::SIGNAL_BY_ID, &[int("signal id", id.0)?])?;
        Ok(self
            .rows::<SignalRow, StoredSignal>("signals", stmt, SYMBOL)
            .await?
            .into_iter()
            .next())
    }

    async fn last_signal_at(
        &self,
        symbol: SymbolId,
        direction: Direction,
    ) -> Result<Option<i64>, StoreError> {
        let stmt = self.stmt(
            sql::LAST_SIGNAL_AT,
            &[int("symbol id", symbol.0)?, text(side_str(direction))],
        )?;
        self.opt_ts("signals", stmt).await
    }

    async fn list_signals(
        &self,
        filter: &SignalFilter,
        page: PageRequest,
    ) -> Result<Page<StoredSignal>, StoreError> {
        page.validate()?;
        let stmt = self.stmt(
            sql::LIST_SIGNALS,
            &[
                opt_int("symbol id", filter.symbol.map(|s| s.0))?,
                opt_text(filter.direction.map(side_str)),
                opt_text(filter.status.map(SignalStatus::as_str)),
                opt_int("cursor time", page.after.map(|c| c.ts))?,
                opt_int("cursor id", page.after.map(|c| c.id))?,
                // One row more than the page tells whether a next page exists.
                JsValue::from_f64(f64::from(page.limit) + 1.0),
            ],
        )?;
        let mut items = self
            .rows::<SignalRow, StoredSignal>("signals", stmt, SYMBOL)
            .await?;
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

impl HealthProbe for D1Store {
    async fn ping(&self) -> Result<(), StoreError> {
        let stmt = self.stmt(sql::PING, &[])?;
        self.exec(stmt, SYMBOL).await.map(|_| ())
    }
}
