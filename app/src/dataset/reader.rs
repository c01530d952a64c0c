//! `parse_ohlc_csv`: bytes of one uploaded CSV file → [`Dataset`] or [`CsvError`].

use std::collections::BTreeMap;

use csv::{ReaderBuilder, StringRecord, Trim};

use super::error::{CsvError, ErrorKind};
use super::time::{epoch_to_ms, fmt_ms, parse_timestamp};
use super::types::{Bar, Dataset, Format};
use super::wire::{detect_layout, Col, Layout};

/// Options of [`parse_ohlc_csv_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Symbol for single-symbol formats (Binance kline, Yahoo) instead of the one derived from
    /// the file name. Ignored for generic OHLCV files, which carry a symbol column.
    pub symbol_override: Option<String>,
}

impl ParseOptions {
    /// Options with a symbol override (blank strings are ignored).
    pub fn with_symbol(symbol: impl Into<String>) -> Self {
        ParseOptions { symbol_override: Some(symbol.into()) }
    }
}

/// Parse one uploaded OHLC CSV file (Binance kline with or without header, generic long OHLCV,
/// or Yahoo). The format is detected from the header (or a numeric first row: header-less
/// Binance). Single-symbol formats take the symbol from `file_name`
/// (see [`symbol_from_file_name`]).
///
/// The whole file is validated first; any problem rejects the file (never a partial data set).
pub fn parse_ohlc_csv(bytes: &[u8], file_name: &str) -> Result<Dataset, CsvError> {
    parse_ohlc_csv_with(bytes, file_name, &ParseOptions::default())
}

/// [`parse_ohlc_csv`] with options (e.g. a user-chosen symbol).
pub fn parse_ohlc_csv_with(bytes: &[u8], file_name: &str, options: &ParseOptions) -> Result<Dataset, CsvError> {
    let body = csv_body(bytes)?;
    let mut layout: Option<Layout> = None;
    let mut acc = Accumulator::default();
    let symbol = options.symbol_override.as_deref().map(str::trim).filter(|s| !s.is_empty());

    for_each_record(body, |record, line| {
        let lay = match &layout {
            Some(l) => l,
            None => {
                let l = detect_layout(record, line)?;
                if l.format == Format::GenericOhlcv {
                    acc.single = None;
                } else {
                    acc.single = Some(match symbol {
                        Some(s) => s.to_string(),
                        None => symbol_from_file_name(file_name, l.format),
                    });
                }
                let is_header = l.has_header;
                let l = layout.insert(l);
                if is_header {
                    return Ok(());
                }
                l
            }
        };
        parse_row(lay, record, line, &mut acc)
    })?;

    let Some(layout) = layout else {
        return Err(CsvError::new(ErrorKind::EmptyFile, "the file contains no rows"));
    };
    if acc.symbols.is_empty() {
        return Err(CsvError::new(ErrorKind::NoDataRows, "the file has a header line but no data rows"));
    }
    Ok(Dataset { format: layout.format, symbols: acc.symbols.into_iter().map(|(k, v)| (k, v.bars)).collect() })
}

#[derive(Default)]
struct Series {
    bars: Vec<Bar>,
    last_line: u64,
}

#[derive(Default)]
struct Accumulator {
    /// The symbol of a single-symbol format.
    single: Option<String>,
    symbols: BTreeMap<String, Series>,
}

/// Every non-blank record of a CSV body, with its 1-based file line, handed to `f` in order.
pub(crate) fn for_each_record(
    body: &[u8],
    mut f: impl FnMut(&StringRecord, u64) -> Result<(), CsvError>,
) -> Result<(), CsvError> {
    let mut reader = ReaderBuilder::new().has_headers(false).flexible(true).trim(Trim::All).from_reader(body);
    let mut record = StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => return Err(csv_error(&e)),
        }
        if record.len() == 1 && record.get(0).is_some_and(str::is_empty) {
            continue; // a blank (whitespace-only) line
        }
        f(&record, record.position().map_or(0, csv::Position::line))?;
    }
}

/// The bytes after a byte-order mark, unless the file is empty or not comma-separated.
pub(crate) fn csv_body(bytes: &[u8]) -> Result<&[u8], CsvError> {
    if bytes.is_empty() {
        return Err(CsvError::new(ErrorKind::EmptyFile, "the file is empty (0 bytes)"));
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(CsvError::new(
            ErrorKind::EmptyFile,
            "the file contains no data (only a byte-order mark or whitespace)",
        ));
    }
    sniff_delimiter(body)?;
    Ok(body)
}

