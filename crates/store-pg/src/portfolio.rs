//! The portfolio ports over Postgres: portfolios, trades, tags, trade tags, journal entries.
//!
//! Ownership is part of every statement (`… JOIN portfolios p … WHERE p.user_id = $user`), so
//! another user's row is simply not found. Multi-step writes run in one transaction:
//! - quotas: the owner's `users` row (portfolios, tags, trades per UTC day) or the trade row
//!   (journal entries) is locked `FOR NO KEY UPDATE` first, so concurrent creations are
//!   serialised and the count + insert cannot both pass the limit; it does not block the
//!   foreign-key checks of other inserts;
//! - every trade write (create, save, delete) recomputes `current_balance = initial_balance +
//!   Σ pnl_amount of closed trades` in the same transaction, so the balance never drifts;
//! - `save_trade` locks the trade row and compares its status with the one the caller read.

use crate::{get, parse, PgStore, Tx};
use cl_app::ports::{
    exact_int, finite, parse_trade_side, quota, side_as_str, JournalEntryId, JournalType, Mood,
    NewJournalEntry, NewPortfolio, NewTag, PatternId, PortfolioCurrency, PortfolioEdit,
    PortfolioId, PortfolioStore, SignalId, StoreError, StoredJournalEntry, StoredPortfolio,
    StoredTag, StoredTrade, TagId, TradeId, TradeQuota, TradeRecord, TradeStatus, UserId,
};
use cl_domain::{PatternType, Timeframe};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Row;

const PORTFOLIO_COLS: &str = "id, user_id, name, description, initial_balance, current_balance, \
     currency, is_active, created_at, updated_at";

const TRADE_COLS: &str = "t.id, t.portfolio_id, t.symbol, t.direction, t.tf, t.pattern_type, \
     t.signal_id, t.pattern_id, t.entry_price, t.entry_time, t.quantity, t.stop_loss, \
     t.take_profit, t.risk_amount, t.risk_percent, t.fees, t.exit_price, t.exit_time, \
     t.setup_notes, t.exit_notes, t.lessons, t.pnl_amount, t.pnl_percent, t.pnl_r, t.status, \
     t.created_at, t.updated_at";

const TAG_COLS: &str = "id, user_id, name, color, description, created_at";

const JOURNAL_COLS: &str = "j.id, j.trade_id, j.entry_type, j.content, j.mood, \
     ARRAY(SELECT jsonb_array_elements_text(j.screenshots)), j.created_at";

const LOCK_USER: &str = "SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE";

const OWNED_TRADE_FOR_UPDATE: &str = "SELECT t.portfolio_id, t.status FROM trades t \
     JOIN portfolios p ON p.id = t.portfolio_id WHERE t.id = $1 AND p.user_id = $2 \
     FOR NO KEY UPDATE OF t";

const RECOMPUTE_BALANCE: &str = "UPDATE portfolios SET current_balance = initial_balance + \
     COALESCE((SELECT sum(pnl_amount) FROM trades WHERE portfolio_id = $1 AND status = 'closed'), 0), \
     updated_at = $2 WHERE id = $1";

fn portfolio_row(row: &Row) -> Result<StoredPortfolio, StoreError> {
    const T: &str = "portfolios";
    let id: i64 = get(row, 0, T)?;
    let currency: &str = get(row, 6, T)?;
    Ok(StoredPortfolio {
        id: PortfolioId(id),
        user_id: UserId(get(row, 1, T)?),
        name: get(row, 2, T)?,
        description: get(row, 3, T)?,
        initial_balance: get(row, 4, T)?,
        current_balance: get(row, 5, T)?,
        currency: parse(PortfolioCurrency::parse(currency), T, Some(id))?,
        is_active: get(row, 7, T)?,
        created_at: get(row, 8, T)?,
        updated_at: get(row, 9, T)?,
    })
}

