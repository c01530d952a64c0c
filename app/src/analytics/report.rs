//! One-call analysis of an aligned pair: [`PairParams`] (with defaults) in, [`PairReport`] out
//! (golden key names). Each stage that fails (e.g. on short data) is reported as
//! `{"error": "..."}` in its slot; nothing panics.

use super::adf::{adfuller_with, AdfOptions, AdfResult, Autolag};
use super::backtest::{run_backtest, BacktestParams, Market, Metrics, Trade};
use super::cancel::Cancel;
use super::coint::{coint_from_residuals_with, CointResult};
use super::error::{check_same_len, AnalyticsError, Result};
use super::half_life::{half_life, HalfLife};
use super::huber::{huber_rlm, HuberOptions, HuberResult};
use super::kalman::{kalman_filter, KalmanOutput, KalmanParams};
use super::ols::{ols_log, ols_with_resid, OlsResult};
use super::rolling::{rolling_corr_returns_with, rolling_zscore_with};
use super::theil_sen::{theil_sen_with, TheilSenResult};
use serde::{Deserialize, Serialize};

/// Parameters of [`analyze_pair`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PairParams {
    /// Rolling z-score window (bars). Default 60.
    pub z_window: usize,
    /// Rolling return-correlation window (bars). Default 30.
    pub corr_window: usize,
    /// Backtest entry threshold. Default 2.0.
    pub entry_z: f64,
    /// Backtest exit threshold. Default 0.0.
    pub exit_z: f64,
    /// Backtest fee per leg per fill (bps). Default 4.
    pub fee_bps: f64,
    /// Backtest slippage per leg per fill (bps). Default 0.
    pub slippage_bps: f64,
    /// Kalman filter parameters. Default delta 1e-4, Ve 1e-3, P0 = I, theta0 = 0.
    pub kalman: KalmanParams,
    /// ADF options on the spread. Default regression "c", autolag AIC, default maxlag.
    pub adf: AdfOptions,
    /// Huber options. Default statsmodels (t = 1.345, maxiter 50, tol 1e-8).
    pub huber: HuberOptions,
    /// Theil–Sen confidence level. Default 0.95.
    pub theil_sen_conf: f64,
    /// Exact Theil–Sen needs `n (n-1) / 2` slopes in memory; above this many bars the stage
    /// reports an error instead. Default 5000.
    pub theil_sen_max_n: usize,
    /// Include the per-bar arrays (spread, z-score, correlation, Kalman, equity). Default true.
    pub include_series: bool,
}

impl Default for PairParams {
    fn default() -> Self {
        PairParams {
            z_window: 60,
            corr_window: 30,
            entry_z: 2.0,
            exit_z: 0.0,
            fee_bps: BacktestParams::default().fee_bps,
            slippage_bps: BacktestParams::default().slippage_bps,
            kalman: KalmanParams::default(),
            adf: AdfOptions::default(),
            huber: HuberOptions::default(),
            theil_sen_conf: 0.95,
            theil_sen_max_n: 5000,
            include_series: true,
        }
    }
}

/// A stage's value or the reason it could not be computed (`{"error": "..."}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Stage<T> {
    /// Computed.
    Ok(T),
    /// Not computed.
    Err {
        /// Human-readable reason.
        error: String,
    },
}

impl<T> Stage<T> {
    /// The value, if computed.
    pub fn ok(&self) -> Option<&T> {
        match self {
            Stage::Ok(v) => Some(v),
            Stage::Err { .. } => None,
        }
    }
    /// The error message, if any.
    pub fn error(&self) -> Option<&str> {
        match self {
            Stage::Ok(_) => None,
            Stage::Err { error } => Some(error),
        }
    }
}

impl<T> From<Result<T>> for Stage<T> {
    fn from(r: Result<T>) -> Self {
        match r {
            Ok(v) => Stage::Ok(v),
            Err(e) => Stage::Err { error: e.to_string() },
        }
    }
}

fn upstream<T>(what: &str, err: &str) -> Stage<T> {
    Stage::Err { error: format!("{what} unavailable: {err}") }
}

