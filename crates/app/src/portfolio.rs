//! Portfolio, trades, journal and tags (product.md §7).
//!
//! Design:
//! - Request bodies arrive as plain input structs (`*Input`, what the HTTP layer deserialises);
//!   they are converted ONCE with `TryFrom` into validated drafts whose numbers are typed
//!   ([`Price`], [`Quantity`], [`Balance`]) and whose words are enums, reporting every bad
//!   field ([`FieldError`], the same shape as the account forms).
//! - PnL, PnL %, R, risk and the prefilled quantity come from `cl_domain::levels::trade`.
//! - Every store call is scoped by the owner; the balance is kept by the store in the same
//!   transaction as each trade write; quotas come from the tier [`Limits`] and are enforced
//!   atomically by the store.
//! - [`stats`] is pure: count, win rate, PnL, R, profit factor, max drawdown of the equity
//!   curve, best/worst, breakdowns by pattern type, direction and tag, and the curve.

use std::collections::BTreeMap;

use cl_domain::levels::trade::{self, Side};
use cl_domain::{PatternType, Timeframe};

use crate::accounts::FieldError;
use crate::policy::{
    Access, Quota, MAX_JOURNAL_ENTRIES_PER_TRADE, MAX_PORTFOLIOS, MAX_TAGS,
    MAX_TRADES_PER_PORTFOLIO,
};
use crate::ports::optimization::TradingPrefsStore;
use crate::ports::{
    parse_trade_side, quota, CandleStore, JournalEntryId, JournalType, Mood, NewJournalEntry,
    NewPortfolio, NewTag, PatternId, PatternStore, PortfolioCurrency, PortfolioEdit, PortfolioId,
    PortfolioStore, SignalId, SignalStore, StoreError, StoredJournalEntry, StoredPortfolio,
    StoredTag, StoredTrade, SymbolStore, TagId, TradeId, TradeQuota, TradeRecord, TradeStatus,
    UserId,
};
use crate::trading_prefs::effective_prefs;

/// Highest accepted price.
pub const MAX_PRICE: f64 = 1e9;
/// Highest accepted quantity.
pub const MAX_QUANTITY: f64 = 1e12;
/// Highest accepted initial balance.
pub const MAX_BALANCE: f64 = 1e12;
/// Longest portfolio name.
pub const MAX_NAME_CHARS: usize = 50;
/// Longest notes, descriptions and journal contents.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest tag name.
pub const MAX_TAG_NAME_CHARS: usize = 30;
/// Longest tag description.
pub const MAX_TAG_DESCRIPTION_CHARS: usize = 200;
/// Screenshot links per journal entry.
pub const MAX_SCREENSHOTS: usize = 5;
/// Longest screenshot link.
pub const MAX_SCREENSHOT_CHARS: usize = 500;
/// Longest symbol.
pub const MAX_SYMBOL_CHARS: usize = 20;

/// Most decimal places accepted on any number of a request (prices, quantities, money).
pub const MAX_DECIMALS: usize = 8;
/// The field code of a number with more than [`MAX_DECIMALS`] decimal places.
pub const TOO_MANY_DECIMALS: &str = "too_many_decimals";

const DAY_MS: i64 = 86_400_000;

/// `v` rounded to [`MAX_DECIMALS`] places: the f64 that the 8-decimal text parses to, so the
/// shortest form of the result (what [`decimals`] counts) has at most [`MAX_DECIMALS`].
pub fn round_decimals(v: f64) -> f64 {
    if !v.is_finite() {
        return v;
    }
    format!("{v:.8}").parse().unwrap_or(v)
}

/// Decimal places of `v` in its shortest round-trip form (`0.1` → 1, `1e-9` → 9).
pub fn decimals(v: f64) -> usize {
    let s = format!("{v}");
    s.split_once('.').map_or(0, |(_, frac)| frac.len())
}

// ---------------------------------------------------------------------------------------------
// Typed values
// ---------------------------------------------------------------------------------------------

