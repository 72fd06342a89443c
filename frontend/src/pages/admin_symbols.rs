//! `/admin/symbols` (product.md §9 "Symbols"): the symbol list with activate/deactivate, the
//! notify switch and the fetch start date per symbol; the add form (checked here first, the
//! server's field errors shown inline); a historical fetch per symbol (a queued, chunked run
//! whose progress is polled) and the CSV/JSON candle import.
//!
//! The import reads the chosen file in WASM (the `File` blob's text through a `Response`, so
//! no extra crate), refuses more than 5 MiB before sending (the server checks it too) and
//! shows the stored/duplicate/skipped counts with the skipped rows and their lines.
//!
//! States are text plus a symbol (✓ active, ✕ inactive, ● notify on, ○ notify off); colour
//! only repeats them.

use cl_api_types::ops::{ImportRequest, ImportResultDto, QueuedRunDto};
use cl_api_types::{AdminSymbolDto, SymbolCreateRequest, SymbolPatchRequest};
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::api::{ops, ApiError};
use crate::components::form::{Field, FormAlert, FormErrors, FormSuccess, Submit};
use crate::components::list::{table, Cell};
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;
use crate::pages::admin::{show_failure, AdminPage};
use crate::pages::admin_crons::{poll_run, run_is_live, run_line};
use crate::pages::portfolio::{grid, val};

/// The import's data limit (product.md §9): 5 MiB.
const MAX_IMPORT_BYTES: f64 = 5.0 * 1024.0 * 1024.0;

type SymbolList = LocalResource<Result<Vec<AdminSymbolDto>, ApiError>>;

const DAY_MS: i64 = 86_400_000;

