//! The Upload page: send one or more OHLC CSV files (Binance klines, generic OHLCV, Yahoo)
//! with a progress bar; accepted files become named data sets on the server, rejected ones
//! show the error kind, line and column (and nothing is stored). Any two stored series can
//! then be analysed: the server's batch report (the same JSON as `pairdesk analyze --json`)
//! plus the Live page's charts, computed in the browser from the data set's bars.

use leptos::prelude::*;

use super::backtest::BacktestPanel;
use super::basket::{toggle_leg, BasketPicks, BasketSummary};
use super::charts::{Chart, TimeRange};
use super::format::fmt_opt;
use super::live::{corr_chart_data, prices_chart_data, z_chart_data};
use super::series::{default_pair, SeriesRef};
use super::topbar::StatusBar;
use super::view::{Page, ViewQuery};
use super::widgets::InfoLink;
use crate::analytics::align::inner_join_pair;
use crate::analytics::live_view::{compute_view, ViewParams};
use crate::protocol::Bar;

/// Human text of an API error object `{kind, message, line, column, file}`.
pub fn describe_api_error(error: &serde_json::Value) -> String {
    let kind = error.get("kind").and_then(|v| v.as_str()).unwrap_or("error");
    let message = error.get("message").and_then(|v| v.as_str()).unwrap_or("");
    let mut place = Vec::new();
    if let Some(file) = error.get("file").and_then(|v| v.as_str()) {
        place.push(file.to_string());
    }
    if let Some(line) = error.get("line").and_then(|v| v.as_u64()) {
        place.push(format!("line {line}"));
    }
    if let Some(column) = error.get("column").and_then(|v| v.as_str()) {
        place.push(format!("column {column}"));
    }
    if place.is_empty() {
        format!("{kind}: {message}")
    } else {
        format!("{kind} at {}: {message}", place.join(", "))
    }
}

