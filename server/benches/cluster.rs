//! Cluster mode through a real `nats-server` (issue 14), a load generator printing a report;
//! figures go to BENCHMARKS.md ("## Cluster mode").
//!
//! ```text
//! cargo bench -p server --bench cluster
//! PAIRDESK_BENCH_TRADES=300000 PAIRDESK_BENCH_RATE=5000 PAIRDESK_BENCH_SECS=20 PAIRDESK_BENCH_CLIENTS=20 cargo bench -p server --bench cluster
//! ```
//!
//! 1. **Throughput end to end**: two `pairdesk serve --nats` on fresh data dirs; this process
//!    publishes `TRADES` trades of three symbols to JetStream as fast as NATS acknowledges them
//!    (the ingest's own publisher, [`server::cluster::publish::publish`]: pipelined, with
//!    `Nats-Msg-Id`), and times publish → both servers stored every trade: each symbol's last
//!    trade is in the server's tick export (the pipeline stores a symbol's trades in id
//!    order), then every tick is counted.
//! 2. **Tick-to-browser latency at `RATE` trades/s, NATS beside embedded, same run**: one fake
//!    exchange; an embedded `serve` connected to it, and `ingest --nats` → `nats-server` →
//!    `serve --nats`; `CLIENTS` browser sockets on each server, measured over the same window
//!    by the push latency bench's clients (`push_clients`).
//!
//! `nats-server` comes from `$NATS_SERVER`, PATH or `/usr/sbin` (Debian's package).

#[path = "../tests/nats_support/mod.rs"]
mod nats_support;
#[path = "push_clients/mod.rs"]
mod push_clients;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nats_support::nats_server_binary;
use push_clients::{cpu_and_rss, env_count, free_port, measure, now_ms, spawn_program, Process};
use server::market::Trade;

const BIN: &str = env!("CARGO_BIN_EXE_pairdesk");
const SYNTHETIC: [&str; 3] = ["BENCHAUSDT", "BENCHBUSDT", "BENCHCUSDT"];

/// A JetStream `nats-server` on a free port, its store in `dir`.
fn nats(dir: &Path) -> (Process, String) {
    let port = free_port();
    let args = ["-js", "-sd", &dir.display().to_string(), "-a", "127.0.0.1", "-p", &port.to_string()].map(String::from);
    let process = spawn_program(&nats_server_binary(), &args);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "nats-server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (process, format!("nats://127.0.0.1:{port}"))
}

