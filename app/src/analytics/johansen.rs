//! Johansen cointegration-rank test of 1–12 aligned series: reproduces statsmodels 0.15.0
//! `statsmodels.tsa.vector_ar.vecm.coint_johansen(endog, det_order, k_ar_diff)` — eigenvalues,
//! normalised eigenvectors (`evec`, the basket weights), trace (`lr1`) and maximum-eigenvalue
//! (`lr2`) statistics for every rank, and their 90/95/99 % critical values (`cvt`, `cvm`).
//!
//! The steps are statsmodels', in its order: detrend the levels (det_order 0: demean, 1: remove
//! a linear trend fitted on `linspace(-1, 1, n)`), difference, stack `k_ar_diff` lagged
//! differences, demean (det_order ≥ 0), take the residuals of the differences (`r0t`) and of the
//! levels `endog[1 .. n - k_ar_diff]` (`rkt`) on the lagged differences, form `S00`, `S0k`,
//! `Skk` and solve `S_k0 S00^-1 S0k v = λ Skk v`. statsmodels solves it with a general
//! `numpy.linalg.eig` of `Skk^-1 S_k0 S00^-1 S0k` and rescales the vectors so that
//! `V' Skk V = I`; this module solves the same generalised symmetric problem through the
//! Cholesky factor of `Skk` (same eigenvalues and `V' Skk V = I`, to rounding). Sign: statsmodels
//! multiplies the whole matrix by the sign of `evec[0][0]`, so the first eigenvector has a
//! positive first weight — reproduced here exactly. The signs of the other columns are whatever
//! LAPACK's `geev` returned, which is not reproducible; this module makes every column's first
//! non-zero element positive (so columns ≥ 1 equal statsmodels' up to sign).

use super::error::{check_min_len, AnalyticsError, Result};
use nalgebra::{DMatrix, SymmetricEigen};
use serde::Serialize;

/// Most series the critical-value tables cover.
pub(crate) const MAX_SERIES: usize = 12;

// Critical values, rows = number of series minus rank (1..=12), columns 90 %, 95 %, 99 %:
// statsmodels 0.15.0 `statsmodels/tsa/coint_tables.py` (`ejcp0/1/2` for the maximum-eigenvalue
// statistic, `tjcp0/1/2` for the trace statistic; MacKinnon, Haug & Michelis 1996, computed
// with MacKinnon's johdist.f), copied digit for digit. Index 0/1/2 = det_order -1/0/1.

const EJCP: [[[f64; 3]; 12]; 3] = [
    [
        [2.9762, 4.1296, 6.9406],
        [9.4748, 11.2246, 15.0923],
        [15.7175, 17.7961, 22.2519],
        [21.8370, 24.1592, 29.0609],
        [27.9160, 30.4428, 35.7359],
        [33.9271, 36.6301, 42.2333],
        [39.9085, 42.7679, 48.6606],
        [45.8930, 48.8795, 55.0335],
        [51.8528, 54.9629, 61.3449],
        [57.7954, 61.0404, 67.6415],
        [63.7248, 67.0756, 73.8856],
        [69.6513, 73.0946, 80.0937],
    ],
    [
        [2.7055, 3.8415, 6.6349],
        [12.2971, 14.2639, 18.5200],
        [18.8928, 21.1314, 25.8650],
        [25.1236, 27.5858, 32.7172],
        [31.2379, 33.8777, 39.3693],
        [37.2786, 40.0763, 45.8662],
        [43.2947, 46.2299, 52.3069],
        [49.2855, 52.3622, 58.6634],
        [55.2412, 58.4332, 64.9960],
        [61.2041, 64.5040, 71.2525],
        [67.1307, 70.5392, 77.4877],
        [73.0563, 76.5734, 83.7105],
    ],
    [
        [2.7055, 3.8415, 6.6349],
        [15.0006, 17.1481, 21.7465],
        [21.8731, 24.2522, 29.2631],
        [28.2398, 30.8151, 36.1930],
        [34.4202, 37.1646, 42.8612],
        [40.5244, 43.4183, 49.4095],
        [46.5583, 49.5875, 55.8171],
        [52.5858, 55.7302, 62.1741],
        [58.5316, 61.8051, 68.5030],
        [64.5292, 67.9040, 74.7434],
        [70.4630, 73.9355, 81.0678],
        [76.4081, 79.9878, 87.2395],
    ],
];

