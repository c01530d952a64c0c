//! Helpers shared by the integration tests: a `pairdesk` process and a headless browser.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when the guard drops, so a failing test leaves nothing behind.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// reqwest here uses rustls without a built-in provider: choose ring once per process.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// `app/tests/golden` in this repository (or `$PAIRDESK_GOLDEN_DIR`); fails loudly if absent.
pub fn golden_dir() -> PathBuf {
    let dir = std::env::var_os("PAIRDESK_GOLDEN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../app/tests/golden")));
    assert!(
        dir.join("fixtures/expected.json").is_file(),
        "golden cases not found at {} (set PAIRDESK_GOLDEN_DIR)",
        dir.display()
    );
    dir
}

/// A CSV fixture of `app/tests/golden/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    golden_dir().join("fixtures").join(name)
}

/// A `multipart/form-data` body with one fixture as its `file` field: (content type, body).
pub fn upload_form(file_name: &str) -> (String, Vec<u8>) {
    let path = fixture(file_name);
    multipart_file(file_name, &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("no free port")
}

/// `target/site`, where `make bundle` (Trunk) puts the browser bundle.
pub fn site_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site");
    assert!(
        root.join("pkg/frontend_bg.wasm").exists(),
        "browser bundle missing at {}: run `make bundle` (trunk build --release) first",
        root.display()
    );
    root
}

/// A running `pairdesk serve` on a free loopback port with its own data dir.
pub struct Server {
    pub base_url: String,
    pub data_dir: tempfile::TempDir,
    _child: ChildGuard,
}

impl Server {
    /// The server's process id (benchmarks read its RSS and CPU time).
    pub fn pid(&self) -> u32 {
        self._child.0.id()
    }

    /// With the browser bundle (`make bundle` first).
    pub async fn start(extra_args: &[&str]) -> Server {
        Self::start_with_site(site_root(), extra_args).await
    }

    /// Without a bundle: the HTTP API and `/ws` only.
    pub async fn start_api_only(extra_args: &[&str]) -> Server {
        Self::start_with_site(PathBuf::from("/nonexistent-site-root"), extra_args).await
    }

    async fn start_with_site(site_root: PathBuf, extra_args: &[&str]) -> Server {
        install_crypto_provider();
        let port = free_port();
        let data_dir = tempfile::tempdir().expect("tempdir");
        let child = Command::new(env!("CARGO_BIN_EXE_pairdesk"))
            .arg("serve")
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir.path())
            .arg("--site-root")
            .arg(site_root)
            .args(extra_args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn pairdesk");
        let base_url = format!("http://127.0.0.1:{port}");
        wait_for_http(&format!("{base_url}/healthz")).await;
        Server { base_url, data_dir, _child: ChildGuard(child) }
    }
}

/// `pairdesk serve` on `port` and `data_dir` without a bundle, with `extra_args`. Unless
/// `extra_args` has `--demo`, every exchange URL points at a port nobody listens on and
/// `--history 0`: no test reaches Binance. Wait for it with [`wait_for_http`].
pub fn spawn_serve(port: u16, data_dir: &std::path::Path, extra_args: &[&str]) -> ChildGuard {
    install_crypto_provider();
    let mut command = Command::new(env!("CARGO_BIN_EXE_pairdesk"));
    command
        .arg("serve")
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--site-root", "/nonexistent-site-root"]);
    if !extra_args.contains(&"--demo") {
        let dead = free_port();
        command
            .args(["--history", "0"])
            .args(["--binance-ws-url", &format!("ws://127.0.0.1:{dead}/market")])
            .args(["--binance-public-ws-url", &format!("ws://127.0.0.1:{dead}/public")])
            .args(["--binance-rest-url", &format!("http://127.0.0.1:{dead}")]);
    }
    let child =
        command.args(extra_args).env("RUST_LOG", "error").stdout(Stdio::null()).spawn().expect("spawn pairdesk");
    ChildGuard(child)
}

pub async fn wait_for_http(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if reqwest::get(url).await.map(|r| r.status().is_success()).unwrap_or(false) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not answer within 20 s");
}

