//! The `stats` job (product.md §4, every 5 minutes): recomputes the stats cache, one `global`
//! entry and one `symbol:<NAME>` entry per symbol, from ONE grouped query, plus the analytics
//! entries of `/analytics` (crate::stats::analytics_entries) from ONE more grouped count, and
//! writes them in ONE atomic batch that overwrites by key (so a re-run or a double trigger just
//! rewrites the same keys).

use super::maintenance::{MaintenanceStore, StatsEntry, SymbolStats};
use super::runner::{begin, finish, settle, Begin, JobReport};
use super::JobOutcome;
use crate::cron::{CronStore, RunCounts, RunTrigger};
use crate::ports::stats::StatsStore;
use crate::ports::{Clock, StoreError};

/// The job's name in `cron_jobs`.
pub const STATS_JOB: &str = "stats";
/// The key of the global entry.
pub const GLOBAL_KEY: &str = "global";
/// The lease of one run (ms).
pub const STATS_LEASE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// The key of a symbol's entry.
pub fn symbol_key(name: &str) -> String {
    format!("symbol:{name}")
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn opt(v: Option<i64>) -> String {
    v.map_or_else(|| "null".to_owned(), |v| v.to_string())
}

/// The entries for one computation at `now` (pure: the rules the host tests pin).
pub fn stats_entries(rows: &[SymbolStats], now: i64) -> Vec<StatsEntry> {
    let sum = |f: fn(&SymbolStats) -> u64| rows.iter().map(f).sum::<u64>();
    let global = format!(
        "{{\"symbols\":{},\"active_symbols\":{},\"active_patterns\":{},\"patterns_24h\":{},\"signals_24h\":{},\"computed_at\":{now}}}",
        rows.len(),
        rows.iter().filter(|r| r.is_active).count(),
        sum(|r| r.active_patterns),
        sum(|r| r.patterns_since),
        sum(|r| r.signals_since),
    );
    let mut out = vec![StatsEntry {
        key: GLOBAL_KEY.to_owned(),
        data: global,
        computed_at: now,
    }];
    out.extend(rows.iter().map(|r| StatsEntry {
        key: symbol_key(&r.name),
        data: format!(
            "{{\"symbol\":{},\"active\":{},\"active_patterns\":{},\"patterns_24h\":{},\"signals_24h\":{},\"last_1m_ts\":{},\"lag_ms\":{},\"computed_at\":{now}}}",
            json_str(&r.name),
            r.is_active,
            r.active_patterns,
            r.patterns_since,
            r.signals_since,
            opt(r.last_1m_ts),
            opt(r.last_1m_ts.map(|t| now.saturating_sub(t))),
        ),
        computed_at: now,
    }));
    out
}

/// Runs the stats job once.
///
/// # Errors
/// A [`StoreError`] from the job bookkeeping; the work's errors fail the recorded run.
pub async fn run_stats_job<S, C>(
    store: &S,
    clock: &C,
    trigger: RunTrigger,
) -> Result<(JobOutcome, JobReport), StoreError>
where
    S: MaintenanceStore + CronStore + StatsStore,
    C: Clock,
{
    let run = match begin(store, clock, STATS_JOB, STATS_LEASE_MS, trigger).await? {
        Begin::Run(run) => run,
        Begin::Done(outcome, report) => return Ok((outcome, report)),
    };
    let mut counts = RunCounts::default();
    let now = run.started();
    let work = async {
        let rows = store.symbol_stats(now.saturating_sub(DAY_MS)).await?;
        let mut entries = stats_entries(&rows, now);
        let names: Vec<_> = rows.iter().map(|r| (r.symbol, r.name.clone())).collect();
        let analytics = store.analytics_counts().await?;
        entries.extend(crate::stats::analytics_entries(&names, &analytics, now));
        store.put_stats(&entries).await?;
        counts.symbols = u64::try_from(rows.len()).unwrap_or(0);
        counts.add("stats_keys", u64::try_from(entries.len()).unwrap_or(0));
        counts.queries = 3;
        Ok(None)
    }
    .await;
    let (status, error) = settle(work);
    finish(store, clock, run, status, error, counts).await
}
