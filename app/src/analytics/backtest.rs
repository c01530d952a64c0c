//! The pairs backtest: a causal hedge, signals at the close of bar t, fills at the close of bar
//! t+1, per-leg fees, slippage, bid/ask and funding, position sizing in quote currency, risk exits,
//! walk-forward folds and a parameter sweep. Every rule is in `docs/methodology.md#backtest`; this
//! file holds the types and the one entry point, [`run_backtest`]:
//!
//! * [`signals`](mod@signals): β_t, α_t, spread_t and z_t as known at the close of bar t;
//! * [`simulate`](mod@simulate): the trading rules, fills, costs, funding and equity per bar;
//! * [`metrics`](mod@metrics): the summary figures of a run;
//! * [`walk_forward`](mod@walk_forward): TRAIN/TEST folds, per fold and concatenated;
//! * [`sweep`](mod@sweep): entry z × z window grid of out-of-sample figures;
//! * [`basket`](mod@basket): the same rules on a Johansen basket's spread (weights fitted on
//!   the training bars).
//!
//! Pure computation on slices: the CLI, the server and the browser (wasm) all call it.

pub mod basket;
pub mod metrics;
pub mod signals;
pub mod simulate;
pub mod sweep;
pub mod walk_forward;

use super::error::{check_min_len, check_same_len, AnalyticsError, Result};
use super::kalman::KalmanParams;
use serde::{Deserialize, Serialize};

pub use basket::{run_basket_backtest, BasketBacktest, BasketBacktestParams, BasketTrade};
pub use metrics::{max_drawdown, Metrics, RoundTrip};
pub use signals::{causal_signals, Signals};
pub use simulate::simulate;
pub use sweep::{sweep, SweepCell, SweepResult, SweepRow, SweepSpec};
pub use walk_forward::Fold;

/// How the hedge β_t, α_t of bar t is estimated, using bars up to t only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hedge {
    /// OLS of y on x over bars (t − W_h, t].
    #[default]
    RollingOls,
    /// The Kalman filter's filtered (not smoothed) state after bar t.
    Kalman,
    /// OLS on the first `train` bars only; trading starts at bar `train`.
    Static,
    /// Total least squares (orthogonal regression) of y on x over bars (t − W_h, t].
    RollingTls,
}

impl Hedge {
    /// Stable identifier (CLI flag value, JSON, URLs).
    pub fn as_str(self) -> &'static str {
        match self {
            Hedge::RollingOls => "rolling_ols",
            Hedge::Kalman => "kalman",
            Hedge::Static => "static",
            Hedge::RollingTls => "rolling_tls",
        }
    }

    /// Every hedge, in the order the pickers list them.
    pub const ALL: [Hedge; 4] = [Hedge::RollingOls, Hedge::Kalman, Hedge::Static, Hedge::RollingTls];

    /// The inverse of [`Hedge::as_str`].
    pub fn parse(s: &str) -> Option<Hedge> {
        Hedge::ALL.into_iter().find(|h| h.as_str() == s)
    }
}

/// Which bar's close a signal of bar t is filled at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// The close of bar t+1: the honest default.
    #[default]
    Next,
    /// The close of bar t itself: look-ahead (the signal needs that close), flagged in every output.
    Same,
}

impl Fill {
    /// Bars between the signal and its fill.
    pub fn lag(self) -> usize {
        match self {
            Fill::Next => 1,
            Fill::Same => 0,
        }
    }
}

/// `TRAIN,TEST` bars of the walk-forward folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkForward {
    /// Bars each fold fits its hedge and z mean/std on.
    pub train: usize,
    /// Bars each fold trades, right after its TRAIN bars.
    pub test: usize,
}

/// Every tunable of a backtest (the CLI flags, with `_` for `-`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BacktestParams {
    /// Hedge estimator. Default rolling OLS.
    pub hedge: Hedge,
    /// Rolling OLS window W_h (bars). Default: the z window.
    pub hedge_window: Option<usize>,
    /// Static hedge: bars fitted on (trading starts at this bar). Required for `static`.
    pub train: Option<usize>,
    /// Spreads in the rolling z mean/std (ddof 1). Default 60.
    pub z_window: usize,
    /// Enter short when z > entry, long when z < −entry. Default 2.
    pub entry: f64,
    /// Exit a short when z ≤ exit, a long when z ≥ −exit. Default 0.
    pub exit: f64,
    /// Stop a short when z ≥ S, a long when z ≤ −S (S > entry). Default none.
    pub stop_z: Option<f64>,
    /// Close after this many bars in the position. Default none.
    pub max_hold: Option<usize>,
    /// Fill at the next bar's close (default) or, look-ahead, at the signal bar's.
    pub fill: Fill,
    /// Fee per leg per fill, basis points of the filled notional. Default 4 (Binance taker).
    pub fee_bps: f64,
    /// Adverse price move per fill, basis points, on top of bid/ask when known. Default 0.
    pub slippage_bps: f64,
    /// Quote-currency notional of the y leg at entry. Default 10,000.
    pub notional: f64,
    /// Kalman filter parameters (the `kalman` hedge).
    pub kalman: KalmanParams,
    /// Bar length in seconds (annualisation, fill times). Default: the median bar spacing.
    pub bar_seconds: Option<f64>,
    /// Walk-forward folds instead of one run (each fold fits a static hedge and a fixed z).
    pub walk_forward: Option<WalkForward>,
}

