//! The account flows' [`Mailer`] over HTTP: `POST {MAIL_BASE_URL}/send` with the JSON
//! `{"to": "<email>", "kind": "<mail kind>", "params": {"token": "…", …}}` and
//! `Authorization: Bearer <MAIL_API_KEY>`, to a mail provider or relay that owns the templates.
//!
//! - **Configuration** ([`MailConfig::new`]): `MAIL_BASE_URL` must be `https://` in
//!   production; in development a loopback `http://` URL (127.0.0.0/8, `[::1]`, `localhost`) is
//!   accepted too, for the fake mail server (`tests/fakes/mail.mjs`); checked by
//!   `cl_outbound::url::BaseUrl` like the other upstreams (no credentials, query or fragment). `MAIL_API_KEY` is a [`SecretString`]: it goes into the header and
//!   nowhere else (not into errors, not into `Debug`).
//! - **Timeout**: every try must finish within [`MailConfig::timeout_ms`] (default 10 s).
//! - **Retries**: a 2xx is delivered; a 4xx is final (the request itself is wrong: bad key,
//!   refused address) and never retried; a 5xx, a timeout or a transport failure is tried once
//!   more (2 tries in all, no wait: the flows call this inside a request or `waitUntil`).
//! - **Errors**: [`MailError::Unavailable`] with the status or the transport failure, never
//!   the message's parameters (they hold tokens) or the provider's body.
//!
//! The HTTP exchange goes through `cl_outbound::HttpTransport`, so the mailer is host-tested
//! with a scripted transport; [`crate::fetch_transport::FetchTransport`] is the worker's
//! `fetch` with a timeout.

use cl_app::ports::{Mail, MailError, MailKind, Mailer};
use cl_auth::SecretString;
use cl_outbound::ports::{HttpTransport, Method, OutboundRequest};
use cl_outbound::url::{BaseUrl, Scheme, UrlError};
use std::fmt;

/// Default time allowed for one try.
pub const DEFAULT_MAIL_TIMEOUT_MS: u64 = 10_000;
/// Tries per message when the provider fails (5xx, timeout, transport); a 4xx is never retried.
pub const MAIL_TRIES: u32 = 2;
/// The path appended to `MAIL_BASE_URL`.
pub const SEND_PATH: &str = "/send";

/// Why the mail configuration is unusable. Carries no value of the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailConfigError {
    /// `MAIL_BASE_URL` is not an absolute `scheme://host[:port][/path]` URL (no credentials,
    /// query or fragment).
    InvalidUrl,
    /// `MAIL_BASE_URL` is not https (or, in development, loopback http).
    InsecureUrl,
    /// `MAIL_API_KEY` is empty.
    MissingApiKey,
}

impl fmt::Display for MailConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidUrl => "MAIL_BASE_URL is not a valid URL",
            Self::InsecureUrl => "MAIL_BASE_URL must be https (loopback http only in development)",
            Self::MissingApiKey => "MAIL_API_KEY is empty",
        })
    }
}

impl std::error::Error for MailConfigError {}

/// Where and how to send mail.
#[derive(Clone)]
pub struct MailConfig {
    endpoint: String,
    api_key: SecretString,
    timeout_ms: u64,
}

impl fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailConfig")
            .field("endpoint", &self.endpoint)
            .field("api_key", &"[REDACTED]")
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

impl MailConfig {
    /// Checks `MAIL_BASE_URL` and `MAIL_API_KEY`; `production` refuses anything but https.
    ///
    /// # Errors
    /// A [`MailConfigError`] naming what is wrong (never a value).
    pub fn new(
        base_url: &str,
        api_key: SecretString,
        production: bool,
    ) -> Result<Self, MailConfigError> {
        let scheme = if production {
            Scheme::HttpsOnly
        } else {
            Scheme::AllowInsecureLoopback
        };
        let base = BaseUrl::parse(base_url.trim(), scheme).map_err(|e| match e {
            UrlError::InsecureScheme => MailConfigError::InsecureUrl,
            UrlError::Malformed(_) => MailConfigError::InvalidUrl,
        })?;
        if api_key.expose_secret().trim().is_empty() {
            return Err(MailConfigError::MissingApiKey);
        }
        Ok(Self {
            endpoint: base.join(SEND_PATH),
            api_key,
            timeout_ms: DEFAULT_MAIL_TIMEOUT_MS,
        })
    }

    /// The same configuration with another per-try timeout (at least 1 ms).
    pub fn with_timeout_ms(mut self, timeout_ms: u64) -> Self {
        self.timeout_ms = timeout_ms.max(1);
        self
    }

