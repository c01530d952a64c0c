//! Criterion benchmarks of the analytics engine on a synthetic BTC/ETH-like pair, including
//! the issue-3 targets (group `targets`): incremental update per bar, ADF with autolag on 1,440
//! and 10,000 points, exact Theil–Sen on 5,000, Kalman over 1,000,000, and the screener of
//! 50 symbols × 1,440 closes (1,225 pairs, OLS + ADF AIC) on 2 threads; and the issue-10
//! backtest targets: 100,000 bars with the rolling hedge, the 11 × 10 sweep on 10,000 bars;
//! and the issue-13 targets (group `battery`): Johansen on 4 × 10,000, KPSS auto on 10,000,
//! screener v2 (`rank_pairs`) over 200 symbols × 1,440 bars (19,900 pairs) on 2 threads, with
//! the Python stack (`tools/bench/screener_v2.py`) timed on the same data in the same run.
//!
//! Group `tape`: the live p-value tape's incremental cost per closed bar (Engle–Granger, ADF and
//! half-life of the newest 240-bar window, with the alignment of the legs' tail, as the push
//! feed runs it) and its snapshot (500 points over a 1m view's 1,440 bars).
//!
//! Run with `cargo bench -p app --bench analytics` (BENCHMARKS.md "## Analytics" has the
//! figures and the Python comparison; `cargo bench -p app --bench analytics -- targets` for
//! the target group only).

use app::analytics::adf::{adfuller, AdfOptions, Autolag, Regression};
use app::analytics::backtest::{run_backtest, sweep, BacktestParams, Market, SweepSpec};
use app::analytics::huber::{huber_rlm, HuberOptions};
use app::analytics::incremental::RollingPairEngine;
use app::analytics::johansen::coint_johansen;
use app::analytics::kalman::{kalman_filter, KalmanParams};
use app::analytics::kpss::{kpss, KpssLags, KpssRegression};
use app::analytics::ols::ols;
use app::analytics::report::{analyze_pair, PairParams};
use app::analytics::resample::{resample_ticks, Tick};
use app::analytics::rolling::{rolling_corr_returns, rolling_zscore};
use app::analytics::screener::{rank_pairs, screen_pairs, ScreenOptions, ScreenTest};
use app::analytics::theil_sen::theil_sen;
use criterion::{black_box, criterion_group, criterion_main, Criterion};

/// Deterministic cointegrated pair (x ~ 60000 random walk, y = 0.055 x + AR(1) noise).
fn pair(n: usize) -> (Vec<i64>, Vec<f64>, Vec<f64>) {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut uni = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        ((s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64) / (1u64 << 53) as f64 - 0.5
    };
    let (mut x, mut u) = (60_000.0, 0.0);
    let (mut xs, mut ys) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        x *= 1.0 + 0.002 * uni();
        u = 0.9 * u + 4.0 * uni();
        xs.push(x);
        ys.push(0.055 * x + 100.0 + u);
    }
    ((0..n as i64).map(|i| i * 60_000).collect(), xs, ys)
}

