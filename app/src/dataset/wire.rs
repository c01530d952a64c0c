//! The raw layouts of the supported CSV formats: header recognition and column positions.

use csv::StringRecord;

use super::error::{CsvError, ErrorKind};
use super::types::Format;

/// Column names of a Binance kline export, in file order.
pub(crate) const BINANCE_COLUMNS: [&str; 12] = [
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
];

const BINANCE_HEADER: &str = "open_time,open,high,low,close,volume,close_time,quote_volume,count,\
                              taker_buy_volume,taker_buy_quote_volume,ignore";
const GENERIC_HEADER: &str = "timestamp,symbol,open,high,low,close,volume";
const YAHOO_HEADER: &str = "Date,Open,High,Low,Close,Adj Close,Volume";

/// A column: its index in a record and its name for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Col {
    pub idx: usize,
    pub name: String,
}

/// Where the fields of one format live in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub format: Format,
    /// Whether the first record is a header (otherwise it is the first data row).
    pub has_header: bool,
    /// Every data row must have exactly this many fields.
    pub n_fields: usize,
    pub time: Col,
    pub symbol: Option<Col>,
    pub open: Col,
    pub high: Col,
    pub low: Col,
    pub close: Col,
    /// Yahoo `Adj Close` (the price series when present).
    pub adj_close: Option<Col>,
    pub volume: Col,
    pub count: Option<Col>,
}

/// Header key: trimmed, lower case, spaces and '-' as '_' (so `Adj Close` → `adj_close`).
fn key(field: &str) -> String {
    field
        .trim()
        .trim_matches('"')
        .trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Whether a field looks like a number (header-less Binance first row).
pub(crate) fn is_numeric(field: &str) -> bool {
    let f = field.trim();
    !f.is_empty() && (f.parse::<i64>().is_ok() || f.parse::<f64>().is_ok_and(f64::is_finite))
}

struct Header<'a> {
    keys: Vec<String>,
    raw: &'a StringRecord,
}

impl Header<'_> {
    fn find(&self, aliases: &[&str]) -> Option<Col> {
        aliases.iter().find_map(|alias| {
            self.keys
                .iter()
                .position(|k| k == alias)
                .map(|idx| Col { idx, name: self.raw.get(idx).unwrap_or(alias).trim().to_string() })
        })
    }

    fn has(&self, aliases: &[&str]) -> bool {
        aliases.iter().any(|a| self.keys.iter().any(|k| k == a))
    }

    fn found(&self) -> String {
        self.raw.iter().map(str::trim).collect::<Vec<_>>().join(",")
    }
}