    /// The URL messages are posted to (`{MAIL_BASE_URL}/send`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The time allowed for one try, in ms.
    pub fn timeout_ms(&self) -> u64 {
        self.timeout_ms
    }
}

/// The wire name of a mail kind (the provider's template id).
pub fn kind_name(kind: MailKind) -> &'static str {
    match kind {
        MailKind::VerifyEmail => "verify_email",
        MailKind::AccountExists => "account_exists",
        MailKind::PasswordReset => "password_reset",
        MailKind::PasswordChanged => "password_changed",
        MailKind::EmailChangeRequested => "email_change_requested",
        MailKind::ConfirmNewEmail => "confirm_new_email",
        MailKind::EmailChangeRejected => "email_change_rejected",
        MailKind::TwoFactorEnabled => "two_factor_enabled",
        MailKind::TwoFactorDisabled => "two_factor_disabled",
        MailKind::AccountDeleted => "account_deleted",
        MailKind::SubscriptionExpiring => "subscription_expiring",
    }
}

/// The JSON body of one message.
fn body(mail: &Mail) -> Vec<u8> {
    let params: serde_json::Map<String, serde_json::Value> = mail
        .params
        .iter()
        .map(|(name, value)| {
            (
                (*name).to_owned(),
                serde_json::Value::String(value.expose_secret().to_owned()),
            )
        })
        .collect();
    serde_json::json!({
        "to": mail.to.as_str(),
        "kind": kind_name(mail.kind),
        "params": params,
    })
    .to_string()
    .into_bytes()
}

/// The [`Mailer`] over HTTP (see the module docs).
#[derive(Debug)]
pub struct HttpMailer<T> {
    config: MailConfig,
    transport: T,
}

impl<T: HttpTransport> HttpMailer<T> {
    /// A mailer posting with `transport` (the worker: `FetchTransport`).
    pub fn new(config: MailConfig, transport: T) -> Self {
        Self { config, transport }
    }

    fn request(&self, body: Vec<u8>) -> OutboundRequest {
        OutboundRequest {
            method: Method::Post,
            url: self.config.endpoint.clone(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("accept".into(), "application/json".into()),
                (
                    "authorization".into(),
                    format!("Bearer {}", self.config.api_key.expose_secret()),
                ),
            ],
            body,
            timeout_ms: self.config.timeout_ms,
        }
    }
}

