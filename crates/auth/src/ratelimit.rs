//! Rate-limit window math for counters kept in Workers KV (product.md §11.13).
//!
//! Pure functions only: the adapter reads the counters, asks [`Rule::decide`] (fixed window) or
//! [`Rule::decide_sliding`] (two-window estimate), and writes back. KV is eventually consistent
//! (~60 s) and takes about one write per second per key, so the adapter keeps per-isolate shards
//! ([`shard_key`]) and sums them on read; the numbers here are therefore soft limits. The
//! authoritative brute-force guard for logins is the database lockout (`crate::lockout`).

/// A limit of `limit` requests per `window_secs` seconds for one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Short scope name, part of the KV key (`[a-z0-9_]`).
    pub scope: &'static str,
    /// Requests allowed per window.
    pub limit: u32,
    /// Window length in seconds.
    pub window_secs: u32,
}

/// Every named rule of §11.13 and the per-key API defaults of §11.10.
pub mod rules {
    use super::Rule;

    const fn rule(scope: &'static str, limit: u32, window_secs: u32) -> Rule {
        Rule {
            scope,
            limit,
            window_secs,
        }
    }

    const MINUTE: u32 = 60;
    const HOUR: u32 = 3_600;
    const DAY: u32 = 86_400;

    /// REST API: 10 requests/s per API key.
    pub const API_PER_KEY: Rule = rule("api_key", 10, 1);
    /// REST API: 10 requests/s per client IP, averaged over 3-second windows: one page of the
    /// web app loads several resources at once, and a one-second window of 10 refused the
    /// burst of a real user's page load (the Playwright journeys showed it).
    pub const API_PER_IP: Rule = rule("api_ip", 30, 3);
    /// API key default: 60/min (owner-adjustable per key).
    pub const API_KEY_DEFAULT_PER_MINUTE: Rule = rule("key_min", 60, MINUTE);
    /// API key default: 1,000/h.
    pub const API_KEY_DEFAULT_PER_HOUR: Rule = rule("key_hour", 1_000, HOUR);
    /// API key default: 10,000/day.
    pub const API_KEY_DEFAULT_PER_DAY: Rule = rule("key_day", 10_000, DAY);
    /// Login: 5/min per IP.
    pub const LOGIN_PER_IP_MINUTE: Rule = rule("login_ip_m", 5, MINUTE);
    /// Login: 25/h per IP.
    pub const LOGIN_PER_IP_HOUR: Rule = rule("login_ip_h", 25, HOUR);
    /// Login: 5/min per account key.
    pub const LOGIN_PER_ACCOUNT_MINUTE: Rule = rule("login_acct_m", 5, MINUTE);
    /// Login: 25/h per account key.
    pub const LOGIN_PER_ACCOUNT_HOUR: Rule = rule("login_acct_h", 25, HOUR);
    /// Register: 3/h per IP.
    pub const REGISTER_PER_IP: Rule = rule("register_ip", 3, HOUR);
    /// Forgot password: 3/h per IP.
    pub const FORGOT_PER_IP: Rule = rule("forgot_ip", 3, HOUR);
    /// Forgot password: 3/h per account key.
    pub const FORGOT_PER_ACCOUNT: Rule = rule("forgot_acct", 3, HOUR);
    /// Reset password: 3/h per IP.
    pub const RESET_PER_IP: Rule = rule("reset_ip", 3, HOUR);
    /// Reset password: 3/h per account.
    pub const RESET_PER_ACCOUNT: Rule = rule("reset_acct", 3, HOUR);
    /// Resend verification: 3/h per IP.
    pub const RESEND_PER_IP: Rule = rule("resend_ip", 3, HOUR);
    /// Resend verification: 3/h per account.
    pub const RESEND_PER_ACCOUNT: Rule = rule("resend_acct", 3, HOUR);
    /// TOTP: 5 codes per pending login (subject = pending session hash; the window outlives the
    /// 10-minute pending session, so it is effectively "per pending login").
    pub const TOTP_PER_PENDING_LOGIN: Rule = rule("totp_pending", 5, 15 * MINUTE);
    /// Test notification: 5/h per user.
    pub const TEST_NOTIFICATION: Rule = rule("notify_test", 5, HOUR);
    /// Manual scan: 1/min.
    pub const SCAN: Rule = rule("scan", 1, MINUTE);
    /// Full cycle: 1/min.
    pub const FULL_CYCLE: Rule = rule("full_cycle", 1, MINUTE);
    /// Manual fetch: 5/min.
    pub const FETCH: Rule = rule("fetch", 5, MINUTE);
    /// Scheduler trigger: 2/min.
    pub const SCHEDULER: Rule = rule("scheduler", 2, MINUTE);
    /// Checkout: 10/h per user.
    pub const CHECKOUT: Rule = rule("checkout", 10, HOUR);
    /// CSP reports: 10/min per IP.
    pub const CSP_REPORT: Rule = rule("csp_ip", 10, MINUTE);

