//! The login lockout state machine (product.md §11.4), Keycloak-style.
//!
//! The database holds one [`LockoutState`] per account key ([`account_key`]: HMAC of the
//! canonical email, unknown emails included) and applies these transitions atomically. Flow:
//! [`LockoutState::reserve`] *before* checking the password or TOTP code (it counts the attempt as
//! a failure up front, so parallel guesses get at most five tries), then
//! [`LockoutState::record_success`] once the whole login, 2FA included, has succeeded.
//!
//! Rules: five failures lock for 15 minutes, each further lock doubles (30, 60 … capped at 24 h);
//! failure count and doubling reset 12 h after the last failure or on success; failures while
//! locked are not counted; two failures less than 1 s apart lock for 60 s. All times are UTC ms.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::email::Email;
use crate::encoding::hex_encode;
use crate::secret::SecretString;

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60 * SECOND_MS;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// Failures that trigger a lock.
pub const LOCKOUT_MAX_FAILURES: u32 = 5;
/// Duration of the first lock.
pub const LOCKOUT_BASE_LOCK_MS: i64 = 15 * MINUTE_MS;
/// Longest lock.
pub const LOCKOUT_MAX_LOCK_MS: i64 = 24 * HOUR_MS;
/// Quiet time after the last failure that resets the count and the doubling.
pub const LOCKOUT_RESET_AFTER_MS: i64 = 12 * HOUR_MS;
/// Two failures closer than this are scripted, not typed.
pub const LOCKOUT_RAPID_FAILURE_MS: i64 = SECOND_MS;
/// Lock applied after a rapid failure.
pub const LOCKOUT_RAPID_LOCK_MS: i64 = MINUTE_MS;

/// The parameters as one value, for binding into the atomic SQL update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LockoutParams {
    /// [`LOCKOUT_MAX_FAILURES`].
    pub max_failures: u32,
    /// [`LOCKOUT_BASE_LOCK_MS`].
    pub base_lock_ms: i64,
    /// [`LOCKOUT_MAX_LOCK_MS`].
    pub max_lock_ms: i64,
    /// [`LOCKOUT_RESET_AFTER_MS`].
    pub reset_after_ms: i64,
    /// [`LOCKOUT_RAPID_FAILURE_MS`].
    pub rapid_failure_ms: i64,
    /// [`LOCKOUT_RAPID_LOCK_MS`].
    pub rapid_lock_ms: i64,
}

/// The product's lockout parameters.
pub const LOCKOUT_PARAMS: LockoutParams = LockoutParams {
    max_failures: LOCKOUT_MAX_FAILURES,
    base_lock_ms: LOCKOUT_BASE_LOCK_MS,
    max_lock_ms: LOCKOUT_MAX_LOCK_MS,
    reset_after_ms: LOCKOUT_RESET_AFTER_MS,
    rapid_failure_ms: LOCKOUT_RAPID_FAILURE_MS,
    rapid_lock_ms: LOCKOUT_RAPID_LOCK_MS,
};

/// Duration of the `lock_count`-th lock (1-based): 15 min × 2^(n−1), capped at 24 h.
pub fn lock_duration_ms(lock_count: u32) -> i64 {
    let doublings = lock_count.saturating_sub(1).min(16);
    LOCKOUT_BASE_LOCK_MS
        .saturating_mul(1i64 << doublings)
        .min(LOCKOUT_MAX_LOCK_MS)
}

/// Lockout failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockoutError {
    /// The pepper could not key HMAC (never for HMAC-SHA256).
    #[error("invalid pepper")]
    InvalidPepper,
}

/// Per-account lockout state, one database row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockoutState {
    /// Failures counted since the last lock, success or reset.
    pub failures: u32,
    /// When the last counted failure happened.
    pub last_failure_at: Option<i64>,
    /// End of the current lock, if any.
    pub locked_until: Option<i64>,
    /// Locks since the last success or reset; drives the doubling.
    pub lock_count: u32,
}

/// Answer to [`LockoutState::check`] and [`LockoutState::reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Go ahead and verify the credentials.
    Allowed,
    /// Locked: answer exactly like a wrong password (after a dummy hash).
    Locked {
        /// Seconds until the lock ends, rounded up.
        retry_after_secs: u64,
    },
}

/// What [`LockoutState::record_failure`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Counted; no lock yet.
    Counted {
        /// Failures so far.
        failures: u32,
    },
    /// This failure started a lock.
    Locked {
        /// End of the lock.
        until_ms: i64,
    },
    /// The account was already locked; nothing changed.
    IgnoredWhileLocked,
}

impl LockoutState {
    /// Whether the account is locked at `now_ms`, without changing anything.
    pub fn check(&self, now_ms: i64) -> Reservation {
        match self.locked_until {
            Some(until) if until > now_ms => {
                let wait_ms = until.saturating_sub(now_ms).saturating_add(SECOND_MS - 1);
                Reservation::Locked {
                    retry_after_secs: u64::try_from(wait_ms / SECOND_MS).unwrap_or(1).max(1),
                }
            }
            _ => Reservation::Allowed,
        }
    }