impl Default for BacktestParams {
    fn default() -> Self {
        BacktestParams {
            hedge: Hedge::RollingOls,
            hedge_window: None,
            train: None,
            z_window: 60,
            entry: 2.0,
            exit: 0.0,
            stop_z: None,
            max_hold: None,
            fill: Fill::Next,
            fee_bps: 4.0,
            slippage_bps: 0.0,
            notional: 10_000.0,
            kalman: KalmanParams::default(),
            bar_seconds: None,
            walk_forward: None,
        }
    }
}

impl BacktestParams {
    /// The rolling hedge window actually used.
    pub fn hedge_window(&self) -> usize {
        self.hedge_window.unwrap_or(self.z_window)
    }

    /// Reject parameters no backtest can use (the series length is checked by the stages).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(AnalyticsError::InvalidParameter(format!("backtest: {m}")));
        if self.z_window < 2 {
            return bad(format!("z window must be at least 2 (got {})", self.z_window));
        }
        if self.hedge == Hedge::RollingOls && self.hedge_window() < 2 {
            return bad(format!("hedge window must be at least 2 (got {})", self.hedge_window()));
        }
        if self.hedge == Hedge::RollingTls && self.hedge_window() < 3 {
            return bad(format!("TLS hedge window must be at least 3 (got {})", self.hedge_window()));
        }
        if !(self.entry.is_finite() && self.entry >= 0.0) {
            return bad(format!("entry must be a finite number >= 0 (got {})", self.entry));
        }
        if !self.exit.is_finite() {
            return bad(format!("exit must be finite (got {})", self.exit));
        }
        if let Some(s) = self.stop_z {
            if !(s.is_finite() && s > self.entry) {
                return bad(format!("stop z must be finite and above entry {} (got {s})", self.entry));
            }
        }
        if self.max_hold == Some(0) {
            return bad("max hold must be at least 1 bar".into());
        }
        if !(self.fee_bps.is_finite() && self.fee_bps >= 0.0) {
            return bad(format!("fee bps must be a finite number >= 0 (got {})", self.fee_bps));
        }
        if !(self.slippage_bps.is_finite() && (0.0..10_000.0).contains(&self.slippage_bps)) {
            return bad(format!("slippage bps must be in [0, 10000) (got {})", self.slippage_bps));
        }
        if !(self.notional.is_finite() && self.notional > 0.0) {
            return bad(format!("notional must be a positive number (got {})", self.notional));
        }
        if let Some(b) = self.bar_seconds {
            if !(b.is_finite() && b >= 0.001) {
                return bad(format!("bar seconds must be at least 0.001 (got {b})"));
            }
        }
        if self.hedge == Hedge::Static && self.train.is_none() && self.walk_forward.is_none() {
            return bad("the static hedge needs --train N (bars to fit on)".into());
        }
        Ok(())
    }
}

/// Best bid and ask of one leg at a bar's close.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// Best bid.
    pub bid: f64,
    /// Best ask.
    pub ask: f64,
}

/// One funding settlement of a perpetual leg.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Funding {
    /// Settlement time (ms since the epoch).
    pub t: i64,
    /// Funding rate (e.g. 0.0001 = 1 bp); longs pay a positive rate.
    pub rate: f64,
    /// Mark price the payment is computed on.
    pub mark: f64,
}

/// One leg's market data, aligned with the bar times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LegData<'a> {
    /// Bar closes.
    pub close: &'a [f64],
    /// Bid/ask per bar when known (`None` entries: use the close).
    pub book: Option<&'a [Option<Quote>]>,
    /// Funding settlements in time order (empty: no funding).
    pub funding: &'a [Funding],
}

