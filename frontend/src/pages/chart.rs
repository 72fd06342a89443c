//! `/chart/:symbol/:tf` (symbol as `BTC-USDT`): candlesticks with the TF's pattern zones, the
//! selected pattern's entry/SL/TP lines, pan/zoom and "load earlier candles" (product.md §2).
//! `?pattern=<id>` preselects a pattern (links from the matrix, the patterns list, signals).

use cl_api_types::{CandleDto, PatternDto};
use cl_domain::{Direction, PatternStatus, Timeframe};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::api::{self, ApiError};
use crate::components::chart::geometry::{Ohlc, Viewport};
use crate::components::chart::{Chart, Levels, Series, ZoneSpec, INITIAL_VISIBLE};
use crate::components::{set_page_title, ErrorBanner, Loading};
use crate::format;

/// Loaded chart data.
#[derive(Debug, Clone, PartialEq)]
struct Loaded {
    candles: Vec<CandleDto>,
    has_more: bool,
    patterns: Vec<PatternDto>,
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Loading,
    Ready(Loaded),
    Failed(ApiError),
}

/// The chart page.
#[component]
pub fn ChartPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let symbol = Memo::new(move |_| {
        format::symbol_from_url(&params.read().get("symbol").unwrap_or_default())
    });
    let tf =
        Memo::new(move |_| Timeframe::parse(&params.read().get("tf").unwrap_or_default()).ok());
    let wanted_pattern = Memo::new(move |_| {
        query
            .read()
            .get("pattern")
            .and_then(|p| p.parse::<i64>().ok())
    });

    let state = RwSignal::new(State::Loading);
    let viewport = RwSignal::new(Viewport::latest(0, INITIAL_VISIBLE));
    let selected = RwSignal::new(None::<i64>);
    let loading_earlier = RwSignal::new(false);
    let earlier_error = RwSignal::new(None::<String>);
    let generation = StoredValue::new(0_u32);

    // (Re)load whenever the symbol or TF changes.
    Effect::new(move |_| {
        let (sym, tf) = (symbol.get(), tf.get());
        let wanted = wanted_pattern.get_untracked();
        let Some(tf) = tf else {
            return;
        };
        set_page_title(&format!("{sym} {} chart", tf.as_str()));
        generation.update_value(|g| *g += 1);
        let this = generation.get_value();
        state.set(State::Loading);
        earlier_error.set(None);
        leptos::task::spawn_local(async move {
            let result = api::chart(&sym, tf.as_str(), None).await;
            if generation.get_value() != this {
                return;
            }
            match result {
                Ok(chart) => {
                    let mut patterns = chart.patterns;
                    if let Some(id) = wanted {
                        if !patterns.iter().any(|p| p.id == id) {
                            if let Ok(p) = api::pattern(id).await {
                                if p.symbol == sym && p.tf == tf {
                                    patterns.push(p);
                                }
                            }
                        }
                    }
                    if generation.get_value() != this {
                        return;
                    }
                    let pick = wanted
                        .filter(|id| patterns.iter().any(|p| p.id == *id))
                        .or_else(|| patterns.first().map(|p| p.id));
                    viewport.set(Viewport::latest(chart.candles.len(), INITIAL_VISIBLE));
                    selected.set(pick);
                    state.set(State::Ready(Loaded {
                        candles: chart.candles,
                        has_more: chart.has_more,
                        patterns,
                    }));
                }
                Err(err) => state.set(State::Failed(err)),
            }
        });
    });

    let load_earlier = move || {
        let Some(tf) = tf.get_untracked() else {
            return;
        };
        let Some(first) = state.with_untracked(|s| match s {
            State::Ready(l) => l.candles.first().map(|c| c.ts),
            _ => None,
        }) else {
            return;
        };
        let sym = symbol.get_untracked();
        let this = generation.get_value();
        loading_earlier.set(true);
        earlier_error.set(None);
        leptos::task::spawn_local(async move {
            let result = api::candles(&sym, tf.as_str(), Some(first)).await;
            loading_earlier.set(false);
            if generation.get_value() != this {
                return;
            }
            match result {
                Ok(page) => {
                    let older: Vec<CandleDto> =
                        page.candles.into_iter().filter(|c| c.ts < first).collect();
                    let n = older.len();
                    state.update(|s| {
                        if let State::Ready(l) = s {
                            let mut all = older;
                            all.append(&mut l.candles);
                            l.candles = all;
                            l.has_more = page.has_more && n > 0;
                        }
                    });
                    let total = state.with_untracked(|s| match s {
                        State::Ready(l) => l.candles.len(),
                        _ => 0,
                    });
                    // Keep the same candles in view, then step left so the new ones show.
                    viewport.update(|v| {
                        *v = v
                            .shifted_for_prepend(n, total as f64)
                            .panned(-(n as f64).min(v.count * 0.5), total as f64);
                    });
                }
                Err(err) => earlier_error.set(Some(err.to_string())),
            }
        });
    };

    let navigate = use_navigate();
    let symbols = LocalResource::new(api::symbols);

    view! {
        <div class="page container chart-page">
            <header class="page-header page-header-tight">
                <p class="eyebrow">"Chart"</p>
                <h1>{move || format!("{} · {}", symbol.get(), tf.get().map_or("?", |t| t.as_str()))}</h1>
            </header>
            <div class="chart-controls">
                <label class="field field-inline">
                    <span class="field-label">"Symbol"</span>
                    <select
                        class="select"
                        on:change=move |ev| {
                            let value = event_target_value(&ev);
                            let tf = tf.get_untracked().map_or("1h", |t| t.as_str());
                            navigate(&format::chart_href(&value, tf, None), Default::default());
                        }
                    >
                        {move || {
                            let current = symbol.get();
                            let mut list: Vec<String> = symbols
                                .get()
                                .and_then(Result::ok)
                                .map(|l| l.into_iter().map(|s| s.symbol).collect())
                                .unwrap_or_default();
                            if !list.contains(&current) {
                                list.insert(0, current.clone());
                            }
                            list.into_iter()
                                .map(|s| {
                                    let sel = s == current;
                                    view! { <option value=s.clone() selected=sel>{s.clone()}</option> }
                                })
                                .collect_view()
                        }}
                    </select>
                </label>
                <nav class="tf-switch" aria-label="Timeframe">
                    {Timeframe::ALL
                        .iter()
                        .map(|t| {
                            let t = *t;
                            view! {
                                <A
                                    href=move || format::chart_href(&symbol.get(), t.as_str(), None)
                                    attr:class="tf-link"
                                    attr:aria-current=move || (tf.get() == Some(t)).then_some("page")
                                >
                                    {t.as_str()}
                                </A>
                            }
                        })
                        .collect_view()}
                </nav>
            </div>
            {move || {
                if tf.get().is_none() {
                    return view! {
                        <p class="empty-state" role="alert">
                            "Unknown timeframe. Pick one of 1m, 5m, 15m, 30m, 1h, 2h, 4h, 1d."
                        </p>
                    }
                    .into_any();
                }
                match state.get() {
                    State::Loading => view! { <Loading text="Loading the chart…" /> }.into_any(),
                    State::Failed(err) => view! { <ErrorBanner title="Could not load the chart" err=err /> }.into_any(),
                    State::Ready(l) if l.candles.is_empty() => {
                        view! { <p class="empty-state">"No candles for this symbol and timeframe yet."</p> }.into_any()
                    }
                    State::Ready(_) => ().into_any(),
                }
            }}
            <Show when=move || matches!(state.get(), State::Ready(ref l) if !l.candles.is_empty())>
                <ChartBody state=state viewport=viewport selected=selected tf=tf />
                <div class="chart-more">
                    <button
                        type="button"
                        class="btn btn-ghost"
                        disabled=move || loading_earlier.get() || !state.with(|s| matches!(s, State::Ready(l) if l.has_more))
                        on:click=move |_| load_earlier()
                    >
                        {move || {
                            if loading_earlier.get() {
                                "Loading earlier candles…"
                            } else if state.with(|s| matches!(s, State::Ready(l) if l.has_more)) {
                                "Load earlier candles"
                            } else {
                                "No earlier candles"
                            }
                        }}
                    </button>
                    <span class="muted chart-total" aria-live="polite">
                        {move || {
                            state.with(|s| match s {
                                State::Ready(l) => format!("{} candles loaded", l.candles.len()),
                                _ => String::new(),
                            })
                        }}
                    </span>
                    {move || earlier_error.get().map(|e| view! { <p class="inline-warning" role="alert">{e}</p> })}
                </div>
                <PatternPanel state=state selected=selected />
            </Show>
        </div>
    }
}

