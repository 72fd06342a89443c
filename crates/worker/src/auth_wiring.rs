//! The account dependencies of one request: the configured store (its account ports), the
//! WebCrypto hasher, the KV rate limits (one counter set per isolate), the worker clock, the
//! console as the event sink, and the account secrets from the typed config. Handed to
//! [`cl_api::handle_api_with`] as one [`Accounts`] bundle.
//!
//! Mail: the HTTP mailer ([`crate::mailer::HttpMailer`]) when `MAIL_BASE_URL` and
//! `MAIL_API_KEY` are set and valid; otherwise [`MailSkipped`], which logs `mail_skipped` with
//! the message kind only (never the recipient or a parameter: those hold tokens) and reports
//! the message as NOT sent (`MailError`), so the flows log a `mail_failure`; the HTTP answers
//! do not change either way.

use crate::bindings;
use crate::fetch_transport::FetchTransport;
use crate::kv_ratelimit::{IsolateCounters, KvRateLimits, WorkersKv};
use crate::mailer::{HttpMailer, MailConfig};
use crate::webcrypto_hasher::WebCryptoHasher;
use cl_api::auth::Accounts;
use cl_api::context::RequestContext;
use cl_api::events::EventSink;
use cl_api::health::DependencyProbes;
use cl_api::http::Request;
use cl_api::{handle_api, handle_api_with, App, Handled, Store};
use cl_app::ports::{Clock, Mail, MailError, Mailer};
use cl_auth::password::Pbkdf2Params;
use cl_auth::SecretString;
use worker::Env;

thread_local! {
    // One counter set per isolate, alive as long as the isolate (leaked once, on purpose).
    static COUNTERS: &'static IsolateCounters =
        Box::leak(Box::new(IsolateCounters::with_random_shard()));
    // The mail configuration cannot change within an isolate: say once why mail is skipped
    // (a line per request cost the load run a third of its throughput).
    static MAIL_WARNED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Security events to the console, one JSON line each.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsoleEvents;

impl EventSink for ConsoleEvents {
    fn emit(&self, line: &str) {
        worker::console_log!("{line}");
    }
}

/// The platform clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerClock;

impl Clock for WorkerClock {
    fn now_ms(&self) -> i64 {
        worker::Date::now().as_millis() as i64
    }
}

/// Stands in for a mail provider until one is wired: nothing is sent, and every message is
/// reported as not sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct MailSkipped;

impl Mailer for MailSkipped {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        worker::console_warn!(
            "{}",
            serde_json::json!({
                "level": "warn",
                "category": "auth",
                "event": "mail_skipped",
                "kind": format!("{:?}", mail.kind),
            })
        );
        Err(MailError::Unavailable("no mail provider is wired".into()))
    }
}

/// The mailer of this request: HTTP when configured, else skipped (never faked as sent).
#[derive(Debug)]
pub enum WorkerMailer {
    /// `POST {MAIL_BASE_URL}/send`.
    Http(HttpMailer<FetchTransport>),
    /// No (valid) mail configuration.
    Skipped(MailSkipped),
}

impl WorkerMailer {
    /// Reads `MAIL_BASE_URL` / `MAIL_API_KEY`; logs why mail is skipped (names, never values),
    /// once per isolate.
    pub fn from_env(env: &Env, production: bool) -> Self {
        let base = bindings::lookup(env, "MAIL_BASE_URL").filter(|v| !v.trim().is_empty());
        let key = bindings::lookup(env, "MAIL_API_KEY").filter(|v| !v.trim().is_empty());
        let problem = match (base, key) {
            (Some(base), Some(key)) => {
                match MailConfig::new(&base, SecretString::new(key), production) {
                    Ok(config) => return Self::Http(HttpMailer::new(config, FetchTransport)),
                    Err(e) => e.to_string(),
                }
            }
            _ => "MAIL_BASE_URL or MAIL_API_KEY is unset".to_owned(),
        };
        if !MAIL_WARNED.with(|w| w.replace(true)) {
            worker::console_warn!(
                "{}",
                serde_json::json!({"level": "warn", "event": "mail_unconfigured", "problem": problem})
            );
        }
        Self::Skipped(MailSkipped)
    }
}

impl Mailer for WorkerMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        match self {
            Self::Http(m) => m.send(mail).await,
            Self::Skipped(m) => m.send(mail).await,
        }
    }
}

/// Handles an API request with the account dependencies over `app.store`. Without usable
/// account secrets or the KV binding, the account routes answer 503 (logged once per
/// request) and everything else is served as before.
pub async fn handle<P, S>(
    app: &App<P, S>,
    env: &Env,
    req: &Request,
    ctx: &RequestContext,
) -> Handled
where
    P: DependencyProbes,
    S: Store + cl_api::keys::KeyStores + cl_api::portfolio::PortfolioStores,
{
    let keys = match app.config.secrets.account_keys() {
        Ok(keys) => keys,
        Err(problem) => {
            worker::console_warn!(
                "{}",
                serde_json::json!({"level": "warn", "event": "accounts_unwired", "problem": problem.to_string()})
            );
            return handle_api(app, req, ctx).await;
        }
    };
    let kv = match env.kv(bindings::KV) {
        Ok(kv) => kv,
        Err(err) => {
            worker::console_warn!(
                "{}",
                serde_json::json!({"level": "warn", "event": "accounts_unwired", "problem": format!("kv binding: {err}")})
            );
            return handle_api(app, req, ctx).await;
        }
    };
    let counters = COUNTERS.with(|c| *c);
    let limits = KvRateLimits::new(WorkersKv(kv), counters);
    let hasher = WebCryptoHasher::new(Pbkdf2Params::default());
    let mailer = WorkerMailer::from_env(
        env,
        app.config.environment == cl_api::config::Environment::Production,
    );
    let payments = crate::payments::WorkerPayments::from_env(env, &app.config);
    let payment_deps = payments.as_ref().map(crate::payments::WorkerPayments::deps);
    let credential_keys =
        cl_api::credentials::credentials_keyring(app.config.secrets.credentials_key.as_ref());
    let portfolio = cl_api::portfolio::PortfolioRoutes {
        store: &app.store,
        credential_keys: credential_keys.as_ref(),
    };
    let accounts = Accounts {
        store: &app.store,
        mailer: &mailer,
        hasher: &hasher,
        clock: &WorkerClock,
        limits: &limits,
        keys: &keys.auth,
        account_pepper: &keys.account_pepper,
        events: &ConsoleEvents,
        payments: payment_deps.as_ref(),
        portfolio: Some(&portfolio),
    };
    handle_api_with(app, &accounts, req, ctx).await
}
