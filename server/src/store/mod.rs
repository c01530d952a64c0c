//! The embedded sled database: tick blocks, bar chunks per symbol and interval, ingestion
//! metadata (last stored aggregate id and tick count per symbol) and the schema version.
//! Key layouts: [`keys`].
//!
//! Crash safety rests on two facts. Each [`Store::write`] first writes the bars, then the
//! new tick blocks together with the symbol's last id and count in **one** atomic sled
//! batch: after a crash the recorded last id is exactly the newest stored tick, the ingest
//! backfills from it, and a redelivered trade is never stored twice (the store itself
//! drops ids at or below the last one). Bars are derived: the pipeline recomputes the bars
//! of redelivered trades from the stored ticks, and rewriting a bar writes the same entry.
//!
//! Bars fetched from the exchange's klines (history on first start) live in their own tree,
//! and [`Store::bars`] joins them to the live bars by one rule ([`fetched`]).
//!
//! Tick blocks, bar chunks and counters are read-modify-write, so mutations take the
//! store's write lock (the pipeline and the retention sweep both write).

mod fetched;
pub mod health;
pub mod keys;
pub mod retention;
pub mod space;

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use app::analytics::resample::{bar_start, resample_ticks, Bar, BarBuilder, Tick};

use crate::market::Trade;
use keys::{
    bar_chunk_key, block_len, chunk_start, count_key, decode_block, decode_chunk_into, decode_u64, encode_block,
    encode_chunk, last_id_key, symbol_prefix, tick_key, TICKS_PER_BLOCK,
};

/// Bumped whenever the on-disk layout changes; a mismatch refuses to open. 4 added the
/// `fetched_bars` tree (klines history, [`fetched`]).
pub const SCHEMA_VERSION: u32 = 4;
/// Older versions this one opens and upgrades in place (4 only added a tree, so a version 3
/// database is a version 4 database without history).
const UPGRADES_FROM: [u32; 1] = [3];
const SCHEMA_KEY: &[u8] = b"schema_version";
/// Intervals whose bars are persisted incrementally; others are computed from ticks.
pub const STORED_INTERVALS_MS: [i64; 3] = [1_000, 60_000, 300_000];
/// Tick blocks removed per retention batch, so a large sweep never holds the write lock long.
const DELETE_BATCH_BLOCKS: usize = 1_024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database in {dir}{hint}")]
    Open { dir: String, source: sled::Error, hint: &'static str },
    #[error("database schema version {found} is not supported (this pairdesk writes version {SCHEMA_VERSION}; move the old data directory away or export it with the pairdesk that wrote it)")]
    Schema { found: u32 },
    #[error("database error: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt entry in the database: {0}")]
    Corrupt(String),
    #[error("invalid query: {0}")]
    Query(String),
    /// Writes are paused: too little free space, or a write already failed on a full disk.
    #[error("{0}")]
    Full(String),
}

impl StoreError {
    /// Whether this is the disk (or its quota) being full, or writes paused for it.
    pub fn is_storage_full(&self) -> bool {
        match self {
            StoreError::Full(_) => true,
            StoreError::Sled(e) | StoreError::Open { source: e, .. } => is_storage_full(e),
            _ => false,
        }
    }
}

/// Handle to the open database. Cheap to clone (sled trees are reference-counted).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    ticks: sled::Tree,
    bars: sled::Tree,
    /// Bars fetched from the exchange's klines (history before live data): [`fetched`].
    fetched: sled::Tree,
    writes: Arc<Mutex<()>>,
    /// Why the last flush failed, if it did (see [`Store::write_error`]).
    write_error: Arc<Mutex<Option<String>>>,
    /// The data directory (data set payloads and the reserve file live beside sled's files).
    dir: Arc<PathBuf>,
    /// Free space and whether writes are paused for the lack of it ([`space`]).
    space: Arc<space::Space>,
}

/// Whether a sled error is the disk (or its quota) being full.
pub fn is_storage_full(err: &sled::Error) -> bool {
    matches!(err, sled::Error::Io(e) if e.kind() == std::io::ErrorKind::StorageFull
        || e.raw_os_error() == Some(28)
        || e.to_string().contains("No space left"))
}

