//! A full disk, for real: the data dir on a small tmpfs mounted by the test (it runs as root,
//! as `make test` does here; without the mount it fails saying so), `pairdesk serve` ingesting
//! from `pairdesk fake-exchange`.
//!
//! * Filled by uploads: below `--min-free-space` the store stops writing before sled fails.
//!   Uploads and rule saves get a clear 507 `storage_full`, `/api/health` and the pushed status
//!   say so while `/healthz` answers fast, ingest pauses (no tick stored), data set deletes work
//!   and free the space, then writing resumes by itself and the stored ticks equal the
//!   exchange's ground truth (nothing lost while paused).
//! * Filled behind its back (a file written until ENOSPC): sled fails a write and takes no more;
//!   once the file is gone the server restarts itself in place (same pid) and backfills.
//! * Started on a full disk: writes paused, reads and deletes work; on a disk too full for sled
//!   to open, it gives up its reserve file first and says it started read-only. Writing resumes
//!   once space is back (the reserve written again).

mod pipeline_support;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use pipeline_support::*;
use serde_json::Value;

/// A size-limited tmpfs, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a {size} tmpfs on {} (this test needs root): {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];

/// Bytes available in the filesystem of `path` (`df`).
fn available_bytes(path: &Path) -> u64 {
    let out = Command::new("df").args(["-B1", "--output=avail"]).arg(path).output().expect("df");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().nth(1).and_then(|l| l.trim().parse().ok()).unwrap_or_else(|| panic!("df said {text}"))
}

/// Writes zeros to `path` until the filesystem is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).expect("filler");
    let block = vec![0u8; 64 << 10];
    while file.write_all(&block).is_ok() {}
    let _ = file.sync_all();
}

async fn storage(http: &reqwest::Client, base: &str) -> Value {
    let body: Value = http.get(format!("{base}/api/health")).send().await.expect("health").json().await.expect("json");
    body["storage"].clone()
}

