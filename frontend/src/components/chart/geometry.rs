//! Pure chart geometry: scales, the visible window, candle bodies and wicks, zone rectangles,
//! level lines, price ticks and line-series paths.
//!
//! No web or Leptos types: everything here is plain numbers in, plain numbers (SVG user units)
//! out, so it is unit-tested on the host (`cargo test -p cl-frontend`).
//!
//! Coordinates: the x axis is in *slot* space: candle `i` occupies the slot `[i, i + 1)` and
//! its centre is `i + 0.5`. Timestamps map to slots through the candles' open times (so gaps
//! in the data do not distort anything). The y axis maps prices, highest at the top.

/// A linear map from a domain interval onto a range interval (either may be reversed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearScale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl LinearScale {
    /// Maps `[d0, d1]` onto `[r0, r1]`. A degenerate domain (`d0 == d1`) maps everything to
    /// the middle of the range.
    pub const fn new(d0: f64, d1: f64, r0: f64, r1: f64) -> Self {
        Self { d0, d1, r0, r1 }
    }

    /// Domain → range.
    pub fn map(&self, v: f64) -> f64 {
        let span = self.d1 - self.d0;
        if span == 0.0 || !span.is_finite() {
            return (self.r0 + self.r1) / 2.0;
        }
        self.r0 + (v - self.d0) / span * (self.r1 - self.r0)
    }

    /// Range → domain (the inverse of [`Self::map`]).
    pub fn invert(&self, px: f64) -> f64 {
        let span = self.r1 - self.r0;
        if span == 0.0 || !span.is_finite() {
            return (self.d0 + self.d1) / 2.0;
        }
        self.d0 + (px - self.r0) / span * (self.d1 - self.d0)
    }

    /// Range units per domain unit (negative for a reversed range).
    pub fn ratio(&self) -> f64 {
        let span = self.d1 - self.d0;
        if span == 0.0 {
            0.0
        } else {
            (self.r1 - self.r0) / span
        }
    }
}

/// The drawing area: the SVG's size and the margins around the plot (axes live in the margins).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// SVG width, user units.
    pub width: f64,
    /// SVG height, user units.
    pub height: f64,
    /// Left margin.
    pub left: f64,
    /// Right margin (the price axis).
    pub right: f64,
    /// Top margin.
    pub top: f64,
    /// Bottom margin (the time axis).
    pub bottom: f64,
}

impl Frame {
    /// A frame of `width × height` with the default margins (price axis on the right).
    pub fn new(width: f64, height: f64) -> Self {
        Self {
            width,
            height,
            left: 8.0,
            right: 72.0,
            top: 12.0,
            bottom: 28.0,
        }
    }

    /// Left edge of the plot.
    pub fn x0(&self) -> f64 {
        self.left
    }

    /// Right edge of the plot.
    pub fn x1(&self) -> f64 {
        (self.width - self.right).max(self.left + 1.0)
    }

    /// Top edge of the plot.
    pub fn y0(&self) -> f64 {
        self.top
    }

    /// Bottom edge of the plot.
    pub fn y1(&self) -> f64 {
        (self.height - self.bottom).max(self.top + 1.0)
    }

    /// Plot width.
    pub fn plot_width(&self) -> f64 {
        self.x1() - self.x0()
    }

    /// Plot height.
    pub fn plot_height(&self) -> f64 {
        self.y1() - self.y0()
    }
}

/// The visible window in slot space: slots `[start, start + count)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    /// First visible slot (may be fractional).
    pub start: f64,
    /// Number of visible slots.
    pub count: f64,
}

/// The fewest slots a zoom may show.
pub const MIN_VISIBLE: f64 = 12.0;

/// Empty slots allowed right of the newest candle (room for active zones to extend into).
pub const RIGHT_PAD: f64 = 4.0;

impl Viewport {
    /// The newest `count` slots of a series of `total` (all of it when shorter), plus the right pad.
    pub fn latest(total: usize, count: f64) -> Self {
        let total = total as f64;
        let count = count
            .max(MIN_VISIBLE)
            .min(total.max(MIN_VISIBLE) + RIGHT_PAD);
        Self {
            start: total + RIGHT_PAD - count,
            count,
        }
        .clamped(total)
    }