/// Kalman stage: last filtered values, plus the per-bar arrays when requested.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KalmanReport {
    /// Last filtered hedge ratio.
    pub last_beta: Option<f64>,
    /// Last filtered intercept.
    pub last_alpha: Option<f64>,
    /// Last posterior spread.
    pub last_spread: Option<f64>,
    /// Per-bar arrays (`beta, alpha, e, Q, yhat, spread`).
    #[serde(flatten)]
    pub series: Option<KalmanOutput>,
}

/// Z-score stage (of `spread_with_alpha`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZScoreReport {
    /// Window.
    pub window: usize,
    /// Series name.
    pub of: String,
    /// Last z (ddof 1).
    pub last_z: Option<f64>,
    /// Last rolling mean.
    pub last_mean: Option<f64>,
    /// Last rolling std (ddof 1).
    pub last_std: Option<f64>,
    /// Per-bar rolling mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<Vec<Option<f64>>>,
    /// Per-bar rolling std (ddof 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std_ddof1: Option<Vec<Option<f64>>>,
    /// Per-bar z (ddof 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub z_ddof1: Option<Vec<Option<f64>>>,
    /// Per-bar rolling std (ddof 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std_ddof0: Option<Vec<Option<f64>>>,
    /// Per-bar z (ddof 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub z_ddof0: Option<Vec<Option<f64>>>,
}

/// Rolling return-correlation stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrReport {
    /// Window.
    pub window: usize,
    /// Last value.
    pub last: Option<f64>,
    /// Per-bar values (first `window` null).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Option<f64>>>,
}

/// Backtest stage: [`run_backtest`] on the bars with its defaults (rolling OLS hedge over the z
/// window, next-bar fills, 4 bps fees, 10,000 notional) and this report's z window and thresholds.
/// `pairdesk backtest` exposes every other parameter. `equity` only with series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestReport {
    /// The parameters used.
    pub params: BacktestParams,
    /// True only with same-bar fills.
    pub lookahead: bool,
    /// First bar a signal could be taken at.
    pub first_bar: usize,
    /// Summary figures (quote currency).
    pub metrics: Metrics,
    /// Trades.
    pub trades: Vec<Trade>,
    /// Per-bar equity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equity: Option<Vec<f64>>,
}

/// Everything computed for one pair (top-level keys as in the golden files).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairReport {
    /// Number of aligned bars.
    pub n: usize,
    /// `y ~ 1 + x`.
    pub ols: Stage<OlsResult>,
    /// `ln y ~ 1 + ln x`.
    pub ols_log: Stage<OlsResult>,
    /// Huber robust fit.
    pub huber: Stage<HuberResult>,
    /// Theil–Sen.
    pub theil_sen: Stage<TheilSenResult>,
    /// Kalman dynamic hedge.
    pub kalman: Stage<KalmanReport>,
    /// `y - beta x - alpha` per bar (only with series).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread_with_alpha: Option<Vec<f64>>,
    /// Last value of `spread_with_alpha`.
    pub spread_last: Option<f64>,
    /// Rolling z-score of the spread.
    pub zscore: Stage<ZScoreReport>,
    /// Rolling correlation of returns.
    pub rolling_corr: Stage<CorrReport>,
    /// ADF on the spread.
    pub adf: Stage<AdfResult>,
    /// Engle–Granger.
    pub coint: Stage<CointResult>,
    /// Half-life of the spread.
    pub half_life: Stage<HalfLife>,
    /// Backtest.
    pub backtest: Stage<BacktestReport>,
}

/// The OLS fit with its spread, or why it failed.
type FitAndSpread = std::result::Result<(OlsResult, Vec<f64>), String>;

/// Analyse aligned bars `(t, x, y)` (x = independent leg, y = dependent leg). Errors only for
/// unusable input (length mismatch, non-finite or non-positive prices); stage failures are
/// reported inside the report.
pub fn analyze_pair(t: &[i64], x: &[f64], y: &[f64], p: &PairParams) -> Result<PairReport> {
    analyze_pair_with(t, x, y, p, &Cancel::never())
}

