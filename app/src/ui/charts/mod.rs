//! Charts drawn with plotters into `<canvas>` elements.
//!
//! A chart is described by [`ChartData`] (lines, horizontal levels, an optional band) built
//! by the page from the analytics; the component renders an empty canvas on the server and,
//! after hydration, redraws it whenever the data, the shared time range (zoom/pan) or the
//! canvas size changes. Interaction: wheel zooms around the cursor, drag pans, double-click
//! resets; all stacked charts share one [`TimeRange`] — the page's full time span and the
//! zoom into it — so their time axes are the same at first paint and through every zoom
//! and pan, whatever span each chart's own series covers (a z-score starts a window later).
//! The pixel row of the first level is published as `data-entry-px` and the drawn time span
//! as `data-x-range` and as `data-x-min` / `data-x-max` (ms), so tests (and curious users) can see lines move and zoom act; the
//! draw count, the last draw's time and the points drawn as `data-draws`, `data-draw-ms`
//! and `data-points`, for the redraw benchmark; the labels of the lines with points as
//! `data-lines` (`|`-separated); the candles drawn (after merging per pixel column) as
//! `data-candles` and a logarithmic value axis as `data-log="1"`.

pub mod downsample;
#[cfg(feature = "hydrate")]
mod draw;

use leptos::prelude::*;

/// An RGB colour.
pub type Rgb = (u8, u8, u8);

pub const LEG_X: Rgb = (247, 147, 26);
pub const LEG_Y: Rgb = (98, 126, 234);
pub const ENTRY: Rgb = (230, 80, 80);
pub const EXIT: Rgb = (120, 200, 120);
pub const MEAN: Rgb = (180, 180, 190);
pub const SERIES: Rgb = (86, 182, 194);

/// One polyline: `(t_ms, value)` points.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ChartLine {
    pub label: String,
    pub color: Rgb,
    pub points: Vec<(f64, f64)>,
}

/// A horizontal line across the chart.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartLevel {
    pub label: String,
    pub color: Rgb,
    pub value: f64,
}

/// One OHLC candle with its volume, at its bar's open time (ms).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candle {
    pub t: f64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

impl From<&crate::protocol::Bar> for Candle {
    fn from(b: &crate::protocol::Bar) -> Self {
        Candle { t: b.t as f64, open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume }
    }
}

/// Everything one chart draws.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ChartData {
    pub lines: Vec<ChartLine>,
    /// Candlesticks (drawn above a volume pane); a chart has lines or candles.
    pub candles: Vec<Candle>,
    /// Logarithmic value axis (prices, ratios): values are drawn at their logarithm and the
    /// axis is labelled in the values themselves.
    pub log_y: bool,
    pub levels: Vec<ChartLevel>,
    /// Fixed y range (e.g. correlation in [-1, 1]); otherwise fitted to the data.
    pub y_range: Option<(f64, f64)>,
    /// Keep at least ±this visible (z charts: the threshold slider range).
    pub y_min_reach: Option<f64>,
    /// Text shown instead of an empty chart, e.g. "z-score: 34/119 bars".
    pub waiting: Option<String>,
}

impl ChartData {
    /// Time span of all lines and candles (ms).
    pub fn t_extent(&self) -> Option<(f64, f64)> {
        let mut lo = self.candles.first().map_or(f64::INFINITY, |c| c.t);
        let mut hi = self.candles.last().map_or(f64::NEG_INFINITY, |c| c.t);
        for line in &self.lines {
            if let (Some(first), Some(last)) = (line.points.first(), line.points.last()) {
                lo = lo.min(first.0);
                hi = hi.max(last.0);
            }
        }
        (lo < hi).then_some((lo, hi))
    }
}

impl ChartData {
    /// One line of text describing every series at time `t` (nearest point), for the tooltip.
    pub fn describe_at(&self, t: f64) -> String {
        let mut parts = vec![clock_label(t)];
        let i = self.candles.partition_point(|c| c.t < t);
        let nearest = [i.checked_sub(1), (i < self.candles.len()).then_some(i)]
            .into_iter()
            .flatten()
            .min_by(|&a, &b| (self.candles[a].t - t).abs().total_cmp(&(self.candles[b].t - t).abs()));
        if let Some(c) = nearest.map(|k| self.candles[k]) {
            parts.push(format!("O {} H {} L {} C {} V {:.3}", c.open, c.high, c.low, c.close, c.volume));
        }
        for line in &self.lines {
            let i = line.points.partition_point(|p| p.0 < t);
            let candidates = [i.checked_sub(1), (i < line.points.len()).then_some(i)];
            let nearest = candidates
                .into_iter()
                .flatten()
                .min_by(|&a, &b| (line.points[a].0 - t).abs().total_cmp(&(line.points[b].0 - t).abs()));
            if let Some(k) = nearest {
                parts.push(format!("{} {:.4}", line.label, line.points[k].1));
            }
        }
        parts.join("  ")
    }
}

