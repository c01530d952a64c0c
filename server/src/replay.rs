//! `pairdesk replay FILE [--speed 10x]`: feeds a recorded capture through the same
//! pipeline as live trades (dedup → bars → store), at a multiple of real time or as fast
//! as possible.
//!
//! Formats, detected from the content:
//! - NDJSON, one trade per line, as the common Binance browser collector writes:
//!   `{"symbol":"BTCUSDT","ts":1709251200120,"price":"62030.6","size":"0.015"}`. `ts` is
//!   epoch ms (or seconds, or ISO-8601); price/size are numbers or decimal strings; an
//!   `id`/`a` field is used as the aggregate id when present, otherwise trades are
//!   numbered per symbol in file order from 1 (so replaying the same file twice stores it
//!   once).
//! - Binance aggTrades CSV dumps (`agg_trade_id,price,quantity,first_trade_id,
//!   last_trade_id,transact_time,is_buyer_maker`) and trades CSV dumps (`id,price,qty,
//!   quote_qty,time,is_buyer_maker`), with or without the header row. The symbol comes
//!   from `--symbol` or the file name (`BTCUSDT-aggTrades-2024-03-01.csv`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{broadcast, mpsc, watch};

use crate::cli::ReplayArgs;
use crate::market::Trade;
use crate::pipeline::{self, Outputs, PairPrices};
use crate::shutdown::{self, Shutdown};
use crate::store::Store;

/// Replay pace: `None` = as fast as possible, `Some(k)` = k× real time.
pub fn parse_speed(text: &str) -> Result<Option<f64>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("max") {
        return Ok(None);
    }
    match text.trim_end_matches(['x', 'X']).parse::<f64>() {
        Ok(k) if k.is_finite() && k > 0.0 => Ok(Some(k)),
        _ => Err(format!("`{text}` is not a speed like 10x or max")),
    }
}

/// What the reader made of the file.
#[derive(Debug, Default, PartialEq)]
pub struct ReplayStats {
    pub trades: u64,
    pub skipped: u64,
}

/// Turns lines of one format into trades.
pub enum Parser {
    Ndjson { next_ids: HashMap<String, u64> },
    Csv { symbol: String },
}

impl Parser {
    /// Chooses the parser from the first non-empty line.
    pub fn detect(first_line: &str, symbol: Option<String>) -> Result<Self, String> {
        if first_line.trim_start().starts_with('{') {
            return Ok(Parser::Ndjson { next_ids: HashMap::new() });
        }
        let symbol =
            symbol.ok_or("a CSV capture needs --symbol (or a file name like BTCUSDT-aggTrades-2024-03-01.csv)")?;
        Ok(Parser::Csv { symbol: symbol.to_ascii_uppercase() })
    }

    /// One line → a trade; `Ok(None)` for headers and blank lines, `Err` for bad lines.
    pub fn parse_line(&mut self, line: &str) -> Result<Option<Trade>, String> {
        let line = line.trim();
        if line.is_empty() {
            return Ok(None);
        }
        match self {
            Parser::Ndjson { next_ids } => parse_ndjson(line, next_ids).map(Some),
            Parser::Csv { symbol } => parse_csv(line, symbol),
        }
    }
}

fn number(value: &serde_json::Value) -> Option<f64> {
    match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn positive(value: Option<f64>, field: &str) -> Result<f64, String> {
    value.filter(|v| v.is_finite() && *v > 0.0).ok_or_else(|| format!("missing or invalid {field}"))
}

/// Epoch ms from ms, seconds (fractional allowed) or microseconds.
fn normalise_ms(t: f64) -> i64 {
    if t < 1e11 {
        (t * 1_000.0).round() as i64
    } else if t > 1e14 {
        (t / 1_000.0).round() as i64
    } else {
        t.round() as i64
    }
}

fn parse_ndjson(line: &str, next_ids: &mut HashMap<String, u64>) -> Result<Trade, String> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("malformed JSON: {e}"))?;
    let field = |names: &[&str]| names.iter().find_map(|n| value.get(*n));
    let symbol = field(&["symbol", "s"])
        .and_then(|s| s.as_str())
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()))
        .ok_or("missing symbol")?
        .to_ascii_uppercase();
    let t_ms = match field(&["ts", "T", "time", "timestamp"]) {
        Some(serde_json::Value::String(s)) if s.parse::<f64>().is_err() => crate::export::parse_time(s)?,
        Some(v) => normalise_ms(number(v).filter(|t| t.is_finite()).ok_or("invalid ts")?),
        None => return Err("missing ts".into()),
    };
    let price = positive(field(&["price", "p"]).and_then(number), "price")?;
    let qty = positive(field(&["size", "qty", "q", "quantity"]).and_then(number), "size")?;
    let next = next_ids.entry(symbol.clone()).or_insert(1);
    let agg_id = match field(&["id", "a", "agg_id"]).and_then(serde_json::Value::as_u64) {
        Some(id) => id,
        None => *next,
    };
    *next = agg_id + 1;
    let buyer_is_maker = match field(&["m", "buyer_is_maker", "side"]) {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(side)) => side.eq_ignore_ascii_case("sell"),
        _ => false,
    };
    Ok(Trade { symbol, agg_id, t_ms, price, qty, buyer_is_maker })
}

