//! The invariants the fuzz targets check, one function per target, shared by the fuzz crate
//! (`fuzz/fuzz_targets/*.rs` include this file with `#[path]`) and by the regular test
//! `server/tests/fuzz_corpus.rs`, which feeds every committed corpus file through the same
//! function on stable. Each function takes raw bytes, runs one parser exactly as the product
//! calls it, and panics (the fuzzer's "crash") if a parser panics or an accepted value breaks
//! what the rest of the system relies on. Rejections are fine; wrong acceptances are not.
#![allow(dead_code)]

use app::dataset::{parse_ohlc_csv, parse_ohlc_csv_with, Dataset, Format, ParseOptions};
use app::interval::{interval_label, parse_interval, MAX_INTERVAL_MS, MIN_INTERVAL_MS};
use app::protocol::{ClientMsg, INTERVALS_MS};
use app::ui::view::{ViewQuery, WINDOW_RANGE, Z_ENTRY_RANGE, Z_EXIT_RANGE};
use server::cluster::wire;
use server::ingest::binance::{parse_frame, Frame, FrameError};
use server::ingest::binance_book::parse_book_frame;
use server::ingest::binance_funding::{parse_mark_frame, FundingRateRow};
use server::ingest::binance_rest::{parse_kline, RestAggTrade};
use server::ingest::stream::SideFrame;
use server::market::Trade;

/// What a target checks: one input, any bytes; a panic is a finding.
pub type Check = fn(&[u8]);

/// Every target: its name (the directory of its corpus, `fuzz/corpus/<name>/`, and its file
/// `fuzz/fuzz_targets/<name>.rs`) and its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("csv_ohlc", csv_ohlc),
    ("agg_trade_frame", agg_trade_frame),
    ("book_ticker_frame", book_ticker_frame),
    ("mark_price_frame", mark_price_frame),
    ("rest_funding", rest_funding),
    ("rest_agg_trades", rest_agg_trades),
    ("rest_klines", rest_klines),
    ("client_msg", client_msg),
    ("view_query", view_query),
    ("interval", interval),
    ("cluster_message", cluster_message),
];

/// WebSocket text frames, URLs and JSON bodies are UTF-8 before our parsers see them
/// (tungstenite, axum and serde_json refuse anything else), so other bytes are not an input.
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

fn positive(what: &str, v: f64) {
    assert!(v.is_finite() && v > 0.0, "{what} {v} accepted: must be finite and > 0");
}

/// An upload, as `POST /api/datasets` parses it: the file's bytes under a file name that
/// names a symbol, and again with a user-chosen symbol. Accepted data sets have at least one
/// bar per symbol, strictly increasing times, finite positive prices, finite non-negative
/// volumes; the symbol override changes the symbol of a single-symbol file and nothing else.
pub fn csv_ohlc(data: &[u8]) {
    let plain = parse_ohlc_csv(data, "BTCUSDT-1m-2024-03.csv");
    let renamed = parse_ohlc_csv_with(data, "BTCUSDT-1m-2024-03.csv", &ParseOptions::with_symbol("ETHUSDT"));
    match (&plain, &renamed) {
        (Ok(plain), Ok(renamed)) => {
            check_dataset(plain);
            check_dataset(renamed);
            if plain.format == Format::GenericOhlcv {
                assert_eq!(plain, renamed, "the symbol override changed a generic OHLCV file");
            } else {
                assert_eq!(plain.symbols.len(), 1, "a single-symbol format produced {:?}", plain.symbols.keys());
                assert_eq!(renamed.symbols.keys().collect::<Vec<_>>(), ["ETHUSDT"]);
                assert_eq!(plain.symbols.values().next(), renamed.symbols.values().next(), "override changed the bars");
            }
        }
        (Err(a), Err(b)) => assert_eq!(a.kind, b.kind, "the symbol override changed the error"),
        _ => panic!("the symbol override changed acceptance: {plain:?} vs {renamed:?}"),
    }
}

fn check_dataset(dataset: &Dataset) {
    assert!(!dataset.symbols.is_empty(), "an accepted data set without symbols");
    for (symbol, bars) in &dataset.symbols {
        assert!(!symbol.is_empty(), "an empty symbol");
        assert!(!bars.is_empty(), "{symbol}: no bars");
        for pair in bars.windows(2) {
            assert!(pair[0].t_ms < pair[1].t_ms, "{symbol}: times {} then {}", pair[0].t_ms, pair[1].t_ms);
        }
        for bar in bars {
            for (what, v) in [("open", bar.open), ("high", bar.high), ("low", bar.low), ("close", bar.close)] {
                positive(what, v);
            }
            assert!(bar.volume.is_finite() && bar.volume >= 0.0, "volume {} accepted", bar.volume);
        }
    }
}

