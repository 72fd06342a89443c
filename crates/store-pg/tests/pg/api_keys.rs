//! The API-key contract against Postgres, plus the subscription lookup on a real row.

use crate::helpers::{block_on, migrated_client};
use cl_store_contract::{api_key_contract_tests, run_api_key_case, ApiKeyCase};
use cl_store_pg::PgStore;

fn api_key_harness(case: ApiKeyCase) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_api_key_case(case, &store).await;
    });
}

api_key_contract_tests!(api_key_harness);

/// A stored subscription row comes back as the policy's plan, status and expiry.
#[test]
fn the_subscription_lookup_reads_plan_status_and_expiry() {
    use cl_app::policy::{Plan, SubscriptionStatus};
    use cl_app::ports::api_keys::SubscriptionLookup;
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        client
            .batch_execute(
                "INSERT INTO users (email, username, password_hash, ntfy_topic, created_at) \
                 VALUES ('p@example.com', 'pro_user', 'x', 'cl_t', 1); \
                 INSERT INTO subscriptions (user_id, plan, status, starts_at, expires_at, \
                 provider, created_at, updated_at) \
                 SELECT id, 'pro', 'cancelled', 1, 99, 'admin', 1, 1 FROM users",
            )
            .await
            .unwrap();
        let store = PgStore::new(&client);
        let id: i64 = client
            .query_one("SELECT id FROM users", &[])
            .await
            .unwrap()
            .get(0);
        let sub = store
            .tier_subscription(cl_app::ports::UserId(id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(sub.plan, Plan::Pro);
        assert_eq!(sub.status, SubscriptionStatus::Cancelled);
        assert_eq!(sub.expires_at, Some(99));
    });
}