impl<'a> LegData<'a> {
    /// A leg known only by its closes.
    pub fn closes(close: &'a [f64]) -> LegData<'a> {
        LegData { close, book: None, funding: &[] }
    }
}

/// Aligned bars of the pair: `t` are bar open times (ms), x the independent leg, y the dependent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Market<'a> {
    /// Bar open times, strictly increasing (ms).
    pub t: &'a [i64],
    /// The independent leg.
    pub x: LegData<'a>,
    /// The dependent leg.
    pub y: LegData<'a>,
}

impl<'a> Market<'a> {
    /// A market of closes only (no bid/ask, no funding).
    pub fn closes(t: &'a [i64], x: &'a [f64], y: &'a [f64]) -> Market<'a> {
        Market { t, x: LegData::closes(x), y: LegData::closes(y) }
    }

    /// Number of bars.
    pub fn len(&self) -> usize {
        self.t.len()
    }

    /// True without bars.
    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }

    /// Reject inputs the simulation cannot price: lengths, order, non-positive prices, crossed
    /// books, unsorted or non-finite funding.
    pub fn validate(&self) -> Result<()> {
        let n = self.t.len();
        check_min_len("backtest", n, 2)?;
        check_same_len("backtest", n, self.x.close.len())?;
        check_same_len("backtest", n, self.y.close.len())?;
        if let Some(w) = self.t.windows(2).position(|w| w[1] <= w[0]) {
            return Err(AnalyticsError::InvalidInput(format!("backtest: bar times must increase (bar {})", w + 1)));
        }
        for (name, leg) in [("x", &self.x), ("y", &self.y)] {
            if let Some(i) = leg.close.iter().position(|p| !(p.is_finite() && *p > 0.0)) {
                return Err(AnalyticsError::InvalidInput(format!(
                    "backtest: {name} close of bar {i} is not a positive price"
                )));
            }
            if let Some(book) = leg.book {
                check_same_len("backtest book", n, book.len())?;
                let bad = book.iter().position(|q| {
                    q.is_some_and(|q| !(q.bid.is_finite() && q.ask.is_finite() && q.bid > 0.0 && q.ask >= q.bid))
                });
                if let Some(i) = bad {
                    return Err(AnalyticsError::InvalidInput(format!(
                        "backtest: {name} bid/ask of bar {i} is not 0 < bid <= ask"
                    )));
                }
            }
            if let Some(i) =
                leg.funding.iter().position(|f| !(f.rate.is_finite() && f.mark.is_finite() && f.mark > 0.0))
            {
                return Err(AnalyticsError::InvalidInput(format!(
                    "backtest: {name} funding settlement {i} needs a finite rate and a positive mark"
                )));
            }
            if let Some(i) = leg.funding.windows(2).position(|w| w[1].t <= w[0].t) {
                return Err(AnalyticsError::InvalidInput(format!(
                    "backtest: {name} funding settlements must be in increasing time order (settlement {})",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    /// Bar length in ms: the parameter, else the median spacing of the bar times (`None` with
    /// fewer than two bars and no parameter).
    pub fn bar_ms(&self, bar_seconds: Option<f64>) -> Option<i64> {
        match bar_seconds {
            Some(s) => Some((s * 1000.0).round() as i64),
            None if self.t.len() < 2 => None,
            None => {
                let mut d: Vec<f64> = self.t.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
                Some(super::descriptive::median_in_place(&mut d).round() as i64)
            }
        }
    }

    /// [`Market::bar_ms`] of a validated market (≥ 2 increasing bars, so ≥ 1 ms).
    pub(crate) fn validated_bar_ms(&self, bar_seconds: Option<f64>) -> i64 {
        self.bar_ms(bar_seconds).unwrap_or(1).max(1)
    }
}

/// Direction of a position in the spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// Short y, long β·x (entered on high z).
    #[serde(rename = "short_spread")]
    ShortSpread,
    /// Long y, short β·x (entered on low z).
    #[serde(rename = "long_spread")]
    LongSpread,
}

impl Side {
    /// +1 long, −1 short: the sign of the y quantity.
    pub fn sign(self) -> f64 {
        match self {
            Side::ShortSpread => -1.0,
            Side::LongSpread => 1.0,
        }
    }
}

/// Why a trade was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// z reached the exit level.
    Signal,
    /// z reached the stop level.
    Stop,
    /// Held for `max_hold` bars.
    MaxHold,
    /// The data (or the walk-forward fold) ended.
    EndOfData,
}

impl ExitReason {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExitReason::Signal => "signal",
            ExitReason::Stop => "stop",
            ExitReason::MaxHold => "max_hold",
            ExitReason::EndOfData => "end_of_data",
        }
    }
}

/// One round trip. Indices are bar indices of the input; prices are fill prices.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    /// Bar whose close produced the entry signal.
    pub entry_index: usize,
    /// Bar whose close the entry filled at.
    pub entry_fill_index: usize,
    /// Bar whose close produced the exit.
    pub exit_index: usize,
    /// Bar whose close the exit filled at.
    pub exit_fill_index: usize,
    /// Open time (ms) of the entry fill bar.
    pub entry_t: i64,
    /// Open time (ms) of the exit fill bar.
    pub exit_t: i64,
    /// Direction.
    pub side: Side,
    /// z at the entry signal.
    pub entry_z: f64,
    /// z at the exit signal (null when it was undefined, e.g. a max-hold exit in a flat window).
    pub exit_z: Option<f64>,
    /// β of the entry signal bar (sizes the x leg).
    pub beta: f64,
    /// Signed x quantity (−β·qty_y).
    pub qty_x: f64,
    /// Signed y quantity (± notional / y entry fill).
    pub qty_y: f64,
    /// x entry fill price.
    pub entry_px_x: f64,
    /// y entry fill price.
    pub entry_px_y: f64,
    /// x exit fill price.
    pub exit_px_x: f64,
    /// y exit fill price.
    pub exit_px_y: f64,
    /// Σ legs qty × (exit fill − entry fill).
    pub gross_pnl: f64,
    /// Fees of both legs at entry and exit (a positive cost).
    pub fees: f64,
    /// Funding cash flows of both legs while open (positive = received).
    pub funding: f64,
    /// `gross_pnl − fees + funding`.
    pub pnl: f64,
    /// Why it was closed.
    pub reason: ExitReason,
}

impl Trade {
    /// Bars between the entry fill and the exit fill.
    pub fn holding_bars(&self) -> usize {
        self.exit_fill_index - self.entry_fill_index
    }

