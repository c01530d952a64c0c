//! One browser's `/ws` socket: the greeting and status, subscribes (validated, rate-limited
//! by a token bucket, answered with a snapshot computed on the blocking pool), the frames
//! of the view feed it watches, quotes every second, alerts, and keep-alive pings.

use std::time::Duration;

use app::protocol::{ClientMsg, ServerMsg};
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::feed::{analytics_msg, encode, quotes_msg, recent_bars, snapshot, View};
use super::hub::{hello, validate, PushHub};

/// Largest client message we accept (a subscribe is ~100 bytes).
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;
/// Subscribes a socket may send in a burst, and how many it regains per second. A page sends
/// one per view change; 10,000 in a burst must not cost 10,000 snapshots.
const SUBSCRIBE_BURST: f64 = 20.0;
const SUBSCRIBES_PER_SECOND: f64 = 5.0;

/// How often each socket is pinged.
const PING_INTERVAL: Duration = Duration::from_secs(30);
/// How often the latest quotes go to each page (the cost tile and the forming bar's band).
const QUOTES_INTERVAL: Duration = Duration::from_secs(1);

pub async fn ws_handler(upgrade: WebSocketUpgrade, State(hub): State<PushHub>) -> Response {
    // Both limits: a frame limit alone would let fragments add up to the message default (64 MiB),
    // a message limit alone leaves tungstenite's 16 MiB frame buffer.
    upgrade
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| serve_client(socket, hub))
}

async fn serve_client(mut socket: WebSocket, mut hub: PushHub) {
    let mut symbols = hub.symbols.subscribe();
    let greeting = hello(&hub, symbols.borrow_and_update().clone());
    let status = ServerMsg::Status(hub.status.borrow_and_update().clone());
    if send(&mut socket, &greeting).await.is_err() || send(&mut socket, &status).await.is_err() {
        return;
    }
    let mut alerts = hub.alerts.subscribe();
    let mut budget = SubscribeBudget::new();
    let mut quotes_tick = tokio::time::interval(QUOTES_INTERVAL);
    // A ping every 30 s keeps a quiet page's socket inside the connection idle timeout
    // (`web::conn`) and finds dead peers.
    let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
    let mut view: Option<View> = None;
    let mut feed: Option<broadcast::Receiver<Utf8Bytes>> = None;
    loop {
        let outgoing: Vec<Utf8Bytes> = tokio::select! {
            changed = hub.status.changed() => {
                if changed.is_err() { break; }
                encode(&[ServerMsg::Status(hub.status.borrow_and_update().clone())])
            }
            changed = symbols.changed() => {
                if changed.is_err() { break; }
                encode(&[hello(&hub, symbols.borrow_and_update().clone())])
            }
            frame = next_frame(&mut feed) => match frame {
                // The feed itself lost bars: resynchronise from the store.
                Ok(frame) if frame.as_str().is_empty() => resnapshot(&hub, view.as_ref()).await,
                Ok(frame) => vec![frame],
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "slow browser client: resending a snapshot");
                    resnapshot(&hub, view.as_ref()).await
                }
                Err(broadcast::error::RecvError::Closed) => {
                    feed = None;
                    vec![]
                }
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
                vec![]
            }
            _ = quotes_tick.tick(), if hub.side.is_some() && view.is_some() => {
                view.as_ref().and_then(|v| quotes_msg(&hub, v)).map(|m| encode(&[m])).unwrap_or_default()
            }
            event = alerts.recv() => match event {
                Ok(event) => encode(&[ServerMsg::Alert(event)]),
                Err(broadcast::error::RecvError::Lagged(_)) => vec![],
                Err(broadcast::error::RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientMsg>(&text) {
                    Ok(ClientMsg::Subscribe { .. }) if !budget.take(Instant::now()) => {
                        // Over budget: dropped. One error per second at most, so a flood is not echoed.
                        if budget.warn(Instant::now()) {
                            encode(&[ServerMsg::Error {
                                message: format!("too many subscribes: at most {SUBSCRIBE_BURST} at once and {SUBSCRIBES_PER_SECOND} per second"),
                            }])
                        } else {
                            vec![]
                        }
                    }
                    Ok(ClientMsg::Subscribe { x, y, interval_ms, analytics, tape_window }) => match validate(&hub, x, y, interval_ms, analytics, tape_window) {
                        Ok(v) => {
                            // Join the feed first: a delta racing the snapshot is applied twice, never lost.
                            feed = Some(hub.feed(&v));
                            let only_analytics = view.as_ref().is_some_and(|current| current.same_bars(&v));
                            let new_tape = view.as_ref().is_none_or(|current| current.tape_window != v.tape_window);
                            // Store reads and analytics (Theil–Sen is O(n²)) run in the `/ws` work
                            // slots, never on the async workers that answer every other request.
                            let (work_hub, work_view) = (hub.clone(), v.clone());
                            let msgs = super::work::blocking(move || {
                                if only_analytics {
                                    // Only the analytics (or the tape window) changed: the page
                                    // already holds the bars.
                                    let (x_bars, y_bars) = recent_bars(&work_hub, &work_view);
                                    let tape = new_tape.then(|| super::tape::snapshot_msg(&work_view, &x_bars, &y_bars));
                                    tape.flatten().into_iter().chain(analytics_msg(&work_view, &x_bars, &y_bars)).collect()
                                } else {
                                    snapshot(&work_hub, &work_view)
                                }
                            })
                            .await
                            .unwrap_or_default();
                            view = Some(v);
                            encode(&msgs)
                        }
                        Err(message) => encode(&[ServerMsg::Error { message }]),
                    },
                    Err(err) => encode(&[ServerMsg::Error { message: format!("unreadable message: {err}") }]),
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => vec![],
            },
            () = hub.shutdown.wait() => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
        };
        for frame in outgoing {
            if socket.send(Message::Text(frame)).await.is_err() {
                return;
            }
        }
    }
}

