//! Ordinary least squares with intercept, `y = alpha + beta x + e`, with the statsmodels summary
//! fields (classical standard errors, Student-t p-values, R², residual spreads); also on logs.

use super::descriptive::{centred_moments, std};
use super::error::{check_min_len, check_same_len, AnalyticsError, Result};
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// `statsmodels.OLS(y, add_constant(x)).fit()` summarised (field names as in the golden files).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OlsResult {
    /// Intercept.
    pub alpha: f64,
    /// Slope (hedge ratio).
    pub beta: f64,
    /// Classical standard error of `alpha`.
    pub alpha_stderr: f64,
    /// Classical standard error of `beta`.
    pub beta_stderr: f64,
    /// `alpha / alpha_stderr`.
    pub alpha_tvalue: f64,
    /// `beta / beta_stderr`.
    pub beta_tvalue: f64,
    /// Two-sided Student-t p-value of `alpha` (`n - 2` df).
    pub alpha_pvalue: f64,
    /// Two-sided Student-t p-value of `beta` (`n - 2` df).
    pub beta_pvalue: f64,
    /// `1 - ssr / sum((y - mean(y))^2)`.
    pub r2: f64,
    /// `1 - (1 - r2)(n - 1)/(n - 2)`.
    pub r2_adj: f64,
    /// Residual sum of squares.
    pub ssr: f64,
    /// Number of observations.
    pub nobs: usize,
    /// `n - 2`.
    pub df_resid: usize,
    /// Regression standard error `sqrt(ssr / (n - 2))`.
    pub resid_std: f64,
    /// `np.std(resid, ddof=1)`.
    pub resid_std_ddof1: f64,
    /// `np.std(resid, ddof=0)`.
    pub resid_std_ddof0: f64,
}

/// Two-sided p-value of a t statistic with `df` degrees of freedom (`NaN` if undefined).
pub fn t_pvalue_two_sided(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => 2.0 * d.sf(t.abs()),
        Err(_) => f64::NAN,
    }
}

/// Intercept and slope of `y = alpha + beta x` (centred two-pass sums). `None` for fewer than two
/// points or constant `x`.
pub fn fit_line(x: &[f64], y: &[f64]) -> Option<(f64, f64)> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    let (mx, my, sxx, sxy, _) = centred_moments(x, y);
    if sxx.is_nan() || sxx <= 0.0 {
        return None;
    }
    let beta = sxy / sxx;
    Some((my - beta * mx, beta))
}

/// OLS with intercept, also returning the residuals `y - alpha - beta x`.
pub fn ols_with_resid(x: &[f64], y: &[f64]) -> Result<(OlsResult, Vec<f64>)> {
    check_same_len("ols", x.len(), y.len())?;
    check_min_len("ols", x.len(), 3)?;
    let n = x.len();
    let (mx, my, sxx, sxy, syy) = centred_moments(x, y);
    if sxx.is_nan() || sxx <= 0.0 || !sxx.is_finite() {
        return Err(AnalyticsError::Singular("ols (x is constant)"));
    }
    let beta = sxy / sxx;
    let alpha = my - beta * mx;
    let resid: Vec<f64> = x.iter().zip(y).map(|(a, b)| b - alpha - beta * a).collect();
    let ssr: f64 = resid.iter().map(|r| r * r).sum();
    let df = n - 2;
    let s2 = ssr / df as f64;
    let nf = n as f64;
    let beta_stderr = (s2 / sxx).sqrt();
    let alpha_stderr = (s2 * (1.0 / nf + mx * mx / sxx)).sqrt();
    let alpha_tvalue = alpha / alpha_stderr;
    let beta_tvalue = beta / beta_stderr;
    let r2 = 1.0 - ssr / syy;
    let r2_adj = 1.0 - (1.0 - r2) * (nf - 1.0) / df as f64;
    let res = OlsResult {
        alpha,
        beta,
        alpha_stderr,
        beta_stderr,
        alpha_tvalue,
        beta_tvalue,
        alpha_pvalue: t_pvalue_two_sided(alpha_tvalue, df as f64),
        beta_pvalue: t_pvalue_two_sided(beta_tvalue, df as f64),
        r2,
        r2_adj,
        ssr,
        nobs: n,
        df_resid: df,
        resid_std: s2.sqrt(),
        resid_std_ddof1: std(&resid, 1),
        resid_std_ddof0: std(&resid, 0),
    };
    Ok((res, resid))
}

/// `statsmodels.OLS(y, add_constant(x)).fit()`: `y = alpha + beta x + e`.
pub fn ols(x: &[f64], y: &[f64]) -> Result<OlsResult> {
    ols_with_resid(x, y).map(|r| r.0)
}

/// The same regression on natural logs: `ln y = alpha + beta ln x + e`. Errors on non-positive
/// or non-finite prices.
pub fn ols_log(x: &[f64], y: &[f64]) -> Result<OlsResult> {
    let lx = log_prices(x)?;
    let ly = log_prices(y)?;
    ols(&lx, &ly)
}

fn log_prices(v: &[f64]) -> Result<Vec<f64>> {
    v.iter()
        .map(|&p| {
            if p.is_finite() && p > 0.0 {
                Ok(p.ln())
            } else {
                Err(AnalyticsError::InvalidInput(format!("log regression needs finite positive prices, got {p}")))
            }
        })
        .collect()
}
