//! `/dashboard`: the live pattern matrix (symbols × 5m..1d) and the recent signals
//! (product.md §2, detection.md §7).
//!
//! The matrix is polled every 15 s with `If-None-Match`; a 304 keeps the current view. Polling
//! skips ticks while the tab is hidden (Page Visibility API) and refreshes at once when it
//! becomes visible again.

use std::time::Duration;

use cl_api_types::{MatrixCellDto, MatrixDto, SignalDto};
use cl_domain::matrix::Bias;
use leptos::prelude::*;
use leptos_router::components::A;
use web_sys::VisibilityState;

use crate::api::{self, ApiError, MatrixFetch, SignalQuery};
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;

/// How often the matrix is re-checked.
const POLL: Duration = Duration::from_secs(15);

/// The matrix view's state.
#[derive(Debug, Clone, PartialEq)]
enum MatrixState {
    /// First load in flight.
    Loading,
    /// A matrix (possibly with a failed refresh since).
    Ready {
        matrix: MatrixDto,
        etag: Option<String>,
        /// The last refresh error, shown as a note while the old matrix stays.
        stale: Option<String>,
    },
    /// The first load failed.
    Failed(ApiError),
}

/// The dashboard page.
#[component]
pub fn Dashboard() -> impl IntoView {
    set_page_title("Dashboard");
    let state = RwSignal::new(MatrixState::Loading);
    let checks = RwSignal::new(0_u32);
    let in_flight = StoredValue::new(false);

    let refresh = move || {
        if in_flight.get_value() {
            return;
        }
        in_flight.set_value(true);
        let etag = state.with_untracked(|s| match s {
            MatrixState::Ready { etag, .. } => etag.clone(),
            _ => None,
        });
        leptos::task::spawn_local(async move {
            let result = api::matrix(etag.as_deref()).await;
            in_flight.set_value(false);
            checks.update(|n| *n += 1);
            state.update(|s| match (result, &mut *s) {
                (Ok(MatrixFetch::Fresh { matrix, etag }), _) => {
                    *s = MatrixState::Ready {
                        matrix,
                        etag,
                        stale: None,
                    };
                }
                (Ok(MatrixFetch::NotModified), MatrixState::Ready { stale, .. }) => *stale = None,
                (Ok(MatrixFetch::NotModified), _) => {}
                (Err(err), MatrixState::Ready { stale, .. }) => *stale = Some(err.to_string()),
                (Err(err), _) => *s = MatrixState::Failed(err),
            });
        });
    };

    refresh();
    if let Ok(handle) = set_interval_with_handle(
        move || {
            if !page_hidden() {
                refresh();
            }
        },
        POLL,
    ) {
        on_cleanup(move || handle.clear());
    }
    let visibility = window_event_listener(leptos::ev::visibilitychange, move |_| {
        if !page_hidden() {
            refresh();
        }
    });
    on_cleanup(move || visibility.remove());

    let signals =
        LocalResource::new(|| async { api::signals(&SignalQuery::default(), 10, None).await });

    view! {
        <div class="page container dashboard">
            <header class="page-header page-header-tight">
                <p class="eyebrow">"Dashboard"</p>
                <h1>"Live pattern matrix"</h1>
                <p class="lead">
                    "The latest active pattern of every symbol and timeframe. Updates every 15 seconds; select a cell to open its chart."
                </p>
            </header>
            <div class="dashboard-grid">
                <section class="panel matrix-panel" aria-labelledby="matrix-title">
                    <div class="panel-head">
                        <h2 id="matrix-title" class="panel-title">"Pattern matrix"</h2>
                        <p class="panel-note muted" aria-live="polite" data-checks=move || checks.get().to_string()>
                            {move || match state.get() {
                                MatrixState::Ready { stale: Some(_), .. } => "Refresh failed; showing the last matrix".to_owned(),
                                MatrixState::Ready { .. } => "Live · refreshes every 15 s".to_owned(),
                                MatrixState::Loading => "Loading…".to_owned(),
                                MatrixState::Failed(_) => "Not available".to_owned(),
                            }}
                        </p>
                    </div>
                    {move || match state.get() {
                        MatrixState::Loading => view! { <Loading text="Loading the matrix…" /> }.into_any(),
                        MatrixState::Failed(err) => {
                            view! {
                                <ErrorBanner title="Could not load the matrix" err=err />
                                <button type="button" class="btn btn-ghost" on:click=move |_| refresh()>"Try again"</button>
                            }
                            .into_any()
                        }
                        MatrixState::Ready { matrix, stale, .. } => {
                            view! {
                                {stale.map(|msg| view! { <p class="inline-warning" role="status">{msg}</p> })}
                                <LiveMatrix matrix=matrix />
                            }
                            .into_any()
                        }
                    }}
                    <ul class="matrix-legend" aria-label="Legend">
                        <li class="legend-item bull">"▲ bullish"</li>
                        <li class="legend-item bear">"▼ bearish"</li>
                        <li class="legend-item">"· no active pattern"</li>
                        <li class="legend-item">"FVG fair value gap · OB order block · LS liquidity sweep · ×n active"</li>
                    </ul>
                </section>
                <section class="panel signals-panel" aria-labelledby="recent-title">
                    <div class="panel-head">
                        <h2 id="recent-title" class="panel-title">"Recent signals"</h2>
                        <A href="/signals" attr:class="panel-link">"All signals"</A>
                    </div>
                    <Suspense fallback=|| view! { <Loading text="Loading signals…" /> }>
                        {move || Suspend::new(async move {
                            match signals.await {
                                Ok(page) if page.items.is_empty() => {
                                    view! { <p class="empty-state">"No signals yet."</p> }.into_any()
                                }
                                Ok(page) => view! { <RecentSignals items=page.items /> }.into_any(),
                                Err(err) => view! { <ErrorBanner title="Could not load signals" err=err /> }.into_any(),
                            }
                        })}
                    </Suspense>
                </section>
            </div>
        </div>
    }
}

