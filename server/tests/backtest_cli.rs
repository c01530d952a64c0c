//! `pairdesk backtest` end to end, and its cross-check against `tools/backtest_ref.py`, an
//! independent pandas implementation written from the methodology text alone. Two data sets:
//! a synthetic cointegrated pair generated here (with funding in both of Binance's file
//! shapes and bid/ask files, so every cost path runs) and the real Binance BTC/ETH 1-minute
//! fixture. Every metric, trade field, equity value, fold and sweep cell must agree within
//! `|a − e| ≤ 1e-6 + 1e-8·|e|` (quote currency on a 10,000 notional: rolling-window sums in
//! pandas and Rust round differently at the 1e-10 level); integers, strings, nulls exactly.
//!
//! The basket backtest (the `backtest` key of `pairdesk analyze A B C D --json`) is checked the
//! same way against `tools/basket_backtest_ref.py` (numpy Johansen by statsmodels' route, then
//! the same rules), within the same tolerance, on a synthetic 4-leg basket: one split (default
//! and with every cost flag) and walk-forward folds.
//!
//! The Python interpreter is `target/tools/py/bin/python` with pinned pandas / numpy, created by
//! `scripts/setup.sh --test`; without it the test fails and says so.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::fixture;

fn workspace() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn pairdesk<S: AsRef<std::ffi::OsStr>>(cmd: &str, args: &[S]) -> Output {
    support::pairdesk_cmd(cmd, args)
}

fn json_of(out: &Output, what: &str) -> Value {
    assert!(out.status.success(), "{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: stdout is not JSON ({e})"))
}

fn python() -> PathBuf {
    let py = workspace().join("target/tools/py/bin/python");
    assert!(
        py.is_file(),
        "{} is missing: run `scripts/setup.sh --test` (it creates the venv with pinned pandas and numpy)",
        py.display()
    );
    py
}

fn reference(args: &[String]) -> Value {
    reference_of("backtest_ref.py", args)
}

/// The JSON one of the reference scripts in `tools/` prints for `args`.
fn reference_of(script: &str, args: &[String]) -> Value {
    let out =
        Command::new(python()).arg(workspace().join("tools").join(script)).args(args).output().expect("spawn python");
    json_of(&out, &format!("{script} {args:?}"))
}

/// Every key of the reference `e` must be in `a` and agree.
fn compare(path: &str, a: &Value, e: &Value, fails: &mut Vec<String>) {
    match (e, a) {
        (Value::Object(eo), Value::Object(ao)) => {
            for (k, ev) in eo {
                match ao.get(k) {
                    Some(av) => compare(&format!("{path}.{k}"), av, ev, fails),
                    None => fails.push(format!("{path}.{k}: missing")),
                }
            }
        }
        (Value::Array(ea), Value::Array(aa)) => {
            if ea.len() != aa.len() {
                fails.push(format!("{path}: {} elements vs reference {}", aa.len(), ea.len()));
                return;
            }
            for (i, (av, ev)) in aa.iter().zip(ea).enumerate() {
                compare(&format!("{path}[{i}]"), av, ev, fails);
            }
        }
        (Value::Number(en), Value::Number(an)) if en.is_f64() || an.is_f64() => {
            let (ev, av) = (en.as_f64().unwrap_or(f64::NAN), an.as_f64().unwrap_or(f64::NAN));
            let within = (av - ev).abs() <= 1e-6 + 1e-8 * ev.abs(); // false for NaN too
            if !within {
                fails.push(format!("{path}: {av} vs reference {ev}"));
            }
        }
        (e, a) if e == a => {}
        (e, a) => fails.push(format!("{path}: {a} vs reference {e}")),
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|a| a.to_string()).collect()
}

/// Run both implementations with the same arguments and compare everything the reference says.
fn cross_check(files: &[String], flags: &[&str]) -> Value {
    let mut args = files.to_vec();
    args.extend(s(flags));
    let mut cli = args.clone();
    cli.push("--json".into());
    let rust = json_of(&pairdesk("backtest", &cli), &format!("pairdesk backtest {cli:?}"));
    let py = reference(&args);
    let mut fails = Vec::new();
    compare("", &rust, &py, &mut fails);
    assert!(
        fails.is_empty(),
        "pairdesk backtest {flags:?} vs backtest_ref.py: {} differences:\n{}",
        fails.len(),
        fails.iter().take(25).cloned().collect::<Vec<_>>().join("\n")
    );
    rust
}

/// Deterministic xorshift, approximately normal draws.
struct Rng(u64);
impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
}

