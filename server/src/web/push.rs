//! Pushes live state to browsers over `/ws`.
//!
//! A browser subscribes to a view (pair + interval) with [`ClientMsg::Subscribe`]; it gets
//! a [`ServerMsg::Snapshot`] of recent bars, then deltas: closed bars at once, the forming
//! bar and the last prices coalesced to at most one message per [`PUSH_INTERVAL`], and
//! feed-status changes. A client that falls behind the bar broadcast gets a fresh snapshot
//! instead of a backlog, so no per-client queue grows without bound.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use app::alerts::AlertEvent;
use app::protocol::{Bar, ClientMsg, FeedStatus, LastPrice, ServerMsg, INTERVALS_MS};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use tokio::sync::{broadcast, watch};

use crate::pipeline::BarUpdate;
use crate::shutdown::Shutdown;

pub const PUSH_INTERVAL: Duration = Duration::from_millis(100);
/// Largest client message we accept (a subscribe is ~100 bytes).
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;
/// The finest interval: its forming bar's close is the symbol's last trade price.
const TICK_INTERVAL_MS: i64 = 1_000;

/// How many recent bars a snapshot carries for an interval (≈ 30 min of 1s, a day of 1m,
/// three days of 5m).
pub fn snapshot_len(interval_ms: i64) -> usize {
    match interval_ms {
        1_000 => 1_800,
        60_000 => 1_440,
        _ => 864,
    }
}

/// Where snapshots come from (the store, in production).
pub trait BarHistory: Send + Sync {
    /// The latest `limit` bars of `symbol` at `interval_ms`, oldest first.
    fn recent_bars(&self, symbol: &str, interval_ms: i64, limit: usize) -> Vec<Bar>;
}

/// Where the push layer reads the latest state from.
#[derive(Clone)]
pub struct PushHub {
    /// Ingested symbols (changeable at runtime).
    pub symbols: crate::symbols::Symbols,
    pub pair: (String, String),
    pub status: watch::Receiver<FeedStatus>,
    pub bars: broadcast::Sender<BarUpdate>,
    pub history: Arc<dyn BarHistory>,
    pub alerts: broadcast::Sender<AlertEvent>,
    pub shutdown: Shutdown,
}

/// Snapshots straight from the sled store.
pub struct StoreHistory(pub crate::store::Store);

impl BarHistory for StoreHistory {
    fn recent_bars(&self, symbol: &str, interval_ms: i64, limit: usize) -> Vec<Bar> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(i64::MAX / 2);
        let from = now - interval_ms.saturating_mul(limit as i64 + 1);
        match self.0.bars(symbol, interval_ms, from, i64::MAX) {
            Ok(mut bars) => {
                let excess = bars.len().saturating_sub(limit);
                bars.drain(..excess);
                bars
            }
            Err(err) => {
                tracing::error!(%err, symbol, "cannot read bars for a snapshot");
                Vec::new()
            }
        }
    }
}

pub async fn ws_handler(upgrade: WebSocketUpgrade, State(hub): State<PushHub>) -> Response {
    upgrade.max_message_size(MAX_CLIENT_MESSAGE).on_upgrade(move |socket| serve_client(socket, hub))
}

/// What one client is subscribed to.
#[derive(Clone, Debug, PartialEq)]
struct View {
    x: String,
    y: String,
    interval_ms: i64,
}

/// Deltas waiting for the next push tick.
#[derive(Default)]
struct Pending {
    forming: HashMap<String, Bar>,
    prices: HashMap<String, LastPrice>,
}

