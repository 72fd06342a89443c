//! Operational metrics (product.md §12), rendered in the Prometheus text format.
//!
//! Two sources, because a Workers isolate keeps nothing between requests that another isolate
//! could see:
//! - **Request counters** ([`RequestMetrics`]): each isolate counts its own requests by route
//!   template and status, with a latency histogram per route, and flushes the totals to KV
//!   under its own key now and then. The endpoint sums every isolate's last flush. The sums
//!   therefore lag by the flush interval plus KV's ~60 s propagation, and a counter can step
//!   down when an isolate's key expires: fine for dashboards, documented in docs/decisions.md.
//! - **Stored state** ([`StoredMetrics`], one store query through [`MetricsStore`]): active
//!   patterns by type, signals and user notifications by status, and each cron job's last run.
//!
//! Plus the circuit breakers' states, read by the platform layer. Rendering is pure and
//! deterministic (sorted labels), so it is tested byte for byte.

use crate::ports::StoreError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Upper bounds of the latency histogram buckets, ms (`+Inf` is implied).
pub const LATENCY_BUCKETS_MS: [u64; 10] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000];

/// The most distinct routes one isolate tracks; later ones are folded into `(other)`. Route
/// labels come from the route table, so this only guards against a bug multiplying labels.
const MAX_ROUTES: usize = 256;

/// One route's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteMetrics {
    /// Requests by status code.
    pub by_status: BTreeMap<u16, u64>,
    /// Cumulative-by-render histogram: `buckets[i]` counts requests with latency ≤
    /// `LATENCY_BUCKETS_MS[i]` and > the previous bound; the last slot is `+Inf`.
    pub buckets: Vec<u64>,
    /// Sum of latencies, ms.
    pub latency_sum_ms: u64,
}

/// Request counters of one isolate (or the sum of several).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestMetrics {
    /// By route template (`/api/v1/candles/{symbol}/{tf}`, `(asset)`, …).
    pub routes: BTreeMap<String, RouteMetrics>,
}

impl RequestMetrics {
    /// Counts one request. Negative latencies (a clock step) count as 0.
    pub fn record(&mut self, route: &str, status: u16, latency_ms: i64) {
        let key = if self.routes.len() >= MAX_ROUTES && !self.routes.contains_key(route) {
            "(other)"
        } else {
            route
        };
        let entry = self.routes.entry(key.to_owned()).or_default();
        *entry.by_status.entry(status).or_insert(0) += 1;
        if entry.buckets.len() != LATENCY_BUCKETS_MS.len() + 1 {
            entry.buckets = vec![0; LATENCY_BUCKETS_MS.len() + 1];
        }
        let latency = u64::try_from(latency_ms).unwrap_or(0);
        let slot = LATENCY_BUCKETS_MS
            .iter()
            .position(|bound| latency <= *bound)
            .unwrap_or(LATENCY_BUCKETS_MS.len());
        entry.buckets[slot] += 1;
        entry.latency_sum_ms = entry.latency_sum_ms.saturating_add(latency);
    }

    /// Adds `other` into `self` (summing isolates).
    pub fn merge(&mut self, other: &RequestMetrics) {
        for (route, theirs) in &other.routes {
            let ours = self.routes.entry(route.clone()).or_default();
            for (status, n) in &theirs.by_status {
                *ours.by_status.entry(*status).or_insert(0) += n;
            }
            if ours.buckets.len() < theirs.buckets.len() {
                ours.buckets.resize(theirs.buckets.len(), 0);
            }
            for (i, n) in theirs.buckets.iter().enumerate() {
                ours.buckets[i] += n;
            }
            ours.latency_sum_ms = ours.latency_sum_ms.saturating_add(theirs.latency_sum_ms);
        }
    }

    /// Total requests counted.
    pub fn total(&self) -> u64 {
        self.routes
            .values()
            .flat_map(|r| r.by_status.values())
            .sum()
    }
}

/// One cron job's last finished run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronLastRun {
    /// Job name.
    pub job: String,
    /// Its duration, ms.
    pub duration_ms: i64,
    /// Whether it ended `ok` or `partial` (not `failed`/`skipped`).
    pub success: bool,
}

/// Counts read from the store in one query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredMetrics {
    /// Active patterns by type wire name.
    pub active_patterns: BTreeMap<String, i64>,
    /// Signals by status wire name.
    pub signals: BTreeMap<String, i64>,
    /// User notifications by status (`queued`, `sent`, `failed`, `skipped`).
    pub notifications: BTreeMap<String, i64>,
    /// The last finished run of each job that has one.
    pub cron: Vec<CronLastRun>,
}

