//! The chart component: our own SVG rendering of a candlestick or line series, with pattern
//! zones, level lines, a crosshair tooltip, pan (drag, arrow keys, buttons) and zoom (wheel,
//! +/− keys and buttons).
//!
//! All geometry comes from the pure [`geometry`] module; this file only turns its numbers into
//! SVG attributes (`x`, `y`, `width`, `height`, `d`, `transform` — attributes, not styles, so
//! the strict CSP is satisfied) and colours everything through CSS classes.

pub mod equity;
pub mod geometry;

use leptos::ev;
use leptos::html;
use leptos::prelude::*;

use self::geometry::{
    candle_shapes, label_indices, level_y, line_path, nice_ticks, price_domain, slot_of_time,
    value_domain, y_scale, zone_rect, Frame, Ohlc, Viewport,
};
use crate::format;

/// What the chart draws.
#[derive(Debug, Clone, PartialEq)]
pub enum Series {
    /// OHLC candles, oldest first.
    Candles(Vec<Ohlc>),
    /// A line through `(ts, value)` points, oldest first (e.g. an equity curve).
    #[allow(
        dead_code,
        reason = "drawn by the portfolio and backtest equity curves, which come later"
    )]
    Line(Vec<(i64, f64)>),
}

impl Series {
    /// Number of points (slots).
    pub fn len(&self) -> usize {
        match self {
            Self::Candles(c) => c.len(),
            Self::Line(p) => p.len(),
        }
    }

    /// The open time of every slot.
    fn times(&self) -> Vec<i64> {
        match self {
            Self::Candles(c) => c.iter().map(|c| c.ts).collect(),
            Self::Line(p) => p.iter().map(|p| p.0).collect(),
        }
    }
}

/// A shaded price zone (a pattern) drawn from its detection to its end.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneSpec {
    /// Pattern id (selection key).
    pub id: i64,
    /// Detection time, UTC ms.
    pub from_ts: i64,
    /// Fill/expiry time; `None` while active (the zone runs to the right edge).
    pub to_ts: Option<i64>,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Bullish (else bearish).
    pub bullish: bool,
    /// Short label, e.g. `▲ FVG bullish`.
    pub label: String,
}

/// Entry, stop and targets of the selected pattern.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Levels {
    /// Limit entry.
    pub entry: f64,
    /// Stop loss.
    pub stop_loss: f64,
    /// Take-profits 1–3.
    pub targets: [f64; 3],
}

/// Default SVG size before the container is measured.
const DEFAULT_WIDTH: f64 = 900.0;

/// How many slots the chart shows at first.
pub const INITIAL_VISIBLE: f64 = 120.0;

