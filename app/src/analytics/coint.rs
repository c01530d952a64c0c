//! Engle–Granger two-step cointegration test (statsmodels `coint(y, x, trend="c", method="aeg")`).

use super::adf::{adfuller_with, AdfOptions, Autolag, CritValues, Regression};
use super::cancel::Cancel;
use super::error::Result;
use super::mackinnon::{mackinnoncrit, mackinnonp};
use super::ols::ols_with_resid;
use super::serde_util::f64_nonfinite_as_string;
use serde::Serialize;

/// `r2 >= 1 - 100 sqrt(eps)` declares the pair collinear (statsmodels' rule).
pub const COLLINEAR_R2: f64 = 1.0 - 1.4901161193847656e-06;

/// Result of [`coint`] (golden field names).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CointResult {
    /// ADF t statistic of the first-stage residuals (`-inf` when collinear; serialised `"-inf"`).
    #[serde(serialize_with = "f64_nonfinite_as_string")]
    pub stat: f64,
    /// MacKinnon p-value, table "c" with N = 2 (0.0 when collinear).
    pub pvalue: f64,
    /// MacKinnon (2010) critical values, "c", N = 2, at `crit_nobs = n - 1`.
    pub crit: CritValues,
    /// Whether the first-stage R² reached [`COLLINEAR_R2`] (no ADF is run then).
    pub collinear: bool,
    /// R² of `y ~ 1 + x`.
    pub r2_first_stage: f64,
    /// Sample size the critical values are evaluated at (`n - 1`).
    pub crit_nobs: usize,
    /// Lag used by the residual ADF (absent when collinear).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resid_adf_usedlag: Option<usize>,
    /// Rows of the residual ADF regression (absent when collinear).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resid_adf_nobs: Option<usize>,
    /// Max lag of the residual ADF (absent when collinear).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resid_adf_maxlag: Option<usize>,
}

/// Engle–Granger test of `y` on `x` with a constant; residual ADF with regression "n", the given
/// lag selection (statsmodels default: `Some(Autolag::Aic)`) and `maxlag` (`None` = default).
pub fn coint(y: &[f64], x: &[f64], autolag: Option<Autolag>, maxlag: Option<usize>) -> Result<CointResult> {
    let (fit, resid) = ols_with_resid(x, y)?;
    coint_from_residuals(&resid, fit.r2, autolag, maxlag)
}

/// Second step of [`coint`] given the first-stage residuals `y - alpha - beta x` and its R².
pub fn coint_from_residuals(
    resid: &[f64],
    r2_first_stage: f64,
    autolag: Option<Autolag>,
    maxlag: Option<usize>,
) -> Result<CointResult> {
    coint_from_residuals_with(resid, r2_first_stage, autolag, maxlag, &Cancel::never())
}

/// [`coint_from_residuals`], stopping with [`AnalyticsError::Cancelled`](super::error::AnalyticsError::Cancelled)
/// once `cancel` is raised.
pub fn coint_from_residuals_with(
    resid: &[f64],
    r2_first_stage: f64,
    autolag: Option<Autolag>,
    maxlag: Option<usize>,
    cancel: &Cancel,
) -> Result<CointResult> {
    let n = resid.len();
    let crit_nobs = n.saturating_sub(1);
    let crit: CritValues = mackinnoncrit(2, Regression::C, crit_nobs as f64)?.into();
    if r2_first_stage >= COLLINEAR_R2 {
        return Ok(CointResult {
            stat: f64::NEG_INFINITY,
            pvalue: mackinnonp(f64::NEG_INFINITY, Regression::C, 2)?,
            crit,
            collinear: true,
            r2_first_stage,
            crit_nobs,
            resid_adf_usedlag: None,
            resid_adf_nobs: None,
            resid_adf_maxlag: None,
        });
    }
    let adf = adfuller_with(resid, &AdfOptions { regression: Regression::N, autolag, maxlag }, cancel)?;
    Ok(CointResult {
        stat: adf.stat,
        pvalue: mackinnonp(adf.stat, Regression::C, 2)?,
        crit,
        collinear: false,
        r2_first_stage,
        crit_nobs,
        resid_adf_usedlag: Some(adf.usedlag),
        resid_adf_nobs: Some(adf.nobs),
        resid_adf_maxlag: Some(adf.maxlag),
    })
}
