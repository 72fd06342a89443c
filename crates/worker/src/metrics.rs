//! Request counters of this isolate ([`cl_app::metrics::RequestMetrics`]) and their KV
//! copies, plus the breaker states, for `/api/v1/metrics` and `/health`.
//!
//! Each isolate counts in memory and writes its cumulative totals to KV under its own key
//! (`metrics:isolate:{id}`, 7-day TTL) at most once per [`FLUSH_MS`], after the response
//! (`wait_until`). One key per isolate keeps every key far below KV's one write per second,
//! and a reader sums the keys: this isolate's live counters plus every other isolate's last
//! flush. See docs/decisions.md (metrics) for what that costs in freshness.

use cl_app::metrics::{BreakerGauge, RequestMetrics};
use cl_outbound::breaker::{BreakerRecord, BreakerState};
use std::cell::RefCell;
use worker::kv::KvStore;

/// Key prefix of the per-isolate copies.
pub const PREFIX: &str = "metrics:isolate:";
/// Minimum time between two flushes of one isolate, ms.
pub const FLUSH_MS: i64 = 10_000;
/// Lifetime of a copy after its last flush (an isolate that died stops counting).
const TTL_SECS: u64 = 7 * 24 * 3600;
/// At most this many isolate copies are read per scrape.
const MAX_ISOLATES: usize = 200;
/// The upstreams whose breakers are reported (their `breaker:{name}` keys in KV).
pub const UPSTREAMS: [&str; 4] = ["exchange", "ntfy", "lemonsqueezy", "nowpayments"];

struct Local {
    id: String,
    counters: RequestMetrics,
    last_flush_ms: Option<i64>,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local {
        id: crate::convert::fresh_request_id(),
        counters: RequestMetrics::default(),
        last_flush_ms: None,
    });
}

/// A due flush: the key and the JSON to write.
pub struct Flush {
    key: String,
    body: String,
}

/// Counts one request; returns a flush when one is due.
pub fn record(route: &str, status: u16, latency_ms: i64, now_ms: i64) -> Option<Flush> {
    LOCAL.with(|cell| {
        let mut local = cell.borrow_mut();
        local.counters.record(route, status, latency_ms);
        let due = local
            .last_flush_ms
            .is_none_or(|last| now_ms - last >= FLUSH_MS);
        if !due {
            return None;
        }
        local.last_flush_ms = Some(now_ms);
        let body = serde_json::to_string(&local.counters).ok()?;
        Some(Flush {
            key: format!("{PREFIX}{}", local.id),
            body,
        })
    })
}

/// Writes a flush; a failure only costs freshness, so it is logged and dropped.
pub async fn flush(kv: KvStore, flush: Flush) {
    let put = kv
        .put(&flush.key, flush.body)
        .map(|p| p.expiration_ttl(TTL_SECS));
    let result = match put {
        Ok(put) => put.execute().await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "metrics flush failed");
    }
}

/// This isolate's live counters plus every other isolate's last flush.
pub async fn all_isolates(kv: Option<&KvStore>) -> Vec<RequestMetrics> {
    let (own_key, own) = LOCAL.with(|cell| {
        let local = cell.borrow();
        (format!("{PREFIX}{}", local.id), local.counters.clone())
    });
    let mut out = vec![own];
    let Some(kv) = kv else {
        return out;
    };
    let listed = match kv.list().prefix(PREFIX.to_owned()).execute().await {
        Ok(listed) => listed,
        Err(e) => {
            tracing::warn!(error = %e, "metrics list failed");
            return out;
        }
    };
    for key in listed.keys.iter().take(MAX_ISOLATES) {
        if key.name == own_key {
            continue;
        }
        if let Ok(Some(text)) = kv.get(&key.name).text().await {
            if let Ok(m) = serde_json::from_str::<RequestMetrics>(&text) {
                out.push(m);
            }
        }
    }
    out
}

/// The breakers' states from their KV records; a missing or unreadable record is closed.
pub async fn breakers(kv: Option<&KvStore>, now_ms: i64) -> Vec<(&'static str, BreakerGauge)> {
    let mut out = Vec::with_capacity(UPSTREAMS.len());
    for name in UPSTREAMS {
        let record = match kv {
            Some(kv) => kv
                .get(&format!("{}{name}", crate::adapters::BREAKER_PREFIX))
                .text()
                .await
                .ok()
                .flatten()
                .and_then(|t| serde_json::from_str::<BreakerRecord>(&t).ok()),
            None => None,
        };
        let gauge = match record.map(|r| r.state) {
            None | Some(BreakerState::Closed { .. }) => BreakerGauge::Closed,
            // An open breaker whose wait is over lets the next call probe.
            Some(BreakerState::Open { until_ms }) if now_ms >= until_ms => BreakerGauge::HalfOpen,
            Some(BreakerState::Open { .. }) => BreakerGauge::Open,
            Some(BreakerState::HalfOpen { .. }) => BreakerGauge::HalfOpen,
        };
        out.push((name, gauge));
    }
    out
}
