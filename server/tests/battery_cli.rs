//! The issue-13 battery through the real binary: `pairdesk analyze X Y --json` carries
//! `johansen`, `kpss`, `variance_ratio`, `hurst`, `adf_legs` and `tls` equal to the golden
//! values of `app/tests/golden/battery/pair_*.json`; `pairdesk analyze A B C [D] --json` builds
//! the Johansen basket of `basket3_*` / `basket4_*` (legs written as Binance kline CSVs from the
//! case inputs); `pairdesk screen FILES --json` ranks every pair with BH q-values and the same
//! Engle–Granger p-value `analyze` reports. Tolerances: the `battery.*` / `adf.*` classes of
//! `app/tests/golden/tolerances.json`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use support::{fixture, golden_dir};

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn pairdesk<S: AsRef<std::ffi::OsStr>>(cmd: &str, args: &[S]) -> Output {
    support::pairdesk_cmd(cmd, args)
}

fn run_json(cmd: &str, args: &[&str]) -> Value {
    let out = pairdesk(cmd, args);
    assert!(out.status.success(), "pairdesk {cmd} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e})"))
}

fn case(name: &str) -> Value {
    read_json(&golden_dir().join("battery").join(format!("{name}.json")))
}

fn close(class: &str, what: &str, got: &Value, exp: &Value) {
    let t = read_json(&golden_dir().join("tolerances.json"));
    let (rtol, atol) = (t[class]["rtol"].as_f64().expect("rtol"), t[class]["atol"].as_f64().expect("atol"));
    let (g, e) = (got.as_f64().unwrap_or_else(|| panic!("{what}: got {got}")), exp.as_f64().expect("expected"));
    assert!((g - e).abs() <= atol + rtol * e.abs(), "{what}: got {g:e}, expected {e:e} [{class}]");
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

#[test]
fn pair_json_carries_the_battery_keys_with_golden_values() {
    let x = path_str(&fixture("binance_um_BTCUSDT_1m_header.csv"));
    let y = path_str(&fixture("binance_um_ETHUSDT_1m_noheader.csv"));
    let r = run_json("analyze", &[&x, &y, "--json"]);
    for key in ["johansen", "kpss", "variance_ratio", "hurst", "adf_legs", "tls"] {
        assert!(r.get(key).is_some_and(|v| v.get("error").is_none()), "{key} missing or failed: {:?}", r.get(key));
    }
    let c = case("pair_fixture_binance_btc_eth_1m");
    let e = &c["expected"];
    let jo = e["johansen"].as_array().unwrap().iter().find(|j| j["det_order"] == 0 && j["k_ar_diff"] == 1).unwrap();
    for i in 0..2 {
        close("battery.johansen.stat", "lr1", &r["johansen"]["lr1"][i], &jo["lr1"][i]);
        close("battery.johansen.stat", "lr2", &r["johansen"]["lr2"][i], &jo["lr2"][i]);
        close("battery.johansen.eig", "eig", &r["johansen"]["eig"][i], &jo["eig"][i]);
    }
    let tls = &e["tls"][0];
    close("battery.tls", "tls beta", &r["tls"]["beta"], &tls["beta"]);
    close("battery.tls", "tls alpha", &r["tls"]["alpha"], &tls["alpha"]);
    let s = &e["ols_spread"];
    close("battery.kpss.stat", "kpss stat", &r["kpss"]["stat"], &s["kpss"]["stat"]);
    assert_eq!(r["kpss"]["lags"], s["kpss"]["lags"]);
    assert_eq!(r["kpss"]["p_bound"].as_str(), Some(s["kpss"]["p_bound"].as_str().unwrap_or("exact")));
    close("battery.hurst", "hurst", &r["hurst"], &s["hurst"]["hurst"]);
    for q in 0..4 {
        close("battery.vr", "vr", &r["variance_ratio"][q]["vr"], &s["variance_ratio"][q]["vr"]);
        close("battery.vr.pvalue", "vr p", &r["variance_ratio"][q]["pvalue"], &s["variance_ratio"][q]["pvalue"]);
    }
    for (i, leg) in e["adf_legs"].as_array().unwrap().iter().enumerate() {
        for k in ["levels", "diff"] {
            close("adf.stat", "adf leg stat", &r["adf_legs"][i][k]["stat"], &leg[k]["stat"]);
            assert_eq!(r["adf_legs"][i][k]["usedlag"], leg[k]["usedlag"]);
        }
    }
    // The human summary shows the new sections too.
    let out = pairdesk("analyze", &[&x, &y]);
    let text = String::from_utf8_lossy(&out.stdout);
    for s in ["TLS (orthogonal)", "KPSS (c)", "Hurst", "variance ratio", "Johansen", "Unit roots of the legs"] {
        assert!(text.contains(s), "summary lacks {s:?}:\n{text}");
    }
}

/// Write each leg of a battery case as a headerless Binance kline CSV; returns the paths.
fn write_legs(c: &Value, dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let t: Vec<i64> = c["inputs"]["t"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    c["inputs"]["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|leg| {
            let name = leg.as_str().unwrap();
            let vals = c["inputs"]["series"][name].as_array().unwrap();
            let mut text = String::new();
            for (ti, v) in t.iter().zip(vals) {
                let p = v.as_f64().unwrap();
                assert!(p > 0.0, "{name}: prices must be positive for a CSV leg");
                let p = format!("{p:?}");
                text += &format!("{ti},{p},{p},{p},{p},10.0,{},1000.0,5,5.0,500.0,0\n", ti + 59_999);
            }
            let path = dir.join(format!("{name}USDT.csv"));
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect()
}

fn tmpdir(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("pairdesk_battery_cli_{tag}_{}", std::process::id()))
}

fn check_basket(case_name: &str) {
    let c = case(case_name);
    let dir = tmpdir(case_name);
    let files: Vec<String> = write_legs(&c, &dir).iter().map(|p| path_str(p)).collect();
    let b = &c["expected"]["basket"];
    let zw = b["zscore_window"].to_string();
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    args.extend(["--json", "--series", "--z-window", &zw]);
    let r = run_json("analyze", &args);
    assert_eq!(r["legs"], files.len());
    assert_eq!(r["meta"]["legs"].as_array().unwrap().len(), files.len());
    let ew = b["weights"].as_array().unwrap();
    let scale = ew.iter().map(|v| v.as_f64().unwrap().abs()).fold(0.0, f64::max);
    for (i, e) in ew.iter().enumerate() {
        let g = r["weights"][i].as_f64().unwrap() / scale;
        close("battery.johansen.evec", "weight", &Value::from(g), &Value::from(e.as_f64().unwrap() / scale));
    }
    let es = b["spread"].as_array().unwrap();
    assert_eq!(r["spread"].as_array().unwrap().len(), es.len());
    let sscale = es.iter().map(|v| v.as_f64().unwrap().abs()).fold(0.0, f64::max);
    for (t, e) in es.iter().enumerate() {
        let g = r["spread"][t].as_f64().unwrap() / sscale;
        close("battery.basket.spread", "spread", &Value::from(g), &Value::from(e.as_f64().unwrap() / sscale));
    }
    close("battery.basket.stats", "adf stat", &r["adf"]["stat"], &b["adf"]["stat"]);
    close("battery.basket.stats", "kpss stat", &r["kpss"]["stat"], &b["kpss"]["stat"]);
    close("battery.basket.stats", "hurst", &r["hurst"], &b["hurst"]["hurst"]);
    close("battery.basket.stats", "half-life slope", &r["half_life"]["slope"], &b["half_life"]["slope"]);
    let jo = c["expected"]["johansen"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["det_order"] == 0 && j["k_ar_diff"] == 1)
        .unwrap();
    for i in 0..files.len() {
        close("battery.johansen.stat", "trace", &r["johansen"]["lr1"][i], &jo["lr1"][i]);
    }
    assert_eq!(r["adf_legs"].as_array().unwrap().len(), files.len());
    // Summary output for a basket.
    let out = pairdesk("analyze", &files.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("basket of {} legs", files.len())) && text.contains("Johansen"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn three_leg_basket_matches_the_golden_case() {
    check_basket("basket3_synthetic_n500");
}

#[test]
fn four_leg_real_basket_matches_the_golden_case() {
    check_basket("basket4_real_crude_yields");
}

#[test]
fn screen_ranks_every_pair_with_bh_qvalues() {
    let c = case("basket4_synthetic_n1000");
    let dir = tmpdir("screen");
    let files: Vec<String> = write_legs(&c, &dir).iter().map(|p| path_str(p)).collect();
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    args.push("--json");
    let r = run_json("screen", &args);
    let pairs = r["pairs"].as_array().unwrap();
    assert_eq!(r["meta"]["n_pairs"], 6);
    assert_eq!(pairs.len(), 6);
    assert_eq!(r["meta"]["bars"], 1000);
    let keys = ["pvalue", "qvalue", "half_life", "hurst", "kpss_pvalue", "corr", "beta", "liquidity"];
    for p in pairs {
        for k in keys {
            assert!(p.get(k).is_some(), "row lacks {k}: {p}");
        }
    }
    // Sorted by q; q = BH of all six p-values (recomputed here from statsmodels' definition).
    let q: Vec<f64> = pairs.iter().map(|p| p["qvalue"].as_f64().unwrap()).collect();
    assert!(q.windows(2).all(|w| w[0] <= w[1]), "not sorted by q: {q:?}");
    let mut p: Vec<f64> = pairs.iter().map(|p| p["pvalue"].as_f64().unwrap()).collect();
    p.sort_by(f64::total_cmp);
    let m = p.len() as f64;
    let mut bh: Vec<f64> = p.iter().enumerate().map(|(i, v)| v / ((i + 1) as f64 / m)).collect();
    for i in (0..bh.len() - 1).rev() {
        bh[i] = bh[i].min(bh[i + 1]);
    }
    for (g, e) in q.iter().zip(&bh) {
        assert!((g - e.min(1.0)).abs() <= 1e-15 * e.abs(), "q {g} vs BH {e}");
    }
    // The same Engle–Granger p-value as `pairdesk analyze` on that pair (one implementation).
    let top = &pairs[0];
    let file_of = |sym: &str| files.iter().find(|f| f.ends_with(&format!("/{sym}.csv"))).unwrap().clone();
    let (xf, yf) = (file_of(top["x_symbol"].as_str().unwrap()), file_of(top["y_symbol"].as_str().unwrap()));
    let a = run_json("analyze", &[&xf, &yf, "--json"]);
    assert_eq!(a["coint"]["pvalue"], top["pvalue"]);
    assert_eq!(a["ols"]["beta"], top["beta"]);
    // Filters drop rows but not hypotheses: q-values stay those over all six pairs.
    let cut = q[2];
    let cut_s = cut.to_string();
    let mut fargs: Vec<&str> = files.iter().map(String::as_str).collect();
    fargs.extend(["--json", "--max-q", &cut_s, "--max-hurst", "0.5"]);
    let f = run_json("screen", &fargs);
    assert_eq!(f["meta"]["n_pairs"], 6);
    let kept = f["pairs"].as_array().unwrap();
    assert_eq!(f["meta"]["n_shown"], kept.len());
    let want: Vec<&Value> = pairs
        .iter()
        .filter(|p| p["qvalue"].as_f64().unwrap() < cut && p["hurst"].as_f64().is_some_and(|h| h < 0.5))
        .collect();
    assert_eq!(kept.iter().collect::<Vec<_>>(), want);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_basket_and_screen_inputs_exit_2() {
    let x = path_str(&fixture("binance_um_BTCUSDT_1m_header.csv"));
    let many: Vec<&str> = std::iter::repeat_n(x.as_str(), 13).collect();
    assert_eq!(pairdesk("analyze", &many).status.code(), Some(2), "13 files");
    let out = pairdesk("screen", &[&x, "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least two symbols"));
    // Three legs without common timestamps: a clear overlap error, not a panic.
    let y = path_str(&fixture("yahoo_GSPC_2016_2017.csv"));
    let z = path_str(&fixture("binance_um_ETHUSDT_1m_noheader.csv"));
    let out = pairdesk("analyze", &[&x, &y, &z]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("too little overlap"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
