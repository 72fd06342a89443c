//! The portfolio routes (product.md §7, §3): portfolios, trades and their state machine,
//! prefill from a pattern or signal, tags, journal entries and statistics. Thin over
//! `cl_app::portfolio::PortfolioService`.
//!
//! Design:
//! - The access gate has run (session + CSRF, or an API key with `read:portfolio` /
//!   `write:portfolio`). Every handler then applies the tier's portfolio feature gate (free →
//!   `tier_required`) and passes the caller's `UserId` to the service, whose store calls are
//!   owner-scoped: another user's id reads as absent → 404, never 403.
//! - Bodies: [`parse`] checks media type, size, UTF-8, depth, and each member's JSON TYPE
//!   (string, number, integer, boolean, list) against the DTO's member table, reporting every
//!   unknown, missing or mistyped member at once; serde (`deny_unknown_fields`) is the second
//!   lock. Ranges, finiteness, decimals and enums are checked by the use case's `TryFrom`
//!   conversions, before anything is written.
//! - PnL, %, R and the balance come from the domain through the service; handlers only map.
//! - [`PortfolioError`] → [`ApiError`] in ONE `From` impl: quotas → 403 `quota_exceeded`,
//!   state and name conflicts → 409.

use crate::access::Caller;
use crate::context::RequestContext;
use crate::error::{self, ApiError};
use crate::http::{Request, Response};
use crate::params::{Extract, IdParams, NoParams, TradesParams};
use crate::routes::{PathParams, Route};
use cl_api_types::{
    EquityPointDto, ErrorCode, FieldError, GroupStatsDto, JournalEntryDto, JournalRequest,
    PortfolioCreateRequest, PortfolioDto, PortfolioPatchRequest, PortfolioStatsDto, Removed,
    TagDto, TagRequest, TradeCloseRequest, TradeCreateRequest, TradeDto, TradeFromSourceRequest,
    TradeOpenRequest, TradePatchRequest, TradePnlDto, TradeTagsDto, TradeTagsRequest,
};
use cl_app::policy::Access as TierAccess;
use cl_app::portfolio::{
    require_portfolio_feature, ExitInput, GroupStats, JournalInput, JournalPatch, PortfolioError,
    PortfolioInput, PortfolioPatch, PortfolioService, PortfolioStats, TagInput, TagPatch,
    TradeFilter, TradeInput, TradePatch,
};
use cl_app::ports::backtests::BacktestStore;
use cl_app::ports::exchange_credentials::ExchangeCredentialStore;
use cl_app::ports::optimization::TradingPrefsStore;
use cl_app::ports::{
    side_as_str, CandleStore, JournalEntryId, PatternId, PatternStore, PortfolioId, PortfolioStore,
    SignalId, SignalStore, StoredJournalEntry, StoredPortfolio, StoredTag, StoredTrade,
    SymbolStore, TagId, TradeId, TradeStatus, UserId,
};
use cl_auth::crypto::Keyring;
use cl_domain::levels::trade::Side;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

/// Longest string member accepted by this layer (the use cases cap each field lower).
const MAX_STRING_CHARS: usize = 4_000;
/// Most elements of a list member.
const MAX_LIST_ITEMS: usize = 100;

/// Every store port the portfolio and credentials routes need (one bound on the account bundle).
pub trait PortfolioStores:
    PortfolioStore
    + ExchangeCredentialStore
    + BacktestStore
    + SymbolStore
    + CandleStore
    + PatternStore
    + SignalStore
    + TradingPrefsStore
{
}
impl<T> PortfolioStores for T where
    T: PortfolioStore
        + ExchangeCredentialStore
        + BacktestStore
        + SymbolStore
        + CandleStore
        + PatternStore
        + SignalStore
        + TradingPrefsStore
{
}

