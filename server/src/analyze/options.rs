//! The analysis options shared by `pairdesk analyze` (flags) and `POST /api/analyze` (JSON):
//! the same names, the same defaults, one conversion to [`PairParams`].

use app::analytics::adf::{AdfOptions, Autolag, Regression};
use app::analytics::kalman::KalmanParams;
use app::analytics::report::PairParams;
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use super::timeframe::Timeframe;

/// Deterministic terms of the ADF regression on the spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdfRegressionArg {
    /// Constant (statsmodels default).
    #[default]
    C,
    /// Constant and linear trend.
    Ct,
    /// Neither.
    N,
}

/// ADF lag selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdfAutolagArg {
    /// Akaike information criterion (statsmodels default).
    #[default]
    Aic,
    /// Schwarz (Bayesian) information criterion.
    Bic,
    /// No selection: use `--adf-maxlag` (or the default maximum) lags.
    None,
}

/// Most `(bars − window + 1) × window` one request may ask of the exact rolling statistics
/// (~1 s here).
pub const MAX_WINDOW_WORK: f64 = 1e8;
/// Most `bars × (maxlag + 1)² × fits` one request may ask of the ADF lag search (~1–2 s here).
pub const MAX_ADF_WORK: f64 = 2e9;

/// Every tunable of an analysis. Flags of `pairdesk analyze`, and the `params` object of
/// `POST /api/analyze` (same names with `_` instead of `-`; all optional).
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyzeOptions {
    /// Resample both legs to this bar interval before aligning (e.g. 30s, 1m, 5m, 1h, 1d):
    /// the last close of each interval, labelled with the interval start.
    #[arg(long)]
    pub timeframe: Option<Timeframe>,
    /// Rolling z-score window, in bars.
    #[arg(long, default_value_t = 60)]
    pub z_window: usize,
    /// Rolling correlation window (of simple returns), in bars.
    #[arg(long, default_value_t = 30)]
    pub corr_window: usize,
    /// Backtest: enter when |z| exceeds this.
    #[arg(long, default_value_t = 2.0, allow_negative_numbers = true)]
    pub entry: f64,
    /// Backtest: exit when z reaches this level (towards zero).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub exit: f64,
    /// Kalman transition noise: `Vw = delta / (1 - delta)`, 0 < delta < 1.
    #[arg(long, default_value_t = 1e-4)]
    pub kalman_delta: f64,
    /// Kalman observation noise variance Ve.
    #[arg(long, default_value_t = 1e-3)]
    pub kalman_ve: f64,
    /// ADF regression on the spread: c (constant), ct (constant + trend), n (none).
    #[arg(long, value_enum, default_value_t = AdfRegressionArg::C)]
    pub adf_regression: AdfRegressionArg,
    /// ADF lag selection: aic, bic, or none (fixed lag = --adf-maxlag or the default maximum).
    #[arg(long, value_enum, default_value_t = AdfAutolagArg::Aic)]
    pub adf_autolag: AdfAutolagArg,
    /// ADF maximum lag (default `min(n/2 - ntrend - 1, ceil(12 (n/100)^(1/4)))`).
    #[arg(long)]
    pub adf_maxlag: Option<usize>,
    /// Backtest: fee per leg per fill, basis points of the leg's filled notional.
    #[arg(long, default_value_t = 4.0)]
    pub fee_bps: f64,
    /// Backtest: adverse price move per leg per fill, basis points.
    #[arg(long, default_value_t = 0.0)]
    pub slippage_bps: f64,
    /// Basket backtest: bars the Johansen weights are fitted on before trading starts (default:
    /// half the aligned bars).
    #[arg(long)]
    pub basket_train: Option<usize>,
    /// Basket backtest: walk-forward folds `TRAIN,TEST` instead of one split (each fold refits
    /// the weights and the z mean/std on TRAIN bars, then trades the next TEST bars).
    #[arg(long, value_name = "TRAIN,TEST")]
    pub basket_walk_forward: Option<String>,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        let p = PairParams::default();
        AnalyzeOptions {
            timeframe: None,
            z_window: p.z_window,
            corr_window: p.corr_window,
            entry: p.entry_z,
            exit: p.exit_z,
            kalman_delta: p.kalman.delta,
            kalman_ve: p.kalman.Ve,
            adf_regression: AdfRegressionArg::C,
            adf_autolag: AdfAutolagArg::Aic,
            adf_maxlag: None,
            fee_bps: p.fee_bps,
            slippage_bps: p.slippage_bps,
            basket_train: None,
            basket_walk_forward: None,
        }
    }
}

