//! Lo–MacKinlay variance-ratio test of the random-walk hypothesis: reproduces arch 8.0.0
//! `arch.unitroot.VarianceRatio(y, lags=q, trend="c", debiased=True, robust=True,
//! overlap=True)` — `vr`, `stat` and `pvalue` — on the levels `y` (a price or spread series).
//!
//! With drift `mu = (y_n - y_1)/(n - 1)`: `sigma2_1 = sum((dy - mu)^2)/(nq - 1)`,
//! `sigma2_q = sum((y_{t+q} - y_t - q mu)^2) / m`, `m = q (nq - q + 1)(1 - q/nq)`,
//! `vr = sigma2_q / sigma2_1`; the heteroskedasticity-robust variance
//! `theta = sum_{k<q} 4 (1 - k/q)^2 delta_k` (Lo & MacKinlay 1988, CLM 2.4.43);
//! `stat = sqrt(nq) (vr - 1) / sqrt(theta)`, two-sided normal p-value. `vr < 1` (negative
//! stat) indicates mean reversion.

use super::error::{AnalyticsError, Result};
use super::linalg::dot;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

/// The default horizons (`q`).
pub(crate) const DEFAULT_LAGS: [usize; 4] = [2, 4, 8, 16];

/// Result of [`variance_ratio`] for one horizon.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VarianceRatio {
    /// Horizon `q`.
    pub lags: usize,
    /// Variance ratio.
    pub vr: f64,
    /// Robust z statistic.
    pub stat: f64,
    /// Two-sided normal p-value.
    pub pvalue: f64,
}

/// Variance ratio of `y` at horizon `q >= 2` (arch's `VarianceRatio` with `trend="c"`,
/// debiased, robust, overlapping).
///
/// Errors: `q < 2`, fewer than `q + 2` observations (arch's minimum), non-finite values, a
/// series whose increments are all equal (zero variance).
pub fn variance_ratio(y: &[f64], q: usize) -> Result<VarianceRatio> {
    if q < 2 {
        return Err(AnalyticsError::InvalidParameter(format!("variance ratio lags must be >= 2, got {q}")));
    }
    let n = y.len();
    let need = q + 2;
    if n < need {
        return Err(AnalyticsError::TooShort { what: "variance ratio", have: n, need });
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(AnalyticsError::InvalidInput("variance ratio: series contains non-finite values".into()));
    }
    let mu = (y[n - 1] - y[0]) / (n - 1) as f64;
    let z: Vec<f64> = y.windows(2).map(|w| w[1] - w[0] - mu).collect();
    let nq = z.len();
    let nqf = nq as f64;
    let qf = q as f64;
    let z2: Vec<f64> = z.iter().map(|v| v * v).collect();
    let sum_z2: f64 = z2.iter().sum();
    let mut sigma2_1 = sum_z2 / nqf;
    let sq: f64 = y[q..].iter().zip(y).map(|(a, b)| (a - b - qf * mu).powi(2)).sum();
    let mut sigma2_q = sq / (nqf * qf);
    sigma2_1 *= nqf / (nqf - 1.0);
    let m = qf * (nqf - qf + 1.0) * (1.0 - (qf / nqf));
    sigma2_q *= (nqf * qf) / m;
    let scale = sum_z2 * sum_z2;
    let mut theta = 0.0;
    for k in 1..q {
        let d = dot(&z2[k..], &z2[..nq - k]);
        let delta = nqf * d / scale;
        theta += 4.0 * (1.0 - k as f64 / qf).powi(2) * delta;
    }
    let vr = sigma2_q / sigma2_1;
    let stat = nqf.sqrt() * (vr - 1.0) / theta.sqrt();
    if !vr.is_finite() || !stat.is_finite() {
        return Err(AnalyticsError::InvalidInput(
            "variance ratio: the increments have zero variance (a straight line)".into(),
        ));
    }
    let pvalue = 2.0 - 2.0 * Normal::standard().cdf(stat.abs());
    Ok(VarianceRatio { lags: q, vr, stat, pvalue })
}

/// [`variance_ratio`] at each horizon of `lags` (default [`DEFAULT_LAGS`]); one error fails all.
pub(crate) fn variance_ratios(y: &[f64], lags: &[usize]) -> Result<Vec<VarianceRatio>> {
    lags.iter().map(|&q| variance_ratio(y, q)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_an_error() {
        assert!(variance_ratio(&[1.0, 2.0, 3.0], 2).is_err());
        assert!(variance_ratio(&[1.0, 2.0, 3.0, 5.0], 1).is_err());
        let line: Vec<f64> = (0..30).map(|i| 2.0 * i as f64).collect();
        assert!(variance_ratio(&line, 4).is_err());
        let w: Vec<f64> = (0..30).map(|i| ((i * 7919) % 13) as f64).collect();
        let r = variance_ratio(&w, 4).unwrap();
        assert!(r.pvalue >= 0.0 && r.pvalue <= 1.0);
    }
}
