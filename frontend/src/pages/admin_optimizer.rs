//! `/admin/optimizer` (product.md §8, §9): queue a grid search (symbols × TFs × pattern types ×
//! the detection.md grid) with the server's field errors inline; the jobs with their progress
//! (polled while one is queued or running: the every-minute dispatch job advances them); one
//! job's results table and best params (≥ 10 trades) by a chosen metric; compare with another
//! job; apply the best params to a user's preferences, or clear a user's tuned params.
//!
//! States are words (queued, running, done, failed) plus a `<progress>` bar with its percent as
//! text; colour only repeats them.

use cl_api_types::{
    OptimizerApplyRequest, OptimizerComparisonDto, OptimizerJobDetailDto, OptimizerJobDto,
    OptimizerJobRequest, OptimizerRunDto,
};
use leptos::prelude::*;

use crate::api::{optimizer, ApiError};
use crate::components::form::{Field, FormAlert, FormErrors, FormSuccess, Submit};
use crate::components::list::{list_view, table, Cell, ListText};
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;
use crate::pages::admin::{show_failure, AdminPage};
use crate::pages::admin_symbols::{date_to_ms, ms_to_date};
use crate::pages::portfolio::Choice;

const DAY_MS: i64 = 86_400_000;
const TFS: [&str; 7] = ["5m", "15m", "30m", "1h", "2h", "4h", "1d"];
const TYPES: [(&str, &str); 3] = [
    ("imbalance", "Imbalance"),
    ("order_block", "Order block"),
    ("liquidity_sweep", "Liquidity sweep"),
];
const METRICS: [(&str, &str); 3] = [
    ("total_profit", "Total profit %"),
    ("win_rate", "Win rate"),
    ("sharpe", "Sharpe"),
];
/// How often a live job is polled, ms.
const POLL_EVERY_MS: u32 = 5_000;
/// At most this many polls per page visit (about 20 minutes).
const POLL_MAX: u32 = 240;

fn is_live(status: &str) -> bool {
    matches!(status, "queued" | "running")
}

/// `/admin/optimizer`.
#[component]
pub fn AdminOptimizer() -> impl IntoView {
    set_page_title("Admin · Optimizer");
    let version = RwSignal::new(0_u32);
    let selected = RwSignal::new(None::<i64>);
    view! {
        <AdminPage title="Optimizer">
            <CreateJob version=version selected=selected />
            <JobList version=version selected=selected />
            {move || selected.get().map(|id| view! { <JobDetail id=id version=version /> })}
        </AdminPage>
    }
}

/// A group of labelled checkboxes bound to a list of values.
#[component]
fn Checks(
    legend: &'static str,
    name: &'static str,
    options: Vec<(&'static str, &'static str)>,
    value: RwSignal<Vec<String>>,
    errors: FormErrors,
) -> impl IntoView {
    let error = move || errors.of(name);
    let err_id = format!("opt-{name}-error");
    let err_id2 = err_id.clone();
    view! {
        <fieldset class="form-field check-group" class:has-error=move || error().is_some()
            aria-describedby=move || error().map(|_| err_id2.clone())>
            <legend class="form-label">{legend}</legend>
            {options
                .into_iter()
                .map(|(v, label)| {
                    let id = format!("opt-{name}-{v}");
                    let checked = move || value.with(|l| l.iter().any(|x| x == v));
                    let toggle = move |_| {
                        value.update(|l| {
                            if let Some(i) = l.iter().position(|x| x == v) {
                                l.remove(i);
                            } else {
                                l.push(v.to_owned());
                            }
                        });
                    };
                    view! {
                        <span class="form-check">
                            <input id=id.clone() type="checkbox" class="checkbox" prop:checked=checked on:change=toggle />
                            <label for=id>{label}</label>
                        </span>
                    }
                })
                .collect_view()}
            {move || error().map(|m| view! { <p class="field-error" id=err_id.clone()><span aria-hidden="true">"✕ "</span>{m}</p> })}
        </fieldset>
    }
}

