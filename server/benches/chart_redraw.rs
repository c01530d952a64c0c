//! Time to first paint of the Live page, and chart redraw time at 100k points per series
//! (issue 5), in headless Chromium driving the real page; figures go to BENCHMARKS.md
//! ("## Dashboard").
//!
//! ```text
//! make bundle && cargo bench -p server --bench chart_redraw
//! PAIRDESK_BENCH_POINTS=100000 PAIRDESK_BENCH_REDRAWS=20 cargo bench -p server --bench chart_redraw
//! ```
//!
//! Uploads two Binance kline files of `POINTS` one-minute bars through the Upload page,
//! analyses them (three stacked charts: both legs = 2 × POINTS points, z-score and
//! correlation = POINTS each), then forces `REDRAWS` redraws (a window `resize`, which every
//! chart answers) and reports, per redraw: each chart's own draw time (wasm + canvas calls,
//! the chart's `data-draw-ms`) and the wall time in the page from the event to all three
//! charts redrawn, and to their pixels rasterised (a 1-pixel `getImageData` forces it).

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::time::Duration;

use support::{Browser, Server};

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A headerless Binance kline file of `n` one-minute bars of a random walk.
fn kline_file(dir: &std::path::Path, symbol: &str, n: u64, seed: u64, start_price: f64) -> std::path::PathBuf {
    let path = dir.join(format!("binance_um_{symbol}_1m_bench.csv"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let mut state = seed;
    let mut price = start_price;
    for i in 0..n {
        // xorshift: deterministic, dependency-free noise in [-0.5, 0.5).
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let step = (state % 10_000) as f64 / 10_000.0 - 0.5;
        let open = price;
        price *= 1.0 + step * 0.002;
        let (high, low) = (open.max(price) * 1.0005, open.min(price) * 0.9995);
        let t = 1_700_000_000_000i64 + i as i64 * 60_000;
        writeln!(out, "{t},{open:.2},{high:.2},{low:.2},{price:.2},12.5,{},1000.0,42,6.0,500.0,0", t + 59_999)
            .expect("write");
    }
    out.flush().expect("flush");
    path
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let points = env_count("PAIRDESK_BENCH_POINTS", 100_000);
    let redraws = env_count("PAIRDESK_BENCH_REDRAWS", 20);
    let files = tempfile::tempdir().expect("tempdir");
    let x_file = kline_file(files.path(), "AAAUSDT", points, 0x9E37_79B9, 100.0);
    let y_file = kline_file(files.path(), "BBBUSDT", points, 0x85EB_CA6B, 50.0);

    let server = Server::start(&["--demo"]).await;
    let browser = Browser::start().await;
    // First paint of the Live page (server-rendered HTML, before and after the wasm loads):
    // the fresh browser's first navigation, then a second one with its caches warm.
    for run in ["cold browser", "warm browser"] {
        browser.client.goto(&format!("{}/?run={}", server.base_url, run.len())).await.expect("open live");
        let live_since = std::time::Instant::now();
        browser.wait_until_live("hydration and the live feed", Duration::from_secs(30)).await;
        let streaming_after = live_since.elapsed().as_secs_f64() * 1e3;
        let timings = browser
            .client
            .execute(
                r#"const nav = performance.getEntriesByType('navigation')[0];
                   const fcp = performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint');
                   return [nav.responseStart, fcp ? fcp.startTime : -1, nav.domContentLoadedEventEnd, nav.loadEventEnd];"#,
                vec![],
            )
            .await
            .expect("timings");
        let timings: Vec<f64> = serde_json::from_value(timings).expect("numbers");
        println!(
            "first paint ({run}): Live page first byte {:.1} ms, first contentful paint {:.1} ms, DOMContentLoaded {:.1} ms, load {:.1} ms; live values {streaming_after:.0} ms after navigation returned",
            timings[0], timings[1], timings[2], timings[3]
        );
    }

    browser.client.goto(&format!("{}/upload?window=500&corr=500", server.base_url)).await.expect("open upload");
    browser.wait_until_live("hydration", Duration::from_secs(30)).await;
    for (file, symbol) in [(&x_file, "AAAUSDT"), (&y_file, "BBBUSDT")] {
        browser.upload(file).await;
        browser
            .wait_for("the upload result", Duration::from_secs(60), || async {
                browser.text("upload-result").await.contains(symbol).then_some(())
            })
            .await;
    }
    browser.select_containing("dataset-x", "AAAUSDT").await;
    browser.select_containing("dataset-y", "BBBUSDT").await;
    browser.click("dataset-analyze").await;
    let drawn_points: usize = browser
        .wait_for("the price chart with both full series", Duration::from_secs(120), || async {
            let n: usize = browser.attr("dataset-chart-prices", "data-points").await?.parse().ok()?;
            (n >= 2 * points as usize).then_some(n)
        })
        .await;

    // Completion is observed with a MutationObserver on `data-draws` (setTimeout polling
    // would add its own clamped delays to the measurement).
    let script = r#"
        const done = arguments[arguments.length - 1];
        const ids = ['dataset-chart-prices', 'dataset-chart-zscore', 'dataset-chart-corr'];
        const charts = ids.map(id => document.querySelector(`[data-testid='${id}']`));
        const before = charts.map(c => +c.dataset.draws);
        const observer = new MutationObserver(() => {
          if (!charts.every((c, i) => +c.dataset.draws > before[i])) return;
          const drawn = performance.now() - t0;
          observer.disconnect();
          charts.forEach(c => c.getContext('2d').getImageData(0, 0, 1, 1));
          done([performance.now() - t0, ...charts.map(c => +c.dataset.drawMs), charts[0].width, charts[0].height, drawn]);
        });
        charts.forEach(c => observer.observe(c, {attributes: true, attributeFilter: ['data-draws']}));
        const t0 = performance.now();
        window.dispatchEvent(new Event('resize'));
    "#;
    let mut total = Vec::new();
    let mut until_drawn = Vec::new();
    let mut per_chart: [Vec<f64>; 3] = Default::default();
    let mut canvas = (0.0, 0.0);
    for _ in 0..redraws {
        let value = browser.client.execute_async(script, vec![]).await.expect("redraw");
        let row: Vec<f64> = serde_json::from_value(value).expect("numbers");
        total.push(row[0]);
        for (i, chart) in per_chart.iter_mut().enumerate() {
            chart.push(row[1 + i]);
        }
        canvas = (row[4], row[5]);
        until_drawn.push(row[6]);
    }
    total.sort_by(f64::total_cmp);
    until_drawn.sort_by(f64::total_cmp);
    for chart in &mut per_chart {
        chart.sort_by(f64::total_cmp);
    }
    let stats = |v: &[f64]| {
        format!("median {:.1} ms, p95 {:.1} ms, max {:.1} ms", percentile(v, 0.5), percentile(v, 0.95), v[v.len() - 1])
    };
    println!(
        "chart redraw: {points} bars per leg ({drawn_points} points in the price chart), canvas {}x{} px, {redraws} redraws",
        canvas.0, canvas.1
    );
    println!("chart redraw: price chart (2 x {points} points) draw: {}", stats(&per_chart[0]));
    println!("chart redraw: z-score chart ({points} points + levels) draw: {}", stats(&per_chart[1]));
    println!("chart redraw: correlation chart ({points} points) draw: {}", stats(&per_chart[2]));
    println!("chart redraw: all three charts, event to drawn (before raster): {}", stats(&until_drawn));
    println!("chart redraw: all three charts, event to rasterised: {}", stats(&total));

    // The same files as candles on the Live page (issue 12): both legs' candle charts, each
    // POINTS bars merged to one candle per pixel column, redrawn on `resize`.
    let listed: serde_json::Value =
        reqwest::get(format!("{}/api/datasets", server.base_url)).await.expect("list").json().await.expect("json");
    let id_of = |symbol: &str| {
        listed["datasets"]
            .as_array()
            .expect("datasets")
            .iter()
            .find(|d| d["symbols"][0]["symbol"] == symbol)
            .expect("data set")["id"]
            .as_u64()
            .expect("id")
    };
    let live = format!(
        "{}/?x={}:AAAUSDT&y={}:BBBUSDT&window=500&corr=500&legs=candles",
        server.base_url,
        id_of("AAAUSDT"),
        id_of("BBBUSDT")
    );
    browser.client.goto(&live).await.expect("open the files as candles on Live");
    browser.wait_until_live("hydration", Duration::from_secs(30)).await;
    let candles: usize = browser
        .wait_for("both candle charts drawn from the files", Duration::from_secs(120), || async {
            let x: usize = browser.attr("chart-candles-x", "data-candles").await?.parse().ok()?;
            let drawn: usize = browser.attr("chart-candles-y", "data-candles").await?.parse().ok()?;
            (x > 0 && drawn > 0).then_some(drawn)
        })
        .await;
    let candle_script = script.replace(
        "'dataset-chart-prices', 'dataset-chart-zscore', 'dataset-chart-corr'",
        "'chart-candles-x', 'chart-candles-y', 'chart-spread'",
    );
    let (mut candle_draw, mut candle_total) = (Vec::new(), Vec::new());
    for _ in 0..redraws {
        let value = browser.client.execute_async(&candle_script, vec![]).await.expect("redraw");
        let row: Vec<f64> = serde_json::from_value(value).expect("numbers");
        candle_draw.push(row[1].max(row[2]));
        candle_total.push(row[6]);
    }
    candle_draw.sort_by(f64::total_cmp);
    candle_total.sort_by(f64::total_cmp);
    println!("candles: {points} bars per leg merged to {candles} candles per chart, {redraws} redraws");
    println!("candles: one leg's candle chart draw (the slower of the two): {}", stats(&candle_draw));
    println!("candles: both candle charts + spread, event to drawn (before raster): {}", stats(&candle_total));
    browser.close().await;
}
