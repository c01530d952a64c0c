//! Binance wire format of the best bid/ask stream `<symbol>@bookTicker`, served since 2026
//! on the routed `/public` path (`wss://fstream.binance.com/public/stream?streams=…`), and
//! its one conversion to [`Quote`].
//!
//! A combined-stream frame
//! (<https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Individual-Symbol-Book-Ticker-Streams>):
//!
//! ```json
//! {"stream":"btcusdt@bookTicker",
//!  "data":{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,
//!          "s":"BTCUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}}
//! ```
//!
//! `u` is the order-book update id (increasing per symbol), `b`/`B` the best bid price and
//! quantity, `a`/`A` the best ask, `T` the transaction time, `E` the event time. A quote
//! with bid ≥ ask (crossed or locked), or a price or quantity that is not a finite positive
//! number, is refused: a book that cannot be traded against is no quote.

use serde::Deserialize;

use super::binance::{positive_decimal, FrameError};
use super::stream::{classify, parse_document, Classified, SideFrame};
use crate::market::Quote;

#[derive(Deserialize)]
struct Combined<'a> {
    #[serde(borrow)]
    data: BookTickerEvent<'a>,
}

/// The bookTicker event payload, borrowed from the frame text.
#[derive(Deserialize)]
struct BookTickerEvent<'a> {
    #[serde(rename = "e")]
    event_type: &'a str,
    #[serde(rename = "u")]
    update_id: u64,
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(rename = "b")]
    bid: &'a str,
    #[serde(rename = "B")]
    bid_qty: &'a str,
    #[serde(rename = "a")]
    ask: &'a str,
    #[serde(rename = "A")]
    ask_qty: &'a str,
    #[serde(rename = "T")]
    transaction_time_ms: i64,
    #[serde(rename = "E")]
    #[allow(dead_code)] // part of the wire format; the transaction time is what we keep
    event_time_ms: i64,
}

impl BookTickerEvent<'_> {
    fn to_quote(&self) -> Result<Quote, FrameError> {
        if self.event_type != "bookTicker" {
            return Err(FrameError::UnknownEvent(self.event_type.to_string()));
        }
        let quote = Quote {
            symbol: self.symbol.to_ascii_uppercase(),
            update_id: self.update_id,
            t_ms: self.transaction_time_ms,
            bid: positive_decimal("bid", self.bid)?,
            bid_qty: positive_decimal("bid quantity", self.bid_qty)?,
            ask: positive_decimal("ask", self.ask)?,
            ask_qty: positive_decimal("ask quantity", self.ask_qty)?,
        };
        if quote.bid >= quote.ask {
            return Err(FrameError::Crossed { bid: quote.bid, ask: quote.ask });
        }
        Ok(quote)
    }
}