fn benches(c: &mut Criterion) {
    let (t, x, y) = pair(5_000);
    let fit = ols(&x, &y).expect("ols");
    let s = app::analytics::rolling::spread(&x, &y, fit.alpha, fit.beta);
    let adf_opts = AdfOptions { regression: Regression::C, autolag: Some(Autolag::Aic), maxlag: None };

    c.bench_function("ols n=5000", |b| b.iter(|| ols(black_box(&x), black_box(&y))));
    c.bench_function("huber n=5000", |b| b.iter(|| huber_rlm(black_box(&x), black_box(&y), &HuberOptions::default())));
    c.bench_function("theil_sen n=2000", |b| b.iter(|| theil_sen(black_box(&x[..2000]), black_box(&y[..2000]), 0.95)));
    c.bench_function("kalman n=5000", |b| {
        b.iter(|| kalman_filter(black_box(&x), black_box(&y), &KalmanParams::default()))
    });
    c.bench_function("zscore W=60 n=5000", |b| b.iter(|| rolling_zscore(black_box(&s), 60, "spread")));
    c.bench_function("rolling_corr W=30 n=5000", |b| b.iter(|| rolling_corr_returns(black_box(&x), black_box(&y), 30)));
    c.bench_function("adf AIC n=5000", |b| b.iter(|| adfuller(black_box(&s), &adf_opts)));
    let mut quick = PairParams { theil_sen_max_n: 1_000, include_series: false, ..PairParams::default() };
    c.bench_function("analyze_pair n=5000 (no theil_sen, no series)", |b| {
        b.iter(|| analyze_pair(black_box(&t), black_box(&x), black_box(&y), &quick))
    });
    quick.include_series = true;
    quick.theil_sen_max_n = 5_000;
    let (t1, x1, y1) = pair(1_000);
    c.bench_function("analyze_pair n=1000 (everything)", |b| {
        b.iter(|| analyze_pair(black_box(&t1), black_box(&x1), black_box(&y1), &quick))
    });
    c.bench_function("engine push (W=60/60/30), per 5000 bars", |b| {
        let mut eng = RollingPairEngine::new(60, 60, 30).expect("engine");
        let mut k: i64 = 0;
        b.iter(|| {
            for i in 0..x.len() {
                k += 1;
                black_box(eng.push(k, x[i], y[i]).expect("push"));
            }
        })
    });
    let ticks: Vec<Tick> = (0..100_000)
        .map(|i| Tick { t: 1_700_000_000_000 + i * 37, price: x[i as usize % x.len()], qty: 0.01 })
        .collect();
    c.bench_function("resample 100k ticks to 1s", |b| b.iter(|| resample_ticks(black_box(&ticks), 1_000)));
}

