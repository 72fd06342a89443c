//! The batch writes of a pipeline tick at scale (issue #7: a tick's statements must not grow
//! with the number of patterns). The D1 adapter sends each of these calls as one statement
//! with a JSON row set and Postgres as one `unnest` statement; this case pins that the
//! set-based forms keep the one-at-a-time meaning: ids in input order, `None` for a key
//! that existed or came twice, values read back bit for bit, only active rows updated.

use super::{candle, ok, pattern, symbol, Store, MIN, T0};
use cl_app::ports::{PatternId, StatusUpdate, StoredPattern};
use cl_domain::{Candle, Direction, PatternStatus, PatternType, Timeframe};

/// Floats whose shortest decimal form is long or exponential.
const AWKWARD: [f64; 6] = [
    0.1 + 0.2,
    1.0e-7,
    123_456.789_012_345_6,
    1.0 / 3.0,
    2.5e15,
    7.0,
];

/// [`large_tick_batches_keep_their_meaning`]: 600 candles, 300 new patterns (one existing
/// key, one key twice) and 300 status changes, each in ONE port call.
pub async fn large_tick_batches_keep_their_meaning<S: Store>(s: &S) {
    let sym = symbol(s, "BTC/USDT").await;
    let other = symbol(s, "ETH/USDT").await;

    // Candles: 600 in one call, awkward floats read back exactly; again → nothing new.
    let candles: Vec<Candle> = (0..600_i64)
        .map(|i| {
            let base = AWKWARD[(i % 6) as usize] * (1.0 + i as f64 / 7.0);
            candle(T0 + i * MIN, base)
        })
        .collect();
    assert_eq!(
        ok(
            s.upsert_candles(sym, Timeframe::M1, &candles).await,
            "candles"
        ),
        600
    );
    assert_eq!(
        ok(
            s.upsert_candles(sym, Timeframe::M1, &candles).await,
            "again"
        ),
        0
    );
    let back = ok(s.last_candles(sym, Timeframe::M1, 1_000).await, "read");
    assert_eq!(back, candles, "candles read back exactly, in order");

    // Patterns: a pre-existing key, then 300 in one call with that key at 7 and a repeat
    // of input 3 at 250; another symbol's same key is distinct.
    let key_at = |i: i64| T0 + i * MIN;
    let mk = |i: i64| {
        let mut p = pattern(
            sym,
            Timeframe::ALL[(i % 8) as usize],
            PatternType::ALL[(i % 3) as usize],
            if i % 2 == 0 {
                Direction::Bullish
            } else {
                Direction::Bearish
            },
            key_at(i),
        );
        p.zone = super::zone(AWKWARD[(i % 6) as usize], AWKWARD[(i % 6) as usize] + 1.0);
        p.levels.entry = AWKWARD[((i + 1) % 6) as usize];
        p.swept_level = (i % 5 == 0).then_some(AWKWARD[((i + 2) % 6) as usize]);
        p
    };
    let existing = ok(s.insert_pattern(&mk(7)).await, "existing").expect("new");
    let mut batch: Vec<_> = (0..300).map(mk).collect();
    batch[250] = mk(3);
    let mut foreign = mk(11);
    foreign.symbol = other;
    batch.push(foreign);
    let ids = ok(s.insert_patterns(&batch).await, "batch");
    assert_eq!(ids.len(), batch.len(), "one result per input");
    assert_eq!(ids[7], None, "a stored key gets no id");
    assert_eq!(ids[250], None, "a key seen earlier in the batch gets no id");
    let new: Vec<PatternId> = ids.iter().flatten().copied().collect();
    assert_eq!(new.len(), 299, "298 of the first symbol + 1 of the other");
    assert!(
        new.windows(2).all(|w| w[0] < w[1]) && new[0] > existing,
        "ids follow the input order"
    );
    for (i, id) in ids.iter().enumerate().take(300) {
        let Some(id) = id else { continue };
        let stored: StoredPattern = ok(s.pattern(*id).await, "pattern").expect("stored");
        let want = &batch[i];
        assert_eq!(
            (
                stored.symbol,
                stored.tf,
                stored.pattern_type,
                stored.direction,
                stored.detected_at
            ),
            (
                want.symbol,
                want.tf,
                want.pattern_type,
                want.direction,
                want.detected_at
            ),
            "input {i}"
        );
        assert_eq!(stored.zone, want.zone, "zone of input {i}");
        assert_eq!(
            stored.swept_level, want.swept_level,
            "swept level of input {i}"
        );
        assert_eq!(stored.levels, want.levels, "levels of input {i}");
        assert_eq!(stored.status, PatternStatus::Active);
    }
    assert_eq!(ok(s.active_patterns(other, None).await, "other").len(), 1);

    // Statuses: 300 changes in one call — 299 new rows plus the pre-existing one; one row
    // already ended stays as it is.
    let ended = new[0];
    ok(
        s.update_statuses(&[StatusUpdate {
            id: ended,
            status: PatternStatus::Invalidated,
            fill_pct: 12.5,
            filled_at: None,
        }])
        .await,
        "end one",
    );
    let mut targets = new.clone();
    targets.push(existing);
    let updates: Vec<StatusUpdate> = targets
        .iter()
        .enumerate()
        .map(|(k, id)| {
            let k = k as i64;
            let status = match k % 4 {
                0 => PatternStatus::Filled,
                1 => PatternStatus::Expired,
                2 => PatternStatus::Invalidated,
                _ => PatternStatus::Active,
            };
            StatusUpdate {
                id: *id,
                status,
                fill_pct: AWKWARD[(k % 6) as usize].min(100.0),
                filled_at: (status == PatternStatus::Filled).then_some(T0 + k),
            }
        })
        .collect();
    let changed = ok(s.update_statuses(&updates).await, "statuses");
    assert_eq!(
        changed, 299,
        "every active row of the batch, not the ended one"
    );
    for u in &updates {
        let p = ok(s.pattern(u.id).await, "pattern").expect("stored");
        if u.id == ended {
            assert_eq!((p.status, p.fill_pct), (PatternStatus::Invalidated, 12.5));
        } else {
            assert_eq!(
                (p.status, p.fill_pct, p.filled_at),
                (u.status, u.fill_pct, u.filled_at),
                "pattern {}",
                u.id
            );
        }
    }
    // Re-sending the same batch (a double trigger) changes only what is still active.
    let still_active = updates
        .iter()
        .filter(|u| u.id != ended && u.status == PatternStatus::Active)
        .count() as u64;
    assert_eq!(ok(s.update_statuses(&updates).await, "again"), still_active);
}
