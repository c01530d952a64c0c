//! Evaluates every alert rule on every closed bar of its view.
//!
//! Per rule it aligns the two legs' closed bars (union rule: a row per bar time, the other
//! leg carried forward), keeps the last rows it needs, and computes the metric with
//! [`app::analytics::live_view::compute_view`] — the function the browser uses, so an alert
//! fires on exactly the number the page shows.
//!
//! **Bounded cost.** One closed bar costs each rule of its view one `compute_view` over at
//! most [`evaluation_rows`] rows: `2·window + corr_window + 2`, at most 5,000, and at most
//! [`THEIL_SEN_ROWS`] for Theil–Sen, whose fit is quadratic in the rows. With
//! `--max-alert-rules` (100) that bounds a closed bar's work (BENCHMARKS.md, "Alert rules"),
//! and it runs on the blocking pool, never on the async workers that answer requests.

use std::collections::{HashMap, VecDeque};

use app::alerts::{AlertEvent, AlertMetric, AlertRule, AlertState};
use app::analytics::live_view::{compute_view, HedgeMethod, ViewParams, ViewSeries};
use tokio::sync::{broadcast, watch};

use super::repo::AlertRepo;
use super::webhook::WebhookSender;
use crate::pipeline::BarUpdate;
use crate::shutdown::Shutdown;

/// Most rows a Theil–Sen rule keeps: its fit takes every pair of rows (n·(n−1)/2 slopes,
/// 180k at 600 rows, a few ms), where 5,000 rows would take 12.5M slopes and 100 MB.
pub const THEIL_SEN_ROWS: usize = 600;

/// The rows a rule evaluates on each closed bar: enough for a full window of spreads and
/// the correlation window, bounded so that one evaluation's cost is bounded.
pub fn evaluation_rows(rule: &AlertRule) -> usize {
    let view = &rule.view;
    let rows = view.window.saturating_mul(2).saturating_add(view.corr_window).saturating_add(2).min(5_000);
    match view.hedge {
        HedgeMethod::TheilSen => rows.min(THEIL_SEN_ROWS),
        _ => rows,
    }
}

/// Every rule's evaluation state, keyed by rule id.
#[derive(Default)]
pub struct RuleSet {
    states: HashMap<String, RuleState>,
}

impl RuleSet {
    /// Keeps the state of unchanged rules, starts fresh for new or edited ones.
    pub fn sync(&mut self, rules: &[AlertRule]) {
        self.states.retain(|id, state| rules.iter().any(|r| &r.id == id && *r == state.rule));
        for rule in rules {
            self.states.entry(rule.id.clone()).or_insert_with(|| RuleState::new(rule.clone()));
        }
    }

    /// Whether any rule watches this bar's symbol at its interval.
    pub fn wants(&self, update: &BarUpdate) -> bool {
        update.closed && self.states.values().any(|s| s.wants(update))
    }

    /// Feeds a closed bar to every rule; the events it causes, with their rules.
    pub fn on_closed_bar(&mut self, update: &BarUpdate) -> Vec<(AlertRule, AlertEvent)> {
        let mut events = Vec::new();
        for state in self.states.values_mut() {
            if let Some(event) = state.on_closed_bar(update) {
                events.push((state.rule.clone(), event));
            }
        }
        events
    }
}

/// One rule's evaluation state.
struct RuleState {
    rule: AlertRule,
    alert: AlertState,
    /// Last closed bar (t, close, volume) per leg.
    last_x: Option<(i64, f64, f64)>,
    last_y: Option<(i64, f64, f64)>,
    /// Time of the row waiting for the other leg's bar of the same time.
    pending_t: Option<i64>,
    rows: VecDeque<(i64, f64, f64)>,
}

impl RuleState {
    fn new(rule: AlertRule) -> Self {
        Self { rule, alert: AlertState::default(), last_x: None, last_y: None, pending_t: None, rows: VecDeque::new() }
    }

    fn capacity(&self) -> usize {
        evaluation_rows(&self.rule)
    }

    /// Whether this bar can change the rule's state (its interval, one of its legs).
    fn wants(&self, update: &BarUpdate) -> bool {
        let view = &self.rule.view;
        update.interval_ms == view.interval_ms && (update.symbol == view.x || update.symbol == view.y)
    }

