//! Uploaded data sets shared by every `serve --nats` through the JetStream object store
//! [`DATASETS_BUCKET`]: an upload on one server also goes to the store as one object per
//! data set (the local file's own compact encoding, [`crate::datasets::codec`]; the name in
//! the object's description), and every server's follower imports the objects it does not
//! hold into its own data sets (under its own id, within its own `--max-datasets` and
//! `--max-dataset-bytes`), so `/api/datasets` lists them on every server. A delete on any
//! server deletes the object and every server's copy.
//!
//! Which local data set is which object is kept in the sled tree `shared_datasets`, written
//! before the object is put, so a server never imports its own upload back. An object that
//! does not decode, or is larger than the quota, is counted and skipped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, object_store};
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;

use super::ClusterError;
use crate::datasets::{codec, DatasetStore, DatasetSummary, Limits};
use crate::shutdown::Shutdown;
use crate::store::Store;

/// The object store holding every shared data set.
pub const DATASETS_BUCKET: &str = "PAIRDESK_DATASETS";
/// The sled tree mapping objects to local data sets: `o<object name>` → id, `i<id>` → name.
const LINKS_TREE: &str = "shared_datasets";

/// What the follower did, for `/api/health`.
#[derive(Default, Debug)]
pub struct DatasetCounters {
    pub shared: AtomicU64,
    pub imported: AtomicU64,
    pub removed: AtomicU64,
    /// Objects that are not data sets, or do not fit this server's quota.
    pub refused: AtomicU64,
    pub restarts: AtomicU64,
}

impl DatasetCounters {
    pub fn json(&self) -> serde_json::Value {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        serde_json::json!({
            "bucket": DATASETS_BUCKET,
            "shared": n(&self.shared),
            "imported": n(&self.imported),
            "removed": n(&self.removed),
            "refused": n(&self.refused),
            "restarts": n(&self.restarts),
        })
    }
}

/// This server's side of the shared data sets.
#[derive(Clone)]
pub struct SharedDatasets {
    objects: object_store::ObjectStore,
    store: Store,
    links: sled::Tree,
    /// Distinguishes this server's object names from every other's.
    instance: String,
    pub counters: Arc<DatasetCounters>,
}

fn object_key(name: &str) -> Vec<u8> {
    [b"o", name.as_bytes()].concat()
}

fn id_key(id: u64) -> Vec<u8> {
    [&b"i"[..], &id.to_be_bytes()].concat()
}

fn refused(counters: &DatasetCounters, name: &str, why: impl std::fmt::Display) {
    counters.refused.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(%name, %why, "skipped a shared data set");
}

impl SharedDatasets {
    /// Opens (creating it if missing) the object store and starts importing what it holds.
    pub async fn open(
        js: &jetstream::Context,
        store: &Store,
        limits: Limits,
        tasks: &mut tokio::task::JoinSet<()>,
        shutdown: &Shutdown,
    ) -> Result<Self, ClusterError> {
        let fail =
            |e: &dyn std::fmt::Display| ClusterError::Shared { name: DATASETS_BUCKET.into(), detail: e.to_string() };
        let objects = match js.get_object_store(DATASETS_BUCKET).await {
            Ok(objects) => objects,
            Err(_) => {
                let config = object_store::Config {
                    bucket: DATASETS_BUCKET.to_string(),
                    storage: jetstream::stream::StorageType::File,
                    ..Default::default()
                };
                match js.create_object_store(config).await {
                    Ok(objects) => objects,
                    // Created by another server meanwhile.
                    Err(create) => js.get_object_store(DATASETS_BUCKET).await.map_err(|_| fail(&create))?,
                }
            }
        };
        let links = store.open_tree(LINKS_TREE).map_err(|e| fail(&e))?;
        let instance = format!("{:016x}", rand::random::<u64>());
        let shared = SharedDatasets { objects, store: store.clone(), links, instance, counters: Default::default() };
        tasks.spawn(shared.clone().follow(limits, shutdown.clone()));
        Ok(shared)
    }

    /// After a local upload: puts each new data set into the store.
    pub async fn uploaded(&self, summaries: &[DatasetSummary]) {
        for summary in summaries {
            if let Err(err) = self.share(summary).await {
                tracing::error!(id = summary.id, %err, "cannot share an uploaded data set with the cluster");
            }
        }
    }

