//! Reactive state of the live page, fed by pushed server messages.

use leptos::prelude::*;

use crate::protocol::{Bar, FeedStatus, LastPrice, ServerMsg};

/// How many bars per leg the page keeps (older ones scroll out).
pub const MAX_BARS: usize = 3_000;
/// How many alert events the page lists.
pub const MAX_ALERT_EVENTS: usize = 100;

/// Everything the live page shows that arrives from the server.
#[derive(Clone, Copy)]
pub struct LiveState {
    /// Symbols the server ingests (for the pair pickers).
    pub symbols: RwSignal<Vec<String>>,
    pub status: RwSignal<FeedStatus>,
    /// Whether the browser's own socket to the server is open.
    pub socket_open: RwSignal<bool>,
    pub last_x: RwSignal<Option<LastPrice>>,
    pub last_y: RwSignal<Option<LastPrice>>,
    /// Bars of the subscribed view: (x symbol, y symbol, interval) they belong to.
    pub bars_view: RwSignal<Option<(String, String, i64)>>,
    pub bars_x: RwSignal<Vec<Bar>>,
    pub bars_y: RwSignal<Vec<Bar>>,
    /// Alert events pushed since the page opened (plus the recent ones loaded at start), newest first.
    pub alerts: RwSignal<Vec<crate::alerts::AlertEvent>>,
}

impl LiveState {
    pub fn new() -> Self {
        Self {
            symbols: RwSignal::new(Vec::new()),
            status: RwSignal::new(FeedStatus::default()),
            socket_open: RwSignal::new(false),
            last_x: RwSignal::new(None),
            last_y: RwSignal::new(None),
            bars_view: RwSignal::new(None),
            bars_x: RwSignal::new(Vec::new()),
            bars_y: RwSignal::new(Vec::new()),
            alerts: RwSignal::new(Vec::new()),
        }
    }

    /// Folds one pushed message into the state.
    pub fn apply(&self, msg: ServerMsg) {
        match msg {
            ServerMsg::Hello { symbols, .. } => self.symbols.set(symbols),
            ServerMsg::Status(status) => self.status.set(status),
            ServerMsg::Prices { x, y } => {
                if x.is_some() {
                    self.last_x.set(x);
                }
                if y.is_some() {
                    self.last_y.set(y);
                }
            }
            ServerMsg::Snapshot { x_symbol, y_symbol, interval_ms, x_bars, y_bars } => {
                self.bars_x.set(x_bars);
                self.bars_y.set(y_bars);
                self.bars_view.set(Some((x_symbol, y_symbol, interval_ms)));
            }
            ServerMsg::Bar { symbol, interval_ms, bar, .. } => {
                let Some((x, y, view_interval)) = self.bars_view.get_untracked() else { return };
                if interval_ms != view_interval {
                    return;
                }
                if symbol == x {
                    self.bars_x.update(|bars| upsert_bar(bars, bar));
                }
                if symbol == y {
                    self.bars_y.update(|bars| upsert_bar(bars, bar));
                }
            }
            ServerMsg::Alert(event) => self.alerts.update(|events| {
                events.insert(0, event);
                events.truncate(MAX_ALERT_EVENTS);
            }),
            ServerMsg::Error { message } => leptos::logging::warn!("server: {message}"),
        }
    }
}

impl Default for LiveState {
    fn default() -> Self {
        Self::new()
    }
}

/// Replaces the bar with the same open time, or appends a newer one.
pub fn upsert_bar(bars: &mut Vec<Bar>, bar: Bar) {
    match bars.last_mut() {
        Some(last) if last.t == bar.t => *last = bar,
        Some(last) if last.t > bar.t => {
            if let Ok(i) = bars.binary_search_by_key(&bar.t, |b| b.t) {
                bars[i] = bar;
            }
        }
        _ => {
            if bars.len() >= MAX_BARS {
                bars.drain(..bars.len() + 1 - MAX_BARS);
            }
            bars.push(bar);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(t: i64, close: f64) -> Bar {
        Bar { t, open: close, high: close, low: close, close, volume: 1.0, count: 1 }
    }

    #[test]
    fn upsert_updates_the_forming_bar_and_appends_new_ones() {
        let mut bars = vec![bar(0, 1.0)];
        upsert_bar(&mut bars, bar(0, 2.0));
        upsert_bar(&mut bars, bar(1000, 3.0));
        upsert_bar(&mut bars, bar(500, 9.0)); // unknown older bar: ignored
        assert_eq!(bars, vec![bar(0, 2.0), bar(1000, 3.0)]);
    }
}
