//! Property tests of the analytics engine: OLS invariances, incremental engine == batch
//! functions (BTC-like price levels, long series), resample invariants, and
//! the backtest's accounting identities (costs, fill timing, scale invariance).

use app::analytics::backtest::{run_backtest, BacktestParams, Fill, Funding, Hedge, LegData, Market, Quote};
use app::analytics::incremental::RollingPairEngine;
use app::analytics::ols::ols;
use app::analytics::resample::{resample_ticks, BarBuilder, Tick};
use app::analytics::rolling::{rolling_corr_returns, rolling_hedge_spread, rolling_ols, rolling_zscore_opt};
use proptest::prelude::*;

fn close(a: f64, e: f64, rtol: f64, atol: f64) -> bool {
    (a - e).abs() <= atol + rtol * e.abs()
}

fn opt_close(a: Option<f64>, e: Option<f64>, rtol: f64, atol: f64) -> bool {
    match (a, e) {
        (None, None) => true,
        (Some(a), Some(e)) => close(a, e, rtol, atol),
        _ => false,
    }
}

/// Bar open times one minute apart.
fn minutes(n: usize) -> Vec<i64> {
    (0..n as i64).map(|i| i * 60_000).collect()
}

/// Deterministic xorshift64* so the long test needs no extra dependency.
struct Rng(u64);
impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64) / (1u64 << 53) as f64
    }
    /// Approximately standard normal (sum of 12 uniforms - 6).
    fn gauss(&mut self) -> f64 {
        (0..12).map(|_| self.next_f64()).sum::<f64>() - 6.0
    }
}

/// Cointegrated pair at BTC / ETH-like levels: x random walk around `x0`, y = 0.055 x + AR(1) noise.
fn btc_eth_walk(seed: u64, n: usize, x0: f64) -> (Vec<f64>, Vec<f64>) {
    let mut r = Rng(seed.max(1));
    let (mut x, mut u) = (x0, 0.0);
    let mut xs = Vec::with_capacity(n);
    let mut ys = Vec::with_capacity(n);
    for _ in 0..n {
        x *= 1.0 + 0.0008 * r.gauss();
        u = 0.9 * u + 2.0 * r.gauss();
        xs.push(x);
        ys.push(0.055 * x + 100.0 + u);
    }
    (xs, ys)
}

/// Tolerances for a rolling hedge `(beta, alpha)` compared across two float orderings.
///
/// A window's slope is only as precise as its conditioning allows: two correct summation orders
/// differ by ~1e-12 of beta's natural unit `std(y)/std(x)` (not of beta itself, which can be ~0),
/// and `alpha = mean(y) - beta mean(x)` inherits that error times `mean(x)` (~60000 here).
/// So: `|d beta| <= 1e-9 (|beta| + sy/sx)`, `|d alpha| <= 1e-9 (1 + |alpha| + (|beta| + sy/sx) |mean x|)`,
/// the golden `ols.params` tolerance applied to the quantities alpha and beta are computed from.
/// The spread, z and correlation are compared at the plain golden tolerances.
fn hedge_scales(wx: &[f64], wy: &[f64], beta: f64) -> (f64, f64) {
    let n = wx.len() as f64;
    let mx = wx.iter().sum::<f64>() / n;
    let my = wy.iter().sum::<f64>() / n;
    let sx = wx.iter().map(|v| (v - mx) * (v - mx)).sum::<f64>().sqrt();
    let sy = wy.iter().map(|v| (v - my) * (v - my)).sum::<f64>().sqrt();
    let unit = beta.abs() + sy / sx;
    (1e-9 * unit, 1e-9 * (1.0 + my.abs() + unit * mx.abs()))
}

