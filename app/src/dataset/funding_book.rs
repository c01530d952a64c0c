//! The side files of a backtest: funding settlements and bid/ask per bar, as CSV with a header.
//!
//! Funding, any of:
//! * Binance REST `GET /fapi/v1/fundingRate` written as CSV: `fundingTime,fundingRate,markPrice`
//!   (optionally `symbol`; `markPrice` may be empty for old settlements, as Binance returns it);
//! * the public archive (`data.binance.vision/.../fundingRate/`):
//!   `calc_time,funding_interval_hours,last_funding_rate` — no mark price;
//! * `pairdesk export funding`: `symbol,funding_time_ms,funding_rate,mark_price`.
//!
//! Book: `time,bid,ask` (or `time_ms,bid,ask,…` as `pairdesk export book` writes it).
//!
//! [`book_per_bar`] and [`funding_with_marks`] meet them with the bars, for the CLI and the page.
//!
//! Times are epoch ms (µs / ns detected by magnitude) or ISO-8601; rows must be in strictly
//! increasing time. Errors are [`CsvError`]s naming the 1-based line and the column, like the
//! OHLC reader's.

use csv::StringRecord;
use serde::Serialize;

use super::error::{CsvError, ErrorKind};
use super::reader::{csv_body, field, for_each_record, number, price};
use super::time::parse_timestamp;
use super::wire::Col;
use crate::analytics::backtest::{Funding, Quote};

/// One funding settlement as read (`mark` absent in the archive format).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FundingRow {
    /// Settlement time (ms).
    pub t: i64,
    /// Funding rate.
    pub rate: f64,
    /// Mark price, when the file has one.
    pub mark: Option<f64>,
}

/// Bid and ask of one leg at one time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BookRow {
    /// Time (ms): the bar open time the quote belongs to.
    pub t: i64,
    /// Best bid.
    pub bid: f64,
    /// Best ask.
    pub ask: f64,
}

/// Header → column by the first matching alias (case-insensitive).
fn column(header: &StringRecord, aliases: &[&str]) -> Option<Col> {
    header.iter().enumerate().find_map(|(idx, name)| {
        aliases.iter().any(|a| name.eq_ignore_ascii_case(a)).then(|| Col { idx, name: name.to_string() })
    })
}

fn required(header: &StringRecord, aliases: &[&str], what: &str) -> Result<Col, CsvError> {
    column(header, aliases).ok_or_else(|| {
        let found: Vec<&str> = header.iter().collect();
        CsvError::new(
            ErrorKind::MissingColumn,
            format!("no {what} column (expected one of {}; found {})", aliases.join(", "), found.join(", ")),
        )
        .at_line(1)
    })
}

/// Read every data row of a CSV with a header: `setup` finds the columns `C` in the header (the
/// first of them being the time), `row` turns one record into a value with time `time_of`.
fn read_rows<C, T>(
    bytes: &[u8],
    setup: impl FnOnce(&StringRecord) -> Result<(Col, C), CsvError>,
    mut row: impl FnMut(&C, &StringRecord, u64) -> Result<T, CsvError>,
    time_of: impl Fn(&T) -> i64,
) -> Result<Vec<T>, CsvError> {
    let body = csv_body(bytes)?;
    let mut setup = Some(setup);
    let mut cols: Option<(Col, C)> = None;
    let mut out: Vec<T> = Vec::new();
    for_each_record(body, |record, line| {
        let (time_col, c) = match (&cols, setup.take()) {
            (Some(c), _) => c,
            (None, Some(f)) => {
                cols = Some(f(record)?);
                return Ok(());
            }
            (None, None) => return Err(no_header()),
        };
        let v = row(c, record, line)?;
        if let Some(prev) = out.last() {
            let (a, b) = (time_of(prev), time_of(&v));
            if b <= a {
                let kind = if b == a { ErrorKind::DuplicateTimestamp } else { ErrorKind::UnsortedTimestamps };
                return Err(CsvError::new(kind, format!("time {b} is not after the previous row's {a}"))
                    .at_line(line)
                    .in_column(time_col.name.as_str()));
            }
        }
        out.push(v);
        Ok(())
    })?;
    if cols.is_none() {
        return Err(CsvError::new(ErrorKind::EmptyFile, "the file contains no rows"));
    }
    if out.is_empty() {
        return Err(CsvError::new(ErrorKind::NoDataRows, "the file has a header line but no data rows"));
    }
    Ok(out)
}

