//! The portfolio client (product.md §7): portfolios, trades (with their state changes), journal
//! entries, tags and statistics. Every route needs a session and the pro tier or higher; the
//! server answers `tier_required` otherwise, which the pages turn into the upgrade prompt.

use cl_api_types::{
    JournalEntryDto, JournalRequest, PortfolioCreateRequest, PortfolioDto, PortfolioStatsDto,
    Removed, TagDto, TagRequest, TradeCloseRequest, TradeCreateRequest, TradeDto,
    TradeFromSourceRequest, TradeOpenRequest, TradePatchRequest, TradeTagsDto, TradeTagsRequest,
};
use gloo_net::http::Method;

use super::auth::{send_empty, send_json};
use super::{get_data, get_page, non_empty, query_string, ApiError, Page};

/// Filters of `GET /portfolios/{id}/trades` (empty = no filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TradeQuery {
    /// `pending`, `open`, `closed` or `cancelled`.
    pub status: String,
    /// Canonical symbol (`BTC/USDT`).
    pub symbol: String,
    /// `long` or `short`.
    pub direction: String,
}

/// `GET /portfolios`.
///
/// # Errors
/// Any [`ApiError`] (`tier_required` below pro).
pub async fn list() -> Result<Vec<PortfolioDto>, ApiError> {
    get_data("/portfolios").await.map(|(d, _)| d)
}

/// `POST /portfolios`.
///
/// # Errors
/// `validation_failed` (field errors), `quota_exceeded`, any [`ApiError`].
pub async fn create(body: &PortfolioCreateRequest) -> Result<PortfolioDto, ApiError> {
    send_json(Method::POST, "/portfolios", body).await
}

/// `GET /portfolios/{id}`.
///
/// # Errors
/// `not_found`, any [`ApiError`].
pub async fn get(id: i64) -> Result<PortfolioDto, ApiError> {
    get_data(&format!("/portfolios/{id}")).await.map(|(d, _)| d)
}

/// `GET /portfolios/{id}/stats`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn stats(id: i64) -> Result<PortfolioStatsDto, ApiError> {
    get_data(&format!("/portfolios/{id}/stats"))
        .await
        .map(|(d, _)| d)
}

/// `GET /portfolios/{id}/trades?status&symbol&direction&limit&cursor`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn trades(
    id: i64,
    q: &TradeQuery,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<TradeDto>, ApiError> {
    let path = format!(
        "/portfolios/{id}/trades{}",
        query_string(&[
            ("status", non_empty(&q.status)),
            (
                "symbol",
                non_empty(&crate::format::symbol_to_url(&q.symbol))
            ),
            ("direction", non_empty(&q.direction)),
            ("limit", Some(limit.to_string())),
            ("cursor", cursor.map(str::to_owned)),
        ])
    );
    get_page(&path).await
}

/// `POST /portfolios/{id}/trades`.
///
/// # Errors
/// `validation_failed` (field errors), any [`ApiError`].
pub async fn create_trade(portfolio: i64, body: &TradeCreateRequest) -> Result<TradeDto, ApiError> {
    send_json(
        Method::POST,
        &format!("/portfolios/{portfolio}/trades"),
        body,
    )
    .await
}

/// Where a prefilled trade comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeSource {
    /// A detected pattern.
    Pattern(i64),
    /// A confluence signal.
    Signal(i64),
}

/// `POST /trades/from-pattern` or `/trades/from-signal`: a pending trade with the source's levels.
///
/// # Errors
/// `not_found` for an unknown source, any [`ApiError`].
pub async fn create_from(portfolio_id: i64, source: TradeSource) -> Result<TradeDto, ApiError> {
    let (path, id) = match source {
        TradeSource::Pattern(id) => ("/trades/from-pattern", id),
        TradeSource::Signal(id) => ("/trades/from-signal", id),
    };
    send_json(
        Method::POST,
        path,
        &TradeFromSourceRequest { portfolio_id, id },
    )
    .await
}

