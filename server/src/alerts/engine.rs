//! Evaluates every alert rule on every closed bar of its view.
//!
//! Rules are grouped by the view they watch ([`ViewSpec`]); each distinct view holds
//! [`ViewBars`] — both legs' bars, seeded from the store as a page's snapshot is and kept
//! with the same [`app::view::apply_bar`] and the same cap ([`app::view::live_bars`]) — and
//! computes its values with [`app::view::analytics_values`], the computation the page and
//! the push feed run. So an alert fires on exactly the number the page shows at that bar,
//! for every hedge method, including the ones fitted over all loaded bars.
//!
//! A row (bar time `t`) is evaluated once both legs have closed their bar `t`, or, when one
//! leg has no bar at `t`, once a later bar shows up (the other leg is carried forward, the
//! union rule). Rules of one view share each evaluation; it runs on the blocking pool,
//! never on the async workers that answer requests. Its cost is one page analytics
//! recomputation per distinct view and closed bar (BENCHMARKS.md, "Alert rules").

use std::collections::HashMap;
use std::sync::Arc;

use app::alerts::{AlertEvent, AlertMetric, AlertRule, AlertState};
use app::protocol::Bar;
use app::view::{analytics_values, live_bars, AnalyticsValues, ViewBars, ViewSpec};
use tokio::sync::{broadcast, watch};

use super::repo::AlertRepo;
use super::webhook::Delivery;
use super::ActiveRules;
use crate::pipeline::BarUpdate;
use crate::shutdown::Shutdown;

/// Where a view's bars start: the latest `limit` bars of `symbol` at `interval_ms`, as a
/// page's snapshot has them (the store, in production).
pub type SeedBars = Arc<dyn Fn(&str, i64, usize) -> Vec<Bar> + Send + Sync>;

/// No seed: views start empty (tests, benchmarks).
pub fn no_seed() -> SeedBars {
    Arc::new(|_, _, _| Vec::new())
}

/// Every rule's state, grouped by the view it watches.
pub struct RuleSet {
    /// Rule, its fire/clear state, the first bar time it is evaluated at (if bounded).
    rules: HashMap<String, (AlertRule, AlertState, Option<i64>)>,
    views: HashMap<ViewSpec, ViewState>,
    seed: SeedBars,
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet::new(no_seed())
    }
}

impl RuleSet {
    pub fn new(seed: SeedBars) -> Self {
        RuleSet { rules: HashMap::new(), views: HashMap::new(), seed }
    }

    /// Keeps the state of unchanged rules, starts fresh for new or edited ones; a view no
    /// rule watches any more is dropped, a new one seeded.
    pub fn sync(&mut self, rules: &[AlertRule]) {
        self.sync_active(&ActiveRules::local(rules.to_vec()));
    }

    /// [`RuleSet::sync`], each rule evaluated from its `not_before` bar time if it has one.
    pub fn sync_active(&mut self, active: &ActiveRules) {
        let rules = &active.rules;
        let start = |id: &str| active.not_before.get(id).copied();
        self.rules.retain(|id, (rule, _, from)| rules.iter().any(|r| &r.id == id && r == rule) && *from == start(id));
        for rule in rules {
            self.rules.entry(rule.id.clone()).or_insert_with(|| (rule.clone(), AlertState::default(), start(&rule.id)));
        }
        self.views.retain(|spec, _| rules.iter().any(|r| &r.view == spec));
        for rule in rules {
            if !self.views.contains_key(&rule.view) {
                let state = ViewState::seeded(&rule.view, &self.seed);
                self.views.insert(rule.view.clone(), state);
            }
        }
    }

    /// Whether any rule watches this bar's symbol at its interval.
    pub fn wants(&self, update: &BarUpdate) -> bool {
        update.closed && self.views.keys().any(|v| wants(v, update))
    }

    /// The bars a view holds (what its rules are evaluated on).
    pub fn view_bars(&self, spec: &ViewSpec) -> Option<&ViewBars> {
        self.views.get(spec).map(|v| &v.bars)
    }