#[component]
pub fn UploadPage(initial: ViewQuery) -> impl IntoView {
    let view_q = RwSignal::new(initial);
    let state = super::state::connect_live(view_q);
    // The page's one data set list, the one the pair pickers read too.
    let datasets = state.datasets;
    let progress = RwSignal::new(None::<f64>);
    let result = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let symbol_override = RwSignal::new(String::new());
    let pick_x = RwSignal::new(String::new());
    let pick_y = RwSignal::new(String::new());
    let report = RwSignal::new(None::<Result<serde_json::Value, String>>);
    let bars = RwSignal::new((Vec::<Bar>::new(), Vec::<Bar>::new()));
    let form_ref = NodeRef::<leptos::html::Form>::new();

    // `connect_live` lists them once; an upload or a delete lists them again.
    let reload = move || {
        #[cfg(feature = "hydrate")]
        super::state::load_datasets(state);
    };
    #[cfg(not(feature = "hydrate"))]
    let _ = reload;

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        result.set(None);
        error.set(None);
        #[cfg(feature = "hydrate")]
        if let Some(form) = form_ref.get() {
            let sent_form = form.clone();
            super::upload_xhr::send(&form, progress, move |status, body| {
                progress.set(None);
                // Ready for the next file: a multiple-file input would otherwise keep this one.
                sent_form.reset();
                let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                if status == 201 {
                    let names: Vec<String> = json["datasets"]
                        .as_array()
                        .map(|list| {
                            list.iter()
                                .map(|d| {
                                    let symbols: Vec<String> = d["symbols"]
                                        .as_array()
                                        .map(|s| {
                                            s.iter()
                                                .map(|s| {
                                                    format!(
                                                        "{} ({} rows)",
                                                        s["symbol"].as_str().unwrap_or("?"),
                                                        s["rows"]
                                                    )
                                                })
                                                .collect()
                                        })
                                        .unwrap_or_default();
                                    format!("{}: {}", d["name"].as_str().unwrap_or("?"), symbols.join(", "))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    result.set(Some(format!("stored {}", names.join("; "))));
                    reload();
                } else if status == 413 {
                    error.set(Some("file too large (the limit is 20 MB per upload)".into()));
                } else {
                    error.set(Some(describe_api_error(&json["error"])));
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (form_ref, progress);
    };

    let remove = move |id: u64| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if super::http::request::<()>("DELETE", &format!("/api/datasets/{id}"), None::<&()>).await.is_ok() {
                reload();
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
    };

    // A basket: 3–12 ticked series, analysed by the server (Johansen weights, then the spread's tests).
    let basket_pick = RwSignal::new(Vec::<String>::new());
    let basket = RwSignal::new(None::<Result<serde_json::Value, String>>);
    let analyze_basket = move |_| {
        let legs: Vec<serde_json::Value> = basket_pick
            .get_untracked()
            .iter()
            .filter_map(|key| match SeriesRef::parse(key) {
                Some(SeriesRef::Upload { dataset, symbol }) => {
                    Some(serde_json::json!({"dataset": dataset, "symbol": symbol}))
                }
                _ => None,
            })
            .collect();
        if !(3..=12).contains(&legs.len()) {
            basket.set(Some(Err(format!("tick 3 to 12 series for a basket ({} ticked)", legs.len()))));
            return;
        }
        let body = serde_json::json!({"legs": legs, "params": {"z_window": view_q.with_untracked(|v| v.window)}});
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let answer = super::http::request::<serde_json::Value>("POST", "/api/analyze", Some(&body)).await;
            basket.set(Some(answer.map(Option::unwrap_or_default)));
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = body;
    };

    let analyze = move |_| {
        let (
            Some(SeriesRef::Upload { dataset: xid, symbol: xs }),
            Some(SeriesRef::Upload { dataset: yid, symbol: ys }),
        ) = (SeriesRef::parse(&pick_x.get_untracked()), SeriesRef::parse(&pick_y.get_untracked()))
        else {
            report.set(Some(Err("choose an x and a y series".into())));
            return;
        };
        let body = serde_json::json!({
            "x": {"dataset": xid, "symbol": xs},
            "y": {"dataset": yid, "symbol": ys},
            "params": {"z_window": view_q.with_untracked(|v| v.window), "corr_window": view_q.with_untracked(|v| v.corr_window),
                       "entry": view_q.with_untracked(|v| v.z_entry), "exit": view_q.with_untracked(|v| v.z_exit)},
        });
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let answer = super::http::request::<serde_json::Value>("POST", "/api/analyze", Some(&body)).await;
            report.set(Some(answer.map(Option::unwrap_or_default)));
            let leg = |dataset, symbol| SeriesRef::Upload { dataset, symbol };
            let x = super::state::fetch_upload_bars(&leg(xid, xs)).await;
            let y = super::state::fetch_upload_bars(&leg(yid, ys)).await;
            if let (Ok(x), Ok(y)) = (x, y) {
                bars.set((x, y));
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = body;
    };

    let aligned = Memo::new(move |_| bars.with(|(x, y)| inner_join_pair(x, y).unwrap_or_default()));
    let range = TimeRange::over_times(Signal::derive(move || aligned.with(|a| Some((*a.t.first()?, *a.t.last()?)))));
    let series = Memo::new(move |_| {
        let params = view_q.with(|v| ViewParams {
            hedge: v.hedge,
            window: v.window,
            corr_window: v.corr_window,
            ..ViewParams::default()
        });
        aligned.with(|a| compute_view(&a.t, &a.x, &a.y, &params))
    });
    let prices_chart = Signal::derive(move || aligned.with(prices_chart_data));
    let z_chart =
        Signal::derive(move || series.with(|s| z_chart_data(s, view_q.with(|v| v.z_entry), view_q.with(|v| v.z_exit))));
    let corr_chart = Signal::derive(move || series.with(corr_chart_data));

    let options = move || {
        datasets
            .get()
            .into_iter()
            .flat_map(|d| {
                d.symbols.into_iter().map(move |s| {
                    let key = SeriesRef::Upload { dataset: d.id, symbol: s.symbol.clone() }.key();
                    (key, format!("{} · {} ({} rows)", d.name, s.symbol, s.rows))
                })
            })
            .collect::<Vec<_>>()
    };

    view! {
        <StatusBar view_q=view_q/>
        <main class="upload">
            <section class="panel" aria-label="Upload">
                <h2>"Upload OHLC CSV files "<InfoLink anchor="uploads"/></h2>
                <p class="hint">"Binance kline dumps (with or without header, ms or µs times), generic long OHLCV (timestamp,symbol,open,high,low,close,volume) or Yahoo (Date,…,Adj Close,Volume). Up to 20 MB per upload; a file with any bad row is rejected whole."</p>
                <form node_ref=form_ref on:submit=submit>
                    <input type="file" name="file" accept=".csv,text/csv" multiple data-testid="upload-file"/>
                    <input name="symbol" placeholder="symbol (optional, single-symbol files)" prop:value=move || symbol_override.get()
                        on:input=move |ev| symbol_override.set(event_target_value(&ev))/>
                    <button type="submit" data-testid="upload-submit">"Upload"</button>
                </form>
                {move || progress.get().map(|p| view! { <progress max="1" value=p.to_string()></progress> })}
                <p class="ok" data-testid="upload-result">{move || result.get()}</p>
                <p class="error" data-testid="upload-error">{move || error.get()}</p>
            </section>
            <section class="panel" aria-label="Data sets">
                <h2>"Data sets"</h2>
                <ul class="datasets" data-testid="dataset-list">
                    <For each=move || datasets.get() key=|d| d.id let:d>
                        {
                            let id = d.id;
                            // Opens this data set in the Live workspace (sliders, hedge methods,
                            // ADF, backtest, export), keeping the current windows and thresholds.
                            let live_href = move || {
                                let pair = datasets.with(|sets| default_pair(sets, id));
                                pair.map(|(x, y)| view_q.with(|v| ViewQuery { page: Page::Live, x: x.key(), y: y.key(), ..v.clone() }.href()))
                            };
                            view! {
                                <li>
                                    <span>{d.name.clone()}</span>
                                    <span class="num muted">{d.symbols.iter().map(|s| format!("{} ×{}", s.symbol, s.rows)).collect::<Vec<_>>().join(", ")}</span>
                                    {move || live_href().map(|href| view! {
                                        <a href=href rel="external" class="small" data-testid="dataset-open-live" title="Open in the Live workspace">"open in Live"</a>
                                    })}
                                    <button class="small" title="Delete this data set" on:click=move |_| remove(id)>"×"</button>
                                </li>
                            }
                        }
                    </For>
                </ul>
                <div class="controls">
                    <label class="control"><span class="control-label">"x"</span>
                        <select data-testid="dataset-x" on:change=move |ev| pick_x.set(event_target_value(&ev))>
                            <option value="">"—"</option>
                            {move || options().into_iter().map(|(k, label)| view! { <option value=k>{label}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="control"><span class="control-label">"y"</span>
                        <select data-testid="dataset-y" on:change=move |ev| pick_y.set(event_target_value(&ev))>
                            <option value="">"—"</option>
                            {move || options().into_iter().map(|(k, label)| view! { <option value=k>{label}</option> }).collect_view()}
                        </select>
                    </label>
                    <button data-testid="dataset-analyze" on:click=analyze>"Analyze"</button>
                </div>
            </section>
            <section class="panel" aria-label="Basket">
                <h2>"Basket (Johansen) "<InfoLink anchor="johansen"/></h2>
                <p class="hint">"Tick 3 to 12 series: the server joins them on common times, takes Johansen's first eigenvector as the basket weights and tests the basket spread (ADF, KPSS, Hurst, half-life)."</p>
                <BasketPicks options=Signal::derive(options) picked=basket_pick.into() testid="basket-series"
                    on_toggle=Callback::new(move |(key, on): (String, bool)| basket_pick.update(|p| toggle_leg(p, key, on)))/>
                <button data-testid="basket-analyze" on:click=analyze_basket>"Analyze basket"</button>
                {move || basket.get().map(|r| match r {
                    Ok(report) => view! { <BasketSummary report=report/> }.into_any(),
                    Err(e) => view! { <p class="error" data-testid="basket-error">{e}</p> }.into_any(),
                })}
            </section>
            {move || report.get().map(|r| match r {
                Ok(report) => view! { <ReportSummary report=report/> }.into_any(),
                Err(e) => view! { <p class="error" data-testid="analyze-error">{e}</p> }.into_any(),
            })}
            <section class="charts" aria-label="Data set charts">
                <Chart testid="dataset-chart-prices" title="Both series, % change" data=prices_chart range=range/>
                <Chart testid="dataset-chart-zscore" title="Spread z-score (view window and thresholds)" data=z_chart range=range/>
                <Chart testid="dataset-chart-corr" title="Rolling correlation of returns" data=corr_chart range=range/>
            </section>
            // The same backtest page body on the uploaded pair (no bid/ask or funding for files).
            {move || (!aligned.with(|a| a.t.is_empty())).then(|| view! { <BacktestPanel aligned=aligned view_q=view_q range=range/> })}
        </main>
    }
}

/// The key numbers of an analysis report.
#[component]
fn ReportSummary(report: serde_json::Value) -> impl IntoView {
    let num = |path: &str| report.pointer(path).and_then(|v| v.as_f64());
    let rows: Vec<(&'static str, String, &'static str)> = vec![
        ("hedge ratio β (OLS)", fmt_opt(num("/ols/beta"), 6), "upload-hedge-ratio"),
        ("intercept α", fmt_opt(num("/ols/alpha"), 4), ""),
        ("r²", fmt_opt(num("/ols/r2"), 4), ""),
        ("β on logs", fmt_opt(num("/ols_log/beta"), 6), ""),
        (
            "β Huber / Theil–Sen",
            format!("{} / {}", fmt_opt(num("/huber/beta"), 6), fmt_opt(num("/theil_sen/slope"), 6)),
            "",
        ),
        (
            "ADF statistic / p-value",
            format!("{} / {}", fmt_opt(num("/adf/stat"), 3), fmt_opt(num("/adf/pvalue"), 4)),
            "",
        ),
        ("Engle–Granger p-value", fmt_opt(num("/coint/pvalue"), 4), ""),
        ("half-life (bars)", fmt_opt(num("/half_life/half_life"), 1), ""),
        (
            "backtest trades / pnl",
            format!(
                "{} / {}",
                num("/backtest/metrics/n_trades").map(|n| n.to_string()).unwrap_or_else(|| "—".into()),
                fmt_opt(num("/backtest/metrics/total_pnl"), 2)
            ),
            "",
        ),
    ];
    let json = serde_json::to_string_pretty(&report).unwrap_or_default();
    let export = move |_| {
        #[cfg(feature = "hydrate")]
        super::download::download_text(&json, "pairdesk-report.json", "application/json");
        #[cfg(not(feature = "hydrate"))]
        let _ = &json;
    };
    view! {
        <section class="panel" aria-label="Report">
            <h2>"Report"<button on:click=export>"Export JSON"</button></h2>
            <table class="kv num"><tbody>
                {rows.into_iter().map(|(name, value, testid)| view! { <tr><th>{name}</th><td data-testid=testid>{value}</td></tr> }).collect_view()}
            </tbody></table>
        </section>
    }
}
