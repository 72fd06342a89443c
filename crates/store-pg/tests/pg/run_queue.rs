//! The run-queue contract against Postgres.

use crate::helpers::{block_on, migrated_client};
use cl_store_contract::{run_queue_contract_tests, run_run_queue_case, RunQueueCase};
use cl_store_pg::PgStore;

fn run_queue_harness(case: RunQueueCase) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_run_queue_case(case, &store).await;
    });
}

run_queue_contract_tests!(run_queue_harness);
