//! The paged pattern list's contract ([`PatternStore::list_patterns`]), part of the main
//! [`Case`](crate::Case) list so every adapter runs it.
//!
//! Pinned here: newest first by `detected_at`, ties by id descending; pages concatenate to the
//! whole ordered set with no row twice and none missing, also when rows are inserted between
//! two pages; every filter (symbol, TF, type, direction, status of any value) alone and
//! combined; refusals (limit 0, a cursor beyond 2^53).

use crate::{ok, pattern, symbol, Store, HOUR, T0};
use cl_app::ports::{
    Cursor, NewPattern, PageRequest, PatternFilter, PatternId, StatusUpdate, StoreError,
    StoredPattern, MAX_EXACT_INT,
};
use cl_domain::{Direction, PatternStatus, PatternType, Timeframe};

/// Reads every page of `filter` with `limit`, checking each page's cursor.
async fn all_pages<S: Store>(s: &S, filter: &PatternFilter, limit: u32) -> Vec<StoredPattern> {
    let mut got = Vec::new();
    let mut after: Option<Cursor> = None;
    for _ in 0..100 {
        let page = ok(
            s.list_patterns(filter, PageRequest { limit, after }).await,
            "list_patterns",
        );
        assert!(
            page.items.len() <= limit as usize,
            "page longer than its limit"
        );
        got.extend(page.items.iter().copied());
        match page.next {
            Some(c) => {
                let last = page.items.last().expect("a page with a cursor has rows");
                assert_eq!(
                    c,
                    Cursor {
                        ts: last.detected_at,
                        id: last.id.0
                    },
                    "the cursor is the last row's (detected_at, id)"
                );
                after = Some(c);
            }
            None => return got,
        }
    }
    panic!("pagination does not terminate");
}

fn ids(rows: &[StoredPattern]) -> Vec<PatternId> {
    rows.iter().map(|p| p.id).collect()
}

/// The expected order of `rows`: `detected_at` desc, then id desc.
fn newest_first(mut rows: Vec<StoredPattern>) -> Vec<PatternId> {
    rows.sort_by_key(|p| std::cmp::Reverse((p.detected_at, p.id)));
    ids(&rows)
}

/// Seeds two symbols with patterns on several TFs, types and directions, with ties on
/// `detected_at`; ends some of them. Returns every stored row.
async fn seed<S: Store>(s: &S) -> Vec<StoredPattern> {
    let btc = symbol(s, "BTC/USDT").await;
    let eth = symbol(s, "ETH/USDT").await;
    let mut new = Vec::new();
    for (k, sym) in [btc, eth].into_iter().enumerate() {
        for (i, tf) in [Timeframe::M5, Timeframe::H1, Timeframe::D1]
            .into_iter()
            .enumerate()
        {
            for (j, ty) in PatternType::ALL.iter().enumerate() {
                for dir in Direction::ALL {
                    // Many rows share a detected_at (ties across symbols, TFs and types).
                    let at = T0 + HOUR * ((i + j + k) % 3) as i64;
                    new.push(pattern(sym, tf, *ty, *dir, at));
                }
            }
        }
    }
    let stored = ok(s.insert_patterns(&new).await, "seed");
    let mut rows = Vec::new();
    for id in stored.into_iter().flatten() {
        rows.push(ok(s.pattern(id).await, "pattern").expect("stored"));
    }
    assert_eq!(rows.len(), new.len(), "every seeded pattern is new");
    // End a few: filled, expired, invalidated (any status is listed).
    let ends = [
        (rows[0].id, PatternStatus::Filled),
        (rows[5].id, PatternStatus::Expired),
        (rows[9].id, PatternStatus::Invalidated),
        (rows[20].id, PatternStatus::Filled),
    ];
    let updates: Vec<StatusUpdate> = ends
        .iter()
        .map(|(id, status)| StatusUpdate {
            id: *id,
            status: *status,
            fill_pct: 100.0,
            filled_at: Some(T0 + 3 * HOUR),
        })
        .collect();
    ok(s.update_statuses(&updates).await, "end some");
    let mut out = Vec::new();
    for r in rows {
        out.push(ok(s.pattern(r.id).await, "pattern").expect("stored"));
    }
    out
}

