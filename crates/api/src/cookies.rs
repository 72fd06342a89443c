//! The session cookie (product.md §11.6): `__Host-cl_session`, `Secure; HttpOnly;
//! SameSite=Lax; Path=/`, never a `Domain`, `Max-Age` from the session's expiry.

use crate::http::{Headers, Request};

/// The cookie name. The `__Host-` prefix makes browsers refuse it without `Secure`, with a
/// `Domain` or with a path other than `/`.
pub const SESSION_COOKIE: &str = "__Host-cl_session";

/// Lifetime of a pre-session cookie (login and register forms), seconds.
pub const PRE_SESSION_SECS: i64 = 3_600;

/// The session cookie's value, if the request carries exactly a well-formed one.
pub fn session_cookie(req: &Request) -> Option<&str> {
    let header = req.headers.get("cookie")?;
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| {
            !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `Set-Cookie` for a session token living `max_age_secs` more seconds (clamped at 0).
pub fn set_session(headers: &mut Headers, token: &str, max_age_secs: i64) {
    headers.set(
        "set-cookie",
        format!(
            "{SESSION_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
            max_age_secs.max(0)
        ),
    );
}

/// `Set-Cookie` that deletes the session cookie.
pub fn clear_session(headers: &mut Headers) {
    headers.set(
        "set-cookie",
        format!("{SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
}

/// Seconds from `now_ms` until `expires_at_ms`, rounded down.
pub fn max_age(expires_at_ms: i64, now_ms: i64) -> i64 {
    expires_at_ms.saturating_sub(now_ms).max(0) / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_host_only_secure_and_http_only() {
        let mut h = Headers::new();
        set_session(&mut h, "abc", 604_800);
        let c = h.get("set-cookie").unwrap();
        assert!(c.starts_with("__Host-cl_session=abc; "));
        for attr in [
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=Lax",
            "Max-Age=604800",
        ] {
            assert!(c.split("; ").any(|a| a == attr), "{attr}");
        }
        assert!(!c.to_ascii_lowercase().contains("domain"));
    }

    #[test]
    fn only_the_session_cookie_with_a_token_shaped_value_is_read() {
        let mut r = Request::get("/");
        r.headers
            .set("cookie", "a=1; __Host-cl_session=tok_en-1; b=2");
        assert_eq!(session_cookie(&r), Some("tok_en-1"));
        r.headers.set("cookie", "__Host-cl_session=bad value\r\n");
        assert_eq!(session_cookie(&r), None);
        r.headers.set("cookie", "cl_session=x");
        assert_eq!(session_cookie(&r), None);
    }
}
