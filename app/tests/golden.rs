//! Golden tests: every case in `app/tests/golden/*.json` (statsmodels / pandas / scipy reference
//! values), every stage in isolation (fed the expected upstream values) and end to end, with the
//! tolerances of `app/tests/golden/tolerances.json`.
//!
//! The directory is `$PAIRDESK_GOLDEN_DIR` if set, else `<crate>/tests/golden` (committed). A missing
//! directory or an empty case set is a test failure, never a silent skip.

use app::analytics::adf::{adfuller, AdfOptions};
use app::analytics::align::{align_bars, AlignRule};
use app::analytics::backtest::{run_on_signals, BacktestParams, Fill, Market};
use app::analytics::coint::{coint, coint_from_residuals};
use app::analytics::half_life::half_life;
use app::analytics::huber::{huber_rlm, HuberOptions};
use app::analytics::kalman::{kalman_filter, KalmanParams};
use app::analytics::mackinnon::mackinnonp;
use app::analytics::ols::{ols, ols_log};
use app::analytics::report::{analyze_pair, PairParams};
use app::analytics::resample::{resample_ticks, Tick};
use app::analytics::rolling::{rolling_corr_returns, rolling_zscore, simple_returns, spread};
use app::analytics::theil_sen::theil_sen;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

// ---------------------------------------------------------------------------------------------
// Loading

struct Golden {
    dir: PathBuf,
    cases: Vec<(String, Value)>,
    tol: BTreeMap<String, Tol>,
}

#[derive(Clone, Copy, Debug)]
struct Tol {
    rtol: f64,
    atol: f64,
}

fn golden_dir() -> PathBuf {
    match std::env::var_os("PAIRDESK_GOLDEN_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden")),
    }
}

fn golden() -> &'static Golden {
    static G: OnceLock<Golden> = OnceLock::new();
    G.get_or_init(|| {
        let dir = golden_dir();
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
            panic!("golden directory {} not readable ({e}); set PAIRDESK_GOLDEN_DIR", dir.display())
        });
        let mut paths: Vec<PathBuf> = entries
            .map(|e| e.expect("read_dir entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        let mut cases = Vec::new();
        let mut tol = BTreeMap::new();
        for p in paths {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", p.display()));
            let fname = p.file_name().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            if fname == "tolerances.json" {
                for (k, t) in v.as_object().expect("tolerances object") {
                    let rtol = t["rtol"].as_f64().expect("rtol");
                    let atol = t["atol"].as_f64().expect("atol");
                    tol.insert(k.clone(), Tol { rtol, atol });
                }
            } else {
                let name = v["name"].as_str().unwrap_or_else(|| panic!("{fname}: no name")).to_string();
                cases.push((name, v));
            }
        }
        assert!(!cases.is_empty(), "no golden case files in {}", dir.display());
        assert!(!tol.is_empty(), "tolerances.json missing in {}", dir.display());
        Golden { dir, cases, tol }
    })
}

fn tol(key: &str) -> Tol {
    *golden().tol.get(key).unwrap_or_else(|| panic!("tolerance {key} missing from tolerances.json"))
}

fn pair_cases() -> Vec<(&'static str, &'static Value)> {
    let v: Vec<_> = golden().cases.iter().filter(|(_, c)| c["kind"] == "pair").map(|(n, c)| (n.as_str(), c)).collect();
    assert!(!v.is_empty(), "no pair cases in {}", golden().dir.display());
    v
}

fn f64s(v: &Value, what: &str) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what}: not an array"))
        .iter()
        .map(|a| a.as_f64().unwrap_or_else(|| panic!("{what}: non-number {a}")))
        .collect()
}

fn opt_f64s(v: &Value) -> Vec<Option<f64>> {
    v.as_array().expect("array").iter().map(|a| a.as_f64()).collect()
}

fn i64s(v: &Value) -> Vec<i64> {
    v.as_array().expect("array").iter().map(|a| a.as_i64().expect("integer")).collect()
}

struct Inputs {
    t: Vec<i64>,
    x: Vec<f64>,
    y: Vec<f64>,
}

fn inputs(case: &Value) -> Inputs {
    let i = &case["inputs"];
    Inputs { t: i64s(&i["t"]), x: f64s(&i["x"], "inputs.x"), y: f64s(&i["y"], "inputs.y") }
}