impl<T: HttpTransport> Mailer for HttpMailer<T> {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let payload = body(mail);
        let kind = kind_name(mail.kind);
        let mut last = String::new();
        for _ in 0..MAIL_TRIES {
            match self.transport.send(self.request(payload.clone())).await {
                Ok(resp) if resp.is_success() => return Ok(()),
                Ok(resp) if (400..500).contains(&resp.status) => {
                    return Err(MailError::Unavailable(format!(
                        "mail {kind}: refused with status {}",
                        resp.status
                    )));
                }
                Ok(resp) => last = format!("status {}", resp.status),
                Err(e) => last = e.to_string(),
            }
        }
        Err(MailError::Unavailable(format!(
            "mail {kind}: {last} after {MAIL_TRIES} tries"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cl_app::ports::mail_param;
    use cl_auth::email::Email;
    use cl_outbound::ports::{OutboundResponse, TransportError};
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    fn run<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("the scripted transport never waits"),
        }
    }

    #[derive(Debug, Default)]
    struct Scripted {
        answers: RefCell<VecDeque<Result<OutboundResponse, TransportError>>>,
        seen: RefCell<Vec<OutboundRequest>>,
    }

    impl HttpTransport for &Scripted {
        async fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, TransportError> {
            self.seen.borrow_mut().push(req);
            self.answers
                .borrow_mut()
                .pop_front()
                .unwrap_or(Err(TransportError::Other("script exhausted".into())))
        }
    }

    fn status(s: u16) -> Result<OutboundResponse, TransportError> {
        Ok(OutboundResponse {
            status: s,
            headers: vec![],
            body: b"{\"echo\":\"tok-secret-123\"}".to_vec(),
        })
    }

    const KEY: &str = "mk_live_0123456789abcdef";

    fn config() -> MailConfig {
        MailConfig::new("https://mail.example.com/v1/", SecretString::new(KEY), true).unwrap()
    }

    fn mail() -> Mail {
        Mail {
            kind: MailKind::VerifyEmail,
            to: Email::parse("alice@example.com").unwrap(),
            params: vec![
                (mail_param::TOKEN, SecretString::new("tok-secret-123")),
                (mail_param::USERNAME, SecretString::new("alice")),
            ],
        }
    }

    #[test]
    fn posts_the_documented_json_with_the_bearer_key() {
        let t = Scripted::default();
        t.answers.borrow_mut().push_back(status(202));
        let m = HttpMailer::new(config().with_timeout_ms(3_000), &t);
        assert_eq!(run(m.send(&mail())), Ok(()));
        let seen = t.seen.borrow();
        assert_eq!(seen.len(), 1);
        let req = &seen[0];
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.url, "https://mail.example.com/v1/send");
        assert_eq!(req.timeout_ms, 3_000);
        assert!(req
            .headers
            .contains(&("authorization".into(), format!("Bearer {KEY}"))));
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "to": "alice@example.com",
                "kind": "verify_email",
                "params": {"token": "tok-secret-123", "username": "alice"},
            })
        );
    }

    #[test]
    fn a_4xx_is_final_and_5xx_or_transport_failures_are_tried_twice() {
        let t = Scripted::default();
        t.answers.borrow_mut().push_back(status(401));
        let m = HttpMailer::new(config(), &t);
        let err = run(m.send(&mail())).unwrap_err();
        assert_eq!(t.seen.borrow().len(), 1, "no retry on 4xx");
        let MailError::Unavailable(text) = err;
        assert!(text.contains("401"), "{text}");

        let t = Scripted::default();
        t.answers
            .borrow_mut()
            .extend([status(503), Err(TransportError::Timeout)]);
        let m = HttpMailer::new(config(), &t);
        let MailError::Unavailable(text) = run(m.send(&mail())).unwrap_err();
        assert_eq!(t.seen.borrow().len(), 2);
        assert!(text.contains("timed out"), "{text}");

        let t = Scripted::default();
        t.answers.borrow_mut().extend([status(502), status(200)]);
        assert_eq!(run(HttpMailer::new(config(), &t).send(&mail())), Ok(()));
        assert_eq!(t.seen.borrow().len(), 2);
    }

    #[test]
    fn neither_errors_nor_debug_reveal_the_key_or_the_parameters() {
        let t = Scripted::default();
        t.answers.borrow_mut().extend([status(500), status(500)]);
        let m = HttpMailer::new(config(), &t);
        let MailError::Unavailable(text) = run(m.send(&mail())).unwrap_err();
        // (The scripted transport records requests, bearer header included: print a real one.)
        let real = HttpMailer::new(config(), crate::fetch_transport::FetchTransport);
        let debug = format!("{real:?} {:?}", mail());
        for leak in [KEY, "tok-secret-123"] {
            assert!(!text.contains(leak), "{text}");
            assert!(!debug.contains(leak), "{debug}");
        }
    }

    #[test]
    fn the_base_url_must_be_https_or_loopback_http_in_development() {
        let key = || SecretString::new(KEY);
        assert!(MailConfig::new("https://mail.example.com", key(), true).is_ok());
        assert_eq!(
            MailConfig::new("http://mail.example.com", key(), false).unwrap_err(),
            MailConfigError::InsecureUrl
        );
        assert_eq!(
            MailConfig::new("http://127.0.0.1:8025", key(), true).unwrap_err(),
            MailConfigError::InsecureUrl
        );
        for dev in [
            "http://127.0.0.1:8025",
            "http://localhost:8025/",
            "http://[::1]:8025",
        ] {
            let c = MailConfig::new(dev, key(), false).unwrap();
            assert!(c.endpoint().ends_with(":8025/send"), "{}", c.endpoint());
        }
        assert!(MailConfig::new("not a url", key(), false).is_err());
        assert_eq!(
            MailConfig::new("ftp://mail.example.com", key(), false).unwrap_err(),
            MailConfigError::InsecureUrl
        );
        for odd in [
            "https://user:pw@mail.example.com",
            "https://mail.example.com/?a=1",
            "https://mail.example.com/#x",
        ] {
            assert_eq!(
                MailConfig::new(odd, key(), true).unwrap_err(),
                MailConfigError::InvalidUrl,
                "{odd}"
            );
        }
        assert_eq!(
            MailConfig::new("https://mail.example.com", SecretString::new(" "), true).unwrap_err(),
            MailConfigError::MissingApiKey
        );
        assert_eq!(config().timeout_ms(), DEFAULT_MAIL_TIMEOUT_MS);
    }

    #[test]
    fn every_kind_has_a_distinct_wire_name() {
        let kinds = [
            MailKind::VerifyEmail,
            MailKind::AccountExists,
            MailKind::PasswordReset,
            MailKind::PasswordChanged,
            MailKind::EmailChangeRequested,
            MailKind::ConfirmNewEmail,
            MailKind::EmailChangeRejected,
            MailKind::TwoFactorEnabled,
            MailKind::TwoFactorDisabled,
            MailKind::AccountDeleted,
        ];
        let mut names: Vec<_> = kinds.iter().map(|k| kind_name(*k)).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), kinds.len());
    }
}
