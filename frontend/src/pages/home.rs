//! `/`: the landing page — what the product does, with an illustrative pattern matrix.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::set_page_title;

/// The seven matrix timeframes (5m to 1d; 1m is detected but not shown in the matrix).
const MATRIX_TIMEFRAMES: [&str; 7] = ["5m", "15m", "30m", "1h", "2h", "4h", "1d"];

/// One cell of the sample matrix.
#[derive(Clone, Copy)]
enum SampleCell {
    /// Bullish pattern(s): abbreviation and count.
    Bull(&'static str, u8),
    /// Bearish pattern(s): abbreviation and count.
    Bear(&'static str, u8),
    /// No active pattern.
    Empty,
}

use SampleCell::{Bear, Bull, Empty};

/// Illustrative rows for the landing page (static sample data, not live).
const SAMPLE_ROWS: [(&str, [SampleCell; 7]); 4] = [
    (
        "BTC/USDT",
        [
            Bull("FVG", 2),
            Bull("OB", 1),
            Empty,
            Bull("FVG", 1),
            Bear("LS", 1),
            Bull("OB", 2),
            Bull("FVG", 1),
        ],
    ),
    (
        "ETH/USDT",
        [
            Bear("OB", 1),
            Empty,
            Bear("FVG", 3),
            Bear("FVG", 1),
            Empty,
            Bull("LS", 1),
            Bear("OB", 1),
        ],
    ),
    (
        "SOL/USDT",
        [
            Empty,
            Bull("LS", 1),
            Bull("FVG", 1),
            Empty,
            Bull("OB", 1),
            Bull("FVG", 2),
            Empty,
        ],
    ),
    (
        "XRP/USDT",
        [
            Bear("FVG", 1),
            Bear("FVG", 2),
            Empty,
            Bear("OB", 1),
            Bear("LS", 1),
            Empty,
            Bull("FVG", 1),
        ],
    ),
];

/// One highlight card on the landing page.
struct Highlight {
    /// A decorative glyph.
    icon: &'static str,
    /// The card heading.
    title: &'static str,
    /// The card text.
    text: &'static str,
}

/// The four product highlights.
const HIGHLIGHTS: [Highlight; 4] = [
    Highlight {
        icon: "▦",
        title: "Live pattern matrix",
        text: "Every symbol on your plan against seven timeframes from 5m to 1d, refreshed every minute. \
               Each cell shows the direction as colour and arrow, the pattern type and how many are active.",
    },
    Highlight {
        icon: "◇",
        title: "FVG, OB and LS on 8 timeframes",
        text: "Fair value gaps, order blocks and liquidity sweeps are detected on 1m, 5m, 15m, 30m, 1h, 2h, \
               4h and 1d candles, and each zone is tracked until it is filled, expires or is invalidated.",
    },
    Highlight {
        icon: "◎",
        title: "Signals with entry, SL and TP",
        text: "When timeframes agree, confluence turns a pattern into a signal: a limit entry, a stop loss, \
               three take-profit levels and the risk:reward, with the aligned timeframes listed.",
    },
    Highlight {
        icon: "◉",
        title: "Notifications that respect you",
        text: "Push alerts through ntfy to phone or desktop, filtered by direction, minimum confluence and \
               quiet hours, with the priority you choose.",
    },
];

/// The landing page.
#[component]
pub fn Home() -> impl IntoView {
    set_page_title("");
    view! {
        <div class="page home">
            <section class="hero" aria-labelledby="hero-title">
                <div class="container hero-inner">
                    <div class="hero-copy">
                        <p class="eyebrow">"Smart-money concepts, automated"</p>
                        <h1 id="hero-title">"See institutional footprints the minute they form"</h1>
                        <p class="lead">
                            "CryptoLens Edge watches crypto spot markets around the clock, detects fair value gaps, "
                            "order blocks and liquidity sweeps on eight timeframes, and turns multi-timeframe "
                            "confluence into clear signals with entry, stop loss and take-profit levels."
                        </p>
                        <div class="cta-row">
                            <A href="/pricing" attr:class="btn btn-primary">"See plans"</A>
                            <A href="/features" attr:class="btn btn-ghost">"Take the tour"</A>
                        </div>
                        <ul class="hero-facts" aria-label="At a glance">
                            <li><strong>"3"</strong>" pattern types"</li>
                            <li><strong>"8"</strong>" timeframes"</li>
                            <li><strong>"1 min"</strong>" refresh"</li>
                        </ul>
                    </div>
                    <SampleMatrix />
                </div>
            </section>

            <section class="section" aria-labelledby="highlights-title">
                <div class="container">
                    <h2 id="highlights-title" class="section-title">"What you get"</h2>
                    <ul class="card-grid">
                        {HIGHLIGHTS
                            .iter()
                            .map(|h| {
                                view! {
                                    <li class="card">
                                        <span class="card-icon" aria-hidden="true">{h.icon}</span>
                                        <h3>{h.title}</h3>
                                        <p>{h.text}</p>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                </div>
            </section>

            <section class="section section-alt" aria-labelledby="how-title">
                <div class="container">
                    <h2 id="how-title" class="section-title">"How it works"</h2>
                    <ol class="steps">
                        <li class="step">
                            <h3>"Ingest"</h3>
                            <p>
                                "Every minute, new 1-minute candles are fetched from the exchange, validated "
                                "and aggregated into seven higher timeframes."
                            </p>
                        </li>
                        <li class="step">
                            <h3>"Detect"</h3>
                            <p>
                                "Detectors scan each timeframe for imbalances, order blocks and liquidity "
                                "sweeps, and follow every zone until it is filled or expires."
                            </p>
                        </li>
                        <li class="step">
                            <h3>"Signal and notify"</h3>
                            <p>
                                "Confluence across timeframes produces signals with trading levels, sent "
                                "to you in real time or on your plan's schedule."
                            </p>
                        </li>
                    </ol>
                </div>
            </section>

            <section class="section cta-band" aria-labelledby="cta-title">
                <div class="container cta-band-inner">
                    <h2 id="cta-title">"Start free with BTC/USDT"</h2>
                    <p>"The free plan tracks imbalances on Bitcoin. Upgrade when you want every pattern and more symbols."</p>
                    <A href="/pricing" attr:class="btn btn-primary">"Compare plans"</A>
                </div>
            </section>
        </div>
    }
}

/// A static, illustrative pattern matrix (symbols × timeframes).
#[component]
fn SampleMatrix() -> impl IntoView {
    view! {
        <figure class="matrix-card">
            <div class="matrix-scroll" tabindex="0" role="region" aria-label="Sample pattern matrix">
                <table class="matrix">
                    <caption>
                        "Pattern matrix"
                        <span class="matrix-sample">"sample data"</span>
                    </caption>
                    <thead>
                        <tr>
                            <th scope="col" class="matrix-corner">"Pair"</th>
                            {MATRIX_TIMEFRAMES.iter().map(|tf| view! { <th scope="col">{*tf}</th> }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        {SAMPLE_ROWS
                            .iter()
                            .map(|(symbol, cells)| {
                                view! {
                                    <tr>
                                        <th scope="row" class="matrix-symbol">
                                            {base_asset(symbol)}
                                            <span class="sr-only">"/USDT"</span>
                                        </th>
                                        {cells.iter().map(|cell| view! { <MatrixCell cell=*cell /> }).collect_view()}
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            <figcaption class="matrix-legend">
                <span class="legend-item bull">"▲ bullish"</span>
                <span class="legend-item bear">"▼ bearish"</span>
                <span class="legend-item">"FVG · OB · LS"</span>
                <span class="legend-item">"pairs vs USDT"</span>
            </figcaption>
        </figure>
    }
}

/// The base asset of a `BASE/QUOTE` symbol (`"BTC/USDT"` → `"BTC"`).
fn base_asset(symbol: &str) -> &str {
    symbol.split('/').next().unwrap_or(symbol)
}

/// One matrix cell: colour and arrow for the direction, the pattern abbreviation and count.
///
/// The arrow and count are visual only; screen readers hear e.g. "FVG, bullish, 2 patterns".
#[component]
fn MatrixCell(cell: SampleCell) -> impl IntoView {
    let (class, arrow, kind, direction, count) = match cell {
        Bull(kind, count) => ("cell cell-bull", "▲", kind, "bullish", count),
        Bear(kind, count) => ("cell cell-bear", "▼", kind, "bearish", count),
        Empty => {
            return view! {
                <td class="cell cell-empty">
                    <span aria-hidden="true">"·"</span>
                    <span class="sr-only">"No pattern"</span>
                </td>
            }
            .into_any();
        }
    };
    let spoken = if count > 1 {
        format!(", {direction}, {count} patterns")
    } else {
        format!(", {direction}")
    };
    view! {
        <td class=class>
            <span class="cell-arrow" aria-hidden="true">{arrow}</span>
            {(count > 1)
                .then(|| view! { <span class="cell-count" aria-hidden="true">{format!("×{count}")}</span> })}
            <span class="cell-kind">{kind}</span>
            <span class="sr-only">{spoken}</span>
        </td>
    }
    .into_any()
}