    /// Feeds a closed bar; returns an event when the rule changes state.
    fn on_closed_bar(&mut self, update: &BarUpdate) -> Option<AlertEvent> {
        let view = &self.rule.view;
        if update.interval_ms != view.interval_ms {
            return None;
        }
        let bar = (update.bar.t, update.bar.close, update.bar.volume);
        let is_x = update.symbol == view.x;
        let is_y = update.symbol == view.y;
        if !is_x && !is_y {
            return None;
        }
        let mut event = None;
        // A newer bar completes the pending row with whatever the other leg had.
        if let Some(t) = self.pending_t.filter(|t| *t < bar.0) {
            event = self.push_row(t);
        }
        if is_x {
            self.last_x = Some(bar);
        }
        if is_y {
            self.last_y = Some(bar);
        }
        let both_at_t = self.last_x.is_some_and(|b| b.0 == bar.0) && self.last_y.is_some_and(|b| b.0 == bar.0);
        if both_at_t {
            self.pending_t = None;
            event = self.push_row(bar.0).or(event);
        } else {
            self.pending_t = Some(bar.0);
        }
        event
    }

    fn push_row(&mut self, t: i64) -> Option<AlertEvent> {
        let (Some(x), Some(y)) = (self.last_x, self.last_y) else { return None };
        if self.rows.back().is_some_and(|r| r.0 >= t) {
            return None;
        }
        self.rows.push_back((t, x.1, y.1));
        while self.rows.len() > self.capacity() {
            self.rows.pop_front();
        }
        let value = match self.rule.metric {
            AlertMetric::Price => Some(x.1),
            AlertMetric::Volume => Some(x.2),
            metric => {
                let series = self.series();
                match metric {
                    AlertMetric::Zscore => ViewSeries::last(&series.z),
                    AlertMetric::Spread => ViewSeries::last(&series.spread),
                    _ => ViewSeries::last(&series.corr),
                }
            }
        }?;
        self.alert.observe(&self.rule, value, t)
    }

    fn series(&self) -> ViewSeries {
        let (t, (x, y)): (Vec<i64>, (Vec<f64>, Vec<f64>)) = self.rows.iter().map(|&(t, x, y)| (t, (x, y))).unzip();
        let view = &self.rule.view;
        let params = ViewParams {
            hedge: view.hedge,
            window: view.window,
            corr_window: view.corr_window,
            ..ViewParams::default()
        };
        compute_view(&t, &x, &y, &params)
    }
}

/// The evaluation task's inputs and outputs.
pub struct AlertEngine {
    pub repo: AlertRepo,
    pub rules: watch::Receiver<Vec<AlertRule>>,
    pub bars: broadcast::Receiver<BarUpdate>,
    pub events: broadcast::Sender<AlertEvent>,
    pub webhooks: WebhookSender,
}

