//! The plotters drawing code behind [`super::Chart`] (browser only).

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use super::downsample::{min_max_columns, ohlc_columns};
use super::{clock_label, ChartData, Rgb, MARGIN, Y_LABEL_AREA};

/// Rising and falling candles.
const CANDLE_UP: RGBColor = RGBColor(38, 166, 154);
const CANDLE_DOWN: RGBColor = RGBColor(239, 83, 80);
/// Share of the chart's height the candles take; the volume pane has the rest.
const PRICE_PANE: f64 = 0.75;

/// The theme's chart colours, from the CSS variables `--chart-bg`, `--chart-grid` and
/// `--chart-text` (see `style/main.css`), so charts follow the light/dark switch.
struct Palette {
    background: RGBColor,
    grid: RGBColor,
    text: RGBColor,
}

impl Palette {
    const DARK: Palette =
        Palette { background: RGBColor(17, 21, 28), grid: RGBColor(40, 46, 58), text: RGBColor(150, 160, 175) };

    fn of(canvas: &HtmlCanvasElement) -> Palette {
        let style = web_sys::window().and_then(|w| w.get_computed_style(canvas).ok().flatten());
        let color = |name: &str, fallback: RGBColor| {
            style.as_ref().and_then(|s| s.get_property_value(name).ok()).and_then(|v| parse_hex(&v)).unwrap_or(fallback)
        };
        let dark = Palette::DARK;
        Palette {
            background: color("--chart-bg", dark.background),
            grid: color("--chart-grid", dark.grid),
            text: color("--chart-text", dark.text),
        }
    }
}

