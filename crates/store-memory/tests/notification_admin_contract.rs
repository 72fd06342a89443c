//! The admin notification contract suite, run against the in-memory store.

use cl_store_contract::{run_notification_admin_case, NotificationAdminCase};
use cl_store_memory::MemoryStore;

fn notification_admin_harness(case: NotificationAdminCase) {
    futures_executor::block_on(async {
        let store = MemoryStore::new();
        run_notification_admin_case(case, &store).await;
    });
}

cl_store_contract::notification_admin_contract_tests!(notification_admin_harness);
