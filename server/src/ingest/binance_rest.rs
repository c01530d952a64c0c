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
//! An error (HTTP 4xx): `{"code":-1121,"msg":"Invalid symbol."}`.
//!
//! The fake exchange serialises with the same types, so both ends agree by construction.

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

/// One kline row: `[open time, "open", "high", "low", "close", "volume", close time,
/// "quote volume", trades, "taker buy base volume", "taker buy quote volume", "0"]`.
pub type KlineRow = (i64, String, String, String, String, String, i64, String, u64, String, String, String);

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

    #[test]
    fn error_body_matches_binance() {
        let text = serde_json::to_string(&ApiError::new(-1121, "Invalid symbol.")).expect("serialise");
        assert_eq!(text, r#"{"code":-1121,"msg":"Invalid symbol."}"#);
    }
}
