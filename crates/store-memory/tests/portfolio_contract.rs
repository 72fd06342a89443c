//! The portfolio contract suite, run against the in-memory store.

use cl_store_contract::{run_all_portfolio, run_portfolio_case, PortfolioCase};
use cl_store_memory::MemoryStore;

fn portfolio_harness(case: PortfolioCase) {
    futures_executor::block_on(async {
        let store = MemoryStore::new();
        run_portfolio_case(case, &store).await;
    });
}

cl_store_contract::portfolio_contract_tests!(portfolio_harness);

#[test]
fn run_all_portfolio_runs_every_case_on_fresh_stores() {
    let ran = futures_executor::block_on(run_all_portfolio(|| async { MemoryStore::new() }));
    assert_eq!(ran, PortfolioCase::ALL.len());
}