/// Reject files whose first non-blank line is separated by ';', tab or '|' and has no comma.
fn sniff_delimiter(body: &[u8]) -> Result<(), CsvError> {
    let Some((idx, first)) =
        body.split(|&b| b == b'\n').enumerate().find(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
    else {
        return Ok(());
    };
    if first.contains(&b',') {
        return Ok(());
    }
    let found = [(b';', "';'"), (b'\t', "tab"), (b'|', "'|'")].into_iter().find(|(d, _)| first.contains(d));
    match found {
        None => Ok(()),
        Some((_, name)) => Err(CsvError::new(
            ErrorKind::UnsupportedDelimiter,
            format!(
                "the fields are separated by {name}; only comma-separated files are supported \
                 (re-export the file as CSV with ',' as separator)"
            ),
        )
        .at_line(idx as u64 + 1)),
    }
}

fn csv_error(e: &csv::Error) -> CsvError {
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => {
            format!("field {} is not valid UTF-8 text (is this a CSV file?)", err.field() + 1)
        }
        _ => format!("cannot read the CSV: {e}"),
    };
    let err = CsvError::new(ErrorKind::ParseError, message);
    match e.position() {
        Some(p) => err.at_line(p.line()),
        None => err,
    }
}

pub(crate) fn field<'r>(record: &'r StringRecord, col: &Col) -> &'r str {
    record.get(col.idx).unwrap_or("")
}

pub(crate) fn number(record: &StringRecord, col: &Col, line: u64) -> Result<f64, CsvError> {
    let s = field(record, col);
    if s.is_empty() {
        return Err(CsvError::new(ErrorKind::ParseError, "empty value, expected a number")
            .at_line(line)
            .in_column(col.name.as_str()));
    }
    s.parse::<f64>().map_err(|_| {
        CsvError::new(ErrorKind::ParseError, format!("'{s}' is not a number"))
            .at_line(line)
            .in_column(col.name.as_str())
    })
}

pub(crate) fn price(record: &StringRecord, col: &Col, line: u64) -> Result<f64, CsvError> {
    let v = number(record, col, line)?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(CsvError::new(
            ErrorKind::InvalidValue,
            format!("'{}' is not a valid price: prices must be finite and > 0", field(record, col)),
        )
        .at_line(line)
        .in_column(col.name.as_str()))
    }
}

fn volume(record: &StringRecord, col: &Col, line: u64) -> Result<f64, CsvError> {
    let v = number(record, col, line)?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(CsvError::new(
            ErrorKind::InvalidValue,
            format!("'{}' is not a valid volume: volumes must be finite and >= 0", field(record, col)),
        )
        .at_line(line)
        .in_column(col.name.as_str()))
    }
}

fn row_time(layout: &Layout, record: &StringRecord, line: u64) -> Result<i64, CsvError> {
    let col = &layout.time;
    let s = field(record, col);
    let err = |kind, message: String| Err(CsvError::new(kind, message).at_line(line).in_column(col.name.as_str()));
    if layout.format == Format::BinanceKline {
        return match s.parse::<i64>() {
            Ok(v) if v < 0 => err(ErrorKind::InvalidValue, format!("'{s}' is not a valid open time (negative epoch)")),
            Ok(v) => Ok(epoch_to_ms(v)),
            Err(_) => err(
                ErrorKind::ParseError,
                format!("'{s}' is not an integer epoch timestamp (milliseconds or microseconds)"),
            ),
        };
    }
    match parse_timestamp(s) {
        Some(t) => Ok(t),
        None if layout.format == Format::Yahoo => {
            err(ErrorKind::ParseError, format!("'{s}' is not a date (expected YYYY-MM-DD)"))
        }
        None => err(
            ErrorKind::ParseError,
            format!("'{s}' is not an ISO-8601 timestamp (expected e.g. 2024-03-01T00:00:00Z)"),
        ),
    }
}