/// Rows are only read after the header set the columns up; kept as an error, not a panic.
fn no_header() -> CsvError {
    CsvError::new(ErrorKind::MissingColumn, "no header line")
}

fn time(record: &StringRecord, col: &Col, line: u64) -> Result<i64, CsvError> {
    let s = field(record, col);
    parse_timestamp(s).filter(|t| *t >= 0).ok_or_else(|| {
        CsvError::new(ErrorKind::ParseError, format!("'{s}' is not a time (epoch ms or ISO-8601)"))
            .at_line(line)
            .in_column(col.name.as_str())
    })
}

/// Funding settlements of one symbol, in time order.
pub fn parse_funding_csv(bytes: &[u8]) -> Result<Vec<FundingRow>, CsvError> {
    let mut symbol: Option<String> = None;
    read_rows(
        bytes,
        |h| {
            let t = required(h, &["fundingTime", "calc_time", "funding_time_ms", "time"], "funding time")?;
            let rate = required(h, &["fundingRate", "last_funding_rate", "funding_rate"], "funding rate")?;
            let more = (column(h, &["markPrice", "mark_price"]), column(h, &["symbol"]));
            Ok((t.clone(), (t, rate, more.0, more.1)))
        },
        |(tc, rc, mc, sc), r, line| {
            if let Some(sc) = sc {
                let s = field(r, sc);
                match &symbol {
                    None => symbol = Some(s.to_string()),
                    Some(first) if first != s => {
                        return Err(CsvError::new(
                            ErrorKind::InvalidValue,
                            format!("a funding file holds one symbol: '{s}' after '{first}'"),
                        )
                        .at_line(line)
                        .in_column(sc.name.as_str()))
                    }
                    Some(_) => {}
                }
            }
            let rate = number(r, rc, line)?;
            if !rate.is_finite() {
                return Err(CsvError::new(ErrorKind::InvalidValue, "the funding rate must be finite")
                    .at_line(line)
                    .in_column(rc.name.as_str()));
            }
            let mark = match mc {
                Some(mc) if !field(r, mc).is_empty() => Some(price(r, mc, line)?),
                _ => None,
            };
            Ok(FundingRow { t: time(r, tc, line)?, rate, mark })
        },
        |f| f.t,
    )
}

/// Bid/ask rows of one leg, in time order.
pub fn parse_book_csv(bytes: &[u8]) -> Result<Vec<BookRow>, CsvError> {
    read_rows(
        bytes,
        |h| {
            let t = required(h, &["time", "time_ms", "timestamp"], "time")?;
            Ok((t.clone(), (t, required(h, &["bid"], "bid")?, required(h, &["ask"], "ask")?)))
        },
        |(tc, bc, ac), r, line| {
            let (bid, ask) = (price(r, bc, line)?, price(r, ac, line)?);
            if ask < bid {
                return Err(CsvError::new(ErrorKind::InvalidValue, format!("ask {ask} is below bid {bid}"))
                    .at_line(line)
                    .in_column(ac.name.as_str()));
            }
            Ok(BookRow { t: time(r, tc, line)?, bid, ask })
        },
        |b| b.t,
    )
}

/// Book rows → one optional quote per bar, matched on the bar open time (the quote at that bar's
/// close, as `pairdesk export book` labels its book bars); bars without a row get `None`.
pub fn book_per_bar(t: &[i64], rows: &[BookRow]) -> Vec<Option<Quote>> {
    t.iter()
        .map(|ti| rows.binary_search_by_key(ti, |r| r.t).ok().map(|i| Quote { bid: rows[i].bid, ask: rows[i].ask }))
        .collect()
}

