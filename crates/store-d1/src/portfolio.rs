//! The portfolio ports over D1: portfolios, trades, tags, trade tags, journal entries, with
//! the conventions of the other D1 ports (i64 bound as exact f64 after the 2^53 check,
//! booleans 0/1, rows converted once with `TryFrom`, errors classified once).
//!
//! Ownership is part of every statement (`… portfolio_id IN (SELECT id FROM portfolios WHERE
//! user_id = ?)`), so another user's row is simply not found.
//!
//! Atomicity without row locks: D1 runs one statement, or one `batch()`, at a time per
//! database, and a batch is one transaction. So a quota is a condition of the `INSERT …
//! SELECT … WHERE count < max` itself (count and insert cannot be separated), and a
//! multi-step write is one batch whose statements are guarded by what the first write did:
//! - the first write stamps the trade it creates or changes with `updated_at = 0.5`
//!   ([`MARK`]), a value no committed row holds (every time bound is an integer);
//! - the balance is recomputed (`initial + Σ pnl of closed trades`) only for the portfolio of
//!   the stamped trade;
//! - the last statement replaces the stamp with the real time and returns the trade row.
//!
//! A batch that wrote nothing (quota reached, status changed, not the owner) is explained by a
//! read of the state before it, sent first in the same batch. A failing statement (a missing
//! signal or pattern) rolls the batch back whole.

use crate::billing::Params;
use crate::values::{flag, int, opt_int, opt_real, opt_text, read_flag, read_int, read_opt_int};
use crate::values::{real, text};
use crate::{changes, decode, D1Store};
use cl_app::ports::{
    exact_int, finite, parse_trade_side, quota, side_as_str, JournalEntryId, JournalType, Mood,
    NewJournalEntry, NewPortfolio, NewTag, PatternId, PortfolioCurrency, PortfolioEdit,
    PortfolioId, PortfolioStore, SignalId, StoreError, StoredJournalEntry, StoredPortfolio,
    StoredTag, StoredTrade, TagId, TradeId, TradeQuota, TradeRecord, TradeStatus, UserId,
};
use cl_domain::{PatternType, Timeframe};
use serde::Deserialize;
use worker::js_sys;
use worker::wasm_bindgen::JsValue;
use worker::D1Result;

/// The `trades.updated_at` of a trade written by the batch in progress (never committed).
const MARK: f64 = 0.5;

const PORTFOLIO_COLS: &str = "id, user_id, name, description, initial_balance, current_balance, \
     currency, is_active, created_at, updated_at";

const TRADE_COLS: &str = "id, portfolio_id, symbol, direction, tf, pattern_type, signal_id, \
     pattern_id, entry_price, entry_time, quantity, stop_loss, take_profit, risk_amount, \
     risk_percent, fees, exit_price, exit_time, setup_notes, exit_notes, lessons, pnl_amount, \
     pnl_percent, pnl_r, status, created_at, updated_at";

/// The writable trade columns, in [`trade_values`] order.
const TRADE_WRITE_COLS: [&str; 23] = [
    "symbol",
    "direction",
    "tf",
    "pattern_type",
    "signal_id",
    "pattern_id",
    "entry_price",
    "entry_time",
    "quantity",
    "stop_loss",
    "take_profit",
    "risk_amount",
    "risk_percent",
    "fees",
    "exit_price",
    "exit_time",
    "setup_notes",
    "exit_notes",
    "lessons",
    "pnl_amount",
    "pnl_percent",
    "pnl_r",
    "status",
];

const TAG_COLS: &str = "id, user_id, name, color, description, created_at";

const JOURNAL_COLS: &str = "id, trade_id, entry_type, content, mood, screenshots, created_at";

/// The ids of the user's portfolios, as a subquery (`?u` the user).
fn owned_portfolios(u: &str) -> String {
    format!("(SELECT id FROM portfolios WHERE user_id = {u})")
}

/// `initial + Σ pnl of closed trades` for portfolio `p`, stamped `now`.
fn recompute(p: &str, now: &str) -> String {
    format!(
        "UPDATE portfolios SET current_balance = initial_balance + COALESCE((SELECT sum(pnl_amount) \
         FROM trades WHERE portfolio_id = {p} AND status = 'closed'), 0), updated_at = {now} \
         WHERE id = {p}"
    )
}

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

fn parse<T, E: std::fmt::Display>(
    r: Result<T, E>,
    table: &'static str,
    id: Option<i64>,
) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::corrupt(table, id, e))
}

#[derive(Deserialize)]
struct PortfolioRow {
    id: f64,
    user_id: f64,
    name: String,
    description: Option<String>,
    initial_balance: f64,
    current_balance: f64,
    currency: String,
    is_active: f64,
    created_at: f64,
    updated_at: f64,
}

impl TryFrom<PortfolioRow> for StoredPortfolio {
    type Error = StoreError;

    fn try_from(r: PortfolioRow) -> Result<Self, StoreError> {
        const T: &str = "portfolios";
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        Ok(StoredPortfolio {
            id: PortfolioId(id),
            user_id: UserId(read_int(T, at, "user_id", r.user_id)?),
            name: r.name,
            description: r.description,
            initial_balance: r.initial_balance,
            current_balance: r.current_balance,
            currency: parse(PortfolioCurrency::parse(&r.currency), T, at)?,
            is_active: read_flag(T, at, "is_active", r.is_active)?,
            created_at: read_int(T, at, "created_at", r.created_at)?,
            updated_at: read_int(T, at, "updated_at", r.updated_at)?,
        })
    }
}

