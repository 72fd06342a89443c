//! The run queue's storage port (product.md §3 `/scan`, `/scan/run`, `/fetch`; §9 quick
//! actions and historical fetch): on-demand runs are RECORDED here by the request (`queued`)
//! and executed only by the every-minute `dispatch` job, never in the request.
//!
//! Design (docs/decisions.md "Run queue"):
//! - A separate `run_queue` table rather than `cron_runs` rows: a queued run needs what to do
//!   (kind, symbol, TF, `from`), who asked, and a resumable cursor, none of which fit the
//!   `cron_runs` status check without rebuilding that table on SQLite. Maintenance kinds
//!   (stats, cleanup, db-health) still write their own `cron_runs` row (trigger `manual`),
//!   linked from the queue row.
//! - [`RunQueueStore::claim_next_run`] is ONE conditional `UPDATE … RETURNING` (queued, or
//!   running with no live lease → running with a lease), so two dispatch triggers never run
//!   the same chunk twice. The holder is identified by its `lease_until` value: progress and
//!   finish writes are conditional on it.
//! - A chunked run (historical fetch, a run over every active symbol) saves its cursor and
//!   releases its lease after each chunk ([`RunQueueStore::save_run_progress`]); the next
//!   dispatch tick claims it again and continues.
//! - `cron_runs_page` is the keyset page of a job's `cron_runs` history (newest first), kept
//!   here so the scheduler routes page without widening the cron port.

use crate::cron::{CronRun, CronRunId, RunCounts};
use crate::ports::{exact_int, Cursor, StoreError, SymbolId, UserId};
use cl_domain::Timeframe;
use std::fmt;

/// A `run_queue` row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueuedRunId(pub i64);

impl fmt::Display for QueuedRunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($(#[$vm:meta])* $v:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            /// Every variant.
            pub const ALL: &'static [$name] = &[$(Self::$v),+];

            /// The stored (and wire) text.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),+ }
            }

            /// Parses the stored text.
            ///
            /// # Errors
            /// [`StoreError::Corrupt`] for an unknown text.
            pub fn parse(s: &str) -> Result<Self, StoreError> {
                match s {
                    $($s => Ok(Self::$v),)+
                    other => Err(StoreError::corrupt("run_queue", None, format!("{} {other:?}", $what))),
                }
            }
        }
    };
}

text_enum! {
    /// What a queued run does.
    RunKind, "kind" {
        /// Detection only on the stored candles (`POST /scan`; quick action `scan`).
        Scan => "scan",
        /// Fetch, aggregate, detect, signals, notify (`POST /scan/run`; quick action
        /// `full-cycle`).
        FullCycle => "full_cycle",
        /// Fetch new 1m candles and aggregate, no detection (`POST /fetch`; quick action
        /// `fetch`).
        Fetch => "fetch",
        /// The stats job, run now.
        Stats => "stats",
        /// The cleanup job, run now.
        Cleanup => "cleanup",
        /// The db-health job, run now.
        DbHealth => "db_health",
        /// A chunked, resumable fetch of one symbol's history from a start date.
        HistoricalFetch => "historical_fetch",
    }
}

text_enum! {
    /// A queued run's state: `queued → running → ok | partial | failed`.
    QueueStatus, "status" {
        /// Waiting for the dispatch job.
        Queued => "queued",
        /// Claimed (a live lease), or between two chunks (no lease).
        Running => "running",
        /// Done.
        Ok => "ok",
        /// Done, with some symbols or steps failed.
        Partial => "partial",
        /// Nothing useful was done; `error` says why.
        Failed => "failed",
    }
}

text_enum! {
    /// Who queued a run.
    RunSource, "source" {
        /// `POST /scan`, `/scan/run`, `/fetch` (an admin session or a scoped API key).
        Api => "api",
        /// An admin quick action or historical fetch.
        Admin => "admin",
    }
}

impl QueueStatus {
    /// Whether the run has ended.
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Ok | Self::Partial | Self::Failed)
    }
}

/// A run to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQueuedRun {
    /// What to do.
    pub kind: RunKind,
    /// The symbol (`None`: every active symbol, or a job without one).
    pub symbol: Option<SymbolId>,
    /// The TF asked for, recorded with the run.
    pub tf: Option<Timeframe>,
    /// Who asked (`None`: the system).
    pub requested_by: Option<UserId>,
    /// Where it came from.
    pub source: RunSource,
    /// Historical fetch: the first minute to fetch (UTC ms).
    pub from_ms: Option<i64>,
    /// UTC ms.
    pub created_at: i64,
}