impl AnalyzeOptions {
    /// Reject values no analysis can use, with a message naming the option.
    pub fn validate(&self) -> Result<(), String> {
        if self.z_window < 2 {
            return Err(format!("z_window must be at least 2 (got {})", self.z_window));
        }
        if self.corr_window < 2 {
            return Err(format!("corr_window must be at least 2 (got {})", self.corr_window));
        }
        for (name, v) in [("entry", self.entry), ("exit", self.exit)] {
            if !v.is_finite() {
                return Err(format!("{name} must be a finite number"));
            }
        }
        if !(self.kalman_delta > 0.0 && self.kalman_delta < 1.0) {
            return Err(format!("kalman_delta must be in (0, 1) (got {})", self.kalman_delta));
        }
        if !(self.kalman_ve.is_finite() && self.kalman_ve > 0.0) {
            return Err(format!("kalman_ve must be a positive number (got {})", self.kalman_ve));
        }
        if !(self.fee_bps.is_finite() && self.fee_bps >= 0.0) {
            return Err(format!("fee_bps must be a finite number >= 0 (got {})", self.fee_bps));
        }
        if !(self.slippage_bps.is_finite() && (0.0..10_000.0).contains(&self.slippage_bps)) {
            return Err(format!("slippage_bps must be in [0, 10000) (got {})", self.slippage_bps));
        }
        self.basket_walk_forward()?;
        Ok(())
    }

    /// Rejects options whose work on `n` aligned bars would exceed what one request may cost
    /// (the limits in the README). Rolling windows are exact two-pass sums: (n − W + 1)·W
    /// operations, nothing when the window is longer than the data (then every value is
    /// null, as in pandas). ADF with lag selection fits every lag up to `maxlag`,
    /// ≈ n·maxlag²·maxlag/3; a `maxlag` beyond statsmodels' cap (n/2 − ntrend − 1) is the
    /// ADF stage's own error and costs nothing.
    pub fn validate_for_rows(&self, n: usize) -> Result<(), String> {
        for (name, window) in [("z_window", self.z_window), ("corr_window", self.corr_window)] {
            let work = (n.saturating_sub(window) as f64 + 1.0) * window.min(n) as f64;
            if window <= n && work > MAX_WINDOW_WORK {
                return Err(format!(
                    "{name} {window} on {n} bars is too much work for one request ((bars − window + 1) × window must be at most {MAX_WINDOW_WORK:.0}): use a shorter window or a coarser timeframe"
                ));
            }
        }
        if let Some(maxlag) = self.adf_maxlag.filter(|m| *m <= n / 2) {
            let fits = if matches!(self.adf_autolag, AdfAutolagArg::None) { 1.0 } else { maxlag as f64 / 3.0 + 1.0 };
            let work = n as f64 * (maxlag as f64 + 1.0).powi(2) * fits;
            if work > MAX_ADF_WORK {
                return Err(format!(
                    "adf_maxlag {maxlag} on {n} bars is too much work for one request (bars × (maxlag + 1)² × lags searched must be at most {MAX_ADF_WORK:.0}): use a smaller maxlag or the default"
                ));
            }
        }
        Ok(())
    }

    /// The basket backtest's walk-forward folds, if asked for (`TRAIN,TEST`).
    pub fn basket_walk_forward(&self) -> Result<Option<app::analytics::backtest::WalkForward>, String> {
        self.basket_walk_forward
            .as_deref()
            .map(|s| super::backtest::parse_walk_forward(s).map_err(|e| format!("basket_walk_forward: {e}")))
            .transpose()
    }

