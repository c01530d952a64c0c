//! The basket backtest: the pairs backtest's trading rules ([`super::simulate::decide`]) on the
//! spread of a Johansen basket of 2–12 legs, with its metrics ([`Metrics::of`]).
//!
//! Out of sample by construction: the weights are Johansen's first eigenvector fitted on the
//! first `train` bars only and then held fixed; spread_t = Σ w_i·close_i,t; z_t is the rolling
//! z (ddof 1) of the last `z_window` spreads, so nothing at bar t depends on a later bar, and
//! signals are taken from bar `train` on. Fills at the next bar's close (as the pair's), each
//! leg at its own close ± slippage, with fees in bps of each leg's filled notional — costs in
//! price units of the legs, never in spread units. Or walk-forward folds, as the pair's: each
//! fold refits the weights and a fixed z mean / std on its TRAIN bars and trades the TEST bars
//! after them. `docs/methodology.md#basket-backtest`.

use serde::{Deserialize, Serialize};

use super::metrics::{Metrics, RoundTrip};
use super::simulate::decide;
use super::walk_forward::MAX_FIT_BARS;
use super::{BacktestParams, ExitReason, Fill, Side, WalkForward};
use crate::analytics::basket::basket_spread;
use crate::analytics::descriptive::{mean, std};
use crate::analytics::error::{check_min_len, check_same_len, AnalyticsError, Result};
use crate::analytics::incremental::rolling_z_linear;
use crate::analytics::johansen::{coint_johansen, MAX_SERIES};

/// Every tunable of a basket backtest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BasketBacktestParams {
    /// Bars the weights are fitted on (the first ones); trading starts at this bar. Default
    /// (`None`): half the bars.
    pub train: Option<usize>,
    /// Johansen deterministic terms of the fit (-1, 0, 1). Default 0.
    pub det_order: i32,
    /// Johansen lagged differences of the fit. Default 1.
    pub k_ar_diff: usize,
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
    /// Fee per leg per fill, bps of that leg's filled notional. Default 4.
    pub fee_bps: f64,
    /// Adverse price move per leg per fill, bps of its close. Default 0.
    pub slippage_bps: f64,
    /// Gross quote-currency notional of the basket at entry (Σ legs |qty|·fill). Default 10,000.
    pub notional: f64,
    /// Bar length in seconds (annualisation). Default: the median bar spacing.
    pub bar_seconds: Option<f64>,
    /// Walk-forward folds instead of one split: each fold refits the weights and a fixed z
    /// mean / std on its TRAIN bars and trades the next TEST bars (`train` is not used).
    pub walk_forward: Option<WalkForward>,
}

impl Default for BasketBacktestParams {
    fn default() -> Self {
        let p = BacktestParams::default();
        BasketBacktestParams {
            train: None,
            det_order: 0,
            k_ar_diff: 1,
            z_window: p.z_window,
            entry: p.entry,
            exit: p.exit,
            stop_z: p.stop_z,
            max_hold: p.max_hold,
            fill: p.fill,
            fee_bps: p.fee_bps,
            slippage_bps: p.slippage_bps,
            notional: p.notional,
            bar_seconds: p.bar_seconds,
            walk_forward: None,
        }
    }
}

impl BasketBacktestParams {
    /// The trading rules as the pair backtest holds them (the one validation and the one
    /// decision function for both).
    fn rules(&self) -> BacktestParams {
        BacktestParams {
            z_window: self.z_window,
            entry: self.entry,
            exit: self.exit,
            stop_z: self.stop_z,
            max_hold: self.max_hold,
            fill: self.fill,
            fee_bps: self.fee_bps,
            slippage_bps: self.slippage_bps,
            notional: self.notional,
            bar_seconds: self.bar_seconds,
            ..BacktestParams::default()
        }
    }

    /// The training bars used on `n` bars.
    pub fn train_bars(&self, n: usize) -> usize {
        self.train.unwrap_or(n / 2)
    }
}

