//! Uploaded OHLC data sets: the summaries in the sled tree `datasets`, the bars in files.
//!
//! Keys: `m` + id (u64 big-endian) → [`DatasetSummary`] as JSON (listing never decodes bars);
//! `next_id` → the last id handed out. The [`Dataset`] itself (bars per symbol, the compact
//! binary form of [`codec`]) is the file `datasets/<id>.bin` beside the database, so deleting
//! one frees its space at once, even when sled takes no write (a full disk); entries of older
//! versions kept it under `b` + id in the tree (JSON or binary) and still read.
//!
//! A data set exists when its summary and its payload both do. An upload writes and fsyncs the
//! payload file (via a temporary name), then the summary, and answers once sled has flushed; a
//! delete removes the file (and fsyncs the directory) first, then the summary. A crash between
//! the steps leaves an orphan file or a summary without payload, neither of which is listed;
//! [`DatasetStore::recover`] (at start) removes both. An acknowledged upload or delete survives
//! a crash that follows.

pub(crate) mod codec;

use app::dataset::{Dataset, Format};
use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

const TREE: &str = "datasets";
const NEXT_ID: &[u8] = b"next_id";
/// Directory of the payload files, in the data directory.
const FILES: &str = "datasets";

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database error: {0}")]
    Sled(#[from] sled::Error),
    #[error("stored data set {id} is corrupt: {reason}")]
    Corrupt { id: u64, reason: String },
    #[error("cannot encode a data set: {0}")]
    Encode(serde_json::Error),
    #[error("data set file: {0}")]
    File(#[from] std::io::Error),
    #[error("{stored} data sets are stored, the most allowed (--max-datasets {max}); delete one to upload another")]
    TooMany { stored: usize, max: usize },
    #[error("stored data sets would take {needed} bytes, over the {max} allowed (--max-dataset-bytes); {stored} bytes are in use: delete some first")]
    TooLarge { stored: u64, needed: u64, max: crate::cli::ByteSize },
}

/// How much the `datasets` tree may hold (`--max-datasets`, `--max-dataset-bytes`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub max_count: usize,
    pub max_bytes: crate::cli::ByteSize,
}

impl DatasetError {
    /// Whether the disk is full (the request may succeed once space is freed).
    pub fn is_storage_full(&self) -> bool {
        match self {
            DatasetError::Sled(e) => crate::store::is_storage_full(e),
            DatasetError::Store(e) => e.is_storage_full(),
            DatasetError::File(e) => e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28),
            _ => false,
        }
    }
}

impl Limits {
    /// No limit (tools and tests).
    pub const NONE: Limits = Limits { max_count: usize::MAX, max_bytes: crate::cli::ByteSize(u64::MAX) };
}

/// Quota check and insert are one step across concurrent uploads (a process holds the
/// database alone, so a process-wide lock suffices).
static INSERTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// One symbol of a stored data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolSummary {
    pub symbol: String,
    pub rows: usize,
    pub first_t: i64,
    pub last_t: i64,
    pub first_close: f64,
    pub last_close: f64,
}

/// What the listing shows of a stored data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSummary {
    pub id: u64,
    /// User-visible name (the uploaded file name unless given).
    pub name: String,
    pub format: Format,
    pub symbols: Vec<SymbolSummary>,
    /// Bars over all symbols.
    pub rows: usize,
    /// Earliest / latest bar over all symbols (ms).
    pub first_t: i64,
    pub last_t: i64,
    /// Upload time (ms since the epoch).
    pub created_ms: i64,
    /// Bytes its bars take in the database (what `--max-dataset-bytes` counts); 0 in
    /// entries written before it was recorded (the quota then reads the stored length).
    #[serde(default)]
    pub stored_bytes: u64,
}

impl DatasetSummary {
    fn of(id: u64, name: &str, ds: &Dataset, created_ms: i64) -> Self {
        let symbols: Vec<SymbolSummary> = ds
            .symbols
            .iter()
            .filter_map(|(symbol, bars)| {
                let (first, last) = (bars.first()?, bars.last()?);
                Some(SymbolSummary {
                    symbol: symbol.clone(),
                    rows: bars.len(),
                    first_t: first.t_ms,
                    last_t: last.t_ms,
                    first_close: first.close,
                    last_close: last.close,
                })
            })
            .collect();
        DatasetSummary {
            id,
            name: name.to_string(),
            format: ds.format,
            rows: ds.total_rows(),
            first_t: symbols.iter().map(|s| s.first_t).min().unwrap_or_default(),
            last_t: symbols.iter().map(|s| s.last_t).max().unwrap_or_default(),
            symbols,
            created_ms,
            stored_bytes: 0,
        }
    }
}

