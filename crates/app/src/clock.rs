//! Clocks for the [`Clock`] port: a [`FixedClock`] for one run and a [`ManualClock`] that a
//! replay or a test moves by hand. The worker's real clock (`Date.now()`) lives in the worker.

use crate::ports::Clock;
use std::cell::Cell;

/// A clock that always answers the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

/// A clock set by hand, e.g. to each replayed run's "now".
#[derive(Debug, Default)]
pub struct ManualClock(Cell<i64>);

impl ManualClock {
    /// A clock showing `now_ms`.
    pub fn new(now_ms: i64) -> Self {
        Self(Cell::new(now_ms))
    }

    /// Sets the time.
    pub fn set(&self, now_ms: i64) {
        self.0.set(now_ms);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_shows_what_it_was_set_to() {
        let clock = ManualClock::new(5);
        assert_eq!(clock.now_ms(), 5);
        clock.set(7);
        assert_eq!(clock.now_ms(), 7);
        assert_eq!(FixedClock(9).now_ms(), 9);
    }
}
