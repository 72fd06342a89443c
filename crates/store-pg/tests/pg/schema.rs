//! One logical schema: the D1 migrations (SQLite dialect, applied to an in-memory SQLite)
//! and the Postgres migrations (applied to the test database) define the same tables,
//! columns (name, type family, nullability, primary key) and indexes.

use crate::helpers::{block_on, migrated_client};
use cl_store_pg::MIGRATIONS;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Every table of product.md §10.
const SPEC_TABLES: [&str; 41] = [
    "users",
    "auth_lockouts",
    "sessions",
    "auth_tokens",
    "recovery_codes",
    "api_keys",
    "api_key_ip_rules",
    "api_key_usage",
    "exchange_credentials",
    "subscriptions",
    "payments",
    "webhook_events",
    "expiry_warnings",
    "symbols",
    "known_gaps",
    "user_symbol_preferences",
    "candles",
    "patterns",
    "signals",
    "user_notifications",
    "notifications",
    "portfolios",
    "trades",
    "tags",
    "trade_tags",
    "journal_entries",
    "backtests",
    "backtest_trades",
    "optimization_jobs",
    "optimization_runs",
    "settings",
    "stats_cache",
    "cron_jobs",
    "cron_runs",
    "logs",
    "error_logs",
    "audit_log",
    "notification_templates",
    "broadcast_notifications",
    "scheduled_notifications",
    // Migration 0012: one row per recipient of an admin broadcast.
    "broadcast_deliveries",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Family {
    Int,
    Real,
    Text,
    /// Postgres BOOLEAN; INTEGER 0/1 with a CHECK on D1.
    Bool,
    /// Postgres JSONB; TEXT with json_valid on D1.
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    family: Family,
    not_null: bool,
    pk: bool,
}

type Schema = BTreeMap<String, BTreeMap<String, Column>>;
type Indexes = BTreeSet<(String, String, bool)>; // (table, index, unique)

fn migrations_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../migrations")
}

fn sql_files(dir: &PathBuf) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read migrations dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    names
}

fn sqlite_schema() -> (Schema, Indexes, BTreeMap<String, String>) {
    let db = rusqlite::Connection::open_in_memory().expect("sqlite");
    db.execute_batch("PRAGMA foreign_keys = ON").expect("fk");
    for m in MIGRATIONS {
        let path = migrations_dir().join(format!("{}_{}.sql", m.version, m.name));
        let sql = std::fs::read_to_string(&path).expect("read D1 migration");
        db.execute_batch(&sql)
            .unwrap_or_else(|e| panic!("{} fails on SQLite: {e}", path.display()));
    }
    let mut tables = Schema::new();
    let mut ddl = BTreeMap::new();
    let mut stmt = db
        .prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .expect("tables");
    let names: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    for (table, sql) in names {
        let mut cols = BTreeMap::new();
        let mut info = db
            .prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)")
            .expect("table_info");
        let rows = info
            .query_map([&table], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .expect("query");
        for row in rows {
            let (name, ty, not_null, pk) = row.expect("row");
            let family = match ty.as_str() {
                "INTEGER" if sql.contains(&format!("CHECK ({name} IN (0, 1))")) => Family::Bool,
                "INTEGER" => Family::Int,
                "REAL" => Family::Real,
                "TEXT" if sql.contains(&format!("json_valid({name})")) => Family::Json,
                "TEXT" => Family::Text,
                other => panic!("{table}.{name}: unexpected SQLite type {other}"),
            };
            // SQLite reports INTEGER PRIMARY KEY as nullable; it never is.
            let not_null = not_null == 1 || pk > 0;
            cols.insert(
                name,
                Column {
                    family,
                    not_null,
                    pk: pk > 0,
                },
            );
        }
        ddl.insert(table.clone(), sql);
        tables.insert(table, cols);
    }
    let mut idx = db
        .prepare(
            "SELECT tbl_name, name, sql FROM sqlite_master
             WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'",
        )
        .expect("indexes");
    let indexes = idx
        .query_map([], |r| {
            let sql: String = r.get(2)?;
            Ok((r.get(0)?, r.get(1)?, sql.starts_with("CREATE UNIQUE")))
        })
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    (tables, indexes, ddl)
}

