//! Funding: every settlement per symbol, gapless, in its own sled tree, and the live mark
//! price / estimated funding rate from the `@markPrice@1s` stream.
//!
//! The mark stream drives the REST sync ([`crate::ingest::funding`]): on start, on every
//! (re)connect of the mark stream, when a symbol is added, and whenever a symbol's next
//! funding time moves on (a settlement just happened), each symbol is fetched from its
//! newest stored settlement to now. A settlement the exchange has not published yet is
//! asked for again a few seconds later, so the list ends equal to the exchange's.
//!
//! Tree `funding`: `SYMBOL \0 time(8, BE, sign-flipped)` → `rate f64, mark f64` (LE).

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::ingest::backfill::RestClient;
use crate::ingest::funding::fetch_funding;
use crate::ingest::stream::SideEvent;
use crate::market::{now_ms, FundingSettlement, MarkPrice};
use crate::shutdown::Shutdown;
use crate::store::keys::{symbol_prefix, time_bytes};
use crate::store::{Store, StoreError};

/// How far back a symbol's funding history starts when nothing is stored yet.
pub const FUNDING_HISTORY_MS: i64 = 90 * 86_400_000;
/// A settlement the mark stream announced but REST does not show yet is asked for again
/// after this long, this many times.
const REPUBLISH_WAIT: Duration = Duration::from_secs(3);
const REPUBLISH_TRIES: u32 = 20;

/// The `funding` tree.
#[derive(Clone)]
pub struct FundingStore {
    tree: sled::Tree,
}

fn key(symbol: &str, t_ms: i64) -> Vec<u8> {
    let mut key = symbol_prefix(symbol);
    key.extend_from_slice(&time_bytes(t_ms));
    key
}

fn decode(symbol: &str, key: &[u8], value: &[u8]) -> Option<FundingSettlement> {
    let t: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    let rate: [u8; 8] = value.get(0..8)?.try_into().ok()?;
    let mark: [u8; 8] = value.get(8..16)?.try_into().ok()?;
    Some(FundingSettlement {
        symbol: symbol.to_string(),
        t_ms: (u64::from_be_bytes(t) ^ (1 << 63)) as i64,
        rate: f64::from_le_bytes(rate),
        mark: f64::from_le_bytes(mark),
    })
}

impl FundingStore {
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(Self { tree: store.open_tree("funding")? })
    }

    /// Stores settlements (one per symbol and time; a repeat replaces the same entry).
    pub fn put(&self, settlements: &[FundingSettlement]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for s in settlements {
            let mut value = Vec::with_capacity(16);
            value.extend_from_slice(&s.rate.to_le_bytes());
            value.extend_from_slice(&s.mark.to_le_bytes());
            batch.insert(key(&s.symbol, s.t_ms), value);
        }
        Ok(self.tree.apply_batch(batch)?)
    }

    /// Settlements of `symbol` in `[from_ms, to_ms)`, oldest first.
    pub fn settlements(&self, symbol: &str, from_ms: i64, to_ms: i64) -> Result<Vec<FundingSettlement>, StoreError> {
        if from_ms >= to_ms {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for entry in self.tree.range(key(symbol, from_ms)..key(symbol, to_ms)) {
            let (k, v) = entry?;
            out.push(decode(symbol, &k, &v).ok_or_else(|| StoreError::Corrupt(format!("funding of {symbol}")))?);
        }
        Ok(out)
    }

    /// The newest stored settlement time of `symbol`.
    pub fn newest(&self, symbol: &str) -> Result<Option<i64>, StoreError> {
        let prefix = symbol_prefix(symbol);
        match self.tree.scan_prefix(&prefix).next_back().transpose()? {
            Some((k, v)) => Ok(decode(symbol, &k, &v).map(|s| s.t_ms)),
            None => Ok(None),
        }
    }
}

/// The latest mark price of every symbol (for the live page and the CSV export).
pub type MarkBoard = HashMap<String, MarkPrice>;

