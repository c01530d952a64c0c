//! `GET /api/screener?interval=60000&bars=1440`: every ingested symbol against every other
//! over their recent common bars — OLS hedge, correlation of returns, Engle–Granger p-value
//! (`app::analytics::screener`, on both cores) — plus each symbol's liquidity; each pair also
//! carries the rank-table fields of screener v2 (`rank_pairs`: BH q-value, half-life, Hurst,
//! KPSS p-value, pair liquidity).
//!
//! `?datasets=1,2,3` screens every series of those uploaded data sets instead of the live
//! symbols (named by their `ID:SYMBOL` keys, which Live's pickers accept), inner-joined on
//! the bar times they all have, the latest `bars` (default 10,000) of them; at most
//! [`MAX_SERIES`] series. A bad list, an unknown data set or too many series answer 422.
//!
//! A screen is an analysis (200 symbols are seconds of both cores): it waits for one of the
//! API's work slots, stops at `--analysis-timeout` (504 `timeout`) and when its client goes.

use std::collections::BTreeSet;

use app::analytics::screener::rank_pairs_with;
use app::analytics::{AnalyticsError, Cancel};
use app::protocol::{Bar, INTERVALS_MS};
use app::screener_view::{ScreenedPair, ScreenedSymbol, ScreenerReport};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::api::{analysis, ApiError};
use super::AppState;
use crate::store::Store;

/// Fewest common bars worth testing (ADF lag selection needs some room).
const MIN_BARS: usize = 30;
/// Most series one screen of data sets takes (50 series = 1,225 pairs).
pub const MAX_SERIES: usize = 50;
/// Most data sets one request names.
const MAX_DATASETS: usize = 50;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/screener", get(screener))
}

#[derive(Deserialize)]
struct ScreenerQuery {
    interval: Option<i64>,
    bars: Option<usize>,
    /// Comma-separated data set ids: screen their series instead of the live symbols.
    datasets: Option<String>,
}

/// Why a screen is refused: 422 (the request), 503 (cancelled) or 500 (the store), and why.
type Refusal = (StatusCode, String);

fn unprocessable(message: impl std::fmt::Display) -> Refusal {
    (StatusCode::UNPROCESSABLE_ENTITY, message.to_string())
}

fn internal(err: impl std::fmt::Display) -> Refusal {
    (StatusCode::INTERNAL_SERVER_ERROR, format!("screener: the store failed: {err}"))
}

fn refused(refusal: Refusal) -> Response {
    api_error(refusal).into_response()
}

