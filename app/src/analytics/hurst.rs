//! Hurst exponent of a series (a spread) as Hudson & Thames' ArbitrageLab computes it
//! (`arbitragelab.cointegration_approach.utils.get_hurst_exponent(x, max_lags=100)`): for
//! `lag = 2 .. max_lags - 1`, `tau(lag) = sqrt(np.std(x[lag:] - x[:-lag]))` (population std),
//! `np.polyfit(log(lags), log(tau), 1)`, `H = 2 * slope`. `H < 0.5` suggests mean reversion,
//! `0.5` a random walk, `> 0.5` trending.

use super::error::{AnalyticsError, Result};
use super::ols::fit_line;

/// ArbitrageLab's default `max_lags`.
pub(crate) const DEFAULT_MAX_LAGS: usize = 100;

/// Hurst exponent of `x` with lags `2..max_lags` (exclusive).
///
/// Errors: `max_lags < 4` (fewer than two lags to fit), `x.len() < max_lags + 1` (the longest
/// lag needs two differences), non-finite values, or a lag whose differences are all equal
/// (`tau = 0`, e.g. a constant or straight-line series).
pub fn hurst(x: &[f64], max_lags: usize) -> Result<f64> {
    if max_lags < 4 {
        return Err(AnalyticsError::InvalidParameter(format!("hurst max_lags must be >= 4, got {max_lags}")));
    }
    if x.len() < max_lags + 1 {
        return Err(AnalyticsError::TooShort { what: "hurst", have: x.len(), need: max_lags + 1 });
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(AnalyticsError::InvalidInput("hurst: series contains non-finite values".into()));
    }
    let mut log_lag = Vec::with_capacity(max_lags - 2);
    let mut log_tau = Vec::with_capacity(max_lags - 2);
    for lag in 2..max_lags {
        let tau = lag_std(x, lag).sqrt();
        if tau.is_nan() || tau <= 0.0 {
            return Err(AnalyticsError::InvalidInput(format!(
                "hurst: the {lag}-step differences have zero dispersion (constant or linear series)"
            )));
        }
        log_lag.push((lag as f64).ln());
        log_tau.push(tau.ln());
    }
    let (_, slope) = fit_line(&log_lag, &log_tau).ok_or(AnalyticsError::Singular("hurst"))?;
    Ok(2.0 * slope)
}

/// `np.std(x[lag:] - x[:-lag])` (population, two-pass: mean first, then centred squares), each
/// pass with four independent accumulators (a single `.sum()` chain is latency-bound; this is
/// the screener's hot loop: 98 lags per pair).
fn lag_std(x: &[f64], lag: usize) -> f64 {
    let m = x.len() - lag;
    let (a, b) = (&x[lag..], &x[..m]);
    let mean = sum4(a, b, |p, q| p - q) / m as f64;
    (sum4(a, b, |p, q| (p - q - mean) * (p - q - mean)) / m as f64).sqrt()
}

/// `sum_i f(a_i, b_i)` over equally long slices, four accumulators.
#[inline]
fn sum4(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(p, q)| f(*p, *q)).sum();
    let mut acc = [0.0f64; 4];
    for (p, q) in ca.zip(cb) {
        for ((s, p), q) in acc.iter_mut().zip(p).zip(q) {
            *s += f(*p, *q);
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Hurst exponent with `max_lags = min(100, n / 2)` (the basket / screener choice: the default
/// 100 where the sample allows, half the sample otherwise).
pub(crate) fn hurst_auto(x: &[f64]) -> Result<f64> {
    hurst(x, DEFAULT_MAX_LAGS.min(x.len() / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_an_error() {
        assert!(hurst(&[1.0; 200], 100).is_err());
        let line: Vec<f64> = (0..200).map(|i| i as f64).collect();
        assert!(hurst(&line, 100).is_err());
        assert!(hurst(&line[..50], 100).is_err());
        assert!(hurst(&line, 3).is_err());
        let w: Vec<f64> = (0..300).map(|i| (i as f64 * 1.7).sin()).collect();
        assert!(hurst(&w, 100).unwrap() < 0.5);
    }
}
