//! `pairdesk serve --nats URL`: trades from the stream into the server's usual pipeline
//! channel, instead of an exchange connection. One ephemeral ordered consumer per server on
//! `pairdesk.trades.>`; it starts where the local sled stopped:
//!
//! * every stream symbol already stored here → by time, [`START_MARGIN`] before the oldest
//!   of the symbols' last stored trades (a trade is published after it happened, so nothing
//!   newer than the stored one lies before);
//! * otherwise (a fresh data dir, or a symbol not stored yet) → the whole stream.
//!
//! Whatever was stored already is dropped here by id (and again by the pipeline). Trades of
//! a symbol reach the pipeline in id order: one that arrives ahead of a missing id (a resend
//! after a NATS fault can land after newer ones) is held until the gap fills, or at most
//! [`HOLD`], then forwarded with the gap counted.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::protocol::{FeedState, FeedStatus};
use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::stream::Stream;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};

use super::{wire, ClusterError, TRADE_SUBJECTS, TRADE_SUBJECT_PREFIX};
use crate::market::Trade;
use crate::shutdown::Shutdown;
use crate::store::Store;

/// How far before the last stored trade a restart starts reading (clock skew, late publishes).
pub const START_MARGIN: Duration = Duration::from_secs(120);
/// Longest a trade waits for a missing earlier id before it is forwarded anyway. A trade lost
/// in a NATS restart while later ones, buffered by the client, reached the new server is sent
/// again only after its acknowledgement timed out (the client's 5 s) and the ingest's retry
/// pause: the hold must outlast that with room for a loaded machine, or the late trade is
/// dropped as already passed (seen at 5 s under the cluster tests running side by side).
pub const HOLD: Duration = Duration::from_secs(20);
/// How long the first trades of a symbol not stored here are held before the smallest id
/// seen is taken as its start: redundant ingests publish concurrently, so the stream may hold
/// one's later trade before the other's earlier ones (seen: the first 9 ids of a symbol lost
/// when the second ingest's first trade landed first).
pub const START_HOLD: Duration = Duration::from_secs(2);
/// Most trades held per symbol while waiting for a missing id (20 s of a busy symbol).
const MAX_HELD: usize = 200_000;

/// What the consumer saw, for logs, `/api/health` and tests.
#[derive(Default, Debug)]
pub struct ConsumeCounters {
    pub trades: AtomicU64,
    /// Already stored or already forwarded.
    pub duplicates: AtomicU64,
    /// Messages on the trade subjects that are not trades (counted and skipped).
    pub malformed: AtomicU64,
    /// Ids forwarded past a gap that did not fill within [`HOLD`].
    pub gaps: AtomicU64,
    /// Consumer (re)creations after an error.
    pub restarts: AtomicU64,
    /// Stream sequence of the last message received.
    pub last_sequence: AtomicU64,
    /// Last aggregate id (and its trade time, once one came from the stream) handed to the
    /// pipeline, per symbol: `/api/health` compares it with the stream's last.
    pub forwarded: Mutex<HashMap<String, (u64, Option<i64>)>>,
}

impl ConsumeCounters {
    fn forwarded(&self, trade: &Trade) {
        if let Ok(mut last) = self.forwarded.lock() {
            let now = (trade.agg_id, Some(trade.t_ms));
            match last.get_mut(&trade.symbol) {
                Some(held) => *held = now,
                None => {
                    last.insert(trade.symbol.clone(), now);
                }
            }
        }
    }
}

/// What `/api/health` shows of a `serve --nats`: the connection, how far the consumer is
/// behind the stream (in all and per symbol), the counters, the shared-state buckets, the
/// alert stream and the ingest processes heard from recently.
#[derive(Clone)]
pub struct ClusterHealth {
    pub url: String,
    pub client: async_nats::Client,
    pub stream: Stream,
    pub counters: Arc<ConsumeCounters>,
    pub buckets: Vec<super::bucket::Bucket>,
    pub alerts: Arc<super::alert_events::AlertCounters>,
    pub ingests: super::heartbeat::Ingests,
    pub datasets: Arc<super::datasets::DatasetCounters>,
}

