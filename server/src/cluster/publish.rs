//! `pairdesk ingest --nats URL`: the existing ingest ([`crate::ingest::client::run`]:
//! validated, gapless by id, REST backfill) with JetStream as its only output. Each symbol
//! resumes after the last trade the stream holds (whoever published it), so a restarted or
//! redundant process only repeats trades the stream drops by `Nats-Msg-Id`.
//!
//! The symbols are the cluster's shared set ([`super::symbols`]; `--symbols` seeds it when it
//! was never written): an add or remove on any server (UN)SUBSCRIBEs here. Every
//! [`super::heartbeat::EVERY`] the process says on `pairdesk.heartbeat.<id>` what it ingests.
//!
//! Publishing is pipelined ([`WINDOW`] unacknowledged at once). A failed or timed-out
//! acknowledgement puts that trade and every later unacknowledged one back, in order, to be
//! sent again once NATS answers; at most [`IngestArgs::buffer`] trades wait so, beyond which
//! the ingest is back-pressured (its stream stalls, reconnects and backfills from REST).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use app::protocol::FeedStatus;
use async_nats::jetstream::{self, context::PublishAckFuture};
use async_nats::HeaderMap;
use tokio::sync::{mpsc, watch};

use super::{msg_id, trade_subject, wire, ClusterError};
use crate::ingest::client::{IngestConfig, IngestCounters};
use crate::market::Trade;
use crate::shutdown;

/// Most publishes awaiting their acknowledgement at once.
const WINDOW: usize = 512;
/// How far back (in stream sequences) a foreign last message is stepped over at start.
const FOREIGN_SCAN: u64 = 10_000;
/// Wait after a failed publish before sending again.
const RETRY_WAIT: Duration = Duration::from_millis(500);

/// `pairdesk ingest`: exchange → JetStream, no web server, no database.
#[derive(clap::Args, Debug, Clone)]
pub struct IngestArgs {
    /// NATS server URL, e.g. `nats://127.0.0.1:4222`.
    #[arg(long, env = "PAIRDESK_NATS")]
    pub nats: String,
    /// Symbols to ingest, comma-separated (any case): they seed the cluster's shared set
    /// when it was never written; after that the shared set (changed from any server's
    /// `/api/symbols`) is what every ingest process ingests.
    #[arg(long, value_delimiter = ',', required = true)]
    pub symbols: Vec<String>,
    /// This process's name in heartbeats and servers' `/api/health` (default `<host>-<pid>`).
    #[arg(long)]
    pub id: Option<String>,
    /// Binance futures WebSocket base URL; `/stream?streams=…` is appended.
    #[arg(long, default_value = crate::cli::BINANCE_WS_URL, env = "PAIRDESK_BINANCE_WS_URL")]
    pub binance_ws_url: String,
    /// Binance futures REST base URL (backfills).
    #[arg(long, default_value = crate::cli::BINANCE_REST_URL, env = "PAIRDESK_BINANCE_REST_URL")]
    pub binance_rest_url: String,
    /// Binance futures WebSocket base of the routed `/public` path (best bid/ask, published on
    /// `pairdesk.book.<SYMBOL>`; mark prices come from `--binance-ws-url`). Default: the
    /// `--binance-ws-url` with its `/market` path as `/public` (Binance's routed siblings).
    #[arg(long, env = "PAIRDESK_BINANCE_PUBLIC_WS_URL")]
    pub binance_public_ws_url: Option<String>,
    /// Most trades held while NATS does not acknowledge (then the ingest is back-pressured).
    #[arg(long, default_value_t = 200_000)]
    pub buffer: usize,
}

/// What the publisher did, for logs and tests.
#[derive(Default, Debug)]
pub struct PublishCounters {
    /// Acknowledged as newly stored.
    pub stored: AtomicU64,
    /// Acknowledged as a duplicate (another process, or a resend, stored it first).
    pub duplicates: AtomicU64,
    /// Publishes that failed or timed out and were queued again.
    pub retried: AtomicU64,
    /// Last aggregate id the stream acknowledged, per symbol (heartbeats carry it).
    pub last_ids: Mutex<BTreeMap<String, u64>>,
}

impl PublishCounters {
    fn acknowledged(&self, trade: &Trade) {
        if let Ok(mut ids) = self.last_ids.lock() {
            let last = ids.entry(trade.symbol.clone()).or_insert(0);
            *last = (*last).max(trade.agg_id);
        }
    }
}

