//! `GET /api/screener?interval=60000&bars=1440`: every ingested symbol against every other
//! over their recent common bars — OLS hedge, correlation of returns, Engle–Granger p-value
//! (`app::analytics::screener`, on both cores) — plus each symbol's liquidity; each pair also
//! carries the rank-table fields of screener v2 (`rank_pairs`: BH q-value, half-life, Hurst,
//! KPSS p-value, pair liquidity).

use std::collections::BTreeSet;

use app::analytics::screener::rank_pairs;
use app::protocol::{Bar, INTERVALS_MS};
use app::screener_view::{ScreenedPair, ScreenedSymbol, ScreenerReport};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use crate::store::Store;
use crate::symbols::Symbols;

/// Fewest common bars worth testing (ADF lag selection needs some room).
const MIN_BARS: usize = 30;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/screener", get(screener))
}

#[derive(Deserialize)]
struct ScreenerQuery {
    interval: Option<i64>,
    bars: Option<usize>,
}

async fn screener(
    State(store): State<Store>,
    State(symbols): State<Symbols>,
    Query(q): Query<ScreenerQuery>,
) -> Response {
    let interval_ms = q.interval.unwrap_or(60_000);
    if !INTERVALS_MS.contains(&interval_ms) {
        let body = serde_json::json!({"error": {"message": "interval: use 1000, 60000 or 300000"}});
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
    }
    let limit = q.bars.unwrap_or(1_440).clamp(MIN_BARS, 10_000);
    let symbols = symbols.current();
    let work = tokio::task::spawn_blocking(move || {
        let bars: Vec<Vec<Bar>> = symbols.iter().map(|s| store.recent_bars(s, interval_ms, limit)).collect();
        screen(&symbols, &bars, interval_ms)
    });
    match work.await {
        Ok(report) => Json(report).into_response(),
        Err(err) => {
            let body = serde_json::json!({"error": {"message": format!("screener failed: {err}")}});
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
    }
}

/// Aligns all symbols on the bar times they all have, then screens every pair.
pub fn screen(symbols: &[String], bars: &[Vec<Bar>], interval_ms: i64) -> ScreenerReport {
    let liquidity: Vec<ScreenedSymbol> = symbols
        .iter()
        .zip(bars)
        .map(|(symbol, b)| {
            let n = b.len().max(1) as f64;
            ScreenedSymbol {
                symbol: symbol.clone(),
                volume_per_bar: b.iter().map(|b| b.volume).sum::<f64>() / n,
                trades_per_bar: b.iter().map(|b| b.count as f64).sum::<f64>() / n,
            }
        })
        .collect();
    let mut common: Option<BTreeSet<i64>> = None;
    for b in bars {
        let times: BTreeSet<i64> = b.iter().map(|b| b.t).collect();
        common = Some(match common {
            None => times,
            Some(c) => c.intersection(&times).copied().collect(),
        });
    }
    let common = common.unwrap_or_default();
    let volume: Vec<f64> = liquidity.iter().map(|l| l.volume_per_bar).collect();
    let mut report = ScreenerReport { interval_ms, bars: common.len(), symbols: liquidity, ..Default::default() };
    if common.len() < MIN_BARS || symbols.len() < 2 {
        report.note = Some(format!("needs at least {MIN_BARS} common bars of every symbol, has {}", common.len()));
        return report;
    }
    let closes: Vec<Vec<f64>> =
        bars.iter().map(|b| b.iter().filter(|b| common.contains(&b.t)).map(|b| b.close).collect()).collect();
    let series: Vec<&[f64]> = closes.iter().map(Vec::as_slice).collect();
    match rank_pairs(&series, Some(&volume), 2) {
        Ok(pairs) => {
            report.pairs = pairs
                .into_iter()
                .map(|r| ScreenedPair {
                    x: r.screen.x,
                    y: r.screen.y,
                    beta: r.screen.beta,
                    corr: r.screen.corr,
                    pvalue: r.screen.pvalue,
                    qvalue: r.qvalue,
                    half_life: r.half_life,
                    hurst: r.hurst,
                    kpss_pvalue: r.kpss_pvalue,
                    kpss_p_bound: r.kpss_p_bound,
                    liquidity: r.liquidity,
                })
                .collect()
        }
        Err(err) => report.note = Some(err.to_string()),
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(closes: impl Iterator<Item = f64>) -> Vec<Bar> {
        closes
            .enumerate()
            .map(|(i, c)| Bar { t: i as i64 * 60_000, open: c, high: c, low: c, close: c, volume: 2.0, count: 3 })
            .collect()
    }

    #[test]
    fn screens_every_pair_on_common_bars() {
        let n = 300;
        let a: Vec<f64> = (0..n).map(|i| 100.0 + (i as f64 * 0.37).sin() * 3.0 + i as f64 * 0.05).collect();
        let b: Vec<f64> = a.iter().enumerate().map(|(i, v)| 2.0 * v + 5.0 + ((i * 7) % 5) as f64 * 0.1).collect();
        let c: Vec<f64> = (0..n).map(|i| 50.0 + (i as f64).sqrt()).collect();
        let symbols = vec!["A".to_string(), "B".to_string(), "C".to_string()];
        let mut c_bars = bars(c.into_iter());
        c_bars.remove(10); // one missing bar: the common set shrinks by one
        let report = screen(&symbols, &[bars(a.into_iter()), bars(b.into_iter()), c_bars], 60_000);
        assert_eq!(report.bars, n - 1);
        assert_eq!(report.pairs.len(), 3);
        let ab = report.pair(0, 1).expect("A/B");
        assert!(ab.pvalue.is_some_and(|p| p < 0.05), "A and B are cointegrated: {ab:?}");
        assert!((report.symbols[0].trades_per_bar - 3.0).abs() < 1e-12);
        // The rank fields ride along: q >= p, liquidity = the smaller leg's volume per bar.
        assert!(ab.qvalue.zip(ab.pvalue).is_some_and(|(q, p)| q >= p));
        assert_eq!(ab.liquidity, Some(2.0));
        assert!(ab.hurst.is_some() && ab.kpss_pvalue.is_some());
    }

    #[test]
    fn too_little_history_is_explained() {
        let symbols = vec!["A".to_string(), "B".to_string()];
        let report = screen(&symbols, &[bars([1.0, 2.0].into_iter()), bars([1.0, 2.0].into_iter())], 60_000);
        assert!(report.pairs.is_empty());
        assert!(report.note.is_some_and(|n| n.contains("common bars")));
    }
}
