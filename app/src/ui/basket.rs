//! Baskets in the dashboard: the series checklist both pages tick legs in ([`BasketPicks`]),
//! the report table both pages show ([`BasketSummary`], on the JSON of `pairdesk analyze A B C
//! --json`), and the Live page's basket ([`LiveBasket`]): 3–12 legs — live symbols and uploaded
//! series alike, their keys in the URL (`basket=BTCUSDT,ETHUSDT,3:SOLUSDT`) — computed in the
//! browser with the same `app::analytics` functions the server and the CLI run
//! ([`basket_analysis`]): Johansen weights, the spread and its z, half-life, ADF, KPSS, Hurst and
//! the out-of-sample backtest.

use leptos::prelude::*;

use super::charts::{Chart, ChartData, ChartLevel, ChartLine, TimeRange, ENTRY, EXIT, LEG_Y, SERIES};
use super::format::fmt_opt;
use super::series::{DatasetInfo, SeriesRef};
use super::state::LiveState;
use super::view::ViewQuery;
use super::widgets::InfoLink;
use crate::analytics::backtest::{run_basket_backtest, BasketBacktestParams};
use crate::analytics::basket::{analyze_basket, BasketParams};
use crate::dataset::{inner_join_many, Bar};

/// Most legs a basket takes (statsmodels' Johansen tables stop at 12).
pub const MAX_BASKET_LEGS: usize = 12;
/// Fewest legs of a basket (two are a pair: the rest of the page).
pub const MIN_BASKET_LEGS: usize = 3;
/// Fewer common bars than this are not analysed (as `pairdesk analyze` refuses them).
const MIN_OVERLAP: usize = 20;

/// A checkbox per series (`options` = (key, label)); ticking one calls `on_toggle(key, on)`.
#[component]
pub fn BasketPicks(
    options: Signal<Vec<(String, String)>>,
    picked: Signal<Vec<String>>,
    on_toggle: Callback<(String, bool)>,
    testid: &'static str,
) -> impl IntoView {
    view! {
        <div class="basket-picks">
            {move || options.get().into_iter().map(|(key, label)| {
                let (checked_key, toggle_key) = (key.clone(), key.clone());
                view! {
                    <label class="control check">
                        <input type="checkbox" data-testid=testid value=key
                            prop:checked=move || picked.with(|p| p.contains(&checked_key))
                            on:change=move |ev| on_toggle.run((toggle_key.clone(), event_target_checked(&ev)))/>
                        <span>{label}</span>
                    </label>
                }
            }).collect_view()}
        </div>
    }
}

/// `keys` with `key` ticked (appended, at most [`MAX_BASKET_LEGS`]) or unticked.
pub fn toggle_leg(keys: &mut Vec<String>, key: String, on: bool) {
    keys.retain(|k| *k != key);
    if on && keys.len() < MAX_BASKET_LEGS {
        keys.push(key);
    }
}

