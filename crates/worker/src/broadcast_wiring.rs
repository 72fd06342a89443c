//! The admin broadcast step of the every-minute `dispatch` job: builds the ntfy sender (the
//! same `crate::ntfy_wiring::NtfySender` as the pipeline, with the KV breaker `breaker:ntfy`)
//! and runs `cl_app::notify_admin::send_broadcasts` over D1. It never fails the job: what it
//! did, and why it stopped early, is one log line.

use crate::adapters::{KvBreakerStore, RunClock};
use crate::bindings;
use cl_app::notify_admin::{send_broadcasts, BroadcastBudget};
use cl_store_d1::D1Store;
use serde_json::json;
use worker::Env;

fn log(level: &str, fields: serde_json::Value) {
    let mut line = json!({"level": level, "event": "job_run", "job": "dispatch"});
    if let (Some(line), serde_json::Value::Object(extra)) = (line.as_object_mut(), fields) {
        line.extend(extra);
    }
    if level == "warn" {
        worker::console_warn!("{line}");
    } else {
        worker::console_log!("{line}");
    }
}

/// Sends due schedules and open broadcasts at `now_ms`.
pub(crate) async fn dispatch_broadcasts(env: &Env, store: &D1Store, now_ms: i64) {
    let kv = match env.kv(bindings::KV) {
        Ok(kv) => kv,
        Err(e) => {
            log("warn", json!({"broadcasts": format!("kv binding: {e}")}));
            return;
        }
    };
    let breakers = KvBreakerStore::new(kv);
    let clock = RunClock::starting_at(now_ms);
    let sender = crate::ntfy_wiring::NtfySender::from_env(env, clock, &breakers);
    let r = send_broadcasts(store, &sender, BroadcastBudget::default(), now_ms).await;
    let busy = r.schedules_started + r.sent + r.failed + r.deferred + r.finished > 0;
    if busy || !r.errors.is_empty() {
        log(
            if r.errors.is_empty() { "info" } else { "warn" },
            json!({
                "broadcast_schedules_started": r.schedules_started,
                "broadcast_sent": r.sent,
                "broadcast_failed": r.failed,
                "broadcast_deferred": r.deferred,
                "broadcasts_finished": r.finished,
                "errors": r.errors,
            }),
        );
    }
}
