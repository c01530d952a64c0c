//! The embedded sled database: ticks, bars per symbol and interval, ingestion metadata
//! (last stored aggregate id per symbol) and the schema version. Key layouts: [`keys`].
//!
//! Crash safety rests on two facts. Writing the same trade or bar twice writes the same
//! key, so replays and backfills cannot duplicate. And each [`Store::write`] applies ticks,
//! then bars, then the last-id metadata: sled recovers a prefix of its log, so after a
//! crash the recorded last id never runs ahead of the stored ticks; the ingest backfills
//! from it and rewrites whatever was in flight.

pub mod keys;
pub mod retention;

use std::collections::HashMap;
use std::path::Path;

use app::analytics::resample::{bar_start, resample_ticks, Bar, BarBuilder, Tick};

use crate::market::Trade;
use keys::{bar_key, decode_bar, decode_tick, encode_bar, encode_tick, last_id_key, symbol_prefix, tick_key};

/// Bumped whenever the on-disk layout changes; a mismatch refuses to open.
pub const SCHEMA_VERSION: u32 = 2;
const SCHEMA_KEY: &[u8] = b"schema_version";
/// Intervals whose bars are persisted incrementally; others are computed from ticks.
pub const STORED_INTERVALS_MS: [i64; 3] = [1_000, 60_000, 300_000];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database in {dir}{hint}")]
    Open { dir: String, source: sled::Error, hint: &'static str },
    #[error("database schema version {found} is not supported (this pairdesk writes version {SCHEMA_VERSION})")]
    Schema { found: u32 },
    #[error("database error: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt entry in the database: {0}")]
    Corrupt(String),
    #[error("invalid query: {0}")]
    Query(String),
}

/// Handle to the open database. Cheap to clone (sled trees are reference-counted).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    ticks: sled::Tree,
    bars: sled::Tree,
    meta: sled::Tree,
}

/// A bar to persist: symbol, interval, bar.
pub type BarRecord = (String, i64, Bar);

impl Store {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::open(dir).map_err(|source| {
            // sled holds an exclusive file lock: a second process gets an I/O error here.
            let hint = if matches!(&source, sled::Error::Io(e) if e.kind() == std::io::ErrorKind::WouldBlock)
                || source.to_string().contains("lock")
            {
                " (is a pairdesk server already using this data directory? sled allows one process per database: stop it, or use its /api/export/… downloads)"
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
        Ok(Self { ticks: db.open_tree("ticks")?, bars: db.open_tree("bars")?, meta: db.open_tree("meta")?, db })
    }

    /// Writes trades (any symbols, each symbol's in id order) and the bars they changed:
    /// ticks, then bars, then each symbol's last stored id (see the module doc for why
    /// that order makes a crash harmless).
    pub fn write(&self, trades: &[Trade], bars: &[BarRecord]) -> Result<(), StoreError> {
        let mut tick_batch = sled::Batch::default();
        let mut last: HashMap<&str, u64> = HashMap::new();
        for trade in trades {
            tick_batch.insert(tick_key(&trade.symbol, trade.t_ms, trade.agg_id), encode_tick(trade).as_slice());
            let entry = last.entry(trade.symbol.as_str()).or_insert(trade.agg_id);
            *entry = (*entry).max(trade.agg_id);
        }
        self.ticks.apply_batch(tick_batch)?;
        self.put_bars(bars)?;
        let mut meta_batch = sled::Batch::default();
        for (symbol, id) in last {
            meta_batch.insert(last_id_key(symbol), &id.to_be_bytes());
        }
        self.meta.apply_batch(meta_batch)?;
        Ok(())
    }

    /// Writes trades without bars (tests, tools).
    pub fn append_trades(&self, trades: &[Trade]) -> Result<(), StoreError> {
        self.write(trades, &[])
    }

    pub fn put_bars(&self, bars: &[BarRecord]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (symbol, interval, bar) in bars {
            batch.insert(bar_key(symbol, *interval, bar.t), encode_bar(bar).as_slice());
        }
        self.bars.apply_batch(batch)?;
        Ok(())
    }

    /// Makes everything written so far durable.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }

    /// Blocking flush, for synchronous tools.
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        self.db.flush()?;
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

    /// Last stored aggregate id of every symbol ever stored (upper case).
    pub fn last_ids(&self) -> Result<HashMap<String, u64>, StoreError> {
        let mut ids = HashMap::new();
        for entry in self.meta.scan_prefix(keys::LAST_ID_PREFIX) {
            let (key, value) = entry?;
            let symbol = String::from_utf8_lossy(&key[keys::LAST_ID_PREFIX.len()..]).into_owned();
            let id = <[u8; 8]>::try_from(value.as_ref())
                .map(u64::from_be_bytes)
                .map_err(|_| StoreError::Corrupt(format!("last id of {symbol}")))?;
            ids.insert(symbol, id);
        }
        Ok(ids)
    }

    /// Ticks of `symbol` with `from_ms <= t < to_ms`, in (time, id) order, lazily.
    pub fn scan_ticks<'a>(
        &'a self,
        symbol: &'a str,
        from_ms: i64,
        to_ms: i64,
    ) -> impl Iterator<Item = Result<Trade, StoreError>> + 'a {
        let range = tick_key(symbol, from_ms, 0)..tick_key(symbol, to_ms, 0);
        self.ticks.range(range).map(move |entry| {
            let (key, value) = entry?;
            decode_tick(symbol, &key, &value).ok_or_else(|| StoreError::Corrupt(format!("tick of {symbol}")))
        })
    }