    /// Reserves one attempt: if not locked, counts it as a failure in advance and allows it.
    /// Call [`LockoutState::record_success`] if the credentials turn out right; do not also call
    /// [`LockoutState::record_failure`] for the same attempt.
    pub fn reserve(&mut self, now_ms: i64) -> Reservation {
        let answer = self.check(now_ms);
        if answer == Reservation::Allowed {
            self.record_failure(now_ms);
        }
        answer
    }

    /// Records one failed attempt at `now_ms`.
    pub fn record_failure(&mut self, now_ms: i64) -> FailureOutcome {
        if matches!(self.check(now_ms), Reservation::Locked { .. }) {
            return FailureOutcome::IgnoredWhileLocked;
        }
        let since_last = self.last_failure_at.map(|last| now_ms.saturating_sub(last));
        if since_last.is_some_and(|gap| gap >= LOCKOUT_RESET_AFTER_MS) {
            self.failures = 0;
            self.lock_count = 0;
        }
        self.failures = self.failures.saturating_add(1);
        self.last_failure_at = Some(now_ms);

        if self.failures >= LOCKOUT_MAX_FAILURES {
            self.lock_count = self.lock_count.saturating_add(1);
            self.failures = 0;
            let until = now_ms.saturating_add(lock_duration_ms(self.lock_count));
            self.locked_until = Some(until);
            return FailureOutcome::Locked { until_ms: until };
        }
        // A short throttle, not an escalation: it does not add to the doubling.
        if since_last.is_some_and(|gap| gap < LOCKOUT_RAPID_FAILURE_MS) {
            let until = now_ms.saturating_add(LOCKOUT_RAPID_LOCK_MS);
            self.locked_until = Some(until);
            return FailureOutcome::Locked { until_ms: until };
        }
        FailureOutcome::Counted {
            failures: self.failures,
        }
    }

    /// Records a completed login: everything resets.
    pub fn record_success(&mut self) {
        *self = Self::default();
    }

    /// An admin unlock: same as a success.
    pub fn unlock(&mut self) {
        self.record_success();
    }
}

