//! What alert rules cost per closed bar (issue 11); figures go to BENCHMARKS.md ("Alert rules").
//!
//! ```text
//! cargo bench -p server --bench alert_rules
//! ```
//!
//! 1. One evaluation per hedge method at the most rows a rule can keep (windows of 5,000:
//!    [`evaluation_rows`], Theil–Sen capped at [`THEIL_SEN_ROWS`]): one rule's worst case.
//! 2. 100 rules (`--max-alert-rules`), all on one view so that every closed bar reaches all of
//!    them, through the engine's [`RuleSet`] with the Live page's windows (60/30) over every
//!    method; and 100 of the costliest method at its largest window (100 × part 1).

use std::time::{Duration, Instant};

use app::alerts::{AlertMetric, AlertRule, AlertView, Comparison};
use app::analytics::live_view::{compute_view, HedgeMethod, ViewParams};
use app::protocol::Bar;
use server::alerts::engine::{evaluation_rows, RuleSet, THEIL_SEN_ROWS};
use server::bars::BarUpdate;

fn rule(id: usize, hedge: HedgeMethod, window: usize, corr_window: usize) -> AlertRule {
    AlertRule {
        id: format!("r{id}"),
        name: format!("rule {id}"),
        metric: AlertMetric::Zscore,
        comparison: Comparison::AbsAbove,
        threshold: 2.0,
        hysteresis: 0.5,
        view: AlertView { x: "BTCUSDT".into(), y: "ETHUSDT".into(), interval_ms: 1_000, window, corr_window, hedge },
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
    println!("## one evaluation at a rule's most rows (windows 5,000)");
    let mut worst = (HedgeMethod::RollingOls, Duration::ZERO);
    for hedge in HedgeMethod::ALL {
        let r = rule(0, hedge, 5_000, 5_000);
        let n = evaluation_rows(&r);
        let (t, x, y) = closes(n);
        let params = ViewParams { hedge, window: 5_000, corr_window: 5_000, ..ViewParams::default() };
        let reps = 20;
        let started = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(compute_view(&t, &x, &y, &params));
        }
        let each = started.elapsed() / reps;
        println!("{:<12} rows {n:>5}: {:>8.2} ms", hedge.as_str(), ms(each));
        if each > worst.1 {
            worst = (hedge, each);
        }
    }
    let (t, x, y) = closes(5_000);
    let params =
        ViewParams { hedge: HedgeMethod::TheilSen, window: 5_000, corr_window: 5_000, ..ViewParams::default() };
    let started = Instant::now();
    std::hint::black_box(compute_view(&t, &x, &y, &params));
    println!("theil_sen at 5,000 rows, were it not capped at {THEIL_SEN_ROWS}: {:>8.2} ms", ms(started.elapsed()));

    println!("## 100 rules on one view, per closed bar (both legs)");
    let mut set = RuleSet::default();
    let mixed: Vec<AlertRule> =
        (0..100).map(|i| rule(i, HedgeMethod::ALL[i % HedgeMethod::ALL.len()], 60, 30)).collect();
    set.sync(&mixed);
    let each = feed(&mut set, 400, 200);
    println!("every method, windows 60/30 (152 rows): {:>8.2} ms", ms(each));

    // Filling 100 windows of 5,000 rows evaluates every rule at every row on the way (hours);
    // a filled rule's evaluation is part 1's figure, so 100 of the costliest cost 100 times it.
    let (hedge, each) = worst;
    println!("100 × {} at its most rows (from part 1): {:>8.2} ms", hedge.as_str(), 100.0 * ms(each));
}