// ---------------------------------------------------------------------------------------------
// Comparison

/// Collects every mismatch, so one run reports all of them (case, field path, index).
#[derive(Default)]
struct Checker {
    failures: Vec<String>,
    compared: usize,
    /// Largest `|a - e| / (atol + rtol |e|)` seen, with where (printed with `--nocapture`).
    worst: Option<(f64, String)>,
}

/// Tolerance for a field, by its path `stage.field` (the stage name may carry a case prefix).
fn tol_for(path: &str) -> Tol {
    let parts: Vec<&str> = path.split(['.', '[']).collect();
    let stage = parts.first().copied().unwrap_or("");
    let field = parts.get(1).copied().unwrap_or("");
    match stage {
        "ols" | "ols_log" => match field {
            "alpha" | "beta" => tol("ols.params"),
            "r2" | "r2_adj" => tol("ols.r2"),
            f if f.ends_with("_pvalue") => tol("ols.pvalues"),
            _ => tol("ols.stderr_t"),
        },
        "huber" => tol("huber.params"),
        "theil_sen" => tol("theil_sen"),
        "kalman" => tol("kalman"),
        "spread_with_alpha" | "spread_no_alpha" => tol("spread"),
        "zscore" => tol("zscore"),
        "returns_x" | "returns_y" => Tol { rtol: 1e-12, atol: 1e-15 },
        "rolling_corr" => tol("rolling_corr"),
        "adf" | "adf_fixed" | "adf_ct" | "coint" => match field {
            "pvalue" => tol("adf.pvalue"),
            "crit" => tol("adf.crit"),
            "r2_first_stage" => tol("ols.r2"),
            _ => tol("adf.stat"),
        },
        "half_life" => tol("half_life"),
        "backtest" => {
            if path.ends_with("entry_z") || path.ends_with("exit_z") || field == "decision_margin_min" {
                tol("zscore")
            } else {
                tol("backtest.pnl")
            }
        }
        s if s.starts_with("bars_") || s.starts_with("aligned_") => tol("resample"),
        _ => panic!("no tolerance rule for {path}"),
    }
}

fn close(a: f64, e: f64, t: Tol) -> bool {
    if a == e {
        return true; // also equal infinities
    }
    (a - e).abs() <= t.atol + t.rtol * e.abs()
}

impl Checker {
    fn fail(&mut self, msg: String) {
        self.failures.push(msg);
    }

    /// Compare `actual` against every key / element of `expected`. `path` is `stage.field[i]`;
    /// `tol_path` (without the case name) selects the tolerance; `exact` forces exact floats.
    fn value(&mut self, case: &str, path: &str, actual: &Value, expected: &Value, exact: bool) {
        self.compared += 1;
        match expected {
            Value::Null => {
                if !actual.is_null() {
                    self.fail(format!("{case}: {path}: expected null, got {actual}"));
                }
            }
            Value::Bool(b) => {
                if actual.as_bool() != Some(*b) {
                    self.fail(format!("{case}: {path}: expected {b}, got {actual}"));
                }
            }
            Value::String(s) => {
                let ok = match (s.as_str(), actual) {
                    ("inf", Value::String(a)) | ("-inf", Value::String(a)) => a == s,
                    (_, Value::String(a)) => a == s,
                    _ => false,
                };
                if !ok {
                    self.fail(format!("{case}: {path}: expected {s:?}, got {actual}"));
                }
            }
            Value::Number(n) => {
                if n.is_i64() || n.is_u64() {
                    if actual != expected {
                        self.fail(format!("{case}: {path}: expected integer {n}, got {actual} (must match exactly)"));
                    }
                } else {
                    let e = n.as_f64().expect("f64");
                    match actual.as_f64() {
                        None => self.fail(format!("{case}: {path}: expected {e:e}, got {actual}")),
                        Some(a) => {
                            let t = if exact { Tol { rtol: 0.0, atol: 0.0 } } else { tol_for(path) };
                            let allowed = t.atol + t.rtol * e.abs();
                            if allowed > 0.0 && a != e {
                                let ratio = (a - e).abs() / allowed;
                                if self.worst.as_ref().is_none_or(|w| ratio > w.0) {
                                    self.worst = Some((ratio, format!("{case}: {path}")));
                                }
                            }
                            if !close(a, e, t) {
                                self.fail(format!(
                                    "{case}: {path}: expected {e:e}, got {a:e} (|diff| {:.3e} > atol {:e} + rtol {:e}*|e|)",
                                    (a - e).abs(),
                                    t.atol,
                                    t.rtol
                                ));
                            }
                        }
                    }
                }
            }
            Value::Array(ea) => match actual.as_array() {
                Some(aa) if aa.len() == ea.len() => {
                    for (i, (a, e)) in aa.iter().zip(ea).enumerate() {
                        self.value(case, &format!("{path}[{i}]"), a, e, exact);
                    }
                }
                Some(aa) => self.fail(format!("{case}: {path}: length {} != expected {}", aa.len(), ea.len())),
                None => self.fail(format!("{case}: {path}: expected an array, got {actual}")),
            },
            Value::Object(eo) => match actual.as_object() {
                Some(ao) => {
                    for (k, e) in eo {
                        let p = format!("{path}.{k}");
                        match ao.get(k) {
                            Some(a) => self.value(case, &p, a, e, exact),
                            None => self.fail(format!("{case}: {p}: missing in actual")),
                        }
                    }
                }
                None => self.fail(format!("{case}: {path}: expected an object, got {actual}")),
            },
        }
    }