/// True while the document is hidden (background tab, minimised window).
fn page_hidden() -> bool {
    document().visibility_state() == VisibilityState::Hidden
}

/// The matrix table, or the empty state when no symbol has an active pattern.
#[component]
fn LiveMatrix(matrix: MatrixDto) -> impl IntoView {
    let has_pattern = matrix
        .rows
        .iter()
        .any(|r| r.cells.iter().any(|c| c.direction != Bias::Neutral));
    if matrix.rows.is_empty() || !has_pattern {
        return view! {
            <p class="empty-state">
                "No patterns yet. The matrix fills in as the pipeline detects patterns on the tracked symbols."
            </p>
        }
        .into_any();
    }
    let tfs = matrix.timeframes.clone();
    view! {
        <div class="live-matrix-scroll" tabindex="-1">
            <table class="live-matrix">
                <caption class="sr-only">
                    "Latest active pattern per symbol and timeframe: direction, type and active count"
                </caption>
                <thead>
                    <tr>
                        <th scope="col" class="lm-corner">"Symbol"</th>
                        {tfs.iter().map(|tf| view! { <th scope="col">{tf.as_str()}</th> }).collect_view()}
                    </tr>
                </thead>
                <tbody>
                    {matrix
                        .rows
                        .into_iter()
                        .map(|row| {
                            let symbol = row.symbol.clone();
                            view! {
                                <tr>
                                    <th scope="row" class="lm-symbol">{row.symbol.clone()}</th>
                                    {row
                                        .cells
                                        .into_iter()
                                        .map(|cell| view! { <td class="lm-td"><MatrixCell symbol=symbol.clone() cell=cell /></td> })
                                        .collect_view()}
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// One cell: a link to the chart with arrow + type + count, and a tooltip with the zone shown
/// on hover and keyboard focus (`aria-describedby`).
#[component]
fn MatrixCell(symbol: String, cell: MatrixCellDto) -> impl IntoView {
    let tf = cell.tf.as_str();
    let tip_id = format!("tip-{}-{tf}", format::symbol_to_url(&symbol));
    let href = format::chart_href(&symbol, tf, cell.pattern_id);
    let (modifier, arrow, word) = match cell.direction {
        Bias::Bullish => ("lm-bull", "▲", "bullish"),
        Bias::Bearish => ("lm-bear", "▼", "bearish"),
        Bias::Neutral => ("lm-neutral", "·", "neutral"),
    };
    let abbr = cell.pattern_type.map(|t| t.abbreviation()).unwrap_or("—");
    let tip = match (cell.zone, cell.pattern_type) {
        (Some(zone), Some(kind)) => {
            let detected = cell
                .detected_at
                .map(|t| format!(" · detected {}", format::datetime(t)))
                .unwrap_or_default();
            format!(
                "{symbol} {tf}: {word} {} ({} active). Zone {} – {}{detected}",
                kind.abbreviation(),
                cell.count,
                format::price(zone.low),
                format::price(zone.high),
            )
        }
        _ => format!("{symbol} {tf}: no active pattern"),
    };
    let label = if cell.direction == Bias::Neutral {
        format!("{symbol} {tf}: neutral, open chart")
    } else {
        format!(
            "{symbol} {tf}: {word} {abbr}, {} active, open chart",
            cell.count
        )
    };
    view! {
        <A href=href attr:class=format!("lm-cell {modifier}") attr:aria-label=label attr:aria-describedby=tip_id.clone()>
            <span class="lm-line" aria-hidden="true">
                <span class="lm-arrow">{arrow}</span>
                {(cell.count > 0).then(|| view! { <span class="lm-count">{format!("×{}", cell.count)}</span> })}
            </span>
            <span class="lm-kind" aria-hidden="true">{abbr}</span>
        </A>
        <span id=tip_id class="lm-tip" role="tooltip">{tip}</span>
    }
}

/// The recent-signals list.
#[component]
fn RecentSignals(items: Vec<SignalDto>) -> impl IntoView {
    view! {
        <ol class="signal-feed">
            {items
                .into_iter()
                .map(|s| {
                    let long = matches!(s.direction, cl_api_types::Side::Long);
                    view! {
                        <li class="signal-item">
                            <A href=format!("/signals/{}", s.id) attr:class="signal-link">
                                <span class="dir-badge" class:dir-long=long class:dir-short=!long>
                                    {if long { "▲ LONG" } else { "▼ SHORT" }}
                                </span>
                                <span class="signal-symbol">{s.symbol.clone()}</span>
                                <span class="signal-meta muted">
                                    {format!(
                                        "entry {} · {}/7 · {} UTC",
                                        format::price(s.entry),
                                        s.confluence_score,
                                        format::short_datetime(s.created_at)
                                    )}
                                </span>
                            </A>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
}
