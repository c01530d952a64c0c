//! Pipeline benchmarks (issue 4), a plain load generator printing a report; figures go to
//! BENCHMARKS.md ("## Pipeline").
//!
//! ```text
//! cargo bench -p server --bench pipeline                    # memory, ingest, bars
//! cargo bench -p server --bench pipeline -- big             # 10M ticks: ingest, serve RSS, rebuild
//! cargo bench -p server --bench pipeline -- memory ingest bars big
//! ```
//!
//! `PAIRDESK_BENCH_TRADES=N` sets the trade count of `memory` and `ingest` (defaults 1M and
//! 300k); `PAIRDESK_BENCH_BIG=N` that of `big` (default 10M).
//! `PAIRDESK_DB_CACHE=BYTES` sets sled's page cache in `ingest` (default 64 MiB, as `serve --db-cache`).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::analytics::resample::{Bar, BarBuilder, Tick};
use app::protocol::FeedStatus;
use tokio::sync::{broadcast, mpsc, watch};

use server::fake_exchange::{market::MarketSim, market::SymbolSpec, FakeConfig, FakeExchange};
use server::ingest::binance::{parse_frame, AggTradeEvent, CombinedFrame, Frame};
use server::ingest::client::{self, IngestConfig, IngestCounters};
use server::pipeline::{self, Outputs, PairPrices};
use server::store::{Store, STORED_INTERVALS_MS};

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; anything else not starting with `-` names a section.
    let mut sections: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    if sections.is_empty() {
        sections = vec!["memory".into(), "ingest".into(), "bars".into()];
    }
    for section in &sections {
        match section.as_str() {
            "memory" => parse_validate_resample(env_count("PAIRDESK_BENCH_TRADES", 1_000_000)),
            "ingest" => {
                let dir = tempfile::tempdir().expect("tempdir");
                ingest_loopback_into_sled(env_count("PAIRDESK_BENCH_TRADES", 300_000), dir.path());
            }
            "bars" => load_a_day_of_1s_bars_for_two_symbols(),
            "big" => big_store(env_count("PAIRDESK_BENCH_BIG", 10_000_000)),
            other => panic!("unknown section `{other}` (memory, ingest, bars, big)"),
        }
    }
}

/// In memory: parse + validate + resample (1s, 1m, 5m) of combined aggTrade frames.
fn parse_validate_resample(n: u64) {
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
    println!(
        "memory: parse+validate+resample: {n} trades in {secs:.3} s = {:.0} trades/s ({bars} bars closed)",
        n as f64 / secs
    );
}

