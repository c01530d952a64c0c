//! Best bid/ask and funding end to end: `pairdesk fake-exchange` with faults (dropped
//! `/market` and `/public` connections, bad book frames, funding every 2 s) → `pairdesk
//! serve` → `/api/export/book.csv` and `/api/export/funding.csv`. The stored settlements
//! must equal the fake's own list exactly, whatever was missed while disconnected; book
//! bars never hold a crossed quote and say where they have gaps; a dead `/public` never
//! stops trades.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{ChildGuard, Server};

async fn fake_exchange(extra: &[&str]) -> (ChildGuard, String) {
    let mut args = vec!["--rate", "50"];
    args.extend_from_slice(extra);
    support::fake_exchange(&args).await
}

async fn serve_against(fake: &str) -> Server {
    support::serve_against(fake, &["--symbols", "btcusdt,ethusdt"]).await
}

async fn csv_rows(url: &str) -> Vec<Vec<String>> {
    let response = reqwest::get(url).await.expect("export");
    assert_eq!(response.status(), 200, "{url}");
    let text = response.text().await.expect("csv");
    text.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

async fn health(base: &str) -> Value {
    reqwest::get(format!("{base}/api/health")).await.expect("health").json().await.expect("json")
}

/// `(time, rate, mark)` of the fake's settlements of `symbol` up to `until` (its own REST).
async fn fake_settlements(fake: &str, symbol: &str, until: i64) -> Vec<(i64, String, String)> {
    let mut out = Vec::new();
    let mut start = 0i64;
    loop {
        let url =
            format!("http://{fake}/fapi/v1/fundingRate?symbol={symbol}&startTime={start}&endTime={until}&limit=1000");
        let rows: Vec<Value> = reqwest::get(&url).await.expect("fake").json().await.expect("rows");
        for row in &rows {
            let rate: f64 = row["fundingRate"].as_str().expect("rate").parse().expect("number");
            let mark: f64 = row["markPrice"].as_str().expect("mark").parse().expect("number");
            out.push((row["fundingTime"].as_i64().expect("time"), rate.to_string(), mark.to_string()));
        }
        match rows.last() {
            Some(last) if rows.len() == 1000 => start = last["fundingTime"].as_i64().expect("time") + 1,
            _ => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn book_and_funding_survive_disconnects_and_bad_frames() {
    let (_fake, fake) = fake_exchange(&[
        "--funding-interval-ms",
        "2000",
        "--disconnect-every",
        "3",
        "--public-disconnect-every",
        "2",
        "--book-bad-prob",
        "0.05",
        "--book-updates-per-trade",
        "3",
    ])
    .await;
    let server = serve_against(&fake).await;
    let base = &server.base_url;

    // Let settlements happen across several forced /market disconnects (every 3 s).
    tokio::time::sleep(Duration::from_secs(9)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    for symbol in ["BTCUSDT", "ETHUSDT"] {
        // The fake's list up to a moment that has passed for both sides.
        let until = chrono_now_ms() - 4_000;
        let truth = fake_settlements(&fake, symbol, until).await;
        assert!(truth.len() >= 100, "{symbol}: the fake has history ({})", truth.len());
        loop {
            let rows = csv_rows(&format!("{base}/api/export/funding.csv?symbol={symbol}&to={}", until + 1)).await;
            let stored: Vec<(i64, String, String)> =
                rows.iter().map(|r| (r[1].parse().expect("time"), r[2].clone(), r[3].clone())).collect();
            if stored == truth {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{symbol}: stored funding differs from the exchange's ({} vs {} rows; first stored {:?}, first true {:?})",
                stored.len(),
                truth.len(),
                stored.first(),
                truth.first()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        // 4-hourly vs 8-hourly in real life: here 1 s vs 2 s, taken from the data.
        let gaps: Vec<i64> = truth.windows(2).map(|w| w[1].0 - w[0].0).collect();
        let expected = if symbol == "BTCUSDT" { 2_000 } else { 1_000 };
        assert!(gaps.iter().all(|g| *g == expected), "{symbol}: {gaps:?}");
    }

    for interval in ["1s", "1m"] {
        let bars = csv_rows(&format!("{base}/api/export/book.csv?symbol=ETHUSDT&interval={interval}")).await;
        assert!(!bars.is_empty(), "book bars at {interval}");
        for bar in &bars {
            let (bid, ask): (f64, f64) = (bar[1].parse().expect("bid"), bar[2].parse().expect("ask"));
            let spread: f64 = bar[3].parse().expect("spread");
            let updates: u64 = bar[4].parse().expect("updates");
            assert!(bid > 0.0 && bid < ask, "{interval}: a crossed or zero quote was stored: {bar:?}");
            // The fake quotes 0.4–1.6 bps.
            assert!((0.39..=1.61).contains(&spread), "{interval}: spread {spread} bps: {bar:?}");
            assert!(updates >= 1);
        }
        assert_eq!(bars[0][5], "true", "the first bar starts after the unknown");
    }
    let second_bars = csv_rows(&format!("{base}/api/export/book.csv?symbol=BTCUSDT&interval=1s")).await;
    let gaps = second_bars.iter().skip(1).filter(|b| b[5] == "true").count();
    assert!(gaps >= 2, "/public was dropped every 2 s: later bars must say so ({gaps} gap bars)");

    let h = health(base).await;
    let book = &h["book"]["counters"];
    assert!(book["events"].as_u64().unwrap_or(0) > 100, "{h}");
    assert!(book["reconnects"].as_u64().unwrap_or(0) >= 2, "{h}");
    let refused = ["crossed", "stale", "invalid_values", "malformed"].map(|k| book[k].as_u64().unwrap_or(0));
    assert!(refused.iter().all(|n| *n > 0), "every kind of bad book frame is counted: {h}");
    assert!(h["mark"]["counters"]["events"].as_u64().unwrap_or(0) > 5, "{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_public_path_never_stops_trades() {
    let (_fake, fake) = fake_exchange(&["--public-down"]).await;
    let server = serve_against(&fake).await;
    let base = &server.base_url;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ticks = csv_rows(&format!("{base}/api/export/ticks.csv?symbol=BTCUSDT")).await.len();
        let h = health(base).await;
        if ticks > 50 && h["book"]["state"] != "live" && h["book"]["last_error"].is_string() {
            assert_eq!(h["trades"]["state"], "live", "{h}");
            assert!(h["book"]["counters"]["reconnects"].as_u64().unwrap_or(0) >= 1, "{h}");
            break;
        }
        assert!(Instant::now() < deadline, "trades must flow while /public is down: {ticks} ticks, {h}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let book = csv_rows(&format!("{base}/api/export/book.csv?symbol=BTCUSDT&interval=1s")).await;
    assert!(book.is_empty(), "no quotes are invented while the book is down: {book:?}");
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