const TJCP: [[[f64; 3]; 12]; 3] = [
    [
        [2.9762, 4.1296, 6.9406],
        [10.4741, 12.3212, 16.3640],
        [21.7781, 24.2761, 29.5147],
        [37.0339, 40.1749, 46.5716],
        [56.2839, 60.0627, 67.6367],
        [79.5329, 83.9383, 92.7136],
        [106.7351, 111.7797, 121.7375],
        [137.9954, 143.6691, 154.7977],
        [173.2292, 179.5199, 191.8122],
        [212.4721, 219.4051, 232.8291],
        [255.6732, 263.2603, 277.9962],
        [302.9054, 311.1288, 326.9716],
    ],
    [
        [2.7055, 3.8415, 6.6349],
        [13.4294, 15.4943, 19.9349],
        [27.0669, 29.7961, 35.4628],
        [44.4929, 47.8545, 54.6815],
        [65.8202, 69.8189, 77.8202],
        [91.1090, 95.7542, 104.9637],
        [120.3673, 125.6185, 135.9825],
        [153.6341, 159.5290, 171.0905],
        [190.8714, 197.3772, 210.0366],
        [232.1030, 239.2468, 253.2526],
        [277.3740, 285.1402, 300.2821],
        [326.5354, 334.9795, 351.2150],
    ],
    [
        [2.7055, 3.8415, 6.6349],
        [16.1619, 18.3985, 23.1485],
        [32.0645, 35.0116, 41.0815],
        [51.6492, 55.2459, 62.5202],
        [75.1027, 79.3422, 87.7748],
        [102.4674, 107.3429, 116.9829],
        [133.7852, 139.2780, 150.0778],
        [169.0618, 175.1584, 187.1891],
        [208.3582, 215.1268, 228.2226],
        [251.6293, 259.0267, 273.3838],
        [298.8836, 306.8988, 322.4264],
        [350.1125, 358.7190, 375.3203],
    ],
];

/// statsmodels `c_sja(n, det_order)`: maximum-eigenvalue critical values (90, 95, 99 %) for `n`
/// series under the null (`n` = number of series minus the hypothesised rank), `None` outside
/// `1..=12` / `-1..=1`.
pub(crate) fn c_sja(n: usize, det_order: i32) -> Option<[f64; 3]> {
    table(&EJCP, n, det_order)
}

/// statsmodels `c_sjt(n, det_order)`: trace critical values (90, 95, 99 %).
pub(crate) fn c_sjt(n: usize, det_order: i32) -> Option<[f64; 3]> {
    table(&TJCP, n, det_order)
}

fn table(t: &[[[f64; 3]; 12]; 3], n: usize, det_order: i32) -> Option<[f64; 3]> {
    let d = usize::try_from(det_order + 1).ok()?;
    t.get(d)?.get(n.checked_sub(1)?).copied()
}

/// Result of [`coint_johansen`] (statsmodels attribute names).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JohansenResult {
    /// Deterministic terms: -1 none, 0 constant, 1 linear trend.
    pub det_order: i32,
    /// Lagged differences in the VECM.
    pub k_ar_diff: usize,
    /// Rows of the residual regressions (`n - 1 - k_ar_diff`).
    pub nobs: usize,
    /// Eigenvalues, largest first.
    pub eig: Vec<f64>,
    /// Eigenvectors: `evec[i][j]` = weight of series `i` in eigenvector `j` (statsmodels'
    /// `evec`, rows = series). Column 0 is the basket: its first weight is positive.
    pub evec: Vec<Vec<f64>>,
    /// Trace statistic for H0: rank <= r, `r = 0..k`.
    pub lr1: Vec<f64>,
    /// Maximum-eigenvalue statistic for H0: rank = r against r + 1.
    pub lr2: Vec<f64>,
    /// Trace critical values (90, 95, 99 %) per rank.
    pub cvt: Vec<[f64; 3]>,
    /// Maximum-eigenvalue critical values (90, 95, 99 %) per rank.
    pub cvm: Vec<[f64; 3]>,
}

impl JohansenResult {
    /// The first (largest-eigenvalue) eigenvector: the basket weights.
    pub(crate) fn weights(&self) -> Vec<f64> {
        self.evec.iter().map(|row| row[0]).collect()
    }

    /// Rank chosen by the sequential trace test at 95 %: the first `r` whose trace statistic is
    /// below its critical value (`k` if none is).
    pub fn trace_rank_95(&self) -> usize {
        self.lr1.iter().zip(&self.cvt).position(|(s, c)| *s < c[1]).unwrap_or(self.lr1.len())
    }
}