    /// All named rules, for listing in docs and checking scope uniqueness.
    pub const ALL: &[Rule] = &[
        API_PER_KEY,
        API_PER_IP,
        API_KEY_DEFAULT_PER_MINUTE,
        API_KEY_DEFAULT_PER_HOUR,
        API_KEY_DEFAULT_PER_DAY,
        LOGIN_PER_IP_MINUTE,
        LOGIN_PER_IP_HOUR,
        LOGIN_PER_ACCOUNT_MINUTE,
        LOGIN_PER_ACCOUNT_HOUR,
        REGISTER_PER_IP,
        FORGOT_PER_IP,
        FORGOT_PER_ACCOUNT,
        RESET_PER_IP,
        RESET_PER_ACCOUNT,
        RESEND_PER_IP,
        RESEND_PER_ACCOUNT,
        TOTP_PER_PENDING_LOGIN,
        TEST_NOTIFICATION,
        SCAN,
        FULL_CYCLE,
        FETCH,
        SCHEDULER,
        CHECKOUT,
        CSP_REPORT,
    ];
}

/// Longest subject accepted in a key (KV keys may be 512 bytes).
pub const MAX_SUBJECT_LEN: usize = 200;

/// Number of per-isolate shards a counter is split into.
pub const SHARDS: u8 = 8;

/// Outcome of a rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Under the limit; count this request.
    Allowed {
        /// Requests left in the window after this one.
        remaining: u32,
    },
    /// Over the limit: answer 429 with `Retry-After`.
    Limited {
        /// Whole seconds until a request would be allowed (at least 1).
        retry_after_secs: u32,
    },
}

/// Rate-limit key errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitError {
    /// The subject is empty, too long, or has whitespace, control or non-ASCII characters.
    #[error("invalid rate-limit subject")]
    InvalidSubject,
    /// The scope is empty or not `[a-z0-9_]`.
    #[error("invalid rate-limit scope")]
    InvalidScope,
}

fn ms_to_secs_ceil(ms: u64) -> u32 {
    u32::try_from(ms.div_ceil(1_000)).unwrap_or(u32::MAX).max(1)
}

impl Rule {
    fn window_ms(&self) -> u64 {
        u64::from(self.window_secs.max(1)) * 1_000
    }

    /// Start (UTC seconds) of the fixed window containing `now_ms`.
    pub fn window_start(&self, now_ms: i64) -> i64 {
        let window = i64::from(self.window_secs.max(1));
        now_ms.div_euclid(1_000).div_euclid(window) * window
    }

    /// Milliseconds elapsed in the current window.
    fn elapsed_ms(&self, now_ms: i64) -> u64 {
        let window = i64::try_from(self.window_ms()).unwrap_or(i64::MAX);
        u64::try_from(now_ms.rem_euclid(window)).unwrap_or(0)
    }

    /// Fixed window: `count` requests already counted in the current window.
    pub fn decide(&self, count: u32, now_ms: i64) -> Decision {
        if count < self.limit {
            return Decision::Allowed {
                remaining: self.limit - count - 1,
            };
        }
        let to_end = self.window_ms() - self.elapsed_ms(now_ms);
        Decision::Limited {
            retry_after_secs: ms_to_secs_ceil(to_end),
        }
    }

