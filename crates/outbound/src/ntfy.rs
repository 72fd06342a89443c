//! The ntfy client (product.md §5): `POST {server}/` with the JSON body
//! `{topic, title, message, priority, tags}`, a 10 s timeout per try, 3 tries with backoff
//! 1 s then 2 s ([`RetryPolicy::NTFY`]), behind the `ntfy` circuit breaker.
//!
//! [`NtfyMessage::new`] validates once; [`NtfyClient::send`] never fails or panics, it reports
//! [`SendOutcome::Sent`] or [`SendOutcome::Failed`] with a typed reason for the delivery row.

use crate::ports::{BreakerStore, Clock, HttpTransport, Method, OutboundRequest, Sleeper};
use crate::retry::RetryPolicy;
use crate::upstream::{CallError, Upstream};
use crate::url::BaseUrl;
use serde::Serialize;

/// Longest topic (ntfy's own limit).
pub const MAX_TOPIC_LEN: usize = 64;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 250;
/// Longest message, in bytes (ntfy turns longer ones into attachments).
pub const MAX_MESSAGE_BYTES: usize = 4_096;
/// Most tags per message.
pub const MAX_TAGS: usize = 10;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;
/// Lowest ntfy priority.
pub const MIN_PRIORITY: u8 = 1;
/// Highest ntfy priority.
pub const MAX_PRIORITY: u8 = 5;
/// Default time limit of one try (product.md §5).
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// Why a message was rejected before sending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NtfyError {
    /// Empty, longer than [`MAX_TOPIC_LEN`], or outside `[A-Za-z0-9_-]`.
    #[error("invalid topic")]
    InvalidTopic,
    /// Longer than [`MAX_TITLE_CHARS`] or holds control characters.
    #[error("invalid title")]
    InvalidTitle,
    /// Empty or longer than [`MAX_MESSAGE_BYTES`].
    #[error("invalid message")]
    InvalidMessage,
    /// Outside `1..=5`.
    #[error("priority {0} is outside 1..=5")]
    InvalidPriority(u8),
    /// More than [`MAX_TAGS`], or a tag empty, too long, or with commas or control characters.
    #[error("invalid tags")]
    InvalidTags,
}

/// A validated ntfy message; serializes to the JSON body ntfy expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NtfyMessage {
    topic: String,
    title: String,
    message: String,
    priority: u8,
    tags: Vec<String>,
}

impl NtfyMessage {
    /// Validates a message.
    ///
    /// # Errors
    /// The first [`NtfyError`] that applies.
    pub fn new(
        topic: &str,
        title: &str,
        message: &str,
        priority: u8,
        tags: &[&str],
    ) -> Result<Self, NtfyError> {
        let topic_ok = !topic.is_empty()
            && topic.len() <= MAX_TOPIC_LEN
            && topic
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !topic_ok {
            return Err(NtfyError::InvalidTopic);
        }
        if title.chars().count() > MAX_TITLE_CHARS || title.chars().any(char::is_control) {
            return Err(NtfyError::InvalidTitle);
        }
        if message.is_empty() || message.len() > MAX_MESSAGE_BYTES {
            return Err(NtfyError::InvalidMessage);
        }
        if !(MIN_PRIORITY..=MAX_PRIORITY).contains(&priority) {
            return Err(NtfyError::InvalidPriority(priority));
        }
        let tag_ok = |t: &&str| {
            !t.is_empty()
                && t.chars().count() <= MAX_TAG_CHARS
                && !t.chars().any(|c| c == ',' || c.is_control())
        };
        if tags.len() > MAX_TAGS || !tags.iter().all(tag_ok) {
            return Err(NtfyError::InvalidTags);
        }
        Ok(Self {
            topic: topic.to_owned(),
            title: title.to_owned(),
            message: message.to_owned(),
            priority,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        })
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NtfyFailure {
    /// The server gave no 2xx (after retries), or the breaker is open.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The body could not be encoded.
    #[error("could not encode the message: {0}")]
    Encode(String),
}

/// The result of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// ntfy accepted the message.
    Sent,
    /// It was not delivered; the reason goes to the delivery row and the logs.
    Failed {
        /// Why.
        reason: NtfyFailure,
    },
}

/// ntfy settings, read once from config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtfyConfig {
    /// The server (default `https://ntfy.sh`).
    pub server: BaseUrl,
    /// Time limit of one try.
    pub timeout_ms: u64,
    /// Retries.
    pub retry: RetryPolicy,
    /// The breaker's name.
    pub upstream: String,
}