/// Every pattern, newest first with ties by id descending, in pages that concatenate to the
/// whole set for any page size; a row stored between two pages never shows up twice nor
/// shifts the rows after the cursor.
pub async fn pattern_list_pages_newest_first<S: Store>(s: &S) {
    let rows = seed(s).await;
    let want = newest_first(rows.clone());
    for limit in [1, 4, 7, rows.len() as u32, rows.len() as u32 + 5] {
        let got = all_pages(s, &PatternFilter::default(), limit).await;
        assert_eq!(
            ids(&got),
            want,
            "limit {limit}: newest first, ties by id desc"
        );
        assert_eq!(
            got.iter().collect::<Vec<_>>(),
            {
                let mut r: Vec<&StoredPattern> = rows.iter().collect();
                r.sort_by_key(|p| std::cmp::Reverse((p.detected_at, p.id)));
                r
            },
            "rows round-trip whole"
        );
    }
    // An exact fit has no next page.
    let exact = ok(
        s.list_patterns(
            &PatternFilter::default(),
            PageRequest {
                limit: rows.len() as u32,
                after: None,
            },
        )
        .await,
        "exact",
    );
    assert!(exact.next.is_none(), "no cursor when nothing follows");

    // Page 1, then a newer row and a row tied with the cursor but with a higher id: neither
    // belongs after the cursor; page 2 continues exactly where page 1 stopped.
    let first = ok(
        s.list_patterns(
            &PatternFilter::default(),
            PageRequest {
                limit: 5,
                after: None,
            },
        )
        .await,
        "page 1",
    );
    let cursor = first.next.expect("more than 5 rows");
    let sym = rows[0].symbol;
    let newer = pattern(
        sym,
        Timeframe::H4,
        PatternType::Imbalance,
        Direction::Bullish,
        T0 + 9 * HOUR,
    );
    let tied = pattern(
        sym,
        Timeframe::M15,
        PatternType::Imbalance,
        Direction::Bullish,
        cursor.ts,
    );
    for p in [newer, tied] {
        ok(s.insert_pattern(&p).await, "insert between pages").expect("new");
    }
    let rest = all_pages_after(s, cursor).await;
    assert_eq!(
        ids(&rest),
        want[5..].to_vec(),
        "page 2 starts right after the cursor"
    );
}

async fn all_pages_after<S: Store>(s: &S, cursor: Cursor) -> Vec<StoredPattern> {
    let mut got = Vec::new();
    let mut after = Some(cursor);
    while let Some(c) = after {
        let page = ok(
            s.list_patterns(
                &PatternFilter::default(),
                PageRequest {
                    limit: 6,
                    after: Some(c),
                },
            )
            .await,
            "next page",
        );
        got.extend(page.items.iter().copied());
        after = page.next;
        assert!(got.len() < 1_000, "pagination does not terminate");
    }
    got
}

