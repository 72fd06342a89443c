//! The account contract against Postgres, and the lockout race on separate connections.

use crate::helpers::{block_on, database_url, migrated_client};
use cl_app::ports::LockoutStore;
use cl_auth::lockout::Reservation;
use cl_store_contract::{account_contract_tests, run_account_case, AccountCase};
use cl_store_pg::PgStore;

fn account_harness(case: AccountCase) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_account_case(case, &store).await;
    });
}

account_contract_tests!(account_harness);

/// Fifty reservations at once, each on its OWN connection, so that the database (not the
/// store's client-side gate) serialises them: all 50 clients connect first, then the 50
/// statements are sent together and awaited together.
fn race(spread_ms: i64) -> usize {
    let Some(url) = database_url() else {
        return 0;
    };
    block_on(async move {
        let setup = migrated_client().await.expect("database");
        let schema: String = setup
            .query_one("SELECT current_schema()", &[])
            .await
            .expect("schema")
            .get(0);
        let mut clients = Vec::new();
        for _ in 0..50 {
            let client = cl_store_pg::connect(&url).await.expect("connect");
            client
                .batch_execute(&format!("SET search_path TO {schema}"))
                .await
                .expect("search_path");
            clients.push(client);
        }
        let stores: Vec<PgStore<'_>> = clients.iter().map(PgStore::new).collect();
        let results = futures_util::future::join_all(
            stores
                .iter()
                .zip(0i64..)
                .map(|(store, i)| store.reserve("acct-race", 1_700_000_000_000 + i * spread_ms)),
        )
        .await;
        let statements: u64 = stores.iter().map(PgStore::statements).sum();
        assert_eq!(statements, 50, "one statement per reservation");
        results
            .into_iter()
            .filter(|r| *r.as_ref().expect("reserve") == Reservation::Allowed)
            .count()
    })
}

#[test]
fn fifty_concurrent_reserves_on_separate_connections_allow_at_most_five() {
    if database_url().is_none() {
        return;
    }
    // One instant: the 1 s rule locks after the second reservation.
    assert_eq!(race(0), 2);
    // Spread out: whatever order the database sees, never more than five.
    let allowed = race(2_000);
    assert!((1..=5).contains(&allowed), "{allowed} allowed");
}
