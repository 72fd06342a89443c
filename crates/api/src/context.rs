//! Per-request context: the request id, the server time and the client IP.

/// The shortest inbound `X-Request-ID` we keep (product.md §12).
const REQUEST_ID_MIN: usize = 8;
/// The longest inbound `X-Request-ID` we keep.
const REQUEST_ID_MAX: usize = 64;

/// What the platform knows about a request besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// Kept from `X-Request-ID` when well-formed, else generated; echoed everywhere.
    pub request_id: String,
    /// Server time, UTC ms (injected: the domain never reads a clock).
    pub now_ms: i64,
    /// From `CF-Connecting-IP` only; `X-Forwarded-For` is never trusted.
    pub client_ip: Option<String>,
}

impl RequestContext {
    /// Builds the context. `fresh_id` is used when the inbound id is absent or malformed,
    /// so that log injection through the header is impossible.
    pub fn new(
        inbound_request_id: Option<&str>,
        fresh_id: impl FnOnce() -> String,
        now_ms: i64,
        cf_connecting_ip: Option<&str>,
    ) -> Self {
        let request_id = match inbound_request_id {
            Some(id) if is_valid_request_id(id) => id.to_owned(),
            _ => fresh_id(),
        };
        Self {
            request_id,
            now_ms,
            client_ip: cf_connecting_ip.map(str::to_owned),
        }
    }
}

/// 8–64 characters of `[A-Za-z0-9-]`.
pub fn is_valid_request_id(id: &str) -> bool {
    (REQUEST_ID_MIN..=REQUEST_ID_MAX).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_inbound_request_id_is_kept() {
        let ctx = RequestContext::new(Some("abcd-1234"), || "fresh".into(), 0, None);
        assert_eq!(ctx.request_id, "abcd-1234");
    }

    #[test]
    fn a_malformed_or_oversized_request_id_is_replaced() {
        for bad in [
            "short",
            "has space in it",
            "x\r\ninjected: 1",
            &"a".repeat(65),
            "ünïcode-id",
        ] {
            let ctx = RequestContext::new(Some(bad), || "fresh-id".into(), 0, None);
            assert_eq!(ctx.request_id, "fresh-id", "{bad:?}");
        }
    }
}
