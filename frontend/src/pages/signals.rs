//! `/signals` (filters: status, direction, symbol; keyset pages) and `/signals/:id` (levels,
//! aligned TFs, source pattern, chart link) — product.md §2.

use cl_api_types::{PatternDto, Side, SignalDto};
use cl_domain::signal::SignalStatus;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::{self, SignalQuery};
use crate::components::list::{table, Cell, Keyset, KeysetList, ListText};
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;
use crate::pages::filters::{SelectFilter, SymbolFilter};

/// Page size (the API's default).
const PAGE: u32 = 50;

const STATUSES: [SignalStatus; 6] = [
    SignalStatus::Pending,
    SignalStatus::Notified,
    SignalStatus::Triggered,
    SignalStatus::Closed,
    SignalStatus::Expired,
    SignalStatus::Cancelled,
];

fn status_str(s: SignalStatus) -> &'static str {
    match s {
        SignalStatus::Pending => "pending",
        SignalStatus::Notified => "notified",
        SignalStatus::Triggered => "triggered",
        SignalStatus::Closed => "closed",
        SignalStatus::Expired => "expired",
        SignalStatus::Cancelled => "cancelled",
    }
}

fn side_parts(side: Side) -> (bool, &'static str) {
    match side {
        Side::Long => (true, "▲ LONG"),
        Side::Short => (false, "▼ SHORT"),
    }
}

/// The signals list page.
#[component]
pub fn Signals() -> impl IntoView {
    set_page_title("Signals");
    let query = RwSignal::new(SignalQuery::default());
    let keyset = Keyset::new();
    let set = move |f: fn(&mut SignalQuery, String)| {
        move |v: String| {
            query.update(|q| f(q, v));
            keyset.reset();
        }
    };
    let page = LocalResource::new(move || {
        let q = query.get();
        let cursor = keyset.current();
        async move { api::signals(&q, PAGE, cursor.as_deref()).await }
    });
    let status_options: Vec<(String, String)> = STATUSES
        .iter()
        .map(|s| (status_str(*s).to_owned(), status_str(*s).to_owned()))
        .collect();
    let dir_options = vec![
        (String::from("long"), String::from("long")),
        (String::from("short"), String::from("short")),
    ];

    view! {
        <div class="page container list-page">
            <header class="page-header page-header-tight">
                <p class="eyebrow">"Signals"</p>
                <h1>"Confluence signals"</h1>
                <p class="lead">"Signals fire when several timeframes agree. Newest first, 50 per page."</p>
            </header>
            <form class="filters" aria-label="Signal filters" on:submit=|ev| ev.prevent_default()>
                <SymbolFilter id="s-symbol" on_change=set(|q, v| q.symbol = v) />
                <SelectFilter id="s-status" label="Status" any="Any status" options=status_options on_change=set(|q, v| q.status = v) />
                <SelectFilter id="s-direction" label="Direction" any="Both directions" options=dir_options on_change=set(|q, v| q.direction = v) />
            </form>
            <KeysetList
                page=page
                keyset=keyset
                text=ListText { loading: "Loading signals…", empty: "No signals match these filters.", failure: "Could not load signals" }
                rows=signal_table
            />
        </div>
    }
}

fn signal_table(items: Vec<SignalDto>) -> AnyView {
    let rows = items
        .into_iter()
        .map(|s| {
            let (long, text) = side_parts(s.direction);
            vec![
                Cell::link(format!("/signals/{}", s.id), format!("{} #{}", s.symbol, s.id)),
                Cell::view(
                    "",
                    view! { <span class="dir-badge" class:dir-long=long class:dir-short=!long>{text}</span> }.into_any(),
                ),
                Cell::text(status_str(s.status)),
                Cell::num(format::price(s.entry)),
                Cell::num(format::price(s.stop_loss)),
                Cell::num(format::price(s.tp1)),
                Cell::num(format!("{:.2}", s.risk_reward)),
                Cell::text(format!("{}/7", s.confluence_score)),
                Cell::classed(format::short_datetime(s.created_at), "nowrap"),
            ]
        })
        .collect();
    table(
        "signals-table",
        "Signals, newest first",
        &[
            "Signal",
            "Direction",
            "Status",
            "Entry",
            "Stop",
            "TP1",
            "R:R",
            "Confluence",
            "Created (UTC)",
        ],
        rows,
    )
}

