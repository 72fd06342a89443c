//! `/backtest` (form + my runs) and `/backtest/:id` (progress, then results) — product.md §8,
//! premium only: other tiers see the upgrade prompt (the server refuses them too).
//!
//! A run is chunked on the server (the first chunk runs in the `POST`, the every-minute job
//! continues it), so the list and the detail page poll while a run is queued or running and
//! stop once nothing is active or the tab is hidden. The results reuse the portfolio's
//! pieces: its table/grid helpers and the shared [`EquityCurve`] chart.

use std::time::Duration;

use cl_api_types::{BacktestDetailDto, BacktestDto, BacktestRequest, BacktestTradeDto, Me};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use web_sys::VisibilityState;

use crate::api::{self, backtests as bt, ApiError};
use crate::components::chart::equity::EquityCurve;
use crate::components::form::{Field, FormAlert, FormErrors, Submit};
use crate::components::list::{list_view, table, Cell, ListText};
use crate::components::status::UpgradePrompt;
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;
use crate::pages::portfolio::{grid, number, t, val, Choice};
use crate::session::{use_session, RequireSession};

const DAY_MS: i64 = 86_400_000;
/// How often an active run is re-read.
const POLL: Duration = Duration::from_secs(2);
/// The backtest timeframes (1m is not backtested).
const TFS: [(&str, &str); 7] = [
    ("5m", "5m"),
    ("15m", "15m"),
    ("30m", "30m"),
    ("1h", "1h"),
    ("2h", "2h"),
    ("4h", "4h"),
    ("1d", "1d"),
];
/// Detector wire names and labels.
const PATTERNS: [(&str, &str); 3] = [
    ("imbalance", "Imbalance (FVG)"),
    ("order_block", "Order block"),
    ("liquidity_sweep", "Liquidity sweep"),
];

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// UTC midnight (ms) of an `<input type=date>` value `YYYY-MM-DD`.
fn parse_date(raw: &str) -> Option<i64> {
    let mut it = raw.trim().splitn(3, '-');
    let y = it.next()?.parse::<i64>().ok()?;
    let m = it.next()?.parse::<i64>().ok()?;
    let d = it.next()?.parse::<i64>().ok()?;
    let ok = (1970..=9999).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d);
    let ms = days_from_civil(y, m, d) * DAY_MS;
    // 31 February and friends roll over into the next month: refuse them.
    (ok && iso_date(ms) == format!("{y:04}-{m:02}-{d:02}")).then_some(ms)
}

/// `YYYY-MM-DD` of UTC ms (the value format of `<input type=date>`).
fn iso_date(ms: i64) -> String {
    // `format::datetime` is `DD/MM/YYYY HH:MM UTC`.
    let s = format::datetime(ms);
    match (s.get(0..2), s.get(3..5), s.get(6..10)) {
        (Some(d), Some(m), Some(y)) => format!("{y}-{m}-{d}"),
        _ => String::new(),
    }
}

/// `[from, to)` in UTC ms from two inclusive dates, `to` capped at `now`.
fn date_range(from: &str, to: &str, now: i64) -> Result<(i64, i64), (&'static str, &'static str)> {
    let from = parse_date(from).ok_or(("from", "Pick a start date."))?;
    let to = parse_date(to).ok_or(("to", "Pick an end date."))?;
    let to = (to + DAY_MS).min(now);
    if from >= to {
        return Err((
            "to",
            "The end must be after the start and not in the future.",
        ));
    }
    Ok((from, to))
}

/// `(class, text)` of a status: a symbol and a word besides the colour.
fn status_parts(b: &BacktestDto) -> (&'static str, String) {
    match b.status.as_str() {
        "queued" => ("bt-status bt-active", String::from("⏳ queued")),
        "running" => (
            "bt-status bt-active",
            format!("▶ running {:.0} %", b.progress),
        ),
        "done" => ("bt-status bt-done", String::from("✓ done")),
        "failed" => ("bt-status bt-failed", String::from("✕ failed")),
        other => ("bt-status", other.to_owned()),
    }
}

fn is_active(b: &BacktestDto) -> bool {
    matches!(b.status.as_str(), "queued" | "running")
}

