//! The soft rate limits of product.md §11.13 over Workers KV ([`RateLimitStore`]), with
//! per-isolate shards (docs/accounts.md, "KV rate limits: what they can promise").
//!
//! KV is eventually consistent (a write can take ~60 s to reach other locations) and takes
//! about one write per second per key, so one shared counter key would be both slow and
//! write-limited. Instead:
//! - every isolate owns one shard number (random, `0..SHARDS`) and writes only the shard key
//!   `rl:{scope}:{window start}:{subject}#{shard}` (`cl_auth::ratelimit::shard_key`), holding
//!   the isolate's count for that window, with a TTL past the window's end;
//! - it counts in memory ([`IsolateCounters`], one per isolate): a hit that is allowed adds to
//!   the `pending` count, which is written (flushed) on the first hit of a window, on the next
//!   hit at least 1 s after the previous write, or at once when this hit reaches the limit
//!   (so other isolates learn of an exhausted budget as early as KV allows);
//! - the decision sums the fixed shard set (`shard_keys`, one `get` of all 8 keys, re-read at
//!   most once per second per window and isolate) with the isolate's own count, and applies
//!   the fixed window of `Rule::decide`. A refused request is not counted.
//!
//! - short windows (under [`QUIET_BELOW_SECS`], i.e. the 10/s API limits) start *quiet*: while
//!   this isolate has seen fewer than half the limit in the window, it decides from memory alone
//!   and touches KV not at all. Such a window ends before KV could carry its count to another
//!   location anyway (~60 s), and a subject that sends one request now and then (most clients)
//!   then costs no KV operation. Once a window reaches half the limit in one isolate it is *hot*
//!   and follows the shard protocol above (its quiet hits are part of the first write). The
//!   price: another isolate that is itself still quiet does not see them, so a subject spread
//!   over `n` isolates may get up to `n × limit / 2` before any of them turns hot (a soft limit,
//!   like the rest of this file; docs/decisions.md, "Per-IP API limit").
//!
//! Errors: a KV read or write failure is `StoreError::Unavailable` (the caller fails closed on
//! auth routes; the count of an allowed hit stays pending and is written next time); a subject
//! the key format refuses is `StoreError::Invalid`. A shard value that is not a number counts
//! as 0 (a soft limit must not lock a subject out until the key expires).
//!
//! The KV access sits behind [`CounterKv`] so that the algorithm is host-tested with a fake
//! KV (several isolates, stale reads, failures); [`WorkersKv`] is the `KvStore` binding.

use cl_app::ports::{RateLimitStore, StoreError};
use cl_auth::ratelimit::{shard_key, shard_keys, window_key, Decision, Rule, SHARDS};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// The minimum gap between two writes of one shard key by one isolate (KV: ~1 write/s/key).
pub const WRITE_EVERY_MS: i64 = 1_000;
/// How long the summed shards are reused before they are read again.
pub const READ_EVERY_MS: i64 = 1_000;
/// KV's smallest TTL; shard keys live this long past the end of their window.
pub const TTL_MARGIN_SECS: u64 = 60;
/// Windows shorter than this start quiet (memory only, up to half the limit per isolate).
pub const QUIET_BELOW_SECS: u32 = 60;
/// Windows tracked per isolate before the ones with nothing to write are dropped.
pub const MAX_TRACKED_WINDOWS: usize = 10_000;

/// The KV operations the limiter needs.
#[allow(async_fn_in_trait)]
pub trait CounterKv {
    /// The raw values of `keys`, in order (`None` for a missing key).
    ///
    /// # Errors
    /// The KV failure, as text for logs.
    async fn get_all(&self, keys: &[String]) -> Result<Vec<Option<String>>, String>;

    /// Writes `value` under `key`, expiring after `ttl_secs`.
    ///
    /// # Errors
    /// The KV failure, as text for logs.
    async fn put(&self, key: &str, value: &str, ttl_secs: u64) -> Result<(), String>;
}

/// A `worker::kv::KvStore` binding as a [`CounterKv`] (one bulk `get` for the shard set).
#[derive(Debug)]
pub struct WorkersKv(pub worker::kv::KvStore);

impl CounterKv for WorkersKv {
    async fn get_all(&self, keys: &[String]) -> Result<Vec<Option<String>>, String> {
        let mut found = self
            .0
            .get_bulk(keys)
            .text()
            .await
            .map_err(|e| format!("kv get: {e}"))?;
        Ok(keys.iter().map(|k| found.remove(k).flatten()).collect())
    }

