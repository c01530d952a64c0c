//! Gapless ingestion against a faulty exchange, end to end through the real binaries:
//! `pairdesk fake-exchange` drops the stream every 0.3 s (≥ 20 abrupt disconnects,
//! asserted), 1% garbage frames, 1%
//! duplicated trades and 2% REST 429s during 200 000 trades over three symbols;
//! `pairdesk serve` ingests them. Afterwards the ids stored in sled equal the exchange's
//! ground truth exactly (0 missing, 0 duplicates) and the 1s/1m/5m bars count every trade once.

mod pipeline_support;

use std::time::Duration;

use pipeline_support::*;

const TRADES: u64 = 200_000;
const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_thousand_trades_twenty_disconnects_one_percent_garbage_nothing_lost_nothing_duplicated() {
    let total = TRADES.to_string();
    let (_exchange, fx) = fake_exchange(&[
        "--rate",
        "4000",
        "--max-trades",
        &total,
        "--disconnect-every",
        "0.3",
        "--garbage-prob",
        "0.01",
        "--duplicate-prob",
        "0.01",
        "--rest-429-prob",
        "0.02",
        "--retry-after",
        "1",
    ])
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (server, base) = serve(fx, &data, "btcusdt,ethusdt,solusdt").await;
    wait_until_caught_up(fx, &base, &SYMBOLS, Duration::from_secs(120)).await;
    server.stop();
    let stats = stats(fx).await;
    assert_eq!(stats.generated, TRADES);
    eprintln!("{} stream connections (forced disconnects + 1)", stats.connections);
    assert!(stats.connections >= 21, "only {} connections: fewer than 20 forced disconnects", stats.connections);
    let mut all = 0;
    for symbol in SYMBOLS {
        let truth = truth(fx, symbol).await;
        all += truth.len() as u64;
        assert_exact(&data, symbol, &truth);
    }
    assert_eq!(all, TRADES);
}