/// The chart.
///
/// `viewport` belongs to the caller so it can keep the same candles in view when it prepends
/// older ones ([`Viewport::shifted_for_prepend`]). `selected` is the selected zone's id; the
/// caller passes its `levels`.
#[component]
pub fn Chart(
    /// What to draw.
    #[prop(into)]
    series: Signal<Series>,
    /// Pattern zones.
    #[prop(into)]
    zones: Signal<Vec<ZoneSpec>>,
    /// The selected zone id.
    selected: RwSignal<Option<i64>>,
    /// Levels of the selected zone.
    #[prop(into)]
    levels: Signal<Option<Levels>>,
    /// The visible window.
    viewport: RwSignal<Viewport>,
    /// The period of one slot, ms (the TF).
    step_ms: i64,
    /// Daily slots (axis labels show dates).
    #[prop(optional)]
    daily: bool,
    /// Accessible name of the chart.
    #[prop(into)]
    label: String,
) -> impl IntoView {
    let canvas = NodeRef::<html::Div>::new();
    let (width, set_width) = signal(DEFAULT_WIDTH);
    let hovered = RwSignal::new(None::<usize>);
    let focused_zone = RwSignal::new(None::<i64>);
    // Keyboard focus on the plot shows the tooltip for the newest visible candle.
    let canvas_focused = RwSignal::new(false);
    let drag = StoredValue::new(None::<(f64, f64)>);

    let measure = move || {
        if let Some(el) = canvas.get_untracked() {
            let w = f64::from(el.client_width());
            if w > 0.0 {
                set_width.set(w.clamp(280.0, 1600.0));
            }
        }
    };
    Effect::new(move |_| {
        if canvas.get().is_some() {
            measure();
        }
    });
    let resize = window_event_listener(ev::resize, move |_| measure());
    on_cleanup(move || resize.remove());

    let frame = Memo::new(move |_| {
        let w = width.get();
        let h = if w < 560.0 { 300.0 } else { 420.0 };
        let mut f = Frame::new(w, h);
        if w < 560.0 {
            f.right = 60.0;
        }
        f
    });
    let total = move || series.with(Series::len) as f64;
    let times = Memo::new(move |_| series.with(Series::times));

    // Everything derived from the view: visible range, scales.
    let layout = Memo::new(move |_| {
        let f = frame.get();
        let v = viewport.get();
        let range = series.with(|s| v.visible_range(s.len()));
        let x = v.x_scale(&f);
        // The selected pattern's zone, entry, stop and first target always stay in view.
        let mut extra: Vec<f64> = levels
            .get()
            .map(|l| vec![l.entry, l.stop_loss, l.targets[0]])
            .unwrap_or_default();
        if let Some(id) = selected.get() {
            zones.with(|zs| {
                if let Some(z) = zs.iter().find(|z| z.id == id) {
                    extra.extend([z.low, z.high]);
                }
            });
        }
        let domain = series.with(|s| match s {
            Series::Candles(c) => price_domain(c, range.clone(), &extra),
            Series::Line(p) => {
                let pts: Vec<(f64, f64)> = p
                    .get(range.clone())
                    .unwrap_or(&[])
                    .iter()
                    .map(|p| (0.0, p.1))
                    .collect();
                value_domain(&pts)
            }
        });
        let domain = domain.unwrap_or((0.0, 1.0));
        let y = y_scale(domain, &f);
        (f, v, range, x, y, domain)
    });

    let slot_at_client_x = move |client_x: f64| -> Option<(f64, f64)> {
        let el = canvas.get_untracked()?;
        let rect = el.get_bounding_client_rect();
        if rect.width() <= 0.0 {
            return None;
        }
        let (f, v, _, x, _, _) = layout.get_untracked();
        let svg_x = (client_x - rect.left()) * f.width / rect.width();
        let anchor = ((svg_x - f.x0()) / f.plot_width()).clamp(0.0, 1.0);
        Some((x.invert(svg_x).max(v.start), anchor))
    };

    let zoom = move |factor: f64, anchor: f64| {
        let t = total();
        viewport.update(|v| *v = v.zoomed(factor, anchor, t));
    };
    let pan = move |slots: f64| {
        let t = total();
        viewport.update(|v| *v = v.panned(slots, t));
    };
    let pan_step = move || (viewport.get_untracked().count * 0.15).max(1.0);

    let on_keydown = move |ev: ev::KeyboardEvent| {
        let handled = match ev.key().as_str() {
            "ArrowLeft" => {
                pan(-pan_step());
                true
            }
            "ArrowRight" => {
                pan(pan_step());
                true
            }
            "+" | "=" => {
                zoom(1.25, 1.0);
                true
            }
            "-" | "_" => {
                zoom(0.8, 1.0);
                true
            }
            "Home" => {
                pan(-total());
                true
            }
            "End" => {
                pan(total());
                true
            }
            _ => false,
        };
        if handled {
            hovered.set(None);
            canvas_focused.set(true);
            ev.prevent_default();
        }
    };
    let on_wheel = move |ev: ev::WheelEvent| {
        let dy = ev.delta_y();
        if dy == 0.0 {
            return;
        }
        ev.prevent_default();
        let anchor = slot_at_client_x(f64::from(ev.client_x())).map_or(1.0, |(_, a)| a);
        zoom(if dy < 0.0 { 1.15 } else { 1.0 / 1.15 }, anchor);
    };
    let on_pointerdown = move |ev: ev::PointerEvent| {
        if ev.button() == 0 {
            drag.set_value(Some((
                f64::from(ev.client_x()),
                viewport.get_untracked().start,
            )));
        }
    };
    let on_pointermove = move |ev: ev::PointerEvent| {
        let cx = f64::from(ev.client_x());
        if let Some((x0, start0)) = drag.get_value() {
            let (f, v, _, _, _, _) = layout.get_untracked();
            let Some(el) = canvas.get_untracked() else {
                return;
            };
            let rect = el.get_bounding_client_rect();
            if rect.width() <= 0.0 {
                return;
            }
            let dx_svg = (cx - x0) * f.width / rect.width();
            if dx_svg.abs() > 2.0 {
                let slots = -dx_svg / (f.plot_width() / v.count);
                let t = total();
                viewport.set(
                    Viewport {
                        start: start0 + slots,
                        count: v.count,
                    }
                    .clamped(t),
                );
                hovered.set(None);
            }
            return;
        }
        let n = series.with_untracked(Series::len);
        hovered.set(
            slot_at_client_x(cx)
                .map(|(slot, _)| slot.floor())
                .filter(|s| *s >= 0.0 && (*s as usize) < n)
                .map(|s| s as usize),
        );
    };
    let end_drag = move |_: ev::PointerEvent| drag.set_value(None);
    let on_leave = move |_: ev::PointerEvent| {
        drag.set_value(None);
        hovered.set(None);
    };

    // The candle the tooltip describes: hovered, else the newest visible one.
    let inspected = Memo::new(move |_| {
        hovered.get().or_else(|| {
            let (_, _, range, _, _, _) = layout.get();
            range.end.checked_sub(1).filter(|i| *i >= range.start)
        })
    });

    let zone_shapes = move || {
        let (f, _, _, x, y, _) = layout.get();
        let t = times.get();
        let sel = selected.get();
        let mut shapes: Vec<_> = zones
            .get()
            .into_iter()
            .filter_map(|z| {
                let from = slot_of_time(&t, z.from_ts, step_ms)?;
                let to = z.to_ts.and_then(|ts| slot_of_time(&t, ts, step_ms));
                let r = zone_rect(from, to, z.low, z.high, &x, &y, &f)?;
                Some((z, r))
            })
            .collect();
        // The selected zone is drawn last (on top).
        shapes.sort_by_key(|(z, _)| Some(z.id) == sel);
        shapes
            .into_iter()
            .map(|(z, r)| {
                let id = z.id;
                let is_sel = Some(id) == sel;
                let aria = format!(
                    "{} zone {} – {}",
                    z.label,
                    format::price(z.low),
                    format::price(z.high)
                );
                view! {
                    <rect
                        class="zone"
                        class:zone-bull=z.bullish
                        class:zone-bear=!z.bullish
                        class:zone-selected=is_sel
                        x=num(r.x)
                        y=num(r.y)
                        width=num(r.w)
                        height=num(r.h)
                        tabindex="0"
                        role="button"
                        aria-pressed=if is_sel { "true" } else { "false" }
                        aria-label=aria
                        data-pattern-id=id.to_string()
                        on:click=move |_| selected.set(Some(id))
                        on:keydown=move |ev: ev::KeyboardEvent| {
                            if ev.key() == "Enter" || ev.key() == " " {
                                ev.prevent_default();
                                ev.stop_propagation();
                                selected.set(Some(id));
                            }
                        }
                        on:focus=move |_| focused_zone.set(Some(id))
                        on:blur=move |_| focused_zone.set(None)
                        on:pointerenter=move |_| focused_zone.set(Some(id))
                        on:pointerleave=move |_| focused_zone.set(None)
                    ></rect>
                }
            })
            .collect_view()
    };

    let grid = move || {
        let (f, _, _, _, y, domain) = layout.get();
        let target = if f.plot_height() < 260.0 { 4 } else { 6 };
        let ticks = nice_ticks(domain.0, domain.1, target);
        let step = match ticks.as_slice() {
            [a, b, ..] => b - a,
            _ => 1.0,
        };
        ticks
            .into_iter()
            .map(|p| {
                let py = y.map(p);
                view! {
                    <line class="grid-line" x1=num(f.x0()) x2=num(f.x1()) y1=num(py) y2=num(py)></line>
                    <text class="axis-label" x=num(f.x1() + 6.0) y=num(py + 4.0)>
                        {format::axis_price(p, step)}
                    </text>
                }
            })
            .collect_view()
    };

    let time_axis = move || {
        let (f, v, range, x, _, _) = layout.get();
        let slot_w = f.plot_width() / v.count;
        let t = times.get();
        label_indices(range, slot_w, 84.0)
            .into_iter()
            .filter_map(|i| {
                let ts = *t.get(i)?;
                let px = x.map(i as f64 + 0.5);
                Some(view! {
                    <line class="tick" x1=num(px) x2=num(px) y1=num(f.y1()) y2=num(f.y1() + 4.0)></line>
                    <text class="axis-label axis-time" x=num(px) y=num(f.y1() + 18.0)>
                        {format::axis_time(ts, daily)}
                    </text>
                })
            })
            .collect_view()
    };

    let marks = move || {
        let (_, _, range, x, y, _) = layout.get();
        series.with(|s| match s {
            Series::Candles(c) => candle_shapes(c, range, &x, &y)
                .into_iter()
                .map(|k| {
                    view! {
                        <g class="candle" class:candle-up=k.up class:candle-down=!k.up>
                            <line class="wick" x1=num(k.cx) x2=num(k.cx) y1=num(k.wick_top) y2=num(k.wick_bottom)></line>
                            <rect class="body" x=num(k.body_x) y=num(k.body_y) width=num(k.body_w) height=num(k.body_h)></rect>
                        </g>
                    }
                })
                .collect_view()
                .into_any(),
            Series::Line(p) => {
                let pts: Vec<(f64, f64)> = p
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (i as f64 + 0.5, p.1))
                    .collect();
                view! { <path class="series-line" d=line_path(&pts, &x, &y)></path> }.into_any()
            }
        })
    };

    let level_lines = move || {
        let (f, _, _, _, y, _) = layout.get();
        let Some(l) = levels.get() else {
            return ().into_any();
        };
        let mut items = vec![("entry", "Entry", l.entry), ("stop", "SL", l.stop_loss)];
        for (k, tp) in l.targets.iter().enumerate() {
            items.push(("target", ["TP1", "TP2", "TP3"][k.min(2)], *tp));
        }
        items
            .into_iter()
            .filter_map(|(kind, name, price)| {
                let py = level_y(price, &y, &f)?;
                Some(view! {
                    <g class=format!("level level-{kind}")>
                        <line x1=num(f.x0()) x2=num(f.x1()) y1=num(py) y2=num(py)></line>
                        <text class="level-label" x=num(f.x0() + 4.0) y=num(py - 4.0)>
                            {format!("{name} {}", format::price(price))}
                        </text>
                    </g>
                })
            })
            .collect_view()
            .into_any()
    };

    // Tooltip lines: the focused or hovered zone (if any), then the inspected candle.
    let tip_lines = move || -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(id) = focused_zone.get() {
            if let Some(z) = zones.with(|zs| zs.iter().find(|z| z.id == id).cloned()) {
                lines.push(z.label.clone());
                lines.push(format!(
                    "Zone {} – {}",
                    format::price(z.low),
                    format::price(z.high)
                ));
                lines.push(format!("From {}", format::datetime(z.from_ts)));
                lines.push(match z.to_ts {
                    Some(t) => format!("Until {}", format::datetime(t)),
                    None => String::from("Active"),
                });
                if hovered.get().is_none() {
                    return lines;
                }
            }
        }
        let Some(i) = inspected.get() else {
            return lines;
        };
        series.with(|s| match s {
            Series::Candles(c) => {
                if let Some(c) = c.get(i) {
                    lines.extend([
                        format::datetime(c.ts),
                        format!("O {}", format::price(c.open)),
                        format!("H {}", format::price(c.high)),
                        format!("L {}", format::price(c.low)),
                        format!("C {}", format::price(c.close)),
                    ]);
                }
            }
            Series::Line(p) => {
                if let Some(p) = p.get(i) {
                    lines.extend([format::datetime(p.0), format::price(p.1)]);
                }
            }
        });
        lines
    };

    let crosshair = move || {
        let (f, _, _, x, _, _) = layout.get();
        let i = hovered
            .get()
            .or_else(|| canvas_focused.get().then(|| inspected.get()).flatten())?;
        let px = x.map(i as f64 + 0.5);
        Some(view! {
            <line class="crosshair" x1=num(px) x2=num(px) y1=num(f.y0()) y2=num(f.y1())></line>
        })
    };

    let tooltip = move || {
        let lines = tip_lines();
        let keyboard = canvas_focused.get();
        if lines.is_empty()
            || (hovered.get().is_none() && focused_zone.get().is_none() && !keyboard)
        {
            return ().into_any();
        }
        let (f, _, _, x, _, _) = layout.get();
        let box_w = 224.0;
        let box_h = 12.0 + 16.0 * lines.len() as f64;
        let anchor_x = hovered
            .get()
            .or_else(|| keyboard.then(|| inspected.get()).flatten())
            .map_or(f.x0() + f.plot_width() / 2.0, |i| x.map(i as f64 + 0.5));
        let left = if anchor_x > f.x0() + f.plot_width() / 2.0 {
            anchor_x - box_w - 12.0
        } else {
            anchor_x + 12.0
        }
        .clamp(f.x0(), (f.x1() - box_w).max(f.x0()));
        let transform = format!("translate({left:.1} {:.1})", f.y0() + 6.0);
        view! {
            <g class="chart-tip" transform=transform aria-hidden="true">
                <rect class="chart-tip-bg" x="0" y="0" width=num(box_w) height=num(box_h) rx="6"></rect>
                {lines
                    .into_iter()
                    .enumerate()
                    .map(|(k, line)| {
                        view! {
                            <text class="chart-tip-text" class:chart-tip-head=k == 0 x="10" y=num(20.0 + 16.0 * k as f64)>
                                {line}
                            </text>
                        }
                    })
                    .collect_view()}
            </g>
        }
        .into_any()
    };

    let readout = move || {
        let lines = tip_lines();
        if lines.is_empty() {
            String::from("No data in view.")
        } else {
            lines.join(" · ")
        }
    };

    let visible_count = move || {
        let (_, _, range, _, _, _) = layout.get();
        range.len()
    };

    view! {
        <div class="chart">
            <div class="chart-toolbar" role="toolbar" aria-label="Chart controls">
                <button type="button" class="btn btn-ghost btn-sm" aria-label="Zoom in" on:click=move |_| zoom(1.25, 1.0)>
                    "+"
                </button>
                <button type="button" class="btn btn-ghost btn-sm" aria-label="Zoom out" on:click=move |_| zoom(0.8, 1.0)>
                    "−"
                </button>
                <button type="button" class="btn btn-ghost btn-sm" aria-label="Pan to older candles" on:click=move |_| pan(-pan_step())>
                    "←"
                </button>
                <button type="button" class="btn btn-ghost btn-sm" aria-label="Pan to newer candles" on:click=move |_| pan(pan_step())>
                    "→"
                </button>
                <button
                    type="button"
                    class="btn btn-ghost btn-sm"
                    on:click=move |_| viewport.set(Viewport::latest(series.with_untracked(Series::len), INITIAL_VISIBLE))
                >
                    "Reset view"
                </button>
                <span class="chart-count muted" data-visible=move || visible_count().to_string()>
                    {move || format!("{} of {} in view", visible_count(), total())}
                </span>
            </div>
            <div
                class="chart-canvas"
                node_ref=canvas
                tabindex="0"
                role="group"
                aria-label=label
                aria-describedby="chart-help chart-readout"
                on:keydown=on_keydown
                on:focus=move |_| {
                    // Only keyboard focus (a click focuses the plot too, but hover covers that).
                    let keyboard = canvas
                        .get_untracked()
                        .and_then(|el| el.matches(":focus-visible").ok())
                        .unwrap_or(false);
                    canvas_focused.set(keyboard);
                }
                on:blur=move |_| canvas_focused.set(false)
                on:wheel=on_wheel
                on:pointerdown=on_pointerdown
                on:pointermove=on_pointermove
                on:pointerup=end_drag
                on:pointercancel=end_drag
                on:pointerleave=on_leave
            >
                <svg
                    class="chart-svg"
                    viewBox=move || {
                        let f = frame.get();
                        format!("0 0 {} {}", f.width, f.height)
                    }
                    width=move || num(frame.get().width)
                    height=move || num(frame.get().height)
                    aria-hidden="false"
                    focusable="false"
                >
                    <rect
                        class="plot-bg"
                        x=move || num(frame.get().x0())
                        y=move || num(frame.get().y0())
                        width=move || num(frame.get().plot_width())
                        height=move || num(frame.get().plot_height())
                    ></rect>
                    <g class="chart-grid">{grid}</g>
                    <g class="chart-time">{time_axis}</g>
                    <g class="chart-zones">{zone_shapes}</g>
                    <g class="chart-marks">{marks}</g>
                    <g class="chart-levels">{level_lines}</g>
                    <g class="chart-overlay">{crosshair}</g>
                    {tooltip}
                </svg>
            </div>
            <p id="chart-help" class="chart-help muted">
                "Drag or use ← → to pan, the wheel or + − to zoom, Home/End for the oldest/newest candles. Tab to a zone and press Enter to show its levels."
            </p>
            <p id="chart-readout" class="chart-readout" aria-live="polite">{readout}</p>
        </div>
    }
}

/// An SVG number attribute with two decimals.
fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        String::from("0")
    }
}
