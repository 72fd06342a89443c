//! The admin contract (`cl_store_contract::admin`) against Postgres.

use crate::helpers::{block_on, migrated_client};
use cl_store_contract::{admin_contract_tests, run_admin_case, AdminCase};
use cl_store_pg::PgStore;

fn admin_harness(case: AdminCase) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_admin_case(case, &store).await;
    });
}

admin_contract_tests!(admin_harness);

/// Two admins demoting each other at the same time on two connections: exactly one demotion
/// wins and one admin remains. (The interleaving is up to the driver; the `FOR UPDATE` lock
/// on the active admins is what makes this hold when both transactions overlap.)
#[test]
fn mutual_demotions_on_two_connections_keep_one_admin() {
    use cl_app::ports::admin::{AdminStore, ChangeOutcome, NewAuditEntry, UserChange};
    use cl_app::ports::{NewUser, UserStore};
    use cl_auth::email::{Email, Username};
    use cl_auth::SecretString;
    block_on(async {
        let Some(first) = migrated_client().await else {
            return;
        };
        let schema: String = first
            .query_one("SELECT current_schema()", &[])
            .await
            .unwrap()
            .get(0);
        let url = crate::helpers::database_url().unwrap();
        let second = cl_store_pg::connect(&url).await.unwrap();
        second
            .batch_execute(&format!("SET search_path TO {schema}"))
            .await
            .unwrap();
        let (s1, s2) = (PgStore::new(&first), PgStore::new(&second));
        let mut ids = Vec::new();
        for n in ["ada", "bob"] {
            let u = s1
                .create_user(&NewUser {
                    email: Email::parse(&format!("{n}@example.com")).unwrap(),
                    username: Username::parse(n).unwrap(),
                    password_hash: SecretString::new(format!("$pbkdf2-sha256$i=10,l=32$s{n}$h")),
                    ntfy_topic: format!("cl_topic_{n}"),
                    created_at: 1,
                })
                .await
                .unwrap();
            s1.set_admin(u.id, true).await.unwrap();
            ids.push(u.id);
        }
        let audit = |actor| NewAuditEntry {
            actor: Some(actor),
            action: "user.revoke_admin".into(),
            target: "user:x".into(),
            details: None,
            ip: None,
            request_id: None,
            at: 2,
        };
        let (a1, a2) = (audit(ids[0]), audit(ids[1]));
        let (r1, r2) = futures_util::future::join(
            s1.change_user(ids[1], UserChange::Admin(false), &a1),
            s2.change_user(ids[0], UserChange::Admin(false), &a2),
        )
        .await;
        let outcomes = [r1.unwrap(), r2.unwrap()];
        let applied = outcomes
            .iter()
            .filter(|o| matches!(o, ChangeOutcome::Applied { .. }))
            .count();
        assert_eq!(applied, 1, "{outcomes:?}");
        assert!(outcomes.contains(&ChangeOutcome::LastAdmin));
        let admins = first
            .query_one("SELECT count(*) FROM users WHERE is_admin", &[])
            .await
            .unwrap()
            .get::<_, i64>(0);
        assert_eq!(admins, 1);
    });
}