#[derive(Deserialize)]
struct TradeRow {
    id: f64,
    portfolio_id: f64,
    symbol: String,
    direction: String,
    tf: Option<String>,
    pattern_type: Option<String>,
    signal_id: Option<f64>,
    pattern_id: Option<f64>,
    entry_price: f64,
    entry_time: Option<f64>,
    quantity: f64,
    stop_loss: Option<f64>,
    take_profit: Option<f64>,
    risk_amount: Option<f64>,
    risk_percent: Option<f64>,
    fees: f64,
    exit_price: Option<f64>,
    exit_time: Option<f64>,
    setup_notes: Option<String>,
    exit_notes: Option<String>,
    lessons: Option<String>,
    pnl_amount: Option<f64>,
    pnl_percent: Option<f64>,
    pnl_r: Option<f64>,
    status: String,
    created_at: f64,
    updated_at: f64,
}

impl TryFrom<TradeRow> for StoredTrade {
    type Error = StoreError;

    fn try_from(r: TradeRow) -> Result<Self, StoreError> {
        const T: &str = "trades";
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        Ok(StoredTrade {
            id: TradeId(id),
            portfolio_id: PortfolioId(read_int(T, at, "portfolio_id", r.portfolio_id)?),
            record: TradeRecord {
                symbol: r.symbol,
                side: parse(parse_trade_side(&r.direction), T, at)?,
                tf: r
                    .tf
                    .map(|t| parse(Timeframe::parse(&t), T, at))
                    .transpose()?,
                pattern_type: r
                    .pattern_type
                    .map(|p| parse(PatternType::parse(&p), T, at))
                    .transpose()?,
                signal_id: read_opt_int(T, at, "signal_id", r.signal_id)?.map(SignalId),
                pattern_id: read_opt_int(T, at, "pattern_id", r.pattern_id)?.map(PatternId),
                entry_price: r.entry_price,
                entry_time: read_opt_int(T, at, "entry_time", r.entry_time)?,
                quantity: r.quantity,
                stop_loss: r.stop_loss,
                take_profit: r.take_profit,
                risk_amount: r.risk_amount,
                risk_percent: r.risk_percent,
                fees: r.fees,
                exit_price: r.exit_price,
                exit_time: read_opt_int(T, at, "exit_time", r.exit_time)?,
                setup_notes: r.setup_notes,
                exit_notes: r.exit_notes,
                lessons: r.lessons,
                pnl_amount: r.pnl_amount,
                pnl_percent: r.pnl_percent,
                pnl_r: r.pnl_r,
                status: parse(TradeStatus::parse(&r.status), T, at)?,
            },
            created_at: read_int(T, at, "created_at", r.created_at)?,
            updated_at: read_int(T, at, "updated_at", r.updated_at)?,
        })
    }
}

#[derive(Deserialize)]
struct TagRow {
    id: f64,
    user_id: f64,
    name: String,
    color: String,
    description: Option<String>,
    created_at: f64,
}

impl TryFrom<TagRow> for StoredTag {
    type Error = StoreError;

    fn try_from(r: TagRow) -> Result<Self, StoreError> {
        const T: &str = "tags";
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        Ok(StoredTag {
            id: TagId(id),
            user_id: UserId(read_int(T, at, "user_id", r.user_id)?),
            name: r.name,
            color: r.color,
            description: r.description,
            created_at: read_int(T, at, "created_at", r.created_at)?,
        })
    }
}

#[derive(Deserialize)]
struct JournalRow {
    id: f64,
    trade_id: f64,
    entry_type: String,
    content: String,
    mood: Option<String>,
    screenshots: String,
    created_at: f64,
}

impl TryFrom<JournalRow> for StoredJournalEntry {
    type Error = StoreError;

    fn try_from(r: JournalRow) -> Result<Self, StoreError> {
        const T: &str = "journal_entries";
        let id = read_int(T, None, "id", r.id)?;
        let at = Some(id);
        Ok(StoredJournalEntry {
            id: JournalEntryId(id),
            trade_id: TradeId(read_int(T, at, "trade_id", r.trade_id)?),
            entry: NewJournalEntry {
                entry_type: parse(JournalType::parse(&r.entry_type), T, at)?,
                content: r.content,
                mood: r.mood.map(|m| parse(Mood::parse(&m), T, at)).transpose()?,
                screenshots: links_from_json(&r.screenshots)
                    .ok_or_else(|| StoreError::corrupt(T, at, "screenshots is not a text array"))?,
                created_at: read_int(T, at, "created_at", r.created_at)?,
            },
        })
    }
}

/// The JSON array text stored in `journal_entries.screenshots` (JS `JSON.stringify`).
fn links_to_json(links: &[String]) -> Result<String, StoreError> {
    let arr = js_sys::Array::new();
    for l in links {
        arr.push(&JsValue::from_str(l));
    }
    js_sys::JSON::stringify(&arr)
        .map(String::from)
        .map_err(|_| StoreError::Invalid("screenshots are not serialisable".into()))
}

