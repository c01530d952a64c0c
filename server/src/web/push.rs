//! Pushes live state to browsers over `/ws`.
//!
//! Each client gets `hello`, the feed status, then coalesced prices at most every
//! [`PUSH_INTERVAL`]. State lives in `watch` channels, so a slow client simply skips to
//! the latest value: no per-client queue can grow without bound.

use std::time::Duration;

use app::protocol::{FeedStatus, ServerMsg};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use tokio::sync::watch;

use crate::pipeline::PairPrices;
use crate::shutdown::Shutdown;

pub const PUSH_INTERVAL: Duration = Duration::from_millis(100);

/// Where the push layer reads the latest state from.
#[derive(Clone)]
pub struct PushHub {
    pub pair: (String, String),
    pub status: watch::Receiver<FeedStatus>,
    pub prices: watch::Receiver<PairPrices>,
    pub shutdown: Shutdown,
}

pub async fn ws_handler(upgrade: WebSocketUpgrade, State(hub): State<PushHub>) -> Response {
    upgrade.on_upgrade(move |socket| serve_client(socket, hub))
}

async fn serve_client(mut socket: WebSocket, mut hub: PushHub) {
    let hello = ServerMsg::Hello {
        symbols: vec![hub.pair.0.clone(), hub.pair.1.clone()],
        x_symbol: hub.pair.0.clone(),
        y_symbol: hub.pair.1.clone(),
    };
    let status = ServerMsg::Status(hub.status.borrow_and_update().clone());
    if send(&mut socket, &hello).await.is_err() || send(&mut socket, &status).await.is_err() {
        return;
    }
    hub.prices.mark_changed();
    let mut tick = tokio::time::interval(PUSH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            changed = hub.status.changed() => {
                if changed.is_err() { break; }
                let msg = ServerMsg::Status(hub.status.borrow_and_update().clone());
                if send(&mut socket, &msg).await.is_err() { break; }
            }
            _ = tick.tick() => {
                if !hub.prices.has_changed().unwrap_or(false) { continue; }
                let prices = hub.prices.borrow_and_update().clone();
                let msg = ServerMsg::Prices { x: prices.x, y: prices.y };
                if send(&mut socket, &msg).await.is_err() { break; }
            }
            incoming = socket.recv() => {
                // The browser sends nothing yet; a close or error ends the session.
                match incoming {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                }
            }
            () = hub.shutdown.wait() => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
        }
    }
}

async fn send(socket: &mut WebSocket, msg: &ServerMsg) -> Result<(), ()> {
    let text = serde_json::to_string(msg).map_err(|_| ())?;
    socket.send(Message::Text(text.into())).await.map_err(|_| ())
}