#[component]
fn CreateJob(version: RwSignal<u32>, selected: RwSignal<Option<i64>>) -> impl IntoView {
    let symbols = RwSignal::new(String::from("BTC/USDT"));
    let tfs = RwSignal::new(vec![String::from("1h")]);
    let types = RwSignal::new(vec![String::from("imbalance")]);
    // A year back: the server allows at most two years, and a fixed date ages out of that.
    let from = RwSignal::new(ms_to_date(
        web_sys::js_sys::Date::now() as i64 - 365 * DAY_MS,
    ));
    let to = RwSignal::new(String::new());
    let slippage = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let errors = FormErrors::new();
    let done = RwSignal::new(None::<String>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        done.set(None);
        let list: Vec<String> = symbols
            .get_untracked()
            .split(',')
            .map(|s| s.trim().to_uppercase())
            .filter(|s| !s.is_empty())
            .collect();
        let from_ms = date_to_ms(&from.get_untracked());
        if from_ms.is_none() {
            errors.set_field("from", "Pick a start date.");
        }
        // An empty end means now (the server requires `to ≤ now`).
        let to_raw = to.get_untracked();
        let to_ms = if to_raw.trim().is_empty() {
            Some(web_sys::js_sys::Date::now() as i64)
        } else {
            date_to_ms(&to_raw)
        };
        if to_ms.is_none() {
            errors.set_field("to", "Pick an end date or leave it empty for now.");
        }
        let slip = slippage.get_untracked();
        let slippage_pct = if slip.trim().is_empty() {
            None
        } else {
            match slip.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Some(v),
                _ => {
                    errors.set_field("slippage_pct", "Enter a number from 0 to 5.");
                    None
                }
            }
        };
        if errors.has_field_errors() {
            return;
        }
        let (Some(from_ms), Some(to_ms)) = (from_ms, to_ms) else {
            return;
        };
        let body = OptimizerJobRequest {
            symbols: list,
            tfs: tfs.get_untracked(),
            pattern_types: types.get_untracked(),
            from: from_ms,
            to: to_ms,
            slippage_pct,
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = optimizer::create(&body).await;
            busy.set(false);
            match result {
                Ok(job) => {
                    done.set(Some(format!(
                        "Job {} queued: {} runs.",
                        job.id, job.total_runs
                    )));
                    selected.set(Some(job.id));
                    version.update(|v| *v += 1);
                }
                Err(err) => show_failure(errors, &err),
            }
        });
    };
    let tf_options: Vec<(&'static str, &'static str)> = TFS.iter().map(|t| (*t, *t)).collect();
    view! {
        <section class="panel" aria-labelledby="opt-new-title">
            <h2 id="opt-new-title" class="panel-title">"New job"</h2>
            <p class="muted small">"Grid: R:R 1–5 × SL buffer 3, 5, 10, 15, 20, 25, 30 % × expiry 0.5, 1, 2 (105 runs per symbol, timeframe and pattern type; at most 5000 runs)."</p>
            <FormAlert errors=errors />
            <FormSuccess message=done />
            <form class="settings-form opt-form" on:submit=on_submit novalidate=true>
                <Field id="opt-symbols" name="symbols" label="Symbols" hint="Comma-separated, e.g. BTC/USDT, ETH/USDT" value=symbols errors=errors maxlength=400 />
                <Checks legend="Timeframes" name="tfs" options=tf_options value=tfs errors=errors />
                <Checks legend="Pattern types" name="pattern_types" options=TYPES.to_vec() value=types errors=errors />
                <Field id="opt-from" name="from" label="From" kind="date" value=from errors=errors />
                <Field id="opt-to" name="to" label="To" kind="date" hint="Empty = now" value=to errors=errors required=false />
                <Field id="opt-slippage" name="slippage_pct" label="Slippage %" hint="0–5, empty = 0" value=slippage errors=errors inputmode="decimal" required=false maxlength=8 />
                <Submit label="Queue job" busy_label="Queuing…" busy=busy />
            </form>
        </section>
    }
}

fn progress_view(status: &str, progress: f64) -> AnyView {
    let pct = format!("{progress:.0} %");
    let mark = match status {
        "done" => "✓",
        "failed" | "cancelled" => "✕",
        _ => "…",
    };
    view! {
        <span class=format!("opt-status opt-{status}")>{format!("{mark} {status}")}</span>
        " "
        <progress class="run-progress" max="100" value=progress.to_string() aria-label=format!("Progress {pct}")></progress>
        " "
        <span class="num">{pct}</span>
    }
    .into_any()
}

