//! Summary figures of a backtest run, from its trades and its per-bar equity.

use super::{BacktestParams, Trade};
use crate::analytics::descriptive::{mean, median, std};
use serde::{Deserialize, Serialize};

/// What a quant reads first. Money figures are in quote currency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Round trips.
    pub n_trades: usize,
    /// Trades with pnl > 0.
    pub wins: usize,
    /// `wins / n_trades` (null without trades).
    pub win_rate: Option<f64>,
    /// Σ trades Σ legs qty × (exit fill − entry fill).
    pub gross_pnl: f64,
    /// Σ fees (a positive cost).
    pub fees: f64,
    /// Σ funding cash flows (positive = received).
    pub funding: f64,
    /// `gross_pnl − fees + funding`.
    pub total_pnl: f64,
    /// Largest fall of the equity from its running peak (the peak starts at 0).
    pub max_drawdown: f64,
    /// mean / std (ddof 1) of the per-bar equity changes × √(bars per year); null if constant.
    pub sharpe: Option<f64>,
    /// `total_pnl / notional`.
    pub return_on_notional: f64,
    /// Share of the bars spent in a position (entry fill ≤ bar < exit fill).
    pub exposure: Option<f64>,
    /// Mean bars from entry fill to exit fill.
    pub mean_holding_bars: Option<f64>,
    /// Median bars from entry fill to exit fill.
    pub median_holding_bars: Option<f64>,
    /// Σ winning pnl / |Σ losing pnl| (null without a losing trade).
    pub profit_factor: Option<f64>,
    /// Quote-currency value of every fill, both legs, entry and exit.
    pub turnover: f64,
    /// Bars the metrics cover.
    pub bars: usize,
    /// `365 · 86,400 / bar seconds` (crypto trades every day).
    pub bars_per_year: f64,
}

/// What the metrics read of a round trip: a pair's [`Trade`] or a basket's
/// ([`super::basket::BasketTrade`]), so both are summed by the one [`Metrics::of`].
pub trait RoundTrip {
    /// `gross_pnl − fees + funding`.
    fn pnl(&self) -> f64;
    /// Σ legs qty × (exit fill − entry fill).
    fn gross_pnl(&self) -> f64;
    /// Fees of every leg at entry and exit (a positive cost).
    fn fees(&self) -> f64;
    /// Funding cash flows while open (positive = received).
    fn funding(&self) -> f64;
    /// Bars between the entry fill and the exit fill.
    fn holding_bars(&self) -> usize;
    /// Quote-currency value of every fill, every leg.
    fn traded_notional(&self) -> f64;
}

impl RoundTrip for Trade {
    fn pnl(&self) -> f64 {
        self.pnl
    }
    fn gross_pnl(&self) -> f64 {
        self.gross_pnl
    }
    fn fees(&self) -> f64 {
        self.fees
    }
    fn funding(&self) -> f64 {
        self.funding
    }
    fn holding_bars(&self) -> usize {
        Trade::holding_bars(self)
    }
    fn traded_notional(&self) -> f64 {
        Trade::traded_notional(self)
    }
}

impl Metrics {
    /// Metrics of `trades` over the bars whose equity is `equity`; `base` is the equity before
    /// the first of them (0 for a fresh run).
    pub fn of<T: RoundTrip>(trades: &[T], equity: &[f64], base: f64, p: &BacktestParams, bar_ms: i64) -> Metrics {
        let n_trades = trades.len();
        let wins = trades.iter().filter(|t| t.pnl() > 0.0).count();
        let sum = |f: fn(&T) -> f64| trades.iter().map(f).sum::<f64>() + 0.0; // never −0.0
        let gross_pnl = sum(T::gross_pnl);
        let fees = sum(T::fees);
        let funding = sum(T::funding);
        let total_pnl = sum(T::pnl);
        let won: f64 = trades.iter().map(T::pnl).filter(|pnl| *pnl > 0.0).sum();
        let lost: f64 = trades.iter().map(T::pnl).filter(|pnl| *pnl < 0.0).sum();
        let holding: Vec<f64> = trades.iter().map(|t| t.holding_bars() as f64).collect();
        let bars_per_year = 365.0 * 86_400.0 / (bar_ms as f64 / 1000.0);
        let mut prev = base;
        let changes: Vec<f64> = equity
            .iter()
            .map(|e| {
                let d = e - prev;
                prev = *e;
                d
            })
            .collect();
        let sd = std(&changes, 1);
        let sharpe = (sd.is_finite() && sd > 0.0).then(|| mean(&changes) / sd * bars_per_year.sqrt());
        let bars = equity.len();
        let ratio = |a: f64, b: f64| (b > 0.0).then(|| a / b);
        Metrics {
            n_trades,
            wins,
            win_rate: ratio(wins as f64, n_trades as f64),
            gross_pnl,
            fees,
            funding,
            total_pnl,
            max_drawdown: max_drawdown_from(equity, base),
            sharpe,
            return_on_notional: total_pnl / p.notional,
            exposure: ratio(holding.iter().sum(), bars as f64),
            mean_holding_bars: (n_trades > 0).then(|| mean(&holding)),
            median_holding_bars: median(&holding),
            profit_factor: ratio(won, -lost),
            turnover: sum(T::traded_notional),
            bars,
            bars_per_year,
        }
    }
}

/// `max_i (max(0, max_(j<=i) v_j) - v_i)`: absolute drawdown with the running peak starting at 0.
pub fn max_drawdown(v: &[f64]) -> f64 {
    max_drawdown_from(v, 0.0)
}

/// [`max_drawdown`] with the running peak starting at `base`.
fn max_drawdown_from(v: &[f64], base: f64) -> f64 {
    let mut peak = base;
    let mut dd: f64 = 0.0;
    for &e in v {
        peak = peak.max(e);
        dd = dd.max(peak - e);
    }
    dd
}