/// Residuals of `y` (columns) on `z` (least squares projection; `z` with no columns = `y`).
fn resid_on(y: &DMatrix<f64>, z: &DMatrix<f64>) -> Result<DMatrix<f64>> {
    if z.ncols() == 0 {
        return Ok(y.clone());
    }
    if z.nrows() <= z.ncols() {
        return Err(AnalyticsError::TooShort {
            what: "johansen (lagged differences)",
            have: z.nrows(),
            need: z.ncols() + 1,
        });
    }
    let qr = z.clone().qr();
    let r = qr.r();
    let scale = (0..r.ncols()).map(|i| r[(i, i)].abs()).fold(0.0, f64::max);
    if (0..r.ncols()).any(|i| r[(i, i)].is_nan() || r[(i, i)].abs() <= scale * 1e-12) {
        return Err(AnalyticsError::Singular("johansen (lagged differences)"));
    }
    let q = qr.q();
    let proj = &q * (q.transpose() * y);
    Ok(y - proj)
}

fn demean_columns(m: &mut DMatrix<f64>) {
    for mut c in m.column_iter_mut() {
        let mean = c.iter().sum::<f64>() / c.len() as f64;
        c.iter_mut().for_each(|v| *v -= mean);
    }
}

/// statsmodels' `detrend(y, 1)`: residuals of each column on `[linspace(-1, 1, n), 1]`.
fn detrend_linear(m: &mut DMatrix<f64>) -> Result<()> {
    let n = m.nrows();
    let step = 2.0 / (n - 1) as f64;
    // numpy.linspace: start + i * step, the last point exactly `stop`.
    let t: Vec<f64> = (0..n).map(|i| if i + 1 == n { 1.0 } else { -1.0 + i as f64 * step }).collect();
    for mut c in m.column_iter_mut() {
        let col: Vec<f64> = c.iter().copied().collect();
        let (a, b) = super::ols::fit_line(&t, &col).ok_or(AnalyticsError::Singular("johansen (detrend)"))?;
        c.iter_mut().zip(&t).for_each(|(v, ti)| *v -= a + b * ti);
    }
    Ok(())
}

