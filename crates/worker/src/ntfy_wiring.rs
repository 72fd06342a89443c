//! The ntfy channel of the scheduled pipeline: `cl_outbound::NtfyClient` over `fetch`, with its
//! retry policy and the KV breaker (`breaker:ntfy`), adapted to the app's
//! [`NotificationSender`] port.
//!
//! - `NTFY_BASE_URL` (default `https://ntfy.sh`): https only; plain http to loopback only when
//!   `ENVIRONMENT=development` (the fake ntfy of the tests). A bad value disables sending: the
//!   deliveries stay queued (reported as unavailable), nothing is lost.
//! - The global topic is NOT configured here: it is the stored admin setting
//!   (`notify.global_topic` / `notify.global_topic_enabled`), read once per tick by the jobs
//!   (`cl_app::global_settings::GlobalSettings::notify_config`).
//! - An open breaker (or a ban) is "unavailable": the notifier leaves the rest queued. Any other
//!   failure after the client's 3 tries is "failed" and recorded on the delivery row.

use crate::adapters::{DelaySleeper, KvBreakerStore, RunClock};
use crate::bindings;
use crate::fetch_transport::FetchTransport;
use cl_app::notify::{NotificationSender, OutgoingMessage, SendFailure};
use cl_outbound::{
    BaseUrl, CallError, NtfyClient, NtfyConfig, NtfyFailure, NtfyMessage, Scheme, SendOutcome,
};
use worker::Env;

/// Config var: the ntfy server.
pub const NTFY_BASE_URL: &str = "NTFY_BASE_URL";
const DEFAULT_SERVER: &str = "https://ntfy.sh";

/// The app's sender over the ntfy client (or a disabled one when the config is bad).
pub(crate) struct NtfySender<'a> {
    client: Result<NtfyClient<FetchTransport, DelaySleeper, RunClock, &'a KvBreakerStore>, String>,
}

impl<'a> NtfySender<'a> {
    /// The sender configured from `Env`.
    pub(crate) fn from_env(env: &Env, clock: RunClock, breakers: &'a KvBreakerStore) -> Self {
        let raw = bindings::lookup(env, NTFY_BASE_URL).unwrap_or_else(|| DEFAULT_SERVER.into());
        let development = bindings::lookup(env, "ENVIRONMENT").as_deref() == Some("development");
        let scheme = if development {
            Scheme::AllowInsecureLoopback
        } else {
            Scheme::HttpsOnly
        };
        let client = BaseUrl::parse(&raw, scheme)
            .map(|server| {
                NtfyClient::new(
                    NtfyConfig::new(server),
                    FetchTransport,
                    DelaySleeper,
                    clock,
                    breakers,
                )
            })
            .map_err(|e| format!("{NTFY_BASE_URL}: {e}"));
        Self { client }
    }
}

impl NotificationSender for NtfySender<'_> {
    async fn send(&self, m: &OutgoingMessage) -> Result<(), SendFailure> {
        let client = self
            .client
            .as_ref()
            .map_err(|e| SendFailure::Unavailable(e.clone()))?;
        let tags: Vec<&str> = m.tags.iter().map(String::as_str).collect();
        let message = NtfyMessage::new(&m.topic, &m.title, &m.body, m.priority, &tags)
            .map_err(|e| SendFailure::Failed(e.to_string()))?;
        match client.send(&message).await {
            SendOutcome::Sent => Ok(()),
            SendOutcome::Failed {
                reason:
                    NtfyFailure::Call(e @ (CallError::BreakerOpen(_) | CallError::Banned { .. })),
            } => Err(SendFailure::Unavailable(e.to_string())),
            SendOutcome::Failed { reason } => Err(SendFailure::Failed(reason.to_string())),
        }
    }
}