fn parse_csv(line: &str, symbol: &str) -> Result<Option<Trade>, String> {
    let cols: Vec<&str> = line.split(',').map(str::trim).collect();
    if cols.first().is_some_and(|c| c.parse::<u64>().is_err()) {
        return Ok(None); // header row
    }
    // aggTrades: id,price,qty,first,last,time,maker. trades: id,price,qty,quote_qty,time,maker.
    let (time_col, maker_col) = match cols.len() {
        7 | 8 => (5, 6),
        6 => (4, 5),
        n => return Err(format!("expected 6 or 7 columns, got {n}")),
    };
    let agg_id = cols[0].parse::<u64>().map_err(|_| "invalid id")?;
    let price = positive(cols[1].parse().ok(), "price")?;
    let qty = positive(cols[2].parse().ok(), "quantity")?;
    let t = cols[time_col].parse::<f64>().map_err(|_| "invalid time")?;
    let buyer_is_maker = cols[maker_col].eq_ignore_ascii_case("true");
    Ok(Some(Trade { symbol: symbol.to_string(), agg_id, t_ms: normalise_ms(t), price, qty, buyer_is_maker }))
}

/// `BTCUSDT-aggTrades-2024-03-01.csv` → `BTCUSDT`.
fn symbol_from_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let prefix = name.split(['-', '_', '.']).next()?;
    (prefix.len() >= 5 && prefix.chars().all(|c| c.is_ascii_alphanumeric())).then(|| prefix.to_ascii_uppercase())
}

/// Reads `input` and sends its trades, paced by `speed`; stops early on shutdown.
pub fn feed(
    input: impl Read,
    symbol: Option<String>,
    speed: Option<f64>,
    trades: &mpsc::Sender<Trade>,
    shutdown: &Shutdown,
) -> Result<ReplayStats, String> {
    let mut stats = ReplayStats::default();
    let mut parser: Option<Parser> = None;
    let mut previous_t: Option<i64> = None;
    for (number, line) in BufReader::new(input).lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read line {}: {e}", number + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let parser = match &mut parser {
            Some(parser) => parser,
            None => parser.insert(Parser::detect(&line, symbol.clone())?),
        };
        let trade = match parser.parse_line(&line) {
            Ok(Some(trade)) => trade,
            Ok(None) => continue,
            Err(err) => {
                stats.skipped += 1;
                tracing::debug!(line = number + 1, %err, "skipped");
                continue;
            }
        };
        if let (Some(k), Some(prev)) = (speed, previous_t) {
            let wait = (trade.t_ms - prev).max(0) as f64 / 1_000.0 / k;
            if wait > 0.0 {
                std::thread::sleep(Duration::from_secs_f64(wait.min(60.0)));
            }
        }
        previous_t = Some(trade.t_ms);
        if shutdown.is_requested() || trades.blocking_send(trade).is_err() {
            break;
        }
        stats.trades += 1;
    }
    Ok(stats)
}