/// The links of a stored JSON array of strings (`None` when it is anything else).
fn links_from_json(text: &str) -> Option<Vec<String>> {
    let v = js_sys::JSON::parse(text).ok()?;
    if !js_sys::Array::is_array(&v) {
        return None;
    }
    js_sys::Array::from(&v)
        .iter()
        .map(|x| x.as_string())
        .collect()
}

/// A pre-read of a batch (`… AS a, … AS b`), every column a count or 0/1.
#[derive(Deserialize)]
struct Probe {
    a: f64,
    #[serde(default)]
    b: f64,
}

fn probe(table: &'static str, res: Option<&D1Result>) -> Result<(f64, f64), StoreError> {
    let res = res.ok_or_else(short)?;
    Ok(decode::<Probe>(table, res)?
        .first()
        .map_or((0.0, 0.0), |p| (p.a, p.b)))
}

fn short() -> StoreError {
    StoreError::Unavailable("d1 batch returned fewer results than statements".into())
}

fn first<R, T>(table: &'static str, res: Option<&D1Result>) -> Result<Option<T>, StoreError>
where
    R: serde::de::DeserializeOwned,
    T: TryFrom<R, Error = StoreError>,
{
    let res = res.ok_or_else(short)?;
    decode::<R>(table, res)?
        .into_iter()
        .next()
        .map(T::try_from)
        .transpose()
}

fn check_portfolio(name: &str, description: Option<&str>) -> Result<(), StoreError> {
    if name.chars().count() > 50 || description.is_some_and(|d| d.chars().count() > 2000) {
        return Err(StoreError::Invalid(
            "portfolio name or description too long".into(),
        ));
    }
    Ok(())
}

/// Binds the [`TRADE_WRITE_COLS`] values of `r`, returning their placeholders.
fn trade_values(ps: &mut Params, r: &TradeRecord) -> Result<Vec<String>, StoreError> {
    Ok(vec![
        ps.p(text(&r.symbol)),
        ps.p(text(side_as_str(r.side))),
        ps.p(opt_text(r.tf.map(Timeframe::as_str))),
        ps.p(opt_text(r.pattern_type.map(PatternType::as_str))),
        ps.p(opt_int("trades.signal_id", r.signal_id.map(|s| s.0))?),
        ps.p(opt_int("trades.pattern_id", r.pattern_id.map(|p| p.0))?),
        ps.p(real("trades.entry_price", r.entry_price)?),
        ps.p(opt_int("trades.entry_time", r.entry_time)?),
        ps.p(real("trades.quantity", r.quantity)?),
        ps.p(opt_real("trades.stop_loss", r.stop_loss)?),
        ps.p(opt_real("trades.take_profit", r.take_profit)?),
        ps.p(opt_real("trades.risk_amount", r.risk_amount)?),
        ps.p(opt_real("trades.risk_percent", r.risk_percent)?),
        ps.p(real("trades.fees", r.fees)?),
        ps.p(opt_real("trades.exit_price", r.exit_price)?),
        ps.p(opt_int("trades.exit_time", r.exit_time)?),
        ps.p(opt_text(r.setup_notes.as_deref())),
        ps.p(opt_text(r.exit_notes.as_deref())),
        ps.p(opt_text(r.lessons.as_deref())),
        ps.p(opt_real("trades.pnl_amount", r.pnl_amount)?),
        ps.p(opt_real("trades.pnl_percent", r.pnl_percent)?),
        ps.p(opt_real("trades.pnl_r", r.pnl_r)?),
        ps.p(text(r.status.as_str())),
    ])
}

/// What a failed foreign key of a trade write refers to.
fn trade_ref(r: &TradeRecord) -> &'static str {
    if r.signal_id.is_some() {
        "signal"
    } else {
        "pattern"
    }
}

impl D1Store {
    /// The last two statements of a trade batch: the balance of the stamped trade's
    /// portfolio, then the stamp replaced by `now`, returning the trade.
    fn trade_tail(
        &self,
        column: &str,
        value: i64,
        now: i64,
    ) -> Result<[worker::D1PreparedStatement; 2], StoreError> {
        let params = [
            int("trade scope", value)?,
            int("now", now)?,
            JsValue::from_f64(MARK),
        ];
        let stamped = format!("{column} = ?1 AND updated_at = ?3");
        let p = format!("(SELECT portfolio_id FROM trades WHERE {stamped})");
        let balance = self.stmt(&recompute(&p, "?2"), &params)?;
        let sql =
            format!("UPDATE trades SET updated_at = ?2 WHERE {stamped} RETURNING {TRADE_COLS}");
        Ok([balance, self.stmt(&sql, &params)?])
    }

    async fn owned_one<R, T>(
        &self,
        table: &'static str,
        sql: &str,
        params: &[JsValue],
    ) -> Result<Option<T>, StoreError>
    where
        R: serde::de::DeserializeOwned,
        T: TryFrom<R, Error = StoreError>,
    {
        let stmt = self.stmt(sql, params)?;
        self.opt_row::<R, T>(table, stmt, "user").await
    }
}

// ---------------------------------------------------------------------------------------------
// Port
// ---------------------------------------------------------------------------------------------

