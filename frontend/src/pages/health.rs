//! `/health`: the live answer of `GET /api/v1/health`, with loading and error states.

use cl_api_types::{HealthCheck, HealthReport, HealthStatus};
use leptos::prelude::*;

use crate::api::{self, ApiError};
use crate::components::set_page_title;

/// The service status page.
#[component]
pub fn Health() -> impl IntoView {
    set_page_title("Service status");
    let report = LocalResource::new(api::health);
    let (checking, set_checking) = signal(false);

    view! {
        <div class="page container health">
            <header class="page-header">
                <p class="eyebrow">"Service status"</p>
                <h1>"Is CryptoLens Edge up?"</h1>
                <p class="lead">
                    "This page asks the API directly ("<code>"GET /api/v1/health"</code>
                    ") and shows the overall status and every dependency check."
                </p>
            </header>
            <div class="health-panel" aria-live="polite" aria-busy=move || checking.get().to_string()>
                <Transition
                    fallback=|| {
                        view! {
                            <p class="status-loading">
                                <span class="spinner" aria-hidden="true"></span>
                                "Checking the API…"
                            </p>
                        }
                    }
                    set_pending=set_checking
                >
                    {move || Suspend::new(async move {
                        match report.await {
                            Ok(report) => view! { <Report report=report /> }.into_any(),
                            Err(err) => view! { <LoadError err=err /> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
            <p class="health-actions">
                <button
                    type="button"
                    class="btn btn-ghost"
                    disabled=move || checking.get()
                    on:click=move |_| report.refetch()
                >
                    {move || if checking.get() { "Checking…" } else { "Check again" }}
                </button>
            </p>
        </div>
    }
}

/// The symbol, CSS modifier and sentence for an overall status.
fn status_parts(status: HealthStatus) -> (&'static str, &'static str, &'static str) {
    match status {
        HealthStatus::Ok => ("✓", "ok", "All systems operational"),
        HealthStatus::Degraded => ("!", "degraded", "Degraded: a non-critical check is failing"),
        HealthStatus::Down => ("✕", "down", "Down: a critical check is failing"),
    }
}

/// A loaded health report: the summary banner and one row per check.
#[component]
fn Report(report: HealthReport) -> impl IntoView {
    let (symbol, modifier, text) = status_parts(report.status);
    let checks = report.checks;
    let passing = checks.iter().filter(|c| c.ok).count();
    let total = checks.len();
    view! {
        <div class=format!("status-banner status-{modifier}") role="status">
            <span class="status-symbol" aria-hidden="true">{symbol}</span>
            <div>
                <p class="status-text">{text}</p>
                <p class="status-sub">{format!("{passing} of {total} checks passing")}</p>
            </div>
        </div>
        {if checks.is_empty() {
            view! { <p class="muted">"The API reported no individual checks."</p> }.into_any()
        } else {
            view! {
                <h2 class="checks-title">"Checks"</h2>
                <ul class="checks">
                    {checks.into_iter().map(|check| view! { <CheckRow check=check /> }).collect_view()}
                </ul>
            }
            .into_any()
        }}
    }
}

/// One dependency check: symbol + text for pass/fail, and whether it is critical.
#[component]
fn CheckRow(check: HealthCheck) -> impl IntoView {
    let (symbol, verdict) = if check.ok {
        ("✓", "OK")
    } else {
        ("✕", "Failing")
    };
    view! {
        <li class="check" class:check-ok=check.ok class:check-fail=!check.ok>
            <span class="check-symbol" aria-hidden="true">{symbol}</span>
            <span class="check-name">{check_label(&check.name)}</span>
            <span class="check-kind">{if check.critical { "critical" } else { "non-critical" }}</span>
            <span class="check-verdict">{verdict}</span>
        </li>
    }
}

/// A check's wire name for people: the known names (product.md §12) get their proper label,
/// any other is humanised (`exchange_breaker` → `Exchange breaker`).
fn check_label(name: &str) -> String {
    let known = match name {
        "config" => Some("Configuration"),
        "d1" => Some("D1 database"),
        "database" => Some("Database"),
        "kv" => Some("KV store"),
        "postgres" => Some("Postgres"),
        "exchange_breaker" => Some("Exchange circuit breaker"),
        "ntfy_breaker" => Some("ntfy circuit breaker"),
        _ => None,
    };
    if let Some(label) = known {
        return label.to_owned();
    }
    // Names are ASCII identifiers; ASCII case mapping keeps Unicode tables out of the wasm.
    let mut label = name.replace(['_', '-'], " ");
    if let Some(first) = label.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    label
}

/// The error state, with the reason in words.
#[component]
fn LoadError(err: ApiError) -> impl IntoView {
    view! {
        <div class="status-banner status-down" role="alert">
            <span class="status-symbol" aria-hidden="true">"✕"</span>
            <div>
                <p class="status-text">"Could not load the service status"</p>
                <p class="status-sub">{err.to_string()}</p>
            </div>
        </div>
    }
}
