//! A circuit breaker per upstream, shared by all isolates through a [`BreakerStore`] (KV).
//!
//! The state machine ([`BreakerState`]) is pure:
//!
//! ```text
//! Closed{failures} --failure, failures+1 = FAILURE_THRESHOLD--> Open{until = now + OPEN_MS}
//! Closed{failures} --success--> Closed{0}
//! Open{until}      --call at now >= until--> HalfOpen (that call is the one probe)
//! HalfOpen         --probe succeeds--> Closed{0}
//! HalfOpen         --probe fails--> Open{until = now + OPEN_MS}
//! HalfOpen         --other calls--> rejected, unless the probe is older than PROBE_STALE_MS
//!                                   (its isolate died): then the call becomes a new probe
//! any              --trip(until)--> Open{max(until, now + OPEN_MS)}   (418 ban, long Retry-After)
//! ```
//!
//! Persistence, shaped by KV's limits (eventual consistency of up to ~60 s between locations,
//! about one write per second per key):
//! - A [`BreakerRecord`] (state + `since_ms`, the time of its last change) is written **only
//!   when the state's kind changes** (Closed ↔ Open ↔ HalfOpen), never on a success and never
//!   for a failure count: at most about three writes per 30 s cycle. The failure count of
//!   `Closed` lives in each isolate's memory, so the threshold counts one isolate's failures.
//! - Every call reads the record and merges it into the isolate's in-memory view: the record
//!   with the later `since_ms` wins, so a stale read (KV may return an old value for ~60 s)
//!   never undoes a newer local change.
//! - Consequence: another isolate may see a stale `Closed` for up to ~60 s after a trip and
//!   send a few requests into a failing upstream. That is acceptable: the breaker is advisory
//!   (it saves requests and latency; correctness never depends on it), the retry policy still
//!   bounds each call, and the isolate that tripped it keeps its own view.
//! - Store errors never fail a call; they are counted ([`Breaker::store_errors`]) for logs.

use crate::ports::{BreakerStore, Clock, OutboundResponse, TransportError};
use crate::retry::{STATUS_IP_BANNED, STATUS_TOO_MANY_REQUESTS};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::future::Future;

/// Consecutive failures (in one isolate) that open the breaker.
pub const FAILURE_THRESHOLD: u32 = 5;
/// How long an open breaker rejects calls before letting one probe through.
pub const OPEN_MS: i64 = 30_000;
/// A half-open probe that has not reported after this long is presumed lost.
pub const PROBE_STALE_MS: i64 = 30_000;

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls pass; `failures` consecutive failures so far.
    Closed {
        /// Consecutive failures.
        failures: u32,
    },
    /// Calls are rejected until `until_ms`.
    Open {
        /// When a probe may be sent, UTC ms.
        until_ms: i64,
    },
    /// One probe is in flight; other calls are rejected.
    HalfOpen {
        /// When the probe started, UTC ms.
        probe_since_ms: i64,
    },
}

/// What the breaker lets a call do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed: go ahead.
    Allowed,
    /// The one half-open probe: go ahead, and the outcome decides the state.
    Probe,
    /// Open (or a probe is in flight): do not call before `until_ms`.
    Rejected {
        /// Earliest time a call may pass, UTC ms.
        until_ms: i64,
    },
}

impl Default for BreakerState {
    fn default() -> Self {
        Self::Closed { failures: 0 }
    }
}

impl BreakerState {
    /// Whether a call may go ahead at `now_ms`, and the state that follows.
    pub fn admit(self, now_ms: i64) -> (Admission, Self) {
        match self {
            Self::Closed { .. } => (Admission::Allowed, self),
            Self::Open { until_ms } if now_ms < until_ms => {
                (Admission::Rejected { until_ms }, self)
            }
            Self::HalfOpen { probe_since_ms } if now_ms - probe_since_ms < PROBE_STALE_MS => (
                Admission::Rejected {
                    until_ms: probe_since_ms + PROBE_STALE_MS,
                },
                self,
            ),
            Self::Open { .. } | Self::HalfOpen { .. } => (
                Admission::Probe,
                Self::HalfOpen {
                    probe_since_ms: now_ms,
                },
            ),
        }
    }

    /// The state after a successful call.
    pub fn on_success(self) -> Self {
        match self {
            Self::Closed { .. } | Self::HalfOpen { .. } => Self::Closed { failures: 0 },
            // A call admitted before another isolate opened the breaker: keep it open.
            Self::Open { .. } => self,
        }
    }

    /// The state after a failed call at `now_ms`.
    pub fn on_failure(self, now_ms: i64) -> Self {
        match self {
            Self::Closed { failures } if failures + 1 < FAILURE_THRESHOLD => Self::Closed {
                failures: failures + 1,
            },
            Self::Closed { .. } | Self::HalfOpen { .. } => Self::Open {
                until_ms: now_ms + OPEN_MS,
            },
            Self::Open { .. } => self,
        }
    }