    fn stage<T: Serialize>(&mut self, case: &str, stage: &str, actual: &T, expected: &Value) {
        let a = serde_json::to_value(actual).expect("serialise");
        self.value(case, stage, &a, expected, false);
    }

    fn stage_except<T: Serialize>(&mut self, case: &str, stage: &str, actual: &T, expected: &Value, skip: &[&str]) {
        let mut e = expected.clone();
        if let Some(o) = e.as_object_mut() {
            for s in skip {
                o.remove(*s);
            }
        }
        self.stage(case, stage, actual, &e);
    }

    fn finish(self, what: &str) {
        assert!(self.compared > 0, "{what}: nothing was compared");
        if let Some((r, w)) = &self.worst {
            println!("{what}: {} values compared; worst error = {r:.3e} x tolerance at {w}", self.compared);
        }
        if !self.failures.is_empty() {
            let n = self.failures.len();
            let shown: Vec<_> = self.failures.into_iter().take(40).collect();
            panic!("{what}: {n} mismatches (first {}):\n{}", shown.len(), shown.join("\n"));
        }
    }
}

fn ok<T>(case: &str, what: &str, r: Result<T, app::analytics::AnalyticsError>) -> T {
    r.unwrap_or_else(|e| panic!("{case}: {what} failed: {e}"))
}

fn adf_opts(v: &Value) -> AdfOptions {
    serde_json::from_value(v.clone()).expect("adf params")
}

