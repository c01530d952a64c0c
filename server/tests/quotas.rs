//! Quotas against the real binary: `--max-alert-rules`, `--max-datasets` and
//! `--max-dataset-bytes` refuse the request past them with a JSON error naming the flag
//! (409 `quota_exceeded`, 507 `storage_quota_exceeded`), store nothing, and a delete always
//! makes room again.

mod support;

use serde_json::{json, Value};
use support::{free_port, wait_for_http};

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn rule(name: &str) -> Value {
    json!({
        "name": name, "metric": "price", "comparison": "above", "threshold": 1.0,
        "view": {"x": "BTCUSDT", "y": "ETHUSDT", "interval_ms": 1000, "window": 10, "corr_window": 10}
    })
}

/// The error object of a refusal: (kind, message).
fn error_of(body: &Value) -> (&str, &str) {
    (body["error"]["kind"].as_str().unwrap_or_default(), body["error"]["message"].as_str().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_and_data_sets_past_their_quotas_are_refused_and_deletes_make_room() {
    let data = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    // 30 KB holds the 50-bar fixture (a few KB in any encoding), not the 1,000-bar one.
    let limits = ["--max-alert-rules", "3", "--max-datasets", "2", "--max-dataset-bytes", "30KB"];
    let _server = support::spawn_serve(port, data.path(), &limits);
    let base = format!("http://127.0.0.1:{port}");
    wait_for_http(&format!("{base}/healthz")).await;
    let http = reqwest::Client::new();

    // Rules: the default rule plus two fill the quota of 3.
    let (status, rules) = answer(http.get(format!("{base}/api/alerts")).send().await.expect("rules")).await;
    assert_eq!((status, rules.as_array().map(Vec::len)), (200, Some(1)), "{rules}");
    let mut saved = Vec::new();
    for name in ["one", "two"] {
        let (status, body) =
            answer(http.post(format!("{base}/api/alerts")).json(&rule(name)).send().await.unwrap()).await;
        assert_eq!(status, 200, "{body}");
        saved.push(body);
    }
    let (status, body) =
        answer(http.post(format!("{base}/api/alerts")).json(&rule("three")).send().await.unwrap()).await;
    assert_eq!(status, 409, "{body}");
    let (kind, message) = error_of(&body);
    assert_eq!(kind, "quota_exceeded", "{body}");
    assert!(message.contains("--max-alert-rules 3"), "{message}");
    // Replacing a stored rule is not a new one.
    let mut edited = saved[0].clone();
    edited["threshold"] = json!(5.0);
    let (status, body) = answer(http.post(format!("{base}/api/alerts")).json(&edited).send().await.unwrap()).await;
    assert_eq!((status, body["threshold"].as_f64()), (200, Some(5.0)), "{body}");
    let id = saved[1]["id"].as_str().expect("id");
    assert_eq!(http.delete(format!("{base}/api/alerts/{id}")).send().await.unwrap().status(), 204);
    let (status, body) =
        answer(http.post(format!("{base}/api/alerts")).json(&rule("three")).send().await.unwrap()).await;
    assert_eq!(status, 200, "after a delete there is room: {body}");

    // Bytes: the 1,000-bar upload does not fit in 30 KB; nothing is stored.
    let upload = |name: &'static str| {
        let (content_type, body) = support::upload_form(name);
        http.post(format!("{base}/api/datasets")).header("content-type", content_type).body(body).send()
    };
    let (status, body) = answer(upload("binance_um_BTCUSDT_1m_header.csv").await.unwrap()).await;
    assert_eq!(status, 507, "{body}");
    let (kind, message) = error_of(&body);
    assert_eq!(kind, "storage_quota_exceeded", "{body}");
    assert!(message.contains("--max-dataset-bytes") && message.contains("30 KB"), "{message}");
    let (_, listed) = answer(http.get(format!("{base}/api/datasets")).send().await.unwrap()).await;
    assert_eq!(listed["datasets"].as_array().map(Vec::len), Some(0), "{listed}");

    // Count: two small ones fit, the third is refused; a delete makes room.
    let small = "ok_binance_um_BTCUSDT_1m_crlf_bom_no_trailing_newline.csv";
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, body) = answer(upload(small).await.unwrap()).await;
        assert_eq!(status, 201, "{body}");
        assert!(body["datasets"][0]["stored_bytes"].as_u64().is_some_and(|b| b > 0), "{body}");
        ids.push(body["datasets"][0]["id"].as_u64().expect("id"));
    }
    let (status, body) = answer(upload(small).await.unwrap()).await;
    assert_eq!(status, 409, "{body}");
    let (kind, message) = error_of(&body);
    assert_eq!(kind, "quota_exceeded", "{body}");
    assert!(message.contains("--max-datasets 2"), "{message}");
    assert_eq!(http.delete(format!("{base}/api/datasets/{}", ids[0])).send().await.unwrap().status(), 204);
    let (status, body) = answer(upload(small).await.unwrap()).await;
    assert_eq!(status, 201, "after a delete there is room: {body}");
}