fn pattern_label(wire: &str) -> &str {
    PATTERNS
        .iter()
        .find(|(w, _)| *w == wire)
        .map_or(wire, |(_, l)| *l)
}

fn title_of(b: &BacktestDto) -> String {
    b.name
        .clone()
        .unwrap_or_else(|| format!("Backtest #{}", b.id))
}

/// `(class, text)` of a signed percentage.
fn signed_pct(v: f64) -> (&'static str, String) {
    if v > 0.0 {
        ("pnl-pos", format!("▲ +{v:.2} %"))
    } else if v < 0.0 {
        ("pnl-neg", format!("▼ −{:.2} %", -v))
    } else {
        ("pnl-flat", String::from("· 0 %"))
    }
}

/// Calls `load` every [`POLL`] while `active()` holds and the tab is visible.
fn poll_while(active: impl Fn() -> bool + 'static, load: impl Fn() + 'static) {
    if let Ok(handle) = set_interval_with_handle(
        move || {
            if active() && document().visibility_state() != VisibilityState::Hidden {
                load();
            }
        },
        POLL,
    ) {
        on_cleanup(move || handle.clear());
    }
}

/// Renders `children` for a tier with backtests, the upgrade prompt otherwise.
#[component]
fn PremiumOnly(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let children = StoredValue::new(children);
    move || {
        session.me().map(|me| {
            if me.limits.backtests_per_day == Some(0) {
                view! {
                    <UpgradePrompt message="Backtests are part of the Premium plan: replay a detector over stored candles with your own R:R, stop buffer and slippage." />
                }
                .into_any()
            } else {
                children.with_value(|c| c()).into_any()
            }
        })
    }
}

// ----- /backtest --------------------------------------------------------------------------

/// `/backtest`: the form and my runs.
#[component]
pub fn Backtests() -> impl IntoView {
    set_page_title("Backtest");
    let session = use_session();
    view! {
        <div class="page container list-page backtest-page">
            <header class="page-header page-header-tight">
                <p class="eyebrow">"Backtest"</p>
                <h1>"Backtests"</h1>
                <p class="lead">"Replay a detector over stored candles and see how its trades would have gone."</p>
            </header>
            <RequireSession>
                <PremiumOnly>
                    <div class="bt-layout">
                        {move || session.me().map(|me| view! { <BacktestForm me=me /> })}
                        <BacktestList />
                    </div>
                </PremiumOnly>
            </RequireSession>
        </div>
    }
}