fn aic_margin_check(c: &mut Checker, case: &str, stage: &str, actual: &Value, expected: &Value) {
    // The margin is a difference of two AICs: its tolerance follows from theirs.
    if let (Some(e), Some(best)) = (expected["aic_margin"].as_f64(), expected["icbest"].as_f64()) {
        let t = tol("adf.stat");
        let a = actual["aic_margin"].as_f64();
        let bound = 2.0 * (t.atol + t.rtol * (best.abs() + (best + e).abs()));
        if !a.is_some_and(|a| (a - e).abs() <= bound) {
            c.fail(format!("{case}: {stage}.aic_margin: expected {e:e}, got {a:?} (bound {bound:e})"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests: inventory

#[test]
fn golden_dir_has_all_expected_cases() {
    let g = golden();
    let kinds: Vec<_> =
        g.cases.iter().map(|(n, c)| (n.clone(), c["kind"].as_str().unwrap_or("").to_string())).collect();
    for (n, k) in &kinds {
        assert!(k == "pair" || k == "resample", "case {n}: unknown kind {k:?}");
    }
    assert!(kinds.iter().filter(|(_, k)| k == "pair").count() >= 9, "expected >= 9 pair cases: {kinds:?}");
    assert!(kinds.iter().any(|(_, k)| k == "resample"), "expected a resample case");
}

// ---------------------------------------------------------------------------------------------
// Tests: each stage in isolation

#[test]
fn ols_and_ols_log_match_statsmodels() {
    let mut c = Checker::default();
    for (name, case) in pair_cases() {
        let i = inputs(case);
        c.stage(name, "ols", &ok(name, "ols", ols(&i.x, &i.y)), &case["expected"]["ols"]);
        c.stage(name, "ols_log", &ok(name, "ols_log", ols_log(&i.x, &i.y)), &case["expected"]["ols_log"]);
    }
    c.finish("ols");
}

#[test]
fn spreads_match_pandas() {
    let mut c = Checker::default();
    for (name, case) in pair_cases() {
        let i = inputs(case);
        let e = &case["expected"];
        // From our own fit (end to end) ...
        let o = ok(name, "ols", ols(&i.x, &i.y));
        c.stage(name, "spread_with_alpha", &spread(&i.x, &i.y, o.alpha, o.beta), &e["spread_with_alpha"]);
        c.stage(name, "spread_no_alpha", &spread(&i.x, &i.y, 0.0, o.beta), &e["spread_no_alpha"]);
        // ... and from the reference coefficients (stage in isolation).
        let (ea, eb) = (e["ols"]["alpha"].as_f64().expect("alpha"), e["ols"]["beta"].as_f64().expect("beta"));
        c.stage(name, "spread_with_alpha", &spread(&i.x, &i.y, ea, eb), &e["spread_with_alpha"]);
    }
    c.finish("spread");
}

#[test]
fn zscore_of_expected_spread_matches_pandas_rolling() {
    let mut c = Checker::default();
    for (name, case) in pair_cases() {
        let e = &case["expected"];
        let w = case["params"]["zscore_window"].as_u64().expect("window") as usize;
        let s = f64s(&e["spread_with_alpha"], "spread");
        let z = ok(name, "zscore", rolling_zscore(&s, w, "spread_with_alpha"));
        c.stage(name, "zscore", &z, &e["zscore"]);
        // A constant shift does not change z: z of the no-alpha spread equals it within tolerance.
        let s2 = f64s(&e["spread_no_alpha"], "spread_no_alpha");
        let z2 = ok(name, "zscore", rolling_zscore(&s2, w, "spread_with_alpha"));
        c.stage(name, "zscore.z_ddof1", &z2.z_ddof1, &e["zscore"]["z_ddof1"]);
    }
    c.finish("zscore");
}

#[test]
fn returns_and_rolling_corr_match_pandas() {
    let mut c = Checker::default();
    for (name, case) in pair_cases() {
        let i = inputs(case);
        let e = &case["expected"];
        c.stage(name, "returns_x", &simple_returns(&i.x), &e["returns_x"]);
        c.stage(name, "returns_y", &simple_returns(&i.y), &e["returns_y"]);
        let w = case["params"]["corr_window"].as_u64().expect("corr_window") as usize;
        assert_eq!(e["rolling_corr"]["window"].as_u64(), Some(w as u64), "{name}: rolling_corr.window");
        let v = ok(name, "rolling_corr", rolling_corr_returns(&i.x, &i.y, w));
        c.stage(name, "rolling_corr.values", &v, &e["rolling_corr"]["values"]);
    }
    c.finish("rolling_corr");
}

#[test]
fn adf_of_expected_spread_matches_statsmodels() {
    let mut c = Checker::default();
    for (name, case) in pair_cases() {
        let e = &case["expected"];
        let s = f64s(&e["spread_with_alpha"], "spread");
        for key in ["adf", "adf_fixed", "adf_ct"] {
            let r = ok(name, key, adfuller(&s, &adf_opts(&case["params"][key])));
            let a = serde_json::to_value(&r).expect("serialise");
            c.stage_except(name, key, &r, &e[key], &["aic_margin"]);
            aic_margin_check(&mut c, name, key, &a, &e[key]);
        }
    }
    c.finish("adf");
}

#[test]
fn mackinnon_pvalue_of_expected_stat_is_robust() {
    // The p-value of the reference statistic, and of the statistic moved by its own tolerance,
    // both match the reference p-value.
    let mut c = Checker::default();
    for (name, case) in pair_cases() {
        let e = &case["expected"];
        for (key, reg, nser) in [("adf", "c", 1usize), ("adf_fixed", "c", 1), ("adf_ct", "ct", 1), ("coint", "c", 2)] {
            let Some(stat) = e[key]["stat"].as_f64() else {
                continue;
            };
            let r: app::analytics::Regression = serde_json::from_value(Value::String(reg.into())).expect("reg");
            let t = tol("adf.stat");
            let d = t.atol + t.rtol * stat.abs();
            for (tag, st) in [("", stat), ("+tol", stat + d), ("-tol", stat - d)] {
                let p = ok(name, "mackinnonp", mackinnonp(st, r, nser));
                let label = format!("{name} (stat{tag})");
                c.value(&label, &format!("{key}.pvalue"), &serde_json::json!(p), &e[key]["pvalue"], false);
            }
        }
    }
    c.finish("mackinnonp");
}

#[test]
fn coint_matches_statsmodels_from_expected_residuals_and_end_to_end() {
    let mut c = Checker::default();
    for (name, case) in pair_cases() {
        let i = inputs(case);
        let e = &case["expected"];
        let s = f64s(&e["spread_with_alpha"], "spread");
        let r2 = e["coint"]["r2_first_stage"].as_f64().expect("r2");
        c.stage(
            name,
            "coint",
            &ok(name, "coint", coint_from_residuals(&s, r2, Some(app::analytics::Autolag::Aic), None)),
            &e["coint"],
        );
        c.stage(
            name,
            "coint",
            &ok(name, "coint", coint(&i.y, &i.x, Some(app::analytics::Autolag::Aic), None)),
            &e["coint"],
        );
    }
    c.finish("coint");
}

#[test]
fn half_life_of_expected_spread_matches() {
    let mut c = Checker::default();
    for (name, case) in pair_cases() {
        let e = &case["expected"];
        let s = f64s(&e["spread_with_alpha"], "spread");
        c.stage(name, "half_life", &ok(name, "half_life", half_life(&s)), &e["half_life"]);
    }
    c.finish("half_life");
}

/// The golden `backtest` cases were made by the old one-unit-spread backtest (statsmodels spread,
/// fills at the signal bar). The trading rules that still apply are checked on them: with the
/// golden z, the golden static OLS beta, same-bar fills, no costs and no stop / max hold, every
/// trade's signal bars, side, z and reason must match, and its pnl is the golden spread pnl
/// times |qty_y| = notional / y at entry (`qty_y (Δy − β Δx)` = `qty_y Δspread` for a constant
/// hedge). The old equity in spread units, `decision_margin_min` and the realised drawdown are
/// not figures of the new backtest and are no longer compared.
#[test]
fn backtest_rules_reproduce_the_golden_trades_on_the_golden_z() {
    let mut c = Checker::default();
    let mut trades = 0;
    for (name, case) in pair_cases() {
        let i = inputs(case);
        let e = &case["expected"];
        let z = opt_f64s(&e["zscore"]["z_ddof1"]);
        let beta = e["ols"]["beta"].as_f64().expect("ols beta");
        let bp = &case["params"]["backtest"];
        let p = BacktestParams {
            entry: bp["entry_z"].as_f64().expect("entry_z"),
            exit: bp["exit_z"].as_f64().expect("exit_z"),
            fill: Fill::Same,
            fee_bps: 0.0,
            slippage_bps: 0.0,
            ..BacktestParams::default()
        };
        let r = run_on_signals(&Market::closes(&i.t, &i.x, &i.y), &vec![Some(beta); i.t.len()], &z, 0, &p);
        let golden = e["backtest"]["trades"].as_array().expect("golden trades");
        let actual: Vec<Value> = r
            .trades
            .iter()
            .map(|t| {
                serde_json::json!({
                    "entry_index": t.entry_index,
                    "exit_index": t.exit_index,
                    "side": t.side,
                    "entry_z": t.entry_z,
                    "exit_z": t.exit_z,
                    "exit_reason": t.reason.as_str(),
                    "pnl": t.pnl / t.qty_y.abs(),
                })
            })
            .collect();
        let expected: Vec<Value> = golden
            .iter()
            .map(|g| {
                serde_json::json!({
                    "entry_index": g["entry_index"],
                    "exit_index": g["exit_index"],
                    "side": g["side"],
                    "entry_z": g["entry_z"],
                    "exit_z": g["exit_z"],
                    "exit_reason": g["exit_reason"],
                    "pnl": g["pnl"],
                })
            })
            .collect();
        for t in &r.trades {
            assert_eq!(
                (t.entry_fill_index, t.exit_fill_index),
                (t.entry_index, t.exit_index),
                "{name}: same-bar fills"
            );
        }
        trades += golden.len();
        c.value(name, "backtest.trades", &Value::Array(actual), &Value::Array(expected), false);
    }
    assert!(trades > 0, "the golden cases must contain trades for this check to mean anything");
    c.finish("backtest");
}

#[test]
fn kalman_matches_reference_filter() {
    let mut c = Checker::default();
    for (name, case) in pair_cases() {
        let i = inputs(case);
        let kp: KalmanParams = serde_json::from_value(case["params"]["kalman"].clone()).expect("kalman params");
        c.stage(name, "kalman", &ok(name, "kalman", kalman_filter(&i.x, &i.y, &kp)), &case["expected"]["kalman"]);
    }
    c.finish("kalman");
}

#[test]
fn huber_matches_statsmodels_rlm_including_iteration_count() {
    let mut c = Checker::default();
    for (name, case) in pair_cases() {
        let i = inputs(case);
        let h = &case["params"]["huber"];
        let o = HuberOptions {
            t: h["t"].as_f64().expect("t"),
            maxiter: h["maxiter"].as_u64().expect("maxiter") as usize,
            tol: h["tol"].as_f64().expect("tol"),
        };
        c.stage(name, "huber", &ok(name, "huber", huber_rlm(&i.x, &i.y, &o)), &case["expected"]["huber"]);
    }
    c.finish("huber");
}

#[test]
fn theil_sen_matches_scipy_exactly() {
    let mut c = Checker::default();
    for (name, case) in pair_cases() {
        let i = inputs(case);
        let conf = case["params"]["theil_sen"]["alpha"].as_f64().expect("alpha");
        c.stage(name, "theil_sen", &ok(name, "theil_sen", theil_sen(&i.x, &i.y, conf)), &case["expected"]["theil_sen"]);
    }
    c.finish("theil_sen");
}

// ---------------------------------------------------------------------------------------------
// End to end

fn pair_params(case: &Value, include_series: bool) -> PairParams {
    let p = &case["params"];
    PairParams {
        z_window: p["zscore_window"].as_u64().expect("zscore_window") as usize,
        corr_window: p["corr_window"].as_u64().expect("corr_window") as usize,
        entry_z: p["backtest"]["entry_z"].as_f64().expect("entry_z"),
        exit_z: p["backtest"]["exit_z"].as_f64().expect("exit_z"),
        kalman: serde_json::from_value(p["kalman"].clone()).expect("kalman"),
        adf: adf_opts(&p["adf"]),
        include_series,
        ..PairParams::default()
    }
}

#[test]
fn report_end_to_end_matches_every_stage() {
    let mut c = Checker::default();
    for (name, case) in pair_cases() {
        let i = inputs(case);
        let e = &case["expected"];
        let r = ok(name, "analyze_pair", analyze_pair(&i.t, &i.x, &i.y, &pair_params(case, true)));
        let a = serde_json::to_value(&r).expect("serialise report");
        for key in [
            "ols",
            "ols_log",
            "huber",
            "theil_sen",
            "kalman",
            "spread_with_alpha",
            "zscore",
            "rolling_corr",
            "coint",
            "half_life",
        ] {
            c.value(name, key, &a[key], &e[key], false);
        }
        let mut adf_e = e["adf"].clone();
        adf_e.as_object_mut().expect("adf object").remove("aic_margin");
        c.value(name, "adf", &a["adf"], &adf_e, false);
        aic_margin_check(&mut c, name, "adf", &a["adf"], &e["adf"]);
    }
    c.finish("report end to end");
}

#[test]
fn report_without_series_keeps_scalars_and_drops_arrays() {
    let (name, case) = pair_cases()[0];
    let i = inputs(case);
    let r = ok(name, "analyze_pair", analyze_pair(&i.t, &i.x, &i.y, &pair_params(case, false)));
    let a = serde_json::to_value(&r).expect("serialise");
    assert!(a.get("spread_with_alpha").is_none(), "spread array must be absent");
    assert!(a["kalman"].get("beta").is_none() && a["kalman"]["last_beta"].is_number(), "kalman: {}", a["kalman"]);
    assert!(a["zscore"].get("z_ddof1").is_none() && a["zscore"].get("last_z").is_some());
    assert!(a["backtest"].get("equity").is_none() && a["backtest"]["metrics"]["n_trades"].is_number());
    assert!(a["rolling_corr"].get("values").is_none());
    let kb = case["expected"]["kalman"]["beta"].as_array().and_then(|v| v.last()).and_then(Value::as_f64);
    let got = a["kalman"]["last_beta"].as_f64();
    assert!(
        matches!((kb, got), (Some(e), Some(g)) if close(g, e, tol("kalman"))),
        "{name}: kalman.last_beta {got:?} vs {kb:?}"
    );
    assert_eq!(a["ols"], serde_json::to_value(ok(name, "ols", ols(&i.x, &i.y))).expect("ols"));
}

#[test]
fn report_on_too_short_data_reports_errors_instead_of_panicking() {
    for n in 0..8usize {
        let t: Vec<i64> = (0..n as i64).collect();
        let x: Vec<f64> = (0..n).map(|k| 100.0 + (k as f64 * 1.3).sin()).collect();
        let y: Vec<f64> = (0..n).map(|k| 50.0 + (k as f64 * 0.7).cos()).collect();
        let r = analyze_pair(&t, &x, &y, &PairParams::default()).expect("valid input");
        let a = serde_json::to_value(&r).expect("serialise");
        if n < 3 {
            assert!(a["ols"]["error"].is_string(), "n={n}: {}", a["ols"]);
            assert!(a["adf"]["error"].is_string(), "n={n}: {}", a["adf"]);
        }
    }
    // Constant x.
    let x = vec![5.0; 40];
    let y: Vec<f64> = (0..40).map(|k| 10.0 + k as f64).collect();
    let t: Vec<i64> = (0..40).collect();
    let r = analyze_pair(&t, &x, &y, &PairParams::default()).expect("valid input");
    assert!(r.ols.error().is_some() && r.huber.error().is_some() && r.theil_sen.error().is_some());
}

// ---------------------------------------------------------------------------------------------
// Resample / align

fn ticks(v: &Value) -> Vec<Tick> {
    let t = i64s(&v["t"]);
    let p = f64s(&v["price"], "price");
    let q = f64s(&v["qty"], "qty");
    t.iter().zip(&p).zip(&q).map(|((t, p), q)| Tick { t: *t, price: *p, qty: *q }).collect()
}

#[test]
fn resample_bars_and_alignment_match_pandas() {
    let mut c = Checker::default();
    let cases: Vec<_> = golden().cases.iter().filter(|(_, c)| c["kind"] == "resample").collect();
    assert!(!cases.is_empty(), "no resample case");
    for (name, case) in cases {
        let p = &case["params"];
        let xs = p["x_symbol"].as_str().expect("x_symbol");
        let ys = p["y_symbol"].as_str().expect("y_symbol");
        let e = &case["expected"];
        for (label, ms) in p["intervals_ms"].as_object().expect("intervals") {
            let ms = ms.as_i64().expect("interval");
            let mut bars = BTreeMap::new();
            for sym in [xs, ys] {
                let b = ok(name, "resample", resample_ticks(&ticks(&case["inputs"]["ticks"][sym]), ms));
                let cols = serde_json::json!({
                    "t": b.iter().map(|b| b.t).collect::<Vec<_>>(),
                    "open": b.iter().map(|b| b.open).collect::<Vec<_>>(),
                    "high": b.iter().map(|b| b.high).collect::<Vec<_>>(),
                    "low": b.iter().map(|b| b.low).collect::<Vec<_>>(),
                    "close": b.iter().map(|b| b.close).collect::<Vec<_>>(),
                    "volume": b.iter().map(|b| b.volume).collect::<Vec<_>>(),
                    "count": b.iter().map(|b| b.count).collect::<Vec<_>>(),
                });
                let exp = &e[format!("bars_{label}")][sym];
                for col in ["t", "open", "high", "low", "close", "count"] {
                    c.value(name, &format!("bars_{label}.{sym}.{col}"), &cols[col], &exp[col], true);
                }
                c.value(name, &format!("bars_{label}.{sym}.volume"), &cols["volume"], &exp["volume"], false);
                bars.insert(sym, b);
            }
            for (suffix, rule) in [("", AlignRule::Union), ("_grid", AlignRule::Grid)] {
                let key = format!("aligned_{label}{suffix}");
                let a = ok(name, "align", align_bars(&bars[xs], &bars[ys], ms, rule));
                let av = serde_json::to_value(&a).expect("serialise");
                c.value(name, &key, &av, &e[&key], true);
            }
        }
    }
    c.finish("resample");
}
