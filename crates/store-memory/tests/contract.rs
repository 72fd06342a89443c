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

fn account_harness(case: cl_store_contract::AccountCase) {
    futures_executor::block_on(async {
        let store = MemoryStore::new();
        cl_store_contract::run_account_case(case, &store).await;
    });
}

cl_store_contract::account_contract_tests!(account_harness);

#[test]
fn run_all_accounts_runs_every_case_on_fresh_stores() {
    let ran = futures_executor::block_on(cl_store_contract::run_all_accounts(|| async {
        MemoryStore::new()
    }));
    assert_eq!(ran, cl_store_contract::AccountCase::ALL.len());
}
