//! Browser end-to-end tests: a real `pairdesk serve --demo`, the Trunk-built bundle and
//! headless Chromium. They prove the whole chain: SSR → hydration → pushed live data →
//! charts, and that a dead exchange is reported instead of a blank page.

mod support;

use std::time::Duration;

use fantoccini::Locator;
use support::{Browser, Server};

const TESTIDS_ON_FIRST_PAINT: [&str; 8] = [
    "connection-status",
    "last-price-x",
    "last-price-y",
    "z-entry",
    "z-entry-value",
    "z-exit",
    "chart-prices",
    "chart-zscore",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_rendered_html_carries_the_page_before_wasm_runs() {
    let server = Server::start(&["--demo"]).await;
    let html = reqwest::get(&server.base_url).await.expect("GET /").text().await.expect("body");
    for testid in TESTIDS_ON_FIRST_PAINT {
        assert!(html.contains(&format!("data-testid=\"{testid}\"")), "SSR HTML lacks {testid}:\n{html}");
    }
    assert!(html.contains("/pkg/frontend.js"), "SSR HTML does not load the bundle");
    assert!(html.contains("BTCUSDT") && html.contains("ETHUSDT"), "SSR HTML lacks the pair");
    let wasm = reqwest::get(format!("{}/pkg/frontend_bg.wasm", server.base_url)).await.expect("GET wasm");
    assert_eq!(wasm.status(), 200);
    assert_eq!(wasm.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/wasm"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_page_hydrates_streams_prices_and_moves_the_threshold_line() {
    let server = Server::start(&["--demo"]).await;
    let browser = Browser::start().await;
    browser.client.goto(&server.base_url).await.expect("open page");

    // The status only says "live" once the wasm hydrated and opened /ws.
    browser
        .wait_for("hydration and a live exchange feed", Duration::from_secs(20), || async {
            browser.text("connection-status").await.contains("live").then_some(())
        })
        .await;

    let first_price = browser
        .wait_for("a first BTC price", Duration::from_secs(10), || async {
            let text = browser.text("last-price-x").await;
            text.parse::<f64>().ok().map(|_| text)
        })
        .await;
    browser
        .wait_for("the BTC price to change", Duration::from_secs(15), || async {
            let text = browser.text("last-price-x").await;
            (text != first_price).then_some(())
        })
        .await;
    let eth: f64 = browser.text("last-price-y").await.parse().expect("ETH price is a number");
    assert!(eth > 0.0);

    // Keyboard on the slider: one ArrowRight step of 0.1 from the default 2.0.
    assert_eq!(browser.text("z-entry-value").await, "2.0");
    let line_before = browser
        .wait_for("the z chart to draw its entry line", Duration::from_secs(10), || async {
            browser.attr("chart-zscore", "data-entry-px").await
        })
        .await;
    let slider = browser.client.find(Locator::Css("[data-testid='z-entry']")).await.expect("slider");
    for _ in 0..5 {
        slider.send_keys("\u{E014}").await.expect("ArrowRight");
    }
    assert_eq!(browser.text("z-entry-value").await, "2.5");
    let line_after = browser
        .wait_for("the entry line to move", Duration::from_secs(5), || async {
            browser.attr("chart-zscore", "data-entry-px").await.filter(|px| *px != line_before)
        })
        .await;
    let (before, after): (i32, i32) = (line_before.parse().expect("px"), line_after.parse().expect("px"));
    assert!(after < before, "a higher threshold must be drawn higher (smaller y): {before} → {after}");

    // The price chart is drawn: count pixels that differ from the background.
    let painted = browser
        .wait_for("the price chart to show both legs", Duration::from_secs(10), || async {
            let count = browser
                .client
                .execute(
                    r#"const c = document.querySelector("[data-testid='chart-prices']");
                       const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                       let orange = 0, blue = 0;
                       for (let i = 0; i < d.length; i += 4) {
                         if (d[i] > 200 && d[i+1] > 120 && d[i+1] < 170 && d[i+2] < 60) orange++;
                         if (d[i] < 120 && d[i+1] > 100 && d[i+1] < 150 && d[i+2] > 200) blue++;
                       }
                       return [orange, blue];"#,
                    vec![],
                )
                .await
                .ok()?;
            let counts: Vec<u64> = serde_json::from_value(count).ok()?;
            (counts[0] > 50 && counts[1] > 50).then_some(counts)
        })
        .await;
    assert!(painted.iter().all(|&n| n > 50), "{painted:?}");

    let shot = browser.screenshot("live").await;
    assert!(std::fs::metadata(&shot).map(|m| m.len() > 10_000).unwrap_or(false), "screenshot too small");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_exchange_is_reported_on_the_page() {
    // Nothing listens on this port: the ingest loop fails to connect and backs off.
    let dead = format!("ws://127.0.0.1:{}/market", support::free_port());
    let server = Server::start(&["--binance-ws-url", &dead]).await;
    let browser = Browser::start().await;
    browser.client.goto(&server.base_url).await.expect("open page");
    let status = browser
        .wait_for("the page to report the dead exchange", Duration::from_secs(20), || async {
            let text = browser.text("connection-status").await;
            text.contains("down").then_some(text)
        })
        .await;
    assert!(status.contains("cannot connect"), "status should say why: {status}");
    assert_eq!(browser.text("last-price-x").await, "—");
    browser.screenshot("exchange-down").await;
    browser.close().await;
}
