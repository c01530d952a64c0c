//! The series one dashboard view shows: hedge ratio, spread, its rolling mean/std/z-score and
//! the rolling correlation of returns, for a chosen hedge method and windows.
//!
//! One function, [`compute_view`], used by the browser (recomputing when a slider moves,
//! without a round trip) and by the server (alerts). It composes the golden-checked stages:
//! rolling OLS goes through [`RollingPairEngine`]; the static methods fit once on the whole
//! window of bars and then use [`rolling_zscore`]; Kalman uses [`kalman_filter`].

use serde::{Deserialize, Serialize};

use super::incremental::RollingPairEngine;
use super::kalman::{kalman_filter, KalmanParams};
use super::rolling::{rolling_corr_returns, rolling_zscore};
use super::tls::tls;
use super::{huber_rlm, ols, ols_log, theil_sen, HuberOptions};

/// How the hedge ratio is estimated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HedgeMethod {
    /// OLS over the trailing window, re-estimated every bar (what traders watch live).
    #[default]
    RollingOls,
    /// OLS with intercept over all loaded bars.
    Ols,
    /// OLS of ln y on ln x over all loaded bars; the spread is in log space.
    OlsLog,
    /// Huber robust regression (statsmodels RLM, HuberT 1.345) over all loaded bars.
    Huber,
    /// Theil–Sen median of pairwise slopes over all loaded bars.
    TheilSen,
    /// Total least squares (orthogonal regression) over all loaded bars: symmetric in the legs.
    Tls,
    /// Kalman-filtered dynamic hedge ratio.
    Kalman,
}

impl HedgeMethod {
    pub const ALL: [HedgeMethod; 7] = [
        HedgeMethod::RollingOls,
        HedgeMethod::Ols,
        HedgeMethod::OlsLog,
        HedgeMethod::Huber,
        HedgeMethod::TheilSen,
        HedgeMethod::Tls,
        HedgeMethod::Kalman,
    ];

    /// Stable identifier, as used in URLs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            HedgeMethod::RollingOls => "rolling_ols",
            HedgeMethod::Ols => "ols",
            HedgeMethod::OlsLog => "ols_log",
            HedgeMethod::Huber => "huber",
            HedgeMethod::TheilSen => "theil_sen",
            HedgeMethod::Tls => "tls",
            HedgeMethod::Kalman => "kalman",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            HedgeMethod::RollingOls => "Rolling OLS",
            HedgeMethod::Ols => "OLS",
            HedgeMethod::OlsLog => "OLS on logs",
            HedgeMethod::Huber => "Huber",
            HedgeMethod::TheilSen => "Theil–Sen",
            HedgeMethod::Tls => "TLS (orthogonal)",
            HedgeMethod::Kalman => "Kalman",
        }
    }

    pub fn parse(s: &str) -> Option<HedgeMethod> {
        HedgeMethod::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Parameters of a view's analytics.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViewParams {
    pub hedge: HedgeMethod,
    /// Rolling window (bars) of the hedge regression and of the z-score.
    pub window: usize,
    /// Rolling window (returns) of the correlation.
    pub corr_window: usize,
    pub kalman: KalmanParams,
}

impl Default for ViewParams {
    fn default() -> Self {
        ViewParams { hedge: HedgeMethod::RollingOls, window: 60, corr_window: 30, kalman: KalmanParams::default() }
    }
}

/// Per-bar series of a view (all the same length as the input; `None` = not yet defined).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ViewSeries {
    pub t: Vec<i64>,
    pub beta: Vec<Option<f64>>,
    pub alpha: Vec<Option<f64>>,
    pub spread: Vec<Option<f64>>,
    pub spread_mean: Vec<Option<f64>>,
    pub spread_std: Vec<Option<f64>>,
    pub z: Vec<Option<f64>>,
    pub corr: Vec<Option<f64>>,
    /// Why the hedge could not be estimated (too few bars, degenerate data), if so.
    pub hedge_error: Option<String>,
}

