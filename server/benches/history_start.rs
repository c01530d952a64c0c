//! First start with history (issue 9), a load generator printing a report; figures go to
//! BENCHMARKS.md ("## History on first start").
//!
//! ```text
//! cargo bench -p server --bench history_start
//! PAIRDESK_BENCH_SYMBOLS=10 PAIRDESK_BENCH_HISTORY=7d cargo bench -p server --bench history_start
//! ```
//!
//! Runs a fake exchange in this process (`SYMBOLS` symbols trading 20 times a second each,
//! klines going back `HISTORY`; ETH cointegrated with BTC, the others random walks) and
//! `pairdesk serve --history HISTORY` on an empty data directory as a child process, then
//! polls `/api/screener` (1m over the last 1 440 bars, then 5m) until every pair of symbols
//! has its Engle–Granger p-value over at least 1 400 common bars. The clock starts when
//! `serve` is spawned; both processes share this machine's cores.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use app::screener_view::ScreenerReport;
use server::fake_exchange::market::SymbolSpec;
use server::fake_exchange::{FakeConfig, FakeExchange};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// Kills the child if the bench panics.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// BTC, ETH and SOL as in the demo, then random walks named like Binance symbols.
fn specs(n: usize) -> Vec<SymbolSpec> {
    const MORE: [&str; 13] = [
        "XRPUSDT", "BNBUSDT", "DOGEUSDT", "ADAUSDT", "AVAXUSDT", "LINKUSDT", "DOTUSDT", "LTCUSDT", "TRXUSDT",
        "NEARUSDT", "ATOMUSDT", "UNIUSDT", "FILUSDT",
    ];
    let mut specs = SymbolSpec::defaults();
    for (i, name) in MORE.iter().enumerate() {
        specs.push(SymbolSpec {
            symbol: name.to_string(),
            start_price: 1.0 + 10.0 * i as f64,
            step_vol: 3e-4,
            follows: None,
            qty_scale: 10.0,
            tick: 0.0001,
        });
    }
    specs.truncate(n.clamp(2, specs.len()));
    specs
}

/// `true` once every pair is screened over at least `min_bars` common bars.
async fn screened(http: &reqwest::Client, url: &str, pairs: usize, min_bars: usize) -> bool {
    let Ok(response) = http.get(url).send().await else { return false };
    let Ok(report) = response.json::<ScreenerReport>().await else { return false };
    report.bars >= min_bars && report.pairs.len() == pairs && report.pairs.iter().all(|p| p.pvalue.is_some())
}

fn main() {
    let symbols: usize = env_or("PAIRDESK_BENCH_SYMBOLS", "10").parse().expect("PAIRDESK_BENCH_SYMBOLS");
    let history = env_or("PAIRDESK_BENCH_HISTORY", "7d");
    let depth_ms = server::ingest::history::parse_depth(&history).expect("PAIRDESK_BENCH_HISTORY").unwrap_or(0);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let specs = specs(symbols);
        let names: Vec<String> = specs.iter().map(|s| s.symbol.to_ascii_lowercase()).collect();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let fake = listener.local_addr().expect("addr");
        let config = FakeConfig { symbols: specs, kline_history_ms: depth_ms, ..FakeConfig::demo() };
        let (_stop, shutdown) = server::shutdown::channel();
        tokio::spawn(FakeExchange::new(config).serve(listener, shutdown));

        let data = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
        let started = Instant::now();
        let _server = Process(
            Command::new(env!("CARGO_BIN_EXE_pairdesk"))
                .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--symbols", &names.join(",")])
                .args(["--history", &history, "--site-root", "/nonexistent"])
                .arg("--data-dir")
                .arg(data.path())
                .args(["--binance-ws-url", &format!("ws://{fake}/market")])
                .args(["--binance-public-ws-url", &format!("ws://{fake}/public")])
                .args(["--binance-rest-url", &format!("http://{fake}")])
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn pairdesk serve"),
        );
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        while !http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            assert!(started.elapsed() < Duration::from_secs(60), "pairdesk serve did not come up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let up = started.elapsed();
        let pairs = symbols * (symbols - 1) / 2;
        let mut marks = Vec::new();
        for (label, query) in [("1m", "interval=60000&bars=1440"), ("5m", "interval=300000&bars=1440")] {
            let url = format!("{base}/api/screener?{query}");
            while !screened(&http, &url, pairs, 1_400).await {
                assert!(started.elapsed() < Duration::from_secs(600), "the screener never got its {label} data");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            marks.push((label, started.elapsed()));
        }
        // One more screener answer, timed on its own, now that the data is there.
        let asked = Instant::now();
        assert!(screened(&http, &format!("{base}/api/screener?interval=60000&bars=1440"), pairs, 1_400).await);
        let answer = asked.elapsed();
        // Everything arrived, not just the last day: the 1m bars of every symbol.
        let mut fewest = usize::MAX;
        for name in &names {
            let url = format!("{base}/api/export/bars.csv?symbol={name}&interval=1m");
            let csv = http.get(&url).send().await.expect("export").text().await.expect("csv");
            fewest = fewest.min(csv.lines().count().saturating_sub(1));
        }
        let minutes = depth_ms / 60_000;
        assert!(fewest as i64 >= minutes, "only {fewest} 1m bars of {minutes} minutes");
        println!("history start: {symbols} symbols, --history {history} ({minutes} minutes each, 1m klines)");
        println!("  serve listening after     {:>8.2} s", up.as_secs_f64());
        for (label, at) in marks {
            println!(
                "  screener {label} complete after {:>8.2} s ({pairs} pairs, ≥ 1 400 common bars)",
                at.as_secs_f64()
            );
        }
        println!("  one 1m screener answer      {:>8.1} ms", answer.as_secs_f64() * 1e3);
        println!("  1m bars stored per symbol   ≥ {fewest} (history + live)");
    });
}
