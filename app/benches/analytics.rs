//! Criterion benchmarks of the analytics engine on a synthetic BTC/ETH-like pair.
//!
//! Needs in `app/Cargo.toml`: `criterion = { workspace = true }` under `[dev-dependencies]` and
//! `[[bench]] name = "analytics"  harness = false`. Run with `cargo bench -p app --bench analytics`.

use app::analytics::adf::{adfuller, AdfOptions, Autolag, Regression};
use app::analytics::huber::{huber_rlm, HuberOptions};
use app::analytics::incremental::RollingPairEngine;
use app::analytics::kalman::{kalman_filter, KalmanParams};
use app::analytics::ols::ols;
use app::analytics::report::{analyze_pair, PairParams};
use app::analytics::resample::{resample_ticks, Tick};
use app::analytics::rolling::{rolling_corr_returns, rolling_zscore};
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

criterion_group!(analytics, benches);
criterion_main!(analytics);
