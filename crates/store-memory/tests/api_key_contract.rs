//! The API-key contract suite, run against the in-memory store.

use cl_store_contract::{run_all_api_keys, run_api_key_case, ApiKeyCase};
use cl_store_memory::MemoryStore;

fn api_key_harness(case: ApiKeyCase) {
    futures_executor::block_on(async {
        let store = MemoryStore::new();
        run_api_key_case(case, &store).await;
    });
}

cl_store_contract::api_key_contract_tests!(api_key_harness);

#[test]
fn run_all_api_keys_runs_every_case_on_fresh_stores() {
    let ran = futures_executor::block_on(run_all_api_keys(|| async { MemoryStore::new() }));
    assert_eq!(ran, ApiKeyCase::ALL.len());
}
