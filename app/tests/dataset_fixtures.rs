//! Table-driven check of the CSV reader against `app/tests/golden/fixtures/expected.json`.
//!
//! Fixture directory: `$PAIRDESK_GOLDEN_DIR/fixtures` if set, else `app/tests/golden/fixtures`
//! (committed in this repository).

use std::collections::BTreeSet;
use std::path::PathBuf;

use app::dataset::{inner_join, parse_ohlc_csv, parse_ohlc_csv_with, Dataset, ParseOptions};
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    let dir = match std::env::var_os("PAIRDESK_GOLDEN_DIR") {
        Some(golden) => PathBuf::from(golden).join("fixtures"),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/fixtures")),
    };
    assert!(
        dir.join("expected.json").is_file(),
        "golden fixtures not found at {} (set PAIRDESK_GOLDEN_DIR to the golden directory)",
        dir.display()
    );
    dir
}

fn expected() -> serde_json::Map<String, Value> {
    let path = fixtures_dir().join("expected.json");
    let text = std::fs::read_to_string(&path).expect("read expected.json");
    match serde_json::from_str(&text).expect("parse expected.json") {
        Value::Object(map) => map,
        other => panic!("expected.json is not an object: {other}"),
    }
}

fn read(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every fixture file except expected.json.
fn fixture_files() -> BTreeSet<String> {
    std::fs::read_dir(fixtures_dir())
        .expect("list fixtures")
        .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "expected.json")
        .collect()
}

#[test]
fn every_fixture_is_covered_by_expected_json() {
    let files = fixture_files();
    let listed: BTreeSet<String> = expected().keys().cloned().collect();
    let unlisted: Vec<_> = files.difference(&listed).collect();
    let absent: Vec<_> = listed.difference(&files).collect();
    assert!(unlisted.is_empty(), "fixtures without an expectation: {unlisted:?}");
    assert!(absent.is_empty(), "expectations without a fixture file: {absent:?}");
    assert!(files.len() >= 15, "only {} fixtures found", files.len());
}

fn check_accept(name: &str, exp: &Value) -> Result<(), String> {
    let ds = parse_ohlc_csv(&read(name), name).map_err(|e| format!("rejected: {e}"))?;
    let format = serde_json::to_value(ds.format).map_err(|e| e.to_string())?;
    if format != exp["format"] {
        return Err(format!("format {format}, expected {}", exp["format"]));
    }
    let Some(symbols) = exp["symbols"].as_object() else {
        return Err("expected.json entry has no symbols".into());
    };
    let got: Vec<&str> = ds.symbol_names().collect();
    let want: Vec<&str> = symbols.keys().map(String::as_str).collect();
    if got != want {
        return Err(format!("symbols {got:?}, expected {want:?}"));
    }
    for (sym, e) in symbols {
        let bars = ds.bars(sym).ok_or(format!("{sym} missing"))?;
        let (first, last) = match (bars.first(), bars.last()) {
            (Some(f), Some(l)) => (f, l),
            _ => return Err(format!("{sym}: no bars")),
        };
        let checks = [
            ("rows", Value::from(bars.len()), &e["rows"]),
            ("first_t_ms", Value::from(first.t_ms), &e["first_t_ms"]),
            ("last_t_ms", Value::from(last.t_ms), &e["last_t_ms"]),
        ];
        for (what, got, want) in checks {
            if &got != want {
                return Err(format!("{sym} {what}: {got}, expected {want}"));
            }
        }
        // Closes must match exactly (bit for bit).
        for (what, got, want) in
            [("first_close", first.close, &e["first_close"]), ("last_close", last.close, &e["last_close"])]
        {
            if Some(got) != want.as_f64() {
                return Err(format!("{sym} {what}: {got:?}, expected {want}"));
            }
        }
        if !bars.windows(2).all(|w| w[0].t_ms < w[1].t_ms) {
            return Err(format!("{sym}: timestamps not strictly increasing"));
        }
    }
    Ok(())
}

fn check_reject(name: &str, exp: &Value) -> Result<(), String> {
    let err = match parse_ohlc_csv(&read(name), name) {
        Ok(ds) => return Err(format!("accepted ({} rows)", ds.total_rows())),
        Err(e) => e,
    };
    let kind = serde_json::to_value(err.kind).map_err(|e| e.to_string())?;
    if kind != exp["error_kind"] {
        return Err(format!("kind {kind}, expected {} ({err})", exp["error_kind"]));
    }
    if let Some(line) = exp.get("line").and_then(Value::as_u64) {
        if err.line != Some(line) {
            return Err(format!("line {:?}, expected {line} ({err})", err.line));
        }
        if !err.to_string().contains(&format!("line {line}")) {
            return Err(format!("display does not name line {line}: {err}"));
        }
    }
    if let Some(col) = exp.get("column").and_then(Value::as_str) {
        if !err.column.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(col)) {
            return Err(format!("column {:?}, expected {col} ({err})", err.column));
        }
        if !err.to_string().contains(col) {
            return Err(format!("message does not name column {col}: {err}"));
        }
        if exp["error_kind"] == "missing_column" && !err.message.contains(&format!("'{col}'")) {
            return Err(format!("message does not name the missing column '{col}': {err}"));
        }
    }
    Ok(())
}

