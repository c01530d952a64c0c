//! The Screener page: every ingested symbol against every other — a correlation heatmap with
//! the Engle–Granger p-value in each cell, a liquidity filter, and a click on a cell opens
//! that pair on the Live page; and the rank table (screener v2): every pair with its
//! Engle–Granger p-value, Benjamini–Hochberg q-value, half-life, Hurst, KPSS p, correlation,
//! β and liquidity, sortable by any column and filtered, each row opening the pair on Live.

use leptos::prelude::*;

use super::format::fmt_opt;
use super::topbar::StatusBar;
use super::view::{Page, ViewQuery};
use super::widgets::InfoLink;
use crate::analytics::kpss::PBound;
use crate::protocol::{interval_label, INTERVALS_MS};
use crate::screener_view::{ScreenedPair, ScreenerReport};

/// A column of the rank table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankColumn {
    Pair,
    PValue,
    QValue,
    HalfLife,
    Hurst,
    Kpss,
    Corr,
    Beta,
    Liquidity,
}

impl RankColumn {
    pub const ALL: [RankColumn; 9] = [
        RankColumn::Pair,
        RankColumn::PValue,
        RankColumn::QValue,
        RankColumn::HalfLife,
        RankColumn::Hurst,
        RankColumn::Kpss,
        RankColumn::Corr,
        RankColumn::Beta,
        RankColumn::Liquidity,
    ];

    /// The column's name in the URL query (`sort=hl`).
    pub fn key(self) -> &'static str {
        match self {
            RankColumn::Pair => "pair",
            RankColumn::PValue => "p",
            RankColumn::QValue => "q",
            RankColumn::HalfLife => "hl",
            RankColumn::Hurst => "hurst",
            RankColumn::Kpss => "kpss",
            RankColumn::Corr => "corr",
            RankColumn::Beta => "beta",
            RankColumn::Liquidity => "liq",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RankColumn::Pair => "pair (y / x)",
            RankColumn::PValue => "EG p",
            RankColumn::QValue => "BH q",
            RankColumn::HalfLife => "half-life",
            RankColumn::Hurst => "Hurst",
            RankColumn::Kpss => "KPSS p",
            RankColumn::Corr => "corr",
            RankColumn::Beta => "β",
            RankColumn::Liquidity => "liquidity",
        }
    }

    /// What a first click sorts by: best first (small p, q, half-life and H; large |corr|
    /// and liquidity; a large KPSS p = stationarity not rejected).
    pub fn default_descending(self) -> bool {
        matches!(self, RankColumn::Kpss | RankColumn::Corr | RankColumn::Liquidity)
    }

    fn value(self, p: &ScreenedPair) -> Option<f64> {
        match self {
            RankColumn::Pair => None,
            RankColumn::PValue => p.pvalue,
            RankColumn::QValue => p.qvalue,
            RankColumn::HalfLife => p.half_life,
            RankColumn::Hurst => p.hurst,
            RankColumn::Kpss => p.kpss_pvalue,
            RankColumn::Corr => p.corr.map(f64::abs),
            RankColumn::Beta => p.beta,
            RankColumn::Liquidity => p.liquidity,
        }
        .filter(|v| !v.is_nan())
    }
}

/// How the rank table is sorted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RankSort {
    pub column: RankColumn,
    pub descending: bool,
}

impl Default for RankSort {
    fn default() -> Self {
        RankSort { column: RankColumn::QValue, descending: false }
    }
}

impl RankSort {
    /// The sort after a click on `column`'s header: the same column flips direction, another
    /// starts at its best-first direction.
    pub fn clicked(self, column: RankColumn) -> RankSort {
        if self.column == column {
            RankSort { column, descending: !self.descending }
        } else {
            RankSort { column, descending: column.default_descending() }
        }
    }
}

/// The rank table's filters; a pair without the filtered number is dropped by that filter.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RankFilter {
    /// Keep pairs with BH q-value below this.
    pub max_q: Option<f64>,
    /// Keep pairs whose half-life (bars) lies in this range.
    pub min_half_life: Option<f64>,
    pub max_half_life: Option<f64>,
    /// Keep only mean-reverting spreads (Hurst < 0.5).
    pub hurst_below_half: bool,
    /// Keep pairs whose liquidity (the smaller leg's volume per bar) is at least this.
    pub min_liquidity: f64,
}

