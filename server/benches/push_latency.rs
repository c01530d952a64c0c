//! Push latency under load (issue 5), a load generator printing a report; figures go to
//! BENCHMARKS.md ("## Push latency").
//!
//! ```text
//! cargo bench -p server --bench push_latency
//! PAIRDESK_BENCH_CLIENTS=200 PAIRDESK_BENCH_RATE=5000 PAIRDESK_BENCH_SECS=20 cargo bench -p server --bench push_latency
//! PAIRDESK_BENCH_BOOK=10 cargo bench -p server --bench push_latency   # + 50,000 book updates/s
//! ```
//!
//! The fake also serves `BOOK` best bid/ask updates per trade on `/public` (default 1), which
//! the server ingests on its own connection beside the trades. After the run the report
//! checks that none was lost: over the whole seconds measured, the `updates` of BTCUSDT's 1s
//! book bars must equal `BOOK` × its stored trades (the fake sends exactly that many per trade).
//!
//! Runs `pairdesk fake-exchange` (3 symbols, `RATE` trades/s in all) and `pairdesk serve`
//! ingesting from it as separate processes, then opens `CLIENTS` browser WebSockets that
//! all subscribe to BTCUSDT/ETHUSDT at 1s. For every `prices` message a client receives,
//! the latency is the client's wall clock minus the exchange time of the newest trade in
//! it: trade generated → sent → parsed → stored → resampled → pushed → received. Both
//! clocks are this machine's; trade times have millisecond resolution, so each sample may
//! read up to 1 ms high.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use app::protocol::{ClientMsg, ServerMsg};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1e3).unwrap_or(0.0)
}

/// Kills the child if the bench panics.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// (user + system CPU seconds, RSS MB) of a process.
fn cpu_and_rss(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    (cpu, rss_kb / 1024)
}

