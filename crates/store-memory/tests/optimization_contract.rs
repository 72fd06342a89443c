//! The optimizer contract suite, run against the in-memory store.

use cl_store_contract::{run_optimization_case, OptimizationCase};
use cl_store_memory::MemoryStore;

fn optimization_harness(case: OptimizationCase) {
    futures_executor::block_on(async {
        let store = MemoryStore::new();
        run_optimization_case(case, &store).await;
    });
}

cl_store_contract::optimization_contract_tests!(optimization_harness);
