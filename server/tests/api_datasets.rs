//! The data-set and analysis HTTP API against a real `pairdesk serve`: uploads of every golden
//! fixture (accepted ones are listed with the expected rows and times; rejected ones answer 422
//! with the fixture's error kind, line and column and store nothing), the 20 MB limit (413),
//! delete and bars, `/api/analyze` on two stored data sets and on two uploaded files giving the
//! same numbers as `pairdesk analyze --json` (a 3-leg basket too), and malformed requests answered with JSON errors
//! (never a crash).

mod support;

use std::process::Command;

use serde_json::{json, Value};
use support::{fixture, free_port, golden_dir, wait_for_http, ChildGuard};

fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = fixture(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn expected_fixtures() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(golden_dir().join("fixtures/expected.json")).expect("expected.json");
    serde_json::from_str::<Value>(&text).expect("json").as_object().cloned().expect("object")
}

/// `pairdesk serve` without a bundle and with exchange URLs nobody listens on.
struct Api {
    base: String,
    client: reqwest::Client,
    _data: tempfile::TempDir,
    _child: ChildGuard,
}

impl Api {
    async fn start() -> Api {
        let port = free_port();
        let data = tempfile::tempdir().expect("tempdir");
        let child = support::spawn_serve(port, data.path(), &[]);
        let base = format!("http://127.0.0.1:{port}");
        wait_for_http(&format!("{base}/healthz")).await;
        Api { base, client: reqwest::Client::new(), _data: data, _child: child }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, body)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(format!("{}{path}", self.base))).await
    }

    async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(self.client.delete(format!("{}{path}", self.base))).await
    }

    async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(body)).await
    }

    async fn post_form(&self, path: &str, form: Multipart) -> (u16, Value) {
        let (ct, body) = form.finish();
        self.send(self.client.post(format!("{}{path}", self.base)).header("content-type", ct).body(body)).await
    }

    async fn upload(&self, name: &str) -> (u16, Value) {
        self.post_form("/api/datasets", Multipart::new().file("file", name, &fixture_bytes(name))).await
    }

    async fn listed(&self) -> Vec<Value> {
        let (status, body) = self.get("/api/datasets").await;
        assert_eq!(status, 200, "{body}");
        body["datasets"].as_array().cloned().expect("datasets array")
    }
}

/// A hand-built multipart/form-data body.
struct Multipart {
    body: Vec<u8>,
}

const BOUNDARY: &str = "pairdesk-test-boundary-7f3a9c";

