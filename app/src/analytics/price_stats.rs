//! Per-symbol statistics over a window of bars (last price, change, mean / std / range,
//! realised volatility, volume, VWAP, trade count).

use super::descriptive::{mean, std};
use super::error::{AnalyticsError, Result};
use super::resample::Bar;
use serde::Serialize;

/// Window statistics of one symbol (see [`price_stats`] for the exact definitions).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PriceStats {
    /// Number of bars.
    pub bars: usize,
    /// Open time of the first bar (ms).
    pub first_t: i64,
    /// Open time of the last bar (ms).
    pub last_t: i64,
    /// Close of the last bar.
    pub last: f64,
    /// `last - open of the first bar`.
    pub change: f64,
    /// `change / open of the first bar` (fraction, not percent points x100).
    pub change_pct: f64,
    /// Mean of the closes.
    pub mean: f64,
    /// Sample standard deviation (ddof 1) of the closes (null for one bar).
    pub std: Option<f64>,
    /// Lowest low.
    pub min: f64,
    /// Highest high.
    pub max: f64,
    /// Realised volatility per bar: sample std (ddof 1) of the **log** returns of consecutive
    /// closes, not annualised (null with fewer than 3 bars).
    pub realized_vol: Option<f64>,
    /// Sum of bar volumes.
    pub volume: f64,
    /// Volume-weighted average of the bars' typical prices `(high + low + close) / 3` (null when
    /// the volume is 0).
    pub vwap: Option<f64>,
    /// Sum of bar trade counts.
    pub trade_count: u64,
}

/// Statistics of `bars` (in time order). Errors on an empty window or non-positive prices.
pub fn price_stats(bars: &[Bar]) -> Result<PriceStats> {
    let (Some(first), Some(last)) = (bars.first(), bars.last()) else {
        return Err(AnalyticsError::TooShort { what: "price_stats", have: 0, need: 1 });
    };
    if bars.iter().any(|b| !(b.open > 0.0 && b.high > 0.0 && b.low > 0.0 && b.close > 0.0)) {
        return Err(AnalyticsError::InvalidInput("price_stats: prices must be finite and > 0".into()));
    }
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let logret: Vec<f64> = closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let volume: f64 = bars.iter().map(|b| b.volume).sum();
    let pv: f64 = bars.iter().map(|b| (b.high + b.low + b.close) / 3.0 * b.volume).sum();
    let opt = |v: f64| if v.is_finite() { Some(v) } else { None };
    Ok(PriceStats {
        bars: bars.len(),
        first_t: first.t,
        last_t: last.t,
        last: last.close,
        change: last.close - first.open,
        change_pct: (last.close - first.open) / first.open,
        mean: mean(&closes),
        std: opt(std(&closes, 1)),
        min: bars.iter().map(|b| b.low).fold(f64::INFINITY, f64::min),
        max: bars.iter().map(|b| b.high).fold(f64::NEG_INFINITY, f64::max),
        realized_vol: opt(std(&logret, 1)),
        volume,
        vwap: if volume > 0.0 { opt(pv / volume) } else { None },
        trade_count: bars.iter().map(|b| b.count).sum(),
    })
}
