//! `/admin/crons` (product.md §9 "Crons, quick actions"): the scheduled jobs with their
//! schedule, switch and newest run; a job's run history (status, duration, counts, error) in
//! keyset pages. Switching a job off or on asks for a confirmation in the row itself (no
//! `window.confirm`, so keyboard and screen-reader users get the same two-step flow).
//!
//! "Run now" queues a recorded run (`POST /admin/crons/{action}/run`, 202) that the
//! every-minute dispatch job executes; the page shows the queued run's id and polls
//! `GET /runs/{id}` until it ends (never a timer-driven guess at completion).
//!
//! Status is always text plus a symbol (✓ ok, ◐ partial, ✕ failed, … running, – skipped),
//! the colour only repeats it.

use std::collections::BTreeMap;

use cl_api_types::ops::QueuedRunDto;
use cl_api_types::scheduler::{CronRunDto, SchedulerJobDto};
use leptos::html;
use leptos::prelude::*;

use crate::api::ops;
use crate::components::form::{FormAlert, FormErrors, FormSuccess};
use crate::components::list::{table, Cell, Keyset, KeysetList, ListText};
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;
use crate::pages::admin::{show_failure, AdminPage};

/// Runs per history page.
const RUNS_PAGE: u32 = 20;

/// The quick actions (product.md §9): `(action, button text, what it does)`.
const QUICK: [(&str, &str, &str); 6] = [
    (
        "scan",
        "Scan",
        "detect patterns on every active symbol's stored candles",
    ),
    ("stats", "Refresh stats", "rebuild the statistics cache"),
    (
        "cleanup",
        "Cleanup",
        "delete expired rows by the retention rules",
    ),
    (
        "db-health",
        "DB health",
        "check the database and record its figures",
    ),
    (
        "fetch",
        "Fetch",
        "fetch new 1m candles of every active symbol",
    ),
    (
        "full-cycle",
        "Full cycle",
        "fetch, aggregate, detect, signal and notify",
    ),
];

/// Pause between two polls of a queued run.
const POLL_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

/// Polls at most this many times (≈ 10 min), then leaves the last answer on screen.
const POLL_MAX: u32 = 200;

/// Whether a run can still change.
pub(crate) fn run_is_live(status: &str) -> bool {
    matches!(status, "queued" | "running")
}

/// Polls `GET /runs/{id}` every [`POLL_EVERY`] while the run is queued or running, writing
/// each answer into `run`; calls `on_end` once it ends. Stops when the page is gone (the
/// signal is disposed) or after [`POLL_MAX`] polls.
pub(crate) fn poll_run(id: i64, run: RwSignal<QueuedRunDto>, on_end: Callback<()>, tries: u32) {
    if tries >= POLL_MAX {
        return;
    }
    set_timeout(
        move || {
            leptos::task::spawn_local(async move {
                if run.is_disposed() {
                    return;
                }
                // A failed poll (offline for a moment) is retried on the next tick.
                if let Ok(fresh) = ops::run(id).await {
                    let live = run_is_live(&fresh.status);
                    if run.try_set(fresh).is_some() {
                        return;
                    }
                    if !live {
                        on_end.run(());
                        return;
                    }
                }
                poll_run(id, run, on_end, tries + 1);
            });
        },
        POLL_EVERY,
    );
}

/// One queued run as a line: id, kind, status, progress, counts and error (live).
pub(crate) fn run_line(run: RwSignal<QueuedRunDto>) -> AnyView {
    view! {
        <li class="run-line">
            {move || {
                run.with(|r| {
                    let (class, text) = run_status(&r.status);
                    let what = match &r.symbol {
                        Some(s) => format!("Run #{} · {} · {s}", r.id, r.kind.replace('_', " ")),
                        None => format!("Run #{} · {}", r.id, r.kind.replace('_', " ")),
                    };
                    let live = run_is_live(&r.status);
                    let progress = r.progress;
                    let counts = counts(r.counts.as_ref());
                    let error = r.error.clone();
                    view! {
                        <span class="run-what">{what}</span>
                        <span class=class>{text}</span>
                        {live.then(|| view! {
                            <progress class="run-progress" max="100" value=progress.to_string() aria-label=format!("Run #{} progress", r.id)>
                                {format!("{progress} %")}
                            </progress>
                            <span class="muted small">{format!("{progress} %")}</span>
                        })}
                        {(!live).then(|| view! { <span class="run-counts">{counts}</span> })}
                        {error.map(|e| view! { <span class="run-error">{e}</span> })}
                    }
                })
            }}
        </li>
    }
    .into_any()
}

