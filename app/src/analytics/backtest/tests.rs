//! Hand-computed cases of the trading rules, and the causality of the signals.

use super::*;

fn close(a: f64, e: f64) -> bool {
    (a - e).abs() <= 1e-8 * (1.0 + e.abs())
}

macro_rules! assert_close {
    ($a:expr, $e:expr) => {{
        let (a, e) = ($a, $e);
        assert!(close(a, e), "{} = {a}, expected {e}", stringify!($a));
    }};
}

/// Ten 1-minute bars, β = 0.5 throughout, hand-set z-scores that give three trades.
const Y: [f64; 10] = [50.0, 50.0, 52.0, 51.0, 49.0, 48.0, 49.0, 50.0, 50.0, 51.0];
const X: [f64; 10] = [100.0, 100.0, 101.0, 102.0, 100.0, 98.0, 99.0, 101.0, 100.0, 100.0];
const Z: [Option<f64>; 10] =
    [None, Some(1.5), Some(0.5), Some(-0.2), Some(-1.2), Some(-0.5), Some(0.1), Some(2.0), Some(3.5), Some(1.0)];

fn times(n: usize) -> Vec<i64> {
    (0..n as i64).map(|i| i * 60_000).collect()
}

/// The three-trade series: entry 1, exit 0, stop 3, fee 10 bps, slippage 10 bps, notional 1,000,
/// fills at the next close. Funding: x settles at 180,000 ms (exactly trade 1's entry fill time:
/// excluded, the window is (entry, exit]), y settles at 420,000 ms, rate 1 bp, mark 48.5 (inside
/// trade 2). A fill happens at its bar's close: fill time = bar open + 60,000 ms.
///
/// Signals (close of bar t) → fills (close of t+1):
/// * t=1 z=1.5 > 1: short spread, fills at bar 2. t=2 z=0.5: hold. t=3 z=−0.2 ≤ 0: exit (signal),
///   fills at bar 4; no entry on the exit bar.
/// * t=4 z=−1.2 < −1: long, fills at bar 5. t=5 z=−0.5 < 0: hold. t=6 z=0.1 ≥ 0: exit, fills at 7.
/// * t=7 z=2.0: short, fills at 8. t=8 (the last signal bar) z=3.5 ≥ 3: stop, fills at bar 9.
///
/// Trade 1 (short: sell y, buy x). y fill 52·(1−0.001) = 51.948, qty_y = −1000/51.948 =
/// −19.250019250; qty_x = −0.5·qty_y = 9.625009625 at 101·1.001 = 101.101. Entry fees
/// 0.001·(19.250019250·51.948 + 9.625009625·101.101) = 0.001·(1000 + 973.098098) = 1.973098098.
/// Exit at bar 4: buy y 49·1.001 = 49.049, sell x 100·0.999 = 99.9; fees 0.001·(19.250019250·49.049 +
/// 9.625009625·99.9) = 1.905732656. Gross −19.250019250·(49.049−51.948) + 9.625009625·(99.9−101.101)
/// gives 55.805805806 − 11.559636560 = 44.246169246. pnl = 44.246169246 − 3.878830754 = 40.367338492.
///
/// Trade 2 (long: buy y, sell x). y 48·1.001 = 48.048, qty_y = 20.812520813, qty_x = −10.406260406
/// at 98·0.999 = 97.902; entry fees 2.018793706. Exit at bar 7: y 50·0.999 = 49.95, x 101·1.001 =
/// 101.101; fees 2.091668748. Gross 20.812520813·1.902 − 10.406260406·3.199 = 6.295787546. Funding:
/// entry fill time 360,000 < 420,000 ≤ exit fill time 480,000, so −20.812520813·48.5·0.0001 =
/// −0.100940726. pnl = 6.295787546 − 4.110462454 − 0.100940726 = 2.084384366.
///
/// Trade 3 (short). y 50·0.999 = 49.95, qty_y = −20.020020020, qty_x = 10.010010010 at 100.1;
/// entry fees 2.002002002. Stop fill at bar 9: y 51·1.001 = 51.051, x 99.9; fees 2.022042042.
/// Gross −20.020020020·1.101 + 10.010010010·(−0.2) = −24.044044044; pnl = −28.068088088.
///
/// Equity (bar close): bar 2 = qty_y·(52−51.948) + qty_x·(101−101.101) − 1.973098098 = −3.946225071;
/// bar 3 = −19.250019250·(51−51.948) + 9.625009625·(102−101.101) − 1.973098098 = 24.928803804;
/// bar 4 = 40.367338492 (realised); bar 5 = 40.367338492 + 20.812520813·(48−48.048)
/// minus 10.406260406·(98−97.902) − 2.018793706 = 36.329730267; bar 6 (funding settled at its close,
/// 420,000) = 40.367338492 + 20.812520813·0.952 − 10.406260406·1.098 − 2.018793706 − 0.100940726 =
/// 46.635049948; bar 7 = 42.451722858; bar 8 = 42.451722858 − 20.020020020·(50−49.95) +
/// 10.010010010·(100−100.1) − 2.002002002 = 38.447718854; bar 9 = 14.383634770.
///
/// Metrics over bars 1..9 (bar 0 has no z): gross 26.497912748, fees 12.013337252, funding
/// −0.100940726, total 14.383634770 = final equity; win rate 2/3; profit factor (40.367338492 +
/// 2.084384366)/28.068088088 = 1.512455096; turnover = fees / 0.001 = 12,013.337252; holding
/// bars 2, 2, 1 → mean 5/3, median 2, exposure 5/9; max drawdown 46.635049948 − 14.383634770 =
/// 32.251415178; per-bar equity changes (0, −3.946225, 28.875029, 15.438535, −4.037608, 10.305320,
/// −4.183327, −4.004004, −24.064084): mean 1.598181641, std 14.999229095, bars per year
/// 365·86400/60 = 525,600, Sharpe 1.598181641/14.999229095·√525600 = 77.247579013.
#[test]
fn three_trades_with_fees_slippage_and_funding_by_hand() {
    let t = times(10);
    let fx = [Funding { t: 180_000, rate: 0.01, mark: 101.0 }];
    let fy = [Funding { t: 420_000, rate: 0.0001, mark: 48.5 }];
    let m = Market {
        t: &t,
        x: LegData { close: &X, book: None, funding: &fx },
        y: LegData { close: &Y, book: None, funding: &fy },
    };
    let p = BacktestParams {
        entry: 1.0,
        exit: 0.0,
        stop_z: Some(3.0),
        fee_bps: 10.0,
        slippage_bps: 10.0,
        notional: 1000.0,
        ..BacktestParams::default()
    };
    let r = run_on_signals(&m, &[Some(0.5); 10], &Z, 0, &p);
    assert!(!r.lookahead);
    assert_eq!(r.first_bar, 1);
    let idx: Vec<_> = r
        .trades
        .iter()
        .map(|t| (t.entry_index, t.entry_fill_index, t.exit_index, t.exit_fill_index, t.reason))
        .collect();
    assert_eq!(
        idx,
        vec![(1, 2, 3, 4, ExitReason::Signal), (4, 5, 6, 7, ExitReason::Signal), (7, 8, 8, 9, ExitReason::Stop)]
    );
    let [t1, t2, t3] = [r.trades[0], r.trades[1], r.trades[2]];
    assert_eq!((t1.side, t2.side, t3.side), (Side::ShortSpread, Side::LongSpread, Side::ShortSpread));
    assert_close!(t1.entry_px_y, 51.948);
    assert_close!(t1.qty_y, -19.250019250);
    assert_close!(t1.qty_x, 9.625009625);
    assert_close!(t1.entry_px_x, 101.101);
    assert_close!(t1.exit_px_y, 49.049);
    assert_close!(t1.exit_px_x, 99.9);
    assert_close!(t1.fees, 1.973098098 + 1.905732656);
    assert_close!(t1.gross_pnl, 44.246169246);
    assert_eq!(t1.funding, 0.0, "a settlement at the entry fill time is not inside the trade");
    assert_close!(t1.pnl, 40.367338492);
    assert_close!(t2.qty_y, 20.812520813);
    assert_close!(t2.fees, 2.018793706 + 2.091668748);
    assert_close!(t2.gross_pnl, 6.295787546);
    assert_close!(t2.funding, -0.100940726);
    assert_close!(t2.pnl, 2.084384366);
    assert_close!(t3.entry_px_x, 100.1);
    assert_close!(t3.exit_px_y, 51.051);
    assert_close!(t3.gross_pnl, -24.044044044);
    assert_close!(t3.pnl, -28.068088088);
    assert_eq!(t3.exit_z, Some(3.5));
    let want_equity = [
        0.0,
        0.0,
        -3.946225071,
        24.928803804,
        40.367338492,
        36.329730267,
        46.635049948,
        42.451722858,
        38.447718854,
        14.383634770,
    ];
    assert_eq!(r.equity.len(), 10);
    for (a, e) in r.equity.iter().zip(want_equity) {
        assert_close!(*a, e);
    }
    let k = r.metrics;
    assert_eq!((k.n_trades, k.wins, k.bars), (3, 2, 9));
    assert_close!(k.win_rate.expect("win rate"), 2.0 / 3.0);
    assert_close!(k.gross_pnl, 26.497912748);
    assert_close!(k.fees, 12.013337252);
    assert_close!(k.funding, -0.100940726);
    assert_close!(k.total_pnl, 14.383634770);
    assert_close!(k.return_on_notional, 0.014383634770);
    assert_close!(k.profit_factor.expect("pf"), 1.512455096);
    assert_close!(k.turnover, 12_013.337252);
    assert_close!(k.mean_holding_bars.expect("mean"), 5.0 / 3.0);
    assert_eq!(k.median_holding_bars, Some(2.0));
    assert_close!(k.exposure.expect("exposure"), 5.0 / 9.0);
    assert_close!(k.max_drawdown, 32.251415178);
    assert_eq!(k.bars_per_year, 525_600.0);
    assert_close!(k.sharpe.expect("sharpe"), 77.247579013);
}

