//! Round-trip counts of the hot queries.

use crate::helpers::{block_on, migrated_client};
use cl_app::ports::{NewPattern, NewSymbol, PatternStore, StatusUpdate, SymbolStore, TradeLevels};
use cl_domain::{Direction, PatternStatus, PatternType, Timeframe, Zone};
use cl_store_pg::PgStore;

#[test]
fn the_matrix_is_one_statement_whatever_the_number_of_symbols_and_patterns() {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        let mut seed = Vec::new();
        for i in 0..25 {
            let sym = store
                .add_symbol(&NewSymbol {
                    symbol: format!("S{i:02}/USDT"),
                    exchange: "binance".into(),
                    is_active: true,
                    notify_enabled: true,
                    fetch_start_ms: 0,
                    created_at: 0,
                })
                .await
                .expect("symbol");
            for (k, tf) in Timeframe::ALL.iter().enumerate() {
                for ty in PatternType::ALL {
                    seed.push(NewPattern {
                        symbol: sym.id,
                        tf: *tf,
                        pattern_type: *ty,
                        direction: if k % 2 == 0 {
                            Direction::Bullish
                        } else {
                            Direction::Bearish
                        },
                        zone: Zone::new(10.0, 11.0).expect("zone"),
                        swept_level: None,
                        detected_at: 1_000 * k as i64,
                        expires_at: i64::from(i32::MAX),
                        levels: TradeLevels::default(),
                        created_at: 0,
                    });
                }
            }
        }
        store.insert_patterns(&seed).await.expect("seed");

        let before = store.statements();
        let cells = store.matrix().await.expect("matrix");
        assert_eq!(
            store.statements() - before,
            1,
            "the matrix is ONE round trip"
        );
        assert_eq!(cells.len(), 25 * 7);
        assert!(cells
            .iter()
            .all(|c| c.active_count == 3 && c.latest.is_some()));
    });
}

#[test]
fn a_pattern_insert_is_one_statement_whatever_the_batch_size() {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        let sym = store
            .add_symbol(&NewSymbol {
                symbol: "BTC/USDT".into(),
                exchange: "binance".into(),
                is_active: true,
                notify_enabled: true,
                fetch_start_ms: 0,
                created_at: 0,
            })
            .await
            .expect("symbol");
        let p = |at: i64| NewPattern {
            symbol: sym.id,
            tf: Timeframe::H1,
            pattern_type: PatternType::Imbalance,
            direction: Direction::Bullish,
            zone: Zone::new(10.0, 11.0).expect("zone"),
            swept_level: None,
            detected_at: at,
            expires_at: at + 1,
            levels: TradeLevels::default(),
            created_at: 0,
        };
        let before = store.statements();
        store.insert_pattern(&p(1)).await.expect("one");
        assert_eq!(store.statements() - before, 1);
        // Issue #7: one statement (atomic by itself) for 3 or 300 patterns, and for 300 status
        // changes.
        for n in [3_i64, 300] {
            let batch: Vec<_> = (0..n).map(|k| p(10 + n * 1_000 + k)).collect();
            let before = store.statements();
            let ids = store.insert_patterns(&batch).await.expect("batch");
            assert_eq!(store.statements() - before, 1, "{n} inserts");
            let updates: Vec<_> = ids
                .iter()
                .flatten()
                .map(|id| StatusUpdate {
                    id: *id,
                    status: PatternStatus::Expired,
                    fill_pct: 0.0,
                    filled_at: None,
                })
                .collect();
            let before = store.statements();
            let changed = store.update_statuses(&updates).await.expect("statuses");
            assert_eq!((changed, store.statements() - before), (n as u64, 1));
        }
    });
}

#[test]
fn the_metrics_snapshot_is_one_statement() {
    use cl_app::metrics::MetricsStore;
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        let before = store.statements();
        store.metrics_snapshot().await.expect("snapshot");
        assert_eq!(store.statements() - before, 1);
    });
}
