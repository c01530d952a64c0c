//! Server-side alerting: rules and events persisted in sled ([`repo`]), evaluated on every
//! closed bar of every rule's view whether or not a page is open ([`engine`]), pushed to
//! browsers and optionally POSTed to a webhook per rule ([`webhook`]).
//!
//! In cluster mode the rules live in a shared bucket that this server's sled follows
//! ([`RuleStorage::Shared`], [`crate::cluster::rules`]) and webhooks go through the cluster's
//! alert stream ([`webhook::Delivery::Cluster`]); everything else is the same code.

pub mod engine;
pub mod repo;
pub mod webhook;

pub use engine::AlertEngine;
pub use repo::AlertRepo;

use std::collections::HashMap;
use std::sync::Arc;

use app::alerts::{AlertEvent, AlertMetric, AlertRule, Comparison};
use app::view::{ViewAnalytics, ViewSpec};
use tokio::sync::{broadcast, watch};

use crate::pipeline::BarUpdate;
use crate::shutdown::Shutdown;
use crate::store::Store;

/// Default of `--max-alert-rules`.
pub const DEFAULT_MAX_RULES: usize = 100;

/// Most distinct Theil–Sen views rules may watch. A view is evaluated once per closed bar
/// whatever number of rules share it, on the bars a page holds; Theil–Sen's fit is quadratic
/// in them (~16 ms for a full 1s view, BENCHMARKS.md "Alert rules"), the other methods'
/// linear (< 1 ms): ten bound the worst case to ~0.16 s of the blocking pool per second.
pub const MAX_THEIL_SEN_VIEWS: usize = 10;

/// The rules the engine evaluates. In cluster mode each has the time it was saved, and is
/// evaluated from the first bar starting then or later, so every server starts it on the same
/// bar; a rule without one (embedded mode) starts at the next closed bar.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ActiveRules {
    pub rules: Vec<AlertRule>,
    pub not_before: HashMap<String, i64>,
}

impl ActiveRules {
    /// Rules evaluated from their next closed bar.
    pub fn local(rules: Vec<AlertRule>) -> Self {
        ActiveRules { rules, not_before: HashMap::new() }
    }
}

/// Where rules are kept: this server's sled alone, or the cluster's bucket with sled as
/// this server's copy (the bucket's follower writes it and the live rule set).
#[derive(Clone)]
pub enum RuleStorage {
    Local,
    Shared(Box<crate::cluster::rules::SharedRules>),
}

/// What the HTTP API needs to edit rules: the repo, the live rule set, the known symbols.
#[derive(Clone)]
pub struct AlertsHandle {
    pub repo: AlertRepo,
    pub rules: Arc<watch::Sender<ActiveRules>>,
    pub symbols: crate::symbols::Symbols,
    /// `--max-alert-rules`: a new rule past it is refused (replacing one always works).
    pub max_rules: usize,
    /// Makes the count check and the save one step across concurrent requests.
    saving: Arc<tokio::sync::Mutex<()>>,
    pub storage: RuleStorage,
}

impl AlertsHandle {
    pub fn with_max_rules(self, max_rules: usize) -> Self {
        AlertsHandle { max_rules, ..self }
    }

    /// The same handle keeping its rules in `storage`.
    pub fn with_storage(self, storage: RuleStorage) -> Self {
        AlertsHandle { storage, ..self }
    }

    /// Saves a rule durably (returns after the flush) and hands the new rule set to the engine.
    /// A new id past [`AlertsHandle::max_rules`] is refused ([`repo::RepoError::TooMany`]).
    pub async fn upsert(&self, rule: AlertRule) -> Result<AlertRule, repo::RepoError> {
        let _saving = self.saving.lock().await;
        let stored = self.rules.borrow().rules.len();
        if stored >= self.max_rules && !self.rules.borrow().rules.iter().any(|r| r.id == rule.id) {
            return Err(repo::RepoError::TooMany { stored, max: self.max_rules });
        }
        if rule.view.analytics.hedge == app::analytics::live_view::HedgeMethod::TheilSen {
            let rules = self.rules.borrow();
            let views: std::collections::HashSet<&ViewSpec> = rules
                .rules
                .iter()
                .filter(|r| r.id != rule.id && r.view.analytics.hedge == rule.view.analytics.hedge)
                .map(|r| &r.view)
                .collect();
            if views.len() >= MAX_THEIL_SEN_VIEWS && !views.contains(&rule.view) {
                return Err(repo::RepoError::TooManyTheilSen { views: views.len(), max: MAX_THEIL_SEN_VIEWS });
            }
        }
        match &self.storage {
            RuleStorage::Local => {
                self.repo.upsert(&rule)?;
                self.repo.flush_rules().await?;
                self.publish()?;
            }
            RuleStorage::Shared(shared) => shared.put(&rule).await?,
        }
        Ok(rule)
    }