#[component]
fn BacktestForm(me: Me) -> impl IntoView {
    let symbols = LocalResource::new(api::symbols);
    let allowed = me.limits.symbols.clone();
    let types: Vec<(&'static str, &'static str)> = PATTERNS
        .iter()
        .copied()
        .filter(|(w, _)| me.limits.pattern_types.iter().any(|p| p == w))
        .collect();
    let now = web_sys::js_sys::Date::now() as i64;
    let symbol = RwSignal::new(String::new());
    let tf = RwSignal::new(String::from("1h"));
    let from = RwSignal::new(iso_date(now - 30 * DAY_MS));
    let to = RwSignal::new(iso_date(now));
    let pattern = RwSignal::new(types.first().map_or("imbalance", |t| t.0).to_owned());
    let rr = RwSignal::new(String::from("2"));
    let sl = RwSignal::new(String::from("10"));
    let slippage = RwSignal::new(String::from("0"));
    let name = RwSignal::new(String::new());
    let errors = FormErrors::new();
    let busy = RwSignal::new(false);
    let navigate = use_navigate();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.clear();
        let opt = |field: &str, raw: String| {
            if raw.trim().is_empty() {
                return None;
            }
            let v = number(&raw);
            if v.is_none() {
                errors.set_field(field, "Enter a number.");
            }
            v
        };
        let (rr, sl_buffer_pct, slippage_pct) = (
            opt("rr", rr.get_untracked()),
            opt("sl_buffer_pct", sl.get_untracked()),
            opt("slippage_pct", slippage.get_untracked()),
        );
        let sym = symbol.get_untracked();
        if sym.is_empty() {
            errors.set_field("symbol", "Pick a symbol.");
        }
        let now_ms = web_sys::js_sys::Date::now() as i64;
        let range = date_range(&from.get_untracked(), &to.get_untracked(), now_ms);
        if let Err((field, msg)) = range {
            errors.set_field(field, msg);
        }
        let Ok((from_ms, to_ms)) = range else { return };
        if errors.has_field_errors() {
            return;
        }
        let (tf_v, type_v) = (tf.get_untracked(), pattern.get_untracked());
        let typed = name.get_untracked().trim().to_owned();
        let body = BacktestRequest {
            name: Some(if typed.is_empty() {
                format!("{sym} {tf_v} {}", pattern_label(&type_v))
            } else {
                typed
            }),
            symbol: sym,
            tf: tf_v,
            from: from_ms,
            to: to_ms,
            pattern_type: type_v,
            rr,
            sl_buffer_pct,
            slippage_pct,
        };
        busy.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match bt::create(&body).await {
                Ok(b) => navigate(&format!("/backtest/{}", b.id), Default::default()),
                Err(err) => errors.show(&err),
            }
            busy.set(false);
        });
    };

    let symbol_choice = move || {
        let list: Vec<String> = match symbols.get() {
            Some(Ok(s)) => s
                .into_iter()
                .map(|s| s.symbol)
                .filter(|s| allowed.as_ref().is_none_or(|a| a.contains(s)))
                .collect(),
            Some(Err(_)) => allowed.clone().unwrap_or_default(),
            None => return view! { <Loading text="Loading symbols…" /> }.into_any(),
        };
        if symbol.get_untracked().is_empty() {
            if let Some(first) = list.first() {
                symbol.set(first.clone());
            }
        }
        let err = move || errors.of("symbol");
        let current = symbol.get_untracked();
        view! {
            <div class="form-field" class:has-error=move || err().is_some()>
                <label class="form-label" for="bt-symbol">"Symbol"</label>
                <select
                    id="bt-symbol"
                    name="symbol"
                    class="select"
                    aria-invalid=move || err().map(|_| "true")
                    aria-describedby=move || err().map(|_| "bt-symbol-error")
                    on:change=move |ev| symbol.set(event_target_value(&ev))
                >
                    {list
                        .into_iter()
                        .map(|s| {
                            let sel = s == current;
                            view! { <option value=s.clone() selected=sel>{s.clone()}</option> }
                        })
                        .collect_view()}
                </select>
                {move || err().map(|m| view! { <p class="field-error" id="bt-symbol-error"><span aria-hidden="true">"✕ "</span>{m}</p> })}
            </div>
        }
        .into_any()
    };

    view! {
        <section class="panel bt-form" aria-labelledby="bt-form-title">
            <h2 id="bt-form-title" class="panel-title">"New backtest"</h2>
            <form class="settings-form" on:submit=submit novalidate>
                <FormAlert errors=errors />
                {symbol_choice}
                <div class="form-row">
                    <Choice id="bt-tf" name="tf" label="Timeframe" options=TFS.to_vec() value=tf errors=errors />
                    <Choice id="bt-type" name="pattern_type" label="Pattern" options=types value=pattern errors=errors />
                </div>
                <div class="form-row">
                    <Field id="bt-from" name="from" label="From (UTC)" kind="date" value=from errors=errors />
                    <Field id="bt-to" name="to" label="To (UTC, inclusive)" kind="date" value=to errors=errors hint="At most 2 years" />
                </div>
                <div class="form-row form-row-3">
                    <Field id="bt-rr" name="rr" label="R:R target" inputmode="decimal" value=rr errors=errors hint="0.5–10" required=false />
                    <Field id="bt-sl" name="sl_buffer_pct" label="SL buffer %" inputmode="decimal" value=sl errors=errors hint="0–100" required=false />
                    <Field id="bt-slip" name="slippage_pct" label="Slippage %" inputmode="decimal" value=slippage errors=errors hint="0–5" required=false />
                </div>
                <Field id="bt-name" name="name" label="Name (optional)" value=name errors=errors required=false maxlength=50 hint="Default: symbol, timeframe and pattern" />
                <div class="form-actions">
                    <Submit label="Run backtest" busy_label="Starting…" busy=busy />
                </div>
            </form>
        </section>
    }
}