/// `GET /trades/{id}`.
///
/// # Errors
/// `not_found`, any [`ApiError`].
pub async fn trade(id: i64) -> Result<TradeDto, ApiError> {
    get_data(&format!("/trades/{id}")).await.map(|(d, _)| d)
}

/// `PATCH /trades/{id}`.
///
/// # Errors
/// `validation_failed`, `conflict` (state), any [`ApiError`].
pub async fn edit_trade(id: i64, body: &TradePatchRequest) -> Result<TradeDto, ApiError> {
    send_json(Method::PATCH, &format!("/trades/{id}"), body).await
}

/// `DELETE /trades/{id}`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn delete_trade(id: i64) -> Result<Removed, ApiError> {
    send_empty(Method::DELETE, &format!("/trades/{id}")).await
}

/// `POST /trades/{id}/open` (entry time now).
///
/// # Errors
/// `conflict` unless pending, any [`ApiError`].
pub async fn open_trade(id: i64) -> Result<TradeDto, ApiError> {
    send_json(
        Method::POST,
        &format!("/trades/{id}/open"),
        &TradeOpenRequest::default(),
    )
    .await
}

/// `POST /trades/{id}/close`.
///
/// # Errors
/// `validation_failed`, `conflict` unless open, any [`ApiError`].
pub async fn close_trade(id: i64, body: &TradeCloseRequest) -> Result<TradeDto, ApiError> {
    send_json(Method::POST, &format!("/trades/{id}/close"), body).await
}

/// `POST /trades/{id}/close-market` (at the latest price).
///
/// # Errors
/// `conflict` unless open, any [`ApiError`].
pub async fn close_at_market(id: i64) -> Result<TradeDto, ApiError> {
    send_empty(Method::POST, &format!("/trades/{id}/close-market")).await
}

/// `POST /trades/{id}/cancel`.
///
/// # Errors
/// `conflict` unless pending, any [`ApiError`].
pub async fn cancel_trade(id: i64) -> Result<TradeDto, ApiError> {
    send_empty(Method::POST, &format!("/trades/{id}/cancel")).await
}

/// `GET /trades/{id}/journal`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn journal(id: i64) -> Result<Vec<JournalEntryDto>, ApiError> {
    get_data(&format!("/trades/{id}/journal"))
        .await
        .map(|(d, _)| d)
}

/// `POST /trades/{id}/journal`.
///
/// # Errors
/// `validation_failed`, `quota_exceeded`, any [`ApiError`].
pub async fn add_journal(id: i64, body: &JournalRequest) -> Result<JournalEntryDto, ApiError> {
    send_json(Method::POST, &format!("/trades/{id}/journal"), body).await
}

/// `DELETE /journal/{id}`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn delete_journal(id: i64) -> Result<Removed, ApiError> {
    send_empty(Method::DELETE, &format!("/journal/{id}")).await
}

/// `GET /trades/{id}/tags`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn trade_tags(id: i64) -> Result<TradeTagsDto, ApiError> {
    get_data(&format!("/trades/{id}/tags"))
        .await
        .map(|(d, _)| d)
}

/// `PUT /trades/{id}/tags`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn set_trade_tags(id: i64, tag_ids: Vec<i64>) -> Result<TradeTagsDto, ApiError> {
    send_json(
        Method::PUT,
        &format!("/trades/{id}/tags"),
        &TradeTagsRequest { tag_ids },
    )
    .await
}

/// `GET /tags`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn tags() -> Result<Vec<TagDto>, ApiError> {
    get_data("/tags").await.map(|(d, _)| d)
}

/// `POST /tags`.
///
/// # Errors
/// `validation_failed`, `conflict` (name taken), any [`ApiError`].
pub async fn create_tag(body: &TagRequest) -> Result<TagDto, ApiError> {
    send_json(Method::POST, "/tags", body).await
}

/// `DELETE /tags/{id}`.
///
/// # Errors
/// Any [`ApiError`].
pub async fn delete_tag(id: i64) -> Result<Removed, ApiError> {
    send_empty(Method::DELETE, &format!("/tags/{id}")).await
}
