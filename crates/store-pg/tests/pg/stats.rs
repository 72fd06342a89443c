//! The stats contract against Postgres.

use crate::helpers::{block_on, migrated_client};
use cl_store_contract::{run_stats_case, stats_contract_tests, StatsCase};
use cl_store_pg::PgStore;

fn stats_harness(case: StatsCase) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_stats_case(case, &store).await;
    });
}

stats_contract_tests!(stats_harness);
