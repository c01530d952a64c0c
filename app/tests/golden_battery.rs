//! Golden tests of the statistics battery (issue 13) against `app/tests/golden/battery/*.json`,
//! written by `tools/golden/generate_battery.py` with statsmodels 0.15.0 / arch 8.0.0 /
//! numpy 2.4.6: Johansen, KPSS, variance ratio, Hurst, TLS, ADF on each leg, baskets and
//! Benjamini–Hochberg. Every field is compared; the tolerance classes are the `battery.*` keys
//! of `app/tests/golden/tolerances.json` (each stated there beside what it applies to and the
//! largest disagreement seen). Integers, flags and critical-value tables must match exactly.
//!
//! Directory: `$PAIRDESK_GOLDEN_DIR/battery` if set, else `<crate>/tests/golden/battery`. A
//! missing directory or missing case kind is a failure, never a skip.

use app::analytics::adf::{adfuller, AdfOptions};
use app::analytics::adf_legs::adf_levels_and_diff;
use app::analytics::basket::{analyze_basket, BasketParams};
use app::analytics::battery::spread_tests;
use app::analytics::hurst::hurst;
use app::analytics::johansen::coint_johansen;
use app::analytics::kpss::{kpss, KpssLags, KpssRegression, PBound};
use app::analytics::multitest::bh_qvalues;
use app::analytics::ols::ols_with_resid;
use app::analytics::screener::rank_pairs;
use app::analytics::tls::tls;
use app::analytics::variance_ratio::variance_ratio;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

fn golden_dir() -> PathBuf {
    match std::env::var_os("PAIRDESK_GOLDEN_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden")),
    }
}

fn load(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn cases() -> Vec<Value> {
    let dir = golden_dir().join("battery");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("battery golden directory {} not readable: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let v: Vec<Value> = paths.iter().map(|p| load(p)).collect();
    assert!(v.len() >= 10, "expected >= 10 battery cases in {}, found {}", dir.display(), v.len());
    v
}

#[derive(Clone, Copy, Debug)]
struct Tol {
    rtol: f64,
    atol: f64,
}

fn tol(key: &str) -> Tol {
    let t = load(&golden_dir().join("tolerances.json"));
    let e = &t[key];
    Tol {
        rtol: e["rtol"].as_f64().unwrap_or_else(|| panic!("tolerances.json: {key}.rtol missing")),
        atol: e["atol"].as_f64().unwrap_or_else(|| panic!("tolerances.json: {key}.atol missing")),
    }
}

/// Largest disagreement seen per class (printed with `--nocapture`, for the tolerance table).
static WORST: Mutex<BTreeMap<String, (f64, f64)>> = Mutex::new(BTreeMap::new());

fn close(class: &str, what: &str, got: f64, exp: f64) {
    let t = tol(class);
    let d = (got - exp).abs();
    {
        let mut w = WORST.lock().unwrap();
        let e = w.entry(class.to_string()).or_insert((0.0, 0.0));
        e.0 = e.0.max(d);
        if exp != 0.0 {
            e.1 = e.1.max(d / exp.abs());
        }
    }
    assert!(
        d <= t.atol + t.rtol * exp.abs() || (got.is_nan() && exp.is_nan()),
        "{what}: got {got:e}, expected {exp:e} (|diff| {d:e} > atol {} + rtol {} |exp|) [{class}]",
        t.atol,
        t.rtol
    );
}

fn report() {
    for (k, (a, r)) in WORST.lock().unwrap().iter() {
        println!("largest disagreement {k}: abs {a:.2e} rel {r:.2e}");
    }
}

fn f(v: &Value, what: &str) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{what}: not a number: {v}"))
}

fn fs(v: &Value, what: &str) -> Vec<f64> {
    v.as_array().unwrap_or_else(|| panic!("{what}: not an array")).iter().map(|a| f(a, what)).collect()
}

fn u(v: &Value) -> usize {
    v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}")) as usize
}

struct Legs {
    names: Vec<String>,
    data: Vec<Vec<f64>>,
}

impl Legs {
    fn of(case: &Value) -> Legs {
        let names: Vec<String> =
            case["inputs"]["legs"].as_array().expect("legs").iter().map(|s| s.as_str().unwrap().to_string()).collect();
        let data = names.iter().map(|n| fs(&case["inputs"]["series"][n], n)).collect();
        Legs { names, data }
    }
    fn slices(&self) -> Vec<&[f64]> {
        self.data.iter().map(Vec::as_slice).collect()
    }
    fn get(&self, name: &str) -> &[f64] {
        let i = self.names.iter().position(|n| n == name).unwrap_or_else(|| panic!("no leg {name}"));
        &self.data[i]
    }
}

