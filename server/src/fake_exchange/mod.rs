//! A local stand-in for Binance USDⓈ-M futures that speaks its exact wire formats on
//! loopback: combined (`/stream?streams=…`, also under `/market`) and raw (`/ws/<stream>`)
//! `@aggTrade` and `@trade` WebSocket streams, SUBSCRIBE/UNSUBSCRIBE replies and pings
//! ([`ws`]); REST `/fapi/v1/aggTrades` and `/fapi/v1/klines` answering from the same
//! history ([`rest`]). Trades come from seeded price paths ([`market`]) in which ETH is
//! cointegrated with BTC; faults are injected on request ([`faults`]).
//!
//! Generation starts when the first stream client connects, so a client that connects
//! first sees every trade. At `rate = max` trades are produced as fast as the fastest
//! client drains them. `GET /debug/ids?symbol=` returns the ground truth: every retained
//! trade id of a symbol. It is what tests, benchmarks and `pairdesk serve --demo` run against.

pub mod book;
pub mod faults;
pub mod funding;
pub mod history;
pub mod klines;
pub mod market;
pub mod rest;
pub mod ws;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use tokio::sync::Notify;

use crate::cli::FakeExchangeArgs;
use crate::market::{now_ms, Trade};
use crate::shutdown::{self, Shutdown};
pub use faults::Faults;
use history::History;
use klines::KlineHistory;
use market::{MarketSim, SymbolSpec};

/// How many trades the generator may run ahead of the fastest client at `rate = max`.
const MAX_RATE_WINDOW: u64 = 16_384;
/// Trades generated per step at `rate = max`.
const MAX_RATE_CHUNK: u64 = 2_048;

/// What the fake exchange simulates.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    pub symbols: Vec<SymbolSpec>,
    /// Trades per second per symbol; `f64::INFINITY` (or ≤ 0) = as fast as the socket drains.
    pub rate: f64,
    pub seed: u64,
    /// Stop generating after this many trades in total (all symbols).
    pub max_trades: Option<u64>,
    /// Trades retained per symbol (for REST and for lagging streams).
    pub history_limit: usize,
    pub faults: Faults,
    /// How far back the klines history reaches before the simulation starts ([`klines`]).
    pub kline_history_ms: i64,
    /// Best bid/ask updates on `/public` per trade (at least 1).
    pub book_updates_per_trade: u64,
    /// Funding interval of even symbols (odd ones settle twice as often); `None` = 8 h.
    /// Tests set seconds so settlements happen while they run.
    pub funding_interval_ms: Option<i64>,
    /// First aggregate id per symbol (upper case) where it must not start at the default
    /// ([`market::FIRST_ID`]): `pairdesk serve --demo` continues from the ids its data dir
    /// already holds, so a restart's trades are new, not duplicates of the last run's.
    pub start_ids: std::collections::HashMap<String, u64>,
}

impl FakeConfig {
    /// BTC and ETH (cointegrated) plus SOL, at a lively but readable pace.
    pub fn demo() -> Self {
        Self {
            symbols: SymbolSpec::defaults(),
            rate: 20.0,
            seed: 7,
            max_trades: None,
            history_limit: 500_000,
            faults: Faults::default(),
            kline_history_ms: 2 * 86_400_000,
            book_updates_per_trade: 1,
            funding_interval_ms: None,
            start_ids: Default::default(),
        }
    }

    fn is_max_rate(&self) -> bool {
        !self.rate.is_finite() || self.rate <= 0.0
    }
}

/// A running simulation; cheap to clone into handlers.
#[derive(Clone)]
pub struct FakeExchange {
    shared: Arc<Shared>,
}

struct Shared {
    config: FakeConfig,
    history: History,
    sim: Mutex<MarketSim>,
    generated: AtomicU64,
    /// Stream connections opened so far (also seeds each connection's fault RNG).
    connections: AtomicU64,
    /// Gets a permit when the first client subscribes to a trade stream.
    first_client: Notify,
    /// Synthetic 1m history before the simulation's start.
    klines: KlineHistory,
    /// When the simulation was created, epoch ms (funding history is dated from it).
    started_ms: i64,
}

