//! `/analytics` (product.md §2, pro and premium): pattern counts by type, timeframe and
//! direction, fill/expiry/invalidation rates and signal outcomes, from the stats cache
//! (`GET /stats`). A symbol filter narrows it to one symbol. Below pro the server answers
//! `tier_required` and the page shows the shared upgrade prompt.
//!
//! Every figure is in a real table (caption, header cells); the bars are decoration
//! (`aria-hidden`) whose width is set with `style:width` only.

use cl_api_types::{AnalyticsDto, KeyCountDto, PatternCountsDto};
use leptos::prelude::*;

use crate::api::stats as api;
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;
use crate::session::RequireSession;

/// A rate as a percentage with one decimal, or an em dash.
fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// The width of a bar for `n` of `max`.
fn width(n: u64, max: u64) -> String {
    let w = if max == 0 {
        0.0
    } else {
        n as f64 / max as f64 * 100.0
    };
    format!("{w:.1}%")
}

fn label(key: &str) -> String {
    key.replace('_', " ")
}

/// One breakdown table: group, total (with a bar), active, filled, invalidated, expired.
fn breakdown(caption: &'static str, rows: Vec<PatternCountsDto>) -> impl IntoView {
    let max = rows.iter().map(|r| r.total).max().unwrap_or(0);
    let body = rows
        .into_iter()
        .map(|r| {
            view! {
                <tr>
                    <th scope="row">{label(&r.key)}</th>
                    <td class="num">
                        <span class="stat-bar" aria-hidden="true">
                            <span class="stat-bar-fill" style:width=width(r.total, max)></span>
                        </span>
                        {r.total}
                    </td>
                    <td class="num">{r.active}</td>
                    <td class="num">{r.filled}</td>
                    <td class="num">{r.invalidated}</td>
                    <td class="num">{r.expired}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="data-table stats-table">
                <caption>{caption}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Group"</th>
                        <th scope="col" class="num">"Total"</th>
                        <th scope="col" class="num">"Active"</th>
                        <th scope="col" class="num">"Filled"</th>
                        <th scope="col" class="num">"Invalidated"</th>
                        <th scope="col" class="num">"Expired"</th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}

fn outcomes(rows: Vec<KeyCountDto>) -> impl IntoView {
    let max = rows.iter().map(|r| r.count).max().unwrap_or(0);
    let body = rows
        .into_iter()
        .map(|r| {
            view! {
                <tr>
                    <th scope="row">{label(&r.key)}</th>
                    <td class="num">
                        <span class="stat-bar" aria-hidden="true">
                            <span class="stat-bar-fill stat-bar-alt" style:width=width(r.count, max)></span>
                        </span>
                        {r.count}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="data-table stats-table">
                <caption>"Signal outcomes by status"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Status"</th>
                        <th scope="col" class="num">"Signals"</th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}

/// The figures of one analytics answer (also used by the admin stats page).
pub(crate) fn analytics_view(a: AnalyticsDto) -> AnyView {
    let when = a.computed_at.map_or_else(
        || "Not computed yet: the stats job runs every 5 minutes.".to_owned(),
        |t| format!("Computed {} UTC", format::short_datetime(t)),
    );
    let empty = a.patterns.total == 0 && a.signals_total == 0;
    let r = a.rates;
    view! {
        <p class="muted stats-when">{when}</p>
        <dl class="stat-tiles">
            <div class="stat-tile"><dt>"Patterns"</dt><dd>{a.patterns.total}</dd></div>
            <div class="stat-tile"><dt>"Active"</dt><dd>{a.patterns.active}</dd></div>
            <div class="stat-tile"><dt>"Fill rate"</dt><dd>{pct(r.fill)}</dd></div>
            <div class="stat-tile"><dt>"Expiry rate"</dt><dd>{pct(r.expiry)}</dd></div>
            <div class="stat-tile"><dt>"Invalidation rate"</dt><dd>{pct(r.invalidation)}</dd></div>
            <div class="stat-tile"><dt>"Signals"</dt><dd>{a.signals_total}</dd></div>
        </dl>
        <p class="field-hint">{format!("Rates are over the {} patterns that have ended (filled, invalidated or expired).", r.ended)}</p>
        {if empty {
            view! { <p class="empty-state">"No patterns or signals recorded yet for this scope."</p> }.into_any()
        } else {
            view! {
                <div class="stats-grid">
                    {breakdown("Patterns by type", a.by_type)}
                    {breakdown("Patterns by direction", a.by_direction)}
                    {breakdown("Patterns by timeframe", a.by_tf)}
                    {outcomes(a.signals_by_status)}
                </div>
            }
            .into_any()
        }}
    }
    .into_any()
}

/// `/analytics`.
#[component]
pub fn Analytics() -> impl IntoView {
    set_page_title("Analytics");
    let symbol = RwSignal::new(String::new());
    let applied = RwSignal::new(String::new());
    let data = LocalResource::new(move || {
        let s = applied.get();
        async move { api::analytics(&s).await }
    });
    view! {
        <div class="page container list-page">
            <header class="page-header page-header-tight">
                <p class="eyebrow">"Pro"</p>
                <h1>"Analytics"</h1>
                <p class="muted">"How detected patterns and signals turned out, across your plan's symbols or one symbol."</p>
            </header>
            <RequireSession>
                <form class="filters" role="search" aria-label="Analytics scope" on:submit=move |ev| {
                    ev.prevent_default();
                    applied.set(symbol.get_untracked().trim().to_uppercase());
                }>
                    <div class="field">
                        <label class="field-label" for="an-symbol">"Symbol (blank: all of your plan's symbols)"</label>
                        <input id="an-symbol" class="input" type="search" placeholder="BTC/USDT" autocomplete="off" maxlength="20" bind:value=symbol />
                    </div>
                    <button type="submit" class="btn btn-primary">"Show"</button>
                </form>
                <div aria-live="polite">
                    <Transition fallback=|| view! { <Loading text="Loading analytics…" /> }>
                        {move || Suspend::new(async move {
                            match data.await {
                                Ok(a) => analytics_view(a),
                                Err(err) if err.code() == Some("not_found") => view! {
                                    <p class="empty-state">"No analytics for this symbol yet. Check the spelling (BTC/USDT) or try again after the next stats run."</p>
                                }.into_any(),
                                Err(err) => view! { <ErrorBanner title="Could not load analytics" err=err /> }.into_any(),
                            }
                        })}
                    </Transition>
                </div>
            </RequireSession>
        </div>
    }
}
