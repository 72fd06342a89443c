//! # cl-telemetry: structured JSON logs through `tracing`
//!
//! [`JsonSubscriber`] is a small `tracing` subscriber for a single-threaded, clock-less
//! runtime (a Workers isolate): every event becomes ONE JSON line handed to a [`Sink`] (the
//! console in the worker, a recorder in tests). The line carries `ts`, `level`, `target`,
//! `message`, the event's fields, and the fields of every span the event happened in, outer
//! first, so a `request` span with `request_id`, `route` and `user_id`, or a `cron_run` span
//! with `job` and `run_id`, tags every line logged inside it without threading ids around.
//!
//! Design choices:
//! - **Redaction by field name, at the one place lines are written.** A field whose name
//!   looks like a secret ([`is_secret_field`]: password, token, secret, cookie, authorization,
//!   signature, key, code, …) is written as `[REDACTED]` whatever its value, so a careless
//!   `info!(password = %p)` cannot leak. Ids that merely end in `_id` stay visible.
//! - **An injected clock** (`fn() -> i64`, UTC ms): `SystemTime::now` panics on wasm32.
//! - **serde_json** writes the line, so control characters are escaped (no log injection).
//! - No `tracing-subscriber`: the worker needs none of its layers, and this stays small.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// What replaces a secret field's value.
pub const REDACTED: &str = "[REDACTED]";

/// Where lines go.
pub trait Sink: Send + Sync + 'static {
    /// Writes one complete JSON line (no trailing newline) at `level`.
    fn write(&self, level: Level, line: &str);
}

/// Whether a field name looks like it holds a secret. Exact names and `_`-separated parts
/// are checked, so `api_key`, `session_token` and `totp_code` are secret while `key_id`,
/// `user_id` and `status_code` are not.
pub fn is_secret_field(name: &str) -> bool {
    const SECRET_PARTS: [&str; 13] = [
        "password",
        "passwd",
        "secret",
        "token",
        "cookie",
        "authorization",
        "signature",
        "sig",
        "pepper",
        "otp",
        "totp",
        "credential",
        "credentials",
    ];
    let lower = name.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "key" | "api_key" | "apikey" | "code" | "totp_code"
    ) {
        return true;
    }
    let parts: Vec<&str> = lower.split(['_', '-', '.']).collect();
    let last = parts.last().copied().unwrap_or("");
    parts.iter().any(|p| SECRET_PARTS.contains(p))
        // `…_key` (an encryption or API key) is secret; `key_id`, `key_prefix` are not.
        || last == "key"
        // `totp_code`, `recovery_code`; `status_code`/`error_code` are not.
        || (last == "code" && parts.iter().any(|p| matches!(*p, "totp" | "recovery" | "otp" | "auth")))
}

/// Collects fields into a JSON map, redacting secrets.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Fields<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        let value = if is_secret_field(name) {
            Value::String(REDACTED.to_owned())
        } else {
            value
        };
        self.0.insert(name.to_owned(), value);
    }
}

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(value.to_string()));
    }
}

struct SpanData {
    refs: usize,
    fields: Map<String, Value>,
}

