//! The Backtest panel in headless Chromium (issue 10): from a cost change (the fee input) to the
//! sweep heatmap and the metrics re-rendered and the next frame drawn, on uploaded pairs of
//! 10,000 and 100,000 one-minute bars. Each change recomputes, in wasm, the backtest (rolling
//! hedge) and the 11 × 10 sweep. Figures go to BENCHMARKS.md ("## Backtest (issue 10)").
//!
//! ```text
//! make bundle && cargo bench -p server --bench backtest_page
//! PAIRDESK_BENCH_BARS=10000 PAIRDESK_BENCH_CHANGES=10 cargo bench -p server --bench backtest_page
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::time::Duration;

use fantoccini::Locator;
use support::{Browser, Server};

/// A headerless Binance kline file of `n` one-minute bars: x a random walk, y cointegrated with it.
fn kline_files(dir: &std::path::Path, tag: &str, n: usize) -> [(std::path::PathBuf, String); 2] {
    let (sx, sy) = (format!("X{tag}USDT"), format!("Y{tag}USDT"));
    let px = dir.join(format!("binance_um_{sx}_1m_bench.csv"));
    let py = dir.join(format!("binance_um_{sy}_1m_bench.csv"));
    let mut ox = std::io::BufWriter::new(std::fs::File::create(&px).expect("create"));
    let mut oy = std::io::BufWriter::new(std::fs::File::create(&py).expect("create"));
    let (mut state, mut x, mut u) = (0x9E37_79B9_7F4A_7C15u64, 100.0f64, 0.0f64);
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 10_000) as f64 / 10_000.0 - 0.5
    };
    for i in 0..n {
        x *= 1.0 + 0.002 * noise();
        u = 0.95 * u + 0.2 * noise();
        let y = 0.5 * x + 10.0 + u;
        let t = 1_700_000_000_000i64 + i as i64 * 60_000;
        for (out, c) in [(&mut ox, x), (&mut oy, y)] {
            writeln!(out, "{t},{c:.4},{c:.4},{c:.4},{c:.4},12.5,{},1000.0,42,6.0,500.0,0", t + 59_999).expect("write");
        }
    }
    ox.flush().expect("flush");
    oy.flush().expect("flush");
    [(px, sx), (py, sy)]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Sets the fee input to `arguments[0]`, waits for the heatmap's DOM to change, then for the
/// next animation frame; returns `[ms to heatmap updated, ms to next frame]`.
const CHANGE: &str = r#"
    const done = arguments[arguments.length - 1];
    const input = document.querySelector("[data-testid='backtest-fee-bps']");
    const grid = document.querySelector("[data-testid='backtest-sweep']");
    let t0 = 0;
    const observer = new MutationObserver(() => {
      observer.disconnect();
      const updated = performance.now() - t0;
      requestAnimationFrame(() => done([updated, performance.now() - t0]));
    });
    observer.observe(grid, {subtree: true, childList: true, characterData: true, attributes: true});
    t0 = performance.now();
    input.value = String(arguments[0]);
    input.dispatchEvent(new Event("change", {bubbles: true}));
"#;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sizes: Vec<usize> = std::env::var("PAIRDESK_BENCH_BARS")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let changes: usize = std::env::var("PAIRDESK_BENCH_CHANGES").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let files = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&["--demo"]).await;
    let browser = Browser::start().await;
    for (k, &n) in sizes.iter().enumerate() {
        let legs = kline_files(files.path(), &format!("{k}"), n);
        browser.client.goto(&format!("{}/upload?window=60", server.base_url)).await.expect("open upload");
        browser.wait_until_live("hydration", Duration::from_secs(30)).await;
        for (file, symbol) in &legs {
            browser.upload(file).await;
            browser
                .wait_for("the upload result", Duration::from_secs(120), || async {
                    browser.text("upload-result").await.contains(symbol.as_str()).then_some(())
                })
                .await;
        }
        browser.select_containing("dataset-x", &legs[0].1).await;
        browser.select_containing("dataset-y", &legs[1].1).await;
        browser.click("dataset-analyze").await;
        let cells = browser
            .wait_for("the sweep heatmap", Duration::from_secs(300), || async {
                let cells = browser.client.find_all(Locator::Css("[data-testid='backtest-sweep-cell']")).await.ok()?;
                (!cells.is_empty()).then_some(cells.len())
            })
            .await;
        let trades = browser.text("backtest-summary").await;
        let mut updated = Vec::new();
        let mut framed = Vec::new();
        for i in 0..changes {
            let fee = if i % 2 == 0 { 5.0 } else { 4.0 };
            let v = browser.client.execute_async(CHANGE, vec![serde_json::json!(fee)]).await.expect("change");
            let row: Vec<f64> = serde_json::from_value(v).expect("numbers");
            updated.push(row[0]);
            framed.push(row[1]);
        }
        updated.sort_by(f64::total_cmp);
        framed.sort_by(f64::total_cmp);
        let stats = |v: &[f64]| {
            format!(
                "median {:.0} ms, p95 {:.0} ms, max {:.0} ms",
                percentile(v, 0.5),
                percentile(v, 0.95),
                v[v.len() - 1]
            )
        };
        println!(
            "backtest page: {n} bars, {cells} sweep cells, {changes} fee changes; summary: {}",
            trades.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        println!("backtest page: fee change to heatmap re-rendered: {}", stats(&updated));
        println!("backtest page: fee change to the next frame drawn: {}", stats(&framed));
    }
    browser.close().await;
}