/// A route family served behind the account gate without widening the account bundle's store
/// bound: the worker builds it over its store and hands it over as a trait object.
pub trait FamilyRoutes {
    /// Serves one of the family's routes.
    fn serve<'a>(
        &'a self,
        route: Route,
        path: &'a PathParams,
        caller: &'a Caller,
        req: &'a Request,
        ctx: &'a RequestContext,
    ) -> Pin<Box<dyn Future<Output = Result<Response, ApiError>> + 'a>>;
}

/// The portfolio and exchange-credential routes over one store.
#[derive(Debug)]
pub struct PortfolioRoutes<'a, S> {
    /// The store.
    pub store: &'a S,
    /// `CREDENTIALS_ENCRYPTION_KEY` (`None`: the credential routes answer 503).
    pub credential_keys: Option<&'a Keyring>,
}

impl<S: PortfolioStores> FamilyRoutes for PortfolioRoutes<'_, S> {
    fn serve<'a>(
        &'a self,
        route: Route,
        path: &'a PathParams,
        caller: &'a Caller,
        req: &'a Request,
        ctx: &'a RequestContext,
    ) -> Pin<Box<dyn Future<Output = Result<Response, ApiError>> + 'a>> {
        Box::pin(async move {
            if crate::credentials::handles(route) {
                let keys = self.credential_keys;
                crate::credentials::serve(self.store, keys, route, path, caller, req, ctx).await
            } else if crate::backtests::handles(route) {
                crate::backtests::serve(self.store, route, path, caller, req, ctx).await
            } else {
                serve(self.store, route, path, caller, req, ctx).await
            }
        })
    }
}

/// The routes this module serves.
pub const ROUTES: &[Route] = &[
    Route::Portfolios,
    Route::PortfolioCreate,
    Route::Portfolio,
    Route::PortfolioEdit,
    Route::PortfolioDelete,
    Route::PortfolioStats,
    Route::PortfolioTrades,
    Route::TradeCreate,
    Route::TradeFromPattern,
    Route::TradeFromSignal,
    Route::Trade,
    Route::TradeEdit,
    Route::TradeDelete,
    Route::TradeOpen,
    Route::TradeClose,
    Route::TradeCloseMarket,
    Route::TradeCancel,
    Route::TradeJournal,
    Route::TradeJournalAdd,
    Route::TradeTags,
    Route::TradeTagsSet,
    Route::JournalDelete,
    Route::JournalEntry,
    Route::JournalEdit,
    Route::TagEdit,
    Route::Tags,
    Route::TagCreate,
    Route::Tag,
    Route::TagDelete,
];

/// Whether `route` is one of [`ROUTES`].
pub fn handles(route: Route) -> bool {
    ROUTES.contains(&route)
}

/// Whether [`FamilyRoutes`] serves `route`: the portfolio, exchange-credential and backtest
/// routes.
pub fn family_handles(route: Route) -> bool {
    handles(route) || crate::credentials::handles(route) || crate::backtests::handles(route)
}

// ---------------------------------------------------------------------------------------------
// Typed JSON members
// ---------------------------------------------------------------------------------------------

/// The JSON type a body member must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Str,
    /// A number.
    Num,
    /// A whole number (i64).
    Int,
    /// `true` / `false`.
    Bool,
    /// An array of strings.
    StrList,
    /// An array of whole numbers.
    IntList,
}

/// A request DTO with typed members.
pub trait Body: DeserializeOwned {
    /// `(name, kind, required)` of every accepted member.
    const MEMBERS: &'static [(&'static str, Kind, bool)];
}

macro_rules! body {
    ($($ty:ty => [$(($name:literal, $kind:ident, $req:literal)),* $(,)?];)*) => {
        $(impl Body for $ty {
            const MEMBERS: &'static [(&'static str, Kind, bool)] =
                &[$(($name, Kind::$kind, $req)),*];
        })*
    };
}