    /// The engine parameters (`include_series` as given).
    pub fn pair_params(&self, include_series: bool) -> PairParams {
        let regression = match self.adf_regression {
            AdfRegressionArg::C => Regression::C,
            AdfRegressionArg::Ct => Regression::Ct,
            AdfRegressionArg::N => Regression::N,
        };
        let autolag = match self.adf_autolag {
            AdfAutolagArg::Aic => Some(Autolag::Aic),
            AdfAutolagArg::Bic => Some(Autolag::Bic),
            AdfAutolagArg::None => None,
        };
        PairParams {
            z_window: self.z_window,
            corr_window: self.corr_window,
            entry_z: self.entry,
            exit_z: self.exit,
            kalman: KalmanParams { delta: self.kalman_delta, Ve: self.kalman_ve, ..KalmanParams::default() },
            adf: AdfOptions { regression, autolag, maxlag: self.adf_maxlag },
            fee_bps: self.fee_bps,
            slippage_bps: self.slippage_bps,
            include_series,
            ..PairParams::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_engine_defaults() {
        let o = AnalyzeOptions::default();
        assert!(o.validate().is_ok());
        assert_eq!(o.pair_params(true), PairParams::default());
    }

    #[test]
    fn json_names_match_the_flags() {
        let o: AnalyzeOptions = serde_json::from_str(
            r#"{"z_window": 40, "adf_regression": "ct", "adf_autolag": "none", "timeframe": "5m"}"#,
        )
        .unwrap();
        assert_eq!(o.z_window, 40);
        assert_eq!(o.adf_regression, AdfRegressionArg::Ct);
        assert_eq!(o.adf_autolag, AdfAutolagArg::None);
        assert_eq!(o.timeframe.map(|t| t.ms()), Some(300_000));
        assert!(serde_json::from_str::<AnalyzeOptions>(r#"{"zwindow": 3}"#).is_err());
    }

    #[test]
    fn bad_values_are_named() {
        let o = AnalyzeOptions { kalman_delta: 1.5, ..AnalyzeOptions::default() };
        assert!(o.validate().unwrap_err().contains("kalman_delta"));
        let o = AnalyzeOptions { z_window: 1, ..AnalyzeOptions::default() };
        assert!(o.validate().unwrap_err().contains("z_window"));
        let o = AnalyzeOptions { slippage_bps: -1.0, ..AnalyzeOptions::default() };
        assert!(o.validate().unwrap_err().contains("slippage_bps"));
        let o = AnalyzeOptions { fee_bps: f64::NAN, ..AnalyzeOptions::default() };
        assert!(o.validate().unwrap_err().contains("fee_bps"));
        let o = AnalyzeOptions { basket_walk_forward: Some("600".into()), ..AnalyzeOptions::default() };
        assert!(o.validate().unwrap_err().contains("basket_walk_forward"));
        let o = AnalyzeOptions { basket_walk_forward: Some("600,200".into()), ..AnalyzeOptions::default() };
        assert_eq!(o.basket_walk_forward().map(|w| w.map(|w| (w.train, w.test))), Ok(Some((600, 200))));
    }

    #[test]
    fn work_from_outside_is_bounded_with_the_limit_in_the_message() {
        assert!(AnalyzeOptions::default().validate_for_rows(200_000).is_ok());
        // The probes of issue 11: z_window 25,000 on 50,000 rows; adf_maxlag near n/2.
        let o = AnalyzeOptions { z_window: 25_000, ..AnalyzeOptions::default() };
        assert!(o.validate_for_rows(50_000).unwrap_err().contains("too much work"));
        // Longer than the data: no work, every value null (pandas), not an error.
        assert!(o.validate_for_rows(20_000).is_ok());
        let o = AnalyzeOptions { corr_window: 5_000, ..AnalyzeOptions::default() };
        assert!(o.validate_for_rows(5_000).is_ok() && o.validate_for_rows(50_000).is_err());
        let o = AnalyzeOptions { adf_maxlag: Some(9_999), ..AnalyzeOptions::default() };
        assert!(o.validate_for_rows(20_000).unwrap_err().contains("adf_maxlag 9999"));
        assert!(o.validate_for_rows(3_000).is_ok(), "beyond n/2 the ADF stage says so itself");
        let o = AnalyzeOptions { adf_maxlag: Some(100), ..AnalyzeOptions::default() };
        assert!(o.validate_for_rows(20_000).is_err());
        assert!(o.validate_for_rows(2_000).is_ok());
        let o = AnalyzeOptions { adf_maxlag: Some(100), adf_autolag: AdfAutolagArg::None, ..AnalyzeOptions::default() };
        assert!(o.validate_for_rows(20_000).is_ok());
    }
}