/// The chart itself, fed from the page state.
#[component]
fn ChartBody(
    state: RwSignal<State>,
    viewport: RwSignal<Viewport>,
    selected: RwSignal<Option<i64>>,
    tf: Memo<Option<Timeframe>>,
) -> impl IntoView {
    let series = Signal::derive(move || {
        state.with(|s| match s {
            State::Ready(l) => Series::Candles(
                l.candles
                    .iter()
                    .map(|c| Ohlc {
                        ts: c.ts,
                        open: c.open,
                        high: c.high,
                        low: c.low,
                        close: c.close,
                    })
                    .collect(),
            ),
            _ => Series::Candles(Vec::new()),
        })
    });
    let zones = Signal::derive(move || {
        state.with(|s| match s {
            State::Ready(l) => l.patterns.iter().map(zone_of).collect(),
            _ => Vec::new(),
        })
    });
    let levels = Signal::derive(move || {
        let id = selected.get()?;
        state.with(|s| match s {
            State::Ready(l) => l.patterns.iter().find(|p| p.id == id).map(|p| Levels {
                entry: p.levels.entry,
                stop_loss: p.levels.stop_loss,
                targets: [p.levels.tp1, p.levels.tp2, p.levels.tp3],
            }),
            _ => None,
        })
    });
    let t = tf.get_untracked().unwrap_or(Timeframe::H1);
    view! {
        <Chart
            series=series
            zones=zones
            selected=selected
            levels=levels
            viewport=viewport
            step_ms=t.millis()
            daily=t == Timeframe::D1
            label="Candlestick chart with pattern zones"
        />
    }
}

