//! Reactive state of the live page, fed by pushed server messages.

use leptos::prelude::*;

use crate::protocol::{FeedStatus, LastPrice, ServerMsg};

/// How many aligned price points the page keeps for its charts.
pub const MAX_POINTS: usize = 2_000;

/// One aligned observation of both legs: the latest price of each at time `t_ms`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairPoint {
    pub t_ms: i64,
    pub x: f64,
    pub y: f64,
}

/// Everything the live page shows that arrives from the server.
#[derive(Clone, Copy)]
pub struct LiveState {
    pub x_symbol: RwSignal<String>,
    pub y_symbol: RwSignal<String>,
    pub status: RwSignal<FeedStatus>,
    /// Whether the browser's own socket to the server is open.
    pub socket_open: RwSignal<bool>,
    pub last_x: RwSignal<Option<LastPrice>>,
    pub last_y: RwSignal<Option<LastPrice>>,
    pub points: RwSignal<Vec<PairPoint>>,
}

impl LiveState {
    pub fn new(x_symbol: &str, y_symbol: &str) -> Self {
        Self {
            x_symbol: RwSignal::new(x_symbol.to_string()),
            y_symbol: RwSignal::new(y_symbol.to_string()),
            status: RwSignal::new(FeedStatus::default()),
            socket_open: RwSignal::new(false),
            last_x: RwSignal::new(None),
            last_y: RwSignal::new(None),
            points: RwSignal::new(Vec::new()),
        }
    }

    /// Folds one pushed message into the state.
    pub fn apply(&self, msg: ServerMsg) {
        match msg {
            ServerMsg::Hello { x_symbol, y_symbol } => {
                self.x_symbol.set(x_symbol);
                self.y_symbol.set(y_symbol);
                self.points.update(Vec::clear);
            }
            ServerMsg::Status(status) => self.status.set(status),
            ServerMsg::Prices { x, y } => {
                if let Some(x) = x {
                    self.last_x.set(Some(x));
                }
                if let Some(y) = y {
                    self.last_y.set(Some(y));
                }
                let (Some(x), Some(y)) = (self.last_x.get_untracked(), self.last_y.get_untracked()) else {
                    return;
                };
                let point = PairPoint { t_ms: x.t_ms.max(y.t_ms), x: x.price, y: y.price };
                self.points.update(|points| {
                    if points.len() >= MAX_POINTS {
                        points.drain(..points.len() + 1 - MAX_POINTS);
                    }
                    points.push(point);
                });
            }
        }
    }
}
