//! Cooperative cancellation of long computations: a flag the caller may raise (a deadline
//! passed, the client went away) and the long loops check (rolling windows, the ADF QR, the
//! Theil–Sen slopes). Checking is one relaxed atomic load; [`Cancel::never`] costs nothing
//! else. Pure: no clock, no I/O — whoever owns the flag decides when to raise it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::error::{AnalyticsError, Result};

/// A cancellation flag shared between the caller and a computation. Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Option<Arc<AtomicBool>>);

impl Cancel {
    /// A token nobody can raise (the plain, uncancellable entry points use it).
    pub fn never() -> Self {
        Cancel(None)
    }

    /// A fresh token that [`Cancel::cancel`] raises.
    pub fn new() -> Self {
        Cancel(Some(Arc::new(AtomicBool::new(false))))
    }

    /// Asks every computation holding this token (or a clone) to stop.
    pub fn cancel(&self) {
        if let Some(flag) = &self.0 {
            flag.store(true, Ordering::Relaxed);
        }
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed))
    }

    /// `Err(Cancelled)` once cancelled: `cancel.check()?` in a loop.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(AnalyticsError::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// Loop iterations between two checks in the per-window loops (each iteration is `O(window)`).
pub(crate) const CHECK_EVERY: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_flag_and_never_cannot_be_raised() {
        let token = Cancel::new();
        let other = token.clone();
        assert!(token.check().is_ok());
        other.cancel();
        assert_eq!(token.check(), Err(AnalyticsError::Cancelled));
        let never = Cancel::never();
        never.cancel();
        assert!(!never.is_cancelled());
    }

    #[test]
    fn a_raised_token_stops_every_long_stage_and_the_whole_report() {
        use crate::analytics::{adf, coint, report, rolling, theil_sen};
        let n = 2_000;
        let x: Vec<f64> = (0..n).map(|i| 100.0 + (i as f64 / 40.0).sin() + (i * 37 % 11) as f64 * 0.01).collect();
        let y: Vec<f64> = x.iter().enumerate().map(|(i, v)| 2.0 * v + ((i * 13 % 7) as f64) * 0.05).collect();
        let t: Vec<i64> = (0..n as i64).collect();
        let raised = Cancel::new();
        raised.cancel();
        let cancelled = Err(AnalyticsError::Cancelled);
        assert_eq!(rolling::rolling_zscore_with(&x, 300, "x", &raised).map(drop), cancelled);
        assert_eq!(rolling::rolling_corr_returns_with(&x, &y, 300, &raised).map(drop), cancelled);
        assert_eq!(adf::adfuller_with(&x, &adf::AdfOptions::default(), &raised).map(drop), cancelled);
        assert_eq!(coint::coint_from_residuals_with(&x, 0.5, None, None, &raised).map(drop), cancelled);
        assert_eq!(theil_sen::theil_sen_with(&x, &y, 0.95, &raised).map(drop), cancelled);
        let params = report::PairParams::default();
        assert_eq!(report::analyze_pair_with(&t, &x, &y, &params, &raised).map(drop), cancelled);
        // Not raised: the same answers as the plain entry points.
        let fresh = Cancel::new();
        assert_eq!(report::analyze_pair_with(&t, &x, &y, &params, &fresh), report::analyze_pair(&t, &x, &y, &params));
    }
}
