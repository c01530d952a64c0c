//! Augmented Dickey–Fuller unit-root test (statsmodels `adfuller`): deterministic terms n/c/ct,
//! lag selection by AIC / BIC on a common sample followed by a refit on the longest sample, the
//! MacKinnon p-value and critical values at the final regression's nobs.

use super::cancel::Cancel;
use super::error::{AnalyticsError, Result};
use super::linalg::{lstsq, nested_ssr_with, ols_llf};
pub use super::mackinnon::Regression;
use super::mackinnon::{mackinnoncrit, mackinnonp};
use serde::{Deserialize, Serialize};

/// Lag-selection criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Autolag {
    /// Akaike: `-2 llf + 2 k`.
    #[serde(rename = "AIC")]
    #[default]
    Aic,
    /// Schwarz: `-2 llf + k ln(nobs)`.
    #[serde(rename = "BIC")]
    Bic,
}

/// Options of [`adfuller`]. The default is statsmodels' (`regression="c"`, `autolag="AIC"`,
/// default maxlag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdfOptions {
    /// Deterministic terms.
    pub regression: Regression,
    /// `Some(criterion)`: select the lag in `0..=maxlag`; `None`: use `maxlag` itself.
    pub autolag: Option<Autolag>,
    /// `None`: `min(n//2 - ntrend - 1, ceil(12 (n/100)^(1/4)))`; explicit values must satisfy
    /// `maxlag <= n//2 - ntrend - 1`.
    pub maxlag: Option<usize>,
}

impl Default for AdfOptions {
    fn default() -> Self {
        AdfOptions { regression: Regression::C, autolag: Some(Autolag::Aic), maxlag: None }
    }
}

/// Critical values keyed like statsmodels (`"1%"`, `"5%"`, `"10%"`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CritValues {
    /// 1% critical value.
    #[serde(rename = "1%")]
    pub p1: f64,
    /// 5% critical value.
    #[serde(rename = "5%")]
    pub p5: f64,
    /// 10% critical value.
    #[serde(rename = "10%")]
    pub p10: f64,
}

impl From<[f64; 3]> for CritValues {
    fn from(v: [f64; 3]) -> Self {
        CritValues { p1: v[0], p5: v[1], p10: v[2] }
    }
}

/// Result of [`adfuller`] (golden field names).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdfResult {
    /// t statistic of the lagged level.
    pub stat: f64,
    /// MacKinnon (1994) p-value (N = 1).
    pub pvalue: f64,
    /// Number of lagged differences in the final regression.
    pub usedlag: usize,
    /// Rows of the final regression (`n - 1 - usedlag`).
    pub nobs: usize,
    /// Largest lag considered.
    pub maxlag: usize,
    /// MacKinnon (2010) critical values at `nobs`.
    pub crit: CritValues,
    /// Best information criterion of the selection stage (null without autolag).
    pub icbest: Option<f64>,
    /// Deterministic terms.
    pub regression: Regression,
    /// Selection criterion (null = fixed lag).
    pub autolag: Option<Autolag>,
    /// With autolag: the selection criterion (AIC, or BIC when `autolag = BIC`) for lags
    /// `0..=maxlag`, all on the common sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aic_by_lag: Option<Vec<f64>>,
    /// With autolag: second-best minus best criterion (null when only one lag was considered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aic_margin: Option<f64>,
}

/// The default / validated maximum lag for a series of length `n`.
pub fn resolve_maxlag(n: usize, regression: Regression, maxlag: Option<usize>) -> Result<usize> {
    let cap = (n / 2) as i64 - regression.ntrend() as i64 - 1;
    match maxlag {
        None => {
            let formula = (12.0 * (n as f64 / 100.0).powf(0.25)).ceil() as i64;
            let m = cap.min(formula);
            if m < 0 {
                return Err(AnalyticsError::TooShort {
                    what: "adf (sample size too short for the regression's deterministic terms)",
                    have: n,
                    need: 2 * (regression.ntrend() + 1),
                });
            }
            Ok(m as usize)
        }
        Some(m) => {
            // `m as i64` would wrap for m >= 2^63 and slip past the check.
            if i64::try_from(m).map_or(true, |m| m > cap) {
                Err(AnalyticsError::InvalidParameter(format!(
                    "adf maxlag {m} too large for n = {n}: must be <= n//2 - ntrend - 1 = {cap}"
                )))
            } else {
                Ok(m)
            }
        }
    }
}

