//! History on first start in the browser (headless Chromium, `pairdesk serve --demo
//! --history 1d`): the status bar reports the history of all eight demo symbols, and a 1m view has
//! its z-score at once — from the fetched history — instead of after an hour of live bars.
//! Needs the browser bundle (`make bundle`) and chromedriver.

mod support;

use std::time::Duration;

use support::{Browser, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_bar_reports_history_and_a_1m_view_has_its_analytics_at_once() {
    let server = Server::start(&["--demo", "--history", "1d"]).await;
    let browser = Browser::start().await;
    let url = format!("{}/?x=BTCUSDT&y=ETHUSDT&interval=1m&window=120&corr=60", server.base_url);
    browser.client.goto(&url).await.expect("open the page");
    browser.wait_until_live("the page hydrated and the feed live", Duration::from_secs(45)).await;
    let history = browser
        .wait_for("the eight demo symbols' history done", Duration::from_secs(30), || async {
            let text = browser.text("history-status").await;
            text.contains("history 8/8").then_some(text)
        })
        .await;
    assert!(!history.contains("failed"), "{history}");
    // 120 one-minute bars of z-score window: only history can provide them this soon.
    let z: f64 = browser
        .wait_for("a 1m z-score over 120 bars", Duration::from_secs(20), || async {
            browser.text("zscore-last").await.parse::<f64>().ok()
        })
        .await;
    assert!(z.is_finite() && z.abs() < 50.0, "implausible z {z}");
    let corr: f64 = browser
        .wait_for("a 1m correlation", Duration::from_secs(10), || async {
            browser.text("corr-last").await.parse::<f64>().ok()
        })
        .await;
    assert!((-1.0..=1.0).contains(&corr), "correlation {corr}");
    browser.close().await;
}