impl NtfyConfig {
    /// Defaults of product.md §5: 10 s timeout, [`RetryPolicy::NTFY`], breaker `"ntfy"`.
    pub fn new(server: BaseUrl) -> Self {
        Self {
            server,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            retry: RetryPolicy::NTFY,
            upstream: "ntfy".to_owned(),
        }
    }
}

/// The ntfy client.
#[derive(Debug)]
pub struct NtfyClient<T, S, C, B> {
    upstream: Upstream<T, S, C, B>,
    config: NtfyConfig,
}

impl<T, S, C, B> NtfyClient<T, S, C, B>
where
    T: HttpTransport,
    S: Sleeper,
    C: Clock,
    B: BreakerStore,
{
    /// A client over the given ports.
    pub fn new(config: NtfyConfig, transport: T, sleeper: S, clock: C, store: B) -> Self {
        let upstream = Upstream::new(
            config.upstream.clone(),
            config.retry,
            transport,
            sleeper,
            clock,
            store,
        );
        Self { upstream, config }
    }

    /// The upstream (breaker state for logs).
    pub fn upstream(&self) -> &Upstream<T, S, C, B> {
        &self.upstream
    }

    /// Publishes `message`.
    pub async fn send(&self, message: &NtfyMessage) -> SendOutcome {
        let body = match serde_json::to_vec(message) {
            Ok(body) => body,
            Err(e) => {
                return SendOutcome::Failed {
                    reason: NtfyFailure::Encode(e.to_string()),
                }
            }
        };
        let request = OutboundRequest {
            method: Method::Post,
            url: self.config.server.join("/"),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body,
            timeout_ms: self.config.timeout_ms,
        };
        match self.upstream.send(request).await {
            Ok(_) => SendOutcome::Sent,
            Err(e) => SendOutcome::Failed { reason: e.into() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::{BreakerState, FAILURE_THRESHOLD};
    use crate::ports::{MemoryBreakerStore, TransportError};
    use crate::testkit::{block_on, reply, FakeTime, ScriptedTransport};
    use crate::url::Scheme;

    fn msg() -> NtfyMessage {
        NtfyMessage::new(
            "cl_0123456789abcdef",
            "🟢 LONG BTC/USDT OB 1h",
            "body",
            4,
            &["long", "BTC", "OB"],
        )
        .unwrap()
    }

    fn client<'a>(
        transport: &'a ScriptedTransport,
        time: &'a FakeTime,
        store: &'a MemoryBreakerStore,
    ) -> NtfyClient<&'a ScriptedTransport, &'a FakeTime, &'a FakeTime, &'a MemoryBreakerStore> {
        let server = BaseUrl::parse("https://ntfy.sh", Scheme::HttpsOnly).unwrap();
        NtfyClient::new(NtfyConfig::new(server), transport, time, time, store)
    }

    #[test]
    fn a_message_is_posted_as_json_to_the_server_root() {
        let transport = ScriptedTransport::new([reply(200, "{}", &[])]);
        let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
        assert_eq!(
            block_on(client(&transport, &time, &store).send(&msg())),
            SendOutcome::Sent
        );
        let req = &transport.requests()[0];
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.url, "https://ntfy.sh/");
        assert_eq!(req.timeout_ms, 10_000);
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "topic": "cl_0123456789abcdef",
                "title": "🟢 LONG BTC/USDT OB 1h",
                "message": "body",
                "priority": 4,
                "tags": ["long", "BTC", "OB"],
            })
        );
    }

    #[test]
    fn failures_are_retried_three_times_with_1s_then_2s_backoff() {
        let transport = ScriptedTransport::new([
            reply(502, "", &[]),
            Err(TransportError::Timeout),
            reply(500, "oops", &[]),
        ]);
        let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
        let outcome = block_on(client(&transport, &time, &store).send(&msg()));
        assert_eq!(
            outcome,
            SendOutcome::Failed {
                reason: NtfyFailure::Call(CallError::Status {
                    status: 500,
                    tries: 3,
                    body: "oops".into()
                })
            }
        );
        assert_eq!(time.sleeps(), vec![1_000, 2_000]);
    }

    #[test]
    fn a_retry_then_success_is_sent() {
        let transport = ScriptedTransport::new([Err(TransportError::Timeout), reply(200, "", &[])]);
        let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
        assert_eq!(
            block_on(client(&transport, &time, &store).send(&msg())),
            SendOutcome::Sent
        );
        assert_eq!(time.sleeps(), vec![1_000]);
    }

    #[test]
    fn a_rejected_message_is_not_retried() {
        let transport = ScriptedTransport::new([reply(400, "bad", &[])]);
        let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
        let outcome = block_on(client(&transport, &time, &store).send(&msg()));
        assert!(matches!(outcome, SendOutcome::Failed { .. }));
        assert_eq!(transport.requests().len(), 1);
    }

    #[test]
    fn the_breaker_opens_after_five_failures_and_then_fails_fast() {
        let transport = ScriptedTransport::new((0..6).map(|_| reply(503, "", &[])));
        let (time, store) = (FakeTime::new(0), MemoryBreakerStore::new());
        let c = client(&transport, &time, &store);
        block_on(c.send(&msg()));
        block_on(c.send(&msg()));
        assert!(matches!(
            c.upstream().breaker().state(),
            BreakerState::Open { .. }
        ));
        assert_eq!(transport.requests().len(), FAILURE_THRESHOLD as usize);
        let outcome = block_on(c.send(&msg()));
        assert!(matches!(
            outcome,
            SendOutcome::Failed {
                reason: NtfyFailure::Call(CallError::BreakerOpen(_))
            }
        ));
        assert_eq!(transport.requests().len(), FAILURE_THRESHOLD as usize);
    }

    #[test]
    fn messages_are_validated() {
        let ok = |t: &str, title: &str, m: &str, p: u8, tags: &[&str]| {
            NtfyMessage::new(t, title, m, p, tags)
        };
        assert!(ok("a", "", "m", 1, &[]).is_ok());
        assert!(ok(&"a".repeat(64), "t", "m", 5, &["x"; 10]).is_ok());
        assert_eq!(ok("", "t", "m", 3, &[]), Err(NtfyError::InvalidTopic));
        assert_eq!(
            ok(&"a".repeat(65), "t", "m", 3, &[]),
            Err(NtfyError::InvalidTopic)
        );
        assert_eq!(ok("a/b", "t", "m", 3, &[]), Err(NtfyError::InvalidTopic));
        assert_eq!(ok("a b", "t", "m", 3, &[]), Err(NtfyError::InvalidTopic));
        assert_eq!(ok("a", "t\n", "m", 3, &[]), Err(NtfyError::InvalidTitle));
        assert_eq!(
            ok("a", &"t".repeat(251), "m", 3, &[]),
            Err(NtfyError::InvalidTitle)
        );
        assert_eq!(ok("a", "t", "", 3, &[]), Err(NtfyError::InvalidMessage));
        assert_eq!(
            ok("a", "t", &"m".repeat(4097), 3, &[]),
            Err(NtfyError::InvalidMessage)
        );
        assert_eq!(
            ok("a", "t", "m", 0, &[]),
            Err(NtfyError::InvalidPriority(0))
        );
        assert_eq!(
            ok("a", "t", "m", 6, &[]),
            Err(NtfyError::InvalidPriority(6))
        );
        assert_eq!(
            ok("a", "t", "m", 3, &["x"; 11]),
            Err(NtfyError::InvalidTags)
        );
        assert_eq!(ok("a", "t", "m", 3, &["a,b"]), Err(NtfyError::InvalidTags));
        assert_eq!(ok("a", "t", "m", 3, &[""]), Err(NtfyError::InvalidTags));
    }
}