impl ClusterHealth {
    /// Per symbol on the stream: its messages, the last trade there, the last one handed to
    /// this server's pipeline, and the difference in ids and trade time (aggregate ids are
    /// consecutive, so `behind_ids` counts trades not yet here).
    async fn lag(&self) -> Option<serde_json::Value> {
        let stream = self.stream.clone();
        let mut subjects = stream.info_with_subjects(TRADE_SUBJECTS).await.ok()?;
        let mut counts = Vec::new();
        while let Some(Ok((subject, count))) = subjects.next().await {
            counts.push((subject, count));
        }
        drop(subjects);
        let forwarded = self.counters.forwarded.lock().map(|f| f.clone()).unwrap_or_default();
        let mut lag = serde_json::Map::new();
        for (subject, count) in counts {
            let Some(symbol) = subject.strip_prefix(TRADE_SUBJECT_PREFIX) else { continue };
            let last = match stream.get_last_raw_message_by_subject(&subject).await {
                Ok(message) => wire::decode_on(&subject, &message.payload).ok(),
                Err(_) => None,
            };
            let here = forwarded.get(symbol).copied();
            let behind_ids = match (&last, here) {
                (Some(last), Some((id, _))) => Some(last.agg_id.saturating_sub(id)),
                (Some(_), None) => None,
                (None, _) => Some(0),
            };
            let behind_ms = match (&last, here) {
                (Some(last), Some((_, Some(t)))) => Some((last.t_ms - t).max(0)),
                _ => None,
            };
            lag.insert(
                symbol.to_string(),
                serde_json::json!({
                    "stream_messages": count,
                    "stream_last_id": last.as_ref().map(|t| t.agg_id),
                    "last_id": here.map(|(id, _)| id),
                    "behind_ids": behind_ids,
                    "behind_ms": behind_ms,
                }),
            );
        }
        Some(serde_json::Value::Object(lag))
    }

    pub async fn json(&self) -> serde_json::Value {
        use async_nats::connection::State;
        let connection = match self.client.connection_state() {
            State::Connected => "connected",
            State::Disconnected => "disconnected",
            State::Pending => "connecting",
        };
        let mut stream = self.stream.clone();
        let last = match tokio::time::timeout(Duration::from_secs(1), stream.info()).await {
            Ok(Ok(info)) => Some(info.state.last_sequence),
            _ => None,
        };
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let delivered = n(&self.counters.last_sequence);
        let symbols = tokio::time::timeout(Duration::from_secs(2), self.lag()).await.ok().flatten();
        let buckets: Vec<serde_json::Value> = self.buckets.iter().map(|b| b.health()).collect();
        serde_json::json!({
            "url": self.url,
            "connection": connection,
            "stream": super::STREAM,
            "stream_last_sequence": last,
            "delivered_sequence": delivered,
            "behind": last.map(|l| l.saturating_sub(delivered)),
            "trades": n(&self.counters.trades),
            "duplicates": n(&self.counters.duplicates),
            "malformed": n(&self.counters.malformed),
            "gaps": n(&self.counters.gaps),
            "restarts": n(&self.counters.restarts),
            "symbols": symbols,
            "buckets": buckets,
            "alerts": self.alerts.json(),
            "ingests": self.ingests.json(),
            "datasets": self.datasets.json(),
        })
    }
}