body! {
    PortfolioCreateRequest => [("name", Str, true), ("description", Str, false),
        ("initial_balance", Num, true), ("currency", Str, false)];
    PortfolioPatchRequest => [("name", Str, false), ("description", Str, false),
        ("is_active", Bool, false)];
    TradeCreateRequest => [("symbol", Str, true), ("direction", Str, true), ("tf", Str, false),
        ("pattern_type", Str, false), ("entry_price", Num, true), ("entry_time", Int, false),
        ("quantity", Num, true), ("stop_loss", Num, false), ("take_profit", Num, false),
        ("risk_amount", Num, false), ("fees", Num, false), ("setup_notes", Str, false),
        ("lessons", Str, false), ("status", Str, false)];
    TradePatchRequest => [("symbol", Str, false), ("direction", Str, false), ("tf", Str, false),
        ("pattern_type", Str, false), ("entry_price", Num, false), ("entry_time", Int, false),
        ("quantity", Num, false), ("stop_loss", Num, false), ("take_profit", Num, false),
        ("risk_amount", Num, false), ("fees", Num, false), ("exit_price", Num, false),
        ("exit_time", Int, false), ("setup_notes", Str, false), ("exit_notes", Str, false),
        ("lessons", Str, false)];
    TradeOpenRequest => [("entry_time", Int, false)];
    TradeCloseRequest => [("exit_price", Num, true), ("exit_time", Int, false),
        ("fees", Num, false), ("exit_notes", Str, false), ("lessons", Str, false)];
    TradeFromSourceRequest => [("portfolio_id", Int, true), ("id", Int, true)];
    TagRequest => [("name", Str, true), ("color", Str, false), ("description", Str, false)];
    TradeTagsRequest => [("tag_ids", IntList, true)];
    JournalRequest => [("entry_type", Str, true), ("content", Str, true), ("mood", Str, false),
        ("screenshots", StrList, false)];
    crate::body::Empty => [];
    cl_api_types::BacktestRequest => [("symbol", Str, true), ("tf", Str, true),
        ("from", Int, true), ("to", Int, true), ("pattern_type", Str, true), ("rr", Num, false),
        ("sl_buffer_pct", Num, false), ("slippage_pct", Num, false), ("name", Str, false)];
    cl_api_types::JournalPatchRequest => [("entry_type", Str, false), ("content", Str, false),
        ("mood", Str, false), ("screenshots", StrList, false)];
    cl_api_types::TagPatchRequest => [("name", Str, false), ("color", Str, false),
        ("description", Str, false)];
    cl_api_types::ExchangeCredentialRequest => [("exchange", Str, true), ("label", Str, false),
        ("api_key", Str, true), ("api_secret", Str, true), ("passphrase", Str, false)];
}

fn field(name: &str, code: &str, message: &str) -> FieldError {
    FieldError {
        field: name.chars().take(64).collect(),
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

fn invalid(fields: Vec<FieldError>) -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed).with_fields(fields)
}

/// Whether `v` has the JSON type `kind` (and fits its caps).
fn type_issue(kind: Kind, v: &Value) -> Option<(&'static str, &'static str)> {
    let list = |v: &Value, item: fn(&Value) -> bool| match v {
        Value::Array(a) if a.len() > MAX_LIST_ITEMS => Some(("too_many", "Too many items.")),
        Value::Array(a) if a.iter().all(item) => None,
        _ => Some(("invalid_type", "Must be a list of the documented type.")),
    };
    let is_str = |v: &Value| matches!(v, Value::String(s) if s.chars().count() <= MAX_STRING_CHARS);
    match kind {
        Kind::Str => match v {
            Value::String(s) if s.chars().count() > MAX_STRING_CHARS => {
                Some(("too_long", "This value is too long."))
            }
            Value::String(_) => None,
            _ => Some(("invalid_type", "This field must be a string.")),
        },
        Kind::Num => (!v.is_number()).then_some(("invalid_type", "This field must be a number.")),
        Kind::Int => {
            (!v.is_i64()).then_some(("invalid_type", "This field must be a whole number."))
        }
        Kind::Bool => {
            (!v.is_boolean()).then_some(("invalid_type", "This field must be true or false."))
        }
        Kind::StrList => list(v, is_str),
        Kind::IntList => list(v, Value::is_i64),
    }
}

