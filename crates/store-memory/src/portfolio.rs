//! The portfolio ports in memory: portfolios, trades, tags, trade tags, journal entries.
//!
//! Every call checks ownership, quotas and foreign keys first and mutates inside one
//! `RefCell` borrow with no `.await` in between (atomic like the SQL transaction). The balance
//! is recomputed as `initial + Σ pnl of closed trades` in the same borrow as every trade write.

use crate::MemoryStore;
use cl_app::ports::{
    exact_int, quota, JournalEntryId, NewJournalEntry, NewPortfolio, NewTag, PatternStore,
    PortfolioEdit, PortfolioId, PortfolioStore, SignalStore, StoreError, StoredJournalEntry,
    StoredPortfolio, StoredTag, StoredTrade, TagId, TradeId, TradeQuota, TradeRecord, TradeStatus,
    UserId, UserStore,
};
use std::collections::{BTreeMap, BTreeSet};

/// The portfolio tables.
#[derive(Debug, Default)]
pub(crate) struct PortfolioState {
    portfolios: BTreeMap<PortfolioId, StoredPortfolio>,
    trades: BTreeMap<TradeId, StoredTrade>,
    tags: BTreeMap<TagId, StoredTag>,
    trade_tags: BTreeSet<(TradeId, TagId)>,
    journal: BTreeMap<JournalEntryId, StoredJournalEntry>,
    last_portfolio: i64,
    last_trade: i64,
    last_tag: i64,
    last_journal: i64,
}

fn count<I: Iterator>(it: I) -> u32 {
    u32::try_from(it.count()).unwrap_or(u32::MAX)
}

impl PortfolioState {
    fn owned(&self, user: UserId, id: PortfolioId) -> Result<&StoredPortfolio, StoreError> {
        self.portfolios
            .get(&id)
            .filter(|p| p.user_id == user)
            .ok_or(StoreError::NotFound("portfolio"))
    }

    fn owned_trade(&self, user: UserId, id: TradeId) -> Result<&StoredTrade, StoreError> {
        self.trades
            .get(&id)
            .filter(|t| self.owned(user, t.portfolio_id).is_ok())
            .ok_or(StoreError::NotFound("trade"))
    }

    fn recompute_balance(&mut self, portfolio: PortfolioId, now: i64) {
        let pnl: f64 = self
            .trades
            .values()
            .filter(|t| t.portfolio_id == portfolio)
            .map(|t| t.record.realised_pnl())
            .sum();
        if let Some(p) = self.portfolios.get_mut(&portfolio) {
            p.current_balance = p.initial_balance + pnl;
            p.updated_at = now;
        }
    }

    fn remove_trade(&mut self, id: TradeId) {
        self.trades.remove(&id);
        self.trade_tags.retain(|(t, _)| *t != id);
        self.journal.retain(|_, j| j.trade_id != id);
    }
}

fn check_portfolio_text(name: &str, description: Option<&str>) -> Result<(), StoreError> {
    if name.chars().count() > 50 || description.is_some_and(|d| d.chars().count() > 2000) {
        return Err(StoreError::Invalid(
            "portfolio name or description too long".into(),
        ));
    }
    Ok(())
}

impl MemoryStore {
    async fn require_user(&self, user: UserId) -> Result<(), StoreError> {
        match self.user(user).await? {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound("user")),
        }
    }

    async fn require_links(&self, record: &TradeRecord) -> Result<(), StoreError> {
        if let Some(s) = record.signal_id {
            if self.signal(s).await?.is_none() {
                return Err(StoreError::NotFound("signal"));
            }
        }
        if let Some(p) = record.pattern_id {
            if self.pattern(p).await?.is_none() {
                return Err(StoreError::NotFound("pattern"));
            }
        }
        Ok(())
    }
}

impl PortfolioStore for MemoryStore {
    async fn create_portfolio(
        &self,
        new: &NewPortfolio,
        max: u32,
    ) -> Result<StoredPortfolio, StoreError> {
        exact_int("portfolios.created_at", new.created_at)?;
        cl_app::ports::finite("portfolios.initial_balance", new.initial_balance)?;
        check_portfolio_text(&new.name, new.description.as_deref())?;
        self.require_user(new.user_id).await?;
        let mut st = self.portfolio.borrow_mut();
        if count(st.portfolios.values().filter(|p| p.user_id == new.user_id)) >= max {
            return Err(StoreError::Conflict(quota::PORTFOLIOS));
        }
        st.last_portfolio += 1;
        let row = StoredPortfolio {
            id: PortfolioId(st.last_portfolio),
            user_id: new.user_id,
            name: new.name.clone(),
            description: new.description.clone(),
            initial_balance: new.initial_balance,
            current_balance: new.initial_balance,
            currency: new.currency,
            is_active: true,
            created_at: new.created_at,
            updated_at: new.created_at,
        };
        st.portfolios.insert(row.id, row.clone());
        Ok(row)
    }