/// `#rrggbb` → colour.
fn parse_hex(value: &str) -> Option<RGBColor> {
    let hex = value.trim().strip_prefix('#')?;
    if hex.len() != 6 {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some(RGBColor(channel(0)?, channel(2)?, channel(4)?))
}

/// What a draw produced, published on the canvas for tests.
pub struct Drawn {
    pub first_level_px: Option<i32>,
    pub t_range: Option<(f64, f64)>,
    /// Candles drawn after merging per pixel column.
    pub candles: usize,
}

fn rgb((r, g, b): Rgb) -> RGBColor {
    RGBColor(r, g, b)
}

/// Draws one chart over `visible` (or the data's full extent).
pub fn draw(canvas: &HtmlCanvasElement, data: &ChartData, visible: Option<(f64, f64)>) -> Result<Drawn, String> {
    let ratio = fit_to_css_size(canvas);
    let backend = CanvasBackend::with_canvas_object(canvas.clone()).ok_or("canvas has no 2d context")?;
    let root = backend.into_drawing_area();
    let palette = Palette::of(canvas);
    root.fill(&palette.background).map_err(|e| e.to_string())?;
    let font = (12.0 * ratio) as u32;

    let visible = visible.filter(|(a, b)| b > a);
    let Some(extent) = data.t_extent() else {
        if let Some(text) = &data.waiting {
            let style = ("sans-serif", font + 2).into_font().color(&palette.text);
            root.draw_text(text, &style, (20, 20)).map_err(|e| e.to_string())?;
        }
        // Still draw the levels, on the shared axis when there is one, so thresholds are
        // visible from the start and the empty chart lines up with the others.
        if data.levels.is_empty() {
            root.present().map_err(|e| e.to_string())?;
            return Ok(Drawn { first_level_px: None, t_range: None, candles: 0 });
        }
        let mut drawn = draw_axes_and_levels(&root, data, visible.unwrap_or((0.0, 1.0)), ratio, &palette)?;
        drawn.t_range = visible;
        return Ok(drawn);
    };
    let (t_lo, t_hi) = visible.unwrap_or(extent);
    if !data.candles.is_empty() {
        return draw_candles(&root, data, (t_lo, t_hi), ratio, &palette);
    }
    draw_axes_and_levels(&root, data, (t_lo, t_hi), ratio, &palette)
}

fn draw_axes_and_levels(
    root: &DrawingArea<CanvasBackend, plotters::coord::Shift>,
    data: &ChartData,
    (t_lo, t_hi): (f64, f64),
    ratio: f64,
    palette: &Palette,
) -> Result<Drawn, String> {
    let columns = (f64::from(root.dim_in_pixel().0) / ratio).max(100.0) as usize;
    let scale = ValueScale { log: data.log_y };
    let visible_lines: Vec<(RGBColor, Vec<(f64, f64)>)> = data
        .lines
        .iter()
        .map(|line| {
            let inside: Vec<(f64, f64)> = line
                .points
                .iter()
                .filter(|(t, _)| *t >= t_lo && *t <= t_hi)
                .filter_map(|&(t, v)| scale.to_axis(v).map(|v| (t, v)))
                .collect();
            (rgb(line.color), min_max_columns(&inside, t_lo, t_hi, columns))
        })
        .collect();

    let (mut y_lo, mut y_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (_, line) in &visible_lines {
        for &(_, v) in line {
            y_lo = y_lo.min(v);
            y_hi = y_hi.max(v);
        }
    }
    if let Some(reach) = data.y_min_reach {
        let reach = y_lo.abs().max(y_hi.abs()).max(reach);
        let reach = if reach.is_finite() { reach } else { data.y_min_reach.unwrap_or(1.0) };
        (y_lo, y_hi) = (-reach, reach);
    } else {
        for level in &data.levels {
            y_lo = y_lo.min(level.value);
            y_hi = y_hi.max(level.value);
        }
    }
    if let Some(range) = data.y_range {
        (y_lo, y_hi) = range;
    }
    if !y_lo.is_finite() || !y_hi.is_finite() {
        (y_lo, y_hi) = (-1.0, 1.0);
    }
    let pad = if data.y_range.is_some() || data.y_min_reach.is_some() { 0.0 } else { ((y_hi - y_lo) * 0.08).max(1e-9) };
    let font = (11.0 * ratio) as u32;
    let mut chart = ChartBuilder::on(root)
        .margin((MARGIN * ratio) as u32)
        .x_label_area_size((22.0 * ratio) as u32)
        .y_label_area_size(((Y_LABEL_AREA - MARGIN) * ratio) as u32)
        .build_cartesian_2d(t_lo..t_hi, (y_lo - pad)..(y_hi + pad))
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .bold_line_style(palette.grid)
        .light_line_style(palette.background)
        .axis_style(palette.grid)
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|t| clock_label(*t))
        .y_label_formatter(&|v| format_axis(scale.value_at(*v)))
        .label_style(("monospace", font).into_font().color(&palette.text))
        .draw()
        .map_err(|e| e.to_string())?;
    let stroke = (1.5 * ratio).round().max(1.0) as u32;
    for (color, line) in visible_lines {
        chart.draw_series(LineSeries::new(line, color.stroke_width(stroke))).map_err(|e| e.to_string())?;
    }
    for level in &data.levels {
        chart
            .draw_series(LineSeries::new(
                vec![(t_lo, level.value), (t_hi, level.value)],
                rgb(level.color).stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    let first_level_px = data.levels.first().map(|level| chart.backend_coord(&(t_lo, level.value)).1);
    Ok(Drawn { first_level_px, t_range: Some((t_lo, t_hi)), candles: 0 })
}

/// Linear or logarithmic value axis: values are drawn at `to_axis(v)` and labelled back.
#[derive(Clone, Copy)]
struct ValueScale {
    log: bool,
}

impl ValueScale {
    /// The axis position of `v`; none for non-finite values, and for v ≤ 0 on a log axis.
    fn to_axis(self, v: f64) -> Option<f64> {
        let a = if self.log { (v > 0.0).then(|| v.ln())? } else { v };
        a.is_finite().then_some(a)
    }

    fn value_at(self, a: f64) -> f64 {
        if self.log {
            a.exp()
        } else {
            a
        }
    }
}

/// Candlesticks over a volume pane, merged to one candle per pixel column when there are
/// more candles than columns (so 100k candles draw like 800).
fn draw_candles(
    root: &DrawingArea<CanvasBackend, plotters::coord::Shift>,
    data: &ChartData,
    (t_lo, t_hi): (f64, f64),
    ratio: f64,
    palette: &Palette,
) -> Result<Drawn, String> {
    let (width_px, height_px) = root.dim_in_pixel();
    let plot_px = (f64::from(width_px) - (Y_LABEL_AREA + MARGIN) * ratio).max(10.0);
    // At least 3 device pixels a candle: a body, and room between neighbours.
    let candles = ohlc_columns(&data.candles, t_lo, t_hi, (plot_px / 3.0) as usize);
    let scale = ValueScale { log: data.log_y };
    let (mut y_lo, mut y_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for c in &candles {
        if let (Some(lo), Some(hi)) = (scale.to_axis(c.low), scale.to_axis(c.high)) {
            y_lo = y_lo.min(lo);
            y_hi = y_hi.max(hi);
        }
    }
    if !(y_lo.is_finite() && y_hi.is_finite()) {
        (y_lo, y_hi) = (0.0, 1.0);
    }
    let pad = ((y_hi - y_lo) * 0.06).max(1e-9);
    let (upper, lower) = root.split_vertically((f64::from(height_px) * PRICE_PANE) as u32);
    let font = (11.0 * ratio) as u32;
    let label_style = ("monospace", font).into_font().color(&palette.text);
    let mut prices = ChartBuilder::on(&upper)
        .margin((MARGIN * ratio) as u32)
        .x_label_area_size(0)
        .y_label_area_size(((Y_LABEL_AREA - MARGIN) * ratio) as u32)
        .build_cartesian_2d(t_lo..t_hi, (y_lo - pad)..(y_hi + pad))
        .map_err(|e| e.to_string())?;
    prices
        .configure_mesh()
        .bold_line_style(palette.grid)
        .light_line_style(palette.background)
        .axis_style(palette.grid)
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|v| format_axis(scale.value_at(*v)))
        .label_style(label_style.clone())
        .draw()
        .map_err(|e| e.to_string())?;
    let per_candle_px = plot_px / candles.len().max(1) as f64;
    let body_px = (per_candle_px * 0.7).clamp(1.0, 14.0 * ratio) as u32;
    let drawable = candles.iter().filter_map(|c| {
        let (o, h, l, cl) =
            (scale.to_axis(c.open)?, scale.to_axis(c.high)?, scale.to_axis(c.low)?, scale.to_axis(c.close)?);
        Some(CandleStick::new(c.t, o, h, l, cl, CANDLE_UP.filled(), CANDLE_DOWN.filled(), body_px))
    });
    prices.draw_series(drawable).map_err(|e| e.to_string())?;

    let v_max = candles.iter().map(|c| c.volume).filter(|v| v.is_finite()).fold(0.0_f64, f64::max).max(1e-12);
    let mut volume = ChartBuilder::on(&lower)
        .margin((MARGIN * ratio) as u32)
        .x_label_area_size((22.0 * ratio) as u32)
        .y_label_area_size(((Y_LABEL_AREA - MARGIN) * ratio) as u32)
        .build_cartesian_2d(t_lo..t_hi, 0.0..v_max * 1.1)
        .map_err(|e| e.to_string())?;
    volume
        .configure_mesh()
        .bold_line_style(palette.grid)
        .light_line_style(palette.background)
        .axis_style(palette.grid)
        .x_labels(6)
        .y_labels(2)
        .x_label_formatter(&|t| clock_label(*t))
        .y_label_formatter(&|v| format_axis(*v))
        .label_style(label_style)
        .draw()
        .map_err(|e| e.to_string())?;
    let half_t = (t_hi - t_lo) / plot_px * f64::from(body_px) / 2.0;
    let bars = candles.iter().filter(|c| c.volume.is_finite()).map(|c| {
        let color = if c.close >= c.open { CANDLE_UP } else { CANDLE_DOWN };
        Rectangle::new([(c.t - half_t, 0.0), (c.t + half_t, c.volume)], color.mix(0.6).filled())
    });
    volume.draw_series(bars).map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(Drawn { first_level_px: None, t_range: Some((t_lo, t_hi)), candles: candles.len() })
}

fn format_axis(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Matches the canvas' pixel buffer to its CSS size times the device pixel ratio, so lines
/// stay sharp on high-DPI screens. Returns the ratio.
fn fit_to_css_size(canvas: &HtmlCanvasElement) -> f64 {
    let ratio = web_sys::window().map(|w| w.device_pixel_ratio()).unwrap_or(1.0).max(1.0);
    let css_width = f64::from(canvas.client_width());
    let css_height = f64::from(canvas.client_height());
    if css_width > 0.0 && css_height > 0.0 {
        let (w, h) = ((css_width * ratio) as u32, (css_height * ratio) as u32);
        if canvas.width() != w || canvas.height() != h {
            canvas.set_width(w);
            canvas.set_height(h);
        }
    }
    ratio
}

/// Downloads the canvas as `<name>.png`.
pub fn save_png(canvas: &HtmlCanvasElement, name: &str) {
    let Ok(url) = canvas.to_data_url_with_type("image/png") else { return };
    crate::ui::download::download_url(&url, &format!("pairdesk-{name}.png"));
}
