//! `cryptolens demo-sql`: the SQL loads into SQLite after migrations/, twice.

use crate::helpers::cryptolens;
use std::path::PathBuf;

fn migrations() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
}

fn count(db: &rusqlite::Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn demo_sql_loads_into_the_d1_schema_idempotently_with_patterns_on_every_tf() {
    // Arrange
    let out = std::env::temp_dir().join(format!("cl-demo-{}.sql", std::process::id()));
    let path = out.to_string_lossy().into_owned();
    // Act
    let run = cryptolens(&["demo-sql", "--out", &path]);
    // Assert
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    let sql = std::fs::read_to_string(&out).unwrap();
    for stmt in sql.split(";\n") {
        assert!(
            stmt.len() < 100 * 1024,
            "a statement of {} bytes",
            stmt.len()
        );
    }
    let db = rusqlite::Connection::open_in_memory().unwrap();
    db.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
    for m in migrations() {
        db.execute_batch(&std::fs::read_to_string(&m).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", m.display()));
    }
    db.execute_batch(&sql).unwrap();
    let symbols = count(&db, "SELECT count(*) FROM symbols");
    let candles = count(&db, "SELECT count(*) FROM candles");
    let patterns = count(&db, "SELECT count(*) FROM patterns");
    let signals = count(&db, "SELECT count(*) FROM signals");
    assert_eq!(symbols, 5);
    // 3 days of 1m (4,320 per symbol, a few holes) and 10 days of every higher TF.
    let one_minute = count(&db, "SELECT count(*) FROM candles WHERE tf = '1m'");
    assert!(
        (5 * 4_300..=5 * 4_320).contains(&one_minute),
        "{one_minute}"
    );
    let daily = count(&db, "SELECT count(*) FROM candles WHERE tf = '1d'");
    assert_eq!(daily, 5 * 10);
    assert!(patterns > 1_000, "{patterns}");
    assert!(signals > 0, "{signals}");
    for tf in ["5m", "15m", "30m", "1h", "2h", "4h", "1d"] {
        let n = count(
            &db,
            &format!(
                "SELECT count(*) FROM patterns p JOIN symbols s ON s.id = p.symbol_id \
                 WHERE s.symbol = 'BTC/USDT' AND p.tf = '{tf}'"
            ),
        );
        assert!(n > 0, "no BTC/USDT pattern on {tf}");
    }
    // Every signal points at its source pattern.
    assert_eq!(
        count(&db, "SELECT count(*) FROM signals WHERE pattern_id IS NULL"),
        0
    );
    // Loading it again inserts nothing.
    db.execute_batch(&sql).unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM symbols"), symbols);
    assert_eq!(count(&db, "SELECT count(*) FROM candles"), candles);
    assert_eq!(count(&db, "SELECT count(*) FROM patterns"), patterns);
    assert_eq!(count(&db, "SELECT count(*) FROM signals"), signals);
    std::fs::remove_file(&out).unwrap();
}

#[test]
fn demo_sql_is_deterministic_and_refuses_bad_symbols() {
    let dir = std::env::temp_dir();
    let a = dir.join(format!("cl-demo-a-{}.sql", std::process::id()));
    let b = dir.join(format!("cl-demo-b-{}.sql", std::process::id()));
    for p in [&a, &b] {
        let path = p.to_string_lossy().into_owned();
        let run = cryptolens(&[
            "demo-sql",
            "--out",
            &path,
            "--days",
            "1",
            "--symbols",
            "ETH/USDT",
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    std::fs::remove_file(&a).unwrap();
    std::fs::remove_file(&b).unwrap();
    let path = dir.join("never.sql").to_string_lossy().into_owned();
    let run = cryptolens(&["demo-sql", "--out", &path, "--symbols", "X"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("symbol \"X\""), "{}", run.stderr);
}
