//! Request and response bodies of the portfolio routes (product.md §7): portfolios, trades,
//! tags, journal entries and statistics.
//!
//! Requests deny unknown fields and carry raw values (numbers as `f64`, words as strings);
//! the HTTP layer checks each member's JSON type and the use cases convert them once into
//! typed values (ranges, finiteness, decimals, enums). Responses are plain data.

use serde::{Deserialize, Serialize};

/// `POST /portfolios`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PortfolioCreateRequest {
    /// ≤ 50 chars.
    pub name: String,
    /// ≤ 2000 chars.
    #[serde(default)]
    pub description: Option<String>,
    /// `0 < x ≤ 1e12`, ≤ 8 decimals.
    pub initial_balance: f64,
    /// `USD` (default), `USDT` or `EUR`.
    #[serde(default)]
    pub currency: Option<String>,
}

/// `PATCH /portfolios/{id}`: absent members keep their value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PortfolioPatchRequest {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New description.
    #[serde(default)]
    pub description: Option<String>,
    /// Active flag.
    #[serde(default)]
    pub is_active: Option<bool>,
}

/// A portfolio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Portfolio))]
pub struct PortfolioDto {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Starting balance.
    pub initial_balance: f64,
    /// `initial + Σ PnL of closed trades`.
    pub current_balance: f64,
    /// Currency.
    pub currency: String,
    /// Active flag.
    pub is_active: bool,
    /// Creation time (UTC ms).
    pub created_at: i64,
    /// Last change (UTC ms).
    pub updated_at: i64,
}

/// `POST /portfolios/{id}/trades`: a pending (default) or open trade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TradeCreateRequest {
    /// Symbol, e.g. `BTC/USDT`.
    pub symbol: String,
    /// `long` or `short`.
    pub direction: String,
    /// Timeframe.
    #[serde(default)]
    pub tf: Option<String>,
    /// Pattern type.
    #[serde(default)]
    pub pattern_type: Option<String>,
    /// Entry price, `0 < p ≤ 1e9`.
    pub entry_price: f64,
    /// Entry time (UTC ms).
    #[serde(default)]
    pub entry_time: Option<i64>,
    /// Quantity, `0 < q ≤ 1e12`.
    pub quantity: f64,
    /// Stop loss (below the entry for a long).
    #[serde(default)]
    pub stop_loss: Option<f64>,
    /// Take profit (above the entry for a long).
    #[serde(default)]
    pub take_profit: Option<f64>,
    /// Risk amount (default `|entry − SL|·qty`).
    #[serde(default)]
    pub risk_amount: Option<f64>,
    /// Fees ≥ 0.
    #[serde(default)]
    pub fees: Option<f64>,
    /// Setup notes (≤ 2000).
    #[serde(default)]
    pub setup_notes: Option<String>,
    /// Lessons (≤ 2000).
    #[serde(default)]
    pub lessons: Option<String>,
    /// `pending` (default) or `open`.
    #[serde(default)]
    pub status: Option<String>,
}

/// `PATCH /trades/{id}`: absent members keep their value; which members a trade accepts
/// depends on its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TradePatchRequest {
    /// Symbol.
    #[serde(default)]
    pub symbol: Option<String>,
    /// `long` / `short`.
    #[serde(default)]
    pub direction: Option<String>,
    /// Timeframe.
    #[serde(default)]
    pub tf: Option<String>,
    /// Pattern type.
    #[serde(default)]
    pub pattern_type: Option<String>,
    /// Entry price.
    #[serde(default)]
    pub entry_price: Option<f64>,
    /// Entry time.
    #[serde(default)]
    pub entry_time: Option<i64>,
    /// Quantity.
    #[serde(default)]
    pub quantity: Option<f64>,
    /// Stop loss.
    #[serde(default)]
    pub stop_loss: Option<f64>,
    /// Take profit.
    #[serde(default)]
    pub take_profit: Option<f64>,
    /// Risk amount.
    #[serde(default)]
    pub risk_amount: Option<f64>,
    /// Fees.
    #[serde(default)]
    pub fees: Option<f64>,
    /// Exit price (closed trades).
    #[serde(default)]
    pub exit_price: Option<f64>,
    /// Exit time (closed trades).
    #[serde(default)]
    pub exit_time: Option<i64>,
    /// Setup notes.
    #[serde(default)]
    pub setup_notes: Option<String>,
    /// Exit notes.
    #[serde(default)]
    pub exit_notes: Option<String>,
    /// Lessons.
    #[serde(default)]
    pub lessons: Option<String>,
}