thread_local! {
    // The entered spans of this thread, innermost last (a Workers isolate has one thread).
    static STACK: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// The subscriber. Install once per isolate with [`install`].
pub struct JsonSubscriber<S> {
    sink: S,
    clock: fn() -> i64,
    max_level: Level,
    next_id: AtomicU64,
    spans: Mutex<HashMap<u64, SpanData>>,
}

impl<S: Sink> JsonSubscriber<S> {
    /// A subscriber writing events at `max_level` or more severe to `sink`.
    pub fn new(sink: S, clock: fn() -> i64, max_level: Level) -> Self {
        Self {
            sink,
            clock,
            max_level,
            next_id: AtomicU64::new(1),
            spans: Mutex::new(HashMap::new()),
        }
    }

    /// The JSON line of `event` (what [`Subscriber::event`] writes).
    fn line(&self, event: &Event<'_>) -> String {
        let meta = event.metadata();
        let mut out = Map::new();
        out.insert("ts".into(), Value::from((self.clock)()));
        out.insert(
            "level".into(),
            Value::String(meta.level().as_str().to_ascii_lowercase()),
        );
        out.insert("target".into(), Value::String(meta.target().to_owned()));
        // Span fields first (outer to inner), then the event's own, which win on a clash.
        if let Ok(spans) = self.spans.lock() {
            STACK.with(|stack| {
                for id in stack.borrow().iter() {
                    if let Some(span) = spans.get(id) {
                        for (k, v) in &span.fields {
                            out.insert(k.clone(), v.clone());
                        }
                    }
                }
            });
        }
        event.record(&mut Fields(&mut out));
        serde_json::to_string(&Value::Object(out)).unwrap_or_default()
    }
}

impl<S: Sink> Subscriber for JsonSubscriber<S> {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= &self.max_level
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::from_level(
            self.max_level,
        ))
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).max(1);
        let mut fields = Map::new();
        attrs.record(&mut Fields(&mut fields));
        if let Ok(mut spans) = self.spans.lock() {
            spans.insert(id, SpanData { refs: 1, fields });
        }
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Ok(mut spans) = self.spans.lock() {
            if let Some(data) = spans.get_mut(&span.into_u64()) {
                values.record(&mut Fields(&mut data.fields));
            }
        }
    }

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let line = self.line(event);
        self.sink.write(*event.metadata().level(), &line);
    }

    fn enter(&self, span: &Id) {
        STACK.with(|s| s.borrow_mut().push(span.into_u64()));
    }

    fn exit(&self, span: &Id) {
        STACK.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(pos) = s.iter().rposition(|id| *id == span.into_u64()) {
                s.remove(pos);
            }
        });
    }

    fn clone_span(&self, id: &Id) -> Id {
        if let Ok(mut spans) = self.spans.lock() {
            if let Some(data) = spans.get_mut(&id.into_u64()) {
                data.refs += 1;
            }
        }
        id.clone()
    }

    fn try_close(&self, id: Id) -> bool {
        let Ok(mut spans) = self.spans.lock() else {
            return false;
        };
        let key = id.into_u64();
        let closed = match spans.get_mut(&key) {
            Some(data) if data.refs > 1 => {
                data.refs -= 1;
                false
            }
            Some(_) => true,
            None => false,
        };
        if closed {
            spans.remove(&key);
        }
        closed
    }
}

