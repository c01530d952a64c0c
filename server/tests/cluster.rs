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

mod pipeline_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

    /// Stops the server (SIGTERM, as an operator's restart), stays down for `down`, starts
    /// it again on the same port and store.
    fn restart(&mut self, down: Duration) {
        let pid = self.child.0.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM").success());
        self.child.0.wait().expect("reap nats-server");
        std::thread::sleep(down);
        self.child = Self::spawn(self.dir.path(), self.port);
    }
}

/// `$NATS_SERVER`, else `nats-server` on PATH, else Debian's `/usr/sbin/nats-server` (a PATH
/// without sbin still finds it).
fn nats_server_binary() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return path.into();
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("nats-server")).find(|b| b.is_file()))
        .unwrap_or_default();
    on_path.unwrap_or_else(|| "/usr/sbin/nats-server".into())
}

/// `pairdesk ingest` of BTC and ETH from the fake exchange into `nats`.
fn ingest(nats: &str, fx: u16) -> ChildGuard {
    let child = Command::new(BIN)
        .args(["ingest", "--nats", nats, "--symbols", "btcusdt,ethusdt"])
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
        .args(["--binance-rest-url", &format!("http://127.0.0.1:{dead}")])
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
    let mut nats = Nats::start();
    let total = TRADES.to_string();
    let (_exchange, fx) = fake_exchange(&["--rate", "1000", "--max-trades", &total, "--duplicate-prob", "0.01"]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("a");
    let (server, base) = serve_nats(&nats.url, &data).await;
    let ingest_1 = ingest(&nats.url, fx);
    let ingest_2 = ingest(&nats.url, fx);
    until_generated(fx, TRADES / 3).await;
    nats.restart(Duration::from_secs(6));
    wait_until_caught_up(fx, &base, &SYMBOLS, Duration::from_secs(120)).await;
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