/// One round trip of the basket. Indices are bar indices; prices are fill prices, per leg in
/// the order of the weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BasketTrade {
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
    /// Long the spread (hold +units·w) or short it (−units·w).
    pub side: Side,
    /// z at the entry signal.
    pub entry_z: f64,
    /// z at the exit signal (null when undefined).
    pub exit_z: Option<f64>,
    /// Basket units: notional / Σ |w_i|·entry fill_i.
    pub units: f64,
    /// Signed quantity of each leg (± units·w_i).
    pub qty: Vec<f64>,
    /// Entry fill price of each leg.
    pub entry_px: Vec<f64>,
    /// Exit fill price of each leg.
    pub exit_px: Vec<f64>,
    /// Σ legs qty × (exit fill − entry fill).
    pub gross_pnl: f64,
    /// Fees of every leg at entry and exit.
    pub fees: f64,
    /// `gross_pnl − fees`.
    pub pnl: f64,
    /// Why it was closed.
    pub reason: ExitReason,
}

impl RoundTrip for BasketTrade {
    fn pnl(&self) -> f64 {
        self.pnl
    }
    fn gross_pnl(&self) -> f64 {
        self.gross_pnl
    }
    fn fees(&self) -> f64 {
        self.fees
    }
    /// Baskets take no funding (the legs' settlements are not joined to a basket yet).
    fn funding(&self) -> f64 {
        0.0
    }
    fn holding_bars(&self) -> usize {
        self.exit_fill_index - self.entry_fill_index
    }
    fn traded_notional(&self) -> f64 {
        self.qty.iter().zip(self.entry_px.iter().zip(&self.exit_px)).map(|(q, (a, b))| q.abs() * (a + b)).sum()
    }
}

/// Everything a basket backtest reports (the `backtest` key of a basket's JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BasketBacktest {
    /// The parameters used.
    pub params: BasketBacktestParams,
    /// True only with `fill: same`.
    pub lookahead: bool,
    /// Bars the weights were fitted on (`0..train`; walk-forward: TRAIN of each fold).
    pub train: usize,
    /// Johansen's first eigenvector on the training bars, per leg (walk-forward: the last
    /// fold's, the weights in force at the end).
    pub weights: Vec<f64>,
    /// First bar at which a signal could be taken: metrics cover bars `first_bar..n`.
    pub first_bar: usize,
    /// Summary figures (funding 0).
    pub metrics: Metrics,
    /// Every round trip in order.
    pub trades: Vec<BasketTrade>,
    /// Equity (quote currency) at each bar's close (0 before `first_bar`; reports without
    /// per-bar arrays leave it out).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub equity: Vec<f64>,
    /// Walk-forward folds (only with `walk_forward`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folds: Option<Vec<BasketFold>>,
}

/// One walk-forward fold of a basket: its training weights and out-of-sample result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BasketFold {
    /// First TRAIN bar.
    pub train_start: usize,
    /// One past the last TRAIN bar (= first TEST bar).
    pub train_end: usize,
    /// One past the last TEST bar.
    pub test_end: usize,
    /// Johansen's first eigenvector on this fold's TRAIN bars.
    pub weights: Vec<f64>,
    /// Mean of the TRAIN spreads.
    pub spread_mean: f64,
    /// Standard deviation (ddof 1) of the TRAIN spreads.
    pub spread_std: f64,
    /// Figures of this fold's TEST bars alone (equity starting at 0).
    pub metrics: Metrics,
}