fn parse_row(layout: &Layout, record: &StringRecord, line: u64, acc: &mut Accumulator) -> Result<(), CsvError> {
    if record.len() != layout.n_fields {
        return Err(CsvError::new(
            ErrorKind::ParseError,
            format!(
                "expected {} fields ({}), found {}",
                layout.n_fields,
                if layout.has_header { "as in the header" } else { "Binance kline" },
                record.len()
            ),
        )
        .at_line(line));
    }
    let t_ms = row_time(layout, record, line)?;
    let symbol = match &layout.symbol {
        Some(col) => {
            let s = field(record, col);
            if s.is_empty() {
                return Err(CsvError::new(ErrorKind::InvalidValue, "empty symbol")
                    .at_line(line)
                    .in_column(col.name.as_str()));
            }
            s
        }
        None => acc.single.as_deref().unwrap_or(""),
    };
    let mut open = price(record, &layout.open, line)?;
    let mut high = price(record, &layout.high, line)?;
    let mut low = price(record, &layout.low, line)?;
    let mut close = price(record, &layout.close, line)?;
    if let Some(adj_col) = &layout.adj_close {
        let adj = price(record, adj_col, line)?;
        if adj != close {
            let factor = adj / close;
            open *= factor;
            high *= factor;
            low *= factor;
            // Each price is finite and > 0, but an extreme ratio (1e300 / 1e-300) scales
            // them to infinity or to zero (caught by the csv_ohlc fuzz check, fuzz/corpus/csv_ohlc/yahoo_adjusted_*).
            if ![open, high, low].iter().all(|v| v.is_finite() && *v > 0.0) {
                return Err(CsvError::new(
                    ErrorKind::InvalidValue,
                    format!(
                        "'{}' / '{}' scales open, high and low out of range: adjusted prices must be finite and > 0",
                        field(record, adj_col),
                        field(record, &layout.close)
                    ),
                )
                .at_line(line)
                .in_column(adj_col.name.as_str()));
            }
        }
        close = adj;
    }
    let vol = volume(record, &layout.volume, line)?;
    let count = match &layout.count {
        None => None,
        Some(col) => {
            let s = field(record, col);
            Some(s.parse::<u64>().map_err(|_| {
                CsvError::new(ErrorKind::ParseError, format!("'{s}' is not a trade count (a non-negative integer)"))
                    .at_line(line)
                    .in_column(col.name.as_str())
            })?)
        }
    };
    let bar = Bar { t_ms, open, high, low, close, volume: vol, count };

    let series = match acc.symbols.get_mut(symbol) {
        Some(s) => s,
        None => acc.symbols.entry(symbol.to_string()).or_default(),
    };
    if let Some(prev) = series.bars.last() {
        let col = layout.time.name.as_str();
        let what = if layout.symbol.is_some() { format!(" for {symbol}") } else { String::new() };
        if t_ms == prev.t_ms {
            return Err(CsvError::new(
                ErrorKind::DuplicateTimestamp,
                format!("timestamp {}{what} repeats line {}", fmt_ms(t_ms), series.last_line),
            )
            .at_line(line)
            .in_column(col));
        }
        if t_ms < prev.t_ms {
            return Err(CsvError::new(
                ErrorKind::UnsortedTimestamps,
                format!(
                    "timestamp {}{what} is earlier than the previous row's {} (line {}); rows must be in increasing time order",
                    fmt_ms(t_ms),
                    fmt_ms(prev.t_ms),
                    series.last_line
                ),
            )
            .at_line(line)
            .in_column(col));
        }
    }
    series.bars.push(bar);
    series.last_line = line;
    Ok(())
}

/// Quote assets recognised at the end of an exchange symbol (`BTCUSDT`, `ETHBTC`, ...).
const QUOTE_ASSETS: [&str; 14] =
    ["USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDP", "USD", "DAI", "BTC", "ETH", "BNB", "EUR", "TRY", "BRL"];

/// Yahoo index tickers that carry a '^' prefix (`yahoo_GSPC_2016.csv` → `^GSPC`).
const YAHOO_INDICES: [&str; 24] = [
    "GSPC", "IXIC", "DJI", "RUT", "VIX", "NDX", "NYA", "XAX", "SPX", "OEX", "SOX", "FTSE", "GDAXI", "FCHI", "N225",
    "HSI", "STOXX50E", "BSESN", "NSEI", "AXJO", "GSPTSE", "TNX", "IRX", "TYX",
];

fn is_exchange_symbol(token: &str) -> bool {
    let upper = token.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    upper
        && token.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && QUOTE_ASSETS.iter().any(|q| token.len() >= q.len() + 2 && token.ends_with(q))
}