/// A headless Chromium driven over WebDriver by chromedriver, with a fresh profile.
pub struct Browser {
    pub client: fantoccini::Client,
    _driver: ChildGuard,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver not found: run `make setup-test` (installs chromium-driver)");
        let driver = ChildGuard(driver);
        let profile = tempfile::tempdir().expect("profile dir");
        let args = serde_json::json!([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--window-size=1280,900",
            format!("--user-data-dir={}", profile.path().display()),
        ]);
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), serde_json::json!({ "binary": "/usr/bin/chromium", "args": args }));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(err) if Instant::now() > deadline => panic!("cannot start chromium via chromedriver: {err}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Browser { client, _driver: driver, _profile: profile }
    }

    /// Text of the element with this `data-testid`.
    pub async fn text(&self, testid: &str) -> String {
        let el = self
            .client
            .find(fantoccini::Locator::Css(&format!("[data-testid='{testid}']")))
            .await
            .unwrap_or_else(|e| panic!("no element [data-testid={testid}]: {e}"));
        el.text().await.expect("element text")
    }

    /// Waits until the page hydrated, opened `/ws` and reports a live exchange feed.
    pub async fn wait_until_live(&self, what: &str, timeout: Duration) {
        self.wait_for(what, timeout, || async { self.text("connection-status").await.contains("live").then_some(()) })
            .await;
    }

    /// Clicks the element with this `data-testid`.
    pub async fn click(&self, testid: &str) {
        let el = self
            .client
            .find(fantoccini::Locator::Css(&format!("[data-testid='{testid}']")))
            .await
            .unwrap_or_else(|e| panic!("no element [data-testid={testid}]: {e}"));
        el.click().await.unwrap_or_else(|e| panic!("cannot click [data-testid={testid}]: {e}"));
    }

    /// Picks the first option of the `<select>` with this `data-testid` whose text contains `text`.
    pub async fn select_containing(&self, testid: &str, text: &str) {
        let css = format!("[data-testid='{testid}'] option");
        for option in self.client.find_all(fantoccini::Locator::Css(&css)).await.expect("options") {
            if option.text().await.expect("option text").contains(text) {
                option.click().await.expect("select");
                return;
            }
        }
        panic!("no option containing {text} in [data-testid={testid}]");
    }

    /// Chooses `path` in the Upload page's file input and submits it.
    pub async fn upload(&self, path: &std::path::Path) {
        let input =
            self.client.find(fantoccini::Locator::Css("[data-testid='upload-file']")).await.expect("file input");
        input.clear().await.expect("clear the file input");
        let absolute = path.canonicalize().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        input.send_keys(&absolute.display().to_string()).await.expect("choose file");
        self.click("upload-submit").await;
    }

    pub async fn attr(&self, testid: &str, attr: &str) -> Option<String> {
        let el = self.client.find(fantoccini::Locator::Css(&format!("[data-testid='{testid}']"))).await.ok()?;
        el.attr(attr).await.ok().flatten()
    }

    /// Polls `check` until it returns Some, or panics with `what` after `timeout`.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, timeout: Duration, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = check().await {
                return value;
            }
            if Instant::now() > deadline {
                panic!("timed out after {timeout:?} waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e");
        std::fs::create_dir_all(&dir).expect("create target/e2e");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// A one-file `multipart/form-data` body (field `file`): (content type, bytes).
pub fn multipart_file(file_name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "pairdesk-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A standalone `pairdesk fake-exchange` on a free port (no klines history unless `extra`
/// says so); returns it and its `host:port`.
pub async fn fake_exchange(extra: &[&str]) -> (ChildGuard, String) {
    install_crypto_provider();
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_pairdesk"))
        .args(["fake-exchange", "--bind", &addr, "--history", "0"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn fake exchange");
    wait_for_http(&format!("http://{addr}/fapi/v1/premiumIndex")).await;
    (ChildGuard(child), addr)
}

/// `pairdesk serve` (API only) ingesting every stream from the fake exchange at `fake`.
pub async fn serve_against(fake: &str, extra: &[&str]) -> Server {
    let (market, public, rest) =
        (format!("ws://{fake}/market"), format!("ws://{fake}/public"), format!("http://{fake}"));
    let mut args = vec![
        "--history",
        "0",
        "--binance-ws-url",
        &market,
        "--binance-public-ws-url",
        &public,
        "--binance-rest-url",
        &rest,
    ];
    args.extend_from_slice(extra);
    Server::start_api_only(&args).await
}

/// Run `pairdesk <cmd> <args…>` to completion (logging off) and return its output.
pub fn pairdesk_cmd<S: AsRef<std::ffi::OsStr>>(cmd: &str, args: &[S]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pairdesk"))
        .arg(cmd)
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .expect("spawn pairdesk")
}

/// Three headerless Binance kline files (600 one-minute bars each, written to `dir` and
/// returned as (file name, bytes)): a random walk and two legs cointegrated with it.
pub fn basket_files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 10_000) as f64 / 10_000.0 - 0.5
    };
    let (mut x, mut u, mut v) = (100.0, 0.0, 0.0);
    let mut legs = [String::new(), String::new(), String::new()];
    for i in 0..600i64 {
        x += noise();
        u = 0.8 * u + 0.3 * noise();
        v = 0.7 * v + 0.2 * noise();
        let t = 1_700_000_000_000 + i * 60_000;
        for (leg, p) in legs.iter_mut().zip([x, 0.5 * x + 20.0 + u, 2.0 * x - 30.0 + v]) {
            let p = format!("{p:.6}");
            leg.push_str(&format!("{t},{p},{p},{p},{p},10.0,{},1000.0,5,5.0,500.0,0\n", t + 59_999));
        }
    }
    ["AAAUSDT", "BBBUSDT", "CCCUSDT"]
        .iter()
        .zip(legs)
        .map(|(symbol, text)| {
            let name = format!("binance_um_{symbol}_1m_basket.csv");
            std::fs::write(dir.join(&name), &text).expect("write a leg");
            (name, text.into_bytes())
        })
        .collect()
}