/// Where a fresh consumer starts, from what the local store holds.
pub async fn start_policy(stream: &mut Stream, store: &Store) -> Result<DeliverPolicy, ClusterError> {
    let stored = store.last_ids().map_err(|e| ClusterError::Consumer { detail: format!("local store: {e}") })?;
    if stored.is_empty() {
        return Ok(DeliverPolicy::All);
    }
    let mut subjects = stream
        .info_with_subjects(TRADE_SUBJECTS)
        .await
        .map_err(|e| ClusterError::Consumer { detail: e.to_string() })?;
    let mut stream_symbols = Vec::new();
    while let Some(subject) = subjects.next().await {
        let (subject, _) = subject.map_err(|e| ClusterError::Consumer { detail: e.to_string() })?;
        if let Some(symbol) = subject.strip_prefix(TRADE_SUBJECT_PREFIX) {
            stream_symbols.push(symbol.to_string());
        }
    }
    let mut oldest: Option<i64> = None;
    for symbol in &stream_symbols {
        if !stored.contains_key(symbol) {
            tracing::info!(%symbol, "not stored here yet: reading the whole stream");
            return Ok(DeliverPolicy::All);
        }
        match last_tick_ms(store, symbol) {
            Some(t) => oldest = Some(oldest.map_or(t, |o| o.min(t))),
            None => return Ok(DeliverPolicy::All),
        }
    }
    let Some(oldest) = oldest else { return Ok(DeliverPolicy::All) };
    let start_ms = oldest - START_MARGIN.as_millis() as i64;
    let start_time = async_nats::datetime::from_nanos(i128::from(start_ms.max(0)) * 1_000_000)
        .map_err(|e| ClusterError::Consumer { detail: format!("start time {start_ms}: {e}") })?;
    tracing::info!(start_ms, "resuming the stream before the last stored trades");
    Ok(DeliverPolicy::ByStartTime { start_time })
}

/// Trade time of the last stored tick of `symbol`, looking back in growing windows (reading
/// only the most recent ticks); None if no tick is stored.
fn last_tick_ms(store: &Store, symbol: &str) -> Option<i64> {
    let now = crate::market::now_ms();
    for back_ms in [60_000i64, 3_600_000, 86_400_000, i64::MAX] {
        let from = now.saturating_sub(back_ms);
        let last = store.scan_ticks(symbol, from, i64::MAX).filter_map(Result::ok).last();
        if let Some(trade) = last {
            return Some(trade.t_ms);
        }
    }
    None
}

/// Runs until shutdown or the pipeline is gone: stream → `trades`, with `status` as the
/// feed's state. (Re)creates the consumer after errors, from the next unseen sequence.
pub async fn run(
    mut stream: Stream,
    store: Store,
    trades: mpsc::Sender<Trade>,
    status: watch::Sender<FeedStatus>,
    counters: Arc<ConsumeCounters>,
    mut shutdown: Shutdown,
) {
    let stored = store.last_ids().unwrap_or_default();
    if let Ok(mut forwarded) = counters.forwarded.lock() {
        forwarded.extend(stored.iter().map(|(symbol, id)| (symbol.clone(), (*id, None))));
    }
    let mut order = Reorder::new(stored);
    let mut next_sequence: Option<u64> = None;
    loop {
        let policy = match next_sequence {
            Some(start_sequence) => Ok(DeliverPolicy::ByStartSequence { start_sequence }),
            None => start_policy(&mut stream, &store).await,
        };
        let consumer = match policy {
            Ok(deliver_policy) => stream
                .create_consumer(pull::OrderedConfig {
                    filter_subject: TRADE_SUBJECTS.to_string(),
                    deliver_policy,
                    ..Default::default()
                })
                .await
                .map_err(|e| ClusterError::Consumer { detail: e.to_string() }),
            Err(err) => Err(err),
        };
        let messages = match consumer {
            Ok(consumer) => consumer.messages().await.map_err(|e| ClusterError::Consumer { detail: e.to_string() }),
            Err(err) => Err(err),
        };
        let error = match messages {
            Ok(mut messages) => {
                status.send_replace(FeedStatus { state: FeedState::Live, ..Default::default() });
                let mut tick = tokio::time::interval(Duration::from_millis(250));
                loop {
                    tokio::select! {
                        next = messages.next() => match next {
                            Some(Ok(message)) => {
                                if let Ok(info) = message.info() {
                                    next_sequence = Some(info.stream_sequence + 1);
                                    counters.last_sequence.store(info.stream_sequence, Ordering::Relaxed);
                                }
                                match wire::decode_on(message.subject.as_str(), &message.payload) {
                                    Ok(trade) => {
                                        counters.trades.fetch_add(1, Ordering::Relaxed);
                                        let ready = order.accept(trade, Instant::now(), &counters);
                                        if !forward(&trades, ready, &counters).await {
                                            return;
                                        }
                                    }
                                    Err(err) => {
                                        counters.malformed.fetch_add(1, Ordering::Relaxed);
                                        tracing::debug!(%err, subject = %message.subject, "skipped a message that is not a trade");
                                    }
                                }
                            }
                            Some(Err(err)) => break err.to_string(),
                            None => break "the consumer ended".to_string(),
                        },
                        _ = tick.tick() => {
                            let ready = order.expire(Instant::now(), &counters);
                            if !forward(&trades, ready, &counters).await {
                                return;
                            }
                        }
                        () = shutdown.wait() => return,
                    }
                }
            }
            Err(err) => err.to_string(),
        };
        counters.restarts.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%error, "NATS consumer failed; recreating it");
        status.send_replace(FeedStatus { state: FeedState::Down, last_error: Some(error), ..Default::default() });
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            () = shutdown.wait() => return,
        }
    }
}

