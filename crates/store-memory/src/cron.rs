//! In-memory [`CronStore`]: the jobs of `migrations/0007_seed.sql`, leases, runs and cursors.

use crate::MemoryStore;
use cl_app::cron::{
    validate_finish, validate_lease, CronJob, CronRun, CronRunId, CronStore, RunFinish, RunStatus,
    RunTrigger,
};
use cl_app::ports::StoreError;
use std::collections::BTreeMap;

/// The seeded jobs (name, schedule), as in `migrations/0007_seed.sql`.
const SEEDED: [(&str, &str); 7] = [
    ("pipeline", "* * * * *"),
    ("dispatch", "* * * * *"),
    ("stats", "*/5 * * * *"),
    ("gaps", "0 * * * *"),
    ("db-health", "0 3 * * *"),
    ("cleanup", "0 3 * * *"),
    ("subscriptions", "0 6 * * *"),
];

/// Scheduler state; the seeded jobs appear on first use.
#[derive(Debug, Default)]
pub(crate) struct CronState {
    jobs: Option<BTreeMap<String, CronJob>>,
    runs: BTreeMap<CronRunId, CronRun>,
    last_run_id: i64,
}

impl CronState {
    fn jobs(&mut self) -> &mut BTreeMap<String, CronJob> {
        self.jobs.get_or_insert_with(|| {
            SEEDED
                .iter()
                .map(|(name, schedule)| {
                    (
                        (*name).to_owned(),
                        CronJob {
                            name: (*name).to_owned(),
                            schedule: (*schedule).to_owned(),
                            enabled: true,
                            cursor: None,
                            lease_until: None,
                        },
                    )
                })
                .collect()
        })
    }

    fn job(&mut self, name: &str) -> Result<&mut CronJob, StoreError> {
        self.jobs()
            .get_mut(name)
            .ok_or(StoreError::NotFound("cron job"))
    }
}

impl CronState {
    /// Deletes at most `batch` finished runs started before `cutoff` (oldest first).
    pub(crate) fn purge_runs(&mut self, cutoff: i64, batch: usize) -> u64 {
        let old: Vec<CronRunId> = self
            .runs
            .values()
            .filter(|r| r.status != RunStatus::Running && r.started_at < cutoff)
            .take(batch)
            .map(|r| r.id)
            .collect();
        for id in &old {
            self.runs.remove(id);
        }
        old.len() as u64
    }
}

impl CronStore for MemoryStore {
    async fn cron_job(&self, name: &str) -> Result<Option<CronJob>, StoreError> {
        Ok(self.cron.borrow_mut().jobs().get(name).cloned())
    }

    async fn claim_lease(
        &self,
        name: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        validate_lease(now_ms, until_ms)?;
        let mut st = self.cron.borrow_mut();
        let Some(job) = st.jobs().get_mut(name) else {
            return Ok(false);
        };
        if !job.enabled || job.lease_until.is_some_and(|until| until > now_ms) {
            return Ok(false);
        }
        job.lease_until = Some(until_ms);
        Ok(true)
    }

    async fn release_lease(&self, name: &str, until_ms: i64) -> Result<(), StoreError> {
        let mut st = self.cron.borrow_mut();
        if let Some(job) = st.jobs().get_mut(name) {
            if job.lease_until == Some(until_ms) {
                job.lease_until = None;
            }
        }
        Ok(())
    }

    async fn set_job_enabled(
        &self,
        name: &str,
        enabled: bool,
        _now_ms: i64,
    ) -> Result<(), StoreError> {
        self.cron.borrow_mut().job(name)?.enabled = enabled;
        Ok(())
    }

    async fn set_cursor(
        &self,
        name: &str,
        cursor: Option<&str>,
        _now_ms: i64,
    ) -> Result<(), StoreError> {
        if let Some(text) = cursor {
            let t = text.trim();
            let looks_json = (t.starts_with('{') && t.ends_with('}'))
                || (t.starts_with('[') && t.ends_with(']'));
            if !looks_json {
                return Err(StoreError::Invalid("cursor is not JSON".into()));
            }
        }
        self.cron.borrow_mut().job(name)?.cursor = cursor.map(str::to_owned);
        Ok(())
    }

    async fn start_run(
        &self,
        name: &str,
        trigger: RunTrigger,
        started_at: i64,
    ) -> Result<CronRunId, StoreError> {
        let mut st = self.cron.borrow_mut();
        st.job(name)?;
        st.last_run_id += 1;
        let id = CronRunId(st.last_run_id);
        st.runs.insert(
            id,
            CronRun {
                id,
                job: name.to_owned(),
                trigger,
                started_at,
                ended_at: None,
                duration_ms: None,
                status: RunStatus::Running,
                error: None,
                counts: None,
            },
        );
        Ok(id)
    }

    async fn finish_run(&self, id: CronRunId, finish: &RunFinish) -> Result<(), StoreError> {
        validate_finish(finish)?;
        let mut st = self.cron.borrow_mut();
        let run = st
            .runs
            .get_mut(&id)
            .ok_or(StoreError::NotFound("cron run"))?;
        run.ended_at = Some(finish.ended_at);
        run.duration_ms = Some(finish.ended_at - run.started_at);
        run.status = finish.status;
        run.error = finish.error.clone();
        run.counts = Some(finish.counts.clone());
        Ok(())
    }

    async fn list_runs(&self, name: &str, limit: u32) -> Result<Vec<CronRun>, StoreError> {
        let st = self.cron.borrow();
        let mut runs: Vec<CronRun> = st
            .runs
            .values()
            .filter(|r| r.job == name)
            .cloned()
            .collect();
        runs.sort_by_key(|r| std::cmp::Reverse((r.started_at, r.id)));
        runs.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(runs)
    }
}

impl CronState {
    /// Each job's latest finished run (for the metrics snapshot).
    pub(crate) fn last_finished_runs(&self) -> Vec<cl_app::metrics::CronLastRun> {
        let mut last: BTreeMap<&str, &CronRun> = BTreeMap::new();
        for run in self.runs.values() {
            if run.duration_ms.is_none() || run.status == RunStatus::Running {
                continue;
            }
            let newer = last
                .get(run.job.as_str())
                .is_none_or(|seen| (run.started_at, run.id) > (seen.started_at, seen.id));
            if newer {
                last.insert(run.job.as_str(), run);
            }
        }
        last.into_values()
            .map(|r| cl_app::metrics::CronLastRun {
                job: r.job.clone(),
                duration_ms: r.duration_ms.unwrap_or(0),
                success: matches!(r.status, RunStatus::Ok | RunStatus::Partial),
            })
            .collect()
    }
}