    /// Keeps the window inside `[0, total + RIGHT_PAD]` and at least [`MIN_VISIBLE`] wide.
    pub fn clamped(self, total: f64) -> Self {
        let max_count = (total + RIGHT_PAD).max(MIN_VISIBLE);
        let count = self.count.clamp(MIN_VISIBLE, max_count);
        let max_start = (total + RIGHT_PAD - count).max(0.0);
        Self {
            start: self.start.clamp(0.0, max_start),
            count,
        }
    }

    /// Shifted by `slots` (positive = towards newer candles), clamped.
    pub fn panned(self, slots: f64, total: f64) -> Self {
        Self {
            start: self.start + slots,
            count: self.count,
        }
        .clamped(total)
    }

    /// Zoomed by `factor` (> 1 zooms in: fewer slots) keeping the slot at `anchor` (0 = left
    /// edge, 1 = right edge of the plot) in place, clamped.
    pub fn zoomed(self, factor: f64, anchor: f64, total: f64) -> Self {
        if !(factor.is_finite() && factor > 0.0) {
            return self.clamped(total);
        }
        let anchor = anchor.clamp(0.0, 1.0);
        let pivot = self.start + anchor * self.count;
        let count = (self.count / factor).clamp(MIN_VISIBLE, (total + RIGHT_PAD).max(MIN_VISIBLE));
        Self {
            start: pivot - anchor * count,
            count,
        }
        .clamped(total)
    }

    /// The same view after `n` older candles were prepended to the series.
    pub fn shifted_for_prepend(self, n: usize, total_after: f64) -> Self {
        Self {
            start: self.start + n as f64,
            count: self.count,
        }
        .clamped(total_after)
    }

    /// The index range of candles at least partly visible, clamped to `0..total`.
    pub fn visible_range(&self, total: usize) -> std::ops::Range<usize> {
        let first = self.start.floor().max(0.0) as usize;
        let last = (self.start + self.count).ceil().max(0.0) as usize;
        first.min(total)..last.min(total)
    }

    /// The x scale of this window over `frame`'s plot.
    pub fn x_scale(&self, frame: &Frame) -> LinearScale {
        LinearScale::new(self.start, self.start + self.count, frame.x0(), frame.x1())
    }
}

/// One candle's OHLC (the chart's own type, so this module needs no DTOs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ohlc {
    /// Open time, UTC ms.
    pub ts: i64,
    /// Open.
    pub open: f64,
    /// High.
    pub high: f64,
    /// Low.
    pub low: f64,
    /// Close.
    pub close: f64,
}

/// The price interval shown: the visible candles' range (plus any extra prices that must stay
/// visible), padded by 6 % on each side; a flat range is widened so it still has height.
pub fn price_domain(
    candles: &[Ohlc],
    range: std::ops::Range<usize>,
    extra: &[f64],
) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for c in candles.get(range).unwrap_or(&[]) {
        lo = lo.min(c.low);
        hi = hi.max(c.high);
    }
    for &p in extra {
        if p.is_finite() {
            lo = lo.min(p);
            hi = hi.max(p);
        }
    }
    if !(lo.is_finite() && hi.is_finite()) {
        return None;
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * 0.06
    } else {
        (hi.abs() * 0.01).max(1e-9)
    };
    Some((lo - pad, hi + pad))
}

/// The y scale for a price domain over `frame`'s plot (high prices at the top).
pub fn y_scale(domain: (f64, f64), frame: &Frame) -> LinearScale {
    LinearScale::new(domain.0, domain.1, frame.y1(), frame.y0())
}

/// A candle as SVG shapes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandleShape {
    /// Index in the series.
    pub index: usize,
    /// Close ≥ open.
    pub up: bool,
    /// Centre x (the wick).
    pub cx: f64,
    /// Wick top (the high).
    pub wick_top: f64,
    /// Wick bottom (the low).
    pub wick_bottom: f64,
    /// Body left edge.
    pub body_x: f64,
    /// Body top edge.
    pub body_y: f64,
    /// Body width.
    pub body_w: f64,
    /// Body height (at least 1 unit, so a doji stays visible).
    pub body_h: f64,
}