impl FakeExchange {
    pub fn new(config: FakeConfig) -> Self {
        let names: Vec<String> = config.symbols.iter().map(|s| s.symbol.clone()).collect();
        let history = History::new(&names, config.history_limit);
        let started_ms = now_ms();
        let sim = Mutex::new(MarketSim::new(&config.symbols, config.seed, started_ms).starting_at(&config.start_ids));
        let klines = KlineHistory::generate(&config.symbols, config.seed, started_ms, config.kline_history_ms);
        Self {
            shared: Arc::new(Shared {
                config,
                history,
                sim,
                generated: AtomicU64::new(0),
                connections: AtomicU64::new(0),
                first_client: Notify::new(),
                klines,
                started_ms,
            }),
        }
    }

    pub fn config(&self) -> &FakeConfig {
        &self.shared.config
    }

    pub(crate) fn history(&self) -> &History {
        &self.shared.history
    }

    /// The synthetic klines before the simulation started.
    pub fn kline_history(&self) -> &KlineHistory {
        &self.shared.klines
    }

    /// The HTTP + WebSocket surface.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/stream", get(ws::combined_stream))
            .route("/market/stream", get(ws::combined_stream))
            .route("/ws/{stream}", get(ws::raw_stream))
            .route("/market/ws/{stream}", get(ws::raw_stream))
            .route("/fapi/v1/aggTrades", get(rest::agg_trades))
            .route("/fapi/v1/klines", get(klines::klines))
            .route("/public/stream", get(book::combined_stream))
            .route("/public/ws/{stream}", get(book::raw_stream))
            .route("/fapi/v1/fundingRate", get(funding::funding_rate))
            .route("/fapi/v1/premiumIndex", get(funding::premium_index))
            .route("/debug/ids", get(rest::debug_ids))
            .route("/debug/stats", get(rest::debug_stats))
            .with_state(self.clone())
    }

    /// Generates trades and serves clients until shutdown.
    pub async fn serve(self, listener: tokio::net::TcpListener, shutdown: Shutdown) {
        let generator = tokio::spawn(generate(self.clone(), shutdown.clone()));
        let mut stop = shutdown.clone();
        let app = self.router();
        // Like Binance, frames go out at once (no Nagle delay on small frames).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        if let Err(err) = axum::serve(listener, app).with_graceful_shutdown(async move { stop.wait().await }).await {
            tracing::error!(%err, "fake exchange stopped");
        }
        generator.abort();
    }

    /// Generates `n` trades at once (timestamped now), whatever the rate. For tests.
    pub fn push_trades(&self, n: u64) {
        let trades = {
            let mut sim = self.shared.sim.lock().unwrap_or_else(|p| p.into_inner());
            let now = now_ms();
            (0..n).map(|_| sim.next_trade(now)).collect::<Vec<Trade>>()
        };
        self.shared.generated.fetch_add(n, Ordering::Relaxed);
        self.shared.history.append(trades);
    }

    /// Ground truth: every retained trade id of `symbol` (upper case), in order.
    pub fn trade_ids(&self, symbol: &str) -> Vec<u64> {
        self.shared.history.ids(symbol)
    }

    /// When the simulation was created, epoch ms.
    pub fn started_ms(&self) -> i64 {
        self.shared.started_ms
    }

    /// The last traded price of `symbol`, if it has traded.
    pub fn last_price(&self, symbol: &str) -> Option<f64> {
        self.shared.history.last_price(symbol)
    }

    /// Trades generated so far (all symbols).
    pub fn generated(&self) -> u64 {
        self.shared.generated.load(Ordering::Relaxed)
    }

    /// How many more trades may be generated.
    fn remaining(&self) -> u64 {
        self.shared.config.max_trades.map_or(u64::MAX, |max| max.saturating_sub(self.generated()))
    }

    /// Counts a stream connection; returns its number.
    fn client_connected(&self) -> u64 {
        self.shared.connections.fetch_add(1, Ordering::Relaxed)
    }

    /// A client asks for trades: generation starts (if it has not). Only trade streams
    /// count, so the client that connects its trade stream first still sees every trade even
    /// when its book or mark-price connection opened before it.
    fn trade_client_ready(&self) {
        self.shared.first_client.notify_one();
    }
}

