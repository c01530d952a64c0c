//! The fake exchange's REST API, answering from the same history the streams deliver:
//! `GET /fapi/v1/aggTrades` and `GET /fapi/v1/klines` with Binance's parameters, limits and
//! error bodies (`{"code":-1121,"msg":"Invalid symbol."}`), optional 429s with
//! `Retry-After`, and `GET /debug/ids?symbol=` / `GET /debug/stats` for tests.

use std::collections::HashMap;

use app::analytics::resample::{BarBuilder, Tick};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;

use super::history::TradeFilter;
use super::FakeExchange;
use crate::ingest::binance_rest::{ApiError, KlineRow, RestAggTrade, AGG_TRADES_DEFAULT_LIMIT, AGG_TRADES_MAX_LIMIT};

const KLINES_DEFAULT_LIMIT: usize = 500;
const KLINES_MAX_LIMIT: usize = 1500;
/// Binance refuses aggTrades time windows longer than one hour.
const AGG_TRADES_MAX_WINDOW_MS: i64 = 3_600_000;

type Params = Query<HashMap<String, String>>;

/// A refused request: HTTP status and Binance error body.
pub(super) struct Reject(StatusCode, ApiError);

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

pub(super) fn bad_request(code: i64, msg: impl Into<String>) -> Reject {
    Reject(StatusCode::BAD_REQUEST, ApiError::new(code, msg))
}

/// The 429 fault, when it fires.
pub(super) fn rate_limited(exchange: &FakeExchange) -> Option<Response> {
    let faults = &exchange.config().faults;
    if faults.rest_429_prob <= 0.0 || rand::rng().random::<f64>() >= faults.rest_429_prob {
        return None;
    }
    let body = ApiError::new(-1003, "Too many requests; current limit of IP(127.0.0.1) is 2400 requests per minute.");
    Some(
        (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, faults.retry_after_s.to_string())], Json(body))
            .into_response(),
    )
}