fn key(prefix: u8, id: u64) -> [u8; 9] {
    let mut k = [prefix; 9];
    k[1..].copy_from_slice(&id.to_be_bytes());
    k
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// Where uploads and deletes go besides this server's own data sets: nowhere (embedded), or
/// the cluster's object store, which every other `serve --nats` follows
/// ([`crate::cluster::datasets`]).
#[derive(Clone, Default)]
pub enum Sharing {
    #[default]
    Local,
    Shared(Box<crate::cluster::datasets::SharedDatasets>),
}

impl Sharing {
    /// After `summaries` were stored here by an upload.
    pub async fn uploaded(&self, summaries: &[DatasetSummary]) {
        if let Sharing::Shared(shared) = self {
            shared.uploaded(summaries).await;
        }
    }

    /// After data set `id` was deleted here.
    pub async fn deleted(&self, id: u64) {
        if let Sharing::Shared(shared) = self {
            shared.deleted(id).await;
        }
    }
}

/// Handle to the `datasets` tree (cheap to open and clone).
#[derive(Clone)]
pub struct DatasetStore {
    tree: sled::Tree,
    /// Flushes go through the store, which reports a failing disk ([`Store::write_error`]).
    store: Store,
    files: std::path::PathBuf,
}

/// Writes `bytes` to `path` durably: a temporary file, fsync, rename.
fn write_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Makes renames and removals in `dir` durable.
fn sync_dir(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// The id of a payload file name `<id>.bin`.
fn file_id(name: &std::ffi::OsStr) -> Option<u64> {
    name.to_str()?.strip_suffix(".bin")?.parse().ok()
}

impl DatasetStore {
    pub fn open(store: &Store) -> Result<Self, DatasetError> {
        Ok(DatasetStore { tree: store.open_tree(TREE)?, store: store.clone(), files: store.dir().join(FILES) })
    }

    fn file(&self, id: u64) -> std::path::PathBuf {
        self.files.join(format!("{id}.bin"))
    }

    fn has_payload(&self, id: u64) -> Result<bool, DatasetError> {
        Ok(self.file(id).exists() || self.tree.contains_key(key(b'b', id))?)
    }

    /// At start: removes payload files without a summary (an upload or delete cut short) and
    /// temporary files, and summaries whose payload is gone. Returns how many were removed.
    pub fn recover(&self) -> Result<usize, DatasetError> {
        let mut removed = 0;
        if let Ok(entries) = std::fs::read_dir(&self.files) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let orphan = match file_id(&name) {
                    Some(id) => !self.tree.contains_key(key(b'm', id))?,
                    None => name.to_str().is_some_and(|n| n.ends_with(".tmp")),
                };
                if orphan {
                    std::fs::remove_file(entry.path())?;
                    removed += 1;
                }
            }
        }
        let mut batch = sled::Batch::default();
        let mut stale = 0;
        for id in self.summaries()?.iter().map(|s| s.id) {
            if !self.has_payload(id)? {
                batch.remove(&key(b'm', id));
                stale += 1;
            }
        }
        if stale > 0 {
            self.tree.apply_batch(batch)?;
            self.store.flush_blocking()?;
        }
        Ok(removed + stale)
    }

    fn allocate_ids(&self, n: u64) -> Result<u64, DatasetError> {
        let last = self.tree.update_and_fetch(NEXT_ID, |old| {
            let prev = old.and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_be_bytes).unwrap_or(0);
            Some(prev.saturating_add(n).to_be_bytes().to_vec())
        })?;
        let last = last.and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok()).map(u64::from_be_bytes).unwrap_or(n);
        Ok(last.saturating_sub(n) + 1)
    }

    /// Store data sets (all or none, within `limits`), durably, and return their summaries,
    /// in order. Blocks on the flush: call it from the blocking pool.
    pub fn insert_all(&self, items: &[(String, Dataset)], limits: Limits) -> Result<Vec<DatasetSummary>, DatasetError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        self.store.check_writable()?;
        let encoded: Vec<Vec<u8>> = items.iter().map(|(_, ds)| codec::encode(ds)).collect();
        let _inserting = INSERTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (count, bytes) = self.usage()?;
        if count.saturating_add(items.len()) > limits.max_count {
            return Err(DatasetError::TooMany { stored: count, max: limits.max_count });
        }
        let needed = encoded.iter().fold(bytes, |sum, e| sum.saturating_add(e.len() as u64));
        if needed > limits.max_bytes.0 {
            return Err(DatasetError::TooLarge { stored: bytes, needed, max: limits.max_bytes });
        }
        self.store.check_room(needed.saturating_sub(bytes))?;
        let first = self.allocate_ids(items.len() as u64)?;
        let created = now_ms();
        let mut batch = sled::Batch::default();
        let mut out = Vec::with_capacity(items.len());
        let stored = (|| -> Result<(), DatasetError> {
            std::fs::create_dir_all(&self.files)?;
            for (((name, ds), bars), id) in items.iter().zip(encoded).zip(first..) {
                let summary =
                    DatasetSummary { stored_bytes: bars.len() as u64, ..DatasetSummary::of(id, name, ds, created) };
                write_file(&self.file(id), &bars)?;
                batch.insert(&key(b'm', id), serde_json::to_vec(&summary).map_err(DatasetError::Encode)?);
                out.push(summary);
            }
            sync_dir(&self.files)?;
            self.tree.apply_batch(batch)?;
            self.store.flush_blocking()?;
            Ok(())
        })();
        if let Err(err) = stored {
            // Nothing half-stored stays behind (a summary that did reach sled has no payload
            // now, so it is not listed; `recover` drops it).
            for id in first..first + items.len() as u64 {
                let _ = std::fs::remove_file(self.file(id));
            }
            return Err(err);
        }
        Ok(out)
    }

    /// How many data sets are stored and the bytes their bars take.
    pub fn usage(&self) -> Result<(usize, u64), DatasetError> {
        let mut bytes = 0u64;
        let summaries = self.list()?;
        for summary in &summaries {
            let size = match summary.stored_bytes {
                0 => self.payload(summary.id)?.map_or(0, |v| v.len() as u64),
                n => n,
            };
            bytes = bytes.saturating_add(size);
        }
        Ok((summaries.len(), bytes))
    }

    /// Every stored data set (summary and payload present), oldest first.
    pub fn list(&self) -> Result<Vec<DatasetSummary>, DatasetError> {
        let mut kept = Vec::new();
        for summary in self.summaries()? {
            if self.has_payload(summary.id)? {
                kept.push(summary);
            }
        }
        Ok(kept)
    }

    fn summaries(&self) -> Result<Vec<DatasetSummary>, DatasetError> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix([b'm']) {
            let (k, v) = item?;
            let id = k.get(1..).and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_be_bytes).unwrap_or(0);
            out.push(serde_json::from_slice(&v).map_err(|e| DatasetError::Corrupt { id, reason: e.to_string() })?);
        }
        Ok(out)
    }

    pub fn summary(&self, id: u64) -> Result<Option<DatasetSummary>, DatasetError> {
        match self.tree.get(key(b'm', id))? {
            Some(_) if !self.has_payload(id)? => Ok(None),
            None => Ok(None),
            Some(v) => {
                serde_json::from_slice(&v).map(Some).map_err(|e| DatasetError::Corrupt { id, reason: e.to_string() })
            }
        }
    }

    /// The bars of a data set.
    pub fn get(&self, id: u64) -> Result<Option<Dataset>, DatasetError> {
        match self.payload(id)? {
            None => Ok(None),
            Some(v) => codec::decode(&v).map(Some).map_err(|reason| DatasetError::Corrupt { id, reason }),
        }
    }

    /// The encoded bars: the payload file, or the tree entry of an older version.
    fn payload(&self, id: u64) -> Result<Option<Vec<u8>>, DatasetError> {
        match std::fs::read(self.file(id)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(self.tree.get(key(b'b', id))?.map(|v| v.to_vec())),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a data set, durably; `false` if there was none. Blocks on the flush. The
    /// payload file goes first, so space is freed and the delete holds even when sled takes no
    /// write (a full disk): the summary left behind is not listed, and [`DatasetStore::recover`]
    /// removes it.
    pub fn delete(&self, id: u64) -> Result<bool, DatasetError> {
        if self.summary(id)?.is_none() {
            return Ok(false);
        }
        let had_file = match std::fs::remove_file(self.file(id)) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(e.into()),
        };
        if had_file {
            sync_dir(&self.files)?;
        }
        let mut batch = sled::Batch::default();
        batch.remove(&key(b'm', id));
        batch.remove(&key(b'b', id));
        let forgotten =
            self.tree.apply_batch(batch).map_err(DatasetError::from).and_then(|()| Ok(self.store.flush_blocking()?));
        match forgotten {
            Err(err) if had_file && err.is_storage_full() => {
                tracing::warn!(id, %err, "data set deleted (its file is gone); its summary goes once the database takes writes");
                Ok(true)
            }
            Err(err) => Err(err),
            Ok(()) => Ok(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::dataset::parse_ohlc_csv;

    #[test]
    fn insert_list_get_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let ds = DatasetStore::open(&store).unwrap();
        let csv = b"timestamp,symbol,open,high,low,close,volume\n\
            2024-03-01T00:00:00Z,AAA,1,2,0.5,1.5,10\n2024-03-01T00:01:00Z,AAA,1,2,0.5,1.25,10\n\
            2024-03-01T00:00:00Z,BBB,3,4,2.5,3.5,10\n";
        let parsed = parse_ohlc_csv(csv, "g.csv").unwrap();
        let s = ds.insert_all(&[("a".into(), parsed.clone()), ("b".into(), parsed.clone())], Limits::NONE).unwrap();
        assert_eq!((s[0].id, s[1].id), (1, 2));
        assert_eq!(s[0].rows, 3);
        assert_eq!(s[0].symbols[0].last_close, 1.25);
        assert_eq!(ds.list().unwrap().len(), 2);
        assert_eq!(ds.get(2).unwrap().as_ref(), Some(&parsed));
        assert!(ds.delete(1).unwrap());
        assert!(!ds.delete(1).unwrap());
        assert_eq!(ds.list().unwrap().iter().map(|s| s.id).collect::<Vec<_>>(), vec![2]);
        assert_eq!(ds.insert_all(&[("c".into(), parsed.clone())], Limits::NONE).unwrap()[0].id, 3);
        // A data set stored as JSON (before the binary encoding) still reads back.
        std::fs::remove_file(ds.file(3)).unwrap();
        assert!(ds.get(3).unwrap().is_none() && ds.list().unwrap().len() == 1, "a payload gone is a data set gone");
        ds.tree.insert(key(b'b', 3), serde_json::to_vec(&parsed).unwrap()).unwrap();
        assert_eq!(ds.get(3).unwrap().as_ref(), Some(&parsed));
        assert!(ds.delete(3).unwrap() && ds.get(3).unwrap().is_none());
    }

    /// An empty store and a one-row data set to put in it.
    fn one_row_store() -> (tempfile::TempDir, DatasetStore, (String, Dataset)) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let ds = DatasetStore::open(&store).unwrap();
        let csv = b"timestamp,symbol,open,high,low,close,volume\n2024-03-01T00:00:00Z,AAA,1,2,0.5,1.5,10\n";
        (dir, ds, ("a".to_string(), parse_ohlc_csv(csv, "a.csv").unwrap()))
    }

    #[test]
    fn payloads_are_files_and_recovery_removes_what_a_crash_left_half_done() {
        let (_dir, ds, item) = one_row_store();
        let kept = ds.insert_all(std::slice::from_ref(&item), Limits::NONE).unwrap().remove(0);
        let cut = ds.insert_all(std::slice::from_ref(&item), Limits::NONE).unwrap().remove(0);
        assert_eq!(std::fs::metadata(ds.file(kept.id)).unwrap().len(), kept.stored_bytes);
        // A delete cut short after its file went: not listed, its summary removed at start.
        std::fs::remove_file(ds.file(cut.id)).unwrap();
        // An upload cut short before its summary: an orphan file, and a temporary one.
        std::fs::write(ds.files.join("99.bin"), b"x").unwrap();
        std::fs::write(ds.files.join("100.tmp"), b"x").unwrap();
        assert_eq!(ds.list().unwrap().iter().map(|s| s.id).collect::<Vec<_>>(), vec![kept.id]);
        assert_eq!(ds.recover().unwrap(), 3);
        assert!(!ds.files.join("99.bin").exists() && !ds.files.join("100.tmp").exists());
        assert!(ds.summary(cut.id).unwrap().is_none() && ds.tree.get(key(b'm', cut.id)).unwrap().is_none());
        assert_eq!(ds.get(kept.id).unwrap().as_ref(), Some(&item.1));
        assert_eq!(ds.recover().unwrap(), 0);
    }

    #[test]
    fn quotas_refuse_the_upload_past_them_and_deletes_make_room() {
        let (_dir, ds, item) = one_row_store();
        let one = ds.insert_all(std::slice::from_ref(&item), Limits::NONE).unwrap().remove(0);
        assert!(one.stored_bytes > 0);
        assert_eq!(ds.usage().unwrap(), (1, one.stored_bytes));
        let two = Limits { max_count: 2, max_bytes: crate::cli::ByteSize(u64::MAX) };
        ds.insert_all(std::slice::from_ref(&item), two).unwrap();
        let err = ds.insert_all(std::slice::from_ref(&item), two).unwrap_err();
        assert!(matches!(err, DatasetError::TooMany { stored: 2, max: 2 }), "{err}");
        assert!(err.to_string().contains("--max-datasets 2"), "{err}");
        // Bytes: room for exactly the two stored, not a third.
        let bytes = Limits { max_count: 10, max_bytes: crate::cli::ByteSize(2 * one.stored_bytes) };
        let err = ds.insert_all(std::slice::from_ref(&item), bytes).unwrap_err();
        assert!(matches!(err, DatasetError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("--max-dataset-bytes"), "{err}");
        assert_eq!(ds.list().unwrap().len(), 2, "a refused upload stores nothing");
        assert!(ds.delete(one.id).unwrap());
        ds.insert_all(std::slice::from_ref(&item), bytes).unwrap();
        ds.insert_all(std::slice::from_ref(&item), two).unwrap_err();
    }
}
