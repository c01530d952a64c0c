//! Closing gaps from REST: pages `GET /fapi/v1/aggTrades?symbol=&fromId=&limit=1000` from
//! the first missing aggregate id until the gap is closed (or the exchange has nothing
//! newer), honouring `429 Too Many Requests` / `418 I'm a teapot` and their `Retry-After`.
//!
//! Aggregate ids are consecutive per symbol, so "what is missing" is always one id range
//! and paging by `fromId` walks it exactly once.

use std::time::Duration;

use super::binance_rest::{ApiError, RestAggTrade, AGG_TRADES_MAX_LIMIT};
use crate::market::Trade;

/// Wait when a 429/418 carries no usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Never sleep longer than this on one `Retry-After` (418 bans can be long; we retry).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// Transport or server errors tolerated in a row before the backfill gives up.
const MAX_CONSECUTIVE_ERRORS: u32 = 5;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Why one REST request failed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RestError {
    /// 429 or 418: wait this long, then retry.
    #[error("rate limited (HTTP {status}), retry after {retry_after:?}")]
    RateLimited { status: u16, retry_after: Duration },
    /// The exchange refused the request (e.g. `-1121 Invalid symbol.`): retrying won't help.
    #[error("exchange error {code}: {msg}")]
    Api { code: i64, msg: String },
    #[error("HTTP request failed: {0}")]
    Transport(String),
    #[error("unexpected answer: {0}")]
    Decode(String),
}

/// The REST side of the exchange. Cheap to clone.
#[derive(Clone, Debug)]
pub struct RestClient {
    http: reqwest::Client,
    base: String,
}

impl RestClient {
    /// `base` is e.g. `https://fapi.binance.com` (or the fake exchange's `http://127.0.0.1:port`).
    pub fn new(base: &str) -> Result<Self, RestError> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("pairdesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RestError::Transport(e.to_string()))?;
        Ok(Self { http, base: base.trim_end_matches('/').to_string() })
    }

    /// One page of aggregate trades of `symbol` with ids from `from_id` on.
    pub async fn agg_trades(&self, symbol: &str, from_id: u64, limit: usize) -> Result<Vec<Trade>, RestError> {
        let symbol = symbol.to_ascii_uppercase();
        let query = [("symbol", symbol.clone()), ("fromId", from_id.to_string()), ("limit", limit.to_string())];
        let rows: Vec<RestAggTrade> = self.get_json("/fapi/v1/aggTrades", &query).await?;
        rows.into_iter().map(|row| row.into_trade(&symbol).map_err(|e| RestError::Decode(e.to_string()))).collect()
    }

    /// One `GET {base}{path}?{query}` decoded as JSON: 429/418 become
    /// [`RestError::RateLimited`] with their `Retry-After`, other non-2xx answers the
    /// exchange's error body ([`RestError::Api`]) when it sent one.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, RestError> {
        let url = format!("{}{path}", self.base);
        let response =
            self.http.get(&url).query(query).send().await.map_err(|e| RestError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        if status == 429 || status == 418 {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after)
                .unwrap_or(DEFAULT_RETRY_AFTER);
            return Err(RestError::RateLimited { status, retry_after });
        }
        let body = response.bytes().await.map_err(|e| RestError::Transport(e.to_string()))?;
        if !(200..300).contains(&status) {
            return Err(match serde_json::from_slice::<ApiError>(&body) {
                Ok(api) => RestError::Api { code: api.code, msg: api.msg },
                Err(_) => RestError::Transport(format!("HTTP {status}")),
            });
        }
        serde_json::from_slice(&body).map_err(|e| RestError::Decode(e.to_string()))
    }
}

/// Runs one REST request until it succeeds: rate limits (429/418) are waited out for as
/// long as they last, transport and server errors retried [`MAX_CONSECUTIVE_ERRORS`] times
/// with a growing pause, exchange refusals ([`RestError::Api`]) returned at once.
pub async fn retrying<T, F, Fut>(what: &str, mut request: F) -> Result<T, RestError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, RestError>>,
{
    let mut errors = 0;
    loop {
        match request().await {
            Ok(value) => return Ok(value),
            Err(RestError::RateLimited { status, retry_after }) => {
                tracing::warn!(what, status, ?retry_after, "REST rate limited; waiting");
                tokio::time::sleep(retry_after).await;
            }
            Err(err @ RestError::Api { .. }) => return Err(err),
            Err(err) => {
                errors += 1;
                if errors >= MAX_CONSECUTIVE_ERRORS {
                    return Err(err);
                }
                tracing::warn!(what, %err, "REST request failed; retrying");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(errors))).await;
            }
        }
    }
}

/// `Retry-After` in whole seconds (the form Binance sends), capped.
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER))
}

/// Where a backfill stands, for logs and the UI.
#[derive(Clone, Debug, PartialEq)]
pub struct BackfillProgress {
    pub symbol: String,
    /// Trades fetched so far in this backfill.
    pub fetched: u64,
    /// Trades known to be missing when it started (`None` when catching up to "now").
    pub expected: Option<u64>,
}