/// [`analyze_pair`], cancellable: once `cancel` is raised the long stages (rolling windows, ADF
/// lag search, Theil–Sen) stop at their next check and the whole call answers
/// [`AnalyticsError::Cancelled`], never a partial report.
pub fn analyze_pair_with(t: &[i64], x: &[f64], y: &[f64], p: &PairParams, cancel: &Cancel) -> Result<PairReport> {
    check_same_len("analyze_pair", t.len(), x.len())?;
    check_same_len("analyze_pair", x.len(), y.len())?;
    if x.iter().chain(y).any(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(AnalyticsError::InvalidInput("prices must be finite and > 0".into()));
    }
    let n = x.len();
    let series = p.include_series;
    let ols_res = ols_with_resid(x, y);
    let (ols, spread): (Stage<OlsResult>, FitAndSpread) = match ols_res {
        Ok((o, _)) => {
            let s = super::rolling::spread(x, y, o.alpha, o.beta);
            (Stage::Ok(o), Ok((o, s)))
        }
        Err(e) => (Stage::Err { error: e.to_string() }, Err(e.to_string())),
    };
    let theil = if n > p.theil_sen_max_n {
        Stage::Err { error: format!("theil_sen: {n} bars exceed the exact-estimator limit of {}", p.theil_sen_max_n) }
    } else {
        theil_sen_with(x, y, p.theil_sen_conf, cancel).into()
    };
    cancel.check()?;
    let kalman = kalman_filter(x, y, &p.kalman)
        .map(|k| KalmanReport {
            last_beta: k.beta.last().copied(),
            last_alpha: k.alpha.last().copied(),
            last_spread: k.spread.last().copied(),
            series: series.then_some(k),
        })
        .into();
    let corr = rolling_corr_returns_with(x, y, p.corr_window, cancel)
        .map(|v| CorrReport { window: p.corr_window, last: v.last().copied().flatten(), values: series.then_some(v) })
        .into();

    let (zscore, adf, coint, hl, bt, spread_vec) = match &spread {
        Err(e) => (
            upstream("zscore", e),
            upstream("adf", e),
            upstream("coint", e),
            upstream("half_life", e),
            upstream("backtest", e),
            None,
        ),
        Ok((o, s)) => {
            let z = rolling_zscore_with(s, p.z_window, "spread_with_alpha", cancel);
            let adf: Stage<AdfResult> = adfuller_with(s, &p.adf, cancel).into();
            let coint: Stage<CointResult> = coint_from_residuals_with(s, o.r2, Some(Autolag::Aic), None, cancel).into();
            cancel.check()?;
            let hl: Stage<HalfLife> = half_life(s).into();
            let (zs, bt) = match z {
                Err(e) => (Stage::Err { error: e.to_string() }, upstream("backtest", &e.to_string())),
                Ok(z) => {
                    let bp = BacktestParams {
                        z_window: p.z_window,
                        entry: p.entry_z,
                        exit: p.exit_z,
                        fee_bps: p.fee_bps,
                        slippage_bps: p.slippage_bps,
                        ..BacktestParams::default()
                    };
                    let bt: Stage<BacktestReport> = run_backtest(&Market::closes(t, x, y), &bp)
                        .map(|b| BacktestReport {
                            params: b.params,
                            lookahead: b.lookahead,
                            first_bar: b.first_bar,
                            metrics: b.metrics,
                            trades: b.trades,
                            equity: series.then_some(b.equity),
                        })
                        .into();
                    let zr = ZScoreReport {
                        window: z.window,
                        last_z: z.z_ddof1.last().copied().flatten(),
                        last_mean: z.mean.last().copied().flatten(),
                        last_std: z.std_ddof1.last().copied().flatten(),
                        of: z.of,
                        mean: series.then_some(z.mean),
                        std_ddof1: series.then_some(z.std_ddof1),
                        z_ddof1: series.then_some(z.z_ddof1),
                        std_ddof0: series.then_some(z.std_ddof0),
                        z_ddof0: series.then_some(z.z_ddof0),
                    };
                    (Stage::Ok(zr), bt)
                }
            };
            (zs, adf, coint, hl, bt, Some(s.clone()))
        }
    };
    // A stage cut short says "cancelled" in its slot: never hand such a report out.
    cancel.check()?;
    Ok(PairReport {
        n,
        ols,
        ols_log: ols_log(x, y).into(),
        huber: huber_rlm(x, y, &p.huber).into(),
        theil_sen: theil,
        kalman,
        spread_last: spread_vec.as_ref().and_then(|s| s.last().copied()),
        spread_with_alpha: if series { spread_vec } else { None },
        zscore,
        rolling_corr: corr,
        adf,
        coint,
        half_life: hl,
        backtest: bt,
    })
}
