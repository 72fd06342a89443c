//! Read handlers of product.md §3. Each takes typed parameters (already validated by
//! [`crate::params`]), asks the store through the ports, and shapes DTOs. No validation, no
//! HTTP parsing, no error text of their own beyond "not found".
//!
//! Tiers (product.md §1): every handler receives the caller's effective access (the ONE policy,
//! `cl_app::policy`, computed by the gate) and only asks it questions: which symbols and
//! pattern types are visible, and how much of a history list (free: none → `tier_required`
//! naming the tier; pro: the newest 100 patterns / 50 signals; premium and admins: all).
//! Hidden rows are filtered, never reported; asking for a hidden symbol or type by name is
//! `tier_required`. A capped list stops at the cap's boundary row (found with one extra
//! first-page read; when hidden rows blur it, the boundary errs on the early side).

use crate::context::RequestContext;
use crate::error::{ok, ok_page, ApiError};
use crate::http::Response;
use crate::params::{
    CandlesParams, IdParams, MatrixParams, PatternsParams, SignalsParams, SymbolsParams,
};
use crate::Store;
use cl_api_types::{
    CandleDto, CandlesDto, ChartDto, ErrorCode, LevelsDto, MatrixCellDto, MatrixDto, MatrixRowDto,
    PatternDto, SignalDto, SymbolDto, ZoneDto,
};
use cl_app::policy::{Access as TierAccess, HistoryList, TierDenied};
use cl_app::ports::{Cursor, Page, StoreError};
use cl_app::ports::{
    MatrixCell, PageRequest, SignalFilter, SignalStatus, StoredPattern, StoredSignal, StoredSymbol,
    SymbolId, UserId, MAX_EXACT_INT,
};
use cl_app::trading_prefs::effective_prefs;
use cl_domain::matrix::Bias;
use cl_domain::signal::SignalStatus as WireSignalStatus;
use cl_domain::{Candle, Timeframe, Zone};
use sha2::{Digest, Sha256};
use std::cmp::Reverse;

/// `Cache-Control` of the matrix: it may be kept but must be revalidated (ETag) on every use,
/// and only by the caller's own browser (the matrix becomes tier-filtered with auth).
pub const MATRIX_CACHE_CONTROL: &str = "private, max-age=0, must-revalidate";

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound)
}

impl From<TierDenied> for ApiError {
    fn from(d: TierDenied) -> Self {
        crate::keys::tier_required(d.required)
    }
}

/// The oldest row (`(ts, id)`) a capped history list shows, from its first `cap` rows
/// (`first`: newest first, visible or not; `visible`: whether the caller sees a row).
/// `None` when the whole list is within the cap.
fn cap_boundary<T>(
    cap: Option<u32>,
    first: &[T],
    key: impl Fn(&T) -> (i64, i64),
    visible: impl Fn(&T) -> bool,
) -> Option<Cursor> {
    let cap = usize::try_from(cap?).unwrap_or(usize::MAX);
    let shown: Vec<&T> = first.iter().filter(|r| visible(r)).collect();
    let at = if shown.len() >= cap {
        shown.get(cap.checked_sub(1)?).map(|r| key(r))
    } else if first.len() >= cap {
        // Hidden rows took some of the window: stop early rather than show past the cap.
        first.last().map(key)
    } else {
        None
    }?;
    Some(Cursor { ts: at.0, id: at.1 })
}