impl PortfolioStore for D1Store {
    async fn create_portfolio(
        &self,
        new: &NewPortfolio,
        max: u32,
    ) -> Result<StoredPortfolio, StoreError> {
        exact_int("portfolios.created_at", new.created_at)?;
        finite("portfolios.initial_balance", new.initial_balance)?;
        check_portfolio(&new.name, new.description.as_deref())?;
        // The count and the insert are one statement: the quota cannot be overrun.
        let sql = format!(
            "INSERT INTO portfolios (user_id, name, description, initial_balance, \
             current_balance, currency, created_at, updated_at) \
             SELECT ?1, ?2, ?3, ?4, ?4, ?5, ?6, ?6 \
             WHERE (SELECT count(*) FROM portfolios WHERE user_id = ?1) < ?7 \
             RETURNING {PORTFOLIO_COLS}"
        );
        let stmt = self.stmt(
            &sql,
            &[
                int("user id", new.user_id.0)?,
                text(&new.name),
                opt_text(new.description.as_deref()),
                real("portfolios.initial_balance", new.initial_balance)?,
                text(new.currency.as_str()),
                int("portfolios.created_at", new.created_at)?,
                JsValue::from_f64(f64::from(max)),
            ],
        )?;
        self.opt_row::<PortfolioRow, StoredPortfolio>("portfolios", stmt, "user")
            .await?
            .ok_or(StoreError::Conflict(quota::PORTFOLIOS))
    }

    async fn portfolios_of(&self, user: UserId) -> Result<Vec<StoredPortfolio>, StoreError> {
        let sql = format!("SELECT {PORTFOLIO_COLS} FROM portfolios WHERE user_id = ?1 ORDER BY id");
        let stmt = self.stmt(&sql, &[int("user id", user.0)?])?;
        self.rows::<PortfolioRow, StoredPortfolio>("portfolios", stmt, "user")
            .await
    }

    async fn portfolio(
        &self,
        user: UserId,
        id: PortfolioId,
    ) -> Result<Option<StoredPortfolio>, StoreError> {
        let sql = format!("SELECT {PORTFOLIO_COLS} FROM portfolios WHERE id = ?1 AND user_id = ?2");
        self.owned_one::<PortfolioRow, StoredPortfolio>(
            "portfolios",
            &sql,
            &[int("portfolio id", id.0)?, int("user id", user.0)?],
        )
        .await
    }

    async fn edit_portfolio(
        &self,
        user: UserId,
        id: PortfolioId,
        edit: &PortfolioEdit,
        now: i64,
    ) -> Result<StoredPortfolio, StoreError> {
        check_portfolio(&edit.name, edit.description.as_deref())?;
        let sql = format!(
            "UPDATE portfolios SET name = ?3, description = ?4, is_active = ?5, updated_at = ?6 \
             WHERE id = ?1 AND user_id = ?2 RETURNING {PORTFOLIO_COLS}"
        );
        self.owned_one::<PortfolioRow, StoredPortfolio>(
            "portfolios",
            &sql,
            &[
                int("portfolio id", id.0)?,
                int("user id", user.0)?,
                text(&edit.name),
                opt_text(edit.description.as_deref()),
                flag(edit.is_active),
                int("now", now)?,
            ],
        )
        .await?
        .ok_or(StoreError::NotFound("portfolio"))
    }

    async fn delete_portfolio(&self, user: UserId, id: PortfolioId) -> Result<(), StoreError> {
        // Trades, their links and journals go with it (ON DELETE CASCADE, enforced by D1).
        let stmt = self.stmt(
            "DELETE FROM portfolios WHERE id = ?1 AND user_id = ?2",
            &[int("portfolio id", id.0)?, int("user id", user.0)?],
        )?;
        if changes(&self.exec(stmt, "portfolio").await?)? == 0 {
            Err(StoreError::NotFound("portfolio"))
        } else {
            Ok(())
        }
    }

    async fn create_trade(
        &self,
        user: UserId,
        portfolio: PortfolioId,
        record: &TradeRecord,
        quota: TradeQuota,
        now: i64,
    ) -> Result<StoredTrade, StoreError> {
        record.validate()?;
        exact_int("now", now)?;
        let day = quota.per_day.map(f64::from);

        // The state the insert decides on: owned, trades in the portfolio, trades today.
        let mut ps = Params::default();
        let (u, p) = (
            ps.p(int("user id", user.0)?),
            ps.p(int("portfolio id", portfolio.0)?),
        );
        let since = ps.p(int("day_start", quota.day_start)?);
        let state = format!(
            "(SELECT count(*) FROM portfolios WHERE id = {p} AND user_id = {u}) AS a, \
             (SELECT count(*) FROM trades WHERE portfolio_id = {p}) AS b, \
             (SELECT count(*) FROM trades WHERE created_at >= {since} \
              AND portfolio_id IN {owned}) AS c",
            owned = owned_portfolios(&u)
        );
        let read = self.stmt(&format!("SELECT {state}"), &ps.0)?;

        let mut ps = Params::default();
        let v = trade_values(&mut ps, record)?;
        let (u, p) = (
            ps.p(int("user id", user.0)?),
            ps.p(int("portfolio id", portfolio.0)?),
        );
        let since = ps.p(int("day_start", quota.day_start)?);
        let per_portfolio = ps.p(JsValue::from_f64(f64::from(quota.per_portfolio)));
        let per_day = ps.p(day.map_or(JsValue::NULL, JsValue::from_f64));
        let created = ps.p(int("now", now)?);
        let mark = ps.p(JsValue::from_f64(MARK));
        let insert = format!(
            "INSERT INTO trades (portfolio_id, {}, created_at, updated_at) \
             SELECT {p}, {}, {created}, {mark} \
             WHERE EXISTS (SELECT 1 FROM portfolios WHERE id = {p} AND user_id = {u}) \
             AND (SELECT count(*) FROM trades WHERE portfolio_id = {p}) < {per_portfolio} \
             AND ({per_day} IS NULL OR (SELECT count(*) FROM trades WHERE created_at >= {since} \
                  AND portfolio_id IN {owned}) < {per_day})",
            TRADE_WRITE_COLS.join(", "),
            v.join(", "),
            owned = owned_portfolios(&u)
        );
        let insert = self.stmt(&insert, &ps.0)?;
        let [balance, finish] = self.trade_tail("portfolio_id", portfolio.0, now)?;

        let results = self
            .batch(vec![read, insert, balance, finish], trade_ref(record))
            .await?;
        if let Some(t) = first::<TradeRow, StoredTrade>("trades", results.get(3))? {
            return Ok(t);
        }
        #[derive(Deserialize)]
        struct State {
            a: f64,
            b: f64,
            c: f64,
        }
        let st = decode::<State>("trades", results.first().ok_or_else(short)?)?;
        let st = st.first().ok_or_else(short)?;
        if st.a == 0.0 {
            Err(StoreError::NotFound("portfolio"))
        } else if st.b >= f64::from(quota.per_portfolio) {
            Err(StoreError::Conflict(quota::TRADES))
        } else if day.is_some_and(|max| st.c >= max) {
            Err(StoreError::Conflict(quota::TRADES_PER_DAY))
        } else {
            Err(StoreError::Unavailable("trade insert wrote nothing".into()))
        }
    }