/// The basket backtest of `legs` (aligned closes, one slice per leg) at bar times `t`: one
/// split (weights from the first `train` bars, rolling z after them), or walk-forward folds.
pub fn run_basket_backtest(t: &[i64], legs: &[&[f64]], p: &BasketBacktestParams) -> Result<BasketBacktest> {
    let rules = p.rules();
    rules.validate()?;
    let bad = |m: String| Err(AnalyticsError::InvalidParameter(format!("basket backtest: {m}")));
    if legs.len() < 2 || legs.len() > MAX_SERIES {
        return bad(format!("needs 2 to {MAX_SERIES} legs, got {}", legs.len()));
    }
    let n = t.len();
    for leg in legs {
        check_same_len("basket backtest", n, leg.len())?;
        if let Some(i) = leg.iter().position(|p| !(p.is_finite() && *p > 0.0)) {
            return Err(AnalyticsError::InvalidInput(format!(
                "basket backtest: close of bar {i} is not a positive price"
            )));
        }
    }
    if let Some(w) = t.windows(2).position(|w| w[1] <= w[0]) {
        return Err(AnalyticsError::InvalidInput(format!("basket backtest: bar times must increase (bar {})", w + 1)));
    }
    // Bar length as the pair backtest takes it (the parameter, else the median spacing of `t`).
    let bar_ms = super::Market::closes(t, legs[0], legs[1]).validated_bar_ms(p.bar_seconds);
    if let Some(wf) = p.walk_forward {
        return walk_forward(t, legs, p, wf, bar_ms);
    }
    let train = p.train_bars(n);
    // The fit needs its own data; trading needs a signal bar and its fill after it.
    if train < 3 || train < p.z_window {
        return bad(format!("train must be at least 3 bars and the z window {} (got {train})", p.z_window));
    }
    check_min_len("basket backtest (train + 2)", n, train.saturating_add(2))?;
    let fit: Vec<&[f64]> = legs.iter().map(|l| &l[..train]).collect();
    let weights = coint_johansen(&fit, p.det_order, p.k_ar_diff)?.weights();
    let z = rolling_z_linear(&basket_spread(legs, &weights), p.z_window);
    let run = simulate_basket(t, legs, &weights, &z, train, n, p);
    // Metrics start where the first signal could be taken (the first bar from TRAIN with a z).
    let first = (train..n).find(|&i| z[i].is_some()).unwrap_or(n);
    let mut equity = vec![0.0; train];
    equity.extend(run.equity);
    let metrics = Metrics::of(&run.trades, &equity[first..], 0.0, &rules, bar_ms);
    Ok(BasketBacktest {
        params: *p,
        lookahead: p.fill == Fill::Same,
        train,
        weights,
        first_bar: first,
        metrics,
        trades: run.trades,
        equity,
        folds: None,
    })
}

/// Trades and equity of bars `lo..hi` holding `weights` (equity 0 at `lo`).
struct BasketRun {
    trades: Vec<BasketTrade>,
    equity: Vec<f64>,
}

/// The rules of [`decide`] on `z` over bars `lo..hi`, each round trip holding `weights`.
fn simulate_basket(
    t: &[i64],
    legs: &[&[f64]],
    weights: &[f64],
    z: &[Option<f64>],
    lo: usize,
    hi: usize,
    p: &BasketBacktestParams,
) -> BasketRun {
    let rules = p.rules();
    let lag = rules.fill.lag();
    let (slip, fee) = (p.slippage_bps / 1e4, p.fee_bps / 1e4);
    // Buying pays close·(1 + slip), selling receives close·(1 − slip), leg by leg.
    let fill = |leg: &[f64], i: usize, buy: bool| if buy { leg[i] * (1.0 + slip) } else { leg[i] * (1.0 - slip) };
    let mut trades = Vec::new();
    let mut entry_fees = Vec::new();
    for d in decide(z, |_| true, lo, hi, &rules) {
        let (f0, f1) = (d.entry + lag, d.exit + lag);
        let sign = d.side.sign();
        // Each leg's direction is known before its price: long the spread buys the legs of
        // positive weight.
        let entry_px: Vec<f64> = legs.iter().zip(weights).map(|(l, w)| fill(l, f0, sign * w > 0.0)).collect();
        let gross_per_unit: f64 = weights.iter().zip(&entry_px).map(|(w, px)| w.abs() * px).sum();
        let units = p.notional / gross_per_unit;
        let qty: Vec<f64> = weights.iter().map(|w| sign * units * w).collect();
        let exit_px: Vec<f64> = legs.iter().zip(&qty).map(|(l, q)| fill(l, f1, *q < 0.0)).collect();
        let gross: f64 = qty.iter().zip(entry_px.iter().zip(&exit_px)).map(|(q, (a, b))| q * (b - a)).sum();
        let open_fees: f64 = fee * qty.iter().zip(&entry_px).map(|(q, px)| q.abs() * px).sum::<f64>();
        let fees = open_fees + fee * qty.iter().zip(&exit_px).map(|(q, px)| q.abs() * px).sum::<f64>();
        trades.push(BasketTrade {
            entry_index: d.entry,
            entry_fill_index: f0,
            exit_index: d.exit,
            exit_fill_index: f1,
            entry_t: t[f0],
            exit_t: t[f1],
            side: d.side,
            entry_z: d.entry_z,
            exit_z: d.exit_z,
            units,
            qty,
            entry_px,
            exit_px,
            gross_pnl: gross,
            fees,
            pnl: gross - fees,
            reason: d.reason,
        });
        entry_fees.push(open_fees);
    }
    let mut equity = Vec::with_capacity(hi.saturating_sub(lo));
    let (mut realised, mut k) = (0.0, 0);
    for i in lo..hi {
        while k < trades.len() && trades[k].exit_fill_index <= i {
            realised += trades[k].pnl;
            k += 1;
        }
        // The open position marked at the closes, net of its entry fees.
        let open = match trades.get(k) {
            Some(tr) if tr.entry_fill_index <= i => {
                legs.iter().zip(tr.qty.iter().zip(&tr.entry_px)).map(|(l, (q, px))| q * (l[i] - px)).sum::<f64>()
                    - entry_fees[k]
            }
            _ => 0.0,
        };
        equity.push(realised + open);
    }
    BasketRun { trades, equity }
}

