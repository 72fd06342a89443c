//! The run-queue contract suite, run against the in-memory store.

use cl_store_contract::{run_run_queue_case, RunQueueCase};
use cl_store_memory::MemoryStore;

fn run_queue_harness(case: RunQueueCase) {
    futures_executor::block_on(async {
        let store = MemoryStore::new();
        run_run_queue_case(case, &store).await;
    });
}

cl_store_contract::run_queue_contract_tests!(run_queue_harness);
