//! Spreads, rolling mean / std / z-score, simple returns, rolling correlation and rolling OLS
//! (pandas `rolling(W)` semantics with `min_periods = W`: a window that is not full or that
//! contains a null yields null). Batch versions compute every window with a two-pass formula.

use super::cancel::{Cancel, CHECK_EVERY};
use super::descriptive::centred_moments;
use super::error::{AnalyticsError, Result};
use serde::Serialize;

/// `y - beta x - alpha` (use `alpha = 0.0` for the "no alpha" spread; it does not refit).
pub fn spread(x: &[f64], y: &[f64], alpha: f64, beta: f64) -> Vec<f64> {
    x.iter().zip(y).map(|(a, b)| b - beta * a - alpha).collect()
}

/// Rolling z-score of a series (`s.rolling(W).mean()`, `.std(ddof=1)`, `.std(ddof=0)`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZScore {
    /// Window length `W`.
    pub window: usize,
    /// Name of the series the z-score is of (e.g. `"spread_with_alpha"`).
    pub of: String,
    /// Rolling mean over `[t-W+1, t]`.
    pub mean: Vec<Option<f64>>,
    /// Rolling sample std (ddof 1).
    pub std_ddof1: Vec<Option<f64>>,
    /// `(s_t - mean_t) / std_ddof1_t`.
    pub z_ddof1: Vec<Option<f64>>,
    /// Rolling population std (ddof 0).
    pub std_ddof0: Vec<Option<f64>>,
    /// `(s_t - mean_t) / std_ddof0_t`.
    pub z_ddof0: Vec<Option<f64>>,
}

fn check_window(window: usize) -> Result<()> {
    if window == 0 {
        Err(AnalyticsError::InvalidParameter("rolling window must be >= 1".into()))
    } else {
        Ok(())
    }
}

fn ratio(num: f64, den: f64) -> Option<f64> {
    let z = num / den;
    if z.is_finite() {
        Some(z)
    } else {
        None
    }
}

/// Rolling z-score of a complete series (see [`rolling_zscore_opt`]).
pub fn rolling_zscore(s: &[f64], window: usize, of: &str) -> Result<ZScore> {
    rolling_zscore_with(s, window, of, &Cancel::never())
}

/// [`rolling_zscore`], stopping with [`AnalyticsError::Cancelled`] once `cancel` is raised.
pub fn rolling_zscore_with(s: &[f64], window: usize, of: &str, cancel: &Cancel) -> Result<ZScore> {
    let opt: Vec<Option<f64>> = s.iter().map(|v| Some(*v)).collect();
    rolling_zscore_opt_with(&opt, window, of, cancel)
}

/// Rolling mean, std (ddof 1 and 0) and z-score over the trailing window `[t-W+1, t]` including
/// the current point; null while the window is not full or contains a null. A zero-variance
/// window gives a null z (and ddof-1 std of a 1-point window is null).
pub fn rolling_zscore_opt(s: &[Option<f64>], window: usize, of: &str) -> Result<ZScore> {
    rolling_zscore_opt_with(s, window, of, &Cancel::never())
}

/// [`rolling_zscore_opt`], stopping with [`AnalyticsError::Cancelled`] once `cancel` is raised.
pub fn rolling_zscore_opt_with(s: &[Option<f64>], window: usize, of: &str, cancel: &Cancel) -> Result<ZScore> {
    check_window(window)?;
    let n = s.len();
    let mut out = ZScore {
        window,
        of: of.to_string(),
        mean: vec![None; n],
        std_ddof1: vec![None; n],
        z_ddof1: vec![None; n],
        std_ddof0: vec![None; n],
        z_ddof0: vec![None; n],
    };
    // `window` comes from users: never reserve more than the series holds.
    let mut buf = Vec::with_capacity(window.min(n));
    for t in window.saturating_sub(1)..n {
        if t % CHECK_EVERY == 0 {
            cancel.check()?;
        }
        buf.clear();
        for v in &s[t + 1 - window..=t] {
            match v {
                Some(a) => buf.push(*a),
                None => break,
            }
        }
        if buf.len() < window {
            continue;
        }
        let w = window as f64;
        let m = buf.iter().sum::<f64>() / w;
        let ss: f64 = buf.iter().map(|a| (a - m) * (a - m)).sum();
        let sd0 = (ss / w).sqrt();
        let sd1 = if window > 1 { (ss / (w - 1.0)).sqrt() } else { f64::NAN };
        let d = buf[window - 1] - m;
        out.mean[t] = Some(m);
        out.std_ddof0[t] = Some(sd0);
        out.z_ddof0[t] = ratio(d, sd0);
        if sd1.is_finite() {
            out.std_ddof1[t] = Some(sd1);
            out.z_ddof1[t] = ratio(d, sd1);
        }
    }
    Ok(out)
}

/// Simple returns `v_t / v_(t-1) - 1` (pandas `pct_change`); index 0 is null.
pub fn simple_returns(v: &[f64]) -> Vec<Option<f64>> {
    let mut out = Vec::with_capacity(v.len());
    if !v.is_empty() {
        out.push(None);
    }
    for w in v.windows(2) {
        out.push(Some(w[1] / w[0] - 1.0));
    }
    out
}