/// The key numbers of a basket report (`meta.legs`, `weights`, the spread's tests and the
/// `backtest` key, as `pairdesk analyze A B C --json` writes them).
#[component]
pub fn BasketSummary(report: serde_json::Value) -> impl IntoView {
    let num = |path: &str| report.pointer(path).and_then(|v| v.as_f64());
    let legs: Vec<(String, Option<f64>)> = report["meta"]["legs"]
        .as_array()
        .map(|legs| {
            legs.iter()
                .enumerate()
                .map(|(i, leg)| {
                    let name =
                        format!("{} · {}", leg["symbol"].as_str().unwrap_or("?"), leg["source"].as_str().unwrap_or(""));
                    (name, report["weights"][i].as_f64())
                })
                .collect()
        })
        .unwrap_or_default();
    let rows: Vec<(&'static str, String, &'static str)> = vec![
        (
            "Johansen rank (trace, 95 %)",
            report["trace_rank_95"].as_u64().map(|r| r.to_string()).unwrap_or_else(|| "—".into()),
            "basket-rank",
        ),
        ("ADF p-value of the spread", fmt_opt(num("/adf/pvalue"), 4), "basket-adf-p"),
        (
            "KPSS statistic / p-value",
            format!("{} / {}", fmt_opt(num("/kpss/stat"), 4), fmt_opt(num("/kpss/pvalue"), 3)),
            "basket-kpss",
        ),
        ("Hurst exponent", fmt_opt(num("/hurst"), 3), "basket-hurst"),
        ("half-life (bars)", fmt_opt(num("/half_life/half_life"), 1), "basket-half-life"),
        ("last z-score", fmt_opt(num("/z_last"), 2), ""),
        ("common bars", fmt_opt(num("/nobs"), 0), ""),
    ];
    // The out-of-sample backtest: weights fitted on the first `train` bars, traded after them.
    let bt = &report["backtest"];
    let bt_rows: Vec<(String, String, &'static str)> = match bt["error"].as_str() {
        Some(error) => vec![("backtest".into(), error.to_string(), "basket-bt-error")],
        None => vec![
            (
                format!(
                    "backtest trades (weights fitted on bars 0–{}, traded from bar {})",
                    fmt_opt(num("/backtest/train"), 0),
                    fmt_opt(num("/backtest/first_bar"), 0)
                ),
                fmt_opt(num("/backtest/metrics/n_trades"), 0),
                "basket-bt-trades",
            ),
            (
                "backtest total pnl (fees, slippage per leg)".into(),
                fmt_opt(num("/backtest/metrics/total_pnl"), 2),
                "basket-bt-pnl",
            ),
            ("backtest Sharpe (annualised)".into(), fmt_opt(num("/backtest/metrics/sharpe"), 2), "basket-bt-sharpe"),
            ("backtest max drawdown".into(), fmt_opt(num("/backtest/metrics/max_drawdown"), 2), "basket-bt-drawdown"),
        ],
    };
    view! {
        <div data-testid="basket-report">
            <table class="kv num"><tbody>
                {legs.into_iter().map(|(name, w)| view! { <tr><th>{format!("weight {name}")}</th><td data-testid="basket-weight">{fmt_opt(w, 6)}</td></tr> }).collect_view()}
                {rows.into_iter().map(|(name, value, testid)| view! { <tr><th>{name}</th><td data-testid=testid>{value}</td></tr> }).collect_view()}
                <tr><th colspan="2">"Backtest, out of sample "<InfoLink anchor="basket-backtest"/></th></tr>
                {bt_rows.into_iter().map(|(name, value, testid)| view! { <tr><th>{name}</th><td data-testid=testid>{value}</td></tr> }).collect_view()}
            </tbody></table>
        </div>
    }
}

/// A basket computed in the browser: the report as JSON (the CLI's keys, for
/// [`BasketSummary`]) and the per-bar series its charts draw.
#[derive(Clone, Debug, PartialEq)]
pub struct BasketAnalysis {
    pub report: serde_json::Value,
    pub t: Vec<i64>,
    pub spread: Vec<f64>,
    pub z: Vec<Option<f64>>,
}

/// Joins `legs` on their common bar times and analyses them as `pairdesk analyze A B C --json`
/// does — [`analyze_basket`] with the z window, then [`run_basket_backtest`] with the
/// thresholds — each leg named `(symbol, source)`.
pub fn basket_analysis(
    legs: &[((String, String), Vec<Bar>)],
    z_window: usize,
    entry: f64,
    exit: f64,
) -> Result<BasketAnalysis, String> {
    let bars: Vec<&[Bar]> = legs.iter().map(|(_, b)| b.as_slice()).collect();
    let (t, closes, _) = inner_join_many(&bars);
    if t.len() < MIN_OVERLAP {
        return Err(format!(
            "too little overlap: the {} legs share {} bar times; at least {MIN_OVERLAP} are needed",
            legs.len(),
            t.len()
        ));
    }
    let cols: Vec<&[f64]> = closes.iter().map(Vec::as_slice).collect();
    let basket = analyze_basket(&cols, &BasketParams { z_window, include_series: true, ..BasketParams::default() })
        .map_err(|e| e.to_string())?;
    let params = BasketBacktestParams { z_window, entry, exit, ..BasketBacktestParams::default() };
    let backtest = run_basket_backtest(&t, &cols, &params)
        .map(|b| crate::analytics::backtest::BasketBacktest { equity: Vec::new(), ..b });
    let spread = basket.spread.clone().unwrap_or_default();
    let z = basket.zscore.ok().map(|z| z.z_ddof1.clone()).unwrap_or_default();
    let mut report = serde_json::to_value(&basket).map_err(|e| e.to_string())?;
    report["backtest"] = match backtest {
        Ok(b) => serde_json::to_value(&b).map_err(|e| e.to_string())?,
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    };
    let meta: Vec<serde_json::Value> = legs
        .iter()
        .map(|((symbol, source), b)| serde_json::json!({"symbol": symbol, "source": source, "rows": b.len()}))
        .collect();
    report["meta"] = serde_json::json!({ "legs": meta, "rows": t.len() });
    Ok(BasketAnalysis { report, t, spread, z })
}

