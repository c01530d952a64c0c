//! History on first start, end to end through the real binaries: `pairdesk fake-exchange`
//! (a seeded day of klines, 20 % of REST requests answered 429) and `pairdesk serve` on one
//! data directory, three times:
//!
//! 1. `--history 0`: live trades only; the fake had been trading for a second already in
//!    that minute, so its kline for the take-over minute holds more trades than the server saw;
//! 2. `--history 1h`, after that minute closed: the browsers' status reports every symbol's
//!    history done, and the first `/api/export/bars.csv` covers the hour minute by minute —
//!    fetched minutes equal to the exchange's klines, live minutes equal to the stored
//!    ticks, and the take-over minute the live bar alone (not the fetched one, not the sum);
//! 3. `--history 1h` again: the restart asks only for the minutes since;
//! 4. `--history 1h` on a fresh directory: live data starts at the first trade of the minute
//!    the server started in (that minute is whole), not at the first trade it streamed.

mod pipeline_support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use pipeline_support::{fake_exchange, get, serve_with, ChildGuard};
use serde_json::Value;

const MINUTE: i64 = 60_000;
const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// `pairdesk serve --history <history>` on `data_dir`, ingesting from the fake only.
async fn serve(fake: u16, data_dir: &std::path::Path, history: &str) -> (ChildGuard, String) {
    serve_with(fake, data_dir, "btcusdt,ethusdt", &["--history", history]).await
}

/// The history entries of the first status pushed on `/ws` in which both symbols are done.
async fn history_done(base: &str, timeout: Duration) -> Vec<Value> {
    let url = format!("{}/ws", base.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.expect("browser socket");
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, socket.next())
            .await
            .expect("history done in time")
            .expect("socket open")
            .expect("frame");
        // Pings (the server keeps quiet sockets alive) are not messages of the protocol.
        let tokio_tungstenite::tungstenite::Message::Text(text) = message else { continue };
        let value: Value = serde_json::from_str(&text).expect("json");
        if value["type"] != "status" {
            continue;
        }
        let history = value["history"].as_array().cloned().unwrap_or_default();
        let done = SYMBOLS.iter().all(|s| history.iter().any(|h| h["symbol"] == *s && h["done"] == true));
        if done {
            return history;
        }
    }
}

