//! Validated base URLs for upstreams, read once from config.
//!
//! Production accepts `https://` only. `http://` is accepted solely when the caller opts in with
//! [`Scheme::AllowInsecureLoopback`] *and* the host is `127.0.0.1`, `localhost` or `[::1]` (the
//! fake servers of the tests and local development).

use std::fmt;

/// Longest base URL accepted.
pub const MAX_BASE_URL_LEN: usize = 512;

const HTTPS: &str = "https://";
const HTTP: &str = "http://";
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

/// Which schemes [`BaseUrl::parse`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    /// `https://` only (production).
    #[default]
    HttpsOnly,
    /// Also `http://` to a loopback host (tests and local development).
    AllowInsecureLoopback,
}

/// Why a base URL was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not `https://` (or `http://` to loopback when allowed).
    #[error("base URL must use https")]
    InsecureScheme,
    /// Empty, too long, or with a host, port or path this client does not accept.
    #[error("malformed base URL: {0}")]
    Malformed(&'static str),
}

/// An absolute `scheme://host[:port][/path]` URL without query, fragment, user info or trailing
/// slash, to which request paths are appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// Validates a base URL.
    ///
    /// # Errors
    /// [`UrlError::InsecureScheme`] for a scheme `scheme` does not allow, [`UrlError::Malformed`]
    /// for anything else wrong.
    pub fn parse(raw: &str, scheme: Scheme) -> Result<Self, UrlError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > MAX_BASE_URL_LEN {
            return Err(UrlError::Malformed("empty or too long"));
        }
        let (rest, secure) = if let Some(rest) = strip_prefix_ci(raw, HTTPS) {
            (rest, true)
        } else if let Some(rest) = strip_prefix_ci(raw, HTTP) {
            (rest, false)
        } else {
            return Err(UrlError::InsecureScheme);
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let host = check_authority(authority)?;
        let loopback = LOOPBACK_HOSTS.iter().any(|h| h.eq_ignore_ascii_case(host));
        let insecure_allowed = scheme == Scheme::AllowInsecureLoopback && loopback;
        if !secure && !insecure_allowed {
            return Err(UrlError::InsecureScheme);
        }
        let path = path.trim_end_matches('/');
        if !path.chars().all(is_path_char) {
            return Err(UrlError::Malformed(
                "path has characters outside [A-Za-z0-9-._~/]",
            ));
        }
        let prefix = if secure { HTTPS } else { HTTP };
        Ok(Self(format!(
            "{prefix}{}{path}",
            authority.to_ascii_lowercase()
        )))
    }

    /// The URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `self` + `path` (which should start with `/`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '/')
}

/// Checks `host[:port]` and returns the host.
fn check_authority(authority: &str) -> Result<&str, UrlError> {
    if authority.is_empty() {
        return Err(UrlError::Malformed("no host"));
    }
    if authority.contains('@') {
        return Err(UrlError::Malformed("user info is not allowed"));
    }
    if authority.contains(['?', '#']) {
        return Err(UrlError::Malformed("query and fragment are not allowed"));
    }
    let (host, port) = if authority.starts_with('[') {
        // An IPv6 literal: only `[::1]` is meaningful to us, but accept any hex literal.
        let end = authority
            .find(']')
            .ok_or(UrlError::Malformed("unclosed IPv6 literal"))?;
        let (host, rest) = authority.split_at(end + 1);
        if !host[1..end]
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':')
        {
            return Err(UrlError::Malformed("bad IPv6 literal"));
        }
        (host, rest.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(UrlError::Malformed("no host"));
    }
    if !host.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(UrlError::Malformed(
            "host has characters outside [A-Za-z0-9-.]",
        ));
    }
    if let Some(port) = port {
        if port.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(UrlError::Malformed("bad port"));
        }
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_https_url_is_accepted_and_normalised() {
        let url = BaseUrl::parse("HTTPS://API.Binance.com/", Scheme::HttpsOnly).unwrap();
        assert_eq!(url.as_str(), "https://api.binance.com");
        assert_eq!(
            url.join("/api/v3/klines"),
            "https://api.binance.com/api/v3/klines"
        );
    }

    #[test]
    fn a_path_prefix_and_port_are_kept() {
        let url = BaseUrl::parse("https://proxy.example:8443/binance/", Scheme::HttpsOnly).unwrap();
        assert_eq!(url.as_str(), "https://proxy.example:8443/binance");
    }

    #[test]
    fn plain_http_is_rejected_in_production_even_on_loopback() {
        for raw in ["http://api.binance.com", "http://127.0.0.1:9000"] {
            assert_eq!(
                BaseUrl::parse(raw, Scheme::HttpsOnly),
                Err(UrlError::InsecureScheme)
            );
        }
    }

    #[test]
    fn plain_http_is_accepted_only_for_loopback_when_allowed() {
        let allow = Scheme::AllowInsecureLoopback;
        assert!(BaseUrl::parse("http://127.0.0.1:9000", allow).is_ok());
        assert!(BaseUrl::parse("http://localhost:9000/", allow).is_ok());
        assert!(BaseUrl::parse("http://[::1]:9000", allow).is_ok());
        assert_eq!(
            BaseUrl::parse("http://10.0.0.1:9000", allow),
            Err(UrlError::InsecureScheme)
        );
        assert_eq!(
            BaseUrl::parse("http://localhost.evil.com", allow),
            Err(UrlError::InsecureScheme)
        );
    }

    #[test]
    fn other_schemes_and_malformed_urls_are_rejected() {
        let bad = [
            "ftp://x.com",
            "",
            "https://",
            "https://user:pw@x.com",
            "https://x.com?q=1",
            "https://x.com/a?q=1",
            "https://x.com:0",
            "https://x.com:99999",
            "https://x.com:",
            "https://x com",
            "https://[::1",
        ];
        for raw in bad {
            assert!(BaseUrl::parse(raw, Scheme::HttpsOnly).is_err(), "{raw}");
        }
    }
}
