//! The `cleanup` job (product.md §4, daily after db-health): deletes by the retention policy
//! in `settings` (`retention.<target>_days`, `null` = keep; absent or unreadable → the §4
//! default), in batches of at most `retention.batch_size` (≤ 5000) rows per statement, and
//! records how many rows each target lost (`deleted.<target>` in the run's counts). Deletes by
//! age are naturally repeatable; a run that hits its batch or time budget is `partial` and the
//! next run continues. Tables with unfinished work keep it: queued or running `run_queue` rows
//! and queued `broadcast_deliveries` are never deleted, whatever their age (their targets
//! follow the cron-runs and notifications retention).

use super::maintenance::{MaintenanceStore, RetentionTarget};
use super::runner::{begin, finish, settle, Begin, JobReport};
use super::JobOutcome;
use crate::cron::{CronStore, RunCounts, RunTrigger};
use crate::ports::{Clock, StoreError};

/// The job's name in `cron_jobs`.
pub const CLEANUP_JOB: &str = "cleanup";
/// The largest batch (product.md §4).
pub const MAX_BATCH: u32 = 5_000;
/// The settings key of the batch size.
pub const BATCH_KEY: &str = "retention.batch_size";
const DAY_MS: i64 = 86_400_000;

/// The cleanup job's knobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupConfig {
    /// Statements per target and run.
    pub max_batches_per_target: u32,
    /// Stop starting batches after this long (ms).
    pub budget_ms: i64,
}

impl Default for CleanupConfig {
    fn default() -> Self {
        Self {
            max_batches_per_target: 20,
            budget_ms: 20_000,
        }
    }
}

/// A retention from a setting's JSON text: `Some(days)`, or `None` to keep forever; a value
/// that is not `null` or a whole number of days ≥ 1 falls back to `default`.
pub fn retention_days(text: Option<&str>, default: u32) -> Option<u32> {
    let Some(text) = text.map(str::trim) else {
        return Some(default);
    };
    if text == "null" {
        return None;
    }
    Some(
        text.parse::<u32>()
            .ok()
            .filter(|d| *d >= 1)
            .unwrap_or(default),
    )
}

/// The batch size from its setting: 1..=5000, else 5000.
pub fn batch_size(text: Option<&str>) -> u32 {
    text.and_then(|t| t.trim().parse::<u32>().ok())
        .filter(|n| (1..=MAX_BATCH).contains(n))
        .unwrap_or(MAX_BATCH)
}

/// The cutoff for `days` at `now`: rows strictly older are deleted.
pub fn cutoff(now: i64, days: u32) -> i64 {
    now.saturating_sub(i64::from(days).saturating_mul(DAY_MS))
}

/// Runs the cleanup job once.
///
/// # Errors
/// A [`StoreError`] from the job bookkeeping; the work's errors fail the recorded run.
pub async fn run_cleanup_job<S, C>(
    store: &S,
    clock: &C,
    config: &CleanupConfig,
    trigger: RunTrigger,
) -> Result<(JobOutcome, JobReport), StoreError>
where
    S: MaintenanceStore + CronStore,
    C: Clock,
{
    let run = match begin(
        store,
        clock,
        CLEANUP_JOB,
        config.budget_ms + 60_000,
        trigger,
    )
    .await?
    {
        Begin::Run(run) => run,
        Begin::Done(outcome, report) => return Ok((outcome, report)),
    };
    let mut counts = RunCounts::default();
    let work = cleanup_work(store, clock, config, run.started(), &mut counts).await;
    let (status, error) = settle(work);
    finish(store, clock, run, status, error, counts).await
}

async fn cleanup_work<S, C>(
    store: &S,
    clock: &C,
    config: &CleanupConfig,
    started: i64,
    counts: &mut RunCounts,
) -> Result<Option<String>, StoreError>
where
    S: MaintenanceStore,
    C: Clock,
{
    let batch = batch_size(store.setting(BATCH_KEY).await?.as_deref());
    let mut unfinished: Vec<&str> = Vec::new();
    for target in RetentionTarget::PURGED {
        let setting = store.setting(target.setting_key()).await?;
        let Some(days) = retention_days(setting.as_deref(), target.default_days()) else {
            continue;
        };
        let cut = cutoff(started, days);
        let key = format!("deleted.{}", target.name());
        counts.add(&key, 0);
        let mut done = false;
        for _ in 0..config.max_batches_per_target.max(1) {
            if clock.now_ms().saturating_sub(started) >= config.budget_ms {
                break;
            }
            let n = store.purge(target, cut, batch).await?;
            counts.add(&key, n);
            if n < u64::from(batch) {
                done = true;
                break;
            }
        }
        if !done {
            unfinished.push(target.name());
        }
    }
    Ok((!unfinished.is_empty())
        .then(|| format!("more to delete next run: {}", unfinished.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_settings_fall_back_to_the_defaults() {
        assert_eq!(retention_days(None, 30), Some(30));
        assert_eq!(retention_days(Some("null"), 30), None);
        assert_eq!(retention_days(Some(" 7 "), 30), Some(7));
        assert_eq!(retention_days(Some("0"), 30), Some(30));
        assert_eq!(retention_days(Some("\"x\""), 90), Some(90));
        assert_eq!(batch_size(Some("100")), 100);
        assert_eq!(batch_size(Some("9000")), 5_000);
        assert_eq!(batch_size(None), 5_000);
        assert_eq!(cutoff(10 * DAY_MS, 3), 7 * DAY_MS);
        assert_eq!(RetentionTarget::Candles1m.default_days(), 30);
        assert_eq!(RetentionTarget::EndedPatterns.default_days(), 365);
        assert_eq!(RetentionTarget::SessionsTokens.default_days(), 1);
        assert_eq!(RetentionTarget::WebhookEvents.default_days(), 180);
    }
}