    /// Removes a rule durably; `false` if there was none.
    pub async fn delete(&self, id: &str) -> Result<bool, repo::RepoError> {
        let _saving = self.saving.lock().await;
        match &self.storage {
            RuleStorage::Local => {
                let removed = self.repo.delete(id)?;
                self.repo.flush_rules().await?;
                self.publish()?;
                Ok(removed)
            }
            RuleStorage::Shared(shared) => Ok(shared.delete(id).await?),
        }
    }

    fn publish(&self) -> Result<(), repo::RepoError> {
        self.rules.send_replace(ActiveRules::local(self.repo.rules()?));
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
        view: ViewSpec {
            x: pair.0.clone(),
            y: pair.1.clone(),
            interval_ms: 1_000,
            analytics: ViewAnalytics { window: 60, corr_window: 30, hedge: Default::default() },
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
    delivery: webhook::Delivery,
) -> anyhow::Result<AlertsHandle> {
    let repo = AlertRepo::open(store)?;
    let mut rules = repo.rules()?;
    if rules.is_empty() {
        let rule = default_rule(pair);
        repo.upsert(&rule)?;
        rules.push(rule);
    }
    let (rules_tx, rules_rx) = watch::channel(ActiveRules::local(rules));
    // Each watched view starts from the bars a page's snapshot would hold.
    let seed_store = store.clone();
    let seed: engine::SeedBars =
        Arc::new(move |symbol, interval_ms, limit| seed_store.recent_bars(symbol, interval_ms, limit));
    let engine = AlertEngine {
        repo: repo.clone(),
        rules: rules_rx,
        bars: bars.subscribe(),
        events: events.clone(),
        delivery,
        seed,
    };
    tasks.spawn(engine.run(shutdown.clone()));
    Ok(AlertsHandle {
        repo,
        rules: Arc::new(rules_tx),
        symbols: symbols.clone(),
        max_rules: DEFAULT_MAX_RULES,
        saving: Arc::default(),
        storage: RuleStorage::Local,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::analytics::live_view::HedgeMethod;

    #[tokio::test]
    async fn theil_sen_rules_are_bounded_by_distinct_views_not_by_rules() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let (bars, _) = broadcast::channel(4);
        let (events, _) = broadcast::channel(4);
        let (_trigger, shutdown) = crate::shutdown::channel();
        let mut tasks = tokio::task::JoinSet::new();
        let symbols = crate::symbols::Symbols::fixed(&["BTCUSDT".into(), "ETHUSDT".into()]);
        let pair = ("BTCUSDT".to_string(), "ETHUSDT".to_string());
        let delivery = webhook::Delivery::Direct(webhook::WebhookSender::new(&[]));
        let handle = start(&store, &symbols, &pair, (&bars, &events), &mut tasks, &shutdown, delivery).expect("start");
        let theil_sen = |id: usize, window: usize| AlertRule {
            id: format!("ts{id}"),
            view: ViewSpec {
                analytics: ViewAnalytics { window, corr_window: 30, hedge: HedgeMethod::TheilSen },
                ..default_rule(&pair).view
            },
            ..default_rule(&pair)
        };
        for i in 0..MAX_THEIL_SEN_VIEWS {
            handle.upsert(theil_sen(i, 20 + i)).await.expect("a new Theil–Sen view within the bound");
        }
        // More rules on a watched view cost nothing more; a new view is refused, clearly.
        handle.upsert(theil_sen(100, 20)).await.expect("a rule on an already watched view");
        let refused = handle.upsert(theil_sen(101, 99)).await.expect_err("an eleventh view");
        assert!(matches!(refused, repo::RepoError::TooManyTheilSen { views: 10, max: 10 }), "{refused}");
        assert!(refused.to_string().contains("Theil–Sen views"), "{refused}");
        // Other methods are not bounded this way; editing a Theil–Sen rule in place is fine.
        let ols = AlertRule { id: "ols".into(), ..theil_sen(102, 99) };
        let ols = AlertRule {
            view: ViewSpec {
                analytics: ViewAnalytics { hedge: HedgeMethod::Ols, ..ols.view.analytics },
                ..ols.view.clone()
            },
            ..ols
        };
        handle.upsert(ols).await.expect("an OLS view");
        // ts9 alone watches window 29: moving it frees that view. ts0 shares window 20 with
        // ts100, so moving ts0 would make eleven.
        handle.upsert(theil_sen(9, 77)).await.expect("ts9 moved to another view: still ten");
        assert!(handle.upsert(theil_sen(0, 78)).await.is_err(), "ts0's view stays watched by ts100");
    }
}