/// `(class, text)` of a run status: the symbol and word carry the meaning, the class the colour.
pub(crate) fn run_status(status: &str) -> (&'static str, String) {
    let (class, symbol) = match status {
        "ok" | "done" => ("run-state run-ok", "✓"),
        "partial" => ("run-state run-partial", "◐"),
        "failed" => ("run-state run-failed", "✕"),
        "running" | "queued" => ("run-state run-running", "…"),
        _ => ("run-state run-skipped", "–"),
    };
    (class, format!("{symbol} {status}"))
}

/// A duration for people: `850 ms`, `12.3 s`, `4 min 05 s`.
pub(crate) fn duration(ms: i64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1_000.0)
    } else {
        let secs = ms / 1_000;
        format!("{} min {:02} s", secs / 60, secs % 60)
    }
}

/// The non-zero counters as `name n · name n`, or `—`.
pub(crate) fn counts(c: Option<&BTreeMap<String, u64>>) -> String {
    let parts: Vec<String> = c
        .into_iter()
        .flatten()
        .filter(|(k, v)| **v > 0 && k.as_str() != "wall_ms")
        .map(|(k, v)| format!("{} {v}", k.replace('_', " ")))
        .collect();
    if parts.is_empty() {
        String::from("—")
    } else {
        parts.join(" · ")
    }
}

fn status_view(status: &str) -> AnyView {
    let (class, text) = run_status(status);
    view! { <span class=class>{text}</span> }.into_any()
}

/// `/admin/crons`.
#[component]
pub fn AdminCrons() -> impl IntoView {
    set_page_title("Admin · Crons");
    let version = RwSignal::new(0_u32);
    let selected = RwSignal::new(String::from("pipeline"));
    view! {
        <AdminPage title="Crons">
            <QuickActions version=version />
            <JobsPanel version=version selected=selected />
            <HistoryPanel version=version selected=selected />
        </AdminPage>
    }
}

