//! Server-side alerting: rules and events persisted in sled ([`repo`]), evaluated on every
//! closed bar of every rule's view whether or not a page is open ([`engine`]), pushed to
//! browsers and optionally POSTed to a webhook per rule ([`webhook`]).

pub mod engine;
pub mod repo;
pub mod webhook;

pub use engine::AlertEngine;
pub use repo::AlertRepo;

use std::sync::Arc;

use app::alerts::{AlertEvent, AlertMetric, AlertRule, AlertView, Comparison};
use tokio::sync::{broadcast, watch};

use crate::pipeline::BarUpdate;
use crate::shutdown::Shutdown;
use crate::store::Store;

/// Default of `--max-alert-rules`.
pub const DEFAULT_MAX_RULES: usize = 100;

/// What the HTTP API needs to edit rules: the repo, the live rule set, the known symbols.
#[derive(Clone)]
pub struct AlertsHandle {
    pub repo: AlertRepo,
    pub rules: Arc<watch::Sender<Vec<AlertRule>>>,
    pub symbols: crate::symbols::Symbols,
    /// `--max-alert-rules`: a new rule past it is refused (replacing one always works).
    pub max_rules: usize,
    /// Makes the count check and the save one step across concurrent requests.
    saving: Arc<tokio::sync::Mutex<()>>,
}

impl AlertsHandle {
    pub fn with_max_rules(self, max_rules: usize) -> Self {
        AlertsHandle { max_rules, ..self }
    }

    /// Saves a rule durably (returns after the flush) and hands the new rule set to the engine.
    /// A new id past [`AlertsHandle::max_rules`] is refused ([`repo::RepoError::TooMany`]).
    pub async fn upsert(&self, rule: AlertRule) -> Result<AlertRule, repo::RepoError> {
        let _saving = self.saving.lock().await;
        let stored = self.rules.borrow().len();
        if stored >= self.max_rules && !self.rules.borrow().iter().any(|r| r.id == rule.id) {
            return Err(repo::RepoError::TooMany { stored, max: self.max_rules });
        }
        self.repo.upsert(&rule)?;
        self.repo.flush_rules().await?;
        self.publish()?;
        Ok(rule)
    }

    /// Removes a rule durably; `false` if there was none.
    pub async fn delete(&self, id: &str) -> Result<bool, repo::RepoError> {
        let _saving = self.saving.lock().await;
        let removed = self.repo.delete(id)?;
        self.repo.flush_rules().await?;
        self.publish()?;
        Ok(removed)
    }

    fn publish(&self) -> Result<(), repo::RepoError> {
        self.rules.send_replace(self.repo.rules()?);
        Ok(())
    }
}

/// The rule the Live page's z-entry slider edits: |z| above 2 on the default pair.
pub fn default_rule(pair: &(String, String)) -> AlertRule {
    AlertRule {
        id: repo::DEFAULT_RULE_ID.into(),
        name: "z entry (Live slider)".into(),
        metric: AlertMetric::Zscore,
        comparison: Comparison::AbsAbove,
        threshold: 2.0,
        hysteresis: 0.5,
        view: AlertView {
            x: pair.0.clone(),
            y: pair.1.clone(),
            interval_ms: 1_000,
            window: 60,
            corr_window: 30,
            hedge: Default::default(),
        },
        webhook: None,
    }
}

/// Opens the repo (creating the default rule on first start) and spawns the engine.
pub fn start(
    store: &Store,
    symbols: &crate::symbols::Symbols,
    pair: &(String, String),
    (bars, events): (&broadcast::Sender<BarUpdate>, &broadcast::Sender<AlertEvent>),
    tasks: &mut tokio::task::JoinSet<()>,
    shutdown: &Shutdown,
    webhooks: webhook::WebhookSender,
) -> anyhow::Result<AlertsHandle> {
    let repo = AlertRepo::open(store)?;
    let mut rules = repo.rules()?;
    if rules.is_empty() {
        let rule = default_rule(pair);
        repo.upsert(&rule)?;
        rules.push(rule);
    }
    let (rules_tx, rules_rx) = watch::channel(rules);
    let engine =
        AlertEngine { repo: repo.clone(), rules: rules_rx, bars: bars.subscribe(), events: events.clone(), webhooks };
    tasks.spawn(engine.run(shutdown.clone()));
    Ok(AlertsHandle {
        repo,
        rules: Arc::new(rules_tx),
        symbols: symbols.clone(),
        max_rules: DEFAULT_MAX_RULES,
        saving: Arc::default(),
    })
}
