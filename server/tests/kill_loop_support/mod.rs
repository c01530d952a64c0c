//! The kill loop of issue 11, shared by `tests/kill_loop.rs` (3 kills) and
//! `benches/kill_loop.rs` (20, with a printed report): `pairdesk serve` ingests from
//! `pairdesk fake-exchange` while a client uploads data sets and saves alert rules as fast as
//! they are answered; after a random 0.4–2.4 s the server gets SIGKILL and is started again on
//! the same data directory. After every restart the store must be consistent:
//!
//! * ticks: each symbol's stored ids are one contiguous run of the exchange's ground truth
//!   (`/debug/ids`): no gap, no duplicate, and every trade made before the kill is back (the
//!   backfill closes the hole);
//! * every acknowledged upload (201) is listed with all its bars, every acknowledged rule
//!   (200) is listed; nothing half-written: every listed data set reads back whole (an upload
//!   killed before its answer may be there or not, never in part).
//!
//! At the end the server is stopped cleanly and the database read with `pairdesk export`:
//! the same tick check, and every bar interval (1s, 1m, 5m) counts each stored trade once.
//! Requires the crate roots to declare `mod pipeline_support; mod support;`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::pipeline_support::{bar_trade_count, fake_exchange, serve_with, stored_ids, truth};

pub const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];

pub struct Config {
    pub kills: usize,
    /// Trades per second per symbol at the exchange (three symbols, two ingested).
    pub rate: u64,
    pub seed: u64,
}

/// One restart.
pub struct Cycle {
    /// Until `/healthz` answered after the restart.
    pub up_ms: u128,
    /// Until every trade made before the kill was stored again.
    pub caught_up_ms: u128,
    pub ticks: usize,
    pub uploads_acked: usize,
    pub rules_acked: usize,
    /// Data sets listed that no 201 announced (killed before the answer, stored whole).
    pub unannounced_uploads: usize,
}

pub struct Report {
    pub cycles: Vec<Cycle>,
    /// Stored ids per symbol at the end (checked with `pairdesk export`).
    pub final_ticks: BTreeMap<String, usize>,
    /// Every inconsistency found; empty on a good run.
    pub violations: Vec<String>,
}

#[derive(Default)]
struct Acked {
    /// Data set id → rows, from the 201.
    uploads: BTreeMap<u64, u64>,
    /// Rule id → name, from the 200.
    rules: BTreeMap<String, String>,
}

/// Deterministic jitter (no rand dependency in the tests): xorshift.
struct Jitter(u64);

impl Jitter {
    fn next_ms(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo)
    }
}

async fn json_of(http: &reqwest::Client, url: &str) -> Option<Value> {
    http.get(url).send().await.ok()?.json().await.ok()
}

/// Ids the running server has stored for `symbol` (its own export).
async fn served_ids(http: &reqwest::Client, base: &str, symbol: &str) -> Vec<u64> {
    let url = format!("{base}/api/export/ticks.csv?symbol={symbol}");
    let text = http.get(url).send().await.expect("export").text().await.expect("csv");
    text.lines().skip(1).filter_map(|l| l.split(',').nth(1)?.parse().ok()).collect()
}

/// Why `stored` is not one contiguous run of `truth`, if it is not.
pub fn gapless(symbol: &str, stored: &[u64], truth: &[u64]) -> Option<String> {
    let first = *stored.first()?;
    let Some(start) = truth.iter().position(|&id| id == first) else {
        return Some(format!("{symbol}: first stored id {first} is not one the exchange made"));
    };
    let expected = truth.get(start..start + stored.len());
    if expected == Some(stored) {
        return None;
    }
    let at = stored.iter().zip(&truth[start..]).position(|(a, b)| a != b).unwrap_or(truth.len() - start);
    Some(format!(
        "{symbol}: stored ids differ from the exchange's from position {at} (stored {:?}, exchange {:?})",
        stored.get(at),
        truth.get(start + at)
    ))
}

/// Uploads and rule saves, one after the other, until aborted; records every acknowledgement.
async fn workload(base: String, acked: Arc<Mutex<Acked>>, round: usize) {
    let http = reqwest::Client::new();
    let (content_type, body) = crate::support::upload_form("binance_um_BTCUSDT_1m_header.csv");
    for i in 0.. {
        let upload = http.post(format!("{base}/api/datasets")).header("content-type", &content_type).body(body.clone());
        if let Ok(response) = upload.send().await {
            if response.status() == 201 {
                if let Ok(answer) = response.json::<Value>().await {
                    let set = &answer["datasets"][0];
                    if let (Some(id), Some(rows)) = (set["id"].as_u64(), set["rows"].as_u64()) {
                        acked.lock().expect("acked").uploads.insert(id, rows);
                    }
                }
            }
        }
        let name = format!("kill-{round}-{i}");
        let rule = json!({
            "name": name, "metric": "price", "comparison": "above", "threshold": 1.0 + i as f64,
            "view": {"x": "BTCUSDT", "y": "ETHUSDT", "interval_ms": 1000, "window": 10, "corr_window": 10}
        });
        if let Ok(response) = http.post(format!("{base}/api/alerts")).json(&rule).send().await {
            if response.status() == 200 {
                if let Ok(saved) = response.json::<Value>().await {
                    if let Some(id) = saved["id"].as_str() {
                        acked.lock().expect("acked").rules.insert(id.to_string(), name);
                    }
                }
            }
        }
    }
}