#[component]
fn BacktestList() -> impl IntoView {
    let list = RwSignal::new(None::<Result<Vec<BacktestDto>, ApiError>>);
    let load = move || leptos::task::spawn_local(async move { list.set(Some(bt::list().await)) });
    load();
    poll_while(
        move || list.with_untracked(|l| matches!(l, Some(Ok(v)) if v.iter().any(is_active))),
        load,
    );
    let confirm = RwSignal::new(None::<i64>);
    let errors = FormErrors::new();
    let remove = move |id: i64| {
        if confirm.get_untracked() != Some(id) {
            confirm.set(Some(id));
            return;
        }
        errors.clear();
        leptos::task::spawn_local(async move {
            match bt::delete(id).await {
                Ok(_) => load(),
                Err(err) => errors.show(&err),
            }
            confirm.set(None);
        });
    };
    view! {
        <section class="panel bt-list" aria-labelledby="bt-list-title">
            <h2 id="bt-list-title" class="panel-title">"Your backtests"</h2>
            <FormAlert errors=errors />
            {move || list_view(
                list.get(),
                ListText { loading: "Loading your backtests…", empty: "No backtests yet. Pick a symbol and a range above to run your first one.", failure: "Could not load your backtests" },
                |items| list_table(items, confirm, remove),
            )}
        </section>
    }
}

fn list_table(
    items: Vec<BacktestDto>,
    confirm: RwSignal<Option<i64>>,
    remove: impl Fn(i64) + Copy + 'static,
) -> AnyView {
    let rows = items
        .into_iter()
        .map(|b| {
            let id = b.id;
            let (class, status) = status_parts(&b);
            let label = title_of(&b);
            let aria = format!("Delete {label}");
            vec![
                Cell::link(format!("/backtest/{id}"), label),
                Cell::text(b.tf.clone()),
                Cell::text(pattern_label(&b.pattern_type).to_owned()),
                Cell::classed(
                    format!("{} → {}", iso_date(b.from), iso_date(b.to - 1)),
                    "nowrap",
                ),
                Cell::view("", progress_view(&b, class, status)),
                Cell::view(
                    "",
                    view! {
                        <button type="button" class="btn btn-ghost btn-sm" aria-label=aria on:click=move |_| remove(id)>
                            {move || if confirm.get() == Some(id) { "Confirm delete" } else { "Delete" }}
                        </button>
                    }
                    .into_any(),
                ),
            ]
        })
        .collect();
    table(
        "bt-table",
        "Your backtests",
        &["Name", "TF", "Pattern", "Range (UTC)", "Status", ""],
        rows,
    )
}

/// The status text, with a `<progress>` bar while the run is active.
fn progress_view(b: &BacktestDto, class: &'static str, status: String) -> AnyView {
    let bar = is_active(b).then(|| {
        let value = format!("{:.0}", b.progress.clamp(0.0, 100.0));
        view! { <progress class="bt-bar" max="100" value=value aria-hidden="true"></progress> }
    });
    view! { <span class=class>{status}</span>{bar} }.into_any()
}

// ----- /backtest/:id ----------------------------------------------------------------------

/// `/backtest/:id`: progress while it runs, then statistics, equity curve and trades.
#[component]
pub fn BacktestDetail() -> impl IntoView {
    set_page_title("Backtest");
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|s| s.parse::<i64>().ok()));
    view! {
        <div class="page container detail-page backtest-page">
            <p class="back-link"><A href="/backtest">"← All backtests"</A></p>
            <RequireSession>
                <PremiumOnly>
                    {move || match id.get() {
                        Some(id) => view! { <DetailView id=id /> }.into_any(),
                        None => view! { <h1>"Backtest not found"</h1><p class="empty-state">"That is not a backtest id."</p> }.into_any(),
                    }}
                </PremiumOnly>
            </RequireSession>
        </div>
    }
}

