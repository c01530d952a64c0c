//! MacKinnon (1994) p-value approximation and MacKinnon (2010) critical values for unit-root and
//! cointegration tests (statsmodels `mackinnonp` / `mackinnoncrit`), for N = 1 and N = 2 series.

use super::error::{AnalyticsError, Result};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

/// Deterministic terms of the test regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Regression {
    /// No constant.
    #[serde(rename = "n")]
    N,
    /// Constant.
    #[serde(rename = "c")]
    #[default]
    C,
    /// Constant and linear trend.
    #[serde(rename = "ct")]
    Ct,
}

impl Regression {
    /// Number of deterministic regressors (0, 1, 2).
    pub fn ntrend(self) -> usize {
        match self {
            Regression::N => 0,
            Regression::C => 1,
            Regression::Ct => 2,
        }
    }
}

/// `numpy.polyval` with coefficients given lowest degree first (Horner, highest degree first).
fn polyval_low_first(coef: &[f64], x: f64) -> f64 {
    coef.iter().rev().fold(0.0, |acc, c| acc * x + c)
}

struct PTable {
    tau_max: f64,
    tau_min: f64,
    tau_star: f64,
    small: [f64; 3],
    large: [f64; 4],
}

fn p_table(regression: Regression, n: usize) -> Option<PTable> {
    // Raw table rows; the scalings are applied below exactly as statsmodels does
    // (`asarray(table) * scaling`).
    let (tau_max, tau_min, tau_star, small, large) = match (regression, n) {
        (Regression::N, 1) => {
            (f64::INFINITY, -19.04, -1.04, [0.6344, 1.2378, 3.2496], [0.4797, 9.3557, -0.6999, 3.3066])
        }
        (Regression::N, 2) => (1.51, -19.62, -1.53, [1.9129, 1.3857, 3.5322], [1.5578, 8.558, -2.083, -3.3549]),
        (Regression::C, 1) => (2.74, -18.83, -1.61, [2.1659, 1.4412, 3.8269], [1.7339, 9.3202, -1.2745, -1.0368]),
        (Regression::C, 2) => (0.92, -18.86, -2.62, [2.92, 1.5012, 3.9796], [2.1945, 6.4695, -2.9198, -4.2377]),
        (Regression::Ct, 1) => (0.7, -16.18, -2.89, [3.2512, 1.6047, 4.9588], [2.5261, 6.1654, -3.7956, -6.0285]),
        (Regression::Ct, 2) => (0.63, -21.15, -3.19, [3.6646, 1.5419, 3.6448], [2.85, 5.272, -3.6622, -5.1695]),
        _ => return None,
    };
    let ss = [1.0, 1.0, 1e-2];
    let ls = [1.0, 1e-1, 1e-1, 1e-2];
    Some(PTable {
        tau_max,
        tau_min,
        tau_star,
        small: [small[0] * ss[0], small[1] * ss[1], small[2] * ss[2]],
        large: [large[0] * ls[0], large[1] * ls[1], large[2] * ls[2], large[3] * ls[3]],
    })
}

/// MacKinnon (1994) approximate p-value of a (A)DF / Engle–Granger t statistic:
/// `Phi(poly(stat))`, 1.0 above `tau_max`, 0.0 below `tau_min` (so `-inf` gives 0.0).
/// `n` is the number of I(1) series (1 for ADF, 2 for a pair's cointegration test).
pub fn mackinnonp(stat: f64, regression: Regression, n: usize) -> Result<f64> {
    let tab = p_table(regression, n)
        .ok_or_else(|| AnalyticsError::InvalidParameter(format!("MacKinnon p-value table not available for N={n}")))?;
    if stat.is_nan() {
        return Ok(f64::NAN);
    }
    if stat > tab.tau_max {
        return Ok(1.0);
    }
    if stat < tab.tau_min {
        return Ok(0.0);
    }
    let v =
        if stat <= tab.tau_star { polyval_low_first(&tab.small, stat) } else { polyval_low_first(&tab.large, stat) };
    let norm = Normal::standard();
    Ok(norm.cdf(v))
}

/// MacKinnon (2010) response-surface critical values `[1%, 5%, 10%]` at sample size `nobs`:
/// `c0 + c1/nobs + c2/nobs^2 + c3/nobs^3`.
pub fn mackinnoncrit(n: usize, regression: Regression, nobs: f64) -> Result<[f64; 3]> {
    let tab: [[f64; 4]; 3] = match (regression, n) {
        (Regression::N, 1) => {
            [[-2.56574, -2.2358, -3.627, 0.0], [-1.94100, -0.2686, -3.365, 31.223], [-1.61682, 0.2656, -2.714, 25.364]]
        }
        (Regression::C, 1) => [
            [-3.43035, -6.5393, -16.786, -79.433],
            [-2.86154, -2.8903, -4.234, -40.040],
            [-2.56677, -1.5384, -2.809, 0.0],
        ],
        (Regression::C, 2) => {
            [[-3.89644, -10.9519, -33.527, 0.0], [-3.33613, -6.1101, -6.823, 0.0], [-3.04445, -4.2412, -2.720, 0.0]]
        }
        (Regression::Ct, 1) => [
            [-3.95877, -9.0531, -28.428, -134.155],
            [-3.41049, -4.3904, -9.036, -45.374],
            [-3.12705, -2.5856, -3.925, -22.380],
        ],
        (Regression::Ct, 2) => {
            [[-4.32762, -15.4387, -35.679, 0.0], [-3.78057, -9.5106, -12.074, 0.0], [-3.49631, -7.0815, -7.538, 21.892]]
        }
        _ => {
            return Err(AnalyticsError::InvalidParameter(format!("MacKinnon critical values not available for N={n}")))
        }
    };
    if nobs.is_infinite() {
        return Ok([tab[0][0], tab[1][0], tab[2][0]]);
    }
    let inv = 1.0 / nobs;
    Ok([polyval_low_first(&tab[0], inv), polyval_low_first(&tab[1], inv), polyval_low_first(&tab[2], inv)])
}
