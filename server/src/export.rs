//! Export of stored history as CSV with a header: `pairdesk export ticks|bars` (to stdout)
//! and the running server's downloads `GET /api/export/ticks.csv` and
//! `GET /api/export/bars.csv` (`?symbol=BTCUSDT&interval=1m&from=…&to=…`, streamed).
//!
//! - ticks: `symbol,agg_id,time_ms,price,qty,buyer_is_maker`
//! - bars: `time_ms,open,high,low,close,volume,count`
//! - book (`pairdesk export book`, `/api/export/book.csv`; 1s/1m/5m):
//!   `time_ms,bid,ask,spread_bps,updates,book_gap` ([`crate::book`])
//! - funding (`pairdesk export funding`, `/api/export/funding.csv`; the interval is ignored):
//!   `symbol,funding_time_ms,funding_rate,mark_price` ([`crate::funding`])
//!
//! Times are epoch milliseconds or ISO-8601 (`2026-03-01`, `2026-03-01T12:00:00Z`);
//! `from` is inclusive, `to` exclusive.

use std::io::Write;

use anyhow::Context;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use app::interval::parse_interval;

use crate::book::BookStore;
use crate::cli::{ExportArgs, ExportKind};
use crate::funding::FundingStore;
use crate::store::{Store, StoreError};

/// One export request, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportQuery {
    pub symbol: String,
    pub interval_ms: i64,
    pub from_ms: i64,
    pub to_ms: i64,
}

impl ExportQuery {
    pub fn parse(symbol: &str, interval: Option<&str>, from: Option<&str>, to: Option<&str>) -> Result<Self, String> {
        let symbol = symbol.trim().to_ascii_uppercase();
        if symbol.is_empty() || !symbol.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("`{symbol}` is not a symbol"));
        }
        let interval_ms = match interval {
            None => 60_000,
            Some(text) => parse_interval(text).map_err(|e| e.to_string())?,
        };
        let from_ms = from.map(parse_time).transpose()?.unwrap_or(i64::MIN);
        let to_ms = to.map(parse_time).transpose()?.unwrap_or(i64::MAX);
        Ok(Self { symbol, interval_ms, from_ms, to_ms })
    }
}

/// Epoch milliseconds, or ISO-8601 date / date-time (UTC unless an offset is given).
pub fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc().timestamp_millis());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc().timestamp_millis());
        }
    }
    Err(format!("`{text}` is neither epoch milliseconds nor an ISO-8601 time"))
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// Writes the ticks of `query` as CSV; returns the rows written.
pub fn write_ticks<W: Write>(store: &Store, query: &ExportQuery, out: W) -> Result<u64, ExportError> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(["symbol", "agg_id", "time_ms", "price", "qty", "buyer_is_maker"])?;
    let mut rows = 0;
    for trade in store.scan_ticks(&query.symbol, query.from_ms, query.to_ms) {
        let t = trade?;
        csv.write_record([
            t.symbol.as_str(),
            &t.agg_id.to_string(),
            &t.t_ms.to_string(),
            &t.price.to_string(),
            &t.qty.to_string(),
            if t.buyer_is_maker { "true" } else { "false" },
        ])?;
        rows += 1;
    }
    csv.flush().map_err(csv::Error::from)?;
    Ok(rows)
}

/// Writes the bars of `query` as CSV; returns the rows written.
pub fn write_bars<W: Write>(store: &Store, query: &ExportQuery, out: W) -> Result<u64, ExportError> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(["time_ms", "open", "high", "low", "close", "volume", "count"])?;
    let bars = store.bars(&query.symbol, query.interval_ms, query.from_ms, query.to_ms)?;
    for b in &bars {
        csv.write_record([
            b.t.to_string(),
            b.open.to_string(),
            b.high.to_string(),
            b.low.to_string(),
            b.close.to_string(),
            b.volume.to_string(),
            b.count.to_string(),
        ])?;
    }
    csv.flush().map_err(csv::Error::from)?;
    Ok(bars.len() as u64)
}