macro_rules! bounded {
    ($(#[$m:meta])* $name:ident, $max:expr, $code:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
        pub struct $name(f64);

        impl $name {
            /// The value.
            pub const fn get(self) -> f64 {
                self.0
            }
        }

        impl TryFrom<f64> for $name {
            type Error = &'static str;

            fn try_from(v: f64) -> Result<Self, Self::Error> {
                if !(v.is_finite() && v > 0.0 && v <= $max) {
                    Err($code)
                } else if decimals(v) > MAX_DECIMALS {
                    Err(TOO_MANY_DECIMALS)
                } else {
                    Ok(Self(v))
                }
            }
        }
    };
}

bounded!(
    /// A price: finite, `0 < p ≤ 1e9`.
    Price,
    MAX_PRICE,
    "price_out_of_range"
);
bounded!(
    /// A quantity: finite, `0 < q ≤ 1e12`.
    Quantity,
    MAX_QUANTITY,
    "quantity_out_of_range"
);
bounded!(
    /// A balance: finite, `0 < x ≤ 1e12`.
    Balance,
    MAX_BALANCE,
    "balance_out_of_range"
);

/// Collects field errors while converting an input.
#[derive(Debug, Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: &'static str, code: &'static str, message: &str) {
        self.0.push(FieldError {
            field,
            code,
            message: message.to_owned(),
        });
    }

    fn num<T: TryFrom<f64, Error = &'static str>>(
        &mut self,
        field: &'static str,
        v: f64,
    ) -> Option<T> {
        match T::try_from(v) {
            Ok(t) => Some(t),
            Err(code) => {
                let message = if code == TOO_MANY_DECIMALS {
                    "at most 8 decimal places"
                } else {
                    "out of range"
                };
                self.add(field, code, message);
                None
            }
        }
    }

    fn text(&mut self, field: &'static str, v: &Option<String>, max: usize) -> Option<String> {
        match v {
            Some(s) if s.chars().count() > max => {
                self.add(field, "too_long", "too long");
                None
            }
            Some(s) if s.trim().is_empty() => None,
            other => other.clone(),
        }
    }

    fn done<T>(self, value: Option<T>) -> Result<T, PortfolioError> {
        match value {
            Some(v) if self.0.is_empty() => Ok(v),
            _ => Err(PortfolioError::Invalid(self.0)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs and their validated drafts
// ---------------------------------------------------------------------------------------------

/// A new portfolio as received.
#[derive(Debug, Clone, PartialEq)]
pub struct PortfolioInput {
    /// ≤ 50 chars, not blank.
    pub name: String,
    /// ≤ 2000 chars.
    pub description: Option<String>,
    /// `0 < x ≤ 1e12`.
    pub initial_balance: f64,
    /// `USD`, `USDT` or `EUR` (default USD).
    pub currency: Option<String>,
}

/// A validated new portfolio.
#[derive(Debug, Clone, PartialEq)]
pub struct PortfolioDraft {
    name: String,
    description: Option<String>,
    initial_balance: Balance,
    currency: PortfolioCurrency,
}

fn check_name(e: &mut Errors, field: &'static str, name: &str, max: usize) -> Option<String> {
    let name = name.trim();
    if name.is_empty() {
        e.add(field, "required", "required");
        None
    } else if name.chars().count() > max {
        e.add(field, "too_long", "too long");
        None
    } else {
        Some(name.to_owned())
    }
}

impl TryFrom<&PortfolioInput> for PortfolioDraft {
    type Error = PortfolioError;

    fn try_from(i: &PortfolioInput) -> Result<Self, Self::Error> {
        let mut e = Errors::default();
        let name = check_name(&mut e, "name", &i.name, MAX_NAME_CHARS);
        let description = e.text("description", &i.description, MAX_TEXT_CHARS);
        let balance = e.num::<Balance>("initial_balance", i.initial_balance);
        let currency = match i.currency.as_deref() {
            None => Some(PortfolioCurrency::Usd),
            Some(c) => PortfolioCurrency::parse(c).ok().or_else(|| {
                e.add("currency", "invalid_choice", "USD, USDT or EUR");
                None
            }),
        };
        let v = match (name, balance, currency) {
            (Some(name), Some(initial_balance), Some(currency)) => Some(Self {
                name,
                description,
                initial_balance,
                currency,
            }),
            _ => None,
        };
        e.done(v)
    }
}

/// A trade as received (create, or a full edit of a pending/open trade).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TradeInput {
    /// Symbol, e.g. `BTC/USDT`.
    pub symbol: String,
    /// `long` or `short`.
    pub direction: String,
    /// Timeframe (`1m` … `1d`).
    pub tf: Option<String>,
    /// `imbalance`, `order_block` or `liquidity_sweep`.
    pub pattern_type: Option<String>,
    /// Source signal.
    pub signal_id: Option<i64>,
    /// Source pattern.
    pub pattern_id: Option<i64>,
    /// Entry price.
    pub entry_price: f64,
    /// Entry time (UTC ms).
    pub entry_time: Option<i64>,
    /// Quantity.
    pub quantity: f64,
    /// Stop loss.
    pub stop_loss: Option<f64>,
    /// Take profit.
    pub take_profit: Option<f64>,
    /// Risk amount (default `|entry − SL|·qty`).
    pub risk_amount: Option<f64>,
    /// Fees (≥ 0, default 0).
    pub fees: Option<f64>,
    /// Setup notes.
    pub setup_notes: Option<String>,
    /// Lessons.
    pub lessons: Option<String>,
    /// `pending` (default) or `open` at creation.
    pub status: Option<String>,
}

/// A validated trade (before exit).
#[derive(Debug, Clone, PartialEq)]
pub struct TradeDraft {
    symbol: String,
    side: Side,
    tf: Option<Timeframe>,
    pattern_type: Option<PatternType>,
    signal_id: Option<SignalId>,
    pattern_id: Option<PatternId>,
    entry: Price,
    entry_time: Option<i64>,
    quantity: Quantity,
    stop_loss: Option<Price>,
    take_profit: Option<Price>,
    risk_amount: Option<f64>,
    fees: f64,
    setup_notes: Option<String>,
    lessons: Option<String>,
    status: TradeStatus,
}

fn fees(e: &mut Errors, v: Option<f64>) -> f64 {
    match v {
        None => 0.0,
        Some(f) if f.is_finite() && (0.0..=MAX_QUANTITY * MAX_PRICE).contains(&f) => {
            if decimals(f) > MAX_DECIMALS {
                e.add("fees", TOO_MANY_DECIMALS, "at most 8 decimal places");
            }
            f
        }
        Some(_) => {
            e.add("fees", "fees_out_of_range", "fees must be ≥ 0");
            0.0
        }
    }
}

/// Long needs `SL < entry < TP`; short needs `TP < entry < SL`.
fn check_levels(e: &mut Errors, side: Side, entry: f64, sl: Option<f64>, tp: Option<f64>) {
    let (sl_ok, tp_ok) = match side {
        Side::Long => (sl.is_none_or(|s| s < entry), tp.is_none_or(|t| t > entry)),
        Side::Short => (sl.is_none_or(|s| s > entry), tp.is_none_or(|t| t < entry)),
    };
    if !sl_ok {
        e.add(
            "stop_loss",
            "stop_loss_wrong_side",
            "the stop must be below the entry for a long, above for a short",
        );
    }
    if !tp_ok {
        e.add(
            "take_profit",
            "take_profit_wrong_side",
            "the target must be above the entry for a long, below for a short",
        );
    }
}

impl TryFrom<&TradeInput> for TradeDraft {
    type Error = PortfolioError;

    fn try_from(i: &TradeInput) -> Result<Self, Self::Error> {
        let mut e = Errors::default();
        let symbol = check_name(&mut e, "symbol", &i.symbol, MAX_SYMBOL_CHARS);
        let side = parse_trade_side(&i.direction).ok().or_else(|| {
            e.add("direction", "invalid_choice", "long or short");
            None
        });
        let tf = match i.tf.as_deref() {
            None => None,
            Some(t) => Timeframe::parse(t).ok().or_else(|| {
                e.add("tf", "invalid_choice", "unknown timeframe");
                None
            }),
        };
        let pattern_type = match i.pattern_type.as_deref() {
            None => None,
            Some(t) => PatternType::parse(t).ok().or_else(|| {
                e.add("pattern_type", "invalid_choice", "unknown pattern type");
                None
            }),
        };
        let entry = e.num::<Price>("entry_price", i.entry_price);
        let quantity = e.num::<Quantity>("quantity", i.quantity);
        let stop_loss = i.stop_loss.and_then(|v| e.num::<Price>("stop_loss", v));
        let take_profit = i.take_profit.and_then(|v| e.num::<Price>("take_profit", v));
        let risk_amount = match i.risk_amount {
            Some(r) if !(r.is_finite() && (0.0..=MAX_QUANTITY * MAX_PRICE).contains(&r)) => {
                e.add("risk_amount", "risk_out_of_range", "must be ≥ 0");
                None
            }
            Some(r) if decimals(r) > MAX_DECIMALS => {
                e.add("risk_amount", TOO_MANY_DECIMALS, "at most 8 decimal places");
                None
            }
            other => other,
        };
        let fees = fees(&mut e, i.fees);
        let setup_notes = e.text("setup_notes", &i.setup_notes, MAX_TEXT_CHARS);
        let lessons = e.text("lessons", &i.lessons, MAX_TEXT_CHARS);
        let status = match i.status.as_deref() {
            None | Some("pending") => Some(TradeStatus::Pending),
            Some("open") => Some(TradeStatus::Open),
            Some(_) => {
                e.add("status", "invalid_choice", "pending or open");
                None
            }
        };
        if let (Some(side), Some(entry)) = (side, entry) {
            check_levels(
                &mut e,
                side,
                entry.get(),
                stop_loss.map(Price::get),
                take_profit.map(Price::get),
            );
        }
        for (field, v) in [
            ("entry_time", i.entry_time),
            ("signal_id", i.signal_id),
            ("pattern_id", i.pattern_id),
        ] {
            if v.is_some_and(|v| !(0..=crate::ports::MAX_EXACT_INT).contains(&v)) {
                e.add(field, "out_of_range", "out of range");
            }
        }
        let v = match (symbol, side, entry, quantity, status) {
            (Some(symbol), Some(side), Some(entry), Some(quantity), Some(status)) => Some(Self {
                symbol,
                side,
                tf,
                pattern_type,
                signal_id: i.signal_id.map(SignalId),
                pattern_id: i.pattern_id.map(PatternId),
                entry,
                entry_time: i.entry_time,
                quantity,
                stop_loss,
                take_profit,
                risk_amount,
                fees,
                setup_notes,
                lessons,
                status,
            }),
            _ => None,
        };
        e.done(v)
    }
}

impl TradeDraft {
    /// The stored values, with the default risk amount and the risk % of `balance`.
    fn record(&self, balance: f64) -> TradeRecord {
        let risk = self.risk_amount.or_else(|| {
            self.stop_loss
                .map(|sl| trade::risk_amount(self.entry.get(), sl.get(), self.quantity.get()))
        });
        TradeRecord {
            symbol: self.symbol.clone(),
            side: self.side,
            tf: self.tf,
            pattern_type: self.pattern_type,
            signal_id: self.signal_id,
            pattern_id: self.pattern_id,
            entry_price: self.entry.get(),
            entry_time: self.entry_time,
            quantity: self.quantity.get(),
            stop_loss: self.stop_loss.map(Price::get),
            take_profit: self.take_profit.map(Price::get),
            risk_amount: risk,
            risk_percent: risk.and_then(|r| trade::risk_pct(r, balance)),
            fees: self.fees,
            exit_price: None,
            exit_time: None,
            setup_notes: self.setup_notes.clone(),
            exit_notes: None,
            lessons: self.lessons.clone(),
            pnl_amount: None,
            pnl_percent: None,
            pnl_r: None,
            status: self.status,
        }
    }
}

/// Closing a trade, or correcting a closed trade's exit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExitInput {
    /// Exit price.
    pub exit_price: f64,
    /// Exit time (UTC ms, ≥ entry time); `None` = now.
    pub exit_time: Option<i64>,
    /// Fees (replace the stored fees when set).
    pub fees: Option<f64>,
    /// Exit notes.
    pub exit_notes: Option<String>,
    /// Lessons.
    pub lessons: Option<String>,
}

/// Notes of any trade (the only edit a cancelled trade accepts).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NotesInput {
    /// Setup notes.
    pub setup_notes: Option<String>,
    /// Exit notes.
    pub exit_notes: Option<String>,
    /// Lessons.
    pub lessons: Option<String>,
}

