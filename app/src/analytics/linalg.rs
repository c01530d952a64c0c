//! Least squares with several regressors via Householder QR (used by ADF and cointegration).
//!
//! The QR factorisation of `[X | y]` gives, besides the full fit, the residual sum of squares of
//! every *nested* model that uses only the first `j` columns of `X` without refitting
//! (`ssr_j = ssr_k + sum_{i=j}^{k-1} (Q'y)_i^2`), which is what ADF lag selection needs.

use super::cancel::Cancel;
use super::error::{AnalyticsError, Result};
use nalgebra::DMatrix;

/// A classical OLS fit `y = X b + e` (no implicit constant: include a column of ones yourself).
#[derive(Debug, Clone, PartialEq)]
pub struct LstsqFit {
    /// Coefficients, in column order.
    pub params: Vec<f64>,
    /// Classical standard errors `sqrt(s^2 diag((X'X)^-1))`, `s^2 = ssr / df_resid`.
    pub bse: Vec<f64>,
    /// `params / bse`.
    pub tvalues: Vec<f64>,
    /// Residual sum of squares.
    pub ssr: f64,
    /// Number of observations.
    pub nobs: usize,
    /// `nobs - k`.
    pub df_resid: usize,
}

/// `sum a_i b_i` with four independent accumulators (a plain `.sum()` is one serial chain of
/// dependent additions: latency-bound and never vectorised).
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut acc = [0.0f64; 4];
    for (x, y) in ca.zip(cb) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Householder QR of `[X | y]`, column-major.
struct Qr {
    n: usize,
    k: usize,
    /// Transformed matrix, column-major `n x (k+1)`; the upper `k x k` triangle is `R`, the last
    /// column is `Q'y`.
    a: Vec<f64>,
}

impl Qr {
    fn new(cols: &[&[f64]], y: &[f64], cancel: &Cancel) -> Result<Qr> {
        let n = y.len();
        let k = cols.len();
        if k == 0 {
            return Err(AnalyticsError::InvalidParameter("least squares needs at least one regressor".into()));
        }
        if cols.iter().any(|c| c.len() != n) {
            return Err(AnalyticsError::LengthMismatch {
                what: "least squares",
                left: cols.iter().map(|c| c.len()).find(|&l| l != n).unwrap_or(n),
                right: n,
            });
        }
        if n < k {
            return Err(AnalyticsError::TooShort { what: "least squares", have: n, need: k });
        }
        let mut a = Vec::with_capacity(n * (k + 1));
        for c in cols {
            a.extend_from_slice(c);
        }
        a.extend_from_slice(y);
        let mut max_norm: f64 = 0.0;
        for c in cols {
            max_norm = max_norm.max(dot(c, c).sqrt());
        }
        let mut v = vec![0.0; n];
        for j in 0..k {
            // One Householder step is O(n k): check between steps.
            cancel.check()?;
            let col = &a[j * n + j..(j + 1) * n];
            let norm = dot(col, col).sqrt();
            if norm.is_nan() || norm <= max_norm * 1e-13 * (n as f64).sqrt() {
                return Err(AnalyticsError::Singular("least squares"));
            }
            let a_jj = col[0];
            let alpha = if a_jj > 0.0 { -norm } else { norm };
            let m = n - j;
            v[..m].copy_from_slice(col);
            v[0] = a_jj - alpha;
            let vtv: f64 = dot(&v[..m], &v[..m]);
            a[j * n + j] = alpha;
            for t in a[j * n + j + 1..(j + 1) * n].iter_mut() {
                *t = 0.0;
            }
            if vtv == 0.0 {
                continue;
            }
            for c in j + 1..=k {
                let cc = &mut a[c * n + j..(c + 1) * n];
                let s: f64 = dot(cc, &v[..m]);
                let f = 2.0 * s / vtv;
                for (p, q) in cc.iter_mut().zip(&v[..m]) {
                    *p -= f * q;
                }
            }
        }
        Ok(Qr { n, k, a })
    }

    fn r(&self, i: usize, j: usize) -> f64 {
        self.a[j * self.n + i]
    }

    fn qty(&self, i: usize) -> f64 {
        self.a[self.k * self.n + i]
    }

    fn ssr_full(&self) -> f64 {
        self.a[self.k * self.n + self.k..].iter().map(|t| t * t).sum()
    }

    /// `ssr` of the model with the first `j` columns (`1 <= j <= k`).
    fn ssr_nested(&self, j: usize) -> f64 {
        let mut s = self.ssr_full();
        for i in (j..self.k).rev() {
            s += self.qty(i) * self.qty(i);
        }
        s
    }

    /// Fit of the model with the first `j` columns.
    fn fit(&self, j: usize) -> Result<LstsqFit> {
        let r = DMatrix::from_fn(j, j, |i, c| if i <= c { self.r(i, c) } else { 0.0 });
        let qty = nalgebra::DVector::from_fn(j, |i, _| self.qty(i));
        let params = r.solve_upper_triangular(&qty).ok_or(AnalyticsError::Singular("least squares"))?;
        let rinv =
            r.solve_upper_triangular(&DMatrix::identity(j, j)).ok_or(AnalyticsError::Singular("least squares"))?;
        let ssr = self.ssr_nested(j);
        let df_resid = self.n - j;
        let s2 = ssr / df_resid as f64;
        let mut bse = Vec::with_capacity(j);
        for i in 0..j {
            let d: f64 = (0..j).map(|c| rinv[(i, c)] * rinv[(i, c)]).sum();
            bse.push((s2 * d).sqrt());
        }
        let params: Vec<f64> = params.iter().copied().collect();
        let tvalues = params.iter().zip(&bse).map(|(p, b)| p / b).collect();
        Ok(LstsqFit { params, bse, tvalues, ssr, nobs: self.n, df_resid })
    }
}

/// OLS of `y` on the given regressor columns (each of length `y.len()`).
pub fn lstsq(cols: &[&[f64]], y: &[f64]) -> Result<LstsqFit> {
    let qr = Qr::new(cols, y, &Cancel::never())?;
    qr.fit(cols.len())
}

/// Residual sums of squares of the nested models using the first `j` columns, for
/// `j = 1..=cols.len()` (element `j-1`). One QR factorisation for all of them.
pub fn nested_ssr(cols: &[&[f64]], y: &[f64]) -> Result<Vec<f64>> {
    nested_ssr_with(cols, y, &Cancel::never())
}

/// [`nested_ssr`], stopping with [`AnalyticsError::Cancelled`] once `cancel` is raised.
pub fn nested_ssr_with(cols: &[&[f64]], y: &[f64], cancel: &Cancel) -> Result<Vec<f64>> {
    let qr = Qr::new(cols, y, cancel)?;
    Ok((1..=cols.len()).map(|j| qr.ssr_nested(j)).collect())
}

/// Gaussian log-likelihood of an OLS fit as statsmodels computes it:
/// `-nobs/2 (ln(2 pi) + ln(ssr/nobs) + 1)`.
pub fn ols_llf(ssr: f64, nobs: usize) -> f64 {
    let n = nobs as f64;
    let n2 = n / 2.0;
    -n2 * (2.0 * std::f64::consts::PI).ln() - n2 * (ssr / n).ln() - n2
}
