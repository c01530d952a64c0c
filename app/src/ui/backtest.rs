//! The Backtest page body: the z-score mean-reversion backtest on the current view's spread
//! and z-score (same rules as `app::analytics::backtest`), with its equity curve, trades and
//! summary. Entry/exit come from the view's sliders; the cost per trade is set here.

use leptos::prelude::*;

use super::charts::{Chart, ChartData, ChartLevel, ChartLine, TimeRange, MEAN, SERIES};
use super::format::{fmt_num, fmt_opt};
use super::live::InfoLink;
use super::view::ViewQuery;
use crate::analytics::backtest::{backtest, BacktestParams, BacktestResult, ExitReason, Side};
use crate::analytics::live_view::ViewSeries;

/// Runs the backtest over the bars where both spread and z are defined.
pub fn run_backtest(s: &ViewSeries, params: &BacktestParams) -> Result<BacktestResult, String> {
    let rows: Vec<usize> = (0..s.t.len()).filter(|&i| s.spread[i].is_some()).collect();
    if rows.len() < 2 {
        return Err(format!("needs at least 2 bars with a spread, has {}", rows.len()));
    }
    let t: Vec<i64> = rows.iter().map(|&i| s.t[i]).collect();
    let spread: Vec<f64> = rows.iter().filter_map(|&i| s.spread[i]).collect();
    let z: Vec<Option<f64>> = rows.iter().map(|&i| s.z[i]).collect();
    backtest(&t, &spread, &z, params).map_err(|e| e.to_string())
}

#[component]
pub fn BacktestPanel(series: Memo<ViewSeries>, view_q: RwSignal<ViewQuery>, range: TimeRange) -> impl IntoView {
    let params =
        Memo::new(move |_| view_q.with(|v| BacktestParams { entry_z: v.z_entry, exit_z: v.z_exit, cost: v.cost }));
    let result = Memo::new(move |_| series.with(|s| run_backtest(s, &params.get())));
    let equity_chart = Signal::derive(move || {
        result.with(|r| match r {
            Ok(r) => {
                let t: Vec<i64> = series
                    .with(|s| s.t.iter().zip(&s.spread).filter(|(_, sp)| sp.is_some()).map(|(t, _)| *t).collect());
                ChartData {
                    lines: vec![ChartLine {
                        label: "equity".into(),
                        color: SERIES,
                        points: t.iter().zip(&r.equity).map(|(t, e)| (*t as f64, *e)).collect(),
                    }],
                    levels: vec![ChartLevel { label: "0".into(), color: MEAN, value: 0.0 }],
                    ..ChartData::default()
                }
            }
            Err(e) => ChartData { waiting: Some(format!("backtest: {e}")), ..ChartData::default() },
        })
    });
    let summary = move || {
        result.with(|r| match r {
            Ok(r) => {
                let win_rate = if r.n_trades > 0 { r.wins as f64 / r.n_trades as f64 * 100.0 } else { 0.0 };
                view! {
                    <table class="kv num" data-testid="backtest-summary"><tbody>
                        <tr><th>"trades"</th><td>{r.n_trades}</td></tr>
                        <tr><th>"win rate"</th><td>{format!("{win_rate:.1}%")}</td></tr>
                        <tr><th>"total pnl (spread units)"</th><td>{fmt_num(r.total_pnl, 4)}</td></tr>
                        <tr><th>"max drawdown"</th><td>{fmt_num(r.max_drawdown, 4)}</td></tr>
                    </tbody></table>
                }
                .into_any()
            }
            Err(e) => view! { <p class="error">{e.clone()}</p> }.into_any(),
        })
    };
    let trades = move || {
        result.with(|r| {
            r.as_ref()
                .map(|r| {
                    r.trades
                        .iter()
                        .map(|tr| {
                            view! {
                                <tr>
                                    <td>{super::charts::clock_label(tr.entry_t as f64)}</td>
                                    <td>{super::charts::clock_label(tr.exit_t as f64)}</td>
                                    <td>{match tr.side { Side::ShortSpread => "short spread", Side::LongSpread => "long spread" }}</td>
                                    <td>{fmt_num(tr.entry_z, 2)}</td>
                                    <td>{fmt_opt(tr.exit_z, 2)}</td>
                                    <td>{fmt_num(tr.pnl, 4)}</td>
                                    <td>{match tr.exit_reason { ExitReason::Signal => "signal", ExitReason::EndOfData => "end of data" }}</td>
                                </tr>
                            }
                        })
                        .collect_view()
                })
                .ok()
        })
    };
    let export = move |_| {
        let csv = result.with(|r| r.as_ref().map(trades_csv).unwrap_or_default());
        #[cfg(feature = "hydrate")]
        super::download::download_text(&csv, "pairdesk-backtest-trades.csv", "text/csv");
        #[cfg(not(feature = "hydrate"))]
        let _ = csv;
    };
    view! {
        <section class="charts">
            <Chart testid="backtest-equity" title="Equity (realised + open position), spread units" data=equity_chart range=range
                help="Mark-to-market equity of one unit of spread traded on the z thresholds"/>
        </section>
        <section class="panel" aria-label="Backtest">
            <h2>"Backtest "<InfoLink anchor="backtest"/>
                <button data-testid="export-trades" on:click=export>"Export trades"</button></h2>
            <label class="control" title="Cost charged once per round trip, in spread units">
                <span class="control-label">"cost / trade"</span>
                <input type="number" data-testid="backtest-cost" min="0" step="0.01" prop:value=move || view_q.with(|v| v.cost.to_string())
                    on:change=move |ev| {
                        if let Some(c) = event_target_value(&ev).parse::<f64>().ok().filter(|c| c.is_finite() && *c >= 0.0) {
                            view_q.update(|v| v.cost = c);
                        }
                    }/>
            </label>
            {summary}
        </section>
        <section class="panel trades" aria-label="Trades">
            <h2>"Trades"</h2>
            <table class="stats num" data-testid="backtest-trades"><tbody>
                <tr><th>"entry"</th><th>"exit"</th><th>"side"</th><th>"entry z"</th><th>"exit z"</th><th>"pnl"</th><th>"reason"</th></tr>
                {trades}
            </tbody></table>
        </section>
    }
}