impl StoredMetrics {
    /// Folds `(metric, label, value)` rows, as the SQL adapters' one snapshot query returns
    /// them: `pattern`/`signal`/`notification` counts, and `cron_ms`/`cron_ok` per job.
    pub fn from_rows(rows: impl IntoIterator<Item = (String, String, i64)>) -> Self {
        let mut out = Self::default();
        let mut ok: BTreeMap<String, bool> = BTreeMap::new();
        for (metric, label, value) in rows {
            match metric.as_str() {
                "pattern" => {
                    out.active_patterns.insert(label, value);
                }
                "signal" => {
                    out.signals.insert(label, value);
                }
                "notification" => {
                    out.notifications.insert(label, value);
                }
                "cron_ms" => out.cron.push(CronLastRun {
                    job: label,
                    duration_ms: value,
                    success: false,
                }),
                "cron_ok" => {
                    ok.insert(label, value == 1);
                }
                _ => {}
            }
        }
        for run in &mut out.cron {
            run.success = ok.get(&run.job).copied().unwrap_or(false);
        }
        out.cron.sort_by(|a, b| a.job.cmp(&b.job));
        out
    }
}

/// The store side of the metrics.
#[allow(async_fn_in_trait)] // no Send bound: the worker's futures are !Send
pub trait MetricsStore {
    /// Everything of [`StoredMetrics`], in ONE round trip.
    ///
    /// # Errors
    /// The store's failure.
    async fn metrics_snapshot(&self) -> Result<StoredMetrics, StoreError>;
}

/// A circuit breaker's state, as exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerGauge {
    /// Calls flow.
    Closed,
    /// One trial call allowed.
    HalfOpen,
    /// Calls refused.
    Open,
}

impl BreakerGauge {
    fn value(self) -> u8 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }
}

/// Escapes a label value (`\`, `"`, newline), as the text format requires.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Renders everything in the Prometheus text exposition format (version 0.0.4).
pub fn render(
    requests: &RequestMetrics,
    stored: &StoredMetrics,
    breakers: &[(&str, BreakerGauge)],
) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "cryptolens_http_requests_total",
        "counter",
        "Requests by route template and status, summed over isolates.",
    );
    for (route, m) in &requests.routes {
        for (status, n) in &m.by_status {
            let _ = writeln!(
                out,
                "cryptolens_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                label(route)
            );
        }
    }
    header(
        &mut out,
        "cryptolens_http_request_duration_ms",
        "histogram",
        "Request latency in milliseconds by route template.",
    );
    for (route, m) in &requests.routes {
        let route = label(route);
        let mut cumulative = 0;
        for (i, n) in m.buckets.iter().enumerate() {
            cumulative += n;
            let le = LATENCY_BUCKETS_MS
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), u64::to_string);
            let _ = writeln!(
                out,
                "cryptolens_http_request_duration_ms_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}"
            );
        }
        let count: u64 = m.by_status.values().sum();
        let _ = writeln!(
            out,
            "cryptolens_http_request_duration_ms_sum{{route=\"{route}\"}} {}",
            m.latency_sum_ms
        );
        let _ = writeln!(
            out,
            "cryptolens_http_request_duration_ms_count{{route=\"{route}\"}} {count}"
        );
    }
    gauge_map(
        &mut out,
        "cryptolens_patterns_active",
        "Active patterns by type.",
        "type",
        &stored.active_patterns,
    );
    gauge_map(
        &mut out,
        "cryptolens_signals",
        "Signals by status.",
        "status",
        &stored.signals,
    );
    gauge_map(
        &mut out,
        "cryptolens_notifications",
        "User notifications by delivery status (sent, failed, queued, skipped).",
        "status",
        &stored.notifications,
    );
    header(
        &mut out,
        "cryptolens_cron_last_duration_ms",
        "gauge",
        "Duration of each job's last finished run, ms.",
    );
    for run in &stored.cron {
        let _ = writeln!(
            out,
            "cryptolens_cron_last_duration_ms{{job=\"{}\"}} {}",
            label(&run.job),
            run.duration_ms
        );
    }
    header(
        &mut out,
        "cryptolens_cron_last_success",
        "gauge",
        "1 when each job's last finished run succeeded (ok or partial).",
    );
    for run in &stored.cron {
        let _ = writeln!(
            out,
            "cryptolens_cron_last_success{{job=\"{}\"}} {}",
            label(&run.job),
            u8::from(run.success)
        );
    }
    header(
        &mut out,
        "cryptolens_breaker_state",
        "gauge",
        "Circuit breaker per upstream: 0 closed, 1 half-open, 2 open.",
    );
    for (name, state) in breakers {
        let _ = writeln!(
            out,
            "cryptolens_breaker_state{{upstream=\"{}\"}} {}",
            label(name),
            state.value()
        );
    }
    out
}