/// Loopback WebSocket from the fake exchange (rate = max, 3 symbols) → ingest → pipeline
/// → sled in `dir`, until every trade is stored and flushed (200 ms flushes included).
fn ingest_loopback_into_sled(n: u64, dir: &Path) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
    runtime.block_on(async move {
        let exchange = FakeExchange::new(FakeConfig { rate: f64::INFINITY, max_trades: Some(n), ..FakeConfig::demo() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (trigger, shutdown) = server::shutdown::channel();
        tokio::spawn(exchange.clone().serve(listener, shutdown.clone()));
        // `PAIRDESK_DB_CACHE` (bytes): sled's page cache, as `serve --db-cache` sets it.
        let cache = env_count("PAIRDESK_DB_CACHE", server::store::DEFAULT_CACHE_BYTES);
        let store = Store::open_serving(dir, 0, cache).expect("open");
        let (trade_tx, trade_rx) = mpsc::channel(65_536);
        let (status_tx, _status) = watch::channel(FeedStatus::default());
        let (_commands, commands_rx) = mpsc::channel(1);
        let config = IngestConfig {
            ws_base: format!("ws://{addr}/market"),
            rest_base: format!("http://{addr}"),
            symbols: SYMBOLS.iter().map(|s| s.to_ascii_lowercase()).collect(),
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
        let mut next_report = n / 10;
        loop {
            let stored = store.last_ids().expect("ids");
            if exchange.generated() == n
                && SYMBOLS.iter().all(|s| stored.get(*s) == exchange.trade_ids(s).last())
            {
                break;
            }
            if n >= 1_000_000 && exchange.generated() >= next_report {
                eprintln!(
                    "  … {} generated after {:.1} s, rss {} MB",
                    exchange.generated(),
                    started.elapsed().as_secs_f64(),
                    rss_kb("self").0 / 1024
                );
                next_report += n / 10;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        store.flush().await.expect("flush");
        let secs = started.elapsed().as_secs_f64();
        trigger.fire();
        let _ = pipeline.await;
        let (rss, hwm) = rss_kb("self");
        println!(
            "ingest: loopback ws -> sled (durable): {n} trades in {secs:.3} s = {:.0} trades/s ({} via stream, {} via REST); \
             bench process (exchange + ingest + sled) rss {} MB, peak {} MB",
            n as f64 / secs,
            counters.trades.load(Ordering::Relaxed),
            counters.backfilled.load(Ordering::Relaxed),
            rss / 1024,
            hwm / 1024,
        );
    });
}

/// A day of 1s bars for two symbols: time to load both from sled.
fn load_a_day_of_1s_bars_for_two_symbols() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let day = 86_400i64;
    let t0 = 1_709_251_200_000i64;
    for symbol in SYMBOLS {
        // Other intervals and a second day around it, so the scan has neighbours to skip.
        for (interval, count) in [(1_000i64, 2 * day), (60_000, 2 * day / 60), (300_000, 2 * day / 300)] {
            let bars: Vec<(String, i64, Bar)> = (0..count)
                .map(|i| {
                    let bar = Bar {
                        t: t0 - day * 500 + i * interval,
                        open: 1.0,
                        high: 2.0,
                        low: 0.5,
                        close: 1.5,
                        volume: 3.0,
                        count: 4,
                    };
                    (symbol.to_string(), interval, bar)
                })
                .collect();
            store.put_bars(&bars).expect("bars");
        }
    }
    store.flush_blocking().expect("flush");
    let mut runs = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let x = store.bars("BTCUSDT", 1_000, t0, t0 + day * 1_000).expect("x");
        let y = store.bars("ETHUSDT", 1_000, t0, t0 + day * 1_000).expect("y");
        runs.push(started.elapsed().as_secs_f64() * 1e3);
        assert_eq!((x.len(), y.len()), (86_400, 86_400));
    }
    let first = runs[0];
    runs.sort_by(f64::total_cmp);
    println!(
        "bars: load a day of 1s bars for two symbols (2 x 86 400 bars): first {first:.1} ms, median of 5 {:.1} ms",
        runs[2]
    );
}

/// `big`: ingest `n` trades into a fresh store, measure the RSS of a `pairdesk serve` that
/// opens it, then rebuild every symbol's bars from its ticks.
fn big_store(n: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    ingest_loopback_into_sled(n, dir.path());
    println!("big: store on disk after {n} ticks: {} MB", dir_size(dir.path()) / (1024 * 1024));
    serve_rss(dir.path(), n);
    let store = Store::open(dir.path()).expect("open");
    assert_eq!(store.tick_count() as u64, n, "every tick stored once");
    let started = Instant::now();
    let mut written = 0;
    for symbol in SYMBOLS {
        written += store.rebuild_bars(symbol).expect("rebuild");
    }
    store.flush_blocking().expect("flush");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "big: rebuild 1s/1m/5m bars from {n} ticks ({} symbols): {secs:.2} s = {:.0} ticks/s ({written} bars written)",
        SYMBOLS.len(),
        n as f64 / secs
    );
}

/// Starts `pairdesk serve` on `dir` (its exchange URLs point at a closed loopback port, so
/// it only serves what is stored), loads the page and a day of bars, and reads its RSS.
fn serve_rss(dir: &Path, n: u64) {
    let closed = free_port();
    let bind = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let started = Instant::now();
    let mut child = ServerProcess(
        Command::new(env!("CARGO_BIN_EXE_pairdesk"))
            .args(["serve", "--symbols", "btcusdt,ethusdt,solusdt", "--tick-retention", "0"])
            .arg("--bind")
            .arg(bind.to_string())
            .arg("--data-dir")
            .arg(dir)
            .arg("--binance-ws-url")
            .arg(format!("ws://{closed}/market"))
            .arg("--binance-public-ws-url")
            .arg(format!("ws://{closed}/public"))
            .arg("--binance-rest-url")
            .arg(format!("http://{closed}"))
            .arg("--site-root")
            .arg(dir.join("no-site"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pairdesk serve"),
    );
    while http_get(bind, "/healthz").is_none() {
        assert!(started.elapsed() < Duration::from_secs(120), "pairdesk serve did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let up = started.elapsed().as_secs_f64();
    let pid = child.0.id().to_string();
    let (idle, _) = rss_kb(&pid);
    let page = http_get(bind, "/?x=BTCUSDT&y=ETHUSDT&interval=1s").map_or(0, |b| b.len());
    let mut csv = 0;
    for symbol in SYMBOLS {
        csv += http_get(bind, &format!("/api/export/bars.csv?symbol={symbol}&interval=1s")).map_or(0, |b| b.len());
    }
    let (rss, hwm) = rss_kb(&pid);
    println!(
        "big: pairdesk serve on {n} stored ticks: up in {up:.2} s, rss idle {} MB, after SSR page ({page} B) and 1s bars CSV of 3 symbols ({csv} B) {} MB, peak {} MB",
        idle / 1024,
        rss / 1024,
        hwm / 1024
    );
    // Every stored tick of one symbol streamed out as CSV: reads a third of the store.
    let exported = Instant::now();
    let ticks_csv = http_get(bind, "/api/export/ticks.csv?symbol=BTCUSDT").map_or(0, |b| b.len());
    let export_secs = exported.elapsed().as_secs_f64();
    let (rss, hwm) = rss_kb(&pid);
    println!(
        "big: … then the ticks CSV of BTCUSDT ({} MB in {export_secs:.2} s): rss {} MB, peak {} MB",
        ticks_csv / (1024 * 1024),
        rss / 1024,
        hwm / 1024
    );
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let _ = child.0.wait();
}

/// Kills the server if the bench panics.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A minimal HTTP/1.0 GET; the body on 200, else `None`.
fn http_get(addr: SocketAddr, path: &str) -> Option<Vec<u8>> {
    let mut stream = TcpStream::connect(addr).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let head_end = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    response
        .starts_with(b"HTTP/1.0 200")
        .then(|| response[head_end + 4..].to_vec())
        .or_else(|| response.starts_with(b"HTTP/1.1 200").then(|| response[head_end + 4..].to_vec()))
}

/// (VmRSS, VmHWM) in kB of a process (`self` or a pid).
fn rss_kb(pid: &str) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let meta = entry.metadata().expect("metadata");
        total += if meta.is_dir() { dir_size(&entry.path()) } else { meta.len() };
    }
    total
}
