//! Alert rules and their evaluation — pure, shared by the server (which evaluates every rule
//! on every update, whether or not a page is open) and the UI (which creates rules and shows
//! events).
//!
//! A rule watches one metric of one view and compares it with a threshold. It **fires** when
//! the comparison becomes true and **clears** only once the metric has moved back past the
//! threshold by the rule's hysteresis, so a value hovering at the threshold does not flap.

use serde::{Deserialize, Serialize};

use crate::view::ViewSpec;

/// What a rule watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertMetric {
    /// Rolling z-score of the spread.
    Zscore,
    /// The spread `y − βx − α`.
    Spread,
    /// Last price of the x leg.
    Price,
    /// Rolling correlation of returns.
    Correlation,
    /// Volume of the x leg's last closed bar.
    Volume,
}

impl AlertMetric {
    pub const ALL: [AlertMetric; 5] =
        [AlertMetric::Zscore, AlertMetric::Spread, AlertMetric::Price, AlertMetric::Correlation, AlertMetric::Volume];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertMetric::Zscore => "zscore",
            AlertMetric::Spread => "spread",
            AlertMetric::Price => "price",
            AlertMetric::Correlation => "correlation",
            AlertMetric::Volume => "volume",
        }
    }

    pub fn parse(s: &str) -> Option<AlertMetric> {
        AlertMetric::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// How the metric is compared with the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    Above,
    Below,
    /// `|metric| > threshold` (z-score entries on either side).
    AbsAbove,
}

impl Comparison {
    pub const ALL: [Comparison; 3] = [Comparison::Above, Comparison::Below, Comparison::AbsAbove];

    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Above => "above",
            Comparison::Below => "below",
            Comparison::AbsAbove => "abs_above",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Above => ">",
            Comparison::Below => "<",
            Comparison::AbsAbove => "|x| >",
        }
    }

    pub fn parse(s: &str) -> Option<Comparison> {
        Comparison::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A rule as created in the UI (the server assigns `id`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    #[serde(default)]
    pub id: String,
    pub name: String,
    pub metric: AlertMetric,
    pub comparison: Comparison,
    pub threshold: f64,
    /// How far back past the threshold the metric must move before the alert clears.
    #[serde(default)]
    pub hysteresis: f64,
    /// The view it watches (its JSON: `x`, `y`, `interval_ms`, `window`, `corr_window`, `hedge`).
    pub view: ViewSpec,
    /// Optional URL the server POSTs each event to as JSON.
    #[serde(default)]
    pub webhook: Option<String>,
}

impl AlertRule {
    /// Checks what a user could get wrong; the message names the field.
    pub fn validate(&self, known_symbols: &[String]) -> Result<(), String> {
        if self.name.trim().is_empty() || self.name.len() > 100 {
            return Err("name: 1 to 100 characters".into());
        }
        if !self.threshold.is_finite() {
            return Err("threshold: must be a finite number".into());
        }
        if !self.hysteresis.is_finite() || self.hysteresis < 0.0 {
            return Err("hysteresis: must be a number >= 0".into());
        }
        for symbol in [&self.view.x, &self.view.y] {
            if !known_symbols.contains(symbol) {
                return Err(format!("view: unknown symbol {symbol}"));
            }
        }
        if !crate::interval::INTERVALS_MS.contains(&self.view.interval_ms) {
            return Err("view.interval_ms: use 1000, 60000 or 300000".into());
        }
        if !(2..=5000).contains(&self.view.analytics.window) || !(2..=5000).contains(&self.view.analytics.corr_window) {
            return Err("view: windows must be between 2 and 5000 bars".into());
        }
        if let Some(url) = &self.webhook {
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 2000 {
                return Err("webhook: an http:// or https:// URL".into());
            }
        }
        Ok(())
    }

    fn is_triggered(&self, value: f64) -> bool {
        match self.comparison {
            Comparison::Above => value > self.threshold,
            Comparison::Below => value < self.threshold,
            Comparison::AbsAbove => value.abs() > self.threshold,
        }
    }

    fn is_cleared(&self, value: f64) -> bool {
        let h = self.hysteresis;
        match self.comparison {
            Comparison::Above => value <= self.threshold - h,
            Comparison::Below => value >= self.threshold + h,
            Comparison::AbsAbove => value.abs() <= self.threshold - h,
        }
    }
}

/// Whether an alert fired or cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertEventKind {
    Fired,
    Cleared,
}