#[component]
fn JobList(version: RwSignal<u32>, selected: RwSignal<Option<i64>>) -> impl IntoView {
    let jobs = RwSignal::new(None::<Result<Vec<OptimizerJobDto>, ApiError>>);
    let polls = RwSignal::new(0_u32);
    let load = move || {
        leptos::task::spawn_local(async move {
            let page = optimizer::jobs(None).await.map(|p| p.items);
            let live = page
                .as_ref()
                .is_ok_and(|l| l.iter().any(|j| is_live(&j.status)));
            if jobs.try_set(Some(page)).is_some() {
                return;
            }
            // While a job is live, poll again (bounded); the detail follows `version`.
            if live && polls.get_untracked() < POLL_MAX {
                polls.update(|p| *p += 1);
                set_timeout(
                    move || version.update(|v| *v += 1),
                    std::time::Duration::from_millis(u64::from(POLL_EVERY_MS)),
                );
            }
        });
    };
    Effect::new(move |_| {
        version.track();
        load();
    });
    view! {
        <section class="panel" aria-labelledby="opt-jobs-title">
            <h2 id="opt-jobs-title" class="panel-title">"Jobs"</h2>
            <p class="form-actions">
                <button type="button" class="btn btn-ghost btn-sm" on:click=move |_| version.update(|v| *v += 1)>"Refresh"</button>
            </p>
            <div class="list-results" aria-live="polite">
                {move || list_view(
                    jobs.get(),
                    ListText { loading: "Loading the jobs…", empty: "No optimizer jobs yet.", failure: "Could not load the jobs" },
                    |list| {
                        let rows = list
                            .into_iter()
                            .map(|j| {
                                let id = j.id;
                                let open = view! {
                                    <button type="button" class="btn btn-ghost btn-sm" on:click=move |_| selected.set(Some(id))>
                                        {format!("Open #{id}")}
                                    </button>
                                }
                                .into_any();
                                vec![
                                    Cell::text(format!("#{}", j.id)),
                                    Cell::text(j.symbols.join(", ")),
                                    Cell::text(j.tfs.join(", ")),
                                    Cell::text(j.pattern_types.join(", ").replace('_', " ")),
                                    Cell::view("", progress_view(&j.status, j.progress)),
                                    Cell::num(j.total_runs.to_string()),
                                    Cell::text(format::datetime(j.created_at)),
                                    Cell::view("", open),
                                ]
                            })
                            .collect();
                        table(
                            "opt-jobs",
                            "Optimizer jobs, newest first",
                            &["Job", "Symbols", "TFs", "Types", "Progress", "Runs", "Created", ""],
                            rows,
                        )
                    },
                )}
            </div>
        </section>
    }
}

fn opt_num(v: Option<f64>, suffix: &str) -> String {
    v.map_or_else(|| "—".to_owned(), |x| format!("{x:.2}{suffix}"))
}

fn run_cells(r: &OptimizerRunDto) -> Vec<Cell> {
    vec![
        Cell::text(format!(
            "{} · {} · {}",
            r.symbol,
            r.tf,
            r.pattern_type.replace('_', " ")
        )),
        Cell::num(format!("{}", r.rr)),
        Cell::num(format!("{} %", r.sl_buffer_pct)),
        Cell::num(format!("× {}", r.expiry_multiplier)),
        Cell::num(r.trade_count.to_string()),
        Cell::num(opt_num(r.total_profit_pct, " %")),
        Cell::num(opt_num(r.win_rate, " %")),
        Cell::num(opt_num(r.sharpe, "")),
    ]
}

const RUN_HEAD: &[&str] = &[
    "Symbol · TF · type",
    "R:R",
    "SL buffer",
    "Expiry",
    "Trades",
    "Profit",
    "Win rate",
    "Sharpe",
];

#[component]
fn JobDetail(id: i64, version: RwSignal<u32>) -> impl IntoView {
    let metric = RwSignal::new(String::from("total_profit"));
    let detail = RwSignal::new(None::<Result<OptimizerJobDetailDto, ApiError>>);
    let metric_errors = FormErrors::new();
    Effect::new(move |_| {
        version.track();
        let m = metric.get();
        leptos::task::spawn_local(async move {
            let d = optimizer::job(id, &m).await;
            let _ = detail.try_set(Some(d));
        });
    });
    view! {
        <section class="panel" aria-labelledby="opt-detail-title">
            <h2 id="opt-detail-title" class="panel-title">{format!("Job #{id}")}</h2>
            <div class="settings-form opt-metric">
                <Choice id="opt-metric" name="metric" label="Rank by" options=METRICS.to_vec() value=metric errors=metric_errors />
            </div>
            {move || match detail.get() {
                None => view! { <Loading text="Loading the job…" /> }.into_any(),
                Some(Err(err)) => view! { <ErrorBanner title="Could not load the job" err=err /> }.into_any(),
                Some(Ok(d)) => view! {
                    <p data-testid="opt-job-status">{progress_view(&d.job.status, d.job.progress)}</p>
                    {d.job.error.clone().map(|e| view! { <p class="field-error">{format!("Failed: {e}")}</p> })}
                    <h3 class="panel-title panel-title-sub">"Best params (≥ 10 trades)"</h3>
                    {if d.best.is_empty() {
                        view! { <p class="empty-state">"No run with 10 trades or more yet."</p> }.into_any()
                    } else {
                        table("opt-best", "Best run per symbol, pattern type and timeframe", RUN_HEAD, d.best.iter().map(run_cells).collect())
                    }}
                    <h3 class="panel-title panel-title-sub">{format!("Top results ({})", d.results.len())}</h3>
                    {if d.results.is_empty() {
                        view! { <p class="empty-state">"No results yet: the job runs on the next minutes."</p> }.into_any()
                    } else {
                        table("opt-results", "Runs, best first by the chosen metric", RUN_HEAD, d.results.iter().map(run_cells).collect())
                    }}
                }
                .into_any(),
            }}
            <div class="settings-grid">
                <ApplyForm id=id metric=metric />
                <CompareForm id=id metric=metric />
            </div>
        </section>
    }
}

