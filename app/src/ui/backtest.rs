//! The Backtest page body: [`run_backtest`] on the bars already loaded (live symbols or an
//! uploaded pair), recomputed in the browser whenever the data or a control changes. Entry,
//! exit and the z window come from the view's sliders; every other parameter has a control
//! here. Equity and drawdown in quote currency, every metric, the trade table (CSV export) and
//! the entry z × z window sweep heatmap (click a cell to set the sliders). On the Live page the
//! server's book bars and funding settlements of both symbols (`/api/export/book.csv`,
//! `/api/export/funding.csv`) are fetched and used when they exist, and the page says so.

use leptos::prelude::*;

use super::charts::{Chart, ChartData, ChartLevel, ChartLine, TimeRange, MEAN, SERIES};
use super::format::{fmt_num, fmt_opt};
use super::view::{ViewQuery, WINDOW_RANGE};
use super::widgets::InfoLink;
use crate::analytics::align::AlignedPair;
use crate::analytics::backtest::{
    run_backtest, sweep, BacktestParams, BacktestResult, Fill, Funding, Hedge, LegData, Market, Quote, Side,
    SweepResult, SweepSpec, WalkForward,
};
use crate::dataset::{book_per_bar, funding_with_marks, BookRow, FundingRow};

/// z windows of the sweep's rows (entry levels are 1.0–3.5 step 0.25).
pub const SWEEP_WINDOWS: [usize; 10] = [20, 30, 45, 60, 90, 120, 180, 240, 360, 480];

/// The backtest parameters of a view: its sliders plus the page's own controls.
pub fn view_params(v: &ViewQuery, controls: &BacktestParams) -> BacktestParams {
    BacktestParams { entry: v.z_entry, exit: v.z_exit, z_window: v.window, ..*controls }
}

/// Bid/ask and funding of both legs, when the server has them (live symbols).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SideData {
    pub book_x: Vec<BookRow>,
    pub book_y: Vec<BookRow>,
    pub funding_x: Vec<FundingRow>,
    pub funding_y: Vec<FundingRow>,
}

/// The side data met with the bars: quotes per bar and marked settlements, per leg.
struct MarketSides {
    book_x: Option<Vec<Option<Quote>>>,
    book_y: Option<Vec<Option<Quote>>>,
    funding_x: Vec<Funding>,
    funding_y: Vec<Funding>,
}

impl MarketSides {
    fn new(a: &AlignedPair, side: &SideData, bar_seconds: Option<f64>) -> MarketSides {
        let bar_ms = Market::closes(&a.t, &a.x, &a.y).bar_ms(bar_seconds).unwrap_or(1);
        let book = |rows: &[BookRow]| (!rows.is_empty()).then(|| book_per_bar(&a.t, rows));
        MarketSides {
            book_x: book(&side.book_x),
            book_y: book(&side.book_y),
            funding_x: funding_with_marks(&a.t, &a.x, bar_ms, &side.funding_x),
            funding_y: funding_with_marks(&a.t, &a.y, bar_ms, &side.funding_y),
        }
    }

    fn market<'a>(&'a self, a: &'a AlignedPair) -> Market<'a> {
        Market {
            t: &a.t,
            x: LegData { close: &a.x, book: self.book_x.as_deref(), funding: &self.funding_x },
            y: LegData { close: &a.y, book: self.book_y.as_deref(), funding: &self.funding_y },
        }
    }

    /// What the page says about the costs it could use.
    fn describe(&self, bars: usize) -> String {
        let quoted = |b: &Option<Vec<Option<Quote>>>| b.as_ref().map_or(0, |b| b.iter().flatten().count());
        let book = match (quoted(&self.book_x), quoted(&self.book_y)) {
            (0, 0) => "bid/ask: none, fills at the close ± slippage".to_string(),
            (qx, qy) => {
                format!("bid/ask used: x on {qx}, y on {qy} of {bars} bars (the others fill at the close ± slippage)")
            }
        };
        let funding = match (self.funding_x.len(), self.funding_y.len()) {
            (0, 0) => "funding: none".to_string(),
            (fx, fy) => format!("funding used: {fx} settlements of x, {fy} of y"),
        };
        format!("{book}; {funding}.")
    }
}

