//! Structured security events (product.md §11.19, §12): auth successes and failures,
//! lockouts, authorization failures and rate limiting, one JSON line each, category `auth`.
//!
//! An event holds only fixed labels, ids and the request id: never a password, token, code,
//! cookie, header value or email address. [`redact`] is the one helper for anything derived
//! from a request that must be logged anyway (header names with masked values, the query
//! with masked values).

use crate::http::Headers;
use serde::Serialize;

/// Where event lines go: the worker's console, a recorder in tests.
pub trait EventSink {
    /// Writes one JSON line.
    fn emit(&self, line: &str);
}

/// A sink that drops everything (for callers that do not log).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _: &str) {}
}

/// One security event.
#[derive(Debug, Clone, Serialize)]
pub struct AuthEvent<'a> {
    /// Server time, UTC ms.
    pub ts: i64,
    /// `info` for successes, `warn` for failures.
    pub level: &'static str,
    /// Always `auth`.
    pub category: &'static str,
    /// e.g. `login_succeeded`, `login_failed`, `account_locked`, `csrf_failed`.
    pub event: &'static str,
    /// The request id.
    pub request_id: &'a str,
    /// The route template.
    pub route: &'a str,
    /// The user, when known (never the email).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// A fixed reason label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

impl AuthEvent<'_> {
    /// The JSON line (serde escapes control characters: no log injection).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Masking of request-derived values that may end up in logs.
pub mod redact {
    use super::Headers;

    /// The mask.
    pub const MASK: &str = "[REDACTED]";

    /// Headers whose values are secrets.
    pub const SECRET_HEADERS: [&str; 6] = [
        "cookie",
        "set-cookie",
        "authorization",
        "x-api-key",
        "x-csrf-token",
        "proxy-authorization",
    ];

    /// Query names that may carry credentials.
    pub const SECRET_QUERY_NAMES: [&str; 9] = [
        "api_key",
        "apikey",
        "api-key",
        "key",
        "token",
        "access_token",
        "auth",
        "password",
        "code",
    ];

    /// Whether a query name is one of [`SECRET_QUERY_NAMES`] (case-insensitive).
    pub fn is_secret_query_name(name: &str) -> bool {
        SECRET_QUERY_NAMES
            .iter()
            .any(|s| s.eq_ignore_ascii_case(name.trim()))
    }

    /// `(name, value)` pairs with every secret header value masked.
    pub fn headers(h: &Headers) -> Vec<(String, String)> {
        h.iter()
            .map(|(n, v)| {
                let masked = SECRET_HEADERS.iter().any(|s| s.eq_ignore_ascii_case(n));
                (
                    n.to_owned(),
                    if masked {
                        MASK.to_owned()
                    } else {
                        v.to_owned()
                    },
                )
            })
            .collect()
    }

    /// The query string with the values of secret-looking names masked.
    pub fn query(q: &str) -> String {
        q.split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((n, _)) if is_secret_query_name(&decode_name(n)) => format!("{n}={MASK}"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// A query name, lowercased with `+`/`%xx` undone well enough to compare names.
    pub fn decode_name(raw: &str) -> String {
        let bytes = raw.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 3;
                        }
                        Err(_) => {
                            out.push(b'%');
                            i += 1;
                        }
                    }
                }
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::redact::*;
    use crate::http::Headers;

    #[test]
    fn secret_headers_and_query_values_are_masked() {
        let h: Headers = [
            ("Cookie", "__Host-cl_session=s3cr3t"),
            ("Authorization", "Bearer cle_x"),
            ("User-Agent", "ua"),
        ]
        .into_iter()
        .collect();
        let text = format!("{:?}", headers(&h));
        assert!(!text.contains("s3cr3t") && !text.contains("cle_x"));
        assert!(text.contains("ua"));
        let q = query("a=1&api_key=k1&%74oken=t1&KEY=k2");
        assert_eq!(
            q,
            "a=1&api_key=[REDACTED]&%74oken=[REDACTED]&KEY=[REDACTED]"
        );
    }
}
