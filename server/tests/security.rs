//! The probes of issue 11, against the real binary (`pairdesk serve --demo`): what a web page
//! on another origin, a DNS-rebinding name or a greedy client sends. Each asserts the clear
//! refusal, and that `/healthz` keeps answering within 100 ms meanwhile.

mod support;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use reqwest::header;
use serde_json::{json, Value};
use support::{fixture, multipart_file, Server};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// The tests take turns: each asserts `/healthz` answers within 100 ms while its own server is
/// loaded on purpose (floods of sockets, analyses, screens), which is a statement about that
/// server, not about a machine that sibling tests' servers keep just as busy.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `/healthz` answers, and fast.
async fn assert_healthy(base: &str) {
    let started = Instant::now();
    let status = reqwest::get(format!("{base}/healthz")).await.expect("healthz").status();
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert!(took < Duration::from_millis(100), "/healthz took {took:?}");
}

async fn error_kind(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let kind = body["error"]["kind"].as_str().unwrap_or_default().to_string();
    let message = body["error"]["message"].as_str().unwrap_or_default().to_string();
    (status, kind, message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_hosts_origins_and_untyped_bodies_are_refused() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = Server::start_api_only(&["--demo"]).await;
    let base = &server.base_url;
    let http = reqwest::Client::new();

    // DNS rebinding: our address, somebody else's name.
    for (method, path) in
        [("GET", "/"), ("GET", "/api/alerts"), ("POST", "/api/symbols"), ("DELETE", "/api/symbols/ETHUSDT")]
    {
        let request = http
            .request(method.parse().expect("method"), format!("{base}{path}"))
            .header(header::HOST, "evil.example")
            .json(&json!({"symbol": "SOLUSDT"}));
        let (status, kind, message) = error_kind(request.send().await.expect("request")).await;
        assert_eq!((status, kind.as_str()), (403, "forbidden_host"), "{method} {path}: {message}");
    }

    // A page on another origin: JSON, a form upload, and the preflight-free text/plain body.
    let evil = "http://evil.example";
    let rule = json!({"x": "BTCUSDT", "y": "ETHUSDT", "z_above": 2.0, "webhook": "http://evil.example/hook"});
    let request = http.post(format!("{base}/api/alerts")).header(header::ORIGIN, evil).json(&rule);
    let (status, kind, _) = error_kind(request.send().await.expect("request")).await;
    assert_eq!((status, kind.as_str()), (403, "forbidden_origin"));
    let csv = std::fs::read(fixture("binance_um_BTCUSDT_1m_header.csv")).expect("fixture");
    let (content_type, body) = multipart_file("BTCUSDT.csv", &csv);
    let request = http
        .post(format!("{base}/api/datasets"))
        .header(header::ORIGIN, evil)
        .header(header::CONTENT_TYPE, content_type)
        .body(body);
    let (status, kind, _) = error_kind(request.send().await.expect("request")).await;
    assert_eq!((status, kind.as_str()), (403, "forbidden_origin"));
    let request = http
        .post(format!("{base}/api/analyze"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(r#"{"x":{"dataset":1},"y":{"dataset":2}}"#);
    let (status, kind, _) = error_kind(request.send().await.expect("request")).await;
    assert_eq!((status, kind.as_str()), (415, "unsupported_media_type"));
    // Nothing was created by any of them.
    let alerts: Value =
        http.get(format!("{base}/api/alerts")).send().await.expect("alerts").json().await.expect("json");
    assert!(!alerts.to_string().contains("evil"), "{alerts}");
    let datasets: Value =
        http.get(format!("{base}/api/datasets")).send().await.expect("list").json().await.expect("json");
    assert!(!datasets.to_string().contains("BTCUSDT.csv"), "{datasets}");

    // The same requests from the page's own origin pass the guard.
    let own = base.clone();
    let request = http.get(format!("{base}/api/symbols")).header(header::ORIGIN, own);
    assert_eq!(request.send().await.expect("request").status(), 200);

    // Cross-site WebSocket: refused at the handshake.
    let mut ws = format!("{}/ws", base.replace("http://", "ws://")).into_client_request().expect("ws request");
    ws.headers_mut().insert(header::ORIGIN, evil.parse().expect("origin"));
    let refused = tokio_tungstenite::connect_async(ws).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("a cross-site socket must be refused: {:?}", other.map(|(_, r)| r.status())),
    }
    assert_healthy(base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_that_used_to_panic_get_answers() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = Server::start_api_only(&["--demo"]).await;
    let base = &server.base_url;
    // Let some trades arrive so the hourly export has something to say.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let hourly = reqwest::get(format!("{base}/api/export/bars.csv?symbol=BTCUSDT&interval=1h")).await.expect("export");
    assert_eq!(hourly.status(), 200);
    let text = hourly.text().await.expect("csv");
    assert!(text.starts_with("time_ms,open,high,low,close,volume,count\n"), "{text}");
    assert!(text.lines().count() >= 2, "the hourly export holds the current hour: {text}");
    for interval in ["9223372036854775807s", "576460752303423488m", "1%C3%A9", "%FF", "-1m"] {
        let page = reqwest::get(format!("{base}/?interval={interval}")).await.expect("page");
        assert_eq!(page.status(), 200, "/?interval={interval}");
        let export = reqwest::get(format!("{base}/api/export/bars.csv?symbol=BTCUSDT&interval={interval}"))
            .await
            .expect("export");
        assert_eq!(export.status(), 400, "export at {interval}");
    }
    assert_healthy(base).await;
}

/// Uploads two `rows`-minute legs (Binance kline CSVs, BTC-like and ETH-like, a shared
/// oscillation so they co-move) and returns their data set ids.
async fn upload_legs(http: &reqwest::Client, base: &str, rows: i64) -> [u64; 2] {
    let mut ids = [0; 2];
    for (slot, (name, start, phase)) in
        [("BTCUSDT_big.csv", 60_000.0, 0.0), ("ETHUSDT_big.csv", 3_000.0, 1.0)].into_iter().enumerate()
    {
        let mut csv = String::from(
            "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n",
        );
        for i in 0..rows {
            let t = 1_700_000_000_000 + i * 60_000;
            let p =
                start * (1.0 + 0.01 * ((i as f64) / 500.0 + phase).sin() + 0.001 * ((i * 7919 % 1000) as f64 / 1000.0));
            csv.push_str(&format!("{t},{p},{p},{p},{p},1,{},{p},1,0,0,0\n", t + 59_999));
        }
        let (content_type, body) = multipart_file(name, csv.as_bytes());
        let request = http.post(format!("{base}/api/datasets")).header(header::CONTENT_TYPE, content_type).body(body);
        let response = request.send().await.expect("upload");
        assert_eq!(response.status(), 201, "{name}");
        let body: Value = response.json().await.expect("json");
        ids[slot] = body["datasets"][0]["id"].as_u64().expect("id");
    }
    ids
}

/// Near the work bounds on 50,000 bars: seconds of CPU in a debug build (about 7 s here).
fn heavy_analysis(ids: [u64; 2]) -> Value {
    json!({"x": {"dataset": ids[0]}, "y": {"dataset": ids[1]},
           "params": {"z_window": 2_000, "corr_window": 2_000, "adf_maxlag": 33}})
}

/// `pairdesk serve --analysis-timeout TIMEOUT` without an exchange (no ingest load), with a
/// 50,000-bar pair and a 300-bar pair uploaded (their data set ids).
async fn analysis_server(timeout: &str) -> (support::ChildGuard, String, tempfile::TempDir, [[u64; 2]; 2]) {
    let port = support::free_port();
    let data = tempfile::tempdir().expect("tempdir");
    let child = support::spawn_serve(port, data.path(), &["--analysis-timeout", timeout]);
    let base = format!("http://127.0.0.1:{port}");
    support::wait_for_http(&format!("{base}/healthz")).await;
    let http = reqwest::Client::new();
    let pairs = [upload_legs(&http, &base, 50_000).await, upload_legs(&http, &base, 300).await];
    (child, base, data, pairs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_analysis_is_cut_at_its_deadline_and_frees_its_slot() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (_server, base, _data, [big, small]) = analysis_server("1s").await;
    let base = base.as_str();
    let http = reqwest::Client::new();
    let small_request = json!({"x": {"dataset": small[0]}, "y": {"dataset": small[1]}});

    // Both work slots busy with analyses that would run for seconds: each is stopped at 1 s.
    let started = Instant::now();
    let long = |_| {
        let http = http.clone();
        let url = format!("{base}/api/analyze");
        async move { error_kind(http.post(url).json(&heavy_analysis(big)).send().await.expect("analyze")).await }
    };
    let (first, second, ()) = tokio::join!(long(0), long(1), async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_healthy(base).await;
    });
    let took = started.elapsed();
    for (status, kind, message) in [first, second] {
        assert_eq!((status, kind.as_str()), (504, "timeout"), "{message}");
        assert!(message.contains("--analysis-timeout") && !message.contains("/tmp"), "{message}");
    }
    assert!(took < Duration::from_secs(3), "the deadline is 1 s, the answers came after {took:?}");

    // The cancelled work has stopped: a small analysis gets a slot at once and answers.
    let started = Instant::now();
    let response = http.post(format!("{base}/api/analyze")).json(&small_request).send().await.expect("analyze");
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.expect("json");
    assert_eq!(report["n"], 300);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "a free slot should answer a 300-bar analysis at once, took {took:?}");
    assert_healthy(base).await;
}

/// Uploads `count` random-walk series of `rows` minutes (one data set each, distinct seeds so
/// no two are alike) and returns their data set ids.
async fn upload_walks(http: &reqwest::Client, base: &str, count: u64, rows: i64) -> Vec<u64> {
    let mut ids = Vec::new();
    for k in 0..count {
        let mut state = (k + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut price = 100.0;
        let mut csv = String::from(
            "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n",
        );
        for i in 0..rows {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            price *= 1.0 + ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.01;
            let t = 1_700_000_000_000 + i * 60_000;
            csv.push_str(&format!("{t},{price},{price},{price},{price},1,{},{price},1,0,0,0\n", t + 59_999));
        }
        let name = format!("WALK{k}USDT.csv");
        let (content_type, body) = multipart_file(&name, csv.as_bytes());
        let request = http.post(format!("{base}/api/datasets")).header(header::CONTENT_TYPE, content_type).body(body);
        let response = request.send().await.expect("upload");
        assert_eq!(response.status(), 201, "{name}");
        let body: Value = response.json().await.expect("json");
        ids.push(body["datasets"][0]["id"].as_u64().expect("id"));
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_screen_is_cut_at_its_deadline_and_frees_its_slot() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (_server, base, _data, [_, small]) = analysis_server("300ms").await;
    let base = base.as_str();
    let http = reqwest::Client::new();
    // 10 series × 10,000 bars: 45 pairs of Engle–Granger with AIC lag search, KPSS and Hurst,
    // seconds of work in this (debug) build, far past the 300 ms deadline.
    let walks = upload_walks(&http, base, 10, 10_000).await;
    let list = walks.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let started = Instant::now();
    let url = format!("{base}/api/screener?datasets={list}&bars=10000");
    let (answer, ()) =
        tokio::join!(async { error_kind(http.get(&url).send().await.expect("screener")).await }, async {
            tokio::time::sleep(Duration::from_millis(150)).await;
            assert_healthy(base).await;
        });
    let took = started.elapsed();
    let (status, kind, message) = answer;
    assert_eq!((status, kind.as_str()), (504, "timeout"), "{message}");
    assert!(message.contains("--analysis-timeout"), "{message}");
    assert!(took < Duration::from_secs(2), "the deadline is 300 ms, the answer came after {took:?}");

    // The cancelled screen has stopped: a one-pair screen gets the slot at once.
    let started = Instant::now();
    let url = format!("{base}/api/screener?datasets={},{}", small[0], small[1]);
    let response = http.get(url).send().await.expect("screener");
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.expect("json");
    assert_eq!(report["pairs"].as_array().map(Vec::len), Some(1), "{report}");
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    assert_healthy(base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_frees_its_analysis_slot() {
    let _alone = ONE_AT_A_TIME.lock().await;
    // A deadline far away: only the disconnects can stop the work.
    let (_server, base, _data, [big, small]) = analysis_server("10m").await;
    let base = base.as_str();
    let http = reqwest::Client::new();

    // Two clients start heavy analyses (both slots) and hang up after 500 ms.
    for _ in 0..2 {
        let impatient = reqwest::Client::builder().timeout(Duration::from_millis(500)).build().expect("client");
        let url = format!("{base}/api/analyze");
        let request = heavy_analysis(big);
        tokio::spawn(async move {
            let outcome = impatient.post(url).json(&request).send().await;
            assert!(
                outcome.as_ref().is_err_and(|e| e.is_timeout()),
                "the client hangs up: {:?}",
                outcome.map(|r| r.status())
            );
        })
        .await
        .expect("client task");
    }
    assert_healthy(base).await;
    // Without cancellation both slots stay busy for seconds and this one waits; with it, the
    // slots free within moments of the hang-ups.
    let started = Instant::now();
    let request = json!({"x": {"dataset": small[0]}, "y": {"dataset": small[1]}});
    let response = http.post(format!("{base}/api/analyze")).json(&request).send().await.expect("analyze");
    let took = started.elapsed();
    assert_eq!(response.status(), 200);
    assert!(took < Duration::from_secs(2), "slots freed by the hang-ups should answer at once, took {took:?}");
    assert_healthy(base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysis_work_is_bounded_before_it_starts() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = Server::start_api_only(&["--demo"]).await;
    let base = &server.base_url;
    let http = reqwest::Client::new();
    // Two 50,000-minute legs (Binance kline CSVs), big enough for the probes' sizes.
    let ids = upload_legs(&http, base, 50_000).await;
    for (params, needle) in [
        (json!({"adf_maxlag": 24_000}), "adf_maxlag 24000 on 50000 bars is too much work"),
        (json!({"z_window": 25_000}), "z_window 25000 on 50000 bars is too much work"),
        (json!({"corr_window": 40_000}), "corr_window 40000 on 50000 bars is too much work"),
    ] {
        let started = Instant::now();
        let request = json!({"x": {"dataset": ids[0]}, "y": {"dataset": ids[1]}, "params": params});
        let response = http.post(format!("{base}/api/analyze")).json(&request).send().await.expect("analyze");
        let (status, _, message) = error_kind(response).await;
        assert!(status == 400 || status == 422, "{params}: {status} {message}");
        assert!(message.contains(needle), "{params}: {message}");
        assert!(started.elapsed() < Duration::from_secs(2), "{params}: refused only after {:?}", started.elapsed());
    }
    assert_healthy(base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greedy_sockets_are_bounded() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = Server::start_api_only(&["--demo"]).await;
    let base = &server.base_url;
    let url = format!("{}/ws", base.replace("http://", "ws://"));

    // 10,000 Theil–Sen subscribes on one socket: a burst is served, the rest refused cheaply.
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.expect("socket");
    let subscribe = |window: usize| {
        json!({"type": "subscribe", "x": "BTCUSDT", "y": "ETHUSDT", "interval_ms": 1000,
               "analytics": {"window": window, "corr_window": 30, "hedge": "theil_sen"}})
        .to_string()
    };
    let sent_at = Instant::now();
    let mut sent_bytes = 0usize;
    for i in 0..10_000 {
        let text = subscribe(30 + i % 200);
        sent_bytes += text.len();
        socket.feed(Message::Text(text.into())).await.expect("send");
    }
    socket.flush().await.expect("flush");
    let mut received = 0usize;
    let mut healthy_checks = 0;
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        match tokio::time::timeout(Duration::from_millis(200), socket.next()).await {
            Ok(Some(Ok(message))) => received += message.len(),
            Ok(_) => break,
            Err(_) => {
                assert_healthy(base).await;
                healthy_checks += 1;
            }
        }
        if healthy_checks == 0 && sent_at.elapsed() > Duration::from_secs(1) {
            assert_healthy(base).await;
            healthy_checks += 1;
        }
    }
    assert!(healthy_checks > 0);
    // 20 snapshots at most (the burst) plus one refusal a second: far below one per subscribe.
    assert!(received < 20 * sent_bytes / 100, "{received} bytes answered {sent_bytes} bytes of subscribes");

    // A 15 MiB frame: the connection is closed, the server stays up.
    let (mut big, _) = tokio_tungstenite::connect_async(&url).await.expect("socket");
    let _ = big.send(Message::Text("x".repeat(15 * 1024 * 1024).into())).await;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match big.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return true,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert_eq!(closed, Ok(true), "a 15 MiB frame must end the connection");
    assert_healthy(base).await;
}

/// The bars a 1m BTC/ETH snapshot carries once the demo's history is in (each leg's count).
async fn snapshot_bars(url: &str, subscribe: &str) -> usize {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("socket");
    socket.send(Message::Text(subscribe.into())).await.expect("send");
    while let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
        let msg: Value = serde_json::from_str(&text).expect("json");
        if msg["type"] == "snapshot" {
            let count = |leg: &str| msg[leg].as_array().map_or(0, Vec::len);
            return count("x_bars").min(count("y_bars"));
        }
    }
    0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_sockets_subscribing_theil_sen_at_once_do_not_starve_the_server() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = Server::start_api_only(&["--demo"]).await;
    let base = &server.base_url;
    let url = format!("{}/ws", base.replace("http://", "ws://"));
    let subscribe = |window: usize| {
        json!({"type": "subscribe", "x": "BTCUSDT", "y": "ETHUSDT", "interval_ms": 60_000,
               "analytics": {"window": window, "corr_window": 30, "hedge": "theil_sen"}})
        .to_string()
    };
    // The demo's two days of 1m history: each snapshot is Theil–Sen over ~1,440 bars (a million
    // slopes, O(n²)), so the flood below is minutes of CPU.
    let deadline = Instant::now() + Duration::from_secs(60);
    while snapshot_bars(&url, &subscribe(30)).await < 1_000 {
        assert!(Instant::now() < deadline, "the demo's 1m history did not arrive");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // 40 sockets × their burst of 20 subscribes, every one a distinct view.
    let mut sockets = Vec::new();
    for k in 0..40 {
        let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.expect("socket");
        for i in 0..20 {
            socket.feed(Message::Text(subscribe(31 + k * 20 + i).into())).await.expect("send");
        }
        socket.flush().await.expect("flush");
        sockets.push(socket);
    }
    // Every request meanwhile is answered as fast as on an idle server.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_healthy(base).await;
    }
    drop(sockets);
    assert_healthy(base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_idle_sockets_do_not_starve_the_server() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = Server::start_api_only(&["--demo"]).await;
    let base = &server.base_url;
    let url = format!("{}/ws", base.replace("http://", "ws://"));
    let mut sockets = Vec::with_capacity(300);
    for _ in 0..300 {
        let (socket, _) = tokio_tungstenite::connect_async(&url).await.expect("socket");
        sockets.push(socket);
    }
    // And 100 raw connections that never say anything (they time out on their own later).
    let addr = base.trim_start_matches("http://").to_string();
    let mut silent = Vec::with_capacity(100);
    for _ in 0..100 {
        silent.push(tokio::net::TcpStream::connect(&addr).await.expect("tcp"));
    }
    for _ in 0..5 {
        assert_healthy(base).await;
    }
    drop(sockets);
    drop(silent);
    assert_healthy(base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tape_window_outside_its_range_is_refused_naming_the_range() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = Server::start_api_only(&["--demo", "--symbols", "btcusdt,ethusdt", "--history", "0"]).await;
    let url = format!("{}/ws", server.base_url.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.expect("socket");
    let subscribe = |tape: usize| {
        json!({"type": "subscribe", "x": "BTCUSDT", "y": "ETHUSDT", "interval_ms": 1000,
               "analytics": {"window": 60, "corr_window": 30, "hedge": "rolling_ols"}, "tape_window": tape})
        .to_string()
    };
    // The next message of `kind` (within 10 s).
    async fn next_of(
        socket: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
        kind: &str,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(left, socket.next()).await else {
                panic!("no {kind} message in time");
            };
            let msg: Value = serde_json::from_str(&text).expect("json");
            if msg["type"] == kind {
                return msg;
            }
        }
    }
    for bad in [0, 29, 1_001, 1_000_000_000] {
        socket.send(Message::Text(subscribe(bad).into())).await.expect("send");
        let error = next_of(&mut socket, "error").await;
        let message = error["message"].as_str().unwrap_or_default();
        assert_eq!(message, format!("tape window must be 30–1000 bars, got {bad}"), "{error}");
    }
    // In range: the snapshot's tape is of that window.
    socket.send(Message::Text(subscribe(480).into())).await.expect("send");
    let tape = next_of(&mut socket, "tape").await;
    assert_eq!((tape["window"].as_u64(), tape["snapshot"].as_bool()), (Some(480), Some(true)), "{tape}");
}
