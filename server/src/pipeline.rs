//! The server's data path after ingestion (exchange → ingest → **store → resample →
//! push**): trades are deduplicated against what is stored, resampled into bars
//! ([`crate::bars`]), persisted in batches with their bars, flushed at least every
//! [`FLUSH_INTERVAL`], then published. Runs as one task; `serve` and `replay` both use it.
//!
//! While the store takes no writes (a full disk, [`crate::store::space`]) the pipeline holds
//! its batch and reads no more trades: the ingest backs up behind the channel, and a batch
//! whose write failed for lack of space is retried once writes resume, never dropped.
//!
//! # What the push layer consumes
//!
//! - `watch::Receiver<PairPrices>`: latest price of each leg of the displayed pair.
//! - `broadcast::Receiver<BarUpdate>`: every bar change of every symbol and stored
//!   interval (1s, 1m, 5m), per batch: the bars the batch closed (`closed: true`, final),
//!   then each touched bar under construction (`closed: false`, superseded by the next
//!   update of the same `(symbol, interval_ms, bar.t)`). Subscribe with
//!   `bars_tx.subscribe()`; a receiver that lags gets `RecvError::Lagged` and should
//!   resync from [`crate::store::Store::bars`].

use std::collections::HashMap;
use std::time::Duration;

use app::protocol::LastPrice;
use tokio::sync::{broadcast, mpsc, watch};

pub use crate::bars::BarUpdate;
use crate::bars::LiveBars;
use crate::market::Trade;
use crate::shutdown::Shutdown;
use crate::store::{Store, StoreError};

/// New trades and the bar updates they made.
type Processed = (Vec<Trade>, Vec<BarUpdate>);

/// sled is flushed at least this often, so a crash loses at most this much (and the
/// backfill recovers it from the exchange).
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
const MAX_BATCH: usize = 8_192;
/// Capacity of the bar broadcast channel: a subscriber further behind than this lags.
pub const BAR_CHANNEL_CAPACITY: usize = 16_384;

/// Latest price of each leg of the displayed pair.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PairPrices {
    pub x: Option<LastPrice>,
    pub y: Option<LastPrice>,
}

/// Where the pipeline publishes.
pub struct Outputs {
    /// The displayed pair (x, y), upper case.
    pub pair: (String, String),
    pub prices: watch::Sender<PairPrices>,
    pub bars: broadcast::Sender<BarUpdate>,
}

/// Consumes trades until the channel closes or shutdown; flushes before returning.
pub async fn run(mut trades: mpsc::Receiver<Trade>, store: Store, outputs: Outputs, mut shutdown: Shutdown) {
    let mut state = match prepare(store.clone()).await {
        Ok(state) => state,
        Err(err) => {
            tracing::error!(%err, "cannot read the store; the pipeline stops");
            return;
        }
    };
    let mut batch: Vec<Trade> = Vec::with_capacity(MAX_BATCH);
    // Flushing runs beside the batches: a trade never waits for sled's fsync to be pushed.
    let flusher = tokio::spawn(flush_periodically(store.clone()));
    loop {
        tokio::select! {
            received = trades.recv_many(&mut batch, MAX_BATCH) => {
                if received == 0 {
                    break;
                }
                let mut incoming = std::mem::replace(&mut batch, Vec::with_capacity(MAX_BATCH));
                let mut paused = false;
                let joined = loop {
                    if paused && !pause(&mut shutdown).await || !wait_writable(&store, &mut shutdown).await {
                        break None;
                    }
                    let batch_store = store.clone();
                    let joined = tokio::task::spawn_blocking(move || {
                        let result = state.process(&batch_store, incoming);
                        (state, result)
                    })
                    .await;
                    match joined {
                        Ok((returned, Err((err, unstored)))) if err.is_storage_full() => {
                            // Held, not dropped: retried once the disk takes writes again.
                            if !paused {
                                tracing::warn!(%err, trades = unstored.len(), "ingest paused: the store takes no writes");
                            }
                            paused = true;
                            state = returned;
                            incoming = unstored;
                        }
                        other => break Some(other),
                    }
                };
                let Some(joined) = joined else { break };
                match joined {
                    Ok((returned, result)) => {
                        state = returned;
                        match result {
                            Ok((fresh, updates)) => publish(&fresh, updates, &outputs),
                            Err((err, _)) => tracing::error!(%err, "cannot store trades"),
                        }
                    }
                    Err(err) => {
                        tracing::error!(%err, "pipeline batch panicked; reloading state");
                        match prepare(store.clone()).await {
                            Ok(fresh) => state = fresh,
                            Err(err) => {
                                tracing::error!(%err, "cannot reload the pipeline state");
                                break;
                            }
                        }
                    }
                }
            }
            () = shutdown.wait() => break,
        }
    }
    flusher.abort();
    if let Err(err) = store.flush().await {
        tracing::error!(%err, "final flush failed");
    }
}

/// Waits until the store takes writes (checked every 250 ms); false on shutdown.
async fn wait_writable(store: &Store, shutdown: &mut Shutdown) -> bool {
    while store.check_writable().is_err() {
        if !pause(shutdown).await {
            return false;
        }
    }
    true
}

/// 250 ms, or false on shutdown.
async fn pause(shutdown: &mut Shutdown) -> bool {
    tokio::select! {
        () = tokio::time::sleep(Duration::from_millis(250)) => true,
        () = shutdown.wait() => false,
    }
}