#[test]
fn an_open_position_closes_at_the_last_bar_and_no_entry_fills_there() {
    let t = times(6);
    let x = [100.0; 6];
    let y = [50.0, 51.0, 52.0, 53.0, 54.0, 55.0];
    let m = Market::closes(&t, &x, &y);
    let p = BacktestParams { entry: 1.0, fee_bps: 0.0, notional: 50.0, ..BacktestParams::default() };
    // Entry at t=1 (fills at 2), never exits: end_of_data signalled at bar 4 fills at bar 5.
    let z = [None, Some(-2.0), Some(-1.5), Some(-1.2), Some(-1.1), Some(-3.0)];
    let r = run_on_signals(&m, &[Some(0.0); 6], &z, 0, &p);
    assert_eq!(r.trades.len(), 1);
    let tr = r.trades[0];
    assert_eq!((tr.entry_fill_index, tr.exit_index, tr.exit_fill_index), (2, 4, 5));
    assert_eq!(tr.reason, ExitReason::EndOfData);
    // qty_y = 50/52, pnl = (55 − 52)·50/52.
    assert_close!(tr.pnl, 3.0 * 50.0 / 52.0);
    // A signal at the second-to-last bar would fill at the last one: it is not taken.
    let late = [None, None, None, None, Some(5.0), Some(5.0)];
    assert!(run_on_signals(&m, &[Some(0.0); 6], &late, 0, &p).trades.is_empty());
    // With same-bar fills the last bar is the last signal bar, and it is flagged.
    let same = run_on_signals(&m, &[Some(0.0); 6], &z, 0, &BacktestParams { fill: Fill::Same, ..p });
    assert!(same.lookahead);
    let tr = same.trades[0];
    assert_eq!((tr.entry_index, tr.entry_fill_index, tr.exit_index, tr.exit_fill_index), (1, 1, 5, 5));
}

