//! KPSS stationarity test (null: the series is level- or trend-stationary — the complement of
//! ADF's unit-root null): reproduces statsmodels 0.15.0
//! `statsmodels.tsa.stattools.kpss(x, regression="c"|"ct", nlags="auto"|"legacy"|int)` —
//! statistic `sum(cumsum(e)^2) / n^2 / s^2` with the Bartlett long-run variance, the lag rule
//! (Hobijn et al. 1998 for "auto", `ceil(12 (n/100)^(1/4))` for "legacy"), the p-value linearly
//! interpolated (`numpy.interp`) in the KPSS (1992) table and its critical values.
//!
//! Outside the table the p-value is only a bound: statsmodels returns 0.10 (true p ≥ 0.10) or
//! 0.01 (true p ≤ 0.01) with a warning; here that is [`PBound::AtLeast`] / [`PBound::AtMost`].

use super::error::{AnalyticsError, Result};
use super::linalg::dot;
use super::ols::ols_with_resid;
use serde::{Deserialize, Serialize};

/// Deterministic terms of the null.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum KpssRegression {
    /// Level stationary (constant).
    #[serde(rename = "c")]
    #[default]
    C,
    /// Trend stationary (constant and linear trend).
    #[serde(rename = "ct")]
    Ct,
}

/// How the Bartlett bandwidth is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum KpssLags {
    /// Hobijn, Franses & Ooms (1998) data-dependent rule (statsmodels' default).
    #[default]
    Auto,
    /// `ceil(12 (n/100)^(1/4))`, capped at `n - 1`.
    Legacy,
    /// A fixed number of lags (`< n`).
    Fixed(usize),
}

/// Whether [`KpssResult::pvalue`] is exact (interpolated) or a table bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PBound {
    /// Inside the table: interpolated.
    Exact,
    /// Statistic below the 10 % critical value: the true p-value is at least 0.10.
    AtLeast,
    /// Statistic above the 1 % critical value: the true p-value is at most 0.01.
    AtMost,
}

/// KPSS critical values keyed like statsmodels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KpssCrit {
    /// 10 %.
    #[serde(rename = "10%")]
    pub p10: f64,
    /// 5 %.
    #[serde(rename = "5%")]
    pub p5: f64,
    /// 2.5 %.
    #[serde(rename = "2.5%")]
    pub p2_5: f64,
    /// 1 %.
    #[serde(rename = "1%")]
    pub p1: f64,
}

/// Result of [`kpss`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpssResult {
    /// KPSS statistic.
    pub stat: f64,
    /// Interpolated p-value (a bound when `p_bound` is not `exact`).
    pub pvalue: f64,
    /// Whether `pvalue` is exact or a bound.
    pub p_bound: PBound,
    /// Bartlett lags used.
    pub lags: usize,
    /// Observations.
    pub nobs: usize,
    /// Deterministic terms.
    pub regression: KpssRegression,
    /// Critical values.
    pub crit: KpssCrit,
}

const PVALS: [f64; 4] = [0.10, 0.05, 0.025, 0.01];
const CRIT_C: [f64; 4] = [0.347, 0.463, 0.574, 0.739];
const CRIT_CT: [f64; 4] = [0.119, 0.146, 0.176, 0.216];

/// `numpy.interp(x, xp, fp)` for increasing `xp` (same arithmetic as numpy's C loop).
pub(crate) fn np_interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let last = xp.len() - 1;
    if x.is_nan() {
        return f64::NAN;
    }
    if x < xp[0] {
        return fp[0];
    }
    if x >= xp[last] {
        return fp[last];
    }
    let j = xp.partition_point(|v| *v <= x) - 1;
    if x == xp[j] {
        return fp[j];
    }
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    slope * (x - xp[j]) + fp[j]
}

/// `sum_{t>=i} e_t e_{t-i}`.
fn autocov(e: &[f64], i: usize) -> f64 {
    dot(&e[i..], &e[..e.len() - i])
}

/// statsmodels `_kpss_autolag` (Hobijn et al. 1998, Bartlett kernel).
fn autolag(e: &[f64]) -> usize {
    let n = e.len();
    let nf = n as f64;
    let covlags = nf.powf(2.0 / 9.0) as usize;
    let mut s0 = e.iter().map(|v| v * v).sum::<f64>() / nf;
    let mut s1 = 0.0;
    for i in 1..=covlags.min(n - 1) {
        let p = autocov(e, i) / (nf / 2.0);
        s0 += p;
        s1 += i as f64 * p;
    }
    let s_hat = s1 / s0;
    let pwr = 1.0 / 3.0;
    let gamma = 1.1447 * (s_hat * s_hat).powf(pwr);
    let lags = gamma * nf.powf(pwr);
    if lags.is_finite() && lags > 0.0 {
        lags as usize
    } else {
        0
    }
}

