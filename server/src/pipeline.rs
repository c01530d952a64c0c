//! The server's data path after ingestion: trades are persisted in batches, then the
//! latest prices are published for the push layer. Runs as one task.

use std::time::Duration;

use app::protocol::LastPrice;
use tokio::sync::{mpsc, watch};

use crate::market::Trade;
use crate::shutdown::Shutdown;
use crate::store::Store;

/// sled is flushed at least this often, so a crash loses at most this much (and the
/// backfill recovers it from the exchange).
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
const MAX_BATCH: usize = 4_096;

/// Latest price of each leg of the displayed pair.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PairPrices {
    pub x: Option<LastPrice>,
    pub y: Option<LastPrice>,
}

/// Consumes trades until the channel closes or shutdown, storing then publishing them.
pub async fn run(
    mut trades: mpsc::Receiver<Trade>,
    store: Store,
    pair: (String, String),
    prices: watch::Sender<PairPrices>,
    mut shutdown: Shutdown,
) {
    let mut batch: Vec<Trade> = Vec::with_capacity(MAX_BATCH);
    let mut flush_tick = tokio::time::interval(FLUSH_INTERVAL);
    flush_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            received = trades.recv_many(&mut batch, MAX_BATCH) => {
                if received == 0 {
                    break;
                }
                if let Err(err) = store.append_trades(&batch) {
                    tracing::error!(%err, "cannot store trades");
                }
                publish(&batch, &pair, &prices);
                batch.clear();
            }
            _ = flush_tick.tick() => {
                if let Err(err) = store.flush().await {
                    tracing::error!(%err, "cannot flush the database");
                }
            }
            () = shutdown.wait() => break,
        }
    }
    if let Err(err) = store.flush().await {
        tracing::error!(%err, "final flush failed");
    }
}

fn publish(batch: &[Trade], (x, y): &(String, String), prices: &watch::Sender<PairPrices>) {
    let last = |symbol: &str| {
        batch.iter().rev().find(|t| t.symbol == symbol).map(|t| LastPrice {
            symbol: t.symbol.clone(),
            t_ms: t.t_ms,
            price: t.price,
        })
    };
    let (new_x, new_y) = (last(x), last(y));
    if new_x.is_some() || new_y.is_some() {
        prices.send_modify(|p| {
            if new_x.is_some() {
                p.x = new_x;
            }
            if new_y.is_some() {
                p.y = new_y;
            }
        });
    }
}
