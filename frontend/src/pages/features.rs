//! `/features`: the feature tour, one section per product area.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::set_page_title;

/// One section of the tour.
struct FeatureSection {
    /// Anchor id of the section heading.
    id: &'static str,
    /// The section heading.
    title: &'static str,
    /// Which plans include it.
    plans: &'static str,
    /// One-paragraph summary.
    intro: &'static str,
    /// Details, one bullet each.
    points: &'static [&'static str],
}

/// The tour, in display order (content from product.md §1–§8).
const SECTIONS: [FeatureSection; 8] = [
    FeatureSection {
        id: "detection",
        title: "Pattern detection",
        plans: "Free: imbalances · Pro and Premium: all three",
        intro: "Three smart-money-concepts detectors run on every timeframe, every minute.",
        points: &[
            "Imbalance, shown as FVG: a fair value gap between the first and third candle of a three-candle move.",
            "Order block (OB): the last opposing candle before an unusually strong impulse candle.",
            "Liquidity sweep (LS): a wick through a recent swing high or low that closes back inside it.",
            "Timeframes 1m, 5m, 15m, 30m, 1h, 2h, 4h and 1d, aggregated from exchange 1-minute candles.",
            "Each zone is followed until it is filled, expires or is invalidated.",
        ],
    },
    FeatureSection {
        id: "matrix",
        title: "Live pattern matrix",
        plans: "All plans",
        intro: "One screen answers \"where is the market leaning right now?\"",
        points: &[
            "Your plan's symbols against seven timeframes from 5m to 1d.",
            "Each cell: direction colour and arrow, pattern type and count.",
            "Focus or hover a cell to see the zone's price range.",
        ],
    },
    FeatureSection {
        id: "signals",
        title: "Signals with trading levels",
        plans: "All plans (list and history on Pro and Premium)",
        intro: "When several timeframes agree, a pattern becomes a signal you can act on.",
        points: &[
            "Limit entry, stop loss and three take-profit levels (TP1–TP3) with risk:reward.",
            "Confluence score n/7 with the aligned timeframes listed.",
            "Detail page with the source pattern and a one-click \"create trade\".",
        ],
    },
    FeatureSection {
        id: "notifications",
        title: "Notifications",
        plans: "Free: 1 per day, 10-minute delay · Pro: 20 per day · Premium: unlimited",
        intro: "Signals reach your phone or desktop through ntfy, on your terms.",
        points: &[
            "A private topic per account, regenerable at any time.",
            "Filter by direction and minimum confluence; set quiet hours and priority.",
            "Premium: switch notifications on or off per symbol.",
        ],
    },
    FeatureSection {
        id: "charts",
        title: "Charts and analytics",
        plans: "Pro and Premium",
        intro: "See why a zone matters, and how patterns have behaved.",
        points: &[
            "Candlestick charts with zones drawn from detection to fill or expiry.",
            "Entry, stop-loss and take-profit lines; pan, zoom and load earlier candles.",
            "Pattern counts by type, timeframe and direction; fill, expiry and invalidation rates; signal outcomes.",
        ],
    },
    FeatureSection {
        id: "portfolio",
        title: "Portfolio and journal",
        plans: "Pro: 1 portfolio · Premium: unlimited",
        intro: "Track the trades you take, and learn from them.",
        points: &[
            "Trades prefilled from a pattern or signal, sized from your risk per trade.",
            "PnL, R multiple, win rate, profit factor, drawdown and an equity curve.",
            "Journal entries with mood, and your own tags for every trade.",
        ],
    },
    FeatureSection {
        id: "backtests",
        title: "Backtests",
        plans: "Premium",
        intro: "Test a pattern on up to two years of stored candles before you trust it.",
        points: &[
            "Choose symbol, timeframe, pattern type, risk:reward target, stop buffer and slippage.",
            "Win rate, average R:R, total profit, max drawdown, trade list and equity curve.",
        ],
    },
    FeatureSection {
        id: "api",
        title: "REST API",
        plans: "Premium",
        intro: "Everything the app shows is available to your own tools.",
        points: &[
            "Versioned JSON API under /api/v1 with scoped keys (up to 10 active).",
            "Symbols, candles, patterns, signals, matrix and portfolio endpoints.",
            "Keyset pagination and stable error codes; OpenAPI description included.",
        ],
    },
];

/// The feature tour.
#[component]
pub fn Features() -> impl IntoView {
    set_page_title("Features");
    view! {
        <div class="page container">
            <header class="page-header">
                <p class="eyebrow">"Feature tour"</p>
                <h1>"Everything CryptoLens Edge does"</h1>
                <p class="lead">
                    "From raw one-minute candles to a notification on your phone: detection, signals, "
                    "charts, journaling and backtests in one place."
                </p>
                <nav class="toc" aria-label="On this page">
                    <ul>
                        {SECTIONS
                            .iter()
                            .map(|s| view! { <li><a href=format!("#{}", s.id)>{s.title}</a></li> })
                            .collect_view()}
                    </ul>
                </nav>
            </header>
            <div class="feature-list">
                {SECTIONS
                    .iter()
                    .map(|s| {
                        view! {
                            <section class="feature" aria-labelledby=s.id>
                                <div class="feature-head">
                                    <h2 id=s.id>{s.title}</h2>
                                    <p class="plan-badge">{s.plans}</p>
                                </div>
                                <p>{s.intro}</p>
                                <ul class="ticks">
                                    {s.points.iter().map(|p| view! { <li>{*p}</li> }).collect_view()}
                                </ul>
                            </section>
                        }
                    })
                    .collect_view()}
            </div>
            <p class="page-cta">
                <A href="/pricing" attr:class="btn btn-primary">"Compare plans"</A>
            </p>
        </div>
    }
}
