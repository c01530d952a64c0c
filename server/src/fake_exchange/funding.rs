//! The fake exchange's mark price and funding: the `<symbol>@markPrice@1s` event (served by
//! the `/market` streams, [`super::ws`]), REST `GET /fapi/v1/fundingRate` and
//! `GET /fapi/v1/premiumIndex`, with Binance's parameters, limits and error bodies.
//!
//! Settlements follow a per-symbol schedule that is deliberately not 00/08/16 UTC: even
//! symbols settle every 8 h, odd ones every 4 h, and the third symbol is shifted by an
//! hour ([`FakeConfig::funding_interval_ms`] scales all of them down for tests). They go back
//! [`FUNDING_HISTORY_DAYS`] (at most 500 intervals) before the fake started and continue as time passes, each with a
//! seeded rate and mark price, so any range can be asked and the answer is always the same.
//! Encoded here with `serde_json::json!`, field by field: never with the ingest's types.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::rest::{bad_request, limit, number, rate_limited};
use super::{FakeConfig, FakeExchange};
use crate::market::now_ms;

/// How far back the fake's settlement history goes: 120 days, or 500 settlements of the
/// even symbols when the interval is shorter (tests use seconds).
pub const FUNDING_HISTORY_DAYS: i64 = 120;
const FUNDING_HISTORY_MAX_SETTLEMENTS: i64 = 500;
const FUNDING_DEFAULT_LIMIT: usize = 100;
const FUNDING_MAX_LIMIT: usize = 1000;
const HOUR_MS: i64 = 3_600_000;

/// One settlement as the fake knows it.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeSettlement {
    pub symbol: String,
    pub t_ms: i64,
    pub rate: f64,
    pub mark: f64,
}

/// Interval and offset (epoch ms) of symbol number `index`'s settlements.
pub fn schedule(config: &FakeConfig, index: usize) -> (i64, i64) {
    let base = config.funding_interval_ms.filter(|ms| *ms > 1).unwrap_or(8 * HOUR_MS);
    let interval = if index.is_multiple_of(2) { base } else { base / 2 };
    let offset = if index == 2 { base / 8 } else { 0 };
    (interval, offset)
}