    async fn put(&self, key: &str, value: &str, ttl_secs: u64) -> Result<(), String> {
        self.0
            .put(key, value)
            .map_err(|e| format!("kv put: {e}"))?
            .expiration_ttl(ttl_secs)
            .execute()
            .await
            .map_err(|e| format!("kv put: {e}"))
    }
}

/// What one isolate knows about one window of one subject.
#[derive(Debug, Clone, Default)]
struct WindowState {
    /// End of the window (UTC ms): the entry is dropped after it.
    ends_at: i64,
    /// Sum of the other isolates' shards at the last read.
    others: u32,
    /// Counts in our shard key written by someone else (an earlier isolate with the same
    /// shard number): kept so that our writes do not erase them.
    foreign_own: u32,
    /// Our hits already written.
    flushed: u32,
    /// Our allowed hits not written yet.
    pending: u32,
    /// When the shards were last read.
    read_at: Option<i64>,
    /// When we last tried to write.
    wrote_at: Option<i64>,
}

impl WindowState {
    fn count(&self) -> u32 {
        self.others
            .saturating_add(self.foreign_own)
            .saturating_add(self.flushed)
            .saturating_add(self.pending)
    }

    /// The value our shard key should hold.
    fn own_value(&self) -> u32 {
        self.foreign_own
            .saturating_add(self.flushed)
            .saturating_add(self.pending)
    }
}

/// The in-memory side of the limiter: one per isolate (keep it in a `thread_local!` or a
/// `OnceCell` next to the config), shared by every request the isolate serves.
#[derive(Debug)]
pub struct IsolateCounters {
    shard: u8,
    windows: RefCell<HashMap<String, WindowState>>,
    pruned_at: Cell<i64>,
}

impl IsolateCounters {
    /// Counters writing shard `shard % SHARDS`.
    pub fn new(shard: u8) -> Self {
        Self {
            shard: shard % SHARDS,
            windows: RefCell::new(HashMap::new()),
            pruned_at: Cell::new(i64::MIN),
        }
    }

    /// Counters with a random shard (shard 0 if no randomness is available).
    pub fn with_random_shard() -> Self {
        let shard = cl_auth::random::bytes::<1>().map_or(0, |b| b[0]);
        Self::new(shard)
    }

    /// The shard this isolate writes.
    pub fn shard(&self) -> u8 {
        self.shard
    }

    /// How many windows are tracked (for metrics and tests).
    pub fn tracked(&self) -> usize {
        self.windows.borrow().len()
    }

    /// Allowed hits not yet written to KV, over every window (for metrics and tests).
    pub fn pending(&self) -> u32 {
        self.windows
            .borrow()
            .values()
            .fold(0u32, |n, w| n.saturating_add(w.pending))
    }

    /// Drops ended windows (at most once a second) and, past [`MAX_TRACKED_WINDOWS`], the
    /// windows with nothing left to write.
    fn prune(&self, now: i64) {
        if now.saturating_sub(self.pruned_at.get()) < READ_EVERY_MS {
            return;
        }
        self.pruned_at.set(now);
        let mut windows = self.windows.borrow_mut();
        windows.retain(|_, w| w.ends_at > now);
        if windows.len() > MAX_TRACKED_WINDOWS {
            windows.retain(|_, w| w.pending > 0);
        }
        if windows.len() > MAX_TRACKED_WINDOWS {
            windows.clear();
        }
    }
}

/// The KV rate limiter of one request: the binding plus the isolate's counters.
#[derive(Debug)]
pub struct KvRateLimits<'a, K> {
    kv: K,
    counters: &'a IsolateCounters,
}

impl<'a, K: CounterKv> KvRateLimits<'a, K> {
    /// The limiter over `kv` (production: `WorkersKv(env.kv("RATE_LIMITS")?)`) and the
    /// isolate's counters.
    pub fn new(kv: K, counters: &'a IsolateCounters) -> Self {
        Self { kv, counters }
    }