/// The synthetic data set in `dir`: 3,000 1-minute bars of a BTC-like x and a cointegrated y
/// (with a ramp every 500 bars, so stops happen),
/// Binance kline CSVs; x funding in the REST shape (with marks), y funding in the archive shape
/// (no marks); x bid/ask on every bar, y on every other bar.
fn synthetic(dir: &Path) -> Vec<String> {
    let n = 3000;
    let t0: i64 = 1_709_251_200_000; // 2024-03-01, a funding boundary
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut x, mut u) = (62_000.0f64, 0.0f64);
    let mut kx = String::from("open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n");
    let mut ky = kx.clone();
    let mut bx = String::from("time,bid,ask\n");
    let mut by = bx.clone();
    let mut closes = Vec::with_capacity(n);
    for i in 0..n {
        x *= 1.0 + 0.0006 * r.gauss();
        u = 0.97 * u + 1.5 * r.gauss();
        // A ramp every 500 bars pushes z through entry and on past the stop.
        if i % 500 >= 250 && i % 500 < 262 {
            u += 4.0;
        }
        let y = 0.055 * x + 80.0 + u;
        let t = t0 + i as i64 * 60_000;
        closes.push((t, x, y));
        for (out, c) in [(&mut kx, x), (&mut ky, y)] {
            out.push_str(&format!("{t},{c:.2},{c:.2},{c:.2},{c:.2},1.0,{},1.0,1,0.5,0.5,0\n", t + 59_999));
        }
        bx.push_str(&format!("{t},{:.2},{:.2}\n", x - 0.5, x + 0.5));
        if i % 2 == 0 {
            by.push_str(&format!("{t},{:.3},{:.3}\n", y - 0.02, y + 0.03));
        }
    }
    // A settlement every 4 hours (240 bars), at a bar boundary; rates change sign.
    let mut fx = String::from("symbol,fundingTime,fundingRate,markPrice\n");
    let mut fy = String::from("calc_time,funding_interval_hours,last_funding_rate\n");
    for (k, i) in (0..n).step_by(240).enumerate() {
        let (t, xc, _) = closes[i];
        let rate = 0.0001 * (1.0 + k as f64 % 3.0) * if k % 4 == 1 { -1.0 } else { 1.0 };
        fx.push_str(&format!("SYNTHUSDT,{t},{rate},{:.2}\n", xc * 1.0001));
        fy.push_str(&format!("{t},4,{}\n", -rate / 2.0));
    }
    let mut paths = Vec::new();
    for (name, text) in [("x.csv", kx), ("y.csv", ky), ("fx.csv", fx), ("fy.csv", fy), ("bx.csv", bx), ("by.csv", by)] {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write synthetic data");
        paths.push(p.to_str().expect("utf-8 path").to_string());
    }
    paths
}