/// Shapes of the candles in `range`. Bodies fill 70 % of a slot (at least 1 unit wide).
pub fn candle_shapes(
    candles: &[Ohlc],
    range: std::ops::Range<usize>,
    x: &LinearScale,
    y: &LinearScale,
) -> Vec<CandleShape> {
    let slot = x.ratio().abs();
    let body_w = (slot * 0.7).max(1.0);
    let start = range.start;
    candles
        .get(range)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let index = start + k;
            let cx = x.map(index as f64 + 0.5);
            let top = y.map(c.open.max(c.close));
            let bottom = y.map(c.open.min(c.close));
            CandleShape {
                index,
                up: c.close >= c.open,
                cx,
                wick_top: y.map(c.high),
                wick_bottom: y.map(c.low),
                body_x: cx - body_w / 2.0,
                body_y: top,
                body_w,
                body_h: (bottom - top).max(1.0),
            }
        })
        .collect()
}

/// The slot position of a timestamp: `i + fraction` inside candle `i`'s period, extrapolated
/// with `step_ms` before the first and after the last candle. `None` for an empty series or
/// a non-positive step.
pub fn slot_of_time(times: &[i64], ts: i64, step_ms: i64) -> Option<f64> {
    let (&first, &last) = (times.first()?, times.last()?);
    if step_ms <= 0 {
        return None;
    }
    if ts <= first {
        return Some((ts - first) as f64 / step_ms as f64);
    }
    if ts >= last {
        return Some((times.len() - 1) as f64 + (ts - last) as f64 / step_ms as f64);
    }
    // times[i] <= ts < times[i + 1]
    let i = times.partition_point(|&t| t <= ts).saturating_sub(1);
    let t0 = times.get(i).copied().unwrap_or(first);
    let t1 = times.get(i + 1).copied().unwrap_or(t0 + step_ms);
    let width = (t1 - t0).max(1);
    Some(i as f64 + ((ts - t0) as f64 / width as f64).min(1.0))
}

/// An axis-aligned rectangle in SVG user units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width (≥ 0).
    pub w: f64,
    /// Height (≥ 0).
    pub h: f64,
}

/// A pattern zone's rectangle from slot `from` to slot `to` (`None` = the plot's right edge,
/// for zones still active) between prices `low` and `high`, clipped to the plot. `None` when
/// nothing of it is visible.
pub fn zone_rect(
    from: f64,
    to: Option<f64>,
    low: f64,
    high: f64,
    x: &LinearScale,
    y: &LinearScale,
    frame: &Frame,
) -> Option<Rect> {
    let left = x.map(from).max(frame.x0());
    let right = to.map_or(frame.x1(), |t| x.map(t)).min(frame.x1());
    let top = y.map(high.max(low)).max(frame.y0());
    let bottom = y.map(low.min(high)).min(frame.y1());
    if !(left.is_finite() && right.is_finite() && top.is_finite() && bottom.is_finite()) {
        return None;
    }
    if right <= left || bottom < top {
        return None;
    }
    Some(Rect {
        x: left,
        y: top,
        w: right - left,
        // A zero-height zone (low == high) still shows as a 1-unit band.
        h: (bottom - top).max(1.0),
    })
}

/// The y of a horizontal level line, or `None` when the price is outside the plot.
pub fn level_y(price: f64, y: &LinearScale, frame: &Frame) -> Option<f64> {
    let py = y.map(price);
    (py.is_finite() && py >= frame.y0() - 0.5 && py <= frame.y1() + 0.5).then_some(py)
}

/// About `target` "nice" tick values (1, 2, 2.5 or 5 × 10ⁿ steps) inside `[lo, hi]`.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || target == 0 {
        return Vec::new();
    }
    let raw = (hi - lo) / target as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    let mut ticks = Vec::new();
    let mut k = 0.0;
    while first + k * step <= hi + step * 1e-9 && ticks.len() < 50 {
        ticks.push(first + k * step);
        k += 1.0;
    }
    ticks
}