fn battery_cases() -> Vec<Value> {
    let v: Vec<Value> = cases().into_iter().filter(|c| c["kind"] == "battery").collect();
    assert!(v.len() >= 10, "expected >= 10 battery cases");
    assert!(v.iter().any(|c| c["inputs"]["legs"].as_array().unwrap().len() == 3), "no 3-leg basket");
    assert!(v.iter().any(|c| c["inputs"]["legs"].as_array().unwrap().len() == 4), "no 4-leg basket");
    v
}

fn name(c: &Value) -> &str {
    c["name"].as_str().unwrap()
}

#[test]
fn johansen_every_det_order_and_lag() {
    let mut checked = 0;
    for c in battery_cases() {
        let legs = Legs::of(&c);
        for e in c["expected"]["johansen"].as_array().unwrap() {
            let det = e["det_order"].as_i64().unwrap() as i32;
            let kd = u(&e["k_ar_diff"]);
            let w = format!("{} johansen det_order {det} k_ar_diff {kd}", name(&c));
            let r = coint_johansen(&legs.slices(), det, kd).unwrap_or_else(|err| panic!("{w}: {err}"));
            assert_eq!(r.nobs, u(&e["nobs"]), "{w}: nobs");
            let k = legs.names.len();
            for i in 0..k {
                close("battery.johansen.eig", &format!("{w} eig[{i}]"), r.eig[i], f(&e["eig"][i], "eig"));
                close("battery.johansen.stat", &format!("{w} lr1[{i}]"), r.lr1[i], f(&e["lr1"][i], "lr1"));
                close("battery.johansen.stat", &format!("{w} lr2[{i}]"), r.lr2[i], f(&e["lr2"][i], "lr2"));
                assert_eq!(r.cvt[i].to_vec(), fs(&e["cvt"][i], "cvt"), "{w}: cvt[{i}]");
                assert_eq!(r.cvm[i].to_vec(), fs(&e["cvm"][i], "cvm"), "{w}: cvm[{i}]");
            }
            // Column 0 (the basket weights) must match in sign too; columns >= 1 up to sign
            // (statsmodels keeps LAPACK geev's arbitrary sign there, see johansen.rs).
            for j in 0..k {
                let exp: Vec<f64> = (0..k).map(|i| f(&e["evec"][i][j], "evec")).collect();
                let got: Vec<f64> = (0..k).map(|i| r.evec[i][j]).collect();
                let dot: f64 = exp.iter().zip(&got).map(|(a, b)| a * b).sum();
                let s = if j == 0 { 1.0 } else { dot.signum() };
                let scale = exp.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for i in 0..k {
                    // Eigenvector entries are compared relative to the column's largest entry.
                    close(
                        "battery.johansen.evec",
                        &format!("{w} evec[{i}][{j}] / max|col|"),
                        got[i] * s / scale,
                        exp[i] / scale,
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 90, "only {checked} Johansen blocks");
    report();
}

fn kpss_opts(e: &Value) -> (KpssRegression, KpssLags) {
    let reg = match e["regression"].as_str().unwrap() {
        "c" => KpssRegression::C,
        "ct" => KpssRegression::Ct,
        r => panic!("regression {r}"),
    };
    let lags = match &e["nlags"] {
        Value::String(s) if s == "auto" => KpssLags::Auto,
        Value::String(s) if s == "legacy" => KpssLags::Legacy,
        v => KpssLags::Fixed(u(v)),
    };
    (reg, lags)
}

fn check_kpss(w: &str, r: &app::analytics::kpss::KpssResult, e: &Value) {
    close("battery.kpss.stat", &format!("{w} stat"), r.stat, f(&e["stat"], "stat"));
    close("battery.kpss.pvalue", &format!("{w} pvalue"), r.pvalue, f(&e["pvalue"], "pvalue"));
    let bound = match e["p_bound"].as_str() {
        None => PBound::Exact,
        Some("at_least") => PBound::AtLeast,
        Some("at_most") => PBound::AtMost,
        Some(b) => panic!("p_bound {b}"),
    };
    assert_eq!(r.p_bound, bound, "{w}: p_bound");
    assert_eq!(r.lags, u(&e["lags"]), "{w}: lags");
    let c = &e["crit"];
    assert_eq!(
        [r.crit.p10, r.crit.p5, r.crit.p2_5, r.crit.p1],
        [f(&c["10%"], "crit"), f(&c["5%"], "crit"), f(&c["2.5%"], "crit"), f(&c["1%"], "crit")],
        "{w}: crit"
    );
}

fn series<'a>(legs: &'a Legs, basket: &'a [f64], name: &str) -> &'a [f64] {
    if name == "basket_spread" {
        basket
    } else {
        legs.get(name)
    }
}

#[test]
fn kpss_vr_hurst_on_legs_and_basket_spreads() {
    let (mut nk, mut nv, mut nh, mut bounds) = (0, 0, 0, [0usize; 3]);
    for c in battery_cases() {
        let legs = Legs::of(&c);
        // The basket spread is fed as Python computed it, so each test is checked in isolation.
        let bs = fs(&c["expected"]["basket"]["spread"], "spread");
        for e in c["expected"]["kpss"].as_array().unwrap() {
            let s = e["series"].as_str().unwrap();
            let (reg, lags) = kpss_opts(e);
            let w = format!("{} kpss {s} {reg:?} {lags:?}", name(&c));
            let r = kpss(series(&legs, &bs, s), reg, lags).unwrap_or_else(|err| panic!("{w}: {err}"));
            check_kpss(&w, &r, e);
            bounds[r.p_bound as usize] += 1;
            nk += 1;
        }
        for e in c["expected"]["variance_ratio"].as_array().unwrap() {
            let s = e["series"].as_str().unwrap();
            let q = u(&e["lags"]);
            let w = format!("{} variance_ratio {s} q={q}", name(&c));
            let r = variance_ratio(series(&legs, &bs, s), q).unwrap_or_else(|err| panic!("{w}: {err}"));
            close("battery.vr", &format!("{w} vr"), r.vr, f(&e["vr"], "vr"));
            close("battery.vr", &format!("{w} stat"), r.stat, f(&e["stat"], "stat"));
            close("battery.vr.pvalue", &format!("{w} pvalue"), r.pvalue, f(&e["pvalue"], "pvalue"));
            nv += 1;
        }
        for e in c["expected"]["hurst"].as_array().unwrap() {
            let s = e["series"].as_str().unwrap();
            let ml = u(&e["max_lags"]);
            let w = format!("{} hurst {s} max_lags={ml}", name(&c));
            let h = hurst(series(&legs, &bs, s), ml).unwrap_or_else(|err| panic!("{w}: {err}"));
            close("battery.hurst", &w, h, f(&e["hurst"], "hurst"));
            nh += 1;
        }
    }
    assert!(nk >= 200 && nv >= 100 && nh >= 50, "kpss {nk}, vr {nv}, hurst {nh}");
    // The battery must exercise both table bounds and the interpolated interior.
    assert!(bounds.iter().all(|&b| b > 0), "p_bound exact/at_least/at_most counts {bounds:?}");
    report();
}

#[test]
fn tls_and_adf_legs() {
    let mut n = 0;
    for c in battery_cases() {
        let legs = Legs::of(&c);
        for e in c["expected"]["tls"].as_array().unwrap() {
            let (xn, yn) = (e["x"].as_str().unwrap(), e["y"].as_str().unwrap());
            let w = format!("{} tls {yn} on {xn}", name(&c));
            let r = tls(legs.get(xn), legs.get(yn)).unwrap_or_else(|err| panic!("{w}: {err}"));
            close("battery.tls", &format!("{w} beta"), r.beta, f(&e["beta"], "beta"));
            close("battery.tls", &format!("{w} alpha"), r.alpha, f(&e["alpha"], "alpha"));
            // Symmetry: the reverse regression is the same line.
            let back = tls(legs.get(yn), legs.get(xn)).unwrap();
            close("battery.tls", &format!("{w} beta * reverse beta"), r.beta * back.beta, 1.0);
            let sv = fs(&e["singular_values"], "sv");
            let rms = sv[1] / (legs.get(xn).len() as f64).sqrt();
            close("battery.tls.resid", &format!("{w} orthogonal rms"), r.resid_orth_rms, rms);
            n += 1;
        }
        for e in c["expected"]["adf_legs"].as_array().unwrap() {
            let s = e["series"].as_str().unwrap();
            let w = format!("{} adf_legs {s}", name(&c));
            let r = adf_levels_and_diff(legs.get(s), &AdfOptions::default()).unwrap();
            for (got, key) in [(&r.levels, "levels"), (&r.diff, "diff")] {
                let x = &e[key];
                close("adf.stat", &format!("{w} {key} stat"), got.stat, f(&x["stat"], "stat"));
                close("adf.pvalue", &format!("{w} {key} pvalue"), got.pvalue, f(&x["pvalue"], "pvalue"));
                assert_eq!(got.usedlag, u(&x["usedlag"]), "{w} {key} usedlag");
                assert_eq!(got.nobs, u(&x["nobs"]), "{w} {key} nobs");
            }
        }
    }
    assert!(n >= 15, "only {n} TLS pairs");
    report();
}

#[test]
fn baskets_end_to_end() {
    for c in battery_cases() {
        let legs = Legs::of(&c);
        let b = &c["expected"]["basket"];
        let w = format!("{} basket", name(&c));
        let p = BasketParams { z_window: u(&b["zscore_window"]), ..BasketParams::default() };
        let r = analyze_basket(&legs.slices(), &p).unwrap_or_else(|err| panic!("{w}: {err}"));
        let ew = fs(&b["weights"], "weights");
        let scale = ew.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (i, (g, e)) in r.weights.iter().zip(&ew).enumerate() {
            close("battery.johansen.evec", &format!("{w} weights[{i}] / max|w|"), g / scale, e / scale);
        }
        let es = fs(&b["spread"], "spread");
        let spread = r.spread.as_ref().expect("spread");
        let sscale = es.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (t, (g, e)) in spread.iter().zip(&es).enumerate() {
            close("battery.basket.spread", &format!("{w} spread[{t}] / max|spread|"), g / sscale, e / sscale);
        }
        let z = r.zscore.ok().expect("zscore");
        for (t, (g, e)) in z.z_ddof1.iter().zip(b["z"].as_array().unwrap()).enumerate() {
            match (g, e.as_f64()) {
                (None, None) => {}
                (Some(g), Some(e)) => close("battery.basket.z", &format!("{w} z[{t}]"), *g, e),
                other => panic!("{w} z[{t}]: {other:?}"),
            }
        }
        let hl = r.half_life.ok().expect("half_life");
        close("battery.basket.stats", &format!("{w} half_life slope"), hl.slope, f(&b["half_life"]["slope"], "slope"));
        match (hl.half_life, b["half_life"]["half_life"].as_f64()) {
            (Some(g), Some(e)) => close("battery.basket.stats", &format!("{w} half_life"), g, e),
            (None, None) => {}
            other => panic!("{w} half_life {other:?}"),
        }
        let adf = r.adf.ok().expect("adf");
        close("battery.basket.stats", &format!("{w} adf stat"), adf.stat, f(&b["adf"]["stat"], "stat"));
        close("adf.pvalue", &format!("{w} adf pvalue"), adf.pvalue, f(&b["adf"]["pvalue"], "pvalue"));
        assert_eq!(adf.usedlag, u(&b["adf"]["usedlag"]), "{w}: adf usedlag");
        let k = r.tests.kpss.ok().expect("kpss");
        assert_eq!(k.lags, u(&b["kpss"]["lags"]), "{w}: kpss lags");
        close("battery.basket.stats", &format!("{w} kpss stat"), k.stat, f(&b["kpss"]["stat"], "stat"));
        let h = *r.tests.hurst.ok().expect("hurst");
        assert_eq!(u(&b["hurst"]["max_lags"]), 100.min(spread.len() / 2), "{w}: hurst max_lags rule");
        close("battery.basket.stats", &format!("{w} hurst"), h, f(&b["hurst"]["hurst"], "hurst"));
        // The stages reuse the single implementations: same numbers as calling them directly.
        assert_eq!(adfuller(spread, &AdfOptions::default()).unwrap().stat, adf.stat);
        assert_eq!(r.adf_legs.len(), legs.names.len());
    }
    report();
}

#[test]
fn pair_report_battery_on_the_ols_spread() {
    let mut n = 0;
    for c in battery_cases().iter().filter(|c| c["expected"].get("ols_spread").is_some()) {
        let legs = Legs::of(c);
        let e = &c["expected"]["ols_spread"];
        let w = format!("{} ols_spread", name(c));
        let (fit, resid) = ols_with_resid(&legs.data[0], &legs.data[1]).unwrap();
        close("ols.params", &format!("{w} beta"), fit.beta, f(&e["beta"], "beta"));
        let t = spread_tests(&resid);
        check_kpss(&format!("{w} kpss"), t.kpss.ok().expect("kpss"), &e["kpss"]);
        let vr = t.variance_ratio.ok().expect("vr");
        for (g, x) in vr.iter().zip(e["variance_ratio"].as_array().unwrap()) {
            assert_eq!(g.lags, u(&x["lags"]));
            close("battery.vr", &format!("{w} vr q={}", g.lags), g.vr, f(&x["vr"], "vr"));
            close("battery.vr", &format!("{w} stat q={}", g.lags), g.stat, f(&x["stat"], "stat"));
            close("battery.vr.pvalue", &format!("{w} p q={}", g.lags), g.pvalue, f(&x["pvalue"], "p"));
        }
        assert_eq!(vr.len(), 4);
        close("battery.hurst", &format!("{w} hurst"), *t.hurst.ok().expect("hurst"), f(&e["hurst"]["hurst"], "h"));
        n += 1;
    }
    assert!(n >= 4, "only {n} pair cases with ols_spread");
    report();
}

#[test]
fn screener_v2_rows_match_statsmodels() {
    let mut n = 0;
    for c in battery_cases().iter().filter(|c| c["expected"].get("screen").is_some()) {
        let legs = Legs::of(c);
        let rows = rank_pairs(&legs.slices(), None, 2).unwrap();
        let exp = c["expected"]["screen"].as_array().unwrap();
        assert_eq!(rows.len(), exp.len(), "{}: pair count", name(c));
        for (r, e) in rows.iter().zip(exp) {
            let w = format!("{} screen {}~{}", name(c), r.screen.y, r.screen.x);
            assert_eq!((r.screen.x, r.screen.y), (u(&e["x"]), u(&e["y"])), "{w}: order");
            let opt = |v: Option<f64>, what: &str| v.unwrap_or_else(|| panic!("{w}: {what} missing: {r:?}"));
            close("ols.params", &format!("{w} beta"), opt(r.screen.beta, "beta"), f(&e["beta"], "beta"));
            close("ols.params", &format!("{w} alpha"), opt(r.screen.alpha, "alpha"), f(&e["alpha"], "alpha"));
            close("adf.stat", &format!("{w} EG stat"), opt(r.screen.stat, "stat"), f(&e["stat"], "stat"));
            close("adf.pvalue", &format!("{w} EG p"), opt(r.screen.pvalue, "p"), f(&e["pvalue"], "p"));
            close("battery.screen.qvalue", &format!("{w} q"), opt(r.qvalue, "q"), f(&e["qvalue"], "q"));
            match (r.half_life, e["half_life"].as_f64()) {
                (Some(g), Some(x)) => close("half_life", &format!("{w} half-life"), g, x),
                (None, None) => {}
                other => panic!("{w}: half-life {other:?}"),
            }
            close("battery.hurst", &format!("{w} hurst"), opt(r.hurst, "hurst"), f(&e["hurst"], "hurst"));
            close("battery.kpss.pvalue", &format!("{w} kpss p"), opt(r.kpss_pvalue, "kpss"), f(&e["kpss_pvalue"], "k"));
            close("rolling_corr", &format!("{w} corr"), opt(r.screen.corr, "corr"), f(&e["corr"], "corr"));
            n += 1;
        }
    }
    assert!(n >= 20, "only {n} screened pairs");
    report();
}

#[test]
fn benjamini_hochberg() {
    let c = cases().into_iter().find(|c| c["kind"] == "bh").expect("bh case");
    let alpha = f(&c["params"]["alpha"], "alpha");
    let vecs = c["expected"]["vectors"].as_array().unwrap();
    assert!(vecs.len() >= 5);
    for v in vecs {
        let w = v["name"].as_str().unwrap();
        let p = fs(&v["p"], "p");
        let q = bh_qvalues(&p).unwrap();
        let eq = fs(&v["q"], "q");
        assert_eq!(q.len(), eq.len());
        for (i, (g, e)) in q.iter().zip(&eq).enumerate() {
            close("battery.bh", &format!("bh {w} q[{i}]"), *g, *e);
        }
        for (i, (g, r)) in q.iter().zip(v["reject_05"].as_array().unwrap()).enumerate() {
            assert_eq!(*g <= alpha, r.as_bool().unwrap(), "bh {w}: reject[{i}] at {alpha}");
        }
    }
    report();
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let short = [1.0, 2.0, 1.5];
    let flat = [2.0; 200];
    assert!(coint_johansen(&[&short, &short], 0, 1).is_err());
    assert!(kpss(&flat, KpssRegression::C, KpssLags::Auto).is_err());
    assert!(variance_ratio(&short, 2).is_err());
    assert!(hurst(&flat, 100).is_err());
    assert!(tls(&flat, &flat).is_err());
    assert!(bh_qvalues(&[f64::NAN]).is_err());
    assert!(analyze_basket(&[&short], &BasketParams::default()).is_err());
    let thirteen: Vec<&[f64]> = (0..13).map(|_| &flat[..]).collect();
    assert!(analyze_basket(&thirteen, &BasketParams::default()).is_err());
}
