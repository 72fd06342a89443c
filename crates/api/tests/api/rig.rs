//! The account rig: the HTTP layer over the memory store, a manual clock, a recording mailer,
//! in-memory rate limits and a recording event sink; plus a small browser-like client that
//! keeps the session cookie and the CSRF token.

use crate::helpers::{app_with, dev_config, healthy, Resp, TestApp};
use cl_api::auth::Accounts;
use cl_api::config::keys;
use cl_api::context::RequestContext;
use cl_api::events::EventSink;
use cl_api::http::{Headers, Method, Request};
use cl_api::{finalize, handle_api_with, AccessLog};
use cl_app::accounts::{AuthKeys, Pbkdf2Hasher};
use cl_app::clock::ManualClock;
use cl_app::ports::{mail_param, Clock, Mail, MailError, MailKind, Mailer, UserId, UserStore};
use cl_auth::crypto::{totp_aad, EncryptionKey, KeyId, Keyring};
use cl_auth::email::Email;
use cl_auth::password::Pbkdf2Params;
use cl_auth::totp::{step_at, TotpSecret};
use cl_auth::SecretString;
use cl_store_memory::{MemoryRateLimits, MemoryStore};
use serde_json::Value;
use std::cell::{Cell, RefCell};

/// The rig's rate limits: the memory limiter for every rule except the 10/s per-IP API limit,
/// which the manual clock (it stands still between requests) would trip on a test's 11th
/// request. That limit has its own tests (`cl_api::client_limit`, and in workerd
/// tests/worker/api-ip-limit.test.mjs).
pub struct RigLimits(pub MemoryRateLimits);

impl std::ops::Deref for RigLimits {
    type Target = MemoryRateLimits;
    fn deref(&self) -> &MemoryRateLimits {
        &self.0
    }
}

impl cl_app::ports::RateLimitStore for RigLimits {
    async fn hit(
        &self,
        rule: &cl_auth::ratelimit::Rule,
        subject: &str,
        now_ms: i64,
    ) -> Result<cl_auth::ratelimit::Decision, cl_app::ports::StoreError> {
        if rule.scope == cl_auth::ratelimit::rules::API_PER_IP.scope {
            return Ok(cl_auth::ratelimit::Decision::Allowed {
                remaining: rule.limit,
            });
        }
        self.0.hit(rule, subject, now_ms).await
    }
}

pub const APP_URL: &str = "https://app.example";
pub const PARTNER: &str = "https://partner.example";
pub const T0: i64 = 1_700_000_000_000;
pub const PASSWORD: &str = "Correct7Horse";

#[derive(Debug, Default)]
pub struct RecordingMailer {
    pub sent: RefCell<Vec<Mail>>,
}

impl Mailer for RecordingMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        self.sent.borrow_mut().push(mail.clone());
        Ok(())
    }
}

impl RecordingMailer {
    pub fn last_token(&self, kind: MailKind, to: &str) -> String {
        self.sent
            .borrow()
            .iter()
            .rev()
            .find(|m| m.kind == kind && m.to.as_str() == to)
            .and_then(|m| m.param(mail_param::TOKEN))
            .map(|t| t.expose_secret().to_owned())
            .unwrap_or_else(|| panic!("no {kind:?} mail to {to}"))
    }
}

#[derive(Debug, Default)]
pub struct RecordingEvents(pub RefCell<Vec<String>>);

impl EventSink for RecordingEvents {
    fn emit(&self, line: &str) {
        self.0.borrow_mut().push(line.to_owned());
    }
}

impl RecordingEvents {
    pub fn named(&self, event: &str) -> usize {
        self.0
            .borrow()
            .iter()
            .filter(|l| serde_json::from_str::<Value>(l).unwrap()["event"].as_str() == Some(event))
            .count()
    }
}

