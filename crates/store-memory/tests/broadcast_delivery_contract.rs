//! The broadcast delivery contract suite, run against the in-memory store.

use cl_store_contract::{run_broadcast_delivery_case, BroadcastDeliveryCase};
use cl_store_memory::MemoryStore;

fn broadcast_delivery_harness(case: BroadcastDeliveryCase) {
    futures_executor::block_on(async {
        let store = MemoryStore::new();
        run_broadcast_delivery_case(case, &store).await;
    });
}

cl_store_contract::broadcast_delivery_contract_tests!(broadcast_delivery_harness);