/// Pearson correlation of two equally long slices (two-pass). `None` if either is constant.
pub fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let (_, _, sxx, sxy, syy) = centred_moments(a, b);
    ratio(sxy, (sxx * syy).sqrt())
}

/// Rolling Pearson correlation over the trailing `window` points of two series with nulls
/// (pandas `a.rolling(W).corr(b)`): null while the window is not full or contains a null.
pub fn rolling_corr(a: &[Option<f64>], b: &[Option<f64>], window: usize) -> Result<Vec<Option<f64>>> {
    rolling_corr_with(a, b, window, &Cancel::never())
}

/// [`rolling_corr`], stopping with [`AnalyticsError::Cancelled`] once `cancel` is raised.
pub fn rolling_corr_with(
    a: &[Option<f64>],
    b: &[Option<f64>],
    window: usize,
    cancel: &Cancel,
) -> Result<Vec<Option<f64>>> {
    check_window(window)?;
    super::error::check_same_len("rolling_corr", a.len(), b.len())?;
    let n = a.len();
    let mut out = vec![None; n];
    let mut xa = Vec::with_capacity(window.min(n));
    let mut xb = Vec::with_capacity(window.min(n));
    for t in window.saturating_sub(1)..n {
        if t % CHECK_EVERY == 0 {
            cancel.check()?;
        }
        xa.clear();
        xb.clear();
        for (pa, pb) in a[t + 1 - window..=t].iter().zip(&b[t + 1 - window..=t]) {
            match (pa, pb) {
                (Some(p), Some(q)) => {
                    xa.push(*p);
                    xb.push(*q);
                }
                _ => break,
            }
        }
        if xa.len() == window {
            out[t] = pearson(&xa, &xb);
        }
    }
    Ok(out)
}

/// Rolling correlation of the simple returns of two price series: the first `window` values are
/// null (index 0 has no return), the first value is at index `window` and uses returns `1..=W`.
pub fn rolling_corr_returns(x: &[f64], y: &[f64], window: usize) -> Result<Vec<Option<f64>>> {
    rolling_corr_returns_with(x, y, window, &Cancel::never())
}

/// [`rolling_corr_returns`], stopping with [`AnalyticsError::Cancelled`] once `cancel` is raised.
pub fn rolling_corr_returns_with(x: &[f64], y: &[f64], window: usize, cancel: &Cancel) -> Result<Vec<Option<f64>>> {
    rolling_corr_with(&simple_returns(x), &simple_returns(y), window, cancel)
}

/// Hedge of one rolling window: `y = alpha + beta x` fitted on `[t-W+1, t]`, plus the window
/// means, so that the spread of the newest point can be formed in centred form.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RollingHedge {
    /// Intercept.
    pub alpha: f64,
    /// Slope.
    pub beta: f64,
    /// Mean of x over the window.
    pub mean_x: f64,
    /// Mean of y over the window.
    pub mean_y: f64,
}

/// Hedge from window moments; `None` when x is constant within rounding
/// (`sxx <= n (4 eps |mean_x|)^2`, the size of the rounding noise of a constant window).
/// Shared by [`rolling_ols`] and the incremental engine so both decide alike.
pub fn hedge_from_moments(n: usize, mx: f64, my: f64, sxx: f64, sxy: f64) -> Option<RollingHedge> {
    let noise = 4.0 * f64::EPSILON * mx.abs();
    if sxx.is_nan() || sxx <= n as f64 * noise * noise || !sxx.is_finite() {
        return None;
    }
    let beta = sxy / sxx;
    Some(RollingHedge { alpha: my - beta * mx, beta, mean_x: mx, mean_y: my })
}

/// Rolling OLS `y = alpha + beta x` over the trailing `window` points (two-pass per window);
/// null during the warm-up (`t < W-1`) and for windows with constant x.
pub fn rolling_ols(x: &[f64], y: &[f64], window: usize) -> Result<Vec<Option<RollingHedge>>> {
    check_window(window)?;
    super::error::check_same_len("rolling_ols", x.len(), y.len())?;
    let n = x.len();
    let mut out = vec![None; n];
    if window < 2 {
        return Ok(out);
    }
    for t in window - 1..n {
        let wx = &x[t + 1 - window..=t];
        let wy = &y[t + 1 - window..=t];
        let (mx, my, sxx, sxy, _) = centred_moments(wx, wy);
        out[t] = hedge_from_moments(window, mx, my, sxx, sxy);
    }
    Ok(out)
}

/// The live ("rolling hedge") spread: at each bar `t`, `y_t - beta_t x_t - alpha_t` with the hedge
/// fitted on the window ending at `t` (inclusive), computed in the centred form
/// `(y_t - mean_y) - beta_t (x_t - mean_x)`. This is the series whose rolling z-score the
/// [`RollingPairEngine`](super::incremental::RollingPairEngine) reports.
pub fn rolling_hedge_spread(x: &[f64], y: &[f64], window: usize) -> Result<Vec<Option<f64>>> {
    let hedges = rolling_ols(x, y, window)?;
    Ok(hedges.iter().enumerate().map(|(t, h)| h.map(|h| (y[t] - h.mean_y) - h.beta * (x[t] - h.mean_x))).collect())
}
