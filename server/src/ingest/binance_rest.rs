//! Binance REST wire types: `GET /fapi/v1/aggTrades` rows, `GET /fapi/v1/klines` rows and
//! the error body, exactly as the exchange sends them, kept apart from domain types.
//!
//! An aggTrades answer
//! (<https://developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/Compressed-Aggregate-Trades-List>):
//!
//! ```json
//! [{"a":26129,"p":"0.01633102","q":"4.70443515","f":27781,"l":27781,"T":1498793709153,"m":true}]
//! ```
//!
//! An error (HTTP 4xx): `{"code":-1121,"msg":"Invalid symbol."}`. A klines row: [`KlineRow`].
//!
//! The fake exchange writes every REST body with its own encoders (`fake_exchange::rest`,
//! `fake_exchange::klines`), so a field typo here cannot pass on both ends.

use app::analytics::resample::Bar;
use serde::{Deserialize, Serialize};

use super::binance::FrameError;
use crate::market::Trade;

/// Most rows one aggTrades request returns (and the page size of the backfill).
pub const AGG_TRADES_MAX_LIMIT: usize = 1000;
/// Rows an aggTrades request returns without `limit`.
pub const AGG_TRADES_DEFAULT_LIMIT: usize = 500;

/// One row of `GET /fapi/v1/aggTrades`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestAggTrade {
    #[serde(rename = "a")]
    pub agg_id: u64,
    #[serde(rename = "p")]
    pub price: String,
    #[serde(rename = "q")]
    pub qty: String,
    #[serde(rename = "f")]
    pub first_trade_id: u64,
    #[serde(rename = "l")]
    pub last_trade_id: u64,
    #[serde(rename = "T")]
    pub trade_time_ms: i64,
    #[serde(rename = "m")]
    pub buyer_is_maker: bool,
}

/// Body of every Binance error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: i64,
    pub msg: String,
}

impl ApiError {
    pub fn new(code: i64, msg: impl Into<String>) -> Self {
        Self { code, msg: msg.into() }
    }
}

impl RestAggTrade {
    /// Validates and converts a row; the symbol is the one the request asked for.
    pub fn into_trade(self, symbol: &str) -> Result<Trade, FrameError> {
        Ok(Trade {
            price: super::binance::positive_decimal("price", &self.price)?,
            qty: super::binance::positive_decimal("quantity", &self.qty)?,
            symbol: symbol.to_ascii_uppercase(),
            agg_id: self.agg_id,
            t_ms: self.trade_time_ms,
            buyer_is_maker: self.buyer_is_maker,
        })
    }
}

impl From<&Trade> for RestAggTrade {
    fn from(trade: &Trade) -> Self {
        RestAggTrade {
            agg_id: trade.agg_id,
            price: format!("{}", trade.price),
            qty: format!("{}", trade.qty),
            first_trade_id: trade.agg_id * 3,
            last_trade_id: trade.agg_id * 3 + 2,
            trade_time_ms: trade.t_ms,
            buyer_is_maker: trade.buyer_is_maker,
        }
    }
}

/// One row of `GET /fapi/v1/klines`
/// (<https://developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/Kline-Candlestick-Data>),
/// a 12-element array, prices and volumes as decimal strings:
///
/// ```json
/// [1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",
///  1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","17928899.62484339"]
/// ```
///
/// open time, open, high, low, close, volume (base), close time, quote volume, number of
/// trades, taker-buy base volume, taker-buy quote volume, ignore.
pub type KlineRow = (i64, String, String, String, String, String, i64, String, u64, String, String, String);