async fn serve_client(mut socket: WebSocket, mut hub: PushHub) {
    let mut symbols = hub.symbols.subscribe();
    let greeting = hello(&hub, symbols.borrow_and_update().clone());
    let status = ServerMsg::Status(hub.status.borrow_and_update().clone());
    if send(&mut socket, &greeting).await.is_err() || send(&mut socket, &status).await.is_err() {
        return;
    }
    let mut bars = hub.bars.subscribe();
    let mut alerts = hub.alerts.subscribe();
    let mut view: Option<View> = None;
    let mut pending = Pending::default();
    let mut tick = tokio::time::interval(PUSH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let outgoing: Vec<ServerMsg> = tokio::select! {
            changed = hub.status.changed() => {
                if changed.is_err() { break; }
                vec![ServerMsg::Status(hub.status.borrow_and_update().clone())]
            }
            changed = symbols.changed() => {
                if changed.is_err() { break; }
                vec![hello(&hub, symbols.borrow_and_update().clone())]
            }
            update = bars.recv() => match update {
                Ok(update) => on_bar(&view, &mut pending, update),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "slow browser client: resending a snapshot");
                    pending = Pending::default();
                    view.as_ref().map(|v| snapshot(&hub, v)).unwrap_or_default()
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = tick.tick() => flush(&view, &mut pending),
            event = alerts.recv() => match event {
                Ok(event) => vec![ServerMsg::Alert(event)],
                Err(broadcast::error::RecvError::Lagged(_)) => vec![],
                Err(broadcast::error::RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientMsg>(&text) {
                    Ok(ClientMsg::Subscribe { x, y, interval_ms }) => match validate(&hub, x, y, interval_ms) {
                        Ok(v) => {
                            pending = Pending::default();
                            let msgs = snapshot(&hub, &v);
                            view = Some(v);
                            msgs
                        }
                        Err(message) => vec![ServerMsg::Error { message }],
                    },
                    Err(err) => vec![ServerMsg::Error { message: format!("unreadable message: {err}") }],
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => vec![],
            },
            () = hub.shutdown.wait() => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
        };
        for msg in &outgoing {
            if send(&mut socket, msg).await.is_err() {
                return;
            }
        }
    }
}

/// The symbol list (sent on connect and again whenever it changes).
fn hello(hub: &PushHub, symbols: Vec<String>) -> ServerMsg {
    ServerMsg::Hello { symbols, x_symbol: hub.pair.0.clone(), y_symbol: hub.pair.1.clone() }
}

fn validate(hub: &PushHub, x: String, y: String, interval_ms: i64) -> Result<View, String> {
    let (x, y) = (x.to_ascii_uppercase(), y.to_ascii_uppercase());
    for symbol in [&x, &y] {
        if !hub.symbols.contains(symbol) {
            return Err(format!("unknown symbol {symbol}: this server ingests {}", hub.symbols.current().join(", ")));
        }
    }
    if !INTERVALS_MS.contains(&interval_ms) {
        return Err(format!("unsupported interval {interval_ms} ms (use 1s, 1m or 5m)"));
    }
    Ok(View { x, y, interval_ms })
}

fn snapshot(hub: &PushHub, view: &View) -> Vec<ServerMsg> {
    let limit = snapshot_len(view.interval_ms);
    let x_bars = hub.history.recent_bars(&view.x, view.interval_ms, limit);
    let y_bars = hub.history.recent_bars(&view.y, view.interval_ms, limit);
    let last = |symbol: &str, bars: &[Bar]| {
        bars.last().map(|b| LastPrice { symbol: symbol.to_string(), t_ms: b.t, price: b.close })
    };
    let prices = ServerMsg::Prices { x: last(&view.x, &x_bars), y: last(&view.y, &y_bars) };
    vec![
        ServerMsg::Snapshot {
            x_symbol: view.x.clone(),
            y_symbol: view.y.clone(),
            interval_ms: view.interval_ms,
            x_bars,
            y_bars,
        },
        prices,
    ]
}

/// Closed bars of the view go out at once; forming bars and prices wait for the tick.
fn on_bar(view: &Option<View>, pending: &mut Pending, update: BarUpdate) -> Vec<ServerMsg> {
    let Some(view) = view else { return vec![] };
    if update.symbol != view.x && update.symbol != view.y {
        return vec![];
    }
    if update.interval_ms == TICK_INTERVAL_MS {
        let price = LastPrice { symbol: update.symbol.clone(), t_ms: update.bar.t, price: update.bar.close };
        pending.prices.insert(update.symbol.clone(), price);
    }
    if update.interval_ms != view.interval_ms {
        return vec![];
    }
    if update.closed {
        // The closed bar supersedes a pending forming version of itself.
        if pending.forming.get(&update.symbol).is_some_and(|b| b.t <= update.bar.t) {
            pending.forming.remove(&update.symbol);
        }
        return vec![ServerMsg::Bar {
            symbol: update.symbol,
            interval_ms: update.interval_ms,
            bar: update.bar,
            closed: true,
        }];
    }
    pending.forming.insert(update.symbol, update.bar);
    vec![]
}

fn flush(view: &Option<View>, pending: &mut Pending) -> Vec<ServerMsg> {
    let Some(view) = view else { return vec![] };
    let mut out: Vec<ServerMsg> = pending
        .forming
        .drain()
        .map(|(symbol, bar)| ServerMsg::Bar { symbol, interval_ms: view.interval_ms, bar, closed: false })
        .collect();
    if !pending.prices.is_empty() {
        out.push(ServerMsg::Prices { x: pending.prices.remove(&view.x), y: pending.prices.remove(&view.y) });
        pending.prices.clear();
    }
    out
}

async fn send(socket: &mut WebSocket, msg: &ServerMsg) -> Result<(), ()> {
    let text = serde_json::to_string(msg).map_err(|_| ())?;
    socket.send(Message::Text(text.into())).await.map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(t: i64, close: f64) -> Bar {
        Bar { t, open: close, high: close, low: close, close, volume: 1.0, count: 1 }
    }

    fn update(symbol: &str, interval_ms: i64, bar: Bar, closed: bool) -> BarUpdate {
        BarUpdate { symbol: symbol.into(), interval_ms, bar, closed }
    }

    #[test]
    fn forming_bars_and_prices_are_coalesced_closed_bars_are_not() {
        let view = Some(View { x: "BTCUSDT".into(), y: "ETHUSDT".into(), interval_ms: 1_000 });
        let mut pending = Pending::default();
        for i in 0..50 {
            assert!(on_bar(&view, &mut pending, update("BTCUSDT", 1_000, bar(0, 100.0 + i as f64), false)).is_empty());
        }
        assert!(on_bar(&view, &mut pending, update("SOLUSDT", 1_000, bar(0, 1.0), false)).is_empty());
        let out = flush(&view, &mut pending);
        assert_eq!(out.len(), 2, "one forming bar + one prices message: {out:?}");
        assert!(out.contains(&ServerMsg::Bar {
            symbol: "BTCUSDT".into(),
            interval_ms: 1_000,
            bar: bar(0, 149.0),
            closed: false
        }));
        assert!(flush(&view, &mut pending).is_empty(), "nothing new, nothing sent");
        let closed = on_bar(&view, &mut pending, update("ETHUSDT", 1_000, bar(0, 5.0), true));
        assert_eq!(closed.len(), 1);
    }

    #[test]
    fn other_intervals_only_feed_prices() {
        let view = Some(View { x: "BTCUSDT".into(), y: "ETHUSDT".into(), interval_ms: 60_000 });
        let mut pending = Pending::default();
        assert!(on_bar(&view, &mut pending, update("BTCUSDT", 1_000, bar(0, 7.0), true)).is_empty());
        let out = flush(&view, &mut pending);
        assert_eq!(
            out,
            vec![ServerMsg::Prices { x: Some(LastPrice { symbol: "BTCUSDT".into(), t_ms: 0, price: 7.0 }), y: None }]
        );
    }
}