/// Runs the backtest on aligned closes with whatever side data there is.
pub fn backtest_pair(a: &AlignedPair, side: &SideData, p: &BacktestParams) -> Result<BacktestResult, String> {
    let sides = MarketSides::new(a, side, p.bar_seconds);
    run_backtest(&sides.market(a), p).map_err(|e| e.to_string())
}

/// The sweep grid of the page: the causal run for every cell (walk-forward, whose z ignores the
/// window, applies to the single run only).
pub fn sweep_pair(a: &AlignedPair, side: &SideData, p: &BacktestParams) -> Result<SweepResult, String> {
    let entries = SweepSpec::range(1.0, 3.5, 0.25).map_err(|e| e.to_string())?;
    let spec = SweepSpec { entries, windows: SWEEP_WINDOWS.to_vec() };
    let sides = MarketSides::new(a, side, p.bar_seconds);
    sweep(&sides.market(a), &BacktestParams { walk_forward: None, ..*p }, &spec).map_err(|e| e.to_string())
}

/// Fetch the server's book bars and funding of the view's symbols from the first bar on
/// (missing or empty exports: no side data for that leg).
#[cfg(feature = "hydrate")]
async fn fetch_side(x: String, y: String, interval_ms: i64, from_ms: i64) -> SideData {
    use crate::dataset::{parse_book_csv, parse_funding_csv};
    let label = crate::interval::interval_label(interval_ms);
    let book = |s: String| {
        let url = format!("/api/export/book.csv?symbol={s}&interval={label}&from={from_ms}");
        async move {
            let text = super::http::get_text(&url).await.unwrap_or_default();
            parse_book_csv(text.as_bytes()).unwrap_or_default()
        }
    };
    let funding = |s: String| {
        let url = format!("/api/export/funding.csv?symbol={s}&from={from_ms}");
        async move {
            let text = super::http::get_text(&url).await.unwrap_or_default();
            parse_funding_csv(text.as_bytes()).unwrap_or_default()
        }
    };
    SideData {
        book_x: book(x.clone()).await,
        book_y: book(y.clone()).await,
        funding_x: funding(x).await,
        funding_y: funding(y).await,
    }
}

/// Equity minus its running peak (≤ 0), per bar.
pub fn drawdown(equity: &[f64]) -> Vec<f64> {
    let mut peak: f64 = 0.0;
    equity
        .iter()
        .map(|e| {
            peak = peak.max(*e);
            e - peak
        })
        .collect()
}

/// `TRAIN,TEST` → folds; anything else (e.g. empty) → none.
fn parse_walk_forward(s: &str) -> Option<WalkForward> {
    let (a, b) = s.split_once(',')?;
    Some(WalkForward { train: a.trim().parse().ok()?, test: b.trim().parse().ok()? })
}

fn parse_opt<T: std::str::FromStr>(s: &str) -> Option<T> {
    let s = s.trim();
    if s.is_empty() {
        None
    } else {
        s.parse().ok()
    }
}

/// A number input bound to one field of the controls.
#[component]
fn NumberControl(
    label: &'static str,
    testid: &'static str,
    help: &'static str,
    value: Signal<String>,
    on_set: Callback<String>,
) -> impl IntoView {
    view! {
        <label class="control" title=help>
            <span class="control-label">{label}</span>
            <input type="number" step="any" data-testid=testid prop:value=move || value.get()
                on:change=move |ev| on_set.run(event_target_value(&ev))/>
        </label>
    }
}