#[test]
fn max_hold_and_the_stop_block_until_z_returns_inside_entry() {
    let n = 12;
    let t = times(n);
    let m = Market::closes(&t, &[100.0; 12], &[50.0; 12]);
    let p = BacktestParams { entry: 1.0, stop_z: Some(2.5), max_hold: Some(3), ..BacktestParams::default() };
    let z = [
        Some(1.5), // t0 short
        Some(1.2),
        Some(3.0), // t2 stop
        Some(1.8), // blocked (|z| ≥ entry)
        Some(1.6), // blocked
        Some(0.5), // unblocked, no entry
        Some(1.7), // t6 short
        Some(1.6),
        Some(1.4),
        Some(1.3), // t9: held 3 bars → max_hold
        Some(1.3), // t10: last signal bar (n−2), flat: no entry
        None,
    ];
    let r = run_on_signals(&m, &[Some(1.0); 12], &z, 0, &p);
    let got: Vec<_> = r.trades.iter().map(|t| (t.entry_index, t.exit_index, t.reason)).collect();
    assert_eq!(got, vec![(0, 2, ExitReason::Stop), (6, 9, ExitReason::MaxHold)]);
    assert_eq!(r.trades[1].holding_bars(), 3);
    // Flat prices: the only cost is the fees, 4 bps of 2 × (10,000 + 20,000) per trade.
    assert_close!(r.metrics.total_pnl, -2.0 * 4e-4 * 60_000.0);
    assert_close!(r.metrics.gross_pnl, 0.0);
}