/// `hh:mm:ss` (UTC) of an epoch-ms time.
pub fn clock_label(t_ms: f64) -> String {
    let secs = (t_ms / 1000.0).floor() as i64;
    let day = secs.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", day / 3600, (day % 3600) / 60, day % 60)
}

/// Left label area and margins of the plot (CSS px): mouse positions map to time with them.
pub const Y_LABEL_AREA: f64 = 64.0;
pub const MARGIN: f64 = 8.0;

/// The time axis shared by stacked charts: the page's full span (all its bars) and the zoom
/// into it (`None` = the full span).
#[derive(Clone, Copy)]
pub struct TimeRange {
    pub zoom: RwSignal<Option<(f64, f64)>>,
    pub full: Signal<Option<(f64, f64)>>,
}

impl TimeRange {
    pub fn new(full: Signal<Option<(f64, f64)>>) -> Self {
        TimeRange { zoom: RwSignal::new(None), full }
    }

    /// The axis of `t` (bar times in ms): from the first to the last, none for fewer than two.
    pub fn over_times(t: Signal<Option<(i64, i64)>>) -> Self {
        Self::new(Signal::derive(move || t.get().filter(|(a, b)| b > a).map(|(a, b)| (a as f64, b as f64))))
    }

    /// What every chart on the axis shows now.
    pub fn visible(&self) -> Option<(f64, f64)> {
        self.zoom.get().or_else(|| self.full.get())
    }

    pub fn reset(&self) {
        self.zoom.set(None);
    }
}

