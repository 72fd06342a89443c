//! The admin contract (`cl_store_contract::admin`) against Postgres.

use crate::helpers::{block_on, migrated_client};
use cl_store_contract::{admin_contract_tests, run_admin_case, AdminCase};
use cl_store_pg::PgStore;

fn admin_harness(case: AdminCase) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_admin_case(case, &store).await;
    });
}

admin_contract_tests!(admin_harness);