#[component]
fn DetailView(id: i64) -> impl IntoView {
    let data = RwSignal::new(None::<Result<BacktestDetailDto, ApiError>>);
    let load = move || leptos::task::spawn_local(async move { data.set(Some(bt::get(id).await)) });
    load();
    poll_while(
        move || data.with_untracked(|d| matches!(d, Some(Ok(d)) if is_active(&d.backtest))),
        load,
    );
    move || match data.get() {
        None => view! { <Loading text="Loading the backtest…" /> }.into_any(),
        Some(Err(err)) => {
            view! { <h1>"Backtest"</h1><ErrorBanner title="Could not load the backtest" err=err /> }
                .into_any()
        }
        Some(Ok(d)) => detail(d),
    }
}

fn detail(d: BacktestDetailDto) -> AnyView {
    let b = &d.backtest;
    let title = title_of(b);
    set_page_title(&title);
    let (class, status) = status_parts(b);
    let body = match b.status.as_str() {
        "done" => results(&d),
        "failed" => view! {
            <div class="status-banner status-down" role="alert">
                <span class="status-symbol" aria-hidden="true">"✕"</span>
                <div>
                    <p class="status-text">"The backtest failed"</p>
                    <p class="status-sub">{b.error.clone().unwrap_or_else(|| String::from("No reason was recorded."))}</p>
                </div>
            </div>
        }
        .into_any(),
        _ => {
            let value = format!("{:.0}", b.progress.clamp(0.0, 100.0));
            let label = format!("Progress: {value} %");
            view! {
                <section class="panel bt-progress" aria-labelledby="bt-progress-title">
                    <h2 id="bt-progress-title" class="panel-title">"Running"</h2>
                    <progress class="bt-bar bt-bar-wide" max="100" value=value aria-label=label.clone()></progress>
                    <p role="status">{format!("{label} · {} trades so far. This page updates by itself.", d.stats.total)}</p>
                </section>
            }
            .into_any()
        }
    };
    view! {
        <header class="page-header page-header-tight">
            <p class="eyebrow">{format!("Backtest · {} · {}", b.tf, pattern_label(&b.pattern_type))}</p>
            <h1>{title}</h1>
            <p class=class data-testid="bt-status">{status}</p>
            <p class="lead bt-params">
                {format!(
                    "{} → {} UTC · R:R {} · SL buffer {} % · slippage {} %",
                    iso_date(b.from),
                    iso_date(b.to - 1),
                    b.rr,
                    b.sl_buffer_pct,
                    b.slippage_pct
                )}
            </p>
            <DeleteBacktest id=b.id />
        </header>
        {body}
    }
    .into_any()
}

#[component]
fn DeleteBacktest(id: i64) -> impl IntoView {
    let confirm = RwSignal::new(false);
    let errors = FormErrors::new();
    let navigate = use_navigate();
    let click = move |_| {
        if !confirm.get_untracked() {
            confirm.set(true);
            return;
        }
        errors.clear();
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match bt::delete(id).await {
                Ok(_) => navigate("/backtest", Default::default()),
                Err(err) => errors.show(&err),
            }
        });
    };
    view! {
        <p class="cta-row">
            <button type="button" class="btn btn-ghost btn-sm" on:click=click>
                {move || if confirm.get() { "Confirm: delete this backtest" } else { "Delete backtest" }}
            </button>
        </p>
        <FormAlert errors=errors />
    }
}

