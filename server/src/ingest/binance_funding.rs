//! Binance wire formats of mark price and funding, and their one conversion to domain types:
//! the `<symbol>@markPrice@1s` stream (on the routed `/market` path) and the REST
//! settlement history `GET /fapi/v1/fundingRate`.
//!
//! A combined-stream markPrice frame
//! (<https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Mark-Price-Stream>):
//!
//! ```json
//! {"stream":"btcusdt@markPrice@1s",
//!  "data":{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000",
//!          "i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}}
//! ```
//!
//! `p` mark price, `i` index price, `P` estimated settle price, `r` the funding rate the next
//! settlement will use as estimated now, `T` the next funding time.
//!
//! A `fundingRate` answer
//! (<https://developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/Get-Funding-Rate-History>),
//! oldest first, at most `limit` (≤ 1000) rows from `startTime`:
//!
//! ```json
//! [{"symbol":"BTCUSDT","fundingTime":1698768000000,"fundingRate":"0.00010000","markPrice":"34287.54619963"}]
//! ```
//!
//! Funding rates may be negative or zero, never non-finite; mark prices are positive.

use serde::Deserialize;

use super::binance::{positive_decimal, FrameError};
use super::stream::{classify, parse_document, Classified, SideFrame};
use crate::market::{FundingSettlement, MarkPrice};

/// Most rows one `fundingRate` request returns (and the page size of the funding backfill).
pub const FUNDING_MAX_LIMIT: usize = 1000;

#[derive(Deserialize)]
struct Combined<'a> {
    #[serde(borrow)]
    data: MarkPriceEvent<'a>,
}

#[derive(Deserialize)]
struct MarkPriceEvent<'a> {
    #[serde(rename = "e")]
    event_type: &'a str,
    #[serde(rename = "E")]
    event_time_ms: i64,
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(rename = "p")]
    mark: &'a str,
    #[serde(rename = "i")]
    index: &'a str,
    #[serde(rename = "P")]
    #[allow(dead_code)] // part of the wire format; only meaningful near delivery
    estimated_settle: &'a str,
    #[serde(rename = "r")]
    funding_rate: &'a str,
    #[serde(rename = "T")]
    next_funding_ms: i64,
}

impl MarkPriceEvent<'_> {
    fn to_mark(&self) -> Result<MarkPrice, FrameError> {
        if self.event_type != "markPriceUpdate" {
            return Err(FrameError::UnknownEvent(self.event_type.to_string()));
        }
        Ok(MarkPrice {
            symbol: self.symbol.to_ascii_uppercase(),
            t_ms: self.event_time_ms,
            mark: positive_decimal("mark price", self.mark)?,
            index: positive_decimal("index price", self.index)?,
            funding_rate: finite_decimal("funding rate", self.funding_rate)?,
            next_funding_ms: self.next_funding_ms,
        })
    }
}

/// Parses one text frame of a `/market` markPrice stream.
pub fn parse_mark_frame(text: &str) -> Result<SideFrame<MarkPrice>, FrameError> {
    if let Ok(frame) = serde_json::from_str::<Combined>(text) {
        return frame.data.to_mark().map(SideFrame::Event);
    }
    if let Ok(event) = serde_json::from_str::<MarkPriceEvent>(text) {
        return event.to_mark().map(SideFrame::Event);
    }
    // Escaped strings (which cannot be borrowed from the text), replies, other events,
    // garbage: the same two shapes on the parsed document, so an escaped frame means exactly
    // what its unescaped twin means, then the slow path says which.
    let value = parse_document(text)?;
    if let Ok(frame) = Combined::deserialize(&value) {
        return frame.data.to_mark().map(SideFrame::Event);
    }
    if let Ok(event) = MarkPriceEvent::deserialize(&value) {
        return event.to_mark().map(SideFrame::Event);
    }
    match classify(&value, "markPriceUpdate")? {
        Classified::Reply { id, ok } => Ok(SideFrame::Reply { id, ok }),
        Classified::Event(data) => {
            let event = MarkPriceEvent::deserialize(data).map_err(|e| FrameError::Malformed(e.to_string()))?;
            event.to_mark().map(SideFrame::Event)
        }
    }
}

/// One row of `GET /fapi/v1/fundingRate`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FundingRateRow {
    pub symbol: String,
    #[serde(rename = "fundingTime")]
    pub funding_time: i64,
    #[serde(rename = "fundingRate")]
    pub funding_rate: String,
    /// Binance sends an empty string for settlements older than its mark-price archive.
    #[serde(rename = "markPrice", default)]
    pub mark_price: String,
}

