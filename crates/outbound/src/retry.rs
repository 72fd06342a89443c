//! The retry policy: a pure decision per attempt, taken on the response (or transport error) and
//! the number of tries made so far.
//!
//! | Outcome | Decision |
//! |---|---|
//! | 2xx | accept |
//! | transport error (timeout, connect, reset) | retry after the backoff |
//! | 5xx, 429 | retry after `max(backoff, Retry-After)`; give up when `Retry-After` exceeds [`RetryPolicy::max_retry_after_ms`] |
//! | 418 (Binance: IP auto-banned after ignoring 429s) | give up at once, never retry in this run |
//! | any other status (4xx, 1xx, 3xx) | give up at once: repeating a bad request cannot help |
//!
//! The backoff after try `n` (1-based) is `base_backoff_ms · 2^(n-1)`, capped at
//! `max_backoff_ms`. There is no jitter: a run holds a KV lease, so one caller per upstream
//! retries at a time. `Retry-After` is read as delta-seconds or as an HTTP-date (IMF-fixdate,
//! RFC 850 and asctime forms, RFC 9110 §10.2.3); an unreadable value is ignored.

use crate::ports::{OutboundResponse, TransportError};

/// Milliseconds per second.
pub const MS_PER_SEC: u64 = 1_000;

/// Binance's status for an IP that kept sending after 429s: banned for 2 minutes to 3 days.
pub const STATUS_IP_BANNED: u16 = 418;
/// Too Many Requests.
pub const STATUS_TOO_MANY_REQUESTS: u16 = 429;

/// How often and how long to retry one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_tries: u32,
    /// Wait after the first failed try; doubles after each further one.
    pub base_backoff_ms: u64,
    /// Upper bound of the exponential backoff.
    pub max_backoff_ms: u64,
    /// The longest `Retry-After` honoured; a longer one gives up for this run, so a run never
    /// sleeps past its budget.
    pub max_retry_after_ms: u64,
}

impl RetryPolicy {
    /// Market data: 4 tries, 1 s → 2 s → 4 s, `Retry-After` honoured up to 10 s.
    pub const EXCHANGE: Self = Self {
        max_tries: 4,
        base_backoff_ms: MS_PER_SEC,
        max_backoff_ms: 4 * MS_PER_SEC,
        max_retry_after_ms: 10 * MS_PER_SEC,
    };

    /// Notifications (product.md §5): 3 tries, backoff 1 s then 2 s, `Retry-After` up to 5 s.
    pub const NTFY: Self = Self {
        max_tries: 3,
        base_backoff_ms: MS_PER_SEC,
        max_backoff_ms: 2 * MS_PER_SEC,
        max_retry_after_ms: 5 * MS_PER_SEC,
    };

    /// The backoff after `failed_tries` failed tries (1-based).
    pub fn backoff_ms(&self, failed_tries: u32) -> u64 {
        let doublings = failed_tries.saturating_sub(1).min(u64::BITS - 1);
        self.base_backoff_ms
            .saturating_mul(1_u64 << doublings)
            .min(self.max_backoff_ms)
    }

    /// Decides what to do after try number `tries` (1-based) ended in `outcome`.
    pub fn decide(
        &self,
        tries: u32,
        outcome: Result<&OutboundResponse, &TransportError>,
        now_ms: i64,
    ) -> Decision {
        let backoff = self.backoff_ms(tries);
        let exhausted = tries >= self.max_tries.max(1);
        let response = match outcome {
            Err(_) if exhausted => return Decision::GiveUp(GiveUp::Exhausted),
            Err(_) => return Decision::Retry { wait_ms: backoff },
            Ok(r) => r,
        };
        let retry_after = response
            .header("retry-after")
            .and_then(|v| parse_retry_after(v, now_ms));
        match response.status {
            200..=299 => Decision::Accept,
            STATUS_IP_BANNED => Decision::GiveUp(GiveUp::Banned {
                retry_after_ms: retry_after,
            }),
            STATUS_TOO_MANY_REQUESTS | 500..=599 => match retry_after {
                Some(ms) if ms > self.max_retry_after_ms => {
                    Decision::GiveUp(GiveUp::RetryAfterTooLong { retry_after_ms: ms })
                }
                _ if exhausted => Decision::GiveUp(GiveUp::Exhausted),
                ra => Decision::Retry {
                    wait_ms: backoff.max(ra.unwrap_or(0)),
                },
            },
            _ => Decision::GiveUp(GiveUp::NotRetryable),
        }
    }
}