/// A synthetic 4-leg basket in `dir`: `n` headerless 1-minute Binance kline files — two random
/// walks, a third cointegrated with them (an AR(1) deviation, pushed by a ramp every 400 bars so
/// that z crosses entry both ways), and an unrelated fourth walk.
fn basket_synthetic(dir: &Path, n: usize) -> Vec<String> {
    let t0: i64 = 1_709_251_200_000;
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    let (mut a, mut b, mut d, mut u) = (100.0f64, 60.0f64, 40.0f64, 0.0f64);
    let mut files = vec![String::new(), String::new(), String::new(), String::new()];
    for i in 0..n {
        a += 0.3 * r.gauss();
        b += 0.2 * r.gauss();
        d += 0.1 * r.gauss();
        u = 0.9 * u + 0.25 * r.gauss();
        if i % 400 >= 200 && i % 400 < 206 {
            u += if (i / 400) % 2 == 0 { 0.8 } else { -0.8 };
        }
        let c = 0.6 * a + 0.4 * b + 30.0 + u;
        let t = t0 + i as i64 * 60_000;
        for (out, p) in files.iter_mut().zip([a, b, c, d]) {
            out.push_str(&format!("{t},{p:.4},{p:.4},{p:.4},{p:.4},1.0,{},1.0,1,0.5,0.5,0\n", t + 59_999));
        }
    }
    ["AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT"]
        .iter()
        .zip(files)
        .map(|(symbol, text)| {
            let p = dir.join(format!("binance_um_{symbol}_1m.csv"));
            std::fs::write(&p, text).expect("write a basket leg");
            p.to_str().expect("utf-8 path").to_string()
        })
        .collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pairdesk-backtest-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn real() -> Vec<String> {
    ["binance_um_BTCUSDT_1m_header.csv", "binance_um_ETHUSDT_1m_noheader.csv"]
        .iter()
        .map(|f| fixture(f).to_str().expect("utf-8 path").to_string())
        .collect()
}

#[test]
fn synthetic_pair_with_funding_and_book_matches_the_reference() {
    let dir = temp_dir("synthetic");
    let p = synthetic(&dir);
    let files = vec![p[0].clone(), p[1].clone()];
    let sides = ["--funding-x", &p[2], "--funding-y", &p[3], "--book-x", &p[4], "--book-y", &p[5]];
    let mut flags: Vec<&str> = sides.to_vec();
    flags.extend([
        "--entry",
        "1.5",
        "--z-window",
        "45",
        "--exit",
        "-0.3",
        "--stop-z",
        "2.6",
        "--max-hold",
        "10",
        "--slippage-bps",
        "1.5",
    ]);
    let r = cross_check(&files, &flags);
    let m = &r["metrics"];
    assert!(m["n_trades"].as_u64().unwrap_or(0) >= 10, "too few trades to check anything: {m}");
    assert!(m["funding"].as_f64().is_some_and(|f| f != 0.0), "funding must be exercised: {m}");
    let reasons: Vec<&str> =
        r["trades"].as_array().expect("trades").iter().filter_map(|t| t["reason"].as_str()).collect();
    for want in ["signal", "stop", "max_hold"] {
        assert!(reasons.contains(&want), "no {want} exit: {reasons:?}");
    }
    assert_eq!(r["lookahead"], false);

    let mut kalman: Vec<&str> = sides.to_vec();
    kalman.extend(["--hedge", "kalman", "--z-window", "60", "--entry", "1.8", "--fee-bps", "2.5"]);
    cross_check(&files, &kalman);

    let mut wf: Vec<&str> = sides.to_vec();
    wf.extend(["--walk-forward", "600,400", "--entry", "1.5", "--notional", "2500"]);
    let r = cross_check(&files, &wf);
    assert_eq!(r["folds"].as_array().map(Vec::len), Some(6));

    let mut sweep: Vec<&str> = sides.to_vec();
    sweep.extend(["--sweep", "entry=1.0:2.5:0.5,window=30,90"]);
    cross_check(&files, &sweep);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn real_binance_pair_matches_the_reference() {
    let files = real();
    let r = cross_check(&files, &[]);
    assert!(r["metrics"]["n_trades"].as_u64().unwrap_or(0) > 10);
    cross_check(&files, &["--hedge", "static", "--train", "300", "--entry", "1.5", "--fill", "same"]);
    cross_check(&files, &["--hedge-window", "90", "--z-window", "30", "--stop-z", "3", "--interval", "1m"]);
    let r = cross_check(&files, &["--hedge", "rolling_tls", "--hedge-window", "120", "--z-window", "40"]);
    assert!(r["metrics"]["n_trades"].as_u64().unwrap_or(0) > 5, "rolling TLS trades: {}", r["metrics"]);
    cross_check(&files, &["--sweep", "entry=1.0:3.5:0.25,window=30,60,120"]);
}

#[test]
fn same_bar_fills_are_flagged_and_the_analyze_report_is_the_default_backtest() {
    let files = real();
    let mut args = files.clone();
    args.extend(s(&["--json", "--fill", "same"]));
    assert_eq!(json_of(&pairdesk("backtest", &args), "fill same")["lookahead"], true);
    // `analyze` carries the default backtest with its z window and thresholds.
    let mut a = files.clone();
    a.extend(s(&["--json", "--z-window", "40", "--entry", "1.7"]));
    let report = json_of(&pairdesk("analyze", &a), "analyze");
    let mut b = files.clone();
    b.extend(s(&["--json", "--z-window", "40", "--entry", "1.7"]));
    let bt = json_of(&pairdesk("backtest", &b), "backtest");
    assert_eq!(report["backtest"]["metrics"], bt["metrics"]);
    assert_eq!(report["backtest"]["trades"], bt["trades"]);
}

#[test]
fn unusable_inputs_exit_2_with_file_line_and_column() {
    let dir = temp_dir("bad");
    let files = real();
    let bad_funding = dir.join("funding.csv");
    std::fs::write(
        &bad_funding,
        "fundingTime,fundingRate,markPrice\n1709251200000,0.0001,61000\n1709280000000,abc,61000\n",
    )
    .expect("write");
    let bad_book = dir.join("book.csv");
    std::fs::write(&bad_book, "time,bid,ask\n1709251200000,10,9\n").expect("write");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            s(&["--funding-x", bad_funding.to_str().expect("path")]),
            "funding.csv: line 3, column fundingRate: parse_error",
        ),
        (s(&["--book-y", bad_book.to_str().expect("path")]), "book.csv: line 2, column ask: invalid_value"),
        (s(&["--z-window", "900"]), "too short"),
        (s(&["--stop-z", "1.0"]), "stop z"),
        (s(&["--hedge", "static"]), "--train"),
        (s(&["--walk-forward", "300"]), "TRAIN,TEST"),
        (s(&["--walk-forward", "300,100", "--sweep", "entry=1,2"]), "walk-forward"),
        (s(&["--sweep", "entry=1:1e300:1e-300"]), "too many values"),
        (s(&["--z-window", &u64::MAX.to_string()]), "too short"),
    ];
    for (flags, want) in cases {
        let mut args = files.clone();
        args.extend(flags.clone());
        args.push("--json".into());
        let out = pairdesk("backtest", &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(want), "{flags:?}: '{want}' not in: {stderr}");
        assert!(out.stdout.is_empty(), "{flags:?}: nothing on stdout");
    }
    let bad_csv = fixture("bad_negative_price.csv");
    let out = pairdesk("backtest", &[files[0].clone(), bad_csv.to_str().expect("path").to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 8, column low"));
    let _ = std::fs::remove_dir_all(dir);
}

/// The Backtest page reads the server's book bars and funding from the CSV exports, and a
/// browser asks for them gzip-compressed: those downloads must arrive whole (they came back
/// empty, the stream panicking, before the export body was fused) and parse as side files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_side_data_downloads_arrive_compressed_and_parse() {
    let server = support::Server::start_api_only(&["--demo"]).await;
    let client = reqwest::Client::new();
    for (path, is_book) in
        [("/api/export/funding.csv?symbol=BTCUSDT", false), ("/api/export/book.csv?symbol=BTCUSDT&interval=1s", true)]
    {
        let url = format!("{}{path}", server.base_url);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let plain = client.get(&url).send().await.expect("GET").text().await.expect("body");
            let rows = if is_book {
                app::dataset::parse_book_csv(plain.as_bytes()).map(|r| r.len())
            } else {
                app::dataset::parse_funding_csv(plain.as_bytes()).map(|r| r.len())
            };
            if let Ok(rows) = rows {
                let gz = client.get(&url).header("accept-encoding", "gzip").send().await.expect("GET gzip");
                assert_eq!(gz.status(), 200, "{path}");
                let encoding = gz.headers().get("content-encoding").and_then(|v| v.to_str().ok()).map(str::to_string);
                let body = gz.bytes().await.expect("gzip body");
                assert_eq!(encoding.as_deref(), Some("gzip"), "{path}");
                assert!(
                    body.len() > 20 && body[..2] == [0x1f, 0x8b],
                    "{path}: {} bytes of gzip for {rows} rows",
                    body.len()
                );
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{path}: no parsable rows in 30 s: {rows:?}");
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
}

#[test]
fn basket_backtest_of_analyze_matches_the_reference() {
    let dir = temp_dir("basket");
    let files = basket_synthetic(&dir, 2_000);
    let runs: [&[&str]; 3] = [
        &[],
        &["--basket-walk-forward", "500,300", "--entry", "1.5", "--slippage-bps", "1"],
        &[
            "--z-window",
            "40",
            "--entry",
            "1.5",
            "--exit",
            "0.2",
            "--fee-bps",
            "2.5",
            "--slippage-bps",
            "1.5",
            "--basket-train",
            "700",
        ],
    ];
    for flags in runs {
        let mut args = files.clone();
        args.extend(s(flags));
        let mut cli = args.clone();
        cli.extend(s(&["--json", "--series"]));
        let report = json_of(&pairdesk("analyze", &cli), &format!("pairdesk analyze {cli:?}"));
        let rust = &report["backtest"];
        let py = reference_of("basket_backtest_ref.py", &args);
        let mut fails = Vec::new();
        compare("backtest", rust, &py, &mut fails);
        assert!(
            fails.is_empty(),
            "basket backtest {flags:?} vs basket_backtest_ref.py: {} differences:\n{}",
            fails.len(),
            fails.iter().take(25).cloned().collect::<Vec<_>>().join("\n")
        );
        let m = &rust["metrics"];
        assert!(m["n_trades"].as_u64().unwrap_or(0) >= 5, "too few trades to check anything: {m}");
        let sides: Vec<&str> =
            rust["trades"].as_array().expect("trades").iter().filter_map(|t| t["side"].as_str()).collect();
        assert!(sides.contains(&"long_spread") && sides.contains(&"short_spread"), "{sides:?}");
        assert_eq!(rust["weights"].as_array().map(Vec::len), Some(4));
        // Out of sample: the training weights are not the full-sample ones of the report.
        assert_ne!(rust["weights"], report["weights"]);
        if flags.contains(&"--basket-walk-forward") {
            assert_eq!(rust["folds"].as_array().map(Vec::len), Some(5), "TEST blocks of 300 tile bars 500..2000");
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}
