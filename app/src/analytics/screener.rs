//! Pair screener: for every pair of N aligned close series, the OLS hedge `y = alpha + beta x`,
//! a stationarity test of its residual spread (ADF with lag selection, or Engle–Granger) and
//! the correlation of simple returns — the cells of the Screener page's heatmaps.
//!
//! [`rank_pairs`] (screener v2, `pairdesk screen`, the rank table) adds to each pair the
//! Engle–Granger p-value's Benjamini–Hochberg q-value over all pairs tested
//! ([`bh_qvalues_opt`]), and the spread's half-life, Hurst exponent and KPSS p-value, and the
//! pair's liquidity (the smaller of the two legs' per-bar volume), each from its own module.
//!
//! Work is spread over `threads` scoped OS threads pulling pairs from a shared counter
//! (dynamic balancing; ADF cost varies with the selected lag). With `threads <= 1`, and always
//! on wasm32 (no threads there), everything runs on the calling thread.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::adf::{adfuller, AdfOptions, Autolag};
use super::cancel::Cancel;
use super::coint::coint_from_residuals;
use super::error::{AnalyticsError, Result};
use super::half_life::half_life;
use super::hurst::hurst_auto;
use super::kpss::{kpss, KpssLags, KpssRegression, PBound};
use super::multitest::bh_qvalues_opt;
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
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
    screen_pair_resid(x, y, test).0
}

/// [`screen_pair`], also returning the OLS residual spread (None if the fit failed).
fn screen_pair_resid(x: &[f64], y: &[f64], test: ScreenTest) -> (PairScreen, Option<Vec<f64>>) {
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
            return (out, None);
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
    (out, Some(resid))
}

/// Error unless every series has the same length.
fn check_aligned(series: &[&[f64]]) -> Result<()> {
    if let Some(first) = series.first() {
        if let Some(bad) = series.iter().find(|s| s.len() != first.len()) {
            return Err(AnalyticsError::InvalidInput(format!(
                "screener: series lengths differ ({} vs {})",
                first.len(),
                bad.len()
            )));
        }
    }
    Ok(())
}

/// Screen every pair of `series` (all the same length: aligned closes). Results are in
/// [`pair_indices`] order; a pair whose fit or test fails carries `error` instead of numbers.
pub fn screen_pairs(series: &[&[f64]], opts: &ScreenOptions) -> Result<Vec<PairScreen>> {
    check_aligned(series)?;
    let pairs = pair_indices(series.len());
    let run = |k: usize| {
        let (i, j) = pairs[k];
        PairScreen { x: i, y: j, ..screen_pair(series[i], series[j], opts.test) }
    };
    Ok(par_map(pairs.len(), opts.threads, run))
}

/// `(0..count).map(run)` on up to `threads` scoped threads pulling indices from a shared
/// counter (one thread, and always on wasm32: the calling thread), results in index order.
fn par_map<T: Send>(count: usize, threads: usize, run: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = if cfg!(target_arch = "wasm32") { 1 } else { threads.clamp(1, count.max(1)) };
    if threads == 1 {
        return (0..count).map(run).collect();
    }
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<T>> = (0..count).map(|_| None).collect();
    let parts: Vec<Vec<(usize, T)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= count {
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
    // them on this thread rather than lose results.
    slots.into_iter().enumerate().map(|(k, r)| r.unwrap_or_else(|| run(k))).collect()
}

/// One row of the rank table: the heatmap fields of [`PairScreen`] (Engle–Granger) plus the
/// ranking statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairRank {
    /// OLS hedge, return correlation and the Engle–Granger statistic / p-value / lag.
    #[serde(flatten)]
    pub screen: PairScreen,
    /// Benjamini–Hochberg q-value of `pvalue` over every pair with a p-value.
    pub qvalue: Option<f64>,
    /// Half-life of the OLS spread, in bars (None: no mean reversion or failed).
    pub half_life: Option<f64>,
    /// Hurst exponent of the spread (`max_lags = min(100, n / 2)`).
    pub hurst: Option<f64>,
    /// KPSS ("c", auto lags) p-value of the spread, and whether it is a table bound.
    pub kpss_pvalue: Option<f64>,
    pub kpss_p_bound: Option<PBound>,
    /// Smaller of the two legs' liquidity (e.g. mean volume per bar), when given.
    pub liquidity: Option<f64>,
}

