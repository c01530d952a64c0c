//! The human-readable summary printed by `pairdesk analyze` (without `--json`): aligned tables
//! of hedge ratios, stationarity tests, the current signal and the backtest.

use std::fmt::Write as _;

use app::analytics::adf_legs::LegAdf;
use app::analytics::battery::SpreadTests;
use app::analytics::half_life::HalfLife;
use app::analytics::johansen::JohansenResult;
use app::analytics::kpss::PBound;
use app::analytics::report::Stage;

use super::pair::{Analysis, BasketAnalysis};

/// `YYYY-MM-DD HH:MM:SS UTC` of epoch milliseconds (proleptic Gregorian, Howard Hinnant's
/// days-to-civil algorithm).
fn time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", sod / 3600, sod % 3600 / 60, sod % 60)
}

/// A number with about 7 significant digits, scientific when tiny or huge.
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "n/a".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e9).contains(&a) {
        format!("{v:.4e}")
    } else {
        let digits = if a == 0.0 { 0 } else { (6 - a.log10().floor() as i32).clamp(0, 10) as usize };
        format!("{v:.digits$}")
    }
}

pub(crate) fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_else(|| "n/a".into())
}

fn pvalue(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}

fn verdict(p: f64, yes: &str, no: &str) -> String {
    match p {
        p if p < 0.01 => format!("{yes} at 1%"),
        p if p < 0.05 => format!("{yes} at 5%"),
        p if p < 0.10 => format!("{yes} at 10% only"),
        _ => no.to_string(),
    }
}

fn na<T>(s: &Stage<T>) -> String {
    format!("n/a ({})", s.error().unwrap_or("not computed"))
}