/// One transition of one rule, as stored, pushed, shown and POSTed to webhooks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    pub rule_id: String,
    pub rule_name: String,
    pub kind: AlertEventKind,
    pub metric: AlertMetric,
    pub comparison: Comparison,
    pub threshold: f64,
    pub value: f64,
    /// Time of the bar that caused it (ms).
    pub t_ms: i64,
}

/// The fire/clear state machine of one rule.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertState {
    pub active: bool,
}

impl AlertState {
    /// Feeds one metric value; returns the event when the state changes.
    pub fn observe(&mut self, rule: &AlertRule, value: f64, t_ms: i64) -> Option<AlertEvent> {
        if !value.is_finite() {
            return None;
        }
        let kind = if !self.active && rule.is_triggered(value) {
            self.active = true;
            AlertEventKind::Fired
        } else if self.active && rule.is_cleared(value) {
            self.active = false;
            AlertEventKind::Cleared
        } else {
            return None;
        };
        Some(AlertEvent {
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            kind,
            metric: rule.metric,
            comparison: rule.comparison,
            threshold: rule.threshold,
            value,
            t_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::live_view::HedgeMethod;
    use crate::view::ViewAnalytics;

    fn rule(comparison: Comparison, threshold: f64, hysteresis: f64) -> AlertRule {
        AlertRule {
            id: "r1".into(),
            name: "z entry".into(),
            metric: AlertMetric::Zscore,
            comparison,
            threshold,
            hysteresis,
            view: ViewSpec {
                x: "BTCUSDT".into(),
                y: "ETHUSDT".into(),
                interval_ms: 1000,
                analytics: ViewAnalytics { window: 60, corr_window: 30, hedge: HedgeMethod::RollingOls },
            },
            webhook: None,
        }
    }

    fn kinds(rule: &AlertRule, values: &[f64]) -> Vec<(usize, AlertEventKind)> {
        let mut state = AlertState::default();
        values.iter().enumerate().filter_map(|(i, v)| state.observe(rule, *v, i as i64).map(|e| (i, e.kind))).collect()
    }

    #[test]
    fn fires_once_and_clears_only_past_the_hysteresis() {
        let r = rule(Comparison::AbsAbove, 2.0, 0.5);
        let events = kinds(&r, &[0.0, 2.1, 2.5, 1.9, 2.2, 1.6, 1.4, -2.3, f64::NAN, 0.0]);
        use AlertEventKind::*;
        assert_eq!(events, vec![(1, Fired), (6, Cleared), (7, Fired), (9, Cleared)]);
    }

    #[test]
    fn below_rules_mirror_above_rules() {
        let r = rule(Comparison::Below, 0.3, 0.1);
        use AlertEventKind::*;
        assert_eq!(kinds(&r, &[0.5, 0.29, 0.35, 0.41]), vec![(1, Fired), (3, Cleared)]);
    }

    #[test]
    fn validation_names_the_bad_field() {
        let known = vec!["BTCUSDT".to_string(), "ETHUSDT".to_string()];
        assert_eq!(rule(Comparison::Above, 1.0, 0.0).validate(&known), Ok(()));
        let mut bad = rule(Comparison::Above, f64::INFINITY, 0.0);
        assert!(bad.validate(&known).is_err_and(|e| e.starts_with("threshold")));
        bad = rule(Comparison::Above, 1.0, 0.0);
        bad.view.x = "DOGEUSDT".into();
        assert!(bad.validate(&known).is_err_and(|e| e.contains("DOGEUSDT")));
        bad = rule(Comparison::Above, 1.0, 0.0);
        bad.webhook = Some("file:///etc/passwd".into());
        assert!(bad.validate(&known).is_err_and(|e| e.starts_with("webhook")));
    }
}