/// Screener v2: every pair of `series` with Engle–Granger (AIC), the BH q-values over all
/// pairs, half-life, Hurst and KPSS of each spread. `liquidity[i]` (if given, one per series)
/// becomes each pair's `min(liquidity[x], liquidity[y])`.
pub fn rank_pairs(series: &[&[f64]], liquidity: Option<&[f64]>, threads: usize) -> Result<Vec<PairRank>> {
    rank_pairs_with(series, liquidity, threads, &Cancel::never())
}

/// [`rank_pairs`], stopping with [`AnalyticsError::Cancelled`] soon after `cancel` is raised:
/// no pair starts once it is (a pair is at most a few ms of work), so a server's deadline or a
/// client that left frees the threads within moments.
pub fn rank_pairs_with(
    series: &[&[f64]],
    liquidity: Option<&[f64]>,
    threads: usize,
    cancel: &Cancel,
) -> Result<Vec<PairRank>> {
    check_aligned(series)?;
    if let Some(l) = liquidity.filter(|l| l.len() != series.len()) {
        return Err(AnalyticsError::LengthMismatch { what: "screener liquidity", left: l.len(), right: series.len() });
    }
    let pairs = pair_indices(series.len());
    let run = |k: usize| {
        let (i, j) = pairs[k];
        let (screen, resid) = if cancel.is_cancelled() {
            // Skipped: the whole result is refused below, so this row is never seen.
            (PairScreen::default(), None)
        } else {
            screen_pair_resid(series[i], series[j], ScreenTest::EngleGranger)
        };
        let mut row = PairRank {
            screen: PairScreen { x: i, y: j, ..screen },
            qvalue: None,
            half_life: None,
            hurst: None,
            kpss_pvalue: None,
            kpss_p_bound: None,
            liquidity: liquidity.map(|l| l[i].min(l[j])),
        };
        if let Some(s) = resid {
            row.half_life = half_life(&s).ok().and_then(|h| h.half_life);
            row.hurst = hurst_auto(&s).ok();
            if let Ok(k) = kpss(&s, KpssRegression::C, KpssLags::Auto) {
                (row.kpss_pvalue, row.kpss_p_bound) = (Some(k.pvalue), Some(k.p_bound));
            }
        }
        row
    };
    let mut rows = par_map(pairs.len(), threads, run);
    // The flag is never lowered: raised now if any pair was skipped.
    cancel.check()?;
    let p: Vec<Option<f64>> = rows.iter().map(|r| r.screen.pvalue).collect();
    for (r, q) in rows.iter_mut().zip(bh_qvalues_opt(&p)?) {
        r.qvalue = q;
    }
    Ok(rows)
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

    #[test]
    fn a_raised_token_stops_the_rank_and_an_unraised_one_changes_nothing() {
        let data: Vec<Vec<f64>> = (0..4).map(|k| walk(k + 21, 200)).collect();
        let series: Vec<&[f64]> = data.iter().map(Vec::as_slice).collect();
        let cancel = Cancel::new();
        let free = rank_pairs_with(&series, None, 2, &cancel).unwrap();
        assert_eq!(free, rank_pairs(&series, None, 2).unwrap());
        cancel.cancel();
        assert!(matches!(rank_pairs_with(&series, None, 2, &cancel), Err(AnalyticsError::Cancelled)));
    }

    #[test]
    fn rank_rows_reuse_the_single_implementations() {
        let data: Vec<Vec<f64>> = (0..5).map(|k| walk(k + 11, 400)).collect();
        let series: Vec<&[f64]> = data.iter().map(Vec::as_slice).collect();
        let liq = [5.0, 1.0, 3.0, 4.0, 2.0];
        let one = rank_pairs(&series, Some(&liq), 1).unwrap();
        let two = rank_pairs(&series, Some(&liq), 2).unwrap();
        assert_eq!(one, two);
        let eg = screen_pairs(&series, &ScreenOptions { test: ScreenTest::EngleGranger, threads: 1 }).unwrap();
        assert_eq!(one.iter().map(|r| r.screen.clone()).collect::<Vec<_>>(), eg);
        let p: Vec<f64> = eg.iter().map(|r| r.pvalue.unwrap()).collect();
        let q = super::super::multitest::bh_qvalues(&p).unwrap();
        assert_eq!(one.iter().map(|r| r.qvalue.unwrap()).collect::<Vec<_>>(), q);
        let (i, j) = (one[3].screen.x, one[3].screen.y);
        let resid = ols_with_resid(&data[i], &data[j]).unwrap().1;
        assert_eq!(one[3].hurst, hurst_auto(&resid).ok());
        assert_eq!(one[3].liquidity, Some(liq[i].min(liq[j])));
        assert!(rank_pairs(&series, Some(&liq[..2]), 1).is_err());
    }
}