/// sled's page cache unless `--db-cache` says otherwise: 64 MiB, not sled's own 1 GiB. The
/// cache keeps what was read and written, so a server ingesting 5 000 trades/s grows by
/// ~8 MB a minute until it is full: at 1 GiB that is two hours of growth, at 256 MiB still half
/// an hour, at 64 MiB a few minutes, after which RSS is flat (BENCHMARKS.md, "Soak"). Durable
/// ingest of 10M trades measured 553k trades/s at 64 MiB against 747k at 1 GiB, still far
/// above both the 300k target and any one exchange connection's rate.
pub const DEFAULT_CACHE_BYTES: u64 = 64 << 20;

/// A bar to persist: symbol, interval, bar.
pub type BarRecord = (String, i64, Bar);

impl Store {
    /// Opens the database in `dir` for `pairdesk serve`: writes pause below `min_free` free
    /// bytes ([`space`]). On a disk too full for sled to open, the reserve file is removed and
    /// the database opened read-only (writes paused until space returns).
    /// `cache_bytes` is sled's page cache (`--db-cache`).
    pub fn open_serving(dir: &Path, min_free: u64, cache_bytes: u64) -> Result<Self, StoreError> {
        let opened = match Self::open_with(dir, min_free, cache_bytes) {
            Err(StoreError::Open { source, .. }) if is_storage_full(&source) && space::release_reserve(dir) => {
                let store = Self::open_with(dir, min_free, cache_bytes)?;
                store.space.mark_read_only_start();
                tracing::error!(dir = %dir.display(), "the disk is full: removed the reserve file to open the database, which is read-only until space is free (ingest paused, uploads and rule saves refused; reads and deletes work)");
                store
            }
            other => other?,
        };
        Ok(opened)
    }

    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, space::DEFAULT_MIN_FREE, DEFAULT_CACHE_BYTES)
    }

    fn open_with(dir: &Path, min_free: u64, cache_bytes: u64) -> Result<Self, StoreError> {
        // Smaller caches cost durable ingest (64 MiB: about −25 % of 1 GiB); see BENCHMARKS.md.
        let db = sled::Config::new().path(dir).cache_capacity(cache_bytes).open().map_err(|source| {
            // sled holds an exclusive file lock: a second process gets an I/O error here.
            let hint = if is_storage_full(&source) {
                " (the disk is full and there is no reserve file to give up: free space in its filesystem and start again; sled cannot open a database without writing to it)"
            } else if matches!(&source, sled::Error::Io(e) if e.kind() == std::io::ErrorKind::WouldBlock)
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
                if UPGRADES_FROM.contains(&found) {
                    db.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
                } else if found != SCHEMA_VERSION {
                    return Err(StoreError::Schema { found });
                }
            }
        }
        Ok(Self {
            ticks: db.open_tree("ticks")?,
            bars: db.open_tree("bars")?,
            fetched: db.open_tree(fetched::TREE)?,
            db,
            writes: Arc::default(),
            write_error: Arc::default(),
            dir: Arc::new(dir.to_path_buf()),
            space: Arc::new(space::Space::new(min_free)),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `Err(Full)` while writes are paused: free space below `--min-free-space`, or a write
    /// already failed for a full disk (sled takes none after it until reopened).
    pub fn check_writable(&self) -> Result<(), StoreError> {
        match self.write_error() {
            Some(err) if err.starts_with("disk full") => Err(StoreError::Full(err)),
            _ if self.space.is_low() => Err(StoreError::Full(self.space.low_message())),
            _ => Ok(()),
        }
    }

    /// [`Store::check_writable`], and `Err(Full)` if writing `bytes` now would leave less than
    /// `--min-free-space` (measured at once, not at the last probe: for uploads).
    pub fn check_room(&self, bytes: u64) -> Result<(), StoreError> {
        self.check_writable()?;
        match space::free_bytes(&self.dir) {
            Ok(free) if free < self.space.min_free.saturating_add(bytes) => Err(StoreError::Full(format!(
                "disk full: {bytes} bytes to write and {free} bytes free, which would leave less than --min-free-space ({} bytes)",
                self.space.min_free
            ))),
            _ => Ok(()),
        }
    }

    /// Why writes are paused or failing, for `/api/health` and the status bar.
    pub fn storage_error(&self) -> Option<String> {
        self.write_error().or_else(|| self.space.is_low().then(|| self.space.low_message()))
    }

    /// Free space and its threshold, for `/api/health`.
    pub fn space(&self) -> &space::Space {
        &self.space
    }

    /// Measures free space, writes the reserve file when there is room for it, and pauses or
    /// resumes writes. Returns true when the database must be reopened (a write failed on the
    /// full disk and space is back), which takes a restart ([`space::restart_in_place`]).
    pub fn probe_space(&self) -> bool {
        let Ok(free) = space::free_bytes(&self.dir) else { return false };
        let present = match space::ensure_reserve(&self.dir, free, self.space.min_free) {
            Ok(present) => present,
            Err(err) => {
                tracing::warn!(%err, "cannot write the reserve file");
                false
            }
        };
        let free = space::free_bytes(&self.dir).unwrap_or(free);
        let was_low = self.space.is_low();
        self.space.record(free, present);
        match (was_low, self.space.is_low()) {
            (false, true) => tracing::error!(message = %self.space.low_message(), "writes paused"),
            (true, false) => tracing::info!(free, "free space is back above --min-free-space: writes resume"),
            _ => {}
        }
        let poisoned = self.write_error().is_some_and(|err| err.starts_with("disk full"));
        poisoned && present && free >= self.space.min_free
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // The lock guards no data of its own, so a panic elsewhere cannot leave it inconsistent.
        self.writes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes the bars, then the trades (any symbols, each symbol's in id order) whose id
    /// is above the symbol's last stored id. Returns how many trades were new.
    pub fn write(&self, trades: &[Trade], bars: &[BarRecord]) -> Result<usize, StoreError> {
        self.check_writable()?;
        let _guard = self.lock();
        self.put_bars_locked(bars)?;
        let mut by_symbol: Vec<(&str, Vec<&Trade>)> = Vec::new();
        for trade in trades {
            match by_symbol.iter_mut().find(|(symbol, _)| *symbol == trade.symbol) {
                Some((_, list)) => list.push(trade),
                None => by_symbol.push((&trade.symbol, vec![trade])),
            }
        }
        let mut batch = sled::Batch::default();
        let mut stored = 0;
        for (symbol, list) in by_symbol {
            stored += self.stage_trades(&mut batch, symbol, list)?;
        }
        self.ticks.apply_batch(batch)?;
        Ok(stored)
    }

    /// Adds one symbol's new trades to `batch`: the partly filled last block is extended,
    /// then full blocks follow; last id and count are updated alongside.
    fn stage_trades(&self, batch: &mut sled::Batch, symbol: &str, list: Vec<&Trade>) -> Result<usize, StoreError> {
        let mut last_id = self.ticks.get(last_id_key(symbol))?.and_then(|v| decode_u64(&v));
        let mut fresh = Vec::with_capacity(list.len());
        for trade in list {
            if last_id.is_none_or(|last| trade.agg_id > last) {
                last_id = Some(trade.agg_id);
                fresh.push(trade);
            }
        }
        let (Some(first), Some(last_id)) = (fresh.first(), last_id) else { return Ok(0) };
        let tail = match self.ticks.scan_prefix(symbol_prefix(symbol)).next_back().transpose()? {
            Some((_, value)) if block_len(&value).is_some_and(|n| n < TICKS_PER_BLOCK) => {
                decode_block(symbol, &value).ok_or_else(|| StoreError::Corrupt(format!("tick block of {symbol}")))?
            }
            _ => Vec::new(),
        };
        // A block's times never decrease, so a scan can bound it by its first tick.
        let tail = if tail.last().is_some_and(|t| t.t_ms > first.t_ms) { Vec::new() } else { tail };
        let mut block: Vec<&Trade> = tail.iter().collect();
        for trade in fresh.iter().copied() {
            if block.len() == TICKS_PER_BLOCK || block.last().is_some_and(|t| t.t_ms > trade.t_ms) {
                stage_block(batch, symbol, &block);
                block.clear();
            }
            block.push(trade);
        }
        stage_block(batch, symbol, &block);
        let count = self.ticks.get(count_key(symbol))?.and_then(|v| decode_u64(&v)).unwrap_or(0);
        batch.insert(count_key(symbol), &(count + fresh.len() as u64).to_be_bytes());
        batch.insert(last_id_key(symbol), &last_id.to_be_bytes());
        Ok(fresh.len())
    }

    /// Writes trades without bars (tests, tools).
    pub fn append_trades(&self, trades: &[Trade]) -> Result<usize, StoreError> {
        self.write(trades, &[])
    }

    /// Writes bars, replacing any stored bar of the same symbol, interval and open time.
    pub fn put_bars(&self, bars: &[BarRecord]) -> Result<(), StoreError> {
        let _guard = self.lock();
        self.put_bars_locked(bars)
    }

    fn put_bars_locked(&self, bars: &[BarRecord]) -> Result<(), StoreError> {
        write_bar_chunks(&self.bars, bars)
    }

    /// Makes everything written so far durable. Its outcome is what [`Store::write_error`]
    /// reports.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let result = self.db.flush_async().await.map(drop);
        self.note_flush(&result);
        Ok(result?)
    }

    /// Blocking flush, for synchronous tools.
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        let result = self.db.flush().map(drop);
        self.note_flush(&result);
        Ok(result?)
    }

    fn note_flush(&self, result: &Result<(), sled::Error>) {
        let message = result.as_ref().err().map(|err| {
            if is_storage_full(err) {
                format!("disk full: the database cannot write ({err}); writes are paused, and pairdesk restarts itself to reopen the database once space is free (sled takes no write after a failed one)")
            } else {
                format!("database writes fail ({err}); restart pairdesk once fixed")
            }
        });
        *self.write_error.lock().unwrap_or_else(|p| p.into_inner()) = message;
    }

    /// Why the database cannot write, as of the last flush (every second while ingesting,
    /// and on each `/api/health`); `None` while writes work.
    pub fn write_error(&self) -> Option<String> {
        self.write_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Opens (creating if needed) a named tree, for modules that own their own data
    /// (alerts, uploaded datasets).
    pub fn open_tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(name)?)
    }

    /// Number of stored ticks over all symbols.
    pub fn tick_count(&self) -> usize {
        self.ticks
            .scan_prefix(keys::count_prefix())
            .values()
            .filter_map(|v| v.ok())
            .filter_map(|v| decode_u64(&v))
            .sum::<u64>() as usize
    }

    /// Last stored aggregate id of every symbol ever stored (upper case).
    pub fn last_ids(&self) -> Result<HashMap<String, u64>, StoreError> {
        let mut ids = HashMap::new();
        for entry in self.ticks.scan_prefix(keys::LAST_ID_PREFIX) {
            let (key, value) = entry?;
            let symbol = String::from_utf8_lossy(&key[keys::LAST_ID_PREFIX.len()..]).into_owned();
            let id = decode_u64(&value).ok_or_else(|| StoreError::Corrupt(format!("last id of {symbol}")))?;
            ids.insert(symbol, id);
        }
        Ok(ids)
    }

    /// Ticks of `symbol` with `from_ms <= t < to_ms`, in (time, id) order, lazily (one
    /// block at a time).
    pub fn scan_ticks<'a>(
        &'a self,
        symbol: &'a str,
        from_ms: i64,
        to_ms: i64,
    ) -> impl Iterator<Item = Result<Trade, StoreError>> + 'a {
        let blocks = (from_ms < to_ms).then(|| {
            let start = tick_key(symbol, from_ms, 0);
            // The block starting before `from_ms` may hold ticks at or after it.
            let straddling = self.ticks.range(symbol_prefix(symbol)..start.clone()).next_back();
            straddling.into_iter().chain(self.ticks.range(start..tick_key(symbol, to_ms, 0)))
        });
        blocks.into_iter().flatten().flat_map(move |entry| {
            let trades = entry.map_err(StoreError::from).and_then(|(_, value)| {
                decode_block(symbol, &value).ok_or_else(|| StoreError::Corrupt(format!("tick block of {symbol}")))
            });
            let items: Vec<Result<Trade, StoreError>> = match trades {
                Ok(trades) => trades.into_iter().filter(|t| t.t_ms >= from_ms && t.t_ms < to_ms).map(Ok).collect(),
                Err(err) => vec![Err(err)],
            };
            items
        })
    }

    /// Ticks of `symbol` with `from_ms <= t < to_ms`.
    pub fn ticks(&self, symbol: &str, from_ms: i64, to_ms: i64) -> Result<Vec<Trade>, StoreError> {
        self.scan_ticks(symbol, from_ms, to_ms).collect()
    }

    /// Stored ticks of `symbol` from time `from_ms` up to, not including, the tick
    /// `(t_ms, agg_id)`: what precedes a trade inside its bar.
    pub fn ticks_before(&self, symbol: &str, from_ms: i64, t_ms: i64, agg_id: u64) -> Result<Vec<Trade>, StoreError> {
        let mut ticks = Vec::new();
        for trade in self.scan_ticks(symbol, from_ms, t_ms.saturating_add(1)) {
            let trade = trade?;
            if (trade.t_ms, trade.agg_id) < (t_ms, agg_id) {
                ticks.push(trade);
            }
        }
        Ok(ticks)
    }

    /// The latest `limit` bars of `symbol` at `interval_ms` up to now, oldest first (what a
    /// page's snapshot and the screener start from); empty, and logged, if they cannot be read.
    pub fn recent_bars(&self, symbol: &str, interval_ms: i64, limit: usize) -> Vec<Bar> {
        let from = crate::market::now_ms().saturating_sub(interval_ms.saturating_mul(limit as i64 + 1));
        match self.bars(symbol, interval_ms, from, i64::MAX) {
            Ok(mut bars) => {
                let excess = bars.len().saturating_sub(limit);
                bars.drain(..excess);
                bars
            }
            Err(err) => {
                tracing::error!(%err, symbol, "cannot read recent bars");
                Vec::new()
            }
        }
    }

    /// Bars of `symbol` at `interval_ms` opening in `from_ms <= t < to_ms`. Stored
    /// intervals are a range scan over chunks; any other interval is resampled from ticks.
    pub fn bars(&self, symbol: &str, interval_ms: i64, from_ms: i64, to_ms: i64) -> Result<Vec<Bar>, StoreError> {
        if interval_ms <= 0 {
            return Err(StoreError::Query(format!("bar interval must be positive, got {interval_ms} ms")));
        }
        if from_ms >= to_ms {
            return Ok(Vec::new());
        }
        if !STORED_INTERVALS_MS.contains(&interval_ms) {
            let ticks: Vec<Tick> = self
                .scan_ticks(symbol, bar_start(from_ms, interval_ms), to_ms)
                .map(|t| t.map(|t| Tick { t: t.t_ms, price: t.price, qty: t.qty }))
                .collect::<Result<_, _>>()?;
            let bars = resample_ticks(&ticks, interval_ms).map_err(|e| StoreError::Query(e.to_string()))?;
            let bars = bars.into_iter().filter(|b| b.t >= from_ms && b.t < to_ms).collect();
            return self.with_history_resampled(symbol, interval_ms, from_ms, to_ms, bars);
        }
        let live = read_bar_chunks(&self.bars, symbol, interval_ms, from_ms, to_ms)?;
        self.with_history(symbol, interval_ms, from_ms, to_ms, live)
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
        for trade in self.scan_ticks(symbol, i64::MIN, i64::MAX) {
            let trade = trade?;
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
            let _guard = self.lock();
            let mut batch = sled::Batch::default();
            let mut blocks = 0;
            let mut removed = 0;
            for entry in
                self.ticks.range(symbol_prefix(symbol)..tick_key(symbol, cutoff_ms, 0)).take(DELETE_BATCH_BLOCKS)
            {
                let (key, value) = entry?;
                let trades = decode_block(symbol, &value)
                    .ok_or_else(|| StoreError::Corrupt(format!("tick block of {symbol}")))?;
                let kept: Vec<&Trade> = trades.iter().filter(|t| t.t_ms >= cutoff_ms).collect();
                removed += trades.len() - kept.len();
                batch.remove(key);
                // A block straddling the cutoff is re-keyed by its first kept tick.
                stage_block(&mut batch, symbol, &kept);
                blocks += 1;
            }
            if blocks == 0 {
                return Ok(deleted);
            }
            let count = self.ticks.get(count_key(symbol))?.and_then(|v| decode_u64(&v)).unwrap_or(0);
            batch.insert(count_key(symbol), &count.saturating_sub(removed as u64).to_be_bytes());
            self.ticks.apply_batch(batch)?;
            deleted += removed;
        }
    }
}