/// One page of a history list capped to its newest `cap` rows: the cap's boundary comes from
/// the list's first `cap` rows ([`cap_boundary`]), then the requested page is cut there (and
/// has no next page past it). `read` reads one page of the list; `key` is a row's `(ts, id)`.
async fn capped_page<T, Fut>(
    cap: Option<u32>,
    want: PageRequest,
    read: impl Fn(PageRequest) -> Fut,
    key: impl Fn(&T) -> (i64, i64),
    visible: impl Fn(&T) -> bool,
) -> Result<Page<T>, ApiError>
where
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let boundary = match cap {
        Some(n) => {
            let first = read(PageRequest {
                limit: n,
                after: None,
            })
            .await?;
            cap_boundary(cap, &first.items, &key, visible)
        }
        None => None,
    };
    let mut page = read(want).await?;
    if let Some(b) = boundary {
        let before = page.items.len();
        page.items.retain(|r| {
            let (ts, id) = key(r);
            !b.is_before(ts, id)
        });
        if page.items.len() < before || page.next.is_some_and(|n| !b.is_before(n.ts, n.id)) {
            page.next = None;
        }
    }
    Ok(page)
}

/// `GET /symbols`.
///
/// # Errors
/// Store failures.
pub async fn symbols<S: Store>(
    store: &S,
    p: SymbolsParams,
    access: &TierAccess,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    let rows = store.list_symbols(p.active == Some(true)).await?;
    let data: Vec<SymbolDto> = rows
        .into_iter()
        .filter(|s| p.active.is_none_or(|a| s.is_active == a))
        .filter(|s| access.sees_symbol(&s.symbol))
        .map(|s| SymbolDto {
            symbol: s.symbol,
            exchange: s.exchange,
            active: s.is_active,
        })
        .collect();
    ok(ctx, 200, data)
}

/// One page of a candle series, oldest first, and whether older candles exist.
async fn series<S: Store>(
    store: &S,
    p: &CandlesParams,
    access: &TierAccess,
) -> Result<(StoredSymbol, Vec<Candle>, bool), ApiError> {
    let symbol = store
        .symbol_by_name(p.symbol.as_str())
        .await?
        .ok_or_else(not_found)?;
    access.require_symbol(&symbol.symbol)?;
    // One extra row tells whether an older page exists.
    let mut rows = store
        .candles_before(
            symbol.id,
            p.tf,
            p.before.unwrap_or(MAX_EXACT_INT),
            p.limit.saturating_add(1),
        )
        .await?;
    let limit = usize::try_from(p.limit).unwrap_or(usize::MAX);
    let has_more = rows.len() > limit;
    if has_more {
        let extra = rows.len() - limit;
        rows.drain(..extra);
    }
    Ok((symbol, rows, has_more))
}

/// `GET /candles/{symbol}/{tf}`.
///
/// # Errors
/// `not_found` for an unknown symbol; store failures.
pub async fn candles<S: Store>(
    store: &S,
    p: CandlesParams,
    access: &TierAccess,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    let (symbol, rows, has_more) = series(store, &p, access).await?;
    ok(
        ctx,
        200,
        CandlesDto {
            symbol: symbol.symbol,
            tf: p.tf,
            candles: rows.iter().map(candle_dto).collect(),
            has_more,
        },
    )
}

/// `GET /chart/{symbol}/{tf}`: the candles plus the TF's active patterns detected up to the
/// end of the last candle. Active patterns detected before the first candle are included: their
/// zones extend to now, through the view.
///
/// # Errors
/// `not_found` for an unknown symbol; store failures.
pub async fn chart<S: Store>(
    store: &S,
    p: CandlesParams,
    access: &TierAccess,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    // Charts come with the patterns list (free: upgrade prompt).
    let cap = access.history_cap(HistoryList::Patterns)?;
    let (symbol, rows, has_more) = series(store, &p, access).await?;
    let mut patterns = match rows.last() {
        Some(last) => {
            let view_end = last.ts().saturating_add(p.tf.millis());
            let mut active = store.active_patterns(symbol.id, Some(p.tf)).await?;
            active.retain(|pat| {
                pat.detected_at < view_end && access.sees_pattern_type(pat.pattern_type)
            });
            active
        }
        None => Vec::new(),
    };
    patterns.sort_by_key(|pat| Reverse((pat.detected_at, pat.id)));
    if let Some(cap) = cap {
        patterns.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
    }
    ok(
        ctx,
        200,
        ChartDto {
            candles: rows.iter().map(candle_dto).collect(),
            has_more,
            patterns: patterns
                .iter()
                .map(|pat| pattern_dto(pat, &symbol.symbol))
                .collect(),
            symbol: symbol.symbol,
            tf: p.tf,
        },
    )
}