    /// Feeds a closed bar to every view it belongs to; the events it causes, with their rules.
    pub fn on_closed_bar(&mut self, update: &BarUpdate) -> Vec<(AlertRule, AlertEvent)> {
        let mut events = Vec::new();
        for (spec, view) in self.views.iter_mut().filter(|(spec, _)| wants(spec, update)) {
            // Price and volume rules need no analytics; skip them when no rule of the view does.
            let needs_values = self.rules.values().any(|(rule, _, _)| {
                &rule.view == spec && !matches!(rule.metric, AlertMetric::Price | AlertMetric::Volume)
            });
            for row in view.on_closed_bar(spec, update, needs_values) {
                for (rule, alert, from) in self.rules.values_mut().filter(|(rule, _, _)| &rule.view == spec) {
                    // Bars before a shared rule was saved are the same history for every
                    // server: none of them evaluates it there.
                    if from.is_some_and(|from| row.t < from) {
                        continue;
                    }
                    let value = match rule.metric {
                        AlertMetric::Price => row.x.map(|b| b.close),
                        AlertMetric::Volume => row.x.map(|b| b.volume),
                        AlertMetric::Zscore => row.values.and_then(|v| v.z),
                        AlertMetric::Spread => row.values.and_then(|v| v.spread),
                        AlertMetric::Correlation => row.values.and_then(|v| v.corr),
                    };
                    if let Some(event) = value.and_then(|value| alert.observe(rule, value, row.t)) {
                        events.push((rule.clone(), event));
                    }
                }
            }
        }
        events
    }
}

fn wants(spec: &ViewSpec, update: &BarUpdate) -> bool {
    update.interval_ms == spec.interval_ms && (update.symbol == spec.x || update.symbol == spec.y)
}

/// One view's bars and the row waiting for its other leg.
struct ViewState {
    bars: ViewBars,
    /// Time of the row waiting for the other leg's bar of the same time.
    pending_t: Option<i64>,
    /// Last row evaluated (a row is evaluated once).
    last_row: Option<i64>,
}

/// What one evaluated row gives the rules of its view.
struct Row {
    t: i64,
    /// The x leg's bar in force at `t` (carried forward).
    x: Option<Bar>,
    values: Option<AnalyticsValues>,
}

impl ViewState {
    fn seeded(spec: &ViewSpec, seed: &SeedBars) -> Self {
        let limit = live_bars(spec.interval_ms);
        let bars = ViewBars { x: seed(&spec.x, spec.interval_ms, limit), y: seed(&spec.y, spec.interval_ms, limit) };
        // Seeded rows were the page's history: the next closed bar is the first evaluated.
        let last_row = bars.x.last().into_iter().chain(bars.y.last()).map(|b| b.t).max();
        ViewState { bars, pending_t: None, last_row }
    }

    /// Applies a closed bar; the rows it completes, oldest first.
    fn on_closed_bar(&mut self, spec: &ViewSpec, update: &BarUpdate, needs_values: bool) -> Vec<Row> {
        let t = update.bar.t;
        let mut rows = Vec::new();
        // A newer bar completes the pending row with whatever the other leg had.
        if let Some(pending) = self.pending_t.filter(|p| *p < t) {
            self.pending_t = None;
            rows.extend(self.row(spec, pending, needs_values));
        }
        self.bars.apply(&spec.x, &spec.y, &update.symbol, update.bar, update.interval_ms);
        let has = |bars: &[Bar]| bars.last().is_some_and(|b| b.t == t);
        if has(&self.bars.x) && has(&self.bars.y) {
            self.pending_t = None;
            rows.extend(self.row(spec, t, needs_values));
        } else {
            self.pending_t = Some(t);
        }
        rows
    }

