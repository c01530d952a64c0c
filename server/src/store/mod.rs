//! The embedded sled database: ticks, ingestion metadata, schema version.
//!
//! Tick keys are `symbol \0 trade-time (ms, big-endian, sign-flipped) agg-id (big-endian)`,
//! so one symbol's ticks in a time range are one range scan, in trade-id order. Writing
//! the same trade twice writes the same key: replays and backfills cannot duplicate.

use std::path::Path;

use crate::market::Trade;

/// Bumped whenever the on-disk layout changes; a mismatch refuses to open.
pub const SCHEMA_VERSION: u32 = 1;
const SCHEMA_KEY: &[u8] = b"schema_version";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database in {dir}{hint}")]
    Open { dir: String, source: sled::Error, hint: &'static str },
    #[error("database schema version {found} is not supported (this pairdesk writes version {SCHEMA_VERSION})")]
    Schema { found: u32 },
    #[error("database error: {0}")]
    Sled(#[from] sled::Error),
}

/// Handle to the open database. Cheap to clone (sled trees are reference-counted).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    ticks: sled::Tree,
}

impl Store {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::open(dir).map_err(|source| {
            // sled holds an exclusive file lock: a second process gets an I/O error here.
            let hint = if matches!(&source, sled::Error::Io(e) if e.kind() == std::io::ErrorKind::WouldBlock)
                || source.to_string().contains("lock")
            {
                " (is a pairdesk server already using this data directory? sled allows one process per database)"
            } else {
                ""
            };
            StoreError::Open { dir: dir.display().to_string(), source, hint }
        })?;
        match db.get(SCHEMA_KEY)? {
            None => {
                db.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
            }
            Some(bytes) => {
                let found = <[u8; 4]>::try_from(bytes.as_ref()).map(u32::from_be_bytes).unwrap_or(0);
                if found != SCHEMA_VERSION {
                    return Err(StoreError::Schema { found });
                }
            }
        }
        let ticks = db.open_tree("ticks")?;
        Ok(Self { db, ticks })
    }

    /// Writes a batch of trades atomically.
    pub fn append_trades(&self, trades: &[Trade]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for trade in trades {
            batch.insert(tick_key(&trade.symbol, trade.t_ms, trade.agg_id), encode_tick(trade).as_slice());
        }
        self.ticks.apply_batch(batch)?;
        Ok(())
    }

    /// Makes everything written so far durable.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }

    /// Opens (creating if needed) a named tree, for modules that own their own data
    /// (alerts, uploaded datasets).
    pub fn open_tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(name)?)
    }

    /// Number of stored ticks (a full scan: for tests and diagnostics).
    pub fn tick_count(&self) -> usize {
        self.ticks.len()
    }
}

pub fn tick_key(symbol: &str, t_ms: i64, agg_id: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(symbol.len() + 17);
    key.extend_from_slice(symbol.as_bytes());
    key.push(0);
    // Flip the sign bit so negative times sort before positive ones byte-wise.
    key.extend_from_slice(&((t_ms as u64) ^ (1 << 63)).to_be_bytes());
    key.extend_from_slice(&agg_id.to_be_bytes());
    key
}

fn encode_tick(trade: &Trade) -> [u8; 17] {
    let mut value = [0u8; 17];
    value[..8].copy_from_slice(&trade.price.to_le_bytes());
    value[8..16].copy_from_slice(&trade.qty.to_le_bytes());
    value[16] = u8::from(trade.buyer_is_maker);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(symbol: &str, agg_id: u64, t_ms: i64) -> Trade {
        Trade { symbol: symbol.into(), agg_id, t_ms, price: 1.0, qty: 1.0, buyer_is_maker: false }
    }

    #[test]
    fn keys_sort_by_symbol_then_time_then_id() {
        let mut keys = vec![
            tick_key("ETHUSDT", 5, 1),
            tick_key("BTCUSDT", 10, 3),
            tick_key("BTCUSDT", -1, 1),
            tick_key("BTCUSDT", 10, 2),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                tick_key("BTCUSDT", -1, 1),
                tick_key("BTCUSDT", 10, 2),
                tick_key("BTCUSDT", 10, 3),
                tick_key("ETHUSDT", 5, 1)
            ]
        );
    }

    #[test]
    fn writing_a_trade_twice_stores_it_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store.append_trades(&[trade("BTCUSDT", 1, 100), trade("BTCUSDT", 2, 101)]).expect("write");
        store.append_trades(&[trade("BTCUSDT", 2, 101)]).expect("write again");
        assert_eq!(store.tick_count(), 2);
    }

    #[test]
    fn refuses_a_database_of_another_schema_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let db = sled::open(dir.path()).expect("open raw");
            db.insert(SCHEMA_KEY, &99u32.to_be_bytes()).expect("insert");
            db.flush().expect("flush");
        }
        assert!(matches!(Store::open(dir.path()), Err(StoreError::Schema { found: 99 })));
    }
}