/// How a leg is named in the report: its symbol and where it comes from.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn leg_name(leg: &SeriesRef, datasets: &[DatasetInfo]) -> (String, String) {
    let source = match leg {
        SeriesRef::Live(_) => "live".to_string(),
        SeriesRef::Upload { dataset, .. } => {
            datasets.iter().find(|d| d.id == *dataset).map_or_else(|| format!("data set {dataset}"), |d| d.name.clone())
        }
    };
    (leg.symbol().to_string(), source)
}

/// The spread chart and the z chart of a basket.
pub fn basket_charts(a: &BasketAnalysis, entry: f64) -> (ChartData, ChartData) {
    let spread = ChartLine {
        label: "basket spread".into(),
        color: SERIES,
        points: a.t.iter().zip(&a.spread).map(|(t, s)| (*t as f64, *s)).collect(),
    };
    let z = ChartLine {
        label: "z".into(),
        color: LEG_Y,
        points: a.t.iter().zip(&a.z).filter_map(|(t, z)| Some((*t as f64, (*z)?))).collect(),
    };
    let levels = vec![
        ChartLevel { label: "+entry".into(), color: ENTRY, value: entry },
        ChartLevel { label: "−entry".into(), color: ENTRY, value: -entry },
        ChartLevel { label: "0".into(), color: EXIT, value: 0.0 },
    ];
    (
        ChartData { lines: vec![spread], ..ChartData::default() },
        ChartData { lines: vec![z], levels, ..ChartData::default() },
    )
}

/// The bars of one leg at the live view's interval: a live symbol's stored bars (the last
/// day or so, as `/api/export/bars.csv` writes them, read by the upload reader), or an
/// uploaded series' own.
#[cfg(feature = "hydrate")]
async fn leg_bars(leg: &SeriesRef, interval_ms: i64) -> Result<Vec<Bar>, String> {
    match leg {
        SeriesRef::Upload { .. } => super::state::fetch_upload_dataset_bars(leg).await,
        SeriesRef::Live(symbol) => {
            let bars = crate::view::live_bars(interval_ms) as f64;
            let from = (js_sys::Date::now() - bars * interval_ms as f64) as i64;
            let label = crate::protocol::interval_label(interval_ms);
            let url = format!("/api/export/bars.csv?symbol={symbol}&interval={label}&from={from}");
            let text = super::http::get_text(&url).await?;
            let ds = crate::dataset::parse_ohlc_csv(text.as_bytes(), &format!("{symbol}.csv"))
                .map_err(|e| format!("{symbol}: {e}"))?;
            Ok(ds.symbols.into_values().next().unwrap_or_default())
        }
    }
}