/// The "run now" buttons and the runs they queued (newest first, polled live).
#[component]
fn QuickActions(version: RwSignal<u32>) -> impl IntoView {
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let runs = RwSignal::new(Vec::<(i64, RwSignal<QueuedRunDto>)>::new());
    let on_end = Callback::new(move |()| version.update(|v| *v += 1));
    let start = move |action: &'static str| {
        errors.clear();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = ops::run_now(action).await;
            busy.set(false);
            match result {
                Ok(run) => {
                    let id = run.id;
                    let live = run_is_live(&run.status);
                    let signal = RwSignal::new(run);
                    runs.update(|r| r.insert(0, (id, signal)));
                    if live {
                        poll_run(id, signal, on_end, 0);
                    }
                }
                Err(err) => show_failure(errors, &err),
            }
        });
    };
    view! {
        <section class="panel crons-panel" aria-labelledby="quick-title">
            <h2 id="quick-title" class="panel-title">"Run now"</h2>
            <p class="panel-note muted">
                "Each action queues a recorded run; the dispatch job starts it within a minute. At most 2 a minute."
            </p>
            <ul class="quick-actions">
                {QUICK
                    .iter()
                    .map(|(action, label, what)| {
                        let action = *action;
                        let hint_id = format!("quick-{action}-hint");
                        view! {
                            <li class="quick-action">
                                <button
                                    type="button"
                                    class="btn btn-ghost btn-sm"
                                    aria-describedby=hint_id.clone()
                                    disabled=move || busy.get()
                                    on:click=move |_| start(action)
                                >
                                    "▶ " {*label}
                                </button>
                                <span class="muted small" id=hint_id>{*what}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            <FormAlert errors=errors />
            <ul class="run-list" aria-live="polite" aria-label="Runs queued from this page">
                <For each=move || runs.get() key=|(id, _)| *id let:item>
                    {run_line(item.1)}
                </For>
            </ul>
        </section>
    }
}

/// The jobs table with the in-row confirmation of a switch.
#[component]
fn JobsPanel(version: RwSignal<u32>, selected: RwSignal<String>) -> impl IntoView {
    let status = LocalResource::new(move || {
        version.track();
        ops::scheduler_status()
    });
    let errors = FormErrors::new();
    let done = RwSignal::new(None::<String>);
    let confirming = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let toggle = move |name: String| {
        errors.clear();
        done.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = ops::toggle_job(&name).await;
            busy.set(false);
            confirming.set(None);
            match result {
                Ok(job) => {
                    let state = if job.enabled { "enabled" } else { "disabled" };
                    done.set(Some(format!("The job “{}” is now {state}.", job.name)));
                    version.update(|v| *v += 1);
                }
                Err(err) => show_failure(errors, &err),
            }
        });
    };
    let actions = JobActions {
        confirming,
        busy,
        selected,
        toggle: Callback::new(toggle),
    };
    view! {
        <section class="panel crons-panel" aria-labelledby="jobs-title">
            <div class="panel-head">
                <h2 id="jobs-title" class="panel-title">"Scheduled jobs"</h2>
                <button type="button" class="btn btn-ghost btn-sm" on:click=move |_| version.update(|v| *v += 1)>
                    "↻ Refresh"
                </button>
            </div>
            <FormAlert errors=errors />
            <FormSuccess message=done />
            <div class="list-results" aria-live="polite">
                <Transition fallback=|| view! { <Loading text="Loading the jobs…" /> }>
                    {move || Suspend::new(async move {
                        match status.await {
                            Ok(s) if s.jobs.is_empty() => {
                                view! { <p class="empty-state">"No scheduled jobs are seeded."</p> }.into_any()
                            }
                            Ok(s) => jobs_table(s.jobs, actions),
                            Err(err) => view! { <ErrorBanner title="Could not load the jobs" err=err /> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </section>
    }
}

/// What a job row can do.
#[derive(Clone, Copy)]
struct JobActions {
    confirming: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
    selected: RwSignal<String>,
    toggle: Callback<String>,
}

fn jobs_table(jobs: Vec<SchedulerJobDto>, actions: JobActions) -> AnyView {
    let rows = jobs
        .into_iter()
        .map(|job| {
            let (state_class, state_text) = if job.enabled {
                ("job-state job-on", "✓ enabled")
            } else {
                ("job-state job-off", "○ disabled")
            };
            let last = job.last_run.as_ref();
            let last_view = match last {
                Some(run) => {
                    let when = format::short_datetime(run.started_at);
                    view! { {status_view(&run.status)}<span class="muted small run-when">{when}</span> }.into_any()
                }
                None => view! { <span class="muted">"never run"</span> }.into_any(),
            };
            vec![
                Cell::view("cell-symbol", view! { <span class="job-name">{job.name.clone()}</span> }.into_any()),
                Cell::view("", view! { <code class="job-schedule">{job.schedule.clone()}</code> }.into_any()),
                Cell::classed(state_text, state_class),
                Cell::view("nowrap", last_view),
                Cell::classed(last.and_then(|r| r.duration_ms).map(duration).unwrap_or_else(|| String::from("—")), "num nowrap"),
                Cell::classed(counts(last.and_then(|r| r.counts.as_ref())), "run-counts"),
                Cell::view("admin-actions", job_buttons(job.name, job.enabled, actions)),
            ]
        })
        .collect();
    table(
        "admin-crons",
        "Scheduled jobs in schedule order",
        &[
            "Job",
            "Schedule (UTC)",
            "State",
            "Last run (UTC)",
            "Took",
            "Counts",
            "Actions",
        ],
        rows,
    )
}

/// The switch button, or its confirmation; and the history link.
fn job_buttons(name: String, enabled: bool, a: JobActions) -> AnyView {
    let verb = if enabled { "Disable" } else { "Enable" };
    let is_confirming = {
        let name = name.clone();
        move || a.confirming.with(|c| c.as_deref() == Some(name.as_str()))
    };
    let n1 = name.clone();
    let n2 = name.clone();
    let n3 = name.clone();
    let n4 = name.clone();
    let n5 = name;
    view! {
        {move || {
            if is_confirming() {
                let n = n1.clone();
                // A fresh ref per showing: `on_load` runs its callback once per ref.
                let confirm_ref = NodeRef::<html::Button>::new();
                confirm_ref.on_load(|b| {
                    let _ = b.focus();
                });
                view! {
                    <span class="confirm-inline" role="group" aria-label=format!("Confirm: {verb} {n}")>
                        <span class="confirm-text">{format!("{verb} “{n}”?")}</span>
                        <button
                            type="button"
                            class=if enabled { "btn btn-danger btn-sm" } else { "btn btn-primary btn-sm" }
                            node_ref=confirm_ref
                            disabled=move || a.busy.get()
                            on:click={
                                let n = n.clone();
                                move |_| a.toggle.run(n.clone())
                            }
                        >
                            {format!("Yes, {}", verb.to_lowercase())}
                        </button>
                        <button type="button" class="btn btn-ghost btn-sm" on:click=move |_| a.confirming.set(None)>
                            "Cancel"
                        </button>
                    </span>
                }
                .into_any()
            } else {
                let n = n2.clone();
                view! {
                    <button
                        type="button"
                        class=if enabled { "btn btn-danger-ghost btn-sm" } else { "btn btn-ghost btn-sm" }
                        on:click=move |_| a.confirming.set(Some(n.clone()))
                    >
                        {verb}<span class="sr-only">{format!(" {n3}")}</span>
                    </button>
                }
                .into_any()
            }
        }}
        <button
            type="button"
            class="btn btn-ghost btn-sm"
            aria-pressed=move || if a.selected.with(|s| *s == n4) { "true" } else { "false" }
            on:click={
                let n = n5.clone();
                move |_| a.selected.set(n.clone())
            }
        >
            "History"<span class="sr-only">{format!(" of {n5}")}</span>
        </button>
    }
    .into_any()
}

/// The selected job's runs, newest first, in keyset pages.
#[component]
fn HistoryPanel(version: RwSignal<u32>, selected: RwSignal<String>) -> impl IntoView {
    let keyset = Keyset::new();
    // A new job starts at its newest page.
    Effect::new(move |prev: Option<String>| {
        let job = selected.get();
        if prev.is_some_and(|p| p != job) {
            keyset.reset();
        }
        job
    });
    let page = LocalResource::new(move || {
        version.track();
        let job = selected.get();
        let cursor = keyset.current();
        async move { ops::cron_runs(&job, RUNS_PAGE, cursor.as_deref()).await }
    });
    view! {
        <section class="panel crons-panel" aria-labelledby="history-title">
            <h2 id="history-title" class="panel-title">
                "Run history · " <span class="job-name">{move || selected.get()}</span>
            </h2>
            <KeysetList
                page=page
                keyset=keyset
                text=ListText { loading: "Loading the runs…", empty: "This job has not run yet.", failure: "Could not load the runs" }
                rows=runs_table
            />
        </section>
    }
}

fn runs_table(runs: Vec<CronRunDto>) -> AnyView {
    let rows = runs
        .into_iter()
        .map(|r| {
            vec![
                Cell::classed(format!("#{}", r.id), "nowrap"),
                Cell::view("nowrap", status_view(&r.status)),
                Cell::text(r.trigger),
                Cell::classed(format::short_datetime(r.started_at), "nowrap"),
                Cell::classed(
                    r.duration_ms
                        .map(duration)
                        .unwrap_or_else(|| String::from("—")),
                    "num nowrap",
                ),
                Cell::classed(counts(r.counts.as_ref()), "run-counts"),
                Cell::classed(r.error.unwrap_or_else(|| String::from("—")), "run-error"),
            ]
        })
        .collect();
    table(
        "admin-runs",
        "Runs of the selected job, newest first",
        &[
            "Run",
            "Status",
            "Trigger",
            "Started (UTC)",
            "Took",
            "Counts",
            "Error",
        ],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_largest_sensible_unit() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_345), "12.3 s");
        assert_eq!(duration(245_000), "4 min 05 s");
    }

    #[test]
    fn counts_skip_zeros_and_the_wall_clock() {
        let mut c = BTreeMap::new();
        c.insert(String::from("candles"), 1200);
        c.insert(String::from("bad_rows"), 0);
        c.insert(String::from("wall_ms"), 900);
        c.insert(String::from("symbols"), 5);
        assert_eq!(counts(Some(&c)), "candles 1200 · symbols 5");
        assert_eq!(counts(None), "—");
    }

    #[test]
    fn every_status_carries_a_symbol() {
        for s in ["ok", "partial", "failed", "running", "skipped", "queued"] {
            let (_, text) = run_status(s);
            assert!(text.ends_with(s));
            assert!(!text.starts_with(s), "{text} has no symbol");
        }
    }
}
