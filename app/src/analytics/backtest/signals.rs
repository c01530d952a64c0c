//! The hedge and z-score as a trader knew them at the close of each bar: nothing at bar t
//! depends on a later bar. Composes the golden-checked stages instead of re-implementing them:
//! rolling OLS and its spread z through [`RollingPairEngine`] (O(1) per bar, so a sweep over
//! windows stays linear), Kalman through [`kalman_filter`], the static fit through [`fit_line`],
//! and the trailing z of those spreads through the engine's own rolling z
//! ([`rolling_z_linear`], O(n) whatever the window). Rolling TLS refits [`tls`] on each trailing
//! hedge window (O(n·W_h)) and takes the z of its spreads with [`rolling_zscore_opt`].

use super::{BacktestParams, Hedge};
use crate::analytics::error::{check_min_len, AnalyticsError, Result};
use crate::analytics::incremental::{rolling_z_linear, RollingPairEngine};
use crate::analytics::kalman::kalman_filter;
use crate::analytics::ols::fit_line;
use crate::analytics::rolling::rolling_zscore_opt;
use crate::analytics::tls::tls;

/// Per-bar causal hedge, spread and z (`None` while undefined).
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    /// β_t.
    pub beta: Vec<Option<f64>>,
    /// α_t.
    pub alpha: Vec<Option<f64>>,
    /// `y_t − β_t x_t − α_t`, each bar with its own hedge.
    pub spread: Vec<Option<f64>>,
    /// `(spread_t − mean) / std` (ddof 1) over the last W spreads.
    pub z: Vec<Option<f64>>,
    /// First bar a signal may be taken at (the static hedge's `train`, else 0).
    pub start: usize,
}

/// Hedge, spread and z of every bar under `p.hedge`, `p.hedge_window`, `p.train`, `p.z_window`.
pub fn causal_signals(x: &[f64], y: &[f64], p: &BacktestParams) -> Result<Signals> {
    let n = x.len();
    let w = p.z_window;
    match p.hedge {
        Hedge::RollingOls => {
            let wh = p.hedge_window();
            // The first z needs a full hedge window, then W spreads.
            check_min_len("backtest (rolling hedge window + z window - 1)", n, wh.saturating_add(w) - 1)?;
            let mut engine = RollingPairEngine::new(wh, w, 2)?;
            let mut out = Signals {
                beta: Vec::with_capacity(n),
                alpha: Vec::with_capacity(n),
                spread: Vec::with_capacity(n),
                z: Vec::with_capacity(n),
                start: 0,
            };
            // Bar times only have to increase for the engine; the market was validated already.
            for (i, (a, b)) in x.iter().zip(y).enumerate() {
                let s = engine.push(i as i64, *a, *b)?;
                out.beta.push(s.beta);
                out.alpha.push(s.alpha);
                out.spread.push(s.spread);
                out.z.push(s.z);
            }
            Ok(out)
        }
        Hedge::Kalman => {
            check_min_len("backtest (z window)", n, w)?;
            let k = kalman_filter(x, y, &p.kalman)?;
            let z = rolling_z_linear(&k.spread, w);
            Ok(Signals {
                beta: k.beta.into_iter().map(Some).collect(),
                alpha: k.alpha.into_iter().map(Some).collect(),
                spread: k.spread.into_iter().map(Some).collect(),
                z,
                start: 0,
            })
        }
        Hedge::RollingTls => {
            let wh = p.hedge_window();
            check_min_len("backtest (rolling hedge window + z window - 1)", n, wh.saturating_add(w) - 1)?;
            let (mut beta, mut alpha, mut spread) = (vec![None; n], vec![None; n], vec![None; n]);
            for t in wh.saturating_sub(1)..n {
                // A window without a principal direction (a constant leg) has no hedge that bar.
                if let Ok(f) = tls(&x[t + 1 - wh..=t], &y[t + 1 - wh..=t]) {
                    (beta[t], alpha[t], spread[t]) =
                        (Some(f.beta), Some(f.alpha), Some(y[t] - f.beta * x[t] - f.alpha));
                }
            }
            let z = rolling_zscore_opt(&spread, w, "spread")?.z_ddof1;
            Ok(Signals { beta, alpha, spread, z, start: 0 })
        }
        Hedge::Static => {
            let train = p
                .train
                .ok_or_else(|| AnalyticsError::InvalidParameter("backtest: the static hedge needs --train N".into()))?;
            if train < 3 {
                return Err(AnalyticsError::InvalidParameter(format!(
                    "backtest: --train must be at least 3 bars (got {train})"
                )));
            }
            // Bars after TRAIN: at least a signal bar and its fill.
            check_min_len("backtest (train + 2)", n, train.saturating_add(2))?;
            check_min_len("backtest (z window)", n, w)?;
            let (alpha, beta) = fit_line(&x[..train], &y[..train])
                .ok_or(AnalyticsError::Singular("backtest static hedge (x constant over train)"))?;
            let spread = crate::analytics::rolling::spread(x, y, alpha, beta);
            let z = rolling_z_linear(&spread, w);
            Ok(Signals {
                beta: vec![Some(beta); n],
                alpha: vec![Some(alpha); n],
                spread: spread.into_iter().map(Some).collect(),
                z,
                start: train,
            })
        }
    }
}