/// What to do after one try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A 2xx: hand the response to the caller.
    Accept,
    /// Wait `wait_ms`, then try again.
    Retry {
        /// How long to wait.
        wait_ms: u64,
    },
    /// Stop for this run.
    GiveUp(GiveUp),
}

/// Why the policy stopped retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// The status is not worth repeating (4xx other than 429/418, 1xx, 3xx).
    NotRetryable,
    /// `max_tries` were made.
    Exhausted,
    /// The upstream asked for a longer pause than [`RetryPolicy::max_retry_after_ms`].
    RetryAfterTooLong {
        /// What it asked for.
        retry_after_ms: u64,
    },
    /// 418: the IP is banned; retrying would lengthen the ban.
    Banned {
        /// The ban's remaining length, when the upstream said.
        retry_after_ms: Option<u64>,
    },
}

/// Parses a `Retry-After` value into milliseconds from `now_ms` (0 for a date in the past).
/// `None` when it is neither delta-seconds nor an HTTP-date.
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<u64> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(
            value
                .parse::<u64>()
                .unwrap_or(u64::MAX)
                .saturating_mul(MS_PER_SEC),
        );
    }
    let at = parse_http_date(value)?;
    Some(u64::try_from(at.saturating_sub(now_ms)).unwrap_or(0))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const EPOCH_YEAR: i64 = 1970;
const MAX_YEAR: i64 = 9999;
/// RFC 850 two-digit years below this are 20xx, the rest 19xx.
const RFC850_PIVOT: i64 = 70;
const SECS_PER_MIN: i64 = 60;
const SECS_PER_HOUR: i64 = 3_600;
const SECS_PER_DAY: i64 = 86_400;

