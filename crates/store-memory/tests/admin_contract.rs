//! The admin contract (`cl_store_contract::admin`) on the memory store.

use cl_store_contract::{run_admin_case, AdminCase};
use cl_store_memory::MemoryStore;

fn admin_harness(case: AdminCase) {
    futures_executor::block_on(async {
        let store = MemoryStore::new();
        run_admin_case(case, &store).await;
    });
}

cl_store_contract::admin_contract_tests!(admin_harness);
