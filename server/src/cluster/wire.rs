//! The payload of a trade on `pairdesk.trades.<SYMBOL>`: one small JSON object,
//! `{"v":1,"s":"BTCUSDT","a":123,"t":1700000000000,"p":42000.5,"q":0.01,"m":false}`
//! (symbol, aggregate id, trade time in ms, price, quantity, buyer is maker). Prices and
//! quantities are JSON numbers written with Rust's shortest round-trip form, so a decoded
//! trade equals the published one bit for bit.

use serde::{Deserialize, Serialize};

use crate::market::Trade;

/// The version this server writes and reads.
pub const VERSION: u32 = 1;

/// Why a message on a trade subject was not a trade.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WireError {
    #[error("not a pairdesk trade: {0}")]
    Malformed(String),
    #[error("unknown wire version {0}")]
    Version(u32),
    #[error("invalid trade values: {0}")]
    Invalid(String),
    #[error("subject {subject} does not carry {symbol}")]
    Subject { subject: String, symbol: String },
}

#[derive(Serialize, Deserialize)]
struct WireTrade<'a> {
    v: u32,
    s: std::borrow::Cow<'a, str>,
    a: u64,
    t: i64,
    p: f64,
    q: f64,
    m: bool,
}

/// The payload of `trade`.
pub fn encode(trade: &Trade) -> Vec<u8> {
    let wire = WireTrade {
        v: VERSION,
        s: std::borrow::Cow::Borrowed(&trade.symbol),
        a: trade.agg_id,
        t: trade.t_ms,
        p: trade.price,
        q: trade.qty,
        m: trade.buyer_is_maker,
    };
    // Serialising a struct of plain fields cannot fail.
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// The trade in `payload`, validated like the exchange's (upper-case symbol, finite positive
/// price and quantity).
pub fn decode(payload: &[u8]) -> Result<Trade, WireError> {
    let wire: WireTrade = serde_json::from_slice(payload).map_err(|e| WireError::Malformed(e.to_string()))?;
    if wire.v != VERSION {
        return Err(WireError::Version(wire.v));
    }
    let symbol = wire.s.into_owned();
    if symbol.is_empty() || symbol.len() > 32 || !symbol.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return Err(WireError::Invalid(format!("symbol {symbol:?}")));
    }
    if !(wire.p.is_finite() && wire.p > 0.0 && wire.q.is_finite() && wire.q > 0.0) {
        return Err(WireError::Invalid(format!("price {} quantity {}", wire.p, wire.q)));
    }
    Ok(Trade { symbol, agg_id: wire.a, t_ms: wire.t, price: wire.p, qty: wire.q, buyer_is_maker: wire.m })
}

/// [`decode`], and the trade's symbol must be the one its subject names.
pub fn decode_on(subject: &str, payload: &[u8]) -> Result<Trade, WireError> {
    let trade = decode(payload)?;
    if subject != super::trade_subject(&trade.symbol) {
        return Err(WireError::Subject { subject: subject.to_string(), symbol: trade.symbol });
    }
    Ok(trade)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade() -> Trade {
        Trade {
            symbol: "BTCUSDT".into(),
            agg_id: 123_456_789,
            t_ms: 1_700_000_000_123,
            price: 42_000.1 + 1e-9,
            qty: 0.001_234_567_89,
            buyer_is_maker: true,
        }
    }

    #[test]
    fn round_trips_bit_for_bit() {
        let t = trade();
        let back = decode(&encode(&t)).expect("decode");
        assert_eq!(back, t);
        assert_eq!(back.price.to_bits(), t.price.to_bits());
        assert_eq!(decode_on("pairdesk.trades.BTCUSDT", &encode(&t)), Ok(t));
    }

    #[test]
    fn rejects_foreign_and_malformed_messages() {
        let bad: [&[u8]; 7] = [
            b"",
            b"hello",
            br#"{"v":2,"s":"BTCUSDT","a":1,"t":1,"p":1.0,"q":1.0,"m":false}"#,
            br#"{"v":1,"s":"btcusdt","a":1,"t":1,"p":1.0,"q":1.0,"m":false}"#,
            br#"{"v":1,"s":"BTCUSDT","a":1,"t":1,"p":0.0,"q":1.0,"m":false}"#,
            br#"{"v":1,"s":"BTCUSDT","a":-1,"t":1,"p":1.0,"q":1.0,"m":false}"#,
            br#"{"v":1,"s":"BTCUSDT","a":1,"t":1,"p":1.0,"m":false}"#,
        ];
        for payload in bad {
            assert!(decode(payload).is_err(), "{}", String::from_utf8_lossy(payload));
        }
        assert!(matches!(decode_on("pairdesk.trades.ETHUSDT", &encode(&trade())), Err(WireError::Subject { .. })));
    }
}