/// The Live page's basket: tick 3–12 series (live or uploaded), see the report and charts.
#[component]
pub fn LiveBasket(view_q: RwSignal<ViewQuery>) -> impl IntoView {
    let state = expect_context::<LiveState>();
    let picked = Memo::new(move |_| view_q.with(|v| v.basket.clone()));
    let options = Signal::derive(move || {
        let live = state.symbols.get().into_iter().map(SeriesRef::Live);
        let uploaded: Vec<SeriesRef> = state.datasets.with(|d| d.iter().flat_map(DatasetInfo::series).collect());
        state.datasets.with(|d| live.chain(uploaded).map(|s| (s.key(), s.label(d))).collect::<Vec<_>>())
    });
    let on_toggle =
        Callback::new(move |(key, on): (String, bool)| view_q.update(|v| toggle_leg(&mut v.basket, key, on)));
    // The legs' bars (None while loading or fewer than 3 legs are ticked).
    let loaded = RwSignal::new(None::<Result<Vec<((String, String), Vec<Bar>)>, String>>);
    // The legs are loaded when the pick or the interval changes, and again on "refresh" (live
    // legs gain a bar a minute; the basket is not pushed).
    let refreshes = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    {
        let interval = Memo::new(move |_| view_q.with(|v| v.interval_ms));
        Effect::new(move |_| {
            let (keys, interval_ms, _) = (picked.get(), interval.get(), refreshes.get());
            loaded.set(None);
            if !(MIN_BASKET_LEGS..=MAX_BASKET_LEGS).contains(&keys.len()) {
                return;
            }
            let legs: Vec<SeriesRef> = keys.iter().filter_map(|k| SeriesRef::parse(k)).collect();
            let datasets = state.datasets.get_untracked();
            leptos::task::spawn_local(async move {
                let mut out = Vec::with_capacity(legs.len());
                for leg in &legs {
                    match leg_bars(leg, interval_ms).await {
                        Ok(bars) => out.push((leg_name(leg, &datasets), bars)),
                        Err(e) => {
                            out.clear();
                            if picked.get_untracked() == keys {
                                loaded.set(Some(Err(format!("cannot load {}: {e}", leg.key()))));
                            }
                            return;
                        }
                    }
                }
                // A later pick supersedes this one.
                if picked.get_untracked() == keys {
                    loaded.set(Some(Ok(out)));
                }
            });
        });
    }
    let analysis = Memo::new(move |_| {
        let (window, entry, exit) = view_q.with(|v| (v.window, v.z_entry, v.z_exit));
        loaded.with(|l| l.as_ref().map(|r| r.clone().and_then(|legs| basket_analysis(&legs, window, entry, exit))))
    });
    let entry = Memo::new(move |_| view_q.with(|v| v.z_entry));
    let charts = Memo::new(move |_| {
        analysis.with(|a| a.as_ref().and_then(|r| r.as_ref().ok()).map(|a| basket_charts(a, entry.get())))
    });
    let span = Signal::derive(move || {
        analysis.with(|a| a.as_ref()?.as_ref().ok().and_then(|a| Some((*a.t.first()?, *a.t.last()?))))
    });
    let range = TimeRange::over_times(span);
    let spread_chart =
        Signal::derive(move || charts.get().map(|c| c.0).unwrap_or_else(|| waiting_chart(picked.with(Vec::len))));
    let z_chart =
        Signal::derive(move || charts.get().map(|c| c.1).unwrap_or_else(|| waiting_chart(picked.with(Vec::len))));
    view! {
        <section class="panel" aria-label="Basket" data-testid="live-basket">
            <h2>"Basket (Johansen) "<InfoLink anchor="johansen"/></h2>
            <p class="hint">"Tick 3 to 12 series — live symbols at this interval, uploaded series at their own times — joined on their common bar times: Johansen weights, the basket spread and its z (window slider), its tests and the out-of-sample backtest (z entry/exit sliders), computed here in the browser."</p>
            <BasketPicks options=options picked=picked.into() on_toggle=on_toggle testid="live-basket-series"/>
            <button data-testid="live-basket-refresh" on:click=move |_| refreshes.update(|n| *n += 1)
                title="Load the legs' bars again (live legs have new bars since)">"Refresh"</button>
            {move || match analysis.get() {
                Some(Ok(a)) => view! { <BasketSummary report=a.report/> }.into_any(),
                Some(Err(e)) => view! { <p class="error" data-testid="basket-error">{e}</p> }.into_any(),
                None => view! { <p class="hint" data-testid="live-basket-status">{move || status_text(picked.with(Vec::len))}</p> }.into_any(),
            }}
            <Chart testid="chart-basket-spread" title="Basket spread Σ wᵢ·closeᵢ (full-sample weights)" data=spread_chart range=range
                help="The Johansen basket's spread on the common bars"/>
            <Chart testid="chart-basket-z" title="Basket spread z-score" data=z_chart range=range
                help="Rolling z-score of the basket spread over the window slider's bars; red lines = ±entry"/>
        </section>
    }
}

fn status_text(ticked: usize) -> String {
    if ticked < MIN_BASKET_LEGS {
        format!("tick {MIN_BASKET_LEGS} to {MAX_BASKET_LEGS} series ({ticked} ticked)")
    } else {
        "loading the legs' bars…".to_string()
    }
}