/// Render the summary (several lines, ending with a newline).
pub fn render(a: &Analysis) -> String {
    let r = &a.report;
    let m = &a.meta;
    let o = &m.options;
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "pairdesk analyze — y = {} on x = {}", m.y.symbol, m.x.symbol);
    let _ = writeln!(w, "  x  {:<12} {:>8} bars  {}", m.x.symbol, m.x.rows, m.x.source);
    let _ = writeln!(w, "  y  {:<12} {:>8} bars  {}", m.y.symbol, m.y.rows, m.y.source);
    let tf = o.timeframe.map(|t| format!(", resampled to {t}")).unwrap_or_default();
    let _ = writeln!(w, "  {:<15} {:>8} bars  {} → {}{tf}", "aligned", r.n, time(m.first_t), time(m.last_t));

    let _ = writeln!(w, "\nHedge ratio (y = alpha + beta·x)");
    let _ = writeln!(w, "  {:<16} {:>16} {:>16} {:>12} {:>12}", "method", "beta", "alpha", "beta s.e.", "r²");
    let row = |w: &mut String, name: &str, beta: String, alpha: String, se: String, r2: String| {
        let _ = writeln!(w, "  {name:<16} {beta:>16} {alpha:>16} {se:>12} {r2:>12}");
    };
    let dash = || "—".to_string();
    match &r.ols {
        Stage::Ok(f) => row(w, "OLS", num(f.beta), num(f.alpha), num(f.beta_stderr), format!("{:.6}", f.r2)),
        e => row(w, "OLS", na(e), String::new(), String::new(), String::new()),
    }
    match &r.ols_log {
        Stage::Ok(f) => row(w, "OLS on logs", num(f.beta), num(f.alpha), num(f.beta_stderr), format!("{:.6}", f.r2)),
        e => row(w, "OLS on logs", na(e), String::new(), String::new(), String::new()),
    }
    match &r.huber {
        Stage::Ok(f) => row(w, "Huber", num(f.beta), num(f.alpha), num(f.beta_stderr), dash()),
        e => row(w, "Huber", na(e), String::new(), String::new(), String::new()),
    }
    match &r.theil_sen {
        Stage::Ok(f) => row(w, "Theil–Sen", num(f.slope), num(f.intercept), dash(), dash()),
        e => row(w, "Theil–Sen", na(e), String::new(), String::new(), String::new()),
    }
    match &r.kalman {
        Stage::Ok(k) => row(w, "Kalman (last)", opt(k.last_beta), opt(k.last_alpha), dash(), dash()),
        e => row(w, "Kalman (last)", na(e), String::new(), String::new(), String::new()),
    }
    match &a.battery.tls {
        Stage::Ok(f) => row(w, "TLS (orthogonal)", num(f.beta), num(f.alpha), dash(), dash()),
        e => row(w, "TLS (orthogonal)", na(e), String::new(), String::new(), String::new()),
    }
    if let Stage::Ok(t) = &r.theil_sen {
        let _ = writeln!(w, "  Theil–Sen 95% interval of beta: [{}, {}]", num(t.low_slope), num(t.high_slope));
    }

    let _ = writeln!(w, "\nStationarity of the spread (y - beta·x - alpha, OLS)");
    let _ = writeln!(
        w,
        "  {:<16} {:>10} {:>10} {:>5} {:>9} {:>9} {:>9}  verdict",
        "test", "stat", "p-value", "lag", "crit 1%", "crit 5%", "crit 10%"
    );
    match &r.adf {
        Stage::Ok(t) => {
            let name = format!(
                "ADF ({})",
                serde_json::to_value(t.regression).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
            );
            let _ = writeln!(
                w,
                "  {name:<16} {:>10.4} {:>10} {:>5} {:>9.4} {:>9.4} {:>9.4}  {}",
                t.stat,
                pvalue(t.pvalue),
                t.usedlag,
                t.crit.p1,
                t.crit.p5,
                t.crit.p10,
                verdict(t.pvalue, "stationary", "not stationary (unit root not rejected)")
            );
        }
        e => {
            let _ = writeln!(w, "  {:<16} {}", "ADF", na(e));
        }
    }
    match &r.coint {
        Stage::Ok(c) => {
            let lag = c.resid_adf_usedlag.map(|l| l.to_string()).unwrap_or_else(|| "—".into());
            let _ = writeln!(
                w,
                "  {:<16} {:>10} {:>10} {lag:>5} {:>9.4} {:>9.4} {:>9.4}  {}",
                "Engle–Granger",
                if c.collinear { "-inf".to_string() } else { format!("{:.4}", c.stat) },
                pvalue(c.pvalue),
                c.crit.p1,
                c.crit.p5,
                c.crit.p10,
                if c.collinear {
                    "collinear (y is an exact linear function of x)".to_string()
                } else {
                    verdict(c.pvalue, "cointegrated", "not cointegrated")
                }
            );
        }
        e => {
            let _ = writeln!(w, "  {:<16} {}", "Engle–Granger", na(e));
        }
    }
    half_life_line(w, &r.half_life);
    spread_tests(w, &a.battery.tests);
    johansen(w, &a.battery.johansen);
    legs(w, &[m.x.symbol.as_str(), m.y.symbol.as_str()], &a.battery.adf_legs);

    let _ = writeln!(w, "\nSignal (last bar)");
    let _ = writeln!(w, "  {:<16} {}", "spread", opt(r.spread_last));
    match &r.zscore {
        Stage::Ok(z) => {
            let _ = writeln!(w, "  {:<16} {}", format!("z ({} bars)", z.window), opt(z.last_z));
        }
        e => {
            let _ = writeln!(w, "  {:<16} {}", "z", na(e));
        }
    }
    match &r.rolling_corr {
        Stage::Ok(c) => {
            let _ = writeln!(w, "  {:<16} {}", format!("corr ({} bars)", c.window), opt(c.last));
        }
        e => {
            let _ = writeln!(w, "  {:<16} {}", "corr", na(e));
        }
    }

    let _ = writeln!(
        w,
        "\nBacktest (enter |z| > {}, exit at z = {}; rolling hedge, next-bar fills, {} bps fees, {} bps slippage, 10,000 notional)",
        o.entry, o.exit, o.fee_bps, o.slippage_bps
    );
    match &r.backtest {
        Stage::Ok(b) => metrics_lines(w, &b.metrics),
        e => {
            let _ = writeln!(w, "  {}", na(e));
        }
    }
    s
}

