//! Helpers of the pipeline integration tests: a standalone `pairdesk fake-exchange`, a
//! `pairdesk serve` ingesting from it, ground truth from the exchange's `/debug/ids`, and
//! the stored ids read back with `pairdesk export`. Loopback only.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_pairdesk");

/// A child process killed (SIGKILL) when the guard drops, so a failing test leaves nothing behind.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl ChildGuard {
    /// SIGKILL, as a crash: no flush, no goodbye.
    pub fn crash(mut self) {
        self.0.kill().expect("SIGKILL");
        self.0.wait().expect("reap");
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) {
        let pid = self.0.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.0.try_wait().expect("wait") {
                assert!(status.success(), "server exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("no free port")
}

pub async fn get(url: &str) -> Option<(u16, String)> {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    let response = reqwest::get(url).await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

async fn wait_for_http(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if matches!(get(url).await, Some((200, _))) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not come up");
}

/// `pairdesk fake-exchange` on a free port with extra flags.
pub async fn fake_exchange(args: &[&str]) -> (ChildGuard, u16) {
    let port = free_port();
    let child = Command::new(BIN)
        .arg("fake-exchange")
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn fake exchange");
    let guard = ChildGuard(child);
    wait_for_http(&format!("http://127.0.0.1:{port}/debug/stats")).await;
    (guard, port)
}

/// `pairdesk serve` ingesting from the fake exchange on `exchange_port`, without klines
/// history: these tests count trades in bars (history bars have no ticks).
pub async fn serve(exchange_port: u16, data_dir: &Path, symbols: &str) -> (ChildGuard, String) {
    serve_with(exchange_port, data_dir, symbols, &["--history", "0"]).await
}

/// `pairdesk serve` ingesting from the fake exchange on `exchange_port` (every stream and
/// REST base pointed at it), with extra flags.
pub async fn serve_with(exchange_port: u16, data_dir: &Path, symbols: &str, extra: &[&str]) -> (ChildGuard, String) {
    let port = free_port();
    let site = data_dir.parent().expect("parent").join("site");
    std::fs::create_dir_all(&site).expect("site dir");
    let child = Command::new(BIN)
        .arg("serve")
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--site-root")
        .arg(&site)
        .args(["--symbols", symbols])
        .args(["--binance-ws-url", &format!("ws://127.0.0.1:{exchange_port}/market")])
        .args(["--binance-public-ws-url", &format!("ws://127.0.0.1:{exchange_port}/public")])
        .args(["--binance-rest-url", &format!("http://127.0.0.1:{exchange_port}")])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn pairdesk serve");
    let guard = ChildGuard(child);
    let base = format!("http://127.0.0.1:{port}");
    wait_for_http(&format!("{base}/healthz")).await;
    (guard, base)
}

#[derive(serde::Deserialize)]
pub struct Stats {
    pub generated: u64,
    pub done: bool,
    /// Stream connections accepted so far.
    pub connections: u64,
}

pub async fn stats(exchange_port: u16) -> Stats {
    let (_, body) = get(&format!("http://127.0.0.1:{exchange_port}/debug/stats")).await.expect("stats");
    serde_json::from_str(&body).expect("stats json")
}

/// Every trade id the exchange generated for `symbol`.
pub async fn truth(exchange_port: u16, symbol: &str) -> Vec<u64> {
    let (status, body) =
        get(&format!("http://127.0.0.1:{exchange_port}/debug/ids?symbol={symbol}")).await.expect("ids");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("ids json")
}

/// Trade time of trade `id` of `symbol` on the exchange (REST, retrying injected 429s).
pub async fn trade_time(exchange_port: u16, symbol: &str, id: u64) -> i64 {
    let url = format!("http://127.0.0.1:{exchange_port}/fapi/v1/aggTrades?symbol={symbol}&fromId={id}&limit=1");
    for _ in 0..50 {
        if let Some((200, body)) = get(&url).await {
            let rows: serde_json::Value = serde_json::from_str(&body).expect("json");
            return rows[0]["T"].as_i64().expect("T");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no answer for {symbol} {id}");
}

/// Waits until the exchange is done and the server has stored every symbol's last trade
/// (checked through the server's `/api/export/ticks.csv`).
pub async fn wait_until_caught_up(exchange_port: u16, server: &str, symbols: &[&str], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !stats(exchange_port).await.done {
        assert!(Instant::now() < deadline, "the exchange did not finish generating");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for symbol in symbols {
        let last = *truth(exchange_port, symbol).await.last().expect("trades");
        let t = trade_time(exchange_port, symbol, last).await;
        let url = format!("{server}/api/export/ticks.csv?symbol={symbol}&from={t}");
        loop {
            if let Some((200, body)) = get(&url).await {
                if body.lines().skip(1).any(|l| l.split(',').nth(1) == Some(last.to_string().as_str())) {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "{symbol}: trade {last} never stored");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn export(data_dir: &Path, args: &[&str]) -> String {
    let output = Command::new(BIN).arg("export").args(args).arg("--data-dir").arg(data_dir).output().expect("export");
    assert!(output.status.success(), "export failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf8")
}

/// Stored aggregate ids of `symbol`, in key order, via `pairdesk export ticks`.
pub fn stored_ids(data_dir: &Path, symbol: &str) -> Vec<u64> {
    let csv = export(data_dir, &["ticks", "--symbol", symbol]);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("symbol,agg_id,time_ms,price,qty,buyer_is_maker"));
    lines.map(|l| l.split(',').nth(1).and_then(|id| id.parse().ok()).expect("agg_id")).collect()
}

/// Sum of the trade counts of `symbol`'s stored bars at `interval`.
pub fn bar_trade_count(data_dir: &Path, symbol: &str, interval: &str) -> u64 {
    let csv = export(data_dir, &["bars", "--symbol", symbol, "--interval", interval]);
    csv.lines().skip(1).map(|l| l.rsplit(',').next().and_then(|c| c.parse::<u64>().ok()).expect("count")).sum()
}

/// Asserts the stored ids equal the ground truth exactly, and that bars count every tick once.
pub fn assert_exact(data_dir: &Path, symbol: &str, truth: &[u64]) {
    let stored = stored_ids(data_dir, symbol);
    let mut sorted = stored.clone();
    sorted.sort_unstable();
    sorted.dedup();
    let duplicates = stored.len() - sorted.len();
    let missing = truth.iter().filter(|id| sorted.binary_search(id).is_err()).count();
    assert_eq!((missing, duplicates), (0, 0), "{symbol}: {missing} missing, {duplicates} duplicated");
    assert_eq!(stored, truth, "{symbol}: stored ids differ from the exchange's");
    for interval in ["1s", "1m", "5m"] {
        assert_eq!(bar_trade_count(data_dir, symbol, interval), truth.len() as u64, "{symbol} {interval} bars");
    }
}