/// The ids of `?datasets=`: distinct, in the order given.
fn parse_dataset_ids(list: &str) -> Result<Vec<u64>, String> {
    let mut ids = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = part.parse::<u64>().map_err(|_| format!("datasets: '{part}' is not a data set id"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    match ids.len() {
        0 => Err("datasets: name at least one data set id (e.g. datasets=1,2)".into()),
        n if n > MAX_DATASETS => Err(format!("datasets: at most {MAX_DATASETS} data sets at once, {n} given")),
        _ => Ok(ids),
    }
}

/// Every series of the data sets `ids` as (`ID:SYMBOL`, bars), or why not (an unknown data
/// set, more than [`MAX_SERIES`] series, fewer than two).
fn dataset_series(store: &Store, ids: &[u64]) -> Result<(Vec<String>, Vec<Vec<Bar>>), Refusal> {
    let datasets = crate::datasets::DatasetStore::open(store).map_err(internal)?;
    let (mut names, mut bars) = (Vec::new(), Vec::new());
    for &id in ids {
        let Some(data) = datasets.get(id).map_err(internal)? else {
            return Err(unprocessable(format!("datasets: there is no data set {id}")));
        };
        for (symbol, series) in data.symbols {
            if names.len() == MAX_SERIES {
                return Err(unprocessable(format!(
                    "datasets: more than {MAX_SERIES} series in these data sets; pick fewer"
                )));
            }
            names.push(format!("{id}:{symbol}"));
            bars.push(series.into_iter().map(Bar::from).collect());
        }
    }
    if names.len() < 2 {
        return Err(unprocessable("datasets: these data sets hold one series; the screener needs two or more"));
    }
    Ok((names, bars))
}

/// Keeps only the latest `limit` bar times all series share (and drops the others).
fn latest_common(bars: &mut [Vec<Bar>], limit: usize) {
    let common = common_times(bars);
    let keep: BTreeSet<i64> = common.iter().rev().take(limit).copied().collect();
    for b in bars.iter_mut() {
        b.retain(|b| keep.contains(&b.t));
    }
}

/// The bar times every series has.
fn common_times(bars: &[Vec<Bar>]) -> BTreeSet<i64> {
    let mut common: Option<BTreeSet<i64>> = None;
    for b in bars {
        let times: BTreeSet<i64> = b.iter().map(|b| b.t).collect();
        common = Some(match common {
            None => times,
            Some(c) => c.intersection(&times).copied().collect(),
        });
    }
    common.unwrap_or_default()
}

async fn screener(State(state): State<AppState>, Query(q): Query<ScreenerQuery>) -> Response {
    let interval_ms = q.interval.unwrap_or(60_000);
    if !INTERVALS_MS.contains(&interval_ms) {
        return refused(unprocessable("interval: use 1000, 60000 or 300000"));
    }
    // A screen is an analysis: one of the API's work slots, its deadline (`--analysis-timeout`,
    // 504 past it) and cancellation when the client goes, like `POST /api/analyze`.
    let (store, deadline) = (state.store, state.analysis_timeout);
    let work = if let Some(list) = q.datasets.as_deref() {
        let ids = match parse_dataset_ids(list) {
            Ok(ids) => ids,
            Err(message) => return refused(unprocessable(message)),
        };
        let limit = q.bars.unwrap_or(10_000).clamp(MIN_BARS, 10_000);
        analysis(deadline, move |cancel| {
            let (names, mut bars) = dataset_series(&store, &ids).map_err(api_error)?;
            latest_common(&mut bars, limit);
            let report = screen(&names, &bars, interval_ms, cancel).map_err(api_error)?;
            Ok(ScreenerReport { datasets: ids, ..report })
        })
        .await
    } else {
        let limit = q.bars.unwrap_or(1_440).clamp(MIN_BARS, 10_000);
        let symbols = state.symbols.current();
        analysis(deadline, move |cancel| {
            let bars: Vec<Vec<Bar>> = symbols.iter().map(|s| store.recent_bars(s, interval_ms, limit)).collect();
            screen(&symbols, &bars, interval_ms, cancel).map_err(api_error)
        })
        .await
    };
    match work {
        Ok(report) => Json(report).into_response(),
        Err(err) => err.into_response(),
    }
}

/// The API's error body: 422 `invalid_request` and 503 `cancelled` say why; anything else is
/// the store's, logged and answered without its text.
fn api_error((status, message): Refusal) -> ApiError {
    match status {
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::new(status, "invalid_request", message),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::new(status, "cancelled", message),
        _ => ApiError::internal(message),
    }
}

/// Aligns all symbols on the bar times they all have, then screens every pair; refused only
/// when `cancel` was raised (the deadline passed or the client left).
pub fn screen(
    symbols: &[String],
    bars: &[Vec<Bar>],
    interval_ms: i64,
    cancel: &Cancel,
) -> Result<ScreenerReport, Refusal> {
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
    let common = common_times(bars);
    let volume: Vec<f64> = liquidity.iter().map(|l| l.volume_per_bar).collect();
    let mut report = ScreenerReport { interval_ms, bars: common.len(), symbols: liquidity, ..Default::default() };
    if common.len() < MIN_BARS || symbols.len() < 2 {
        report.note = Some(format!("needs at least {MIN_BARS} common bars of every symbol, has {}", common.len()));
        return Ok(report);
    }
    let closes: Vec<Vec<f64>> =
        bars.iter().map(|b| b.iter().filter(|b| common.contains(&b.t)).map(|b| b.close).collect()).collect();
    let series: Vec<&[f64]> = closes.iter().map(Vec::as_slice).collect();
    match rank_pairs_with(&series, Some(&volume), 2, cancel) {
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
        Err(AnalyticsError::Cancelled) => return Err(cancelled()),
        Err(err) => report.note = Some(err.to_string()),
    }
    Ok(report)
}

/// What a cancelled screen answers; the caller's deadline has its own 504, this is for the
/// client that left (nobody reads it) and for a deadline raised between the checks.
fn cancelled() -> Refusal {
    (StatusCode::SERVICE_UNAVAILABLE, "the screen was stopped before it finished".into())
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
        let report =
            screen(&symbols, &[bars(a.into_iter()), bars(b.into_iter()), c_bars], 60_000, &Cancel::never()).unwrap();
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
    fn dataset_lists_parse_or_say_why_not() {
        assert_eq!(parse_dataset_ids("3, 1,3,,2"), Ok(vec![3, 1, 2]));
        assert!(parse_dataset_ids("").unwrap_err().contains("at least one"));
        assert!(parse_dataset_ids("1,x").unwrap_err().contains("'x'"));
        let many: Vec<String> = (0..=MAX_DATASETS).map(|i| i.to_string()).collect();
        assert!(parse_dataset_ids(&many.join(",")).unwrap_err().contains("at most"));
    }

    #[test]
    fn the_latest_common_bars_are_kept() {
        let mut all = vec![bars((0..10).map(|i| i as f64 + 1.0)), bars((0..10).map(|i| i as f64 + 2.0))];
        all[1].remove(9);
        latest_common(&mut all, 3);
        let times = |b: &[Bar]| b.iter().map(|b| b.t).collect::<Vec<_>>();
        assert_eq!(times(&all[0]), vec![6 * 60_000, 7 * 60_000, 8 * 60_000]);
        assert_eq!(times(&all[0]), times(&all[1]));
    }

    #[test]
    fn too_little_history_is_explained() {
        let symbols = vec!["A".to_string(), "B".to_string()];
        let report =
            screen(&symbols, &[bars([1.0, 2.0].into_iter()), bars([1.0, 2.0].into_iter())], 60_000, &Cancel::never())
                .unwrap();
        assert!(report.pairs.is_empty());
        assert!(report.note.is_some_and(|n| n.contains("common bars")));
    }
}
