//! The billing contract against Postgres.

use crate::helpers::{block_on, migrated_client};
use cl_store_contract::{billing_contract_tests, run_billing_case, BillingCase};
use cl_store_pg::PgStore;

fn billing_harness(case: BillingCase) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_billing_case(case, &store).await;
    });
}

billing_contract_tests!(billing_harness);
