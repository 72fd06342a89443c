//! The maintenance contract (stats, gaps, flagged candles, purges) against Postgres.

use crate::helpers::{block_on, migrated_client};
use cl_store_contract::{maintenance_contract_tests, run_maintenance_case, MaintenanceCase};
use cl_store_pg::PgStore;

fn maintenance_harness(case: MaintenanceCase) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_maintenance_case(case, &store).await;
    });
}

maintenance_contract_tests!(maintenance_harness);