async fn postgres_schema(client: &cl_store_pg::tokio_postgres::Client) -> (Schema, Indexes) {
    let rows = client
        .query_typed(
            "SELECT c.table_name::text, c.column_name::text, c.data_type::text,
                    c.is_nullable = 'NO',
                    EXISTS (SELECT 1 FROM information_schema.table_constraints tc
                            JOIN information_schema.key_column_usage k
                              ON k.constraint_name = tc.constraint_name
                             AND k.table_schema = tc.table_schema
                            WHERE tc.constraint_type = 'PRIMARY KEY'
                              AND tc.table_schema = c.table_schema
                              AND tc.table_name = c.table_name
                              AND k.column_name = c.column_name)
             FROM information_schema.columns c
             WHERE c.table_schema = current_schema() AND c.table_name <> 'schema_migrations'",
            &[],
        )
        .await
        .expect("information_schema");
    let mut tables = Schema::new();
    for r in &rows {
        let (table, name, ty): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let family = match ty.as_str() {
            "bigint" | "integer" => Family::Int,
            "double precision" => Family::Real,
            "text" => Family::Text,
            "boolean" => Family::Bool,
            "jsonb" => Family::Json,
            other => panic!("{table}.{name}: unexpected Postgres type {other}"),
        };
        tables.entry(table).or_default().insert(
            name,
            Column {
                family,
                not_null: r.get(3),
                pk: r.get(4),
            },
        );
    }
    let rows = client
        .query_typed(
            "SELECT tablename::text, indexname::text, indexdef LIKE 'CREATE UNIQUE%'
             FROM pg_indexes
             WHERE schemaname = current_schema() AND indexname NOT LIKE '%_pkey'
               AND tablename <> 'schema_migrations'",
            &[],
        )
        .await
        .expect("pg_indexes");
    let indexes = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    (tables, indexes)
}

#[test]
fn d1_and_postgres_migrations_are_the_same_files() {
    let d1 = sql_files(&migrations_dir());
    let pg = sql_files(&migrations_dir().join("postgres"));
    assert_eq!(
        d1, pg,
        "migrations/ and migrations/postgres/ must mirror each other"
    );
    let embedded: Vec<String> = MIGRATIONS
        .iter()
        .map(|m| format!("{}_{}.sql", m.version, m.name))
        .collect();
    assert_eq!(
        pg, embedded,
        "every Postgres migration is embedded in the runner"
    );
}

/// Tables beyond product.md §10: migration 0011, the run queue of on-demand runs.
const EXTRA_TABLES: [&str; 1] = ["run_queue"];

#[test]
fn the_d1_schema_has_every_spec_table() {
    let (tables, _, _) = sqlite_schema();
    let want: BTreeSet<&str> = SPEC_TABLES.into_iter().chain(EXTRA_TABLES).collect();
    let got: BTreeSet<&str> = tables.keys().map(String::as_str).collect();
    assert_eq!(got, want);
}

#[test]
fn d1_and_postgres_define_one_logical_schema() {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let (pg, pg_idx) = postgres_schema(&client).await;
        let (lite, lite_idx, _) = sqlite_schema();
        let pg_tables: BTreeSet<&String> = pg.keys().collect();
        let lite_tables: BTreeSet<&String> = lite.keys().collect();
        assert_eq!(pg_tables, lite_tables, "same tables");
        let mut diffs = Vec::new();
        for (table, cols) in &pg {
            let other = &lite[table];
            let a: BTreeSet<&String> = cols.keys().collect();
            let b: BTreeSet<&String> = other.keys().collect();
            if a != b {
                diffs.push(format!(
                    "{table}: only Postgres {:?}, only D1 {:?}",
                    a.difference(&b).collect::<Vec<_>>(),
                    b.difference(&a).collect::<Vec<_>>()
                ));
                continue;
            }
            for (name, col) in cols {
                if other[name] != *col {
                    diffs.push(format!(
                        "{table}.{name}: Postgres {col:?} vs D1 {:?}",
                        other[name]
                    ));
                }
            }
        }
        assert!(
            diffs.is_empty(),
            "schema differences:\n{}",
            diffs.join("\n")
        );
        assert_eq!(pg_idx, lite_idx, "same indexes (name, table, uniqueness)");
    });
}