    async fn trade(&self, user: UserId, id: TradeId) -> Result<Option<StoredTrade>, StoreError> {
        let sql = format!(
            "SELECT {TRADE_COLS} FROM trades WHERE id = ?1 AND portfolio_id IN {}",
            owned_portfolios("?2")
        );
        self.owned_one::<TradeRow, StoredTrade>(
            "trades",
            &sql,
            &[int("trade id", id.0)?, int("user id", user.0)?],
        )
        .await
    }

    async fn trades_of(
        &self,
        user: UserId,
        portfolio: PortfolioId,
    ) -> Result<Vec<StoredTrade>, StoreError> {
        let owned = self.stmt(
            "SELECT count(*) AS a FROM portfolios WHERE id = ?1 AND user_id = ?2",
            &[int("portfolio id", portfolio.0)?, int("user id", user.0)?],
        )?;
        let sql = format!(
            "SELECT {TRADE_COLS} FROM trades WHERE portfolio_id = ?1 AND portfolio_id IN {} \
             ORDER BY id",
            owned_portfolios("?2")
        );
        let list = self.stmt(
            &sql,
            &[int("portfolio id", portfolio.0)?, int("user id", user.0)?],
        )?;
        // One round trip: the ownership check and the list read the same state.
        let results = self.batch(vec![owned, list], "portfolio").await?;
        if probe("portfolios", results.first())?.0 == 0.0 {
            return Err(StoreError::NotFound("portfolio"));
        }
        decode::<TradeRow>("trades", results.get(1).ok_or_else(short)?)?
            .into_iter()
            .map(StoredTrade::try_from)
            .collect()
    }

    async fn save_trade(
        &self,
        user: UserId,
        id: TradeId,
        expected: TradeStatus,
        record: &TradeRecord,
        now: i64,
    ) -> Result<StoredTrade, StoreError> {
        record.validate()?;
        exact_int("now", now)?;
        if !expected.can_become(record.status) {
            return Err(StoreError::Invalid(format!(
                "a trade may not move from {} to {}",
                expected.as_str(),
                record.status.as_str()
            )));
        }
        let read = self.stmt(
            &format!(
                "SELECT count(*) AS a, coalesce(max(status = ?3), 0) AS b FROM trades \
                 WHERE id = ?1 AND portfolio_id IN {}",
                owned_portfolios("?2")
            ),
            &[
                int("trade id", id.0)?,
                int("user id", user.0)?,
                text(expected.as_str()),
            ],
        )?;
        let mut ps = Params::default();
        let v = trade_values(&mut ps, record)?;
        let sets: Vec<String> = TRADE_WRITE_COLS
            .iter()
            .zip(&v)
            .map(|(c, p)| format!("{c} = {p}"))
            .collect();
        let tid = ps.p(int("trade id", id.0)?);
        let u = ps.p(int("user id", user.0)?);
        let status = ps.p(text(expected.as_str()));
        let mark = ps.p(JsValue::from_f64(MARK));
        // Compare-and-set on the status read.
        let update = format!(
            "UPDATE trades SET {}, updated_at = {mark} \
             WHERE id = {tid} AND status = {status} AND portfolio_id IN {}",
            sets.join(", "),
            owned_portfolios(&u)
        );
        let update = self.stmt(&update, &ps.0)?;
        let [balance, finish] = self.trade_tail("id", id.0, now)?;
        let results = self
            .batch(vec![read, update, balance, finish], trade_ref(record))
            .await?;
        if let Some(t) = first::<TradeRow, StoredTrade>("trades", results.get(3))? {
            return Ok(t);
        }
        let (found, same) = probe("trades", results.first())?;
        if found == 0.0 {
            Err(StoreError::NotFound("trade"))
        } else if same == 0.0 {
            Err(StoreError::Conflict(quota::TRADE_CHANGED))
        } else {
            Err(StoreError::Unavailable("trade update wrote nothing".into()))
        }
    }

