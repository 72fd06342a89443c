//! In-memory [`RateLimitStore`]: fixed windows per `(scope, subject, window start)`, for host
//! tests and local replay.

use cl_app::ports::{RateLimitStore, StoreError};
use cl_auth::ratelimit::{Decision, Rule, MAX_SUBJECT_LEN};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

/// Rate-limit counters in memory. [`MemoryRateLimits::fail`] makes every call answer
/// `Unavailable`, to test that callers fail closed.
#[derive(Debug, Default)]
pub struct MemoryRateLimits {
    counts: RefCell<BTreeMap<(&'static str, String, i64), u32>>,
    failing: Cell<bool>,
}

impl MemoryRateLimits {
    /// Empty counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on every `hit` fails (`true`) or works again (`false`).
    pub fn fail(&self, failing: bool) {
        self.failing.set(failing);
    }
}

impl RateLimitStore for MemoryRateLimits {
    async fn hit(&self, rule: &Rule, subject: &str, now_ms: i64) -> Result<Decision, StoreError> {
        if self.failing.get() {
            return Err(StoreError::Unavailable(
                "rate limits: failing on purpose".into(),
            ));
        }
        if subject.is_empty()
            || subject.len() > MAX_SUBJECT_LEN
            || !subject.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(StoreError::Invalid("rate-limit subject".into()));
        }
        let key = (rule.scope, subject.to_owned(), rule.window_start(now_ms));
        let mut counts = self.counts.borrow_mut();
        let count = counts.get(&key).copied().unwrap_or(0);
        let decision = rule.decide(count, now_ms);
        if matches!(decision, Decision::Allowed { .. }) {
            counts.insert(key, count.saturating_add(1));
        }
        Ok(decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cl_auth::ratelimit::rules;

    #[test]
    fn the_limit_holds_per_subject_and_window_and_failures_are_reported() {
        let rl = MemoryRateLimits::new();
        let now = 1_700_000_000_000;
        let hit =
            |s: &str, t: i64| futures_executor::block_on(rl.hit(&rules::REGISTER_PER_IP, s, t));
        for _ in 0..3 {
            assert!(matches!(hit("1.2.3.4", now), Ok(Decision::Allowed { .. })));
        }
        assert!(matches!(hit("1.2.3.4", now), Ok(Decision::Limited { .. })));
        assert!(matches!(hit("5.6.7.8", now), Ok(Decision::Allowed { .. })));
        assert!(matches!(
            hit("1.2.3.4", now + 3_600_000),
            Ok(Decision::Allowed { .. })
        ));
        rl.fail(true);
        assert!(matches!(
            hit("5.6.7.8", now),
            Err(StoreError::Unavailable(_))
        ));
    }
}
