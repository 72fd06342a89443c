//! Worker implementations of the outbound ports used by the scheduled jobs: [`DelaySleeper`]
//! (`setTimeout`), [`RunClock`] (the run's clock) and [`KvBreakerStore`] (breaker records in KV
//! under `breaker:{upstream}`). The HTTP transport is `crate::fetch_transport::FetchTransport`.

use cl_outbound::{BreakerStore, BreakerStoreError, Clock, Sleeper};
use std::time::Duration;
use worker::kv::KvStore;
use worker::{Date, Delay};

/// KV key prefix of breaker records.
pub const BREAKER_PREFIX: &str = "breaker:";
/// Breaker records expire from KV after a day without a state change (they are advisory).
const BREAKER_TTL_SECS: u64 = 86_400;

/// Wall-clock UTC ms (`Date.now()`).
pub fn wall_ms() -> i64 {
    i64::try_from(Date::now().as_millis()).unwrap_or(i64::MAX)
}

/// Sleeps with `setTimeout` (`worker::Delay`).
#[derive(Debug, Default, Clone, Copy)]
pub struct DelaySleeper;

impl Sleeper for DelaySleeper {
    async fn sleep(&self, ms: u64) {
        Delay::from(Duration::from_millis(ms)).await;
    }
}

/// The clock of one scheduled run: the trigger's `scheduledTime` plus the wall time elapsed
/// since the run started. In production this is the wall clock (the trigger fires on time);
/// under a replay that advances `scheduledTime` minute by minute, breaker and lease deadlines
/// follow the simulated minutes.
#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    scheduled_ms: i64,
    wall_start_ms: i64,
}

impl RunClock {
    /// A clock that reads `scheduled_ms` now.
    pub fn starting_at(scheduled_ms: i64) -> Self {
        Self {
            scheduled_ms,
            wall_start_ms: wall_ms(),
        }
    }

    fn now(&self) -> i64 {
        let elapsed = wall_ms().saturating_sub(self.wall_start_ms).max(0);
        self.scheduled_ms.saturating_add(elapsed)
    }
}

impl Clock for RunClock {
    fn now_ms(&self) -> i64 {
        self.now()
    }
}

impl cl_app::ports::Clock for RunClock {
    fn now_ms(&self) -> i64 {
        self.now()
    }
}

/// Breaker records in KV (`breaker:{upstream}`).
pub struct KvBreakerStore {
    kv: KvStore,
}

impl KvBreakerStore {
    /// Over the KV binding.
    pub fn new(kv: KvStore) -> Self {
        Self { kv }
    }
}

impl BreakerStore for KvBreakerStore {
    async fn get(&self, upstream: &str) -> Result<Option<String>, BreakerStoreError> {
        self.kv
            .get(&format!("{BREAKER_PREFIX}{upstream}"))
            .text()
            .await
            .map_err(|e| BreakerStoreError(e.to_string()))
    }

    async fn put(&self, upstream: &str, record: &str) -> Result<(), BreakerStoreError> {
        self.kv
            .put(&format!("{BREAKER_PREFIX}{upstream}"), record)
            .map_err(|e| BreakerStoreError(e.to_string()))?
            .expiration_ttl(BREAKER_TTL_SECS)
            .execute()
            .await
            .map_err(|e| BreakerStoreError(e.to_string()))
    }
}
