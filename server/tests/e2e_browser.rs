//! Browser end-to-end tests: a real `pairdesk serve --demo`, the Trunk-built bundle and
//! headless Chromium. They prove the whole chain: SSR → hydration → pushed live data →
//! charts, and that a dead exchange is reported instead of a blank page.

mod support;

use std::time::Duration;

use fantoccini::Locator;
use support::{Browser, Server};

const TESTIDS_ON_FIRST_PAINT: [&str; 26] = [
    "connection-status",
    "pair-x",
    "pair-y",
    "interval",
    "window",
    "z-entry",
    "z-entry-value",
    "z-exit",
    "z-exit-value",
    "hedge-method",
    "last-price-x",
    "last-price-y",
    "hedge-ratio",
    "zscore-last",
    "corr-last",
    "adf-run",
    "chart-prices",
    "chart-spread",
    "chart-zscore",
    "chart-corr",
    "alerts-list",
    "export-csv",
    "window-value",
    "exec-cost",
    "book-status",
    "mark-status",
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

    // The URL query is the view: the server renders it, not the defaults.
    let url = format!("{}/?x=ETHUSDT&y=BTCUSDT&interval=1m&window=25&entry=3.1&hedge=kalman", server.base_url);
    let html = reqwest::get(&url).await.expect("GET view").text().await.expect("body");
    assert!(
        html.contains(r#"data-testid="z-entry-value" class="slider-value num">3.1<"#),
        "entry 3.1 not rendered:\n{html}"
    );
    assert!(html.contains(r#"data-testid="window-value" class="slider-value num">25<"#), "window 25 not rendered");
    assert!(html.contains(r#"<option value="kalman" selected"#), "hedge method not selected in SSR");
    assert!(html.contains(r#"<option value="60000" selected"#), "interval not selected in SSR");
    let wasm = reqwest::get(format!("{}/pkg/frontend_bg.wasm", server.base_url)).await.expect("GET wasm");
    assert_eq!(wasm.status(), 200);
    assert_eq!(wasm.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/wasm"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_page_hydrates_streams_prices_and_moves_the_threshold_line() {
    let server = Server::start(&["--demo", "--symbols", "btcusdt,ethusdt"]).await;
    let browser = Browser::start().await;
    // A short window so the hedge ratio and z-score are ready within seconds of 1s bars.
    browser.client.goto(&format!("{}/?window=10&corr=10", server.base_url)).await.expect("open page");

    // The status only says "live" once the wasm hydrated and opened /ws.
    browser.wait_until_live("hydration and a live exchange feed", Duration::from_secs(20)).await;

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

    // Best bid/ask from /public: both side connections live, a quoted round-trip cost, and
    // the executable band drawn around the spread (two more lines than without quotes).
    browser
        .wait_for("the book and mark connections", Duration::from_secs(15), || async {
            (browser.text("book-status").await == "book: live" && browser.text("mark-status").await == "mark: live")
                .then_some(())
        })
        .await;
    let cost: f64 = browser
        .wait_for("a quoted round-trip cost", Duration::from_secs(15), || async {
            browser.text("exec-cost").await.strip_suffix(" bps").and_then(|v| v.parse::<f64>().ok())
        })
        .await;
    // The fake quotes 0.4–1.6 bps per leg; β ≈ 0.05 BTC per ETH adds about as much again.
    assert!((0.4..6.0).contains(&cost), "round trip {cost} bps");
    let lines = browser
        .wait_for("the executable band on the spread chart", Duration::from_secs(15), || async {
            let lines = browser.attr("chart-spread", "data-lines").await?;
            (lines.contains("sell (bid)") && lines.contains("buy (ask)")).then_some(lines)
        })
        .await;
    assert!(lines.starts_with("spread|"), "{lines}");

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

    // Analytics computed in the browser from pushed bars: hedge ratio, then z and correlation.
    browser
        .wait_for("a hedge ratio", Duration::from_secs(30), || async {
            browser.text("hedge-ratio").await.parse::<f64>().ok()
        })
        .await;
    let z: f64 = browser
        .wait_for("a z-score (needs 19 one-second bars)", Duration::from_secs(45), || async {
            browser.text("zscore-last").await.parse::<f64>().ok()
        })
        .await;
    assert!(z.is_finite() && z.abs() < 50.0, "implausible z {z}");
    let corr: f64 = browser
        .wait_for("a correlation", Duration::from_secs(10), || async {
            browser.text("corr-last").await.parse::<f64>().ok()
        })
        .await;
    assert!((-1.0..=1.0).contains(&corr), "correlation {corr} outside [-1, 1]");

    // ADF on demand, computed in wasm.
    browser.click("adf-run").await;
    let stat = browser
        .wait_for("an ADF statistic", Duration::from_secs(5), || async {
            let el = browser.client.find(Locator::Css("[data-testid='adf-stat']")).await.ok()?;
            el.text().await.ok()
        })
        .await;
    let p = browser.text("adf-pvalue").await;
    assert!(
        stat.parse::<f64>().is_ok() && p.parse::<f64>().is_ok_and(|p| (0.0..=1.0).contains(&p)),
        "ADF {stat} p {p}"
    );

    // One time axis: all four stacked charts show the same span before any zoom (the
    // z-score and correlation series start a window later than the prices), and after it.
    let axes_agree = || async {
        let axes = browser
            .client
            .execute(
                r#"return ['chart-prices', 'chart-spread', 'chart-zscore', 'chart-corr'].map(id => {
                     const c = document.querySelector(`[data-testid='${id}']`);
                     return [c.getAttribute('data-x-min'), c.getAttribute('data-x-max')];
                   });"#,
                vec![],
            )
            .await
            .ok()?;
        let axes: Vec<(Option<String>, Option<String>)> = serde_json::from_value(axes).ok()?;
        let first = axes.first()?.clone();
        (first.0.is_some() && axes.iter().all(|a| *a == first)).then_some(first)
    };
    browser.wait_for("the stacked charts to share one full time axis", Duration::from_secs(5), axes_agree).await;

    // Zoom: the wheel narrows the shared time range; double-click resets it.
    let full = browser.attr("chart-prices", "data-x-range").await.expect("drawn range");
    browser
        .client
        .execute(
            r#"const c = document.querySelector("[data-testid='chart-prices']");
               const r = c.getBoundingClientRect();
               for (let i = 0; i < 3; i++) c.dispatchEvent(new WheelEvent('wheel', {deltaY: -100, clientX: r.left + r.width / 2, clientY: r.top + 50, bubbles: true, cancelable: true}));"#,
            vec![],
        )
        .await
        .expect("wheel");
    let zoomed = browser
        .wait_for("the zoom to narrow the time range", Duration::from_secs(5), || async {
            browser.attr("chart-prices", "data-x-range").await.filter(|r| *r != full)
        })
        .await;
    let span = |r: &str| -> f64 {
        let (a, b) = r.split_once(',').expect("range a,b");
        b.parse::<f64>().expect("b") - a.parse::<f64>().expect("a")
    };
    assert!(span(&zoomed) < span(&full) * 0.8, "zoom did not narrow: {full} → {zoomed}");
    let (min, max) =
        browser.wait_for("the stacked charts to share the zoomed time axis", Duration::from_secs(5), axes_agree).await;
    let zoomed_span = max.expect("max").parse::<f64>().expect("ms") - min.expect("min").parse::<f64>().expect("ms");
    assert!(zoomed_span < span(&full) * 0.8, "the shared axis is the zoomed one: {zoomed_span} ms");

    // Candles per leg with volume, a log axis and the price ratio, all on the same time axis.
    let candles = browser.client.find(Locator::Css("[data-testid='legs-chart'] option[value='candles']")).await;
    candles.expect("candles option").click().await.expect("choose candles");
    browser.click("log-scale").await;
    browser.click("show-ratio").await;
    let candle_axes = browser
        .wait_for("candles, log axis and ratio on the shared axis", Duration::from_secs(10), || async {
            let axes = browser
                .client
                .execute(
                    r#"return ['chart-candles-x', 'chart-candles-y', 'chart-ratio', 'chart-spread'].map(id => {
                         const c = document.querySelector(`[data-testid='${id}']`);
                         return c && [c.getAttribute('data-x-min'), c.getAttribute('data-x-max'),
                                      c.getAttribute('data-candles'), c.getAttribute('data-log'), c.getAttribute('data-lines')];
                       });"#,
                    vec![],
                )
                .await
                .ok()?;
            let axes: Vec<Option<Vec<Option<String>>>> = serde_json::from_value(axes).ok()?;
            let axes: Vec<Vec<Option<String>>> = axes.into_iter().collect::<Option<_>>()?;
            let same_axis = axes.iter().all(|a| a[0].is_some() && a[..2] == axes[3][..2]);
            let candles_drawn = axes[..2].iter().all(|a| a[2].as_deref().and_then(|n| n.parse::<usize>().ok()) > Some(0));
            let logs = axes[..3].iter().all(|a| a[3].as_deref() == Some("1"));
            (same_axis && candles_drawn && logs && axes[2][4].as_deref() == Some("y/x")).then_some(axes)
        })
        .await;
    assert!(browser.client.find(Locator::Css("[data-testid='chart-prices']")).await.is_err(), "% chart replaced");
    let url = browser.client.current_url().await.expect("url");
    assert!(url.as_str().contains("legs=candles&log=1&ratio=1"), "{url} {candle_axes:?}");
    browser.screenshot("live-candles").await;
    // Back to the % overlay, as the rest of this test reads it.
    let pct = browser.client.find(Locator::Css("[data-testid='legs-chart'] option[value='pct']")).await;
    pct.expect("% option").click().await.expect("choose % change");

    // An alert rule created through the API fires server-side and shows up in the page.
    let rule = serde_json::json!({
        "name": "btc above 1", "metric": "price", "comparison": "above", "threshold": 1.0, "hysteresis": 0.0,
        "view": {"x": "BTCUSDT", "y": "ETHUSDT", "interval_ms": 1000, "window": 10, "corr_window": 10}
    });
    post_alert_rule(&server, &rule).await;
    let event = browser
        .wait_for("the alert to fire in the page", Duration::from_secs(10), || async {
            for el in browser.client.find_all(Locator::Css("[data-testid='alert-event']")).await.ok()? {
                let text = el.text().await.ok()?;
                if text.contains("btc above 1 fired") {
                    return Some(text);
                }
            }
            None
        })
        .await;
    assert!(event.contains("price"), "{event}");
    let events: Vec<serde_json::Value> = reqwest::get(format!("{}/api/alerts/events", server.base_url))
        .await
        .expect("GET events")
        .json()
        .await
        .expect("json");
    assert!(
        events.iter().any(|e| e["rule_name"] == "btc above 1" && e["kind"] == "fired"),
        "event not persisted: {events:?}"
    );

    let shot = browser.screenshot("live").await;
    assert!(std::fs::metadata(&shot).map(|m| m.len() > 10_000).unwrap_or(false), "screenshot too small");

    // The view's CSV export matches the analytics JSON of `pairdesk analyze` on the same bars.
    check_view_export_against_analyze(&browser).await;

    // Fire *and clear*: a rule on BTC's 1s bar volume at its recent median flips both ways
    // within seconds (each bar is about as likely to be above as below).
    let csv = reqwest::get(format!("{}/api/export/bars.csv?symbol=BTCUSDT&interval=1s", server.base_url))
        .await
        .expect("bars csv")
        .text()
        .await
        .expect("csv");
    let mut volumes: Vec<f64> =
        csv.lines().skip(1).filter_map(|l| l.split(',').nth(5)).filter_map(|v| v.parse().ok()).collect();
    assert!(volumes.len() >= 10, "too few 1s bars for a median: {}", volumes.len());
    volumes.sort_by(f64::total_cmp);
    let median = volumes[volumes.len() / 2];
    let rule = serde_json::json!({
        "name": "btc volume flips", "metric": "volume", "comparison": "above", "threshold": median, "hysteresis": 0.0,
        "view": {"x": "BTCUSDT", "y": "ETHUSDT", "interval_ms": 1000, "window": 10, "corr_window": 10}
    });
    post_alert_rule(&server, &rule).await;
    browser
        .wait_for("the volume alert to fire and then clear in the page", Duration::from_secs(40), || async {
            let mut fired_at = None;
            let mut cleared_after_fire = false;
            for el in browser.client.find_all(Locator::Css("[data-testid='alert-event']")).await.ok()? {
                let text = el.text().await.ok()?;
                let class = el.attr("class").await.ok()??;
                if text.contains("btc volume flips fired") && class == "fired" {
                    fired_at = fired_at.or(Some(text));
                } else if text.contains("btc volume flips cleared") && class == "cleared" {
                    cleared_after_fire = true;
                }
            }
            (fired_at.is_some() && cleared_after_fire).then_some(())
        })
        .await;

    // Symbols can be added from the page: the exchange is asked first, then every picker updates.
    // (Scrolled to the middle first: scrolled to the top edge, it would sit under the sticky top bar.)
    browser
        .client
        .execute(
            r#"document.querySelector("[data-testid='symbols'] summary").scrollIntoView({block: 'center'});"#,
            vec![],
        )
        .await
        .expect("scroll to the symbol editor");
    browser
        .client
        .find(Locator::Css("[data-testid='symbols'] summary"))
        .await
        .expect("symbols")
        .click()
        .await
        .expect("open");
    let input = browser.client.find(Locator::Css("[data-testid='symbol-add']")).await.expect("input");
    input.send_keys("nopeusdt\u{E007}").await.expect("type + Enter");
    let refusal = browser
        .wait_for("the exchange's refusal of a made-up symbol", Duration::from_secs(10), || async {
            let el = browser.client.find(Locator::Css("[data-testid='symbol-error']")).await.ok()?;
            el.text().await.ok()
        })
        .await;
    assert!(refusal.contains("Invalid symbol"), "{refusal}");
    input.clear().await.expect("clear");
    input.send_keys("solusdt").await.expect("type");
    browser.click("symbol-add-submit").await;
    browser
        .wait_for("SOLUSDT in the y picker", Duration::from_secs(10), || async {
            let options = browser.client.find_all(Locator::Css("[data-testid='pair-y'] option")).await.ok()?;
            for option in options {
                if option.text().await.ok()? == "SOLUSDT (live)" {
                    return Some(());
                }
            }
            None
        })
        .await;

    // The p-value tape: on the 1m view (the demo's klines history), the server's rolling EG and
    // ADF p-values are drawn under the z-score, with their last values in tiles.
    browser.client.goto(&format!("{}/?interval=1m", server.base_url)).await.expect("open the 1m view");
    browser.wait_until_live("hydration of the 1m view", Duration::from_secs(20)).await;
    let (lines, x_min, x_max) = browser
        .wait_for("the p-value tape to draw", Duration::from_secs(45), || async {
            let lines = browser.attr("chart-pvalues", "data-lines").await?;
            let min: f64 = browser.attr("chart-pvalues", "data-x-min").await?.parse().ok()?;
            let max: f64 = browser.attr("chart-pvalues", "data-x-max").await?.parse().ok()?;
            (lines.contains("EG p") && max > min).then_some((lines, min, max))
        })
        .await;
    assert_eq!(lines, "EG p|ADF p", "both p-values are drawn ({x_min}..{x_max})");
    let eg = browser.text("tape-eg-p").await;
    let p: f64 = eg.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
    assert!((0.0..=1.0).contains(&p), "the last EG p-value tile: {eg}");
    assert!(browser.attr("chart-half-life", "data-x-range").await.is_some(), "the half-life chart is drawn");
    browser.screenshot("live-tape").await;

    // The tape window is the page's: another window goes into the URL, the server sends that
    // window's tape, and the tiles name it and show its values.
    let tape_tiles = || async {
        let label = |id: &str| {
            format!(
                r#"return document.querySelector("[data-testid='{id}']").parentElement.querySelector('.tile-label').textContent;"#
            )
        };
        let eg_label = browser.client.execute(&label("tape-eg-p"), vec![]).await.ok()?.as_str()?.trim().to_string();
        let values =
            (browser.text("tape-eg-p").await, browser.text("tape-adf-p").await, browser.text("tape-half-life").await);
        Some((eg_label, values))
    };
    let (label_240, values_240) = tape_tiles().await.expect("tape tiles");
    assert!(label_240.starts_with("EG p (240 bars)"), "{label_240}");
    browser.select_containing("tape-window", "480 bars").await;
    browser
        .wait_for("tape=480 in the URL", Duration::from_secs(5), || async {
            browser.client.current_url().await.ok()?.query()?.contains("tape=480").then_some(())
        })
        .await;
    // The tiles are read one by one while the new tape arrives (until then they show "—"), so
    // wait until all three show a number.
    let number = |text: &str| text.split_whitespace().next().and_then(|v| v.parse::<f64>().ok());
    let values_480 = browser
        .wait_for("the 480-bar tape in the tiles", Duration::from_secs(30), || async {
            let (label, values) = tape_tiles().await?;
            let all = number(&values.0).and(number(&values.1)).and(number(&values.2)).is_some();
            (label.starts_with("EG p (480 bars)") && all && values != values_240).then_some(values)
        })
        .await;
    assert_ne!(number(&values_480.0), number(&values_240.0), "{values_480:?} vs {values_240:?}");
    // The URL reopens the same window (server-rendered, then hydrated).
    browser.client.refresh().await.expect("reload");
    browser.wait_until_live("hydration of the 480-bar tape view", Duration::from_secs(20)).await;
    browser
        .wait_for("the reloaded page's 480-bar tape", Duration::from_secs(30), || async {
            let (label, values) = tape_tiles().await?;
            (label.starts_with("EG p (480 bars)") && values.2.parse::<f64>().is_ok()).then_some(())
        })
        .await;

    // Theme switch: system → dark → light, remembered across a reload.
    let theme = |browser: &Browser| {
        let client = browser.client.clone();
        async move {
            let value = client
                .execute("return [document.documentElement.dataset.theme || '', getComputedStyle(document.body).backgroundColor];", vec![])
                .await
                .expect("theme");
            serde_json::from_value::<(String, String)>(value).expect("pair")
        }
    };
    let toggle = browser.client.find(Locator::Css("[data-testid='theme-toggle']")).await.expect("toggle");
    toggle.click().await.expect("dark");
    toggle.click().await.expect("light");
    assert_eq!(theme(&browser).await, ("light".to_string(), "rgb(246, 248, 250)".to_string()));
    browser.client.refresh().await.expect("reload");
    assert_eq!(theme(&browser).await.0, "light", "the choice survives a reload");
    browser
        .wait_for("the toggle to show the saved choice after hydration", Duration::from_secs(20), || async {
            (browser.text("theme-toggle").await == "theme: light").then_some(())
        })
        .await;
    browser
        .wait_for("the charts to redraw on the light background", Duration::from_secs(20), || async {
            let pixel = browser
                .client
                .execute(
                    r#"const c = document.querySelector("[data-testid='chart-prices']");
                       return Array.from(c.getContext('2d').getImageData(2, 2, 1, 1).data.slice(0, 3));"#,
                    vec![],
                )
                .await
                .ok()?;
            (serde_json::from_value::<Vec<u8>>(pixel).ok()? == vec![255, 255, 255]).then_some(())
        })
        .await;
    let shot = browser.screenshot("live-light").await;
    assert!(std::fs::metadata(&shot).map(|m| m.len() > 10_000).unwrap_or(false), "screenshot too small");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_basket_of_live_legs_on_live_is_computed_in_the_browser_and_kept_in_the_url() {
    // The demo's cointegrated cluster (ETH, BNB and LTC follow BTC), two days of 1m klines.
    let server = Server::start(&["--demo"]).await;
    let browser = Browser::start().await;
    let url = format!("{}/?interval=1m&basket=BTCUSDT,ETHUSDT,BNBUSDT", server.base_url);
    browser.client.goto(&url).await.expect("open the basket view");
    browser.wait_until_live("hydration of the basket view", Duration::from_secs(20)).await;
    let weights = |n: usize| basket_weights(&browser, n);
    let three = browser.wait_for("three basket weights from the URL", Duration::from_secs(30), || weights(3)).await;
    assert!(three.iter().all(|w| w.is_finite()) && three.iter().any(|w| *w != 0.0), "{three:?}");
    let adf_p: f64 = browser.text("basket-adf-p").await.parse().expect("an ADF p-value of the basket");
    assert!(adf_p < 0.05, "the demo's cointegrated legs make a stationary basket: p {adf_p}");
    let trades: u64 = browser.text("basket-bt-trades").await.parse().expect("a backtest trade count");
    let report = browser.text("basket-report").await;
    assert!(report.contains("BTCUSDT · live") && report.contains("traded from bar"), "{trades} trades: {report}");
    let lines = browser.attr("chart-basket-spread", "data-lines").await.unwrap_or_default();
    assert_eq!(lines, "basket spread");
    // A fourth leg: ticked on the page, kept in the URL, and the basket recomputed.
    browser
        .client
        .find(Locator::Css("[data-testid='live-basket-series'][value='LTCUSDT']"))
        .await
        .expect("the LTCUSDT box")
        .click()
        .await
        .expect("tick LTCUSDT");
    browser
        .wait_for("the fourth leg in the URL", Duration::from_secs(5), || async {
            browser
                .client
                .current_url()
                .await
                .ok()?
                .query()?
                .contains("basket=BTCUSDT,ETHUSDT,BNBUSDT,LTCUSDT")
                .then_some(())
        })
        .await;
    let four = browser.wait_for("four basket weights", Duration::from_secs(30), || weights(4)).await;
    assert!(four.iter().all(|w| w.is_finite()), "{four:?}");
    browser.screenshot("live-basket").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_exchange_is_reported_on_the_page() {
    // Nothing listens on this port: the ingest loop fails to connect and backs off.
    // Every exchange address points at the dead port: no test ever reaches Binance.
    let port = support::free_port();
    let (dead, dead_public, dead_rest) = (
        format!("ws://127.0.0.1:{port}/market"),
        format!("ws://127.0.0.1:{port}/public"),
        format!("http://127.0.0.1:{port}"),
    );
    let server = Server::start(&[
        "--binance-ws-url",
        &dead,
        "--binance-public-ws-url",
        &dead_public,
        "--binance-rest-url",
        &dead_rest,
        "--history",
        "0",
    ])
    .await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_backtest_and_screener_pages_work_in_the_browser() {
    let server = Server::start(&["--demo"]).await;
    let browser = Browser::start().await;

    // Upload: a bad file is refused with kind, line and column and stores nothing.
    browser.client.goto(&format!("{}/upload", server.base_url)).await.expect("open upload");
    browser.wait_until_live("hydration of the upload page", Duration::from_secs(20)).await;
    // Every rejected fixture shows its error kind, line and column, and stores nothing.
    let expectations: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(support::golden_dir().join("fixtures/expected.json")).expect("expected.json"),
    )
    .expect("expected json");
    let mut rejected = 0;
    for (file, expected) in expectations.iter().filter(|(_, e)| e["action"] == "reject") {
        browser.upload(&support::fixture(file)).await;
        let mut wanted = vec![expected["error_kind"].as_str().expect("error_kind").to_string()];
        wanted.extend(expected["line"].as_u64().map(|line| format!("line {line}")));
        wanted.extend(expected["column"].as_str().map(|column| format!("column {column}")));
        browser
            .wait_for(&format!("the error of {file}: {wanted:?}"), Duration::from_secs(10), || async {
                let error = browser.text("upload-error").await;
                wanted.iter().all(|w| error.contains(w.as_str())).then_some(())
            })
            .await;
        rejected += 1;
    }
    assert_eq!(rejected, 9, "every bad fixture of expected.json was tried");
    let listed: serde_json::Value =
        reqwest::get(format!("{}/api/datasets", server.base_url)).await.expect("list").json().await.expect("json");
    assert_eq!(listed["datasets"].as_array().map(Vec::len), Some(0), "a rejected file stored something: {listed}");

    // Good files are stored and listed; analysing them shows the golden hedge ratio.
    for file in ["binance_um_BTCUSDT_1m_header.csv", "binance_um_ETHUSDT_1m_noheader.csv"] {
        browser.upload(&support::fixture(file)).await;
        browser
            .wait_for("the upload result", Duration::from_secs(10), || async {
                browser.text("upload-result").await.contains(&file[11..18]).then_some(())
            })
            .await;
    }
    let list = browser.text("dataset-list").await;
    assert!(list.contains("BTCUSDT ×1000") && list.contains("ETHUSDT ×1000"), "{list}");
    let options = browser.client.find_all(Locator::Css("[data-testid='dataset-x'] option")).await.expect("options");
    assert_eq!(options.len(), 3, "placeholder + two series");
    browser.select_containing("dataset-x", "BTCUSDT").await;
    browser.select_containing("dataset-y", "ETHUSDT").await;
    browser.click("dataset-analyze").await;
    let beta: f64 = browser
        .wait_for("the report's hedge ratio", Duration::from_secs(15), || async {
            let el = browser.client.find(Locator::Css("[data-testid='upload-hedge-ratio']")).await.ok()?;
            el.text().await.ok()?.parse().ok()
        })
        .await;
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(support::golden_dir().join("fixture_binance_btc_eth_1m.json")).expect("golden case"),
    )
    .expect("golden json");
    let expected = golden["expected"]["ols"]["beta"].as_f64().expect("golden beta");
    assert!((beta - expected).abs() < 5e-7, "page shows β {beta}, statsmodels says {expected}");
    check_uploaded_pair_in_live(&browser, &server.base_url, expected).await;
    browser.client.goto(&format!("{}/upload", server.base_url)).await.expect("back to upload");
    browser.wait_until_live("hydration of the upload page", Duration::from_secs(20)).await;

    // The other accepted fixtures are listed with each series' row count.
    for (file, expected) in expectations.iter().filter(|(_, e)| e["action"] == "accept") {
        if file.starts_with("binance_um_") {
            continue; // uploaded above
        }
        browser.upload(&support::fixture(file)).await;
        let series: Vec<String> = expected["symbols"]
            .as_object()
            .expect("symbols")
            .iter()
            .map(|(symbol, s)| format!("{symbol} ×{}", s["rows"].as_u64().expect("rows")))
            .collect();
        browser
            .wait_for(&format!("{file} listed as {series:?}"), Duration::from_secs(10), || async {
                let list = browser.text("dataset-list").await;
                series.iter().all(|s| list.contains(s.as_str())).then_some(())
            })
            .await;
    }
    browser.screenshot("upload").await;

    // A basket of three uploaded legs (two cointegrated with the first): ticked, analysed by
    // the server, the Johansen weights and the spread's tests shown.
    let basket_dir = tempfile::tempdir().expect("tempdir");
    for (name, _) in support::basket_files(basket_dir.path()) {
        browser.upload(&basket_dir.path().join(&name)).await;
        browser
            .wait_for("a basket leg stored", Duration::from_secs(10), || async {
                browser.text("upload-result").await.contains(&name[11..18]).then_some(())
            })
            .await;
    }
    let mut basket_keys = Vec::new();
    for checkbox in browser.client.find_all(Locator::Css("[data-testid='basket-series']")).await.expect("boxes") {
        let key = checkbox.attr("value").await.ok().flatten().unwrap_or_default();
        if ["AAAUSDT", "BBBUSDT", "CCCUSDT"].iter().any(|s| key.ends_with(&format!(":{s}"))) {
            checkbox.click().await.expect("tick");
            basket_keys.push(key);
        }
    }
    browser.click("basket-analyze").await;
    let weights = browser
        .wait_for("the basket's Johansen weights", Duration::from_secs(20), || basket_weights(&browser, 3))
        .await;
    assert!(weights.iter().all(|w| w.is_finite()) && weights.iter().any(|w| *w != 0.0), "{weights:?}");
    let adf_p: f64 = browser.text("basket-adf-p").await.parse().expect("an ADF p-value of the basket");
    assert!(adf_p < 0.05, "the cointegrated legs make a stationary basket: p {adf_p}");
    // The basket's out-of-sample backtest summary (weights from the first 300 of 600 bars).
    let trades: u64 = browser.text("basket-bt-trades").await.parse().expect("a trade count");
    let pnl = browser.text("basket-bt-pnl").await;
    assert!(pnl.parse::<f64>().is_ok() || trades == 0, "total pnl {pnl} with {trades} trades");
    let report = browser.text("basket-report").await;
    assert!(report.contains("weights fitted on bars 0–300, traded from bar 300"), "{report}");
    // The same legs on Live: computed in the browser, the same numbers as the server's.
    let served: Vec<String> = [
        weights.iter().map(|w| format!("{w:.6}")).collect::<Vec<_>>().join(" "),
        adf_p.to_string(),
        trades.to_string(),
        pnl.clone(),
    ]
    .to_vec();
    browser.client.goto(&format!("{}/?basket={}", server.base_url, basket_keys.join(","))).await.expect("open Live");
    let in_browser = browser
        .wait_for("the Live page's basket of the uploaded legs", Duration::from_secs(20), || {
            basket_weights(&browser, 3)
        })
        .await;
    let computed: Vec<String> = [
        in_browser.iter().map(|w| format!("{w:.6}")).collect::<Vec<_>>().join(" "),
        browser.text("basket-adf-p").await.parse::<f64>().map(|p| p.to_string()).unwrap_or_default(),
        browser.text("basket-bt-trades").await,
        browser.text("basket-bt-pnl").await,
    ]
    .to_vec();
    assert_eq!(computed, served, "Live (wasm) and Upload (server) disagree on the same legs");

    // Screener at 1s: a heatmap with a cell per pair that links to Live.
    browser.client.goto(&format!("{}/screener", server.base_url)).await.expect("open screener");
    let interval = browser.client.find(Locator::Css(".screener select option[value='1000']")).await.expect("1s option");
    let cells = browser
        .wait_for("a screened heatmap (30 common 1s bars)", Duration::from_secs(60), || async {
            interval.click().await.ok()?;
            browser.client.find(Locator::Css("[data-testid='screener-refresh']")).await.ok()?.click().await.ok()?;
            tokio::time::sleep(Duration::from_millis(1000)).await;
            let cells = browser.client.find_all(Locator::Css("[data-testid='heatmap-cell']")).await.ok()?;
            // Screened once 30 common 1s bars exist: each cell then carries a correlation and a p-value.
            let first = cells.first()?.text().await.ok()?;
            let p: f64 = first.split("p ").nth(1)?.trim().parse().ok()?;
            (0.0..=1.0).contains(&p).then_some(cells)
        })
        .await;
    assert_eq!(cells.len(), 8 * 7, "the demo's eight symbols → 56 off-diagonal cells");
    let href = cells[0].attr("href").await.expect("href").expect("cell links somewhere");
    assert!(href.starts_with("/?") && href.contains("x=") && href.contains("y="), "{href}");
    // The rank table: a row per pair, each linking to Live; a click on a header sorts by it.
    let (row_href, rel) = browser
        .wait_for("a rank row per pair", Duration::from_secs(20), || async {
            let rows = browser.client.find_all(Locator::Css("[data-testid='screener-row']")).await.ok()?;
            let link = rows.first()?.find(Locator::Css("a")).await.ok()?;
            let (href, rel) = (link.attr("href").await.ok()??, link.attr("rel").await.ok()?);
            (rows.len() == 28).then_some((href, rel))
        })
        .await;
    assert!(row_href.starts_with("/?") && row_href.contains("x=") && row_href.contains("y="), "{row_href}");
    assert_eq!(rel.as_deref(), Some("external"));
    // Sorted by q ascending at first; a click on "half-life" sorts by it ascending.
    for descending in [false, true] {
        // The header is drawn again with every sort: find it each time.
        let header = Locator::Css("[data-testid='rank-sort'][data-column='half-life']");
        browser.client.find(header).await.expect("half-life header").click().await.expect("sort click");
        browser
            .wait_for(&format!("rows sorted by half-life (descending: {descending})"), Duration::from_secs(10), || {
                rank_sorted_by(&browser, 4, descending)
            })
            .await;
    }
    // The sort (and the filters and source) live in the URL, so the table is shareable.
    let url = browser.client.current_url().await.expect("url");
    assert!(url.as_str().contains("sort=hl&desc=1"), "{url}");
    browser.screenshot("screener").await;
    // Screening uploaded data sets: the two Binance files give one pair, linked by series keys.
    browser.select_containing("screener-source", "uploaded").await;
    for file in ["BTCUSDT_1m_header", "ETHUSDT_1m_noheader"] {
        browser
            .wait_for(&format!("the data set {file} to pick"), Duration::from_secs(10), || async {
                let xpath = format!("//label[contains(., '{file}')]/input[@data-testid='screener-dataset']");
                browser.client.find(Locator::XPath(&xpath)).await.ok()?.click().await.ok()
            })
            .await;
    }
    let href = browser
        .wait_for("one rank row of the two uploaded series", Duration::from_secs(20), || async {
            let rows = browser.client.find_all(Locator::Css("[data-testid='screener-row']")).await.ok()?;
            let href = rows.first()?.find(Locator::Css("a")).await.ok()?.attr("href").await.ok()??;
            (rows.len() == 1 && href.contains(":BTCUSDT")).then_some(href)
        })
        .await;
    assert!(href.contains(":ETHUSDT"), "rows link to Live with the data set keys: {href}");
    let url = browser.client.current_url().await.expect("url");
    assert!(url.as_str().contains("src=ds&ds="), "{url}");
    // Backtest page: equity curve and trades table on the live view once z exists.
    browser.client.goto(&format!("{}/backtest?window=10&entry=0.5", server.base_url)).await.expect("open backtest");
    browser
        .wait_for("an equity curve", Duration::from_secs(45), || async {
            browser.attr("backtest-equity", "data-x-range").await
        })
        .await;
    // With entry 0.5 the swinging demo spread trades within seconds of z becoming available.
    let trades = browser
        .wait_for("a first backtest trade", Duration::from_secs(45), || async {
            let text = browser.text("backtest-trades").await;
            text.contains("spread").then_some(text)
        })
        .await;
    assert!(trades.contains("entry") && trades.contains("pnl"), "{trades}");
    let summary = browser.text("backtest-summary").await;
    assert!(!summary.contains("trades 0"), "{summary}");
    browser.screenshot("backtest").await;
    // Issue 10: every metric has its id, the page says which costs it could use, a cost change
    // recomputes in the page, and a sweep cell sets the sliders (the URL follows them).
    for id in ["backtest-sharpe", "backtest-total-pnl", "backtest-fees", "backtest-funding", "backtest-sweep"] {
        let _ = browser.text(id).await;
    }
    let sources = browser.text("backtest-costs-source").await;
    assert!(sources.contains("bid/ask") && sources.contains("funding"), "{sources}");
    browser
        .client
        .execute(
            r#"const i = document.querySelector("[data-testid='backtest-fee-bps']");
               i.value = "0"; i.dispatchEvent(new Event("change", {bubbles: true}));"#,
            vec![],
        )
        .await
        .expect("set fee bps");
    browser
        .wait_for("fees of 0 after the fee change", Duration::from_secs(10), || async {
            (browser.text("backtest-fees").await.trim() == "0.00").then_some(())
        })
        .await;
    let cell = browser
        .wait_for("a sweep cell", Duration::from_secs(45), || async {
            browser.client.find(Locator::Css("[data-testid='backtest-sweep-cell']")).await.ok()
        })
        .await;
    let window = cell.attr("data-window").await.expect("attr").expect("data-window");
    cell.click().await.expect("click a sweep cell");
    browser
        .wait_for("the sweep cell's window in the URL", Duration::from_secs(10), || async {
            let url = browser.client.current_url().await.ok()?;
            url.as_str().contains(&format!("window={window}&")).then_some(())
        })
        .await;

    browser.close().await;
}

/// The Upload page's "open in Live" link of the ETH data set opens the BTC/ETH files in the
/// Live workspace: pickers list live symbols and uploaded series in groups, the URL holds the
/// choice, the charts draw the files' bars and static OLS there shows statsmodels' β.
/// Whether the rank table's column `k` is sorted (rows without a number last either way);
/// `None` if not, or if the table was drawn again meanwhile.
async fn rank_sorted_by(browser: &Browser, k: usize, descending: bool) -> Option<()> {
    let mut values = Vec::new();
    for row in browser.client.find_all(Locator::Css("[data-testid='screener-row']")).await.ok()? {
        let cell = row.find(Locator::Css(&format!("td:nth-child({k})"))).await.ok()?;
        values.push(cell.text().await.ok()?.parse::<f64>().ok());
    }
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    let last_known = values.iter().rposition(Option::is_some)?;
    let ordered = known.windows(2).all(|w| if descending { w[0] >= w[1] } else { w[0] <= w[1] });
    (known.len() >= 2 && ordered && values[..=last_known].iter().all(Option::is_some)).then_some(())
}

async fn check_uploaded_pair_in_live(browser: &Browser, base: &str, golden_beta: f64) {
    let mut target = None;
    for link in browser.client.find_all(Locator::Css("[data-testid='dataset-open-live']")).await.expect("links") {
        let href = link.attr("href").await.expect("href").expect("a link target");
        if href.contains(":ETHUSDT&") {
            target = Some(href);
        }
    }
    // The ETH file (one series) pairs as y against the other data set's series as x.
    let href = target.expect("the ETH data set links into Live");
    let legs: Vec<&str> = href.trim_start_matches("/?").split('&').take(2).collect();
    assert!(legs[0].starts_with("x=") && legs[0].ends_with(":BTCUSDT"), "{href}");
    assert!(legs[1].starts_with("y=") && legs[1].ends_with(":ETHUSDT"), "{href}");
    browser.client.goto(&format!("{base}{href}")).await.expect("open the uploaded pair in Live");
    browser.wait_until_live("hydration of the Live page on uploaded series", Duration::from_secs(20)).await;
    let groups = browser.client.find_all(Locator::Css("[data-testid='pair-x'] optgroup")).await.expect("groups");
    assert_eq!(groups.len(), 2, "live and uploaded groups");
    let selected = browser
        .wait_for("the uploaded x series selected by label", Duration::from_secs(10), || async {
            let sel = browser.client.find(Locator::Css("[data-testid='pair-x'] option:checked")).await.ok()?;
            let text = sel.text().await.ok()?;
            text.contains("·").then_some(text)
        })
        .await;
    assert!(selected.starts_with("BTCUSDT · binance_um_BTCUSDT_1m_header"), "{selected}");
    browser
        .wait_for("the files' own bar spacing", Duration::from_secs(10), || async {
            browser.text("native-interval").await.contains("1000 bars of 1m").then_some(())
        })
        .await;
    let hedge = browser.client.find(Locator::Css("[data-testid='hedge-method'] option[value='ols']")).await;
    hedge.expect("OLS option").click().await.expect("select OLS");
    let beta: f64 = browser
        .wait_for("β of the uploaded pair", Duration::from_secs(15), || async {
            browser.text("hedge-ratio").await.parse().ok()
        })
        .await;
    assert!((beta - golden_beta).abs() < 1e-5, "Live shows β {beta} on the files, statsmodels says {golden_beta}");
    let lines = browser
        .wait_for("the spread chart drawn from the files", Duration::from_secs(10), || async {
            browser.attr("chart-spread", "data-lines").await.filter(|l| l.starts_with("spread|"))
        })
        .await;
    assert!(!lines.contains("sell (bid)"), "no quotes exist for files: {lines}");
    // Sliders work on the files as on live data, and the URL keeps the uploaded legs.
    let z_before = browser.text("zscore-last").await;
    assert!(z_before.parse::<f64>().is_ok(), "a z-score on 1000 joined bars: {z_before}");
    let url = browser.client.current_url().await.expect("url");
    assert!(url.as_str().contains(legs[0]) && url.as_str().contains("hedge=ols"), "{url}");
    browser.screenshot("live-uploaded").await;
}

/// Switches the Live view to static OLS, captures the "Export CSV" download, rebuilds both
/// legs' bars from it as Binance kline files and runs `pairdesk analyze --json --series` on
/// them: hedge ratio, spread, z-score and correlation must agree row by row.
async fn check_view_export_against_analyze(browser: &Browser) {
    let hedge = browser.client.find(Locator::Css("[data-testid='hedge-method'] option[value='ols']")).await;
    hedge.expect("OLS option").click().await.expect("select OLS");
    browser
        .client
        .execute(
            r#"window.__downloads = [];
               const create = URL.createObjectURL.bind(URL);
               URL.createObjectURL = blob => { window.__downloads.push(blob); return create(blob); };"#,
            vec![],
        )
        .await
        .expect("intercept downloads");
    browser.click("export-csv").await;
    let csv = browser
        .client
        .execute_async("const done = arguments[arguments.length - 1]; window.__downloads[0].text().then(done);", vec![])
        .await
        .expect("exported CSV");
    let csv = csv.as_str().expect("text").to_string();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name}"));
    let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(str::to_string).collect()).collect();
    assert!(rows.len() >= 20, "too few rows exported: {}", rows.len());
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for symbol in ["BTCUSDT", "ETHUSDT"] {
        let mut kline = String::from("open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n");
        for row in &rows {
            let cell = |field: &str| row[col(&format!("{symbol}_{field}"))].clone();
            assert!(!cell("close").is_empty(), "a 1s bar missing for {symbol} at {}", row[0]);
            let t: i64 = row[0].parse().expect("t_ms");
            kline.push_str(&format!(
                "{t},{},{},{},{},{},{},0,1,0,0,0\n",
                cell("open"),
                cell("high"),
                cell("low"),
                cell("close"),
                cell("volume"),
                t + 999
            ));
        }
        let path = dir.path().join(format!("binance_um_{symbol}_1s_export.csv"));
        std::fs::write(&path, kline).expect("write kline file");
        files.push(path);
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pairdesk"))
        .arg("analyze")
        .args(&files)
        .args(["--json", "--series", "--z-window", "10", "--corr-window", "10"])
        .output()
        .expect("run pairdesk analyze");
    assert!(output.status.success(), "analyze failed: {}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("analyze JSON");
    let number = |v: &serde_json::Value| v.as_f64();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
    let beta = report["ols"]["beta"].as_f64().expect("ols beta");
    let series = [
        ("spread", &report["spread_with_alpha"]),
        ("z", &report["zscore"]["z_ddof1"]),
        ("corr", &report["rolling_corr"]["values"]),
    ];
    let mut compared = 0;
    for (i, row) in rows.iter().enumerate() {
        let exported_beta: f64 = row[col("beta")].parse().expect("beta cell");
        assert!(close(exported_beta, beta), "row {i}: beta {exported_beta} vs analyze {beta}");
        for (name, values) in &series {
            let exported = row[col(name)].parse::<f64>().ok();
            let expected = values.get(i).and_then(number);
            match (exported, expected) {
                (Some(a), Some(b)) => {
                    assert!(close(a, b), "row {i}: {name} {a} vs analyze {b}");
                    compared += 1;
                }
                (None, None) => {}
                (a, b) => panic!("row {i}: {name} exported {a:?}, analyze {b:?}"),
            }
        }
    }
    assert!(compared >= 3 * 10, "too few values compared: {compared}");
}

async fn post_alert_rule(server: &Server, rule: &serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/alerts", server.base_url))
        .json(rule)
        .send()
        .await
        .expect("POST rule");
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

/// The basket report's weights, once there are `n` of them, all numbers.
async fn basket_weights(browser: &Browser, n: usize) -> Option<Vec<f64>> {
    let cells = browser.client.find_all(Locator::Css("[data-testid='basket-weight']")).await.ok()?;
    let mut weights = Vec::new();
    for cell in cells {
        weights.push(cell.text().await.ok()?.parse::<f64>().ok()?);
    }
    (weights.len() == n).then_some(weights)
}