/// A pattern as a chart zone: from detection to fill (or expiry), or open-ended while active.
fn zone_of(p: &PatternDto) -> ZoneSpec {
    let to_ts = match p.status {
        PatternStatus::Active => None,
        PatternStatus::Expired => Some(p.expires_at),
        PatternStatus::Filled | PatternStatus::Invalidated => p.filled_at.or(Some(p.expires_at)),
    };
    let bullish = p.direction == Direction::Bullish;
    ZoneSpec {
        id: p.id,
        from_ts: p.detected_at,
        to_ts,
        low: p.zone.low,
        high: p.zone.high,
        bullish,
        label: format!(
            "{} {} {}",
            if bullish { "▲" } else { "▼" },
            p.pattern_type.abbreviation(),
            p.direction.as_str()
        ),
    }
}

/// The patterns of this chart (select to draw their levels) and the selected one's details.
#[component]
fn PatternPanel(state: RwSignal<State>, selected: RwSignal<Option<i64>>) -> impl IntoView {
    let patterns = move || {
        state.with(|s| match s {
            State::Ready(l) => l.patterns.clone(),
            _ => Vec::new(),
        })
    };
    view! {
        <section class="panel pattern-panel" aria-labelledby="chart-patterns-title">
            <h2 id="chart-patterns-title" class="panel-title">"Patterns on this chart"</h2>
            {move || {
                let list = patterns();
                if list.is_empty() {
                    return view! { <p class="empty-state">"No active patterns on this timeframe."</p> }.into_any();
                }
                view! {
                    <ul class="pattern-chips">
                        {list
                            .into_iter()
                            .map(|p| {
                                let id = p.id;
                                let z = zone_of(&p);
                                view! {
                                    <li>
                                        <button
                                            type="button"
                                            class="chip"
                                            class:chip-bull=z.bullish
                                            class:chip-bear=!z.bullish
                                            aria-pressed=move || if selected.get() == Some(id) { "true" } else { "false" }
                                            on:click=move |_| selected.set(Some(id))
                                        >
                                            {format!("{} · {}", z.label, format::datetime(p.detected_at))}
                                        </button>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
            {move || {
                let id = selected.get()?;
                let p = state.with(|s| match s {
                    State::Ready(l) => l.patterns.iter().find(|p| p.id == id).cloned(),
                    _ => None,
                })?;
                Some(view! { <PatternLevels p=p /> })
            }}
        </section>
    }
}

/// The selected pattern's zone and levels.
#[component]
fn PatternLevels(p: PatternDto) -> impl IntoView {
    let l = p.levels;
    view! {
        <dl class="levels-grid" aria-label="Selected pattern">
            <div><dt>"Pattern"</dt><dd>{format!("#{} {} {}", p.id, p.pattern_type.abbreviation(), p.direction.as_str())}</dd></div>
            <div><dt>"Status"</dt><dd>{p.status.as_str()}</dd></div>
            <div><dt>"Zone"</dt><dd>{format!("{} – {}", format::price(p.zone.low), format::price(p.zone.high))}</dd></div>
            <div><dt>"Detected"</dt><dd>{format::datetime(p.detected_at)}</dd></div>
            <div><dt>"Entry"</dt><dd class="lv-entry">{format::price(l.entry)}</dd></div>
            <div><dt>"Stop loss"</dt><dd class="lv-stop">{format::price(l.stop_loss)}</dd></div>
            <div><dt>"TP1"</dt><dd class="lv-target">{format!("{} ({:.2}R)", format::price(l.tp1), l.rr1)}</dd></div>
            <div><dt>"TP2"</dt><dd class="lv-target">{format!("{} ({:.2}R)", format::price(l.tp2), l.rr2)}</dd></div>
            <div><dt>"TP3"</dt><dd class="lv-target">{format!("{} ({:.2}R)", format::price(l.tp3), l.rr3)}</dd></div>
            <div><dt>"Fill"</dt><dd>{format::percent(p.fill_pct)}</dd></div>
        </dl>
        <p><a class="btn btn-primary" href=format!("/trades/new?pattern={}", p.id)>"Create a trade from this pattern"</a></p>
    }
}
