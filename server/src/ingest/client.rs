//! The combined-stream connection to Binance: connect, read, validate, deduplicate,
//! close every gap from REST ([`super::backfill`]), reconnect with jittered exponential
//! back-off, add/remove symbols at runtime, and publish the connection state.
//!
//! Gapless by construction: the last forwarded aggregate id of every symbol is known
//! (loaded from the store at start). After every (re)connect each known symbol is caught
//! up from REST before the stream is read, and any id jump on the stream is filled from
//! REST before the jumping trade is forwarded. Ids at or below the last are duplicates.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use app::protocol::{FeedState, FeedStatus};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::backfill::{backfill, BackfillProgress, RestClient, RestError};
use super::binance::{parse_frame, Frame, FrameError};
use crate::market::Trade;
use crate::shutdown::Shutdown;

/// Binance closes every connection after 24 h; we leave a little earlier on our own terms.
const MAX_CONNECTION_AGE: Duration = Duration::from_secs(23 * 3600 + 30 * 60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection that delivers nothing for this long is treated as dead.
const READ_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Binance allows 10 incoming messages per second per connection; we send at most 4.
const CONTROL_SPACING: Duration = Duration::from_millis(250);

/// Where to connect and what to subscribe to.
#[derive(Clone, Debug)]
pub struct IngestConfig {
    /// Base URL, e.g. `wss://fstream.binance.com/market`; `/stream?streams=…` is appended.
    pub ws_base: String,
    /// REST base URL for backfills, e.g. `https://fapi.binance.com`.
    pub rest_base: String,
    /// Symbols, any case, e.g. `btcusdt`.
    pub symbols: Vec<String>,
}

/// The combined-stream URL of `symbols`' aggTrade streams.
pub fn stream_url(ws_base: &str, symbols: &[String]) -> String {
    let streams: Vec<String> = symbols.iter().map(|s| format!("{}@aggTrade", s.to_ascii_lowercase())).collect();
    format!("{}/stream?streams={}", ws_base.trim_end_matches('/'), streams.join("/"))
}

/// Runtime changes of the ingested symbols (sent as SUBSCRIBE/UNSUBSCRIBE on the live
/// connection, paced under Binance's limit, replies checked; kept across reconnects).
#[derive(Clone, Debug, PartialEq)]
// Sent by whoever offers symbol changes (the UI/API layer); until then only tests do.
#[cfg_attr(not(test), allow(dead_code))]
pub enum IngestCommand {
    Subscribe(Vec<String>),
    Unsubscribe(Vec<String>),
    /// The next trades of these (upper-case) symbols follow these ids, e.g. the last ones a
    /// cluster's stream holds, so a gap after them is backfilled. Not sent to the exchange;
    /// an id at or below the one already known changes nothing.
    ResumeAfter(Vec<(String, u64)>),
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
    /// Trades fetched from REST to close gaps.
    pub backfilled: AtomicU64,
    /// Id jumps seen on the stream.
    pub gaps: AtomicU64,
    /// SUBSCRIBE/UNSUBSCRIBE calls the exchange rejected.
    pub rejected_requests: AtomicU64,
}

/// Runs until shutdown: connects, forwards trades, backfills gaps, reconnects on failure.
/// `last_ids` are the last stored aggregate ids per upper-case symbol.
pub async fn run(
    config: IngestConfig,
    last_ids: HashMap<String, u64>,
    trades: mpsc::Sender<Trade>,
    status: watch::Sender<FeedStatus>,
    counters: Arc<IngestCounters>,
    mut commands: mpsc::Receiver<IngestCommand>,
    mut shutdown: Shutdown,
) {
    let rest = match RestClient::new(&config.rest_base) {
        Ok(rest) => rest,
        Err(err) => {
            status.send_replace(FeedStatus {
                state: FeedState::Down,
                last_error: Some(err.to_string()),
                progress: None,
                ..Default::default()
            });
            tracing::error!(%err, "cannot build the REST client; ingestion stops");
            return;
        }
    };
    let mut ingest = Ingest {
        ws_base: config.ws_base.clone(),
        rest,
        symbols: config.symbols.iter().map(|s| s.to_ascii_uppercase()).collect(),
        last_ids,
        trades,
        status,
        counters,
        next_request_id: 1,
    };
    let mut backoff = super::backoff::Backoff::new();
    loop {
        // Keep the last error visible while reconnecting; send_modify holds no read guard
        // across the write (a `borrow()` inside `send_replace` deadlocks).
        ingest.status.send_modify(|s| s.state = FeedState::Connecting);
        let outcome = tokio::select! {
            outcome = ingest.connection(&mut commands) => outcome,
            () = shutdown.wait() => return,
        };
        let error = match outcome {
            Ok(ConnectionEnd::Aged) => {
                tracing::info!("reconnecting before Binance's 24-hour cut");
                backoff.reset();
                continue;
            }
            Ok(ConnectionEnd::Consumer) => return,
            Ok(ConnectionEnd::Healthy(reason)) => {
                backoff.reset();
                reason
            }
            Err(reason) => reason,
        };
        ingest.counters.reconnects.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(ws = %ingest.ws_base, %error, "exchange connection lost");
        ingest.status.send_replace(FeedStatus {
            state: FeedState::Down,
            last_error: Some(error),
            progress: None,
            ..Default::default()
        });
        let jittered = backoff.next_wait();
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

/// What happened to one forwarded trade.
enum Forward {
    Sent,
    Consumer,
}

struct Ingest {
    ws_base: String,
    rest: RestClient,
    /// Upper-case symbols currently subscribed (the URL of the next connection).
    symbols: Vec<String>,
    /// Last forwarded aggregate id per upper-case symbol.
    last_ids: HashMap<String, u64>,
    trades: mpsc::Sender<Trade>,
    status: watch::Sender<FeedStatus>,
    counters: Arc<IngestCounters>,
    next_request_id: u64,
}

impl Ingest {
    async fn connection(&mut self, commands: &mut mpsc::Receiver<IngestCommand>) -> Result<ConnectionEnd, String> {
        crate::tls::install_crypto_provider();
        let url = stream_url(&self.ws_base, &self.symbols);
        let (mut socket, _) =
            tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async_with_config(&url, None, true))
                .await
                .map_err(|_| format!("connect timed out after {}s", CONNECT_TIMEOUT.as_secs()))?
                .map_err(|e| format!("cannot connect: {e}"))?;
        tracing::info!(%url, "connected to exchange");
        // Whatever happened while we were away: catch up every known symbol first. The
        // stream buffers meanwhile; what REST already delivered it repeats as duplicates.
        for symbol in self.symbols.clone() {
            if let Some(&last) = self.last_ids.get(&symbol) {
                match self.fill(&symbol, last + 1, None).await {
                    Ok(true) => {}
                    Ok(false) => return Ok(ConnectionEnd::Consumer),
                    Err(RestError::Api { code, msg }) => {
                        tracing::error!(%symbol, code, %msg, "exchange refuses to backfill this symbol")
                    }
                    Err(err) => return Err(format!("backfill of {symbol} failed: {err}")),
                }
            }
        }
        self.status.send_replace(FeedStatus {
            state: FeedState::Live,
            last_error: None,
            progress: None,
            ..Default::default()
        });
        let deadline = Instant::now() + MAX_CONNECTION_AGE;
        let mut known: HashSet<String> = self.symbols.iter().cloned().collect();
        let mut outbox: VecDeque<IngestCommand> = VecDeque::new();
        let mut pending: HashMap<u64, IngestCommand> = HashMap::new();
        let mut next_send = Instant::now();
        let mut commands_open = !commands.is_closed();
        loop {
            let next = tokio::select! {
                next = tokio::time::timeout(READ_IDLE_TIMEOUT, socket.next()) => next,
                () = tokio::time::sleep_until(deadline) => {
                    let _ = socket.close(None).await;
                    return Ok(ConnectionEnd::Aged);
                }
                command = commands.recv(), if commands_open && outbox.len() < 1_000 => {
                    match command {
                        Some(IngestCommand::ResumeAfter(ids)) => self.resume_after(ids),
                        Some(command) => outbox.push_back(command),
                        // The command sender is gone: keep ingesting the current symbols.
                        None => commands_open = false,
                    }
                    continue;
                }
                () = tokio::time::sleep_until(next_send), if !outbox.is_empty() => {
                    let Some(command) = outbox.pop_front() else { continue };
                    let (method, symbols) = match &command {
                        IngestCommand::Subscribe(s) => ("SUBSCRIBE", s),
                        IngestCommand::Unsubscribe(s) => ("UNSUBSCRIBE", s),
                        // Applied when received; never queued.
                        IngestCommand::ResumeAfter(_) => continue,
                    };
                    let id = self.next_request_id;
                    self.next_request_id += 1;
                    let upper: Vec<String> = symbols.iter().map(|s| s.to_ascii_uppercase()).collect();
                    let params: Vec<String> = upper.iter().map(|s| format!("{}@aggTrade", s.to_ascii_lowercase())).collect();
                    let call = serde_json::json!({"method": method, "params": params, "id": id});
                    socket.send(Message::Text(call.to_string().into())).await.map_err(|e| format!("send failed: {e}"))?;
                    next_send = Instant::now() + CONTROL_SPACING;
                    // Apply at once (trades may precede the reply); undone if rejected.
                    self.apply(&command, &mut known, true);
                    tracing::info!(id, method, ?upper, "sent");
                    pending.insert(id, command);
                    continue;
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
                    self.counters.malformed.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Message::Pong(_) | Message::Frame(_) => continue,
            };
            match parse_frame(&text) {
                Ok(Frame::Trade(trade)) => {
                    if !known.contains(&trade.symbol) {
                        self.counters.unknown_symbols.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(symbol = %trade.symbol, "trade for a symbol we did not subscribe to");
                        continue;
                    }
                    match self.accept(trade).await {
                        Ok(Forward::Sent) => {}
                        Ok(Forward::Consumer) => return Ok(ConnectionEnd::Consumer),
                        Err(err) => return Err(err),
                    }
                }
                Ok(Frame::Reply { id, ok }) => match pending.remove(&id) {
                    Some(command) if !ok => {
                        self.counters.rejected_requests.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(id, ?command, "exchange rejected the request; undone");
                        self.apply(&command, &mut known, false);
                    }
                    Some(_) => tracing::debug!(id, "request acknowledged"),
                    None => tracing::warn!(id, ok, "reply to a request we did not send"),
                },
                Err(err) => {
                    let counter = match err {
                        FrameError::Malformed(_) => &self.counters.malformed,
                        FrameError::UnknownEvent(_) => &self.counters.unknown_events,
                        FrameError::InvalidNumber { .. } | FrameError::Crossed { .. } | FrameError::Stale { .. } => {
                            &self.counters.invalid_values
                        }
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%err, "dropped frame");
                }
            }
        }
    }

    /// Sets where symbols continue ([`IngestCommand::ResumeAfter`]): never back.
    fn resume_after(&mut self, ids: Vec<(String, u64)>) {
        for (symbol, id) in ids {
            let last = self.last_ids.entry(symbol.to_ascii_uppercase()).or_insert(id);
            *last = (*last).max(id);
        }
    }

    /// Applies (`forward`) or undoes a subscription change to the symbol sets.
    fn apply(&mut self, command: &IngestCommand, known: &mut HashSet<String>, forward: bool) {
        let (symbols, add) = match command {
            IngestCommand::Subscribe(s) => (s, forward),
            IngestCommand::Unsubscribe(s) => (s, !forward),
            IngestCommand::ResumeAfter(_) => return,
        };
        for symbol in symbols.iter().map(|s| s.to_ascii_uppercase()) {
            if add {
                if known.insert(symbol.clone()) {
                    self.symbols.push(symbol);
                }
            } else {
                known.remove(&symbol);
                self.symbols.retain(|s| *s != symbol);
            }
        }
    }

    /// Deduplicates one stream trade, fills the gap before it if any, forwards it.
    async fn accept(&mut self, trade: Trade) -> Result<Forward, String> {
        let last = self.last_ids.get(&trade.symbol).copied();
        if let Some(last) = last {
            if trade.agg_id <= last {
                self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                return Ok(Forward::Sent);
            }
            if trade.agg_id > last + 1 {
                self.counters.gaps.fetch_add(1, Ordering::Relaxed);
                tracing::info!(symbol = %trade.symbol, from = last + 1, to = trade.agg_id - 1, "gap on the stream: backfilling");
                match self.fill(&trade.symbol, last + 1, Some(trade.agg_id - 1)).await {
                    Ok(true) => {}
                    Ok(false) => return Ok(Forward::Consumer),
                    Err(err) => return Err(format!("backfill of {} failed: {err}", trade.symbol)),
                }
                self.status.send_replace(FeedStatus {
                    state: FeedState::Live,
                    last_error: None,
                    progress: None,
                    ..Default::default()
                });
            }
        }
        self.last_ids.insert(trade.symbol.clone(), trade.agg_id);
        self.counters.trades.fetch_add(1, Ordering::Relaxed);
        if self.trades.send(trade).await.is_err() {
            return Ok(Forward::Consumer);
        }
        Ok(Forward::Sent)
    }

    /// Backfills `symbol` from `from_id` (to `until_id`, or to the newest trade) into the
    /// trade channel. `Ok(false)` when the consumer is gone.
    async fn fill(&mut self, symbol: &str, from_id: u64, until_id: Option<u64>) -> Result<bool, RestError> {
        self.status.send_replace(FeedStatus {
            state: FeedState::Backfilling,
            last_error: None,
            progress: None,
            ..Default::default()
        });
        let status = &self.status;
        let report = |p: &BackfillProgress| {
            tracing::info!(symbol = %p.symbol, fetched = p.fetched, expected = ?p.expected, "backfilling");
            status.send_replace(FeedStatus {
                state: FeedState::Backfilling,
                last_error: None,
                progress: Some(app::protocol::BackfillProgress {
                    symbol: p.symbol.clone(),
                    fetched: p.fetched,
                    expected: p.expected,
                }),
                ..Default::default()
            });
        };
        let mut sink = CountingSink { trades: &self.trades, counters: &self.counters, consumer_gone: false };
        let next = backfill(&self.rest, symbol, from_id, until_id, &mut sink, report).await?;
        if sink.consumer_gone {
            return Ok(false);
        }
        if next > from_id {
            let last = self.last_ids.entry(symbol.to_string()).or_insert(0);
            *last = (*last).max(next - 1);
        }
        Ok(true)
    }
}

/// Forwards backfilled trades and counts them.
struct CountingSink<'a> {
    trades: &'a mpsc::Sender<Trade>,
    counters: &'a IngestCounters,
    consumer_gone: bool,
}

impl super::backfill::AsyncSink for &mut CountingSink<'_> {
    async fn accept(&mut self, trades: Vec<Trade>) -> bool {
        let n = trades.len() as u64;
        for trade in trades {
            if self.trades.send(trade).await.is_err() {
                self.consumer_gone = true;
                return false;
            }
        }
        self.counters.backfilled.fetch_add(n, Ordering::Relaxed);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_exchange::{FakeConfig, FakeExchange, Faults};
    use crate::pipeline::{self, Outputs, PairPrices};
    use crate::store::Store;

    /// exchange (faults) → ingest → pipeline → sled, in one process; SOLUSDT is added at
    /// runtime with SUBSCRIBE. Every stored id sequence must equal the exchange's.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gapless_and_deduplicated_under_faults_with_a_runtime_subscription() {
        let total = 30_000;
        let faults = Faults {
            disconnect_after_trades: Some(2_000),
            garbage_prob: 0.01,
            duplicate_prob: 0.01,
            rest_429_prob: 0.05,
            retry_after_s: 0,
            ..Faults::default()
        };
        // 12k trades/s in all: ~2.5 s of trading, a forced disconnect every ~0.5 s.
        let config = FakeConfig { rate: 4_000.0, max_trades: Some(total), faults, ..FakeConfig::demo() };
        let exchange = FakeExchange::new(config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (trigger, shutdown) = crate::shutdown::channel();
        tokio::spawn(exchange.clone().serve(listener, shutdown.clone()));

        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let (trade_tx, trade_rx) = mpsc::channel(65_536);
        let (status_tx, _status_rx) = watch::channel(FeedStatus::default());
        let (command_tx, command_rx) = mpsc::channel(8);
        let counters = Arc::new(IngestCounters::default());
        let config = IngestConfig {
            ws_base: format!("ws://{addr}/market"),
            rest_base: format!("http://{addr}"),
            symbols: vec!["btcusdt".into(), "ethusdt".into()],
        };
        let ingest = tokio::spawn(run(
            config,
            HashMap::new(),
            trade_tx,
            status_tx,
            counters.clone(),
            command_rx,
            shutdown.clone(),
        ));
        let (prices, _) = watch::channel(PairPrices::default());
        let (bars, _) = tokio::sync::broadcast::channel(16);
        let outputs = Outputs { pair: ("BTCUSDT".into(), "ETHUSDT".into()), prices, bars };
        let pipeline = tokio::spawn(pipeline::run(trade_rx, store.clone(), outputs, shutdown.clone()));
        // Subscribe, drop and re-add SOL: the hole in between is a stream gap to backfill.
        for command in [
            IngestCommand::Subscribe(vec!["solusdt".into()]),
            IngestCommand::Unsubscribe(vec!["SOLUSDT".into()]),
            IngestCommand::Subscribe(vec!["solusdt".into()]),
        ] {
            command_tx.send(command).await.expect("command");
        }

        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
        loop {
            let done = exchange.generated() == total && {
                let stored = store.last_ids().expect("ids");
                symbols.iter().all(|s| stored.get(*s) == exchange.trade_ids(s).last())
            };
            if done {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "not caught up in 60 s: {counters:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        trigger.fire();
        let _ = ingest.await;
        let _ = pipeline.await;
        for symbol in symbols {
            let truth = exchange.trade_ids(symbol);
            let stored: Vec<u64> =
                store.ticks(symbol, i64::MIN, i64::MAX).expect("ticks").iter().map(|t| t.agg_id).collect();
            // SOL was subscribed late: its history starts at the first trade it received.
            let start = truth.iter().position(|id| Some(id) == stored.first()).expect("first stored id is real");
            assert_eq!(stored, truth[start..], "{symbol}");
            if symbol != "SOLUSDT" {
                assert_eq!(start, 0, "{symbol} misses its first trades");
            }
        }
        assert!(counters.reconnects.load(Ordering::Relaxed) >= 5, "{counters:?}");
        assert!(counters.malformed.load(Ordering::Relaxed) > 0, "{counters:?}");
        assert!(counters.backfilled.load(Ordering::Relaxed) > 0, "{counters:?}");
        assert!(counters.duplicates.load(Ordering::Relaxed) > 0, "{counters:?}");
    }

    #[test]
    fn stream_url_uses_the_routed_market_path_and_lower_case_streams() {
        assert_eq!(
            stream_url("wss://fstream.binance.com/market/", &["BTCUSDT".into(), "ethusdt".into()]),
            "wss://fstream.binance.com/market/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade"
        );
    }
}