/// Funding rows → settlements with a mark: the file's, else the close of the last bar that closed
/// at or before the settlement (open + `bar_ms` ≤ time); earlier settlements are dropped (no
/// position can be open then).
pub fn funding_with_marks(t: &[i64], close: &[f64], bar_ms: i64, rows: &[FundingRow]) -> Vec<Funding> {
    rows.iter()
        .filter_map(|r| {
            let mark = match r.mark {
                Some(m) => m,
                None => {
                    let closed = t.partition_point(|ti| ti.saturating_add(bar_ms) <= r.t);
                    *close.get(closed.checked_sub(1)?)?
                }
            };
            Some(Funding { t: r.t, rate: r.rate, mark })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_funding_shapes() {
        let rest = parse_funding_csv(b"symbol,fundingTime,fundingRate,markPrice\nBTCUSDT,1709251200000,0.0001,61000.5\nBTCUSDT,1709280000000,-0.00005,\n").expect("rest");
        assert_eq!(rest[0], FundingRow { t: 1_709_251_200_000, rate: 0.0001, mark: Some(61000.5) });
        assert_eq!(rest[1].mark, None, "old settlements have an empty markPrice");
        let archive =
            parse_funding_csv(b"calc_time,funding_interval_hours,last_funding_rate\n1709251200000,8,0.00010000\n")
                .expect("archive");
        assert_eq!(archive, vec![FundingRow { t: 1_709_251_200_000, rate: 0.0001, mark: None }]);
        let export = parse_funding_csv(
            b"symbol,funding_time_ms,funding_rate,mark_price\nETHUSDT,2024-03-01T00:00:00Z,0.0001,3400\n",
        )
        .expect("export");
        assert_eq!(export[0].t, 1_709_251_200_000);
    }

    /// File bytes, and the kind, line and column of the error they must give.
    type BadCase = (&'static [u8], ErrorKind, Option<u64>, Option<&'static str>);

    #[test]
    fn bad_rows_name_line_and_column() {
        let cases: [BadCase; 6] = [
            (b"fundingTime,fundingRate\n1,abc\n", ErrorKind::ParseError, Some(2), Some("fundingRate")),
            (b"fundingTime,markPrice\n1,2\n", ErrorKind::MissingColumn, Some(1), None),
            (b"fundingTime,fundingRate\n5,0\n5,0\n", ErrorKind::DuplicateTimestamp, Some(3), Some("fundingTime")),
            (b"fundingTime,fundingRate,markPrice\n5,0,-1\n", ErrorKind::InvalidValue, Some(2), Some("markPrice")),
            (b"symbol,fundingTime,fundingRate\nA,1,0\nB,2,0\n", ErrorKind::InvalidValue, Some(3), Some("symbol")),
            (b"fundingTime,fundingRate\n", ErrorKind::NoDataRows, None, None),
        ];
        for (bytes, kind, line, col) in cases {
            let e = parse_funding_csv(bytes).expect_err("bad");
            assert_eq!((e.kind, e.line, e.column.as_deref()), (kind, line, col), "{}", String::from_utf8_lossy(bytes));
        }
        let e = parse_book_csv(b"time,bid,ask\n1,10,9\n").expect_err("crossed");
        assert_eq!((e.kind, e.line, e.column.as_deref()), (ErrorKind::InvalidValue, Some(2), Some("ask")));
        let e = parse_book_csv(b"time,bid,ask\n2,9,10\n1,9,10\n").expect_err("unsorted");
        assert_eq!(e.kind, ErrorKind::UnsortedTimestamps);
        let ok = parse_book_csv(b"time_ms,bid,ask,spread_bps\n60000,9.5,10.5,1000\n").expect("export shape");
        assert_eq!(ok, vec![BookRow { t: 60_000, bid: 9.5, ask: 10.5 }]);
    }

    #[test]
    fn side_files_meet_the_bars() {
        let t = [0, 60_000, 120_000];
        let close = [10.0, 11.0, 12.0];
        let book = [BookRow { t: 60_000, bid: 10.9, ask: 11.1 }, BookRow { t: 90_000, bid: 1.0, ask: 2.0 }];
        assert_eq!(book_per_bar(&t, &book), vec![None, Some(Quote { bid: 10.9, ask: 11.1 }), None]);
        let rows = [
            FundingRow { t: 30_000, rate: 0.1, mark: None }, // no bar closed yet: dropped
            FundingRow { t: 120_000, rate: 0.2, mark: None }, // bar 1 closes at 120,000
            FundingRow { t: 170_000, rate: 0.3, mark: Some(99.0) },
        ];
        let f = funding_with_marks(&t, &close, 60_000, &rows);
        assert_eq!(
            f,
            vec![Funding { t: 120_000, rate: 0.2, mark: 11.0 }, Funding { t: 170_000, rate: 0.3, mark: 99.0 }]
        );
    }
}