/// Parses the body into `T` with the checks of the module documentation. A body-less request
/// of a DTO without required members reads as `{}`.
///
/// # Errors
/// `unsupported_media_type`, `payload_too_large`, `malformed_json`, `validation_failed`.
pub fn parse<T: Body>(req: &Request) -> Result<T, ApiError> {
    crate::body::checked(
        req,
        T::MEMBERS.iter().all(|(_, _, required)| !required),
        T::MEMBERS,
        |&(name, _, required)| (name, required),
        |&(_, kind, _), v| type_issue(kind, v),
    )
}

// ---------------------------------------------------------------------------------------------
// DTO → use-case inputs (plain moves; the use cases validate)
// ---------------------------------------------------------------------------------------------

fn portfolio_input(r: PortfolioCreateRequest) -> PortfolioInput {
    PortfolioInput {
        name: r.name,
        description: r.description,
        initial_balance: r.initial_balance,
        currency: r.currency,
    }
}

fn trade_input(r: TradeCreateRequest) -> TradeInput {
    TradeInput {
        symbol: r.symbol,
        direction: r.direction,
        tf: r.tf,
        pattern_type: r.pattern_type,
        signal_id: None,
        pattern_id: None,
        entry_price: r.entry_price,
        entry_time: r.entry_time,
        quantity: r.quantity,
        stop_loss: r.stop_loss,
        take_profit: r.take_profit,
        risk_amount: r.risk_amount,
        fees: r.fees,
        setup_notes: r.setup_notes,
        lessons: r.lessons,
        status: r.status,
    }
}

fn trade_patch(r: TradePatchRequest) -> TradePatch {
    TradePatch {
        symbol: r.symbol,
        direction: r.direction,
        tf: r.tf,
        pattern_type: r.pattern_type,
        entry_price: r.entry_price,
        entry_time: r.entry_time,
        quantity: r.quantity,
        stop_loss: r.stop_loss,
        take_profit: r.take_profit,
        risk_amount: r.risk_amount,
        fees: r.fees,
        exit_price: r.exit_price,
        exit_time: r.exit_time,
        setup_notes: r.setup_notes,
        exit_notes: r.exit_notes,
        lessons: r.lessons,
    }
}

// ---------------------------------------------------------------------------------------------
// Errors: the one mapping
// ---------------------------------------------------------------------------------------------