impl Multipart {
    fn new() -> Self {
        Multipart { body: Vec::new() }
    }
    fn file(mut self, field: &str, file_name: &str, bytes: &[u8]) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
                 Content-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }
    fn text(mut self, field: &str, value: &str) -> Self {
        self.body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
        self
    }
    fn finish(mut self) -> (String, Vec<u8>) {
        self.body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={BOUNDARY}"), self.body)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_fixtures_are_stored_listed_served_and_deleted() {
    let api = Api::start().await;
    let mut ids = Vec::new();
    for (name, case) in expected_fixtures().into_iter().filter(|(_, c)| c["action"] == "accept") {
        let (status, body) = api.upload(&name).await;
        assert_eq!(status, 201, "{name}: {body}");
        let ds = &body["datasets"][0];
        assert_eq!(ds["name"].as_str(), Some(name.as_str()));
        assert_eq!(ds["format"], case["format"], "{name}");
        let symbols = case["symbols"].as_object().expect("symbols");
        assert_eq!(ds["symbols"].as_array().map(Vec::len), Some(symbols.len()), "{name}");
        for s in ds["symbols"].as_array().expect("symbols") {
            let exp = &symbols[s["symbol"].as_str().expect("symbol")];
            assert_eq!(s["rows"], exp["rows"], "{name}");
            assert_eq!(s["first_t"], exp["first_t_ms"], "{name}");
            assert_eq!(s["last_t"], exp["last_t_ms"], "{name}");
            assert_eq!(s["first_close"].as_f64(), exp["first_close"].as_f64(), "{name}");
            assert_eq!(s["last_close"].as_f64(), exp["last_close"].as_f64(), "{name}");
        }
        ids.push((name, ds["id"].as_u64().expect("id"), case));
    }
    assert_eq!(ids.len(), 6);
    let listed = api.listed().await;
    assert_eq!(listed.len(), 6);
    for (name, id, _) in &ids {
        assert!(listed.iter().any(|d| d["id"] == *id && d["name"] == name.as_str()), "{name} not listed");
    }

    // Bars of a stored symbol, for the UI.
    let (name, id, case) = ids.iter().find(|(n, ..)| n.starts_with("yahoo_GSPC")).expect("gspc");
    let (status, body) = api.get(&format!("/api/datasets/{id}/bars")).await;
    assert_eq!(status, 200, "{name}: {body}");
    assert_eq!(body["symbol"], "^GSPC");
    let bars = body["bars"].as_array().expect("bars");
    assert_eq!(Some(bars.len() as u64), case["symbols"]["^GSPC"]["rows"].as_u64());
    assert_eq!(bars[0]["t_ms"], case["symbols"]["^GSPC"]["first_t_ms"]);
    // A two-symbol data set needs ?symbol=.
    let (_, gid, _) = ids.iter().find(|(n, ..)| n.starts_with("generic")).expect("generic");
    let (status, body) = api.get(&format!("/api/datasets/{gid}/bars")).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = api.get(&format!("/api/datasets/{gid}/bars?symbol=ETHUSDT")).await;
    assert_eq!((status, body["bars"].as_array().map(Vec::len)), (200, Some(240)));

    // Delete.
    assert_eq!(api.delete(&format!("/api/datasets/{id}")).await.0, 204);
    assert_eq!(api.delete(&format!("/api/datasets/{id}")).await.0, 404);
    assert_eq!(api.get(&format!("/api/datasets/{id}/bars")).await.0, 404);
    assert_eq!(api.listed().await.len(), 5);

    // A symbol override for a single-symbol file.
    let form = Multipart::new().text("symbol", "SPX").file(
        "file",
        "yahoo_GSPC_2016_2017.csv",
        &fixture_bytes("yahoo_GSPC_2016_2017.csv"),
    );
    let (status, body) = api.post_form("/api/datasets", form).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["datasets"][0]["symbols"][0]["symbol"], "SPX");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_fixtures_are_rejected_with_kind_line_column_and_nothing_is_stored() {
    let api = Api::start().await;
    let cases = expected_fixtures();
    for (name, case) in cases.iter().filter(|(_, c)| c["action"] == "reject") {
        let (status, body) = api.upload(name).await;
        assert_eq!(status, 422, "{name}: {body}");
        let err = &body["error"];
        assert_eq!(err["kind"], case["error_kind"], "{name}: {body}");
        assert_eq!(err["file"].as_str(), Some(name.as_str()), "{name}");
        if let Some(line) = case.get("line") {
            assert_eq!(&err["line"], line, "{name}: {body}");
        }
        if let Some(col) = case.get("column") {
            assert!(
                err["column"] == *col
                    || err["message"].as_str().is_some_and(|m| m.contains(col.as_str().unwrap_or("?"))),
                "{name}: {body}"
            );
        }
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty() && !m.contains('\n')), "{name}: {body}");
    }
    assert!(api.listed().await.is_empty(), "a rejected upload stored something");

    // One bad file among good ones rejects the whole request.
    let form = Multipart::new()
        .file("file", "binance_um_BTCUSDT_1m_header.csv", &fixture_bytes("binance_um_BTCUSDT_1m_header.csv"))
        .file("file", "bad_nan_price.csv", &fixture_bytes("bad_nan_price.csv"));
    let (status, body) = api.post_form("/api/datasets", form).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (422, Some("invalid_value")), "{body}");
    assert!(api.listed().await.is_empty(), "a partially rejected upload stored something");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_upload_is_413_and_nothing_is_stored() {
    let api = Api::start().await;
    let row = b"1709251200000,62030.6,62030.6,62030.6,62030.6,1,1709251259999,1,1,1,1,0\n";
    let big: Vec<u8> = row.iter().copied().cycle().take(21 * 1024 * 1024).collect();
    let (status, body) = api.post_form("/api/datasets", Multipart::new().file("file", "BTCUSDT_big.csv", &big)).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["kind"], "payload_too_large");
    assert!(api.listed().await.is_empty());
    // The server is still fine.
    assert_eq!(api.upload("binance_um_BTCUSDT_1m_header.csv").await.0, 201);
}

