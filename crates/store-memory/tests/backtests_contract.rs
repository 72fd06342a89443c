//! The backtest contract suite, run against the in-memory store.

use cl_store_contract::{run_backtest_case, BacktestCase};
use cl_store_memory::MemoryStore;

fn backtest_harness(case: BacktestCase) {
    futures_executor::block_on(async {
        let store = MemoryStore::new();
        run_backtest_case(case, &store).await;
    });
}

cl_store_contract::backtest_contract_tests!(backtest_harness);
