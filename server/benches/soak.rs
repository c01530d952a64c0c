//! Soak (issue 11), a load generator printing a report; figures go to BENCHMARKS.md
//! ("## Soak").
//!
//! ```text
//! cargo bench -p server --bench soak                          # 500 clients, 10 minutes
//! PAIRDESK_SOAK_CLIENTS=100 PAIRDESK_SOAK_SECS=60 cargo bench -p server --bench soak
//! ```
//!
//! `pairdesk fake-exchange` (3 symbols, 5 000 trades/s in all, best bid/ask on `/public`) and
//! `pairdesk serve` ingesting from it, as separate processes. `CLIENTS` browser WebSockets
//! subscribe to BTCUSDT/ETHUSDT (every fifth at 1m, the rest at 1s, each with OLS analytics);
//! meanwhile, every 5 s, a pair of CSVs is uploaded, analysed and deleted. Every minute the
//! server's RSS is printed; at the end the push latency (client clock − exchange time of the
//! newest trade in each `prices` message) and the errors: failed or refused API calls and
//! sockets that ended before the run did. A healthy run has a flat RSS and 0 errors.

#[path = "push_clients/mod.rs"]
mod push_clients;
#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::protocol::ServerMsg;
use futures_util::{SinkExt, StreamExt};
use push_clients::{cpu_and_rss, env_count, now_ms, percentile};
use support::{fixture, multipart_file};
use tokio_tungstenite::tungstenite::Message;

/// Upload both fixtures, analyse them, delete them; `false` on any failure.
async fn upload_analyse_delete(http: &reqwest::Client, base: &str) -> bool {
    let mut ids = Vec::new();
    for name in ["binance_um_BTCUSDT_1m_header.csv", "binance_um_ETHUSDT_1m_noheader.csv"] {
        let bytes = std::fs::read(fixture(name)).expect("fixture");
        let (content_type, body) = multipart_file(name, &bytes);
        let Ok(response) = http
            .post(format!("{base}/api/datasets"))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
        else {
            return false;
        };
        if response.status() != 201 {
            return false;
        }
        let Ok(value) = response.json::<serde_json::Value>().await else { return false };
        let Some(id) = value["datasets"][0]["id"].as_u64() else { return false };
        ids.push(id);
    }
    let request = serde_json::json!({"x": {"dataset": ids[0]}, "y": {"dataset": ids[1]}});
    let analysed = http.post(format!("{base}/api/analyze")).json(&request).send().await;
    let mut ok = analysed.is_ok_and(|r| r.status() == 200);
    for id in ids {
        ok &= http.delete(format!("{base}/api/datasets/{id}")).send().await.is_ok_and(|r| r.status().is_success());
    }
    ok
}

fn main() {
    let clients = env_count("PAIRDESK_SOAK_CLIENTS", 500) as usize;
    let secs = env_count("PAIRDESK_SOAK_SECS", 600);
    let rate = env_count("PAIRDESK_SOAK_RATE", 5_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async move {
        support::install_crypto_provider();
        let per_symbol = format!("{}", rate as f64 / 3.0);
        let (_exchange, fake) = support::fake_exchange(&["--rate", &per_symbol]).await;
        let server = support::serve_against(&fake, &["--symbols", "btcusdt,ethusdt,solusdt"]).await;
        let base = server.base_url.clone();
        let pid = server.pid();
        tokio::time::sleep(Duration::from_secs(3)).await;

        let started = Instant::now();
        let until = started + Duration::from_secs(secs);
        let socket_errors = Arc::new(AtomicU64::new(0));
        let url = format!("{}/ws", base.replace("http://", "ws://"));
        let mut tasks = Vec::with_capacity(clients);
        for i in 0..clients {
            let (url, errors) = (url.clone(), socket_errors.clone());
            let interval_ms = if i % 5 == 0 { 60_000 } else { 1_000 };
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let Ok((mut socket, _)) = tokio_tungstenite::connect_async(&url).await else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    return latencies;
                };
                let subscribe = serde_json::json!({"type": "subscribe", "x": "BTCUSDT", "y": "ETHUSDT",
                    "interval_ms": interval_ms, "analytics": {"window": 60, "corr_window": 30, "hedge": "ols"}});
                if socket.send(Message::Text(subscribe.to_string().into())).await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                    return latencies;
                }
                let deadline = tokio::time::Instant::from_std(until);
                let mut seen_snapshot_prices = false;
                loop {
                    match tokio::time::timeout_at(deadline, socket.next()).await {
                        Err(_) => break, // the run is over
                        Ok(Some(Ok(Message::Text(text)))) => {
                            let received = now_ms();
                            if let Ok(ServerMsg::Prices { x, y }) = serde_json::from_str::<ServerMsg>(&text) {
                                // The snapshot's prices carry their bar's open time, not a trade's.
                                if !seen_snapshot_prices {
                                    seen_snapshot_prices = true;
                                    continue;
                                }
                                if let Some(t) = x.iter().chain(y.iter()).map(|p| p.t_ms).max() {
                                    latencies.push(received - t as f64);
                                }
                            }
                        }
                        Ok(Some(Ok(_))) => {}
                        Ok(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
                latencies
            }));
        }

        let http = reqwest::Client::new();
        let (mut api_calls, mut api_errors) = (0u64, 0u64);
        let mut rss = vec![(0u64, server_rss(pid))];
        let mut next_minute = started + Duration::from_secs(60);
        while Instant::now() < until {
            api_calls += 1;
            if !upload_analyse_delete(&http, &base).await {
                api_errors += 1;
            }
            if Instant::now() >= next_minute {
                let minute = started.elapsed().as_secs() / 60;
                let mb = server_rss(pid);
                println!("soak: minute {minute}: server RSS {mb} MB");
                rss.push((minute, mb));
                next_minute += Duration::from_secs(60);
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap_or_default());
        }
        all.sort_by(f64::total_cmp);
        rss.push((secs / 60, server_rss(pid)));
        let healthy = reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status() == 200);
        println!(
            "soak: {clients} clients, {rate} trades/s, {secs} s: {} price updates; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
             {api_calls} upload+analyse+delete rounds, {api_errors} failed; {} socket errors; RSS by minute {:?} MB; healthz {}",
            all.len(),
            percentile(&all, 0.5),
            percentile(&all, 0.99),
            all.last().copied().unwrap_or(f64::NAN),
            socket_errors.load(Ordering::Relaxed),
            rss.iter().map(|(_, mb)| *mb).collect::<Vec<_>>(),
            if healthy { "ok" } else { "FAILED" },
        );
    });
}

/// The server's resident memory, MB.
fn server_rss(pid: u32) -> u64 {
    cpu_and_rss(pid).1
}
