//! `pairdesk analyze` end to end: the real binary on the golden CSV fixtures. Proves that every
//! fixture is accepted or rejected as `fixtures/expected.json` says (exit code 2, error kind,
//! file line and column in a one-line message), that the JSON report of the Binance BTC/ETH and
//! Yahoo S&P/NASDAQ pairs equals the statsmodels golden values within the stated tolerances,
//! and that symbol choice, resampling and the overlap check behave.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use support::{fixture, golden_dir};

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn pairdesk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pairdesk"))
        .arg("analyze")
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .expect("spawn pairdesk")
}

fn run_json(args: &[&str]) -> Value {
    let out = pairdesk(args);
    assert!(out.status.success(), "pairdesk analyze {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e})"))
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

/// The partner a fixture is analysed with when it is accepted (None: a two-symbol file alone).
fn partner(name: &str) -> Option<&'static str> {
    match name {
        "binance_um_ETHUSDT_1m_noheader.csv" => Some("binance_um_BTCUSDT_1m_header.csv"),
        "yahoo_GSPC_2016_2017.csv" => Some("yahoo_IXIC_2016_2017.csv"),
        "yahoo_IXIC_2016_2017.csv" => Some("yahoo_GSPC_2016_2017.csv"),
        "generic_ohlcv_iso8601.csv" => None,
        _ => Some("binance_um_ETHUSDT_1m_noheader.csv"),
    }
}

#[test]
fn every_fixture_is_accepted_or_rejected_as_expected() {
    let expected = read_json(&golden_dir().join("fixtures/expected.json"));
    let cases = expected.as_object().expect("expected.json is an object");
    assert!(cases.len() >= 15, "only {} fixtures listed", cases.len());
    for (name, case) in cases {
        let file = path_str(&fixture(name));
        if case["action"] == "accept" {
            let symbols = case["symbols"].as_object().expect("symbols");
            let report = match partner(name) {
                Some(p) => run_json(&[&file, &path_str(&fixture(p)), "--json"]),
                None => run_json(&[&file, "--json"]),
            };
            let x = &report["meta"]["x"];
            if partner(name).is_some() {
                let (sym, exp) = symbols.iter().next().expect("one symbol");
                assert_eq!(x["symbol"].as_str(), Some(sym.as_str()), "{name}: symbol");
                assert_eq!(x["rows"], exp["rows"], "{name}: rows");
            } else {
                let names: Vec<&String> = symbols.keys().collect();
                assert_eq!(x["symbol"].as_str(), Some(names[0].as_str()), "{name}: x symbol");
                assert_eq!(report["meta"]["y"]["symbol"].as_str(), Some(names[1].as_str()), "{name}: y symbol");
                assert_eq!(report["n"], symbols[names[0]]["rows"], "{name}: aligned rows");
                assert_eq!(report["meta"]["first_t"], symbols[names[0]]["first_t_ms"], "{name}: first t");
                assert_eq!(report["meta"]["last_t"], symbols[names[0]]["last_t_ms"], "{name}: last t");
            }
            assert!(report["ols"]["beta"].is_f64(), "{name}: no ols.beta in {report}");
        } else {
            let partner_file = path_str(&fixture("binance_um_ETHUSDT_1m_noheader.csv"));
            let out = pairdesk(&[&partner_file, &file, "--json"]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{name}: exit code (stderr: {stderr})");
            assert!(out.stdout.is_empty(), "{name}: printed a report for a rejected file");
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{name}: message must be one line: {stderr}");
            let msg = lines[0];
            assert!(msg.starts_with("error: ") && msg.contains(name.as_str()), "{name}: message names the file: {msg}");
            let kind = case["error_kind"].as_str().expect("error_kind");
            assert!(msg.contains(&format!(": {kind}: ")), "{name}: kind {kind} not in: {msg}");
            if let Some(line) = case.get("line").and_then(Value::as_u64) {
                assert!(
                    msg.contains(&format!("line {line},")) || msg.contains(&format!("line {line}:")),
                    "{name}: line {line} not in: {msg}"
                );
            }
            if let Some(col) = case.get("column").and_then(Value::as_str) {
                assert!(msg.contains(&format!("column {col}")), "{name}: column {col} not in: {msg}");
            }
        }
    }
}

/// `|a - e| <= atol + rtol |e|` by (stage, field), per the golden README.
fn tolerance(stage: &str, key: &str) -> (f64, f64) {
    match (stage, key) {
        ("ols" | "ols_log", "alpha" | "beta") => (1e-9, 1e-9),
        ("ols" | "ols_log", "r2" | "r2_adj") => (0.0, 1e-12),
        ("ols" | "ols_log", k) if k.ends_with("pvalue") => (1e-6, 1e-12),
        ("ols" | "ols_log", _) => (1e-9, 1e-12),
        ("huber", _) => (1e-9, 1e-9),
        ("theil_sen", _) => (1e-12, 1e-12),
        ("kalman", _) => (1e-8, 1e-8),
        ("spread_with_alpha", _) => (1e-9, 1e-9),
        ("zscore", _) => (1e-8, 1e-8),
        ("rolling_corr", _) => (0.0, 1e-9),
        ("adf" | "coint", "pvalue") => (0.0, 1e-6),
        ("adf" | "coint", "1%" | "5%" | "10%") => (1e-12, 1e-12),
        ("adf" | "coint", "aic_margin") => (1e-8, 1e-9),
        ("adf" | "coint", _) => (1e-8, 1e-10),
        ("half_life", _) => (1e-8, 1e-10),
        _ => (0.0, 0.0),
    }
}

/// Every field of `expected` must be in `actual` and agree (integers, strings, nulls exactly).
fn compare(stage: &str, key: &str, path: &str, actual: &Value, expected: &Value, fails: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => compare(stage, k, &format!("{path}.{k}"), av, ev, fails),
                    None => fails.push(format!("{path}.{k}: missing")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                fails.push(format!("{path}: length {} != {}", a.len(), e.len()));
                return;
            }
            for (i, (av, ev)) in a.iter().zip(e).enumerate() {
                compare(stage, key, &format!("{path}[{i}]"), av, ev, fails);
            }
        }
        (Value::Number(e), Value::Number(a)) if e.is_f64() => {
            let (ev, av) = (e.as_f64().unwrap_or(f64::NAN), a.as_f64().unwrap_or(f64::NAN));
            let (rtol, atol) = tolerance(stage, key);
            let ok = (av - ev).abs() <= atol + rtol * ev.abs();
            if !ok {
                fails.push(format!("{path}: {av} vs expected {ev} (rtol {rtol}, atol {atol})"));
            }
        }
        (e, a) if e == a => {}
        (e, a) => fails.push(format!("{path}: {a} vs expected {e}")),
    }
}