fn cli_report(x: &str, y: &str, extra: &[&str]) -> Value {
    let dir = golden_dir().join("fixtures");
    let out = Command::new(env!("CARGO_BIN_EXE_pairdesk"))
        .arg("analyze")
        .arg(dir.join(x))
        .arg(dir.join(y))
        .arg("--json")
        .args(extra)
        .env("RUST_LOG", "off")
        .output()
        .expect("spawn pairdesk analyze");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_two_datasets_or_two_files_equals_the_cli() {
    let api = Api::start().await;
    let (bx, by) = ("binance_um_BTCUSDT_1m_header.csv", "binance_um_ETHUSDT_1m_noheader.csv");
    let x = api.upload(bx).await.1["datasets"][0]["id"].as_u64().expect("x id");
    let y = api.upload(by).await.1["datasets"][0]["id"].as_u64().expect("y id");
    let cli = cli_report(bx, by, &[]);

    let (status, report) = api.post_json("/api/analyze", &json!({"x": {"dataset": x}, "y": {"dataset": y}})).await;
    assert_eq!(status, 200, "{report}");
    for stage in [
        "ols",
        "ols_log",
        "huber",
        "theil_sen",
        "adf",
        "coint",
        "half_life",
        "backtest",
        "zscore",
        "rolling_corr",
        "kalman",
    ] {
        assert_eq!(report[stage], cli[stage], "{stage} differs from the CLI");
    }
    assert!((report["ols"]["beta"].as_f64().expect("beta") - 0.0556856651166659).abs() < 1e-12);
    assert!(report.get("spread_with_alpha").is_none(), "series without series: true");

    // Parameters and series, as the CLI flags.
    let params = json!({"z_window": 40, "corr_window": 20, "adf_autolag": "bic", "timeframe": "5m"});
    let (status, report) = api
        .post_json(
            "/api/analyze",
            &json!({"x": {"dataset": x, "symbol": "BTCUSDT"}, "y": {"dataset": y}, "params": params, "series": true}),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let cli = cli_report(
        bx,
        by,
        &["--series", "--z-window", "40", "--corr-window", "20", "--adf-autolag", "bic", "--timeframe", "5m"],
    );
    assert_eq!(report["n"], 200);
    for stage in ["ols", "adf", "zscore", "backtest", "spread_with_alpha"] {
        assert_eq!(report[stage], cli[stage], "{stage} differs from the CLI");
    }

    // Two files in one multipart request.
    let form = Multipart::new()
        .file("x", bx, &fixture_bytes(bx))
        .file("y", by, &fixture_bytes(by))
        .text("params", r#"{"z_window": 40}"#);
    let (status, report) = api.post_form("/api/analyze", form).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["ols"], cli_report(bx, by, &[])["ols"]);
    assert_eq!(report["zscore"]["window"], 40);
    assert_eq!(report["meta"]["x"]["symbol"], "BTCUSDT");

    // Analysing a bad file through the same endpoint is a 422 naming the line.
    let form = Multipart::new().file("x", bx, &fixture_bytes(bx)).file(
        "y",
        "bad_negative_price.csv",
        &fixture_bytes("bad_negative_price.csv"),
    );
    let (status, body) = api.post_form("/api/analyze", form).await;
    assert_eq!(
        (status, body["error"]["kind"].as_str(), body["error"]["line"].as_u64()),
        (422, Some("invalid_value"), Some(8)),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_a_basket_of_stored_data_sets_equals_the_cli() {
    let api = Api::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let files = support::basket_files(dir.path());
    let mut legs = Vec::new();
    for (name, bytes) in &files {
        let (status, body) = api.post_form("/api/datasets", Multipart::new().file("file", name, bytes)).await;
        assert_eq!(status, 201, "{body}");
        legs.push(json!({"dataset": body["datasets"][0]["id"]}));
    }
    let (status, report) = api.post_json("/api/analyze", &json!({"legs": legs, "params": {"z_window": 50}})).await;
    assert_eq!(status, 200, "{report}");
    let out = Command::new(env!("CARGO_BIN_EXE_pairdesk"))
        .arg("analyze")
        .args(files.iter().map(|(name, _)| dir.path().join(name)))
        .args(["--json", "--z-window", "50"])
        .env("RUST_LOG", "off")
        .output()
        .expect("spawn pairdesk analyze");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cli: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["legs"], 3);
    for key in
        ["weights", "johansen", "adf", "kpss", "hurst", "half_life", "zscore", "adf_legs", "variance_ratio", "backtest"]
    {
        assert!(cli.get(key).is_some(), "the CLI report has {key}");
        assert_eq!(report[key], cli[key], "{key} differs from the CLI");
    }
    // The cointegrated legs make a stationary basket.
    assert!(report["adf"]["pvalue"].as_f64().is_some_and(|p| p < 0.05), "{}", report["adf"]);
    // Its backtest: weights fitted on the first half, traded on the second.
    let bt = &report["backtest"];
    assert_eq!((bt["train"].as_u64(), bt["first_bar"].as_u64()), (Some(300), Some(300)), "{bt}");
    assert!(bt["metrics"]["n_trades"].as_u64().is_some() && bt.get("equity").is_none(), "{bt}");

    // Too few or too many legs, or both forms at once: a clear 400.
    for body in [
        json!({"legs": [legs[0], legs[1]]}),
        json!({"legs": vec![legs[0].clone(); 13]}),
        json!({"x": legs[0], "y": legs[1], "legs": legs}),
        json!({"x": legs[0]}),
    ] {
        let (status, answer) = api.post_json("/api/analyze", &body).await;
        assert_eq!((status, answer["error"]["kind"].as_str()), (400, Some("invalid_params")), "{body} → {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_json_errors_and_the_server_survives() {
    let api = Api::start().await;
    let gspc = api.upload("yahoo_GSPC_2016_2017.csv").await.1["datasets"][0]["id"].as_u64().expect("id");
    let btc = api.upload("binance_um_BTCUSDT_1m_header.csv").await.1["datasets"][0]["id"].as_u64().expect("id");
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"x": {"dataset": 999}, "y": {"dataset": gspc}}), 404, "not_found"),
        (json!({"x": {"dataset": gspc}}), 400, "invalid_params"),
        (json!({"x": {"dataset": gspc}, "y": {"dataset": gspc}, "params": {"zwindow": 5}}), 400, "invalid_params"),
        (json!({"x": {"dataset": gspc}, "y": {"dataset": gspc}, "params": {"kalman_delta": 3}}), 400, "invalid_params"),
        (
            json!({"x": {"dataset": gspc}, "y": {"dataset": gspc}, "params": {"timeframe": "fortnight"}}),
            400,
            "invalid_params",
        ),
        (json!({"x": {"dataset": gspc}, "y": {"dataset": gspc, "symbol": "NOPE"}}), 422, "symbol"),
        (json!({"x": {"dataset": gspc}, "y": {"dataset": btc}}), 422, "insufficient_overlap"),
        (json!({"x": {"dataset": -1}, "y": "x"}), 400, "invalid_params"),
    ];
    for (req, status, kind) in cases {
        let (got, body) = api.post_json("/api/analyze", &req).await;
        assert_eq!((got, body["error"]["kind"].as_str()), (status, Some(kind)), "{req}: {body}");
    }
    let raw = api
        .client
        .post(format!("{}/api/analyze", api.base))
        .header("content-type", "application/json")
        .body("{not json");
    assert_eq!(api.send(raw).await.0, 400);
    assert_eq!(api.get("/api/datasets/abc/bars").await.0, 404);
    assert_eq!(api.delete("/api/datasets/18446744073709551616").await.0, 404);
    let (status, body) = api.post_form("/api/datasets", Multipart::new().text("symbol", "X")).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (400, Some("bad_request")));
    let garbage = api
        .client
        .post(format!("{}/api/datasets", api.base))
        .header("content-type", "multipart/form-data; boundary=zz")
        .body("--zz\r\ngarbage");
    assert_eq!(api.send(garbage).await.0, 400);
    let not_multipart = api.client.post(format!("{}/api/datasets", api.base)).body("a,b\n1,2\n");
    // An untyped body is refused by the request guard before any handler (415).
    assert_eq!(api.send(not_multipart).await.0, 415);
    // Identical legs: collinear, but still a report (no panic on zero residuals).
    let (status, body) = api.post_json("/api/analyze", &json!({"x": {"dataset": gspc}, "y": {"dataset": gspc}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["coint"]["collinear"], true);
    assert_eq!(api.get("/healthz").await.0, 200);
}