#[test]
fn fixtures_match_expected_json() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, exp) in expected() {
        let result = match exp["action"].as_str() {
            Some("accept") => check_accept(&name, &exp),
            Some("reject") => check_reject(&name, &exp),
            other => Err(format!("unknown action {other:?}")),
        };
        checked += 1;
        if let Err(msg) = result {
            failures.push(format!("{name}: {msg}"));
        }
    }
    assert!(checked >= 15, "only {checked} expectations");
    assert!(failures.is_empty(), "fixture failures:\n{}", failures.join("\n"));
}

fn parse_fixture(name: &str) -> Dataset {
    parse_ohlc_csv(&read(name), name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn crlf_bom_file_equals_first_50_rows_of_the_header_file() {
    let full = parse_fixture("binance_um_BTCUSDT_1m_header.csv");
    let short = parse_fixture("ok_binance_um_BTCUSDT_1m_crlf_bom_no_trailing_newline.csv");
    let (full, short) = (full.bars("BTCUSDT").unwrap(), short.bars("BTCUSDT").unwrap());
    assert_eq!(short, &full[..50]);
}

#[test]
fn headerless_file_equals_header_file_layout() {
    let eth = parse_fixture("binance_um_ETHUSDT_1m_noheader.csv");
    let bars = eth.bars("ETHUSDT").unwrap();
    assert_eq!(bars[0].open, 3400.00);
    assert_eq!(bars[0].high, 3402.80);
    assert_eq!(bars[0].low, 3396.51);
    assert_eq!(bars[0].volume, 6127.029);
    assert_eq!(bars[0].count, Some(2207));
}

#[test]
fn symbol_override_replaces_the_file_name_symbol() {
    let name = "binance_um_ETHUSDT_1m_noheader.csv";
    let ds = parse_ohlc_csv_with(&read(name), name, &ParseOptions::with_symbol("ETH-PERP")).expect("accept");
    assert_eq!(ds.symbol_names().collect::<Vec<_>>(), vec!["ETH-PERP"]);
}

#[test]
fn binance_legs_align_on_identical_grids() {
    let btc = parse_fixture("binance_um_BTCUSDT_1m_header.csv");
    let eth = parse_fixture("binance_um_ETHUSDT_1m_noheader.csv");
    let (x, y) = (btc.bars("BTCUSDT").unwrap(), eth.bars("ETHUSDT").unwrap());
    let (t, xs, ys) = inner_join(x, y);
    assert_eq!(t.len(), 1000);
    assert_eq!((xs[0], ys[0]), (62030.6, 3401.97));
    assert_eq!((xs[999], ys[999]), (60348.5, 3304.67));

    let gspc = parse_fixture("yahoo_GSPC_2016_2017.csv");
    let ixic = parse_fixture("yahoo_IXIC_2016_2017.csv");
    let (t, _, _) = inner_join(gspc.bars("^GSPC").unwrap(), ixic.bars("^IXIC").unwrap());
    assert_eq!(t.len(), 503);
}

#[test]
fn dataset_round_trips_through_json() {
    let ds = parse_fixture("generic_ohlcv_iso8601.csv");
    let json = serde_json::to_string(&ds).expect("serialize");
    assert!(json.contains("\"format\":\"generic_ohlcv\""));
    let back: Dataset = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, ds);
}

/// Truncating any fixture anywhere (and flipping bytes) yields Ok or Err, never a panic; and an
/// accepted truncation is a prefix of the full file's bars (never invented data).
#[test]
fn truncated_and_corrupted_fixtures_never_panic() {
    for name in fixture_files() {
        let bytes = read(&name);
        let step = (bytes.len() / 60).max(1);
        let full = parse_ohlc_csv(&bytes, &name).ok();
        for cut in (0..=bytes.len()).step_by(step).chain([bytes.len().saturating_sub(1)]) {
            let prefix = bytes.get(..cut).unwrap_or(&bytes);
            if let (Ok(part), Some(full)) = (parse_ohlc_csv(prefix, &name), &full) {
                for (sym, bars) in &part.symbols {
                    let all = full.bars(sym).unwrap_or_else(|| panic!("{name}@{cut}: new symbol {sym}"));
                    let n = bars.len();
                    // The last row may be cut inside a number (e.g. "62030.6" → "62030."),
                    // so only the rows before it must be identical.
                    assert_eq!(&bars[..n - 1], &all[..n - 1], "{name}@{cut}");
                }
            }
        }
        for i in (0..bytes.len()).step_by((bytes.len() / 25).max(7)) {
            let mut b = bytes.clone();
            for v in [b'\n', b',', b'"', 0xFF, b'x'] {
                b[i] = v;
                let _ = parse_ohlc_csv(&b, &name);
            }
        }
    }
}