    async fn delete_trade(&self, user: UserId, id: TradeId, now: i64) -> Result<(), StoreError> {
        exact_int("now", now)?;
        let Some(t) = self.trade(user, id).await? else {
            return Err(StoreError::NotFound("trade"));
        };
        let p = t.portfolio_id.0;
        let delete = self.stmt(
            &format!(
                "DELETE FROM trades WHERE id = ?1 AND portfolio_id = ?2 AND portfolio_id IN {}",
                owned_portfolios("?3")
            ),
            &[
                int("trade id", id.0)?,
                int("portfolio id", p)?,
                int("user id", user.0)?,
            ],
        )?;
        // The balance, in the same transaction, once the trade is gone.
        let balance = self.stmt(
            &format!(
                "{} AND NOT EXISTS (SELECT 1 FROM trades WHERE id = ?3)",
                recompute("?1", "?2")
            ),
            &[
                int("portfolio id", p)?,
                int("now", now)?,
                int("trade id", id.0)?,
            ],
        )?;
        let results = self.batch(vec![delete, balance], "trade").await?;
        if changes(results.first().ok_or_else(short)?)? == 0 {
            // Deleted in between by another request.
            return Err(StoreError::NotFound("trade"));
        }
        Ok(())
    }

    async fn trades_created_since(&self, user: UserId, since: i64) -> Result<u32, StoreError> {
        let stmt = self.stmt(
            &format!(
                "SELECT count(*) AS a FROM trades WHERE created_at >= ?2 AND portfolio_id IN {}",
                owned_portfolios("?1")
            ),
            &[int("user id", user.0)?, int("since", since)?],
        )?;
        let res = self.exec(stmt, "user").await?;
        let n = probe("trades", Some(&res))?.0;
        let n = read_int("trades", None, "count", n)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn create_tag(&self, new: &NewTag, max: u32) -> Result<StoredTag, StoreError> {
        exact_int("tags.created_at", new.created_at)?;
        if new.name.chars().count() > 30
            || new.color.len() != 7
            || new
                .description
                .as_ref()
                .is_some_and(|d| d.chars().count() > 200)
        {
            return Err(StoreError::Invalid(
                "tag name, colour or description".into(),
            ));
        }
        let read = self.stmt(
            "SELECT EXISTS (SELECT 1 FROM tags WHERE user_id = ?1 AND name = ?2) AS a, \
             (SELECT count(*) FROM tags WHERE user_id = ?1) AS b",
            &[int("user id", new.user_id.0)?, text(&new.name)],
        )?;
        let insert = self.stmt(
            &format!(
                "INSERT INTO tags (user_id, name, color, description, created_at) \
                 SELECT ?1, ?2, ?3, ?4, ?5 \
                 WHERE NOT EXISTS (SELECT 1 FROM tags WHERE user_id = ?1 AND name = ?2) \
                 AND (SELECT count(*) FROM tags WHERE user_id = ?1) < ?6 \
                 RETURNING {TAG_COLS}"
            ),
            &[
                int("user id", new.user_id.0)?,
                text(&new.name),
                text(&new.color),
                opt_text(new.description.as_deref()),
                int("tags.created_at", new.created_at)?,
                JsValue::from_f64(f64::from(max)),
            ],
        )?;
        let results = match self.batch(vec![read, insert], "user").await {
            Ok(r) => r,
            Err(StoreError::Conflict(_)) => return Err(StoreError::Conflict(quota::TAG_NAME)),
            Err(e) => return Err(e),
        };
        if let Some(t) = first::<TagRow, StoredTag>("tags", results.get(1))? {
            return Ok(t);
        }
        let (taken, _) = probe("tags", results.first())?;
        Err(StoreError::Conflict(if taken != 0.0 {
            quota::TAG_NAME
        } else {
            quota::TAGS
        }))
    }

    async fn tags_of(&self, user: UserId) -> Result<Vec<StoredTag>, StoreError> {
        // SQLite's default collation is bytewise, like `COLLATE "C"` on Postgres.
        let sql = format!("SELECT {TAG_COLS} FROM tags WHERE user_id = ?1 ORDER BY name, id");
        let stmt = self.stmt(&sql, &[int("user id", user.0)?])?;
        self.rows::<TagRow, StoredTag>("tags", stmt, "user").await
    }

    async fn delete_tag(&self, user: UserId, id: TagId) -> Result<(), StoreError> {
        let stmt = self.stmt(
            "DELETE FROM tags WHERE id = ?1 AND user_id = ?2",
            &[int("tag id", id.0)?, int("user id", user.0)?],
        )?;
        if changes(&self.exec(stmt, "tag").await?)? == 0 {
            Err(StoreError::NotFound("tag"))
        } else {
            Ok(())
        }
    }

    async fn set_trade_tags(
        &self,
        user: UserId,
        trade: TradeId,
        tags: &[TagId],
    ) -> Result<(), StoreError> {
        let mut ids: Vec<i64> = tags.iter().map(|t| t.0).collect();
        ids.sort_unstable();
        ids.dedup();
        for id in &ids {
            exact_int("tag id", *id)?;
        }
        // The ids travel as one JSON array parameter (`json_each`), whatever their number.
        let list = format!(
            "[{}]",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        );
        let n = i64::try_from(ids.len()).unwrap_or(i64::MAX);
        let params = [
            int("trade id", trade.0)?,
            int("user id", user.0)?,
            text(&list),
            int("tag count", n)?,
        ];
        let owned_trade = format!(
            "EXISTS (SELECT 1 FROM trades WHERE id = ?1 AND portfolio_id IN {})",
            owned_portfolios("?2")
        );
        let mine = "(SELECT count(*) FROM tags WHERE user_id = ?2 \
                    AND id IN (SELECT value FROM json_each(?3)))";
        let read = self.stmt(
            &format!("SELECT {owned_trade} AS a, {mine} = ?4 AS b"),
            &params,
        )?;
        let guard = format!("{owned_trade} AND {mine} = ?4");
        let clear = self.stmt(
            &format!("DELETE FROM trade_tags WHERE trade_id = ?1 AND {guard}"),
            &params,
        )?;
        let link = self.stmt(
            &format!(
                "INSERT INTO trade_tags (trade_id, tag_id) SELECT ?1, id FROM tags \
                 WHERE user_id = ?2 AND id IN (SELECT value FROM json_each(?3)) AND {guard}"
            ),
            &params,
        )?;
        let results = self.batch(vec![read, clear, link], "tag").await?;
        let (trade_ok, tags_ok) = probe("trades", results.first())?;
        if trade_ok == 0.0 {
            Err(StoreError::NotFound("trade"))
        } else if tags_ok == 0.0 {
            Err(StoreError::NotFound("tag"))
        } else {
            Ok(())
        }
    }

    async fn trade_tags_of(
        &self,
        user: UserId,
        portfolio: PortfolioId,
    ) -> Result<Vec<(TradeId, TagId)>, StoreError> {
        #[derive(Deserialize)]
        struct LinkRow {
            trade_id: f64,
            tag_id: f64,
        }
        let params = [int("portfolio id", portfolio.0)?, int("user id", user.0)?];
        let owned = self.stmt(
            "SELECT count(*) AS a FROM portfolios WHERE id = ?1 AND user_id = ?2",
            &params,
        )?;
        let list = self.stmt(
            &format!(
                "SELECT tt.trade_id, tt.tag_id FROM trade_tags tt \
                 JOIN trades t ON t.id = tt.trade_id \
                 WHERE t.portfolio_id = ?1 AND t.portfolio_id IN {} \
                 ORDER BY tt.trade_id, tt.tag_id",
                owned_portfolios("?2")
            ),
            &params,
        )?;
        let results = self.batch(vec![owned, list], "portfolio").await?;
        if probe("portfolios", results.first())?.0 == 0.0 {
            return Err(StoreError::NotFound("portfolio"));
        }
        decode::<LinkRow>("trade_tags", results.get(1).ok_or_else(short)?)?
            .into_iter()
            .map(|r| {
                Ok((
                    TradeId(read_int("trade_tags", None, "trade_id", r.trade_id)?),
                    TagId(read_int("trade_tags", None, "tag_id", r.tag_id)?),
                ))
            })
            .collect()
    }

    async fn add_journal_entry(
        &self,
        user: UserId,
        trade: TradeId,
        entry: &NewJournalEntry,
        max: u32,
    ) -> Result<StoredJournalEntry, StoreError> {
        exact_int("journal_entries.created_at", entry.created_at)?;
        if entry.content.chars().count() > 2000 {
            return Err(StoreError::Invalid(
                "journal content longer than 2000".into(),
            ));
        }
        let owned_trade = format!(
            "EXISTS (SELECT 1 FROM trades WHERE id = ?1 AND portfolio_id IN {})",
            owned_portfolios("?2")
        );
        let read = self.stmt(
            &format!("SELECT {owned_trade} AS a"),
            &[int("trade id", trade.0)?, int("user id", user.0)?],
        )?;
        let insert = self.stmt(
            &format!(
                "INSERT INTO journal_entries (trade_id, entry_type, content, mood, screenshots, \
                 created_at) SELECT ?1, ?3, ?4, ?5, ?6, ?7 WHERE {owned_trade} \
                 AND (SELECT count(*) FROM journal_entries WHERE trade_id = ?1) < ?8 \
                 RETURNING {JOURNAL_COLS}"
            ),
            &[
                int("trade id", trade.0)?,
                int("user id", user.0)?,
                text(entry.entry_type.as_str()),
                text(&entry.content),
                opt_text(entry.mood.map(Mood::as_str)),
                text(&links_to_json(&entry.screenshots)?),
                int("journal_entries.created_at", entry.created_at)?,
                JsValue::from_f64(f64::from(max)),
            ],
        )?;
        let results = self.batch(vec![read, insert], "trade").await?;
        if let Some(e) = first::<JournalRow, StoredJournalEntry>("journal_entries", results.get(1))?
        {
            return Ok(e);
        }
        if probe("trades", results.first())?.0 == 0.0 {
            Err(StoreError::NotFound("trade"))
        } else {
            Err(StoreError::Conflict(quota::JOURNAL))
        }
    }

    async fn journal_of(
        &self,
        user: UserId,
        trade: TradeId,
    ) -> Result<Vec<StoredJournalEntry>, StoreError> {
        let params = [int("trade id", trade.0)?, int("user id", user.0)?];
        let owned_trade = format!(
            "EXISTS (SELECT 1 FROM trades WHERE id = ?1 AND portfolio_id IN {})",
            owned_portfolios("?2")
        );
        let read = self.stmt(&format!("SELECT {owned_trade} AS a"), &params)?;
        let list = self.stmt(
            &format!(
                "SELECT {JOURNAL_COLS} FROM journal_entries WHERE trade_id = ?1 AND {owned_trade} \
                 ORDER BY id"
            ),
            &params,
        )?;
        let results = self.batch(vec![read, list], "trade").await?;
        if probe("trades", results.first())?.0 == 0.0 {
            return Err(StoreError::NotFound("trade"));
        }
        decode::<JournalRow>("journal_entries", results.get(1).ok_or_else(short)?)?
            .into_iter()
            .map(StoredJournalEntry::try_from)
            .collect()
    }

    async fn delete_journal_entry(
        &self,
        user: UserId,
        id: JournalEntryId,
    ) -> Result<(), StoreError> {
        let stmt = self.stmt(
            &format!(
                "DELETE FROM journal_entries WHERE id = ?1 AND trade_id IN \
                 (SELECT id FROM trades WHERE portfolio_id IN {})",
                owned_portfolios("?2")
            ),
            &[int("journal entry id", id.0)?, int("user id", user.0)?],
        )?;
        if changes(&self.exec(stmt, "journal entry").await?)? == 0 {
            Err(StoreError::NotFound("journal entry"))
        } else {
            Ok(())
        }
    }

    async fn journal_entry(
        &self,
        user: UserId,
        id: JournalEntryId,
    ) -> Result<Option<StoredJournalEntry>, StoreError> {
        let stmt = self.stmt(
            &format!(
                "SELECT {JOURNAL_COLS} FROM journal_entries WHERE id = ?1 AND trade_id IN \
                 (SELECT id FROM trades WHERE portfolio_id IN {})",
                owned_portfolios("?2")
            ),
            &[int("journal entry id", id.0)?, int("user id", user.0)?],
        )?;
        self.opt_row::<JournalRow, StoredJournalEntry>("journal_entries", stmt, "journal entry")
            .await
    }

    async fn edit_journal_entry(
        &self,
        user: UserId,
        id: JournalEntryId,
        entry: &NewJournalEntry,
    ) -> Result<StoredJournalEntry, StoreError> {
        if entry.content.chars().count() > 2000 {
            return Err(StoreError::Invalid(
                "journal content longer than 2000".into(),
            ));
        }
        // One owner-scoped UPDATE: another user's entry changes nothing and reads as absent.
        let stmt = self.stmt(
            &format!(
                "UPDATE journal_entries SET entry_type = ?3, content = ?4, mood = ?5, \
                 screenshots = ?6 WHERE id = ?1 AND trade_id IN \
                 (SELECT id FROM trades WHERE portfolio_id IN {}) RETURNING {JOURNAL_COLS}",
                owned_portfolios("?2")
            ),
            &[
                int("journal entry id", id.0)?,
                int("user id", user.0)?,
                text(entry.entry_type.as_str()),
                text(&entry.content),
                opt_text(entry.mood.map(Mood::as_str)),
                text(&links_to_json(&entry.screenshots)?),
            ],
        )?;
        self.opt_row::<JournalRow, StoredJournalEntry>("journal_entries", stmt, "journal entry")
            .await?
            .ok_or(StoreError::NotFound("journal entry"))
    }

    async fn edit_tag(
        &self,
        user: UserId,
        id: TagId,
        tag: &NewTag,
    ) -> Result<StoredTag, StoreError> {
        if tag.name.chars().count() > 30
            || tag.color.len() != 7
            || tag
                .description
                .as_ref()
                .is_some_and(|d| d.chars().count() > 200)
        {
            return Err(StoreError::Invalid(
                "tag name, colour or description".into(),
            ));
        }
        let args = || -> Result<Vec<JsValue>, StoreError> {
            Ok(vec![
                int("tag id", id.0)?,
                int("user id", user.0)?,
                text(&tag.name),
                text(&tag.color),
                opt_text(tag.description.as_deref()),
            ])
        };
        // One batch: the probe tells a taken name from a foreign tag; the UPDATE runs only
        // for the owner and only when no other tag of the owner has the name.
        let taken = "EXISTS (SELECT 1 FROM tags WHERE user_id = ?2 AND name = ?3 AND id <> ?1)";
        let results = self
            .batch(
                vec![
                    self.stmt(
                        &format!("SELECT {taken} AS a, 0 AS b, ?4 AS c, ?5 AS d"),
                        &args()?,
                    )?,
                    self.stmt(
                        &format!(
                            "UPDATE tags SET name = ?3, color = ?4, description = ?5 \
                             WHERE id = ?1 AND user_id = ?2 AND NOT {taken} RETURNING {TAG_COLS}"
                        ),
                        &args()?,
                    )?,
                ],
                "tag",
            )
            .await?;
        if let Some(t) = first::<TagRow, StoredTag>("tags", results.get(1))? {
            return Ok(t);
        }
        let (taken, _) = probe("tags", results.first())?;
        if taken != 0.0 {
            Err(StoreError::Conflict(quota::TAG_NAME))
        } else {
            Err(StoreError::NotFound("tag"))
        }
    }
}