    /// Opens the breaker until at least `until_ms` (and at least [`OPEN_MS`] from now).
    pub fn trip(self, now_ms: i64, until_ms: i64) -> Self {
        let until_ms = until_ms.max(now_ms + OPEN_MS);
        match self {
            Self::Open { until_ms: current } if current >= until_ms => self,
            _ => Self::Open { until_ms },
        }
    }

    /// True when `self` and `other` are the same kind (so no write is due between them).
    pub fn same_kind(self, other: Self) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }
}

/// What is stored per upstream: the state and when its kind last changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerRecord {
    /// The state.
    #[serde(flatten)]
    pub state: BreakerState,
    /// When it last changed kind, UTC ms; the later record wins a merge.
    pub since_ms: i64,
}

impl BreakerRecord {
    /// The merge of the local view `self` and a record read from the store: the later wins,
    /// and the local view wins a tie.
    pub fn merge(self, stored: Option<Self>) -> Self {
        match stored {
            Some(s) if s.since_ms > self.since_ms => s,
            _ => self,
        }
    }
}

/// True when `outcome` counts against the upstream: no response, a 5xx, 429 or 418. Other
/// statuses (a 404 for a bad symbol) say the upstream is up.
pub fn is_failure(outcome: &Result<OutboundResponse, TransportError>) -> bool {
    match outcome {
        Err(_) => true,
        Ok(r) => {
            r.status >= 500 || r.status == STATUS_TOO_MANY_REQUESTS || r.status == STATUS_IP_BANNED
        }
    }
}

/// The breaker rejected a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker for {upstream} is open until {until_ms}")]
pub struct BreakerOpen {
    /// The upstream's name.
    pub upstream: String,
    /// Earliest time a call may pass, UTC ms.
    pub until_ms: i64,
}

/// One upstream's breaker: the isolate's in-memory view plus the shared record.
#[derive(Debug)]
pub struct Breaker {
    upstream: String,
    local: Cell<BreakerRecord>,
    store_errors: Cell<u32>,
}

impl Breaker {
    /// A closed breaker for `upstream` (also its key in the store, e.g. `"binance"`).
    pub fn new(upstream: impl Into<String>) -> Self {
        Self {
            upstream: upstream.into(),
            local: Cell::new(BreakerRecord {
                state: BreakerState::default(),
                since_ms: i64::MIN,
            }),
            store_errors: Cell::new(0),
        }
    }

    /// The upstream's name.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The isolate's current view.
    pub fn state(&self) -> BreakerState {
        self.local.get().state
    }

    /// How many store reads or writes failed (or held an unreadable record) so far.
    pub fn store_errors(&self) -> u32 {
        self.store_errors.get()
    }

    /// Runs `op` if the breaker admits it, and records its outcome ([`is_failure`]).
    ///
    /// # Errors
    /// [`BreakerOpen`] when the breaker is open or a probe is already in flight; `op` is then
    /// not run. The operation's own outcome is returned inside `Ok`, whatever it is.
    pub async fn call<B, C, F, Fut>(
        &self,
        store: &B,
        clock: &C,
        op: F,
    ) -> Result<Result<OutboundResponse, TransportError>, BreakerOpen>
    where
        B: BreakerStore,
        C: Clock,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<OutboundResponse, TransportError>>,
    {
        self.sync(store).await;
        let now = clock.now_ms();
        let (admission, next) = self.state().admit(now);
        self.set(store, next, now).await;
        if let Admission::Rejected { until_ms } = admission {
            return Err(BreakerOpen {
                upstream: self.upstream.clone(),
                until_ms,
            });
        }
        let outcome = op().await;
        let now = clock.now_ms();
        let next = if is_failure(&outcome) {
            self.state().on_failure(now)
        } else {
            self.state().on_success()
        };
        self.set(store, next, now).await;
        Ok(outcome)
    }

    /// Opens the breaker until at least `until_ms`, for every isolate (a 418 ban, or a
    /// `Retry-After` longer than the run may wait).
    pub async fn trip<B: BreakerStore, C: Clock>(&self, store: &B, clock: &C, until_ms: i64) {
        let now = clock.now_ms();
        let next = self.state().trip(now, until_ms);
        let changed = next != self.state();
        if changed {
            // An extended Open is a change worth sharing even though the kind is the same.
            self.local.set(BreakerRecord {
                state: next,
                since_ms: now,
            });
            self.persist(store).await;
        }
    }