    async fn portfolios_of(&self, user: UserId) -> Result<Vec<StoredPortfolio>, StoreError> {
        let st = self.portfolio.borrow();
        Ok(st
            .portfolios
            .values()
            .filter(|p| p.user_id == user)
            .cloned()
            .collect())
    }

    async fn portfolio(
        &self,
        user: UserId,
        id: PortfolioId,
    ) -> Result<Option<StoredPortfolio>, StoreError> {
        Ok(self.portfolio.borrow().owned(user, id).ok().cloned())
    }

    async fn edit_portfolio(
        &self,
        user: UserId,
        id: PortfolioId,
        edit: &PortfolioEdit,
        now: i64,
    ) -> Result<StoredPortfolio, StoreError> {
        exact_int("now", now)?;
        check_portfolio_text(&edit.name, edit.description.as_deref())?;
        let mut st = self.portfolio.borrow_mut();
        st.owned(user, id)?;
        let p = st
            .portfolios
            .get_mut(&id)
            .ok_or(StoreError::NotFound("portfolio"))?;
        p.name = edit.name.clone();
        p.description = edit.description.clone();
        p.is_active = edit.is_active;
        p.updated_at = now;
        Ok(p.clone())
    }

    async fn delete_portfolio(&self, user: UserId, id: PortfolioId) -> Result<(), StoreError> {
        let mut st = self.portfolio.borrow_mut();
        st.owned(user, id)?;
        let trades: Vec<TradeId> = st
            .trades
            .values()
            .filter(|t| t.portfolio_id == id)
            .map(|t| t.id)
            .collect();
        for t in trades {
            st.remove_trade(t);
        }
        st.portfolios.remove(&id);
        Ok(())
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
        self.require_links(record).await?;
        let mut st = self.portfolio.borrow_mut();
        st.owned(user, portfolio)?;
        if count(st.trades.values().filter(|t| t.portfolio_id == portfolio)) >= quota.per_portfolio
        {
            return Err(StoreError::Conflict(quota::TRADES));
        }
        if let Some(max) = quota.per_day {
            let today = count(st.trades.values().filter(|t| {
                t.created_at >= quota.day_start
                    && st
                        .portfolios
                        .get(&t.portfolio_id)
                        .is_some_and(|p| p.user_id == user)
            }));
            if today >= max {
                return Err(StoreError::Conflict(quota::TRADES_PER_DAY));
            }
        }
        st.last_trade += 1;
        let row = StoredTrade {
            id: TradeId(st.last_trade),
            portfolio_id: portfolio,
            record: record.clone(),
            created_at: now,
            updated_at: now,
        };
        st.trades.insert(row.id, row.clone());
        st.recompute_balance(portfolio, now);
        Ok(row)
    }

    async fn trade(&self, user: UserId, id: TradeId) -> Result<Option<StoredTrade>, StoreError> {
        Ok(self.portfolio.borrow().owned_trade(user, id).ok().cloned())
    }

    async fn trades_of(
        &self,
        user: UserId,
        portfolio: PortfolioId,
    ) -> Result<Vec<StoredTrade>, StoreError> {
        let st = self.portfolio.borrow();
        st.owned(user, portfolio)?;
        Ok(st
            .trades
            .values()
            .filter(|t| t.portfolio_id == portfolio)
            .cloned()
            .collect())
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
        self.require_links(record).await?;
        let mut st = self.portfolio.borrow_mut();
        let current = st.owned_trade(user, id)?;
        if current.record.status != expected {
            return Err(StoreError::Conflict(quota::TRADE_CHANGED));
        }
        let portfolio = current.portfolio_id;
        let row = st
            .trades
            .get_mut(&id)
            .ok_or(StoreError::NotFound("trade"))?;
        row.record = record.clone();
        row.updated_at = now;
        let saved = row.clone();
        st.recompute_balance(portfolio, now);
        Ok(saved)
    }

    async fn delete_trade(&self, user: UserId, id: TradeId, now: i64) -> Result<(), StoreError> {
        exact_int("now", now)?;
        let mut st = self.portfolio.borrow_mut();
        let portfolio = st.owned_trade(user, id)?.portfolio_id;
        st.remove_trade(id);
        st.recompute_balance(portfolio, now);
        Ok(())
    }

    async fn trades_created_since(&self, user: UserId, since: i64) -> Result<u32, StoreError> {
        let st = self.portfolio.borrow();
        Ok(count(st.trades.values().filter(|t| {
            t.created_at >= since
                && st
                    .portfolios
                    .get(&t.portfolio_id)
                    .is_some_and(|p| p.user_id == user)
        })))
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
        self.require_user(new.user_id).await?;
        let mut st = self.portfolio.borrow_mut();
        let mine = || st.tags.values().filter(|t| t.user_id == new.user_id);
        if mine().any(|t| t.name == new.name) {
            return Err(StoreError::Conflict(quota::TAG_NAME));
        }
        if count(mine()) >= max {
            return Err(StoreError::Conflict(quota::TAGS));
        }
        st.last_tag += 1;
        let row = StoredTag {
            id: TagId(st.last_tag),
            user_id: new.user_id,
            name: new.name.clone(),
            color: new.color.clone(),
            description: new.description.clone(),
            created_at: new.created_at,
        };
        st.tags.insert(row.id, row.clone());
        Ok(row)
    }

