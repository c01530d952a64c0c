//! Binance wire types: exactly what the exchange sends, kept apart from domain types.
//!
//! A combined-stream aggTrade frame
//! (<https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Aggregate-Trade-Streams>):
//!
//! ```json
//! {"stream":"btcusdt@aggTrade",
//!  "data":{"e":"aggTrade","E":1709251200123,"s":"BTCUSDT","a":5933014,"p":"62030.60",
//!          "q":"0.015","nq":"0.015","f":100,"l":105,"T":1709251200120,"m":true}}
//! ```
//!
//! Prices and quantities arrive as decimal strings. The fake exchange writes its frames with
//! its own encoder (`fake_exchange::ws`), never with these types, so a field typo here
//! fails against it instead of passing on both ends.

use serde::{Deserialize, Serialize};

use crate::market::Trade;

/// `{"stream": "...", "data": {...}}` wrapper of a combined stream.
#[derive(Debug, Serialize, Deserialize)]
pub struct CombinedFrame<T> {
    pub stream: String,
    pub data: T,
}

/// The aggTrade event payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggTradeEvent {
    /// Event type, always `aggTrade`.
    #[serde(rename = "e")]
    pub event_type: String,
    #[serde(rename = "E")]
    pub event_time_ms: i64,
    #[serde(rename = "s")]
    pub symbol: String,
    #[serde(rename = "a")]
    pub agg_id: u64,
    #[serde(rename = "p")]
    pub price: String,
    #[serde(rename = "q")]
    pub qty: String,
    /// Quantity without RPI orders (added by Binance in 2025; optional for older captures).
    #[serde(rename = "nq", default, skip_serializing_if = "Option::is_none")]
    pub normal_qty: Option<String>,
    #[serde(rename = "f")]
    pub first_trade_id: u64,
    #[serde(rename = "l")]
    pub last_trade_id: u64,
    #[serde(rename = "T")]
    pub trade_time_ms: i64,
    #[serde(rename = "m")]
    pub buyer_is_maker: bool,
}

/// Why a frame was not turned into a trade. Each kind is counted separately.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FrameError {
    #[error("malformed JSON: {0}")]
    Malformed(String),
    #[error("unknown event `{0}`")]
    UnknownEvent(String),
    #[error("invalid {field} `{value}`")]
    InvalidNumber { field: &'static str, value: String },
    /// A best bid at or above the best ask (bookTicker).
    #[error("crossed quote: bid {bid} >= ask {ask}")]
    Crossed { bid: f64, ask: f64 },
    /// An update older than one already received (bookTicker `u`, markPrice `E`).
    #[error("stale update {got} (already have {have})")]
    Stale { got: u64, have: u64 },
}

/// What one text frame on the combined stream turned out to be.
#[derive(Debug, PartialEq)]
pub enum Frame {
    Trade(Trade),
    /// A reply to one of our SUBSCRIBE/UNSUBSCRIBE calls.
    Reply {
        id: u64,
        ok: bool,
    },
}

/// The hot path's view of a combined aggTrade frame: the fields of [`AggTradeEvent`] that
/// make a [`Trade`], borrowed from the frame text so parsing allocates only the symbol.
/// (A frame with escaped strings fails to borrow and takes the general path.)
#[derive(Deserialize)]
struct BorrowedCombinedAggTrade<'a> {
    #[serde(borrow)]
    data: BorrowedAggTrade<'a>,
}

#[derive(Deserialize)]
struct BorrowedAggTrade<'a> {
    #[serde(rename = "e")]
    event_type: &'a str,
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(rename = "a")]
    agg_id: u64,
    #[serde(rename = "p")]
    price: &'a str,
    #[serde(rename = "q")]
    qty: &'a str,
    #[serde(rename = "T")]
    trade_time_ms: i64,
    #[serde(rename = "m")]
    buyer_is_maker: bool,
}