#[test]
fn bid_ask_replaces_the_close_and_slippage_comes_on_top() {
    let t = times(4);
    let x = [100.0; 4];
    let y = [50.0; 4];
    let book_y = [None, Some(Quote { bid: 49.0, ask: 51.0 }), Some(Quote { bid: 48.0, ask: 52.0 }), None];
    let m = Market { t: &t, x: LegData::closes(&x), y: LegData { close: &y, book: Some(&book_y), funding: &[] } };
    let p =
        BacktestParams { entry: 1.0, fee_bps: 0.0, slippage_bps: 100.0, notional: 1000.0, ..BacktestParams::default() };
    let z = [Some(-2.0), Some(0.5), Some(0.5), None];
    let r = run_on_signals(&m, &[Some(0.0); 4], &z, 0, &p);
    let tr = r.trades[0];
    // Long: buy y at bar 1's ask 51·1.01 = 51.51; exit signal at bar 1 sells at bar 2's bid 48·0.99.
    assert_close!(tr.entry_px_y, 51.51);
    assert_close!(tr.exit_px_y, 47.52);
    assert_close!(tr.pnl, 1000.0 / 51.51 * (47.52 - 51.51));
}

fn walk(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut s = seed;
    let mut u = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let (mut x, mut e) = (100.0, 0.0);
    let mut xs = Vec::with_capacity(n);
    let mut ys = Vec::with_capacity(n);
    for _ in 0..n {
        x *= 1.0 + 0.004 * u();
        e = 0.8 * e + 0.6 * u();
        xs.push(x);
        ys.push(20.0 + 0.5 * x + e);
    }
    (xs, ys)
}