/// Parses one text frame of a `/public` combined (or raw) bookTicker stream.
pub fn parse_book_frame(text: &str) -> Result<SideFrame<Quote>, FrameError> {
    if let Ok(frame) = serde_json::from_str::<Combined>(text) {
        return frame.data.to_quote().map(SideFrame::Event);
    }
    if let Ok(event) = serde_json::from_str::<BookTickerEvent>(text) {
        return event.to_quote().map(SideFrame::Event);
    }
    // Escaped strings (which cannot be borrowed from the text), replies, other events,
    // garbage: the same two shapes on the parsed document, so an escaped frame means exactly
    // what its unescaped twin means, then the slow path says which.
    let value = parse_document(text)?;
    if let Ok(frame) = Combined::deserialize(&value) {
        return frame.data.to_quote().map(SideFrame::Event);
    }
    if let Ok(event) = BookTickerEvent::deserialize(&value) {
        return event.to_quote().map(SideFrame::Event);
    }
    match classify(&value, "bookTicker")? {
        Classified::Reply { id, ok } => Ok(SideFrame::Reply { id, ok }),
        Classified::Event(data) => {
            let event = BookTickerEvent::deserialize(data).map_err(|e| FrameError::Malformed(e.to_string()))?;
            event.to_quote().map(SideFrame::Event)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(update_id: u64, bid: f64, ask: f64) -> SideFrame<Quote> {
        SideFrame::Event(Quote {
            symbol: "BTCUSDT".into(),
            update_id,
            t_ms: 1568014460891,
            bid,
            bid_qty: 31.21,
            ask,
            ask_qty: 40.66,
        })
    }

    #[test]
    fn parses_book_tickers_and_refuses_bad_ones() {
        type Case = (&'static str, &'static str, Result<SideFrame<Quote>, FrameError>);
        let cases: [Case; 12] = [
            (
                "combined",
                r#"{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BTCUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}}"#,
                Ok(quote(400900217, 25.3519, 25.3652)),
            ),
            (
                "raw",
                r#"{"e":"bookTicker","u":7,"E":1,"T":1568014460891,"s":"btcusdt","b":"1.5","B":"31.21","a":"1.6","A":"40.66"}"#,
                Ok(quote(7, 1.5, 1.6)),
            ),
            ("reply", r#"{"result":null,"id":3}"#, Ok(SideFrame::Reply { id: 3, ok: true })),
            ("error reply", r#"{"error":{"code":2,"msg":"x"},"id":4}"#, Ok(SideFrame::Reply { id: 4, ok: false })),
            ("garbage", "\u{1}not json", Err(FrameError::Malformed("expected value at line 1 column 1".into()))),
            (
                "another event",
                r#"{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","s":"BTCUSDT"}}"#,
                Err(FrameError::UnknownEvent("aggTrade".into())),
            ),
            (
                "crossed",
                r#"{"e":"bookTicker","u":7,"E":1,"T":1,"s":"BTCUSDT","b":"2","B":"1","a":"1.9","A":"1"}"#,
                Err(FrameError::Crossed { bid: 2.0, ask: 1.9 }),
            ),
            (
                "locked",
                r#"{"e":"bookTicker","u":7,"E":1,"T":1,"s":"BTCUSDT","b":"2","B":"1","a":"2","A":"1"}"#,
                Err(FrameError::Crossed { bid: 2.0, ask: 2.0 }),
            ),
            (
                "zero bid",
                r#"{"e":"bookTicker","u":7,"E":1,"T":1,"s":"BTCUSDT","b":"0","B":"1","a":"2","A":"1"}"#,
                Err(FrameError::InvalidNumber { field: "bid", value: "0".into() }),
            ),
            (
                "negative ask",
                r#"{"e":"bookTicker","u":7,"E":1,"T":1,"s":"BTCUSDT","b":"1","B":"1","a":"-2","A":"1"}"#,
                Err(FrameError::InvalidNumber { field: "ask", value: "-2".into() }),
            ),
            (
                "NaN quantity",
                r#"{"e":"bookTicker","u":7,"E":1,"T":1,"s":"BTCUSDT","b":"1","B":"NaN","a":"2","A":"1"}"#,
                Err(FrameError::InvalidNumber { field: "bid quantity", value: "NaN".into() }),
            ),
            (
                "escaped symbol takes the slow path",
                r#"{"e":"bookTicker","u":7,"E":1,"T":1568014460891,"s":"BTC\u0055SDT","b":"1.5","B":"31.21","a":"1.6","A":"40.66"}"#,
                Ok(quote(7, 1.5, 1.6)),
            ),
        ];
        for (name, input, expected) in cases {
            assert_eq!(parse_book_frame(input), expected, "case `{name}`");
        }
    }

    #[test]
    fn missing_fields_are_malformed_not_a_panic() {
        for frame in [
            r#"{"stream":"x","data":{"e":"bookTicker","s":"BTCUSDT"}}"#,
            r#"{"e":"bookTicker","u":-1,"E":1,"T":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
            r#"{"e":"bookTicker","u":1,"E":1,"T":1,"s":"BTCUSDT","b":1,"B":"1","a":"2","A":"1"}"#,
            "[]",
            "null",
        ] {
            assert!(matches!(parse_book_frame(frame), Err(FrameError::Malformed(_))), "{frame}");
        }
    }
}