/// False when the pipeline is gone.
async fn forward(trades: &mpsc::Sender<Trade>, ready: Vec<Trade>, counters: &ConsumeCounters) -> bool {
    for trade in ready {
        counters.forwarded(&trade);
        if trades.send(trade).await.is_err() {
            return false;
        }
    }
    true
}

/// Per symbol: the last forwarded id and the trades held ahead of a missing one.
struct Reorder {
    last: HashMap<String, u64>,
    held: HashMap<String, (Instant, BTreeMap<u64, Trade>)>,
}

impl Reorder {
    fn new(last: HashMap<String, u64>) -> Self {
        Self { last, held: HashMap::new() }
    }

    /// The trades that may go to the pipeline now, in id order.
    fn accept(&mut self, trade: Trade, now: Instant, counters: &ConsumeCounters) -> Vec<Trade> {
        let last = self.last.get(&trade.symbol).copied();
        match last {
            Some(last) if trade.agg_id <= last => {
                counters.duplicates.fetch_add(1, Ordering::Relaxed);
                Vec::new()
            }
            // A gap, or a symbol not stored here yet (its start is not known): hold.
            Some(last) if trade.agg_id > last + 1 => self.hold(trade, now, counters),
            None => self.hold(trade, now, counters),
            _ => {
                let symbol = trade.symbol.clone();
                self.last.insert(symbol.clone(), trade.agg_id);
                let mut ready = vec![trade];
                ready.extend(self.release(&symbol, false, counters));
                ready
            }
        }
    }

    /// Holds `trade` until the ids before it come, or its symbol's hold ends.
    fn hold(&mut self, trade: Trade, now: Instant, counters: &ConsumeCounters) -> Vec<Trade> {
        let (since, held) = self.held.entry(trade.symbol.clone()).or_insert_with(|| (now, BTreeMap::new()));
        if held.is_empty() {
            *since = now;
        }
        if held.insert(trade.agg_id, trade).is_some() {
            counters.duplicates.fetch_add(1, Ordering::Relaxed);
        }
        if held.len() > MAX_HELD {
            let symbol = held.values().next().map(|t| t.symbol.clone()).unwrap_or_default();
            return self.release(&symbol, true, counters);
        }
        Vec::new()
    }