fn trade_row(row: &Row) -> Result<StoredTrade, StoreError> {
    const T: &str = "trades";
    let id: i64 = get(row, 0, T)?;
    let side: &str = get(row, 3, T)?;
    let tf: Option<&str> = get(row, 4, T)?;
    let pt: Option<&str> = get(row, 5, T)?;
    let signal: Option<i64> = get(row, 6, T)?;
    let pattern: Option<i64> = get(row, 7, T)?;
    let status: &str = get(row, 24, T)?;
    Ok(StoredTrade {
        id: TradeId(id),
        portfolio_id: PortfolioId(get(row, 1, T)?),
        record: TradeRecord {
            symbol: get(row, 2, T)?,
            side: parse(parse_trade_side(side), T, Some(id))?,
            tf: tf
                .map(|t| parse(Timeframe::parse(t), T, Some(id)))
                .transpose()?,
            pattern_type: pt
                .map(|p| parse(PatternType::parse(p), T, Some(id)))
                .transpose()?,
            signal_id: signal.map(SignalId),
            pattern_id: pattern.map(PatternId),
            entry_price: get(row, 8, T)?,
            entry_time: get(row, 9, T)?,
            quantity: get(row, 10, T)?,
            stop_loss: get(row, 11, T)?,
            take_profit: get(row, 12, T)?,
            risk_amount: get(row, 13, T)?,
            risk_percent: get(row, 14, T)?,
            fees: get(row, 15, T)?,
            exit_price: get(row, 16, T)?,
            exit_time: get(row, 17, T)?,
            setup_notes: get(row, 18, T)?,
            exit_notes: get(row, 19, T)?,
            lessons: get(row, 20, T)?,
            pnl_amount: get(row, 21, T)?,
            pnl_percent: get(row, 22, T)?,
            pnl_r: get(row, 23, T)?,
            status: parse(TradeStatus::parse(status), T, Some(id))?,
        },
        created_at: get(row, 25, T)?,
        updated_at: get(row, 26, T)?,
    })
}

fn tag_row(row: &Row) -> Result<StoredTag, StoreError> {
    const T: &str = "tags";
    Ok(StoredTag {
        id: TagId(get(row, 0, T)?),
        user_id: UserId(get(row, 1, T)?),
        name: get(row, 2, T)?,
        color: get(row, 3, T)?,
        description: get(row, 4, T)?,
        created_at: get(row, 5, T)?,
    })
}

fn journal_row(row: &Row) -> Result<StoredJournalEntry, StoreError> {
    const T: &str = "journal_entries";
    let id: i64 = get(row, 0, T)?;
    let kind: &str = get(row, 2, T)?;
    let mood: Option<&str> = get(row, 4, T)?;
    Ok(StoredJournalEntry {
        id: JournalEntryId(id),
        trade_id: TradeId(get(row, 1, T)?),
        entry: NewJournalEntry {
            entry_type: parse(JournalType::parse(kind), T, Some(id))?,
            content: get(row, 3, T)?,
            mood: mood
                .map(|m| parse(Mood::parse(m), T, Some(id)))
                .transpose()?,
            screenshots: get(row, 5, T)?,
            created_at: get(row, 6, T)?,
        },
    })
}

fn n(rows: &[Row], table: &'static str) -> Result<i64, StoreError> {
    match rows.first() {
        Some(r) => get(r, 0, table),
        None => Ok(0),
    }
}

/// Owned column values of a trade record, in statement order `$3 … $24`.
struct TradeValues {
    symbol: String,
    side: &'static str,
    tf: Option<&'static str>,
    pattern_type: Option<&'static str>,
    signal_id: Option<i64>,
    pattern_id: Option<i64>,
    r: TradeRecord,
    status: &'static str,
}

impl TradeValues {
    fn of(r: &TradeRecord) -> Self {
        Self {
            symbol: r.symbol.clone(),
            side: side_as_str(r.side),
            tf: r.tf.map(Timeframe::as_str),
            pattern_type: r.pattern_type.map(PatternType::as_str),
            signal_id: r.signal_id.map(|s| s.0),
            pattern_id: r.pattern_id.map(|p| p.0),
            r: r.clone(),
            status: r.status.as_str(),
        }
    }