/// Writes the book bars of `query` as CSV; returns the rows written.
pub fn write_book<W: Write>(store: &Store, query: &ExportQuery, out: W) -> Result<u64, ExportError> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(["time_ms", "bid", "ask", "spread_bps", "updates", "book_gap"])?;
    let bars = BookStore::open(store)?.bars(&query.symbol, query.interval_ms, query.from_ms, query.to_ms)?;
    for b in &bars {
        csv.write_record([
            b.t.to_string(),
            b.bid.to_string(),
            b.ask.to_string(),
            b.spread_bps.to_string(),
            b.updates.to_string(),
            b.gap.to_string(),
        ])?;
    }
    csv.flush().map_err(csv::Error::from)?;
    Ok(bars.len() as u64)
}

/// Writes the funding settlements of `query` as CSV; returns the rows written.
pub fn write_funding<W: Write>(store: &Store, query: &ExportQuery, out: W) -> Result<u64, ExportError> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(["symbol", "funding_time_ms", "funding_rate", "mark_price"])?;
    let rows = FundingStore::open(store)?.settlements(&query.symbol, query.from_ms, query.to_ms)?;
    for s in &rows {
        csv.write_record([s.symbol.clone(), s.t_ms.to_string(), s.rate.to_string(), s.mark.to_string()])?;
    }
    csv.flush().map_err(csv::Error::from)?;
    Ok(rows.len() as u64)
}

/// One export of any kind.
fn write_kind<W: Write>(kind: ExportKind, store: &Store, query: &ExportQuery, out: W) -> Result<u64, ExportError> {
    match kind {
        ExportKind::Ticks => write_ticks(store, query, out),
        ExportKind::Bars => write_bars(store, query, out),
        ExportKind::Book => write_book(store, query, out),
        ExportKind::Funding => write_funding(store, query, out),
    }
}

