//! The admin notification contract against Postgres.

use crate::helpers::{block_on, migrated_client};
use cl_store_contract::{
    notification_admin_contract_tests, run_notification_admin_case, NotificationAdminCase,
};
use cl_store_pg::PgStore;

fn notification_admin_harness(case: NotificationAdminCase) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_notification_admin_case(case, &store).await;
    });
}

notification_admin_contract_tests!(notification_admin_harness);