/// `pairdesk fake-exchange`: runs until Ctrl-C.
pub async fn run_standalone(args: FakeExchangeArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.bind).await?;
    let addr = listener.local_addr()?;
    tracing::info!("fake exchange on ws://{addr}/market/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade and http://{addr}/fapi/v1/aggTrades");
    let (trigger, shutdown) = shutdown::channel();
    let secs = |s: Option<f64>| s.filter(|s| s.is_finite() && *s > 0.0).map(Duration::from_secs_f64);
    let kline_history_ms =
        crate::ingest::history::parse_depth(&args.history).map_err(|e| anyhow::anyhow!("--history: {e}"))?.unwrap_or(0);
    let config = FakeConfig {
        kline_history_ms,
        rate: args.rate.0,
        seed: args.seed,
        max_trades: args.max_trades,
        history_limit: args.history_limit,
        faults: Faults {
            disconnect_every: secs(args.disconnect_every),
            disconnect_after_trades: args.disconnect_after_trades.filter(|n| *n > 0),
            garbage_prob: args.garbage_prob,
            duplicate_prob: args.duplicate_prob,
            stall_every: secs(args.stall_every),
            stall_for: secs(Some(args.stall_for)).unwrap_or_default(),
            rest_429_prob: args.rest_429_prob,
            retry_after_s: args.retry_after,
            book_bad_prob: args.book_bad_prob,
            public_disconnect_every: secs(args.public_disconnect_every),
            public_down: args.public_down,
        },
        funding_interval_ms: args.funding_interval_ms,
        book_updates_per_trade: args.book_updates_per_trade.max(1),
        ..FakeConfig::demo()
    };
    let exchange = FakeExchange::new(config);
    let server = tokio::spawn(exchange.serve(listener, shutdown));
    shutdown::os_signal().await;
    trigger.fire();
    let _ = server.await;
    Ok(())
}

/// Produces trades: at a fixed rate, or at `rate = max` as fast as the fastest client
/// drains them (never more than [`MAX_RATE_WINDOW`] ahead of it).
async fn generate(exchange: FakeExchange, mut shutdown: Shutdown) {
    tokio::select! {
        () = exchange.shared.first_client.notified() => {},
        () = shutdown.wait() => return,
    }
    let config = exchange.config().clone();
    let history = exchange.history();
    if config.is_max_rate() {
        loop {
            let remaining = exchange.remaining();
            if remaining == 0 || shutdown.is_requested() {
                return;
            }
            let drained = history.drained.notified();
            let ahead = history.end_seq().saturating_sub(history.delivered());
            if ahead >= MAX_RATE_WINDOW {
                tokio::select! {
                    _ = tokio::time::timeout(Duration::from_millis(50), drained) => {},
                    () = shutdown.wait() => return,
                }
                continue;
            }
            exchange.push_trades((MAX_RATE_WINDOW - ahead).min(MAX_RATE_CHUNK).min(remaining));
            tokio::task::yield_now().await;
        }
    }
    let per_second = config.rate * config.symbols.len() as f64;
    let step = Duration::from_secs_f64(1.0 / per_second).clamp(Duration::from_millis(2), Duration::from_secs(1));
    let mut tick = tokio::time::interval(step);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = tokio::time::Instant::now();
    let mut produced = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {},
            () = shutdown.wait() => return,
        }
        let due = (started.elapsed().as_secs_f64() * per_second) as u64;
        let n = due.saturating_sub(produced).min(exchange.remaining());
        if n > 0 {
            exchange.push_trades(n);
            produced += n;
        }
        if exchange.remaining() == 0 {
            return;
        }
    }
}