impl BorrowedAggTrade<'_> {
    fn to_trade(&self) -> Result<Trade, FrameError> {
        let symbol = if self.symbol.bytes().any(|b| b.is_ascii_lowercase()) {
            self.symbol.to_ascii_uppercase()
        } else {
            self.symbol.to_string()
        };
        Ok(Trade {
            price: positive_decimal("price", self.price)?,
            qty: positive_decimal("quantity", self.qty)?,
            symbol,
            agg_id: self.agg_id,
            t_ms: self.trade_time_ms,
            buyer_is_maker: self.buyer_is_maker,
        })
    }
}

/// Parses one text frame of a combined stream.
pub fn parse_frame(text: &str) -> Result<Frame, FrameError> {
    // Fast path: a well-formed combined aggTrade frame, borrowed straight from the text.
    if let Ok(frame) = serde_json::from_str::<BorrowedCombinedAggTrade>(text) {
        if frame.data.event_type == "aggTrade" {
            return frame.data.to_trade().map(Frame::Trade);
        }
    }
    // Everything else (escaped strings, replies, raw frames, other events, garbage) is
    // classified slowly, starting with the fast path's own check on the parsed document, so
    // an escaped frame means exactly what its unescaped twin means (found by fuzzing: an
    // escaped combined frame without `l` was refused, the same frame unescaped accepted).
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| FrameError::Malformed(e.to_string()))?;
    if let Ok(frame) = BorrowedCombinedAggTrade::deserialize(&value) {
        if frame.data.event_type == "aggTrade" {
            return frame.data.to_trade().map(Frame::Trade);
        }
    }
    if let Some(id) = value.get("id").and_then(serde_json::Value::as_u64) {
        let ok = value.get("error").is_none() && value.get("result").is_some_and(serde_json::Value::is_null);
        return Ok(Frame::Reply { id, ok });
    }
    let data = value.get("data").unwrap_or(&value);
    match data.get("e").and_then(serde_json::Value::as_str) {
        Some("aggTrade") => {}
        Some(other) => return Err(FrameError::UnknownEvent(other.to_string())),
        None => return Err(FrameError::Malformed("no event type".into())),
    }
    let event = AggTradeEvent::deserialize(data).map_err(|e| FrameError::Malformed(e.to_string()))?;
    event.try_into().map(Frame::Trade)
}

/// A finite, strictly positive decimal string, or the matching [`FrameError`].
pub(crate) fn positive_decimal(field: &'static str, value: &str) -> Result<f64, FrameError> {
    match value.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(FrameError::InvalidNumber { field, value: value.to_string() }),
    }
}

impl TryFrom<AggTradeEvent> for Trade {
    type Error = FrameError;

    fn try_from(event: AggTradeEvent) -> Result<Self, Self::Error> {
        BorrowedAggTrade {
            event_type: &event.event_type,
            symbol: &event.symbol,
            agg_id: event.agg_id,
            price: &event.price,
            qty: &event.qty,
            trade_time_ms: event.trade_time_ms,
            buyer_is_maker: event.buyer_is_maker,
        }
        .to_trade()
    }
}