/// `GET /patterns`: patterns of any status (default `active`), newest first (`detected_at`
/// desc, ties by id desc), keyset-paged in ONE store query (`PatternStore::list_patterns`).
///
/// # Errors
/// Store failures.
pub async fn patterns<S: Store>(
    store: &S,
    p: PatternsParams,
    access: &TierAccess,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    let cap = access.history_cap(HistoryList::Patterns)?;
    if let Some(t) = p.pattern_type {
        access.require_pattern_type(t)?;
    }
    let symbols = store.list_symbols(false).await?;
    let symbol = match &p.symbol {
        Some(want) => match symbols.iter().find(|s| s.symbol == want.as_str()) {
            Some(s) => {
                access.require_symbol(&s.symbol)?;
                Some(s.id)
            }
            // A filter on a symbol we do not track matches nothing.
            None => return ok_page(ctx, Vec::<PatternDto>::new(), None),
        },
        None => None,
    };
    let visible = |r: &StoredPattern| {
        access.sees_pattern_type(r.pattern_type)
            && name_of(&symbols, r.symbol).is_ok_and(|n| access.sees_symbol(n))
    };
    let filter = cl_app::ports::PatternFilter {
        symbol,
        tf: p.tf,
        pattern_type: p.pattern_type,
        direction: p.direction,
        status: Some(p.status),
    };
    let filter = &filter;
    let page = capped_page(
        cap,
        PageRequest {
            limit: p.limit,
            after: p.cursor,
        },
        |req| store.list_patterns(filter, req),
        |r: &StoredPattern| (r.detected_at, r.id.0),
        visible,
    )
    .await?;
    let data = page
        .items
        .iter()
        .filter(|r| visible(r))
        .map(|r| Ok(pattern_dto(r, name_of(&symbols, r.symbol)?)))
        .collect::<Result<Vec<_>, ApiError>>()?;
    ok_page(ctx, data, page.next.map(|c| c.encode()))
}

/// `GET /patterns/{id}`.
///
/// # Errors
/// `not_found`; store failures.
pub async fn pattern<S: Store>(
    store: &S,
    p: IdParams,
    access: &TierAccess,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    let row = store.pattern(p.pattern()).await?.ok_or_else(not_found)?;
    let symbols = store.list_symbols(false).await?;
    let name = name_of(&symbols, row.symbol)?;
    access.require_symbol(name)?;
    access.require_pattern_type(row.pattern_type)?;
    ok(ctx, 200, pattern_dto(&row, name))
}

/// `GET /signals`: newest first (`created_at` desc, ties by id desc).
///
/// # Errors
/// Store failures.
pub async fn signals<S: Store>(
    store: &S,
    mut p: SignalsParams,
    user: Option<UserId>,
    access: &TierAccess,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    let cap = match access.history_cap(HistoryList::Signals) {
        Ok(cap) => cap,
        // The dashboard's recent-signals widget: the first page of at most N (free: 1).
        Err(_) if p.cursor.is_none() && p.limit <= access.limits.dashboard_recent_signals => {
            Some(access.limits.dashboard_recent_signals)
        }
        Err(denied) => return Err(denied.into()),
    };
    if let Some(n) = cap {
        p.limit = p.limit.min(n);
    }
    let symbols = store.list_symbols(false).await?;
    let visible =
        |r: &StoredSignal| name_of(&symbols, r.symbol).is_ok_and(|n| access.sees_symbol(n));
    let symbol = match &p.symbol {
        Some(want) => match symbols.iter().find(|s| s.symbol == want.as_str()) {
            Some(s) => {
                access.require_symbol(&s.symbol)?;
                Some(s.id)
            }
            // A filter on a symbol we do not track matches nothing.
            None => return ok_page(ctx, Vec::<SignalDto>::new(), None),
        },
        None => None,
    };
    let filter = SignalFilter {
        symbol,
        direction: p.direction,
        status: p.status,
    };
    let filter = &filter;
    let page = capped_page(
        cap,
        PageRequest {
            limit: p.limit,
            after: p.cursor,
        },
        |req| store.list_signals(filter, req),
        |r: &StoredSignal| (r.created_at, r.id.0),
        visible,
    )
    .await?;
    // The caller's default R:R re-targets TP3 / R:R: one read for the whole page.
    let prefs = effective_prefs(store, user, access).await?;
    let data = page
        .items
        .iter()
        .filter(|s| visible(s))
        .map(|s| Ok(signal_dto(&prefs.signal(s), name_of(&symbols, s.symbol)?)))
        .collect::<Result<Vec<_>, ApiError>>()?;
    ok_page(ctx, data, page.next.map(|c| c.encode()))
}

