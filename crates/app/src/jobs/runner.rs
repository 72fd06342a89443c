//! The bookkeeping every maintenance job shares: switch check, atomic lease, a `cron_runs`
//! row from start to finish. The job's own work sits between [`begin`] and [`finish`], so a
//! job is "check, claim, record, work, record" with no way to forget a step. Unlike the
//! pipeline's, these leases are not released at the end: they expire after `lease_ms`
//! (shorter than the job's interval), so a double trigger of one slot runs the job once.

use super::JobOutcome;
use crate::cron::{clip_error, CronRunId, CronStore, RunCounts, RunFinish, RunStatus, RunTrigger};
use crate::ports::{Clock, StoreError};

/// What a maintenance job did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobReport {
    /// The recorded run, if any.
    pub run: Option<CronRunId>,
    /// Its counters.
    pub counts: RunCounts,
    /// Its error text.
    pub error: Option<String>,
}

/// A claimed, recorded run in progress.
#[derive(Debug)]
pub struct JobRun {
    run: CronRunId,
    started: i64,
}

impl JobRun {
    /// When the run started (the job's clock).
    pub fn started(&self) -> i64 {
        self.started
    }
}

/// How [`begin`] went.
#[derive(Debug)]
pub enum Begin {
    /// Work, then call [`finish`].
    Run(JobRun),
    /// Nothing to do (unknown, disabled, or the lease is held: a `skipped` run was recorded).
    Done(JobOutcome, JobReport),
}

/// Checks the switch, takes the lease (one atomic statement) and records a `running` run.
///
/// # Errors
/// A [`StoreError`] from the bookkeeping.
pub async fn begin<S: CronStore, C: Clock>(
    store: &S,
    clock: &C,
    job: &'static str,
    lease_ms: i64,
    trigger: RunTrigger,
) -> Result<Begin, StoreError> {
    let mut report = JobReport::default();
    let Some(row) = store.cron_job(job).await? else {
        return Ok(Begin::Done(JobOutcome::Unknown, report));
    };
    if !row.enabled {
        return Ok(Begin::Done(JobOutcome::Disabled, report));
    }
    let started = clock.now_ms();
    let lease_until = started.saturating_add(lease_ms.max(1));
    if !store.claim_lease(job, started, lease_until).await? {
        let id = store.start_run(job, trigger, started).await?;
        let error = "lease held by another run".to_owned();
        store
            .finish_run(
                id,
                &RunFinish {
                    ended_at: clock.now_ms().max(started),
                    status: RunStatus::Skipped,
                    error: Some(error.clone()),
                    counts: RunCounts::default(),
                },
            )
            .await?;
        report.run = Some(id);
        report.error = Some(error);
        return Ok(Begin::Done(JobOutcome::LeaseHeld, report));
    }
    let run = store.start_run(job, trigger, started).await?;
    Ok(Begin::Run(JobRun { run, started }))
}

/// Records how the run ended (wall time added to the counts); the lease runs out by itself.
///
/// # Errors
/// A [`StoreError`] from the bookkeeping.
pub async fn finish<S: CronStore, C: Clock>(
    store: &S,
    clock: &C,
    run: JobRun,
    status: RunStatus,
    error: Option<String>,
    mut counts: RunCounts,
) -> Result<(JobOutcome, JobReport), StoreError> {
    let ended = clock.now_ms().max(run.started);
    counts.wall_ms = u64::try_from(ended - run.started).unwrap_or(0);
    let error = error.map(|e| clip_error(&e));
    store
        .finish_run(
            run.run,
            &RunFinish {
                ended_at: ended,
                status,
                error: error.clone(),
                counts: counts.clone(),
            },
        )
        .await?;
    // The lease is kept until it expires: it marks this trigger's slot as done, so a second
    // trigger of the same slot (another isolate, a retried event) skips instead of running
    // again. Every job's lease is shorter than its interval.
    Ok((
        JobOutcome::Ran(status),
        JobReport {
            run: Some(run.run),
            counts,
            error,
        },
    ))
}

/// The status of a run whose work returned `result`: an error fails it (its text recorded),
/// `stopped` (a budget) makes it partial.
pub fn settle(result: Result<Option<String>, StoreError>) -> (RunStatus, Option<String>) {
    match result {
        Ok(None) => (RunStatus::Ok, None),
        Ok(Some(why)) => (RunStatus::Partial, Some(why)),
        Err(e) => (RunStatus::Failed, Some(e.to_string())),
    }
}