fn spawn(args: &[String], data_dir: Option<&Path>) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pairdesk"));
    command.args(args).env("RUST_LOG", "warn").stdout(Stdio::null()).stderr(Stdio::null());
    if let Some(dir) = data_dir {
        command.arg("--data-dir").arg(dir);
    }
    Process(command.spawn().expect("spawn pairdesk"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    // reqwest here uses rustls without a built-in provider (the report's CSV downloads).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let clients = env_count("PAIRDESK_BENCH_CLIENTS", 200) as usize;
    let rate = env_count("PAIRDESK_BENCH_RATE", 5_000);
    let secs = env_count("PAIRDESK_BENCH_SECS", 20);
    let book = env_count("PAIRDESK_BENCH_BOOK", 1).max(1);
    let (exchange_port, server_port) = (free_port(), free_port());
    let data = tempfile::tempdir().expect("tempdir");

    let per_symbol = rate as f64 / 3.0;
    let _exchange = spawn(
        &[
            "fake-exchange".into(),
            "--bind".into(),
            format!("127.0.0.1:{exchange_port}"),
            "--rate".into(),
            format!("{per_symbol}"),
            "--book-updates-per-trade".into(),
            book.to_string(),
            "--history".into(),
            "0".into(),
        ],
        None,
    );
    let server = spawn(
        &[
            "serve".into(),
            "--bind".into(),
            format!("127.0.0.1:{server_port}"),
            "--symbols".into(),
            "btcusdt,ethusdt,solusdt".into(),
            "--binance-ws-url".into(),
            format!("ws://127.0.0.1:{exchange_port}/market"),
            "--binance-public-ws-url".into(),
            format!("ws://127.0.0.1:{exchange_port}/public"),
            "--binance-rest-url".into(),
            format!("http://127.0.0.1:{exchange_port}"),
            "--site-root".into(),
            "/nonexistent".into(),
            "--history".into(),
            "0".into(),
        ],
        Some(data.path()),
    );
    let server_pid = server.0.id();

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let url = format!("ws://127.0.0.1:{server_port}/ws");
        let started = Instant::now();
        while tokio_tungstenite::connect_async(&url).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(60), "pairdesk serve did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Let ingestion settle (first connection, first bars).
        tokio::time::sleep(Duration::from_secs(3)).await;

        let subscribe = serde_json::to_string(&ClientMsg::Subscribe {
            x: "BTCUSDT".into(),
            y: "ETHUSDT".into(),
            interval_ms: 1_000,
            analytics: None,
            tape_window: None,
        })
        .expect("subscribe");
        let measure_from = Instant::now() + Duration::from_secs(2);
        let measure_until = measure_from + Duration::from_secs(secs);
        let mut tasks = Vec::with_capacity(clients);
        for _ in 0..clients {
            let (url, subscribe) = (url.clone(), subscribe.clone());
            tasks.push(tokio::spawn(async move {
                let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.expect("client connect");
                socket.send(Message::Text(subscribe.into())).await.expect("subscribe");
                let mut latencies = Vec::new();
                let mut messages = 0u64;
                loop {
                    let deadline = tokio::time::Instant::from_std(measure_until);
                    let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, socket.next()).await else { break };
                    let received = now_ms();
                    let Message::Text(text) = message else { continue };
                    if Instant::now() < measure_from {
                        continue;
                    }
                    messages += 1;
                    if let Ok(ServerMsg::Prices { x, y }) = serde_json::from_str::<ServerMsg>(&text) {
                        let newest = x.iter().chain(y.iter()).map(|p| p.t_ms).max();
                        if let Some(t) = newest {
                            latencies.push(received - t as f64);
                        }
                    }
                }
                (latencies, messages)
            }));
        }
        tokio::time::sleep_until(tokio::time::Instant::from_std(measure_from)).await;
        let measured_from_ms = now_ms() as i64;
        let (cpu_before, _) = cpu_and_rss(server_pid);
        let mut all = Vec::new();
        let mut messages = 0;
        for task in tasks {
            let (latencies, count) = task.await.expect("client task");
            all.extend(latencies);
            messages += count;
        }
        let (cpu_after, rss) = cpu_and_rss(server_pid);
        all.sort_by(f64::total_cmp);
        println!(
            "push latency: {clients} clients, {rate} trades/s, {secs} s: {} price updates ({:.1}/s per client), {} messages; \
             latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; server CPU {:.0}% of one core, rss {rss} MB",
            all.len(),
            all.len() as f64 / clients as f64 / secs as f64,
            messages,
            percentile(&all, 0.5),
            percentile(&all, 0.9),
            percentile(&all, 0.99),
            all.last().copied().unwrap_or(f64::NAN),
            (cpu_after - cpu_before) / secs as f64 * 100.0,
        );
        // No book update lost: whole seconds from the start of measuring to 2 s before its end
        // (the last bars may still be forming).
        let from = (measured_from_ms / 1000 + 1) * 1000;
        let to = ((measured_from_ms + secs as i64 * 1000 - 2_000) / 1000) * 1000;
        let base = format!("http://127.0.0.1:{server_port}/api/export");
        let get = |url: String| async move { reqwest::get(url).await.expect("export").text().await.expect("csv") };
        let ticks = get(format!("{base}/ticks.csv?symbol=BTCUSDT&from={from}&to={to}")).await.lines().count() - 1;
        let book_csv = get(format!("{base}/book.csv?symbol=BTCUSDT&interval=1s&from={from}&to={to}")).await;
        let updates: u64 = book_csv.lines().skip(1).filter_map(|l| l.split(',').nth(4)?.parse::<u64>().ok()).sum();
        let expected = ticks as u64 * book;
        println!(
            "book: {book} updates per trade, {:.0} updates/s in all; BTCUSDT over {} s: {updates} updates stored in 1s book bars, \
             {expected} expected ({} trades × {book}): {}",
            rate as f64 * book as f64,
            (to - from) / 1000,
            ticks,
            if updates == expected { "none lost".to_string() } else { format!("MISMATCH ({})", updates as i64 - expected as i64) }
        );
    });
}
