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

#[path = "push_clients/mod.rs"]
mod push_clients;

use std::path::Path;
use std::time::{Duration, Instant};

use push_clients::{cpu_and_rss, env_count, free_port, measure, now_ms, spawn_program, Process};

fn spawn(args: &[String], data_dir: Option<&Path>) -> Process {
    let mut args = args.to_vec();
    if let Some(dir) = data_dir {
        args.extend(["--data-dir".to_string(), dir.display().to_string()]);
    }
    spawn_program(Path::new(env!("CARGO_BIN_EXE_pairdesk")), &args)
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
        push_clients::wait_for_ws(&url, Duration::from_secs(60)).await;
        // Let ingestion settle (first connection, first bars).
        tokio::time::sleep(Duration::from_secs(3)).await;

        let measure_from = Instant::now() + Duration::from_secs(2);
        let measure_until = measure_from + Duration::from_secs(secs);
        let clients_done = tokio::spawn({
            let url = url.clone();
            async move { measure(&url, clients, measure_from, measure_until).await }
        });
        tokio::time::sleep_until(tokio::time::Instant::from_std(measure_from)).await;
        let measured_from_ms = now_ms() as i64;
        let (cpu_before, _) = cpu_and_rss(server_pid);
        let latencies = clients_done.await.expect("clients");
        let (cpu_after, rss) = cpu_and_rss(server_pid);
        println!(
            "push latency: {clients} clients, {rate} trades/s, {secs} s: {}; server CPU {:.0}% of one core, rss {rss} MB",
            latencies.summary(secs),
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
