//! The issue-13 test battery of one pair, as `pairdesk analyze --json` and `POST /api/analyze`
//! report it beside the Engle–Granger report: Johansen on the two legs (det_order 0,
//! k_ar_diff 1), KPSS / variance ratio / Hurst on the spread ([`SpreadTests`], shared with
//! baskets), ADF of each leg in levels and differences, and the TLS hedge. Every number comes
//! from its own module; this file only assembles them.

use super::adf::AdfOptions;
use super::adf_legs::{adf_levels_and_diff_with, LegAdf};
use super::cancel::Cancel;
use super::error::{AnalyticsError, Result};
use super::hurst::hurst_auto;
use super::johansen::{coint_johansen, JohansenResult};
use super::kpss::{kpss, KpssLags, KpssRegression, KpssResult};
use super::report::Stage;
use super::tls::{tls, TlsResult};
use super::variance_ratio::{variance_ratios, VarianceRatio, DEFAULT_LAGS};
use serde::Serialize;

/// Stationarity / mean-reversion tests of a spread beyond ADF.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpreadTests {
    /// KPSS, regression "c", automatic lags (`kpss(spread, "c", "auto")`).
    pub kpss: Stage<KpssResult>,
    /// Variance ratios at q = 2, 4, 8, 16.
    pub variance_ratio: Stage<Vec<VarianceRatio>>,
    /// Hurst exponent, `max_lags = min(100, n / 2)`.
    pub hurst: Stage<f64>,
}

/// KPSS, variance ratios and Hurst of `spread`.
pub fn spread_tests(spread: &[f64]) -> SpreadTests {
    SpreadTests {
        kpss: kpss(spread, KpssRegression::C, KpssLags::Auto).into(),
        variance_ratio: variance_ratios(spread, &DEFAULT_LAGS).into(),
        hurst: hurst_auto(spread).into(),
    }
}

/// ADF of each leg in levels and differences, in leg order.
pub(crate) fn legs_adf(legs: &[&[f64]], opts: &AdfOptions) -> Vec<Stage<LegAdf>> {
    legs.iter().map(|s| adf_levels_and_diff_with(s, opts, &Cancel::never()).into()).collect()
}

/// The battery of a pair `y` on `x` with its spread (the OLS residual `y - alpha - beta x`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairBattery {
    /// Johansen on `[x, y]`, det_order 0, k_ar_diff 1.
    pub johansen: Stage<JohansenResult>,
    /// KPSS, variance ratio, Hurst of the spread.
    #[serde(flatten)]
    pub tests: SpreadTests,
    /// `[x, y]`: ADF in levels and first differences (statsmodels' default options, whatever
    /// the spread's ADF uses).
    pub adf_legs: Vec<Stage<LegAdf>>,
    /// Total least squares hedge of `y` on `x`.
    pub tls: Stage<TlsResult>,
}

/// Compute the battery: each slot carries its own error, and the whole gives up with
/// `Err(Cancelled)` once `cancel` is raised (the legs' four ADF lag searches are its only long
/// part; they check the token inside their QR). [`Cancel::never`] for an uncancellable run.
pub fn pair_battery(x: &[f64], y: &[f64], spread: &[f64], cancel: &Cancel) -> Result<PairBattery> {
    let mut adf_legs = Vec::with_capacity(2);
    for leg in [x, y] {
        match adf_levels_and_diff_with(leg, &AdfOptions::default(), cancel) {
            Err(AnalyticsError::Cancelled) => return Err(AnalyticsError::Cancelled),
            r => adf_legs.push(r.into()),
        }
    }
    cancel.check()?;
    Ok(PairBattery {
        johansen: coint_johansen(&[x, y], 0, 1).into(),
        tests: spread_tests(spread),
        adf_legs,
        tls: tls(x, y).into(),
    })
}