/// Merges `bars` into the chunks of `tree` (a bar replaces one of the same symbol, interval
/// and open time). One batch per call.
fn write_bar_chunks(tree: &sled::Tree, bars: &[BarRecord]) -> Result<(), StoreError> {
    let mut chunks: BTreeMap<(&str, i64, i64), Vec<&Bar>> = BTreeMap::new();
    for (symbol, interval, bar) in bars {
        chunks.entry((symbol.as_str(), *interval, chunk_start(*interval, bar.t))).or_default().push(bar);
    }
    let mut batch = sled::Batch::default();
    for ((symbol, interval, start), new_bars) in chunks {
        let key = bar_chunk_key(symbol, interval, start);
        let mut merged: BTreeMap<i64, Bar> = BTreeMap::new();
        if let Some(value) = tree.get(&key)? {
            let mut stored = Vec::new();
            decode_chunk_into(&value, &mut stored)
                .ok_or_else(|| StoreError::Corrupt(format!("bar chunk of {symbol}")))?;
            merged.extend(stored.into_iter().map(|bar| (bar.t, bar)));
        }
        merged.extend(new_bars.into_iter().map(|bar| (bar.t, *bar)));
        batch.insert(key, encode_chunk(merged.values()));
    }
    tree.apply_batch(batch)?;
    Ok(())
}