/// `POST /trades/{id}/open`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TradeOpenRequest {
    /// Entry time (default now).
    #[serde(default)]
    pub entry_time: Option<i64>,
}

/// `POST /trades/{id}/close`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TradeCloseRequest {
    /// Exit price.
    pub exit_price: f64,
    /// Exit time (default now; ≥ entry time).
    #[serde(default)]
    pub exit_time: Option<i64>,
    /// Fees (replace the stored fees).
    #[serde(default)]
    pub fees: Option<f64>,
    /// Exit notes.
    #[serde(default)]
    pub exit_notes: Option<String>,
    /// Lessons.
    #[serde(default)]
    pub lessons: Option<String>,
}

/// `POST /trades/from-pattern` and `/trades/from-signal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TradeFromSourceRequest {
    /// The portfolio to add the trade to.
    pub portfolio_id: i64,
    /// The pattern or signal id.
    pub id: i64,
}

/// A trade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Trade))]
pub struct TradeDto {
    /// Id.
    pub id: i64,
    /// Portfolio.
    pub portfolio_id: i64,
    /// Symbol.
    pub symbol: String,
    /// `long` / `short`.
    pub direction: String,
    /// Timeframe.
    pub tf: Option<String>,
    /// Pattern type.
    pub pattern_type: Option<String>,
    /// Source signal.
    pub signal_id: Option<i64>,
    /// Source pattern.
    pub pattern_id: Option<i64>,
    /// Entry price.
    pub entry_price: f64,
    /// Entry time.
    pub entry_time: Option<i64>,
    /// Quantity.
    pub quantity: f64,
    /// Stop loss.
    pub stop_loss: Option<f64>,
    /// Take profit.
    pub take_profit: Option<f64>,
    /// Risk amount.
    pub risk_amount: Option<f64>,
    /// Risk as % of the balance at open.
    pub risk_percent: Option<f64>,
    /// Fees.
    pub fees: f64,
    /// Exit price.
    pub exit_price: Option<f64>,
    /// Exit time.
    pub exit_time: Option<i64>,
    /// Setup notes.
    pub setup_notes: Option<String>,
    /// Exit notes.
    pub exit_notes: Option<String>,
    /// Lessons.
    pub lessons: Option<String>,
    /// PnL (closed).
    pub pnl_amount: Option<f64>,
    /// PnL % (closed).
    pub pnl_percent: Option<f64>,
    /// R multiple (closed; null without risk).
    pub pnl_r: Option<f64>,
    /// `pending`, `open`, `closed` or `cancelled`.
    pub status: String,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// `POST /tags`, `PATCH /tags/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TagRequest {
    /// ≤ 30 chars, unique per user.
    pub name: String,
    /// `#RRGGBB` (default `#808080`).
    #[serde(default)]
    pub color: Option<String>,
    /// ≤ 200 chars.
    #[serde(default)]
    pub description: Option<String>,
}

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Tag))]
pub struct TagDto {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `#RRGGBB`.
    pub color: String,
    /// Description.
    pub description: Option<String>,
    /// Creation time.
    pub created_at: i64,
}

/// `PUT /trades/{id}/tags`: the complete tag set of the trade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TradeTagsRequest {
    /// Tag ids (the caller's own; at most 100).
    pub tag_ids: Vec<i64>,
}

/// The tags of a trade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TradeTags))]
pub struct TradeTagsDto {
    /// The trade.
    pub trade_id: i64,
    /// Its tag ids.
    pub tag_ids: Vec<i64>,
}

/// `POST /trades/{id}/journal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JournalRequest {
    /// `pre_trade`, `during`, `post_trade` or `lesson`.
    pub entry_type: String,
    /// ≤ 2000 chars.
    pub content: String,
    /// `confident|neutral|fearful|greedy|fomo|revenge`.
    #[serde(default)]
    pub mood: Option<String>,
    /// Up to 5 https links (≤ 500 chars).
    #[serde(default)]
    pub screenshots: Option<Vec<String>>,
}

