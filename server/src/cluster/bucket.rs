//! Following a JetStream key-value bucket: every process that shares some state (the alert
//! rules, the symbol set) keeps the bucket's current entries in memory and hands the whole
//! set to its owner ([`Follow::apply`]) once it is known at start and again after each
//! change. Owners derive their state from the entries alone, so a missed or repeated change
//! cannot leave two processes disagreeing for longer than one more change.
//!
//! Writes go to the bucket first and answer only once this process's follower has applied
//! them ([`Bucket::put`], [`Bucket::delete`]): what a request changed is visible in the
//! next request to the same server, and the bucket (not the local copy) decides the order
//! of two concurrent writes.
//!
//! The watch is an ordered consumer on the bucket's stream: at start it delivers the last
//! value of every key, then changes. When it fails (NATS restarted) it is recreated from the
//! revision after the last one applied, so no change is missed or applied twice.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::kv::{self, Operation};
use futures_util::StreamExt;
use tokio::sync::watch;

use super::ClusterError;
use crate::shutdown::Shutdown;

/// A bucket's current entries: key → value.
pub type Entries = BTreeMap<String, Vec<u8>>;

/// Most keys one bucket is followed for; more are counted and skipped (a bound on what
/// anyone who can write to the bucket can make every process hold).
const MAX_ENTRIES: usize = 10_000;
/// Longest a write waits for the follower to apply it, and the first snapshot may take.
const APPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause before a failed watch is recreated.
const RETRY_WAIT: Duration = Duration::from_millis(500);

/// The owner of some shared state.
pub trait Follow: Send + 'static {
    /// Takes the bucket's whole current content; returns how many entries it refused
    /// (malformed or invalid: they are skipped, never fatal).
    fn apply(&mut self, entries: &Entries) -> impl Future<Output = usize> + Send;
}

/// What a follower saw, for `/api/health`.
#[derive(Default, Debug)]
pub struct BucketCounters {
    /// Changes applied since start.
    pub changes: AtomicU64,
    /// Entries of the current content the owner refused.
    pub refused: AtomicU64,
    /// Keys past [`MAX_ENTRIES`] skipped.
    pub over_limit: AtomicU64,
    /// Watches recreated after an error.
    pub restarts: AtomicU64,
}

/// A followed bucket: writes to it, and how far this process has applied it.
#[derive(Clone)]
pub struct Bucket {
    pub kv: kv::Store,
    pub counters: Arc<BucketCounters>,
    /// Revision of the last change applied here; None until the first content is applied.
    applied: watch::Receiver<Option<u64>>,
}

impl Bucket {
    /// Starts following `kv` on a task of `tasks`; returns once its current content has been
    /// applied by `follower`.
    pub async fn follow<F: Follow>(
        kv: kv::Store,
        follower: F,
        tasks: &mut tokio::task::JoinSet<()>,
        shutdown: &Shutdown,
    ) -> Result<Bucket, ClusterError> {
        let (applied_tx, mut applied) = watch::channel(None);
        let counters = Arc::new(BucketCounters::default());
        tasks.spawn(run(kv.clone(), follower, applied_tx, counters.clone(), shutdown.clone()));
        let ready = matches!(tokio::time::timeout(APPLY_TIMEOUT, applied.wait_for(Option::is_some)).await, Ok(Ok(_)));
        if !ready {
            let detail = "cannot read the bucket's current content".into();
            return Err(ClusterError::State { name: kv.name.clone(), detail });
        }
        Ok(Bucket { kv, counters, applied })
    }

    /// Whether nothing was ever written to the bucket (its first user seeds it).
    pub async fn never_written(kv: &kv::Store) -> Result<bool, ClusterError> {
        let mut stream = kv.stream.clone();
        let info = stream.info().await.map_err(|e| state_error(kv, e))?;
        Ok(info.state.last_sequence == 0)
    }

