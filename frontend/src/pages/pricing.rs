//! `/pricing`: the three plans and the limits table, as data (product.md §1).

use leptos::prelude::*;

use crate::components::set_page_title;

/// A plan summary card.
struct Plan {
    /// Plan name.
    name: &'static str,
    /// Headline price.
    price: &'static str,
    /// What the price is per.
    period: &'static str,
    /// Alternative billing.
    alt: &'static str,
    /// One-line pitch.
    pitch: &'static str,
    /// Whether this card is visually highlighted.
    featured: bool,
}

/// The plans, cheapest first.
const PLANS: [Plan; 3] = [
    Plan {
        name: "Free",
        price: "$0",
        period: "forever",
        alt: "No card needed",
        pitch: "Bitcoin imbalances on the live matrix, with one delayed alert a day.",
        featured: false,
    },
    Plan {
        name: "Pro",
        price: "$19",
        period: "per month",
        alt: "or $190 per year",
        pitch: "All three patterns on five major coins, charts, analytics and a portfolio.",
        featured: true,
    },
    Plan {
        name: "Premium",
        price: "$49",
        period: "per month",
        alt: "or $490 per year · lifetime available",
        pitch: "Every symbol, unlimited lists and alerts, backtests and the REST API.",
        featured: false,
    },
];

/// One cell of the limits table.
#[derive(Clone, Copy)]
enum Limit {
    /// A value in words.
    Text(&'static str),
    /// Included.
    Yes,
    /// Not included.
    No,
}

use Limit::{No, Text, Yes};

/// One row of the limits table: the limit, then free, pro, premium.
struct LimitRow {
    /// What is limited.
    label: &'static str,
    /// Free, Pro and Premium.
    values: [Limit; 3],
}

/// The tier limits (product.md §1), one row per line of the spec's table.
const LIMITS: [LimitRow; 13] = [
    LimitRow {
        label: "Price",
        values: [
            Text("$0"),
            Text("$19/month, $190/year"),
            Text("$49/month, $490/year; lifetime"),
        ],
    },
    LimitRow {
        label: "Symbols",
        values: [
            Text("BTC/USDT"),
            Text("BTC, ETH, XRP, BNB, SOL (all /USDT)"),
            Text("Every active symbol"),
        ],
    },
    LimitRow {
        label: "Pattern types (matrix, lists, charts, notifications)",
        values: [
            Text("Imbalance (FVG) only"),
            Text("All three"),
            Text("All three"),
        ],
    },
    LimitRow {
        label: "Dashboard: recent signals",
        values: [Text("1"), Text("10"), Text("10")],
    },
    LimitRow {
        label: "Patterns list and charts",
        values: [No, Text("Newest 100 patterns"), Text("Unlimited")],
    },
    LimitRow {
        label: "Signals list",
        values: [No, Text("Newest 50 signals"), Text("Unlimited")],
    },
    LimitRow {
        label: "Analytics, risk settings, exchange credentials",
        values: [No, Yes, Yes],
    },
    LimitRow {
        label: "Notifications per UTC day",
        values: [Text("1"), Text("20"), Text("Unlimited")],
    },
    LimitRow {
        label: "Notification delay after the signal",
        values: [Text("10 min"), Text("None"), Text("None")],
    },
    LimitRow {
        label: "Per-symbol notification toggles",
        values: [No, No, Yes],
    },
    LimitRow {
        label: "Portfolio",
        values: [
            No,
            Text("1 portfolio, 5 new trades per UTC day"),
            Text("Unlimited (fair-use caps)"),
        ],
    },
    LimitRow {
        label: "Backtests",
        values: [No, No, Text("1 running, 20 per UTC day")],
    },
    LimitRow {
        label: "REST API keys",
        values: [No, No, Text("Up to 10 active keys")],
    },
];

/// The pricing page.
#[component]
pub fn Pricing() -> impl IntoView {
    set_page_title("Pricing");
    view! {
        <div class="page container">
            <header class="page-header">
                <p class="eyebrow">"Pricing"</p>
                <h1>"Plans for every kind of trader"</h1>
                <p class="lead">
                    "Start free on Bitcoin. Pay monthly or yearly by card or crypto; cancelled plans stay "
                    "active until the end of the period you paid for."
                </p>
            </header>

            <ul class="plan-grid" aria-label="Plans">
                {PLANS
                    .iter()
                    .map(|plan| {
                        view! {
                            <li class="plan" class:plan-featured=plan.featured>
                                {plan.featured.then(|| view! { <p class="plan-flag">"Most popular"</p> })}
                                <h2 class="plan-name">{plan.name}</h2>
                                <p class="plan-price">
                                    <span class="plan-amount">{plan.price}</span>
                                    <span class="plan-period">{plan.period}</span>
                                </p>
                                <p class="plan-alt">{plan.alt}</p>
                                <p class="plan-pitch">{plan.pitch}</p>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>

            <section class="section-tight" aria-labelledby="compare-title">
                <h2 id="compare-title">"Compare plans"</h2>
                <div class="table-scroll" tabindex="0" role="region" aria-labelledby="compare-title">
                    <table class="compare">
                        <thead>
                            <tr>
                                <th scope="col">"Limit"</th>
                                <th scope="col">"Free"</th>
                                <th scope="col" class="col-featured">"Pro"</th>
                                <th scope="col">"Premium"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {LIMITS
                                .iter()
                                .map(|row| {
                                    view! {
                                        <tr>
                                            <th scope="row">{row.label}</th>
                                            {row
                                                .values
                                                .iter()
                                                .enumerate()
                                                .map(|(i, v)| view! { <LimitCell value=*v featured=i == 1 /> })
                                                .collect_view()}
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                </div>
                <p class="fine-print">
                    "Prices in USD. Lifetime is Premium without an expiry. Limits reset at midnight UTC. "
                    "A verified email is required for notifications, API keys and checkout."
                </p>
            </section>
        </div>
    }
}

/// One table cell; included/not included are a symbol plus screen-reader text.
#[component]
fn LimitCell(value: Limit, featured: bool) -> impl IntoView {
    let content = match value {
        Text(text) => view! { <span>{text}</span> }.into_any(),
        Yes => view! {
            <span class="mark-yes" aria-hidden="true">"✓"</span>
            <span class="sr-only">"Included"</span>
        }
        .into_any(),
        No => view! {
            <span class="mark-no" aria-hidden="true">"—"</span>
            <span class="sr-only">"Not included"</span>
        }
        .into_any(),
    };
    view! { <td class:col-featured=featured>{content}</td> }
}
