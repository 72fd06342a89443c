//! One upstream: a transport behind the retry policy and the circuit breaker.
//!
//! Every try passes through the breaker, so a breaker that opens during the retries stops them.
//! When the upstream says to stay away for longer than a run may wait (a 418 ban, or a
//! `Retry-After` beyond the policy's budget), the breaker is tripped until then for every
//! isolate, and the error says the whole upstream is off for this run
//! ([`CallError::stops_upstream`]).

use crate::breaker::{Breaker, BreakerOpen};
use crate::ports::{
    BreakerStore, Clock, HttpTransport, OutboundRequest, OutboundResponse, Sleeper, TransportError,
};
use crate::retry::{Decision, GiveUp, RetryPolicy};

/// Binance's shortest IP ban, assumed for a 418 without `Retry-After`.
pub const DEFAULT_BAN_MS: u64 = 120_000;
/// How much of an error response's body is kept for logs.
pub const ERROR_BODY_SNIPPET_BYTES: usize = 200;

/// Why a call to an upstream failed for this run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The breaker is open; nothing was sent.
    #[error(transparent)]
    BreakerOpen(#[from] BreakerOpen),
    /// No response after `tries` tries; `error` is the last one.
    #[error("{error} (after {tries} tries)")]
    Transport {
        /// The last transport error.
        error: TransportError,
        /// Tries made.
        tries: u32,
    },
    /// A status that is not retried (most 4xx), or a 5xx after the last try.
    #[error("upstream answered {status} (after {tries} tries)")]
    Status {
        /// The last status.
        status: u16,
        /// Tries made.
        tries: u32,
        /// The start of the body, for logs.
        body: String,
    },
    /// A 429/5xx asking to wait longer than the run may.
    #[error("rate limited: retry after {retry_after_ms} ms (after {tries} tries)")]
    RateLimited {
        /// The wait asked for.
        retry_after_ms: u64,
        /// Tries made.
        tries: u32,
    },
    /// 418: this IP is banned.
    #[error("IP banned by the upstream (retry after {retry_after_ms:?} ms)")]
    Banned {
        /// The ban's remaining length, when the upstream said.
        retry_after_ms: Option<u64>,
    },
}

impl CallError {
    /// True when no further call to this upstream should be made in this run (breaker open,
    /// banned, or told to wait beyond the budget); false when only this request failed.
    pub fn stops_upstream(&self) -> bool {
        matches!(
            self,
            Self::BreakerOpen(_) | Self::Banned { .. } | Self::RateLimited { .. }
        )
    }
}

/// A transport wrapped in the retry policy and a breaker.
#[derive(Debug)]
pub struct Upstream<T, S, C, B> {
    transport: T,
    sleeper: S,
    clock: C,
    store: B,
    breaker: Breaker,
    policy: RetryPolicy,
}

impl<T, S, C, B> Upstream<T, S, C, B>
where
    T: HttpTransport,
    S: Sleeper,
    C: Clock,
    B: BreakerStore,
{
    /// An upstream named `name` (the breaker's key).
    pub fn new(
        name: impl Into<String>,
        policy: RetryPolicy,
        transport: T,
        sleeper: S,
        clock: C,
        store: B,
    ) -> Self {
        Self {
            transport,
            sleeper,
            clock,
            store,
            breaker: Breaker::new(name),
            policy,
        }
    }

    /// The breaker (for logs and tests).
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Sends `req`, retrying per the policy, and returns the first 2xx response.
    ///
    /// # Errors
    /// A [`CallError`] saying why this run got no 2xx.
    pub async fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, CallError> {
        let mut tries = 0_u32;
        loop {
            tries += 1;
            let outcome = self
                .breaker
                .call(&self.store, &self.clock, || {
                    self.transport.send(req.clone())
                })
                .await?;
            let now = self.clock.now_ms();
            match (self.policy.decide(tries, outcome.as_ref(), now), outcome) {
                (Decision::Accept, Ok(response)) => return Ok(response),
                (Decision::Retry { wait_ms }, _) => self.sleeper.sleep(wait_ms).await,
                (Decision::GiveUp(reason), outcome) => {
                    return Err(self.give_up(reason, outcome, tries, now).await)
                }
                (Decision::Accept, Err(error)) => {
                    return Err(CallError::Transport { error, tries })
                }
            }
        }
    }

    async fn give_up(
        &self,
        reason: GiveUp,
        outcome: Result<OutboundResponse, TransportError>,
        tries: u32,
        now: i64,
    ) -> CallError {
        match reason {
            GiveUp::Banned { retry_after_ms } => {
                let ban = retry_after_ms.unwrap_or(DEFAULT_BAN_MS);
                self.trip_for(ban, now).await;
                CallError::Banned { retry_after_ms }
            }
            GiveUp::RetryAfterTooLong { retry_after_ms } => {
                self.trip_for(retry_after_ms, now).await;
                CallError::RateLimited {
                    retry_after_ms,
                    tries,
                }
            }
            GiveUp::Exhausted | GiveUp::NotRetryable => match outcome {
                Err(error) => CallError::Transport { error, tries },
                Ok(response) => CallError::Status {
                    status: response.status,
                    tries,
                    body: snippet(&response.body),
                },
            },
        }
    }

    async fn trip_for(&self, ms: u64, now: i64) {
        let until = now.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX));
        self.breaker.trip(&self.store, &self.clock, until).await;
    }
}

