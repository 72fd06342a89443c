//! Security headers sent on every response, API and static assets alike
//! (product.md §11.14–§11.16).

use crate::http::Headers;

/// The exact Content-Security-Policy: no `unsafe-inline`, no `unsafe-eval`, no wildcard
/// hosts. `wasm-unsafe-eval` is what `WebAssembly.instantiate` needs, nothing more.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; connect-src 'self'; \
object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; \
upgrade-insecure-requests; report-uri /api/v1/csp-report; report-to csp";

/// The Reporting API endpoint named by `report-to csp`.
pub const REPORTING_ENDPOINTS: &str = "csp=\"/api/v1/csp-report\"";

/// Two years would be stronger, but the spec fixes one year with subdomains.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000; includeSubDomains";

/// Features the app never uses are denied outright.
pub const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=(), usb=()";

/// Adds the baseline security headers, replacing any the inner layer set.
pub fn apply_security_headers(h: &mut Headers) {
    h.set("content-security-policy", CONTENT_SECURITY_POLICY);
    h.set("reporting-endpoints", REPORTING_ENDPOINTS);
    h.set("strict-transport-security", STRICT_TRANSPORT_SECURITY);
    h.set("x-content-type-options", "nosniff");
    h.set("referrer-policy", "strict-origin-when-cross-origin");
    h.set("permissions-policy", PERMISSIONS_POLICY);
    h.set("cross-origin-opener-policy", "same-origin");
    h.set("x-frame-options", "DENY");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csp_never_allows_inline_code_or_wildcards() {
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
        assert!(!CONTENT_SECURITY_POLICY.contains("'unsafe-eval'"));
        assert!(!CONTENT_SECURITY_POLICY.contains('*'));
        for directive in [
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "upgrade-insecure-requests",
            "report-uri /api/v1/csp-report",
            "report-to csp",
        ] {
            assert!(CONTENT_SECURITY_POLICY.contains(directive), "{directive}");
        }
    }

    #[test]
    fn security_headers_replace_weaker_ones() {
        let mut h = Headers::new();
        h.append("content-security-policy", "default-src *");
        apply_security_headers(&mut h);
        assert_eq!(
            h.get("content-security-policy"),
            Some(CONTENT_SECURITY_POLICY)
        );
        assert_eq!(h.get("x-content-type-options"), Some("nosniff"));
        assert_eq!(
            h.iter()
                .filter(|(n, _)| *n == "content-security-policy")
                .count(),
            1
        );
    }
}