/// `coint_johansen(endog, det_order, k_ar_diff)` for `series` (each one column of `endog`, all
/// the same length).
///
/// Errors: fewer than one or more than 12 series, different lengths, non-finite
/// values, `det_order` outside `-1..=1`, too few observations for the lags, or singular moment
/// matrices (a constant series, collinear legs).
pub fn coint_johansen(series: &[&[f64]], det_order: i32, k_ar_diff: usize) -> Result<JohansenResult> {
    let k = series.len();
    if k == 0 || k > MAX_SERIES {
        return Err(AnalyticsError::InvalidParameter(format!("johansen needs 1 to {MAX_SERIES} series, got {k}")));
    }
    if !(-1..=1).contains(&det_order) {
        return Err(AnalyticsError::InvalidParameter(format!(
            "johansen det_order must be -1, 0 or 1, got {det_order}"
        )));
    }
    let n = series[0].len();
    if let Some(bad) = series.iter().find(|s| s.len() != n) {
        return Err(AnalyticsError::LengthMismatch { what: "johansen", left: n, right: bad.len() });
    }
    if series.iter().any(|s| s.iter().any(|v| !v.is_finite())) {
        return Err(AnalyticsError::InvalidInput("johansen: series contain non-finite values".into()));
    }
    // Rows of the residual regressions must exceed the regressors (k lags x k series + mean).
    let need = k_ar_diff.saturating_mul(k).saturating_add(k).saturating_add(k_ar_diff).saturating_add(3);
    check_min_len("johansen", n, need)?;
    let mut endog = DMatrix::from_fn(n, k, |i, j| series[j][i]);
    match det_order {
        0 => demean_columns(&mut endog),
        1 => detrend_linear(&mut endog)?,
        _ => {}
    }
    let demean = det_order >= 0;
    let dx_all = DMatrix::from_fn(n - 1, k, |i, j| endog[(i + 1, j)] - endog[(i, j)]);
    let m = n - 1 - k_ar_diff;
    // lagmat(dx, k_ar_diff)[k_ar_diff:]: columns lag 1 (all series), lag 2, ...
    let mut z = DMatrix::from_fn(m, k * k_ar_diff, |i, c| {
        let (lag, j) = (c / k + 1, c % k);
        dx_all[(i + k_ar_diff - lag, j)]
    });
    let mut dx = dx_all.rows(k_ar_diff, m).into_owned();
    let mut lx = endog.rows(1, m).into_owned();
    if demean {
        demean_columns(&mut z);
        demean_columns(&mut dx);
        demean_columns(&mut lx);
    }
    let r0t = resid_on(&dx, &z)?;
    let rkt = resid_on(&lx, &z)?;
    let t = m as f64;
    let skk = rkt.transpose() * &rkt / t;
    let sk0 = rkt.transpose() * &r0t / t;
    let s00 = r0t.transpose() * &r0t / t;
    let s00_chol =
        s00.cholesky().ok_or(AnalyticsError::Singular("johansen (S00: a leg's differences are degenerate)"))?;
    let sig = &sk0 * s00_chol.solve(&sk0.transpose());
    let skk_chol = skk.cholesky().ok_or(AnalyticsError::Singular("johansen (Skk: constant or collinear legs)"))?;
    let l = skk_chol.l();
    // M = L^-1 sig L^-T (symmetric), eigenvectors v = L^-T w.
    let linv_sig = l.solve_lower_triangular(&sig).ok_or(AnalyticsError::Singular("johansen (Skk)"))?;
    let msym = l.solve_lower_triangular(&linv_sig.transpose()).ok_or(AnalyticsError::Singular("johansen (Skk)"))?;
    let msym = (&msym + msym.transpose()) * 0.5;
    let eig = SymmetricEigen::new(msym);
    let vecs =
        l.transpose().solve_upper_triangular(&eig.eigenvectors).ok_or(AnalyticsError::Singular("johansen (Skk)"))?;
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let eigs: Vec<f64> = order.iter().map(|&i| eig.eigenvalues[i]).collect();
    if eigs.iter().any(|a| !a.is_finite() || *a >= 1.0) {
        return Err(AnalyticsError::Singular("johansen (an eigenvalue reached 1: perfectly collinear differences)"));
    }
    let mut evec = vec![vec![0.0; k]; k];
    for (jj, &src) in order.iter().enumerate() {
        let col = vecs.column(src);
        let sign = col.iter().find(|v| **v != 0.0).map_or(1.0, |v| v.signum());
        for i in 0..k {
            evec[i][jj] = col[i] * sign;
        }
    }
    let mut lr1 = Vec::with_capacity(k);
    let mut lr2 = Vec::with_capacity(k);
    let mut cvt = Vec::with_capacity(k);
    let mut cvm = Vec::with_capacity(k);
    for i in 0..k {
        lr1.push(-t * eigs[i..].iter().map(|a| (1.0 - a).ln()).sum::<f64>());
        lr2.push(-t * (1.0 - eigs[i]).ln());
        cvt.push(c_sjt(k - i, det_order).unwrap_or([f64::NAN; 3]));
        cvm.push(c_sja(k - i, det_order).unwrap_or([f64::NAN; 3]));
    }
    Ok(JohansenResult { det_order, k_ar_diff, nobs: m, eig: eigs, evec, lr1, lr2, cvt, cvm })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_bounded_and_errors_are_typed() {
        assert_eq!(c_sjt(1, 0), Some([2.7055, 3.8415, 6.6349]));
        assert_eq!(c_sja(12, -1), Some([69.6513, 73.0946, 80.0937]));
        assert_eq!(c_sjt(13, 0), None);
        assert_eq!(c_sjt(0, 0), None);
        assert_eq!(c_sjt(2, 2), None);
        let a: Vec<f64> = (0..50).map(|i| (i as f64 * 0.37).sin() + i as f64 * 0.1).collect();
        let b: Vec<f64> = (0..50).map(|i| (i as f64 * 0.91).cos() + i as f64 * 0.05).collect();
        assert!(matches!(coint_johansen(&[], 0, 1), Err(AnalyticsError::InvalidParameter(_))));
        assert!(matches!(coint_johansen(&[&a, &b], 2, 1), Err(AnalyticsError::InvalidParameter(_))));
        assert!(matches!(coint_johansen(&[&a, &b[..40]], 0, 1), Err(AnalyticsError::LengthMismatch { .. })));
        assert!(matches!(coint_johansen(&[&a[..5], &b[..5]], 0, 1), Err(AnalyticsError::TooShort { .. })));
        let c = vec![3.0; 50];
        assert!(coint_johansen(&[&a, &c], 0, 1).is_err());
        let r = coint_johansen(&[&a, &b], 0, 1).unwrap();
        assert!(r.evec[0][0] > 0.0);
        assert!(r.lr1[0] >= r.lr1[1] && r.lr1[1] == r.lr2[1]);
    }
}
