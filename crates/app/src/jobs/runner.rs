//! The bookkeeping every maintenance job shares: switch check, atomic lease, a `cron_runs`
//! row from start to finish, lease release. The job's own work sits between [`begin`] and
//! [`finish`], so a job is "check, claim, record, work, record, release" with no way to forget
//! a step.

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
    job: &'static str,
    run: CronRunId,
    started: i64,
    lease_until: i64,
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
    Ok(Begin::Run(JobRun {
        job,
        run,
        started,
        lease_until,
    }))
}

/// Records how the run ended (wall time added to the counts) and releases the lease.
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
    store.release_lease(run.job, run.lease_until).await?;
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
