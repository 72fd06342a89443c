//! The migration runner: ordered, idempotent, seeds present.

use crate::helpers::{block_on, fresh_client};
use cl_store_pg::{migrate, MIGRATIONS};

#[test]
fn migrations_apply_in_order_once_and_seed_jobs_and_settings() {
    block_on(async {
        let Some(client) = fresh_client().await else {
            return;
        };
        let first = migrate(&client).await.expect("first run");
        let all: Vec<&str> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(first, all, "every migration applied, in order");
        let second = migrate(&client).await.expect("second run");
        assert!(second.is_empty(), "a second run applies nothing");

        let jobs: Vec<String> = client
            .query_typed("SELECT name FROM cron_jobs ORDER BY id", &[])
            .await
            .expect("cron_jobs")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(
            jobs,
            [
                "pipeline",
                "dispatch",
                "stats",
                "gaps",
                "db-health",
                "cleanup",
                "subscriptions"
            ]
        );
        let cooldown: String = client
            .query_typed(
                "SELECT value::text FROM settings WHERE key = 'signal.cooldown_hours'",
                &[],
            )
            .await
            .expect("settings")[0]
            .get(0);
        assert_eq!(cooldown, "4");
        let versions: i64 = client
            .query_typed("SELECT count(*) FROM schema_migrations", &[])
            .await
            .expect("schema_migrations")[0]
            .get(0);
        assert_eq!(versions, MIGRATIONS.len() as i64);
    });
}

#[test]
fn migration_files_are_numbered_without_gaps() {
    for (i, m) in MIGRATIONS.iter().enumerate() {
        assert_eq!(m.version, format!("{:04}", i + 1));
        assert!(!m.sql.trim().is_empty());
    }
}