fn golden_flags(case: &Value) -> Vec<String> {
    let p = &case["params"];
    let mut flags = vec![
        "--z-window".to_string(),
        p["zscore_window"].to_string(),
        "--corr-window".into(),
        p["corr_window"].to_string(),
        "--entry".into(),
        p["backtest"]["entry_z"].to_string(),
        "--exit".into(),
        p["backtest"]["exit_z"].to_string(),
        "--kalman-delta".into(),
        p["kalman"]["delta"].to_string(),
        "--kalman-ve".into(),
        p["kalman"]["Ve"].to_string(),
        "--adf-regression".into(),
        p["adf"]["regression"].as_str().expect("adf.regression").into(),
        "--adf-autolag".into(),
        p["adf"]["autolag"].as_str().map(str::to_ascii_lowercase).unwrap_or_else(|| "none".into()),
    ];
    if let Some(l) = p["adf"]["maxlag"].as_u64() {
        flags.extend(["--adf-maxlag".into(), l.to_string()]);
    }
    flags
}

fn check_against_golden(case_file: &str, x_csv: &str, y_csv: &str) {
    let case = read_json(&golden_dir().join(case_file));
    let (x, y) = (path_str(&fixture(x_csv)), path_str(&fixture(y_csv)));
    let flags = golden_flags(&case);
    let mut args: Vec<&str> = vec![&x, &y, "--json", "--series"];
    args.extend(flags.iter().map(String::as_str));
    let report = run_json(&args);
    let exp = &case["expected"];
    assert_eq!(report["meta"]["x"]["symbol"], case["params"]["x_symbol"]);
    assert_eq!(report["meta"]["y"]["symbol"], case["params"]["y_symbol"]);
    assert_eq!(report["n"].as_u64(), exp["spread_with_alpha"].as_array().map(|a| a.len() as u64));
    let mut fails = Vec::new();
    for stage in [
        "ols",
        "ols_log",
        "huber",
        "theil_sen",
        "kalman",
        "spread_with_alpha",
        "zscore",
        "rolling_corr",
        "adf",
        "coint",
        "half_life",
    ] {
        compare(stage, stage, stage, &report[stage], &exp[stage], &mut fails);
    }
    assert!(
        fails.is_empty(),
        "{case_file}: {} mismatches:\n{}",
        fails.len(),
        fails.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
    );

    // Without --series the per-bar arrays are absent but the scalars are the same.
    let short = run_json(&args.iter().copied().filter(|a| *a != "--series").collect::<Vec<_>>());
    assert!(short.get("spread_with_alpha").is_none() && short["zscore"].get("z_ddof1").is_none());
    assert!(short["kalman"].get("beta").is_none() && short["backtest"].get("equity").is_none());
    assert_eq!(short["ols"], report["ols"]);
    assert_eq!(short["adf"], report["adf"]);
}