/// A tag as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagInput {
    /// ≤ 30 chars.
    pub name: String,
    /// `#RRGGBB` (default `#808080`).
    pub color: Option<String>,
    /// ≤ 200 chars.
    pub description: Option<String>,
}

/// A journal entry as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalInput {
    /// `pre_trade`, `during`, `post_trade` or `lesson`.
    pub entry_type: String,
    /// ≤ 2000 chars, not blank.
    pub content: String,
    /// `confident|neutral|fearful|greedy|fomo|revenge`.
    pub mood: Option<String>,
    /// Up to 5 https links (≤ 500 chars each).
    pub screenshots: Vec<String>,
}

/// A validated tag (name ≤ 30 not blank, `#RRGGBB` colour (default grey), description ≤ 200).
fn tag_draft(user: UserId, input: &TagInput, now: i64) -> Result<NewTag, PortfolioError> {
    let mut e = Errors::default();
    let name = check_name(&mut e, "name", &input.name, MAX_TAG_NAME_CHARS);
    let color = input.color.clone().unwrap_or_else(|| "#808080".to_owned());
    if !is_color(&color) {
        e.add("color", "invalid_color", "#RRGGBB");
    }
    let description = e.text("description", &input.description, MAX_TAG_DESCRIPTION_CHARS);
    e.done(name.map(|name| NewTag {
        user_id: user,
        name,
        color,
        description,
        created_at: now,
    }))
}

/// A validated journal entry (type and mood enums, content ≤ 2000 not blank, ≤ 5 https links).
fn journal_draft(input: &JournalInput, now: i64) -> Result<NewJournalEntry, PortfolioError> {
    let mut e = Errors::default();
    let entry_type = JournalType::parse(&input.entry_type).ok().or_else(|| {
        e.add(
            "entry_type",
            "invalid_choice",
            "pre_trade, during, post_trade or lesson",
        );
        None
    });
    let content = check_name(&mut e, "content", &input.content, MAX_TEXT_CHARS);
    let mood = match input.mood.as_deref() {
        None => None,
        Some(m) => Mood::parse(m).ok().or_else(|| {
            e.add("mood", "invalid_choice", "unknown mood");
            None
        }),
    };
    if input.screenshots.len() > MAX_SCREENSHOTS {
        e.add("screenshots", "too_many", "at most 5 links");
    } else if !input.screenshots.iter().all(|s| is_https_link(s)) {
        e.add(
            "screenshots",
            "invalid_link",
            "https links of at most 500 characters",
        );
    }
    e.done(match (entry_type, content) {
        (Some(entry_type), Some(content)) => Some(NewJournalEntry {
            entry_type,
            content,
            mood,
            screenshots: input.screenshots.clone(),
            created_at: now,
        }),
        _ => None,
    })
}

fn is_color(c: &str) -> bool {
    let b = c.as_bytes();
    b.len() == 7 && b[0] == b'#' && b[1..].iter().all(u8::is_ascii_hexdigit)
}

