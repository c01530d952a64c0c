//! Z-score mean-reversion backtest on a spread (one unit, fills at the bar's spread).

use super::error::{check_same_len, AnalyticsError, Result};
use serde::{Deserialize, Serialize};

/// Backtest thresholds and costs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BacktestParams {
    /// Enter short when `z > entry_z`, long when `z < -entry_z` (strict).
    pub entry_z: f64,
    /// Exit a short when `z <= exit_z`, a long when `z >= -exit_z`.
    pub exit_z: f64,
    /// Round-trip cost per trade in spread units (default 0). It is charged once, when the trade
    /// is closed: `pnl = gross pnl - cost`; the mark-to-market of an open position in `equity`
    /// does not include it.
    pub cost: f64,
}

impl Default for BacktestParams {
    fn default() -> Self {
        BacktestParams { entry_z: 2.0, exit_z: 0.0, cost: 0.0 }
    }
}

/// Direction of a position in the spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// Short one unit of spread (entered on high z), position -1.
    #[serde(rename = "short_spread")]
    ShortSpread,
    /// Long one unit of spread (entered on low z), position +1.
    #[serde(rename = "long_spread")]
    LongSpread,
}

impl Side {
    fn sign(self) -> f64 {
        match self {
            Side::ShortSpread => -1.0,
            Side::LongSpread => 1.0,
        }
    }
}

/// Why a trade was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitReason {
    /// The exit threshold was reached.
    #[serde(rename = "signal")]
    Signal,
    /// Still open on the last bar; closed there.
    #[serde(rename = "end_of_data")]
    EndOfData,
}

/// One round trip.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Trade {
    /// Bar index of the entry.
    pub entry_index: usize,
    /// Bar index of the exit.
    pub exit_index: usize,
    /// Direction.
    pub side: Side,
    /// Timestamp (ms) of the entry bar.
    pub entry_t: i64,
    /// Timestamp (ms) of the exit bar.
    pub exit_t: i64,
    /// Spread at entry.
    pub entry_spread: f64,
    /// Spread at exit.
    pub exit_spread: f64,
    /// z at entry.
    pub entry_z: f64,
    /// z at exit (null only if the last bar's z is null at an end-of-data exit).
    pub exit_z: Option<f64>,
    /// `s_entry - s_exit` (short) or `s_exit - s_entry` (long), minus the cost.
    pub pnl: f64,
    /// Why it was closed.
    pub exit_reason: ExitReason,
}

/// Backtest result (golden field names).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestResult {
    /// All trades in order.
    pub trades: Vec<Trade>,
    /// `trades.len()`.
    pub n_trades: usize,
    /// Sum of trade pnls in trade order.
    pub total_pnl: f64,
    /// Largest drop of `equity` from its running peak (peak starts at 0).
    pub max_drawdown: f64,
    /// The same on the cumulative realised pnl after each trade.
    pub max_drawdown_realized: f64,
    /// Realised pnl after each bar plus the open position's mark-to-market.
    pub equity: Vec<f64>,
    /// Position after each bar: -1, 0 or +1 (0 on the last bar).
    pub position: Vec<i8>,
    /// Trades with pnl > 0.
    pub wins: usize,
    /// Smallest `|z - threshold|` over every comparison made (null if none was made).
    pub decision_margin_min: Option<f64>,
}

/// Run the backtest on spread `s` with z-scores `z` (null = warm-up, no action) and bar times `t`.
pub fn backtest(t: &[i64], s: &[f64], z: &[Option<f64>], p: &BacktestParams) -> Result<BacktestResult> {
    check_same_len("backtest", t.len(), s.len())?;
    check_same_len("backtest", s.len(), z.len())?;
    if !(p.entry_z.is_finite() && p.exit_z.is_finite() && p.cost.is_finite()) {
        return Err(AnalyticsError::InvalidParameter("backtest thresholds and cost must be finite".into()));
    }
    let n = s.len();
    let mut trades: Vec<Trade> = Vec::new();
    let mut equity = Vec::with_capacity(n);
    let mut position = Vec::with_capacity(n);
    let mut realised = 0.0;
    let mut open: Option<(Side, usize, f64)> = None; // side, entry index, entry z
    let mut margin: Option<f64> = None;
    let mut note = |d: f64| {
        let d = d.abs();
        margin = Some(margin.map_or(d, |m: f64| m.min(d)));
    };
    let close = |trades: &mut Vec<Trade>, side: Side, ei: usize, ez: f64, i: usize, reason: ExitReason| -> f64 {
        let pnl = side.sign() * (s[i] - s[ei]) - p.cost;
        trades.push(Trade {
            entry_index: ei,
            exit_index: i,
            side,
            entry_t: t[ei],
            exit_t: t[i],
            entry_spread: s[ei],
            exit_spread: s[i],
            entry_z: ez,
            exit_z: z[i],
            pnl,
            exit_reason: reason,
        });
        pnl
    };
    for i in 0..n {
        if let Some(zi) = z[i] {
            match open {
                Some((side, ei, ez)) => {
                    let exit = match side {
                        Side::ShortSpread => {
                            note(zi - p.exit_z);
                            zi <= p.exit_z
                        }
                        Side::LongSpread => {
                            note(zi + p.exit_z);
                            zi >= -p.exit_z
                        }
                    };
                    if exit {
                        realised += close(&mut trades, side, ei, ez, i, ExitReason::Signal);
                        open = None;
                    }
                }
                None => {
                    note(zi - p.entry_z);
                    if zi > p.entry_z {
                        open = Some((Side::ShortSpread, i, zi));
                    } else {
                        note(zi + p.entry_z);
                        if zi < -p.entry_z {
                            open = Some((Side::LongSpread, i, zi));
                        }
                    }
                }
            }
        }
        if i + 1 == n {
            if let Some((side, ei, ez)) = open.take() {
                realised += close(&mut trades, side, ei, ez, i, ExitReason::EndOfData);
            }
        }
        let (pos, mtm) = match open {
            Some((side, ei, _)) => (side.sign() as i8, side.sign() * (s[i] - s[ei])),
            None => (0, 0.0),
        };
        equity.push(realised + mtm);
        position.push(pos);
    }
    let total_pnl = trades.iter().map(|t| t.pnl).sum();
    let max_dd = max_drawdown(&equity);
    let mut cum = 0.0;
    let realised_path: Vec<f64> = trades
        .iter()
        .map(|t| {
            cum += t.pnl;
            cum
        })
        .collect();
    let wins = trades.iter().filter(|t| t.pnl > 0.0).count();
    Ok(BacktestResult {
        n_trades: trades.len(),
        trades,
        total_pnl,
        max_drawdown: max_dd,
        max_drawdown_realized: max_drawdown(&realised_path),
        equity,
        position,
        wins,
        decision_margin_min: margin,
    })
}

/// `max_i (max(0, max_(j<=i) v_j) - v_i)`: absolute drawdown with the running peak starting at 0.
pub fn max_drawdown(v: &[f64]) -> f64 {
    let mut peak: f64 = 0.0;
    let mut dd: f64 = 0.0;
    for &e in v {
        peak = peak.max(e);
        dd = dd.max(peak - e);
    }
    dd
}
