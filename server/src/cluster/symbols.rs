//! The symbol set shared through the [`SYMBOLS_BUCKET`] bucket (key = upper-case symbol,
//! value [`wire::encode_symbol`]): `/api/symbols` on any server adds or deletes a key, and
//! every server (its pickers, screener, rule checks) and every ingest process (which
//! (UN)SUBSCRIBEs on its exchange connection) follows the bucket. The set is ordered by
//! when each symbol was added. The bucket's first user seeds it with its `--symbols`; after
//! that the bucket, not the command line, is the set.

use std::sync::Arc;

use async_nats::jetstream;
use tokio::sync::{mpsc, watch};

use super::bucket::{Bucket, Entries, Follow};
use super::{wire, ClusterError, SYMBOLS_BUCKET};
use crate::ingest::client::IngestCommand;
use crate::shutdown::Shutdown;

/// The symbols bucket as `/api/symbols` writes it.
#[derive(Clone)]
pub struct SharedSymbols {
    pub bucket: Bucket,
}

impl SharedSymbols {
    /// Adds `symbol` (upper case); returns once this process's set has it.
    pub async fn add(&self, symbol: &str) -> Result<(), ClusterError> {
        self.bucket.put(symbol, wire::encode_symbol(crate::market::now_ms())).await
    }

    /// Removes `symbol`; returns once this process's set no longer has it.
    pub async fn remove(&self, symbol: &str) -> Result<(), ClusterError> {
        self.bucket.delete(symbol).await
    }
}

/// Opens the bucket (seeding it with `seed` if it was never written) and keeps `current` equal
/// to its set; returns once `current` holds the bucket's set.
pub async fn follow(
    js: &jetstream::Context,
    seed: &[String],
    current: Arc<watch::Sender<Vec<String>>>,
    tasks: &mut tokio::task::JoinSet<()>,
    shutdown: &Shutdown,
) -> Result<SharedSymbols, ClusterError> {
    let kv = super::open_bucket(js, SYMBOLS_BUCKET).await?;
    if Bucket::never_written(&kv).await? {
        tracing::info!(?seed, "seeding the shared symbols bucket");
        let now = crate::market::now_ms();
        for (i, symbol) in seed.iter().enumerate() {
            let symbol = symbol.to_ascii_uppercase();
            // Added a millisecond apart, so the set keeps the command line's order.
            if let Err(err) = kv.create(&symbol, wire::encode_symbol(now + i as i64).into()).await {
                tracing::debug!(%err, %symbol, "symbol already seeded");
            }
        }
    }
    let bucket = Bucket::follow(kv, Follower { current }, tasks, shutdown).await?;
    Ok(SharedSymbols { bucket })
}

struct Follower {
    current: Arc<watch::Sender<Vec<String>>>,
}

impl Follow for Follower {
    async fn apply(&mut self, entries: &Entries) -> usize {
        let mut refused = 0;
        let mut set = Vec::new();
        for (key, value) in entries {
            match wire::decode_symbol(key, value) {
                Ok(entry) => set.push(entry),
                Err(err) => {
                    refused += 1;
                    tracing::warn!(%key, %err, "skipped an entry of {SYMBOLS_BUCKET} that is not a symbol");
                }
            }
        }
        set.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        let set: Vec<String> = set.into_iter().map(|(symbol, _)| symbol).collect();
        self.current.send_if_modified(|current| {
            let changed = *current != set;
            if changed {
                current.clone_from(&set);
            }
            changed
        });
        refused
    }
}

/// An ingest process's side: turns each change of the followed set into (UN)SUBSCRIBE
/// commands for its exchange connection, which started with `subscribed`. A symbol added is
/// first told where `stream` stops for it (it may have been ingested before, by any
/// process), so the ingest backfills from there rather than starting at its first live trade.
pub async fn drive_ingest(
    stream: async_nats::jetstream::stream::Stream,
    mut set: watch::Receiver<Vec<String>>,
    mut subscribed: Vec<String>,
    commands: mpsc::Sender<IngestCommand>,
    mut shutdown: Shutdown,
) {
    loop {
        tokio::select! {
            changed = set.changed() => if changed.is_err() { return },
            () = shutdown.wait() => return,
        }
        let now = set.borrow_and_update().clone();
        let added: Vec<String> =
            now.iter().filter(|s| !subscribed.contains(s)).map(|s| s.to_ascii_lowercase()).collect();
        let removed: Vec<String> =
            subscribed.iter().filter(|s| !now.contains(s)).map(|s| s.to_ascii_lowercase()).collect();
        tracing::info!(?added, ?removed, "the shared symbol set changed");
        let upper: Vec<String> = added.iter().map(|s| s.to_ascii_uppercase()).collect();
        match super::publish::last_ids(&stream, &upper).await {
            Ok(ids) if !ids.is_empty() => {
                if commands.send(IngestCommand::ResumeAfter(ids.into_iter().collect())).await.is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(%err, "cannot read where the stream stops; the new symbols start live"),
        }
        for command in [
            (!added.is_empty()).then_some(IngestCommand::Subscribe(added)),
            (!removed.is_empty()).then_some(IngestCommand::Unsubscribe(removed)),
        ]
        .into_iter()
        .flatten()
        {
            if commands.send(command).await.is_err() {
                return;
            }
        }
        subscribed = now;
    }
}