    /// Ticks of `symbol` with `from_ms <= t < to_ms`.
    pub fn ticks(&self, symbol: &str, from_ms: i64, to_ms: i64) -> Result<Vec<Trade>, StoreError> {
        self.scan_ticks(symbol, from_ms, to_ms).collect()
    }

    /// Stored ticks of `symbol` from time `from_ms` up to, not including, the tick
    /// `(t_ms, agg_id)`: what precedes a trade inside its bar.
    pub fn ticks_before(&self, symbol: &str, from_ms: i64, t_ms: i64, agg_id: u64) -> Result<Vec<Trade>, StoreError> {
        self.ticks
            .range(tick_key(symbol, from_ms, 0)..tick_key(symbol, t_ms, agg_id))
            .map(|entry| {
                let (key, value) = entry?;
                decode_tick(symbol, &key, &value).ok_or_else(|| StoreError::Corrupt(format!("tick of {symbol}")))
            })
            .collect()
    }

    /// Bars of `symbol` at `interval_ms` opening in `from_ms <= t < to_ms`. Stored
    /// intervals are a range scan; any other interval is resampled from the ticks.
    pub fn bars(&self, symbol: &str, interval_ms: i64, from_ms: i64, to_ms: i64) -> Result<Vec<Bar>, StoreError> {
        if interval_ms <= 0 {
            return Err(StoreError::Query(format!("bar interval must be positive, got {interval_ms} ms")));
        }
        if !STORED_INTERVALS_MS.contains(&interval_ms) {
            let ticks: Vec<Tick> = self
                .scan_ticks(symbol, bar_start(from_ms, interval_ms), to_ms)
                .map(|t| t.map(|t| Tick { t: t.t_ms, price: t.price, qty: t.qty }))
                .collect::<Result<_, _>>()?;
            let bars = resample_ticks(&ticks, interval_ms).map_err(|e| StoreError::Query(e.to_string()))?;
            return Ok(bars.into_iter().filter(|b| b.t >= from_ms && b.t < to_ms).collect());
        }
        self.bars
            .range(bar_key(symbol, interval_ms, from_ms)..bar_key(symbol, interval_ms, to_ms))
            .map(|entry| {
                let (key, value) = entry?;
                decode_bar(&key, &value).ok_or_else(|| StoreError::Corrupt(format!("bar of {symbol}")))
            })
            .collect()
    }

    /// Whether any bar of `symbol` is stored.
    pub fn has_bars(&self, symbol: &str) -> Result<bool, StoreError> {
        Ok(self.bars.scan_prefix(symbol_prefix(symbol)).next().transpose()?.is_some())
    }

    /// Recomputes every stored-interval bar of `symbol` from its ticks (when bars are
    /// missing, e.g. after a schema upgrade or a tick import). Returns the bars written.
    pub fn rebuild_bars(&self, symbol: &str) -> Result<u64, StoreError> {
        let mut builders: Vec<BarBuilder> = STORED_INTERVALS_MS
            .iter()
            .map(|&i| BarBuilder::new(i).map_err(|e| StoreError::Query(e.to_string())))
            .collect::<Result<_, _>>()?;
        let mut pending: Vec<BarRecord> = Vec::new();
        let mut written = 0u64;
        for entry in self.ticks.scan_prefix(symbol_prefix(symbol)) {
            let (key, value) = entry?;
            let trade =
                decode_tick(symbol, &key, &value).ok_or_else(|| StoreError::Corrupt(format!("tick of {symbol}")))?;
            let tick = Tick { t: trade.t_ms, price: trade.price, qty: trade.qty };
            for builder in &mut builders {
                if let Ok(update) = builder.push(tick) {
                    pending.extend(update.closed.map(|bar| (symbol.to_string(), builder.interval_ms(), bar)));
                }
            }
            if pending.len() >= 10_000 {
                written += pending.len() as u64;
                self.put_bars(&pending)?;
                pending.clear();
            }
        }
        for builder in &mut builders {
            let interval = builder.interval_ms();
            pending.extend(builder.finish().map(|bar| (symbol.to_string(), interval, bar)));
        }
        written += pending.len() as u64;
        self.put_bars(&pending)?;
        Ok(written)
    }

