//! The combined-stream connection to Binance: connect, read, validate, deduplicate,
//! reconnect with jittered exponential back-off, and publish the connection state.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use app::protocol::{FeedState, FeedStatus};
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use super::binance::{parse_frame, Frame, FrameError};
use crate::market::Trade;
use crate::shutdown::Shutdown;

/// Binance closes every connection after 24 h; we leave a little earlier on our own terms.
const MAX_CONNECTION_AGE: Duration = Duration::from_secs(23 * 3600 + 30 * 60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection that delivers nothing for this long is treated as dead.
const READ_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Where to connect and what to subscribe to.
#[derive(Clone, Debug)]
pub struct IngestConfig {
    /// Base URL, e.g. `wss://fstream.binance.com/market`; `/stream?streams=…` is appended.
    pub ws_base: String,
    /// Lower-case symbols, e.g. `btcusdt`.
    pub symbols: Vec<String>,
}

impl IngestConfig {
    pub fn stream_url(&self) -> String {
        let streams: Vec<String> =
            self.symbols.iter().map(|s| format!("{}@aggTrade", s.to_ascii_lowercase())).collect();
        format!("{}/stream?streams={}", self.ws_base.trim_end_matches('/'), streams.join("/"))
    }
}

/// Counters of what was received, for logs, the UI and tests.
#[derive(Default, Debug)]
pub struct IngestCounters {
    pub trades: AtomicU64,
    pub duplicates: AtomicU64,
    pub malformed: AtomicU64,
    pub unknown_events: AtomicU64,
    pub invalid_values: AtomicU64,
    pub unknown_symbols: AtomicU64,
    pub reconnects: AtomicU64,
}

/// Runs until shutdown: connects, forwards trades, reconnects on any failure.
pub async fn run(
    config: IngestConfig,
    trades: mpsc::Sender<Trade>,
    status: watch::Sender<FeedStatus>,
    counters: Arc<IngestCounters>,
    mut shutdown: Shutdown,
) {
    let url = config.stream_url();
    let known: Vec<String> = config.symbols.iter().map(|s| s.to_ascii_uppercase()).collect();
    let mut last_ids: HashMap<String, u64> = HashMap::new();
    let mut backoff = BACKOFF_MIN;
    loop {
        // Keep the last error visible while reconnecting; send_modify holds no read guard
        // across the write (a `borrow()` inside `send_replace` deadlocks).
        status.send_modify(|s| s.state = FeedState::Connecting);
        let outcome = tokio::select! {
            outcome = connection(&url, &known, &mut last_ids, &trades, &status, &counters) => outcome,
            () = shutdown.wait() => return,
        };
        let error = match outcome {
            Ok(ConnectionEnd::Aged) => {
                tracing::info!("reconnecting before Binance's 24-hour cut");
                backoff = BACKOFF_MIN;
                continue;
            }
            Ok(ConnectionEnd::Consumer) => return,
            Ok(ConnectionEnd::Healthy(reason)) => {
                backoff = BACKOFF_MIN;
                reason
            }
            Err(reason) => reason,
        };
        counters.reconnects.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%url, %error, "exchange connection lost");
        status.send_replace(FeedStatus { state: FeedState::Down, last_error: Some(error) });
        let jittered = backoff.mul_f64(rand::rng().random_range(0.5..1.0));
        backoff = (backoff * 2).min(BACKOFF_MAX);
        tokio::select! {
            () = tokio::time::sleep(jittered) => {},
            () = shutdown.wait() => return,
        }
    }
}

enum ConnectionEnd {
    /// Closed deliberately before the 24-hour limit.
    Aged,
    /// The trade consumer is gone: the server is stopping.
    Consumer,
    /// The connection had been live and then ended; the string says why.
    Healthy(String),
}

async fn connection(
    url: &str,
    known: &[String],
    last_ids: &mut HashMap<String, u64>,
    trades: &mpsc::Sender<Trade>,
    status: &watch::Sender<FeedStatus>,
    counters: &IngestCounters,
) -> Result<ConnectionEnd, String> {
    let (mut socket, _) = tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(url))
        .await
        .map_err(|_| format!("connect timed out after {}s", CONNECT_TIMEOUT.as_secs()))?
        .map_err(|e| format!("cannot connect: {e}"))?;
    tracing::info!(%url, "connected to exchange");
    status.send_replace(FeedStatus { state: FeedState::Live, last_error: None });
    let deadline = tokio::time::Instant::now() + MAX_CONNECTION_AGE;
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout(READ_IDLE_TIMEOUT, socket.next()) => next,
            () = tokio::time::sleep_until(deadline) => {
                let _ = socket.close(None).await;
                return Ok(ConnectionEnd::Aged);
            }
        };
        let message = match next {
            Err(_) => return Ok(ConnectionEnd::Healthy(format!("no data for {}s", READ_IDLE_TIMEOUT.as_secs()))),
            Ok(None) => return Ok(ConnectionEnd::Healthy("connection closed by exchange".into())),
            Ok(Some(Err(e))) => return Ok(ConnectionEnd::Healthy(format!("read error: {e}"))),
            Ok(Some(Ok(message))) => message,
        };
        let text = match message {
            Message::Text(text) => text,
            Message::Ping(payload) => {
                socket.send(Message::Pong(payload)).await.map_err(|e| format!("pong failed: {e}"))?;
                continue;
            }
            Message::Close(frame) => {
                let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                return Ok(ConnectionEnd::Healthy(format!("closed by exchange {reason}")));
            }
            Message::Binary(_) => {
                counters.malformed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Message::Pong(_) | Message::Frame(_) => continue,
        };
        match parse_frame(&text) {
            Ok(Frame::Trade(trade)) => {
                if !known.contains(&trade.symbol) {
                    counters.unknown_symbols.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(symbol = %trade.symbol, "trade for a symbol we did not subscribe to");
                    continue;
                }
                let last = last_ids.entry(trade.symbol.clone()).or_insert(0);
                if trade.agg_id <= *last && *last != 0 {
                    counters.duplicates.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                *last = trade.agg_id;
                counters.trades.fetch_add(1, Ordering::Relaxed);
                if trades.send(trade).await.is_err() {
                    return Ok(ConnectionEnd::Consumer);
                }
            }
            Ok(Frame::Reply { id, ok }) => {
                if !ok {
                    tracing::warn!(id, "exchange rejected a request");
                }
            }
            Err(err) => {
                let counter = match err {
                    FrameError::Malformed(_) => &counters.malformed,
                    FrameError::UnknownEvent(_) => &counters.unknown_events,
                    FrameError::InvalidNumber { .. } => &counters.invalid_values,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%err, "dropped frame");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_url_uses_the_routed_market_path_and_lower_case_streams() {
        let config = IngestConfig {
            ws_base: "wss://fstream.binance.com/market/".into(),
            symbols: vec!["BTCUSDT".into(), "ethusdt".into()],
        };
        assert_eq!(
            config.stream_url(),
            "wss://fstream.binance.com/market/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade"
        );
    }
}