/// `pairdesk replay FILE [--speed 10x] [--data-dir D]`.
pub async fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    let speed = parse_speed(&args.speed).map_err(anyhow::Error::msg)?;
    let file = std::fs::File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let symbol = args.symbol.clone().or_else(|| symbol_from_file_name(&args.file));
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data dir {}", args.data_dir.display()))?;
    let store = Store::open(&args.data_dir)?;
    let before = store.tick_count();
    let (trigger, shutdown) = shutdown::channel();
    let (tx, rx) = mpsc::channel(65_536);
    let (prices, _) = watch::channel(PairPrices::default());
    let (bars, _) = broadcast::channel(pipeline::BAR_CHANNEL_CAPACITY);
    let outputs = Outputs { pair: (String::new(), String::new()), prices, bars };
    // The pipeline stops when the reader drops its sender; shutdown only stops the reader,
    // so whatever was read is still stored.
    let (_pipeline_trigger, pipeline_shutdown) = shutdown::channel();
    let pipeline = tokio::spawn(pipeline::run(rx, store.clone(), outputs, pipeline_shutdown));
    let reader_shutdown = shutdown.clone();
    let reader = tokio::task::spawn_blocking(move || feed(file, symbol, speed, &tx, &reader_shutdown));
    let stats = tokio::select! {
        stats = reader => stats,
        () = shutdown::os_signal() => {
            trigger.fire();
            anyhow::bail!("interrupted");
        }
    };
    let stats = stats.context("replay reader failed")?.map_err(anyhow::Error::msg)?;
    pipeline.await.context("pipeline failed")?;
    store.flush().await?;
    let stored = store.tick_count().saturating_sub(before);
    eprintln!(
        "replayed {} trades ({} lines skipped); {} new ticks stored in {}",
        stats.trades,
        stats.skipped,
        stored,
        args.data_dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_speeds() {
        assert_eq!(parse_speed("10x"), Ok(Some(10.0)));
        assert_eq!(parse_speed("0.5"), Ok(Some(0.5)));
        assert_eq!(parse_speed("max"), Ok(None));
        assert!(parse_speed("0x").is_err());
        assert!(parse_speed("fast").is_err());
    }

    #[test]
    fn parses_ndjson_lines_leniently_and_numbers_them_per_symbol() {
        let mut parser = Parser::detect("{", None).expect("ndjson");
        let a = parser
            .parse_line(r#"{"symbol":"btcusdt","ts":1709251200120,"price":"62030.6","size":0.015}"#)
            .expect("valid")
            .expect("trade");
        assert_eq!(
            (a.symbol.as_str(), a.agg_id, a.t_ms, a.price, a.qty),
            ("BTCUSDT", 1, 1709251200120, 62030.6, 0.015)
        );
        let b = parser.parse_line(r#"{"symbol":"BTCUSDT","ts":1709251201.5,"price":1,"size":2}"#).expect("ok");
        assert_eq!(b.map(|t| (t.agg_id, t.t_ms)), Some((2, 1709251201500)));
        let c = parser.parse_line(r#"{"symbol":"ETHUSDT","ts":"2024-03-01T00:00:00Z","price":1,"size":2}"#);
        assert_eq!(c.expect("ok").map(|t| (t.agg_id, t.t_ms)), Some((1, 1709251200000)));
        for bad in [
            r#"{"symbol":"BTCUSDT","ts":1,"price":-1,"size":2}"#,
            r#"{"symbol":"BTCUSDT","ts":1,"price":"NaN","size":2}"#,
            r#"{"ts":1,"price":1,"size":2}"#,
            "{not json",
        ] {
            assert!(parser.parse_line(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_binance_csv_dumps_with_and_without_header() {
        let mut parser = Parser::detect("agg_trade_id,price", Some("btcusdt".into())).expect("csv");
        assert_eq!(
            parser.parse_line("agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"),
            Ok(None)
        );
        let agg = parser.parse_line("26129,0.01633102,4.70443515,27781,27781,1498793709153,true").expect("ok");
        assert_eq!(agg.map(|t| (t.agg_id, t.t_ms, t.buyer_is_maker)), Some((26129, 1498793709153, true)));
        let trade = parser.parse_line("5,62000.1,0.5,31000.05,1709251200120,False").expect("ok");
        assert_eq!(trade.map(|t| (t.agg_id, t.price, t.buyer_is_maker)), Some((5, 62000.1, false)));
        assert!(parser.parse_line("1,2,3").is_err());
        assert!(Parser::detect("1,2,3", None).is_err(), "CSV needs a symbol");
        assert_eq!(symbol_from_file_name(Path::new("/x/BTCUSDT-aggTrades-2024-03-01.csv")), Some("BTCUSDT".into()));
    }

    #[tokio::test]
    async fn replays_through_the_pipeline_into_ticks_and_bars() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let capture: String = (0..50)
            .map(|i| {
                format!(
                    "{{\"symbol\":\"BTCUSDT\",\"ts\":{},\"price\":\"{}\",\"size\":\"1\"}}\n",
                    1_709_251_200_000_i64 + 100 * i,
                    10 + i
                )
            })
            .collect();
        let (tx, rx) = mpsc::channel(16);
        let (prices, _) = watch::channel(PairPrices::default());
        let (bars, _) = broadcast::channel(16);
        let outputs = Outputs { pair: ("BTCUSDT".into(), "ETHUSDT".into()), prices, bars };
        let (_trigger, shutdown) = shutdown::channel();
        let pipeline = tokio::spawn(pipeline::run(rx, store.clone(), outputs, shutdown.clone()));
        let stats = tokio::task::spawn_blocking(move || feed(capture.as_bytes(), None, None, &tx, &shutdown))
            .await
            .expect("join")
            .expect("feed");
        pipeline.await.expect("pipeline");
        assert_eq!(stats, ReplayStats { trades: 50, skipped: 0 });
        assert_eq!(store.tick_count(), 50);
        let bars = store.bars("BTCUSDT", 1_000, 0, i64::MAX).expect("bars");
        assert_eq!(bars.iter().map(|b| b.count).sum::<u64>(), 50);
        assert_eq!(bars.len(), 5);
    }
}