    /// Merges the stored record into the local view.
    async fn sync<B: BreakerStore>(&self, store: &B) {
        let stored = match store.get(&self.upstream).await {
            Ok(Some(raw)) => match serde_json::from_str::<BreakerRecord>(&raw) {
                Ok(record) => Some(record),
                Err(_) => {
                    self.count_store_error();
                    None
                }
            },
            Ok(None) => None,
            Err(_) => {
                self.count_store_error();
                None
            }
        };
        self.local.set(self.local.get().merge(stored));
    }

    /// Updates the local view, writing the record when the kind changed.
    async fn set<B: BreakerStore>(&self, store: &B, next: BreakerState, now: i64) {
        let current = self.local.get();
        if current.state.same_kind(next) {
            self.local.set(BreakerRecord {
                state: next,
                since_ms: current.since_ms,
            });
        } else {
            self.local.set(BreakerRecord {
                state: next,
                since_ms: now,
            });
            self.persist(store).await;
        }
    }

    async fn persist<B: BreakerStore>(&self, store: &B) {
        let written = match serde_json::to_string(&self.local.get()) {
            Ok(raw) => store.put(&self.upstream, &raw).await.is_ok(),
            Err(_) => false,
        };
        if !written {
            self.count_store_error();
        }
    }

    fn count_store_error(&self) {
        self.store_errors
            .set(self.store_errors.get().saturating_add(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{BreakerStoreError, MemoryBreakerStore};
    use crate::testkit::{block_on, FakeTime};

    fn ok(status: u16) -> Result<OutboundResponse, TransportError> {
        Ok(OutboundResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        })
    }

    fn fail() -> Result<OutboundResponse, TransportError> {
        Err(TransportError::Timeout)
    }

    #[test]
    fn the_state_machine_opens_after_five_failures_and_recovers_through_one_probe() {
        let mut s = BreakerState::default();
        for n in 1..FAILURE_THRESHOLD {
            s = s.on_failure(0);
            assert_eq!(s, BreakerState::Closed { failures: n });
        }
        s = s.on_failure(1_000);
        assert_eq!(s, BreakerState::Open { until_ms: 31_000 });
        assert_eq!(s.admit(30_999).0, Admission::Rejected { until_ms: 31_000 });
        let (admission, half) = s.admit(31_000);
        assert_eq!(admission, Admission::Probe);
        assert_eq!(
            half,
            BreakerState::HalfOpen {
                probe_since_ms: 31_000
            }
        );
        assert!(matches!(half.admit(31_001).0, Admission::Rejected { .. }));
        assert_eq!(half.on_success(), BreakerState::Closed { failures: 0 });
        assert_eq!(
            half.on_failure(32_000),
            BreakerState::Open { until_ms: 62_000 }
        );
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let s = BreakerState::Closed { failures: 4 }.on_success();
        assert_eq!(s, BreakerState::Closed { failures: 0 });
    }

    #[test]
    fn a_lost_probe_lets_a_new_probe_through_after_it_goes_stale() {
        let half = BreakerState::HalfOpen { probe_since_ms: 0 };
        assert_eq!(
            half.admit(PROBE_STALE_MS - 1).0,
            Admission::Rejected {
                until_ms: PROBE_STALE_MS
            }
        );
        assert_eq!(half.admit(PROBE_STALE_MS).0, Admission::Probe);
    }

    #[test]
    fn trip_opens_for_at_least_the_open_period_and_never_shortens() {
        let closed = BreakerState::default();
        assert_eq!(closed.trip(0, 5), BreakerState::Open { until_ms: OPEN_MS });
        let long = closed.trip(0, 600_000);
        assert_eq!(long, BreakerState::Open { until_ms: 600_000 });
        assert_eq!(long.trip(0, 10), long);
    }

    #[test]
    fn records_serialize_compactly_and_round_trip() {
        let r = BreakerRecord {
            state: BreakerState::Open { until_ms: 5 },
            since_ms: 1,
        };
        let raw = serde_json::to_string(&r).unwrap();
        assert_eq!(raw, r#"{"state":"open","until_ms":5,"since_ms":1}"#);
        assert_eq!(serde_json::from_str::<BreakerRecord>(&raw).unwrap(), r);
    }

    #[test]
    fn the_later_record_wins_a_merge() {
        let local = BreakerRecord {
            state: BreakerState::Closed { failures: 2 },
            since_ms: 10,
        };
        let older = BreakerRecord {
            state: BreakerState::HalfOpen { probe_since_ms: 5 },
            since_ms: 5,
        };
        let newer = BreakerRecord {
            state: BreakerState::Open { until_ms: 99 },
            since_ms: 20,
        };
        assert_eq!(local.merge(Some(older)), local);
        assert_eq!(local.merge(Some(newer)), newer);
        assert_eq!(local.merge(None), local);
    }

    #[test]
    fn failures_and_successes_classify_the_upstream_not_the_request() {
        assert!(is_failure(&fail()));
        assert!(is_failure(&ok(500)));
        assert!(is_failure(&ok(429)));
        assert!(is_failure(&ok(418)));
        assert!(!is_failure(&ok(200)));
        assert!(!is_failure(&ok(400)));
    }

    #[test]
    fn call_writes_only_when_the_state_changes() {
        let store = MemoryBreakerStore::new();
        let clock = FakeTime::new(1_000);
        let breaker = Breaker::new("ex");
        for _ in 0..10 {
            block_on(breaker.call(&store, &clock, || async { ok(200) }))
                .unwrap()
                .unwrap();
        }
        assert_eq!(store.writes(), 0, "successes write nothing");
        for _ in 0..FAILURE_THRESHOLD - 1 {
            block_on(breaker.call(&store, &clock, || async { fail() }))
                .unwrap()
                .unwrap_err();
        }
        assert_eq!(store.writes(), 0, "failure counts stay in memory");
        block_on(breaker.call(&store, &clock, || async { fail() }))
            .unwrap()
            .unwrap_err();
        assert_eq!(store.writes(), 1);
        assert_eq!(breaker.state(), BreakerState::Open { until_ms: 31_000 });
        let stored: BreakerRecord = serde_json::from_str(&store.raw("ex").unwrap()).unwrap();
        assert_eq!(stored.state, BreakerState::Open { until_ms: 31_000 });
    }

    #[test]
    fn an_open_breaker_rejects_without_calling_then_probes_and_closes() {
        let store = MemoryBreakerStore::new();
        let clock = FakeTime::new(0);
        let breaker = Breaker::new("ex");
        for _ in 0..FAILURE_THRESHOLD {
            let _ = block_on(breaker.call(&store, &clock, || async { fail() }));
        }
        let called = Cell::new(false);
        let rejected = block_on(breaker.call(&store, &clock, || async {
            called.set(true);
            ok(200)
        }));
        assert_eq!(
            rejected,
            Err(BreakerOpen {
                upstream: "ex".into(),
                until_ms: OPEN_MS
            })
        );
        assert!(!called.get());

        clock.set(OPEN_MS);
        block_on(breaker.call(&store, &clock, || async { ok(200) }))
            .unwrap()
            .unwrap();
        assert_eq!(breaker.state(), BreakerState::Closed { failures: 0 });
        // Open, HalfOpen, Closed.
        assert_eq!(store.writes(), 3);
    }

    #[test]
    fn another_isolates_trip_is_seen_through_the_store() {
        let store = MemoryBreakerStore::new();
        let clock = FakeTime::new(0);
        let a = Breaker::new("ex");
        let b = Breaker::new("ex");
        block_on(a.trip(&store, &clock, 120_000));
        let r = block_on(b.call(&store, &clock, || async { ok(200) }));
        assert_eq!(r.unwrap_err().until_ms, 120_000);
    }

    #[test]
    fn a_stale_stored_record_does_not_undo_a_newer_local_change() {
        let store = MemoryBreakerStore::new();
        let clock = FakeTime::new(0);
        let breaker = Breaker::new("ex");
        block_on(breaker.trip(&store, &clock, 0));
        let stale_open = store.raw("ex").unwrap();
        clock.set(OPEN_MS);
        block_on(breaker.call(&store, &clock, || async { ok(200) }))
            .unwrap()
            .unwrap();
        // KV still serves the old record to this location.
        store.set_raw("ex", &stale_open);
        block_on(breaker.call(&store, &clock, || async { ok(200) }))
            .unwrap()
            .unwrap();
        assert_eq!(breaker.state(), BreakerState::Closed { failures: 0 });
    }

    struct BrokenStore;
    impl BreakerStore for BrokenStore {
        async fn get(&self, _: &str) -> Result<Option<String>, BreakerStoreError> {
            Err(BreakerStoreError("down".into()))
        }
        async fn put(&self, _: &str, _: &str) -> Result<(), BreakerStoreError> {
            Err(BreakerStoreError("down".into()))
        }
    }

    #[test]
    fn a_failing_or_corrupt_store_never_fails_a_call_and_the_local_view_still_works() {
        let clock = FakeTime::new(0);
        let breaker = Breaker::new("ex");
        for _ in 0..FAILURE_THRESHOLD {
            block_on(breaker.call(&BrokenStore, &clock, || async { fail() }))
                .unwrap()
                .unwrap_err();
        }
        assert!(block_on(breaker.call(&BrokenStore, &clock, || async { ok(200) })).is_err());
        assert!(breaker.store_errors() > 0);

        let store = MemoryBreakerStore::new();
        store.set_raw("ex", "not json");
        let fresh = Breaker::new("ex");
        assert!(block_on(fresh.call(&store, &clock, || async { ok(200) })).is_ok());
        assert_eq!(fresh.store_errors(), 1);
    }
}