impl ViewSeries {
    /// Bars still needed before the z-score exists, e.g. to say "z-score: 34/60 bars".
    pub fn z_progress(&self, params: &ViewParams) -> (usize, usize) {
        let need = match params.hedge {
            // The rolling hedge needs a full window before the first spread, then another window of spreads.
            HedgeMethod::RollingOls => 2 * params.window - 1,
            _ => params.window,
        };
        (self.t.len().min(need), need)
    }

    pub fn last<T: Copy>(series: &[Option<T>]) -> Option<T> {
        series.last().copied().flatten()
    }
}

/// Per-bar (beta, alpha, spread) of a fitted hedge.
type HedgeSeries = (Vec<f64>, Vec<f64>, Vec<f64>);

/// Computes a view's series from aligned closes.
pub fn compute_view(t: &[i64], x: &[f64], y: &[f64], params: &ViewParams) -> ViewSeries {
    let n = t.len().min(x.len()).min(y.len());
    let (t, x, y) = (&t[..n], &x[..n], &y[..n]);
    let window = params.window.max(2);
    let mut out = ViewSeries { t: t.to_vec(), ..ViewSeries::default() };
    out.corr = rolling_corr_returns(x, y, params.corr_window.max(2)).unwrap_or_else(|_| vec![None; n]);

    if params.hedge == HedgeMethod::RollingOls {
        match RollingPairEngine::new(window, window, params.corr_window.max(2)) {
            Ok(mut engine) => {
                for i in 0..n {
                    let snap = engine.push(t[i], x[i], y[i]).ok();
                    out.beta.push(snap.and_then(|s| s.beta));
                    out.alpha.push(snap.and_then(|s| s.alpha));
                    out.spread.push(snap.and_then(|s| s.spread));
                    out.spread_mean.push(snap.and_then(|s| s.spread_mean));
                    out.spread_std.push(snap.and_then(|s| s.spread_std));
                    out.z.push(snap.and_then(|s| s.z));
                }
            }
            Err(err) => out.hedge_error = Some(err.to_string()),
        }
        fill_missing(&mut out, n);
        return out;
    }

    let fitted: Result<HedgeSeries, String> = match params.hedge {
        HedgeMethod::Kalman => kalman_filter(x, y, &params.kalman).map(|k| (k.beta, k.alpha, k.spread)),
        HedgeMethod::OlsLog => {
            let lx: Vec<f64> = x.iter().map(|v| v.ln()).collect();
            let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
            ols_log(x, y).map(|fit| {
                let spread = lx.iter().zip(&ly).map(|(a, b)| b - fit.beta * a - fit.alpha).collect();
                (vec![fit.beta; n], vec![fit.alpha; n], spread)
            })
        }
        method => static_fit(method, x, y).map(|(alpha, beta)| {
            let spread = x.iter().zip(y).map(|(a, b)| b - beta * a - alpha).collect();
            (vec![beta; n], vec![alpha; n], spread)
        }),
    }
    .map_err(|e| e.to_string());
    match fitted {
        Ok((beta, alpha, spread)) => {
            out.beta = beta.into_iter().map(Some).collect();
            out.alpha = alpha.into_iter().map(Some).collect();
            let z = if params.hedge == HedgeMethod::Kalman {
                // The first Kalman estimates are dominated by the prior; z over them is noise
                // only when the window is tiny, so no special warm-up beyond the window.
                rolling_zscore(&spread, window, "kalman_spread")
            } else {
                rolling_zscore(&spread, window, "spread")
            };
            if let Ok(z) = z {
                out.spread_mean = z.mean;
                out.spread_std = z.std_ddof1;
                out.z = z.z_ddof1;
            }
            out.spread = spread.into_iter().map(Some).collect();
        }
        Err(err) => out.hedge_error = Some(err),
    }
    fill_missing(&mut out, n);
    out
}

