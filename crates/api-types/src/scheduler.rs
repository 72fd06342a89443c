//! Wire types of the scheduler routes (product.md §3 `/scheduler/*`, §9 crons): the job list
//! with each job's switch and last run, and a job's run history. Counts are the flat integer
//! object stored in `cron_runs.counts` (pipeline counters plus job-specific ones such as
//! `deleted.logs`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One recorded run of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CronRun))]
pub struct CronRunDto {
    /// Run id.
    pub id: i64,
    /// The job's name.
    pub job: String,
    /// `cron` or `manual`.
    pub trigger: String,
    /// `running`, `ok`, `partial`, `failed` or `skipped`.
    pub status: String,
    /// Start, UTC ms.
    pub started_at: i64,
    /// End, UTC ms, once finished.
    pub ended_at: Option<i64>,
    /// Duration in ms, once finished.
    pub duration_ms: Option<i64>,
    /// Why it failed or stopped early.
    pub error: Option<String>,
    /// Its counters, once finished.
    pub counts: Option<BTreeMap<String, u64>>,
}

/// A scheduled job with its switch and last run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SchedulerJob))]
pub struct SchedulerJobDto {
    /// Name (`pipeline`, `stats`, …).
    pub name: String,
    /// Its cron expression.
    pub schedule: String,
    /// Whether scheduled triggers run it.
    pub enabled: bool,
    /// The newest run, if any.
    pub last_run: Option<CronRunDto>,
}

/// `GET /scheduler/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SchedulerStatus))]
pub struct SchedulerStatusDto {
    /// Every seeded job, in schedule order.
    pub jobs: Vec<SchedulerJobDto>,
}
