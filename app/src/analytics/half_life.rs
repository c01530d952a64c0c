//! Mean-reversion half-life of a spread: OLS `ds_t = a + b s_(t-1)`, `half_life = -ln 2 / b`.

use super::error::{check_min_len, AnalyticsError, Result};
use super::ols::fit_line;
use serde::Serialize;

/// Result of [`half_life`] (golden field names).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HalfLife {
    /// `b` of `ds_t = a + b s_(t-1)`.
    pub slope: f64,
    /// `a`.
    pub intercept: f64,
    /// `-ln(2) / b` in bars; null when `b >= 0` (no mean reversion).
    pub half_life: Option<f64>,
    /// Rows of the regression (`n - 1`).
    pub nobs: usize,
}

/// Half-life of mean reversion of `s` (natural log, in bars).
pub fn half_life(s: &[f64]) -> Result<HalfLife> {
    check_min_len("half_life", s.len(), 3)?;
    let lag = &s[..s.len() - 1];
    let ds: Vec<f64> = s.windows(2).map(|w| w[1] - w[0]).collect();
    let (intercept, slope) = fit_line(lag, &ds).ok_or(AnalyticsError::Singular("half_life (constant spread)"))?;
    let half_life = if slope < 0.0 { Some(-std::f64::consts::LN_2 / slope) } else { None };
    Ok(HalfLife { slope, intercept, half_life, nobs: ds.len() })
}