#[test]
fn binance_btc_eth_json_matches_the_golden_case() {
    check_against_golden(
        "fixture_binance_btc_eth_1m.json",
        "binance_um_BTCUSDT_1m_header.csv",
        "binance_um_ETHUSDT_1m_noheader.csv",
    );
}

#[test]
fn yahoo_gspc_ixic_json_matches_the_golden_case() {
    check_against_golden("real_yahoo_gspc_ixic_2016_2017.json", "yahoo_GSPC_2016_2017.csv", "yahoo_IXIC_2016_2017.csv");
}

#[test]
fn human_summary_shows_every_section() {
    let (x, y) = (
        path_str(&fixture("binance_um_BTCUSDT_1m_header.csv")),
        path_str(&fixture("binance_um_ETHUSDT_1m_noheader.csv")),
    );
    let out = pairdesk(&[&x, &y]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "y = ETHUSDT on x = BTCUSDT",
        "OLS",
        "Huber",
        "Theil–Sen",
        "Kalman",
        "ADF (c)",
        "Engle–Granger",
        "half-life",
        "7.55 bars",
        "0.05568567",
        "trades",
        "19",
        "2024-03-01 00:00:00 UTC",
    ] {
        assert!(text.contains(needle), "summary lacks '{needle}':\n{text}");
    }
}

#[test]
fn one_generic_file_gives_both_legs_and_timeframe_resamples() {
    let g = path_str(&fixture("generic_ohlcv_iso8601.csv"));
    let r = run_json(&[&g, "--json"]);
    assert_eq!(
        (r["meta"]["x"]["symbol"].as_str(), r["meta"]["y"]["symbol"].as_str()),
        (Some("BTCUSDT"), Some("ETHUSDT"))
    );
    let r = run_json(&[&g, "--json", "--x-symbol", "ETHUSDT", "--y-symbol", "BTCUSDT"]);
    assert_eq!(r["meta"]["x"]["symbol"].as_str(), Some("ETHUSDT"));

    let (x, y) = (
        path_str(&fixture("binance_um_BTCUSDT_1m_header.csv")),
        path_str(&fixture("binance_um_ETHUSDT_1m_noheader.csv")),
    );
    let r = run_json(&[&x, &y, "--json", "--timeframe", "5m"]);
    assert_eq!(r["n"], 200);
    assert_eq!(r["meta"]["first_t"], 1_709_251_200_000i64);
    assert_eq!(r["meta"]["options"]["timeframe"], "5m");
}

#[test]
fn too_little_overlap_and_bad_options_exit_2() {
    let (btc, gspc) =
        (path_str(&fixture("binance_um_BTCUSDT_1m_header.csv")), path_str(&fixture("yahoo_GSPC_2016_2017.csv")));
    let out = pairdesk(&[&btc, &gspc]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("too little overlap") && stderr.contains("share 0 timestamps"), "{stderr}");

    let out = pairdesk(&[&btc, &btc, "--kalman-delta", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("kalman_delta"));

    let out = pairdesk(&[&btc, "/nonexistent/file.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/file.csv: cannot read"));

    let out = pairdesk(&[&btc]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a single file needs exactly two"));
}

#[test]
fn absurd_parameters_are_reported_not_crashed_on() {
    let (x, y) = (
        path_str(&fixture("binance_um_BTCUSDT_1m_header.csv")),
        path_str(&fixture("binance_um_ETHUSDT_1m_noheader.csv")),
    );
    let huge = u64::MAX.to_string();
    for flag in ["--z-window", "--corr-window", "--adf-maxlag"] {
        let out = pairdesk(&[&x, &y, "--json", flag, &huge]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{flag} {huge}: {stderr}");
        let report: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert!(report["ols"]["beta"].is_f64());
        // Windows longer than the data leave every value null (pandas semantics); a maxlag
        // beyond n/2 is an error in the ADF slot.
        if flag == "--adf-maxlag" {
            assert!(report["adf"]["error"].is_string(), "{flag}: {}", report["adf"]);
        } else {
            assert!(report["zscore"]["last_z"].is_null() || report["rolling_corr"]["last"].is_null());
        }
    }
}