/// A backtest's headline figures (pair and basket alike).
fn metrics_lines(w: &mut String, m: &app::analytics::backtest::Metrics) {
    let rate = m.win_rate.map(|r| format!(" ({:.0}%)", 100.0 * r)).unwrap_or_default();
    let _ = writeln!(w, "  {:<16} {}", "trades", m.n_trades);
    let _ = writeln!(w, "  {:<16} {}{rate}", "wins", m.wins);
    let _ = writeln!(w, "  {:<16} {}", "total pnl", num(m.total_pnl));
    let _ = writeln!(w, "  {:<16} {}", "fees", num(m.fees));
    let _ = writeln!(w, "  {:<16} {}", "sharpe", opt(m.sharpe));
    let _ = writeln!(w, "  {:<16} {}", "max drawdown", num(m.max_drawdown));
}

/// The half-life row.
fn half_life_line(w: &mut String, h: &Stage<HalfLife>) {
    match h {
        Stage::Ok(h) => {
            let hl = h.half_life.map(|v| format!("{v:.2} bars")).unwrap_or_else(|| "none (no mean reversion)".into());
            let _ = writeln!(w, "  {:<16} {hl}", "half-life");
        }
        e => {
            let _ = writeln!(w, "  {:<16} {}", "half-life", na(e));
        }
    }
}

/// KPSS, variance ratios and Hurst of a spread (rows under the ADF / Engle–Granger table).
fn spread_tests(w: &mut String, t: &SpreadTests) {
    match &t.kpss {
        Stage::Ok(k) => {
            let p = match k.p_bound {
                PBound::Exact => pvalue(k.pvalue),
                PBound::AtLeast => format!(">= {}", k.pvalue),
                PBound::AtMost => format!("<= {}", k.pvalue),
            };
            let verdict = if k.pvalue <= 0.05 { "not stationary (KPSS rejects)" } else { "stationarity not rejected" };
            let _ = writeln!(
                w,
                "  {:<16} {:>10.4} {p:>10} {:>5} {:>9.4} {:>9.4} {:>9.4}  {verdict}",
                "KPSS (c)", k.stat, k.lags, k.crit.p1, k.crit.p5, k.crit.p10
            );
        }
        e => {
            let _ = writeln!(w, "  {:<16} {}", "KPSS", na(e));
        }
    }
    match &t.hurst {
        Stage::Ok(h) => {
            let v = if *h < 0.5 { "mean-reverting" } else { "random walk or trending" };
            let _ = writeln!(w, "  {:<16} {h:.4}  {v}", "Hurst");
        }
        e => {
            let _ = writeln!(w, "  {:<16} {}", "Hurst", na(e));
        }
    }
    match &t.variance_ratio {
        Stage::Ok(v) => {
            let cells: Vec<String> =
                v.iter().map(|r| format!("q={}: {:.3} (p {})", r.lags, r.vr, pvalue(r.pvalue))).collect();
            let _ = writeln!(w, "  {:<16} {}", "variance ratio", cells.join("  "));
        }
        e => {
            let _ = writeln!(w, "  {:<16} {}", "variance ratio", na(e));
        }
    }
}

/// Johansen trace / max-eigenvalue table.
fn johansen(w: &mut String, j: &Stage<JohansenResult>) {
    match j {
        Stage::Ok(j) => {
            let _ = writeln!(
                w,
                "\nJohansen (det_order {}, k_ar_diff {}; rank by trace at 95%: {})",
                j.det_order,
                j.k_ar_diff,
                j.trace_rank_95()
            );
            let _ = writeln!(
                w,
                "  {:<8} {:>10} {:>10} {:>10} {:>10} {:>10}",
                "rank <=", "eig", "trace", "crit 95%", "max-eig", "crit 95%"
            );
            for r in 0..j.eig.len() {
                let _ = writeln!(
                    w,
                    "  {r:<8} {:>10.5} {:>10.3} {:>10.3} {:>10.3} {:>10.3}",
                    j.eig[r], j.lr1[r], j.cvt[r][1], j.lr2[r], j.cvm[r][1]
                );
            }
        }
        e => {
            let _ = writeln!(w, "\nJohansen: {}", na(e));
        }
    }
}