/// Checks what the restarted server at `base` serves against what was acknowledged.
async fn check_api(http: &reqwest::Client, base: &str, acked: &Acked, violations: &mut Vec<String>) -> usize {
    let listed = json_of(http, &format!("{base}/api/datasets")).await.unwrap_or(Value::Null);
    let listed: BTreeMap<u64, u64> = listed["datasets"]
        .as_array()
        .map(|sets| sets.iter().filter_map(|d| Some((d["id"].as_u64()?, d["rows"].as_u64()?))).collect())
        .unwrap_or_default();
    for (id, rows) in &acked.uploads {
        if listed.get(id) != Some(rows) {
            violations.push(format!("acknowledged upload {id} ({rows} rows) is not listed as such"));
        }
    }
    for (id, rows) in &listed {
        let bars = json_of(http, &format!("{base}/api/datasets/{id}/bars")).await.unwrap_or(Value::Null);
        let read = bars["bars"].as_array().map_or(0, Vec::len) as u64;
        if read != *rows {
            violations.push(format!("data set {id} reads back {read} of its {rows} bars (half-written)"));
        }
    }
    let rules = json_of(http, &format!("{base}/api/alerts")).await.unwrap_or(Value::Null);
    let rules: BTreeMap<String, String> = rules
        .as_array()
        .map(|all| {
            all.iter().filter_map(|r| Some((r["id"].as_str()?.to_string(), r["name"].as_str()?.to_string()))).collect()
        })
        .unwrap_or_default();
    for (id, name) in &acked.rules {
        if rules.get(id) != Some(name) {
            violations.push(format!("acknowledged rule {id} ({name}) is not listed"));
        }
    }
    listed.keys().filter(|id| !acked.uploads.contains_key(id)).count()
}

pub async fn run(config: &Config) -> Report {
    crate::support::install_crypto_provider();
    let seed = config.seed.to_string();
    let rate = config.rate.to_string();
    let (_exchange, fx) = fake_exchange(&["--rate", &rate, "--seed", &seed]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let flags = ["--history", "0", "--max-datasets", "100000", "--max-alert-rules", "100000"];
    let http = reqwest::Client::new();
    let acked = Arc::new(Mutex::new(Acked::default()));
    let mut jitter = Jitter(config.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut cycles = Vec::new();
    let mut violations = Vec::new();
    // The exchange's last id per symbol when the server was last killed.
    let mut made_before_kill: BTreeMap<&str, u64> = BTreeMap::new();
    for round in 0..=config.kills {
        let started = Instant::now();
        let (server, base) = serve_with(fx, &data, "btcusdt,ethusdt", &flags).await;
        let up_ms = started.elapsed().as_millis();
        // Every trade made before the kill comes back (the backfill closes the hole).
        let deadline = Instant::now() + Duration::from_secs(60);
        for (symbol, last) in &made_before_kill {
            while served_ids(&http, &base, symbol).await.last().is_none_or(|id| id < last) {
                if Instant::now() > deadline {
                    violations.push(format!("round {round}: {symbol} trade {last} not stored again within 60 s"));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let caught_up_ms = started.elapsed().as_millis();
        let mut ticks = 0;
        for symbol in SYMBOLS {
            let stored = served_ids(&http, &base, symbol).await;
            ticks += stored.len();
            if let Some(problem) = gapless(symbol, &stored, &truth(fx, symbol).await) {
                violations.push(format!("round {round}: {problem}"));
            }
        }
        let snapshot = {
            let acked = acked.lock().expect("acked");
            Acked { uploads: acked.uploads.clone(), rules: acked.rules.clone() }
        };
        let unannounced = check_api(&http, &base, &snapshot, &mut violations).await;
        cycles.push(Cycle {
            up_ms,
            caught_up_ms,
            ticks,
            uploads_acked: snapshot.uploads.len(),
            rules_acked: snapshot.rules.len(),
            unannounced_uploads: unannounced,
        });
        if round == config.kills {
            server.stop();
            break;
        }
        let writer = tokio::spawn(workload(base.clone(), acked.clone(), round));
        tokio::time::sleep(Duration::from_millis(jitter.next_ms(400, 2_400))).await;
        server.crash();
        writer.abort();
        let _ = writer.await;
        for symbol in SYMBOLS {
            made_before_kill.insert(symbol, truth(fx, symbol).await.last().copied().unwrap_or(0));
        }
    }
    let mut final_ticks = BTreeMap::new();
    check_database(&data, fx, &mut final_ticks, &mut violations).await;
    Report { cycles, final_ticks, violations }
}

/// The stopped server's database, read with `pairdesk export`.
async fn check_database(data: &Path, fx: u16, ticks: &mut BTreeMap<String, usize>, violations: &mut Vec<String>) {
    for symbol in SYMBOLS {
        let stored = stored_ids(data, symbol);
        if let Some(problem) = gapless(symbol, &stored, &truth(fx, symbol).await) {
            violations.push(format!("at the end: {problem}"));
        }
        for interval in ["1s", "1m", "5m"] {
            let counted = bar_trade_count(data, symbol, interval);
            if counted != stored.len() as u64 {
                violations.push(format!("{symbol} {interval} bars count {counted} trades, {} stored", stored.len()));
            }
        }
        ticks.insert(symbol.to_string(), stored.len());
    }
}