pub struct Rig {
    pub app: TestApp,
    pub store: MemoryStore,
    pub mailer: RecordingMailer,
    pub hasher: Pbkdf2Hasher,
    pub clock: ManualClock,
    pub limits: RigLimits,
    pub keys: AuthKeys,
    pub keyring: Keyring,
    pub pepper: SecretString,
    pub events: RecordingEvents,
    pub access_log: RefCell<Vec<String>>,
    /// Every response: method, route template, status, body.
    pub seen: RefCell<Vec<(Method, &'static str, u16, Value)>>,
    seq: Cell<u32>,
    /// When set, every request uses this request id (byte-identical bodies).
    pub fixed_request_id: RefCell<Option<String>>,
}

impl Rig {
    pub fn new() -> Self {
        let keyring = Keyring::new(
            KeyId::parse("totp1").unwrap(),
            EncryptionKey::from_bytes([0x42; 32]),
        );
        let pepper = SecretString::new("lockout-pepper-lockout-pepper-0123456789");
        Self {
            app: app_with(
                dev_config(&[(keys::APP_URL, APP_URL), (keys::CORS_ORIGINS, PARTNER)]),
                healthy(),
                MemoryStore::new(),
            ),
            store: MemoryStore::new(),
            mailer: RecordingMailer::default(),
            hasher: Pbkdf2Hasher::new(Pbkdf2Params::new(10).unwrap()),
            clock: ManualClock::new(T0),
            limits: RigLimits(MemoryRateLimits::new()),
            keys: AuthKeys::new(
                SecretString::new("session-key-session-key-0123456789abcdef"),
                pepper.clone(),
                SecretString::new("recovery-key-recovery-key-0123456789abc"),
                keyring.clone(),
            ),
            keyring,
            pepper,
            events: RecordingEvents::default(),
            access_log: RefCell::new(Vec::new()),
            seen: RefCell::new(Vec::new()),
            seq: Cell::new(0),
            fixed_request_id: RefCell::new(None),
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn advance(&self, ms: i64) {
        self.clock.set(self.now() + ms);
    }

    /// Sends one request from `ip` (as `CF-Connecting-IP`).
    pub fn send_from(&self, req: Request, ip: &str) -> Resp {
        self.seq.set(self.seq.get() + 1);
        let id = self
            .fixed_request_id
            .borrow()
            .clone()
            .unwrap_or_else(|| format!("req-{:08}", self.seq.get()));
        let ctx = RequestContext::new(None, || id, self.now(), Some(ip));
        let accounts = Accounts {
            store: &self.store,
            mailer: &self.mailer,
            hasher: &self.hasher,
            clock: &self.clock,
            limits: &self.limits,
            keys: &self.keys,
            account_pepper: &self.pepper,
            events: &self.events,
            payments: None,
            portfolio: None,
        };
        let handled = pollster::block_on(handle_api_with(&self.app, &accounts, &req, &ctx));
        let route = handled.route;
        let resp = finalize(handled.response, &ctx, true);
        let log = AccessLog {
            ts: ctx.now_ms,
            level: cl_api::level_for(resp.status),
            request_id: &ctx.request_id,
            method: req.method.as_str(),
            route,
            status: resp.status,
            latency_ms: 0,
            error: handled.error_cause.as_deref(),
        };
        self.access_log.borrow_mut().push(log.to_json());
        let json = if resp.body.is_empty() {
            Value::Null
        } else {
            if resp
                .headers
                .get("content-type")
                .is_some_and(|t| t.starts_with("text/plain"))
            {
                // `/metrics` answers Prometheus text; its tests read `body`.
                Value::Null
            } else {
                serde_json::from_slice(&resp.body).unwrap()
            }
        };
        self.seen
            .borrow_mut()
            .push((req.method, route, resp.status, json.clone()));
        Resp {
            status: resp.status,
            json,
            headers: resp.headers,
            body: resp.body,
            route,
        }
    }

    pub fn user_id(&self, email: &str) -> UserId {
        pollster::block_on(self.store.user_by_email(&Email::parse(email).unwrap()))
            .unwrap()
            .unwrap()
            .id
    }

    pub fn totp_code(&self, email: &str) -> String {
        let user = pollster::block_on(self.store.user(self.user_id(email)))
            .unwrap()
            .unwrap();
        let enc = user.totp.secret_enc.unwrap();
        let plain = self
            .keyring
            .open_str(&enc, &totp_aad(&user.id.to_string()))
            .unwrap();
        TotpSecret::from_bytes(&plain)
            .unwrap()
            .code_at_step(step_at(self.now()))
    }

    /// A fresh browser: a pre-session cookie and its CSRF token.
    pub fn browser(&self, ip: &str) -> Browser<'_> {
        let mut b = Browser {
            rig: self,
            ip: ip.to_owned(),
            cookie: None,
            csrf: None,
        };
        let r = b.get("/api/v1/auth/csrf");
        assert_eq!(r.status, 200, "{}", r.json);
        b.csrf = r.data()["csrf_token"].as_str().map(str::to_owned);
        b
    }

    /// Registers, verifies and returns a logged-in browser.
    pub fn signed_up(&self, email: &str, username: &str, ip: &str) -> Browser<'_> {
        let mut b = self.browser(ip);
        let r = b.post(
            "/api/v1/auth/register",
            serde_json::json!({"email": email, "username": username, "password": PASSWORD}),
        );
        assert_eq!(r.status, 202, "{}", r.json);
        let token = self.mailer.last_token(MailKind::VerifyEmail, email);
        let r = b.post(
            "/api/v1/auth/verify-email",
            serde_json::json!({ "token": token }),
        );
        assert_eq!(r.status, 200, "{}", r.json);
        let r = b.login(email, PASSWORD);
        assert_eq!(r.status, 200, "{}", r.json);
        b
    }
}

/// A browser-like client: keeps the cookie (from `Set-Cookie`) and the CSRF token.
pub struct Browser<'r> {
    pub rig: &'r Rig,
    pub ip: String,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

impl Browser<'_> {
    pub fn request(&self, method: Method, path: &str, body: Option<Value>) -> Request {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut headers = Headers::new();
        headers.set("origin", APP_URL);
        headers.set("user-agent", "test-browser");
        if let Some(c) = &self.cookie {
            headers.set("cookie", format!("__Host-cl_session={c}"));
        }
        if let Some(t) = &self.csrf {
            headers.set("x-csrf-token", t.clone());
        }
        let body = match body {
            Some(v) => {
                headers.set("content-type", "application/json");
                serde_json::to_vec(&v).unwrap()
            }
            None => Vec::new(),
        };
        Request {
            method,
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body,
        }
    }