/// Parses a text frame, and again as the same JSON document written another way (strings
/// unescaped, keys sorted, no whitespace): the meaning of a frame never depends on its
/// encoding (the parsers have a zero-copy path that escaped strings cannot take).
fn parse_either_way<T: PartialEq + std::fmt::Debug>(
    text: &str,
    parse: impl Fn(&str) -> Result<T, FrameError>,
) -> Result<T, FrameError> {
    let result = parse(text);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let again = parse(&value.to_string());
        if !matches!((&result, &again), (Err(FrameError::Malformed(_)), Err(FrameError::Malformed(_)))) {
            assert_eq!(result, again, "{text} parses unlike its re-encoding {value}");
        }
    }
    result
}

/// A trade as the rest of the pipeline expects it: positive prices and quantities and an
/// upper-case symbol.
fn check_trade(trade: &Trade) {
    positive("price", trade.price);
    positive("quantity", trade.qty);
    assert!(!trade.symbol.bytes().any(|b| b.is_ascii_lowercase()), "symbol {:?} not upper-case", trade.symbol);
}

/// One text frame of the aggTrade stream.
pub fn agg_trade_frame(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(Frame::Trade(trade)) = parse_either_way(text, parse_frame) {
        check_trade(&trade);
    }
}

/// One text frame of the bookTicker stream: an accepted quote is uncrossed with finite
/// positive prices and sizes.
pub fn book_ticker_frame(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(SideFrame::Event(quote)) = parse_either_way(text, parse_book_frame) {
        for (what, v) in
            [("bid", quote.bid), ("bid qty", quote.bid_qty), ("ask", quote.ask), ("ask qty", quote.ask_qty)]
        {
            positive(what, v);
        }
        assert!(quote.bid < quote.ask, "crossed quote accepted: {quote:?}");
        assert!(!quote.symbol.bytes().any(|b| b.is_ascii_lowercase()), "symbol {:?}", quote.symbol);
    }
}

/// One text frame of the markPrice stream: positive mark and index, a finite funding rate.
pub fn mark_price_frame(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(SideFrame::Event(mark)) = parse_either_way(text, parse_mark_frame) {
        positive("mark", mark.mark);
        positive("index", mark.index);
        assert!(mark.funding_rate.is_finite(), "funding rate {} accepted", mark.funding_rate);
        assert!(!mark.symbol.bytes().any(|b| b.is_ascii_lowercase()), "symbol {:?}", mark.symbol);
    }
}

/// A `GET /fapi/v1/fundingRate` body, read as the funding backfill reads it.
pub fn rest_funding(data: &[u8]) {
    let Ok(rows) = serde_json::from_slice::<Vec<FundingRateRow>>(data) else { return };
    for row in rows {
        if let Ok(settlement) = row.into_settlement() {
            assert!(settlement.rate.is_finite(), "funding rate {} accepted", settlement.rate);
            positive("mark", settlement.mark);
            assert!(!settlement.symbol.bytes().any(|b| b.is_ascii_lowercase()), "symbol {:?}", settlement.symbol);
        }
    }
}

/// A `GET /fapi/v1/aggTrades` body, read as the trade backfill reads it.
pub fn rest_agg_trades(data: &[u8]) {
    let Ok(rows) = serde_json::from_slice::<Vec<RestAggTrade>>(data) else { return };
    for row in rows {
        if let Ok(trade) = row.into_trade("btcusdt") {
            check_trade(&trade);
            assert_eq!(trade.symbol, "BTCUSDT");
        }
    }
}

/// A `GET /fapi/v1/klines` body, each row read at the grids the history fetch uses (and
/// nonsense ones): an accepted bar sits on the grid with consistent, positive OHLC.
pub fn rest_klines(data: &[u8]) {
    let Ok(rows) = serde_json::from_slice::<Vec<serde_json::Value>>(data) else { return };
    for row in &rows {
        for interval_ms in [60_000, 300_000, 1_000, 0, -60_000, i64::MAX, i64::MIN] {
            let Ok(bar) = parse_kline(row, interval_ms) else { continue };
            assert!(
                interval_ms > 0 && bar.t.rem_euclid(interval_ms) == 0,
                "bar at {} off the {interval_ms} grid",
                bar.t
            );
            for (what, v) in [("open", bar.open), ("high", bar.high), ("low", bar.low), ("close", bar.close)] {
                positive(what, v);
            }
            assert!(bar.low <= bar.open && bar.open <= bar.high, "open outside [low, high]: {bar:?}");
            assert!(bar.low <= bar.close && bar.close <= bar.high, "close outside [low, high]: {bar:?}");
            assert!(bar.volume.is_finite() && bar.volume >= 0.0, "volume {} accepted", bar.volume);
        }
    }
}

/// One message from a browser on `/ws`: whatever parses serialises and parses back the same.
pub fn client_msg(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(msg) = serde_json::from_str::<ClientMsg>(text) else { return };
    let again = serde_json::to_string(&msg).expect("a parsed message serialises");
    assert_eq!(serde_json::from_str::<ClientMsg>(&again).ok(), Some(msg), "did not round-trip via {again}");
}