#[component]
fn ApplyForm(id: i64, metric: RwSignal<String>) -> impl IntoView {
    let user = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let errors = FormErrors::new();
    let done = RwSignal::new(None::<String>);
    let user_id = move || -> Option<i64> {
        let v = user
            .get_untracked()
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|v| *v > 0);
        if v.is_none() {
            errors.set_field("user_id", "Enter a user id (see Admin → Users).");
        }
        v
    };
    let on_apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        done.set(None);
        let Some(uid) = user_id() else { return };
        let body = OptimizerApplyRequest {
            user_id: uid,
            metric: metric.get_untracked(),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = optimizer::apply(id, &body).await;
            busy.set(false);
            match result {
                Ok(a) => done.set(Some(format!(
                    "Applied to user {}: {} symbol(s).",
                    a.user_id, a.symbols
                ))),
                Err(err) => show_failure(errors, &err),
            }
        });
    };
    let on_clear = move |_| {
        errors.clear();
        done.set(None);
        let Some(uid) = user_id() else { return };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = optimizer::clear(uid).await;
            busy.set(false);
            match result {
                Ok(a) => done.set(Some(format!(
                    "Cleared user {}: {} symbol(s).",
                    a.user_id, a.symbols
                ))),
                Err(err) => show_failure(errors, &err),
            }
        });
    };
    view! {
        <form class="settings-form" on:submit=on_apply novalidate=true aria-labelledby="opt-apply-title">
            <h3 id="opt-apply-title" class="panel-title panel-title-sub">"Apply to a user"</h3>
            <FormAlert errors=errors />
            <FormSuccess message=done />
            <Field id="opt-user" name="user_id" label="User id" hint="The best params by the metric above" value=user errors=errors inputmode="numeric" maxlength=16 />
            <p class="form-actions">
                <Submit label="Apply best params" busy_label="Applying…" busy=busy />
                " "
                <button type="button" class="btn btn-ghost" disabled=move || busy.get() on:click=on_clear>"Clear user's tuned params"</button>
            </p>
        </form>
    }
}

fn side(r: Option<&OptimizerRunDto>) -> String {
    r.map_or_else(
        || "—".to_owned(),
        |r| {
            format!(
                "R:R {} · SL {} % · × {} · {} trades · {}",
                r.rr,
                r.sl_buffer_pct,
                r.expiry_multiplier,
                r.trade_count,
                opt_num(r.total_profit_pct, " %")
            )
        },
    )
}

#[component]
fn CompareForm(id: i64, metric: RwSignal<String>) -> impl IntoView {
    let other = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let errors = FormErrors::new();
    let rows = RwSignal::new(None::<Vec<OptimizerComparisonDto>>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        let Some(o) = other
            .get_untracked()
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|v| *v > 0)
        else {
            errors.set_field("other", "Enter another job's id.");
            return;
        };
        busy.set(true);
        let m = metric.get_untracked();
        leptos::task::spawn_local(async move {
            let result = optimizer::compare(id, o, &m).await;
            busy.set(false);
            match result {
                Ok(r) => rows.set(Some(r)),
                Err(err) => show_failure(errors, &err),
            }
        });
    };
    view! {
        <form class="settings-form" on:submit=on_submit novalidate=true aria-labelledby="opt-compare-title">
            <h3 id="opt-compare-title" class="panel-title panel-title-sub">"Compare with another job"</h3>
            <FormAlert errors=errors />
            <Field id="opt-other" name="other" label="Other job id" value=other errors=errors inputmode="numeric" maxlength=16 />
            <Submit label="Compare" busy_label="Comparing…" busy=busy class="btn btn-ghost" />
            {move || rows.get().map(|list| {
                if list.is_empty() {
                    view! { <p class="empty-state">"Neither job has a run with 10 trades."</p> }.into_any()
                } else {
                    let body = list
                        .iter()
                        .map(|c| vec![
                            Cell::text(format!("{} · {} · {}", c.symbol, c.tf, c.pattern_type.replace('_', " "))),
                            Cell::text(side(c.a.as_ref())),
                            Cell::text(side(c.b.as_ref())),
                        ])
                        .collect();
                    table("opt-compare", "Best run of each job", &["Symbol · TF · type", "This job", "Other job"], body)
                }
            })}
        </form>
    }
}
