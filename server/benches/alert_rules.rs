//! What alert rules cost per closed bar (issues 11, 12); figures go to BENCHMARKS.md ("Alert rules").
//!
//! ```text
//! cargo bench -p server --bench alert_rules
//! ```
//!
//! Rules are evaluated per distinct view on the bars a page holds (`app::view::live_bars`:
//! 1,800 at 1s, 1,440 at 1m, 864 at 5m), with the page's own computation.
//!
//! 1. One view's evaluation per hedge method on a full 1s view (1,800 bars per leg, windows
//!    60/30): what one closed bar costs a view whatever number of rules watch it.
//! 2. 100 rules (`--max-alert-rules`) on one view: one evaluation shared by all of them.
//! 3. 100 rules on 100 distinct views of the costliest method: the worst case per closed bar.

use std::time::{Duration, Instant};

use app::alerts::{AlertMetric, AlertRule, Comparison};
use app::analytics::live_view::HedgeMethod;
use app::protocol::Bar;
use app::view::{live_bars, ViewAnalytics, ViewSpec};
use server::alerts::engine::RuleSet;
use server::bars::BarUpdate;

fn rule(id: usize, hedge: HedgeMethod, window: usize, corr_window: usize) -> AlertRule {
    AlertRule {
        id: format!("r{id}"),
        name: format!("rule {id}"),
        metric: AlertMetric::Zscore,
        comparison: Comparison::AbsAbove,
        threshold: 2.0,
        hysteresis: 0.5,
        view: ViewSpec {
            x: "BTCUSDT".into(),
            y: "ETHUSDT".into(),
            interval_ms: 1_000,
            analytics: ViewAnalytics { window, corr_window, hedge },
        },
        webhook: None,
    }
}

/// A cointegrated pair: x a random walk, y = 0.05·x + 170 + OU noise (deterministic LCG).
fn closes(n: usize) -> (Vec<i64>, Vec<f64>, Vec<f64>) {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut uniform = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let (mut x, mut noise) = (60_000.0, 0.0);
    let mut out = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        x *= 1.0 + 4e-4 * uniform();
        noise = 0.98 * noise + 0.6 * uniform();
        out.0.push(i as i64 * 1_000);
        out.1.push(x);
        out.2.push(0.05 * x + 170.0 + noise);
    }
    out
}

fn closed(symbol: &str, t: i64, close: f64) -> BarUpdate {
    BarUpdate {
        symbol: symbol.into(),
        interval_ms: 1_000,
        bar: Bar { t, open: close, high: close, low: close, close, volume: 1.0, count: 1 },
        closed: true,
        trade_ms: t,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Feeds `bars` aligned rows; returns the time per row of the last `timed` of them.
fn feed(set: &mut RuleSet, bars: usize, timed: usize) -> Duration {
    let (t, x, y) = closes(bars);
    let mut spent = Duration::ZERO;
    for i in 0..bars {
        let started = Instant::now();
        set.on_closed_bar(&closed("BTCUSDT", t[i], x[i]));
        set.on_closed_bar(&closed("ETHUSDT", t[i], y[i]));
        if i >= bars - timed {
            spent += started.elapsed();
        }
    }
    spent / timed as u32
}

fn main() {
    let rows = live_bars(1_000);
    println!("## one view's evaluation per closed bar, 1s view full ({rows} bars per leg), windows 60/30");
    let mut worst = (HedgeMethod::RollingOls, Duration::ZERO);
    for hedge in HedgeMethod::ALL {
        let mut set = RuleSet::default();
        set.sync(&[rule(0, hedge, 60, 30)]);
        let each = feed(&mut set, rows + 50, 50);
        println!("{:<12}: {:>8.2} ms", hedge.as_str(), ms(each));
        if each > worst.1 {
            worst = (hedge, each);
        }
    }

    println!("## 100 rules on one view (every method), per closed bar (both legs)");
    let mut set = RuleSet::default();
    let mixed: Vec<AlertRule> =
        (0..100).map(|i| rule(i, HedgeMethod::ALL[i % HedgeMethod::ALL.len()], 60, 30)).collect();
    set.sync(&mixed);
    let each = feed(&mut set, rows + 50, 50);
    println!("100 rules, 7 distinct views (one per method): {:>8.2} ms", ms(each));

    // 100 distinct views of the costliest method: each closed bar evaluates every one.
    let (hedge, each) = worst;
    println!("100 distinct {} views (100 × part 1): {:>8.2} ms", hedge.as_str(), 100.0 * ms(each));
}