/// A journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = JournalEntry))]
pub struct JournalEntryDto {
    /// Id.
    pub id: i64,
    /// Trade.
    pub trade_id: i64,
    /// Kind.
    pub entry_type: String,
    /// Content.
    pub content: String,
    /// Mood.
    pub mood: Option<String>,
    /// Screenshot links (shown as links only).
    pub screenshots: Vec<String>,
    /// Creation time.
    pub created_at: i64,
}

/// Aggregates of a group of closed trades.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = GroupStats))]
pub struct GroupStatsDto {
    /// The group: a pattern type (`none` when unset), a direction or a tag id.
    pub key: String,
    /// Closed trades.
    pub count: u32,
    /// Trades with PnL > 0.
    pub wins: u32,
    /// Win rate %.
    pub win_rate: Option<f64>,
    /// Σ PnL.
    pub total_pnl: f64,
}

/// One point of the equity curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = EquityPoint))]
pub struct EquityPointDto {
    /// UTC ms.
    pub at: i64,
    /// Balance after it.
    pub equity: f64,
}

/// A trade and its PnL (best / worst).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TradePnl))]
pub struct TradePnlDto {
    /// Trade id.
    pub trade_id: i64,
    /// Its PnL.
    pub pnl: f64,
}

/// `GET /portfolios/{id}/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PortfolioStats))]
pub struct PortfolioStatsDto {
    /// The portfolio.
    pub portfolio_id: i64,
    /// Current balance.
    pub current_balance: f64,
    /// Closed trades.
    pub count: u32,
    /// Winning trades.
    pub wins: u32,
    /// Win rate % (`null` without trades).
    pub win_rate: Option<f64>,
    /// Σ PnL.
    pub total_pnl: f64,
    /// Average PnL.
    pub avg_pnl: Option<f64>,
    /// Average R.
    pub avg_r: Option<f64>,
    /// Gross profit / gross loss (`null` without losses).
    pub profit_factor: Option<f64>,
    /// Largest fall of the equity curve.
    pub max_drawdown: f64,
    /// That fall as % of its peak.
    pub max_drawdown_pct: f64,
    /// Best trade.
    pub best: Option<TradePnlDto>,
    /// Worst trade.
    pub worst: Option<TradePnlDto>,
    /// By pattern type.
    pub by_pattern_type: Vec<GroupStatsDto>,
    /// By direction.
    pub by_direction: Vec<GroupStatsDto>,
    /// By tag id.
    pub by_tag: Vec<GroupStatsDto>,
    /// Equity curve (initial balance, then one point per exit).
    pub equity_curve: Vec<EquityPointDto>,
}

/// A delete confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Removed {
    /// The deleted object's id.
    pub id: i64,
}

/// `PUT /me/exchange-credentials`: stores (or replaces) the credential of `(exchange, label)`.
/// Its `Debug` never prints the key, secret or passphrase.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExchangeCredentialRequest {
    /// `binance`, `bybit`, `okx`, `kucoin`, `kraken` or `coinbase`.
    pub exchange: String,
    /// 1–30 of `A–Z a–z 0–9 space _ -` (default `default`).
    #[serde(default)]
    pub label: Option<String>,
    /// API key (8–256 printable characters).
    pub api_key: String,
    /// API secret (8–256 printable characters).
    pub api_secret: String,
    /// Passphrase (some exchanges).
    #[serde(default)]
    pub passphrase: Option<String>,
}

impl std::fmt::Debug for ExchangeCredentialRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeCredentialRequest")
            .field("exchange", &self.exchange)
            .field("label", &self.label)
            .field("api_key", &"[REDACTED]")
            .field("api_secret", &"[REDACTED]")
            .field("passphrase", &"[REDACTED]")
            .finish()
    }
}

/// A stored exchange credential, masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ExchangeCredential))]
pub struct ExchangeCredentialDto {
    /// Exchange.
    pub exchange: String,
    /// Label.
    pub label: String,
    /// `****` and the last four characters of the key.
    pub api_key_masked: String,
    /// Whether a passphrase is stored.
    pub has_passphrase: bool,
    /// Id of the encryption key that sealed it.
    pub key_id: String,
    /// Creation time.
    pub created_at: i64,
    /// Last replacement.
    pub updated_at: i64,
}

/// `DELETE /me/exchange-credentials`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialsDeleted {
    /// How many credentials were deleted.
    pub deleted: u32,
}