    /// Writes every window with pending hits whose last write is at least 1 s old (call it
    /// from `ctx.wait_until` after the response so that a burst followed by silence still
    /// reaches KV); returns how many keys were written.
    ///
    /// # Errors
    /// The first KV failure (the other windows are still attempted; nothing is lost).
    pub async fn flush_due(&self, now_ms: i64) -> Result<usize, StoreError> {
        let due: Vec<String> = self
            .counters
            .windows
            .borrow()
            .iter()
            .filter(|(_, w)| w.pending > 0 && w.ends_at > now_ms && write_due(w, now_ms))
            .map(|(k, _)| k.clone())
            .collect();
        let mut written = 0;
        let mut first_error = None;
        for key in due {
            match self.flush(&key, now_ms).await {
                Ok(()) => written += 1,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(written), Err)
    }

    /// Reads the shard set of a window into its state.
    async fn read(&self, key: &str, now: i64, ends_at: i64) -> Result<(), StoreError> {
        let keys = shard_keys(key);
        let values = self
            .kv
            .get_all(&keys)
            .await
            .map_err(|e| StoreError::Unavailable(format!("rate limits: {e}")))?;
        let own = usize::from(self.counters.shard);
        let mut others = 0u32;
        let mut own_value = 0u32;
        for (i, v) in values.iter().enumerate() {
            let n = v
                .as_deref()
                .and_then(|s| s.trim().parse::<u32>().ok())
                .unwrap_or(0);
            if i == own {
                own_value = n;
            } else {
                others = others.saturating_add(n);
            }
        }
        let mut windows = self.counters.windows.borrow_mut();
        let w = windows
            .entry(key.to_owned())
            .or_insert_with(|| WindowState {
                ends_at,
                ..WindowState::default()
            });
        w.others = others;
        // Whatever our key holds beyond what we wrote came from another writer of this
        // shard (a stale read can only show less, hence the max).
        w.foreign_own = w.foreign_own.max(own_value.saturating_sub(w.flushed));
        w.read_at = Some(now);
        Ok(())
    }

    /// Writes our shard of a window (the pending hits become flushed on success).
    async fn flush(&self, key: &str, now: i64) -> Result<(), StoreError> {
        let (value, sent, ttl) = {
            let mut windows = self.counters.windows.borrow_mut();
            let Some(w) = windows.get_mut(key) else {
                return Ok(());
            };
            w.wrote_at = Some(now);
            let left_ms = u64::try_from(w.ends_at.saturating_sub(now)).unwrap_or(0);
            (
                w.own_value(),
                w.pending,
                left_ms.div_ceil(1_000) + TTL_MARGIN_SECS,
            )
        };
        let shard = shard_key(key, self.counters.shard);
        self.kv
            .put(&shard, &value.to_string(), ttl)
            .await
            .map_err(|e| StoreError::Unavailable(format!("rate limits: {e}")))?;
        if let Some(w) = self.counters.windows.borrow_mut().get_mut(key) {
            w.flushed = w.flushed.saturating_add(sent);
            w.pending = w.pending.saturating_sub(sent);
        }
        Ok(())
    }
}

/// How many hits of a window one isolate decides from memory before it reads KV.
fn quiet_share(rule: &Rule) -> u32 {
    if rule.window_secs < QUIET_BELOW_SECS {
        rule.limit / 2
    } else {
        0
    }
}

fn write_due(w: &WindowState, now: i64) -> bool {
    w.wrote_at
        .is_none_or(|at| now.saturating_sub(at) >= WRITE_EVERY_MS)
}

impl<K: CounterKv> RateLimitStore for KvRateLimits<'_, K> {
    async fn hit(&self, rule: &Rule, subject: &str, now_ms: i64) -> Result<Decision, StoreError> {
        let start = rule.window_start(now_ms);
        let key = window_key(rule.scope, subject, start)
            .map_err(|e| StoreError::Invalid(format!("rate-limit key: {e}")))?;
        let ends_at = start
            .saturating_add(i64::from(rule.window_secs.max(1)))
            .saturating_mul(1_000);
        self.counters.prune(now_ms);

        // A quiet window (never read, below this isolate's quiet share): memory only.
        {
            let mut windows = self.counters.windows.borrow_mut();
            let w = windows.entry(key.clone()).or_insert_with(|| WindowState {
                ends_at,
                ..WindowState::default()
            });
            if w.read_at.is_none() && w.count() < quiet_share(rule) {
                let decision = rule.decide(w.count(), now_ms);
                w.pending = w.pending.saturating_add(1);
                return Ok(decision);
            }
        }

        let must_read = self
            .counters
            .windows
            .borrow()
            .get(&key)
            .and_then(|w| w.read_at)
            .is_none_or(|at| now_ms.saturating_sub(at) >= READ_EVERY_MS);
        if must_read {
            self.read(&key, now_ms, ends_at).await?;
        }

        let (decision, flush_now) = {
            let mut windows = self.counters.windows.borrow_mut();
            let w = windows.entry(key.clone()).or_insert_with(|| WindowState {
                ends_at,
                ..WindowState::default()
            });
            let decision = rule.decide(w.count(), now_ms);
            match decision {
                Decision::Allowed { remaining } => {
                    w.pending = w.pending.saturating_add(1);
                    (decision, remaining == 0 || write_due(w, now_ms))
                }
                Decision::Limited { .. } => (decision, false),
            }
        };
        if flush_now {
            self.flush(&key, now_ms).await?;
        }
        Ok(decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cl_auth::ratelimit::rules;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// Runs a future whose awaits are all ready (the fake KV never waits).
    fn run<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("the fake KV never waits"),
        }
    }