impl From<&Trade> for AggTradeEvent {
    fn from(trade: &Trade) -> Self {
        let qty = format!("{}", trade.qty);
        AggTradeEvent {
            event_type: "aggTrade".into(),
            event_time_ms: trade.t_ms,
            symbol: trade.symbol.clone(),
            agg_id: trade.agg_id,
            price: format!("{}", trade.price),
            normal_qty: Some(qty.clone()),
            qty,
            first_trade_id: trade.agg_id * 3,
            last_trade_id: trade.agg_id * 3 + 2,
            trade_time_ms: trade.t_ms,
            buyer_is_maker: trade.buyer_is_maker,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        name: &'static str,
        input: &'static str,
        expected: Result<Frame, FrameError>,
    }

    fn btc(agg_id: u64, price: f64, qty: f64) -> Frame {
        Frame::Trade(Trade { symbol: "BTCUSDT".into(), agg_id, t_ms: 1709251200120, price, qty, buyer_is_maker: true })
    }

    #[test]
    fn parses_frames_and_rejects_bad_ones() {
        let cases = [
            Case {
                name: "combined aggTrade",
                input: r#"{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1709251200123,"s":"BTCUSDT","a":5933014,"p":"62030.60","q":"0.015","nq":"0.015","f":100,"l":105,"T":1709251200120,"m":true}}"#,
                expected: Ok(btc(5933014, 62030.6, 0.015)),
            },
            Case {
                name: "raw aggTrade without nq",
                input: r#"{"e":"aggTrade","E":1,"s":"BTCUSDT","a":7,"p":"1.5","q":"2","f":1,"l":2,"T":1709251200120,"m":true}"#,
                expected: Ok(btc(7, 1.5, 2.0)),
            },
            Case {
                name: "subscribe reply",
                input: r#"{"result":null,"id":3}"#,
                expected: Ok(Frame::Reply { id: 3, ok: true }),
            },
            Case {
                name: "error reply",
                input: r#"{"error":{"code":2,"msg":"Invalid request"},"id":4}"#,
                expected: Ok(Frame::Reply { id: 4, ok: false }),
            },
            Case {
                name: "garbage",
                input: "\u{1}\u{2}not json",
                expected: Err(FrameError::Malformed("expected value at line 1 column 1".into())),
            },
            Case {
                name: "unknown event",
                input: r#"{"stream":"btcusdt@depth","data":{"e":"depthUpdate"}}"#,
                expected: Err(FrameError::UnknownEvent("depthUpdate".into())),
            },
            Case {
                name: "negative price",
                input: r#"{"e":"aggTrade","E":1,"s":"BTCUSDT","a":7,"p":"-1","q":"2","f":1,"l":2,"T":1,"m":true}"#,
                expected: Err(FrameError::InvalidNumber { field: "price", value: "-1".into() }),
            },
            Case {
                name: "NaN quantity",
                input: r#"{"e":"aggTrade","E":1,"s":"BTCUSDT","a":7,"p":"1","q":"NaN","f":1,"l":2,"T":1,"m":true}"#,
                expected: Err(FrameError::InvalidNumber { field: "quantity", value: "NaN".into() }),
            },
            Case {
                name: "inf price",
                input: r#"{"e":"aggTrade","E":1,"s":"BTCUSDT","a":7,"p":"inf","q":"1","f":1,"l":2,"T":1,"m":true}"#,
                expected: Err(FrameError::InvalidNumber { field: "price", value: "inf".into() }),
            },
        ];
        for case in cases {
            assert_eq!(parse_frame(case.input), case.expected, "case `{}`", case.name);
        }
    }

    #[test]
    fn missing_fields_are_malformed_not_a_panic() {
        let frame = r#"{"stream":"x","data":{"e":"aggTrade","s":"BTCUSDT"}}"#;
        assert!(matches!(parse_frame(frame), Err(FrameError::Malformed(_))));
    }

    #[test]
    fn an_escaped_frame_means_what_its_unescaped_twin_means() {
        // Found by fuzzing (fuzz/corpus/agg_trade_frame/found_escaped_combined_without_l.json):
        // the zero-copy path accepted a combined frame without `l`, the escaped one was refused.
        let plain = r#"{"stream":"x","data":{"e":"aggTrade","s":"btcusdt","a":7,"p":"1.5","q":"2","T":1,"m":false}}"#;
        let escaped = plain.replace("btcusdt", r"btc\u0075sdt");
        let trade = Trade { symbol: "BTCUSDT".into(), agg_id: 7, t_ms: 1, price: 1.5, qty: 2.0, buyer_is_maker: false };
        assert_eq!(parse_frame(plain), Ok(Frame::Trade(trade.clone())));
        assert_eq!(parse_frame(&escaped), Ok(Frame::Trade(trade)));
    }

    #[test]
    fn serialised_trades_parse_back_identically() {
        let trade =
            Trade { symbol: "ETHUSDT".into(), agg_id: 42, t_ms: 5, price: 3401.97, qty: 0.25, buyer_is_maker: false };
        let frame = CombinedFrame { stream: "ethusdt@aggTrade".into(), data: AggTradeEvent::from(&trade) };
        let text = serde_json::to_string(&frame).expect("serialise");
        assert_eq!(parse_frame(&text), Ok(Frame::Trade(trade)));
    }
}