fn waiting_chart(ticked: usize) -> ChartData {
    ChartData { waiting: Some(status_text(ticked)), ..ChartData::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(t0: i64, closes: &[f64]) -> Vec<Bar> {
        closes
            .iter()
            .enumerate()
            .map(|(i, &c)| Bar {
                t_ms: t0 + i as i64 * 60_000,
                open: c,
                high: c,
                low: c,
                close: c,
                volume: 1.0,
                count: None,
            })
            .collect()
    }

    #[test]
    fn legs_are_named_by_symbol_and_source() {
        let sets = [DatasetInfo { id: 3, name: "sol.csv".into(), symbols: Vec::new(), rows: 0 }];
        let name = |k: &str| leg_name(&SeriesRef::parse(k).expect("key"), &sets);
        assert_eq!(name("BTCUSDT"), ("BTCUSDT".to_string(), "live".to_string()));
        assert_eq!(name("3:SOLUSDT"), ("SOLUSDT".to_string(), "sol.csv".to_string()));
        assert_eq!(name("4:X"), ("X".to_string(), "data set 4".to_string()));
    }

    #[test]
    fn ticking_keeps_the_order_and_the_cap() {
        let mut keys = Vec::new();
        for k in 0..15 {
            toggle_leg(&mut keys, format!("S{k}"), true);
        }
        assert_eq!(keys.len(), MAX_BASKET_LEGS);
        toggle_leg(&mut keys, "S3".into(), false);
        toggle_leg(&mut keys, "S0".into(), true);
        assert_eq!(keys.first().map(String::as_str), Some("S1"));
        assert_eq!(keys.last().map(String::as_str), Some("S0"));
    }

    #[test]
    fn the_browser_basket_is_the_cli_computation_on_the_common_bars() {
        // A walk, two legs cointegrated with it, one leg starting later (the join drops the rest).
        let mut s = 7u64;
        let mut noise = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 10_000) as f64 / 10_000.0 - 0.5
        };
        let (mut x, mut u, mut v) = (100.0, 0.0, 0.0);
        let mut cols = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..400 {
            x += noise();
            u = 0.8 * u + 0.3 * noise();
            v = 0.7 * v + 0.2 * noise();
            for (c, p) in cols.iter_mut().zip([x, 0.5 * x + 20.0 + u, 2.0 * x - 30.0 + v]) {
                c.push(p);
            }
        }
        let name = |s: &str| (s.to_string(), "live".to_string());
        let legs = vec![
            (name("A"), bars(0, &cols[0])),
            (name("B"), bars(0, &cols[1])),
            (name("C"), bars(60_000 * 50, &cols[2][50..])),
        ];
        let a = basket_analysis(&legs, 40, 1.5, 0.0).expect("analysis");
        assert_eq!(a.t.len(), 350, "the common bar times");
        let common: Vec<Vec<f64>> = vec![cols[0][50..].to_vec(), cols[1][50..].to_vec(), cols[2][50..].to_vec()];
        let refs: Vec<&[f64]> = common.iter().map(Vec::as_slice).collect();
        let direct = analyze_basket(&refs, &BasketParams { z_window: 40, ..BasketParams::default() }).expect("basket");
        assert_eq!(a.report["weights"], serde_json::to_value(&direct.weights).expect("json"));
        assert_eq!(a.spread, direct.spread.clone().expect("spread"));
        let bt = run_basket_backtest(
            &a.t,
            &refs,
            &BasketBacktestParams { z_window: 40, entry: 1.5, ..BasketBacktestParams::default() },
        )
        .expect("backtest");
        assert_eq!(a.report["backtest"]["metrics"], serde_json::to_value(bt.metrics).expect("json"));
        assert_eq!(a.report["meta"]["legs"][2]["symbol"], "C");
        let (spread, z) = basket_charts(&a, 1.5);
        assert_eq!(spread.lines[0].points.len(), 350);
        assert!(z.lines[0].points.len() >= 350 - 40, "z from the window on");
        assert!(basket_analysis(
            &legs[..2].iter().map(|(n, b)| (n.clone(), b[..10].to_vec())).collect::<Vec<_>>(),
            40,
            1.5,
            0.0
        )
        .unwrap_err()
        .contains("too little overlap"));
    }
}