impl NewQueuedRun {
    /// Checks what every adapter can store.
    ///
    /// # Errors
    /// `Invalid` for a time beyond 2^53 or a negative start.
    pub fn validate(&self) -> Result<(), StoreError> {
        exact_int("created_at", self.created_at)?;
        if let Some(from) = self.from_ms {
            exact_int("from_ms", from)?;
            if from < 0 {
                return Err(StoreError::Invalid("from_ms must not be negative".into()));
            }
        }
        Ok(())
    }
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRun {
    /// Row id.
    pub id: QueuedRunId,
    /// What it was asked to do.
    pub new: NewQueuedRun,
    /// Its state.
    pub status: QueueStatus,
    /// Resume point: the last stored 1m open time (historical fetch) or the next symbol id
    /// (a run over every active symbol).
    pub cursor: Option<i64>,
    /// 0..=100.
    pub progress: u8,
    /// Claims since the last saved progress (a run that keeps dying is given up).
    pub attempts: u32,
    /// The live lease's end, when claimed.
    pub lease_until: Option<i64>,
    /// First claim (UTC ms).
    pub started_at: Option<i64>,
    /// End (UTC ms).
    pub ended_at: Option<i64>,
    /// Why it failed or is partial.
    pub error: Option<String>,
    /// Counters so far.
    pub counts: Option<RunCounts>,
    /// The `cron_runs` row a maintenance kind wrote.
    pub cron_run: Option<CronRunId>,
}

/// Progress of a chunked run, saved between chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunProgress {
    /// The new resume point.
    pub cursor: Option<i64>,
    /// 0..=100.
    pub progress: u8,
    /// Counters so far.
    pub counts: RunCounts,
    /// Progress was made: the claim count starts again (else this claim stays counted).
    pub reset_attempts: bool,
}

/// How a run ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRunFinish {
    /// `Ok`, `Partial` or `Failed`.
    pub status: QueueStatus,
    /// UTC ms.
    pub ended_at: i64,
    /// Why (clipped to [`crate::cron::MAX_RUN_ERROR_LEN`]).
    pub error: Option<String>,
    /// Final counters.
    pub counts: RunCounts,
    /// The `cron_runs` row of a maintenance kind.
    pub cron_run: Option<CronRunId>,
    /// The last resume point.
    pub cursor: Option<i64>,
}

impl QueuedRunFinish {
    /// Checks the status is final and the time exact.
    ///
    /// # Errors
    /// `Invalid` otherwise.
    pub fn validate(&self) -> Result<(), StoreError> {
        if !self.status.is_final() {
            return Err(StoreError::Invalid("a finished run must be final".into()));
        }
        exact_int("ended_at", self.ended_at)?;
        Ok(())
    }
}

/// Checks a claim's lease.
///
/// # Errors
/// `Invalid` when the lease does not end after now.
pub fn validate_claim(now_ms: i64, lease_until: i64) -> Result<(), StoreError> {
    exact_int("now", now_ms)?;
    exact_int("lease_until", lease_until)?;
    if lease_until <= now_ms {
        return Err(StoreError::Invalid("a lease must end after now".into()));
    }
    Ok(())
}

/// Whether a stored row can be claimed at `now_ms` (the adapters' SQL says the same).
pub fn claimable(run: &QueuedRun, now_ms: i64) -> bool {
    match run.status {
        QueueStatus::Queued => true,
        QueueStatus::Running => run.lease_until.is_none_or(|l| l <= now_ms),
        _ => false,
    }
}

/// The run queue.
#[allow(async_fn_in_trait)]
pub trait RunQueueStore {
    /// Records a run as `queued`.
    ///
    /// # Errors
    /// `NotFound("symbol")` / `NotFound("user")` for unknown references; `Invalid`.
    async fn enqueue_run(&self, new: &NewQueuedRun) -> Result<QueuedRun, StoreError>;

    /// One run.
    ///
    /// # Errors
    /// `Unavailable`/`Corrupt`.
    async fn queued_run(&self, id: QueuedRunId) -> Result<Option<QueuedRun>, StoreError>;

    /// Claims the oldest claimable run with an id above `after` (queued, or running without
    /// a live lease at `now_ms`) in ONE atomic statement: it becomes `running` with the lease
    /// `lease_until`, `started_at` set on the first claim, `attempts` + 1.
    ///
    /// # Errors
    /// `Invalid` when the lease does not end after now; `Unavailable`.
    async fn claim_next_run(
        &self,
        after: Option<QueuedRunId>,
        now_ms: i64,
        lease_until: i64,
    ) -> Result<Option<QueuedRun>, StoreError>;

    /// Saves a chunk's progress and releases the lease (attempts back to 0 when
    /// `reset_attempts`), only while the run is `running` under the lease `lease_until`.
    /// `false` when the lease was lost.
    ///
    /// # Errors
    /// `Invalid` for a progress above 100; `Unavailable`.
    async fn save_run_progress(
        &self,
        id: QueuedRunId,
        lease_until: i64,
        progress: &RunProgress,
    ) -> Result<bool, StoreError>;

    /// Ends the run (final status, error, counts, linked cron run), only while it is
    /// `running` under the lease `lease_until`. `false` when the lease was lost.
    ///
    /// # Errors
    /// `Invalid` for a status that is not final; `Unavailable`.
    async fn finish_queued_run(
        &self,
        id: QueuedRunId,
        lease_until: i64,
        finish: &QueuedRunFinish,
    ) -> Result<bool, StoreError>;

    /// A job's `cron_runs`, newest first (start, then id), strictly after `before` in that
    /// order, at most `limit`.
    ///
    /// # Errors
    /// `Invalid` for limit 0; `Unavailable`/`Corrupt`.
    async fn cron_runs_page(
        &self,
        job: &str,
        before: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<CronRun>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_round_trip() {
        for k in RunKind::ALL {
            assert_eq!(RunKind::parse(k.as_str()), Ok(*k));
        }
        for s in QueueStatus::ALL {
            assert_eq!(QueueStatus::parse(s.as_str()), Ok(*s));
        }
        assert!(RunKind::parse("nope").is_err());
        assert!(QueueStatus::Failed.is_final() && !QueueStatus::Running.is_final());
        assert!(validate_claim(5, 5).is_err() && validate_claim(5, 6).is_ok());
    }
}