    /// Sliding-window estimate: the previous window's count weighted by how much of it still
    /// overlaps the last `window_secs`, plus the current window's count. Smooths the burst that a
    /// fixed window allows at its boundary.
    pub fn decide_sliding(&self, previous: u32, current: u32, now_ms: i64) -> Decision {
        let w = u128::from(self.window_ms());
        let e = u128::from(self.elapsed_ms(now_ms));
        let (prev, cur, limit) = (
            u128::from(previous),
            u128::from(current),
            u128::from(self.limit),
        );
        if self.limit == 0 {
            return Decision::Limited {
                retry_after_secs: self.window_secs.max(1),
            };
        }
        // Compare in units of ms·requests to stay in integers.
        let weighted = prev * (w - e) + cur * w;
        if weighted < limit * w {
            // Requests left = floor((limit·w − weighted − 1) / w), i.e. how many more fit strictly.
            let room = (limit * w - weighted - 1) / w;
            return Decision::Allowed {
                remaining: u32::try_from(room).unwrap_or(u32::MAX),
            };
        }
        let wait_ms = if cur < limit {
            // The previous window's weight decays enough before this window ends.
            (weighted - limit * w) / prev + 1
        } else {
            // Not before the next window, once the current count has become the previous one.
            let overlap_ok = (limit * w - 1) / cur;
            (w - e) + (w - overlap_ok.min(w))
        };
        Decision::Limited {
            retry_after_secs: ms_to_secs_ceil(u64::try_from(wait_ms).unwrap_or(u64::MAX)),
        }
    }
}

fn valid_subject(subject: &str) -> bool {
    !subject.is_empty()
        && subject.len() <= MAX_SUBJECT_LEN
        && subject.bytes().all(|b| b.is_ascii_graphic())
}

/// The KV key of one window: `rl:<scope>:<window start>:<subject>`. The subject goes last because
/// it may contain `:` (IPv6).
///
/// # Errors
/// [`RateLimitError::InvalidScope`] or [`RateLimitError::InvalidSubject`].
pub fn window_key(scope: &str, subject: &str, window_start: i64) -> Result<String, RateLimitError> {
    if scope.is_empty()
        || !scope
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(RateLimitError::InvalidScope);
    }
    if !valid_subject(subject) {
        return Err(RateLimitError::InvalidSubject);
    }
    Ok(format!("rl:{scope}:{window_start}:{subject}"))
}

/// The key of one shard of a window counter: `<window key>#<shard>`, shard taken modulo
/// [`SHARDS`]. Each isolate writes only its own shard; readers sum all of them.
pub fn shard_key(window_key: &str, shard: u8) -> String {
    format!("{window_key}#{}", shard % SHARDS)
}