    /// Deletes ticks of `symbol` older than `cutoff_ms`; returns how many.
    pub fn delete_ticks_before(&self, symbol: &str, cutoff_ms: i64) -> Result<usize, StoreError> {
        let mut deleted = 0;
        loop {
            let keys: Vec<sled::IVec> = self
                .ticks
                .range(symbol_prefix(symbol)..tick_key(symbol, cutoff_ms, 0))
                .keys()
                .take(10_000)
                .collect::<Result<_, _>>()?;
            if keys.is_empty() {
                return Ok(deleted);
            }
            deleted += keys.len();
            let mut batch = sled::Batch::default();
            for key in keys {
                batch.remove(key);
            }
            self.ticks.apply_batch(batch)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(symbol: &str, agg_id: u64, t_ms: i64, price: f64) -> Trade {
        Trade { symbol: symbol.into(), agg_id, t_ms, price, qty: 1.0, buyer_is_maker: false }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        (dir, store)
    }

    #[test]
    fn writing_a_trade_twice_stores_it_once_and_records_the_last_id() {
        let (_dir, store) = store();
        store.append_trades(&[trade("BTCUSDT", 1, 100, 1.0), trade("BTCUSDT", 2, 101, 1.0)]).expect("write");
        store.append_trades(&[trade("BTCUSDT", 2, 101, 1.0), trade("ETHUSDT", 9, 50, 1.0)]).expect("write again");
        assert_eq!(store.tick_count(), 3);
        let ids = store.last_ids().expect("ids");
        assert_eq!((ids["BTCUSDT"], ids["ETHUSDT"]), (2, 9));
    }

    #[test]
    fn tick_and_bar_queries_are_half_open_time_ranges() {
        let (_dir, store) = store();
        let trades: Vec<Trade> = (0..10).map(|i| trade("BTCUSDT", i, 500 * i as i64, i as f64 + 1.0)).collect();
        store.append_trades(&trades).expect("write");
        assert_eq!(store.ticks("BTCUSDT", 1_000, 2_000).expect("ticks").len(), 2);
        assert_eq!(store.ticks("ETHUSDT", 0, 10_000).expect("ticks").len(), 0);
        assert_eq!(store.ticks_before("BTCUSDT", 1_000, 1_500, 3).expect("ticks").len(), 1);
        assert!(!store.has_bars("BTCUSDT").expect("has"));
        assert_eq!(store.rebuild_bars("BTCUSDT").expect("rebuild"), 5 + 1 + 1);
        let bars = store.bars("BTCUSDT", 1_000, 1_000, 3_000).expect("bars");
        assert_eq!(
            bars.iter().map(|b| (b.t, b.count, b.open, b.close)).collect::<Vec<_>>(),
            vec![(1_000, 2, 3.0, 4.0), (2_000, 2, 5.0, 6.0)]
        );
        // A non-stored interval is resampled from ticks with the same rules.
        let two_s = store.bars("BTCUSDT", 2_000, 0, 10_000).expect("bars");
        assert_eq!(two_s.iter().map(|b| b.count).sum::<u64>(), 10);
        assert!(store.bars("BTCUSDT", 0, 0, 1).is_err());
    }

    #[test]
    fn retention_deletes_only_old_ticks_of_that_symbol() {
        let (_dir, store) = store();
        store
            .append_trades(&[trade("BTCUSDT", 1, 10, 1.0), trade("BTCUSDT", 2, 20, 1.0), trade("ETHUSDT", 1, 5, 1.0)])
            .expect("write");
        assert_eq!(store.delete_ticks_before("BTCUSDT", 15).expect("delete"), 1);
        assert_eq!(store.tick_count(), 2);
        assert_eq!(store.last_ids().expect("ids")["BTCUSDT"], 2);
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