impl AlertEngine {
    pub async fn run(mut self, mut shutdown: Shutdown) {
        let mut set = RuleSet::default();
        set.sync(&self.rules.borrow_and_update());
        loop {
            tokio::select! {
                changed = self.rules.changed() => {
                    if changed.is_err() { return; }
                    set.sync(&self.rules.borrow_and_update());
                }
                update = self.bars.recv() => match update {
                    Ok(update) if set.wants(&update) => {
                        // The analytics run on the blocking pool; the set comes back with them.
                        let mut taken = std::mem::take(&mut set);
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
                                set.sync(&self.rules.borrow());
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
            self.webhooks.send(url.clone(), event.clone());
        }
        // No browser listening is fine.
        let _ = self.events.send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::alerts::{AlertEventKind, AlertView, Comparison};
    use app::protocol::Bar;

    fn rule(metric: AlertMetric, comparison: Comparison, threshold: f64) -> AlertRule {
        AlertRule {
            id: "r".into(),
            name: "test".into(),
            metric,
            comparison,
            threshold,
            hysteresis: 0.0,
            view: AlertView {
                x: "BTCUSDT".into(),
                y: "ETHUSDT".into(),
                interval_ms: 1000,
                window: 20,
                corr_window: 10,
                hedge: Default::default(),
            },
            webhook: None,
        }
    }

    fn closed(symbol: &str, t: i64, close: f64) -> BarUpdate {
        BarUpdate {
            symbol: symbol.into(),
            interval_ms: 1000,
            bar: Bar { t, open: close, high: close, low: close, close, volume: 2.0, count: 1 },
            closed: true,
            trade_ms: t,
        }
    }

    #[test]
    fn price_rule_fires_on_the_aligned_row_and_clears() {
        let mut state = RuleState::new(rule(AlertMetric::Price, Comparison::Above, 100.0));
        let mut events = vec![];
        for (t, x) in [(0, 99.0), (1000, 101.0), (2000, 99.5)] {
            events.extend(state.on_closed_bar(&closed("BTCUSDT", t, x)));
            events.extend(state.on_closed_bar(&closed("ETHUSDT", t, 5.0)));
        }
        let kinds: Vec<_> = events.iter().map(|e| (e.t_ms, e.kind)).collect();
        assert_eq!(kinds, vec![(1000, AlertEventKind::Fired), (2000, AlertEventKind::Cleared)]);
    }

    #[test]
    fn a_leg_without_a_bar_is_carried_forward_when_time_moves_on() {
        let mut state = RuleState::new(rule(AlertMetric::Price, Comparison::Above, 100.0));
        state.on_closed_bar(&closed("BTCUSDT", 0, 99.0));
        state.on_closed_bar(&closed("ETHUSDT", 0, 5.0));
        // y has no bar at t=1000; the row is completed when t=2000 arrives.
        assert!(state.on_closed_bar(&closed("BTCUSDT", 1000, 150.0)).is_none());
        let event = state.on_closed_bar(&closed("BTCUSDT", 2000, 150.0)).expect("row 1000 fires");
        assert_eq!(event.t_ms, 1000);
        assert_eq!(state.rows.len(), 2);
    }

    #[test]
    fn zscore_rule_matches_the_view_the_page_computes() {
        let mut state = RuleState::new(rule(AlertMetric::Zscore, Comparison::AbsAbove, 1.5));
        let mut fired = 0;
        for i in 0..200i64 {
            let x = 100.0 + i as f64 * 0.01;
            let y = 50.0 + (i as f64 * 0.25).sin();
            fired += usize::from(state.on_closed_bar(&closed("BTCUSDT", i * 1000, x)).is_some());
            fired += usize::from(state.on_closed_bar(&closed("ETHUSDT", i * 1000, y)).is_some());
        }
        assert!(fired >= 2, "a swinging spread must fire and clear");
        let last = ViewSeries::last(&state.series().z).expect("z");
        assert!(last.is_finite());
    }

    #[test]
    fn a_tls_rule_evaluates_the_orthogonal_hedge_view() {
        let mut r = rule(AlertMetric::Zscore, Comparison::AbsAbove, 1.5);
        r.view.hedge = HedgeMethod::parse("tls").expect("tls is a hedge method");
        let mut state = RuleState::new(r);
        for i in 0..200i64 {
            let x = 100.0 + i as f64 * 0.01;
            state.on_closed_bar(&closed("BTCUSDT", i * 1000, x));
            state.on_closed_bar(&closed("ETHUSDT", i * 1000, 0.5 * x + (i as f64 * 0.25).sin()));
        }
        assert_eq!(state.series().hedge_error, None);
        assert!(ViewSeries::last(&state.series().z).is_some_and(f64::is_finite));
    }

    #[test]
    fn a_theil_sen_rule_keeps_a_bounded_window() {
        let mut r = rule(AlertMetric::Price, Comparison::Above, 100.5);
        r.view.window = 5_000;
        r.view.corr_window = 5_000;
        assert_eq!(evaluation_rows(&r), 5_000, "rolling OLS keeps its 5,000 rows");
        r.view.hedge = HedgeMethod::TheilSen;
        assert_eq!(evaluation_rows(&r), THEIL_SEN_ROWS);
        let mut set = RuleSet::default();
        set.sync(&[r]);
        let mut events = Vec::new();
        for i in 0..(THEIL_SEN_ROWS as i64 + 100) {
            let x = 100.0 + i as f64 * 0.001;
            events.extend(set.on_closed_bar(&closed("BTCUSDT", i * 1000, x)));
            events.extend(set.on_closed_bar(&closed("ETHUSDT", i * 1000, 5.0)));
        }
        assert_eq!(set.states.values().next().expect("state").rows.len(), THEIL_SEN_ROWS);
        assert_eq!(events.len(), 1, "x crosses 100.5 once");
        assert_eq!(events[0].1.t_ms, 501_000);
        assert!(!set.wants(&BarUpdate { interval_ms: 60_000, ..closed("BTCUSDT", 0, 1.0) }));
        assert!(!set.wants(&closed("SOLUSDT", 0, 1.0)));
        assert!(set.wants(&closed("ETHUSDT", 0, 1.0)));
    }
}
