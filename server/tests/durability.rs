//! Acknowledged means durable: an upload answered 201, a rule save answered 200 and a delete
//! answered 204 survive a SIGKILL sent the moment the answer arrives (no clean shutdown, no
//! background flush in between), against the real binary restarted on the same data dir.

mod support;

use std::path::Path;

use serde_json::{json, Value};
use support::{free_port, wait_for_http, ChildGuard};

/// `pairdesk serve` on `data`, offline (exchange URLs at a dead port, no history).
async fn serve(data: &Path) -> (String, ChildGuard) {
    let port = free_port();
    let child = support::spawn_serve(port, data, &[]);
    let base = format!("http://127.0.0.1:{port}");
    wait_for_http(&format!("{base}/healthz")).await;
    (base, child)
}

/// SIGKILL (std's `Child::kill`) and reap: the process gets no chance to flush.
fn sigkill(mut child: ChildGuard) {
    child.0.kill().expect("SIGKILL");
    child.0.wait().expect("reap");
}

async fn dataset_ids(http: &reqwest::Client, base: &str) -> Vec<u64> {
    let body: Value = http.get(format!("{base}/api/datasets")).send().await.expect("list").json().await.expect("json");
    body["datasets"].as_array().expect("datasets").iter().map(|d| d["id"].as_u64().expect("id")).collect()
}

async fn rule_ids(http: &reqwest::Client, base: &str) -> Vec<String> {
    let body: Value = http.get(format!("{base}/api/alerts")).send().await.expect("rules").json().await.expect("json");
    body.as_array().expect("rules").iter().map(|r| r["id"].as_str().expect("id").to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_uploads_rule_saves_and_deletes_survive_sigkill() {
    support::install_crypto_provider();
    let data = tempfile::tempdir().expect("tempdir");
    let http = reqwest::Client::new();

    // Upload, killed at the 201.
    let (base, child) = serve(data.path()).await;
    let (content_type, body) = support::upload_form("binance_um_BTCUSDT_1m_header.csv");
    let response = http
        .post(format!("{base}/api/datasets"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("upload");
    let status = response.status().as_u16();
    sigkill(child);
    assert_eq!(status, 201);
    let uploaded: Value = response.json().await.expect("upload json");
    let id = uploaded["datasets"][0]["id"].as_u64().expect("id");
    let rows = uploaded["datasets"][0]["rows"].as_u64().expect("rows");

    // After the restart: listed, and its bars are all there. Then a rule save, killed at the 200.
    let (base, child) = serve(data.path()).await;
    assert_eq!(dataset_ids(&http, &base).await, vec![id], "the acknowledged upload is gone");
    let bars: Value =
        http.get(format!("{base}/api/datasets/{id}/bars")).send().await.expect("bars").json().await.expect("bars json");
    assert_eq!(bars["bars"].as_array().map(Vec::len), Some(rows as usize), "{bars}");
    let rule = json!({
        "name": "durable", "metric": "price", "comparison": "above", "threshold": 1.0,
        "view": {"x": "BTCUSDT", "y": "ETHUSDT", "interval_ms": 1000, "window": 10, "corr_window": 10}
    });
    let response = http.post(format!("{base}/api/alerts")).json(&rule).send().await.expect("save rule");
    let status = response.status().as_u16();
    sigkill(child);
    assert_eq!(status, 200);
    let saved: Value = response.json().await.expect("rule json");
    let rule_id = saved["id"].as_str().expect("rule id").to_string();

    // The rule is back; now both deletes, killed at the 204s.
    let (base, child) = serve(data.path()).await;
    assert!(rule_ids(&http, &base).await.contains(&rule_id), "the acknowledged rule is gone");
    let deleted_rule = http.delete(format!("{base}/api/alerts/{rule_id}")).send().await.expect("delete rule");
    assert_eq!(deleted_rule.status(), 204);
    let deleted_set = http.delete(format!("{base}/api/datasets/{id}")).send().await.expect("delete data set");
    let status = deleted_set.status().as_u16();
    sigkill(child);
    assert_eq!(status, 204);

    let (base, _child) = serve(data.path()).await;
    assert!(dataset_ids(&http, &base).await.is_empty(), "the acknowledged data set delete came undone");
    assert!(!rule_ids(&http, &base).await.contains(&rule_id), "the acknowledged rule delete came undone");
}