    async fn tags_of(&self, user: UserId) -> Result<Vec<StoredTag>, StoreError> {
        let st = self.portfolio.borrow();
        let mut tags: Vec<StoredTag> = st
            .tags
            .values()
            .filter(|t| t.user_id == user)
            .cloned()
            .collect();
        tags.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(tags)
    }

    async fn delete_tag(&self, user: UserId, id: TagId) -> Result<(), StoreError> {
        let mut st = self.portfolio.borrow_mut();
        if st.tags.get(&id).is_none_or(|t| t.user_id != user) {
            return Err(StoreError::NotFound("tag"));
        }
        st.tags.remove(&id);
        st.trade_tags.retain(|(_, t)| *t != id);
        Ok(())
    }

    async fn set_trade_tags(
        &self,
        user: UserId,
        trade: TradeId,
        tags: &[TagId],
    ) -> Result<(), StoreError> {
        let mut st = self.portfolio.borrow_mut();
        st.owned_trade(user, trade)?;
        if !tags
            .iter()
            .all(|t| st.tags.get(t).is_some_and(|row| row.user_id == user))
        {
            return Err(StoreError::NotFound("tag"));
        }
        st.trade_tags.retain(|(t, _)| *t != trade);
        for t in tags {
            st.trade_tags.insert((trade, *t));
        }
        Ok(())
    }

    async fn trade_tags_of(
        &self,
        user: UserId,
        portfolio: PortfolioId,
    ) -> Result<Vec<(TradeId, TagId)>, StoreError> {
        let st = self.portfolio.borrow();
        st.owned(user, portfolio)?;
        Ok(st
            .trade_tags
            .iter()
            .filter(|(t, _)| {
                st.trades
                    .get(t)
                    .is_some_and(|row| row.portfolio_id == portfolio)
            })
            .copied()
            .collect())
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
        let mut st = self.portfolio.borrow_mut();
        st.owned_trade(user, trade)?;
        if count(st.journal.values().filter(|j| j.trade_id == trade)) >= max {
            return Err(StoreError::Conflict(quota::JOURNAL));
        }
        st.last_journal += 1;
        let row = StoredJournalEntry {
            id: JournalEntryId(st.last_journal),
            trade_id: trade,
            entry: entry.clone(),
        };
        st.journal.insert(row.id, row.clone());
        Ok(row)
    }

    async fn journal_of(
        &self,
        user: UserId,
        trade: TradeId,
    ) -> Result<Vec<StoredJournalEntry>, StoreError> {
        let st = self.portfolio.borrow();
        st.owned_trade(user, trade)?;
        Ok(st
            .journal
            .values()
            .filter(|j| j.trade_id == trade)
            .cloned()
            .collect())
    }

    async fn delete_journal_entry(
        &self,
        user: UserId,
        id: JournalEntryId,
    ) -> Result<(), StoreError> {
        let mut st = self.portfolio.borrow_mut();
        let trade = st
            .journal
            .get(&id)
            .map(|j| j.trade_id)
            .ok_or(StoreError::NotFound("journal entry"))?;
        if st.owned_trade(user, trade).is_err() {
            return Err(StoreError::NotFound("journal entry"));
        }
        st.journal.remove(&id);
        Ok(())
    }

    async fn journal_entry(
        &self,
        user: UserId,
        id: JournalEntryId,
    ) -> Result<Option<StoredJournalEntry>, StoreError> {
        let st = self.portfolio.borrow();
        Ok(st
            .journal
            .get(&id)
            .filter(|j| st.owned_trade(user, j.trade_id).is_ok())
            .cloned())
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
        let mut st = self.portfolio.borrow_mut();
        let current = st
            .journal
            .get(&id)
            .filter(|j| st.owned_trade(user, j.trade_id).is_ok())
            .cloned()
            .ok_or(StoreError::NotFound("journal entry"))?;
        let row = StoredJournalEntry {
            entry: NewJournalEntry {
                created_at: current.entry.created_at,
                ..entry.clone()
            },
            ..current
        };
        st.journal.insert(id, row.clone());
        Ok(row)
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
        let mut st = self.portfolio.borrow_mut();
        let current = st
            .tags
            .get(&id)
            .filter(|t| t.user_id == user)
            .cloned()
            .ok_or(StoreError::NotFound("tag"))?;
        if st
            .tags
            .values()
            .any(|t| t.user_id == user && t.id != id && t.name == tag.name)
        {
            return Err(StoreError::Conflict(quota::TAG_NAME));
        }
        let row = StoredTag {
            name: tag.name.clone(),
            color: tag.color.clone(),
            description: tag.description.clone(),
            ..current
        };
        st.tags.insert(id, row.clone());
        Ok(row)
    }
}