    /// `$1` and `$2` are the caller's; these are `$3 … $24` plus `now` as `$25`.
    fn params<'a>(&'a self, now: &'a i64) -> Vec<(&'a (dyn ToSql + Sync), Type)> {
        let r = &self.r;
        vec![
            (&self.symbol, Type::TEXT),
            (&self.side, Type::TEXT),
            (&self.tf, Type::TEXT),
            (&self.pattern_type, Type::TEXT),
            (&self.signal_id, Type::INT8),
            (&self.pattern_id, Type::INT8),
            (&r.entry_price, Type::FLOAT8),
            (&r.entry_time, Type::INT8),
            (&r.quantity, Type::FLOAT8),
            (&r.stop_loss, Type::FLOAT8),
            (&r.take_profit, Type::FLOAT8),
            (&r.risk_amount, Type::FLOAT8),
            (&r.risk_percent, Type::FLOAT8),
            (&r.fees, Type::FLOAT8),
            (&r.exit_price, Type::FLOAT8),
            (&r.exit_time, Type::INT8),
            (&r.setup_notes, Type::TEXT),
            (&r.exit_notes, Type::TEXT),
            (&r.lessons, Type::TEXT),
            (&r.pnl_amount, Type::FLOAT8),
            (&r.pnl_percent, Type::FLOAT8),
            (&r.pnl_r, Type::FLOAT8),
            (&self.status, Type::TEXT),
            (now, Type::INT8),
        ]
    }
}

/// Runs `f` in a transaction: commit on `Ok`, roll back on `Err`.
macro_rules! in_tx {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let $tx = $store.begin().await?;
        let result = async { $body }.await;
        match result {
            Ok(v) => {
                $tx.commit().await?;
                Ok(v)
            }
            Err(e) => {
                $tx.rollback().await;
                Err(e)
            }
        }
    }};
}

async fn lock_user(tx: &Tx<'_, '_>, user: UserId) -> Result<(), StoreError> {
    if tx
        .query(LOCK_USER, &[(&user.0, Type::INT8)])
        .await?
        .is_empty()
    {
        Err(StoreError::NotFound("user"))
    } else {
        Ok(())
    }
}

async fn owned_trade(
    tx: &Tx<'_, '_>,
    user: UserId,
    id: TradeId,
) -> Result<(PortfolioId, TradeStatus), StoreError> {
    let rows = tx
        .query(
            OWNED_TRADE_FOR_UPDATE,
            &[(&id.0, Type::INT8), (&user.0, Type::INT8)],
        )
        .await?;
    let row = rows.first().ok_or(StoreError::NotFound("trade"))?;
    let status: &str = get(row, 1, "trades")?;
    Ok((
        PortfolioId(get(row, 0, "trades")?),
        parse(TradeStatus::parse(status), "trades", Some(id.0))?,
    ))
}

async fn recompute(tx: &Tx<'_, '_>, portfolio: PortfolioId, now: i64) -> Result<(), StoreError> {
    tx.query(
        RECOMPUTE_BALANCE,
        &[(&portfolio.0, Type::INT8), (&now, Type::INT8)],
    )
    .await?;
    Ok(())
}

async fn trade_by_id(tx: &Tx<'_, '_>, id: TradeId) -> Result<StoredTrade, StoreError> {
    let sql = format!("SELECT {TRADE_COLS} FROM trades t WHERE t.id = $1");
    let rows = tx.query(&sql, &[(&id.0, Type::INT8)]).await?;
    rows.first()
        .map(trade_row)
        .transpose()?
        .ok_or(StoreError::NotFound("trade"))
}

fn check_portfolio(name: &str, description: Option<&str>) -> Result<(), StoreError> {
    if name.chars().count() > 50 || description.is_some_and(|d| d.chars().count() > 2000) {
        return Err(StoreError::Invalid(
            "portfolio name or description too long".into(),
        ));
    }
    Ok(())
}