/// Makes the store durable every [`FLUSH_INTERVAL`] until aborted.
async fn flush_periodically(store: Store) {
    let mut tick = tokio::time::interval(FLUSH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(err) = store.flush().await {
            tracing::error!(%err, "cannot flush the database");
        }
    }
}

/// The pipeline's memory: last stored id per symbol and the bars under construction.
struct State {
    last_ids: HashMap<String, u64>,
    bars: LiveBars,
    duplicates: u64,
}

/// Loads last ids and rebuilds bars of symbols that have ticks but none.
async fn prepare(store: Store) -> Result<State, crate::store::StoreError> {
    let joined = tokio::task::spawn_blocking(move || {
        let last_ids = store.last_ids()?;
        for symbol in last_ids.keys() {
            if !store.has_bars(symbol)? {
                tracing::info!(%symbol, "bars missing: rebuilding them from ticks");
                let written = store.rebuild_bars(symbol)?;
                tracing::info!(%symbol, written, "bars rebuilt");
            }
        }
        Ok(State { last_ids, bars: LiveBars::default(), duplicates: 0 })
    })
    .await;
    joined.map_err(|e| crate::store::StoreError::Query(format!("startup task failed: {e}")))?
}

impl State {
    /// Drops already-stored trades, resamples and writes the rest. Returns the new trades
    /// and the bar updates to publish; on failure the error and the trades not stored.
    fn process(&mut self, store: &Store, incoming: Vec<Trade>) -> Result<Processed, (StoreError, Vec<Trade>)> {
        let mut fresh = Vec::with_capacity(incoming.len());
        for trade in incoming {
            match self.last_ids.get_mut(&trade.symbol) {
                Some(last) if trade.agg_id <= *last => self.duplicates += 1,
                Some(last) => {
                    *last = trade.agg_id;
                    fresh.push(trade);
                }
                None => {
                    self.last_ids.insert(trade.symbol.clone(), trade.agg_id);
                    fresh.push(trade);
                }
            }
        }
        if fresh.is_empty() {
            return Ok((fresh, Vec::new()));
        }
        let written = self.bars.apply(store, &fresh).and_then(|bars| store.write(&fresh, &bars.records).map(|_| bars));
        let bars = match written {
            Ok(bars) => bars,
            Err(err) => {
                // Forget these ids so that a redelivery (backfill after reconnect) is accepted.
                let reloaded = store.last_ids().unwrap_or_default();
                for trade in &fresh {
                    match reloaded.get(&trade.symbol) {
                        Some(id) => self.last_ids.insert(trade.symbol.clone(), *id),
                        None => self.last_ids.remove(&trade.symbol),
                    };
                }
                self.bars = LiveBars::default();
                return Err((err, fresh));
            }
        };
        Ok((fresh, bars.updates))
    }
}

fn publish(batch: &[Trade], updates: Vec<BarUpdate>, outputs: &Outputs) {
    for update in updates {
        // No subscriber is fine: bars are stored anyway.
        let _ = outputs.bars.send(update);
    }
    let (x, y) = &outputs.pair;
    let last = |symbol: &str| {
        batch.iter().rev().find(|t| t.symbol == symbol).map(|t| LastPrice {
            symbol: t.symbol.clone(),
            t_ms: t.t_ms,
            price: t.price,
        })
    };
    let (new_x, new_y) = (last(x), last(y));
    if new_x.is_some() || new_y.is_some() {
        outputs.prices.send_modify(|p| {
            if new_x.is_some() {
                p.x = new_x;
            }
            if new_y.is_some() {
                p.y = new_y;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(symbol: &str, agg_id: u64, t_ms: i64) -> Trade {
        Trade { symbol: symbol.into(), agg_id, t_ms, price: 10.0, qty: 1.0, buyer_is_maker: false }
    }

    #[tokio::test]
    async fn stores_each_trade_once_publishes_bars_and_prices() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let (tx, rx) = mpsc::channel(1024);
        let (prices, prices_rx) = watch::channel(PairPrices::default());
        let (bars, mut bars_rx) = broadcast::channel(BAR_CHANNEL_CAPACITY);
        let (_trigger, shutdown) = crate::shutdown::channel();
        let outputs = Outputs { pair: ("BTCUSDT".into(), "ETHUSDT".into()), prices, bars };
        let task = tokio::spawn(run(rx, store.clone(), outputs, shutdown));
        for (id, t) in [(1, 100), (2, 900), (2, 900), (1, 100), (3, 1_500)] {
            tx.send(trade("BTCUSDT", id, t)).await.expect("send");
        }
        tx.send(trade("ETHUSDT", 7, 1_600)).await.expect("send");
        drop(tx);
        task.await.expect("pipeline");
        assert_eq!(store.tick_count(), 4);
        assert_eq!(prices_rx.borrow().x.as_ref().map(|p| p.t_ms), Some(1_500));
        let mut closed = 0;
        while let Ok(update) = bars_rx.try_recv() {
            closed += usize::from(update.closed);
        }
        assert!(closed >= 1, "the 1s bar at 0 closed when the tick at 1500 arrived");
        let one_s = store.bars("BTCUSDT", 1_000, 0, 10_000).expect("bars");
        assert_eq!(one_s.iter().map(|b| (b.t, b.count)).collect::<Vec<_>>(), vec![(0, 2), (1_000, 1)]);
    }
}