fn series_strategy(max_n: usize) -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (5usize..max_n).prop_flat_map(|n| {
        (prop::collection::vec(1.0f64..1000.0, n), prop::collection::vec(-50.0f64..50.0, n), 0.1f64..5.0).prop_map(
            |(x, noise, b)| {
                let y = x.iter().zip(&noise).map(|(a, e)| 3.0 + b * a + e).collect();
                (x, y)
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn ols_scaling_x_by_k_divides_beta_by_k((x, y) in series_strategy(200), k in 0.001f64..1000.0) {
        let base = ols(&x, &y).expect("fit");
        let xk: Vec<f64> = x.iter().map(|v| v * k).collect();
        let scaled = ols(&xk, &y).expect("fit");
        prop_assert!(close(scaled.beta, base.beta / k, 1e-9, 1e-12 * (base.beta / k).abs().max(1e-300)),
            "beta {} vs {}", scaled.beta, base.beta / k);
        prop_assert!(close(scaled.alpha, base.alpha, 1e-9, 1e-9 * (1.0 + base.alpha.abs())));
        prop_assert!(close(scaled.beta_tvalue, base.beta_tvalue, 1e-8, 1e-9));
        prop_assert!(close(scaled.r2, base.r2, 0.0, 1e-12));
    }

    #[test]
    fn ols_adding_constant_to_y_shifts_alpha_only((x, y) in series_strategy(200), c in -1e4f64..1e4) {
        let base = ols(&x, &y).expect("fit");
        let yc: Vec<f64> = y.iter().map(|v| v + c).collect();
        let shifted = ols(&x, &yc).expect("fit");
        let scale = 1.0 + c.abs() + base.alpha.abs();
        prop_assert!(close(shifted.alpha, base.alpha + c, 0.0, 1e-9 * scale), "alpha {} vs {}", shifted.alpha, base.alpha + c);
        prop_assert!(close(shifted.beta, base.beta, 1e-9, 1e-9 * scale / 1000.0));
        prop_assert!(close(shifted.ssr, base.ssr, 1e-7, 1e-9));
    }

    #[test]
    fn backtest_without_fees_or_slippage_nets_exactly_the_gross(
        seed in 1u64..u64::MAX, hedge in 0usize..3, entry in 0.5f64..2.5, stop in proptest::option::of(3.0f64..5.0),
        hold in proptest::option::of(1usize..50),
    ) {
        let (x, y) = btc_eth_walk(seed, 600, 100.0);
        let t = minutes(600);
        let p = BacktestParams {
            hedge: [Hedge::RollingOls, Hedge::Kalman, Hedge::Static][hedge], train: Some(200), z_window: 30,
            entry, stop_z: stop, max_hold: hold, fee_bps: 0.0, slippage_bps: 0.0, ..BacktestParams::default()
        };
        let r = run_backtest(&Market::closes(&t, &x, &y), &p).expect("bt");
        prop_assert_eq!(r.metrics.fees, 0.0);
        prop_assert!(close(r.metrics.total_pnl, r.metrics.gross_pnl, 1e-12, 1e-9));
        prop_assert!(close(*r.equity.last().expect("equity"), r.metrics.total_pnl, 1e-12, 1e-9));
        for tr in &r.trades {
            prop_assert_eq!(tr.pnl, tr.gross_pnl);
        }
    }

    #[test]
    fn with_next_bar_fills_no_trade_fills_at_its_signal_bar(
        seed in 1u64..u64::MAX, hedge in 0usize..3, entry in 0.3f64..2.0, hold in proptest::option::of(1usize..20),
    ) {
        let (x, y) = btc_eth_walk(seed, 500, 100.0);
        let t = minutes(500);
        let p = BacktestParams {
            hedge: [Hedge::RollingOls, Hedge::Kalman, Hedge::Static][hedge], train: Some(100), z_window: 20,
            entry, max_hold: hold, stop_z: Some(entry + 1.0), fill: Fill::Next, ..BacktestParams::default()
        };
        let r = run_backtest(&Market::closes(&t, &x, &y), &p).expect("bt");
        prop_assert!(!r.lookahead);
        for tr in &r.trades {
            prop_assert_eq!(tr.entry_fill_index, tr.entry_index + 1);
            prop_assert_eq!(tr.exit_fill_index, tr.exit_index + 1);
            prop_assert!(tr.exit_index >= tr.entry_fill_index, "exit decided before the entry filled: {:?}", tr);
            prop_assert!(tr.exit_fill_index < 500);
        }
    }

    #[test]
    fn doubling_the_notional_doubles_every_money_figure(
        seed in 1u64..u64::MAX, fee in 0.0f64..10.0, slip in 0.0f64..10.0, spread_bps in 0.0f64..5.0,
        rate in -0.001f64..0.001, notional in 100.0f64..1e6, walk_forward in proptest::bool::ANY,
    ) {
        let n = 900;
        let (x, y) = btc_eth_walk(seed, n, 100.0);
        let t = minutes(n);
        // A quote on every other bar and a settlement every 8 hours of bars.
        let book = |c: &[f64]| -> Vec<Option<Quote>> {
            c.iter().enumerate().map(|(i, p)| (i % 2 == 0).then(|| Quote { bid: p * (1.0 - spread_bps / 1e4), ask: p * (1.0 + spread_bps / 1e4) })).collect()
        };
        let funding = |c: &[f64]| -> Vec<Funding> {
            (0..n).step_by(97).map(|i| Funding { t: t[i] + 30_000, rate, mark: c[i] }).collect()
        };
        let (bx, by, fx, fy) = (book(&x), book(&y), funding(&x), funding(&y));
        let m = Market {
            t: &t,
            x: LegData { close: &x, book: Some(&bx), funding: &fx },
            y: LegData { close: &y, book: Some(&by), funding: &fy },
        };
        let p = BacktestParams {
            z_window: 30, entry: 1.0, fee_bps: fee, slippage_bps: slip, notional,
            walk_forward: walk_forward.then_some(app::analytics::backtest::WalkForward { train: 300, test: 150 }),
            ..BacktestParams::default()
        };
        let one = run_backtest(&m, &p).expect("bt");
        let two = run_backtest(&m, &BacktestParams { notional: 2.0 * notional, ..p }).expect("bt");
        let (a, b) = (one.metrics, two.metrics);
        prop_assert_eq!(a.n_trades, b.n_trades);
        prop_assert!(a.n_trades > 0);
        let scale = 1e-9 * notional;
        for (u, v) in [(a.gross_pnl, b.gross_pnl), (a.fees, b.fees), (a.funding, b.funding), (a.total_pnl, b.total_pnl),
                       (a.max_drawdown, b.max_drawdown), (a.turnover, b.turnover)] {
            prop_assert!(close(v, 2.0 * u, 1e-9, scale), "{} vs 2 x {}", v, u);
        }
        prop_assert!(close(b.return_on_notional, a.return_on_notional, 1e-9, 1e-12));
        prop_assert!(opt_close(b.sharpe, a.sharpe, 1e-7, 1e-9));
        for (u, v) in one.trades.iter().zip(&two.trades) {
            prop_assert_eq!((u.entry_index, u.exit_index, u.reason), (v.entry_index, v.exit_index, v.reason));
            for (p1, p2) in [(u.qty_x, v.qty_x), (u.qty_y, v.qty_y), (u.fees, v.fees), (u.funding, v.funding), (u.pnl, v.pnl)] {
                prop_assert!(close(p2, 2.0 * p1, 1e-9, scale), "{} vs 2 x {}", p2, p1);
            }
        }
        for (u, v) in one.equity.iter().zip(&two.equity) {
            prop_assert!(close(*v, 2.0 * u, 1e-9, scale));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, failure_persistence: None, ..ProptestConfig::default() })]

    /// The live engine reproduces the batch functions named in its module docs, within the golden
    /// tolerances, on 20k-bar random walks at BTC price levels.
    #[test]
    fn incremental_engine_equals_batch_at_btc_levels(seed in 1u64..u64::MAX, hw in 20usize..120, zw in 10usize..80, cw in 5usize..60) {
        let n = 20_000;
        let (x, y) = btc_eth_walk(seed, n, 60_000.0);
        let hedges = rolling_ols(&x, &y, hw).expect("rolling_ols");
        let live = rolling_hedge_spread(&x, &y, hw).expect("spread");
        let z = rolling_zscore_opt(&live, zw, "live_spread").expect("z");
        let corr = rolling_corr_returns(&x, &y, cw).expect("corr");
        let mut eng = RollingPairEngine::new(hw, zw, cw).expect("engine");
        for i in 0..n {
            let s = eng.push(i as i64 * 60_000, x[i], y[i]).expect("push");
            let h = hedges[i];
            prop_assert_eq!(s.beta.is_some(), h.is_some(), "bar {}: hedge readiness", i);
            if let (Some(b), Some(a), Some(h)) = (s.beta, s.alpha, h) {
                let (sb, sa) = hedge_scales(&x[i + 1 - hw..=i], &y[i + 1 - hw..=i], h.beta);
                prop_assert!(close(b, h.beta, 0.0, sb), "bar {i}: beta {b} vs {} (bound {sb:e})", h.beta);
                prop_assert!(close(a, h.alpha, 0.0, sa), "bar {i}: alpha {a} vs {} (bound {sa:e})", h.alpha);
            }
            prop_assert!(opt_close(s.spread, live[i], 1e-9, 1e-9), "bar {i}: spread {:?} vs {:?}", s.spread, live[i]);
            prop_assert!(opt_close(s.spread_mean, z.mean[i], 1e-8, 1e-8), "bar {i}: mean");
            prop_assert!(opt_close(s.spread_std, z.std_ddof1[i], 1e-8, 1e-8), "bar {i}: std");
            prop_assert!(opt_close(s.z, z.z_ddof1[i], 1e-8, 1e-8), "bar {i}: z {:?} vs {:?}", s.z, z.z_ddof1[i]);
            prop_assert!(opt_close(s.corr, corr[i], 0.0, 1e-9), "bar {i}: corr {:?} vs {:?}", s.corr, corr[i]);
            prop_assert_eq!(s.z.is_some(), s.z_bars_needed == 0, "bar {}: readiness counter", i);
        }
    }

    #[test]
    fn resample_invariants(
        raw in prop::collection::vec((0i64..5_000, 1.0f64..2.0, 0.001f64..3.0), 1..400),
        start in 1_700_000_000_000i64..1_700_000_100_000,
        interval in prop::sample::select(vec![1i64, 250, 1_000, 60_000]),
    ) {
        // Sorted times with ties (steps of 0..5000 ms, many zero).
        let mut t = start;
        let ticks: Vec<Tick> = raw
            .iter()
            .map(|(dt, p, q)| {
                t += dt / 7 * (dt % 3);
                Tick { t, price: *p, qty: *q }
            })
            .collect();
        let bars = resample_ticks(&ticks, interval).expect("bars");
        prop_assert_eq!(bars.iter().map(|b| b.count).sum::<u64>(), ticks.len() as u64);
        let vol: f64 = ticks.iter().map(|k| k.qty).sum();
        prop_assert!(close(bars.iter().map(|b| b.volume).sum::<f64>(), vol, 1e-12, 1e-12));
        for w in bars.windows(2) {
            prop_assert!(w[0].t < w[1].t);
        }
        for b in &bars {
            prop_assert_eq!(b.t.rem_euclid(interval), 0);
            prop_assert!(b.count > 0 && b.low <= b.open.min(b.close) && b.high >= b.open.max(b.close));
            let inside: Vec<&Tick> = ticks.iter().filter(|k| k.t >= b.t && k.t < b.t + interval).collect();
            prop_assert_eq!(inside.len() as u64, b.count);
            prop_assert_eq!(inside[0].price, b.open);
            prop_assert_eq!(inside[inside.len() - 1].price, b.close);
        }
        // Incremental builder == batch.
        let mut bb = BarBuilder::new(interval).expect("builder");
        let mut inc = Vec::new();
        for k in &ticks {
            if let Some(c) = bb.push(*k).expect("push").closed {
                inc.push(c);
            }
        }
        inc.extend(bb.finish());
        prop_assert_eq!(&inc, &bars);
        // Coarser bars are aggregations of finer ones when the interval divides.
        if interval == 1_000 {
            let coarse = resample_ticks(&ticks, 60_000).expect("1m");
            for c in &coarse {
                let fine: Vec<_> = bars.iter().filter(|b| b.t >= c.t && b.t < c.t + 60_000).collect();
                prop_assert_eq!(fine[0].open, c.open);
                prop_assert_eq!(fine[fine.len() - 1].close, c.close);
                prop_assert_eq!(fine.iter().map(|b| b.count).sum::<u64>(), c.count);
                prop_assert_eq!(fine.iter().map(|b| b.high).fold(f64::MIN, f64::max), c.high);
            }
        }
    }
}

/// One million bars at BTC levels: the engine's re-anchored running moments do not drift. The
/// batch reference is recomputed two-pass at ~1000 sampled bars (full batch would be slow in debug).
#[test]
fn incremental_engine_does_not_drift_over_one_million_bars() {
    let n = 1_000_000;
    let (hw, zw, cw) = (60, 60, 30);
    let (x, y) = btc_eth_walk(42, n, 60_000.0);
    let mut eng = RollingPairEngine::new(hw, zw, cw).expect("engine");
    let mut live: Vec<Option<f64>> = Vec::with_capacity(n);
    let mut checked = 0;
    for i in 0..n {
        let s = eng.push(i as i64, x[i], y[i]).expect("push");
        live.push(s.spread);
        if i % 997 != 0 && i != n - 1 || i < hw + zw + cw {
            continue;
        }
        checked += 1;
        let from = |w: usize| i + 1 - w;
        let h = rolling_ols(&x[from(hw)..=i], &y[from(hw)..=i], hw).expect("ols")[hw - 1];
        let eh = h.expect("hedge");
        let (sb, sa) = hedge_scales(&x[from(hw)..=i], &y[from(hw)..=i], eh.beta);
        assert!(close(s.beta.expect("beta"), eh.beta, 0.0, sb), "bar {i}: beta");
        assert!(close(s.alpha.expect("alpha"), eh.alpha, 0.0, sa), "bar {i}: alpha");
        // z over the last zw live spreads, each computed with its own window's hedge.
        let window_spreads: Vec<Option<f64>> = (from(zw)..=i)
            .map(|j| {
                let hj = rolling_ols(&x[j + 1 - hw..=j], &y[j + 1 - hw..=j], hw).expect("ols")[hw - 1].expect("hedge");
                Some((y[j] - hj.mean_y) - hj.beta * (x[j] - hj.mean_x))
            })
            .collect();
        for (k, j) in (from(zw)..=i).enumerate() {
            assert!(opt_close(live[j], window_spreads[k], 1e-9, 1e-9), "bar {j}: spread");
        }
        let z = rolling_zscore_opt(&window_spreads, zw, "live").expect("z");
        assert!(opt_close(s.z, z.z_ddof1[zw - 1], 1e-8, 1e-8), "bar {i}: z {:?} vs {:?}", s.z, z.z_ddof1[zw - 1]);
        let c = rolling_corr_returns(&x[i - cw..=i], &y[i - cw..=i], cw).expect("corr")[cw];
        assert!(opt_close(s.corr, c, 0.0, 1e-9), "bar {i}: corr {:?} vs {:?}", s.corr, c);
    }
    assert!(checked > 900);
}

#[test]
fn engine_rejects_bad_input_without_changing_state() {
    let mut eng = RollingPairEngine::new(5, 5, 5).expect("engine");
    eng.push(1, 100.0, 50.0).expect("push");
    assert!(eng.push(1, 101.0, 51.0).is_err(), "same timestamp");
    assert!(eng.push(2, f64::NAN, 51.0).is_err());
    assert!(eng.push(2, -1.0, 51.0).is_err());
    let s = eng.push(2, 101.0, 51.0).expect("push");
    assert_eq!(s.bars, 2);
    assert_eq!(s.hedge_ready, (2, 5));
    assert_eq!(s.z_bars_needed, 3 + 5);
    assert!(RollingPairEngine::new(1, 5, 5).is_err());
}

#[test]
fn price_stats_of_small_window() {
    use app::analytics::price_stats::price_stats;
    use app::analytics::resample::Bar;
    let bar = |t: i64, o: f64, h: f64, l: f64, c: f64, v: f64, n: u64| Bar {
        t,
        open: o,
        high: h,
        low: l,
        close: c,
        volume: v,
        count: n,
    };
    let bars = [
        bar(0, 100.0, 102.0, 99.0, 101.0, 2.0, 3),
        bar(60_000, 101.0, 104.0, 100.0, 103.0, 1.0, 2),
        bar(120_000, 103.0, 103.5, 97.0, 98.0, 1.0, 5),
    ];
    let s = price_stats(&bars).expect("stats");
    assert_eq!((s.bars, s.first_t, s.last_t, s.trade_count), (3, 0, 120_000, 10));
    assert_eq!(s.last, 98.0);
    assert_eq!(s.change, -2.0);
    assert!(close(s.change_pct, -0.02, 1e-15, 0.0));
    assert!(close(s.mean, 302.0 / 3.0, 1e-15, 0.0));
    assert_eq!((s.min, s.max, s.volume), (97.0, 104.0, 4.0));
    let vwap = ((102.0 + 99.0 + 101.0) / 3.0 * 2.0 + (104.0 + 100.0 + 103.0) / 3.0 + (103.5 + 97.0 + 98.0) / 3.0) / 4.0;
    assert!(close(s.vwap.expect("vwap"), vwap, 1e-14, 0.0));
    let r = [(103.0f64 / 101.0).ln(), (98.0f64 / 103.0).ln()];
    let m = (r[0] + r[1]) / 2.0;
    let sd = ((r[0] - m).powi(2) + (r[1] - m).powi(2)).sqrt();
    assert!(close(s.realized_vol.expect("vol"), sd, 1e-12, 0.0));
    assert!(price_stats(&[]).is_err());
}

#[test]
fn inner_join_keeps_common_timestamps_only() {
    use app::analytics::align::inner_join;
    use app::analytics::resample::Bar;
    let mk = |t: i64, c: f64| Bar { t, open: c, high: c, low: c, close: c, volume: 1.0, count: 1 };
    let xb = [mk(1, 10.0), mk(2, 11.0), mk(4, 12.0), mk(5, 13.0)];
    let yb = [mk(2, 1.0), mk(3, 2.0), mk(5, 3.0), mk(6, 4.0)];
    let (t, x, y) = inner_join(&xb, &yb).expect("join");
    assert_eq!(t, vec![2, 5]);
    assert_eq!(x, vec![11.0, 13.0]);
    assert_eq!(y, vec![1.0, 3.0]);
    assert!(inner_join(&[mk(2, 1.0), mk(1, 1.0)], &yb).is_err(), "unsorted input");
}
