//! The billing contract against Postgres.

use crate::helpers::{block_on, migrated_client};
use cl_store_contract::{billing_contract_tests, run_billing_case, BillingCase};
use cl_store_pg::PgStore;

fn billing_harness(case: BillingCase) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_billing_case(case, &store).await;
    });
}

billing_contract_tests!(billing_harness);

/// Two different events of one purchase decided on the same pending row, applied at once on
/// separate connections: the row locks make exactly one apply and the other stale.
#[test]
fn two_concurrent_activations_on_separate_connections_apply_once() {
    use cl_app::ports::{
        ApplyOutcome, BillingStore, BillingSubscription, NewUser, PaymentRecord, PaymentStatus,
        Provider, UserStore, WebhookWrite,
    };
    use cl_billing::checkout::NewPayment;
    use cl_billing::plan::{BillingCycle, Offer, Plan};
    use cl_billing::subscription::SubscriptionStatus;
    use cl_billing::{Amount, Currency, UserId};
    let Some(url) = crate::helpers::database_url() else {
        return;
    };
    block_on(async move {
        let setup = migrated_client().await.expect("database");
        let schema: String = setup
            .query_one("SELECT current_schema()", &[])
            .await
            .expect("schema")
            .get(0);
        let store = PgStore::new(&setup);
        let uid = store
            .create_user(&NewUser {
                email: cl_auth::email::Email::parse("race@example.com").expect("email"),
                username: cl_auth::email::Username::parse("race").expect("username"),
                password_hash: cl_auth::SecretString::new("$pbkdf2-sha256$i=10,l=32$c2FsdA$aGFzaA"),
                ntfy_topic: "cl_topic_race".into(),
                created_at: 0,
            })
            .await
            .expect("user")
            .id;
        let user = UserId::new(uid.0).expect("id");
        let id = store
            .create_payment(&NewPayment {
                user_id: user,
                provider: Provider::LemonSqueezy,
                offer: Offer::new(Plan::Pro, Some(BillingCycle::Monthly)).expect("offer"),
                amount: Amount::from_units(19).expect("amount"),
                currency: Currency::USD,
                crypto_currency: None,
                status: PaymentStatus::Pending,
                created_at: 1,
            })
            .await
            .expect("payment");
        let read = store
            .payment_by_id(id)
            .await
            .expect("read")
            .expect("row")
            .record;
        let write = |key: &str, expires: i64| WebhookWrite {
            provider: Provider::LemonSqueezy,
            event_key: key.into(),
            received_at: 10,
            outcome: "activated".into(),
            payment_id: Some(id),
            read_payment: Some(read.clone()),
            payment: Some(PaymentRecord {
                status: PaymentStatus::Completed,
                completed_at: Some(10),
                ..read.clone()
            }),
            subscription_user: Some(user),
            read_subscription: None,
            subscription: Some(BillingSubscription {
                user_id: user,
                plan: Plan::Pro,
                status: SubscriptionStatus::Active,
                starts_at: 10,
                expires_at: Some(expires),
                cancelled_at: None,
                provider: None,
                external_subscription_id: None,
            }),
        };
        let (w1, w2) = (write("order", 1_000), write("subscription", 2_000));
        let mut clients = Vec::new();
        for _ in 0..2 {
            let client = cl_store_pg::connect(&url).await.expect("connect");
            client
                .batch_execute(&format!("SET search_path TO {schema}"))
                .await
                .expect("search_path");
            clients.push(client);
        }
        let (s1, s2) = (PgStore::new(&clients[0]), PgStore::new(&clients[1]));
        let (r1, r2) =
            futures_util::future::join(s1.apply_webhook(&w1), s2.apply_webhook(&w2)).await;
        let outcomes = [r1.expect("apply 1"), r2.expect("apply 2")];
        let applied = outcomes
            .iter()
            .filter(|o| matches!(o, ApplyOutcome::Applied { .. }))
            .count();
        let stale = outcomes
            .iter()
            .filter(|o| **o == ApplyOutcome::Stale)
            .count();
        assert_eq!((applied, stale), (1, 1), "{outcomes:?}");
        let sub = store
            .subscription_of(user)
            .await
            .expect("sub")
            .expect("row");
        assert!(matches!(sub.subscription.expires_at, Some(1_000 | 2_000)));
    });
}