/// A page's query string: total (never panics), every field within its slider's range, and
/// the query the page writes back reads as the same view.
pub fn view_query(data: &[u8]) {
    let Some(query) = text(data) else { return };
    let view = ViewQuery::from_query(query);
    assert!(INTERVALS_MS.contains(&view.interval_ms), "interval {} not offered", view.interval_ms);
    for w in [view.window, view.corr_window] {
        assert!((WINDOW_RANGE.0..=WINDOW_RANGE.1).contains(&w), "window {w} out of range");
    }
    assert!((Z_ENTRY_RANGE.0..=Z_ENTRY_RANGE.1).contains(&view.z_entry), "entry {}", view.z_entry);
    assert!((Z_EXIT_RANGE.0..=Z_EXIT_RANGE.1).contains(&view.z_exit), "exit {}", view.z_exit);
    let tape = app::analytics::tape::check_tape_window(view.tape_window);
    assert!(tape.is_ok(), "tape window {} would be refused by the server: {tape:?}", view.tape_window);
    for symbol in [&view.x, &view.y] {
        assert!(!symbol.is_empty() && !symbol.contains(['&', '=', '#']), "symbol {symbol:?} breaks the query");
    }
    // `to_query` rounds thresholds to one decimal; from then on the view is a fixed point.
    let written = ViewQuery::from_query(&view.to_query());
    assert_eq!(ViewQuery::from_query(&written.to_query()), written, "{} does not read back", written.to_query());
}

/// An interval as typed into a URL or flag: within 1s..366d, whole seconds, and its label
/// parses back to the same interval.
pub fn interval(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(ms) = parse_interval(text) else { return };
    assert!((MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&ms), "{text:?} → {ms} ms out of range");
    assert_eq!(ms % 1_000, 0, "{text:?} → {ms} ms is not whole seconds");
    let label = interval_label(ms);
    assert_eq!(parse_interval(&label), Ok(ms), "{text:?} → {ms} ms → {label:?} does not parse back");
}

/// A message on a cluster subject or bucket key: `SUBJECT\nPAYLOAD` (the key alone for the
/// buckets). Anyone who reaches the NATS server can send one, so each decoder must refuse what
/// is not valid and what it accepts must be what its subject says and survive our own
/// encoding unchanged (the form every other process reads back).
pub fn cluster_message(data: &[u8]) {
    let Some(split) = data.iter().position(|&b| b == b'\n') else { return };
    let Ok(subject) = std::str::from_utf8(&data[..split]) else { return };
    let payload = &data[split + 1..];
    if let Ok(trade) = wire::decode_on(subject, payload) {
        check_trade(&trade);
        assert_eq!(subject, server::cluster::trade_subject(&trade.symbol));
        assert_eq!(wire::decode_on(subject, &wire::encode(&trade)), Ok(trade));
    }
    if let Ok(quote) = wire::decode_quote(subject, payload) {
        for v in [quote.bid, quote.bid_qty, quote.ask, quote.ask_qty] {
            positive("quote", v);
        }
        assert!(quote.bid < quote.ask, "crossed quote accepted: {quote:?}");
        assert_eq!(subject, format!("{}{}", server::cluster::BOOK_SUBJECT_PREFIX, quote.symbol));
        assert_eq!(wire::decode_quote(subject, &wire::encode_quote(&quote)), Ok(quote));
    }
    if let Ok(mark) = wire::decode_mark(subject, payload) {
        positive("mark", mark.mark);
        positive("index", mark.index);
        assert!(mark.funding_rate.is_finite());
        assert_eq!(subject, format!("{}{}", server::cluster::MARK_SUBJECT_PREFIX, mark.symbol));
        assert_eq!(wire::decode_mark(subject, &wire::encode_mark(&mark)), Ok(mark));
    }
    if let Ok(event) = wire::decode_alert(subject, payload) {
        assert_eq!(subject, server::cluster::alert_subject(&event.rule_id));
        assert_eq!(wire::decode_alert(subject, &wire::encode_alert(&event)), Ok(event));
    }
    if let Ok(beat) = wire::decode_heartbeat(subject, payload) {
        assert_eq!(subject, server::cluster::heartbeat_subject(&beat.id));
        assert_eq!(wire::decode_heartbeat(subject, &wire::encode_heartbeat(&beat)), Ok(beat));
    }
    if let Ok(rule) = wire::decode_rule(subject, payload) {
        assert_eq!(rule.rule.id, subject, "a rule stored under another id's key");
        assert_eq!(wire::decode_rule(subject, &wire::encode_rule(&rule)), Ok(rule));
    }
    if let Ok((symbol, added_ms)) = wire::decode_symbol(subject, payload) {
        assert!(!symbol.is_empty() && !symbol.bytes().any(|b| b.is_ascii_lowercase()), "symbol {symbol:?}");
        assert_eq!(wire::decode_symbol(&symbol, &wire::encode_symbol(added_ms)), Ok((symbol, added_ms)));
    }
}