/// Consumes the mark stream until shutdown: publishes the latest marks and keeps the
/// settlement history complete.
pub async fn run(
    mut events: mpsc::Receiver<SideEvent<MarkPrice>>,
    mut symbols: watch::Receiver<Vec<String>>,
    store: FundingStore,
    rest: RestClient,
    latest: watch::Sender<MarkBoard>,
    mut shutdown: Shutdown,
) {
    // Per symbol: the settlement time we know has happened but may not be stored yet.
    let mut due: HashMap<String, i64> = HashMap::new();
    let mut retries = 0u32;
    let mut sync_all = true;
    loop {
        if sync_all {
            let current = symbols.borrow_and_update().clone();
            for symbol in current {
                due.entry(symbol).or_insert(i64::MIN);
            }
            sync_all = false;
        }
        if !due.is_empty() {
            sync(&rest, &store, &mut due).await;
            retries = if due.is_empty() { 0 } else { retries + 1 };
            if retries > REPUBLISH_TRIES {
                tracing::warn!(
                    ?due,
                    "the exchange still does not list these settlements; asking again on the next one"
                );
                due.clear();
                retries = 0;
            }
        }
        let wait = if due.is_empty() { Duration::from_secs(3_600) } else { REPUBLISH_WAIT };
        tokio::select! {
            event = events.recv() => match event {
                None => return,
                Some(SideEvent::Event(mark)) => {
                    let previous = latest.borrow().get(&mark.symbol).map(|m| m.next_funding_ms);
                    if let Some(settled) = previous.filter(|&p| mark.next_funding_ms > p) {
                        // The next funding time moved on: the one before it has settled.
                        due.insert(mark.symbol.clone(), settled);
                    }
                    latest.send_modify(|board| {
                        board.insert(mark.symbol.clone(), mark);
                    });
                }
                // Whatever settled while the stream was away is fetched now.
                Some(SideEvent::Connected) => sync_all = true,
                Some(SideEvent::Disconnected) => {}
            },
            changed = symbols.changed() => {
                if changed.is_err() {
                    return;
                }
                sync_all = true;
            }
            () = tokio::time::sleep(wait) => {}
            () = shutdown.wait() => return,
        }
    }
}

/// Fetches every symbol in `due` from its newest stored settlement; a symbol stays due
/// while the settlement it waits for is not stored (or the fetch failed).
async fn sync(rest: &RestClient, store: &FundingStore, due: &mut HashMap<String, i64>) {
    let now = now_ms();
    let symbols: Vec<(String, i64)> = due.iter().map(|(s, t)| (s.clone(), *t)).collect();
    for (symbol, wanted) in symbols {
        let newest = match store.newest(&symbol) {
            Ok(newest) => newest,
            Err(err) => {
                tracing::error!(%err, %symbol, "cannot read stored funding");
                continue;
            }
        };
        let from = newest.map_or(now - FUNDING_HISTORY_MS, |t| t + 1);
        match fetch_funding(rest, &symbol, from, now).await {
            Ok(fetch) => {
                if let Err(err) = store.put(&fetch.settlements) {
                    tracing::error!(%err, %symbol, "cannot store funding");
                    continue;
                }
                let stored = fetch.settlements.last().map(|s| s.t_ms).or(newest);
                tracing::debug!(%symbol, fetched = fetch.settlements.len(), invalid = fetch.invalid, "funding synced");
                if stored.is_some_and(|t| t >= wanted) || wanted == i64::MIN {
                    due.remove(&symbol);
                }
            }
            Err(crate::ingest::backfill::RestError::Api { code, msg }) => {
                tracing::warn!(%symbol, code, %msg, "the exchange refuses funding history for this symbol");
                due.remove(&symbol);
            }
            Err(err) => tracing::warn!(%symbol, %err, "funding sync failed; retrying"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settlements_round_trip_per_symbol_and_newest_is_the_last() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let funding = FundingStore::open(&store).expect("funding");
        let s =
            |symbol: &str, t_ms: i64, rate: f64| FundingSettlement { symbol: symbol.into(), t_ms, rate, mark: 100.0 };
        funding.put(&[s("BTCUSDT", 28_800_000, 0.0001), s("BTCUSDT", 0, -0.0002), s("BTCUSDTX", 1, 0.0)]).expect("put");
        funding.put(&[s("BTCUSDT", 57_600_000, 0.0003), s("BTCUSDT", 0, -0.0002)]).expect("repeat");
        assert_eq!(
            funding.settlements("BTCUSDT", i64::MIN, i64::MAX).expect("read"),
            vec![s("BTCUSDT", 0, -0.0002), s("BTCUSDT", 28_800_000, 0.0001), s("BTCUSDT", 57_600_000, 0.0003)]
        );
        assert_eq!(funding.newest("BTCUSDT").expect("newest"), Some(57_600_000));
        assert_eq!(funding.newest("ETHUSDT").expect("newest"), None);
        assert_eq!(
            funding.settlements("BTCUSDT", 1, 57_600_000).expect("read"),
            vec![s("BTCUSDT", 28_800_000, 0.0001)]
        );
    }
}