    /// A KV shared by "isolates", with an optional delay before writes become visible
    /// (eventual consistency) and a switch to make every call fail.
    #[derive(Default)]
    struct FakeKv {
        /// key → (value, visible from)
        data: RefCell<HashMap<String, (String, i64)>>,
        /// The fake clock readers see.
        now: Cell<i64>,
        lag_ms: Cell<i64>,
        failing: Cell<bool>,
        failing_puts: Cell<bool>,
        puts: Cell<u32>,
        ttls: RefCell<Vec<u64>>,
    }

    impl CounterKv for &FakeKv {
        async fn get_all(&self, keys: &[String]) -> Result<Vec<Option<String>>, String> {
            if self.failing.get() {
                return Err("kv down".into());
            }
            let data = self.data.borrow();
            Ok(keys
                .iter()
                .map(|k| {
                    data.get(k)
                        .filter(|(_, from)| *from <= self.now.get())
                        .map(|(v, _)| v.clone())
                })
                .collect())
        }

        async fn put(&self, key: &str, value: &str, ttl_secs: u64) -> Result<(), String> {
            if self.failing.get() || self.failing_puts.get() {
                return Err("kv down".into());
            }
            self.puts.set(self.puts.get() + 1);
            self.ttls.borrow_mut().push(ttl_secs);
            let visible = self.now.get() + self.lag_ms.get();
            self.data
                .borrow_mut()
                .insert(key.to_owned(), (value.to_owned(), visible));
            Ok(())
        }
    }

    const T0: i64 = 1_700_000_080_000; // 40 s into a minute window

    fn hit(kv: &FakeKv, c: &IsolateCounters, rule: &Rule, at: i64) -> Result<Decision, StoreError> {
        kv.now.set(at);
        run(KvRateLimits::new(kv, c).hit(rule, "203.0.113.7", at))
    }

    fn allowed(r: &Result<Decision, StoreError>) -> bool {
        matches!(r, Ok(Decision::Allowed { .. }))
    }

    #[test]
    fn one_isolate_enforces_the_limit_exactly_and_writes_its_shard() {
        let kv = FakeKv::default();
        let c = IsolateCounters::new(3);
        let rule = rules::LOGIN_PER_IP_MINUTE; // 5/min
        let answers: Vec<_> = (0..7).map(|i| hit(&kv, &c, &rule, T0 + i * 10)).collect();
        assert_eq!(answers.iter().filter(|r| allowed(r)).count(), 5);
        assert_eq!(
            answers[5],
            Ok(Decision::Limited {
                retry_after_secs: 20
            })
        );
        // First hit written at once, the 5th because it reached the limit; nothing pending.
        assert_eq!(kv.puts.get(), 2);
        assert_eq!(c.pending(), 0);
        let key = window_key("login_ip_m", "203.0.113.7", rule.window_start(T0)).unwrap();
        let stored = kv.data.borrow().get(&shard_key(&key, 3)).cloned();
        assert_eq!(stored.map(|(v, _)| v), Some("5".to_string()));
        assert!(kv.ttls.borrow().iter().all(|t| *t == 20 + TTL_MARGIN_SECS));
    }