pub async fn run(args: IngestArgs) -> anyhow::Result<()> {
    crate::tls::install_crypto_provider();
    let symbols: Vec<String> =
        args.symbols.iter().map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty()).collect();
    anyhow::ensure!(!symbols.is_empty(), "--symbols needs at least one symbol");
    let (client, js, stream) = super::connect(&args.nats).await?;
    let (trigger, shutdown) = shutdown::channel();
    let mut tasks = tokio::task::JoinSet::new();
    let shared = Arc::new(watch::channel(Vec::new()).0);
    super::symbols::follow(&js, &symbols, shared.clone(), &mut tasks, &shutdown).await?;
    let symbols = shared.borrow().clone();
    anyhow::ensure!(!symbols.is_empty(), "the shared symbol set ({}) is empty", super::SYMBOLS_BUCKET);
    let last_ids = last_ids(&stream, &symbols).await?;
    tracing::info!(nats = %args.nats, ?symbols, ?last_ids, "resuming after the stream's last trades");

    let (trade_tx, trade_rx) = mpsc::channel(65_536);
    let (status_tx, status_rx) = watch::channel(FeedStatus::default());
    let counters = Arc::new(IngestCounters::default());
    // The shared set's changes become (UN)SUBSCRIBE commands on the exchange connection.
    let (commands, commands_rx) = mpsc::channel(64);
    tasks.spawn(super::symbols::drive_ingest(
        stream.clone(),
        shared.subscribe(),
        symbols.clone(),
        commands,
        shutdown.clone(),
    ));
    // Best bid/ask and mark prices: the embedded server's side streams, onto core NATS.
    let public_base = args.binance_public_ws_url.clone().unwrap_or_else(|| public_sibling(&args.binance_ws_url));
    let side =
        super::side::publish_streams(&client, public_base, args.binance_ws_url.clone(), &shared, &mut tasks, &shutdown);
    let config = IngestConfig { ws_base: args.binance_ws_url, rest_base: args.binance_rest_url, symbols };
    let ingest = tokio::spawn(crate::ingest::client::run(
        config,
        last_ids,
        trade_tx,
        status_tx,
        counters.clone(),
        commands_rx,
        shutdown.clone(),
    ));
    let published = Arc::new(PublishCounters::default());
    let publisher = tokio::spawn(publish(js, trade_rx, args.buffer.max(WINDOW), published.clone()));
    let id = super::heartbeat::ingest_id(args.id.as_deref());
    tracing::info!(%id, "heartbeats on {}", super::heartbeat_subject(&id));
    tasks.spawn(super::heartbeat::beat(client, id, shared.subscribe(), status_rx, published.clone(), shutdown.clone()));
    shutdown::os_signal().await;
    tracing::info!("shutdown requested");
    trigger.fire();
    let _ = ingest.await;
    tasks.shutdown().await;
    // The ingest is gone, so the channel closes: the publisher drains what it holds.
    match tokio::time::timeout(Duration::from_secs(5), publisher).await {
        Ok(joined) => joined.context("the publisher failed")?,
        Err(_) => tracing::warn!("stopped with unacknowledged trades (the next start resumes from the stream)"),
    }
    tracing::info!(?published, ?counters, ?side, "stopped");
    Ok(())
}

/// `…/market` → `…/public`: the routed path best bid/ask lives on beside the trades' (any
/// other URL is taken as serving both).
fn public_sibling(ws_base: &str) -> String {
    let base = ws_base.trim_end_matches('/');
    match base.strip_suffix("/market") {
        Some(root) => format!("{root}/public"),
        None => base.to_string(),
    }
}