/// Fetches every trade of `symbol` from `from_id` up to `until_id` (inclusive; `None` = as
/// far as the exchange has), handing each page in id order to `sink`. Returns the next id
/// to expect. Rate limits are waited out; other errors are retried a few times, then
/// returned (the caller reconnects and tries again: nothing is skipped).
///
/// `sink` returns `false` to stop (the consumer is gone).
pub async fn backfill<S, P>(
    client: &RestClient,
    symbol: &str,
    from_id: u64,
    until_id: Option<u64>,
    mut sink: S,
    mut progress: P,
) -> Result<u64, RestError>
where
    S: AsyncSink,
    P: FnMut(&BackfillProgress),
{
    let mut next = from_id;
    let mut state = BackfillProgress {
        symbol: symbol.to_string(),
        fetched: 0,
        expected: until_id.map(|end| (end + 1).saturating_sub(from_id)),
    };
    loop {
        if until_id.is_some_and(|end| next > end) {
            return Ok(next);
        }
        let page = retrying(symbol, || client.agg_trades(symbol, next, AGG_TRADES_MAX_LIMIT)).await?;
        let full = page.len() >= AGG_TRADES_MAX_LIMIT;
        let mut fresh = Vec::with_capacity(page.len());
        for trade in page {
            if trade.agg_id < next || until_id.is_some_and(|end| trade.agg_id > end) {
                continue;
            }
            if trade.agg_id > next {
                // The exchange itself has no trades in between (beyond its history):
                // nothing more can be done than to say so.
                tracing::warn!(symbol, from = next, to = trade.agg_id - 1, "exchange has no trades for these ids");
            }
            next = trade.agg_id + 1;
            fresh.push(trade);
        }
        if fresh.is_empty() {
            return Ok(next);
        }
        state.fetched += fresh.len() as u64;
        if !sink.accept(fresh).await {
            return Ok(next);
        }
        progress(&state);
        if !full {
            return Ok(next);
        }
    }
}

/// Where backfilled pages go (an async callback without boxing).
pub trait AsyncSink {
    /// Takes one page; `false` means stop.
    fn accept(&mut self, trades: Vec<Trade>) -> impl std::future::Future<Output = bool> + Send;
}

impl AsyncSink for &tokio::sync::mpsc::Sender<Trade> {
    async fn accept(&mut self, trades: Vec<Trade>) -> bool {
        for trade in trades {
            if self.send(trade).await.is_err() {
                return false;
            }
        }
        true
    }
}

impl AsyncSink for &mut Vec<Trade> {
    async fn accept(&mut self, trades: Vec<Trade>) -> bool {
        self.extend(trades);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_exchange::{FakeConfig, FakeExchange, Faults};

    async fn exchange(faults: Faults) -> (FakeExchange, String, crate::shutdown::Trigger) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let exchange = FakeExchange::new(FakeConfig { faults, ..FakeConfig::demo() });
        let (trigger, shutdown) = crate::shutdown::channel();
        tokio::spawn(exchange.clone().serve(listener, shutdown));
        (exchange, format!("http://{addr}"), trigger)
    }

    #[test]
    fn retry_after_is_whole_seconds_and_capped() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 100000 "), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[tokio::test]
    async fn pages_through_a_range_exactly_once() {
        let (exchange, base, _stop) = exchange(Faults::default()).await;
        exchange.push_trades(7_500);
        let truth = exchange.trade_ids("BTCUSDT");
        assert_eq!(truth.len(), 2_500);
        let client = RestClient::new(&base).expect("client");
        let mut got = Vec::new();
        let mut pages = 0;
        let next = backfill(&client, "btcusdt", truth[10], Some(truth[2_100]), &mut got, |_| pages += 1)
            .await
            .expect("backfill");
        let ids: Vec<u64> = got.iter().map(|t| t.agg_id).collect();
        assert_eq!(ids, truth[10..=2_100].to_vec());
        assert_eq!(next, truth[2_100] + 1);
        assert_eq!(pages, 3);
        // Open-ended: to the newest trade, then stop on a short page.
        let mut rest = Vec::new();
        let next = backfill(&client, "BTCUSDT", truth[2_000], None, &mut rest, |_| {}).await.expect("backfill");
        assert_eq!(rest.len(), 500);
        assert_eq!(next, truth[2_499] + 1);
    }

    #[tokio::test]
    async fn waits_out_429s_and_still_gets_everything() {
        let faults = Faults { rest_429_prob: 0.5, retry_after_s: 0, ..Faults::default() };
        let (exchange, base, _stop) = exchange(faults).await;
        exchange.push_trades(9_000);
        let truth = exchange.trade_ids("ETHUSDT");
        let client = RestClient::new(&base).expect("client");
        let mut limited = 0;
        for _ in 0..20 {
            if matches!(client.agg_trades("ETHUSDT", truth[0], 10).await, Err(RestError::RateLimited { .. })) {
                limited += 1;
            }
        }
        assert!(limited > 0, "the fault never fired");
        let mut got = Vec::new();
        backfill(&client, "ETHUSDT", truth[0], None, &mut got, |_| {}).await.expect("backfill");
        assert_eq!(got.iter().map(|t| t.agg_id).collect::<Vec<_>>(), truth);
    }

    #[tokio::test]
    async fn an_unknown_symbol_is_an_api_error_not_a_retry_loop() {
        let (_exchange, base, _stop) = exchange(Faults::default()).await;
        let client = RestClient::new(&base).expect("client");
        let err = backfill(&client, "NOPEUSDT", 1, None, &mut Vec::new(), |_| {}).await;
        assert_eq!(err, Err(RestError::Api { code: -1121, msg: "Invalid symbol.".into() }));
    }
}