    #[test]
    fn writes_are_at_most_one_per_second_per_key_below_the_limit() {
        let kv = FakeKv::default();
        let c = IsolateCounters::new(0);
        let rule = rules::LOGIN_PER_IP_HOUR; // 25/h
        for i in 0..20 {
            assert!(allowed(&hit(&kv, &c, &rule, T0 + i * 100)));
        }
        // t = 0 (first), t = 1000 (1 s later); the rest waits.
        assert_eq!(kv.puts.get(), 2);
        assert_eq!(c.pending(), 9);
        assert_eq!(
            run(KvRateLimits::new(&kv, &c).flush_due(T0 + 1_900)),
            Ok(0),
            "not yet 1 s since the last write"
        );
        assert_eq!(run(KvRateLimits::new(&kv, &c).flush_due(T0 + 2_000)), Ok(1));
        assert_eq!(c.pending(), 0);
    }

    #[test]
    fn isolates_see_each_others_shards_and_sum_them() {
        let kv = FakeKv::default();
        let (a, b) = (IsolateCounters::new(1), IsolateCounters::new(2));
        let rule = rules::LOGIN_PER_IP_MINUTE;
        for i in 0..3 {
            assert!(allowed(&hit(&kv, &a, &rule, T0 + i * 10)));
        }
        run(KvRateLimits::new(&kv, &a).flush_due(T0 + 1_000)).unwrap();
        // B reads A's 3 and allows only 2 more.
        let answers: Vec<_> = (0..4)
            .map(|i| hit(&kv, &b, &rule, T0 + 1_100 + i * 10))
            .collect();
        assert_eq!(answers.iter().filter(|r| allowed(r)).count(), 2);
        // A, re-reading after 1 s, sees B's two (B wrote at its first hit and at the limit).
        assert!(matches!(
            hit(&kv, &a, &rule, T0 + 2_200),
            Ok(Decision::Limited { .. })
        ));
    }

    #[test]
    fn with_propagation_lag_isolates_can_overshoot_until_writes_are_visible() {
        let kv = FakeKv::default();
        kv.lag_ms.set(60_000);
        let isolates: Vec<_> = (0..4).map(IsolateCounters::new).collect();
        let rule = rules::REGISTER_PER_IP; // 3/h
        let mut allowed_n = 0;
        for (k, c) in isolates.iter().enumerate() {
            for i in 0..5 {
                if allowed(&hit(&kv, c, &rule, T0 + i64::try_from(k).unwrap() * 10 + i)) {
                    allowed_n += 1;
                }
            }
        }
        // Each isolate enforces the limit alone: at most limit × isolates while KV lags.
        assert_eq!(allowed_n, 3 * 4);
        // Once the writes are visible, a new isolate is refused at once.
        let late = IsolateCounters::new(7);
        assert!(matches!(
            hit(&kv, &late, &rule, T0 + 61_000),
            Ok(Decision::Limited { .. })
        ));
    }

    #[test]
    fn a_shard_shared_with_an_earlier_isolate_keeps_its_counts() {
        let kv = FakeKv::default();
        let rule = rules::LOGIN_PER_IP_HOUR;
        let old = IsolateCounters::new(5);
        for i in 0..4 {
            hit(&kv, &old, &rule, T0 + i * 1_000).unwrap();
        }
        let new = IsolateCounters::new(5); // same shard, after an isolate restart
        hit(&kv, &new, &rule, T0 + 10_000).unwrap();
        let key = window_key("login_ip_h", "203.0.113.7", rule.window_start(T0)).unwrap();
        let stored = kv.data.borrow().get(&shard_key(&key, 5)).cloned();
        assert_eq!(stored.map(|(v, _)| v), Some("5".to_string()));
    }