/// Polls `/api/health` until its storage object satisfies `ok`.
async fn until_storage(http: &reqwest::Client, base: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let storage = storage(http, base).await;
        if ok(&storage) {
            return storage;
        }
        assert!(Instant::now() < deadline, "storage never {what}: {storage}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Ticks of `symbol` the server has stored (its own export).
async fn stored_ticks(http: &reqwest::Client, base: &str, symbol: &str) -> usize {
    let csv = http.get(format!("{base}/api/export/ticks.csv?symbol={symbol}")).send().await.expect("export");
    csv.text().await.expect("csv").lines().count().saturating_sub(1)
}

async fn assert_healthz_fast(http: &reqwest::Client, base: &str) {
    let started = Instant::now();
    assert_eq!(http.get(format!("{base}/healthz")).send().await.expect("healthz").status(), 200);
    assert!(started.elapsed() < Duration::from_millis(100), "/healthz took {:?}", started.elapsed());
}

/// A Binance kline CSV of `rows` minutes (hundreds of KB: a few fill the small disk).
fn kline_csv(rows: i64) -> Vec<u8> {
    let mut csv = String::from(
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n",
    );
    for i in 0..rows {
        let t = 1_700_000_000_000 + i * 60_000;
        let p = 100.0 + ((i * 7919) % 1000) as f64 / 7.0;
        csv.push_str(&format!("{t},{p},{p},{p},{p},{},{},{p},1,0,0,0\n", i % 97, t + 59_999));
    }
    csv.into_bytes()
}

async fn upload(http: &reqwest::Client, base: &str, csv: &[u8]) -> (u16, Value) {
    let (content_type, body) = support::multipart_file("BTCUSDT_big.csv", csv);
    let response = http
        .post(format!("{base}/api/datasets"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("upload");
    (response.status().as_u16(), response.json().await.expect("json"))
}

async fn dataset_ids(http: &reqwest::Client, base: &str) -> Vec<u64> {
    let body: Value = http.get(format!("{base}/api/datasets")).send().await.expect("list").json().await.expect("json");
    body["datasets"].as_array().expect("datasets").iter().map(|d| d["id"].as_u64().expect("id")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn below_the_free_space_floor_writes_pause_deletes_free_space_and_ingest_resumes_gapless() {
    let mount = tempfile::tempdir().expect("tempdir");
    let _tmpfs = Tmpfs::mount(mount.path(), "16m");
    let data = mount.path().join("data");
    // 1 500 trades/s over three symbols for ~13 s, reconnecting every 3 s (so the paused ingest
    // also has to backfill from REST).
    let (_exchange, fx) = fake_exchange(&["--rate", "500", "--max-trades", "20000", "--disconnect-every", "3"]).await;
    let (server, base) =
        serve_with(fx, &data, "btcusdt,ethusdt", &["--history", "0", "--min-free-space", "3MiB"]).await;
    let http = reqwest::Client::new();
    until_storage(&http, &base, "ok with its reserve", |s| s["state"] == "ok").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !data.join("reserve.bin").exists() {
        assert!(Instant::now() < deadline, "no reserve file written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Upload until refused: the floor is reached long before the disk is.
    let csv = kline_csv(20_000);
    let mut refused = None;
    for _ in 0..60 {
        let (status, body) = upload(&http, &base, &csv).await;
        if status != 201 {
            refused = Some((status, body));
            break;
        }
    }
    let (status, error) = refused.expect("60 uploads of ~300 KB do not fit in 16 MiB");
    assert_eq!((status, error["error"]["kind"].as_str()), (507, Some("storage_full")), "{error}");
    let message = error["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("disk is full") && !message.contains(mount.path().to_str().expect("utf8")), "{message}");
    // The refused upload would have crossed the floor; ingest crosses it soon after. Take all
    // but 1.5 MiB of what is left (above the floor still: sled never sees ENOSPC) so as not to
    // wait for it.
    let free = available_bytes(mount.path());
    if free > 3 << 19 {
        let mut file = std::fs::File::create(mount.path().join("filler")).expect("filler");
        std::io::Write::write_all(&mut file, &vec![0u8; (free - (3 << 19)) as usize]).expect("fill");
        file.sync_all().expect("sync");
    }
    let paused = until_storage(&http, &base, "paused", |s| s["writes"] == "paused").await;
    assert_eq!(paused["state"], "full", "{paused}");
    assert!(paused["last_error"].as_str().is_some_and(|e| e.contains("--min-free-space")), "{paused}");
    assert_healthz_fast(&http, &base).await;

    // Rule saves are refused too; the pushed status carries the storage error.
    let rule = serde_json::json!({
        "name": "full", "metric": "price", "comparison": "above", "threshold": 1.0,
        "view": {"x": "BTCUSDT", "y": "ETHUSDT", "interval_ms": 1000, "window": 10, "corr_window": 10}
    });
    let response = http.post(format!("{base}/api/alerts")).json(&rule).send().await.expect("rule");
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("json");
    assert_eq!((status, body["error"]["kind"].as_str()), (507, Some("storage_full")), "{body}");
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{}/ws", base.replace("http://", "ws://"))).await.expect("websocket");
    let deadline = Instant::now() + Duration::from_secs(5);
    let pushed = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Some(Ok(message))) = tokio::time::timeout(left, socket.next()).await else {
            panic!("no status with a storage error within 5 s")
        };
        let Ok(msg) = serde_json::from_str::<Value>(message.to_text().unwrap_or_default()) else { continue };
        if msg["type"] == "status" && msg["storage_error"].is_string() {
            break msg;
        }
    };
    assert!(pushed["storage_error"].as_str().is_some_and(|e| e.contains("disk full")), "{pushed}");
    drop(socket);

    // Ingest is paused: nothing more is stored.
    let before = stored_ticks(&http, &base, "BTCUSDT").await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(stored_ticks(&http, &base, "BTCUSDT").await, before, "ticks stored while writes are paused");

    // Deletes work and free the space; writing resumes by itself.
    let ids = dataset_ids(&http, &base).await;
    assert!(!ids.is_empty());
    for id in &ids {
        let status = http.delete(format!("{base}/api/datasets/{id}")).send().await.expect("delete").status();
        assert_eq!(status, 204, "delete {id} on the full disk");
    }
    assert!(dataset_ids(&http, &base).await.is_empty());
    until_storage(&http, &base, "writable again", |s| s["writes"] == "ok" && s["state"] == "ok").await;
    let (status, _) = upload(&http, &base, &kline_csv(100)).await;
    assert_eq!(status, 201, "uploads work again");

    // Nothing was lost while paused: every trade the exchange made is stored exactly once.
    wait_until_caught_up(fx, &base, &SYMBOLS, Duration::from_secs(90)).await;
    server.stop();
    for symbol in SYMBOLS {
        assert_exact(&data, symbol, &truth(fx, symbol).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_filled_behind_its_back_and_a_start_on_a_full_disk_recover_once_space_returns() {
    let mount = tempfile::tempdir().expect("tempdir");
    let _tmpfs = Tmpfs::mount(mount.path(), "10m");
    let data = mount.path().join("data");
    let filler = mount.path().join("filler");
    let (_exchange, fx) = fake_exchange(&["--rate", "500", "--max-trades", "24000"]).await;
    let flags = ["--history", "0", "--min-free-space", "1MiB"];
    let (mut server, base) = serve_with(fx, &data, "btcusdt,ethusdt", &flags).await;
    let http = reqwest::Client::new();
    let (status, stored) = upload(&http, &base, &kline_csv(2_000)).await;
    assert_eq!(status, 201, "{stored}");
    let id = stored["datasets"][0]["id"].as_u64().expect("id");
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Something else fills the disk: sled's next write fails, and sled takes none after it.
    fill(&filler);
    let full = until_storage(&http, &base, "full", |s| s["state"] == "full").await;
    assert_eq!(full["writes"], "paused", "{full}");
    assert_healthz_fast(&http, &base).await;
    // Space back: writing resumes (a poisoned database is reopened by a restart in place).
    std::fs::remove_file(&filler).expect("remove filler");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((200, body)) = get(&format!("{base}/api/health")).await {
            let health: Value = serde_json::from_str(&body).expect("json");
            if health["storage"]["writes"] == "ok" {
                break;
            }
        }
        assert!(Instant::now() < deadline, "writes never resumed after the filler went");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(server.0.try_wait().expect("wait").is_none(), "the server (same pid) is still running");
    wait_until_caught_up(fx, &base, &SYMBOLS, Duration::from_secs(90)).await;
    server.stop();
    for symbol in SYMBOLS {
        assert_exact(&data, symbol, &truth(fx, symbol).await);
    }

    // Start-up on the full disk: reads and deletes work, writes paused until space is back.
    fill(&filler);
    let (server, base) = serve_with(fx, &data, "btcusdt,ethusdt", &flags).await;
    let paused = until_storage(&http, &base, "paused", |s| s["writes"] == "paused").await;
    assert!(paused["last_error"].as_str().is_some_and(|e| e.contains("disk full")), "{paused}");
    let bars = http.get(format!("{base}/api/datasets/{id}/bars")).send().await.expect("bars");
    assert_eq!(bars.status(), 200, "reads work on the full disk");
    let status = http.delete(format!("{base}/api/datasets/{id}")).send().await.expect("delete").status();
    assert_eq!(status, 204, "deletes work on the full disk");
    std::fs::remove_file(&filler).expect("remove filler");
    until_storage(&http, &base, "writable once the filler is gone", |s| s["writes"] == "ok").await;
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_on_a_disk_too_full_for_sled_to_open_gives_up_the_reserve_and_starts_read_only() {
    let mount = tempfile::tempdir().expect("tempdir");
    let _tmpfs = Tmpfs::mount(mount.path(), "4m");
    let data = mount.path().join("data");
    let filler = mount.path().join("filler");
    // No exchange listens there: this is about the database alone.
    let nowhere = free_port();
    let flags = ["--history", "0", "--min-free-space", "256KiB"];
    let (server, base) = serve_with(nowhere, &data, "btcusdt,ethusdt", &flags).await;
    let http = reqwest::Client::new();
    let (status, stored) = upload(&http, &base, &kline_csv(500)).await;
    assert_eq!(status, 201, "{stored}");
    let id = stored["datasets"][0]["id"].as_u64().expect("id");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !data.join("reserve.bin").exists() {
        assert!(Instant::now() < deadline, "no reserve file written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop();

    // Every byte taken: sled cannot open without writing, so the reserve goes.
    fill(&filler);
    let (server, base) = serve_with(nowhere, &data, "btcusdt,ethusdt", &flags).await;
    let read_only = storage(&http, &base).await;
    assert_eq!((read_only["read_only_start"].as_bool(), read_only["writes"].as_str()), (Some(true), Some("paused")));
    let message = read_only["last_error"].as_str().unwrap_or_default();
    assert!(message.contains("started read-only") && message.contains("reserve"), "{read_only}");
    assert!(!data.join("reserve.bin").exists());
    let bars = http.get(format!("{base}/api/datasets/{id}/bars")).send().await.expect("bars");
    assert_eq!(bars.status(), 200, "reads work read-only");
    let (status, body) = upload(&http, &base, &kline_csv(100)).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (507, Some("storage_full")), "{body}");
    let status = http.delete(format!("{base}/api/datasets/{id}")).send().await.expect("delete").status();
    assert_eq!(status, 204, "deletes work read-only");
    assert!(dataset_ids(&http, &base).await.is_empty());
    assert_healthz_fast(&http, &base).await;
    std::fs::remove_file(&filler).expect("remove filler");
    until_storage(&http, &base, "writable after the read-only start", |s| s["writes"] == "ok").await;
    assert!(data.join("reserve.bin").exists(), "the reserve is written again");
    let (status, _) = upload(&http, &base, &kline_csv(100)).await;
    assert_eq!(status, 201);
    server.stop();
}