/// `k` deterministic 1m close series of length `n`: a common BTC-like factor plus
/// idiosyncratic AR(1) noise at different price levels (some pairs cointegrate, some do not).
fn universe(k: usize, n: usize) -> Vec<Vec<f64>> {
    let (_, common, _) = pair(n);
    (0..k)
        .map(|j| {
            let mut s: u64 = 0xD1B5_4A32_D192_ED03 ^ (j as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut uni = move || {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            };
            let (scale, phi) = (0.001 * (j as f64 + 1.0), if j % 3 == 0 { 0.999 } else { 0.9 });
            let (mut u, mut w) = (0.0, 1.0);
            common
                .iter()
                .map(|c| {
                    u = phi * u + 0.004 * uni();
                    w *= 1.0 + 0.0005 * uni();
                    scale * c * w * (1.0 + u)
                })
                .collect()
        })
        .collect()
}

/// The issue-3 performance targets.
fn targets(c: &mut Criterion) {
    let adf_opts = AdfOptions { regression: Regression::C, autolag: Some(Autolag::Aic), maxlag: None };
    let mut g = c.benchmark_group("targets");

    // Incremental engine: one aligned bar pushed (rolling OLS hedge, spread, z, corr).
    let (_, x, y) = pair(100_000);
    let mut eng = RollingPairEngine::new(60, 60, 30).expect("engine");
    let (mut k, mut i) = (0i64, 0usize);
    g.bench_function("engine push, per bar (W=60/60/30)", |b| {
        b.iter(|| {
            k += 1;
            i = if i + 1 == x.len() { 0 } else { i + 1 };
            black_box(eng.push(k, x[i], y[i]).expect("push"))
        })
    });

    for n in [1_440usize, 10_000] {
        let (_, x, y) = pair(n);
        let fit = ols(&x, &y).expect("ols");
        let s = app::analytics::rolling::spread(&x, &y, fit.alpha, fit.beta);
        g.bench_function(format!("adf AIC n={n}"), |b| b.iter(|| adfuller(black_box(&s), &adf_opts)));
    }

    g.sample_size(10);
    let (_, x5, y5) = pair(5_000);
    g.bench_function("theil_sen exact n=5000", |b| b.iter(|| theil_sen(black_box(&x5), black_box(&y5), 0.95)));

    let (_, xm, ym) = pair(1_000_000);
    g.bench_function("kalman n=1000000", |b| {
        b.iter(|| kalman_filter(black_box(&xm), black_box(&ym), &KalmanParams::default()))
    });

    let data = universe(50, 1_440);
    let series: Vec<&[f64]> = data.iter().map(Vec::as_slice).collect();
    for threads in [2usize, 1] {
        let opts = ScreenOptions { test: ScreenTest::Adf(adf_opts), threads };
        g.bench_function(format!("screener 50x1440 (1225 pairs, OLS+ADF AIC), {threads} thread(s)"), |b| {
            b.iter(|| screen_pairs(black_box(&series), &opts).expect("screen"))
        });
    }

    // Issue 10: the backtest with its defaults (rolling OLS W=60, fees) on 100k bars, and the
    // page's sweep: entry 1.0–3.5 step 0.25 × 10 z windows on 10k bars.
    let (tb, xb, yb) = pair(100_000);
    let p = BacktestParams::default();
    g.bench_function("backtest rolling_ols n=100000", |b| {
        b.iter(|| run_backtest(&Market::closes(black_box(&tb), black_box(&xb), black_box(&yb)), &p).expect("bt"))
    });
    let spec = SweepSpec {
        entries: SweepSpec::range(1.0, 3.5, 0.25).expect("range"),
        windows: vec![20, 30, 45, 60, 90, 120, 180, 240, 360, 480],
    };
    let (ts, xs, ys) = pair(10_000);
    g.bench_function("backtest sweep 11x10 n=10000", |b| {
        b.iter(|| sweep(&Market::closes(black_box(&ts), black_box(&xs), black_box(&ys)), &p, &spec).expect("sweep"))
    });
    g.finish();
}

/// The issue-13 targets, then the Python reference on the same screener data: the interpreter
/// is `$PAIRDESK_BENCH_PY` (a venv with tools/golden/requirements.txt), else
/// `/tmp/battery_venv/bin/python`; `$PAIRDESK_BENCH_PY_PAIRS` pairs are timed (default 400) and
/// the figure for all 19,900 extrapolated by the script.
fn battery(c: &mut Criterion) {
    let mut g = c.benchmark_group("battery");
    g.sample_size(10);
    let legs = universe(4, 10_000);
    let refs: Vec<&[f64]> = legs.iter().map(Vec::as_slice).collect();
    g.bench_function("johansen 4x10000 (det_order 0, k_ar_diff 1)", |b| {
        b.iter(|| coint_johansen(black_box(&refs), 0, 1).expect("johansen"))
    });
    let (_, x, y) = pair(10_000);
    let fit = ols(&x, &y).expect("ols");
    let s = app::analytics::rolling::spread(&x, &y, fit.alpha, fit.beta);
    g.bench_function("kpss auto n=10000", |b| {
        b.iter(|| kpss(black_box(&s), KpssRegression::C, KpssLags::Auto).expect("kpss"))
    });
    let data = universe(200, 1_440);
    let series: Vec<&[f64]> = data.iter().map(Vec::as_slice).collect();
    let liq: Vec<f64> = (0..200).map(|k| 1_000.0 + k as f64).collect();
    g.bench_function("screener v2 200x1440 (19900 pairs: OLS, EG AIC, half-life, Hurst, KPSS, BH), 2 threads", |b| {
        b.iter(|| rank_pairs(black_box(&series), Some(&liq), 2).expect("rank"))
    });
    g.finish();
    python_battery(&data, &legs, &s);
}

fn python_battery(data: &[Vec<f64>], legs: &[Vec<f64>], kpss_input: &[f64]) {
    let py = std::env::var("PAIRDESK_BENCH_PY").unwrap_or_else(|_| "/tmp/battery_venv/bin/python".into());
    if !std::path::Path::new(&py).exists() {
        println!(
            "python screener: {py} not found (set PAIRDESK_BENCH_PY to a venv with tools/golden/requirements.txt)"
        );
        return;
    }
    let dir = std::env::temp_dir().join("pairdesk_bench");
    let write = |name: &str, cols: &[&[f64]]| -> Option<std::path::PathBuf> {
        let path = dir.join(name);
        let rows: Vec<String> = (0..cols[0].len())
            .map(|t| cols.iter().map(|s| format!("{:?}", s[t])).collect::<Vec<_>>().join(","))
            .collect();
        match std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, rows.join("\n") + "\n")) {
            Ok(()) => Some(path),
            Err(e) => {
                println!("python battery: cannot write {}: {e}", path.display());
                None
            }
        }
    };
    let (Some(path), Some(jpath), Some(kpath)) = (
        write("screener_200x1440.csv", &data.iter().map(Vec::as_slice).collect::<Vec<_>>()),
        write("johansen_4x10000.csv", &legs.iter().map(Vec::as_slice).collect::<Vec<_>>()),
        write("kpss_10000.csv", &[kpss_input]),
    ) else {
        return;
    };
    let pairs = std::env::var("PAIRDESK_BENCH_PY_PAIRS").unwrap_or_else(|_| "400".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tools/bench/screener_v2.py");
    match std::process::Command::new(&py)
        .arg(script)
        .arg(&path)
        .args(["--pairs", &pairs, "--blas-threads", "1"])
        .arg("--johansen")
        .arg(&jpath)
        .arg("--kpss")
        .arg(&kpath)
        .output()
    {
        Ok(o) => println!(
            "python battery ({py}): {}{}",
            String::from_utf8_lossy(&o.stdout).trim(),
            String::from_utf8_lossy(&o.stderr).lines().last().map(|l| format!(" [stderr: {l}]")).unwrap_or_default()
        ),
        Err(e) => println!("python battery: cannot run {py}: {e}"),
    }
}

