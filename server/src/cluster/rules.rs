//! Alert rules shared by every `serve --nats` through the [`RULES_BUCKET`] bucket (key =
//! rule id, value [`wire::encode_rule`]). A save or delete on any server goes to the bucket;
//! each server's follower makes its sled rules (`/api/alerts` lists them) and its engine's
//! rule set equal to the bucket's, so a rule made on one server is evaluated and shown on
//! all. The bucket's first user seeds it with its own rules (or the default rule), as an
//! embedded server seeds an empty database.

use std::collections::HashMap;
use std::sync::Arc;

use app::alerts::AlertRule;
use async_nats::jetstream;
use tokio::sync::watch;

use super::bucket::{Bucket, Entries, Follow};
use super::wire::{self, SharedRule};
use super::{ClusterError, RULES_BUCKET};
use crate::alerts::repo::AlertRepo;
use crate::alerts::{ActiveRules, AlertsHandle, RuleStorage};
use crate::shutdown::Shutdown;

/// A saved rule takes effect this long after the save: every server has its copy before the
/// first bar it is evaluated on starts (the bucket reaches them in milliseconds), so none
/// has already begun that bar with the rule missing.
const TAKES_EFFECT_AFTER_MS: i64 = 1_000;

/// When a rule saved now takes effect.
fn from_now() -> i64 {
    crate::market::now_ms() + TAKES_EFFECT_AFTER_MS
}

/// The rules bucket as the alerts API writes it.
#[derive(Clone)]
pub struct SharedRules {
    pub bucket: Bucket,
}

impl SharedRules {
    /// Saves `rule` to the bucket; returns once this server's copy has it.
    pub async fn put(&self, rule: &AlertRule) -> Result<(), ClusterError> {
        let shared = SharedRule { rule: rule.clone(), from_ms: from_now() };
        self.bucket.put(&rule.id, wire::encode_rule(&shared)).await
    }

    /// Deletes rule `id` from the bucket; false if it holds no such rule.
    pub async fn delete(&self, id: &str) -> Result<bool, ClusterError> {
        let held = self
            .bucket
            .kv
            .get(id)
            .await
            .map_err(|e| ClusterError::State { name: RULES_BUCKET.into(), detail: e.to_string() })?;
        if held.is_none() {
            return Ok(false);
        }
        self.bucket.delete(id).await?;
        Ok(true)
    }
}

/// Makes `alerts` keep its rules in the cluster's bucket: seeds an empty bucket with this
/// server's rules, then follows it.
pub async fn share(
    js: &jetstream::Context,
    alerts: AlertsHandle,
    tasks: &mut tokio::task::JoinSet<()>,
    shutdown: &Shutdown,
) -> Result<AlertsHandle, ClusterError> {
    let kv = super::open_bucket(js, RULES_BUCKET).await?;
    if Bucket::never_written(&kv).await? {
        let local = alerts.repo.rules().map_err(|e| ClusterError::State {
            name: RULES_BUCKET.into(),
            detail: format!("cannot read the local rules to seed it: {e}"),
        })?;
        tracing::info!(rules = local.len(), "seeding the shared rules bucket with this server's rules");
        for rule in local {
            let shared = SharedRule { rule, from_ms: from_now() };
            // A server starting at the same moment may have seeded the same rule: fine.
            if let Err(err) = kv.create(&shared.rule.id, wire::encode_rule(&shared).into()).await {
                tracing::debug!(%err, id = %shared.rule.id, "rule already seeded");
            }
        }
    }
    let follower = Follower { repo: alerts.repo.clone(), rules: alerts.rules.clone() };
    let bucket = Bucket::follow(kv, follower, tasks, shutdown).await?;
    Ok(alerts.with_storage(RuleStorage::Shared(Box::new(SharedRules { bucket }))))
}

/// Makes the local copy (sled and the engine's set) the bucket's content.
struct Follower {
    repo: AlertRepo,
    rules: Arc<watch::Sender<ActiveRules>>,
}

impl Follow for Follower {
    async fn apply(&mut self, entries: &Entries) -> usize {
        let mut refused = 0;
        let mut active = ActiveRules::default();
        for (key, value) in entries {
            match wire::decode_rule(key, value) {
                Ok(shared) => {
                    active.not_before.insert(shared.rule.id.clone(), shared.from_ms);
                    active.rules.push(shared.rule);
                }
                Err(err) => {
                    refused += 1;
                    tracing::warn!(%key, %err, "skipped an alert rule in {RULES_BUCKET} that is not one");
                }
            }
        }
        if let Err(err) = self.store_locally(&active.rules).await {
            // The engine still evaluates the bucket's rules; the local copy catches up on
            // the next change that can be written.
            tracing::error!(%err, "cannot update the local copy of the shared alert rules");
        }
        self.rules.send_replace(active);
        refused
    }
}

impl Follower {
    async fn store_locally(&self, rules: &[AlertRule]) -> Result<(), crate::alerts::repo::RepoError> {
        let stored: HashMap<String, AlertRule> = self.repo.rules()?.into_iter().map(|r| (r.id.clone(), r)).collect();
        let mut changed = false;
        for id in stored.keys().filter(|id| !rules.iter().any(|r| &r.id == *id)) {
            changed |= self.repo.delete(id)?;
        }
        for rule in rules.iter().filter(|r| stored.get(&r.id) != Some(*r)) {
            self.repo.upsert(rule)?;
            changed = true;
        }
        if changed {
            self.repo.flush_rules().await?;
        }
        Ok(())
    }
}