    async fn share(&self, summary: &DatasetSummary) -> Result<(), String> {
        let (store, id) = (self.store.clone(), summary.id);
        let bytes = tokio::task::spawn_blocking(move || {
            let dataset = DatasetStore::open(&store).and_then(|d| d.get(id)).map_err(|e| e.to_string())?;
            dataset.map(|d| codec::encode(&d)).ok_or_else(|| format!("data set {id} is gone"))
        })
        .await
        .map_err(|e| e.to_string())??;
        let name = format!("{}-{id}", self.instance);
        // Linked first, so this server's follower knows the object as its own.
        self.link(&name, id).map_err(|e| e.to_string())?;
        let meta = object_store::ObjectMetadata {
            name: name.clone(),
            description: Some(summary.name.clone()),
            ..Default::default()
        };
        // Durable before the object exists: a crash after the put must not re-import it.
        self.store.flush().await.map_err(|e| e.to_string())?;
        self.objects.put(meta, &mut bytes.as_slice()).await.map_err(|e| e.to_string())?;
        self.counters.shared.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// After a local delete of data set `id`: deletes its object (every server's copy follows).
    pub async fn deleted(&self, id: u64) {
        let Ok(Some(name)) = self.links.get(id_key(id)) else { return };
        let name = String::from_utf8_lossy(&name).into_owned();
        self.unlink(&name, id);
        if let Err(err) = self.objects.delete(&name).await {
            tracing::error!(%name, %err, "cannot delete a shared data set from the cluster");
        }
    }

    fn link(&self, name: &str, id: u64) -> Result<(), sled::Error> {
        self.links.insert(object_key(name), &id.to_be_bytes())?;
        self.links.insert(id_key(id), name.as_bytes())?;
        Ok(())
    }

    fn unlink(&self, name: &str, id: u64) {
        let _ = self.links.remove(object_key(name));
        let _ = self.links.remove(id_key(id));
    }

    fn linked(&self, name: &str) -> Option<u64> {
        let bytes = self.links.get(object_key(name)).ok()??;
        Some(u64::from_be_bytes(<[u8; 8]>::try_from(bytes.as_ref()).ok()?))
    }

    /// Follows the store until shutdown: imports new objects, removes deleted ones.
    async fn follow(self, limits: Limits, mut shutdown: Shutdown) {
        loop {
            let error = match self.objects.watch_with_history().await {
                Ok(mut watch) => loop {
                    let next = tokio::select! {
                        next = watch.next() => next,
                        () = shutdown.wait() => return,
                    };
                    match next {
                        Some(Ok(info)) => self.on_object(info, limits).await,
                        Some(Err(err)) => break err.to_string(),
                        None => break "the watch ended".to_string(),
                    }
                },
                Err(err) => err.to_string(),
            };
            self.counters.restarts.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%error, "data set watch failed; recreating it");
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                () = shutdown.wait() => return,
            }
        }
    }

    async fn on_object(&self, info: object_store::ObjectInfo, limits: Limits) {
        let local = self.linked(&info.name);
        if info.deleted {
            if let Some(id) = local {
                self.unlink(&info.name, id);
                let store = self.store.clone();
                let removed = tokio::task::spawn_blocking(move || DatasetStore::open(&store)?.delete(id)).await;
                if matches!(removed, Ok(Ok(true))) {
                    self.counters.removed.fetch_add(1, Ordering::Relaxed);
                }
            }
            return;
        }
        if local.is_some() {
            return;
        }
        // Bounded before reading: an object past this server's quota is not fetched at all.
        if info.size as u64 > limits.max_bytes.0 {
            return refused(&self.counters, &info.name, format!("{} bytes, over --max-dataset-bytes", info.size));
        }
        let mut bytes = Vec::with_capacity(info.size);
        let read = match self.objects.get(&info.name).await {
            Ok(mut object) => object.read_to_end(&mut bytes).await.map_err(|e| e.to_string()),
            Err(err) => Err(err.to_string()),
        };
        if let Err(err) = read {
            return refused(&self.counters, &info.name, err);
        }
        let dataset = match codec::decode(&bytes) {
            Ok(dataset) => dataset,
            Err(err) => return refused(&self.counters, &info.name, err),
        };
        let title: String = info.description.clone().unwrap_or_else(|| info.name.clone()).chars().take(200).collect();
        let store = self.store.clone();
        let inserted =
            tokio::task::spawn_blocking(move || DatasetStore::open(&store)?.insert_all(&[(title, dataset)], limits))
                .await;
        match inserted {
            Ok(Ok(summaries)) => {
                for summary in summaries {
                    if let Err(err) = self.link(&info.name, summary.id) {
                        tracing::error!(%err, "cannot record an imported data set");
                    }
                }
                if let Err(err) = self.store.flush().await {
                    tracing::error!(%err, "cannot record an imported data set");
                }
                self.counters.imported.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Err(err)) => refused(&self.counters, &info.name, err),
            Err(err) => refused(&self.counters, &info.name, err),
        }
    }
}
