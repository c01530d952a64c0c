//! Walk-forward folds: fold k fits a static OLS hedge and the spread's mean / std (ddof 1) on
//! its TRAIN bars `[k·TEST, k·TEST + TRAIN)`, then trades the next TEST bars with
//! `z = (spread − mean) / std`; a position still open at the end of a fold closes at its last bar.
//! The TEST blocks tile `[TRAIN, n)` (the last may be shorter, at least 2 bars), so their
//! concatenation is one out-of-sample equity curve.

use super::metrics::Metrics;
use super::simulate::simulate;
use super::{BacktestParams, BacktestResult, Fill, Market, WalkForward};
use crate::analytics::descriptive::{mean, std};
use crate::analytics::error::{check_min_len, AnalyticsError, Result};
use crate::analytics::ols::fit_line;
use serde::Serialize;

/// Most TRAIN bars all folds together may fit (bounded work).
pub const MAX_FIT_BARS: usize = 200_000_000;

/// One fold's fit and its out-of-sample result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fold {
    /// First TRAIN bar.
    pub train_start: usize,
    /// One past the last TRAIN bar (= first TEST bar).
    pub train_end: usize,
    /// One past the last TEST bar.
    pub test_end: usize,
    /// Static hedge intercept fitted on TRAIN.
    pub alpha: f64,
    /// Static hedge ratio fitted on TRAIN.
    pub beta: f64,
    /// Mean of the TRAIN spreads.
    pub spread_mean: f64,
    /// Standard deviation (ddof 1) of the TRAIN spreads.
    pub spread_std: f64,
    /// Figures of this fold's TEST bars alone (equity starting at 0).
    pub metrics: Metrics,
}

/// The folds of `wf` on `m` (inputs validated by the caller).
pub(crate) fn run(m: &Market<'_>, p: &BacktestParams, wf: WalkForward) -> Result<BacktestResult> {
    let n = m.len();
    if wf.train < 3 || wf.test < 2 {
        return Err(AnalyticsError::InvalidParameter(format!(
            "backtest: walk-forward needs TRAIN >= 3 and TEST >= 2 bars (got {},{})",
            wf.train, wf.test
        )));
    }
    check_min_len("backtest walk-forward (TRAIN + 2)", n, wf.train.saturating_add(2))?;
    // Each fold refits on TRAIN bars: bound the work a flag can ask for (TEST = 2 on a long
    // series would mean n/2 refits of TRAIN bars each).
    let folds = (n - wf.train).div_ceil(wf.test);
    if folds.saturating_mul(wf.train) > MAX_FIT_BARS {
        return Err(AnalyticsError::InvalidParameter(format!(
            "backtest: walk-forward {},{} means {folds} folds of {} bars to fit (more than {MAX_FIT_BARS}); use a longer TEST",
            wf.train, wf.test, wf.train
        )));
    }
    let bar_ms = m.validated_bar_ms(p.bar_seconds);
    let (x, y) = (m.x.close, m.y.close);
    let mut beta = vec![None; n];
    let mut z = vec![None; n];
    let mut equity = vec![0.0; wf.train];
    let mut trades = Vec::new();
    let mut folds = Vec::new();
    let mut lo = wf.train;
    while lo + 2 <= n {
        let a = lo - wf.train;
        let hi = lo.saturating_add(wf.test).min(n);
        let (alpha, b) = fit_line(&x[a..lo], &y[a..lo])
            .ok_or(AnalyticsError::Singular("backtest walk-forward hedge (x constant over TRAIN)"))?;
        let spread = |i: usize| y[i] - b * x[i] - alpha;
        let train_spread: Vec<f64> = (a..lo).map(spread).collect();
        let (mu, sd) = (mean(&train_spread), std(&train_spread, 1));
        for i in lo..hi {
            beta[i] = Some(b);
            let zi = (spread(i) - mu) / sd;
            z[i] = zi.is_finite().then_some(zi);
        }
        let run = simulate(m, &beta, &z, lo, hi, p, bar_ms);
        let metrics = Metrics::of(&run.trades, &run.equity, 0.0, p, bar_ms);
        let offset = equity.last().copied().unwrap_or(0.0);
        equity.extend(run.equity.iter().map(|e| e + offset));
        trades.extend(run.trades);
        folds.push(Fold {
            train_start: a,
            train_end: lo,
            test_end: hi,
            alpha,
            beta: b,
            spread_mean: mu,
            spread_std: sd,
            metrics,
        });
        lo = hi;
    }
    // A last stub of one bar cannot trade; it stays flat.
    while equity.len() < n {
        equity.push(equity.last().copied().unwrap_or(0.0));
    }
    let metrics = Metrics::of(&trades, &equity[wf.train..], 0.0, p, bar_ms);
    Ok(BacktestResult {
        params: *p,
        lookahead: p.fill == Fill::Same,
        first_bar: wf.train,
        metrics,
        trades,
        equity,
        folds: Some(folds),
    })
}