/// The upper-case symbol, or the Binance error for a missing/unknown one.
fn symbol(exchange: &FakeExchange, params: &HashMap<String, String>) -> Result<String, Reject> {
    let Some(raw) = params.get("symbol").filter(|s| !s.is_empty()) else {
        return Err(bad_request(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."));
    };
    let symbol = raw.to_ascii_uppercase();
    if !exchange.history().has_symbol(&symbol) {
        return Err(bad_request(-1121, "Invalid symbol."));
    }
    Ok(symbol)
}

/// An optional numeric parameter, or Binance's "illegal characters" error.
pub(super) fn number<T: std::str::FromStr>(params: &HashMap<String, String>, name: &str) -> Result<Option<T>, Reject> {
    match params.get(name) {
        None => Ok(None),
        Some(v) => v.parse::<T>().map(Some).map_err(|_| {
            bad_request(
                -1100,
                format!("Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."),
            )
        }),
    }
}

pub(super) fn limit(params: &HashMap<String, String>, default: usize, max: usize) -> Result<usize, Reject> {
    match number::<usize>(params, "limit")? {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(bad_request(-1130, "Data sent for parameter 'limit' is not valid.")),
    }
}

/// `GET /fapi/v1/aggTrades?symbol=&fromId=&startTime=&endTime=&limit=`.
pub async fn agg_trades(State(exchange): State<FakeExchange>, Query(params): Params) -> Response {
    if let Some(response) = rate_limited(&exchange) {
        return response;
    }
    match agg_trades_rows(&exchange, &params) {
        Ok(rows) => Json(rows).into_response(),
        Err(reject) => reject.into_response(),
    }
}

fn agg_trades_rows(exchange: &FakeExchange, params: &HashMap<String, String>) -> Result<Vec<RestAggTrade>, Reject> {
    let filter = TradeFilter {
        from_id: number(params, "fromId")?,
        start_ms: number(params, "startTime")?,
        end_ms: number(params, "endTime")?,
        limit: limit(params, AGG_TRADES_DEFAULT_LIMIT, AGG_TRADES_MAX_LIMIT)?,
    };
    if let (Some(s), Some(e)) = (filter.start_ms, filter.end_ms) {
        if e < s || e - s > AGG_TRADES_MAX_WINDOW_MS {
            return Err(bad_request(-1127, "More than 1 hours between startTime and endTime."));
        }
    }
    let symbol = symbol(exchange, params)?;
    Ok(exchange.history().query(&symbol, &filter).iter().map(RestAggTrade::from).collect())
}

/// Binance kline interval names → milliseconds.
fn interval_ms(name: &str) -> Option<i64> {
    const MINUTE: i64 = 60_000;
    Some(match name {
        "1m" => MINUTE,
        "3m" => 3 * MINUTE,
        "5m" => 5 * MINUTE,
        "15m" => 15 * MINUTE,
        "30m" => 30 * MINUTE,
        "1h" => 60 * MINUTE,
        "2h" => 120 * MINUTE,
        "4h" => 240 * MINUTE,
        "6h" => 360 * MINUTE,
        "8h" => 480 * MINUTE,
        "12h" => 720 * MINUTE,
        "1d" => 1_440 * MINUTE,
        _ => return None,
    })
}

/// `GET /fapi/v1/klines?symbol=&interval=&startTime=&endTime=&limit=`, built from the
/// trade history with the shared resampler.
pub async fn klines(State(exchange): State<FakeExchange>, Query(params): Params) -> Response {
    if let Some(response) = rate_limited(&exchange) {
        return response;
    }
    match kline_answer(&exchange, &params) {
        Ok(rows) => Json(rows).into_response(),
        Err(reject) => reject.into_response(),
    }
}

fn kline_answer(exchange: &FakeExchange, params: &HashMap<String, String>) -> Result<Vec<KlineRow>, Reject> {
    let symbol = symbol(exchange, params)?;
    let interval =
        params.get("interval").and_then(|i| interval_ms(i)).ok_or_else(|| bad_request(-1120, "Invalid interval."))?;
    let start: Option<i64> = number(params, "startTime")?;
    let end: Option<i64> = number(params, "endTime")?;
    let limit = limit(params, KLINES_DEFAULT_LIMIT, KLINES_MAX_LIMIT)?;
    let history = exchange.history();
    let end = end.or_else(|| history.last_time(&symbol)).unwrap_or(0);
    let from = start.unwrap_or_else(|| end.saturating_sub(interval.saturating_mul(limit as i64)));
    let mut rows = kline_rows(&history.in_time_range(&symbol, from, end), interval);
    if start.is_some() {
        rows.truncate(limit);
    } else if rows.len() > limit {
        rows.drain(..rows.len() - limit);
    }
    Ok(rows)
}

fn kline_rows(trades: &[crate::market::Trade], interval: i64) -> Vec<KlineRow> {
    let Ok(mut builder) = BarBuilder::new(interval) else { return Vec::new() };
    let mut rows = Vec::new();
    // Quote volume, taker-buy base and quote volume of the bar under construction.
    let mut extra = (0.0, 0.0, 0.0);
    let row = |b: app::analytics::resample::Bar, (quote, taker, taker_quote): (f64, f64, f64)| -> KlineRow {
        (
            b.t,
            b.open.to_string(),
            b.high.to_string(),
            b.low.to_string(),
            b.close.to_string(),
            b.volume.to_string(),
            b.t + interval - 1,
            quote.to_string(),
            b.count,
            taker.to_string(),
            taker_quote.to_string(),
            "0".to_string(),
        )
    };
    for trade in trades {
        let Ok(update) = builder.push(Tick { t: trade.t_ms, price: trade.price, qty: trade.qty }) else { continue };
        if let Some(closed) = update.closed {
            rows.push(row(closed, extra));
            extra = (0.0, 0.0, 0.0);
        }
        extra.0 += trade.price * trade.qty;
        if !trade.buyer_is_maker {
            extra.1 += trade.qty;
            extra.2 += trade.price * trade.qty;
        }
    }
    rows.extend(builder.finish().map(|b| row(b, extra)));
    rows
}

/// `GET /debug/ids?symbol=BTCUSDT`: every retained trade id (the tests' ground truth).
pub async fn debug_ids(State(exchange): State<FakeExchange>, Query(params): Params) -> Response {
    match symbol(&exchange, &params) {
        Ok(symbol) => Json(exchange.trade_ids(&symbol)).into_response(),
        Err(reject) => reject.into_response(),
    }
}

/// `GET /debug/stats`: `{"generated": n, "done": bool, "connections": n}`.
pub async fn debug_stats(State(exchange): State<FakeExchange>) -> Response {
    let done = exchange.remaining() == 0;
    let connections = exchange.shared.connections.load(std::sync::atomic::Ordering::Relaxed);
    Json(serde_json::json!({"generated": exchange.generated(), "done": done, "connections": connections}))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_exchange::FakeConfig;
    use axum::body::to_bytes;

    async fn get(exchange: &FakeExchange, query: &str, klines_endpoint: bool) -> (StatusCode, serde_json::Value) {
        let params: HashMap<String, String> =
            query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect();
        let response = if klines_endpoint {
            klines(State(exchange.clone()), Query(params)).await
        } else {
            agg_trades(State(exchange.clone()), Query(params)).await
        };
        let status = response.status();
        let body = to_bytes(response.into_body(), usize::MAX).await.expect("body");
        (status, serde_json::from_slice(&body).expect("json"))
    }

    #[tokio::test]
    async fn agg_trades_pages_by_id_and_rejects_bad_parameters() {
        let exchange = FakeExchange::new(FakeConfig::demo());
        exchange.push_trades(3_000);
        let first = exchange.trade_ids("BTCUSDT")[0];
        let (status, rows) = get(&exchange, &format!("symbol=btcusdt&fromId={}&limit=1000", first + 5), false).await;
        assert_eq!(status, StatusCode::OK);
        let rows = rows.as_array().expect("array");
        assert_eq!(rows.len(), 995);
        assert_eq!(rows[0]["a"], first + 5);
        assert!(rows[0]["p"].is_string() && rows[0]["T"].is_i64() && rows[0]["m"].is_boolean());
        let (_, default) = get(&exchange, "symbol=BTCUSDT", false).await;
        assert_eq!(default.as_array().map(Vec::len), Some(500));
        let cases = [
            ("symbol=NOPE", -1121),
            ("fromId=1", -1102),
            ("symbol=BTCUSDT&limit=1001", -1130),
            ("symbol=BTCUSDT&limit=0", -1130),
            ("symbol=BTCUSDT&fromId=abc", -1100),
            ("symbol=BTCUSDT&startTime=0&endTime=7200000", -1127),
        ];
        for (query, code) in cases {
            let (status, body) = get(&exchange, query, false).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(body["code"], code, "{query}");
        }
    }

    #[tokio::test]
    async fn klines_count_every_trade_once() {
        let exchange = FakeExchange::new(FakeConfig::demo());
        exchange.push_trades(900);
        let (status, rows) = get(&exchange, "symbol=ETHUSDT&interval=1m&limit=1500", true).await;
        assert_eq!(status, StatusCode::OK);
        let total: u64 = rows.as_array().expect("rows").iter().map(|r| r[8].as_u64().expect("count")).sum();
        assert_eq!(total, 300);
        let (status, body) = get(&exchange, "symbol=ETHUSDT&interval=7m", true).await;
        assert_eq!((status, body["code"].as_i64()), (StatusCode::BAD_REQUEST, Some(-1120)));
    }

    #[tokio::test]
    async fn rate_limit_fault_sends_retry_after() {
        let config = FakeConfig {
            faults: crate::fake_exchange::Faults { rest_429_prob: 1.0, retry_after_s: 2, ..Default::default() },
            ..FakeConfig::demo()
        };
        let exchange = FakeExchange::new(config);
        let response = agg_trades(State(exchange), Query(HashMap::new())).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("2"));
    }
}