fn tape(c: &mut Criterion) {
    use app::analytics::resample::Bar;
    use app::analytics::tape::{snapshot_tape, tape_of_bars, TAPE_WINDOW};
    let mut g = c.benchmark_group("tape");
    let (t, x, y) = pair(1_440);
    let bars = |closes: &[f64]| -> Vec<Bar> {
        t.iter()
            .zip(closes)
            .map(|(&t, &c)| Bar { t, open: c, high: c, low: c, close: c, volume: 1.0, count: 1 })
            .collect()
    };
    let (xb, yb) = (bars(&x), bars(&y));
    let last = *t.last().expect("bars");
    g.bench_function("tape per closed bar (W=240: align tail, EG AIC, ADF AIC, half-life)", |b| {
        b.iter(|| tape_of_bars(black_box(&xb), black_box(&yb), 60_000, last, TAPE_WINDOW, 1))
    });
    // The longest window a subscribe may ask for (TAPE_WINDOW_RANGE): what one window change costs.
    let longest = app::analytics::tape::TAPE_WINDOW_RANGE.1;
    g.bench_function("tape per closed bar (W=1000)", |b| {
        b.iter(|| tape_of_bars(black_box(&xb), black_box(&yb), 60_000, last, longest, 1))
    });
    g.sample_size(10);
    g.bench_function("tape snapshot (500 points, W=240, 1440 1m bars)", |b| {
        b.iter(|| snapshot_tape(black_box(&xb), black_box(&yb), 60_000, TAPE_WINDOW))
    });
    g.bench_function("tape snapshot (441 points, W=1000, 1440 1m bars)", |b| {
        b.iter(|| snapshot_tape(black_box(&xb), black_box(&yb), 60_000, longest))
    });
    g.finish();
}

criterion_group!(analytics, benches, targets, battery, tape);
criterion_main!(analytics);
