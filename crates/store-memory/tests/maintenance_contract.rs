//! The maintenance contract (`cl_store_contract::maintenance`) on the memory store.

use cl_store_contract::{run_maintenance_case, MaintenanceCase};
use cl_store_memory::MemoryStore;

fn harness(case: MaintenanceCase) {
    futures_executor::block_on(async {
        let store = MemoryStore::new();
        run_maintenance_case(case, &store).await;
    });
}

cl_store_contract::maintenance_contract_tests!(harness);