/// `/signals/:id`.
#[component]
pub fn SignalDetail() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|s| s.parse::<i64>().ok()));
    let data = LocalResource::new(move || {
        let id = id.get();
        async move {
            let id = id?;
            let signal = api::signal(id).await;
            let pattern = match &signal {
                Ok(s) => match s.pattern_id {
                    Some(pid) => api::pattern(pid).await.ok(),
                    None => None,
                },
                Err(_) => None,
            };
            Some((signal, pattern))
        }
    });
    view! {
        <div class="page container detail-page">
            <p class="back-link"><A href="/signals">"← All signals"</A></p>
            <Suspense fallback=|| view! { <Loading text="Loading the signal…" /> }>
                {move || Suspend::new(async move {
                    match data.await {
                        None => view! { <h1>"Signal not found"</h1><p class="empty-state">"That is not a signal id."</p> }.into_any(),
                        Some((Ok(s), pattern)) => view! { <SignalView s=s pattern=pattern /> }.into_any(),
                        Some((Err(err), _)) => {
                            set_page_title("Signal");
                            view! { <h1>"Signal"</h1><ErrorBanner title="Could not load the signal" err=err /> }.into_any()
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn SignalView(s: SignalDto, pattern: Option<PatternDto>) -> impl IntoView {
    set_page_title(&format!("Signal #{}", s.id));
    let (long, text) = side_parts(s.direction);
    let risk = (s.entry - s.stop_loss).abs();
    let pct = move |tp: f64| {
        if s.entry == 0.0 {
            String::new()
        } else {
            format!(" ({:+.2} %)", (tp - s.entry) / s.entry * 100.0)
        }
    };
    let chart_tf = pattern
        .as_ref()
        .map(|p| p.tf.as_str())
        .or_else(|| s.timeframes_aligned.first().map(|t| t.as_str()))
        .unwrap_or("1h");
    let chart = format::chart_href(&s.symbol, chart_tf, pattern.as_ref().map(|p| p.id));
    view! {
        <header class="page-header page-header-tight">
            <p class="eyebrow">{format!("Signal #{}", s.id)}</p>
            <h1>
                <span class="dir-badge dir-badge-lg" class:dir-long=long class:dir-short=!long>{text}</span>
                " "
                {s.symbol.clone()}
            </h1>
            <p class="lead">
                {format!("Status {} · created {}", status_str(s.status), format::datetime(s.created_at))}
                {s.notified_at.map(|t| format!(" · notified {}", format::datetime(t)))}
            </p>
        </header>
        <div class="detail-grid">
            <section class="panel" aria-labelledby="levels-title">
                <h2 id="levels-title" class="panel-title">"Levels"</h2>
                <dl class="levels-grid">
                    <div><dt>"Entry (limit)"</dt><dd class="lv-entry">{format::price(s.entry)}</dd></div>
                    <div><dt>"Stop loss"</dt><dd class="lv-stop">{format!("{}{}", format::price(s.stop_loss), pct(s.stop_loss))}</dd></div>
                    <div><dt>"TP1"</dt><dd class="lv-target">{format!("{}{}", format::price(s.tp1), pct(s.tp1))}</dd></div>
                    <div><dt>"TP2"</dt><dd class="lv-target">{format!("{}{}", format::price(s.tp2), pct(s.tp2))}</dd></div>
                    <div><dt>"TP3"</dt><dd class="lv-target">{format!("{}{}", format::price(s.tp3), pct(s.tp3))}</dd></div>
                    <div><dt>"Risk (R)"</dt><dd>{format::price(risk)}</dd></div>
                    <div><dt>"R:R"</dt><dd>{format!("{:.2}", s.risk_reward)}</dd></div>
                </dl>
            </section>
            <section class="panel" aria-labelledby="confluence-title">
                <h2 id="confluence-title" class="panel-title">{format!("Confluence {}/7", s.confluence_score)}</h2>
                <ul class="tf-chips" aria-label="Aligned timeframes">
                    {["5m", "15m", "30m", "1h", "2h", "4h", "1d"]
                        .into_iter()
                        .map(|tf| {
                            let on = s.timeframes_aligned.iter().any(|t| t.as_str() == tf);
                            view! {
                                <li class="tf-chip" class:tf-on=on>
                                    <span aria-hidden="true">{if on { "✓ " } else { "· " }}</span>
                                    {tf}
                                    <span class="sr-only">{if on { " aligned" } else { " not aligned" }}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
                <h2 class="panel-title panel-title-sub">"Source pattern"</h2>
                {match pattern {
                    Some(p) => view! {
                        <p>
                            {format!(
                                "#{} {} {} on {} · zone {} – {} · {}",
                                p.id,
                                p.pattern_type.abbreviation(),
                                p.direction.as_str(),
                                p.tf.as_str(),
                                format::price(p.zone.low),
                                format::price(p.zone.high),
                                p.status.as_str()
                            )}
                        </p>
                    }
                    .into_any(),
                    None => view! { <p class="muted">"The source pattern is not available."</p> }.into_any(),
                }}
                <p>
                    <A href=chart attr:class="btn btn-primary">"Open the chart"</A>
                    " "<A href=format!("/trades/new?signal={}", s.id) attr:class="btn btn-ghost">"Create a trade"</A>
                </p>
            </section>
        </div>
    }
}