/// A seeded number in [0, 1) for (symbol, settlement number).
fn unit(seed: u64, index: usize, k: i64) -> f64 {
    let mut x =
        seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (k as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 31;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Rounds to 8 decimals, as Binance prints rates and prices.
fn round8(v: f64) -> f64 {
    (v * 1e8).round() / 1e8
}

/// Every settlement of symbol number `index` in `[from_ms, to_ms]` that has happened by now.
pub fn settlements(exchange: &FakeExchange, index: usize, from_ms: i64, to_ms: i64) -> Vec<FakeSettlement> {
    let config = exchange.config();
    let Some(spec) = config.symbols.get(index) else { return Vec::new() };
    let (interval, offset) = schedule(config, index);
    let span = (FUNDING_HISTORY_DAYS * 86_400_000).min(FUNDING_HISTORY_MAX_SETTLEMENTS * schedule(config, 0).0);
    let first = exchange.started_ms() - span;
    let from = from_ms.max(first);
    let to = to_ms.min(now_ms());
    if from > to {
        return Vec::new();
    }
    let k0 = (from - offset).div_euclid(interval) + i64::from((from - offset).rem_euclid(interval) != 0);
    let k1 = (to - offset).div_euclid(interval);
    (k0..=k1)
        .map(|k| FakeSettlement {
            symbol: spec.symbol.clone(),
            t_ms: offset + k * interval,
            rate: round8(-0.0002 + 0.0008 * unit(config.seed, index, k)),
            mark: round8(spec.start_price * (1.0 + 0.02 * (unit(config.seed ^ 1, index, k) - 0.5))),
        })
        .collect()
}

/// The next settlement time of symbol number `index` after `now_ms`.
pub fn next_funding_ms(config: &FakeConfig, index: usize, now_ms: i64) -> i64 {
    let (interval, offset) = schedule(config, index);
    offset + ((now_ms - offset).div_euclid(interval) + 1) * interval
}

/// The funding rate the next settlement will use, as estimated now.
fn estimated_rate(config: &FakeConfig, index: usize, now_ms: i64) -> f64 {
    let (interval, offset) = schedule(config, index);
    round8(-0.0002 + 0.0008 * unit(config.seed, index, (now_ms - offset).div_euclid(interval) + 1))
}

/// The markPriceUpdate event of symbol number `index` at `now_ms`, with `mark` its price.
pub fn mark_price_json(config: &FakeConfig, index: usize, now_ms: i64, mark: f64) -> serde_json::Value {
    let symbol = config.symbols.get(index).map(|s| s.symbol.as_str()).unwrap_or_default();
    json!({
        "e": "markPriceUpdate",
        "E": now_ms,
        "s": symbol,
        "p": format!("{:.8}", mark),
        "i": format!("{:.8}", mark * 0.9999),
        "P": format!("{:.8}", mark * 0.99995),
        "r": format!("{:.8}", estimated_rate(config, index, now_ms)),
        "T": next_funding_ms(config, index, now_ms),
    })
}

fn settlement_json(s: &FakeSettlement) -> serde_json::Value {
    json!({
        "symbol": s.symbol,
        "fundingTime": s.t_ms,
        "fundingRate": format!("{:.8}", s.rate),
        "markPrice": format!("{:.8}", s.mark),
    })
}

/// `GET /fapi/v1/fundingRate?symbol=&startTime=&endTime=&limit=`: oldest first; with a
/// `startTime` the first `limit` from it, otherwise the latest `limit` up to `endTime`.
pub async fn funding_rate(
    State(exchange): State<FakeExchange>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(response) = rate_limited(&exchange) {
        return response;
    }
    let parsed = (|| {
        let start: Option<i64> = number(&params, "startTime")?;
        let end: Option<i64> = number(&params, "endTime")?;
        let limit = limit(&params, FUNDING_DEFAULT_LIMIT, FUNDING_MAX_LIMIT)?;
        let indices: Vec<usize> = match params.get("symbol").filter(|s| !s.is_empty()) {
            None => (0..exchange.config().symbols.len()).collect(),
            Some(raw) => {
                let upper = raw.to_ascii_uppercase();
                match exchange.config().symbols.iter().position(|s| s.symbol == upper) {
                    Some(i) => vec![i],
                    None => return Err(bad_request(-1121, "Invalid symbol.")),
                }
            }
        };
        Ok((start, end, limit, indices))
    })();
    let (start, end, limit, indices) = match parsed {
        Ok(p) => p,
        Err(reject) => return reject.into_response(),
    };
    let mut rows: Vec<FakeSettlement> = indices
        .into_iter()
        .flat_map(|i| settlements(&exchange, i, start.unwrap_or(i64::MIN), end.unwrap_or(i64::MAX)))
        .collect();
    rows.sort_by_key(|s| s.t_ms);
    let rows: Vec<serde_json::Value> = if start.is_some() {
        rows.iter().take(limit).map(settlement_json).collect()
    } else {
        rows[rows.len().saturating_sub(limit)..].iter().map(settlement_json).collect()
    };
    Json(rows).into_response()
}

/// `GET /fapi/v1/premiumIndex[?symbol=]`: one object for a symbol, an array without.
pub async fn premium_index(
    State(exchange): State<FakeExchange>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(response) = rate_limited(&exchange) {
        return response;
    }
    let config = exchange.config();
    let now = now_ms();
    let one = |index: usize| {
        let spec = &config.symbols[index];
        let mark = exchange.last_price(&spec.symbol).unwrap_or(spec.start_price);
        json!({
            "symbol": spec.symbol,
            "markPrice": format!("{:.8}", mark),
            "indexPrice": format!("{:.8}", mark * 0.9999),
            "estimatedSettlePrice": format!("{:.8}", mark * 0.99995),
            "lastFundingRate": format!("{:.8}", estimated_rate(config, index, now)),
            "interestRate": "0.00010000",
            "nextFundingTime": next_funding_ms(config, index, now),
            "time": now,
        })
    };
    match params.get("symbol").filter(|s| !s.is_empty()) {
        None => Json((0..config.symbols.len()).map(one).collect::<Vec<_>>()).into_response(),
        Some(raw) => match config.symbols.iter().position(|s| s.symbol == raw.to_ascii_uppercase()) {
            Some(i) => Json(one(i)).into_response(),
            None => bad_request(-1121, "Invalid symbol.").into_response(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_differ_per_symbol_and_are_not_all_on_the_hour_grid() {
        let config = FakeConfig::demo();
        assert_eq!(schedule(&config, 0), (8 * HOUR_MS, 0));
        assert_eq!(schedule(&config, 1), (4 * HOUR_MS, 0));
        assert_eq!(schedule(&config, 2), (8 * HOUR_MS, HOUR_MS));
        let t = 1_700_000_000_000;
        for i in 0..3 {
            let next = next_funding_ms(&config, i, t);
            let (interval, offset) = schedule(&config, i);
            assert!(next > t && next - t <= interval && (next - offset) % interval == 0);
        }
    }

    #[test]
    fn settlement_lists_are_deterministic_and_on_schedule() {
        let exchange = FakeExchange::new(FakeConfig::demo());
        let now = now_ms();
        let all = settlements(&exchange, 1, i64::MIN, i64::MAX);
        // 120 days of 4-hourly settlements, give or take the edges.
        assert!((719..=721).contains(&all.len()), "{}", all.len());
        assert!(all.windows(2).all(|w| w[1].t_ms - w[0].t_ms == 4 * HOUR_MS));
        assert!(all.last().is_some_and(|s| s.t_ms <= now));
        assert!(all.iter().all(|s| s.rate.is_finite() && s.rate.abs() < 0.001 && s.mark > 0.0));
        let window = settlements(&exchange, 1, all[10].t_ms, all[12].t_ms);
        assert_eq!(window, all[10..=12].to_vec());
        let json = settlement_json(&all[0]);
        assert!(json["fundingRate"].is_string() && json["fundingTime"].is_i64() && json["markPrice"].is_string());
    }
}
