//! The exchange-credentials contract against Postgres.

use crate::helpers::{block_on, migrated_client};
use cl_store_contract::{credential_contract_tests, run_credential_case, CredentialCase};
use cl_store_pg::PgStore;

fn credential_harness(case: CredentialCase) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_credential_case(case, &store).await;
    });
}

credential_contract_tests!(credential_harness);
