//! The stats contract (`cl_store_contract::stats`) on the memory store.

use cl_store_contract::{run_stats_case, StatsCase};
use cl_store_memory::MemoryStore;

fn stats_harness(case: StatsCase) {
    futures_executor::block_on(async {
        let store = MemoryStore::new();
        run_stats_case(case, &store).await;
    });
}

cl_store_contract::stats_contract_tests!(stats_harness);
