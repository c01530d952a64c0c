//! Cluster mode over a real `nats-server` (each test starts its own, JetStream on a temp dir,
//! on a free loopback port; `scripts/setup.sh --test` installs Debian's package) and the fake
//! exchange (`--max-trades`: its `/debug/ids` are the ground truth). Never reaches Binance.
//!
//! * Two redundant `pairdesk ingest` processes, one SIGKILLed mid-stream and restarted later;
//!   two `pairdesk serve --nats` servers, one SIGKILLed and restarted on its data dir (it
//!   resumes from where its sled stopped); a foreign message on a trade subject. Both
//!   servers' ticks equal the exchange's exactly (0 missing, 0 duplicate, 0 extra, bars count
//!   each once) and the stream holds each trade once.
//! * NATS down at start: `ingest` and `serve` exit non-zero naming the URL.
//! * Shared state: a rule created on server A is listed, evaluated and fires on server B, and
//!   its webhook reaches a local receiver exactly once; a symbol added on A reaches B and the
//!   ingest process (it publishes the new symbol's trades and says so in its heartbeat), and
//!   its removal on B reaches A; `/api/health` shows the ingest, the lag per symbol and the
//!   alert counters.
//! * Data sets: one uploaded on server A is listed with the same bars on B and on a server
//!   started afterwards, A does not import its own upload back, a foreign object in the store
//!   is counted and skipped, and a delete on B removes every copy.

mod nats_support;
mod pipeline_support;
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nats_support::nats_server_binary;
use pipeline_support::*;

const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];
/// All three fake symbols together (BTC, ETH, SOL; two are ingested).
const TRADES: u64 = 36_000;

/// A `nats-server -js` on a free port with its store in a temp dir; killed on drop.
struct Nats {
    url: String,
    port: u16,
    dir: tempfile::TempDir,
    child: ChildGuard,
}

impl Nats {
    fn start() -> Nats {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let child = Self::spawn(dir.path(), port);
        Nats { url: format!("nats://127.0.0.1:{port}"), port, dir, child }
    }