#[test]
fn signals_at_bar_t_do_not_depend_on_later_bars() {
    let (x, y) = walk(400, 9);
    for hedge in Hedge::ALL {
        let p = BacktestParams { hedge, z_window: 30, train: Some(100), ..BacktestParams::default() };
        let full = causal_signals(&x, &y, &p).expect("signals");
        let (mut x2, mut y2) = (x.clone(), y.clone());
        for v in x2[300..].iter_mut().chain(y2[300..].iter_mut()) {
            *v *= 1.7;
        }
        let cut = causal_signals(&x2, &y2, &p).expect("signals");
        assert_eq!(full.z[..300], cut.z[..300], "{hedge:?}");
        assert_eq!(full.beta[..300], cut.beta[..300], "{hedge:?}");
        assert_ne!(full.z[300..], cut.z[300..], "{hedge:?}: the perturbation must show after bar 300");
    }
}

#[test]
fn rolling_hedge_is_the_batch_rolling_ols_and_static_starts_at_train() {
    let (x, y) = walk(300, 4);
    let p = BacktestParams { z_window: 20, hedge_window: Some(40), ..BacktestParams::default() };
    let sig = causal_signals(&x, &y, &p).expect("signals");
    let batch = crate::analytics::rolling::rolling_ols(&x, &y, 40).expect("rolling");
    for (a, b) in sig.beta.iter().zip(&batch) {
        match (a, b) {
            (Some(a), Some(b)) => assert!((a - b.beta).abs() < 1e-9 * (1.0 + b.beta.abs())),
            (None, None) => {}
            other => panic!("warm-up differs: {other:?}"),
        }
    }
    assert_eq!(sig.z.iter().position(Option::is_some), Some(40 + 20 - 2));
    let t = times(300);
    let m = Market::closes(&t, &x, &y);
    let st = run_backtest(&m, &BacktestParams { hedge: Hedge::Static, train: Some(150), entry: 1.0, ..p }).expect("bt");
    assert_eq!(st.first_bar, 150);
    assert!(st.trades.iter().all(|t| t.entry_index >= 150));
}

#[test]
fn walk_forward_folds_tile_the_test_bars_and_concatenate() {
    let (x, y) = walk(1000, 5);
    let t = times(1000);
    let m = Market::closes(&t, &x, &y);
    let p = BacktestParams {
        entry: 1.0,
        walk_forward: Some(WalkForward { train: 300, test: 200 }),
        ..BacktestParams::default()
    };
    let r = run_backtest(&m, &p).expect("walk-forward");
    let folds = r.folds.as_ref().expect("folds");
    let spans: Vec<_> = folds.iter().map(|f| (f.train_start, f.train_end, f.test_end)).collect();
    assert_eq!(spans, vec![(0, 300, 500), (200, 500, 700), (400, 700, 900), (600, 900, 1000)]);
    let fold_pnl: f64 = folds.iter().map(|f| f.metrics.total_pnl).sum();
    assert_close!(r.metrics.total_pnl, fold_pnl);
    assert_close!(*r.equity.last().expect("equity"), r.metrics.total_pnl);
    assert_eq!(r.metrics.n_trades, folds.iter().map(|f| f.metrics.n_trades).sum::<usize>());
    assert!(r.metrics.n_trades > 0);
    for tr in &r.trades {
        let f = folds.iter().find(|f| f.train_end <= tr.entry_index && tr.entry_index < f.test_end).expect("fold");
        assert!(tr.exit_fill_index < f.test_end, "a trade never crosses its fold");
        assert_eq!(tr.beta, f.beta);
    }
}

#[test]
fn sweep_cells_are_the_single_runs() {
    let (x, y) = walk(2000, 6);
    let t = times(2000);
    let m = Market::closes(&t, &x, &y);
    let p = BacktestParams::default();
    let spec = SweepSpec { entries: SweepSpec::range(1.0, 3.5, 0.25).expect("range"), windows: vec![30, 60, 5000] };
    assert_eq!(spec.entries.len(), 11);
    assert_eq!(spec.entries[10], 3.5);
    let g = sweep(&m, &p, &spec).expect("sweep");
    assert!(g.rows[2].error.as_deref().is_some_and(|e| e.contains("too short")), "{:?}", g.rows[2].error);
    for row in &g.rows[..2] {
        for c in &row.cells {
            let one = run_backtest(&m, &BacktestParams { entry: c.entry, z_window: row.window, ..p }).expect("bt");
            assert_eq!(
                (c.total_pnl, c.n_trades, c.sharpe),
                (one.metrics.total_pnl, one.metrics.n_trades, one.metrics.sharpe)
            );
        }
    }
    assert!(
        sweep(&m, &BacktestParams { walk_forward: Some(WalkForward { train: 100, test: 50 }), ..p }, &spec).is_err()
    );
}

