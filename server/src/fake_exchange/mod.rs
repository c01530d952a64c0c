//! A local stand-in for Binance USDⓈ-M futures that speaks its exact wire format on
//! loopback: combined (`/stream?streams=…`, also under `/market`) and raw (`/ws/<stream>`)
//! aggTrade WebSocket streams, SUBSCRIBE/UNSUBSCRIBE replies and pings. Trades come from
//! seeded price paths ([`market`]) in which ETH is cointegrated with BTC.
//!
//! It is what tests, benchmarks and `pairdesk serve --demo` ingest from.

pub mod market;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tokio::sync::broadcast;

use crate::cli::FakeExchangeArgs;
use crate::ingest::binance::{AggTradeEvent, CombinedFrame};
use crate::market::Trade;
use crate::shutdown::{self, Shutdown};
use market::{MarketSim, SymbolSpec};

/// How often the exchange pings each client (Binance futures: every 3 minutes).
const PING_INTERVAL: Duration = Duration::from_secs(180);

/// What the fake exchange simulates.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    pub symbols: Vec<SymbolSpec>,
    /// Trades per second per symbol.
    pub rate: f64,
    pub seed: u64,
}

impl FakeConfig {
    /// BTC and ETH (cointegrated) plus SOL, at a lively but readable pace.
    pub fn demo() -> Self {
        Self { symbols: SymbolSpec::defaults(), rate: 20.0, seed: 7 }
    }
}

/// A running simulation; cheap to clone into handlers.
#[derive(Clone)]
pub struct FakeExchange {
    config: Arc<FakeConfig>,
    trades: broadcast::Sender<Arc<Trade>>,
}

impl FakeExchange {
    pub fn new(config: FakeConfig) -> Self {
        let (trades, _) = broadcast::channel(65_536);
        Self { config: Arc::new(config), trades }
    }

    /// Generates trades and serves clients until shutdown.
    pub async fn serve(self, listener: tokio::net::TcpListener, shutdown: Shutdown) {
        let generator = tokio::spawn(generate(self.config.clone(), self.trades.clone(), shutdown.clone()));
        let app = Router::new()
            .route("/stream", get(combined_stream))
            .route("/market/stream", get(combined_stream))
            .route("/ws/{stream}", get(raw_stream))
            .route("/market/ws/{stream}", get(raw_stream))
            .with_state(self);
        let mut stop = shutdown.clone();
        if let Err(err) = axum::serve(listener, app).with_graceful_shutdown(async move { stop.wait().await }).await {
            tracing::error!(%err, "fake exchange stopped");
        }
        generator.abort();
    }
}

/// `pairdesk fake-exchange`: runs until Ctrl-C.
pub async fn run_standalone(args: FakeExchangeArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.bind).await?;
    tracing::info!(
        "fake exchange on ws://{}/market/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade",
        listener.local_addr()?
    );
    let (trigger, shutdown) = shutdown::channel();
    let exchange = FakeExchange::new(FakeConfig { rate: args.rate, seed: args.seed, ..FakeConfig::demo() });
    let server = tokio::spawn(exchange.serve(listener, shutdown));
    shutdown::os_signal().await;
    trigger.fire();
    let _ = server.await;
    Ok(())
}

async fn generate(config: Arc<FakeConfig>, trades: broadcast::Sender<Arc<Trade>>, mut shutdown: Shutdown) {
    let mut sim = MarketSim::new(&config.symbols, config.seed, now_ms());
    let period = Duration::from_secs_f64(1.0 / (config.rate * config.symbols.len() as f64).max(1e-3));
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let trade = sim.next_trade(now_ms());
                // No subscribers is fine: trades still advance the history.
                let _ = trades.send(Arc::new(trade));
            }
            () = shutdown.wait() => return,
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[derive(Deserialize)]
struct StreamsQuery {
    streams: Option<String>,
}

async fn combined_stream(
    upgrade: WebSocketUpgrade,
    Query(query): Query<StreamsQuery>,
    State(exchange): State<FakeExchange>,
) -> Response {
    let streams = parse_streams(query.streams.as_deref().unwrap_or(""));
    upgrade.on_upgrade(move |socket| serve_client(socket, exchange, streams, true))
}

async fn raw_stream(
    upgrade: WebSocketUpgrade,
    Path(stream): Path<String>,
    State(exchange): State<FakeExchange>,
) -> Response {
    let streams = parse_streams(&stream);
    upgrade.on_upgrade(move |socket| serve_client(socket, exchange, streams, false))
}

/// `btcusdt@aggTrade/ethusdt@aggTrade` → {"btcusdt@aggTrade", "ethusdt@aggTrade"}.
fn parse_streams(list: &str) -> HashSet<String> {
    list.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

#[derive(Deserialize)]
struct MethodCall {
    method: String,
    #[serde(default)]
    params: Vec<String>,
    id: u64,
}

async fn serve_client(mut socket: WebSocket, exchange: FakeExchange, mut streams: HashSet<String>, combined: bool) {
    let mut trades = exchange.trades.subscribe();
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.tick().await;
    loop {
        tokio::select! {
            received = trades.recv() => {
                let trade = match received {
                    Ok(trade) => trade,
                    // Like Binance, a client that cannot keep up is disconnected.
                    Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => break,
                };
                let stream = format!("{}@aggTrade", trade.symbol.to_ascii_lowercase());
                if !streams.contains(&stream) { continue; }
                let event = AggTradeEvent::from(trade.as_ref());
                let text = if combined {
                    serde_json::to_string(&CombinedFrame { stream, data: event })
                } else {
                    serde_json::to_string(&event)
                };
                let Ok(text) = text else { continue };
                if socket.send(Message::Text(text.into())).await.is_err() { break; }
            }
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() { break; }
            }
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                let reply = match serde_json::from_str::<MethodCall>(&text) {
                    Ok(call) if call.method == "SUBSCRIBE" => {
                        streams.extend(call.params);
                        serde_json::json!({"result": null, "id": call.id})
                    }
                    Ok(call) if call.method == "UNSUBSCRIBE" => {
                        for s in &call.params { streams.remove(s); }
                        serde_json::json!({"result": null, "id": call.id})
                    }
                    Ok(call) => serde_json::json!({"error": {"code": 2, "msg": format!("Invalid request: unknown method {}", call.method)}, "id": call.id}),
                    Err(_) => serde_json::json!({"error": {"code": 3, "msg": "Invalid JSON"}, "id": null}),
                };
                if socket.send(Message::Text(reply.to_string().into())).await.is_err() { break; }
            }
        }
    }
}