fn snippet(body: &[u8]) -> String {
    let head = body.get(..ERROR_BODY_SNIPPET_BYTES).unwrap_or(body);
    String::from_utf8_lossy(head).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::{BreakerState, FAILURE_THRESHOLD};
    use crate::ports::{MemoryBreakerStore, Method};
    use crate::testkit::{block_on, reply, FakeTime, ScriptedTransport};

    fn get() -> OutboundRequest {
        OutboundRequest {
            method: Method::Get,
            url: "https://x.test/a".into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout_ms: 1_000,
        }
    }

    const POLICY: RetryPolicy = RetryPolicy {
        max_tries: 3,
        base_backoff_ms: 1_000,
        max_backoff_ms: 8_000,
        max_retry_after_ms: 10_000,
    };

    fn run(
        script: Vec<crate::testkit::Scripted>,
    ) -> (
        Result<OutboundResponse, CallError>,
        Vec<u64>,
        usize,
        BreakerState,
    ) {
        let transport = ScriptedTransport::new(script);
        let time = FakeTime::new(0);
        let store = MemoryBreakerStore::new();
        let up = Upstream::new("x", POLICY, &transport, &time, &time, &store);
        let result = block_on(up.send(get()));
        let state = up.breaker().state();
        (result, time.sleeps(), transport.requests().len(), state)
    }

    #[test]
    fn a_500_then_a_success_returns_the_success_after_one_backoff() {
        let (r, sleeps, sent, _) = run(vec![reply(500, "", &[]), reply(200, "ok", &[])]);
        assert_eq!(r.unwrap().body, b"ok");
        assert_eq!(sleeps, vec![1_000]);
        assert_eq!(sent, 2);
    }

    #[test]
    fn a_429_is_retried_after_its_retry_after() {
        let (r, sleeps, _, _) = run(vec![
            reply(429, "", &[("Retry-After", "3")]),
            reply(200, "", &[]),
        ]);
        assert!(r.is_ok());
        assert_eq!(sleeps, vec![3_000]);
    }

    #[test]
    fn timeouts_exhaust_the_tries_with_growing_backoff() {
        let (r, sleeps, sent, state) = run(vec![
            Err(TransportError::Timeout),
            Err(TransportError::Timeout),
            Err(TransportError::Timeout),
        ]);
        assert_eq!(
            r.unwrap_err(),
            CallError::Transport {
                error: TransportError::Timeout,
                tries: 3
            }
        );
        assert_eq!(sleeps, vec![1_000, 2_000]);
        assert_eq!(sent, 3);
        assert_eq!(state, BreakerState::Closed { failures: 3 });
    }

    #[test]
    fn a_404_is_returned_at_once_with_its_body() {
        let (r, sleeps, sent, state) = run(vec![reply(404, r#"{"msg":"nope"}"#, &[])]);
        assert_eq!(
            r.unwrap_err(),
            CallError::Status {
                status: 404,
                tries: 1,
                body: r#"{"msg":"nope"}"#.into()
            }
        );
        assert!(sleeps.is_empty());
        assert_eq!(sent, 1);
        assert_eq!(state, BreakerState::Closed { failures: 0 });
    }

    #[test]
    fn a_418_stops_at_once_and_trips_the_breaker_for_the_ban() {
        let (r, sleeps, sent, state) = run(vec![reply(418, "", &[("Retry-After", "600")])]);
        let err = r.unwrap_err();
        assert_eq!(
            err,
            CallError::Banned {
                retry_after_ms: Some(600_000)
            }
        );
        assert!(err.stops_upstream());
        assert!(sleeps.is_empty());
        assert_eq!(sent, 1);
        assert_eq!(state, BreakerState::Open { until_ms: 600_000 });
    }

    #[test]
    fn a_retry_after_beyond_the_budget_gives_up_and_trips_the_breaker() {
        let (r, sleeps, _, state) = run(vec![reply(429, "", &[("Retry-After", "60")])]);
        assert_eq!(
            r.unwrap_err(),
            CallError::RateLimited {
                retry_after_ms: 60_000,
                tries: 1
            }
        );
        assert!(sleeps.is_empty());
        assert_eq!(state, BreakerState::Open { until_ms: 60_000 });
    }

    #[test]
    fn the_breaker_opening_mid_retries_stops_them() {
        let transport = ScriptedTransport::new((0..10).map(|_| reply(503, "", &[])));
        let time = FakeTime::new(0);
        let store = MemoryBreakerStore::new();
        let policy = RetryPolicy {
            max_tries: 10,
            ..POLICY
        };
        let up = Upstream::new("x", policy, &transport, &time, &time, &store);
        let err = block_on(up.send(get())).unwrap_err();
        assert!(matches!(err, CallError::BreakerOpen(_)), "{err:?}");
        assert!(err.stops_upstream());
        assert_eq!(transport.requests().len(), FAILURE_THRESHOLD as usize);
    }
}
