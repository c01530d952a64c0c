//! Total least squares (orthogonal regression) hedge `y = alpha + beta x`: the line through the
//! means along the first principal axis of the demeaned legs, minimising perpendicular
//! distances — symmetric in the legs (swapping x and y gives `1 / beta`). Reference:
//! `numpy.linalg.svd(np.column_stack([x - x.mean(), y - y.mean()]))`, first right singular
//! vector `v`, `beta = v[1] / v[0]`, `alpha = mean(y) - beta mean(x)` (the same as
//! `scipy.odr` with equal weights on both legs, without its iterative solver).
//!
//! Closed form used here: with centred sums `sxx, sxy, syy` and `d = syy - sxx`,
//! `beta = (d + sqrt(d^2 + 4 sxy^2)) / (2 sxy)`, written as
//! `2 sxy / (sqrt(d^2 + 4 sxy^2) - d)` when `d < 0` to avoid cancellation.

use super::descriptive::centred_moments;
use super::error::{check_min_len, check_same_len, AnalyticsError, Result};
use serde::Serialize;

/// Result of [`tls`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TlsResult {
    /// Hedge ratio (slope of the principal axis).
    pub beta: f64,
    /// Intercept `mean(y) - beta mean(x)`.
    pub alpha: f64,
    /// Root mean squared perpendicular distance to the line (`sigma_min / sqrt(n)`).
    pub resid_orth_rms: f64,
}

/// Orthogonal regression of `y` on `x`.
///
/// Errors: different lengths, fewer than 3 points, non-finite values, a constant leg, or legs
/// with no linear relation (`sxy = 0`: the principal axis is undefined or vertical).
pub fn tls(x: &[f64], y: &[f64]) -> Result<TlsResult> {
    check_same_len("tls", x.len(), y.len())?;
    check_min_len("tls", x.len(), 3)?;
    if x.iter().chain(y).any(|v| !v.is_finite()) {
        return Err(AnalyticsError::InvalidInput("tls: legs contain non-finite values".into()));
    }
    let (mx, my, sxx, sxy, syy) = centred_moments(x, y);
    if sxx.is_nan() || syy.is_nan() || sxx <= 0.0 || syy <= 0.0 {
        return Err(AnalyticsError::Singular("tls (a leg is constant)"));
    }
    if sxy == 0.0 {
        return Err(AnalyticsError::Singular("tls (uncorrelated legs: no principal direction)"));
    }
    let d = syy - sxx;
    let root = d.hypot(2.0 * sxy);
    let beta = if d >= 0.0 { (d + root) / (2.0 * sxy) } else { 2.0 * sxy / (root - d) };
    let lambda_min = ((sxx + syy) - root) / 2.0;
    Ok(TlsResult { beta, alpha: my - beta * mx, resid_orth_rms: (lambda_min.max(0.0) / x.len() as f64).sqrt() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_and_typed_errors() {
        let x: Vec<f64> = (0..40).map(|i| i as f64 + ((i * 37) % 7) as f64 * 0.3).collect();
        let y: Vec<f64> = x.iter().enumerate().map(|(i, v)| 2.0 * v + 1.0 + ((i * 11) % 5) as f64 * 0.2).collect();
        let a = tls(&x, &y).unwrap();
        let b = tls(&y, &x).unwrap();
        assert!((a.beta * b.beta - 1.0).abs() < 1e-12);
        assert!(tls(&x, &[1.0; 40]).is_err());
        assert!(tls(&x[..2], &y[..2]).is_err());
        assert!(tls(&x, &y[..39]).is_err());
    }
}
