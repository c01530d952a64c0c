//! Unit-root check of each leg: `adfuller` (reused from [`adf`](super::adf), statsmodels'
//! options) on the levels and on the first differences, so a report can say whether both legs
//! are I(1) — non-stationary in levels, stationary in differences — before Engle–Granger or
//! Johansen is meaningful. Python: `adfuller(x)` and `adfuller(np.diff(x))`.

use super::adf::{adfuller_with, AdfOptions, AdfResult};
use super::cancel::Cancel;
use super::error::Result;
use serde::Serialize;

/// ADF of one leg in levels and in first differences.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegAdf {
    /// `adfuller(x)`.
    pub levels: AdfResult,
    /// `adfuller(diff(x))`.
    pub diff: AdfResult,
    /// Levels not rejected and differences rejected at 5 % (the I(1) pattern).
    pub i1_at_5pct: bool,
}

/// ADF of `x` and of its first differences with the same options.
pub fn adf_levels_and_diff(x: &[f64], opts: &AdfOptions) -> Result<LegAdf> {
    adf_levels_and_diff_with(x, opts, &Cancel::never())
}

/// [`adf_levels_and_diff`], stopping with `Cancelled` once `cancel` is raised.
pub(crate) fn adf_levels_and_diff_with(x: &[f64], opts: &AdfOptions, cancel: &Cancel) -> Result<LegAdf> {
    let levels = adfuller_with(x, opts, cancel)?;
    let d: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    let diff = adfuller_with(&d, opts, cancel)?;
    let i1_at_5pct = levels.pvalue >= 0.05 && diff.pvalue < 0.05;
    Ok(LegAdf { levels, diff, i1_at_5pct })
}
