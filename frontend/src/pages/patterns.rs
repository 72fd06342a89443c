//! `/patterns`: the pattern list with filters (symbol, TF, type, direction, status) and keyset
//! pages of 50 (product.md §2), each row linking to its chart.

use cl_api_types::PatternDto;
use cl_domain::{Direction, PatternStatus, PatternType, Timeframe};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{self, PatternQuery};
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;
use crate::pages::filters::{Pager, SelectFilter, SymbolFilter};

/// Page size.
const PAGE: u32 = 50;

/// The patterns page.
#[component]
pub fn Patterns() -> impl IntoView {
    set_page_title("Patterns");
    let query = RwSignal::new(PatternQuery {
        status: PatternStatus::Active.as_str().to_owned(),
        ..PatternQuery::default()
    });
    // Cursor stack: the last entry is the current page's cursor (None = first page).
    let cursors = RwSignal::new(vec![None::<String>]);
    let set = move |f: fn(&mut PatternQuery, String)| {
        move |v: String| {
            query.update(|q| f(q, v));
            cursors.set(vec![None]);
        }
    };

    let page = LocalResource::new(move || {
        let q = query.get();
        let cursor = cursors.with(|c| c.last().cloned().flatten());
        async move { api::patterns(&q, PAGE, cursor.as_deref()).await }
    });

    let tf_options: Vec<(String, String)> = Timeframe::ALL
        .iter()
        .map(|t| (t.as_str().to_owned(), t.as_str().to_owned()))
        .collect();
    let type_options: Vec<(String, String)> = PatternType::ALL
        .iter()
        .map(|t| {
            (
                t.as_str().to_owned(),
                format!("{} ({})", t.abbreviation(), type_name(*t)),
            )
        })
        .collect();
    let dir_options: Vec<(String, String)> = Direction::ALL
        .iter()
        .map(|d| (d.as_str().to_owned(), d.as_str().to_owned()))
        .collect();
    let status_options: Vec<(String, String)> = PatternStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), s.as_str().to_owned()))
        .collect();

    view! {
        <div class="page container list-page">
            <header class="page-header page-header-tight">
                <p class="eyebrow">"Patterns"</p>
                <h1>"Detected patterns"</h1>
                <p class="lead">"Newest first, 50 per page. Open a row's chart to see the zone and its levels."</p>
            </header>
            <form class="filters" aria-label="Pattern filters" on:submit=|ev| ev.prevent_default()>
                <SymbolFilter id="f-symbol" on_change=set(|q, v| q.symbol = v) />
                <SelectFilter id="f-tf" label="Timeframe" any="All timeframes" options=tf_options on_change=set(|q, v| q.tf = v) />
                <SelectFilter id="f-type" label="Type" any="All types" options=type_options on_change=set(|q, v| q.pattern_type = v) />
                <SelectFilter id="f-direction" label="Direction" any="Both directions" options=dir_options on_change=set(|q, v| q.direction = v) />
                <SelectFilter
                    id="f-status"
                    label="Status"
                    any="Any status"
                    options=status_options
                    initial=PatternStatus::Active.as_str()
                    on_change=set(|q, v| q.status = v)
                />
            </form>
            <div class="list-results" aria-live="polite">
                <Transition fallback=|| view! { <Loading text="Loading patterns…" /> }>
                    {move || Suspend::new(async move {
                        match page.await {
                            Ok(p) => {
                                let next = p.next_cursor.clone();
                                view! {
                                    {if p.items.is_empty() {
                                        view! { <p class="empty-state">"No patterns match these filters."</p> }.into_any()
                                    } else {
                                        view! { <PatternTable items=p.items /> }.into_any()
                                    }}
                                    <Pager cursors=cursors next=next />
                                }
                                .into_any()
                            }
                            Err(err) => view! { <ErrorBanner title="Could not load patterns" err=err /> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </div>
    }
}

fn type_name(t: PatternType) -> &'static str {
    match t {
        PatternType::Imbalance => "fair value gap",
        PatternType::OrderBlock => "order block",
        PatternType::LiquiditySweep => "liquidity sweep",
    }
}

/// The result table.
#[component]
fn PatternTable(items: Vec<PatternDto>) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="data-table patterns-table">
                <caption class="sr-only">"Patterns, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Symbol"</th>
                        <th scope="col">"TF"</th>
                        <th scope="col">"Type"</th>
                        <th scope="col">"Direction"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Zone"</th>
                        <th scope="col">"Entry"</th>
                        <th scope="col">"Stop"</th>
                        <th scope="col">"TP1"</th>
                        <th scope="col">"Detected (UTC)"</th>
                        <th scope="col"><span class="sr-only">"Chart"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {items
                        .into_iter()
                        .map(|p| {
                            let bull = p.direction == Direction::Bullish;
                            let href = format::chart_href(&p.symbol, p.tf.as_str(), Some(p.id));
                            view! {
                                <tr>
                                    <th scope="row" class="cell-symbol">{p.symbol.clone()}</th>
                                    <td>{p.tf.as_str()}</td>
                                    <td><abbr title=type_name(p.pattern_type)>{p.pattern_type.abbreviation()}</abbr></td>
                                    <td>
                                        <span class="dir-badge" class:dir-long=bull class:dir-short=!bull>
                                            {if bull { "▲ bullish" } else { "▼ bearish" }}
                                        </span>
                                    </td>
                                    <td>{p.status.as_str()}</td>
                                    <td class="num">{format!("{} – {}", format::price(p.zone.low), format::price(p.zone.high))}</td>
                                    <td class="num">{format::price(p.levels.entry)}</td>
                                    <td class="num">{format::price(p.levels.stop_loss)}</td>
                                    <td class="num">{format::price(p.levels.tp1)}</td>
                                    <td class="nowrap">{format::short_datetime(p.detected_at)}</td>
                                    <td>
                                        <A href=href attr:class="row-link" attr:aria-label=format!("Chart of pattern {} ({} {})", p.id, p.symbol, p.tf.as_str())>
                                            "Chart"
                                        </A>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
