//! The scheduler's storage port (product.md §4): job switches, an atomic lease per job, the
//! `cron_runs` history and a per-job resume cursor.
//!
//! The lease is the one rule that needs atomicity: [`CronStore::claim_lease`] is ONE statement
//! (`UPDATE cron_jobs SET lease_until = … WHERE name = ? AND is_enabled AND (lease_until IS
//! NULL OR lease_until <= now)`), so two isolates triggered for the same minute can never both
//! run a job. KV (eventually consistent, 60 s minimum TTL) may sit in front of it as a cheap
//! pre-check, never instead of it. The contract suite (`cl-store-contract`, `cron_*` cases)
//! pins the behaviour for every adapter.

use crate::ports::StoreError;
use std::fmt;

/// Longest stored error text of a run; longer texts are cut (on a char boundary).
pub const MAX_RUN_ERROR_LEN: usize = 1_000;

/// A `cron_runs` row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CronRunId(pub i64);

impl fmt::Display for CronRunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How a run ended (`cron_runs.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Started, not finished (or the isolate died).
    Running,
    /// Everything done.
    Ok,
    /// Stopped early (time or query budget, some symbols failed); the next run resumes.
    Partial,
    /// Nothing useful was done; `error` says why.
    Failed,
    /// Did not run (lease held by another run).
    Skipped,
}

impl RunStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Ok => "ok",
            Self::Partial => "partial",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    /// Parses the stored text.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for an unknown status.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "running" => Self::Running,
            "ok" => Self::Ok,
            "partial" => Self::Partial,
            "failed" => Self::Failed,
            "skipped" => Self::Skipped,
            other => {
                return Err(StoreError::corrupt(
                    "cron_runs",
                    None,
                    format!("status {other:?}"),
                ))
            }
        })
    }
}

/// What started a run (`cron_runs.trigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunTrigger {
    /// The platform's cron trigger.
    Cron,
    /// An admin's "run now".
    Manual,
}

impl RunTrigger {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cron => "cron",
            Self::Manual => "manual",
        }
    }

    /// Parses the stored text.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for an unknown trigger.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "cron" => Ok(Self::Cron),
            "manual" => Ok(Self::Manual),
            other => Err(StoreError::corrupt(
                "cron_runs",
                None,
                format!("trigger {other:?}"),
            )),
        }
    }
}

/// The counters of one run, stored as a flat JSON object of integers (`cron_runs.counts`).
/// The pipeline's counters are fields; other jobs add named counters in [`RunCounts::extra`]
/// (e.g. cleanup's `deleted.logs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Symbols processed to the end of their tick.
    pub symbols: u64,
    /// 1m candles newly stored.
    pub candles: u64,
    /// Patterns stored.
    pub patterns: u64,
    /// Signals stored.
    pub signals: u64,
    /// Exchange rows skipped as invalid.
    pub bad_rows: u64,
    /// Confirmed-empty 1m ranges reported by the exchange (not stored yet: no gaps port).
    pub gaps: u64,
    /// Symbols given up for this run after repeated errors.
    pub abandoned: u64,
    /// Storage round trips of the run (D1: calls, a batch counts once).
    pub queries: u64,
    /// Wall time of the run in ms, as measured by the job's clock.
    pub wall_ms: u64,
    /// Job-specific counters by name (`[a-z0-9_.]`, at most 64 bytes); stored after the
    /// fields, in key order.
    pub extra: std::collections::BTreeMap<String, u64>,
}

impl RunCounts {
    const FIELDS: [&'static str; 9] = [
        "symbols",
        "candles",
        "patterns",
        "signals",
        "bad_rows",
        "gaps",
        "abandoned",
        "queries",
        "wall_ms",
    ];

    fn values(&self) -> [u64; 9] {
        [
            self.symbols,
            self.candles,
            self.patterns,
            self.signals,
            self.bad_rows,
            self.gaps,
            self.abandoned,
            self.queries,
            self.wall_ms,
        ]
    }

    /// Adds `n` to the named extra counter (a name outside `[a-z0-9_.]{1,64}` is ignored,
    /// so the stored text stays a plain JSON object).
    pub fn add(&mut self, name: &str, n: u64) {
        if Self::valid_extra(name) {
            let slot = self.extra.entry(name.to_owned()).or_insert(0);
            *slot = slot.saturating_add(n);
        }
    }

    /// The named extra counter (0 when absent).
    pub fn get(&self, name: &str) -> u64 {
        self.extra.get(name).copied().unwrap_or(0)
    }