    fn spawn(dir: &Path, port: u16) -> ChildGuard {
        let child = Command::new(nats_server_binary())
            .args(["-js", "-sd"])
            .arg(dir)
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start nats-server ({e}): run `scripts/setup.sh --test` (installs Debian's nats-server)")
            });
        let child = ChildGuard(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen on {port} within 10 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    /// Stops the server with `signal` (`-TERM` as an operator's restart, `-KILL` as a
    /// crash), stays down for `down`, starts it again on the same port and store.
    fn restart(&mut self, signal: &str, down: Duration) {
        let pid = self.child.0.id().to_string();
        assert!(Command::new("kill").args([signal, &pid]).status().expect("kill").success());
        self.child.0.wait().expect("reap nats-server");
        std::thread::sleep(down);
        self.child = Self::spawn(self.dir.path(), self.port);
    }
}

/// `pairdesk ingest` of BTC and ETH from the fake exchange into `nats`.
fn ingest(nats: &str, fx: u16) -> ChildGuard {
    ingest_named(nats, fx, &[])
}

fn ingest_named(nats: &str, fx: u16, extra: &[&str]) -> ChildGuard {
    let child = Command::new(BIN)
        .args(["ingest", "--nats", nats, "--symbols", "btcusdt,ethusdt"])
        .args(extra)
        .args(["--binance-ws-url", &format!("ws://127.0.0.1:{fx}/market")])
        .args(["--binance-rest-url", &format!("http://127.0.0.1:{fx}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn pairdesk ingest");
    ChildGuard(child)
}

/// `pairdesk serve --nats` (API only) on `data_dir`; every exchange URL points at a dead
/// port, so any exchange connection would show as missing trades.
async fn serve_nats(nats: &str, data_dir: &Path) -> (ChildGuard, String) {
    serve_nats_with(nats, data_dir, None, &[]).await
}

/// [`serve_nats`] with `rest` (if given) as the REST base symbol additions are checked with,
/// and extra flags.
async fn serve_nats_with(nats: &str, data_dir: &Path, rest: Option<&str>, extra: &[&str]) -> (ChildGuard, String) {
    let port = free_port();
    let dead = free_port();
    let child = Command::new(BIN)
        .arg("serve")
        .args(["--bind", &format!("127.0.0.1:{port}"), "--nats", nats, "--symbols", "btcusdt,ethusdt"])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--site-root", "/nonexistent-site-root", "--history", "0"])
        .args(["--binance-ws-url", &format!("ws://127.0.0.1:{dead}/market")])
        .args(["--binance-public-ws-url", &format!("ws://127.0.0.1:{dead}/public")])
        .args(["--binance-rest-url", rest.unwrap_or(&format!("http://127.0.0.1:{dead}"))])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn pairdesk serve --nats");
    let guard = ChildGuard(child);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(get(&format!("{base}/healthz")).await, Some((200, _))) {
        assert!(Instant::now() < deadline, "serve --nats did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (guard, base)
}

async fn until_generated(fx: u16, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while stats(fx).await.generated < n {
        assert!(Instant::now() < deadline, "exchange stuck below {n}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redundant_ingest_with_a_sigkill_and_two_servers_store_every_trade_exactly_once() {
    let nats = Nats::start();
    let total = TRADES.to_string();
    let (_exchange, fx) = fake_exchange(&[
        "--rate",
        "1000",
        "--max-trades",
        &total,
        "--duplicate-prob",
        "0.01",
        "--garbage-prob",
        "0.01",
        "--disconnect-every",
        "3",
    ])
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (data_a, data_b) = (dir.path().join("a"), dir.path().join("b"));

    let (server_a, _) = serve_nats(&nats.url, &data_a).await;
    let ingest_1 = ingest(&nats.url, fx);
    let ingest_2 = ingest(&nats.url, fx);
    until_generated(fx, TRADES / 4).await;
    ingest_1.crash();
    // A foreign message on a trade subject: counted and skipped by both servers.
    let client = async_nats::connect(&nats.url).await.expect("test client");
    client.publish("pairdesk.trades.BTCUSDT", "not a trade".into()).await.expect("publish foreign");
    client.flush().await.expect("flush");
    let (server_b, base_b) = serve_nats(&nats.url, &data_b).await;
    until_generated(fx, TRADES / 2).await;
    server_a.crash();
    let ingest_1 = ingest(&nats.url, fx);
    until_generated(fx, TRADES * 3 / 4).await;
    let (server_a, base_a) = serve_nats(&nats.url, &data_a).await;

    wait_until_caught_up(fx, &base_a, &SYMBOLS, Duration::from_secs(120)).await;
    wait_until_caught_up(fx, &base_b, &SYMBOLS, Duration::from_secs(60)).await;
    // `/api/health` shows the NATS side: connected, nothing behind; B read the foreign message.
    for (base, min_malformed) in [(&base_a, 0), (&base_b, 1)] {
        let (status, body) = get(&format!("{base}/api/health")).await.expect("health");
        assert_eq!(status, 200, "{body}");
        let nats: serde_json::Value = serde_json::from_str::<serde_json::Value>(&body).expect("json")["nats"].clone();
        assert_eq!(nats["connection"], "connected", "{nats}");
        assert_eq!(nats["stream"], "PAIRDESK_MARKET", "{nats}");
        assert_eq!(nats["behind"], 0, "{nats}");
        assert!(nats["malformed"].as_u64().expect("malformed") >= min_malformed, "{nats}");
    }
    drop((ingest_1, ingest_2));
    server_a.stop();
    server_b.stop();
    let mut all = 0;
    for symbol in SYMBOLS {
        let truth = truth(fx, symbol).await;
        assert!(truth.len() as u64 > TRADES / 4, "{symbol}: {} trades", truth.len());
        all += truth.len() as u64;
        assert_exact(&data_a, symbol, &truth);
        assert_exact(&data_b, symbol, &truth);
    }
    // The stream itself holds each trade once (plus the foreign message).
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream("PAIRDESK_MARKET").await.expect("stream");
    let info = stream.info().await.expect("stream info");
    assert_eq!(info.state.messages, all + 1, "the stream holds each trade once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_restarted_mid_stream_loses_and_doubles_nothing() {
    nats_restarted_mid_stream("-TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_killed_mid_stream_loses_and_doubles_nothing() {
    nats_restarted_mid_stream("-KILL").await;
}

/// Two ingests and a server; `nats-server` stopped with `signal` mid-stream, down 6 s, started
/// on its store again: every trade stored once, the stream holds each once, and the shared
/// state works again.
async fn nats_restarted_mid_stream(signal: &str) {
    let mut nats = Nats::start();
    let total = TRADES.to_string();
    let (_exchange, fx) = fake_exchange(&["--rate", "1000", "--max-trades", &total, "--duplicate-prob", "0.01"]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("a");
    let (server, base) = serve_nats(&nats.url, &data).await;
    let ingest_1 = ingest(&nats.url, fx);
    let ingest_2 = ingest(&nats.url, fx);
    until_generated(fx, TRADES / 3).await;
    nats.restart(signal, Duration::from_secs(6));
    wait_until_caught_up(fx, &base, &SYMBOLS, Duration::from_secs(120)).await;
    // The shared state came back too: a rule saved now goes through the bucket and is listed.
    let http = reqwest::Client::new();
    let rule = serde_json::json!({
        "name": "after the restart", "metric": "price", "comparison": "above", "threshold": 1e12,
        "view": {"x": "BTCUSDT", "y": "ETHUSDT", "interval_ms": 1000, "window": 10, "corr_window": 10},
    });
    let response = http.post(format!("{base}/api/alerts")).json(&rule).send().await.expect("save rule");
    assert_eq!(response.status().as_u16(), 200, "{}", response.text().await.unwrap_or_default());
    let rules = json_of(&http, &format!("{base}/api/alerts")).await;
    assert!(rules.as_array().is_some_and(|r| r.iter().any(|r| r["name"] == "after the restart")), "{rules}");
    drop((ingest_1, ingest_2));
    server.stop();
    let mut all = 0;
    for symbol in SYMBOLS {
        let truth = truth(fx, symbol).await;
        all += truth.len() as u64;
        assert_exact(&data, symbol, &truth);
    }
    let client = async_nats::connect(&nats.url).await.expect("test client");
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream("PAIRDESK_MARKET").await.expect("stream");
    assert_eq!(stream.info().await.expect("stream info").state.messages, all, "the stream holds each trade once");
}

#[test]
fn nats_down_at_start_is_a_clear_error_naming_the_url() {
    let url = format!("nats://127.0.0.1:{}", free_port());
    let dir = tempfile::tempdir().expect("tempdir");
    let runs = [
        Command::new(BIN).args(["ingest", "--nats", &url, "--symbols", "btcusdt"]).env("RUST_LOG", "off").output(),
        Command::new(BIN)
            .args(["serve", "--nats", &url, "--bind", &format!("127.0.0.1:{}", free_port())])
            .arg("--data-dir")
            .arg(dir.path())
            .env("RUST_LOG", "off")
            .output(),
    ];
    for output in runs {
        let output = output.expect("run pairdesk");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "exited 0: {stderr}");
        assert!(stderr.contains(&format!("cannot connect to NATS at {url}")), "{stderr}");
    }
}

/// A local webhook receiver: every body POSTed to `/hook`.
async fn webhook_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    use axum::routing::post;
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().expect("received").push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().expect("addr").port());
    tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver") });
    (url, received)
}

async fn json_of(http: &reqwest::Client, url: &str) -> serde_json::Value {
    let response = http.get(url).send().await.expect("get");
    assert_eq!(response.status().as_u16(), 200, "{url}");
    response.json().await.expect("json")
}

/// Polls `check` on `url`'s JSON until it holds (or panics after `within`, showing the body).
async fn until_json(
    http: &reqwest::Client,
    url: &str,
    within: Duration,
    what: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        let body = json_of(http, url).await;
        if check(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn lists(body: &serde_json::Value, key: &str, symbol: &str) -> bool {
    body[key].as_array().is_some_and(|a| a.iter().any(|s| s == symbol))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_made_on_one_server_fires_on_another_and_its_webhook_comes_once_and_symbols_are_shared() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let nats = Nats::start();
    let (_exchange, fx) = fake_exchange(&["--rate", "500", "--max-trades", "200000"]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (hook, received) = webhook_receiver().await;
    let rest = format!("http://127.0.0.1:{fx}");
    let extra = ["--allow-webhook-host", "127.0.0.1"];
    let (_server_a, a) = serve_nats_with(&nats.url, &dir.path().join("a"), Some(&rest), &extra).await;
    let (server_b, b) = serve_nats_with(&nats.url, &dir.path().join("b"), Some(&rest), &extra).await;
    let ingest_one = ingest_named(&nats.url, fx, &["--id", "ingest-one"]);
    let http = reqwest::Client::new();

    // A rule on A that fires on the first bar it sees (price > 0) and never clears.
    let rule = serde_json::json!({
        "name": "btc trades", "metric": "price", "comparison": "above", "threshold": 0.0,
        "view": {"x": "BTCUSDT", "y": "ETHUSDT", "interval_ms": 1000, "window": 10, "corr_window": 10},
        "webhook": hook,
    });
    let response = http.post(format!("{a}/api/alerts")).json(&rule).send().await.expect("save rule");
    assert_eq!(response.status().as_u16(), 200);
    let saved: serde_json::Value = response.json().await.expect("rule json");
    let id = saved["id"].as_str().expect("id").to_string();
    let has_rule = |body: &serde_json::Value| body.as_array().is_some_and(|r| r.iter().any(|r| r["id"] == *id));
    until_json(&http, &format!("{b}/api/alerts"), Duration::from_secs(5), "the rule listed on B", has_rule).await;
    // Both servers evaluate it and show its event; the webhook is sent by one of them.
    let fired = |body: &serde_json::Value| {
        body.as_array().is_some_and(|e| e.iter().any(|e| e["rule_id"] == *id && e["kind"] == "fired"))
    };
    let within = Duration::from_secs(30);
    let on_b = until_json(&http, &format!("{b}/api/alerts/events"), within, "the event on B", fired).await;
    let on_a = until_json(&http, &format!("{a}/api/alerts/events"), within, "the event on A", fired).await;
    let bar = |events: &serde_json::Value| {
        events.as_array().and_then(|e| e.iter().find(|e| e["rule_id"] == *id)).map(|e| e["t_ms"].clone())
    };
    assert_eq!(bar(&on_a), bar(&on_b), "both servers fired on the same bar");
    let deadline = Instant::now() + within;
    while received.lock().expect("received").is_empty() {
        assert!(Instant::now() < deadline, "no webhook received");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Long enough for a second copy (each server publishes its own) to arrive if it could.
    tokio::time::sleep(Duration::from_secs(4)).await;
    {
        let received = received.lock().expect("received");
        assert_eq!(received.len(), 1, "exactly one webhook: {received:?}");
        assert_eq!(received[0]["rule_id"], *id);
        assert_eq!(received[0]["t_ms"], bar(&on_a).expect("t"));
    }
    let (health_a, health_b) =
        (json_of(&http, &format!("{a}/api/health")).await, json_of(&http, &format!("{b}/api/health")).await);
    let count =
        |key: &str| [&health_a, &health_b].iter().map(|h| h["nats"]["alerts"][key].as_u64().expect(key)).sum::<u64>();
    assert_eq!(count("published"), 1, "the stream stored one event: {health_a} {health_b}");
    assert_eq!(count("duplicates"), 1, "the other server's copy was a duplicate");
    assert_eq!(count("webhooks_delivered"), 1);

    // B crashes and comes back: its rules start fresh, so it fires the still-active alert again
    // on a later bar (another message), which the cluster does not send a second time.
    server_b.crash();
    let (_server_b, b) = serve_nats_with(&nats.url, &dir.path().join("b"), Some(&rest), &extra).await;
    let first = bar(&on_a).and_then(|t| t.as_i64()).expect("t");
    let refired = |body: &serde_json::Value| {
        body.as_array().is_some_and(|e| e.iter().any(|e| e["rule_id"] == *id && e["t_ms"].as_i64() > Some(first)))
    };
    until_json(&http, &format!("{b}/api/alerts/events"), within, "B fires again after its restart", refired).await;
    let deadline = Instant::now() + within;
    loop {
        let (health_a, health_b) =
            (json_of(&http, &format!("{a}/api/health")).await, json_of(&http, &format!("{b}/api/health")).await);
        let repeats: u64 =
            [&health_a, &health_b].iter().map(|h| h["nats"]["alerts"]["repeats"].as_u64().expect("repeats")).sum();
        if repeats >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the repeat was not seen: {health_a} {health_b}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(received.lock().expect("received").len(), 1, "still exactly one webhook after B's restart");

    // A symbol added on A reaches B and the ingest, which publishes its trades.
    let response = http.post(format!("{a}/api/symbols")).json(&serde_json::json!({"symbol": "solusdt"})).send().await;
    assert_eq!(response.expect("add").status().as_u16(), 200);
    until_json(&http, &format!("{b}/api/symbols"), Duration::from_secs(5), "SOLUSDT on B", |b| {
        lists(b, "symbols", "SOLUSDT")
    })
    .await;
    let health = until_json(&http, &format!("{b}/api/health"), within, "SOLUSDT ingested and seen on B", |h| {
        let ingest = h["nats"]["ingests"]["recent"].as_array().and_then(|r| r.iter().find(|i| i["id"] == "ingest-one"));
        let sol = &h["nats"]["symbols"]["SOLUSDT"];
        ingest.is_some_and(|i| lists(i, "symbols", "SOLUSDT") && i["last_ids"]["SOLUSDT"].as_u64().is_some())
            && sol["stream_messages"].as_u64().is_some_and(|n| n > 0)
            && sol["last_id"].as_u64().is_some()
    })
    .await;
    let btc = &health["nats"]["symbols"]["BTCUSDT"];
    assert!(btc["behind_ids"].as_u64().is_some() && btc["stream_last_id"].as_u64().is_some(), "{health}");
    assert_eq!(health["nats"]["ingests"]["recent"].as_array().map(Vec::len), Some(1), "{health}");
    // Removed on B: gone from A and from what the ingest says it ingests.
    let response = http.delete(format!("{b}/api/symbols/SOLUSDT")).send().await.expect("remove");
    assert_eq!(response.status().as_u16(), 200);
    until_json(&http, &format!("{a}/api/symbols"), Duration::from_secs(5), "SOLUSDT gone from A", |a| {
        !lists(a, "symbols", "SOLUSDT") && lists(a, "symbols", "BTCUSDT")
    })
    .await;
    until_json(&http, &format!("{a}/api/health"), Duration::from_secs(10), "the ingest dropped SOLUSDT", |h| {
        h["nats"]["ingests"]["recent"]
            .as_array()
            .and_then(|r| r.iter().find(|i| i["id"] == "ingest-one"))
            .is_some_and(|i| !lists(i, "symbols", "SOLUSDT") && lists(i, "symbols", "ETHUSDT"))
    })
    .await;

    // Re-added while the only ingest running never ingested it: that ingest starts where the
    // stream stops for SOLUSDT and backfills the hole, so B's SOLUSDT ids have no gap.
    ingest_one.crash();
    let _ingest_two = ingest_named(&nats.url, fx, &["--id", "ingest-two"]);
    until_json(&http, &format!("{b}/api/health"), within, "ingest-two heard from", |h| {
        h["nats"]["ingests"]["recent"].as_array().is_some_and(|r| r.iter().any(|i| i["id"] == "ingest-two"))
    })
    .await;
    let stopped = json_of(&http, &format!("{b}/api/health")).await["nats"]["symbols"]["SOLUSDT"]["last_id"]
        .as_u64()
        .expect("SOLUSDT last id");
    let response = http.post(format!("{a}/api/symbols")).json(&serde_json::json!({"symbol": "SOLUSDT"})).send().await;
    assert_eq!(response.expect("re-add").status().as_u16(), 200);
    until_json(&http, &format!("{b}/api/health"), within, "SOLUSDT ingested again", |h| {
        h["nats"]["symbols"]["SOLUSDT"]["last_id"].as_u64().is_some_and(|id| id > stopped + 300)
    })
    .await;
    let csv = http.get(format!("{b}/api/export/ticks.csv?symbol=SOLUSDT")).send().await.expect("export");
    let ids: Vec<u64> =
        csv.text().await.expect("csv").lines().skip(1).filter_map(|l| l.split(',').nth(1)?.parse().ok()).collect();
    assert!(ids.len() > 300, "{} SOLUSDT ticks", ids.len());
    let holes: Vec<(u64, u64)> = ids.windows(2).filter(|w| w[1] != w[0] + 1).map(|w| (w[0], w[1])).collect();
    assert!(holes.is_empty(), "SOLUSDT ids jump at {holes:?} (stopped at {stopped})");
}

/// Best bid/ask and mark prices through NATS: two redundant ingests each publish every
/// quote; the server stores each once, exactly as an embedded server would (its 1s book bars
/// count `--book-updates-per-trade` updates per trade over whole seconds), and its mark feed
/// is live with funding settlements read from REST.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn book_and_mark_prices_come_through_nats_once_from_redundant_ingests() {
    const PER_TRADE: u64 = 3;
    let nats = Nats::start();
    let per_trade = PER_TRADE.to_string();
    let (_exchange, fx) =
        fake_exchange(&["--rate", "600", "--max-trades", "9000", "--book-updates-per-trade", &per_trade]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let rest = format!("http://127.0.0.1:{fx}");
    let (server, base) = serve_nats_with(&nats.url, &dir.path().join("a"), Some(&rest), &[]).await;
    let (ingest_1, ingest_2) = (ingest(&nats.url, fx), ingest(&nats.url, fx));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stats(fx).await.done {
        assert!(Instant::now() < deadline, "the exchange did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_until_caught_up(fx, &base, &SYMBOLS, Duration::from_secs(60)).await;
    // The last quotes travel beside the trades; give them a moment.
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let http = reqwest::Client::new();
    let health = json_of(&http, &format!("{base}/api/health")).await;
    for feed in ["book", "mark"] {
        assert_eq!(health[feed]["state"], "live", "{feed}: {health}");
        assert!(health[feed]["counters"]["events"].as_u64() > Some(0), "{feed}: {health}");
    }
    // Each quote came twice (one per ingest); the second copy was dropped.
    assert!(health["book"]["counters"]["stale"].as_u64() > Some(0), "{health}");

    let export = |what: &str| format!("{base}/api/export/{what}");
    let text = |url: String| {
        let http = http.clone();
        async move { http.get(url).send().await.expect("export").text().await.expect("csv") }
    };
    let book = text(export("book.csv?symbol=BTCUSDT&interval=1s")).await;
    let rows: Vec<(i64, u64)> = book
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',');
            Some((f.next()?.parse().ok()?, f.nth(3)?.parse().ok()?))
        })
        .collect();
    // Whole seconds: after the first (the ingests connected within it) and before the last
    // trade's (its bar may still be forming).
    let last_trade = trade_time(fx, "BTCUSDT", *truth(fx, "BTCUSDT").await.last().expect("trades")).await;
    let (from, to) = (rows.first().map_or(0, |r| r.0) + 1_000, (last_trade / 1_000) * 1_000);
    assert!(to - from >= 3_000, "too short a run: {from}..{to}: {book}");
    let updates: u64 = rows.iter().filter(|(t, _)| (from..to).contains(t)).map(|(_, n)| n).sum();
    let ticks = text(export(&format!("ticks.csv?symbol=BTCUSDT&from={from}&to={to}"))).await.lines().count() as u64 - 1;
    assert!(ticks > 0);
    assert_eq!(updates, PER_TRADE * ticks, "{ticks} trades × {PER_TRADE} quotes in {from}..{to}");
    // Funding settlements from REST, as embedded.
    let funding = text(export("funding.csv?symbol=BTCUSDT")).await;
    assert!(funding.lines().count() > 1, "{funding}");
    drop((ingest_1, ingest_2));
    server.stop();
}

async fn datasets(http: &reqwest::Client, base: &str) -> Vec<serde_json::Value> {
    json_of(http, &format!("{base}/api/datasets")).await["datasets"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_data_set_is_listed_on_every_server_and_deleted_everywhere() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let nats = Nats::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server_a, a) = serve_nats(&nats.url, &dir.path().join("a")).await;
    let (_server_b, b) = serve_nats(&nats.url, &dir.path().join("b")).await;
    let http = reqwest::Client::new();
    let (content_type, body) = support::upload_form("binance_um_BTCUSDT_1m_header.csv");
    let response = http.post(format!("{a}/api/datasets")).header("content-type", content_type).body(body).send().await;
    let response = response.expect("upload");
    assert_eq!(response.status().as_u16(), 201);
    let uploaded: serde_json::Value = response.json().await.expect("json");
    let (id_a, name, rows) = (
        uploaded["datasets"][0]["id"].as_u64().expect("id"),
        uploaded["datasets"][0]["name"].clone(),
        uploaded["datasets"][0]["rows"].as_u64().expect("rows"),
    );
    assert!(rows > 0);
    // A foreign object in the store: counted and skipped by every server.
    let client = async_nats::connect(&nats.url).await.expect("test client");
    let objects = async_nats::jetstream::new(client).get_object_store("PAIRDESK_DATASETS").await.expect("store");
    objects.put("foreign", &mut &b"not a data set"[..]).await.expect("put foreign");

    let copy_on = |base: String| {
        let http = http.clone();
        let name = name.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                let listed = datasets(&http, &base).await;
                if let Some(copy) = listed.iter().find(|d| d["name"] == name) {
                    assert_eq!(listed.len(), 1, "{listed:?}");
                    assert_eq!(copy["rows"].as_u64(), Some(rows), "{copy}");
                    return copy["id"].as_u64().expect("id");
                }
                assert!(Instant::now() < deadline, "the data set is not listed on {base}: {listed:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let id_b = copy_on(b.clone()).await;
    let bars_b = json_of(&http, &format!("{b}/api/datasets/{id_b}/bars")).await;
    let bars_a = json_of(&http, &format!("{a}/api/datasets/{id_a}/bars")).await;
    assert!(bars_a["bars"].as_array().is_some_and(|bars| bars.len() as u64 == rows), "{bars_a}");
    assert_eq!(bars_b["bars"], bars_a["bars"], "B's copy has A's bars");
    // A server started afterwards gets it too.
    let (_server_c, c) = serve_nats(&nats.url, &dir.path().join("c")).await;
    let id_c = copy_on(c.clone()).await;
    until_json(&http, &format!("{c}/api/health"), Duration::from_secs(10), "the foreign object refused", |h| {
        h["nats"]["datasets"]["refused"].as_u64().is_some_and(|n| n >= 1)
    })
    .await;
    assert_eq!(datasets(&http, &a).await.len(), 1, "A did not import its own upload back");

    let response = http.delete(format!("{b}/api/datasets/{id_b}")).send().await.expect("delete");
    assert_eq!(response.status().as_u16(), 204);
    for base in [&a, &c] {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !datasets(&http, base).await.is_empty() {
            assert!(Instant::now() < deadline, "the data set is still listed on {base}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let gone = http.get(format!("{c}/api/datasets/{id_c}")).send().await.expect("get");
    assert_eq!(gone.status().as_u16(), 404);
}
