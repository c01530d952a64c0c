//! The plotters drawing code behind [`super::Chart`] (browser only).

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use super::ChartKind;
use crate::ui::state::PairPoint;

const BACKGROUND: RGBColor = RGBColor(17, 21, 28);
const GRID: RGBColor = RGBColor(40, 46, 58);
const AXIS_TEXT: RGBColor = RGBColor(150, 160, 175);
const LEG_X: RGBColor = RGBColor(247, 147, 26);
const LEG_Y: RGBColor = RGBColor(98, 126, 234);
const ENTRY: RGBColor = RGBColor(230, 80, 80);
const EXIT: RGBColor = RGBColor(120, 200, 120);

/// Bars of the rolling window the z chart uses until the window slider exists.
const Z_WINDOW: usize = 60;
/// The z chart always shows at least ±this, the range of the entry slider.
const Z_AXIS_MIN_REACH: f64 = 4.2;

/// A polyline in one colour.
type Line = (RGBColor, Vec<(f64, f64)>);
/// A horizontal line at a value.
type Level = (RGBColor, f64);

/// Draws one chart; returns the pixel row of the +entry line when the chart has one.
pub fn draw(
    canvas: &HtmlCanvasElement,
    kind: ChartKind,
    points: &[PairPoint],
    z_entry: f64,
    z_exit: f64,
) -> Result<Option<i32>, String> {
    fit_to_css_size(canvas);
    let backend = CanvasBackend::with_canvas_object(canvas.clone()).ok_or("canvas has no 2d context")?;
    let root = backend.into_drawing_area();
    root.fill(&BACKGROUND).map_err(|e| e.to_string())?;

    let t0 = points.first().map(|p| p.t_ms).unwrap_or(0);
    let seconds = |p: &PairPoint| (p.t_ms - t0) as f64 / 1000.0;
    let (lines, hlines): (Vec<Line>, Vec<Level>) = match kind {
        ChartKind::Prices => {
            let (Some(first), true) = (points.first(), points.len() > 1) else {
                return Ok(None);
            };
            let rebased = |v: f64, v0: f64| (v / v0 - 1.0) * 100.0;
            (
                vec![
                    (LEG_X, points.iter().map(|p| (seconds(p), rebased(p.x, first.x))).collect()),
                    (LEG_Y, points.iter().map(|p| (seconds(p), rebased(p.y, first.y))).collect()),
                ],
                vec![],
            )
        }
        ChartKind::ZScore => {
            let z = log_ratio_zscore(points, Z_WINDOW);
            let series = points.iter().zip(z).filter_map(|(p, z)| z.map(|z| (seconds(p), z))).collect();
            (vec![(LEG_Y, series)], vec![(ENTRY, z_entry), (ENTRY, -z_entry), (EXIT, z_exit), (EXIT, -z_exit)])
        }
    };

    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (0.0f64, 1.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for (_, line) in &lines {
        for &(x, y) in line {
            x_lo = x_lo.min(x);
            x_hi = x_hi.max(x);
            y_lo = y_lo.min(y);
            y_hi = y_hi.max(y);
        }
    }
    if kind == ChartKind::ZScore {
        // A fixed, symmetric scale (at least the slider range) so threshold lines move
        // when the sliders do instead of pinning the axis.
        let reach = y_lo.abs().max(y_hi.abs()).max(Z_AXIS_MIN_REACH);
        let reach = if reach.is_finite() { reach } else { Z_AXIS_MIN_REACH };
        (y_lo, y_hi) = (-reach, reach);
    }
    if !y_lo.is_finite() || !y_hi.is_finite() {
        (y_lo, y_hi) = (-1.0, 1.0);
    }
    let pad = ((y_hi - y_lo) * 0.08).max(1e-9);
    let mut chart = ChartBuilder::on(&root)
        .margin(8)
        .x_label_area_size(22)
        .y_label_area_size(56)
        .build_cartesian_2d(x_lo..x_hi, (y_lo - pad)..(y_hi + pad))
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(BACKGROUND)
        .axis_style(GRID)
        .label_style(("monospace", 11).into_font().color(&AXIS_TEXT))
        .x_desc("seconds")
        .draw()
        .map_err(|e| e.to_string())?;
    for (color, line) in lines {
        chart.draw_series(LineSeries::new(line, color.stroke_width(2))).map_err(|e| e.to_string())?;
    }
    for &(color, level) in &hlines {
        chart
            .draw_series(LineSeries::new(vec![(x_lo, level), (x_hi, level)], color.stroke_width(1)))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(match kind {
        ChartKind::ZScore => Some(chart.backend_coord(&(x_lo, z_entry)).1),
        ChartKind::Prices => None,
    })
}

/// Matches the canvas' pixel buffer to its CSS size times the device pixel ratio, so lines
/// stay sharp on high-DPI screens.
fn fit_to_css_size(canvas: &HtmlCanvasElement) {
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
}

/// Rolling z-score of ln(y/x), the hedge-free spread the skeleton shows.
fn log_ratio_zscore(points: &[PairPoint], window: usize) -> Vec<Option<f64>> {
    let spread: Vec<f64> = points.iter().map(|p| (p.y / p.x).ln()).collect();
    (0..spread.len())
        .map(|i| {
            if i + 1 < window {
                return None;
            }
            let w = &spread[i + 1 - window..=i];
            let mean = w.iter().sum::<f64>() / window as f64;
            let var = w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (window as f64 - 1.0);
            (var > 0.0).then(|| (spread[i] - mean) / var.sqrt())
        })
        .collect()
}
