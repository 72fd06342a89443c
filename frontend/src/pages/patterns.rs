//! `/patterns`: the pattern list with filters (symbol, TF, type, direction, status) and keyset
//! pages of 50 (product.md §2), each row linking to its chart.

use cl_api_types::PatternDto;
use cl_domain::{Direction, PatternStatus, PatternType, Timeframe};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{self, PatternQuery};
use crate::components::list::{table, Cell, Keyset, KeysetList, ListText};
use crate::components::set_page_title;
use crate::format;
use crate::pages::filters::{SelectFilter, SymbolFilter};

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
    let keyset = Keyset::new();
    let set = move |f: fn(&mut PatternQuery, String)| {
        move |v: String| {
            query.update(|q| f(q, v));
            keyset.reset();
        }
    };

    let page = LocalResource::new(move || {
        let q = query.get();
        let cursor = keyset.current();
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
            <KeysetList
                page=page
                keyset=keyset
                text=ListText { loading: "Loading patterns…", empty: "No patterns match these filters.", failure: "Could not load patterns" }
                rows=pattern_table
            />
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
fn pattern_table(items: Vec<PatternDto>) -> AnyView {
    let rows = items
        .into_iter()
        .map(|p| {
            let bull = p.direction == Direction::Bullish;
            let href = format::chart_href(&p.symbol, p.tf.as_str(), Some(p.id));
            let label = format!("Chart of pattern {} ({} {})", p.id, p.symbol, p.tf.as_str());
            vec![
                Cell::classed(p.symbol, "cell-symbol"),
                Cell::text(p.tf.as_str()),
                Cell::view(
                    "",
                    view! { <abbr title=type_name(p.pattern_type)>{p.pattern_type.abbreviation()}</abbr> }.into_any(),
                ),
                Cell::view(
                    "",
                    view! {
                        <span class="dir-badge" class:dir-long=bull class:dir-short=!bull>
                            {if bull { "▲ bullish" } else { "▼ bearish" }}
                        </span>
                    }
                    .into_any(),
                ),
                Cell::text(p.status.as_str()),
                Cell::num(format!("{} – {}", format::price(p.zone.low), format::price(p.zone.high))),
                Cell::num(format::price(p.levels.entry)),
                Cell::num(format::price(p.levels.stop_loss)),
                Cell::num(format::price(p.levels.tp1)),
                Cell::classed(format::short_datetime(p.detected_at), "nowrap"),
                Cell::view(
                    "",
                    view! { <A href=href attr:class="row-link" attr:aria-label=label>"Chart"</A> }.into_any(),
                ),
            ]
        })
        .collect();
    table(
        "patterns-table",
        "Patterns, newest first",
        &[
            "Symbol",
            "TF",
            "Type",
            "Direction",
            "Status",
            "Zone",
            "Entry",
            "Stop",
            "TP1",
            "Detected (UTC)",
            "Chart",
        ],
        rows,
    )
}
