//! The optimizer port in memory. Checks first, then one `RefCell` borrow per write (atomic
//! like the SQL statement): status moves are guarded by [`JobStatus::can_move_to`], a run is
//! inserted once per `(job, symbol, tf, pattern type, params key)`. Trading preferences and
//! tuned params (the [`TradingPrefsStore`] half) are maps keyed by user (and symbol).

use crate::MemoryStore;
use cl_app::ports::optimization::{
    JobProgress, JobStatus, NewOptimizationJob, NewOptimizationRun, OptimizationJobId,
    OptimizationRunId, OptimizationStore, RunScore, StoredOptimizationJob, StoredOptimizationRun,
    TradingPrefs, TradingPrefsStore, TunedParams,
};
use cl_app::ports::{exact_int, StoreError, SymbolId, SymbolStore, UserId, UserStore};
use cl_domain::{PatternType, Timeframe};
use std::cmp::Ordering;
use std::collections::BTreeMap;

type RunKey = (OptimizationJobId, i64, Timeframe, PatternType, String);

/// The optimizer tables.
#[derive(Debug, Default)]
pub(crate) struct OptimizationState {
    jobs: BTreeMap<OptimizationJobId, StoredOptimizationJob>,
    runs: BTreeMap<OptimizationRunId, StoredOptimizationRun>,
    keys: Vec<RunKey>,
    last_id: i64,
    trading: BTreeMap<UserId, TradingPrefs>,
    tuned: BTreeMap<(UserId, SymbolId), TunedParams>,
}

fn limit_of(limit: u32) -> Result<usize, StoreError> {
    if limit == 0 {
        return Err(StoreError::Invalid("limit 0".into()));
    }
    Ok(usize::try_from(limit).unwrap_or(usize::MAX))
}

impl OptimizationStore for MemoryStore {
    async fn create_job(
        &self,
        new: &NewOptimizationJob,
    ) -> Result<StoredOptimizationJob, StoreError> {
        exact_int("created_at", new.created_at)?;
        if let Some(u) = new.created_by {
            if self.user(u).await?.is_none() {
                return Err(StoreError::NotFound("user"));
            }
        }
        let mut st = self.optimization.borrow_mut();
        st.last_id += 1;
        let row = StoredOptimizationJob {
            id: OptimizationJobId(st.last_id),
            new: new.clone(),
            status: JobStatus::Queued,
            progress: 0.0,
            cursor: None,
            error: None,
            started_at: None,
            finished_at: None,
        };
        st.jobs.insert(row.id, row.clone());
        Ok(row)
    }

    async fn job(
        &self,
        id: OptimizationJobId,
    ) -> Result<Option<StoredOptimizationJob>, StoreError> {
        Ok(self.optimization.borrow().jobs.get(&id).cloned())
    }

    async fn jobs(
        &self,
        before: Option<(i64, OptimizationJobId)>,
        limit: u32,
    ) -> Result<Vec<StoredOptimizationJob>, StoreError> {
        let n = limit_of(limit)?;
        let mut v: Vec<_> = self
            .optimization
            .borrow()
            .jobs
            .values()
            .filter(|j| before.is_none_or(|b| (j.new.created_at, j.id) < b))
            .cloned()
            .collect();
        v.sort_by_key(|j| std::cmp::Reverse((j.new.created_at, j.id)));
        v.truncate(n);
        Ok(v)
    }

    async fn next_active_job(&self) -> Result<Option<StoredOptimizationJob>, StoreError> {
        Ok(self
            .optimization
            .borrow()
            .jobs
            .values()
            .filter(|j| matches!(j.status, JobStatus::Queued | JobStatus::Running))
            .min_by_key(|j| (j.new.created_at, j.id))
            .cloned())
    }

    async fn set_job_status(
        &self,
        id: OptimizationJobId,
        to: JobStatus,
        error: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        exact_int("now", now)?;
        let mut st = self.optimization.borrow_mut();
        let job = st
            .jobs
            .get_mut(&id)
            .ok_or(StoreError::NotFound("optimization job"))?;
        if !job.status.can_move_to(to) {
            return Ok(false);
        }
        job.status = to;
        if to == JobStatus::Running {
            job.started_at = job.started_at.or(Some(now));
        }
        if to.is_terminal() {
            job.finished_at = Some(now);
            if error.is_some() {
                job.error = error.map(str::to_owned);
            }
        }
        Ok(true)
    }

