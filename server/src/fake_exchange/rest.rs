//! The fake exchange's REST API, answering from the same history the streams deliver:
//! `GET /fapi/v1/aggTrades` (klines: [`super::klines`]) with Binance's parameters, limits and
//! error bodies (`{"code":-1121,"msg":"Invalid symbol."}`), optional 429s with
//! `Retry-After`, and `GET /debug/ids?symbol=` / `GET /debug/stats` for tests.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;
use serde_json::{json, Value};

use super::history::TradeFilter;
use super::FakeExchange;
use crate::market::Trade;

/// Rows an aggTrades request returns without `limit`, and at most.
const AGG_TRADES_DEFAULT_LIMIT: usize = 500;
const AGG_TRADES_MAX_LIMIT: usize = 1_000;
/// Binance refuses aggTrades time windows longer than one hour.
const AGG_TRADES_MAX_WINDOW_MS: i64 = 3_600_000;

type Params = Query<HashMap<String, String>>;

/// A refused request: HTTP status and Binance error body.
pub(super) struct Reject(StatusCode, Value);

/// Binance's error body, `{"code":-1121,"msg":"Invalid symbol."}`. Like every body the fake
/// sends, written here field by field, never with the ingest's wire types: a typo cannot
/// be made once and pass on both ends.
fn error_body(code: i64, msg: impl Into<String>) -> Value {
    json!({"code": code, "msg": msg.into()})
}

/// One aggTrades row, `{"a":26129,"p":"0.01633102","q":"4.70443515","f":27781,"l":27781,
/// "T":1498793709153,"m":true}` (first/last trade ids are made up: three per aggregate).
fn agg_trade_row(trade: &Trade) -> Value {
    json!({
        "a": trade.agg_id,
        "p": format!("{}", trade.price),
        "q": format!("{}", trade.qty),
        "f": trade.agg_id * 3,
        "l": trade.agg_id * 3 + 2,
        "T": trade.t_ms,
        "m": trade.buyer_is_maker,
    })
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

pub(super) fn bad_request(code: i64, msg: impl Into<String>) -> Reject {
    Reject(StatusCode::BAD_REQUEST, error_body(code, msg))
}

/// The 429 fault, when it fires.
pub(super) fn rate_limited(exchange: &FakeExchange) -> Option<Response> {
    let faults = &exchange.config().faults;
    if faults.rest_429_prob <= 0.0 || rand::rng().random::<f64>() >= faults.rest_429_prob {
        return None;
    }
    let body = error_body(-1003, "Too many requests; current limit of IP(127.0.0.1) is 2400 requests per minute.");
    Some(
        (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, faults.retry_after_s.to_string())], Json(body))
            .into_response(),
    )
}

/// The upper-case symbol, or the Binance error for a missing/unknown one.
pub(super) fn symbol(exchange: &FakeExchange, params: &HashMap<String, String>) -> Result<String, Reject> {
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

/// A REST answer: the 429 fault when it fires, else `answer`'s JSON or its Binance error.
pub(super) fn respond<T: serde::Serialize>(
    exchange: &FakeExchange,
    answer: impl FnOnce() -> Result<T, Reject>,
) -> Response {
    if let Some(response) = rate_limited(exchange) {
        return response;
    }
    match answer() {
        Ok(body) => Json(body).into_response(),
        Err(reject) => reject.into_response(),
    }
}

/// `GET /fapi/v1/aggTrades?symbol=&fromId=&startTime=&endTime=&limit=`.
pub async fn agg_trades(State(exchange): State<FakeExchange>, Query(params): Params) -> Response {
    respond(&exchange, || agg_trades_rows(&exchange, &params))
}

fn agg_trades_rows(exchange: &FakeExchange, params: &HashMap<String, String>) -> Result<Vec<Value>, Reject> {
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
    Ok(exchange.history().query(&symbol, &filter).iter().map(agg_trade_row).collect())
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

    async fn get(exchange: &FakeExchange, query: &str) -> (StatusCode, serde_json::Value) {
        let params: HashMap<String, String> =
            query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect();
        let response = agg_trades(State(exchange.clone()), Query(params)).await;
        let status = response.status();
        let body = to_bytes(response.into_body(), usize::MAX).await.expect("body");
        (status, serde_json::from_slice(&body).expect("json"))
    }

    #[tokio::test]
    async fn agg_trades_pages_by_id_and_rejects_bad_parameters() {
        let exchange = FakeExchange::new(FakeConfig::demo());
        exchange.push_trades(3_000);
        let first = exchange.trade_ids("BTCUSDT")[0];
        let (status, rows) = get(&exchange, &format!("symbol=btcusdt&fromId={}&limit=1000", first + 5)).await;
        assert_eq!(status, StatusCode::OK);
        let rows = rows.as_array().expect("array");
        assert_eq!(rows.len(), 995);
        assert_eq!(rows[0]["a"], first + 5);
        assert!(rows[0]["p"].is_string() && rows[0]["T"].is_i64() && rows[0]["m"].is_boolean());
        let (_, default) = get(&exchange, "symbol=BTCUSDT").await;
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
            let (status, body) = get(&exchange, query).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(body["code"], code, "{query}");
        }
    }

    #[tokio::test]
    async fn the_ingests_wire_types_read_what_the_fake_writes() {
        use crate::ingest::binance_rest::{ApiError, RestAggTrade};
        let exchange = FakeExchange::new(FakeConfig::demo());
        exchange.push_trades(30);
        let (_, rows) = get(&exchange, "symbol=SOLUSDT&limit=10").await;
        let rows: Vec<RestAggTrade> = serde_json::from_value(rows).expect("the ingest's row type");
        let trades: Vec<_> = rows.into_iter().map(|r| r.into_trade("SOLUSDT").expect("valid")).collect();
        let truth = exchange.history().query("SOLUSDT", &TradeFilter { limit: 10, ..Default::default() });
        assert_eq!(trades, truth);
        let (_, body) = get(&exchange, "symbol=NOPEUSDT").await;
        let error: ApiError = serde_json::from_value(body).expect("the ingest's error type");
        assert_eq!(error, ApiError::new(-1121, "Invalid symbol."));
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