/// Bars of `symbol` at `interval_ms` opening in `from_ms <= t < to_ms` from `tree`'s chunks.
fn read_bar_chunks(
    tree: &sled::Tree,
    symbol: &str,
    interval_ms: i64,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Bar>, StoreError> {
    let range = bar_chunk_key(symbol, interval_ms, chunk_start(interval_ms, from_ms))
        ..bar_chunk_key(symbol, interval_ms, to_ms);
    let mut bars = Vec::new();
    for entry in tree.range(range) {
        let (_, value) = entry?;
        decode_chunk_into(&value, &mut bars).ok_or_else(|| StoreError::Corrupt(format!("bar chunk of {symbol}")))?;
    }
    bars.retain(|b| b.t >= from_ms && b.t < to_ms);
    Ok(bars)
}

/// Adds one block (trades of `symbol` in id order) to `batch`, keyed by its first trade.
fn stage_block(batch: &mut sled::Batch, symbol: &str, block: &[&Trade]) {
    if let Some(first) = block.first() {
        batch.insert(tick_key(symbol, first.t_ms, first.agg_id), encode_block(block.iter().copied()));
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
    fn blocks_fill_across_small_and_large_batches_and_scans_match_a_filter() {
        let (_dir, store) = store();
        // Several ticks per millisecond, times that repeat, batches of 1..=300 trades.
        let all: Vec<Trade> = (1..=1_000u64).map(|i| trade("BTCUSDT", i, (i / 3) as i64, i as f64)).collect();
        let mut rest = all.as_slice();
        let mut size = 1;
        while !rest.is_empty() {
            let (batch, tail) = rest.split_at(size.min(rest.len()));
            assert_eq!(store.append_trades(batch).expect("write"), batch.len());
            rest = tail;
            size = size * 7 % 300 + 1;
        }
        assert_eq!(store.tick_count(), 1_000);
        assert!(store.ticks.len() < 1_000 / 64, "ticks are stored in blocks, not one key each");
        for (from, to) in [(0, 400), (5, 6), (100, 101), (57, 300), (333, 334), (-5, 0), (7, 7), (200, 100)] {
            let expected: Vec<u64> = all.iter().filter(|t| t.t_ms >= from && t.t_ms < to).map(|t| t.agg_id).collect();
            let got: Vec<u64> = store.ticks("BTCUSDT", from, to).expect("ticks").iter().map(|t| t.agg_id).collect();
            assert_eq!(got, expected, "[{from}, {to})");
        }
        let before: Vec<u64> =
            store.ticks_before("BTCUSDT", 100, 101, 304).expect("before").iter().map(|t| t.agg_id).collect();
        assert_eq!(before, vec![300, 301, 302, 303]);
        // Retention trims a block in the middle and keeps the count exact.
        assert_eq!(store.delete_ticks_before("BTCUSDT", 150).expect("delete"), 449);
        assert_eq!(store.tick_count(), 551);
        let kept = store.ticks("BTCUSDT", i64::MIN, i64::MAX).expect("ticks");
        assert_eq!(kept.iter().map(|t| t.agg_id).collect::<Vec<_>>(), (450..=1_000).collect::<Vec<_>>());
        // Appending after retention continues the same sequence.
        store.append_trades(&[trade("BTCUSDT", 1_001, 400, 1.0)]).expect("write");
        let tail: Vec<u64> = store.ticks("BTCUSDT", 333, 401).expect("ticks").iter().map(|t| t.agg_id).collect();
        assert_eq!(tail, vec![999, 1_000, 1_001]);
    }

    #[test]
    fn bar_chunks_merge_rewrites_and_answer_ranges() {
        let (_dir, store) = store();
        let bar = |t: i64, close: f64| Bar { t, open: 1.0, high: 2.0, low: 0.5, close, volume: 3.0, count: 4 };
        let records: Vec<BarRecord> = (0..200).map(|i| ("BTCUSDT".to_string(), 1_000, bar(i * 1_000, 1.0))).collect();
        store.put_bars(&records).expect("bars");
        // A rewrite of one bar (the bar under construction) replaces it in its chunk.
        store.put_bars(&[("BTCUSDT".to_string(), 1_000, bar(70_000, 9.0))]).expect("bar");
        let got = store.bars("BTCUSDT", 1_000, 63_000, 72_000).expect("bars");
        assert_eq!(got.iter().map(|b| b.t).collect::<Vec<_>>(), (63..72).map(|i| i * 1_000).collect::<Vec<_>>());
        assert_eq!(got[7].close, 9.0);
        assert_eq!(store.bars("BTCUSDT", 1_000, i64::MIN, i64::MAX).expect("all").len(), 200);
        assert!(store.bars("BTCUSDT", 60_000, i64::MIN, i64::MAX).expect("other interval").is_empty());
        assert!(store.bars("ETHUSDT", 1_000, i64::MIN, i64::MAX).expect("other symbol").is_empty());
    }

    /// A database directory that says it is of schema `version`.
    fn database_of_version(version: u32) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sled::open(dir.path()).expect("open raw");
        db.insert(SCHEMA_KEY, &version.to_be_bytes()).expect("insert");
        db.flush().expect("flush");
        dir
    }

    #[test]
    fn refuses_a_database_of_another_schema_version() {
        let dir = database_of_version(99);
        assert!(matches!(Store::open(dir.path()), Err(StoreError::Schema { found: 99 })));
    }

    #[test]
    fn upgrades_a_version_3_database_in_place() {
        let dir = database_of_version(3);
        let store = Store::open(dir.path()).expect("a version 3 database opens");
        assert_eq!(store.db.get(SCHEMA_KEY).expect("get").as_deref(), Some(SCHEMA_VERSION.to_be_bytes().as_slice()));
        assert_eq!(SCHEMA_VERSION, 4);
    }
}
