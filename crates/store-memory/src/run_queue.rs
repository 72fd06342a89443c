//! The run queue in memory: checks first, then one `RefCell` borrow per write, so a claim,
//! a progress save and a finish are each atomic like their SQL statement. The `cron_runs`
//! page is read through the in-memory [`CronStore`] and cut by the keyset cursor.

use crate::MemoryStore;
use cl_app::cron::{CronRun, CronStore};
use cl_app::ports::run_queue::{
    claimable, validate_claim, NewQueuedRun, QueueStatus, QueuedRun, QueuedRunFinish, QueuedRunId,
    RunProgress, RunQueueStore,
};
use cl_app::ports::{Cursor, StoreError, SymbolStore, UserStore};
use std::collections::BTreeMap;

/// The `run_queue` table.
#[derive(Debug, Default)]
pub(crate) struct RunQueueState {
    runs: BTreeMap<QueuedRunId, QueuedRun>,
    last_id: i64,
}

impl RunQueueState {
    /// Retention: finished runs that ended before `cutoff`, at most `batch`.
    pub(crate) fn purge(&mut self, cutoff: i64, batch: usize) -> u64 {
        let old: Vec<QueuedRunId> = self
            .runs
            .values()
            .filter(|r| {
                matches!(
                    r.status,
                    QueueStatus::Ok | QueueStatus::Partial | QueueStatus::Failed
                ) && r.ended_at.unwrap_or(r.new.created_at) < cutoff
            })
            .take(batch)
            .map(|r| r.id)
            .collect();
        for id in &old {
            self.runs.remove(id);
        }
        old.len() as u64
    }
}

impl RunQueueStore for MemoryStore {
    async fn enqueue_run(&self, new: &NewQueuedRun) -> Result<QueuedRun, StoreError> {
        new.validate()?;
        if let Some(id) = new.symbol {
            if !self.list_symbols(false).await?.iter().any(|s| s.id == id) {
                return Err(StoreError::NotFound("symbol"));
            }
        }
        if let Some(u) = new.requested_by {
            if self.user(u).await?.is_none() {
                return Err(StoreError::NotFound("user"));
            }
        }
        let mut st = self.run_queue.borrow_mut();
        st.last_id += 1;
        let run = QueuedRun {
            id: QueuedRunId(st.last_id),
            new: new.clone(),
            status: QueueStatus::Queued,
            cursor: None,
            progress: 0,
            attempts: 0,
            lease_until: None,
            started_at: None,
            ended_at: None,
            error: None,
            counts: None,
            cron_run: None,
        };
        st.runs.insert(run.id, run.clone());
        Ok(run)
    }

    async fn queued_run(&self, id: QueuedRunId) -> Result<Option<QueuedRun>, StoreError> {
        Ok(self.run_queue.borrow().runs.get(&id).cloned())
    }

    async fn claim_next_run(
        &self,
        after: Option<QueuedRunId>,
        now_ms: i64,
        lease_until: i64,
    ) -> Result<Option<QueuedRun>, StoreError> {
        validate_claim(now_ms, lease_until)?;
        let from = after.map_or(i64::MIN, |a| a.0);
        let mut st = self.run_queue.borrow_mut();
        let Some(run) = st
            .runs
            .values_mut()
            .find(|r| r.id.0 > from && claimable(r, now_ms))
        else {
            return Ok(None);
        };
        run.status = QueueStatus::Running;
        run.started_at = run.started_at.or(Some(now_ms));
        run.lease_until = Some(lease_until);
        run.attempts = run.attempts.saturating_add(1);
        Ok(Some(run.clone()))
    }

    async fn save_run_progress(
        &self,
        id: QueuedRunId,
        lease_until: i64,
        progress: &RunProgress,
    ) -> Result<bool, StoreError> {
        if progress.progress > 100 {
            return Err(StoreError::Invalid("progress above 100".into()));
        }
        let mut st = self.run_queue.borrow_mut();
        let Some(run) = st.runs.get_mut(&id) else {
            return Ok(false);
        };
        if run.status != QueueStatus::Running || run.lease_until != Some(lease_until) {
            return Ok(false);
        }
        run.cursor = progress.cursor;
        run.progress = progress.progress;
        run.counts = Some(progress.counts.clone());
        run.lease_until = None;
        if progress.reset_attempts {
            run.attempts = 0;
        }
        Ok(true)
    }

    async fn finish_queued_run(
        &self,
        id: QueuedRunId,
        lease_until: i64,
        finish: &QueuedRunFinish,
    ) -> Result<bool, StoreError> {
        finish.validate()?;
        let mut st = self.run_queue.borrow_mut();
        let Some(run) = st.runs.get_mut(&id) else {
            return Ok(false);
        };
        if run.status != QueueStatus::Running || run.lease_until != Some(lease_until) {
            return Ok(false);
        }
        run.status = finish.status;
        run.ended_at = Some(finish.ended_at);
        run.error.clone_from(&finish.error);
        run.counts = Some(finish.counts.clone());
        run.cron_run = finish.cron_run;
        run.cursor = finish.cursor;
        run.lease_until = None;
        if finish.status == QueueStatus::Ok {
            run.progress = 100;
        }
        Ok(true)
    }

    async fn cron_runs_page(
        &self,
        job: &str,
        before: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<CronRun>, StoreError> {
        if limit == 0 {
            return Err(StoreError::Invalid("limit 0".into()));
        }
        let all = self.list_runs(job, u32::MAX).await?;
        Ok(all
            .into_iter()
            .filter(|r| before.is_none_or(|c| (r.started_at, r.id.0) < (c.ts, c.id)))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect())
    }
}