/// The trades as CSV (golden field names).
pub fn trades_csv(r: &BacktestResult) -> String {
    let mut out = String::from(
        "entry_index,exit_index,side,entry_t,exit_t,entry_spread,exit_spread,entry_z,exit_z,pnl,exit_reason\n",
    );
    for tr in &r.trades {
        let side = match tr.side {
            Side::ShortSpread => "short_spread",
            Side::LongSpread => "long_spread",
        };
        let reason = match tr.exit_reason {
            ExitReason::Signal => "signal",
            ExitReason::EndOfData => "end_of_data",
        };
        out.push_str(&format!(
            "{},{},{side},{},{},{},{},{},{},{},{reason}\n",
            tr.entry_index,
            tr.exit_index,
            tr.entry_t,
            tr.exit_t,
            tr.entry_spread,
            tr.exit_spread,
            tr.entry_z,
            tr.exit_z.map(|z| z.to_string()).unwrap_or_default(),
            tr.pnl
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::live_view::{compute_view, HedgeMethod, ViewParams};

    #[test]
    fn backtest_on_a_view_skips_warm_up_and_closes_at_the_end() {
        let n = 400;
        let t: Vec<i64> = (0..n).map(|i| i * 1000).collect();
        let x: Vec<f64> = (0..n).map(|i| 100.0 + i as f64 * 0.01).collect();
        let y: Vec<f64> = (0..n).map(|i| 50.0 + i as f64 * 0.005 + (i as f64 * 0.2).sin()).collect();
        let s = compute_view(
            &t,
            &x,
            &y,
            &ViewParams { hedge: HedgeMethod::RollingOls, window: 30, ..ViewParams::default() },
        );
        let r = run_backtest(&s, &BacktestParams { entry_z: 1.0, exit_z: 0.0, cost: 0.0 }).expect("backtest");
        assert!(r.n_trades > 0, "a sine spread must trade");
        assert_eq!(r.equity.len(), s.spread.iter().filter(|v| v.is_some()).count());
        assert_eq!(*r.position.last().expect("position"), 0);
        let csv = trades_csv(&r);
        assert_eq!(csv.lines().count(), r.n_trades + 1);
        let with_cost = run_backtest(&s, &BacktestParams { entry_z: 1.0, exit_z: 0.0, cost: 0.1 }).expect("backtest");
        assert!((r.total_pnl - with_cost.total_pnl - 0.1 * r.n_trades as f64).abs() < 1e-9);
    }
}
