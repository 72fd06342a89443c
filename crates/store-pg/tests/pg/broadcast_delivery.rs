//! The broadcast delivery contract against Postgres.

use crate::helpers::{block_on, migrated_client};
use cl_store_contract::{
    broadcast_delivery_contract_tests, run_broadcast_delivery_case, BroadcastDeliveryCase,
};
use cl_store_pg::PgStore;

fn broadcast_delivery_harness(case: BroadcastDeliveryCase) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_broadcast_delivery_case(case, &store).await;
    });
}

broadcast_delivery_contract_tests!(broadcast_delivery_harness);