    /// Held trades that now follow the last forwarded id (all of them if `force`).
    fn release(&mut self, symbol: &str, force: bool, counters: &ConsumeCounters) -> Vec<Trade> {
        let Some((_, held)) = self.held.get_mut(symbol) else { return Vec::new() };
        let mut ready = Vec::new();
        let mut last = self.last.get(symbol).copied();
        while let Some(entry) = held.first_entry() {
            let id = *entry.key();
            match last {
                Some(l) if id <= l => {
                    entry.remove();
                    counters.duplicates.fetch_add(1, Ordering::Relaxed);
                }
                Some(l) if id == l + 1 => {
                    ready.push(entry.remove());
                    last = Some(id);
                }
                // The start of a symbol new here: its smallest id seen.
                None if force => {
                    ready.push(entry.remove());
                    last = Some(id);
                }
                _ if force => {
                    counters.gaps.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%symbol, after = ?last, id, "gap on the stream not filled in time: going on");
                    ready.push(entry.remove());
                    last = Some(id);
                }
                _ => break,
            }
        }
        if let Some(last) = last {
            self.last.insert(symbol.to_string(), last);
        }
        ready
    }

    /// Forwards past gaps that waited longer than [`HOLD`], and starts the symbols new here
    /// whose first trades waited [`START_HOLD`].
    fn expire(&mut self, now: Instant, counters: &ConsumeCounters) -> Vec<Trade> {
        let due: Vec<String> = self
            .held
            .iter()
            .filter(|(symbol, (since, held))| {
                let wait = if self.last.contains_key(*symbol) { HOLD } else { START_HOLD };
                !held.is_empty() && now.duration_since(*since) >= wait
            })
            .map(|(symbol, _)| symbol.clone())
            .collect();
        due.iter().flat_map(|symbol| self.release(symbol, true, counters)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(id: u64) -> Trade {
        Trade { symbol: "BTCUSDT".into(), agg_id: id, t_ms: id as i64, price: 1.0, qty: 1.0, buyer_is_maker: false }
    }

    fn ids(trades: &[Trade]) -> Vec<u64> {
        trades.iter().map(|t| t.agg_id).collect()
    }

    #[test]
    fn drops_stored_ids_and_puts_late_ones_back_in_order() {
        let counters = ConsumeCounters::default();
        let mut order = Reorder::new(HashMap::from([("BTCUSDT".to_string(), 10)]));
        let now = Instant::now();
        assert!(order.accept(trade(9), now, &counters).is_empty());
        assert!(order.accept(trade(10), now, &counters).is_empty());
        assert_eq!(ids(&order.accept(trade(11), now, &counters)), [11]);
        assert!(order.accept(trade(13), now, &counters).is_empty());
        assert!(order.accept(trade(14), now, &counters).is_empty());
        assert!(order.expire(now + Duration::from_millis(100), &counters).is_empty());
        assert_eq!(ids(&order.accept(trade(12), now, &counters)), [12, 13, 14]);
        assert!(order.accept(trade(13), now, &counters).is_empty());
        assert_eq!(counters.duplicates.load(Ordering::Relaxed), 3);
        assert_eq!(counters.gaps.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_gap_that_never_fills_is_passed_after_the_hold() {
        let counters = ConsumeCounters::default();
        let mut order = Reorder::new(HashMap::from([("BTCUSDT".to_string(), 0)]));
        let now = Instant::now();
        assert_eq!(ids(&order.accept(trade(1), now, &counters)), [1]);
        assert!(order.accept(trade(3), now, &counters).is_empty());
        assert!(order.expire(now + START_HOLD, &counters).is_empty(), "a known symbol's gap waits the whole hold");
        assert_eq!(ids(&order.expire(now + HOLD, &counters)), [3]);
        assert_eq!(ids(&order.accept(trade(4), now, &counters)), [4]);
        assert_eq!(counters.gaps.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_symbol_new_here_starts_at_the_smallest_id_seen_in_its_first_moments() {
        let counters = ConsumeCounters::default();
        let mut order = Reorder::new(HashMap::new());
        let now = Instant::now();
        // One ingest's later trade reached the stream before the other's earlier ones.
        assert!(order.accept(trade(10), now, &counters).is_empty());
        for id in 1..10 {
            assert!(order.accept(trade(id), now, &counters).is_empty());
        }
        assert!(order.expire(now + START_HOLD / 2, &counters).is_empty());
        assert_eq!(ids(&order.expire(now + START_HOLD, &counters)), (1..=10).collect::<Vec<_>>());
        assert_eq!(ids(&order.accept(trade(11), now, &counters)), [11]);
        assert_eq!(counters.gaps.load(Ordering::Relaxed), 0, "a start is not a gap");
    }
}
