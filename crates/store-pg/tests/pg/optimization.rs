//! The optimizer contract against Postgres.

use crate::helpers::{block_on, migrated_client};
use cl_store_contract::{optimization_contract_tests, run_optimization_case, OptimizationCase};
use cl_store_pg::PgStore;

fn optimization_harness(case: OptimizationCase) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_optimization_case(case, &store).await;
    });
}

optimization_contract_tests!(optimization_harness);