async fn csv(url: &str) -> Vec<Vec<String>> {
    let (status, text) = get(url).await.expect("request");
    assert_eq!(status, 200, "{url}: {text}");
    text.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

/// (open time, close, count) of the 1m bars the server exports.
async fn bars(base: &str, symbol: &str) -> Vec<(i64, f64, u64)> {
    let rows = csv(&format!("{base}/api/export/bars.csv?symbol={symbol}&interval=1m")).await;
    rows.iter()
        .map(|r| (r[0].parse().expect("time"), r[4].parse().expect("close"), r[6].parse().expect("count")))
        .collect()
}

/// Stored tick times of `symbol`.
async fn tick_times(base: &str, symbol: &str) -> Vec<i64> {
    let rows = csv(&format!("{base}/api/export/ticks.csv?symbol={symbol}")).await;
    rows.iter().map(|r| r[2].parse().expect("time_ms")).collect()
}

/// The exchange's own 1m klines of `symbol` from `start` (retrying its injected 429s).
async fn exchange_klines(fake: u16, symbol: &str, start: i64) -> Vec<(i64, f64, u64)> {
    let url =
        format!("http://127.0.0.1:{fake}/fapi/v1/klines?symbol={symbol}&interval=1m&startTime={start}&limit=1500");
    for _ in 0..100 {
        if let Some((200, body)) = get(&url).await {
            let rows: Vec<Value> = serde_json::from_str(&body).expect("json");
            return rows
                .iter()
                .map(|r| {
                    let close: f64 = r[4].as_str().and_then(|c| c.parse().ok()).expect("close");
                    (r[0].as_i64().expect("open time"), close, r[8].as_u64().expect("trades"))
                })
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the fake kept refusing klines");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_there_at_first_request_joins_live_without_double_counting_and_restarts_fetch_only_what_is_missing()
{
    // Start the fake's trading a second before the server connects, in the same minute.
    if now_ms().rem_euclid(MINUTE) > 50_000 {
        tokio::time::sleep(Duration::from_millis((MINUTE - now_ms().rem_euclid(MINUTE) + 500) as u64)).await;
    }
    // A day of klines; one REST request in five answered 429.
    let fake_args = ["--rate", "20", "--history", "1d", "--rest-429-prob", "0.2", "--retry-after", "0"];
    let (_fake_guard, fake) = fake_exchange(&fake_args).await;
    let streams = format!("ws://127.0.0.1:{fake}/market/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade");
    let (mut early_client, _) = tokio_tungstenite::connect_async(&streams).await.expect("early client");
    let _ = tokio::time::timeout(Duration::from_secs(5), early_client.next()).await.expect("trades flow");
    tokio::time::sleep(Duration::from_secs(1)).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");

    // 1. Live only, until the minute the server started in has closed.
    let (first, base) = serve(fake, &data, "0").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut takeover = None;
    while takeover.is_none() {
        assert!(Instant::now() < deadline, "no trades stored");
        takeover = tick_times(&base, "BTCUSDT").await.first().map(|t| t - t.rem_euclid(MINUTE));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let takeover = takeover.expect("first live minute");
    let wait = takeover + MINUTE + 3_000 - now_ms();
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;
    first.stop();

    // 2. With an hour of history: present at the first request, joined without overlap.
    let started = now_ms();
    let (second, base) = serve(fake, &data, "1h").await;
    let history = history_done(&base, Duration::from_secs(60)).await;
    for entry in &history {
        assert!(entry["error"].is_null(), "{entry}");
        assert_eq!(entry["fetched"], entry["expected"], "{entry}");
        assert!(entry["expected"].as_u64() >= Some(59), "the hour was asked for: {entry}");
    }
    let asked = now_ms();
    for symbol in SYMBOLS {
        let bars = bars(&base, symbol).await;
        let ticks = tick_times(&base, symbol).await;
        let first_live = ticks.first().map(|t| t - t.rem_euclid(MINUTE)).expect("ticks");
        let window_start = started - started.rem_euclid(MINUTE) - 60 * MINUTE;
        assert!(
            bars.first().is_some_and(|b| b.0 <= window_start + MINUTE),
            "{symbol}: history starts {:?}",
            bars.first()
        );
        assert!(
            bars.windows(2).all(|w| w[1].0 == w[0].0 + MINUTE),
            "{symbol}: every minute once, none missing: {:?}",
            bars.windows(2).find(|w| w[1].0 != w[0].0 + MINUTE)
        );
        let truth = exchange_klines(fake, symbol, bars[0].0).await;
        let closed = asked - asked.rem_euclid(MINUTE);
        let mut compared = (0, 0);
        for &(t, close, count) in bars.iter().filter(|b| b.0 < closed) {
            if t < first_live {
                let kline = truth.iter().find(|k| k.0 == t).expect("the exchange has the minute");
                assert_eq!((close, count), (kline.1, kline.2), "{symbol} {t}: fetched bar differs from the exchange's");
                compared.0 += 1;
            } else {
                let live = ticks.iter().filter(|x| **x - x.rem_euclid(MINUTE) == t).count() as u64;
                assert_eq!(count, live, "{symbol} {t}: a live minute must count its stored ticks exactly");
                compared.1 += 1;
            }
        }
        assert!(compared.0 >= 55 && compared.1 >= 1, "{symbol}: compared {compared:?} fetched/live minutes");
        // The take-over minute: the exchange saw trades before the server connected; the
        // bar is the live one alone.
        let exchange_count = truth.iter().find(|k| k.0 == first_live).map(|k| k.2).expect("take-over minute");
        let live_count = bars.iter().find(|b| b.0 == first_live).map(|b| b.2).expect("take-over bar");
        assert!(exchange_count > live_count, "{symbol}: exchange {exchange_count} vs live {live_count} trades");
        assert!(live_count > 0);
    }
    second.stop();

    // 3. A restart asks only for the minutes since the last fetch.
    let (third, base) = serve(fake, &data, "1h").await;
    let history = history_done(&base, Duration::from_secs(30)).await;
    for entry in &history {
        assert!(entry["expected"].as_u64() <= Some(2), "the restart asked for too much: {entry}");
        assert!(entry["error"].is_null(), "{entry}");
    }
    let bars = bars(&base, "BTCUSDT").await;
    assert!(bars.len() >= 60, "the history is still there: {} bars", bars.len());
    third.stop();

    // 4. A fresh data directory with history: the live data starts at the first trade of the
    // minute the server started in, not at the first trade it happened to stream.
    let fresh = dir.path().join("fresh");
    let (fourth, base) = serve(fake, &fresh, "1h").await;
    history_done(&base, Duration::from_secs(30)).await;
    // The history can be done before the first live trade is stored (the live stream starts
    // after the seeding request, and under load that takes a moment).
    let deadline = Instant::now() + Duration::from_secs(30);
    let first = loop {
        let ticks = csv(&format!("{base}/api/export/ticks.csv?symbol=BTCUSDT")).await;
        if !ticks.is_empty() {
            break ticks;
        }
        assert!(Instant::now() < deadline, "no live trade stored within 30 s of the history");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (first_id, first_ms): (u64, i64) = (first[0][1].parse().expect("id"), first[0][2].parse().expect("time"));
    let minute = first_ms - first_ms.rem_euclid(MINUTE);
    let url = format!(
        "http://127.0.0.1:{fake}/fapi/v1/aggTrades?symbol=BTCUSDT&startTime={minute}&endTime={}&limit=1",
        minute + MINUTE - 1
    );
    let mut exchange_first = None;
    while exchange_first.is_none() {
        if let Some((200, body)) = get(&url).await {
            let rows: Vec<Value> = serde_json::from_str(&body).expect("json");
            exchange_first = rows[0]["a"].as_u64();
        }
    }
    assert_eq!(Some(first_id), exchange_first, "the first stored trade is the minute's first");
    fourth.stop();
    drop(early_client);
}