/// All shard keys of a window, for the summing read.
pub fn shard_keys(window_key: &str) -> Vec<String> {
    (0..SHARDS)
        .map(|shard| shard_key(window_key, shard))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::rules::*;
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    #[test]
    fn the_named_rules_match_the_spec() {
        assert_eq!((API_PER_KEY.limit, API_PER_KEY.window_secs), (10, 1));
        assert_eq!(
            (LOGIN_PER_IP_MINUTE.limit, LOGIN_PER_IP_HOUR.limit),
            (5, 25)
        );
        assert_eq!(
            (REGISTER_PER_IP.limit, REGISTER_PER_IP.window_secs),
            (3, 3_600)
        );
        assert_eq!(
            (TOTP_PER_PENDING_LOGIN.limit, TEST_NOTIFICATION.limit),
            (5, 5)
        );
        assert_eq!((SCAN.limit, FETCH.limit, SCHEDULER.limit), (1, 5, 2));
        assert_eq!((CHECKOUT.limit, CHECKOUT.window_secs), (10, 3_600));
        assert_eq!((CSP_REPORT.limit, CSP_REPORT.window_secs), (10, 60));
        assert_eq!(API_KEY_DEFAULT_PER_DAY.limit, 10_000);
    }

    #[test]
    fn every_rule_has_a_unique_valid_scope() {
        let mut scopes: Vec<&str> = rules::ALL.iter().map(|r| r.scope).collect();
        for scope in &scopes {
            assert!(window_key(scope, "s", 0).is_ok(), "{scope}");
        }
        scopes.sort_unstable();
        scopes.dedup();
        assert_eq!(scopes.len(), rules::ALL.len());
    }

    #[test]
    fn windows_start_on_multiples_of_their_length() {
        let minute = LOGIN_PER_IP_MINUTE;
        assert_eq!(minute.window_start(60_000), 60);
        assert_eq!(minute.window_start(119_999), 60);
        assert_eq!(minute.window_start(-1), -60);
    }

    #[test]
    fn a_fixed_window_allows_up_to_the_limit_then_says_when_to_retry() {
        let rule = LOGIN_PER_IP_MINUTE;
        let now = 60_000 + 15_500; // 15.5 s into a minute window
        assert_eq!(rule.decide(0, now), Decision::Allowed { remaining: 4 });
        assert_eq!(rule.decide(4, now), Decision::Allowed { remaining: 0 });
        assert_eq!(
            rule.decide(5, now),
            Decision::Limited {
                retry_after_secs: 45
            }
        );
        assert_eq!(
            rule.decide(5, 119_999),
            Decision::Limited {
                retry_after_secs: 1
            }
        );
    }

    #[test]
    fn the_sliding_estimate_counts_the_overlapping_part_of_the_previous_window() {
        let rule = Rule {
            scope: "t",
            limit: 10,
            window_secs: 60,
        };
        // 15 s into the window, 75 % of the previous window still overlaps: 8 × 0.75 + 3 = 9.
        let now = 60_000 + 15_000;
        assert_eq!(
            rule.decide_sliding(8, 3, now),
            Decision::Allowed { remaining: 0 }
        );
        // 8 × 0.75 + 4 = 10: full. The weight must drop below 6/8 = 0.75 → just after now.
        assert_eq!(
            rule.decide_sliding(8, 4, now),
            Decision::Limited {
                retry_after_secs: 1
            }
        );
        // 10 × 0.75 + 5 = 12.5: needs 10·(1−x) + 5 < 10 → x > 0.5 → 15 s more.
        assert_eq!(
            rule.decide_sliding(10, 5, now),
            Decision::Limited {
                retry_after_secs: 16
            }
        );
    }

    #[test]
    fn a_full_current_window_waits_into_the_next_one() {
        let rule = Rule {
            scope: "t",
            limit: 10,
            window_secs: 60,
        };
        let now = 60_000 + 50_000;
        // 10 in the current window: 10 s to its end, then 10·(1−x) < 10 needs just over 0 s.
        assert_eq!(
            rule.decide_sliding(0, 10, now),
            Decision::Limited {
                retry_after_secs: 11
            }
        );
        // 20 in the current window: after it ends, 20·(1−x) < 10 needs x > 0.5 → 30 s more.
        assert_eq!(
            rule.decide_sliding(0, 20, now),
            Decision::Limited {
                retry_after_secs: 41
            }
        );
    }

    #[test]
    fn a_zero_limit_always_limits() {
        let rule = Rule {
            scope: "t",
            limit: 0,
            window_secs: 60,
        };
        assert!(matches!(rule.decide(0, T0), Decision::Limited { .. }));
        assert_eq!(
            rule.decide_sliding(0, 0, T0),
            Decision::Limited {
                retry_after_secs: 60
            }
        );
    }

    #[test]
    fn window_keys_put_the_subject_last_and_reject_odd_subjects() {
        assert_eq!(
            window_key("api_ip", "2001:db8:1:2::/64", 1_700_000_000).unwrap(),
            "rl:api_ip:1700000000:2001:db8:1:2::/64"
        );
        assert_eq!(
            window_key("api_ip", "", 0),
            Err(RateLimitError::InvalidSubject)
        );
        assert_eq!(
            window_key("api_ip", "a b", 0),
            Err(RateLimitError::InvalidSubject)
        );
        assert_eq!(
            window_key("api_ip", "ä", 0),
            Err(RateLimitError::InvalidSubject)
        );
        assert_eq!(
            window_key("api_ip", &"x".repeat(201), 0),
            Err(RateLimitError::InvalidSubject)
        );
        assert_eq!(window_key("Api", "x", 0), Err(RateLimitError::InvalidScope));
    }

    #[test]
    fn shard_keys_cover_every_shard_once() {
        let keys = shard_keys("rl:scan:60:u1");
        assert_eq!(keys.len(), usize::from(SHARDS));
        assert_eq!(keys[0], "rl:scan:60:u1#0");
        assert_eq!(shard_key("k", SHARDS + 1), "k#1");
    }
}