/// The product's default fetch start (product.md §9): 2024-01-01.
const DEFAULT_START: &str = "2024-01-01";

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` (an `<input type="date">` value) → UTC midnight in ms.
pub(crate) fn date_to_ms(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let ms = days_from_civil(y, m, d) * DAY_MS;
    // Reject 2024-02-31 and friends: the date must read back the same.
    (ms_to_date(ms) == format!("{y:04}-{m:02}-{d:02}")).then_some(ms)
}

/// UTC ms → `YYYY-MM-DD`.
pub(crate) fn ms_to_date(ms: i64) -> String {
    let z = ms.div_euclid(DAY_MS) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `Some(problem)` when `s` is not `BASE/QUOTE` (or `BASE-QUOTE`) of A–Z 0–9 `:` `_`,
/// 3 to 20 characters; the server checks the same rule.
pub(crate) fn symbol_problem(s: &str) -> Option<&'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Some("Enter a symbol such as BTC/USDT.");
    }
    let norm = s.replace('-', "/");
    let Some((base, quote)) = norm.split_once('/') else {
        return Some("Write it as BASE/QUOTE, e.g. BTC/USDT.");
    };
    let ok = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b':' || b == b'_')
    };
    if !ok(base) || !ok(quote) {
        return Some("Use letters, digits, : and _ on both sides of one /.");
    }
    if !(3..=20).contains(&norm.len()) {
        return Some("Use 3 to 20 characters.");
    }
    None
}

/// `/admin/symbols`.
#[component]
pub fn AdminSymbols() -> impl IntoView {
    set_page_title("Admin · Symbols");
    let version = RwSignal::new(0_u32);
    let list: SymbolList = LocalResource::new(move || {
        version.track();
        ops::symbols()
    });
    view! {
        <AdminPage title="Symbols">
            <SymbolTable list=list version=version />
            <AddSymbol version=version />
            <SymbolOps list=list />
        </AdminPage>
    }
}

/// The add form.
#[component]
fn AddSymbol(version: RwSignal<u32>) -> impl IntoView {
    let symbol = RwSignal::new(String::new());
    let start = RwSignal::new(String::from(DEFAULT_START));
    let active = RwSignal::new(true);
    let notify = RwSignal::new(true);
    let busy = RwSignal::new(false);
    let errors = FormErrors::new();
    let done = RwSignal::new(None::<String>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        done.set(None);
        let raw = symbol.get_untracked().trim().to_uppercase();
        if let Some(problem) = symbol_problem(&raw) {
            errors.set_field("symbol", problem);
        }
        let start_ms = date_to_ms(&start.get_untracked());
        if start_ms.is_none() {
            errors.set_field("fetch_start_ms", "Pick a date.");
        }
        if errors.has_field_errors() {
            return;
        }
        let body = SymbolCreateRequest {
            symbol: raw,
            is_active: Some(active.get_untracked()),
            notify_enabled: Some(notify.get_untracked()),
            fetch_start_ms: start_ms,
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = ops::add_symbol(&body).await;
            busy.set(false);
            match result {
                Ok(s) => {
                    symbol.set(String::new());
                    done.set(Some(format!("Added {}.", s.symbol)));
                    version.update(|v| *v += 1);
                }
                Err(err) if err.code() == Some("conflict") => {
                    errors.set_field("symbol", &err.message());
                }
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <section class="panel symbols-panel" aria-labelledby="add-symbol-title">
            <h2 id="add-symbol-title" class="panel-title">"Add a symbol"</h2>
            <FormAlert errors=errors />
            <FormSuccess message=done />
            <form class="settings-form symbol-form" on:submit=on_submit novalidate=true>
                <Field id="sym-symbol" name="symbol" label="Symbol" hint="BASE/QUOTE as on the exchange, e.g. ADA/USDT" value=symbol errors=errors maxlength=20 />
                <DateField id="sym-start" name="fetch_start_ms" label="Fetch candles from" value=start errors=errors />
                <div class="form-check">
                    <input id="sym-active" type="checkbox" class="checkbox" bind:checked=active />
                    <label for="sym-active">"Active (fetched, detected and shown)"</label>
                </div>
                <div class="form-check">
                    <input id="sym-notify" type="checkbox" class="checkbox" bind:checked=notify />
                    <label for="sym-notify">"Notify its signals"</label>
                </div>
                <Submit label="Add symbol" busy_label="Adding…" busy=busy />
            </form>
        </section>
    }
}

/// A labelled `<input type="date">` with its inline error.
#[component]
fn DateField(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    errors: FormErrors,
) -> impl IntoView {
    let err_id = format!("{id}-error");
    let err_id2 = err_id.clone();
    let error = move || errors.of(name);
    view! {
        <div class="form-field" class:has-error=move || error().is_some()>
            <label class="form-label" for=id>{label}</label>
            <input
                id=id
                name=name
                type="date"
                class="input"
                min="2017-01-01"
                required=true
                aria-invalid=move || error().map(|_| "true")
                aria-describedby=move || error().map(|_| err_id2.clone())
                bind:value=value
            />
            {move || error().map(|m| view! { <p class="field-error" id=err_id.clone()><span aria-hidden="true">"✕ "</span>{m}</p> })}
        </div>
    }
}

/// The list with the per-row switches.
#[component]
fn SymbolTable(list: SymbolList, version: RwSignal<u32>) -> impl IntoView {
    let errors = FormErrors::new();
    let done = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let patch = Callback::new(move |(id, body, what): (i64, SymbolPatchRequest, String)| {
        errors.clear();
        done.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = ops::patch_symbol(id, &body).await;
            busy.set(false);
            match result {
                Ok(s) => {
                    done.set(Some(format!("{}: {what}.", s.symbol)));
                    version.update(|v| *v += 1);
                }
                Err(err) => show_failure(errors, &err),
            }
        });
    });
    let row = RowActions { busy, patch };
    view! {
        <section class="panel symbols-panel" aria-labelledby="symbols-title">
            <h2 id="symbols-title" class="panel-title">"Symbols"</h2>
            <FormAlert errors=errors />
            <FormSuccess message=done />
            <div class="list-results" aria-live="polite">
                <Transition fallback=|| view! { <Loading text="Loading the symbols…" /> }>
                    {move || Suspend::new(async move {
                        match list.await {
                            Ok(items) if items.is_empty() => {
                                view! { <p class="empty-state">"No symbols yet. Add the first one below."</p> }.into_any()
                            }
                            Ok(items) => symbols_table(items, row),
                            Err(err) => view! { <ErrorBanner title="Could not load the symbols" err=err /> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </section>
    }
}

/// What a symbol row can do.
#[derive(Clone, Copy)]
struct RowActions {
    busy: RwSignal<bool>,
    patch: Callback<(i64, SymbolPatchRequest, String)>,
}

fn patch_body(
    active: Option<bool>,
    notify: Option<bool>,
    start: Option<i64>,
) -> SymbolPatchRequest {
    SymbolPatchRequest {
        is_active: active,
        notify_enabled: notify,
        fetch_start_ms: start,
    }
}

fn symbols_table(items: Vec<AdminSymbolDto>, a: RowActions) -> AnyView {
    let rows = items
        .into_iter()
        .map(|s| {
            let id = s.id;
            let state = if s.is_active { ("sym-state sym-on", "✓ active") } else { ("sym-state sym-off", "✕ inactive") };
            let notify = if s.notify_enabled { ("sym-state sym-on", "● on") } else { ("sym-state sym-off", "○ off") };
            let (act_label, act_to, act_done) = if s.is_active {
                ("Deactivate", false, "deactivated")
            } else {
                ("Activate", true, "activated")
            };
            let (ntf_label, ntf_to, ntf_done) = if s.notify_enabled {
                ("Mute", false, "notifications off")
            } else {
                ("Notify", true, "notifications on")
            };
            let who = s.symbol.clone();
            let who2 = s.symbol.clone();
            let buttons = view! {
                <button
                    type="button"
                    class=if s.is_active { "btn btn-danger-ghost btn-sm" } else { "btn btn-ghost btn-sm" }
                    disabled=move || a.busy.get()
                    on:click=move |_| a.patch.run((id, patch_body(Some(act_to), None, None), act_done.to_owned()))
                >
                    {act_label}<span class="sr-only">{format!(" {who}")}</span>
                </button>
                <button
                    type="button"
                    class="btn btn-ghost btn-sm"
                    disabled=move || a.busy.get()
                    on:click=move |_| a.patch.run((id, patch_body(None, Some(ntf_to), None), ntf_done.to_owned()))
                >
                    {ntf_label}<span class="sr-only">{format!(" {who2}")}</span>
                </button>
            };
            vec![
                Cell::text(s.symbol.clone()),
                Cell::text(s.exchange.clone()),
                Cell::classed(state.1, state.0),
                Cell::classed(notify.1, notify.0),
                Cell::view("nowrap", start_form(id, &s.symbol, s.fetch_start_ms, a)),
                Cell::classed(format::short_datetime(s.created_at), "nowrap"),
                Cell::view("admin-actions", buttons.into_any()),
            ]
        })
        .collect();
    table(
        "admin-symbols",
        "Symbols",
        &[
            "Symbol",
            "Exchange",
            "State",
            "Notify",
            "Fetch from",
            "Added (UTC)",
            "Actions",
        ],
        rows,
    )
}

/// The per-row fetch start: a labelled date input and its own save button.
fn start_form(id: i64, symbol: &str, start_ms: i64, a: RowActions) -> AnyView {
    let value = RwSignal::new(ms_to_date(start_ms));
    let input_id = format!("start-{id}");
    let label = format!("Fetch start of {symbol}");
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(ms) = date_to_ms(&value.get_untracked()) {
            let what = format!("fetch start set to {}", ms_to_date(ms));
            a.patch.run((id, patch_body(None, None, Some(ms)), what));
        }
    };
    view! {
        <form class="start-form" on:submit=on_submit>
            <label class="sr-only" for=input_id.clone()>{label}</label>
            <input id=input_id type="date" class="input input-sm" min="2017-01-01" required=true bind:value=value />
            <button type="submit" class="btn btn-ghost btn-sm" disabled=move || a.busy.get()>
                "Set"<span class="sr-only">{format!(" the fetch start of {symbol}")}</span>
            </button>
        </form>
    }
    .into_any()
}

/// `csv` or `json` from a file name (CSV unless it ends in `.json`).
pub(crate) fn format_of(file_name: &str) -> &'static str {
    if file_name.to_ascii_lowercase().ends_with(".json") {
        "json"
    } else {
        "csv"
    }
}

/// A byte size for people: `812 B`, `12.4 KiB`, `3.1 MiB`.
pub(crate) fn size(bytes: f64) -> String {
    if bytes < 1024.0 {
        format!("{bytes:.0} B")
    } else if bytes < 1024.0 * 1024.0 {
        format!("{:.1} KiB", bytes / 1024.0)
    } else {
        format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
    }
}

/// The chosen file of a file input, if any.
fn chosen_file(input: &web_sys::HtmlInputElement) -> Option<web_sys::File> {
    input.files().and_then(|f| f.get(0))
}

/// A file's text, read in the browser (a `Response` over the blob: `Body.text()`).
async fn read_text(file: &web_sys::File) -> Result<String, String> {
    let blob: &web_sys::Blob = file.unchecked_ref();
    let raw = web_sys::Response::new_with_opt_blob(Some(blob))
        .map_err(|_| String::from("The browser could not open the file."))?;
    gloo_net::http::Response::from(raw)
        .text()
        .await
        .map_err(|e| format!("The file could not be read as text ({e})."))
}

/// Historical fetch and candle import for one chosen symbol.
#[component]
fn SymbolOps(list: SymbolList) -> impl IntoView {
    let chosen = RwSignal::new(String::new());
    let chosen_id = move || chosen.with(|c| c.parse::<i64>().ok());
    view! {
        <section class="panel symbols-panel" aria-labelledby="sym-ops-title">
            <h2 id="sym-ops-title" class="panel-title">"Historical fetch and import"</h2>
            <div class="form-field">
                <label class="form-label" for="ops-symbol">"Symbol to fetch or import"</label>
                <select id="ops-symbol" class="select" prop:value=move || chosen.get() on:change=move |ev| chosen.set(event_target_value(&ev))>
                    <option value="">"Choose a symbol"</option>
                    {move || {
                        list.get()
                            .and_then(Result::ok)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|s| {
                                let id = s.id.to_string();
                                let sel = chosen.get_untracked() == id;
                                view! { <option value=id selected=sel>{s.symbol}</option> }
                            })
                            .collect_view()
                    }}
                </select>
            </div>
            <div class="sym-ops-grid">
                <HistoricalFetch chosen=Signal::derive(chosen_id) />
                <CandleImport chosen=Signal::derive(chosen_id) />
            </div>
        </section>
    }
}

/// Queues a historical fetch and follows its progress.
#[component]
fn HistoricalFetch(chosen: Signal<Option<i64>>) -> impl IntoView {
    let from = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let errors = FormErrors::new();
    let runs = RwSignal::new(Vec::<(i64, RwSignal<QueuedRunDto>)>::new());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        let Some(id) = chosen.get_untracked() else {
            errors
                .form
                .set(Some(String::from("Choose a symbol first.")));
            return;
        };
        let raw = from.get_untracked();
        let from_ms = if raw.trim().is_empty() {
            None
        } else {
            match date_to_ms(&raw) {
                Some(ms) => Some(ms),
                None => {
                    errors.set_field("from_ms", "Pick a date, or leave it empty.");
                    return;
                }
            }
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = ops::historical_fetch(id, from_ms).await;
            busy.set(false);
            match result {
                Ok(run) => {
                    let run_id = run.id;
                    let live = run_is_live(&run.status);
                    let signal = RwSignal::new(run);
                    runs.update(|r| r.insert(0, (run_id, signal)));
                    if live {
                        poll_run(run_id, signal, Callback::new(|()| {}), 0);
                    }
                }
                Err(err) => show_failure(errors, &err),
            }
        });
    };
    view! {
        <form class="settings-form sym-op" on:submit=on_submit novalidate=true aria-labelledby="hist-title">
            <h3 id="hist-title" class="panel-title-sub">"Historical fetch"</h3>
            <p class="muted small">"Fetches the symbol's 1m history in chunks, a few pages a minute; it resumes where it stopped."</p>
            <FormAlert errors=errors />
            <div class="form-field" class:has-error=move || errors.of("from_ms").is_some()>
                <label class="form-label" for="hist-from">"From (empty: the symbol's fetch start)"</label>
                <input
                    id="hist-from"
                    type="date"
                    class="input"
                    min="2017-01-01"
                    aria-invalid=move || errors.of("from_ms").map(|_| "true")
                    aria-describedby=move || errors.of("from_ms").map(|_| "hist-from-error")
                    bind:value=from
                />
                {move || errors.of("from_ms").map(|m| view! { <p class="field-error" id="hist-from-error"><span aria-hidden="true">"✕ "</span>{m}</p> })}
            </div>
            <Submit label="Start historical fetch" busy_label="Queueing…" busy=busy class="btn btn-ghost" />
            <ul class="run-list" aria-live="polite" aria-label="Historical fetches queued from this page">
                <For each=move || runs.get() key=|(id, _)| *id let:item>
                    {run_line(item.1)}
                </For>
            </ul>
        </form>
    }
}

/// Where an import is.
#[derive(Debug, Clone, PartialEq)]
enum ImportStage {
    Idle,
    Reading,
    Sending(String),
    Done(Box<ImportResultDto>),
}

/// Reads a CSV/JSON file in the browser and imports it.
#[component]
fn CandleImport(chosen: Signal<Option<i64>>) -> impl IntoView {
    let file_ref = NodeRef::<html::Input>::new();
    let format_value = RwSignal::new(String::from("csv"));
    let picked = RwSignal::new(None::<(String, f64)>);
    let stage = RwSignal::new(ImportStage::Idle);
    let errors = FormErrors::new();
    let too_big = |bytes: f64| bytes > MAX_IMPORT_BYTES;
    let on_pick = move |_| {
        errors.clear();
        stage.set(ImportStage::Idle);
        let file = file_ref.get_untracked().and_then(|i| chosen_file(&i));
        match file {
            Some(f) => {
                let (name, bytes) = (f.name(), f.size());
                format_value.set(format_of(&name).to_owned());
                if too_big(bytes) {
                    errors.set_field(
                        "data",
                        &format!("{} is {}; the limit is 5 MiB.", name, size(bytes)),
                    );
                }
                picked.set(Some((name, bytes)));
            }
            None => picked.set(None),
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        let Some(id) = chosen.get_untracked() else {
            errors
                .form
                .set(Some(String::from("Choose a symbol first.")));
            return;
        };
        let Some(file) = file_ref.get_untracked().and_then(|i| chosen_file(&i)) else {
            errors.set_field("data", "Choose a CSV or JSON file.");
            return;
        };
        if too_big(file.size()) {
            errors.set_field(
                "data",
                &format!(
                    "{} is {}; the limit is 5 MiB.",
                    file.name(),
                    size(file.size())
                ),
            );
            return;
        }
        let format = format_value.get_untracked();
        stage.set(ImportStage::Reading);
        leptos::task::spawn_local(async move {
            let data = match read_text(&file).await {
                Ok(d) => d,
                Err(msg) => {
                    stage.set(ImportStage::Idle);
                    errors.set_field("data", &msg);
                    return;
                }
            };
            stage.set(ImportStage::Sending(size(data.len() as f64)));
            let result = ops::import(id, &ImportRequest { format, data }).await;
            match result {
                Ok(r) => stage.set(ImportStage::Done(Box::new(r))),
                Err(err) => {
                    stage.set(ImportStage::Idle);
                    show_failure(errors, &err);
                }
            }
        });
    };
    let working = move || matches!(stage.get(), ImportStage::Reading | ImportStage::Sending(_));
    view! {
        <form class="settings-form sym-op" on:submit=on_submit novalidate=true aria-labelledby="import-title">
            <h3 id="import-title" class="panel-title-sub">"Import candles"</h3>
            <p class="muted small">
                "1m candles as CSV (header " <code>"timestamp,open,high,low,close,volume"</code>
                ") or JSON (" <code>"[[ts, o, h, l, c, v], …]"</code> "), up to 5 MiB. Bad rows are skipped and listed."
            </p>
            <FormAlert errors=errors />
            <div class="form-field" class:has-error=move || errors.of("data").is_some()>
                <label class="form-label" for="import-file">"File"</label>
                <input
                    id="import-file"
                    type="file"
                    class="input input-file"
                    accept=".csv,.json,text/csv,application/json"
                    node_ref=file_ref
                    aria-invalid=move || errors.of("data").map(|_| "true")
                    aria-describedby=move || errors.of("data").map(|_| "import-file-error")
                    on:change=on_pick
                />
                {move || picked.get().map(|(name, bytes)| view! { <p class="field-hint">{format!("{name} · {}", size(bytes))}</p> })}
                {move || errors.of("data").map(|m| view! { <p class="field-error" id="import-file-error"><span aria-hidden="true">"✕ "</span>{m}</p> })}
            </div>
            <div class="form-field">
                <label class="form-label" for="import-format">"Format"</label>
                <select id="import-format" class="select" prop:value=move || format_value.get() on:change=move |ev| format_value.set(event_target_value(&ev))>
                    <option value="csv">"CSV"</option>
                    <option value="json">"JSON"</option>
                </select>
            </div>
            <button type="submit" class="btn btn-ghost" disabled=working aria-busy=move || working().then_some("true")>
                {move || if working() { "Importing…" } else { "Import" }}
            </button>
            <div class="import-result" aria-live="polite">
                {move || match stage.get() {
                    ImportStage::Idle => ().into_any(),
                    ImportStage::Reading => view! {
                        <p class="status-loading" role="status"><progress class="run-progress" aria-label="Reading the file"></progress>" Reading the file…"</p>
                    }
                    .into_any(),
                    ImportStage::Sending(bytes) => view! {
                        <p class="status-loading" role="status"><progress class="run-progress" aria-label="Importing"></progress>{format!(" Sending {bytes} and importing…")}</p>
                    }
                    .into_any(),
                    ImportStage::Done(r) => import_result(*r),
                }}
            </div>
        </form>
    }
}

fn import_result(r: ImportResultDto) -> AnyView {
    let range = match (r.first_ts, r.last_ts) {
        (Some(a), Some(b)) => format!("{} → {}", format::datetime(a), format::datetime(b)),
        _ => String::from("—"),
    };
    let symbol = if r.skipped == 0 { "✓" } else { "◐" };
    let errors = (!r.errors.is_empty()).then(|| {
        let rows = r
            .errors
            .iter()
            .map(|e| {
                vec![
                    Cell::classed(e.row.to_string(), "num"),
                    Cell::classed(
                        e.line
                            .map(|l| l.to_string())
                            .unwrap_or_else(|| String::from("—")),
                        "num",
                    ),
                    Cell::text(e.reason.clone()),
                ]
            })
            .collect();
        table(
            "import-errors",
            "Skipped rows",
            &["Row", "Line", "Why skipped"],
            rows,
        )
    });
    view! {
        <div class="import-done" role="status">
            <p class="import-headline">
                <span aria-hidden="true">{symbol}" "</span>
                {format!("Imported {} new candles; {} already stored, {} skipped.", r.imported, r.duplicates, r.skipped)}
            </p>
            {grid(vec![
                ("Valid rows", val(r.valid.to_string(), "", "import-valid")),
                ("Imported", val(r.imported.to_string(), "", "import-imported")),
                ("Already stored", val(r.duplicates.to_string(), "", "import-duplicates")),
                ("Skipped", val(r.skipped.to_string(), "", "import-skipped")),
                ("Higher-TF candles", val(r.aggregated.to_string(), "", "import-aggregated")),
                ("Range (UTC)", val(range, "", "")),
            ])}
            {errors}
            {r.errors_truncated.then(|| view! { <p class="muted small">"More rows were skipped than listed (the first 100 are shown)."</p> })}
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_utc_midnight() {
        assert_eq!(date_to_ms("1970-01-01"), Some(0));
        assert_eq!(date_to_ms("2024-01-01"), Some(1_704_067_200_000));
        assert_eq!(ms_to_date(1_704_067_200_000), "2024-01-01");
        assert_eq!(ms_to_date(1_709_164_800_000), "2024-02-29");
        assert_eq!(
            date_to_ms("2024-02-29").map(ms_to_date).as_deref(),
            Some("2024-02-29")
        );
    }

    #[test]
    fn impossible_dates_are_refused() {
        assert_eq!(date_to_ms("2023-02-29"), None);
        assert_eq!(date_to_ms("2024-13-01"), None);
        assert_eq!(date_to_ms(""), None);
        assert_eq!(date_to_ms("yesterday"), None);
    }

    #[test]
    fn the_format_follows_the_file_name() {
        assert_eq!(format_of("btc.json"), "json");
        assert_eq!(format_of("BTC.JSON"), "json");
        assert_eq!(format_of("btc.csv"), "csv");
        assert_eq!(format_of("candles"), "csv");
    }

    #[test]
    fn sizes_read_in_the_largest_sensible_unit() {
        assert_eq!(size(812.0), "812 B");
        assert_eq!(size(12_697.0), "12.4 KiB");
        assert_eq!(size(MAX_IMPORT_BYTES), "5.0 MiB");
    }

    #[test]
    fn symbols_follow_the_server_rule() {
        assert_eq!(symbol_problem("BTC/USDT"), None);
        assert_eq!(symbol_problem("ETH-USDT"), None);
        assert_eq!(symbol_problem("1000PEPE/USDT"), None);
        assert!(symbol_problem("").is_some());
        assert!(symbol_problem("BTCUSDT").is_some());
        assert!(symbol_problem("BTC/").is_some());
        assert!(symbol_problem("BT$/USDT").is_some());
        assert!(symbol_problem("A/B").is_some());
        assert!(symbol_problem("ABCDEFGHIJK/ABCDEFGHIJK").is_some());
    }
}