impl FundingRateRow {
    /// Validates and converts a row.
    pub fn into_settlement(self) -> Result<FundingSettlement, FrameError> {
        Ok(FundingSettlement {
            rate: finite_decimal("funding rate", &self.funding_rate)?,
            mark: positive_decimal("mark price", &self.mark_price)?,
            symbol: self.symbol.to_ascii_uppercase(),
            t_ms: self.funding_time,
        })
    }
}

/// A finite decimal string (any sign), or the matching [`FrameError`].
fn finite_decimal(field: &'static str, value: &str) -> Result<f64, FrameError> {
    match value.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(FrameError::InvalidNumber { field, value: value.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(rate: f64) -> SideFrame<MarkPrice> {
        SideFrame::Event(MarkPrice {
            symbol: "BTCUSDT".into(),
            t_ms: 1562305380000,
            mark: 11794.15,
            index: 11784.62659091,
            funding_rate: rate,
            next_funding_ms: 1562306400000,
        })
    }

    #[test]
    fn parses_mark_prices_and_refuses_bad_ones() {
        type Case = (&'static str, &'static str, Result<SideFrame<MarkPrice>, FrameError>);
        let cases: [Case; 7] = [
            (
                "combined",
                r#"{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}}"#,
                Ok(mark(0.00038167)),
            ),
            (
                "raw, negative rate",
                r#"{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15","i":"11784.62659091","P":"1","r":"-0.0001","T":1562306400000}"#,
                Ok(mark(-0.0001)),
            ),
            ("reply", r#"{"result":null,"id":9}"#, Ok(SideFrame::Reply { id: 9, ok: true })),
            (
                "NaN rate",
                r#"{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","p":"1","i":"1","P":"1","r":"NaN","T":1}"#,
                Err(FrameError::InvalidNumber { field: "funding rate", value: "NaN".into() }),
            ),
            (
                "infinite rate",
                r#"{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","p":"1","i":"1","P":"1","r":"inf","T":1}"#,
                Err(FrameError::InvalidNumber { field: "funding rate", value: "inf".into() }),
            ),
            (
                "zero mark",
                r#"{"e":"markPriceUpdate","E":1,"s":"BTCUSDT","p":"0","i":"1","P":"1","r":"0","T":1}"#,
                Err(FrameError::InvalidNumber { field: "mark price", value: "0".into() }),
            ),
            (
                "other event",
                r#"{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker"}}"#,
                Err(FrameError::UnknownEvent("bookTicker".into())),
            ),
        ];
        for (name, input, expected) in cases {
            assert_eq!(parse_mark_frame(input), expected, "case `{name}`");
        }
        for truncated in [r#"{"e":"markPriceUpdate","E":1,"s":"BTC"#, r#"{"e":"markPriceUpdate"}"#, "{}"] {
            assert!(matches!(parse_mark_frame(truncated), Err(FrameError::Malformed(_))), "{truncated}");
        }
    }

    #[test]
    fn funding_rows_convert_and_bad_ones_are_refused() {
        let rows: Vec<FundingRateRow> = serde_json::from_str(
            r#"[{"symbol":"BTCUSDT","fundingTime":1698768000000,"fundingRate":"0.00010000","markPrice":"34287.54619963"},
                {"symbol":"ethusdt","fundingTime":1698782400000,"fundingRate":"-0.00002500","markPrice":"1800.5"}]"#,
        )
        .expect("rows");
        let settlements: Vec<FundingSettlement> =
            rows.into_iter().map(|r| r.into_settlement().expect("valid")).collect();
        assert_eq!(
            settlements,
            [
                FundingSettlement { symbol: "BTCUSDT".into(), t_ms: 1698768000000, rate: 0.0001, mark: 34287.54619963 },
                FundingSettlement { symbol: "ETHUSDT".into(), t_ms: 1698782400000, rate: -0.000025, mark: 1800.5 },
            ]
        );
        for (row, field) in [
            (r#"{"symbol":"X","fundingTime":1,"fundingRate":"NaN","markPrice":"1"}"#, "funding rate"),
            (r#"{"symbol":"X","fundingTime":1,"fundingRate":"1e400","markPrice":"1"}"#, "funding rate"),
            (r#"{"symbol":"X","fundingTime":1,"fundingRate":"0.1","markPrice":""}"#, "mark price"),
            (r#"{"symbol":"X","fundingTime":1,"fundingRate":"0.1"}"#, "mark price"),
        ] {
            let row: FundingRateRow = serde_json::from_str(row).expect("shape");
            assert!(matches!(row.into_settlement(), Err(FrameError::InvalidNumber { field: f, .. }) if f == field));
        }
        assert!(serde_json::from_str::<FundingRateRow>(r#"{"symbol":"X","fundingTime":"1"}"#).is_err());
    }
}
