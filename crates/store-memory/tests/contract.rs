//! The storage contract suite, run against the in-memory store.

use cl_store_contract::{contract_tests, run_all, run_case, Case};
use cl_store_memory::MemoryStore;

fn harness(case: Case) {
    futures_executor::block_on(async {
        let store = MemoryStore::new();
        run_case(case, &store).await;
    });
}

contract_tests!(harness);

#[test]
fn run_all_runs_every_case_on_fresh_stores() {
    let ran = futures_executor::block_on(run_all(|| async { MemoryStore::new() }));
    assert_eq!(ran, Case::ALL.len());
}
