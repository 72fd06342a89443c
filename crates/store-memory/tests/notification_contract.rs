//! The notification contract suite, run against the in-memory store (no round-trip counter).

use cl_store_contract::{run_notification_case, NotificationCase};
use cl_store_memory::MemoryStore;

fn notification_harness(case: NotificationCase) {
    futures_executor::block_on(async {
        let store = MemoryStore::new();
        run_notification_case(case, &store, &|| None).await;
    });
}

cl_store_contract::notification_contract_tests!(notification_harness);
