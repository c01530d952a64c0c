//! Adding and removing ingested symbols while `pairdesk serve --demo` runs: an added symbol
//! is checked with the exchange, announced to connected browsers and its trades stored; a
//! removed one stops being stored; typos, duplicates, the last pair and a dead exchange
//! get clear errors.

mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use support::{free_port, Server};

async fn call(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json body"))
}

/// Stored ticks of `symbol`, through the export download (the server holds the database).
async fn stored_ticks(base: &str, symbol: &str) -> usize {
    let csv = reqwest::get(format!("{base}/api/export/ticks.csv?symbol={symbol}")).await.expect("export");
    csv.text().await.expect("csv").lines().count().saturating_sub(1)
}

/// The symbol list of the next `hello` on the browser socket.
async fn next_hello<S>(socket: &mut S) -> Vec<String>
where
    S: futures_util::Stream<
            Item = Result<tokio_tungstenite::tungstenite::Message, tokio_tungstenite::tungstenite::Error>,
        > + Unpin,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message =
            tokio::time::timeout(left, socket.next()).await.expect("a hello in time").expect("open").expect("frame");
        // Pings (the server keeps quiet sockets alive) are not messages of the protocol.
        let tokio_tungstenite::tungstenite::Message::Text(text) = message else { continue };
        let value: Value = serde_json::from_str(&text).expect("json");
        if value["type"] == "hello" {
            return serde_json::from_value(value["symbols"].clone()).expect("symbols");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symbols_are_added_and_removed_at_runtime() {
    let server = Server::start_api_only(&["--demo", "--symbols", "btcusdt,ethusdt"]).await;
    let base = &server.base_url;
    let http = reqwest::Client::new();
    let url = format!("{base}/api/symbols");

    let (status, body) = call(http.get(&url)).await;
    assert_eq!((status, body), (200, json!({"symbols": ["BTCUSDT", "ETHUSDT"]})));
    let ws_url = format!("{}/ws", base.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(&ws_url).await.expect("browser socket");
    assert_eq!(next_hello(&mut socket).await, vec!["BTCUSDT", "ETHUSDT"]);

    let (status, body) = call(http.post(&url).json(&json!({"symbol": " solusdt "}))).await;
    assert_eq!((status, body), (200, json!({"symbols": ["BTCUSDT", "ETHUSDT", "SOLUSDT"]})));
    assert_eq!(next_hello(&mut socket).await, vec!["BTCUSDT", "ETHUSDT", "SOLUSDT"], "browsers hear of it");
    let deadline = Instant::now() + Duration::from_secs(20);
    while stored_ticks(base, "SOLUSDT").await < 10 {
        assert!(Instant::now() < deadline, "no SOLUSDT trades stored after subscribing");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let refusals = [
        (json!({"symbol": "nopeusdt"}), 422, "Invalid symbol"),
        (json!({"symbol": "btc/usdt"}), 422, "not a symbol"),
        (json!({"symbol": "ETHUSDT"}), 409, "already ingested"),
        (json!({"name": "x"}), 422, "symbol"),
    ];
    for (body, expected_status, expected_text) in refusals {
        let (status, answer) = call(http.post(&url).json(&body)).await;
        let message = answer["error"]["message"].as_str().unwrap_or_default().to_string();
        assert_eq!(status, expected_status, "{body}: {message}");
        assert!(message.contains(expected_text), "{body}: {message}");
    }

    let (status, body) = call(http.delete(format!("{url}/solusdt"))).await;
    assert_eq!((status, body), (200, json!({"symbols": ["BTCUSDT", "ETHUSDT"]})));
    assert_eq!(next_hello(&mut socket).await, vec!["BTCUSDT", "ETHUSDT"]);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let after_removal = stored_ticks(base, "SOLUSDT").await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(stored_ticks(base, "SOLUSDT").await, after_removal, "a removed symbol is no longer stored");
    assert!(stored_ticks(base, "BTCUSDT").await > 0, "the others still are");

    let (status, answer) = call(http.delete(format!("{url}/ethusdt"))).await;
    assert_eq!(status, 409, "{answer}");
    let (status, _) = call(http.delete(format!("{url}/xrpusdt"))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn adding_a_symbol_while_the_exchange_is_down_says_so() {
    let dead = free_port();
    let server = Server::start_api_only(&[
        "--binance-ws-url",
        &format!("ws://127.0.0.1:{dead}/market"),
        "--binance-public-ws-url",
        &format!("ws://127.0.0.1:{dead}/public"),
        "--binance-rest-url",
        &format!("http://127.0.0.1:{dead}"),
    ])
    .await;
    let (status, answer) = call(
        reqwest::Client::new().post(format!("{}/api/symbols", server.base_url)).json(&json!({"symbol": "solusdt"})),
    )
    .await;
    assert_eq!(status, 502, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap_or_default().contains("cannot check SOLUSDT"), "{answer}");
}