/// Why a kline row was refused (each kind is counted by the history fetch).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KlineError {
    /// Not a 12-element array of the types above (wrong arity, a number where a string belongs…).
    #[error("not a kline row: {0}")]
    Shape(String),
    #[error("{field} `{value}` is not a number")]
    NotNumeric { field: &'static str, value: String },
    #[error("{field} `{value}` is not finite")]
    NotFinite { field: &'static str, value: String },
    #[error("{field} {value} is not positive")]
    NotPositive { field: &'static str, value: f64 },
    /// High below low, or open/close outside [low, high].
    #[error("inconsistent prices: open {open}, high {high}, low {low}, close {close}")]
    Inconsistent { open: f64, high: f64, low: f64, close: f64 },
    /// Open time not on the interval's grid, or close time not after it.
    #[error("open time {open_ms} / close time {close_ms} do not fit the {interval_ms} ms grid")]
    Misaligned { open_ms: i64, close_ms: i64, interval_ms: i64 },
}

impl KlineError {
    /// Short name of the kind, for counters and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            KlineError::Shape(_) => "shape",
            KlineError::NotNumeric { .. } => "not_numeric",
            KlineError::NotFinite { .. } => "not_finite",
            KlineError::NotPositive { .. } => "not_positive",
            KlineError::Inconsistent { .. } => "inconsistent",
            KlineError::Misaligned { .. } => "misaligned",
        }
    }
}

/// A decimal string that parses to a finite number.
fn finite(field: &'static str, text: &str) -> Result<f64, KlineError> {
    let value: f64 = text.trim().parse().map_err(|_| KlineError::NotNumeric { field, value: text.to_string() })?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(KlineError::NotFinite { field, value: text.to_string() })
    }
}

/// A finite, strictly positive price.
fn price(field: &'static str, text: &str) -> Result<f64, KlineError> {
    let value = finite(field, text)?;
    if value > 0.0 {
        Ok(value)
    } else {
        Err(KlineError::NotPositive { field, value })
    }
}