/// Installs `subscriber` as the global default. Returns `false` when one was already set
/// (a second isolate start, or a test that installed its own): logging keeps working.
pub fn install<S: Sink>(subscriber: JsonSubscriber<S>) -> bool {
    tracing::subscriber::set_global_default(subscriber).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl Sink for Recorder {
        fn write(&self, _level: Level, line: &str) {
            self.0.lock().unwrap().push(line.to_owned());
        }
    }

    fn lines(rec: &Recorder) -> Vec<Value> {
        rec.0
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn with_subscriber(max: Level, f: impl FnOnce()) -> Vec<Value> {
        let rec = Recorder::default();
        let sub = JsonSubscriber::new(rec.clone(), || 1_700_000_000_000, max);
        tracing::subscriber::with_default(sub, f);
        lines(&rec)
    }

    #[test]
    fn an_event_is_one_json_line_with_span_fields_outer_first() {
        let out = with_subscriber(Level::INFO, || {
            let req = tracing::info_span!("request", request_id = "req-1", route = "/api/v1/x");
            let _r = req.enter();
            let run = tracing::info_span!("cron_run", job = "pipeline", run_id = 7_i64);
            let _c = run.enter();
            tracing::info!(status = 200_u64, latency_ms = 3_i64, "done");
        });
        assert_eq!(out.len(), 1);
        let l = &out[0];
        assert_eq!(l["ts"], 1_700_000_000_000_i64);
        assert_eq!(l["level"], "info");
        assert_eq!(l["message"], "done");
        assert_eq!(l["request_id"], "req-1");
        assert_eq!(l["route"], "/api/v1/x");
        assert_eq!(l["job"], "pipeline");
        assert_eq!(l["run_id"], 7);
        assert_eq!(l["status"], 200);
    }

    #[test]
    fn fields_recorded_later_reach_the_span() {
        let out = with_subscriber(Level::INFO, || {
            let req = tracing::info_span!("request", user_id = tracing::field::Empty);
            let _r = req.enter();
            req.record("user_id", 42_i64);
            tracing::warn!("after auth");
        });
        assert_eq!(out[0]["user_id"], 42);
        assert_eq!(out[0]["level"], "warn");
    }

    #[test]
    fn secret_looking_fields_are_redacted_whatever_their_value() {
        let out = with_subscriber(Level::INFO, || {
            let span = tracing::info_span!("request", session_token = "tok-abc");
            let _s = span.enter();
            tracing::info!(
                password = "Hunter2!",
                api_key = "clk_live_secret",
                authorization = "Bearer x",
                totp_code = "123456",
                encryption_key = "k",
                key_id = "k1",
                user_id = 5_i64,
                status_code = 401_u64,
                "attempt"
            );
        });
        let l = &out[0];
        for secret in [
            "password",
            "api_key",
            "authorization",
            "totp_code",
            "encryption_key",
            "session_token",
        ] {
            assert_eq!(l[secret], REDACTED, "{secret}");
        }
        assert_eq!(l["key_id"], "k1");
        assert_eq!(l["user_id"], 5);
        assert_eq!(l["status_code"], 401);
        let text = serde_json::to_string(l).unwrap();
        for leaked in ["Hunter2", "clk_live", "Bearer", "123456", "tok-abc"] {
            assert!(!text.contains(leaked), "{leaked} leaked: {text}");
        }
    }

    #[test]
    fn levels_below_the_maximum_are_dropped() {
        let out = with_subscriber(Level::INFO, || {
            tracing::debug!("noise");
            tracing::error!("kept");
        });
        assert_eq!(out.len(), 1);
        assert_eq!(out[0]["level"], "error");
    }

    #[test]
    fn control_characters_cannot_forge_a_second_line() {
        let out = with_subscriber(Level::INFO, || {
            tracing::info!(route = "/x\n{\"level\":\"error\"}", "evil");
        });
        assert_eq!(out.len(), 1);
        let rec = Recorder::default();
        let sub = JsonSubscriber::new(rec.clone(), || 0, Level::INFO);
        tracing::subscriber::with_default(sub, || tracing::info!(route = "a\nb", "x"));
        assert!(!rec.0.lock().unwrap()[0].contains('\n'));
    }

    #[test]
    fn closed_spans_are_forgotten() {
        let rec = Recorder::default();
        let sub = Arc::new(JsonSubscriber::new(rec, || 0, Level::INFO));
        let dispatch = tracing::Dispatch::from(Arc::clone(&sub));
        tracing::dispatcher::with_default(&dispatch, || {
            for _ in 0..100 {
                let span = tracing::info_span!("request", request_id = "r");
                let _e = span.enter();
                tracing::info!("x");
            }
        });
        assert!(sub.spans.lock().unwrap().is_empty());
    }

    #[test]
    fn the_secret_field_rule() {
        for secret in [
            "password",
            "new_password",
            "csrf_token",
            "pepper",
            "x-api-key",
            "cookie",
        ] {
            assert!(is_secret_field(secret), "{secret}");
        }
        for open in [
            "user_id",
            "key_id",
            "key_prefix",
            "route",
            "status",
            "error_code",
            "job",
        ] {
            assert!(!is_secret_field(open), "{open}");
        }
    }
}