fn is_https_link(s: &str) -> bool {
    s.len() <= MAX_SCREENSHOT_CHARS
        && s.strip_prefix("https://").is_some_and(|rest| {
            !rest.is_empty() && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
        })
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a portfolio operation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PortfolioError {
    /// Invalid fields (400 `validation_failed` with `fields`).
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// The tier has no portfolio feature (403 `tier_required`).
    #[error("the portfolio needs a higher tier")]
    TierRequired,
    /// A quota is used up (429/409 `limit_reached`; the name says which).
    #[error("limit reached: {0}")]
    LimitReached(&'static str),
    /// Absent or another user's (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Not allowed in the trade's state (409), e.g. closing a pending trade.
    #[error("not allowed while the trade is {0}")]
    WrongState(&'static str),
    /// The trade changed meanwhile (409; reload and retry).
    #[error("the trade changed meanwhile")]
    Changed,
    /// A tag name already used by this user (409).
    #[error("tag name taken")]
    TagNameTaken,
    /// No 1m candle to close at market (409).
    #[error("no market price for {0}")]
    NoMarketPrice(String),
    /// The store failed (503).
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for PortfolioError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Conflict(quota::TRADE_CHANGED) => Self::Changed,
            StoreError::Conflict(quota::TAG_NAME) => Self::TagNameTaken,
            StoreError::Conflict(
                q @ (quota::PORTFOLIOS
                | quota::TRADES
                | quota::TRADES_PER_DAY
                | quota::TAGS
                | quota::JOURNAL),
            ) => Self::LimitReached(q),
            other => Self::Store(other),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------

/// Start of the UTC day containing `now`.
pub fn utc_day_start(now: i64) -> i64 {
    now - now.rem_euclid(DAY_MS)
}

/// The portfolio use cases over a store that also serves symbols, candles, patterns and
/// signals (close at market, create from a pattern or signal).
#[derive(Debug)]
pub struct PortfolioService<'a, S> {
    store: &'a S,
}

fn portfolios_allowed(access: &Access) -> Result<u32, PortfolioError> {
    match access.limits.portfolios {
        Quota::Limited(0) => Err(PortfolioError::TierRequired),
        Quota::Limited(n) => Ok(n.min(MAX_PORTFOLIOS)),
        Quota::Unlimited => Ok(MAX_PORTFOLIOS),
    }
}

impl<'a, S> PortfolioService<'a, S>
where
    S: PortfolioStore + SymbolStore + CandleStore + PatternStore + SignalStore,
{
    /// Borrows the store.
    pub fn new(store: &'a S) -> Self {
        Self { store }
    }

    /// Creates a portfolio within the tier's count (pro 1, others ≤ 20).
    ///
    /// # Errors
    /// `Invalid`, `TierRequired`, `LimitReached`, `Store`.
    pub async fn create_portfolio(
        &self,
        user: UserId,
        access: &Access,
        input: &PortfolioInput,
        now: i64,
    ) -> Result<StoredPortfolio, PortfolioError> {
        let max = portfolios_allowed(access)?;
        let d = PortfolioDraft::try_from(input)?;
        let new = NewPortfolio {
            user_id: user,
            name: d.name,
            description: d.description,
            initial_balance: d.initial_balance.get(),
            currency: d.currency,
            created_at: now,
        };
        Ok(self.store.create_portfolio(&new, max).await?)
    }

    /// The user's portfolios.
    ///
    /// # Errors
    /// `Store`.
    pub async fn portfolios(&self, user: UserId) -> Result<Vec<StoredPortfolio>, PortfolioError> {
        Ok(self.store.portfolios_of(user).await?)
    }

    /// One of the user's portfolios.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn portfolio(
        &self,
        user: UserId,
        id: PortfolioId,
    ) -> Result<StoredPortfolio, PortfolioError> {
        self.store
            .portfolio(user, id)
            .await?
            .ok_or(PortfolioError::NotFound("portfolio"))
    }

    /// Renames / describes / (de)activates a portfolio.
    ///
    /// # Errors
    /// `Invalid`, `NotFound`, `Store`.
    pub async fn edit_portfolio(
        &self,
        user: UserId,
        id: PortfolioId,
        name: &str,
        description: Option<String>,
        is_active: bool,
        now: i64,
    ) -> Result<StoredPortfolio, PortfolioError> {
        let mut e = Errors::default();
        let name = check_name(&mut e, "name", name, MAX_NAME_CHARS);
        let description = e.text("description", &description, MAX_TEXT_CHARS);
        let edit = e.done(name.map(|name| PortfolioEdit {
            name,
            description,
            is_active,
        }))?;
        Ok(self.store.edit_portfolio(user, id, &edit, now).await?)
    }

    /// Deletes a portfolio and everything in it.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn delete_portfolio(
        &self,
        user: UserId,
        id: PortfolioId,
    ) -> Result<(), PortfolioError> {
        Ok(self.store.delete_portfolio(user, id).await?)
    }

    fn trade_quota(access: &Access, now: i64) -> Result<TradeQuota, PortfolioError> {
        let per_day = match access.limits.new_trades_per_day {
            Quota::Limited(0) => return Err(PortfolioError::TierRequired),
            Quota::Limited(n) => Some(n),
            Quota::Unlimited => None,
        };
        Ok(TradeQuota {
            per_portfolio: MAX_TRADES_PER_PORTFOLIO,
            per_day,
            day_start: utc_day_start(now),
        })
    }

    /// Creates a trade (pending or open) in one of the user's portfolios, within the tier's
    /// daily count and the per-portfolio cap.
    ///
    /// # Errors
    /// `Invalid`, `TierRequired`, `LimitReached`, `NotFound`, `Store`.
    pub async fn create_trade(
        &self,
        user: UserId,
        access: &Access,
        portfolio: PortfolioId,
        input: &TradeInput,
        now: i64,
    ) -> Result<StoredTrade, PortfolioError> {
        let quota = Self::trade_quota(access, now)?;
        let draft = TradeDraft::try_from(input)?;
        let p = self.portfolio(user, portfolio).await?;
        let record = draft.record(p.current_balance);
        Ok(self
            .store
            .create_trade(user, portfolio, &record, quota, now)
            .await?)
    }

    async fn symbol_name(&self, id: crate::ports::SymbolId) -> Result<String, PortfolioError> {
        self.store
            .list_symbols(false)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .map(|s| s.symbol)
            .ok_or(PortfolioError::NotFound("symbol"))
    }

    async fn create_with_risk(
        &self,
        user: UserId,
        access: &Access,
        portfolio: PortfolioId,
        mut input: TradeInput,
        risk_per_trade_pct: f64,
        now: i64,
    ) -> Result<StoredTrade, PortfolioError> {
        let p = self.portfolio(user, portfolio).await?;
        // Detected levels carry full f64 precision; a trade keeps at most MAX_DECIMALS, the
        // same rule a typed-in trade meets, so the prefill rounds instead of being refused.
        input.entry_price = round_decimals(input.entry_price);
        input.stop_loss = input.stop_loss.map(round_decimals);
        input.take_profit = input.take_profit.map(round_decimals);
        let sl = input.stop_loss.unwrap_or(input.entry_price);
        let qty =
            trade::prefill_quantity(p.current_balance, risk_per_trade_pct, input.entry_price, sl);
        input.quantity = round_decimals(qty.unwrap_or(0.0));
        self.create_trade(user, access, portfolio, &input, now)
            .await
    }

    /// One of the user's trades.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn trade(&self, user: UserId, id: TradeId) -> Result<StoredTrade, PortfolioError> {
        self.store
            .trade(user, id)
            .await?
            .ok_or(PortfolioError::NotFound("trade"))
    }

    /// The trades of one of the user's portfolios.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn trades(
        &self,
        user: UserId,
        portfolio: PortfolioId,
    ) -> Result<Vec<StoredTrade>, PortfolioError> {
        Ok(self.store.trades_of(user, portfolio).await?)
    }

    async fn save(
        &self,
        user: UserId,
        current: &StoredTrade,
        record: TradeRecord,
        now: i64,
    ) -> Result<StoredTrade, PortfolioError> {
        Ok(self
            .store
            .save_trade(user, current.id, current.record.status, &record, now)
            .await?)
    }

    /// Replaces the values of a pending or open trade (its status stays).
    ///
    /// # Errors
    /// `Invalid`, `NotFound`, `WrongState` (closed or cancelled), `Changed`, `Store`.
    pub async fn edit_trade(
        &self,
        user: UserId,
        id: TradeId,
        input: &TradeInput,
        now: i64,
    ) -> Result<StoredTrade, PortfolioError> {
        let current = self.trade(user, id).await?;
        let status = current.record.status;
        if !matches!(status, TradeStatus::Pending | TradeStatus::Open) {
            return Err(PortfolioError::WrongState(status.as_str()));
        }
        let draft = TradeDraft::try_from(&TradeInput {
            status: Some(status.as_str().to_owned()),
            ..input.clone()
        })?;
        let p = self.portfolio_of_trade(user, &current).await?;
        let mut record = draft.record(p.current_balance);
        record.exit_notes = current.record.exit_notes.clone();
        self.save(user, &current, record, now).await
    }

    async fn portfolio_of_trade(
        &self,
        user: UserId,
        t: &StoredTrade,
    ) -> Result<StoredPortfolio, PortfolioError> {
        self.portfolio(user, t.portfolio_id).await
    }

    /// `pending → open` (entry time defaults to now).
    ///
    /// # Errors
    /// `NotFound`, `WrongState`, `Changed`, `Invalid`, `Store`.
    pub async fn open_trade(
        &self,
        user: UserId,
        id: TradeId,
        entry_time: Option<i64>,
        now: i64,
    ) -> Result<StoredTrade, PortfolioError> {
        let current = self.trade(user, id).await?;
        if current.record.status != TradeStatus::Pending {
            return Err(PortfolioError::WrongState(current.record.status.as_str()));
        }
        let record = TradeRecord {
            status: TradeStatus::Open,
            entry_time: Some(entry_time.unwrap_or(now)),
            ..current.record.clone()
        };
        self.save(user, &current, record, now).await
    }

    /// `pending → cancelled`.
    ///
    /// # Errors
    /// `NotFound`, `WrongState`, `Changed`, `Store`.
    pub async fn cancel_trade(
        &self,
        user: UserId,
        id: TradeId,
        now: i64,
    ) -> Result<StoredTrade, PortfolioError> {
        let current = self.trade(user, id).await?;
        if current.record.status != TradeStatus::Pending {
            return Err(PortfolioError::WrongState(current.record.status.as_str()));
        }
        let record = TradeRecord {
            status: TradeStatus::Cancelled,
            ..current.record.clone()
        };
        self.save(user, &current, record, now).await
    }

    /// `open → closed` at `exit_price`: PnL, PnL % and R are computed; the balance moves in
    /// the same store transaction.
    ///
    /// # Errors
    /// `Invalid`, `NotFound`, `WrongState`, `Changed`, `Store`.
    pub async fn close_trade(
        &self,
        user: UserId,
        id: TradeId,
        input: &ExitInput,
        now: i64,
    ) -> Result<StoredTrade, PortfolioError> {
        let current = self.trade(user, id).await?;
        if current.record.status != TradeStatus::Open {
            return Err(PortfolioError::WrongState(current.record.status.as_str()));
        }
        let record = exit_record(&current.record, input, now)?;
        self.save(user, &current, record, now).await
    }

    /// Closes an open trade at the last 1m close of its symbol.
    ///
    /// # Errors
    /// `NoMarketPrice`, and the errors of [`Self::close_trade`].
    pub async fn close_at_market(
        &self,
        user: UserId,
        id: TradeId,
        now: i64,
    ) -> Result<StoredTrade, PortfolioError> {
        let current = self.trade(user, id).await?;
        let symbol = &current.record.symbol;
        let Some(sym) = self.store.symbol_by_name(symbol).await? else {
            return Err(PortfolioError::NoMarketPrice(symbol.clone()));
        };
        let last = self.store.last_candles(sym.id, Timeframe::M1, 1).await?;
        let Some(candle) = last.last() else {
            return Err(PortfolioError::NoMarketPrice(symbol.clone()));
        };
        let input = ExitInput {
            exit_price: candle.close(),
            exit_time: Some(now),
            ..ExitInput::default()
        };
        self.close_trade(user, id, &input, now).await
    }

    /// Corrects a closed trade's exit price / fees (and notes); PnL is recomputed and the
    /// balance follows in the same store transaction.
    ///
    /// # Errors
    /// `Invalid`, `NotFound`, `WrongState`, `Changed`, `Store`.
    pub async fn edit_closed_trade(
        &self,
        user: UserId,
        id: TradeId,
        input: &ExitInput,
        now: i64,
    ) -> Result<StoredTrade, PortfolioError> {
        let current = self.trade(user, id).await?;
        if current.record.status != TradeStatus::Closed {
            return Err(PortfolioError::WrongState(current.record.status.as_str()));
        }
        let input = ExitInput {
            exit_time: input.exit_time.or(current.record.exit_time),
            exit_notes: input
                .exit_notes
                .clone()
                .or(current.record.exit_notes.clone()),
            lessons: input.lessons.clone().or(current.record.lessons.clone()),
            ..input.clone()
        };
        let record = exit_record(&current.record, &input, now)?;
        self.save(user, &current, record, now).await
    }

    /// Replaces the notes of any trade (the only edit of a cancelled trade).
    ///
    /// # Errors
    /// `Invalid`, `NotFound`, `Changed`, `Store`.
    pub async fn edit_notes(
        &self,
        user: UserId,
        id: TradeId,
        input: &NotesInput,
        now: i64,
    ) -> Result<StoredTrade, PortfolioError> {
        let current = self.trade(user, id).await?;
        let mut e = Errors::default();
        let setup_notes = e.text("setup_notes", &input.setup_notes, MAX_TEXT_CHARS);
        let exit_notes = e.text("exit_notes", &input.exit_notes, MAX_TEXT_CHARS);
        let lessons = e.text("lessons", &input.lessons, MAX_TEXT_CHARS);
        let record = e.done(Some(TradeRecord {
            setup_notes,
            exit_notes,
            lessons,
            ..current.record.clone()
        }))?;
        self.save(user, &current, record, now).await
    }

    /// Deletes a trade; a closed trade's PnL leaves the balance in the same transaction.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn delete_trade(
        &self,
        user: UserId,
        id: TradeId,
        now: i64,
    ) -> Result<(), PortfolioError> {
        Ok(self.store.delete_trade(user, id, now).await?)
    }

    /// Creates a tag (≤ 100 per user, names unique per user).
    ///
    /// # Errors
    /// `Invalid`, `TagNameTaken`, `LimitReached`, `Store`.
    pub async fn create_tag(
        &self,
        user: UserId,
        input: &TagInput,
        now: i64,
    ) -> Result<StoredTag, PortfolioError> {
        let new = tag_draft(user, input, now)?;
        Ok(self.store.create_tag(&new, MAX_TAGS).await?)
    }

    /// The user's tags.
    ///
    /// # Errors
    /// `Store`.
    pub async fn tags(&self, user: UserId) -> Result<Vec<StoredTag>, PortfolioError> {
        Ok(self.store.tags_of(user).await?)
    }

    /// Deletes a tag.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn delete_tag(&self, user: UserId, id: TagId) -> Result<(), PortfolioError> {
        Ok(self.store.delete_tag(user, id).await?)
    }

    /// Replaces the tags of a trade (all must be the user's).
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn set_trade_tags(
        &self,
        user: UserId,
        trade: TradeId,
        tags: &[TagId],
    ) -> Result<(), PortfolioError> {
        let mut tags = tags.to_vec();
        tags.sort();
        tags.dedup();
        Ok(self.store.set_trade_tags(user, trade, &tags).await?)
    }

    /// Adds a journal entry (≤ 50 per trade).
    ///
    /// # Errors
    /// `Invalid`, `NotFound`, `LimitReached`, `Store`.
    pub async fn add_journal_entry(
        &self,
        user: UserId,
        trade: TradeId,
        input: &JournalInput,
        now: i64,
    ) -> Result<StoredJournalEntry, PortfolioError> {
        let entry = journal_draft(input, now)?;
        Ok(self
            .store
            .add_journal_entry(user, trade, &entry, MAX_JOURNAL_ENTRIES_PER_TRADE)
            .await?)
    }

    /// The journal of a trade.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn journal(
        &self,
        user: UserId,
        trade: TradeId,
    ) -> Result<Vec<StoredJournalEntry>, PortfolioError> {
        Ok(self.store.journal_of(user, trade).await?)
    }

    /// Deletes a journal entry.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn delete_journal_entry(
        &self,
        user: UserId,
        id: JournalEntryId,
    ) -> Result<(), PortfolioError> {
        Ok(self.store.delete_journal_entry(user, id).await?)
    }

    /// The statistics of one of the user's portfolios.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn stats(
        &self,
        user: UserId,
        portfolio: PortfolioId,
    ) -> Result<PortfolioStats, PortfolioError> {
        let p = self.portfolio(user, portfolio).await?;
        let trades = self.store.trades_of(user, portfolio).await?;
        let links = self.store.trade_tags_of(user, portfolio).await?;
        Ok(stats(&p, &trades, &links))
    }
}