fn pairdesk(args: &[&str]) -> Process {
    spawn_program(Path::new(BIN), &args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
}

/// `serve` (API only, no history) on a free port with `args`; (process, port).
fn serve(data_dir: &Path, args: &[&str]) -> (Process, u16) {
    let port = free_port();
    let (bind, dir) = (format!("127.0.0.1:{port}"), data_dir.display().to_string());
    let mut all = vec!["serve", "--bind", &bind, "--data-dir", &dir, "--site-root", "/nonexistent", "--history", "0"];
    all.extend_from_slice(args);
    (pairdesk(&all), port)
}

async fn health(port: u16) -> Option<serde_json::Value> {
    let response = reqwest::get(format!("http://127.0.0.1:{port}/api/health")).await.ok()?;
    response.json().await.ok()
}

/// The ids of `symbol`'s ticks stored by the server on `port` at trade times `from_ms` or later.
async fn stored_ids(port: u16, symbol: &str, from_ms: i64) -> Vec<u64> {
    let url = format!("http://127.0.0.1:{port}/api/export/ticks.csv?symbol={symbol}&from={from_ms}");
    let Ok(response) = reqwest::get(url).await else { return Vec::new() };
    let csv = response.text().await.unwrap_or_default();
    csv.lines().skip(1).filter_map(|l| l.split(',').nth(1)?.parse().ok()).collect()
}

async fn throughput(trades: u64, dir: &Path) {
    let (_nats, url) = nats(&dir.join("nats-a"));
    let nats_args = ["--nats", url.as_str(), "--symbols", "btcusdt,ethusdt"];
    let servers = [serve(&dir.join("a"), &nats_args), serve(&dir.join("b"), &nats_args)];
    for (_, port) in &servers {
        let started = Instant::now();
        while health(*port).await.is_none() {
            assert!(started.elapsed() < Duration::from_secs(60), "serve --nats did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let client = async_nats::connect(&url).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    let per_symbol = trades / SYNTHETIC.len() as u64;
    let (tx, rx) = tokio::sync::mpsc::channel(65_536);
    let counters = Arc::new(server::cluster::publish::PublishCounters::default());
    let started = Instant::now();
    let publisher = tokio::spawn(server::cluster::publish::publish(js, rx, 200_000, counters.clone()));
    let base_ms = now_ms() as i64;
    let t_of = |id: u64| base_ms + (id / 10) as i64;
    for id in 1..=per_symbol {
        for (i, symbol) in SYNTHETIC.iter().enumerate() {
            let price = 100.0 * (i + 1) as f64 + (id % 100) as f64 * 0.01;
            let trade = Trade {
                symbol: symbol.to_string(),
                agg_id: id,
                t_ms: t_of(id),
                price,
                qty: 0.5,
                buyer_is_maker: id % 2 == 0,
            };
            tx.send(trade).await.expect("publisher");
        }
    }
    drop(tx);
    publisher.await.expect("publisher");
    let published = started.elapsed();
    let mut stored = [None, None];
    while stored.iter().any(Option::is_none) {
        for (i, (_, port)) in servers.iter().enumerate() {
            if stored[i].is_none() {
                let mut all = true;
                for symbol in SYNTHETIC {
                    all &= stored_ids(*port, symbol, t_of(per_symbol)).await.contains(&per_symbol);
                }
                if all {
                    stored[i] = Some(started.elapsed());
                }
            }
        }
        assert!(started.elapsed() < Duration::from_secs(600), "servers did not store every trade");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let both = stored.iter().flatten().max().copied().unwrap_or_default();
    let total = per_symbol * SYNTHETIC.len() as u64;
    let mut counts = Vec::new();
    for (_, port) in &servers {
        let mut n = 0;
        for symbol in SYNTHETIC {
            let ids = stored_ids(*port, symbol, 0).await;
            let distinct: std::collections::BTreeSet<u64> = ids.iter().copied().collect();
            assert_eq!(distinct.len(), ids.len(), "{symbol}: duplicate ticks stored");
            n += distinct.len();
        }
        counts.push(n);
    }
    println!(
        "throughput: {total} trades (3 symbols) published in {:.2} s ({:.0}/s acknowledged by JetStream); \
         stored by server A in {:.2} s, B in {:.2} s: end to end {:.0} trades/s to both; ticks stored A {} B {} (of {total})",
        published.as_secs_f64(),
        total as f64 / published.as_secs_f64(),
        stored[0].unwrap_or_default().as_secs_f64(),
        stored[1].unwrap_or_default().as_secs_f64(),
        total as f64 / both.as_secs_f64(),
        counts[0],
        counts[1],
    );
}

async fn latency(rate: u64, secs: u64, clients: usize, dir: &Path) {
    let (_nats, url) = nats(&dir.join("nats-b"));
    let fx = free_port();
    let (fx_bind, per_symbol) = (format!("127.0.0.1:{fx}"), format!("{}", rate as f64 / 3.0));
    let _exchange = pairdesk(&["fake-exchange", "--bind", &fx_bind, "--rate", &per_symbol, "--history", "0"]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (ws, public, rest) = (
        format!("ws://127.0.0.1:{fx}/market"),
        format!("ws://127.0.0.1:{fx}/public"),
        format!("http://127.0.0.1:{fx}"),
    );
    let symbols = "btcusdt,ethusdt,solusdt";
    let exchange_args = ["--binance-ws-url", &ws, "--binance-public-ws-url", &public, "--binance-rest-url", &rest];
    let mut embedded_args = vec!["--symbols", symbols];
    embedded_args.extend_from_slice(&exchange_args);
    let (embedded, embedded_port) = serve(&dir.join("embedded"), &embedded_args);
    let _ingest = pairdesk(&[
        "ingest",
        "--nats",
        &url,
        "--symbols",
        symbols,
        "--binance-ws-url",
        &ws,
        "--binance-rest-url",
        &rest,
    ]);
    let (clustered, cluster_port) = serve(&dir.join("clustered"), &["--nats", &url, "--symbols", symbols]);
    let (embedded_ws, cluster_ws) =
        (format!("ws://127.0.0.1:{embedded_port}/ws"), format!("ws://127.0.0.1:{cluster_port}/ws"));
    push_clients::wait_for_ws(&embedded_ws, Duration::from_secs(60)).await;
    push_clients::wait_for_ws(&cluster_ws, Duration::from_secs(60)).await;
    // Let both settle (first connections, first bars).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let from = Instant::now() + Duration::from_secs(2);
    let until = from + Duration::from_secs(secs);
    let on_embedded = tokio::spawn(async move { measure(&embedded_ws, clients, from, until).await });
    let on_cluster = tokio::spawn(async move { measure(&cluster_ws, clients, from, until).await });
    tokio::time::sleep_until(tokio::time::Instant::from_std(from)).await;
    let cpu = |p: &Process| cpu_and_rss(p.0.id());
    let before = (cpu(&embedded), cpu(&clustered));
    let (embedded_latency, cluster_latency) = (on_embedded.await.expect("clients"), on_cluster.await.expect("clients"));
    let after = (cpu(&embedded), cpu(&clustered));
    let share = |b: (f64, u64), a: (f64, u64)| ((a.0 - b.0) / secs as f64 * 100.0, a.1);
    let (e, c) = (share(before.0, after.0), share(before.1, after.1));
    println!("latency at {rate} trades/s, {clients} clients per server, {secs} s, same trades, same window:");
    println!(
        "  embedded (exchange → serve):       {}; server CPU {:.0}%, rss {} MB",
        embedded_latency.summary(secs),
        e.0,
        e.1
    );
    println!(
        "  NATS (exchange → ingest → JetStream → serve --nats): {}; server CPU {:.0}%, rss {} MB",
        cluster_latency.summary(secs),
        c.0,
        c.1
    );
}

fn main() {
    // reqwest here uses rustls without a built-in provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let trades = env_count("PAIRDESK_BENCH_TRADES", 300_000);
    let rate = env_count("PAIRDESK_BENCH_RATE", 5_000);
    let secs = env_count("PAIRDESK_BENCH_SECS", 20);
    let clients = env_count("PAIRDESK_BENCH_CLIENTS", 20) as usize;
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        throughput(trades, dir.path()).await;
        latency(rate, secs, clients, dir.path()).await;
    });
}