/// `GET /signals/{id}`.
///
/// # Errors
/// `not_found`; store failures.
pub async fn signal<S: Store>(
    store: &S,
    p: IdParams,
    user: Option<UserId>,
    access: &TierAccess,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    let row = store.signal(p.signal()).await?.ok_or_else(not_found)?;
    let symbols = store.list_symbols(false).await?;
    let name = name_of(&symbols, row.symbol)?;
    access.require_symbol(name)?;
    let prefs = effective_prefs(store, user, access).await?;
    ok(ctx, 200, signal_dto(&prefs.signal(&row), name))
}

/// `GET /matrix`: one store query; `ETag` over the `data` member, `If-None-Match` → 304.
///
/// The tag is weak (`W/"…"`): the envelope's `meta` (request id, time) differs on every
/// response, so two responses are semantically, not byte-for-byte, equal.
///
/// # Errors
/// Store failures.
pub async fn matrix<S: Store, C: cl_app::jobs::matrix_cache::MatrixCache>(
    store: &S,
    cache: &C,
    p: MatrixParams,
    access: &TierAccess,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    // The unfiltered matrix, from the pipeline's cache while fresh, else one store query.
    let mut cells = cl_app::jobs::matrix_cache::matrix_cells(store, cache, ctx.now_ms).await?;
    cells.retain(|c| access.sees_symbol(&c.symbol_name));
    for c in &mut cells {
        // A cell whose latest pattern is a hidden type shows nothing (its count, which spans
        // every type, would leak the hidden ones).
        if c.latest
            .is_some_and(|l| !access.sees_pattern_type(l.pattern_type))
        {
            c.latest = None;
            c.active_count = 0;
        }
    }
    let data = matrix_dto(&cells);
    let bytes = serde_json::to_vec(&data)
        .map_err(|err| ApiError::internal(format!("serialize matrix: {err}")))?;
    let opaque = entity_tag(&bytes);
    let mut resp = if p.if_none_match.is_some_and(|h| h.matches(&opaque)) {
        Response::empty(304)
    } else {
        ok(ctx, 200, data)?
    };
    resp.headers.set("etag", format!("W/\"{opaque}\""));
    resp.headers.set("cache-control", MATRIX_CACHE_CONTROL);
    Ok(resp)
}

