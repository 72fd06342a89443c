//! The billing contract suite, run against the in-memory store.

use cl_store_contract::{run_all_billing, run_billing_case, BillingCase};
use cl_store_memory::MemoryStore;

fn billing_harness(case: BillingCase) {
    futures_executor::block_on(async {
        let store = MemoryStore::new();
        run_billing_case(case, &store).await;
    });
}

cl_store_contract::billing_contract_tests!(billing_harness);

#[test]
fn run_all_billing_runs_every_case_on_fresh_stores() {
    let ran = futures_executor::block_on(run_all_billing(|| async { MemoryStore::new() }));
    assert_eq!(ran, BillingCase::ALL.len());
}
