//! Domain types produced by the CSV reader.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One OHLC bar. `t_ms` is the bar's open time in epoch milliseconds (UTC).
///
/// For Yahoo files `close` is the *adjusted* close (`Adj Close`), and `open`/`high`/`low` are
/// scaled by the same factor `Adj Close / Close` (unchanged when the two are equal).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    pub t_ms: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    /// Number of trades in the bar, when the file has it (Binance `count`).
    pub count: Option<u64>,
}

/// The analytics' bar (what charts and views take); a file without trade counts gives 0.
impl From<Bar> for crate::analytics::resample::Bar {
    fn from(b: Bar) -> Self {
        crate::analytics::resample::Bar {
            t: b.t_ms,
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
            volume: b.volume,
            count: b.count.unwrap_or(0),
        }
    }
}

/// The file layout a data set was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Binance kline export (12 columns, with or without header); one symbol, from the file name.
    BinanceKline,
    /// Long format `timestamp,symbol,open,high,low,close,volume`; any number of symbols.
    GenericOhlcv,
    /// Yahoo Finance `Date,Open,High,Low,Close,Adj Close,Volume`; one symbol, from the file name.
    Yahoo,
}

impl Format {
    /// The serde name (`binance_kline`, `generic_ohlcv`, `yahoo`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::BinanceKline => "binance_kline",
            Format::GenericOhlcv => "generic_ohlcv",
            Format::Yahoo => "yahoo",
        }
    }

    /// A human-readable name for the UI.
    pub fn label(self) -> &'static str {
        match self {
            Format::BinanceKline => "Binance kline",
            Format::GenericOhlcv => "generic OHLCV",
            Format::Yahoo => "Yahoo Finance",
        }
    }

    /// Whether the file itself names the symbol(s) (otherwise it comes from the file name or the user).
    pub fn has_symbol_column(self) -> bool {
        matches!(self, Format::GenericOhlcv)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bars per symbol; every symbol has at least one bar and strictly increasing `t_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub format: Format,
    pub symbols: BTreeMap<String, Vec<Bar>>,
}

impl Dataset {
    /// Symbol names in sorted order.
    pub fn symbol_names(&self) -> impl Iterator<Item = &str> {
        self.symbols.keys().map(String::as_str)
    }

    /// The bars of one symbol.
    pub fn bars(&self, symbol: &str) -> Option<&[Bar]> {
        self.symbols.get(symbol).map(Vec::as_slice)
    }

    /// Total number of bars over all symbols.
    pub fn total_rows(&self) -> usize {
        self.symbols.values().map(Vec::len).sum()
    }
}
