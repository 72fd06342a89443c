//! The exchange-credentials contract suite, run against the in-memory store.

use cl_store_contract::{run_credential_case, CredentialCase};
use cl_store_memory::MemoryStore;

fn credential_harness(case: CredentialCase) {
    futures_executor::block_on(async {
        let store = MemoryStore::new();
        run_credential_case(case, &store).await;
    });
}

cl_store_contract::credential_contract_tests!(credential_harness);