/// Validates one row of a klines answer at `interval_ms` into a bar (open time, OHLC,
/// base volume, trade count). Any JSON value is accepted as input, so one bad row costs
/// that row, never the page, and nothing here can panic.
pub fn parse_kline(row: &serde_json::Value, interval_ms: i64) -> Result<Bar, KlineError> {
    let (open_ms, open, high, low, close, volume, close_ms, _quote, trades, _taker, _taker_quote, _ignore) =
        KlineRow::deserialize(row).map_err(|e| KlineError::Shape(e.to_string()))?;
    let aligned = interval_ms > 0
        && open_ms.rem_euclid(interval_ms) == 0
        && close_ms > open_ms
        && close_ms.checked_sub(open_ms).is_some_and(|span| span < interval_ms);
    if !aligned {
        return Err(KlineError::Misaligned { open_ms, close_ms, interval_ms });
    }
    let (open, high, low, close) =
        (price("open", &open)?, price("high", &high)?, price("low", &low)?, price("close", &close)?);
    if high < low || !(low..=high).contains(&open) || !(low..=high).contains(&close) {
        return Err(KlineError::Inconsistent { open, high, low, close });
    }
    let volume = finite("volume", &volume)?;
    if volume < 0.0 {
        return Err(KlineError::NotPositive { field: "volume", value: volume });
    }
    Ok(Bar { t: open_ms, open, high, low, close, volume, count: trades })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_row_and_round_trips() {
        let text = r#"[{"a":26129,"p":"0.01633102","q":"4.70443515","f":27781,"l":27781,"T":1498793709153,"m":true}]"#;
        let rows: Vec<RestAggTrade> = serde_json::from_str(text).expect("parse");
        let trade = rows[0].clone().into_trade("btcusdt").expect("valid");
        assert_eq!(
            trade,
            Trade {
                symbol: "BTCUSDT".into(),
                agg_id: 26129,
                t_ms: 1498793709153,
                price: 0.01633102,
                qty: 4.70443515,
                buyer_is_maker: true
            }
        );
        let back = RestAggTrade::from(&trade);
        assert_eq!(back.price, "0.01633102");
        assert_eq!(back.into_trade("BTCUSDT").expect("valid"), trade);
    }

    #[test]
    fn rejects_bad_rows() {
        let bad = [
            r#"{"a":1,"p":"-1","q":"1","f":1,"l":1,"T":1,"m":true}"#,
            r#"{"a":1,"p":"1","q":"NaN","f":1,"l":1,"T":1,"m":true}"#,
        ];
        for text in bad {
            let row: RestAggTrade = serde_json::from_str(text).expect("shape is fine");
            assert!(row.into_trade("BTCUSDT").is_err(), "{text}");
        }
        assert!(serde_json::from_str::<RestAggTrade>(r#"{"a":"x"}"#).is_err());
    }

    /// A 1m row as Binance sends it, with `fields` (index, JSON) replaced.
    fn kline(fields: &[(usize, serde_json::Value)]) -> serde_json::Value {
        let mut row = serde_json::json!([
            1_700_000_040_000i64,
            "62000.10",
            "62010.00",
            "61990.50",
            "62005.20",
            "12.345",
            1_700_000_099_999i64,
            "765432.1",
            321,
            "6.1",
            "378000.0",
            "0"
        ]);
        for (i, value) in fields {
            row[*i] = value.clone();
        }
        row
    }

    #[test]
    fn parses_a_kline_row_into_a_bar() {
        let bar = parse_kline(&kline(&[]), 60_000).expect("valid");
        assert_eq!(
            bar,
            Bar {
                t: 1_700_000_040_000,
                open: 62000.10,
                high: 62010.0,
                low: 61990.5,
                close: 62005.2,
                volume: 12.345,
                count: 321
            }
        );
        // The exact text Binance sends parses too (whitespace and all).
        let text = r#"[1700000040000,"1.0","1.0","1.0","1.0","0.00000000",1700000099999,"0",0,"0","0","0"]"#;
        let row: serde_json::Value = serde_json::from_str(text).expect("json");
        assert_eq!(parse_kline(&row, 60_000).map(|b| (b.volume, b.count)), Ok((0.0, 0)));
    }

    #[test]
    fn refuses_bad_kline_rows_by_kind() {
        use serde_json::json;
        let short = json!([1_700_000_040_000i64, "1", "1", "1", "1", "1", 1_700_000_099_999i64, "1", 1, "1", "1"]);
        let mut long = kline(&[]);
        long.as_array_mut().expect("array").push(json!("extra"));
        let cases: Vec<(&str, serde_json::Value, &str)> = vec![
            ("11 fields", short, "shape"),
            ("13 fields", long, "shape"),
            ("an object", json!({"t": 1}), "shape"),
            ("null", json!(null), "shape"),
            ("price as a number", kline(&[(1, json!(62000.1))]), "shape"),
            ("open time as a string", kline(&[(0, json!("1700000040000"))]), "shape"),
            ("negative trade count", kline(&[(8, json!(-1))]), "shape"),
            ("non-numeric high", kline(&[(2, json!("abc"))]), "not_numeric"),
            ("empty close", kline(&[(4, json!(""))]), "not_numeric"),
            ("NaN low", kline(&[(3, json!("NaN"))]), "not_finite"),
            ("infinite volume", kline(&[(5, json!("inf"))]), "not_finite"),
            ("zero open", kline(&[(1, json!("0"))]), "not_positive"),
            ("negative close", kline(&[(4, json!("-62005.2"))]), "not_positive"),
            ("negative volume", kline(&[(5, json!("-1"))]), "not_positive"),
            ("high below low", kline(&[(2, json!("61000")), (3, json!("61990.5"))]), "inconsistent"),
            ("close above high", kline(&[(4, json!("62010.01"))]), "inconsistent"),
            ("open below low", kline(&[(1, json!("61990.4"))]), "inconsistent"),
            ("open time off the minute", kline(&[(0, json!(1_700_000_040_001i64))]), "misaligned"),
            ("close time before open", kline(&[(6, json!(1_700_000_039_999i64))]), "misaligned"),
            ("a 5m row at 1m", kline(&[(6, json!(1_700_000_339_999i64))]), "misaligned"),
        ];
        for (what, row, kind) in cases {
            match parse_kline(&row, 60_000) {
                Err(err) => assert_eq!(err.kind(), kind, "{what}: {err}"),
                Ok(bar) => panic!("{what}: accepted as {bar:?}"),
            }
        }
        assert_eq!(parse_kline(&kline(&[]), 0).map_err(|e| e.kind()), Err("misaligned"), "no interval");
        assert!(parse_kline(&kline(&[(0, json!(i64::MIN)), (6, json!(i64::MAX))]), 60_000).is_err());
    }

    #[test]
    fn error_body_matches_binance() {
        let text = serde_json::to_string(&ApiError::new(-1121, "Invalid symbol.")).expect("serialise");
        assert_eq!(text, r#"{"code":-1121,"msg":"Invalid symbol."}"#);
    }
}