    fn valid_extra(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= 64
            && !Self::FIELDS.contains(&name)
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
    }

    /// Every counter by name: the fields, then the extras over them (the wire form).
    pub fn to_map(&self) -> std::collections::BTreeMap<String, u64> {
        let mut out: std::collections::BTreeMap<String, u64> = Self::FIELDS
            .iter()
            .zip(self.values())
            .map(|(k, v)| ((*k).to_owned(), v))
            .collect();
        out.extend(self.extra.clone());
        out
    }

    /// The JSON object stored in `cron_runs.counts` (fixed key order, then the extras).
    pub fn to_json(&self) -> String {
        let body: Vec<String> = Self::FIELDS
            .iter()
            .zip(self.values())
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .chain(
                self.extra
                    .iter()
                    .filter(|(k, _)| Self::valid_extra(k))
                    .map(|(k, v)| format!("\"{k}\":{v}")),
            )
            .collect();
        format!("{{{}}}", body.join(","))
    }

    /// Reads a stored counts object; other keys land in `extra` (invalid names are dropped)
    /// and missing ones are 0, so old rows stay readable. Any JSON spacing and key order is accepted (Postgres `jsonb`
    /// reorders keys).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the text is not a flat object of non-negative integers.
    pub fn from_json(text: &str) -> Result<Self, StoreError> {
        let bad = |why: &str| StoreError::corrupt("cron_runs", None, format!("counts: {why}"));
        let inner = text
            .trim()
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .ok_or_else(|| bad("not an object"))?;
        let mut out = Self::default();
        for pair in inner.split(',').filter(|p| !p.trim().is_empty()) {
            let (key, value) = pair.split_once(':').ok_or_else(|| bad("no ':'"))?;
            let key = key.trim().trim_matches('"');
            let value: u64 = value.trim().parse().map_err(|_| bad("not an integer"))?;
            match key {
                "symbols" => out.symbols = value,
                "candles" => out.candles = value,
                "patterns" => out.patterns = value,
                "signals" => out.signals = value,
                "bad_rows" => out.bad_rows = value,
                "gaps" => out.gaps = value,
                "abandoned" => out.abandoned = value,
                "queries" => out.queries = value,
                "wall_ms" => out.wall_ms = value,
                other => out.add(other, value),
            }
        }
        Ok(out)
    }
}

/// A job's row in `cron_jobs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronJob {
    /// Unique name (`pipeline`, `stats`, …).
    pub name: String,
    /// The cron expression it is triggered by.
    pub schedule: String,
    /// Whether scheduled triggers run it.
    pub enabled: bool,
    /// Resume state, a JSON text (e.g. `{"next_symbol":12}`).
    pub cursor: Option<String>,
    /// The lease's end (UTC ms), when one was ever taken.
    pub lease_until: Option<i64>,
}

/// How a run ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFinish {
    /// When it ended (UTC ms); `duration_ms` is this minus `started_at`.
    pub ended_at: i64,
    /// Its final status (not `Running`).
    pub status: RunStatus,
    /// Why it failed or stopped early.
    pub error: Option<String>,
    /// Its counters.
    pub counts: RunCounts,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronRun {
    /// Row id.
    pub id: CronRunId,
    /// The job's name.
    pub job: String,
    /// What started it.
    pub trigger: RunTrigger,
    /// Start (UTC ms).
    pub started_at: i64,
    /// End, once finished.
    pub ended_at: Option<i64>,
    /// `ended_at − started_at`, once finished.
    pub duration_ms: Option<i64>,
    /// Status.
    pub status: RunStatus,
    /// Error text.
    pub error: Option<String>,
    /// Counters, once finished.
    pub counts: Option<RunCounts>,
}