/// `pairdesk export ticks|bars|book|funding …`: CSV to stdout.
pub async fn run(args: &ExportArgs) -> anyhow::Result<()> {
    let query = ExportQuery::parse(&args.symbol, Some(&args.interval), args.from.as_deref(), args.to.as_deref())
        .map_err(anyhow::Error::msg)?;
    if !args.data_dir.join("conf").exists() && !args.data_dir.join("db").exists() {
        anyhow::bail!("no pairdesk database in {}", args.data_dir.display());
    }
    let store = Store::open(&args.data_dir)?;
    let kind = args.kind;
    let written = tokio::task::spawn_blocking(move || {
        let stdout = std::io::stdout();
        let out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
        write_kind(kind, &store, &query, out)
    })
    .await
    .context("export task failed")?;
    match written {
        Ok(rows) => {
            tracing::debug!(rows, "exported");
            Ok(())
        }
        // `pairdesk export … | head` closes the pipe early: that is not an error.
        Err(ExportError::Csv(err)) if is_broken_pipe(&err) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

fn is_broken_pipe(err: &csv::Error) -> bool {
    matches!(err.kind(), csv::ErrorKind::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Query string of the export downloads.
#[derive(Debug, Deserialize)]
pub struct ExportParams {
    pub symbol: String,
    pub interval: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// `GET /api/export/ticks.csv?symbol=…&from=…&to=…`
pub async fn ticks_csv(State(store): State<Store>, Query(params): Query<ExportParams>) -> Response {
    download(store, params, ExportKind::Ticks)
}

/// `GET /api/export/bars.csv?symbol=…&interval=1m&from=…&to=…`
pub async fn bars_csv(State(store): State<Store>, Query(params): Query<ExportParams>) -> Response {
    download(store, params, ExportKind::Bars)
}

/// `GET /api/export/book.csv?symbol=…&interval=1s|1m|5m&from=…&to=…`
pub async fn book_csv(State(store): State<Store>, Query(params): Query<ExportParams>) -> Response {
    download(store, params, ExportKind::Book)
}

/// `GET /api/export/funding.csv?symbol=…&from=…&to=…`
pub async fn funding_csv(State(store): State<Store>, Query(params): Query<ExportParams>) -> Response {
    download(store, params, ExportKind::Funding)
}

/// Streams the CSV as it is produced (a blocking task writes 64 KiB chunks).
fn download(store: Store, params: ExportParams, kind: ExportKind) -> Response {
    let query = match ExportQuery::parse(
        &params.symbol,
        params.interval.as_deref(),
        params.from.as_deref(),
        params.to.as_deref(),
    ) {
        Ok(query) => query,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    if matches!(kind, ExportKind::Book) && !crate::store::STORED_INTERVALS_MS.contains(&query.interval_ms) {
        return (StatusCode::BAD_REQUEST, "book bars exist at 1s, 1m and 5m only").into_response();
    }
    let name = format!(
        "{}-{}.csv",
        query.symbol.to_ascii_lowercase(),
        match kind {
            ExportKind::Ticks => "ticks".to_string(),
            ExportKind::Bars => format!("bars-{}ms", query.interval_ms),
            ExportKind::Book => format!("book-{}ms", query.interval_ms),
            ExportKind::Funding => "funding".to_string(),
        }
    );
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    tokio::task::spawn_blocking(move || {
        let out = std::io::BufWriter::with_capacity(1 << 16, ChannelWriter(tx));
        let result = write_kind(kind, &store, &query, out);
        if let Err(err) = result {
            // The client disconnecting mid-download shows up here too; nothing to do.
            tracing::debug!(%err, "export download ended early");
        }
    });
    // Fused: the compression layer polls the body once more after its end, and a bare
    // `unfold` panics when polled after returning `None` (gzip downloads came back empty).
    let stream = futures_util::stream::StreamExt::fuse(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
    }));
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// `Write` into a channel of chunks (blocking send: used from a blocking task only).
struct ChannelWriter(tokio::sync::mpsc::Sender<Bytes>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Bytes::copy_from_slice(buf))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "download cancelled"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::Trade;

    #[test]
    fn parses_times_and_intervals() {
        assert_eq!(parse_time("1700000000000"), Ok(1_700_000_000_000));
        assert_eq!(parse_time("2024-01-01"), Ok(1_704_067_200_000));
        assert_eq!(parse_time("2024-01-01T00:00:01Z"), Ok(1_704_067_201_000));
        assert_eq!(parse_time("2024-01-01T02:00:00+02:00"), Ok(1_704_067_200_000));
        assert_eq!(parse_time("2024-01-01T00:00:00.5"), Ok(1_704_067_200_500));
        assert!(parse_time("yesterday").is_err());
        assert_eq!(ExportQuery::parse("btcusdt", Some("1h"), None, None).map(|q| q.interval_ms), Ok(3_600_000));
        assert!(ExportQuery::parse("btcusdt", Some("0m"), None, None).is_err());
        assert!(ExportQuery::parse("btcusdt", Some("9223372036854775807s"), None, None).is_err());
        assert!(ExportQuery::parse("btcusdt", Some("1é"), None, None).is_err());
        assert!(ExportQuery::parse("btc/usdt", None, None, None).is_err());
    }

    #[test]
    fn writes_ticks_and_bars_with_headers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let trades: Vec<Trade> = (0..3)
            .map(|i| Trade {
                symbol: "BTCUSDT".into(),
                agg_id: 10 + i,
                t_ms: 1_000 * i as i64,
                price: 1.5,
                qty: 2.0,
                buyer_is_maker: i == 1,
            })
            .collect();
        store.append_trades(&trades).expect("write");
        let query = ExportQuery::parse("btcusdt", Some("2s"), Some("0"), Some("2000")).expect("query");
        let mut out = Vec::new();
        assert_eq!(write_ticks(&store, &query, &mut out).expect("ticks"), 2);
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "symbol,agg_id,time_ms,price,qty,buyer_is_maker\nBTCUSDT,10,0,1.5,2,false\nBTCUSDT,11,1000,1.5,2,true\n"
        );
        let mut out = Vec::new();
        assert_eq!(write_bars(&store, &query, &mut out).expect("bars"), 1);
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "time_ms,open,high,low,close,volume,count\n0,1.5,1.5,1.5,1.5,4,2\n"
        );
        // An hourly export with no range starts at i64::MIN: the bar start of that saturates
        // instead of overflowing (it used to panic in debug and export nothing in release).
        let hourly = ExportQuery::parse("btcusdt", Some("1h"), None, None).expect("query");
        let mut out = Vec::new();
        assert_eq!(write_bars(&store, &hourly, &mut out).expect("bars"), 1);
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "time_ms,open,high,low,close,volume,count\n0,1.5,1.5,1.5,1.5,6,3\n"
        );
    }
}