    /// Writes `key`, returning once this process has applied the change.
    pub async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), ClusterError> {
        let revision = self.kv.put(key, value.into()).await.map_err(|e| state_error(&self.kv, e))?;
        self.applied_through(revision).await
    }

    /// Writes `key` unless it holds a value; false if it did. Returns once applied here.
    pub async fn create(&self, key: &str, value: Vec<u8>) -> Result<bool, ClusterError> {
        match self.kv.create(key, value.into()).await {
            Ok(revision) => self.applied_through(revision).await.map(|()| true),
            Err(err) if err.kind() == kv::CreateErrorKind::AlreadyExists => Ok(false),
            Err(err) => Err(state_error(&self.kv, err)),
        }
    }

    /// Deletes `key`, returning once this process has applied the change.
    pub async fn delete(&self, key: &str) -> Result<(), ClusterError> {
        self.kv.delete(key).await.map_err(|e| state_error(&self.kv, e))?;
        // The delete does not say its revision; the stream's last one is it or later.
        let mut stream = self.kv.stream.clone();
        let info = stream.info().await.map_err(|e| state_error(&self.kv, e))?;
        self.applied_through(info.state.last_sequence).await
    }

    async fn applied_through(&self, revision: u64) -> Result<(), ClusterError> {
        let mut applied = self.applied.clone();
        let seen = applied.wait_for(|a| a.is_some_and(|a| a >= revision));
        if matches!(tokio::time::timeout(APPLY_TIMEOUT, seen).await, Ok(Ok(_))) {
            return Ok(());
        }
        Err(ClusterError::State {
            name: self.kv.name.clone(),
            detail: format!("revision {revision} was written but not seen back within {APPLY_TIMEOUT:?}"),
        })
    }

    pub fn health(&self) -> serde_json::Value {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        serde_json::json!({
            "bucket": self.kv.name,
            "applied_revision": *self.applied.borrow(),
            "changes": n(&self.counters.changes),
            "refused": n(&self.counters.refused),
            "over_limit": n(&self.counters.over_limit),
            "restarts": n(&self.counters.restarts),
        })
    }
}

fn state_error(kv: &kv::Store, err: impl std::fmt::Display) -> ClusterError {
    ClusterError::State { name: kv.name.clone(), detail: err.to_string() }
}

/// The follower task: (re)creates the watch, keeps the entries, hands them to `follower`.
async fn run<F: Follow>(
    kv: kv::Store,
    mut follower: F,
    applied: watch::Sender<Option<u64>>,
    counters: Arc<BucketCounters>,
    mut shutdown: Shutdown,
) {
    let mut entries = Entries::new();
    // Revision of the last entry seen; None until the first watch has started.
    let mut last: Option<u64> = None;
    // Whether the current content has been applied once (the snapshot is complete).
    let mut current = false;
    loop {
        let watch = match last {
            Some(revision) => kv.watch_all_from_revision(revision + 1).await.map_err(|e| e.to_string()),
            None => match Bucket::never_written(&kv).await {
                Ok(empty) => {
                    if empty {
                        // Nothing to wait for: the content is known to be empty.
                        counters.refused.store(follower.apply(&entries).await as u64, Ordering::Relaxed);
                        applied.send_replace(Some(0));
                        current = true;
                    }
                    // The last value of every key, then every change.
                    kv.watch_with_history(">").await.map_err(|e| e.to_string())
                }
                Err(err) => Err(err.to_string()),
            },
        };
        let error = match watch {
            Ok(mut watch) => loop {
                let entry = tokio::select! {
                    entry = watch.next() => entry,
                    () = shutdown.wait() => return,
                };
                let entry = match entry {
                    Some(Ok(entry)) => entry,
                    Some(Err(err)) => break err.to_string(),
                    None => break "the watch ended".to_string(),
                };
                match entry.operation {
                    Operation::Put if entries.len() >= MAX_ENTRIES && !entries.contains_key(&entry.key) => {
                        counters.over_limit.fetch_add(1, Ordering::Relaxed);
                    }
                    Operation::Put => {
                        entries.insert(entry.key, entry.value.to_vec());
                    }
                    Operation::Delete | Operation::Purge => {
                        entries.remove(&entry.key);
                    }
                }
                last = Some(entry.revision);
                // The snapshot is complete at the entry nothing is pending behind.
                if current || entry.delta == 0 {
                    if current {
                        counters.changes.fetch_add(1, Ordering::Relaxed);
                    }
                    current = true;
                    counters.refused.store(follower.apply(&entries).await as u64, Ordering::Relaxed);
                    applied.send_replace(Some(entry.revision));
                }
            },
            Err(err) => err,
        };
        counters.restarts.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(bucket = %kv.name, %error, "bucket watch failed; recreating it");
        tokio::select! {
            () = tokio::time::sleep(RETRY_WAIT) => {}
            () = shutdown.wait() => return,
        }
    }
}
