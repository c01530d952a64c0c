//! `pairdesk serve --demo` restarted on the same data dir keeps ingesting: the in-process fake
//! exchange continues each symbol's aggregate ids after the stored ones, so the new run's
//! trades are stored (not dropped as duplicates of the last run's while the status says live).

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{free_port, wait_for_http, ChildGuard};

/// The demo's default rate (trades per second per symbol).
const DEMO_RATE: u64 = 20;

async fn demo(data: &Path) -> (String, ChildGuard) {
    let port = free_port();
    let child = support::spawn_serve(port, data, &["--demo", "--history", "0"]);
    let base = format!("http://127.0.0.1:{port}");
    wait_for_http(&format!("{base}/healthz")).await;
    (base, child)
}

/// Stored BTCUSDT aggregate ids, in store order, from the server's own CSV download.
async fn btc_ids(http: &reqwest::Client, base: &str) -> Vec<u64> {
    let csv = http
        .get(format!("{base}/api/export/ticks.csv?symbol=BTCUSDT"))
        .send()
        .await
        .expect("ticks.csv")
        .text()
        .await
        .expect("csv body");
    csv.lines().skip(1).map(|line| line.split(',').nth(1).and_then(|id| id.parse().ok()).expect("agg_id")).collect()
}

async fn wait_for_ids(http: &reqwest::Client, base: &str, at_least: usize, within: Duration) -> Vec<u64> {
    let deadline = Instant::now() + within;
    loop {
        let ids = btc_ids(http, base).await;
        if ids.len() >= at_least {
            return ids;
        }
        assert!(Instant::now() < deadline, "{} BTCUSDT ticks after {within:?}, wanted {at_least}", ids.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn trades_state(http: &reqwest::Client, base: &str) -> String {
    let health: Value =
        http.get(format!("{base}/api/health")).send().await.expect("health").json().await.expect("json");
    health["trades"]["state"].as_str().unwrap_or_default().to_string()
}

/// SIGTERM, as a service manager stops it, then wait for the exit.
fn stop(mut child: ChildGuard) {
    let pid = child.0.id().to_string();
    let status = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.0.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "pairdesk did not stop within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_demo_keeps_storing_new_trades() {
    support::install_crypto_provider();
    let data = tempfile::tempdir().expect("tempdir");
    let http = reqwest::Client::new();

    // First run: six seconds' worth of BTCUSDT trades.
    let first_run = 6 * DEMO_RATE as usize;
    let (base, child) = demo(data.path()).await;
    wait_for_ids(&http, &base, first_run, Duration::from_secs(30)).await;
    stop(child);

    // Second run: within four seconds (fewer trades than the first run stored, so a fake
    // starting its ids over would still be replaying duplicates) twenty new trades are stored.
    let (base, _child) = demo(data.path()).await;
    let before = btc_ids(&http, &base).await;
    assert!(before.len() >= first_run, "the first run's ticks are kept: {}", before.len());
    let after = wait_for_ids(&http, &base, before.len() + DEMO_RATE as usize, Duration::from_secs(4)).await;
    assert_eq!(&after[..before.len()], &before[..], "the stored ticks are unchanged");
    assert!(after.windows(2).all(|w| w[1] == w[0] + 1), "ids stay consecutive across the restart: no gap, no repeat");
    assert_eq!(trades_state(&http, &base).await, "live");
}
