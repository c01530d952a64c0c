//! The fake exchange's WebSocket streams: combined (`{"stream":…,"data":…}`) and raw
//! frames of `<symbol>@aggTrade` and `<symbol>@trade`, SUBSCRIBE/UNSUBSCRIBE replies,
//! pings, and the per-connection faults (garbage, duplicates, stalls, abrupt drops).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use futures_util::SinkExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use tokio::time::Instant;

use super::faults::garbage_frame;
use super::history::History;
use super::FakeExchange;
use crate::market::Trade;

/// How often the exchange pings each client (Binance futures: every 3 minutes).
const PING_INTERVAL: Duration = Duration::from_secs(180);
/// `@markPrice@1s`: one update per second per subscribed symbol.
const MARK_INTERVAL: Duration = Duration::from_secs(1);
/// Trades read from the history per send burst.
const BURST: usize = 512;

#[derive(Deserialize)]
pub struct StreamsQuery {
    pub(super) streams: Option<String>,
}

pub async fn combined_stream(
    upgrade: WebSocketUpgrade,
    Query(query): Query<StreamsQuery>,
    State(exchange): State<FakeExchange>,
) -> Response {
    let streams = Subscriptions::parse(query.streams.as_deref().unwrap_or(""));
    upgrade.on_upgrade(move |socket| serve_client(socket, exchange, streams, true))
}

pub async fn raw_stream(
    upgrade: WebSocketUpgrade,
    Path(stream): Path<String>,
    State(exchange): State<FakeExchange>,
) -> Response {
    let streams = Subscriptions::parse(&stream);
    upgrade.on_upgrade(move |socket| serve_client(socket, exchange, streams, false))
}

/// The streams one connection is subscribed to, with a per-symbol cache of what to send.
struct Subscriptions {
    streams: HashSet<String>,
    /// symbol → (send aggTrade, send trade).
    cache: HashMap<String, (bool, bool)>,
}

impl Subscriptions {
    /// `btcusdt@aggTrade/ethusdt@trade` → both streams.
    fn parse(list: &str) -> Self {
        Self { streams: list.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect(), cache: HashMap::new() }
    }

    fn wants(&mut self, symbol: &str) -> (bool, bool) {
        if let Some(w) = self.cache.get(symbol) {
            return *w;
        }
        let lower = symbol.to_ascii_lowercase();
        let w = (self.streams.contains(&format!("{lower}@aggTrade")), self.streams.contains(&format!("{lower}@trade")));
        self.cache.insert(symbol.to_string(), w);
        w
    }

    /// Whether any `@aggTrade` or `@trade` stream is subscribed.
    fn wants_trades(&self) -> bool {
        self.streams.iter().any(|s| s.ends_with("@aggTrade") || s.ends_with("@trade"))
    }

    fn subscribe(&mut self, params: Vec<String>) {
        self.streams.extend(params);
        self.cache.clear();
    }

    fn unsubscribe(&mut self, params: &[String]) {
        for s in params {
            self.streams.remove(s);
        }
        self.cache.clear();
    }
}

#[derive(Deserialize)]
struct MethodCall {
    method: String,
    #[serde(default)]
    params: Vec<String>,
    id: u64,
}

/// Why a connection ended (only logged).
enum End {
    Client,
    Fault,
    Lagged,
}

async fn serve_client(mut socket: WebSocket, exchange: FakeExchange, mut streams: Subscriptions, combined: bool) {
    let history = exchange.history();
    let mut cursor = history.end_seq();
    history.mark_delivered(cursor);
    let connection = exchange.client_connected();
    if streams.wants_trades() {
        exchange.trade_client_ready();
    }
    let faults = exchange.config().faults.clone();
    let mut rng = StdRng::seed_from_u64(exchange.config().seed ^ connection.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let opened = Instant::now();
    let far = opened + Duration::from_secs(86_400 * 365);
    let drop_at = faults.disconnect_every.map_or(far, |d| opened + d);
    let mut next_stall = faults.stall_every.map_or(far, |d| opened + d);
    let mut sent = 0u64;
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.tick().await;
    let mut marks = tokio::time::interval(MARK_INTERVAL);
    let end = loop {
        tokio::select! {
            biased;
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break End::Client,
                    Some(Ok(_)) => continue,
                };
                let reply = match serde_json::from_str::<MethodCall>(&text) {
                    Ok(call) if call.method == "SUBSCRIBE" => {
                        streams.subscribe(call.params);
                        if streams.wants_trades() {
                            exchange.trade_client_ready();
                        }
                        serde_json::json!({"result": null, "id": call.id})
                    }
                    Ok(call) if call.method == "UNSUBSCRIBE" => {
                        streams.unsubscribe(&call.params);
                        serde_json::json!({"result": null, "id": call.id})
                    }
                    Ok(call) if call.method == "LIST_SUBSCRIPTIONS" => {
                        let mut list: Vec<&String> = streams.streams.iter().collect();
                        list.sort();
                        serde_json::json!({"result": list, "id": call.id})
                    }
                    Ok(call) => serde_json::json!({"error": {"code": 2, "msg": format!("Invalid request: unknown method {}", call.method)}, "id": call.id}),
                    Err(_) => serde_json::json!({"error": {"code": 3, "msg": "Invalid JSON"}, "id": null}),
                };
                if socket.send(Message::Text(reply.to_string().into())).await.is_err() { break End::Client; }
            }
            // Abrupt: the socket is dropped without a close frame, as when a TCP path dies.
            () = tokio::time::sleep_until(drop_at) => break End::Fault,
            () = tokio::time::sleep_until(next_stall) => {
                tokio::time::sleep(faults.stall_for).await;
                next_stall = faults.stall_every.map_or(far, |d| Instant::now() + d);
            }
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() { break End::Client; }
            }
            _ = marks.tick() => {
                if send_marks(&mut socket, &exchange, &streams, combined).await.is_err() { break End::Client; }
            }
            () = trades_after(history, cursor) => {
                let Ok(batch) = history.read_from(cursor, BURST) else { break End::Lagged };
                cursor += batch.len() as u64;
                match send_burst(&mut socket, &batch, &mut streams, combined, &faults, &mut rng, &mut sent).await {
                    Ok(()) => history.mark_delivered(cursor),
                    Err(end) => break end,
                }
            }
        }
    };
    match end {
        End::Client => tracing::debug!(connection, "stream client left"),
        End::Fault => tracing::debug!(connection, sent, "fault: dropped the connection"),
        // Like Binance, a client that cannot keep up is disconnected.
        End::Lagged => tracing::info!(connection, "stream client fell behind the history; disconnected"),
    }
}

