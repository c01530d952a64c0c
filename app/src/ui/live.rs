//! The Live page: pair and interval pickers, window/threshold sliders, hedge method, the
//! last values (prices, hedge ratio, z, correlation), stacked charts (legs, spread with
//! bands, z-score with entry/exit lines, rolling correlation), ADF and cointegration on
//! demand, and per-leg price statistics. Sliders recompute in the browser from the bars
//! already loaded: the analytics engine runs in wasm, no round trip.

use leptos::prelude::*;

use super::alerts::AlertPanel;
use super::backtest::BacktestPanel;
use super::charts::{
    Candle, Chart, ChartData, ChartLevel, ChartLine, TimeRange, ENTRY, EXIT, LEG_X, LEG_Y, MEAN, SERIES,
};
use super::format::{fmt_num, fmt_opt, fmt_price};
use super::state::{LegBooks, LiveQuotes, LiveState};
use super::topbar::StatusBar;
use super::view::{LegsChart, Page, ViewQuery, WINDOW_RANGE, Z_ENTRY_RANGE, Z_EXIT_RANGE};
use super::widgets::{InfoLink, Slider, SymbolPicker, Tile};
use crate::analytics::align::{align_bars, inner_join_pair, AlignRule, AlignedPair};
use crate::analytics::execution::{executable_spread, quote_at, round_trip_cost_bps, value_at};
use crate::analytics::live_view::{compute_view, HedgeMethod, ViewParams, ViewSeries};
use crate::analytics::{adfuller, coint, price_stats, AdfOptions, PriceStats};
use crate::protocol::{interval_label, Bar, BookQuote, LegQuote, INTERVALS_MS};