    /// The view's values on the bars up to `t` (what the page showed when `t` was its last
    /// row), once per row.
    fn row(&mut self, spec: &ViewSpec, t: i64, needs_values: bool) -> Option<Row> {
        if self.last_row.is_some_and(|last| last >= t) {
            return None;
        }
        self.last_row = Some(t);
        let upto = |bars: &[Bar]| bars.partition_point(|b| b.t <= t);
        let (x, y) = (&self.bars.x[..upto(&self.bars.x)], &self.bars.y[..upto(&self.bars.y)]);
        let values = needs_values.then(|| analytics_values(x, y, spec.interval_ms, spec.analytics)).flatten();
        Some(Row { t, x: x.last().copied(), values })
    }
}

/// The evaluation task's inputs and outputs.
pub struct AlertEngine {
    pub repo: AlertRepo,
    pub rules: watch::Receiver<ActiveRules>,
    pub bars: broadcast::Receiver<BarUpdate>,
    pub events: broadcast::Sender<AlertEvent>,
    /// Where the webhooks of rules that have one go.
    pub delivery: Delivery,
    /// Where a newly watched view's bars start.
    pub seed: SeedBars,
}

impl AlertEngine {
    pub async fn run(mut self, mut shutdown: Shutdown) {
        let mut set = RuleSet::new(self.seed.clone());
        set.sync_active(&self.rules.borrow_and_update());
        loop {
            tokio::select! {
                changed = self.rules.changed() => {
                    if changed.is_err() { return; }
                    set.sync_active(&self.rules.borrow_and_update());
                }
                update = self.bars.recv() => match update {
                    Ok(update) if set.wants(&update) => {
                        // The analytics run on the blocking pool; the set comes back with them.
                        let mut taken = std::mem::replace(&mut set, RuleSet::new(self.seed.clone()));
                        let evaluated = tokio::task::spawn_blocking(move || {
                            let events = taken.on_closed_bar(&update);
                            (taken, events)
                        });
                        match evaluated.await {
                            Ok((back, events)) => {
                                set = back;
                                for (rule, event) in events {
                                    self.emit(&rule, event);
                                }
                            }
                            // A panic in the analytics loses the windows, not the engine.
                            Err(err) => {
                                tracing::error!(%err, "alert evaluation failed; rules start over");
                                set.sync_active(&self.rules.borrow());
                            }
                        }
                    }
                    Ok(_) => {}
                    // Missed bars only delay evaluation to the next bar; the window refills.
                    Err(broadcast::error::RecvError::Lagged(n)) => tracing::warn!(n, "alert engine lagged behind bars"),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                () = shutdown.wait() => return,
            }
        }
    }

    fn emit(&self, rule: &AlertRule, event: AlertEvent) {
        tracing::info!(rule = %rule.name, kind = ?event.kind, value = event.value, "alert");
        if let Err(err) = self.repo.record(&event) {
            tracing::error!(%err, "cannot store an alert event");
        }
        if let Some(url) = &rule.webhook {
            self.delivery.deliver(url, &event);
        }
        // No browser listening is fine.
        let _ = self.events.send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::alerts::{AlertEventKind, Comparison};
    use app::analytics::live_view::HedgeMethod;
    use app::view::{apply_bar, ViewAnalytics};

    fn rule(metric: AlertMetric, comparison: Comparison, threshold: f64) -> AlertRule {
        AlertRule {
            id: "r".into(),
            name: "test".into(),
            metric,
            comparison,
            threshold,
            hysteresis: 0.0,
            view: ViewSpec {
                x: "BTCUSDT".into(),
                y: "ETHUSDT".into(),
                interval_ms: 1000,
                analytics: ViewAnalytics { window: 20, corr_window: 10, hedge: Default::default() },
            },
            webhook: None,
        }
    }

    fn bar(t: i64, close: f64) -> Bar {
        Bar { t, open: close, high: close, low: close, close, volume: 2.0, count: 1 }
    }

    fn closed(symbol: &str, t: i64, close: f64) -> BarUpdate {
        BarUpdate { symbol: symbol.into(), interval_ms: 1000, bar: bar(t, close), closed: true, trade_ms: t }
    }

    fn set_of(rules: &[AlertRule]) -> RuleSet {
        let mut set = RuleSet::default();
        set.sync(rules);
        set
    }

    #[test]
    fn price_rule_fires_on_the_aligned_row_and_clears() {
        let mut set = set_of(&[rule(AlertMetric::Price, Comparison::Above, 100.0)]);
        let mut events = vec![];
        for (t, x) in [(0, 99.0), (1000, 101.0), (2000, 99.5)] {
            events.extend(set.on_closed_bar(&closed("BTCUSDT", t, x)));
            events.extend(set.on_closed_bar(&closed("ETHUSDT", t, 5.0)));
        }
        let kinds: Vec<_> = events.iter().map(|(_, e)| (e.t_ms, e.kind)).collect();
        assert_eq!(kinds, vec![(1000, AlertEventKind::Fired), (2000, AlertEventKind::Cleared)]);
    }

    #[test]
    fn a_shared_rule_is_not_evaluated_on_bars_before_it_was_saved() {
        let r = rule(AlertMetric::Price, Comparison::Above, 100.0);
        let mut set = RuleSet::default();
        set.sync_active(&ActiveRules { rules: vec![r.clone()], not_before: [("r".to_string(), 1500)].into() });
        let mut events = vec![];
        for t in [0, 1000, 2000, 3000] {
            events.extend(set.on_closed_bar(&closed("BTCUSDT", t, 101.0)));
            events.extend(set.on_closed_bar(&closed("ETHUSDT", t, 5.0)));
        }
        assert_eq!(events.iter().map(|(_, e)| e.t_ms).collect::<Vec<_>>(), [2000], "the first bar at or after 1500");
        // The same rule without the bound restarts: it fires on the next row.
        set.sync(&[r]);
        set.on_closed_bar(&closed("BTCUSDT", 4000, 101.0));
        let events = set.on_closed_bar(&closed("ETHUSDT", 4000, 5.0));
        assert_eq!(events.iter().map(|(_, e)| e.t_ms).collect::<Vec<_>>(), [4000]);
    }

    #[test]
    fn a_leg_without_a_bar_is_carried_forward_when_time_moves_on() {
        let mut set = set_of(&[rule(AlertMetric::Price, Comparison::Above, 100.0)]);
        set.on_closed_bar(&closed("BTCUSDT", 0, 99.0));
        set.on_closed_bar(&closed("ETHUSDT", 0, 5.0));
        // y has no bar at t=1000; the row is completed when t=2000 arrives.
        assert!(set.on_closed_bar(&closed("BTCUSDT", 1000, 150.0)).is_empty());
        let events = set.on_closed_bar(&closed("BTCUSDT", 2000, 150.0));
        assert_eq!(events.iter().map(|(_, e)| e.t_ms).collect::<Vec<_>>(), [1000], "row 1000 fires, once");
        assert!(set.on_closed_bar(&closed("ETHUSDT", 2000, 5.0)).is_empty(), "still above: no new event");
    }

    /// For every hedge method, the value a rule is evaluated on at each closed bar is the
    /// page's: `analytics_values` over the bars the page holds (the same `apply_bar`, the
    /// same cap), even past the cap and for the methods fitted over all loaded bars.
    #[test]
    fn every_hedge_method_evaluates_exactly_the_value_the_page_shows() {
        for hedge in HedgeMethod::ALL {
            // A price rule tracks the bars (no analytics per bar: a debug build stays quick).
            let mut r = rule(AlertMetric::Price, Comparison::Above, 1e9);
            r.view.analytics.hedge = hedge;
            // A 5m view keeps 864 bars: feed 1,000 to go past the cap.
            r.view.interval_ms = 300_000;
            let mut set = set_of(std::slice::from_ref(&r));
            let (mut page_x, mut page_y) = (Vec::new(), Vec::new());
            for i in 0..1_000i64 {
                let t = i * 300_000;
                let x = 100.0 + (i as f64 * 0.05).sin() * 3.0 + i as f64 * 0.01;
                let y = 0.5 * x + (i as f64 * 0.31).cos();
                for (symbol, close, page) in [("BTCUSDT", x, &mut page_x), ("ETHUSDT", y, &mut page_y)] {
                    let update = BarUpdate { interval_ms: 300_000, ..closed(symbol, t, close) };
                    set.on_closed_bar(&update);
                    apply_bar(page, update.bar, 300_000);
                }
                if i % 97 == 0 || i == 999 {
                    let held = set.view_bars(&r.view).expect("the view");
                    assert_eq!((&held.x, &held.y), (&page_x, &page_y), "{hedge:?}: the page's bars at {i}");
                }
            }
            assert_eq!(page_x.len(), live_bars(300_000));
            // A z rule on the same view evaluates the next row on those bars: the page's z.
            let z_rule = AlertRule {
                id: "z".into(),
                metric: AlertMetric::Zscore,
                comparison: Comparison::AbsAbove,
                threshold: -1.0,
                ..r.clone()
            };
            set.sync(&[r.clone(), z_rule]);
            let t = 1_000 * 300_000;
            let (x, y) = (page_x[page_x.len() - 1].close + 0.3, page_y[page_y.len() - 1].close - 0.2);
            set.on_closed_bar(&BarUpdate { interval_ms: 300_000, ..closed("BTCUSDT", t, x) });
            let fired = set.on_closed_bar(&BarUpdate { interval_ms: 300_000, ..closed("ETHUSDT", t, y) });
            apply_bar(&mut page_x, bar(t, x), 300_000);
            apply_bar(&mut page_y, bar(t, y), 300_000);
            let page = analytics_values(&page_x, &page_y, 300_000, r.view.analytics).expect("page values");
            assert!(page.z.is_some_and(f64::is_finite), "{hedge:?}: a z to compare");
            let fired: Vec<f64> = fired.iter().filter(|(r, _)| r.id == "z").map(|(_, e)| e.value).collect();
            assert_eq!(fired, vec![page.z.expect("z")], "{hedge:?}: the rule fired on the page's z");
        }
    }

    #[test]
    fn rules_of_one_view_share_it_and_a_new_view_starts_from_the_seed() {
        let seed: SeedBars = Arc::new(|symbol, _, limit| {
            let close = if symbol == "BTCUSDT" { 100.0 } else { 50.0 };
            (0..limit.min(30) as i64).map(|i| bar(i * 1000, close + i as f64)).collect()
        });
        let a = rule(AlertMetric::Price, Comparison::Above, 140.0);
        let b = AlertRule { id: "b".into(), metric: AlertMetric::Zscore, ..a.clone() };
        let other = AlertRule { id: "c".into(), view: ViewSpec { interval_ms: 60_000, ..a.view.clone() }, ..a.clone() };
        let mut set = RuleSet::new(seed);
        set.sync(&[a.clone(), b, other.clone()]);
        assert_eq!(set.views.len(), 2, "two rules on one view share it");
        assert_eq!(set.view_bars(&a.view).map(|v| v.x.len()), Some(30), "seeded like a snapshot");
        // The seeded bars were history: the first closed bar after them is the first row.
        let events = set.on_closed_bar(&closed("BTCUSDT", 29_000, 141.0));
        assert!(events.is_empty(), "bar 29 was seeded; only a later row is evaluated");
        set.on_closed_bar(&closed("BTCUSDT", 30_000, 141.0));
        let events = set.on_closed_bar(&closed("ETHUSDT", 30_000, 80.0));
        assert_eq!(events.iter().map(|(r, e)| (r.id.as_str(), e.t_ms)).collect::<Vec<_>>(), [("r", 30_000)]);
        set.sync(&[other]);
        assert_eq!(set.views.len(), 1, "a view nobody watches is dropped");
    }
}
