//! Client IPs, CIDR rules for API keys, and `next` redirect validation (product.md §11.10,
//! §11.13, §11.22).
//!
//! The client IP is the `CF-Connecting-IP` header and nothing else; `X-Forwarded-For` and the like
//! are never consulted. IPv6 clients are rate-limited per /64, since one subscriber usually holds
//! a whole /64.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Longest accepted `next` path.
pub const MAX_NEXT_LEN: usize = 2_048;

/// Address parsing failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// Not an IPv4 or IPv6 address.
    #[error("invalid IP address")]
    InvalidIp,
    /// Not `address` or `address/prefix` with a prefix in range.
    #[error("invalid CIDR")]
    InvalidCidr,
}

/// Parses the `CF-Connecting-IP` value. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes IPv4 so the
/// same client always gets the same subject.
///
/// # Errors
/// [`NetError::InvalidIp`].
pub fn parse_client_ip(header: &str) -> Result<IpAddr, NetError> {
    IpAddr::from_str(header.trim())
        .map(|ip| ip.to_canonical())
        .map_err(|_| NetError::InvalidIp)
}

/// The rate-limit subject for an IP: the address itself for IPv4, the /64 network for IPv6
/// (e.g. `2001:db8:1:2::/64`).
pub fn rate_limit_subject(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("{}/64", Ipv6Addr::from(u128::from(v6) & mask_v6(64))),
    }
}

fn mask_v4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask_v6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// An IPv4 or IPv6 network. A bare address is a /32 or /128. Host bits are cleared on parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `1.2.3.4`, `10.0.0.0/8`, `2001:db8::/32` or `::1`.
    ///
    /// # Errors
    /// [`NetError::InvalidCidr`].
    pub fn parse(raw: &str) -> Result<Self, NetError> {
        let raw = raw.trim();
        let (addr, prefix) = match raw.split_once('/') {
            Some((addr, prefix)) => {
                // Digits only: `u8::from_str` would accept a leading `+`.
                if prefix.is_empty()
                    || prefix.len() > 3
                    || !prefix.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(NetError::InvalidCidr);
                }
                (
                    addr,
                    Some(prefix.parse::<u8>().map_err(|_| NetError::InvalidCidr)?),
                )
            }
            None => (raw, None),
        };
        let ip = IpAddr::from_str(addr).map_err(|_| NetError::InvalidCidr)?;
        let network = match ip {
            IpAddr::V4(v4) => {
                let prefix = prefix.unwrap_or(32);
                if prefix > 32 {
                    return Err(NetError::InvalidCidr);
                }
                Self {
                    network: IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask_v4(prefix))),
                    prefix,
                }
            }
            IpAddr::V6(v6) => {
                let prefix = prefix.unwrap_or(128);
                if prefix > 128 {
                    return Err(NetError::InvalidCidr);
                }
                Self {
                    network: IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask_v6(prefix))),
                    prefix,
                }
            }
        };
        Ok(network)
    }

    /// Whether `ip` lies in this network. IPv4-mapped IPv6 addresses match IPv4 rules.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                u32::from(ip) & mask_v4(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                u128::from(ip) & mask_v6(self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// An API key's IP allow and deny lists. Deny wins; an empty allow list allows everyone not
/// denied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpRules {
    allow: Vec<Cidr>,
    deny: Vec<Cidr>,
}