/// `live`: the bars are the view's live symbols, so the server's bid/ask and funding are fetched.
#[component]
pub fn BacktestPanel(
    aligned: Memo<AlignedPair>,
    view_q: RwSignal<ViewQuery>,
    range: TimeRange,
    #[prop(optional)] live: bool,
) -> impl IntoView {
    let controls = RwSignal::new(BacktestParams::default());
    let params = Memo::new(move |_| view_q.with(|v| controls.with(|c| view_params(v, c))));
    let side = RwSignal::new(SideData::default());
    #[cfg(feature = "hydrate")]
    if live {
        // Re-fetched when the pair or interval changes, once bars exist, and every minute.
        let refresh = RwSignal::new(0u32);
        let _ = set_interval_with_handle(move || refresh.update(|n| *n += 1), std::time::Duration::from_secs(60));
        let has_bars = Memo::new(move |_| aligned.with(|a| !a.t.is_empty()));
        Effect::new(move |_| {
            refresh.track();
            let (x, y, interval) = view_q.with(|v| (v.x.clone(), v.y.clone(), v.interval_ms));
            if !has_bars.get() {
                return;
            }
            let from = aligned.with_untracked(|a| a.t.first().copied().unwrap_or(0));
            leptos::task::spawn_local(async move { side.set(fetch_side(x, y, interval, from).await) });
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = live;
    let result = Memo::new(move |_| aligned.with(|a| side.with(|sd| backtest_pair(a, sd, &params.get()))));
    // The grid ignores the sliders' entry and window (its axes) but follows every cost.
    let grid = Memo::new(move |_| aligned.with(|a| side.with(|sd| sweep_pair(a, sd, &params.get()))));
    let costs_note = move || aligned.with(|a| side.with(|sd| MarketSides::new(a, sd, None).describe(a.t.len())));
    let show_pnl = RwSignal::new(false);

    // One line per chart over the bars that could trade; `values` maps the equity to the line.
    let curve = move |label: &'static str, values: fn(&[f64]) -> Vec<f64>| {
        Signal::derive(move || {
            result.with(|r| match r {
                Ok(r) => {
                    let v = values(&r.equity[r.first_bar..]);
                    let points = aligned.with(|a| a.t[r.first_bar..].iter().map(|t| *t as f64).zip(v).collect());
                    ChartData {
                        lines: vec![ChartLine { label: label.into(), color: SERIES, points }],
                        levels: vec![ChartLevel { label: "0".into(), color: MEAN, value: 0.0 }],
                        ..ChartData::default()
                    }
                }
                Err(e) => ChartData { waiting: Some(format!("backtest: {e}")), ..ChartData::default() },
            })
        })
    };
    let equity_chart = curve("equity", <[f64]>::to_vec);
    let drawdown_chart = curve("drawdown", drawdown);

    let summary = move || {
        result.with(|r| match r {
            Ok(r) => {
                let m = r.metrics;
                let pct = |v: Option<f64>| v.map(|v| format!("{:.1}%", 100.0 * v)).unwrap_or_else(|| "—".into());
                view! {
                    {r.lookahead.then(|| view! { <p class="error">"look-ahead: fills at the signal bar's own close"</p> })}
                    <table class="kv num" data-testid="backtest-summary"><tbody>
                        <tr><th>"trades"</th><td>{m.n_trades}</td></tr>
                        <tr><th>"win rate"</th><td>{pct(m.win_rate)}</td></tr>
                        <tr><th>"gross pnl"</th><td>{fmt_num(m.gross_pnl, 2)}</td></tr>
                        <tr><th>"fees"</th><td data-testid="backtest-fees">{fmt_num(m.fees, 2)}</td></tr>
                        <tr><th>"funding"</th><td data-testid="backtest-funding">{fmt_num(m.funding, 2)}</td></tr>
                        <tr><th>"total pnl"</th><td data-testid="backtest-total-pnl">{fmt_num(m.total_pnl, 2)}</td></tr>
                        <tr><th>"return on notional"</th><td>{pct(Some(m.return_on_notional))}</td></tr>
                        <tr><th>"sharpe (annualised)"</th><td data-testid="backtest-sharpe">{fmt_opt(m.sharpe, 2)}</td></tr>
                        <tr><th>"max drawdown"</th><td>{fmt_num(m.max_drawdown, 2)}</td></tr>
                        <tr><th>"exposure"</th><td>{pct(m.exposure)}</td></tr>
                        <tr><th>"holding bars (mean / median)"</th><td>{format!("{} / {}", fmt_opt(m.mean_holding_bars, 1), fmt_opt(m.median_holding_bars, 1))}</td></tr>
                        <tr><th>"profit factor"</th><td>{fmt_opt(m.profit_factor, 2)}</td></tr>
                        <tr><th>"turnover"</th><td>{fmt_num(m.turnover, 0)}</td></tr>
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
                                    <td>{fmt_num(tr.qty_y, 4)}</td>
                                    <td>{fmt_num(tr.qty_x, 4)}</td>
                                    <td>{fmt_num(tr.fees, 2)}</td>
                                    <td>{fmt_num(tr.funding, 2)}</td>
                                    <td>{fmt_num(tr.pnl, 2)}</td>
                                    <td>{tr.reason.as_str()}</td>
                                </tr>
                            }
                        })
                        .collect_view()
                })
                .ok()
        })
    };
    let heatmap = move || {
        grid.with(|g| match g {
            Err(e) => view! { <p class="error">{e.clone()}</p> }.into_any(),
            Ok(g) => {
                let pnl = show_pnl.get();
                let values: Vec<f64> = g
                    .rows
                    .iter()
                    .flat_map(|r| r.cells.iter().filter_map(|c| if pnl { Some(c.total_pnl) } else { c.sharpe }))
                    .collect();
                let reach = values.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
                let header = g.entries.iter().map(|e| view! { <th>{format!("{e:.2}")}</th> }).collect_view();
                let rows = g
                    .rows
                    .iter()
                    .map(|row| {
                        let window = row.window;
                        let cells = match &row.error {
                            Some(e) => view! { <td colspan=g.entries.len().to_string() class="muted">{e.clone()}</td> }.into_any(),
                            None => row
                                .cells
                                .iter()
                                .map(|c| {
                                    let v = if pnl { Some(c.total_pnl) } else { c.sharpe };
                                    let entry = c.entry;
                                    let title = format!(
                                        "entry {entry:.2}, window {window}: sharpe {}, total pnl {}, {} trades; click to use",
                                        fmt_opt(c.sharpe, 2),
                                        fmt_num(c.total_pnl, 2),
                                        c.n_trades
                                    );
                                    view! {
                                        <td style=format!("background:{}", heat_color(v.map(|v| v / reach))) title=title
                                            data-testid="backtest-sweep-cell" data-entry=entry.to_string() data-window=window.to_string()
                                            on:click=move |_| view_q.update(|q| {
                                                q.z_entry = entry;
                                                q.window = window.clamp(WINDOW_RANGE.0, WINDOW_RANGE.1);
                                            })>
                                            {fmt_opt(v, if pnl { 0 } else { 2 })}
                                        </td>
                                    }
                                })
                                .collect_view()
                                .into_any(),
                        };
                        view! { <tr><th>{window}</th>{cells}</tr> }
                    })
                    .collect_view();
                view! {
                    <table class="heatmap num"><thead><tr><th>"window \\ entry"</th>{header}</tr></thead><tbody>{rows}</tbody></table>
                }
                .into_any()
            }
        })
    };
    let export = move |_| {
        let csv = result.with(|r| r.as_ref().map(trades_csv).unwrap_or_default());
        #[cfg(feature = "hydrate")]
        super::download::download_text(&csv, "pairdesk-backtest-trades.csv", "text/csv");
        #[cfg(not(feature = "hydrate"))]
        let _ = csv;
    };
    let shown = move |f: fn(&BacktestParams) -> String| Signal::derive(move || controls.with(f));
    let set = move |f: fn(&mut BacktestParams, &str)| Callback::new(move |s: String| controls.update(|c| f(c, &s)));
    view! {
        <section class="charts">
            <Chart testid="backtest-equity" title="Equity (quote currency): realised + open position at the closes" data=equity_chart range=range
                help="Equity after fees, slippage and funding, marked at each bar close"/>
            <Chart testid="backtest-drawdown" title="Drawdown (quote currency)" data=drawdown_chart range=range
                help="Equity minus its running peak"/>
        </section>
        <section class="panel" aria-label="Backtest">
            <h2>"Backtest "<InfoLink anchor="backtest"/>
                <button data-testid="export-trades" on:click=export>"Export trades"</button></h2>
            <p class="hint">"Entry, exit and z window come from the sliders. "</p>
            <p class="hint" data-testid="backtest-costs-source">{costs_note}</p>
            <div class="controls">
                <label class="control" title="How the hedge is estimated, using past bars only">
                    <span class="control-label">"hedge"</span>
                    <select data-testid="backtest-hedge" on:change=move |ev| {
                        if let Some(h) = Hedge::parse(&event_target_value(&ev)) { controls.update(|c| c.hedge = h) }
                    }>
                        {Hedge::ALL.into_iter().map(|h| view! {
                            <option value=h.as_str() selected=move || controls.with(|c| c.hedge == h)>{h.as_str()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <NumberControl label="hedge window" testid="backtest-hedge-window" help="Rolling OLS / TLS window (empty = the z window)"
                    value=shown(|c| c.hedge_window.map(|w| w.to_string()).unwrap_or_default())
                    on_set=set(|c, s| c.hedge_window = parse_opt(s))/>
                <NumberControl label="kalman δ" testid="backtest-kalman-delta" help="Kalman hedge: transition noise, 0 < δ < 1 (larger adapts faster)"
                    value=shown(|c| c.kalman.delta.to_string())
                    on_set=set(|c, s| if let Some(v) = parse_opt(s) { c.kalman.delta = v })/>
                <NumberControl label="kalman Ve" testid="backtest-kalman-ve" help="Kalman hedge: observation noise variance"
                    value=shown(|c| c.kalman.Ve.to_string())
                    on_set=set(|c, s| if let Some(v) = parse_opt(s) { c.kalman.Ve = v })/>
                <NumberControl label="train bars" testid="backtest-train" help="Static hedge: fitted on the first N bars; trading starts at N"
                    value=shown(|c| c.train.map(|w| w.to_string()).unwrap_or_default())
                    on_set=set(|c, s| c.train = parse_opt(s))/>
                <NumberControl label="stop z" testid="backtest-stop-z" help="Stop a short at z ≥ S, a long at z ≤ −S (empty = none)"
                    value=shown(|c| c.stop_z.map(|w| w.to_string()).unwrap_or_default())
                    on_set=set(|c, s| c.stop_z = parse_opt(s))/>
                <NumberControl label="max hold (bars)" testid="backtest-max-hold" help="Close after this many bars (empty = none)"
                    value=shown(|c| c.max_hold.map(|w| w.to_string()).unwrap_or_default())
                    on_set=set(|c, s| c.max_hold = parse_opt(s))/>
                <label class="control" title="Fill at the next bar's close, or (look-ahead) the signal bar's">
                    <span class="control-label">"fill"</span>
                    <select data-testid="backtest-fill" on:change=move |ev| {
                        let fill = if event_target_value(&ev) == "same" { Fill::Same } else { Fill::Next };
                        controls.update(|c| c.fill = fill);
                    }>
                        <option value="next" selected=move || controls.with(|c| c.fill == Fill::Next)>"next bar"</option>
                        <option value="same" selected=move || controls.with(|c| c.fill == Fill::Same)>"same bar (look-ahead)"</option>
                    </select>
                </label>
                <NumberControl label="fee bps" testid="backtest-fee-bps" help="Per leg, at entry and exit (4 = Binance taker)"
                    value=shown(|c| c.fee_bps.to_string())
                    on_set=set(|c, s| if let Some(v) = parse_opt(s) { c.fee_bps = v })/>
                <NumberControl label="slippage bps" testid="backtest-slippage-bps" help="Adverse price move per fill"
                    value=shown(|c| c.slippage_bps.to_string())
                    on_set=set(|c, s| if let Some(v) = parse_opt(s) { c.slippage_bps = v })/>
                <NumberControl label="notional" testid="backtest-notional" help="Quote currency of the y leg at entry"
                    value=shown(|c| c.notional.to_string())
                    on_set=set(|c, s| if let Some(v) = parse_opt(s) { c.notional = v })/>
                <label class="control" title="TRAIN,TEST bars: static hedge and z mean/std fitted on each TRAIN, traded on the next TEST (empty = one causal run)">
                    <span class="control-label">"walk-forward"</span>
                    <input type="text" data-testid="backtest-walk-forward" placeholder="TRAIN,TEST"
                        prop:value=move || controls.with(|c| c.walk_forward.map(|w| format!("{},{}", w.train, w.test)).unwrap_or_default())
                        on:change=move |ev| controls.update(|c| c.walk_forward = parse_walk_forward(&event_target_value(&ev)))/>
                </label>
            </div>
            {summary}
        </section>
        <section class="panel" aria-label="Parameter sweep">
            <h2>"Parameter sweep: entry z × z window"
                <label class="control"><input type="checkbox" prop:checked=move || show_pnl.get()
                    on:change=move |ev| show_pnl.set(event_target_checked(&ev))/>"total pnl instead of sharpe"</label></h2>
            <div data-testid="backtest-sweep">{heatmap}</div>
        </section>
        <section class="panel trades" aria-label="Trades">
            <h2>"Trades"</h2>
            <table class="stats num" data-testid="backtest-trades"><tbody>
                <tr><th>"entry"</th><th>"exit"</th><th>"side"</th><th>"entry z"</th><th>"exit z"</th><th>"qty y"</th><th>"qty x"</th>
                    <th>"fees"</th><th>"funding"</th><th>"pnl"</th><th>"reason"</th></tr>
                {trades}
            </tbody></table>
        </section>
    }
}

/// Diverging colour of a value scaled to [−1, 1] (red losses, green gains, grey for none).
fn heat_color(v: Option<f64>) -> String {
    match v {
        None => "transparent".into(),
        Some(v) => {
            let a = v.clamp(-1.0, 1.0);
            if a >= 0.0 {
                format!("rgba(46, 160, 67, {:.2})", 0.15 + 0.6 * a)
            } else {
                format!("rgba(218, 54, 51, {:.2})", 0.15 - 0.6 * a)
            }
        }
    }
}

/// The trades as CSV (header + one row per trade, the JSON field names).
pub fn trades_csv(r: &BacktestResult) -> String {
    let mut out = String::from(
        "entry_index,entry_fill_index,exit_index,exit_fill_index,entry_t,exit_t,side,entry_z,exit_z,beta,qty_x,qty_y,\
         entry_px_x,entry_px_y,exit_px_x,exit_px_y,gross_pnl,fees,funding,pnl,reason\n",
    );
    for tr in &r.trades {
        let side = match tr.side {
            Side::ShortSpread => "short_spread",
            Side::LongSpread => "long_spread",
        };
        out.push_str(&format!(
            "{},{},{},{},{},{},{side},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            tr.entry_index,
            tr.entry_fill_index,
            tr.exit_index,
            tr.exit_fill_index,
            tr.entry_t,
            tr.exit_t,
            tr.entry_z,
            tr.exit_z.map(|z| z.to_string()).unwrap_or_default(),
            tr.beta,
            tr.qty_x,
            tr.qty_y,
            tr.entry_px_x,
            tr.entry_px_y,
            tr.exit_px_x,
            tr.exit_px_y,
            tr.gross_pnl,
            tr.fees,
            tr.funding,
            tr.pnl,
            tr.reason.as_str()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(n: usize) -> AlignedPair {
        let t: Vec<i64> = (0..n as i64).map(|i| i * 60_000).collect();
        let x: Vec<f64> = (0..n).map(|i| 100.0 + i as f64 * 0.01).collect();
        let y: Vec<f64> = (0..n).map(|i| 50.0 + i as f64 * 0.005 + (i as f64 * 0.2).sin()).collect();
        AlignedPair { x_filled: vec![false; n], y_filled: vec![false; n], t, x, y }
    }

    #[test]
    fn the_page_backtest_uses_the_sliders_and_exports_every_trade() {
        let a = pair(600);
        let v = ViewQuery { window: 30, z_entry: 1.0, ..ViewQuery::default() };
        let p = view_params(&v, &BacktestParams { fee_bps: 0.0, ..BacktestParams::default() });
        assert_eq!((p.entry, p.z_window), (1.0, 30));
        let r = backtest_pair(&a, &SideData::default(), &p).expect("backtest");
        assert!(r.metrics.n_trades > 0, "a sine spread must trade");
        assert_eq!(r.equity.len(), 600);
        assert_eq!(trades_csv(&r).lines().count(), r.metrics.n_trades + 1);
        let paid = backtest_pair(&a, &SideData::default(), &BacktestParams { fee_bps: 4.0, ..p }).expect("backtest");
        assert!((r.metrics.total_pnl - paid.metrics.total_pnl - paid.metrics.fees).abs() < 1e-6);
        let dd = drawdown(&r.equity);
        assert!(dd.iter().all(|d| *d <= 0.0));
        assert!((-dd.iter().fold(0.0f64, |m, d| m.min(*d)) - r.metrics.max_drawdown).abs() < 1e-9);
    }

    #[test]
    fn the_page_sweep_has_eleven_entries_by_ten_windows() {
        let wf = BacktestParams { walk_forward: parse_walk_forward("800, 400"), ..BacktestParams::default() };
        assert_eq!(wf.walk_forward, Some(WalkForward { train: 800, test: 400 }));
        assert_eq!(parse_walk_forward(""), None);
        assert_eq!(
            backtest_pair(&pair(2000), &SideData::default(), &wf).expect("folds").folds.map(|f| f.len()),
            Some(3)
        );
        // The grid is the causal run even when the single run is walk-forward.
        let g = sweep_pair(&pair(2000), &SideData::default(), &wf).expect("sweep");
        assert_eq!(g.entries.len(), 11);
        assert_eq!(g.rows.len(), SWEEP_WINDOWS.len());
        // 480 + 480 − 1 bars fit in 2000: every row computes.
        assert!(g.rows.iter().all(|r| r.error.is_none() && r.cells.len() == 11));
    }

    #[test]
    fn side_data_from_the_server_is_used_and_described() {
        let a = pair(600);
        let v = ViewQuery { window: 30, z_entry: 1.0, ..ViewQuery::default() };
        let p = view_params(&v, &BacktestParams { fee_bps: 0.0, ..BacktestParams::default() });
        let plain = backtest_pair(&a, &SideData::default(), &p).expect("backtest");
        let side = SideData {
            book_y: a.t.iter().zip(&a.y).map(|(t, y)| BookRow { t: *t, bid: y - 0.05, ask: y + 0.05 }).collect(),
            funding_x: (0..600).step_by(50).map(|i| FundingRow { t: a.t[i] + 1, rate: 0.001, mark: None }).collect(),
            ..SideData::default()
        };
        let costly = backtest_pair(&a, &side, &p).expect("backtest");
        assert_eq!(plain.metrics.n_trades, costly.metrics.n_trades, "costs do not move signals");
        assert!(costly.metrics.gross_pnl < plain.metrics.gross_pnl, "the bid/ask spread costs money");
        assert!(costly.metrics.funding != 0.0);
        let text = MarketSides::new(&a, &side, None).describe(600);
        assert!(text.contains("x on 0, y on 600 of 600 bars") && text.contains("11 settlements of x"), "{text}");
        assert!(MarketSides::new(&a, &SideData::default(), None).describe(600).contains("bid/ask: none"));
    }
}