/// The lockout row key: hex HMAC-SHA256(pepper, canonical email). Computed for unknown emails too,
/// so the table does not reveal which accounts exist.
///
/// # Errors
/// [`LockoutError::InvalidPepper`] (never for HMAC-SHA256).
pub fn account_key(pepper: &SecretString, email: &Email) -> Result<String, LockoutError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(pepper.expose_secret().as_bytes())
        .map_err(|_| LockoutError::InvalidPepper)?;
    mac.update(email.as_str().as_bytes());
    Ok(hex_encode(&mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    /// Records `n` failures spaced 2 s apart starting at `start`; returns the time of the last.
    fn fail_n(state: &mut LockoutState, start: i64, n: u32) -> i64 {
        let mut t = start;
        for i in 0..n {
            t = start + i64::from(i) * 2 * SECOND_MS;
            state.record_failure(t);
        }
        t
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        let state = LockoutState {
            locked_until: Some(i64::MAX),
            ..LockoutState::default()
        };
        assert!(matches!(state.check(i64::MIN), Reservation::Locked { .. }));
        let mut state = LockoutState {
            last_failure_at: Some(i64::MIN),
            ..LockoutState::default()
        };
        assert_eq!(
            state.record_failure(i64::MAX),
            FailureOutcome::Counted { failures: 1 }
        );
    }

    #[test]
    fn four_failures_do_not_lock() {
        let mut state = LockoutState::default();
        let last = fail_n(&mut state, T0, 4);
        assert_eq!(state.failures, 4);
        assert_eq!(state.check(last + 1), Reservation::Allowed);
    }

    #[test]
    fn the_fifth_failure_locks_for_fifteen_minutes() {
        let mut state = LockoutState::default();
        let last = fail_n(&mut state, T0, 5);
        assert_eq!(state.locked_until, Some(last + 15 * MINUTE_MS));
        assert_eq!(
            state.check(last),
            Reservation::Locked {
                retry_after_secs: 900
            }
        );
        assert_eq!(state.check(last + 15 * MINUTE_MS), Reservation::Allowed);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let state = LockoutState {
            locked_until: Some(T0 + 1_001),
            ..LockoutState::default()
        };
        assert_eq!(
            state.check(T0),
            Reservation::Locked {
                retry_after_secs: 2
            }
        );
        assert_eq!(
            state.check(T0 + 1_000),
            Reservation::Locked {
                retry_after_secs: 1
            }
        );
    }

    #[test]
    fn each_further_lock_doubles_up_to_a_24_hour_cap() {
        assert_eq!(
            (1..=9)
                .map(lock_duration_ms)
                .map(|ms| ms / MINUTE_MS)
                .collect::<Vec<_>>(),
            vec![15, 30, 60, 120, 240, 480, 960, 1440, 1440]
        );
        assert_eq!(lock_duration_ms(u32::MAX), LOCKOUT_MAX_LOCK_MS);

        let mut state = LockoutState::default();
        let first = fail_n(&mut state, T0, 5);
        let after_first = first + 15 * MINUTE_MS;
        let second = fail_n(&mut state, after_first, 5);
        assert_eq!(state.lock_count, 2);
        assert_eq!(state.locked_until, Some(second + 30 * MINUTE_MS));
    }

    #[test]
    fn failures_while_locked_are_not_counted() {
        let mut state = LockoutState::default();
        let last = fail_n(&mut state, T0, 5);
        let before = state;
        assert_eq!(
            state.record_failure(last + MINUTE_MS),
            FailureOutcome::IgnoredWhileLocked
        );
        assert_eq!(state, before);
    }

    #[test]
    fn twelve_quiet_hours_reset_the_count_and_the_doubling() {
        let mut state = LockoutState::default();
        let last = fail_n(&mut state, T0, 5);
        fail_n(&mut state, last + 15 * MINUTE_MS, 3);
        assert_eq!((state.failures, state.lock_count), (3, 1));
        let later = state.last_failure_at.unwrap() + 12 * HOUR_MS;
        assert_eq!(
            state.record_failure(later),
            FailureOutcome::Counted { failures: 1 }
        );
        assert_eq!(state.lock_count, 0);
        let next_lock = fail_n(&mut state, later + 2 * SECOND_MS, 4);
        assert_eq!(state.locked_until, Some(next_lock + 15 * MINUTE_MS));
    }

    #[test]
    fn a_success_resets_everything() {
        let mut state = LockoutState::default();
        fail_n(&mut state, T0, 5);
        state.record_success();
        assert_eq!(state, LockoutState::default());
    }

    #[test]
    fn failures_less_than_a_second_apart_lock_for_sixty_seconds() {
        let mut state = LockoutState::default();
        state.record_failure(T0);
        assert_eq!(
            state.record_failure(T0 + 999),
            FailureOutcome::Locked {
                until_ms: T0 + 999 + MINUTE_MS
            }
        );
        assert_eq!(state.lock_count, 0, "a rapid lock does not escalate");
        assert_eq!(
            state.check(T0 + 1_000),
            Reservation::Locked {
                retry_after_secs: 60
            }
        );
        let mut relaxed = LockoutState::default();
        relaxed.record_failure(T0);
        assert_eq!(
            relaxed.record_failure(T0 + 1_000),
            FailureOutcome::Counted { failures: 2 }
        );
    }

    #[test]
    fn parallel_reservations_allow_at_most_five_attempts() {
        let mut state = LockoutState::default();
        // Twenty simultaneous guesses: the rapid-failure rule locks after the second.
        let allowed = (0..20)
            .filter(|i| state.reserve(T0 + i * 5) == Reservation::Allowed)
            .count();
        assert!(allowed <= 5, "{allowed} attempts allowed");
        let mut slow = LockoutState::default();
        let allowed = (0..20)
            .filter(|i| slow.reserve(T0 + i * 2 * SECOND_MS) == Reservation::Allowed)
            .count();
        assert_eq!(allowed, 5);
    }

    #[test]
    fn a_successful_reservation_followed_by_success_leaves_no_trace() {
        let mut state = LockoutState::default();
        assert_eq!(state.reserve(T0), Reservation::Allowed);
        assert_eq!(state.failures, 1);
        state.record_success();
        assert_eq!(state, LockoutState::default());
    }

    #[test]
    fn an_admin_unlock_lifts_the_lock() {
        let mut state = LockoutState::default();
        let last = fail_n(&mut state, T0, 5);
        state.unlock();
        assert_eq!(state.check(last), Reservation::Allowed);
    }

    #[test]
    fn the_account_key_is_a_peppered_hmac_of_the_canonical_email() {
        let pepper = SecretString::new("p".repeat(32));
        let a = account_key(&pepper, &Email::parse("Alice@Example.com").unwrap()).unwrap();
        let b = account_key(&pepper, &Email::parse(" alice@example.COM").unwrap()).unwrap();
        let other_pepper = account_key(
            &SecretString::new("q".repeat(32)),
            &Email::parse("alice@example.com").unwrap(),
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(a, other_pepper);
    }

    #[test]
    fn the_state_round_trips_through_json() {
        let mut state = LockoutState::default();
        fail_n(&mut state, T0, 5);
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<LockoutState>(&json).unwrap(), state);
        assert_eq!(LOCKOUT_PARAMS.base_lock_ms, 900_000);
    }
}