impl IpRules {
    /// Parses both lists.
    ///
    /// # Errors
    /// [`NetError::InvalidCidr`] for the first bad entry.
    pub fn parse<A: AsRef<str>, D: AsRef<str>>(allow: &[A], deny: &[D]) -> Result<Self, NetError> {
        Ok(Self {
            allow: allow
                .iter()
                .map(|r| Cidr::parse(r.as_ref()))
                .collect::<Result<_, _>>()?,
            deny: deny
                .iter()
                .map(|r| Cidr::parse(r.as_ref()))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Whether `ip` may use the key.
    pub fn permits(&self, ip: IpAddr) -> bool {
        if self.deny.iter().any(|c| c.contains(ip)) {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(|c| c.contains(ip))
    }
}

/// Returns `next` if it is a same-site path (one leading `/`, no `//`, no `\`, no scheme, no
/// control characters or whitespace, at most [`MAX_NEXT_LEN`] bytes); otherwise `None`, and the
/// caller goes to the dashboard.
pub fn safe_next_path(next: &str) -> Option<&str> {
    let ok = next.len() <= MAX_NEXT_LEN
        && next.starts_with('/')
        && !next.contains("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
        // A colon before any `?` or `#` could be read as a scheme by a lenient parser.
        && !next.split(['?', '#']).next().is_some_and(|path| path.contains(':'));
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        parse_client_ip(s).unwrap()
    }

    #[test]
    fn client_ips_parse_in_both_families() {
        assert_eq!(
            ip(" 203.0.113.7 "),
            IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))
        );
        assert!(ip("2001:db8::1").is_ipv6());
        for bad in ["", "1.2.3", "203.0.113.7, 10.0.0.1", "::g", "localhost"] {
            assert_eq!(parse_client_ip(bad), Err(NetError::InvalidIp), "{bad}");
        }
    }

    #[test]
    fn ipv4_mapped_ipv6_is_treated_as_ipv4() {
        assert_eq!(ip("::ffff:203.0.113.7"), ip("203.0.113.7"));
    }

    #[test]
    fn ipv6_clients_share_a_subject_per_64() {
        let a = rate_limit_subject(ip("2001:db8:1:2:aaaa::1"));
        let b = rate_limit_subject(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        let c = rate_limit_subject(ip("2001:db8:1:3::1"));
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(rate_limit_subject(ip("198.51.100.9")), "198.51.100.9");
    }

    #[test]
    fn cidrs_match_their_networks_in_both_families() {
        let v4 = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(v4.contains(ip("10.1.255.3")));
        assert!(!v4.contains(ip("10.2.0.1")));
        assert!(v4.contains(ip("::ffff:10.1.0.9")));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("10.1.0.1")));
    }

    #[test]
    fn bare_addresses_and_zero_prefixes_are_accepted() {
        let host = Cidr::parse("192.0.2.1").unwrap();
        assert_eq!(host.prefix(), 32);
        assert!(host.contains(ip("192.0.2.1")));
        assert!(!host.contains(ip("192.0.2.2")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("::/0").unwrap().contains(ip("2001:db8::1")));
        assert_eq!(Cidr::parse("::1").unwrap().prefix(), 128);
    }

    #[test]
    fn host_bits_are_cleared_on_parse() {
        assert_eq!(Cidr::parse("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(
            Cidr::parse("2001:db8::1/32").unwrap().to_string(),
            "2001:db8::/32"
        );
    }

    #[test]
    fn malformed_cidrs_are_rejected() {
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/-1",
            "10.0.0/8",
            "x/8",
            "10.0.0.0/8/8",
            "10.0.0.0/0008",
        ] {
            assert_eq!(Cidr::parse(bad), Err(NetError::InvalidCidr), "{bad}");
        }
    }

    #[test]
    fn deny_rules_win_over_allow_rules() {
        let rules = IpRules::parse(&["10.0.0.0/8"], &["10.6.6.0/24"]).unwrap();
        assert!(rules.permits(ip("10.1.1.1")));
        assert!(!rules.permits(ip("10.6.6.6")));
        assert!(!rules.permits(ip("192.0.2.1")));
    }

    #[test]
    fn an_empty_allow_list_permits_everyone_not_denied() {
        let rules = IpRules::parse::<&str, &str>(&[], &["2001:db8::/32"]).unwrap();
        assert!(rules.permits(ip("192.0.2.1")));
        assert!(!rules.permits(ip("2001:db8::5")));
        assert!(IpRules::default().permits(ip("::1")));
        assert!(IpRules::parse(&["nope"], &[] as &[&str]).is_err());
    }

    #[test]
    fn same_site_paths_are_accepted_as_next() {
        for good in [
            "/",
            "/dashboard",
            "/chart/BTC-USDT/1h?x=1#top",
            "/signals/42?next=a:b",
        ] {
            assert_eq!(safe_next_path(good), Some(good), "{good}");
        }
    }

    #[test]
    fn anything_that_could_leave_the_site_is_refused_as_next() {
        for bad in [
            "",
            "dashboard",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/javascript:alert(1)",
            "/a//b",
            "/\tevil",
            "/ok\r\nSet-Cookie: x",
            "/ok\u{0}",
            " /dashboard",
        ] {
            assert_eq!(safe_next_path(bad), None, "{bad:?}");
        }
        assert_eq!(
            safe_next_path(&format!("/{}", "a".repeat(MAX_NEXT_LEN))),
            None
        );
    }
}