    #[test]
    fn kv_failures_are_unavailable_and_bad_subjects_invalid() {
        let kv = FakeKv::default();
        let c = IsolateCounters::new(0);
        let rule = rules::LOGIN_PER_IP_MINUTE;
        kv.failing.set(true);
        assert!(matches!(
            hit(&kv, &c, &rule, T0),
            Err(StoreError::Unavailable(_))
        ));
        kv.failing.set(false);
        assert!(allowed(&hit(&kv, &c, &rule, T0 + 1)));
        kv.now.set(T0);
        assert!(matches!(
            run(KvRateLimits::new(&kv, &c).hit(&rule, "has space", T0)),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            run(KvRateLimits::new(&kv, &c).hit(&rule, &"x".repeat(201), T0)),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn a_failed_write_keeps_the_hit_pending_and_garbage_counts_as_zero() {
        let kv = FakeKv::default();
        let c = IsolateCounters::new(0);
        let rule = rules::LOGIN_PER_IP_HOUR;
        assert!(allowed(&hit(&kv, &c, &rule, T0)));
        // Reads work, writes fail: the hit is decided, then the write error is reported.
        let key = window_key("login_ip_h", "203.0.113.7", rule.window_start(T0)).unwrap();
        kv.data
            .borrow_mut()
            .insert(shard_key(&key, 4), ("not a number".into(), 0));
        kv.failing_puts.set(true);
        assert!(matches!(
            hit(&kv, &c, &rule, T0 + 1_500),
            Err(StoreError::Unavailable(_))
        ));
        kv.failing_puts.set(false);
        assert_eq!(c.pending(), 1, "the counted hit waits for the next write");
        assert!(allowed(&hit(&kv, &c, &rule, T0 + 3_000)));
        assert_eq!(c.pending(), 0);
        let stored = kv.data.borrow().get(&shard_key(&key, 0)).cloned();
        assert_eq!(stored.map(|(v, _)| v), Some("3".to_string()));
    }

    #[test]
    fn a_per_second_window_is_memory_only_until_half_the_limit() {
        let kv = FakeKv::default();
        let c = IsolateCounters::new(2);
        let rule = rules::API_PER_KEY; // 10/s
        let at = T0 + 100;
        for i in 0..5 {
            assert!(allowed(&hit(&kv, &c, &rule, at + i)));
        }
        assert_eq!(kv.puts.get(), 0, "quiet: no KV write");
        assert!(kv.data.borrow().is_empty());
        // The 6th turns the window hot: one read, one write holding all six.
        assert!(allowed(&hit(&kv, &c, &rule, at + 5)));
        assert_eq!(kv.puts.get(), 1);
        let key = window_key("api_key", "203.0.113.7", rule.window_start(at)).unwrap();
        let stored = kv.data.borrow().get(&shard_key(&key, 2)).cloned();
        assert_eq!(stored.map(|(v, _)| v), Some("6".to_string()));
        // Still exact within the isolate: 10 allowed, the 11th refused until the next second.
        let rest: Vec<_> = (6..12).map(|i| hit(&kv, &c, &rule, at + i)).collect();
        assert_eq!(rest.iter().filter(|r| allowed(r)).count(), 4);
        assert_eq!(
            rest[4],
            Ok(Decision::Limited {
                retry_after_secs: 1
            })
        );
        // Another subject, or the next second, starts quiet again.
        kv.now.set(at + 1_000);
        assert!(allowed(&run(KvRateLimits::new(&kv, &c).hit(
            &rule,
            "203.0.113.8",
            at + 1_000
        ))));
        assert!(allowed(&hit(&kv, &c, &rule, at + 1_000)));
        assert_eq!(kv.puts.get(), 2, "only the hot window and its final write");
    }

    #[test]
    fn a_hot_isolate_sees_the_shards_of_other_hot_isolates() {
        let kv = FakeKv::default();
        let (a, b) = (IsolateCounters::new(1), IsolateCounters::new(2));
        let rule = rules::API_PER_KEY;
        let at = T0 + 200;
        // A turns hot and writes 6; B, quiet for 5, reads A's 6 at its 6th: 6 + 5 = 11 > 10.
        for i in 0..6 {
            assert!(allowed(&hit(&kv, &a, &rule, at + i)));
        }
        for i in 0..5 {
            assert!(allowed(&hit(&kv, &b, &rule, at + 10 + i)));
        }
        assert!(matches!(
            hit(&kv, &b, &rule, at + 20),
            Ok(Decision::Limited { .. })
        ));
    }

    #[test]
    fn minute_windows_are_never_quiet() {
        assert_eq!(quiet_share(&rules::LOGIN_PER_IP_MINUTE), 0);
        assert_eq!(quiet_share(&rules::API_KEY_DEFAULT_PER_MINUTE), 0);
        assert_eq!(quiet_share(&rules::API_PER_KEY), 5);
    }

    #[test]
    fn ended_windows_are_forgotten() {
        let kv = FakeKv::default();
        let c = IsolateCounters::new(0);
        let rule = rules::LOGIN_PER_IP_MINUTE;
        hit(&kv, &c, &rule, T0).unwrap();
        assert_eq!(c.tracked(), 1);
        hit(&kv, &c, &rule, T0 + 60_000).unwrap();
        assert_eq!(c.tracked(), 1, "the previous minute was dropped");
        assert_eq!(IsolateCounters::new(13).shard(), 13 % SHARDS);
    }
}