/// A token bucket of subscribes per socket.
struct SubscribeBudget {
    tokens: f64,
    at: Instant,
    warned: Option<Instant>,
}

impl SubscribeBudget {
    fn new() -> Self {
        SubscribeBudget { tokens: SUBSCRIBE_BURST, at: Instant::now(), warned: None }
    }

    /// Spends one subscribe if there is one.
    fn take(&mut self, now: Instant) -> bool {
        let regained = now.saturating_duration_since(self.at).as_secs_f64() * SUBSCRIBES_PER_SECOND;
        self.tokens = (self.tokens + regained).min(SUBSCRIBE_BURST);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether a refused subscribe should be answered (once per second).
    fn warn(&mut self, now: Instant) -> bool {
        let due = self.warned.is_none_or(|at| now.saturating_duration_since(at) >= Duration::from_secs(1));
        if due {
            self.warned = Some(now);
        }
        due
    }
}

/// A fresh snapshot of `view` (store reads, analytics and the p-value tape), computed in the
/// `/ws` work slots ([`super::work`]) like the first one.
async fn resnapshot(hub: &PushHub, view: Option<&View>) -> Vec<Utf8Bytes> {
    let Some(view) = view.cloned() else { return Vec::new() };
    let hub = hub.clone();
    super::work::blocking(move || encode(&snapshot(&hub, &view))).await.unwrap_or_default()
}

/// The next frame of the client's view feed; never resolves without one.
async fn next_frame(
    feed: &mut Option<broadcast::Receiver<Utf8Bytes>>,
) -> Result<Utf8Bytes, broadcast::error::RecvError> {
    match feed {
        Some(feed) => feed.recv().await,
        None => std::future::pending().await,
    }
}

async fn send(socket: &mut WebSocket, msg: &ServerMsg) -> Result<(), ()> {
    let text = serde_json::to_string(msg).map_err(|_| ())?;
    socket.send(Message::Text(text.into())).await.map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subscribe_budget_allows_a_burst_then_a_steady_rate() {
        let start = Instant::now();
        let mut budget = SubscribeBudget { tokens: SUBSCRIBE_BURST, at: start, warned: None };
        let granted = (0..10_000).filter(|_| budget.take(start)).count();
        assert_eq!(granted, SUBSCRIBE_BURST as usize);
        assert!(budget.warn(start) && !budget.warn(start + Duration::from_millis(500)));
        // Two seconds later: ten more (5 per second), not the whole burst.
        let later = start + Duration::from_secs(2);
        let granted = (0..10_000).filter(|_| budget.take(later)).count();
        assert_eq!(granted, (2.0 * SUBSCRIBES_PER_SECOND) as usize);
        assert!(budget.warn(later));
    }
}