/// The last aggregate id the stream holds per symbol (absent: nothing stored yet). A foreign
/// message last on a subject is stepped over (back to [`FOREIGN_SCAN`] sequences).
pub async fn last_ids(
    stream: &jetstream::stream::Stream,
    symbols: &[String],
) -> Result<HashMap<String, u64>, ClusterError> {
    use async_nats::jetstream::stream::LastRawMessageErrorKind;
    let mut ids = HashMap::new();
    for symbol in symbols {
        let subject = trade_subject(symbol);
        let fail = |detail: String| ClusterError::LastTrade { symbol: symbol.clone(), detail };
        let last = match stream.get_last_raw_message_by_subject(&subject).await {
            Ok(message) => message,
            Err(err) if err.kind() == LastRawMessageErrorKind::NoMessageFound => continue,
            Err(err) => return Err(fail(err.to_string())),
        };
        if let Ok(trade) = wire::decode_on(&subject, &last.payload) {
            ids.insert(symbol.clone(), trade.agg_id);
            continue;
        }
        tracing::warn!(%subject, sequence = last.sequence, "the last message is not a trade: looking further back");
        let mut sequence = last.sequence;
        let floor = last.sequence.saturating_sub(FOREIGN_SCAN);
        loop {
            sequence -= 1;
            if sequence == 0 || sequence < floor {
                return Err(fail(format!("no trade within {FOREIGN_SCAN} messages before sequence {}", last.sequence)));
            }
            match stream.get_raw_message(sequence).await {
                Ok(message) if message.subject.as_str() == subject => {
                    if let Ok(trade) = wire::decode_on(&subject, &message.payload) {
                        ids.insert(symbol.clone(), trade.agg_id);
                        break;
                    }
                }
                Ok(_) => {}
                // Deleted or aged out: keep looking.
                Err(err) if err.kind() == LastRawMessageErrorKind::NoMessageFound => {}
                Err(err) => return Err(fail(err.to_string())),
            }
        }
    }
    Ok(ids)
}

/// Publishes every trade of `trades` in order until the channel closes and all are acknowledged.
pub async fn publish(
    js: jetstream::Context,
    mut trades: mpsc::Receiver<Trade>,
    buffer: usize,
    counters: Arc<PublishCounters>,
) {
    // Sent, acknowledgement pending, oldest first.
    let mut inflight: VecDeque<(Trade, PublishAckFuture)> = VecDeque::new();
    // To send (again), oldest first: always before any newer trade.
    let mut queued: VecDeque<Trade> = VecDeque::new();
    let mut open = true;
    loop {
        // Take new trades while there is room: wait only when there is nothing else to do.
        while open && inflight.len() + queued.len() < buffer {
            let next = if inflight.is_empty() && queued.is_empty() {
                trades.recv().await
            } else {
                match trades.try_recv() {
                    Ok(trade) => Some(trade),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => None,
                }
            };
            match next {
                Some(trade) => queued.push_back(trade),
                None => open = false,
            }
            if queued.len() >= WINDOW {
                break;
            }
        }
        if !open && inflight.is_empty() && queued.is_empty() {
            return;
        }
        let mut failed = false;
        while inflight.len() < WINDOW {
            let Some(trade) = queued.pop_front() else { break };
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", msg_id(&trade.symbol, trade.agg_id).as_str());
            match js.publish_with_headers(trade_subject(&trade.symbol), headers, wire::encode(&trade).into()).await {
                Ok(ack) => inflight.push_back((trade, ack)),
                Err(err) => {
                    tracing::warn!(%err, "publish failed; held to send again");
                    queued.push_front(trade);
                    failed = true;
                    break;
                }
            }
        }
        // Await the oldest acknowledgements (all of them once the window is full or the
        // input is idle), so `inflight` drains in order.
        while let Some((trade, ack)) = inflight.pop_front() {
            match ack.await {
                Ok(ack) if ack.duplicate => {
                    counters.acknowledged(&trade);
                    counters.duplicates.fetch_add(1, Ordering::Relaxed)
                }
                Ok(_) => {
                    counters.acknowledged(&trade);
                    counters.stored.fetch_add(1, Ordering::Relaxed)
                }
                Err(err) => {
                    tracing::warn!(%err, symbol = %trade.symbol, id = trade.agg_id, "no acknowledgement; sending again");
                    // This one and every later unacknowledged one, in order, before the queue.
                    let later: Vec<Trade> = inflight.drain(..).map(|(t, _)| t).collect();
                    counters.retried.fetch_add(1 + later.len() as u64, Ordering::Relaxed);
                    for t in later.into_iter().rev() {
                        queued.push_front(t);
                    }
                    queued.push_front(trade);
                    failed = true;
                    break;
                }
            };
            if inflight.len() < WINDOW / 2 && !queued.is_empty() {
                break;
            }
            if inflight.len() < WINDOW / 2 && open && !trades.is_empty() {
                break;
            }
        }
        if failed {
            tokio::time::sleep(RETRY_WAIT).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::public_sibling;

    #[test]
    fn the_public_path_is_the_market_path_s_sibling() {
        assert_eq!(public_sibling(crate::cli::BINANCE_WS_URL), crate::cli::BINANCE_PUBLIC_WS_URL);
        assert_eq!(public_sibling("ws://127.0.0.1:9/market/"), "ws://127.0.0.1:9/public");
        assert_eq!(public_sibling("ws://127.0.0.1:9"), "ws://127.0.0.1:9");
    }
}