    async fn save_job_progress(
        &self,
        id: OptimizationJobId,
        progress: &JobProgress,
    ) -> Result<bool, StoreError> {
        progress.validate()?;
        let mut st = self.optimization.borrow_mut();
        let job = st
            .jobs
            .get_mut(&id)
            .ok_or(StoreError::NotFound("optimization job"))?;
        if job.status != JobStatus::Running {
            return Ok(false);
        }
        job.progress = progress.progress;
        job.cursor = progress.cursor.clone();
        Ok(true)
    }

    async fn insert_run(
        &self,
        run: &NewOptimizationRun,
    ) -> Result<Option<OptimizationRunId>, StoreError> {
        run.validate()?;
        if !self.optimization.borrow().jobs.contains_key(&run.job) {
            return Err(StoreError::NotFound("optimization job"));
        }
        if !self
            .list_symbols(false)
            .await?
            .iter()
            .any(|s| s.id == run.symbol)
        {
            return Err(StoreError::NotFound("symbol"));
        }
        let key: RunKey = (
            run.job,
            run.symbol.0,
            run.tf,
            run.pattern_type,
            run.params_key.clone(),
        );
        let mut st = self.optimization.borrow_mut();
        if st.keys.contains(&key) {
            return Ok(None);
        }
        st.last_id += 1;
        let id = OptimizationRunId(st.last_id);
        st.keys.push(key);
        st.runs.insert(
            id,
            StoredOptimizationRun {
                id,
                new: run.clone(),
            },
        );
        Ok(Some(id))
    }

    async fn best_runs(
        &self,
        job: OptimizationJobId,
        score: RunScore,
        limit: u32,
    ) -> Result<Vec<StoredOptimizationRun>, StoreError> {
        let n = limit_of(limit)?;
        let mut v: Vec<_> = self
            .optimization
            .borrow()
            .runs
            .values()
            .filter(|r| r.new.job == job)
            .cloned()
            .collect();
        v.sort_by(|a, b| {
            let by_score = match (score.of(&a.new), score.of(&b.new)) {
                (Some(x), Some(y)) => y.total_cmp(&x),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            by_score.then(a.id.cmp(&b.id))
        });
        v.truncate(n);
        Ok(v)
    }
}

impl TradingPrefsStore for MemoryStore {
    async fn trading_prefs(&self, user: UserId) -> Result<Option<TradingPrefs>, StoreError> {
        if self.user(user).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(
            self.optimization
                .borrow()
                .trading
                .get(&user)
                .copied()
                .unwrap_or_default(),
        ))
    }

    async fn set_trading_prefs(
        &self,
        user: UserId,
        prefs: &TradingPrefs,
    ) -> Result<(), StoreError> {
        if self.user(user).await?.is_none() {
            return Err(StoreError::NotFound("user"));
        }
        self.optimization.borrow_mut().trading.insert(user, *prefs);
        Ok(())
    }

    async fn tuned_params(&self, user: UserId) -> Result<Vec<TunedParams>, StoreError> {
        Ok(self
            .optimization
            .borrow()
            .tuned
            .range((user, SymbolId(i64::MIN))..=(user, SymbolId(i64::MAX)))
            .map(|(_, t)| t.clone())
            .collect())
    }

    async fn apply_tuned_params(
        &self,
        user: UserId,
        params: &[TunedParams],
    ) -> Result<(), StoreError> {
        if self.user(user).await?.is_none() {
            return Err(StoreError::NotFound("user"));
        }
        let symbols = self.list_symbols(false).await?;
        for p in params {
            exact_int("updated_at", p.updated_at)?;
            if !symbols.iter().any(|s| s.id == p.symbol) {
                return Err(StoreError::NotFound("symbol"));
            }
            if p.run
                .is_some_and(|r| !self.optimization.borrow().runs.contains_key(&r))
            {
                return Err(StoreError::NotFound("optimization run"));
            }
        }
        let mut st = self.optimization.borrow_mut();
        for p in params {
            st.tuned.insert((user, p.symbol), p.clone());
        }
        Ok(())
    }

    async fn clear_tuned_params(&self, user: UserId, now: i64) -> Result<u64, StoreError> {
        exact_int("now", now)?;
        let mut st = self.optimization.borrow_mut();
        let before = st.tuned.len();
        st.tuned.retain(|(u, _), _| *u != user);
        Ok((before - st.tuned.len()) as u64)
    }
}