/// The closed record of `current` at the exit of `input`.
fn exit_record(
    current: &TradeRecord,
    input: &ExitInput,
    now: i64,
) -> Result<TradeRecord, PortfolioError> {
    let mut e = Errors::default();
    let exit = e.num::<Price>("exit_price", input.exit_price);
    let fees = match input.fees {
        Some(_) => fees(&mut e, input.fees),
        None => current.fees,
    };
    let exit_time = input.exit_time.unwrap_or(now);
    if current.entry_time.is_some_and(|t| exit_time < t) {
        e.add(
            "exit_time",
            "exit_before_entry",
            "the exit must not be before the entry",
        );
    }
    let exit_notes = e.text("exit_notes", &input.exit_notes, MAX_TEXT_CHARS);
    let lessons = e.text("lessons", &input.lessons, MAX_TEXT_CHARS);
    let exit = e.done(exit)?;
    let pnl = trade::pnl(
        current.side,
        current.entry_price,
        exit.get(),
        current.quantity,
        fees,
    );
    Ok(TradeRecord {
        exit_price: Some(exit.get()),
        exit_time: Some(exit_time),
        fees,
        exit_notes: exit_notes.or(current.exit_notes.clone()),
        lessons: lessons.or(current.lessons.clone()),
        pnl_amount: Some(pnl),
        pnl_percent: trade::pnl_pct(pnl, current.entry_price, current.quantity),
        pnl_r: current.risk_amount.and_then(|r| trade::r_multiple(pnl, r)),
        status: TradeStatus::Closed,
        ..current.clone()
    })
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

/// Aggregates of a group of closed trades.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupStats {
    /// Closed trades.
    pub count: u32,
    /// Trades with PnL > 0.
    pub wins: u32,
    /// `wins / count · 100` (`None` without trades).
    pub win_rate: Option<f64>,
    /// Σ PnL.
    pub total_pnl: f64,
}