/// One markPriceUpdate per subscribed `<symbol>@markPrice@1s` stream (the fake's own encoder).
async fn send_marks(
    socket: &mut WebSocket,
    exchange: &FakeExchange,
    streams: &Subscriptions,
    combined: bool,
) -> Result<(), axum::Error> {
    let config = exchange.config();
    let now = crate::market::now_ms();
    for (index, spec) in config.symbols.iter().enumerate() {
        let stream = format!("{}@markPrice@1s", spec.symbol.to_ascii_lowercase());
        if !streams.streams.contains(&stream) {
            continue;
        }
        let mark = exchange.last_price(&spec.symbol).unwrap_or(spec.start_price);
        let data = super::funding::mark_price_json(config, index, now, mark);
        let text = if combined { serde_json::json!({"stream": stream, "data": data}) } else { data };
        socket.send(Message::Text(text.to_string().into())).await?;
    }
    Ok(())
}

/// Resolves once the history holds trades at or after `cursor`.
pub(super) async fn trades_after(history: &History, cursor: u64) {
    loop {
        let appended = history.appended.notified();
        if history.end_seq() > cursor {
            return;
        }
        appended.await;
    }
}

async fn send_burst(
    socket: &mut WebSocket,
    batch: &[std::sync::Arc<Trade>],
    streams: &mut Subscriptions,
    combined: bool,
    faults: &super::Faults,
    rng: &mut StdRng,
    sent: &mut u64,
) -> Result<(), End> {
    for trade in batch {
        let (agg, raw) = streams.wants(&trade.symbol);
        if !agg && !raw {
            continue;
        }
        if faults.garbage_prob > 0.0 && rng.random::<f64>() < faults.garbage_prob {
            socket.feed(garbage_frame(rng, trade)).await.map_err(|_| End::Client)?;
        }
        let copies = if faults.duplicate_prob > 0.0 && rng.random::<f64>() < faults.duplicate_prob { 2 } else { 1 };
        for _ in 0..copies {
            if agg {
                let text = agg_trade_text(trade, combined, None);
                socket.feed(Message::Text(text.into())).await.map_err(|_| End::Client)?;
            }
            if raw {
                let text = frame(trade, combined, "trade", trade_json(trade));
                socket.feed(Message::Text(text.into())).await.map_err(|_| End::Client)?;
            }
        }
        *sent += 1;
        if faults.disconnect_after_trades.is_some_and(|n| *sent >= n) {
            // Whatever was fed but not flushed is lost with the connection, as in real life.
            return Err(End::Fault);
        }
    }
    socket.flush().await.map_err(|_| End::Client)
}

/// The `aggTrade` frame exactly as Binance writes it (combined or raw), with the fake's own
/// encoder (never the ingest's wire types: a field typo must not be written once and pass on
/// both ends), written straight into a string: it runs once per trade, and building a JSON
/// value first halved the in-process ingest benchmark. `price` replaces the price text (the
/// faults' impossible prices).
pub(super) fn agg_trade_text(trade: &Trade, combined: bool, price: Option<&str>) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(256);
    let lower = trade.symbol.to_ascii_lowercase();
    if combined {
        let _ = write!(text, r#"{{"stream":"{lower}@aggTrade","data":"#);
    }
    let price = price.map_or_else(|| format!("{}", trade.price), str::to_string);
    let _ = write!(
        text,
        r#"{{"e":"aggTrade","E":{t},"s":"{s}","a":{a},"p":"{price}","q":"{q}","nq":"{q}","f":{f},"l":{l},"T":{t},"m":{m}}}"#,
        t = trade.t_ms,
        s = trade.symbol,
        a = trade.agg_id,
        q = trade.qty,
        f = trade.agg_id.saturating_mul(3),
        l = trade.agg_id.saturating_mul(3).saturating_add(2),
        m = trade.buyer_is_maker,
    );
    if combined {
        text.push('}');
    }
    text
}

/// The raw `trade` event of a `<symbol>@trade` stream.
fn trade_json(trade: &Trade) -> serde_json::Value {
    serde_json::json!({
        "e": "trade",
        "E": trade.t_ms,
        "T": trade.t_ms,
        "s": trade.symbol,
        "t": trade.agg_id * 3 + 2,
        "p": format!("{}", trade.price),
        "q": format!("{}", trade.qty),
        "X": "MARKET",
        "m": trade.buyer_is_maker,
    })
}

/// A combined (`{"stream", "data"}`) or raw frame of `event`.
pub(super) fn frame(trade: &Trade, combined: bool, kind: &str, event: serde_json::Value) -> String {
    if combined {
        let stream = format!("{}@{kind}", trade.symbol.to_ascii_lowercase());
        serde_json::json!({"stream": stream, "data": event}).to_string()
    } else {
        event.to_string()
    }
}
