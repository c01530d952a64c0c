//! Alert rules and events in sled: rules keyed by id (JSON), events keyed by time so the
//! newest are a reverse range scan away.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use app::alerts::{AlertEvent, AlertRule};

use crate::store::{Store, StoreError};

/// Id of the rule the Live page's z-entry slider edits.
pub const DEFAULT_RULE_ID: &str = "default";

#[derive(Clone)]
pub struct AlertRepo {
    rules: sled::Tree,
    events: sled::Tree,
    seq: Arc<AtomicU64>,
    /// Flushes go through the store, which reports a failing disk.
    store: Store,
}

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database error: {0}")]
    Sled(#[from] sled::Error),
    #[error("stored alert data is unreadable: {0}")]
    Corrupt(String),
    #[error("{stored} alert rules are stored, the most allowed (--max-alert-rules {max}); delete one to add another")]
    TooMany { stored: usize, max: usize },
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    #[error("{views} Theil–Sen views are watched by rules, the most allowed ({max}): each costs ~16 ms per closed 1s bar (its fit is quadratic in the view's bars); reuse one of their views or another hedge method")]
    TooManyTheilSen { views: usize, max: usize },
}

impl RepoError {
    /// Whether the disk is full.
    pub fn is_storage_full(&self) -> bool {
        match self {
            RepoError::Sled(e) => crate::store::is_storage_full(e),
            RepoError::Store(e) => e.is_storage_full(),
            _ => false,
        }
    }
}

impl AlertRepo {
    pub fn open(store: &Store) -> Result<Self, RepoError> {
        Ok(Self {
            rules: store.open_tree("alert_rules")?,
            events: store.open_tree("alert_events")?,
            seq: Arc::default(),
            store: store.clone(),
        })
    }

    pub fn rules(&self) -> Result<Vec<AlertRule>, RepoError> {
        self.rules
            .iter()
            .values()
            .map(|v| {
                let bytes = v?;
                serde_json::from_slice(&bytes).map_err(|e| RepoError::Corrupt(e.to_string()))
            })
            .collect()
    }

    pub fn upsert(&self, rule: &AlertRule) -> Result<(), RepoError> {
        self.store.check_writable()?;
        let json = serde_json::to_vec(rule).map_err(|e| RepoError::Corrupt(e.to_string()))?;
        self.rules.insert(rule.id.as_bytes(), json)?;
        Ok(())
    }

    /// Removes a rule; `false` if there was none.
    pub fn delete(&self, id: &str) -> Result<bool, RepoError> {
        Ok(self.rules.remove(id.as_bytes())?.is_some())
    }

    /// Makes every rule change so far durable (sled flushes the whole database log).
    pub async fn flush_rules(&self) -> Result<(), RepoError> {
        self.store.flush().await?;
        Ok(())
    }

    pub fn record(&self, event: &AlertEvent) -> Result<(), RepoError> {
        let mut key = Vec::with_capacity(16);
        key.extend_from_slice(&((event.t_ms as u64) ^ (1 << 63)).to_be_bytes());
        key.extend_from_slice(&self.seq.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        let json = serde_json::to_vec(event).map_err(|e| RepoError::Corrupt(e.to_string()))?;
        self.events.insert(key, json)?;
        Ok(())
    }

    /// The newest `limit` events, newest first.
    pub fn recent_events(&self, limit: usize) -> Result<Vec<AlertEvent>, RepoError> {
        self.events
            .iter()
            .values()
            .rev()
            .take(limit)
            .map(|v| {
                let bytes = v?;
                serde_json::from_slice(&bytes).map_err(|e| RepoError::Corrupt(e.to_string()))
            })
            .collect()
    }
}