impl From<PortfolioError> for ApiError {
    fn from(e: PortfolioError) -> Self {
        match e {
            PortfolioError::Invalid(fields) => invalid(
                fields
                    .into_iter()
                    .map(|f| field(f.field, f.code, &f.message))
                    .collect(),
            ),
            PortfolioError::TierRequired => ApiError::new(ErrorCode::TierRequired)
                .with_message("The portfolio needs the pro tier or higher (required: pro)."),
            PortfolioError::LimitReached(q) => ApiError::new(ErrorCode::QuotaExceeded)
                .with_message(format!("Your plan's quota is used up ({q}).")),
            PortfolioError::NotFound(_) => ApiError::new(ErrorCode::NotFound),
            PortfolioError::WrongState(state) => ApiError::new(ErrorCode::Conflict)
                .with_message(format!("Not allowed while the trade is {state}.")),
            PortfolioError::Changed => ApiError::new(ErrorCode::Conflict)
                .with_message("The trade changed meanwhile; reload and retry."),
            PortfolioError::TagNameTaken => {
                ApiError::new(ErrorCode::Conflict).with_message("This tag name is taken.")
            }
            PortfolioError::NoMarketPrice(_) => ApiError::new(ErrorCode::Conflict)
                .with_message("No market price is stored for this symbol."),
            PortfolioError::Store(s) => ApiError::from(s),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rows → DTOs
// ---------------------------------------------------------------------------------------------

fn portfolio_dto(p: &StoredPortfolio) -> PortfolioDto {
    PortfolioDto {
        id: p.id.0,
        name: p.name.clone(),
        description: p.description.clone(),
        initial_balance: p.initial_balance,
        current_balance: p.current_balance,
        currency: p.currency.as_str().to_owned(),
        is_active: p.is_active,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

fn trade_dto(t: &StoredTrade) -> TradeDto {
    let r = &t.record;
    TradeDto {
        id: t.id.0,
        portfolio_id: t.portfolio_id.0,
        symbol: r.symbol.clone(),
        direction: side_as_str(r.side).to_owned(),
        tf: r.tf.map(|v| v.as_str().to_owned()),
        pattern_type: r.pattern_type.map(|v| v.as_str().to_owned()),
        signal_id: r.signal_id.map(|v| v.0),
        pattern_id: r.pattern_id.map(|v| v.0),
        entry_price: r.entry_price,
        entry_time: r.entry_time,
        quantity: r.quantity,
        stop_loss: r.stop_loss,
        take_profit: r.take_profit,
        risk_amount: r.risk_amount,
        risk_percent: r.risk_percent,
        fees: r.fees,
        exit_price: r.exit_price,
        exit_time: r.exit_time,
        setup_notes: r.setup_notes.clone(),
        exit_notes: r.exit_notes.clone(),
        lessons: r.lessons.clone(),
        pnl_amount: r.pnl_amount,
        pnl_percent: r.pnl_percent,
        pnl_r: r.pnl_r,
        status: r.status.as_str().to_owned(),
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

fn tag_dto(t: &StoredTag) -> TagDto {
    TagDto {
        id: t.id.0,
        name: t.name.clone(),
        color: t.color.clone(),
        description: t.description.clone(),
        created_at: t.created_at,
    }
}

fn journal_dto(j: &StoredJournalEntry) -> JournalEntryDto {
    JournalEntryDto {
        id: j.id.0,
        trade_id: j.trade_id.0,
        entry_type: j.entry.entry_type.as_str().to_owned(),
        content: j.entry.content.clone(),
        mood: j.entry.mood.map(|m| m.as_str().to_owned()),
        screenshots: j.entry.screenshots.clone(),
        created_at: j.entry.created_at,
    }
}

fn groups<K: ToString>(m: &BTreeMap<K, GroupStats>) -> Vec<GroupStatsDto> {
    m.iter()
        .map(|(k, g)| GroupStatsDto {
            key: k.to_string(),
            count: g.count,
            wins: g.wins,
            win_rate: g.win_rate,
            total_pnl: g.total_pnl,
        })
        .collect()
}

fn stats_dto(p: &StoredPortfolio, s: &PortfolioStats) -> PortfolioStatsDto {
    let pnl = |v: Option<(TradeId, f64)>| {
        v.map(|(id, pnl)| TradePnlDto {
            trade_id: id.0,
            pnl,
        })
    };
    PortfolioStatsDto {
        portfolio_id: p.id.0,
        current_balance: p.current_balance,
        count: s.overall.count,
        wins: s.overall.wins,
        win_rate: s.overall.win_rate,
        total_pnl: s.overall.total_pnl,
        avg_pnl: s.avg_pnl,
        avg_r: s.avg_r,
        profit_factor: s.profit_factor,
        max_drawdown: s.max_drawdown,
        max_drawdown_pct: s.max_drawdown_pct,
        best: pnl(s.best),
        worst: pnl(s.worst),
        by_pattern_type: groups(&s.by_pattern_type),
        by_direction: groups(&s.by_direction),
        by_tag: groups(
            &s.by_tag
                .iter()
                .map(|(k, v)| (k.0, v.clone()))
                .collect::<BTreeMap<i64, GroupStats>>(),
        ),
        equity_curve: s
            .equity_curve
            .iter()
            .map(|e| EquityPointDto {
                at: e.at,
                equity: e.equity,
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

/// The caller's effective tier access as the gate computed it (stored subscription, admin
/// view-as; the key owner's for an API key): the one input of the tier rules.
pub(crate) fn tier_access(who: &Caller) -> Result<TierAccess, ApiError> {
    who.tier_access()
        .copied()
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))
}

/// The caller's user id and tier access, with the portfolio feature gate applied. Sessions
/// and API keys (with the route's scope, checked by the gate) alike.
fn caller(who: &Caller) -> Result<(UserId, TierAccess), ApiError> {
    let access = tier_access(who)?;
    require_portfolio_feature(&access)?;
    let user = who
        .user()
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))?
        .id;
    Ok((user, access))
}

fn id(req: &Request, path: &PathParams) -> Result<i64, ApiError> {
    Ok(IdParams::extract(req, path)?.id)
}

fn removed(ctx: &RequestContext, id: i64) -> Result<Response, ApiError> {
    error::ok(ctx, 200, Removed { id })
}

/// Serves one of [`ROUTES`] for an authenticated caller.
///
/// # Errors
/// The mapped [`PortfolioError`]s and the body/parameter errors.
pub async fn serve<S>(
    store: &S,
    route: Route,
    path: &PathParams,
    who: &Caller,
    req: &Request,
    ctx: &RequestContext,
) -> Result<Response, ApiError>
where
    S: PortfolioStore + SymbolStore + CandleStore + PatternStore + SignalStore + TradingPrefsStore,
{
    let now = ctx.now_ms;
    let (user, access) = caller(who)?;
    let svc = PortfolioService::new(store);
    let one = |status: u16, t: &StoredTrade| error::ok(ctx, status, trade_dto(t));
    match route {
        Route::Portfolios => {
            NoParams::extract(req, path)?;
            let list = svc.portfolios(user).await?;
            error::ok(ctx, 200, list.iter().map(portfolio_dto).collect::<Vec<_>>())
        }
        Route::PortfolioCreate => {
            NoParams::extract(req, path)?;
            let input = portfolio_input(parse::<PortfolioCreateRequest>(req)?);
            let p = svc.create_portfolio(user, &access, &input, now).await?;
            error::ok(ctx, 201, portfolio_dto(&p))
        }
        Route::Portfolio => {
            let p = svc.portfolio(user, PortfolioId(id(req, path)?)).await?;
            error::ok(ctx, 200, portfolio_dto(&p))
        }
        Route::PortfolioEdit => {
            let pid = PortfolioId(id(req, path)?);
            let r = parse::<PortfolioPatchRequest>(req)?;
            let patch = PortfolioPatch {
                name: r.name,
                description: r.description,
                is_active: r.is_active,
            };
            let p = svc.patch_portfolio(user, pid, &patch, now).await?;
            error::ok(ctx, 200, portfolio_dto(&p))
        }
        Route::PortfolioDelete => {
            let pid = id(req, path)?;
            parse::<crate::body::Empty>(req)?;
            svc.delete_portfolio(user, PortfolioId(pid)).await?;
            removed(ctx, pid)
        }
        Route::PortfolioStats => {
            let pid = PortfolioId(id(req, path)?);
            let p = svc.portfolio(user, pid).await?;
            let s = svc.stats(user, pid).await?;
            error::ok(ctx, 200, stats_dto(&p, &s))
        }
        Route::PortfolioTrades => {
            let q = TradesParams::extract(req, path)?;
            let filter = TradeFilter {
                status: q.status.and_then(|s| TradeStatus::parse(s).ok()),
                symbol: q.symbol.map(|s| s.as_str().to_owned()),
                side: q.direction.map(Side::from),
            };
            let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
            let (rows, next) = svc
                .trades_page(user, PortfolioId(q.id), &filter, limit, q.cursor)
                .await?;
            error::ok_page(
                ctx,
                rows.iter().map(trade_dto).collect::<Vec<_>>(),
                next.map(|c| c.encode()),
            )
        }
        Route::TradeCreate => {
            let pid = PortfolioId(id(req, path)?);
            let input = trade_input(parse::<TradeCreateRequest>(req)?);
            let t = svc.create_trade(user, &access, pid, &input, now).await?;
            one(201, &t)
        }
        Route::TradeFromPattern | Route::TradeFromSignal => {
            NoParams::extract(req, path)?;
            let r = parse::<TradeFromSourceRequest>(req)?;
            let pid = PortfolioId(r.portfolio_id);
            let t = if route == Route::TradeFromPattern {
                svc.create_from_pattern(user, &access, pid, PatternId(r.id), now)
                    .await?
            } else {
                svc.create_from_signal(user, &access, pid, SignalId(r.id), now)
                    .await?
            };
            one(201, &t)
        }
        Route::Trade => one(200, &svc.trade(user, TradeId(id(req, path)?)).await?),
        Route::TradeEdit => {
            let tid = TradeId(id(req, path)?);
            let patch = trade_patch(parse::<TradePatchRequest>(req)?);
            one(200, &svc.patch_trade(user, tid, &patch, now).await?)
        }
        Route::TradeDelete => {
            let tid = id(req, path)?;
            parse::<crate::body::Empty>(req)?;
            svc.delete_trade(user, TradeId(tid), now).await?;
            removed(ctx, tid)
        }
        Route::TradeOpen => {
            let tid = TradeId(id(req, path)?);
            let r = parse::<TradeOpenRequest>(req)?;
            one(200, &svc.open_trade(user, tid, r.entry_time, now).await?)
        }
        Route::TradeClose => {
            let tid = TradeId(id(req, path)?);
            let r = parse::<TradeCloseRequest>(req)?;
            let input = ExitInput {
                exit_price: r.exit_price,
                exit_time: r.exit_time,
                fees: r.fees,
                exit_notes: r.exit_notes,
                lessons: r.lessons,
            };
            one(200, &svc.close_trade(user, tid, &input, now).await?)
        }
        Route::TradeCloseMarket => {
            let tid = TradeId(id(req, path)?);
            parse::<crate::body::Empty>(req)?;
            one(200, &svc.close_at_market(user, tid, now).await?)
        }
        Route::TradeCancel => {
            let tid = TradeId(id(req, path)?);
            parse::<crate::body::Empty>(req)?;
            one(200, &svc.cancel_trade(user, tid, now).await?)
        }
        Route::TradeJournal => {
            let list = svc.journal(user, TradeId(id(req, path)?)).await?;
            error::ok(ctx, 200, list.iter().map(journal_dto).collect::<Vec<_>>())
        }
        Route::TradeJournalAdd => {
            let tid = TradeId(id(req, path)?);
            let r = parse::<JournalRequest>(req)?;
            let input = JournalInput {
                entry_type: r.entry_type,
                content: r.content,
                mood: r.mood,
                screenshots: r.screenshots.unwrap_or_default(),
            };
            let j = svc.add_journal_entry(user, tid, &input, now).await?;
            error::ok(ctx, 201, journal_dto(&j))
        }
        Route::TradeTags => {
            let tid = id(req, path)?;
            let tags = svc.tags_of_trade(user, TradeId(tid)).await?;
            error::ok(
                ctx,
                200,
                TradeTagsDto {
                    trade_id: tid,
                    tag_ids: tags.iter().map(|t| t.0).collect(),
                },
            )
        }
        Route::TradeTagsSet => {
            let tid = id(req, path)?;
            let r = parse::<TradeTagsRequest>(req)?;
            let tags: Vec<TagId> = r.tag_ids.iter().map(|t| TagId(*t)).collect();
            svc.set_trade_tags(user, TradeId(tid), &tags).await?;
            let tags = svc.tags_of_trade(user, TradeId(tid)).await?;
            error::ok(
                ctx,
                200,
                TradeTagsDto {
                    trade_id: tid,
                    tag_ids: tags.iter().map(|t| t.0).collect(),
                },
            )
        }
        Route::JournalDelete => {
            let jid = id(req, path)?;
            parse::<crate::body::Empty>(req)?;
            svc.delete_journal_entry(user, JournalEntryId(jid)).await?;
            removed(ctx, jid)
        }
        Route::JournalEntry => {
            let j = svc
                .journal_entry(user, JournalEntryId(id(req, path)?))
                .await?;
            error::ok(ctx, 200, journal_dto(&j))
        }
        Route::JournalEdit => {
            let jid = JournalEntryId(id(req, path)?);
            let r = parse::<cl_api_types::JournalPatchRequest>(req)?;
            let patch = JournalPatch {
                entry_type: r.entry_type,
                content: r.content,
                mood: r.mood,
                screenshots: r.screenshots,
            };
            let j = svc.patch_journal_entry(user, jid, &patch).await?;
            error::ok(ctx, 200, journal_dto(&j))
        }
        Route::TagEdit => {
            let tid = TagId(id(req, path)?);
            let r = parse::<cl_api_types::TagPatchRequest>(req)?;
            let patch = TagPatch {
                name: r.name,
                color: r.color,
                description: r.description,
            };
            let t = svc.patch_tag(user, tid, &patch).await?;
            error::ok(ctx, 200, tag_dto(&t))
        }
        Route::Tags => {
            NoParams::extract(req, path)?;
            let list = svc.tags(user).await?;
            error::ok(ctx, 200, list.iter().map(tag_dto).collect::<Vec<_>>())
        }
        Route::TagCreate => {
            NoParams::extract(req, path)?;
            let r = parse::<TagRequest>(req)?;
            let input = TagInput {
                name: r.name,
                color: r.color,
                description: r.description,
            };
            let t = svc.create_tag(user, &input, now).await?;
            error::ok(ctx, 201, tag_dto(&t))
        }
        Route::Tag => {
            let t = svc.tag(user, TagId(id(req, path)?)).await?;
            error::ok(ctx, 200, tag_dto(&t))
        }
        Route::TagDelete => {
            let tid = id(req, path)?;
            parse::<crate::body::Empty>(req)?;
            svc.delete_tag(user, TagId(tid)).await?;
            removed(ctx, tid)
        }
        _ => Err(ApiError::new(ErrorCode::NotFound)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Headers;

    fn req(body: &str) -> Request {
        let mut headers = Headers::new();
        headers.set("content-type", "application/json");
        Request {
            body: body.as_bytes().to_vec(),
            headers,
            ..Request::get("/api/v1/portfolios")
        }
    }

    fn codes(e: ApiError) -> Vec<(String, String)> {
        let resp = e.into_response(&RequestContext::new(None, || "r".into(), 0, None));
        let v: Value = serde_json::from_slice(&resp.body).unwrap_or_default();
        v["error"]["fields"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|f| {
                (
                    f["field"].as_str().unwrap_or_default().to_owned(),
                    f["code"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn every_bad_member_is_reported_at_once() {
        let err = parse::<PortfolioCreateRequest>(&req(
            r#"{"name": 5, "initial_balance": "NaN", "user_id": 2}"#,
        ))
        .err()
        .map(codes)
        .unwrap_or_default();
        assert!(err.contains(&("name".into(), "invalid_type".into())));
        assert!(err.contains(&("initial_balance".into(), "invalid_type".into())));
        assert!(err.contains(&("user_id".into(), "unknown_field".into())));
    }

    #[test]
    fn lists_and_integers_are_typed() {
        assert!(parse::<TradeTagsRequest>(&req(r#"{"tag_ids": [1, 2]}"#)).is_ok());
        assert!(parse::<TradeTagsRequest>(&req(r#"{"tag_ids": [1.5]}"#)).is_err());
        assert!(
            parse::<TradeFromSourceRequest>(&req(r#"{"portfolio_id": 1, "id": 1e3}"#)).is_err()
        );
    }

    #[test]
    fn an_empty_body_reads_as_an_empty_object_only_without_required_members() {
        let mut r = req("");
        r.headers = Headers::new();
        assert!(parse::<TradeOpenRequest>(&r).is_ok());
        assert!(parse::<TradeCloseRequest>(&r).is_err());
    }
}