/// One point of the equity curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EquityPoint {
    /// When (portfolio creation, then each exit).
    pub at: i64,
    /// Balance after it.
    pub equity: f64,
}

/// Statistics of a portfolio (closed trades only).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PortfolioStats {
    /// Closed trades, win count and rate, total PnL.
    pub overall: GroupStats,
    /// Average PnL.
    pub avg_pnl: Option<f64>,
    /// Average R over trades that have one.
    pub avg_r: Option<f64>,
    /// Gross profit / gross loss (`None` without losses).
    pub profit_factor: Option<f64>,
    /// Largest peak-to-trough fall of the equity curve, in money.
    pub max_drawdown: f64,
    /// The same fall as % of its peak.
    pub max_drawdown_pct: f64,
    /// Best trade (highest PnL).
    pub best: Option<(TradeId, f64)>,
    /// Worst trade (lowest PnL).
    pub worst: Option<(TradeId, f64)>,
    /// By pattern type (`none` when unset).
    pub by_pattern_type: BTreeMap<&'static str, GroupStats>,
    /// By direction (`long` / `short`).
    pub by_direction: BTreeMap<&'static str, GroupStats>,
    /// By tag id.
    pub by_tag: BTreeMap<TagId, GroupStats>,
    /// Equity curve, starting at the initial balance.
    pub equity_curve: Vec<EquityPoint>,
}

impl GroupStats {
    fn add(&mut self, pnl: f64) {
        self.count += 1;
        if pnl > 0.0 {
            self.wins += 1;
        }
        self.total_pnl += pnl;
        self.win_rate = Some(f64::from(self.wins) / f64::from(self.count) * 100.0);
    }
}

/// Computes the statistics of a portfolio from its trades and tag links (pure).
pub fn stats(
    portfolio: &StoredPortfolio,
    trades: &[StoredTrade],
    links: &[(TradeId, TagId)],
) -> PortfolioStats {
    let mut closed: Vec<(&StoredTrade, f64)> = trades
        .iter()
        .filter(|t| t.record.status == TradeStatus::Closed)
        .filter_map(|t| t.record.pnl_amount.map(|p| (t, p)))
        .collect();
    closed.sort_by_key(|(t, _)| (t.record.exit_time.unwrap_or(t.updated_at), t.id));
    let mut s = PortfolioStats::default();
    let (mut gross_win, mut gross_loss) = (0.0, 0.0);
    let mut rs = Vec::new();
    let mut equity = portfolio.initial_balance;
    let mut peak = equity;
    s.equity_curve.push(EquityPoint {
        at: portfolio.created_at,
        equity,
    });
    for (t, pnl) in &closed {
        let pnl = *pnl;
        s.overall.add(pnl);
        if pnl > 0.0 {
            gross_win += pnl;
        } else {
            gross_loss -= pnl;
        }
        if let Some(r) = t.record.pnl_r {
            rs.push(r);
        }
        let pt = t.record.pattern_type.map_or("none", PatternType::as_str);
        s.by_pattern_type.entry(pt).or_default().add(pnl);
        s.by_direction
            .entry(crate::ports::side_as_str(t.record.side))
            .or_default()
            .add(pnl);
        for (_, tag) in links.iter().filter(|(id, _)| *id == t.id) {
            s.by_tag.entry(*tag).or_default().add(pnl);
        }
        if s.best.is_none_or(|(_, b)| pnl > b) {
            s.best = Some((t.id, pnl));
        }
        if s.worst.is_none_or(|(_, w)| pnl < w) {
            s.worst = Some((t.id, pnl));
        }
        equity += pnl;
        s.equity_curve.push(EquityPoint {
            at: t.record.exit_time.unwrap_or(t.updated_at),
            equity,
        });
        peak = peak.max(equity);
        let dd = peak - equity;
        if dd > s.max_drawdown {
            s.max_drawdown = dd;
            s.max_drawdown_pct = if peak > 0.0 { dd / peak * 100.0 } else { 0.0 };
        }
    }
    let n = f64::from(s.overall.count);
    s.avg_pnl = (s.overall.count > 0).then(|| s.overall.total_pnl / n);
    s.avg_r = (!rs.is_empty()).then(|| rs.iter().sum::<f64>() / rs.len() as f64);
    s.profit_factor = (gross_loss > 0.0).then(|| gross_win / gross_loss);
    s
}

// ---------------------------------------------------------------------------------------------
// Partial edits, filtered pages and the feature gate (for the HTTP layer)
// ---------------------------------------------------------------------------------------------

/// `PATCH /portfolios/{id}`: absent fields keep their value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortfolioPatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New active flag.
    pub is_active: Option<bool>,
}

/// `PATCH /trades/{id}`: absent fields keep their value. Which fields a trade accepts depends
/// on its state (product.md §7): pending/open every value; closed only the exit price, exit
/// time, fees and notes (PnL recomputed); cancelled only notes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TradePatch {
    /// Symbol.
    pub symbol: Option<String>,
    /// `long` / `short`.
    pub direction: Option<String>,
    /// Timeframe.
    pub tf: Option<String>,
    /// Pattern type.
    pub pattern_type: Option<String>,
    /// Entry price.
    pub entry_price: Option<f64>,
    /// Entry time.
    pub entry_time: Option<i64>,
    /// Quantity.
    pub quantity: Option<f64>,
    /// Stop loss.
    pub stop_loss: Option<f64>,
    /// Take profit.
    pub take_profit: Option<f64>,
    /// Risk amount.
    pub risk_amount: Option<f64>,
    /// Fees.
    pub fees: Option<f64>,
    /// Exit price (closed trades).
    pub exit_price: Option<f64>,
    /// Exit time (closed trades).
    pub exit_time: Option<i64>,
    /// Setup notes.
    pub setup_notes: Option<String>,
    /// Exit notes.
    pub exit_notes: Option<String>,
    /// Lessons.
    pub lessons: Option<String>,
}

