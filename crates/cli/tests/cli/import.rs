//! `cryptolens import`: bad rows reported and skipped; the SQL loads into the D1 schema after
//! migrations/, and loading it twice adds nothing.

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

#[test]
fn import_skips_bad_rows_and_emits_idempotent_sql() {
    let file = std::env::temp_dir().join(format!("cl-import-{}.csv", std::process::id()));
    let mut csv = String::from("timestamp,open,high,low,close,volume\n");
    for m in 0..1_200_i64 {
        csv.push_str(&format!(
            "{},100,101,99,100.5,2\n",
            1_704_067_200_000 + m * 60_000
        ));
    }
    csv.push_str("1704067200000,100,101,99,100.5,2\n"); // out of order
    csv.push_str("1799999999999,100,99,99,100,1\n"); // high below the body
    std::fs::write(&file, csv).unwrap();
    let path = file.to_string_lossy().into_owned();

    let run = cryptolens(&["import", "--symbol", "btc-usdt", "--file", &path]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("skipped data row 1201"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("skipped data row 1202"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("1200 valid rows, 2 skipped"),
        "{}",
        run.stderr
    );

    let db = rusqlite::Connection::open_in_memory().unwrap();
    db.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
    for m in migrations() {
        db.execute_batch(&std::fs::read_to_string(&m).unwrap())
            .unwrap();
    }
    db.execute_batch(
        "INSERT INTO symbols (symbol, exchange, is_active, notify_enabled, fetch_start_date, created_at) \
         VALUES ('BTC/USDT', 'binance', 1, 1, 0, 0);",
    )
    .unwrap();
    for _ in 0..2 {
        db.execute_batch(&run.stdout).unwrap();
        let n: i64 = db
            .query_row("SELECT count(*) FROM candles WHERE tf = '1m'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(n, 1_200);
    }
    let bad = cryptolens(&["import", "--symbol", "BTC", "--file", &path]);
    assert_eq!(bad.code, 2);
    let _ = std::fs::remove_file(&file);
}
