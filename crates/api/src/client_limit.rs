//! The per-client-IP API limit (product.md §11.13, "API 10/s per key and per IP") for EVERY
//! `/api/v1` request, whatever its credential (session, API key or none): the gate
//! ([`crate::access::guard`]) calls [`check`] before it looks at any credential, so a key
//! guesser or a cookie-less scraper is counted like everyone else.
//!
//! - The subject is the `CF-Connecting-IP` address only (`cl_auth::net`: IPv4 as is, IPv6 per
//!   /64); `X-Forwarded-For` and the like are never read. A request without a usable header
//!   shares one `unknown` bucket (on the edge the header is always set).
//! - Exempt: signature-verified webhooks (the provider's retries must not be refused for its
//!   own burst; the signature is the credential) and, in development only, the loopback
//!   address: `wrangler dev` and Miniflare stamp `127.0.0.1` on every request that does not
//!   carry the header, so the whole local test suite would otherwise share one bucket. Tests
//!   and browser contexts that send their own address are limited as in production.
//! - The counter is the KV limiter of the worker (per-isolate memory first, KV shards once a
//!   window is hot); a limiter failure lets the request through and is logged: this limit
//!   guards capacity, while the security limits (login, lockout, keys' own limits) fail closed.

use crate::access::Access;
use crate::auth::AccountDeps;
use crate::config::{Config, Environment};
use crate::context::RequestContext;
use crate::error::ApiError;
use crate::events::AuthEvent;
use crate::routes::RouteSpec;
use cl_api_types::ErrorCode;
use cl_auth::net::{parse_client_ip, rate_limit_subject};
use cl_auth::ratelimit::Decision;
use std::net::IpAddr;

/// The bucket of requests without a usable `CF-Connecting-IP`.
pub const UNKNOWN: &str = "unknown";

/// The client address from the `CF-Connecting-IP` value, if it parses.
pub fn client_ip(header: Option<&str>) -> Option<IpAddr> {
    header.and_then(|h| parse_client_ip(h).ok())
}

/// The rate-limit subject of a client address (`unknown` without one).
pub fn subject(ip: Option<IpAddr>) -> String {
    ip.map(rate_limit_subject)
        .unwrap_or_else(|| UNKNOWN.to_owned())
}

/// Whether a request is exempt from the per-IP limit (see the module documentation).
pub fn exempt(environment: Environment, access: Access, ip: Option<IpAddr>) -> bool {
    if access == Access::Signature {
        return true;
    }
    environment == Environment::Development && ip.is_none_or(|ip| ip.is_loopback())
}

/// Counts the request against the per-IP limit.
///
/// # Errors
/// `rate_limited` with `Retry-After` past the limit of the current window (30 per 3 s).
pub async fn check<A: AccountDeps>(
    accounts: &A,
    config: &Config,
    spec: &RouteSpec,
    ctx: &RequestContext,
) -> Result<(), ApiError> {
    // Without the account dependencies there is no limiter (the KV binding is missing).
    if !accounts.wired() {
        return Ok(());
    }
    let ip = client_ip(ctx.client_ip.as_deref());
    if exempt(config.environment, spec.access, ip) {
        return Ok(());
    }
    let event = |level: &'static str, name: &'static str| AuthEvent {
        ts: ctx.now_ms,
        level,
        category: "auth",
        event: name,
        request_id: &ctx.request_id,
        route: spec.path,
        user_id: None,
        reason: Some("api_ip"),
    };
    match accounts.hit_ip_limit(&subject(ip)).await {
        Ok(Decision::Allowed { .. }) => Ok(()),
        Ok(Decision::Limited { retry_after_secs }) => {
            accounts.emit(&event("warn", "rate_limited"));
            Err(ApiError::new(ErrorCode::RateLimited).with_retry_after(retry_after_secs))
        }
        Err(_) => {
            accounts.emit(&event("error", "rate_limiter_failed"));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        client_ip(Some(s))
    }

    #[test]
    fn the_subject_is_the_connecting_ip_or_one_unknown_bucket() {
        assert_eq!(subject(ip("203.0.113.7")), "203.0.113.7");
        assert_eq!(subject(ip("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::/64");
        assert_eq!(subject(ip("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(subject(ip("203.0.113.7, 10.0.0.1")), UNKNOWN);
        assert_eq!(subject(None), UNKNOWN);
    }

    #[test]
    fn only_webhooks_and_local_development_are_exempt() {
        use Environment::{Development, Production};
        let session = Access::Session;
        assert!(exempt(Production, Access::Signature, ip("203.0.113.7")));
        for access in [Access::Public, session, Access::Admin] {
            assert!(!exempt(Production, access, ip("203.0.113.7")));
            assert!(!exempt(Production, access, ip("127.0.0.1")));
            assert!(!exempt(Production, access, None));
            assert!(!exempt(Development, access, ip("203.0.113.7")));
            assert!(!exempt(Development, access, ip("10.1.2.3")));
            assert!(exempt(Development, access, ip("127.0.0.1")));
            assert!(exempt(Development, access, ip("::1")));
            assert!(exempt(Development, access, None));
        }
    }
}