impl TradePatch {
    /// The names of the value fields set (everything but notes).
    fn value_fields(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let mut add = |set: bool, name| {
            if set {
                v.push(name);
            }
        };
        add(self.symbol.is_some(), "symbol");
        add(self.direction.is_some(), "direction");
        add(self.tf.is_some(), "tf");
        add(self.pattern_type.is_some(), "pattern_type");
        add(self.entry_price.is_some(), "entry_price");
        add(self.entry_time.is_some(), "entry_time");
        add(self.quantity.is_some(), "quantity");
        add(self.stop_loss.is_some(), "stop_loss");
        add(self.take_profit.is_some(), "take_profit");
        add(self.risk_amount.is_some(), "risk_amount");
        add(self.fees.is_some(), "fees");
        add(self.exit_price.is_some(), "exit_price");
        add(self.exit_time.is_some(), "exit_time");
        v
    }
}

/// Filters of a trade page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TradeFilter {
    /// Only this state.
    pub status: Option<TradeStatus>,
    /// Only this symbol.
    pub symbol: Option<String>,
    /// Only this side.
    pub side: Option<Side>,
}

/// The portfolio feature gate of every portfolio route (reads included): a tier without
/// portfolios (free) gets `TierRequired`.
///
/// # Errors
/// `TierRequired`.
pub fn require_portfolio_feature(access: &Access) -> Result<(), PortfolioError> {
    if access.limits.portfolios.is_available() {
        Ok(())
    } else {
        Err(PortfolioError::TierRequired)
    }
}

fn not_editable(e: &mut Errors, fields: &[&'static str], state: &str) {
    for f in fields {
        e.add(
            f,
            "not_editable",
            &format!("cannot be changed while the trade is {state}"),
        );
    }
}

/// The prefilled trades: they also read the user's trading preferences.
impl<S> PortfolioService<'_, S>
where
    S: PortfolioStore + SymbolStore + CandleStore + PatternStore + SignalStore + TradingPrefsStore,
{
    /// Creates a pending trade prefilled from a pattern: entry, SL, TP1, side
    /// (bullish → long), symbol, TF, type and link; quantity from the user's risk per trade
    /// (`balance × risk% / |entry − SL|`), read once through the trading-preferences port
    /// (default 1 %, see [`crate::trading_prefs`]).
    ///
    /// # Errors
    /// `NotFound("pattern")`, `Invalid` (no usable quantity), the errors of
    /// [`Self::create_trade`].
    pub async fn create_from_pattern(
        &self,
        user: UserId,
        access: &Access,
        portfolio: PortfolioId,
        pattern: PatternId,
        now: i64,
    ) -> Result<StoredTrade, PortfolioError> {
        let pat = self
            .store
            .pattern(pattern)
            .await?
            .ok_or(PortfolioError::NotFound("pattern"))?;
        let symbol = self.symbol_name(pat.symbol).await?;
        let l = pat.levels;
        let input = TradeInput {
            symbol,
            direction: crate::ports::side_as_str(Side::from(pat.direction)).to_owned(),
            tf: Some(pat.tf.as_str().to_owned()),
            pattern_type: Some(pat.pattern_type.as_str().to_owned()),
            pattern_id: Some(pattern.0),
            entry_price: l.entry,
            stop_loss: Some(l.stop_loss),
            take_profit: Some(l.tp1),
            ..TradeInput::default()
        };
        self.create_prefilled(user, access, portfolio, input, now)
            .await
    }

    /// Creates a pending trade prefilled from a signal (like [`Self::create_from_pattern`]).
    ///
    /// # Errors
    /// `NotFound("signal")`, `Invalid`, the errors of [`Self::create_trade`].
    pub async fn create_from_signal(
        &self,
        user: UserId,
        access: &Access,
        portfolio: PortfolioId,
        signal: SignalId,
        now: i64,
    ) -> Result<StoredTrade, PortfolioError> {
        let sig = self
            .store
            .signal(signal)
            .await?
            .ok_or(PortfolioError::NotFound("signal"))?;
        let symbol = self.symbol_name(sig.symbol).await?;
        let input = TradeInput {
            symbol,
            direction: crate::ports::side_as_str(Side::from(sig.direction)).to_owned(),
            signal_id: Some(signal.0),
            pattern_id: sig.pattern_id.map(|p| p.0),
            entry_price: sig.entry,
            stop_loss: Some(sig.stop_loss),
            take_profit: Some(sig.tp1),
            ..TradeInput::default()
        };
        self.create_prefilled(user, access, portfolio, input, now)
            .await
    }

    async fn create_prefilled(
        &self,
        user: UserId,
        access: &Access,
        portfolio: PortfolioId,
        input: TradeInput,
        now: i64,
    ) -> Result<StoredTrade, PortfolioError> {
        // Checked before the preference read, so a refused tier costs no extra store read.
        Self::trade_quota(access, now)?;
        let prefs = effective_prefs(self.store, Some(user), access).await?;
        self.create_with_risk(
            user,
            access,
            portfolio,
            input,
            prefs.risk_per_trade_pct(),
            now,
        )
        .await
    }
}

impl<S> PortfolioService<'_, S>
where
    S: PortfolioStore + SymbolStore + CandleStore + PatternStore + SignalStore,
{
    /// Edits some of a portfolio's fields.
    ///
    /// # Errors
    /// `Invalid`, `NotFound`, `Store`.
    pub async fn patch_portfolio(
        &self,
        user: UserId,
        id: PortfolioId,
        patch: &PortfolioPatch,
        now: i64,
    ) -> Result<StoredPortfolio, PortfolioError> {
        let p = self.portfolio(user, id).await?;
        let name = patch.name.clone().unwrap_or(p.name);
        let description = patch.description.clone().or(p.description);
        let is_active = patch.is_active.unwrap_or(p.is_active);
        self.edit_portfolio(user, id, &name, description, is_active, now)
            .await
    }

    /// One page of a portfolio's trades, newest first (`created_at` desc, ties by id desc),
    /// after `cursor`; the next cursor when more rows follow. The per-portfolio cap (10 000)
    /// bounds the rows read.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn trades_page(
        &self,
        user: UserId,
        portfolio: PortfolioId,
        filter: &TradeFilter,
        limit: usize,
        cursor: Option<crate::ports::Cursor>,
    ) -> Result<(Vec<StoredTrade>, Option<crate::ports::Cursor>), PortfolioError> {
        self.portfolio(user, portfolio).await?;
        let mut rows: Vec<StoredTrade> = self
            .store
            .trades_of(user, portfolio)
            .await?
            .into_iter()
            .filter(|t| filter.status.is_none_or(|s| t.record.status == s))
            .filter(|t| filter.side.is_none_or(|s| t.record.side == s))
            .filter(|t| {
                filter
                    .symbol
                    .as_deref()
                    .is_none_or(|s| t.record.symbol == s)
            })
            .filter(|t| cursor.is_none_or(|c| c.is_before(t.created_at, t.id.0)))
            .collect();
        rows.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = more
            .then(|| rows.last())
            .flatten()
            .map(|t| crate::ports::Cursor {
                ts: t.created_at,
                id: t.id.0,
            });
        Ok((rows, next))
    }

    /// Applies a partial edit allowed by the trade's state (see [`TradePatch`]).
    ///
    /// # Errors
    /// `Invalid` (bad values, or `not_editable` fields for the state), `NotFound`, `Changed`,
    /// `Store`.
    pub async fn patch_trade(
        &self,
        user: UserId,
        id: TradeId,
        patch: &TradePatch,
        now: i64,
    ) -> Result<StoredTrade, PortfolioError> {
        let current = self.trade(user, id).await?;
        let r = &current.record;
        let state = r.status.as_str();
        let values = patch.value_fields();
        match r.status {
            TradeStatus::Pending | TradeStatus::Open => {
                let mut e = Errors::default();
                let exits: Vec<&'static str> = values
                    .iter()
                    .copied()
                    .filter(|f| matches!(*f, "exit_price" | "exit_time"))
                    .collect();
                not_editable(&mut e, &exits, state);
                e.done(Some(()))?;
                let input = TradeInput {
                    symbol: patch.symbol.clone().unwrap_or_else(|| r.symbol.clone()),
                    direction: patch
                        .direction
                        .clone()
                        .unwrap_or_else(|| crate::ports::side_as_str(r.side).to_owned()),
                    tf: patch
                        .tf
                        .clone()
                        .or_else(|| r.tf.map(|t| t.as_str().to_owned())),
                    pattern_type: patch
                        .pattern_type
                        .clone()
                        .or_else(|| r.pattern_type.map(|t| t.as_str().to_owned())),
                    signal_id: r.signal_id.map(|s| s.0),
                    pattern_id: r.pattern_id.map(|p| p.0),
                    entry_price: patch.entry_price.unwrap_or(r.entry_price),
                    entry_time: patch.entry_time.or(r.entry_time),
                    quantity: patch.quantity.unwrap_or(r.quantity),
                    stop_loss: patch.stop_loss.or(r.stop_loss),
                    take_profit: patch.take_profit.or(r.take_profit),
                    // A changed level or size recomputes the default risk.
                    risk_amount: patch.risk_amount.or(
                        if patch.entry_price.is_some()
                            || patch.quantity.is_some()
                            || patch.stop_loss.is_some()
                        {
                            None
                        } else {
                            r.risk_amount
                        },
                    ),
                    fees: patch.fees.or(Some(r.fees)),
                    setup_notes: patch.setup_notes.clone().or(r.setup_notes.clone()),
                    lessons: patch.lessons.clone().or(r.lessons.clone()),
                    status: None,
                };
                let mut saved = self.edit_trade(user, id, &input, now).await?;
                if patch.exit_notes.is_some() {
                    saved = self
                        .edit_notes(user, id, &self.merged_notes(&saved, patch), now)
                        .await?;
                }
                Ok(saved)
            }
            TradeStatus::Closed => {
                let mut e = Errors::default();
                let others: Vec<&'static str> = values
                    .iter()
                    .copied()
                    .filter(|f| !matches!(*f, "exit_price" | "exit_time" | "fees"))
                    .collect();
                not_editable(&mut e, &others, state);
                e.done(Some(()))?;
                let saved = if patch.exit_price.is_some()
                    || patch.exit_time.is_some()
                    || patch.fees.is_some()
                {
                    let input = ExitInput {
                        exit_price: patch.exit_price.or(r.exit_price).unwrap_or(r.entry_price),
                        exit_time: patch.exit_time,
                        fees: patch.fees,
                        exit_notes: patch.exit_notes.clone(),
                        lessons: patch.lessons.clone(),
                    };
                    self.edit_closed_trade(user, id, &input, now).await?
                } else {
                    current.clone()
                };
                if patch.setup_notes.is_some()
                    || patch.exit_notes.is_some()
                    || patch.lessons.is_some()
                {
                    return self
                        .edit_notes(user, id, &self.merged_notes(&saved, patch), now)
                        .await;
                }
                Ok(saved)
            }
            TradeStatus::Cancelled => {
                let mut e = Errors::default();
                not_editable(&mut e, &values, state);
                e.done(Some(()))?;
                self.edit_notes(user, id, &self.merged_notes(&current, patch), now)
                    .await
            }
        }
    }

    fn merged_notes(&self, t: &StoredTrade, patch: &TradePatch) -> NotesInput {
        NotesInput {
            setup_notes: patch.setup_notes.clone().or(t.record.setup_notes.clone()),
            exit_notes: patch.exit_notes.clone().or(t.record.exit_notes.clone()),
            lessons: patch.lessons.clone().or(t.record.lessons.clone()),
        }
    }

    /// One of the user's tags.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn tag(&self, user: UserId, id: TagId) -> Result<StoredTag, PortfolioError> {
        self.store
            .tags_of(user)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or(PortfolioError::NotFound("tag"))
    }

    /// The tag ids of one of the user's trades.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn tags_of_trade(
        &self,
        user: UserId,
        trade: TradeId,
    ) -> Result<Vec<TagId>, PortfolioError> {
        let t = self.trade(user, trade).await?;
        Ok(self
            .store
            .trade_tags_of(user, t.portfolio_id)
            .await?
            .into_iter()
            .filter(|(id, _)| *id == trade)
            .map(|(_, tag)| tag)
            .collect())
    }
}