/// Regressor columns of the ADF regression with `p` lagged differences on the last `nobs`
/// differences: returns (dependent, level, lag columns).
fn design(x: &[f64], xdiff: &[f64], p_start: usize, p: usize) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>) {
    let nobs = xdiff.len() - p_start;
    let ys = xdiff[p_start..].to_vec();
    let level = x[p_start..p_start + nobs].to_vec();
    let lags = (1..=p).map(|i| xdiff[p_start - i..p_start - i + nobs].to_vec()).collect();
    (ys, level, lags)
}

fn deterministic(regression: Regression, nobs: usize) -> Vec<Vec<f64>> {
    let mut cols = Vec::new();
    if regression.ntrend() >= 1 {
        cols.push(vec![1.0; nobs]);
    }
    if regression.ntrend() >= 2 {
        cols.push((1..=nobs).map(|t| t as f64).collect());
    }
    cols
}

/// Augmented Dickey–Fuller test of `x` (statsmodels `adfuller(x, maxlag, regression, autolag)`).
///
/// Errors: constant or non-finite series, series too short for the deterministic terms, explicit
/// `maxlag` too large, or a final regression without residual degrees of freedom.
pub fn adfuller(x: &[f64], opts: &AdfOptions) -> Result<AdfResult> {
    adfuller_with(x, opts, &Cancel::never())
}

/// [`adfuller`], stopping with [`AnalyticsError::Cancelled`] once `cancel` is raised (checked
/// between the Householder steps of the lag search, the bulk of the work).
pub fn adfuller_with(x: &[f64], opts: &AdfOptions, cancel: &Cancel) -> Result<AdfResult> {
    let n = x.len();
    if x.iter().any(|v| !v.is_finite()) {
        return Err(AnalyticsError::InvalidInput("adf: series contains non-finite values".into()));
    }
    if n < 3 {
        return Err(AnalyticsError::TooShort { what: "adf", have: n, need: 3 });
    }
    let (lo, hi) = x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
    if lo == hi {
        return Err(AnalyticsError::InvalidInput("adf: series is constant".into()));
    }
    let regression = opts.regression;
    let ntrend = regression.ntrend();
    let maxlag = resolve_maxlag(n, regression, opts.maxlag)?;
    let xdiff: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();

    let (usedlag, icbest, ic_by_lag, margin) = match opts.autolag {
        Some(crit) => {
            let (ys, level, lags) = design(x, &xdiff, maxlag, maxlag);
            let nobs_s = ys.len();
            let det = deterministic(regression, nobs_s);
            let mut cols: Vec<&[f64]> = det.iter().map(|c| c.as_slice()).collect();
            cols.push(&level);
            cols.extend(lags.iter().map(|c| c.as_slice()));
            let ssrs = nested_ssr_with(&cols, &ys, cancel)?;
            let mut ics = Vec::with_capacity(maxlag + 1);
            for p in 0..=maxlag {
                let k = ntrend + 1 + p;
                let llf = ols_llf(ssrs[k - 1], nobs_s);
                let ic = match crit {
                    Autolag::Aic => -2.0 * llf + 2.0 * k as f64,
                    Autolag::Bic => -2.0 * llf + (nobs_s as f64).ln() * k as f64,
                };
                ics.push(ic);
            }
            let mut best = 0;
            for (p, ic) in ics.iter().enumerate() {
                if *ic < ics[best] {
                    best = p;
                }
            }
            let margin = ics
                .iter()
                .enumerate()
                .filter(|(p, _)| *p != best)
                .map(|(_, ic)| ic - ics[best])
                .fold(None, |m: Option<f64>, d| Some(m.map_or(d, |m| m.min(d))));
            (best, Some(ics[best]), Some(ics), margin)
        }
        None => (maxlag, None, None, None),
    };

    cancel.check()?;
    let (ys, level, lags) = design(x, &xdiff, usedlag, usedlag);
    let nobs = ys.len();
    let k = 1 + usedlag + ntrend;
    if nobs <= k {
        return Err(AnalyticsError::TooShort { what: "adf final regression", have: nobs, need: k + 1 });
    }
    let det = deterministic(regression, nobs);
    let mut cols: Vec<&[f64]> = vec![&level];
    cols.extend(lags.iter().map(|c| c.as_slice()));
    cols.extend(det.iter().map(|c| c.as_slice()));
    let fit = lstsq(&cols, &ys)?;
    let stat = fit.tvalues[0];
    let pvalue = mackinnonp(stat, regression, 1)?;
    let crit = mackinnoncrit(1, regression, nobs as f64)?;
    Ok(AdfResult {
        stat,
        pvalue,
        usedlag,
        nobs,
        maxlag,
        crit: crit.into(),
        icbest,
        regression,
        autolag: opts.autolag,
        aic_by_lag: ic_by_lag,
        aic_margin: margin,
    })
}
