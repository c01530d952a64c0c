//! The view: one concept for every place that shows or watches a pair — the Live page, the
//! push feed that serves it, and the alert rules that fire on it.
//!
//! * identity: [`ViewSpec`] — the pair, the bar interval — and its analytic parameters
//!   ([`ViewAnalytics`]: windows, hedge method), as the browser subscribes to it and as an
//!   alert rule stores it;
//! * state: [`ViewBars`] — both legs' recent bars, kept with [`apply_bar`] to at most
//!   [`live_bars`] each, the same on every end;
//! * values: [`analytics_values`] — the one computation (union alignment, then
//!   [`compute_view`]) that page, push feed and alert engine all run on those bars, so an
//!   alert fires on exactly the number the page shows, for every hedge method.

use serde::{Deserialize, Serialize};

use crate::analytics::align::{align_bars, AlignRule};
use crate::analytics::live_view::{compute_view, HedgeMethod, ViewParams, ViewSeries};
use crate::analytics::resample::Bar;

/// Which pair at which bar interval, with which analytics: what a page subscribes to and
/// what an alert rule watches.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ViewSpec {
    pub x: String,
    pub y: String,
    pub interval_ms: i64,
    #[serde(flatten)]
    pub analytics: ViewAnalytics,
}

/// Both legs' recent bars of a view, as every end holds them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ViewBars {
    pub x: Vec<Bar>,
    pub y: Vec<Bar>,
}

impl ViewBars {
    /// Applies a bar of `symbol` if it is one of the view's legs; whether it was.
    pub fn apply(&mut self, spec_x: &str, spec_y: &str, symbol: &str, bar: Bar, interval_ms: i64) -> bool {
        if symbol == spec_x {
            apply_bar(&mut self.x, bar, interval_ms);
            true
        } else if symbol == spec_y {
            apply_bar(&mut self.y, bar, interval_ms);
            true
        } else {
            false
        }
    }

    /// The view's last values on these bars.
    pub fn values(&self, interval_ms: i64, analytics: ViewAnalytics) -> Option<AnalyticsValues> {
        analytics_values(&self.x, &self.y, interval_ms, analytics)
    }
}

/// The analytic parameters of a view: windows and hedge method ([`ViewParams`] without the
/// Kalman tuning, which views keep at its default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ViewAnalytics {
    pub window: usize,
    pub corr_window: usize,
    /// Absent in rules stored before hedge methods existed: rolling OLS.
    #[serde(default)]
    pub hedge: HedgeMethod,
}

impl ViewAnalytics {
    pub fn params(&self) -> ViewParams {
        ViewParams { hedge: self.hedge, window: self.window, corr_window: self.corr_window, ..ViewParams::default() }
    }
}

/// Last values of a view's analytics, on the bars both ends hold.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsValues {
    pub view: ViewAnalytics,
    /// Open time of the last aligned bar (the one still forming, if any).
    pub t_ms: i64,
    pub beta: Option<f64>,
    pub spread: Option<f64>,
    pub z: Option<f64>,
    pub corr: Option<f64>,
}

/// The one computation both ends use: `x_bars`/`y_bars` aligned (union rule) and run
/// through [`compute_view`]; `None` until both legs have a bar.
pub fn analytics_values(
    x_bars: &[Bar],
    y_bars: &[Bar],
    interval_ms: i64,
    view: ViewAnalytics,
) -> Option<AnalyticsValues> {
    let aligned = align_bars(x_bars, y_bars, interval_ms, AlignRule::Union).ok()?;
    let t_ms = *aligned.t.last()?;
    let series = compute_view(&aligned.t, &aligned.x, &aligned.y, &view.params());
    Some(AnalyticsValues {
        view,
        t_ms,
        beta: ViewSeries::last(&series.beta),
        spread: ViewSeries::last(&series.spread),
        z: ViewSeries::last(&series.z),
        corr: ViewSeries::last(&series.corr),
    })
}

/// How many recent bars of each leg a live view holds: what a snapshot carries and what a
/// receiver keeps as bars arrive (≈ 30 min of 1s, a day of 1m, three days of 5m). Both
/// ends hold the same bars, so the analytics "over all loaded bars" agree.
pub fn live_bars(interval_ms: i64) -> usize {
    match interval_ms {
        1_000 => 1_800,
        60_000 => 1_440,
        _ => 864,
    }
}

/// How a receiver applies a pushed bar of a view at `interval_ms`: replaces the bar
/// with the same open time, or appends a newer one (dropping the oldest beyond
/// [`live_bars`]).
pub fn apply_bar(bars: &mut Vec<Bar>, bar: Bar, interval_ms: i64) {
    let keep = live_bars(interval_ms);
    match bars.last_mut() {
        Some(last) if last.t == bar.t => *last = bar,
        Some(last) if last.t > bar.t => {
            if let Ok(i) = bars.binary_search_by_key(&bar.t, |b| b.t) {
                bars[i] = bar;
            }
        }
        _ => {
            if bars.len() >= keep {
                bars.drain(..bars.len() + 1 - keep);
            }
            bars.push(bar);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(t: i64, close: f64) -> Bar {
        Bar { t, open: close, high: close, low: close, close, volume: 1.0, count: 1 }
    }

    #[test]
    fn apply_bar_updates_the_forming_bar_appends_new_ones_and_keeps_a_view_of_bars() {
        let mut bars = vec![bar(0, 1.0)];
        apply_bar(&mut bars, bar(0, 2.0), 1_000);
        apply_bar(&mut bars, bar(1000, 3.0), 1_000);
        apply_bar(&mut bars, bar(500, 9.0), 1_000); // unknown older bar: ignored
        assert_eq!(bars, vec![bar(0, 2.0), bar(1000, 3.0)]);
        for i in 2..5_000 {
            apply_bar(&mut bars, bar(i * 1_000, 1.0), 1_000);
        }
        assert_eq!(bars.len(), live_bars(1_000));
        assert_eq!(bars.last().map(|b| b.t), Some(4_999_000));
    }

    #[test]
    fn analytics_values_are_the_last_values_of_compute_view() {
        let xb: Vec<Bar> = (0..80).map(|i| bar(i * 1_000, 100.0 + (i as f64 * 0.7).sin())).collect();
        let yb: Vec<Bar> = xb.iter().map(|b| bar(b.t, 2.0 * b.close + (b.t as f64 * 0.003).cos())).collect();
        let view = ViewAnalytics { window: 20, corr_window: 10, hedge: HedgeMethod::RollingOls };
        let values = analytics_values(&xb, &yb, 1_000, view).expect("values");
        let t: Vec<i64> = xb.iter().map(|b| b.t).collect();
        let x: Vec<f64> = xb.iter().map(|b| b.close).collect();
        let y: Vec<f64> = yb.iter().map(|b| b.close).collect();
        let series = compute_view(&t, &x, &y, &view.params());
        assert_eq!(values.t_ms, 79_000);
        assert_eq!(values.z, ViewSeries::last(&series.z));
        assert!(values.z.is_some() && values.beta.is_some() && values.corr.is_some());
        assert_eq!(analytics_values(&xb, &[], 1_000, view), None, "one leg only: nothing yet");
    }
}
