//! Pair screener: for every pair of N aligned close series, the OLS hedge `y = alpha + beta x`,
//! a stationarity test of its residual spread (ADF with lag selection, or Engle–Granger) and
//! the correlation of simple returns — the cells of the Screener page's heatmaps.
//!
//! Work is spread over `threads` scoped OS threads pulling pairs from a shared counter
//! (dynamic balancing; ADF cost varies with the selected lag). With `threads <= 1`, and always
//! on wasm32 (no threads there), everything runs on the calling thread.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::adf::{adfuller, AdfOptions, Autolag};
use super::coint::coint_from_residuals;
use super::error::{AnalyticsError, Result};
use super::ols::ols_with_resid;

/// Which test is run on each pair's residual spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenTest {
    /// `adfuller(resid, ...)` with these options (the Python peers' screener: "c", AIC).
    Adf(AdfOptions),
    /// Engle–Granger (`coint(y, x)`: ADF "n" on the residuals, MacKinnon N = 2 p-value).
    EngleGranger,
}

/// Options of [`screen_pairs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenOptions {
    pub test: ScreenTest,
    /// Worker threads (1 = the calling thread only).
    pub threads: usize,
}

impl Default for ScreenOptions {
    fn default() -> Self {
        ScreenOptions { test: ScreenTest::Adf(AdfOptions::default()), threads: 1 }
    }
}

/// One screened pair: series `y` regressed on series `x` (indices into the input, `x < y`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairScreen {
    pub x: usize,
    pub y: usize,
    /// OLS hedge ratio, intercept and r² (None if the regression failed).
    pub beta: Option<f64>,
    pub alpha: Option<f64>,
    pub r2: Option<f64>,
    /// Pearson correlation of the two series' simple returns (None if undefined).
    pub corr: Option<f64>,
    /// Test statistic, p-value and selected lag of the residual test.
    pub stat: Option<f64>,
    pub pvalue: Option<f64>,
    pub usedlag: Option<usize>,
    /// Why a stage failed, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// All `(i, j)` with `i < j < n`, in row-major order (`n (n-1) / 2` pairs).
pub fn pair_indices(n: usize) -> Vec<(usize, usize)> {
    (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).collect()
}

fn return_corr(x: &[f64], y: &[f64]) -> Option<f64> {
    let m = x.len().min(y.len()).saturating_sub(1);
    if m < 2 {
        return None;
    }
    let rx = |k: usize| x[k + 1] / x[k] - 1.0;
    let ry = |k: usize| y[k + 1] / y[k] - 1.0;
    let (mx, my) = ((0..m).map(rx).sum::<f64>() / m as f64, (0..m).map(ry).sum::<f64>() / m as f64);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for k in 0..m {
        let (a, b) = (rx(k) - mx, ry(k) - my);
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    let c = sxy / (sxx * syy).sqrt();
    c.is_finite().then_some(c)
}

/// Screen one pair.
pub fn screen_pair(x: &[f64], y: &[f64], test: ScreenTest) -> PairScreen {
    let mut out = PairScreen {
        x: 0,
        y: 0,
        beta: None,
        alpha: None,
        r2: None,
        corr: return_corr(x, y),
        stat: None,
        pvalue: None,
        usedlag: None,
        error: None,
    };
    let (fit, resid) = match ols_with_resid(x, y) {
        Ok(v) => v,
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    (out.beta, out.alpha, out.r2) = (Some(fit.beta), Some(fit.alpha), Some(fit.r2));
    let tested = match test {
        ScreenTest::Adf(opts) => adfuller(&resid, &opts).map(|r| (r.stat, r.pvalue, Some(r.usedlag))),
        ScreenTest::EngleGranger => coint_from_residuals(&resid, fit.r2, Some(Autolag::Aic), None)
            .map(|c| (c.stat, c.pvalue, c.resid_adf_usedlag)),
    };
    match tested {
        Ok((stat, p, lag)) => (out.stat, out.pvalue, out.usedlag) = (Some(stat), Some(p), lag),
        Err(e) => out.error = Some(e.to_string()),
    }
    out
}

/// Screen every pair of `series` (all the same length: aligned closes). Results are in
/// [`pair_indices`] order; a pair whose fit or test fails carries `error` instead of numbers.
pub fn screen_pairs(series: &[&[f64]], opts: &ScreenOptions) -> Result<Vec<PairScreen>> {
    if let Some(first) = series.first() {
        if let Some(bad) = series.iter().find(|s| s.len() != first.len()) {
            return Err(AnalyticsError::InvalidInput(format!(
                "screener: series lengths differ ({} vs {})",
                first.len(),
                bad.len()
            )));
        }
    }
    let pairs = pair_indices(series.len());
    let run = |k: usize| {
        let (i, j) = pairs[k];
        PairScreen { x: i, y: j, ..screen_pair(series[i], series[j], opts.test) }
    };
    let threads = if cfg!(target_arch = "wasm32") { 1 } else { opts.threads.clamp(1, pairs.len().max(1)) };
    if threads == 1 {
        return Ok((0..pairs.len()).map(run).collect());
    }
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<PairScreen>> = vec![None; pairs.len()];
    let parts: Vec<Vec<(usize, PairScreen)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= pairs.len() {
                            break done;
                        }
                        done.push((k, run(k)));
                    }
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_default()).collect()
    });
    for (k, r) in parts.into_iter().flatten() {
        slots[k] = Some(r);
    }
    // A worker that panicked (it cannot: every stage returns errors) would leave holes; fill
    // them on this thread rather than lose pairs.
    Ok(slots.into_iter().enumerate().map(|(k, r)| r.unwrap_or_else(|| run(k))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(seed: u64, n: usize) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut v = 100.0;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                v *= 1.0 + ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.01;
                v
            })
            .collect()
    }

    #[test]
    fn threaded_equals_sequential_and_single_pair() {
        let data: Vec<Vec<f64>> = (0..6).map(|k| walk(k + 1, 300)).collect();
        let series: Vec<&[f64]> = data.iter().map(Vec::as_slice).collect();
        let one = screen_pairs(&series, &ScreenOptions::default()).unwrap();
        let two = screen_pairs(&series, &ScreenOptions { threads: 2, ..ScreenOptions::default() }).unwrap();
        assert_eq!(one.len(), 15);
        assert_eq!(one, two);
        let (i, j) = (one[7].x, one[7].y);
        let direct = adfuller(&ols_with_resid(&data[i], &data[j]).unwrap().1, &AdfOptions::default()).unwrap();
        assert_eq!(one[7].stat, Some(direct.stat));
        assert_eq!(one[7].beta, Some(ols_with_resid(&data[i], &data[j]).unwrap().0.beta));
        let eg = screen_pairs(&series, &ScreenOptions { test: ScreenTest::EngleGranger, threads: 2 }).unwrap();
        let c = super::super::coint::coint(&data[j], &data[i], Some(Autolag::Aic), None).unwrap();
        assert_eq!(eg[7].pvalue, Some(c.pvalue));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let a = [1.0, 2.0, 3.0];
        let b = [1.0, 2.0];
        assert!(screen_pairs(&[&a, &b], &ScreenOptions::default()).is_err());
        let c = [1.0, 1.0, 1.0];
        let r = screen_pairs(&[&a, &c], &ScreenOptions { threads: 2, ..ScreenOptions::default() }).unwrap();
        assert!(r[0].error.is_some());
        assert!(screen_pairs(&[], &ScreenOptions::default()).unwrap().is_empty());
    }
}
