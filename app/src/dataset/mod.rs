//! OHLC bar data sets uploaded as CSV: Binance kline exports, generic long OHLCV files and
//! Yahoo Finance downloads.
//!
//! [`parse_ohlc_csv`] turns the bytes of one uploaded file into a [`Dataset`] (bars per symbol,
//! each symbol strictly increasing in time) or a [`CsvError`] that names the kind of problem, the
//! 1-based file line and the column. The whole file is validated before anything is returned:
//! there is never a partial data set. [`inner_join`] aligns two legs on identical bar timestamps.
//!
//! [`parse_funding_csv`] and [`parse_book_csv`] read a backtest's funding settlements and bid/ask
//! files (Binance's own shapes) with the same kind of errors.
//!
//! Pure Rust without file I/O (parses `&[u8]`), so it runs natively and on `wasm32`.

mod align;
mod error;
mod funding_book;
mod reader;
mod time;
mod types;
mod wire;

pub use align::{inner_join, inner_join_many};
pub use error::{CsvError, ErrorKind};
pub use funding_book::{book_per_bar, funding_with_marks, parse_book_csv, parse_funding_csv, BookRow, FundingRow};
pub use reader::{parse_ohlc_csv, parse_ohlc_csv_with, symbol_from_file_name, ParseOptions};
pub use types::{Bar, Dataset, Format};
