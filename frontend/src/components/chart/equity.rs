//! The equity curve: the [`Chart`] drawing a [`Series::Line`], shared by the portfolio stats
//! and the backtest results so both curves come from one piece of chart code.

use leptos::prelude::*;

use super::geometry::{Viewport, RIGHT_PAD};
use super::{Chart, Series};

/// A line chart of `(time, value)` points, oldest first, all in view at first; `empty` is
/// shown instead while there are fewer than two points (a line needs two).
#[component]
pub fn EquityCurve(
    /// The points, oldest first.
    points: Vec<(i64, f64)>,
    /// Accessible name of the chart.
    label: &'static str,
    /// The text shown while there is no curve yet.
    empty: &'static str,
) -> impl IntoView {
    let n = points.len();
    if n < 2 {
        return view! { <p class="empty-state">{empty}</p> }.into_any();
    }
    // Every point in view: the window also spans the chart's right pad.
    let viewport = RwSignal::new(Viewport::latest(n, n as f64 + RIGHT_PAD));
    let selected = RwSignal::new(None::<i64>);
    view! {
        <Chart
            series=Signal::derive(move || Series::Line(points.clone()))
            zones=Signal::derive(Vec::new)
            selected=selected
            levels=Signal::derive(|| None)
            viewport=viewport
            step_ms=86_400_000
            daily=true
            label=label
        />
    }
    .into_any()
}
