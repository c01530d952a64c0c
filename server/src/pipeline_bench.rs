//! Pipeline benchmarks, as ignored tests (the binary crate has no library for Criterion to
//! link against). Run with `--ignored --nocapture`; figures go to BENCHMARKS.md ("## Pipeline").

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::analytics::resample::{Bar, BarBuilder, Tick};
use app::protocol::FeedStatus;
use tokio::sync::{broadcast, mpsc, watch};

use crate::fake_exchange::{market::MarketSim, market::SymbolSpec, FakeConfig, FakeExchange};
use crate::ingest::binance::{parse_frame, AggTradeEvent, CombinedFrame, Frame};
use crate::ingest::client::{self, IngestConfig, IngestCounters};
use crate::pipeline::{self, Outputs, PairPrices};
use crate::store::{Store, STORED_INTERVALS_MS};

fn count(default: u64) -> u64 {
    std::env::var("PAIRDESK_BENCH_TRADES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// In memory: parse + validate + resample (1s, 1m, 5m) of combined aggTrade frames.
#[test]
#[ignore = "benchmark"]
fn bench_parse_validate_resample() {
    let n = count(1_000_000);
    let mut sim = MarketSim::new(&SymbolSpec::defaults(), 1, 1_709_251_200_000);
    let frames: Vec<String> = (0..n)
        .map(|i| {
            let trade = sim.next_trade(1_709_251_200_000 + i as i64 / 10);
            let stream = format!("{}@aggTrade", trade.symbol.to_ascii_lowercase());
            serde_json::to_string(&CombinedFrame { stream, data: AggTradeEvent::from(&trade) }).expect("frame")
        })
        .collect();
    let mut builders: HashMap<String, Vec<BarBuilder>> = HashMap::new();
    let started = Instant::now();
    let mut bars = 0u64;
    for text in &frames {
        let Ok(Frame::Trade(trade)) = parse_frame(text) else { panic!("bad frame") };
        let tick = Tick { t: trade.t_ms, price: trade.price, qty: trade.qty };
        let set = builders
            .entry(trade.symbol)
            .or_insert_with(|| STORED_INTERVALS_MS.iter().map(|&i| BarBuilder::new(i).expect("interval")).collect());
        for b in set.iter_mut() {
            bars += u64::from(b.push(tick).expect("push").closed.is_some());
        }
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "parse+validate+resample: {n} trades in {secs:.3} s = {:.0} trades/s ({bars} bars closed)",
        n as f64 / secs
    );
}

/// Loopback WebSocket from the fake exchange (rate = max) → ingest → pipeline → sled,
/// until every trade is stored (flushes every 200 ms included).
#[test]
#[ignore = "benchmark"]
fn bench_ingest_loopback_into_sled() {
    let n = count(300_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
    runtime.block_on(async move {
        let exchange = FakeExchange::new(FakeConfig { rate: f64::INFINITY, max_trades: Some(n), ..FakeConfig::demo() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (trigger, shutdown) = crate::shutdown::channel();
        tokio::spawn(exchange.clone().serve(listener, shutdown.clone()));
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let (trade_tx, trade_rx) = mpsc::channel(65_536);
        let (status_tx, _status) = watch::channel(FeedStatus::default());
        let (_commands, commands_rx) = mpsc::channel(1);
        let config = IngestConfig {
            ws_base: format!("ws://{addr}/market"),
            rest_base: format!("http://{addr}"),
            symbols: vec!["btcusdt".into(), "ethusdt".into(), "solusdt".into()],
        };
        let counters = Arc::new(IngestCounters::default());
        let started = Instant::now();
        tokio::spawn(client::run(
            config,
            HashMap::new(),
            trade_tx,
            status_tx,
            counters.clone(),
            commands_rx,
            shutdown.clone(),
        ));
        let (prices, _) = watch::channel(PairPrices::default());
        let (bars, _) = broadcast::channel(pipeline::BAR_CHANNEL_CAPACITY);
        let outputs = Outputs { pair: ("BTCUSDT".into(), "ETHUSDT".into()), prices, bars };
        let pipeline = tokio::spawn(pipeline::run(trade_rx, store.clone(), outputs, shutdown.clone()));
        loop {
            let stored = store.last_ids().expect("ids");
            if exchange.generated() == n
                && ["BTCUSDT", "ETHUSDT", "SOLUSDT"].iter().all(|s| stored.get(*s) == exchange.trade_ids(s).last())
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        store.flush().await.expect("flush");
        let secs = started.elapsed().as_secs_f64();
        trigger.fire();
        let _ = pipeline.await;
        eprintln!(
            "loopback ws -> sled (durable): {n} trades in {secs:.3} s = {:.0} trades/s ({} via stream, {} via REST)",
            n as f64 / secs,
            counters.trades.load(std::sync::atomic::Ordering::Relaxed),
            counters.backfilled.load(std::sync::atomic::Ordering::Relaxed)
        );
    });
}

/// A day of 1s bars for two symbols: time to load both from sled.
#[test]
#[ignore = "benchmark"]
fn bench_load_a_day_of_1s_bars_for_two_symbols() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let day = 86_400i64;
    for symbol in ["BTCUSDT", "ETHUSDT"] {
        let bars: Vec<(String, i64, Bar)> = (0..day)
            .map(|i| {
                let bar = Bar { t: i * 1_000, open: 1.0, high: 2.0, low: 0.5, close: 1.5, volume: 3.0, count: 4 };
                (symbol.to_string(), 1_000, bar)
            })
            .collect();
        store.put_bars(&bars).expect("bars");
    }
    let started = Instant::now();
    let x = store.bars("BTCUSDT", 1_000, 0, day * 1_000).expect("x");
    let y = store.bars("ETHUSDT", 1_000, 0, day * 1_000).expect("y");
    let ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!((x.len(), y.len()), (86_400, 86_400));
    eprintln!("load a day of 1s bars for two symbols (2 x 86 400 bars): {ms:.1} ms");
}