fn results(d: &BacktestDetailDto) -> AnyView {
    let s = &d.stats;
    let (profit_class, profit) = signed_pct(s.total_profit_pct);
    let points: Vec<(i64, f64)> = d.equity_curve.iter().map(|p| (p.at, p.equity)).collect();
    view! {
        <section class="panel" aria-labelledby="bt-stats-title">
            <h2 id="bt-stats-title" class="panel-title">"Statistics"</h2>
            {grid(vec![
                ("Trades", val(s.total.to_string(), "", "bt-total")),
                ("Wins", t(format!("✓ {}", s.wins))),
                ("Losses", t(format!("✕ {}", s.losses))),
                ("Inconclusive", t(format!("? {}", s.inconclusive))),
                ("Win rate", t(format::percent(s.win_rate))),
                ("Win rate without inconclusive", t(format::percent(s.win_rate_excluding_inconclusive))),
                ("Average R:R", t(format!("{:.2}", s.avg_rr))),
                ("Total profit", val(profit, profit_class, "bt-profit")),
                ("Max drawdown", t(format!("{:.2} %", s.max_drawdown_pct))),
                ("Average duration", t(format!("{:.1} candles", s.avg_duration_candles))),
            ])}
        </section>
        <section class="panel equity-panel" aria-labelledby="bt-equity-title">
            <h2 id="bt-equity-title" class="panel-title">"Equity curve"</h2>
            <p class="muted small">"Cumulative profit in % after each exit."</p>
            <EquityCurve
                points=points
                label="Backtest equity curve: cumulative profit % after each exit"
                empty="No closed trades, so there is no curve."
            />
        </section>
        <section class="panel" aria-labelledby="bt-trades-title">
            <h2 id="bt-trades-title" class="panel-title">{format!("Trades ({})", d.trades.len())}</h2>
            {if d.trades.is_empty() {
                view! { <p class="empty-state">"The detector found no trade in this range."</p> }.into_any()
            } else {
                trades_table(&d.trades)
            }}
        </section>
    }
    .into_any()
}

fn trades_table(trades: &[BacktestTradeDto]) -> AnyView {
    let when = |ms: Option<i64>| ms.map_or_else(|| String::from("—"), format::short_datetime);
    let rows = trades
        .iter()
        .enumerate()
        .map(|(i, tr)| {
            let (dir_class, dir) = if tr.direction == "short" {
                ("pnl-neg", "▼ short")
            } else {
                ("pnl-pos", "▲ long")
            };
            let (out_class, outcome) = match tr.outcome.as_str() {
                "win" => ("pnl-pos", "✓ win"),
                "loss" => ("pnl-neg", "✕ loss"),
                _ => ("pnl-flat", "? inconclusive"),
            };
            let r_class = if tr.r > 0.0 {
                "pnl-pos"
            } else if tr.r < 0.0 {
                "pnl-neg"
            } else {
                "pnl-flat"
            };
            vec![
                Cell::num((i + 1).to_string()),
                Cell::classed(dir, dir_class),
                Cell::classed(when(Some(tr.detected_at)), "nowrap"),
                Cell::classed(when(Some(tr.entry_time)), "nowrap"),
                Cell::num(format::price(tr.entry_price)),
                Cell::classed(when(tr.exit_time), "nowrap"),
                Cell::num(
                    tr.exit_price
                        .map_or_else(|| String::from("—"), format::price),
                ),
                Cell::classed(outcome, out_class),
                Cell::classed(format!("{:+.2} R", tr.r), &format!("num {r_class}")),
            ]
        })
        .collect();
    table(
        "bt-trades",
        "Simulated trades",
        &[
            "#",
            "Side",
            "Detected",
            "Entry (UTC)",
            "Entry price",
            "Exit (UTC)",
            "Exit price",
            "Outcome",
            "R",
        ],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_the_date_input_format() {
        assert_eq!(parse_date("2024-06-01"), Some(1_717_200_000_000));
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-02-29"), Some(951_782_400_000));
        assert_eq!(iso_date(1_717_200_000_000 + 5 * 3_600_000), "2024-06-01");
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-13-01"), None);
        assert_eq!(parse_date(""), None);
        assert_eq!(parse_date("01/06/2024"), None);
    }

    #[test]
    fn the_range_includes_the_end_date_and_stops_at_now() {
        let now = 1_717_200_000_000 + 3_600_000;
        assert_eq!(
            date_range("2024-05-22", "2024-05-31", now),
            Ok((1_716_336_000_000, 1_717_200_000_000))
        );
        assert_eq!(
            date_range("2024-05-22", "2024-06-01", now),
            Ok((1_716_336_000_000, now))
        );
        assert_eq!(
            date_range("2024-05-22", "2024-05-21", now).map_err(|e| e.0),
            Err("to")
        );
        assert_eq!(
            date_range("", "2024-05-21", now).map_err(|e| e.0),
            Err("from")
        );
    }
}
