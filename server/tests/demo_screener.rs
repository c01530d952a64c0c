//! `pairdesk serve --demo` is worth screening at once: eight symbols (a cointegrated cluster
//! around BTC and unrelated random walks) with two days of 1m history from the demo exchange,
//! so the 1m and 5m screeners are full within seconds of start and tell the cluster apart.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::Server;

const CLUSTER: [&str; 4] = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "LTCUSDT"];

async fn screener(base: &str, interval_ms: i64) -> Value {
    let url = format!("{base}/api/screener?interval={interval_ms}&bars=1440");
    reqwest::get(url).await.expect("screener").json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_ingests_eight_symbols_and_screens_full_at_first_paint() {
    let server = Server::start_api_only(&["--demo"]).await;
    let base = &server.base_url;
    let listed: Value = reqwest::get(format!("{base}/api/symbols")).await.expect("symbols").json().await.expect("json");
    let symbols: Vec<&str> = listed["symbols"].as_array().expect("list").iter().filter_map(Value::as_str).collect();
    assert_eq!(symbols.len(), 8, "{listed}");
    assert!(CLUSTER.iter().all(|s| symbols.contains(s)), "{listed}");

    // History arrives in well under a minute; then both screeners have all 28 pairs.
    let started = Instant::now();
    let report = loop {
        let report = screener(base, 60_000).await;
        let full = report["bars"].as_u64().unwrap_or(0) >= 1_000
            && report["pairs"].as_array().is_some_and(|p| p.len() == 28 && p.iter().all(|p| p["pvalue"].is_f64()));
        if full {
            break report;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "1m screener not full after 60 s: {report}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let five = screener(base, 300_000).await;
    assert!(five["bars"].as_u64().unwrap_or(0) >= 300, "2 days of 5m bars from history: {}", five["bars"]);
    assert_eq!(five["pairs"].as_array().map(Vec::len), Some(28));

    // The cluster's six pairs are cointegrated; the unrelated walks mostly are not.
    let names: Vec<&str> =
        report["symbols"].as_array().expect("symbols").iter().map(|s| s["symbol"].as_str().expect("name")).collect();
    let cluster: BTreeSet<usize> =
        names.iter().enumerate().filter(|(_, n)| CLUSTER.contains(n)).map(|(i, _)| i).collect();
    let (mut in_cluster, mut unrelated_significant, mut unrelated) = (0, 0, 0);
    for pair in report["pairs"].as_array().expect("pairs") {
        let (x, y) = (pair["x"].as_u64().expect("x") as usize, pair["y"].as_u64().expect("y") as usize);
        let p = pair["pvalue"].as_f64().expect("p");
        if cluster.contains(&x) && cluster.contains(&y) {
            in_cluster += 1;
            eprintln!("cluster {} / {}: {p}", names[x], names[y]);
            assert!(p < 0.05, "{} / {}: EG p {p} in the cointegrated cluster", names[x], names[y]);
        } else {
            unrelated += 1;
            eprintln!("other {} / {}: {p}", names[x], names[y]);
            unrelated_significant += usize::from(p < 0.05);
        }
    }
    assert_eq!((in_cluster, unrelated), (6, 22));
    assert!(unrelated_significant <= 8, "{unrelated_significant} of 22 unrelated pairs look cointegrated");
}