fn gauge_map(out: &mut String, name: &str, help: &str, key: &str, values: &BTreeMap<String, i64>) {
    header(out, name, "gauge", help);
    for (k, v) in values {
        let _ = writeln!(out, "{name}{{{key}=\"{}\"}} {v}", label(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_fall_into_latency_buckets_and_merge_across_isolates() {
        let mut a = RequestMetrics::default();
        a.record("/api/v1/matrix", 200, 3);
        a.record("/api/v1/matrix", 200, 7);
        a.record("/api/v1/matrix", 304, 12_000);
        let mut b = RequestMetrics::default();
        b.record("/api/v1/matrix", 200, -4);
        b.record("/api/v1/health", 503, 40);
        a.merge(&b);
        let m = &a.routes["/api/v1/matrix"];
        assert_eq!(m.by_status[&200], 3);
        assert_eq!(m.by_status[&304], 1);
        assert_eq!(m.buckets[0], 2, "3 ms and the clamped -4 ms are ≤ 5 ms");
        assert_eq!(m.buckets[1], 1);
        assert_eq!(m.buckets[LATENCY_BUCKETS_MS.len()], 1, "+Inf");
        assert_eq!(m.latency_sum_ms, 3 + 7 + 12_000);
        assert_eq!(a.total(), 5);
    }

    #[test]
    fn the_route_label_set_is_bounded() {
        let mut m = RequestMetrics::default();
        for i in 0..(MAX_ROUTES + 10) {
            m.record(&format!("/r{i}"), 200, 1);
        }
        assert_eq!(m.routes.len(), MAX_ROUTES + 1);
        assert_eq!(m.routes["(other)"].by_status[&200], 10);
    }

    #[test]
    fn the_text_format_is_cumulative_escaped_and_complete() {
        let mut req = RequestMetrics::default();
        req.record("/api/v1/candles/{symbol}/{tf}", 200, 30);
        req.record("/api/v1/candles/{symbol}/{tf}", 400, 2);
        req.record("we\"ird\\route\n", 200, 1);
        let stored = StoredMetrics {
            active_patterns: BTreeMap::from([("imbalance".into(), 12)]),
            signals: BTreeMap::from([("pending".into(), 3)]),
            notifications: BTreeMap::from([("failed".into(), 1), ("sent".into(), 9)]),
            cron: vec![CronLastRun {
                job: "pipeline".into(),
                duration_ms: 812,
                success: true,
            }],
        };
        let text = render(&req, &stored, &[("exchange", BreakerGauge::Open)]);
        for line in [
            "cryptolens_http_requests_total{route=\"/api/v1/candles/{symbol}/{tf}\",status=\"400\"} 1",
            "cryptolens_http_request_duration_ms_bucket{route=\"/api/v1/candles/{symbol}/{tf}\",le=\"5\"} 1",
            "cryptolens_http_request_duration_ms_bucket{route=\"/api/v1/candles/{symbol}/{tf}\",le=\"50\"} 2",
            "cryptolens_http_request_duration_ms_bucket{route=\"/api/v1/candles/{symbol}/{tf}\",le=\"+Inf\"} 2",
            "cryptolens_http_request_duration_ms_sum{route=\"/api/v1/candles/{symbol}/{tf}\"} 32",
            "cryptolens_http_request_duration_ms_count{route=\"/api/v1/candles/{symbol}/{tf}\"} 2",
            "cryptolens_http_requests_total{route=\"we\\\"ird\\\\route\\n\",status=\"200\"} 1",
            "cryptolens_patterns_active{type=\"imbalance\"} 12",
            "cryptolens_signals{status=\"pending\"} 3",
            "cryptolens_notifications{status=\"sent\"} 9",
            "cryptolens_notifications{status=\"failed\"} 1",
            "cryptolens_cron_last_duration_ms{job=\"pipeline\"} 812",
            "cryptolens_cron_last_success{job=\"pipeline\"} 1",
            "cryptolens_breaker_state{upstream=\"exchange\"} 2",
            "# TYPE cryptolens_http_request_duration_ms histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        // Every sample line is `name{labels} value` or a comment: no raw newline escaped out.
        for l in text.lines() {
            assert!(l.starts_with("# ") || l.starts_with("cryptolens_"), "{l}");
        }
    }

    #[test]
    fn flushed_counters_round_trip_through_json() {
        let mut m = RequestMetrics::default();
        m.record("/api/v1/matrix", 200, 9);
        let json = serde_json::to_string(&m).unwrap();
        let back: RequestMetrics = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
    }
}