/// Cuts an error text to [`MAX_RUN_ERROR_LEN`] bytes on a char boundary.
pub fn clip_error(text: &str) -> String {
    if text.len() <= MAX_RUN_ERROR_LEN {
        return text.to_owned();
    }
    let mut end = MAX_RUN_ERROR_LEN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Scheduled-job state: switches, leases, run history, cursors.
#[allow(async_fn_in_trait)]
pub trait CronStore {
    /// The job named `name`, if seeded.
    ///
    /// # Errors
    /// `Unavailable`/`Corrupt` from the adapter.
    async fn cron_job(&self, name: &str) -> Result<Option<CronJob>, StoreError>;

    /// Takes the job's lease until `until_ms` in ONE atomic statement, only when the job is
    /// enabled and no lease is live at `now_ms` (`lease_until <= now_ms` counts as expired).
    /// `true` when this caller now holds it.
    ///
    /// # Errors
    /// `Invalid` when `until_ms <= now_ms`; `Unavailable` from the adapter.
    async fn claim_lease(&self, name: &str, now_ms: i64, until_ms: i64)
        -> Result<bool, StoreError>;

    /// Ends the lease taken until `until_ms` (a no-op when another run holds a different one).
    ///
    /// # Errors
    /// `Unavailable` from the adapter.
    async fn release_lease(&self, name: &str, until_ms: i64) -> Result<(), StoreError>;

    /// Switches the job on or off.
    ///
    /// # Errors
    /// `NotFound("cron job")` for an unknown job.
    async fn set_job_enabled(
        &self,
        name: &str,
        enabled: bool,
        now_ms: i64,
    ) -> Result<(), StoreError>;

    /// Replaces the job's resume cursor (a JSON text, or none).
    ///
    /// # Errors
    /// `NotFound("cron job")` for an unknown job; `Invalid` for text that is not JSON (D1
    /// checks it).
    async fn set_cursor(
        &self,
        name: &str,
        cursor: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError>;

    /// Records a run as `running`.
    ///
    /// # Errors
    /// `NotFound("cron job")` for an unknown job.
    async fn start_run(
        &self,
        name: &str,
        trigger: RunTrigger,
        started_at: i64,
    ) -> Result<CronRunId, StoreError>;

    /// Records how a run ended (status, error, counts, end and duration).
    ///
    /// # Errors
    /// `NotFound("cron run")` for an unknown id; `Invalid` for status `Running`.
    async fn finish_run(&self, id: CronRunId, finish: &RunFinish) -> Result<(), StoreError>;

    /// The job's newest runs first (by start, then id), at most `limit`.
    ///
    /// # Errors
    /// `Unavailable`/`Corrupt` from the adapter.
    async fn list_runs(&self, name: &str, limit: u32) -> Result<Vec<CronRun>, StoreError>;
}

/// Checks a [`RunFinish`] before it is stored.
///
/// # Errors
/// `Invalid` for status `Running` or a negative end.
pub fn validate_finish(finish: &RunFinish) -> Result<(), StoreError> {
    if finish.status == RunStatus::Running {
        return Err(StoreError::Invalid(
            "a finished run cannot be running".into(),
        ));
    }
    crate::ports::exact_int("ended_at", finish.ended_at)?;
    Ok(())
}

/// Checks a lease claim's arguments.
///
/// # Errors
/// `Invalid` when the lease would not end after `now_ms`.
pub fn validate_lease(now_ms: i64, until_ms: i64) -> Result<(), StoreError> {
    crate::ports::exact_int("lease now", now_ms)?;
    crate::ports::exact_int("lease until", until_ms)?;
    if until_ms <= now_ms {
        return Err(StoreError::Invalid("a lease must end after now".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_round_trip_and_accept_jsonb_spacing() {
        let c = RunCounts {
            symbols: 2,
            candles: 10,
            patterns: 3,
            signals: 1,
            bad_rows: 1,
            gaps: 0,
            abandoned: 0,
            queries: 27,
            wall_ms: 5,
            extra: std::collections::BTreeMap::new(),
        };
        let mut c = c;
        c.add("deleted.logs", 4);
        c.add("deleted.logs", 1);
        c.add("Bad Name", 1);
        assert_eq!(c.get("deleted.logs"), 5);
        assert!(c.to_json().ends_with(",\"deleted.logs\":5}"));
        assert_eq!(RunCounts::from_json(&c.to_json()), Ok(c));
        let spaced = "{\"gaps\": 0, \"signals\": 1, \"symbols\": 2, \"candles\": 10, \"x\": 9}";
        let r = RunCounts::from_json(spaced).unwrap_or_default();
        assert_eq!((r.symbols, r.candles, r.signals, r.get("x")), (2, 10, 1, 9));
        assert!(RunCounts::from_json("[1]").is_err());
        assert!(RunCounts::from_json("{\"a\":-1}").is_err());
        assert_eq!(RunCounts::from_json("{}"), Ok(RunCounts::default()));
    }

    #[test]
    fn statuses_and_errors() {
        for s in ["running", "ok", "partial", "failed", "skipped"] {
            assert_eq!(RunStatus::parse(s).map(RunStatus::as_str), Ok(s));
        }
        assert!(RunStatus::parse("success").is_err());
        assert_eq!(clip_error(&"é".repeat(600)).len(), 1_000);
        assert!(validate_lease(10, 10).is_err());
        assert!(validate_lease(10, 11).is_ok());
    }
}