fn is_ticker(token: &str) -> bool {
    let body = token.strip_prefix('^').unwrap_or(token);
    body.len() <= 12
        && body.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && body.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'.' || b == b'=')
}

/// The symbol of a single-symbol file, from its name: the first all-caps token that looks like
/// an exchange symbol (ending in a quote asset such as USDT, USDC, BUSD, BTC, ETH); for Yahoo
/// files the first all-caps ticker token (well-known indices get Yahoo's '^' prefix); else the
/// file stem. E.g. `binance_um_BTCUSDT_1m_header.csv` → `BTCUSDT`, `yahoo_GSPC_2016.csv` → `^GSPC`.
pub fn symbol_from_file_name(file_name: &str, format: Format) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let stem = match base.rfind('.') {
        Some(i) if i > 0 => base.get(..i).unwrap_or(base),
        _ => base,
    };
    let tokens = || stem.split(|c: char| c == '_' || c == '-' || c.is_whitespace() || c == ',');
    if let Some(t) = tokens().find(|t| is_exchange_symbol(t)) {
        return t.to_string();
    }
    // Lower-case exchange symbols (`btcusdt-1m.csv`), upper-cased.
    if let Some(t) = tokens()
        .filter(|t| t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        .map(str::to_ascii_uppercase)
        .find(|t| is_exchange_symbol(t))
    {
        return t;
    }
    if format != Format::BinanceKline {
        if let Some(t) = tokens().find(|t| is_ticker(t)) {
            return if YAHOO_INDICES.contains(&t) { format!("^{t}") } else { t.to_string() };
        }
    }
    if stem.trim().is_empty() {
        "UNKNOWN".to_string()
    } else {
        stem.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HDR: &str = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore";

    fn kline(t: i64, close: &str) -> String {
        format!("{t},100.0,101.0,99.0,{close},5.5,{},550.0,42,2.0,200.0,0", t + 59_999)
    }

    fn parse(text: &str, name: &str) -> Result<Dataset, CsvError> {
        parse_ohlc_csv(text.as_bytes(), name)
    }

    #[test]
    fn microsecond_open_times_are_converted_to_ms() {
        let t_us = 1_735_689_600_000_000_i64; // 2025-01-01 in µs (16 digits)
        let text = format!("{HDR}\n{}\n{}\n", kline(t_us, "100.5"), kline(t_us + 60_000_000, "100.6"));
        let ds = parse(&text, "BTCUSDT-1m-2025-01-01.csv").expect("accept");
        let bars = ds.bars("BTCUSDT").expect("symbol");
        assert_eq!(bars.len(), 2);
        assert_eq!(bars[0].t_ms, 1_735_689_600_000);
        assert_eq!(bars[1].t_ms, 1_735_689_660_000);
        assert_eq!(bars[0].count, Some(42));
        assert_eq!(bars[1].close, 100.6);
    }

    #[test]
    fn bom_crlf_and_missing_final_newline() {
        let text =
            format!("\u{feff}{HDR}\r\n{}\r\n{}", kline(1_709_251_200_000, "1.5"), kline(1_709_251_260_000, "2.5"));
        let ds = parse(&text, "x_ETHUSDT.csv").expect("accept");
        assert_eq!(ds.format, Format::BinanceKline);
        let bars = ds.bars("ETHUSDT").expect("symbol");
        assert_eq!(bars.len(), 2);
        assert_eq!(bars[1].close, 2.5);
        assert_eq!(bars[1].t_ms, 1_709_251_260_000);
    }

    #[test]
    fn the_bars_export_reads_back_like_a_kline_file() {
        let text = "time_ms,open,high,low,close,volume,count\n60000,10,11,9.5,10.5,3,4\n120000,10.5,12,10,11,2,1\n";
        let ds = parse(text, "BTCUSDT.csv").expect("the export's own shape");
        assert_eq!(ds.format, Format::BinanceKline);
        let bars = ds.bars("BTCUSDT").expect("symbol from the file name");
        assert_eq!(
            bars.iter().map(|b| (b.t_ms, b.close, b.count)).collect::<Vec<_>>(),
            [(60_000, 10.5, Some(4)), (120_000, 11.0, Some(1))]
        );
        let err = parse("time_ms,open,high,low,volume\n60000,1,1,1,1\n", "X.csv").unwrap_err();
        assert_eq!(err.kind, ErrorKind::MissingColumn, "{err}");
    }

    #[test]
    fn headerless_binance_is_detected_from_a_numeric_first_row() {
        let text = format!("{}\n{}\n", kline(1_709_251_200_000, "3.0"), kline(1_709_251_260_000, "4.0"));
        let ds = parse(&text, "ETHBTC_1m.csv").expect("accept");
        assert_eq!(ds.format, Format::BinanceKline);
        assert_eq!(ds.bars("ETHBTC").map(<[Bar]>::len), Some(2));
        // A wrong field count on a header-less file is a parse error on that line.
        let err = parse(&format!("{}\n1,2,3\n", kline(1, "3.0")), "a.csv").unwrap_err();
        assert_eq!((err.kind, err.line), (ErrorKind::ParseError, Some(2)));
        // Header-less close 'NaN' is an invalid value in column close.
        let err = parse(&kline(1, "NaN"), "a.csv").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidValue);
        assert_eq!(err.column.as_deref(), Some("close"));
        assert_eq!(err.line, Some(1));
    }

    #[test]
    fn symbol_override_and_file_name_rules() {
        let text = kline(1_709_251_200_000, "3.0");
        let ds =
            parse_ohlc_csv_with(text.as_bytes(), "data.csv", &ParseOptions::with_symbol("SOLUSDT")).expect("accept");
        assert_eq!(ds.symbol_names().collect::<Vec<_>>(), vec!["SOLUSDT"]);
        let f = Format::BinanceKline;
        assert_eq!(symbol_from_file_name("binance_um_BTCUSDT_1m_header.csv", f), "BTCUSDT");
        assert_eq!(symbol_from_file_name("dir/ETHUSDT-1m-2024-03.csv", f), "ETHUSDT");
        assert_eq!(symbol_from_file_name("btcusdt-1m.csv", f), "BTCUSDT");
        assert_eq!(symbol_from_file_name("my data.csv", f), "my data");
        assert_eq!(symbol_from_file_name("yahoo_GSPC_2016_2017.csv", Format::Yahoo), "^GSPC");
        assert_eq!(symbol_from_file_name("AAPL.csv", Format::Yahoo), "AAPL");
        assert_eq!(symbol_from_file_name("^IXIC.csv", Format::Yahoo), "^IXIC");
        assert_eq!(symbol_from_file_name(".csv", f), ".csv");
        assert_eq!(symbol_from_file_name("", f), "UNKNOWN");
    }

    #[test]
    fn generic_timestamps_and_symbols() {
        let text = "Timestamp , Symbol,open,high,low,close,volume\n\
                    2024-03-01T00:00:00Z,AAA,1,2,0.5,1.5,10\n\
                    2024-03-01 00:00:00,BBB,1,2,0.5,1.5,10\n\
                    2024-03-01T01:00:00+01:00,CCC,1,2,0.5,1.5,0\n\
                    2024-03-01T00:30:00.250Z,AAA,1,2,0.5,1.75,10\n";
        let ds = parse(text, "g.csv").expect("accept");
        assert_eq!(ds.format, Format::GenericOhlcv);
        assert_eq!(ds.total_rows(), 4);
        let t0 = 1_709_251_200_000;
        assert_eq!(ds.bars("BBB").expect("BBB")[0].t_ms, t0);
        assert_eq!(ds.bars("CCC").expect("CCC")[0].t_ms, t0);
        assert_eq!(ds.bars("AAA").expect("AAA")[1].t_ms, t0 + 1_800_250);
        assert_eq!(parse_timestamp("2016-01-04"), Some(1_451_865_600_000));
        assert_eq!(parse_timestamp("not a date"), None);
    }

    #[test]
    fn generic_ordering_is_per_symbol() {
        let text = "timestamp,symbol,open,high,low,close,volume\n\
                    2024-03-01T01:00:00Z,AAA,1,2,0.5,1.5,10\n\
                    2024-03-01T00:00:00Z,BBB,1,2,0.5,1.5,10\n\
                    2024-03-01T01:00:00Z,AAA,1,2,0.5,1.5,10\n";
        let err = parse(text, "g.csv").unwrap_err();
        assert_eq!((err.kind, err.line), (ErrorKind::DuplicateTimestamp, Some(4)));
        assert!(err.message.contains("line 2"), "{err}");
    }

    #[test]
    fn yahoo_uses_adj_close_and_scales_ohl() {
        let text = "Date,Open,High,Low,Close,Adj Close,Volume\n\
                    2016-01-04,10,12,8,10,5,100\n\
                    2016-01-05,10,12,8,11,11,100\n";
        let ds = parse(text, "yahoo_AAPL.csv").expect("accept");
        let bars = ds.bars("AAPL").expect("AAPL");
        assert_eq!(bars[0].close, 5.0);
        assert_eq!((bars[0].open, bars[0].high, bars[0].low), (5.0, 6.0, 4.0));
        assert_eq!(bars[1].close, 11.0);
        assert_eq!(bars[1].t_ms, 1_451_952_000_000);
        let err = parse("Date,Open,High,Low,Close,Adj Close,Volume\n2016-01-04,null,1,1,1,1,1\n", "y.csv").unwrap_err();
        assert_eq!((err.kind, err.line), (ErrorKind::ParseError, Some(2)));
        assert_eq!(err.column.as_deref(), Some("Open"));
        for row in ["2016-01-04,1,1,1,1e-300,1e300,1", "2016-01-04,1e-300,1,1e-300,1,1e-300,1"] {
            let err = parse(&format!("Date,Open,High,Low,Close,Adj Close,Volume\n{row}\n"), "y.csv").unwrap_err();
            assert_eq!((err.kind, err.line), (ErrorKind::InvalidValue, Some(2)), "{row}");
            assert_eq!(err.column.as_deref(), Some("Adj Close"));
        }
    }

    #[test]
    fn header_problems() {
        let err = parse("a,b,c\n1,2,3\n", "x.csv").unwrap_err();
        assert_eq!(err.kind, ErrorKind::MissingColumn);
        let err = parse("2024-03-01T00:00:00Z,AAA,1,2,0.5,1.5,10\n", "x.csv").unwrap_err();
        assert_eq!(err.kind, ErrorKind::MissingColumn);
        assert!(err.message.contains("no header"), "{err}");
        let err = parse("timestamp\tsymbol\topen\n", "x.csv").unwrap_err();
        assert_eq!((err.kind, err.line), (ErrorKind::UnsupportedDelimiter, Some(1)));
        let err = parse("\u{feff}", "x.csv").unwrap_err();
        assert_eq!(err.kind, ErrorKind::EmptyFile);
        let err = parse(&format!("{HDR}\r\n\r\n"), "x.csv").unwrap_err();
        assert_eq!(err.kind, ErrorKind::NoDataRows);
    }

    #[test]
    fn display_names_line_and_column() {
        let text = format!("{HDR}\n{}\n", kline(1_709_251_200_000, "abc"));
        let err = parse(&text, "x.csv").unwrap_err();
        assert_eq!(err.to_string(), "line 2, column close: parse_error: 'abc' is not a number");
        let json = serde_json::to_string(&err).expect("serialize");
        assert!(json.contains("\"kind\":\"parse_error\""), "{json}");
        let back: CsvError = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, err);
    }

    /// xorshift64*: deterministic pseudo-random bytes without extra dependencies.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let alphabet: &[u8] = b"0123456789,.;\t\r\n\"-+eEaNnIifTZ:xyz \xEF\xBB\xBF\xFF";
        let seed = format!("{HDR}\n{}\n{}\n", kline(1_709_251_200_000, "1.5"), kline(1_709_251_260_000, "2.5"));
        for round in 0..3000 {
            let len = (rng.next() % 300) as usize;
            let bytes: Vec<u8> = match round % 3 {
                // Raw random bytes.
                0 => (0..len).map(|_| rng.next() as u8).collect(),
                // Random CSV-ish characters.
                1 => (0..len).map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize]).collect(),
                // A valid file with a few bytes mutated and a random truncation.
                _ => {
                    let mut b = seed.clone().into_bytes();
                    for _ in 0..(rng.next() % 4) {
                        let i = (rng.next() % b.len() as u64) as usize;
                        b[i] = alphabet[(rng.next() % alphabet.len() as u64) as usize];
                    }
                    b.truncate((rng.next() % (b.len() as u64 + 1)) as usize);
                    b
                }
            };
            if let Ok(ds) = parse_ohlc_csv(&bytes, "fuzz_BTCUSDT.csv") {
                for bars in ds.symbols.values() {
                    assert!(!bars.is_empty());
                    assert!(bars.windows(2).all(|w| w[0].t_ms < w[1].t_ms));
                    assert!(bars.iter().all(|b| b.close.is_finite() && b.close > 0.0));
                }
            }
        }
    }
}