/// Required columns: (canonical name for errors, accepted header keys).
type Spec = [(&'static str, &'static [&'static str])];

fn require(h: &Header<'_>, spec: &Spec, format: Format, expected: &str) -> Result<Vec<Col>, CsvError> {
    let mut cols = Vec::with_capacity(spec.len());
    let mut missing = Vec::new();
    for (name, aliases) in spec {
        match h.find(aliases) {
            Some(c) => cols.push(c),
            None => missing.push(*name),
        }
    }
    match missing.first() {
        None => Ok(cols),
        Some(first) => {
            let list = missing.iter().map(|m| format!("'{m}'")).collect::<Vec<_>>().join(", ");
            Err(CsvError::new(
                ErrorKind::MissingColumn,
                format!(
                    "missing column {list} in the {} header (expected {expected}; found {})",
                    format.label(),
                    h.found()
                ),
            )
            .at_line(1)
            .in_column(*first))
        }
    }
}

fn take(cols: &mut std::vec::IntoIter<Col>) -> Col {
    // `require` returns exactly one column per spec entry, in order.
    cols.next().unwrap_or(Col { idx: 0, name: String::new() })
}

const TIME_ALIASES: &[&str] = &["timestamp", "time", "datetime", "date", "open_time"];
const SYMBOL_ALIASES: &[&str] = &["symbol", "ticker"];
const COUNT_ALIASES: &[&str] = &["count", "trades", "number_of_trades", "trade_count"];
const ADJ_ALIASES: &[&str] = &["adj_close", "adjclose", "adjusted_close", "adj._close"];

/// Recognise the format from the first non-blank record (`line` = its file line).
pub(crate) fn detect_layout(first: &StringRecord, line: u64) -> Result<Layout, CsvError> {
    let first_field = first.get(0).unwrap_or("");
    if is_numeric(first_field) {
        return binance_headerless(first, line);
    }
    if super::time::parse_timestamp(first_field).is_some() {
        return Err(CsvError::new(
            ErrorKind::MissingColumn,
            format!(
                "the file has no header row (the first row starts with the date '{first_field}'); \
                 generic OHLCV files need the header {GENERIC_HEADER} and Yahoo files {YAHOO_HEADER}"
            ),
        )
        .at_line(line));
    }
    let h = Header { keys: first.iter().map(key).collect(), raw: first };
    let n_fields = first.len();
    // `time_ms`: the bars CSV `pairdesk export bars` and `/api/export/bars.csv` write
    // (`time_ms,open,high,low,close,volume,count`, open times in ms), read like a kline file.
    if h.has(&["open_time", "time_ms"]) {
        let spec: &Spec = &[
            ("open_time", &["open_time", "time_ms"]),
            ("open", &["open"]),
            ("high", &["high"]),
            ("low", &["low"]),
            ("close", &["close"]),
            ("volume", &["volume"]),
        ];
        let mut cols = require(&h, spec, Format::BinanceKline, BINANCE_HEADER)?.into_iter();
        return Ok(Layout {
            format: Format::BinanceKline,
            has_header: true,
            n_fields,
            time: take(&mut cols),
            symbol: None,
            open: take(&mut cols),
            high: take(&mut cols),
            low: take(&mut cols),
            close: take(&mut cols),
            adj_close: None,
            volume: take(&mut cols),
            count: h.find(COUNT_ALIASES),
        });
    }
    if h.has(SYMBOL_ALIASES) || h.has(&["timestamp", "datetime"]) {
        let spec: &Spec = &[
            ("timestamp", TIME_ALIASES),
            ("symbol", SYMBOL_ALIASES),
            ("open", &["open"]),
            ("high", &["high"]),
            ("low", &["low"]),
            ("close", &["close"]),
            ("volume", &["volume"]),
        ];
        let mut cols = require(&h, spec, Format::GenericOhlcv, GENERIC_HEADER)?.into_iter();
        return Ok(Layout {
            format: Format::GenericOhlcv,
            has_header: true,
            n_fields,
            time: take(&mut cols),
            symbol: Some(take(&mut cols)),
            open: take(&mut cols),
            high: take(&mut cols),
            low: take(&mut cols),
            close: take(&mut cols),
            adj_close: None,
            volume: take(&mut cols),
            count: h.find(COUNT_ALIASES),
        });
    }
    if h.has(&["date"]) || h.has(ADJ_ALIASES) {
        let spec: &Spec = &[
            ("Date", &["date"]),
            ("Open", &["open"]),
            ("High", &["high"]),
            ("Low", &["low"]),
            ("Close", &["close"]),
            ("Volume", &["volume"]),
        ];
        let mut cols = require(&h, spec, Format::Yahoo, YAHOO_HEADER)?.into_iter();
        return Ok(Layout {
            format: Format::Yahoo,
            has_header: true,
            n_fields,
            time: take(&mut cols),
            symbol: None,
            open: take(&mut cols),
            high: take(&mut cols),
            low: take(&mut cols),
            close: take(&mut cols),
            adj_close: h.find(ADJ_ALIASES),
            volume: take(&mut cols),
            count: None,
        });
    }
    let err = CsvError::new(
        ErrorKind::MissingColumn,
        format!(
            "unrecognised header {}; expected a Binance kline header ({BINANCE_HEADER}, or no \
             header), generic OHLCV ({GENERIC_HEADER}) or Yahoo ({YAHOO_HEADER})",
            h.found()
        ),
    )
    .at_line(line);
    // A header with prices but no time column: name the missing time column.
    if h.has(&["close"]) {
        Err(err.in_column("timestamp"))
    } else {
        Err(err)
    }
}

fn binance_headerless(first: &StringRecord, line: u64) -> Result<Layout, CsvError> {
    if first.len() != BINANCE_COLUMNS.len() {
        return Err(CsvError::new(
            ErrorKind::ParseError,
            format!(
                "the first row starts with a number, so this is read as a header-less Binance kline \
                 file, which has {} fields ({BINANCE_HEADER}); this row has {}",
                BINANCE_COLUMNS.len(),
                first.len()
            ),
        )
        .at_line(line));
    }
    let col = |idx: usize| Col { idx, name: BINANCE_COLUMNS.get(idx).copied().unwrap_or("?").to_string() };
    Ok(Layout {
        format: Format::BinanceKline,
        has_header: false,
        n_fields: BINANCE_COLUMNS.len(),
        time: col(0),
        symbol: None,
        open: col(1),
        high: col(2),
        low: col(3),
        close: col(4),
        adj_close: None,
        volume: col(5),
        count: Some(col(8)),
    })
}
