//! The backtest contract against Postgres.

use crate::helpers::{block_on, migrated_client};
use cl_store_contract::{backtest_contract_tests, run_backtest_case, BacktestCase};
use cl_store_pg::PgStore;

fn backtest_harness(case: BacktestCase) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_backtest_case(case, &store).await;
    });
}

backtest_contract_tests!(backtest_harness);
