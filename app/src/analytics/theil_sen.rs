//! Theil–Sen slope with Sen's (1968) confidence interval (scipy `theilslopes(y, x, 0.95,
//! method="separate")`), computed by selection on the pairwise slopes (exact, no sorting).

use super::cancel::Cancel;
use super::descriptive::median_in_place;
use super::error::{check_min_len, check_same_len, AnalyticsError, Result};
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

/// Result of [`theil_sen`] (golden field names).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TheilSenResult {
    /// Median of the pairwise slopes over pairs with distinct x.
    pub slope: f64,
    /// `median(y) - slope * median(x)` (scipy's "separate").
    pub intercept: f64,
    /// `median(y - slope * x)` (scipy's "joint").
    pub intercept_joint: f64,
    /// Lower confidence bound of the slope.
    pub low_slope: f64,
    /// Upper confidence bound of the slope.
    pub high_slope: f64,
    /// Number of pairwise slopes.
    pub n_slopes: usize,
}

/// Sum over values repeated `k > 1` times of `k (k-1) (2k+5)`.
fn tie_term(v: &[f64]) -> i128 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let mut total: i128 = 0;
    let mut i = 0;
    while i < s.len() {
        let mut j = i + 1;
        while j < s.len() && s[j] == s[i] {
            j += 1;
        }
        let k = (j - i) as i128;
        if k > 1 {
            total += k * (k - 1) * (2 * k + 5);
        }
        i = j;
    }
    total
}

/// Value of rank `k` (0-based, ascending) within `v` (reorders `v`).
fn select(v: &mut [f64], k: usize) -> f64 {
    *v.select_nth_unstable_by(k, f64::total_cmp).1
}

/// Theil–Sen estimator with a `conf` (e.g. 0.95) confidence interval for the slope.
pub fn theil_sen(x: &[f64], y: &[f64], conf: f64) -> Result<TheilSenResult> {
    theil_sen_with(x, y, conf, &Cancel::never())
}

/// [`theil_sen`], stopping with [`AnalyticsError::Cancelled`] once `cancel` is raised (checked
/// while the `n (n-1) / 2` slopes are formed, and before the selections).
pub fn theil_sen_with(x: &[f64], y: &[f64], conf: f64, cancel: &Cancel) -> Result<TheilSenResult> {
    check_same_len("theil_sen", x.len(), y.len())?;
    check_min_len("theil_sen", x.len(), 2)?;
    if x.iter().chain(y).any(|v| !v.is_finite()) {
        return Err(AnalyticsError::InvalidInput("theil_sen: non-finite values".into()));
    }
    if !(conf > 0.0 && conf < 1.0) {
        return Err(AnalyticsError::InvalidParameter("theil_sen: confidence must be in (0, 1)".into()));
    }
    let n = x.len();
    let mut slopes = Vec::with_capacity(n * (n - 1) / 2);
    for j in 0..n {
        if j % 64 == 0 {
            cancel.check()?;
        }
        let (xj, yj) = (x[j], y[j]);
        for i in 0..j {
            let dx = xj - x[i];
            if dx > 0.0 {
                slopes.push((yj - y[i]) / dx);
            } else if dx < 0.0 {
                slopes.push((y[i] - yj) / (x[i] - xj));
            }
        }
    }
    cancel.check()?;
    let nt = slopes.len();
    if nt == 0 {
        return Err(AnalyticsError::Singular("theil_sen (all x equal)"));
    }
    // CI ranks (Sen 1968, eq. 2.6), as scipy computes them.
    let a = if conf > 0.5 { 1.0 - conf } else { conf };
    let z = if a == 1.0 - 0.95 || a == 0.05 { -1.959963984540054 } else { Normal::standard().inverse_cdf(a / 2.0) };
    let ny = n as i128;
    let sig_int = ny * (ny - 1) * (2 * ny + 5) - tie_term(x) - tie_term(y);
    let sigma = ((1.0 / 18.0) * sig_int as f64).sqrt();
    let ntf = nt as f64;
    let ru = (((ntf - z * sigma) / 2.0).round_ties_even() as i64).min(nt as i64 - 1).max(0) as usize;
    let rl = ((((ntf + z * sigma) / 2.0).round_ties_even() as i64) - 1).max(0).min(nt as i64 - 1) as usize;

    // Median by selection; the CI ranks are selected inside the partition they fall into.
    let mid = nt / 2;
    let m_hi = select(&mut slopes, mid);
    let (left, right) = slopes.split_at_mut(mid);
    let slope = if nt % 2 == 1 {
        m_hi
    } else {
        let m_lo = left.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (m_lo + m_hi) / 2.0
    };
    let rank = |k: usize, left: &mut [f64], right: &mut [f64]| -> f64 {
        if k < mid {
            select(left, k)
        } else if k == mid {
            m_hi
        } else {
            select(&mut right[1..], k - mid - 1)
        }
    };
    let low_slope = rank(rl, left, right);
    let high_slope = rank(ru, left, right);

    let mut bx = x.to_vec();
    let mut by = y.to_vec();
    let intercept = median_in_place(&mut by) - slope * median_in_place(&mut bx);
    let mut joint: Vec<f64> = x.iter().zip(y).map(|(a, b)| b - slope * a).collect();
    let intercept_joint = median_in_place(&mut joint);
    Ok(TheilSenResult { slope, intercept, intercept_joint, low_slope, high_slope, n_slopes: nt })
}