fn static_fit(method: HedgeMethod, x: &[f64], y: &[f64]) -> super::error::Result<(f64, f64)> {
    match method {
        HedgeMethod::Huber => huber_rlm(x, y, &HuberOptions::default()).map(|h| (h.alpha, h.beta)),
        HedgeMethod::TheilSen => theil_sen(y, x, 0.95).map(|ts| (ts.intercept, ts.slope)),
        HedgeMethod::Tls => tls(x, y).map(|t| (t.alpha, t.beta)),
        _ => ols(x, y).map(|o| (o.alpha, o.beta)),
    }
}

/// Keeps every series as long as `t` even when a stage failed.
fn fill_missing(out: &mut ViewSeries, n: usize) {
    for series in
        [&mut out.beta, &mut out.alpha, &mut out.spread, &mut out.spread_mean, &mut out.spread_std, &mut out.z]
    {
        series.resize(n, None);
    }
    out.corr.resize(n, None);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(n: usize) -> (Vec<i64>, Vec<f64>, Vec<f64>) {
        let t: Vec<i64> = (0..n as i64).map(|i| i * 60_000).collect();
        let x: Vec<f64> = (0..n).map(|i| 60_000.0 + 50.0 * ((i as f64) * 0.1).sin() + i as f64).collect();
        let y: Vec<f64> =
            x.iter().enumerate().map(|(i, v)| 0.05 * v + 100.0 + ((i * 7919 % 13) as f64 - 6.0) * 0.3).collect();
        (t, x, y)
    }

    #[test]
    fn every_method_yields_full_length_series_and_a_late_z() {
        let (t, x, y) = pair(300);
        for hedge in HedgeMethod::ALL {
            let params = ViewParams { hedge, window: 40, ..ViewParams::default() };
            let view = compute_view(&t, &x, &y, &params);
            assert_eq!(view.hedge_error, None, "{hedge:?}");
            for s in [&view.beta, &view.spread, &view.z, &view.corr] {
                assert_eq!(s.len(), 300, "{hedge:?}");
            }
            assert!(ViewSeries::last(&view.z).is_some(), "{hedge:?} has no z at the end");
            assert!(view.z[0].is_none(), "{hedge:?} has a z before its window filled");
        }
    }

    #[test]
    fn static_ols_view_matches_the_batch_stages() {
        let (t, x, y) = pair(200);
        let view =
            compute_view(&t, &x, &y, &ViewParams { hedge: HedgeMethod::Ols, window: 30, ..ViewParams::default() });
        let fit = ols(&x, &y).expect("ols");
        let spread = super::super::rolling::spread(&x, &y, fit.alpha, fit.beta);
        let z = rolling_zscore(&spread, 30, "s").expect("z");
        assert_eq!(view.z, z.z_ddof1);
        assert_eq!(view.beta[150], Some(fit.beta));
    }

    #[test]
    fn tls_view_uses_the_orthogonal_fit() {
        let (t, x, y) = pair(200);
        let view =
            compute_view(&t, &x, &y, &ViewParams { hedge: HedgeMethod::Tls, window: 30, ..ViewParams::default() });
        let fit = tls(&x, &y).expect("tls");
        assert_eq!(view.beta[150], Some(fit.beta));
        assert_eq!(view.alpha[150], Some(fit.alpha));
        assert_eq!(HedgeMethod::parse("tls"), Some(HedgeMethod::Tls));
    }

    #[test]
    fn too_few_bars_is_an_explained_error_not_a_panic() {
        let view = compute_view(&[1], &[1.0], &[2.0], &ViewParams { hedge: HedgeMethod::Ols, ..ViewParams::default() });
        assert!(view.hedge_error.is_some());
        assert_eq!(view.z, vec![None]);
        let empty = compute_view(&[], &[], &[], &ViewParams::default());
        assert!(empty.t.is_empty());
    }

    #[test]
    fn methods_round_trip_through_their_names() {
        for m in HedgeMethod::ALL {
            assert_eq!(HedgeMethod::parse(m.as_str()), Some(m));
        }
        assert_eq!(HedgeMethod::parse("nope"), None);
    }
}
