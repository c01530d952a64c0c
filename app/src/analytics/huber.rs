//! Robust regression `y = alpha + beta x` with Huber's T norm: statsmodels
//! `RLM(y, add_constant(x), M=HuberT(t)).fit()` with its defaults (IRLS from OLS, MAD scale about
//! zero updated every iteration, "deviance" convergence, H1 covariance).

use super::descriptive::{centred_moments, median_in_place};
use super::error::{check_min_len, check_same_len, AnalyticsError, Result};
use serde::{Deserialize, Serialize};

/// `Phi^-1(0.75)`, the MAD normalising constant.
pub const MAD_CONSTANT: f64 = 0.6744897501960817;

/// IRLS options (statsmodels defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HuberOptions {
    /// Huber threshold `t` (1.345).
    pub t: f64,
    /// Iteration cap (50), counting the OLS start as iteration 1.
    pub maxiter: usize,
    /// Deviance tolerance (1e-8).
    pub tol: f64,
}

impl Default for HuberOptions {
    fn default() -> Self {
        HuberOptions { t: 1.345, maxiter: 50, tol: 1e-8 }
    }
}

/// Result of [`huber_rlm`] (golden field names).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HuberResult {
    /// Intercept of the last weighted fit.
    pub alpha: f64,
    /// Slope of the last weighted fit.
    pub beta: f64,
    /// H1 standard error of alpha.
    pub alpha_stderr: f64,
    /// H1 standard error of beta.
    pub beta_stderr: f64,
    /// Last MAD scale `median(|r|) / 0.6745`.
    pub scale: f64,
    /// Final iteration counter (statsmodels semantics: 1 after the OLS start, +1 per weighted fit).
    pub iterations: usize,
}

/// Weighted least squares of `y = a + b x` (centred weighted sums).
fn wls(x: &[f64], y: &[f64], w: &[f64]) -> Option<(f64, f64)> {
    let sw: f64 = w.iter().sum();
    if sw.is_nan() || sw <= 0.0 {
        return None;
    }
    let mx = x.iter().zip(w).map(|(a, c)| a * c).sum::<f64>() / sw;
    let my = y.iter().zip(w).map(|(a, c)| a * c).sum::<f64>() / sw;
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for ((a, b), c) in x.iter().zip(y).zip(w) {
        let dx = a - mx;
        sxx += c * dx * dx;
        sxy += c * dx * (b - my);
    }
    if sxx.is_nan() || sxx <= 0.0 {
        return None;
    }
    let beta = sxy / sxx;
    Some((my - beta * mx, beta))
}

fn mad_scale(r: &[f64], buf: &mut Vec<f64>) -> f64 {
    buf.clear();
    buf.extend(r.iter().map(|v| v.abs()));
    median_in_place(buf) / MAD_CONSTANT
}

fn rho(z: f64, t: f64) -> f64 {
    let a = z.abs();
    if a <= t {
        0.5 * z * z
    } else {
        t * a - 0.5 * t * t
    }
}

/// Huber-T robust regression of `y` on `x` with intercept.
pub fn huber_rlm(x: &[f64], y: &[f64], opts: &HuberOptions) -> Result<HuberResult> {
    check_same_len("huber", x.len(), y.len())?;
    check_min_len("huber", x.len(), 3)?;
    if opts.t.is_nan() || opts.t <= 0.0 || opts.maxiter == 0 {
        return Err(AnalyticsError::InvalidParameter("huber: need t > 0 and maxiter >= 1".into()));
    }
    let n = x.len();
    let df = (n - 2) as f64;
    let t = opts.t;
    let mut w = vec![1.0; n];
    let mut r = vec![0.0; n];
    let mut buf = Vec::with_capacity(n);
    let fit_resid = |a: f64, b: f64, r: &mut [f64]| {
        for ((ri, xi), yi) in r.iter_mut().zip(x).zip(y) {
            *ri = yi - (a + b * xi);
        }
    };
    let deviance = |r: &[f64], w: &[f64]| -> f64 {
        let s2 = r.iter().zip(w).map(|(ri, wi)| wi * ri * ri).sum::<f64>() / df;
        r.iter().map(|ri| rho(ri / s2, t)).sum()
    };
    let (mut alpha, mut beta) = wls(x, y, &w).ok_or(AnalyticsError::Singular("huber (x is constant)"))?;
    fit_resid(alpha, beta, &mut r);
    let mut scale = mad_scale(&r, &mut buf);
    let mut dev_prev = deviance(&r, &w);
    let mut iteration = 1usize;
    // statsmodels always performs at least one weighted fit.
    {
        loop {
            if scale == 0.0 {
                break;
            }
            for (wi, ri) in w.iter_mut().zip(&r) {
                let z = (ri / scale).abs();
                *wi = if z <= t { 1.0 } else { t / z };
            }
            let (a, b) = wls(x, y, &w).ok_or(AnalyticsError::Singular("huber (weighted fit)"))?;
            alpha = a;
            beta = b;
            fit_resid(alpha, beta, &mut r);
            scale = mad_scale(&r, &mut buf);
            let dev = deviance(&r, &w);
            iteration += 1;
            let change = (dev - dev_prev).abs();
            dev_prev = dev;
            if !(change > opts.tol && iteration < opts.maxiter) {
                break;
            }
        }
    }
    if scale.is_nan() || scale <= 0.0 {
        return Err(AnalyticsError::Singular("huber (zero residual scale: perfect fit)"));
    }
    // H1 covariance.
    let p = 2.0;
    let nf = n as f64;
    let (mut ss_psi, mut s_dpsi) = (0.0, 0.0);
    for ri in &r {
        let z = ri / scale;
        let psi = z.clamp(-t, t);
        ss_psi += psi * psi;
        if z.abs() <= t {
            s_dpsi += 1.0;
        }
    }
    let m = s_dpsi / nf;
    let var_dpsi = r
        .iter()
        .map(|ri| {
            let d = if (ri / scale).abs() <= t { 1.0 } else { 0.0 };
            (d - m) * (d - m)
        })
        .sum::<f64>()
        / nf;
    let k = 1.0 + p / nf * var_dpsi / (m * m);
    let factor = k * k * (ss_psi / (nf - p)) * scale * scale / (m * m);
    let (mx, _, sxx, _, _) = centred_moments(x, y);
    let beta_stderr = (factor / sxx).sqrt();
    let alpha_stderr = (factor * (1.0 / nf + mx * mx / sxx)).sqrt();
    Ok(HuberResult { alpha, beta, alpha_stderr, beta_stderr, scale, iterations: iteration })
}
