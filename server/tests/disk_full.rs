//! A full disk, for real: the data dir on a 3 MiB tmpfs mounted by the test (it runs as root,
//! as `make test` does here; without the mount it fails saying so). Uploads until the disk is
//! full get a clear 507 `storage_full`, and so do rule saves and deletes after it (sled takes
//! no write after a failed one; a refused delete deletes nothing), `/api/health` says `storage: full` while `/healthz`
//! keeps answering fast, the status pushed to the page carries the storage error, and a restart on the full disk exits with a message saying the disk
//! is full.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use support::{free_port, wait_for_http};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_reported_and_refused_clearly() {
    let mount_point = tempfile::tempdir().expect("tempdir");
    let _tmpfs = Tmpfs::mount(mount_point.path(), "3m");
    let data = mount_point.path().join("data");
    let port = free_port();
    let server = support::spawn_serve(port, &data, &[]);
    let base = format!("http://127.0.0.1:{port}");
    wait_for_http(&format!("{base}/healthz")).await;
    let http = reqwest::Client::new();
    let health = || async {
        let body: Value =
            http.get(format!("{base}/api/health")).send().await.expect("health").json().await.expect("json");
        body["storage"].clone()
    };
    assert_eq!(health().await["state"], "ok");

    // 45 KB a data set: 3 MiB fill up within a hundred uploads.
    let (content_type, body) = support::upload_form("binance_um_BTCUSDT_1m_header.csv");
    let mut refused = None;
    for _ in 0..200 {
        let response = http
            .post(format!("{base}/api/datasets"))
            .header("content-type", &content_type)
            .body(body.clone())
            .send()
            .await
            .expect("upload");
        if response.status() != 201 {
            refused = Some((response.status().as_u16(), response.json::<Value>().await.expect("error json")));
            break;
        }
    }
    let (status, error) = refused.expect("200 uploads of 45 KB fit on a 3 MiB disk");
    assert_eq!((status, error["error"]["kind"].as_str()), (507, Some("storage_full")), "{error}");
    assert!(error["error"]["message"].as_str().is_some_and(|m| m.contains("disk is full")), "{error}");

    // Rule saves and deletes too: sled takes no write after a failed one (see README).
    let listed = || async {
        let body: Value =
            http.get(format!("{base}/api/datasets")).send().await.expect("list").json().await.expect("json");
        body["datasets"].as_array().map(Vec::len).expect("datasets")
    };
    let stored = listed().await;
    assert!(stored > 0, "some uploads fit before the disk filled");
    let rule = serde_json::json!({
        "name": "full", "metric": "price", "comparison": "above", "threshold": 1.0,
        "view": {"x": "BTCUSDT", "y": "ETHUSDT", "interval_ms": 1000, "window": 10, "corr_window": 10}
    });
    for request in [http.post(format!("{base}/api/alerts")).json(&rule), http.delete(format!("{base}/api/datasets/1"))]
    {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("error json");
        assert_eq!((status, body["error"]["kind"].as_str()), (507, Some("storage_full")), "{body}");
    }
    assert_eq!(listed().await, stored, "a refused delete deleted nothing");

    let storage = health().await;
    assert_eq!(storage["state"], "full", "{storage}");
    assert!(storage["last_error"].as_str().is_some_and(|e| e.contains("disk full")), "{storage}");
    let started = Instant::now();
    let healthz = http.get(format!("{base}/healthz")).send().await.expect("healthz");
    assert_eq!(healthz.status(), 200);
    assert!(started.elapsed() < Duration::from_millis(100), "/healthz took {:?}", started.elapsed());

    // The status bar's feed status says so too (pushed within the 1 s probe).
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws")).await.expect("websocket");
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

    // Start-up on the full disk: a clear refusal, not a hang or a bare I/O error.
    drop(server);
    let out = Command::new(env!("CARGO_BIN_EXE_pairdesk"))
        .arg("serve")
        .args(["--bind", &format!("127.0.0.1:{}", free_port()), "--history", "0"])
        .arg("--data-dir")
        .arg(&data)
        .args(["--binance-ws-url", "ws://127.0.0.1:9/market", "--binance-public-ws-url", "ws://127.0.0.1:9/public"])
        .args(["--binance-rest-url", "http://127.0.0.1:9"])
        .stdout(Stdio::null())
        .output()
        .expect("run pairdesk");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started on a full disk: {stderr}");
    assert!(stderr.contains("the disk is full: free space"), "{stderr}");
}
