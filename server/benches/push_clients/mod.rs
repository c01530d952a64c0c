//! Tick-to-browser latency as browsers see it, shared by the benches that report it
//! (`push_latency`, `cluster`): WebSocket clients that subscribe to BTCUSDT/ETHUSDT at 1s like
//! a page, and for every `prices` message the latency is the client's wall clock minus the
//! exchange time of the newest trade in it (trade generated → … → pushed → received). Both
//! clocks are this machine's; trade times have millisecond resolution, so each sample may
//! read up to 1 ms high. Also the process helpers those benches share.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use app::protocol::ServerMsg;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

pub fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

pub fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1e3).unwrap_or(0.0)
}

/// Kills the child if the bench panics.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `program args…` with its output discarded (`RUST_LOG=warn` for pairdesk).
pub fn spawn_program(program: &std::path::Path, args: &[String]) -> Process {
    let mut command = Command::new(program);
    command.args(args).env("RUST_LOG", "warn").stdout(Stdio::null()).stderr(Stdio::null());
    Process(command.spawn().unwrap_or_else(|e| panic!("spawn {}: {e}", program.display())))
}

/// (user + system CPU seconds, RSS MB) of a process.
pub fn cpu_and_rss(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    (cpu, rss_kb / 1024)
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Waits until `/ws` at `url` accepts a connection.
pub async fn wait_for_ws(url: &str, within: Duration) {
    let started = Instant::now();
    while tokio_tungstenite::connect_async(url).await.is_err() {
        assert!(started.elapsed() < within, "{url} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the clients of one server received over the measured window.
pub struct Latencies {
    /// Milliseconds, sorted.
    pub samples: Vec<f64>,
    /// Every message received in the window.
    pub messages: u64,
    pub clients: usize,
}

impl Latencies {
    pub fn p(&self, p: f64) -> f64 {
        percentile(&self.samples, p)
    }

    /// `N price updates (x/s per client), M messages; latency p50 …, p90 …, p99 …, max …`.
    pub fn summary(&self, secs: u64) -> String {
        format!(
            "{} price updates ({:.1}/s per client), {} messages; latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            self.samples.len(),
            self.samples.len() as f64 / self.clients.max(1) as f64 / secs.max(1) as f64,
            self.messages,
            self.p(0.5),
            self.p(0.9),
            self.p(0.99),
            self.samples.last().copied().unwrap_or(f64::NAN),
        )
    }
}

/// Opens `clients` sockets to `ws_url` now, subscribes each to BTCUSDT/ETHUSDT at 1s, and
/// records the latency of every price update received between `from` and `until`.
pub async fn measure(ws_url: &str, clients: usize, from: Instant, until: Instant) -> Latencies {
    // Written as JSON (not `ClientMsg`) so it stays a plain page subscription whatever
    // optional fields the protocol grows.
    let subscribe = r#"{"type":"subscribe","x":"BTCUSDT","y":"ETHUSDT","interval_ms":1000}"#;
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let url = ws_url.to_string();
        tasks.push(tokio::spawn(async move {
            let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.expect("client connect");
            socket.send(Message::Text(subscribe.into())).await.expect("subscribe");
            let mut latencies = Vec::new();
            let mut messages = 0u64;
            loop {
                let deadline = tokio::time::Instant::from_std(until);
                let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, socket.next()).await else { break };
                let received = now_ms();
                let Message::Text(text) = message else { continue };
                if Instant::now() < from {
                    continue;
                }
                messages += 1;
                if let Ok(ServerMsg::Prices { x, y }) = serde_json::from_str::<ServerMsg>(&text) {
                    if let Some(t) = x.iter().chain(y.iter()).map(|p| p.t_ms).max() {
                        latencies.push(received - t as f64);
                    }
                }
            }
            (latencies, messages)
        }));
    }
    let mut samples = Vec::new();
    let mut messages = 0;
    for task in tasks {
        let (latencies, count) = task.await.expect("client task");
        samples.extend(latencies);
        messages += count;
    }
    samples.sort_by(f64::total_cmp);
    Latencies { samples, messages, clients }
}