/// Walk-forward folds, as the pair's (`walk_forward.rs`): fold k fits the Johansen weights and
/// the spread's mean / std (ddof 1) on its TRAIN bars `[k·TEST, k·TEST + TRAIN)` and trades the
/// next TEST bars with `z = (spread − mean) / std`; the TEST blocks tile `[TRAIN, n)`.
fn walk_forward(
    t: &[i64],
    legs: &[&[f64]],
    p: &BasketBacktestParams,
    wf: WalkForward,
    bar_ms: i64,
) -> Result<BasketBacktest> {
    let n = t.len();
    if wf.train < 3 || wf.test < 2 {
        return Err(AnalyticsError::InvalidParameter(format!(
            "basket backtest: walk-forward needs TRAIN >= 3 and TEST >= 2 bars (got {},{})",
            wf.train, wf.test
        )));
    }
    check_min_len("basket backtest walk-forward (TRAIN + 2)", n, wf.train.saturating_add(2))?;
    let folds = (n - wf.train).div_ceil(wf.test);
    // Each fold refits Johansen on TRAIN bars of every leg: the pair's bound, per leg.
    if folds.saturating_mul(wf.train).saturating_mul(legs.len()) > MAX_FIT_BARS {
        return Err(AnalyticsError::InvalidParameter(format!(
            "basket backtest: walk-forward {},{} means {folds} folds of {} bars × {} legs to fit (more than {MAX_FIT_BARS}); use a longer TEST",
            wf.train, wf.test, wf.train, legs.len()
        )));
    }
    let rules = p.rules();
    let mut z = vec![None; n];
    let (mut equity, mut trades, mut out) = (vec![0.0; wf.train], Vec::new(), Vec::new());
    let mut weights = Vec::new();
    let mut lo = wf.train;
    while lo + 2 <= n {
        let a = lo - wf.train;
        let hi = lo.saturating_add(wf.test).min(n);
        let fit: Vec<&[f64]> = legs.iter().map(|l| &l[a..lo]).collect();
        weights = coint_johansen(&fit, p.det_order, p.k_ar_diff)?.weights();
        let spread = basket_spread(legs, &weights);
        let (mu, sd) = (mean(&spread[a..lo]), std(&spread[a..lo], 1));
        for i in lo..hi {
            let zi = (spread[i] - mu) / sd;
            z[i] = zi.is_finite().then_some(zi);
        }
        let run = simulate_basket(t, legs, &weights, &z, lo, hi, p);
        let metrics = Metrics::of(&run.trades, &run.equity, 0.0, &rules, bar_ms);
        let offset = equity.last().copied().unwrap_or(0.0);
        equity.extend(run.equity.iter().map(|e| e + offset));
        trades.extend(run.trades);
        out.push(BasketFold {
            train_start: a,
            train_end: lo,
            test_end: hi,
            weights: weights.clone(),
            spread_mean: mu,
            spread_std: sd,
            metrics,
        });
        lo = hi;
    }
    // A last stub of one bar cannot trade; it stays flat.
    while equity.len() < n {
        equity.push(equity.last().copied().unwrap_or(0.0));
    }
    let metrics = Metrics::of(&trades, &equity[wf.train..], 0.0, &rules, bar_ms);
    Ok(BasketBacktest {
        params: *p,
        lookahead: p.fill == Fill::Same,
        train: wf.train,
        weights,
        first_bar: wf.train,
        metrics,
        trades,
        equity,
        folds: Some(out),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three legs: two random walks and a third that is their mix plus stationary noise
    /// (one cointegrating vector), with xorshift draws.
    fn legs(n: usize) -> (Vec<i64>, Vec<Vec<f64>>) {
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let mut draw = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let (mut a, mut b, mut e) = (100.0, 50.0, 0.0);
        let mut out = vec![Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..n {
            a += draw();
            b += draw() * 0.5;
            e = 0.7 * e + draw() * 0.6;
            out[0].push(a);
            out[1].push(b);
            out[2].push(0.5 * a + 1.5 * b + e);
        }
        ((0..n as i64).map(|i| i * 60_000).collect(), out)
    }

    fn run(p: &BasketBacktestParams) -> BasketBacktest {
        let (t, l) = legs(1_200);
        let refs: Vec<&[f64]> = l.iter().map(Vec::as_slice).collect();
        run_basket_backtest(&t, &refs, p).expect("backtest")
    }

    #[test]
    fn weights_come_from_the_training_bars_only() {
        let (t, l) = legs(1_200);
        let refs: Vec<&[f64]> = l.iter().map(Vec::as_slice).collect();
        let r = run_basket_backtest(&t, &refs, &BasketBacktestParams::default()).expect("backtest");
        assert_eq!(r.train, 600);
        let fit: Vec<&[f64]> = refs.iter().map(|l| &l[..600]).collect();
        assert_eq!(r.weights, coint_johansen(&fit, 0, 1).expect("johansen").weights());
        // Changing bars after TRAIN changes neither the weights nor any trade before the change.
        let mut later = l.clone();
        for v in &mut later[2][1_000..] {
            *v *= 1.1;
        }
        let refs2: Vec<&[f64]> = later.iter().map(Vec::as_slice).collect();
        let r2 = run_basket_backtest(&t, &refs2, &BasketBacktestParams::default()).expect("backtest");
        assert_eq!(r2.weights, r.weights);
        let before =
            |r: &BasketBacktest| r.trades.iter().filter(|tr| tr.exit_fill_index < 1_000).cloned().collect::<Vec<_>>();
        assert_eq!(before(&r2), before(&r), "causal: the future does not move the past");
        assert_eq!(r2.equity[..1_000], r.equity[..1_000]);
        assert!(r.first_bar >= 600 && r.trades.iter().all(|tr| tr.entry_index >= 600));
    }

    #[test]
    fn trades_follow_the_rules_with_costs_per_leg() {
        let p = BasketBacktestParams { entry: 1.5, z_window: 40, slippage_bps: 2.0, ..Default::default() };
        let r = run(&p);
        assert!(r.metrics.n_trades >= 5, "too few trades to check anything: {:?}", r.metrics);
        for tr in &r.trades {
            assert_eq!(tr.entry_fill_index, tr.entry_index + 1, "next-bar fills");
            let gross: f64 = tr.qty.iter().zip(&tr.entry_px).map(|(q, px)| q.abs() * px).sum();
            assert!((gross - p.notional).abs() < 1e-6, "gross notional at entry {gross}");
            // Fees are bps of every leg's notional at both fills.
            assert!((tr.fees - 4e-4 * tr.traded_notional()).abs() < 1e-9);
            assert!((tr.pnl - (tr.gross_pnl - tr.fees)).abs() < 1e-9);
            match tr.side {
                Side::ShortSpread => assert!(tr.entry_z > 1.5),
                Side::LongSpread => assert!(tr.entry_z < -1.5),
            }
        }
        let total: f64 = r.trades.iter().map(|tr| tr.pnl).sum();
        assert!((r.metrics.total_pnl - total).abs() < 1e-9);
        assert!((r.equity.last().copied().unwrap_or_default() - total).abs() < 1e-6, "flat at the end");
        // Slippage only costs: the same run without it earns more gross.
        let free = run(&BasketBacktestParams { slippage_bps: 0.0, ..p });
        assert_eq!(free.metrics.n_trades, r.metrics.n_trades, "slippage does not move signals");
        assert!(free.metrics.gross_pnl > r.metrics.gross_pnl);
    }

    #[test]
    fn walk_forward_folds_refit_on_their_own_training_bars() {
        let (t, l) = legs(1_200);
        let refs: Vec<&[f64]> = l.iter().map(Vec::as_slice).collect();
        let wf = WalkForward { train: 400, test: 300 };
        let p = BasketBacktestParams { entry: 1.5, walk_forward: Some(wf), ..Default::default() };
        let r = run_basket_backtest(&t, &refs, &p).expect("walk-forward");
        let folds = r.folds.as_ref().expect("folds");
        let bounds: Vec<(usize, usize, usize)> =
            folds.iter().map(|f| (f.train_start, f.train_end, f.test_end)).collect();
        assert_eq!(bounds, [(0, 400, 700), (300, 700, 1_000), (600, 1_000, 1_200)], "TEST blocks tile [TRAIN, n)");
        for f in folds {
            let fit: Vec<&[f64]> = refs.iter().map(|l| &l[f.train_start..f.train_end]).collect();
            assert_eq!(f.weights, coint_johansen(&fit, 0, 1).expect("johansen").weights());
            assert!(
                r.trades.iter().filter(|tr| tr.entry_index >= f.train_end && tr.entry_index < f.test_end).all(|tr| {
                    tr.exit_fill_index < f.test_end
                        && tr.qty.iter().zip(&f.weights).all(|(q, w)| ((q / (tr.units * w)).abs() - 1.0).abs() < 1e-12)
                }),
                "a fold's trades hold its weights and close inside it"
            );
        }
        assert_eq!(r.weights, folds[2].weights);
        assert_eq!((r.first_bar, r.equity.len()), (400, 1_200));
        assert!(r.metrics.n_trades >= 3, "{:?}", r.metrics);
        let sum: usize = folds.iter().map(|f| f.metrics.n_trades).sum();
        assert_eq!(sum, r.metrics.n_trades);
        let err = run_basket_backtest(
            &t,
            &refs,
            &BasketBacktestParams { walk_forward: Some(WalkForward { train: 2, test: 2 }), ..Default::default() },
        );
        assert!(err.unwrap_err().to_string().contains("TRAIN >= 3"));
    }

    #[test]
    fn bad_parameters_are_named() {
        let (t, l) = legs(300);
        let refs: Vec<&[f64]> = l.iter().map(Vec::as_slice).collect();
        let err = |p: BasketBacktestParams| run_basket_backtest(&t, &refs, &p).unwrap_err().to_string();
        assert!(err(BasketBacktestParams { train: Some(10), ..Default::default() }).contains("train"));
        assert!(err(BasketBacktestParams { train: Some(299), ..Default::default() }).contains("train + 2"));
        assert!(err(BasketBacktestParams { notional: -1.0, ..Default::default() }).contains("notional"));
        assert!(run_basket_backtest(&t, &refs[..1], &BasketBacktestParams::default()).is_err());
    }
}
