//! A "side" stream connection: the best bid/ask (`@bookTicker` on `/public`) and the mark
//! price (`@markPrice@1s` on `/market`) each run on a connection of their own, with their
//! own reconnect, jittered back-off and status, so a dead `/public` never stops the trade
//! connection ([`super::client`]) and a fault there never stalls the gapless trade path.
//!
//! Unlike trades these streams cannot be backfilled, so there is nothing to catch up: the
//! connection reports [`SideEvent::Connected`] / [`SideEvent::Disconnected`] and the
//! consumer marks the hole (book bars get `book_gap`; funding is re-fetched from REST).
//! Updates older than the last one of their symbol (`u` of a bookTicker, `E` of a mark
//! price) are stale and dropped; the ingested symbol set is followed at runtime with
//! SUBSCRIBE/UNSUBSCRIBE on the open connection.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use app::protocol::{FeedState, FeedStatus};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use super::binance::FrameError;
use crate::shutdown::Shutdown;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Book tickers arrive many times a second and mark prices every second: 30 s of silence
/// is a dead connection.
const READ_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Binance closes every connection after 24 h; leave a little earlier on our own terms.
const MAX_CONNECTION_AGE: Duration = Duration::from_secs(23 * 3600 + 30 * 60);

/// One parsed text frame of a side stream.
#[derive(Debug, PartialEq)]
pub enum SideFrame<T> {
    Event(T),
    /// A reply to one of our SUBSCRIBE/UNSUBSCRIBE calls.
    Reply {
        id: u64,
        ok: bool,
    },
}

/// The slow path of every side-stream parser: a reply, or the `data` of the expected event.
pub(crate) enum Classified<'a> {
    Reply { id: u64, ok: bool },
    Event(&'a serde_json::Value),
}

/// The slow path's first step: the frame as a JSON document (garbage is malformed).
pub(crate) fn parse_document(text: &str) -> Result<serde_json::Value, FrameError> {
    serde_json::from_str(text).map_err(|e| FrameError::Malformed(e.to_string()))
}

/// Classifies a frame that did not parse on the fast path.
pub(crate) fn classify<'a>(value: &'a serde_json::Value, event: &str) -> Result<Classified<'a>, FrameError> {
    if let Some(id) = value.get("id").and_then(serde_json::Value::as_u64) {
        let ok = value.get("error").is_none() && value.get("result").is_some_and(serde_json::Value::is_null);
        return Ok(Classified::Reply { id, ok });
    }
    let data = value.get("data").unwrap_or(value);
    match data.get("e").and_then(serde_json::Value::as_str) {
        Some(e) if e == event => Ok(Classified::Event(data)),
        Some(other) => Err(FrameError::UnknownEvent(other.to_string())),
        None => Err(FrameError::Malformed("no event type".into())),
    }
}

/// What a side stream carries and how to read it.
pub trait SideStream: Send + Sync + 'static {
    type Event: Send + 'static;
    /// Shown in logs and the status bar: `book`, `mark`.
    const NAME: &'static str;
    /// The stream of one lower-case symbol, e.g. `btcusdt@bookTicker`.
    fn stream(symbol_lower: &str) -> String;
    fn parse(text: &str) -> Result<SideFrame<Self::Event>, FrameError>;
    fn symbol(event: &Self::Event) -> &str;
    /// Increasing per symbol; an update whose key is not above the last one is stale.
    fn order_key(event: &Self::Event) -> u64;
}

/// What the consumer of a side stream receives.
#[derive(Debug, PartialEq)]
pub enum SideEvent<T> {
    /// The connection is (again) open and subscribed: whatever came before was not seen.
    Connected,
    Event(T),
    /// The connection was lost: nothing is known until the next `Connected`.
    Disconnected,
}

/// Counters of one side stream, for logs, `/api/health` and tests.
#[derive(Default, Debug)]
pub struct SideCounters {
    pub events: AtomicU64,
    pub malformed: AtomicU64,
    pub unknown_events: AtomicU64,
    pub invalid_values: AtomicU64,
    pub crossed: AtomicU64,
    pub stale: AtomicU64,
    pub unknown_symbols: AtomicU64,
    pub reconnects: AtomicU64,
    pub rejected_requests: AtomicU64,
}

