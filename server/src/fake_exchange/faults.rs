//! Fault injection for the fake exchange: what can go wrong on a real connection, on
//! purpose and reproducibly (seeded), so the ingest can be proven against it.

use std::time::Duration;

use axum::extract::ws::Message;
use rand::rngs::StdRng;
use rand::Rng;

use super::ws::agg_trade_text;
use crate::market::Trade;

/// Which faults to inject. The default injects none.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Drop every stream connection abruptly (no close frame) this long after it opened.
    pub disconnect_every: Option<Duration>,
    /// Drop every stream connection abruptly after sending this many trades.
    pub disconnect_after_trades: Option<u64>,
    /// Probability, per trade sent, of first sending a bad frame (garbage bytes, truncated
    /// JSON, unknown event, invalid price, unknown symbol, oversized, binary).
    pub garbage_prob: f64,
    /// Probability, per trade sent, of sending it twice.
    pub duplicate_prob: f64,
    /// Pause every stream connection for `stall_for` this often.
    pub stall_every: Option<Duration>,
    pub stall_for: Duration,
    /// Probability that a REST request is answered `429` with `Retry-After`.
    pub rest_429_prob: f64,
    /// `Retry-After` seconds sent with a 429.
    pub retry_after_s: u64,
    /// Probability, per book update sent on `/public`, of first sending a bad one (crossed,
    /// zero bid, stale update id, truncated, NaN).
    pub book_bad_prob: f64,
    /// Drop every `/public` connection abruptly this long after it opened.
    pub public_disconnect_every: Option<Duration>,
    /// Refuse every `/public` connection (the routed book path is down; `/market` is not).
    pub public_down: bool,
}

/// Size of an oversized frame: far beyond any real aggTrade frame (~250 bytes).
pub const OVERSIZED_FRAME_BYTES: usize = 64 * 1024;

/// A bad frame to send just before `next` (kinds chosen uniformly).
pub fn garbage_frame(rng: &mut StdRng, next: &Trade) -> Message {
    let stream = format!("{}@aggTrade", next.symbol.to_ascii_lowercase());
    let good = |trade: &Trade, price: Option<&str>| agg_trade_text(trade, true, price);
    let text = match rng.random_range(0..7u8) {
        0 => "\u{1}\u{7f}garbage{{[".to_string(),
        1 => {
            let full = good(next, None);
            full.chars().take(full.len() / 2).collect()
        }
        2 => format!(r#"{{"stream":"{stream}","data":{{"e":"depthUpdate","E":{},"s":"{}"}}}}"#, next.t_ms, next.symbol),
        // The next trade's own id with an impossible price: must not consume the id.
        3 => good(next, Some(if rng.random::<bool>() { "-1" } else { "NaN" })),
        4 => good(&Trade { symbol: "XRPUSDT".into(), agg_id: next.agg_id + 1, ..next.clone() }, None),
        5 => format!(r#"{{"stream":"{stream}","data":{{"e":"aggTrade","pad":"{}"#, "x".repeat(OVERSIZED_FRAME_BYTES)),
        _ => return Message::Binary(vec![0xde, 0xad, 0xbe, 0xef].into()),
    };
    Message::Text(text.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::binance::{parse_frame, Frame};
    use rand::SeedableRng;

    /// The fake's encoders and the ingest's parsers are written apart; they must agree.
    #[test]
    fn the_fakes_frames_parse_with_the_ingests_parsers() {
        let trade =
            Trade { symbol: "ETHUSDT".into(), agg_id: 42, t_ms: 5, price: 3401.97, qty: 0.25, buyer_is_maker: true };
        for combined in [true, false] {
            let text = agg_trade_text(&trade, combined, None);
            assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok(), "valid JSON: {text}");
            assert_eq!(parse_frame(&text), Ok(Frame::Trade(trade.clone())));
        }
        let quote = super::super::book::quotes_for(&trade, 1, 1).next().expect("quote");
        let text =
            serde_json::json!({"stream": "ethusdt@bookTicker", "data": super::super::book::book_ticker_json(&quote)});
        match crate::ingest::binance_book::parse_book_frame(&text.to_string()) {
            Ok(crate::ingest::stream::SideFrame::Event(q)) => {
                assert_eq!((q.symbol.as_str(), q.update_id, q.t_ms), ("ETHUSDT", 42, 5));
                assert!((q.bid - quote.bid).abs() < 1e-6 && (q.ask - quote.ask).abs() < 1e-6 && q.bid < q.ask);
            }
            other => panic!("book frame: {other:?}"),
        }
        let config = super::super::FakeConfig::demo();
        let mark = super::super::funding::mark_price_json(&config, 1, 1_700_000_000_000, 3401.5);
        match crate::ingest::binance_funding::parse_mark_frame(&mark.to_string()) {
            Ok(crate::ingest::stream::SideFrame::Event(m)) => {
                assert_eq!(m.symbol, "ETHUSDT");
                assert_eq!(m.next_funding_ms, super::super::funding::next_funding_ms(&config, 1, 1_700_000_000_000));
                assert!((m.mark - 3401.5).abs() < 1e-9 && m.funding_rate.is_finite());
            }
            other => panic!("mark frame: {other:?}"),
        }
    }

    #[test]
    fn no_garbage_frame_parses_as_a_trade_of_a_known_symbol() {
        let mut rng = StdRng::seed_from_u64(3);
        let next = Trade { symbol: "BTCUSDT".into(), agg_id: 9, t_ms: 1, price: 2.0, qty: 1.0, buyer_is_maker: false };
        for _ in 0..500 {
            if let Message::Text(text) = garbage_frame(&mut rng, &next) {
                if let Ok(Frame::Trade(t)) = parse_frame(&text) {
                    assert_eq!(t.symbol, "XRPUSDT");
                }
            }
        }
    }
}