/// `PATCH /journal/{id}`: absent members keep their value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JournalPatch {
    /// Type.
    pub entry_type: Option<String>,
    /// Content.
    pub content: Option<String>,
    /// Mood.
    pub mood: Option<String>,
    /// Screenshot links (the whole list).
    pub screenshots: Option<Vec<String>>,
}

/// `PATCH /tags/{id}`: absent members keep their value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagPatch {
    /// Name.
    pub name: Option<String>,
    /// Colour.
    pub color: Option<String>,
    /// Description.
    pub description: Option<String>,
}

impl<S> PortfolioService<'_, S>
where
    S: PortfolioStore + SymbolStore + CandleStore + PatternStore + SignalStore,
{
    /// One of the user's journal entries.
    ///
    /// # Errors
    /// `NotFound`, `Store`.
    pub async fn journal_entry(
        &self,
        user: UserId,
        id: JournalEntryId,
    ) -> Result<StoredJournalEntry, PortfolioError> {
        self.store
            .journal_entry(user, id)
            .await?
            .ok_or(PortfolioError::NotFound("journal entry"))
    }

    /// Edits a journal entry (validated like a new one; its trade and time stay).
    ///
    /// # Errors
    /// `Invalid`, `NotFound`, `Store`.
    pub async fn patch_journal_entry(
        &self,
        user: UserId,
        id: JournalEntryId,
        patch: &JournalPatch,
    ) -> Result<StoredJournalEntry, PortfolioError> {
        let current = self.journal_entry(user, id).await?;
        let c = &current.entry;
        let input = JournalInput {
            entry_type: patch
                .entry_type
                .clone()
                .unwrap_or_else(|| c.entry_type.as_str().to_owned()),
            content: patch.content.clone().unwrap_or_else(|| c.content.clone()),
            mood: patch
                .mood
                .clone()
                .or_else(|| c.mood.map(|m| m.as_str().to_owned())),
            screenshots: patch
                .screenshots
                .clone()
                .unwrap_or_else(|| c.screenshots.clone()),
        };
        let entry = journal_draft(&input, c.created_at)?;
        Ok(self.store.edit_journal_entry(user, id, &entry).await?)
    }

    /// Renames / recolours / describes a tag (validated like a new one).
    ///
    /// # Errors
    /// `Invalid`, `TagNameTaken`, `NotFound`, `Store`.
    pub async fn patch_tag(
        &self,
        user: UserId,
        id: TagId,
        patch: &TagPatch,
    ) -> Result<StoredTag, PortfolioError> {
        let current = self.tag(user, id).await?;
        let input = TagInput {
            name: patch.name.clone().unwrap_or(current.name),
            color: Some(patch.color.clone().unwrap_or(current.color)),
            description: patch.description.clone().or(current.description),
        };
        let tag = tag_draft(user, &input, current.created_at)?;
        Ok(self.store.edit_tag(user, id, &tag).await?)
    }
}
