//! Parameter sweep: the causal backtest for every entry z × z window, with the other parameters
//! fixed. The signals (hedge and z) are computed once per window in O(n) and every entry level
//! re-simulates on them, so an 11 × 10 grid costs about 10 signal passes and 110 simulations.
//!
//! Every cell is out of sample in the causal sense: each bar's hedge and z use past bars only.
//! Walk-forward is refused here: its z uses TRAIN's mean / std, so the window axis would be void.

use super::signals::causal_signals;
use super::{run_on_signals, BacktestParams};
use crate::analytics::error::{AnalyticsError, Result};
use serde::{Deserialize, Serialize};

/// The grid: entry levels (columns) × z windows (rows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSpec {
    /// Entry thresholds.
    pub entries: Vec<f64>,
    /// z windows (the hedge window follows unless `hedge_window` is set).
    pub windows: Vec<usize>,
}

/// Most cells a sweep computes: bounded work for input from a URL or a flag.
pub const MAX_SWEEP_CELLS: usize = 2_500;

impl SweepSpec {
    /// `start:stop:step` inclusive (within rounding), e.g. `1.0:3.5:0.25` → 11 values.
    pub fn range(start: f64, stop: f64, step: f64) -> Result<Vec<f64>> {
        if !(start.is_finite() && stop.is_finite() && step.is_finite() && step > 0.0 && stop >= start) {
            return Err(AnalyticsError::InvalidParameter(format!(
                "sweep range {start}:{stop}:{step} needs start <= stop and a positive step"
            )));
        }
        let count = ((stop - start) / step + 1e-9).floor() + 1.0;
        if count > MAX_SWEEP_CELLS as f64 {
            return Err(AnalyticsError::InvalidParameter(format!(
                "sweep range {start}:{stop}:{step} has too many values"
            )));
        }
        // Multiply rather than accumulate, so 1.0 + 10·0.25 is exactly 3.5.
        Ok((0..count as usize).map(|i| start + i as f64 * step).collect())
    }
}

/// One grid cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SweepCell {
    /// Entry threshold.
    pub entry: f64,
    /// Annualised Sharpe of the run.
    pub sharpe: Option<f64>,
    /// Total pnl (quote currency).
    pub total_pnl: f64,
    /// Round trips.
    pub n_trades: usize,
}

/// One z window's row (or why it could not run, e.g. a window longer than the data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// z window.
    pub window: usize,
    /// Why the row is empty, if it is.
    pub error: Option<String>,
    /// One cell per entry level (empty with an error).
    pub cells: Vec<SweepCell>,
}

/// The whole grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    /// Entry levels (columns).
    pub entries: Vec<f64>,
    /// Rows, one per z window.
    pub rows: Vec<SweepRow>,
}

/// Run the grid on `m` with the other parameters from `p`.
pub fn sweep(m: &super::Market<'_>, p: &BacktestParams, spec: &SweepSpec) -> Result<SweepResult> {
    if p.walk_forward.is_some() {
        return Err(AnalyticsError::InvalidParameter(
            "sweep: walk-forward fits z mean/std on TRAIN, so the z window would have no effect; run them separately"
                .into(),
        ));
    }
    if spec.entries.is_empty() || spec.windows.is_empty() {
        return Err(AnalyticsError::InvalidParameter("sweep: needs at least one entry and one window".into()));
    }
    if spec.entries.len().saturating_mul(spec.windows.len()) > MAX_SWEEP_CELLS {
        return Err(AnalyticsError::InvalidParameter(format!("sweep: more than {MAX_SWEEP_CELLS} cells")));
    }
    m.validate()?;
    for &e in &spec.entries {
        BacktestParams { entry: e, ..*p }.validate()?;
    }
    let rows = spec
        .windows
        .iter()
        .map(|&w| {
            let pw = BacktestParams { z_window: w, ..*p };
            match pw.validate().and_then(|_| causal_signals(m.x.close, m.y.close, &pw)) {
                Err(e) => SweepRow { window: w, error: Some(e.to_string()), cells: Vec::new() },
                Ok(sig) => SweepRow {
                    window: w,
                    error: None,
                    cells: spec
                        .entries
                        .iter()
                        .map(|&entry| {
                            let r = run_on_signals(m, &sig.beta, &sig.z, sig.start, &BacktestParams { entry, ..pw });
                            SweepCell {
                                entry,
                                sharpe: r.metrics.sharpe,
                                total_pnl: r.metrics.total_pnl,
                                n_trades: r.metrics.n_trades,
                            }
                        })
                        .collect(),
                },
            }
        })
        .collect();
    Ok(SweepResult { entries: spec.entries.clone(), rows })
}
