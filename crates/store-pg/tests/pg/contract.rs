//! The shared storage contract against Postgres.

use crate::helpers::{block_on, migrated_client};
use cl_store_contract::{contract_tests, run_case, Case};
use cl_store_pg::PgStore;

fn harness(case: Case) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_case(case, &store).await;
    });
}

contract_tests!(harness);