#[component]
pub fn Chart(
    testid: &'static str,
    title: &'static str,
    data: Signal<ChartData>,
    range: TimeRange,
    #[prop(optional)] help: &'static str,
) -> impl IntoView {
    // Pages pass derived signals: memoise so a redraw (resize, zoom, hover) does not
    // rebuild 100k-point series; a recomputation always counts as a change (comparing
    // would cost as much as drawing).
    let data = Memo::new_with_compare(move |_| data.get(), |_, _| true);
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let entry_px = RwSignal::new(None::<i32>);
    let drawn_range = RwSignal::new(None::<(f64, f64)>);
    let drawn_candles = RwSignal::new(None::<usize>);
    // (draws so far, last draw in ms, points in the data): published for benchmarks.
    let draw_stats = RwSignal::new((0u32, 0.0f64, 0usize));
    let waiting = move || data.with(|d| d.waiting.clone());
    // The labels of the lines that have points, for tests ("is the band drawn?").
    let drawn_lines = move || {
        data.with(|d| {
            d.lines.iter().filter(|l| !l.points.is_empty()).map(|l| l.label.as_str()).collect::<Vec<_>>().join("|")
        })
    };

    #[cfg(feature = "hydrate")]
    {
        let size_epoch = RwSignal::new(0u32);
        let resize = leptos::ev::resize;
        let _ = window_event_listener(resize, move |_| size_epoch.update(|e| *e = e.wrapping_add(1)));
        // The theme switch changes the colours charts read from CSS: redraw.
        let _ = window_event_listener_untyped(super::theme::THEME_CHANGED_EVENT, move |_| {
            size_epoch.update(|e| *e = e.wrapping_add(1))
        });
        Effect::new(move |_| {
            size_epoch.track();
            let visible = range.visible();
            let Some(canvas) = canvas_ref.get() else { return };
            let performance = web_sys::window().and_then(|w| w.performance());
            let started = performance.as_ref().map_or(0.0, |p| p.now());
            let points = data.with(|d| d.lines.iter().map(|l| l.points.len()).sum::<usize>());
            match data.with(|d| draw::draw(&canvas, d, visible)) {
                Ok(drawn) => {
                    let took = performance.as_ref().map_or(0.0, |p| p.now()) - started;
                    draw_stats.update(|(draws, ms, n)| {
                        *draws = draws.wrapping_add(1);
                        *ms = took;
                        *n = points;
                    });
                    entry_px.set(drawn.first_level_px);
                    drawn_range.set(drawn.t_range);
                    drawn_candles.set((drawn.candles > 0).then_some(drawn.candles));
                }
                Err(err) => leptos::logging::warn!("chart {testid}: {err}"),
            }
        });
    }

    // Zoom and pan act on the shared range; positions map to time through the plot area,
    // which starts after the y-label area and ends at the right margin.
    let time_at = move |offset_x: i32| -> Option<(f64, (f64, f64))> {
        // The requested range, not the last drawn one: several wheel events can arrive
        // before the next redraw.
        let (lo, hi) = range.zoom.get_untracked().or_else(|| drawn_range.get_untracked())?;
        let width = f64::from(canvas_ref.get_untracked()?.client_width());
        let plot = (width - Y_LABEL_AREA - MARGIN).max(1.0);
        let f = ((f64::from(offset_x) - Y_LABEL_AREA) / plot).clamp(0.0, 1.0);
        Some((lo + f * (hi - lo), (lo, hi)))
    };
    // Zoom and pan stay inside the shared full span (this chart's own one if the page has none).
    let full_extent = move || range.full.get_untracked().or_else(|| data.with_untracked(ChartData::t_extent));
    let set_clamped = move |lo: f64, hi: f64| {
        let Some((a, b)) = full_extent() else { return };
        let span = (hi - lo).min(b - a).max(1.0);
        let lo = lo.clamp(a, b - span);
        range.zoom.set(if span >= b - a { None } else { Some((lo, lo + span)) });
    };
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        let Some((t, (lo, hi))) = time_at(ev.offset_x()) else { return };
        ev.prevent_default();
        let factor = if ev.delta_y() > 0.0 { 1.25 } else { 0.8 };
        set_clamped(t - (t - lo) * factor, t + (hi - t) * factor);
    };
    let drag_from = RwSignal::new(None::<(i32, (f64, f64))>);
    let hover = RwSignal::new(None::<(i32, String)>);
    let on_mousedown = move |ev: leptos::ev::MouseEvent| {
        if let Some((_, visible)) = time_at(ev.offset_x()) {
            drag_from.set(Some((ev.offset_x(), visible)));
        }
    };
    let on_mousemove = move |ev: leptos::ev::MouseEvent| {
        if let Some((x0, (lo, hi))) = drag_from.get_untracked() {
            let width = canvas_ref.get_untracked().map(|c| f64::from(c.client_width())).unwrap_or(1.0);
            let dt = f64::from(ev.offset_x() - x0) / (width - Y_LABEL_AREA - MARGIN).max(1.0) * (hi - lo);
            set_clamped(lo - dt, hi - dt);
            return;
        }
        let Some((t, _)) = time_at(ev.offset_x()) else { return };
        hover.set(Some((ev.offset_x(), data.with_untracked(|d| d.describe_at(t)))));
    };
    let end_drag = move |_| drag_from.set(None);
    let on_leave = move |_| {
        drag_from.set(None);
        hover.set(None);
    };
    let on_dblclick = move |_| range.reset();
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let Some((lo, hi)) = drawn_range.get_untracked() else { return };
        let (mid, span) = ((lo + hi) / 2.0, hi - lo);
        match ev.key().as_str() {
            "+" | "=" => set_clamped(mid - span * 0.4, mid + span * 0.4),
            "-" => set_clamped(mid - span * 0.625, mid + span * 0.625),
            "ArrowLeft" => set_clamped(lo - span * 0.2, hi - span * 0.2),
            "ArrowRight" => set_clamped(lo + span * 0.2, hi + span * 0.2),
            "0" | "Escape" => range.reset(),
            _ => return,
        }
        ev.prevent_default();
    };
    let tooltip = move || {
        hover
            .get()
            .map(|(x, text)| view! { <div class="chart-tooltip" style=format!("left:{}px", x + 12)>{text}</div> })
    };
    let crosshair =
        move || hover.get().map(|(x, _)| view! { <div class="chart-crosshair" style=format!("left:{x}px")></div> });

    let save_png = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(canvas) = canvas_ref.get() {
            draw::save_png(&canvas, testid);
        }
    };

    view! {
        <figure class="chart" title=help>
            <figcaption>
                <span>{title}</span>
                <span class="chart-waiting">{waiting}</span>
                <button class="chart-save" on:click=save_png title="Save this chart as PNG">"PNG"</button>
            </figcaption>
            <div class="chart-body">
            <canvas
                node_ref=canvas_ref
                on:wheel=on_wheel
                on:mousedown=on_mousedown
                on:mousemove=on_mousemove
                on:mouseup=end_drag
                on:mouseleave=on_leave
                on:dblclick=on_dblclick
                on:keydown=on_keydown
                data-testid=testid
                data-entry-px=move || entry_px.get().map(|px| px.to_string())
                data-x-range=move || drawn_range.get().map(|(a, b)| format!("{a:.0},{b:.0}"))
                data-x-min=move || drawn_range.get().map(|(a, _)| format!("{a:.0}"))
                data-x-max=move || drawn_range.get().map(|(_, b)| format!("{b:.0}"))
                data-draws=move || draw_stats.get().0.to_string()
                data-draw-ms=move || format!("{:.2}", draw_stats.get().1)
                data-points=move || draw_stats.get().2.to_string()
                data-lines=drawn_lines
                data-candles=move || drawn_candles.get().map(|n| n.to_string())
                data-log=move || data.with(|d| d.log_y).then_some("1")
                tabindex="0"
                width="900"
                height="220"
            ></canvas>
            {crosshair}
            {tooltip}
            </div>
        </figure>
    }
}
