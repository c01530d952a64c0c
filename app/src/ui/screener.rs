//! The Screener page: every ingested symbol against every other — a correlation heatmap with
//! the Engle–Granger p-value in each cell, a liquidity filter, and a click on a cell opens
//! that pair on the Live page.

use leptos::prelude::*;

use super::format::fmt_opt;
use super::topbar::StatusBar;
use super::view::{Page, ViewQuery};
use super::widgets::InfoLink;
use crate::protocol::{interval_label, INTERVALS_MS};
use crate::screener_view::ScreenerReport;

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

#[component]
pub fn ScreenerPage(initial: ViewQuery) -> impl IntoView {
    let view_q = RwSignal::new(initial);
    let _ = super::state::connect_live(view_q);
    let interval = RwSignal::new(60_000i64);
    let min_volume = RwSignal::new(0.0f64);
    let min_trades = RwSignal::new(0.0f64);
    let report = RwSignal::new(None::<Result<ScreenerReport, String>>);
    // Bumped by the Refresh button and every 30 s, so the matrix follows the market.
    let refresh = RwSignal::new(0u32);

    #[cfg(feature = "hydrate")]
    let _ = set_interval_with_handle(move || refresh.update(|n| *n += 1), std::time::Duration::from_secs(30));
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        refresh.track();
        let url = format!("/api/screener?interval={}", interval.get());
        leptos::task::spawn_local(async move {
            let answer = super::http::request::<ScreenerReport>("GET", &url, None::<&()>).await;
            report.set(Some(answer.and_then(|r| r.ok_or_else(|| "empty answer".to_string()))));
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
            <p class="hint">{format!("{} common {} bars per symbol. Cell: correlation of returns (colour) and Engle–Granger p-value (bold when < 0.05). Rows are y, columns x.", r.bars, interval_label(r.interval_ms))}</p>
            {note.map(|n| view! { <p class="error">{n}</p> })}
            <table class="heatmap num"><thead><tr><th></th>{header}</tr></thead><tbody>{rows}</tbody></table>
        }
        .into_any()
    };

    view! {
        <StatusBar view_q=view_q/>
        <main class="screener">
            <section class="panel" aria-label="Screener">
                <h2>"Pair screener "<InfoLink anchor="cointegration"/></h2>
                <div class="controls">
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
                <div data-testid="heatmap">{heatmap}</div>
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
}