/// ADF of each leg in levels and differences.
fn legs(w: &mut String, names: &[&str], legs: &[Stage<LegAdf>]) {
    let _ = writeln!(w, "\nUnit roots of the legs (ADF p-values)");
    for (name, l) in names.iter().zip(legs) {
        match l {
            Stage::Ok(l) => {
                let v = if l.i1_at_5pct { "I(1)" } else { "not clearly I(1)" };
                let _ = writeln!(
                    w,
                    "  {name:<16} levels {:>10}  differences {:>10}  {v}",
                    pvalue(l.levels.pvalue),
                    pvalue(l.diff.pvalue)
                );
            }
            e => {
                let _ = writeln!(w, "  {name:<16} {}", na(e));
            }
        }
    }
}

/// Render the summary of a basket.
pub fn render_basket(a: &BasketAnalysis) -> String {
    let b = &a.basket;
    let m = &a.meta;
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "pairdesk analyze — basket of {} legs (Johansen weights)", m.legs.len());
    for (l, wt) in m.legs.iter().zip(&b.weights) {
        let _ = writeln!(w, "  {:<12} {:>8} bars  weight {:>14}  {}", l.symbol, l.rows, num(*wt), l.source);
    }
    let _ = writeln!(w, "  {:<12} {:>8} bars  {} → {}", "aligned", m.rows, time(m.first_t), time(m.last_t));
    johansen(w, &Stage::Ok(b.johansen.clone()));
    let _ = writeln!(w, "\nStationarity of the basket spread (sum of weight·close)");
    match &b.adf {
        Stage::Ok(t) => {
            let _ = writeln!(
                w,
                "  {:<16} {:>10.4} {:>10} {:>5}  {}",
                "ADF (c)",
                t.stat,
                pvalue(t.pvalue),
                t.usedlag,
                verdict(t.pvalue, "stationary", "not stationary (unit root not rejected)")
            );
        }
        e => {
            let _ = writeln!(w, "  {:<16} {}", "ADF", na(e));
        }
    }
    spread_tests(w, &b.tests);
    half_life_line(w, &b.half_life);
    let z = match &b.zscore {
        Stage::Ok(z) => format!("z ({} bars) {}", z.window, opt(b.z_last)),
        e => na(e),
    };
    let _ = writeln!(w, "  {:<16} {z}", "signal");
    let names: Vec<&str> = m.legs.iter().map(|l| l.symbol.as_str()).collect();
    legs(w, &names, &b.adf_legs);
    let o = &m.options;
    match &a.backtest {
        Stage::Ok(bt) => {
            let _ = writeln!(
                w,
                "\nBacktest out of sample (weights fitted on bars 0..{}, trading from bar {}; enter |z| > {}, exit at z = {}; next-bar fills, {} bps fees and {} bps slippage per leg, 10,000 gross notional)",
                bt.train, bt.first_bar, o.entry, o.exit, o.fee_bps, o.slippage_bps
            );
            let weights: Vec<String> = bt.weights.iter().map(|v| num(*v)).collect();
            let _ = writeln!(w, "  {:<16} {}", "weights (train)", weights.join(", "));
            metrics_lines(w, &bt.metrics);
        }
        e => {
            let _ = writeln!(w, "\nBacktest\n  {}", na(e));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_times() {
        assert_eq!(super::time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::time(1_709_251_200_000), "2024-03-01 00:00:00 UTC");
        assert_eq!(super::time(1_514_505_600_000), "2017-12-29 00:00:00 UTC");
        assert_eq!(super::time(951_782_400_000 + 3_723_000), "2000-02-29 01:02:03 UTC");
        assert_eq!(super::time(-1_000), "1969-12-31 23:59:59 UTC");
    }
}