impl SideCounters {
    fn count(&self, err: &FrameError) {
        let counter = match err {
            FrameError::Malformed(_) => &self.malformed,
            FrameError::UnknownEvent(_) => &self.unknown_events,
            FrameError::InvalidNumber { .. } => &self.invalid_values,
            FrameError::Crossed { .. } => &self.crossed,
            FrameError::Stale { .. } => &self.stale,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The combined-stream URL of `symbols` on `ws_base` (e.g. `wss://fstream.binance.com/public`).
pub fn side_stream_url<S: SideStream>(ws_base: &str, symbols: &[String]) -> String {
    let streams: Vec<String> = symbols.iter().map(|s| S::stream(&s.to_ascii_lowercase())).collect();
    format!("{}/stream?streams={}", ws_base.trim_end_matches('/'), streams.join("/"))
}

/// Runs until shutdown or until `events`' receiver is gone.
pub async fn run<S: SideStream>(
    ws_base: String,
    mut symbols: watch::Receiver<Vec<String>>,
    events: mpsc::Sender<SideEvent<S::Event>>,
    status: watch::Sender<FeedStatus>,
    counters: Arc<SideCounters>,
    mut shutdown: Shutdown,
) {
    let mut last_keys: HashMap<String, u64> = HashMap::new();
    let mut backoff = super::backoff::Backoff::new();
    loop {
        status.send_modify(|s| s.state = FeedState::Connecting);
        let outcome = tokio::select! {
            outcome = connection::<S>(&ws_base, &mut symbols, &events, &status, &counters, &mut last_keys) => outcome,
            () = shutdown.wait() => return,
        };
        if events.send(SideEvent::Disconnected).await.is_err() {
            return;
        }
        let error = match outcome {
            Outcome::ConsumerGone => return,
            Outcome::Aged => {
                backoff.reset();
                continue;
            }
            Outcome::WasLive(reason) => {
                backoff.reset();
                reason
            }
            Outcome::Failed(reason) => reason,
        };
        counters.reconnects.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(stream = S::NAME, ws = %ws_base, %error, "side stream lost");
        status.send_replace(FeedStatus { state: FeedState::Down, last_error: Some(error), ..FeedStatus::default() });
        let jittered = backoff.next_wait();
        tokio::select! {
            () = tokio::time::sleep(jittered) => {},
            () = shutdown.wait() => return,
        }
    }
}

enum Outcome {
    ConsumerGone,
    Aged,
    /// Had been live, then ended (why).
    WasLive(String),
    /// Never got live (why).
    Failed(String),
}

async fn connection<S: SideStream>(
    ws_base: &str,
    symbols: &mut watch::Receiver<Vec<String>>,
    events: &mpsc::Sender<SideEvent<S::Event>>,
    status: &watch::Sender<FeedStatus>,
    counters: &SideCounters,
    last_keys: &mut HashMap<String, u64>,
) -> Outcome {
    crate::tls::install_crypto_provider();
    let mut subscribed: HashSet<String> = symbols.borrow_and_update().iter().map(|s| s.to_ascii_uppercase()).collect();
    let list: Vec<String> = subscribed.iter().cloned().collect();
    let url = side_stream_url::<S>(ws_base, &list);
    let connect = tokio_tungstenite::connect_async_with_config(&url, None, true);
    let mut socket = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Err(_) => return Outcome::Failed(format!("connect timed out after {}s", CONNECT_TIMEOUT.as_secs())),
        Ok(Err(e)) => return Outcome::Failed(format!("cannot connect: {e}")),
        Ok(Ok((socket, _))) => socket,
    };
    tracing::info!(stream = S::NAME, %url, "side stream connected");
    if events.send(SideEvent::Connected).await.is_err() {
        return Outcome::ConsumerGone;
    }
    status.send_replace(FeedStatus { state: FeedState::Live, ..FeedStatus::default() });
    let deadline = tokio::time::Instant::now() + MAX_CONNECTION_AGE;
    let mut next_id = 1u64;
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout(READ_IDLE_TIMEOUT, socket.next()) => next,
            () = tokio::time::sleep_until(deadline) => {
                let _ = socket.close(None).await;
                return Outcome::Aged;
            }
            changed = symbols.changed() => {
                if changed.is_err() {
                    return Outcome::ConsumerGone;
                }
                let wanted: HashSet<String> = symbols.borrow_and_update().iter().map(|s| s.to_ascii_uppercase()).collect();
                let added: Vec<String> = wanted.difference(&subscribed).cloned().collect();
                let removed: Vec<String> = subscribed.difference(&wanted).cloned().collect();
                for (method, list) in [("SUBSCRIBE", &added), ("UNSUBSCRIBE", &removed)] {
                    if list.is_empty() {
                        continue;
                    }
                    let params: Vec<String> = list.iter().map(|s| S::stream(&s.to_ascii_lowercase())).collect();
                    let call = serde_json::json!({"method": method, "params": params, "id": next_id});
                    next_id += 1;
                    if let Err(e) = socket.send(Message::Text(call.to_string().into())).await {
                        return Outcome::WasLive(format!("send failed: {e}"));
                    }
                    tracing::info!(stream = S::NAME, method, ?list, "sent");
                }
                subscribed = wanted;
                continue;
            }
        };
        let message = match next {
            Err(_) => return Outcome::WasLive(format!("no data for {}s", READ_IDLE_TIMEOUT.as_secs())),
            Ok(None) => return Outcome::WasLive("connection closed by exchange".into()),
            Ok(Some(Err(e))) => return Outcome::WasLive(format!("read error: {e}")),
            Ok(Some(Ok(message))) => message,
        };
        let text = match message {
            Message::Text(text) => text,
            Message::Ping(payload) => {
                if let Err(e) = socket.send(Message::Pong(payload)).await {
                    return Outcome::WasLive(format!("pong failed: {e}"));
                }
                continue;
            }
            Message::Close(frame) => {
                let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                return Outcome::WasLive(format!("closed by exchange {reason}"));
            }
            Message::Binary(_) => {
                counters.malformed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Message::Pong(_) | Message::Frame(_) => continue,
        };
        match S::parse(&text) {
            Ok(SideFrame::Event(event)) => {
                let symbol = S::symbol(&event);
                if !subscribed.contains(symbol) {
                    counters.unknown_symbols.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let key = S::order_key(&event);
                match last_keys.get_mut(symbol) {
                    Some(have) if key <= *have => {
                        counters.count(&FrameError::Stale { got: key, have: *have });
                        continue;
                    }
                    Some(have) => *have = key,
                    None => {
                        last_keys.insert(symbol.to_string(), key);
                    }
                }
                counters.events.fetch_add(1, Ordering::Relaxed);
                if events.send(SideEvent::Event(event)).await.is_err() {
                    return Outcome::ConsumerGone;
                }
            }
            Ok(SideFrame::Reply { id, ok }) => {
                if !ok {
                    counters.rejected_requests.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(stream = S::NAME, id, "exchange rejected a side-stream request");
                }
            }
            Err(err) => {
                counters.count(&err);
                tracing::debug!(stream = S::NAME, %err, "dropped frame");
            }
        }
    }
}

/// `<symbol>@bookTicker` on `/public`.
pub struct BookTicker;

impl SideStream for BookTicker {
    type Event = crate::market::Quote;
    const NAME: &'static str = "book";
    fn stream(symbol_lower: &str) -> String {
        format!("{symbol_lower}@bookTicker")
    }
    fn parse(text: &str) -> Result<SideFrame<Self::Event>, FrameError> {
        super::binance_book::parse_book_frame(text)
    }
    fn symbol(event: &Self::Event) -> &str {
        &event.symbol
    }
    fn order_key(event: &Self::Event) -> u64 {
        event.update_id
    }
}

/// `<symbol>@markPrice@1s` on `/market`.
pub struct MarkPriceStream;

impl SideStream for MarkPriceStream {
    type Event = crate::market::MarkPrice;
    const NAME: &'static str = "mark";
    fn stream(symbol_lower: &str) -> String {
        format!("{symbol_lower}@markPrice@1s")
    }
    fn parse(text: &str) -> Result<SideFrame<Self::Event>, FrameError> {
        super::binance_funding::parse_mark_frame(text)
    }
    fn symbol(event: &Self::Event) -> &str {
        &event.symbol
    }
    fn order_key(event: &Self::Event) -> u64 {
        u64::try_from(event.t_ms).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_use_the_routed_paths_and_lower_case_streams() {
        assert_eq!(
            side_stream_url::<BookTicker>("wss://fstream.binance.com/public/", &["BTCUSDT".into(), "ethusdt".into()]),
            "wss://fstream.binance.com/public/stream?streams=btcusdt@bookTicker/ethusdt@bookTicker"
        );
        assert_eq!(
            side_stream_url::<MarkPriceStream>("wss://fstream.binance.com/market", &["BTCUSDT".into()]),
            "wss://fstream.binance.com/market/stream?streams=btcusdt@markPrice@1s"
        );
    }
}