/// Parses an HTTP-date (IMF-fixdate, RFC 850 or asctime) into UTC milliseconds.
pub fn parse_http_date(value: &str) -> Option<i64> {
    let t: Vec<&str> = value.split_ascii_whitespace().collect();
    let (day, month, year, time) = match t.as_slice() {
        // Sun, 06 Nov 1994 08:49:37 GMT
        [dow, day, month, year, time, "GMT"] if dow.ends_with(',') => {
            (*day, *month, year.parse::<i64>().ok()?, *time)
        }
        // Sunday, 06-Nov-94 08:49:37 GMT
        [dow, date, time, "GMT"] if dow.ends_with(',') => {
            let mut parts = date.split('-');
            let (day, month, yy) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || yy.len() != 2 {
                return None;
            }
            let yy = yy.parse::<i64>().ok()?;
            let century = if yy < RFC850_PIVOT { 2000 } else { 1900 };
            (day, month, century + yy, *time)
        }
        // Sun Nov  6 08:49:37 1994
        [_dow, month, day, time, year] => (*day, *month, year.parse::<i64>().ok()?, *time),
        _ => return None,
    };
    let month = MONTHS.iter().position(|m| *m == month)?;
    let day = day.parse::<i64>().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || h >= 24 || m >= 60 || s > 60 {
        return None;
    }
    if !(EPOCH_YEAR..=MAX_YEAR).contains(&year) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = (EPOCH_YEAR..year).map(days_in_year).sum::<i64>()
        + (0..month).map(|mo| days_in_month(year, mo)).sum::<i64>()
        + (day - 1);
    let secs = days * SECS_PER_DAY + h * SECS_PER_HOUR + m * SECS_PER_MIN + s;
    secs.checked_mul(1_000)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_year(year: i64) -> i64 {
    if is_leap(year) {
        366
    } else {
        365
    }
}

/// Days in month `month` (0-based).
fn days_in_month(year: i64, month: usize) -> i64 {
    match month {
        1 if is_leap(year) => 29,
        1 => 28,
        3 | 5 | 8 | 10 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, retry_after: Option<&str>) -> OutboundResponse {
        OutboundResponse {
            status,
            headers: retry_after
                .map(|v| vec![("Retry-After".to_owned(), v.to_owned())])
                .unwrap_or_default(),
            body: Vec::new(),
        }
    }

    const P: RetryPolicy = RetryPolicy {
        max_tries: 3,
        base_backoff_ms: 1_000,
        max_backoff_ms: 3_000,
        max_retry_after_ms: 10_000,
    };

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(P.backoff_ms(1), 1_000);
        assert_eq!(P.backoff_ms(2), 2_000);
        assert_eq!(P.backoff_ms(3), 3_000);
        assert_eq!(P.backoff_ms(200), 3_000);
        assert_eq!(RetryPolicy::NTFY.backoff_ms(1), 1_000);
        assert_eq!(RetryPolicy::NTFY.backoff_ms(2), 2_000);
    }

    #[test]
    fn a_success_is_accepted() {
        assert_eq!(P.decide(1, Ok(&response(200, None)), 0), Decision::Accept);
    }

    #[test]
    fn transport_errors_are_retried_until_the_tries_run_out() {
        let err = TransportError::Timeout;
        assert_eq!(
            P.decide(1, Err(&err), 0),
            Decision::Retry { wait_ms: 1_000 }
        );
        assert_eq!(
            P.decide(2, Err(&err), 0),
            Decision::Retry { wait_ms: 2_000 }
        );
        assert_eq!(
            P.decide(3, Err(&err), 0),
            Decision::GiveUp(GiveUp::Exhausted)
        );
    }

    #[test]
    fn server_errors_are_retried() {
        for status in [500, 502, 503, 504] {
            assert_eq!(
                P.decide(1, Ok(&response(status, None)), 0),
                Decision::Retry { wait_ms: 1_000 }
            );
        }
        assert_eq!(
            P.decide(3, Ok(&response(500, None)), 0),
            Decision::GiveUp(GiveUp::Exhausted)
        );
    }

    #[test]
    fn a_429_waits_at_least_its_retry_after() {
        assert_eq!(
            P.decide(1, Ok(&response(429, Some("7"))), 0),
            Decision::Retry { wait_ms: 7_000 }
        );
        // The backoff wins when it is longer.
        assert_eq!(
            P.decide(2, Ok(&response(429, Some("0"))), 0),
            Decision::Retry { wait_ms: 2_000 }
        );
    }

    #[test]
    fn a_retry_after_beyond_the_budget_gives_up_for_this_run() {
        assert_eq!(
            P.decide(1, Ok(&response(429, Some("11"))), 0),
            Decision::GiveUp(GiveUp::RetryAfterTooLong {
                retry_after_ms: 11_000
            })
        );
    }

    #[test]
    fn a_503_retry_after_date_is_honoured() {
        let now = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            P.decide(
                1,
                Ok(&response(503, Some("Sun, 06 Nov 1994 08:49:42 GMT"))),
                now
            ),
            Decision::Retry { wait_ms: 5_000 }
        );
    }

    #[test]
    fn a_418_ip_ban_is_never_retried() {
        assert_eq!(
            P.decide(1, Ok(&response(418, Some("120"))), 0),
            Decision::GiveUp(GiveUp::Banned {
                retry_after_ms: Some(120_000)
            })
        );
        assert_eq!(
            P.decide(1, Ok(&response(418, None)), 0),
            Decision::GiveUp(GiveUp::Banned {
                retry_after_ms: None
            })
        );
    }

    #[test]
    fn other_client_errors_and_odd_statuses_are_never_retried() {
        for status in [400, 401, 403, 404, 410, 451, 302, 101] {
            assert_eq!(
                P.decide(1, Ok(&response(status, Some("1"))), 0),
                Decision::GiveUp(GiveUp::NotRetryable),
                "{status}"
            );
        }
    }

    #[test]
    fn retry_after_parses_seconds_and_all_three_date_forms() {
        let now = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(now, 784_111_777_000);
        assert_eq!(parse_retry_after(" 120 ", now), Some(120_000));
        assert_eq!(
            parse_retry_after("Sunday, 06-Nov-94 08:49:40 GMT", now),
            Some(3_000)
        );
        assert_eq!(
            parse_retry_after("Sun Nov  6 08:49:47 1994", now),
            Some(10_000)
        );
        // A date in the past means "now".
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(0)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(u64::MAX)
        );
    }

    #[test]
    fn unreadable_retry_after_values_are_ignored() {
        for v in [
            "",
            "-1",
            "1.5",
            "soon",
            "Sun, 31 Feb 2024 00:00:00 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 06 Nov 1969 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(v, 0), None, "{v:?}");
        }
    }

    #[test]
    fn leap_days_are_counted() {
        assert_eq!(
            parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT"),
            Some(1_709_164_800_000)
        );
        assert_eq!(parse_http_date("Thu, 29 Feb 2023 00:00:00 GMT"), None);
    }
}
