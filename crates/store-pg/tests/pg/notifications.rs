//! The notification contract against Postgres, with the statement counter: the eligibility
//! query and the due read are each ONE round trip.

use crate::helpers::{block_on, migrated_client};
use cl_store_contract::{notification_contract_tests, run_notification_case, NotificationCase};
use cl_store_pg::PgStore;

fn harness(case: NotificationCase) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_notification_case(case, &store, &|| Some(store.statements())).await;
    });
}

notification_contract_tests!(harness);