/// KPSS test of `x` (statsmodels `kpss(x, regression, nlags)`).
///
/// Errors: fewer than 3 observations, non-finite or constant series, a fixed lag `>= n`.
pub fn kpss(x: &[f64], regression: KpssRegression, nlags: KpssLags) -> Result<KpssResult> {
    let n = x.len();
    if n < 3 {
        return Err(AnalyticsError::TooShort { what: "kpss", have: n, need: 3 });
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(AnalyticsError::InvalidInput("kpss: series contains non-finite values".into()));
    }
    let (resid, crit) = match regression {
        KpssRegression::C => {
            let m = super::descriptive::mean(x);
            (x.iter().map(|v| v - m).collect::<Vec<f64>>(), CRIT_C)
        }
        KpssRegression::Ct => {
            let t: Vec<f64> = (1..=n).map(|i| i as f64).collect();
            (ols_with_resid(&t, x)?.1, CRIT_CT)
        }
    };
    let ss: f64 = resid.iter().map(|v| v * v).sum();
    let scale: f64 = x.iter().map(|v| v.abs()).fold(0.0, f64::max);
    if ss.is_nan() || ss <= (scale * 1e-14).powi(2) * n as f64 {
        return Err(AnalyticsError::InvalidInput("kpss: series is constant (after removing its trend)".into()));
    }
    let lags = match nlags {
        KpssLags::Legacy => ((12.0 * (n as f64 / 100.0).powf(0.25)).ceil() as usize).min(n - 1),
        KpssLags::Auto => autolag(&resid).min(n - 1),
        KpssLags::Fixed(l) if l >= n => {
            return Err(AnalyticsError::InvalidParameter(format!(
                "kpss lags ({l}) must be < number of observations ({n})"
            )))
        }
        KpssLags::Fixed(l) => l,
    };
    let nf = n as f64;
    let mut cum = 0.0;
    let mut eta = 0.0;
    for r in &resid {
        cum += r;
        eta += cum * cum;
    }
    let eta = eta / (nf * nf);
    let mut s_hat = ss;
    for i in 1..=lags {
        s_hat += 2.0 * autocov(&resid, i) * (1.0 - (i as f64 / (lags as f64 + 1.0)));
    }
    let s_hat = s_hat / nf;
    let stat = eta / s_hat;
    if !stat.is_finite() {
        return Err(AnalyticsError::InvalidInput(format!(
            "kpss: long-run variance estimate is not positive ({s_hat}) with {lags} lags"
        )));
    }
    let pvalue = np_interp(stat, &crit, &PVALS);
    let p_bound = if pvalue == PVALS[3] {
        PBound::AtMost
    } else if pvalue == PVALS[0] {
        PBound::AtLeast
    } else {
        PBound::Exact
    };
    Ok(KpssResult {
        stat,
        pvalue,
        p_bound,
        lags,
        nobs: n,
        regression,
        crit: KpssCrit { p10: crit[0], p5: crit[1], p2_5: crit[2], p1: crit[3] },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interp_matches_numpy_edges() {
        assert_eq!(np_interp(0.1, &CRIT_C, &PVALS), 0.10);
        assert_eq!(np_interp(0.347, &CRIT_C, &PVALS), 0.10);
        assert_eq!(np_interp(0.463, &CRIT_C, &PVALS), 0.05);
        assert_eq!(np_interp(0.739, &CRIT_C, &PVALS), 0.01);
        assert_eq!(np_interp(5.0, &CRIT_C, &PVALS), 0.01);
        let mid = np_interp(0.405, &CRIT_C, &PVALS);
        assert!((mid - 0.075).abs() < 1e-12);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(kpss(&[1.0, 2.0], KpssRegression::C, KpssLags::Auto).is_err());
        assert!(kpss(&[1.0; 20], KpssRegression::C, KpssLags::Auto).is_err());
        let lin: Vec<f64> = (0..20).map(|i| i as f64).collect();
        assert!(kpss(&lin, KpssRegression::Ct, KpssLags::Auto).is_err());
        assert!(kpss(&lin, KpssRegression::C, KpssLags::Fixed(20)).is_err());
        assert!(kpss(&[1.0, f64::NAN, 2.0, 3.0], KpssRegression::C, KpssLags::Auto).is_err());
        let r = kpss(&lin, KpssRegression::C, KpssLags::Fixed(3)).unwrap();
        assert_eq!(r.lags, 3);
    }
}