#[test]
fn unusable_parameters_and_inputs_are_errors_not_panics() {
    let (x, y) = walk(100, 7);
    let t = times(100);
    let m = Market::closes(&t, &x, &y);
    let bad = [
        BacktestParams { z_window: 1, ..BacktestParams::default() },
        BacktestParams { z_window: 80, ..BacktestParams::default() }, // 80 + 80 − 1 > 100 bars
        BacktestParams { stop_z: Some(1.0), ..BacktestParams::default() },
        BacktestParams { notional: 0.0, ..BacktestParams::default() },
        BacktestParams { fee_bps: f64::NAN, ..BacktestParams::default() },
        BacktestParams { hedge: Hedge::Static, ..BacktestParams::default() },
        BacktestParams { hedge: Hedge::Static, train: Some(99), ..BacktestParams::default() },
        BacktestParams { walk_forward: Some(WalkForward { train: 99, test: 10 }), ..BacktestParams::default() },
        BacktestParams { max_hold: Some(0), ..BacktestParams::default() },
        BacktestParams { z_window: usize::MAX, ..BacktestParams::default() },
        BacktestParams { hedge_window: Some(usize::MAX), ..BacktestParams::default() },
        BacktestParams { hedge: Hedge::Kalman, z_window: usize::MAX, ..BacktestParams::default() },
        BacktestParams { hedge: Hedge::Static, train: Some(usize::MAX), ..BacktestParams::default() },
        BacktestParams { walk_forward: Some(WalkForward { train: usize::MAX, test: 5 }), ..BacktestParams::default() },
    ];
    for p in bad {
        assert!(run_backtest(&m, &p).is_err(), "{p:?}");
    }
    let crossed = vec![Some(Quote { bid: 2.0, ask: 1.0 }); 100];
    let m2 = Market { y: LegData { close: &y, book: Some(&crossed), funding: &[] }, ..m };
    assert!(run_backtest(&m2, &BacktestParams::default()).is_err());
    let unsorted = [Funding { t: 5, rate: 0.0, mark: 1.0 }, Funding { t: 5, rate: 0.0, mark: 1.0 }];
    let m3 = Market { x: LegData { close: &x, book: None, funding: &unsorted }, ..m };
    assert!(run_backtest(&m3, &BacktestParams::default()).is_err());
    assert!(SweepSpec::range(0.0, 1e300, 1e-300).is_err());
    // Too many refits for the bars is refused, not started.
    let t2 = times(300_000);
    let (x2, y2) = walk(300_000, 8);
    let big = Market::closes(&t2, &x2, &y2);
    let many =
        BacktestParams { walk_forward: Some(WalkForward { train: 150_000, test: 2 }), ..BacktestParams::default() };
    assert!(run_backtest(&big, &many).expect_err("bounded").to_string().contains("folds"));
    // A TEST longer than the data is one fold running to the end.
    let wf =
        BacktestParams { walk_forward: Some(WalkForward { train: 50, test: usize::MAX }), ..BacktestParams::default() };
    assert_eq!(run_backtest(&m, &wf).expect("one fold").folds.map(|f| f.len()), Some(1));
    assert_eq!(Hedge::parse("kalman"), Some(Hedge::Kalman));
    assert_eq!(Hedge::parse("ols"), None);
}