impl PortfolioStore for PgStore<'_> {
    async fn create_portfolio(
        &self,
        new: &NewPortfolio,
        max: u32,
    ) -> Result<StoredPortfolio, StoreError> {
        exact_int("portfolios.created_at", new.created_at)?;
        finite("portfolios.initial_balance", new.initial_balance)?;
        check_portfolio(&new.name, new.description.as_deref())?;
        let currency = new.currency.as_str();
        in_tx!(self, |tx| {
            lock_user(&tx, new.user_id).await?;
            let rows = tx
                .query(
                    "SELECT count(*) FROM portfolios WHERE user_id = $1",
                    &[(&new.user_id.0, Type::INT8)],
                )
                .await?;
            if n(&rows, "portfolios")? >= i64::from(max) {
                return Err(StoreError::Conflict(quota::PORTFOLIOS));
            }
            let sql = format!(
                "INSERT INTO portfolios (user_id, name, description, initial_balance, \
                 current_balance, currency, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4, $5, $6, $6) RETURNING {PORTFOLIO_COLS}"
            );
            let rows = tx
                .query(
                    &sql,
                    &[
                        (&new.user_id.0, Type::INT8),
                        (&new.name, Type::TEXT),
                        (&new.description, Type::TEXT),
                        (&new.initial_balance, Type::FLOAT8),
                        (&currency, Type::TEXT),
                        (&new.created_at, Type::INT8),
                    ],
                )
                .await?;
            rows.first()
                .map(portfolio_row)
                .transpose()?
                .ok_or(StoreError::NotFound("portfolio"))
        })
    }

    async fn portfolios_of(&self, user: UserId) -> Result<Vec<StoredPortfolio>, StoreError> {
        let sql = format!("SELECT {PORTFOLIO_COLS} FROM portfolios WHERE user_id = $1 ORDER BY id");
        self.all(&sql, &[(&user.0, Type::INT8)], portfolio_row)
            .await
    }

    async fn portfolio(
        &self,
        user: UserId,
        id: PortfolioId,
    ) -> Result<Option<StoredPortfolio>, StoreError> {
        let sql = format!("SELECT {PORTFOLIO_COLS} FROM portfolios WHERE id = $1 AND user_id = $2");
        self.opt(
            &sql,
            &[(&id.0, Type::INT8), (&user.0, Type::INT8)],
            portfolio_row,
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
        exact_int("now", now)?;
        check_portfolio(&edit.name, edit.description.as_deref())?;
        let sql = format!(
            "UPDATE portfolios SET name = $3, description = $4, is_active = $5, updated_at = $6 \
             WHERE id = $1 AND user_id = $2 RETURNING {PORTFOLIO_COLS}"
        );
        let rows = self
            .query(
                &sql,
                &[
                    (&id.0, Type::INT8),
                    (&user.0, Type::INT8),
                    (&edit.name, Type::TEXT),
                    (&edit.description, Type::TEXT),
                    (&edit.is_active, Type::BOOL),
                    (&now, Type::INT8),
                ],
            )
            .await?;
        rows.first()
            .map(portfolio_row)
            .transpose()?
            .ok_or(StoreError::NotFound("portfolio"))
    }

    async fn delete_portfolio(&self, user: UserId, id: PortfolioId) -> Result<(), StoreError> {
        let rows = self
            .query(
                "DELETE FROM portfolios WHERE id = $1 AND user_id = $2 RETURNING id",
                &[(&id.0, Type::INT8), (&user.0, Type::INT8)],
            )
            .await?;
        if rows.is_empty() {
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
        exact_int("day_start", quota.day_start)?;
        let v = TradeValues::of(record);
        in_tx!(self, |tx| {
            lock_user(&tx, user).await?;
            let owned = tx
                .query(
                    "SELECT id FROM portfolios WHERE id = $1 AND user_id = $2",
                    &[(&portfolio.0, Type::INT8), (&user.0, Type::INT8)],
                )
                .await?;
            if owned.is_empty() {
                return Err(StoreError::NotFound("portfolio"));
            }
            let rows = tx
                .query(
                    "SELECT (SELECT count(*) FROM trades WHERE portfolio_id = $1), \
                     (SELECT count(*) FROM trades t JOIN portfolios p ON p.id = t.portfolio_id \
                      WHERE p.user_id = $2 AND t.created_at >= $3)",
                    &[
                        (&portfolio.0, Type::INT8),
                        (&user.0, Type::INT8),
                        (&quota.day_start, Type::INT8),
                    ],
                )
                .await?;
            let row = rows.first().ok_or(StoreError::NotFound("portfolio"))?;
            let (total, today): (i64, i64) = (get(row, 0, "trades")?, get(row, 1, "trades")?);
            if total >= i64::from(quota.per_portfolio) {
                return Err(StoreError::Conflict(quota::TRADES));
            }
            if quota.per_day.is_some_and(|max| today >= i64::from(max)) {
                return Err(StoreError::Conflict(quota::TRADES_PER_DAY));
            }
            let mut params: Vec<(&(dyn ToSql + Sync), Type)> = vec![(&portfolio.0, Type::INT8)];
            params.extend(v.params(&now));
            let sql = "INSERT INTO trades (portfolio_id, symbol, direction, tf, pattern_type, \
                 signal_id, pattern_id, entry_price, entry_time, quantity, stop_loss, \
                 take_profit, risk_amount, risk_percent, fees, exit_price, exit_time, \
                 setup_notes, exit_notes, lessons, pnl_amount, pnl_percent, pnl_r, status, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
                 $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $25) \
                 RETURNING id";
            let rows = tx.query(sql, &params).await?;
            let row = rows.first().ok_or(StoreError::NotFound("trade"))?;
            let id = TradeId(get(row, 0, "trades")?);
            recompute(&tx, portfolio, now).await?;
            trade_by_id(&tx, id).await
        })
    }

    async fn trade(&self, user: UserId, id: TradeId) -> Result<Option<StoredTrade>, StoreError> {
        let sql = format!(
            "SELECT {TRADE_COLS} FROM trades t JOIN portfolios p ON p.id = t.portfolio_id \
             WHERE t.id = $1 AND p.user_id = $2"
        );
        self.opt(
            &sql,
            &[(&id.0, Type::INT8), (&user.0, Type::INT8)],
            trade_row,
        )
        .await
    }

    async fn trades_of(
        &self,
        user: UserId,
        portfolio: PortfolioId,
    ) -> Result<Vec<StoredTrade>, StoreError> {
        if self.portfolio(user, portfolio).await?.is_none() {
            return Err(StoreError::NotFound("portfolio"));
        }
        let sql = format!(
            "SELECT {TRADE_COLS} FROM trades t JOIN portfolios p ON p.id = t.portfolio_id \
             WHERE t.portfolio_id = $1 AND p.user_id = $2 ORDER BY t.id"
        );
        self.all(
            &sql,
            &[(&portfolio.0, Type::INT8), (&user.0, Type::INT8)],
            trade_row,
        )
        .await
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
        let v = TradeValues::of(record);
        in_tx!(self, |tx| {
            let (portfolio, status) = owned_trade(&tx, user, id).await?;
            if status != expected {
                return Err(StoreError::Conflict(quota::TRADE_CHANGED));
            }
            let mut params: Vec<(&(dyn ToSql + Sync), Type)> = vec![(&id.0, Type::INT8)];
            params.extend(v.params(&now));
            let sql = "UPDATE trades SET symbol = $2, direction = $3, tf = $4, \
                 pattern_type = $5, signal_id = $6, pattern_id = $7, entry_price = $8, \
                 entry_time = $9, quantity = $10, stop_loss = $11, take_profit = $12, \
                 risk_amount = $13, risk_percent = $14, fees = $15, exit_price = $16, \
                 exit_time = $17, setup_notes = $18, exit_notes = $19, lessons = $20, \
                 pnl_amount = $21, pnl_percent = $22, pnl_r = $23, status = $24, \
                 updated_at = $25 WHERE id = $1";
            tx.query(sql, &params).await?;
            recompute(&tx, portfolio, now).await?;
            trade_by_id(&tx, id).await
        })
    }

    async fn delete_trade(&self, user: UserId, id: TradeId, now: i64) -> Result<(), StoreError> {
        exact_int("now", now)?;
        in_tx!(self, |tx| {
            let (portfolio, _) = owned_trade(&tx, user, id).await?;
            tx.query("DELETE FROM trades WHERE id = $1", &[(&id.0, Type::INT8)])
                .await?;
            recompute(&tx, portfolio, now).await
        })
    }

    async fn trades_created_since(&self, user: UserId, since: i64) -> Result<u32, StoreError> {
        let rows = self
            .query(
                "SELECT count(*) FROM trades t JOIN portfolios p ON p.id = t.portfolio_id \
                 WHERE p.user_id = $1 AND t.created_at >= $2",
                &[(&user.0, Type::INT8), (&since, Type::INT8)],
            )
            .await?;
        Ok(u32::try_from(n(&rows, "trades")?).unwrap_or(u32::MAX))
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
        in_tx!(self, |tx| {
            lock_user(&tx, new.user_id).await?;
            let taken = tx
                .query(
                    "SELECT 1 FROM tags WHERE user_id = $1 AND name = $2",
                    &[(&new.user_id.0, Type::INT8), (&new.name, Type::TEXT)],
                )
                .await?;
            if !taken.is_empty() {
                return Err(StoreError::Conflict(quota::TAG_NAME));
            }
            let rows = tx
                .query(
                    "SELECT count(*) FROM tags WHERE user_id = $1",
                    &[(&new.user_id.0, Type::INT8)],
                )
                .await?;
            if n(&rows, "tags")? >= i64::from(max) {
                return Err(StoreError::Conflict(quota::TAGS));
            }
            let sql = format!(
                "INSERT INTO tags (user_id, name, color, description, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING {TAG_COLS}"
            );
            let rows = tx
                .query(
                    &sql,
                    &[
                        (&new.user_id.0, Type::INT8),
                        (&new.name, Type::TEXT),
                        (&new.color, Type::TEXT),
                        (&new.description, Type::TEXT),
                        (&new.created_at, Type::INT8),
                    ],
                )
                .await?;
            rows.first()
                .map(tag_row)
                .transpose()?
                .ok_or(StoreError::NotFound("tag"))
        })
    }

    async fn tags_of(&self, user: UserId) -> Result<Vec<StoredTag>, StoreError> {
        let sql = format!(
            "SELECT {TAG_COLS} FROM tags WHERE user_id = $1 ORDER BY name COLLATE \"C\", id"
        );
        self.all(&sql, &[(&user.0, Type::INT8)], tag_row).await
    }

    async fn delete_tag(&self, user: UserId, id: TagId) -> Result<(), StoreError> {
        let rows = self
            .query(
                "DELETE FROM tags WHERE id = $1 AND user_id = $2 RETURNING id",
                &[(&id.0, Type::INT8), (&user.0, Type::INT8)],
            )
            .await?;
        if rows.is_empty() {
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
        in_tx!(self, |tx| {
            owned_trade(&tx, user, trade).await?;
            let rows = tx
                .query(
                    "SELECT count(*) FROM tags WHERE user_id = $1 AND id = ANY($2)",
                    &[(&user.0, Type::INT8), (&ids, Type::INT8_ARRAY)],
                )
                .await?;
            if n(&rows, "tags")? != i64::try_from(ids.len()).unwrap_or(i64::MAX) {
                return Err(StoreError::NotFound("tag"));
            }
            tx.query(
                "DELETE FROM trade_tags WHERE trade_id = $1",
                &[(&trade.0, Type::INT8)],
            )
            .await?;
            tx.query(
                "INSERT INTO trade_tags (trade_id, tag_id) SELECT $1, unnest($2::bigint[])",
                &[(&trade.0, Type::INT8), (&ids, Type::INT8_ARRAY)],
            )
            .await?;
            Ok(())
        })
    }

    async fn trade_tags_of(
        &self,
        user: UserId,
        portfolio: PortfolioId,
    ) -> Result<Vec<(TradeId, TagId)>, StoreError> {
        if self.portfolio(user, portfolio).await?.is_none() {
            return Err(StoreError::NotFound("portfolio"));
        }
        let rows = self
            .query(
                "SELECT tt.trade_id, tt.tag_id FROM trade_tags tt \
                 JOIN trades t ON t.id = tt.trade_id JOIN portfolios p ON p.id = t.portfolio_id \
                 WHERE t.portfolio_id = $1 AND p.user_id = $2 ORDER BY tt.trade_id, tt.tag_id",
                &[(&portfolio.0, Type::INT8), (&user.0, Type::INT8)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    TradeId(get(r, 0, "trade_tags")?),
                    TagId(get(r, 1, "trade_tags")?),
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
        let kind = entry.entry_type.as_str();
        let mood = entry.mood.map(Mood::as_str);
        in_tx!(self, |tx| {
            owned_trade(&tx, user, trade).await?;
            let rows = tx
                .query(
                    "SELECT count(*) FROM journal_entries WHERE trade_id = $1",
                    &[(&trade.0, Type::INT8)],
                )
                .await?;
            if n(&rows, "journal_entries")? >= i64::from(max) {
                return Err(StoreError::Conflict(quota::JOURNAL));
            }
            let sql = format!(
                "WITH j AS (INSERT INTO journal_entries (trade_id, entry_type, content, mood, \
                 screenshots, created_at) VALUES ($1, $2, $3, $4, to_jsonb($5::text[]), $6) \
                 RETURNING *) SELECT {JOURNAL_COLS} FROM j"
            );
            let rows = tx
                .query(
                    &sql,
                    &[
                        (&trade.0, Type::INT8),
                        (&kind, Type::TEXT),
                        (&entry.content, Type::TEXT),
                        (&mood, Type::TEXT),
                        (&entry.screenshots, Type::TEXT_ARRAY),
                        (&entry.created_at, Type::INT8),
                    ],
                )
                .await?;
            rows.first()
                .map(journal_row)
                .transpose()?
                .ok_or(StoreError::NotFound("journal entry"))
        })
    }

    async fn journal_of(
        &self,
        user: UserId,
        trade: TradeId,
    ) -> Result<Vec<StoredJournalEntry>, StoreError> {
        if self.trade(user, trade).await?.is_none() {
            return Err(StoreError::NotFound("trade"));
        }
        let sql = format!(
            "SELECT {JOURNAL_COLS} FROM journal_entries j JOIN trades t ON t.id = j.trade_id \
             JOIN portfolios p ON p.id = t.portfolio_id \
             WHERE j.trade_id = $1 AND p.user_id = $2 ORDER BY j.id"
        );
        self.all(
            &sql,
            &[(&trade.0, Type::INT8), (&user.0, Type::INT8)],
            journal_row,
        )
        .await
    }

    async fn delete_journal_entry(
        &self,
        user: UserId,
        id: JournalEntryId,
    ) -> Result<(), StoreError> {
        let rows = self
            .query(
                "DELETE FROM journal_entries j USING trades t, portfolios p \
                 WHERE j.id = $1 AND t.id = j.trade_id AND p.id = t.portfolio_id \
                 AND p.user_id = $2 RETURNING j.id",
                &[(&id.0, Type::INT8), (&user.0, Type::INT8)],
            )
            .await?;
        if rows.is_empty() {
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
        let sql = format!(
            "SELECT {JOURNAL_COLS} FROM journal_entries j JOIN trades t ON t.id = j.trade_id \
             JOIN portfolios p ON p.id = t.portfolio_id WHERE j.id = $1 AND p.user_id = $2"
        );
        self.opt(
            &sql,
            &[(&id.0, Type::INT8), (&user.0, Type::INT8)],
            journal_row,
        )
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
        let sql = format!(
            "WITH j AS (UPDATE journal_entries je SET entry_type = $3, content = $4, mood = $5, \
             screenshots = to_jsonb($6::text[]) FROM trades t, portfolios p \
             WHERE je.id = $1 AND t.id = je.trade_id AND p.id = t.portfolio_id \
             AND p.user_id = $2 RETURNING je.*) SELECT {JOURNAL_COLS} FROM j"
        );
        let kind = entry.entry_type.as_str();
        let mood = entry.mood.map(Mood::as_str);
        let rows = self
            .query(
                &sql,
                &[
                    (&id.0, Type::INT8),
                    (&user.0, Type::INT8),
                    (&kind, Type::TEXT),
                    (&entry.content, Type::TEXT),
                    (&mood, Type::TEXT),
                    (&entry.screenshots, Type::TEXT_ARRAY),
                ],
            )
            .await?;
        rows.first()
            .map(journal_row)
            .transpose()?
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
        // The unique index (user_id, name) refuses a taken name: Conflict(tags.name).
        let sql = format!(
            "UPDATE tags SET name = $3, color = $4, description = $5 \
             WHERE id = $1 AND user_id = $2 RETURNING {TAG_COLS}"
        );
        let rows = self
            .query(
                &sql,
                &[
                    (&id.0, Type::INT8),
                    (&user.0, Type::INT8),
                    (&tag.name, Type::TEXT),
                    (&tag.color, Type::TEXT),
                    (&tag.description, Type::TEXT),
                ],
            )
            .await?;
        rows.first()
            .map(tag_row)
            .transpose()?
            .ok_or(StoreError::NotFound("tag"))
    }
}