#[component]
pub fn LivePage(initial: ViewQuery) -> impl IntoView {
    let view_q = RwSignal::new(initial);
    let state = super::state::connect_live(view_q);

    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| {
            let query = view_q.with(ViewQuery::to_query);
            if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
                let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format!("?{query}")));
            }
        });
    }

    // Bars → aligned closes → the view's series; all recomputed in wasm. Live bars align on
    // the interval's grid (union rule, as the server does); uploaded ones by inner join on
    // their own times, as `pairdesk analyze` reads the same files.
    let is_live = Memo::new(move |_| view_q.with(ViewQuery::is_live));
    let aligned = Memo::new(move |_| {
        let interval = view_q.with(|v| v.interval_ms);
        let live = is_live.get();
        state.bars_x.with(|xb| {
            state.bars_y.with(|yb| {
                if live {
                    align_bars(xb, yb, interval, AlignRule::Union).unwrap_or_default()
                } else {
                    inner_join_pair(xb, yb).unwrap_or_default()
                }
            })
        })
    });
    let params = Memo::new(move |_| {
        view_q.with(|v| ViewParams {
            hedge: v.hedge,
            window: v.window,
            corr_window: v.corr_window,
            ..ViewParams::default()
        })
    });
    let series = Memo::new(move |_| aligned.with(|a| compute_view(&a.t, &a.x, &a.y, &params.get())));
    // One time axis for every stacked chart: the aligned bars' span.
    let range = TimeRange::over_times(Signal::derive(move || aligned.with(|a| Some((*a.t.first()?, *a.t.last()?)))));

    let z_entry = Signal::derive(move || view_q.with(|v| v.z_entry));
    let z_exit = Signal::derive(move || view_q.with(|v| v.z_exit));
    let progress = move || series.with(|s| s.z_progress(&params.get()));
    let waiting_text = move |what: &str| {
        let (have, need) = progress();
        (have < need).then(|| format!("{what}: {have}/{need} bars"))
    };

    let prices_chart = Signal::derive(move || aligned.with(prices_chart_data));
    let log_scale = Memo::new(move |_| view_q.with(|v| v.log_scale));
    let candles_x = Signal::derive(move || state.bars_x.with(|b| candle_chart_data(b, log_scale.get())));
    let candles_y = Signal::derive(move || state.bars_y.with(|b| candle_chart_data(b, log_scale.get())));
    let ratio_chart = Signal::derive(move || aligned.with(|a| ratio_chart_data(a, log_scale.get())));
    let legs_chart = Memo::new(move |_| view_q.with(|v| v.legs_chart));
    let show_ratio = Memo::new(move |_| view_q.with(|v| v.show_ratio));
    let spread_chart = Signal::derive(move || {
        let k = z_entry.get();
        let mut data = series.with(|s| spread_chart_data(s, k));
        // The executable band: what the spread can be sold and bought at the quotes.
        state.book.with(|book| series.with(|s| data.lines.extend(executable_band_lines(s, book))));
        data.waiting = waiting_text("spread bands");
        data
    });
    let z_chart = Signal::derive(move || {
        let mut data = series.with(|s| z_chart_data(s, z_entry.get(), z_exit.get()));
        data.waiting = waiting_text("z-score");
        data
    });
    let corr_chart = Signal::derive(move || {
        let mut data = series.with(corr_chart_data);
        let need = params.get().corr_window + 1;
        let have = series.with(|s| s.t.len());
        data.waiting = (have < need).then(|| format!("correlation: {have}/{need} bars"));
        data
    });

    let leg_label = move |is_x: bool| {
        let (x, y) = view_q.with(ViewQuery::legs);
        let leg = if is_x { x } else { y };
        if leg.is_live() {
            leg.symbol().to_string()
        } else {
            state.datasets.with(|d| leg.label(d))
        }
    };
    let x_label = move || leg_label(true);
    let y_label = move || leg_label(false);
    // The last price: the pushed trade for live legs, the last close of an uploaded series.
    let last_price = move |is_x: bool| {
        if is_live.get() {
            let last = if is_x { state.last_x.get() } else { state.last_y.get() };
            last.map(|p| fmt_price(p.price)).unwrap_or_else(|| "—".into())
        } else {
            let bars = if is_x { state.bars_x } else { state.bars_y };
            bars.with(|b| b.last().map(|b| fmt_price(b.close))).unwrap_or_else(|| "—".into())
        }
    };
    // The server pushes the same computation for the subscribed view; its values are shown
    // when they describe what this page holds (same parameters, same latest bar), so every
    // page watching a view shows the server's numbers. Otherwise (a slider just moved, a bar
    // not yet reflected) the page's own, instantly.
    let pushed = move || {
        state
            .analytics
            .get()
            .filter(|a| a.view == view_q.with(ViewQuery::analytics) && series.with(|s| s.t.last() == Some(&a.t_ms)))
    };
    let last_beta = move || pushed().map_or_else(|| series.with(|s| ViewSeries::last(&s.beta)), |a| a.beta);
    let last_z = move || pushed().map_or_else(|| series.with(|s| ViewSeries::last(&s.z)), |a| a.z);
    let last_corr = move || pushed().map_or_else(|| series.with(|s| ViewSeries::last(&s.corr)), |a| a.corr);
    let hedge_error = move || series.with(|s| s.hedge_error.clone());

    let page = view_q.with_untracked(|v| v.page);
    let body = if page == Page::Backtest {
        view! { <BacktestPanel aligned=aligned view_q=view_q range=range live=true/> }.into_any()
    } else {
        view! {
            <section class="charts" aria-label="Charts">
                {move || match legs_chart.get() {
                    LegsChart::Percent => view! {
                        <Chart testid="chart-prices" title="Both legs, % change over the window" data=prices_chart range=range
                            help="x (orange) and y (blue) rebased to their first bar"/>
                    }.into_any(),
                    LegsChart::Candles => view! {
                        <Chart testid="chart-candles-x" title="x leg: OHLC candles and volume" data=candles_x range=range
                            help="The x leg's bars; more bars than pixels merge into one candle per pixel column"/>
                        <Chart testid="chart-candles-y" title="y leg: OHLC candles and volume" data=candles_y range=range
                            help="The y leg's bars; more bars than pixels merge into one candle per pixel column"/>
                    }.into_any(),
                }}
                {move || show_ratio.get().then(|| view! {
                    <Chart testid="chart-ratio" title="Price ratio y / x" data=ratio_chart range=range
                        help="The y close divided by the x close of each aligned bar"/>
                })}
                <Chart testid="chart-spread" title="Spread with rolling mean ± entry·σ" data=spread_chart range=range
                    help="Spread y − βx − α with its rolling mean and bands at ± z-entry standard deviations"/>
                <Chart testid="chart-zscore" title="Spread z-score with entry/exit lines" data=z_chart range=range
                    help="Rolling z-score; red lines = ±entry, green = ±exit"/>
                {move || is_live.get().then(|| view! { <super::tape::PValueTape range=range view_q=view_q/> })}
                <Chart testid="chart-corr" title="Rolling correlation of returns" data=corr_chart range=range
                    help="Pearson correlation of simple returns over the correlation window"/>
                <p class="hint">"Wheel or +/− to zoom, drag or ←/→ to pan, double-click or 0 to reset. Times are UTC."</p>
            </section>
            <StationarityPanel series=series aligned=aligned/>
            <super::basket::LiveBasket view_q=view_q/>
            <StatsTable x_label=Signal::derive(x_label) y_label=Signal::derive(y_label) series=series/>
            // Alert rules watch live views; an uploaded series never gets a new bar.
            {move || is_live.get().then(|| view! { <AlertPanel view_q=view_q/> })}
        }
        .into_any()
    };

    view! {
        <StatusBar view_q=view_q/>
        <main class="live">
            <section class="controls" aria-label="View">
                <SymbolPicker testid="pair-x" label="x" view_q=view_q is_x=true/>
                <SymbolPicker testid="pair-y" label="y" view_q=view_q is_x=false/>
                <super::symbols::SymbolEditor/>
                {move || (!is_live.get()).then(|| view! {
                    <span class="control" data-testid="native-interval" title="Uploaded series are shown at their own bar times (inner join of the two files)">
                        <span class="control-label">"bars"</span>
                        {move || state.bars_x.with(|b| native_interval_text(b))}
                    </span>
                })}
                <label class="control" title="Bar interval of every chart and statistic" class:hidden=move || !is_live.get()>
                    <span class="control-label">"interval"</span>
                    <select data-testid="interval" on:change=move |ev| {
                        if let Ok(ms) = event_target_value(&ev).parse::<i64>() {
                            view_q.update(|v| v.interval_ms = ms);
                            range.reset();
                        }
                    }>
                        {INTERVALS_MS.into_iter().map(|ms| view! {
                            <option value=ms.to_string() selected=move || view_q.with(|v| v.interval_ms == ms)>{interval_label(ms)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="control" title="How the hedge ratio is estimated">
                    <span class="control-label">"hedge"</span>
                    <select data-testid="hedge-method" on:change=move |ev| {
                        if let Some(m) = HedgeMethod::parse(&event_target_value(&ev)) {
                            view_q.update(|v| v.hedge = m);
                        }
                    }>
                        {HedgeMethod::ALL.into_iter().map(|m| view! {
                            <option value=m.as_str() selected=move || view_q.with(|v| v.hedge == m)>{m.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="control" title="Chart the legs as % change on one chart, or each as OHLC candles with volume">
                    <span class="control-label">"legs"</span>
                    <select data-testid="legs-chart" on:change=move |ev| {
                        let chart = if event_target_value(&ev) == "candles" { LegsChart::Candles } else { LegsChart::Percent };
                        view_q.update(|v| v.legs_chart = chart);
                    }>
                        <option value="pct" selected=move || legs_chart.get() == LegsChart::Percent>"% change"</option>
                        <option value="candles" selected=move || legs_chart.get() == LegsChart::Candles>"candles"</option>
                    </select>
                </label>
                <label class="control check" title="Logarithmic price axis (candles and ratio)">
                    <input type="checkbox" data-testid="log-scale" prop:checked=move || log_scale.get()
                        on:change=move |ev| view_q.update(|v| v.log_scale = event_target_checked(&ev))/>
                    <span class="control-label">"log"</span>
                </label>
                <label class="control check" title="Show the price ratio y / x">
                    <input type="checkbox" data-testid="show-ratio" prop:checked=move || show_ratio.get()
                        on:change=move |ev| view_q.update(|v| v.show_ratio = event_target_checked(&ev))/>
                    <span class="control-label">"ratio"</span>
                </label>
                <Slider label="window" testid="window" min=WINDOW_RANGE.0 as f64 max=WINDOW_RANGE.1 as f64 step=1.0 decimals=0
                    value=Signal::derive(move || view_q.with(|v| v.window as f64))
                    on_change=Callback::new(move |w: f64| view_q.update(|v| v.window = w as usize))
                    help="Bars in the rolling hedge regression and the z-score window."/>
                <Slider label="z entry" testid="z-entry" min=Z_ENTRY_RANGE.0 max=Z_ENTRY_RANGE.1 step=0.1 decimals=1
                    value=z_entry on_change=Callback::new(move |z: f64| view_q.update(|v| v.z_entry = z))
                    help="Open a position when |z| rises above this level; also the alert threshold."/>
                <Slider label="z exit" testid="z-exit" min=Z_EXIT_RANGE.0 max=Z_EXIT_RANGE.1 step=0.1 decimals=1
                    value=z_exit on_change=Callback::new(move |z: f64| view_q.update(|v| v.z_exit = z))
                    help="Close the position when z comes back through ± this level."/>
            </section>
            <section class="tiles" aria-label="Last values">
                <Tile label=Signal::derive(move || format!("{} (x)", x_label())) testid="last-price-x"
                    value=Signal::derive(move || last_price(true))
                    help="Last trade price of the x leg (last close of an uploaded series)" anchor="prices"/>
                <Tile label=Signal::derive(move || format!("{} (y)", y_label())) testid="last-price-y"
                    value=Signal::derive(move || last_price(false))
                    help="Last trade price of the y leg (last close of an uploaded series)" anchor="prices"/>
                <Tile label=Signal::derive(move || format!("hedge ratio β ({})", view_q.with(|v| v.hedge.label()))) testid="hedge-ratio"
                    value=Signal::derive(move || hedge_error().map(|_| "—".to_string()).unwrap_or_else(|| fmt_opt(last_beta(), 5)))
                    help="Units of x per unit of y in the spread y − βx − α" anchor="ols"/>
                <Tile label=Signal::derive(|| "quoted round trip".to_string()) testid="exec-cost"
                    value=Signal::derive(move || quoted_cost_text(state.quotes.get(), last_beta()))
                    help="Cost to enter and exit one spread unit (1 y, β x) at the current best bid/ask of both legs, in bps of the y leg" anchor="execution"/>
                <Tile label=Signal::derive(|| "z-score".to_string()) testid="zscore-last"
                    value=Signal::derive(move || match last_z() {
                        Some(z) => fmt_num(z, 2),
                        None => waiting_text("z-score").unwrap_or_else(|| "—".into()),
                    })
                    help="How many rolling standard deviations the spread is from its rolling mean" anchor="zscore"/>
                <Tile label=Signal::derive(move || format!("correlation ({} returns)", view_q.with(|v| v.corr_window))) testid="corr-last"
                    value=Signal::derive(move || fmt_opt(last_corr(), 3))
                    help="Rolling Pearson correlation of the legs' simple returns" anchor="rolling-correlation"/>
            </section>
            {move || state.leg_error.get().map(|e| view! { <p class="error" data-testid="leg-error">{e}</p> })}
            {body}
            {move || hedge_error().map(|e| view! { <p class="error">"hedge: "{e}</p> })}
        </main>
    }
}

/// ADF on the spread and Engle–Granger on the legs, run on demand (they are the costly ones).
#[component]
fn StationarityPanel(series: Memo<ViewSeries>, aligned: Memo<AlignedPair>) -> impl IntoView {
    let adf = RwSignal::new(None::<Result<crate::analytics::AdfResult, String>>);
    let eg = RwSignal::new(None::<Result<crate::analytics::CointResult, String>>);
    let run = move |_| {
        let spread: Vec<f64> = series.with(|s| s.spread.iter().flatten().copied().collect());
        adf.set(Some(adfuller(&spread, &AdfOptions::default()).map_err(|e| e.to_string())));
        eg.set(Some(
            aligned.with(|a| coint(&a.y, &a.x, Some(crate::analytics::Autolag::Aic), None)).map_err(|e| e.to_string()),
        ));
    };
    let verdict =
        |p: f64| if p < 0.05 { "stationary at 5% — mean reversion plausible" } else { "not stationary at 5%" };
    view! {
        <section class="panel" aria-label="Stationarity">
            <h2>"Stationarity "<InfoLink anchor="adf"/></h2>
            <button data-testid="adf-run" on:click=run title="Augmented Dickey–Fuller on the spread (constant, AIC lag selection) and Engle–Granger on the legs">"Run ADF"</button>
            {move || adf.get().map(|r| match r {
                Ok(a) => view! {
                    <table class="kv num"><tbody>
                        <tr><th>"ADF statistic"</th><td data-testid="adf-stat">{fmt_num(a.stat, 4)}</td></tr>
                        <tr><th>"p-value"</th><td data-testid="adf-pvalue">{fmt_num(a.pvalue, 4)}</td></tr>
                        <tr><th>"lag (AIC)"</th><td>{a.usedlag}" of "{a.maxlag}", nobs "{a.nobs}</td></tr>
                        <tr><th>"critical 1% / 5% / 10%"</th><td>{format!("{:.3} / {:.3} / {:.3}", a.crit.p1, a.crit.p5, a.crit.p10)}</td></tr>
                        <tr><th>"verdict"</th><td>{verdict(a.pvalue)}</td></tr>
                    </tbody></table>
                }.into_any(),
                Err(e) => view! { <p class="error" data-testid="adf-stat">"ADF: "{e}</p> }.into_any(),
            })}
            {move || eg.get().map(|r| match r {
                Ok(c) => view! {
                    <table class="kv num"><tbody>
                        <tr><th>"Engle–Granger statistic"</th><td>{fmt_num(c.stat, 4)}</td></tr>
                        <tr><th>"p-value"</th><td data-testid="coint-pvalue">{fmt_num(c.pvalue, 4)}</td></tr>
                        <tr><th>"verdict"</th><td>{if c.pvalue < 0.05 { "cointegrated at 5%" } else { "not cointegrated at 5%" }}</td></tr>
                    </tbody></table>
                }.into_any(),
                Err(e) => view! { <p class="error">"cointegration: "{e}</p> }.into_any(),
            })}
        </section>
    }
}

/// Price statistics of both legs over the loaded bars, exportable as CSV.
#[component]
fn StatsTable(x_label: Signal<String>, y_label: Signal<String>, series: Memo<ViewSeries>) -> impl IntoView {
    let state = expect_context::<LiveState>();
    let stats_x = Memo::new(move |_| state.bars_x.with(|b| price_stats(b).ok()));
    let stats_y = Memo::new(move |_| state.bars_y.with(|b| price_stats(b).ok()));
    let row = |name: &'static str, f: fn(&PriceStats) -> String| {
        view! {
            <tr>
                <th>{name}</th>
                <td>{move || stats_x.get().map(|s| f(&s)).unwrap_or_else(|| "—".into())}</td>
                <td>{move || stats_y.get().map(|s| f(&s)).unwrap_or_else(|| "—".into())}</td>
            </tr>
        }
    };
    let export = move |_| {
        let csv = state.bars_x.with(|xb| {
            state.bars_y.with(|yb| {
                series.with(|s| state.book.with(|book| view_csv(&x_label.get(), &y_label.get(), xb, yb, s, book)))
            })
        });
        #[cfg(feature = "hydrate")]
        super::download::download_text(&csv, "pairdesk-view.csv", "text/csv");
        #[cfg(not(feature = "hydrate"))]
        let _ = csv;
    };
    view! {
        <section class="panel" aria-label="Price statistics">
            <h2>"Price statistics "<InfoLink anchor="price-statistics"/>
                <button data-testid="export-csv" on:click=export title="Download bars of both legs with hedge ratio, spread, z and correlation">"Export CSV"</button>
            </h2>
            <table class="stats num"><tbody>
                <tr><th></th><th>{x_label}</th><th>{y_label}</th></tr>
                {row("last", |s| fmt_price(s.last))}
                {row("change", |s| format!("{} ({:+.2}%)", fmt_num(s.change, 2), s.change_pct * 100.0))}
                {row("mean", |s| fmt_price(s.mean))}
                {row("std", |s| fmt_opt(s.std, 4))}
                {row("min / max", |s| format!("{} / {}", fmt_price(s.min), fmt_price(s.max)))}
                {row("volatility / bar", |s| s.realized_vol.map(|v| format!("{:.4}%", v * 100.0)).unwrap_or_else(|| "—".into()))}
                {row("volume", |s| fmt_num(s.volume, 3))}
                {row("VWAP", |s| s.vwap.map(fmt_price).unwrap_or_else(|| "—".into()))}
                {row("trades", |s| s.trade_count.to_string())}
                {row("bars", |s| s.bars.to_string())}
            </tbody></table>
        </section>
    }
}

/// The view's per-bar series as CSV: both legs' bars joined with the analytics, then each
/// leg's last bid/ask of the bar, the executable spread band and the funding rate in force
/// (the last settlement at or before the bar; empty where unknown).
pub fn view_csv(x: &str, y: &str, xb: &[Bar], yb: &[Bar], s: &ViewSeries, book: &LegBooks) -> String {
    let mut out = format!(
        "t_ms,{x}_open,{x}_high,{x}_low,{x}_close,{x}_volume,{y}_open,{y}_high,{y}_low,{y}_close,{y}_volume,beta,alpha,spread,spread_mean,spread_std,z,corr,x_bid,x_ask,y_bid,y_ask,spread_bid,spread_ask,x_funding_rate,y_funding_rate\n"
    );
    let cell = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for (i, t) in s.t.iter().enumerate() {
        let bx = xb.binary_search_by_key(t, |b| b.t).ok().map(|k| xb[k]);
        let by = yb.binary_search_by_key(t, |b| b.t).ok().map(|k| yb[k]);
        let bar_cells = |b: Option<Bar>| match b {
            Some(b) => format!("{},{},{},{},{}", b.open, b.high, b.low, b.close, b.volume),
            None => ",,,,".to_string(),
        };
        let (qx, qy) = (bar_quote(&book.x, *t), bar_quote(&book.y, *t));
        let band = match (qx, qy, s.beta[i], s.alpha[i]) {
            (Some(qx), Some(qy), Some(beta), Some(alpha)) => Some(executable_spread(&qx, &qy, beta, alpha)),
            _ => None,
        };
        out.push_str(&format!(
            "{t},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            bar_cells(bx),
            bar_cells(by),
            cell(s.beta[i]),
            cell(s.alpha[i]),
            cell(s.spread[i]),
            cell(s.spread_mean[i]),
            cell(s.spread_std[i]),
            cell(s.z[i]),
            cell(s.corr[i]),
            cell(qx.map(|q| q.bid)),
            cell(qx.map(|q| q.ask)),
            cell(qy.map(|q| q.bid)),
            cell(qy.map(|q| q.ask)),
            cell(band.map(|b| b.0)),
            cell(band.map(|b| b.1)),
            cell(value_at(&book.x_funding, *t)),
            cell(value_at(&book.y_funding, *t)),
        ));
    }
    out
}

/// The quote of the bar opening at `t`: that bar's own, or the last one before it (a bar
/// without book updates keeps the quote in force).
fn bar_quote(book: &[BookQuote], t: i64) -> Option<BookQuote> {
    quote_at(book, t)
}

/// The executable band's two lines (sell at the bids side, buy at the asks side).
pub fn executable_band_lines(s: &ViewSeries, book: &LegBooks) -> Vec<ChartLine> {
    if book.x.is_empty() || book.y.is_empty() {
        return Vec::new();
    }
    let (mut sell, mut buy) = (Vec::new(), Vec::new());
    for (i, t) in s.t.iter().enumerate() {
        if let (Some(qx), Some(qy), Some(beta), Some(alpha)) =
            (bar_quote(&book.x, *t), bar_quote(&book.y, *t), s.beta[i], s.alpha[i])
        {
            let (bid, ask) = executable_spread(&qx, &qy, beta, alpha);
            sell.push((*t as f64, bid));
            buy.push((*t as f64, ask));
        }
    }
    vec![
        ChartLine { label: "sell (bid)".into(), color: EXIT, points: sell },
        ChartLine { label: "buy (ask)".into(), color: EXIT, points: buy },
    ]
}

/// The cost tile's text: the quoted round trip in bps of y, or why there is none.
fn quoted_cost_text(quotes: Option<LiveQuotes>, beta: Option<f64>) -> String {
    let Some(LiveQuotes { x: Some(x), y: Some(y), .. }) = quotes else { return "no quotes".into() };
    let q = |l: &LegQuote| BookQuote { t: l.t_ms, bid: l.bid, ask: l.ask };
    match beta.and_then(|b| round_trip_cost_bps(&q(&x), &q(&y), b)) {
        Some(bps) => format!("{bps:.2} bps"),
        None => "—".into(),
    }
}

/// The typical spacing of an uploaded series' bars (the median gap), e.g. `1d`, `1m`.
fn native_interval_text(bars: &[Bar]) -> String {
    let mut gaps: Vec<i64> = bars.windows(2).map(|w| w[1].t - w[0].t).filter(|g| *g > 0).collect();
    if gaps.is_empty() {
        return "—".into();
    }
    gaps.sort_unstable();
    let gap = gaps[gaps.len() / 2];
    format!("{} bars of {}", bars.len(), interval_label(gap))
}

fn points(t: &[i64], v: &[Option<f64>]) -> Vec<(f64, f64)> {
    t.iter().zip(v).filter_map(|(t, v)| v.map(|v| (*t as f64, v))).collect()
}

pub fn prices_chart_data(a: &AlignedPair) -> ChartData {
    let (Some(x0), Some(y0)) = (a.x.first(), a.y.first()) else {
        return ChartData { waiting: Some("waiting for the first bars…".into()), ..ChartData::default() };
    };
    let rebased = |v: &[f64], v0: f64| a.t.iter().zip(v).map(|(t, v)| (*t as f64, (v / v0 - 1.0) * 100.0)).collect();
    ChartData {
        lines: vec![
            ChartLine { label: "x %".into(), color: LEG_X, points: rebased(&a.x, *x0) },
            ChartLine { label: "y %".into(), color: LEG_Y, points: rebased(&a.y, *y0) },
        ],
        ..ChartData::default()
    }
}

/// One leg's bars as candles with volume.
pub fn candle_chart_data(bars: &[Bar], log_y: bool) -> ChartData {
    if bars.is_empty() {
        return ChartData { waiting: Some("waiting for the first bars…".into()), ..ChartData::default() };
    }
    ChartData { candles: bars.iter().map(Candle::from).collect(), log_y, ..ChartData::default() }
}

/// The price ratio y / x of the aligned bars.
pub fn ratio_chart_data(a: &AlignedPair, log_y: bool) -> ChartData {
    let points: Vec<(f64, f64)> =
        a.t.iter()
            .zip(a.x.iter().zip(&a.y))
            .filter(|(_, (x, _))| **x != 0.0)
            .map(|(t, (x, y))| (*t as f64, y / x))
            .collect();
    ChartData { lines: vec![ChartLine { label: "y/x".into(), color: SERIES, points }], log_y, ..ChartData::default() }
}

pub fn spread_chart_data(s: &ViewSeries, k: f64) -> ChartData {
    let band = |sign: f64| -> Vec<Option<f64>> {
        s.spread_mean.iter().zip(&s.spread_std).map(|(m, sd)| Some((*m)? + sign * k * (*sd)?)).collect()
    };
    ChartData {
        lines: vec![
            ChartLine { label: "spread".into(), color: SERIES, points: points(&s.t, &s.spread) },
            ChartLine { label: "mean".into(), color: MEAN, points: points(&s.t, &s.spread_mean) },
            ChartLine { label: "+kσ".into(), color: ENTRY, points: points(&s.t, &band(1.0)) },
            ChartLine { label: "−kσ".into(), color: ENTRY, points: points(&s.t, &band(-1.0)) },
        ],
        ..ChartData::default()
    }
}

pub fn z_chart_data(s: &ViewSeries, entry: f64, exit: f64) -> ChartData {
    ChartData {
        lines: vec![ChartLine { label: "z".into(), color: LEG_Y, points: points(&s.t, &s.z) }],
        levels: vec![
            ChartLevel { label: "+entry".into(), color: ENTRY, value: entry },
            ChartLevel { label: "−entry".into(), color: ENTRY, value: -entry },
            ChartLevel { label: "+exit".into(), color: EXIT, value: exit },
            ChartLevel { label: "−exit".into(), color: EXIT, value: -exit },
        ],
        y_min_reach: Some(Z_ENTRY_RANGE.1 + 0.2),
        ..ChartData::default()
    }
}

pub fn corr_chart_data(s: &ViewSeries) -> ChartData {
    ChartData {
        lines: vec![ChartLine { label: "corr".into(), color: SERIES, points: points(&s.t, &s.corr) }],
        levels: vec![ChartLevel { label: "0".into(), color: MEAN, value: 0.0 }],
        y_range: Some((-1.0, 1.0)),
        ..ChartData::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_csv_has_one_row_per_aligned_bar_with_matching_analytics() {
        let bar = |t: i64, c: f64| Bar { t, open: c, high: c, low: c, close: c, volume: 1.0, count: 1 };
        let xb: Vec<Bar> = (0..100).map(|i| bar(i * 1000, 100.0 + (i as f64 * 0.3).sin())).collect();
        let yb: Vec<Bar> =
            (0..100).map(|i| bar(i * 1000, 50.0 + 0.5 * (i as f64 * 0.3).sin() + (i % 3) as f64 * 0.01)).collect();
        let a = align_bars(&xb, &yb, 1000, AlignRule::Union).expect("align");
        let s = compute_view(&a.t, &a.x, &a.y, &ViewParams { window: 20, ..ViewParams::default() });
        // Quotes from bar 50 on (every other bar; the others keep the quote in force), and one
        // funding settlement of y at bar 60.
        let quote = |t: i64, mid: f64| BookQuote { t, bid: mid - 0.01, ask: mid + 0.01 };
        let book = LegBooks {
            x: xb.iter().skip(50).step_by(2).map(|b| quote(b.t, b.close)).collect(),
            y: yb.iter().skip(50).step_by(2).map(|b| quote(b.t, b.close)).collect(),
            x_funding: vec![],
            y_funding: vec![(60_000, 0.0001)],
        };
        let csv = view_csv("BTC", "ETH", &xb, &yb, &s, &book);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 101);
        assert!(lines[0].starts_with("t_ms,BTC_open"));
        assert!(lines[0].ends_with(",x_bid,x_ask,y_bid,y_ask,spread_bid,spread_ask,x_funding_rate,y_funding_rate"));
        let row = |i: usize| lines[i + 1].split(',').map(str::to_string).collect::<Vec<String>>();
        let last = row(99);
        assert_eq!(last.len(), 26);
        let z: f64 = last[16].parse().expect("z in the last row");
        assert_eq!(Some(z), ViewSeries::last(&s.z));
        // Bar 99 has no quote of its own: bar 98's is in force.
        assert_eq!(last[18].parse::<f64>().ok(), Some(xb[98].close - 0.01));
        let (beta, alpha) = (ViewSeries::last(&s.beta).expect("beta"), ViewSeries::last(&s.alpha).expect("alpha"));
        let (sell, buy) = executable_spread(&quote(0, xb[98].close), &quote(0, yb[98].close), beta, alpha);
        assert_eq!((last[22].parse::<f64>().ok(), last[23].parse::<f64>().ok()), (Some(sell), Some(buy)));
        let spread: f64 = last[13].parse().expect("spread");
        assert!(sell < spread + 0.02 && spread - 0.02 < buy);
        assert_eq!(last[24], "", "no x funding known");
        assert_eq!(last[25], "0.0001");
        // Before the first quote and the first settlement: empty, never invented.
        let early = row(40);
        assert!(early[18..26].iter().all(|c| c.is_empty()), "{early:?}");
        assert_eq!(executable_band_lines(&s, &book).iter().map(|l| l.points.len()).collect::<Vec<_>>(), [50, 50]);
    }
}