impl RankFilter {
    pub fn keeps(&self, p: &ScreenedPair) -> bool {
        let within = |v: Option<f64>, ok: &dyn Fn(f64) -> bool| v.is_some_and(ok);
        self.max_q.is_none_or(|m| within(p.qvalue, &|q| q < m))
            && self.min_half_life.is_none_or(|m| within(p.half_life, &|h| h >= m))
            && self.max_half_life.is_none_or(|m| within(p.half_life, &|h| h <= m))
            && (!self.hurst_below_half || within(p.hurst, &|h| h < 0.5))
            && (self.min_liquidity <= 0.0 || within(p.liquidity, &|l| l >= self.min_liquidity))
    }
}

/// Background colour of a correlation cell: blue for negative, red for positive.
pub fn corr_color(corr: Option<f64>) -> String {
    match corr {
        Some(c) if c.is_finite() => {
            let a = c.abs().min(1.0);
            if c >= 0.0 {
                format!("rgba(230, 80, 80, {:.2})", 0.15 + 0.75 * a)
            } else {
                format!("rgba(80, 120, 230, {:.2})", 0.15 + 0.75 * a)
            }
        }
        _ => "transparent".into(),
    }
}

/// The indices into `report.pairs` of the rows the table shows, filtered and sorted (pairs
/// without the sorted number last, either direction; ties in pair order).
pub fn rank_rows(report: &ScreenerReport, filter: &RankFilter, sort: RankSort) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..report.pairs.len()).filter(|&k| filter.keeps(&report.pairs[k])).collect();
    let name = |k: usize| {
        let p = &report.pairs[k];
        let symbol = |i: usize| report.symbols.get(i).map_or("", |s| s.symbol.as_str());
        (symbol(p.y), symbol(p.x))
    };
    rows.sort_by(|&a, &b| {
        let order = match sort.column {
            RankColumn::Pair => name(a).cmp(&name(b)),
            column => match (column.value(&report.pairs[a]), column.value(&report.pairs[b])) {
                (Some(u), Some(v)) => u.total_cmp(&v),
                (Some(_), None) => return std::cmp::Ordering::Less,
                (None, Some(_)) => return std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            },
        };
        if sort.descending {
            order.reverse()
        } else {
            order
        }
    });
    rows
}

/// A KPSS p-value as the table shows it: a table bound as `< 0.01` / `> 0.10`.
pub fn fmt_kpss(p: Option<f64>, bound: Option<PBound>) -> String {
    match (p, bound) {
        (Some(p), Some(PBound::AtMost)) => format!("< {p:.2}"),
        (Some(p), Some(PBound::AtLeast)) => format!("> {p:.2}"),
        (p, _) => fmt_opt(p, 3),
    }
}

/// The `/api/screener` request: the live symbols, or the series of these data sets
/// (`None` when data sets are asked for but none is picked).
pub fn screener_url(interval_ms: i64, datasets: Option<&[u64]>) -> Option<String> {
    match datasets {
        None => Some(format!("/api/screener?interval={interval_ms}")),
        Some([]) => None,
        Some(ids) => {
            let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
            Some(format!("/api/screener?interval={interval_ms}&datasets={}", ids.join(",")))
        }
    }
}

/// What the rank table shows, as the Screener page's URL query keeps it (shareable, and kept
/// across a reload): the filters, the sort and the data sets screened.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScreenerQuery {
    pub filter: RankFilter,
    pub sort: RankSort,
    /// `Some`: the series of these data sets (`src=ds&ds=1,2`) instead of the live symbols.
    pub datasets: Option<Vec<u64>>,
}

