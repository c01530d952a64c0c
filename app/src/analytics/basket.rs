//! Baskets of 2–12 legs: Johansen ([`coint_johansen`], default det_order 0, k_ar_diff 1) on the
//! aligned closes, its first eigenvector as the weights, the basket spread `sum_i w_i x_i`
//! (Python: `endog @ coint_johansen(endog, 0, 1).evec[:, 0]`), and on that spread the same
//! statistics a pair gets — rolling z-score, half-life, ADF, KPSS, Hurst — each reused from its
//! own module. A stage that fails is reported in its slot; the function fails only when the
//! Johansen step (hence the spread) cannot be computed.

use super::adf::{adfuller, AdfOptions, AdfResult};
use super::adf_legs::LegAdf;
use super::battery::{legs_adf, spread_tests, SpreadTests};
use super::error::{AnalyticsError, Result};
use super::half_life::{half_life, HalfLife};
use super::johansen::{coint_johansen, JohansenResult, MAX_SERIES};
use super::report::Stage;
use super::rolling::{rolling_zscore, ZScore};
use serde::{Deserialize, Serialize};

/// Parameters of [`analyze_basket`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BasketParams {
    /// Johansen deterministic terms (-1, 0, 1). Default 0.
    pub det_order: i32,
    /// Johansen lagged differences. Default 1.
    pub k_ar_diff: usize,
    /// Rolling z-score window of the spread. Default 60.
    pub z_window: usize,
    /// ADF options of the spread's test. Default statsmodels'. (The legs' ADF always uses the
    /// defaults.)
    pub adf: AdfOptions,
    /// Include the spread and z-score arrays. Default true.
    pub include_series: bool,
}

impl Default for BasketParams {
    fn default() -> Self {
        BasketParams { det_order: 0, k_ar_diff: 1, z_window: 60, adf: AdfOptions::default(), include_series: true }
    }
}

/// Everything computed for a basket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BasketReport {
    /// Number of legs.
    pub legs: usize,
    /// Observations.
    pub nobs: usize,
    /// The Johansen test the weights come from.
    pub johansen: JohansenResult,
    /// First eigenvector (`evec[:, 0]`).
    pub weights: Vec<f64>,
    /// Rank by the sequential trace test at 95 %.
    pub trace_rank_95: usize,
    /// `endog @ weights` (present with `include_series`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread: Option<Vec<f64>>,
    /// Rolling z-score of the spread (arrays only with `include_series`).
    pub zscore: Stage<ZScore>,
    /// Last z-score value.
    pub z_last: Option<f64>,
    /// Half-life of the spread.
    pub half_life: Stage<HalfLife>,
    /// ADF of the spread.
    pub adf: Stage<AdfResult>,
    /// KPSS ("c", auto lags), variance ratios (q = 2, 4, 8, 16) and Hurst
    /// (`max_lags = min(100, n / 2)`) of the spread.
    #[serde(flatten)]
    pub tests: SpreadTests,
    /// ADF of each leg in levels and differences (statsmodels' default options).
    pub adf_legs: Vec<Stage<LegAdf>>,
}

/// `sum_i w_i x_i` per observation.
pub(crate) fn basket_spread(series: &[&[f64]], weights: &[f64]) -> Vec<f64> {
    let n = series.first().map_or(0, |s| s.len());
    (0..n).map(|t| series.iter().zip(weights).map(|(s, w)| s[t] * w).sum()).collect()
}

/// Analyse a basket of 2–12 aligned series.
pub fn analyze_basket(series: &[&[f64]], p: &BasketParams) -> Result<BasketReport> {
    if series.len() < 2 || series.len() > MAX_SERIES {
        return Err(AnalyticsError::InvalidParameter(format!(
            "a basket needs 2 to {MAX_SERIES} legs, got {}",
            series.len()
        )));
    }
    let johansen = coint_johansen(series, p.det_order, p.k_ar_diff)?;
    let weights = johansen.weights();
    let spread = basket_spread(series, &weights);
    let zscore: Stage<ZScore> = rolling_zscore(&spread, p.z_window, "basket_spread").into();
    let z_last = zscore.ok().and_then(|z| z.z_ddof1.last().copied().flatten());
    let zscore = match zscore {
        Stage::Ok(z) if !p.include_series => Stage::Ok(ZScore {
            mean: vec![],
            std_ddof1: vec![],
            z_ddof1: vec![],
            std_ddof0: vec![],
            z_ddof0: vec![],
            ..z
        }),
        other => other,
    };
    Ok(BasketReport {
        legs: series.len(),
        nobs: spread.len(),
        trace_rank_95: johansen.trace_rank_95(),
        half_life: half_life(&spread).into(),
        adf: adfuller(&spread, &p.adf).into(),
        tests: spread_tests(&spread),
        adf_legs: legs_adf(series, &AdfOptions::default()),
        spread: p.include_series.then_some(spread),
        zscore,
        z_last,
        johansen,
        weights,
    })
}