/// Each filter alone and combined selects exactly the matching rows, in list order, for every
/// status; bad page requests are refused.
pub async fn pattern_list_filters<S: Store>(s: &S) {
    let rows = seed(s).await;
    let btc = rows[0].symbol;
    let check = |filter: PatternFilter, what: &'static str| {
        let want = newest_first(
            rows.iter()
                .filter(|p| {
                    filter.symbol.is_none_or(|x| p.symbol == x)
                        && filter.tf.is_none_or(|x| p.tf == x)
                        && filter.pattern_type.is_none_or(|x| p.pattern_type == x)
                        && filter.direction.is_none_or(|x| p.direction == x)
                        && filter.status.is_none_or(|x| p.status == x)
                })
                .copied()
                .collect(),
        );
        (filter, want, what)
    };
    let mut plans = vec![
        check(
            PatternFilter {
                symbol: Some(btc),
                ..PatternFilter::default()
            },
            "symbol",
        ),
        check(
            PatternFilter {
                tf: Some(Timeframe::H1),
                ..PatternFilter::default()
            },
            "tf",
        ),
        check(
            PatternFilter {
                pattern_type: Some(PatternType::LiquiditySweep),
                ..PatternFilter::default()
            },
            "type",
        ),
        check(
            PatternFilter {
                direction: Some(Direction::Bearish),
                ..PatternFilter::default()
            },
            "direction",
        ),
        check(
            PatternFilter {
                symbol: Some(btc),
                tf: Some(Timeframe::M5),
                pattern_type: Some(PatternType::Imbalance),
                direction: Some(Direction::Bullish),
                status: Some(PatternStatus::Active),
            },
            "all five",
        ),
        check(
            PatternFilter {
                symbol: Some(btc),
                tf: Some(Timeframe::D1),
                status: Some(PatternStatus::Active),
                ..PatternFilter::default()
            },
            "status + symbol + tf",
        ),
    ];
    for status in PatternStatus::ALL {
        plans.push(check(
            PatternFilter {
                status: Some(*status),
                ..PatternFilter::default()
            },
            "status",
        ));
    }
    for (filter, want, what) in plans {
        for limit in [2, 50] {
            let got = all_pages(s, &filter, limit).await;
            assert_eq!(ids(&got), want, "{what} {filter:?}, limit {limit}");
        }
    }
    let filled = all_pages(
        s,
        &PatternFilter {
            status: Some(PatternStatus::Filled),
            ..PatternFilter::default()
        },
        10,
    )
    .await;
    assert_eq!(filled.len(), 2, "the two filled patterns");
    assert!(filled
        .iter()
        .all(|p| p.fill_pct == 100.0 && p.filled_at == Some(T0 + 3 * HOUR)));
    let none = all_pages(
        s,
        &PatternFilter {
            symbol: Some(cl_app::ports::SymbolId(9_000_000)),
            ..PatternFilter::default()
        },
        10,
    )
    .await;
    assert!(none.is_empty(), "an unknown symbol matches nothing");

    let zero = s
        .list_patterns(
            &PatternFilter::default(),
            PageRequest {
                limit: 0,
                after: None,
            },
        )
        .await;
    assert!(matches!(zero, Err(StoreError::Invalid(_))), "{zero:?}");
    let beyond = s
        .list_patterns(
            &PatternFilter::default(),
            PageRequest {
                limit: 5,
                after: Some(Cursor {
                    ts: MAX_EXACT_INT + 1,
                    id: 1,
                }),
            },
        )
        .await;
    assert!(matches!(beyond, Err(StoreError::Invalid(_))), "{beyond:?}");
    // Cursors above 2^31 and up to 2^53 work like any other.
    let high = NewPattern {
        expires_at: MAX_EXACT_INT,
        created_at: MAX_EXACT_INT,
        ..pattern(
            btc,
            Timeframe::H2,
            PatternType::OrderBlock,
            Direction::Bullish,
            T0,
        )
    };
    let high = NewPattern {
        detected_at: MAX_EXACT_INT - 5,
        ..high
    };
    let high_id = ok(s.insert_pattern(&high).await, "high").expect("new");
    let page = ok(
        s.list_patterns(
            &PatternFilter::default(),
            PageRequest {
                limit: 1,
                after: None,
            },
        )
        .await,
        "high first",
    );
    assert_eq!(ids(&page.items), [high_id]);
    assert_eq!(page.items[0].detected_at, MAX_EXACT_INT - 5);
    let below = ok(
        s.list_patterns(
            &PatternFilter::default(),
            PageRequest {
                limit: 1,
                after: page.next,
            },
        )
        .await,
        "after the high cursor",
    );
    assert_eq!(ids(&below.items), [newest_first(rows.clone())[0]]);
}