    /// Quote-currency value traded by the four fills.
    pub fn traded_notional(&self) -> f64 {
        self.qty_x.abs() * (self.entry_px_x + self.exit_px_x) + self.qty_y.abs() * (self.entry_px_y + self.exit_px_y)
    }
}

/// Everything a backtest reports (the CLI's JSON keys).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestResult {
    /// The parameters used.
    pub params: BacktestParams,
    /// True only with `fill: same`: the fills use the close that produced the signal.
    pub lookahead: bool,
    /// First bar at which a signal could be taken: metrics cover bars `first_bar..n`.
    pub first_bar: usize,
    /// Summary figures.
    pub metrics: Metrics,
    /// Every round trip in order.
    pub trades: Vec<Trade>,
    /// Equity (quote currency) at each bar's close: realised + open position at the closes.
    pub equity: Vec<f64>,
    /// Walk-forward folds (only with `walk_forward`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folds: Option<Vec<Fold>>,
}

/// Run the backtest described by `p` on `m` (one causal run, or walk-forward folds).
pub fn run_backtest(m: &Market<'_>, p: &BacktestParams) -> Result<BacktestResult> {
    p.validate()?;
    m.validate()?;
    if let Some(wf) = p.walk_forward {
        return walk_forward::run(m, p, wf);
    }
    let sig = causal_signals(m.x.close, m.y.close, p)?;
    Ok(run_on_signals(m, &sig.beta, &sig.z, sig.start, p))
}

/// The simulation and its metrics on given per-bar hedge ratios and z-scores, trading from bar
/// `start`. Inputs must be validated. Also the entry point for checking the trading rules on a
/// precomputed z series (the golden cases).
pub fn run_on_signals(
    m: &Market<'_>,
    beta: &[Option<f64>],
    z: &[Option<f64>],
    start: usize,
    p: &BacktestParams,
) -> BacktestResult {
    let n = m.len();
    // Metrics start where the first signal could be taken: warm-up bars are not idle trading.
    let first = (start..n).find(|&i| z[i].is_some() && beta[i].is_some()).unwrap_or(n);
    let bar_ms = m.validated_bar_ms(p.bar_seconds);
    let run = simulate(m, beta, z, first, n, p, bar_ms);
    let mut equity = vec![0.0; first];
    equity.extend_from_slice(&run.equity);
    let metrics = Metrics::of(&run.trades, &equity[first..], 0.0, p, bar_ms);
    BacktestResult {
        params: *p,
        lookahead: p.fill == Fill::Same,
        first_bar: first,
        metrics,
        trades: run.trades,
        equity,
        folds: None,
    }
}

#[cfg(test)]
mod tests;