impl ScreenerQuery {
    /// `maxq=0.05&hlmin=5&hlmax=60&hurst=1&minliq=10&sort=hl&desc=1&src=ds&ds=1,2`: only what
    /// differs from the defaults.
    pub fn to_query(&self) -> String {
        let f = &self.filter;
        let mut parts = Vec::new();
        let num = |key: &str, v: Option<f64>| v.map(|v| format!("{key}={v}"));
        parts.extend(num("maxq", f.max_q));
        parts.extend(num("hlmin", f.min_half_life));
        parts.extend(num("hlmax", f.max_half_life));
        if f.hurst_below_half {
            parts.push("hurst=1".into());
        }
        parts.extend(num("minliq", Some(f.min_liquidity).filter(|v| *v > 0.0)));
        if self.sort != RankSort::default() {
            parts.push(format!("sort={}", self.sort.column.key()));
            if self.sort.descending {
                parts.push("desc=1".into());
            }
        }
        if let Some(ids) = &self.datasets {
            parts.push("src=ds".into());
            if !ids.is_empty() {
                parts.push(format!("ds={}", ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")));
            }
        }
        parts.join("&")
    }

    /// Reads [`ScreenerQuery::to_query`]'s keys out of a page query; anything else, missing or
    /// invalid keeps its default.
    pub fn from_query(query: &str) -> ScreenerQuery {
        let mut out = ScreenerQuery::default();
        let (mut src, mut ids, mut sort, mut desc) = (false, Vec::new(), None, false);
        for pair in query.trim_start_matches('?').split('&') {
            let Some((key, value)) = pair.split_once('=') else { continue };
            let non_negative = || parse_opt(value).filter(|v| *v >= 0.0);
            match key {
                "maxq" => out.filter.max_q = non_negative(),
                "hlmin" => out.filter.min_half_life = non_negative(),
                "hlmax" => out.filter.max_half_life = non_negative(),
                "hurst" => out.filter.hurst_below_half = value == "1",
                "minliq" => out.filter.min_liquidity = non_negative().unwrap_or(0.0),
                "sort" => sort = RankColumn::ALL.into_iter().find(|c| c.key() == value),
                "desc" => desc = value == "1",
                "src" => src = value == "ds",
                "ds" => ids = value.split(',').filter_map(|id| id.parse::<u64>().ok()).take(50).collect(),
                _ => {}
            }
        }
        if let Some(column) = sort {
            out.sort = RankSort { column, descending: desc };
        }
        out.datasets = src.then_some(ids);
        out
    }
}

/// An optional number as an input's starting text (empty: no filter).
fn opt_text(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// An optional number input: empty or unparsable = no filter.
fn parse_opt(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

#[component]
pub fn ScreenerPage(initial: ViewQuery) -> impl IntoView {
    let view_q = RwSignal::new(initial);
    let live = super::state::connect_live(view_q);
    // The rank table's filters, sort and source start from the URL query (and stay in it).
    let start = ScreenerQuery::from_query(&super::current_query());
    // The uploaded data sets to screen; empty: the live symbols.
    let sources = RwSignal::new(start.datasets.clone().unwrap_or_default());
    let use_datasets = RwSignal::new(start.datasets.is_some());
    let interval = RwSignal::new(60_000i64);
    let min_volume = RwSignal::new(0.0f64);
    let min_trades = RwSignal::new(0.0f64);
    let report = RwSignal::new(None::<Result<ScreenerReport, String>>);
    let sort = RwSignal::new(start.sort);
    let filter = RwSignal::new(start.filter);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let screener = ScreenerQuery {
            filter: filter.get(),
            sort: sort.get(),
            datasets: use_datasets.get().then(|| sources.get()),
        }
        .to_query();
        let query = view_q.with_untracked(ViewQuery::to_query);
        let url = if screener.is_empty() { format!("?{query}") } else { format!("?{query}&{screener}") };
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
        }
    });
    // Bumped by the Refresh button and every 30 s, so the matrix follows the market.
    let refresh = RwSignal::new(0u32);

    #[cfg(feature = "hydrate")]
    let _ = set_interval_with_handle(move || refresh.update(|n| *n += 1), std::time::Duration::from_secs(30));
    // The last request sent: an older answer arriving after it (a slow 1m screen after a
    // switch to 1s) is dropped.
    #[cfg(feature = "hydrate")]
    let latest = StoredValue::new(0u64);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        refresh.track();
        let url = screener_url(interval.get(), use_datasets.get().then(|| sources.get()).as_deref());
        if url.is_none() {
            report.set(Some(Err("pick one or more data sets to screen".into())));
        }
        let Some(url) = url else { return };
        latest.update_value(|n| *n += 1);
        let sent = latest.get_value();
        leptos::task::spawn_local(async move {
            let answer = super::http::request::<ScreenerReport>("GET", &url, None::<&()>).await;
            if latest.get_value() == sent {
                report.set(Some(answer.and_then(|r| r.ok_or_else(|| "empty answer".to_string()))));
            }
        });
    });

    let heatmap = move || {
        let Some(result) = report.get() else {
            return view! { <p class="muted">"screening…"</p> }.into_any();
        };
        let r = match result {
            Ok(r) => r,
            Err(e) => return view! { <p class="error">{e}</p> }.into_any(),
        };
        let keep: Vec<usize> = (0..r.symbols.len())
            .filter(|&i| {
                r.symbols[i].volume_per_bar >= min_volume.get() && r.symbols[i].trades_per_bar >= min_trades.get()
            })
            .collect();
        let note = r.note.clone();
        let header = keep.iter().map(|&j| view! { <th>{r.symbols[j].symbol.clone()}</th> }).collect_view();
        let rows = keep
            .iter()
            .map(|&i| {
                let cells = keep
                    .iter()
                    .map(|&j| {
                        if i == j {
                            return view! { <td class="diag">"—"</td> }.into_any();
                        }
                        let pair = r.pair(i, j).cloned();
                        let corr = pair.as_ref().and_then(|p| p.corr);
                        let p = pair.as_ref().and_then(|p| p.pvalue);
                        let href = view_q.with_untracked(|v| {
                            ViewQuery {
                                page: Page::Live,
                                x: r.symbols[j].symbol.clone(),
                                y: r.symbols[i].symbol.clone(),
                                interval_ms: r.interval_ms,
                                ..v.clone()
                            }
                            .href()
                        });
                        let title = format!(
                            "y={} x={}: correlation of returns {}, Engle–Granger p {}; click to open in Live",
                            r.symbols[i].symbol,
                            r.symbols[j].symbol,
                            fmt_opt(corr, 3),
                            fmt_opt(p, 4)
                        );
                        let strong = p.is_some_and(|p| p < 0.05);
                        view! {
                            <td style=format!("background:{}", corr_color(corr)) title=title class:coint=strong>
                                <a href=href rel="external" data-testid="heatmap-cell">
                                    <span class="corr">{fmt_opt(corr, 2)}</span>
                                    <span class="pval">{format!("p {}", fmt_opt(p, 3))}</span>
                                </a>
                            </td>
                        }
                        .into_any()
                    })
                    .collect_view();
                view! { <tr><th>{r.symbols[i].symbol.clone()}</th>{cells}</tr> }
            })
            .collect_view();
        view! {
            <p class="hint">{if r.datasets.is_empty() { format!("{} common {} bars per symbol.", r.bars, interval_label(r.interval_ms)) } else { format!("{} common bars of the series of data sets {:?}.", r.bars, r.datasets) }}{" Cell: correlation of returns (colour) and Engle–Granger p-value (bold when < 0.05). Rows are y, columns x."}</p>
            {note.map(|n| view! { <p class="error">{n}</p> })}
            <table class="heatmap num"><thead><tr><th></th>{header}</tr></thead><tbody>{rows}</tbody></table>
        }
        .into_any()
    };

    let rank_table = move || {
        let Some(Ok(r)) = report.get() else { return ().into_any() };
        let sorted = sort.get();
        let rows = rank_rows(&r, &filter.get(), sorted);
        let header = RankColumn::ALL
            .into_iter()
            .map(|column| {
                let arrow = match (sorted.column == column, sorted.descending) {
                    (false, _) => "",
                    (true, false) => " ▲",
                    (true, true) => " ▼",
                };
                view! {
                    <th class="sortable" data-testid="rank-sort" data-column=column.label()
                        on:click=move |_| sort.update(|s| *s = s.clicked(column))>{format!("{}{arrow}", column.label())}</th>
                }
            })
            .collect_view();
        let shown = rows.len();
        let body = rows
            .into_iter()
            .map(|k| {
                let p = r.pairs[k].clone();
                let symbol = |i: usize| r.symbols.get(i).map(|s| s.symbol.clone()).unwrap_or_default();
                let (x, y) = (symbol(p.x), symbol(p.y));
                let href = view_q.with_untracked(|v| {
                    ViewQuery { page: Page::Live, x: x.clone(), y: y.clone(), interval_ms: r.interval_ms, ..v.clone() }
                        .href()
                });
                let strong = p.qvalue.is_some_and(|q| q < 0.05);
                view! {
                    <tr data-testid="screener-row" class:coint=strong>
                        <td><a href=href rel="external" title="open this pair in Live">{format!("{y} / {x}")}</a></td>
                        <td>{fmt_opt(p.pvalue, 4)}</td>
                        <td>{fmt_opt(p.qvalue, 4)}</td>
                        <td>{fmt_opt(p.half_life, 1)}</td>
                        <td>{fmt_opt(p.hurst, 3)}</td>
                        <td>{fmt_kpss(p.kpss_pvalue, p.kpss_p_bound)}</td>
                        <td>{fmt_opt(p.corr, 3)}</td>
                        <td>{fmt_opt(p.beta, 4)}</td>
                        <td>{fmt_opt(p.liquidity, 2)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <p class="hint" data-testid="rank-count">{format!("{shown} of {} pairs. Click a column to sort; y is regressed on x (β); q is the Benjamini–Hochberg q-value of the EG p-value over all pairs; half-life in bars; liquidity is the smaller leg's volume per bar.", r.pairs.len())}</p>
            <table class="rank num" data-testid="screener-table"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>
        }
        .into_any()
    };
    let set_filter = move |f: fn(&mut RankFilter, &str)| {
        move |ev: leptos::ev::Event| filter.update(|r| f(r, &event_target_value(&ev)))
    };

    view! {
        <StatusBar view_q=view_q/>
        <main class="screener">
            <section class="panel" aria-label="Screener">
                <h2>"Pair screener "<InfoLink anchor="cointegration"/></h2>
                <div class="controls">
                    <label class="control" title="Screen the live symbols, or every series of the data sets picked below"><span class="control-label">"source"</span>
                        <select data-testid="screener-source" on:change=move |ev| use_datasets.set(event_target_value(&ev) == "datasets")>
                            <option value="live" selected=start.datasets.is_none()>"live symbols"</option>
                            <option value="datasets" selected=start.datasets.is_some()>"uploaded data sets"</option>
                        </select>
                    </label>
                    <label class="control"><span class="control-label">"interval"</span>
                        <select on:change=move |ev| { if let Ok(ms) = event_target_value(&ev).parse::<i64>() { interval.set(ms) } }>
                            {INTERVALS_MS.into_iter().map(|ms| view! { <option value=ms.to_string() selected=ms == 60_000>{interval_label(ms)}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="control" title="Hide symbols whose mean volume per bar is below this"><span class="control-label">"min volume / bar"</span>
                        <input type="number" min="0" step="any" data-testid="min-volume" prop:value=move || min_volume.get().to_string()
                            on:change=move |ev| min_volume.set(event_target_value(&ev).parse().unwrap_or(0.0))/>
                    </label>
                    <button data-testid="screener-refresh" on:click=move |_| refresh.update(|n| *n += 1)>"Refresh"</button>
                    <label class="control" title="Hide symbols whose mean trade count per bar is below this"><span class="control-label">"min trades / bar"</span>
                        <input type="number" min="0" step="any" prop:value=move || min_trades.get().to_string()
                            on:change=move |ev| min_trades.set(event_target_value(&ev).parse().unwrap_or(0.0))/>
                    </label>
                </div>
                <Show when=move || use_datasets.get()>
                    <fieldset class="dataset-pick" data-testid="screener-datasets">
                        <legend>"data sets (their series are joined on common bar times; at most 50 series)"</legend>
                        {move || {
                            let list = live.datasets.get();
                            if list.is_empty() {
                                return view! { <span class="muted">"no data set uploaded yet (Upload page)"</span> }.into_any();
                            }
                            list.into_iter()
                                .map(|d| {
                                    let id = d.id;
                                    let label = format!("{} · {} series", d.name, d.symbols.len());
                                    view! {
                                        <label class="check"><input type="checkbox" data-testid="screener-dataset" value=id.to_string()
                                            prop:checked=move || sources.with(|s| s.contains(&id))
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                sources.update(|s| { s.retain(|&k| k != id); if on { s.push(id) } });
                                            }/>{label}</label>
                                    }
                                })
                                .collect_view()
                                .into_any()
                        }}
                    </fieldset>
                </Show>
                <div data-testid="heatmap">{heatmap}</div>
            </section>
            <section class="panel" aria-label="Rank table">
                <h2>"Rank table "<InfoLink anchor="screener"/></h2>
                <div class="controls">
                    <label class="control" title="Keep pairs whose Benjamini–Hochberg q-value is below this (empty: all)"><span class="control-label">"q <"</span>
                        <input type="number" min="0" max="1" step="any" data-testid="filter-q" prop:value=opt_text(start.filter.max_q) on:change=set_filter(|r, v| r.max_q = parse_opt(v))/>
                    </label>
                    <label class="control" title="Keep pairs whose half-life (bars) is at least this"><span class="control-label">"half-life ≥"</span>
                        <input type="number" min="0" step="any" data-testid="filter-hl-min" prop:value=opt_text(start.filter.min_half_life) on:change=set_filter(|r, v| r.min_half_life = parse_opt(v))/>
                    </label>
                    <label class="control" title="Keep pairs whose half-life (bars) is at most this"><span class="control-label">"half-life ≤"</span>
                        <input type="number" min="0" step="any" data-testid="filter-hl-max" prop:value=opt_text(start.filter.max_half_life) on:change=set_filter(|r, v| r.max_half_life = parse_opt(v))/>
                    </label>
                    <label class="control" title="Keep only spreads with a Hurst exponent below 0.5 (mean reverting)"><span class="control-label">"H < 0.5"</span>
                        <input type="checkbox" data-testid="filter-hurst" prop:checked=start.filter.hurst_below_half on:change=move |ev| filter.update(|r| r.hurst_below_half = event_target_checked(&ev))/>
                    </label>
                    <label class="control" title="Keep pairs whose smaller leg trades at least this volume per bar"><span class="control-label">"min pair volume / bar"</span>
                        <input type="number" min="0" step="any" data-testid="filter-liquidity" prop:value=opt_text(Some(start.filter.min_liquidity).filter(|v| *v > 0.0)) on:change=set_filter(|r, v| r.min_liquidity = parse_opt(v).unwrap_or(0.0))/>
                    </label>
                </div>
                <div class="rank-wrap">{rank_table}</div>
            </section>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_follow_the_sign_and_strength_of_correlation() {
        assert_eq!(corr_color(None), "transparent");
        assert!(corr_color(Some(0.9)).starts_with("rgba(230"));
        assert!(corr_color(Some(-0.9)).starts_with("rgba(80"));
        assert_ne!(corr_color(Some(0.1)), corr_color(Some(0.9)));
    }

    fn report() -> ScreenerReport {
        let symbol = |s: &str| crate::screener_view::ScreenedSymbol {
            symbol: s.into(),
            volume_per_bar: 1.0,
            trades_per_bar: 1.0,
        };
        let pair = |x, y, p: Option<f64>, q: Option<f64>, hl: Option<f64>, h: f64, liq: f64| ScreenedPair {
            x,
            y,
            beta: Some(1.0 + x as f64),
            corr: Some(if y == 2 { -0.9 } else { 0.5 }),
            pvalue: p,
            qvalue: q,
            half_life: hl,
            hurst: Some(h),
            kpss_pvalue: Some(0.1),
            kpss_p_bound: Some(PBound::AtLeast),
            liquidity: Some(liq),
        };
        ScreenerReport {
            interval_ms: 60_000,
            bars: 100,
            symbols: vec![symbol("A"), symbol("B"), symbol("C")],
            pairs: vec![
                pair(0, 1, Some(0.03), Some(0.09), Some(12.0), 0.3, 5.0),
                pair(0, 2, Some(0.01), Some(0.03), Some(40.0), 0.6, 1.0),
                pair(1, 2, None, None, None, 0.4, 9.0),
            ],
            note: None,
            datasets: Vec::new(),
        }
    }

    #[test]
    fn rows_sort_by_any_column_with_missing_numbers_last() {
        let r = report();
        let all = RankFilter::default();
        assert_eq!(rank_rows(&r, &all, RankSort::default()), vec![1, 0, 2], "q ascending, no q last");
        let q_desc = RankSort::default().clicked(RankColumn::QValue);
        assert!(q_desc.descending);
        assert_eq!(rank_rows(&r, &all, q_desc), vec![0, 1, 2], "descending: still no q last");
        let liq = RankSort::default().clicked(RankColumn::Liquidity);
        assert!(liq.descending, "liquidity: most liquid first");
        assert_eq!(rank_rows(&r, &all, liq), vec![2, 0, 1]);
        // |corr|: the negative -0.9 pairs (y = C) rank as strongly correlated.
        let corr = RankSort { column: RankColumn::Corr, descending: true };
        assert_eq!(rank_rows(&r, &all, corr), vec![1, 2, 0]);
        let pair = RankSort { column: RankColumn::Pair, descending: false };
        assert_eq!(rank_rows(&r, &all, pair), vec![0, 1, 2], "by y then x name: B/A, C/A, C/B");
        assert_eq!(rank_rows(&r, &all, RankSort { column: RankColumn::HalfLife, descending: true }), vec![1, 0, 2]);
    }

    #[test]
    fn filters_drop_pairs_outside_them_and_pairs_without_the_number() {
        let r = report();
        let sort = RankSort::default();
        let q = RankFilter { max_q: Some(0.05), ..RankFilter::default() };
        assert_eq!(rank_rows(&r, &q, sort), vec![1]);
        let hl = RankFilter { min_half_life: Some(10.0), max_half_life: Some(20.0), ..RankFilter::default() };
        assert_eq!(rank_rows(&r, &hl, sort), vec![0]);
        let hurst = RankFilter { hurst_below_half: true, ..RankFilter::default() };
        assert_eq!(rank_rows(&r, &hurst, sort), vec![0, 2]);
        let liq = RankFilter { min_liquidity: 5.0, ..RankFilter::default() };
        assert_eq!(rank_rows(&r, &liq, sort), vec![0, 2]);
        assert_eq!(parse_opt(" 0.05 "), Some(0.05));
        assert_eq!(parse_opt(""), None);
        assert_eq!(parse_opt("NaN"), None);
    }

    #[test]
    fn the_request_names_the_picked_data_sets() {
        assert_eq!(screener_url(1_000, None).as_deref(), Some("/api/screener?interval=1000"));
        assert_eq!(screener_url(60_000, Some(&[])), None);
        assert_eq!(screener_url(60_000, Some(&[3, 1])).as_deref(), Some("/api/screener?interval=60000&datasets=3,1"));
    }

    #[test]
    fn filters_sort_and_source_round_trip_through_the_url() {
        let q = ScreenerQuery {
            filter: RankFilter {
                max_q: Some(0.05),
                min_half_life: Some(5.0),
                max_half_life: Some(60.5),
                hurst_below_half: true,
                min_liquidity: 10.0,
            },
            sort: RankSort { column: RankColumn::HalfLife, descending: true },
            datasets: Some(vec![3, 1]),
        };
        let text = q.to_query();
        assert_eq!(text, "maxq=0.05&hlmin=5&hlmax=60.5&hurst=1&minliq=10&sort=hl&desc=1&src=ds&ds=3,1");
        // Among the view's own keys, which it ignores (and which this ignores).
        assert_eq!(ScreenerQuery::from_query(&format!("?x=BTCUSDT&interval=1s&{text}")), q);
        assert_eq!(ScreenerQuery::default().to_query(), "", "the defaults add nothing");
        assert_eq!(ScreenerQuery::from_query(""), ScreenerQuery::default());
        let bad = ScreenerQuery::from_query("maxq=-1&hlmin=x&sort=nope&desc=1&src=ds&ds=a,2");
        assert_eq!(bad.filter, RankFilter::default());
        assert_eq!(bad.sort, RankSort::default(), "an unknown column keeps the default sort");
        assert_eq!(bad.datasets, Some(vec![2]));
        assert_eq!(opt_text(Some(0.5)), "0.5");
        assert_eq!(opt_text(None), "");
    }

    #[test]
    fn kpss_bounds_show_as_bounds() {
        assert_eq!(fmt_kpss(Some(0.01), Some(PBound::AtMost)), "< 0.01");
        assert_eq!(fmt_kpss(Some(0.1), Some(PBound::AtLeast)), "> 0.10");
        assert_eq!(fmt_kpss(Some(0.0432), Some(PBound::Exact)), "0.043");
        assert_eq!(fmt_kpss(None, None), "—");
        // The wire form the server sends parses back into the bound.
        let pair: ScreenedPair = serde_json::from_str(
            r#"{"x":0,"y":1,"beta":1.0,"corr":0.5,"pvalue":0.2,"kpss_pvalue":0.1,"kpss_p_bound":"at_least"}"#,
        )
        .expect("parse");
        assert_eq!(pair.kpss_p_bound, Some(PBound::AtLeast));
    }
}