/// Every `every`-th index of the visible range, for time-axis labels roughly `min_gap` units
/// apart.
pub fn label_indices(range: std::ops::Range<usize>, slot_width: f64, min_gap: f64) -> Vec<usize> {
    if slot_width <= 0.0 || range.is_empty() {
        return Vec::new();
    }
    let every = ((min_gap / slot_width).ceil() as usize).max(1);
    range.filter(|i| i % every == 0).collect()
}

/// The `d` attribute of a polyline through `points` (`(slot, value)` pairs): `M x y L x y …`,
/// two decimals. Non-finite points break the line (the next point starts a new `M`).
pub fn line_path(points: &[(f64, f64)], x: &LinearScale, y: &LinearScale) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for &(sx, v) in points {
        let (px, py) = (x.map(sx), y.map(v));
        if !(px.is_finite() && py.is_finite()) {
            pen_down = false;
            continue;
        }
        if !d.is_empty() {
            d.push(' ');
        }
        d.push(if pen_down { 'L' } else { 'M' });
        d.push_str(&format!("{px:.2} {py:.2}"));
        pen_down = true;
    }
    d
}

/// The value domain of a line series (padded like [`price_domain`]).
pub fn value_domain(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let (lo, hi) = points
        .iter()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !(lo.is_finite() && hi.is_finite()) {
        return None;
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * 0.06
    } else {
        (hi.abs() * 0.01).max(1e-9)
    };
    Some((lo - pad, hi + pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn c(ts: i64, open: f64, high: f64, low: f64, close: f64) -> Ohlc {
        Ohlc {
            ts,
            open,
            high,
            low,
            close,
        }
    }

    #[test]
    fn linear_scale_maps_inverts_and_reverses() {
        let s = LinearScale::new(0.0, 10.0, 100.0, 200.0);
        assert!(close(s.map(0.0), 100.0));
        assert!(close(s.map(5.0), 150.0));
        assert!(close(s.invert(175.0), 7.5));
        assert!(close(s.ratio(), 10.0));
        let y = LinearScale::new(10.0, 20.0, 300.0, 0.0);
        assert!(close(y.map(20.0), 0.0));
        assert!(close(y.map(10.0), 300.0));
        assert!(close(y.invert(150.0), 15.0));
        let flat = LinearScale::new(5.0, 5.0, 0.0, 100.0);
        assert!(close(flat.map(7.0), 50.0));
    }

    #[test]
    fn frame_plot_edges() {
        let f = Frame::new(800.0, 400.0);
        assert!(close(f.x0(), 8.0));
        assert!(close(f.x1(), 728.0));
        assert!(close(f.plot_height(), 400.0 - 12.0 - 28.0));
        // A frame narrower than its margins still has a positive plot.
        assert!(Frame::new(10.0, 10.0).plot_width() > 0.0);
    }

    #[test]
    fn viewport_latest_shows_the_newest_candles() {
        let v = Viewport::latest(500, 100.0);
        assert!(close(v.count, 100.0));
        assert!(close(v.start, 500.0 + RIGHT_PAD - 100.0));
        // Fewer candles than asked: the whole series.
        let v = Viewport::latest(20, 100.0);
        assert!(close(v.start, 0.0));
        assert!(close(v.count, 20.0 + RIGHT_PAD));
        assert_eq!(v.visible_range(20), 0..20);
    }

    #[test]
    fn pan_is_clamped_to_the_series() {
        let v = Viewport::latest(500, 100.0);
        let left = v.panned(-1000.0, 500.0);
        assert!(close(left.start, 0.0));
        let right = left.panned(10_000.0, 500.0);
        assert!(close(right.start, 500.0 + RIGHT_PAD - 100.0));
        let some = v.panned(-30.0, 500.0);
        assert!(close(some.start, v.start - 30.0));
    }

    #[test]
    fn zoom_keeps_the_anchor_and_respects_limits() {
        let v = Viewport {
            start: 100.0,
            count: 100.0,
        };
        let z = v.zoomed(2.0, 0.5, 500.0);
        assert!(close(z.count, 50.0));
        assert!(close(z.start + 0.5 * z.count, 150.0));
        let z = v.zoomed(2.0, 1.0, 500.0);
        assert!(close(z.start + z.count, 200.0));
        assert!(close(v.zoomed(1000.0, 0.5, 500.0).count, MIN_VISIBLE));
        let out = v.zoomed(0.001, 0.5, 500.0);
        assert!(close(out.count, 500.0 + RIGHT_PAD));
        assert!(close(out.start, 0.0));
        assert_eq!(v.zoomed(f64::NAN, 0.5, 500.0), v);
    }

    #[test]
    fn prepend_keeps_the_same_candles_in_view() {
        let v = Viewport {
            start: 0.0,
            count: 50.0,
        };
        let after = v.shifted_for_prepend(200, 700.0);
        assert!(close(after.start, 200.0));
        assert!(close(after.count, 50.0));
    }

    #[test]
    fn visible_range_covers_partial_slots() {
        let v = Viewport {
            start: 10.5,
            count: 20.0,
        };
        assert_eq!(v.visible_range(100), 10..31);
        assert_eq!(v.visible_range(25), 10..25);
    }

    #[test]
    fn price_domain_pads_and_includes_extras() {
        let cs = [c(0, 10.0, 12.0, 9.0, 11.0), c(1, 11.0, 20.0, 10.0, 19.0)];
        let (lo, hi) = price_domain(&cs, 0..2, &[]).unwrap();
        assert!(close(lo, 9.0 - 0.66));
        assert!(close(hi, 20.0 + 0.66));
        let (lo, _) = price_domain(&cs, 0..1, &[5.0, f64::NAN]).unwrap();
        assert!(lo < 5.0);
        assert!(price_domain(&cs, 2..2, &[]).is_none());
        let (lo, hi) = price_domain(&[c(0, 1.0, 1.0, 1.0, 1.0)], 0..1, &[]).unwrap();
        assert!(lo < 1.0 && hi > 1.0);
    }

    #[test]
    fn candle_shapes_place_bodies_and_wicks() {
        let cs = [c(0, 10.0, 12.0, 8.0, 11.0), c(1, 11.0, 11.5, 9.0, 9.5)];
        let x = LinearScale::new(0.0, 2.0, 0.0, 200.0); // 100 units per slot
        let y = LinearScale::new(8.0, 12.0, 400.0, 0.0); // 100 units per price unit
        let shapes = candle_shapes(&cs, 0..2, &x, &y);
        assert_eq!(shapes.len(), 2);
        let up = shapes[0];
        assert!(up.up);
        assert!(close(up.cx, 50.0));
        assert!(close(up.body_w, 70.0));
        assert!(close(up.body_x, 15.0));
        assert!(close(up.wick_top, 0.0));
        assert!(close(up.wick_bottom, 400.0));
        assert!(close(up.body_y, 100.0)); // close 11
        assert!(close(up.body_h, 100.0)); // open 10
        let down = shapes[1];
        assert!(!down.up);
        assert_eq!(down.index, 1);
        assert!(close(down.cx, 150.0));
        assert!(close(down.body_y, 100.0)); // open 11
        assert!(close(down.body_h, 150.0)); // close 9.5
                                            // A doji keeps a visible body; an out-of-range slice is empty.
        let doji = candle_shapes(&[c(0, 10.0, 11.0, 9.0, 10.0)], 0..1, &x, &y);
        assert!(close(doji[0].body_h, 1.0));
        assert!(candle_shapes(&cs, 5..9, &x, &y).is_empty());
    }

    #[test]
    fn slot_of_time_interpolates_and_extrapolates() {
        let times = [1000, 2000, 3000, 5000]; // a gap between 3000 and 5000
        assert_eq!(slot_of_time(&times, 1000, 1000), Some(0.0));
        assert_eq!(slot_of_time(&times, 2500, 1000), Some(1.5));
        assert_eq!(slot_of_time(&times, 4000, 1000), Some(2.5));
        assert_eq!(slot_of_time(&times, 5000, 1000), Some(3.0));
        assert_eq!(slot_of_time(&times, 7000, 1000), Some(5.0));
        assert_eq!(slot_of_time(&times, 0, 1000), Some(-1.0));
        assert_eq!(slot_of_time(&[], 0, 1000), None);
        assert_eq!(slot_of_time(&times, 0, 0), None);
    }

    #[test]
    fn zone_rect_spans_detection_to_end_and_clips() {
        let f = Frame {
            width: 220.0,
            height: 420.0,
            left: 10.0,
            right: 10.0,
            top: 10.0,
            bottom: 10.0,
        };
        let x = LinearScale::new(0.0, 20.0, 10.0, 210.0); // 10 units per slot
        let y = LinearScale::new(0.0, 100.0, 410.0, 10.0); // 4 units per price unit
        let r = zone_rect(5.0, Some(8.0), 40.0, 50.0, &x, &y, &f).unwrap();
        assert!(close(r.x, 60.0) && close(r.w, 30.0));
        assert!(close(r.y, 210.0) && close(r.h, 40.0));
        // Active: to the right edge.
        let r = zone_rect(5.0, None, 40.0, 50.0, &x, &y, &f).unwrap();
        assert!(close(r.x + r.w, 210.0));
        // Started before the window: clipped at the left edge; reversed bounds are fine.
        let r = zone_rect(-5.0, Some(2.0), 50.0, 40.0, &x, &y, &f).unwrap();
        assert!(close(r.x, 10.0) && close(r.w, 20.0) && close(r.h, 40.0));
        // Above the price range: clipped to the top.
        let r = zone_rect(0.0, None, 90.0, 150.0, &x, &y, &f).unwrap();
        assert!(close(r.y, 10.0) && close(r.h, 40.0));
        // Entirely outside: nothing.
        assert!(zone_rect(25.0, None, 40.0, 50.0, &x, &y, &f).is_none());
        assert!(zone_rect(0.0, Some(3.0), 200.0, 300.0, &x, &y, &f).is_none());
        assert!(zone_rect(-9.0, Some(-2.0), 40.0, 50.0, &x, &y, &f).is_none());
    }

    #[test]
    fn level_lines_only_inside_the_plot() {
        let f = Frame::new(200.0, 200.0);
        let y = y_scale((0.0, 100.0), &f);
        assert!(level_y(50.0, &y, &f).is_some());
        assert!(level_y(150.0, &y, &f).is_none());
        assert!(level_y(-1.0, &y, &f).is_none());
    }

    #[test]
    fn nice_ticks_use_round_steps() {
        assert_eq!(
            nice_ticks(0.0, 100.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        let t = nice_ticks(66_950.0, 67_420.0, 5);
        assert_eq!(t.first().copied(), Some(67_000.0));
        assert!(t.windows(2).all(|w| close(w[1] - w[0], 100.0)));
        let small = nice_ticks(0.5123, 0.5321, 4);
        assert!(small.len() >= 3 && small.iter().all(|v| (0.5123..=0.5321).contains(v)));
        assert!(nice_ticks(1.0, 1.0, 5).is_empty());
        assert!(nice_ticks(f64::NAN, 1.0, 5).is_empty());
    }

    #[test]
    fn label_indices_are_spaced() {
        assert_eq!(label_indices(0..10, 10.0, 30.0), vec![0, 3, 6, 9]);
        assert_eq!(label_indices(0..3, 100.0, 30.0), vec![0, 1, 2]);
        assert!(label_indices(0..0, 10.0, 30.0).is_empty());
    }

    #[test]
    fn line_path_for_a_line_series() {
        let x = LinearScale::new(0.0, 4.0, 0.0, 400.0);
        let y = LinearScale::new(0.0, 10.0, 100.0, 0.0);
        let d = line_path(&[(0.5, 0.0), (1.5, 5.0), (2.5, 10.0)], &x, &y);
        assert_eq!(d, "M50.00 100.00 L150.00 50.00 L250.00 0.00");
        let gap = line_path(&[(0.5, 0.0), (1.5, f64::NAN), (2.5, 10.0)], &x, &y);
        assert_eq!(gap, "M50.00 100.00 M250.00 0.00");
        assert_eq!(line_path(&[], &x, &y), "");
        let (lo, hi) = value_domain(&[(0.0, 100.0), (1.0, 110.0)]).unwrap();
        assert!(lo < 100.0 && hi > 110.0);
        assert!(value_domain(&[]).is_none());
    }
}