/// `PATCH /journal/{id}`: absent members keep their value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JournalPatchRequest {
    /// `pre_trade`, `during`, `post_trade` or `lesson`.
    #[serde(default)]
    pub entry_type: Option<String>,
    /// ≤ 2000 chars.
    #[serde(default)]
    pub content: Option<String>,
    /// Mood.
    #[serde(default)]
    pub mood: Option<String>,
    /// The whole list of links (≤ 5).
    #[serde(default)]
    pub screenshots: Option<Vec<String>>,
}

/// `PATCH /tags/{id}`: absent members keep their value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TagPatchRequest {
    /// ≤ 30 chars, unique per user.
    #[serde(default)]
    pub name: Option<String>,
    /// `#RRGGBB`.
    #[serde(default)]
    pub color: Option<String>,
    /// ≤ 200 chars.
    #[serde(default)]
    pub description: Option<String>,
}

/// `POST /backtests` (premium).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BacktestRequest {
    /// Symbol of the tier, e.g. `BTC/USDT`.
    pub symbol: String,
    /// `5m`, `15m`, `30m`, `1h`, `2h`, `4h` or `1d`.
    pub tf: String,
    /// Start, UTC ms (inclusive).
    pub from: i64,
    /// End, UTC ms (exclusive; ≤ now, ≤ 2 years after `from`).
    pub to: i64,
    /// `imbalance`, `order_block` or `liquidity_sweep`.
    pub pattern_type: String,
    /// R:R target (default 2, 0.5–10).
    #[serde(default)]
    pub rr: Option<f64>,
    /// SL buffer % (default 10, 0–100).
    #[serde(default)]
    pub sl_buffer_pct: Option<f64>,
    /// Slippage % (default 0, 0–5).
    #[serde(default)]
    pub slippage_pct: Option<f64>,
    /// Name (≤ 50).
    #[serde(default)]
    pub name: Option<String>,
}

/// A backtest as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Backtest))]
pub struct BacktestDto {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: Option<String>,
    /// Timeframe.
    pub tf: String,
    /// Detector.
    pub pattern_type: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// 0–100.
    pub progress: f64,
    /// Why it failed.
    pub error: Option<String>,
    /// Range start.
    pub from: i64,
    /// Range end.
    pub to: i64,
    /// R:R target.
    pub rr: f64,
    /// SL buffer %.
    pub sl_buffer_pct: f64,
    /// Slippage %.
    pub slippage_pct: f64,
    /// Creation time.
    pub created_at: i64,
    /// Finish time.
    pub finished_at: Option<i64>,
}

/// One simulated trade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = BacktestTrade))]
pub struct BacktestTradeDto {
    /// `long` / `short`.
    pub direction: String,
    /// Detection time.
    pub detected_at: i64,
    /// Entry time.
    pub entry_time: i64,
    /// Entry price.
    pub entry_price: f64,
    /// Exit time.
    pub exit_time: Option<i64>,
    /// Exit price (null when inconclusive).
    pub exit_price: Option<f64>,
    /// `win`, `loss` or `inconclusive`.
    pub outcome: String,
    /// Realised R.
    pub r: f64,
}

/// Backtest statistics (product.md §8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = BacktestStats))]
pub struct BacktestStatsDto {
    /// Counted trades.
    pub total: u64,
    /// Wins.
    pub wins: u64,
    /// Losses.
    pub losses: u64,
    /// Inconclusive.
    pub inconclusive: u64,
    /// Win rate %.
    pub win_rate: f64,
    /// Win rate % without inconclusive.
    pub win_rate_excluding_inconclusive: f64,
    /// Average R:R.
    pub avg_rr: f64,
    /// Total profit %.
    pub total_profit_pct: f64,
    /// Max drawdown (percentage points).
    pub max_drawdown_pct: f64,
    /// Average duration (candles).
    pub avg_duration_candles: f64,
}

/// `GET /backtests/{id}`: progress, statistics, trades and equity curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = BacktestDetail))]
pub struct BacktestDetailDto {
    /// The backtest.
    pub backtest: BacktestDto,
    /// Statistics of the trades so far.
    pub stats: BacktestStatsDto,
    /// Trades so far.
    pub trades: Vec<BacktestTradeDto>,
    /// Cumulative profit % by exit.
    pub equity_curve: Vec<EquityPointDto>,
}