/// The opaque part of an entity tag: the first 128 bits of SHA-256, in hex.
pub fn entity_tag(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Rows → DTOs
// ---------------------------------------------------------------------------------------------

fn name_of(symbols: &[StoredSymbol], id: SymbolId) -> Result<&str, ApiError> {
    symbols
        .iter()
        .find(|s| s.id == id)
        .map(|s| s.symbol.as_str())
        .ok_or_else(|| ApiError::internal(format!("row refers to missing symbol {id}")))
}

fn candle_dto(c: &Candle) -> CandleDto {
    CandleDto {
        ts: c.ts(),
        open: c.open(),
        high: c.high(),
        low: c.low(),
        close: c.close(),
        volume: c.volume(),
    }
}

fn zone_dto(z: Zone) -> ZoneDto {
    ZoneDto {
        low: z.low(),
        high: z.high(),
    }
}

fn pattern_dto(p: &StoredPattern, symbol: &str) -> PatternDto {
    let l = p.levels;
    PatternDto {
        id: p.id.0,
        symbol: symbol.to_owned(),
        tf: p.tf,
        pattern_type: p.pattern_type,
        direction: p.direction,
        status: p.status,
        zone: zone_dto(p.zone),
        swept_level: p.swept_level,
        detected_at: p.detected_at,
        expires_at: p.expires_at,
        filled_at: p.filled_at,
        fill_pct: p.fill_pct,
        levels: LevelsDto {
            entry: l.entry,
            stop_loss: l.stop_loss,
            tp1: l.tp1,
            tp2: l.tp2,
            tp3: l.tp3,
            risk: l.risk,
            rr1: l.rr1,
            rr2: l.rr2,
            rr3: l.rr3,
        },
        created_at: p.created_at,
    }
}

const fn wire_signal_status(s: SignalStatus) -> WireSignalStatus {
    match s {
        SignalStatus::Pending => WireSignalStatus::Pending,
        SignalStatus::Notified => WireSignalStatus::Notified,
        SignalStatus::Triggered => WireSignalStatus::Triggered,
        SignalStatus::Closed => WireSignalStatus::Closed,
        SignalStatus::Expired => WireSignalStatus::Expired,
        SignalStatus::Cancelled => WireSignalStatus::Cancelled,
    }
}

fn signal_dto(s: &StoredSignal, symbol: &str) -> SignalDto {
    SignalDto {
        id: s.id.0,
        symbol: symbol.to_owned(),
        direction: s.direction.into(),
        status: wire_signal_status(s.status),
        entry: s.entry,
        stop_loss: s.stop_loss,
        tp1: s.tp1,
        tp2: s.tp2,
        tp3: s.tp3,
        risk_reward: s.risk_reward,
        confluence_score: s.confluence_score,
        timeframes_aligned: s.timeframes_aligned.clone(),
        pattern_id: s.pattern_id.map(|id| id.0),
        created_at: s.created_at,
        notified_at: s.notified_at,
    }
}

/// Groups the store's cells into rows (symbols in the store's order), each with exactly one
/// cell per voting TF in column order; a TF the store did not report is neutral.
fn matrix_dto(cells: &[MatrixCell]) -> MatrixDto {
    let mut rows: Vec<(SymbolId, MatrixRowDto)> = Vec::new();
    for cell in cells {
        if !rows.iter().any(|(id, _)| *id == cell.symbol) {
            rows.push((
                cell.symbol,
                MatrixRowDto {
                    symbol: cell.symbol_name.clone(),
                    cells: Vec::new(),
                },
            ));
        }
    }
    for (id, row) in &mut rows {
        row.cells = Timeframe::VOTING
            .iter()
            .map(|tf| {
                let cell = cells.iter().find(|c| c.symbol == *id && c.tf == *tf);
                let latest = cell.and_then(|c| c.latest);
                MatrixCellDto {
                    tf: *tf,
                    direction: latest.map_or(Bias::Neutral, |l| l.direction.into()),
                    pattern_type: latest.map(|l| l.pattern_type),
                    count: cell.map_or(0, |c| c.active_count),
                    zone: latest.map(|l| zone_dto(l.zone)),
                    pattern_id: latest.map(|l| l.id.0),
                    detected_at: latest.map(|l| l.detected_at),
                }
            })
            .collect();
    }
    MatrixDto {
        timeframes: Timeframe::VOTING.to_vec(),
        rows: rows.into_iter().map(|(_, row)| row).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_tags_are_128_bit_hex_and_change_with_the_body() {
        let a = entity_tag(b"{}");
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, entity_tag(b"[]"));
        assert_eq!(a, entity_tag(b"{}"));
    }
}