    pub fn send(&mut self, req: Request) -> Resp {
        let r = self.rig.send_from(req, &self.ip);
        if let Some(set) = r.headers.get("set-cookie") {
            let value = set
                .strip_prefix("__Host-cl_session=")
                .and_then(|v| v.split(';').next())
                .unwrap();
            self.cookie = (!value.is_empty()).then(|| value.to_owned());
        }
        if let Some(t) = r.json["data"]["csrf_token"].as_str() {
            self.csrf = Some(t.to_owned());
        }
        r
    }

    pub fn get(&mut self, path: &str) -> Resp {
        let req = self.request(Method::Get, path, None);
        self.send(req)
    }

    pub fn post(&mut self, path: &str, body: Value) -> Resp {
        let req = self.request(Method::Post, path, Some(body));
        self.send(req)
    }

    pub fn post_empty(&mut self, path: &str) -> Resp {
        let req = self.request(Method::Post, path, None);
        self.send(req)
    }

    pub fn delete(&mut self, path: &str) -> Resp {
        let req = self.request(Method::Delete, path, None);
        self.send(req)
    }

    pub fn login(&mut self, email: &str, password: &str) -> Resp {
        self.post(
            "/api/v1/auth/login",
            serde_json::json!({"email": email, "password": password}),
        )
    }
}

/// `Set-Cookie` attributes (after the name=value pair), as written.
pub fn cookie_attrs(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_owned())
        .collect()
}
